/*
 * textscan.c - text search helpers of the parse layer: text_find_ci (the parse layer's name
 * for core's linear case-insensitive search, mem_find_ci) and marker-line lookup.
 * Does not fold non-ASCII bytes. LIMITS: none; no allocation.
 */
#include "parse/parse.h"

#include <string.h>

const char *
text_find_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    return mem_find_ci(hay, hlen, needle, nlen);
}

/* Markers whose key offsets are computed once per key (more are handled one by one). */
#define TEXT_MARKERS_MAX 32

/* Offset of the first occurrence of key in marker k, or -1: once per key and marker. */
static long
marker_key_off(const char *marker, size_t ml, const char *key, size_t kl)
{
    const char *at = text_find_ci(marker, ml, key, kl);
    return at != NULL ? (long)(at - marker) : -1;
}

const char *
text_find_marker_line(const char *p, size_t n, const char *const *keys, size_t nkeys,
                      const char *const *markers, size_t nmarkers)
{
    const char *end = p + n, *best = NULL;
    size_t i, k;
    size_t mlen[TEXT_MARKERS_MAX];
    long moff[TEXT_MARKERS_MAX];

    for (i = 0; i < nkeys; i++) {
        size_t kl = strlen(keys[i]);
        const char *q = p, *hit;
        bool offs = false; /* moff[] holds this key's offsets */
        while (q < end && (hit = text_find_ci(q, (size_t)(end - q), keys[i], kl)) != NULL) {
            const char *ls = hit;
            if (best != NULL && hit >= best) {
                break;
            }
            if (!offs) {
                /* where the key sits in each marker, computed at the key's first hit */
                for (k = 0; k < nmarkers && k < TEXT_MARKERS_MAX; k++) {
                    mlen[k] = strlen(markers[k]);
                    moff[k] = marker_key_off(markers[k], mlen[k], keys[i], kl);
                }
                offs = true;
            }
            /* does a marker holding this key sit around the hit? */
            for (k = 0; k < nmarkers; k++) {
                size_t ml, off;
                long o;
                if (k < TEXT_MARKERS_MAX) {
                    ml = mlen[k];
                    o = moff[k];
                } else {
                    ml = strlen(markers[k]);
                    o = marker_key_off(markers[k], ml, keys[i], kl);
                }
                if (o < 0) {
                    continue;
                }
                off = (size_t)o;
                if ((size_t)(hit - p) >= off && (size_t)(end - (hit - off)) >= ml &&
                    slice_mem_eq_ci(hit - off, markers[k], ml)) {
                    break;
                }
            }
            if (k < nmarkers) {
                while (ls > p && ls[-1] != '\n') {
                    ls--;
                }
                if (best == NULL || ls < best) {
                    best = ls;
                }
                break;
            }
            q = hit + 1;
        }
    }
    return best;
}
