/*
 * sysinfo.c — environment metadata for result records and doctor.
 *
 * Callers: harness/ (results, doctor, CPU accounting).
 * Calls: uname(2), gethostname(2), /proc/cpuinfo, rdtsc against
 * CLOCK_MONOTONIC_RAW, topo_cmd("pkg-config --modversion libdpdk").
 */
#include "harness/run/sysinfo.h"

#include "harness/run/topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef BB_VERSION
#define BB_VERSION "unknown"
#endif

static uint64_t mono_raw_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One (tsc, ns) pair: the clock read bracketed by two TSC reads, best of a
 * few tries, so a preemption between the reads does not skew the pair. */
static void sample(uint64_t *tsc, uint64_t *ns)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        uint64_t a = sysinfo_rdtsc();
        uint64_t t = mono_raw_ns();
        uint64_t b = sysinfo_rdtsc();
        if (b - a < best) {
            best = b - a;
            *tsc = a + (b - a) / 2;
            *ns = t;
        }
    }
}

double sysinfo_measure_tsc_hz(int ms)
{
    uint64_t tsc0, ns0, tsc1, ns1;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    sample(&tsc0, &ns0);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
    sample(&tsc1, &ns1);
    if (ns1 <= ns0 || tsc1 <= tsc0) return 0;
    return (double)(tsc1 - tsc0) * 1e9 / (double)(ns1 - ns0);
}

/* "model name" and the TSC flags from /proc/cpuinfo (first CPU). */
static void read_cpuinfo(struct sysinfo *s)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f) return;
    char line[4096];
    int have_model = 0, have_flags = 0;
    while ((!have_model || !have_flags) && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        val[strcspn(val, "\n")] = '\0';
        if (!have_model && strncmp(line, "model name", 10) == 0) {
            snprintf(s->cpu_model, sizeof(s->cpu_model), "%s", val);
            have_model = 1;
        } else if (!have_flags && strncmp(line, "flags", 5) == 0) {
            char *save = NULL;
            for (char *t = strtok_r(val, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (strcmp(t, "constant_tsc") == 0) s->constant_tsc = 1;
                if (strcmp(t, "nonstop_tsc") == 0) s->nonstop_tsc = 1;
            }
            have_flags = 1;
        }
    }
    fclose(f);
}

static void dpdk_version(char *buf, size_t len)
{
    char *argv[] = {"pkg-config", "--modversion", "libdpdk", NULL};
    char out[sizeof(((struct sysinfo *)0)->dpdk_version)], err[256];
    snprintf(buf, len, "none");
    if (topo_cmd(argv, out, sizeof(out), err, sizeof(err)) < 0) return;
    out[strcspn(out, " \t\r\n")] = '\0';
    if (out[0]) snprintf(buf, len, "%s", out);
}

int sysinfo_collect(struct sysinfo *s)
{
    memset(s, 0, sizeof(*s));
    struct utsname u;
    snprintf(s->kernel, sizeof(s->kernel), "unknown");
    if (uname(&u) == 0) snprintf(s->kernel, sizeof(s->kernel), "%s", u.release);
    snprintf(s->cpu_model, sizeof(s->cpu_model), "unknown");
    read_cpuinfo(s);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    s->ncpu = n > 0 ? (int)n : 1;
    s->tsc_hz = sysinfo_measure_tsc_hz(50);
    dpdk_version(s->dpdk_version, sizeof(s->dpdk_version));
    snprintf(s->git_describe, sizeof(s->git_describe), "%s", BB_VERSION);
    if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0)
        snprintf(s->hostname, sizeof(s->hostname), "unknown");
    return 0;
}

json_t *sysinfo_json(const struct sysinfo *s)
{
    return json_pack("{s:s, s:s, s:i, s:b, s:b, s:f, s:s, s:s, s:s}", "kernel", s->kernel,
                     "cpu_model", s->cpu_model, "ncpu", s->ncpu, "constant_tsc", s->constant_tsc,
                     "nonstop_tsc", s->nonstop_tsc, "tsc_hz", s->tsc_hz, "dpdk_version",
                     s->dpdk_version, "git_describe", s->git_describe, "hostname", s->hostname);
}
