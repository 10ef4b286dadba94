/*
 * harness/cli/run.c — `bypassbench run`: the whole experiment.
 *
 *   parse suite (refuse bad files before anything runs) -> topology up ->
 *   for each workload, repeat, driver: run_one() = trial_plan() ->
 *   trial_execute() -> trial_record() (harness/run/trial.h) -> write the
 *   record, print a progress line -> summary, figures, report -> topology down.
 *
 * The topology is torn down at the end, on error and on SIGINT/SIGTERM; every
 * child is in its own process group with PDEATHSIG, and `topo down` cleans up
 * after a SIGKILL. Calls: harness/run/ (suite, trial, topo, cpuacct,
 * hugepages, sysinfo), harness/analysis/ (results, plot, report).
 */
#include "harness/analysis/plot.h"
#include "harness/analysis/report.h"
#include "harness/analysis/report_json.h"
#include "harness/analysis/results.h"
#include "harness/cli/cli.h"
#include "harness/run/cpuacct.h"
#include "harness/run/fixed_server.h"
#include "drivers/opts.h"
#include "harness/run/hugepages.h"
#include "harness/run/proc.h"
#include "harness/run/remote.h"
#include "harness/run/suite.h"
#include "harness/run/sysinfo.h"
#include "harness/run/topo.h"
#include "harness/run/trial.h"
#include "workloads/units.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct run {
    struct suite suite;
    char self[PATH_MAX];
    char dir[PATH_MAX];
    json_t *env;
    json_t *records;
    double tsc_hz;
    int dut_has_addr; /* the kernel in bb-dut owns TOPO_IP_DUT right now */
    int veth_offloads; /* the veth ends' offloads right now */
    int huge_ok;      /* hugepages reserved: DPDK capture through a pdump secondary */
    int huge_rows;    /* hugepages reserved for rows with huge = 1 (dpdk_row_on_hugepages) */
    struct cpuacct_hw hw; /* hardware cycle counters, when the machine has them */
    char huge_why[256];
    int trial, ntrials, failed;
    uint64_t started;
    struct trial_plan plan; /* the current trial's (large: paths and argv) */
    char www[PATH_MAX + 8]; /* server = nginx: the files it serves ("" until written) */
    int sweep_wi;           /* the sweep point being run (-1: none) and its capacity */
    double sweep_cap;
    struct remote_hosts *hosts; /* a run across hosts (dut_host, gen_host); NULL: namespaces */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench run [SUITE.ini] [OPTIONS]   (default suite: suites/default.ini)\n"
            "  --drivers LIST   comma list of DUT drivers, overriding the suite's `drivers`\n"
            "  --quick          1 repeat, 1 s windows, 200 ms warm-ups (downloads unchanged)\n"
            "  --out DIR        results go to DIR/<timestamp>/ (default results)\n"
            "  --check          parse the suite and print the plan, run nothing\n"
            "Needs root (network namespaces); a suite with dut_host and gen_host runs on those\n"
            "hosts over ssh and needs root there only. Ctrl-C stops after tearing everything "
            "down.\n\n");
    suite_print_help(f);
}

/* The suite file's bytes as a string (a suite is small text), or why not. */
static json_t *suite_text_json(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) return json_sprintf("not readable: %s", strerror(errno));
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    int big = !feof(f);
    fclose(f);
    buf[n] = '\0';
    json_t *t = big ? json_string("not kept: over 64 KiB") : json_stringn(buf, n);
    return t ? t : json_string("not kept: not UTF-8 text");
}

/* One trial: plan, life cycle, record; the record is written and kept for
 * the summary, and one progress line printed. */
/* The median req/s of the ok trials of workload name on driver label so far
 * (NAN when none): a sweep point's capacity. */
