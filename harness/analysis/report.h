/*
 * report.h — `bypassbench report DIR`: DIR/REPORT.md from a results directory.
 *
 * Sections: the run (suite, trials), environment (env.json), method notes
 * (CPU accounting method, which figure answers which question, the generator,
 * warm-up and window, repeats, statistics: how the interval of the median is
 * made and the coverage it achieves for each n in the run), one table per
 * workload with every driver side by side ("147k [140k, 150k] 96.9%": median,
 * interval, achieved coverage; the median alone with one repeat) and ratios
 * to kernel, the download table laid out like
 * Table 2 of the DPDK file-downloader paper (one row per file size, one time
 * column per driver, speed-ups), the figures (relative links to
 * plots/<name>-2col.png, drawn by plot.c), warnings (noisy: cv > threshold;
 * generator-bound: gen_util > threshold; failed trials with their reasons),
 * and every trial, one row each.
 * Callers: harness/cli/report.c, tests. Calls: plot.c (the grouped run),
 * units.c, jansson.
 */
#ifndef BB_REPORT_H
#define BB_REPORT_H

#include <stddef.h>

#define REPORT_GEN_BOUND 0.9 /* generator CPU use above this: the DUT was not the bottleneck */

struct report_opts {
    double noisy_cv;  /* cv above this is noisy; 0: RESULTS_NOISY_CV (0.05) */
    double gen_bound; /* gen_util above this is generator-bound; 0: REPORT_GEN_BOUND */
};

/* Writes DIR/REPORT.md (tmp + rename). o may be NULL. 0, or -1 with err. */
int report_write(const char *dir, const struct report_opts *o, char *err, size_t errlen);

#endif
