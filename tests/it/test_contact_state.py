#!/usr/bin/env python3
"""End to end: the state a person reads and changes stays consistent, through `bounced serve`
(SMTP and HTTP on loopback) and the CLI on the same SQLite store.

- bulk POST /api/v1/check answers each address: a bad one gets its own error, the others
  their answer (not a 400 for all);
- lists through the API: GET /api/v1/lists, GET/PUT /api/v1/contacts/{id}/lists; a hard
  bounce takes the contact off its lists ("unsubscribed_by": "bounce") and re-verification
  puts it back on them, not on a list it left itself;
- audit revert of an entry that later entries stand on: 409 with their ids (API) and exit 1
  naming them (CLI), then ?cascade=true / --cascade reverts them newest first;
- decay read alike: 40 days after a soft bounce (no sweep ran) check, show, the export's
  status filter and stats all say ACTIVE;
- contacts export --status/--list/--reason/--since, and export -> import -> export gives
  the same lists and attributes, in the same store and in a fresh one."""

import csv
import http.client
import io
import json
import os
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Daemon, check, make_dsn  # noqa: E402


def cli(d, *args, db=None, now=None, stdin=None):
    env = dict(os.environ)
    env.pop("BOUNCED_NOW", None)
    if now:
        env["BOUNCED_NOW"] = now
    p = subprocess.run([d.bin, "--db", db or d.db] + list(args), capture_output=True, text=True,
                       env=env, input=stdin)
    return p.returncode, p.stdout, p.stderr


class Api:
    def __init__(self, hostport, token):
        host, port = hostport.rsplit(":", 1)
        self.c = http.client.HTTPConnection(host, int(port), timeout=30)
        self.token = token

    def req(self, method, path, body=None):
        hdrs = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=hdrs)
        r = self.c.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw


def send_dsn(d, rcpt, n, status, diag=None):
    s = smtplib.SMTP("127.0.0.1", d.port, timeout=20)
    s.sendmail("", ["bounces@bounce.example"], make_dsn(rcpt, n, status=status, diag=diag))
    s.quit()


def export_rows(d, *filters, db=None, now=None):
    rc, out, err = cli(d, "contacts", "export", *filters, db=db, now=now)
    check(rc == 0, "contacts export %s exits 0 (%s)" % (" ".join(filters), err.strip()))
    return list(csv.DictReader(io.StringIO(out)))


def test_bulk_check(api):
    st, body = api.req("POST", "/api/v1/check",
                       {"addresses": ["a@dest.example", "not an address", 5, "c@dest.example"]})
    check(st == 200, "bulk check with bad entries: 200 (%r)" % st)
    res = body["results"]
    check(len(res) == 4, "one result per address")
    check(res[0]["sendable"] is False and res[0]["hygiene_status"] == "BOUNCED_HARD",
          "the hard-bounced address: not sendable")
    check(res[1]["error"]["code"] == "bad_address" and res[1]["address"] == "not an address",
          "the bad address has its own error")
    check(res[2]["error"]["code"] == "bad_address" and res[2]["address"] is None,
          "the number has its own error")
    check(res[3]["sendable"] is True, "the good address after them is still answered")


