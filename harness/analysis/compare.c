/*
 * compare.c — the statistical regression gate (see compare.h).
 *
 *   cmp_dirs() -> results_load_dir() x2 -> cmp_records() -> group_records()
 *     -> per group, per metric: collect() -> stats_median(), cmp_mann_whitney()
 *     -> verdict()
 *   cmp_write_markdown(), cmp_write_junit(): the reports.
 *
 * Callers: harness/cli/compare.c, tests/harness/analysis/test_compare.c.
 * Calls: results.c, stats.c, jansson, libm.
 */
#include "harness/analysis/compare.h"

#include "harness/analysis/results.h"
#include "harness/analysis/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmp_opts_defaults(struct cmp_opts *o)
{
    o->alpha = 0.05;
    o->min_effect = 0.10; /* above the ~5% run-to-run drift measured on a 2-core VM */
    o->noise_k = 2;
    o->allow_missing = 0;
}

/* ---- Mann-Whitney U ---- */

struct tagged {
    double v;
    int from_a;
};

static int cmp_tagged(const void *x, const void *y)
{
    double a = ((const struct tagged *)x)->v, b = ((const struct tagged *)y)->v;
    return (a > b) - (a < b);
}

/* Exact two-sided p from the permutation distribution of the rank sum of a,
 * with doubled midranks r2[] (integers). Subset-sum counting DP. */
static double exact_p(const unsigned *r2, size_t n, size_t na, unsigned s_obs)
{
    size_t smax = (size_t)n * (n + 1); /* doubled rank sum of all n */
    double *cnt = calloc((na + 1) * (smax + 1), sizeof(*cnt));
    if (!cnt) return NAN;
#define CNT(k, s) cnt[(size_t)(k) * (smax + 1) + (s)]
    CNT(0, 0) = 1;
    for (size_t i = 0; i < n; i++) {
        size_t kmax = i + 1 < na ? i + 1 : na;
        for (size_t k = kmax; k >= 1; k--)
            for (size_t s = smax; s >= r2[i]; s--) {
                CNT(k, s) += CNT(k - 1, s - r2[i]);
                if (s == r2[i]) break;
            }
    }
    double center = (double)na * (double)(n + 1), dobs = fabs((double)s_obs - center);
    double tot = 0, ext = 0;
    for (size_t s = 0; s <= smax; s++) {
        double c = CNT(na, s);
        if (c == 0) continue;
        tot += c;
        if (fabs((double)s - center) >= dobs - 1e-9) ext += c;
    }
#undef CNT
    free(cnt);
    return tot > 0 ? fmin(1.0, ext / tot) : 1.0;
}

double cmp_mann_whitney(const double *a, size_t na, const double *b, size_t nb, double *u_out)
{
    if (u_out) *u_out = NAN;
    if (na == 0 || nb == 0) return 1.0;
    size_t n = na + nb;
    struct tagged *t = malloc(n * sizeof(*t));
    unsigned *r2 = malloc(n * sizeof(*r2));
    if (!t || !r2) {
        free(t), free(r2);
        return NAN;
    }
    for (size_t i = 0; i < na; i++) t[i] = (struct tagged){a[i], 1};
    for (size_t i = 0; i < nb; i++) t[na + i] = (struct tagged){b[i], 0};
    qsort(t, n, sizeof(*t), cmp_tagged);
    double ties = 0; /* sum of t^3 - t over tie groups */
    uint64_t s_obs = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && t[j + 1].v == t[i].v) j++;
        double g = (double)(j - i + 1);
        ties += g * g * g - g;
        for (size_t k = i; k <= j; k++) {
            r2[k] = (unsigned)(i + j + 2); /* 2 x midrank of 1-based ranks i+1..j+1 */
            if (t[k].from_a) s_obs += r2[k];
        }
        i = j + 1;
    }
    double u = (double)s_obs / 2.0 - (double)na * (double)(na + 1) / 2.0;
    if (u_out) *u_out = u;
    double p;
    if (n <= CMP_EXACT_MAX) {
        p = exact_p(r2, n, na, (unsigned)s_obs);
    } else {
        double mu = (double)na * (double)nb / 2.0, dn = (double)n;
        double var = (double)na * (double)nb / 12.0 * ((dn + 1) - ties / (dn * (dn - 1)));
        if (var <= 0) {
            p = 1.0;
        } else {
            double z = (fabs(u - mu) - 0.5) / sqrt(var);
            p = z <= 0 ? 1.0 : fmin(1.0, erfc(z / sqrt(2.0)));
        }
    }
    free(t), free(r2);
    return p;
}

