#!/usr/bin/env python3
"""The Debian package, built, checked, installed and started as an operator would.

1. dpkg-buildpackage -b builds bounced_*.deb from a copy of this tree (debian/, -j2);
2. lintian finds no error and no warning in it;
3. dpkg -i installs it into an empty temporary root (--root, maintainer scripts run
   chrootless with DPKG_ROOT, as debhelper's sysusers/tmpfiles snippets support): the
   binary, man pages, rules, /etc/bounced, the unit, logrotate, the system user bounced and
   /var/lib/bounced owned by it;
4. the unit's ExecStart line, paths moved into the root, runs as the unit's User= with what
   the unit grants and nothing more (setpriv: the uid/gid, no supplementary groups,
   AmbientCapabilities=CAP_NET_BIND_SERVICE as the only capability, NoNewPrivileges), with
   NOTIFY_SOCKET and WATCHDOG_USEC as systemd sets them: it must bind port 25 on loopback,
   send READY=1 and WATCHDOG=1, take a DSN on port 25 into its store, survive SIGHUP, and stop
   with STOPPING=1 and exit 0 on SIGTERM. Everything it made belongs to the user.
Needs root, dpkg-buildpackage, debhelper, lintian, setpriv; skips (77) without them.
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("BNC_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOMAIN = "bounces.example.com"
RCPT = "bounces+ana.silva=mail.example@" + DOMAIN


def skip(why):
    print("skip: " + why)
    sys.exit(77)


def fail(why, *logs):
    print("FAIL: " + why)
    for path in logs:
        if path and os.path.exists(path):
            print("---- %s ----" % path)
            with open(path, errors="replace") as f:
                print(f.read()[-4000:])
    sys.exit(1)


def run(cmd, log, timeout, **kw):
    with open(log, "w") as out:
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                              **kw).returncode


def build_package(t):
    """Copy the tree (no build/ output, no .git) and build the binary package in it."""
    tree = os.path.join(t, "src", "bounced")
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("build", ".git", "obj-*", "var"))
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2 nocheck noddebs")
    start = time.monotonic()
    rc = run(["dpkg-buildpackage", "-b", "-uc", "-us"], os.path.join(t, "build.log"), 480,
             cwd=tree, env=env)
    if rc != 0:
        fail("dpkg-buildpackage exited %d" % rc, os.path.join(t, "build.log"))
    debs = [f for f in os.listdir(os.path.join(t, "src")) if re.match(r"bounced_.*\.deb$", f)]
    if len(debs) != 1:
        fail("expected one bounced_*.deb, got %r" % debs)
    print("ok: package built in %.0f s: %s" % (time.monotonic() - start, debs[0]))
    return os.path.join(t, "src", debs[0])


def lint(t, deb):
    log = os.path.join(t, "lintian.log")
    rc = run(["lintian", "--fail-on", "error,warning", deb], log, 300)
    with open(log) as f:
        tags = [ln for ln in f.read().splitlines() if re.match(r"^[EW]: ", ln)]
    if rc != 0 or tags:
        fail("lintian: exit %d, %d errors/warnings" % (rc, len(tags)), log)
    print("ok: lintian finds no error or warning")


def install(t, deb):
    """An empty root with a dpkg database and the base accounts, then dpkg -i into it."""
    root = os.path.join(t, "root")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"):
        os.makedirs(os.path.join(root, d))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\nadm:x:4:\n")
    log = os.path.join(t, "dpkg.log")
    rc = run(["dpkg", "--root=" + root, "--force-script-chrootless", "--force-depends",
              "--log=" + os.path.join(t, "dpkg-status.log"), "-i", deb], log, 120)
    if rc != 0:
        fail("dpkg -i exited %d" % rc, log)
    print("ok: dpkg -i into %s" % root)
    return root


def account(root):
    with open(os.path.join(root, "etc/passwd")) as f:
        for line in f:
            p = line.rstrip("\n").split(":")
            if p[0] == "bounced":
                return int(p[2]), int(p[3]), p[5], p[6]
    fail("no user bounced in the root's /etc/passwd")


def check_files(root, uid):
    want = ["usr/bin/bounced", "usr/share/man/man1/bounced.1.gz",
            "usr/share/man/man5/bounced.conf.5.gz", "usr/share/bounced/default.rules",
            "etc/bounced/bounced.conf", "etc/bounced/bounced.conf.sample",
            "etc/logrotate.d/bounced", "lib/systemd/system/bounced.service"]
    for w in want:
        if not os.path.exists(os.path.join(root, w)):
            fail("%s missing from the installed package" % w)
    st = os.stat(os.path.join(root, "var/lib/bounced"))
    if st.st_uid != uid or st.st_mode & 0o007:
        fail("/var/lib/bounced: owner %d mode %o, want %d and no access for others" %
             (st.st_uid, st.st_mode & 0o777, uid))
    conf = os.stat(os.path.join(root, "etc/bounced/bounced.conf"))
    if conf.st_mode & 0o007:
        fail("bounced.conf is readable by everyone (mode %o)" % (conf.st_mode & 0o777))
    print("ok: files in place, /var/lib/bounced owned by uid %d, bounced.conf mode %o" %
          (uid, conf.st_mode & 0o777))


def unit_fields(root):
    fields = {}
    with open(os.path.join(root, "lib/systemd/system/bounced.service")) as f:
        for line in f:
            m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
            if m:
                fields.setdefault(m.group(1), []).append(m.group(2))
    for k, v in (("Type", "notify"), ("User", "bounced"),
                 ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"), ("NoNewPrivileges", "yes"),
                 ("ProtectSystem", "strict"), ("SystemCallFilter", "@system-service")):
        if v not in fields.get(k, []):
            fail("bounced.service: %s=%s missing" % (k, v))
    if not fields.get("WatchdogSec") or not fields.get("ReadWritePaths"):
        fail("bounced.service: WatchdogSec= or ReadWritePaths= missing")
    return fields


def smtp_port():
    """Port 25 on loopback; if another MTA holds it, another port below 1024 (still one that
    only CAP_NET_BIND_SERVICE may bind)."""
    for port in [25] + list(range(1023, 900, -1)):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    fail("no free port below 1024 on loopback")


def notify_socket(t):
    path = os.path.join(t, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(0.2)
    return s, path


def read_notify(sock, got):
    try:
        while True:
            msg = sock.recv(4096).decode(errors="replace")
            got.extend(msg.splitlines())
    except socket.timeout:
        pass


def service_command(root, fields, uid, gid):
    """ExecStart of the unit, paths moved into root, under setpriv as User= with exactly the
    unit's capability (ambient, inheritable, bounding) and no new privileges."""
    argv = fields["ExecStart"][0].split()
    argv = [root + a if a.startswith(("/usr/", "/etc/")) else a for a in argv]
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups",
            "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
            "--bounding-set=-all,+net_bind_service", "--no-new-privs", "--"] + argv


