/*
 * test_ustack_tso.c — the stack's TSO (PKT_TX_TSO): over a pktio that offers
 * it, new data goes out in frames of several MSS, each marked for
 * segmentation with the MSS and the pseudo-header checksum in place; over
 * one that does not, no frame exceeds the MTU. The wrapper here plays the
 * kernel's GSO (cuts each TSO frame into MSS segments with their own
 * lengths, sequence numbers, IDs, flags and checksums) so the peer stack
 * checks the result: a 4 MiB download arrives byte-exact.
 *
 * Rig: tests/rig/stack_rig.h (two stacks over memlink, virtual clock).
 */
#include <criterion/criterion.h>

#include "drivers/netio.h"
#include "drivers/pktio.h"
#include "drivers/ustack/ustack.h"
#include "tests/drivers/frames.h"
#include "tests/rig/stack_rig.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define TOTAL (4u << 20)
#define NBIG 64

struct tso {
    struct pktio base;
    struct pktio *inner;
    int offer; /* report PKT_TX_TSO */
    struct pktbuf big[NBIG];
    uint8_t *mem;
    int used[NBIG];
    uint64_t tso_frames, segments, max_frame, bad;
    uint16_t mss_seen;
};

static struct tso *T(struct pktio *p)
{
    return (struct tso *)p;
}

static int big_index(struct tso *t, struct pktbuf *b)
{
    return b >= t->big && b < t->big + NBIG ? (int)(b - t->big) : -1;
}

/* Cut TSO frame b into segments from the inner pktio, as the kernel's GSO
 * does: FIN and PSH on the last only, IP ID + i, every checksum computed. */
static uint16_t segment(struct tso *t, struct pktbuf *b, struct pktbuf **out, uint16_t max)
{
    uint8_t *f = b->data, *ip = f + 14, *th = ip + 20;
    uint32_t hl = 14u + 20u + b->l4_len, data = b->len - hl;
    uint32_t src = fr_get32(ip + 12), dst = fr_get32(ip + 16);
    /* what the stack must have left: the pseudo-header sum of the whole frame */
    uint16_t l4 = (uint16_t)(b->len - 34);
    if (fr_get16(th + 16) != fr_fold(fr_pseudo(src, dst, FR_PROTO_TCP, l4)) ||
        !(b->ol_flags & PKT_TX_L4_CSUM) || b->l2_len != 14 || b->l3_len != 20 ||
        fr_get16(ip + 2) != b->len - 14)
        t->bad++;
    uint16_t n = 0;
    uint32_t seq = fr_get32(th + 4);
    uint8_t flags = th[13];
    for (uint32_t off = 0; off < data && n < max; n++) {
        uint32_t len = data - off < b->tso_segsz ? data - off : b->tso_segsz;
        struct pktbuf *s = pktio_alloc(t->inner);
        cr_assert_not_null(s, "inner pool empty");
        memcpy(s->data, f, hl);
        memcpy(s->data + hl, f + hl + off, len);
        s->len = hl + len;
        uint8_t *sip = s->data + 14, *sth = sip + 20;
        fr_put16(sip + 2, (uint16_t)(20 + b->l4_len + len));
        fr_put16(sip + 4, (uint16_t)(fr_get16(ip + 4) + n));
        fr_put16(sip + 10, 0);
        fr_put16(sip + 10, fr_csum(sip, 20, 0));
        fr_put32(sth + 4, seq + off);
        int last = off + len == data;
        sth[13] = last ? flags : (uint8_t)(flags & ~(FR_FIN | FR_PSH));
        uint16_t sl4 = (uint16_t)(b->l4_len + len);
        fr_put16(sth + 16, 0);
        fr_put16(sth + 16, fr_csum(sth, sl4, fr_pseudo(src, dst, FR_PROTO_TCP, sl4)));
        s->ol_flags = 0;
        out[n] = s;
        off += len;
    }
    return n;
}

