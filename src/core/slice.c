/*
 * slice.c - string slices and cursor parsing helpers.
 */
#include "slice.h"

#include <string.h>

static inline bool
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

struct bnc_slice
slice_trim(struct bnc_slice s)
{
    while (s.len && is_ws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && is_ws(s.p[s.len - 1])) {
        s.len--;
    }
    return s;
}

/* mem_find_ci is the one case-insensitive search of bounced: the parse layer's text_find_ci
 * and the format recognizers' fmt_find_ci call it, dozens of times per message, mostly for
 * short haystacks and phrases that are absent; mem_find is its case-sensitive twin (MIME
 * boundaries). Both test a candidate position on one or two bytes of the needle first and
 * compare the whole needle only there. The per-call setup must stay small: ranking every
 * needle byte cost more than the scan it saved. */

/* Does the needle match at base (ASCII case-insensitive when ci)? */
static inline bool
find_at(const char *base, const char *needle, size_t nlen, bool ci)
{
    return ci ? slice_mem_eq_ci(base, needle, nlen) : memcmp(base, needle, nlen) == 0;
}

#if defined(__SSE2__)
#include <emmintrin.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FIND_AVX2 1
#endif

/* The needle's first and last bytes, case-folded when ci (a letter is OR-ed with 0x20, which
 * maps exactly its two cases onto the lower one), and the fold mask of each. */
struct find_key {
    unsigned char c1, c2, f1, f2;
};

static inline struct find_key
find_key_of(const char *needle, size_t nlen, bool ci)
{
    struct find_key k;
    k.c1 = ci ? slice_lc((unsigned char)needle[0]) : (unsigned char)needle[0];
    k.c2 = ci ? slice_lc((unsigned char)needle[nlen - 1]) : (unsigned char)needle[nlen - 1];
    k.f1 = (ci && k.c1 >= 'a' && k.c1 <= 'z') ? 0x20 : 0;
    k.f2 = (ci && k.c2 >= 'a' && k.c2 <= 'z') ? 0x20 : 0;
    return k;
}

/* The first of the candidate positions i + (each bit set in mask), in order, where the whole
 * needle matches, or NULL: the verification both vector widths share. */
static inline const char *
find_survivor(const char *hay, size_t i, unsigned mask, const char *needle, size_t nlen, bool ci)
{
    while (mask != 0) {
        size_t at = i + (size_t)__builtin_ctz(mask);
        if (find_at(hay + at, needle, nlen, ci)) {
            return hay + at;
        }
        mask &= mask - 1;
    }
    return NULL;
}

/* Sixteen candidate positions at a time from *ip while *ip + 15 <= last (Mula's "generic
 * SIMD" substring search): a position survives when the needle's first and last bytes both
 * match there; survivors are verified in full. *ip is left at the first position not
 * tested. */
static inline const char *
find_sse2(const char *hay, size_t *ip, size_t last, const char *needle, size_t nlen, bool ci,
          struct find_key k)
{
    const __m128i v1 = _mm_set1_epi8((char)k.c1), m1 = _mm_set1_epi8((char)k.f1);
    const __m128i v2 = _mm_set1_epi8((char)k.c2), m2 = _mm_set1_epi8((char)k.f2);
    size_t i = *ip;
    /* the loads read hay[i .. i + 15] and hay[i + nlen - 1 .. i + nlen + 14]: inside hay
     * while i + 15 <= last */
    for (; i + 15 <= last; i += 16) {
        __m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(hay + i));
        __m128i b2 = _mm_loadu_si128((const __m128i *)(const void *)(hay + i + nlen - 1));
        __m128i e = _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(b1, m1), v1),
                                  _mm_cmpeq_epi8(_mm_or_si128(b2, m2), v2));
        const char *hit = find_survivor(hay, i, (unsigned)_mm_movemask_epi8(e), needle, nlen, ci);
        if (hit != NULL) {
            *ip = (size_t)(hit - hay);
            return hit;
        }
    }
    *ip = i;
    return NULL;
}

#ifdef FIND_AVX2
/* The same, thirty-two positions at a time, on a CPU with AVX2 (find_impl() asks). */
__attribute__((target("avx2"))) static const char *
find_avx2(const char *hay, size_t *ip, size_t last, const char *needle, size_t nlen, bool ci,
          struct find_key k)
{
    const __m256i v1 = _mm256_set1_epi8((char)k.c1), m1 = _mm256_set1_epi8((char)k.f1);
    const __m256i v2 = _mm256_set1_epi8((char)k.c2), m2 = _mm256_set1_epi8((char)k.f2);
    size_t i = *ip;
    /* the loads read hay[i .. i + 31] and hay[i + nlen - 1 .. i + nlen + 30]: inside hay
     * while i + 31 <= last */
    for (; i + 31 <= last; i += 32) {
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(const void *)(hay + i));
        __m256i b2 = _mm256_loadu_si256((const __m256i *)(const void *)(hay + i + nlen - 1));
        __m256i e = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_or_si256(b1, m1), v1),
                                     _mm256_cmpeq_epi8(_mm256_or_si256(b2, m2), v2));
        const char *hit =
            find_survivor(hay, i, (unsigned)_mm256_movemask_epi8(e), needle, nlen, ci);
        if (hit != NULL) {
            *ip = (size_t)(hit - hay);
            return hit;
        }
    }
    *ip = i;
    return NULL;
}
#endif

/* Positions are tested in order, thirty-two at a time where the CPU has AVX2, then sixteen,
 * then one by one past the last full block: the first match is found whichever width
 * reached it. */
