/*
 * harness/cli/pair.c — `bypassbench pair`: the `ring` link (DESIGN §5), the bypass
 * ceiling. The HTTP server and the load generator run in this one process,
 * each in its own thread pinned to its own CPU, each on our user-space stack
 * over the "dpdk" netio driver, joined by a cross-wired net_ring pair
 * (ring=NAME:A for the server at 198.18.0.2/24, ring=NAME:B for the client at
 * 198.18.0.1/24; the pair and its EAL live in drivers/dpdk/).
 *
 *   main: options -> server thread: pin, netio_open(A), server_run ...
 *         (server listening) -> client thread: pin, netio_open(B), loadgen_run,
 *         client JSON, close -> server stop flag -> server JSON, close.
 * The server thread opens first, so it starts EAL and is its main lcore; the
 * client thread is registered as an lcore by the driver. The server's port
 * closes last, and EAL is cleaned up with it.
 *
 * The generator takes the window's snapshots (CPU, its ring end's frames)
 * at its own window's edges (report_window_edge) into the client's JSON.
 * Calls: netio_open/netio_pin_cpu, server_run, loadgen_run, wl_spec_*,
 * report_server_json/report_client_json (the same documents `serve --json`
 * and `load --json` write), report_json_write.
 */
#include "harness/analysis/report_json.h"
#include "harness/cli/cli.h"
#include "harness/cli/genflags.h"
#include "workloads/loadgen.h"
#include "workloads/server.h"
#include "workloads/units.h"

#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAIR_DRIVER "dpdk"
#define PAIR_SERVER_IP "198.18.0.2"
#define PAIR_CLIENT_IP "198.18.0.1"
#define PAIR_MAX_OPTS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench pair [OPTIONS]\n"
            "The server and the load generator in one process over a cross-wired DPDK\n"
            "net_ring pair (the `ring` link): each on our stack, in its own thread on its own\n"
            "CPU; server " PAIR_SERVER_IP "/24 (ring end A), client " PAIR_CLIENT_IP
            "/24 (end B).\n"
            "  --path PATH          request target (default /bytes/64)\n"
            "%s"
            "      --port N         server port (default 8080)\n"
            "      --dut-cpu N      the server's CPU (default: the first CPU we may use)\n"
            "      --gen-cpu N      the generator's CPU (default: the second one, else the first)\n"
            "      --ring NAME      ring pair name (default bbring)\n"
            "      --eal 'ARGS'     EAL arguments instead of the driver's defaults (eal=)\n"
            "      --opt KEY=VALUE  driver option for both sides (repeatable)\n"
            "      --server-opt KEY=VALUE, --client-opt KEY=VALUE   for one side only\n"
            "      --no-cache       the server builds every /bytes/N response afresh (as serve's)\n"
            "      --server-json FILE  the server's JSON (as `bypassbench serve --json`)\n"
            "      --client-json FILE  the generator's JSON (as `bypassbench load --json`)\n"
            "  -q, --quiet          no summary\n"
            "Exit status 0 when both sides ran (check the JSON for errors), 1 otherwise,\n"
            "2 for bad options.\n",
            genflags_help);
}

enum side_state { SIDE_STARTING, SIDE_READY, SIDE_DONE, SIDE_FAILED };

struct side {
    const char *role; /* "server" or "client" */
    int cpu;
    struct netio_config ncfg;
    const char *opts[2 * PAIR_MAX_OPTS + 3];
    char ring_opt[64], eal_opt[1024];
    char err[1024]; /* a driver's unknown-option error lists every key */
    int rc; /* the run: 0 ok, -1 failed (err) */
    int ran, json_failed;
    enum side_state state;
    pthread_t th;
};

struct pair {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct side srv, cli;
    struct srv_config scfg;
    struct srv_stats sst;
    volatile sig_atomic_t srv_stop;
    struct lg_config lcfg;
    struct lg_result *res;
    struct report_window win; /* the generator's window: CPU and its ring end's frames */
    struct cpuacct_hw hw;
    char hw_why[256];
    const char *server_json, *client_json;
    char url[320];
};