static uint16_t tso_tx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct tso *t = T(p);
    uint16_t i;
    for (i = 0; i < n; i++) {
        if (b[i]->len > t->max_frame) t->max_frame = b[i]->len;
        if (!(b[i]->ol_flags & PKT_TX_TSO)) {
            if (big_index(t, b[i]) >= 0) t->bad++; /* a TSO buffer must carry a TSO frame */
            if (b[i]->ol_flags & PKT_TX_L4_CSUM) { /* finish the checksum, as the kernel would */
                uint8_t *ip = b[i]->data + 14, *th = ip + 20;
                uint16_t l4 = (uint16_t)(fr_get16(ip + 2) - 20);
                fr_put16(th + 16, 0);
                fr_put16(th + 16, fr_csum(th, l4,
                                          fr_pseudo(fr_get32(ip + 12), fr_get32(ip + 16),
                                                    FR_PROTO_TCP, l4)));
                b[i]->ol_flags = 0;
            }
            if (pktio_tx_burst(t->inner, &b[i], 1) != 1) break;
            continue;
        }
        t->tso_frames++;
        t->mss_seen = b[i]->tso_segsz;
        struct pktbuf *segs[64];
        uint16_t k = segment(t, b[i], segs, 64);
        t->segments += k;
        uint16_t sent = pktio_tx_burst(t->inner, segs, k);
        cr_assert_eq(sent, k, "memlink refused segments");
        int bi = big_index(t, b[i]);
        cr_assert(bi >= 0, "TSO frame not in a buffer from alloc_tso");
        t->used[bi] = 0;
    }
    return i;
}

static struct pktbuf *tso_alloc_big(struct pktio *p)
{
    struct tso *t = T(p);
    for (int i = 0; i < NBIG; i++)
        if (!t->used[i]) {
            t->used[i] = 1;
            t->big[i].data = t->mem + (size_t)i * PKTIO_TSO_MAX;
            t->big[i].cap = PKTIO_TSO_MAX;
            t->big[i].len = 0;
            t->big[i].ol_flags = 0;
            return &t->big[i];
        }
    return NULL;
}
static uint16_t tso_rx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    return pktio_rx_burst(T(p)->inner, b, n);
}
static struct pktbuf *tso_alloc(struct pktio *p)
{
    return pktio_alloc(T(p)->inner);
}
static void tso_free(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct tso *t = T(p);
    for (uint16_t i = 0; i < n; i++) {
        int bi = big_index(t, b[i]);
        if (bi >= 0)
            t->used[bi] = 0;
        else
            pktio_free(t->inner, &b[i], 1);
    }
}
static void tso_info(struct pktio *p, struct pktio_info *out)
{
    struct tso *t = T(p);
    pktio_info(t->inner, out);
    if (t->offer) {
        out->offloads |= PKT_TX_TSO | PKT_TX_L4_CSUM;
        out->tso_max = PKTIO_TSO_MAX;
    }
}
static int tso_counters(struct pktio *p, struct netio_counter *out, int max)
{
    return pktio_counters(T(p)->inner, out, max);
}
static void tso_close(struct pktio *p)
{
    struct tso *t = T(p);
    pktio_close(t->inner);
    free(t->mem);
    free(t);
}
static const struct pktio_ops tso_ops = {
    .name = "tso",
    .rx_burst = tso_rx,
    .tx_burst = tso_tx,
    .alloc = tso_alloc,
    .alloc_tso = tso_alloc_big,
    .free = tso_free,
    .info = tso_info,
    .counters = tso_counters,
    .close = tso_close,
};

struct wrap_arg {
    int offer;
    struct tso *t;
};

static struct pktio *tso_wrap(struct stack_rig *sr, int side, struct pktio *p, void *arg, char *err,
                              size_t errlen)
{
    struct wrap_arg *w = arg;
    if (side != 0) return p;
    struct tso *t = calloc(1, sizeof(*t));
    cr_assert_not_null(t);
    t->mem = malloc((size_t)NBIG * PKTIO_TSO_MAX);
    cr_assert_not_null(t->mem);
    t->base.ops = &tso_ops;
    t->inner = p;
    t->offer = w->offer;
    w->t = t;
    return &t->base;
}

static uint8_t pat(size_t i)
{
    return (uint8_t)((i * 7919u) ^ (i >> 11));
}

static uint64_t ctr(struct netio *io, const char *name)
{
    struct netio_counter cs[256];
    int n = netio_counters(io, cs, 256);
    for (int i = 0; i < n; i++)
        if (strcmp(cs[i].name, name) == 0) return cs[i].value;
    cr_assert_fail("no counter '%s'", name);
    return 0;
}