/* ---- metric directions ---- */

enum cmp_dir cmp_metric_dir(const char *m)
{
    /* The gate judges the primary figures only; every other metric (tail
     * latencies, per-packet and DUT-core cycles, counters, totals derived
     * from req/s) is reported as changed or same, never as a regression.
     * With ~170 rows per run, gating them all turned run-to-run drift into
     * false alarms (measured here on unchanged builds: p99 +26% at
     * p = 0.016; cycles/packet +5.3% at p = 0.03). */
    static const struct {
        const char *name;
        enum cmp_dir dir;
    } gated[] = {
        {"rps", CMP_DIR_HIGHER},         {"cps", CMP_DIR_HIGHER},
        {"gbps", CMP_DIR_HIGHER},        {"download_s", CMP_DIR_LOWER},
        {"system_cycles_per_request", CMP_DIR_LOWER}, {"lat_p50_ns", CMP_DIR_LOWER},
        {"errors", CMP_DIR_LOWER},
    };
    for (size_t i = 0; i < sizeof(gated) / sizeof(gated[0]); i++)
        if (strcmp(m, gated[i].name) == 0) return gated[i].dir;
    return CMP_DIR_NONE;
}

const char *cmp_verdict_name(enum cmp_verdict v)
{
    switch (v) {
    case CMP_BETTER: return "better";
    case CMP_WORSE: return "worse";
    case CMP_CHANGED: return "changed";
    case CMP_NOT_COMPARABLE: return "not comparable: CPU method differs";
    case CMP_TOO_FEW: return "too few trials to judge";
    default: return "same";
    }
}

int cmp_metric_is_cycles(const char *m)
{
    return strstr(m, "cycles") != NULL || strcmp(m, "gen_util") == 0;
}

/* ---- environments ---- */

/* One record's value of an environment field, or NULL when not recorded. */
static const char *env_value(json_t *r, const char *field)
{
    json_t *env = json_object_get(r, "env");
    const char *v;
    if (strcmp(field, "cpu_method") == 0) {
        /* what the trial used; else what the run chose (a string, or
         * {method, why_not_perf} when perf was not there) */
        v = json_string_value(json_object_get(json_object_get(r, "cpu"), "method"));
        if (!v) {
            json_t *ca = json_object_get(env, "cpu_accounting");
            v = json_is_string(ca) ? json_string_value(ca)
                                   : json_string_value(json_object_get(ca, "method"));
        }
    } else if (strcmp(field, "build") == 0) {
        v = json_string_value(json_object_get(env, "git_describe"));
    } else {
        v = json_string_value(json_object_get(env, field));
    }
    return v && *v && strcmp(v, "unknown") != 0 ? v : NULL;
}

/* The side's value: "unknown" when no record has it, "mixed (a, b)" when
 * its records disagree. Returns 1 when known. */
static int side_value(json_t *recs, const char *field, char *out, size_t len)
{
    const char *v = NULL, *other = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *x = env_value(r, field);
        if (!x) continue;
        if (!v) v = x;
        else if (!other && strcmp(v, x) != 0) other = x;
    }
    if (!v) snprintf(out, len, "unknown");
    else if (other) snprintf(out, len, "mixed (%s, %s)", v, other);
    else snprintf(out, len, "%s", v);
    return v != NULL;
}

const char *cmp_env_note_text(const struct cmp_env_note *n, char *buf, size_t len)
{
    static const struct {
        const char *field, *label;
    } labels[] = {{"kernel", "kernel"},        {"cpu_model", "CPU model"},
                  {"cpu_method", "CPU method"}, {"build", "build"},
                  {"compiler", "compiler"}};
    const char *label = n->field;
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (strcmp(labels[i].field, n->field) == 0) label = labels[i].label;
    snprintf(buf, len, "BASE %s %s, NEW %s", label, n->base, n->new_);
    return buf;
}

