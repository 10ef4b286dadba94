/*
 * test_report.c — harness/analysis/report.c: REPORT.md of the recorded results
 * directory (tests/fixtures/results-quick, copied to a mkdtemp directory)
 * lists every trial and has a table per workload with every driver and the
 * ratio to kernel, the environment, the method notes, the download table in
 * the layout of the downloader paper's Table 2 and the figure links; and on a
 * synthetic run the warnings: noisy (default and given threshold),
 * generator-bound, failed trials with their reasons; with the figures drawn,
 * a PNG link per figure; no ratio to kernel for a row whose generator is not
 * the kernel row's (dpdk-ring), only the mark † and its note.
 */
#include "harness/analysis/plot.h"
#include "harness/analysis/report.h"
#include "harness/analysis/results.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE "tests/fixtures/results-quick"

static char base[64];

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/bb_report_XXXXXX");
    cr_assert_not_null(mkdtemp(base));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 30);

static char *slurp(const char *path)
{
    static char buf[1 << 17];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The text of section "## name" up to the next "## ". */
static char *section(const char *md, const char *name)
{
    static char buf[1 << 16];
    char key[128];
    snprintf(key, sizeof key, "\n## %s\n", name);
    const char *p = strstr(md, key);
    cr_assert_not_null(p, "no section %s", name);
    p += strlen(key);
    const char *end = strstr(p, "\n## ");
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

Test(report, fixture_lists_every_trial_and_a_table_per_workload)
{
    char dir[128], cmd[512], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/run", base);
    snprintf(cmd, sizeof cmd, "cp -r " FIXTURE " '%s'", dir);
    cr_assert_eq(system(cmd), 0, "cannot copy the fixture (run from the source tree)");
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *md = slurp(path);

    /* Every trial of trials/ is listed, with its file. */
    static const char *const wl[] = {"ka-64", "pipe-1k", "cps-64", "open-64", "download-64m"};
    static const char *const drv[] = {"kernel", "afpacket"};
    char *trials = strdup(section(md, "Every trial"));
    for (size_t w = 0; w < 5; w++)
        for (size_t d = 0; d < 2; d++) {
            char link[128];
            snprintf(link, sizeof link, "[%s-%s-r1](trials/%s-%s-r1.json)", wl[w], drv[d], wl[w],
                     drv[d]);
            cr_expect_not_null(strstr(trials, link), "trial %s-%s-r1 not listed", wl[w], drv[d]);
        }
    cr_expect_eq(count(trials, "\n| "), 10 + 1, "one row per trial (and the header)");
    free(trials);

    /* A table per workload, every driver in it, ratios to kernel. */
    char *res = strdup(section(md, "Results per workload"));
    for (size_t w = 0; w < 5; w++) {
        char h[64];
        snprintf(h, sizeof h, "### %s\n", wl[w]);
        const char *p = strstr(res, h);
        cr_assert_not_null(p, "no table for %s", wl[w]);
        const char *next = strstr(p + 1, "\n### ");
        size_t len = next ? (size_t)(next - p) : strlen(p);
        char *t = strndup(p, len);
        cr_expect_not_null(strstr(t, "| driver | ok/trials |"), "%s", t);
        cr_expect_not_null(strstr(t, "| kernel | 1/1 |"), "%s", t);
        cr_expect_not_null(strstr(t, "| afpacket | 1/1 |"), "%s", t);
        cr_expect_not_null(strstr(t, "vs kernel"), "%s", t);
        cr_expect_not_null(strstr(t, " 1.00× |"), "kernel's own ratio: %s", t);
        free(t);
    }
    cr_expect_not_null(strstr(res, "| kernel | 1/1 | 147k |"), "ka-64 kernel req/s: %s", res);
    cr_expect_not_null(strstr(res, "conn/s"), "cps workloads show conn/s");
    free(res);

    /* Environment, method, the downloader table, figures. */
    cr_expect_not_null(strstr(section(md, "Environment"), "| cpu_model | AMD EPYC |"));
    const char *method = section(md, "Method");
    cr_expect_not_null(strstr(method, "`proc_stat_busy_x_tsc`"), "%s", method);
    cr_expect_not_null(strstr(method, "whole-system"), "%s", method);
    cr_expect_not_null(strstr(method, "order statistics"), "%s", method);
    cr_expect_not_null(strstr(method, "coverage it really has"), "%s", method);
    cr_expect_not_null(strstr(method, "Intervals in this run: n = 1: no interval."), "%s", method);
    cr_expect_null(strstr(method, "bootstrap"), "%s", method);
    const char *dl = section(md, "Download");
    cr_expect_not_null(strstr(dl, "| Sr. No. | File Size | kernel Downloader (sec) | afpacket "
                                  "Downloader (sec) | speed-up afpacket vs kernel |"),
                       "%s", dl);
    cr_expect_not_null(strstr(dl, "| 1 | 64.0 MiB | 0.1091 | 0.1305 | 0.84× |"), "%s", dl);
    const char *fig = section(md, "Figures");
    cr_expect_not_null(strstr(fig, "No data for this figure") || strstr(fig, "Not drawn"),
                       "figures are not drawn in this test: %s", fig);

    /* Real data: generator-bound trials are flagged (the fixture's ka-64 kernel ran at 94%). */
    const char *warn = section(md, "Warnings");
    cr_expect_not_null(strstr(warn, "**generator-bound**: ka-64-kernel-r1"), "%s", warn);
    cr_expect_null(strstr(warn, "**failed**"), "%s", warn);
}

static json_t *rec(const char *driver, int repeat, const char *status, double rps, double gen)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:i,s:i},s:s,s:s,s:i,s:s,s:s?,"
                     "s:{s:f,s:f,s:f}}",
                     "schema", "bypassbench.trial/1", "suite", "syn", "suite_hash", "h", "workload",
                     "name", "ka", "mode", "closed", "path", "/bytes/64", "connections", 4,
                     "pipeline", 1, "driver", driver, "generator_driver", "kernel", "repeat",
                     repeat, "status", status, "failure",
                     strcmp(status, "ok") ? "server exited abnormally (status 139)" : NULL,
                     "metrics", "rps", rps, "gbps", rps * 1e-6, "gen_util", gen);
}

