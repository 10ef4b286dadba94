/*
 * model.c — the results model (see model.h): a run's trial records grouped
 * by workload and driver, and the statistics of each cell.
 *
 * model_load() -> results_load_dir() (every trials/ record), env.json,
 *   summary.json (run order) -> workloads and drivers in order.
 * model_cell_stat() -> model_record_value() per ok trial -> stats.c.
 *
 * Callers: harness/analysis/plot.c, harness/analysis/report.c, tests.
 * Calls: results.c, stats.c, jansson.
 */
#include "harness/analysis/model.h"

#include "harness/analysis/results.h"
#include "harness/analysis/stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PATH_LEN 4096

/* The ladder's order: the kernel's steps, then our stack from AF_PACKET to
 * DPDK, the ring (no kernel at all) last. */
static const char *const known_drivers[] = {"kernel", "kernel+busypoll", "io_uring",  "afpacket",
                                            "afxdp",  "dpdk",            "dpdk-xdp",  "dpdk-tap",
                                            "dpdk-ring"};
#define NKNOWN (sizeof known_drivers / sizeof known_drivers[0])

const char *model_str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int is_ok(json_t *rec)
{
    const char *s = model_str(rec, "status");
    return s && strcmp(s, "ok") == 0;
}

static int find(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

int model_known_driver(const char *name)
{
    return find(known_drivers, NKNOWN, name);
}

int model_workload_index(const struct run_model *pd, const char *name)
{
    return find(pd->workloads, pd->nw, name);
}

static void add_workload(struct run_model *pd, const char *name, json_t *spec)
{
    int i = find(pd->workloads, pd->nw, name);
    if (i >= 0) {
        if (!pd->specs[i]) pd->specs[i] = spec;
        return;
    }
    if (pd->nw >= MODEL_MAX_WORKLOADS) return;
    pd->specs[pd->nw] = spec;
    pd->workloads[pd->nw++] = name;
}

int model_load(const char *dir, struct run_model *pd, char *err, size_t errlen)
{
    char path[PATH_LEN + 32];
    json_error_t je;
    memset(pd, 0, sizeof *pd);
    pd->records = results_load_dir(dir, err, errlen);
    if (!pd->records) return -1;
    snprintf(path, sizeof path, "%s/env.json", dir);
    pd->env = json_load_file(path, 0, &je);
    /* Run order from summary.json; records are in file-name order. */
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *sum = json_load_file(path, 0, &je), *g, *rec;
    size_t i;
    json_array_foreach(json_object_get(sum, "groups"), i, g)
    {
        const char *name = model_str(g, "workload");
        json_t *r2;
        size_t j;
        json_array_foreach(pd->records, j, r2)
        { /* borrow the name from a record */
            const char *rn = model_str(json_object_get(r2, "workload"), "name");
            if (rn && name && strcmp(rn, name) == 0) {
                add_workload(pd, rn, json_object_get(r2, "workload"));
                break;
            }
        }
    }
    json_decref(sum);
    const char *others[MODEL_MAX_DRIVERS];
    size_t nothers = 0;
    int present[NKNOWN] = {0};
    json_array_foreach(pd->records, i, rec)
    {
        const char *name = model_str(json_object_get(rec, "workload"), "name");
        const char *drv = model_str(rec, "driver");
        if (!name || !drv) {
            snprintf(err, errlen, "%s/trials: record %zu has no %s", dir, i,
                     !name ? "workload.name" : "driver");
            model_free(pd);
            return -1;
        }
        add_workload(pd, name, json_object_get(rec, "workload"));
        int k = find(known_drivers, NKNOWN, drv);
        if (k >= 0)
            present[k] = 1;
        else if (find(others, nothers, drv) < 0 && nothers < MODEL_MAX_DRIVERS - NKNOWN)
            others[nothers++] = drv;
    }
    for (size_t k = 0; k < NKNOWN; k++)
        if (present[k]) pd->drivers[pd->nd++] = known_drivers[k];
    for (size_t k = 0; k < nothers; k++)
        pd->drivers[pd->nd++] = others[k];
    return 0;
}

void model_free(struct run_model *pd)
{
    json_decref(pd->records);
    json_decref(pd->env);
    memset(pd, 0, sizeof *pd);
}

static double num_at(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The server's requests parsed: stats.requests_parsed, or stats.requests in
 * records written before the counter was renamed. */
static double requests_parsed(json_t *stats)
{
    return json_object_get(stats, "requests_parsed") ? num_at(stats, "requests_parsed")
                                                     : num_at(stats, "requests");
}

double model_record_value(json_t *rec, const char *name)
{
    json_t *m = json_object_get(json_object_get(rec, "metrics"), name);
    if (json_is_number(m)) return json_number_value(m);
    /* the DUT's side: the server's JSON, or the client's with dut = client */
    const char *dut = model_str(rec, "dut");
    int client = dut && strcmp(dut, "client") == 0;
    json_t *srv = json_object_get(rec, client ? "client" : "server");
    json_t *dc = json_object_get(srv, "driver_counters");
    if (strcmp(name, "syscalls_per_request") == 0) {
        double sys = num_at(dc, "syscalls"),
               req = client ? num_at(srv, "requests_total")
                            : requests_parsed(json_object_get(srv, "stats"));
        if (!isfinite(sys)) { /* our stack: the sys_* counters its layers keep */
            const char *k;
            json_t *v;
            int any = 0;
            sys = 0;
            json_object_foreach(dc, k, v) if (strncmp(k, "sys_", 4) == 0 && json_is_number(v))
            {
                sys += json_number_value(v);
                any = 1;
            }
            if (!any) sys = NAN;
        }
        return req > 0 ? sys / req : NAN;
    }
    if (strcmp(name, "net_tx_softirqs_per_request") == 0) {
        double tx = num_at(json_object_get(rec, "cpu"), "net_tx_softirqs"),
               req = num_at(json_object_get(rec, "metrics"), "requests");
        return req > 0 ? tx / req : NAN;
    }
    if (strcmp(name, "poll_work_fraction") == 0) {
        double w = num_at(dc, "poll_cycles_work"), i = num_at(dc, "poll_cycles_idle");
        return w + i > 0 ? w / (w + i) : NAN;
    }
    json_t *wl = json_object_get(rec, "workload");
    if (strcmp(name, "offered_rps") == 0) { /* open loop: the rate the schedule offered */
        double r = num_at(wl, "rate");
        const char *mode = model_str(wl, "mode");
        return r > 0 && mode && strcmp(mode, "open") == 0 ? r : NAN;
    }
    if (strcmp(name, "load") == 0) return num_at(wl, "load"); /* a sweep point's share */
    return NAN;
}

static int in_cell(const struct run_model *pd, json_t *rec, size_t w, size_t d)
{
    const char *name = model_str(json_object_get(rec, "workload"), "name");
    const char *drv = model_str(rec, "driver");
    return name && drv && strcmp(name, pd->workloads[w]) == 0 && strcmp(drv, pd->drivers[d]) == 0;
}

void model_cell_stat(const struct run_model *pd, size_t w, size_t d, const char *name,
                    struct cell_stat *st)
{
    double v[1024];
    size_t i, n = 0;
    json_t *rec;
    json_array_foreach(pd->records, i, rec)
    {
        if (n == sizeof v / sizeof v[0]) break;
        if (!is_ok(rec) || !in_cell(pd, rec, w, d)) continue;
        double x = model_record_value(rec, name);
        if (isfinite(x)) v[n++] = x;
    }
    st->n = n;
    st->median = stats_median(v, n);
    st->min = stats_min(v, n);
    st->max = stats_max(v, n);
    st->cv = stats_cv(v, n);
    struct stats_ci ci;
    stats_median_ci(v, n, STATS_CI_TARGET, &ci);
    st->lo = ci.lo, st->hi = ci.hi, st->level = ci.level;
}

size_t model_cell_trials(const struct run_model *pd, size_t w, size_t d, size_t *ok)
{
    size_t i, n = 0, k = 0;
    json_t *rec;
    json_array_foreach(pd->records, i, rec) if (in_cell(pd, rec, w, d))
    {
        n++;
        k += (size_t)is_ok(rec);
    }
    if (ok) *ok = k;
    return n;
}

size_t model_cell_flagged(const struct run_model *pd, size_t w, size_t d, const char *key)
{
    size_t i, k = 0;
    json_t *rec;
    json_array_foreach(pd->records, i, rec) if (in_cell(pd, rec, w, d) && is_ok(rec))
        k += (size_t)json_is_true(json_object_get(rec, key));
    return k;
}

const char *model_cell_str(const struct run_model *pd, size_t w, size_t d, const char *key,
                           int *mixed)
{
    size_t i, n = 0;
    json_t *rec;
    const char *v = NULL;
    int mix = 0;
    json_array_foreach(pd->records, i, rec) if (in_cell(pd, rec, w, d))
    {
        const char *s = model_str(rec, key);
        if (!n++)
            v = s;
        else if ((s == NULL) != (v == NULL) || (s && strcmp(s, v) != 0))
            mix = 1;
        if (!v) v = s;
    }
    if (mixed) *mixed = mix;
    return v;
}
