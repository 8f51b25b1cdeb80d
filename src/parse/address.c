/*
 * address.c - extract and normalise one e-mail address from a DSN field or header value.
 *
 * Handles "rfc822;" / "utf-8;" address-type prefixes, display names, angle brackets,
 * comments, "mailto:", quotes around the whole address, trailing punctuation, and VERP forms
 * ("bounces+user=example.com@return.example.net" gives user@example.com). The result is in
 * the one form bounced stores and compares (core/email.h: ASCII-lower-cased local part,
 * IDNA-mapped and case-folded domain in A-labels), so a DSN naming "anna@bücher.example"
 * and a contact "anna@xn--bcher-kva.example" meet. RFC 6533 "\x{HHHH}" escapes are decoded to UTF-8.
 * Does not validate domains against DNS.
 * STANDARDS: RFC 5322 §3.4 (addr-spec, angle-addr, comments), RFC 3464 §2.3.2
 * (address-type;address), RFC 6533 §3 (utf-8 address type).
 * LIMITS: addresses longer than ADDR_MAX bytes are rejected (RFC 5321 §4.5.3.1 allows 256
 * for a path); no recursion.
 */
#include "parse/parse.h"

#include <string.h>

#include "core/email.h"

#define ADDR_MAX 320

static bool
addr_char_ok(unsigned char c)
{
    return c > ' ' && c != '<' && c != '>' && c != '(' && c != ')' && c != ',' && c != ';' &&
           c != '[' && c != ']' && c != '\\' && c != 127 && c != ':';
}

/* VERP: "<prefix>+<local>=<domain>@<return domain>" -> "<local>@<domain>". */
static size_t
addr_verp(char *s, size_t n)
{
    char *at = memchr(s, '@', n), *plus, *eq, *k;
    size_t ll, dl;

    if (at == NULL) {
        return n;
    }
    plus = memchr(s, '+', (size_t)(at - s));
    if (plus == NULL || plus == s) {
        return n;
    }
    /* the last '=' between '+' and '@' separates local part and domain */
    eq = NULL;
    for (k = plus + 1; k < at; k++) {
        if (*k == '=') {
            eq = k;
        }
    }
    if (eq == NULL || eq == plus + 1 || eq + 1 >= at) {
        return n;
    }
    if (memchr(eq + 1, '.', (size_t)(at - eq - 1)) == NULL) {
        return n;
    }
    ll = (size_t)(eq - plus - 1);
    dl = (size_t)(at - eq - 1);
    memmove(s, plus + 1, ll);
    s[ll] = '@';
    memmove(s + ll + 1, eq + 1, dl);
    return ll + 1 + dl;
}

/* RFC 6533 §3: "\x{HHHH}" embedded Unicode in utf-8 address types, decoded to UTF-8 into
 * out (at least n bytes); returns the new length. */
static size_t
addr_unescape(const char *p, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (p[i] == '\\' && i + 3 < n && p[i + 1] == 'x' && p[i + 2] == '{') {
            size_t j = i + 3;
            unsigned long cp = 0;
            while (j < n && j - i < 10 && p[j] != '}') {
                char c = p[j];
                int v = (c >= '0' && c <= '9')   ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
                if (v < 0) {
                    break;
                }
                cp = cp * 16 + (unsigned long)v;
                j++;
            }
            if (j < n && p[j] == '}' && j > i + 3 && cp >= 0x80 && cp <= 0x10FFFF &&
                !(cp >= 0xD800 && cp <= 0xDFFF)) {
                /* "\x{HHHH}" is at least 6 bytes, its UTF-8 form at most 4 */
                if (cp < 0x800) {
                    out[o++] = (char)(0xC0 | (cp >> 6));
                } else if (cp < 0x10000) {
                    out[o++] = (char)(0xE0 | (cp >> 12));
                    out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                } else {
                    out[o++] = (char)(0xF0 | (cp >> 18));
                    out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                }
                out[o++] = (char)(0x80 | (cp & 0x3F));
                i = j + 1;
                continue;
            }
        }
        out[o++] = p[i++];
    }
    return o;
}

static const char *addr_clean(struct bnc_report *r, const char *p, size_t n, bool field);
static const char *addr_finish(struct bnc_report *r, const char *s, size_t len);

const char *
addr_normalize(struct bnc_report *r, const char *p, size_t n)
{
    return addr_clean(r, p, n, false);
}

const char *
addr_normalize_field(struct bnc_report *r, const char *p, size_t n)
{
    return addr_clean(r, p, n, true);
}

/* field: the value is an address field (a DSN's Final-Recipient, a log's to=<>, a webhook's
 * recipient), so a domain of one label ("user@localhost") is taken as written; in free text
 * a domain needs a dot, which keeps words like "user@host" in prose from becoming recipients. */
