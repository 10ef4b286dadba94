/*
 * trial.h — one trial of `bypassbench run` (DESIGN §6), in three steps:
 *
 *   trial_plan()     what runs where: the argv of the server, the generator
 *                    (load, or pair on the ring link) and the capture, and
 *                    the trial's files; no side effect (plan.c)
 *   trial_execute()  the life cycle: the DUT address, spawn the server, wait
 *                    until it answers, start the capture and the generator,
 *                    take interface and CPU counters at the window's edges,
 *                    stop everything (trial.c)
 *   trial_record()   the record: both sides' JSON, the cross-check, CPU
 *                    accounting, the metrics, the capture summary (record.c)
 *
 * Library code: no printing, no exit; failures are a reason in the outcome.
 * Callers: harness/cli/run.c, tests/harness/run/test_trial.c.
 * Calls: suite.c, topo.c, cpuacct.c, proc.c, jansson.
 */
#ifndef BB_RUN_TRIAL_H
#define BB_RUN_TRIAL_H

#include "harness/run/cpuacct.h"
#include "harness/run/suite.h"
#include "harness/run/topo.h"

#include <jansson.h>
#include <limits.h>
#include <signal.h>

#define TRIAL_GEN_DRIVER "kernel" /* the generator is identical across DUT drivers */
/* net_af_packet's ring frames (its default is 512). Its TX ring frames are
 * skb fragments until the receiver frees them and a kick (sendto) that finds
 * the socket's send buffer full leaves the rest of a burst in the ring until
 * the next burst: with 512 frames ka-64k (64 x /bytes/64k) stalled until an
 * RTO kicked it (p99 220 ms, 10 RTOs, 369 retransmissions that the
 * generator's kernel D-SACKed: none was lost); with 2048, p99 9.8 ms and no
 * RTO (8192: 18.6 ms). */
#define TRIAL_AFP_FRAMECNT "2048"
#define TRIAL_TAP_IF "bb-tap0"
#define TRIAL_TAP_IP_GEN "198.18.1.1"
#define TRIAL_TAP_IP_DUT "198.18.1.2"
#define TRIAL_CAP_SNAPLEN "128"   /* headers only: what a trace summary needs */
#define TRIAL_CAP_COUNT "2000000" /* bound per trial */

/* Per-link facts of a trial: where the DUT listens and how it is wired.
 * With dut = client the DUT is still the process in bb-dut on its driver
 * (dut_ip is its own address, stats_* its interface) and the fixed server
 * runs in bb-gen on kernel sockets, at srv_ip. */
struct trial_link {
    char drv[32], link[16], label[48]; /* label: "kernel", "dpdk", "dpdk-ring", ... */
    char variant[32];                  /* "kernel+busypoll": its [driver] section; "" if none */
    const char *dut_ip;                /* the address the generator targets */
    const char *srv_ip;                /* dut = client: the fixed server's, in bb-gen */
    const char *stats_ns, *stats_if;   /* where to read the DUT's interface counters */
    int swap_stats;                    /* counters are the peer's (tap): swap rx/tx */
    const char *gen_if; /* the DUT interface's peer in bb-gen (veth bb-gen0, tap bb-tap0), which
                         * the generator reads at its window's edges: its rx is the DUT's tx;
                         * NULL on the ring link (the generator's ring end is the peer there) */
};
void trial_resolve_link(const struct suite *s, const char *entry, struct trial_link *t);
/* 1 for drivers on kernel sockets (kernel, io_uring): the DUT kernel owns
 * the address; 0 for those with our own stack (it does). */
int trial_kernel_sockets(const char *drv);

/* What stays the same across the trials of one run. */
struct trial_ctx {
    const struct suite *suite;
    const char *self;             /* this binary, for the children */
    const char *dir;              /* the run directory (logs/ in it) */
    json_t *env;                  /* the environment, put in every record (borrowed) */
    double tsc_hz;
    const struct cpuacct_hw *hw;  /* hardware cycle counters, when the machine has them */
    int huge_ok;                  /* hugepages reserved: DPDK capture through pdump */
    int *dut_has_addr;            /* the kernel in bb-dut owns TOPO_IP_DUT right now */
    int *veth_offloads;           /* the veth ends' offloads right now (1 on, 0 off), or NULL */
    volatile sig_atomic_t *stop;  /* set on SIGINT/SIGTERM */
    const char *www;              /* server = nginx: the files it serves (fixed_www_prepare) */
};

