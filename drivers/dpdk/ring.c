/*
 * ring.c — net_ring pairs for the "dpdk" pktio (ring=NAME:A|B, the `ring`
 * link, DESIGN §5): both ends of a cross-wired pair in one process.
 *
 * Callers: port.c (dp_open, dp_destroy), with dp_eal_lock held. Calls:
 * rte_ring, rte_eth_from_rings and rte_vdev_uninit (looked up with
 * dlopen/dlsym), rte_mempool, rte_ethdev.
 *
 * Two rte_rings named after NAME, cross-wired (A's TX ring is B's RX ring
 * and vice versa), made into a port per end by rte_eth_from_rings. The
 * first end opened creates the rings, the second attaches to them; both
 * ends live in the same process on the one EAL, each with its own mempool
 * and MAC. Frames cross without a copy: the receiving end hands the
 * sender's mbufs to its stack and frees them into the sender's pool.
 * Closing an end removes its vdev and frees what waits in its RX ring; its
 * pool is kept (the peer may still hold its mbufs) until the other end
 * closes too, then both rings and both pools go. rte_eth_from_rings and
 * rte_vdev_uninit live in driver libraries that pkg-config's libdpdk does
 * not link: they are taken from the plugins EAL loaded (dlopen/dlsym).
 */
#ifdef HAVE_DPDK

#include "drivers/dpdk/dpdk_int.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_version.h>

#define DP_MAX_RINGS 4 /* ring pairs open at once */

/* One cross-wired ring pair: r[0] carries A -> B, r[1] B -> A. pool[e] is
 * end e's mempool once that end has closed (kept for the peer's sake). */
struct dp_ring {
    char name[DP_RING_NAME_MAX + 1];
    struct rte_ring *r[2];
    struct rte_mempool *pool[2];
    uint8_t open[2];
};

/* The pairs of this process, and net_ring's and the vdev bus's calls:
 * libdpdk.pc does not link drivers, EAL loads them as plugins, so they are
 * looked up there (ring_syms_locked). Guarded by dp_eal_lock. */
static struct {
    struct dp_ring rings[DP_MAX_RINGS];
    __typeof__(rte_eth_from_rings) *from_rings;
    __typeof__(rte_vdev_uninit) *vdev_uninit;
} rp;

/* Free whatever waits in a ring (mbufs of some pool still alive). */
static void ring_drain(struct rte_ring *r)
{
    void *objs[64];
    unsigned n;
    while (r && (n = rte_ring_dequeue_burst(r, objs, 64, NULL)) > 0)
        rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, n);
}

static void ring_slot_free_locked(struct dp_ring *s)
{
    for (int i = 0; i < 2; i++)
        ring_drain(s->r[i]); /* both pools are still there */
    for (int i = 0; i < 2; i++) {
        rte_ring_free(s->r[i]);
        rte_mempool_free(s->pool[i]);
    }
    memset(s, 0, sizeof(*s));
}

/* The driver library lib<base>.so.<ABI>, as EAL loaded it from its plugin
 * directory, or else loaded here. */
static void *dl_driver(const char *base, char *err, size_t errlen)
{
    char soname[64];
    int abi = RTE_VER_YEAR + (RTE_VER_MONTH == 11 ? 1 : 0);
    snprintf(soname, sizeof(soname), "lib%s.so.%d", base, abi);
    void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
#ifdef RTE_EAL_PMD_PATH
    if (!h) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", RTE_EAL_PMD_PATH, soname);
        h = dlopen(path, RTLD_NOW);
    }
#endif
    if (!h) h = dlopen(soname, RTLD_NOW);
    if (!h) {
        const char *why = dlerror();
        snprintf(err, errlen, "dpdk: ring=: cannot load %s: %s", soname, why ? why : "?");
    }
    return h;
}

static int ring_syms_locked(char *err, size_t errlen)
{
    if (rp.from_rings && rp.vdev_uninit) return 0;
    void *hr = dl_driver("rte_net_ring", err, errlen);
    void *hv = hr ? dl_driver("rte_bus_vdev", err, errlen) : NULL;
    if (!hv) return -1;
    *(void **)&rp.from_rings = dlsym(hr, "rte_eth_from_rings");
    *(void **)&rp.vdev_uninit = dlsym(hv, "rte_vdev_uninit");
    if (!rp.from_rings || !rp.vdev_uninit) {
        snprintf(err, errlen, "dpdk: ring=: rte_eth_from_rings or rte_vdev_uninit not found in "
                              "DPDK's driver libraries");
        rp.from_rings = NULL;
        return -1;
    }
    return 0;
}