/* As rec, with the record's own verdict generator_saturated (gen > 0.9). */
static json_t *rec_sat(const char *driver, int repeat, const char *status, double rps, double gen)
{
    json_t *r = rec(driver, repeat, status, rps, gen);
    json_object_set_new(r, "generator_saturated", json_boolean(gen > 0.9));
    return r;
}

Test(report, warnings_noisy_generator_bound_failed)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/syn", base);
    json_t *recs = json_array();
    /* kernel: cv 0.02 (not noisy at 5%); dpdk: cv 0.129 (noisy); dpdk r3 failed. */
    json_array_append_new(recs, rec_sat("kernel", 1, "ok", 1000, 0.5));
    json_array_append_new(recs, rec_sat("dpdk", 1, "ok", 2000, 0.5));
    json_array_append_new(recs, rec_sat("kernel", 2, "ok", 1020, 0.95));
    json_array_append_new(recs, rec_sat("dpdk", 2, "ok", 2400, 0.5));
    json_array_append_new(recs, rec_sat("kernel", 3, "ok", 980, 0.5));
    json_array_append_new(recs, rec_sat("dpdk", 3, "failed", 0, 0.1));
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *d = json_string_value(json_object_get(r, "driver"));
        unsigned rep = (unsigned)json_integer_value(json_object_get(r, "repeat"));
        cr_assert_eq(results_write_trial(dir, "ka", d, rep, r, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *md = slurp(path);
    char *warn = strdup(section(md, "Warnings"));
    cr_expect_not_null(strstr(warn, "**noisy** (CV > 5%): ka / dpdk: rps 12.9%"), "%s", warn);
    cr_expect_null(strstr(warn, "ka / kernel"), "kernel's cv 0.02 flagged: %s", warn);
    cr_expect_not_null(strstr(warn, "**generator-bound**: ka-kernel-r2: the generator used 95%"),
                       "%s", warn);
    cr_expect_eq(count(warn, "generator-bound"), 1, "%s", warn);
    cr_expect_not_null(
        strstr(warn, "**failed**: ka-dpdk-r3: server exited abnormally (status 139)"), "%s", warn);
    free(warn);
    const char *res = section(md, "Results per workload");
    /* The interval with its real coverage: [min, max] of 2 holds the median half the time. */
    cr_expect_not_null(strstr(res, "| dpdk | 2/3 | 2.20k [2.00k, 2.40k] 50.0% |"), "%s", res);
    cr_expect_not_null(strstr(res, "| kernel | 3/3 | 1.00k [980, 1.02k] 75.0% |"), "%s", res);
    cr_expect_not_null(strstr(res, "| 2.20× |"), "dpdk req/s vs kernel: %s", res);
    /* what limits each row's claim, beside its numbers, not only in Warnings */
    cr_expect_not_null(strstr(res, "| generator-bound in 1 of 3; interval covers 75.0% |\n"), "%s",
                       res);
    cr_expect_not_null(strstr(res, "| 1 of 3 trials failed; noisy ⚠; interval covers 50.0% |\n"),
                       "%s", res);
    cr_expect_not_null(strstr(section(md, "Every trial"), "| failed |"));
    cr_expect_eq(count(section(md, "Every trial"), "\n| "), 6 + 1);
    cr_expect_not_null(strstr(section(md, "Download"), "No download workload"));

    /* A lower threshold flags the kernel too. */
    struct report_opts o = {.noisy_cv = 0.01};
    cr_assert_eq(report_write(dir, &o, err, sizeof err), 0, "%s", err);
    md = slurp(path);
    cr_expect_not_null(
        strstr(section(md, "Warnings"), "**noisy** (CV > 1%): ka / kernel: rps 2.0%"), "%s",
        section(md, "Warnings"));
    json_decref(recs);
}

/* The coverage beside every interval, per number of repeats: 5 repeats give
 * [min, max] at 93.8% (not "95%"), 10 give (x2, x9) at 97.9%; the method note
 * lists the intervals of the run. */
Test(report, coverage_beside_the_interval)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/cov", base);
    json_t *recs = json_array();
    for (int r = 1; r <= 5; r++)
        json_array_append_new(recs, rec("kernel", r, "ok", 1000 + 10 * r, 0.5));
    for (int r = 1; r <= 10; r++)
        json_array_append_new(recs, rec("dpdk", r, "ok", 2000 + 100 * r, 0.5));
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *d = json_string_value(json_object_get(r, "driver"));
        unsigned rep = (unsigned)json_integer_value(json_object_get(r, "repeat"));
        cr_assert_eq(results_write_trial(dir, "ka", d, rep, r, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *md = slurp(path);
    const char *res = section(md, "Results per workload");
    cr_expect_not_null(strstr(res, "| kernel | 5/5 | 1.03k [1.01k, 1.05k] 93.8% |"), "%s", res);
    cr_expect_not_null(strstr(res, "| dpdk | 10/10 | 2.55k [2.20k, 2.90k] 97.9% |"), "%s", res);
    cr_expect_null(strstr(res, "95%"), "no nominal 95%% anywhere: %s", res);
    const char *method = section(md, "Method");
    cr_expect_not_null(strstr(method, "Intervals in this run: n = 5: [x(1), x(5)] 93.8%; "
                                      "n = 10: [x(2), x(9)] 97.9%."),
                       "%s", method);
    json_decref(recs);
}

/* A record of workload name (mode closed or download) with its generator. */
static json_t *rec_gen(const char *wl, const char *mode, const char *driver, const char *gen,
                       const char *link, double rps, double cyc, double dl)
{
    json_t *r = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:i,s:i},s:s,s:s,s:s,s:i,s:s,"
                          "s:{s:f,s:f,s:f}}",
                          "schema", "bypassbench.trial/1", "suite", "syn", "suite_hash", "h",
                          "workload", "name", wl, "mode", mode, "path",
                          strcmp(mode, "download") == 0 ? "/bytes/1M" : "/bytes/64",
                          "connections", 4, "pipeline", 1, "driver", driver, "generator_driver",
                          gen, "link", link, "repeat", 1, "status", "ok", "metrics", "rps", rps,
                          "system_cycles_per_request", cyc, "gen_util", 0.5);
    if (strcmp(mode, "download") == 0)
        json_object_set_new(json_object_get(r, "metrics"), "download_s", json_real(dl));
    return r;
}

