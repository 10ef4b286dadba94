/*
 * test_plot.c — harness/analysis/plot.c on the recorded results directory
 * (tests/fixtures/results-quick, a real `run suites/quick.ini`, copied to a
 * mkdtemp directory first) and on synthetic runs: every figure drawn as
 * non-empty PDF, SVG and PNG checked by their headers, the CSVs (rows,
 * values, the interval of the median over repeats with its coverage column
 * and the figure's note (none with one repeat), the poll work/idle split, syscalls
 * per request), figures without data skipped with a note, linetypes per
 * driver, and the errors. Runs from the source tree (plots/ scripts).
 */
#include "harness/analysis/plot.h"
#include "harness/analysis/results.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FIXTURE "tests/fixtures/results-quick"

static char base[64];

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/bb_plot_XXXXXX");
    cr_assert_not_null(mkdtemp(base));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(plot, .init = setup, .fini = teardown, .timeout = 30);

static void copy_fixture(const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r " FIXTURE " '%s'", to);
    cr_assert_eq(system(cmd), 0, "cannot copy the fixture (run from the source tree)");
}

static size_t read_head(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing %s", path);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

static char *slurp(const char *path)
{
    static char buf[1 << 16];
    read_head(path, buf, sizeof buf);
    return buf;
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The line of a CSV whose first two cells are label,driver. */
static const char *csv_row(const char *csv, const char *label, const char *driver)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s,%s,", label, driver);
    const char *p = strstr(csv, key);
    return p ? p + 1 : NULL;
}

/* Cell i (0-based) of a CSV line, as a double (NAN when empty). */
static double csv_cell(const char *line, int i)
{
    for (; i > 0 && line; i--) {
        line = strpbrk(line, ",\n");
        if (!line || *line == '\n') return NAN;
        line++;
    }
    if (!line || *line == ',' || *line == '\n') return NAN;
    return strtod(line, NULL);
}

Test(plot, fixture_every_figure_every_format)
{
    char dir[128], path[256], head[600], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/run", base);
    copy_fixture(dir);
    struct plot_opts o = {.scripts = "plots"};
    int n = plot_run(dir, &o, err, sizeof err);
    cr_assert_eq(n, 6, "plot_run: %d: %s", n, err);
    for (size_t i = 0; plot_figure_name(i); i++)
        for (int cols = 1; cols <= 2; cols++) {
            snprintf(path, sizeof path, "%s/plots/%s-%dcol.pdf", dir, plot_figure_name(i), cols);
            cr_expect_gt(read_head(path, head, sizeof head), 100, "%s too small", path);
            cr_expect_eq(memcmp(head, "%PDF", 4), 0, "%s is not a PDF", path);
            snprintf(path, sizeof path, "%s/plots/%s-%dcol.svg", dir, plot_figure_name(i), cols);
            cr_expect_gt(read_head(path, head, sizeof head), 100, "%s too small", path);
            cr_expect(strncmp(head, "<?xml", 5) == 0 || strstr(head, "<svg") != NULL,
                      "%s is not an SVG", path);
            snprintf(path, sizeof path, "%s/plots/%s-%dcol.png", dir, plot_figure_name(i), cols);
            cr_expect_gt(read_head(path, head, sizeof head), 100, "%s too small", path);
            cr_expect_eq(memcmp(head, "\x89PNG\r\n\x1a\n", 8), 0, "%s is not a PNG", path);
        }
    /* Single column is 3.5 in wide, double 7 in: PNG widths at the same dpi differ 2x. */
    unsigned char a[32], b[32];
    snprintf(path, sizeof path, "%s/plots/cps-1col.png", dir);
    read_head(path, (char *)a, sizeof a);
    snprintf(path, sizeof path, "%s/plots/cps-2col.png", dir);
    read_head(path, (char *)b, sizeof b);
    unsigned wa = (unsigned)a[16] << 24 | a[17] << 16 | a[18] << 8 | a[19];
    unsigned wb = (unsigned)b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    cr_expect_eq(wb, 2 * wa, "PNG widths %u (1col) and %u (2col)", wa, wb);
    /* One repeat: the figure says it has no error bars, not a fake interval. */
    snprintf(path, sizeof path, "%s/plots/cps-2col.svg", dir);
    cr_expect_not_null(strstr(slurp(path), "no error bars: 1 repeat, no interval of the median"));
}
Test(plot, fixture_csvs)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/run", base);
    copy_fixture(dir);
    struct plot_opts o = {.csv_only = 1};
    cr_assert_eq(plot_run(dir, &o, err, sizeof err), 6, "%s", err);
    static const struct {
        const char *name;
        size_t rows;
    } want[] = {{"throughput", 2}, {"cycles", 6},   {"latency", 8},
                {"cps", 2},        {"download", 2}, {"overhead", 8}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(path, sizeof path, "%s/plots/%s.csv", dir, want[i].name);
        const char *csv = slurp(path);
        cr_expect_eq(strncmp(csv, "label,driver,di,lt,x,", 21), 0, "%s header: %.60s", path, csv);
        cr_expect_eq(lines(csv), want[i].rows + 1, "%s: %zu lines", path, lines(csv));
    }
    /* Throughput: ka-64 only (pipe-1k pipelines), x = 64 bytes, the recorded req/s. */
    snprintf(path, sizeof path, "%s/plots/throughput.csv", dir);
    const char *csv = slurp(path);
    const char *k = csv_row(csv, "ka-64", "kernel");
    cr_assert_not_null(k, "%s", csv);
    cr_expect_float_eq(csv_cell(k, 4), 64.0, 1e-9);
    cr_expect_float_eq(csv_cell(k, 5), 147362.0, 1e-3);
    cr_expect(isnan(csv_cell(k, 6)) && isnan(csv_cell(k, 7)) && isnan(csv_cell(k, 16)),
              "one repeat: no interval, not [x, x]: %s", k);
    cr_expect_null(csv_row(csv, "pipe-1k", "kernel"), "pipelined workload plotted");
    /* Kernel syscalls per request: 380416 syscalls / 174341 served. */
    snprintf(path, sizeof path, "%s/plots/overhead.csv", dir);
    csv = slurp(path);
    k = csv_row(csv, "ka-64", "kernel");
    cr_assert_not_null(k);
    cr_expect_float_eq(csv_cell(k, 11), 380416.0 / 174341.0, 1e-6, "%s", k);
    const char *af = csv_row(csv, "ka-64", "afpacket");
    cr_assert_not_null(af);
    cr_expect(isnan(csv_cell(af, 11)), "afpacket has no syscalls counter: %s", af);
    /* Latency in microseconds, open-loop only, one row per percentile and driver. */
    snprintf(path, sizeof path, "%s/plots/latency.csv", dir);
    csv = slurp(path);
    cr_expect(strstr(csv, "\np50,") == NULL, "labels are per workload: %s", csv);
    cr_expect_not_null(csv_row(csv, "open-64", "afpacket"));
}

