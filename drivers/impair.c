/*
 * impair.c — seeded impairment of any pktio (DESIGN §5: tc netem is not in
 * every kernel). Applied on TX, so wrapping both ends of a link impairs both
 * directions; rx_burst passes through.
 *
 * Callers: tests (the stack over an impaired memlink), harness/ (impaired
 * runs on any driver), via impair_wrap() and the pktio.h wrappers.
 * Calls: the inner pktio's ops only; libc.
 *
 * Per frame accepted by tx_burst, in this order, each decision drawn from a
 * splitmix64 PRNG seeded with cfg->seed (same seed and same frames -> the
 * same pattern, whatever the clock):
 *   loss     the frame is freed (impair_lost);
 *   corrupt  one random bit is flipped in a random byte past the 14-byte
 *            Ethernet header (impair_corrupted; frames of <= 14 bytes are
 *            left alone);
 *   dup      a copy is allocated from the inner pktio and sent right after
 *            it (impair_dup; impair_dup_fail when the inner pool is empty);
 *   reorder  the frame is held and sent right after the next frame emitted
 *            (impair_reordered). A held frame is let go on its own after
 *            REORDER_MAX_HOLD_NS of the configured clock, so a lone last
 *            frame is not kept forever;
 *   delay    every emitted frame waits delay_ns (impair_delayed counts
 *            frames that waited);
 *   spike    after the spike_after-th emitted frame (and every spike_every
 *            frames after it), the frames emitted within spike_ns wait
 *            until it has passed: the queue is held, in order, like a
 *            stalled link (impair_spikes, impair_spiked frames). Not drawn
 *            from the PRNG: it comes at the same frame every run.
 * Emitted frames go through one bounded FIFO (QUEUE_CAP) of (frame, due time)
 * and leave for the inner tx_burst once due, on any later tx_burst or
 * rx_burst call. When the FIFO is full, tx_burst accepts fewer (backpressure,
 * impair_queue_full); when the inner pktio refuses, frames stay queued and
 * are retried. in_use is the inner's: queued and held frames are still out
 * of its pool.
 */
#include "drivers/pktio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_CAP 8192u
#define REORDER_MAX_HOLD_NS 1000000ull /* 1 ms */
#define ETH_HDR_LEN 14u
#define FLUSH_BATCH 64

enum im_ctr {
    IM_LOST,
    IM_DUP,
    IM_DUP_FAIL,
    IM_REORDERED,
    IM_CORRUPTED,
    IM_DELAYED,
    IM_SPIKES,
    IM_SPIKED,
    IM_QUEUE_FULL,
    IM__CTR_COUNT
};

static const char *const im_ctr_names[IM__CTR_COUNT] = {
    [IM_LOST] = "impair_lost",
    [IM_DUP] = "impair_dup",
    [IM_DUP_FAIL] = "impair_dup_fail",
    [IM_REORDERED] = "impair_reordered",
    [IM_CORRUPTED] = "impair_corrupted",
    [IM_DELAYED] = "impair_delayed",
    [IM_SPIKES] = "impair_spikes",
    [IM_SPIKED] = "impair_spiked",
    [IM_QUEUE_FULL] = "impair_queue_full",
};

struct im_slot {
    struct pktbuf *b;
    uint64_t due;
};

struct impair {
    struct pktio base; /* first */
    struct pktio *inner;
    struct impair_config c;
    uint64_t rng;
    struct pktbuf *held; /* reorder: waits for the next emitted frame */
    uint64_t held_since;
    struct im_slot *q; /* QUEUE_CAP slots, FIFO */
    uint32_t qhead, qcount;
    uint64_t emitted, spike_until; /* frames emitted; the current spike ends then */
    uint64_t ctr[IM__CTR_COUNT];
};

extern const struct pktio_ops pktio_impair_ops;

