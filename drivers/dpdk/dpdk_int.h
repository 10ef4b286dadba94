/*
 * dpdk_int.h — private to drivers/dpdk/, the "dpdk" pktio (rte_ethdev on
 * any PMD: net_ring, net_tap, net_af_packet, net_af_xdp, PCI NICs; DESIGN
 * §3, §5, §8), one file per concern:
 *
 *   port.c     the ops table: open/close, port set-up, thread registration,
 *              the burst functions, counters
 *   opts.c     the options' table; cfg->opts (key=value) into struct dp_opts
 *   eal.c      the EAL's life cycle (once per process) and DPDK's log capture
 *   ring.c     net_ring pairs (ring=NAME:A|B)
 *   capture.c  pdump=1 and in-process pcapng capture (capture=)
 *   dpdk_buf.h how a pktbuf sits on an mbuf (shared with kni/kni_rte.c)
 *
 *   pktio_open("dpdk") -> dp_open (port.c) -> dp_parse_opts (opts.c)
 *     -> dp_eal_args, dp_eal_start_locked (eal.c) -> dp_cap_pdump_init
 *     -> dp_ring_attach_locked (ring.c) or a port by id or name
 *     -> port set-up -> dp_cap_open (capture.c)
 *   dp_rx_burst, dp_tx_burst (port.c) -> rte_eth_rx/tx_burst [-> dp_cap_*]
 *   dp_close (port.c) -> dp_cap_close, dp_ring_detach_locked,
 *     dp_eal_release_locked
 *
 * Locking: DPDK's EAL exists once per process, and so does the state around
 * it: eal.c's (EAL, log), ring.c's (ring pairs) and port.c's (open ports).
 * One mutex guards all of it (dp_eal_lock); functions named *_locked expect
 * it held. The log tail has its own lock (DPDK threads log too).
 *
 * Only the .c files of drivers/dpdk/ include this, and only with HAVE_DPDK.
 * Library code: errors go back as err strings, nothing prints or exits.
 */
#ifndef BB_DPDK_INT_H
#define BB_DPDK_INT_H

#include "drivers/opts.h"
#include "drivers/pktio.h"

#include "drivers/dpdk/dpdk_buf.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define DP_MAX_BURST 256
#define DP_XNAME (RTE_ETH_XSTATS_NAME_SIZE + 2)
#define DP_MAX_VDEV 8
#define DP_TSO_MBUFS 127 /* offloads=1 on a TSO port: 64 KiB mbufs for TSO frames (8 MiB) */
#define EAL_ARGS_MAX 2048
#define DP_RING_NAME_MAX 15 /* "net_ring_bb_" NAME "_A" fits RTE_RING_NAMESIZE */

enum dp_ctr {
    DP_RX_FRAMES, /* from rte_eth_stats */
    DP_TX_FRAMES,
    DP_RX_BYTES,
    DP_TX_BYTES,
    DP_RX_MISSED,
    DP_RX_ERRORS,
    DP_TX_ERRORS,
    DP_RX_NOMBUF,
    DP_TX_BUSY,         /* the PMD accepted fewer than offered */
    DP_TX_BAD_LEN,      /* len < 14 or past the buffer: accepted and dropped */
    DP_TX_BAD_BUF,      /* not a pktbuf of a DPDK mbuf: accepted, ignored */
    DP_TX_PREPARE_FAIL, /* rte_eth_tx_prepare refused it: accepted and dropped */
    DP_TX_SW_CSUM,      /* offload asked but not on this port: computed here */
    DP_RX_MULTISEG,     /* frame larger than one mbuf: dropped */
    DP_RX_NO_PRIV,      /* mbuf without our private area: dropped */
    DP_ALLOC_FAIL,
    DP_FREE_FOREIGN, /* free() of something that is not ours: ignored */
    DP_LINK_UP,      /* gauge */
    DP_LINK_SPEED,   /* gauge, Mbit/s */
    DP_MBUFS_IN_USE, /* gauge */
    DP_MBUFS_BASELINE, /* in use right after the port started (RX descriptors) */
    DP_OPENER_LCORE, /* gauge: lcore id of the opening thread (RTE_MAX_LCORE: none) */
    DP_TX_TSO,       /* frames sent with RTE_MBUF_F_TX_TCP_SEG (the PMD segments them) */
    DP__CTR_COUNT
};

