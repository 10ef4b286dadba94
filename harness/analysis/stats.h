/*
 * stats.h — summary statistics over the repeats of a trial: median, min, max,
 * mean, sample standard deviation, coefficient of variation, percentiles,
 * and a distribution-free confidence interval of the median from order
 * statistics, with the coverage it really has (exact binomial arithmetic).
 * Pure functions on arrays of doubles; the caller's array is never changed
 * (functions that need order sort a private copy).
 * Contract: with n == 0 every function returns NAN. NaN inputs sort last.
 * Callers: harness/analysis/results.c, harness/analysis/model.c, harness/analysis/compare.c,
 * harness/analysis/plot.c, harness/analysis/report.c. Calls: libc, libm.
 */
#ifndef BB_STATS_H
#define BB_STATS_H

#include <stddef.h>

#define STATS_CI_TARGET 0.95 /* the coverage an interval of the median aims for */

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

/* Confidence interval of the median from order statistics (distribution-free).
 * With x_(1) <= ... <= x_(n) the sorted sample and B ~ Binomial(n, 1/2), the
 * pair (x_(k), x_(n+1-k)) holds the population median with probability
 *     level(n, k) = 1 - 2 P(B <= k - 1)
 * for any continuous distribution (at least that with ties). The interval
 * given is the narrowest such pair (largest k <= n/2) with level >= target;
 * when no pair reaches the target (small n) it is the widest, [x_(1), x_(n)],
 * with its real, lower, level. The level is always the achieved one: with
 * n = 5 it is [min, max] at 93.75%, never "95%".
 *   n  1: no interval     n  2: [min,max] 50%      n  3: [min,max] 75%
 *   n  4: [min,max] 87.5% n  5: [min,max] 93.75%   n  6: [min,max] 96.9%
 *   n  7: [min,max] 98.4% n  8: [min,max] 99.2%    n  9: (x2,x8) 96.1%
 *   n 10: (x2,x9) 97.9%   (target 95%)
 */
struct stats_ci {
    double lo, hi; /* x_(k), x_(n+1-k); NAN when there is no interval */
    double level;  /* the achieved coverage, in (0, 1); NAN when there is none */
    size_t k;      /* rank of lo (1-based; hi is rank n+1-k); 0 when none */
};
/* The rank k and achieved level of the interval above for n samples, from n
 * alone. Returns the level (k into *k when k is not NULL), or NAN with k = 0
 * when n < 2 or target is not in (0, 1). */
double stats_median_ci_level(size_t n, double target, size_t *k);
/* The interval of v[0..n-1] (v is not changed). Returns 0; -1 with lo, hi,
 * level NAN and k 0 when there is no interval: n < 2 (one repeat has none),
 * target out of (0, 1), or no memory for the sorted copy. */
int stats_median_ci(const double *v, size_t n, double target, struct stats_ci *ci);
/* "93.8%": the level in percent, one decimal, more where one decimal would
 * round up to 100 ("99.95%"); "no interval" when level is NAN. */
const char *stats_level_text(double level, char *buf, size_t len);

#endif