static void env_check(struct cmp_report *rep, json_t *base, json_t *new_recs)
{
    static const char *const fields[] = {"kernel", "cpu_model", "cpu_method", "build", "compiler"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && rep->nenv < CMP_MAX_ENV_NOTES; i++) {
        struct cmp_env_note n;
        memset(&n, 0, sizeof(n));
        snprintf(n.field, sizeof(n.field), "%s", fields[i]);
        int kb = side_value(base, fields[i], n.base, sizeof(n.base));
        int kn = side_value(new_recs, fields[i], n.new_, sizeof(n.new_));
        if (!kb && !kn) continue;          /* recorded by neither: nothing to say */
        if (kb && kn && strcmp(n.base, n.new_) == 0) continue;
        n.differs = kb && kn;
        rep->env[rep->nenv++] = n;
        if (n.differs) {
            rep->nenv_differs++;
            if (strcmp(fields[i], "cpu_method") == 0) rep->cpu_method_differs = 1;
        }
    }
}

/* ---- grouping ---- */

struct group {
    char wl[64], drv[64];
    json_t *base, *new_recs; /* ok records of each side (arrays, owned) */
    json_t *base_all, *new_all; /* every record of each side, failed ones too */
    size_t base_total, new_total;
    int saturated; /* an ok record on either side has generator_saturated */
};

struct groups {
    struct group *g;
    size_t n, cap;
};

static void groups_free(struct groups *gs)
{
    for (size_t i = 0; i < gs->n; i++) {
        json_decref(gs->g[i].base), json_decref(gs->g[i].new_recs);
        json_decref(gs->g[i].base_all), json_decref(gs->g[i].new_all);
    }
    free(gs->g);
}

/* A failed NEW trial, named in the report: the gate must not hide it. */
static void note_failed(struct cmp_report *rep, const char *wl, const char *drv, json_t *r)
{
    if (!rep) return;
    rep->nfailed++;
    if (rep->nfailed_listed >= CMP_MAX_FAILED) return;
    struct cmp_failed *f = &rep->failed[rep->nfailed_listed++];
    const char *why = json_string_value(json_object_get(r, "failure"));
    snprintf(f->workload, sizeof(f->workload), "%s", wl);
    snprintf(f->driver, sizeof(f->driver), "%s", drv);
    f->repeat = (unsigned)json_integer_value(json_object_get(r, "repeat"));
    snprintf(f->why, sizeof(f->why), "%s", why ? why : "(no reason recorded)");
}

static int group_records(struct groups *gs, json_t *recs, int is_new, const char *side,
                         struct cmp_report *fails, char *err, size_t errlen)
{
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *wl = json_string_value(json_object_get(json_object_get(r, "workload"), "name"));
        const char *drv = json_string_value(json_object_get(r, "driver"));
        const char *st = json_string_value(json_object_get(r, "status"));
        if (!wl || !drv) {
            snprintf(err, errlen, "%s: trial record %zu has no workload.name or driver", side, i + 1);
            return -1;
        }
        struct group *g = NULL;
        for (size_t k = 0; k < gs->n && !g; k++)
            if (strcmp(gs->g[k].wl, wl) == 0 && strcmp(gs->g[k].drv, drv) == 0) g = &gs->g[k];
        if (!g) {
            if (gs->n == gs->cap) {
                size_t cap = gs->cap ? gs->cap * 2 : 16;
                struct group *ng = realloc(gs->g, cap * sizeof(*ng));
                if (!ng) {
                    snprintf(err, errlen, "out of memory grouping %s", side);
                    return -1;
                }
                gs->g = ng, gs->cap = cap;
            }
            g = &gs->g[gs->n++];
            memset(g, 0, sizeof(*g));
            snprintf(g->wl, sizeof(g->wl), "%s", wl);
            snprintf(g->drv, sizeof(g->drv), "%s", drv);
            g->base = json_array();
            g->new_recs = json_array();
            g->base_all = json_array();
            g->new_all = json_array();
        }
        if (is_new) g->new_total++;
        else g->base_total++;
        json_array_append(is_new ? g->new_all : g->base_all, r);
        if (st && strcmp(st, "ok") == 0) {
            json_array_append(is_new ? g->new_recs : g->base, r);
            if (json_is_true(json_object_get(r, "generator_saturated"))) g->saturated = 1;
        } else if (is_new) {
            note_failed(fails, wl, drv, r);
        }
    }
    return 0;
}

