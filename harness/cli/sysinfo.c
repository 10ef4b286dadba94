/*
 * harness/cli/sysinfo.c — `bypassbench sysinfo`: this machine's environment
 * as one JSON object on stdout, what a run records of each host: sysinfo_json
 * (kernel, CPU, TSC Hz, DPDK version, build), sysinfo_host_json (cpufreq,
 * mitigations, command line, commit) and with --iface the data-plane
 * interface (NIC driver, offloads, addresses). --cpu-snap prints a CPU
 * snapshot instead (cpuacct_snap_json: /proc/stat and /proc/softirqs).
 * --cpu-window FILE takes two, timed on this machine's own clock: a run across
 * hosts starts it on the DUT host with the generator, so that the DUT's CPU
 * window is the generator's warm-up later and its window long, whatever an
 * ssh session costs on a busy host (the edges are not sent over ssh).
 * Callers: a run across hosts, over ssh (harness/run/remote.c).
 * Calls: harness/run/sysinfo.c, harness/run/cpuacct.c, workloads/units.c.
 */
#include "harness/cli/cli.h"
#include "harness/run/cpuacct.h"
#include "harness/run/sysinfo.h"
#include "workloads/units.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bypassbench sysinfo [--iface IF] [--cpu-snap]\n"
               "       bypassbench sysinfo --cpu-window FILE [--warmup DUR] [--duration DUR]\n"
               "  this machine's environment as JSON on stdout (kernel, CPU, TSC Hz, DPDK "
               "version,\n"
               "  build, cpufreq, mitigations)\n"
               "  --iface IF   add the interface IF: NIC driver (ethtool -i), offloads "
               "(ethtool -k),\n"
               "               addresses\n"
               "  --cpu-snap   print a CPU snapshot instead (/proc/stat busy and total "
               "jiffies per CPU,\n"
               "               context switches, NET_RX/NET_TX softirqs, CLOCK_MONOTONIC ns)\n"
               "  --cpu-window FILE  two such snapshots (with hardware cycles where perf has them)\n"
               "               into FILE as {start, end}: start after --warmup, end --duration\n"
               "               after start on this machine's clock; with no --duration, at\n"
               "               SIGTERM or SIGINT. Stopped before a timed end: no FILE, exit 1\n"
               "  --warmup DUR      before the first snapshot (e.g. 500ms; default 0)\n"
               "  --duration DUR    between the two (e.g. 10s; default 0: until stopped)\n");
}

static volatile sig_atomic_t stopped;

static void on_stop(int sig)
{
    (void)sig;
    stopped = 1;
}

/* Sleep until CLOCK_MONOTONIC reaches t_ns: 0, or -1 when a signal stopped it. */
static int sleep_until(uint64_t t_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000ull),
                          .tv_nsec = (long)(t_ns % 1000000000ull)};
    while (!stopped) {
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (rc == 0) return 0;
        if (rc != EINTR) return -1;
    }
    return -1;
}

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --cpu-window: 0, 1 (stopped early, or /proc unreadable), 2 (bad option). */
static int cpu_window(const char *path, const char *warm, const char *dur)
{
    uint64_t warm_ns = 0, dur_ns = 0;
    if (warm && units_parse_duration_ns(warm, &warm_ns) < 0) {
        fprintf(stderr, "sysinfo: --warmup '%s': expected a duration such as 500ms\n", warm);
        return 2;
    }
    if (dur && units_parse_duration_ns(dur, &dur_ns) < 0) {
        fprintf(stderr, "sysinfo: --duration '%s': expected a duration such as 10s\n", dur);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: the sleep ends */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    uint64_t t0 = mono_now();
    struct cpuacct_hw hw;
    char why[256];
    if (cpuacct_hw_open(&hw, why, sizeof why) < 0) hw.n = 0; /* /proc/stat x TSC then */
    struct cpu_snap *s = calloc(2, sizeof *s);
    const char *bad = "out of memory";
    int rc = 1;
    if (!s) goto out;
    bad = "stopped before the window's start";
    if (sleep_until(t0 + warm_ns) < 0) goto out;
    bad = "cannot read /proc/stat";
    if (cpuacct_snap_hw(&hw, &s[0]) < 0) goto out;
    bad = "stopped before the window's end";
    if (dur_ns && sleep_until(s[0].t_ns + dur_ns) < 0) goto out;
    if (!dur_ns) { /* until stopped: the signal is the end */
        sigset_t blk, old;
        sigemptyset(&blk);
        sigaddset(&blk, SIGTERM);
        sigaddset(&blk, SIGINT);
        sigprocmask(SIG_BLOCK, &blk, &old);
        while (!stopped) sigsuspend(&old);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    bad = "cannot read /proc/stat";
    if (cpuacct_snap_hw(&hw, &s[1]) < 0) goto out;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *o = json_pack("{s:o,s:o}", "start", cpuacct_snap_json(&s[0]), "end",
                          cpuacct_snap_json(&s[1]));
    bad = "cannot write it";
    if (json_dump_file(o, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0) rc = 0;
    json_decref(o);
out:
    if (rc) fprintf(stderr, "sysinfo: --cpu-window %s: %s\n", path, bad);
    free(s);
    cpuacct_hw_close(&hw);
    return rc;
}

int cmd_sysinfo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"iface", 1, 0, 'i'},    {"cpu-snap", 0, 0, 'c'}, {"cpu-window", 1, 0, 'W'},
        {"warmup", 1, 0, 'w'},   {"duration", 1, 0, 'd'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    const char *iface = NULL, *window = NULL, *warm = NULL, *dur = NULL;
    int snap = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': iface = optarg; break;
        case 'c': snap = 1; break;
        case 'W': window = optarg; break;
        case 'w': warm = optarg; break;
        case 'd': dur = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sysinfo: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if ((warm || dur) && !window) {
        fprintf(stderr, "sysinfo: --warmup and --duration go with --cpu-window\n");
        return 2;
    }
    if (window) return cpu_window(window, warm, dur);
    json_t *o;
    if (snap) {
        struct cpu_snap s;
        if (cpuacct_snap(&s) < 0) {
            fprintf(stderr, "sysinfo: cannot read /proc/stat\n");
            return 1;
        }
        o = cpuacct_snap_json(&s);
    } else {
        struct sysinfo si;
        sysinfo_collect(&si);
        o = sysinfo_json(&si);
        json_object_update_new(o, sysinfo_host_json("", si.ncpu));
        if (iface) json_object_set_new(o, "iface", sysinfo_iface_json(iface));
    }
    int rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : 1;
    putchar('\n');
    json_decref(o);
    return rc;
}