def test_lists(api, ids):
    st, body = api.req("GET", "/api/v1/lists")
    lists = {l["name"]: l for l in body["data"]}
    check(st == 200 and lists["campaign"]["subscribed"] == 3 and lists["campaign"]["unsubscribed"] == 1,
          "GET /api/v1/lists: campaign 3 subscribed, 1 off (%r)" % lists)
    st, body = api.req("GET", "/api/v1/contacts/%d/lists" % ids["a"])
    m = {x["name"]: x for x in body["lists"]}
    check(m["campaign"]["status"] == "unsubscribed" and m["campaign"]["unsubscribed_by"] == "bounce",
          "the bounce took a off campaign (%r)" % m)
    st, body = api.req("PUT", "/api/v1/contacts/%d/lists" % ids["a"], {"lists": ["vip"]})
    check(st == 200, "PUT lists 200")
    st, body = api.req("PUT", "/api/v1/contacts/%d/lists" % ids["a"], {"lists": ["x\ny"]})
    check(st == 400, "a list name with a control character: 400")
    st, body = api.req("PUT", "/api/v1/contacts/999999/lists", {"lists": ["vip"]})
    check(st == 404, "PUT lists of no contact: 404")
    st, body = api.req("PUT", "/api/v1/contacts/%d/lists" % ids["c"], {"lists": ["campaign", "vip"]})
    names = sorted(x["name"] for x in body["lists"] if x["status"] == "subscribed")
    check(st == 200 and names == ["campaign", "vip"], "PUT lists sets c's lists (%r)" % names)
    st, body = api.req("PUT", "/api/v1/contacts/%d/lists" % ids["c"], {"lists": ["campaign"]})
    left = [x for x in body["lists"] if x["name"] == "vip"][0]
    check(left["status"] == "unsubscribed" and left["unsubscribed_by"] == "api", "c left vip by api")
    # re-verification of a: back on campaign (the bounce took it), vip kept, a sendable again
    st, body = api.req("POST", "/api/v1/contacts/%d/reverify" % ids["a"])
    check(st == 201, "reverify link 201")
    st, _ = api.req("GET", "/verify/" + body["token"])
    check(st == 200, "the link is used")
    st, body = api.req("GET", "/api/v1/contacts/%d/lists" % ids["a"])
    subs = sorted(x["name"] for x in body["lists"] if x["status"] == "subscribed")
    check(subs == ["campaign", "vip"], "re-verification restores the lists the bounce removed (%r)" % subs)


def audit_ids(d, address):
    rc, out, _ = cli(d, "audit", "list", address)
    rows = [l.split("\t") for l in out.splitlines()[1:]]
    return [(int(r[0]), r[4]) for r in rows]


def test_revert(d, api):
    # a: bounce, then lists (PUT), then reactivate: the bounce has two entries on top
    ids = audit_ids(d, "a@dest.example")
    bounce = [i for i, a in ids if a == "bounce"][0]
    later = sorted([i for i, a in ids if i > bounce], reverse=True)
    st, body = api.req("POST", "/api/v1/audit/%d/revert" % bounce)
    check(st == 409 and body["error"]["code"] == "has_dependents" and
          body["error"]["dependents"] == later, "API revert refused, naming %r (%r)" % (later, body))
    st, body = api.req("POST", "/api/v1/audit/%d/revert?cascade=true" % bounce)
    check(st == 200 and body["entries_reverted"] == len(later) + 1, "cascade reverts them all (%r)" % body)
    # CLI: d suppressed, then unsuppressed
    cli(d, "suppress", "d@dest.example")
    cli(d, "unsuppress", "d@dest.example")
    ids = audit_ids(d, "d@dest.example")
    supp = [i for i, a in ids if a == "suppress"][0]
    unsupp = [i for i, a in ids if a == "unsuppress"][0]
    rc, out, err = cli(d, "audit", "revert", str(supp))
    check(rc == 1 and str(unsupp) in err and "--cascade" in err, "CLI revert refused, names %d (%r)" % (unsupp, err))
    rc, out, err = cli(d, "audit", "revert", str(supp), "--cascade")
    check(rc == 0 and "with 1 later entries" in out, "CLI --cascade (%r %r)" % (out, err))


def test_decay(d):
    later = "2027-01-05"  # 43 days after the soft bounce's Arrival-Date, no sweep in between
    rc, out, _ = cli(d, "check", "b@dest.example")
    check("SOFT_BOUNCING" in out, "b is soft bouncing now (%r)" % out)
    rc, out, _ = cli(d, "check", "b@dest.example", now=later)
    check(rc == 0 and "contact ACTIVE" in out, "check after decay: ACTIVE (%r)" % out)
    rc, out, _ = cli(d, "contacts", "show", "b@dest.example", now=later)
    check('"hygiene_status":"ACTIVE"' in out, "show after decay: ACTIVE")
    check(export_rows(d, "--status", "SOFT_BOUNCING", now=later) == [], "status filter after decay: none")
    check([r["email"] for r in export_rows(d, "--status", "ACTIVE", "--reason", "mailboxfull", now=later)]
          == ["b@dest.example"], "status filter after decay: b is ACTIVE")
    rc, out, _ = cli(d, "stats", now=later)
    check("SOFT_BOUNCING 0" in out, "stats after decay: no SOFT_BOUNCING (%r)" % out.splitlines()[0])


