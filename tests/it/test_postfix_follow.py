#!/usr/bin/env python3
"""A real Postfix writing the maillog that `bounced serve` follows: a private Postfix
instance (its own config_directory, queue and maillog_file under a temp dir; nothing
system-wide is touched) relays to a loopback SMTP server that refuses some recipients with
550 5.1.1, so Postfix's smtp(8) logs status=bounced: a synchronous bounce that exists only
in the log. bounced follows that log ([logs.postfix]); the bounce must land once, with the
original Message-ID from cleanup's line, across `postfix logrotate` (rename + gzip, as
Postfix rotates its own maillog_file) and a kill -9 of serve.
Gated like test_postfix.sh: BNC_TEST_POSTFIX=1, Postfix installed, root."""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from it_util import check, failures

if os.environ.get("BNC_TEST_POSTFIX") != "1":
    print("skip: set BNC_TEST_POSTFIX=1 to run the Postfix test")
    sys.exit(77)
if not os.access("/usr/sbin/postfix", os.X_OK) or not os.access("/usr/sbin/sendmail", os.X_OK):
    print("skip: Postfix is not installed (scripts/deps.sh with BNC_DEPS_OPTIONAL=1)")
    sys.exit(77)
if os.getuid() != 0:
    print("skip: starting a Postfix instance needs root")
    sys.exit(77)
BIN = os.path.abspath(os.environ.get("BOUNCED_BIN", "build/dev/bounced"))


def sink(srv):
    """An SMTP server that refuses every recipient whose local part starts with "gone"."""
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        f = conn.makefile("rwb")

        def say(s):
            f.write(s.encode() + b"\r\n")
            f.flush()
        say("220 remote.example ESMTP sink")
        data = False
        for raw in f:
            line = raw.decode("latin-1").rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    say("250 2.0.0 queued")
                continue
            cmd = line[:4].upper()
            if cmd in ("EHLO", "HELO"):
                say("250 remote.example")
            elif cmd == "RCPT":
                addr = line[line.find("<") + 1:line.find(">")]
                if addr.startswith("gone"):
                    say("550 5.1.1 <%s>: Recipient address rejected: User unknown" % addr)
                else:
                    say("250 2.1.5 ok")
            elif cmd == "DATA":
                data = True
                say("354 go on")
            elif cmd == "QUIT":
                say("221 bye")
                break
            else:
                say("250 ok")
        conn.close()


T = tempfile.mkdtemp(prefix="bnc-pf-follow-")
os.chmod(T, 0o755)
PF = os.path.join(T, "conf")
LOG = os.path.join(T, "maillog")
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
threading.Thread(target=sink, args=(srv,), daemon=True).start()
sink_port = srv.getsockname()[1]


def postfix(*args):
    return subprocess.run(["/usr/sbin/postfix", "-c", PF] + list(args), capture_output=True,
                          text=True)


def start_postfix():
    os.makedirs(PF)
    os.makedirs(os.path.join(T, "queue"))
    os.makedirs(os.path.join(T, "data"))
    shutil.chown(os.path.join(T, "data"), "postfix")
    with open("/etc/postfix/master.cf") as src, open(os.path.join(PF, "master.cf"), "w") as dst:
        for line in src:
            if line.startswith("smtp      inet"):
                line = "#" + line
            parts = line.split()
            if len(parts) > 4 and not line.startswith("#") and parts[4] == "y":
                parts[4] = "n"  # no chroot: the queue is under a temp dir
                line = " ".join(parts) + "\n"
            dst.write(line)
    with open(os.path.join(PF, "main.cf"), "w") as f:
        f.write("\n".join([
            "compatibility_level = 3.6", "queue_directory = %s/queue" % T,
            "data_directory = %s/data" % T, "myhostname = postfix.test",
            "mydomain = postfix.test", "myorigin = postfix.test", "mydestination = localhost",
            "inet_interfaces = loopback-only", "inet_protocols = ipv4", "alias_maps =",
            "alias_database =", "relayhost =",
            "transport_maps = inline:{ remote.example=smtp:[127.0.0.1]:%d, "
            "sender.example=discard: }" % sink_port,
            "smtp_dns_support_level = disabled", "smtp_tls_security_level = none",
            "maillog_file = %s" % LOG, "maillog_file_prefixes = %s" % T,
            "syslog_name = postfix-bnc-follow", "biff = no", "delay_warning_time = 0", ""]))
    r = postfix("start")
    if r.returncode != 0:
        sys.exit("postfix start: " + r.stdout + r.stderr)


