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
#include <sys/wait.h>

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
    cr_assert_eq(n, 7, "plot_run: %d: %s", n, err);
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
    cr_expect_float_eq(csv_cell(k, 14), 380416.0 / 174341.0, 1e-6, "%s", k);
    cr_expect_float_eq(csv_cell(k, 11), 0.0, 1e-12, "NET_TX softirqs: 0 of them: %s", k);
    const char *af = csv_row(csv, "ka-64", "afpacket");
    cr_assert_not_null(af);
    /* Our stack over AF_PACKET: its sys_* counters (sendmmsg, poll) over the requests */
    cr_expect_float_eq(csv_cell(af, 14), (126436.0 + 0) / 208348.0, 1e-6, "%s", af);
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
    cr_expect_float_eq(csv_cell(line, 3), 6.0, 1e-9, "dpdk's linetype");
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
    cr_expect_not_null(strstr(text, "latency: skipped (no fixed-rate open-loop trials"), "%s", text);
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
    cr_expect_eq(plot_driver_lt(&pd, 4), 9);
    cr_expect_eq(plot_driver_lt(&pd, 5), 10);
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
 * written before the counter's rename (stats.requests) are still read; a
 * driver with no "syscalls" total counts its sys_* counters; none: NAN. */
Test(plot, syscalls_per_request_over_requests_parsed)
{
    json_t *now = json_pack("{s:{s:{s:I},s:{s:I}}}", "server", "driver_counters", "syscalls",
                            (json_int_t)500, "stats", "requests_parsed", (json_int_t)1000);
    json_t *old = json_pack("{s:{s:{s:I},s:{s:I}}}", "server", "driver_counters", "syscalls",
                            (json_int_t)500, "stats", "requests", (json_int_t)250);
    cr_expect_float_eq(model_record_value(now, "syscalls_per_request"), 0.5, 1e-12);
    cr_expect_float_eq(model_record_value(old, "syscalls_per_request"), 2.0, 1e-12);
    json_t *stack = json_pack("{s:{s:{s:I,s:I,s:I},s:{s:I}}}", "server", "driver_counters",
                              "sys_sendmmsg", (json_int_t)300, "sys_poll_wait", (json_int_t)100,
                              "rx_frames", (json_int_t)9999, "stats", "requests_parsed",
                              (json_int_t)1000);
    json_t *none = json_pack("{s:{s:{s:I},s:{s:I}}}", "server", "driver_counters", "rx_frames",
                             (json_int_t)5, "stats", "requests_parsed", (json_int_t)1000);
    cr_expect_float_eq(model_record_value(stack, "syscalls_per_request"), 0.4, 1e-12);
    cr_expect(isnan(model_record_value(none, "syscalls_per_request")), "no sys_* counter: none");
    json_t *tx = json_pack("{s:{s:I},s:{s:I}}", "cpu", "net_tx_softirqs", (json_int_t)50,
                           "metrics", "requests", (json_int_t)1000);
    cr_expect_float_eq(model_record_value(tx, "net_tx_softirqs_per_request"), 0.05, 1e-12);
    json_decref(now), json_decref(old), json_decref(stack), json_decref(none), json_decref(tx);
}

/* ------------------------------------------------------------ the figures' looks */

/* Runs tests/harness/analysis/svg_check.py on DIR (or a file); its output in
 * out. The exit status: 0 clean, 1 defects, other: could not check. */
static int svg_check(const char *what, char *out, size_t len)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 tests/harness/analysis/svg_check.py '%s' 2>&1", what);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void need_python(void)
{
    if (system("command -v python3 >/dev/null 2>&1") != 0)
        cr_skip_test("python3 is not installed (Debian package python3): the SVG check needs it");
}

/* The recorded run's figures, as a reviewer looks at them: every text inside
 * the canvas, distinct tick labels on every axis, no legend on the data. */
Test(plot, fixture_figures_pass_the_svg_check)
{
    char dir[128], path[256], err[1024] = "", out[1 << 14];
    need_python();
    snprintf(dir, sizeof dir, "%s/run", base);
    copy_fixture(dir);
    struct plot_opts o = {.scripts = "plots"};
    cr_assert_eq(plot_run(dir, &o, err, sizeof err), 7, "%s", err);
    snprintf(path, sizeof path, "%s/plots", dir);
    int rc = svg_check(path, out, sizeof out);
    cr_expect_eq(rc, 0, "svg_check found defects:\n%s", out);
    cr_expect_not_null(strstr(out, "14 file(s), 0 defect(s)"), "%s", out);
}

