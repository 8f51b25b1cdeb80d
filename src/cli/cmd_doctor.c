/*
 * cmd_doctor.c - `bounced doctor [--offline]`: check what `bounced serve` will need before it
 * starts, and say for each problem what to change.
 *
 * Checks, in order: the configuration file (main.c has parsed it: a broken one never gets
 * here), the store (opens without migrating, can be written; a SQLite file not made yet
 * needs a writable directory), the spool (a directory writable by whoever runs doctor, with
 * free space), the rules (compiled as serve compiles them), each listen address (parses,
 * can be bound now), and unless --offline the MX records of smtp.domains.
 * Each line is "ok", "warn" or "FAIL", the check's name and what was found; a FAIL line is
 * followed by a "fix:" line. Exit 0 when nothing failed (warnings alone), 1 otherwise.
 * Doesn't: change anything (it creates no store, no spool, no socket file that remains), or
 * check as another user: run it as the service user (runuser -u bounced -- ...).
 * LIMITS: at most DOCTOR_DOMAINS domains looked up, DNS answers of at most 4096 bytes.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "classify/classify.h"
#include "classify/rules.h"
#include "cli.h"
#include "store/store.h"

#define DOCTOR_DOMAINS    32
#define DOCTOR_MIN_FREE   ((unsigned long long)1 << 30) /* 1 GiB */
#define DOCTOR_MIN_FREE_P 5                             /* per cent */

struct doctor {
    int fails;
    int warns;
};

