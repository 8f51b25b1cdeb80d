/*
 * test_rules.c - the rule loader and matcher: syntax, bad rules reported with file:line while
 * the rest load, user rules before built-in ones, first line wins within a tier, phrases
 * versus regexes, the built-in rules compile, rules.dir and rules.file from the config.
 * layer: classify (links bnc_classify and the libraries below it, nothing above)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>

#include "classify/classify.h"
#include "classify/rules.h"
#include "core/cfg.h"

struct errs {
    int n;
    char where[8][128];
    char msg[8][256];
};

static void
collect(void *ud, const char *where, const char *msg)
{
    struct errs *e = ud;
    if (e->n < 8) {
        snprintf(e->where[e->n], sizeof(e->where[0]), "%s", where);
        snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
    }
    e->n++;
}

static const struct rule_info *
match(const struct bnc_ruleset *rs, const char *text)
{
    struct rule_match m;
    char norm[512];
    size_t n = rules_normalize(text, strlen(text), norm, sizeof(norm));
    assert_int_equal(rules_match(rs, norm, n, &m), BNC_OK);
    return m.rule;
}

static void
test_builtin_compiles(void **state)
{
    struct bnc_ruleset *rs = NULL;
    struct errs e = {0};
    (void)state;
    assert_int_equal(rules_build(NULL, NULL, 0, collect, &e, &rs), BNC_OK);
    if (e.n > 0) {
        fail_msg("default.rules: %s: %s", e.where[0], e.msg[0]);
    }
    assert_true(rules_count(rs) > 100);
    assert_int_equal(rules_get(rs, 0)->tier, RULES_TIER_BUILTIN);
    assert_string_equal(rules_get(rs, 0)->origin, "default.rules");
    rules_free(rs);
}

static void
test_bad_rules_reported_rest_load(void **state)
{
    struct bnc_ruleset *rs = NULL;
    struct errs e = {0};
    const struct rule_info *ri;
    struct rule_src src = {"# comment\n"
                           "\n"
                           "no arrow here\n"
                           "good phrase ==> soft:blocked\n"
                           "bad verdict ==> squishy\n"
                           "/unbalanced(/i ==> hard\n"
                           "/ok re[0-9]+x/i ==> hard:userunknown\n"
                           "==> hard\n",
                           "mine.rules"};
    (void)state;
    assert_int_equal(rules_build(NULL, &src, 1, collect, &e, &rs), BNC_OK);
    assert_int_equal(e.n, 4);
    assert_string_equal(e.where[0], "mine.rules:3");
    assert_string_equal(e.where[1], "mine.rules:5");
    assert_string_equal(e.where[2], "mine.rules:8");
    assert_string_equal(e.where[3], "mine.rules:6"); /* compile errors come last */
    assert_non_null(strstr(e.msg[3], "compile"));
    ri = match(rs, "550 this is a GOOD   Phrase indeed");
    assert_non_null(ri);
    assert_string_equal(ri->origin, "mine.rules");
    assert_int_equal(ri->line, 4);
    assert_int_equal(ri->reason, BNC_R_BLOCKED);
    assert_int_equal(ri->hard, 0);
    ri = match(rs, "OK RE42X");
    assert_non_null(ri);
    assert_int_equal(ri->line, 7);
    assert_int_equal(ri->hard, 1);
    assert_int_equal(ri->reason, BNC_R_USERUNKNOWN);
    rules_free(rs);
}

static void
test_user_before_builtin_and_first_line(void **state)
{
    struct bnc_ruleset *rs = NULL;
    const struct rule_info *ri;
    struct rule_src src[2] = {
        {"user unknown ==> soft:filtered\nunknown ==> hard\n", "a.rules"},
        {"user unknown ==> hasmoved\n", "db:7"},
    };
    (void)state;
    assert_int_equal(rules_build(NULL, src, 2, NULL, NULL, &rs), BNC_OK);
    ri = match(rs, "550 5.1.1 <x@y>... User Unknown");
    assert_non_null(ri);
    assert_string_equal(ri->origin, "a.rules");
    assert_int_equal(ri->line, 1);
    assert_int_equal(ri->reason, BNC_R_FILTERED);
    assert_int_equal(ri->tier, RULES_TIER_USER);
    /* a built-in rule still answers what no user rule knows */
    ri = match(rs, "552 5.2.2 Mailbox full");
    assert_non_null(ri);
    assert_int_equal(ri->tier, RULES_TIER_BUILTIN);
    assert_int_equal(ri->reason, BNC_R_MAILBOXFULL);
    assert_null(match(rs, "nothing to see"));
    rules_free(rs);
}