def service_env(root, port, notify):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCED_")}
    var = os.path.join(root, "var")
    env.update({
        "NOTIFY_SOCKET": notify, "WATCHDOG_USEC": "400000", "HOME": "/nonexistent",
        "BOUNCED_SMTP_LISTEN": "127.0.0.1:%d" % port, "BOUNCED_HTTP_LISTEN": "127.0.0.1:0",
        "BOUNCED_SMTP_DOMAINS": DOMAIN,
        "BOUNCED_STORE_URL": os.path.join(var, "lib/bounced/bounced.db"),
        "BOUNCED_SPOOL_DIR": os.path.join(var, "lib/bounced/spool"),
        "BOUNCED_RULES_DIR": os.path.join(root, "etc/bounced/rules.d"),
        "BOUNCED_RULES_CACHE_DIR": os.path.join(var, "cache/bounced"),
    })
    return env


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def wait_ready(proc, sock, got, logs):
    deadline = time.monotonic() + 120
    while "READY=1" not in got:
        if proc.poll() is not None:
            fail("the service exited %d before READY=1" % proc.returncode, *logs)
        if time.monotonic() > deadline:
            fail("no READY=1 within 120 s", *logs)
        read_notify(sock, got)


def deliver_dsn(port, db, logs):
    with open(os.path.join(SRC, "examples", "postfix-user-unknown.eml"), "rb") as f:
        msg = f.read()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail("<>", [RCPT], msg)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            c = sqlite3.connect(db, timeout=5)
            row = c.execute("select kind, reason from bounce_events where recipient = "
                            "'ana.silva@mail.example'").fetchone()
            c.close()
            if row:
                return row
        except sqlite3.Error:
            pass
        time.sleep(0.3)
    fail("the DSN sent to port %d never reached the store" % port, *logs)


