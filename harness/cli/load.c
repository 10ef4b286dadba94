/*
 * harness/cli/load.c — `bypassbench load`: wrk-like flags with units into a workload
 * spec, open the driver, run the generator, print a summary and write JSON.
 * With --json the generator takes CPU snapshots (and, with --window-iface,
 * that interface's counters) at its own window's edges through loadgen's
 * window hook, and writes them into its JSON: the trial's CPU and packet
 * figures cover exactly the window the requests were counted in.
 * Calls: wl_spec_set (workloads/spec.c), loadgen_run (workloads/loadgen.c),
 * report_window_edge, report_client_json, cpuacct_hw_open.
 */
#include "harness/analysis/report_json.h"
#include "harness/cli/cli.h"
#include "harness/run/doctor.h"
#include "harness/cli/genflags.h"
#include "workloads/loadgen.h"
#include "workloads/units.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench load [OPTIONS] URL\n"
            "  URL                  http://ADDR[:PORT]/path, e.g. http://198.18.0.2:8080/bytes/64\n"
            "%s"
            "      --driver NAME    netio driver (default kernel)\n"
            "      --cpu N          pin to CPU N (default: not pinned)\n"
            "      --iface IF       interface, for drivers that own one\n"
            "      --ip ADDR/LEN    our address, for drivers with their own stack\n"
            "      --opt KEY=VALUE  driver option (repeatable)\n"
            "      --json FILE      write the results as JSON here (with the CPU snapshots\n"
            "                       taken at the measured window's edges)\n"
            "      --window-iface IF  also read IF's counters (in our namespace) at the edges\n"
            "      --go FILE        once the driver is up, create FILE.ready and wait (up to\n"
            "                       60 s) until FILE exists before the first connection: the\n"
            "                       harness wires the link first (a net_tap interface made by\n"
            "                       this process) and starts the capture; after the run (JSON\n"
            "                       written) create FILE.done and keep the driver up until\n"
            "                       FILE is removed (up to 60 s): the harness reads the\n"
            "                       interface and stops the capture first\n"
            "  -q, --quiet          no progress and no summary\n"
            "Every response is checked: status 200, Content-Length, body length, and for\n"
            "/bytes/N the body byte for byte against the pattern the server sends.\n"
            "At the end of the window nothing in flight is dropped: no new request is sent\n"
            "and the requests in flight get a drain of min(--timeout, 1s) to be answered.\n"
            "An answer then is late: valid, not in the window's requests or req/s (closed\n"
            "loop: req/s = responses inside the window / window). A request still\n"
            "unanswered after the drain is an 'unanswered' error: a stuck connection fails\n"
            "the run within a second of the window's end, whatever --timeout is. Open loop:\n"
            "late and unanswered requests, and those due but not yet sent, are in the\n"
            "latency from their intended send times, so a stall at the end shows in the tail.\n",
            genflags_help);
}

static void on_progress(const struct lg_progress *p, void *arg)
{
    (void)arg;
    char rate[32];
    fprintf(stderr, "\r  %5.1fs %s %10s req/s  errors %llu   ", (double)p->elapsed_ns / 1e9,
            p->warming_up ? "warm-up " : "measured", units_format_count(p->rps_1s, rate, sizeof(rate)),
            (unsigned long long)p->errors);
}

static void summary(const struct wl_spec *s, const struct lg_result *r)
{
    char a[32], b[32], c[32], d[32], e[32], f[32];
    double secs = (double)r->measured_ns / 1e9;
    const struct hist *h = &r->latency;
    printf("  %llu requests in %.2fs, %s body read%s\n", (unsigned long long)r->requests, secs,
           units_format_size(r->body_bytes, a, sizeof(a)), r->interrupted ? " (interrupted)" : "");
    printf("  Latency  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s)\n",
           units_format_ns(hist_percentile(h, 50), a, sizeof(a)),
           units_format_ns(hist_percentile(h, 90), b, sizeof(b)),
           units_format_ns(hist_percentile(h, 99), c, sizeof(c)),
           units_format_ns(hist_percentile(h, 99.9), d, sizeof(d)),
           units_format_ns(h->max_ns, e, sizeof(e)),
           units_format_ns((uint64_t)hist_mean(h), f, sizeof(f)));
    if (secs > 0) {
        printf("  Requests/sec: %.1f\n", (double)r->requests / secs);
        printf("  Body:         %.3f Gbit/s\n", (double)r->body_bytes * 8 / secs / 1e9);
        if (s->mode == WL_CPS) printf("  Conns/sec:    %.1f\n", (double)r->connects / secs);
    }
    printf("  Errors:");
    for (int i = 0; i < LG_ERR__COUNT; i++)
        printf(" %s %llu", lg_err_str((enum lg_err)i), (unsigned long long)r->errors[i]);
    printf("\n");
    if (r->late_sends) printf("  Late sends (> 1 ms behind schedule): %llu\n", (unsigned long long)r->late_sends);
    printf("  In flight at the end: %llu (answered late %llu, unanswered %llu after a %s drain)\n",
           (unsigned long long)r->inflight_at_end, (unsigned long long)r->late_responses,
           (unsigned long long)r->errors[LG_ERR_UNANSWERED],
           units_format_ns(r->drain_ns, a, sizeof(a)));
    if (r->unsent_at_end)
        printf("  Due but unsent at the end (in the latency, from their intended times): %llu\n",
               (unsigned long long)r->unsent_at_end);
}

/* --go FILE: say the driver is up (FILE.ready), then wait for the harness
 * to say the link is wired (FILE). 0, or -1 (said why). */