#define TRIAL_MAX_ARGS (64 + SUITE_MAX_DRIVER_OPTS * 2)

struct trial_plan {
    struct trial_link tl;
    int ring, tap, xdp; /* xdp: the veth, the dpdk port on it net_af_xdp (not net_af_packet) */
    /* dut = client: cargv is the DUT (load on tl.drv in bb-dut, pinned to
     * dut_cpu), sargv the fixed server in bb-gen on kernel sockets (pinned to
     * gen_cpu): `serve --driver kernel`, or nginx when nginx is set */
    int client, nginx;
    /* dut = client: load --go; the client writes go.ready once its driver
     * is up, and waits for go, which the harness makes once the link is
     * wired (the tap) and the capture runs; after its run it writes
     * go.done and holds its driver until the harness removes go */
    char go[PATH_MAX + 16], go_ready[PATH_MAX + 32], go_done[PATH_MAX + 32];
    char nginx_bin[PATH_MAX], nginx_prefix[PATH_MAX + 16], nginx_conf[PATH_MAX + 32],
        nginx_err[PATH_MAX + 32], nginx_log[PATH_MAX + 32];
    unsigned rep;
    char base[PATH_MAX], sjson[PATH_MAX + 16], slog[PATH_MAX + 16], cjson[PATH_MAX + 16],
        clog[PATH_MAX + 16];
    /* the strings the argv point into */
    char url[128], listen[64], dut_cidr[32], cpu_d[16], cpu_g[16], idle[32], conns[16],
        pipe[16], dur[32], warm[32], tmo[32], reqs[32], rate[32];
    const char *cap_method; /* NULL: no capture; "libpcap", "pdump", "in-process rte_pcapng" */
    char cap_file[PATH_MAX + 16], cap_ready[PATH_MAX + 32], cap_prefix[32],
        cap_opt1[PATH_MAX + 48], cap_opt2[64];
    char *sargv[TRIAL_MAX_ARGS]; /* serve, or nginx (unused on the ring link) */
    char *cargv[TRIAL_MAX_ARGS]; /* load, or pair on the ring link */
    char *capargv[32];           /* capture or pdump (when cap_method needs a process) */
    /* Applications (apps.h; suite_app_of): sapp the server (APP_NONE: ours;
     * sargv is then the app's command line, under `bypassbench exec` for
     * afpacket/afxdp/dpdk, behind `taskset -c dut_cpu`), gapp the generator
     * (cargv is the app's, behind `taskset -c gen_cpu`; wargv its throw-away
     * warm-up run, wargv[0] NULL when there is none). Their files are in
     * app_dir: nginx's prefix (nginx_* above), the library's counters
     * (app_stats), wrk's script, ab's -e CSVs, the warm-up run's output. */
    int sapp, gapp; /* enum app_id */
    int app_stack;  /* the server app runs under the preload library */
    char app_dir[PATH_MAX + 16], app_stats[PATH_MAX + 32], app_script[PATH_MAX + 32],
        app_csv[PATH_MAX + 32], app_wcsv[PATH_MAX + 32], app_wlog[PATH_MAX + 32],
        app_sbin[PATH_MAX], app_gbin[PATH_MAX], app_port[16], app_dur[16], app_wdur[16],
        app_tmo[16], app_abn[24], app_wabn[24];
    char *wargv[TRIAL_MAX_ARGS];
};

/* The plan of trial number `trial` (1-based, for unique names) of workload
 * w on driver entry (e.g. "dpdk@ring"), repeat rep. */
void trial_plan(struct trial_plan *p, const struct trial_ctx *c, const struct wl_spec *w,
                const char *entry, unsigned rep, int trial);

