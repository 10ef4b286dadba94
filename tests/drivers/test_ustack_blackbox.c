/*
 * test_ustack_blackbox.c — black-box tests of the user-space TCP/IP stack
 * (drivers/ustack) through its public face only: ustack_open() and the
 * netio.h contract, over memlink and impair_wrap (drivers/pktio.h).
 *
 * Two rigs, both single-threaded and deterministic:
 *   pair (setup A): stack A 198.18.0.1 <-> stack B 198.18.0.2 over a memlink
 *     pair; each end is impair-wrapped (seeded) and then wrapped by a test
 *     "tap" pktio that counts and records every frame its stack transmits
 *     and can inject frames into (or hold) its stack's receive side.
 *   peer (setup B): one stack (198.18.0.1) on memlink end A behind a "guard"
 *     pktio that copies every received frame flush against a PROT_NONE page,
 *     so any over-read faults even without ASan; the test owns end B and
 *     speaks raw frames built with frames.h, answering ARP itself, so it can
 *     drop chosen segments and craft bad ones.
 * One virtual clock drives the stacks and the impairment: +1 us per loop
 * iteration that moved anything, +idle_step (100 us) per idle one. Seeds and
 * ISNs are fixed. Hang guards count virtual time and iterations (plus an
 * alarm() against a stack that never returns); nothing asserts wall time.
 * Every test ends in rig_fini(): every handle got exactly one CLOSED event
 * and no event after it, the netio contract held, and the memlink buffers in
 * use are back to the baseline taken after ustack_open (no leak).
 *
 * Tests, by group:
 *   bulk_*: 64 MiB each way on one connection (and 16 connections x 2 MiB)
 *     under loss 0/1/5 %, dup 1 %, reorder 1 %, corruption 0.1 %, all at
 *     once, and 1 ms delay; byte-exact (pattern_check and FNV-1a of both
 *     streams).
 *   close_*, abort_*, connect_*, time_wait_*, half_close_*: every teardown
 *     path, checked on the wire through the taps, TIME_WAIT probed by
 *     replaying the peer's FIN (ACK while in it, RST after).
 *   zero_window_*: persist probes back off; no data lost.
 *   syn_*, synack_*, last_data_*, fin_*, fast_retransmit_*: loss recovery.
 *   undo_*, no_undo_*: a congestion cut undone when the peer D-SACKs every
 *     resend of the episode (RFC 3708), over a link whose ACKs stall (impair's
 *     delay spike) and with crafted D-SACKs; not when the loss was real.
 *   rst_*, syn_in_established_*: RFC 5961.
 *   truncated_*, ethernet_padding_*, bad_tcp_options_*, syn_with_bad_*,
 *   out_of_order_*, window_scale_*: input validation and reassembly.
 *
 * Calls: the stack rig (tests/rig/stack_rig.h: memlink_pair, impair_wrap,
 * ustack_open), netio.h wrappers,
 * pattern_at/pattern_check, frames.h.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/netio.h"
#include "drivers/pktio.h"
#include "drivers/ustack/ustack.h"
#include "drivers/ustack/ustack_query.h"
#include "tests/drivers/frames.h"
#include "tests/rig/stack_rig.h"
#include "workloads/pattern.h"

#define IP_A 0xc6120001u /* 198.18.0.1 */
#define IP_B 0xc6120002u /* 198.18.0.2 */
#define SRV_PORT 80
#define PEER_PORT 40000
#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull
#define TW_NS (100 * MS)
#define MIB (1024ull * 1024ull)
#define MAXH 4096  /* handles tracked per side */
#define MAXC 64    /* connection records per rig */
#define NREC 65536 /* frames a tap records */
#define NSEG 4096  /* segments the raw peer queues */
#define GUARD_SLOTS 512
#define MAX_ITERS 40000000ull
#define PAT_A 0ull      /* pattern offset of the stream A (or the stack) sends */
#define PAT_B 777777ull /* ... and of the stream B (or the raw peer) sends */
#define FNV_INIT 0xcbf29ce484222325ull
#define NO_BAD UINT64_MAX

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* ------------------------------------------------------------------ tap */

struct rec { /* one frame a stack transmitted */
    uint64_t t;
    int kind;
    uint32_t seq, ack, len;
    uint16_t win, sport, dport, flen;
    uint8_t flags;
    uint8_t hdr[128]; /* first bytes of the frame (whole frame if flen <= 128) */
};

struct tap {
    struct pktio base; /* first */
    struct pktio *inner;
    const uint64_t *now; /* the rig's virtual clock */
    uint64_t tx_frames;
    int rx_hold;
    uint32_t swallow; /* with rx_hold: take this many more frames from the link, held in inj */
    struct rec *recs; /* NULL = not recording */
    uint32_t nrec;
    struct pktbuf *inj[4096];
    uint32_t ninj;
    /* drop_tail: drop, once each, the data segments that carry bytes at
     * stream offsets >= drop_off from the first data byte seen after arming */
    int drop_armed, drop_based;
    uint32_t drop_base, drop_off, drop_seqs[16];
    int ndrop;
    uint64_t drop_t; /* when the first one was dropped */
};

static struct tap *tap_of(struct pktio *p)
{
    return (struct tap *)p;
}

static uint16_t tap_rx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct tap *t = tap_of(p);
    while (t->swallow && t->ninj < 4096) {
        uint32_t w = 4096 - t->ninj < t->swallow ? 4096 - t->ninj : t->swallow;
        uint16_t got = pktio_rx_burst(t->inner, t->inj + t->ninj, (uint16_t)(w < 256 ? w : 256));
        if (!got) break;
        t->ninj += got;
        t->swallow -= got;
    }
    if (t->rx_hold) return 0;
    uint16_t k = 0;
    while (k < n && t->ninj) {
        b[k++] = t->inj[0];
        memmove(t->inj, t->inj + 1, --t->ninj * sizeof(t->inj[0]));
    }
    if (k < n) k = (uint16_t)(k + pktio_rx_burst(t->inner, b + k, (uint16_t)(n - k)));
    return k;
}

/* Whether the armed tap drops frame b (first transmission only). */
static int tap_drops(struct tap *t, const struct pktbuf *b)
{
    struct fr_pkt pk;
    if (fr_parse(b->data, b->len, &pk) != FR_K_TCP || !pk.len) return 0;
    if (!t->drop_based) t->drop_based = 1, t->drop_base = pk.seq;
    if (pk.seq + (uint32_t)pk.len - t->drop_base <= t->drop_off) return 0;
    for (int i = 0; i < t->ndrop; i++)
        if (t->drop_seqs[i] == pk.seq) return 0; /* a resend: let it through */
    if (t->ndrop == 16) return 0;
    if (!t->ndrop) t->drop_t = *t->now;
    t->drop_seqs[t->ndrop++] = pk.seq;
    return 1;
}

static uint16_t tap_tx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct tap *t = tap_of(p);
    if (t->drop_armed) { /* one by one, dropping the chosen ones (taken, then freed) */
        for (uint16_t i = 0; i < n; i++) {
            if (tap_drops(t, b[i])) {
                pktio_free(t->inner, &b[i], 1);
                continue;
            }
            if (pktio_tx_burst(t->inner, &b[i], 1) != 1) return i;
            t->tx_frames++;
        }
        return n;
    }
    uint32_t first = t->nrec; /* record before handing over: afterwards they are not ours */
    for (uint16_t i = 0; t->recs && i < n && first + i < NREC; i++) {
        struct rec *r = &t->recs[first + i];
        struct fr_pkt pk;
        memset(r, 0, sizeof(*r));
        r->t = *t->now;
        r->kind = fr_parse(b[i]->data, b[i]->len, &pk);
        r->flen = (uint16_t)b[i]->len;
        memcpy(r->hdr, b[i]->data, b[i]->len < sizeof(r->hdr) ? b[i]->len : sizeof(r->hdr));
        if (r->kind == FR_K_TCP) {
            r->seq = pk.seq, r->ack = pk.ack, r->len = (uint32_t)pk.len, r->win = pk.win;
            r->sport = pk.sport, r->dport = pk.dport, r->flags = pk.flags;
        }
    }
    uint16_t k = pktio_tx_burst(t->inner, b, n);
    t->tx_frames += k;
    if (t->recs) t->nrec = first + k < NREC ? first + k : NREC;
    return k;
}

static struct pktbuf *tap_alloc(struct pktio *p)
{
    return pktio_alloc(tap_of(p)->inner);
}
static void tap_free(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    pktio_free(tap_of(p)->inner, b, n);
}
static void tap_info(struct pktio *p, struct pktio_info *out)
{
    pktio_info(tap_of(p)->inner, out);
}
static int tap_counters(struct pktio *p, struct netio_counter *out, int max)
{
    return pktio_counters(tap_of(p)->inner, out, max);
}
/* The inner link's figure, in order one for one; dropping, the tap could
 * not map it to the stack's frames. */
static int64_t tap_tx_pending(struct pktio *p)
{
    struct tap *t = tap_of(p);
    return t->drop_armed ? -1 : pktio_tx_pending(t->inner);
}
static void tap_close(struct pktio *p)
{
    struct tap *t = tap_of(p);
    if (t->ninj) pktio_free(t->inner, t->inj, (uint16_t)t->ninj);
    pktio_close(t->inner);
    free(t->recs);
    free(t);
}

static const struct pktio_ops tap_ops = {
    .name = "test-tap",
    .help = "records TX, injects RX",
    .rx_burst = tap_rx,
    .tx_burst = tap_tx,
    .alloc = tap_alloc,
    .free = tap_free,
    .info = tap_info,
    .counters = tap_counters,
    .tx_pending = tap_tx_pending,
    .close = tap_close,
};

static struct tap *tap_new(struct pktio *inner, const uint64_t *now, int record)
{
    struct tap *t = calloc(1, sizeof(*t));
    cr_assert_not_null(t);
    t->base.ops = &tap_ops;
    t->inner = inner;
    t->now = now;
    if (record) cr_assert_not_null(t->recs = calloc(NREC, sizeof(*t->recs)));
    return t;
}

/* Queue a frame for the stack above this tap to receive. */
static void tap_inject(struct tap *t, const uint8_t *f, size_t len)
{
    struct pktbuf *b = pktio_alloc(t->inner);
    cr_assert_not_null(b, "tap_inject: pool empty");
    cr_assert(len <= b->cap && t->ninj < 4096);
    memcpy(b->data, f, len);
    b->len = (uint32_t)len;
    b->ol_flags = 0;
    t->inj[t->ninj++] = b;
}

/* First TCP record at index >= from with (flags & mask) == want, or -1. */
static int rec_find(const struct tap *t, uint32_t from, uint8_t mask, uint8_t want)
{
    for (uint32_t i = from; i < t->nrec; i++)
        if (t->recs[i].kind == FR_K_TCP && (t->recs[i].flags & mask) == want) return (int)i;
    return -1;
}
static int rec_count(const struct tap *t, uint32_t from, uint8_t mask, uint8_t want)
{
    int n = 0;
    for (uint32_t i = from; i < t->nrec; i++)
        n += t->recs[i].kind == FR_K_TCP && (t->recs[i].flags & mask) == want;
    return n;
}

/* ---------------------------------------------------------------- guard */

struct guard {
    struct pktio base; /* first */
    struct pktio *inner;
    uint8_t *area;
    size_t page, area_len;
    struct pktbuf bufs[GUARD_SLOTS];
    uint8_t used[GUARD_SLOTS];
    uint32_t nused, hint;
};

static struct guard *guard_of(struct pktio *p)
{
    return (struct guard *)p;
}
static int guard_ours(const struct guard *g, const struct pktbuf *b)
{
    return b >= g->bufs && b < g->bufs + GUARD_SLOTS;
}
static void guard_release(struct guard *g, struct pktbuf *b)
{
    size_t i = (size_t)(b - g->bufs);
    cr_assert(g->used[i], "guard: buffer %zu freed twice", i);
    g->used[i] = 0;
    g->nused--;
}

static uint16_t guard_rx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct guard *g = guard_of(p);
    struct pktbuf *tmp[64];
    uint32_t room = GUARD_SLOTS - g->nused;
    if (n > 64) n = 64;
    if (n > room) n = (uint16_t)room;
    if (!n) return 0;
    uint16_t k = pktio_rx_burst(g->inner, tmp, n);
    for (uint16_t i = 0; i < k; i++) {
        while (g->used[g->hint])
            g->hint = (g->hint + 1) % GUARD_SLOTS;
        uint32_t s = g->hint;
        g->used[s] = 1;
        g->nused++;
        struct pktbuf *gb = &g->bufs[s];
        uint8_t *end = g->area + (2 * (size_t)s + 1) * g->page; /* the PROT_NONE page */
        memset(gb, 0, sizeof(*gb));
        gb->len = gb->cap = tmp[i]->len;
        gb->data = end - tmp[i]->len;
        memcpy(gb->data, tmp[i]->data, tmp[i]->len);
        b[i] = gb;
    }
    if (k) pktio_free(g->inner, tmp, k);
    return k;
}

static uint16_t guard_tx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct guard *g = guard_of(p);
    struct pktbuf *out[64];
    uint16_t m = 0;
    if (n > 64) n = 64;
    for (; m < n; m++) {
        if (!guard_ours(g, b[m])) {
            out[m] = b[m];
            continue;
        }
        struct pktbuf *c = pktio_alloc(g->inner); /* an RX buffer sent back: copy it out */
        if (!c) break;
        memcpy(c->data, b[m]->data, b[m]->len);
        c->len = b[m]->len;
        c->ol_flags = b[m]->ol_flags;
        c->l2_len = b[m]->l2_len;
        c->l3_len = b[m]->l3_len;
        out[m] = c;
    }
    uint16_t k = m ? pktio_tx_burst(g->inner, out, m) : 0;
    for (uint16_t i = 0; i < m; i++) {
        if (!guard_ours(g, b[i])) continue;
        if (i < k)
            guard_release(g, b[i]);
        else
            pktio_free(g->inner, &out[i], 1);
    }
    return k;
}

static struct pktbuf *guard_alloc(struct pktio *p)
{
    return pktio_alloc(guard_of(p)->inner);
}
static void guard_free(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct guard *g = guard_of(p);
    for (uint16_t i = 0; i < n; i++) {
        if (guard_ours(g, b[i]))
            guard_release(g, b[i]);
        else
            pktio_free(g->inner, &b[i], 1);
    }
}
static void guard_info(struct pktio *p, struct pktio_info *out)
{
    pktio_info(guard_of(p)->inner, out);
    out->offloads = 0; /* the stack checks every checksum itself */
}
static int guard_counters(struct pktio *p, struct netio_counter *out, int max)
{
    return pktio_counters(guard_of(p)->inner, out, max);
}
static void guard_close(struct pktio *p)
{
    struct guard *g = guard_of(p);
    pktio_close(g->inner);
    munmap(g->area, g->area_len);
    free(g);
}

static const struct pktio_ops guard_ops = {
    .name = "test-guard",
    .help = "RX frames end at a PROT_NONE page",
    .rx_burst = guard_rx,
    .tx_burst = guard_tx,
    .alloc = guard_alloc,
    .free = guard_free,
    .info = guard_info,
    .counters = guard_counters,
    .close = guard_close,
};

