/*
 * doctor.c — `bypassbench doctor`: one line per capability, "ok" or "no" and
 * the reason for every no, then the choices the harness will make from them
 * (CPU accounting method, exception-path backend).
 *
 * Callers: harness/cli/doctor.c. Calls: sysinfo_collect, topo_which/topo_cmd (ip,
 * the throwaway namespace bb-doctor), netio_backends()->probe,
 * perf_event_open(2), /proc and /dev, exc_report (kni/exc_backend.c), the
 * drivers' option tables (netio_ops.opts, opt_format).
 */
#include "harness/run/doctor.h"
#include "harness/run/preload.h"

#include "drivers/io_uring.h"
#include "drivers/netio.h"
#include "drivers/opts.h"
#include "harness/run/sysinfo.h"
#include "harness/run/topo.h"
#include "kni/exc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DOCTOR_NS TOPO_NS_PREFIX "doctor"

struct tally {
    int ok, no;
};

static void report(FILE *out, struct tally *t, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(FILE *out, struct tally *t, int ok, const char *fmt, ...)
{
    va_list ap;
    fputs(ok ? "  ok   " : "  no   ", out);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    if (ok)
        t->ok++;
    else
        t->no++;
}

static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static int read_long(const char *path, long *v)
{
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    int rc = fscanf(f, "%ld", v) == 1 ? 0 : -1;
    fclose(f);
    return rc;
}

/* Does /proc/mounts list a filesystem of this type? */
static int fs_mounted(const char *type, char *where, size_t len)
{
    FILE *f = fopen("/proc/mounts", "re");
    if (!f) return 0;
    char dev[256], dir[PATH_MAX], fstype[64];
    int found = 0;
    while (!found && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, fstype) == 3)
        if (strcmp(fstype, type) == 0) {
            snprintf(where, len, "%s", dir);
            found = 1;
        }
    fclose(f);
    return found;
}

/* ---- sections ------------------------------------------------------------ */

static void check_namespaces(FILE *out, struct tally *t)
{
    char path[PATH_MAX], ver[128] = "", err[512];
    int root = geteuid() == 0;
    fprintf(out, "privileges and namespaces\n");
    if (root)
        report(out, t, 1, "running as root");
    else
        report(out, t, 0,
               "running as uid %u: namespaces, veth pairs and hugepages need root "
               "(CAP_SYS_ADMIN, CAP_NET_ADMIN); run with sudo",
               (unsigned)geteuid());
    int have_ip = topo_which("ip", path, sizeof(path)) == 0;
    if (have_ip) {
        char *argv[] = {"ip", "-V", NULL};
        topo_cmd(argv, ver, sizeof(ver), err, sizeof(err));
        ver[strcspn(ver, "\n")] = '\0';
        report(out, t, 1, "ip found: %s (%s)", path, ver[0] ? ver : "version unknown");
    } else {
        report(out, t, 0,
               "ip (iproute2) not found in PATH, /usr/sbin or /sbin: apt-get install "
               "iproute2");
    }
    if (!root || !have_ip) {
        report(out, t, 0, "network namespaces: not tried (%s)", !root ? "needs root" : "needs ip");
        return;
    }
    char *del[] = {"ip", "netns", "del", DOCTOR_NS, NULL};
    char *add[] = {"ip", "netns", "add", DOCTOR_NS, NULL};
    char *lo[] = {"ip", "-n", DOCTOR_NS, "link", "set", "lo", "up", NULL};
    char *veth[] = {"ip",   "-n",   DOCTOR_NS, "link", "add",     "bb-doc0",
                    "type", "veth", "peer",    "name", "bb-doc1", NULL};
    char scratch[256];
    topo_cmd(del, NULL, 0, scratch, sizeof(scratch)); /* leftover from a crash */
    if (topo_cmd(add, NULL, 0, err, sizeof(err)) < 0) {
        report(out, t, 0, "network namespaces: cannot create %s: %s", DOCTOR_NS, err);
        return;
    }
    if (topo_cmd(lo, NULL, 0, err, sizeof(err)) < 0)
        report(out, t, 0, "network namespaces: created %s but cannot configure it: %s", DOCTOR_NS,
               err);
    else
        report(out, t, 1, "network namespaces: created and configured %s", DOCTOR_NS);
    if (topo_cmd(veth, NULL, 0, err, sizeof(err)) < 0)
        report(out, t, 0, "veth pairs: cannot create one (kernel without CONFIG_VETH?): %s", err);
    else
        report(out, t, 1, "veth pairs: created one inside %s", DOCTOR_NS);
    if (topo_cmd(del, NULL, 0, err, sizeof(err)) < 0)
        report(out, t, 0, "cannot delete %s again: %s (run `bypassbench topo down`)", DOCTOR_NS,
               err);
}