static void
test_phrase_is_literal(void **state)
{
    struct bnc_ruleset *rs = NULL;
    struct rule_src src = {"a.b (c) [d]* ==> soft:blocked\n", "x"};
    (void)state;
    assert_int_equal(rules_build(NULL, &src, 1, NULL, NULL, &rs), BNC_OK);
    assert_non_null(match(rs, "xx A.B (C) [D]* yy"));
    assert_null(match(rs, "axb (c) [d]*"));
    assert_null(match(rs, "a.b c [d]"));
    rules_free(rs);
    /* an apostrophe in a phrase matches the typographic one too */
    src.text = "address wasn't found ==> userunknown\n";
    assert_int_equal(rules_build(NULL, &src, 1, NULL, NULL, &rs), BNC_OK);
    assert_non_null(match(rs, "The email address wasn't found"));
    assert_non_null(match(rs, "The email address wasn\xe2\x80\x99t found"));
    assert_null(match(rs, "The email address wasnt found"));
    rules_free(rs);
}

static void
test_check_line(void **state)
{
    char err[256];
    (void)state;
    assert_int_equal(
        rules_check_line("550 5.7.1 Unfortunately, messages from ==> hard", err, sizeof(err)),
        BNC_OK);
    assert_int_equal(rules_check_line("x ==> soft:blocked", err, sizeof(err)), BNC_OK);
    assert_int_equal(rules_check_line("/a+b/i ==> mailboxfull", err, sizeof(err)), BNC_OK);
    assert_int_equal(rules_check_line("x ==> soft:nosuch", err, sizeof(err)), BNC_EINVAL);
    assert_non_null(strstr(err, "verdict"));
    assert_int_equal(rules_check_line("/(/ ==> hard", err, sizeof(err)), BNC_EINVAL);
    assert_non_null(strstr(err, "compile"));
    assert_int_equal(rules_check_line("x ==> hard\ny ==> soft", err, sizeof(err)), BNC_EINVAL);
    assert_int_equal(rules_check_line("# only a comment", err, sizeof(err)), BNC_EINVAL);
    assert_int_equal(rules_check_line("x ==> undefined", err, sizeof(err)), BNC_EINVAL);
}

static void
test_verdicts(void **state)
{
    bnc_reason r;
    int h;
    (void)state;
    assert_true(rules_parse_verdict("hard", 4, &r, &h));
    assert_int_equal(h, 1);
    assert_int_equal(r, BNC_R_UNDEFINED);
    assert_true(rules_parse_verdict(" SOFT:Blocked ", 14, &r, &h));
    assert_int_equal(h, 0);
    assert_int_equal(r, BNC_R_BLOCKED);
    assert_true(rules_parse_verdict("userunknown", 11, &r, &h));
    assert_int_equal(h, -1);
    assert_false(rules_parse_verdict("hard:", 5, &r, &h));
    assert_false(rules_parse_verdict("harder", 6, &r, &h));
    assert_false(rules_parse_verdict("", 0, &r, &h));
}

static void
test_config_dir_and_file(void **state)
{
    char dir[] = "/tmp/bnc_rules_XXXXXX";
    char path[256];
    struct bnc_config cfg;
    struct bnc_ruleset *rs = NULL;
    struct errs e = {0};
    const struct rule_info *ri;
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/b.rules", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("zzz marker ==> soft:spamdetected\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/a.rules", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("bogus line\nzzz marker ==> soft:virusdetected\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/ignored.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("zzz ==> hard\n", f);
    fclose(f);

    cfg_init(&cfg);
    free(cfg.rules_cache_dir);
    cfg.rules_cache_dir = strdup("");
    free(cfg.rules_dir);
    cfg.rules_dir = strdup(dir);
    free(cfg.rules_file);
    cfg.rules_file = strdup("/nonexistent/x.rules");
    assert_int_equal(rules_build(&cfg, NULL, 0, collect, &e, &rs), BNC_OK);
    assert_int_equal(e.n, 2);
    assert_non_null(strstr(e.where[0], "a.rules:1"));
    assert_string_equal(e.where[1], "/nonexistent/x.rules");
    ri = match(rs, "zzz marker");
    assert_non_null(ri);
    assert_int_equal(ri->reason, BNC_R_VIRUSDETECTED); /* a.rules sorts first */
    rules_free(rs);
    cfg_free(&cfg);

    snprintf(path, sizeof(path), "%s/a.rules", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/b.rules", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/ignored.txt", dir);
    unlink(path);
    rmdir(dir);
}

