/*
 * test_ustack_keepalive.c — the per-connection options the preload library
 * sets on our stack (drivers/ustack/tcp_keepalive.c), over the stack rig
 * (memlink, virtual clock) with a raw peer built frame by frame:
 *   - SO_KEEPALIVE: a silent peer gets probes (ACK, sequence snd_una - 1,
 *     no data) at idle, then every interval; after TCP_KEEPCNT unanswered
 *     ones an RST and CLOSED with NETIO_CLOSE_TIMEOUT (ETIMEDOUT);
 *   - a peer that answers keeps the connection, probes every idle again;
 *   - traffic from the peer defers the probes; keepalive off stops them;
 *   - the stack answers the peer's own keepalive probe with an ACK;
 *   - a receive window cap (SO_RCVBUF) bounds the window offered once the
 *     window already offered is used up, never pulling it back.
 * Calls: tests/rig/stack_rig.h, tests/drivers/frames.h, ustack_query.h.
 */
#include <criterion/criterion.h>

#include "drivers/netio.h"
#include "drivers/pktio.h"
#include "drivers/ustack/ustack.h"
#include "drivers/ustack/ustack_query.h"
#include "tests/drivers/frames.h"
#include "tests/rig/stack_rig.h"

#include <arpa/inet.h>
#include <string.h>

#define NS 1000000000ull
#define MAXF 256

struct kw {
    struct stack_rig sr;
    struct netio *io;
    struct pktio *peer;
    uint8_t mac_us[6], mac_peer[6];
    int h, closed, reason, hold;
    size_t rx; /* bytes the app consumed */
    struct fr_pkt got[MAXF];
    uint64_t at[MAXF];
    uint8_t store[MAXF][PKTIO_MAX_FRAME];
    int ngot;
    uint32_t snd, rcv; /* the peer's next sequence, the stack's next expected by the peer */
};

static void send_frame(struct kw *w, const uint8_t *f, size_t n)
{
    struct pktbuf *b = pktio_alloc(w->peer);
    cr_assert_not_null(b);
    memcpy(b->data, f, n);
    b->len = (uint32_t)n;
    cr_assert_eq(pktio_tx_burst(w->peer, &b, 1), 1);
}

static void peer_tcp(struct kw *w, uint32_t seq, uint32_t ack, uint8_t fl, const uint8_t *opts,
                     size_t optlen, const void *data, size_t len)
{
    uint8_t f[PKTIO_MAX_FRAME];
    struct fr_tcp t = {.src_ip = STACK_RIG_IP(1),
                       .dst_ip = STACK_RIG_IP(0),
                       .sport = 40000,
                       .dport = 80,
                       .seq = seq,
                       .ack = ack,
                       .flags = fl,
                       .win = 65535,
                       .opts = opts,
                       .optlen = optlen,
                       .data = data,
                       .len = len};
    memcpy(t.src_mac, w->mac_peer, 6);
    memcpy(t.dst_mac, w->mac_us, 6);
    size_t n = fr_build_tcp(f, sizeof(f), &t);
    cr_assert(n > 0);
    send_frame(w, f, n);
}

/* Polls the stack (the app accepts, consumes unless hold, notes CLOSED),
 * then keeps what it sent; ARP requests are answered. */
static void pump(struct kw *w)
{
    struct netio_event ev[16];
    int n;
    while ((n = netio_poll(w->io, ev, 16, 0)) > 0)
        for (int k = 0; k < n; k++) {
            if (ev[k].type == NETIO_EV_ACCEPTED) w->h = ev[k].conn;
            if (ev[k].type == NETIO_EV_READABLE && !w->hold) {
                netio_consume(w->io, ev[k].conn, ev[k].len);
                w->rx += ev[k].len;
            }
            if (ev[k].type == NETIO_EV_CLOSED) {
                w->closed = 1;
                w->reason = (int)ev[k].reason;
            }
        }
    netio_flush(w->io);
    struct pktbuf *b[32];
    uint16_t got;
    while ((got = pktio_rx_burst(w->peer, b, 32)) > 0) {
        for (uint16_t i = 0; i < got; i++) {
            cr_assert_lt(w->ngot, MAXF);
            memcpy(w->store[w->ngot], b[i]->data, b[i]->len);
            struct fr_pkt *q = &w->got[w->ngot];
            fr_parse(w->store[w->ngot], b[i]->len, q);
            w->at[w->ngot++] = w->sr.now_ns;
            if (q->kind == FR_K_ARP && q->arp_op == FR_ARP_REQUEST) {
                uint8_t f[64];
                size_t fl = fr_build_arp(f, sizeof(f), 2, q->src_mac, w->mac_peer, STACK_RIG_IP(1),
                                         q->arp_sha, q->arp_spa);
                send_frame(w, f, fl);
            }
        }
        pktio_free(w->peer, b, got);
    }
}

/* A stack listening on 80, a handshake from the raw peer (MSS 1000, no
 * window scale: windows read as bytes). */