/* Numeric values of metrics.<key> over recs into v (cap >= array size). */
static size_t collect(json_t *recs, const char *key, double *v)
{
    size_t i, n = 0;
    json_t *r;
    json_array_foreach(recs, i, r) {
        json_t *x = json_object_get(json_object_get(r, "metrics"), key);
        if (json_is_number(x) && isfinite(json_number_value(x))) v[n++] = json_number_value(x);
    }
    return n;
}

static int add_row(struct cmp_report *rep, const struct cmp_row *row)
{
    if (rep->nrows == rep->cap) {
        size_t cap = rep->cap ? rep->cap * 2 : 64;
        struct cmp_row *nr = realloc(rep->rows, cap * sizeof(*nr));
        if (!nr) return -1;
        rep->rows = nr, rep->cap = cap;
    }
    rep->rows[rep->nrows++] = *row;
    if (row->verdict == CMP_NOT_COMPARABLE) rep->nnot_comparable++;
    if (row->verdict == CMP_WORSE) rep->nworse++;
    if (row->verdict == CMP_BETTER) rep->nbetter++;
    if (row->verdict == CMP_CHANGED) rep->nchanged++;
    if (row->verdict == CMP_TOO_FEW) rep->ntoo_few++;
    return 0;
}

static enum cmp_verdict verdict(const struct cmp_row *r, const struct cmp_opts *o)
{
    if (!(r->p < o->alpha) || !(fabs(r->change) >= r->threshold)) return CMP_SAME;
    switch (r->dir) {
    case CMP_DIR_HIGHER: return r->change > 0 ? CMP_BETTER : CMP_WORSE;
    case CMP_DIR_LOWER: return r->change < 0 ? CMP_BETTER : CMP_WORSE;
    default: return CMP_CHANGED;
    }
}

/* The smallest two-sided p the exact test can give for samples of na and nb:
 * both extreme arrangements, 2 / C(na + nb, na). */
double cmp_min_p(size_t na, size_t nb)
{
    if (na == 0 || nb == 0) return 1.0;
    double c = 1; /* C(n, k) with k = min(na, nb) */
    size_t n = na + nb, k = na < nb ? na : nb;
    for (size_t i = 1; i <= k; i++) c = c * (double)(n - k + i) / (double)i;
    return fmin(1.0, 2.0 / c);
}

enum cmp_dir cmp_group_metric_dir(const char *m, int generator_saturated)
{
    /* Where the generator is the bottleneck, req/s cannot show a slower DUT:
     * the DUT core's cycles per request can, so they are gated there. */
    if (generator_saturated && strcmp(m, "dut_cycles_per_request") == 0) return CMP_DIR_LOWER;
    return cmp_metric_dir(m);
}

static int compare_metric(struct cmp_report *rep, const struct group *g, const char *key,
                          const struct cmp_opts *o, double *va, double *vb)
{
    struct cmp_row row = {.dir = cmp_group_metric_dir(key, g->saturated)};
    snprintf(row.workload, sizeof(row.workload), "%s", g->wl);
    snprintf(row.driver, sizeof(row.driver), "%s", g->drv);
    snprintf(row.metric, sizeof(row.metric), "%s", key);
    row.n_base = collect(g->base, key, va);
    row.n_new = collect(g->new_recs, key, vb);
    if (!row.n_base || !row.n_new) return 0; /* not present in both */
    row.base_median = stats_median(va, row.n_base);
    row.new_median = stats_median(vb, row.n_new);
    double d = row.new_median - row.base_median;
    if (row.base_median != 0) row.change = d / fabs(row.base_median);
    else row.change = d == 0 ? 0 : (d > 0 ? INFINITY : -INFINITY);
    row.p = cmp_mann_whitney(vb, row.n_new, va, row.n_base, NULL);
    if (isnan(row.p)) row.p = 1.0;
    /* Noise-aware effect: a group whose baseline repeats spread by CV c needs
     * a shift of at least noise_k x c (measured here: unchanged dpdk-ring
     * runs, CV ~13%, moved by -10.6% at p = 0.03). The noise is the
     * baseline's only: a regression that adds jitter must not raise its own
     * bar (with NEW's CV, a 28-56% loss of req/s was once judged "same"). */
    double cv_b = row.n_base > 1 ? stats_cv(va, row.n_base) : 0;
    row.threshold = fmax(o->min_effect, o->noise_k * (isnan(cv_b) ? 0 : fabs(cv_b)));
    row.verdict = verdict(&row, o);
    /* A gated figure whose samples are too few for the test to ever reach
     * alpha cannot pass by being unjudgeable. */
    if (row.dir != CMP_DIR_NONE && row.verdict == CMP_SAME &&
        !(cmp_min_p(row.n_base, row.n_new) < o->alpha))
        row.verdict = CMP_TOO_FEW;
    /* cycles from hardware counters and from busy time x TSC are different
     * measures: report the figures, judge nothing */
    if (rep->cpu_method_differs && cmp_metric_is_cycles(key)) row.verdict = CMP_NOT_COMPARABLE;
    return add_row(rep, &row);
}