/* The capture options (capture.c: pdump=, file_prefix=, capture*=). */
struct dp_cap_opts {
    int pdump;
    const char *file_prefix; /* default EAL's --file-prefix (pdump=1) */
    const char *path;        /* capture= */
    uint32_t snaplen;        /* capture_snaplen= (0: 128) */
    uint64_t count;          /* capture_count= (0: no bound) */
};

struct dp_cap; /* an open in-process capture (capture.c) */

/* What dp_parse_opts makes of cfg->opts (the table is in opts.c). */
struct dp_opts {
    const char *eal, *port, *log, *ring;
    const char *vdev[DP_MAX_VDEV];
    const char *extra_vdev; /* cfg->extra_vdev, or NULL */
    int nvdev, cpu, huge, offloads, keep_eal, reg;
    char ring_name[DP_RING_NAME_MAX + 1];
    int ring_end; /* 0: no ring; 1: A; 2: B */
    uint32_t mem, rxd, txd, mbufs, cache, burst, link_wait_ms;
    struct dp_cap_opts cap; /* capture.c's */
    char port_buf[96];      /* port= made from the first vdev= (extra_vdev) */
};

/* One open port. */
struct dp {
    struct pktio base; /* first */
    uint16_t port;
    uint16_t burst;
    struct rte_mempool *pool;
    struct rte_mempool *tso_pool; /* offloads=1 on a port with TCP_TSO: large mbufs, or NULL */
    uint16_t tso_hdr_mtu;         /* TSO: headers plus segment may not exceed this */
    uint32_t tx_ol; /* PKT_TX_* enabled on the port */
    int started;
    struct pktio_info info;
    uint64_t ctr[DP__CTR_COUNT];
    uint64_t sw_rx_bytes, sw_tx_bytes; /* for PMDs that count no bytes */
    int nx;                            /* xstats */
    struct rte_eth_xstat *xv;
    char (*xname)[DP_XNAME];
    struct dp_cap *cap; /* capture=, or NULL */
    int ring_slot;                     /* ring.c's pair, or -1 */
    struct rte_ring *txr;              /* ring pair: this end's TX ring (the peer's RX) */
    int ring_end;                      /* 0: A, 1: B */
    char devname[RTE_ETH_NAME_MAX_LEN]; /* the ring end's vdev, "" before it exists */
    int registered;                    /* we rte_thread_register'ed owner */
    pthread_t owner;                   /* the opening thread */
};

/* ---- opts.c ---- */

/* The options' table (pktio_dpdk_ops.opts). */
extern const struct opt_def dp_opt_defs[];
/* cfg->opts into *o: 0, or -1 and err naming the option (the known keys
 * when it is unknown). */
int dp_parse_opts(const struct pktio_config *cfg, struct dp_opts *o, char *err, size_t errlen);

/* ---- eal.c ---- */

/* The one lock of the process-wide state (see the top of this file). */
void dp_eal_lock(void);
void dp_eal_unlock(void);
/* The EAL arguments o asks for (without argv[0]) as one space-separated
 * string: eal= as is, or the defaults. 0, or -1 and err. */
int dp_eal_args(const struct dp_opts *o, char *out, size_t outlen, char *err, size_t errlen);
/* EAL up with args (rte_eal_init once per process, its output captured into
 * err on failure), or the running one shared: 0, or -1 and err. */