static void set_state(struct pair *p, struct side *s, enum side_state st)
{
    pthread_mutex_lock(&p->mu);
    s->state = st;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static enum side_state wait_state(struct pair *p, struct side *s)
{
    pthread_mutex_lock(&p->mu);
    while (s->state == SIDE_STARTING)
        pthread_cond_wait(&p->cv, &p->mu);
    enum side_state st = s->state;
    pthread_mutex_unlock(&p->mu);
    return st;
}

/* Pin, then open our end (the driver sees the pinned CPU). */
static struct netio *side_open(struct side *s)
{
    char e[256];
    if (netio_pin_cpu(s->cpu, e, sizeof(e)) < 0) {
        snprintf(s->err, sizeof(s->err), "%s: %s", s->role, e);
        return NULL;
    }
    struct netio *io = netio_open(PAIR_DRIVER, &s->ncfg, e, sizeof(e));
    if (!io) snprintf(s->err, sizeof(s->err), "%s: %s", s->role, e);
    return io;
}

static void side_json(struct side *s, const char *path, json_t *j)
{
    char e[256];
    if (path && report_json_write(path, j, e, sizeof(e)) < 0) {
        snprintf(s->err, sizeof(s->err), "%s: %s", s->role, e);
        s->json_failed = 1;
    }
    json_decref(j);
}

static void on_server_ready(void *arg)
{
    struct pair *p = arg;
    set_state(p, &p->srv, SIDE_READY);
}

static void *server_main(void *arg)
{
    struct pair *p = arg;
    struct side *s = &p->srv;
    struct netio *io = side_open(s);
    if (!io) {
        set_state(p, s, SIDE_FAILED);
        return NULL;
    }
    char e[256] = "";
    s->rc = server_run(io, &p->scfg, &p->sst, e, sizeof(e));
    s->ran = 1;
    if (s->rc < 0) snprintf(s->err, sizeof(s->err), "server: %s", e);
    if (p->server_json) {
        json_t *j = report_server_json(PAIR_DRIVER, &p->sst, io, s->rc == 0);
        json_object_set_new(j, "response_cache", json_boolean(!p->scfg.no_cache));
        side_json(s, p->server_json, j);
    }
    netio_destroy(io); /* the last port: EAL is cleaned up here, on its main lcore */
    set_state(p, s, s->rc == 0 ? SIDE_DONE : SIDE_FAILED); /* before ready: listen failed */
    return NULL;
}

static void *client_main(void *arg)
{
    struct pair *p = arg;
    struct side *s = &p->cli;
    struct netio *io = side_open(s);
    if (!io) {
        set_state(p, s, SIDE_FAILED);
        return NULL;
    }
    char e[256] = "";
    /* Both sides are in this process: the window hook on the generator's
     * thread snapshots every core (the server's too), and its ring end's
     * frame counters, which mirror the server's (the pair is cross-wired). */
    p->win.io = io;
    s->rc = loadgen_run(io, &p->lcfg, p->res, e, sizeof(e));
    s->ran = 1;
    if (s->rc < 0) snprintf(s->err, sizeof(s->err), "client: %s", e);
    if (p->client_json) {
        json_t *j = report_client_json(&p->lcfg.spec, PAIR_DRIVER, p->url, p->res, io, s->rc == 0,
                                       &p->win);
        if (s->rc < 0) json_object_set_new(j, "error", json_string(e));
        side_json(s, p->client_json, j);
    }
    netio_destroy(io);
    set_state(p, s, s->rc == 0 ? SIDE_DONE : SIDE_FAILED);
    return NULL;
}

/* The n-th CPU this process may run on (or the last one there is). */
static int nth_cpu(int n)
{
    cpu_set_t set;
    int last = -1;
    if (sched_getaffinity(0, sizeof(set), &set) < 0) return -1;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set)) continue;
        if (n-- == 0) return c;
        last = c;
    }
    return last;
}

/* The side's driver options: its ring end, eal=, the shared then its own. */
static void side_opts(struct side *s, const char *ring, char end, const char *eal,
                      const char *const *shared, int nshared, const char *const *own, int nown)
{
    int n = 0;
    snprintf(s->ring_opt, sizeof(s->ring_opt), "ring=%s:%c", ring, end);
    s->opts[n++] = s->ring_opt;
    if (eal) {
        snprintf(s->eal_opt, sizeof(s->eal_opt), "eal=%s", eal);
        s->opts[n++] = s->eal_opt;
    }
    for (int i = 0; i < nshared; i++)
        s->opts[n++] = shared[i];
    for (int i = 0; i < nown; i++)
        s->opts[n++] = own[i];
    s->opts[n] = NULL;
    s->ncfg.opts = s->opts;
    s->ncfg.cpu = s->cpu;
}

