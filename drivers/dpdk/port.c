/*
 * port.c — the "dpdk" pktio: pktio over a DPDK ethdev port, any PMD
 * (net_ring, net_tap, net_af_packet, net_af_xdp, PCI NICs) (DESIGN §3, §5,
 * §8). The ops table (pktio_dpdk_ops), open/close, port set-up, thread
 * registration, the burst functions and the counters; the rest of the
 * driver is in this folder (dpdk_int.h lists it). Compiles to nothing
 * without HAVE_DPDK (the Makefile defines it when libdpdk exists).
 *
 * Callers: drivers/pktio.c (the table), so drivers/ustack/ through the
 * pktio.h wrappers, kni/ (the tap and virtio-user backends open a "dpdk"
 * pktio), harness/ (doctor: probe), tests. Calls: opts.c (dp_parse_opts),
 * eal.c (dp_eal_*, dp_log_*), ring.c (ring=), capture.c (dp_cap_*),
 * rte_ethdev, rte_mbuf, rte_mempool, rte_lcore (thread registration).
 *
 *   dp_open -> dp_parse_opts -> dp_eal_args -> dp_eal_start_locked
 *     [-> dp_cap_pdump_init] -> thread_register_locked
 *     -> dp_ring_attach_locked | find_port -> port_setup -> dp_cap_open
 *   dp_rx_burst -> rte_eth_rx_burst [-> dp_cap_rx] -> dpdk_buf_of
 *   dp_tx_burst -> tx_prep (dpdk_mbuf_of, sw_csum) [-> rte_eth_tx_prepare]
 *     [-> dp_cap_copy] -> rte_eth_tx_burst [-> dp_cap_write]
 *   dp_close -> thread_release_locked -> dp_destroy (dp_cap_close,
 *     dp_ring_detach_locked) -> dp_eal_release_locked
 *
 * Port: one RX and one TX queue on a pool of mbufs; each mbuf carries its
 *     struct pktbuf in the mbuf private area (zero copy: data points at
 *     rte_pktmbuf_mtod, priv at the mbuf; the layout, shared with
 *     kni/kni_rte.c, is dpdk_buf.h). Offloads are enabled when the port has
 *     them (TX IPv4/TCP checksum -> PKT_TX_*; RX checksum flags
 *     -> PKT_RX_*_OK per frame); the stack puts the pseudo-header sum in the
 *     TCP checksum field as DPDK expects. A buffer asking for an offload the
 *     port lacks gets its checksums computed in software (tx_sw_csum).
 *     Promiscuous on; the link is waited for up to link_wait_ms.
 *     A port without a MAC address (net_ring) gets 02:62:62:00:<port>.
 *     Multi-segment RX frames (larger than one mbuf) are dropped (rx_multiseg).
 * in_use: mbufs out of the pool (rte_mempool_in_use_count), which includes
 *     those the PMD keeps in its RX descriptors: compare with a baseline.
 * Counters: rte_eth_stats as rx_frames, tx_frames, rx_bytes, ...; a PMD that
 *     counts no bytes (net_ring in 22.11) gets ours (frames through the
 *     bursts). Then our own drop reasons, link state, and up to 40 non-zero
 *     xstats named "x_<xstat>".
 * Threads: an open from a thread that is not an EAL lcore registers it
 *     (rte_thread_register) so the mempool per-lcore caches work there;
 *     close flushes that lcore's caches and unregisters it (unless another
 *     port opened by the same thread is still open). Registering disables
 *     DPDK multi-process (pdump secondaries): register=0 leaves the thread
 *     alone (it then runs without mempool caches). opener_lcore counts which.
 * Poll mode: info.fd is -1. The work/idle split of the polling loop
 *     (poll_cycles_work/idle) is the stack's (drivers/ustack/ustack.h): it
 *     times whole loop iterations, not just the rx_burst calls.
 * Options: opts.c. EAL: eal.c (once per process; the last close ends it
 *     unless keep_eal=1). Ring pairs: ring.c. Capture: capture.c.
 */
