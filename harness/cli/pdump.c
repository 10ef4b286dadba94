/*
 * harness/cli/pdump.c — `bypassbench pdump`: capture a DPDK server's port from a
 * DPDK secondary process (DESIGN §8). The server (primary) runs with the
 * dpdk pktio option pdump=1 (rte_pdump_init) and a known --file-prefix;
 * this process attaches with --proc-type=secondary --file-prefix=<same>,
 * asks the primary through librte_pdump (rte_pdump_enable_bpf, RX and TX,
 * all queues, pcapng format, snaplen) to copy frames into a ring and a
 * mempool it created in shared memory, and writes them with rte_pcapng,
 * bounded by snaplen, count and duration; then a JSON sidecar and one
 * summary line on stderr. Also reserves/releases hugepages for the harness
 * (--hugepages N, --release-hugepages; harness/run/hugepages.c).
 * Calls: rte_eal_init, rte_pdump, rte_pcapng, rte_ring, rte_mempool.
 */
#define ALLOW_EXPERIMENTAL_API 1 /* rte_pcapng, rte_pdump_enable_bpf (22.11) */

#include "harness/cli/cli.h"
#include "harness/run/hugepages.h"
#include "units.h"

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

#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_pdump.h>
#include <rte_ring.h>

/* Ring and pool in shared memory; the primary copies each frame (snaplen
 * bytes and a pcapng header) into a pool mbuf and enqueues it. */
#define PD_RING_SIZE 16384
#define PD_POOL_SIZE 16383
/* One writev(2) per burst (rte_pcapng_write_packets: one iovec per frame,
 * below IOV_MAX). */
#define PD_BURST 512
/* The secondary sleeps between drains; the nap adapts so that a wake-up
 * finds the ring between 1/16 and 1/4 full: about 100 wake-ups/s at 200 k
 * frames/s instead of 5000 (the old fixed 200 us nap, with 64-frame bursts,
 * and one writev per 64 frames). At the longest nap the ring holds 10 ms of
 * 1.6 M frames/s, far above what this machine moves. */
#define PD_NAP_MIN_NS 100000ull
#define PD_NAP_MAX_NS 10000000ull
/* lcore id of the secondary's EAL thread: not 0, which the primary uses.
 * Mempool per-lcore caches are indexed by lcore id across processes, so two
 * processes with the same lcore id would corrupt the pool's cache (frames
 * written twice or lost). */
#define PD_LCORE (RTE_MAX_LCORE - 1)

struct pd_opts {
    const char *prefix, *port, *out, *json, *ready;
    uint32_t snaplen, cpu;
    uint64_t count, duration_ns;
};

