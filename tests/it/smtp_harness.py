"""Helpers for the daemon's end-to-end tests (test_smtp*.py, test_crash*.py, bench/run_smtp.sh):
start `bounced serve` on loopback in a temporary directory, build DSNs, query the store.
Stdlib only. Everything binds 127.0.0.1 and port 0 (the daemon prints the port it got)."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SKIP = 77


def bounced_bin():
    b = os.environ.get("BOUNCED_BIN")
    if not b:
        d = os.environ.get("BNC_BUILD_DIR")
        if d:
            b = os.path.join(d, "bounced")
    if not b or not os.access(b, os.X_OK):
        print("skip: BOUNCED_BIN not set or not executable")
        sys.exit(SKIP)
    return os.path.abspath(b)


def make_dsn(rcpt, n, status="5.1.1", diag=None, reporting="mta.example", returned=True):
    """An RFC 3464 DSN for one failed recipient; n makes the Message-ID unique. returned=False
    leaves out the returned message's headers (no original Message-ID to go by)."""
    if diag is None:
        diag = "550 %s <%s>: Recipient address rejected: User unknown in local recipient table" % (
            status,
            rcpt,
        )
    return (
        "From: MAILER-DAEMON@{rep}\r\n"
        "To: bounces@bounce.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Mon, 23 Nov 2026 01:00:00 +0000\r\n"
        "Message-ID: <dsn-{n}@{rep}>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b{n}"\r\n'
        "\r\n"
        "--b{n}\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Your message could not be delivered to one or more recipients.\r\n"
        ".a line that starts with a dot\r\n"
        "\r\n"
        "--b{n}\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; {rep}\r\n"
        "Arrival-Date: Mon, 23 Nov 2026 00:59:00 +0000\r\n"
        "\r\n"
        "Final-Recipient: rfc822; {rcpt}\r\n"
        "Action: failed\r\n"
        "Status: {status}\r\n"
        "Diagnostic-Code: smtp; {diag}\r\n"
        "\r\n"
        "{returned}"
        "--b{n}--\r\n"
    ).format(rcpt=rcpt, n=n, status=status, diag=diag, rep=reporting,
             returned=("--b{n}\r\n"
                       "Content-Type: text/rfc822-headers\r\n"
                       "\r\n"
                       "From: news@sender.example\r\n"
                       "To: {rcpt}\r\n"
                       "Subject: our newsletter\r\n"
                       "Message-ID: <orig-{n}@sender.example>\r\n"
                       "\r\n").format(n=n, rcpt=rcpt) if returned else "")


def query(db, sql, args=()):
    """Rows of one SQL statement on the SQLite store db."""
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


class Daemon:
    """One `bounced serve` with its own store and spool under a temporary directory."""

    def __init__(self, tmp=None, args=(), env=None, lmtp=None, workers=None,
                 domains="bounce.example,Bounce2.example", config=None):
        self.bin = bounced_bin()
        self.own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="bnc-it-")
        self.db = os.path.join(self.tmp, "bounced.db")
        self.spool = os.path.join(self.tmp, "spool")
        self.log = os.path.join(self.tmp, "serve.log")
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.pop("BOUNCED_NOW", None)
        self.env.update(env or {})
        self.lmtp = lmtp
        self.workers = workers
        self.domains = domains
        self.config = config
        self.proc = None
        self.port = None
        self.http = None

    def start(self, timeout=180):
        cmd = [self.bin]
        if self.config:
            cmd += ["--config", self.config]
        cmd += ["--db", self.db, "serve", "--smtp", "127.0.0.1:0", "--http", "", "--spool", self.spool,
                "--hostname", "mx.test"]
        if self.domains is not None:
            cmd += ["--domains", self.domains]
        if self.lmtp:
            cmd += ["--lmtp", self.lmtp]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        cmd += self.args
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=logf, env=self.env, cwd=self.tmp
        )
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode("utf-8", "replace")
            if not line:
                break
            m = re.search(r"SMTP on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                h = re.search(r"HTTP on ([0-9.]+:\d+)", line)
                self.http = h.group(1) if h else None
                return self
        self.kill()
        raise RuntimeError("serve did not start; log:\n" + self.logtext())

    def logtext(self):
        try:
            with open(self.log, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise RuntimeError("serve did not stop within %ss" % timeout)
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None

    def cleanup(self):
        self.kill()
        if self.own_tmp and not os.environ.get("BNC_KEEP_TMP"):
            subprocess.call(["rm", "-rf", self.tmp])

    def q(self, sql, args=()):
        return query(self.db, sql, args)

    def spool_count(self, sub):
        try:
            return len([n for n in os.listdir(os.path.join(self.spool, sub))
                        if not n.startswith(".") and not n.endswith(".reason")])
        except FileNotFoundError:
            return 0

    def wait_drained(self, expect_ingested=None, timeout=120):
        """Until spool/new is empty (and, if given, ingested has that many rows)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.spool_count("new") == 0:
                if expect_ingested is None:
                    return True
                if self.q("select count(*) from ingested")[0][0] >= expect_ingested:
                    return True
            time.sleep(0.1)
        return False


class Client:
    """A raw SMTP client: send bytes, read replies (multi-line aware)."""

    def __init__(self, port, host="127.0.0.1", timeout=20, family=socket.AF_INET, path=None):
        if path:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(timeout)
            self.s.connect(path)
        else:
            self.s = socket.create_connection((host, port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                break
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        return lines

    def code(self):
        r = self.reply()
        return int(r[-1][:3]) if r else 0, r

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass


def dot_stuff(msg):
    out = []
    for line in msg.split("\r\n"):
        out.append("." + line if line.startswith(".") else line)
    return "\r\n".join(out)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def run_daemon_test(d, body, tail=3000):
    """Run body(d) against a started Daemon, stop it cleanly, print the serve log's tail when
    anything fails, and always clean up."""
    try:
        body(d)
        check(d.stop() == 0, "clean exit")
    except Exception:
        print("---- serve log (tail) ----")
        print(d.logtext()[-tail:])
        raise
    finally:
        d.cleanup()
    print("PASS")


class Cli:
    """`bounced --db DB ...` on a store in a temporary directory of its own."""

    def __init__(self, prefix="bnc-cli-"):
        self.bin = bounced_bin()
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.db = os.path.join(self.tmp, "b.db")

    def run(self, *args, timeout=120):
        return subprocess.run([self.bin, "--db", self.db] + list(args), capture_output=True,
                              text=True, timeout=timeout)

    def write(self, name, text):
        """Write text (UTF-8) to a file of the temporary directory; returns its path."""
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def q(self, sql, args=()):
        return query(self.db, sql, args)

    def cleanup(self):
        if not os.environ.get("BNC_KEEP_TMP"):
            subprocess.call(["rm", "-rf", self.tmp])
