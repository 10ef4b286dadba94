/*
 * test_hist.c — hist.c: bucket layout (contiguous, covering, every value in
 * its own bucket's range, widths), percentile accuracy on known datasets,
 * clamping and overflow, merge, mean, and the empty histogram.
 */
#include "workloads/hist.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static struct hist ha, hb, hc; /* 16 KiB each: keep them off the stack */

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void expect_in_bucket(uint64_t v)
{
    size_t idx = hist_index(v);
    uint64_t lo, hi;
    cr_assert_lt(idx, HIST_BUCKETS, "value %llu", (unsigned long long)v);
    hist_bucket_range(idx, &lo, &hi);
    uint64_t c = v > HIST_MAX_NS ? HIST_MAX_NS : v;
    cr_assert(lo <= c && c <= hi, "value %llu in bucket %zu [%llu, %llu]", (unsigned long long)v,
              idx, (unsigned long long)lo, (unsigned long long)hi);
}

Test(hist, layout_constants)
{
    cr_expect_eq(HIST_BUCKETS, 128 + 30 * 64);
    cr_expect_geq(HIST_MAX_NS, 60000000000ull, "60 s representable");
}

Test(hist, edges_contiguous_and_covering)
{
    uint64_t prev_hi = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        if (i == 0)
            cr_assert_eq(lo, 0);
        else
            cr_assert_eq(lo, prev_hi + 1, "bucket %zu starts where %zu ended", i, i - 1);
        cr_assert_geq(hi, lo);
        cr_assert_eq(hist_index(lo), i, "lo of bucket %zu", i);
        cr_assert_eq(hist_index(hi), i, "hi of bucket %zu", i);
        prev_hi = hi;
    }
    cr_expect_eq(prev_hi, HIST_MAX_NS, "last bucket ends at HIST_MAX_NS");
}

Test(hist, every_value_in_its_bucket)
{
    for (uint64_t v = 0; v < 200000; v++)
        expect_in_bucket(v);
    for (int k = 0; k < 64; k++) {
        uint64_t p = 1ull << k;
        expect_in_bucket(p - 1);
        expect_in_bucket(p);
        expect_in_bucket(p + 1);
    }
    expect_in_bucket(HIST_MAX_NS);
    expect_in_bucket(HIST_MAX_NS + 1);
    expect_in_bucket(UINT64_MAX);
    uint64_t s = 0x12345678abcdefull;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = xorshift(&s);
        expect_in_bucket(r >> (i % 64)); /* all magnitudes */
    }
    cr_expect_eq(hist_index(UINT64_MAX), HIST_BUCKETS - 1, "clamped to the last bucket");
}

Test(hist, exact_below_128_and_relative_width)
{
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        if (lo < 128) {
            cr_expect_eq(lo, hi, "1-ns bucket %zu", i);
        } else {
            /* width / lo <= 1/64: relative error of the upper edge < 1/64 */
            cr_expect_leq((hi - lo + 1) * 64, lo, "bucket %zu [%llu, %llu]", i,
                          (unsigned long long)lo, (unsigned long long)hi);
        }
    }
}

Test(hist, width_at_most_1us_below_65us)
{
    for (uint64_t v = 0; v <= 65000; v++) {
        uint64_t lo, hi;
        hist_bucket_range(hist_index(v), &lo, &hi);
        cr_assert_leq(hi - lo + 1, 1000, "bucket of %llu is %llu wide", (unsigned long long)v,
                      (unsigned long long)(hi - lo + 1));
    }
}

Test(hist, empty)
{
    hist_init(&ha);
    cr_expect_eq(ha.count, 0);
    cr_expect_eq(ha.min_ns, UINT64_MAX);
    cr_expect_eq(ha.max_ns, 0);
    cr_expect_eq(hist_percentile(&ha, 0), 0);
    cr_expect_eq(hist_percentile(&ha, 50), 0);
    cr_expect_eq(hist_percentile(&ha, 100), 0);
    cr_expect_eq(hist_mean(&ha), 0.0);
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        cr_assert_eq(ha.buckets[i], 0);
}

static void expect_close(uint64_t got, uint64_t want, const char *what)
{
    cr_expect_geq(got, want, "%s: %llu < true %llu", what, (unsigned long long)got,
                  (unsigned long long)want);
    cr_expect_leq((double)(got - want), (double)want / 64.0, "%s: %llu vs true %llu", what,
                  (unsigned long long)got, (unsigned long long)want);
}

Test(hist, percentiles_uniform_1_to_1e6)
{
    hist_init(&ha);
    const uint64_t n = 1000000;
    for (uint64_t v = 1; v <= n; v++)
        hist_record(&ha, v);
    cr_assert_eq(ha.count, n);
    static const double ps[] = {0.001, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint64_t want = (uint64_t)llround(ps[i] / 100.0 * (double)n); /* the rank-th value */
        char what[32];
        snprintf(what, sizeof what, "p%g", ps[i]);
        expect_close(hist_percentile(&ha, ps[i]), want, what);
    }
    expect_close(hist_percentile(&ha, 50), 500000, "p50 ~ 500 us");
    cr_expect_eq(hist_percentile(&ha, 0), 1, "p0 is min");
    cr_expect_eq(hist_percentile(&ha, 100), n, "p100 is max");
    cr_expect_eq(hist_percentile(&ha, 99.99999), n, "clamped to max");
    cr_expect_eq(hist_mean(&ha), 500000.5);
}

