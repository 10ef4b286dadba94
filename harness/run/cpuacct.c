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
                                    .config = PERF_COUNT_HW_CPU_CYCLES,
                                    .read_format = PERF_FORMAT_TOTAL_TIME_ENABLED |
                                                   PERF_FORMAT_TOTAL_TIME_RUNNING};
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
        uint64_t v[3]; /* value, time_enabled, time_running (read_format) */
        if (read(hw->fd[i], v, sizeof(v)) != (ssize_t)sizeof(v)) return rc; /* s->hw stays 0 */
        s->hw_cycles[i] = v[0];
        s->hw_enabled[i] = v[1];
        s->hw_running[i] = v[2];
    }
    s->hw = 1;
    s->hw_timed = 1;
    return rc;
}

int cpuacct_perf_scale(uint64_t value, uint64_t enabled, uint64_t running, uint64_t *out,
                       double *fraction)
{
    if (running == 0) return -1; /* never on the PMU: no figure, not 0 cycles */
    if (running >= enabled) {
        *out = value;
        if (fraction) *fraction = 1.0;
        return 0;
    }
    unsigned __int128 q = (unsigned __int128)value * enabled / running;
    if (q > UINT64_MAX) return -1;
    *out = (uint64_t)q;
    if (fraction) *fraction = (double)running / (double)enabled;
    return 0;
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

/* The busy cycles of one core over the window, or -1 for no core (unpinned
 * or outside the snapshot): the caller then leaves that core's figures out. */
/* The hardware cycles of CPU c over the window, scaled when both snapshots
 * carry the counter's times; -1 when there is no figure. */
static double hw_window(const struct cpu_snap *a, const struct cpu_snap *b, int c, double *frac)
{
    uint64_t v = b->hw_cycles[c] - a->hw_cycles[c], out;
    *frac = 1.0;
    if (!a->hw_timed || !b->hw_timed) return (double)v;
    if (cpuacct_perf_scale(v, b->hw_enabled[c] - a->hw_enabled[c],
                           b->hw_running[c] - a->hw_running[c], &out, frac) < 0)
        return -1;
    return (double)out;
}

static double core_cycles(const struct cpu_snap *a, const struct cpu_snap *b, int hw, double hz,
                          double tsc_hz, int c)
{
    if (c < 0 || c >= b->ncpu || c >= CPUACCT_MAX_CPUS) return -1;
    double frac;
    return hw ? hw_window(a, b, c, &frac) : (double)(b->busy[c] - a->busy[c]) / hz * tsc_hz;
}

json_t *cpuacct_json(const struct cpu_snap *a, const struct cpu_snap *b, double tsc_hz,
                     int dut_cpu, int gen_cpu, double requests, double packets)
{
    double hz = (double)sysconf(_SC_CLK_TCK);
    double window = (double)(b->t_ns - a->t_ns) / 1e9;
    int hw = a->hw && b->hw;
    json_t *cpus = json_array();
    double sys_busy = 0, sys_steal = 0, min_frac = 1.0;
    int sys_ok = 1;
    for (int i = 0; i < b->ncpu && i < CPUACCT_MAX_CPUS; i++) {
        double frac = 1.0, cyc = hw ? hw_window(a, b, i, &frac) : 0;
        double busy = hw ? cyc / tsc_hz : (double)(b->busy[i] - a->busy[i]) / hz;
        double steal = (double)(b->steal[i] - a->steal[i]) / hz;
        sys_steal += steal;
        json_t *e = json_pack("{s:i,s:f}", "cpu", i, "steal_s", steal);
        if (hw && cyc < 0) { /* the counter never ran: no figure for this CPU */
            sys_ok = 0;
            json_object_set_new(e, "running_fraction", json_real(0));
        } else {
            sys_busy += busy;
            json_object_set_new(e, "busy_s", json_real(busy));
            json_object_set_new(e, "util", json_real(window > 0 ? busy / window : 0));
            json_object_set_new(e, "cycles", json_real(busy * tsc_hz));
            if (hw && a->hw_timed && b->hw_timed)
                json_object_set_new(e, "running_fraction", json_real(frac));
        }
        if (hw && cyc < 0) frac = 0;
        if (frac < min_frac) min_frac = frac;
        json_array_append_new(cpus, e);
    }
    double dut = core_cycles(a, b, hw, hz, tsc_hz, dut_cpu);
    double gen = core_cycles(a, b, hw, hz, tsc_hz, gen_cpu);
    double sys = sys_busy * tsc_hz;
    json_t *j = json_pack("{s:s,s:f,s:f,s:f,s:I,s:I,s:I,s:o}", "method",
                          hw ? "perf_event_cycles" : "proc_stat_busy_x_tsc", "tsc_hz", tsc_hz,
                          "window_s", window, "steal_s", sys_steal,
                          "ctx_switches", (json_int_t)(b->ctxt - a->ctxt), "net_rx_softirqs",
                          (json_int_t)(b->net_rx - a->net_rx), "net_tx_softirqs",
                          (json_int_t)(b->net_tx - a->net_tx), "cpus", cpus);
    if (hw && a->hw_timed && b->hw_timed) {
        json_object_set_new(j, "perf_scaled", json_boolean(min_frac < 1.0));
        json_object_set_new(j, "perf_running_fraction", json_real(min_frac));
    }
    if (sys_ok) json_object_set_new(j, "system_cycles", json_real(sys));
    /* An unpinned core has no per-core figure: absent, never a -1 that a
     * median would take for a value. */
    if (dut >= 0) json_object_set_new(j, "dut_cycles", json_real(dut));
    if (gen >= 0) json_object_set_new(j, "gen_cycles", json_real(gen));
    if (gen >= 0 && window > 0) json_object_set_new(j, "gen_util", json_real(gen / tsc_hz / window));
    if (requests > 0) {
        if (dut >= 0) json_object_set_new(j, "dut_cycles_per_request", json_real(dut / requests));
        if (sys_ok) json_object_set_new(j, "system_cycles_per_request", json_real(sys / requests));
        json_object_set_new(j, "ctx_switches_per_request",
                            json_real((double)(b->ctxt - a->ctxt) / requests));
        json_object_set_new(j, "net_rx_softirqs_per_request",
                            json_real((double)(b->net_rx - a->net_rx) / requests));
    }
    if (packets > 0) {
        if (dut >= 0) json_object_set_new(j, "dut_cycles_per_packet", json_real(dut / packets));
        if (sys_ok) json_object_set_new(j, "system_cycles_per_packet", json_real(sys / packets));
    }
    return j;
}

static json_t *u64_array(const uint64_t *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

json_t *cpuacct_snap_json(const struct cpu_snap *s)
{
    int n = s->ncpu < CPUACCT_MAX_CPUS ? s->ncpu : CPUACCT_MAX_CPUS;
    json_t *j = json_pack("{s:I,s:i,s:o,s:o,s:o,s:I,s:I,s:I}", "t_ns", (json_int_t)s->t_ns,
                          "ncpu", n, "busy", u64_array(s->busy, n), "steal",
                          u64_array(s->steal, n), "total", u64_array(s->total, n), "ctxt",
                          (json_int_t)s->ctxt, "net_rx", (json_int_t)s->net_rx, "net_tx",
                          (json_int_t)s->net_tx);
    if (s->hw) json_object_set_new(j, "hw_cycles", u64_array(s->hw_cycles, n));
    if (s->hw && s->hw_timed) {
        json_object_set_new(j, "hw_enabled", u64_array(s->hw_enabled, n));
        json_object_set_new(j, "hw_running", u64_array(s->hw_running, n));
    }
    return j;
}

static int u64_from(json_t *a, uint64_t *v, int n)
{
    if (!json_is_array(a) || (int)json_array_size(a) != n) return -1;
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(a, (size_t)i);
        if (!json_is_integer(e)) return -1;
        v[i] = (uint64_t)json_integer_value(e);
    }
    return 0;
}

int cpuacct_snap_from_json(json_t *j, struct cpu_snap *s)
{
    memset(s, 0, sizeof(*s));
    json_t *n = json_object_get(j, "ncpu"), *t = json_object_get(j, "t_ns");
    if (!json_is_integer(n) || !json_is_integer(t) || json_integer_value(n) < 1 ||
        json_integer_value(n) > CPUACCT_MAX_CPUS)
        return -1;
    s->ncpu = (int)json_integer_value(n);
    s->t_ns = (uint64_t)json_integer_value(t);
    if (u64_from(json_object_get(j, "busy"), s->busy, s->ncpu) < 0 ||
        u64_from(json_object_get(j, "steal"), s->steal, s->ncpu) < 0 ||
        u64_from(json_object_get(j, "total"), s->total, s->ncpu) < 0)
        return -1;
    s->ctxt = (uint64_t)json_integer_value(json_object_get(j, "ctxt"));
    s->net_rx = (uint64_t)json_integer_value(json_object_get(j, "net_rx"));
    s->net_tx = (uint64_t)json_integer_value(json_object_get(j, "net_tx"));
    json_t *hw = json_object_get(j, "hw_cycles");
    if (hw) {
        if (u64_from(hw, s->hw_cycles, s->ncpu) < 0) return -1;
        s->hw = 1;
        json_t *en = json_object_get(j, "hw_enabled"), *ru = json_object_get(j, "hw_running");
        if (en || ru) {
            if (u64_from(en, s->hw_enabled, s->ncpu) < 0 ||
                u64_from(ru, s->hw_running, s->ncpu) < 0)
                return -1;
            s->hw_timed = 1;
        }
    }
    return 0;
}
