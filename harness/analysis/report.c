/*
 * report.c — `bypassbench report DIR`: DIR/REPORT.md (see report.h).
 *
 * report_write() -> model_load() (records grouped by workload, driver)
 *   -> header, summary (per workload the best driver, its gain over kernel
 *      with an interval, what limits the claim), environment, method,
 *      per-workload tables (model_cell_stat: median, interval of the median
 *      with its coverage, cv), download table (Table 2 layout), latency
 *      against offered load (the sweep's highest rate under the p99 target),
 *      figures, warnings, every trial -> REPORT.md.tmp -> rename.
 *
 * Callers: harness/cli/report.c, tests. Calls: model.c, plot.c (figure names), units.c, jansson.
 */
#include "harness/analysis/report.h"

#include "harness/analysis/model.h"
#include "harness/analysis/plot.h"
#include "harness/analysis/results.h"
#include "harness/analysis/stats.h"
#include "workloads/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATH_LEN 4096

struct ctx {
    FILE *f;
    const char *dir;
    struct run_model pd;
    double noisy_cv, gen_bound;
};

static const char *str_at(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static double num_at(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Markdown table cells: no pipes or newlines. */
static void md(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

/* ---------------------------------------------------------------- numbers */

enum unit { U_COUNT, U_GBPS, U_NS, U_S, U_PLAIN };

static const char *fmt(double x, enum unit u, char *buf, size_t len)
{
    if (!isfinite(x)) return snprintf(buf, len, "–"), buf;
    switch (u) {
    case U_COUNT:
        return units_format_count(x, buf, len);
    case U_GBPS:
        snprintf(buf, len, "%.3g", x);
        break;
    case U_NS:
        return units_format_ns(x < 0 ? 0 : (uint64_t)x, buf, len);
    case U_S:
        snprintf(buf, len, "%.3g s", x);
        break;
    case U_PLAIN:
        snprintf(buf, len, "%.3g", x);
        break;
    }
    return buf;
}

/* "147k [140k, 150k] 96.9%": the median, the interval of the median and its
 * achieved coverage; the median alone with one repeat (no interval). */
static void stat_cell(FILE *f, const struct cell_stat *st, enum unit u)
{
    char a[32], b[32], c[32], l[32];
    if (st->n == 0) {
        fputs(" – |", f);
        return;
    }
    if (!isfinite(st->level))
        fprintf(f, " %s |", fmt(st->median, u, a, sizeof a));
    else
        fprintf(f, " %s [%s, %s] %s |", fmt(st->median, u, a, sizeof a),
                fmt(st->lo, u, b, sizeof b), fmt(st->hi, u, c, sizeof c),
                stats_level_text(st->level, l, sizeof l));
}

/* "n = 6: [x(1), x(6)] 96.9%", or "n = 1: no interval". */
static void interval_of_n(FILE *f, size_t n)
{
    size_t k;
    char l[32];
    double level = stats_median_ci_level(n, STATS_CI_TARGET, &k);
    if (!k)
        fprintf(f, "n = %zu: no interval", n);
    else
        fprintf(f, "n = %zu: [x(%zu), x(%zu)] %s", n, k, n + 1 - k,
                stats_level_text(level, l, sizeof l));
}

static void ratio_cell(FILE *f, const struct cell_stat *x, const struct cell_stat *base)
{
    if (x->n && base->n && base->median > 0 && isfinite(x->median))
        fprintf(f, " %.2f× |", x->median / base->median);
    else
        fputs(" – |", f);
}

static void cv_cell(FILE *f, const struct cell_stat *st, double noisy)
{
    if (st->n < 2 || !isfinite(st->cv))
        fputs(" – |", f);
    else
        fprintf(f, " %.1f%%%s |", st->cv * 100, st->cv > noisy ? " ⚠" : "");
}

/* ---------------------------------------------------------------- sections */

static const char *mode_of(const struct run_model *pd, size_t w)
{
    const char *m = str_at(pd->specs[w], "mode");
    return m ? m : "";
}

/* Which side was the device under test in workload w: "client" when its
 * records say dut = client (issue 18), else "server" (records from before
 * the key carry none: the server was always the DUT). */
static const char *dut_of(const struct run_model *pd, size_t w)
{
    const char *d = str_at(pd->specs[w], "dut");
    return d && strcmp(d, "client") == 0 ? "client" : "server";
}

static int client_dut(const struct run_model *pd, size_t w)
{
    return strcmp(dut_of(pd, w), "client") == 0;
}

/* The object `key` of the first record of workload w that has one, or NULL
 * ("peer": the fixed server; "app": the stock applications). */
static json_t *wl_record_obj(const struct run_model *pd, size_t w, const char *key)
{
    size_t i;
    json_t *rec;
    json_array_foreach(pd->records, i, rec)
    {
        const char *wn = str_at(json_object_get(rec, "workload"), "name");
        json_t *v = json_object_get(rec, key);
        if (wn && v && strcmp(wn, pd->workloads[w]) == 0) return v;
    }
    return NULL;
}

static json_t *peer_of(const struct run_model *pd, size_t w)
{
    return wl_record_obj(pd, w, "peer");
}

static json_t *app_of(const struct run_model *pd, size_t w)
{
    return wl_record_obj(pd, w, "app");
}

/* A workload with stock applications (issue 17): which server and which
 * generator the figures measured, and where their figures come from. */
static void app_line(FILE *f, json_t *app)
{
    const char *sv = str_at(app, "server"), *gn = str_at(app, "gen");
    fprintf(f, "DUT: **server**: ");
    if (sv && strcmp(sv, "ours") != 0) {
        md(f, sv);
        if (str_at(app, "server_version")) fprintf(f, " ("), md(f, str_at(app, "server_version")), fprintf(f, ")");
        fprintf(f, ", unmodified: on kernel sockets on the kernel rows, under `bypassbench exec` "
                   "(libbbpreload.so) on our stack's");
    } else {
        fprintf(f, "ours (`serve`)");
    }
    fprintf(f, "; generator: ");
    if (gn && strcmp(gn, "ours") != 0) {
        md(f, gn);
        if (str_at(app, "gen_version")) fprintf(f, " ("), md(f, str_at(app, "gen_version")), fprintf(f, ")");
        fprintf(f, " on kernel sockets, its figures parsed from its own output");
        if (str_at(app, "metrics_source")) fprintf(f, " ("), md(f, str_at(app, "metrics_source")), fprintf(f, ")");
    } else {
        fprintf(f, "ours (`load`) on kernel sockets");
    }
    fprintf(f, ". Identity check: ");
    md(f, str_at(app, "identity_check") ? str_at(app, "identity_check") : "?");
    fprintf(f, ".");
}

/* "DUT: client (downloader); fixed server: nginx 1.22.1-9 on kernel sockets
 * (harness/run/nginx.conf ...), pinned to CPU 0", or "DUT: server; ...". */
static void dut_line(FILE *f, const struct run_model *pd, size_t w)
{
    const char *mode = str_at(pd->specs[w], "mode");
    json_t *app = app_of(pd, w);
    if (app && !client_dut(pd, w)) {
        app_line(f, app);
        return;
    }
    if (!client_dut(pd, w)) {
        fprintf(f, "DUT: **server** (each driver serves; the generator is `load` on kernel "
                   "sockets).");
        return;
    }
    json_t *peer = peer_of(pd, w);
    fprintf(f, "DUT: **client (%s)**, each driver running `load`; fixed server: ",
            mode && strcmp(mode, "download") == 0 ? "downloader" : "load generator");
    if (!peer) {
        fprintf(f, "not recorded.");
        return;
    }
    md(f, str_at(peer, "software") ? str_at(peer, "software") : "?");
    if (str_at(peer, "version")) fprintf(f, " "), md(f, str_at(peer, "version"));
    fprintf(f, " on %s sockets in `%s`", str_at(peer, "driver") ? str_at(peer, "driver") : "?",
            str_at(peer, "netns") ? str_at(peer, "netns") : "?");
    if (str_at(peer, "config_source")) fprintf(f, ", configuration `%s`", str_at(peer, "config_source"));
    json_int_t cpu = json_integer_value(json_object_get(peer, "cpu"));
    if (cpu >= 0) fprintf(f, ", pinned to CPU %lld", (long long)cpu);
    fprintf(f, ".");
}

/* The figure that answers a workload: req/s, conn/s or the download time. */
static const char *headline(const char *mode)
{
    if (strcmp(mode, "cps") == 0) return "cps";
    if (strcmp(mode, "download") == 0) return "download_s";
    return "rps";
}

static const char *headline_title(const char *mode)
{
    if (strcmp(mode, "cps") == 0) return "conn/s";
    if (strcmp(mode, "download") == 0) return "download time";
    return "req/s";
}

static const char *mode_title(const char *mode)
{
    if (strcmp(mode, "closed") == 0) return "Closed loop (keep-alive)";
    if (strcmp(mode, "open") == 0) return "Open loop";
    if (strcmp(mode, "cps") == 0) return "One request per connection (cps)";
    if (strcmp(mode, "download") == 0) return "Download";
    return mode;
}

static enum unit headline_unit(const char *mode)
{
    return strcmp(mode, "download") == 0 ? U_S : U_COUNT;
}

static int kernel_index(const struct run_model *pd)
{
    for (size_t d = 0; d < pd->nd; d++)
        if (strcmp(pd->drivers[d], "kernel") == 0) return (int)d;
    return -1;
}

/* A ratio "vs kernel" holds only where only the DUT changed: the row's
 * generator (generator_driver, whatever the link: on the ring link it is our
 * own stack on DPDK in the server's process) must be the kernel row's. 1 when
 * comparable, or when either cell has no trials (its ratio is "–" anyway). */
static int same_generator(const struct run_model *pd, size_t w, size_t d, int k)
{
    if (k < 0 || (int)d == k) return 1;
    if (!model_cell_trials(pd, w, d, NULL) || !model_cell_trials(pd, w, (size_t)k, NULL))
        return 1;
    int md_ = 0, mk = 0;
    const char *gd = model_cell_str(pd, w, d, "generator_driver", &md_);
    const char *gk = model_cell_str(pd, w, (size_t)k, "generator_driver", &mk);
    if (md_ || mk) return 0;
    if (!gd || !gk) return gd == gk;
    return strcmp(gd, gk) == 0;
}

/* Drivers whose generator differs from the kernel row's in some workload. */
static int generator_differs(const struct run_model *pd, size_t d)
{
    int k = kernel_index(pd);
    for (size_t w = 0; w < pd->nw; w++)
        if (!same_generator(pd, w, d, k)) return 1;
    return 0;
}

static const char *cell_gen(const struct run_model *pd, size_t w, size_t d, const char *key)
{
    int mixed = 0;
    const char *s = model_cell_str(pd, w, d, key, &mixed);
    return mixed ? "mixed" : s ? s : "not recorded";
}

/* The note under a table for a row marked †. */
static void gen_note(FILE *f, const struct run_model *pd, size_t w, size_t d, int k)
{
    fprintf(f, "† %s: generator differs (generator driver `%s`, link `%s`; the kernel row's: "
               "`%s`): not comparable to the kernel row; compare whole-system cycles per "
               "request instead.\n",
            pd->drivers[d], cell_gen(pd, w, d, "generator_driver"), cell_gen(pd, w, d, "link"),
            cell_gen(pd, w, (size_t)k, "generator_driver"));
}

static void section_run(struct ctx *c)
{
    FILE *f = c->f;
    size_t i, ok = 0, n = json_array_size(c->pd.records);
    json_t *rec, *first = json_array_get(c->pd.records, 0);
    json_array_foreach(c->pd.records, i, rec) ok +=
        str_at(rec, "status") && strcmp(str_at(rec, "status"), "ok") == 0;
    fprintf(f, "# bypassbench report\n\n");
    fprintf(f, "Results directory: `%s`  \n", c->dir);
    fprintf(f, "Suite: **%s** (hash `%s`)  \n",
            str_at(first, "suite") ? str_at(first, "suite") : "?",
            str_at(first, "suite_hash") ? str_at(first, "suite_hash") : "?");
    fprintf(f, "Trials: %zu (%zu ok, %zu failed) over %zu workloads and %zu drivers (", n, ok,
            n - ok, c->pd.nw, c->pd.nd);
    for (size_t d = 0; d < c->pd.nd; d++)
        fprintf(f, "%s%s", d ? ", " : "", c->pd.drivers[d]);
    fprintf(f, ").  \n");
    size_t ncl = 0;
    for (size_t w = 0; w < c->pd.nw; w++)
        ncl += client_dut(&c->pd, w);
    if (!ncl)
        fprintf(f, "DUT: the **server** in every workload.\n\n");
    else if (ncl == c->pd.nw)
        fprintf(f, "DUT: the **client** in every workload (each driver runs the generator or "
                   "the downloader; the server stays the same).\n\n");
    else
        fprintf(f, "DUT: the server in some workloads, the client in others: each workload's "
                   "table says which.\n\n");
}

/* Did any ok trial of (w, d) find its generator saturated (the record's
 * verdict, or gen_util over the bound)? */
static int cell_gen_bound(struct ctx *c, size_t w, size_t d)
{
    size_t i;
    json_t *rec;
    json_array_foreach(c->pd.records, i, rec)
    {
        const char *wn = str_at(json_object_get(rec, "workload"), "name");
        const char *dn = str_at(rec, "driver"), *st = str_at(rec, "status");
        if (!wn || !dn || !st || strcmp(st, "ok") != 0 || strcmp(wn, c->pd.workloads[w]) != 0 ||
            strcmp(dn, c->pd.drivers[d]) != 0)
            continue;
        json_t *sat = json_object_get(rec, "generator_saturated");
        const char *by = str_at(rec, "generator_saturated_by");
        if (json_is_boolean(sat) && by && strcmp(by, "gen_util") != 0) {
            if (json_is_true(sat)) return 1;
            continue;
        }
        double g = model_record_value(rec, "gen_util");
        if (isfinite(g) && g > c->gen_bound) return 1;
    }
    return 0;
}

/* What limits a claim, by kind, each with the drivers it concerns. */
enum { LIM_GEN, LIM_NOISY, LIM_NOCI, LIM_LOWCI, LIM_FAILED, LIM_N };
struct limits {
    char who[LIM_N][256];
};

static void limit_add(struct limits *lm, int kind, const char *what)
{
    size_t at = strlen(lm->who[kind]);
    snprintf(lm->who[kind] + at, sizeof lm->who[kind] - at, "%s%s", at ? ", " : "", what);
}

/* What limits a claim on (w, d), added to lm. */
static void claim_flags(struct ctx *c, size_t w, size_t d, const struct cell_stat *st,
                        struct limits *lm)
{
    size_t ok, n = model_cell_trials(&c->pd, w, d, &ok);
    char buf[96], l[32];
    const char *name = c->pd.drivers[d];
    if (cell_gen_bound(c, w, d)) limit_add(lm, LIM_GEN, name);
    if (st->n >= 2 && isfinite(st->cv) && st->cv > c->noisy_cv) {
        snprintf(buf, sizeof buf, "%s (CV %.0f%%)", name, st->cv * 100);
        limit_add(lm, LIM_NOISY, buf);
    }
    if (st->n < 2) {
        limit_add(lm, LIM_NOCI, name);
    } else if (isfinite(st->level) && st->level < STATS_CI_TARGET) {
        snprintf(buf, sizeof buf, "%s (%s, n = %zu)", name,
                 stats_level_text(st->level, l, sizeof l), st->n);
        limit_add(lm, LIM_LOWCI, buf);
    }
    if (ok < n) {
        snprintf(buf, sizeof buf, "%s (%zu of %zu)", name, n - ok, n);
        limit_add(lm, LIM_FAILED, buf);
    }
}

static void limits_print(FILE *f, const struct limits *lm, const char *first)
{
    static const char *const title[LIM_N] = {"generator-bound", "noisy", "no interval (1 repeat)",
                                             "interval under 95%", "failed trials"};
    int any = first != NULL;
    if (first) md(f, first);
    for (int i = 0; i < LIM_N; i++) {
        if (!lm->who[i][0]) continue;
        fprintf(f, "%s%s: ", any ? "; " : "", title[i]);
        md(f, lm->who[i]);
        any = 1;
    }
    if (!any) fputs("none", f);
}

struct sweep_best;
static int sweep_best(struct ctx *c, const char *family, size_t d, double target,
                      struct sweep_best *sb);
static void summary_sweep(struct ctx *c);

/* The best cell of workload w by its headline among the drivers ok() lets
 * through (-1: none). */
static int best_driver(const struct run_model *pd, size_t w, const char *h, int lower_better, int k,
                       int comparable_only, struct cell_stat *bs)
{
    int best = -1;
    struct cell_stat st;
    for (size_t d = 0; d < pd->nd; d++) {
        if (comparable_only && (k < 0 || !same_generator(pd, w, d, k))) continue;
        model_cell_stat(pd, w, d, h, &st);
        if (!st.n) continue;
        if (best < 0 || (lower_better ? st.median < bs->median : st.median > bs->median))
            best = (int)d, *bs = st;
    }
    return best;
}

/* One line per workload, the first thing a reader sees: the best driver,
 * the best one whose generator is the kernel row's (so that a ratio holds)
 * with its gain over the kernel and an interval, and what limits the claim.
 * The gain's interval comes from the two intervals of the median: [lo_best /
 * hi_kernel, hi_best / lo_kernel] (for download time, kernel over driver),
 * which holds when both medians' intervals do: coverage at least c_best +
 * c_kernel - 1 (Bonferroni). Sweep points are summed up by the latency
 * under load table instead. */
static void section_summary(struct ctx *c)
{
    FILE *f = c->f;
    const struct run_model *pd = &c->pd;
    int k = kernel_index(pd);
    char a[32], l[32];
    fprintf(f, "## Summary\n\n");
    fprintf(f, "| workload | best driver | its result | best on the kernel's generator: gain over "
               "kernel [interval] | what limits the claim |\n|---|---|---|---|---|\n");
    size_t rows = 0;
    for (size_t w = 0; w < pd->nw; w++) {
        if (str_at(pd->specs[w], "sweep")) continue;
        const char *mode = mode_of(pd, w), *h = headline(mode);
        int lower = strcmp(h, "download_s") == 0;
        struct cell_stat bs = {0}, cs = {0}, ks = {0};
        int best = best_driver(pd, w, h, lower, k, 0, &bs);
        if (best < 0) continue;
        int cmp = best_driver(pd, w, h, lower, k, 1, &cs);
        rows++;
        fprintf(f, "| %s | %s%s | %s%s%s |", pd->workloads[w], pd->drivers[best],
                k >= 0 && !same_generator(pd, w, (size_t)best, k) ? "†" : "",
                fmt(bs.median, headline_unit(mode), a, sizeof a), lower ? "" : " ",
                lower ? "" : headline_title(mode));
        const char *first = NULL;
        struct limits lm;
        memset(&lm, 0, sizeof lm);
        if (k >= 0) model_cell_stat(pd, w, (size_t)k, h, &ks);
        if (k < 0 || !ks.n) {
            fputs(" – (no kernel trials) |", f);
        } else if (cmp == k || cmp < 0) {
            fputs(" kernel: no driver beats it |", f);
        } else {
            double g = lower ? ks.median / cs.median : cs.median / ks.median;
            fprintf(f, " %s %.2f×", pd->drivers[cmp], g);
            if (isfinite(cs.level) && isfinite(ks.level) && cs.lo > 0 && ks.lo > 0) {
                double lo = lower ? ks.lo / cs.hi : cs.lo / ks.hi;
                double hi = lower ? ks.hi / cs.lo : cs.hi / ks.lo;
                double cov = cs.level + ks.level - 1;
                fprintf(f, " [%.2f, %.2f] ≥ %s", lo, hi,
                        stats_level_text(cov > 0 ? cov : 0, l, sizeof l));
                if (lo <= 1 && hi >= 1) first = "the gain's interval holds 1×";
            } else {
                fputs(" (no interval)", f);
            }
            fputs(" |", f);
        }
        claim_flags(c, w, (size_t)best, &bs, &lm);
        if (cmp >= 0 && cmp != best) claim_flags(c, w, (size_t)cmp, &cs, &lm);
        if (k >= 0 && ks.n && k != best && k != cmp) claim_flags(c, w, (size_t)k, &ks, &lm);
        fputc(' ', f);
        limits_print(f, &lm, first);
        fputs(" |\n", f);
    }
    summary_sweep(c);
    if (!rows) fprintf(f, "| – | no ok trials | | | |\n");
    fprintf(f, "\nBest: highest median req/s or conn/s, lowest download time; for a load sweep, "
               "the highest offered rate whose p99 stays under the target. † its generator is "
               "not the kernel row's (on the ring link our stack drives itself), so no ratio to "
               "the kernel holds for it. Gain: the median over the kernel's (download: kernel "
               "time over driver time); its interval comes from the two intervals of the median "
               "and holds with at least the coverage shown. Generator-bound: the DUT may not "
               "have been the bottleneck. Details per workload below.\n\n");
}

/* "bb-dut/bb-dut0: on: rx-checksumming, scatter-gather; off: the rest" per
 * interface of an offloads object (sysinfo_offloads_json). */
static void offloads_line(FILE *f, json_t *o)
{
    const char *ifn, *k;
    json_t *feat, *v;
    int first_if = 1;
    json_object_foreach(o, ifn, feat)
    {
        fprintf(f, "%s%s: ", first_if ? "" : "; ", ifn);
        first_if = 0;
        if (!json_is_object(feat)) {
            md(f, json_string_value(feat) ? json_string_value(feat) : "?");
            continue;
        }
        int n = 0;
        fputs("on: ", f);
        json_object_foreach(feat, k, v)
        {
            const char *x = json_string_value(v);
            if (x && strncmp(x, "on", 2) == 0) fprintf(f, "%s%s", n++ ? ", " : "", k);
        }
        fputs(n ? ", the rest off" : "none", f);
    }
}

static void section_env(struct ctx *c)
{
    FILE *f = c->f;
    fprintf(f, "## Environment\n\n");
    if (!c->pd.env) {
        fprintf(f, "No env.json in this directory.\n\n");
        return;
    }
    fprintf(f, "| key | value |\n|---|---|\n");
    const char *k;
    json_t *v;
    json_object_foreach(c->pd.env, k, v)
    {
        fprintf(f, "| ");
        md(f, k);
        fprintf(f, " | ");
        if (strcmp(k, "offloads") == 0 && json_is_object(v)) {
            offloads_line(f, v);
            fprintf(f, " |\n");
            continue;
        }
        char *txt = json_is_string(v) ? strdup(json_string_value(v))
                                      : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (txt && strlen(txt) > 200) /* the suite text, the mitigations: kept whole in env.json */
            fprintf(f, "%zu characters, in `env.json`", strlen(txt));
        else
            md(f, txt ? txt : "?");
        fprintf(f, " |\n");
        free(txt);
    }
    fprintf(f, "\n");
}

static void list_distinct(FILE *f, json_t *records, const char *obj, const char *key)
{
    const char *seen[16];
    size_t n = 0, i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *s = obj ? str_at(json_object_get(rec, obj), key) : str_at(rec, key);
        if (!s) continue;
        size_t j;
        for (j = 0; j < n && strcmp(seen[j], s) != 0; j++) {
        }
        if (j == n && n < 16) seen[n++] = s;
    }
    if (!n) fputs("(not recorded)", f);
    for (size_t j = 0; j < n; j++)
        fprintf(f, "%s`%s`", j ? ", " : "", seen[j]);
}

/* "- **Offloads** (suite key offloads): `kernel` on: tso, gso, ...; ..." from
 * each row's records (driver_offloads): its setting and what its driver
 * used; "varies" when its trials disagree. Nothing for records without it. */
static void offloads_rows(struct ctx *c)
{
    FILE *f = c->f;
    int any = 0;
    for (size_t d = 0; d < c->pd.nd; d++) {
        json_t *first = NULL, *rec;
        int varies = 0;
        size_t i;
        json_array_foreach(c->pd.records, i, rec)
        {
            const char *dn = str_at(rec, "driver");
            json_t *o = json_object_get(rec, "driver_offloads");
            if (!dn || strcmp(dn, c->pd.drivers[d]) != 0 || !json_is_object(o)) continue;
            if (!first)
                first = o;
            else if (!json_equal(json_object_get(first, "setting"), json_object_get(o, "setting")) ||
                     !json_equal(json_object_get(first, "used"), json_object_get(o, "used")))
                varies = 1;
        }
        if (!first) continue;
        fprintf(f, any++ ? "; " : "- **Offloads** (suite key `offloads`; what each driver used, "
                                  "per trial in its record's `driver_offloads`): ");
        fprintf(f, "`%s` %s: ", c->pd.drivers[d], str_at(first, "setting") ? str_at(first, "setting") : "?");
        json_t *used = json_object_get(first, "used"), *u;
        size_t k;
        json_array_foreach(used, k, u) fprintf(f, "%s%s", k ? ", " : "", json_string_value(u));
        if (!json_array_size(used)) fputs("none", f);
        if (varies) fputs(" (varies between its trials)", f);
    }
    if (any)
        fprintf(f, ". *tso*: frames up to 64 KiB cut into MSS segments below the driver; "
                   "*tx_csum*/*rx_csum*: TCP checksums left to / verified by the kernel or "
                   "NIC.\n");
}

static void section_method(struct ctx *c)
{
    FILE *f = c->f;
    size_t maxrep = 0, minrep = (size_t)-1;
    for (size_t w = 0; w < c->pd.nw; w++)
        for (size_t d = 0; d < c->pd.nd; d++) {
            size_t n = model_cell_trials(&c->pd, w, d, NULL);
            if (!n) continue;
            maxrep = n > maxrep ? n : maxrep;
            minrep = n < minrep ? n : minrep;
        }
    fprintf(f, "## Method\n\n");
    fprintf(f, "- **CPU accounting**: method ");
    list_distinct(f, c->pd.records, "cpu", "method");
    fprintf(f, " (`perf_event` = hardware cycles from perf_event_open; "
               "`proc_stat_busy_x_tsc` = per-CPU busy time from /proc/stat × TSC Hz, steal time "
               "reported apart), over the measured window only.\n");
    fprintf(f, "- **Which figure answers which question**: *DUT-core* cycles (the DUT's pinned "
               "core: the server's, or the client's where the client is the DUT) answer \"what does the data path cost on the core that runs it\"; "
               "*whole-system* cycles (every core, generator included) answer \"what does a "
               "request cost the machine\". On veth the kernel runs the receiver's stack in the "
               "sender's softirq, so DUT-core figures undercount the kernel path: with the "
               "generator identical across drivers, whole-system cycles are the fair comparison. "
               "Cycles per packet divide by the DUT interface's rx+tx packets.\n");
    size_t ncl = 0;
    for (size_t w = 0; w < c->pd.nw; w++)
        ncl += client_dut(&c->pd, w);
    if (ncl)
        fprintf(f, "- **Which side is the DUT**: in %s the client is the device under "
                   "test (`dut = client`): each driver runs `load` in `bb-dut` pinned to `dut_cpu`, "
                   "and the other side, called the generator below, is the fixed server in "
                   "`bb-gen` on kernel sockets pinned to `gen_cpu` (its core is the generator's "
                   "core; generator-bound means the server may have set the pace). The identity "
                   "check compares what the DUT client counted with what the fixed server "
                   "parsed (nginx: its access log). Times and latencies are the DUT client's own "
                   "clock: nothing compares timestamps across processes.\n",
                ncl == c->pd.nw ? "every workload" : "the workloads whose table says so");
    int differs = 0;
    for (size_t d = 0; d < c->pd.nd; d++)
        differs |= generator_differs(&c->pd, d);
    if (!differs) {
        fprintf(f, "- **Generator**: identical for every DUT driver (generator driver ");
        list_distinct(f, c->pd.records, NULL, "generator_driver");
        fprintf(f, ", same binary and workload spec, pinned to its own core). ");
    } else {
        /* Which generator drove which drivers: "`kernel` for kernel, afpacket; `dpdk` for ...". */
        const char *gens[16];
        size_t ng = 0, i;
        json_t *rec;
        json_array_foreach(c->pd.records, i, rec)
        {
            const char *g = str_at(rec, "generator_driver");
            size_t j;
            if (!g) continue;
            for (j = 0; j < ng && strcmp(gens[j], g) != 0; j++) {
            }
            if (j == ng && ng < 16) gens[ng++] = g;
        }
        fprintf(f, "- **Generator**: not the same for every DUT driver (generator driver ");
        for (size_t j = 0; j < ng; j++) {
            fprintf(f, "%s`%s` for ", j ? "; " : "", gens[j]);
            size_t listed = 0;
            for (size_t d = 0; d < c->pd.nd; d++) {
                int has = 0;
                json_array_foreach(c->pd.records, i, rec) has |=
                    str_at(rec, "driver") && strcmp(str_at(rec, "driver"), c->pd.drivers[d]) == 0 &&
                    str_at(rec, "generator_driver") &&
                    strcmp(str_at(rec, "generator_driver"), gens[j]) == 0;
                if (has) fprintf(f, "%s%s", listed++ ? ", " : "", c->pd.drivers[d]);
            }
        }
        if (!ng) fputs("(not recorded)", f);
        fprintf(f, "; same workload spec). A ratio \"vs kernel\" holds only where only the DUT "
                   "changed: rows whose generator is not the kernel row's show n/a† there "
                   "instead (compare whole-system cycles per request). ");
    }
    fprintf(f,
            "A trial whose generator "
            "used more than %.0f%% of its core is flagged: there the DUT was not the "
            "bottleneck.\n",
            c->gen_bound * 100);
    offloads_rows(c);
    fprintf(f, "- **Warm-up and window**: every trial has an uncounted warm-up, then a fixed "
               "measured window (per workload below); counters cover the window only. Downloads "
               "are timed from request to last byte.\n");
    fprintf(f, "- **Repeats**: %zu", minrep == (size_t)-1 ? 0 : minrep);
    if (maxrep != minrep && minrep != (size_t)-1) fprintf(f, "–%zu", maxrep);
    fprintf(f, " per (workload, driver), interleaved across drivers so slow drift hits every "
               "driver alike.\n");
    fprintf(f,
            "- **Statistics**: medians over the ok repeats. \"[lo, hi] p%%\" is a "
            "distribution-free confidence interval of the median from order statistics: of the "
            "n sorted repeats x(1) ≤ … ≤ x(n), the narrowest pair [x(k), x(n+1-k)] whose "
            "coverage 1 − 2·P(Binomial(n, ½) ≤ k−1) reaches %.0f%%, or [min, max] when no pair "
            "does; p is the coverage it really has (exact binomial arithmetic), not a nominal "
            "one: 75%% with 3 repeats, 93.8%% with 5, 96.9%% with 6, 97.9%% with 10. One "
            "repeat has no interval: the cell shows the value alone. Intervals in this run: ",
            STATS_CI_TARGET * 100);
    size_t seen[64], nseen = 0;
    for (size_t w = 0; w < c->pd.nw; w++)
        for (size_t d = 0; d < c->pd.nd; d++) {
            size_t ok;
            if (!model_cell_trials(&c->pd, w, d, &ok) || !ok) continue;
            size_t j;
            for (j = 0; j < nseen && seen[j] != ok; j++) {
            }
            if (j == nseen && nseen < sizeof seen / sizeof seen[0]) seen[nseen++] = ok;
        }
    for (size_t j = 0; j < nseen; j++) { /* ascending */
        size_t m = j;
        for (size_t i = j + 1; i < nseen; i++)
            if (seen[i] < seen[m]) m = i;
        size_t t = seen[j];
        seen[j] = seen[m], seen[m] = t;
        fputs(j ? "; " : "", f);
        interval_of_n(f, seen[j]);
    }
    fprintf(f, "%s.\n", nseen ? "" : "none (no ok trials)");
    fprintf(f,
            "- **Spread**: CV = standard deviation / mean; CV above %.0f%% is "
            "flagged noisy (⚠), never dropped. Failed trials (the two sides disagree, a "
            "process failed) are kept in the records, listed below and left out of the "
            "statistics. Open-loop latency is measured from the intended send time.\n\n",
            c->noisy_cv * 100);
}

/* The flags that limit what a row may claim, beside its numbers: failed
 * trials, a generator that may have been the bottleneck, noise, and an
 * interval of low coverage or none. "–" when nothing limits it. */
static void claim_limits(struct ctx *c, size_t w, size_t d, const struct cell_stat *h, size_t ok,
                         size_t n)
{
    FILE *f = c->f;
    int any = 0;
    size_t sat = model_cell_flagged(&c->pd, w, d, "generator_saturated");
    fputc(' ', c->f);
#define SEP (any++ ? "; " : "")
    if (ok < n) fprintf(f, "%s%zu of %zu trials failed", SEP, n - ok, n);
    if (sat) fprintf(f, "%sgenerator-bound in %zu of %zu", SEP, sat, ok);
    if (h->n >= 2 && isfinite(h->cv) && h->cv > c->noisy_cv) fprintf(f, "%snoisy ⚠", SEP);
    if (h->n == 1) fprintf(f, "%sone trial: no interval", SEP);
    else if (h->n >= 2 && isfinite(h->level) && h->level < 0.95)
        fprintf(f, "%sinterval covers %.1f%%", SEP, h->level * 100);
#undef SEP
    fputs(any ? " |" : "– |", f);
}

static void section_workloads(struct ctx *c)
{
    FILE *f = c->f;
    int k = kernel_index(&c->pd);
    char a[32], b[32];
    fprintf(f, "## Results per workload\n\n");
    if (k < 0) fprintf(f, "No kernel trials: ratios to kernel are left empty.\n\n");
    for (size_t w = 0; w < c->pd.nw; w++) {
        json_t *s = c->pd.specs[w];
        const char *mode = mode_of(&c->pd, w), *h = headline(mode);
        fprintf(f, "### %s\n\n", c->pd.workloads[w]);
        const char *sapp = str_at(app_of(&c->pd, w), "server");
        int redis = sapp && strcmp(sapp, "redis-server") == 0; /* no path, a count */
        fprintf(f, redis ? "%s %s, %lld connection%s" : "%s `%s`, %lld connection%s", mode_title(mode),
                redis ? "redis commands" : str_at(s, "path") ? str_at(s, "path") : "?",
                (long long)json_integer_value(json_object_get(s, "connections")),
                json_integer_value(json_object_get(s, "connections")) == 1 ? "" : "s");
        if (json_integer_value(json_object_get(s, "pipeline")) > 1)
            fprintf(f, ", pipeline %lld",
                    (long long)json_integer_value(json_object_get(s, "pipeline")));
        if (json_integer_value(json_object_get(s, "rate")) > 0)
            fprintf(f, ", rate %s req/s",
                    units_format_count((double)json_integer_value(json_object_get(s, "rate")), a,
                                       sizeof a));
        if (redis)
            fprintf(f, "; %lld requests per test (redis-benchmark -n), no warm-up",
                    (long long)json_integer_value(json_object_get(s, "requests")));
        else if (strcmp(mode, "download") != 0)
            fprintf(f, "; warm-up %s, window %s", fmt(num_at(s, "warmup_ns"), U_NS, a, sizeof a),
                    fmt(num_at(s, "duration_ns"), U_NS, b, sizeof b));
        fprintf(f, ".  \n");
        dut_line(f, &c->pd, w);
        fprintf(f, "\n\n");
        fprintf(f,
                "| driver | ok/trials | %s | Gbit/s | p50 | p99 | DUT cycles/req | "
                "system cycles/req | CV (%s) | %s vs kernel | system cycles/req vs kernel | "
                "limits on the claim |\n",
                headline_title(mode), headline_title(mode), headline_title(mode));
        fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        struct cell_stat base_h = {0}, base_c = {0};
        if (k >= 0) {
            model_cell_stat(&c->pd, w, (size_t)k, h, &base_h);
            model_cell_stat(&c->pd, w, (size_t)k, "system_cycles_per_request", &base_c);
        }
        for (size_t d = 0; d < c->pd.nd; d++) {
            size_t ok, n = model_cell_trials(&c->pd, w, d, &ok);
            if (!n) continue;
            struct cell_stat st[6];
            static const char *const keys[] = {"gbps", "lat_p50_ns", "lat_p99_ns",
                                               "dut_cycles_per_request",
                                               "system_cycles_per_request"};
            model_cell_stat(&c->pd, w, d, h, &st[0]);
            for (size_t i = 0; i < 5; i++)
                model_cell_stat(&c->pd, w, d, keys[i], &st[i + 1]);
            fprintf(f, "| %s | %zu/%zu |", c->pd.drivers[d], ok, n);
            stat_cell(f, &st[0], headline_unit(mode));
            stat_cell(f, &st[1], U_GBPS);
            stat_cell(f, &st[2], U_NS);
            stat_cell(f, &st[3], U_NS);
            stat_cell(f, &st[4], U_COUNT);
            stat_cell(f, &st[5], U_COUNT);
            cv_cell(f, &st[0], c->noisy_cv);
            if (same_generator(&c->pd, w, d, k)) {
                ratio_cell(f, &st[0], &base_h);
                ratio_cell(f, &st[5], &base_c);
            } else {
                fputs(" n/a† | n/a† |", f);
            }
            claim_limits(c, w, d, &st[0], ok, n);
            fputc('\n', f);
        }
        int first = 1;
        for (size_t d = 0; d < c->pd.nd; d++)
            if (!same_generator(&c->pd, w, d, k)) {
                fputs(first ? "\n" : "  \n", f);
                first = 0;
                gen_note(f, &c->pd, w, d, k);
            }
        fputc('\n', f);
    }
}

/* Table 2 of "DPDK-Based Implementation of Application: File Downloader"
 * (Kadam et al.): Sr. No. | File Size | Traditional Downloader (sec) | DPDK
 * enabled Downloader (sec). Here: one time column per driver, kernel first
 * (the traditional downloader), then the speed-up of each other driver. */
/* The fair-baseline ladder (DESIGN 5, seed 003): per workload, each driver
 * in the ladder's order (the model's: kernel, kernel+busypoll, io_uring,
 * afpacket, afxdp, dpdk, ..., dpdk-ring) with its headline figure and
 * whole-system cycles per request, each with its interval, and its gain over
 * the step below: the previous row on the same generator. A row whose
 * generator differs (the ring) starts a ladder of its own and has no gain. */
static void section_ladder(struct ctx *c)
{
    FILE *f = c->f;
    if (c->pd.nd < 3) return; /* a ladder needs steps */
    fprintf(f, "## The ladder\n\n");
    fprintf(f, "Each step against the one below it in the same run and on the same generator: "
               "first the kernel's own steps (epoll, busy polling, io_uring), then our stack "
               "over AF_PACKET, AF_XDP and DPDK. Gain: the step's median over the step below "
               "(downloads: the time below over the step's); cycles: whole-system cycles per "
               "request, the step's over the step below (under 1× = cheaper). Intervals as in "
               "the tables above. † a row whose generator is not the kernel's: no gain.\n\n");
    for (size_t w = 0; w < c->pd.nw; w++) {
        const char *mode = mode_of(&c->pd, w), *h = headline(mode);
        if (str_at(c->pd.specs[w], "sweep")) continue; /* the sweep has its own table */
        int dl = strcmp(h, "download_s") == 0;
        fprintf(f, "### %s\n\n| step | %s | system cycles/req | gain over the step below | "
                   "cycles vs the step below |\n|---|---|---|---|---|\n",
                c->pd.workloads[w], headline_title(mode));
        int below = -1, kernel = kernel_index(&c->pd);
        for (size_t d = 0; d < c->pd.nd; d++) {
            size_t ok;
            if (!model_cell_trials(&c->pd, w, d, &ok) || !ok) continue;
            struct cell_stat x, cyc, bx, bc;
            model_cell_stat(&c->pd, w, d, h, &x);
            model_cell_stat(&c->pd, w, d, "system_cycles_per_request", &cyc);
            int own = same_generator(&c->pd, w, d, kernel);
            fprintf(f, "| %s%s |", c->pd.drivers[d], own ? "" : "†");
            stat_cell(f, &x, headline_unit(mode));
            stat_cell(f, &cyc, U_COUNT);
            if (own && below >= 0) {
                model_cell_stat(&c->pd, w, (size_t)below, h, &bx);
                model_cell_stat(&c->pd, w, (size_t)below, "system_cycles_per_request", &bc);
                const struct cell_stat *num = dl ? &bx : &x, *den = dl ? &x : &bx;
                if (num->n && den->n && den->median > 0 && isfinite(num->median))
                    fprintf(f, " %.2f× over %s |", num->median / den->median,
                            c->pd.drivers[below]);
                else
                    fputs(" – |", f);
                ratio_cell(f, &cyc, &bc);
                fputc('\n', f);
            } else {
                fputs(own ? " – | – |\n" : " n/a† | n/a† |\n", f);
            }
            if (own) below = (int)d;
        }
        fputc('\n', f);
    }
}

/* Is workload w a download whose DUT is the client (the paper's case)? */
static int client_download(const struct run_model *pd, size_t w)
{
    return strcmp(mode_of(pd, w), "download") == 0 && client_dut(pd, w);
}

static void section_download(struct ctx *c)
{
    FILE *f = c->f;
    int k = kernel_index(&c->pd);
    size_t rows = 0, client_rows = 0;
    char a[32];
    for (size_t w = 0; w < c->pd.nw; w++) {
        rows += strcmp(mode_of(&c->pd, w), "download") == 0;
        client_rows += client_download(&c->pd, w);
    }
    fprintf(f, "## Download\n\n");
    if (!rows) {
        fprintf(f, "No download workload in this run.\n\n");
        return;
    }
    /* The paper measured downloaders: its table comes from the downloads
     * whose DUT is the client when there are any, else from those served. */
    size_t first = 0;
    for (size_t w = 0; w < c->pd.nw; w++)
        if (client_rows ? client_download(&c->pd, w) : strcmp(mode_of(&c->pd, w), "download") == 0) {
            first = w;
            break;
        }
    if (client_rows) {
        fprintf(f, "Laid out like Table 2 of the DPDK file-downloader paper (seed 000): the "
                   "**downloader is the DUT**, kernel sockets being the traditional downloader and "
                   "the other drivers the bypass downloaders, all fetching from the same server; "
                   "one row per file size, the median download time (seconds) per driver, every "
                   "body checked byte for byte.  \n");
        dut_line(f, &c->pd, first);
        fprintf(f, "\n\n");
    } else {
        fprintf(f, "Laid out like Table 2 of the DPDK file-downloader paper: one row per file "
                   "size, the median download time (seconds) per driver, kernel sockets being the "
                   "traditional side. Here the **server** is the DUT (the downloads were served by "
                   "each driver to the same kernel downloader); the paper measured the "
                   "downloader: `dut = client` suites (suites/seed000.ini) give its table.\n\n");
    }
    fprintf(f, "| Sr. No. | File Size |");
    for (size_t d = 0; d < c->pd.nd; d++)
        fprintf(f, " %s Downloader (sec) |", c->pd.drivers[d]);
    for (size_t d = 0; d < c->pd.nd; d++)
        if ((int)d != k && k >= 0) fprintf(f, " speed-up %s vs kernel |", c->pd.drivers[d]);
    fprintf(f, "\n|---|---|");
    for (size_t d = 0; d < c->pd.nd; d++)
        fprintf(f, "---|");
    for (size_t d = 0; d < c->pd.nd; d++)
        if ((int)d != k && k >= 0) fprintf(f, "---|");
    fputc('\n', f);
    size_t sr = 0;
    for (size_t w = 0; w < c->pd.nw; w++) {
        if (strcmp(mode_of(&c->pd, w), "download") != 0) continue;
        if (client_rows && !client_download(&c->pd, w)) continue; /* served downloads: below */
        const char *path = str_at(c->pd.specs[w], "path");
        uint64_t size;
        if (path && strncmp(path, "/bytes/", 7) == 0 && units_parse_size(path + 7, &size) == 0)
            units_format_size(size, a, sizeof a);
        else
            snprintf(a, sizeof a, "%s", path ? path : "?");
        fprintf(f, "| %zu | %s |", ++sr, a);
        struct cell_stat base = {0}, st;
        if (k >= 0) model_cell_stat(&c->pd, w, (size_t)k, "download_s", &base);
        for (size_t d = 0; d < c->pd.nd; d++) {
            model_cell_stat(&c->pd, w, d, "download_s", &st);
            if (st.n)
                fprintf(f, " %.4f |", st.median);
            else
                fputs(" – |", f);
        }
        for (size_t d = 0; d < c->pd.nd; d++) {
            if ((int)d == k || k < 0) continue;
            model_cell_stat(&c->pd, w, d, "download_s", &st);
            if (!same_generator(&c->pd, w, d, k))
                fputs(" n/a† |", f);
            else if (st.n && base.n && st.median > 0)
                fprintf(f, " %.2f× |", base.median / st.median);
            else
                fputs(" – |", f);
        }
        fputc('\n', f);
    }
    fprintf(f, "\nSpeed-up = kernel time / driver time (above 1: faster than the kernel).\n");
    if (client_rows && client_rows < rows)
        fprintf(f, "Downloads served by each driver (the server as the DUT) are in their own "
                   "tables under *Results per workload*.\n");
    size_t notes = 0;
    for (size_t w = 0; w < c->pd.nw; w++) {
        if (strcmp(mode_of(&c->pd, w), "download") != 0) continue;
        if (client_rows && !client_download(&c->pd, w)) continue;
        for (size_t d = 0; d < c->pd.nd; d++)
            if (!same_generator(&c->pd, w, d, k)) {
                fputs(notes++ ? "  \n" : "\n", f);
                gen_note(f, &c->pd, w, d, k);
            }
    }
    fputc('\n', f);
}

/* What each figure answers; which workloads it is drawn from is plot.c's
 * rule (plot_figure_uses), so the two cannot disagree. */
static const struct {
    const char *name, *question;
} fig_questions[] = {
    {"throughput", "How many requests per second does each driver serve, as the response grows?"},
    {"cycles", "What does one request, and one packet, cost in CPU cycles on the DUT core and on "
               "the whole machine?"},
    {"latency", "How long do requests take at a fixed offered load, counted from their intended "
                "send time?"},
    {"cps", "How many new connections per second does each driver accept and serve?"},
    {"download", "How fast does one large response arrive, checked byte for byte?"},
    {"overhead", "Which kernel overheads (context switches, softirqs, system calls) does each "
                 "path pay per request?"},
    {"loadlat", "How does each driver's latency grow with offered load, and up to which rate "
                "does its p99 stay under the target?"},
};

/* "Question: ... Rests on: ka-64, ka-1k (24 ok trials of 24, 4 drivers)." */
static void figure_basis(struct ctx *c, const char *name)
{
    FILE *f = c->f;
    for (size_t q = 0; q < sizeof(fig_questions) / sizeof(fig_questions[0]); q++) {
        if (strcmp(fig_questions[q].name, name) != 0) continue;
        size_t ok_all = 0, n_all = 0, nw = 0;
        fprintf(f, "*Question:* %s *Rests on:* ", fig_questions[q].question);
        for (size_t w = 0; w < c->pd.nw; w++) {
            if (!plot_figure_uses(name, &c->pd, w)) continue;
            fprintf(f, "%s%s", nw++ ? ", " : "", c->pd.workloads[w]);
            for (size_t d = 0; d < c->pd.nd; d++) {
                size_t ok, n = model_cell_trials(&c->pd, w, d, &ok);
                ok_all += ok, n_all += n;
            }
        }
        if (nw)
            fprintf(f, " (%zu ok trial%s of %zu, over %zu driver%s).\n\n", ok_all,
                    ok_all == 1 ? "" : "s", n_all, c->pd.nd, c->pd.nd == 1 ? "" : "s");
        else
            fprintf(f, "no workload of this run.\n\n");
        return;
    }
}

/* Driver d's points of sweep family: its capacity, the highest offered rate
 * up to which the median p99 stays under target at every load tested (best;
 * NAN: not even the lowest) with its load, p99 and whether its generator was
 * saturated there, and the first rate over the target (over; INFINITY:
 * none). 0 when d has no point. */
struct sweep_best {
    double cap, best, best_load, best_p99, over, over_p99;
    int gen_bound;
};

static int sweep_best(struct ctx *c, const char *family, size_t d, double target,
                      struct sweep_best *sb)
{
    const struct run_model *pd = &c->pd;
    struct pt {
        double off, load, p99;
        size_t w;
    } pts[MODEL_MAX_WORKLOADS];
    size_t n = 0;
    sb->cap = sb->best = sb->best_load = sb->best_p99 = sb->over_p99 = NAN;
    sb->over = INFINITY;
    sb->gen_bound = 0;
    for (size_t w = 0; w < pd->nw; w++) {
        const char *s = str_at(pd->specs[w], "sweep");
        if (!s || strcmp(s, family) != 0) continue;
        struct cell_stat p99, off, ld;
        model_cell_stat(pd, w, d, "lat_p99_ns", &p99);
        model_cell_stat(pd, w, d, "offered_rps", &off);
        model_cell_stat(pd, w, d, "load", &ld);
        if (!p99.n || !off.n) continue;
        if (isfinite(ld.median) && ld.median > 0) sb->cap = off.median / ld.median;
        struct pt p = {off.median, ld.median, p99.median, w};
        size_t j = n++;
        for (; j > 0 && pts[j - 1].off > p.off; j--) /* by offered rate */
            pts[j] = pts[j - 1];
        pts[j] = p;
    }
    /* The target holds up to a rate when it holds at every load up to it:
     * the first point over the target ends the run. */
    for (size_t i = 0; i < n; i++) {
        if (pts[i].p99 > target) {
            sb->over = pts[i].off, sb->over_p99 = pts[i].p99;
            break;
        }
        sb->best = pts[i].off, sb->best_load = pts[i].load, sb->best_p99 = pts[i].p99;
        sb->gen_bound = cell_gen_bound(c, pts[i].w, d);
    }
    return n > 0;
}

static double p99_target(const struct ctx *c)
{
    double t = c->pd.env ? num_at(c->pd.env, "p99_target_ns") : NAN;
    return t > 0 ? t : 1e6;
}

/* The summary's row for the first load sweep: the driver sustaining the
 * highest rate under the p99 target, and the best on the kernel's generator
 * against the kernel's rate (sweep points have one repeat: no interval). */
static void summary_sweep(struct ctx *c)
{
    const struct run_model *pd = &c->pd;
    const char *family = NULL;
    for (size_t w = 0; w < pd->nw && !family; w++)
        family = str_at(pd->specs[w], "sweep");
    if (!family) return;
    double target = p99_target(c);
    int k = kernel_index(pd), best = -1, cmp = -1;
    struct sweep_best sb[MODEL_MAX_DRIVERS];
    struct limits lm;
    memset(&lm, 0, sizeof lm);
    int w0 = -1;
    for (size_t w = 0; w < pd->nw && w0 < 0; w++)
        if (str_at(pd->specs[w], "sweep") && strcmp(str_at(pd->specs[w], "sweep"), family) == 0)
            w0 = (int)w;
    for (size_t d = 0; d < pd->nd; d++) {
        if (!sweep_best(c, family, d, target, &sb[d]) || !isfinite(sb[d].best)) continue;
        if (best < 0 || sb[d].best > sb[best].best) best = (int)d;
        if (k >= 0 && same_generator(pd, (size_t)w0, d, k) &&
            (cmp < 0 || sb[d].best > sb[cmp].best))
            cmp = (int)d;
    }
    char a[32], b[32], t[32];
    FILE *f = c->f;
    fmt(target, U_NS, t, sizeof t);
    fprintf(f, "| %s (load sweep, p99 ≤ %s) |", family, t);
    if (best < 0) {
        fprintf(f, " none | no driver kept p99 under %s at any load | – | – |\n", t);
        return;
    }
    fprintf(f, " %s%s | %s req/s |", pd->drivers[best],
            k >= 0 && !same_generator(pd, (size_t)w0, (size_t)best, k) ? "†" : "",
            fmt(sb[best].best, U_COUNT, a, sizeof a));
    if (cmp < 0 || k < 0 || !isfinite(sb[k].best))
        fputs(" – (the kernel met the target at no load) |", f);
    else if (cmp == k)
        fputs(" kernel: no driver beats it |", f);
    else
        fprintf(f, " %s %.2f× (%s vs %s req/s; one repeat per load: no interval) |",
                pd->drivers[cmp], sb[cmp].best / sb[k].best,
                fmt(sb[cmp].best, U_COUNT, a, sizeof a), fmt(sb[k].best, U_COUNT, b, sizeof b));
    if (sb[best].gen_bound) limit_add(&lm, LIM_GEN, pd->drivers[best]);
    if (cmp >= 0 && cmp != best && sb[cmp].gen_bound) limit_add(&lm, LIM_GEN, pd->drivers[cmp]);
    if (k >= 0 && k != best && k != cmp && isfinite(sb[k].best) && sb[k].gen_bound)
        limit_add(&lm, LIM_GEN, pd->drivers[k]);
    fputc(' ', f);
    limits_print(f, &lm, "the rates are the loads tested (a grid, not the exact knee)");
    fputs(" |\n", f);
}

/* Latency against offered load: each driver's highest offered rate whose p99
 * stays under the target (env.json p99_target_ns, the suite's p99_target),
 * over the sweep points `run` made from a workload with capacity and loads. */
static void section_loadlat(struct ctx *c)
{
    FILE *f = c->f;
    const struct run_model *pd = &c->pd;
    const char *family = NULL, *cap_of = NULL;
    char a[32], b[32], t[32];
    for (size_t w = 0; w < pd->nw && !family; w++)
        if ((family = str_at(pd->specs[w], "sweep"))) cap_of = str_at(pd->specs[w], "capacity_of");
    if (!family) return;
    double target = p99_target(c);
    fmt(target, U_NS, t, sizeof t);
    fprintf(f, "## Latency against offered load\n\n");
    fprintf(f,
            "Open loop (`%s`), each point offering a share of the closed-loop capacity the same "
            "driver reached in this run (median req/s of `%s`); latency from each request's "
            "intended send time, so a stall is not hidden. Target: p99 ≤ %s (suite key "
            "`p99_target`). Figure: loadlat.\n\n",
            family, cap_of ? cap_of : "?", t);
    fprintf(f,
            "| driver | capacity (req/s) | highest offered rate with p99 ≤ %s at it and every "
            "lower load | share of capacity | p99 there | first point over the target |\n",
            t);
    fprintf(f, "|---|---|---|---|---|---|\n");
    for (size_t d = 0; d < pd->nd; d++) {
        struct sweep_best sb;
        if (!sweep_best(c, family, d, target, &sb)) continue;
        double cap = sb.cap, best = sb.best, best_load = sb.best_load, best_p99 = sb.best_p99;
        double over = sb.over, over_p99 = sb.over_p99;
        int gen_bound = sb.gen_bound;
        fprintf(f, "| %s | %s |", pd->drivers[d], fmt(cap, U_COUNT, a, sizeof a));
        if (isfinite(best))
            fprintf(f, " %s%s | %.0f%% | %s |", fmt(best, U_COUNT, a, sizeof a),
                    gen_bound ? " (generator-bound)" : "", best_load * 100,
                    fmt(best_p99, U_NS, b, sizeof b));
        else
            fprintf(f, " none: p99 over %s at the lowest load | – | – |", t);
        if (isfinite(over))
            fprintf(f, " %s req/s: p99 %s |\n", fmt(over, U_COUNT, a, sizeof a),
                    fmt(over_p99, U_NS, b, sizeof b));
        else
            fprintf(f, " none (the target held at every load tested) |\n");
    }
    fprintf(f, "\nMedians over the repeats of each point; a point's rate is its driver's own "
               "share of capacity, so drivers are compared by the rate they sustain under the "
               "target, not at equal rates.\n\n");
}

static void section_figures(struct ctx *c)
{
    FILE *f = c->f;
    char path[PATH_LEN + 64];
    fprintf(f, "## Figures\n\n");
    fprintf(f,
            "Drawn by `bypassbench plot %s` from plots/<name>.csv; each also as PDF and SVG, "
            "single-column (-1col, 3.5 in) and double-column (-2col, 7 in). Error bars: the "
            "order-statistic interval of the median (see Method), none with one repeat; each "
            "figure's note, bottom right, gives their coverage.\n\n",
            c->dir);
    for (size_t i = 0; plot_figure_name(i); i++) {
        const char *name = plot_figure_name(i);
        /* No CSV: no data of this kind in the run (the figure, if drawn, only
         * says so: not worth embedding). */
        snprintf(path, sizeof path, "%s/plots/%s.csv", c->dir, name);
        int has_csv = access(path, R_OK) == 0;
        snprintf(path, sizeof path, "%s/plots/%s-2col.png", c->dir, name);
        if (has_csv && access(path, R_OK) == 0) {
            fprintf(f, "### %s\n\n", plot_figure_caption(i));
            figure_basis(c, name);
            fprintf(f, "![%s](plots/%s-2col.png)\n\n", plot_figure_caption(i), name);
            fprintf(f,
                    "[PDF](plots/%s-2col.pdf) · [SVG](plots/%s-2col.svg) · single column: "
                    "[PDF](plots/%s-1col.pdf) · [PNG](plots/%s-1col.png) · data: "
                    "[CSV](plots/%s.csv)\n\n",
                    name, name, name, name, name);
        } else {
            fprintf(f, "### %s\n\n%s\n\n", plot_figure_caption(i),
                    has_csv ? "Not drawn (gnuplot failed or was not run)."
                            : "No data for this figure in this run.");
        }
    }
}

static const char *trial_headline(json_t *rec, char *buf, size_t len)
{
    const char *mode = str_at(json_object_get(rec, "workload"), "mode");
    const char *h = headline(mode ? mode : "");
    double x = model_record_value(rec, h);
    char v[32];
    snprintf(buf, len, "%s%s%s", fmt(x, headline_unit(mode ? mode : ""), v, sizeof v),
             strcmp(h, "download_s") == 0 ? "" : " ",
             strcmp(h, "download_s") == 0 ? "" : headline_title(mode ? mode : ""));
    return buf;
}

static void trial_name(json_t *rec, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%s-r%lld", str_at(json_object_get(rec, "workload"), "name"),
             str_at(rec, "driver"), (long long)json_integer_value(json_object_get(rec, "repeat")));
}

static void section_warnings(struct ctx *c)
{
    FILE *f = c->f;
    static const char *const watched[] = {"rps",
                                          "gbps",
                                          "cps",
                                          "download_s",
                                          "lat_p50_ns",
                                          "lat_p99_ns",
                                          "dut_cycles_per_request",
                                          "system_cycles_per_request"};
    size_t nw = 0, i;
    json_t *rec;
    char name[256];
    fprintf(f, "## Warnings\n\n");
    for (size_t w = 0; w < c->pd.nw; w++)
        for (size_t d = 0; d < c->pd.nd; d++) { /* one line per (workload, driver) */
            size_t listed = 0, reps = 0;
            for (size_t m = 0; m < sizeof watched / sizeof watched[0]; m++) {
                struct cell_stat st;
                model_cell_stat(&c->pd, w, d, watched[m], &st);
                if (st.n < 2 || !isfinite(st.cv) || st.cv <= c->noisy_cv) continue;
                if (!listed++)
                    fprintf(f, "- **noisy** (CV > %.0f%%): %s / %s:", c->noisy_cv * 100,
                            c->pd.workloads[w], c->pd.drivers[d]);
                fprintf(f, "%s %s %.1f%%", listed > 1 ? "," : "", watched[m], st.cv * 100);
                reps = st.n;
            }
            if (listed) {
                fprintf(f, " (%zu repeats)\n", reps);
                nw++;
            }
        }
    size_t diff = 0;
    for (size_t d = 0; d < c->pd.nd; d++) {
        if (!generator_differs(&c->pd, d)) continue;
        fprintf(f, "%s%s", diff++ ? ", " : "- **generator differs** from the kernel row's: ",
                c->pd.drivers[d]);
    }
    if (diff) {
        fprintf(f, ": no ratio \"vs kernel\" (n/a†), which holds only where only the DUT "
                   "changed; compare whole-system cycles per request instead\n");
        nw++;
    }
    json_array_foreach(c->pd.records, i, rec)
    {
        double g = model_record_value(rec, "gen_util");
        /* The record judged it by something other than the core's use (an
         * open-loop generator spins between sends; a poll-mode one polls):
         * its verdict stands. */
        const char *by = str_at(rec, "generator_saturated_by");
        json_t *sat = json_object_get(rec, "generator_saturated");
        if (by && strcmp(by, "gen_util") != 0 && json_is_boolean(sat)) {
            if (json_is_true(sat)) {
                trial_name(rec, name, sizeof name);
                fprintf(f, "- **generator-bound**: %s: the generator could not keep up (by %s)\n",
                        name, by);
                nw++;
            }
            continue;
        }
        if (isfinite(g) && g > c->gen_bound) {
            trial_name(rec, name, sizeof name);
            fprintf(f,
                    "- **generator-bound**: %s: the generator used %.0f%% of its core; the DUT "
                    "was not the bottleneck\n",
                    name, g * 100);
            nw++;
        }
    }
    json_array_foreach(c->pd.records, i, rec)
    {
        const char *st = str_at(rec, "status");
        if (st && strcmp(st, "ok") == 0) continue;
        trial_name(rec, name, sizeof name);
        fprintf(f, "- **failed**: %s: ", name);
        md(f, str_at(rec, "failure") ? str_at(rec, "failure") : "(no reason recorded)");
        fputc('\n', f);
        nw++;
    }
    if (!nw) fprintf(f, "None.\n");
    fputc('\n', f);
}

static void section_trials(struct ctx *c)
{
    FILE *f = c->f;
    size_t i;
    json_t *rec;
    char name[256], h[64], a[32], b[32], g[32];
    fprintf(f, "## Every trial\n\n");
    fprintf(f, "| # | trial | workload | driver | repeat | status | result | Gbit/s | p99 | "
               "generator CPU | failure |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    json_array_foreach(c->pd.records, i, rec)
    {
        trial_name(rec, name, sizeof name);
        double gu = model_record_value(rec, "gen_util");
        if (isfinite(gu))
            snprintf(g, sizeof g, "%.0f%%", gu * 100);
        else
            snprintf(g, sizeof g, "–");
        fprintf(
            f, "| %zu | [%s](trials/%s.json) | %s | %s | %lld | %s | %s | %s | %s | %s | ", i + 1,
            name, name, str_at(json_object_get(rec, "workload"), "name"), str_at(rec, "driver"),
            (long long)json_integer_value(json_object_get(rec, "repeat")),
            str_at(rec, "status") ? str_at(rec, "status") : "?", trial_headline(rec, h, sizeof h),
            fmt(model_record_value(rec, "gbps"), U_GBPS, a, sizeof a),
            fmt(model_record_value(rec, "lat_p99_ns"), U_NS, b, sizeof b), g);
        md(f, str_at(rec, "failure") ? str_at(rec, "failure") : "");
        fprintf(f, " |\n");
    }
    fputc('\n', f);
}

int report_write(const char *dir, const struct report_opts *o, char *err, size_t errlen)
{
    struct ctx c = {.dir = dir};
    char path[PATH_LEN + 32], tmp[PATH_LEN + 40];
    c.noisy_cv = o && o->noisy_cv > 0 ? o->noisy_cv : RESULTS_NOISY_CV;
    c.gen_bound = o && o->gen_bound > 0 ? o->gen_bound : REPORT_GEN_BOUND;
    if (model_load(dir, &c.pd, err, errlen) < 0) return -1;
    snprintf(path, sizeof path, "%s/REPORT.md", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    c.f = fopen(tmp, "w");
    if (!c.f) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        model_free(&c.pd);
        return -1;
    }
    section_run(&c);
    section_summary(&c);
    section_env(&c);
    section_method(&c);
    section_workloads(&c);
    section_ladder(&c);
    section_download(&c);
    section_loadlat(&c);
    section_figures(&c);
    section_warnings(&c);
    section_trials(&c);
    int bad = ferror(c.f) != 0;
    bad |= fclose(c.f) != 0;
    model_free(&c.pd);
    if (bad || rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