Test(hist, percentiles_exact_small_values)
{
    hist_init(&ha);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(&ha, v);
    cr_expect_eq(hist_percentile(&ha, 50), 50);
    cr_expect_eq(hist_percentile(&ha, 1), 1);
    cr_expect_eq(hist_percentile(&ha, 99), 99);
    cr_expect_eq(hist_percentile(&ha, 99.5), 100);
    cr_expect_eq(hist_percentile(&ha, 0.5), 1);
}

Test(hist, percentiles_bimodal_tail)
{
    /* 990 fast responses at ~100 us, 10 stalls at 5 s: p99 is fast, p99.1 is a stall. */
    hist_init(&ha);
    for (int i = 0; i < 990; i++)
        hist_record(&ha, 100000 + (uint64_t)i);
    for (int i = 0; i < 10; i++)
        hist_record(&ha, 5000000000ull);
    expect_close(hist_percentile(&ha, 50), 100499, "p50");
    expect_close(hist_percentile(&ha, 99), 100989, "p99");
    cr_expect_eq(hist_percentile(&ha, 99.1), 5000000000ull, "p99.1 clamped to max");
    cr_expect_eq(hist_percentile(&ha, 100), 5000000000ull);
    cr_expect_eq(hist_percentile(&ha, 0), 100000);
}

Test(hist, single_value_all_percentiles_equal_it)
{
    hist_init(&ha);
    hist_record(&ha, 123457);
    static const double ps[] = {0, 0.1, 50, 99.9, 100};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        cr_expect_eq(hist_percentile(&ha, ps[i]), 123457, "p%g", ps[i]);
    cr_expect_eq(ha.min_ns, 123457);
    cr_expect_eq(ha.max_ns, 123457);
}

Test(hist, sixty_seconds_without_overflow)
{
    hist_init(&ha);
    const uint64_t v = 60000000000ull;
    hist_record(&ha, v);
    hist_record(&ha, 1000);
    cr_expect_eq(ha.overflow, 0);
    cr_expect_eq(ha.max_ns, v);
    cr_expect_eq(hist_percentile(&ha, 100), v);
    expect_close(hist_percentile(&ha, 75), v, "p75");
    uint64_t lo, hi;
    hist_bucket_range(hist_index(v), &lo, &hi);
    cr_expect(lo <= v && v <= hi);
    cr_expect_lt(hist_index(v), HIST_BUCKETS - 1, "not in the clamp bucket");
}

Test(hist, overflow_is_clamped_and_counted)
{
    hist_init(&ha);
    hist_record(&ha, HIST_MAX_NS);
    cr_expect_eq(ha.overflow, 0, "HIST_MAX_NS itself fits");
    hist_record(&ha, HIST_MAX_NS + 1);
    hist_record(&ha, UINT64_MAX);
    cr_expect_eq(ha.overflow, 2);
    cr_expect_eq(ha.count, 3);
    cr_expect_eq(ha.max_ns, HIST_MAX_NS);
    cr_expect_eq(ha.buckets[HIST_BUCKETS - 1], 3);
    cr_expect_eq(ha.sum_ns, 3 * HIST_MAX_NS, "sum of clamped values");
    cr_expect_eq(hist_percentile(&ha, 50), HIST_MAX_NS);
}

Test(hist, counts_sum_min_max_mean)
{
    hist_init(&ha);
    uint64_t vals[] = {5, 0, 1000, 77, 128, 129, 1u << 20};
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        hist_record(&ha, vals[i]);
        sum += vals[i];
    }
    cr_expect_eq(ha.count, 7);
    cr_expect_eq(ha.sum_ns, sum);
    cr_expect_eq(ha.min_ns, 0);
    cr_expect_eq(ha.max_ns, 1u << 20);
    cr_expect_eq(hist_mean(&ha), (double)sum / 7.0);
    uint64_t total = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        total += ha.buckets[i];
    cr_expect_eq(total, 7);
    cr_expect_eq(ha.buckets[0], 1);
    cr_expect_eq(ha.buckets[5], 1);
    cr_expect_eq(ha.buckets[77], 1);
    cr_expect_eq(ha.buckets[128], 2, "128 and 129 share a 2-ns bucket");
}

Test(hist, merge_equals_recording_both)
{
    hist_init(&ha);
    hist_init(&hb);
    hist_init(&hc);
    uint64_t s = 42;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = xorshift(&s) >> (20 + i % 40);
        if (i % 1000 == 0) v = UINT64_MAX; /* overflow too */
        hist_record(i % 3 ? &ha : &hb, v);
        hist_record(&hc, v);
    }
    hist_merge(&ha, &hb);
    cr_expect_eq(memcmp(&ha, &hc, sizeof ha), 0, "merged == recorded together");
    cr_expect_gt(hc.overflow, 0);

    /* Merging an empty one changes nothing; merging into an empty one copies. */
    hist_init(&hb);
    hist_merge(&ha, &hb);
    cr_expect_eq(memcmp(&ha, &hc, sizeof ha), 0);
    hist_merge(&hb, &hc);
    cr_expect_eq(memcmp(&hb, &hc, sizeof hb), 0);
    cr_expect_eq(hist_percentile(&hb, 90), hist_percentile(&hc, 90));
}

Test(hist, index_monotonic)
{
    size_t prev = 0;
    for (uint64_t v = 0; v < (1ull << 40); v = v + 1 + v / 97) {
        size_t i = hist_index(v);
        cr_assert_geq(i, prev, "index decreases at %llu", (unsigned long long)v);
        prev = i;
    }
}
