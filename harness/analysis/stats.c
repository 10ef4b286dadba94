/*
 * stats.c — summary statistics over repeats (see stats.h).
 * Callers: harness/analysis/results.c, harness/analysis/model.c, harness/analysis/compare.c,
 * harness/analysis/plot.c, harness/analysis/report.c. Calls: libc, libm.
 */
#include "harness/analysis/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
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

/* ------------------------------------------- order-statistic interval */

/* The coverage of (x_(k), x_(n+1-k)) is 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2),
 * summed term by term as k grows: in exact integers while 2^n fits in 64 bits
 * (n <= 62: every C(n, i), their sum and 2^n - 2 sum are exact, one rounding
 * at the end), beyond in log space (lgamma, relative error ~1e-13), never a
 * normal approximation. The coverage falls as k grows: the answer is the
 * largest k that still reaches the target (with a tolerance for the rounding
 * of an exact tie), else k = 1, [min, max], whatever its coverage. */
double stats_median_ci_level(size_t n, double target, size_t *k)
{
    if (k) *k = 0;
    if (n < 2 || !(target > 0 && target < 1)) return NAN;
    size_t best = 0;
    double lv = NAN;
    uint64_t c = 1, cum = 0; /* c = C(n, j-1); cum = sum of C(n, i), i < j */
    double cumd = 0, ln2n = (double)n * log(2.0), lgn = lgamma((double)n + 1);
    for (size_t j = 1; j <= n / 2; j++) {
        double l;
        if (n <= 62) {
            cum += c;
            l = ldexp((double)((UINT64_C(1) << n) - 2 * cum), -(int)n);
            /* exact: C(n, j-1) (n-j+1) is divisible by j; 128 bits for the product */
            c = (uint64_t)((unsigned __int128)c * (n - j + 1) / j);
        } else {
            cumd += exp(lgn - lgamma((double)j) - lgamma((double)(n - j + 1) + 1) - ln2n);
            l = 1 - 2 * cumd;
        }
        if (best && l < target - 1e-12) break;
        best = j, lv = l;
    }
    if (k) *k = best;
    return lv;
}

int stats_median_ci(const double *v, size_t n, double target, struct stats_ci *ci)
{
    ci->lo = ci->hi = ci->level = NAN;
    ci->k = 0;
    size_t k;
    double level = stats_median_ci_level(n, target, &k);
    if (!k) return -1;
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted) return -1;
    memcpy(sorted, v, n * sizeof *sorted);
    stats_sort(sorted, n);
    ci->lo = sorted[k - 1];
    ci->hi = sorted[n - k];
    ci->level = level;
    ci->k = k;
    free(sorted);
    return 0;
}

const char *stats_level_text(double level, char *buf, size_t len)
{
    if (!isfinite(level)) {
        snprintf(buf, len, "no interval");
        return buf;
    }
    /* One decimal unless that would claim 100% for a level below it. */
    for (int prec = 1; prec <= 6; prec++) {
        snprintf(buf, len, "%.*f%%", prec, level * 100);
        if (level >= 1 || strtod(buf, NULL) < 100) break;
    }
    return buf;
}