/* The row of driver d ("| d | ...") in text, up to its newline. */
static char *row_of(const char *text, const char *d)
{
    char key[64];
    snprintf(key, sizeof key, "\n| %s | ", d);
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "no row %s in %s", d, text);
    p++;
    return strndup(p, strcspn(p, "\n"));
}

/* A ratio "vs kernel" holds only where only the DUT changed: on the ring link
 * the generator is our own stack on DPDK, so dpdk-ring gets no ratio but the
 * mark and its note; afpacket and dpdk (kernel generator) keep theirs. */
Test(report, no_ratio_to_kernel_where_the_generator_differs)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/gen", base);
    json_t *recs = json_array();
    json_array_append_new(recs, rec_gen("ka", "closed", "kernel", "kernel", "veth", 1000, 9000, 0));
    json_array_append_new(recs, rec_gen("ka", "closed", "afpacket", "kernel", "veth", 1500, 6000, 0));
    json_array_append_new(recs, rec_gen("ka", "closed", "dpdk", "kernel", "veth", 2000, 4500, 0));
    json_array_append_new(recs, rec_gen("ka", "closed", "dpdk-ring", "dpdk", "ring", 8000, 3000, 0));
    json_array_append_new(recs, rec_gen("dl", "download", "kernel", "kernel", "veth", 0, 0, 0.2));
    json_array_append_new(recs, rec_gen("dl", "download", "dpdk", "kernel", "veth", 0, 0, 0.1));
    json_array_append_new(recs, rec_gen("dl", "download", "dpdk-ring", "dpdk", "ring", 0, 0, 0.05));
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *wl = json_string_value(json_object_get(json_object_get(r, "workload"), "name"));
        const char *d = json_string_value(json_object_get(r, "driver"));
        cr_assert_eq(results_write_trial(dir, wl, d, 1, r, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *md = slurp(path);

    char *res = strdup(section(md, "Results per workload"));
    char *t = strndup(strstr(res, "### ka\n"), strstr(res, "### dl\n") - strstr(res, "### ka\n"));
    char *k = row_of(t, "kernel"), *a = row_of(t, "afpacket"), *d = row_of(t, "dpdk"),
         *g = row_of(t, "dpdk-ring");
    cr_expect_not_null(strstr(k, "| 1.00× | 1.00× |"), "%s", k);
    cr_expect_not_null(strstr(a, "| 1.50× | 0.67× |"), "afpacket keeps its ratios: %s", a);
    cr_expect_not_null(strstr(d, "| 2.00× | 0.50× |"), "dpdk keeps its ratios: %s", d);
    cr_expect_null(strstr(g, "×"), "dpdk-ring has no ratio to kernel: %s", g);
    cr_expect_not_null(strstr(g, "| n/a† | n/a† |"), "dpdk-ring: the mark: %s", g);
    cr_expect_not_null(strstr(g, "| 3.00k |"), "its own system cycles/req stay: %s", g);
    cr_expect_not_null(strstr(t, "\n† dpdk-ring: "), "the note under the table: %s", t);
    cr_expect_not_null(strstr(t, "generator differs"), "%s", t);
    cr_expect_eq(count(t, "†"), 3, "two marks and one note: %s", t);
    free(k), free(a), free(d), free(g), free(t), free(res);

    const char *dlt = section(md, "Download");
    cr_expect_not_null(strstr(dlt, "| 1 | 1.0 MiB | 0.2000 | – | 0.1000 | 0.0500 | – | 2.00× | n/a† |"),
                       "the ring's speed-up is not against the kernel either: %s", dlt);
    cr_expect_not_null(strstr(dlt, "\n† dpdk-ring: "), "%s", dlt);

    const char *method = section(md, "Method");
    cr_expect_not_null(strstr(method, "only where only the DUT changed"), "%s", method);
    cr_expect_null(strstr(method, "identical for every DUT driver"), "%s", method);
    const char *warn = section(md, "Warnings");
    cr_expect_eq(count(warn, "generator differs"), 1, "said once: %s", warn);
    cr_expect_not_null(strstr(warn, "dpdk-ring"), "%s", warn);
    json_decref(recs);
}

Test(report, figures_linked_once_drawn)
{
    char dir[128], cmd[512], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/run", base);
    snprintf(cmd, sizeof cmd, "cp -r " FIXTURE " '%s'", dir);
    cr_assert_eq(system(cmd), 0, "cannot copy the fixture (run from the source tree)");
    struct plot_opts po = {.scripts = "plots"};
    cr_assert_eq(plot_run(dir, &po, err, sizeof err), 7, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *fig = section(slurp(path), "Figures");
    for (size_t i = 0; plot_figure_name(i); i++) {
        char link[128];
        snprintf(link, sizeof link, "](plots/%s-2col.png)", plot_figure_name(i));
        /* The fixture has no load sweep: that figure only says so, not embedded. */
        if (strcmp(plot_figure_name(i), "loadlat") == 0)
            cr_expect_null(strstr(fig, link), "%s embedded without data", link);
        else
            cr_expect_not_null(strstr(fig, link), "no %s in %s", link, fig);
    }
    cr_expect_eq(count(fig, "No data for this figure in this run."), 1, "%s", fig);
    /* each figure says what it answers and which trials it rests on */
    cr_expect_eq(count(fig, "*Question:*"), count(fig, "!["), "%s", fig);
    cr_expect_eq(count(fig, "*Rests on:*"), count(fig, "!["), "%s", fig);
    cr_expect_null(strstr(fig, "no workload of this run"), "%s", fig);
}

Test(report, errors)
{
    char dir[128], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/missing", base);
    cr_expect_eq(report_write(dir, NULL, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, "trials"), "%s", err);
}

/* Latency against offered load: each driver's highest offered rate whose p99
 * stays under the target (env.json p99_target_ns), the first point over it,
 * and a driver that never meets it. */
Test(report, load_sweep_table)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/sweep", base);
    json_t *recs = json_array();
    static const int pct[] = {10, 50, 90};
    /* dpdk: under, over, under again: the target holds only up to 10% */
    static const double p99_kernel[] = {300e3, 800e3, 5e6}, p99_slow[] = {3e6, 4e6, 9e6},
                        p99_bumpy[] = {200e3, 2e6, 500e3};
    static const char *const drvs[] = {"kernel", "afpacket", "dpdk"};
    static const double *const p99s[] = {p99_kernel, p99_slow, p99_bumpy};
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < 3; i++) {
            const char *drv = drvs[d];
            char name[32];
            snprintf(name, sizeof name, "lat-%dpct", pct[i]);
            json_t *r = rec(drv, 1, "ok", 1000.0 * pct[i], 0.5);
            json_t *wl = json_object_get(r, "workload");
            json_object_set_new(wl, "name", json_string(name));
            json_object_set_new(wl, "mode", json_string("open"));
            json_object_set_new(wl, "rate", json_integer(1000 * pct[i]));
            json_object_set_new(wl, "sweep", json_string("lat"));
            json_object_set_new(wl, "load", json_real(pct[i] / 100.0));
            json_object_set_new(wl, "capacity_of", json_string("ka"));
            json_object_set_new(json_object_get(r, "metrics"), "lat_p99_ns", json_real(p99s[d][i]));
            cr_assert_eq(results_write_trial(dir, name, drv, 1, r, err, sizeof err), 0, "%s", err);
            json_array_append_new(recs, r);
        }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/env.json", dir);
    FILE *env = fopen(path, "w");
    cr_assert_not_null(env);
    fputs("{\"p99_target_ns\": 1000000}\n", env);
    fclose(env);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *t = section(slurp(path), "Latency against offered load");
    cr_expect_not_null(strstr(t, "Target: p99 ≤ 1.00 ms"), "%s", t);
    cr_expect_not_null(
        strstr(t, "| kernel | 100k | 50.0k | 50% | 800 us | 90.0k req/s: p99 5.00 ms |"), "%s", t);
    cr_expect_not_null(
        strstr(t, "| dpdk | 100k | 10.0k | 10% | 200 us | 50.0k req/s: p99 2.00 ms |"), "%s", t);
    cr_expect_not_null(strstr(t, "| afpacket | 100k | none: p99 over 1.00 ms at the lowest load |"),
                       "%s", t);
    json_decref(recs);
}

