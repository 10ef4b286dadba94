/*
 * test_stats.c — harness/stats.c against known answers: median of odd and
 * even counts, min/max/mean, sample stddev, cv, interpolated percentiles,
 * empty input, and that the caller's array is left unsorted.
 */
#include "stats.h"

#include <criterion/criterion.h>
#include <math.h>

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