static void kw_open(struct kw *w)
{
    char err[256] = "";
    memset(w, 0, sizeof(*w));
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 1);
    o.link.pool_size = 1024;
    o.stack[0].max_conns = 16;
    o.stack[0].tlp_off = 1;
    cr_assert_eq(stack_rig_open(&w->sr, &o, err, sizeof(err)), 0, "stack_rig_open: %s", err);
    w->io = w->sr.io[0];
    w->peer = w->sr.peer;
    memcpy(w->mac_us, w->sr.mac[0], 6);
    memcpy(w->mac_peer, w->sr.mac[1], 6);
    w->h = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    cr_assert_geq(netio_listen(w->io, &a, NULL, err, sizeof(err)), 0, "%s", err);
    uint8_t f[128];
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, z[6] = {0};
    size_t n = fr_build_arp(f, sizeof(f), FR_ARP_REQUEST, bc, w->mac_peer, STACK_RIG_IP(1), z,
                            STACK_RIG_IP(0));
    send_frame(w, f, n);
    pump(w);
    uint8_t opt[4];
    size_t ol = fr_opt_mss(opt, 1000);
    peer_tcp(w, 1000, 0, FR_SYN, opt, ol, NULL, 0);
    pump(w);
    cr_assert_gt(w->ngot, 0);
    struct fr_pkt *sa = &w->got[w->ngot - 1];
    cr_assert_eq(sa->flags, FR_SYN | FR_ACK);
    w->snd = 1001;
    w->rcv = sa->seq + 1;
    peer_tcp(w, w->snd, w->rcv, FR_ACK, NULL, 0, NULL, 0);
    pump(w);
    cr_assert_geq(w->h, 0, "ACCEPTED");
    w->ngot = 0;
}

static uint64_t ctr(struct kw *w, const char *name)
{
    struct netio_counter cs[256];
    int n = netio_counters(w->io, cs, 256);
    for (int i = 0; i < n; i++)
        if (strcmp(cs[i].name, name) == 0) return cs[i].value;
    cr_assert_fail("no counter '%s'", name);
    return 0;
}

/* Runs the clock for ns in 100 ms steps. */
static void run_for(struct kw *w, uint64_t ns)
{
    for (uint64_t end = w->sr.now_ns + ns; w->sr.now_ns < end && !w->closed;) {
        w->sr.now_ns += 100000000ull;
        pump(w);
    }
}

static int is_probe(const struct kw *w, const struct fr_pkt *p)
{
    return p->kind == FR_K_TCP && p->flags == FR_ACK && p->len == 0 && p->seq == w->rcv - 1 &&
           p->ack == w->snd;
}

Test(ustack_keepalive, silent_peer_probed_then_reset)
{
    struct kw w;
    kw_open(&w);
    uint64_t t0 = w.sr.now_ns;
    cr_assert_eq(ustack_set_keepalive(w.io, w.h, 1, 10, 2, 3), 0);
    run_for(&w, 60 * NS);
    cr_assert(w.closed, "reset after the unanswered probes");
    cr_assert_eq(w.reason, NETIO_CLOSE_TIMEOUT, "ETIMEDOUT to the application");
    int probes = 0, rst = 0;
    uint64_t want[3] = {10 * NS, 12 * NS, 14 * NS};
    for (int i = 0; i < w.ngot; i++) {
        struct fr_pkt *p = &w.got[i];
        if (p->kind != FR_K_TCP) continue;
        if (p->flags & FR_RST) {
            rst++;
            uint64_t t = w.at[i] - t0;
            cr_assert(t >= 16 * NS && t <= 16 * NS + 300000000ull,
                      "reset one interval after the 3rd probe, at %lu ms",
                      (unsigned long)(t / 1000000));
            continue;
        }
        cr_assert(is_probe(&w, p), "probe %d: seq %u (snd_una - 1 = %u), ack %u, len %zu, flags %x",
                  probes, p->seq, w.rcv - 1, p->ack, p->len, p->flags);
        cr_assert_lt(probes, 3, "no more than TCP_KEEPCNT probes");
        uint64_t t = w.at[i] - t0;
        cr_assert(t >= want[probes] && t <= want[probes] + 300000000ull,
                  "probe %d at %lu ms, want %lu", probes, (unsigned long)(t / 1000000),
                  (unsigned long)(want[probes] / 1000000));
        probes++;
    }
    cr_assert_eq(probes, 3);
    cr_assert_eq(rst, 1);
    cr_assert_eq(ctr(&w, "keepalive_probes"), 3);
    cr_assert_eq(ctr(&w, "keepalive_timeouts"), 1);
    cr_assert_eq(ctr(&w, "close_timeout"), 1);
    stack_rig_close(&w.sr);
}

