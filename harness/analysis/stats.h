/*
 * stats.h — summary statistics over the repeats of a trial: median, min, max,
 * mean, sample standard deviation, coefficient of variation, percentiles,
 * and a percentile-bootstrap confidence interval of the median (fixed-seed
 * PRNG: the same data give the same interval on every run and machine).
 * Pure functions on arrays of doubles; the caller's array is never changed
 * (functions that need order sort a private copy).
 * Contract: with n == 0 every function returns NAN. NaN inputs sort last.
 * Callers: harness/analysis/results.c, harness/analysis/compare.c, harness/analysis/plot.c. Calls: libc, libm.
 */
#ifndef BB_STATS_H
#define BB_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_BOOT_RESAMPLES 2000
#define STATS_BOOT_SEED 0x6279706173736263ull /* "bypassbc" */

double stats_min(const double *v, size_t n);
double stats_max(const double *v, size_t n);
double stats_mean(const double *v, size_t n);
/* Sample standard deviation (n - 1 in the denominator); 0 when n == 1. */
double stats_stddev(const double *v, size_t n);
/* stddev / mean; NAN when the mean is 0. */
double stats_cv(const double *v, size_t n);
double stats_median(const double *v, size_t n);
/* p in [0, 100] (clamped), linear interpolation between closest ranks
 * (rank = p/100 * (n - 1), as numpy's default). NAN if a copy cannot be made. */
double stats_percentile(const double *v, size_t n, double p);
/* Same on an array already sorted ascending (no copy). */
double stats_percentile_sorted(const double *sorted, size_t n, double p);
/* Sorts v ascending in place. */
void stats_sort(double *v, size_t n);

/* Percentile bootstrap CI of the median: `resamples` resamples of n drawn
 * with replacement (xoshiro256** seeded from `seed` by splitmix64), the
 * median of each, then the (1-level)/2 and (1+level)/2 percentiles of those
 * medians. level in (0, 1). n == 1 gives [v0, v0]. Returns 0; -1 with
 * *lo = *hi = NAN when n == 0, resamples == 0, level is out of range or
 * memory runs out. */
int stats_bootstrap_median_ci(const double *v, size_t n, double level, unsigned resamples,
                              uint64_t seed, double *lo, double *hi);
/* The above with level 0.95, STATS_BOOT_RESAMPLES and STATS_BOOT_SEED. */
int stats_median_ci95(const double *v, size_t n, double *lo, double *hi);

#endif
