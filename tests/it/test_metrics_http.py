#!/usr/bin/env python3
"""GET /metrics of a freshly started `bounced serve`: every series of the catalogue is there
at 0 before any mail, each with a real HELP line, bounced_store_up is 1; with
http.metrics_token set a scrape without the bearer (or with a wrong one) gets 401 and one
with it gets 200; the banner names the dashboard; the Grafana dashboard and the alert rules
in docs/ use only metrics that exist."""
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("BOUNCED_BIN", "build/dev/bounced")
TOKEN = "scrape-secret-0123456789"


def fail(msg, log=None):
    print("FAIL: " + msg)
    if log and os.path.exists(log):
        print(open(log, errors="replace").read()[-3000:])
    sys.exit(1)


def get(url, token=None):
    req = urllib.request.Request(url)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def main():
    t = tempfile.mkdtemp(prefix="bnc-metrics-")
    out, log = os.path.join(t, "serve.out"), os.path.join(t, "serve.log")
    env = dict(os.environ, BOUNCED_HTTP_METRICS_TOKEN=TOKEN)
    with open(out, "w") as fo, open(log, "w") as fe:
        p = subprocess.Popen([BIN, "--db", os.path.join(t, "b.db"), "serve", "--smtp",
                              "127.0.0.1:0", "--http", "127.0.0.1:0", "--spool",
                              os.path.join(t, "spool")], stdout=fo, stderr=fe, env=env)
    try:
        base = None
        deadline = time.monotonic() + 180
        while base is None:
            if p.poll() is not None or time.monotonic() > deadline:
                fail("serve did not start", log)
            m = re.search(r"dashboard (http://127\.0\.0\.1:\d+)/", open(out).read())
            base = m.group(1) if m else None
            time.sleep(0.1)
        print("ok: the banner names the dashboard: %s/" % base)
        for tok in (None, "wrong"):
            code, _ = get(base + "/metrics", tok)
            if code != 401:
                fail("/metrics with token %r: %d, want 401" % (tok, code))
        print("ok: /metrics without the bearer or with a wrong one: 401")
        code, body = get(base + "/metrics", TOKEN)
        if code != 200:
            fail("/metrics with the token: %d" % code)
        for want in ('bounced_ingested_total{source="smtp",kind="hard"} 0',
                     'bounced_ingested_total{source="lmtp",kind="complaint"} 0',
                     'bounced_duplicates_total{source="smtp"} 0', "bounced_held_total 0",
                     "bounced_queue_depth 0", "bounced_store_up 1",
                     'bounced_smtp_messages_total{proto="smtp"} 0',
                     "bounced_processing_seconds_count 0",
                     "# TYPE bounced_http_requests_total counter"):
            if want + "\n" not in body:
                fail("a fresh /metrics lacks %r" % want)
        names = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
        helps = dict(re.findall(r"^# HELP (\S+) (.*)$", body, re.M))
        for n in names:
            if n not in helps or helps[n].startswith("bounced metric "):
                fail("%s has no real HELP text: %r" % (n, helps.get(n)))
        print("ok: %d metrics at start, all with HELP texts, series at 0" % len(names))
        src = os.environ.get("BNC_SOURCE_DIR", ".")
        for doc in ("docs/grafana-bounced.json", "docs/prometheus-bounced-rules.yml"):
            used = set(re.findall(r"\b(bounced_[a-z_]+)", open(os.path.join(src, doc)).read()))
            used = {re.sub(r"_(bucket|sum|count)$", "", u) if re.sub(
                r"_(bucket|sum|count)$", "", u) in names else u for u in used}
            missing = sorted(used - names)
            if missing:
                fail("%s uses metrics bounced does not export: %s" % (doc, missing))
            print("ok: every metric %s uses is exported (%d)" % (doc, len(used)))
    finally:
        p.terminate()
        p.wait(timeout=60)
        subprocess.run(["rm", "-rf", t])
    print("PASS")


if __name__ == "__main__":
    main()
