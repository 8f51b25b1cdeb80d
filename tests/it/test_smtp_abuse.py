#!/usr/bin/env python3
"""End to end: hostile SMTP clients against `bounced serve` on loopback, each while a normal
client is being served.

- slowloris in the command phase (one byte a second, never a whole command): cut with
  421 4.4.2 within smtp.command_deadline, though the idle timeout (60 s here) never fires;
- slowloris in the data (a short line a second): cut within smtp.transaction_deadline;
- twenty of them at once: each cut in time, the normal client gets its 250 meanwhile;
- smtp.max_connections_per_ip: the connection past the cap from one address gets 421 4.7.0
  at once, another address (127.0.0.2) is served, a freed place is taken again;
- a DATA stream past smtp.max_message_size: 552 5.3.4 while the client is still sending,
  then the connection is closed; nothing of it is spooled."""

import os
import select
import smtplib
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Client, Daemon, check, make_dsn  # noqa: E402

CMD_DEADLINE = 3
TXN_DEADLINE = 5


class Normal(threading.Thread):
    """A well-behaved client sending one DSN; records how long its 250 took."""

    def __init__(self, port, n, source=None):
        super().__init__()
        self.port, self.n, self.source = port, n, source
        self.ok, self.secs, self.err = False, None, None

    def run(self):
        t0 = time.time()
        try:
            s = smtplib.SMTP("127.0.0.1", self.port, timeout=20,
                             source_address=(self.source, 0) if self.source else None)
            refused = s.sendmail("", ["bounces@bounce.example"],
                                 make_dsn("normal%d@dest.example" % self.n, 900 + self.n))
            s.quit()
            self.ok = refused == {}
        except (OSError, smtplib.SMTPException) as e:
            self.err = repr(e)
        self.secs = time.time() - t0


def read_until_closed(sock, limit):
    """Everything the server sends until it closes (or limit seconds pass)."""
    got = b""
    end = time.time() + limit
    while time.time() < end:
        r, _, _ = select.select([sock], [], [], 0.2)
        if r:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                return got, True
            if not chunk:
                return got, True
            got += chunk
    return got, False


def slowloris(port, data_phase, out, idx):
    """Trickle bytes; out[idx] = (seconds until the server closed, what it said, closed)."""
    c = Client(port, timeout=30)
    c.code()  # 220
    t0 = time.time()
    if data_phase:
        c.send("EHLO slow.example\r\n")
        c.code()
        c.send("MAIL FROM:<>\r\n")
        c.code()
        t0 = time.time()  # the transaction deadline runs from MAIL FROM
        c.send("RCPT TO:<bounces@bounce.example>\r\n")
        c.code()
        c.send("DATA\r\n")
        c.code()
        trickle = [b"x\r\n"] * 60
    else:
        trickle = [bytes([b]) for b in b"EHLO slow.example.without.end.of.line.ever" * 2]
    c.s.setblocking(False)
    said = b""
    closed = False
    for piece in trickle:
        try:
            c.s.send(piece)
        except (BrokenPipeError, ConnectionResetError, BlockingIOError):
            closed = True
        more, closed2 = read_until_closed(c.s, 1.0)
        said += more
        if closed or closed2:
            closed = True
            break
    out[idx] = (time.time() - t0, said.decode("utf-8", "replace"), closed)
    c.close()


def test_slowloris(d):
    for phase, deadline in ((False, CMD_DEADLINE), (True, TXN_DEADLINE)):
        out = [None]
        normal = Normal(d.port, 1 if phase else 0)
        t = threading.Thread(target=slowloris, args=(d.port, phase, out, 0))
        t.start()
        time.sleep(1)
        normal.start()
        normal.join()
        t.join()
        secs, said, closed = out[0]
        what = "data" if phase else "command"
        check(closed and "421 4.4.2" in said, "%s slowloris: 421 4.4.2 and closed (%r)" % (what, said))
        check(deadline - 0.5 <= secs <= deadline + 2.5,
              "%s slowloris cut at its deadline (%ds): after %.1f s" % (what, deadline, secs))
        check(normal.ok and normal.secs < 3,
              "a normal client is served meanwhile (%s, %.2f s)" % (normal.err, normal.secs or -1))
    # twenty at once, mixed, plus a normal client
    out = [None] * 20
    ts = [threading.Thread(target=slowloris, args=(d.port, i % 2 == 1, out, i)) for i in range(20)]
    for t in ts:
        t.start()
    time.sleep(1)
    normal = Normal(d.port, 2)
    normal.start()
    normal.join()
    for t in ts:
        t.join()
    check(all(o[2] and "421 4.4.2" in o[1] for o in out), "twenty slowloris all cut")
    check(max(o[0] for o in out) <= TXN_DEADLINE + 2.5,
          "all within their deadlines (longest %.1f s)" % max(o[0] for o in out))
    check(normal.ok and normal.secs < 3, "the normal client got its 250 among them (%.2f s)" % normal.secs)
    check("event=deadline" in d.logtext(), "the cut is logged (event=deadline)")


