/*
 * memlink.c — an in-memory link: two pktio endpoints in one process; a frame
 * sent on one is received, in order and byte-exact, on the other (DESIGN §3).
 * Lossless and time-free; impair.c adds loss, reordering and delay on top.
 *
 * Callers: tests (the stack over a fake wire), deterministic benchmarks, via
 * memlink_pair() and the pktio.h wrappers. Calls only libc and pthreads.
 *
 * Buffers: one pool of 2 * pool_size fixed PKTIO_MAX_FRAME-byte buffers,
 * allocated once at memlink_pair and shared by both endpoints (a buffer
 * allocated on A and sent to B is freed on B). Each endpoint has a bounded
 * RX FIFO (ring_size, default pool_size); when the peer's FIFO is full,
 * tx_burst accepts fewer and counts tx_ring_full per refused frame.
 * in_use() is link-wide: buffers allocated, received or queued in a FIFO,
 * i.e. everything not in the free pool; it is 0 once all are freed.
 * A mutex taken once per call makes it safe to drive the two endpoints from
 * two threads (each endpoint itself belongs to one thread).
 *
 * Options (cfg->opts): the table ml_opt_defs below (ring_size, lock).
 */
#include "drivers/opts.h"
#include "drivers/pktio.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ML_DEFAULT_POOL 4096u
#define ML_MAX_POOL (1u << 22)

enum ml_ctr {
    ML_RX_FRAMES,
    ML_TX_FRAMES,
    ML_RX_BYTES,
    ML_TX_BYTES,
    ML_TX_RING_FULL,
    ML_ALLOC_FAIL,
    ML_TX_BAD_LEN,     /* len 0 or > cap: accepted and dropped */
    ML_TX_PEER_CLOSED, /* peer endpoint closed: accepted and dropped */
    ML_FREE_FOREIGN,   /* free() of a buffer not from this link: ignored */
    ML__CTR_COUNT
};

static const char *const ml_ctr_names[ML__CTR_COUNT] = {
    [ML_RX_FRAMES] = "rx_frames",       [ML_TX_FRAMES] = "tx_frames",
    [ML_RX_BYTES] = "rx_bytes",         [ML_TX_BYTES] = "tx_bytes",
    [ML_TX_RING_FULL] = "tx_ring_full", [ML_ALLOC_FAIL] = "alloc_fail",
    [ML_TX_BAD_LEN] = "tx_bad_len",     [ML_TX_PEER_CLOSED] = "tx_peer_closed",
    [ML_FREE_FOREIGN] = "free_foreign",
};

struct ml_link;

struct ml_ep {
    struct pktio base; /* first: struct pktio * <-> struct ml_ep * */
    struct ml_link *link;
    int idx;
    int closed;
    struct pktbuf **ring; /* RX FIFO */
    uint32_t ring_cap, head, count;
    uint64_t ctr[ML__CTR_COUNT];
};

struct ml_link {
    pthread_mutex_t mu;
    int locked; /* 0: lock=0, single-threaded user, mu never taken */
    struct pktbuf *bufs; /* nbufs descriptors */
    uint8_t *mem;        /* nbufs * PKTIO_MAX_FRAME bytes */
    uint32_t nbufs;
    struct pktbuf **free_stack;
    uint32_t nfree;
    int open_eps;
    struct ml_ep ep[2];
};

extern const struct pktio_ops pktio_memlink_ops;

static struct ml_ep *ep_of(struct pktio *p)
{
    return (struct ml_ep *)p;
}

static void ml_lock(struct ml_link *l)
{
    if (l->locked) pthread_mutex_lock(&l->mu);
}

static void ml_unlock(struct ml_link *l)
{
    if (l->locked) pthread_mutex_unlock(&l->mu);
}

static int own_buf(const struct ml_link *l, const struct pktbuf *b)
{
    return b >= l->bufs && b < l->bufs + l->nbufs;
}

/* Caller holds l->mu. */
static void pool_put(struct ml_link *l, struct ml_ep *e, struct pktbuf *b)
{
    if (!b || !own_buf(l, b) || l->nfree >= l->nbufs) {
        e->ctr[ML_FREE_FOREIGN]++;
        return;
    }
    l->free_stack[l->nfree++] = b;
}

