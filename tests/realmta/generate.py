#!/usr/bin/python3
"""Bounce factory: real MTAs from Debian write tests/corpus/realmta, expected verdicts by
construction from the reply catalogue.

usage: generate.py [--out DIR] [--keep] [--only MTA,...] [--cache DIR]

Outside: installs the shared libraries the MTAs need (apt-get), downloads the MTA packages
(apt-get download) into the cache and unpacks each into a root of its own (dpkg-deb -x),
creates the system users the MTAs run as, then runs itself again inside new network, mount
and PID namespaces (unshare): the only interface there is loopback, so nothing the MTAs do
can leave the machine, and every process started dies with the namespace.

Inside: each MTA, the resolver (unbound) and the mail store (Dovecot LMTP) runs in a mount
namespace of its own where its unpacked package is overlaid on /usr and /etc and /var/spool
is a private tmpfs, so it runs from the paths it was built for with a private config and
spool.  The fake remote server (fakesmtp.py) answers on 127.1.x.y:25, one address per
catalogue entry; the MTAs find it through MX records in the private zone.  Bounces come
back to the same server as mail for bounce.test and are written to the corpus.
"""
import argparse
import asyncio
import email
import email.policy
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import fakesmtp  # noqa: E402

MTAS = ["postfix", "exim", "opensmtpd", "sendmail", "dma"]
ROOTS = {
    "postfix": ["postfix"],
    "exim": ["exim4-base", "exim4-daemon-light"],
    "opensmtpd": ["opensmtpd"],
    "sendmail": ["sendmail-bin", "sendmail-base", "sendmail-cf"],
    "dma": ["dma"],
    "dovecot": ["dovecot-core", "dovecot-lmtpd"],
    "unbound": ["unbound"],
}
# the packages' Depends minus the mail-transport-agent ones: installed normally
LIBDEPS = ("libdb5.3 libicu72 libnsl2 libsasl2-2 libssl3 libcrypt1 libgnutls-dane0 libgnutls30 "
           "libidn12 libidn2-0 libpcre2-8-0 libevent-2.1-7 libpam0g zlib1g libldap-2.5-0 "
           "liblockfile1 libwrap0 m4 libapparmor1 libbz2-1.0 libcap2 libexttextcat-2.0-0 "
           "liblua5.4-0 liblz4-1 liblzma5 libsodium23 libstemmer0d libsystemd0 libtirpc3 "
           "libunwind8 libzstd1 libnghttp2-14 libprotobuf-c1 libpython3.11 util-linux").split()
USERS = [("postfix", None), ("Debian-exim", None), ("opensmtpd", None), ("opensmtpq", None),
         ("smmsp", None), ("dovecot", None), ("dovenull", None), ("vmail", None),
         ("unbound", None)]
GROUPS = ["postdrop", "mail"]

PORTS = {"postfix": 10025, "exim": 10026, "opensmtpd": 10027, "sendmail": 10028}
LIFETIME = 150          # seconds a deferred message stays queued
WARN = 50               # delay-notice time
RESOLVER = "127.0.0.53"
RCPT_IP = "127.0.1.1"   # rcpt.test: multi-recipient cases
CATCH_IP = "127.0.2.1"  # bounce.test: the catcher
REFUSED_IP = "127.0.9.1"
DEADNS_IP = "127.0.9.9"
LMTP = ("127.0.0.1", 24)

# delay notices kept in the corpus (one per case; other delay notices are dropped)
KEEP_DELAYED = {"dns-servfail", "conn-refused", "local-pipe-tempfail"}
DELAYED_REASON = {"dns-servfail": "networkerror", "conn-refused": "networkerror",
                  "local-pipe-tempfail": "mailererror"}

# what each MTA cannot produce (README.md says why)
LOCAL_CASES = {
    "postfix": ["local-nosuchuser", "local-overquota", "local-aliasloop", "local-pipe-fail",
                "local-pipe-tempfail", "dns-nxdomain", "dns-nomx-noa", "dns-nullmx",
                "dns-servfail", "conn-refused"],
    "exim": ["local-nosuchuser", "local-overquota", "local-aliasloop", "local-pipe-fail",
             "local-pipe-tempfail", "dns-nxdomain", "dns-nomx-noa", "dns-nullmx",
             "dns-servfail", "conn-refused"],
    "opensmtpd": ["local-pipe-fail", "conn-refused"],
    "sendmail": ["local-nosuchuser", "local-aliasloop", "local-pipe-fail",
                 "local-pipe-tempfail", "dns-nxdomain", "dns-nomx-noa", "dns-nullmx",
                 "dns-servfail", "conn-refused"],
    "dma": ["local-nosuchuser", "dns-nxdomain", "dns-nomx-noa"],
}
LOCAL_RCPT = {
    "local-nosuchuser": "nosuchuser@local.test",
    "local-overquota": "full@quota.test",
    "local-aliasloop": "loopa@local.test",
    "local-pipe-fail": "pipefail@local.test",
    "local-pipe-tempfail": "pipetemp@local.test",
    "dns-nxdomain": "user@nxdomain.dns.test",
    "dns-nomx-noa": "user@nomx.dns.test",
    "dns-nullmx": "user@nullmx.dns.test",
    "dns-servfail": "user@servfail.dns.test",
    "conn-refused": "user@refused.dns.test",
}