/* Client errors per trial over every trial of a side, failed ones too (a
 * trial with errors fails, so over the ok trials the figure is always 0). */
static double errors_per_trial(json_t *all)
{
    size_t i, n = json_array_size(all);
    double sum = 0;
    json_t *r;
    json_array_foreach(all, i, r) {
        json_t *x = json_object_get(json_object_get(r, "metrics"), "errors");
        if (!json_is_number(x))
            x = json_object_get(json_object_get(r, "client"), "errors_total");
        if (json_is_number(x)) sum += json_number_value(x);
    }
    return n ? sum / (double)n : 0;
}

/* Two deterministic rows per group, judged without a test: the share of
 * trials that were ok ("ok_trials") and client errors per trial
 * ("errors_per_trial"), each worse when NEW's is worse than BASE's at all. */
static int ok_and_errors(struct cmp_report *rep, const struct group *g)
{
    struct cmp_row row = {.n_base = g->base_total, .n_new = g->new_total, .p = NAN,
                          .dir = CMP_DIR_HIGHER};
    snprintf(row.workload, sizeof(row.workload), "%s", g->wl);
    snprintf(row.driver, sizeof(row.driver), "%s", g->drv);
    snprintf(row.metric, sizeof(row.metric), "ok_trials");
    row.base_median = (double)json_array_size(g->base) / (double)g->base_total;
    row.new_median = (double)json_array_size(g->new_recs) / (double)g->new_total;
    row.change = row.new_median - row.base_median; /* a difference of shares */
    row.verdict = row.new_median < row.base_median ? CMP_WORSE : CMP_SAME;
    if (add_row(rep, &row) < 0) return -1;
    snprintf(row.metric, sizeof(row.metric), "errors_per_trial");
    row.dir = CMP_DIR_LOWER;
    row.base_median = errors_per_trial(g->base_all);
    row.new_median = errors_per_trial(g->new_all);
    double d = row.new_median - row.base_median;
    row.change = row.base_median != 0 ? d / row.base_median : d == 0 ? 0 : INFINITY;
    row.verdict = row.new_median > row.base_median ? CMP_WORSE : CMP_SAME;
    return add_row(rep, &row);
}

static int compare_group(struct cmp_report *rep, const struct group *g, const struct cmp_opts *o)
{
    size_t nb = json_array_size(g->base), nn = json_array_size(g->new_recs);
    if (nb == 0) return 0; /* nothing to compare against (new group, or base all failed) */
    if (nn == 0) {
        struct cmp_row row = {.n_base = nb, .base_median = (double)nb, .change = -1, .p = 0,
                              .dir = CMP_DIR_HIGHER,
                              .verdict = o->allow_missing ? CMP_SAME : CMP_WORSE};
        snprintf(row.workload, sizeof(row.workload), "%s", g->wl);
        snprintf(row.driver, sizeof(row.driver), "%s", g->drv);
        snprintf(row.metric, sizeof(row.metric), "trials");
        rep->ngroups++;
        return add_row(rep, &row);
    }
    rep->ngroups++;
    if (ok_and_errors(rep, g) < 0) return -1;
    double *va = malloc(nb * sizeof(*va)), *vb = malloc(nn * sizeof(*vb));
    json_t *done = json_object();
    int rc = va && vb && done ? 0 : -1;
    json_object_set_new(done, "errors", json_true()); /* judged over every trial above */
    static const char *const first[] = {"rps", "gbps", "lat_p99_ns", "system_cycles_per_request"};
    for (size_t i = 0; rc == 0 && i < sizeof(first) / sizeof(first[0]); i++) {
        json_object_set_new(done, first[i], json_true());
        rc = compare_metric(rep, g, first[i], o, va, vb);
    }
    size_t i;
    json_t *r;
    json_array_foreach(g->base, i, r) {
        const char *key;
        json_t *x;
        json_object_foreach(json_object_get(r, "metrics"), key, x) {
            if (rc < 0 || !json_is_number(x) || json_object_get(done, key)) continue;
            json_object_set_new(done, key, json_true());
            rc = compare_metric(rep, g, key, o, va, vb);
        }
    }
    json_decref(done);
    free(va), free(vb);
    return rc;
}

