/*
 * test_results.c — harness/analysis/results.c in a mkdtemp directory: run directories
 * (parents created, -2 on a clash), trial records written and read back in
 * name order (r2 before r10), summary.csv header and medians with failed
 * trials counted but kept out of the statistics, the interval of the median
 * with its coverage column (3, 5, 6, 10 repeats; none with 1), cv and
 * noisy flag (default and given threshold), RFC 4180 quoting, summary.json,
 * and the errors.
 */
#include "harness/analysis/results.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char base[64];

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/bb_results_XXXXXX");
    cr_assert_not_null(mkdtemp(base));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    cr_expect_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static json_t *trial(const char *wl, const char *mode, const char *driver, int repeat,
                     const char *status, json_t *metrics)
{
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i, s:s, s:s?, s:o, s:{}, s:{}, "
                     "s:{}}",
                     "schema", "bypassbench.trial/1", "suite", "t", "suite_hash",
                     "0123456789abcdef", "workload", "name", wl, "mode", mode, "driver", driver,
                     "link", "veth", "repeat", repeat, "status", status, "failure",
                     strcmp(status, "ok") ? "server died" : NULL, "metrics", metrics, "env",
                     "server", "client");
}

TestSuite(results, .init = setup, .fini = teardown);

Test(results, dir_create_with_parents_and_suffix)
{
    char nested[128], a[4200], b[4200], err[512] = "";
    snprintf(nested, sizeof nested, "%s/x/y", base);
    int collided = 0;
    for (int attempt = 0; attempt < 5 && !collided; attempt++) {
        cr_assert_eq(results_dir_create(nested, a, sizeof a, err, sizeof err), 0, "%s", err);
        cr_assert_eq(results_dir_create(nested, b, sizeof b, err, sizeof err), 0, "%s", err);
        char prefix[200];
        snprintf(prefix, sizeof prefix, "%s/", nested);
        cr_expect_eq(strncmp(a, prefix, strlen(prefix)), 0, "%s not under %s", a, prefix);
        const char *stamp = a + strlen(prefix);
        cr_expect_eq(strlen(stamp) >= 15 && stamp[8] == '-', 1, "stamp '%s'", stamp);
        cr_expect(is_dir(a) && is_dir(b));
        cr_expect_str_neq(a, b);
        char trials[4300];
        snprintf(trials, sizeof trials, "%s/trials", a);
        cr_expect(is_dir(trials), "no trials/ in %s", a);
        /* Same second: the second one must carry a suffix. */
        if (strncmp(a + strlen(prefix), b + strlen(prefix), 15) == 0) {
            collided = 1;
            cr_expect_eq(b[strlen(prefix) + 15], '-', "%s vs %s", a, b);
        }
    }
    cr_expect(collided, "never created two directories within one second");
}

Test(results, dir_create_error)
{
    char out[256], err[512] = "", path[128];
    snprintf(path, sizeof path, "%s/file", base);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_expect_eq(results_dir_create(path, out, sizeof out, err, sizeof err), -1);
    cr_expect(strstr(err, path) != NULL, "%s", err);
}

static json_t *write_sample(const char *dir)
{
    char err[512] = "";
    json_t *all = json_array();
    struct {
        int rep;
        const char *status;
        double rps, p50;
    } rows[] = {{1, "ok", 100, 10}, {2, "ok", 300, 30}, {3, "ok", 200, 20}, {10, "failed", 99999, 1}};
    for (size_t i = 0; i < 4; i++) {
        json_t *m = json_pack("{s:f, s:I, s:s}", "rps", rows[i].rps, "lat_p50_ns",
                              (json_int_t)rows[i].p50, "note", "not a number");
        json_t *rec = trial("small", "closed", "kernel", rows[i].rep, rows[i].status, m);
        cr_assert_not_null(rec);
        cr_assert_eq(results_write_trial(dir, "small", "kernel", (unsigned)rows[i].rep, rec, err,
                                         sizeof err),
                     0, "%s", err);
        json_array_append_new(all, rec);
    }
    json_t *rec = trial("idle", "cps", "kernel", 1, "failed", json_pack("{s:i}", "errors", 5));
    cr_assert_eq(results_write_trial(dir, "idle", "kernel", 1, rec, err, sizeof err), 0, "%s",
                 err);
    json_array_append_new(all, rec);
    return all;
}