def check_owned(path, uid):
    for d, dirs, files in os.walk(path):
        for n in dirs + files:
            st = os.lstat(os.path.join(d, n))
            if st.st_uid != uid:
                fail("%s belongs to uid %d, not to bounced (%d)" % (os.path.join(d, n),
                                                                     st.st_uid, uid))


def start_and_check(t, root, fields, uid, gid):
    port = smtp_port()
    sock, notify = notify_socket(t)
    env = service_env(root, port, notify)
    cmd = service_command(root, fields, uid, gid)
    doc_log = os.path.join(t, "doctor.log")
    if run(cmd[:-1] + ["doctor", "--offline"], doc_log, 180, env=env) != 0:
        fail("bounced doctor, as the unit's user, finds a problem", doc_log)
    print("ok: bounced doctor as the service user: no problem")
    out, err = os.path.join(t, "serve.out"), os.path.join(t, "serve.log")
    logs = (out, err)
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe)
    got = []
    try:
        wait_ready(proc, sock, got, logs)
        st = proc_status(proc.pid)
        if st["Uid"].split()[:3] != [str(uid)] * 3 or int(st["CapEff"], 16) != 1 << 10:
            fail("running as Uid %s CapEff %s; want uid %d and CAP_NET_BIND_SERVICE only" %
                 (st["Uid"], st["CapEff"], uid), *logs)
        print("ok: READY=1; uid %d, the one capability CAP_NET_BIND_SERVICE, SMTP on "
              "127.0.0.1:%d" % (uid, port))
        kind, reason = deliver_dsn(port, env["BOUNCED_STORE_URL"], logs)
        if (kind, reason) != ("hard", "userunknown"):
            fail("verdict %s/%s, want hard/userunknown" % (kind, reason), *logs)
        print("ok: a DSN on port %d became a hard userunknown verdict" % port)
        time.sleep(0.5)
        read_notify(sock, got)
        if got.count("WATCHDOG=1") < 2:
            fail("WATCHDOG=1 sent %d times" % got.count("WATCHDOG=1"), *logs)
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        if proc.poll() is not None:
            fail("SIGHUP stopped the service", *logs)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        read_notify(sock, got)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc != 0 or "STOPPING=1" not in got:
        fail("SIGTERM: exit %d, STOPPING=1 %s" % (rc, "sent" if "STOPPING=1" in got else
                                                  "not sent"), *logs)
    print("ok: WATCHDOG=1 x%d, SIGHUP reload, SIGTERM: STOPPING=1 and exit 0" %
          got.count("WATCHDOG=1"))
    check_owned(os.path.join(root, "var/lib/bounced"), uid)
    check_owned(os.path.join(root, "var/cache/bounced"), uid)
    print("ok: everything under /var/lib/bounced and /var/cache/bounced belongs to bounced")


def main():
    if os.geteuid() != 0:
        skip("installing a package and binding port 25 need root")
    for tool in ("dpkg-buildpackage", "dh", "lintian", "setpriv", "systemd-sysusers",
                 "systemd-tmpfiles"):
        if shutil.which(tool) is None:
            skip("%s is not installed (scripts/deps.sh)" % tool)
    t = tempfile.mkdtemp(prefix="bnc-deb-")
    os.chmod(t, 0o755)
    try:
        deb = build_package(t)
        lint(t, deb)
        root = install(t, deb)
        uid, gid, home, shell = account(root)
        if home != "/var/lib/bounced" or not shell.endswith("nologin") or uid == 0:
            fail("user bounced: uid %d home %s shell %s" % (uid, home, shell))
        print("ok: system user bounced, uid %d, home %s, shell %s" % (uid, home, shell))
        check_files(root, uid)
        fields = unit_fields(root)
        start_and_check(t, root, fields, uid, gid)
    finally:
        if not os.environ.get("BNC_KEEP_TMP"):
            shutil.rmtree(t, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