#ifdef HAVE_DPDK

#include "drivers/dpdk/dpdk_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#define DP_MAX_XSTATS 40
#define DP_ETH_HLEN 14u

/* ---- process-wide state (guarded by dp_eal_lock) ------------------------ */

/* Which ports we have open (DPDK's ports are process-wide; the EAL's own
 * state is eal.c's, the ring pairs' ring.c's). */
static struct {
    int open_ports;
    uint8_t port_open[RTE_MAX_ETHPORTS];
    struct dp *dev[RTE_MAX_ETHPORTS]; /* the open port's instance */
} ports;

/* ---- per port ------------------------------------------------------------ */

static const char *const dp_ctr_names[DP__CTR_COUNT] = {
    [DP_RX_FRAMES] = "rx_frames",
    [DP_TX_FRAMES] = "tx_frames",
    [DP_RX_BYTES] = "rx_bytes",
    [DP_TX_BYTES] = "tx_bytes",
    [DP_RX_MISSED] = "rx_missed",
    [DP_RX_ERRORS] = "rx_errors",
    [DP_TX_ERRORS] = "tx_errors",
    [DP_RX_NOMBUF] = "rx_nombuf",
    [DP_TX_BUSY] = "tx_busy",
    [DP_TX_BAD_LEN] = "tx_bad_len",
    [DP_TX_BAD_BUF] = "tx_bad_buf",
    [DP_TX_PREPARE_FAIL] = "tx_prepare_fail",
    [DP_TX_SW_CSUM] = "tx_sw_csum",
    [DP_TX_TSO] = "tx_tso",
    [DP_RX_MULTISEG] = "rx_multiseg",
    [DP_RX_NO_PRIV] = "rx_no_priv",
    [DP_ALLOC_FAIL] = "alloc_fail",
    [DP_FREE_FOREIGN] = "free_foreign",
    [DP_LINK_UP] = "link_up",
    [DP_LINK_SPEED] = "link_speed_mbps",
    [DP_MBUFS_IN_USE] = "mbufs_in_use",
    [DP_MBUFS_BASELINE] = "mbufs_baseline",
    [DP_OPENER_LCORE] = "opener_lcore",
};

extern const struct pktio_ops pktio_dpdk_ops;

static struct dp *dp_of(struct pktio *p)
{
    return (struct dp *)p;
}

/* ---- port ------------------------------------------------------------------ */

static int find_port(const char *spec, uint16_t *port, char *err, size_t errlen)
{
    uint64_t x;
    int ok = spec ? (opts_uint(spec, 0, RTE_MAX_ETHPORTS - 1, &x) == 0 &&
                     rte_eth_dev_is_valid_port((uint16_t)x))
                  : rte_eth_dev_is_valid_port(0);
    if (ok) {
        *port = spec ? (uint16_t)x : 0;
        return 0;
    }
    if (spec && rte_eth_dev_get_port_by_name(spec, port) == 0) return 0;
    char have[160] = "";
    uint16_t pid;
    RTE_ETH_FOREACH_DEV(pid)
    {
        char name[RTE_ETH_NAME_MAX_LEN];
        if (rte_eth_dev_get_name_by_port(pid, name) != 0) name[0] = '\0';
        size_t n = strlen(have);
        snprintf(have + n, sizeof(have) - n, "%s%u=%s", n ? ", " : "", pid, name);
    }
    snprintf(err, errlen, "dpdk: no port '%s' (%u ports%s%s%s)", spec ? spec : "0",
             rte_eth_dev_count_avail(), *have ? ": " : "", have,
             *have ? "" : "; add one with vdev=, e.g. vdev=net_ring0");
    return -1;
}

/* ---- threads ------------------------------------------------------------------ */

