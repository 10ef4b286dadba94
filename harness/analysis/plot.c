/*
 * plot.c — `bypassbench plot DIR` (see plot.h).
 *
 * plot_run() -> model_load() (model.c: records grouped by workload, driver)
 *   -> per figure: build_<figure>() collects rows (median, interval of the
 *      median and its coverage per cell, model.c) -> place() computes bar/point
 *      positions -> write_csv() -> ci_note() says what the error bars are
 *   -> draw(): panel_axes() picks each panel's y axis (plot_axis_cmd: log past
 *      a decade, exact tick labels), then gnuplot -e "<variables>"
 *      plots/<figure>.gp (plots/nodata.gp for a figure without data), the six
 *      outputs (pdf, svg, png x 1col, 2col; and tex x 2 with --latex, in
 *      plots/latex/, strings plot_latexify()d: plot_latex.c) run in parallel, each checked
 *      non-empty -> with --latex, write_figures_tex().
 *
 * Callers: harness/cli/report.c, harness/analysis/report.c, tests.
 * Calls: model.c, stats.c, units.c, plot_axes.c (the axes), plot_latex.c
 * (--latex), jansson, gnuplot (fork/exec).
 */
#include "harness/analysis/plot.h"

#include "harness/analysis/model.h"
#include "harness/analysis/plot_int.h"
#include "harness/analysis/stats.h"
#include "workloads/units.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_LEN 4096
#define MAXV 16

int plot_driver_lt(const struct run_model *pd, size_t d)
{
    int k = model_known_driver(pd->drivers[d]);
    if (k >= 0) return k + 1;
    int other = 0;
    for (size_t i = 0; i < d; i++)
        other += model_known_driver(pd->drivers[i]) < 0;
    return 10 + other % 3; /* after the 9 known drivers' (plots/style.gp) */
}

/* ---------------------------------------------------------------- figures */

/* gnuplot strings and CSV cells: names never need quoting once these go. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\'' || *s == '\\' || *s == ',' || *s == '\n' || *s == '\r')
            *s = '_';
}

struct row {
    char label[96];
    size_t d, cat; /* driver, category (bar cluster or point column) */
    double x, x2;  /* position; x2: the cycles figure's whole-system bar */
    double v[MAXV];
    /* The row's intervals: lowest and highest coverage and their n (NAN, 0
     * when none); none: a cell with one repeat, which has no interval. */
    double lmin, lmax;
    size_t nlo, nhi;
    int none;
};

struct fig {
    const struct run_model *pd;
    struct row rows[MODEL_MAX_WORKLOADS * 8];
    size_t n, ncat;
    char catlabel[MODEL_MAX_WORKLOADS * 4][64];
    int kind; /* K_LINES: x given; K_BARS: clusters; K_POINTS: categories, dodged */
    int has_x2, has_poll;
    double bw, xmin, xmax;
    char xtics[8192];
    char xcmd[2048];  /* a figure whose x axis plot.c chooses (set xrange, xtics) */
    double target_us; /* the sweeps' p99 target (env.json p99_target_ns), µs */
    FILE *notes;
};

enum { K_LINES, K_BARS, K_POINTS };

static struct row *add_row(struct fig *f, size_t d, size_t cat, const char *label)
{
    if (f->n >= sizeof f->rows / sizeof f->rows[0]) return NULL;
    struct row *r = &f->rows[f->n++];
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < MAXV; i++)
        r->v[i] = NAN;
    r->lmin = r->lmax = NAN;
    r->d = d;
    r->cat = cat;
    snprintf(r->label, sizeof r->label, "%s", label);
    return r;
}

/* Keeps the coverage of a cell's interval for the row's ci_level and the note. */
static void note_level(struct row *r, const struct cell_stat *st)
{
    if (!isfinite(st->level)) {
        r->none |= st->n == 1;
        return;
    }
    if (!isfinite(r->lmin) || st->level < r->lmin) r->lmin = st->level;
    if (!isfinite(r->lmax) || st->level > r->lmax) r->lmax = st->level;
    if (!r->nlo || st->n < r->nlo) r->nlo = st->n;
    if (st->n > r->nhi) r->nhi = st->n;
}

/* Median and interval (NAN, NAN with one repeat: the scripts draw no bar). */
static void put_stat(struct row *r, size_t at, const struct cell_stat *st)
{
    r->v[at] = st->median;
    r->v[at + 1] = st->lo;
    r->v[at + 2] = st->hi;
    note_level(r, st);
}

static const char *mode_of(const struct run_model *pd, size_t w)
{
    const char *m = model_str(pd->specs[w], "mode");
    return m ? m : "";
}

/* /bytes/N -> N in bytes and its text ("1k"); -1 otherwise. */
static int bytes_path(const struct run_model *pd, size_t w, uint64_t *size, const char **text)
{
    const char *p = model_str(pd->specs[w], "path");
    if (!p || strncmp(p, "/bytes/", 7) != 0 || units_parse_size(p + 7, size) < 0) return -1;
    if (text) *text = p + 7;
    return 0;
}

