/*
 * compare.h — the statistical regression gate: two results directories
 * (BASE and NEW, as written by `bypassbench run`), grouped by
 * (workload.name, driver), compared metric by metric over the trials whose
 * status is "ok".
 *
 * Per metric: medians of both sides, the relative change of the medians
 * ((new - base) / |base|), a two-sided Mann-Whitney U p-value (exact for
 * small samples, ties included; normal approximation with tie and continuity
 * correction otherwise) and a verdict: WORSE only when p < alpha AND
 * |change| >= min_effect in the metric's bad direction (lower is better for
 * lat_* except lat_max_ns, *cycles*, errors; higher for rps, gbps, cps,
 * requests; lat_max_ns is a single outlier, so it has no direction); BETTER the
 * same in the good direction; CHANGED for significant changes of metrics
 * without a direction (never fails); SAME otherwise. The effect needed is
 * max(min_effect, noise_k x BASE's CV): the baseline's noise, never NEW's,
 * so a regression that adds jitter cannot raise its own bar. A gated row
 * whose sample sizes cannot reach p < alpha at all (cmp_min_p) is TOO_FEW,
 * which fails the gate like WORSE. Where a group's generator saturated,
 * dut_cycles_per_request is gated too (req/s cannot show a slower DUT).
 * Every group also gets two rows judged without a test, over every trial
 * (failed ones too): "ok_trials", the share of trials that were ok, WORSE
 * when NEW's share is lower; "errors_per_trial", WORSE when higher. Failed
 * NEW trials are listed (failed[]). A group with ok trials in BASE and none
 * in NEW gives one WORSE row (metric "trials") unless allow_missing is set.
 *
 * The environments of both sides are checked (cmp_env_check): kernel, CPU
 * model, CPU accounting method (the records' cpu.method, else
 * env.cpu_accounting), build (env.git_describe) and compiler (env.compiler)
 * when recorded. Each difference is an env note in the report ("BASE kernel
 * 6.1.0, NEW 6.18.0"); a field recorded on one side only is a note saying
 * "unknown" and changes nothing. Only a differing CPU method changes
 * verdicts: the cycles figures (metrics with "cycles" in the name, gen_util)
 * are then CMP_NOT_COMPARABLE, never worse or better.
 *
 * Callers: harness/cli/compare.c, tests. Calls: results.c, stats.c, jansson.
 */
#ifndef BB_COMPARE_H
#define BB_COMPARE_H

#include <jansson.h>
#include <stddef.h>

enum cmp_dir { CMP_DIR_NONE, CMP_DIR_HIGHER, CMP_DIR_LOWER };
enum cmp_verdict { CMP_SAME, CMP_BETTER, CMP_WORSE, CMP_CHANGED, CMP_NOT_COMPARABLE, CMP_TOO_FEW };

struct cmp_opts {
    double alpha;      /* significance level (default 0.05) */
    double min_effect; /* minimum |relative change of medians| (default 0.10) */
    double noise_k;    /* the change must also exceed noise_k x BASE's CV (default 2;
                          0 = off): a group that is noisy in the baseline needs a bigger shift */
    int allow_missing; /* 1 = a group missing from NEW is not a regression */
};

/* A gated row whose threshold exceeds this is listed as a blind spot in the
 * Markdown report (a 15% loss, the size issue 13 asks the gate to see, fits
 * under it with some margin). */
#define CMP_BLIND_ABOVE 0.20

struct cmp_row {
    char workload[64];
    char driver[64];
    char metric[64];
    size_t n_base, n_new;          /* ok trials with this metric */
    double base_median, new_median;
    double change;                 /* relative change of medians; +-INFINITY if base is 0 */
    double p;                      /* two-sided p-value (1 when undefined) */
    double threshold;              /* the effect this row needed: max(min_effect, k x CV) */
    enum cmp_dir dir;
    enum cmp_verdict verdict;
};

