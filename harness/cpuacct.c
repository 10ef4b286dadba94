/*
 * cpuacct.c — busy cycles per core from /proc/stat over a window (see cpuacct.h).
 */
#include "cpuacct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    json_t *cpus = json_array();
    double sys_busy = 0, sys_steal = 0;
    for (int i = 0; i < b->ncpu; i++) {
        double busy = (double)(b->busy[i] - a->busy[i]) / hz;
        double steal = (double)(b->steal[i] - a->steal[i]) / hz;
        sys_busy += busy;
        sys_steal += steal;
        json_array_append_new(cpus, json_pack("{s:i,s:f,s:f,s:f,s:f}", "cpu", i, "busy_s", busy,
                                              "steal_s", steal, "util",
                                              window > 0 ? busy / window : 0, "cycles",
                                              busy * tsc_hz));
    }
    double dut = dut_cpu >= 0 && dut_cpu < b->ncpu
                     ? (double)(b->busy[dut_cpu] - a->busy[dut_cpu]) / hz * tsc_hz
                     : -1;
    double gen = gen_cpu >= 0 && gen_cpu < b->ncpu
                     ? (double)(b->busy[gen_cpu] - a->busy[gen_cpu]) / hz * tsc_hz
                     : -1;
    double sys = sys_busy * tsc_hz;
    json_t *j = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:o}", "method",
                          "proc_stat_busy_x_tsc", "tsc_hz", tsc_hz, "window_s", window,
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