/* The check can fail: a figure drawn the way the old scripts drew it (rounded
 * SI tick labels, the key on the data, a label past the canvas edge). */
Test(plot, svg_check_finds_each_defect)
{
    char svg[256], cmd[2048], out[1 << 14];
    need_python();
    snprintf(svg, sizeof svg, "%s/bad.svg", base);
    snprintf(cmd, sizeof cmd,
             "gnuplot -e \"set terminal svg size 252,160 font 'Helvetica,8'; set output '%s'; "
             "set format y '%%.0s%%c'; set yrange [0:2e6]; set ytics 250000; "
             "set key top left; set xrange [0:10]; "
             "set ylabel 'a y label far too long for the height of this small figure'; "
             "plot '-' using 1:2 with points pt 7 ps 3 title 'kernel-driver-name'\" "
             "<<'EOF'\n0.6 1.9e6\n5 1e6\ne\nEOF\n",
             svg);
    cr_assert_eq(system(cmd), 0, "gnuplot could not draw the bad figure");
    cr_expect_eq(svg_check(svg, out, sizeof out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "tick labels repeat: 1M, 2M"), "rounded ticks: %s", out);
    cr_expect_not_null(strstr(out, "legend entry 'kernel-driver-name' lies on a plot area"), "%s",
                       out);
    cr_expect_not_null(strstr(out, "runs off the 252x160 canvas"), "clipped label: %s", out);
}

/* Every figure draws for one driver alone, and a panel no driver reported
 * says so inside the figure (the cycles figure used to fail on dpdk-ring
 * alone: "all points y value undefined"); a figure with no trial of its kind
 * is drawn too, saying so. */
Test(plot, one_driver_every_figure_draws)
{
    char dir[128], path[256], err[1024] = "", out[1 << 14];
    need_python();
    snprintf(dir, sizeof dir, "%s/one", base);
    json_t *recs = json_array();
    json_t *r = rec("ka-64", "closed", "/bytes/64", "dpdk-ring", 1, 2e6, 1000);
    json_object_set_new(json_object_get(r, "metrics"), "ctx_switches_per_request", json_real(1e-4));
    json_array_append_new(recs, r);
    json_array_append_new(recs, rec("ka-64k", "closed", "/bytes/64k", "dpdk-ring", 1, 3e4, 8e4));
    write_recs(dir, recs);
    FILE *notes = tmpfile();
    struct plot_opts o = {.scripts = "plots", .notes = notes};
    int drawn = plot_run(dir, &o, err, sizeof err);
    cr_assert_eq(drawn, 7, "%d drawn: %s", drawn, err);
    snprintf(path, sizeof path, "%s/plots", dir);
    cr_expect_eq(svg_check(path, out, sizeof out), 0, "%s", out);
    snprintf(path, sizeof path, "%s/plots/overhead-2col.svg", dir);
    cr_expect_not_null(strstr(slurp(path), "not recorded in this run"),
                       "the overhead panels with no counter say so");
    snprintf(path, sizeof path, "%s/plots/latency-1col.svg", dir);
    cr_expect_not_null(strstr(slurp(path), "no data: no fixed-rate open-loop trials"), "%s", path);
    snprintf(path, sizeof path, "%s/plots/latency.csv", dir);
    struct stat st;
    cr_expect_neq(stat(path, &st), 0, "no CSV for a figure without data");
    char text[4096] = "";
    rewind(notes);
    text[fread(text, 1, sizeof text - 1, notes)] = '\0';
    fclose(notes);
    cr_expect_not_null(strstr(text, "plot: cps: no data (no cps trials)"), "%s", text);
    json_decref(recs);
}

