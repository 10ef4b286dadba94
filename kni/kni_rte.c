/*
 * kni_rte.c — the "rte_kni" exception-path backend: a KNI interface
 * (rte_kni_alloc) as a pktio. Compiled only with HAVE_RTE_KNI (make kni-lib,
 * then make KNI=1: Debian's DPDK 22.11 is built without librte_kni, so the
 * Makefile builds lib/kni from Debian's own dpdk source package). At run
 * time it needs /dev/kni (rte_kni.ko loaded) and EAL with IOVA as PA
 * (hugepages). No vdev: the interface comes from the kernel module.
 *
 * Buffers are mbufs carrying their struct pktbuf in the private area, laid
 * out as the "dpdk" pktio's (drivers/dpdk/dpdk_buf.h), so the wrapper
 * sends them on the data port without a copy and vice versa. KNI requests
 * (link up, MTU, MAC) are answered in rx_burst and, while the interface is
 * being configured, by the opening thread.
 *
 * Callers: kni/exc_backend.c (table). Calls: rte_kni, rte_mbuf (the shared
 * layout: drivers/dpdk/dpdk_buf.h), exc_iface_setup (exc_iface.c).
 */
#if defined(HAVE_DPDK) && defined(HAVE_RTE_KNI)
#include "kni/exc.h"

#include "drivers/dpdk/dpdk_buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_kni.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define KP_MBUFS 4095
#define KP_MAX_BURST 64

enum kp_ctr { KP_RX_FRAMES, KP_TX_FRAMES, KP_TX_FULL, KP_TX_BAD_BUF, KP_RX_NO_PRIV, KP_ALLOC_FAIL,
              KP__COUNT };
static const char *const kp_names[KP__COUNT] = {
    [KP_RX_FRAMES] = "kni_rx_frames", [KP_TX_FRAMES] = "kni_tx_frames",
    [KP_TX_FULL] = "kni_tx_full",     [KP_TX_BAD_BUF] = "kni_tx_bad_buf",
    [KP_RX_NO_PRIV] = "kni_rx_no_priv", [KP_ALLOC_FAIL] = "kni_alloc_fail",
};

struct kp {
    struct pktio base; /* first */
    struct rte_kni *kni;
    struct rte_mempool *pool;
    uint64_t ctr[KP__COUNT];
};

static const struct pktio_ops kp_ops;

static struct kp *kp_of(struct pktio *p)
{
    return (struct kp *)p;
}

static uint16_t kp_rx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct kp *k = kp_of(p);
    struct rte_mbuf *mb[KP_MAX_BURST];
    rte_kni_handle_request(k->kni);
    unsigned got = rte_kni_rx_burst(k->kni, mb, n < KP_MAX_BURST ? n : KP_MAX_BURST);
    uint16_t out = 0;
    for (unsigned i = 0; i < got; i++) {
        if (mb[i]->priv_size < DPDK_BUF_PRIV_SIZE || mb[i]->nb_segs != 1) {
            k->ctr[KP_RX_NO_PRIV]++;
            rte_pktmbuf_free(mb[i]);
            continue;
        }
        struct pktbuf *b = dpdk_buf_of(mb[i]);
        b->len = mb[i]->data_len;
        b->ol_flags = 0;
        bufs[out++] = b;
    }
    k->ctr[KP_RX_FRAMES] += out;
    return out;
}

static uint16_t kp_tx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct kp *k = kp_of(p);
    struct rte_mbuf *mb[KP_MAX_BURST];
    uint16_t i = 0;
    while (i < n) {
        unsigned c = 0;
        while (c < KP_MAX_BURST && i + c < n) {
            struct rte_mbuf *m = dpdk_mbuf_of(bufs[i + c]);
            if (!m) break;
            dpdk_buf_to_mbuf(m, bufs[i + c]);
            mb[c++] = m;
        }
        unsigned sent = c ? rte_kni_tx_burst(k->kni, mb, c) : 0;
        k->ctr[KP_TX_FRAMES] += sent;
        i = (uint16_t)(i + sent);
        if (sent < c) {
            k->ctr[KP_TX_FULL]++;
            return i;
        }
        if (i < n && !dpdk_mbuf_of(bufs[i])) { /* not an mbuf: accepted and ignored */
            k->ctr[KP_TX_BAD_BUF]++;
            i++;
        }
    }
    return i;
}

static struct pktbuf *kp_alloc(struct pktio *p)
{
    struct kp *k = kp_of(p);
    struct rte_mbuf *m = rte_pktmbuf_alloc(k->pool);
    if (!m) {
        k->ctr[KP_ALLOC_FAIL]++;
        return NULL;
    }
    struct pktbuf *b = dpdk_buf_of(m);
    b->len = 0;
    b->ol_flags = 0;
    return b;
}

static void kp_free(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    (void)p;
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = dpdk_mbuf_of(bufs[i]);
        if (m) rte_pktmbuf_free(m);
    }
}

static void kp_info(struct pktio *p, struct pktio_info *out)
{
    (void)p;
    memset(out, 0, sizeof(*out));
    out->mtu = RTE_ETHER_MTU;
    out->fd = -1;
}

