/*
 * cpuacct.h — CPU accounting over a trial's measured window (DESIGN §6):
 * busy time per CPU from /proc/stat (steal kept apart) × TSC Hz, context
 * switches (/proc/stat ctxt) and NET_RX/NET_TX softirqs (/proc/softirqs).
 * perf_event_open hardware cycles are preferred where they exist (method
 * "perf_event_cycles"); otherwise busy time x TSC ("proc_stat_busy_x_tsc").
 * The record names the method used.
 * The snapshots are taken by the side that measures, at its own window's
 * edges (DESIGN §6: `load` and `pair` through loadgen's window hook), and
 * travel in its JSON (cpuacct_snap_json); the record computes the figures.
 * Callers: harness/cli/run.c, load.c, pair.c, harness/run/record.c.
 * Calls: /proc only.
 */
#ifndef BB_CPUACCT_H
#define BB_CPUACCT_H

#include <jansson.h>
#include <stdint.h>

#define CPUACCT_MAX_CPUS 64

struct cpu_snap {
    int ncpu;
    int hw;                           /* hw_cycles valid (perf_event_open) */
    uint64_t hw_cycles[CPUACCT_MAX_CPUS]; /* raw counts, not scaled */
    int hw_timed;                     /* hw_enabled/hw_running valid */
    uint64_t hw_enabled[CPUACCT_MAX_CPUS];  /* PERF_FORMAT_TOTAL_TIME_ENABLED, ns */
    uint64_t hw_running[CPUACCT_MAX_CPUS];  /* PERF_FORMAT_TOTAL_TIME_RUNNING, ns */
    uint64_t busy[CPUACCT_MAX_CPUS];  /* jiffies: user+nice+system+irq+softirq */
    uint64_t steal[CPUACCT_MAX_CPUS];
    uint64_t total[CPUACCT_MAX_CPUS]; /* all fields, steal included */
    uint64_t ctxt, net_rx, net_tx;
    uint64_t t_ns; /* CLOCK_MONOTONIC at the snapshot */
};

/* Hardware cycle counters, one per CPU, system-wide (perf_event_open,
 * PERF_COUNT_HW_CPU_CYCLES). cpuacct_hw_open returns 0 when every CPU has
 * one, else -1 with why (the caller then uses /proc/stat x TSC). */
struct cpuacct_hw {
    int n;
    int fd[CPUACCT_MAX_CPUS];
};
int cpuacct_hw_open(struct cpuacct_hw *hw, char *why, size_t whylen);
void cpuacct_hw_close(struct cpuacct_hw *hw);

/* A multiplexed counter counts only while it is scheduled on the PMU: the
 * window's count is value x enabled / running (all three deltas over the
 * window). out gets the count (value itself when running >= enabled) and
 * fraction (may be NULL) running / enabled, at most 1. Returns 0, or -1 when
 * there is no figure: running == 0 (never counted: not 0 cycles) or the scaled
 * count does not fit 64 bits. The product is taken in 128 bits. */
int cpuacct_perf_scale(uint64_t value, uint64_t enabled, uint64_t running, uint64_t *out,
                       double *fraction);

/* hw may be NULL or closed: then only /proc is read. */
int cpuacct_snap(struct cpu_snap *s);
int cpuacct_snap_hw(const struct cpuacct_hw *hw, struct cpu_snap *s);
/* The window between a and b as JSON: method, window_s (b - a), per-CPU busy
 * seconds and cycles, the DUT and generator cores, whole-system cycles, and
 * per-request and per-packet figures when requests/packets > 0. A core < 0
 * (not pinned) or outside the snapshot has no figure: dut_cycles,
 * gen_cycles, gen_util and the DUT's per-request/per-packet figures are then
 * absent, never -1. With hardware cycles read with their enabled/running
 * times, each CPU's count is scaled by cpuacct_perf_scale: the JSON says
 * perf_scaled (any CPU ran less than its window) and perf_running_fraction
 * (the smallest running/enabled over the CPUs, each CPU's in cpus[]); a CPU
 * whose counter never ran has no busy_s/util/cycles, and the whole-system
 * figures are then absent too (as the DUT/generator core's when it is that
 * CPU). */
json_t *cpuacct_json(const struct cpu_snap *a, const struct cpu_snap *b, double tsc_hz,
                     int dut_cpu, int gen_cpu, double requests, double packets);

/* A snapshot as JSON ({t_ns, ncpu, busy[], steal[], total[], ctxt, net_rx,
 * net_tx, hw_cycles[] when hw, hw_enabled[] and hw_running[] when hw_timed})
 * and back (a snapshot without hw_enabled/hw_running reads as unscaled): 0, or -1 when j is not one. */
json_t *cpuacct_snap_json(const struct cpu_snap *s);
int cpuacct_snap_from_json(json_t *j, struct cpu_snap *s);

#endif
