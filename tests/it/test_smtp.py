#!/usr/bin/env python3
"""End to end: `bounced serve` on loopback, DSNs over SMTP (smtplib and raw pipelining), LMTP on
a Unix socket, then the store. Covers: a DSN becomes a verdict; pipelining; a message over the
size limit gets 552 (declared, and actual: then the connection is closed) and nothing is
stored; a relay attempt and an unknown
domain get 550 5.7.1; 200 concurrent connections all get 250 and all land in the store;
VRFY refused; a reply that is not a bounce is recorded but counts against no one; the
connection cap (421 4.7.0 at accept) and the idle timeout (421 4.4.2); SIGHUP reloads;
SIGTERM exits 0 and leaves nothing unprocessed."""

import os
import signal
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Client, Daemon, check, dot_stuff, make_dsn  # noqa: E402


def test_basic(d):
    s = smtplib.SMTP("127.0.0.1", d.port, timeout=20)
    code, caps = s.ehlo("client.example")
    check(code == 250, "EHLO 250")
    for ext in (b"PIPELINING", b"SIZE 20480", b"8BITMIME", b"ENHANCEDSTATUSCODES"):
        check(ext in caps, "EHLO announces %s" % ext.decode())
    check(b"STARTTLS" not in caps, "no STARTTLS without a certificate")
    refused = s.sendmail("", ["bounces+alice=dest.example@bounce.example"], make_dsn("alice@dest.example", 1))
    check(refused == {}, "a DSN is accepted")
    # relay attempt and unknown domain
    try:
        s.sendmail("", ["victim@gmail.example"], make_dsn("x@dest.example", 2))
        check(False, "relay refused")
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = e.recipients["victim@gmail.example"]
        check(code == 550 and msg.startswith(b"5.7.1"), "relay attempt: 550 5.7.1")
    s.rset()
    code, msg = s.docmd("MAIL FROM:<someone@outside.example>")
    check(code == 250, "MAIL from anyone")
    code, msg = s.docmd("RCPT TO:<bounces@sub.bounce.example>")
    check(code == 550 and msg.startswith(b"5.7.1"), "unknown (sub)domain: 550 5.7.1")
    code, msg = s.docmd("RCPT TO:<@relay.example:user@elsewhere.example>")
    check(code == 550, "source-routed relay: 550")
    s.rset()
    code, msg = s.docmd("VRFY alice")
    check(code in (252, 502), "VRFY refused (%d)" % code)
    s.quit()
    check(d.wait_drained(expect_ingested=1, timeout=30), "the DSN was processed")
    rows = d.q("select recipient, kind, reason, source from bounce_events")
    check(("alice@dest.example", "hard", "userunknown", "smtp") in rows, "verdict stored: %r" % rows)
    # what was spooled carries the envelope
    done = os.path.join(d.spool, "done")
    names = os.listdir(done)
    check(len(names) == 1, "spool/done keeps the processed message")
    with open(os.path.join(done, names[0]), "rb") as f:
        head = f.read(600)
    check(head.startswith(b"Return-Path: <>\r\nX-Original-To: <bounces+alice=dest.example@bounce.example>\r\nReceived: from client.example"),
          "Return-Path/X-Original-To/Received prepended")


def test_pipelining(d):
    c = Client(d.port)
    code, _ = c.code()
    check(code == 220, "greeting")
    msg = dot_stuff(make_dsn("bob@dest.example", 10))
    msg2 = dot_stuff(make_dsn("carol@dest.example", 11, status="4.2.2", diag="452 4.2.2 Mailbox full"))
    # one write: EHLO, MAIL, RCPT x3 (one refused), DATA; then the body and a second
    # transaction in one write as well.
    c.send("EHLO p.example\r\nMAIL FROM:<>\r\nRCPT TO:<b1@bounce.example>\r\n"
           "RCPT TO:<nobody@other.example>\r\nRCPT TO:<b2@Bounce2.example>\r\nDATA\r\n")
    codes = [c.code()[0] for _ in range(6)]
    check(codes == [250, 250, 250, 550, 250, 354], "pipelined replies in order: %r" % codes)
    c.send(msg + ".\r\nMAIL FROM:<>\r\nRCPT TO:<b3@bounce.example>\r\nDATA\r\n")
    codes = [c.code()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 354], "data end + next transaction pipelined: %r" % codes)
    c.send(msg2 + ".\r\nQUIT\r\n")
    codes = [c.code()[0] for _ in range(2)]
    check(codes == [250, 221], "second message and QUIT: %r" % codes)
    c.close()
    check(d.wait_drained(expect_ingested=3, timeout=30), "both pipelined messages processed")
    kinds = dict(d.q("select recipient, kind from bounce_events"))
    check(kinds.get("bob@dest.example") == "hard" and kinds.get("carol@dest.example") == "soft",
          "pipelined verdicts stored: %r" % kinds)