/* A synthetic record: three repeats of one closed workload on a poll-mode driver. */
static json_t *rec(const char *wl, const char *mode, const char *path, const char *driver,
                   int repeat, double rps, double dut_cpr)
{
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:i},s:s,s:i,s:s,s:n,"
                     "s:{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f},"
                     "s:{s:{s:I,s:I},s:{s:I}}}",
                     "schema", "bypassbench.trial/1", "suite", "syn", "suite_hash", "h", "workload",
                     "name", wl, "mode", mode, "path", path, "pipeline", 1, "driver", driver,
                     "repeat", repeat, "status", "ok", "failure", "metrics", "rps", rps, "gbps",
                     rps * 1e-5, "cps", rps, "lat_p50_ns", 1000.0, "lat_p90_ns", 2000.0,
                     "lat_p99_ns", 3000.0, "lat_p999_ns", 4000.0, "dut_cycles_per_request", dut_cpr,
                     "system_cycles_per_request", 2 * dut_cpr, "dut_cycles_per_packet", dut_cpr / 2,
                     "system_cycles_per_packet", dut_cpr, "server", "driver_counters",
                     "poll_cycles_work", (json_int_t)25, "poll_cycles_idle", (json_int_t)75,
                     "stats", "requests_parsed", (json_int_t)1000);
}

static void write_recs(const char *dir, json_t *recs)
{
    char err[512] = "";
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *wl = json_string_value(json_object_get(json_object_get(r, "workload"), "name"));
        cr_assert_eq(results_write_trial(dir, wl, json_string_value(json_object_get(r, "driver")),
                                         (unsigned)json_integer_value(json_object_get(r, "repeat")),
                                         r, err, sizeof err),
                     0, "%s", err);
    }
    cr_assert_eq(results_write_summary(dir, recs, err, sizeof err), 0, "%s", err);
}