static int kp_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct kp *k = kp_of(p);
    int n = 0;
    for (int i = 0; i < KP__COUNT && n < max; i++)
        out[n++] = (struct netio_counter){kp_names[i], k->ctr[i]};
    return n;
}

static uint32_t kp_in_use(struct pktio *p)
{
    return rte_mempool_in_use_count(kp_of(p)->pool);
}

static void kp_close(struct pktio *p)
{
    struct kp *k = kp_of(p);
    if (k->kni) rte_kni_release(k->kni);
    rte_mempool_free(k->pool);
    free(k);
}

static const struct pktio_ops kp_ops = {
    .name = "rte_kni",
    .help = "a KNI interface (rte_kni.ko)",
    .close = kp_close,
    .rx_burst = kp_rx_burst,
    .tx_burst = kp_tx_burst,
    .alloc = kp_alloc,
    .free = kp_free,
    .info = kp_info,
    .counters = kp_counters,
    .in_use = kp_in_use,
};

/* KNI requests from the kernel: accept link and MTU changes. */
static int kni_mtu(uint16_t port, unsigned mtu)
{
    (void)port;
    (void)mtu;
    return 0;
}
static int kni_link(uint16_t port, uint8_t up)
{
    (void)port;
    (void)up;
    return 0;
}
static int kni_mac(uint16_t port, uint8_t mac[])
{
    (void)port;
    (void)mac;
    return 0;
}

/* The interface set-up waits for KNI requests the opening thread answers. */
struct setup_job {
    const struct exc_params *p;
    char err[256];
    int rc;
    atomic_int done;
};

static void *setup_thread(void *arg)
{
    struct setup_job *j = arg;
    j->rc = exc_iface_setup(j->p->iface, j->p->mac, j->p->ip, j->p->prefix_len, j->err,
                            sizeof(j->err));
    atomic_store(&j->done, 1);
    return NULL;
}

static int rk_usable(char *why, size_t whylen)
{
    if (access("/dev/kni", R_OK | W_OK) < 0) {
        snprintf(why, whylen, "/dev/kni: %s (rte_kni.ko not loaded)", strerror(errno));
        return -1;
    }
    return 0;
}

static int rk_vdev(const char *iface, char *out, size_t outlen)
{
    (void)iface;
    if (outlen) out[0] = '\0';
    return 0;
}

static struct pktio *rk_open(const struct exc_params *p, char *err, size_t errlen)
{
    if (rte_eal_iova_mode() != RTE_IOVA_PA) {
        snprintf(err, errlen, "rte_kni: needs IOVA as PA (hugepages, huge=1 and root)");
        return NULL;
    }
    if (rte_kni_init(1) < 0) {
        snprintf(err, errlen, "rte_kni: rte_kni_init: %s", rte_strerror(rte_errno));
        return NULL;
    }
    struct kp *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "rte_kni: out of memory");
        return NULL;
    }
    k->base.ops = &kp_ops;
    k->pool = rte_pktmbuf_pool_create("bb_kni", KP_MBUFS, 256, DPDK_BUF_PRIV_SIZE,
                                      DPDK_BUF_DATA_ROOM, SOCKET_ID_ANY);
    if (!k->pool) {
        snprintf(err, errlen, "rte_kni: mempool: %s", rte_strerror(rte_errno));
        kp_close(&k->base);
        return NULL;
    }
    struct rte_kni_conf conf;
    memset(&conf, 0, sizeof(conf));
    snprintf(conf.name, sizeof(conf.name), "%s", p->iface);
    conf.group_id = 0;
    conf.mbuf_size = DPDK_BUF_DATA_ROOM;
    memcpy(conf.mac_addr, p->mac, 6);
    conf.mtu = RTE_ETHER_MTU;
    conf.min_mtu = RTE_ETHER_MIN_MTU;
    conf.max_mtu = RTE_ETHER_MTU;
    struct rte_kni_ops ops;
    memset(&ops, 0, sizeof(ops));
    ops.port_id = 0;
    ops.change_mtu = kni_mtu;
    ops.config_network_if = kni_link;
    ops.config_mac_address = kni_mac;
    k->kni = rte_kni_alloc(k->pool, &conf, &ops);
    if (!k->kni) {
        snprintf(err, errlen, "rte_kni: rte_kni_alloc(%s) failed", p->iface);
        kp_close(&k->base);
        return NULL;
    }
    struct setup_job j = {.p = p};
    pthread_t t;
    if (pthread_create(&t, NULL, setup_thread, &j) != 0) {
        snprintf(err, errlen, "rte_kni: cannot start the set-up thread");
        kp_close(&k->base);
        return NULL;
    }
    while (!atomic_load(&j.done)) {
        rte_kni_handle_request(k->kni);
        usleep(1000);
    }
    pthread_join(t, NULL);
    if (j.rc < 0) {
        snprintf(err, errlen, "rte_kni: %s", j.err);
        kp_close(&k->base);
        return NULL;
    }
    return &k->base;
}

const struct exc_backend_ops exc_rte_kni_ops = {
    .name = "rte_kni",
    .help = "KNI interface via rte_kni.ko (/dev/kni; DPDK <= 23.07 built with KNI)",
    .usable = rk_usable,
    .vdev = rk_vdev,
    .open = rk_open,
};
#endif
