/*
 * exc_wrap.c — the exception path as a pktio wrapper (DESIGN §7), put
 * between the data port and our stack by drivers/ustack/netio_dpdk.c:
 *
 *   rx_burst: exception port rx -> data port tx       (what the kernel sends;
 *                                                      every poll_every-th call)
 *             data port rx -> exc_classify() -> STACK: returned to the stack
 *                                              KERNEL: exception port tx
 *                                              BOTH (ARP): a copy to the kernel,
 *                                                          the frame to the stack
 *   tx_burst, alloc, alloc_tso, free, info: the data port's
 *
 * Zero copy when the two pktios share buffers (DPDK mbufs: an mbuf received
 * on one port can be sent on the other and goes back to its own pool); else
 * (tests over memlink) frames are copied into a buffer of the other side.
 * Every drop is counted by reason; counters come first, then the data port's.
 *
 * Callers: drivers/ustack/netio_dpdk.c, tests. Calls: pktio.h, classify.c,
 * exc_iface.c (quiet_iface).
 */
#include "kni/exc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XW_BURST 64

enum xw_ctr {
    XW_TO_STACK,
    XW_TO_KERNEL,
    XW_FROM_KERNEL,
    XW_BOTH,
    XW_DROP_KERNEL_TX_FULL, /* exception port refused the frame */
    XW_DROP_WIRE_TX_FULL,   /* data port refused a frame from the kernel */
    XW_DROP_NO_BUF,         /* no buffer for a copy */
    XW_DROP_TOO_LONG,       /* frame larger than the copy buffer */
    XW_BACKEND_RTE_KNI,     /* 1 for the backend that runs */
    XW_BACKEND_VIRTIO_USER,
    XW_BACKEND_TAP,
    XW__COUNT
};

static const char *const xw_names[XW__COUNT] = {
    [XW_TO_STACK] = "exc_to_stack",
    [XW_TO_KERNEL] = "exc_to_kernel",
    [XW_FROM_KERNEL] = "exc_from_kernel",
    [XW_BOTH] = "exc_both",
    [XW_DROP_KERNEL_TX_FULL] = "exc_drop_kernel_tx_full",
    [XW_DROP_WIRE_TX_FULL] = "exc_drop_wire_tx_full",
    [XW_DROP_NO_BUF] = "exc_drop_no_buf",
    [XW_DROP_TOO_LONG] = "exc_drop_too_long",
    [XW_BACKEND_RTE_KNI] = "exc_backend_rte_kni",
    [XW_BACKEND_VIRTIO_USER] = "exc_backend_virtio_user",
    [XW_BACKEND_TAP] = "exc_backend_tap",
};

struct xw {
    struct pktio base; /* first */
    struct pktio *data, *exc;
    struct exc_match m;
    exc_ports_fn ports;
    void *ports_arg;
    int zero_copy;
    uint32_t poll_every, polls;
    uint64_t ctr[XW__COUNT];
    char quiet[16], quiet_old[8]; /* data port's kernel interface, its old rp_filter */
    struct pktbuf *kq[XW_BURST]; /* to the kernel, this burst */
    uint16_t nkq;
};

static const struct pktio_ops xw_ops;

static struct xw *xw_of(struct pktio *p)
{
    return (struct xw *)p;
}

/* A copy of src in a buffer of `to`, or NULL (counted). */
static struct pktbuf *copy_to(struct xw *w, struct pktio *to, const struct pktbuf *src)
{
    struct pktbuf *b = pktio_alloc(to);
    if (!b) {
        w->ctr[XW_DROP_NO_BUF]++;
        return NULL;
    }
    if (src->len > b->cap) {
        w->ctr[XW_DROP_TOO_LONG]++;
        pktio_free(to, &b, 1);
        return NULL;
    }
    memcpy(b->data, src->data, src->len);
    b->len = src->len;
    b->ol_flags = 0;
    b->l2_len = b->l3_len = 0;
    return b;
}

