/*
 * harness/cli/pdump.c — `bypassbench pdump`: capture a DPDK server's port from a
 * DPDK secondary process (DESIGN §8): options, then the engine
 * (harness/run/pdump.c), then a JSON sidecar and one summary line on stderr.
 * Also reserves/releases hugepages for the harness (--hugepages N,
 * --release-hugepages; harness/run/hugepages.c).
 */
#include "harness/analysis/report_json.h"
#include "harness/cli/cli.h"
#include "harness/run/hugepages.h"
#include "workloads/units.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench pdump --file-prefix P --out FILE.pcapng [OPTIONS]\n"
            "       bypassbench pdump --hugepages N | --release-hugepages\n"
            "  --file-prefix P     the DPDK server's EAL --file-prefix (its dpdk option\n"
            "                      file_prefix=P, with pdump=1)\n"
            "  --port N|NAME       the server's port (default 0)\n"
            "  --out FILE          pcapng file to write\n"
            "  --snaplen N         bytes kept per frame (default 128)\n"
            "  --count N           stop after N frames (default: no bound)\n"
            "  --duration DUR      stop after DUR (default: no bound)\n"
            "  --cpu N             CPU for this process's EAL lcore (default 0)\n"
            "  --json FILE         sidecar (default: FILE.json beside the pcapng)\n"
            "  --ready FILE        create FILE once capturing\n"
            "  --hugepages N       reserve N 2 MiB hugepages and mount hugetlbfs, print the\n"
            "                      count, exit (before starting the server)\n"
            "  --release-hugepages give back what --hugepages reserved/mounted, exit; with\n"
            "                      --file-prefix P also remove the hugepage files and runtime\n"
            "                      directory a DPDK server with prefix P left behind\n"
            "Stops on SIGINT/SIGTERM too.\n");
}

/* --hugepages N, or --release-hugepages [--file-prefix P]: also removes what
 * a DPDK primary with prefix P left behind (its hugepage files and runtime
 * directory; DPDK 22.11 keeps them unless --huge-unlink, which would stop
 * secondaries from attaching). */
static int hugepage_modes(long ensure, int release, const char *prefix)
{
    char err[512];
    if (ensure >= 0) {
        int got = hugepages_ensure((unsigned)ensure, err, sizeof(err));
        if (got < 0) {
            fprintf(stderr, "bypassbench pdump: %s\n", err);
            return 1;
        }
        printf("%d\n", got);
        return got >= ensure ? 0 : 1;
    }
    if (prefix) {
        int n = hugepages_remove_files(prefix);
        char dir[256], path[512];
        snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", prefix);
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            (void)unlink(path);
        }
        if (d) closedir(d);
        (void)rmdir(dir);
        if (n) fprintf(stderr, "pdump: removed %d hugepage files of prefix %s\n", n, prefix);
    }
    if (hugepages_release(err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench pdump: %s\n", err);
        return 1;
    }
    (void)release;
    return 0;
}

#ifndef HAVE_DPDK

int cmd_pdump(int argc, char **argv)
{
    const char *prefix = NULL;
    int release = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hugepages") == 0 && i + 1 < argc)
            return hugepage_modes(atol(argv[i + 1]), 0, NULL);
        if (strcmp(argv[i], "--file-prefix") == 0 && i + 1 < argc) prefix = argv[i + 1];
        if (strcmp(argv[i], "--release-hugepages") == 0) release = 1;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    if (release) return hugepage_modes(-1, 1, prefix);
    fprintf(stderr, "bypassbench pdump: built without DPDK (libdpdk-dev missing at build time)\n");
    return 1;
}

#else

#include "harness/run/pdump.h"

static void sidecar_path(const char *out, char *buf, size_t len)
{
    size_t n = strlen(out);
    if (n > 7 && strcmp(out + n - 7, ".pcapng") == 0)
        snprintf(buf, len, "%.*s.json", (int)(n - 7), out);
    else
        snprintf(buf, len, "%s.json", out);
}