static size_t new_cat(struct fig *f, const char *label)
{
    if (f->ncat >= sizeof f->catlabel / sizeof f->catlabel[0]) return f->ncat - 1;
    snprintf(f->catlabel[f->ncat], sizeof f->catlabel[0], "%s", label);
    return f->ncat++;
}

/* The first sweep family in run order: the one the loadlat figure draws. */
static const char *first_sweep(const struct run_model *pd)
{
    for (size_t w = 0; w < pd->nw; w++) {
        const char *s = model_str(pd->specs[w], "sweep");
        if (s) return s;
    }
    return NULL;
}

/* Closed loop, no pipelining, GET /bytes/N, not a sweep point: size = N. */
static int throughput_candidate(const struct run_model *pd, size_t w, uint64_t *size)
{
    return strcmp(mode_of(pd, w), "closed") == 0 &&
           json_integer_value(json_object_get(pd->specs[w], "pipeline")) <= 1 &&
           !model_str(pd->specs[w], "sweep") && bytes_path(pd, w, size, NULL) == 0;
}

/* Which workloads each figure draws: the one rule the builders select by and
 * the report's "Rests on" counts by (plot.h). */
int plot_figure_uses(const char *name, const struct run_model *pd, size_t w)
{
    const char *mode = mode_of(pd, w), *sweep = model_str(pd->specs[w], "sweep");
    if (strcmp(name, "loadlat") == 0) return sweep && strcmp(sweep, first_sweep(pd)) == 0;
    if (sweep) return 0; /* sweep points are drawn in loadlat only */
    if (strcmp(name, "throughput") == 0) {
        uint64_t size, other;
        if (!throughput_candidate(pd, w, &size)) return 0;
        for (size_t v = 0; v < w; v++) /* one workload per size: the first */
            if (throughput_candidate(pd, v, &other) && other == size) return 0;
        return 1;
    }
    if (strcmp(name, "cycles") == 0)
        return strcmp(mode, "closed") == 0 || strcmp(mode, "cps") == 0;
    if (strcmp(name, "latency") == 0) return strcmp(mode, "open") == 0;
    if (strcmp(name, "cps") == 0) return strcmp(mode, "cps") == 0;
    if (strcmp(name, "download") == 0) return strcmp(mode, "download") == 0;
    if (strcmp(name, "overhead") == 0) return strcmp(mode, "download") != 0;
    return 0;
}

static void build_throughput(struct fig *f)
{
    const struct run_model *pd = f->pd;
    size_t nseen = 0;
    f->kind = K_LINES;
    f->xmin = INFINITY, f->xmax = 0;
    for (size_t w = 0; w < pd->nw; w++) {
        uint64_t size;
        const char *text;
        if (!throughput_candidate(pd, w, &size)) continue;
        bytes_path(pd, w, &size, &text);
        if (!plot_figure_uses("throughput", pd, w)) {
            if (f->notes)
                fprintf(f->notes,
                        "plot: throughput: %s left out (another workload already has %s)\n",
                        pd->workloads[w], text);
            continue;
        }
        int any = 0;
        for (size_t d = 0; d < pd->nd; d++) {
            struct cell_stat rps, gb;
            model_cell_stat(pd, w, d, "rps", &rps);
            model_cell_stat(pd, w, d, "gbps", &gb);
            if (rps.n == 0) continue;
            struct row *r = add_row(f, d, 0, pd->workloads[w]);
            if (!r) return;
            r->x = (double)size;
            put_stat(r, 0, &rps);
            put_stat(r, 3, &gb);
            r->v[6] = (double)rps.n;
            r->v[7] = rps.min, r->v[8] = rps.max, r->v[9] = gb.min, r->v[10] = gb.max;
            any = 1;
        }
        if (!any) continue;
        nseen++;
        size_t len = strlen(f->xtics);
        char tic[64];
        snprintf(tic, sizeof tic, "%s", text);
        sanitize(tic);
        snprintf(f->xtics + len, sizeof f->xtics - len, "%s\"%s\" %llu", nseen > 1 ? ", " : "(",
                 tic, (unsigned long long)size);
        f->xmin = fmin(f->xmin, (double)size / 1.6);
        f->xmax = fmax(f->xmax, (double)size * 1.6);
    }
    if (nseen) snprintf(f->xtics + strlen(f->xtics), sizeof f->xtics - strlen(f->xtics), ")");
    /* A driver's points in consecutive rows, by size: gnuplot joins them into
     * one line (another driver's row between two points would break it). */
    for (size_t i = 1; i < f->n; i++)
        for (size_t j = i; j > 0; j--) {
            struct row *a = &f->rows[j - 1], *b = &f->rows[j];
            if (a->d < b->d || (a->d == b->d && a->x <= b->x)) break;
            struct row t = *a;
            *a = *b, *b = t;
        }
}

/* Per-workload bars of the named metrics (3 columns each), for the
 * workloads figure `name` uses (plot_figure_uses). */