/* One environment field as both sides recorded it. */
struct cmp_env_note {
    char field[32];  /* "kernel", "cpu_model", "cpu_method", "build", "compiler" */
    char base[128];  /* the value, "unknown" when not recorded, "mixed" when records disagree */
    char new_[128];
    int differs;     /* 1: both known and different; 0: one side unknown */
};
#define CMP_MAX_ENV_NOTES 8

/* A NEW trial that failed (listed in the reports; the first CMP_MAX_FAILED). */
struct cmp_failed {
    char workload[64], driver[64];
    unsigned repeat;
    char why[256];
};
#define CMP_MAX_FAILED 32

struct cmp_report {
    struct cmp_env_note env[CMP_MAX_ENV_NOTES];
    size_t nenv;                   /* notes in env[] */
    size_t nenv_differs;           /* of them, real differences */
    int cpu_method_differs;        /* cycles metrics are not comparable */
    size_t nnot_comparable;        /* rows CMP_NOT_COMPARABLE */
    struct cmp_row *rows;
    size_t nrows, cap;
    size_t nworse, nbetter, nchanged;
    size_t ntoo_few;               /* gated rows with too few trials to judge (fail the gate) */
    struct cmp_failed failed[CMP_MAX_FAILED];
    size_t nfailed, nfailed_listed; /* NEW trials that failed; of them, listed in failed[] */
    size_t ngroups;                /* (workload, driver) groups compared */
    double alpha, min_effect;
};

void cmp_opts_defaults(struct cmp_opts *o);

/* Two-sided Mann-Whitney U p-value for samples a (na) and b (nb). Exact
 * permutation distribution (midranks, so ties are handled) when
 * na + nb <= CMP_EXACT_MAX; normal approximation with tie correction and a
 * continuity correction otherwise. u_out (may be NULL) gets U of a.
 * Returns 1 when either sample is empty or every value is equal. */
#define CMP_EXACT_MAX 40
double cmp_mann_whitney(const double *a, size_t na, const double *b, size_t nb, double *u_out);

/* Which way is good for this metric name. */
enum cmp_dir cmp_metric_dir(const char *metric);
/* The same within a group: where its generator saturated (an ok record with
 * generator_saturated), dut_cycles_per_request is gated too (lower). */
enum cmp_dir cmp_group_metric_dir(const char *metric, int generator_saturated);
/* The smallest two-sided p the exact U test can reach with na and nb samples. */
double cmp_min_p(size_t na, size_t nb);
const char *cmp_verdict_name(enum cmp_verdict v);

/* Whether metric is a cycles figure (depends on the CPU accounting method). */
int cmp_metric_is_cycles(const char *metric);
/* 1 when the gate fails: a row WORSE or TOO_FEW. */
int cmp_failed_gate(const struct cmp_report *r);
/* A p-value for a report, "-" for a row judged without a test (NaN). */
const char *cmp_fmt_p(double p, char *buf, size_t len);
/* "BASE kernel 6.1.0, NEW 6.18.0" (or "... NEW unknown") into buf. */
const char *cmp_env_note_text(const struct cmp_env_note *n, char *buf, size_t len);

/* Compare two arrays of trial records (as from results_load_dir). 0 or -1
 * with err (a record without workload.name or driver). */
int cmp_records(json_t *base, json_t *new_recs, const struct cmp_opts *o, struct cmp_report *out,
                char *err, size_t errlen);
/* Load both directories and compare. -1 with err naming the directory. */
int cmp_dirs(const char *base_dir, const char *new_dir, const struct cmp_opts *o,
             struct cmp_report *out, char *err, size_t errlen);
void cmp_report_free(struct cmp_report *r);

/* Reports (written to a temporary name and renamed). 0 or -1 with err. */
/* A gated, tested row whose threshold exceeds CMP_BLIND_ABOVE: a loss
 * smaller than its threshold passes. cmp_blind_rows counts them. */
int cmp_row_blind(const struct cmp_row *x);
size_t cmp_blind_rows(const struct cmp_report *r);
int cmp_write_markdown(const struct cmp_report *r, const char *base_dir, const char *new_dir,
                       const char *path, char *err, size_t errlen);
int cmp_write_junit(const struct cmp_report *r, const char *path, char *err, size_t errlen);

#endif
