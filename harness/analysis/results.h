/*
 * results.h — the run directory: one JSON record per trial, read back, and a
 * summary (summary.csv for plots and spreadsheets, summary.json for tools).
 *
 *   <base>/<YYYYmmdd-HHMMSS>[-N]/ (base defaults to "results")
 *       trials/<workload>-<driver>-r<N>.json   one record per trial (the runner builds it)
 *       summary.csv, summary.json             one row per (workload, driver)
 *
 * Summary: records grouped by (workload.name, driver) in first-appearance
 * order; columns workload,driver,mode,trials,ok,failed then, for each numeric
 * key of "metrics" (in first-seen order), <key>_median,<key>_min,<key>_max,
 * <key>_ci_lo,<key>_ci_hi,<key>_ci_level,<key>_cv,<key>_noisy over the
 * trials whose status is "ok" (empty cells when none is, or when cv is
 * undefined). [ci_lo, ci_hi] is the order-statistic interval of the median
 * (stats_median_ci, target STATS_CI_TARGET) and ci_level its achieved
 * coverage, a fraction: 0.9375 with 5 repeats ([min, max]), 0.96875 with 6;
 * all three are empty with one repeat (no interval). noisy is 1 when cv >
 * the threshold (RESULTS_NOISY_CV unless given), else 0. summary.json
 * (schema RESULTS_SUMMARY_SCHEMA) holds the same groups with
 * {median,min,max,ci_lo,ci_hi,ci_level,cv,noisy,n} per metric (null when n
 * is 0, when there is no interval, or when cv is undefined), the threshold as
 * "noisy_cv" and the interval's method and target as "ci": {"method",
 * "target"}. Schema /1 had ci95_lo, ci95_hi (a bootstrap labelled 95% that
 * was not) and no level. The CSV is RFC 4180 (CRLF, quoted where needed).
 *
 * All files are written to a temporary name and renamed into place.
 * Every function returns 0 (or the object) on success, -1 (or NULL) with a
 * message naming the file in err.
 * Callers: harness/cli/run.c, harness/analysis/compare.c, harness/analysis/plot.c, tests. Calls: jansson, stats.c.
 */
#ifndef BB_RESULTS_H
#define BB_RESULTS_H

#include <jansson.h>
#include <stddef.h>

/* results/<YYYYmmdd-HHMMSS> under base (created with parents); the path into out.
 * If it exists, add -2, -3... */
int results_dir_create(const char *base, char *out, size_t outlen, char *err, size_t errlen);
/* trials/<workload>-<driver>-r<N>.json, pretty-printed; record is borrowed */
int results_write_trial(const char *dir, const char *workload, const char *driver, unsigned repeat,
                        json_t *record, char *err, size_t errlen);
#define RESULTS_SUMMARY_SCHEMA "bypassbench.summary/2"
#define RESULTS_CI_METHOD "order statistics of the median (distribution-free), achieved coverage"
#define RESULTS_NOISY_CV 0.05 /* default: a metric whose cv exceeds 5% is noisy */

/* From an array of trial records: summary.csv and summary.json */
int results_write_summary(const char *dir, json_t *records, char *err, size_t errlen);
/* The same with the noisy threshold given (cv > noisy_cv is noisy). */
int results_write_summary_cv(const char *dir, json_t *records, double noisy_cv, char *err,
                             size_t errlen);
/* reads every trials/NAME.json back as an array sorted by name (r2 before r10); a new reference */
json_t *results_load_dir(const char *dir, char *err, size_t errlen);

#endif
