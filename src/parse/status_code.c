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

/* A reply code at s[i]: [245][0-5][0-9] not part of a longer number, word or dotted
 * quad; followed by space, '-', end, or punctuation other than '.'. */
static bool
reply_at(const char *s, size_t len, size_t i)
{
    if (i + 3 > len || (s[i] != '2' && s[i] != '4' && s[i] != '5') || s[i + 1] < '0' ||
        s[i + 1] > '5' || !is_digit(s[i + 2])) {
        return false;
    }
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == ':' ||
                  s[i - 1] == '/' || s[i - 1] == '=' || s[i - 1] == '+')) {
        return false;
    }
    if (i + 3 < len) {
        char c = s[i + 3];
        if (is_alnum(c) || c == '.' || c == ':' || c == '/' || c == '@' || c == '_' || c == '%') {
            return false;
        }
    }
    return true;
}

void
status_code_from_text(const char *s, size_t len, char status_out[16], char reply_out[4])
{
    size_t i;
    bool have_st = false, have_rc = false;
    char first_st[16] = "";

    status_out[0] = '\0';
    reply_out[0] = '\0';
    if (s == NULL) {
        return;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c != '2' && c != '4' && c != '5') {
            continue;
        }
        if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '/' ||
                      s[i - 1] == '=' || s[i - 1] == '_')) {
            /* "#5.1.1" and "(5.1.1)" are fine; "x5.1.1" and "1.5.1.1" are not */
            if (!(s[i - 1] == '-' && i >= 4 && reply_at(s, len, i - 4))) {
                continue;
            }
        }
        if (i + 1 < len && s[i + 1] == '.') {
            char st[16];
            size_t used;
            if (!have_st && status_code_parse(s + i, len - i, st, &used)) {
                if (first_st[0] == '\0') {
                    memcpy(first_st, st, strlen(st) + 1);
                }
                /* prefer a code whose class agrees with the reply code */
                if (!have_rc || reply_out[0] == st[0]) {
                    memcpy(status_out, st, strlen(st) + 1);
                    have_st = true;
                }
                i += used - 1;
            }
            continue;
        }
        if (!have_rc && reply_at(s, len, i)) {
            /* a reply code comes before its enhanced code; one found after an enhanced
             * code of another class belongs to something else (a remote host's echo) */
            if (!have_st || status_out[0] == c) {
                reply_out[0] = c;
                reply_out[1] = s[i + 1];
                reply_out[2] = s[i + 2];
                reply_out[3] = '\0';
                have_rc = true;
            }
            i += 2;
        }
        if (have_st && have_rc) {
            break;
        }
    }
    /* an enhanced code of another class than the reply code describes something else */
    if (!have_st && first_st[0] != '\0' && (!have_rc || first_st[0] == reply_out[0])) {
        memcpy(status_out, first_st, strlen(first_st) + 1);
    }
}
