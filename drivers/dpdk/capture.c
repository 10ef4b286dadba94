/*
 * capture.c — packet capture for the "dpdk" pktio (DESIGN §8): pdump=1
 * (rte_pdump_init, for a `bypassbench pdump` secondary) and in-process
 * pcapng capture= (the fallback without hugepages). Self-contained but for
 * its options' rows (opts.c's table): their checks, rte_pdump_init, and the
 * pcapng writer.
 *
 * Callers: opts.c (dp_cap_prefix_check, dp_cap_check_opts; the capture
 * keys' rows are in its table), eal.c
 * (dp_cap_file_prefix, dp_cap_eal_cleanup), port.c (dp_open, dp_destroy,
 * the bursts, dp_counters; each hook one line or so). Calls: rte_pdump,
 * rte_pcapng (experimental in 22.11: allowed in this file only), rte_mbuf,
 * rte_mempool, libc (the capture file, EAL's leftovers).
 *
 * pdump=1: rte_pdump_init() right after EAL init, so that a secondary
 *   process (`bypassbench pdump`) can capture this port through librte_pdump.
 *   Multi-process needs hugepages (hugetlbfs mounted, nr_hugepages reserved:
 *   harness/hugepages.c) and a shared config: the default EAL then runs with
 *   --proc-type=primary and --file-prefix=<file_prefix, default bb<pid>>
 *   instead of --no-huge/--in-memory --no-shconf; with eal= give those
 *   yourself (no --no-shconf, --in-memory, --no-huge). Non-EAL opening
 *   threads are not registered (register=0 implied): rte_thread_register
 *   would disable multi-process.
 * capture=FILE.pcapng (the fallback without hugepages): every frame received
 *   (after rte_eth_rx_burst) and transmitted (the ones the PMD accepted) is
 *   copied with rte_pcapng_copy (capture_snaplen bytes, default 128) into a
 *   private pool and written with rte_pcapng_write_packets, at most
 *   capture_count frames (0 = no bound). Copies are written in batches of up
 *   to CAP_PEND frames (or when the oldest waited 10 ms), not one writev(2)
 *   per RX or TX burst in the poll loop; reading the counters and closing
 *   write what is pending, so capture_frames is what the file holds then.
 *   The file ends with an interface
 *   statistics block and is closed when the port closes. Counters:
 *   capture_frames (written), capture_over_count, capture_nombuf,
 *   capture_write_errors.
 */
#ifdef HAVE_DPDK

#include "drivers/dpdk/dpdk_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_spinlock.h>

/* rte_pcapng and rte_pdump are experimental in 22.11: allowed in this file only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <rte_pcapng.h>
#include <rte_pdump.h>

#define CAP_POOL_SIZE 1023
#define CAP_PEND 512 /* copies waiting to be written (< CAP_POOL_SIZE - a burst) */

struct dp_cap {
    rte_spinlock_t lock; /* RX and TX may be called from different threads */
    rte_pcapng_t *png;
    struct rte_mempool *pool;
    uint32_t snaplen;
    uint64_t max, taken; /* frames copied (or reserved for copying) */
    uint64_t written, over_count, nombuf, write_errors;
    struct rte_mbuf *pend[CAP_PEND]; /* copies not written yet */
    uint16_t npend;
    uint64_t pend_tsc; /* when the oldest of them was added */
};

/* Write the pending copies (lock held, or no other thread). */
static void cap_flush_locked(struct dp_cap *c)
{
    if (!c->npend) return;
    if (rte_pcapng_write_packets(c->png, c->pend, c->npend) < 0)
        c->write_errors += c->npend;
    else
        c->written += c->npend;
    rte_pktmbuf_free_bulk(c->pend, c->npend);
    c->npend = 0;
}

void dp_cap_flush(struct dp_cap *c)
{
    if (!c) return;
    rte_spinlock_lock(&c->lock);
    cap_flush_locked(c);
    rte_spinlock_unlock(&c->lock);
}