static double capacity_rps(const struct run *r, const char *name, const char *label)
{
    double v[1024];
    size_t n = 0, i;
    json_t *rec;
    json_array_foreach(r->records, i, rec)
    {
        const char *st = json_string_value(json_object_get(rec, "status"));
        const char *wn =
            json_string_value(json_object_get(json_object_get(rec, "workload"), "name"));
        const char *d = json_string_value(json_object_get(rec, "driver"));
        json_t *x = json_object_get(json_object_get(rec, "metrics"), "rps");
        if (st && wn && d && json_is_number(x) && strcmp(st, "ok") == 0 &&
            strcmp(wn, name) == 0 && strcmp(d, label) == 0 && n < sizeof v / sizeof v[0])
            v[n++] = json_number_value(x);
    }
    if (!n) return NAN;
    for (size_t a = 1; a < n; a++) /* insertion sort: a handful of repeats */
        for (size_t b = a; b > 0 && v[b - 1] > v[b]; b--) {
            double t = v[b];
            v[b] = v[b - 1], v[b - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int run_one(struct run *r, const struct wl_spec *w, const char *entry, unsigned rep)
{
    struct trial_ctx c = {.suite = &r->suite, .self = r->self, .dir = r->dir, .env = r->env,
                          .tsc_hz = r->tsc_hz, .hw = &r->hw, .huge_ok = r->huge_ok,
                          .dut_has_addr = &r->dut_has_addr,
                          .veth_offloads = &r->veth_offloads, .stop = &cli_stop,
                          .www = r->www[0] ? r->www : NULL};
    struct trial_outcome o;
    char err[512];
    json_t *rec;
    if (r->hosts) {
        rec = remote_trial(r->hosts, &c, &r->plan, w, entry, rep, r->trial, &o);
    } else {
        trial_plan(&r->plan, &c, w, entry, rep, r->trial);
        trial_execute(&c, &r->plan, w, &o);
        rec = trial_record(&c, &r->plan, w, &o);
    }
    const char *driver = r->plan.tl.label;
    if (r->sweep_wi >= 0) { /* where a sweep point's rate came from */
        json_t *wl = json_object_get(rec, "workload");
        const struct suite *s = &r->suite;
        json_object_set_new(wl, "sweep", json_string(s->sweep[r->sweep_wi]));
        json_object_set_new(wl, "load", json_real(s->load[r->sweep_wi]));
        json_object_set_new(wl, "capacity_of", json_string(s->capacity_of[r->sweep_wi]));
        json_object_set_new(wl, "capacity_rps", json_real(r->sweep_cap));
    }
    if (results_write_trial(r->dir, w->name, driver, rep, rec, err, sizeof(err)) < 0)
        fprintf(stderr, "run: %s\n", err);
    json_array_append_new(r->records, rec);

    /* progress line */
    char a[32], b[32];
    json_t *m = json_object_get(rec, "metrics");
    double elapsed = (double)(proc_mono_ns() - r->started) / 1e9;
    printf("[%d/%d %5.0fs] %-12s %-8s r%u  ", r->trial, r->ntrials, elapsed, w->name, driver, rep);
    if (w->mode == WL_DOWNLOAD)
        printf("%8.2f s  %6.2f Gbit/s", json_number_value(json_object_get(m, "download_s")),
               json_number_value(json_object_get(m, "gbps")));
    else
        printf("%10s req/s  p99 %s",
               units_format_count(json_number_value(json_object_get(m, "rps")), a, sizeof(a)),
               units_format_ns((uint64_t)json_number_value(json_object_get(m, "lat_p99_ns")), b,
                               sizeof(b)));
    printf("  %s%s\n", o.failure ? "FAILED: " : "ok", o.failure ? o.failure : "");
    fflush(stdout);
    if (o.failure) r->failed++;
    return o.failure ? -1 : 0;
}

/* Kernel knobs inside the namespaces: a CPS run must not run out of ports. */
static void tune_namespaces(void)
{
    static const char *const knobs[][2] = {
        {TOPO_NS_GEN, "net.ipv4.tcp_tw_reuse=1"},
        {TOPO_NS_GEN, "net.ipv4.ip_local_port_range=1024 65535"},
        {TOPO_NS_DUT, "net.core.somaxconn=65535"},
        {TOPO_NS_DUT, "net.ipv4.tcp_max_syn_backlog=65535"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
        if (topo_ip(err, sizeof(err), "netns", "exec", knobs[i][0], "sysctl", "-q", "-w",
                    knobs[i][1], NULL) < 0)
            fprintf(stderr, "run: warning: %s\n", err);
}

/* Trial rep of workload wi on a driver; a sweep point first gets its rate:
 * its load times the capacity its driver reached in this run. */
static void run_point(struct run *r, int wi, const char *entry, unsigned rep)
{
    const struct suite *s = &r->suite;
    if (s->load[wi] <= 0) {
        run_one(r, &s->workloads[wi], entry, rep);
        return;
    }
    struct wl_spec w = s->workloads[wi];
    struct trial_link tl;
    trial_resolve_link(s, entry, &tl);
    double cap = capacity_rps(r, s->capacity_of[wi], tl.label);
    if (!isfinite(cap) || cap < 1) {
        printf("[%d/%d] %-12s %-8s r%u  FAILED: no ok trial of its capacity workload %s on "
               "this driver: no rate to offer\n",
               r->trial, r->ntrials, w.name, tl.label, rep, s->capacity_of[wi]);
        r->failed++;
        return;
    }
    w.rate = (uint64_t)llround(cap * s->load[wi]);
    if (w.rate < 1) w.rate = 1;
    r->sweep_wi = wi;
    r->sweep_cap = cap;
    run_one(r, &w, entry, rep);
    r->sweep_wi = -1;
}

static void print_plan(const struct suite *s)
{
    char d[32], w[32];
    printf("suite %s (%s, hash %s): %d workloads x %d drivers x %u repeats on %s\n", s->name,
           s->path, s->hash, s->nworkloads, s->ndrivers, s->repeats, s->link);
    if (s->dut == SUITE_DUT_CLIENT)
        printf("  DUT: the client (each driver runs the generator in %s); fixed server: %s on "
               "kernel sockets in %s\n",
               TOPO_NS_DUT,
               s->server == SUITE_SERVER_NGINX ? "nginx (" FIXED_NGINX_CONF_SOURCE ")"
                                               : "ours (serve --driver kernel)",
               TOPO_NS_GEN);
    for (int i = 0; i < s->nworkloads; i++) {
        const struct wl_spec *x = &s->workloads[i];
        printf("  %-14s %-8s %-14s c=%-5u p=%-3u %s warm-up %s", x->name, wl_mode_str(x->mode),
               x->path, x->connections, x->pipeline,
               x->mode == WL_DOWNLOAD ? "-" : units_format_ns(x->duration_ns, d, sizeof(d)),
               units_format_ns(x->warmup_ns, w, sizeof(w)));
        if (s->load[i] > 0)
            printf("  rate %.0f%% of %s's req/s", s->load[i] * 100, s->capacity_of[i]);
        if (s->wl_repeats[i])
            printf("  %u repeat%s", s->wl_repeats[i], s->wl_repeats[i] == 1 ? "" : "s");
        if (s->app[i].server != APP_NONE || s->app[i].gen != APP_NONE)
            printf("  server %s, generator %s", app_info(s->app[i].server)->name,
                   app_info(s->app[i].gen)->name);
        printf("\n");
    }
}

/* A run across hosts: connect to both and prepare them, refusing before any
 * trial when one cannot be reached (or runs another version); their
 * environments go into env.hosts. */
static int open_hosts(struct run *r, char *err, size_t errlen)
{
    struct remote_hosts *rh = r->hosts;
    const struct suite *s = &r->suite;
    const struct suite_host *dh = suite_host_find(s, s->dut_host),
                            *gh = suite_host_find(s, s->gen_host);
    rh->suite = *s; /* shares the option strings: never freed through it */
    if (dh->cpu >= 0) rh->suite.dut_cpu = dh->cpu;
    if (gh->cpu >= 0) rh->suite.gen_cpu = gh->cpu;
    printf("hosts: DUT on %s (%s, %s %s/%d), generator on %s (%s, %s %s/%d), over ssh\n", dh->name,
           dh->ssh, dh->iface, dh->ip, dh->prefix, gh->name, gh->ssh, gh->iface, gh->ip,
           gh->prefix);
    fflush(stdout);
    if (remote_open(&rh->dut, dh, "dut", s->path, r->self, err, errlen) < 0) return -1;
    if (remote_open(&rh->gen, gh, "gen", s->path, r->self, err, errlen) < 0) {
        remote_close(&rh->dut);
        return -1;
    }
    json_t *hosts = json_object();
    const struct remote *two[] = {&rh->dut, &rh->gen};
    for (int i = 0; i < 2; i++)
        json_object_set_new(
            hosts, i ? "gen" : "dut",
            json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:b,s:O}", "name", two[i]->h->name, "ssh",
                      two[i]->h->ssh, "iface", two[i]->h->iface, "ip", two[i]->h->ip, "prefix",
                      two[i]->h->prefix, "pci", two[i]->h->pci, "cpu",
                      i ? rh->suite.gen_cpu : rh->suite.dut_cpu, "version", two[i]->version,
                      "binary_copied", two[i]->copied, "env", two[i]->env));
    json_object_set_new(r->env, "hosts", hosts);
    json_object_set_new(r->env, "clocks",
                        json_string("no timestamp is compared across hosts: latency is measured "
                                    "on the generator host's clock, each CPU window on its own "
                                    "host's"));
    json_object_set_new(r->env, "harness_host_role",
                        json_string("controller only: trials ran on dut_host and gen_host"));
    return 0;
}

/* The first DUT row whose dpdk options (its [driver dpdk], then its
 * variant's section) say huge = 1, or NULL. */
static const char *dpdk_row_on_hugepages(const struct suite *s)
{
    for (int i = 0; i < s->ndrivers; i++) {
        struct trial_link tl;
        trial_resolve_link(s, s->drivers[i], &tl);
        if (strcmp(tl.drv, "dpdk") != 0) continue;
        const char *v = tl.variant[0] ? opts_value(suite_driver_opts(s, tl.variant), "huge", -1)
                                      : NULL; /* the variant's section comes last: it wins */
        if (!v) v = opts_value(suite_driver_opts(s, "dpdk"), "huge", -1);
        if (v && strcmp(v, "1") == 0) return s->drivers[i];
    }
    return NULL;
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"drivers", 1, 0, 'D'}, {"quick", 0, 0, 'Q'},
                                         {"out", 1, 0, 'o'},     {"check", 0, 0, 'K'},
                                         {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    const char *drivers = NULL, *out = "results", *path = "suites/default.ini";
    int quick = 0, check = 0, c;
    char err[1024];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': drivers = optarg; break;
        case 'Q': quick = 1; break;
        case 'o': out = optarg; break;
        case 'K': check = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "run: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct run *r = calloc(1, sizeof(*r));
    if (!r) return 1;
    r->sweep_wi = -1;
    int rc = 2;
    if (suite_load(path, &r->suite, err, sizeof(err)) < 0) {
        fprintf(stderr, "run: %s\n", err);
        free(r);
        return 2;
    }
    if (drivers && suite_set_drivers(&r->suite, drivers, err, sizeof(err)) < 0) {
        fprintf(stderr, "run: --drivers: %s\n", err);
        goto out_suite;
    }
    if (quick) suite_apply_quick(&r->suite);
    for (int i = 0; i < r->suite.ndrivers; i++) {
        struct trial_link tl;
        trial_resolve_link(&r->suite, r->suite.drivers[i], &tl);
        if (!suite_link_ok(tl.drv, tl.link)) {
            fprintf(stderr, "run: %s: driver %s cannot run on link %s (tap, ring and xdp: dpdk only)\n",
                    path, tl.drv, tl.link);
            goto out_suite;
        }
        const struct netio_ops *ops = netio_find(tl.drv);
        if (ops->probe && ops->probe(err, sizeof(err)) < 0) {
            fprintf(stderr, "run: driver %s cannot run here: %s\n", ops->name, err);
            goto out_suite;
        }
    }
    if (r->suite.server == SUITE_SERVER_NGINX) {
        char nginx[PATH_MAX];
        if (fixed_nginx_path_bad(&r->suite, err, sizeof(err))) {
            fprintf(stderr, "run: %s: %s\n", path, err);
            goto out_suite;
        }
        if (topo_which("nginx", nginx, sizeof(nginx)) < 0) {
            fprintf(stderr, "run: %s: server = nginx, but nginx is not installed (make deps)\n",
                    path);
            goto out_suite;
        }
    }
    print_plan(&r->suite);
    if (check) {
        rc = 0;
        goto out_suite;
    }
    if (r->suite.dut_host[0] && !(r->hosts = calloc(1, sizeof(*r->hosts)))) goto out_suite;
    if (!r->hosts && geteuid() != 0) {
        fprintf(stderr, "run: needs root to create network namespaces (try sudo)\n");
        goto out_suite;
    }
    if (!r->hosts && topo_lock(0, err, sizeof(err)) < 0) {
        fprintf(stderr, "run: %s\n", err);
        goto out_suite;
    }
    ssize_t sl = readlink("/proc/self/exe", r->self, sizeof(r->self) - 1);
    if (sl <= 0) {
        fprintf(stderr, "run: cannot find my own binary: %s\n", strerror(errno));
        goto out_suite;
    }
    r->self[sl] = 0;
    if (results_dir_create(out, r->dir, sizeof(r->dir), err, sizeof(err)) < 0) {
        fprintf(stderr, "run: %s\n", err);
        goto out_suite;
    }
    char logs[PATH_MAX + 8];
    snprintf(logs, sizeof(logs), "%s/logs", r->dir);
    mkdir(logs, 0755);
    struct sysinfo si;
    sysinfo_collect(&si);
    r->env = sysinfo_json(&si);
    r->tsc_hz = si.tsc_hz;
    char hw_why[256] = "";
    if (cpuacct_hw_open(&r->hw, hw_why, sizeof(hw_why)) == 0)
        json_object_set_new(r->env, "cpu_accounting", json_string("perf_event_cycles"));
    else
        json_object_set_new(r->env, "cpu_accounting",
                            json_pack("{s:s,s:s}", "method", "proc_stat_busy_x_tsc",
                                      "why_not_perf", hw_why));
    json_object_set_new(r->env, "suite_path", json_string(r->suite.path));
    /* the suite file itself, so a record can be rerun without the tree it came from */
    json_object_set_new(r->env, "suite_text", suite_text_json(r->suite.path));
    json_object_update_new(r->env, sysinfo_host_json("", si.ncpu));
    json_object_set_new(r->env, "quick", json_boolean(quick));
    json_object_set_new(r->env, "dut", json_string(suite_dut_str(r->suite.dut)));
    if (r->suite.dut == SUITE_DUT_CLIENT)
        json_object_set_new(r->env, "fixed_server",
                            json_string(r->suite.server == SUITE_SERVER_NGINX
                                            ? "nginx on kernel sockets (" FIXED_NGINX_CONF_SOURCE ")"
                                            : "ours (serve --driver kernel)"));
    json_object_set_new(r->env, "p99_target_ns",
                        json_integer((json_int_t)r->suite.p99_target_ns));
    char env_path[PATH_MAX + 16];
    snprintf(env_path, sizeof(env_path), "%s/env.json", r->dir);
    report_json_write(env_path, r->env, err, sizeof(err));
    r->records = json_array();
    cli_on_signals();
    if (r->hosts) {
        if (open_hosts(r, err, sizeof(err)) < 0) {
            fprintf(stderr, "run: %s\n", err);
            rc = 1;
            goto out_down;
        }
        report_json_write(env_path, r->env, err, sizeof(err));
        goto trials;
    }

    struct topo_config tc = {.link = r->suite.link, .rps = r->suite.rps,
                             .dut_cpu = r->suite.dut_cpu, .dut_addr = 1,
                             .offloads = r->suite.offloads};
    printf("topology: %s up (%s %s/%d <-> %s %s/%d)\n", r->suite.link, TOPO_NS_GEN, TOPO_IP_GEN,
           TOPO_PREFIX, TOPO_NS_DUT, TOPO_IP_DUT, TOPO_PREFIX);
    if (topo_up(&tc, err, sizeof(err)) < 0) {
        fprintf(stderr, "run: topology: %s\n", err);
        rc = 1;
        goto out_down;
    }
    tune_namespaces();
    r->dut_has_addr = 1;
    r->veth_offloads = r->suite.offloads;
    /* the interfaces as the trials find them: offloads decide a comparison */
    static const char *const nss[] = {TOPO_NS_GEN, TOPO_NS_DUT, NULL};
    json_object_set_new(r->env, "offloads", sysinfo_offloads_json(nss));
    json_object_set_new(r->env, "offloads_when",
                        json_string("after the topology came up, before the first trial"));
    report_json_write(env_path, r->env, err, sizeof(err));
    int want_huge = 0;
    for (int i = 0; i < r->suite.ndrivers; i++)
        want_huge |= r->suite.capture && strncmp(r->suite.drivers[i], "dpdk", 4) == 0;
    const char *huge_row = dpdk_row_on_hugepages(&r->suite);
    if (huge_row) { /* a row runs DPDK's memory on hugepages (huge = 1): reserve them */
        int got = hugepages_ensure(512, r->huge_why, sizeof(r->huge_why));
        if (got < 128) { /* one EAL's -m 256 */
            fprintf(stderr,
                    "run: %s: row %s asks huge = 1 but %s: give it hugepages "
                    "(/proc/sys/vm/nr_hugepages) or drop huge = 1\n",
                    path, huge_row, got < 0 ? r->huge_why : "fewer than 128 2 MiB pages are free");
            if (got >= 0 && hugepages_release(err, sizeof(err)) < 0)
                fprintf(stderr, "run: hugepages: %s\n", err);
            rc = 1;
            goto out_down;
        }
        r->huge_rows = 1;
        printf("dpdk: row %s on hugepages (%d pages of 2 MiB reserved)\n", huge_row, got);
    }
    if (want_huge) {
        r->huge_ok = hugepages_ensure(512, r->huge_why, sizeof(r->huge_why)) > 0; /* pages */
        printf("capture: DPDK through %s\n", r->huge_ok ? "a pdump secondary (hugepages reserved)"
                                                          : "in-process rte_pcapng");
        if (!r->huge_ok) printf("capture: no multi-process: %s\n", r->huge_why);
    }
    int want_www = r->suite.server == SUITE_SERVER_NGINX;
    for (int i = 0; i < r->suite.nworkloads; i++) /* server_app = nginx serves them too */
        want_www |= r->suite.app[i].server == APP_NGINX;
    if (want_www) {
        printf("nginx: writing the files it serves (the /bytes/N pattern)\n");
        fflush(stdout);
        if (fixed_www_prepare(&r->suite, r->dir, r->www, sizeof(r->www), err, sizeof(err)) < 0) {
            fprintf(stderr, "run: nginx's files: %s\n", err);
            rc = 1;
            goto out_down;
        }
    }
trials:
    r->ntrials = 0;
    for (int wi = 0; wi < r->suite.nworkloads; wi++)
        r->ntrials += r->suite.ndrivers * (int)suite_repeats_of(&r->suite, wi);
    r->started = proc_mono_ns();
    /* Repeats interleave drivers, so slow drift hits every driver alike. */
#define GO_ON (!cli_stop && !(r->hosts && r->hosts->lost))
    for (int wi = 0; wi < r->suite.nworkloads && GO_ON; wi++)
        for (unsigned rep = 1; rep <= suite_repeats_of(&r->suite, wi) && GO_ON; rep++)
            for (int di = 0; di < r->suite.ndrivers && GO_ON; di++) {
                r->trial++;
                run_point(r, wi, r->suite.drivers[di], rep);
            }
    if (results_write_summary(r->dir, r->records, err, sizeof(err)) < 0)
        fprintf(stderr, "run: %s\n", err);
    else {
        struct plot_opts po = {.notes = NULL};
        if (plot_run(r->dir, &po, err, sizeof(err)) < 0) /* figures, then the report */
            fprintf(stderr, "run: plots: %s\n", err);
        if (report_write(r->dir, NULL, err, sizeof(err)) < 0)
            fprintf(stderr, "run: report: %s\n", err);
        else
            printf("Report: %s/REPORT.md (figures in %s/plots/)\n", r->dir, r->dir);
    }
    rc = cli_stop ? 130 : r->failed ? 1 : 0;
    printf("%d trials, %d failed%s. Results: %s/summary.csv\n", r->trial, r->failed,
           cli_stop ? " (interrupted)" : r->hosts && r->hosts->lost ? " (a host was lost)" : "",
           r->dir);
out_down:
    if (r->www[0] && fixed_www_remove(r->www, err, sizeof(err)) < 0)
        fprintf(stderr, "run: %s\n", err);
    if (r->hosts) {
        remote_close(&r->hosts->dut);
        remote_close(&r->hosts->gen);
        if (r->hosts->dut.unclean[0]) fprintf(stderr, "run: warning: %s\n", r->hosts->dut.unclean);
        if (r->hosts->gen.unclean[0]) fprintf(stderr, "run: warning: %s\n", r->hosts->gen.unclean);
        if (!r->hosts->dut.unclean[0] && !r->hosts->gen.unclean[0])
            printf("hosts: processes stopped, addresses restored, connections closed\n");
        free(r->hosts);
        r->hosts = NULL;
        goto out_env;
    }
    if ((r->huge_ok || r->huge_rows) && hugepages_release(err, sizeof(err)) < 0)
        fprintf(stderr, "run: hugepages: %s\n", err);
    if (topo_down(err, sizeof(err)) < 0) fprintf(stderr, "run: teardown: %s\n", err);
out_env:
    json_decref(r->records);
    json_decref(r->env);
    cpuacct_hw_close(&r->hw);
out_suite:
    free(r->hosts);
    suite_free(&r->suite);
    free(r);
    return rc;
}