/* Send bufs (owned by `owner`, or by `to` when zero_copy) on `to`; frees and
 * counts what it refused. */
static void send_or_drop(struct xw *w, struct pktio *to, struct pktio *owner, struct pktbuf **bufs,
                         uint16_t n, enum xw_ctr full)
{
    if (!n) return;
    uint16_t sent = pktio_tx_burst(to, bufs, n);
    if (sent < n) {
        w->ctr[full] += (uint64_t)(n - sent);
        pktio_free(owner, bufs + sent, (uint16_t)(n - sent));
    }
}

/* What the kernel sent on its interface goes out of the data port. */
static void pump_from_kernel(struct xw *w)
{
    struct pktbuf *in[XW_BURST], *out[XW_BURST];
    uint16_t n = pktio_rx_burst(w->exc, in, XW_BURST);
    if (!n) return;
    w->ctr[XW_FROM_KERNEL] += n;
    if (w->zero_copy) {
        send_or_drop(w, w->data, w->exc, in, n, XW_DROP_WIRE_TX_FULL);
        return;
    }
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; i++) {
        struct pktbuf *c = copy_to(w, w->data, in[i]);
        if (c) out[k++] = c;
    }
    pktio_free(w->exc, in, n);
    send_or_drop(w, w->data, w->data, out, k, XW_DROP_WIRE_TX_FULL);
}

static void refresh_ports(struct xw *w)
{
    if (!w->ports) return;
    int n = w->ports(w->ports_arg, w->m.ports, EXC_MAX_PORTS);
    w->m.nports = (uint16_t)(n < 0 ? 0 : n > EXC_MAX_PORTS ? EXC_MAX_PORTS : n);
}

static void queue_kernel(struct xw *w, struct pktbuf *b)
{
    if (w->nkq == XW_BURST) {
        send_or_drop(w, w->exc, w->exc, w->kq, w->nkq, XW_DROP_KERNEL_TX_FULL);
        w->nkq = 0;
    }
    w->kq[w->nkq++] = b;
}

static uint16_t xw_rx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct xw *w = xw_of(p);
    if (++w->polls >= w->poll_every) {
        w->polls = 0;
        pump_from_kernel(w);
    }
    uint16_t got = pktio_rx_burst(w->data, bufs, n);
    if (!got) return 0;
    refresh_ports(w);
    uint16_t keep = 0;
    w->nkq = 0;
    for (uint16_t i = 0; i < got; i++) {
        struct pktbuf *b = bufs[i], *c;
        switch (exc_classify(&w->m, b->data, b->len)) {
        case EXC_STACK:
            w->ctr[XW_TO_STACK]++;
            bufs[keep++] = b;
            break;
        case EXC_BOTH:
            w->ctr[XW_BOTH]++;
            w->ctr[XW_TO_STACK]++;
            bufs[keep++] = b;
            c = copy_to(w, w->exc, b);
            if (c) {
                w->ctr[XW_TO_KERNEL]++;
                queue_kernel(w, c);
            }
            break;
        case EXC_KERNEL:
        default:
            w->ctr[XW_TO_KERNEL]++;
            if (w->zero_copy) {
                queue_kernel(w, b);
            } else {
                c = copy_to(w, w->exc, b);
                pktio_free(w->data, &b, 1);
                if (c) queue_kernel(w, c);
            }
            break;
        }
    }
    /* every queued buffer is the exception port's, or an mbuf (zero copy) */
    send_or_drop(w, w->exc, w->exc, w->kq, w->nkq, XW_DROP_KERNEL_TX_FULL);
    w->nkq = 0;
    return keep;
}

static uint16_t xw_tx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    return pktio_tx_burst(xw_of(p)->data, bufs, n);
}

static struct pktbuf *xw_alloc(struct pktio *p)
{
    return pktio_alloc(xw_of(p)->data);
}

