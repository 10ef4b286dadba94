/*
 * pktio.h — the burst-level packet interface under our user-space stack
 * (DESIGN §3), modelled on rte_eth_rx_burst/tx_burst: control operations in an
 * ops table, burst calls taking arrays so the indirection costs once per batch.
 * Backends (one file each, chosen by name): memlink.c (two endpoints in one
 * process), afpacket.c (TPACKET_V3 on a kernel interface), afxdp.c (AF_XDP
 * with an XDP program of its own, afxdp_prog.c), dpdk/ (DPDK ethdev).
 * impair.c wraps any pktio with seeded loss, duplication, reordering,
 * corruption and delay (tc netem is not in every kernel).
 *
 * Buffers are owned by the backend: rx_burst hands out buffers the caller
 * must give back with pktio_free (or pass to tx_burst); alloc gives a TX
 * buffer. tx_burst takes ownership of the buffers it accepted (the first
 * `ret` of the array); the rest remain the caller's. No malloc per packet.
 *
 * Callers: drivers/ustack/ (the stack), tests. Library code: never prints.
 */
#ifndef BB_PKTIO_H
#define BB_PKTIO_H

#include "drivers/netio.h"

#include <stddef.h>
#include <stdint.h>

#define PKTIO_MAX_FRAME 2048 /* largest frame a buffer holds (MTU 1500 + headers) */

/* Offload flags (pktbuf.ol_flags and pktio_info.offloads). */
#define PKT_RX_IP_CSUM_OK (1u << 0)  /* RX: IPv4 header checksum verified */
#define PKT_RX_L4_CSUM_OK (1u << 1)  /* RX: TCP/UDP checksum verified */
#define PKT_TX_IP_CSUM (1u << 2)     /* TX: device computes the IPv4 header checksum */
#define PKT_TX_L4_CSUM (1u << 3)     /* TX: device computes the TCP checksum */
/* TX: device segments a TCP frame larger than the MTU into tso_segsz-byte
 * segments (TSO/GSO), finishing every segment's checksums; the TCP checksum
 * field holds the pseudo-header sum of the whole frame (as PKT_TX_L4_CSUM).
 * In pktio_info.offloads: the backend takes such frames, up to tso_max bytes,
 * in buffers from alloc_tso. */
#define PKT_TX_TSO (1u << 4)
/* RX: the frame is a receive-offload super-frame (GRO/LRO) longer than the
 * MTU; its L4 checksum is verified (PKT_RX_L4_CSUM_OK is set too). */
#define PKT_RX_GRO (1u << 5)

#define PKTIO_TSO_MAX 65536u /* largest TSO frame any backend takes, bytes from the Ethernet header */

struct pktbuf {
    uint8_t *data;     /* first byte of the Ethernet frame */
    uint32_t len;      /* frame length */
    uint32_t cap;      /* bytes usable from data (TX: at least PKTIO_MAX_FRAME) */
    uint32_t ol_flags; /* PKT_* */
    uint16_t l2_len, l3_len; /* TX offload hints */
    uint16_t l4_len;         /* TX with PKT_TX_TSO: TCP header bytes */
    uint16_t tso_segsz;      /* TX with PKT_TX_TSO: payload bytes per segment (the MSS) */
    void *priv;        /* backend's own */
};

struct pktio_info {
    uint8_t mac[6];
    uint16_t mtu;      /* IP MTU, e.g. 1500 */
    uint32_t offloads; /* PKT_* the backend supports */
    int fd;            /* a descriptor that polls readable when RX may have frames, or -1 */
    uint16_t tx_burst; /* frames per TX burst the backend prefers, 0 = none: small where a
                          burst is a few ring operations, large where it is a system call */
    uint32_t tso_max;  /* with PKT_TX_TSO: the largest frame alloc_tso's buffers hold */
};

struct pktio_config {
    const char *iface;        /* kernel interface (afpacket), NULL otherwise */
    const char *const *opts;  /* NULL-terminated "key=value" backend options (the backend's
                                 ops->opts table says which), or NULL */
    uint32_t pool_size;       /* buffers (0 = backend default) */
    const char *extra_vdev;   /* dpdk: one more --vdev=SPEC for EAL (the exception path's
                                 port), added to vdev= or eal= alike; NULL otherwise */
};

struct pktio;
struct opt_def; /* drivers/opts.h */