static void cache_flush_cb(struct rte_mempool *mp, void *arg)
{
    struct rte_mempool_cache *c = rte_mempool_default_cache(mp, *(unsigned *)arg);
    if (c) rte_mempool_cache_flush(c, mp);
}

/* The opening thread's lcore: registered when it has none (and reg=1). */
static void thread_register_locked(struct dp *d, int reg)
{
    d->owner = pthread_self();
    if (rte_lcore_id() == LCORE_ID_ANY && reg && rte_thread_register() == 0) d->registered = 1;
    unsigned lc = rte_lcore_id();
    d->ctr[DP_OPENER_LCORE] = lc == LCORE_ID_ANY ? RTE_MAX_LCORE : lc;
}

/* Undo thread_register_locked from the owner thread, unless another open
 * port of the same thread still needs the lcore (it inherits it). */
static void thread_release_locked(struct dp *d)
{
    if (!d->registered || !pthread_equal(d->owner, pthread_self())) return;
    for (int p = 0; p < RTE_MAX_ETHPORTS; p++) {
        struct dp *o = ports.dev[p];
        if (o && o != d && pthread_equal(o->owner, d->owner)) {
            o->registered = 1;
            d->registered = 0;
            return;
        }
    }
    unsigned lc = rte_lcore_id();
    rte_mempool_walk(cache_flush_cb, &lc);
    rte_thread_unregister();
    d->registered = 0;
}

static void wait_link(struct dp *d, uint32_t ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    for (uint32_t waited = 0;; waited += 10) {
        struct rte_eth_link link;
        memset(&link, 0, sizeof(link));
        if (rte_eth_link_get_nowait(d->port, &link) == 0 && link.link_status) return;
        if (waited >= ms) return;
        nanosleep(&ts, NULL);
    }
}

#define PORT_TRY(call, what)                                                                       \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ < 0) {                                                                             \
            snprintf(err, errlen, "dpdk: port %u (%s): %s: %s", d->port, dinfo.driver_name, what,  \
                     rte_strerror(-rc_));                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* Pool, configure, queues, offloads, promiscuous, start, link: any PMD. */