/* Axes: log past a decade, linear from 0 under it, every label exact. */
Test(plot, axis_ticks_exact_and_distinct)
{
    char cmd[2048];
    static const double wide[] = {4000, 35000, 190000, 815000, NAN};
    cr_expect_eq(plot_axis_cmd(wide, 5, 0, cmd, sizeof cmd), 1, "%s", cmd);
    cr_expect_not_null(strstr(cmd, "set logscale y 10"), "%s", cmd);
    cr_expect_not_null(strstr(cmd, "\"1k\" 1000,"), "%s", cmd);
    cr_expect_not_null(strstr(cmd, "\"1M\" 1000000)"), "%s", cmd);
    cr_expect_not_null(strstr(cmd, "\"\" 2000 1,"), "minor ticks unlabelled: %s", cmd);
    static const double narrow[] = {1.1e6, 1.3e6, 1.5e6};
    cr_expect_eq(plot_axis_cmd(narrow, 3, 0, cmd, sizeof cmd), 0, "%s", cmd);
    cr_expect_not_null(strstr(cmd, "\"0\" 0, \"500k\" 500000, \"1M\" 1000000, \"1.5M\" 1500000"),
                       "exact, distinct labels: %s", cmd);
    static const double small[] = {2e-5, 3.0};
    plot_axis_cmd(small, 2, 0, cmd, sizeof cmd);
    cr_expect_not_null(strstr(cmd, "\"10^{-5}\" 1e-05"), "%s", cmd);
    static const double tiny[] = {2e-5, 1.2e-4};
    plot_axis_cmd(tiny, 2, 0, cmd, sizeof cmd);
    cr_expect_not_null(strstr(cmd, "\"0.00005\" 5e-05"), "no exponent on a linear axis: %s", cmd);
    static const double lat[] = {40, 90};
    cr_expect_eq(plot_axis_cmd(lat, 2, 1, cmd, sizeof cmd), 1, "forced log: %s", cmd);
    static const double none[] = {NAN};
    cr_expect_eq(plot_axis_cmd(none, 1, 0, cmd, sizeof cmd), 0);
    cr_expect_not_null(strstr(cmd, "\"1\" 1)"), "no data: [0, 1]: %s", cmd);
}

/* A sweep point as `run` records it: open loop at rate, with its load and
 * capacity workload; latency p50/p99/p99.9 in ns. */
static json_t *sweep_rec(const char *driver, int pct, double rate, double p50, double p99,
                         double p999)
{
    char name[32];
    snprintf(name, sizeof name, "lat-%dpct", pct);
    json_t *r = rec(name, "open", "/bytes/64", driver, 1, rate, 1000);
    json_t *wl = json_object_get(r, "workload");
    json_object_set_new(wl, "rate", json_integer((json_int_t)rate));
    json_object_set_new(wl, "sweep", json_string("lat"));
    json_object_set_new(wl, "load", json_real(pct / 100.0));
    json_object_set_new(wl, "capacity_of", json_string("ka"));
    json_t *m = json_object_get(r, "metrics");
    json_object_set_new(m, "lat_p50_ns", json_real(p50));
    json_object_set_new(m, "lat_p99_ns", json_real(p99));
    json_object_set_new(m, "lat_p999_ns", json_real(p999));
    return r;
}

/* Latency against offered load: x = the offered rate, one line per driver
 * and percentile (rows in rate order), log axes over two decades of rates,
 * the p99 target from env.json; the open-loop percentile figure leaves the
 * sweep out. */
