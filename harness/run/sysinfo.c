/*
 * sysinfo.c — environment metadata for result records and doctor.
 *
 * Callers: harness/ (results, doctor, CPU accounting).
 * Calls: uname(2), gethostname(2), /proc/cpuinfo, rdtsc against
 * CLOCK_MONOTONIC_RAW, topo_cmd("pkg-config --modversion libdpdk").
 */
#include "harness/run/sysinfo.h"

#include "harness/run/topo.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef BB_VERSION
#define BB_VERSION "unknown"
#endif
#ifndef BB_GIT_COMMIT
#define BB_GIT_COMMIT "unknown"
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

/* The first line of a small file under root (a test's directory, or ""), or
 * NULL when it cannot be read. */
static char *read_line(const char *root, const char *path, char *buf, size_t len)
{
    char full[1024];
    snprintf(full, sizeof(full), "%s%s", root, path);
    FILE *f = fopen(full, "re");
    if (!f) return NULL;
    char *r = fgets(buf, (int)len, f);
    fclose(f);
    if (!r) return NULL;
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

json_t *sysinfo_host_json(const char *root, int ncpu)
{
    char line[1024], path[256];
    json_t *o = json_object();
    /* frequency scaling, per CPU: governor and current kHz where readable */
    json_t *freq = json_object();
    int any = 0;
    for (int c = 0; c < ncpu; c++) {
        json_t *cpu = json_object();
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", c);
        if (read_line(root, path, line, sizeof(line)))
            json_object_set_new(cpu, "governor", json_string(line)), any = 1;
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", c);
        if (read_line(root, path, line, sizeof(line)))
            json_object_set_new(cpu, "cur_khz", json_integer(strtoll(line, NULL, 10))), any = 1;
        snprintf(path, sizeof(path), "cpu%d", c);
        json_object_set_new(freq, path, cpu);
    }
    if (any) {
        json_object_set_new(o, "cpufreq", freq);
    } else {
        json_decref(freq);
        json_object_set_new(o, "cpufreq",
                            json_string("not readable: no /sys/devices/system/cpu/cpu*/cpufreq "
                                        "(no frequency scaling exposed, as in most VMs)"));
    }
    /* CPU vulnerability mitigations, as the kernel reports each */
    json_t *mit = json_object();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/sys/devices/system/cpu/vulnerabilities", root);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            snprintf(path, sizeof(path), "/sys/devices/system/cpu/vulnerabilities/%s", e->d_name);
            if (read_line(root, path, line, sizeof(line)))
                json_object_set_new(mit, e->d_name, json_string(line));
        }
        closedir(d);
        json_object_set_new(o, "mitigations", mit);
    } else {
        json_decref(mit);
        json_object_set_new(o, "mitigations", json_string("not readable"));
    }
    if (read_line(root, "/proc/cmdline", line, sizeof(line)))
        json_object_set_new(o, "kernel_cmdline", json_string(line));
    /* the exact code: the commit and whether the tree had changes */
    size_t dl = strlen(BB_VERSION);
    json_object_set_new(o, "git_commit", json_string(BB_GIT_COMMIT));
    json_object_set_new(o, "git_dirty",
                        json_boolean(dl >= 6 && strcmp(BB_VERSION + dl - 6, "-dirty") == 0));
    return o;
}

/* The offloads a comparison depends on, by ethtool's names. */
static const char *const offload_keys[] = {"rx-checksumming",
                                           "tx-checksumming",
                                           "scatter-gather",
                                           "tcp-segmentation-offload",
                                           "generic-segmentation-offload",
                                           "generic-receive-offload",
                                           "large-receive-offload",
                                           "rx-gro-hw",
                                           "rx-gro-list",
                                           "rx-udp-gro-forwarding",
                                           NULL};

json_t *sysinfo_parse_ethtool_k(const char *text)
{
    json_t *o = json_object();
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[256];
        snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
        p = nl ? nl + 1 : NULL;
        char *colon = strchr(line, ':');
        if (!colon || line[0] == ' ' || line[0] == '\t') continue; /* sub-features: not listed */
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        for (const char *const *k = offload_keys; *k; k++)
            if (strcmp(line, *k) == 0) {
                /* "on", "off", "off [fixed]", "on [requested off]" */
                json_object_set_new(o, line, json_string(v));
                break;
            }
    }
    return o;
}

json_t *sysinfo_offloads_json(const char *const *namespaces)
{
    json_t *o = json_object();
    char out[8192], err[512], key[128];
    for (const char *const *ns = namespaces; *ns; ns++) {
        char *ls[] = {"ip", "-n", (char *)*ns, "-o", "link", "show", NULL};
        if (topo_cmd(ls, out, sizeof(out), err, sizeof(err)) < 0) {
            snprintf(key, sizeof(key), "%s", *ns);
            json_object_set_new(o, key, json_string(err));
            continue;
        }
        /* "2: bb-dut0@if3: <BROADCAST,...> ..." */
        for (char *save = NULL, *l = strtok_r(out, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            char *name = strchr(l, ':');
            if (!name) continue;
            name += 2;
            size_t nl = strcspn(name, "@:");
            name[nl] = '\0';
            if (strcmp(name, "lo") == 0 || !*name) continue;
            snprintf(key, sizeof(key), "%s/%s", *ns, name);
            char *ek[] = {"ip", "netns", "exec", (char *)*ns, "ethtool", "-k", name, NULL};
            char eout[8192];
            if (topo_cmd(ek, eout, sizeof(eout), err, sizeof(err)) < 0)
                json_object_set_new(o, key, json_string(err));
            else
                json_object_set_new(o, key, sysinfo_parse_ethtool_k(eout));
        }
    }
    return o;
}

/* "key: value" lines of `ethtool -i` into an object (pure). */
static json_t *parse_colon_lines(char *text)
{
    json_t *o = json_object();
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c = strstr(l, ": ");
        if (!c) continue;
        *c = '\0';
        json_object_set_new(o, l, json_string(c + 2));
    }
    return o;
}

json_t *sysinfo_iface_json(const char *ifname)
{
    char out[8192], err[512];
    json_t *o = json_pack("{s:s}", "name", ifname);
    char *drv[] = {"ethtool", "-i", (char *)ifname, NULL};
    json_object_set_new(o, "driver",
                        topo_cmd(drv, out, sizeof(out), err, sizeof(err)) == 0
                            ? parse_colon_lines(out)
                            : json_string(err));
    char *k[] = {"ethtool", "-k", (char *)ifname, NULL};
    json_object_set_new(o, "offloads",
                        topo_cmd(k, out, sizeof(out), err, sizeof(err)) == 0
                            ? sysinfo_parse_ethtool_k(out)
                            : json_string(err));
    char *a[] = {"ip", "-o", "addr", "show", "dev", (char *)ifname, NULL};
    if (topo_cmd(a, out, sizeof(out), err, sizeof(err)) == 0) {
        json_t *arr = json_array();
        for (char *save = NULL, *l = strtok_r(out, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            char *p = strstr(l, " inet ");
            if (!p) p = strstr(l, " inet6 ");
            if (!p) continue;
            p = strchr(p + 1, ' ') + 1;
            json_array_append_new(arr, json_stringn(p, strcspn(p, " ")));
        }
        json_object_set_new(o, "addresses", arr);
    } else {
        json_object_set_new(o, "addresses", json_string(err));
    }
    return o;
}
