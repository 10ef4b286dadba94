/*
 * trial.c — trial_execute(): the life cycle of one trial (see trial.h).
 *
 *   DUT address (the kernel's, or our stack's) -> serve in bb-dut ->
 *   (tap link: move the net_tap interface to bb-gen) -> readiness probe from
 *   bb-gen -> capture process -> generator -> end of warm-up: interface and
 *   CPU counters -> generator exits -> counters again -> stop capture, stop
 *   serve (it writes its JSON).
 *
 * With dut = client: the fixed server in bb-gen -> its probe -> the DUT
 * client in bb-dut, up to its --go (driver up) -> (tap link) -> capture ->
 * go -> the same counters and stops, the fixed server last (nginx's access
 * log becomes its JSON).
 *
 * Every child is in its own process group with PDEATHSIG (topo_spawn); a
 * failure stops what was started and says why in the outcome.
 * Callers: harness/cli/run.c. Calls: topo.c, cpuacct.c, proc.c.
 */
#include "harness/run/fixed_server.h"
#include "harness/run/proc.h"
#include "harness/run/trial.h"
#include "harness/run/sysinfo.h"
#include "drivers/opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC 1000000000ull

/* --- busy polling in epoll on kernels without EPIOCSPARAMS --------------- */

/* The kernel driver's busy_poll makes epoll_wait busy poll through
 * EPIOCSPARAMS (Linux 6.9). An older kernel has only the global sysctls
 * net.core.busy_poll (epoll/poll/select) and busy_read (recv, and the
 * default of every new socket: the generator's too): set them to the row's
 * busy_poll for its trial and put them back after. */
struct busy_sysctls {
    int set, gro;
    char old_poll[32], old_read[32];
};

static int epoll_has_params(void)
{
    struct {
        uint32_t usecs;
        uint16_t budget;
        uint8_t prefer, pad;
    } ep;
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return 0;
    int r = ioctl(fd, _IOR(0x8A, 0x02, ep), &ep); /* EPIOCGPARAMS */
    int e = errno;
    close(fd);
    return r == 0 || e != ENOTTY;
}