static inline const char *
find_impl(const char *hay, size_t hlen, const char *needle, size_t nlen, bool ci)
{
    size_t i = 0, last;
    struct find_key k;
    const char *hit;

    if (nlen == 0) {
        return hay;
    }
    if (hay == NULL || nlen > hlen) {
        return NULL;
    }
    k = find_key_of(needle, nlen, ci);
    last = hlen - nlen; /* the last position a match can start at */
#ifdef FIND_AVX2
    if (last >= 31 && __builtin_cpu_supports("avx2")) {
        hit = find_avx2(hay, &i, last, needle, nlen, ci, k);
        if (hit != NULL) {
            return hit;
        }
    }
#endif
    if (last >= 15) {
        hit = find_sse2(hay, &i, last, needle, nlen, ci, k);
        if (hit != NULL) {
            return hit;
        }
    }
    for (; i <= last; i++) {
        if ((unsigned char)(hay[i] | (char)k.f1) == k.c1 &&
            (unsigned char)(hay[i + nlen - 1] | (char)k.f2) == k.c2 &&
            find_at(hay + i, needle, nlen, ci)) {
            return hay + i;
        }
    }
    return NULL;
}

#else

/* How common each byte is in mail text (higher = more common): without vector compares the
 * search anchors on the needle's least common byte so memchr stops rarely. Letters rank by
 * English frequency ("etaoinshrdlcumwfgypbvkjxqz", either case), white space and the
 * punctuation of headers and separators above them, everything else below. */
#define FC_LETTER(l, v) [l] = v, [l - 32] = v
static const unsigned char find_commonness[256] = {
    FC_LETTER('e', 99), FC_LETTER('t', 98), FC_LETTER('a', 97), FC_LETTER('o', 96),
    FC_LETTER('i', 95), FC_LETTER('n', 94), FC_LETTER('s', 93), FC_LETTER('h', 92),
    FC_LETTER('r', 91), FC_LETTER('d', 90), FC_LETTER('l', 89), FC_LETTER('c', 88),
    FC_LETTER('u', 87), FC_LETTER('m', 86), FC_LETTER('w', 85), FC_LETTER('f', 84),
    FC_LETTER('g', 83), FC_LETTER('y', 82), FC_LETTER('p', 81), FC_LETTER('b', 80),
    FC_LETTER('v', 79), FC_LETTER('k', 78), FC_LETTER('j', 77), FC_LETTER('x', 76),
    FC_LETTER('q', 75), FC_LETTER('z', 74), /* letters */
    [' '] = 100,        ['-'] = 85,         ['.'] = 85,         ['\n'] = 85,
    ['\r'] = 85,        ['='] = 85,
};
#undef FC_LETTER

/* Anchored on the needle's least common byte (of its first 64); the next occurrence of each
 * case of that byte is remembered, so memchr passes every byte of the haystack at most
 * twice. */
static inline const char *
find_impl(const char *hay, size_t hlen, const char *needle, size_t nlen, bool ci)
{
    unsigned char lo, up;
    const char *end, *a, *b, *p, *base;
    size_t j, k = 0;
    int best = 1000;

    if (nlen == 0) {
        return hay;
    }
    if (hay == NULL || nlen > hlen) {
        return NULL;
    }
    for (j = 0; j < nlen && j < 64; j++) {
        int r = find_commonness[(unsigned char)needle[j]];
        if (r == 0) {
            r = 50; /* digits, punctuation, 8-bit: rarer than any letter */
        }
        if (r < best) {
            best = r;
            k = j;
        }
    }
    lo = ci ? slice_lc((unsigned char)needle[k]) : (unsigned char)needle[k];
    up = (ci && lo >= 'a' && lo <= 'z') ? (unsigned char)(lo - 32) : lo;
    /* the anchor byte of a match lies in [hay + k, end) */
    end = hay + (hlen - nlen + 1) + k;
    a = memchr(hay + k, lo, (size_t)(end - (hay + k)));
    b = up != lo ? memchr(hay + k, up, (size_t)(end - (hay + k))) : NULL;
    while (a != NULL || b != NULL) {
        p = (a == NULL) ? b : (b == NULL ? a : (a < b ? a : b));
        base = p - k;
        if (find_at(base, needle, nlen, ci)) {
            return base;
        }
        if (p == a) {
            a = p + 1 < end ? memchr(p + 1, lo, (size_t)(end - p - 1)) : NULL;
        } else {
            b = p + 1 < end ? memchr(p + 1, up, (size_t)(end - p - 1)) : NULL;
        }
    }
    return NULL;
}

#endif

const char *
mem_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    return find_impl(hay, hlen, needle, nlen, true);
}

const char *
mem_find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    return find_impl(hay, hlen, needle, nlen, false);
}

int
cur_skip_ws(const char **pp, const char *end)
{
    const char *p = *pp;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    *pp = p;
    return 0;
}

int
cur_char(const char **pp, const char *end, char c)
{
    if (*pp < end && **pp == c) {
        (*pp)++;
        return 0;
    }
    return 1;
}

int
cur_lit_ci(const char **pp, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *pp) < n || !slice_prefix_ci(slice_make(*pp, n), lit)) {
        return 1;
    }
    *pp += n;
    return 0;
}

int
cur_until(const char **pp, const char *end, char stop, struct bnc_slice *out)
{
    const char *q = memchr(*pp, stop, (size_t)(end - *pp));
    if (q == NULL) {
        return 1;
    }
    out->p = *pp;
    out->len = (size_t)(q - *pp);
    *pp = q;
    return 0;
}

int
cur_digits(const char **pp, const char *end, size_t min, size_t max, struct bnc_slice *out)
{
    const char *p = *pp;
    size_t n = 0;

    while (p < end && *p >= '0' && *p <= '9' && n < max + 1) {
        p++;
        n++;
    }
    if (n < min || n > max) {
        return 1;
    }
    out->p = *pp;
    out->len = n;
    *pp = p;
    return 0;
}
