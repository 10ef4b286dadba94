/*
 * cpuacct.h — CPU accounting over a trial's measured window (DESIGN §6):
 * busy time per CPU from /proc/stat (steal kept apart) × TSC Hz, context
 * switches (/proc/stat ctxt) and NET_RX/NET_TX softirqs (/proc/softirqs).
 * perf_event_open hardware cycles are preferred where they exist; this VM has
 * none, so this is the method used (the record names it).
 * Callers: harness/cli_run.c. Calls: /proc only.
 */
#ifndef BB_CPUACCT_H
#define BB_CPUACCT_H

#include <jansson.h>
#include <stdint.h>

#define CPUACCT_MAX_CPUS 64

struct cpu_snap {
    int ncpu;
    uint64_t busy[CPUACCT_MAX_CPUS];  /* jiffies: user+nice+system+irq+softirq */
    uint64_t steal[CPUACCT_MAX_CPUS];
    uint64_t total[CPUACCT_MAX_CPUS]; /* all fields, steal included */
    uint64_t ctxt, net_rx, net_tx;
    uint64_t t_ns; /* CLOCK_MONOTONIC at the snapshot */
};

int cpuacct_snap(struct cpu_snap *s);
/* The window between a and b as JSON: method, per-CPU busy seconds and cycles,
 * the DUT and generator cores, whole-system cycles, and per-request and
 * per-packet figures when requests/packets > 0. */
json_t *cpuacct_json(const struct cpu_snap *a, const struct cpu_snap *b, double tsc_hz,
                     int dut_cpu, int gen_cpu, double requests, double packets);

#endif