Test(results, trials_round_trip)
{
    char dir[4200], err[512] = "", path[4400];
    cr_assert_eq(results_dir_create(base, dir, sizeof dir, err, sizeof err), 0, "%s", err);
    json_t *written = write_sample(dir);

    snprintf(path, sizeof path, "%s/trials/small-kernel-r1.json", dir);
    const char *text = slurp(path);
    cr_expect(strstr(text, "\n  \"schema\": \"bypassbench.trial/1\"") != NULL, "not pretty: %s",
              text);
    cr_expect_eq(text[strlen(text) - 1], '\n');

    json_t *back = results_load_dir(dir, err, sizeof err);
    cr_assert_not_null(back, "%s", err);
    cr_assert_eq(json_array_size(back), 5);
    /* idle-kernel-r1, small-kernel-r1, r2, r3, r10 */
    static const int reps[] = {1, 1, 2, 3, 10};
    for (size_t i = 0; i < 5; i++)
        cr_expect_eq(json_integer_value(json_object_get(json_array_get(back, i), "repeat")),
                     reps[i], "record %zu out of order", i);
    cr_expect(json_equal(json_array_get(back, 1), json_array_get(written, 0)),
              "record changed on the way");

    /* No temporary files left behind. */
    snprintf(path, sizeof path, "%s/trials", dir);
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            files++;
            cr_expect(strstr(e->d_name, ".tmp") == NULL, "left %s", e->d_name);
        }
    closedir(d);
    cr_expect_eq(files, 5);
    json_decref(back);
    json_decref(written);
}

Test(results, summary_medians_over_ok_trials)
{
    char dir[4200], err[512] = "", path[4400];
    cr_assert_eq(results_dir_create(base, dir, sizeof dir, err, sizeof err), 0, "%s", err);
    json_t *written = write_sample(dir);
    cr_assert_eq(results_write_summary(dir, written, err, sizeof err), 0, "%s", err);

    snprintf(path, sizeof path, "%s/summary.csv", dir);
    cr_expect_str_eq(slurp(path),
                     "workload,driver,mode,trials,ok,failed,"
                     "rps_median,rps_min,rps_max,rps_ci_lo,rps_ci_hi,rps_ci_level,rps_cv,"
                     "rps_noisy,"
                     "lat_p50_ns_median,lat_p50_ns_min,lat_p50_ns_max,lat_p50_ns_ci_lo,"
                     "lat_p50_ns_ci_hi,lat_p50_ns_ci_level,lat_p50_ns_cv,lat_p50_ns_noisy,"
                     "errors_median,errors_min,errors_max,errors_ci_lo,errors_ci_hi,"
                     "errors_ci_level,errors_cv,errors_noisy\r\n"
                     "small,kernel,closed,4,3,1,200,100,300,100,300,0.75,0.5,1,"
                     "20,10,30,10,30,0.75,0.5,1,"
                     ",,,,,,,\r\n"
                     "idle,kernel,cps,1,0,1,,,,,,,,,,,,,,,,,,,,,,,,\r\n");

    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_error_t je;
    json_t *sum = json_load_file(path, 0, &je);
    cr_assert_not_null(sum, "%s", je.text);
    cr_expect_str_eq(json_string_value(json_object_get(sum, "schema")), "bypassbench.summary/2");
    json_t *ci = json_object_get(sum, "ci");
    cr_expect_not_null(
        strstr(json_string_value(json_object_get(ci, "method")), "order statistics"));
    cr_expect_float_eq(json_number_value(json_object_get(ci, "target")), 0.95, 1e-12);
    cr_expect_str_eq(json_string_value(json_object_get(sum, "suite_hash")), "0123456789abcdef");
    json_t *groups = json_object_get(sum, "groups");
    cr_assert_eq(json_array_size(groups), 2);
    json_t *g = json_array_get(groups, 0);
    cr_expect_str_eq(json_string_value(json_object_get(g, "workload")), "small");
    cr_expect_eq(json_integer_value(json_object_get(g, "trials")), 4);
    cr_expect_eq(json_integer_value(json_object_get(g, "ok")), 3);
    cr_expect_eq(json_integer_value(json_object_get(g, "failed")), 1);
    json_t *rps = json_object_get(json_object_get(g, "metrics"), "rps");
    cr_expect_float_eq(json_number_value(json_object_get(rps, "median")), 200.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(rps, "min")), 100.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(rps, "max")), 300.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(rps, "cv")), 0.5, 1e-9);
    /* n = 3: [min, max], which holds the median with probability 1 - 2/8. */
    cr_expect_float_eq(json_number_value(json_object_get(rps, "ci_lo")), 100.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(rps, "ci_hi")), 300.0, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(rps, "ci_level")), 0.75, 1e-15);
    cr_expect_null(json_object_get(rps, "ci95_lo"), "schema 1's ci95_lo is gone");
    cr_expect(json_is_true(json_object_get(rps, "noisy")));
    cr_expect_eq(json_integer_value(json_object_get(rps, "n")), 3);
    cr_expect_float_eq(json_number_value(json_object_get(sum, "noisy_cv")), 0.05, 1e-12);
    cr_expect_null(json_object_get(json_object_get(g, "metrics"), "note"), "non-numeric kept");
    json_t *errs = json_object_get(json_object_get(json_array_get(groups, 1), "metrics"), "errors");
    cr_expect(json_is_null(json_object_get(errs, "median")));
    cr_expect(json_is_null(json_object_get(errs, "ci_lo")));
    cr_expect(json_is_null(json_object_get(errs, "ci_level")));
    cr_expect(json_is_null(json_object_get(errs, "noisy")));
    cr_expect_eq(json_integer_value(json_object_get(errs, "n")), 0);
    json_decref(sum);
    json_decref(written);
}