static struct pktbuf *xw_alloc_tso(struct pktio *p)
{
    return pktio_alloc_tso(xw_of(p)->data);
}

static void xw_free(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    pktio_free(xw_of(p)->data, bufs, n);
}

static void xw_info(struct pktio *p, struct pktio_info *out)
{
    pktio_info(xw_of(p)->data, out);
}

static int xw_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct xw *w = xw_of(p);
    int n = 0;
    for (int i = 0; i < XW__COUNT && n < max; i++)
        out[n++] = (struct netio_counter){xw_names[i], w->ctr[i]};
    if (n < max && w->data->ops->counters) n += pktio_counters(w->data, out + n, max - n);
    return n;
}

static uint32_t xw_in_use(struct pktio *p)
{
    struct xw *w = xw_of(p);
    uint32_t u = w->data->ops->in_use ? w->data->ops->in_use(w->data) : 0;
    return u + (w->exc->ops->in_use ? w->exc->ops->in_use(w->exc) : 0);
}

/* The data port's: the stack's segments go there (the exception port
 * carries the kernel's frames only). */
static int64_t xw_tx_pending(struct pktio *p)
{
    return pktio_tx_pending(xw_of(p)->data);
}

static void xw_close(struct pktio *p)
{
    struct xw *w = xw_of(p);
    pktio_close(w->exc);
    pktio_close(w->data);
    if (*w->quiet) exc_iface_unquiet(w->quiet, w->quiet_old);
    free(w);
}

static const struct pktio_ops xw_ops = {
    .name = "exc_wrap",
    .help = "exception path: frames the stack does not own go to a kernel interface",
    .close = xw_close,
    .rx_burst = xw_rx_burst,
    .tx_burst = xw_tx_burst,
    .alloc = xw_alloc,
    .alloc_tso = xw_alloc_tso,
    .free = xw_free,
    .info = xw_info,
    .counters = xw_counters,
    .in_use = xw_in_use,
    .tx_pending = xw_tx_pending,
};

struct pktio *exc_wrap(struct pktio *data, struct pktio *exc, const struct exc_wrap_config *c,
                       char *err, size_t errlen)
{
    struct xw *w = NULL;
    if (!data || !exc || !c) {
        snprintf(err, errlen, "exception path: wrapper needs a data port, an exception port and a config");
        goto fail;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "exception path: out of memory");
        goto fail;
    }
    if (c->quiet_iface) {
        snprintf(w->quiet, sizeof(w->quiet), "%s", c->quiet_iface);
        if (exc_iface_quiet(w->quiet, w->quiet_old, sizeof(w->quiet_old), err, errlen) < 0) {
            free(w);
            w = NULL;
            goto fail;
        }
    }
    w->base.ops = &xw_ops;
    w->data = data;
    w->exc = exc;
    w->zero_copy = c->zero_copy;
    w->poll_every = c->poll_every ? c->poll_every : 1;
    w->m.ip = c->ip;
    w->m.eph_lo = c->eph_lo;
    w->m.eph_hi = c->eph_hi;
    if (c->backend) {
        const char *nm = c->backend->name;
        if (strcmp(nm, "rte_kni") == 0) w->ctr[XW_BACKEND_RTE_KNI] = 1;
        if (strcmp(nm, "virtio_user") == 0) w->ctr[XW_BACKEND_VIRTIO_USER] = 1;
        if (strcmp(nm, "tap") == 0) w->ctr[XW_BACKEND_TAP] = 1;
    }
    return &w->base;
fail:
    pktio_close(exc);
    pktio_close(data);
    return NULL;
}

void exc_wrap_bind(struct pktio *wrapper, exc_ports_fn fn, void *arg)
{
    if (!wrapper || wrapper->ops != &xw_ops) return;
    struct xw *w = xw_of(wrapper);
    w->ports = fn;
    w->ports_arg = arg;
}
