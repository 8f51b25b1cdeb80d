/*
 * charset.c - convert text in any charset to UTF-8 through iconv (glibc).
 *
 * Fast paths: US-ASCII/UTF-8 text that is already valid is returned as a slice of the input
 * (no copy); Latin-1 is converted by hand; ISO-2022-JP text without an escape sequence (often
 * English under a Japanese MTA's default charset) is ASCII, copied as iconv would give it.
 * Everything else goes through iconv with one cached converter per charset per thread (for
 * ISO-2022-JP, a byte it must reject is replaced without asking it). Misspelled and vendor
 * names ("uft-8", "iso8859-1", "x-sjis", "ks_c_5601-1987") are mapped by an alias table
 * first.
 * Does not guess charsets from content beyond "valid UTF-8 or not": an unknown charset is
 * read as UTF-8 when valid, else as Latin-1.
 * STANDARDS: RFC 2045 §5.1 (charset parameter), RFC 2152 (UTF-7), RFC 1468 (ISO-2022-JP).
 * LIMITS: output is allocated from the caller's arena (its cap bounds it); invalid or
 * truncated input sequences become U+FFFD, never dropped silently.
 * Ownership: output lives in the arena (or points into the input on the fast path).
 */
#include "parse/parse.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <string.h>

#include "core/utf8.h"

#define CS_NAME_MAX 40
#define CS_CACHE    8

struct cs_entry {
    char name[CS_NAME_MAX];
    iconv_t cd;
    bool bad; /* iconv_open failed: do not retry */
};

static _Thread_local struct cs_entry cs_cache[CS_CACHE];
static _Thread_local unsigned cs_next;
/* Closes a thread's converters when it exits (parse workers, daemon threads). */
static pthread_key_t cs_tls_key;
static pthread_once_t cs_tls_once = PTHREAD_ONCE_INIT;

static void
cs_tls_free(void *p)
{
    struct cs_entry *c = p;
    unsigned i;
    for (i = 0; i < CS_CACHE; i++) {
        if (c[i].name[0] != '\0' && !c[i].bad) {
            iconv_close(c[i].cd);
        }
        c[i].name[0] = '\0';
    }
}

static void
cs_tls_init(void)
{
    (void)pthread_key_create(&cs_tls_key, cs_tls_free);
}

static const struct {
    const char *alias;
    const char *name;
} cs_aliases[] = {
    {"uft-8", "utf-8"},
    {"utf8", "utf-8"},
    {"utf-8", "utf-8"},
    {"x-unknown", "utf-8"},
    {"unknown-8bit", "utf-8"},
    {"us-ascii", "utf-8"},
    {"ascii", "utf-8"},
    {"ansi_x3.4-1968", "utf-8"},
    {"iso8859-1", "latin1"},
    {"iso-8859-1", "latin1"},
    {"iso_8859-1", "latin1"},
    {"iso8859_1", "latin1"},
    {"latin-1", "latin1"},
    {"latin1", "latin1"},
    {"l1", "latin1"},
    {"x-sjis", "CP932"},
    {"sjis", "CP932"},
    {"shift-jis", "CP932"},
    {"shift_jis", "CP932"},
    {"ms_kanji", "CP932"},
    {"windows-31j", "CP932"},
    {"cp932", "CP932"},
    {"iso-2022-jp", "ISO-2022-JP-2"},
    {"iso2022jp", "ISO-2022-JP-2"},
    {"euc-jp", "EUC-JP-MS"},
    {"eucjp", "EUC-JP-MS"},
    {"x-euc-jp", "EUC-JP-MS"},
    {"ks_c_5601-1987", "CP949"},
    {"euc-kr", "CP949"},
    {"gb2312", "GB18030"},
    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},
    {"big5", "BIG5-HKSCS"},
    {"utf-7", "UTF-7"},
    {"unicode-1-1-utf-7", "UTF-7"},
    {"iso8859-15", "ISO-8859-15"},
    {"iso8859-2", "ISO-8859-2"},
    {"cp1252", "WINDOWS-1252"},
    {"cp1251", "WINDOWS-1251"},
    {"cp1250", "WINDOWS-1250"},
};