static void build_bars(struct fig *f, const char *name, const char *const *metrics, size_t nm)
{
    const struct run_model *pd = f->pd;
    f->kind = K_BARS;
    for (size_t w = 0; w < pd->nw; w++) {
        if (!plot_figure_uses(name, pd, w)) continue;
        size_t cat = (size_t)-1;
        for (size_t d = 0; d < pd->nd; d++) {
            struct cell_stat st[4];
            int any = 0;
            for (size_t m = 0; m < nm; m++) {
                model_cell_stat(pd, w, d, metrics[m], &st[m]);
                any |= st[m].n > 0;
            }
            if (!any) continue;
            if (cat == (size_t)-1) cat = new_cat(f, pd->workloads[w]);
            struct row *r = add_row(f, d, cat, pd->workloads[w]);
            if (!r) return;
            size_t n = 0;
            for (size_t m = 0; m < nm; m++) {
                put_stat(r, 3 * m, &st[m]);
                n = st[m].n > n ? st[m].n : n;
            }
            r->v[3 * nm] = (double)n;
        }
    }
}

static void build_cps(struct fig *f)
{
    static const char *const m[] = {"cps"};
    build_bars(f, "cps", m, 1);
}

static void build_overhead(struct fig *f)
{
    static const char *const m[] = {"ctx_switches_per_request", "net_rx_softirqs_per_request",
                                    "net_tx_softirqs_per_request", "syscalls_per_request"};
    build_bars(f, "overhead", m, 4);
}

static void build_download(struct fig *f)
{
    static const char *const m[] = {"download_s", "gbps"};
    build_bars(f, "download", m, 2);
    for (size_t c = 0; c < f->ncat; c++) { /* label the clusters by file size */
        int w = model_workload_index(f->pd, f->catlabel[c]);
        uint64_t size;
        char buf[32];
        if (w >= 0 && bytes_path(f->pd, (size_t)w, &size, NULL) == 0)
            snprintf(f->catlabel[c], sizeof f->catlabel[0], "%s",
                     units_format_size(size, buf, sizeof buf));
    }
    for (size_t i = 0; i < f->n; i++) {
        int w = model_workload_index(f->pd, f->rows[i].label);
        uint64_t size;
        if (w >= 0 && bytes_path(f->pd, (size_t)w, &size, NULL) == 0)
            f->rows[i].v[7] = (double)size;
    }
}

static void build_cycles(struct fig *f)
{
    /* Capacity workloads only: at a fixed open-loop rate (and over a single
     * download) a polling core's cycles measure the rate, not the cost. */
    static const char *const m[] = {"dut_cycles_per_request", "system_cycles_per_request",
                                    "dut_cycles_per_packet", "system_cycles_per_packet"};
    build_bars(f, "cycles", m, 4);
    f->has_x2 = 1;
    for (size_t i = 0; i < f->n; i++) { /* reorder: dut(3) work sys(3), twice */
        struct row *r = &f->rows[i];
        double v[MAXV];
        memcpy(v, r->v, sizeof v);
        int w = model_workload_index(f->pd, r->label);
        struct cell_stat pf = {0};
        if (w >= 0) model_cell_stat(f->pd, (size_t)w, r->d, "poll_work_fraction", &pf);
        double frac = pf.n ? pf.median : 1.0;
        f->has_poll |= pf.n > 0;
        for (size_t k = 0; k < MAXV; k++)
            r->v[k] = NAN;
        for (int half = 0; half < 2; half++) {
            const double *src = v + 6 * half;
            double *dst = r->v + 7 * half;
            dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
            dst[3] = src[0] * frac;
            dst[4] = src[3], dst[5] = src[4], dst[6] = src[5];
        }
    }
}

static void build_latency(struct fig *f)
{
    static const char *const key[] = {"lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns"};
    static const char *const name[] = {"p50", "p90", "p99", "p99.9"};
    const struct run_model *pd = f->pd;
    size_t nopen = 0;
    f->kind = K_POINTS;
    for (size_t w = 0; w < pd->nw; w++)
        nopen += (size_t)plot_figure_uses("latency", pd, w);
    for (size_t w = 0; w < pd->nw; w++) {
        if (!plot_figure_uses("latency", pd, w)) continue;
        size_t have = 0;
        for (size_t d = 0; d < pd->nd; d++) {
            struct cell_stat st;
            model_cell_stat(pd, w, d, key[0], &st);
            have += st.n > 0;
        }
        if (!have) continue;
        if (f->ncat) new_cat(f, ""); /* a gap between workloads */
        size_t cat0 = f->ncat;
        for (size_t p = 0; p < 4; p++) {
            char label[96];
            if (nopen > 1)
                snprintf(label, sizeof label, "%s %s", pd->workloads[w], name[p]);
            else
                snprintf(label, sizeof label, "%s", name[p]);
            new_cat(f, label);
        }
        /* A driver's percentiles in consecutive rows: gnuplot draws them as one line. */
        for (size_t d = 0; d < pd->nd; d++) {
            for (size_t p = 0; p < 4; p++) {
                struct cell_stat st;
                model_cell_stat(pd, w, d, key[p], &st);
                if (st.n == 0) continue;
                struct row *r = add_row(f, d, cat0 + p, pd->workloads[w]);
                if (!r) return;
                r->v[0] = st.median / 1e3, r->v[1] = st.lo / 1e3, r->v[2] = st.hi / 1e3;
                note_level(r, &st);
                r->v[3] = (double)st.n;
            }
        }
    }
}