/* The summary leads the report: per workload the best driver, its gain over
 * the kernel with the interval from the two intervals of the median (and
 * the coverage that leaves), and what limits the claim. */
Test(report, summary_first_with_gain_interval_and_limits)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/sum", base);
    json_t *recs = json_array();
    for (int rep = 1; rep <= 6; rep++)
        for (int d = 0; d < 2; d++) {
            const char *drv = d ? "dpdk" : "kernel";
            /* kernel 100..105, dpdk 200..205; the kernel's generator saturated once */
            json_t *r = rec(drv, rep, "ok", (d ? 200 : 100) + rep - 1, !d && rep == 3 ? 0.97 : 0.5);
            cr_assert_eq(results_write_trial(dir, "ka", drv, (unsigned)rep, r, err, sizeof err), 0,
                         "%s", err);
            json_array_append_new(recs, r);
        }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *md = slurp(path);
    const char *sum = strstr(md, "\n## Summary\n"), *env = strstr(md, "\n## Environment\n");
    cr_assert(sum && env && sum < env, "the summary comes first");
    const char *t = section(md, "Summary");
    cr_expect_not_null(strstr(t, "| ka | dpdk |"), "%s", t);
    /* 202.5 / 102.5; [200 / 105, 205 / 100]; 96.9% + 96.9% - 1 */
    cr_expect_not_null(strstr(t, "dpdk 1.98× [1.90, 2.05] ≥ 93.8% |"), "%s", t);
    cr_expect_not_null(strstr(t, "generator-bound: kernel"), "%s", t);
    cr_expect_null(strstr(t, "no interval"), "%s", t);
    json_decref(recs);
}