static int sysctl_rw(const char *path, char *old, size_t oldlen, const char *val)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    if (!fgets(old, (int)oldlen, f)) old[0] = '\0';
    fclose(f);
    old[strcspn(old, "\n")] = '\0';
    f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(val, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* The row's option KEY: its variant's section wins over its driver's. */
static const char *row_opt(const struct suite *s, const struct trial_link *tl, const char *key)
{
    const char *v = tl->variant[0] ? opts_value(suite_driver_opts(s, tl->variant), key, -1) : NULL;
    return v ? v : opts_value(suite_driver_opts(s, tl->drv), key, -1);
}

/* app: the server is a stock program (server_app), which sets no busy-poll
 * option of its own: the sysctls are its only way to busy poll */
static void busy_sysctls_set(const struct suite *s, const struct trial_link *tl,
                             struct busy_sysctls *b, struct trial_outcome *o, int app)
{
    memset(b, 0, sizeof(*b));
    if (strcmp(tl->drv, "kernel") != 0) return;
    const char *us = row_opt(s, tl, "busy_poll"), *ep = row_opt(s, tl, "epoll_busy_poll");
    if (!us || strcmp(us, "0") == 0 || (ep && strcmp(ep, "off") == 0) || (epoll_has_params() && !app))
        return;
    if (sysctl_rw("/proc/sys/net/core/busy_poll", b->old_poll, sizeof(b->old_poll), us) < 0 ||
        sysctl_rw("/proc/sys/net/core/busy_read", b->old_read, sizeof(b->old_read), us) < 0) {
        snprintf(o->busy_sysctls, sizeof(o->busy_sysctls),
                 "not set: /proc/sys/net/core/busy_poll or busy_read: %s", strerror(errno));
        if (b->old_poll[0])
            sysctl_rw("/proc/sys/net/core/busy_poll", (char[32]){0}, 32, b->old_poll);
        return;
    }
    b->set = 1;
    snprintf(o->busy_sysctls, sizeof(o->busy_sysctls),
             "net.core.busy_poll=%s net.core.busy_read=%s (%s; were %s and %s, "
             "restored after the trial)",
             us, us, app ? "a stock server sets no option of its own" : "no EPIOCSPARAMS",
             b->old_poll, b->old_read);
}

/* Busy polling polls the NAPI instance a socket's packets came from, and a
 * veth has one only with GRO on (or an XDP program); topo turns GRO off. A
 * row that busy polls (kernel busy_poll, io_uring napi_busy_poll) on veth
 * gets GRO on the DUT's veth for its trials, turned off again after; the
 * record says so (dut_veth_gro). */
static void busy_gro_set(const struct suite *s, const struct trial_link *tl, struct busy_sysctls *b,
                         struct trial_outcome *o)
{
    const char *key = strcmp(tl->drv, "kernel") == 0     ? "busy_poll"
                      : strcmp(tl->drv, "io_uring") == 0 ? "napi_busy_poll"
                                                         : NULL;
    const char *us = key && strcmp(tl->link, "veth") == 0 ? row_opt(s, tl, key) : NULL;
    if (!us || strcmp(us, "0") == 0 || o->offloads_on) return; /* (offloads on: GRO is on) */
    char err[256];
    if (topo_ip(err, sizeof(err), "netns", "exec", TOPO_NS_DUT, "ethtool", "-K", TOPO_IF_DUT, "gro",
                "on", NULL) < 0) {
        snprintf(o->dut_gro, sizeof(o->dut_gro), "not turned on: %s", err);
        return;
    }
    b->gro = 1;
    snprintf(o->dut_gro, sizeof(o->dut_gro),
             "on for this trial (%s=%s: busy polling needs NAPI, which veth has only with GRO), "
             "off again after",
             key, us);
}

static void busy_sysctls_restore(struct busy_sysctls *b)
{
    if (b->gro) {
        char err[256];
        topo_ip(err, sizeof(err), "netns", "exec", TOPO_NS_DUT, "ethtool", "-K", TOPO_IF_DUT, "gro",
                "off", NULL);
        b->gro = 0;
    }
    char junk[32];
    if (!b->set) return;
    sysctl_rw("/proc/sys/net/core/busy_poll", junk, sizeof(junk), b->old_poll);
    sysctl_rw("/proc/sys/net/core/busy_read", junk, sizeof(junk), b->old_read);
    b->set = 0;
}

/* --- the readiness probe, run inside bb-gen ------------------------------ */

struct probe_arg {
    uint16_t port;
    uint64_t timeout_ns;
    const char *ip;
    int redis; /* a redis server: PING, +PONG (not HTTP) */
};

/* 0 answered, -1 not; *reached is set when the connection was accepted (a
 * request that then timed out may still be served there). */
static int probe_once(const char *ip, uint16_t port, int redis, int *reached)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    static const char req[] = "GET /bytes/1 HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
    const char *q = redis ? "PING\r\n" : req, *want = redis ? "+PONG" : "HTTP/1.1 200";
    char buf[512];
    int ok = -1;
    *reached = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (*reached && write(fd, q, strlen(q)) == (ssize_t)strlen(q)) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n >= (ssize_t)strlen(want) && memcmp(buf, want, strlen(want)) == 0) ok = 0;
    }
    close(fd);
    return ok;
}

/* Exit status (topo_run_in): PROBE_OK + the tries that reached the server
 * (the answered one included, at most PROBE_MAX_TRIES), or 1 when none was
 * answered in time. */
#define PROBE_OK 100
#define PROBE_MAX_TRIES 150
static int probe_fn(void *arg)
{
    const struct probe_arg *p = arg;
    uint64_t end = proc_mono_ns() + p->timeout_ns;
    int reached = 0, r;
    while (proc_mono_ns() < end) {
        int ok = probe_once(p->ip, p->port, p->redis, &r) == 0;
        reached += r;
        if (ok) return PROBE_OK + (reached < PROBE_MAX_TRIES ? reached : PROBE_MAX_TRIES);
        usleep(50000);
    }
    return 1;
}