int cmd_pdump(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file-prefix", 1, 0, 'P'}, {"port", 1, 0, 'p'},        {"out", 1, 0, 'o'},
        {"snaplen", 1, 0, 's'},     {"count", 1, 0, 'c'},       {"duration", 1, 0, 'd'},
        {"cpu", 1, 0, 'C'},         {"json", 1, 0, 'j'},        {"ready", 1, 0, 'r'},
        {"hugepages", 1, 0, 'H'},   {"release-hugepages", 0, 0, 'R'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    struct pd_opts o = {.snaplen = 128};
    long ensure = -1;
    int release = 0, c, li = 0;
    uint64_t v;
    char err[512], side[4096];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
        switch (c) {
        case 'P': o.prefix = optarg; break;
        case 'p': o.port = optarg; break;
        case 'o': o.out = optarg; break;
        case 's':
            if (units_parse_size(optarg, &v) < 0 || v < 14 || v > 65535) goto badval;
            o.snaplen = (uint32_t)v;
            break;
        case 'c':
            if (units_parse_count(optarg, &o.count) < 0) goto badval;
            break;
        case 'd':
            if (units_parse_duration_ns(optarg, &o.duration_ns) < 0) goto badval;
            break;
        case 'C':
            if (units_parse_count(optarg, &v) < 0 || v >= 1024) goto badval;
            o.cpu = (uint32_t)v;
            break;
        case 'j': o.json = optarg; break;
        case 'r': o.ready = optarg; break;
        case 'H':
            if (units_parse_count(optarg, &v) < 0 || v > 1000000) goto badval;
            ensure = (long)v;
            break;
        case 'R': release = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        continue;
    badval:
        fprintf(stderr, "bypassbench pdump: bad value for --%s: '%s'\n", opts[li].name, optarg);
        return 2;
    }
    if (ensure >= 0 || release) return hugepage_modes(ensure, release, o.prefix);
    if (optind != argc || !o.prefix || !o.out) {
        usage(stderr);
        return 2;
    }
    if (!o.json) {
        sidecar_path(o.out, side, sizeof(side));
        o.json = side;
    }
    cli_on_signals();
    struct pd_result r = {.stopped_by = "error"};
    if (pdump_run(&o, &r, &cli_stop, err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench pdump: %s\n", err);
        return 1;
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:s,s:I,s:I,s:f,s:f}",
                          "file_prefix",
                          o.prefix, "port", o.port ? o.port : "0", "file", o.out, "packets",
                          (json_int_t)r.packets, "accepted", (json_int_t)r.accepted,
                          "filtered", (json_int_t)r.filtered, "dropped_nombuf",
                          (json_int_t)r.nombuf, "dropped_ringfull", (json_int_t)r.ringfull,
                          "over_count", (json_int_t)r.over_count, "write_errors",
                          (json_int_t)r.write_errors, "snaplen", (json_int_t)o.snaplen,
                          "duration_s", r.duration_s, "stopped_by", r.stopped_by, "wakeups",
                          (json_int_t)r.wakeups, "writes", (json_int_t)r.writes, "cpu_user_s",
                          r.cpu_user_s, "cpu_sys_s", r.cpu_sys_s);
    int rc = 0;
    if (!j || report_json_write(o.json, j, err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench pdump: %s\n", j ? err : "cannot build the JSON sidecar");
        rc = 1;
    }
    json_decref(j);
    fprintf(stderr,
            "pdump: %s port %s: %llu frames written, %llu copied by the primary, %llu dropped "
            "(ring full %llu, no mbuf %llu), snaplen %u, %.3f s (stopped by %s) -> %s\n",
            o.prefix, o.port ? o.port : "0", (unsigned long long)r.packets,
            (unsigned long long)r.accepted,
            (unsigned long long)(r.ringfull + r.nombuf), (unsigned long long)r.ringfull,
            (unsigned long long)r.nombuf, o.snaplen, r.duration_s, r.stopped_by, o.out);
    return rc;
}

#endif /* HAVE_DPDK */