static struct guard *guard_new(struct pktio *inner)
{
    struct guard *g = calloc(1, sizeof(*g));
    cr_assert_not_null(g);
    g->base.ops = &guard_ops;
    g->inner = inner;
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    cr_assert_geq(g->page, PKTIO_MAX_FRAME);
    g->area_len = 2 * GUARD_SLOTS * g->page;
    g->area = mmap(NULL, g->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(g->area, MAP_FAILED);
    for (size_t i = 0; i < GUARD_SLOTS; i++)
        cr_assert_eq(mprotect(g->area + (2 * i + 1) * g->page, g->page, PROT_NONE), 0);
    return g;
}

/* ------------------------------------------------------------------ rig */

struct rig;

struct conn { /* one netio connection as the test sees it */
    int side, handle, live;
    int connected, accepted, closed, eof, data_after_eof, writable, close_called;
    enum netio_close_reason reason;
    uint64_t tx_goal, tx_off, tx_hash, pat_tx;
    uint64_t rx_goal, rx_off, consumed, rx_hash, rx_bad, pat_rx;
    int hold, wait_wr, close_when_done, close_on_eof;
    size_t last_len;
    uint64_t rx_last_t;    /* clock when fresh data last arrived */
    uint64_t accept_batch; /* netio_poll call that returned ACCEPTED */
};

struct side {
    struct netio *io;
    struct tap *tap;     /* pair rig */
    struct pktio *imp;   /* pair rig: the impair wrapper (its counters) */
    struct guard *guard; /* peer rig */
    struct conn *h2c[MAXH];
    struct conn tmpl; /* policy copied into accepted connections */
    uint64_t tx_seen;
    uint64_t frozen_until; /* not polled (nor its app run) before this virtual time: a
                              process descheduled, or too busy to read its RX */
};

struct seg { /* a TCP segment the stack sent to the raw peer */
    uint64_t t;
    uint16_t flen;
    struct fr_pkt p; /* points into f */
    uint8_t f[PKTIO_MAX_FRAME];
};

struct rig {
    struct stack_rig sr; /* the stacks over memlink; sr.now_ns is the clock */
    uint64_t idle_step, iters, tw_ns;
    int nsides;
    struct side s[2];
    struct pktio *mem; /* memlink end A (sr.link[0]): in_use is link-wide */
    uint32_t base_in_use;
    uint64_t batch; /* netio_poll calls so far */
    struct conn conns[MAXC];
    int nconns;
    int errors;
    char err[512];
    /* peer rig */
    struct pktio *peer; /* memlink end B (sr.peer) */
    uint8_t peer_mac[6], stack_mac[6];
    struct seg *segs;
    uint32_t seg_head, seg_count;
    uint64_t arp_answered, peer_other;
    int rst_all;            /* fini: answer every stack segment with RST */
    int arp_ignore;         /* ARP requests for IP_B left to ignore */
    uint64_t arp_ignored_t; /* when the last one was ignored */
};

struct rig_opts {
    double loss, dup, reorder, corrupt;
    uint64_t seed, delay_ns;
    uint32_t rcvbuf[2], sndbuf[2], max_conns[2];
    int delack_off[2]; /* that side ACKs every segment at once */
    int record;
    const char *link_opt; /* memlink option ("ring_size=8"); the link is then not impaired
                             (impair's own queue would absorb the back-pressure) */
};

#define rig_fail(r, ...)                                                                           \
    do {                                                                                           \
        if (!(r)->errors++) snprintf((r)->err, sizeof((r)->err), __VA_ARGS__);                     \
    } while (0)

static struct conn *conn_new(struct rig *r, int si, int h)
{
    cr_assert_lt(r->nconns, MAXC, "too many connections");
    cr_assert(h >= 0 && h < MAXH, "handle %d out of the tracked range", h);
    struct conn *c = &r->conns[r->nconns++];
    memset(c, 0, sizeof(*c));
    c->side = si;
    c->handle = h;
    c->live = 1;
    c->tx_hash = c->rx_hash = FNV_INIT;
    c->rx_bad = NO_BAD;
    r->s[si].h2c[h] = c;
    return c;
}

static void conn_close(struct rig *r, struct conn *c)
{
    if (!c->live || c->close_called) return;
    c->close_called = 1;
    netio_close(r->s[c->side].io, c->handle);
}

static void conn_abort(struct rig *r, struct conn *c)
{
    if (!c->live || c->close_called) return;
    c->close_called = 1;
    netio_abort(r->s[c->side].io, c->handle);
}

/* Consume whatever a holding connection has been shown. */
static void conn_consume_held(struct rig *r, struct conn *c)
{
    uint64_t held = c->rx_off - c->consumed;
    if (c->live && held) netio_consume(r->s[c->side].io, c->handle, held);
    c->consumed += held;
}

static void on_readable(struct rig *r, struct side *s, struct conn *c, const struct netio_event *ev)
{
    uint64_t held = c->rx_off - c->consumed;
    if (ev->len && !ev->data) rig_fail(r, "READABLE len %zu with NULL data", ev->len);
    if (ev->len < held) {
        rig_fail(r, "READABLE len %zu < %" PRIu64 " bytes shown before and not consumed", ev->len,
                 held);
        return;
    }
    size_t fresh = ev->len - held;
    if (fresh) {
        const uint8_t *d = ev->data + held;
        if (c->eof) c->data_after_eof++;
        c->rx_hash = fnv(c->rx_hash, d, fresh);
        if (c->rx_bad == NO_BAD) {
            size_t ok = pattern_check(d, c->pat_rx + c->rx_off, fresh);
            if (ok < fresh) c->rx_bad = c->rx_off + ok;
        }
        c->rx_off += fresh;
        c->rx_last_t = r->sr.now_ns;
    }
    c->last_len = ev->len;
    if (ev->eof) c->eof = 1;
    if (!c->hold && ev->len && !c->close_called) {
        netio_consume(s->io, c->handle, ev->len);
        c->consumed += ev->len;
    }
    if (c->eof && c->close_on_eof) conn_close(r, c);
}

static void on_event(struct rig *r, int si, const struct netio_event *ev)
{
    struct side *s = &r->s[si];
    if (ev->conn < 0 || ev->conn >= MAXH) {
        rig_fail(r, "side %d: event %d for handle %d (out of range)", si, ev->type, ev->conn);
        return;
    }
    struct conn *c = s->h2c[ev->conn];
    if (ev->type == NETIO_EV_ACCEPTED) {
        if (ev->ctx != s) rig_fail(r, "side %d: ACCEPTED without the listener's ctx", si);
        if (c) rig_fail(r, "side %d: ACCEPTED on live handle %d", si, ev->conn);
        struct conn t = s->tmpl;
        c = conn_new(r, si, ev->conn);
        c->tx_goal = t.tx_goal, c->pat_tx = t.pat_tx, c->rx_goal = t.rx_goal;
        c->pat_rx = t.pat_rx, c->hold = t.hold, c->close_on_eof = t.close_on_eof;
        c->close_when_done = t.close_when_done;
        c->accepted = 1;
        c->accept_batch = r->batch;
        netio_set_ctx(s->io, ev->conn, c);
        return;
    }
    if (!c) {
        rig_fail(r, "side %d: event %d for handle %d with no open connection (after CLOSED?)", si,
                 ev->type, ev->conn);
        return;
    }
    /* later events of the ACCEPTED's own batch may predate netio_set_ctx */
    int stale_ok = c->accepted && c->accept_batch == r->batch && (!ev->ctx || ev->ctx == s);
    if (ev->ctx != c && !stale_ok)
        rig_fail(r, "side %d handle %d: event %d with a foreign ctx", si, ev->conn, ev->type);
    switch (ev->type) {
    case NETIO_EV_CONNECTED:
        if (c->connected++ || c->accepted) rig_fail(r, "handle %d: extra CONNECTED", ev->conn);
        break;
    case NETIO_EV_READABLE:
        on_readable(r, s, c, ev);
        break;
    case NETIO_EV_WRITABLE:
        c->writable++;
        c->wait_wr = 0;
        break;
    case NETIO_EV_CLOSED:
        c->closed++;
        c->reason = ev->reason;
        c->live = 0;
        s->h2c[ev->conn] = NULL;
        break;
    default:
        rig_fail(r, "side %d: unknown event type %d", si, ev->type);
    }
}

/* Send what each connection still has to send; close those that are done. */
static int pump(struct rig *r)
{
    int moved = 0;
    for (int i = 0; i < r->nconns; i++) {
        struct conn *c = &r->conns[i];
        if (!c->live || c->close_called || !(c->connected || c->accepted)) continue;
        if (r->sr.now_ns < r->s[c->side].frozen_until) continue;
        struct netio *io = r->s[c->side].io;
        while (c->tx_off < c->tx_goal && !c->wait_wr) {
            size_t want = c->tx_goal - c->tx_off > 65536 ? 65536 : c->tx_goal - c->tx_off, got;
            const uint8_t *p = pattern_at(c->pat_tx + c->tx_off, want, &got);
            ssize_t n = netio_send(io, c->handle, p, got);
            if (n < 0) {
                rig_fail(r, "side %d handle %d: netio_send failed", c->side, c->handle);
                c->wait_wr = 1;
                break;
            }
            c->tx_hash = fnv(c->tx_hash, p, (size_t)n);
            c->tx_off += (uint64_t)n;
            moved |= n > 0;
            if ((size_t)n < got) c->wait_wr = 1;
        }
        if (c->close_when_done && c->tx_off >= c->tx_goal && c->rx_off >= c->rx_goal)
            conn_close(r, c), moved = 1;
    }
    return moved;
}

static int peer_poll(struct rig *r);

static int rig_step(struct rig *r)
{
    struct netio_event evs[64];
    int busy = 0;
    for (int si = 0; si < r->nsides; si++) {
        if (r->sr.now_ns < r->s[si].frozen_until) continue;
        int n = netio_poll(r->s[si].io, evs, 64, 0);
        r->batch++;
        if (n < 0 || n > 64) {
            rig_fail(r, "side %d: netio_poll returned %d", si, n);
            continue;
        }
        for (int i = 0; i < n; i++)
            on_event(r, si, &evs[i]);
        busy |= n > 0;
    }
    busy |= pump(r);
    if (r->peer) busy |= peer_poll(r);
    for (int si = 0; si < r->nsides; si++) {
        struct side *s = &r->s[si];
        if (s->tap && s->tap->tx_frames != s->tx_seen) s->tx_seen = s->tap->tx_frames, busy = 1;
    }
    r->sr.now_ns += busy ? US : r->idle_step;
    r->iters++;
    return busy;
}

typedef int (*cond_fn)(struct rig *r, void *arg);

/* Step until done(); 0 on virtual timeout, iteration cap or a recorded error. */
static int rig_run(struct rig *r, cond_fn done, void *arg, uint64_t max_ns)
{
    uint64_t end = r->sr.now_ns + max_ns, it = 0;
    while (!done(r, arg)) {
        if (r->sr.now_ns >= end || r->errors || it++ > MAX_ITERS) return 0;
        rig_step(r);
    }
    return 1;
}

static void rig_advance(struct rig *r, uint64_t ns)
{
    uint64_t end = r->sr.now_ns + ns;
    while (r->sr.now_ns < end)
        rig_step(r);
}

/* Step until cond or fail the test naming `what` (a string). */
#define RUN(r, cond, arg, ns, what)                                                                \
    cr_assert(rig_run(r, cond, arg, ns), "%s: not done within %.3f s virtual (%d errors: %s)",     \
              what, (double)(ns) / 1e9, (r)->errors, (r)->err)

static int cond_closed(struct rig *r, void *a)
{
    (void)r;
    return ((struct conn *)a)->closed > 0;
}
static int cond_all_closed(struct rig *r, void *a)
{
    (void)a;
    for (int i = 0; i < r->nconns; i++)
        if (!r->conns[i].closed) return 0;
    return 1;
}
static int cond_connected(struct rig *r, void *a)
{
    (void)r;
    const struct conn *c = a;
    return c->connected || c->closed;
}
static int cond_rx_goal(struct rig *r, void *a)
{
    (void)r;
    const struct conn *c = a;
    return c->rx_off >= c->rx_goal || c->closed;
}
static struct conn *accepted_on(struct rig *r, int si)
{
    for (int i = r->nconns - 1; i >= 0; i--)
        if (r->conns[i].side == si && r->conns[i].accepted) return &r->conns[i];
    return NULL;
}
static int cond_accepted(struct rig *r, void *a)
{
    return accepted_on(r, *(int *)a) != NULL;
}

static uint32_t rig_in_use(struct rig *r)
{
    uint32_t n = r->mem->ops->in_use ? r->mem->ops->in_use(r->mem) : 0;
    for (int si = 0; si < r->nsides; si++)
        if (r->s[si].guard) n += r->s[si].guard->nused;
    return n;
}

/* Our part of each stack's configuration (the rig has set address, prefix,
 * clock and cpu). */
static void stack_cfg(struct ustack_config *c, struct rig *r, int idx, const struct rig_opts *o)
{
    c->max_conns = o && o->max_conns[idx] ? o->max_conns[idx] : 64;
    if (o && o->rcvbuf[idx]) c->rcvbuf = o->rcvbuf[idx];
    if (o && o->sndbuf[idx]) c->sndbuf = o->sndbuf[idx];
    if (o && o->delack_off[idx]) c->delack_off = 1;
    c->time_wait_ns = r->tw_ns;
    c->isn_seed = 0x5eed0001ull + (uint64_t)idx;
    c->busy_poll = 1;
    c->gratuitous_arp = 0;
}

static struct rig *rig_alloc(void)
{
    struct rig *r = calloc(1, sizeof(*r));
    cr_assert_not_null(r);
    r->idle_step = 100 * US;
    r->tw_ns = TW_NS;
    pattern_init();
    alarm(300); /* against a stack that never returns from netio_poll */
    return r;
}

static void rig_settle(struct rig *r)
{
    for (int i = 0; i < 10; i++)
        rig_step(r);
    r->base_in_use = rig_in_use(r);
}

/* stack_rig wrap: a recording tap (pair rig) or a guard (peer rig) outermost. */
struct wrap_req {
    struct rig *r;
    int guard, record;
};

static struct pktio *rig_wrap(struct stack_rig *sr, int side, struct pktio *p, void *arg, char *err,
                              size_t errlen)
{
    struct wrap_req *w = arg;
    if (w->guard) {
        struct guard *g = guard_new(p);
        w->r->s[side].guard = g;
        return &g->base;
    }
    struct tap *t = tap_new(p, &sr->now_ns, w->record);
    w->r->s[side].tap = t;
    return &t->base;
}

static void rig_start(struct rig *r, struct stack_rig_opts *so, struct wrap_req *w)
{
    char err[256] = "";
    so->start_ns = SEC;
    so->wrap = rig_wrap;
    so->wrap_arg = w;
    cr_assert_eq(stack_rig_open(&r->sr, so, err, sizeof(err)), 0, "stack_rig_open: %s", err);
    r->nsides = r->sr.nstacks;
    r->mem = r->sr.link[0];
    r->peer = r->sr.peer;
    for (int i = 0; i < r->nsides; i++) {
        r->s[i].io = r->sr.io[i];
        r->s[i].imp = r->sr.imp[i];
        r->s[i].tmpl.pat_tx = i ? PAT_B : PAT_A;
        r->s[i].tmpl.pat_rx = i ? PAT_A : PAT_B;
    }
    rig_settle(r);
}

/* Setup A: two stacks back to back, impaired both ways. */
static struct rig *rig_pair(const struct rig_opts *o)
{
    static const struct rig_opts none;
    struct rig *r = rig_alloc();
    if (!o) o = &none;
    struct stack_rig_opts so;
    stack_rig_opts_init(&so, 2); /* IP_A, IP_B */
    so.link.pool_size = 4096;
    const char *lopts[2] = {o->link_opt, NULL};
    if (o->link_opt) so.link.opts = lopts;
    so.impair = !o->link_opt;
    for (int i = 0; i < 2; i++) {
        so.impair_cfg[i] = (struct impair_config){.seed = o->seed * 2 + (uint64_t)i + 1,
                                                  .loss = o->loss,
                                                  .dup = o->dup,
                                                  .reorder = o->reorder,
                                                  .corrupt = o->corrupt,
                                                  .delay_ns = o->delay_ns};
        stack_cfg(&so.stack[i], r, i, o);
    }
    struct wrap_req w = {.r = r, .record = o->record};
    rig_start(r, &so, &w);
    return r;
}

static void rig_listen(struct rig *r, int si, uint32_t ip, uint16_t port)
{
    char err[256] = "";
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(ip);
    cr_assert_geq(netio_listen(r->s[si].io, &a, &r->s[si], err, sizeof(err)), 0, "netio_listen: %s",
                  err);
}

static struct conn *rig_connect(struct rig *r, int si, uint32_t ip, uint16_t port)
{
    char err[256] = "";
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(ip);
    cr_assert_lt(r->nconns, MAXC);
    struct conn *slot = &r->conns[r->nconns]; /* ctx must be known before the call */
    int h = netio_connect(r->s[si].io, &a, slot, err, sizeof(err));
    cr_assert_geq(h, 0, "netio_connect: %s", err);
    struct conn *c = conn_new(r, si, h);
    cr_assert_eq(c, slot);
    c->pat_tx = r->s[si].tmpl.pat_tx;
    c->pat_rx = r->s[si].tmpl.pat_rx;
    return c;
}

/* ---------------------------------------------------------- counters */

struct csnap {
    int n;
    struct netio_counter c[512];
};

static void csnap_take(struct netio *io, struct csnap *s)
{
    s->n = netio_counters(io, s->c, 512);
    cr_assert_geq(s->n, 0);
}
static uint64_t csnap_sum(const struct csnap *s, const char *prefix)
{
    uint64_t v = 0;
    for (int i = 0; i < s->n; i++)
        if (strncmp(s->c[i].name, prefix, strlen(prefix)) == 0) v += s->c[i].value;
    return v;
}
static uint64_t csnap_has(const struct csnap *s, const char *sub)
{
    uint64_t v = 0;
    for (int i = 0; i < s->n; i++)
        if (strstr(s->c[i].name, sub)) v += s->c[i].value;
    return v;
}
/* "name+delta ..." of the counters that changed between a and b. */
static const char *csnap_diff(const struct csnap *a, const struct csnap *b, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < b->n && k < n; i++) {
        uint64_t old = i < a->n ? a->c[i].value : 0;
        if (b->c[i].value != old)
            k += (size_t)snprintf(out + k, n - k, "%s+%" PRIu64 " ", b->c[i].name,
                                  b->c[i].value - old);
    }
    if (!out[0]) snprintf(out, n, "(no counter changed)");
    return out;
}
static uint64_t pktio_counter(struct pktio *p, const char *name)
{
    struct netio_counter c[64];
    int n = pktio_counters(p, c, 64);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    return 0;
}

/* ------------------------------------------------------------ fini */

static void rig_fini(struct rig *r)
{
    for (int i = 0; i < r->nconns; i++)
        conn_abort(r, &r->conns[i]);
    r->rst_all = 1;
    int ok = rig_run(r, cond_all_closed, NULL, 120 * SEC);
    rig_advance(r, 3 * r->tw_ns + 2 * SEC); /* TIME_WAIT and stray retransmissions end */
    cr_expect(ok, "not every connection got a CLOSED event within 120 s (virtual)");
    for (int i = 0; i < r->nconns; i++) {
        const struct conn *c = &r->conns[i];
        cr_expect_eq(c->closed, 1, "side %d handle %d (conn #%d): %d CLOSED events", c->side,
                     c->handle, i, c->closed);
        cr_expect_eq(c->data_after_eof, 0, "side %d handle %d: data after eof", c->side, c->handle);
    }
    cr_expect_eq(r->errors, 0, "%d netio contract violations, first: %s", r->errors, r->err);
    uint32_t iu = rig_in_use(r);
    cr_expect_eq(iu, r->base_in_use, "pktio buffers in use %u, baseline %u (leak)", iu,
                 r->base_in_use);
    stack_rig_close(&r->sr);
    free(r->segs);
    free(r);
    alarm(0);
}

/* ============================================================ setup A tests */

/* 1. bulk both ways on one connection, byte-exact, under impairment */

