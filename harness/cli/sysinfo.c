/*
 * harness/cli/sysinfo.c — `bypassbench sysinfo`: this machine's environment
 * as one JSON object on stdout, what a run records of each host: sysinfo_json
 * (kernel, CPU, TSC Hz, DPDK version, build), sysinfo_host_json (cpufreq,
 * mitigations, command line, commit) and with --iface the data-plane
 * interface (NIC driver, offloads, addresses). --cpu-snap prints a CPU
 * snapshot instead (cpuacct_snap_json: /proc/stat and /proc/softirqs), which
 * a run across hosts takes on the DUT host at the window's edges.
 * Callers: a run across hosts, over ssh (harness/run/remote.c).
 * Calls: harness/run/sysinfo.c, harness/run/cpuacct.c.
 */
#include "harness/cli/cli.h"
#include "harness/run/cpuacct.h"
#include "harness/run/sysinfo.h"

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bypassbench sysinfo [--iface IF] [--cpu-snap]\n"
               "  this machine's environment as JSON on stdout (kernel, CPU, TSC Hz, DPDK "
               "version,\n"
               "  build, cpufreq, mitigations)\n"
               "  --iface IF   add the interface IF: NIC driver (ethtool -i), offloads "
               "(ethtool -k),\n"
               "               addresses\n"
               "  --cpu-snap   print a CPU snapshot instead (/proc/stat busy and total "
               "jiffies per CPU,\n"
               "               context switches, NET_RX/NET_TX softirqs, CLOCK_MONOTONIC ns)\n");
}

int cmd_sysinfo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"iface", 1, 0, 'i'}, {"cpu-snap", 0, 0, 'c'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *iface = NULL;
    int snap = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': iface = optarg; break;
        case 'c': snap = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sysinfo: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
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