/* What the life cycle saw. */
struct trial_outcome {
    const char *failure; /* NULL, or why (points into why) */
    char why[512];
    int probes;                /* readiness probes the server answered (1) */
    int probe_tries;           /* probe tries that reached the server (connected): a try
                                * that timed out may still have been parsed there, so the
                                * server's counts may exceed the client's by up to this */
    int offloads_on;           /* the row's offloads setting (suite_row_offloads) */
    char offloads_err[256];    /* the veth's offloads could not be set for it: why */
    /* The harness's own counters, the fallback when the generator's JSON has
     * no window (DESIGN §6 wants the generator's): the DUT interface from the
     * end of the warm-up to the generator's exit (the DUT's view), unless
     * delta_failed (not read, or a read failed: delta_err says which); and
     * the CPU over the same span. */
    struct topo_ifstats delta;
    int delta_failed;
    char delta_err[256];
    struct cpu_snap cpu_a, cpu_b;
    json_t *offloads; /* every interface's offloads once the server was up (sysinfo_offloads_json),
                         NULL on the ring; trial_record takes it */
    /* "" or what the harness did to the busy-poll sysctls for this trial */
    char busy_sysctls[192];
    /* "" or what the harness did to GRO on the DUT veth (busy-poll rows) */
    char dut_gro[192];
};
void trial_execute(const struct trial_ctx *c, const struct trial_plan *p,
                   const struct wl_spec *w, struct trial_outcome *o);

/* The trial record (schema bypassbench.trial/1), a new reference. Loads both
 * sides' JSON; a cross-check failure or missing JSON sets o->failure.
 * Its CPU figures come from the snapshots the generator took at its own
 * window's edges (client JSON `window`; cpu.window_source "generator"),
 * else from the harness's (o->cpu_a/b, "harness"). Its packets
 * (dut_packets_source, dut_packets_window): the generator's ring end on the
 * ring link or the DUT interface's peer (gen_if) at the generator's edges,
 * else the harness's DUT interface counters, else on the ring the server's
 * driver counters over its whole run; none when nothing could be read.
 * Per-packet CPU figures only where both cover the same window. */
json_t *trial_record(const struct trial_ctx *c, const struct trial_plan *p,
                     const struct wl_spec *w, struct trial_outcome *o);

/* Application trials (trial_apps.c; the steps trial_execute takes when the
 * plan names an application): each 0, or -1 with err. */
int trial_app_prepare(const struct trial_ctx *c, const struct trial_plan *p, char *err,
                      size_t errlen);
int trial_app_warmup(const struct trial_ctx *c, const struct trial_plan *p,
                     const struct wl_spec *w, char *err, size_t errlen);
int trial_app_redis_info(const struct trial_plan *p, char *err, size_t errlen);
int trial_app_results(const struct trial_ctx *c, const struct trial_plan *p,
                      const struct wl_spec *w, long long passive_opens, char *err, size_t errlen);
/* bb-dut's TcpPassiveOpens (/proc/net/snmp): connections its kernel accepted. */
int trial_app_passive_opens(unsigned long long *n, char *err, size_t errlen);
/* A file's first max bytes, NUL-terminated and malloc'd; NULL if unreadable. */
char *trial_app_read(const char *path, size_t max);

/* The DUT side as the record and the report name it: "server", "client
 * (downloader)" or "client (load generator)". */
const char *trial_dut_side(int client, enum wl_mode mode);

/* The metrics of a trial, numeric only: the summary takes medians of each.
 * client/server: the two sides' JSON; d: the DUT's packets over the window,
 * or NULL when there are none (no packet figure then); cpu: cpuacct_json()
 * or NULL. */
json_t *trial_metrics(const struct wl_spec *w, json_t *client, json_t *server,
                      const struct topo_ifstats *d, json_t *cpu);
/* Both sides must agree: every valid response the client counted was
 * served, the server answered no more than was sent (plus `probes`
 * readiness probes), no client errors, and at least one request completed
 * in the window. NULL when they agree, else why (written into why). */
const char *trial_cross_check(json_t *client, json_t *server, int probe_tries, char *why,
                              size_t len);

#endif