struct pktio_ops {
    const char *name;
    const char *help;
    const struct opt_def *opts; /* the options cfg->opts may carry (drivers/opts.h), or NULL */
    int (*probe)(char *err, size_t errlen);
    struct pktio *(*open)(const struct pktio_config *cfg, char *err, size_t errlen);
    void (*close)(struct pktio *p);
    uint16_t (*rx_burst)(struct pktio *p, struct pktbuf **bufs, uint16_t n);
    uint16_t (*tx_burst)(struct pktio *p, struct pktbuf **bufs, uint16_t n);
    struct pktbuf *(*alloc)(struct pktio *p); /* NULL when the pool is empty */
    /* A TX buffer of info.tso_max bytes for a PKT_TX_TSO frame (freed and sent
     * like any other), or NULL when none is free; NULL op: no TSO. */
    struct pktbuf *(*alloc_tso)(struct pktio *p);
    void (*free)(struct pktio *p, struct pktbuf **bufs, uint16_t n);
    void (*info)(struct pktio *p, struct pktio_info *out);
    int (*counters)(struct pktio *p, struct netio_counter *out, int max);
    /* Buffers currently handed out or queued (for leak checks); may be NULL. */
    uint32_t (*in_use)(struct pktio *p);
    /* Frames tx_burst accepted that have not left this host yet: still in
     * the link's queue, not taken by the peer (a FIFO: they are the latest
     * ones); -1 (or a NULL op) where the backend cannot tell. The stack's
     * tail loss probe does not resend a segment still queued here (late,
     * not lost), as Linux holds a retransmission while the original is
     * still in the host's queues. */
    int64_t (*tx_pending)(struct pktio *p);
};

struct pktio {
    const struct pktio_ops *ops;
};

const struct pktio_ops *pktio_find(const char *name);

static inline uint16_t pktio_rx_burst(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    return p->ops->rx_burst(p, b, n);
}
static inline uint16_t pktio_tx_burst(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    return p->ops->tx_burst(p, b, n);
}
static inline struct pktbuf *pktio_alloc(struct pktio *p)
{
    return p->ops->alloc(p);
}
static inline struct pktbuf *pktio_alloc_tso(struct pktio *p)
{
    return p->ops->alloc_tso ? p->ops->alloc_tso(p) : NULL;
}
static inline void pktio_free(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    p->ops->free(p, b, n);
}
static inline void pktio_info(struct pktio *p, struct pktio_info *out)
{
    p->ops->info(p, out);
}
static inline int pktio_counters(struct pktio *p, struct netio_counter *out, int max)
{
    return p->ops->counters(p, out, max);
}
/* ops->tx_pending, or -1 when the backend cannot tell. */
static inline int64_t pktio_tx_pending(struct pktio *p)
{
    return p->ops->tx_pending ? p->ops->tx_pending(p) : -1;
}
static inline void pktio_close(struct pktio *p)
{
    if (p) p->ops->close(p);
}

/* memlink: two connected endpoints in one process; frames sent on one are
 * received on the other (FIFO, lossless; impair them with impair_wrap).
 * Time-free. */
int memlink_pair(const struct pktio_config *cfg, struct pktio **a, struct pktio **b, char *err,
                 size_t errlen);

/* Seeded impairment of any pktio, applied on TX (so wrapping both ends of a
 * link impairs both directions). Probabilities in [0, 1]. Delayed frames are
 * released by tx/rx calls once now_ns() has passed their due time. */
struct impair_config {
    uint64_t seed;
    double loss, dup, reorder, corrupt; /* per-frame probabilities */
    uint64_t delay_ns;                  /* fixed added delay */
    /* Delay spike: after the spike_after-th emitted frame (0 = no spike),
     * and again every spike_every frames after it (0 = once), the frames
     * emitted in the next spike_ns wait until it has passed (the FIFO is
     * held: a stall longer than the peer's RTO makes it resend spuriously). */
    uint64_t spike_after, spike_every, spike_ns;
    uint64_t (*now_ns)(void *arg);      /* clock (virtual in tests); NULL = CLOCK_MONOTONIC */
    void *now_arg;
};
/* Takes ownership of inner (closing the wrapper closes it). */
struct pktio *impair_wrap(struct pktio *inner, const struct impair_config *c, char *err,
                          size_t errlen);

#endif