static void check_cpus(FILE *out, struct tally *t, const struct sysinfo *si)
{
    cpu_set_t set;
    int allowed = 0, first = -1, last = -1;
    fprintf(out, "CPUs and TSC\n");
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        allowed = CPU_COUNT(&set);
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) {
                if (first < 0) first = c;
                last = c;
            }
    }
    fprintf(out, "  --   %d CPUs online, %d usable by this process\n", si->ncpu, allowed);
    if (allowed >= 2)
        report(out, t, 1,
               "DUT and generator can be pinned to distinct cores (e.g. DUT cpu %d, gen cpu %d)",
               last, first);
    else
        report(out, t, 0,
               "only %d usable CPU: DUT and generator share a core, so per-core cycle figures "
               "mix both sides",
               allowed);
    report(out, t, si->constant_tsc, "constant_tsc%s",
           si->constant_tsc
               ? ""
               : ": the TSC rate follows CPU frequency, TSC-derived cycles are approximate");
    report(out, t, si->nonstop_tsc, "nonstop_tsc%s",
           si->nonstop_tsc ? ""
                           : ": the TSC may stop in deep C-states, idle time can be undercounted");
    report(out, t, si->tsc_hz > 1e8, "TSC measured at %.3f MHz against CLOCK_MONOTONIC_RAW",
           si->tsc_hz / 1e6);
}

static const char *perf_why(int e)
{
    switch (e) {
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
        return "no hardware cycle counter is exposed (typical in VMs without a virtual PMU)";
    case EACCES:
    case EPERM:
        return "not permitted: needs root or kernel.perf_event_paranoid <= 0";
    case ENOSYS:
        return "kernel built without perf events";
    default:
        return "unexpected error";
    }
}

/* System-wide cycles on CPU 0, the mode CPU accounting needs. */
static int try_perf_cycles(int *err_out)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_CPU_CYCLES;
    a.disabled = 1;
    long fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);
    if (fd < 0) {
        *err_out = errno;
        return 0;
    }
    close((int)fd);
    return 1;
}