static void cs_fix_name(const char *cs, size_t n, char out[CS_NAME_MAX]);
static bnc_status cs_latin1(struct arena *a, const char *in, size_t n, struct bnc_slice *out);
static bnc_status cs_utf8_fix(struct arena *a, const char *in, size_t n, struct bnc_slice *out);
static bnc_status cs_iconv(struct arena *a, iconv_t cd, const char *in, size_t n,
                           struct bnc_slice *out, bool lead8);
static iconv_t cs_open(const char *name);

bnc_status
charset_to_utf8(struct arena *a, const char *charset, size_t charset_len, const char *in,
                size_t inlen, struct bnc_slice *out)
{
    char name[CS_NAME_MAX];
    iconv_t cd;

    *out = slice_make(in, inlen);
    if (inlen == 0) {
        return BNC_OK;
    }
    cs_fix_name(charset, charset_len, name);
    if (name[0] == '\0' || strcmp(name, "utf-8") == 0) {
        if (utf8_valid(in, inlen)) {
            return BNC_OK;
        }
        if (name[0] == '\0') {
            return cs_latin1(a, in, inlen, out);
        }
        return cs_utf8_fix(a, in, inlen, out);
    }
    if (strcmp(name, "latin1") == 0) {
        return cs_latin1(a, in, inlen, out);
    }
    /* pure ASCII is the same in every charset except the 7-bit escape-based ones */
    if (strcmp(name, "ISO-2022-JP-2") != 0 && strcmp(name, "UTF-7") != 0 &&
        strncmp(name, "iso-2022", 8) != 0 && strncmp(name, "utf-16", 6) != 0 &&
        strncmp(name, "utf-32", 6) != 0) {
        if (utf8_ascii(in, inlen)) {
            return BNC_OK;
        }
    }
    if (strcmp(name, "ISO-2022-JP-2") == 0 && utf8_ascii(in, inlen) &&
        memchr(in, 0x1b, inlen) == NULL && memchr(in, 0x0e, inlen) == NULL &&
        memchr(in, 0x0f, inlen) == NULL) {
        /* without an escape sequence (ESC; nor SO, SI) the text never leaves ASCII: the
         * converter would give the same bytes back, so they are copied as it would */
        char *o = arena_alloc(a, inlen + 1);
        if (o == NULL) {
            return BNC_ELIMIT;
        }
        memcpy(o, in, inlen);
        o[inlen] = '\0';
        *out = slice_make(o, inlen);
        return BNC_OK;
    }
    cd = cs_open(name);
    if (cd == (iconv_t)-1) {
        if (utf8_valid(in, inlen)) {
            return BNC_OK;
        }
        return cs_latin1(a, in, inlen, out);
    }
    return cs_iconv(a, cd, in, inlen, out, strcmp(name, "ISO-2022-JP-2") == 0);
}

static void
cs_fix_name(const char *cs, size_t n, char out[CS_NAME_MAX])
{
    size_t i, o = 0;

    out[0] = '\0';
    if (cs == NULL) {
        return;
    }
    for (i = 0; i < n && o + 1 < CS_NAME_MAX; i++) {
        unsigned char c = (unsigned char)cs[i];
        if (c == '"' || c == '\'' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c + 32);
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':')) {
            out[0] = '\0'; /* not a charset name: treat as unknown */
            return;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    for (i = 0; i < sizeof(cs_aliases) / sizeof(cs_aliases[0]); i++) {
        if (strcmp(out, cs_aliases[i].alias) == 0) {
            size_t l = strlen(cs_aliases[i].name);
            memcpy(out, cs_aliases[i].name, l + 1);
            return;
        }
    }
}

static iconv_t
cs_open(const char *name)
{
    unsigned i;
    struct cs_entry *e;

    for (i = 0; i < CS_CACHE; i++) {
        if (cs_cache[i].name[0] != '\0' && strcmp(cs_cache[i].name, name) == 0) {
            return cs_cache[i].bad ? (iconv_t)-1 : cs_cache[i].cd;
        }
    }
    if (cs_next == 0) {
        (void)pthread_once(&cs_tls_once, cs_tls_init);
        (void)pthread_setspecific(cs_tls_key, cs_cache);
    }
    e = &cs_cache[cs_next++ % CS_CACHE];
    if (e->name[0] != '\0' && !e->bad) {
        iconv_close(e->cd);
    }
    memcpy(e->name, name, strlen(name) + 1);
    e->cd = iconv_open("UTF-8", name);
    e->bad = e->cd == (iconv_t)-1;
    return e->cd;
}