static int port_setup(struct dp *d, const struct dp_opts *o, char *err, size_t errlen)
{
    struct rte_eth_dev_info dinfo;
    memset(&dinfo, 0, sizeof(dinfo));
    dinfo.driver_name = "?";
    PORT_TRY(rte_eth_dev_info_get(d->port, &dinfo), "rte_eth_dev_info_get");
    int socket = rte_eth_dev_socket_id(d->port);
    if (socket < 0) socket = (int)SOCKET_ID_ANY;

    char pname[RTE_MEMPOOL_NAMESIZE];
    snprintf(pname, sizeof(pname), "bb_p%u", d->port);
    d->pool = rte_pktmbuf_pool_create(pname, o->mbufs, o->cache, DPDK_BUF_PRIV_SIZE,
                                      DPDK_BUF_DATA_ROOM, socket);
    if (!d->pool) {
        snprintf(err, errlen, "dpdk: port %u: mempool of %u mbufs: %s (more memory: mem= or -m)",
                 d->port, o->mbufs, rte_strerror(rte_errno));
        return -1;
    }

    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    uint32_t offl = 0;
    if (o->offloads) {
        if (dinfo.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
            offl |= PKT_TX_IP_CSUM;
        }
        if (dinfo.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) {
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
            offl |= PKT_TX_L4_CSUM;
        }
        if (dinfo.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
            offl |= PKT_RX_IP_CSUM_OK;
        }
        if (dinfo.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
            offl |= PKT_RX_L4_CSUM_OK;
        }
        /* TSO where the port has it with both checksums: frames up to 64 KiB
         * in mbufs of their own (one segment each); without the pool, none */
        uint64_t tso_need = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                            RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
        if ((dinfo.tx_offload_capa & tso_need) == tso_need) {
            snprintf(pname, sizeof(pname), "bb_t%u", d->port);
            d->tso_pool = rte_pktmbuf_pool_create(pname, DP_TSO_MBUFS, 0, DPDK_BUF_PRIV_SIZE,
                                                  UINT16_MAX, socket);
            if (d->tso_pool) {
                conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
                offl |= PKT_TX_TSO;
                d->info.tso_max = UINT16_MAX - RTE_PKTMBUF_HEADROOM;
            }
        }
    }
    PORT_TRY(rte_eth_dev_configure(d->port, 1, 1, &conf),
             "rte_eth_dev_configure (1 RX, 1 TX queue)");
    uint16_t rxd = (uint16_t)(o->rxd > UINT16_MAX ? UINT16_MAX : o->rxd);
    uint16_t txd = (uint16_t)(o->txd > UINT16_MAX ? UINT16_MAX : o->txd);
    PORT_TRY(rte_eth_dev_adjust_nb_rx_tx_desc(d->port, &rxd, &txd), "adjusting rxd/txd");
    PORT_TRY(rte_eth_rx_queue_setup(d->port, 0, rxd, (unsigned)socket, NULL, d->pool),
             "RX queue setup");
    PORT_TRY(rte_eth_tx_queue_setup(d->port, 0, txd, (unsigned)socket, NULL), "TX queue setup");
    int rc = rte_eth_promiscuous_enable(d->port);
    if (rc < 0 && rc != -ENOTSUP) PORT_TRY(rc, "promiscuous mode");
    PORT_TRY(rte_eth_dev_start(d->port), "rte_eth_dev_start");
    d->started = 1;
    d->ctr[DP_MBUFS_BASELINE] = rte_mempool_in_use_count(d->pool);
    wait_link(d, o->link_wait_ms);

    struct rte_ether_addr mac;
    PORT_TRY(rte_eth_macaddr_get(d->port, &mac), "rte_eth_macaddr_get");
    if (rte_is_zero_ether_addr(&mac)) { /* net_ring has none: a local one, per port */
        struct rte_ether_addr la = {
            {0x02, 0x62, 0x62, 0x00, (uint8_t)(d->port >> 8), (uint8_t)d->port}};
        (void)rte_eth_dev_default_mac_addr_set(d->port, &la);
        mac = la;
    }
    memcpy(d->info.mac, mac.addr_bytes, 6);
    uint16_t mtu = RTE_ETHER_MTU;
    if (rte_eth_dev_get_mtu(d->port, &mtu) < 0) mtu = RTE_ETHER_MTU;
    uint16_t max_mtu = PKTIO_MAX_FRAME - DP_ETH_HLEN - 4;
    d->info.mtu = mtu > max_mtu ? max_mtu : mtu;
    d->info.offloads = offl;
    /* net_tap (22.11) counts the Ethernet header against the MTU when it
     * checks a TSO segment's size; a NIC counts IP and TCP only */
    d->tso_hdr_mtu = (uint16_t)(d->info.mtu + (strcmp(dinfo.driver_name, "net_tap") == 0 ? 0
                                                                                     : DP_ETH_HLEN));
    d->info.fd = -1;
    /* net_ring's TX is a ring enqueue: small bursts let the peer start early;
     * other PMDs may pay a syscall (af_packet, tap) or a doorbell per burst */
    d->info.tx_burst = strcmp(dinfo.driver_name, "net_ring") == 0 ? 8 : 0;
    d->tx_ol = offl & (PKT_TX_IP_CSUM | PKT_TX_L4_CSUM);

    int nx = rte_eth_xstats_get_names(d->port, NULL, 0);
    if (nx > 0) {
        struct rte_eth_xstat_name *names = calloc((size_t)nx, sizeof(*names));
        d->xv = calloc((size_t)nx, sizeof(*d->xv));
        d->xname = calloc((size_t)nx, sizeof(*d->xname));
        if (!names || !d->xv || !d->xname) {
            free(names);
            snprintf(err, errlen, "dpdk: out of memory for %d xstats", nx);
            return -1;
        }
        int got = rte_eth_xstats_get_names(d->port, names, (unsigned)nx);
        d->nx = got < 0 ? 0 : got < nx ? got : nx;
        for (int i = 0; i < d->nx; i++)
            snprintf(d->xname[i], DP_XNAME, "x_%s", names[i].name);
        free(names);
    }
    return 0;
}