static void check_accounting(FILE *out, struct tally *t)
{
    long paranoid = -99;
    int perr = 0;
    fprintf(out, "CPU accounting\n");
    int perf = try_perf_cycles(&perr);
    read_long("/proc/sys/kernel/perf_event_paranoid", &paranoid);
    if (perf)
        report(out, t, 1, "perf_event_open(PERF_COUNT_HW_CPU_CYCLES, cpu 0) works");
    else
        report(out, t, 0,
               "perf_event_open(PERF_COUNT_HW_CPU_CYCLES, cpu 0): %s (%s): %s "
               "[perf_event_paranoid=%ld]",
               errname(perr), strerror(perr), perf_why(perr), paranoid);
    FILE *f = fopen("/proc/stat", "re");
    int cpus = 0, steal = 0;
    if (f) {
        char line[512];
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
                unsigned long long v[8];
                cpus++;
                if (sscanf(line + 3, "%*d %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
                    steal = 1;
            }
        fclose(f);
    }
    int stat_ok = cpus > 0;
    if (stat_ok)
        report(out, t, 1, "/proc/stat readable: %d per-CPU lines%s", cpus,
               steal ? ", steal time reported" : ", no steal column");
    else
        report(out, t, 0, "/proc/stat: %s", f ? "no per-CPU lines" : strerror(errno));
    fprintf(out, "  =>   CPU accounting method: %s\n",
            perf      ? "perf cycles"
            : stat_ok ? "/proc/stat busy time × TSC"
                      : "none (no perf counters, no /proc/stat)");
}

static void check_drivers(FILE *out, struct tally *t)
{
    static const struct {
        const char *name, *cause;
    } expected[] = {
        {"kernel", "its library was missing at build time"},
        {"io_uring", "liburing-dev (pkg-config liburing) was missing at build time"},
        {"afpacket", "its library was missing at build time"},
        {"dpdk", "its library was missing at build time: libdpdk-dev"},
        {"afxdp", "libxdp-dev and libbpf-dev (pkg-config libxdp libbpf) or clang (to build its "
                  "XDP program) were missing at build time"},
    };
    fprintf(out, "netio drivers\n");
    for (const struct netio_ops *const *b = netio_backends(); *b; b++) {
        char err[256] = "";
        if ((*b)->probe(err, sizeof(err)) == 0)
            report(out, t, 1, "%s: %s", (*b)->name, (*b)->help);
        else
            report(out, t, 0, "%s: %s", (*b)->name, err);
    }
#ifdef HAVE_LIBURING
    char feat[768];
    int fok = netio_io_uring_features(feat, sizeof(feat)) == 0;
    fprintf(out, "  =>   io_uring here: %s%s\n", feat,
            fok ? "" : " (the io_uring driver needs every op above)");
    fprintf(out, "  =>   io_uring: which of them a trial used is in its record's driver_counters "
                 "(op_send_zc, rx_zero_copy, cfg_sqpoll, cfg_napi_busy_poll_us)\n");
#endif
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (!netio_find(expected[i].name))
            report(out, t, 0, "%s: not in this build's driver table (%s: make deps, then make)",
                   expected[i].name, expected[i].cause);
}

void doctor_driver_opts(FILE *out, const char *indent)
{
    const struct opt_def *seen[32];
    int nseen = 0;
    char line[512];
    fprintf(out, "%s%-20s %-18s %-9s %s\n", indent, "KEY", "VALUES", "DEFAULT", "WHAT");
    for (const struct netio_ops *const *b = netio_backends(); *b; b++) {
        if (!(*b)->opts || !(*b)->opts[0].defs) {
            fprintf(out, "%s%s: no options\n", indent, (*b)->name);
            continue;
        }
        for (const struct opt_group *g = (*b)->opts; g->defs; g++) {
            int dup = 0;
            for (int i = 0; i < nseen; i++)
                dup |= seen[i] == g->defs;
            if (dup || nseen == 32) continue;
            seen[nseen++] = g->defs;
            size_t n = 0;
            line[0] = '\0';
            for (const struct netio_ops *const *u = netio_backends(); *u; u++)
                for (const struct opt_group *h = (*u)->opts; h && h->defs; h++)
                    if (h->defs == g->defs && n + 1 < sizeof(line)) {
                        snprintf(line + n, sizeof(line) - n, "%s%s", n ? ", " : "", (*u)->name);
                        n = strlen(line);
                    }
            fprintf(out, "%s%s options (--driver %s)\n", indent, g->title, line);
            for (const struct opt_def *d = g->defs; d->name; d++) {
                opt_format(d, line, sizeof(line));
                fprintf(out, "%s  %s\n", indent, line);
            }
        }
    }
}

static void check_devices(FILE *out, struct tally *t)
{
    fprintf(out, "devices and exception path\n");
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        report(out, t, 1, "/dev/net/tun: net_tap and the TAP exception path can run");
    } else {
        report(out, t, 0, "/dev/net/tun: %s (%s): net_tap and the TAP exception path cannot run",
               strerror(errno),
               errno == ENOENT ? "tun module not loaded? modprobe tun" : "needs root");
    }
    int modules = access("/proc/modules", F_OK) == 0;
    if (access("/dev/kni", F_OK) == 0) {
        report(out, t, 1, "/dev/kni: rte_kni.ko is loaded");
    } else {
        report(out, t, 0,
               "/dev/kni: rte_kni not available: Debian's DPDK 22.11 is built "
               "without KNI and rte_kni.ko is not loaded%s; fallback is virtio-user + "
               "vhost-net, else net_tap",
               modules ? "" : " (this kernel cannot load modules)");
    }
    if (access("/dev/vhost-net", F_OK) == 0) {
        report(out, t, 1, "/dev/vhost-net: virtio-user exception path can run");
    } else {
        report(out, t, 0, "/dev/vhost-net: %s; fallback is net_tap via /dev/net/tun",
               modules ? "vhost_net module not loaded (modprobe vhost_net)"
                       : "kernel without loadable modules (/proc/modules absent) and vhost-net "
                         "not built in");
    }
    /* The choice the dpdk driver makes with exc=auto, and why not the others. */
    char why[512];
    fprintf(out, "  =>   exception path: %s\n", exc_report(why, sizeof(why)));
}

