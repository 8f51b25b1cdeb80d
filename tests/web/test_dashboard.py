#!/usr/bin/env python3
"""The dashboard tested in a real browser: Debian's headless Chromium, driven over the Chrome
DevTools Protocol (cdp.py), against a `bounced serve` on loopback seeded with the golden
corpus over SMTP (so the raw bounces are in the spool) and with synthetic verdicts over the
API (so the counts per day are known).

Checks, as an operator would do them: sign-in (and a refused token), range change with the
totals, the per-day series (every day present, dated axis) and the banner for events
outside the range, chart clicks that filter every panel (mouse and keyboard), address
search with the audit revert behind its confirmation, the event drawer with the rule text
and the raw bounce, suppressions add / export / remove, review resolve with confirmation
and undo, a rule made from a review item with its impact before saving, rules and settings
pages, sign-out clearing the screen, the phone layout (390 px: tables as cards, no
sideways scrolling), WCAG AA contrast of the text colours, no request leaving the server's
origin, and no console error. Screenshots at 1400 px and 390 px go to
$BNC_BUILD_DIR/web-artifacts/.

Exit 77 (skipped) when Chromium is missing and optional test packages are not required
(scripts/deps.sh: BNC_DEPS_OPTIONAL unset and not CI). Python standard library only.
"""
import glob
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

BIN = os.environ.get("BOUNCED_BIN", "build/dev/bounced")
SRC = os.environ.get("BNC_SOURCE_DIR", os.getcwd())
OUT = os.path.join(os.environ.get("BNC_BUILD_DIR", os.path.join(SRC, "build", "dev")),
                   "web-artifacts")
DAY = 86400
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def need_optional(what):
    if os.environ.get("BNC_DEPS_OPTIONAL") or os.environ.get("CI") == "true":
        print("FAIL: %s is missing, but optional test packages are required here "
              "(scripts/deps.sh installs it with BNC_DEPS_OPTIONAL=1)" % what)
        sys.exit(1)
    print("skip: %s is not installed (BNC_DEPS_OPTIONAL=1 scripts/deps.sh installs it)" % what)
    sys.exit(77)


import cdp  # noqa: E402  (tests/web/cdp.py)

CHROMIUM = cdp.find_chromium()
if CHROMIUM is None:
    need_optional("chromium")