/* keep_port: stop it only, so a later open in this process can take it
 * again (rte_eth_dev_close releases the port for good). */
static void dp_destroy(struct dp *d, int keep_port)
{
    dp_cap_close(d->cap, d->port); /* before the port stops: its statistics block */
    d->cap = NULL;
    if (d->started) rte_eth_dev_stop(d->port);
    if (d->ring_slot >= 0)
        dp_ring_detach_locked(d); /* takes d->pool */
    else if (d->started && !keep_port)
        rte_eth_dev_close(d->port);
    rte_mempool_free(d->pool); /* NULL is fine */
    rte_mempool_free(d->tso_pool);
    free(d->xv);
    free(d->xname);
    free(d);
}

/* ---- open / close / probe ------------------------------------------------ */

static int dp_probe(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return 0; /* built in; --no-huge needs neither hugepages nor root for vdevs */
}

static struct pktio *dp_open(const struct pktio_config *cfg, char *err, size_t errlen)
{
    static const struct pktio_config none = {0};
    struct dp_opts o;
    char args[EAL_ARGS_MAX];
    if (!cfg) cfg = &none;
    if (dp_parse_opts(cfg, &o, err, errlen) < 0 ||
        dp_eal_args(&o, args, sizeof(args), err, errlen) < 0)
        return NULL;
    struct dp *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "dpdk: out of memory");
        return NULL;
    }
    d->base.ops = &pktio_dpdk_ops;
    d->burst = (uint16_t)o.burst;
    d->ring_slot = -1;

    dp_eal_lock();
    if (dp_eal_start_locked(&o, args, err, errlen) < 0) {
        dp_cap_eal_hint(&o.cap, err, errlen);
        goto fail;
    }
    if (o.cap.pdump && dp_cap_pdump_init(err, errlen) < 0) goto fail;
    if (o.keep_eal) dp_eal_keep_locked();
    thread_register_locked(d, o.reg);
    if (o.ring_end) {
        if (dp_ring_attach_locked(d, &o, err, errlen) < 0) goto fail;
    } else if (find_port(o.port, &d->port, err, errlen) < 0) {
        goto fail;
    }
    if (ports.port_open[d->port]) {
        snprintf(err, errlen, "dpdk: port %u is already open in this process", d->port);
        goto fail;
    }
    uint64_t mark = dp_log_mark();
    if (port_setup(d, &o, err, errlen) < 0) {
        char why[256] = "";
        dp_log_explain(mark, why, sizeof(why));
        size_t n = strlen(err);
        if (*why && n + 16 < errlen) snprintf(err + n, errlen - n, " (DPDK said: %s)", why);
        goto fail;
    }
    if (dp_cap_open(&d->cap, &o.cap, d->port, err, errlen) < 0) goto fail;
    ports.port_open[d->port] = 1;
    ports.dev[d->port] = d;
    ports.open_ports++;
    dp_eal_unlock();
    return &d->base;
fail:
    if (dp_eal_running_locked()) thread_release_locked(d);
    dp_destroy(d, dp_eal_kept_locked());
    dp_eal_release_locked(ports.open_ports);
    dp_eal_unlock();
    return NULL;
}

/* All buffers must have been given back before close. */
static void dp_close(struct pktio *p)
{
    struct dp *d = dp_of(p);
    dp_eal_lock();
    uint16_t port = d->port;
    ports.dev[port] = NULL;
    thread_release_locked(d);
    dp_destroy(d, dp_eal_kept_locked());
    ports.port_open[port] = 0;
    ports.open_ports--;
    dp_eal_release_locked(ports.open_ports);
    dp_eal_unlock();
}