static void check_hugepages(FILE *out, struct tally *t)
{
    long nr = 0, size_kb = 0, free_pages = 0;
    char where[PATH_MAX] = "";
    fprintf(out, "hugepages\n");
    read_long("/proc/sys/vm/nr_hugepages", &nr);
    FILE *f = fopen("/proc/meminfo", "re");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f)) {
            sscanf(line, "Hugepagesize: %ld", &size_kb);
            sscanf(line, "HugePages_Free: %ld", &free_pages);
        }
        fclose(f);
    }
    int mounted = fs_mounted("hugetlbfs", where, sizeof(where));
    if (nr > 0)
        report(out, t, 1, "%ld hugepages of %ld kB reserved, %ld free", nr, size_kb, free_pages);
    else
        report(out, t, 0,
               "no hugepages reserved (nr_hugepages=0; echo 256 > "
               "/proc/sys/vm/nr_hugepages): DPDK runs with --no-huge and capture "
               "falls back to in-process rte_pcapng (pdump needs multi-process)");
    if (mounted)
        report(out, t, 1, "hugetlbfs mounted at %s", where);
    else
        report(out, t, 0, "hugetlbfs not mounted (mount -t hugetlbfs nodev /dev/hugepages)");
}

static void check_dpdk_tools(FILE *out, struct tally *t, const struct sysinfo *si)
{
    static const char *const tools[][2] = {
        {"wrk", "wrk"},       {"nginx", "nginx-light"},   {"curl", "curl"},
        {"tshark", "tshark"}, {"gnuplot", "gnuplot-nox"}, {"valgrind", "valgrind"},
    };
    fprintf(out, "DPDK and tools\n");
    if (strcmp(si->dpdk_version, "none") != 0)
        report(out, t, 1, "DPDK %s (pkg-config libdpdk)", si->dpdk_version);
    else
        report(out, t, 0,
               "DPDK: pkg-config finds no libdpdk (apt-get install libdpdk-dev): DPDK "
               "drivers are left out of the build");
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        char path[PATH_MAX];
        if (topo_which(tools[i][0], path, sizeof(path)) == 0)
            report(out, t, 1, "%s: %s", tools[i][0], path);
        else
            report(out, t, 0, "%s: not found in PATH (apt-get install %s)", tools[i][0],
                   tools[i][1]);
    }
}

/* Real NICs for the `pci` link: DPDK needs them bound to vfio-pci (with an
 * IOMMU) and hugepages; the kernel must not be using them. */
