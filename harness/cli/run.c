/*
 * harness/cli/run.c — `bypassbench run`: the whole experiment.
 *
 *   parse suite (refuse bad files before anything runs) -> topology up ->
 *   for each workload, repeat, driver: serve in bb-dut, wait until it
 *   answers, load in bb-gen, stop serve, collect both JSONs, check that the
 *   two sides agree, write the trial record -> summary -> topology down.
 *
 * The topology is torn down at the end, on error and on SIGINT/SIGTERM; every
 * child is in its own process group with PDEATHSIG, and `topo down` cleans up
 * after a SIGKILL. Calls: suite.c, topo.c, results.c, sysinfo.c.
 */
#include "harness/analysis/plot.h"
#include "harness/analysis/report.h"
#include "harness/analysis/report_json.h"
#include "harness/analysis/results.h"
#include "harness/cli/cli.h"
#include "harness/run/cpuacct.h"
#include "harness/run/hugepages.h"
#include "harness/run/suite.h"
#include "harness/run/sysinfo.h"
#include "harness/run/topo.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GEN_DRIVER "kernel" /* the generator is identical across DUT drivers */

struct run {
    struct suite suite;
    char self[PATH_MAX];
    char dir[PATH_MAX];
    json_t *env;
    json_t *records;
    double tsc_hz;
    int dut_has_addr; /* the kernel in bb-dut owns TOPO_IP_DUT right now */
    int huge_ok;      /* hugepages reserved: DPDK capture through a pdump secondary */
    struct cpuacct_hw hw; /* hardware cycle counters, when the machine has them */
    char huge_why[256];
    int trial, ntrials, failed;
    uint64_t started;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench run [SUITE.ini] [OPTIONS]   (default suite: suites/default.ini)\n"
            "  --drivers LIST   comma list of DUT drivers, overriding the suite's `drivers`\n"
            "  --quick          1 repeat, 1 s windows, 200 ms warm-ups (downloads unchanged)\n"
            "  --out DIR        results go to DIR/<timestamp>/ (default results)\n"
            "  --check          parse the suite and print the plan, run nothing\n"
            "Needs root (network namespaces). Ctrl-C stops after tearing everything down.\n\n");
    suite_print_help(f);
}

/* --- the readiness probe, run inside bb-gen ------------------------------ */

struct probe_arg {
    uint16_t port;
    uint64_t timeout_ns;
    const char *ip;
};

static int probe_once(const char *ip, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    static const char req[] = "GET /bytes/1 HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
    char buf[512];
    int ok = -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0) ok = 0;
    }
    close(fd);
    return ok;
}

static int probe_fn(void *arg)
{
    const struct probe_arg *p = arg;
    uint64_t end = mono_ns() + p->timeout_ns;
    while (mono_ns() < end) {
        if (probe_once(p->ip, p->port) == 0) return 0;
        usleep(50000);
    }
    return 1;
}

/* --- child processes ----------------------------------------------------- */

/* Wait for pid up to timeout_ns (0 = forever); returns its wait status, or -1
 * on timeout or when the run is being stopped (the child is still running). */
static int wait_child(pid_t pid, uint64_t timeout_ns, int honour_stop)
{
    uint64_t end = timeout_ns ? mono_ns() + timeout_ns : UINT64_MAX;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -1;
        if ((honour_stop && cli_stop) || mono_ns() >= end) return -1;
        usleep(10000);
    }
}

/* SIGTERM, then SIGKILL after grace_ns; reaps. Returns the wait status. */
static int stop_child(pid_t pid, uint64_t grace_ns)
{
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    int st = wait_child(pid, grace_ns, 0);
    if (st == -1) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        st = wait_child(pid, 0, 0);
    }
    return st;
}

/* Has pid exited? Leaves it to be reaped (waitid WNOWAIT: waitpid takes
 * neither WNOWAIT nor WEXITED and fails with EINVAL). */
static int child_exited(pid_t pid)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

static void push(char **argv, int *n, const char *s)
{
    argv[(*n)++] = (char *)s;
}


/* --- capture ------------------------------------------------------------- */

#define CAP_SNAPLEN "128"     /* headers only: what a trace summary needs */
#define CAP_COUNT "2000000"   /* bound per trial */

/* Wait up to 10 s for a capture child's ready file; 0 when it is there. */
static int wait_ready(const char *path, pid_t pid)
{
    uint64_t end = mono_ns() + 10000000000ull;
    while (mono_ns() < end && !cli_stop) {
        if (access(path, F_OK) == 0) return 0;
        if (child_exited(pid)) return -1;
        usleep(10000);
    }
    return -1;
}

