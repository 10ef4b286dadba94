/*
 * test_stats.c — harness/analysis/stats.c against known answers: median of odd and
 * even counts, min/max/mean, sample stddev, cv, interpolated percentiles,
 * empty input, that the caller's array is left unsorted, the order-statistic
 * interval of the median (known coverages for n = 1..10, 20, 100: n = 5 is
 * [x1, x5] at 93.75%, n = 10 (x2, x9) at 97.9%, n = 1 none), its bounds
 * being the order statistics, the log-space sum beyond n = 62 against the
 * exact answer and a known distribution's median, and the level's text.
 */
#include "harness/analysis/stats.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#define EPS 1e-9

Test(stats, median_odd_and_even)
{
    double odd[] = {9, 1, 5, 3, 7};
    cr_expect_float_eq(stats_median(odd, 5), 5.0, EPS);
    double even[] = {4, 1, 3, 2};
    cr_expect_float_eq(stats_median(even, 4), 2.5, EPS);
    double one[] = {42};
    cr_expect_float_eq(stats_median(one, 1), 42.0, EPS);
    cr_expect_float_eq(odd[0], 9.0, EPS, "input left as it was");
    cr_expect_float_eq(odd[1], 1.0, EPS, "input left as it was");
}

Test(stats, min_max_mean)
{
    double v[] = {3, -2, 10, 4};
    cr_expect_float_eq(stats_min(v, 4), -2.0, EPS);
    cr_expect_float_eq(stats_max(v, 4), 10.0, EPS);
    cr_expect_float_eq(stats_mean(v, 4), 3.75, EPS);
}

Test(stats, stddev_and_cv)
{
    /* mean 5, squared deviations sum 32, sample variance 32/7 */
    double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
    cr_expect_float_eq(stats_stddev(v, 8), sqrt(32.0 / 7.0), EPS);
    cr_expect_float_eq(stats_cv(v, 8), sqrt(32.0 / 7.0) / 5.0, EPS);
    double same[] = {3, 3, 3};
    cr_expect_float_eq(stats_cv(same, 3), 0.0, EPS);
    double one[] = {7};
    cr_expect_float_eq(stats_stddev(one, 1), 0.0, EPS);
    double zero_mean[] = {-1, 1};
    cr_expect(isnan(stats_cv(zero_mean, 2)));
}