/* Create (first end) or attach to (second end) the pair o->ring_name and
 * make this end's port from its two rings. */
int dp_ring_attach_locked(struct dp *d, const struct dp_opts *o, char *err, size_t errlen)
{
    int slot = -1, end = o->ring_end - 1;
    const char *endc = end ? "B" : "A";
    if (ring_syms_locked(err, errlen) < 0) return -1;
    for (int i = 0; i < DP_MAX_RINGS; i++)
        if (rp.rings[i].r[0] && strcmp(rp.rings[i].name, o->ring_name) == 0) slot = i;
    if (slot >= 0 && rp.rings[slot].open[end]) {
        snprintf(err, errlen, "dpdk: ring=%s:%s is already open in this process", o->ring_name,
                 endc);
        return -1;
    }
    if (slot >= 0 && rp.rings[slot].pool[end]) {
        snprintf(err, errlen,
                 "dpdk: ring=%s:%s was closed and its peer is still open: close both ends "
                 "before opening the pair again",
                 o->ring_name, endc);
        return -1;
    }
    struct dp_ring *s = NULL;
    if (slot < 0) {
        for (int i = 0; i < DP_MAX_RINGS && slot < 0; i++)
            if (!rp.rings[i].r[0]) slot = i;
        if (slot < 0) {
            snprintf(err, errlen, "dpdk: ring=%s: already %d ring pairs open in this process",
                     o->ring_name, DP_MAX_RINGS);
            return -1;
        }
        s = &rp.rings[slot];
        unsigned size = rte_align32pow2(o->rxd < 64 ? 64 : o->rxd);
        for (int i = 0; i < 2; i++) {
            char rname[RTE_RING_NAMESIZE];
            snprintf(rname, sizeof(rname), "bbr_%s_%s", o->ring_name, i ? "ba" : "ab");
            /* One producer (the sending end), one consumer (the receiving
             * end, which also drains it when it closes). */
            s->r[i] = rte_ring_create(rname, size, (int)rte_socket_id(),
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (!s->r[i]) {
                snprintf(err, errlen, "dpdk: ring=%s: rte_ring_create(%s, %u): %s", o->ring_name,
                         rname, size, rte_strerror(rte_errno));
                ring_slot_free_locked(s);
                return -1;
            }
        }
        snprintf(s->name, sizeof(s->name), "%s", o->ring_name);
    }
    s = &rp.rings[slot];
    struct rte_ring *rx = s->r[end ? 0 : 1], *tx = s->r[end ? 1 : 0];
    char name[RTE_RING_NAMESIZE];
    snprintf(name, sizeof(name), "bb_%s_%s", o->ring_name, endc);
    int port = rp.from_rings(name, &rx, 1, &tx, 1, rte_socket_id());
    if (port < 0) {
        snprintf(err, errlen, "dpdk: ring=%s:%s: rte_eth_from_rings: %s", o->ring_name, endc,
                 rte_strerror(rte_errno));
        if (!s->open[0] && !s->open[1] && !s->pool[0] && !s->pool[1]) ring_slot_free_locked(s);
        return -1;
    }
    d->port = (uint16_t)port;
    d->ring_slot = slot;
    d->ring_end = end;
    d->txr = tx;
    if (rte_eth_dev_get_name_by_port(d->port, d->devname) != 0)
        snprintf(d->devname, sizeof(d->devname), "net_ring_%s", name);
    s->open[end] = 1;
    return 0;
}

/* This end goes: its vdev removed, what waits for it freed, its pool kept
 * for the peer; the pair freed when both ends are gone. */
void dp_ring_detach_locked(struct dp *d)
{
    struct dp_ring *s = &rp.rings[d->ring_slot];
    if (d->devname[0] && rp.vdev_uninit(d->devname) < 0) rte_eth_dev_close(d->port);
    ring_drain(s->r[d->ring_end ? 0 : 1]); /* our RX: the peer's mbufs */
    s->pool[d->ring_end] = d->pool;
    d->pool = NULL;
    s->open[d->ring_end] = 0;
    if (!s->open[0] && !s->open[1]) ring_slot_free_locked(s);
    d->ring_slot = -1;
    d->txr = NULL;
}

#endif /* HAVE_DPDK */
