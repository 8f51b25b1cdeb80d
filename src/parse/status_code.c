/*
 * status_code.c - RFC 3463 enhanced status codes and SMTP reply codes, validated or found
 * in free text ("smtp; 550 5.1.1 <x@y>: user unknown" gives 5.1.1 and 550).
 *
 * Does not map codes to reasons (classify/ does).
 * STANDARDS: RFC 3463 §2 (class.subject.detail; class 2, 4 or 5; subject and detail 1-3
 * digits), RFC 5321 §4.2 (reply codes: 2yz-5yz), RFC 2034 (codes in reply text).
 * LIMITS: pure functions over (ptr, len); no allocation; text scans are linear.
 */
#include "parse/parse.h"

#include <string.h>

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool
status_code_parse(const char *s, size_t len, char out[16], size_t *consumed_out)
{
    size_t i = 0, a, b;

    if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') {
        return false;
    }
    i = 2;
    a = i;
    while (i < len && is_digit(s[i]) && i - a < 4) {
        i++;
    }
    if (i == a || i - a > 3 || i >= len || s[i] != '.') {
        return false;
    }
    i++;
    b = i;
    while (i < len && is_digit(s[i]) && i - b < 4) {
        i++;
    }
    if (i == b || i - b > 3) {
        return false;
    }
    /* "5.1.1.2" or "5.1.10x" is something else */
    if (i < len &&
        (is_digit(s[i]) || (s[i] == '.' && i + 1 < len && is_digit(s[i + 1])) || is_alnum(s[i]))) {
        return false;
    }
    memcpy(out, s, i);
    out[i] = '\0';
    if (consumed_out != NULL) {
        *consumed_out = i;
    }
    return true;
}

/* Reply codes seen in real SMTP conversations (RFC 5321 §4.2.3, RFC 3207, RFC 4954,
 * RFC 7504 and common vendor use); other three-digit numbers are not taken as replies.
 * Indexed by the code's value: every digit 2, 4 or 5 of a text is looked up here. */
static const bool reply_codes[600] = {
    [211] = true, [214] = true, [220] = true, [221] = true, [235] = true, [250] = true,
    [251] = true, [252] = true, [253] = true, [421] = true, [422] = true, [430] = true,
    [432] = true, [441] = true, [442] = true, [446] = true, [447] = true, [449] = true,
    [450] = true, [451] = true, [452] = true, [453] = true, [454] = true, [455] = true,
    [458] = true, [459] = true, [500] = true, [501] = true, [502] = true, [503] = true,
    [504] = true, [521] = true, [523] = true, [525] = true, [530] = true, [534] = true,
    [535] = true, [538] = true, [550] = true, [551] = true, [552] = true, [553] = true,
    [554] = true, [555] = true, [556] = true, [557] = true, [571] = true};

static bool
reply_known(char a, char b, char c)
{
    if (!is_digit(a) || !is_digit(b) || !is_digit(c) || a > '5') {
        return false;
    }
    return reply_codes[(a - '0') * 100 + (b - '0') * 10 + (c - '0')];
}

/* A reply code at s[i]: a known code not part of a longer number, word or dotted quad;
 * followed by space, '-', end, or punctuation other than '.'. */
static bool
reply_at(const char *s, size_t len, size_t i)
{
    if (i + 3 > len || !reply_known(s[i], s[i + 1], s[i + 2])) {
        return false;
    }
    /* ":550" (a label such as "ERROR_CODE :550") is fine; "12:550" (a time, a port) is not */
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '/' ||
                  s[i - 1] == '=' || s[i - 1] == '+' ||
                  (s[i - 1] == ':' && i > 1 && (is_alnum(s[i - 2]) || s[i - 2] == '.')))) {
        return false;
    }
    if (i + 3 < len) {
        char c = s[i + 3];
        if (is_alnum(c) || c == '.' || c == '/' || c == '@' || c == '_' || c == '%') {
            return false;
        }
        /* "550: 5.2.2" is a reply; "550:25" is not */
        if (c == ':' && i + 4 < len && s[i + 4] != ' ' && s[i + 4] != '\t') {
            return false;
        }
    }
    return true;
}

