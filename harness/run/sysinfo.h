/*
 * sysinfo.h — environment metadata recorded with every result (DESIGN §9)
 * and shown by `bypassbench doctor`: kernel, CPU, TSC, DPDK version, build.
 *
 * Callers: harness/results (environment block), harness/run/doctor.c, CPU
 * accounting (TSC Hz). Calls: uname, /proc/cpuinfo, rdtsc vs
 * CLOCK_MONOTONIC_RAW, `pkg-config --modversion libdpdk` (via topo_cmd).
 */
#ifndef BB_SYSINFO_H
#define BB_SYSINFO_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

struct sysinfo {
    char kernel[128];      /* uname release, e.g. "6.1.0-18-amd64" */
    char cpu_model[128];   /* /proc/cpuinfo "model name" ("unknown" if absent) */
    int ncpu;              /* online CPUs */
    int constant_tsc;      /* cpuinfo flags: TSC rate independent of P-states */
    int nonstop_tsc;       /* TSC keeps counting in deep C-states */
    double tsc_hz;         /* measured against CLOCK_MONOTONIC_RAW (~50 ms) */
    char dpdk_version[32]; /* pkg-config libdpdk, "none" if absent */
    char git_describe[64]; /* BB_VERSION from the Makefile */
    char hostname[64];
};

/* Fill s. Never fails as a whole: fields it cannot learn are "unknown"/0.
 * Takes ~50 ms (TSC measurement). Returns 0. */
int sysinfo_collect(struct sysinfo *s);

/* The environment block of a result record: an object with the keys kernel,
 * cpu_model, ncpu, constant_tsc, nonstop_tsc (booleans), tsc_hz,
 * dpdk_version, git_describe, hostname. New reference, NULL on ENOMEM. */
json_t *sysinfo_json(const struct sysinfo *s);

/* What else a reviewer needs to rerun a result here: "cpufreq" (per CPU
 * governor and current kHz, or a string saying why not readable),
 * "mitigations" (each file of /sys/devices/system/cpu/vulnerabilities),
 * "kernel_cmdline", "git_commit" (BB_GIT_COMMIT from the Makefile) and
 * "git_dirty" (the build's git describe ends in -dirty). root prefixes every
 * path ("" for this machine; a test's fake tree). New reference. */
json_t *sysinfo_host_json(const char *root, int ncpu);

/* The offload settings of every interface but lo in each namespace of the
 * NULL-terminated list, keyed "NS/IF": {"tcp-segmentation-offload": "on",
 * ...} (ethtool -k, the features a comparison depends on), or a string
 * saying why they could not be read. New reference. */
json_t *sysinfo_offloads_json(const char *const *namespaces);
/* The features of one `ethtool -k` output, as above (pure; tests). */
json_t *sysinfo_parse_ethtool_k(const char *text);

/* One interface of this namespace: {name, driver (`ethtool -i`: driver,
 * version, firmware-version, bus-info), offloads (as above), addresses}, a
 * string in place of a part that could not be read. New reference. */
json_t *sysinfo_iface_json(const char *ifname);

/* Measure the rate of sysinfo_rdtsc() ticks (Hz) over about ms milliseconds
 * against CLOCK_MONOTONIC_RAW; 0 if the measurement failed. */
double sysinfo_measure_tsc_hz(int ms);

/* Read the time-stamp counter (on non-x86: CLOCK_MONOTONIC_RAW in ns). */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t sysinfo_rdtsc(void)
{
    return __rdtsc();
}
#define SYSINFO_HAVE_TSC 1
#else
static inline uint64_t sysinfo_rdtsc(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
#define SYSINFO_HAVE_TSC 0
#endif

#endif
