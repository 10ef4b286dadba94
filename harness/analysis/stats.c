/*
 * stats.c — summary statistics over repeats (see stats.h).
 * Callers: harness/analysis/results.c, harness/analysis/compare.c, harness/analysis/plot.c. Calls: libc, libm.
 */
#include "harness/analysis/stats.h"

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

/* ---------------------------------------------------------------- bootstrap */

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n) by multiply-shift (bias below 2^-40 for any n we see). */
static size_t rng_below(struct rng *r, size_t n)
{
    return (size_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Element at position k of the resample whose multiplicities are count[]
 * over the sorted data. */
static double nth_of_counts(const double *sorted, const size_t *count, size_t n, size_t k)
{
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        seen += count[i];
        if (k < seen) return sorted[i];
    }
    return sorted[n - 1];
}

int stats_bootstrap_median_ci(const double *v, size_t n, double level, unsigned resamples,
                              uint64_t seed, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (n == 0 || resamples == 0 || !(level > 0 && level < 1)) return -1;
    double *sorted = malloc(n * sizeof *sorted);
    double *med = malloc(resamples * sizeof *med);
    size_t *count = malloc(n * sizeof *count);
    if (!sorted || !med || !count) {
        free(sorted), free(med), free(count);
        return -1;
    }
    memcpy(sorted, v, n * sizeof *sorted);
    stats_sort(sorted, n);
    struct rng r;
    for (int i = 0; i < 4; i++) r.s[i] = splitmix64(&seed);
    /* Median of n as stats_median: mean of positions (n-1)/2 and n/2. */
    size_t k1 = (n - 1) / 2, k2 = n / 2;
    for (unsigned b = 0; b < resamples; b++) {
        memset(count, 0, n * sizeof *count);
        for (size_t i = 0; i < n; i++) count[rng_below(&r, n)]++;
        double a = nth_of_counts(sorted, count, n, k1);
        med[b] = k1 == k2 ? a : (a + nth_of_counts(sorted, count, n, k2)) / 2;
    }
    stats_sort(med, resamples);
    *lo = stats_percentile_sorted(med, resamples, (1 - level) / 2 * 100);
    *hi = stats_percentile_sorted(med, resamples, (1 + level) / 2 * 100);
    free(sorted), free(med), free(count);
    return 0;
}

int stats_median_ci95(const double *v, size_t n, double *lo, double *hi)
{
    return stats_bootstrap_median_ci(v, n, 0.95, STATS_BOOT_RESAMPLES, STATS_BOOT_SEED, lo, hi);
}
