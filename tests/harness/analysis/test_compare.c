/*
 * test_compare.c — harness/analysis/compare.c: the Mann-Whitney U p-value (exact path
 * checked against a brute-force enumeration, ties included; the normal
 * approximation on large samples), metric directions, and the whole gate on
 * synthetic results directories written to mkdtemp with results_write_trial:
 * a real shift (10%, 1% noise, n = 5) is flagged worse with p < 0.05, noise of
 * the same spread is not, a significant but small shift stays "same", ten
 * identical-distribution runs with different seeds flag nothing, a missing
 * driver is a regression, bad input names the directory, and the Markdown and
 * JUnit reports say what failed. Environments: a BASE/NEW pair differing in
 * kernel gets a warning and the same verdicts; a differing CPU method leaves
 * the cycles metrics unjudged; a field on one side only is "unknown" and
 * changes nothing; identical environments give no warning.
 */
#include "harness/analysis/compare.h"
#include "harness/analysis/results.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char base[64];

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/bb_compare_XXXXXX");
    cr_assert_not_null(mkdtemp(base));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    cr_expect_eq(system(cmd), 0);
}

/* ---- a seeded normal generator (xorshift64* + Box-Muller) ---- */

static double uniform(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return ((double)((*s * 2685821657736338717ull) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s, double mean, double sd)
{
    double u = uniform(s), v = uniform(s);
    return mean + sd * sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* ---- brute-force exact p: every subset of size na of the pooled midranks ---- */

static double brute_p(const double *a, size_t na, const double *b, size_t nb)
{
    size_t n = na + nb;
    double v[32], r[32];
    cr_assert(n <= 20);
    for (size_t i = 0; i < na; i++) v[i] = a[i];
    for (size_t i = 0; i < nb; i++) v[na + i] = b[i];
    for (size_t i = 0; i < n; i++) { /* midrank of v[i] */
        double lt = 0, eq = 0;
        for (size_t j = 0; j < n; j++) lt += v[j] < v[i], eq += v[j] == v[i];
        r[i] = lt + (eq + 1) / 2;
    }
    double obs = 0, center = (double)na * (double)(n + 1) / 2;
    for (size_t i = 0; i < na; i++) obs += r[i];
    double tot = 0, ext = 0;
    for (uint32_t m = 0; m < (1u << n); m++) {
        if ((size_t)__builtin_popcount(m) != na) continue;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            if (m & (1u << i)) s += r[i];
        tot++;
        if (fabs(s - center) >= fabs(obs - center) - 1e-9) ext++;
    }
    return ext / tot;
}

Test(mann_whitney, exact_known_values)
{
    double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10}, u;
    cr_expect_float_eq(cmp_mann_whitney(a, 5, b, 5, &u), 2.0 / 252, 1e-12);
    cr_expect_float_eq(u, 0, 1e-12);
    cr_expect_float_eq(cmp_mann_whitney(b, 5, a, 5, &u), 2.0 / 252, 1e-12);
    cr_expect_float_eq(u, 25, 1e-12);
    double c[] = {1, 2, 3}, d[] = {4, 5, 6};
    cr_expect_float_eq(cmp_mann_whitney(c, 3, d, 3, NULL), 0.1, 1e-12);
    cr_expect_float_eq(cmp_mann_whitney(a, 5, a, 5, NULL), 1.0, 1e-12);
    double same[] = {7, 7, 7, 7};
    cr_expect_float_eq(cmp_mann_whitney(same, 4, same, 4, NULL), 1.0, 1e-12);
    cr_expect_float_eq(cmp_mann_whitney(a, 0, b, 5, NULL), 1.0, 1e-12);
}

Test(mann_whitney, exact_matches_brute_force_with_ties)
{
    uint64_t s = 42;
    for (int round = 0; round < 40; round++) {
        size_t na = 2 + (size_t)(uniform(&s) * 8), nb = 2 + (size_t)(uniform(&s) * 8);
        if (na + nb > 16) nb = 16 - na;
        double a[16], b[16];
        double shift = round % 3 == 0 ? 0 : uniform(&s) * 3;
        for (size_t i = 0; i < na; i++) a[i] = floor(uniform(&s) * 6);         /* many ties */
        for (size_t i = 0; i < nb; i++) b[i] = floor(uniform(&s) * 6 + shift);
        double p = cmp_mann_whitney(a, na, b, nb, NULL), q = brute_p(a, na, b, nb);
        cr_expect_float_eq(p, q, 1e-9, "round %d (na %zu nb %zu): %g vs brute force %g", round, na, nb, p, q);
    }
}

Test(mann_whitney, normal_approximation_large_samples)
{
    uint64_t s = 7;
    double a[60], b[60], c[60];
    for (int i = 0; i < 60; i++) a[i] = gauss(&s, 100, 5), b[i] = gauss(&s, 100, 5), c[i] = gauss(&s, 107, 5);
    double p_same = cmp_mann_whitney(a, 60, b, 60, NULL), p_shift = cmp_mann_whitney(a, 60, c, 60, NULL);
    cr_expect_gt(p_same, 0.05, "same distribution: p %g", p_same);
    cr_expect_lt(p_shift, 0.001, "shift of 1.4 sd, n = 60: p %g", p_shift);
    cr_expect_float_eq(p_shift, cmp_mann_whitney(c, 60, a, 60, NULL), 1e-12); /* two-sided */
    /* ties: half the values identical, still a valid probability */
    for (int i = 0; i < 30; i++) a[i] = b[i] = 100;
    double p = cmp_mann_whitney(a, 60, b, 60, NULL);
    cr_expect(p > 0 && p <= 1, "p %g", p);
}

Test(mann_whitney, normal_approximation_known_values)
{
    /* N = 50 > CMP_EXACT_MAX: z with continuity correction, as R's
     * wilcox.test(exact = FALSE, correct = TRUE) */
    double a[25], b[25], u;
    for (int i = 0; i < 25; i++) a[i] = i + 1, b[i] = i + 26;
    cr_expect_float_eq(cmp_mann_whitney(a, 25, b, 25, &u) / 1.4156562248495634e-09, 1.0, 1e-6);
    cr_expect_float_eq(u, 0, 1e-12);
    /* heavy ties: tie-corrected variance */
    for (int i = 0; i < 25; i++) a[i] = i < 13 ? 1 : 2, b[i] = i < 13 ? 2 : 3;
    cr_expect_float_eq(cmp_mann_whitney(a, 25, b, 25, &u) / 7.721928294110947e-07, 1.0, 1e-6);
    cr_expect_float_eq(u, 78, 1e-12);
}

Test(compare, metric_directions)
{
    cr_expect_eq(cmp_metric_dir("rps"), CMP_DIR_HIGHER);
    cr_expect_eq(cmp_metric_dir("gbps"), CMP_DIR_HIGHER);
    cr_expect_eq(cmp_metric_dir("cps"), CMP_DIR_HIGHER);
    cr_expect_eq(cmp_metric_dir("server_requests_parsed"), CMP_DIR_NONE); /* derived from rps */
    cr_expect_eq(cmp_metric_dir("system_cycles_per_packet"), CMP_DIR_NONE);
    cr_expect_eq(cmp_metric_dir("lat_p50_ns"), CMP_DIR_LOWER);
    cr_expect_eq(cmp_metric_dir("lat_p99_ns"), CMP_DIR_NONE); /* tails: reported, not gated */
    cr_expect_eq(cmp_metric_dir("download_s"), CMP_DIR_LOWER);
    cr_expect_eq(cmp_metric_dir("system_cycles_per_request"), CMP_DIR_LOWER);
    cr_expect_eq(cmp_metric_dir("errors"), CMP_DIR_LOWER);
    cr_expect_eq(cmp_metric_dir("lat_max_ns"), CMP_DIR_NONE);
    cr_expect_eq(cmp_metric_dir("measured_s"), CMP_DIR_NONE);
    cr_expect_eq(cmp_metric_dir("dut_packets_per_request"), CMP_DIR_NONE);
}

/* ---- synthetic results directories ---- */

struct gen {
    double rps, lat, cyc; /* means */
    double sd;            /* relative noise */
};

/* dir/<name> with n trials of workload ka-64 on each driver in drivers
 * (NULL-terminated); each record gets a copy of env and {method: cpu_method}
 * as its cpu object when they are not NULL. */
static void write_run_env(const char *name, const char *const *drivers, const struct gen *g, int n,
                          uint64_t seed, json_t *env, const char *cpu_method, char *out,
                          size_t outlen)
{
    char err[512];
    snprintf(out, outlen, "%s/%s", base, name);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (const char *const *d = drivers; *d; d++)
        for (int r = 1; r <= n; r++) {
            double rps = gauss(&s, g->rps, g->rps * g->sd);
            json_t *rec = json_pack("{s:{s:s, s:s}, s:s, s:s, s:i, s:{s:f, s:f, s:f, s:f, s:f, s:i}}",
                                    "workload", "name", "ka-64", "mode", "closed", "driver", *d,
                                    "status", "ok", "repeat", r, "metrics", "rps", rps, "gbps",
                                    rps * 64 * 8 / 1e9, "lat_p50_ns", gauss(&s, g->lat, g->lat * g->sd),
                                    "system_cycles_per_request", gauss(&s, g->cyc, g->cyc * g->sd),
                                    "measured_s", 1.0, "errors", 0);
            cr_assert_not_null(rec);
            if (env) json_object_set_new(rec, "env", json_deep_copy(env));
            if (cpu_method)
                json_object_set_new(rec, "cpu", json_pack("{s:s}", "method", cpu_method));
            cr_assert_eq(results_write_trial(out, "ka-64", *d, (unsigned)r, rec, err, sizeof err), 0,
                         "%s", err);
            json_decref(rec);
        }
}

static void write_run(const char *name, const char *const *drivers, const struct gen *g, int n,
                      uint64_t seed, char *out, size_t outlen)
{
    write_run_env(name, drivers, g, n, seed, NULL, NULL, out, outlen);
}

static const struct cmp_row *find(const struct cmp_report *r, const char *drv, const char *metric)
{
    for (size_t i = 0; i < r->nrows; i++)
        if (strcmp(r->rows[i].driver, drv) == 0 && strcmp(r->rows[i].metric, metric) == 0)
            return &r->rows[i];
    return NULL;
}

static const char *const two[] = {"kernel", "afpacket", NULL};

Test(compare, real_shift_is_worse, .init = setup, .fini = teardown)
{
    struct gen g0 = {100000, 200000, 30000, 0.01}, g1 = g0;
    g1.rps *= 0.85, g1.lat *= 1.15, g1.cyc *= 1.15; /* afpacket got 15% slower (min effect: 10%) */
    char b[128], n[128], err[1024];
    write_run("base", two, &g0, 5, 1, b, sizeof b);
    static const char *const k[] = {"kernel", NULL}, *const a[] = {"afpacket", NULL};
    write_run("new", k, &g0, 5, 2, n, sizeof n);
    write_run("new", a, &g1, 5, 3, n, sizeof n);
    struct cmp_report r;
    struct cmp_opts o;
    cmp_opts_defaults(&o);
    cr_assert_eq(cmp_dirs(b, n, &o, &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(r.ngroups, 2);
    const char *bad[] = {"rps", "gbps", "lat_p50_ns", "system_cycles_per_request"};
    for (size_t i = 0; i < 4; i++) {
        const struct cmp_row *x = find(&r, "afpacket", bad[i]);
        cr_assert_not_null(x, "%s", bad[i]);
        cr_expect_eq(x->verdict, CMP_WORSE, "%s: %s", bad[i], cmp_verdict_name(x->verdict));
        cr_expect_lt(x->p, 0.05, "%s p %g", bad[i], x->p);
        cr_expect_gt(fabs(x->change), 0.10, "%s change %g", bad[i], x->change);
        cr_expect_eq(x->n_base, 5);
        cr_expect_eq(x->n_new, 5);
        const struct cmp_row *y = find(&r, "kernel", bad[i]);
        cr_assert_not_null(y);
        cr_expect_eq(y->verdict, CMP_SAME, "kernel %s: %s p %g change %g", bad[i],
                     cmp_verdict_name(y->verdict), y->p, y->change);
    }
    cr_expect_eq(r.nworse, 4);
    const struct cmp_row *m = find(&r, "afpacket", "measured_s");
    cr_assert_not_null(m, "other numeric metrics present in both are compared");
    cr_expect_float_eq(m->p, 1.0, 1e-12);
    cr_expect_eq(m->verdict, CMP_SAME);

    /* the reports */
    char md[160], xml[160];
    snprintf(md, sizeof md, "%s/r.md", base);
    snprintf(xml, sizeof xml, "%s/r.xml", base);
    cr_assert_eq(cmp_write_markdown(&r, b, n, md, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cmp_write_junit(&r, xml, err, sizeof err), 0, "%s", err);
    static char buf[65536];
    FILE *f = fopen(md, "r");
    cr_assert_not_null(f);
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    cr_expect_not_null(strstr(buf, "REGRESSION"));
    cr_expect_not_null(strstr(buf, "| ka-64 | afpacket | rps |"));
    f = fopen(xml, "r");
    cr_assert_not_null(f);
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    cr_expect_not_null(strstr(buf, "failures=\"4\""));
    cr_expect_not_null(strstr(buf, "classname=\"ka-64.afpacket\" name=\"rps\">\n      <failure"));
    cr_expect_null(strstr(buf, "classname=\"ka-64.kernel\" name=\"rps\">\n      <failure"));
    size_t cases = 0;
    for (const char *p = buf; (p = strstr(p, "<testcase ")); p++) cases++;
    cr_expect_eq(cases, r.nrows);
    cmp_report_free(&r);
}

Test(compare, improvement_is_better_not_a_failure, .init = setup, .fini = teardown)
{
    struct gen g0 = {100000, 200000, 30000, 0.01}, g1 = g0;
    g1.rps *= 1.2, g1.lat *= 0.8, g1.cyc *= 0.8;
    char b[128], n[128], err[1024];
    write_run("base", two, &g0, 5, 11, b, sizeof b);
    write_run("new", two, &g1, 5, 12, n, sizeof n);
    struct cmp_report r;
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(r.nworse, 0);
    cr_expect_eq(r.nbetter, 8);
    cmp_report_free(&r);
}

Test(compare, noise_of_the_same_spread_is_not_flagged, .init = setup, .fini = teardown)
{
    struct gen g = {100000, 200000, 30000, 0.01};
    char b[128], n[128], err[1024], name[32];
    write_run("base", two, &g, 5, 100, b, sizeof b);
    for (int seed = 1; seed <= 10; seed++) { /* ten "identical builds" */
        snprintf(name, sizeof name, "new%d", seed);
        write_run(name, two, &g, 5, 1000 + (uint64_t)seed, n, sizeof n);
        struct cmp_report r;
        cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
        cr_expect_eq(r.nworse, 0, "seed %d flagged %zu worse", seed, r.nworse);
        cr_expect_eq(r.nbetter, 0, "seed %d flagged %zu better", seed, r.nbetter);
        cr_expect_eq(r.nrows, 2 * 7); /* 5 metrics (errors is judged per trial) + ok_trials + errors_per_trial */
        cmp_report_free(&r);
    }
}

Test(compare, small_significant_shift_is_same, .init = setup, .fini = teardown)
{
    struct gen g0 = {100000, 200000, 30000, 0.001}, g1 = g0;
    g1.rps *= 0.98; /* certainly different, but under the 5% minimum effect */
    char b[128], n[128], err[1024];
    write_run("base", two, &g0, 5, 21, b, sizeof b);
    write_run("new", two, &g1, 5, 22, n, sizeof n);
    struct cmp_report r;
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    const struct cmp_row *x = find(&r, "kernel", "rps");
    cr_assert_not_null(x);
    cr_expect_lt(x->p, 0.05);
    cr_expect_eq(x->verdict, CMP_SAME);
    cmp_report_free(&r);
    struct cmp_opts o;
    cmp_opts_defaults(&o);
    o.min_effect = 0.01;
    cr_assert_eq(cmp_dirs(b, n, &o, &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(find(&r, "kernel", "rps")->verdict, CMP_WORSE);
    cmp_report_free(&r);
}

Test(compare, missing_driver_and_failed_trials, .init = setup, .fini = teardown)
{
    struct gen g = {100000, 200000, 30000, 0.01};
    char b[128], n[128], err[1024];
    write_run("base", two, &g, 5, 31, b, sizeof b);
    static const char *const k[] = {"kernel", NULL};
    write_run("new", k, &g, 5, 32, n, sizeof n);
    json_t *rec = json_pack("{s:{s:s}, s:s, s:s, s:{}}", "workload", "name", "ka-64", "driver",
                            "afpacket", "status", "failed", "metrics");
    cr_assert_eq(results_write_trial(n, "ka-64", "afpacket", 1, rec, err, sizeof err), 0, "%s", err);
    json_decref(rec);
    struct cmp_report r;
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    const struct cmp_row *x = find(&r, "afpacket", "trials");
    cr_assert_not_null(x);
    cr_expect_eq(x->verdict, CMP_WORSE);
    cr_expect_eq(r.nworse, 1);
    cmp_report_free(&r);
    struct cmp_opts o;
    cmp_opts_defaults(&o);
    o.allow_missing = 1;
    cr_assert_eq(cmp_dirs(b, n, &o, &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(r.nworse, 0);
    cmp_report_free(&r);
}

Test(compare, bad_input_names_the_directory, .init = setup, .fini = teardown)
{
    struct gen g = {100000, 200000, 30000, 0.01};
    char b[128], missing[160], err[1024];
    write_run("base", two, &g, 2, 41, b, sizeof b);
    snprintf(missing, sizeof missing, "%s/nope", base);
    struct cmp_report r;
    cr_expect_eq(cmp_dirs(b, missing, NULL, &r, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, missing), "%s", err);
    cr_expect_eq(cmp_dirs(missing, b, NULL, &r, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, "BASE"), "%s", err);
    /* a record without a driver */
    char n[160];
    snprintf(n, sizeof n, "%s/new", base);
    json_t *rec = json_pack("{s:{s:s}, s:s, s:{}}", "workload", "name", "ka-64", "status", "ok", "metrics");
    cr_assert_eq(results_write_trial(n, "ka-64", "x", 1, rec, err, sizeof err), 0, "%s", err);
    json_decref(rec);
    cr_expect_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, "driver"), "%s", err);
    cr_expect_not_null(strstr(err, n), "%s", err);
}

/* ---- the gate's former blind spots (issue 13, item 7) ---- */

/* n trials of ka-64 on drv: rps ~ N(rps, rps x sd), dut cycles ~ N(dut, dut x
 * 1%); the first nfail of them failed with `errors` client errors each. */
static void write_custom(const char *name, const char *drv, int n, int nfail, double rps, double sd,
                         double dut, int errors, int saturated, uint64_t seed, char *out,
                         size_t outlen)
{
    char err[512];
    snprintf(out, outlen, "%s/%s", base, name);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    for (int r = 1; r <= n; r++) {
        int failed = r <= nfail;
        json_t *rec = json_pack(
            "{s:{s:s, s:s}, s:s, s:s, s:o, s:i, s:b, s:{s:f, s:f, s:i}}", "workload", "name",
            "ka-64", "mode", "closed", "driver", drv, "status", failed ? "failed" : "ok", "failure",
            failed ? json_string("3 client errors (unanswered 3)") : json_null(), "repeat", r,
            "generator_saturated", saturated, "metrics", "rps", gauss(&s, rps, rps * sd),
            "dut_cycles_per_request", gauss(&s, dut, dut * 0.01), "errors", failed ? errors : 0);
        cr_assert_not_null(rec);
        cr_assert_eq(results_write_trial(out, "ka-64", drv, (unsigned)r, rec, err, sizeof err), 0,
                     "%s", err);
        json_decref(rec);
    }
}

Test(compare_gate, jitter_does_not_raise_its_own_bar, .init = setup, .fini = teardown)
{
    /* req/s 35% lower and much noisier (sd 15% of the old mean, a CV of
     * about 23%): with NEW's CV in the threshold (2 x 23% = 46%) this read
     * "same" */
    char b[128], n[128], err[1024];
    write_custom("base", "afpacket", 12, 0, 100000, 0.02, 5000, 0, 0, 1, b, sizeof b);
    write_custom("new", "afpacket", 6, 0, 65000, 0.23, 5000, 0, 0, 2, n, sizeof n);
    struct cmp_report r;
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    const struct cmp_row *x = find(&r, "afpacket", "rps");
    cr_assert_not_null(x);
    cr_expect_float_eq(x->threshold, 0.10, 0.02, "threshold %g: BASE's noise only", x->threshold);
    cr_expect_eq(x->verdict, CMP_WORSE, "%s (p %g, change %g)", cmp_verdict_name(x->verdict), x->p,
                 x->change);
    cr_expect(cmp_failed_gate(&r));
    cmp_report_free(&r);
}

/* A baseline as noisy as the ring's (CV ~20%) sets a bar near 40%: a 15%
 * loss there passes the statistical gate. The report must say so, naming
 * the row and the change it would need, not read as "no regression". */
Test(compare_gate, blind_spots_are_named, .init = setup, .fini = teardown)
{
    char b[128], n[128], err[1024], md[160];
    write_custom("base", "dpdk-ring", 12, 0, 100000, 0.20, 5000, 0, 0, 3, b, sizeof b);
    write_custom("new", "dpdk-ring", 6, 0, 85000, 0.20, 5000, 0, 0, 4, n, sizeof n);
    struct cmp_report r;
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    const struct cmp_row *x = find(&r, "dpdk-ring", "rps");
    cr_assert_not_null(x);
    cr_expect_gt(x->threshold, CMP_BLIND_ABOVE, "threshold %g", x->threshold);
    snprintf(md, sizeof md, "%s/r.md", base);
    cr_assert_eq(cmp_write_markdown(&r, b, n, md, err, sizeof err), 0, "%s", err);
    static char buf[65536];
    FILE *f = fopen(md, "r");
    cr_assert_not_null(f);
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    char want[96];
    snprintf(want, sizeof want, "`ka-64` on `dpdk-ring` rps %.0f%%", x->threshold * 100);
    cr_expect_not_null(strstr(buf, "**Blind spots**"), "%s", buf);
    cr_expect_not_null(strstr(buf, want), "%s not in %s", want, buf);
    snprintf(want, sizeof want, "| %.1f%% |", x->threshold * 100);
    cr_expect_not_null(strstr(buf, want), "the needs column: %s", buf);
    cmp_report_free(&r);

    /* a quiet baseline has none */
    write_custom("base2", "dpdk-ring", 12, 0, 100000, 0.02, 5000, 0, 0, 5, b, sizeof b);
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cmp_write_markdown(&r, b, n, md, err, sizeof err), 0, "%s", err);
    f = fopen(md, "r");
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    cr_expect_null(strstr(buf, "**Blind spots**"), "%s", buf);
    cmp_report_free(&r);
}

Test(compare_gate, few_ok_trials_fail_by_share_and_are_listed, .init = setup, .fini = teardown)
{
    /* 1 ok trial of 6: the U test cannot reach p < 0.05 with 12 vs 1
     * (2/13), so the group used to pass whatever its figures */
    char b[128], n[128], err[1024], md[160];
    write_custom("base", "dpdk-ring", 12, 0, 100000, 0.02, 5000, 0, 0, 3, b, sizeof b);
    write_custom("new", "dpdk-ring", 6, 5, 100000, 0.02, 5000, 3, 0, 4, n, sizeof n);
    struct cmp_report r;
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    const struct cmp_row *ok = find(&r, "dpdk-ring", "ok_trials");
    cr_assert_not_null(ok);
    cr_expect_float_eq(ok->base_median, 1.0, 1e-12);
    cr_expect_float_eq(ok->new_median, 1.0 / 6, 1e-12);
    cr_expect_eq(ok->verdict, CMP_WORSE);
    const struct cmp_row *e = find(&r, "dpdk-ring", "errors_per_trial");
    cr_assert_not_null(e, "errors are judged over every trial, failed ones too");
    cr_expect_float_eq(e->new_median, 15.0 / 6, 1e-12);
    cr_expect_eq(e->verdict, CMP_WORSE);
    const struct cmp_row *x = find(&r, "dpdk-ring", "rps");
    cr_assert_not_null(x);
    cr_expect_eq(x->verdict, CMP_TOO_FEW, "%s", cmp_verdict_name(x->verdict));
    cr_expect_eq(r.nfailed, 5);
    cr_expect_eq(r.nfailed_listed, 5);
    cr_expect_str_eq(r.failed[0].driver, "dpdk-ring");
    cr_expect_not_null(strstr(r.failed[0].why, "unanswered"));
    snprintf(md, sizeof md, "%s/r.md", base);
    cr_assert_eq(cmp_write_markdown(&r, b, n, md, err, sizeof err), 0, "%s", err);
    static char buf[65536];
    FILE *f = fopen(md, "r");
    cr_assert_not_null(f);
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    cr_expect_not_null(strstr(buf, "## Failed trials in NEW"));
    cr_expect_not_null(strstr(buf, "`ka-64` on `dpdk-ring`, repeat 1: 3 client errors"));
    cr_expect_not_null(strstr(buf, "REGRESSION"));
    cmp_report_free(&r);
    /* all ok again: nothing flagged, nothing listed */
    write_custom("new2", "dpdk-ring", 6, 0, 100000, 0.02, 5000, 0, 0, 5, n, sizeof n);
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    cr_expect_not(cmp_failed_gate(&r), "%zu worse, %zu too few", r.nworse, r.ntoo_few);
    cr_expect_eq(r.nfailed, 0);
    cmp_report_free(&r);
}

Test(compare_gate, saturated_generator_gates_dut_cycles, .init = setup, .fini = teardown)
{
    /* the generator is the bottleneck: req/s unchanged, the DUT 15% dearer */
    char b[128], n[128], err[1024];
    write_custom("base", "afpacket", 12, 0, 100000, 0.01, 5000, 0, 1, 6, b, sizeof b);
    write_custom("new", "afpacket", 6, 0, 100000, 0.01, 5750, 0, 1, 7, n, sizeof n);
    struct cmp_report r;
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    const struct cmp_row *x = find(&r, "afpacket", "dut_cycles_per_request");
    cr_assert_not_null(x);
    cr_expect_eq(x->dir, CMP_DIR_LOWER);
    cr_expect_eq(x->verdict, CMP_WORSE, "%s", cmp_verdict_name(x->verdict));
    cr_expect_eq(find(&r, "afpacket", "rps")->verdict, CMP_SAME);
    cmp_report_free(&r);
    /* not saturated: the DUT-core figure is reported, not gated */
    write_custom("base2", "afpacket", 12, 0, 100000, 0.01, 5000, 0, 0, 6, b, sizeof b);
    write_custom("new2", "afpacket", 6, 0, 100000, 0.01, 5750, 0, 0, 7, n, sizeof n);
    cr_assert_eq(cmp_dirs(b, n, NULL, &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(find(&r, "afpacket", "dut_cycles_per_request")->verdict, CMP_CHANGED);
    cmp_report_free(&r);
}

Test(compare_gate, min_p_known_values)
{
    cr_expect_float_eq(cmp_min_p(12, 1), 2.0 / 13, 1e-12);
    cr_expect_float_eq(cmp_min_p(5, 5), 2.0 / 252, 1e-12);
    cr_expect_float_eq(cmp_min_p(2, 2), 2.0 / 6, 1e-12);
    cr_expect_float_eq(cmp_min_p(0, 5), 1.0, 1e-12);
}

/* ---- environments ---- */

/* An env as sysinfo_json writes it (cpu_accounting as run.c sets it). */
static json_t *env_of(const char *kernel, const char *build, const char *method)
{
    json_t *e = json_pack("{s:s, s:s, s:i, s:s, s:s}", "kernel", kernel, "cpu_model", "AMD EPYC",
                          "ncpu", 2, "git_describe", build, "hostname", "vm");
    if (strcmp(method, "perf_event_cycles") == 0)
        json_object_set_new(e, "cpu_accounting", json_string(method));
    else
        json_object_set_new(e, "cpu_accounting", json_pack("{s:s, s:s}", "method", method,
                                                           "why_not_perf", "ENOENT"));
    return e;
}

static const char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    return buf;
}

/* The same data (same seeds) under two environments: the verdicts of each row. */
static void verdicts(json_t *eb, const char *mb, json_t *en, const char *mn, struct cmp_report *r,
                     const char *tag)
{
    struct gen g0 = {100000, 200000, 30000, 0.01}, g1 = g0;
    g1.rps *= 0.85, g1.lat *= 1.15, g1.cyc *= 1.15;
    char b[128], n[128], err[1024], nb[32], nn[32];
    snprintf(nb, sizeof nb, "base-%s", tag);
    snprintf(nn, sizeof nn, "new-%s", tag);
    write_run_env(nb, two, &g0, 5, 1, eb, mb, b, sizeof b);
    write_run_env(nn, two, &g1, 5, 3, en, mn, n, sizeof n);
    cr_assert_eq(cmp_dirs(b, n, NULL, r, err, sizeof err), 0, "%s", err);
}

Test(compare_env, identical_env_gives_no_warning, .init = setup, .fini = teardown)
{
    json_t *e = env_of("6.18.44", "979ff5a", "proc_stat_busy_x_tsc");
    struct cmp_report r;
    verdicts(e, "proc_stat_busy_x_tsc", e, "proc_stat_busy_x_tsc", &r, "same");
    cr_expect_eq(r.nenv, 0);
    cr_expect_eq(r.nenv_differs, 0);
    cr_expect_eq(r.cpu_method_differs, 0);
    cr_expect_eq(r.nnot_comparable, 0);
    cr_expect_eq(r.nworse, 8);
    char md[160];
    snprintf(md, sizeof md, "%s/r.md", base);
    char err[512];
    cr_assert_eq(cmp_write_markdown(&r, "b", "n", md, err, sizeof err), 0, "%s", err);
    cr_expect_null(strstr(slurp(md), "warning"));
    cmp_report_free(&r);
    json_decref(e);
}

Test(compare_env, kernel_differs_warns_same_verdicts, .init = setup, .fini = teardown)
{
    json_t *e0 = env_of("6.1.0", "979ff5a", "proc_stat_busy_x_tsc");
    json_t *e1 = env_of("6.18.0", "abc1234", "proc_stat_busy_x_tsc");
    struct cmp_report same, r;
    verdicts(e0, "proc_stat_busy_x_tsc", e0, "proc_stat_busy_x_tsc", &same, "a");
    verdicts(e0, "proc_stat_busy_x_tsc", e1, "proc_stat_busy_x_tsc", &r, "b");
    cr_expect_eq(r.nenv_differs, 2, "kernel and build");
    cr_expect_eq(r.cpu_method_differs, 0);
    char t[512];
    int kernel = 0, build = 0;
    for (size_t i = 0; i < r.nenv; i++) {
        cmp_env_note_text(&r.env[i], t, sizeof t);
        if (strcmp(r.env[i].field, "kernel") == 0) {
            kernel = 1;
            cr_expect_str_eq(t, "BASE kernel 6.1.0, NEW 6.18.0");
        }
        if (strcmp(r.env[i].field, "build") == 0) {
            build = 1;
            cr_expect_str_eq(t, "BASE build 979ff5a, NEW abc1234");
        }
    }
    cr_expect(kernel && build);
    cr_assert_eq(r.nrows, same.nrows);
    for (size_t i = 0; i < r.nrows; i++)
        cr_expect_eq(r.rows[i].verdict, same.rows[i].verdict, "%s %s", r.rows[i].driver,
                     r.rows[i].metric);
    cr_expect_eq(r.nworse, same.nworse);
    cr_expect_eq(r.nnot_comparable, 0);

    char md[160], xml[160], err[512];
    snprintf(md, sizeof md, "%s/r.md", base);
    snprintf(xml, sizeof xml, "%s/r.xml", base);
    cr_assert_eq(cmp_write_markdown(&r, "b", "n", md, err, sizeof err), 0, "%s", err);
    cr_expect_not_null(strstr(slurp(md), "**warning**: BASE kernel 6.1.0, NEW 6.18.0"));
    cr_assert_eq(cmp_write_junit(&r, xml, err, sizeof err), 0, "%s", err);
    cr_expect_not_null(
        strstr(slurp(xml), "<property name=\"env_warning\" value=\"BASE kernel 6.1.0, NEW 6.18.0\"/>"));
    cmp_report_free(&r);
    cmp_report_free(&same);
    json_decref(e0), json_decref(e1);
}

Test(compare_env, cpu_method_differs_leaves_cycles_unjudged, .init = setup, .fini = teardown)
{
    json_t *e0 = env_of("6.18.0", "979ff5a", "proc_stat_busy_x_tsc");
    json_t *e1 = env_of("6.18.0", "979ff5a", "perf_event_cycles");
    struct cmp_report r;
    verdicts(e0, "proc_stat_busy_x_tsc", e1, "perf_event_cycles", &r, "m");
    cr_expect_eq(r.cpu_method_differs, 1);
    cr_expect_eq(r.nenv_differs, 1);
    const struct cmp_row *c = find(&r, "afpacket", "system_cycles_per_request");
    cr_assert_not_null(c);
    cr_expect_eq(c->verdict, CMP_NOT_COMPARABLE, "%s", cmp_verdict_name(c->verdict));
    cr_expect_eq(find(&r, "kernel", "system_cycles_per_request")->verdict, CMP_NOT_COMPARABLE);
    cr_expect_eq(find(&r, "afpacket", "rps")->verdict, CMP_WORSE, "other metrics still judged");
    cr_expect_eq(r.nworse, 6, "rps, gbps, lat_p50_ns of both drivers; not the cycles");
    cr_expect_eq(r.nnot_comparable, 2);
    char xml[160], md[160], err[512];
    snprintf(xml, sizeof xml, "%s/r.xml", base);
    snprintf(md, sizeof md, "%s/r.md", base);
    cr_assert_eq(cmp_write_markdown(&r, "b", "n", md, err, sizeof err), 0, "%s", err);
    const char *m = slurp(md);
    cr_expect_not_null(strstr(m, "BASE CPU method proc_stat_busy_x_tsc, NEW perf_event_cycles"));
    cr_expect_not_null(strstr(m, "| not comparable: CPU method differs |"));
    cr_assert_eq(cmp_write_junit(&r, xml, err, sizeof err), 0, "%s", err);
    const char *x = slurp(xml);
    cr_expect_not_null(strstr(x, "failures=\"6\""));
    cr_expect_not_null(strstr(x, "skipped=\"2\""));
    cr_expect_not_null(strstr(x, "name=\"system_cycles_per_request\">\n      <skipped"));
    cmp_report_free(&r);

    /* env only (no cpu object in the records): the run's cpu_accounting */
    verdicts(e0, NULL, e1, NULL, &r, "env");
    cr_expect_eq(r.cpu_method_differs, 1);
    cr_expect_eq(find(&r, "afpacket", "system_cycles_per_request")->verdict, CMP_NOT_COMPARABLE);
    cmp_report_free(&r);
    json_decref(e0), json_decref(e1);
}

Test(compare_env, field_missing_on_one_side_is_unknown, .init = setup, .fini = teardown)
{
    json_t *e0 = env_of("6.18.0", "979ff5a", "proc_stat_busy_x_tsc");
    json_t *e1 = json_deep_copy(e0);
    json_object_del(e0, "kernel");
    json_object_del(e0, "cpu_accounting");
    json_object_set_new(e1, "compiler", json_string("gcc 12.2"));
    struct cmp_report same, r;
    verdicts(e1, "proc_stat_busy_x_tsc", e1, "proc_stat_busy_x_tsc", &same, "a");
    verdicts(e0, NULL, e1, "perf_event_cycles", &r, "b");
    cr_expect_eq(r.nenv_differs, 0);
    cr_expect_eq(r.cpu_method_differs, 0, "unknown on one side does not change verdicts");
    cr_expect_eq(r.nenv, 3, "kernel, cpu_method, compiler: unknown on BASE");
    char t[512];
    for (size_t i = 0; i < r.nenv; i++) {
        cr_expect_eq(r.env[i].differs, 0);
        cr_expect_str_eq(r.env[i].base, "unknown");
        cmp_env_note_text(&r.env[i], t, sizeof t);
        cr_expect_not_null(strstr(t, "BASE"), "%s", t);
    }
    cr_assert_eq(r.nrows, same.nrows);
    for (size_t i = 0; i < r.nrows; i++) cr_expect_eq(r.rows[i].verdict, same.rows[i].verdict);
    cmp_report_free(&r);
    cmp_report_free(&same);
    json_decref(e0), json_decref(e1);
}