/* The ladder: each step in the ladder's order with its gain over the step
 * below on the same generator; a row on another generator gets none. */
Test(report, ladder_steps_gain_over_the_step_below)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/ladder", base);
    json_t *recs = json_array();
    static const struct {
        const char *drv;
        double rps;
    } steps[] = {{"afpacket", 3000}, {"kernel", 1000}, {"io_uring", 1500}, {"dpdk-ring", 9000}};
    for (int r = 1; r <= 3; r++)
        for (size_t i = 0; i < 4; i++) {
            json_t *x = rec(steps[i].drv, r, "ok", steps[i].rps, 0.5);
            if (strcmp(steps[i].drv, "dpdk-ring") == 0)
                json_object_set_new(x, "generator_driver", json_string("dpdk"));
            json_array_append_new(recs, x);
        }
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *d = json_string_value(json_object_get(r, "driver"));
        unsigned rep = (unsigned)json_integer_value(json_object_get(r, "repeat"));
        cr_assert_eq(results_write_trial(dir, "ka", d, rep, r, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *lad = section(slurp(path), "The ladder");
    const char *k = strstr(lad, "| kernel |"), *u = strstr(lad, "| io_uring |"),
               *a = strstr(lad, "| afpacket |"), *g = strstr(lad, "| dpdk-ring† |");
    cr_assert(k && u && a && g, "%s", lad);
    cr_expect(k < u && u < a && a < g, "not in the ladder's order: %s", lad);
    cr_expect_not_null(strstr(u, "| 1.50× over kernel |"), "%s", lad);
    cr_expect_not_null(strstr(a, "| 2.00× over io_uring |"), "%s", lad);
    cr_expect_not_null(strstr(g, "| n/a† | n/a† |"), "%s", lad);
    json_decref(recs);
}

/* A download record whose DUT is the client (dut = client), from nginx. */
static json_t *rec_client_dl(const char *wl, const char *path, const char *driver, double dl)
{
    json_t *r = rec_gen(wl, "download", driver, "kernel", "veth", 0, 0, dl);
    json_t *w = json_object_get(r, "workload");
    json_object_set_new(w, "path", json_string(path));
    json_object_set_new(w, "dut", json_string("client"));
    json_object_set_new(r, "dut", json_string("client"));
    json_object_set_new(r, "dut_side", json_string("client (downloader)"));
    json_object_set_new(r, "peer",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "role", "server", "software",
                                  "nginx", "version", "1.22.1-9", "driver", "kernel", "netns",
                                  "bb-gen", "cpu", 0));
    return r;
}