/* --- one trial ----------------------------------------------------------- */

/* Drivers with our own stack own the DUT address; the kernel must not have it
 * then (or it would answer ARP and reset our connections). */
static int driver_is_kernel(const char *driver)
{
    return strcmp(driver, "kernel") == 0;
}

static int set_dut_addr(struct run *r, int on, char *err, size_t errlen)
{
    if (r->dut_has_addr == on) return 0;
    char cidr[32];
    snprintf(cidr, sizeof(cidr), "%s/%d", TOPO_IP_DUT, TOPO_PREFIX);
    if ((on ? topo_ip(err, errlen, "-n", TOPO_NS_DUT, "addr", "add", cidr, "dev", TOPO_IF_DUT, NULL)
            : topo_ip(err, errlen, "-n", TOPO_NS_DUT, "addr", "flush", "dev", TOPO_IF_DUT, NULL)) < 0)
        return -1;
    r->dut_has_addr = on;
    return 0;
}

/* Sleep up to ns, returning early (1) when pid has exited or the run stops. */
static int sleep_watching(pid_t pid, uint64_t ns)
{
    uint64_t end = mono_ns() + ns;
    while (mono_ns() < end) {
        if (cli_stop || child_exited(pid)) return 1;
        usleep(5000);
    }
    return 0;
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    return json_load_file(path, 0, &e);
}

