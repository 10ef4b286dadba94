/*
 * plot.h — `bypassbench plot DIR`: the trial records of a results directory
 * turned into one CSV per figure (DIR/plots/<name>.csv) and, through gnuplot
 * and the scripts in plots/ (one shared style, plots/style.gp), into
 * DIR/plots/<name>-1col.{pdf,svg,png} (3.5 in wide) and -2col (7 in).
 *
 * Figures (a figure without data is drawn as an empty plot area that says
 * so, with no CSV, and noted; never an error). Every y axis is chosen here
 * from the data (plot_axis_cmd: log past a decade, exact tick labels); one
 * legend per figure sits in a strip above the panels (plots/style.gp):
 *   throughput  req/s and Gbit/s vs response size (closed loop, keep-alive,
 *               no pipelining, path /bytes/N)
 *   cycles      cycles per request and per packet, DUT core and whole system,
 *               closed-loop and cps workloads (work/idle split when the
 *               server reports poll_cycles_work/poll_cycles_idle)
 *   latency     p50/p90/p99/p99.9 of the open-loop trials (log axis)
 *   cps         connections per second (cps workloads)
 *   download    download time and Gbit/s (download workloads)
 *   overhead    per request: context switches, NET_RX and NET_TX softirqs,
 *               system calls our server code issues (the driver's "syscalls",
 *               else the sum of its sys_* counters: our stack's poll waits,
 *               AF_PACKET's sendmmsg); a zero is written "0" on its panel
 *   loadlat     latency (p50, p99, p99.9) against offered load: the load
 *               sweep's points (workload.sweep), the p99 target as a line
 * Every value is the median over the ok repeats; error bars are the
 * order-statistic interval of the median (stats_median_ci), none for a cell
 * with one repeat. Each CSV ends with ci_level, the lowest coverage among the
 * row's intervals (empty: none), and each figure carries a note saying what
 * its error bars are and their real coverage ("exactly 96.9% at n = 6", or
 * "coverage ≥ 93.8% (n = 5–6)"), passed to the scripts as ci_note and printed
 * on the notes line. Failed trials are left out.
 *
 * Callers: harness/cli/report.c, harness/analysis/report.c, tests.
 * Calls: model.c (the grouped view of a run), stats.c, units.c, jansson, gnuplot.
 */
#ifndef BB_PLOT_H
#define BB_PLOT_H

#include "harness/analysis/model.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* gnuplot linetype (colour) of a driver: 1 kernel, 2 afpacket, 3 dpdk,
 * 4 dpdk-tap, 5 dpdk-ring, 6.. the others in pd order. */
int plot_driver_lt(const struct run_model *pd, size_t d);
/* The figures, in order: name (file stem) and what it shows; NULL past the end. */
const char *plot_figure_name(size_t i);
const char *plot_figure_caption(size_t i);
/* 1 when figure `name` draws workload w of pd: the selection every builder
 * uses, and the report's "Rests on" line counts by (one rule, not two). */
int plot_figure_uses(const char *name, const struct run_model *pd, size_t w);

/* The y axis of a panel whose values (medians and interval ends; NAN
 * skipped) are v[0..n), as a gnuplot command setting its scale, range and
 * every tick with an exact, distinct label ("500k", "1.5M"): log when the
 * positive values span more than a decade, else linear from 0 in 1-2-5
 * steps (force_log: log whenever a value is positive). Returns 1 when log,
 * 0 when linear. */
int plot_axis_cmd(const double *v, size_t n, int force_log, char *out, size_t len);

struct plot_opts {
    const char *scripts; /* directory of style.gp and <figure>.gp; NULL: ./plots, else
                            <the binary's directory>/../plots */
    const char *gnuplot; /* NULL: "gnuplot" from PATH */
    int csv_only;        /* write the CSVs only */
    int latex;           /* also DIR/plots/latex/: each figure through gnuplot's cairolatex
                            (<name>-{1,2}col.tex + .pdf, text typeset by LaTeX) and a
                            figures.tex that includes them and compiles alone */
    FILE *notes;         /* one line per figure written or skipped; NULL: silent */
};

/* Every figure of DIR into DIR/plots/. Returns how many figures were drawn
 * (CSVs written with csv_only), or -1 with err naming the first figure that
 * failed (the others are still drawn; gnuplot's messages go to
 * DIR/plots/<name>.log). */
int plot_run(const char *dir, const struct plot_opts *o, char *err, size_t errlen);

#endif