/* Provider codes in default.rules: a documented code decides, whatever words are around it. */
static void
test_provider_codes(void **state)
{
    static const struct {
        const char *text;
        bnc_reason want;
    } cases[] = {
        {"550 5.7.606 Access denied, banned sending IP [192.0.2.1]", BNC_R_BLOCKED},
        {"421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
         "volume or user complaints - 4.16.55.1",
         BNC_R_BADREPUTATION},
        {"553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in "
         "Spamhaus's list",
         BNC_R_BLOCKED},
        {"550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. (S3150)", BNC_R_BLOCKED},
        {"451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP "
         "reputation",
         BNC_R_BADREPUTATION},
        {"554 AUP#CXCNCT :: too many connections from your IP", BNC_R_TOOMANYCONN},
        {"554 p3plibsmtp01.prod.phx3.secureserver.net bizsmtp IB108 reverse DNS", BNC_R_REQUIREPTR},
        {"550 5.7.1 [CS01] Message rejected due to local policy", BNC_R_POLICYVIOLATION},
        {"550 Mailbox not found. 该用户不存在", BNC_R_USERUNKNOWN},
        {"550 5.4.1 Recipient address rejected: Access denied. "
         "RESOLVER.ADR.RecipientNotFound",
         BNC_R_USERUNKNOWN},
        {"550-5.7.26 This mail has been blocked because the sender is unauthenticated.",
         BNC_R_AUTHFAILURE},
        {"421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from "
         "your IP address",
         BNC_R_BADREPUTATION},
    };
    struct bnc_ruleset *rs = NULL;
    size_t i;
    (void)state;

    assert_int_equal(rules_build(NULL, NULL, 0, NULL, NULL, &rs), BNC_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rule_info *ri = match(rs, cases[i].text);
        if (ri == NULL || ri->reason != cases[i].want) {
            fail_msg("%s: got %s, want %s", cases[i].text,
                     ri ? bnc_reason_name(ri->reason) : "(no rule)",
                     bnc_reason_name(cases[i].want));
        }
    }
    rules_free(rs);
}

/* The rule of file `origin` that matches text, or NULL (built-in rules may match too). */
static const struct rule_info *
match_from(const struct bnc_ruleset *rs, const char *text, const char *origin)
{
    const struct rule_info *ri = match(rs, text);
    return ri != NULL && strcmp(ri->origin, origin) == 0 ? ri : NULL;
}

/* \s in a regex rule matches the white space of the text as it was written (runs, tabs, line
 * ends), and only outside bracket classes is it rewritten; escapes and classes keep meaning. */
static void
test_regex_white_space(void **state)
{
    struct bnc_ruleset *rs = NULL;
    struct errs e = {0};
    const struct rule_info *ri;
    struct rule_src src = {"/mailbox\\s+is\\s*full/i ==> mailboxfull\n"
                           "/quota[\\s_]exceeded\\s+?now/ ==> soft:systemfull\n"
                           "/a\\\\s\\sb/ ==> hard\n"
                           "/over\\squota\\s?!/ ==> exceedlimit\n",
                           "ws.rules"};
    (void)state;
    assert_int_equal(rules_build(NULL, &src, 1, collect, &e, &rs), BNC_OK);
    assert_int_equal(e.n, 0);
    ri = match(rs, "552 Mailbox \t  is\r\n full");
    assert_non_null(ri);
    assert_int_equal(ri->line, 1);
    ri = match(rs, "Mailbox isfull");
    assert_non_null(ri);
    assert_int_equal(ri->line, 1);
    assert_null(match_from(rs, "Mailboxis full", "ws.rules"));
    ri = match(rs, "quota_exceeded   now");
    assert_non_null(ri);
    assert_int_equal(ri->line, 2);
    ri = match(rs, "quota exceeded now");
    assert_non_null(ri);
    assert_int_equal(ri->line, 2);
    assert_null(match_from(rs, "quota exceedednow", "ws.rules"));
    ri = match(rs, "a\\s b"); /* an escaped backslash, then \s */
    assert_non_null(ri);
    assert_int_equal(ri->line, 3);
    assert_null(match_from(rs, "as b", "ws.rules"));
    ri = match(rs, "over quota!");
    assert_non_null(ri);
    assert_int_equal(ri->line, 4);
    assert_non_null(match_from(rs, "over\tquota \n!", "ws.rules"));
    assert_null(match_from(rs, "overquota!", "ws.rules"));
    rules_free(rs);
}

/* rules.cache_dir: the first build writes a compiled database, the next one loads it and
 * matches the same; a damaged file, or one written for other rules, is never used; a ruleset
 * that lost a rule to a compile error is not cached, so the error is reported every time. */
static size_t
cache_files(const char *dir, char *first, size_t cap)
{
    char cmd[512];
    size_t n = 0;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "ls %s", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(cmd, sizeof(cmd), p) != NULL) {
        if (n++ == 0 && first != NULL) {
            cmd[strcspn(cmd, "\n")] = '\0';
            snprintf(first, cap, "%s/%s", dir, cmd);
        }
    }
    pclose(p);
    return n;
}

