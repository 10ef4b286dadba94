/*
 * pdump.c — the DPDK secondary-process capture engine behind `bypassbench
 * pdump` (DESIGN §8). The server (primary) runs with the dpdk pktio option
 * pdump=1 (rte_pdump_init) and a known --file-prefix; pdump_run attaches
 * with --proc-type=secondary --file-prefix=<same>, asks the primary through
 * librte_pdump (rte_pdump_enable_bpf, RX and TX, all queues, pcapng format,
 * snaplen) to copy frames into a ring and a mempool it created in shared
 * memory, and writes them with rte_pcapng, bounded by snaplen, count and
 * duration. Callers: harness/cli/pdump.c (arguments, sidecar, summary line).
 * Calls: rte_eal_init, rte_pdump, rte_pcapng, rte_ring, rte_mempool.
 */
#define ALLOW_EXPERIMENTAL_API 1 /* rte_pcapng, rte_pdump_enable_bpf (22.11) */

#include "harness/run/pdump.h"

#ifdef HAVE_DPDK

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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
int pdump_run(const struct pd_opts *o, struct pd_result *res, volatile sig_atomic_t *stop,
              char *err, size_t errlen)
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
        if (stop && *stop) break;
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
    struct rte_pdump_stats st;
    memset(&st, 0, sizeof(st));
    (void)rte_pdump_stats(port, &st);
    res->accepted = st.accepted, res->filtered = st.filtered;
    res->nombuf = st.nombuf, res->ringfull = st.ringfull;
    (void)rte_pcapng_write_stats(png, port, "bypassbench pdump", 0, 0, res->accepted,
                                 res->nombuf + res->ringfull);
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

#endif /* HAVE_DPDK */