Test(results, noisy_threshold_is_a_parameter)
{
    char err[512] = "", path[4400];
    json_t *recs = json_array();
    static const double rps[] = {1000, 1040, 1020, 980, 1000}; /* cv ~0.0224 */
    for (int i = 0; i < 5; i++)
        json_array_append_new(recs, trial("w", "closed", "kernel", i + 1, "ok",
                                          json_pack("{s:f}", "rps", rps[i])));
    json_error_t je;
    snprintf(path, sizeof path, "%s/summary.json", base);
    cr_assert_eq(results_write_summary(base, recs, err, sizeof err), 0, "%s", err);
    json_t *sum = json_load_file(path, 0, &je);
    cr_assert_not_null(sum, "%s", je.text);
    json_t *m = json_object_get(
        json_object_get(json_object_get(json_array_get(json_object_get(sum, "groups"), 0),
                                        "metrics"),
                        "rps"),
        "noisy");
    cr_expect(json_is_false(m), "cv 0.022 flagged at the default 0.05");
    json_decref(sum);
    cr_assert_eq(results_write_summary_cv(base, recs, 0.01, err, sizeof err), 0, "%s", err);
    sum = json_load_file(path, 0, &je);
    cr_assert_not_null(sum, "%s", je.text);
    json_t *g = json_array_get(json_object_get(sum, "groups"), 0);
    json_t *r = json_object_get(json_object_get(g, "metrics"), "rps");
    cr_expect(json_is_true(json_object_get(r, "noisy")), "cv 0.022 not flagged at 0.01");
    cr_expect_float_eq(json_number_value(json_object_get(sum, "noisy_cv")), 0.01, 1e-12);
    double lo = json_number_value(json_object_get(r, "ci_lo")),
           hi = json_number_value(json_object_get(r, "ci_hi"));
    cr_expect(lo == 980 && hi == 1040, "five repeats: [min, max], [%g, %g]", lo, hi);
    cr_expect_float_eq(json_number_value(json_object_get(r, "ci_level")), 0.9375, 1e-15);
    json_decref(sum);
    json_decref(recs);
}

/* The coverage column beside the interval, per number of repeats: [min, max]
 * at 93.75% with 5, 96.875% with 6, (x2, x9) at 97.9% with 10, and nothing
 * (no interval) with 1. */