/* ---- bursts ------------------------------------------------------------------ */

static uint32_t rx_flags(uint64_t f)
{
    uint32_t o = 0;
    if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD) o |= PKT_RX_IP_CSUM_OK;
    if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD) o |= PKT_RX_L4_CSUM_OK;
    return o;
}

static uint16_t dp_rx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct dp *d = dp_of(p);
    struct rte_mbuf *mb[DP_MAX_BURST];
    uint16_t got = 0;
    while (got < n) {
        uint16_t want = (uint16_t)(n - got) < d->burst ? (uint16_t)(n - got) : d->burst;
        uint16_t r = rte_eth_rx_burst(d->port, 0, mb, want);
        if (d->cap) dp_cap_rx(d->cap, d->port, mb, r);
        for (uint16_t i = 0; i < r; i++) {
            struct rte_mbuf *m = mb[i];
            if (m->nb_segs != 1 || m->priv_size < DPDK_BUF_PRIV_SIZE) {
                d->ctr[m->nb_segs != 1 ? DP_RX_MULTISEG : DP_RX_NO_PRIV]++;
                rte_pktmbuf_free(m);
                continue;
            }
            struct pktbuf *b = dpdk_buf_of(m);
            b->len = m->data_len;
            b->ol_flags = rx_flags(m->ol_flags);
            d->sw_rx_bytes += b->len;
            bufs[got++] = b;
        }
        if (r < want) break;
    }
    return got;
}

/* Software checksums for a buffer asking for an offload the port lacks. */
static int sw_csum(struct pktbuf *b, uint32_t need)
{
    if (b->l2_len + b->l3_len + 20u > b->len || b->l3_len < 20) return -1;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b->data + b->l2_len);
    if (need & PKT_TX_IP_CSUM) {
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    if (need & PKT_TX_L4_CSUM) {
        uint16_t *ck = (uint16_t *)(b->data + b->l2_len + b->l3_len + 16);
        *ck = 0;
        *ck = rte_ipv4_udptcp_cksum(ip, b->data + b->l2_len + b->l3_len);
    }
    return 0;
}

enum tx_prep { TXP_OK, TXP_DROP, TXP_FOREIGN };

/* pktbuf -> mbuf fields (length, data offset, offload flags). */
static enum tx_prep tx_prep(struct dp *d, struct pktbuf *b, struct rte_mbuf **out)
{
    struct rte_mbuf *m = dpdk_mbuf_of(b);
    if (!m) {
        d->ctr[DP_TX_BAD_BUF]++;
        return TXP_FOREIGN;
    }
    *out = m;
    uint8_t *base = m->buf_addr;
    if (b->data < base || b->data > base + m->buf_len || b->len < DP_ETH_HLEN ||
        b->len > (uint32_t)(base + m->buf_len - b->data)) {
        d->ctr[DP_TX_BAD_LEN]++;
        return TXP_DROP;
    }
    dpdk_buf_to_mbuf(m, b);
    if (b->ol_flags & PKT_TX_TSO) { /* (only buffers from dp_alloc_tso: the port has TSO) */
        uint32_t hdrs = (uint32_t)b->l2_len + b->l3_len + b->l4_len;
        if (!d->tso_pool || b->l3_len < 20 || b->l4_len < 20 || hdrs >= b->len ||
            hdrs >= d->tso_hdr_mtu) {
            d->ctr[DP_TX_BAD_LEN]++;
            return TXP_DROP;
        }
        m->l2_len = b->l2_len;
        m->l3_len = b->l3_len;
        m->l4_len = b->l4_len;
        m->tso_segsz = b->tso_segsz + hdrs > d->tso_hdr_mtu ? (uint16_t)(d->tso_hdr_mtu - hdrs)
                                                            : b->tso_segsz;
        m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM |
                      RTE_MBUF_F_TX_TCP_SEG;
        /* DPDK's convention: IP checksum 0, TCP's the pseudo-header sum
         * without the length */
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b->data + b->l2_len);
        struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + b->l3_len);
        ip->hdr_checksum = 0;
        th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
        d->ctr[DP_TX_TSO]++;
        return TXP_OK;
    }
    uint32_t want = b->ol_flags & (PKT_TX_IP_CSUM | PKT_TX_L4_CSUM);
    if (want & ~d->tx_ol) {
        if (sw_csum(b, want & ~d->tx_ol) < 0) {
            d->ctr[DP_TX_BAD_LEN]++;
            return TXP_DROP;
        }
        d->ctr[DP_TX_SW_CSUM]++;
        want &= d->tx_ol;
    }
    if (want) {
        m->l2_len = b->l2_len;
        m->l3_len = b->l3_len;
        m->ol_flags = RTE_MBUF_F_TX_IPV4;
        if (want & PKT_TX_IP_CSUM) m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
        if (want & PKT_TX_L4_CSUM) m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    }
    return TXP_OK;
}