class Serve:
    """`bounced serve` on ephemeral ports with a fresh SQLite store and spool."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bnc-web-")
        env = dict(os.environ, BOUNCED_SMTP_LISTEN="127.0.0.1:0",
                   BOUNCED_SMTP_DOMAINS="sender.example", BOUNCED_HTTP_LISTEN="127.0.0.1:0",
                   BOUNCED_SPOOL_DIR=os.path.join(self.dir, "spool"),
                   BOUNCED_LOG_LEVEL="warn", BOUNCED_HTTP_RATE_LIMIT="0")
        self.err = open(os.path.join(self.dir, "serve.err"), "w")
        self.p = subprocess.Popen([BIN, "--db", os.path.join(self.dir, "b.db"), "serve"],
                                  stdout=subprocess.PIPE, stderr=self.err, env=env, text=True)
        self.smtp = self.http = self.token = None
        found = threading.Event()

        def read():
            for line in self.p.stdout:
                m = re.search(r"SMTP on (\S+), LMTP on \S+, HTTP on (\S+)", line)
                if m:
                    self.smtp, self.http = m.group(1), m.group(2)
                m = re.search(r"(bnc_[0-9a-f]{64})", line)
                if m:
                    self.token = m.group(1)
                if self.http and self.token:
                    found.set()
        threading.Thread(target=read, daemon=True).start()
        if not found.wait(30):
            self.stop()
            print("serve did not start")
            sys.exit(1)
        self.base = "http://" + self.http

    def api(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": "Bearer " + (token or self.token),
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
                return r.status, raw, dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def j(self, method, path, body=None):
        st, raw, _ = self.api(method, path, body)
        if st >= 300:
            raise AssertionError("%s %s: %d %s" % (method, path, st, raw[:300]))
        return json.loads(raw) if raw else None

    def all_events(self):
        rows, after = [], ""
        while True:
            page = self.j("GET", "/api/v1/events?limit=1000" + after)
            rows += page["data"]
            if not page["next"]:
                return rows
            after = "&after=" + page["next"]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def seed(s):
    """The corpus over SMTP, one contact with lists, and synthetic verdicts over 20 days."""
    s.j("POST", "/api/v1/contacts", {"email": "gone@example.org", "lists": ["news", "offers"],
                                     "attributes": {"plan": "gold"}})
    host, port = s.smtp.rsplit(":", 1)
    sent = 0
    with smtplib.SMTP(host, int(port), timeout=30) as smtp:
        for f in sorted(glob.glob(os.path.join(SRC, "tests", "corpus", "dsn", "*.eml"))):
            with open(f, "rb") as fp:
                data = fp.read()
            try:
                smtp.sendmail("", ["bounces@sender.example"], data)
                sent += 1
            except smtplib.SMTPException:
                pass  # a message the listener refuses on purpose (over a limit)
    now = int(time.time())
    today = now // DAY * DAY
    verdicts = []
    kinds = [("userunknown", "hard", "550 5.1.1 <x> User unknown"),
             ("mailboxfull", "soft", "452 4.2.2 Mailbox full, over quota"),
             ("blocked", "soft", "554 5.7.1 Service unavailable; client host blocked"),
             ("feedback", "complaint", "")]
    for d in range(20):
        if d % 4 == 3:
            continue  # days without events: the series must still show them
        for i, (reason, kind, diag) in enumerate(kinds):
            for k in range(1 + (d + i) % 3):
                verdicts.append({"recipient": "u%d.%d.%d@synth%d.example" % (d, i, k, i),
                                 "reason": reason, "kind": kind, "status": "5.0.0",
                                 "diagnostic": diag, "time": today - d * DAY + 3600 + k})
    verdicts.append({"recipient": "gone@example.org", "reason": "userunknown", "kind": "hard",
                     "status": "5.1.1", "diagnostic": "550 5.1.1 gone@example.org: no such user",
                     "time": now - 7200})
    s.j("POST", "/api/v1/bounces", {"ref": "web-test-synthetic", "verdicts": verdicts})
    deadline = time.time() + 30
    while time.time() < deadline:
        smtp_events = [e for e in s.all_events() if e["source"] == "smtp"]
        if len({e["ref"] for e in smtp_events}) >= sent - 2 and smtp_events:
            time.sleep(0.5)
            break
        time.sleep(0.3)
    return sent, len(verdicts)


def in_range(events, since, until, **flt):
    return [e for e in events if since <= e["event_time"] < until and
            all(e[k] == v for k, v in flt.items())]


def day_str(t):
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def overview_ready(b, _mark=None):
    b.wait("document.body.dataset.ready === 'overview'", what="the overview")


def mark(b):
    """Forget that a view was rendered, so the next render can be waited for."""
    b.js("document.body.dataset.ready = ''")


def ready(b, view):
    b.wait("document.body.dataset.ready === %s" % json.dumps(view), what="view " + view)


def card(b, label):
    return b.js("""(() => { for (const c of document.querySelectorAll('#cards .card'))
        if (c.querySelector('span').textContent === %s)
          return Number(c.querySelector('b').textContent.replace(/,/g, ''));
        return null; })()""" % json.dumps(label))


def confirm_dialog(b, expect_words):
    b.wait("document.getElementById('confirm').open", what="the confirmation")
    text = cdp.squash(cdp.text_of(b, "#cf-body"))
    for w in expect_words:
        check(w in text, "confirmation says %r (%s)" % (w, text[:120]))
    b.click("#cf-ok")
    b.wait("!document.getElementById('confirm').open", what="the confirmation to close")


def test_signin(b, s):
    b.goto(s.base + "/")
    b.wait("!document.getElementById('signin').hidden", what="the sign-in form")
    check("bounced token create" in cdp.text_of(b, "#signin"), "sign-in says how to make a token")
    b.type("#token", "bnc_" + "0" * 64)
    b.key("Enter")
    b.wait("/401/.test(document.getElementById('signin-msg').textContent)", what="401 message")
    check(b.js("document.getElementById('nav').hidden"), "a refused token shows nothing")
    b.type("#token", s.token)
    mark(b)
    b.key("Enter")
    overview_ready(b)
    check("admin" in cdp.text_of(b, "#who"), "signed in with the token's scopes shown")


def test_range(b, s, events):
    now = int(time.time())
    today = now // DAY * DAY
    mark(b)
    b.click('.presets button[data-days="7"]')
    overview_ready(b)
    since, until = today - 6 * DAY, today + DAY
    want = in_range(events, since, until)
    check(card(b, "events") == len(want), "7 days: events card %s = %d stored in range"
          % (card(b, "events"), len(want)))
    check(card(b, "hard") == len([e for e in want if e["kind"] == "hard"]), "7 days: hard card")
    check(b.js("document.querySelectorAll('#chart g.bar').length") == 7,
          "7 days: one bar per day, empty days included")
    ticks = b.js("Array.from(document.querySelectorAll('#chart .xtick')).map(t => t.textContent)")
    check(day_str(since)[5:] in ticks and any(day_str(today)[5:] in t for t in ticks),
          "the x axis is dated (%s)" % ticks[:3])
    check(b.js("document.querySelectorAll('#chart .ytick').length") >= 2, "the y axis has values")
    rows = b.js("Array.from(document.querySelectorAll('#chart-table tbody tr')).map(r => "
                "[r.cells[0].textContent, Number(r.cells[6].textContent)])")
    per_day = {}
    for e in want:
        per_day[day_str(e["event_time"])] = per_day.get(day_str(e["event_time"]), 0) + 1
    check(len(rows) == 7 and all(per_day.get(d, 0) == n for d, n in rows),
          "the chart's table gives every day's count, zeros included")
    outside = len(events) - len(want)
    banner = cdp.text_of(b, "#outside")
    check(outside > 0 and ("%d stored events lie outside" % outside) in banner.replace(",", ""),
          "banner: %d events outside the range (%s)" % (outside, banner[:80]))
    evs = b.js("Array.from(document.querySelectorAll('#events tbody tr')).map(r => "
               "r.cells[0].textContent.slice(0, 19))")
    check(evs == sorted(evs, reverse=True) and len(evs) == min(50, len(want)),
          "events table: newest first, %d rows" % len(evs))
    mark(b)
    b.click('.presets button[data-days="0"]')
    overview_ready(b)
    check(card(b, "events") == len(events) and b.js("document.getElementById('outside').hidden"),
          "all time: every event, no banner")
    mark(b)
    b.click('.presets button[data-days="30"]')
    overview_ready(b)


def test_chart_filters(b, s, events):
    now = int(time.time())
    today = now // DAY * DAY
    want = in_range(events, today - 29 * DAY, today + DAY, reason="mailboxfull")
    mark(b)
    b.click('#p-reason button[aria-label^="mailboxfull:"]')
    overview_ready(b)
    check("reason = mailboxfull" in cdp.text_of(b, "#filters"), "a reason click shows its chip")
    check(card(b, "events") == len(want), "filtered: events card %s = %d" %
          (card(b, "events"), len(want)))
    kinds = b.js("Array.from(document.querySelectorAll('#p-kind .label')).map(x => x.textContent)")
    check(kinds == ["soft"], "filtered: the kind panel shows only soft (%s)" % kinds)
    reasons = set(b.js("Array.from(document.querySelectorAll('#events tbody tr')).map(r => "
                       "r.cells[2].textContent)"))
    check(reasons == {"mailboxfull"}, "filtered: the event list shows only mailboxfull")
    mark(b)
    b.click("#filters .chip")
    overview_ready(b)
    # keyboard: tab to a bar of the kind panel and press Enter
    b.js("document.querySelector('#p-class button').focus()")
    b.key("Tab")
    focused = b.js("document.activeElement.closest('#p-class') !== null")
    mark(b)
    b.key("Enter")
    overview_ready(b)
    check(focused and "kind = " in cdp.text_of(b, "#filters"),
          "a bar is reached with Tab and chosen with Enter")
    b.js("document.querySelector('#chart g.bar').focus()")
    check(b.js("document.activeElement.matches('#chart g.bar')"), "chart bars take focus")
    mark(b)
    b.click("#filters .chip")
    overview_ready(b)


def test_drawer(b, s, events):
    e = next(x for x in sorted(events, key=lambda x: -x["event_time"])
             if x["source"] == "smtp" and x["decided_by"].startswith("rule:"))
    b.goto(s.base + "/#/address?q=" + e["recipient"])
    ready(b, "address")
    b.click("#ad-out table tbody tr button.link")
    b.wait("!document.getElementById('drawer').hidden && "
           "document.querySelector('#dr-body pre.raw') !== null", what="the drawer")
    body = cdp.text_of(b, "#dr-body")
    check(e["decided_by"] in body, "drawer: decided_by " + e["decided_by"])
    rule = cdp.text_of(b, "#dr-body .rule")
    check("==>" in rule, "drawer: the rule text (%s)" % cdp.squash(rule)[:80])
    raw = cdp.text_of(b, "#dr-body pre.raw")
    check("Received:" in raw and e["recipient"].split("@")[0] in raw,
          "drawer: the raw bounce from the spool")
    st, raw_bytes, hdrs = s.api("GET", "/api/v1/events/%d/raw" % e["id"])
    check(st == 200 and hdrs.get("Content-Type") == "message/rfc822",
          "raw route: message/rfc822 for admin")
    b.screenshot(os.path.join(OUT, "drawer-1400.png"))
    for _ in range(6):
        b.key("Tab")
    check(b.js("document.getElementById('drawer').contains(document.activeElement)"),
          "Tab stays inside the open drawer")
    b.key("Escape")
    b.wait("document.getElementById('drawer').hidden", what="the drawer to close")
    check(b.js("document.activeElement.matches('#ad-out table tbody tr button.link')"),
          "closing the drawer returns the focus to the button that opened it")


def test_address_revert(b, s):
    addr = "gone@example.org"
    b.goto(s.base + "/#/address")
    b.wait("!document.getElementById('view-address').hidden", what="address view")
    b.type("#ad-q", addr)
    mark(b)
    b.key("Enter")
    ready(b, "address")
    out = cdp.text_of(b, "#ad-out")
    check("BOUNCED_HARD" in out and "yes: userunknown" in out, "address: state and suppression")
    check("news" not in cdp.text_of(b, "#ad-out dl"), "address: unsubscribed from its lists")
    check('"plan":"gold"' in out, "address: attributes shown")
    mark(b)
    b.click("#audit tbody tr button")  # the change that suppressed it
    confirm_dialog(b, ["Now: BOUNCED_HARD", "After: ACTIVE", "lists: news, offers"])
    ready(b, "address")
    c = s.j("GET", "/api/v1/contacts?email=" + addr)["data"][0]
    c = s.j("GET", "/api/v1/contacts/%d" % c["id"])
    check(c["hygiene_status"] == "ACTIVE" and not c["suppressed"] and
          sorted(c.get("lists", [])) == ["news", "offers"], "revert restored state and lists")
    check("ACTIVE" in cdp.text_of(b, "#ad-out dl"), "the page shows the restored state")


def test_suppressions(b, s, dl):
    addr = "manual.block@web-test.example"
    b.goto(s.base + "/#/suppressions")
    ready(b, "suppressions")
    b.type("#su-addr", addr)
    b.type("#su-why", "operator request")
    b.js("document.body.dataset.ready = ''")
    b.click("#su-add button[type=submit]")
    confirm_dialog(b, ["No mail is sent to " + addr])
    b.wait("document.querySelector('#supps').textContent.includes(%s)" % json.dumps(addr),
           what="the new suppression")
    b.type("#su-q", "web-test")
    b.click("#su-filter button[type=submit]")
    b.wait("document.querySelectorAll('#supps tbody tr').length === 1", what="search result")
    b.click("#su-csv")
    path = os.path.join(dl, "bounced-suppressions.csv")
    deadline = time.time() + 15
    while time.time() < deadline and not os.path.exists(path):
        time.sleep(0.2)
    data = open(path).read() if os.path.exists(path) else ""
    check(data.startswith("id,address,reason") and addr in data and "operator request" in data,
          "suppressions CSV export downloaded with the new row")
    check(len(data.strip().splitlines()) == 2, "the export follows the search (1 row)")
    b.click("#supps tbody tr button.danger")
    confirm_dialog(b, ["becomes sendable", "audit log"])
    b.wait("!document.querySelector('#supps').textContent.includes(%s)" % json.dumps(addr),
           what="the suppression to go")
    audit = s.j("GET", "/api/v1/audit?address=" + addr)["data"]
    check([a["action"] for a in audit] == ["suppress", "unsuppress"], "add and remove audited")


def test_review(b, s):
    items = s.j("GET", "/api/v1/review")["data"]
    check(len(items) >= 1, "the corpus leaves items to review")
    r = items[0]
    b.goto(s.base + "/#/review")
    ready(b, "review")
    sel = '#review tbody tr[data-id="%d"]' % r["id"]
    b.click(sel + ' button[data-act="hard"]')
    confirm_dialog(b, ["dead address", "suppressed", "undo"])
    b.wait("document.querySelector(%s).textContent.includes('resolved: hard')" % json.dumps(sel),
           what="the result beside the row")
    st, _, _ = s.api("GET", "/api/v1/check/" + r["recipient"])
    chk = s.j("GET", "/api/v1/check/" + r["recipient"])
    check(chk["sendable"] is False, "resolved hard: the address is suppressed")
    b.click(sel + ' button[data-act="undo"]')
    b.wait("document.querySelector(%s).textContent.includes('undone')" % json.dumps(sel),
           what="undo")
    chk = s.j("GET", "/api/v1/check/" + r["recipient"])
    open_ids = [x["id"] for x in s.j("GET", "/api/v1/review")["data"]]
    check(chk["sendable"] is True and r["id"] in open_ids, "undo: sendable again, item open")
    b.click(sel + ' button[data-act="raw"]')
    b.wait("!document.getElementById('rv-side').hidden && "
           "document.querySelector('#rv-side pre.raw') !== null", what="raw bounce beside")
    check("Received:" in cdp.text_of(b, "#rv-side pre.raw"), "review: the raw bounce beside it")
    b.click(sel + ' button[data-act="rule"]')
    b.wait("!document.getElementById('rule-form').hidden", what="the rule form")
    line = b.js("document.getElementById('rf-line').value")
    check(line.endswith("==> hard") and len(line) > 12, "the rule is prefilled: " + line[:70])
    check(b.js("document.getElementById('rf-save').disabled"), "no saving before the effect")
    b.click("#rf-test")
    b.wait("/matches/.test(document.getElementById('rf-impact').textContent)", what="impact")
    imp = s.j("POST", "/api/v1/rules/impact", {"rule": line})
    text = cdp.text_of(b, "#rf-impact").replace(",", "")
    check("matches %d of %d" % (imp["matched"], imp["scanned"]) in text and imp["matched"] >= 1,
          "impact shown before saving: " + text[:90])
    b.click("#rf-save")
    b.wait("/Saved as rule/.test(document.getElementById('rf-impact').textContent)", what="save")
    check(any(x["rule"] == line for x in s.j("GET", "/api/v1/rules")["data"]), "the rule is stored")


def test_rules_settings(b, s):
    b.goto(s.base + "/#/rules")
    ready(b, "rules")
    n = b.js("document.querySelectorAll('#rules tbody tr').length")
    b.type("#ru-q", "quota")
    m = b.js("document.querySelectorAll('#rules tbody tr').length")
    check(n > 10 and 0 < m < n, "rules: loaded rules listed (%d) and searched (%d)" % (n, m))
    check(b.js("document.querySelectorAll('#dbrules tbody tr').length") == 1,
          "rules: the user rule added from review is listed")
    b.goto(s.base + "/#/settings")
    ready(b, "settings")
    first = b.js("document.querySelector('#settings tbody tr td').textContent")
    check(first.startswith("policy."), "settings: policy first (%s)" % first)
    check("policy.soft_threshold" in cdp.text_of(b, "#settings"), "settings: the policy values")


def test_phone(b, s):
    b.viewport(390, 844, mobile=True)
    b.goto(s.base + "/#/overview")  # goto forgets the last render itself
    overview_ready(b)
    b.screenshot(os.path.join(OUT, "overview-390.png"))
    b.screenshot(os.path.join(OUT, "overview-390-top.png"), max_height=2600)
    wide = b.js("document.scrollingElement.scrollWidth")
    check(wide <= 391, "390 px: no sideways scrolling (%d)" % wide)
    check(b.js("getComputedStyle(document.querySelector('#events tbody tr')).display") == "block",
          "390 px: table rows are cards")
    b.goto(s.base + "/#/review")
    ready(b, "review")
    b.screenshot(os.path.join(OUT, "review-390.png"))
    b.viewport(1400, 900)


def test_contrast(b):
    pairs = b.js("""(() => {
      const lum = (c) => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(x => {
        x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const ratio = (a, b) => { const x = lum(a), y = lum(b);
        return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
      const out = [];
      for (const cls of ['k-hard', 'k-soft', 'k-complaint', 'muted', 'st-ACTIVE', 'result']) {
        const e = document.createElement('span'); e.className = cls; e.textContent = 'x';
        document.querySelector('main').appendChild(e);
        out.push([cls, ratio(getComputedStyle(e).color, 'rgb(255, 255, 255)')]); e.remove(); }
      for (const c of ['hard', 'soft_address', 'soft_sender', 'complaint', 'other']) {
        const e = document.createElement('i'); e.className = 'sw c-' + c;
        document.querySelector('main').appendChild(e);
        out.push(['c-' + c, ratio(getComputedStyle(e).backgroundColor, 'rgb(255, 255, 255)')]);
        e.remove(); }
      return out; })()""")
    for name, r in pairs:
        need = 3.0 if name.startswith("c-") else 4.5
        check(r >= need, "contrast %s %.2f:1 (>= %.1f)" % (name, r, need))


def test_signout(b, s):
    b.goto(s.base + "/#/overview")  # goto forgets the last render itself
    overview_ready(b)
    b.click("#signout")
    b.wait("!document.getElementById('signin').hidden", what="sign-in after sign-out")
    left = b.js("document.querySelectorAll('#events tbody tr, #cards .card, #chart svg').length")
    check(left == 0 and not b.js("sessionStorage.getItem('bnc_token')"),
          "sign-out clears the screen and the token")
    b.js("sessionStorage.setItem('bnc_token', 'bnc_' + 'f'.repeat(64))")
    b.reload()
    b.wait("/401/.test(document.getElementById('signin-msg').textContent)", what="401 on load")
    check(b.js("document.querySelectorAll('#events tbody tr').length") == 0,
          "a 401 leaves no data on screen")


def main():
    os.makedirs(OUT, exist_ok=True)
    s = Serve()
    b = None
    dl = tempfile.mkdtemp(prefix="bnc-web-dl-")
    try:
        sent, synth = seed(s)
        events = s.all_events()
        print("seeded: %d corpus messages over SMTP, %d synthetic verdicts, %d events"
              % (sent, synth, len(events)))
        st, _, hdrs = s.api("GET", "/")
        check("default-src 'self'" in hdrs.get("Content-Security-Policy", ""), "strict CSP kept")
        b = cdp.Browser(CHROMIUM)
        b.downloads_to(dl)
        b.viewport(1400, 900)
        test_signin(b, s)
        b.screenshot(os.path.join(OUT, "overview-1400.png"))
        test_range(b, s, events)
        test_chart_filters(b, s, events)
        test_contrast(b)
        test_drawer(b, s, events)
        test_address_revert(b, s)
        b.screenshot(os.path.join(OUT, "address-1400.png"))
        test_suppressions(b, s, dl)
        test_review(b, s)
        b.screenshot(os.path.join(OUT, "review-1400.png"))
        test_rules_settings(b, s)
        test_phone(b, s)
        test_signout(b, s)
        b.pump(0.3)
        urls = [e["params"]["request"]["url"] for e in b.events
                if e.get("method") == "Network.requestWillBeSent"]
        away = [u for u in urls if not (u.startswith(s.base) or u.startswith("blob:") or
                                        u.startswith("data:") or u == "about:blank")]
        check(urls and not away, "nothing loaded from elsewhere (%d requests)" % len(urls))
        provoked = [e for e in b.console_errors if "status of 401" in e and "/whoami" in e]
        other = [e for e in b.console_errors if e not in provoked]
        check(len(provoked) == 2, "the two refused tokens were the only 401s (%d)" % len(provoked))
        check(not other, "no console errors: %s" % other[:5])
    except AssertionError as e:
        failures.append(str(e))
        print("FAIL " + str(e))
        print(traceback.format_exc())
        if b is not None:
            b.screenshot(os.path.join(OUT, "failure.png"))
    finally:
        if b is not None:
            b.close()
        s.stop()
        shutil.rmtree(dl, ignore_errors=True)
    print("screenshots in " + OUT)
    print("%d failed" % len(failures) if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