Test(stats, percentile_interpolates)
{
    double v[] = {40, 10, 30, 20}; /* sorted 10 20 30 40 */
    cr_expect_float_eq(stats_percentile(v, 4, 0), 10.0, EPS);
    cr_expect_float_eq(stats_percentile(v, 4, 100), 40.0, EPS);
    cr_expect_float_eq(stats_percentile(v, 4, 50), 25.0, EPS);
    cr_expect_float_eq(stats_percentile(v, 4, 25), 17.5, EPS);  /* rank 0.75 */
    cr_expect_float_eq(stats_percentile(v, 4, 90), 37.0, EPS);  /* rank 2.7 */
    cr_expect_float_eq(stats_percentile(v, 4, 150), 40.0, EPS); /* clamped */
    cr_expect_float_eq(stats_percentile(v, 4, -5), 10.0, EPS);
    double s[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    cr_expect_float_eq(stats_percentile_sorted(s, 11, 99), 10.9, EPS);
}

Test(stats, empty_is_nan)
{
    cr_expect(isnan(stats_median(NULL, 0)));
    cr_expect(isnan(stats_min(NULL, 0)));
    cr_expect(isnan(stats_max(NULL, 0)));
    cr_expect(isnan(stats_mean(NULL, 0)));
    cr_expect(isnan(stats_stddev(NULL, 0)));
    cr_expect(isnan(stats_cv(NULL, 0)));
    cr_expect(isnan(stats_percentile(NULL, 0, 50)));
}

Test(stats, sort_puts_nan_last)
{
    double v[] = {3, NAN, 1, 2};
    stats_sort(v, 4);
    cr_expect_float_eq(v[0], 1.0, EPS);
    cr_expect_float_eq(v[1], 2.0, EPS);
    cr_expect_float_eq(v[2], 3.0, EPS);
    cr_expect(isnan(v[3]));
}

/* A test-local generator so the datasets do not depend on stats.c's PRNG. */
static double lcg_uniform(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(*x >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

/* ------------------------------------------- order-statistic interval */

/* Known answers: with B ~ Binomial(n, 1/2), (x_(k), x_(n+1-k)) covers the
 * median with probability 1 - 2 P(B <= k-1); the interval is the narrowest
 * pair reaching 95%, else [min, max] with what it really has. */
Test(stats, median_ci_known_levels)
{
    static const struct {
        size_t n, k;
        double level;
    } want[] = {
        {2, 1, 1.0 / 2},                    /* [min, max] 50% */
        {3, 1, 6.0 / 8},                    /* 75% */
        {4, 1, 14.0 / 16},                  /* 87.5% */
        {5, 1, 30.0 / 32},                  /* 93.75% */
        {6, 1, 62.0 / 64},                  /* 96.875%: the first n whose [min, max] reaches 95% */
        {7, 1, 126.0 / 128},                /* (x2, x6) has only 87.5% */
        {8, 1, 254.0 / 256},                /* (x2, x7) has only 93.0% */
        {9, 2, 492.0 / 512},                /* (x2, x8) 96.1% */
        {10, 2, 1002.0 / 1024},             /* (x2, x9) 97.9%; (x3, x8) has 89.1% */
        {20, 6, 1 - 2 * 21700.0 / 1048576}, /* (x6, x15) 95.9%; (x7, x14) 88.5% */
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t k = 99;
        double l = stats_median_ci_level(want[i].n, STATS_CI_TARGET, &k);
        cr_expect_eq(k, want[i].k, "n = %zu: k %zu", want[i].n, k);
        cr_expect(l == want[i].level, "n = %zu: level %.17g, want %.17g", want[i].n, l,
                  want[i].level);
    }
    size_t k = 99;
    cr_expect(isnan(stats_median_ci_level(1, STATS_CI_TARGET, &k)), "one repeat: no interval");
    cr_expect_eq(k, 0);
    cr_expect(isnan(stats_median_ci_level(0, STATS_CI_TARGET, &k)));
    cr_expect(isnan(stats_median_ci_level(10, 1.0, &k)) && k == 0, "target 1 is unreachable");
    cr_expect(isnan(stats_median_ci_level(10, 0.0, &k)) && k == 0);
    /* A lower target gives a narrower pair: n = 10 at 50% is (x4, x7), 65.6%. */
    cr_expect_float_eq(stats_median_ci_level(10, 0.5, &k), 1 - 2 * 176.0 / 1024, 1e-15);
    cr_expect_eq(k, 4);
}

Test(stats, median_ci_bounds_are_order_statistics)
{
    struct stats_ci ci;
    double five[] = {105, 98, 101, 99, 120};
    cr_assert_eq(stats_median_ci(five, 5, STATS_CI_TARGET, &ci), 0);
    cr_expect(ci.lo == 98 && ci.hi == 120 && ci.k == 1, "[%g, %g] k %zu", ci.lo, ci.hi, ci.k);
    cr_expect(ci.level == 0.9375, "n = 5 is 93.75%%, not 95%%: %.17g", ci.level);
    cr_expect_float_eq(five[0], 105.0, EPS, "input left as it was");
    double three[] = {300, 100, 200};
    cr_assert_eq(stats_median_ci(three, 3, STATS_CI_TARGET, &ci), 0);
    cr_expect(ci.lo == 100 && ci.hi == 300 && ci.level == 0.75);
    double ten[] = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
    cr_assert_eq(stats_median_ci(ten, 10, STATS_CI_TARGET, &ci), 0);
    cr_expect(ci.lo == 2 && ci.hi == 9 && ci.k == 2, "(x2, x9): [%g, %g]", ci.lo, ci.hi);
    cr_expect_float_eq(ci.level, 0.978515625, 1e-15);
    double same[] = {3, 3, 3, 3, 3, 3};
    cr_assert_eq(stats_median_ci(same, 6, STATS_CI_TARGET, &ci), 0);
    cr_expect(ci.lo == 3 && ci.hi == 3 && ci.level == 62.0 / 64);
    double one[] = {7.5};
    cr_expect_eq(stats_median_ci(one, 1, STATS_CI_TARGET, &ci), -1, "one repeat: no interval");
    cr_expect(isnan(ci.lo) && isnan(ci.hi) && isnan(ci.level) && ci.k == 0);
    cr_expect_eq(stats_median_ci(NULL, 0, STATS_CI_TARGET, &ci), -1);
    cr_expect(isnan(ci.lo) && isnan(ci.hi) && isnan(ci.level));
}

/* Beyond 62 samples the sum runs in log space: it still matches the exact
 * answer, and the interval holds the true median of a known distribution. */
Test(stats, median_ci_large_n)
{
    size_t k;
    /* n = 100: P(B <= 39) = 0.0176001..., so (x40, x61) has 96.48%; (x41, x60) 94.31%. */
    double l = stats_median_ci_level(100, STATS_CI_TARGET, &k);
    cr_expect_eq(k, 40);
    cr_expect_float_eq(l, 0.96479979978230, 1e-11, "%.14f", l);
    uint64_t x = 12345;
    double ex[201];
    struct stats_ci ci;
    for (size_t i = 0; i < 201; i++)
        ex[i] = -log(lcg_uniform(&x));
    cr_assert_eq(stats_median_ci(ex, 201, STATS_CI_TARGET, &ci), 0);
    cr_expect(ci.lo < log(2.0) && log(2.0) < ci.hi, "[%g, %g] misses ln 2", ci.lo, ci.hi);
    cr_expect(ci.hi - ci.lo < 0.5, "[%g, %g] too wide for n = 201", ci.lo, ci.hi);
    cr_expect(ci.level >= 0.95 && ci.level < 0.97, "%g", ci.level);
    /* Every n up to 1000: a level in [target, 1) once [min, max] reaches it, never above 1. */
    for (size_t n = 6; n <= 1000; n++) {
        l = stats_median_ci_level(n, STATS_CI_TARGET, &k);
        cr_assert(l >= 0.95 - 1e-12 && l < 1 && k >= 1 && k <= n / 2, "n %zu: %g k %zu", n, l, k);
    }
}

Test(stats, level_text)
{
    char buf[32];
    cr_expect_str_eq(stats_level_text(0.9375, buf, sizeof buf), "93.8%");
    cr_expect_str_eq(stats_level_text(62.0 / 64, buf, sizeof buf), "96.9%");
    cr_expect_str_eq(stats_level_text(0.75, buf, sizeof buf), "75.0%");
    cr_expect_str_eq(stats_level_text(1 - 1.0 / 2048, buf, sizeof buf), "99.95%",
                     "never rounded up to 100%%");
    cr_expect_str_eq(stats_level_text(NAN, buf, sizeof buf), "no interval");
}