def log(*a):
    print("realmta:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- catalogue and cases

def read_catalogue(path):
    rows = []
    with open(path, encoding="utf-8") as fh:
        hdr = None
        for line in fh:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            f = line.split("\t")
            if hdr is None:
                hdr = f
                continue
            r = dict(zip(hdr, f + [""] * (len(hdr) - len(f))))
            r["file"] = os.path.basename(path)
            rows.append(r)
    return rows


def load_entries():
    entries = {}
    for name in ("catalogue.tsv", "catalogue-local.tsv"):
        p = os.path.join(HERE, name)
        if not os.path.exists(p):
            continue
        for r in read_catalogue(p):
            i = r["id"].strip().lower()
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", i) or i in entries:
                log("catalogue %s: skipping id %r (not a unique lower-case slug)" % (name, i))
                continue
            if r["stage"] not in ("greeting", "helo", "mail", "rcpt", "data", "eod", "drop",
                                  "local", "dns", "conn"):
                log("catalogue %s: %s: unknown stage %r" % (name, i, r["stage"]))
                continue
            r["id"] = i
            entries[i] = r
    return entries


def pick(i, n):
    """Deterministic subset independent of the catalogue's order or size."""
    return zlib.crc32(i.encode()) % n == 0


def remote_subset(mta, e):
    code = fakesmtp.reply_code(e["reply"])
    if mta in ("postfix", "exim"):
        return True
    if mta in ("opensmtpd", "sendmail"):
        return pick(e["id"], 3) or e["stage"] in ("drop", "data")
    if mta == "dma":
        # dma retries a temporary failure for days: only permanent replies bounce in time
        return code.startswith("5") and pick(e["id"], 3)
    return False


# The multi-recipient messages to rcpt.test: permanent RCPT refusals of different causes in
# one message (plus one accepted recipient). The rows are named, not derived from the
# catalogue's reasons, so that relabelling a row leaves the generated messages as they are.
MULTI = (("multi-1", ("barracuda-reputation", "postfix-rcpt-smtputf8")),
         ("multi-2", ("interia-not-want", "rcpt-551-not-local",
                      "postfix-rcpt-domain-notfound-5xx")))


def multi_cases(entries):
    """The MULTI cases whose rows are all in the catalogue as permanent rcpt refusals."""
    out = []
    for name, ids in MULTI:
        if all(i in entries and entries[i]["stage"] == "rcpt"
               and fakesmtp.reply_code(entries[i]["reply"]).startswith("5") for i in ids):
            out.append((name, list(ids)))
    return out


def conn_domain(i):
    return "%s.rt.test" % i


def build_cases(entries):
    cases = {m: [] for m in MTAS}
    remote = sorted(i for i, e in entries.items() if e["file"] == "catalogue.tsv")
    for m in MTAS:
        for i in remote:
            e = entries[i]
            if remote_subset(m, e):
                cases[m].append({"name": i, "rcpts": ["%s@%s" % (i, conn_domain(i))], "ids": [i]})
        for i in LOCAL_CASES[m]:
            if i in entries:
                cases[m].append({"name": i, "rcpts": [LOCAL_RCPT[i]], "ids": [i]})
        if m != "dma":
            for name, ids in multi_cases(entries):
                cases[m].append({"name": name, "rcpts": ["%s@rcpt.test" % i for i in ids]
                                 + ["ok@rcpt.test"], "ids": ids})
    return cases


# ---------------------------------------------------------------- outside: packages, users

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def prepare(cache):
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    missing = [p for p in LIBDEPS if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout
        != "install ok installed"]
    pkgs = [p for ps in ROOTS.values() for p in ps]
    need = [p for p in pkgs if not [f for f in os.listdir(debs) if f.startswith(p + "_")]]
    if missing or need:
        run(["apt-get", "update", "-qq"])
    if missing:
        log("installing libraries:", " ".join(missing))
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if need:
        log("downloading:", " ".join(need))
        run(["apt-get", "download"] + need, cwd=debs, stderr=subprocess.DEVNULL)
    for name, ps in ROOTS.items():
        files = sorted(f for f in os.listdir(debs) for p in ps if f.startswith(p + "_"))
        root = os.path.join(cache, "root", name)
        stamp = os.path.join(root, ".stamp")
        if os.path.exists(stamp) and open(stamp).read() == "\n".join(files):
            continue
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        for f in files:
            run(["dpkg-deb", "-x", os.path.join(debs, f), root])
        with open(stamp, "w") as fh:
            fh.write("\n".join(files))
    for g in GROUPS:
        if subprocess.run(["getent", "group", g], capture_output=True).returncode:
            run(["groupadd", "--system", g])
    for u, _ in USERS:
        if subprocess.run(["getent", "passwd", u], capture_output=True).returncode:
            run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", "--user-group", u])


def versions(cache):
    out = {}
    for name, ps in ROOTS.items():
        d = os.path.join(cache, "debs")
        for f in sorted(os.listdir(d)):
            if f.startswith(ps[-1] + "_"):
                out[name] = f.split("_")[1].replace("%3a", ":")
    return out


# ---------------------------------------------------------------- inside: namespaces

class Box:
    """A mount namespace where ROOT's /usr and /etc are overlaid on the system's."""

    def __init__(self, name, cache, tmp, etc_files, spool_dirs=()):
        self.name = name
        self.root = os.path.join(cache, "root", name)
        self.dir = os.path.join(tmp, name)
        self.procs = []
        up = os.path.join(self.dir, "etc.u")
        for d in ("etc.w", "lib.u", "lib.w"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        for rel, (text, mode) in etc_files.items():
            p = os.path.join(up, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as fh:
                fh.write(text)
            os.chmod(p, mode)
        mk = " ".join("'/var/spool/%s'" % d for d in spool_dirs)
        usr = "%s/usr:/usr" % self.root
        etc = "%s/etc:/etc" % self.root if os.path.isdir(self.root + "/etc") else "/etc"
        lib = "%s/var/lib:/var/lib" % self.root if os.path.isdir(self.root + "/var/lib") else "/var/lib"
        script = (
            "set -e; mount -t overlay overlay -o lowerdir=%s /usr; "
            "mount -t overlay overlay -o lowerdir=%s,upperdir=%s/etc.u,workdir=%s/etc.w /etc; "
            "mount -t overlay overlay -o lowerdir=%s,upperdir=%s/lib.u,workdir=%s/lib.w /var/lib; "
            "mkdir -p /var/lib/opensmtpd/empty; "
            "mount -t tmpfs -o mode=755 tmpfs /var/spool; mount -t tmpfs -o mode=1777 tmpfs /var/mail; "
            "mount -t tmpfs -o mode=755 tmpfs /run; %s touch %s/ready; exec sleep 100000"
            % (usr, etc, self.dir, self.dir, lib, self.dir, self.dir, ("mkdir -p %s;" % mk) if mk else "", self.dir))
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                        "sh", "-c", script])
        for _ in range(100):
            if os.path.exists(self.dir + "/ready"):
                break
            if self.holder.poll() is not None:
                raise RuntimeError("%s: namespace setup failed" % name)
            time.sleep(0.05)

    def cmd(self, argv):
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + argv

    def run(self, argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.STDOUT)
        r = subprocess.run(self.cmd(argv), text=True, **kw)
        if r.returncode:
            log("%s: %s exited %d: %s" % (self.name, " ".join(argv), r.returncode, r.stdout))
        return r

    def spawn(self, argv, logname):
        fh = open(os.path.join(self.dir, logname), "w")
        p = subprocess.Popen(self.cmd(argv), stdout=fh, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs + [self.holder]:
            try:
                os.killpg(p.pid, signal.SIGTERM) if p is not self.holder else p.terminate()
            except ProcessLookupError:
                pass


def common_etc(host):
    return {
        "resolv.conf": ("nameserver %s\noptions timeout:2 attempts:2\n" % RESOLVER, 0o644),
        "hosts": ("127.0.0.1\tlocalhost %s\n" % host, 0o644),
        "hostname": ("%s\n" % host, 0o644),
        "mailname": ("%s\n" % host, 0o644),
    }


def zone(entries, conn_ips):
    z = ['local-zone: "test." static']
    def mx(dom, ip):
        z.append('local-data: "%s. 300 IN MX 10 mx.%s."' % (dom, dom))
        z.append('local-data: "mx.%s. 300 IN A %s"' % (dom, ip))
    for ip, i in sorted(conn_ips.items()):
        mx(conn_domain(i), ip)
    mx("rcpt.test", RCPT_IP)
    mx("bounce.test", CATCH_IP)
    mx("refused.dns.test", REFUSED_IP)
    z.append('local-data: "nomx.dns.test. 300 IN TXT \\"no mail host here\\""')
    z.append('local-data: "nullmx.dns.test. 300 IN MX 0 ."')
    z.append('local-zone: "servfail.dns.test." transparent')
    for m in MTAS:
        z.append('local-data: "%s.mta.test. 300 IN A 127.0.0.1"' % m)
    return "\n".join("    " + l for l in z)


def unbound_box(cache, tmp, entries, conn_ips):
    conf = """server:
    interface: %s
    port: 53
    username: ""
    chroot: ""
    directory: "/etc/unbound"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    infra-host-ttl: 1
    module-config: "iterator"
    trust-anchor-signaling: no
%s
stub-zone:
    name: "servfail.dns.test."
    stub-addr: %s@53
""" % (RESOLVER, zone(entries, conn_ips), DEADNS_IP)
    b = Box("unbound", cache, tmp, {"unbound/unbound.conf": (conf, 0o644)})
    b.spawn(["/usr/sbin/unbound", "-d", "-c", "/etc/unbound/unbound.conf"], "unbound.log")
    return b


def dovecot_box(cache, tmp):
    conf = """protocols = lmtp
listen = 127.0.0.1
base_dir = /run/dovecot
state_dir = /var/spool/dovecot-state
log_path = /var/spool/dovecot.log
ssl = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:/var/spool/vmail/%n
first_valid_uid = 1
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=/var/spool/vmail/%n
}
mail_plugins = quota
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1k
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = 24
  }
}
lmtp_rcpt_check_quota = no
"""
    b = Box("dovecot", cache, tmp, {"dovecot/dovecot.conf": (conf, 0o644)},
            ["vmail", "dovecot-state"])
    b.run(["chown", "vmail:vmail", "/var/spool/vmail"])
    b.spawn(["/usr/sbin/dovecot", "-F", "-c", "/etc/dovecot/dovecot.conf"], "dovecot.log")
    return b


ALIASES = {
    "postmaster": "root",
    "loopa": "loopb@local.test",
    "loopb": "loopa@local.test",
    "pipefail": '"|/bin/sh -c \'exit 1\'"',
    "pipetemp": '"|/bin/sh -c \'exit 75\'"',
}


def aliases_text(sep=": "):
    return "".join("%s%s%s\n" % (k, sep, v) for k, v in ALIASES.items())


# ---------------------------------------------------------------- the MTAs

def postfix_box(cache, tmp):
    main = """compatibility_level = 3.6
myhostname = postfix.mta.test
mydomain = mta.test
myorigin = $myhostname
mydestination = local.test, $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
queue_directory = /var/spool/postfix
data_directory = /var/spool/postfix-data
mail_owner = postfix
setgid_group = postdrop
maillog_file = /var/spool/postfix-maillog
smtpd_relay_restrictions = permit_mynetworks, reject
local_recipient_maps =
alias_maps = texthash:/etc/postfix/aliases
alias_database = texthash:/etc/postfix/aliases
transport_maps = texthash:/etc/postfix/transport
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_skip_5xx_greeting = no
smtp_connect_timeout = 5s
smtp_helo_timeout = 30s
smtp_data_done_timeout = 30s
smtp_rcpt_timeout = 30s
smtp_mail_timeout = 30s
smtp_data_init_timeout = 30s
smtp_data_xfer_timeout = 30s
maximal_queue_lifetime = %ds
bounce_queue_lifetime = %ds
delay_warning_time = %ds
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
notify_classes =
biff = no
default_destination_concurrency_limit = 4
smtp_destination_concurrency_failed_cohort_limit = 100
""" % (LIFETIME, LIFETIME, WARN)
    master = open(os.path.join(cache, "root/postfix/usr/share/postfix/master.cf.dist")).read()
    lines = []
    for l in master.splitlines():
        f = l.split()
        if len(f) >= 8 and not l[0].isspace() and not l.startswith("#"):
            if f[0] == "smtp" and f[1] == "inet":
                f[0] = "127.0.0.1:%d" % PORTS["postfix"]
            f[4] = "n"
            l = "\t".join(f[:8] + f[8:])
        lines.append(l)
    etc = common_etc("postfix.mta.test")
    etc.update({
        "postfix/main.cf": (main, 0o644),
        "postfix/master.cf": ("\n".join(lines) + "\n", 0o644),
        "postfix/aliases": (aliases_text("\t"), 0o644),
        "postfix/transport": ("quota.test lmtp:inet:%s:%d\n" % LMTP, 0o644),
    })
    b = Box("postfix", cache, tmp, etc, ["postfix", "postfix-data"])
    b.run(["chown", "postfix", "/var/spool/postfix-data"])
    b.run(["/usr/sbin/postfix", "check"])
    b.spawn(["/usr/sbin/postfix", "start-fg"], "postfix.log")
    return b


def exim_box(cache, tmp):
    conf = """primary_hostname = exim.mta.test
qualify_domain = exim.mta.test
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
spool_directory = /var/spool/exim4
log_file_path = /var/spool/exim4-log/%%slog
daemon_smtp_ports = %d
local_interfaces = 127.0.0.1
disable_ipv6 = true
domainlist local_domains = local.test : exim.mta.test
hostlist relay_hosts = 127.0.0.0/8
acl_smtp_rcpt = acl_check_rcpt
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
delay_warning = %ds
keep_environment =
timeout_frozen_after = 10m
ignore_bounce_errors_after = 1m
smtp_accept_queue_per_connection = 0
queue_run_max = 10

begin acl
acl_check_rcpt:
  accept hosts = +relay_hosts
  deny

begin routers
quota:
  driver = manualroute
  domains = quota.test
  route_list = * 127.0.0.1
  transport = lmtp_tcp
  self = send
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  no_more
system_aliases:
  driver = redirect
  domains = +local_domains
  allow_fail
  allow_defer
  data = ${lookup{$local_part}lsearch{/etc/exim4/aliases}}
  pipe_transport = address_pipe
  user = Debian-exim
local_user:
  driver = accept
  domains = +local_domains
  check_local_user
  transport = local_delivery

begin transports
remote_smtp:
  driver = smtp
  hosts_avoid_tls = *
  connect_timeout = 5s
  command_timeout = 30s
  data_timeout = 30s
lmtp_tcp:
  driver = smtp
  protocol = lmtp
  port = 24
  hosts_avoid_tls = *
address_pipe:
  driver = pipe
  return_fail_output
  temp_errors = 75
local_delivery:
  driver = appendfile
  file = /var/mail/$local_part
  delivery_date_add
  return_path_add
  user = $local_part
  group = mail
  mode = 0660

begin retry
*   *   F,%ds,10s

begin rewrite
""" % (PORTS["exim"], WARN, LIFETIME)
    etc = common_etc("exim.mta.test")
    etc.update({"exim4/exim4.conf": (conf, 0o644),
                "exim4/aliases": (aliases_text(), 0o644)})
    b = Box("exim", cache, tmp, etc, ["exim4", "exim4-log"])
    b.run(["chown", "Debian-exim:Debian-exim", "/var/spool/exim4", "/var/spool/exim4-log"])
    b.spawn(["/usr/sbin/exim4", "-bdf", "-q10s"], "exim.log")
    return b


def opensmtpd_box(cache, tmp, conn_ips):
    # OpenSMTPD's own resolver (libasr) answers "No MX found" for every name of the private
    # zone that glibc resolves, so its routes are static: one relay host per domain.
    routes = [(conn_domain(i), ip) for ip, i in sorted(conn_ips.items())]
    routes += [("rcpt.test", RCPT_IP), ("bounce.test", CATCH_IP), ("refused.dns.test", REFUSED_IP)]
    static = "".join('action "r%d" relay host smtp://%s:25 helo opensmtpd.mta.test\n'
                     'match from any for domain "%s" action "r%d"\n' % (n, ip, dom, n)
                     for n, (dom, ip) in enumerate(routes))
    conf = """table aliases file:/etc/smtpd/aliases
queue ttl %ds
bounce warn-interval %ds
smtp limit max-rcpt 100
listen on 127.0.0.1 port %d hostname opensmtpd.mta.test
action "local" mbox alias <aliases>
action "quota" lmtp "%s:%d" rcpt-to
action "relay" relay helo opensmtpd.mta.test
match from any for domain "local.test" action "local"
match from any for domain "quota.test" action "quota"
%smatch from any for any action "relay"
""" % (LIFETIME, WARN, PORTS["opensmtpd"], LMTP[0], LMTP[1], static)
    etc = common_etc("opensmtpd.mta.test")
    etc.update({"smtpd/smtpd.conf": (conf, 0o644),
                "smtpd/aliases": (aliases_text(), 0o644)})
    b = Box("opensmtpd", cache, tmp, etc)
    b.spawn(["/usr/sbin/smtpd", "-d", "-f", "/etc/smtpd/smtpd.conf"], "smtpd.log")
    return b


def sendmail_box(cache, tmp):
    mc = """divert(-1)
include(`/usr/share/sendmail/cf/m4/cf.m4')
VERSIONID(`bounced realmta')
OSTYPE(`linux')
define(`confDOMAIN_NAME', `sendmail.mta.test')
define(`confDONT_PROBE_INTERFACES', `True')
define(`confTO_QUEUEWARN', `%ds')
define(`confTO_QUEUERETURN', `%ds')
define(`confTO_CONNECT', `5s')
define(`confTO_INITIAL', `30s')
define(`confTO_HELO', `30s')
define(`confTO_MAIL', `30s')
define(`confTO_RCPT', `30s')
define(`confTO_DATAINIT', `30s')
define(`confTO_DATABLOCK', `30s')
define(`confTO_DATAFINAL', `30s')
define(`confTO_ICONNECT', `5s')
define(`confMIN_QUEUE_AGE', `0s')
define(`confQUEUE_LA', `100')
define(`confREFUSE_LA', `100')
define(`confDELIVERY_MODE', `queue')
define(`confALIAS_FILE', `/etc/mail/aliases')
define(`confPRIVACY_FLAGS', `authwarnings')
define(`confDONT_BLAME_SENDMAIL', `GroupWritableDirPathSafe,ForwardFileInGroupWritableDirPath')
define(`confLOG_LEVEL', `9')
define(`LOCAL_MAILER_PATH', `/usr/libexec/sendmail/mail.local')
define(`STATUS_FILE', `/var/spool/sendmail-st')
DAEMON_OPTIONS(`Port=%d,Addr=127.0.0.1,Name=MTA')
FEATURE(`nouucp', `reject')
MAILER(`local')
MAILER(`smtp')
LOCAL_CONFIG
Cwlocal.test
""" % (WARN, LIFETIME, PORTS["sendmail"])
    cf = subprocess.run(["m4"], input=mc.replace("/usr/share/sendmail",
                        os.path.join(cache, "root/sendmail/usr/share/sendmail")),
                        capture_output=True, text=True, check=True).stdout
    etc = common_etc("sendmail.mta.test")
    etc.update({"mail/sendmail.cf": (cf, 0o644),
                "mail/aliases": (aliases_text(), 0o644),
                "mail/local-host-names": ("local.test\n", 0o644)})
    b = Box("sendmail", cache, tmp, etc, ["mqueue", "clientmqueue"])
    b.run(["chmod", "700", "/var/spool/mqueue"])
    b.run(["touch", "/var/spool/sendmail-st"])
    b.run(["/usr/libexec/sendmail/sendmail", "-C", "/etc/mail/sendmail.cf", "-bi"])
    b.spawn(["/usr/libexec/sendmail/sendmail", "-C", "/etc/mail/sendmail.cf", "-bD", "-q10s"],
            "sendmail.log")
    return b


def dma_box(cache, tmp):
    conf = "SPOOLDIR /var/spool/dma\nMAILNAME dma.mta.test\n"
    etc = common_etc("dma.mta.test")
    etc.update({"dma/dma.conf": (conf, 0o644),
                "aliases": ("postmaster: root\n", 0o644)})
    b = Box("dma", cache, tmp, etc, ["dma"])
    b.run(["chgrp", "mail", "/var/spool/dma"])
    b.run(["chmod", "2775", "/var/spool/dma"])
    return b


BOXES = {"postfix": postfix_box, "exim": exim_box, "opensmtpd": opensmtpd_box,
         "sendmail": sendmail_box, "dma": dma_box}


def message(mta, case, rcpts, big=False):
    sender = "%s.%s@bounce.test" % (mta, case)
    body = ("This message was sent by the bounced real-MTA corpus generator\n"
            "(MTA %s, case %s).\n" % (mta, case))
    if big:
        body += ("filler " * 10 + "\n") * 60
    msg = ("From: Corpus Sender <%s>\nTo: %s\nSubject: realmta %s %s\n"
           "Message-ID: <%s.%s@realmta.test>\nMIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=us-ascii\n\n%s"
           % (sender, ", ".join("<%s>" % r for r in rcpts), mta, case, mta, case, body))
    return sender, msg


def submit(mta, box, cases):
    """Hand every case to the MTA: SMTP on its listener, or its command line."""
    bad = []
    if mta in PORTS and mta != "sendmail":
        s = None
        for n, c in enumerate(cases):
            if n % 20 == 0:
                # a new session every 20 messages (OpenSMTPD limits transactions per session)
                if s:
                    s.quit()
                s = smtplib.SMTP("127.0.0.1", PORTS[mta], "submitter.test", timeout=60)
            sender, msg = message(mta, c["name"], c["rcpts"], "overquota" in c["name"])
            try:
                refused = s.sendmail(sender, c["rcpts"], msg.replace("\n", "\r\n").encode())
                if refused:
                    bad.append((c["name"], refused))
            except smtplib.SMTPException as e:
                bad.append((c["name"], str(e)))
                s.rset()
        if s:
            s.quit()
    else:
        for c in cases:
            sender, msg = message(mta, c["name"], c["rcpts"], "overquota" in c["name"])
            if mta == "sendmail":
                argv = ["/usr/libexec/sendmail/sendmail", "-C", "/etc/mail/sendmail.cf", "-Am",
                        "-odq", "-oem", "-oi", "-f", sender] + c["rcpts"]
            else:
                argv = ["/usr/sbin/dma", "-f", sender] + c["rcpts"]
            r = subprocess.run(box.cmd(argv), input=msg, text=True, capture_output=True)
            if r.returncode:
                bad.append((c["name"], r.stdout + r.stderr))
    for name, why in bad:
        log("%s: %s not accepted: %s" % (mta, name, why))
    return bad


# ---------------------------------------------------------------- collecting

def is_delay(raw):
    if b"Envelope expired" in raw:
        # OpenSMTPD 6.8 returns an expired envelope as a "delayed" notice: it is the last word
        return False
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    subj = (m.get("Subject") or "").lower()
    return bool(re.search(rb"(?im)^Action:\s*delayed", raw)) or "delay" in subj \
        or subj.startswith("warning")


def dsn_block(raw, rcpt):
    """(Status, Final-Recipient) the MTA's delivery-status part states for RCPT."""
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in m.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        pl = part.get_payload()
        blocks = pl if isinstance(pl, list) else []
        if not blocks and isinstance(pl, str):
            blocks = [email.message_from_string(b) for b in re.split(r"\n\s*\n", pl)]
        for b in blocks:
            fr = (b.get("Final-Recipient") or "") + " " + (b.get("Original-Recipient") or "")
            if rcpt.lower() in fr.lower() and b.get("Status"):
                final = (b.get("Final-Recipient") or "").split(";")[-1].strip().strip("<>")
                return b.get("Status").strip().split()[0], final
    return "", ""


def dsn_status(raw, rcpt):
    return dsn_block(raw, rcpt)[0]


PSEUDO = {"undefined": "900", "userunknown": "911", "hostunknown": "912", "hasmoved": "916",
          "notaccept": "932", "mailboxfull": "922", "suspend": "921", "expired": "947",
          "networkerror": "944", "systemerror": "930", "systemfull": "931",
          "mailererror": "939", "toomanyconn": "976", "exceedlimit": "923",
          "mesgtoobig": "934", "filtered": "910", "rejected": "918", "blocked": "971",
          "spamdetected": "980", "virusdetected": "981", "policyviolation": "972",
          "authfailure": "974", "requireptr": "973", "badreputation": "975",
          "securityerror": "970", "contenterror": "960", "norelaying": "950",
          "notcompliantrfc": "962", "syntaxerror": "902", "speeding": "946",
          "failedstarttls": "977", "suppressed": "917", "onhold": "901"}


def reply_status(reply):
    """The enhanced status code a reply states: after the reply code ("550 5.1.1 ...",
    IronPort's "550 #5.7.1 ..."), or qmail's "(#5.1.1)" in its text; "" when none. Of a
    multi-line reply, the first line that carries one (RFC 2034 puts it on every line, but
    servers often give it only on the last: "550-Mailbox unknown. ...\\n550 5.1.1 User
    unknown"), a reply that quotes the one it relays included ("550 550 5.1.1 ...")."""
    for line in (reply or "").split("\\n"):
        m = re.match(r"\s*[245]\d\d[ -](?:[245]\d\d[ -])?#?([245]\.\d{1,3}\.\d{1,3})\b", line) \
            or re.search(r"\(#([245]\.\d{1,3}\.\d{1,3})\)", line)
        if m:
            return m.group(1)
    return ""


def expected_status(e, mta, raw, rcpt, reason, temporary, only_expiry=False, quoted=True):
    st = dsn_status(raw, rcpt)
    if only_expiry:
        # the bounce states the expiry and nothing of the reply
        return st or "4.4.7"
    code = reply_status(e["reply"]) if quoted else ""
    if code and re.match(r"[45]\.0\.0$", code) and st and st[0] == code[0] and \
            not re.match(r"[45]\.0\.0$", st):
        return st   # a generic x.0.0 in the reply never replaces the MTA's specific status
    if code:
        return code
    if st and not (mta == "opensmtpd" and re.match(r"[45]\.0\.0$", st)):
        return st
    # OpenSMTPD writes x.0.0 for every failure that carries no code of its own: a
    # placeholder, which the parser (like Sisimai) replaces by the reason's pseudo status
    if st:
        temporary = st.startswith("4")
    cls = "4" if temporary else "5"
    if mta == "exim" and e["stage"] == "mail":
        return cls + ".0.901"      # Exim's MAIL FROM refusal leaves the status undecided
    return "%s.0.%s" % (cls, PSEUDO.get(reason, "900"))


def reply_words(reply):
    """The words of a catalogue reply without its codes: "451 4.7.1 Try again later" gives
    "try again later" (the first line, lower case, white space as single spaces)."""
    line = (reply or "").split("\\n")[0]
    line = re.sub(r"^\s*[245]\d\d[ -]?(\s*[245]\.\d{1,3}\.\d{1,3})?\s*", "", line)
    return " ".join(line.lower().split())


def body_text(raw):
    """Every text part of a bounce, decoded, lower case, white space as single spaces."""
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for part in m.walk():
        if part.is_multipart():
            continue
        pl = part.get_payload(decode=True) or b""
        out.append(pl.decode(part.get_content_charset() or "utf-8", "replace"))
    return " ".join(" ".join(out).lower().split())


def quotes_reply(words, text):
    """Whether the bounce text quotes the reply's words (Exim writes 8-bit bytes as octal
    escapes, "dom\\303\\255nio"; they are read back first)."""
    if words[:40] in text:
        return True
    octal = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)
    return words[:40] in octal.encode("latin-1", "replace").decode("utf-8", "replace")


def bounce_states(e, raw):
    """What the bounce says of the row's failure, which is what its verdict is judged on:
    "reply" when it quotes the remote's reply (or, for a dropped connection, a refused
    connection or a failed DNS lookup, says what happened); "expiry" when it only says the queue lifetime ran out (the MTA kept retrying,
    OpenSMTPD's "Envelope expired", Exim's bare "retry timeout exceeded"); "nothing" when it
    neither quotes the reply nor names a cause (dma's "unknown bounce reason" for a refused
    HELO: a person has to look, onhold)."""
    words = reply_words(e["reply"])
    text = body_text(raw)
    if not words:
        if e["stage"] == "drop":
            said = re.search(r"lost connection|connection (reset|closed|dropped|timed out)|"
                             r"read error|closed the connection|unexpected|timed out while|"
                             r"no response", text)
        elif e["stage"] in ("conn", "dns"):
            # the refusal or the resolver's failure in the MTA's words (the test domains are
            # named refused.dns.test, servfail.dns.test: their names say nothing)
            said = re.search(r"connection refused|host lookup did not complete|name serv(er|ice)|"
                             r"temporary failure in name resolution|(?<![\w.-])servfail(?![\w.-])",
                             text)
        else:
            said = True
        if said:
            return "reply"
    elif quotes_reply(words, text):
        return "reply"
    if re.search(rb"(?i)expired|retry time(out)? exceeded|Status:\s*[45]\.4\.7", raw):
        return "expiry"
    return "nothing" if words else "reply"


def collect(catch, out, cases, entries, expected_only=False):
    """Write the corpus from the catcher's messages (or, with expected_only, rebuild
    EXPECTED.tsv and SOURCES.tsv from the corpus files already there)."""
    exp = []
    src = []
    missing = []
    for mta in MTAS:
        d = os.path.join(out, mta)
        if not expected_only:
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        for c in sorted(cases.get(mta, []), key=lambda c: c["name"]):
            if expected_only:
                got = [os.path.join(d, c["name"] + x) for x in (".eml", ".delayed.eml")]
            else:
                cd = os.path.join(catch, "%s.%s" % (mta, c["name"]))
                got = [os.path.join(cd, f) for f in sorted(os.listdir(cd))] if os.path.isdir(cd) else []
            final = delayed = None
            for f in got:
                if not os.path.exists(f):
                    continue
                raw = open(f, "rb").read()
                if f.endswith(".delayed.eml") or (not expected_only and is_delay(raw)):
                    delayed = delayed or raw
                else:
                    final = final or raw
            outs = []
            if final is not None:
                outs.append((c["name"] + ".eml", final, False))
            else:
                missing.append("%s/%s" % (mta, c["name"]))
            if c["name"] in KEEP_DELAYED:
                if delayed is not None:
                    outs.append((c["name"] + ".delayed.eml", delayed, True))
                else:
                    missing.append("%s/%s.delayed" % (mta, c["name"]))
            for fname, raw, isdelay in outs:
                if not expected_only:
                    with open(os.path.join(d, fname), "wb") as fh:
                        fh.write(raw)
                rel = "%s/%s" % (mta, fname)
                for idx, (rcpt, i) in enumerate(zip(c["rcpts"], c["ids"])):
                    e = entries[i]
                    code = fakesmtp.reply_code(e["reply"])
                    reason = DELAYED_REASON.get(i, e["reason"]) if isdelay else e["reason"]
                    temporary = isdelay or code.startswith("4") or e["stage"] == "drop" \
                        or i in ("dns-servfail", "conn-refused", "local-pipe-tempfail")
                    hard = "0" if isdelay else e["hard"]
                    said = bounce_states(e, raw)
                    only_expiry, no_cause = said == "expiry", said == "nothing"
                    if only_expiry:
                        reason, hard = "expired", "0"
                    elif no_cause:
                        reason, hard = "onhold", "0"
                    st = expected_status(e, mta, raw, rcpt, reason, temporary, only_expiry,
                                         not no_cause)
                    if no_cause:
                        code = ""  # not in the bounce either
                    # an alias the MTA expanded: the recipient it reports failed (Final-Recipient)
                    final = dsn_block(raw, rcpt)[1]
                    if final and "@" in final and final.lower() != rcpt.lower():
                        rcpt = final
                    exp.append([rel, str(idx), rcpt, st, code, reason, hard])
                    src.append([rel, str(idx), i, e["file"], e["source"]])
    with open(os.path.join(out, "EXPECTED.tsv"), "w") as fh:
        fh.write("file\tindex\trecipient\tstatus\treplycode\treason\thard\n")
        for r in exp:
            fh.write("\t".join(r) + "\n")
    with open(os.path.join(out, "SOURCES.tsv"), "w") as fh:
        fh.write("file\tindex\tcatalogue_id\tcatalogue\tsource\n")
        for r in src:
            fh.write("\t".join(r) + "\n")
    return exp, missing


# ---------------------------------------------------------------- inside: the run

def pending(cases, catch, mta):
    left = []
    for c in cases[mta]:
        d = os.path.join(catch, "%s.%s" % (mta, c["name"]))
        files = os.listdir(d) if os.path.isdir(d) else []
        raws = [open(os.path.join(d, f), "rb").read() for f in files]
        if not any(not is_delay(r) for r in raws):
            left.append(c["name"])
        elif c["name"] in KEEP_DELAYED and not any(is_delay(r) for r in raws):
            left.append(c["name"] + ".delayed")
    return left


async def inner_main(args):
    cache, out = args.cache, args.out
    entries = load_entries()
    cases = build_cases(entries)
    only = args.only.split(",") if args.only else MTAS
    cases = {m: (cases[m] if m in only else []) for m in MTAS}
    conn_ids = sorted(i for i, e in entries.items() if e["file"] == "catalogue.tsv")
    conn_ips = {"127.1.%d.%d" % (n // 250, n % 250 + 1): i for n, i in enumerate(conn_ids)}
    tmp = tempfile.mkdtemp(prefix="bounced-realmta.")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", tmp], check=True)
    catch = os.path.join(tmp, "catch")
    os.makedirs(catch)
    boxes = []
    server = fakesmtp.FakeSMTP(entries, conn_ips, RCPT_IP, CATCH_IP, catch)
    t0 = time.time()
    try:
        await server.start()
        boxes.append(unbound_box(cache, tmp, entries, conn_ips))
        boxes.append(dovecot_box(cache, tmp))
        mboxes = {}
        for m in only:
            mboxes[m] = BOXES[m](cache, tmp, conn_ips) if m == "opensmtpd" else BOXES[m](cache, tmp)
            boxes.append(mboxes[m])
        await asyncio.sleep(4)
        for m in only:
            log("%s: submitting %d cases" % (m, len(cases[m])))
            await asyncio.get_running_loop().run_in_executor(None, submit, m, mboxes[m], cases[m])
        deadline = time.time() + LIFETIME + args.grace
        last = 0
        while time.time() < deadline:
            await asyncio.sleep(5)
            if "opensmtpd" in mboxes and time.time() - last > 15:
                # OpenSMTPD's scheduler backs off for minutes: retry now, as an operator would
                last = time.time()
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: mboxes["opensmtpd"].run(["setpriv", "--regid", "opensmtpq", "--clear-groups",
                                                 "/usr/sbin/smtpctl", "schedule", "all"]))
            left = {m: pending(cases, catch, m) for m in only}
            n = sum(len(v) for v in left.values())
            log("%4ds: %d bounces pending %s" % (time.time() - t0, n,
                " ".join("%s=%d" % (m, len(v)) for m, v in left.items())))
            if n == 0:
                break
        else:
            for m, v in left.items():
                if v:
                    log("%s: no bounce for: %s" % (m, " ".join(sorted(v))))
        await asyncio.sleep(2)
        exp, missing = collect(catch, out, cases, entries)
        log("%d expected rows, %d files missing, %ds" % (len(exp), len(missing), time.time() - t0))
        return 1 if missing and not args.allow_missing else 0
    finally:
        if args.keep:
            for b in boxes:
                b.run(["sh", "-c", "cp /var/spool/*log* %s/ 2>/dev/null; cp /var/spool/*/*log* %s/ 2>/dev/null; true"
                       % (b.dir, b.dir)])
                for f in os.listdir(b.dir):
                    if "log" in f:
                        shutil.copy(os.path.join(b.dir, f), os.path.join(args.keep, b.name + "-" + f))
        server.close()
        for b in reversed(boxes):
            b.stop()
        time.sleep(0.5)
        subprocess.run(["umount", "-l", tmp])
        os.rmdir(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(TOP, "tests/corpus/realmta"))
    ap.add_argument("--cache", default=os.environ.get("BNC_REALMTA_CACHE", "/var/cache/bounced-realmta"))
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", default="", help="copy the daemons' logs into this directory")
    ap.add_argument("--grace", type=int, default=240, help="seconds to wait past the queue lifetime")
    ap.add_argument("--allow-missing", action="store_true")
    ap.add_argument("--expected-only", action="store_true",
                    help="rebuild EXPECTED.tsv and SOURCES.tsv from the corpus files (after a catalogue edit)")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.expected_only:
        entries = load_entries()
        exp, missing = collect(None, os.path.abspath(args.out), build_cases(entries), entries, True)
        log("%d expected rows, %d files missing" % (len(exp), len(missing)))
        sys.exit(1 if missing else 0)
    if os.geteuid() != 0:
        sys.exit("generate.py: must run as root (it starts MTAs as their system users)")
    args.out = os.path.abspath(args.out)
    if args.keep:
        args.keep = os.path.abspath(args.keep)
        os.makedirs(args.keep, exist_ok=True)
    if not args.inner:
        prepare(args.cache)
        os.makedirs(args.out, exist_ok=True)
        argv = ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child",
                sys.executable, os.path.abspath(__file__), "--inner"] + sys.argv[1:]
        sys.exit(subprocess.run(argv).returncode)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    sys.exit(asyncio.run(inner_main(args)))


if __name__ == "__main__":
    main()