static void doc_line(struct doctor *d, const char *lvl, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void doc_fix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void doc_check_config(struct doctor *d, const struct cli_globals *g);
static void doc_check_store(struct doctor *d, const struct bnc_config *cfg);
static void doc_check_spool(struct doctor *d, const char *dir);
static void doc_check_rules(struct doctor *d, const struct bnc_config *cfg);
static void doc_check_listen(struct doctor *d, const char *key, const char *addr);
static void doc_check_dns(struct doctor *d, const char *domains);

static void
doctor_usage(FILE *fp)
{
    fprintf(fp, "usage: bounced doctor [--offline]\n\n"
                "Check the configuration, the store, the spool (permissions, free space), the\n"
                "rules, the listen addresses and (unless --offline) the MX records of\n"
                "smtp.domains, and say what to fix. Run it as the user bounced serve runs as,\n"
                "before the service starts. Exit 0 when nothing failed, 1 otherwise.\n");
}

static int
doctor_run(struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"offline", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct doctor d = {0, 0};
    int offline = 0, c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'o') {
            offline = 1;
        } else if (c == 'h') {
            doctor_usage(stdout);
            return CLI_EXIT_OK;
        } else {
            doctor_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        doctor_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    doc_check_config(&d, g);
    doc_check_store(&d, &g->cfg);
    doc_check_spool(&d, g->cfg.spool_dir);
    doc_check_rules(&d, &g->cfg);
    doc_check_listen(&d, "smtp.listen", g->cfg.smtp_listen);
    doc_check_listen(&d, "smtp.lmtp_listen", g->cfg.smtp_lmtp_listen);
    doc_check_listen(&d, "http.listen", g->cfg.http_listen);
    if (offline) {
        doc_line(&d, "ok", "dns", "not checked (--offline)");
    } else {
        doc_check_dns(&d, g->cfg.smtp_domains);
    }
    printf("doctor: %d problem%s, %d warning%s\n", d.fails, d.fails == 1 ? "" : "s", d.warns,
           d.warns == 1 ? "" : "s");
    return d.fails > 0 ? CLI_EXIT_NEG : CLI_EXIT_OK;
}

const struct cli_cmd cli_cmd_doctor = {
    "doctor",
    "check config, store, spool, rules, listen addresses and DNS; say what to fix",
    doctor_run,
};

/* ---- output ---- */

static void
doc_line(struct doctor *d, const char *lvl, const char *what, const char *fmt, ...)
{
    char text[2048];
    size_t i, o;
    va_list ap;

    if (lvl[0] == 'F') {
        d->fails++;
    } else if (lvl[0] == 'w') {
        d->warns++;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* one line per check: a driver's multi-line message (libpq) is folded, runs of white
     * space become one space */
    for (i = 0, o = 0; text[i] != '\0'; i++) {
        bool sp = text[i] == '\n' || text[i] == '\t' || text[i] == '\r' || text[i] == ' ';
        if (!sp) {
            text[o++] = text[i];
        } else if (o > 0 && text[o - 1] != ' ') {
            text[o++] = ' ';
        }
    }
    while (o > 0 && text[o - 1] == ' ') {
        o--;
    }
    text[o] = '\0';
    printf("%-4s %-16s %s\n", lvl, what, text);
}

static void
doc_fix(const char *fmt, ...)
{
    va_list ap;

    printf("     %-16s ", "fix:");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* ---- checks ---- */

static void
doc_check_config(struct doctor *d, const struct cli_globals *g)
{
    const struct bnc_config *cfg = &g->cfg;

    if (g->config_path == NULL) {
        doc_line(d, "warn", "config", "no configuration file: built-in defaults and BOUNCED_*");
    } else {
        doc_line(d, "ok", "config", "%s parsed, every value in range", g->config_path);
    }
    if (cfg->smtp_listen[0] != '\0' && cfg->smtp_domains[0] == '\0') {
        doc_line(d, "warn", "smtp.domains", "empty: only mail for localhost is accepted");
        doc_fix("set smtp.domains to your return-path domain(s) (docs/deploy.md section 3)");
    }
}

/* The directory a path is in ("." for a bare name), into dir. */
static void
doc_dirname(const char *path, char *dir, size_t dirlen)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL) {
        snprintf(dir, dirlen, ".");
    } else if (slash == path) {
        snprintf(dir, dirlen, "/");
    } else {
        snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
    }
}

static void
doc_check_store(struct doctor *d, const struct bnc_config *cfg)
{
    const char *url = cfg->store_url;
    bool pg = strncmp(url, "postgres", 8) == 0;
    struct store *st = NULL;
    char err[512], dir[4096];

    if (!pg && strcmp(url, ":memory:") != 0) {
        const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
        if (access(path, F_OK) != 0) {
            doc_dirname(path, dir, sizeof(dir));
            if (access(dir, W_OK | X_OK) == 0) {
                doc_line(d, "ok", "store", "%s does not exist yet; serve creates it", path);
            } else {
                doc_line(d, "FAIL", "store", "%s cannot be created: %s: %s", path, dir,
                         strerror(errno));
                doc_fix("create %s writable by the service user, or change store.url", dir);
            }
            return;
        }
    }
    if (store_open_ex(url, cfg, STORE_OPEN_NO_MIGRATE, &st, err, sizeof(err)) != BNC_OK) {
        doc_line(d, "FAIL", "store", "%s does not open: %s", url, err);
        doc_fix("store.url takes a SQLite path or postgresql://user@host/db; check that the "
                "database runs and the credentials are right");
        return;
    }
    if (store_check_writable(st) != BNC_OK) {
        doc_line(d, "FAIL", "store", "%s opens but cannot be written: %s", url, store_errmsg(st));
        doc_fix("give the service user write access to the database (and its directory)");
    } else {
        doc_line(d, "ok", "store", "%s (%s) opens and can be written", url,
                 store_backend_name(st));
    }
    store_close(st);
}

/* The nearest existing ancestor of dir, into out: where serve's mkdir would start. */
static void
doc_existing_parent(const char *dir, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", dir);
    while (access(out, F_OK) != 0) {
        char up[4096];
        doc_dirname(out, up, sizeof(up));
        if (strcmp(up, out) == 0) {
            return;
        }
        snprintf(out, outlen, "%s", up);
    }
}

static void
doc_check_space(struct doctor *d, const char *dir)
{
    struct statvfs vfs;
    unsigned long long avail, total;

    if (statvfs(dir, &vfs) != 0) {
        doc_line(d, "warn", "spool space", "%s: %s", dir, strerror(errno));
        return;
    }
    avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    total = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
    if (avail < DOCTOR_MIN_FREE || (total > 0 && avail * 100 / total < DOCTOR_MIN_FREE_P)) {
        doc_line(d, "warn", "spool space", "%s: %llu MiB free of %llu MiB", dir, avail >> 20,
                 total >> 20);
        doc_fix("free space there or move spool.dir: a full spool answers 451 to every bounce");
    } else {
        doc_line(d, "ok", "spool space", "%llu MiB free of %llu MiB", avail >> 20, total >> 20);
    }
}

static void
doc_check_spool(struct doctor *d, const char *dir)
{
    static const char *const subs[] = {"", "/tmp", "/new", "/done", "/hold"};
    char base[4096], p[4200];
    struct stat sb;
    size_t i;

    doc_existing_parent(dir, base, sizeof(base));
    if (strcmp(base, dir) != 0) {
        if (access(base, W_OK | X_OK) != 0) {
            doc_line(d, "FAIL", "spool", "%s does not exist and %s is not writable: %s", dir,
                     base, strerror(errno));
            doc_fix("mkdir -p %s && chown the service user, or change spool.dir", dir);
        } else {
            doc_line(d, "ok", "spool", "%s does not exist yet; serve creates it", dir);
        }
        doc_check_space(d, base);
        return;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        doc_line(d, "FAIL", "spool", "%s is not a directory", dir);
        doc_fix("remove it or point spool.dir at a directory");
        return;
    }
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", dir, subs[i]);
        if (access(p, F_OK) == 0 && access(p, W_OK | X_OK) != 0) {
            doc_line(d, "FAIL", "spool", "%s is not writable by uid %ld: %s", p, (long)geteuid(),
                     strerror(errno));
            doc_fix("chown -R the service user %s (mode 0700), or change spool.dir", dir);
            return;
        }
    }
    doc_line(d, "ok", "spool", "%s writable", dir);
    doc_check_space(d, dir);
}