const char *dp_cap_prefix_check(const char *v)
{
    size_t n = strlen(v);
    if (n < 1 || n > 32 ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
        return "1-32 of A-Z a-z 0-9 _ -";
    return NULL;
}

int dp_cap_check_opts(const struct dp_cap_opts *c, const char *eal_opt, char *err, size_t errlen)
{
    if (eal_opt && c->file_prefix) {
        snprintf(err, errlen, "dpdk: file_prefix= applies to the default EAL: with eal= put "
                              "--file-prefix in it");
        return -1;
    }
    if (eal_opt && c->pdump &&
        (strstr(eal_opt, "--no-shconf") || strstr(eal_opt, "--in-memory") ||
         strstr(eal_opt, "--no-huge"))) {
        snprintf(err, errlen,
                 "dpdk: pdump=1 needs DPDK multi-process: hugepages and a shared config, so "
                 "eal= must not have --no-shconf, --in-memory or --no-huge");
        return -1;
    }
    return 0;
}

void dp_cap_file_prefix(const struct dp_cap_opts *c, char *out, size_t outlen)
{
    if (c->file_prefix)
        snprintf(out, outlen, "%s", c->file_prefix);
    else
        snprintf(out, outlen, "bb%ld", (long)getpid());
}

/* DPDK 22.11's rte_pcapng converts TSC cycles to ns from a base it takes
 * lazily, in the first rte_pcapng_copy of the process; when that first
 * frame's timestamp predates the base, the unsigned difference wraps and
 * every later timestamp lands ~2^64 cycles (centuries) ahead. Take the base
 * now, with a throwaway copy stamped half a second ahead (which only moves
 * the base forward by whole cycles: exact). */
static void cap_prime_clock(void)
{
    struct rte_mempool *mp = rte_pktmbuf_pool_create("bb_cap_prime", 7, 0, 0,
                                                     (uint16_t)rte_pcapng_mbuf_size(64),
                                                     (int)SOCKET_ID_ANY);
    if (!mp) return;
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
    char *data = m ? rte_pktmbuf_append(m, 60) : NULL;
    if (data) {
        memset(data, 0, 60);
        struct rte_mbuf *c = rte_pcapng_copy(0, 0, m, mp, 64,
                                             rte_get_tsc_cycles() + rte_get_tsc_hz() / 2,
                                             RTE_PCAPNG_DIRECTION_IN);
        rte_pktmbuf_free(c);
    }
    rte_pktmbuf_free(m);
    rte_mempool_free(mp);
}

/* A failed EAL init with pdump=1: say first what multi-process needs. */
void dp_cap_eal_hint(const struct dp_cap_opts *c, char *err, size_t errlen)
{
    char was[1024];
    if (!c->pdump || (!strcasestr(err, "huge") && !strcasestr(err, "memory"))) return;
    snprintf(was, sizeof(was), "%s", strncmp(err, "dpdk: ", 6) == 0 ? err + 6 : err);
    snprintf(err, errlen, "dpdk: pdump=1 needs hugepages (bypassbench pdump --hugepages N): %s",
             was);
}

/* After rte_eal_cleanup of an EAL with a shared config (pdump=1, or an eal=
 * without --no-shconf): DPDK 22.11 leaves its runtime directory's files and
 * the hugepage files (PREFIXmap_*, on every hugetlbfs mount) for a restart
 * to reuse; we never restart, so remove them (eal_rmdir then removes the
 * directory). A private EAL (--no-shconf) has no config file: untouched. */
void dp_cap_eal_cleanup(const char *rundir)
{
    char path[768];
    snprintf(path, sizeof(path), "%s/config", rundir);
    if (!*rundir || access(path, F_OK) != 0) return;
    const char *prefix = strrchr(rundir, '/');
    prefix = prefix ? prefix + 1 : rundir;
    DIR *d = opendir(rundir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", rundir, e->d_name);
        (void)unlink(path);
    }
    if (d) closedir(d);
    FILE *m = fopen("/proc/mounts", "r");
    char line[512], dev[128], mnt[256], type[64], want[80];
    snprintf(want, sizeof(want), "%smap_", prefix);
    while (m && fgets(line, sizeof(line), m)) {
        if (sscanf(line, "%127s %255s %63s", dev, mnt, type) != 3 || strcmp(type, "hugetlbfs"))
            continue;
        DIR *h = opendir(mnt);
        for (struct dirent *e; h && (e = readdir(h)) != NULL;) {
            if (strncmp(e->d_name, want, strlen(want)) != 0) continue;
            snprintf(path, sizeof(path), "%s/%s", mnt, e->d_name);
            (void)unlink(path);
        }
        if (h) closedir(h);
    }
    if (m) fclose(m);
}

/* After EAL init (idempotent: a second call finds the action registered). */
int dp_cap_pdump_init(char *err, size_t errlen)
{
    cap_prime_clock(); /* the pdump callbacks call rte_pcapng_copy in this process */
    if (rte_pdump_init() == 0 || rte_errno == EEXIST) return 0;
    snprintf(err, errlen, "dpdk: pdump=1: rte_pdump_init: %s (multi-process needs hugepages "
                          "and a shared config)", rte_strerror(rte_errno));
    return -1;
}

void dp_cap_close(struct dp_cap *c, uint16_t port)
{
    if (!c) return;
    if (c->png) {
        cap_flush_locked(c);
        (void)rte_pcapng_write_stats(c->png, port, "bypassbench in-process capture", 0, 0,
                                     c->written, c->over_count + c->nombuf + c->write_errors);
        rte_pcapng_close(c->png); /* closes the fd */
    }
    rte_mempool_free(c->pool);
    free(c);
}

/* *out stays NULL when no capture= was given. */
int dp_cap_open(struct dp_cap **out, const struct dp_cap_opts *o, uint16_t port, char *err,
                size_t errlen)
{
    *out = NULL;
    if (!o->path) return 0;
    struct dp_cap *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "dpdk: capture: out of memory");
        return -1;
    }
    rte_spinlock_init(&c->lock);
    cap_prime_clock();
    c->snaplen = o->snaplen ? o->snaplen : 128;
    c->max = o->count;
    char name[RTE_MEMPOOL_NAMESIZE];
    snprintf(name, sizeof(name), "bb_cap%u", port);
    int socket = rte_eth_dev_socket_id(port);
    c->pool = rte_pktmbuf_pool_create(name, CAP_POOL_SIZE, 0, 0,
                                      (uint16_t)rte_pcapng_mbuf_size(c->snaplen),
                                      socket < 0 ? (int)SOCKET_ID_ANY : socket);
    if (!c->pool) {
        snprintf(err, errlen, "dpdk: capture: pool of %d copies: %s", CAP_POOL_SIZE,
                 rte_strerror(rte_errno));
        dp_cap_close(c, port);
        return -1;
    }
    int fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "dpdk: capture=%s: %s", o->path, strerror(errno));
        dp_cap_close(c, port);
        return -1;
    }
    c->png = rte_pcapng_fdopen(fd, NULL, NULL, "bypassbench", NULL);
    if (!c->png) {
        snprintf(err, errlen, "dpdk: capture=%s: rte_pcapng_fdopen: %s", o->path,
                 rte_strerror(rte_errno));
        close(fd);
        dp_cap_close(c, port);
        return -1;
    }
    *out = c;
    return 0;
}