/* Side 0 serves TOTAL pattern bytes to side 1; returns when all arrived. */
static void download(struct stack_rig *r)
{
    static uint8_t body[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        body[i] = pat(i);
    char err[256];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    a.sin_addr.s_addr = htonl(STACK_RIG_IP(0));
    cr_assert_geq(netio_listen(r->io[0], &a, NULL, err, sizeof err), 0, "%s", err);
    int cc = netio_connect(r->io[1], &a, NULL, err, sizeof err);
    cr_assert_geq(cc, 0, "%s", err);
    int sc = -1;
    size_t sent = 0, got = 0;
    for (int round = 0; round < 200000 && got < TOTAL; round++) {
        struct netio_event ev[64];
        int n = netio_poll(r->io[0], ev, 64, 0);
        for (int i = 0; i < n; i++)
            if (ev[i].type == NETIO_EV_ACCEPTED) sc = ev[i].conn;
        if (sc >= 0 && sent < TOTAL) {
            ssize_t k = netio_send(r->io[0], sc, body + sent, TOTAL - sent);
            if (k > 0) sent += (size_t)k;
        }
        netio_flush(r->io[0]);
        n = netio_poll(r->io[1], ev, 64, 0);
        for (int i = 0; i < n; i++) {
            if (ev[i].type != NETIO_EV_READABLE || ev[i].conn != cc) continue;
            for (size_t j = 0; j < ev[i].len; j++)
                cr_assert_eq(ev[i].data[j], pat(got + j), "byte %zu differs", got + j);
            got += ev[i].len;
            netio_consume(r->io[1], cc, ev[i].len);
        }
        netio_flush(r->io[1]);
        r->now_ns += 20000;
    }
    cr_assert_eq(got, TOTAL, "%zu of %u bytes arrived", got, TOTAL);
}

static void open_rig(struct stack_rig *r, struct wrap_arg *w)
{
    struct stack_rig_opts o;
    char err[256] = "";
    stack_rig_opts_init(&o, 2);
    o.link.pool_size = 8192;
    o.wrap = tso_wrap;
    o.wrap_arg = w;
    for (int i = 0; i < 2; i++)
        o.stack[i].sndbuf = o.stack[i].rcvbuf = 1u << 20;
    cr_assert_eq(stack_rig_open(r, &o, err, sizeof err), 0, "%s", err);
}

Test(ustack_tso, super_frames_when_the_pktio_segments)
{
    static struct stack_rig r;
    struct wrap_arg w = {.offer = 1};
    open_rig(&r, &w);
    download(&r);
    struct tso *t = w.t;
    cr_assert_gt(t->tso_frames, 10, "only %llu TSO frames", (unsigned long long)t->tso_frames);
    cr_expect_eq(t->bad, 0, "%llu TSO frames were malformed", (unsigned long long)t->bad);
    cr_expect_gt(t->max_frame, 1514u * 2, "largest frame %llu bytes",
                 (unsigned long long)t->max_frame);
    cr_expect_leq(t->max_frame, PKTIO_TSO_MAX);
    cr_expect_eq(t->mss_seen, 1460, "segment size %u, not the MSS", t->mss_seen);
    cr_expect_gt(t->segments, t->tso_frames * 2, "a TSO frame holds several segments");
    cr_expect_eq(ctr(r.io[0], "tx_tso_frames"), t->tso_frames);
    cr_expect_eq(ctr(r.io[0], "offload_tso"), 1);
    cr_expect_eq(ctr(r.io[1], "drop_tcp_bad_csum") + ctr(r.io[1], "drop_ip_bad_csum"), 0);
    stack_rig_close(&r);
}

Test(ustack_tso, mss_frames_without_it)
{
    static struct stack_rig r;
    struct wrap_arg w = {.offer = 0};
    open_rig(&r, &w);
    download(&r);
    struct tso *t = w.t;
    cr_expect_eq(t->tso_frames, 0);
    cr_expect_leq(t->max_frame, 1514u, "a %llu-byte frame without TSO",
                  (unsigned long long)t->max_frame);
    cr_expect_eq(ctr(r.io[0], "tx_tso_frames"), 0);
    cr_expect_eq(ctr(r.io[0], "offload_tso"), 0);
    stack_rig_close(&r);
}