static void check_pci(FILE *out, struct tally *t)
{
    fprintf(out, "real NICs (pci link; not run in CI)\n");
    DIR *d = opendir("/sys/bus/pci/devices");
    int nics = 0, vfio = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[512], cls[32] = "", drv[512] = "";
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/class", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        if (!fgets(cls, sizeof(cls), f)) cls[0] = 0;
        fclose(f);
        if (strncmp(cls, "0x02", 4) != 0) continue; /* network controllers */
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", e->d_name);
        ssize_t n = readlink(p, drv, sizeof(drv) - 1);
        drv[n > 0 ? n : 0] = 0;
        const char *name = strrchr(drv, '/') ? strrchr(drv, '/') + 1 : "none";
        int bound = strcmp(name, "vfio-pci") == 0;
        nics++, vfio += bound;
        report(out, t, bound, "%s: driver %s%s", e->d_name, name,
               bound ? ": ready for DPDK (-a %s)"
                     : ": bound to the kernel (to give it to DPDK: modprobe vfio-pci; "
                       "dpdk-devbind.py --bind=vfio-pci DEVICE; needs an IOMMU or "
                       "enable_unsafe_noiommu_mode)");
    }
    if (d) closedir(d);
    if (!nics) report(out, t, 0, "no PCI network controller on this machine");
    DIR *g = opendir("/sys/kernel/iommu_groups");
    int groups = 0;
    while (g && (e = readdir(g))) groups += e->d_name[0] != '.';
    if (g) closedir(g);
    report(out, t, groups > 0, "IOMMU: %d groups%s", groups,
           groups ? "" : " (vfio-pci needs intel_iommu=on / amd_iommu=on, or no-IOMMU mode)");
    fprintf(out, "  =>   %s\n", vfio ? "a pci run can use the vfio-pci devices above"
                                       : "no NIC is bound to vfio-pci: the pci link cannot run "
                                         "here (README: a two-host run)");
}

/* bypassbench exec: the preload library present and honoured by the loader;
 * a statically linked program cannot be preloaded (exec refuses it). */
static void check_preload(FILE *out, struct tally *t)
{
    char lib[PATH_MAX], why[PATH_MAX + 256];
    fprintf(out, "preloading (bypassbench exec)\n");
    if (preload_lib_path(lib, sizeof(lib), why, sizeof(why)) < 0) {
        report(out, t, 0, "preload library: %s", why);
        return;
    }
    if (preload_selftest(lib, why, sizeof(why)) < 0)
        report(out, t, 0, "preloading %s: %s", lib, why);
    else
        report(out, t, 1, "preloading %s into /bin/true works", lib);
    const char *progs[] = {"nginx", "wrk", "ab", "redis-server", "redis-benchmark", "curl"};
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
        char path[PATH_MAX];
        if (preload_find_program(progs[i], path, sizeof(path), why, sizeof(why)) < 0) {
            fprintf(out, "  --   %s: not installed\n", progs[i]);
            continue;
        }
        int d = preload_check_binary(path, why, sizeof(why));
        report(out, t, d == 1, "%s (%s): %s", progs[i], path,
               d == 1 ? "dynamically linked, can be preloaded" : why);
    }
}

int doctor_run(FILE *out)
{
    struct sysinfo si;
    struct tally t = {0, 0};
    sysinfo_collect(&si);
    fprintf(out, "bypassbench doctor (%s) on %s\n", si.git_describe, si.hostname);
    fprintf(out, "system\n  --   kernel %s, %s\n", si.kernel, si.cpu_model);
    check_namespaces(out, &t);
    check_cpus(out, &t, &si);
    check_accounting(out, &t);
    check_drivers(out, &t);
    check_preload(out, &t);
    fprintf(out, "driver options (--opt KEY=VALUE)\n");
    doctor_driver_opts(out, "  ");
    check_devices(out, &t);
    check_hugepages(out, &t);
    check_dpdk_tools(out, &t, &si);
    check_pci(out, &t);
    fprintf(out, "summary: %d ok, %d no\n", t.ok, t.no);
    fflush(out);
    return 0;
}