/* What the rules loader refused: counted, and the first one kept to quote. */
struct doc_rules_errs {
    int n;
    char first[512];
};

static void
doc_rules_err(void *ud, const char *where, const char *msg)
{
    struct doc_rules_errs *e = ud;

    if (e->n++ == 0) {
        snprintf(e->first, sizeof(e->first), "%s: %s", where, msg);
    }
}

/* serve skips a rule line it cannot load (and says so in its log); doctor calls that a
 * failure, since the operator meant that rule to apply. */
static void
doc_check_rules(struct doctor *d, const struct bnc_config *cfg)
{
    struct doc_rules_errs e;
    struct bnc_ruleset *rs = NULL;
    bnc_status rc;

    memset(&e, 0, sizeof(e));
    rc = rules_build(cfg, NULL, 0, doc_rules_err, &e, &rs);
    if (rc != BNC_OK || e.n > 0) {
        doc_line(d, "FAIL", "rules", "%d line%s not loaded%s%s", e.n, e.n == 1 ? "" : "s",
                 e.n ? ", first: " : ": ", e.n ? e.first : bnc_strerror(rc));
        doc_fix("`bounced rules lint FILE` explains each line; fix or remove it (rules.dir %s, "
                "rules.file %s)",
                cfg->rules_dir, cfg->rules_file[0] ? cfg->rules_file : "unset");
    } else {
        doc_line(d, "ok", "rules", "%zu rules compile (built-in, rules.dir %s%s%s)",
                 rules_count(rs), cfg->rules_dir, cfg->rules_file[0] ? ", " : "",
                 cfg->rules_file);
    }
    rules_free(rs);
}

/* A unix:/path listener: the directory must take a socket, and nobody may answer on it. */
static void
doc_check_unix(struct doctor *d, const char *key, const char *path)
{
    struct sockaddr_un sun;
    char dir[4096];
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        doc_line(d, "FAIL", key, "unix:%s is longer than %zu bytes", path,
                 sizeof(sun.sun_path) - 1);
        doc_fix("use a shorter path, e.g. unix:/run/bounced/lmtp.sock");
        return;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
        close(fd);
        doc_line(d, "FAIL", key, "unix:%s is in use: something answers on it", path);
        doc_fix("stop the other process (a running bounced?) or choose another path");
        return;
    }
    if (fd >= 0) {
        close(fd);
    }
    doc_dirname(path, dir, sizeof(dir));
    if (access(dir, W_OK | X_OK) != 0) {
        doc_line(d, "FAIL", key, "unix:%s: %s: %s", path, dir, strerror(errno));
        doc_fix("create %s writable by the service user (the unit's RuntimeDirectory)", dir);
        return;
    }
    doc_line(d, "ok", key, "unix:%s free", path);
}

/* Split "host:port" or "[v6]:port" into host and port; false when it is neither. */
static bool
doc_split_hostport(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hl;

    if (colon == NULL || colon[1] == '\0') {
        return false;
    }
    hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        h = addr + 1;
        hl -= 2;
    }
    if (hl >= hostlen || strlen(colon + 1) >= portlen) {
        return false;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, strlen(colon + 1) + 1);
    return true;
}