static struct pktbuf *pool_get(struct ml_link *l)
{
    if (l->nfree == 0) return NULL;
    struct pktbuf *b = l->free_stack[--l->nfree];
    b->len = 0;
    b->cap = PKTIO_MAX_FRAME;
    b->ol_flags = 0;
    b->l2_len = b->l3_len = 0;
    return b;
}

static void link_free(struct ml_link *l)
{
    if (!l) return;
    for (int i = 0; i < 2; i++)
        free(l->ep[i].ring);
    free(l->free_stack);
    free(l->bufs);
    free(l->mem);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* Options (cfg->opts): this table; doctor and --help print it. */
struct ml_opts {
    uint32_t ring_size;
    int locked;
};
static const struct opt_def ml_opt_defs[] = {
    {.name = "ring_size", .type = OPT_UINT, .min = 1, .max = ML_MAX_POOL,
     .help = "RX FIFO slots per endpoint (default: pool_size)",
     .off = offsetof(struct ml_opts, ring_size), .size = sizeof(uint32_t)},
    {.name = "lock", .type = OPT_BOOL, .def = "1",
     .help = "take the link's mutex per call; 0 only when one thread drives both ends",
     .off = offsetof(struct ml_opts, locked), .size = sizeof(int)},
    OPT_END,
};

int memlink_pair(const struct pktio_config *cfg, struct pktio **a, struct pktio **b, char *err,
                 size_t errlen)
{
    uint32_t pool = cfg && cfg->pool_size ? cfg->pool_size : ML_DEFAULT_POOL;
    if (pool > ML_MAX_POOL) {
        snprintf(err, errlen, "memlink: pool_size %u too large (max %u)", pool, ML_MAX_POOL);
        return -1;
    }
    struct ml_opts o = {.ring_size = pool};
    const struct opt_set set = {ml_opt_defs, &o};
    if (opts_parse("memlink", cfg ? cfg->opts : NULL, &set, 1, NULL, err, errlen) < 0) return -1;
    uint32_t ring_size = o.ring_size;
    int locked = o.locked;

    struct ml_link *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "memlink: out of memory");
        return -1;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->locked = locked;
    l->nbufs = 2 * pool;
    l->mem = malloc((size_t)l->nbufs * PKTIO_MAX_FRAME);
    l->bufs = calloc(l->nbufs, sizeof(*l->bufs));
    l->free_stack = calloc(l->nbufs, sizeof(*l->free_stack));
    for (int i = 0; i < 2; i++) {
        l->ep[i].ring = calloc(ring_size, sizeof(*l->ep[i].ring));
        l->ep[i].ring_cap = ring_size;
    }
    if (!l->mem || !l->bufs || !l->free_stack || !l->ep[0].ring || !l->ep[1].ring) {
        snprintf(err, errlen, "memlink: out of memory for %u buffers", l->nbufs);
        link_free(l);
        return -1;
    }
    /* Fill the stack so that the lowest buffers are handed out first. */
    for (uint32_t i = 0; i < l->nbufs; i++) {
        struct pktbuf *pb = &l->bufs[l->nbufs - 1 - i];
        pb->data = l->mem + (size_t)(l->nbufs - 1 - i) * PKTIO_MAX_FRAME;
        pb->cap = PKTIO_MAX_FRAME;
        pb->priv = l;
        l->free_stack[i] = pb;
    }
    l->nfree = l->nbufs;
    for (int i = 0; i < 2; i++) {
        l->ep[i].base.ops = &pktio_memlink_ops;
        l->ep[i].link = l;
        l->ep[i].idx = i;
    }
    l->open_eps = 2;
    *a = &l->ep[0].base;
    *b = &l->ep[1].base;
    return 0;
}

static int ml_probe(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return 0;
}

static struct pktio *ml_open(const struct pktio_config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    snprintf(err, errlen, "memlink: endpoints come in pairs; use memlink_pair() instead of open");
    return NULL;
}

static void ml_close(struct pktio *p)
{
    struct ml_ep *e = ep_of(p);
    struct ml_link *l = e->link;
    ml_lock(l);
    while (e->count) {
        pool_put(l, e, e->ring[e->head]);
        e->head = (e->head + 1) % e->ring_cap;
        e->count--;
    }
    e->closed = 1;
    int last = --l->open_eps == 0;
    ml_unlock(l);
    if (last) link_free(l);
}