Test(results, coverage_column_per_repeats)
{
    static const struct {
        int n;
        const char *row; /* x_median,x_min,x_max,x_ci_lo,x_ci_hi,x_ci_level */
    } want[] = {
        {1, "w,kernel,closed,1,1,0,1,1,1,,,,0,0\r\n"},
        {5, "w,kernel,closed,5,5,0,3,1,5,1,5,0.9375,"},
        {6, "w,kernel,closed,6,6,0,3.5,1,6,1,6,0.96875,"},
        {10, "w,kernel,closed,10,10,0,5.5,1,10,2,9,0.978515625,"},
    };
    for (size_t t = 0; t < sizeof want / sizeof want[0]; t++) {
        char err[512] = "", path[4400];
        json_t *recs = json_array();
        for (int i = 0; i < want[t].n; i++) /* values 1..n, in shuffled order */
            json_array_append_new(
                recs, trial("w", "closed", "kernel", i + 1, "ok",
                            json_pack("{s:f}", "x", (double)((i * 7) % want[t].n + 1))));
        cr_assert_eq(results_write_summary(base, recs, err, sizeof err), 0, "%s", err);
        snprintf(path, sizeof path, "%s/summary.csv", base);
        const char *csv = slurp(path);
        cr_expect_eq(strncmp(csv,
                             "workload,driver,mode,trials,ok,failed,x_median,x_min,x_max,x_ci_lo,"
                             "x_ci_hi,x_ci_level,x_cv,x_noisy\r\n",
                             strlen("workload,driver,mode,trials,ok,failed,x_median,x_min,x_max,"
                                    "x_ci_lo,x_ci_hi,x_ci_level,x_cv,x_noisy\r\n")),
                     0, "%s", csv);
        const char *row = strchr(csv, '\n') + 1;
        cr_expect_eq(strncmp(row, want[t].row, strlen(want[t].row)), 0, "n = %d: %s", want[t].n,
                     row);
        snprintf(path, sizeof path, "%s/summary.json", base);
        json_error_t je;
        json_t *sum = json_load_file(path, 0, &je);
        cr_assert_not_null(sum, "%s", je.text);
        json_t *x = json_object_get(
            json_object_get(json_array_get(json_object_get(sum, "groups"), 0), "metrics"), "x");
        if (want[t].n == 1)
            cr_expect(json_is_null(json_object_get(x, "ci_level")) &&
                          json_is_null(json_object_get(x, "ci_lo")),
                      "one repeat: no interval, not [x, x]");
        else
            cr_expect(json_number_value(json_object_get(x, "ci_level")) > 0.93, "n = %d",
                      want[t].n);
        json_decref(sum);
        json_decref(recs);
    }
}

Test(results, csv_quoting)
{
    char err[512] = "", path[4400];
    json_t *recs = json_array();
    json_array_append_new(recs, trial("a,b", "closed", "x\"y", 1, "ok",
                                      json_pack("{s:f}", "p,99", 0.1)));
    json_array_append_new(recs, trial("a,b", "closed", "x\"y", 2, "ok",
                                      json_pack("{s:f}", "p,99", 0.3)));
    cr_assert_eq(results_write_summary(base, recs, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/summary.csv", base);
    cr_expect_str_eq(slurp(path), "workload,driver,mode,trials,ok,failed,"
                                  "\"p,99_median\",\"p,99_min\",\"p,99_max\",\"p,99_ci_lo\","
                                  "\"p,99_ci_hi\",\"p,99_ci_level\",\"p,99_cv\",\"p,99_noisy\"\r\n"
                                  "\"a,b\",\"x\"\"y\",closed,2,2,0,0.2,0.1,0.3,0.1,0.3,0.5,"
                                  "0.7071067811865475,1\r\n");
    json_decref(recs);
}

Test(results, errors)
{
    char err[512] = "", path[4400];
    cr_expect_null(results_load_dir(base, err, sizeof err));
    cr_expect(strstr(err, "trials: cannot open") != NULL, "%s", err);

    json_t *notarr = json_object();
    cr_expect_eq(results_write_summary(base, notarr, err, sizeof err), -1);
    json_decref(notarr);

    json_t *recs = json_pack("[{s:{s:s}}]", "workload", "name", "a");
    cr_expect_eq(results_write_summary(base, recs, err, sizeof err), -1);
    cr_expect(strstr(err, "record 0") != NULL && strstr(err, "driver") != NULL, "%s", err);
    json_decref(recs);

    json_t *rec = json_object();
    cr_expect_eq(results_write_trial(base, "../x", "kernel", 1, rec, err, sizeof err), -1);
    cr_expect_eq(results_write_trial(base, "a", "kernel", 1, rec, err, sizeof err), 0, "%s", err);
    json_decref(rec);

    snprintf(path, sizeof path, "%s/trials/b-kernel-r1.json", base);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\n  \"schema\": oops\n}\n", f);
    fclose(f);
    cr_expect_null(results_load_dir(base, err, sizeof err));
    cr_expect(strstr(err, "b-kernel-r1.json:2:") != NULL, "%s", err);
}
