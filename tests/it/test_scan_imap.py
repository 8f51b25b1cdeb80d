#!/usr/bin/env python3
"""`bounced scan imap://...` against a small scripted IMAP4rev1 server on loopback (stdlib
only): the scanner lists unseen UIDs, fetches each through libcurl, and flags it \\Seen only
after its commit (or moves it with --move-to); a second pass finds nothing new; refs carry
UIDVALIDITY so nothing is counted twice."""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import bounced_bin, check, make_dsn  # noqa: E402


class Mailbox:
    def __init__(self, msgs):
        self.lock = threading.Lock()
        self.msgs = {uid: {"data": m.encode(), "seen": False} for uid, m in msgs.items()}
        self.moved = {}
        self.log = []


def serve_client(conn, mb):
    f = conn.makefile("rb")

    def send(s):
        conn.sendall(s if isinstance(s, bytes) else s.encode())

    send("* OK [CAPABILITY IMAP4rev1] fake imap ready\r\n")
    while True:
        line = f.readline()
        if not line:
            return
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        with mb.lock:
            mb.log.append(text)
        parts = text.split(" ", 2)
        if len(parts) < 2:
            send("* BAD what\r\n")
            continue
        tag, cmd = parts[0], parts[1].upper()
        arg = parts[2] if len(parts) > 2 else ""
        if cmd == "CAPABILITY":
            send("* CAPABILITY IMAP4rev1\r\n%s OK done\r\n" % tag)
        elif cmd == "LOGIN":
            send("%s OK logged in\r\n" % tag)
        elif cmd in ("SELECT", "EXAMINE"):
            with mb.lock:
                n = len(mb.msgs)
            send("* FLAGS (\\Seen)\r\n* %d EXISTS\r\n* OK [UIDVALIDITY 42] uids\r\n%s OK [READ-WRITE] done\r\n" % (n, tag))
        elif cmd == "STATUS":
            send("* STATUS INBOX (UIDVALIDITY 42)\r\n%s OK done\r\n" % tag)
        elif cmd == "UID":
            sub = arg.split(" ", 1)
            op = sub[0].upper()
            rest = sub[1] if len(sub) > 1 else ""
            if op == "SEARCH":
                with mb.lock:
                    uids = sorted(u for u, m in mb.msgs.items() if not m["seen"] or "UNSEEN" not in rest.upper())
                send("* SEARCH %s\r\n%s OK done\r\n" % (" ".join(str(u) for u in uids), tag))
            elif op == "FETCH":
                uid = int(rest.split(" ")[0])
                with mb.lock:
                    m = mb.msgs.get(uid)
                    if m is not None and "PEEK" not in rest.upper():
                        m["seen"] = True  # BODY[] sets \Seen, as real servers do
                if m is None:
                    send("%s OK nothing\r\n" % tag)
                else:
                    d = m["data"]
                    send(b"* 1 FETCH (UID %d BODY[] {%d}\r\n" % (uid, len(d)) + d + b")\r\n" + ("%s OK done\r\n" % tag).encode())
            elif op == "STORE":
                mm = re.match(r"(\d+) ([+-])FLAGS(\.SILENT)? \(\\Seen\)", rest, re.I)
                if mm:
                    with mb.lock:
                        m = mb.msgs.get(int(mm.group(1)))
                        if m is not None:
                            m["seen"] = mm.group(2) == "+"
                send("%s OK stored\r\n" % tag)
            elif op == "MOVE":
                uid, folder = rest.split(" ", 1)
                with mb.lock:
                    m = mb.msgs.pop(int(uid), None)
                    if m is not None:
                        mb.moved[int(uid)] = folder
                send("%s OK moved\r\n" % tag)
            else:
                send("%s BAD unknown UID command\r\n" % tag)
        elif cmd == "LOGOUT":
            send("* BYE bye\r\n%s OK done\r\n" % tag)
            return
        else:
            send("%s OK fine\r\n" % tag)


def start_server(mb):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)

    def handle(conn):
        try:
            serve_client(conn, mb)
        finally:
            conn.close()

    def loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls, ls.getsockname()[1]


def scan(bin_, db, url, *extra):
    p = subprocess.run([bin_, "--db", db, "scan", "--quiet", "--user", "u", "--password", "p", *extra, url],
                       capture_output=True, timeout=300)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def main():
    bin_ = bounced_bin()
    tmp = tempfile.mkdtemp(prefix="bnc-imap-")
    db = os.path.join(tmp, "b.db")
    reply = "From: h@dest.example\r\nTo: bounces@bounce.example\r\nSubject: Re: hi\r\nMessage-ID: <r1@dest.example>\r\n\r\nthanks\r\n"
    mb = Mailbox({7: make_dsn("imap7@dest.example", 7), 9: make_dsn("imap9@dest.example", 9), 12: reply})
    ls, port = start_server(mb)
    try:
        url = "imap://127.0.0.1:%d/INBOX" % port
        rc, err = scan(bin_, db, url)
        check(rc == 0, "scan imap exit 0 (%d %s)" % (rc, err[-300:]))
        con = sqlite3.connect(db)
        ev = sorted(r[0] for r in con.execute("select recipient from bounce_events"))
        check(ev == ["imap7@dest.example", "imap9@dest.example"], "two verdicts from IMAP: %r" % ev)
        refs = sorted(r[0] for r in con.execute("select ref from ingested where source='mailbox'"))
        check(refs == ["imap:42/12", "imap:42/7", "imap:42/9"], "refs carry UIDVALIDITY/UID: %r" % refs)
        nb = con.execute("select count(*) from ingested where not_bounce=1").fetchone()[0]
        check(nb == 1, "the reply is recorded as not a bounce")
        con.close()
        with mb.lock:
            seen = {u: m["seen"] for u, m in mb.msgs.items()}
            stores = [x for x in mb.log if "+FLAGS" in x]
        check(all(seen.values()), "every message flagged \\Seen: %r" % seen)
        check(len(stores) == 3, "\\Seen set explicitly after each commit (%d STOREs)" % len(stores))
        # a second pass: nothing unseen
        rc, err = scan(bin_, db, url)
        con = sqlite3.connect(db)
        n = con.execute("select count(*) from ingested").fetchone()[0]
        con.close()
        check(rc == 0 and n == 3, "second pass finds nothing new")
        # move mode, with a new message
        with mb.lock:
            mb.msgs[15] = {"data": make_dsn("imap15@dest.example", 15).encode(), "seen": False}
        rc, err = scan(bin_, db, url, "--move-to", "Processed")
        with mb.lock:
            moved = dict(mb.moved)
        check(rc == 0 and moved == {15: "Processed"}, "--move-to moves after the commit: %r" % moved)
    finally:
        ls.close()
        if not os.environ.get("BNC_KEEP_TMP"):
            subprocess.call(["rm", "-rf", tmp])
    print("PASS")


if __name__ == "__main__":
    main()