__attribute__((noinline)) static uint16_t rx_some(struct ml_ep *e, struct pktbuf **bufs,
                                                  uint16_t n)
{
    struct ml_link *l = e->link;
    ml_lock(l);
    uint16_t got = 0;
    uint64_t bytes = 0;
    while (got < n && e->count) {
        struct pktbuf *b = e->ring[e->head];
        e->head = (e->head + 1) % e->ring_cap;
        e->count--;
        b->ol_flags = 0; /* TX requests mean nothing on RX; no RX offloads */
        bytes += b->len;
        bufs[got++] = b;
    }
    e->ctr[ML_RX_FRAMES] += got;
    e->ctr[ML_RX_BYTES] += bytes;
    ml_unlock(l);
    return got;
}

static uint16_t ml_rx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct ml_ep *e = ep_of(p);
    if (!e->link->locked && !e->count) return 0; /* the idle poll: nothing to do */
    return rx_some(e, bufs, n);
}

static uint16_t ml_tx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct ml_ep *e = ep_of(p);
    struct ml_link *l = e->link;
    struct ml_ep *peer = &l->ep[1 - e->idx];
    ml_lock(l);
    uint16_t i;
    for (i = 0; i < n; i++) {
        struct pktbuf *b = bufs[i];
        if (peer->closed) {
            e->ctr[ML_TX_PEER_CLOSED]++;
            pool_put(l, e, b);
            continue;
        }
        if (b->len == 0 || b->len > b->cap || b->len > PKTIO_MAX_FRAME) {
            e->ctr[ML_TX_BAD_LEN]++;
            pool_put(l, e, b);
            continue;
        }
        if (peer->count == peer->ring_cap) {
            e->ctr[ML_TX_RING_FULL] += (uint64_t)(n - i);
            break;
        }
        peer->ring[(peer->head + peer->count) % peer->ring_cap] = b;
        peer->count++;
        e->ctr[ML_TX_FRAMES]++;
        e->ctr[ML_TX_BYTES] += b->len;
    }
    ml_unlock(l);
    return i;
}

static struct pktbuf *ml_alloc(struct pktio *p)
{
    struct ml_ep *e = ep_of(p);
    struct ml_link *l = e->link;
    ml_lock(l);
    struct pktbuf *b = pool_get(l);
    if (!b) e->ctr[ML_ALLOC_FAIL]++;
    ml_unlock(l);
    return b;
}

static void ml_free(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct ml_ep *e = ep_of(p);
    struct ml_link *l = e->link;
    ml_lock(l);
    for (uint16_t i = 0; i < n; i++)
        pool_put(l, e, bufs[i]);
    ml_unlock(l);
}

static void ml_info(struct pktio *p, struct pktio_info *out)
{
    struct ml_ep *e = ep_of(p);
    memset(out, 0, sizeof(*out));
    out->mac[0] = 0x02; /* locally administered */
    out->mac[5] = (uint8_t)(e->idx + 1);
    out->mtu = 1500;
    out->offloads = 0;
    out->fd = -1;
}

static int ml_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct ml_ep *e = ep_of(p);
    struct ml_link *l = e->link;
    int n = 0;
    ml_lock(l);
    for (int i = 0; i < ML__CTR_COUNT && n < max; i++) {
        out[n].name = ml_ctr_names[i];
        out[n].value = e->ctr[i];
        n++;
    }
    ml_unlock(l);
    return n;
}

static uint32_t ml_in_use(struct pktio *p)
{
    struct ml_link *l = ep_of(p)->link;
    ml_lock(l);
    uint32_t n = l->nbufs - l->nfree;
    ml_unlock(l);
    return n;
}

/* Frames of ours in the peer's RX FIFO, not yet received. */
static int64_t ml_tx_pending(struct pktio *p)
{
    struct ml_ep *e = ep_of(p);
    struct ml_link *l = e->link;
    ml_lock(l);
    int64_t n = l->ep[1 - e->idx].count;
    ml_unlock(l);
    return n;
}

const struct pktio_ops pktio_memlink_ops = {
    .name = "memlink",
    .help = "in-memory link of two endpoints (memlink_pair; tests, deterministic runs)",
    .opts = ml_opt_defs,
    .probe = ml_probe,
    .open = ml_open,
    .close = ml_close,
    .rx_burst = ml_rx_burst,
    .tx_burst = ml_tx_burst,
    .alloc = ml_alloc,
    .free = ml_free,
    .info = ml_info,
    .counters = ml_counters,
    .in_use = ml_in_use,
    .tx_pending = ml_tx_pending,
};