/* The probe's outcome into o: 0, or -1 when the server never answered. */
static int probe_outcome(int st, struct trial_outcome *o)
{
    if (st <= PROBE_OK || st > PROBE_OK + PROBE_MAX_TRIES) return -1;
    o->probes = 1;
    o->probe_tries = st - PROBE_OK;
    return 0;
}

/* Drivers with our own stack own the DUT address; the kernel must not have it
 * then (or it would answer ARP and reset our connections). Except under
 * afxdp: its XDP program takes only our ports from the kernel, which keeps
 * the address and answers ping and its own services beside our stack. */
static int kernel_keeps_addr(const char *drv)
{
    return trial_kernel_sockets(drv) || strcmp(drv, "afxdp") == 0;
}

static int set_dut_addr(const struct trial_ctx *c, int on, char *err, size_t errlen)
{
    if (*c->dut_has_addr == on) return 0;
    char cidr[32];
    snprintf(cidr, sizeof(cidr), "%s/%d", TOPO_IP_DUT, TOPO_PREFIX);
    if ((on ? topo_ip(err, errlen, "-n", TOPO_NS_DUT, "addr", "add", cidr, "dev", TOPO_IF_DUT, NULL)
            : topo_ip(err, errlen, "-n", TOPO_NS_DUT, "addr", "flush", "dev", TOPO_IF_DUT, NULL)) < 0)
        return -1;
    *c->dut_has_addr = on;
    return 0;
}

/* tap link: net_tap created its kernel interface in bb-dut (the DUT's
 * namespace: the server's, or the client's with dut = client); move it to
 * bb-gen and address it there, as a wire, with the row's offloads. */
static int tap_to_gen(const struct trial_ctx *c, pid_t dpid, int offloads, char *err,
                      size_t errlen)
{
    /* Wait until DPDK has started the port (it brings the interface UP):
     * net_tap configures it by name in its own namespace until then. */
    char *show[] = {"ip", "-n", TOPO_NS_DUT, "-o", "link", "show", TRIAL_TAP_IF, NULL};
    char out[1024] = "", cidr[32];
    uint64_t end = proc_mono_ns() + 10 * SEC;
    while (topo_cmd(show, out, sizeof(out), err, errlen) < 0 ||
           !(strstr(out, ",UP") || strstr(out, "<UP"))) {
        if (proc_exited(dpid)) {
            snprintf(err, errlen, "the DUT process exited before its net_tap interface %s came up",
                     TRIAL_TAP_IF);
            return -1;
        }
        if (proc_mono_ns() > end || *c->stop) {
            snprintf(err, errlen, "the server's net_tap interface %s did not come up in 10 s",
                     TRIAL_TAP_IF);
            return -1;
        }
        usleep(20000);
    }
    snprintf(cidr, sizeof(cidr), "%s/24", TRIAL_TAP_IP_GEN);
    if (topo_ip(err, errlen, "-n", TOPO_NS_DUT, "link", "set", TRIAL_TAP_IF, "netns", TOPO_NS_GEN,
                NULL) < 0)
        return -1;
    /* best effort: not every tap offload can be changed */
    const char *v = offloads ? "on" : "off";
    topo_ip(err, errlen, "netns", "exec", TOPO_NS_GEN, "ethtool", "-K", TRIAL_TAP_IF, "tso", v,
            "gso", v, "gro", v, "tx", v, NULL);
    if (topo_ip(err, errlen, "-n", TOPO_NS_GEN, "addr", "add", cidr, "dev", TRIAL_TAP_IF, NULL) < 0 ||
        topo_ip(err, errlen, "-n", TOPO_NS_GEN, "link", "set", TRIAL_TAP_IF, "up", NULL) < 0)
        return -1;
    return 0;
}

__attribute__((format(printf, 2, 3))) static void fail(struct trial_outcome *o, const char *fmt,
                                                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof(o->why), fmt, ap);
    va_end(ap);
    o->failure = o->why;
}

/* --- the fixed server of dut = client ------------------------------------ */