int cmp_records(json_t *base, json_t *new_recs, const struct cmp_opts *o, struct cmp_report *out,
                char *err, size_t errlen)
{
    struct cmp_opts def;
    if (!o) cmp_opts_defaults(&def), o = &def;
    memset(out, 0, sizeof(*out));
    out->alpha = o->alpha, out->min_effect = o->min_effect;
    if (!json_is_array(base) || !json_is_array(new_recs)) {
        snprintf(err, errlen, "compare: trial records must be arrays");
        return -1;
    }
    env_check(out, base, new_recs);
    struct groups gs = {0};
    int rc = group_records(&gs, base, 0, "BASE", NULL, err, errlen);
    if (rc == 0) rc = group_records(&gs, new_recs, 1, "NEW", out, err, errlen);
    for (size_t i = 0; rc == 0 && i < gs.n; i++)
        if (compare_group(out, &gs.g[i], o) < 0) {
            snprintf(err, errlen, "compare: out of memory");
            rc = -1;
        }
    groups_free(&gs);
    if (rc < 0) cmp_report_free(out);
    return rc;
}

int cmp_dirs(const char *base_dir, const char *new_dir, const struct cmp_opts *o,
             struct cmp_report *out, char *err, size_t errlen)
{
    char e[768];
    json_t *b = results_load_dir(base_dir, e, sizeof(e));
    if (!b) {
        snprintf(err, errlen, "BASE %s: %s", base_dir, e);
        return -1;
    }
    json_t *n = results_load_dir(new_dir, e, sizeof(e));
    if (!n) {
        snprintf(err, errlen, "NEW %s: %s", new_dir, e);
        json_decref(b);
        return -1;
    }
    int rc = -1;
    if (json_array_size(b) == 0)
        snprintf(err, errlen, "BASE %s: no trial records in %s/trials", base_dir, base_dir);
    else if (json_array_size(n) == 0)
        snprintf(err, errlen, "NEW %s: no trial records in %s/trials", new_dir, new_dir);
    else
        rc = cmp_records(b, n, o, out, e, sizeof(e));
    if (rc < 0 && json_array_size(b) && json_array_size(n))
        snprintf(err, errlen, "%s (BASE %s, NEW %s)", e, base_dir, new_dir);
    json_decref(b), json_decref(n);
    return rc;
}

void cmp_report_free(struct cmp_report *r)
{
    free(r->rows);
    r->rows = NULL;
    r->nrows = r->cap = 0;
}

/* ---- reports ---- */

static const char *fmt_change(double c, char *buf, size_t len)
{
    if (isinf(c)) snprintf(buf, len, "%sinf", c > 0 ? "+" : "-");
    else snprintf(buf, len, "%+.1f%%", c * 100);
    return buf;
}

const char *cmp_fmt_p(double p, char *buf, size_t len)
{
    if (isnan(p)) snprintf(buf, len, "-"); /* a row judged without a test */
    else snprintf(buf, len, "%.4g", p);
    return buf;
}

int cmp_failed_gate(const struct cmp_report *r)
{
    return r->nworse > 0 || r->ntoo_few > 0;
}

static FILE *open_tmp(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
    snprintf(tmp, tmplen, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) snprintf(err, errlen, "cannot write %s: %m", tmp);
    return f;
}

