/*
 * email.c - normalize an e-mail address to the one form bounced stores and compares (see
 * email.h).
 *
 * Mail compares a domain case-insensitively and, since IDNA, as the same name whether it is
 * written in Unicode (U-labels) or in its ASCII-compatible encoding (A-labels, "xn--"); a
 * fully qualified "example.com." is "example.com". A local part belongs to the receiving
 * host (RFC 5321 §2.4): bounced changes nothing in it but the case of ASCII letters, which
 * is how it has always compared local parts (no dot or "+tag" folding: those are one
 * provider's habits, not mail's).
 * A-labels rather than Unicode: the form on the wire (RFC 5890 §2.3.2.1: what an MTA
 * without SMTPUTF8 writes in a DSN, and what bounce classifiers such as Sisimai report),
 * plain ASCII in every table, and one that needs no Unicode collation to compare.
 * What it does not do: check that a domain exists, or unescape quoted local parts (a
 * quoted local part with white space is refused, as it always was).
 * STANDARDS: RFC 5321 §2.4 (local part case), §4.5.3.1 (lengths); RFC 5890/5891 (IDNA2008);
 * UTS #46 (compatibility processing, non-transitional: "ß" stays "ß"); RFC 1034 §3.1
 * (trailing dot).
 * LIMITS: EMAIL_MAX bytes in and out (an A-label form that would not fit is kept as
 * written). An ASCII domain is in its one form once lower-cased (A-labels stay as they
 * are): that fast path, which nearly every address takes, never calls libidn2.
 */
#include "core/email.h"

#include <idn2.h>
#include <string.h>

#include "core/utf8.h"

static char
ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/*
 * The domain d[0..n) folded into out (room bytes, NUL included): one trailing dot dropped,
 * ASCII lower-cased, then IDNA-mapped to A-labels when it needs it and IDNA accepts it.
 * Returns the length, 0 when nothing usable is left.
 */
static size_t
domain_fold(const char *d, size_t n, char *out, size_t room)
{
    char *ace = NULL;
    size_t i, len;

    if (n > 0 && d[n - 1] == '.') {
        n--;
    }
    if (n == 0 || n >= room || d[0] == '.') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        out[i] = ascii_lower(d[i]);
    }
    out[n] = '\0';
    len = n;
    if (out[0] == '[' || utf8_ascii(out, n)) {
        return len; /* a domain literal, or plain ASCII: already in its one form */
    }
    if (idn2_lookup_u8((const uint8_t *)out, (uint8_t **)&ace,
                       IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) == IDN2_OK) {
        size_t al = strlen(ace);
        if (al > 0 && al < room) {
            memcpy(out, ace, al + 1);
            len = al;
        }
    }
    idn2_free(ace);
    return len;
}

/* Trim white space around s[0..*n); false when a forbidden byte is left inside. */
static bool
trim_check(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n, i;

    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                       p[len - 1] == '\n')) {
        len--;
    }
    if (len == 0 || len > EMAIL_MAX || !utf8_valid(p, len)) {
        return false;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',') {
            return false;
        }
    }
    *s = p;
    *n = len;
    return true;
}

bool
email_normalize(const char *in, size_t n, char out[EMAIL_MAX + 1], size_t *len_out)
{
    const char *at;
    size_t lp, i, dl;

    out[0] = '\0';
    if (len_out != NULL) {
        *len_out = 0;
    }
    if (in == NULL || !trim_check(&in, &n) || (at = memchr(in, '@', n)) == NULL ||
        memchr(at + 1, '@', n - (size_t)(at - in) - 1) != NULL) {
        return false;
    }
    lp = (size_t)(at - in);
    if (lp == 0) {
        return false;
    }
    for (i = 0; i < lp; i++) {
        out[i] = ascii_lower(in[i]);
    }
    out[lp] = '@';
    dl = domain_fold(at + 1, n - lp - 1, out + lp + 1, EMAIL_MAX + 1 - (lp + 1));
    if (dl == 0) {
        out[0] = '\0';
        return false;
    }
    if (len_out != NULL) {
        *len_out = lp + 1 + dl;
    }
    return true;
}

bool
email_normalize_domain(const char *in, size_t n, char out[EMAIL_MAX + 1])
{
    out[0] = '\0';
    if (in == NULL || !trim_check(&in, &n) || memchr(in, '@', n) != NULL) {
        return false;
    }
    return domain_fold(in, n, out, EMAIL_MAX + 1) > 0;
}