#define SC_MAX_CAND 8

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* First i >= from with s[i] a class digit ('2', '4' or '5'), or len. Codes are a few bytes
 * of a text of hundreds: sixteen bytes are tested at a time where SSE2 exists. */
static size_t
sc_next_candidate(const char *s, size_t from, size_t len)
{
    size_t i = from;
#if defined(__SSE2__)
    const __m128i d2 = _mm_set1_epi8('2'), d4 = _mm_set1_epi8('4'), d5 = _mm_set1_epi8('5');

    for (; i + 16 <= len; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, d2), _mm_cmpeq_epi8(b, d4)),
                                 _mm_cmpeq_epi8(b, d5));
        unsigned mask = (unsigned)_mm_movemask_epi8(e);
        if (mask != 0) {
            return i + (size_t)__builtin_ctz(mask);
        }
    }
#endif
    while (i < len && s[i] != '2' && s[i] != '4' && s[i] != '5') {
        i++;
    }
    return i;
}

void
status_code_from_text(const char *s, size_t len, char status_out[16], char reply_out[4])
{
    char sts[SC_MAX_CAND][16], rps[SC_MAX_CAND][4];
    size_t i, k, nst = 0, nrp = 0;
    const char *st = NULL, *rp = NULL;

    status_out[0] = '\0';
    reply_out[0] = '\0';
    if (s == NULL) {
        return;
    }
    for (i = sc_next_candidate(s, 0, len); i < len && (nst < SC_MAX_CAND || nrp < SC_MAX_CAND);
         i = sc_next_candidate(s, i + 1, len)) {
        /* s[i] is '2', '4' or '5' */
        if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '/' ||
                      s[i - 1] == '=' || s[i - 1] == '_')) {
            /* "#5.1.1" and "(5.1.1)" are fine; "x5.1.1" and "1.5.1.1" are not; "550-5.1.1" is */
            if (!(s[i - 1] == '-' && i >= 4 && reply_at(s, len, i - 4))) {
                continue;
            }
        }
        if (i + 1 < len && s[i + 1] == '.') {
            size_t used;
            if (nst < SC_MAX_CAND && status_code_parse(s + i, len - i, sts[nst], &used)) {
                nst++;
                i += used - 1;
            }
            continue;
        }
        if (nrp < SC_MAX_CAND && reply_at(s, len, i)) {
            memcpy(rps[nrp], s + i, 3);
            rps[nrp][3] = '\0';
            nrp++;
            i += 2;
        }
    }
    if (nst > 0) {
        /* the first enhanced code, unless the first failure reply names another class and
         * a code of that class follows ("550 ... 4.4.1 ... 5.1.1") */
        st = sts[0];
        for (k = 0; k < nrp; k++) {
            if (rps[k][0] != '2') {
                break;
            }
        }
        if (k < nrp && rps[k][0] != st[0]) {
            for (i = 1; i < nst; i++) {
                if (sts[i][0] == rps[k][0]) {
                    st = sts[i];
                    break;
                }
            }
        }
        /* the reply of the same class; another class describes something else */
        for (k = 0; k < nrp; k++) {
            if (rps[k][0] == st[0]) {
                rp = rps[k];
                break;
            }
        }
        if (rp == NULL && nrp > 0 && st[0] != rps[0][0]) {
            /* "550 ... 4.4.1": the code contradicts the reply; keep the reply only */
            for (k = 0; k < nrp && rps[k][0] == '2'; k++) {
            }
            if (k < nrp) {
                rp = rps[k];
                st = NULL;
            }
        }
    } else if (nrp > 0) {
        /* a failure reply before a greeting or a "250 ok" of another step */
        for (k = 0; k < nrp && rps[k][0] == '2'; k++) {
        }
        rp = k < nrp ? rps[k] : rps[0];
    }
    if (st != NULL) {
        memcpy(status_out, st, strlen(st) + 1);
    }
    if (rp != NULL) {
        memcpy(reply_out, rp, 4);
    }
}
