/*
 * report_json.h — the JSON documents `bypassbench serve --json` and
 * `bypassbench load --json` write, shared with `bypassbench pair`
 * (--server-json, --client-json) so that all of them write the same thing.
 * Also the JSON helpers every side uses: a netio's counters, this process's
 * resource usage, an atomic write. Callers: harness/cli/ (serve, load,
 * pair, run, capture, pdump). Calls: jansson.
 */
#ifndef BB_REPORT_JSON_H
#define BB_REPORT_JSON_H

#include "drivers/netio.h"
#include "harness/run/cpuacct.h"
#include "harness/run/kstats.h"
#include "harness/run/topo.h"
#include "workloads/loadgen.h"
#include "workloads/server.h"

#include <jansson.h>

/* The server's document: role, driver, stats, driver_counters (of io),
 * rusage (this process), ok. */
json_t *report_server_json(const char *driver, const struct srv_stats *st, struct netio *io,
                           int ok);
/* The generator's own view of its measured window (DESIGN §6: the side that
 * measures takes the snapshots at its own window's edges). Set hw/hw_why,
 * io and iface, then give report_window_edge to lg_config.window with this
 * as its arg: at each edge it takes a CPU snapshot (/proc/stat is
 * machine-wide, the perf counters system-wide per CPU, so this process sees
 * every core), io's rx_frames/tx_frames and iface's counters (read in this
 * process's namespace). */
struct report_window {
    const struct cpuacct_hw *hw; /* perf counters opened here, or NULL */
    const char *hw_why;          /* why not, when hw is NULL */
    struct netio *io;            /* its frame counters at the edges, or NULL */
    const char *iface;           /* an interface to read at the edges, or NULL */
    int edges;                   /* 0, 1 (START seen), 2 (both) */
    uint64_t t_ns[2];            /* the loadgen's clock at START, END */
    struct cpu_snap cpu[2];
    int cpu_ok[2];
    uint64_t frames[2][2]; /* [edge][rx, tx] */
    int frames_ok[2];
    struct topo_ifstats ifs[2];
    int ifs_ok[2];
    char ifs_err[160];
    struct kstats ks[2]; /* the kernel's drop and TCP counters (kstats.h) */
    int ks_ok[2];
    char ks_err[160];
};
void report_window_edge(enum lg_edge e, uint64_t t_ns, void *arg);
/* {source: "generator", start_ns, end_ns, cpu_method, why_not_perf, cpu: {start, end},
 *  frames: {start: {rx, tx}, end: ...}, iface: {name, start: {...}, end: {...}} or
 *  iface_error, kernel: {counter: end - start} (kstats.h) or kernel_error}:
 *  what the record computes the window's figures from. */
json_t *report_window_json(const struct report_window *w);

/* The load generator's document: role, driver, url, spec, results, latency,
 * driver_counters (of io), rusage (this process), ok, and `window` when w
 * saw both edges. */
json_t *report_client_json(const struct wl_spec *s, const char *driver, const char *url,
                           const struct lg_result *r, struct netio *io, int ok,
                           const struct report_window *w);

/* The netio's driver counters as {name: value}. */
json_t *report_json_counters(struct netio *io);
/* Write JSON atomically (tmp + rename). 0 or -1 with err. */
int report_json_write(const char *path, json_t *j, char *err, size_t errlen);
/* Resource usage of this process (ru_utime/stime in ns, voluntary/involuntary ctx switches). */
json_t *report_json_rusage(void);

#endif