static double jnum(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* Metrics of a trial, numeric only: the summary takes medians of each. */
static json_t *metrics_of(const struct wl_spec *w, json_t *client, json_t *server,
                          const struct topo_ifstats *d, json_t *cpu)
{
    json_t *m = json_object();
    json_t *lat = json_object_get(client, "latency");
    double secs = jnum(client, "measured_ns") / 1e9;
    json_object_set_new(m, "rps", json_real(jnum(client, "rps")));
    json_object_set_new(m, "gbps", json_real(jnum(client, "gbps")));
    static const char *const lk[] = {"p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns"};
    for (size_t i = 0; i < sizeof(lk) / sizeof(lk[0]); i++) {
        char k[32];
        snprintf(k, sizeof(k), "lat_%s", lk[i]);
        json_object_set_new(m, k, json_real(jnum(lat, lk[i])));
    }
    json_object_set_new(m, "requests", json_integer((json_int_t)jnum(client, "requests")));
    json_object_set_new(m, "errors", json_integer((json_int_t)jnum(client, "errors_total")));
    json_object_set_new(m, "measured_s", json_real(secs));
    if (w->mode == WL_CPS)
        json_object_set_new(m, "cps", json_real(secs > 0 ? jnum(client, "connects") / secs : 0));
    if (w->mode == WL_DOWNLOAD) json_object_set_new(m, "download_s", json_real(secs));
    json_object_set_new(m, "dut_rx_packets", json_integer((json_int_t)d->rx_packets));
    json_object_set_new(m, "dut_tx_packets", json_integer((json_int_t)d->tx_packets));
    double reqs = jnum(client, "requests"); /* the packet counts cover the window too */
    if (reqs > 0)
        json_object_set_new(m, "dut_packets_per_request",
                            json_real((double)(d->rx_packets + d->tx_packets) / reqs));
    json_t *ss = json_object_get(server, "stats");
    if (ss) json_object_set_new(m, "server_requests", json_integer((json_int_t)jnum(ss, "requests")));
    static const char *const ck[] = {"dut_cycles_per_request", "system_cycles_per_request",
                                     "dut_cycles_per_packet", "system_cycles_per_packet",
                                     "ctx_switches_per_request", "net_rx_softirqs_per_request",
                                     "gen_util"};
    for (size_t i = 0; cpu && i < sizeof(ck) / sizeof(ck[0]); i++)
        if (json_object_get(cpu, ck[i]))
            json_object_set_new(m, ck[i], json_real(jnum(cpu, ck[i])));
    return m;
}

/* Both sides must agree: every valid response the client counted was served,
 * and the server answered no more than was sent (plus the readiness probe). */
static const char *cross_check(json_t *client, json_t *server, int probes, char *why, size_t len)
{
    json_t *ss = json_object_get(server, "stats");
    double served = jnum(ss, "requests"), got = jnum(client, "requests_total"),
           sent = jnum(client, "sent_total");
    if (got > served) {
        snprintf(why, len, "client counted %.0f responses but the server served only %.0f", got,
                 served);
        return why;
    }
    if (served > sent + probes) {
        snprintf(why, len, "server served %.0f requests but the client sent only %.0f", served,
                 sent);
        return why;
    }
    if (jnum(client, "errors_total") > 0) {
        snprintf(why, len, "%.0f client errors", jnum(client, "errors_total"));
        return why;
    }
    if (jnum(client, "requests") <= 0) {
        snprintf(why, len, "no request completed in the measured window");
        return why;
    }
    return NULL;
}

static void fmt_ns(char *buf, size_t len, uint64_t ns)
{
    snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

/* Per-link facts of a trial: where the DUT listens and how it is wired. */
struct trial_link {
    char drv[32], link[16], label[48]; /* label: "kernel", "dpdk", "dpdk-ring", ... */
    const char *dut_ip;                /* the address the generator targets */
    const char *stats_ns, *stats_if;   /* where to read the DUT's interface counters */
    int swap_stats;                    /* counters are the peer's (tap): swap rx/tx */
};

#define TAP_IF "bb-tap0"
#define TAP_IP_GEN "198.18.1.1"
#define TAP_IP_DUT "198.18.1.2"

static void resolve_link(const struct suite *s, const char *entry, struct trial_link *t)
{
    memset(t, 0, sizeof(*t));
    suite_entry_split(entry, s->link, t->drv, sizeof(t->drv), t->link, sizeof(t->link));
    if (strcmp(t->link, "veth") == 0)
        snprintf(t->label, sizeof(t->label), "%s", t->drv);
    else
        snprintf(t->label, sizeof(t->label), "%s-%s", t->drv, t->link);
    t->dut_ip = strcmp(t->link, "tap") == 0 ? TAP_IP_DUT : TOPO_IP_DUT;
    t->stats_ns = TOPO_NS_DUT;
    t->stats_if = TOPO_IF_DUT;
    if (strcmp(t->link, "tap") == 0) { /* the kernel side of the tap is in bb-gen */
        t->stats_ns = TOPO_NS_GEN;
        t->stats_if = TAP_IF;
        t->swap_stats = 1;
    }
}

/* Does the user's [driver dpdk] section already say which port to use? */
static int opts_pick_port(const char *const *o)
{
    for (; o && *o; o++)
        if (!strncmp(*o, "vdev=", 5) || !strncmp(*o, "eal=", 4) || !strncmp(*o, "port=", 5) ||
            !strncmp(*o, "ring=", 5))
            return 1;
    return 0;
}

/* tap link: net_tap created its kernel interface in bb-dut (the server's
 * namespace); move it to bb-gen and address it there, as a wire. */
static int tap_to_gen(pid_t spid, char *err, size_t errlen)
{
    /* Wait until DPDK has started the port (it brings the interface UP):
     * net_tap configures it by name in its own namespace until then. */
    char *show[] = {"ip", "-n", TOPO_NS_DUT, "-o", "link", "show", TAP_IF, NULL};
    char out[1024] = "", cidr[32];
    uint64_t end = mono_ns() + 10000000000ull;
    while (topo_cmd(show, out, sizeof(out), err, errlen) < 0 ||
           !(strstr(out, ",UP") || strstr(out, "<UP"))) {
        if (child_exited(spid)) {
            snprintf(err, errlen, "the server exited before its net_tap interface %s came up",
                     TAP_IF);
            return -1;
        }
        if (mono_ns() > end || cli_stop) {
            snprintf(err, errlen, "the server's net_tap interface %s did not come up in 10 s",
                     TAP_IF);
            return -1;
        }
        usleep(20000);
    }
    snprintf(cidr, sizeof(cidr), "%s/24", TAP_IP_GEN);
    if (topo_ip(err, errlen, "-n", TOPO_NS_DUT, "link", "set", TAP_IF, "netns", TOPO_NS_GEN,
                NULL) < 0)
        return -1;
    /* best effort: not every tap offload can be changed */
    topo_ip(err, errlen, "netns", "exec", TOPO_NS_GEN, "ethtool", "-K", TAP_IF, "tso", "off",
            "gso", "off", "gro", "off", "tx", "off", NULL);
    if (topo_ip(err, errlen, "-n", TOPO_NS_GEN, "addr", "add", cidr, "dev", TAP_IF, NULL) < 0 ||
        topo_ip(err, errlen, "-n", TOPO_NS_GEN, "link", "set", TAP_IF, "up", NULL) < 0)
        return -1;
    return 0;
}

static int run_trial(struct run *r, const struct wl_spec *w, const char *entry, unsigned rep)
{
    const struct suite *s = &r->suite;
    struct trial_link tl;
    resolve_link(s, entry, &tl);
    const char *driver = tl.label;
    const int ring = strcmp(tl.link, "ring") == 0, tap = strcmp(tl.link, "tap") == 0;
    char base[PATH_MAX], sjson[PATH_MAX], slog[PATH_MAX], cjson[PATH_MAX], clog[PATH_MAX];
    char err[512], why[512] = "", url[128], cpu_d[16], cpu_g[16], idle[32], conns[16],
                   pipe[16], dur[32], warm[32], tmo[32], reqs[32], rate[32];
    snprintf(base, sizeof(base), "%s/logs/%s-%s-r%u", r->dir, w->name, driver, rep);
    snprintf(sjson, sizeof(sjson), "%s.server.json", base);
    snprintf(slog, sizeof(slog), "%s.server.log", base);
    snprintf(cjson, sizeof(cjson), "%s.client.json", base);
    snprintf(clog, sizeof(clog), "%s.client.log", base);
    snprintf(url, sizeof(url), "http://%s:%u%s", tl.dut_ip, s->port, w->path);
    snprintf(cpu_d, sizeof(cpu_d), "%d", s->dut_cpu);
    snprintf(cpu_g, sizeof(cpu_g), "%d", s->gen_cpu);
    fmt_ns(idle, sizeof(idle), s->idle_timeout_ns);
    snprintf(conns, sizeof(conns), "%u", w->connections);
    snprintf(pipe, sizeof(pipe), "%u", w->pipeline);
    fmt_ns(dur, sizeof(dur), w->duration_ns);
    fmt_ns(warm, sizeof(warm), w->warmup_ns);
    fmt_ns(tmo, sizeof(tmo), w->timeout_ns);
    snprintf(reqs, sizeof(reqs), "%llu", (unsigned long long)w->requests);
    snprintf(rate, sizeof(rate), "%llu", (unsigned long long)w->rate);
    char listen[64];
    snprintf(listen, sizeof(listen), "%s:%u", tl.dut_ip, s->port);
    unlink(sjson);
    unlink(cjson);

    char *sargv[64 + SUITE_MAX_DRIVER_OPTS * 2];
    int n = 0;
    push(sargv, &n, r->self);
    push(sargv, &n, "serve");
    push(sargv, &n, "--driver"), push(sargv, &n, tl.drv);
    push(sargv, &n, "--listen"), push(sargv, &n, listen);
    push(sargv, &n, "--idle-timeout"), push(sargv, &n, idle);
    push(sargv, &n, "--json"), push(sargv, &n, sjson);
    push(sargv, &n, "--quiet");
    if (s->dut_cpu >= 0) push(sargv, &n, "--cpu"), push(sargv, &n, cpu_d);
    char dut_cidr[32];
    snprintf(dut_cidr, sizeof(dut_cidr), "%s/%d", tl.dut_ip, TOPO_PREFIX);
    if (!driver_is_kernel(tl.drv)) {
        if (strcmp(tl.drv, "afpacket") == 0) push(sargv, &n, "--iface"), push(sargv, &n, TOPO_IF_DUT);
        push(sargv, &n, "--ip"), push(sargv, &n, dut_cidr);
    }
    const char *const *dopts = suite_driver_opts(s, tl.drv);
    for (int i = 0; dopts && dopts[i]; i++) push(sargv, &n, "--opt"), push(sargv, &n, dopts[i]);
    /* DPDK: the port follows from the link unless the suite names one. */
    if (strcmp(tl.drv, "dpdk") == 0 && !opts_pick_port(dopts) && !ring)
        push(sargv, &n, "--opt"),
            push(sargv, &n, tap ? "vdev=net_tap0,iface=" TAP_IF
                                : "vdev=net_af_packet0,iface=" TOPO_IF_DUT);
    /* Capture: libpcap on the DUT interface for kernel paths; for DPDK a
     * pdump secondary when hugepages allow multi-process, else in-process
     * rte_pcapng. The ring link has no capture point outside the process. */
    char cap_file[PATH_MAX + 16] = "", cap_ready[PATH_MAX + 16] = "", cap_prefix[32] = "",
         cap_opt1[PATH_MAX + 32] = "", cap_opt2[64] = "";
    const char *cap_method = NULL;
    int cap_dpdk = strcmp(tl.drv, "dpdk") == 0;
    if (s->capture && !ring) {
        snprintf(cap_ready, sizeof(cap_ready), "%s.capture.ready", base);
        unlink(cap_ready);
        if (cap_dpdk && r->huge_ok) {
            cap_method = "pdump";
            snprintf(cap_file, sizeof(cap_file), "%s.pcapng", base);
            snprintf(cap_prefix, sizeof(cap_prefix), "bbdut%d", r->trial);
            snprintf(cap_opt1, sizeof(cap_opt1), "file_prefix=%s", cap_prefix);
            push(sargv, &n, "--opt"), push(sargv, &n, "pdump=1");
            push(sargv, &n, "--opt"), push(sargv, &n, cap_opt1);
        } else if (cap_dpdk) {
            cap_method = "in-process rte_pcapng";
            snprintf(cap_file, sizeof(cap_file), "%s.pcapng", base);
            snprintf(cap_opt1, sizeof(cap_opt1), "capture=%s", cap_file);
            snprintf(cap_opt2, sizeof(cap_opt2), "capture_count=%s", CAP_COUNT);
            push(sargv, &n, "--opt"), push(sargv, &n, cap_opt1);
            push(sargv, &n, "--opt"), push(sargv, &n, cap_opt2);
            push(sargv, &n, "--opt"), push(sargv, &n, "capture_snaplen=" CAP_SNAPLEN);
        } else {
            cap_method = "libpcap";
            snprintf(cap_file, sizeof(cap_file), "%s.pcap", base);
        }
    }
    sargv[n] = NULL;
    char *capargv[32];
    int cn = 0;
    push(capargv, &cn, r->self);
    /* The capture process runs on the DUT's core: capturing is a cost of the
     * machine under test (on a two-host run the generator is elsewhere), so it
     * must not slow the generator, which stands in for remote clients. */
    if (cap_method && strcmp(cap_method, "libpcap") == 0) {
        push(capargv, &cn, "capture");
        push(capargv, &cn, "--iface"), push(capargv, &cn, (char *)tl.stats_if);
    } else {
        push(capargv, &cn, "pdump");
        push(capargv, &cn, "--file-prefix"), push(capargv, &cn, cap_prefix);
    }
    if (s->dut_cpu >= 0) push(capargv, &cn, "--cpu"), push(capargv, &cn, cpu_d);
    push(capargv, &cn, "--out"), push(capargv, &cn, cap_file);
    push(capargv, &cn, "--snaplen"), push(capargv, &cn, CAP_SNAPLEN);
    push(capargv, &cn, "--count"), push(capargv, &cn, CAP_COUNT);
    push(capargv, &cn, "--ready"), push(capargv, &cn, cap_ready);
    capargv[cn] = NULL;
    pid_t cap_pid = -1;

    char *cargv[64 + SUITE_MAX_DRIVER_OPTS * 2];
    n = 0;
    push(cargv, &n, r->self);
    if (ring) { /* one process: server and generator on their own cores over net_ring */
        push(cargv, &n, "pair");
        push(cargv, &n, "--server-json"), push(cargv, &n, sjson);
        push(cargv, &n, "--client-json"), push(cargv, &n, cjson);
        if (s->dut_cpu >= 0) push(cargv, &n, "--dut-cpu"), push(cargv, &n, cpu_d);
        for (int i = 0; dopts && dopts[i]; i++) push(cargv, &n, "--opt"), push(cargv, &n, dopts[i]);
    } else {
        push(cargv, &n, "load");
        push(cargv, &n, "--driver"), push(cargv, &n, GEN_DRIVER);
        push(cargv, &n, "--json"), push(cargv, &n, cjson);
    }
    push(cargv, &n, "--quiet");
    push(cargv, &n, "--connections"), push(cargv, &n, conns);
    push(cargv, &n, "--timeout"), push(cargv, &n, tmo);
    if (s->gen_cpu >= 0) push(cargv, &n, ring ? "--gen-cpu" : "--cpu"), push(cargv, &n, cpu_g);
    switch (w->mode) {
    case WL_DOWNLOAD: push(cargv, &n, "--download"); break;
    case WL_CPS: push(cargv, &n, "--close"); break;
    case WL_OPEN: push(cargv, &n, "--rate"), push(cargv, &n, rate); /* fall through */
    case WL_CLOSED: push(cargv, &n, "--pipeline"), push(cargv, &n, pipe); break;
    }
    if (w->mode != WL_DOWNLOAD) {
        push(cargv, &n, "--duration"), push(cargv, &n, dur);
        push(cargv, &n, "--warmup"), push(cargv, &n, warm);
    }
    if (w->requests) push(cargv, &n, "--requests"), push(cargv, &n, reqs);
    if (ring)
        push(cargv, &n, "--path"), push(cargv, &n, w->path);
    else
        push(cargv, &n, url);
    cargv[n] = NULL;

    json_t *client = NULL, *server = NULL;
    struct topo_ifstats before = {0}, after = {0}, delta = {0};
    struct cpu_snap cpu_a, cpu_b;
    memset(&cpu_a, 0, sizeof(cpu_a));
    memset(&cpu_b, 0, sizeof(cpu_b));
    const char *failure = NULL;
    int probes = 0;
    json_t *cpu = NULL;
    if (set_dut_addr(r, driver_is_kernel(tl.drv), err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "cannot set the DUT address: %s", err);
        failure = why;
        goto record;
    }
    pid_t spid = -1;
    if (!ring) {
        spid = topo_spawn(TOPO_NS_DUT, sargv, slog, slog, err, sizeof(err));
        if (spid < 0) {
            snprintf(why, sizeof(why), "cannot start the server: %s", err);
            failure = why;
            goto record;
        }
        if (tap && tap_to_gen(spid, err, sizeof(err)) < 0) {
            snprintf(why, sizeof(why), "tap link: %s (see %s)", err, slog);
            failure = why;
            stop_child(spid, 2000000000ull);
            goto record;
        }
        struct probe_arg pa = {.port = s->port, .timeout_ns = 10000000000ull, .ip = tl.dut_ip};
        if (topo_run_in(TOPO_NS_GEN, probe_fn, &pa) != 0) {
            snprintf(why, sizeof(why), "server did not answer within 10 s (see %s)", slog);
            failure = why;
            stop_child(spid, 2000000000ull);
            goto record;
        }
        probes = 1;
    }
    if (cap_method && (strcmp(cap_method, "libpcap") == 0 || strcmp(cap_method, "pdump") == 0)) {
        char caplog[PATH_MAX + 16];
        snprintf(caplog, sizeof(caplog), "%s.capture.log", base);
        cap_pid = topo_spawn(strcmp(cap_method, "libpcap") == 0 ? tl.stats_ns : TOPO_NS_DUT,
                             capargv, caplog, caplog, err, sizeof(err));
        if (cap_pid < 0 || wait_ready(cap_ready, cap_pid) < 0) {
            snprintf(why, sizeof(why), "capture (%s) did not start (see %s)", cap_method, caplog);
            failure = why;
            if (cap_pid > 0) stop_child(cap_pid, 2000000000ull);
            cap_pid = -1;
            if (spid > 0) stop_child(spid, 2000000000ull);
            goto record;
        }
    }
    pid_t cpid = topo_spawn(ring ? TOPO_NS_DUT : TOPO_NS_GEN, cargv, clog, clog, err, sizeof(err));
    if (cpid < 0) {
        snprintf(why, sizeof(why), "cannot start the generator: %s", err);
        failure = why;
        if (spid > 0) stop_child(spid, 2000000000ull);
        goto record;
    }
    /* Counters cover the measured window: from the end of the warm-up to the
     * generator's exit (which follows the window within milliseconds). */
    sleep_watching(cpid, w->mode == WL_DOWNLOAD ? 0 : w->warmup_ns);
    if (!ring) topo_ifstats(tl.stats_ns, tl.stats_if, &before, err, sizeof(err));
    cpuacct_snap_hw(&r->hw, &cpu_a);
    /* The generator ends by itself; the guard catches a hang. */
    uint64_t guard = w->warmup_ns + w->duration_ns + 30000000000ull +
                     (w->mode == WL_DOWNLOAD ? 600000000000ull : 0);
    int cst = wait_child(cpid, guard, 1);
    if (cst == -1) {
        stop_child(cpid, 3000000000ull);
        snprintf(why, sizeof(why), cli_stop ? "interrupted" : "generator did not finish in time");
        failure = why;
    } else if (!WIFEXITED(cst) || WEXITSTATUS(cst) != 0) {
        snprintf(why, sizeof(why), "generator failed (status %d, see %s)",
                 WIFEXITED(cst) ? WEXITSTATUS(cst) : 128 + WTERMSIG(cst), clog);
        failure = why;
    }
    cpuacct_snap_hw(&r->hw, &cpu_b);
    if (!ring) topo_ifstats(tl.stats_ns, tl.stats_if, &after, err, sizeof(err));
    if (cap_pid > 0) stop_child(cap_pid, 5000000000ull); /* writes its sidecar */
    if (spid > 0) {
        int sst = stop_child(spid, 5000000000ull);
        if (!failure && (!WIFEXITED(sst) || WEXITSTATUS(sst) != 0)) {
            snprintf(why, sizeof(why), "server exited abnormally (status %d, see %s)",
                     WIFEXITED(sst) ? WEXITSTATUS(sst) : 128 + WTERMSIG(sst), slog);
            failure = why;
        }
    }
record:
    delta.rx_packets = after.rx_packets - before.rx_packets;
    delta.tx_packets = after.tx_packets - before.tx_packets;
    delta.rx_bytes = after.rx_bytes - before.rx_bytes;
    delta.tx_bytes = after.tx_bytes - before.tx_bytes;
    if (tl.swap_stats) { /* the tap's kernel side: its rx is the DUT's tx */
        uint64_t t = delta.rx_packets;
        delta.rx_packets = delta.tx_packets, delta.tx_packets = t;
        t = delta.rx_bytes;
        delta.rx_bytes = delta.tx_bytes, delta.tx_bytes = t;
    }
    client = load_json(cjson);
    server = load_json(sjson);
    if (!failure && (!client || !server)) {
        snprintf(why, sizeof(why), "missing %s JSON", !client ? "client" : "server");
        failure = why;
    }
    if (!failure) failure = cross_check(client, server, probes, why, sizeof(why));
    if (cpu_b.t_ns > cpu_a.t_ns && client)
        cpu = cpuacct_json(&cpu_a, &cpu_b, r->tsc_hz, s->dut_cpu, s->gen_cpu,
                           jnum(client, "requests"), (double)(delta.rx_packets + delta.tx_packets));

    json_t *wl = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", w->name, "mode",
                           wl_mode_str(w->mode), "path", w->path, "connections",
                           (json_int_t)w->connections, "pipeline", (json_int_t)w->pipeline,
                           "rate", (json_int_t)w->rate, "duration_ns", (json_int_t)w->duration_ns,
                           "warmup_ns", (json_int_t)w->warmup_ns, "requests",
                           (json_int_t)w->requests, "timeout_ns", (json_int_t)w->timeout_ns);
    json_t *rec = json_pack(
        "{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:s,s:o,s:O,s:{s:I,s:I,s:I,s:I}}", "schema",
        "bypassbench.trial/1", "suite", s->name, "suite_hash", s->hash, "workload", wl, "driver",
        driver, "generator_driver", ring ? tl.drv : GEN_DRIVER, "link", tl.link, "repeat", (json_int_t)rep,
        "status", failure ? "failed" : "ok", "failure", failure ? json_string(failure) : json_null(),
        "env", r->env, "dut_iface", "rx_packets", (json_int_t)delta.rx_packets, "tx_packets",
        (json_int_t)delta.tx_packets, "rx_bytes", (json_int_t)delta.rx_bytes, "tx_bytes",
        (json_int_t)delta.tx_bytes);
    json_object_set_new(rec, "metrics", client && server ? metrics_of(w, client, server, &delta, cpu)
                                                         : json_object());
    json_object_set_new(rec, "cpu", cpu ? cpu : json_null());
    json_object_set_new(rec, "netio_driver", json_string(tl.drv));
    /* The DUT was not the bottleneck when the generator's core was busy. */
    json_object_set_new(rec, "generator_saturated",
                        json_boolean(cpu && jnum(cpu, "gen_util") > 0.9));
    if (cap_method) {
        char side[PATH_MAX + 32];
        snprintf(side, sizeof(side), "%s.json", base);
        json_t *cj = load_json(side); /* libpcap and pdump write a sidecar */
        json_t *dc = json_object_get(server, "driver_counters");
        if (!cj && dc) /* in-process: the dpdk pktio counts what it wrote */
            cj = json_pack("{s:I,s:I,s:I}", "packets",
                           (json_int_t)jnum(dc, "capture_frames"), "over_count",
                           (json_int_t)jnum(dc, "capture_over_count"), "write_errors",
                           (json_int_t)jnum(dc, "capture_write_errors"));
        json_object_set_new(rec, "capture",
                            json_pack("{s:s,s:s,s:o}", "method", cap_method, "file", cap_file,
                                      "summary", cj ? cj : json_null()));
    } else if (s->capture) {
        json_object_set_new(rec, "capture",
                            json_pack("{s:s}", "method", "none: the ring link has no capture point"));
    }
    json_object_set_new(rec, "client", client ? client : json_null());
    json_object_set_new(rec, "server", server ? server : json_null());
    if (results_write_trial(r->dir, w->name, driver, rep, rec, err, sizeof(err)) < 0)
        fprintf(stderr, "run: %s\n", err);
    json_array_append_new(r->records, rec);

    /* progress line */
    char a[32], b[32];
    json_t *m = json_object_get(rec, "metrics");
    double elapsed = (double)(mono_ns() - r->started) / 1e9;
    printf("[%d/%d %5.0fs] %-12s %-8s r%u  ", r->trial, r->ntrials, elapsed, w->name, driver, rep);
    if (w->mode == WL_DOWNLOAD)
        printf("%8.2f s  %6.2f Gbit/s", jnum(m, "download_s"), jnum(m, "gbps"));
    else
        printf("%10s req/s  p99 %s", units_format_count(jnum(m, "rps"), a, sizeof(a)),
               units_format_ns((uint64_t)jnum(m, "lat_p99_ns"), b, sizeof(b)));
    printf("  %s%s\n", failure ? "FAILED: " : "ok", failure ? failure : "");
    fflush(stdout);
    if (failure) r->failed++;
    return failure ? -1 : 0;
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

static void print_plan(const struct suite *s)
{
    char d[32], w[32];
    printf("suite %s (%s, hash %s): %d workloads x %d drivers x %u repeats on %s\n", s->name,
           s->path, s->hash, s->nworkloads, s->ndrivers, s->repeats, s->link);
    for (int i = 0; i < s->nworkloads; i++) {
        const struct wl_spec *x = &s->workloads[i];
        printf("  %-14s %-8s %-14s c=%-5u p=%-3u %s warm-up %s\n", x->name, wl_mode_str(x->mode),
               x->path, x->connections, x->pipeline,
               x->mode == WL_DOWNLOAD ? "-" : units_format_ns(x->duration_ns, d, sizeof(d)),
               units_format_ns(x->warmup_ns, w, sizeof(w)));
    }
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
        resolve_link(&r->suite, r->suite.drivers[i], &tl);
        if (!suite_link_ok(tl.drv, tl.link)) {
            fprintf(stderr, "run: %s: driver %s cannot run on link %s (tap and ring: dpdk only)\n",
                    path, tl.drv, tl.link);
            goto out_suite;
        }
        const struct netio_ops *ops = netio_find(tl.drv);
        if (ops->probe && ops->probe(err, sizeof(err)) < 0) {
            fprintf(stderr, "run: driver %s cannot run here: %s\n", ops->name, err);
            goto out_suite;
        }
    }
    print_plan(&r->suite);
    if (check) {
        rc = 0;
        goto out_suite;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "run: needs root to create network namespaces (try sudo)\n");
        goto out_suite;
    }
    if (topo_lock(0, err, sizeof(err)) < 0) {
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
    json_object_set_new(r->env, "quick", json_boolean(quick));
    report_json_write(strcat(strcpy(logs, r->dir), "/env.json"), r->env, err, sizeof(err));
    r->records = json_array();
    cli_on_signals();

    struct topo_config tc = {.link = r->suite.link, .rps = r->suite.rps,
                             .dut_cpu = r->suite.dut_cpu, .dut_addr = 1};
    printf("topology: %s up (%s %s/%d <-> %s %s/%d)\n", r->suite.link, TOPO_NS_GEN, TOPO_IP_GEN,
           TOPO_PREFIX, TOPO_NS_DUT, TOPO_IP_DUT, TOPO_PREFIX);
    if (topo_up(&tc, err, sizeof(err)) < 0) {
        fprintf(stderr, "run: topology: %s\n", err);
        rc = 1;
        goto out_down;
    }
    tune_namespaces();
    r->dut_has_addr = 1;
    int want_huge = 0;
    for (int i = 0; i < r->suite.ndrivers; i++)
        want_huge |= r->suite.capture && strncmp(r->suite.drivers[i], "dpdk", 4) == 0;
    if (want_huge) {
        r->huge_ok = hugepages_ensure(512, r->huge_why, sizeof(r->huge_why)) > 0; /* pages */
        printf("capture: DPDK through %s\n", r->huge_ok ? "a pdump secondary (hugepages reserved)"
                                                          : "in-process rte_pcapng");
        if (!r->huge_ok) printf("capture: no multi-process: %s\n", r->huge_why);
    }
    r->ntrials = r->suite.nworkloads * r->suite.ndrivers * (int)r->suite.repeats;
    r->started = mono_ns();
    /* Repeats interleave drivers, so slow drift hits every driver alike. */
    for (int wi = 0; wi < r->suite.nworkloads && !cli_stop; wi++)
        for (unsigned rep = 1; rep <= r->suite.repeats && !cli_stop; rep++)
            for (int di = 0; di < r->suite.ndrivers && !cli_stop; di++) {
                r->trial++;
                run_trial(r, &r->suite.workloads[wi], r->suite.drivers[di], rep);
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
           cli_stop ? " (interrupted)" : "", r->dir);
out_down:
    if (r->huge_ok && hugepages_release(err, sizeof(err)) < 0)
        fprintf(stderr, "run: hugepages: %s\n", err);
    if (topo_down(err, sizeof(err)) < 0) fprintf(stderr, "run: teardown: %s\n", err);
    json_decref(r->records);
    json_decref(r->env);
    cpuacct_hw_close(&r->hw);
out_suite:
    suite_free(&r->suite);
    free(r);
    return rc;
}