def send(rcpt, msgid):
    msg = ("From: news@sender.example\nTo: %s\nSubject: newsletter\nMessage-ID: <%s>\n\nHi.\n"
           % (rcpt, msgid))
    subprocess.run(["/usr/sbin/sendmail", "-C", PF, "-f", "news@sender.example", rcpt],
                   input=msg, text=True, check=True)


class Serve:
    def __init__(self):
        self.db = os.path.join(T, "b.db")
        self.conf = os.path.join(T, "b.conf")
        with open(self.conf, "w") as f:
            f.write("[smtp]\nlisten =\n[http]\nlisten =\n[spool]\ndir = %s/spool\nworkers = 1\n"
                    "[logs.postfix]\npath = %s\nformat = maillog\n" % (T, LOG))
        self.p = None

    def start(self):
        self.p = subprocess.Popen([BIN, "--config", self.conf, "--db", self.db, "serve"],
                                  stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(T, "serve.log"), "a"))

    def events(self, rcpt):
        try:
            c = sqlite3.connect(self.db, timeout=10)
            rows = c.execute("SELECT kind, status, original_message_id FROM bounce_events "
                             "WHERE recipient = ?", (rcpt,)).fetchall()
            c.close()
            return rows
        except sqlite3.Error:
            return []


def wait_for(cond, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.25)
    return False


sv = Serve()
try:
    start_postfix()
    sv.start()
    sent = []
    for step in ("first", "after logrotate", "after kill -9 and logrotate"):
        n = len(sent) + 1
        rcpt, msgid = "gone%d@remote.example" % n, "pf-follow-%d-%d@sender.example" % (n, os.getpid())
        if step == "after logrotate":
            check(postfix("logrotate").returncode == 0, "postfix logrotate")
        if step.startswith("after kill"):
            sv.p.send_signal(signal.SIGKILL)
            sv.p.wait()
        send(rcpt, msgid)
        sent.append((rcpt, msgid))
        if step.startswith("after kill"):
            wait_for(lambda: os.path.exists(LOG) and rcpt in open(LOG).read(), 60)
            check(postfix("logrotate").returncode == 0, "postfix logrotate while serve is down")
            sv.start()
        ok = wait_for(lambda: len(sv.events(rcpt)) > 0)
        check(ok and sv.events(rcpt)[0] == ("hard", "5.1.1", msgid),
              "%s: Postfix's logged bounce of %s applied (%s)" % (step, rcpt, sv.events(rcpt)))
    rotated = [f for f in os.listdir(T) if f.startswith("maillog.")]
    check(any(f.endswith(".gz") for f in rotated), "Postfix rotated and gzipped its log: %s"
          % rotated)
    time.sleep(2)
    check(all(len(sv.events(r)) == 1 for r, _ in sent), "every bounce applied exactly once")
finally:
    if sv.p is not None and sv.p.poll() is None:
        sv.p.terminate()
        sv.p.wait(timeout=30)
    postfix("stop")
    time.sleep(1)
    postfix("abort")
    srv.close()
    if failures:
        for name in ("maillog", "serve.log"):
            p = os.path.join(T, name)
            if os.path.exists(p):
                print("---- %s ----\n%s" % (name, open(p).read()[-3000:]))
    if not os.environ.get("BNC_KEEP_TMP"):
        shutil.rmtree(T, ignore_errors=True)
print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