static int mkdir_p1(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Start the fixed server in bb-gen: ours (its argv is complete) or nginx
 * (its prefix and configuration first), pinned to gen_cpu. Its pid, or -1. */
static pid_t start_fixed_server(const struct trial_ctx *c, const struct trial_plan *p, char *err,
                                size_t errlen)
{
    if (p->nginx) {
        char tmp[PATH_MAX + 32];
        snprintf(tmp, sizeof(tmp), "%s/tmp", p->nginx_prefix);
        if (!c->www) {
            snprintf(err, errlen, "no files for nginx to serve (the run prepares them)");
            return -1;
        }
        if (mkdir_p1(p->nginx_prefix, err, errlen) < 0 || mkdir_p1(tmp, err, errlen) < 0)
            return -1;
        char *conf = fixed_nginx_render(p->nginx_prefix, c->www, c->suite->port,
                                        c->suite->idle_timeout_ns);
        FILE *f = conf ? fopen(p->nginx_conf, "we") : NULL;
        int ok = f && fputs(conf, f) >= 0;
        if (f && fclose(f) != 0) ok = 0;
        free(conf);
        if (!ok) {
            snprintf(err, errlen, "cannot write %s: %s", p->nginx_conf, strerror(errno));
            return -1;
        }
    }
    pid_t pid = topo_spawn(TOPO_NS_GEN, p->sargv, p->slog, p->slog, err, errlen);
    if (pid > 0 && p->nginx && c->suite->gen_cpu >= 0) { /* ours pins itself (--cpu) */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(c->suite->gen_cpu, &set);
        if (sched_setaffinity(pid, sizeof(set), &set) < 0) {
            snprintf(err, errlen, "cannot pin nginx to CPU %d: %s", c->suite->gen_cpu,
                     strerror(errno));
            proc_stop(pid, 2 * SEC);
            return -1;
        }
    }
    return pid;
}

/* nginx stopped: its access log as the server JSON (the shape serve writes:
 * stats.requests_parsed for the identity check). 0, or -1 with err. */
static int nginx_server_json(const struct trial_plan *p, char *err, size_t errlen)
{
    json_t *j = fixed_nginx_log_json(p->nginx_log, err, errlen);
    if (!j) return -1;
    json_object_set_new(j, "access_log", json_string(p->nginx_log));
    int rc = json_dump_file(j, p->sjson, JSON_INDENT(2)) == 0 ? 0 : -1;
    if (rc < 0) snprintf(err, errlen, "cannot write %s", p->sjson);
    json_decref(j);
    return rc;
}

void trial_execute(const struct trial_ctx *c, const struct trial_plan *p,
                   const struct wl_spec *w, struct trial_outcome *o)
{
    const struct trial_link *tl = &p->tl;
    struct topo_ifstats before = {0}, after = {0};
    char err[512];
    int ifs_ok = 0; /* both reads of the DUT interface succeeded */
    memset(o, 0, sizeof(*o));
    unlink(p->sjson);
    unlink(p->cjson);
    if (p->cap_method) unlink(p->cap_ready);
    if (p->client) unlink(p->go), unlink(p->go_ready), unlink(p->go_done);
    pid_t spid = -1, cap_pid = -1, cpid = -1;
    unsigned long long opens_a = 0, opens_b = 0; /* bb-dut's TcpPassiveOpens (apps) */
    int opens_ok = 0;
    struct busy_sysctls bs = {0}; /* restored at counters: whatever failed before */
    /* A server killed in an earlier trial (a DPDK net_af_xdp port after
     * SIGKILL) may have left its program on the DUT interface. */
    if (topo_xdp_detach(TOPO_NS_DUT, err, sizeof(err)) < 0) {
        fail(o, "the DUT interface keeps an XDP program: %s", err);
        goto counters;
    }
    o->offloads_on = suite_row_offloads(c->suite, tl->drv, tl->variant);
    /* DPDK's net_af_packet drops the kernel's "checksum not filled in" mark
     * (TP_STATUS_CSUMNOTREADY): with offloads on, the generator's end keeps
     * computing its TX checksums for that row (the DUT's offloads are what
     * the PMD has; the record lists both ends). 2 = on but that. */
    int want = o->offloads_on && strcmp(tl->drv, "dpdk") == 0 && strcmp(tl->link, "veth") == 0 && !p->xdp
                   ? 2
                   : o->offloads_on;
    if (c->veth_offloads && *c->veth_offloads != want) { /* this row's, before GRO below */
        if (topo_veth_offloads(o->offloads_on, err, sizeof(err)) < 0 ||
            (want == 2 && topo_ip(err, sizeof(err), "netns", "exec", TOPO_NS_GEN, "ethtool", "-K",
                                  TOPO_IF_GEN, "tx", "off", NULL) < 0)) {
            snprintf(o->offloads_err, sizeof(o->offloads_err), "%s", err);
            fail(o, "cannot turn the veth's offloads %s: %s", o->offloads_on ? "on" : "off", err);
            goto counters;
        }
        *c->veth_offloads = want;
    }
    busy_sysctls_set(c->suite, tl, &bs, o, p->sapp != APP_NONE);
    busy_gro_set(c->suite, tl, &bs, o);
    if (set_dut_addr(c, kernel_keeps_addr(tl->drv), err, sizeof(err)) < 0) {
        fail(o, "cannot set the DUT address: %s", err);
        goto counters;
    }
    if (p->client) { /* the fixed server, then the DUT up to its --go */
        spid = start_fixed_server(c, p, err, sizeof(err));
        if (spid < 0) {
            fail(o, "cannot start the fixed server: %s", err);
            goto counters;
        }
        /* it listens on every address of bb-gen: the veth's is there already */
        struct probe_arg pa = {.port = c->suite->port, .timeout_ns = 10 * SEC, .ip = TOPO_IP_GEN};
        if (probe_outcome(topo_run_in(TOPO_NS_GEN, probe_fn, &pa), o) < 0) {
            fail(o, "the fixed server did not answer within 10 s (see %s)", p->slog);
            proc_stop(spid, 2 * SEC);
            goto counters;
        }
        cpid = topo_spawn(TOPO_NS_DUT, p->cargv, p->clog, p->clog, err, sizeof(err));
        if (cpid < 0 || proc_wait_file(p->go_ready, cpid, 30 * SEC, c->stop) < 0) {
            fail(o, "the DUT client %s (see %s)",
                 cpid < 0 ? "did not start" : "did not bring its driver up in 30 s", p->clog);
            if (cpid > 0) proc_stop(cpid, 2 * SEC);
            proc_stop(spid, 2 * SEC);
            goto counters;
        }
        if (p->tap && tap_to_gen(c, cpid, o->offloads_on, err, sizeof(err)) < 0) {
            fail(o, "tap link: %s (see %s)", err, p->clog);
            proc_stop(cpid, 2 * SEC);
            proc_stop(spid, 2 * SEC);
            goto counters;
        }
    } else if (!p->ring) {
        if ((p->sapp || p->gapp) && trial_app_prepare(c, p, err, sizeof(err)) < 0) {
            fail(o, "cannot prepare the application's files: %s", err);
            goto counters;
        }
        /* an application on kernel sockets: the connections its kernel accepts */
        opens_ok = p->sapp && !p->app_stack &&
                   trial_app_passive_opens(&opens_a, err, sizeof(err)) == 0;
        spid = topo_spawn(TOPO_NS_DUT, p->sargv, p->slog, p->slog, err, sizeof(err));
        if (spid < 0) {
            fail(o, "cannot start the server: %s", err);
            goto counters;
        }
        if (p->tap && tap_to_gen(c, spid, o->offloads_on, err, sizeof(err)) < 0) {
            fail(o, "tap link: %s (see %s)", err, p->slog);
            proc_stop(spid, 2 * SEC);
            goto counters;
        }
        struct probe_arg pa = {.port = c->suite->port, .timeout_ns = 10 * SEC, .ip = tl->dut_ip,
                               .redis = p->sapp == APP_REDIS_SERVER};
        if (probe_outcome(topo_run_in(TOPO_NS_GEN, probe_fn, &pa), o) < 0) {
            fail(o, "server %s (see %s)",
                 proc_exited(spid) ? "exited before it answered" : "did not answer within 10 s",
                 p->sapp == APP_NGINX ? p->nginx_err : p->slog);
            proc_stop(spid, 2 * SEC);
            goto counters;
        }
    }
    /* every interface's offloads as this trial runs them (the tap link's
     * interface exists only now; a driver may have changed its own) */
    if (!p->ring) {
        static const char *const nss[] = {TOPO_NS_GEN, TOPO_NS_DUT, NULL};
        o->offloads = sysinfo_offloads_json(nss);
    }
    if (p->cap_method &&
        (strcmp(p->cap_method, "libpcap") == 0 || strcmp(p->cap_method, "pdump") == 0)) {
        char caplog[PATH_MAX + 32];
        snprintf(caplog, sizeof(caplog), "%s.capture.log", p->base);
        cap_pid = topo_spawn(strcmp(p->cap_method, "libpcap") == 0 ? tl->stats_ns : TOPO_NS_DUT,
                             p->capargv, caplog, caplog, err, sizeof(err));
        if (cap_pid < 0 || proc_wait_file(p->cap_ready, cap_pid, 10 * SEC, c->stop) < 0) {
            fail(o, "capture (%s) did not start (see %s)", p->cap_method, caplog);
            if (cap_pid > 0) proc_stop(cap_pid, 2 * SEC);
            if (cpid > 0) proc_stop(cpid, 2 * SEC);
            if (spid > 0) proc_stop(spid, 2 * SEC);
            goto counters;
        }
    }
    if (p->client) { /* wired and watched: the DUT may start */
        FILE *g = fopen(p->go, "we");
        if (!g || fclose(g) != 0) {
            fail(o, "cannot create %s: %s", p->go, strerror(errno));
            if (cap_pid > 0) proc_stop(cap_pid, 2 * SEC);
            proc_stop(cpid, 2 * SEC);
            proc_stop(spid, 2 * SEC);
            goto counters;
        }
    } else if (p->gapp && trial_app_warmup(c, p, w, err, sizeof(err)) < 0) {
        fail(o, "%s", err);
        if (cap_pid > 0) proc_stop(cap_pid, 2 * SEC);
        if (spid > 0) proc_stop(spid, 2 * SEC);
        goto counters;
    } else {
        cpid = topo_spawn(p->ring ? TOPO_NS_DUT : TOPO_NS_GEN, p->cargv, p->clog, p->clog, err,
                          sizeof(err));
    }
    if (cpid < 0) {
        fail(o, "cannot start the generator: %s", err);
        if (spid > 0) proc_stop(spid, 2 * SEC);
        goto counters;
    }
    /* The harness's counters, the fallback: from the end of the warm-up to
     * the generator's exit, a longer span than the window (the generator
     * takes its own at the window's edges; the record prefers those). */
    /* an application generator: its warm-up ran before, its whole run is measured */
    proc_sleep_watching(cpid, w->mode == WL_DOWNLOAD || p->gapp ? 0 : w->warmup_ns, c->stop);
    snprintf(o->delta_err, sizeof(o->delta_err), "%s",
             p->ring ? "the ring link has no interface" : "not read");
    if (!p->ring)
        ifs_ok = topo_ifstats(tl->stats_ns, tl->stats_if, &before, o->delta_err,
                              sizeof(o->delta_err)) == 0;
    cpuacct_snap_hw(c->hw, &o->cpu_a);
    /* The generator ends by itself; the guard catches a hang. */
    uint64_t guard = w->warmup_ns + w->duration_ns + 30 * SEC +
                     (w->mode == WL_DOWNLOAD ? 600 * SEC : 0);
    int cst;
    if (p->client) {
        /* The DUT client holds its driver after its run (go.done) until the
         * harness has read the counters and stopped the capture: a pdump
         * secondary needs its primary alive to detach, and the tap's
         * interface goes with the process. */
        int held = proc_wait_file(p->go_done, cpid, guard, c->stop) == 0;
        cpuacct_snap_hw(c->hw, &o->cpu_b);
        if (ifs_ok)
            ifs_ok = topo_ifstats(tl->stats_ns, tl->stats_if, &after, o->delta_err,
                                  sizeof(o->delta_err)) == 0;
        if (cap_pid > 0) proc_stop(cap_pid, 5 * SEC), cap_pid = -1;
        unlink(p->go); /* let it go */
        cst = proc_wait(cpid, held ? 30 * SEC : 1, c->stop);
    } else {
        cst = proc_wait(cpid, guard, c->stop);
    }
    if (cst == -1) {
        proc_stop(cpid, 3 * SEC);
        fail(o, "%s", *c->stop ? "interrupted" : "generator did not finish in time");
    } else if (!WIFEXITED(cst) || WEXITSTATUS(cst) != 0) {
        fail(o, "generator failed (status %d, see %s)",
             WIFEXITED(cst) ? WEXITSTATUS(cst) : 128 + WTERMSIG(cst), p->clog);
    }
    if (!p->client) { /* (the client's were taken while it held) */
        cpuacct_snap_hw(c->hw, &o->cpu_b);
        if (ifs_ok)
            ifs_ok = topo_ifstats(tl->stats_ns, tl->stats_if, &after, o->delta_err,
                                  sizeof(o->delta_err)) == 0;
    }
    if (cap_pid > 0) proc_stop(cap_pid, 5 * SEC); /* writes its sidecar */
    if (spid > 0 && p->sapp == APP_REDIS_SERVER && !o->failure &&
        trial_app_redis_info(p, err, sizeof(err)) < 0)
        fail(o, "cannot read redis-server's INFO commandstats: %s", err);
    if (spid > 0) {
        int sst = proc_stop(spid, 5 * SEC);
        if (!o->failure && (!WIFEXITED(sst) || WEXITSTATUS(sst) != 0)) {
            fail(o, "%sserver exited abnormally (status %d, see %s)", p->client ? "the fixed " : "",
                 WIFEXITED(sst) ? WEXITSTATUS(sst) : 128 + WTERMSIG(sst),
                 p->nginx ? p->nginx_err : p->slog);
        }
        if (p->nginx && nginx_server_json(p, err, sizeof(err)) < 0 && !o->failure)
            fail(o, "%s", err);
    }
    if (opens_ok) /* the server has stopped: every connection it accepted is counted */
        opens_ok = trial_app_passive_opens(&opens_b, err, sizeof(err)) == 0 && opens_b >= opens_a;
    if ((p->sapp || p->gapp) && !o->failure &&
        trial_app_results(c, p, w, opens_ok ? (long long)(opens_b - opens_a) : -1, err,
                          sizeof(err)) < 0)
        fail(o, "%s", err);
counters:
    busy_sysctls_restore(&bs);
    if (p->client) /* the handshake's, nothing to keep */
        unlink(p->go), unlink(p->go_ready), unlink(p->go_done);
    if (!ifs_ok) { /* absent, never a wrapped-around difference */
        o->delta_failed = 1;
        if (!o->delta_err[0]) snprintf(o->delta_err, sizeof(o->delta_err), "not read");
        return;
    }
    o->delta_err[0] = '\0';
    o->delta.rx_packets = after.rx_packets - before.rx_packets;
    o->delta.tx_packets = after.tx_packets - before.tx_packets;
    o->delta.rx_bytes = after.rx_bytes - before.rx_bytes;
    o->delta.tx_bytes = after.tx_bytes - before.tx_bytes;
    if (tl->swap_stats) { /* the tap's kernel side: its rx is the DUT's tx */
        uint64_t t = o->delta.rx_packets;
        o->delta.rx_packets = o->delta.tx_packets, o->delta.tx_packets = t;
        t = o->delta.rx_bytes;
        o->delta.rx_bytes = o->delta.tx_bytes, o->delta.tx_bytes = t;
    }
}