static void summary(const struct pair *p)
{
    const struct lg_result *r = p->res;
    double secs = (double)r->measured_ns / 1e9;
    char a[32], b[32], c[32];
    printf("  %llu requests in %.2fs, %s body read%s\n", (unsigned long long)r->requests, secs,
           units_format_size(r->body_bytes, a, sizeof(a)), r->interrupted ? " (interrupted)" : "");
    printf("  Latency  p50 %s  p99 %s  max %s\n",
           units_format_ns(hist_percentile(&r->latency, 50), a, sizeof(a)),
           units_format_ns(hist_percentile(&r->latency, 99), b, sizeof(b)),
           units_format_ns(r->latency.max_ns, c, sizeof(c)));
    if (secs > 0) {
        printf("  Requests/sec: %.1f\n", (double)r->requests / secs);
        printf("  Body:         %.3f Gbit/s\n", (double)r->body_bytes * 8 / secs / 1e9);
        if (p->lcfg.spec.mode == WL_CPS) printf("  Conns/sec:    %.1f\n", (double)r->connects / secs);
    }
    printf("  Errors: %llu", (unsigned long long)r->errors_total);
    for (int i = 0; i < LG_ERR__COUNT; i++)
        if (r->errors[i])
            printf(" (%s %llu)", lg_err_str((enum lg_err)i), (unsigned long long)r->errors[i]);
    printf("\n  In flight at the end: %llu (late %llu, unanswered %llu)",
           (unsigned long long)r->inflight_at_end, (unsigned long long)r->late_responses,
           (unsigned long long)r->errors[LG_ERR_UNANSWERED]);
    printf("\n  Server: %llu requests parsed, %llu connections, %llu bytes out\n",
           (unsigned long long)p->sst.requests_parsed, (unsigned long long)p->sst.conns_accepted,
           (unsigned long long)p->sst.bytes_out);
}