def connect_from(port, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    f = s.makefile("rb")
    return s, f.readline().decode("utf-8", "replace")


def test_per_ip_cap(d):
    held = [connect_from(d.port, "127.0.0.1") for _ in range(5)]
    check(all(g.startswith("220 ") for _, g in held), "five connections from 127.0.0.1 are greeted")
    s6, g6 = connect_from(d.port, "127.0.0.1")
    check(g6.startswith("421 4.7.0") and "from your address" in g6,
          "the sixth from the same address: 421 4.7.0 (%r)" % g6)
    s6.close()
    other = Normal(d.port, 3, source="127.0.0.2")
    other.start()
    other.join()
    check(other.ok, "a client from 127.0.0.2 is served meanwhile (%s)" % other.err)
    held[0][0].close()
    time.sleep(0.5)
    s7, g7 = connect_from(d.port, "127.0.0.1")
    check(g7.startswith("220 "), "a freed place is taken again (%r)" % g7)
    s7.close()
    for s, _ in held[1:]:
        s.close()
    check("reason=max_connections_per_ip" in d.logtext(), "the refusal is logged")


def test_data_past_size(d):
    before = d.spool_count("new") + d.spool_count("done") + d.spool_count("hold")
    c = Client(d.port)
    c.code()
    c.send("EHLO big.example\r\nMAIL FROM:<>\r\nRCPT TO:<bounces@bounce.example>\r\nDATA\r\n")
    for _ in range(4):
        c.code()
    line = b"Y" * 998 + b"\r\n"
    sent, said, closed = 0, b"", False
    c.s.setblocking(False)
    while sent < 8 * 1024 * 1024 and not closed:
        try:
            sent += c.s.send(line * 16)
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        more, closed2 = read_until_closed(c.s, 0.01)
        said += more
        closed = closed or closed2
        if b"552" in said:
            more, closed3 = read_until_closed(c.s, 3)
            said += more
            closed = closed or closed3
            break
    c.close()
    text = said.decode("utf-8", "replace")
    check(text.startswith("552 5.3.4"), "552 5.3.4 while the data is still coming (%r)" % text[:80])
    check(closed, "the connection is closed after the 552")
    check(sent < 2 * 1024 * 1024, "cut early: %d bytes sent of 8 MiB" % sent)
    time.sleep(0.5)
    after = d.spool_count("new") + d.spool_count("done") + d.spool_count("hold")
    check(after == before, "nothing spooled")


def main():
    d = Daemon(env={"BOUNCED_SMTP_COMMAND_DEADLINE": "%ds" % CMD_DEADLINE,
                    "BOUNCED_SMTP_TRANSACTION_DEADLINE": "%ds" % TXN_DEADLINE,
                    "BOUNCED_SMTP_IDLE_TIMEOUT": "60s",
                    "BOUNCED_SMTP_MAX_MESSAGE_SIZE": "20k"}, workers=1)
    try:
        d.start()
        test_slowloris(d)
        test_data_past_size(d)
    finally:
        d.cleanup()
    d = Daemon(env={"BOUNCED_SMTP_MAX_CONNECTIONS_PER_IP": "5",
                    "BOUNCED_SMTP_CONNECTION_LIMIT_EXEMPT": "192.0.2.0/24"}, workers=1)
    try:
        d.start()
        test_per_ip_cap(d)
    finally:
        d.cleanup()
    print("all ok")


if __name__ == "__main__":
    main()