Test(plot, load_sweep_figure)
{
    char dir[128], path[256], err[1024] = "", out[1 << 14];
    need_python();
    snprintf(dir, sizeof dir, "%s/sweep", base);
    json_t *recs = json_array();
    static const int pct[] = {90, 10, 50}; /* out of order: the figure sorts by rate */
    for (int i = 0; i < 3; i++) {
        json_array_append_new(
            recs, sweep_rec("kernel", pct[i], 1500.0 * pct[i], 3e4, 2e5 * pct[i], 1e6 * pct[i]));
        json_array_append_new(
            recs, sweep_rec("dpdk-ring", pct[i], 3e4 * pct[i], 5e3, 1e4 * pct[i], 1e5 * pct[i]));
    }
    write_recs(dir, recs);
    FILE *env = fopen(strcat(strcpy(path, dir), "/env.json"), "w");
    cr_assert_not_null(env);
    fputs("{\"p99_target_ns\": 2000000}\n", env);
    fclose(env);
    struct plot_opts o = {.scripts = "plots"};
    cr_assert_eq(plot_run(dir, &o, err, sizeof err), 7, "%s", err);
    snprintf(path, sizeof path, "%s/plots/loadlat.csv", dir);
    const char *csv = slurp(path);
    cr_expect_eq(lines(csv), 1 + 2 * 3 * 3, "%s", csv);
    const char *k = csv_row(csv, "lat-10pct", "kernel");
    cr_assert_not_null(k, "%s", csv);
    cr_expect_float_eq(csv_cell(k, 4), 15000.0, 1e-9, "x: the offered rate");
    cr_expect_float_eq(csv_cell(k, 5), 30.0, 1e-9, "p50 in µs");
    cr_expect_float_eq(csv_cell(k, 8), 1.0, 1e-9, "percentile 1: p50");
    cr_expect_float_eq(csv_cell(k, 9), 0.10, 1e-9, "load");
    /* kernel's p50 rows by rate: 10%, 50%, 90% */
    const char *a = strstr(csv, "\nlat-10pct,kernel"), *b = strstr(csv, "\nlat-50pct,kernel"),
               *c = strstr(csv, "\nlat-90pct,kernel");
    cr_expect(a && b && c && a < b && b < c, "rows in rate order: %s", csv);
    snprintf(path, sizeof path, "%s/plots/loadlat-2col.svg", dir);
    const char *svg = slurp(path);
    cr_expect_not_null(strstr(svg, "offered load (req/s)"));
    cr_expect_not_null(strstr(svg, "p99 target"));
    snprintf(path, sizeof path, "%s/plots/latency.csv", dir);
    struct stat st;
    cr_expect_neq(stat(path, &st), 0, "sweep points are not in the percentile figure");
    snprintf(path, sizeof path, "%s/plots", dir);
    cr_expect_eq(svg_check(path, out, sizeof out), 0, "%s", out);
    json_decref(recs);
}

/* One selection rule per figure, shared with the report's "Rests on" line:
 * sweep points only in loadlat (and only the first sweep), one throughput
 * workload per response size (the first), downloads out of overhead. */
Test(plot, figure_uses_one_rule)
{
    char dir[128], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/uses", base);
    json_t *recs = json_array();
    json_array_append_new(recs, rec("ka-64", "closed", "/bytes/64", "kernel", 1, 1e5, 1000));
    json_array_append_new(recs, rec("ka-64b", "closed", "/bytes/64", "kernel", 1, 1e5, 1000));
    json_array_append_new(recs, rec("dl", "download", "/bytes/1M", "kernel", 1, 10, 1000));
    json_array_append_new(recs, sweep_rec("kernel", 10, 1000, 3e4, 2e5, 1e6));
    json_t *other = sweep_rec("kernel", 50, 5000, 3e4, 2e5, 1e6);
    json_t *wl = json_object_get(other, "workload");
    json_object_set_new(wl, "name", json_string("b-50pct"));
    json_object_set_new(wl, "sweep", json_string("b"));
    json_array_append_new(recs, other);
    write_recs(dir, recs);
    struct run_model pd;
    cr_assert_eq(model_load(dir, &pd, err, sizeof err), 0, "%s", err);
    const char *names[] = {"ka-64", "ka-64b", "dl", "lat-10pct", "b-50pct"};
    /* throughput cycles latency cps download overhead loadlat */
    static const char *const fig[] = {"throughput", "cycles", "latency", "cps",
                                      "download",   "overhead", "loadlat"};
    static const int want[5][7] = {
        {1, 1, 0, 0, 0, 1, 0}, /* ka-64 */
        {0, 1, 0, 0, 0, 1, 0}, /* ka-64b: same size as ka-64, left out of throughput */
        {0, 0, 0, 0, 1, 0, 0}, /* dl */
        {0, 0, 0, 0, 0, 0, 1}, /* the first sweep: loadlat only */
        {0, 0, 0, 0, 0, 0, 0}, /* a second sweep: nowhere */
    };
    for (size_t i = 0; i < 5; i++) {
        int w = model_workload_index(&pd, names[i]);
        cr_assert_geq(w, 0, "%s", names[i]);
        for (size_t k = 0; k < 7; k++)
            cr_expect_eq(plot_figure_uses(fig[k], &pd, (size_t)w), want[i][k], "%s in %s",
                         names[i], fig[k]);
    }
    /* the sweep's runs first in the record order would not change the rule:
     * "first" is run order, which model_load keeps */
    model_free(&pd);
    json_decref(recs);
}