def test_oversize(d):
    before_ing = d.q("select count(*) from ingested")[0][0]
    before_files = d.spool_count("new") + d.spool_count("done") + d.spool_count("hold")
    big = make_dsn("huge@dest.example", 20) .replace("Your message", "X" * 900 + "\r\nYour message")
    big = big.replace("Your message", ("Y" * 900 + "\r\n") * 30 + "Your message")
    check(len(big) > 20480, "test message is over the limit (%d)" % len(big))
    s = smtplib.SMTP("127.0.0.1", d.port, timeout=20)
    s.ehlo("c.example")
    # declared too big
    code, msg = s.docmd("MAIL FROM:<> SIZE=%d" % (len(big) + 10))
    check(code == 552 and msg.startswith(b"5.3.4"), "SIZE over the limit: 552 5.3.4")
    # not declared, sent anyway
    code, _ = s.docmd("MAIL FROM:<>")
    code2, _ = s.docmd("RCPT TO:<b@bounce.example>")
    check(code == 250 and code2 == 250, "envelope accepted")
    code, _ = s.docmd("DATA")
    check(code == 354, "DATA 354")
    try:
        s.send(dot_stuff(big).encode() + b".\r\n")
    except OSError:
        pass  # the server may close while the rest is still being sent
    code, msg = s.getreply()
    check(code == 552 and msg.startswith(b"5.3.4"), "data over the limit: 552 5.3.4 (%d %r)" % (code, msg))
    try:
        code, _ = s.docmd("NOOP")
    except (smtplib.SMTPServerDisconnected, OSError):
        code = 0
    check(code == 0, "the connection is closed after the 552")
    s.close()
    time.sleep(0.5)
    after_files = d.spool_count("new") + d.spool_count("done") + d.spool_count("hold")
    check(after_files == before_files, "nothing spooled for the oversize message")
    check(d.q("select count(*) from ingested")[0][0] == before_ing, "nothing stored for it")
    check(d.q("select count(*) from bounce_events where recipient='huge@dest.example'")[0][0] == 0,
          "no verdict for the oversize message")


def test_not_bounce(d):
    reply = ("From: Human <human@dest.example>\r\nTo: bounces@bounce.example\r\n"
             "Subject: Re: our newsletter\r\nMessage-ID: <human-1@dest.example>\r\n"
             "In-Reply-To: <orig-1@sender.example>\r\n\r\nPlease take me off your list, thanks.\r\n")
    s = smtplib.SMTP("127.0.0.1", d.port, timeout=20)
    s.sendmail("human@dest.example", ["bounces@bounce.example"], reply)
    s.quit()
    before = d.q("select count(*) from ingested")[0][0]
    check(d.wait_drained(expect_ingested=before, timeout=30), "reply processed")
    time.sleep(0.3)
    rows = d.q("select not_bounce, verdicts from ingested order by id desc limit 1")
    check(rows and rows[0][1] == 0, "a reply yields no verdict: %r" % rows)
    c = d.q("select hygiene_status from contacts where email='human@dest.example'")
    check(c == [] or c[0][0] == "ACTIVE", "a reply counts against no one: %r" % c)
    check("not_bounce=" in d.logtext(), "logged with its not_bounce flag")


def test_concurrent(d, n=200):
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def one(i):
        try:
            s = smtplib.SMTP("127.0.0.1", d.port, timeout=60)
            barrier.wait(timeout=60)
            refused = s.sendmail("", ["bounces@bounce.example"], make_dsn("conc%d@dest.example" % i, 1000 + i))
            s.quit()
            ok = refused == {}
        except Exception as e:  # noqa: BLE001 - report every failure
            ok = False
            print("client %d: %r" % (i, e))
        with lock:
            results.append(ok)

    before = d.q("select count(*) from ingested")[0][0]
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    check(len(results) == n and all(results), "%d concurrent connections all got 250 (%.1fs)" % (n, time.time() - t0))
    check(d.wait_drained(expect_ingested=before + n, timeout=120), "all %d processed" % n)
    got = d.q("select count(distinct recipient) from bounce_events where recipient like 'conc%@dest.example'")[0][0]
    check(got == n, "%d distinct verdicts in the store (got %d)" % (n, got))