static uint16_t dp_tx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct dp *d = dp_of(p);
    struct rte_mbuf *mb[DP_MAX_BURST];
    uint16_t i = 0;
    while (i < n) {
        /* A run of good buffers, stopped by a bad one or the burst size. */
        uint16_t k = 0;
        enum tx_prep bad = TXP_OK;
        struct rte_mbuf *badm = NULL;
        while (k < d->burst && i + k < n) {
            struct rte_mbuf *m = NULL;
            enum tx_prep t = tx_prep(d, bufs[i + k], &m);
            if (t != TXP_OK) {
                bad = t;
                badm = m;
                break;
            }
            mb[k++] = m;
        }
        if (k && d->tx_ol) {
            uint16_t ok = rte_eth_tx_prepare(d->port, 0, mb, k);
            if (ok < k) {
                d->ctr[DP_TX_PREPARE_FAIL]++;
                bad = TXP_DROP;
                badm = mb[ok];
                k = ok;
            }
        }
        struct rte_mbuf *cp[DP_MAX_BURST];
        uint16_t cap_take = 0;
        if (d->cap && k) dp_cap_copy(d->cap, d->port, mb, k, 1, cp, &cap_take);
        uint16_t sent = k ? rte_eth_tx_burst(d->port, 0, mb, k) : 0;
        if (d->cap && k) dp_cap_write(d->cap, cp, cap_take, sent);
        for (uint16_t j = 0; j < sent; j++)
            d->sw_tx_bytes += bufs[i + j]->len;
        i = (uint16_t)(i + sent);
        if (sent < k) {
            d->ctr[DP_TX_BUSY]++;
            return i;
        }
        if (bad != TXP_OK) { /* accepted and dropped */
            if (bad == TXP_DROP) rte_pktmbuf_free(badm);
            i++;
        }
    }
    return i;
}

/* A buffer from pool (NULL, counted, when it is empty or absent). */
static struct pktbuf *pool_buf(struct dp *d, struct rte_mempool *pool)
{
    struct rte_mbuf *m = pool ? rte_pktmbuf_alloc(pool) : NULL;
    if (!m) {
        d->ctr[DP_ALLOC_FAIL]++;
        return NULL;
    }
    struct pktbuf *b = dpdk_buf_of(m);
    b->len = 0;
    b->ol_flags = 0;
    return b;
}

static struct pktbuf *dp_alloc(struct pktio *p)
{
    struct dp *d = dp_of(p);
    return pool_buf(d, d->pool);
}

/* TSO: a 64 KiB mbuf from the TSO pool (only where the port offers TSO). */
static struct pktbuf *dp_alloc_tso(struct pktio *p)
{
    struct dp *d = dp_of(p);
    return pool_buf(d, d->tso_pool);
}

