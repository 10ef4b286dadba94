/*
 * stats.c — summary statistics over repeats (see stats.h).
 * Callers: harness/results.c, harness/compare.c. Calls: libc, libm.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y); /* NaN last */
    return (x > y) - (x < y);
}

void stats_sort(double *v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof *v, cmp_double);
}

double stats_min(const double *v, size_t n)
{
    if (n == 0) return NAN;
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < m) m = v[i];
    return m;
}

double stats_max(const double *v, size_t n)
{
    if (n == 0) return NAN;
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] > m) m = v[i];
    return m;
}

double stats_mean(const double *v, size_t n)
{
    if (n == 0) return NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    return sum / (double)n;
}

double stats_stddev(const double *v, size_t n)
{
    if (n == 0) return NAN;
    if (n == 1) return 0;
    double mean = stats_mean(v, n), ss = 0;
    for (size_t i = 0; i < n; i++) ss += (v[i] - mean) * (v[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

double stats_cv(const double *v, size_t n)
{
    double mean = stats_mean(v, n);
    if (n == 0 || mean == 0) return NAN;
    return stats_stddev(v, n) / mean;
}

double stats_percentile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0 || isnan(p)) return NAN;
    if (p < 0) p = 0;
    if (p > 100) p = 100;
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    if (lo >= n - 1) return sorted[n - 1];
    double frac = rank - (double)lo, a = sorted[lo], b = sorted[lo + 1];
    if (frac == 0) return a;
    /* (1-f)a + fb: a median of two is exactly (a+b)/2 rounded once */
    double r = (1 - frac) * a + frac * b;
    return r < a ? a : r > b ? b : r;
}

double stats_percentile(const double *v, size_t n, double p)
{
    if (n == 0) return NAN;
    double *copy = malloc(n * sizeof *copy);
    if (!copy) return NAN;
    memcpy(copy, v, n * sizeof *copy);
    stats_sort(copy, n);
    double r = stats_percentile_sorted(copy, n, p);
    free(copy);
    return r;
}

double stats_median(const double *v, size_t n)
{
    return stats_percentile(v, n, 50);
}