int cmd_pair(int argc, char **argv)
{
    static const struct option opts[] = {
        GENFLAGS_LONG,
        {"path", 1, 0, 'p'},        {"port", 1, 0, 'O'},        {"dut-cpu", 1, 0, 'U'},
        {"gen-cpu", 1, 0, 'G'},     {"ring", 1, 0, 'r'},        {"eal", 1, 0, 'E'},
        {"opt", 1, 0, 'o'},         {"server-opt", 1, 0, 's'},  {"client-opt", 1, 0, 'l'},
        {"server-json", 1, 0, 'J'}, {"client-json", 1, 0, 'j'}, {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},        {"no-cache", 0, 0, 'N'},    {0, 0, 0, 0},
    };
    struct pair *p = calloc(1, sizeof(*p));
    if (!p) return 1;
    const char *shared[PAIR_MAX_OPTS], *sown[PAIR_MAX_OPTS], *cown[PAIR_MAX_OPTS];
    int nshared = 0, nsown = 0, ncown = 0, quiet = 0, ret = 2, no_cache = 0;
    int dut_cpu = -2, gen_cpu = -2;
    struct genflags gf = {0};
    const char *path = "/bytes/64", *ring = "bbring", *eal = NULL;
    unsigned port = 8080;
    char err[1024];
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    wl_spec_defaults(&p->lcfg.spec);
    optind = 1;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, GENFLAGS_SHORT "qh", opts, &li)) != -1) {
        int g = genflags_apply(&gf, &p->lcfg.spec, c, optarg, err, sizeof(err));
        if (g < 0) {
            fprintf(stderr, "pair: %s\n", err);
            goto out;
        }
        if (g) continue;
        char *end = NULL;
        switch (c) {
        case 'p': path = optarg; break;
        case 'O':
            port = (unsigned)strtoul(optarg, &end, 10);
            if (!*optarg || *end || port == 0 || port > 65535) goto badval;
            break;
        case 'U':
        case 'G': {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v >= CPU_SETSIZE) goto badval;
            *(c == 'U' ? &dut_cpu : &gen_cpu) = (int)v;
            break;
        }
        case 'r': ring = optarg; break;
        case 'E': eal = optarg; break;
        case 'o':
        case 's':
        case 'l': {
            int *n = c == 'o' ? &nshared : c == 's' ? &nsown : &ncown;
            const char **arr = c == 'o' ? shared : c == 's' ? sown : cown;
            if (*n == PAIR_MAX_OPTS || !strchr(optarg, '=')) goto badval;
            arr[(*n)++] = optarg;
            break;
        }
        case 'J': p->server_json = optarg; break;
        case 'j': p->client_json = optarg; break;
        case 'q': quiet = 1; break;
        case 'N': no_cache = 1; break;
        case 'h': usage(stdout); ret = 0; goto out;
        default: usage(stderr); goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pair: unexpected argument '%s' (the target is --path)\n", argv[optind]);
        goto out;
    }
    genflags_finish(&gf, &p->lcfg.spec);
    if (path[0] != '/') {
        fprintf(stderr, "pair: --path '%s' must start with '/'\n", path);
        goto out;
    }
    snprintf(p->url, sizeof(p->url), "http://%s:%u%s", PAIR_SERVER_IP, port, path);
    if (cli_parse_url(p->url, &p->lcfg.dst, p->lcfg.host, sizeof(p->lcfg.host),
                      p->lcfg.spec.path, sizeof(p->lcfg.spec.path), err, sizeof(err)) < 0 ||
        wl_spec_validate(&p->lcfg.spec, err, sizeof(err)) < 0) {
        fprintf(stderr, "pair: %s\n", err);
        goto out;
    }
    if (dut_cpu == -2) dut_cpu = nth_cpu(0);
    if (gen_cpu == -2) gen_cpu = nth_cpu(1);
    if (dut_cpu >= 0 && dut_cpu == gen_cpu && !quiet)
        fprintf(stderr, "pair: warning: server and generator share CPU %d (both busy-poll)\n",
                dut_cpu);

    srv_config_defaults(&p->scfg);
    char listen[32];
    snprintf(listen, sizeof(listen), "%s:%u", PAIR_SERVER_IP, port);
    cli_parse_addr(listen, &p->scfg.listen, err, sizeof(err));
    p->scfg.stop = &p->srv_stop;
    p->scfg.no_cache = no_cache;
    p->scfg.on_ready = on_server_ready;
    p->scfg.arg = p;
    p->lcfg.stop = &cli_stop;
    if (p->client_json) { /* the window's snapshots go into the client's JSON */
        p->win.hw = cpuacct_hw_open(&p->hw, p->hw_why, sizeof(p->hw_why)) == 0 ? &p->hw : NULL;
        p->win.hw_why = p->hw_why;
        p->lcfg.window = report_window_edge;
        p->lcfg.window_arg = &p->win;
    }
    p->srv = (struct side){.role = "server", .cpu = dut_cpu, .ncfg = {.ip = PAIR_SERVER_IP "/24"}};
    p->cli = (struct side){.role = "client", .cpu = gen_cpu, .ncfg = {.ip = PAIR_CLIENT_IP "/24"}};
    side_opts(&p->srv, ring, 'A', eal, shared, nshared, sown, nsown);
    side_opts(&p->cli, ring, 'B', eal, shared, nshared, cown, ncown);
    p->res = calloc(1, sizeof(*p->res));
    if (!p->res) {
        ret = 1;
        goto out;
    }

    cli_on_signals();
    if (!quiet)
        printf("pair %s: driver %s over ring pair '%s', server CPU %d, generator CPU %d, mode %s, "
               "%u connections, pipeline %u\n",
               p->url, PAIR_DRIVER, ring, dut_cpu, gen_cpu, wl_mode_str(p->lcfg.spec.mode),
               p->lcfg.spec.connections, p->lcfg.spec.pipeline);
    fflush(stdout);
    ret = 1;
    if (pthread_create(&p->srv.th, NULL, server_main, p) != 0) {
        fprintf(stderr, "pair: cannot start the server thread\n");
        goto out;
    }
    if (wait_state(p, &p->srv) == SIDE_READY) {
        if (pthread_create(&p->cli.th, NULL, client_main, p) == 0) {
            pthread_join(p->cli.th, NULL);
        } else {
            snprintf(p->cli.err, sizeof(p->cli.err), "client: cannot start its thread");
        }
    }
    p->srv_stop = 1;
    pthread_join(p->srv.th, NULL);

    if (p->srv.err[0]) fprintf(stderr, "pair: %s\n", p->srv.err);
    if (p->cli.err[0]) fprintf(stderr, "pair: %s\n", p->cli.err);
    int ok = p->srv.ran && p->srv.rc == 0 && !p->srv.json_failed && p->cli.ran &&
             p->cli.rc == 0 && !p->cli.json_failed;
    if (!quiet && p->cli.ran && p->cli.rc == 0) summary(p);
    ret = ok ? 0 : 1;
    goto out;
badval:
    fprintf(stderr, "pair: bad value '%s' for --%s\n", optarg, li >= 0 ? opts[li].name : "?");
out:
    cpuacct_hw_close(&p->hw);
    free(p->res);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return ret;
}