static void bulk(const struct rig_opts *o, uint64_t bytes)
{
    struct rig *r = rig_pair(o);
    r->s[1].tmpl.tx_goal = r->s[1].tmpl.rx_goal = bytes;
    r->s[1].tmpl.close_when_done = 1;
    rig_listen(r, 1, IP_B, SRV_PORT);
    struct conn *a = rig_connect(r, 0, IP_B, SRV_PORT);
    a->tx_goal = a->rx_goal = bytes;
    a->close_when_done = 1;
    RUN(r, cond_all_closed, NULL, 3600 * SEC, "bulk transfer");
    struct conn *b = accepted_on(r, 1);
    cr_assert_not_null(b);
    cr_assert(a->tx_off == bytes && b->tx_off == bytes && a->rx_off == bytes && b->rx_off == bytes,
              "incomplete at %.3f s virtual: A sent %" PRIu64 " got %" PRIu64 " closed %s; "
              "B sent %" PRIu64 " got %" PRIu64 " closed %s",
              (double)(r->sr.now_ns - SEC) / 1e9, a->tx_off, a->rx_off,
              netio_close_reason_str(a->reason), b->tx_off, b->rx_off,
              netio_close_reason_str(b->reason));
    cr_assert_eq(b->rx_off, bytes, "B received %" PRIu64 " of %" PRIu64, b->rx_off, bytes);
    cr_assert_eq(a->rx_off, bytes, "A received %" PRIu64 " of %" PRIu64, a->rx_off, bytes);
    cr_assert_eq(b->rx_bad, NO_BAD, "A->B stream differs first at byte %" PRIu64, b->rx_bad);
    cr_assert_eq(a->rx_bad, NO_BAD, "B->A stream differs first at byte %" PRIu64, a->rx_bad);
    cr_assert_eq(b->rx_hash, a->tx_hash, "A->B hash differs");
    cr_assert_eq(a->rx_hash, b->tx_hash, "B->A hash differs");
    cr_assert(a->reason == NETIO_CLOSE_LOCAL || a->reason == NETIO_CLOSE_PEER_FIN,
              "A closed with %s", netio_close_reason_str(a->reason));
    cr_assert(b->reason == NETIO_CLOSE_LOCAL || b->reason == NETIO_CLOSE_PEER_FIN,
              "B closed with %s", netio_close_reason_str(b->reason));
    if (o && o->corrupt > 0) { /* corrupted frames were caught by a checksum */
        struct csnap sa, sb;
        csnap_take(r->s[0].io, &sa);
        csnap_take(r->s[1].io, &sb);
        uint64_t hit = pktio_counter(r->s[0].imp, "impair_corrupted") +
                       pktio_counter(r->s[1].imp, "impair_corrupted");
        uint64_t caught = csnap_has(&sa, "csum") + csnap_has(&sb, "csum");
        cr_assert_gt(hit, 0, "impair corrupted nothing");
        cr_assert_gt(caught, 0, "%" PRIu64 " frames corrupted, no checksum drop counted", hit);
        cr_log_info("corrupt: %" PRIu64 " frames corrupted, %" PRIu64 " checksum drops", hit,
                    caught);
    }
    struct csnap sa, sb;
    csnap_take(r->s[0].io, &sa);
    csnap_take(r->s[1].io, &sb);
    uint64_t rexmit = csnap_sum(&sa, "retransmits") + csnap_sum(&sb, "retransmits");
    uint64_t rto = csnap_sum(&sa, "timeouts") + csnap_sum(&sb, "timeouts");
    uint64_t stalls = csnap_sum(&sa, "tx_stall_full") + csnap_sum(&sb, "tx_stall_full");
    uint64_t dropped = csnap_sum(&sa, "tx_dropped_full") + csnap_sum(&sb, "tx_dropped_full");
    int impaired = o && (o->loss > 0 || o->dup > 0 || o->reorder > 0 || o->corrupt > 0);
    /* whatever the impairment, our options are well formed */
    cr_assert_eq(csnap_sum(&sa, "drop_tcp_bad_option") + csnap_sum(&sb, "drop_tcp_bad_option"), 0);
    if (o && o->dup > 0) { /* each duplicated data segment drew a D-SACK (RFC 2883) */
        for (int i = 0; i < 2; i++) {
            const struct csnap *snd = i ? &sb : &sa, *rcv = i ? &sa : &sb;
            uint64_t sent = csnap_sum(rcv, "dsack_sent"), got = csnap_sum(snd, "dsack_rcvd");
            cr_assert_gt(sent, 0, "side %d: duplicates but no D-SACK sent", 1 - i);
            /* every D-SACK arrives (no loss), some twice (duplicated too) */
            if (o->loss == 0)
                cr_assert(got >= sent && got <= 2 * sent,
                          "side %d received %" PRIu64 " D-SACKs, its peer sent %" PRIu64, i, got,
                          sent);
        }
    }
    if (!impaired) { /* a lossless link: nothing may be lost, so nothing is resent */
        cr_assert_eq(rexmit, 0,
                     "%" PRIu64 " retransmissions (%" PRIu64 " by RTO) on a lossless "
                     "link",
                     rexmit, rto);
        cr_assert_eq(dropped, 0, "%" PRIu64 " frames dropped on a full TX queue", dropped);
    }
    if (o && o->link_opt) { /* the small ring filled: segments waited, none was lost */
        uint64_t full = pktio_counter(r->sr.link[0], "tx_ring_full") +
                        pktio_counter(r->sr.link[1], "tx_ring_full");
        cr_assert_gt(full, 0, "the memlink ring (%s) never refused a frame", o->link_opt);
        cr_assert_gt(stalls, 0, "the ring refused %" PRIu64 " frames but no segment stalled", full);
    }
    cr_log_info("bulk %" PRIu64 " MiB each way: %.3f s virtual, %" PRIu64 " iterations, "
                "frames A %" PRIu64 " B %" PRIu64 ", retransmits %" PRIu64 " (timeouts %" PRIu64
                "), tx_stall_full %" PRIu64 ", tx_dropped_full %" PRIu64,
                (uint64_t)(bytes / MIB), (double)(r->sr.now_ns - SEC) / 1e9, r->iters,
                r->s[0].tap->tx_frames, r->s[1].tap->tx_frames, rexmit, rto, stalls, dropped);
    rig_fini(r);
}

#define BULK (64 * MIB)

Test(ustack_bb, bulk_64m_both_ways_clean)
{
    struct rig_opts o = {.seed = 1};
    bulk(&o, BULK);
}
/* Back-pressure is not loss: the peer's RX ring holds 8 frames, so the TX
 * queue fills again and again; every segment waits its turn (tx_stall_full)
 * and none is resent. */
Test(ustack_bb, bulk_64m_both_ways_small_ring_no_retransmits)
{
    struct rig_opts o = {.seed = 12, .link_opt = "ring_size=8"};
    bulk(&o, BULK);
}
Test(ustack_bb, bulk_64m_both_ways_loss_1pct)
{
    struct rig_opts o = {.seed = 2, .loss = 0.01};
    bulk(&o, BULK);
}
Test(ustack_bb, bulk_64m_both_ways_loss_5pct)
{
    struct rig_opts o = {.seed = 3, .loss = 0.05};
    bulk(&o, BULK);
}
Test(ustack_bb, bulk_64m_both_ways_dup_1pct)
{
    struct rig_opts o = {.seed = 4, .dup = 0.01};
    bulk(&o, BULK);
}
Test(ustack_bb, bulk_64m_both_ways_reorder_1pct)
{
    struct rig_opts o = {.seed = 5, .reorder = 0.01};
    bulk(&o, BULK);
}
Test(ustack_bb, bulk_64m_both_ways_corrupt_0_1pct)
{
    struct rig_opts o = {.seed = 6, .corrupt = 0.001};
    bulk(&o, BULK);
}
Test(ustack_bb, bulk_64m_both_ways_all_impairments)
{
    struct rig_opts o = {.seed = 10, .loss = 0.01, .dup = 0.01, .reorder = 0.01, .corrupt = 0.001};
    bulk(&o, BULK);
}
/* a real RTT (2 ms) so RTO estimation and window growth matter */
Test(ustack_bb, bulk_64m_both_ways_1ms_delay_loss_1pct)
{
    struct rig_opts o = {.seed = 11, .loss = 0.01, .delay_ns = 1 * MS};
    bulk(&o, BULK);
}

/* 1a. A lossless link with a late end: nothing is resent. 16 bulk
 * transfers B -> A; A is then not polled for 30 ms (descheduled, or too busy
 * to read: B's segments wait in the link's queue), later B is not (A's ACKs
 * of whole windows wait in B's RX queue). Each time the silence outlasts
 * the probe timeout (2 SRTT + 8 ms), yet nothing was lost: B's probes wait
 * while the link says its tail has not left (tlp_deferred_queued), its
 * timers wait until RX is read (timers_deferred_rx). On dpdk@ring the same
 * two happen when the machine is busy (issue 16: 58-63 probes a trial). */
static void late_end(int which)
{
    /* A ACKs every segment (as Linux in quickack mode), not once per RX
     * burst: the most ACKs a late B can find waiting */
    struct rig_opts o = {.seed = 13, .delack_off = {1, 0}};
    struct rig *r = rig_pair(&o);
    uint64_t n = 16 * MIB;
    r->s[1].tmpl.tx_goal = n;
    r->s[1].tmpl.close_when_done = 1;
    rig_listen(r, 1, IP_B, SRV_PORT);
    for (int i = 0; i < 16; i++) {
        struct conn *a = rig_connect(r, 0, IP_B, SRV_PORT);
        a->rx_goal = n;
        a->close_when_done = 1;
    }
    rig_advance(r, 200 * US); /* windows open, SRTTs of microseconds */
    struct csnap before, after;
    csnap_take(r->s[1].io, &before);
    for (int k = 0; k < 3; k++) {
        int si = which == 2 ? 0 : which;
        if (which == 2) { /* A's stack gets nothing for 30 ms; its link takes all but the
                             last 20 frames B sent (most connections' tails) after 2 ms */
            r->s[0].tap->rx_hold = 1;
            rig_advance(r, 2 * MS); /* B's windows fill: all of it waits in the link */
            int64_t q = pktio_tx_pending(&r->s[1].tap->base);
            cr_assert_gt(q, 40, "%lld frames wait for A: the test shows nothing", (long long)q);
            r->s[0].tap->swallow = (uint32_t)(q - 20);
            rig_advance(r, 28 * MS);
            r->s[0].tap->rx_hold = 0;
            rig_advance(r, 100 * US);
            continue;
        }
        r->s[si].frozen_until = r->sr.now_ns + 30 * MS;
        rig_advance(r, 31 * MS);
        rig_advance(r, 100 * US);
    }
    RUN(r, cond_all_closed, NULL, 3600 * SEC, "16 transfers");
    for (int i = 0; i < r->nconns; i++) {
        const struct conn *c = &r->conns[i];
        if (c->side == 0)
            cr_assert(c->rx_off == n && c->rx_bad == NO_BAD,
                      "conn %d: got %" PRIu64 " bad at %" PRIu64 " closed %s", i, c->rx_off,
                      c->rx_bad, netio_close_reason_str(c->reason));
    }
    csnap_take(r->s[1].io, &after);
    char d[2048];
    csnap_diff(&before, &after, d, sizeof(d));
    cr_log_info("late end %d: sender counters: %s", which, d);
    struct csnap sa;
    csnap_take(r->s[0].io, &sa);
    cr_assert_eq(csnap_sum(&after, "retransmits") + csnap_sum(&sa, "retransmits"), 0,
                 "retransmissions on a lossless link: %s", d);
    cr_assert_eq(csnap_sum(&after, "tlp_probes"), 0, "%s", d);
    if (which != 1) /* the receiver was late: the tails waited in the link */
        cr_assert_gt(csnap_sum(&after, "tlp_deferred_queued"), 0, "%s", d);
    if (which == 1) /* the sender was late: ACKs waited in its RX queue */
        cr_assert_gt(csnap_sum(&after, "timers_deferred_rx"), 0, "%s", d);
    if (which == 2) /* some tails were in A's hands: A took nothing more */
        cr_assert_gt(csnap_sum(&after, "tlp_deferred_stalled"), 0, "%s", d);
    rig_fini(r);
}
Test(ustack_bb, late_receiver_on_lossless_link_no_retransmits)
{
    late_end(0);
}
Test(ustack_bb, late_sender_on_lossless_link_no_retransmits)
{
    late_end(1);
}
/* A takes half the frames that wait for it (the tails of some connections
 * among them), then stops: B's probes wait, A is not taking anything
 * (tlp_deferred_stalled). */
Test(ustack_bb, receiver_stalled_holding_tails_no_retransmits)
{
    late_end(2);
}

/* 1b. tail loss of a response: the last k segments of a 10-segment
 * response are lost once, on a link with 2 ms RTT. The tail loss probe
 * (RFC 8985) and, with SACK, RACK's reordering window recover them in a
 * few round trips; without them only the RTO (200 ms) would. */

static void establish(struct rig *r, struct conn **pa, struct conn **pb);

static double tail_loss(int k, int tlp_sack_off)
{
    struct rig_opts o = {.seed = 20 + (uint64_t)k, .delay_ns = 1 * MS};
    struct rig *r = rig_alloc();
    struct stack_rig_opts so;
    stack_rig_opts_init(&so, 2);
    so.link.pool_size = 4096;
    so.impair = 1; /* only the 1 ms delay each way */
    for (int i = 0; i < 2; i++) {
        so.impair_cfg[i] =
            (struct impair_config){.seed = o.seed * 2 + (uint64_t)i, .delay_ns = o.delay_ns};
        stack_cfg(&so.stack[i], r, i, &o);
        so.stack[i].tlp_off = so.stack[i].sack_off = tlp_sack_off;
    }
    struct wrap_req w = {.r = r};
    rig_start(r, &so, &w);
    struct conn *a, *b;
    establish(r, &a, &b);
    struct csnap before, after;
    csnap_take(r->s[1].io, &before);
    const uint64_t nseg = 10, resp = nseg * 1460;
    struct tap *t = r->s[1].tap;
    t->drop_off = (uint32_t)(resp - (uint64_t)k * 1460);
    t->drop_armed = 1;
    a->rx_goal += resp;
    b->tx_goal += resp;
    RUN(r, cond_rx_goal, a, 10 * SEC, "response");
    cr_assert_eq(t->ndrop, k, "dropped %d segments, wanted the last %d", t->ndrop, k);
    cr_assert_eq(a->rx_off, a->rx_goal);
    cr_assert_eq(a->rx_bad, NO_BAD, "response differs at byte %" PRIu64, a->rx_bad);
    double rec = (double)(a->rx_last_t - t->drop_t) / 1e9;
    csnap_take(r->s[1].io, &after);
    char d[2048];
    cr_log_info("tail loss of %d of %" PRIu64 " segments (%s): recovered in %.1f ms; server "
                "counters: %s",
                k, nseg, tlp_sack_off ? "TLP and SACK off" : "TLP, RACK, SACK", rec * 1e3,
                csnap_diff(&before, &after, d, sizeof(d)));
    if (!tlp_sack_off) {
        cr_assert_eq(csnap_sum(&after, "timeouts") - csnap_sum(&before, "timeouts"), 0,
                     "the RTO fired: %s", d);
        cr_assert_geq(csnap_sum(&after, "tlp_probes") - csnap_sum(&before, "tlp_probes"), 1,
                      "no tail loss probe: %s", d);
    }
    rig_fini(r);
    return rec;
}

/* One segment lost: the ACK of the ninth (delayed 10 ms by the receiver)
 * leaves one segment in flight, and a probe for a lone segment waits 2 SRTT
 * plus tlp_ack_delay (50 ms) lest it race the peer's delayed ACK (RFC 8985
 * 7.2); still well under the 200 ms RTO (Linux waits about an RTO here). */
Test(ustack_bb, tail_loss_1_segment_recovered_before_rto)
{
    double t = tail_loss(1, 0);
    cr_assert_lt(t, 0.100, "recovery took %.1f ms", t * 1e3);
}
/* Two or three: the probe goes after 2 SRTT, its SACK shows the holes,
 * RACK's reordering window (SRTT / 4) declares them lost: a few RTTs. */
Test(ustack_bb, tail_loss_2_segments_recovered_in_rtts)
{
    double t = tail_loss(2, 0);
    cr_assert_lt(t, 0.030, "recovery took %.1f ms", t * 1e3);
}
Test(ustack_bb, tail_loss_3_segments_recovered_in_rtts)
{
    double t = tail_loss(3, 0);
    cr_assert_lt(t, 0.030, "recovery took %.1f ms", t * 1e3);
}
/* the same loss with TLP and SACK off waits for the RTO: what the above save */
Test(ustack_bb, tail_loss_2_segments_without_tlp_waits_for_rto)
{
    double t = tail_loss(2, 1);
    cr_assert_geq(t, 0.200, "recovery took %.1f ms without TLP/SACK", t * 1e3);
}

/* 2. handshake and teardown paths */

/* Connect A -> B:80 and exchange 1000 bytes each way; the link then idles. */
static void establish(struct rig *r, struct conn **pa, struct conn **pb)
{
    int one = 1;
    rig_listen(r, 1, IP_B, SRV_PORT);
    struct conn *a = rig_connect(r, 0, IP_B, SRV_PORT);
    RUN(r, cond_connected, a, 5 * SEC, "connect");
    cr_assert(a->connected && !a->closed, "connect failed: %s", netio_close_reason_str(a->reason));
    RUN(r, cond_accepted, &one, 5 * SEC, "accept");
    struct conn *b = accepted_on(r, 1);
    a->tx_goal = a->rx_goal = b->tx_goal = b->rx_goal = 1000;
    RUN(r, cond_rx_goal, a, 5 * SEC, "B->A data");
    RUN(r, cond_rx_goal, b, 5 * SEC, "A->B data");
    cr_assert_eq(a->rx_bad, NO_BAD);
    cr_assert_eq(b->rx_bad, NO_BAD);
    rig_advance(r, 50 * MS); /* delayed ACKs out */
    *pa = a, *pb = b;
}

static const struct rec *rec_at(const struct tap *t, int i)
{
    cr_assert_geq(i, 0, "segment not found");
    return &t->recs[i];
}

/* Replays `fin` (a frame the other side sent) into tap t, then expects t's
 * stack to answer within 5 ms with an ACK (in TIME_WAIT) or a RST (closed). */
static void replay_expect(struct rig *r, struct tap *t, const struct rec *fin, int want_rst,
                          const char *who)
{
    cr_assert_leq(fin->flen, sizeof(fin->hdr), "FIN frame too long to replay");
    uint32_t mark = t->nrec;
    tap_inject(t, fin->hdr, fin->flen);
    rig_advance(r, 5 * MS);
    int i = rec_find(t, mark, 0, 0);
    cr_assert_geq(i, 0, "%s: no answer to a replayed FIN (want %s)", who,
                  want_rst ? "RST: connection gone" : "ACK: TIME_WAIT");
    const struct rec *x = &t->recs[i];
    char fl[8];
    if (want_rst) {
        cr_assert(x->flags & FR_RST, "%s: answered [%s], want RST (TIME_WAIT over)", who,
                  fr_flags_str(x->flags, fl));
    } else {
        cr_assert(!(x->flags & FR_RST) && (x->flags & FR_ACK),
                  "%s: answered [%s], want ACK (still in TIME_WAIT)", who,
                  fr_flags_str(x->flags, fl));
        cr_assert_eq(x->ack, fin->seq + fin->len + 1, "%s: ACK %u, want %u", who, x->ack,
                     fin->seq + fin->len + 1);
    }
}

