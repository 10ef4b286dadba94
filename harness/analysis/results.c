/*
 * results.c — the run directory: trial records in, summary out (see results.h).
 *
 * results_write_summary() -> group_records() (by workload.name, driver)
 *   -> per group and metric: values of the ok trials -> stats.c (median, min,
 *      max, order-statistic interval of the median with its coverage, cv; noisy
 *      when cv > threshold)
 *   -> write_csv() and summary_json() -> write_file_atomic()
 *
 * Callers: harness/cli/run.c, harness/analysis/compare.c, tests.
 * Calls: jansson, harness/analysis/stats.c, libc (mkdir, scandir, rename).
 */
#include "harness/analysis/results.h"

#include "harness/analysis/stats.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN 4096

/* ---------------------------------------------------------------- files */

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[PATH_LEN];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, errlen, "%.64s...: path too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", path);
        return -1;
    }
    return 0;
}

/* Calls fill(f, arg) on PATH.tmp, then renames it to PATH. */
static int write_file_atomic(const char *path, int (*fill)(FILE *f, void *arg), void *arg,
                             char *err, size_t errlen)
{
    char tmp[PATH_LEN + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    int bad = fill(f, arg) < 0;
    bad |= fflush(f) != 0 || ferror(f);
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) < 0) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
        snprintf(err, errlen, "%s: cannot write: %s", path, saved ? strerror(saved) : "I/O error");
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int dump_json(FILE *f, void *arg)
{
    if (json_dumpf((json_t *)arg, f, JSON_INDENT(2)) < 0) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

int results_dir_create(const char *base, char *out, size_t outlen, char *err, size_t errlen)
{
    char parent[PATH_LEN], path[PATH_LEN + 64], stamp[32];
    if (snprintf(parent, sizeof parent, "%s", base && *base ? base : "results") >=
        (int)sizeof parent) {
        snprintf(err, errlen, "%.64s...: path too long", base);
        return -1;
    }
    if (mkdir_p(parent, err, errlen) < 0) return -1;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    for (int i = 1; i < 1000; i++) {
        if (i == 1) snprintf(path, sizeof path, "%s/%s", parent, stamp);
        else snprintf(path, sizeof path, "%s/%s-%d", parent, stamp, i);
        if (mkdir(path, 0755) == 0) {
            if (strlen(path) >= outlen) {
                snprintf(err, errlen, "%s: path longer than the caller's buffer", path);
                return -1;
            }
            memcpy(out, path, strlen(path) + 1);
            strcat(path, "/trials");
            if (mkdir(path, 0755) < 0) {
                snprintf(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
                return -1;
            }
            return 0;
        }
        if (errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
            return -1;
        }
    }
    snprintf(err, errlen, "%s/%s: 999 run directories with this time stamp already exist", parent,
             stamp);
    return -1;
}

static int file_part_ok(const char *s)
{
    return s && *s && *s != '.' && !strchr(s, '/') && strlen(s) < 128;
}

int results_write_trial(const char *dir, const char *workload, const char *driver, unsigned repeat,
                        json_t *record, char *err, size_t errlen)
{
    char path[PATH_LEN + 300];
    if (!file_part_ok(workload) || !file_part_ok(driver)) {
        snprintf(err, errlen, "bad workload/driver name for a file name: '%s' / '%s'",
                 workload ? workload : "(null)", driver ? driver : "(null)");
        return -1;
    }
    if (!record) {
        snprintf(err, errlen, "%s-%s-r%u: no record", workload, driver, repeat);
        return -1;
    }
    snprintf(path, sizeof path, "%s/trials", dir);
    if (mkdir_p(path, err, errlen) < 0) return -1;
    snprintf(path, sizeof path, "%s/trials/%s-%s-r%u.json", dir, workload, driver, repeat);
    return write_file_atomic(path, dump_json, record, err, errlen);
}

/* ---------------------------------------------------------------- grouping */

struct group {
    const char *workload, *driver, *mode; /* borrowed from the records */
    json_t *members;                      /* borrowed records, in order */
    json_t *keys;                         /* metric names, first-seen order */
    size_t ok, failed;
};

struct summary {
    struct group *g;
    size_t n;
    json_t *keys;    /* union over all groups: the CSV columns */
    double noisy_cv; /* cv above this is noisy */
};

static void summary_free(struct summary *sm)
{
    for (size_t i = 0; i < sm->n; i++) {
        json_decref(sm->g[i].members);
        json_decref(sm->g[i].keys);
    }
    free(sm->g);
    json_decref(sm->keys);
}

static int has_key(json_t *keys, const char *k)
{
    size_t i;
    json_t *v;
    json_array_foreach(keys, i, v) if (strcmp(json_string_value(v), k) == 0) return 1;
    return 0;
}

static void add_metric_keys(json_t *keys, json_t *metrics)
{
    const char *k;
    json_t *v;
    json_object_foreach(metrics, k, v) if (json_is_number(v) && !has_key(keys, k))
        json_array_append_new(keys, json_string(k));
}

static const char *str_at(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int is_ok(json_t *rec)
{
    const char *st = str_at(rec, "status");
    return st && strcmp(st, "ok") == 0;
}

static int group_records(json_t *records, struct summary *sm, char *err, size_t errlen)
{
    size_t i;
    json_t *rec;
    memset(sm, 0, sizeof *sm);
    sm->keys = json_array();
    if (!json_is_array(records)) {
        snprintf(err, errlen, "summary: records are not a JSON array");
        return -1;
    }
    sm->g = calloc(json_array_size(records) + 1, sizeof *sm->g);
    if (!sm->g || !sm->keys) {
        snprintf(err, errlen, "summary: out of memory");
        return -1;
    }
    json_array_foreach(records, i, rec) {
        json_t *wl = json_object_get(rec, "workload");
        const char *name = str_at(wl, "name"), *driver = str_at(rec, "driver");
        if (!name || !driver) {
            snprintf(err, errlen, "summary: record %zu has no %s", i,
                     !name ? "workload.name" : "driver");
            return -1;
        }
        struct group *g = NULL;
        for (size_t j = 0; j < sm->n && !g; j++)
            if (strcmp(sm->g[j].workload, name) == 0 && strcmp(sm->g[j].driver, driver) == 0)
                g = &sm->g[j];
        if (!g) {
            g = &sm->g[sm->n++];
            g->workload = name;
            g->driver = driver;
            g->mode = str_at(wl, "mode") ? str_at(wl, "mode") : "";
            g->members = json_array();
            g->keys = json_array();
            if (!g->members || !g->keys) {
                snprintf(err, errlen, "summary: out of memory");
                return -1;
            }
        }
        json_array_append(g->members, rec);
        if (is_ok(rec)) g->ok++;
        else g->failed++;
        json_t *metrics = json_object_get(rec, "metrics");
        add_metric_keys(g->keys, metrics);
        add_metric_keys(sm->keys, metrics);
    }
    return 0;
}

struct metric_stats {
    size_t n;
    double median, min, max, cv;
    double lo, hi, level; /* interval of the median (stats_median_ci): NAN with one repeat */
};

/* Over the ok members of g that have a numeric value for key. */
static int metric_stats(const struct group *g, const char *key, struct metric_stats *ms)
{
    size_t i, n = 0;
    json_t *rec;
    double *v = malloc((json_array_size(g->members) + 1) * sizeof *v);
    if (!v) return -1;
    json_array_foreach(g->members, i, rec) {
        json_t *x = json_object_get(json_object_get(rec, "metrics"), key);
        if (is_ok(rec) && json_is_number(x)) v[n++] = json_number_value(x);
    }
    ms->n = n;
    ms->median = stats_median(v, n);
    ms->min = stats_min(v, n);
    ms->max = stats_max(v, n);
    ms->cv = stats_cv(v, n);
    struct stats_ci ci;
    stats_median_ci(v, n, STATS_CI_TARGET, &ci); /* NAN when n < 2 */
    ms->lo = ci.lo, ms->hi = ci.hi, ms->level = ci.level;
    free(v);
    return 0;
}

/* ---------------------------------------------------------------- CSV */

static void csv_field(FILE *f, const char *s, int first)
{
    if (!first) fputc(',', f);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Shortest text that reads back as the same double; "" when not finite. */
static const char *fmt_num(double x, char *buf, size_t len)
{
    if (!isfinite(x)) {
        buf[0] = '\0';
        return buf;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    return buf;
}

static int write_csv(FILE *f, void *arg)
{
    struct summary *sm = arg;
    static const char *const fixed[] = {"workload", "driver", "mode", "trials", "ok", "failed"};
    static const char *const suffix[] = {"_median", "_min",      "_max", "_ci_lo",
                                         "_ci_hi",  "_ci_level", "_cv",  "_noisy"};
    const size_t nsuffix = sizeof suffix / sizeof suffix[0];
    char buf[512];
    size_t i;
    json_t *k;
    for (size_t c = 0; c < sizeof fixed / sizeof fixed[0]; c++) csv_field(f, fixed[c], c == 0);
    json_array_foreach(sm->keys, i, k) for (size_t s = 0; s < nsuffix; s++)
    {
        snprintf(buf, sizeof buf, "%s%s", json_string_value(k), suffix[s]);
        csv_field(f, buf, 0);
    }
    fputs("\r\n", f);
    for (size_t gi = 0; gi < sm->n; gi++) {
        const struct group *g = &sm->g[gi];
        csv_field(f, g->workload, 1);
        csv_field(f, g->driver, 0);
        csv_field(f, g->mode, 0);
        fprintf(f, ",%zu,%zu,%zu", g->ok + g->failed, g->ok, g->failed);
        json_array_foreach(sm->keys, i, k) {
            struct metric_stats ms = {0, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
            if (metric_stats(g, json_string_value(k), &ms) < 0) return -1;
            fprintf(f, ",%s", fmt_num(ms.median, buf, sizeof buf));
            fprintf(f, ",%s", fmt_num(ms.min, buf, sizeof buf));
            fprintf(f, ",%s", fmt_num(ms.max, buf, sizeof buf));
            fprintf(f, ",%s", fmt_num(ms.lo, buf, sizeof buf));
            fprintf(f, ",%s", fmt_num(ms.hi, buf, sizeof buf));
            fprintf(f, ",%s", fmt_num(ms.level, buf, sizeof buf));
            fprintf(f, ",%s", fmt_num(ms.cv, buf, sizeof buf));
            fprintf(f, ",%s", isfinite(ms.cv) ? (ms.cv > sm->noisy_cv ? "1" : "0") : "");
        }
        fputs("\r\n", f);
    }
    return 0;
}

/* ---------------------------------------------------------------- JSON */

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *summary_json(const struct summary *sm, json_t *records)
{
    json_t *first = json_array_get(records, 0);
    json_t *groups = json_array();
    json_t *out =
        json_pack("{s:s, s:O?, s:O?, s:f, s:{s:s, s:f}, s:o}", "schema", RESULTS_SUMMARY_SCHEMA,
                  "suite", json_object_get(first, "suite"), "suite_hash",
                  json_object_get(first, "suite_hash"), "noisy_cv", sm->noisy_cv, "ci", "method",
                  RESULTS_CI_METHOD, "target", STATS_CI_TARGET, "groups", groups);
    if (!out) return NULL;
    for (size_t gi = 0; gi < sm->n; gi++) {
        const struct group *g = &sm->g[gi];
        json_t *metrics = json_object();
        size_t i;
        json_t *k;
        json_array_foreach(g->keys, i, k) {
            struct metric_stats ms;
            if (metric_stats(g, json_string_value(k), &ms) < 0) break;
            json_t *noisy = isfinite(ms.cv) ? json_boolean(ms.cv > sm->noisy_cv) : json_null();
            json_object_set_new(metrics, json_string_value(k),
                                json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "median",
                                          num_or_null(ms.median), "min", num_or_null(ms.min), "max",
                                          num_or_null(ms.max), "ci_lo", num_or_null(ms.lo), "ci_hi",
                                          num_or_null(ms.hi), "ci_level", num_or_null(ms.level),
                                          "cv", num_or_null(ms.cv), "noisy", noisy, "n",
                                          (json_int_t)ms.n));
        }
        json_t *row = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "workload", g->workload,
                                "driver", g->driver, "mode", g->mode, "trials",
                                (json_int_t)(g->ok + g->failed), "ok", (json_int_t)g->ok, "failed",
                                (json_int_t)g->failed, "metrics", metrics);
        if (!row || json_array_append_new(groups, row) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

int results_write_summary(const char *dir, json_t *records, char *err, size_t errlen)
{
    return results_write_summary_cv(dir, records, RESULTS_NOISY_CV, err, errlen);
}

int results_write_summary_cv(const char *dir, json_t *records, double noisy_cv, char *err,
                             size_t errlen)
{
    struct summary sm;
    char path[PATH_LEN + 32];
    int rc = -1;
    if (group_records(records, &sm, err, errlen) < 0) goto out;
    sm.noisy_cv = noisy_cv;
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (write_file_atomic(path, write_csv, &sm, err, errlen) < 0) goto out;
    json_t *j = summary_json(&sm, records);
    if (!j) {
        snprintf(err, errlen, "%s/summary.json: out of memory", dir);
        goto out;
    }
    snprintf(path, sizeof path, "%s/summary.json", dir);
    rc = write_file_atomic(path, dump_json, j, err, errlen);
    json_decref(j);
out:
    summary_free(&sm);
    return rc;
}

/* ---------------------------------------------------------------- reading back */

static int is_trial_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

json_t *results_load_dir(const char *dir, char *err, size_t errlen)
{
    char tdir[PATH_LEN + 16], path[PATH_LEN + 300];
    struct dirent **names;
    snprintf(tdir, sizeof tdir, "%s/trials", dir);
    int n = scandir(tdir, &names, is_trial_file, versionsort);
    if (n < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", tdir, strerror(errno));
        return NULL;
    }
    json_t *arr = json_array();
    int ok = arr != NULL;
    if (!ok) snprintf(err, errlen, "%s: out of memory", tdir);
    for (int i = 0; i < n && ok; i++) {
        json_error_t e;
        snprintf(path, sizeof path, "%s/%s", tdir, names[i]->d_name);
        json_t *rec = json_load_file(path, 0, &e);
        if (!rec) {
            snprintf(err, errlen, "%s:%d:%d: %s", path, e.line, e.column, e.text);
            ok = 0;
        } else if (!json_is_object(rec)) {
            snprintf(err, errlen, "%s: not a JSON object", path);
            json_decref(rec);
            ok = 0;
        } else if (json_array_append_new(arr, rec) < 0) { /* rec is released */
            snprintf(err, errlen, "%s: out of memory", path);
            ok = 0;
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}