static int close_rename(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "cannot write %s: %m", tmp);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %m", tmp, path);
        remove(tmp);
        return -1;
    }
    return 0;
}

int cmp_row_blind(const struct cmp_row *x)
{
    return x->dir != CMP_DIR_NONE && !isnan(x->p) && x->threshold > CMP_BLIND_ABOVE;
}

size_t cmp_blind_rows(const struct cmp_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nrows; i++)
        n += (size_t)cmp_row_blind(&r->rows[i]);
    return n;
}

int cmp_write_markdown(const struct cmp_report *r, const char *base_dir, const char *new_dir,
                       const char *path, char *err, size_t errlen)
{
    char tmp[4096], c[32], pb[32];
    FILE *f = open_tmp(path, tmp, sizeof(tmp), err, errlen);
    if (!f) return -1;
    fprintf(f, "# bypassbench compare\n\n");
    fprintf(f, "- BASE: `%s`\n- NEW: `%s`\n", base_dir, new_dir);
    fprintf(f, "- Mann-Whitney U, two-sided; worse = p < %g and |change of medians| >= "
               "max(%g%%, k x BASE's CV); ok_trials and errors_per_trial (over every trial, "
               "failed ones too) are worse on any loss, without a test (p shown as -)\n\n",
            r->alpha, r->min_effect * 100);
    fprintf(f, "**%s**: %zu worse, %zu too few trials to judge, %zu better, %zu changed (no "
               "direction), %zu rows over %zu workload x driver groups; %zu NEW trials failed.\n\n",
            cmp_failed_gate(r) ? "REGRESSION" : "OK", r->nworse, r->ntoo_few, r->nbetter,
            r->nchanged, r->nrows, r->ngroups, r->nfailed);
    if (r->nfailed) {
        fprintf(f, "## Failed trials in NEW\n\n");
        for (size_t i = 0; i < r->nfailed_listed; i++)
            fprintf(f, "- `%s` on `%s`, repeat %u: %s\n", r->failed[i].workload,
                    r->failed[i].driver, r->failed[i].repeat, r->failed[i].why);
        if (r->nfailed > r->nfailed_listed)
            fprintf(f, "- and %zu more (see the records)\n", r->nfailed - r->nfailed_listed);
        fprintf(f, "\n");
    }
    if (r->nenv) {
        char t[512];
        fprintf(f, "## Environment\n\n");
        for (size_t i = 0; i < r->nenv; i++) {
            const struct cmp_env_note *n = &r->env[i];
            cmp_env_note_text(n, t, sizeof(t));
            if (!n->differs)
                fprintf(f, "- note: %s (not recorded on one side; not compared)\n", t);
            else if (strcmp(n->field, "cpu_method") == 0)
                fprintf(f, "- **warning**: %s: the cycles metrics are not comparable and are not "
                           "judged (%zu rows)\n", t, r->nnot_comparable);
            else
                fprintf(f, "- **warning**: %s\n", t);
        }
        fprintf(f, "\n");
    }
    if (cmp_failed_gate(r)) {
        fprintf(f, "## Regressions\n\n");
        for (size_t i = 0; i < r->nrows; i++) {
            const struct cmp_row *x = &r->rows[i];
            if (x->verdict == CMP_WORSE || x->verdict == CMP_TOO_FEW)
                fprintf(f, "- `%s` on `%s`: %s %s (p = %s, %.6g -> %.6g, n = %zu/%zu)%s\n",
                        x->workload, x->driver, x->metric, fmt_change(x->change, c, sizeof(c)),
                        cmp_fmt_p(x->p, pb, sizeof(pb)), x->base_median, x->new_median, x->n_base,
                        x->n_new, x->verdict == CMP_TOO_FEW ? ": too few trials to judge" : "");
        }
        fprintf(f, "\n");
    }
    /* What the gate cannot see: a gated row flags only a change of at least
     * its threshold, which the baseline's noise sets. */
    size_t nblind = cmp_blind_rows(r);
    if (nblind) {
        fprintf(f, "**Blind spots**: %zu gated rows flag only a change larger than %.0f%% (their "
                   "BASE is that noisy; column \"needs\"):",
                nblind, CMP_BLIND_ABOVE * 100);
        for (size_t i = 0, k = 0; i < r->nrows; i++) {
            const struct cmp_row *x = &r->rows[i];
            if (!cmp_row_blind(x)) continue;
            fprintf(f, "%s `%s` on `%s` %s %.0f%%", k++ ? "," : "", x->workload, x->driver,
                    x->metric, x->threshold * 100);
        }
        fprintf(f, ". A smaller loss there passes this gate; the instruction gate "
                   "(ci/ipr_gate.sh) is the one that sees a few percent of the stack's work.\n\n");
    }
    fprintf(f, "| workload | driver | metric | n | base median | new median | change | needs | p | "
               "verdict |\n");
    fprintf(f, "|---|---|---|---|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < r->nrows; i++) {
        const struct cmp_row *x = &r->rows[i];
        const char *em = x->verdict == CMP_WORSE || x->verdict == CMP_TOO_FEW ? "**" : "";
        char need[32] = "-";
        if (!isnan(x->p) && x->dir != CMP_DIR_NONE)
            snprintf(need, sizeof(need), "%.1f%%", x->threshold * 100);
        fprintf(f, "| %s | %s | %s | %zu/%zu | %.6g | %.6g | %s | %s | %s | %s%s%s |\n",
                x->workload, x->driver, x->metric, x->n_base, x->n_new, x->base_median,
                x->new_median, fmt_change(x->change, c, sizeof(c)), need,
                cmp_fmt_p(x->p, pb, sizeof(pb)), em, cmp_verdict_name(x->verdict), em);
    }
    return close_rename(f, tmp, path, err, errlen);
}