/* x closes first (active close), y follows on EOF (passive close). */
static void close_path(int x)
{
    struct rig_opts o = {.record = 1};
    struct rig *r = rig_pair(&o);
    struct conn *c[2];
    establish(r, &c[0], &c[1]);
    int y = !x;
    struct tap *tx = r->s[x].tap, *ty = r->s[y].tap;
    uint32_t mx = tx->nrec, my = ty->nrec;
    c[y]->close_on_eof = 1;
    conn_close(r, c[x]);
    RUN(r, cond_all_closed, NULL, 5 * SEC, "close");
    cr_assert_eq(c[x]->reason, NETIO_CLOSE_LOCAL, "closer: %s",
                 netio_close_reason_str(c[x]->reason));
    cr_assert(c[y]->eof, "passive side saw no EOF");
    cr_assert_eq(c[y]->reason, NETIO_CLOSE_PEER_FIN, "passive side: %s",
                 netio_close_reason_str(c[y]->reason));
    rig_advance(r, 10 * MS);
    cr_assert_eq(rec_count(tx, mx, FR_FIN, FR_FIN), 1, "active closer sent %d FINs",
                 rec_count(tx, mx, FR_FIN, FR_FIN));
    cr_assert_eq(rec_count(ty, my, FR_FIN, FR_FIN), 1, "passive closer sent %d FINs",
                 rec_count(ty, my, FR_FIN, FR_FIN));
    cr_assert_eq(rec_count(tx, mx, FR_RST, FR_RST) + rec_count(ty, my, FR_RST, FR_RST), 0,
                 "RST during an orderly close");
    const struct rec *fx = rec_at(tx, rec_find(tx, mx, FR_FIN, FR_FIN));
    const struct rec *fy = rec_at(ty, rec_find(ty, my, FR_FIN, FR_FIN));
    cr_assert_leq(fx->t, fy->t, "passive side's FIN before the active side's");
    cr_assert_eq(fy->ack, fx->seq + fx->len + 1, "LAST_ACK FIN does not ack the first FIN");
    const struct rec *last = &tx->recs[tx->nrec - 1]; /* FIN_WAIT_2 -> TIME_WAIT: ACK */
    cr_assert(last->kind == FR_K_TCP && (last->flags & (FR_ACK | FR_FIN | FR_RST)) == FR_ACK &&
                  last->ack == fy->seq + fy->len + 1,
              "active closer's last segment is not the ACK of the peer's FIN");
    /* TIME_WAIT holds for time_wait_ns (restarted at most once by the replay) */
    rig_advance(r, r->tw_ns / 2);
    replay_expect(r, tx, fy, 0, "active closer at tw/2");
    rig_advance(r, 2 * r->tw_ns);
    replay_expect(r, tx, fy, 1, "active closer after 2.5 tw");
    replay_expect(r, ty, fx, 1, "passive closer (LAST_ACK -> CLOSED)");
    rig_fini(r);
}

Test(ustack_bb, close_active_by_client_passive_by_server)
{
    close_path(0);
}
Test(ustack_bb, close_active_by_server_passive_by_client)
{
    close_path(1);
}

Test(ustack_bb, close_simultaneous_closing_then_time_wait)
{
    struct rig_opts o = {.record = 1};
    struct rig *r = rig_pair(&o);
    struct conn *c[2];
    establish(r, &c[0], &c[1]);
    struct tap *t[2] = {r->s[0].tap, r->s[1].tap};
    uint32_t m[2] = {t[0]->nrec, t[1]->nrec};
    t[0]->rx_hold = t[1]->rx_hold = 1; /* neither sees the other's FIN before sending its own */
    conn_close(r, c[0]);
    conn_close(r, c[1]);
    rig_advance(r, 1 * MS);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(rec_count(t[i], m[i], FR_FIN, FR_FIN), 1, "side %d sent %d FINs", i,
                     rec_count(t[i], m[i], FR_FIN, FR_FIN));
    t[0]->rx_hold = t[1]->rx_hold = 0;
    RUN(r, cond_all_closed, NULL, 5 * SEC, "close");
    rig_advance(r, 10 * MS);
    const struct rec *f[2];
    for (int i = 0; i < 2; i++) {
        f[i] = rec_at(t[i], rec_find(t[i], m[i], FR_FIN, FR_FIN));
        cr_assert_eq(c[i]->reason, NETIO_CLOSE_LOCAL, "side %d: %s", i,
                     netio_close_reason_str(c[i]->reason));
        cr_assert_eq(rec_count(t[i], m[i], FR_FIN, FR_FIN), 1);
        cr_assert_eq(rec_count(t[i], m[i], FR_RST, FR_RST), 0, "side %d sent RST", i);
    }
    for (int i = 0; i < 2; i++) {
        const struct rec *other = f[!i];
        cr_assert_eq(f[i]->ack, other->seq + other->len, "side %d's FIN acks the other FIN", i);
        /* CLOSING: ACK of the other's FIN */
        int k = rec_find(t[i], m[i], FR_ACK | FR_FIN | FR_RST, FR_ACK);
        int found = 0;
        for (; k >= 0; k = rec_find(t[i], (uint32_t)k + 1, FR_ACK | FR_FIN | FR_RST, FR_ACK))
            found |= t[i]->recs[k].ack == other->seq + other->len + 1;
        cr_assert(found, "side %d never acked the other's FIN (CLOSING)", i);
    }
    rig_advance(r, r->tw_ns / 2);
    replay_expect(r, t[0], f[1], 0, "side A at tw/2");
    replay_expect(r, t[1], f[0], 0, "side B at tw/2");
    rig_advance(r, 2 * r->tw_ns);
    replay_expect(r, t[0], f[1], 1, "side A after 2.5 tw");
    replay_expect(r, t[1], f[0], 1, "side B after 2.5 tw");
    rig_fini(r);
}

static void close_in_flight(const struct rig_opts *o)
{
    struct rig *r = rig_pair(o);
    struct conn *a, *b;
    establish(r, &a, &b);
    uint64_t n = 200 * 1024;
    b->close_on_eof = 1;
    b->rx_goal = 1000 + n;
    a->tx_goal = 1000 + n;
    a->close_when_done = 1;
    pump(r); /* queues it all and closes before any of it is acked */
    cr_assert_eq(a->tx_off, a->tx_goal, "send buffer took only %" PRIu64, a->tx_off);
    cr_assert(a->close_called);
    RUN(r, cond_all_closed, NULL, 600 * SEC, "close with data in flight");
    cr_assert_eq(b->rx_off, a->tx_off, "received %" PRIu64 " of %" PRIu64, b->rx_off, a->tx_off);
    cr_assert_eq(b->rx_bad, NO_BAD, "stream differs at %" PRIu64, b->rx_bad);
    cr_assert_eq(b->rx_hash, a->tx_hash);
    cr_assert(b->eof);
    cr_assert_eq(a->reason, NETIO_CLOSE_LOCAL);
    cr_assert_eq(b->reason, NETIO_CLOSE_PEER_FIN, "%s", netio_close_reason_str(b->reason));
    rig_fini(r);
}

Test(ustack_bb, close_with_data_in_flight)
{
    close_in_flight(NULL);
}
Test(ustack_bb, close_with_data_in_flight_lossy)
{
    struct rig_opts o = {.seed = 7, .loss = 0.02};
    close_in_flight(&o);
}

static void abort_from(int x)
{
    struct rig_opts o = {.record = 1};
    struct rig *r = rig_pair(&o);
    struct conn *c[2];
    establish(r, &c[0], &c[1]);
    int y = !x;
    uint32_t mx = r->s[x].tap->nrec;
    c[x]->tx_goal += 100 * 1024;
    pump(r);
    conn_abort(r, c[x]); /* with data queued and in flight */
    RUN(r, cond_all_closed, NULL, 5 * SEC, "abort");
    cr_assert_eq(c[x]->reason, NETIO_CLOSE_LOCAL, "aborter: %s",
                 netio_close_reason_str(c[x]->reason));
    cr_assert_eq(c[y]->reason, NETIO_CLOSE_RESET, "peer of aborter: %s",
                 netio_close_reason_str(c[y]->reason));
    cr_assert_geq(rec_count(r->s[x].tap, mx, FR_RST, FR_RST), 1, "aborter sent no RST");
    cr_assert_eq(rec_count(r->s[x].tap, mx, FR_FIN, FR_FIN), 0, "aborter sent a FIN");
    cr_assert_eq(c[y]->rx_bad, NO_BAD);
    rig_fini(r);
}

Test(ustack_bb, abort_by_client_resets_server)
{
    abort_from(0);
}
Test(ustack_bb, abort_by_server_resets_client)
{
    abort_from(1);
}

Test(ustack_bb, connect_to_closed_port_fails)
{
    struct rig_opts o = {.record = 1};
    struct rig *r = rig_pair(&o);
    struct conn *a = rig_connect(r, 0, IP_B, SRV_PORT + 1);
    RUN(r, cond_closed, a, 5 * SEC, "refused connect");
    cr_assert_eq(a->connected, 0);
    cr_assert_eq(a->reason, NETIO_CLOSE_CONNECT_FAILED, "%s", netio_close_reason_str(a->reason));
    int i = rec_find(r->s[1].tap, 0, FR_RST | FR_ACK, FR_RST | FR_ACK);
    cr_assert_geq(i, 0, "B sent no RST|ACK to a SYN for a closed port");
    rig_fini(r);
}

/* A has one connection slot: after TIME_WAIT it can connect again. */
Test(ustack_bb, time_wait_then_slot_reusable)
{
    struct rig_opts o = {.max_conns = {1, 0}};
    struct rig *r = rig_pair(&o);
    struct conn *a, *b;
    establish(r, &a, &b);
    b->close_on_eof = 1;
    conn_close(r, a);
    RUN(r, cond_all_closed, NULL, 5 * SEC, "close");
    char err[256] = "";
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(SRV_PORT)};
    dst.sin_addr.s_addr = htonl(IP_B);
    int h = netio_connect(r->s[0].io, &dst, NULL, err, sizeof(err));
    cr_log_info("connect during TIME_WAIT with max_conns=1: %d (%s)", h, h < 0 ? err : "ok");
    if (h >= 0) { /* the stack let it through: it must still behave */
        struct conn *x = conn_new(r, 0, h);
        netio_set_ctx(r->s[0].io, h, x);
        RUN(r, cond_connected, x, 5 * SEC, "connect in TIME_WAIT");
        conn_close(r, x);
        accepted_on(r, 1)->close_on_eof = 1;
        RUN(r, cond_all_closed, NULL, 5 * SEC, "close");
    }
    rig_advance(r, r->tw_ns + 20 * MS);
    struct conn *a2 = rig_connect(r, 0, IP_B, SRV_PORT);
    RUN(r, cond_connected, a2, 5 * SEC, "connect after TIME_WAIT");
    cr_assert(a2->connected, "connect after TIME_WAIT failed: %s",
              netio_close_reason_str(a2->reason));
    a2->tx_goal = 10000;
    a2->close_when_done = 1;
    struct conn *b2 = accepted_on(r, 1);
    b2->rx_goal = 10000;
    b2->close_on_eof = 1;
    RUN(r, cond_all_closed, NULL, 5 * SEC, "second connection");
    cr_assert_eq(b2->rx_off, 10000);
    cr_assert_eq(b2->rx_bad, NO_BAD);
    rig_fini(r);
}

/* 3. zero window, end to end: B never consumes until told to */
Test(ustack_bb, zero_window_stall_probes_and_recovery)
{
    struct rig_opts o = {.record = 1, .rcvbuf = {0, 64 * 1024}};
    struct rig *r = rig_pair(&o);
    struct conn *a, *b;
    establish(r, &a, &b);
    uint64_t total = 1000 + MIB;
    b->hold = 1;
    b->rx_goal = total;
    a->tx_goal = total;
    struct tap *ta = r->s[0].tap;
    uint32_t mark = ta->nrec;
    rig_advance(r, 33 * SEC);
    uint64_t stalled = b->rx_off;
    cr_assert_lt(stalled, total, "receiver never stalled");
    cr_assert_leq(stalled - b->consumed, 64 * 1024, "%" PRIu64 " bytes buffered, rcvbuf 64 KiB",
                  stalled - b->consumed);
    cr_assert_lt(b->rx_last_t, r->sr.now_ns - 30 * SEC, "data still trickling in after 3 s");
    uint64_t at[64];
    int np = 0; /* A's segments after the last byte B took: persist probes */
    for (uint32_t i = mark; i < ta->nrec && np < 64; i++)
        if (ta->recs[i].kind == FR_K_TCP && ta->recs[i].t > b->rx_last_t) at[np++] = ta->recs[i].t;
    cr_assert_geq(np, 4, "sender sent %d segments in 30 s of zero window (persist probes?)", np);
    uint64_t g0 = at[1] - at[0], gl = at[np - 1] - at[np - 2];
    for (int i = 2; i < np; i++)
        cr_assert_geq(at[i] - at[i - 1] + 2 * MS, at[i - 1] - at[i - 2],
                      "probe gap %d shrank: %.3f s after %.3f s", i,
                      (double)(at[i] - at[i - 1]) / 1e9, (double)(at[i - 1] - at[i - 2]) / 1e9);
    cr_assert_geq(gl + 5 * MS, 2 * g0, "no backoff: first gap %.3f s, last %.3f s",
                  (double)g0 / 1e9, (double)gl / 1e9);
    cr_log_info("zero window: %d probes, first %.3f s after the last data", np,
                (double)(at[0] - b->rx_last_t) / 1e9);
    b->hold = 0;
    conn_consume_held(r, b);
    RUN(r, cond_rx_goal, b, 120 * SEC, "transfer after the window opened");
    cr_assert_eq(b->rx_off, total);
    cr_assert_eq(b->rx_bad, NO_BAD);
    cr_assert_eq(b->rx_hash, a->tx_hash);
    b->close_on_eof = 1;
    conn_close(r, a);
    RUN(r, cond_all_closed, NULL, 5 * SEC, "close");
    rig_fini(r);
}

/* ============================================================ setup B */

static void peer_tx_frame(struct rig *r, const uint8_t *f, size_t len)
{
    struct pktbuf *b = pktio_alloc(r->peer);
    cr_assert_not_null(b, "peer: pool empty");
    cr_assert_leq(len, b->cap);
    memcpy(b->data, f, len);
    b->len = (uint32_t)len;
    b->ol_flags = 0;
    if (pktio_tx_burst(r->peer, &b, 1) != 1) {
        pktio_free(r->peer, &b, 1);
        cr_assert_fail("peer: tx refused");
    }
}

/* RST for a segment that reached a closed port (RFC 9293 §3.10.7.1). */
static void peer_rst_for(struct rig *r, const struct fr_pkt *p)
{
    uint8_t f[128];
    struct fr_tcp t = {.src_ip = IP_B, .dst_ip = IP_A, .sport = p->dport, .dport = p->sport};
    memcpy(t.src_mac, r->peer_mac, 6);
    memcpy(t.dst_mac, r->stack_mac, 6);
    if (p->flags & FR_ACK)
        t.seq = p->ack, t.flags = FR_RST;
    else
        t.ack = p->seq + fr_seg_len(p), t.flags = FR_RST | FR_ACK;
    peer_tx_frame(r, f, fr_build_tcp(f, sizeof(f), &t));
}

static void peer_frame(struct rig *r, const uint8_t *f, size_t len)
{
    struct fr_pkt p;
    int k = fr_parse(f, len, &p);
    if (k == FR_K_ARP) {
        if (p.arp_op == FR_ARP_REQUEST && p.arp_tpa == IP_B && r->arp_ignore) {
            r->arp_ignore--;
            r->arp_ignored_t = r->sr.now_ns;
            return;
        }
        if (p.arp_op == FR_ARP_REQUEST && p.arp_tpa == IP_B) {
            uint8_t out[64];
            size_t n = fr_build_arp(out, sizeof(out), FR_ARP_REPLY, p.arp_sha, r->peer_mac, IP_B,
                                    p.arp_sha, p.arp_spa);
            peer_tx_frame(r, out, n);
            r->arp_answered++;
        }
        return;
    }
    if (k != FR_K_TCP) {
        r->peer_other++;
        return;
    }
    if (!p.ip_csum_ok || !p.tcp_csum_ok) rig_fail(r, "stack sent a segment with a bad checksum");
    if (r->rst_all) {
        if (!(p.flags & FR_RST)) peer_rst_for(r, &p);
        return;
    }
    if (r->seg_count == NSEG) {
        rig_fail(r, "peer: segment queue overflow");
        return;
    }
    struct seg *s = &r->segs[(r->seg_head + r->seg_count++) % NSEG];
    s->t = r->sr.now_ns;
    s->flen = (uint16_t)len;
    memcpy(s->f, f, len);
    fr_parse(s->f, len, &s->p);
}

static int peer_poll(struct rig *r)
{
    struct pktbuf *b[32];
    uint16_t n = pktio_rx_burst(r->peer, b, 32);
    for (uint16_t i = 0; i < n; i++)
        peer_frame(r, b[i]->data, b[i]->len);
    if (n) pktio_free(r->peer, b, n);
    return n > 0;
}

static int cond_seg(struct rig *r, void *a)
{
    (void)a;
    return r->seg_count > 0;
}

/* Next segment from the stack within timeout, copied to out; 0 if none. */
static int peer_next(struct rig *r, struct seg *out, uint64_t timeout)
{
    if (!rig_run(r, cond_seg, NULL, timeout)) return 0;
    struct seg *s = &r->segs[r->seg_head];
    r->seg_head = (r->seg_head + 1) % NSEG;
    r->seg_count--;
    out->t = s->t;
    out->flen = s->flen;
    memcpy(out->f, s->f, s->flen);
    fr_parse(out->f, out->flen, &out->p);
    return 1;
}

/* Setup B: one stack (IP_A) behind the guard on memlink end A; we own end B. */
static struct rig *rig_peer(void)
{
    struct rig *r = rig_alloc();
    cr_assert_not_null(r->segs = calloc(NSEG, sizeof(*r->segs)));
    struct stack_rig_opts so;
    stack_rig_opts_init(&so, 1); /* IP_A; end B is the raw peer */
    so.link.pool_size = 1024;
    stack_cfg(&so.stack[0], r, 0, NULL);
    struct wrap_req w = {.r = r, .guard = 1};
    rig_start(r, &so, &w);
    memcpy(r->stack_mac, r->sr.mac[0], 6);
    memcpy(r->peer_mac, r->sr.mac[1], 6);
    return r;
}

/* The raw peer's side of one connection. */
struct pconn {
    uint16_t port, sport;  /* ours, the stack's */
    uint32_t iss, snd_nxt; /* our sequence space */
    uint32_t irs, rcv_nxt; /* the stack's */
    uint32_t edge;         /* right edge we advertise when fixed_edge */
    int fixed_edge;
    uint32_t snd_wnd;  /* the stack's window field (unscaled) */
    uint8_t shift;     /* window scale we offered (0 = none) */
    uint64_t tx_bytes; /* stream we sent (pattern at PAT_B) */
    uint64_t rx_bytes, rx_hash, rx_bad;
    int fin_rcvd;
};

static void pc_init(struct pconn *pc, uint16_t port, uint32_t iss)
{
    memset(pc, 0, sizeof(*pc));
    pc->port = port;
    pc->iss = pc->snd_nxt = iss;
    pc->rx_hash = FNV_INIT;
    pc->rx_bad = NO_BAD;
}

/* Bytes we accept beyond rcv_nxt, and the window field saying so. */
static uint32_t pc_room(const struct pconn *pc)
{
    int32_t w = (int32_t)(pc->edge - pc->rcv_nxt);
    return !pc->fixed_edge ? UINT32_MAX : w < 0 ? 0 : (uint32_t)w;
}
static uint16_t pc_win(const struct pconn *pc)
{
    uint32_t w = pc_room(pc) >> pc->shift;
    return (uint16_t)(w > 65535 ? 65535 : w);
}