static void
test_compiled_cache(void **state)
{
    char dir[] = "/tmp/bnc_rcache_XXXXXX";
    char file[512], cmd[600];
    struct bnc_config cfg;
    struct bnc_ruleset *rs = NULL;
    struct errs e = {0};
    struct rule_src mine = {"cached phrase here ==> soft:blocked\n", "mine.rules"};
    struct rule_src other = {"another phrase ==> soft:blocked\n", "mine.rules"};
    struct rule_src bad = {"/(?<=a+)b/ ==> hard\nok phrase ==> soft:blocked\n", "bad.rules"};
    const struct rule_info *ri;
    FILE *f;
    long sz;
    (void)state;

    assert_non_null(mkdtemp(dir));
    cfg_init(&cfg);
    free(cfg.rules_dir);
    cfg.rules_dir = strdup("");
    free(cfg.rules_cache_dir);
    cfg.rules_cache_dir = strdup(dir);

    /* files of other rule sets unused for 40 days, and a temporary file a write left two
     * days ago, go when a new database is written; a recent one stays */
    {
        static const char *const names[] = {"rules-0000000000000000.hsdb",
                                            ".rules-1111111111111111.hsdb.abcdef",
                                            "rules-2222222222222222.hsdb"};
        const time_t age[] = {40 * 86400, 2 * 86400, 3600};
        size_t k;
        for (k = 0; k < 3; k++) {
            struct utimbuf ut;
            snprintf(file, sizeof(file), "%s/%s", dir, names[k]);
            f = fopen(file, "w");
            assert_non_null(f);
            fputs("old", f);
            fclose(f);
            ut.actime = ut.modtime = time(NULL) - age[k];
            assert_int_equal(utime(file, &ut), 0);
        }
    }
    assert_int_equal(rules_build(&cfg, &mine, 1, collect, &e, &rs), BNC_OK);
    assert_int_equal(e.n, 0);
    rules_free(rs);
    snprintf(file, sizeof(file), "%s/rules-2222222222222222.hsdb", dir);
    assert_int_equal(unlink(file), 0); /* kept; removed here so one file is left */
    assert_int_equal(cache_files(dir, file, sizeof(file)), 1);
    snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c '^\\.rules-'", dir);
    assert_int_not_equal(system(cmd), 0); /* grep found none */
    /* a load: same verdicts, the user rule still first */
    assert_int_equal(rules_build(&cfg, &mine, 1, collect, &e, &rs), BNC_OK);
    ri = match(rs, "550 cached   phrase here");
    assert_non_null(ri);
    assert_string_equal(ri->origin, "mine.rules");
    assert_int_equal(ri->reason, BNC_R_BLOCKED);
    ri = match(rs, "552 5.2.2 Mailbox full");
    assert_non_null(ri);
    assert_int_equal(ri->reason, BNC_R_MAILBOXFULL);
    rules_free(rs);

    /* damage the database bytes: the load fails and the rules are compiled again */
    f = fopen(file, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, sz - 100, SEEK_SET);
    fputs("garbage garbage garbage", f);
    fclose(f);
    assert_int_equal(rules_build(&cfg, &mine, 1, collect, &e, &rs), BNC_OK);
    ri = match(rs, "cached phrase here");
    assert_non_null(ri);
    assert_string_equal(ri->origin, "mine.rules");
    rules_free(rs);
    snprintf(cmd, sizeof(cmd), "grep -q garbage %s", file);
    assert_int_not_equal(system(cmd), 0); /* and written anew */

    /* other rules: their own file; the first one's rules never answer for them */
    assert_int_equal(rules_build(&cfg, &other, 1, collect, &e, &rs), BNC_OK);
    assert_int_equal(cache_files(dir, NULL, 0), 2);
    ri = match(rs, "cached phrase here");
    assert_true(ri == NULL || strcmp(ri->origin, "mine.rules") != 0);
    assert_non_null(match(rs, "another phrase"));
    rules_free(rs);

    /* a rule that does not compile: reported on every build, never cached */
    assert_int_equal(rules_build(&cfg, &bad, 1, collect, &e, &rs), BNC_OK);
    assert_int_equal(e.n, 1);
    rules_free(rs);
    assert_int_equal(rules_build(&cfg, &bad, 1, collect, &e, &rs), BNC_OK);
    assert_int_equal(e.n, 2);
    assert_non_null(match(rs, "ok phrase"));
    rules_free(rs);
    assert_int_equal(cache_files(dir, NULL, 0), 2);

    cfg_free(&cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_compiles),
        cmocka_unit_test(test_provider_codes),
        cmocka_unit_test(test_bad_rules_reported_rest_load),
        cmocka_unit_test(test_user_before_builtin_and_first_line),
        cmocka_unit_test(test_phrase_is_literal),
        cmocka_unit_test(test_regex_white_space),
        cmocka_unit_test(test_check_line),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_config_dir_and_file),
        cmocka_unit_test(test_compiled_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