static void dp_free(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct dp *d = dp_of(p);
    struct rte_mbuf *mb[64];
    unsigned k = 0;
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = dpdk_mbuf_of(bufs[i]);
        if (!m) {
            d->ctr[DP_FREE_FOREIGN]++;
            continue;
        }
        mb[k++] = m;
        if (k == 64) {
            rte_pktmbuf_free_bulk(mb, k);
            k = 0;
        }
    }
    if (k) rte_pktmbuf_free_bulk(mb, k);
}

static void dp_info(struct pktio *p, struct pktio_info *out)
{
    *out = dp_of(p)->info;
}

static int dp_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct dp *d = dp_of(p);
    struct rte_eth_stats st;
    if (rte_eth_stats_get(d->port, &st) == 0) {
        d->ctr[DP_RX_FRAMES] = st.ipackets;
        d->ctr[DP_TX_FRAMES] = st.opackets;
        d->ctr[DP_RX_BYTES] = st.ibytes ? st.ibytes : d->sw_rx_bytes;
        d->ctr[DP_TX_BYTES] = st.obytes ? st.obytes : d->sw_tx_bytes;
        d->ctr[DP_RX_MISSED] = st.imissed;
        d->ctr[DP_RX_ERRORS] = st.ierrors;
        d->ctr[DP_TX_ERRORS] = st.oerrors;
        d->ctr[DP_RX_NOMBUF] = st.rx_nombuf;
    }
    struct rte_eth_link link;
    memset(&link, 0, sizeof(link));
    if (rte_eth_link_get_nowait(d->port, &link) == 0) {
        d->ctr[DP_LINK_UP] = link.link_status;
        d->ctr[DP_LINK_SPEED] = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
    }
    d->ctr[DP_MBUFS_IN_USE] = rte_mempool_in_use_count(d->pool);
    int n = 0;
    for (int i = 0; i < DP__CTR_COUNT && n < max; i++) {
        out[n].name = dp_ctr_names[i];
        out[n].value = d->ctr[i];
        n++;
    }
    int got = d->nx ? rte_eth_xstats_get(d->port, d->xv, (unsigned)d->nx) : 0;
    if (got > d->nx) got = d->nx;
    for (int i = 0, x = 0; i < got && x < DP_MAX_XSTATS && n < max; i++) {
        if (!d->xv[i].value || d->xv[i].id >= (uint64_t)d->nx) continue;
        out[n].name = d->xname[d->xv[i].id];
        out[n].value = d->xv[i].value;
        n++;
        x++;
    }
    dp_cap_flush(d->cap); /* capture_frames: what the file holds now */
    return dp_cap_counters(d->cap, out, n, max);
}

static uint32_t dp_in_use(struct pktio *p)
{
    return rte_mempool_in_use_count(dp_of(p)->pool);
}

/* A ring pair's end: what waits in its TX ring, which the peer's RX takes
 * from (net_ring's TX is that enqueue); -1 for other PMDs. */
static int64_t dp_tx_pending(struct pktio *p)
{
    struct dp *d = dp_of(p);
    return d->txr ? (int64_t)rte_ring_count(d->txr) : -1;
}

const struct pktio_ops pktio_dpdk_ops = {
    .name = "dpdk",
    .help = "DPDK ethdev on any PMD (vdev=net_ring0, vdev=net_tap0,iface=X, ring=NAME:A|B, or eal=...): "
            "zero-copy mbufs, checksum offloads when the port has them",
    .opts = dp_opt_defs,
    .probe = dp_probe,
    .open = dp_open,
    .close = dp_close,
    .rx_burst = dp_rx_burst,
    .tx_burst = dp_tx_burst,
    .alloc = dp_alloc,
    .alloc_tso = dp_alloc_tso,
    .free = dp_free,
    .info = dp_info,
    .counters = dp_counters,
    .in_use = dp_in_use,
    .tx_pending = dp_tx_pending,
};

#endif /* HAVE_DPDK */
