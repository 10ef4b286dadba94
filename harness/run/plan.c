/*
 * plan.c — trial_plan(): what one trial runs where (see trial.h). The argv
 * of `serve` in bb-dut, of the generator (`load` in bb-gen, or `pair` for
 * the ring link, where server and generator share one process over
 * net_ring), and of the capture (`capture` with libpcap on the DUT
 * interface, or `pdump` as a DPDK secondary), and the trial's files in
 * logs/. Pure: it creates, removes and starts nothing.
 * With dut = client (issue 18) the roles swap processes, not namespaces:
 * `load` on the DUT driver in bb-dut (its interface, address, options and
 * capture, as serve's would be), and the fixed server in bb-gen on kernel
 * sockets (plan_fixed_server: ours, or nginx).
 * A workload that names applications (server_app, gen_app; apps.h) gets
 * their command lines instead (plan_apps): the server behind taskset, under
 * `bypassbench exec` on our stack's drivers, the generator behind taskset in
 * bb-gen, and its throw-away warm-up run.
 * Callers: harness/cli/run.c, tests/harness/run/test_trial.c. Calls: suite.c,
 * opts_value (drivers/opts.c), topo_which (nginx's path).
 */
#include "harness/run/trial.h"

#include "drivers/opts.h"
#include "harness/run/apps.h"

#include <stdio.h>
#include <string.h>

void trial_resolve_link(const struct suite *s, const char *entry, struct trial_link *t)
{
    char name[32];
    memset(t, 0, sizeof(*t));
    suite_entry_split(entry, s->link, name, sizeof(name), t->link, sizeof(t->link));
    suite_driver_base(name, t->drv, sizeof(t->drv));
    if (strchr(name, '+')) snprintf(t->variant, sizeof(t->variant), "%s", name);
    if (strcmp(t->link, "veth") == 0)
        snprintf(t->label, sizeof(t->label), "%s", name);
    /* xdp is the veth too: only the dpdk port on it differs (plan_server) */
    else
        snprintf(t->label, sizeof(t->label), "%s-%s", name, t->link);
    t->dut_ip = strcmp(t->link, "tap") == 0 ? TRIAL_TAP_IP_DUT : TOPO_IP_DUT;
    t->srv_ip = strcmp(t->link, "tap") == 0 ? TRIAL_TAP_IP_GEN : TOPO_IP_GEN;
    t->stats_ns = TOPO_NS_DUT;
    t->stats_if = TOPO_IF_DUT;
    t->gen_if = strcmp(t->link, "ring") == 0 ? NULL : TOPO_IF_GEN;
    if (strcmp(t->link, "tap") == 0) { /* the kernel side of the tap is in bb-gen */
        t->stats_ns = TOPO_NS_GEN;
        t->stats_if = TRIAL_TAP_IF;
        t->swap_stats = 1;
        t->gen_if = TRIAL_TAP_IF;
    }
}

/* Does the user's [driver dpdk] section already say which port to use? The
 * keys are the dpdk pktio's, looked up the parser's way (opts_value); the
 * list stays here, not in its table: the plan must be the same in a build
 * without DPDK, where that table is not linked. */
