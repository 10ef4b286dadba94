/*
 * hist.h — log-linear latency histogram (HdrHistogram's layout): values in
 * nanoseconds; exact (1 ns buckets) below 128 ns, then 64 equal buckets per
 * power of two, so the relative error is < 1/64 everywhere and buckets are at
 * most 1 us wide below 65 us; range up to HIST_MAX_NS (>= 60 s; larger values
 * are clamped to it and counted as overflow).
 * Fixed size, no allocation on record. Callers: workloads/loadgen.c, harness/.
 */
#ifndef BB_HIST_H
#define BB_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7                  /* 128 1-ns buckets, then 64 per power of two */
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_BITS 37                 /* 2^37 ns = 137 s */
#define HIST_MAX_NS ((1ull << HIST_MAX_BITS) - 1)
#define HIST_BUCKETS (HIST_SUB + (HIST_MAX_BITS - HIST_SUB_BITS) * (HIST_SUB / 2))

struct hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t min_ns; /* UINT64_MAX when empty */
    uint64_t max_ns;
    uint64_t overflow; /* values clamped to HIST_MAX_NS */
    uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);
void hist_merge(struct hist *dst, const struct hist *src);
/* p in [0, 100]; the upper edge of the bucket holding the p-th percentile
 * value, clamped to max_ns; 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h);
/* Bucket index of a value and the bucket's [lo, hi] edges (inclusive). */
size_t hist_index(uint64_t ns);
void hist_bucket_range(size_t idx, uint64_t *lo, uint64_t *hi);

#endif
