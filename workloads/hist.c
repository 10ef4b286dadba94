/*
 * hist.c — log-linear latency histogram (HdrHistogram's layout).
 * Buckets 0..127 hold one value each; above that, each power of two
 * [2^k, 2^(k+1)), k = 7..HIST_MAX_BITS-1, is split into 64 equal buckets of
 * width 2^(k-6). With m = floor(log2(v | 127)) and s = m - 6 (0 below 128),
 * the index is s * 64 + (v >> s): no branch, one clz.
 * Callers: workloads/loadgen.c (record on every response), harness/ (merge,
 * percentiles). Calls: nothing but the compiler's __builtin_clzll.
 */
#include "workloads/hist.h"

#include <string.h>

#define HIST_HALF (HIST_SUB / 2) /* buckets per power of two above HIST_SUB */

_Static_assert(HIST_BUCKETS == HIST_SUB + (HIST_MAX_BITS - HIST_SUB_BITS) * HIST_HALF,
               "bucket count");

static inline size_t index_of(uint64_t v)
{
    unsigned m = 63u - (unsigned)__builtin_clzll(v | (HIST_SUB - 1));
    unsigned s = m - (HIST_SUB_BITS - 1);
    return (size_t)s * HIST_HALF + (size_t)(v >> s);
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_ns = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t ns)
{
    uint64_t over = ns > HIST_MAX_NS;
    ns = over ? HIST_MAX_NS : ns;
    h->overflow += over;
    h->count++;
    h->sum_ns += ns;
    h->min_ns = ns < h->min_ns ? ns : h->min_ns;
    h->max_ns = ns > h->max_ns ? ns : h->max_ns;
    h->buckets[index_of(ns)]++;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->count == 0) return;
    dst->count += src->count;
    dst->sum_ns += src->sum_ns;
    dst->overflow += src->overflow;
    if (src->min_ns < dst->min_ns) dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns) dst->max_ns = src->max_ns;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

size_t hist_index(uint64_t ns)
{
    return index_of(ns > HIST_MAX_NS ? HIST_MAX_NS : ns);
}

void hist_bucket_range(size_t idx, uint64_t *lo, uint64_t *hi)
{
    if (idx >= HIST_BUCKETS) idx = HIST_BUCKETS - 1;
    uint64_t l, h;
    if (idx < HIST_SUB) {
        l = h = idx;
    } else {
        unsigned s = (unsigned)(idx / HIST_HALF) - 1;
        l = (uint64_t)(idx % HIST_HALF + HIST_HALF) << s;
        h = l + (1ull << s) - 1;
    }
    if (lo) *lo = l;
    if (hi) *hi = h;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0) return 0;
    if (!(p > 0.0)) /* also NaN */
        return h->min_ns;
    if (p >= 100.0) return h->max_ns;
    /* rank = ceil(p/100 * count), shaved so 99.9% of 1000 is 999, not 1000 */
    double x = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)(x - x * 1e-12);
    if ((double)rank < x - x * 1e-12) rank++;
    if (rank == 0) rank = 1;
    uint64_t cum = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        cum += h->buckets[i];
        if (cum >= rank) {
            uint64_t hi;
            hist_bucket_range(i, NULL, &hi);
            if (hi > h->max_ns) hi = h->max_ns;
            if (hi < h->min_ns) hi = h->min_ns;
            return hi;
        }
    }
    return h->max_ns; /* only if buckets and count disagree */
}

double hist_mean(const struct hist *h)
{
    return h->count ? (double)h->sum_ns / (double)h->count : 0.0;
}