/* Reserve room under the count bound for n frames and copy the first *take
 * of them into cp[] (NULL where no copy buffer was free); tx: 0 RX, 1 TX. */
void dp_cap_copy(struct dp_cap *c, uint16_t port, struct rte_mbuf **mb, uint16_t n, int tx,
                 struct rte_mbuf **cp, uint16_t *take)
{
    rte_spinlock_lock(&c->lock);
    uint64_t room = c->max ? (c->taken < c->max ? c->max - c->taken : 0) : n;
    *take = room < n ? (uint16_t)room : n;
    c->taken += *take;
    rte_spinlock_unlock(&c->lock);
    enum rte_pcapng_direction dir = tx ? RTE_PCAPNG_DIRECTION_OUT : RTE_PCAPNG_DIRECTION_IN;
    uint64_t ts = rte_get_tsc_cycles();
    for (uint16_t i = 0; i < *take; i++)
        cp[i] = rte_pcapng_copy(port, 0, mb[i], c->pool, c->snaplen, ts, dir);
}

/* Of the frames copied into cp[0..take), the first `keep` went: write
 * their copies, count the rest, free the copies of frames that did not go
 * (they are offered again later and un-reserved here). */
void dp_cap_write(struct dp_cap *c, struct rte_mbuf **cp, uint16_t take, uint16_t keep)
{
    struct rte_mbuf *w[DP_MAX_BURST];
    uint16_t k = 0;
    uint64_t nombuf = 0, unsent = 0;
    for (uint16_t i = 0; i < take; i++) {
        if (i >= keep) {
            unsent++;
            rte_pktmbuf_free(cp[i]); /* NULL is fine */
        } else if (cp[i]) {
            w[k++] = cp[i];
        } else {
            nombuf++;
        }
    }
    rte_spinlock_lock(&c->lock);
    c->taken -= unsent;
    c->nombuf += nombuf;
    if (keep > take) c->over_count += (uint64_t)(keep - take);
    if (k) {
        if (c->npend + k > CAP_PEND) cap_flush_locked(c);
        uint64_t now = rte_get_tsc_cycles();
        if (!c->npend) c->pend_tsc = now;
        memcpy(c->pend + c->npend, w, k * sizeof(w[0]));
        c->npend = (uint16_t)(c->npend + k);
        if (c->npend == CAP_PEND || now - c->pend_tsc > rte_get_tsc_hz() / 100)
            cap_flush_locked(c);
    }
    rte_spinlock_unlock(&c->lock);
}

int dp_cap_counters(const struct dp_cap *c, struct netio_counter *out, int n, int max)
{
    if (!c) return n;
    const struct {
        const char *name;
        uint64_t v;
    } rows[] = {{"capture_frames", c->written},
                {"capture_over_count", c->over_count},
                {"capture_nombuf", c->nombuf},
                {"capture_write_errors", c->write_errors}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && n < max; i++) {
        out[n].name = rows[i].name;
        out[n].value = rows[i].v;
        n++;
    }
    return n;
}
#pragma GCC diagnostic pop

#endif /* HAVE_DPDK */