/* A figure's panels: each panel's y axis spans the v[] columns listed (a
 * median and its interval's ends), -1 ends a list. */
#define MAXP 6
#define PCOLS 8
/* Latency against offered load: the first sweep's points (workload.sweep,
 * set by `run` for capacity/loads workloads), per driver and percentile (p50,
 * p99, p99.9), by offered rate. Rows in (driver, percentile, rate) order so
 * gnuplot joins each into a line; v: latency µs, lo, hi, percentile 1..3,
 * load share, n. */
static void build_loadlat(struct fig *f)
{
    static const char *const key[] = {"lat_p50_ns", "lat_p99_ns", "lat_p999_ns"};
    const struct run_model *pd = f->pd;
    const char *family = first_sweep(pd);
    f->kind = K_LINES;
    if (!family) return;
    for (size_t w = 0; w < pd->nw; w++) {
        const char *s = model_str(pd->specs[w], "sweep");
        if (s && strcmp(s, family) != 0 && f->notes)
            fprintf(f->notes, "plot: loadlat: %s left out (only the first sweep, %s, is drawn)\n",
                    pd->workloads[w], family);
    }
    double xs[MODEL_MAX_WORKLOADS * 8];
    size_t nx = 0;
    for (size_t d = 0; d < pd->nd; d++)
        for (size_t p = 0; p < 3; p++) {
            size_t first = f->n;
            for (size_t w = 0; w < pd->nw; w++) {
                if (!plot_figure_uses("loadlat", pd, w)) continue;
                struct cell_stat st, off, ld;
                model_cell_stat(pd, w, d, key[p], &st);
                model_cell_stat(pd, w, d, "offered_rps", &off);
                model_cell_stat(pd, w, d, "load", &ld);
                if (st.n == 0 || off.n == 0) continue;
                struct row *r = add_row(f, d, p, pd->workloads[w]);
                if (!r) return;
                r->x = off.median;
                r->v[0] = st.median / 1e3, r->v[1] = st.lo / 1e3, r->v[2] = st.hi / 1e3;
                r->v[3] = (double)(p + 1);
                r->v[4] = ld.median;
                r->v[5] = (double)st.n;
                note_level(r, &st);
                if (nx < sizeof xs / sizeof xs[0]) xs[nx++] = off.median;
                /* by offered rate within the (driver, percentile) run */
                for (size_t j = f->n - 1; j > first && f->rows[j - 1].x > f->rows[j].x; j--) {
                    struct row t = f->rows[j - 1];
                    f->rows[j - 1] = f->rows[j], f->rows[j] = t;
                }
            }
        }
    if (f->n) plot_axis_x(xs, nx, f->xcmd, sizeof f->xcmd);
    double t = pd->env ? json_number_value(json_object_get(pd->env, "p99_target_ns")) : 0;
    f->target_us = (t > 0 ? t : 1e6) / 1e3;
}

static const struct figure {
    const char *name, *caption, *empty, *header;
    void (*build)(struct fig *f);
    signed char panel[MAXP][PCOLS];
    int ylog; /* log y axes whatever the span (latency) */
} figures[] = {
    {"throughput",
     "Throughput (req/s and Gbit/s) vs response size, per driver",
     "no closed-loop keep-alive /bytes/N trials",
     "rps,rps_lo,rps_hi,gbps,gbps_lo,gbps_hi,n,rps_min,rps_max,gbps_min,gbps_max", /* x: bytes */
     build_throughput,
     {{0, 1, 2, -1}, {3, 4, 5, -1}, {-1}},
     0},
    {"cycles",
     "CPU cycles per request and per packet: DUT core (solid) and whole system (hatched)",
     "no trials with CPU accounting",
     "x_sys,dut_cycles_per_request,lo,hi,dut_work_cycles_per_request,system_cycles_per_request,"
     "lo,hi,dut_cycles_per_packet,lo,hi,dut_work_cycles_per_packet,system_cycles_per_packet,lo,hi",
     build_cycles,
     {{0, 1, 2, 3, 4, 5, 6, -1}, {7, 8, 9, 10, 11, 12, 13, -1}, {-1}},
     0},
    {"latency",
     "Latency percentiles of the open-loop trials (log axis)",
     "no fixed-rate open-loop trials",
     "latency_us,lo,hi,n",
     build_latency,
     {{0, 1, 2, -1}, {-1}},
     1},
    {"cps",
     "Connections per second, per driver",
     "no cps trials",
     "cps,lo,hi,n",
     build_cps,
     {{0, 1, 2, -1}, {-1}},
     0},
    {"download",
     "Download time and Gbit/s, per driver",
     "no download trials",
     "download_s,lo,hi,gbps,lo,hi,n,size_bytes",
     build_download,
     {{0, 1, 2, -1}, {3, 4, 5, -1}, {-1}},
     0},
    {"overhead",
     "Overhead per request: context switches, NET_RX and NET_TX softirqs (whole system), "
     "system calls the DUT's code issues (our server, or the client where it is the DUT)",
     "no trials with overhead counters",
     "ctx_switches_per_request,lo,hi,net_rx_softirqs_per_request,lo,hi,"
     "net_tx_softirqs_per_request,lo,hi,syscalls_per_request,lo,hi,n",
     build_overhead,
     {{0, 1, 2, -1}, {3, 4, 5, -1}, {6, 7, 8, -1}, {9, 10, 11, -1}, {-1}},
     0},
    {"loadlat",
     "Latency against offered load (open loop from the intended send time): p50, p99, p99.9 "
     "per driver",
     "no load sweep (a workload with capacity and loads)",
     "latency_us,lo,hi,pct,load,n",
     build_loadlat,
     {{0, 1, 2, -1}, {-1}},
     1},
};
#define NFIGURES (sizeof figures / sizeof figures[0])

