/*
 * plot.h — `bypassbench plot DIR`: the trial records of a results directory
 * turned into one CSV per figure (DIR/plots/<name>.csv) and, through gnuplot
 * and the scripts in plots/ (one shared style, plots/style.gp), into
 * DIR/plots/<name>-1col.{pdf,svg,png} (3.5 in wide) and -2col (7 in).
 *
 * Figures (a figure without data is skipped with a note, not an error):
 *   throughput  req/s and Gbit/s vs response size (closed loop, keep-alive,
 *               no pipelining, path /bytes/N)
 *   cycles      cycles per request and per packet, DUT core and whole system,
 *               closed-loop and cps workloads (work/idle split when the
 *               server reports poll_cycles_work/poll_cycles_idle)
 *   latency     p50/p90/p99/p99.9 of the open-loop trials (log axis)
 *   cps         connections per second (cps workloads)
 *   download    download time and Gbit/s (download workloads)
 *   overhead    context switches, NET_RX softirqs, server syscalls per request
 * Every value is the median over the ok repeats; error bars are the bootstrap
 * 95% CI of the median (stats_median_ci95). Failed trials are left out.
 *
 * Also the grouped view of a run (struct plot_data) that report.c shares.
 * Callers: harness/cli/report.c, harness/analysis/report.c, tests.
 * Calls: results.c (results_load_dir), stats.c, units.c, jansson, gnuplot.
 */
#ifndef BB_PLOT_H
#define BB_PLOT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define PLOT_MAX_DRIVERS 32
#define PLOT_MAX_WORKLOADS 128

/* A run: its records grouped by workload (run order) and driver. */
struct plot_data {
    json_t *records;                           /* every trial record (owned) */
    json_t *env;                               /* env.json, or NULL (owned) */
    const char *workloads[PLOT_MAX_WORKLOADS]; /* run order (summary.json), borrowed */
    json_t *specs[PLOT_MAX_WORKLOADS];         /* each one's "workload" object, borrowed */
    size_t nw;
    const char *drivers[PLOT_MAX_DRIVERS]; /* kernel, afpacket, dpdk, dpdk-tap, dpdk-ring, others */
    size_t nd;
};

/* Median, min, max, bootstrap 95% CI and cv over n ok trials (NAN when n == 0). */
struct plot_stat {
    size_t n;
    double median, min, max, lo, hi, cv;
};

/* Reads DIR/trials/ (results_load_dir), DIR/env.json and, for the workload
 * order, DIR/summary.json when present. 0, or -1 with err. */
int plot_data_load(const char *dir, struct plot_data *pd, char *err, size_t errlen);
void plot_data_free(struct plot_data *pd);
/* metrics.<name> of a record, or a derived value: "syscalls_per_request"
 * (server.driver_counters.syscalls / server.stats.requests) and
 * "poll_work_fraction" (poll_cycles_work / (work + idle) of the server's
 * driver_counters). NAN when absent. */
double plot_record_value(json_t *rec, const char *name);
/* Over the ok trials of (workload w, driver d) that have a value for name. */
void plot_cell_stat(const struct plot_data *pd, size_t w, size_t d, const char *name,
                    struct plot_stat *st);
/* Trials of (w, d), and how many of them are ok. */
size_t plot_cell_trials(const struct plot_data *pd, size_t w, size_t d, size_t *ok);
/* gnuplot linetype (colour) of a driver: 1 kernel, 2 afpacket, 3 dpdk,
 * 4 dpdk-tap, 5 dpdk-ring, 6.. the others in pd order. */
int plot_driver_lt(const struct plot_data *pd, size_t d);
/* The figures, in order: name (file stem) and what it shows; NULL past the end. */
const char *plot_figure_name(size_t i);
const char *plot_figure_caption(size_t i);

struct plot_opts {
    const char *scripts; /* directory of style.gp and <figure>.gp; NULL: ./plots, else
                            <the binary's directory>/../plots */
    const char *gnuplot; /* NULL: "gnuplot" from PATH */
    int csv_only;        /* write the CSVs only */
    FILE *notes;         /* one line per figure written or skipped; NULL: silent */
};

/* Every figure of DIR into DIR/plots/. Returns how many figures were drawn
 * (CSVs written with csv_only), or -1 with err naming the first figure that
 * failed (the others are still drawn; gnuplot's messages go to
 * DIR/plots/<name>.log). */
int plot_run(const char *dir, const struct plot_opts *o, char *err, size_t errlen);

#endif