static int opts_pick_port(const char *const *o)
{
    static const char *const keys[] = {"vdev", "eal", "port", "ring"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (opts_value(o, keys[i], 0)) return 1;
    return 0;
}

static void push(char **argv, int *n, const char *s)
{
    argv[(*n)++] = (char *)s;
}

/* The driver's options as --opt pairs: [driver NAME], then a variant's
 * [driver NAME+VARIANT] (the driver's parser keeps the last of a key). */
static void push_dopts(char **a, int *n, const struct suite *s, const struct trial_link *tl)
{
    const char *const *o = suite_driver_opts(s, tl->drv);
    for (int i = 0; o && o[i]; i++)
        push(a, n, "--opt"), push(a, n, o[i]);
    o = tl->variant[0] ? suite_driver_opts(s, tl->variant) : NULL;
    for (int i = 0; o && o[i]; i++)
        push(a, n, "--opt"), push(a, n, o[i]);
}

int trial_kernel_sockets(const char *drv)
{
    return strcmp(drv, "kernel") == 0 || strcmp(drv, "io_uring") == 0;
}

static void fmt_ns(char *buf, size_t len, uint64_t ns)
{
    snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

/* The DUT driver's part of an argv (serve's, or load's with dut = client):
 * its interface and address when our stack owns them, its options, the
 * dpdk port the link implies, and the capture options that go into the
 * DUT process (pdump=1, or in-process rte_pcapng). */
static void push_dut_driver(char **a, int *np, struct trial_plan *p, const struct trial_ctx *c,
                            int trial)
{
    const struct suite *s = c->suite;
    const struct trial_link *tl = &p->tl;
    int n = *np;
    if (!trial_kernel_sockets(tl->drv)) { /* our stack owns the DUT address */
        if (strcmp(tl->drv, "afpacket") == 0 || strcmp(tl->drv, "afxdp") == 0)
            push(a, &n, "--iface"), push(a, &n, TOPO_IF_DUT);
        push(a, &n, "--ip"), push(a, &n, p->dut_cidr);
    }
    push_dopts(a, &n, s, tl);
    /* DPDK: the port follows from the link unless the suite names one. */
    if (strcmp(tl->drv, "dpdk") == 0 && !opts_pick_port(suite_driver_opts(s, tl->drv)) &&
        !(tl->variant[0] && opts_pick_port(suite_driver_opts(s, tl->variant))) && !p->ring)
        push(a, &n, "--opt"),
            push(a, &n, p->tap   ? "vdev=net_tap0,iface=" TRIAL_TAP_IF
                        : p->xdp ? "vdev=net_af_xdp0,iface=" TOPO_IF_DUT
                                 : "vdev=net_af_packet0,iface=" TOPO_IF_DUT ",framecnt=" TRIAL_AFP_FRAMECNT);
    /* the row's offloads (suite_row_offloads), in the pktio's option of
     * that name; the suite keeps it out of the sections' options */
    if (strcmp(tl->drv, "afpacket") == 0 || strcmp(tl->drv, "dpdk") == 0)
        push(a, &n, "--opt"), push(a, &n,
                                  suite_row_offloads(s, tl->drv, tl->variant) ? "offloads=1"
                                                                                : "offloads=0");
    /* Capture: libpcap on the DUT interface for kernel paths; for DPDK a
     * pdump secondary when hugepages allow multi-process, else in-process
     * rte_pcapng. The ring link has no capture point outside the process. */
    int cap_dpdk = strcmp(tl->drv, "dpdk") == 0;
    if (s->capture && !p->ring) {
        snprintf(p->cap_ready, sizeof(p->cap_ready), "%s.capture.ready", p->base);
        if (cap_dpdk && c->huge_ok) {
            p->cap_method = "pdump";
            snprintf(p->cap_file, sizeof(p->cap_file), "%s.pcapng", p->base);
            snprintf(p->cap_prefix, sizeof(p->cap_prefix), "bbdut%d", trial);
            snprintf(p->cap_opt1, sizeof(p->cap_opt1), "file_prefix=%s", p->cap_prefix);
            push(a, &n, "--opt"), push(a, &n, "pdump=1");
            push(a, &n, "--opt"), push(a, &n, p->cap_opt1);
        } else if (cap_dpdk) {
            p->cap_method = "in-process rte_pcapng";
            snprintf(p->cap_file, sizeof(p->cap_file), "%s.pcapng", p->base);
            snprintf(p->cap_opt1, sizeof(p->cap_opt1), "capture=%s", p->cap_file);
            snprintf(p->cap_opt2, sizeof(p->cap_opt2), "capture_count=%s", TRIAL_CAP_COUNT);
            push(a, &n, "--opt"), push(a, &n, p->cap_opt1);
            push(a, &n, "--opt"), push(a, &n, p->cap_opt2);
            push(a, &n, "--opt"), push(a, &n, "capture_snaplen=" TRIAL_CAP_SNAPLEN);
        } else {
            p->cap_method = "libpcap";
            snprintf(p->cap_file, sizeof(p->cap_file), "%s.pcap", p->base);
        }
    }
    *np = n;
}

/* serve's argv with the server as the DUT: the DUT driver, its options and
 * the capture options that go into the server. */
static void plan_server(struct trial_plan *p, const struct trial_ctx *c, int trial)
{
    const struct suite *s = c->suite;
    const struct trial_link *tl = &p->tl;
    char **a = p->sargv;
    int n = 0;
    push(a, &n, c->self);
    push(a, &n, "serve");
    push(a, &n, "--driver"), push(a, &n, tl->drv);
    push(a, &n, "--listen"), push(a, &n, p->listen);
    push(a, &n, "--idle-timeout"), push(a, &n, p->idle);
    push(a, &n, "--json"), push(a, &n, p->sjson);
    push(a, &n, "--quiet");
    if (!s->server_cache) push(a, &n, "--no-cache");
    if (s->dut_cpu >= 0) push(a, &n, "--cpu"), push(a, &n, p->cpu_d);
    push_dut_driver(a, &n, p, c, trial);
    a[n] = NULL;
}

/* The fixed server of dut = client, in bb-gen on kernel sockets, listening
 * on every address there (the tap link's appears only once the DUT made
 * it): ours on the kernel driver pinned to gen_cpu, or nginx with the
 * built-in configuration in its own prefix (trial_execute writes the
 * configuration and pins it). */
static void plan_fixed_server(struct trial_plan *p, const struct trial_ctx *c)
{
    const struct suite *s = c->suite;
    char **a = p->sargv;
    int n = 0;
    if (p->nginx) {
        if (topo_which("nginx", p->nginx_bin, sizeof(p->nginx_bin)) < 0)
            snprintf(p->nginx_bin, sizeof(p->nginx_bin), "/usr/sbin/nginx");
        snprintf(p->nginx_prefix, sizeof(p->nginx_prefix), "%s.nginx", p->base);
        snprintf(p->nginx_conf, sizeof(p->nginx_conf), "%s/nginx.conf", p->nginx_prefix);
        snprintf(p->nginx_err, sizeof(p->nginx_err), "%s/error.log", p->nginx_prefix);
        snprintf(p->nginx_log, sizeof(p->nginx_log), "%s/access.log", p->nginx_prefix);
        push(a, &n, p->nginx_bin);
        push(a, &n, "-p"), push(a, &n, p->nginx_prefix);
        push(a, &n, "-c"), push(a, &n, p->nginx_conf);
        push(a, &n, "-e"), push(a, &n, p->nginx_err);
        a[n] = NULL;
        return;
    }
    push(a, &n, c->self);
    push(a, &n, "serve");
    push(a, &n, "--driver"), push(a, &n, TRIAL_GEN_DRIVER);
    push(a, &n, "--listen"), push(a, &n, p->listen);
    push(a, &n, "--idle-timeout"), push(a, &n, p->idle);
    push(a, &n, "--json"), push(a, &n, p->sjson);
    push(a, &n, "--quiet");
    if (!s->server_cache) push(a, &n, "--no-cache");
    if (s->gen_cpu >= 0) push(a, &n, "--cpu"), push(a, &n, p->cpu_g);
    a[n] = NULL;
}

/* The capture process runs on the DUT's core: capturing is a cost of the
 * machine under test (on a two-host run the generator is elsewhere), so it
 * must not slow the generator, which stands in for remote clients. */
static void plan_capture(struct trial_plan *p, const struct trial_ctx *c)
{
    char **a = p->capargv;
    int n = 0;
    push(a, &n, c->self);
    if (p->cap_method && strcmp(p->cap_method, "libpcap") == 0) {
        push(a, &n, "capture");
        push(a, &n, "--iface"), push(a, &n, p->tl.stats_if);
    } else {
        push(a, &n, "pdump");
        push(a, &n, "--file-prefix"), push(a, &n, p->cap_prefix);
    }
    if (c->suite->dut_cpu >= 0) push(a, &n, "--cpu"), push(a, &n, p->cpu_d);
    push(a, &n, "--out"), push(a, &n, p->cap_file);
    push(a, &n, "--snaplen"), push(a, &n, TRIAL_CAP_SNAPLEN);
    push(a, &n, "--count"), push(a, &n, TRIAL_CAP_COUNT);
    push(a, &n, "--ready"), push(a, &n, p->cap_ready);
    a[n] = NULL;
}

/* The generator: `load` on the kernel driver in bb-gen, or `pair` (server
 * and generator in one process, each on its own core) on the ring link; with
 * dut = client, `load` on the DUT driver in bb-dut, pinned to dut_cpu. */
static void plan_generator(struct trial_plan *p, const struct trial_ctx *c,
                           const struct wl_spec *w, int trial)
{
    const struct suite *s = c->suite;
    char **a = p->cargv;
    int n = 0;
    push(a, &n, c->self);
    if (p->ring) {
        push(a, &n, "pair");
        push(a, &n, "--server-json"), push(a, &n, p->sjson);
        push(a, &n, "--client-json"), push(a, &n, p->cjson);
        if (s->dut_cpu >= 0) push(a, &n, "--dut-cpu"), push(a, &n, p->cpu_d);
        if (!s->server_cache) push(a, &n, "--no-cache");
        push_dopts(a, &n, s, &p->tl);
    } else if (p->client) {
        push(a, &n, "load");
        push(a, &n, "--driver"), push(a, &n, p->tl.drv);
        push_dut_driver(a, &n, p, c, trial);
        push(a, &n, "--json"), push(a, &n, p->cjson);
        /* its own interface at its window's edges (veth); the tap's is in bb-gen */
        if (!p->tap) push(a, &n, "--window-iface"), push(a, &n, TOPO_IF_DUT);
        if (p->go[0]) push(a, &n, "--go"), push(a, &n, p->go);
    } else {
        push(a, &n, "load");
        push(a, &n, "--driver"), push(a, &n, TRIAL_GEN_DRIVER);
        push(a, &n, "--json"), push(a, &n, p->cjson);
        /* the DUT's packets at the generator's window edges */
        if (p->tl.gen_if) push(a, &n, "--window-iface"), push(a, &n, p->tl.gen_if);
    }
    push(a, &n, "--quiet");
    push(a, &n, "--connections"), push(a, &n, p->conns);
    push(a, &n, "--timeout"), push(a, &n, p->tmo);
    if (p->client) {
        if (s->dut_cpu >= 0) push(a, &n, "--cpu"), push(a, &n, p->cpu_d);
    } else if (s->gen_cpu >= 0) {
        push(a, &n, p->ring ? "--gen-cpu" : "--cpu"), push(a, &n, p->cpu_g);
    }
    switch (w->mode) {
    case WL_DOWNLOAD: push(a, &n, "--download"); break;
    case WL_CPS: push(a, &n, "--close"); break;
    case WL_OPEN: push(a, &n, "--rate"), push(a, &n, p->rate); /* fall through */
    case WL_CLOSED: push(a, &n, "--pipeline"), push(a, &n, p->pipe); break;
    }
    if (w->mode != WL_DOWNLOAD) {
        push(a, &n, "--duration"), push(a, &n, p->dur);
        push(a, &n, "--warmup"), push(a, &n, p->warm);
    }
    if (w->requests) push(a, &n, "--requests"), push(a, &n, p->reqs);
    if (p->ring)
        push(a, &n, "--path"), push(a, &n, w->path);
    else
        push(a, &n, p->url);
    a[n] = NULL;
}

/* --- applications (apps.h) ------------------------------------------------ */

/* ab's -n with -t: a bound above any rate ab reaches on one core here
 * (about 60k req/s), so time ends the run; ab allocates 32 bytes per
 * request of it up front (64 GB for -n 2e9 failed) */
#define AB_MAX_RPS 500000ull

/* taskset -c CPU: the program and every thread it starts on that core
 * (redis-server starts its own before the harness could pin them) */
static void push_taskset(char **a, int *n, const char *cpu)
{
    static char taskset[PATH_MAX];
    if (!taskset[0] && topo_which("taskset", taskset, sizeof(taskset)) < 0)
        snprintf(taskset, sizeof(taskset), "/usr/bin/taskset");
    if (cpu[0] != '-') push(a, n, taskset), push(a, n, "-c"), push(a, n, cpu);
}

/* The server application in bb-dut on dut_cpu: plainly on kernel drivers,
 * under `bypassbench exec` (the preload library) on our stack's, with the
 * driver's options as serve would have them. */
static void plan_app_server(struct trial_plan *p, const struct trial_ctx *c,
                            const struct suite_app *ap, int trial)
{
    char **a = p->sargv;
    int n = 0;
    push_taskset(a, &n, p->cpu_d);
    if (p->app_stack) {
        push(a, &n, c->self);
        push(a, &n, "exec");
        push(a, &n, "--driver"), push(a, &n, p->tl.drv);
        push_dut_driver(a, &n, p, c, trial);
        push(a, &n, "--stats"), push(a, &n, p->app_stats);
        push(a, &n, "--");
    }
    push(a, &n, p->app_sbin);
    if (p->sapp == APP_NGINX) {
        push(a, &n, "-p"), push(a, &n, p->nginx_prefix);
        push(a, &n, "-c"), push(a, &n, p->nginx_conf);
        push(a, &n, "-e"), push(a, &n, p->nginx_err);
    } else { /* redis-server: one process, nothing on disk */
        push(a, &n, "--bind"), push(a, &n, p->tl.dut_ip);
        push(a, &n, "--port"), push(a, &n, p->app_port);
        push(a, &n, "--save"), push(a, &n, "");
        push(a, &n, "--appendonly"), push(a, &n, "no");
        push(a, &n, "--daemonize"), push(a, &n, "no");
        push(a, &n, "--protected-mode"), push(a, &n, "no");
        push(a, &n, "--dir"), push(a, &n, p->app_dir);
    }
    for (int i = 0; ap->server_argv[i]; i++)
        push(a, &n, ap->server_argv[i]);
    a[n] = NULL;
}

/* The generator application in bb-gen on gen_cpu; dur is its -d/-t (whole
 * seconds), csv ab's -e file. extra (gen_args) goes before the URL. */
static void plan_app_gen(char **a, struct trial_plan *p, const struct wl_spec *w,
                         char *const *extra, const char *dur, const char *csv)
{
    int n = 0;
    push_taskset(a, &n, p->cpu_g);
    push(a, &n, p->app_gbin);
    switch (p->gapp) {
    case APP_WRK:
        push(a, &n, "-t1"); /* one thread: the one core it is pinned to */
        push(a, &n, "-c"), push(a, &n, p->conns);
        push(a, &n, "-d"), push(a, &n, dur);
        push(a, &n, "--timeout"), push(a, &n, p->app_tmo);
        push(a, &n, "-s"), push(a, &n, p->app_script);
        break;
    case APP_AB:
        if (w->mode != WL_CPS) push(a, &n, "-k");
        push(a, &n, "-c"), push(a, &n, p->conns);
        if (w->requests) {
            push(a, &n, "-n"), push(a, &n, p->reqs);
        } else { /* -t sets -n 50000: a larger -n after it lets the time decide
                  * (ab keeps 32 bytes per request of -n: AB_MAX_RPS per second) */
            push(a, &n, "-t"), push(a, &n, dur);
            push(a, &n, "-n"), push(a, &n, dur == p->app_dur ? p->app_abn : p->app_wabn);
        }
        push(a, &n, "-s"), push(a, &n, p->app_tmo);
        push(a, &n, "-e"), push(a, &n, csv);
        break;
    default: /* redis-benchmark */
        push(a, &n, "-h"), push(a, &n, p->tl.dut_ip);
        push(a, &n, "-p"), push(a, &n, p->app_port);
        push(a, &n, "-c"), push(a, &n, p->conns);
        push(a, &n, "-n"), push(a, &n, p->reqs);
        push(a, &n, "-P"), push(a, &n, p->pipe);
        push(a, &n, "--csv");
        break;
    }
    for (int i = 0; extra[i]; i++)
        push(a, &n, extra[i]);
    if (p->gapp != APP_REDIS_BENCHMARK) push(a, &n, p->url);
    a[n] = NULL;
}

static void plan_apps(struct trial_plan *p, const struct trial_ctx *c, const struct wl_spec *w,
                      const struct suite_app *ap, int trial)
{
    char why[256];
    snprintf(p->app_dir, sizeof(p->app_dir), "%s.app", p->base);
    snprintf(p->app_port, sizeof(p->app_port), "%u", c->suite->port);
    snprintf(p->app_tmo, sizeof(p->app_tmo), "%llu",
             (unsigned long long)((w->timeout_ns + 999999999ull) / 1000000000ull));
    snprintf(p->app_dur, sizeof(p->app_dur), "%llu",
             (unsigned long long)(w->duration_ns / 1000000000ull));
    snprintf(p->app_abn, sizeof(p->app_abn), "%llu",
             (unsigned long long)(w->duration_ns / 1000000000ull) * AB_MAX_RPS);
    snprintf(p->app_wabn, sizeof(p->app_wabn), "%llu",
             (unsigned long long)((w->warmup_ns + 999999999ull) / 1000000000ull) * AB_MAX_RPS);
    /* warm-up: whole seconds too, rounded up */
    snprintf(p->app_wdur, sizeof(p->app_wdur), "%llu",
             (unsigned long long)((w->warmup_ns + 999999999ull) / 1000000000ull));
    if (p->sapp != APP_NONE) {
        p->app_stack = !trial_kernel_sockets(p->tl.drv);
        if (app_installed(p->sapp, p->app_sbin, sizeof(p->app_sbin), why, sizeof(why)) < 0)
            snprintf(p->app_sbin, sizeof(p->app_sbin), "%s", app_info(p->sapp)->bin);
        snprintf(p->app_stats, sizeof(p->app_stats), "%s/preload.stats", p->app_dir);
        if (p->sapp == APP_NGINX) {
            snprintf(p->nginx_prefix, sizeof(p->nginx_prefix), "%s", p->app_dir);
            snprintf(p->nginx_conf, sizeof(p->nginx_conf), "%s/nginx.conf", p->nginx_prefix);
            snprintf(p->nginx_err, sizeof(p->nginx_err), "%s/error.log", p->nginx_prefix);
            snprintf(p->nginx_log, sizeof(p->nginx_log), "%s/access.log", p->nginx_prefix);
        }
        plan_app_server(p, c, ap, trial);
    }
    if (p->gapp != APP_NONE) {
        if (app_installed(p->gapp, p->app_gbin, sizeof(p->app_gbin), why, sizeof(why)) < 0)
            snprintf(p->app_gbin, sizeof(p->app_gbin), "%s", app_info(p->gapp)->bin);
        snprintf(p->app_script, sizeof(p->app_script), "%s/bb.lua", p->app_dir);
        snprintf(p->app_csv, sizeof(p->app_csv), "%s/ab.csv", p->app_dir);
        snprintf(p->app_wcsv, sizeof(p->app_wcsv), "%s/ab-warmup.csv", p->app_dir);
        snprintf(p->app_wlog, sizeof(p->app_wlog), "%s.client-warmup.log", p->base);
        plan_app_gen(p->cargv, p, w, ap->gen_argv, p->app_dur, p->app_csv);
        /* wrk and ab: a throw-away run first (neither warms up on its own);
         * redis-benchmark runs a count and gets none */
        if (w->warmup_ns && p->gapp != APP_REDIS_BENCHMARK && !w->requests)
            plan_app_gen(p->wargv, p, w, ap->gen_argv, p->app_wdur, p->app_wcsv);
    }
}

void trial_plan(struct trial_plan *p, const struct trial_ctx *c, const struct wl_spec *w,
                const char *entry, unsigned rep, int trial)
{
    const struct suite *s = c->suite;
    memset(p, 0, sizeof(*p));
    trial_resolve_link(s, entry, &p->tl);
    p->ring = strcmp(p->tl.link, "ring") == 0;
    p->tap = strcmp(p->tl.link, "tap") == 0;
    p->xdp = strcmp(p->tl.link, "xdp") == 0;
    p->rep = rep;
    snprintf(p->base, sizeof(p->base), "%s/logs/%s-%s-r%u", c->dir, w->name, p->tl.label, rep);
    snprintf(p->sjson, sizeof(p->sjson), "%s.server.json", p->base);
    snprintf(p->slog, sizeof(p->slog), "%s.server.log", p->base);
    snprintf(p->cjson, sizeof(p->cjson), "%s.client.json", p->base);
    snprintf(p->clog, sizeof(p->clog), "%s.client.log", p->base);
    p->client = s->dut == SUITE_DUT_CLIENT && !p->ring; /* the suite refuses the ring then */
    p->nginx = p->client && s->server == SUITE_SERVER_NGINX;
    if (p->client) {
        snprintf(p->go, sizeof(p->go), "%s.go", p->base);
        snprintf(p->go_ready, sizeof(p->go_ready), "%s.ready", p->go);
        snprintf(p->go_done, sizeof(p->go_done), "%s.done", p->go);
    }
    snprintf(p->url, sizeof(p->url), "http://%s:%u%s", p->client ? p->tl.srv_ip : p->tl.dut_ip,
             s->port, w->path);
    snprintf(p->listen, sizeof(p->listen), "%s:%u", p->client ? "0.0.0.0" : p->tl.dut_ip,
             s->port);
    snprintf(p->dut_cidr, sizeof(p->dut_cidr), "%s/%d", p->tl.dut_ip, TOPO_PREFIX);
    snprintf(p->cpu_d, sizeof(p->cpu_d), "%d", s->dut_cpu);
    snprintf(p->cpu_g, sizeof(p->cpu_g), "%d", s->gen_cpu);
    fmt_ns(p->idle, sizeof(p->idle), s->idle_timeout_ns);
    snprintf(p->conns, sizeof(p->conns), "%u", w->connections);
    snprintf(p->pipe, sizeof(p->pipe), "%u", w->pipeline);
    fmt_ns(p->dur, sizeof(p->dur), w->duration_ns);
    fmt_ns(p->warm, sizeof(p->warm), w->warmup_ns);
    fmt_ns(p->tmo, sizeof(p->tmo), w->timeout_ns);
    snprintf(p->reqs, sizeof(p->reqs), "%llu", (unsigned long long)w->requests);
    snprintf(p->rate, sizeof(p->rate), "%llu", (unsigned long long)w->rate);
    if (p->client) {
        plan_fixed_server(p, c);
        plan_generator(p, c, w, trial);
    } else {
        plan_server(p, c, trial);
        plan_generator(p, c, w, trial);
    }
    const struct suite_app *ap = suite_app_of(s, w->name);
    p->sapp = ap->server, p->gapp = ap->gen;
    if (!p->client && !p->ring && (p->sapp != APP_NONE || p->gapp != APP_NONE))
        plan_apps(p, c, w, ap, trial); /* (the suite refuses the others) */
    plan_capture(p, c);
}