def test_lmtp(d, path):
    c = Client(None, path=path)
    code, r = c.code()
    check(code == 220 and "LMTP" in r[0], "LMTP greeting")
    c.send("LHLO mta.example\r\n")
    code, r = c.code()
    check(code == 250 and any("PIPELINING" in x for x in r), "LHLO")
    c.send("MAIL FROM:<>\r\nRCPT TO:<l1@bounce.example>\r\nRCPT TO:<x@nope.example>\r\n"
           "RCPT TO:<l2@bounce.example>\r\nDATA\r\n")
    codes = [c.code()[0] for _ in range(5)]
    check(codes == [250, 250, 550, 250, 354], "LMTP envelope replies: %r" % codes)
    c.send(dot_stuff(make_dsn("dave@dest.example", 30)) + ".\r\n")
    r1, r2 = c.code(), c.code()
    check(r1[0] == 250 and "l1@bounce.example" in r1[1][0] and r2[0] == 250 and "l2@bounce.example" in r2[1][0],
          "one reply per recipient after DATA: %r %r" % (r1, r2))
    c.send("QUIT\r\n")
    c.code()
    c.close()
    check(d.wait_drained(timeout=30), "LMTP message processed")
    time.sleep(0.3)
    check(d.q("select count(*) from bounce_events where recipient='dave@dest.example'")[0][0] == 1,
          "LMTP verdict stored once")


def test_limits():
    """A second daemon with a tiny connection cap and a 2 s idle timeout."""
    d = Daemon(env={"BOUNCED_SMTP_MAX_CONNECTIONS": "3", "BOUNCED_SMTP_IDLE_TIMEOUT": "2s"})
    try:
        d.start()
        held = []
        for _ in range(3):
            c = Client(d.port)
            check(c.code()[0] == 220, "connection under the cap greeted")
            held.append(c)
        extra = Client(d.port)
        code, r = extra.code()
        check(code == 421 and "4.7.0" in r[0], "connection over the cap: 421 4.7.0 (%r)" % r)
        extra.close()
        t0 = time.time()
        code, r = held[0].code()
        check(code == 421 and "4.4.2" in r[0] and time.time() - t0 < 10, "idle timeout: 421 4.4.2")
        for c in held:
            c.close()
        # once they are gone, a new connection is greeted again
        time.sleep(0.5)
        c = Client(d.port)
        check(c.code()[0] == 220, "cap frees up after close")
        c.close()
        check(d.stop() == 0, "second daemon exits 0")
    finally:
        d.cleanup()


def main():
    d = Daemon(env={"BOUNCED_SMTP_MAX_MESSAGE_SIZE": "20k"}, workers=2)
    sock = os.path.join(d.tmp, "lmtp.sock")
    d.lmtp = "unix:" + sock
    try:
        d.start()
        test_basic(d)
        test_pipelining(d)
        test_oversize(d)
        test_not_bounce(d)
        test_lmtp(d, sock)
        test_concurrent(d)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 120  # a reload compiles the rules: slow under ASan
        while "event=reloaded" not in d.logtext() and time.time() < deadline:
            time.sleep(0.1)
        check("event=reloaded" in d.logtext(), "SIGHUP reloads")
        s = smtplib.SMTP("127.0.0.1", d.port, timeout=20)
        check(s.sendmail("", ["bounces@bounce.example"], make_dsn("after-hup@dest.example", 40)) == {},
              "still accepting after SIGHUP")
        s.quit()
        # graceful shutdown: an idle session gets 421 at once, an open transaction may finish
        busy = Client(d.port)
        idle = Client(d.port)
        busy.code()
        idle.code()
        busy.send("EHLO busy.example\r\nMAIL FROM:<>\r\nRCPT TO:<bounces@bounce.example>\r\nDATA\r\n")
        idle.send("EHLO idle.example\r\n")
        for _ in range(4):
            busy.code()
        idle.code()
        body = dot_stuff(make_dsn("inflight@dest.example", 41))
        busy.send(body[: len(body) // 2])
        d.proc.send_signal(signal.SIGTERM)
        code, r = idle.code()
        check(code == 421 and "4.3.2" in r[0], "SIGTERM: an idle session gets 421 4.3.2 (%r)" % r)
        busy.send(body[len(body) // 2:] + ".\r\n")
        code, r = busy.code()
        check(code == 250, "SIGTERM: the open transaction completes with 250 (%r)" % r)
        code, r = busy.code()
        check(code in (421, 0), "then the session is closed (%r)" % r)
        busy.close()
        idle.close()
        rc = d.proc.wait(timeout=120)
        d.proc.stdout.close()
        d.proc = None
        check(rc == 0, "SIGTERM: exit 0")
        check(d.q("select count(*) from bounce_events where recipient='inflight@dest.example'")[0][0] == 1,
              "the message finished during shutdown was processed before exit")
        check(d.spool_count("new") == 0, "nothing left in spool/new after shutdown")
        check(d.q("select count(*) from bounce_events where recipient='after-hup@dest.example'")[0][0] == 1,
              "the last message was processed before exit")
        check("rcpt=h:" in d.logtext() and "bounces@bounce.example" not in d.logtext(),
              "recipients are hashed in info logs")
        test_limits()
    except Exception:
        print("---- serve log ----")
        print(d.logtext()[-6000:])
        raise
    finally:
        d.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