/* A segment of this connection with explicit seq/flags (crafting). */
static size_t pc_frame(struct rig *r, const struct pconn *pc, uint8_t flags, uint32_t seq,
                       const uint8_t *data, size_t len, const uint8_t *opts, size_t optlen,
                       uint8_t *f, size_t cap)
{
    struct fr_tcp t = {.src_ip = IP_B,
                       .dst_ip = IP_A,
                       .sport = pc->port,
                       .dport = pc->sport,
                       .seq = seq,
                       .ack = (flags & FR_ACK) ? pc->rcv_nxt : 0,
                       .flags = flags,
                       .win = pc_win(pc),
                       .opts = opts,
                       .optlen = optlen,
                       .data = data,
                       .len = len};
    memcpy(t.src_mac, r->peer_mac, 6);
    memcpy(t.dst_mac, r->stack_mac, 6);
    size_t n = fr_build_tcp(f, cap, &t);
    cr_assert_gt(n, 0);
    return n;
}

static void pc_send(struct rig *r, struct pconn *pc, uint8_t flags, const uint8_t *data, size_t len,
                    const uint8_t *opts, size_t optlen)
{
    uint8_t f[PKTIO_MAX_FRAME];
    peer_tx_frame(r, f, pc_frame(r, pc, flags, pc->snd_nxt, data, len, opts, optlen, f, sizeof(f)));
    pc->snd_nxt += (uint32_t)len + !!(flags & FR_SYN) + !!(flags & FR_FIN);
}

/* n bytes of our stream, in 1000-byte segments. */
static void pc_send_stream(struct rig *r, struct pconn *pc, size_t n)
{
    while (n) {
        size_t k = n > 1000 ? 1000 : n, got;
        const uint8_t *d = pattern_at(PAT_B + pc->tx_bytes, k, &got);
        pc_send(r, pc, FR_ACK | FR_PSH, d, got, NULL, 0);
        pc->tx_bytes += got;
        n -= got;
    }
}

/* Take in-order data (and FIN) from a stack segment, within our window. */
static size_t pc_take(struct pconn *pc, const struct fr_pkt *p)
{
    if (FR_SEQ_GT(p->seq, pc->rcv_nxt)) return 0; /* out of order: go-back-N */
    uint32_t off = pc->rcv_nxt - p->seq;
    size_t n = 0;
    if (off < p->len || (off == p->len && (p->flags & FR_FIN))) {
        n = p->len - off;
        size_t room = pc_room(pc);
        if (n > room) n = room;
        const uint8_t *d = p->data + off;
        pc->rx_hash = fnv(pc->rx_hash, d, n);
        if (pc->rx_bad == NO_BAD) {
            size_t ok = pattern_check(d, PAT_A + pc->rx_bytes, n);
            if (ok < n) pc->rx_bad = pc->rx_bytes + ok;
        }
        pc->rx_bytes += n;
        pc->rcv_nxt += (uint32_t)n;
        if ((p->flags & FR_FIN) && off + n == p->len && !pc->fin_rcvd)
            pc->rcv_nxt++, pc->fin_rcvd = 1;
    }
    if (p->flags & FR_ACK) pc->snd_wnd = p->win;
    return n;
}

static const uint8_t *opt_mss1460(size_t *len)
{
    static const uint8_t o[4] = {FR_OPT_MSS, 4, 0x05, 0xb4};
    *len = sizeof(o);
    return o;
}

/* The stack connected to us: answer its SYN (already taken into s). */
static void peer_answer_syn(struct rig *r, struct pconn *pc, const struct seg *s)
{
    char d[128];
    cr_assert_eq(s->p.flags & (FR_SYN | FR_ACK | FR_RST | FR_FIN), FR_SYN, "want SYN, got %s",
                 fr_describe(&s->p, d, sizeof(d)));
    cr_assert_eq(s->p.dport, pc->port);
    cr_assert_gt(s->p.mss, 0, "SYN without MSS option");
    pc->sport = s->p.sport;
    pc->irs = s->p.seq;
    pc->rcv_nxt = s->p.seq + 1;
    size_t ol;
    const uint8_t *o = opt_mss1460(&ol);
    pc_send(r, pc, FR_SYN | FR_ACK, NULL, 0, o, ol);
}

/* Expect the stack's ACK completing a handshake. */
static void peer_expect_ack(struct rig *r, struct pconn *pc)
{
    struct seg s;
    char d[128];
    cr_assert(peer_next(r, &s, 100 * MS), "no ACK of our SYN");
    cr_assert_eq(s.p.flags & (FR_SYN | FR_ACK | FR_RST), FR_ACK, "want ACK, got %s",
                 fr_describe(&s.p, d, sizeof(d)));
    cr_assert_eq(s.p.ack, pc->snd_nxt, "ACK %u, want %u", s.p.ack, pc->snd_nxt);
    pc_take(pc, &s.p);
}

/* Stack connects to us (we listen on SRV_PORT). */
static struct conn *peer_open_active(struct rig *r, struct pconn *pc)
{
    pc_init(pc, SRV_PORT, 0x20000000u);
    struct conn *c = rig_connect(r, 0, IP_B, SRV_PORT);
    struct seg s;
    cr_assert(peer_next(r, &s, 100 * MS), "stack sent no SYN");
    peer_answer_syn(r, pc, &s);
    peer_expect_ack(r, pc);
    RUN(r, cond_connected, c, 100 * MS, "CONNECTED");
    cr_assert(c->connected);
    return c;
}

/* Stack connects to us and both sides agree to SACK (RFC 2018). */
static struct conn *peer_open_active_sack(struct rig *r, struct pconn *pc)
{
    struct seg s;
    pc_init(pc, SRV_PORT, 0x20000000u);
    struct conn *c = rig_connect(r, 0, IP_B, SRV_PORT);
    cr_assert(peer_next(r, &s, 100 * MS), "stack sent no SYN");
    cr_assert(s.p.sack_perm, "the stack's SYN offers no SACK");
    pc->sport = s.p.sport;
    pc->irs = s.p.seq;
    pc->rcv_nxt = s.p.seq + 1;
    uint8_t o[8];
    size_t ol = fr_opt_mss(o, 1460);
    ol += fr_opt_nop(o + ol);
    ol += fr_opt_nop(o + ol);
    ol += fr_opt_sack_perm(o + ol);
    pc_send(r, pc, FR_SYN | FR_ACK, NULL, 0, o, ol);
    peer_expect_ack(r, pc);
    RUN(r, cond_connected, c, 100 * MS, "CONNECTED");
    return c;
}

/* The stack sends nseg whole segments of mss from base (the peer takes
 * nothing yet): read them into segs, in order. */
static void stack_sends(struct rig *r, struct conn *c, struct seg *segs, uint32_t nseg,
                        uint32_t base, uint32_t mss)
{
    char d[128];
    c->tx_goal = (uint64_t)nseg * mss;
    for (uint32_t i = 0; i < nseg; i++) {
        cr_assert(peer_next(r, &segs[i], 100 * MS), "segment %u not sent", i);
        cr_assert_eq(segs[i].p.seq, base + i * mss, "%s", fr_describe(&segs[i].p, d, sizeof(d)));
        cr_assert_eq(segs[i].p.len, mss, "%s", fr_describe(&segs[i].p, d, sizeof(d)));
    }
}

/* Our SYN reaches the stack's listener; returns the SYN-ACK segment. */
static void peer_syn(struct rig *r, struct pconn *pc, struct seg *synack)
{
    char d[128];
    size_t ol;
    const uint8_t *o = opt_mss1460(&ol);
    pc->snd_nxt = pc->iss;
    pc_send(r, pc, FR_SYN, NULL, 0, o, ol);
    cr_assert(peer_next(r, synack, 100 * MS), "no SYN-ACK");
    cr_assert_eq(synack->p.flags & (FR_SYN | FR_ACK | FR_RST), FR_SYN | FR_ACK,
                 "want SYN-ACK, got %s", fr_describe(&synack->p, d, sizeof(d)));
    cr_assert_eq(synack->p.ack, pc->snd_nxt);
    cr_assert_eq(synack->p.wscale, -1, "window scale in SYN-ACK to a SYN without one");
}

static int cond_accepted_new(struct rig *r, void *a)
{
    return r->nconns > *(int *)a;
}

static struct conn *peer_finish_passive(struct rig *r, struct pconn *pc, const struct seg *sa)
{
    pc->sport = SRV_PORT;
    pc->irs = sa->p.seq;
    pc->rcv_nxt = sa->p.seq + 1;
    pc->snd_wnd = sa->p.win;
    int before = r->nconns;
    pc_send(r, pc, FR_ACK, NULL, 0, NULL, 0);
    if (!rig_run(r, cond_accepted_new, &before, 100 * MS)) {
        struct seg s;
        char d[128];
        if (peer_next(r, &s, 0))
            cr_assert_fail("no ACCEPTED after the handshake; the stack sent %s",
                           fr_describe(&s.p, d, sizeof(d)));
        cr_assert_fail("no ACCEPTED after the handshake (errors: %s)", r->err);
    }
    struct conn *c = accepted_on(r, 0);
    cr_assert_eq(r->nconns, before + 1, "%d ACCEPTED events, want 1", r->nconns - before);
    return c;
}

/* We connect to the stack's listener on SRV_PORT. */
static struct conn *peer_open_passive(struct rig *r, struct pconn *pc, uint16_t port, uint32_t iss,
                                      int listen)
{
    struct seg sa;
    pc_init(pc, port, iss);
    pc->sport = SRV_PORT;
    if (listen) rig_listen(r, 0, IP_A, SRV_PORT);
    peer_syn(r, pc, &sa);
    return peer_finish_passive(r, pc, &sa);
}

/* Receive until `bytes` of the stack's stream arrived (ACK every segment). */
static void peer_recv(struct rig *r, struct pconn *pc, uint64_t bytes)
{
    struct seg s;
    while (pc->rx_bytes < bytes) {
        cr_assert(peer_next(r, &s, 10 * SEC), "stalled at %" PRIu64 " of %" PRIu64, pc->rx_bytes,
                  bytes);
        pc_take(pc, &s.p);
        if (fr_seg_len(&s.p)) pc_send(r, pc, FR_ACK, NULL, 0, NULL, 0);
    }
    cr_assert_eq(pc->rx_bad, NO_BAD, "stream from the stack differs at %" PRIu64, pc->rx_bad);
}

/* The stack closes c; we ACK its FIN, send ours and see it acked. */
static void peer_stack_closes(struct rig *r, struct pconn *pc, struct conn *c)
{
    struct seg s;
    conn_close(r, c);
    while (!pc->fin_rcvd) {
        cr_assert(peer_next(r, &s, 10 * SEC), "no FIN from the stack");
        pc_take(pc, &s.p);
        if (fr_seg_len(&s.p)) pc_send(r, pc, FR_ACK, NULL, 0, NULL, 0);
    }
    pc_send(r, pc, FR_FIN | FR_ACK, NULL, 0, NULL, 0);
    cr_assert(peer_next(r, &s, 100 * MS), "our FIN was not acked");
    cr_assert_eq(s.p.ack, pc->snd_nxt);
    RUN(r, cond_closed, c, 100 * MS, "CLOSED");
    cr_assert_eq(c->reason, NETIO_CLOSE_LOCAL);
}

/* A little data both ways on an established connection. */
static void peer_exchange(struct rig *r, struct pconn *pc, struct conn *c, size_t n)
{
    c->tx_goal += n;
    peer_recv(r, pc, c->tx_goal);
    c->rx_goal = pc->tx_bytes + n;
    pc_send_stream(r, pc, n);
    RUN(r, cond_rx_goal, c, 100 * MS, "data from the peer");
    cr_assert_eq(c->rx_off, pc->tx_bytes);
    cr_assert_eq(c->rx_bad, NO_BAD);
}

/* Advance `ns` and return how many stack segments arrived (left queued). */
static uint32_t peer_quiet(struct rig *r, uint64_t ns)
{
    rig_advance(r, ns);
    return r->seg_count;
}

static void peer_flush(struct rig *r)
{
    r->seg_head = 0;
    r->seg_count = 0;
}

/* 2 (setup B). TIME_WAIT length, then the same 4-tuple connects again. */
Test(ustack_bb, time_wait_lasts_time_wait_ns_then_4tuple_reusable)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    struct conn *c = peer_open_passive(r, &pc, PEER_PORT, 0x30000000u, 1);
    peer_exchange(r, &pc, c, 3000);
    conn_close(r, c); /* the stack closes first */
    while (!pc.fin_rcvd) {
        cr_assert(peer_next(r, &s, SEC), "no FIN");
        pc_take(&pc, &s.p);
    }
    uint32_t fin_seq = pc.snd_nxt;
    pc_send(r, &pc, FR_FIN | FR_ACK, NULL, 0, NULL, 0); /* acks theirs: -> TIME_WAIT */
    uint64_t t0 = r->sr.now_ns;
    cr_assert(peer_next(r, &s, 100 * MS), "our FIN not acked");
    cr_assert_eq(s.p.ack, pc.snd_nxt);
    RUN(r, cond_closed, c, 100 * MS, "CLOSED");
    rig_advance(r, t0 + r->tw_ns * 9 / 10 - r->sr.now_ns);
    uint8_t f[128];
    peer_tx_frame(r, f, pc_frame(r, &pc, FR_FIN | FR_ACK, fin_seq, NULL, 0, NULL, 0, f, sizeof(f)));
    cr_assert(peer_next(r, &s, 5 * MS), "no answer to a FIN retransmission at 0.9 tw");
    cr_assert_eq(s.p.flags & (FR_ACK | FR_RST), FR_ACK, "not in TIME_WAIT at 0.9 tw");
    cr_assert_eq(s.p.ack, pc.snd_nxt);
    /* even if that FIN restarted the timer, TIME_WAIT is over 2.2 tw after t0 */
    rig_advance(r, t0 + r->tw_ns * 22 / 10 - r->sr.now_ns);
    struct conn *c2 = peer_open_passive(r, &pc, PEER_PORT, 0x40000000u, 0);
    peer_exchange(r, &pc, c2, 2000);
    peer_stack_closes(r, &pc, c2);
    rig_fini(r);
}

/* 3 (setup B). Persist timer: probes with backoff against a zero window. */
Test(ustack_bb, zero_window_persist_probes_back_off)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    char d[128];
    struct conn *c = peer_open_active(r, &pc);
    uint64_t total = 100 * 1024;
    pc.fixed_edge = 1;
    pc.edge = pc.rcv_nxt + 20000;
    c->tx_goal = total;
    uint64_t t_zero = 0, at[64];
    int np = 0;
    while (!t_zero || r->sr.now_ns < t_zero + 30 * SEC) {
        if (!peer_next(r, &s, t_zero ? t_zero + 30 * SEC - r->sr.now_ns : 10 * SEC)) break;
        if (t_zero && np < 64) at[np++] = s.t;
        if (t_zero)
            cr_assert(FR_SEQ_LEQ(s.p.seq + s.p.len, pc.edge + 1),
                      "probe beyond the window by more than one byte: %s",
                      fr_describe(&s.p, d, sizeof(d)));
        pc_take(&pc, &s.p);
        pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
        if (!t_zero && pc.rcv_nxt == pc.edge) t_zero = r->sr.now_ns;
    }
    cr_assert(t_zero, "window never filled");
    cr_assert_eq(pc.rx_bytes, 20000);
    cr_assert_geq(np, 4, "%d probes in 30 s of zero window", np);
    for (int i = 2; i < np; i++)
        cr_assert_geq(at[i] - at[i - 1] + 2 * MS, at[i - 1] - at[i - 2],
                      "probe interval %d shrank: %.3f s after %.3f s", i,
                      (double)(at[i] - at[i - 1]) / 1e9, (double)(at[i - 1] - at[i - 2]) / 1e9);
    cr_assert_geq(at[np - 1] - at[np - 2] + 5 * MS, 2 * (at[1] - at[0]),
                  "no backoff: first interval %.3f s, last %.3f s", (double)(at[1] - at[0]) / 1e9,
                  (double)(at[np - 1] - at[np - 2]) / 1e9);
    cr_log_info("persist: %d probes, first %.3f s after the window closed", np,
                (double)(at[0] - t_zero) / 1e9);
    pc.fixed_edge = 0; /* window update, unprompted */
    pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    peer_recv(r, &pc, total);
    cr_assert_eq(pc.rx_hash, c->tx_hash);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* 4. loss of SYN, SYN-ACK, the last data segment and FIN, once each */