Test(plot, repeats_give_ci_and_poll_split)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/syn", base);
    json_t *recs = json_array();
    static const double rps[] = {100, 300, 200};
    for (int r = 0; r < 3; r++)
        json_array_append_new(recs,
                              rec("ka-1k", "closed", "/bytes/1k", "dpdk", r + 1, rps[r], 1000));
    write_recs(dir, recs);
    FILE *notes = tmpfile();
    struct plot_opts o = {.csv_only = 1, .notes = notes};
    cr_assert_eq(plot_run(dir, &o, err, sizeof err), 2, "%s", err); /* throughput, cycles */
    snprintf(path, sizeof path, "%s/plots/throughput.csv", dir);
    const char *line = csv_row(slurp(path), "ka-1k", "dpdk");
    cr_assert_not_null(line);
    cr_expect_float_eq(csv_cell(line, 2), 1.0, 1e-9, "figure-local driver index");
    cr_expect_float_eq(csv_cell(line, 3), 5.0, 1e-9, "dpdk's linetype");
    cr_expect_float_eq(csv_cell(line, 4), 1024.0, 1e-9);
    cr_expect_float_eq(csv_cell(line, 5), 200.0, 1e-9);
    cr_expect_float_eq(csv_cell(line, 6), 100.0, 1e-9, "{100,200,300}: [min, max]");
    cr_expect_float_eq(csv_cell(line, 7), 300.0, 1e-9);
    cr_expect_float_eq(csv_cell(line, 11), 3.0, 1e-9, "n");
    cr_expect_float_eq(csv_cell(line, 16), 0.75, 1e-12, "ci_level: [min, max] of 3 covers 75%%");
    cr_expect_eq(strncmp(slurp(path), "label,driver,di,lt,x,rps,rps_lo,rps_hi,", 39), 0);
    cr_expect_not_null(strstr(slurp(path), ",gbps_max,ci_level\n"), "%s", slurp(path));
    snprintf(path, sizeof path, "%s/plots/cycles.csv", dir);
    line = csv_row(slurp(path), "ka-1k", "dpdk");
    cr_assert_not_null(line);
    cr_expect_float_eq(csv_cell(line, 6), 1000.0, 1e-9, "DUT cycles per request");
    cr_expect_float_eq(csv_cell(line, 9), 250.0, 1e-9, "work = 25%% of the DUT cycles");
    cr_expect_float_eq(csv_cell(line, 10), 2000.0, 1e-9, "whole system");
    cr_expect_float_eq(csv_cell(line, 16), 125.0, 1e-9, "work per packet");
    /* The skipped figures say so. */
    char text[2048] = "";
    rewind(notes);
    size_t n = fread(text, 1, sizeof text - 1, notes);
    text[n] = '\0';
    fclose(notes);
    cr_expect_not_null(strstr(text, "throughput: 1 rows, 1 drivers -> "), "%s", text);
    cr_expect_not_null(strstr(text, "(error bars: order-statistic interval of the median, "
                                    "exactly 75.0% at n = 3)"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "latency: skipped (no open-loop trials)"), "%s", text);
    cr_expect_not_null(strstr(text, "cps: skipped"), "%s", text);
    cr_expect_not_null(strstr(text, "download: skipped"), "%s", text);
    cr_expect_not_null(strstr(text, "overhead: skipped"), "%s", text);
    snprintf(path, sizeof path, "%s/plots/latency.csv", dir);
    struct stat st;
    cr_expect_neq(stat(path, &st), 0, "a CSV for a skipped figure");
    json_decref(recs);
}