static bnc_status
cs_latin1(struct arena *a, const char *in, size_t n, struct bnc_slice *out)
{
    char *o = arena_alloc(a, n * 2 + 1);
    size_t i, k = 0;

    if (o == NULL) {
        return BNC_ELIMIT;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x80) {
            o[k++] = (char)c;
        } else {
            o[k++] = (char)(0xC0 | (c >> 6));
            o[k++] = (char)(0x80 | (c & 0x3F));
        }
    }
    o[k] = '\0';
    *out = slice_make(o, k);
    return BNC_OK;
}

static bnc_status
cs_utf8_fix(struct arena *a, const char *in, size_t n, struct bnc_slice *out)
{
    char *o = arena_alloc(a, n * 3 + 1);
    size_t i = 0, k = 0;

    if (o == NULL) {
        return BNC_ELIMIT;
    }
    while (i < n) {
        size_t l = utf8_valid_len((const unsigned char *)in + i, n - i);
        if (l == 0) {
            memcpy(o + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i++;
        } else {
            memcpy(o + k, in + i, l);
            k += l;
            i += l;
        }
    }
    o[k] = '\0';
    *out = slice_make(o, k);
    return BNC_OK;
}

/* Grow buf (arena) to twice its capacity, keeping its first used bytes; false when the arena
 * is exhausted. */
static bool
cs_grow(struct arena *a, char **buf, size_t *cap, size_t used)
{
    size_t ncap = *cap * 2;
    char *nb = arena_alloc(a, ncap + 1);

    if (nb == NULL) {
        return false;
    }
    memcpy(nb, *buf, used);
    *buf = nb;
    *cap = ncap;
    return true;
}

/* lead8: the converter rejects every byte >= 0x80 in its initial state, consuming nothing
 * (ISO-2022-JP-2 as glibc has it), so such a byte there is replaced without calling it. */
static bnc_status
cs_iconv(struct arena *a, iconv_t cd, const char *in, size_t n, struct bnc_slice *out,
         bool lead8)
{
    size_t cap = n * 3 + 16, used = 0;
    char *buf = arena_alloc(a, cap + 1);
    char *ip = (char *)(uintptr_t)in;
    size_t il = n;
    bool fresh = true; /* the converter is in its initial state */

    if (buf == NULL) {
        return BNC_ELIMIT;
    }
    iconv(cd, NULL, NULL, NULL, NULL);
    while (il > 0) {
        char *op = buf + used;
        size_t ol = cap - used;
        size_t rc;
        bool called = !(lead8 && fresh && (unsigned char)*ip >= 0x80);

        if (called) {
            rc = iconv(cd, &ip, &il, &op, &ol);
            used = (size_t)(op - buf);
            if (rc != (size_t)-1) {
                break;
            }
            if (errno == E2BIG) {
                if (!cs_grow(a, &buf, &cap, used)) {
                    return BNC_ELIMIT;
                }
                fresh = false;
                continue;
            }
        }
        /* EILSEQ or EINVAL: one replacement character, skip one byte */
        if (cap - used < 8 && !cs_grow(a, &buf, &cap, used)) {
            return BNC_ELIMIT;
        }
        memcpy(buf + used, "\xEF\xBF\xBD", 3);
        used += 3;
        ip++;
        il--;
        if (called) {
            iconv(cd, NULL, NULL, NULL, NULL); /* (else it is still in its initial state) */
        }
        fresh = true;
    }
    {
        /* flush shift state */
        char *op = buf + used;
        size_t ol = cap - used;
        iconv(cd, NULL, NULL, &op, &ol);
        used = (size_t)(op - buf);
    }
    buf[used] = '\0';
    if (!utf8_valid(buf, used)) {
        return cs_utf8_fix(a, buf, used, out);
    }
    *out = slice_make(buf, used);
    return BNC_OK;
}