/* Seed 000 measured downloaders: the Download table comes from the client-DUT
 * downloads when a run has them (a download served by each driver is not the
 * paper's case and stays in its own table), and every table says which side
 * was the DUT and what the fixed server was. */
Test(report, seed000_table_from_client_downloads)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/client", base);
    json_t *recs = json_array();
    json_array_append_new(recs, rec_gen("dl-srv", "download", "kernel", "kernel", "veth", 0, 0, 0.9));
    json_array_append_new(recs, rec_gen("dl-srv", "download", "dpdk", "kernel", "veth", 0, 0, 0.3));
    json_array_append_new(recs, rec_client_dl("dl-256m", "/bytes/256m", "kernel", 0.4));
    json_array_append_new(recs, rec_client_dl("dl-256m", "/bytes/256m", "dpdk", 0.8));
    json_array_append_new(recs, rec_client_dl("dl-1g", "/bytes/1g", "kernel", 1.6));
    json_array_append_new(recs, rec_client_dl("dl-1g", "/bytes/1g", "dpdk", 0.8));
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *wl = json_string_value(json_object_get(json_object_get(r, "workload"), "name"));
        const char *d = json_string_value(json_object_get(r, "driver"));
        cr_assert_eq(results_write_trial(dir, wl, d, 1, r, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *md = slurp(path);
    cr_expect_not_null(strstr(md, "DUT: the server in some workloads, the client in others"));

    const char *dlt = section(md, "Download");
    cr_expect_not_null(strstr(dlt, "the **downloader is the DUT**"), "%s", dlt);
    cr_expect_not_null(strstr(dlt, "DUT: **client (downloader)**"), "%s", dlt);
    cr_expect_not_null(strstr(dlt, "fixed server: nginx 1.22.1-9 on kernel sockets in `bb-gen`"),
                       "%s", dlt);
    cr_expect_not_null(strstr(dlt, "| 1 | 256.0 MiB | 0.4000 | 0.8000 | 0.50× |"), "%s", dlt);
    cr_expect_not_null(strstr(dlt, "| 2 | 1.0 GiB | 1.6000 | 0.8000 | 2.00× |"), "%s", dlt);
    cr_expect_null(strstr(dlt, "0.9000"), "the served download is not a downloader row: %s", dlt);
    cr_expect_not_null(strstr(dlt, "Downloads served by each driver"), "%s", dlt);

    const char *res = section(md, "Results per workload");
    const char *srv = strstr(res, "### dl-srv\n"), *cl = strstr(res, "### dl-256m\n");
    cr_assert(srv && cl);
    cr_expect(strstr(srv, "DUT: **server**") && strstr(srv, "DUT: **server**") < cl, "%s", res);
    cr_expect_not_null(strstr(cl, "DUT: **client (downloader)**"), "%s", res);
    cr_expect_not_null(strstr(section(md, "Method"), "**Which side is the DUT**"));
    json_decref(recs);

    /* a run with server-side downloads only: today's table, saying whose it is */
    snprintf(dir, sizeof dir, "%s/server", base);
    recs = json_array();
    json_array_append_new(recs, rec_gen("dl", "download", "kernel", "kernel", "veth", 0, 0, 0.2));
    json_array_foreach(recs, i, r)
        cr_assert_eq(results_write_trial(dir, "dl", "kernel", 1, r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    md = slurp(path);
    dlt = section(md, "Download");
    cr_expect_not_null(strstr(dlt, "Here the **server** is the DUT"), "%s", dlt);
    cr_expect_not_null(strstr(dlt, "suites/seed000.ini"), "%s", dlt);
    cr_expect_null(strstr(section(md, "Method"), "Which side is the DUT"));
    json_decref(recs);
}

/* Each row's offloads setting and what its driver used, from the records'
 * driver_offloads: both settings when a suite runs both, and "varies" when
 * a row's trials disagree. */
Test(report, offloads_per_row)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/ol", base);
    json_t *recs = json_array();
    const char *drivers[] = {"kernel", "kernel+ol", "afpacket+ol"};
    for (int d = 0; d < 3; d++)
        for (int r = 1; r <= 2; r++) {
            json_t *x = rec(drivers[d], r, "ok", 1000 + d, 0.5);
            json_t *used = json_array();
            if (d > 0) json_array_append_new(used, json_string("tso"));
            if (d == 2 && r == 2) json_array_append_new(used, json_string("tx_csum"));
            json_object_set_new(x, "driver_offloads",
                                json_pack("{s:s,s:o,s:s}", "setting", d ? "on" : "off", "used",
                                          used, "source", "test"));
            json_array_append_new(recs, x);
            cr_assert_eq(results_write_trial(dir, "ka", drivers[d], (unsigned)r, x, err, sizeof err),
                         0, "%s", err);
        }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
    cr_assert_eq(report_write(dir, NULL, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    const char *m = section(slurp(path), "Method");
    cr_expect_not_null(strstr(m, "- **Offloads**"), "%s", m);
    cr_expect_not_null(strstr(m, "`kernel` off: none;"), "%s", m);
    cr_expect_not_null(strstr(m, "`kernel+ol` on: tso"), "%s", m);
    cr_expect_null(strstr(m, "`kernel+ol` on: tso (varies"), "%s", m);
    cr_expect_not_null(strstr(m, "`afpacket+ol` on: tso (varies between its trials)"), "%s", m);
    json_decref(recs);
}