static struct impair *im_of(struct pktio *p)
{
    return (struct impair *)p;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double uniform(struct impair *m)
{
    return (double)(splitmix64(&m->rng) >> 11) * 0x1.0p-53;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now(struct impair *m)
{
    return m->c.now_ns ? m->c.now_ns(m->c.now_arg) : mono_ns();
}

static int prob_ok(double p)
{
    return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

struct pktio *impair_wrap(struct pktio *inner, const struct impair_config *c, char *err,
                          size_t errlen)
{
    if (!inner || !c) {
        snprintf(err, errlen, "impair: %s is NULL", inner ? "config" : "inner pktio");
        return NULL;
    }
    const struct {
        const char *name;
        double v;
    } probs[] = {
        {"loss", c->loss}, {"dup", c->dup}, {"reorder", c->reorder}, {"corrupt", c->corrupt}};
    for (size_t i = 0; i < sizeof(probs) / sizeof(probs[0]); i++) {
        if (!prob_ok(probs[i].v)) {
            snprintf(err, errlen, "impair: %s=%g is not a probability in [0, 1]", probs[i].name,
                     probs[i].v);
            return NULL;
        }
    }
    if ((c->spike_ns != 0) != (c->spike_after != 0) || (c->spike_every && !c->spike_ns)) {
        snprintf(err, errlen,
                 "impair: spike_after=%llu spike_every=%llu spike_ns=%llu: a spike needs both "
                 "spike_after and spike_ns (spike_every only with them)",
                 (unsigned long long)c->spike_after, (unsigned long long)c->spike_every,
                 (unsigned long long)c->spike_ns);
        return NULL;
    }
    struct impair *m = calloc(1, sizeof(*m));
    struct im_slot *q = calloc(QUEUE_CAP, sizeof(*q));
    if (!m || !q) {
        free(m);
        free(q);
        snprintf(err, errlen, "impair: out of memory");
        return NULL;
    }
    m->base.ops = &pktio_impair_ops;
    m->inner = inner;
    m->c = *c;
    m->rng = c->seed;
    m->q = q;
    return &m->base;
}

static void q_push(struct impair *m, struct pktbuf *b, uint64_t due)
{
    struct im_slot *s = &m->q[(m->qhead + m->qcount) % QUEUE_CAP];
    s->b = b;
    s->due = due;
    m->qcount++;
}

/* Queue frame b, emitted at t: it waits out a spike under way, and may
 * start one. */
static void q_emit(struct impair *m, struct pktbuf *b, uint64_t t, uint64_t due)
{
    if (t < m->spike_until) {
        if (due < m->spike_until) due = m->spike_until;
        m->ctr[IM_SPIKED]++;
    }
    q_push(m, b, due);
    uint64_t n = ++m->emitted, after = m->c.spike_after;
    if (after && n >= after &&
        (n == after || (m->c.spike_every && (n - after) % m->c.spike_every == 0))) {
        m->spike_until = t + m->c.spike_ns;
        m->ctr[IM_SPIKES]++;
    }
}

/* Send what is due to the inner pktio, oldest first; stop when it refuses. */
static void flush(struct impair *m, uint64_t t)
{
    if (m->held && t >= m->held_since + REORDER_MAX_HOLD_NS + m->c.delay_ns &&
        m->qcount < QUEUE_CAP) {
        q_emit(m, m->held, t, m->held_since + m->c.delay_ns);
        m->held = NULL;
    }
    while (m->qcount) {
        struct pktbuf *batch[FLUSH_BATCH];
        uint16_t n = 0;
        while (n < FLUSH_BATCH && n < m->qcount) {
            const struct im_slot *s = &m->q[(m->qhead + n) % QUEUE_CAP];
            if (s->due > t) break;
            batch[n++] = s->b;
        }
        if (n == 0) return;
        uint16_t sent = pktio_tx_burst(m->inner, batch, n);
        m->qhead = (m->qhead + sent) % QUEUE_CAP;
        m->qcount -= sent;
        if (sent < n) return;
    }
}

/* Queue one emitted frame (and the held one after it). */
static void emit(struct impair *m, struct pktbuf *b, uint64_t t, uint64_t due)
{
    q_emit(m, b, t, due);
    if (m->c.delay_ns) m->ctr[IM_DELAYED]++;
    if (m->held) {
        q_emit(m, m->held, t, due);
        if (m->c.delay_ns) m->ctr[IM_DELAYED]++;
        m->held = NULL;
    }
}

static uint16_t im_tx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct impair *m = im_of(p);
    int need_clock = m->c.delay_ns || m->held || m->c.reorder > 0 || m->c.spike_ns;
    uint64_t t = need_clock ? now(m) : 0;
    flush(m, t);
    uint64_t due = m->c.delay_ns ? t + m->c.delay_ns : 0;
    uint16_t i;
    for (i = 0; i < n; i++) {
        /* Worst case this frame puts 3 in the queue: itself, a copy, the held one. */
        if (m->qcount + 3 > QUEUE_CAP) {
            m->ctr[IM_QUEUE_FULL]++;
            break;
        }
        struct pktbuf *b = bufs[i];
        double u_loss = uniform(m), u_corrupt = uniform(m), u_dup = uniform(m),
               u_reorder = uniform(m);
        if (u_loss < m->c.loss) {
            m->ctr[IM_LOST]++;
            pktio_free(m->inner, &b, 1);
            continue;
        }
        if (u_corrupt < m->c.corrupt && b->len > ETH_HDR_LEN) {
            uint64_t r = splitmix64(&m->rng);
            uint32_t off = ETH_HDR_LEN + (uint32_t)((r >> 3) % (b->len - ETH_HDR_LEN));
            b->data[off] ^= (uint8_t)(1u << (r & 7));
            m->ctr[IM_CORRUPTED]++;
        }
        struct pktbuf *copy = NULL;
        if (u_dup < m->c.dup) {
            copy = pktio_alloc(m->inner);
            if (copy && copy->cap >= b->len) {
                memcpy(copy->data, b->data, b->len);
                copy->len = b->len;
                copy->ol_flags = b->ol_flags;
                copy->l2_len = b->l2_len;
                copy->l3_len = b->l3_len;
                m->ctr[IM_DUP]++;
            } else {
                if (copy) pktio_free(m->inner, &copy, 1);
                copy = NULL;
                m->ctr[IM_DUP_FAIL]++;
            }
        }
        if (u_reorder < m->c.reorder && !m->held) {
            /* Held; a copy of it, if any, goes ahead of it. */
            if (copy) emit(m, copy, t, due);
            m->held = b;
            m->held_since = t;
            m->ctr[IM_REORDERED]++;
            continue;
        }
        emit(m, b, t, due);
        if (copy) emit(m, copy, t, due);
    }
    flush(m, t);
    return i;
}

static uint16_t im_rx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct impair *m = im_of(p);
    if (m->qcount || m->held) flush(m, now(m));
    return pktio_rx_burst(m->inner, bufs, n);
}

static int im_probe(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return 0;
}

static struct pktio *im_open(const struct pktio_config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    snprintf(err, errlen, "impair: wraps another pktio; use impair_wrap()");
    return NULL;
}

static void im_close(struct pktio *p)
{
    struct impair *m = im_of(p);
    while (m->qcount) {
        pktio_free(m->inner, &m->q[m->qhead].b, 1);
        m->qhead = (m->qhead + 1) % QUEUE_CAP;
        m->qcount--;
    }
    if (m->held) pktio_free(m->inner, &m->held, 1);
    pktio_close(m->inner);
    free(m->q);
    free(m);
}

static struct pktbuf *im_alloc(struct pktio *p)
{
    return pktio_alloc(im_of(p)->inner);
}

static void im_free(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    pktio_free(im_of(p)->inner, bufs, n);
}

static void im_info(struct pktio *p, struct pktio_info *out)
{
    pktio_info(im_of(p)->inner, out);
}

static int im_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct impair *m = im_of(p);
    int n = pktio_counters(m->inner, out, max);
    if (n < 0) n = 0;
    for (int i = 0; i < IM__CTR_COUNT && n < max; i++) {
        out[n].name = im_ctr_names[i];
        out[n].value = m->ctr[i];
        n++;
    }
    return n;
}

static uint32_t im_in_use(struct pktio *p)
{
    struct impair *m = im_of(p);
    return m->inner->ops->in_use ? m->inner->ops->in_use(m->inner) : 0;
}

/* The inner link's figure while the frames stay in order and one for one
 * (what we emit is the latest it queued; delayed frames are on the wire);
 * with loss, duplication or reordering configured it could not be mapped
 * to the frames our caller sent: -1. */
static int64_t im_tx_pending(struct pktio *p)
{
    struct impair *m = im_of(p);
    if (m->c.loss > 0 || m->c.dup > 0 || m->c.reorder > 0) return -1;
    return pktio_tx_pending(m->inner);
}

const struct pktio_ops pktio_impair_ops = {
    .name = "impair",
    .help = "seeded loss/dup/reorder/corruption/delay/delay-spike around another pktio (impair_wrap)",
    .probe = im_probe,
    .open = im_open,
    .close = im_close,
    .rx_burst = im_rx_burst,
    .tx_burst = im_tx_burst,
    .alloc = im_alloc,
    .free = im_free,
    .info = im_info,
    .counters = im_counters,
    .in_use = im_in_use,
    .tx_pending = im_tx_pending,
};
