/*
 * model.h — the results model: a run directory's trial records grouped by
 * workload (run order) and driver (kernel, afpacket, dpdk, dpdk-tap,
 * dpdk-ring, then the others), and the statistics of each (workload,
 * driver) cell over its ok trials. The figures (plot.c) and the report
 * (report.c) read a run through it.
 * Callers: harness/analysis/plot.c, harness/analysis/report.c, tests.
 * Calls: results.c (results_load_dir), stats.c, jansson.
 */
#ifndef BB_MODEL_H
#define BB_MODEL_H

#include <jansson.h>
#include <stddef.h>

#define MODEL_MAX_DRIVERS 32
#define MODEL_MAX_WORKLOADS 128

/* A run: its records grouped by workload (run order) and driver. */
struct run_model {
    json_t *records;                           /* every trial record (owned) */
    json_t *env;                               /* env.json, or NULL (owned) */
    const char *workloads[MODEL_MAX_WORKLOADS]; /* run order (summary.json), borrowed */
    json_t *specs[MODEL_MAX_WORKLOADS];         /* each one's "workload" object, borrowed */
    size_t nw;
    const char *drivers[MODEL_MAX_DRIVERS]; /* kernel, afpacket, dpdk, dpdk-tap, dpdk-ring, others */
    size_t nd;
};

/* Median, min, max and cv over n ok trials (NAN when n == 0), and the
 * order-statistic interval of the median [lo, hi] with its achieved coverage
 * level (stats_median_ci; all three NAN when n < 2: no interval). */
struct cell_stat {
    size_t n;
    double median, min, max, lo, hi, cv;
    double level;
};

/* Reads DIR/trials/ (results_load_dir), DIR/env.json and, for the workload
 * order, DIR/summary.json when present. 0, or -1 with err. */
int model_load(const char *dir, struct run_model *pd, char *err, size_t errlen);
void model_free(struct run_model *pd);
/* metrics.<name> of a record, or a derived value, from the DUT's side (the
 * server's JSON, or the client's where the record says dut = client):
 * "syscalls_per_request" (driver_counters.syscalls / server.stats.requests_parsed,
 * or .requests in records from before the rename; the client's requests_total)
 * and "poll_work_fraction" (poll_cycles_work / (work + idle) of the DUT's
 * driver_counters: the stack's share of poll-loop cycles in iterations that
 * moved frames or returned events, drivers/ustack/ustack.h), "offered_rps"
 * (an open-loop trial's workload.rate) and "load" (a sweep point's share of
 * its capacity, workload.load: harness/cli/run.c). NAN when absent. */
double model_record_value(json_t *rec, const char *name);
/* Over the ok trials of (workload w, driver d) that have a value for name. */
void model_cell_stat(const struct run_model *pd, size_t w, size_t d, const char *name,
                    struct cell_stat *st);
/* Trials of (w, d), and how many of them are ok. */
/* How many ok trials of the cell have the boolean record key true (e.g.
 * "generator_saturated"). */
size_t model_cell_flagged(const struct run_model *pd, size_t w, size_t d, const char *key);
size_t model_cell_trials(const struct run_model *pd, size_t w, size_t d, size_t *ok);

/* The string member key of the records of (w, d) (e.g. "generator_driver",
 * "link"): the first one found, or NULL when none has it; *mixed (when not
 * NULL) is set when the records do not all carry the same value (one lacking
 * it counts as different). */
const char *model_cell_str(const struct run_model *pd, size_t w, size_t d, const char *key,
                           int *mixed);
/* A string member of a JSON object, or NULL. */
const char *model_str(json_t *o, const char *k);
/* Index of a driver in the canonical order (kernel 0, afpacket 1, dpdk 2,
 * dpdk-tap 3, dpdk-ring 4), or -1 for the others. */
int model_known_driver(const char *name);
/* Index of workload name in pd, or -1. */
int model_workload_index(const struct run_model *pd, const char *name);

#endif