Test(plot, driver_order_and_linetypes)
{
    char dir[128], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/drv", base);
    json_t *recs = json_array();
    /* the ladder's order: kernel, tuned kernel, io_uring, then the bypass paths */
    static const char *const drv[] = {"mystack",  "dpdk-ring",       "kernel",
                                      "afpacket", "kernel+busypoll", "io_uring"};
    for (int i = 0; i < 6; i++)
        json_array_append_new(recs, rec("w", "closed", "/bytes/64", drv[i], 1, 10, 10));
    write_recs(dir, recs);
    struct run_model pd;
    cr_assert_eq(model_load(dir, &pd, err, sizeof err), 0, "%s", err);
    cr_assert_eq(pd.nd, 6);
    cr_expect_str_eq(pd.drivers[0], "kernel");
    cr_expect_str_eq(pd.drivers[1], "kernel+busypoll");
    cr_expect_str_eq(pd.drivers[2], "io_uring");
    cr_expect_str_eq(pd.drivers[3], "afpacket");
    cr_expect_str_eq(pd.drivers[4], "dpdk-ring");
    cr_expect_str_eq(pd.drivers[5], "mystack");
    cr_expect_eq(plot_driver_lt(&pd, 0), 1);
    cr_expect_eq(plot_driver_lt(&pd, 1), 2);
    cr_expect_eq(plot_driver_lt(&pd, 2), 3);
    cr_expect_eq(plot_driver_lt(&pd, 3), 4);
    cr_expect_eq(plot_driver_lt(&pd, 4), 7);
    cr_expect_eq(plot_driver_lt(&pd, 5), 8);
    struct cell_stat s;
    model_cell_stat(&pd, 0, 0, "syscalls_per_request", &s);
    cr_expect_eq(s.n, 0, "no syscalls counter, no value");
    model_cell_stat(&pd, 0, 0, "poll_work_fraction", &s);
    cr_expect_float_eq(s.median, 0.25, 1e-12);
    model_free(&pd);
    json_decref(recs);
}

/* Drawn with repeats: the figure's note names the interval and its coverage. */
Test(plot, figure_states_the_coverage)
{
    char dir[128], path[256], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/cov", base);
    json_t *recs = json_array();
    for (int r = 0; r < 6; r++) /* six repeats: [min, max] at 96.875% */
        json_array_append_new(recs, rec("c", "cps", "/bytes/64", "kernel", r + 1, 100 + r, 10));
    for (int r = 0; r < 5; r++) /* five: [min, max] at 93.75% */
        json_array_append_new(recs, rec("c", "cps", "/bytes/64", "dpdk", r + 1, 200 + r, 10));
    write_recs(dir, recs);
    struct plot_opts o = {.scripts = "plots"};
    cr_assert_geq(plot_run(dir, &o, err, sizeof err), 1, "%s", err);
    snprintf(path, sizeof path, "%s/plots/cps-2col.svg", dir);
    cr_expect_not_null(strstr(slurp(path), "error bars: order-statistic interval of the median, "
                                           "coverage ≥ 93.8% (n = 5–6)"),
                       "%s", path);
    snprintf(path, sizeof path, "%s/plots/cps-1col.svg", dir);
    cr_expect_not_null(strstr(slurp(path), "coverage ≥ 93.8% (n = 5–6)"), "two lines in 1col");
    json_decref(recs);
}

Test(plot, errors)
{
    char dir[128], err[1024] = "";
    struct plot_opts o = {.scripts = "plots"};
    snprintf(dir, sizeof dir, "%s/none", base);
    cr_expect_eq(plot_run(dir, &o, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, "trials"), "%s", err);

    snprintf(dir, sizeof dir, "%s/run", base);
    copy_fixture(dir);
    struct plot_opts bad = {.scripts = "plots", .gnuplot = "/nonexistent/gnuplot"};
    cr_expect_eq(plot_run(dir, &bad, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, "gnuplot"), "%s", err);

    struct plot_opts noscripts = {.scripts = "/nonexistent"};
    cr_expect_eq(plot_run(dir, &noscripts, err, sizeof err), -1);
    cr_expect_not_null(strstr(err, "/nonexistent/throughput.gp"), "%s", err);
}

/* syscalls per request divides by the requests the server parsed; records
 * written before the counter's rename (stats.requests) are still read. */
Test(plot, syscalls_per_request_over_requests_parsed)
{
    json_t *now = json_pack("{s:{s:{s:I},s:{s:I}}}", "server", "driver_counters", "syscalls",
                            (json_int_t)500, "stats", "requests_parsed", (json_int_t)1000);
    json_t *old = json_pack("{s:{s:{s:I},s:{s:I}}}", "server", "driver_counters", "syscalls",
                            (json_int_t)500, "stats", "requests", (json_int_t)250);
    cr_expect_float_eq(model_record_value(now, "syscalls_per_request"), 0.5, 1e-12);
    cr_expect_float_eq(model_record_value(old, "syscalls_per_request"), 2.0, 1e-12);
    json_decref(now), json_decref(old);
}