def test_export_import(d):
    rows = export_rows(d, "--status", "SOFT_BOUNCING", "--list", "campaign")
    check([r["email"] for r in rows] == ["b@dest.example"], "export --status --list: the soft-bounced of campaign")
    check([r["email"] for r in export_rows(d, "--reason", "mailboxfull")] == ["b@dest.example"],
          "export --reason")
    check(export_rows(d, "--reason", "userunknown") == [], "export --reason: a's bounce was reverted")
    check(export_rows(d, "--since", "2030-01-01") == [], "export --since")
    rc, _, err = cli(d, "contacts", "export", "--status", "GONE")
    check(rc == 2, "a bad --status is a usage error")
    rc, full, _ = cli(d, "contacts", "export")
    path = os.path.join(d.tmp, "all.csv")
    with open(path, "w") as f:
        f.write(full)
    rc, out, err = cli(d, "contacts", "import", path)
    check(rc == 0, "import of the export exits 0 (%r)" % err)
    rc, again, _ = cli(d, "contacts", "export")
    check(again == full, "export -> import -> export in the same store: identical")
    fresh = os.path.join(d.tmp, "fresh.db")
    rc, out, err = cli(d, "contacts", "import", path, db=fresh)
    check(rc == 0, "import into a fresh store (%r)" % err)
    a = {r["email"]: (r["lists"], r["attributes"]) for r in csv.DictReader(io.StringIO(full))}
    b = {r["email"]: (r["lists"], r["attributes"]) for r in export_rows(d, db=fresh)}
    check(a == b and any(v[0] != "[]" for v in a.values()),
          "lists and attributes read back unchanged in a fresh store")
    # the resend: the soft-bounced of campaign into a list of their own
    sub = os.path.join(d.tmp, "soft.csv")
    rc, soft, _ = cli(d, "contacts", "export", "--status", "SOFT_BOUNCING", "--list", "campaign")
    with open(sub, "w") as f:
        f.write(soft)
    rc, out, _ = cli(d, "contacts", "import", sub, "--list", "resend")
    check([r["email"] for r in export_rows(d, "--list", "resend")] == ["b@dest.example"],
          "the soft-bounced contacts of campaign are on list resend")


def main():
    d = Daemon(args=["--http", "127.0.0.1:0"], domains="bounce.example")
    try:
        d.start()
        check(d.http is not None, "HTTP listening on %s" % d.http)
        rc, out, err = cli(d, "token", "create", "--name", "t", "--scopes", "admin")
        token = [w for w in out.split() if w.startswith("bnc_")][0]
        seed = "email,plan,lists\r\n" + "".join(
            '%s@dest.example,p%d,"[""campaign""]"\r\n' % (x, i) for i, x in enumerate("abcd"))
        rc, out, err = cli(d, "contacts", "import", "-", stdin=seed)
        check(rc == 0, "seed contacts imported (%r)" % err)
        send_dsn(d, "a@dest.example", 1, "5.1.1")
        send_dsn(d, "b@dest.example", 2, "4.2.2", "452 4.2.2 <b@dest.example>: mailbox full, quota exceeded")
        check(d.wait_drained(expect_ingested=2, timeout=60), "both bounces processed")
        time.sleep(0.3)
        ids = {r[0].split("@")[0]: r[1] for r in d.q("select email, id from contacts")}
        api = Api(d.http, token)
        test_bulk_check(api)
        test_lists(api, ids)
        test_revert(d, api)
        test_decay(d)
        test_export_import(d)
    finally:
        d.cleanup()
    print("all ok")


if __name__ == "__main__":
    main()
