/*
 * dpdk_buf.h — how a struct pktbuf maps onto an rte_mbuf, the one layout
 * shared by every pktio whose buffers are mbufs, so that a buffer of one
 * can be sent on another without a copy (the exception path hands frames
 * between the data port and a KNI interface this way).
 *
 *   rte_mbuf | struct pktbuf (the mbuf private area) | headroom | frame
 *
 * The pool is made with DPDK_BUF_PRIV_SIZE as its private size and
 * DPDK_BUF_DATA_ROOM as its data room; pktbuf.data points at
 * rte_pktmbuf_mtod, pktbuf.priv at the mbuf (which is how dpdk_mbuf_of tells
 * our buffers from foreign ones).
 *
 * Callers: drivers/dpdk/port.c (the "dpdk" pktio), kni/kni_rte.c (the
 * "rte_kni" backend). Calls: rte_mbuf (inline only). Include only where
 * HAVE_DPDK is defined.
 */
#ifndef BB_DPDK_BUF_H
#define BB_DPDK_BUF_H

#include "drivers/pktio.h"

#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#define DPDK_BUF_PRIV_SIZE RTE_ALIGN(sizeof(struct pktbuf), RTE_MBUF_PRIV_ALIGN)
#define DPDK_BUF_DATA_ROOM (RTE_PKTMBUF_HEADROOM + PKTIO_MAX_FRAME)

/* The pktbuf of an mbuf of such a pool (m->priv_size >= DPDK_BUF_PRIV_SIZE),
 * pointing at its data: data, cap, priv set, l2_len and l3_len cleared; len
 * and ol_flags are the caller's to set. */
static inline struct pktbuf *dpdk_buf_of(struct rte_mbuf *m)
{
    struct pktbuf *b = rte_mbuf_to_priv(m);
    b->data = rte_pktmbuf_mtod(m, uint8_t *);
    b->cap = (uint32_t)(m->buf_len - m->data_off);
    b->l2_len = b->l3_len = 0;
    b->priv = m;
    return b;
}

/* The mbuf behind a pktbuf, or NULL when b is not one of ours. */
static inline struct rte_mbuf *dpdk_mbuf_of(struct pktbuf *b)
{
    if (!b) return NULL;
    struct rte_mbuf *m = (struct rte_mbuf *)((uint8_t *)b - sizeof(struct rte_mbuf));
    return b->priv == m ? m : NULL;
}

/* pktbuf -> mbuf for TX: data offset and lengths from b (which the caller
 * has checked lies inside m's buffer), no offload flags. */
static inline void dpdk_buf_to_mbuf(struct rte_mbuf *m, const struct pktbuf *b)
{
    m->data_off = (uint16_t)(b->data - (uint8_t *)m->buf_addr);
    m->data_len = (uint16_t)b->len;
    m->pkt_len = b->len;
    m->ol_flags = 0;
}

#endif