/* --latex: every figure with data through cairolatex (.tex + .pdf, both
 * widths) and a figures.tex that includes them; compiled with pdflatex where
 * it is installed. The strings LaTeX would choke on (%, _, ≥, powers of ten)
 * arrive escaped. */
Test(plot, latex_figures_compile)
{
    char dir[128], path[256], cmd[512], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/tex", base);
    json_t *recs = json_array();
    for (int r = 0; r < 6; r++) { /* an interval's note: "exactly 96.9% at n = 6" */
        json_t *x = rec("ka_64", "closed", "/bytes/64", "kernel", r + 1, 1e5 + r, 2e4);
        json_object_set_new(json_object_get(x, "metrics"), "ctx_switches_per_request",
                            json_real(r ? 1e-3 : 1e-5)); /* interval down to 10^{-5}: log */
        json_array_append_new(recs, x);
        json_array_append_new(recs, rec("ka_64", "closed", "/bytes/64", "my_stack", r + 1, 2e5 + r,
                                        1e4));
    }
    write_recs(dir, recs);
    struct plot_opts o = {.scripts = "plots", .latex = 1};
    cr_assert_eq(plot_run(dir, &o, err, sizeof err), 7, "%s", err);
    static const char *const with_data[] = {"throughput", "cycles", "overhead"};
    for (size_t i = 0; i < 3; i++)
        for (int cols = 1; cols <= 2; cols++) {
            snprintf(path, sizeof path, "%s/plots/latex/%s-%dcol.tex", dir, with_data[i], cols);
            cr_expect_gt(strlen(slurp(path)), 100, "%s", path);
            snprintf(path, sizeof path, "%s/plots/latex/%s-%dcol.pdf", dir, with_data[i], cols);
            char head[8];
            read_head(path, head, sizeof head);
            cr_expect_eq(memcmp(head, "%PDF", 4), 0, "%s", path);
        }
    snprintf(path, sizeof path, "%s/plots/latex/cycles-2col.tex", dir);
    const char *tex = slurp(path);
    cr_expect_not_null(strstr(tex, "my\\_stack"), "driver names escaped");
    cr_expect_not_null(strstr(tex, "ka\\_64"), "workload names escaped");
    cr_expect_not_null(strstr(tex, "96.9\\%"), "the note's percent escaped");
    snprintf(path, sizeof path, "%s/plots/latex/overhead-2col.tex", dir);
    cr_expect_not_null(strstr(slurp(path), "$10^{-5}$"), "powers of ten in math mode");
    snprintf(path, sizeof path, "%s/plots/latex/figures.tex", dir);
    const char *fig = slurp(path);
    cr_expect_not_null(strstr(fig, "\\input{throughput-1col.tex}"));
    cr_expect_not_null(strstr(fig, "\\input{overhead-2col.tex}"));
    cr_expect_null(strstr(fig, "latency-1col"), "a figure with no data is left out");
    if (system("command -v pdflatex >/dev/null 2>&1") != 0)
        cr_skip_test("pdflatex is not installed (Debian texlive-latex-base; `ci/deps.sh latex` "
                     "installs it): the LaTeX files were written but not compiled");
    snprintf(cmd, sizeof cmd,
             "cd '%s/plots/latex' && timeout 120 pdflatex -interaction=nonstopmode "
             "-halt-on-error figures.tex >pdflatex.out 2>&1",
             dir);
    int rc = system(cmd);
    snprintf(path, sizeof path, "%s/plots/latex/pdflatex.out", dir);
    cr_assert_eq(rc, 0, "pdflatex failed:\n%s", slurp(path));
    snprintf(path, sizeof path, "%s/plots/latex/figures.pdf", dir);
    char head[8];
    read_head(path, head, sizeof head);
    cr_expect_eq(memcmp(head, "%PDF", 4), 0);
    json_decref(recs);
}