const char *plot_figure_name(size_t i)
{
    return i < NFIGURES ? figures[i].name : NULL;
}

const char *plot_figure_caption(size_t i)
{
    return i < NFIGURES ? figures[i].caption : NULL;
}

/* Figure-local driver indices (1..nu) and the positions of bars and points. */
static void place(struct fig *f, int *di, size_t *nu)
{
    *nu = 0;
    for (size_t d = 0; d < f->pd->nd; d++) {
        di[d] = 0;
        for (size_t i = 0; i < f->n && !di[d]; i++)
            if (f->rows[i].d == d) di[d] = (int)++*nu;
    }
    if (f->kind == K_LINES) return;
    double slot = f->kind == K_BARS ? 0.8 / (double)*nu : 0.08;
    f->bw = f->has_x2 ? slot * 0.45 : slot * 0.9;
    for (size_t i = 0; i < f->n; i++) {
        struct row *r = &f->rows[i];
        double c = (double)r->cat + ((double)di[r->d] - 1 - ((double)*nu - 1) / 2) * slot;
        r->x = f->has_x2 ? c - slot / 4 : c;
        r->x2 = c + slot / 4;
    }
    f->xmin = -0.6;
    f->xmax = (double)f->ncat - 0.4;
    size_t chars = 0;
    for (size_t c = 0; c < f->ncat; c++) {
        sanitize(f->catlabel[c]);
        chars += strlen(f->catlabel[c]) + 1;
    }
    /* Long category names would run into each other: slant them. */
    snprintf(f->xtics, sizeof f->xtics, "%s", chars > 24 ? "rotate by 30 right " : "");
    snprintf(f->xtics + strlen(f->xtics), sizeof f->xtics - strlen(f->xtics), "(");
    for (size_t c = 0; c < f->ncat; c++) {
        size_t len = strlen(f->xtics);
        snprintf(f->xtics + len, sizeof f->xtics - len, "%s\"%s\" %zu", c ? ", " : "",
                 f->catlabel[c], c);
    }
    snprintf(f->xtics + strlen(f->xtics), sizeof f->xtics - strlen(f->xtics), ")");
}

/* What the error bars of a figure are, for its caption: "error bars:
 * order-statistic interval of the median, exactly 96.9% at n = 6", or
 * "coverage ≥ 93.8% (n = 5–6)" when cells differ, "; none where n = 1" for
 * single repeats, or "no error bars: 1 repeat, no interval of the median". */
static void ci_note(const struct fig *f, char *buf, size_t len)
{
    double lmin = NAN, lmax = NAN;
    size_t nlo = 0, nhi = 0;
    int none = 0;
    char a[32];
    for (size_t i = 0; i < f->n; i++) {
        const struct row *r = &f->rows[i];
        none |= r->none;
        if (!isfinite(r->lmin)) continue;
        if (!isfinite(lmin) || r->lmin < lmin) lmin = r->lmin;
        if (!isfinite(lmax) || r->lmax > lmax) lmax = r->lmax;
        if (!nlo || r->nlo < nlo) nlo = r->nlo;
        if (r->nhi > nhi) nhi = r->nhi;
    }
    if (!isfinite(lmin)) {
        snprintf(buf, len, "no error bars: 1 repeat, no interval of the median");
        return;
    }
    stats_level_text(lmin, a, sizeof a);
    if (nlo == nhi && lmin == lmax)
        snprintf(buf, len,
                 "error bars: order-statistic interval of the median, exactly %s at n = %zu", a,
                 nlo);
    else
        snprintf(buf, len,
                 "error bars: order-statistic interval of the median, coverage ≥ %s (n = %zu–%zu)",
                 a, nlo, nhi);
    if (none) snprintf(buf + strlen(buf), len - strlen(buf), "; none where n = 1");
}

/* Which side was the DUT in the figure's rows, after its note: "; DUT:
 * client" when every row's workload had the client as the DUT (dut =
 * client), "; DUT: server or client" when they differ (REPORT.md says which
 * where), and nothing when the server was (as in every run before the key). */
