/*
 * cpuacct.c — busy cycles per core from /proc/stat over a window (see cpuacct.h).
 */
#include "harness/run/cpuacct.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sum of the per-CPU columns of one /proc/softirqs row. */
static uint64_t softirq_row(const char *line)
{
    uint64_t sum = 0;
    const char *p = strchr(line, ':');
    if (!p) return 0;
    for (p++;;) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p) break;
        sum += v;
        p = end;
    }
    return sum;
}

int cpuacct_hw_open(struct cpuacct_hw *hw, char *why, size_t whylen)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    memset(hw, 0, sizeof(*hw));
    for (int i = 0; i < CPUACCT_MAX_CPUS; i++) hw->fd[i] = -1;
    if (n < 1 || n > CPUACCT_MAX_CPUS) {
        snprintf(why, whylen, "%ld CPUs: outside 1..%d", n, CPUACCT_MAX_CPUS);
        return -1;
    }
    for (int c = 0; c < n; c++) {
        struct perf_event_attr a = {.type = PERF_TYPE_HARDWARE,
                                    .size = sizeof(a),
                                    .config = PERF_COUNT_HW_CPU_CYCLES};
        int fd = (int)syscall(SYS_perf_event_open, &a, -1, c, -1, 0);
        if (fd < 0) {
            snprintf(why, whylen, "perf_event_open(cycles, cpu %d): %s", c, strerror(errno));
            hw->n = c;
            cpuacct_hw_close(hw);
            return -1;
        }
        hw->fd[c] = fd;
    }
    hw->n = (int)n;
    return 0;
}

void cpuacct_hw_close(struct cpuacct_hw *hw)
{
    for (int i = 0; i < hw->n; i++)
        if (hw->fd[i] >= 0) close(hw->fd[i]);
    hw->n = 0;
}

int cpuacct_snap_hw(const struct cpuacct_hw *hw, struct cpu_snap *s)
{
    int rc = cpuacct_snap(s);
    if (rc < 0 || !hw || hw->n == 0) return rc;
    for (int i = 0; i < hw->n; i++) {
        uint64_t v;
        if (read(hw->fd[i], &v, sizeof(v)) != (ssize_t)sizeof(v)) return rc; /* s->hw stays 0 */
        s->hw_cycles[i] = v;
    }
    s->hw = 1;
    return rc;
}

int cpuacct_snap(struct cpu_snap *s)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        unsigned cpu;
        unsigned long long u, n, sy, id, io, irq, sirq, st;
        if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &u, &n, &sy, &id,
                   &io, &irq, &sirq, &st) == 9) {
            if (cpu >= CPUACCT_MAX_CPUS) continue;
            s->busy[cpu] = u + n + sy + irq + sirq;
            s->steal[cpu] = st;
            s->total[cpu] = u + n + sy + id + io + irq + sirq + st;
            if ((int)cpu + 1 > s->ncpu) s->ncpu = (int)cpu + 1;
        } else if (strncmp(line, "ctxt ", 5) == 0) {
            s->ctxt = strtoull(line + 5, NULL, 10);
        }
    }
    fclose(f);
    f = fopen("/proc/softirqs", "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            const char *p = line + strspn(line, " ");
            if (strncmp(p, "NET_RX:", 7) == 0) s->net_rx = softirq_row(p);
            if (strncmp(p, "NET_TX:", 7) == 0) s->net_tx = softirq_row(p);
        }
        fclose(f);
    }
    s->t_ns = mono_ns();
    return 0;
}

json_t *cpuacct_json(const struct cpu_snap *a, const struct cpu_snap *b, double tsc_hz,
                     int dut_cpu, int gen_cpu, double requests, double packets)
{
    double hz = (double)sysconf(_SC_CLK_TCK);
    double window = (double)(b->t_ns - a->t_ns) / 1e9;
    int hw = a->hw && b->hw;
    json_t *cpus = json_array();
    double sys_busy = 0, sys_steal = 0;
    for (int i = 0; i < b->ncpu; i++) {
        double busy = hw ? (double)(b->hw_cycles[i] - a->hw_cycles[i]) / tsc_hz
                         : (double)(b->busy[i] - a->busy[i]) / hz;
        double steal = (double)(b->steal[i] - a->steal[i]) / hz;
        sys_busy += busy;
        sys_steal += steal;
        json_array_append_new(cpus, json_pack("{s:i,s:f,s:f,s:f,s:f}", "cpu", i, "busy_s", busy,
                                              "steal_s", steal, "util",
                                              window > 0 ? busy / window : 0, "cycles",
                                              busy * tsc_hz));
    }
#define CORE_CYCLES(c)                                                                         \
    ((c) < 0 || (c) >= b->ncpu ? -1                                                               \
     : hw                      ? (double)(b->hw_cycles[c] - a->hw_cycles[c])                      \
                               : (double)(b->busy[c] - a->busy[c]) / hz * tsc_hz)
    double dut = CORE_CYCLES(dut_cpu);
    double gen = CORE_CYCLES(gen_cpu);
#undef CORE_CYCLES
    double sys = sys_busy * tsc_hz;
    json_t *j = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:o}", "method",
                          hw ? "perf_event_cycles" : "proc_stat_busy_x_tsc", "tsc_hz", tsc_hz, "window_s", window,
                          "dut_cycles", dut, "gen_cycles", gen, "system_cycles", sys, "steal_s",
                          sys_steal, "gen_util", gen >= 0 && window > 0 ? gen / tsc_hz / window : -1,
                          "ctx_switches", (json_int_t)(b->ctxt - a->ctxt), "net_rx_softirqs",
                          (json_int_t)(b->net_rx - a->net_rx), "net_tx_softirqs",
                          (json_int_t)(b->net_tx - a->net_tx), "cpus", cpus);
    if (requests > 0) {
        json_object_set_new(j, "dut_cycles_per_request", json_real(dut >= 0 ? dut / requests : -1));
        json_object_set_new(j, "system_cycles_per_request", json_real(sys / requests));
        json_object_set_new(j, "ctx_switches_per_request",
                            json_real((double)(b->ctxt - a->ctxt) / requests));
        json_object_set_new(j, "net_rx_softirqs_per_request",
                            json_real((double)(b->net_rx - a->net_rx) / requests));
    }
    if (packets > 0) {
        json_object_set_new(j, "dut_cycles_per_packet", json_real(dut >= 0 ? dut / packets : -1));
        json_object_set_new(j, "system_cycles_per_packet", json_real(sys / packets));
    }
    return j;
}