static const char *
addr_clean(struct bnc_report *r, const char *p, size_t n, bool field)
{
    const char *end, *lt, *gt, *s, *e, *at;
    char buf[ADDR_MAX + 1];
    size_t o = 0, i;
    int depth = 0;
    bool quoted = false;

    if (p == NULL || n == 0) {
        return NULL;
    }
    /* (a backslash first: most addresses have none, and memchr is the cheaper look) */
    if (n <= 4 * ADDR_MAX && memchr(p, '\\', n) != NULL && text_find_ci(p, n, "\\x{", 3) != NULL) {
        char *u = arena_alloc(r->arena, n);
        if (u == NULL) {
            r->flags |= BNC_PF_TRUNCATED;
            return NULL;
        }
        n = addr_unescape(p, n, u);
        p = u;
    }
    end = p + n;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    /* address-type prefix: an atom followed by ';' before any '@' */
    {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        at = memchr(p, '@', (size_t)(end - p));
        if (semi != NULL && (at == NULL || semi < at) && semi - p <= 16) {
            const char *q = p;
            while (q < semi && (((*q | 32) >= 'a' && (*q | 32) <= 'z') || *q == '-' ||
                                (*q >= '0' && *q <= '9') || *q == ' ')) {
                q++;
            }
            if (q == semi) {
                p = semi + 1;
            }
        }
    }
    /* angle brackets win: "Name <a@b>" */
    lt = memchr(p, '<', (size_t)(end - p));
    if (lt != NULL) {
        gt = memchr(lt + 1, '>', (size_t)(end - lt - 1));
        if (gt != NULL && memchr(lt + 1, '@', (size_t)(gt - lt - 1)) != NULL) {
            p = lt + 1;
            end = gt;
        } else if (gt == NULL && memchr(lt + 1, '@', (size_t)(end - lt - 1)) != NULL) {
            p = lt + 1;
        }
    }
    /* copy without comments and white space; stop at the first separator after the @ */
    for (s = p; s < end; s++) {
        unsigned char c = (unsigned char)*s;
        if (depth > 0) {
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            }
            continue;
        }
        if (c == '"') {
            quoted = !quoted;
            if (o + 1 > ADDR_MAX) {
                return NULL;
            }
            buf[o++] = '"';
            continue;
        }
        if (quoted) {
            if (c < ' ' || o + 1 > ADDR_MAX) {
                return NULL;
            }
            buf[o++] = (char)c;
            continue;
        }
        if (c == '(') {
            depth = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (o > 0 && memchr(buf, '@', o) != NULL) {
                break;
            }
            o = 0; /* words before the address: "user unknown: a@b" */
            continue;
        }
        if (!addr_char_ok(c)) {
            if (o > 0 && memchr(buf, '@', o) != NULL) {
                break;
            }
            o = 0;
            continue;
        }
        if (o + 1 > ADDR_MAX) {
            return NULL;
        }
        buf[o++] = (char)c;
    }
    /* strip "mailto:" (the ':' stopped us) and surrounding quotes / trailing dots */
    while (o > 0 && (buf[o - 1] == '.' || buf[o - 1] == '\'' || buf[o - 1] == '"')) {
        if (buf[o - 1] == '"' && memchr(buf, '"', o - 1) != NULL && buf[0] != '"') {
            break;
        }
        o--;
    }
    s = buf;
    e = buf + o;
    while (s < e && (*s == '\'' || *s == '.')) {
        s++;
    }
    if (e - s >= 2 && s[0] == '"' && e[-1] == '"' && memchr(s + 1, '@', (size_t)(e - s - 2))) {
        s++;
        e--;
    }
    at = NULL;
    for (i = 0; i < (size_t)(e - s); i++) {
        if (s[i] == '@') {
            at = s + i;
        }
    }
    if (at == NULL || at == s || at + 1 >= e ||
        (!field && memchr(at + 1, '.', (size_t)(e - at - 1)) == NULL)) {
        return NULL;
    }
    if (field && at[1] == '.') {
        return NULL;
    }
    return addr_finish(r, s, (size_t)(e - s));
}

/* The cleaned address s[0..len) VERP-decoded and in the one form bounced compares
 * (core/email.h), copied into the report's arena. An address that form refuses (a quoted
 * local part with white space) is kept with ASCII lower-cased, as found. */
static const char *
addr_finish(struct bnc_report *r, const char *s, size_t len)
{
    char tmp[ADDR_MAX + 1], norm[EMAIL_MAX + 1];
    const char *src = tmp;
    size_t i, nl;
    char *d;

    for (i = 0; i < len; i++) {
        char c = s[i];
        tmp[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    len = addr_verp(tmp, len);
    if (email_normalize(tmp, len, norm, &nl)) {
        src = norm;
        len = nl;
    }
    if ((d = arena_alloc(r->arena, len + 1)) == NULL) {
        r->flags |= BNC_PF_TRUNCATED;
        return NULL;
    }
    memcpy(d, src, len);
    d[len] = '\0';
    return d;
}