static void dut_note(const struct fig *f, char *buf, size_t len)
{
    size_t client = 0, known = 0;
    for (size_t i = 0; i < f->n; i++) {
        int w = model_workload_index(f->pd, f->rows[i].label);
        if (w < 0) continue;
        const char *d = model_str(f->pd->specs[w], "dut");
        known++;
        client += d && strcmp(d, "client") == 0;
    }
    buf[0] = '\0';
    if (client && client == known)
        snprintf(buf, len, "; DUT: client");
    else if (client)
        snprintf(buf, len, "; DUT: server or client");
}

static void cell(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, ",%.10g", x);
    else
        fputs(",", out);
}

static int write_csv(const char *path, const struct figure *fg, struct fig *f, const int *di,
                     char *err, size_t errlen)
{
    char tmp[PATH_LEN + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    size_t ncols = 1;
    for (const char *p = fg->header; *p; p++)
        ncols += *p == ',';
    ncols -= (size_t)f->has_x2;
    fprintf(out, "label,driver,di,lt,x,%s,ci_level\n", fg->header);
    for (size_t i = 0; i < f->n; i++) {
        struct row *r = &f->rows[i];
        char drv[64];
        snprintf(drv, sizeof drv, "%s", f->pd->drivers[r->d]);
        sanitize(drv);
        sanitize(r->label);
        fprintf(out, "%s,%s,%d,%d", r->label, drv, di[r->d], plot_driver_lt(f->pd, r->d));
        cell(out, r->x);
        if (f->has_x2) cell(out, r->x2);
        for (size_t k = 0; k < ncols && k < MAXV; k++)
            cell(out, r->v[k]);
        cell(out, r->lmin); /* the lowest coverage among the row's intervals */
        fputc('\n', out);
    }
    int bad = ferror(out) != 0;
    bad |= fclose(out) != 0;
    if (bad || rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- gnuplot */

static int file_size_ok(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

static int find_scripts(const struct plot_opts *o, char *out, size_t len)
{
    char probe[PATH_LEN + 32];
    if (o && o->scripts) {
        snprintf(out, len, "%s", o->scripts);
        return 0;
    }
    if (access("plots/style.gp", R_OK) == 0) {
        snprintf(out, len, "plots");
        return 0;
    }
    char exe[PATH_LEN];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(probe, sizeof probe, "%s/../plots/style.gp", exe);
        if (access(probe, R_OK) == 0) {
            snprintf(out, len, "%s/../plots", exe);
            return 0;
        }
    }
    return -1;
}

static pid_t spawn_gnuplot(const char *gnuplot, const char *vars, const char *script,
                           const char *log, const char *cwd)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (cwd && chdir(cwd) < 0) { /* cairolatex names its graphics file as given: relative */
        dprintf(2, "cannot enter %s: %s\n", cwd, strerror(errno));
        _exit(126);
    }
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null = open("/dev/null", O_RDWR);
    if (fd >= 0) dup2(fd, 2);
    if (null >= 0) dup2(null, 1), dup2(null, 0);
    execlp(gnuplot, gnuplot, "-e", vars, script, (char *)NULL);
    dprintf(2, "cannot run %s: %s (Debian package gnuplot-nox)\n", gnuplot, strerror(errno));
    _exit(127);
}

/* Per panel of a figure: its axis command and whether any row has a value. */
static void panel_axes(const struct figure *fg, const struct fig *f, char cmd[][2048], int *have,
                       size_t *np)
{
    static double v[MODEL_MAX_WORKLOADS * 8 * PCOLS];
    for (*np = 0; *np < MAXP && fg->panel[*np][0] >= 0; (*np)++) {
        size_t n = 0;
        have[*np] = 0;
        for (size_t i = 0; i < f->n; i++)
            for (size_t k = 0; k < PCOLS && fg->panel[*np][k] >= 0; k++) {
                double x = f->rows[i].v[fg->panel[*np][k]];
                v[n++] = x;
                have[*np] |= k == 0 && isfinite(x);
            }
        plot_axis_cmd(v, n, fg->ylog, cmd[*np], sizeof cmd[0]);
    }
}

static const char *const formats[] = {"pdf", "svg", "png", "tex"};

static int draw(const char *pdir, const char *scripts, const char *gnuplot, const struct figure *fg,
                const struct fig *f, size_t nu, const char *csv, const char *note,
                const char *latex_dir, char *err, size_t errlen)
{
    char drivers[1024] = "", lts[256] = "", log[PATH_LEN + 64], script[PATH_LEN + 64];
    char style[PATH_LEN + 64], out[8][PATH_LEN + 64], path[PATH_LEN + 128];
    static char vars[8][16384];
    pid_t pid[8];
    size_t nout = latex_dir ? 8 : 6; /* pdf, svg, png (and tex) x 1col, 2col */
    size_t listed = 0;               /* drivers with rows, in pd order: their di is 1..nu */
    for (size_t d = 0; d < f->pd->nd; d++) {
        int used = 0;
        for (size_t i = 0; i < f->n && !used; i++)
            used = f->rows[i].d == d;
        if (!used) continue;
        char name[64];
        snprintf(name, sizeof name, "%s", f->pd->drivers[d]);
        sanitize(name);
        for (char *p = name; *p; p++)
            if (*p == ' ') *p = '_';
        size_t a = strlen(drivers), b = strlen(lts);
        snprintf(drivers + a, sizeof drivers - a, "%s%s", listed ? " " : "", name);
        snprintf(lts + b, sizeof lts - b, "%s%d", listed ? " " : "", plot_driver_lt(f->pd, d));
        listed++;
    }
    /* No row at all: plots/nodata.gp draws an empty plot area saying why. */
    snprintf(script, sizeof script, "%s/%s.gp", scripts, f->n ? fg->name : "nodata");
    snprintf(style, sizeof style, "%s/style.gp", scripts);
    snprintf(log, sizeof log, "%s/%s.log", pdir, fg->name);
    unlink(log);
    if (access(script, R_OK) < 0) {
        snprintf(err, errlen, "%s: %s", script, strerror(errno));
        return -1;
    }
    /* Per panel: its y axis (scale, range, exact ticks) and whether it has data. */
    char have[64] = "";
    static char ycmd[MAXP][2048];
    int hv[MAXP];
    size_t np;
    panel_axes(fg, f, ycmd, hv, &np);
    for (size_t g = 0; g < np; g++)
        snprintf(have + strlen(have), sizeof have - strlen(have), "%s%d", g ? " " : "", hv[g]);
    size_t keylen = 0;
    for (const char *p = drivers; *p;) {
        size_t w = strcspn(p, " ");
        keylen = w > keylen ? w : keylen;
        p += w + (p[w] == ' ');
    }
    /* cairolatex hands every text to LaTeX: the same strings, escaped for it. */
    static char tdrivers[2048], tnote[512], tempty[256], txtics[8192], txcmd[2048],
        tycmd[MAXP][2048];
    plot_latexify(drivers, tdrivers, sizeof tdrivers, 0);
    plot_latexify(note, tnote, sizeof tnote, 0);
    plot_latexify(fg->empty, tempty, sizeof tempty, 0);
    plot_latexify(f->xtics, txtics, sizeof txtics, 1);
    plot_latexify(f->xcmd, txcmd, sizeof txcmd, 1);
    for (size_t g = 0; g < np; g++)
        plot_latexify(ycmd[g], tycmd[g], sizeof tycmd[g], 1);
    for (size_t i = 0; i < nout; i++) {
        int cols = i % 2 ? 2 : 1;
        const char *fmt = formats[i / 2];
        int tex = strcmp(fmt, "tex") == 0;
        if (tex) /* relative: the .tex names its graphics file as gnuplot was told */
            snprintf(out[i], sizeof out[i], "%s-%dcol.tex", fg->name, cols);
        else
            snprintf(out[i], sizeof out[i], "%s/%s-%dcol.%s", pdir, fg->name, cols, fmt);
        snprintf(path, sizeof path, "%s/%s", tex ? latex_dir : "", out[i]);
        unlink(tex ? path : out[i]);
        int n = snprintf(vars[i], sizeof vars[i],
                         "datafile='%s'; outfile='%s'; fmt='%s'; cols=%d; stylefile='%s'; "
                         "drivers='%s'; lts='%s'; nd=%zu; bw=%.6g; has_poll=%d; have='%s'; "
                         "np=%zu; keylen=%zu; ci_note='%s'; nodata_msg='no data: %s'",
                         csv, out[i], fmt, cols, style, tex ? tdrivers : drivers, lts, nu,
                         f->bw > 0 ? f->bw : 0.3, f->has_poll, have, np, keylen, tex ? tnote : note,
                         tex ? tempty : fg->empty);
        for (size_t g = 0; g < np; g++)
            n += snprintf(vars[i] + n, sizeof vars[i] - (size_t)n, "; ycmd%zu='%s'", g + 1,
                          tex ? tycmd[g] : ycmd[g]);
        if (f->xtics[0])
            n += snprintf(vars[i] + n, sizeof vars[i] - (size_t)n,
                          "; xtics_cmd='set xtics noenhanced %s'", tex ? txtics : f->xtics);
        if (f->xcmd[0])
            n += snprintf(vars[i] + n, sizeof vars[i] - (size_t)n, "; xcmd='%s'; target_us=%.10g",
                          tex ? txcmd : f->xcmd, f->target_us);
        if (f->xmax > f->xmin)
            n += snprintf(vars[i] + n, sizeof vars[i] - (size_t)n, "; xmin=%.10g; xmax=%.10g",
                          f->xmin, f->xmax);
        if ((size_t)n >= sizeof vars[i]) {
            snprintf(err, errlen, "%s: too many categories for gnuplot's command line", fg->name);
            return -1;
        }
    }
    for (size_t i = 0; i < nout; i++)
        pid[i] = spawn_gnuplot(gnuplot, vars[i], script, log, i >= 6 ? latex_dir : NULL);
    int rc = 0;
    for (size_t i = 0; i < nout; i++) {
        int st = 0;
        if (i >= 6) {
            snprintf(path, sizeof path, "%s/%s", latex_dir, out[i]);
        } else {
            snprintf(path, sizeof path, "%s", out[i]);
        }
        if (pid[i] < 0 || waitpid(pid[i], &st, 0) < 0) st = -1;
        if (rc == 0 && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
            snprintf(err, errlen, "%s: gnuplot failed%s (see %s)", path,
                     WIFEXITED(st) && WEXITSTATUS(st) == 127 ? ": gnuplot not found" : "", log);
            rc = -1;
        } else if (rc == 0 && !file_size_ok(path)) {
            snprintf(err, errlen, "%s: gnuplot wrote nothing (see %s)", path, log);
            rc = -1;
        }
    }
    return rc;
}

int plot_run(const char *dir, const struct plot_opts *o, char *err, size_t errlen)
{
    struct run_model pd;
    char pdir[PATH_LEN + 16], scripts[PATH_LEN], csv[PATH_LEN + 64], e[1024];
    const char *gnuplot = o && o->gnuplot ? o->gnuplot : "gnuplot";
    FILE *notes = o ? o->notes : NULL;
    int csv_only = o && o->csv_only;
    if (strchr(dir, '\'')) {
        snprintf(err, errlen, "%s: a quote in the path (gnuplot cannot take it)", dir);
        return -1;
    }
    if (!csv_only && find_scripts(o, scripts, sizeof scripts) < 0) {
        snprintf(err, errlen,
                 "cannot find the gnuplot scripts (plots/style.gp): run from the "
                 "source tree or give --scripts DIR");
        return -1;
    }
    if (model_load(dir, &pd, err, errlen) < 0) return -1;
    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    if (mkdir(pdir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", pdir, strerror(errno));
        model_free(&pd);
        return -1;
    }
    /* LaTeX: gnuplot runs in plots/latex/ (cairolatex writes the graphics
     * name as given), so every other path it reads is made absolute. */
    char latex_dir[PATH_LEN + 32] = "", abs[PATH_LEN];
    int latex = o && o->latex && !csv_only;
    if (latex) {
        if (!realpath(pdir, abs) || strlen(abs) >= sizeof pdir) {
            snprintf(err, errlen, "%s: %s", pdir, strerror(errno));
            model_free(&pd);
            return -1;
        }
        snprintf(pdir, sizeof pdir, "%s", abs);
        if (realpath(scripts, abs)) snprintf(scripts, sizeof scripts, "%s", abs);
        snprintf(latex_dir, sizeof latex_dir, "%s/latex", pdir);
        if (mkdir(latex_dir, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create directory: %s", latex_dir, strerror(errno));
            model_free(&pd);
            return -1;
        }
    }
    const char *ldir = latex ? latex_dir : NULL;
    int with_data[NFIGURES] = {0};
    struct fig *f = malloc(sizeof *f);
    if (!f) {
        snprintf(err, errlen, "plot: out of memory");
        model_free(&pd);
        return -1;
    }
    int drawn = 0, failed = 0;
    for (size_t i = 0; i < NFIGURES; i++) {
        const struct figure *fg = &figures[i];
        int di[MODEL_MAX_DRIVERS];
        size_t nu;
        memset(f, 0, sizeof *f);
        f->pd = &pd;
        f->notes = notes;
        fg->build(f);
        snprintf(csv, sizeof csv, "%s/%s.csv", pdir, fg->name);
        if (f->n == 0) {
            /* No CSV (the report reads its absence as "no data"); the figure
             * itself says so in its plot area. */
            unlink(csv);
            if (csv_only ||
                draw(pdir, scripts, gnuplot, fg, f, 0, csv, "", ldir, e, sizeof e) < 0) {
                if (notes) fprintf(notes, "plot: %s: skipped (%s)\n", fg->name, fg->empty);
                continue;
            }
            if (notes)
                fprintf(notes, "plot: %s: no data (%s): %s/%s-{1,2}col.{pdf,svg,png} say so\n",
                        fg->name, fg->empty, pdir, fg->name);
            drawn++;
            continue;
        }
        place(f, di, &nu);
        char note[320];
        ci_note(f, note, sizeof note);
        dut_note(f, note + strlen(note), sizeof note - strlen(note));
        int rc = write_csv(csv, fg, f, di, e, sizeof e);
        if (rc == 0 && !csv_only)
            rc = draw(pdir, scripts, gnuplot, fg, f, nu, csv, note, ldir, e, sizeof e);
        if (rc < 0) {
            if (!failed++) snprintf(err, errlen, "%s", e);
            if (notes) fprintf(notes, "plot: %s: FAILED: %s\n", fg->name, e);
            continue;
        }
        drawn++;
        with_data[i] = 1;
        if (notes)
            fprintf(notes, "plot: %s: %zu rows, %zu drivers -> %s/%s-{1,2}col.%s (%s)\n", fg->name,
                    f->n, nu, pdir, fg->name,
                    csv_only ? "csv"
                    : latex  ? "{pdf,svg,png} and latex/*.tex"
                             : "{pdf,svg,png}",
                    note);
    }
    free(f);
    model_free(&pd);
    if (latex && !failed && plot_write_figures_tex(latex_dir, with_data, e, sizeof e) < 0) {
        snprintf(err, errlen, "%s", e);
        return -1;
    }
    if (latex && notes) fprintf(notes, "plot: LaTeX: %s/figures.tex\n", latex_dir);
    return failed ? -1 : drawn;
}