int dp_eal_start_locked(const struct dp_opts *o, const char *args, char *err, size_t errlen);
/* Whether EAL runs (ours, or somebody else's in this process). */
int dp_eal_running_locked(void);
/* keep_eal=1: closing the last port keeps EAL (sticky). */
void dp_eal_keep_locked(void);
int dp_eal_kept_locked(void);
/* After a failed open or a close: rte_eal_cleanup once open_ports is 0,
 * when EAL is ours and not kept. */
void dp_eal_release_locked(int open_ports);
/* DPDK's log: a mark now, and (appended to out, "; "-separated) the lines
 * worth showing that were logged since a mark. */
uint64_t dp_log_mark(void);
void dp_log_explain(uint64_t mark, char *out, size_t outlen);

/* ---- ring.c (ring=NAME:A|B) ---- */

/* Creates (first end) or attaches to (second end) the pair o->ring_name and
 * makes d's port from this end's two rings (d->port, ring_slot, ring_end,
 * devname): 0, or -1 and err. */
int dp_ring_attach_locked(struct dp *d, const struct dp_opts *o, char *err, size_t errlen);
/* This end goes (its port stopped): vdev removed, its RX ring drained, its
 * pool (d->pool, taken) kept for the peer; the pair freed with both gone. */
void dp_ring_detach_locked(struct dp *d);

/* ---- capture.c (pdump=1, capture=) ---- */

/* Options (their rows are in opts.c's table): dp_cap_prefix_check is
 * file_prefix='s check (NULL, or what is expected); dp_cap_check_opts
 * checks them against eal= (0, or -1 and err). */
const char *dp_cap_prefix_check(const char *v);
int dp_cap_check_opts(const struct dp_cap_opts *c, const char *eal_opt, char *err, size_t errlen);
/* The default EAL's --file-prefix. */
void dp_cap_file_prefix(const struct dp_cap_opts *c, char *out, size_t outlen);
/* A failed EAL init with pdump=1: rewrites err to say first what
 * multi-process needs. */
void dp_cap_eal_hint(const struct dp_cap_opts *c, char *err, size_t errlen);
/* After rte_eal_cleanup: what a shared-config EAL leaves in rundir and on
 * hugetlbfs. */
void dp_cap_eal_cleanup(const char *rundir);
/* rte_pdump_init after EAL init (idempotent): 0, or -1 and err. */
int dp_cap_pdump_init(char *err, size_t errlen);
/* capture=: 0 (*out NULL when none was asked for), or -1 and err. */
int dp_cap_open(struct dp_cap **out, const struct dp_cap_opts *o, uint16_t port, char *err,
                size_t errlen);
/* Writes what is pending and the statistics block, closes; NULL is fine. */
void dp_cap_close(struct dp_cap *c, uint16_t port);
/* Around a burst: dp_cap_copy reserves room under the count bound for the
 * n frames and copies the first *take into cp[] (tx: 0 RX, 1 TX);
 * dp_cap_write queues the copies of the first `keep` frames (those that
 * went) for the file and frees the rest. */
void dp_cap_copy(struct dp_cap *c, uint16_t port, struct rte_mbuf **mb, uint16_t n, int tx,
                 struct rte_mbuf **cp, uint16_t *take);
void dp_cap_write(struct dp_cap *c, struct rte_mbuf **cp, uint16_t take, uint16_t keep);

/* RX: copies of the n frames rte_eth_rx_burst returned (inline in
 * dp_rx_burst, as it was before the split). */
static inline void dp_cap_rx(struct dp_cap *c, uint16_t port, struct rte_mbuf **mb, uint16_t n)
{
    struct rte_mbuf *cp[DP_MAX_BURST];
    uint16_t take;
    if (!n) return;
    dp_cap_copy(c, port, mb, n, 0, cp, &take);
    dp_cap_write(c, cp, take, n);
}
/* Writes what is pending; NULL is fine. */
void dp_cap_flush(struct dp_cap *c);
/* Appends the capture counters to out[n..max); returns the new n. */
int dp_cap_counters(const struct dp_cap *c, struct netio_counter *out, int n, int max);

#endif