Test(ustack_keepalive, answered_probes_keep_the_connection)
{
    struct kw w;
    kw_open(&w);
    cr_assert_eq(ustack_set_keepalive(w.io, w.h, 1, 5, 1, 2), 0);
    int answered = 0;
    for (uint64_t end = w.sr.now_ns + 60 * NS; w.sr.now_ns < end && !w.closed;) {
        w.sr.now_ns += 100000000ull;
        int before = w.ngot;
        pump(&w);
        for (int i = before; i < w.ngot; i++)
            if (is_probe(&w, &w.got[i])) { /* the peer answers as Linux does: an ACK */
                peer_tcp(&w, w.snd, w.rcv, FR_ACK, NULL, 0, NULL, 0);
                answered++;
            }
    }
    cr_assert_not(w.closed, "answered probes: the connection stays");
    cr_assert(answered >= 10 && answered <= 12, "a probe per idle period (5 s) in 60 s: %d",
              answered);
    cr_assert_eq(ctr(&w, "keepalive_timeouts"), 0);
    stack_rig_close(&w.sr);
}

Test(ustack_keepalive, traffic_defers_probes_and_off_stops_them)
{
    struct kw w;
    kw_open(&w);
    cr_assert_eq(ustack_set_keepalive(w.io, w.h, 1, 5, 1, 2), 0);
    for (int k = 0; k < 8; k++) { /* the peer talks every 3 s: never idle for 5 */
        run_for(&w, 3 * NS);
        peer_tcp(&w, w.snd, w.rcv, FR_ACK | FR_PSH, NULL, 0, "hi", 2);
        w.snd += 2;
    }
    pump(&w);
    cr_assert_eq(ctr(&w, "keepalive_probes"), 0, "no probe while the peer talks");
    cr_assert_eq(w.rx, 16);
    cr_assert_eq(ustack_set_keepalive(w.io, w.h, 0, 5, 1, 2), 0);
    run_for(&w, 30 * NS);
    cr_assert_not(w.closed);
    cr_assert_eq(ctr(&w, "keepalive_probes"), 0, "keepalive off: no probes");
    stack_rig_close(&w.sr);
}

Test(ustack_keepalive, answers_the_peers_probe)
{
    struct kw w;
    kw_open(&w);
    peer_tcp(&w, w.snd - 1, w.rcv, FR_ACK, NULL, 0, NULL, 0); /* Linux's probe: snd_una - 1 */
    pump(&w);
    int acks = 0;
    for (int i = 0; i < w.ngot; i++)
        if (w.got[i].kind == FR_K_TCP && w.got[i].flags == FR_ACK && w.got[i].ack == w.snd &&
            w.got[i].seq == w.rcv)
            acks++;
    cr_assert_eq(acks, 1, "the probe is answered with an ACK of rcv_nxt");
    cr_assert_not(w.closed);
    stack_rig_close(&w.sr);
}

Test(ustack_keepalive, receive_window_cap)
{
    struct kw w;
    kw_open(&w);
    cr_assert_eq(ustack_set_rcvbuf(w.io, w.h, 4000), 0);
    w.hold = 1; /* the app reads nothing: the offered window drains */
    uint8_t d[1000];
    memset(d, 'x', sizeof(d));
    int last = -1, acks = 0;
    for (int k = 0; k < 80; k++) {
        int before = w.ngot;
        peer_tcp(&w, w.snd, w.rcv, FR_ACK, NULL, 0, d, sizeof(d));
        w.snd += sizeof(d);
        w.sr.now_ns += 20000000ull; /* past the delayed ACK */
        pump(&w);
        for (int i = before; i < w.ngot; i++)
            if (w.got[i].kind == FR_K_TCP) {
                cr_assert_geq((uint32_t)w.got[i].ack + w.got[i].win, (uint32_t)w.snd - 1000u,
                              "the right edge never retreats");
                last = w.got[i].win;
                acks++;
            }
        if (last == 0) break;
    }
    cr_assert_eq(last, 0, "the window offered at the handshake used up, then closed (%d ACKs)",
                 acks);
    cr_assert_geq(acks, 30, "ACKs all along: %d", acks);
    /* the app reads it all: the window reopens to the cap, not to rcvbuf */
    struct netio_event ev[4];
    netio_poll(w.io, ev, 4, 0);
    const uint8_t *p;
    size_t len;
    int eof;
    cr_assert_eq(ustack_rx_peek(w.io, w.h, &p, &len, &eof), 0);
    netio_consume(w.io, w.h, len);
    w.hold = 0;
    int before = w.ngot;
    w.sr.now_ns += 20000000ull;
    pump(&w);
    int upd = 0;
    for (int i = before; i < w.ngot; i++)
        if (w.got[i].kind == FR_K_TCP) {
            cr_assert_eq(w.got[i].win, 4000, "window update to the cap: %u", w.got[i].win);
            upd++;
        }
    cr_assert_eq(upd, 1, "one window update");
    cr_assert_eq(ustack_set_rcvbuf(w.io, w.h, 0), 0);
    stack_rig_close(&w.sr);
}