struct pd_result {
    uint64_t packets, write_errors, over_count;
    uint64_t wakeups, writes;  /* drains that found frames; writev calls */
    double cpu_user_s, cpu_sys_s; /* this process's CPU time (getrusage) */
    struct rte_pdump_stats st;
    double duration_s;
    const char *stopped_by;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Dequeue up to a burst and write it (within the count bound). Returns how
 * many were dequeued. */
static unsigned drain_once(struct rte_ring *r, rte_pcapng_t *png, const struct pd_opts *o,
                           struct pd_result *res)
{
    struct rte_mbuf *m[PD_BURST];
    unsigned n = rte_ring_dequeue_burst(r, (void **)m, PD_BURST, NULL);
    if (!n) return 0;
    unsigned w = n;
    if (o->count && res->packets + w > o->count)
        w = res->packets >= o->count ? 0 : (unsigned)(o->count - res->packets);
    if (w) res->writes++;
    if (w && rte_pcapng_write_packets(png, m, (uint16_t)w) < 0)
        res->write_errors += w;
    else
        res->packets += w;
    res->over_count += n - w;
    rte_pktmbuf_free_bulk(m, n);
    return n;
}

/* Empty the ring (what was there on entry, at most); returns frames taken. */
static uint64_t drain_all(struct rte_ring *r, rte_pcapng_t *png, const struct pd_opts *o,
                          struct pd_result *res)
{
    uint64_t total = 0;
    unsigned n;
    do {
        n = drain_once(r, png, o, res);
        total += n;
    } while (n == PD_BURST && total < PD_RING_SIZE);
    return total;
}
static int pdump_run(const struct pd_opts *o, struct pd_result *res, char *err, size_t errlen)
{
    char a_prefix[96], a_lcores[64];
    snprintf(a_prefix, sizeof(a_prefix), "--file-prefix=%s", o->prefix);
    snprintf(a_lcores, sizeof(a_lcores), "--lcores=%d@%u", PD_LCORE, o->cpu);
    char *eargv[] = {"bypassbench-pdump", "--proc-type=secondary", a_prefix, a_lcores, "--no-pci",
                     "--no-telemetry", "--log-level=lib.eal:warning", NULL};
    int eargc = (int)(sizeof(eargv) / sizeof(eargv[0])) - 1;
    if (rte_eal_init(eargc, eargv) < 0) {
        snprintf(err, errlen,
                 "rte_eal_init as a secondary of '%s' failed: %s (is a DPDK server with "
                 "pdump=1,file_prefix=%s running, with hugepages?)",
                 o->prefix, rte_strerror(rte_errno), o->prefix);
        return -1;
    }
    int rc = -1, fd = -1, enabled = 0;
    struct rte_ring *ring = NULL;
    struct rte_mempool *pool = NULL;
    rte_pcapng_t *png = NULL;
    uint16_t port = 0;
    char *end = NULL;
    unsigned long pn = o->port ? strtoul(o->port, &end, 10) : 0;
    if (o->port && (*end || !rte_eth_dev_is_valid_port((uint16_t)pn))) {
        if (rte_eth_dev_get_port_by_name(o->port, &port) != 0) {
            snprintf(err, errlen, "no port '%s' in the primary (%u ports)", o->port,
                     rte_eth_dev_count_avail());
            goto out;
        }
    } else {
        port = (uint16_t)pn;
        if (!rte_eth_dev_is_valid_port(port)) {
            snprintf(err, errlen, "no port %u in the primary (%u ports)", port,
                     rte_eth_dev_count_avail());
            goto out;
        }
    }
    char name[RTE_RING_NAMESIZE];
    snprintf(name, sizeof(name), "bb_pd_r%d", (int)getpid());
    ring = rte_ring_create(name, PD_RING_SIZE, (int)rte_socket_id(), 0); /* pdump: MP/MC */
    snprintf(name, sizeof(name), "bb_pd_p%d", (int)getpid());
    pool = rte_pktmbuf_pool_create(name, PD_POOL_SIZE, 256, 0,
                                   (uint16_t)rte_pcapng_mbuf_size(o->snaplen),
                                   (int)rte_socket_id());
    if (!ring || !pool) {
        snprintf(err, errlen, "ring/mempool in shared memory: %s", rte_strerror(rte_errno));
        goto out;
    }
    fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", o->out, strerror(errno));
        goto out;
    }
    png = rte_pcapng_fdopen(fd, NULL, NULL, "bypassbench pdump", NULL);
    if (!png) {
        snprintf(err, errlen, "%s: rte_pcapng_fdopen: %s", o->out, rte_strerror(rte_errno));
        close(fd);
        goto out;
    }
    if (rte_pdump_enable_bpf(port, RTE_PDUMP_ALL_QUEUES,
                             RTE_PDUMP_FLAG_RXTX | RTE_PDUMP_FLAG_PCAPNG, o->snaplen, ring, pool,
                             NULL) < 0) {
        snprintf(err, errlen, "rte_pdump_enable_bpf on port %u: %s (did the server start with "
                              "pdump=1?)", port, rte_strerror(rte_errno));
        goto out;
    }
    enabled = 1;
    if (o->ready) {
        int rfd = open(o->ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (rfd >= 0) close(rfd);
    }
    uint64_t t0 = now_ns(), nap_ns = PD_NAP_MIN_NS;
    res->stopped_by = "signal";
    for (;;) {
        if (cli_stop) break;
        if (o->count && res->packets >= o->count) {
            res->stopped_by = "count";
            break;
        }
        if (o->duration_ns && now_ns() - t0 >= o->duration_ns) {
            res->stopped_by = "duration";
            break;
        }
        uint64_t got = drain_all(ring, png, o, res);
        if (got) res->wakeups++;
        /* Adapt the nap to the rate: sleep longer while a wake-up finds the
         * ring under 1/16 full, shorter once it finds it over 1/4. */
        if (got > PD_RING_SIZE / 4)
            nap_ns = nap_ns / 4 > PD_NAP_MIN_NS ? nap_ns / 4 : PD_NAP_MIN_NS;
        else if (got < PD_RING_SIZE / 16)
            nap_ns = nap_ns * 2 < PD_NAP_MAX_NS ? nap_ns * 2 : PD_NAP_MAX_NS;
        if (o->duration_ns) { /* do not sleep past the duration bound */
            uint64_t el = now_ns() - t0;
            if (el < o->duration_ns && o->duration_ns - el < nap_ns) nap_ns = o->duration_ns - el;
        }
        struct timespec nap = {(time_t)(nap_ns / 1000000000ull), (long)(nap_ns % 1000000000ull)};
        nanosleep(&nap, NULL); /* a signal cuts it short */
    }
    (void)rte_pdump_disable(port, RTE_PDUMP_ALL_QUEUES, RTE_PDUMP_FLAG_RXTX);
    enabled = 0;
    while (drain_once(ring, png, o, res))
        ;
    res->duration_s = (double)(now_ns() - t0) / 1e9;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        res->cpu_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
        res->cpu_sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    (void)rte_pdump_stats(port, &res->st);
    (void)rte_pcapng_write_stats(png, port, "bypassbench pdump", 0, 0, res->st.accepted,
                                 res->st.nombuf + res->st.ringfull);
    rc = 0;
out:
    if (enabled) (void)rte_pdump_disable(port, RTE_PDUMP_ALL_QUEUES, RTE_PDUMP_FLAG_RXTX);
    if (png) rte_pcapng_close(png);
    if (ring) {
        void *m[PD_BURST];
        unsigned n;
        while ((n = rte_ring_dequeue_burst(ring, m, PD_BURST, NULL)) > 0)
            rte_pktmbuf_free_bulk((struct rte_mbuf **)m, n);
        rte_ring_free(ring);
    }
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return rc;
}

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
    if (pdump_run(&o, &r, err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench pdump: %s\n", err);
        return 1;
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:s,s:I,s:I,s:f,s:f}",
                          "file_prefix",
                          o.prefix, "port", o.port ? o.port : "0", "file", o.out, "packets",
                          (json_int_t)r.packets, "accepted", (json_int_t)r.st.accepted,
                          "filtered", (json_int_t)r.st.filtered, "dropped_nombuf",
                          (json_int_t)r.st.nombuf, "dropped_ringfull", (json_int_t)r.st.ringfull,
                          "over_count", (json_int_t)r.over_count, "write_errors",
                          (json_int_t)r.write_errors, "snaplen", (json_int_t)o.snaplen,
                          "duration_s", r.duration_s, "stopped_by", r.stopped_by, "wakeups",
                          (json_int_t)r.wakeups, "writes", (json_int_t)r.writes, "cpu_user_s",
                          r.cpu_user_s, "cpu_sys_s", r.cpu_sys_s);
    int rc = 0;
    if (!j || cli_write_json(o.json, j, err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench pdump: %s\n", j ? err : "cannot build the JSON sidecar");
        rc = 1;
    }
    json_decref(j);
    fprintf(stderr,
            "pdump: %s port %s: %llu frames written, %llu copied by the primary, %llu dropped "
            "(ring full %llu, no mbuf %llu), snaplen %u, %.3f s (stopped by %s) -> %s\n",
            o.prefix, o.port ? o.port : "0", (unsigned long long)r.packets,
            (unsigned long long)r.st.accepted,
            (unsigned long long)(r.st.ringfull + r.st.nombuf), (unsigned long long)r.st.ringfull,
            (unsigned long long)r.st.nombuf, o.snaplen, r.duration_s, r.stopped_by, o.out);
    return rc;
}

#endif /* HAVE_DPDK */