Test(ustack_bb, syn_lost_once_recovers)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s1, s2;
    pc_init(&pc, SRV_PORT, 0x21000000u);
    struct conn *c = rig_connect(r, 0, IP_B, SRV_PORT);
    cr_assert(peer_next(r, &s1, 100 * MS), "no SYN");
    cr_assert_eq(s1.p.flags & (FR_SYN | FR_ACK), FR_SYN);
    cr_assert(peer_next(r, &s2, 5 * SEC), "SYN not retransmitted");
    cr_assert_eq(s2.p.seq, s1.p.seq, "retransmitted SYN changed ISN");
    cr_assert_geq(s2.t - s1.t, 900 * MS, "SYN retransmitted after %.3f s (initial RTO 1 s)",
                  (double)(s2.t - s1.t) / 1e9);
    peer_answer_syn(r, &pc, &s2);
    peer_expect_ack(r, &pc);
    RUN(r, cond_connected, c, 100 * MS, "CONNECTED");
    peer_exchange(r, &pc, c, 3000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

Test(ustack_bb, synack_lost_once_recovers)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s1, s2;
    pc_init(&pc, PEER_PORT, 0x22000000u);
    pc.sport = SRV_PORT;
    rig_listen(r, 0, IP_A, SRV_PORT);
    peer_syn(r, &pc, &s1); /* dropped */
    cr_assert(peer_next(r, &s2, 5 * SEC), "SYN-ACK not retransmitted");
    cr_assert_eq(s2.p.flags & (FR_SYN | FR_ACK), FR_SYN | FR_ACK);
    cr_assert_eq(s2.p.seq, s1.p.seq);
    cr_assert_eq(s2.p.ack, s1.p.ack);
    cr_assert_geq(s2.t - s1.t, 900 * MS, "SYN-ACK retransmitted after %.3f s",
                  (double)(s2.t - s1.t) / 1e9);
    cr_assert_eq(r->nconns, 0, "ACCEPTED before the handshake completed");
    struct conn *c = peer_finish_passive(r, &pc, &s2);
    peer_exchange(r, &pc, c, 3000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

Test(ustack_bb, last_data_segment_lost_once_recovers)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    struct conn *c = peer_open_active(r, &pc);
    uint64_t n = 10000;
    c->tx_goal = n;
    int dropped = 0;
    uint64_t t_drop = 0, t_re = 0;
    while (pc.rx_bytes < n) {
        cr_assert(peer_next(r, &s, 10 * SEC), "stalled at %" PRIu64, pc.rx_bytes);
        if (s.p.seq + (uint32_t)s.p.len == pc.irs + 1 + (uint32_t)n && s.p.len) {
            if (!dropped++) {
                t_drop = s.t;
                continue;
            }
            if (!t_re) t_re = s.t;
        }
        pc_take(&pc, &s.p);
        if (s.p.len) pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    }
    cr_assert_eq(dropped, 2, "last segment seen %d times", dropped);
    cr_assert_eq(pc.rx_bad, NO_BAD);
    cr_assert_eq(pc.rx_hash, c->tx_hash);
    cr_log_info("last segment retransmitted %.3f s after the loss", (double)(t_re - t_drop) / 1e9);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* SACK negotiation (RFC 2018 section 2): our SYN offers SACK-permitted;
 * our SYN-ACK carries it only when the peer's SYN did. */
Test(ustack_bb, syn_offers_sack_permitted_synack_only_if_offered)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s, sa;
    pc_init(&pc, SRV_PORT, 0x20000000u);
    struct conn *c = rig_connect(r, 0, IP_B, SRV_PORT);
    cr_assert(peer_next(r, &s, 100 * MS), "stack sent no SYN");
    cr_assert(s.p.flags & FR_SYN);
    cr_assert(s.p.sack_perm, "our SYN does not offer SACK-permitted");
    peer_answer_syn(r, &pc, &s); /* MSS only: no SACK on this connection */
    peer_expect_ack(r, &pc);
    RUN(r, cond_connected, c, 100 * MS, "CONNECTED");
    struct pconn pp;
    pc_init(&pp, PEER_PORT, 0x30000000u);
    rig_listen(r, 0, IP_A, SRV_PORT);
    pp.port = PEER_PORT;
    pp.sport = SRV_PORT;
    peer_syn(r, &pp, &sa); /* a SYN with MSS only */
    cr_assert_eq(sa.p.sack_perm, 0, "SACK-permitted in a SYN-ACK to a SYN without it");
    peer_finish_passive(r, &pp, &sa);
    struct csnap cs;
    csnap_take(r->s[0].io, &cs);
    cr_assert_eq(csnap_sum(&cs, "sack_permitted"), 0, "SACK agreed though the peer never offered");
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* SACK blocks as Linux sends them: the peer loses the 3rd of 10 segments
 * and ACKs the rest with SACK blocks; the stack parses them and resends
 * only the hole, at once (RFC 6675: 3 segments SACKed above it), not after
 * the RTO, and no SACKed byte again. */
Test(ustack_bb, sack_blocks_from_peer_resend_only_the_hole)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    char d[128];
    struct conn *c = peer_open_active_sack(r, &pc);
    struct csnap before, after;
    csnap_take(r->s[0].io, &before);
    cr_assert_eq(csnap_sum(&before, "sack_permitted"), 1, "SACK not agreed");
    const uint32_t mss = 1460, nseg = 10;
    uint32_t base = pc.rcv_nxt, hole = base + 2 * mss;
    struct seg segs[16];
    stack_sends(r, c, segs, nseg, base, mss);
    uint64_t t_ack = r->sr.now_ns;
    pc_take(&pc, &segs[0].p);
    pc_take(&pc, &segs[1].p);
    /* one ACK per segment after the hole, each with the growing SACK block */
    for (uint32_t i = 3; i < nseg; i++) {
        uint8_t so[12];
        size_t sl = fr_opt_nop(so);
        sl += fr_opt_nop(so + sl);
        so[sl++] = 5; /* SACK */
        so[sl++] = 10;
        uint32_t l = hole + mss, rr = base + (i + 1) * mss;
        uint8_t be[8] = {(uint8_t)(l >> 24),  (uint8_t)(l >> 16),  (uint8_t)(l >> 8),  (uint8_t)l,
                         (uint8_t)(rr >> 24), (uint8_t)(rr >> 16), (uint8_t)(rr >> 8), (uint8_t)rr};
        memcpy(so + sl, be, 8);
        sl += 8;
        pc_send(r, &pc, FR_ACK, NULL, 0, so, sl);
    }
    cr_assert(peer_next(r, &s, 150 * MS), "hole not resent");
    cr_assert_eq(s.p.seq, hole, "resent %s, want the hole at %u", fr_describe(&s.p, d, sizeof(d)),
                 hole);
    cr_assert_eq(s.p.len, mss);
    cr_assert_lt(s.t - t_ack, 10 * MS, "hole resent %.3f s after the SACKs (the RTO is 200 ms)",
                 (double)(s.t - t_ack) / 1e9);
    pc_take(&pc, &s.p);
    /* the rest arrived before: take it from the first copies, ACK all */
    for (uint32_t i = 3; i < nseg; i++)
        pc_take(&pc, &segs[i].p);
    pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    cr_assert_eq(pc.rx_bytes, (uint64_t)nseg * mss);
    cr_assert_eq(pc.rx_bad, NO_BAD);
    cr_assert_eq(peer_quiet(r, 300 * MS), 0,
                 "segments after the hole was filled (SACKed data "
                 "resent?)");
    csnap_take(r->s[0].io, &after);
    cr_assert_geq(csnap_sum(&after, "sack_blocks_rcvd") - csnap_sum(&before, "sack_blocks_rcvd"),
                  7);
    cr_assert_eq(csnap_sum(&after, "retransmits") - csnap_sum(&before, "retransmits"), 1, "%s",
                 csnap_diff(&before, &after, d, sizeof(d)));
    cr_assert_eq(csnap_sum(&after, "timeouts") - csnap_sum(&before, "timeouts"), 0);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* The SACK blocks of a stack segment, [left, right) each; returns how many,
 * -1 for a malformed SACK option (RFC 2018: length 2 + 8n, n >= 1). */
static int seg_sack(const struct fr_pkt *p, uint32_t (*blk)[2], int max)
{
    int n = 0;
    for (size_t i = 0; i < p->optlen;) {
        uint8_t k = p->opts[i];
        if (k == FR_OPT_EOL) break;
        if (k == FR_OPT_NOP) {
            i++;
            continue;
        }
        uint8_t l = p->opts[i + 1];
        if (k == 5 && (l < 10 || (l - 2) % 8)) return -1;
        for (size_t b = 2; k == 5 && b + 8 <= l && n < max; b += 8, n++) {
            blk[n][0] = fr_get32(p->opts + i + b);
            blk[n][1] = fr_get32(p->opts + i + b + 4);
        }
        i += l;
    }
    return n;
}

/* Our bytes [off, off + n) of the stream (PAT_B), sent at seq base + off. */
static void peer_flush(struct rig *r);
static void pc_send_at(struct rig *r, struct pconn *pc, uint32_t base, uint32_t off, uint32_t n)
{
    uint8_t f[PKTIO_MAX_FRAME];
    rig_advance(r, 1 * MS); /* the app reads; its window updates are not what we test */
    peer_flush(r);
    size_t got;
    const uint8_t *d = pattern_at(PAT_B + off, n, &got);
    cr_assert_eq(got, n);
    peer_tx_frame(r, f, pc_frame(r, pc, FR_ACK, base + off, d, n, NULL, 0, f, sizeof(f)));
}

/* The stack's answer to what we just sent: an ACK of ack at once (no
 * delayed-ACK wait), with the SACK blocks want[0..nwant). */
static void expect_sack_ack(struct rig *r, uint32_t ack, const uint32_t (*want)[2], int nwant,
                            const char *what)
{
    struct seg s;
    char d[128];
    uint64_t t0 = r->sr.now_ns;
    cr_assert(peer_next(r, &s, 100 * MS), "%s: no ACK", what);
    cr_assert_lt(s.t - t0, 1 * MS, "%s: ACK after %.1f ms, want at once", what,
                 (double)(s.t - t0) / 1e6);
    cr_assert_eq(s.p.ack, ack, "%s: %s, want ACK %u", what, fr_describe(&s.p, d, sizeof(d)), ack);
    uint32_t blk[4][2];
    int n = seg_sack(&s.p, blk, 4);
    cr_assert_eq(n, nwant, "%s: %d SACK blocks, want %d", what, n, nwant);
    for (int i = 0; i < n; i++)
        cr_assert(blk[i][0] == want[i][0] && blk[i][1] == want[i][1],
                  "%s: block %d [%u, %u), want [%u, %u)", what, i, blk[i][0], blk[i][1],
                  want[i][0], want[i][1]);
}

/* RFC 2883 D-SACK, as the receiver: data that arrives twice is reported in
 * the first SACK block of an immediate ACK, once. A full duplicate below
 * the cumulative ACK; a duplicate of out-of-order data (then the range that
 * holds it follows); a segment partly old, partly new (only the old part). */
Test(ustack_bb, dsack_reports_duplicates_first_and_once)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    struct conn *c = peer_open_active_sack(r, &pc);
    struct csnap before, after;
    csnap_take(r->s[0].io, &before);
    c->rx_goal = 4000;
    uint32_t b = pc.snd_nxt;
    pc_send_at(r, &pc, b, 0, 1000);
    uint8_t f[PKTIO_MAX_FRAME];
    size_t got;
    const uint8_t *d = pattern_at(PAT_B + 1000, 1000, &got);
    peer_tx_frame(r, f, pc_frame(r, &pc, FR_ACK, b + 1000, d, got, NULL, 0, f, sizeof(f)));
    /* (two segments: ACKed at once) */
    expect_sack_ack(r, b + 2000, NULL, 0, "in order");
    pc_send_at(r, &pc, b, 0, 1000);
    const uint32_t d1[1][2] = {{b, b + 1000}};
    expect_sack_ack(r, b + 2000, d1, 1, "a full duplicate");
    pc_send_at(r, &pc, b, 3000, 1000);
    const uint32_t s1[1][2] = {{b + 3000, b + 4000}};
    expect_sack_ack(r, b + 2000, s1, 1, "out of order (no D-SACK again)");
    pc_send_at(r, &pc, b, 3000, 1000);
    const uint32_t d2[2][2] = {{b + 3000, b + 4000}, {b + 3000, b + 4000}};
    expect_sack_ack(r, b + 2000, d2, 2, "out-of-order data twice");
    pc_send_at(r, &pc, b, 1500, 1000);
    const uint32_t d3[2][2] = {{b + 1500, b + 2000}, {b + 3000, b + 4000}};
    expect_sack_ack(r, b + 2500, d3, 2, "partly old");
    pc_send_at(r, &pc, b, 2500, 500);
    expect_sack_ack(r, b + 4000, NULL, 0, "hole filled");
    pc.snd_nxt = b + 4000;
    RUN(r, cond_rx_goal, c, 100 * MS, "the stream");
    cr_assert_eq(c->rx_off, 4000);
    cr_assert_eq(c->rx_bad, NO_BAD, "stream differs at byte %" PRIu64, c->rx_bad);
    /* A D-SACK owed as several data segments go at once (our window opens
     * with the duplicate): the first carries it, the others no SACK option
     * (an empty one would be malformed: the peer drops the segment). */
    pc.fixed_edge = 1;
    pc.edge = pc.rcv_nxt;
    pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0); /* our window: closed */
    c->tx_goal += 3000;
    rig_advance(r, 2 * MS);
    peer_flush(r);
    pc.edge = pc.rcv_nxt + 65535;
    pc_send_at(r, &pc, b, 3000, 1000);
    uint32_t took = 0;
    for (int i = 0; took < 3000; i++) {
        cr_assert(peer_next(r, &s, 10 * MS), "data segment %d not sent", i);
        uint32_t blk[4][2];
        int n = seg_sack(&s.p, blk, 4);
        cr_assert_eq(s.p.seq, pc.rcv_nxt, "data out of order");
        if (i == 0)
            cr_assert(n == 1 && blk[0][0] == b + 3000 && blk[0][1] == b + 4000,
                      "first segment: %d SACK blocks, want the D-SACK", n);
        else
            cr_assert_eq(n, 0, "segment %d after the D-SACK: %d SACK blocks (-1: malformed)", i,
                         n);
        took += (uint32_t)pc_take(&pc, &s.p);
    }
    csnap_take(r->s[0].io, &after);
    cr_assert_eq(csnap_sum(&after, "dsack_sent") - csnap_sum(&before, "dsack_sent"), 4);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* In-order data that arrives in one RX burst is ACKed once, at the burst's
 * end, for all of it (as Linux ACKs a GRO packet), not once per two
 * segments; the ACK goes at once, not after the delayed-ACK timeout. */
Test(ustack_bb, one_ack_per_rx_burst_of_in_order_data)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct conn *c = peer_open_active(r, &pc);
    struct csnap before, after;
    csnap_take(r->s[0].io, &before);
    rig_advance(r, 1 * MS);
    peer_flush(r);
    uint32_t b2 = pc.snd_nxt;
    uint8_t f[PKTIO_MAX_FRAME];
    for (uint32_t i = 0; i < 6; i++) { /* six segments, queued before the stack polls */
        size_t got;
        const uint8_t *d = pattern_at(PAT_B + i * 1000, 1000, &got);
        peer_tx_frame(r, f, pc_frame(r, &pc, FR_ACK, b2 + i * 1000, d, got, NULL, 0, f, sizeof(f)));
    }
    c->rx_goal = 6000;
    struct seg s;
    uint64_t t0 = r->sr.now_ns;
    cr_assert(peer_next(r, &s, 100 * MS), "no ACK");
    cr_assert_lt(s.t - t0, 1 * MS, "ACK after %.1f ms", (double)(s.t - t0) / 1e6);
    cr_assert_eq(s.p.ack, b2 + 6000, "the first ACK acks %u, want all six segments (%u)",
                 s.p.ack - b2, 6000);
    pc.snd_nxt = b2 + 6000;
    pc.tx_bytes = 6000;
    RUN(r, cond_rx_goal, c, 100 * MS, "the stream");
    cr_assert_eq(c->rx_bad, NO_BAD);
    csnap_take(r->s[0].io, &after);
    cr_assert_geq(csnap_sum(&after, "acks_per_burst") - csnap_sum(&before, "acks_per_burst"), 1);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

Test(ustack_bb, fin_lost_once_recovers)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s1, s2;
    struct conn *c = peer_open_active(r, &pc);
    peer_exchange(r, &pc, c, 3000);
    rig_advance(r, 50 * MS);
    peer_flush(r);
    conn_close(r, c);
    cr_assert(peer_next(r, &s1, 100 * MS), "no FIN");
    cr_assert(s1.p.flags & FR_FIN, "want FIN");
    cr_assert(peer_next(r, &s2, 10 * SEC), "FIN not retransmitted");
    cr_assert(s2.p.flags & FR_FIN);
    cr_assert_eq(s2.p.seq, s1.p.seq);
    /* the tail loss probe resends it: alone in flight, it waits 2 SRTT plus
     * tlp_ack_delay (50 ms, for a delayed ACK), not the 200 ms RTO */
    cr_assert(s2.t - s1.t >= 45 * MS && s2.t - s1.t < 150 * MS,
              "FIN resent %.3f s after (want the probe: ~50 ms, under the 200 ms RTO)",
              (double)(s2.t - s1.t) / 1e9);
    pc_take(&pc, &s2.p);
    cr_assert(pc.fin_rcvd);
    pc_send(r, &pc, FR_FIN | FR_ACK, NULL, 0, NULL, 0);
    cr_assert(peer_next(r, &s1, 100 * MS), "our FIN not acked");
    cr_assert_eq(s1.p.ack, pc.snd_nxt);
    RUN(r, cond_closed, c, 100 * MS, "CLOSED");
    cr_assert_eq(c->reason, NETIO_CLOSE_LOCAL);
    rig_fini(r);
}

/* 5. RST validation (RFC 5961 §3) */

static struct conn *rst_setup(struct rig **pr, struct pconn *pc)
{
    struct rig *r = rig_peer();
    struct conn *c = peer_open_passive(r, pc, PEER_PORT, 0x50000000u, 1);
    peer_exchange(r, pc, c, 2000);
    rig_advance(r, 50 * MS);
    peer_flush(r);
    *pr = r;
    return c;
}

static void send_rst(struct rig *r, struct pconn *pc, uint32_t seq)
{
    uint8_t f[128];
    peer_tx_frame(r, f, pc_frame(r, pc, FR_RST, seq, NULL, 0, NULL, 0, f, sizeof(f)));
}

/* Each RST must be dropped silently (RFC 5961 §3.2), counted, and leave the
 * connection up. */