static int wait_go(const char *path)
{
    char ready[4096];
    snprintf(ready, sizeof(ready), "%s.ready", path);
    FILE *f = fopen(ready, "we");
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "load: --go: cannot create %s: %s\n", ready, strerror(errno));
        return -1;
    }
    for (int ms = 0; ms < 60000 && !cli_stop; ms++) {
        if (access(path, F_OK) == 0) return 0;
        usleep(1000);
    }
    fprintf(stderr, "load: --go %s: %s\n", path,
            cli_stop ? "interrupted while waiting" : "not there after 60 s");
    return -1;
}

/* --go FILE after the run: say so (FILE.done) and keep the driver up until
 * the harness removes FILE (it reads the interface and stops a capture
 * attached to this process first), at most 60 s. */
static void hold_go(const char *path)
{
    char done[4096];
    snprintf(done, sizeof(done), "%s.done", path);
    FILE *f = fopen(done, "we");
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "load: --go: cannot create %s: %s\n", done, strerror(errno));
        return;
    }
    for (int ms = 0; ms < 60000 && !cli_stop && access(path, F_OK) == 0; ms++)
        usleep(1000);
}

int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        GENFLAGS_LONG,
        {"driver", 1, 0, 'D'}, {"cpu", 1, 0, 'C'},   {"iface", 1, 0, 'i'}, {"ip", 1, 0, 'a'},
        {"opt", 1, 0, 'o'},    {"json", 1, 0, 'j'},  {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
        {"window-iface", 1, 0, 'w'}, {"go", 1, 0, 'g'},
        {0, 0, 0, 0},
    };
    const char *driver = "kernel", *json_path = NULL, *window_iface = NULL, *go = NULL;
    const char *dopts[65] = {0};
    int ndopts = 0, quiet = 0;
    char err[1024]; /* a driver's unknown-option error lists every key */
    struct netio_config ncfg = {.cpu = -1};
    struct lg_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    wl_spec_defaults(&cfg.spec);
    struct genflags gf = {0};
    int c, li = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, GENFLAGS_SHORT "qh", opts, &li)) != -1) {
        int g = genflags_apply(&gf, &cfg.spec, c, optarg, err, sizeof(err));
        if (g < 0) {
            fprintf(stderr, "load: %s\n", err);
            return 2;
        }
        if (g) continue;
        switch (c) {
        case 'D': driver = optarg; break;
        case 'C': ncfg.cpu = atoi(optarg); break;
        case 'i': ncfg.iface = optarg; break;
        case 'a': ncfg.ip = optarg; break;
        case 'o':
            if (ndopts == 64 || !strchr(optarg, '=')) {
                fprintf(stderr, "load: bad value '%s' for --opt: expected KEY=VALUE\n", optarg);
                return 2;
            }
            dopts[ndopts++] = optarg;
            break;
        case 'j': json_path = optarg; break;
        case 'w': window_iface = optarg; break;
        case 'g': go = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            usage(stdout);
            printf("Driver options (--opt KEY=VALUE), from the drivers' tables:\n");
            doctor_driver_opts(stdout, "  ");
            return 0;
        default: usage(stderr); return 2;
        }
    }
    genflags_finish(&gf, &cfg.spec);
    if (optind != argc - 1) {
        fprintf(stderr, "load: expected one URL (try --help)\n");
        return 2;
    }
    const char *url = argv[optind];
    if (cli_parse_url(url, &cfg.dst, cfg.host, sizeof(cfg.host), cfg.spec.path,
                      sizeof(cfg.spec.path), err, sizeof(err)) < 0 ||
        wl_spec_validate(&cfg.spec, err, sizeof(err)) < 0) {
        fprintf(stderr, "load: %s\n", err);
        return 2;
    }
    ncfg.opts = ndopts ? dopts : NULL;
    cli_on_signals();
    struct netio *io = netio_open(driver, &ncfg, err, sizeof(err));
    if (!io) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    if (go && wait_go(go) < 0) {
        netio_destroy(io);
        return 1;
    }
    cfg.stop = &cli_stop;
    if (!quiet && isatty(2)) cfg.progress = on_progress;
    if (!quiet)
        printf("load %s: driver %s, mode %s, %u connections, pipeline %u\n", url, driver,
               wl_mode_str(cfg.spec.mode), cfg.spec.connections, cfg.spec.pipeline);
    fflush(stdout);
    struct lg_result *res = malloc(sizeof(*res));
    struct report_window *win = calloc(1, sizeof(*win));
    struct cpuacct_hw hw = {0};
    char hw_why[256] = "";
    if (!res || !win) {
        free(res);
        free(win);
        netio_destroy(io);
        return 1;
    }
    if (json_path) { /* the window's snapshots go into the JSON */
        win->hw = cpuacct_hw_open(&hw, hw_why, sizeof(hw_why)) == 0 ? &hw : NULL;
        win->hw_why = hw_why;
        win->io = io;
        win->iface = window_iface;
        cfg.window = report_window_edge;
        cfg.window_arg = win;
    }
    int rc = loadgen_run(io, &cfg, res, err, sizeof(err));
    if (cfg.progress) fprintf(stderr, "\n");
    if (rc < 0) fprintf(stderr, "load: %s\n", err);
    if (!quiet && rc == 0) summary(&cfg.spec, res);
    if (json_path) {
        json_t *j = report_client_json(&cfg.spec, driver, url, res, io, rc == 0, win);
        if (rc < 0) json_object_set_new(j, "error", json_string(err));
        if (report_json_write(json_path, j, err, sizeof(err)) < 0) {
            fprintf(stderr, "load: %s\n", err);
            rc = -1;
        }
        json_decref(j);
    }
    if (go) hold_go(go);
    free(res);
    free(win);
    cpuacct_hw_close(&hw);
    netio_destroy(io);
    return rc == 0 ? 0 : 1;
}