static void xml_put(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t') fputc(*s, f);
        }
    }
}

int cmp_write_junit(const struct cmp_report *r, const char *path, char *err, size_t errlen)
{
    char tmp[4096], c[32], msg[512], pb[32];
    size_t nfail = r->nworse + r->ntoo_few;
    FILE *f = open_tmp(path, tmp, sizeof(tmp), err, errlen);
    if (!f) return -1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"bypassbench compare\" tests=\"%zu\" failures=\"%zu\">\n",
            r->nrows, nfail);
    fprintf(f, "  <testsuite name=\"bypassbench.compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
               "skipped=\"%zu\">\n",
            r->nrows, nfail, r->nnot_comparable);
    if (r->nenv) {
        char t[512];
        fputs("    <properties>\n", f);
        for (size_t i = 0; i < r->nenv; i++) {
            fprintf(f, "      <property name=\"%s\" value=\"",
                    r->env[i].differs ? "env_warning" : "env_note");
            xml_put(f, cmp_env_note_text(&r->env[i], t, sizeof(t)));
            fputs("\"/>\n", f);
        }
        fputs("    </properties>\n", f);
    }
    for (size_t i = 0; i < r->nrows; i++) {
        const struct cmp_row *x = &r->rows[i];
        snprintf(msg, sizeof(msg), "%s %s (p=%s, base median %.6g, new median %.6g, n=%zu/%zu): %s",
                 x->metric, fmt_change(x->change, c, sizeof(c)), cmp_fmt_p(x->p, pb, sizeof(pb)), x->base_median,
                 x->new_median, x->n_base, x->n_new, cmp_verdict_name(x->verdict));
        fputs("    <testcase classname=\"", f);
        xml_put(f, x->workload);
        fputc('.', f);
        xml_put(f, x->driver);
        fputs("\" name=\"", f);
        xml_put(f, x->metric);
        fputs("\"", f);
        if (x->verdict == CMP_WORSE || x->verdict == CMP_TOO_FEW) {
            fprintf(f, ">\n      <failure type=\"%s\" message=\"",
                    x->verdict == CMP_WORSE ? "regression" : "too_few_trials");
            xml_put(f, msg);
            fputs("\"/>\n    </testcase>\n", f);
        } else if (x->verdict == CMP_NOT_COMPARABLE) {
            fputs(">\n      <skipped message=\"", f);
            xml_put(f, msg);
            fputs("\"/>\n    </testcase>\n", f);
        } else {
            fputs(">\n      <system-out>", f);
            xml_put(f, msg);
            fputs("</system-out>\n    </testcase>\n", f);
        }
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    return close_rename(f, tmp, path, err, errlen);
}