static void
doc_bind_fail(struct doctor *d, const char *key, const char *addr, int err)
{
    doc_line(d, "FAIL", key, "%s cannot be bound: %s", addr, strerror(err));
    if (err == EADDRINUSE) {
        doc_fix("another process listens there (`ss -ltnp`): stop it, or change %s", key);
    } else if (err == EACCES) {
        doc_fix("ports below 1024 need CAP_NET_BIND_SERVICE (the systemd unit grants it) or a "
                "start as root with smtp.user set");
    } else {
        doc_fix("use an address of this host, or 0.0.0.0 / [::] for all of them, in %s", key);
    }
}

static void
doc_check_listen(struct doctor *d, const char *key, const char *addr)
{
    struct addrinfo hints, *ai = NULL;
    char host[256], port[16];
    int fd, one = 1, rc;

    if (addr == NULL || addr[0] == '\0') {
        doc_line(d, "ok", key, "off");
        return;
    }
    if (strncmp(addr, "unix:", 5) == 0) {
        doc_check_unix(d, key, addr + 5);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (!doc_split_hostport(addr, host, sizeof(host), port, sizeof(port)) ||
        (rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai)) != 0) {
        doc_line(d, "FAIL", key, "\"%s\" is not host:port", addr);
        doc_fix("write it as 127.0.0.1:2525, [::1]:2525 or 0.0.0.0:25");
        return;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        doc_bind_fail(d, key, addr, errno);
    } else {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            doc_bind_fail(d, key, addr, errno);
        } else {
            doc_line(d, "ok", key, "%s free", addr);
        }
        close(fd);
    }
    freeaddrinfo(ai);
}

/* The MX records of one domain: "ok" with their names, warn when none or unreachable, FAIL
 * for a null MX (RFC 7505: the domain receives no mail, so no bounce can arrive). */
static void
doc_check_mx(struct doctor *d, const char *dom)
{
    unsigned char ans[4096];
    char names[512] = "", name[NS_MAXDNAME];
    ns_msg msg;
    ns_rr rr;
    int n, i, count;
    size_t o = 0;

    n = res_query(dom, ns_c_in, ns_t_mx, ans, sizeof(ans));
    if (n < 0 || ns_initparse(ans, n, &msg) != 0) {
        doc_line(d, "warn", "dns", "%s: no MX record found (%s)", dom, hstrerror(h_errno));
        doc_fix("add \"%s. IN MX 10 <this host>.\" (docs/deploy.md section 3)", dom);
        return;
    }
    count = ns_msg_count(msg, ns_s_an);
    for (i = 0; i < count; i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_mx ||
            ns_rr_rdlen(rr) < 3) {
            continue;
        }
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, name,
                      sizeof(name)) < 0) {
            continue;
        }
        if (name[0] == '\0' || strcmp(name, ".") == 0) {
            doc_line(d, "FAIL", "dns", "%s has a null MX: no bounce can reach it", dom);
            doc_fix("replace the null MX of %s with an MX pointing at bounced's host", dom);
            return;
        }
        if (o + strlen(name) + 2 < sizeof(names)) {
            o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "", name);
        }
    }
    doc_line(d, o ? "ok" : "warn", "dns", "%s MX: %s", dom, o ? names : "none");
}

static void
doc_check_dns(struct doctor *d, const char *domains)
{
    char dom[256];
    const char *p = domains, *e;
    int n = 0;

    if (domains == NULL || domains[0] == '\0') {
        doc_line(d, "ok", "dns", "no smtp.domains to look up");
        return;
    }
    if (res_init() == 0) {
        _res.retrans = 2; /* an offline host answers in seconds, not minutes */
        _res.retry = 1;
    }
    while (*p != '\0' && n < DOCTOR_DOMAINS) {
        while (*p == ',' || *p == ' ') {
            p++;
        }
        e = p;
        while (*e != '\0' && *e != ',' && *e != ' ') {
            e++;
        }
        if (e > p && (size_t)(e - p) < sizeof(dom)) {
            memcpy(dom, p, (size_t)(e - p));
            dom[e - p] = '\0';
            doc_check_mx(d, dom);
            n++;
        }
        p = e;
    }
}