static void rst_out_of_window(int (*pick)(const struct pconn *pc, uint32_t *seqs))
{
    struct rig *r;
    struct pconn pc;
    char d[512];
    struct conn *c = rst_setup(&r, &pc);
    uint32_t bad[4];
    int n = pick(&pc, bad);
    for (int i = 0; i < n; i++) {
        struct csnap a, b;
        csnap_take(r->s[0].io, &a);
        send_rst(r, &pc, bad[i]);
        if (peer_quiet(r, 10 * MS)) {
            struct seg s;
            peer_next(r, &s, 0);
            cr_assert_fail("the stack answered out-of-window RST #%d (seq %u = RCV.NXT %+d, "
                           "advertised window %u) with %s",
                           i, bad[i], (int32_t)(bad[i] - pc.snd_nxt), pc.snd_wnd,
                           fr_describe(&s.p, d, sizeof(d)));
        }
        csnap_take(r->s[0].io, &b);
        cr_assert_gt(csnap_sum(&b, "drop"), csnap_sum(&a, "drop"),
                     "out-of-window RST #%d not counted: %s", i, csnap_diff(&a, &b, d, sizeof(d)));
        cr_assert_eq(c->closed, 0, "connection reset by an out-of-window RST");
    }
    peer_exchange(r, &pc, c, 1000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

static int rst_far(const struct pconn *pc, uint32_t *seqs)
{
    seqs[0] = pc->snd_nxt + 4000000u; /* far right of any window */
    seqs[1] = pc->snd_nxt - 70000u;   /* left of the window */
    seqs[2] = pc->snd_nxt - 1u;
    return 3;
}
static int rst_edge(const struct pconn *pc, uint32_t *seqs)
{
    seqs[0] = pc->snd_nxt + pc->snd_wnd; /* first byte past the advertised window */
    seqs[1] = pc->snd_nxt + pc->snd_wnd + 1000u;
    return 2;
}

Test(ustack_bb, rst_out_of_window_dropped_and_counted)
{
    rst_out_of_window(rst_far);
}
/* RCV.WND is what we were told: 65535 unscaled (we offered no window scale). */
Test(ustack_bb, rst_just_past_advertised_window_dropped)
{
    rst_out_of_window(rst_edge);
}

Test(ustack_bb, rst_in_window_inexact_gets_challenge_ack)
{
    struct rig *r;
    struct pconn pc;
    struct seg s;
    char d[128];
    struct conn *c = rst_setup(&r, &pc);
    send_rst(r, &pc, pc.snd_nxt + 10);
    cr_assert(peer_next(r, &s, 10 * MS), "no challenge ACK");
    cr_assert_eq(s.p.flags & (FR_ACK | FR_RST | FR_SYN | FR_FIN), FR_ACK, "got %s",
                 fr_describe(&s.p, d, sizeof(d)));
    cr_assert_eq(s.p.seq, pc.rcv_nxt, "challenge ACK seq %u, want SND.NXT %u", s.p.seq, pc.rcv_nxt);
    cr_assert_eq(s.p.ack, pc.snd_nxt, "challenge ACK ack %u, want RCV.NXT %u", s.p.ack, pc.snd_nxt);
    cr_assert_eq(c->closed, 0, "connection reset by an inexact RST");
    peer_exchange(r, &pc, c, 1000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

Test(ustack_bb, rst_exact_resets_connection)
{
    struct rig *r;
    struct pconn pc;
    struct conn *c = rst_setup(&r, &pc);
    send_rst(r, &pc, pc.snd_nxt);
    RUN(r, cond_closed, c, 10 * MS, "CLOSED after an exact RST");
    cr_assert_eq(c->reason, NETIO_CLOSE_RESET, "%s", netio_close_reason_str(c->reason));
    cr_assert_eq(peer_quiet(r, 10 * MS), 0, "the stack answered a RST");
    rig_fini(r);
}

/* 6. malformed frames */

Test(ustack_bb, truncated_frames_dropped_at_every_offset)
{
    struct rig *r;
    struct pconn pc;
    char d[512];
    struct conn *c = rst_setup(&r, &pc);
    uint8_t f[PKTIO_MAX_FRAME];
    size_t got;
    const uint8_t *data = pattern_at(PAT_B + pc.tx_bytes, 100, &got);
    size_t len = pc_frame(r, &pc, FR_ACK | FR_PSH, pc.snd_nxt, data, 100, NULL, 0, f, sizeof(f));
    uint64_t rx0 = c->rx_off;
    for (size_t cut = 0; cut < len; cut++) {
        struct csnap a, b;
        csnap_take(r->s[0].io, &a);
        uint64_t bad_len0 = pktio_counter(r->peer, "tx_bad_len");
        peer_tx_frame(r, f, cut);
        rig_advance(r, 1 * MS);
        csnap_take(r->s[0].io, &b);
        if (cut == 0) /* memlink refuses empty frames itself */
            cr_assert_eq(pktio_counter(r->peer, "tx_bad_len"), bad_len0 + 1);
        else
            cr_assert_gt(csnap_sum(&b, "drop"), csnap_sum(&a, "drop"),
                         "frame cut at %zu of %zu not counted as a drop: %s", cut, len,
                         csnap_diff(&a, &b, d, sizeof(d)));
        cr_assert_eq(c->rx_off, rx0, "data delivered from a frame cut at %zu", cut);
        cr_assert_eq(r->seg_count, 0, "the stack answered a frame cut at %zu", cut);
        cr_assert_eq(c->closed, 0);
    }
    peer_tx_frame(r, f, len); /* the whole frame still works */
    pc.snd_nxt += 100;
    pc.tx_bytes += 100;
    c->rx_goal = pc.tx_bytes;
    RUN(r, cond_rx_goal, c, 100 * MS, "the complete segment");
    cr_assert_eq(c->rx_off, rx0 + 100);
    cr_assert_eq(c->rx_bad, NO_BAD);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

Test(ustack_bb, ethernet_padding_is_trimmed)
{
    struct rig *r;
    struct pconn pc;
    struct conn *c = rst_setup(&r, &pc);
    uint8_t f[PKTIO_MAX_FRAME];
    size_t got;
    const uint8_t *data = pattern_at(PAT_B + pc.tx_bytes, 10, &got);
    size_t len = pc_frame(r, &pc, FR_ACK | FR_PSH, pc.snd_nxt, data, 10, NULL, 0, f, sizeof(f));
    memset(f + len, 0xa5, 30); /* trailer beyond IP total length, as on a padded wire */
    peer_tx_frame(r, f, len + 30);
    pc.snd_nxt += 10;
    pc.tx_bytes += 10;
    c->rx_goal = pc.tx_bytes;
    RUN(r, cond_rx_goal, c, 100 * MS, "padded segment");
    rig_advance(r, 1 * MS);
    cr_assert_eq(c->rx_off, pc.tx_bytes, "padding delivered as data");
    cr_assert_eq(c->rx_bad, NO_BAD);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

struct badopt {
    const char *name;
    uint8_t o[12];
    size_t n;
};

static const struct badopt bad_opts[] = {
    {"length 0", {FR_OPT_NOP, FR_OPT_NOP, FR_OPT_TS, 0}, 4},
    {"length 1", {FR_OPT_NOP, FR_OPT_NOP, FR_OPT_WS, 1}, 4},
    {"length past header", {FR_OPT_NOP, FR_OPT_NOP, FR_OPT_TS, 10}, 4},
    {"unknown kind past header", {30, 12, 0, 0, 0, 0, 0, 0}, 8},
    {"MSS length 3", {FR_OPT_MSS, 3, 5, 0}, 4},
    {"MSS length 6", {FR_OPT_MSS, 6, 5, 0xb4, 0, 0, FR_OPT_NOP, FR_OPT_NOP}, 8},
    {"window scale length 4", {FR_OPT_WS, 4, 7, 0}, 4},
    {"timestamps length 8", {FR_OPT_NOP, FR_OPT_NOP, FR_OPT_TS, 8, 0, 0, 0, 1, 0, 0, 0, 0}, 12},
};

Test(ustack_bb, bad_tcp_options_dropped_and_counted)
{
    struct rig *r;
    struct pconn pc;
    char d[512];
    struct conn *c = rst_setup(&r, &pc);
    uint8_t f[PKTIO_MAX_FRAME];
    size_t got;
    uint64_t rx0 = c->rx_off;
    const uint8_t *data = pattern_at(PAT_B + pc.tx_bytes, 50, &got);
    for (size_t i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++) {
        const struct badopt *b = &bad_opts[i];
        struct csnap s0, s1;
        csnap_take(r->s[0].io, &s0);
        size_t len =
            pc_frame(r, &pc, FR_ACK | FR_PSH, pc.snd_nxt, data, 50, b->o, b->n, f, sizeof(f));
        peer_tx_frame(r, f, len);
        rig_advance(r, 2 * MS);
        csnap_take(r->s[0].io, &s1);
        cr_assert_gt(csnap_sum(&s1, "drop"), csnap_sum(&s0, "drop"),
                     "option '%s' not counted as a drop: %s", b->name,
                     csnap_diff(&s0, &s1, d, sizeof(d)));
        cr_assert_eq(c->rx_off, rx0, "data delivered from a segment with option '%s'", b->name);
        cr_assert_eq(c->closed, 0, "connection closed by option '%s'", b->name);
        peer_flush(r);
    }
    peer_exchange(r, &pc, c, 50); /* the connection is unaffected */
    cr_assert_eq(c->rx_off, rx0 + 50);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

Test(ustack_bb, syn_with_bad_options_dropped)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    char d[512];
    rig_listen(r, 0, IP_A, SRV_PORT);
    pc_init(&pc, PEER_PORT, 0x60000000u);
    pc.sport = SRV_PORT;
    for (size_t i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++) {
        struct csnap s0, s1;
        csnap_take(r->s[0].io, &s0);
        pc.snd_nxt = pc.iss;
        pc_send(r, &pc, FR_SYN, NULL, 0, bad_opts[i].o, bad_opts[i].n);
        uint32_t answered = peer_quiet(r, 20 * MS);
        csnap_take(r->s[0].io, &s1);
        cr_assert_eq(answered, 0, "SYN with option '%s' answered", bad_opts[i].name);
        cr_assert_gt(csnap_sum(&s1, "drop"), csnap_sum(&s0, "drop"),
                     "SYN with option '%s' not counted: %s", bad_opts[i].name,
                     csnap_diff(&s0, &s1, d, sizeof(d)));
        cr_assert_eq(r->nconns, 0);
    }
    struct conn *c = peer_open_passive(r, &pc, PEER_PORT, 0x61000000u, 0);
    peer_exchange(r, &pc, c, 1000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* 4+. SYN retransmissions back off (RFC 6298 §5.5), then CLOSED TIMEOUT. */
static int cond_seg_or_closed(struct rig *r, void *a)
{
    return r->seg_count > 0 || ((struct conn *)a)->closed;
}

Test(ustack_bb, syn_retransmits_back_off_then_connect_times_out)
{
    struct rig *r = rig_peer();
    struct seg s;
    char d[128];
    uint64_t at[32];
    int n = 0;
    r->idle_step = 1 * MS;
    struct conn *c = rig_connect(r, 0, IP_B, SRV_PORT);
    while (n < 32) {
        RUN(r, cond_seg_or_closed, c, 600 * SEC, "SYN or CLOSED");
        if (!peer_next(r, &s, 0)) break;
        if (s.p.flags & FR_RST) continue;
        cr_assert_eq(s.p.flags & (FR_SYN | FR_ACK), FR_SYN, "got %s",
                     fr_describe(&s.p, d, sizeof(d)));
        at[n++] = s.t;
    }
    RUN(r, cond_closed, c, 600 * SEC, "connect timeout");
    cr_assert_eq(c->reason, NETIO_CLOSE_TIMEOUT, "%s", netio_close_reason_str(c->reason));
    cr_assert_geq(n, 4, "only %d SYNs before giving up", n);
    cr_assert_geq(at[1] - at[0], 900 * MS, "first SYN retransmission after %.3f s",
                  (double)(at[1] - at[0]) / 1e9);
    for (int i = 2; i < n; i++) {
        uint64_t g = at[i] - at[i - 1], pg = at[i - 1] - at[i - 2];
        if (pg < 30 * SEC) /* below any RTO ceiling: doubles */
            cr_assert(g + 5 * MS >= 2 * pg && g <= 2 * pg + 5 * MS,
                      "SYN gap %d is %.3f s after %.3f s (want double)", i, (double)g / 1e9,
                      (double)pg / 1e9);
    }
    cr_log_info("connect timeout: %d SYNs, CLOSED %.1f s after the first", n,
                (double)(r->sr.now_ns - at[0]) / 1e9);
    rig_fini(r);
}

/* Fast retransmit (RFC 5681 §3.2): a lost middle segment is resent on the
 * third duplicate ACK, well before the 200 ms minimum RTO. */
Test(ustack_bb, fast_retransmit_on_dup_acks)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    struct conn *c = peer_open_active(r, &pc);
    uint64_t n = 60000;
    c->tx_goal = n;
    uint32_t lost = pc.irs + 1 + 1460; /* the second segment */
    int dropped = 0, dups = 0;
    uint64_t t_drop = 0, t_re = 0;
    while (pc.rx_bytes < n) {
        cr_assert(peer_next(r, &s, 10 * SEC), "stalled at %" PRIu64, pc.rx_bytes);
        if (s.p.seq == lost && s.p.len) {
            if (!dropped++) {
                t_drop = s.t;
                continue;
            }
            if (!t_re) t_re = s.t;
        }
        uint32_t before = pc.rcv_nxt;
        pc_take(&pc, &s.p);
        dups += dropped && !t_re && pc.rcv_nxt == before;
        if (s.p.len) pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    }
    cr_assert_geq(dropped, 2);
    cr_assert_geq(dups, 3, "only %d duplicate ACKs were possible (initial window?)", dups);
    cr_assert_lt(t_re - t_drop, 100 * MS,
                 "lost segment resent after %.3f s: RTO, not fast "
                 "retransmit (%d dup ACKs sent)",
                 (double)(t_re - t_drop) / 1e9, dups);
    cr_assert_eq(pc.rx_bad, NO_BAD);
    cr_assert_eq(pc.rx_hash, c->tx_hash);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* RFC 7323: the stack answers our window scale with its own and obeys ours. */
Test(ustack_bb, window_scale_negotiated_and_respected)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg sa, s;
    char d[128];
    static const uint8_t opts[8] = {FR_OPT_MSS, 4, 0x05, 0xb4, FR_OPT_NOP, FR_OPT_WS, 3, 2};
    rig_listen(r, 0, IP_A, SRV_PORT);
    pc_init(&pc, PEER_PORT, 0x70000000u);
    pc.sport = SRV_PORT;
    pc_send(r, &pc, FR_SYN, NULL, 0, opts, sizeof(opts));
    cr_assert(peer_next(r, &sa, 100 * MS), "no SYN-ACK");
    cr_assert_eq(sa.p.flags & (FR_SYN | FR_ACK), FR_SYN | FR_ACK);
    cr_assert_geq(sa.p.wscale, 0, "no window scale in the SYN-ACK to a SYN that had one");
    cr_assert_leq(sa.p.wscale, 14);
    int their = sa.p.wscale;
    pc.shift = 2;
    pc.fixed_edge = 1;
    pc.irs = sa.p.seq;
    pc.rcv_nxt = sa.p.seq + 1;
    pc.edge = pc.rcv_nxt + 4000; /* advertised as 1000 << 2 */
    int before = r->nconns;
    pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    RUN(r, cond_accepted_new, &before, 100 * MS, "ACCEPTED");
    struct conn *c = accepted_on(r, 0);
    c->tx_goal = 20000;
    while (peer_next(r, &s, 50 * MS)) { /* until the stack waits for window */
        cr_assert(FR_SEQ_LEQ(s.p.seq + s.p.len, pc.edge),
                  "sent past our scaled window (edge %u): %s", pc.edge,
                  fr_describe(&s.p, d, sizeof(d)));
        pc_take(&pc, &s.p);
        if ((uint64_t)s.p.win << their <= 65535 && s.p.len == 0 && !(s.p.flags & FR_SYN))
            cr_log_info("stack window %u << %d", s.p.win, their);
    }
    cr_assert_eq(pc.rx_bytes, 4000, "stack sent %" PRIu64 " bytes into a 4000-byte window",
                 pc.rx_bytes);
    pc.fixed_edge = 0;
    pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0); /* open: 65535 << 2 */
    peer_recv(r, &pc, 20000);
    cr_assert_eq(pc.rx_hash, c->tx_hash);
    /* the stack's own scaled window covers its 256 KiB buffer, not 64 KiB */
    pc_send_stream(r, &pc, 1000);
    cr_assert(peer_next(r, &s, 100 * MS), "no ACK for our data");
    cr_assert_gt((uint64_t)s.p.win << their, 65535u, "stack window %u << %d: scaling unused",
                 s.p.win, their);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* Many connections at once through one pair of stacks, with loss. */
Test(ustack_bb, bulk_16_connections_both_ways_loss_1pct)
{
    struct rig_opts o = {.seed = 9, .loss = 0.01};
    struct rig *r = rig_pair(&o);
    uint64_t n = 2 * MIB;
    r->s[1].tmpl.tx_goal = r->s[1].tmpl.rx_goal = n;
    r->s[1].tmpl.close_when_done = 1;
    rig_listen(r, 1, IP_B, SRV_PORT);
    for (int i = 0; i < 16; i++) {
        struct conn *a = rig_connect(r, 0, IP_B, SRV_PORT);
        a->tx_goal = a->rx_goal = n;
        a->close_when_done = 1;
    }
    RUN(r, cond_all_closed, NULL, 3600 * SEC, "16 transfers");
    cr_assert_eq(r->nconns, 32);
    for (int i = 0; i < r->nconns; i++) {
        const struct conn *c = &r->conns[i];
        cr_assert(c->tx_off == n && c->rx_off == n && c->rx_bad == NO_BAD,
                  "conn %d (side %d): sent %" PRIu64 " got %" PRIu64 " bad at %" PRIu64
                  " closed %s",
                  i, c->side, c->tx_off, c->rx_off, c->rx_bad, netio_close_reason_str(c->reason));
        cr_assert_eq(c->rx_hash, r->conns[c->side ? 0 : 16].tx_hash);
    }
    rig_fini(r);
}

/* Peer half-closes; the stack's application keeps sending, then closes
 * (CLOSE_WAIT -> LAST_ACK), as with the kernel driver. */
Test(ustack_bb, half_close_stack_sends_after_peer_fin)
{
    struct rig *r;
    struct pconn pc;
    struct seg s;
    struct conn *c = rst_setup(&r, &pc);
    pc_send(r, &pc, FR_FIN | FR_ACK, NULL, 0, NULL, 0);
    cr_assert(peer_next(r, &s, 100 * MS), "our FIN not acked");
    cr_assert_eq(s.p.ack, pc.snd_nxt);
    cr_assert(c->eof, "no READABLE eof after the peer's FIN");
    cr_assert_eq(c->closed, 0, "closed before the application closed (half-close lost)");
    c->tx_goal += 5000;
    peer_recv(r, &pc, c->tx_goal);
    cr_assert_eq(pc.rx_hash, c->tx_hash);
    conn_close(r, c);
    while (!pc.fin_rcvd) {
        cr_assert(peer_next(r, &s, SEC), "no FIN after close in CLOSE_WAIT");
        pc_take(&pc, &s.p);
    }
    pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    RUN(r, cond_closed, c, 100 * MS, "CLOSED");
    cr_assert_eq(c->reason, NETIO_CLOSE_PEER_FIN, "%s", netio_close_reason_str(c->reason));
    cr_assert_eq(peer_quiet(r, 3 * SEC), 0, "segments after LAST_ACK completed");
    rig_fini(r);
}

/* RFC 5961 §4: a SYN on an established connection draws a challenge ACK. */
Test(ustack_bb, syn_in_established_gets_challenge_ack)
{
    struct rig *r;
    struct pconn pc;
    struct seg s;
    char d[128];
    struct conn *c = rst_setup(&r, &pc);
    size_t ol;
    const uint8_t *o = opt_mss1460(&ol);
    uint8_t f[128];
    peer_tx_frame(r, f, pc_frame(r, &pc, FR_SYN, pc.snd_nxt + 5000, NULL, 0, o, ol, f, sizeof(f)));
    cr_assert(peer_next(r, &s, 10 * MS), "no challenge ACK to a SYN in ESTABLISHED");
    cr_assert_eq(s.p.flags & (FR_ACK | FR_RST | FR_SYN | FR_FIN), FR_ACK, "got %s",
                 fr_describe(&s.p, d, sizeof(d)));
    cr_assert_eq(s.p.seq, pc.rcv_nxt);
    cr_assert_eq(s.p.ack, pc.snd_nxt);
    cr_assert_eq(c->closed, 0, "connection closed by a SYN");
    peer_exchange(r, &pc, c, 1000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* Segments out of order, duplicated and overlapping are reassembled exactly. */
Test(ustack_bb, out_of_order_overlapping_segments_reassembled)
{
    struct rig *r;
    struct pconn pc;
    struct seg s;
    struct conn *c = rst_setup(&r, &pc);
    static const struct {
        uint32_t off, len;
    } order[] = {
        {4500, 500}, {1500, 500},  {3500, 500}, {500, 500},   {1500, 500}, {2500, 500},
        {250, 1300}, {4000, 1000}, {0, 500},    {2000, 1000}, {3000, 600}, {0, 1400},
    };
    uint8_t f[PKTIO_MAX_FRAME];
    uint32_t base = pc.snd_nxt;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        size_t got;
        uint32_t len = order[i].len;
        const uint8_t *d = pattern_at(PAT_B + pc.tx_bytes + order[i].off, len, &got);
        peer_tx_frame(
            r, f,
            pc_frame(r, &pc, FR_ACK | FR_PSH, base + order[i].off, d, got, NULL, 0, f, sizeof(f)));
        rig_advance(r, 1 * MS);
    }
    pc.snd_nxt = base + 5000;
    pc.tx_bytes += 5000;
    c->rx_goal = pc.tx_bytes;
    RUN(r, cond_rx_goal, c, 100 * MS, "reassembled data");
    rig_advance(r, 50 * MS);
    cr_assert_eq(c->rx_off, pc.tx_bytes, "delivered %" PRIu64 " of %" PRIu64, c->rx_off,
                 pc.tx_bytes);
    cr_assert_eq(c->rx_bad, NO_BAD, "reassembled stream differs at %" PRIu64, c->rx_bad);
    uint32_t last_ack = 0;
    while (peer_next(r, &s, 0))
        last_ack = s.p.ack;
    cr_assert_eq(last_ack, base + 5000, "final ACK %u, want %u", last_ack, base + 5000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* ARP: a lost request is retried and the connection then completes. */
Test(ustack_bb, arp_request_lost_once_recovers)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    r->arp_ignore = 1;
    pc_init(&pc, SRV_PORT, 0x23000000u);
    struct conn *c = rig_connect(r, 0, IP_B, SRV_PORT);
    cr_assert(peer_next(r, &s, 10 * SEC), "no SYN after a lost ARP request (no ARP retry?)");
    cr_assert_eq(r->arp_ignore, 0, "no ARP request was sent");
    cr_assert_eq(r->arp_answered, 1);
    cr_log_info("SYN %.3f s after the lost ARP request", (double)(s.t - r->arp_ignored_t) / 1e9);
    peer_answer_syn(r, &pc, &s);
    peer_expect_ack(r, &pc);
    RUN(r, cond_connected, c, 100 * MS, "CONNECTED");
    peer_exchange(r, &pc, c, 2000);
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}

/* An on-link address nobody answers ARP for, and an off-link one. */
Test(ustack_bb, connect_to_unresolvable_or_unreachable_fails)
{
    struct rig *r = rig_peer();
    char err[256] = "";
    r->idle_step = 1 * MS;
    struct conn *c = rig_connect(r, 0, 0xc6120063u /* 198.18.0.99 */, SRV_PORT);
    RUN(r, cond_closed, c, 600 * SEC, "CLOSED for an unresolvable address");
    cr_assert_eq(c->connected, 0);
    cr_assert(c->reason == NETIO_CLOSE_CONNECT_FAILED || c->reason == NETIO_CLOSE_TIMEOUT,
              "closed with %s", netio_close_reason_str(c->reason));
    cr_assert_eq(r->seg_count, 0, "TCP sent to an unresolved address");
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(SRV_PORT)};
    dst.sin_addr.s_addr = htonl(0x0a000001u); /* 10.0.0.1: off-link, no route */
    cr_assert_lt(r->nconns, MAXC);
    struct conn *slot = &r->conns[r->nconns];
    int h = netio_connect(r->s[0].io, &dst, slot, err, sizeof(err));
    if (h >= 0) { /* allowed: a CLOSED CONNECT_FAILED must follow */
        struct conn *x = conn_new(r, 0, h);
        RUN(r, cond_closed, x, 10 * SEC, "CLOSED for an off-link address");
        cr_assert_eq(x->reason, NETIO_CLOSE_CONNECT_FAILED, "%s",
                     netio_close_reason_str(x->reason));
    } else {
        cr_assert_neq(err[0], 0, "netio_connect failed without a message");
    }
    cr_log_info("off-link connect: %s", h < 0 ? err : "CLOSED CONNECT_FAILED");
    rig_fini(r);
}

/* 5. Undo (RFC 2883 section 4, RFC 3708): A sends 16 MiB to B at 2 ms RTT.
 * spike: after the 400th frame B sends, B's link holds its frames (the ACKs)
 * for 500 ms (impair's delay spike); A's RTO (200 ms) fires and resends the
 * first unacked segment, which B already has: B D-SACKs it, and the D-SACK
 * comes to A behind the held ACKs. Every retransmission of the episode was
 * D-SACKed: A undoes its cut (dsack_undo 1, cwnd and ssthresh right after at
 * least what they were before the RTO). control: no spike, 1% of A's frames
 * lost: the resends repair losses, nothing is undone. */
static void undo_case(int spike)
{
    struct rig_opts o = {.seed = 31};
    struct rig *r = rig_alloc();
    struct stack_rig_opts so;
    stack_rig_opts_init(&so, 2);
    so.link.pool_size = 4096;
    so.impair = 1;
    for (int i = 0; i < 2; i++) {
        so.impair_cfg[i] =
            (struct impair_config){.seed = o.seed * 2 + (uint64_t)i, .delay_ns = 1 * MS};
        stack_cfg(&so.stack[i], r, i, &o);
    }
    if (spike) {
        so.impair_cfg[1].spike_after = 400;
        so.impair_cfg[1].spike_ns = 500 * MS;
    } else {
        so.impair_cfg[0].loss = 0.01;
    }
    struct wrap_req w = {.r = r};
    rig_start(r, &so, &w);
    struct conn *a, *b;
    establish(r, &a, &b);
    const uint64_t n = 16 * MIB;
    a->tx_goal += n;
    b->rx_goal += n;
    uint32_t cw0 = 0, ss0 = 0, cw1 = 0, ss1 = 0;
    int dsacked = 0;
    uint64_t t0 = r->sr.now_ns, end = t0 + 60 * SEC;
    struct csnap cs;
    while (b->rx_off < b->rx_goal && r->sr.now_ns < end && !r->errors) {
        rig_step(r);
        uint32_t cw, ss;
        cr_assert_eq(ustack_cc(r->s[0].io, a->handle, &cw, &ss), 0);
        csnap_take(r->s[0].io, &cs);
        if (!csnap_sum(&cs, "timeouts")) {
            cw0 = cw, ss0 = ss; /* the last values before the RTO */
        } else if (!dsacked && csnap_sum(&cs, "dsack_rcvd") >= csnap_sum(&cs, "retransmits")) {
            dsacked = 1;
            cw1 = cw, ss1 = ss; /* right after every resend was D-SACKed */
        }
    }
    cr_assert_eq(b->rx_off, b->rx_goal, "B got %" PRIu64 " of %" PRIu64 " in %.3f s (virtual)",
                 b->rx_off, b->rx_goal, (double)(r->sr.now_ns - t0) / 1e9);
    cr_assert_eq(b->rx_bad, NO_BAD, "A->B stream differs at byte %" PRIu64, b->rx_bad);
    cr_assert_eq(b->rx_hash, a->tx_hash, "A->B hash differs");
    struct csnap sb;
    csnap_take(r->s[1].io, &sb);
    uint64_t rexmit = csnap_sum(&cs, "retransmits"), rto = csnap_sum(&cs, "timeouts"),
             dsack = csnap_sum(&cs, "dsack_rcvd"), undo = csnap_sum(&cs, "dsack_undo");
    cr_log_info("undo %s: 16 MiB in %.3f s (virtual); A: retransmits %" PRIu64 " timeouts %" PRIu64
                " dsack_rcvd %" PRIu64 " dsack_undo %" PRIu64 " cwnd %u -> %u ssthresh %u -> %u; "
                "B: dsack_sent %" PRIu64,
                spike ? "spike" : "control (1% loss)", (double)(r->sr.now_ns - t0) / 1e9, rexmit,
                rto, dsack, undo, cw0, cw1, ss0, ss1, csnap_sum(&sb, "dsack_sent"));
    cr_assert_gt(rexmit, 0, "nothing was resent: the test shows nothing");
    if (spike) {
        cr_assert_eq(pktio_counter(r->s[1].imp, "impair_spikes"), 1);
        cr_assert_geq(rto, 1, "the 500 ms spike drew no RTO");
        cr_assert_geq(csnap_sum(&sb, "dsack_sent"), 1, "B D-SACKed nothing");
        cr_assert_geq(dsack, 1, "A got no D-SACK");
        cr_assert(dsacked, "not every resend was D-SACKed");
        cr_assert_geq(cw1, cw0, "cwnd after the D-SACKs %u < %u before the RTO", cw1, cw0);
        cr_assert_geq(ss1, ss0, "ssthresh after the D-SACKs %u < %u before the RTO", ss1, ss0);
        cr_assert_eq(undo, 1, "one spurious episode, %" PRIu64 " undone", undo);
    } else {
        cr_assert_eq(undo, 0, "real losses repaired, yet %" PRIu64 " cut(s) undone", undo);
    }
    rig_fini(r);
}
Test(ustack_bb, undo_when_every_rto_resend_is_dsacked)
{
    undo_case(1);
}
Test(ustack_bb, no_undo_when_the_loss_was_real)
{
    undo_case(0);
}

/* 5a (setup B). Undo with the D-SACKs crafted: SACK agreed, the stack sends
 * 10 segments, we hold our ACKs; its tail loss probe resends the last one,
 * then its RTO (200 ms) the first unacked one: one episode, two resends.
 * Then an ACK of all ten, with (0) a D-SACK of the RTO's resend (one of two:
 * no undo yet) and a second ACK with a D-SACK of the probe: every resend
 * D-SACKed, after the episode ended, and the cut is undone (cwnd at least
 * what it was before); (1) the first segment acked before the probe, and
 * the D-SACKs name it (below the episode's start: not a resend of it) and
 * the probe: one resend of the episode left, no undo; (2) no D-SACK: no
 * undo. */
/* A SACK option of one block [l, r) into o (12 bytes); its length. */
static size_t dsack_opt(uint8_t *o, uint32_t l, uint32_t r)
{
    size_t n = fr_opt_nop(o);
    n += fr_opt_nop(o + n);
    o[n++] = 5; /* SACK */
    o[n++] = 10;
    const uint32_t v[2] = {l, r};
    for (int i = 0; i < 2; i++)
        for (int b = 3; b >= 0; b--)
            o[n++] = (uint8_t)(v[i] >> (8 * b));
    return n;
}

static void undo_crafted(int variant)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    char d[128];
    struct conn *c = peer_open_active_sack(r, &pc);
    const uint32_t mss = 1460, nseg = 10;
    uint32_t base = pc.rcv_nxt;
    struct seg segs[10];
    stack_sends(r, c, segs, nseg, base, mss);
    if (variant == 1) { /* the first one acked: the episode starts above it */
        pc_take(&pc, &segs[0].p);
        pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    }
    uint32_t cw0, ss0, cw1, ss1;
    cr_assert_eq(ustack_cc(r->s[0].io, c->handle, &cw0, &ss0), 0);
    struct csnap before, after;
    csnap_take(r->s[0].io, &before);
    uint32_t una = variant == 1 ? base + mss : base, last = base + (nseg - 1) * mss;
    cr_assert(peer_next(r, &s, 100 * MS), "no tail loss probe");
    cr_assert_eq(s.p.seq, last, "probe %s, want %u", fr_describe(&s.p, d, sizeof(d)), last);
    cr_assert(peer_next(r, &s, 2 * SEC), "no RTO resend");
    cr_assert_eq(s.p.seq, una, "resent %s, want %u", fr_describe(&s.p, d, sizeof(d)), una);
    cr_assert_eq(peer_quiet(r, 10 * MS), 0, "more than one resend (cwnd one segment)");
    for (uint32_t i = 0; i < nseg; i++)
        pc_take(&pc, &segs[i].p);
    cr_assert_eq(pc.rx_bytes, (uint64_t)nseg * mss);
    uint8_t so[12];
    /* variant 0: the RTO's resend; 1: below the episode */
    size_t sl = variant == 2 ? 0 : dsack_opt(so, base, base + mss);
    pc_send(r, &pc, FR_ACK, NULL, 0, sl ? so : NULL, sl);
    rig_advance(r, 1 * MS);
    if (variant != 2) { /* one of two resends D-SACKed (0), or none (1): not yet */
        csnap_take(r->s[0].io, &after);
        cr_assert_eq(csnap_sum(&after, "dsack_undo"), csnap_sum(&before, "dsack_undo"),
                     "undone before every resend was D-SACKed");
        pc_send(r, &pc, FR_ACK, NULL, 0, so, dsack_opt(so, last, last + mss));
        rig_advance(r, 1 * MS);
    }
    cr_assert_eq(ustack_cc(r->s[0].io, c->handle, &cw1, &ss1), 0);
    csnap_take(r->s[0].io, &after);
    char dd[1024];
    csnap_diff(&before, &after, dd, sizeof(dd));
    cr_log_info("undo crafted %d: cwnd %u -> %u, ssthresh %u -> %u; %s", variant, cw0, cw1, ss0,
                ss1, dd);
    uint64_t rto = csnap_sum(&after, "timeouts") - csnap_sum(&before, "timeouts");
    uint64_t ds = csnap_sum(&after, "dsack_rcvd") - csnap_sum(&before, "dsack_rcvd");
    uint64_t undo = csnap_sum(&after, "dsack_undo") - csnap_sum(&before, "dsack_undo");
    cr_assert_eq(rto, 1, "%s", dd);
    cr_assert_eq(ds, variant == 2 ? 0u : 2u, "%s", dd);
    if (variant == 0) {
        cr_assert_eq(undo, 1, "%s", dd);
        cr_assert_geq(cw1, cw0, "cwnd %u after the undo, %u before the RTO", cw1, cw0);
        cr_assert_geq(ss1, ss0, "ssthresh %u after the undo, %u before the RTO", ss1, ss0);
    } else {
        cr_assert_eq(undo, 0, "%s", dd);
        cr_assert_lt(cw1, cw0, "cwnd %u, %u before the RTO: the cut stayed", cw1, cw0);
    }
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}
Test(ustack_bb, undo_crafted_dsack_of_the_rto_resend)
{
    undo_crafted(0);
}
Test(ustack_bb, no_undo_for_a_dsack_below_the_episode)
{
    undo_crafted(1);
}
Test(ustack_bb, no_undo_without_dsack)
{
    undo_crafted(2);
}

/* 5b (setup B). A spurious fast recovery: the first of 10 segments is late
 * (reordered), the peer SACKs the other nine, the stack deems it lost (RFC
 * 6675), cuts cwnd and resends it. Then the late original arrives: the peer
 * ACKs all ten and D-SACKs the resend. The recovery is undone and left
 * (cwnd back, no deflation to the cut ssthresh), and the next 10 segments
 * go out at once, none resent. */
Test(ustack_bb, undo_spurious_fast_recovery)
{
    struct rig *r = rig_peer();
    struct pconn pc;
    struct seg s;
    char d[128];
    struct conn *c = peer_open_active_sack(r, &pc);
    const uint32_t mss = 1460, nseg = 10;
    uint32_t base = pc.rcv_nxt;
    struct seg segs[10];
    stack_sends(r, c, segs, nseg, base, mss);
    uint32_t cw0, ss0, cw1, ss1;
    cr_assert_eq(ustack_cc(r->s[0].io, c->handle, &cw0, &ss0), 0);
    struct csnap before, after;
    csnap_take(r->s[0].io, &before);
    uint8_t so[12];
    for (uint32_t i = 1; i < nseg; i++) /* the first is late: SACK the others */
        pc_send(r, &pc, FR_ACK, NULL, 0, so, dsack_opt(so, base + mss, base + (i + 1) * mss));
    cr_assert(peer_next(r, &s, 100 * MS), "the late segment was not resent");
    cr_assert_eq(s.p.seq, base, "resent %s, want %u", fr_describe(&s.p, d, sizeof(d)), base);
    csnap_take(r->s[0].io, &after);
    cr_assert_eq(csnap_sum(&after, "sack_recoveries") - csnap_sum(&before, "sack_recoveries"), 1);
    cr_assert_eq(csnap_sum(&after, "timeouts"), csnap_sum(&before, "timeouts"));
    uint32_t cwc;
    cr_assert_eq(ustack_cc(r->s[0].io, c->handle, &cwc, NULL), 0);
    cr_assert_lt(cwc, cw0, "no cut (cwnd %u, %u before)", cwc, cw0);
    for (uint32_t i = 0; i < nseg; i++) /* the original arrives; then the resend, twice */
        pc_take(&pc, &segs[i].p);
    pc_send(r, &pc, FR_ACK, NULL, 0, so, dsack_opt(so, base, base + mss));
    rig_advance(r, 1 * MS);
    cr_assert_eq(ustack_cc(r->s[0].io, c->handle, &cw1, &ss1), 0);
    csnap_take(r->s[0].io, &after);
    char dd[1024];
    csnap_diff(&before, &after, dd, sizeof(dd));
    cr_log_info("spurious fast recovery: cwnd %u -> %u -> %u, ssthresh %u -> %u; %s", cw0, cwc,
                cw1, ss0, ss1, dd);
    cr_assert_eq(csnap_sum(&after, "dsack_undo") - csnap_sum(&before, "dsack_undo"), 1, "%s", dd);
    cr_assert_geq(cw1, cw0, "cwnd %u after the undo, %u before the recovery", cw1, cw0);
    cr_assert_leq(cw1, cw0 + 2 * mss, "cwnd %u after the undo, %u before: the recovery's end "
                  "set it to the restored ssthresh", cw1, cw0);
    cr_assert_geq(ss1, ss0, "ssthresh %u after the undo, %u before", ss1, ss0);
    /* the recovery is over: 10 more segments go at once, none twice */
    c->tx_goal += (uint64_t)nseg * mss;
    for (uint32_t i = 0; i < nseg; i++) {
        cr_assert(peer_next(r, &s, 5 * MS), "segment %u of the next flight not sent at once", i);
        cr_assert_eq(s.p.seq, base + (nseg + i) * mss, "%s", fr_describe(&s.p, d, sizeof(d)));
        pc_take(&pc, &s.p);
    }
    pc_send(r, &pc, FR_ACK, NULL, 0, NULL, 0);
    cr_assert_eq(peer_quiet(r, 300 * MS), 0, "segments after everything was acked");
    cr_assert_eq(pc.rx_bad, NO_BAD);
    csnap_take(r->s[0].io, &after);
    cr_assert_eq(csnap_sum(&after, "retransmits") - csnap_sum(&before, "retransmits"), 1, "%s",
                 csnap_diff(&before, &after, dd, sizeof(dd)));
    peer_stack_closes(r, &pc, c);
    rig_fini(r);
}
