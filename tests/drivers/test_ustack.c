/*
 * test_ustack.c — unit tests of the user-space TCP/IP stack (drivers/ustack)
 * through its public face only (ustack.h + netio.h): two stacks, 198.18.0.1
 * and 198.18.0.2, over memlink_pair (optionally impaired with impair_wrap)
 * in one process, polled in a loop on a virtual clock: the shared rig,
 * tests/rig/stack_rig.h (one stack and a raw peer for the ustack_raw tests).
 *
 * Covers: ARP resolution, handshake both ways, 1 MiB echo byte-exact, FIN
 * close from either side (reasons, TIME_WAIT, slot reuse), RST on connect
 * to a closed port, abort -> RESET at the peer, retransmission under loss
 * and reordering (byte-exact), zero window and window update, counters,
 * pktio buffer leak check.
 */
#include <criterion/criterion.h>

#include "drivers/netio.h"
#include "drivers/pktio.h"
#include "drivers/ustack/ustack.h"
#include "tests/rig/stack_rig.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define MAXC 64
#define STEP_NS 100000ull /* 100 us of virtual time per loop */

static uint64_t rig_seed = 11; /* impairment seed (per test process) */

/* What a test "application" does with one connection. */
struct crec {
    int used, accepted, connected, closed, eof, reason, writable;
    uint8_t *rx;
    size_t rxlen, rxcap;
    size_t consume_limit; /* consume at most this per READABLE (0 = all) */
    int hold;             /* do not consume at all */
    int echo;             /* queue received bytes for sending back */
    uint8_t *tx;
    size_t txlen, txoff, txcap;
    int close_when_sent, close_on_eof, abort_now, closing;
};

struct side {
    struct netio *io;
    struct crec c[MAXC];
    int listen_echo;         /* accepted connections echo */
    int listen_close_on_eof; /* accepted connections close at EOF */
    int accepts;
};

struct rig {
    struct stack_rig sr; /* sr.now_ns is the clock */
    int leak_check;      /* the link is lossless: every buffer must come back */
    struct side s[2];
};

static uint8_t pat(size_t i)
{
    return (uint8_t)((i * 7919u) ^ (i >> 11));
}

static void rec_reset(struct crec *r)
{
    free(r->rx);
    free(r->tx);
    memset(r, 0, sizeof(*r));
}

/* Two stacks, 198.18.0.1 (side 0) and .2, from tmpl (or the defaults), over
 * memlink, impaired when loss or reorder is set, side pktios wrapped by wrap. */
static void rig_open_wrapped(struct rig *r, double loss, double reorder,
                             const struct ustack_config *tmpl, stack_rig_wrap_fn wrap, void *arg)
{
    char err[256] = "";
    memset(r, 0, sizeof(*r));
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 2);
    o.link.pool_size = 8192;
    o.impair = loss > 0 || reorder > 0;
    for (int i = 0; i < 2; i++) {
        o.impair_cfg[i] = (struct impair_config){
            .seed = rig_seed + (uint64_t)i, .loss = loss, .reorder = reorder};
        if (tmpl) o.stack[i] = *tmpl;
        o.stack[i].ip.s_addr = htonl(STACK_RIG_IP(i));
        o.stack[i].prefix_len = 24;
        if (!o.stack[i].max_conns) o.stack[i].max_conns = MAXC;
        o.stack[i].isn_seed = 1000 + (uint64_t)i;
    }
    o.wrap = wrap;
    o.wrap_arg = arg;
    cr_assert_eq(stack_rig_open(&r->sr, &o, err, sizeof(err)), 0, "stack_rig_open: %s", err);
    r->leak_check = !o.impair;
    for (int i = 0; i < 2; i++)
        r->s[i].io = r->sr.io[i];
}

static void rig_open(struct rig *r, double loss, double reorder, const struct ustack_config *tmpl)
{
    rig_open_wrapped(r, loss, reorder, tmpl, NULL, NULL);
}

static void rig_close(struct rig *r)
{
    /* Leak check on a plain link: once the stacks go quiet every link
     * buffer is back in the pool (nothing kept per packet). */
    if (r->leak_check) {
        uint32_t used = stack_rig_drain(&r->sr, 100);
        cr_assert_eq(used, 0, "%u link buffers never given back", used);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < MAXC; j++)
            rec_reset(&r->s[i].c[j]);
    stack_rig_close(&r->sr);
}

static uint64_t ctr(struct side *s, const char *name)
{
    struct netio_counter cs[256];
    int n = netio_counters(s->io, cs, 256);
    for (int i = 0; i < n; i++)
        if (strcmp(cs[i].name, name) == 0) return cs[i].value;
    cr_assert_fail("no counter '%s'", name);
    return 0;
}

static void append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *d, size_t n)
{
    if (!n) return;
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n)
            nc *= 2;
        *buf = realloc(*buf, nc);
        cr_assert_not_null(*buf);
        *cap = nc;
    }
    memcpy(*buf + *len, d, n);
    *len += n;
}

static void on_event(struct side *s, const struct netio_event *e)
{
    cr_assert(e->conn >= 0 && e->conn < MAXC, "handle %d out of range", e->conn);
    struct crec *r = &s->c[e->conn];
    switch (e->type) {
    case NETIO_EV_ACCEPTED:
        cr_assert(!r->used || r->closed, "ACCEPTED on a live handle %d", e->conn);
        rec_reset(r);
        r->used = r->accepted = 1;
        r->echo = s->listen_echo;
        r->close_on_eof = s->listen_close_on_eof;
        s->accepts++;
        break;
    case NETIO_EV_CONNECTED:
        cr_assert(r->used && !r->closed, "CONNECTED on an unknown handle");
        r->connected = 1;
        break;
    case NETIO_EV_READABLE: {
        cr_assert(r->used && !r->closed, "READABLE on an unknown/closed handle");
        if (e->eof) r->eof = 1;
        if (r->hold) break;
        size_t n = e->len;
        if (r->consume_limit && n > r->consume_limit) n = r->consume_limit;
        append(&r->rx, &r->rxlen, &r->rxcap, e->data, n);
        if (r->echo) append(&r->tx, &r->txlen, &r->txcap, e->data, n);
        netio_consume(s->io, e->conn, n);
        break;
    }
    case NETIO_EV_WRITABLE:
        r->writable++;
        break;
    case NETIO_EV_CLOSED:
        cr_assert(r->used && !r->closed, "second CLOSED for handle %d", e->conn);
        r->closed = 1;
        r->reason = (int)e->reason;
        break;
    }
}

static void app_step(struct side *s)
{
    for (int j = 0; j < MAXC; j++) {
        struct crec *r = &s->c[j];
        if (!r->used || r->closed || r->closing) continue;
        if (!(r->connected || r->accepted)) continue;
        if (r->abort_now) {
            netio_abort(s->io, j);
            r->closing = 1;
            continue;
        }
        if (r->txoff < r->txlen) {
            ssize_t n = netio_send(s->io, j, r->tx + r->txoff, r->txlen - r->txoff);
            cr_assert(n >= 0, "send failed on a live connection");
            r->txoff += (size_t)n;
        }
        if ((r->close_when_sent && r->txoff == r->txlen) ||
            (r->close_on_eof && r->eof && r->txoff == r->txlen)) {
            netio_close(s->io, j);
            r->closing = 1;
        }
    }
}

/* One loop: poll both sides, run the apps, advance the clock. */
static void step(struct rig *r)
{
    struct netio_event ev[16];
    for (int i = 0; i < 2; i++) {
        int n;
        while ((n = netio_poll(r->s[i].io, ev, 16, 0)) > 0)
            for (int k = 0; k < n; k++)
                on_event(&r->s[i], &ev[k]);
        cr_assert(n == 0, "poll failed");
        app_step(&r->s[i]);
    }
    r->sr.now_ns += STEP_NS;
}

static int run_until(struct rig *r, int (*done)(struct rig *, void *), void *arg, uint64_t max_ns)
{
    uint64_t end = r->sr.now_ns + max_ns;
    while (r->sr.now_ns < end) {
        step(r);
        if (done(r, arg)) return 1;
    }
    return 0;
}

static void run_for(struct rig *r, uint64_t ns)
{
    uint64_t end = r->sr.now_ns + ns;
    while (r->sr.now_ns < end)
        step(r);
}

static int conn_closed(struct rig *r, void *arg)
{
    int *h = arg; /* side, handle */
    return r->s[h[0]].c[h[1]].closed;
}

static int connected(struct rig *r, void *arg)
{
    int *h = arg;
    return r->s[h[0]].c[h[1]].connected && r->s[h[0] ^ 1].accepts > 0;
}

static int do_listen(struct side *s, uint16_t port)
{
    char err[256] = "";
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    int l = netio_listen(s->io, &a, NULL, err, sizeof(err));
    cr_assert(l >= 0, "listen: %s", err);
    return l;
}

static int do_connect(struct side *s, int peer, uint16_t port)
{
    char err[256] = "";
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(0xc6120001u + (uint32_t)peer);
    int h = netio_connect(s->io, &a, NULL, err, sizeof(err));
    cr_assert(h >= 0 && h < MAXC, "connect: %s", err);
    rec_reset(&s->c[h]);
    s->c[h].used = 1;
    return h;
}

static int find_accepted(struct side *s)
{
    for (int j = 0; j < MAXC; j++)
        if (s->c[j].used && s->c[j].accepted) return j;
    return -1;
}

/* ---- tests ---- */

Test(ustack, open_rejects_bad_config)
{
    char err[256] = "";
    struct pktio *a, *b;
    struct pktio_config pc = {0};
    cr_assert_eq(memlink_pair(&pc, &a, &b, err, sizeof(err)), 0, "%s", err);
    struct ustack_config c;
    ustack_config_defaults(&c);
    cr_assert_null(ustack_open(a, &c, err, sizeof(err)), "no IP must fail");
    cr_assert(strstr(err, "IP") != NULL, "error names the IP: %s", err);
    c.ip.s_addr = htonl(0xc6120001u);
    c.prefix_len = 40;
    cr_assert_null(ustack_open(a, &c, err, sizeof(err)));
    cr_assert(strstr(err, "prefix") != NULL, "%s", err);
    c.prefix_len = 24;
    c.tx_burst = 65;
    cr_assert_null(ustack_open(a, &c, err, sizeof(err)));
    cr_assert(strstr(err, "tx_burst") != NULL, "%s", err);
    pktio_close(a);
    pktio_close(b);
}

Test(ustack, arp_and_handshake_both_ways)
{
    struct rig r;
    rig_open(&r, 0, 0, NULL);
    do_listen(&r.s[0], 80);
    int h = do_connect(&r.s[1], 0, 80);
    int arg[2] = {1, h};
    cr_assert(run_until(&r, connected, arg, 100000000ull), "B -> A handshake");
    cr_assert_geq(ctr(&r.s[1], "arp_requests"), 1);
    cr_assert_geq(ctr(&r.s[0], "arp_replies"), 1);
    cr_assert_eq(ctr(&r.s[0], "conns_accepted"), 1);
    cr_assert_eq(ctr(&r.s[1], "conns_connected"), 1);
    /* the other way: A connects to B (A learned B's MAC from the request) */
    do_listen(&r.s[1], 8080);
    int h2 = do_connect(&r.s[0], 1, 8080);
    int arg2[2] = {0, h2};
    cr_assert(run_until(&r, connected, arg2, 100000000ull), "A -> B handshake");
    cr_assert_eq(ctr(&r.s[0], "arp_requests"), 0, "A resolved B from B's request");
    cr_assert_eq(ctr(&r.s[1], "conns_accepted"), 1);
    cr_assert_eq(ctr(&r.s[0], "drop_tcp_bad_csum") + ctr(&r.s[1], "drop_tcp_bad_csum"), 0);
    rig_close(&r);
}

/* Several connects before the peer's address is resolved: every SYN waits
 * for the ARP reply (none dropped, so none waits for a 1 s RTO). */
Test(ustack, many_connects_while_arp_resolves)
{
    struct rig r;
    rig_open(&r, 0, 0, NULL);
    do_listen(&r.s[0], 80);
    int h[8];
    for (int i = 0; i < 8; i++)
        h[i] = do_connect(&r.s[1], 0, 80);
    for (int i = 0; i < 8; i++) {
        int arg[2] = {1, h[i]};
        cr_assert(run_until(&r, connected, arg, 100000000ull), "connection %d within 100 ms", i);
    }
    cr_assert_eq(ctr(&r.s[1], "arp_requests"), 1);
    cr_assert_eq(ctr(&r.s[1], "syn_retransmits"), 0, "a SYN waited for its RTO");
    cr_assert_eq(ctr(&r.s[1], "drop_arp_pending_full") + ctr(&r.s[1], "drop_arp_pending_replaced"),
                 0);
    cr_assert_eq(ctr(&r.s[0], "conns_accepted"), 8);
    rig_close(&r);
}

/* More connects than the ARP queue holds (US_ARP_PENDING = 32): the SYNs it
 * drops are sent again as soon as the address resolves, so every connection
 * is up within 100 ms, none after a 1 s RTO. */
Test(ustack, connects_beyond_the_arp_queue_resend_on_resolve)
{
    struct rig r;
    rig_open(&r, 0, 0, NULL);
    do_listen(&r.s[0], 80);
    enum { N = 40 };
    int h[N];
    for (int i = 0; i < N; i++)
        h[i] = do_connect(&r.s[1], 0, 80);
    for (int i = 0; i < N; i++) {
        int arg[2] = {1, h[i]};
        cr_assert(run_until(&r, connected, arg, 100000000ull), "connection %d within 100 ms", i);
    }
    cr_assert_eq(ctr(&r.s[1], "arp_requests"), 1);
    cr_assert_eq(ctr(&r.s[1], "drop_arp_pending_full"), N - 32);
    cr_assert_eq(ctr(&r.s[1], "syn_resent_on_arp"), N - 32);
    cr_assert_eq(ctr(&r.s[1], "syn_retransmits"), 0, "a SYN waited for its RTO");
    cr_assert_eq(ctr(&r.s[0], "conns_accepted"), N);
    rig_close(&r);
}

/* A connection from side 1 to side 0's port 80; returns the accepted
 * handle, *h the connecting one. */
static int open_connected(struct rig *r, const struct ustack_config *c, int *h)
{
    rig_open(r, 0, 0, c);
    do_listen(&r->s[0], 80);
    *h = do_connect(&r->s[1], 0, 80);
    int arg[2] = {1, *h};
    cr_assert(run_until(r, connected, arg, 100000000ull));
    return find_accepted(&r->s[0]);
}

/* total bytes of the pattern for the connection to send */
static void fill_tx(struct crec *c, size_t total)
{
    c->tx = malloc(total);
    cr_assert(c->tx);
    for (size_t i = 0; i < total; i++)
        c->tx[i] = pat(i);
    c->txlen = c->txcap = total;
}

struct xfer {
    size_t n;
    int cside, ch;
};

static int echo_done(struct rig *r, void *arg)
{
    struct xfer *x = arg;
    return r->s[x->cside].c[x->ch].rxlen >= x->n;
}

static void echo_test(double loss, double reorder, size_t total, uint64_t max_ns)
{
    struct rig r;
    rig_open(&r, loss, reorder, NULL);
    r.s[0].listen_echo = 1;
    do_listen(&r.s[0], 80);
    int h = do_connect(&r.s[1], 0, 80);
    struct crec *c = &r.s[1].c[h];
    fill_tx(c, total);
    struct xfer x = {total, 1, h};
    cr_assert(run_until(&r, echo_done, &x, max_ns), "echo incomplete: %zu of %zu bytes back",
              c->rxlen, total);
    cr_assert_eq(c->rxlen, total);
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(c->rx[i], pat(i), "byte %zu differs", i);
    int sv = find_accepted(&r.s[0]);
    cr_assert_eq(r.s[0].c[sv].rxlen, total);
    if (loss > 0) {
        cr_assert_gt(ctr(&r.s[0], "retransmits") + ctr(&r.s[1], "retransmits"), 0);
    } else { /* a clean bulk transfer: all but the handshake's segments are predicted */
        uint64_t pred = ctr(&r.s[0], "tcp_predicted"), rx = ctr(&r.s[0], "rx_frames");
        cr_assert_gt(pred, rx * 9 / 10, "predicted %llu of %llu", (unsigned long long)pred,
                     (unsigned long long)rx);
    }
    /* orderly close: client first, server on EOF */
    c->close_when_sent = 1;
    r.s[0].c[sv].close_on_eof = 1;
    int arg[2] = {0, sv};
    cr_assert(run_until(&r, conn_closed, arg, 30000000000ull), "server never saw the close");
    cr_assert_eq(r.s[0].c[sv].reason, NETIO_CLOSE_PEER_FIN);
    int arg2[2] = {1, h};
    cr_assert(run_until(&r, conn_closed, arg2, 1000000000ull));
    cr_assert_eq(c->reason, NETIO_CLOSE_LOCAL);
    rig_close(&r);
}

Test(ustack, echo_1mib_byte_exact)
{
    echo_test(0, 0, 1u << 20, 20000000000ull);
}

Test(ustack, echo_under_loss_and_reorder_retransmits)
{
    echo_test(0.03, 0.03, 256u * 1024, 120000000000ull);
}

/* Regression: after an RTO both sides went back (snd_nxt = snd_una) and
 * their pure ACKs carried a sequence number the other had already passed:
 * each dropped the other's ACKs as out of window until the connection timed
 * out (seed 7 at 5% loss did it). */
Test(ustack, echo_5pct_loss_both_sides_retransmitting)
{
    rig_seed = 7;
    echo_test(0.05, 0, 1u << 20, 600000000000ull);
}

Test(ustack, fin_from_server_first)
{
    struct rig r;
    int h, sv = open_connected(&r, NULL, &h);
    const char msg[] = "hello, bye";
    struct crec *s = &r.s[0].c[sv];
    s->tx = malloc(sizeof(msg));
    memcpy(s->tx, msg, sizeof(msg));
    s->txlen = s->txcap = sizeof(msg);
    s->close_when_sent = 1;
    r.s[1].c[h].close_on_eof = 1;
    int a2[2] = {1, h};
    cr_assert(run_until(&r, conn_closed, a2, 1000000000ull));
    cr_assert_eq(r.s[1].c[h].reason, NETIO_CLOSE_PEER_FIN);
    cr_assert(r.s[1].c[h].eof);
    cr_assert_eq(r.s[1].c[h].rxlen, sizeof(msg));
    cr_assert_eq(memcmp(r.s[1].c[h].rx, msg, sizeof(msg)), 0);
    int a3[2] = {0, sv};
    cr_assert(run_until(&r, conn_closed, a3, 1000000000ull));
    cr_assert_eq(r.s[0].c[sv].reason, NETIO_CLOSE_LOCAL);
    /* the server holds TIME_WAIT (1 s); after it, all slots are free again:
     * MAXC sequential connections must all succeed */
    run_for(&r, 2000000000ull);
    for (int k = 0; k < 3 * MAXC; k++) {
        int before = r.s[0].accepts;
        int c2 = do_connect(&r.s[1], 0, 80);
        int ac[2] = {1, c2};
        cr_assert(run_until(&r, connected, ac, 100000000ull), "connection %d", k);
        for (int t = 0; t < 10 && r.s[0].accepts == before; t++)
            step(&r);
        cr_assert_eq(r.s[0].accepts, before + 1);
        int s2 = -1;
        for (int j = 0; j < MAXC; j++)
            if (r.s[0].c[j].used && r.s[0].c[j].accepted && !r.s[0].c[j].closed) s2 = j;
        cr_assert(s2 >= 0);
        netio_abort(r.s[1].io, c2);
        r.s[1].c[c2].closing = 1;
        int w[2] = {0, s2};
        cr_assert(run_until(&r, conn_closed, w, 100000000ull));
        cr_assert_eq(r.s[0].c[s2].reason, NETIO_CLOSE_RESET);
    }
    rig_close(&r);
}

Test(ustack, rst_on_connect_to_closed_port)
{
    struct rig r;
    rig_open(&r, 0, 0, NULL);
    int h = do_connect(&r.s[1], 0, 81);
    int arg[2] = {1, h};
    cr_assert(run_until(&r, conn_closed, arg, 100000000ull));
    cr_assert_eq(r.s[1].c[h].reason, NETIO_CLOSE_CONNECT_FAILED);
    cr_assert_eq(ctr(&r.s[0], "drop_tcp_no_listener"), 1);
    cr_assert_eq(ctr(&r.s[0], "rsts_sent"), 1);
    /* unreachable (off-link) address: CONNECT_FAILED too */
    char err[256];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    a.sin_addr.s_addr = htonl(0x0a000001u);
    int h2 = netio_connect(r.s[1].io, &a, NULL, err, sizeof(err));
    cr_assert(h2 >= 0);
    rec_reset(&r.s[1].c[h2]);
    r.s[1].c[h2].used = 1;
    int arg2[2] = {1, h2};
    cr_assert(run_until(&r, conn_closed, arg2, 10000000ull));
    cr_assert_eq(r.s[1].c[h2].reason, NETIO_CLOSE_CONNECT_FAILED);
    rig_close(&r);
}

Test(ustack, connect_fails_when_arp_unanswered)
{
    struct rig r;
    rig_open(&r, 0, 0, NULL);
    /* 198.18.0.9 does not exist: ARP is never answered (3 tries, 1 s apart),
     * then the connect fails like EHOSTUNREACH */
    char err[256];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    a.sin_addr.s_addr = htonl(0xc6120009u);
    int h = netio_connect(r.s[1].io, &a, NULL, err, sizeof(err));
    cr_assert(h >= 0);
    rec_reset(&r.s[1].c[h]);
    r.s[1].c[h].used = 1;
    int arg[2] = {1, h};
    cr_assert(run_until(&r, conn_closed, arg, 10000000000ull));
    cr_assert_eq(r.s[1].c[h].reason, NETIO_CLOSE_CONNECT_FAILED);
    cr_assert_geq(r.sr.now_ns, 3000000000ull, "after the ARP retries");
    cr_assert_eq(ctr(&r.s[1], "arp_requests"), 3);
    rig_close(&r);
}

Test(ustack, zero_window_then_update)
{
    struct ustack_config c;
    ustack_config_defaults(&c);
    c.rcvbuf = 16384;
    c.sndbuf = 65536;
    struct rig r;
    int h, sv = open_connected(&r, &c, &h);
    r.s[0].c[sv].hold = 1; /* the server does not read */
    size_t total = 200000;
    struct crec *cl = &r.s[1].c[h];
    fill_tx(cl, total);
    run_for(&r, 5000000000ull);
    cr_assert_gt(ctr(&r.s[1], "zero_window_probes"), 0, "persist timer probes a zero window");
    cr_assert_lt(cl->txoff, total, "sender is blocked by the closed window");
    cr_assert_gt(ctr(&r.s[1], "send_partial"), 0);
    r.s[0].c[sv].hold = 0;
    r.s[0].c[sv].consume_limit = 3000; /* consume in odd pieces */
    /* the full buffer brings no new READABLE: consume one byte blind, the
     * rest is presented again at the next poll (netio.h) */
    uint8_t first = pat(0);
    append(&r.s[0].c[sv].rx, &r.s[0].c[sv].rxlen, &r.s[0].c[sv].rxcap, &first, 1);
    netio_consume(r.s[0].io, sv, 1);
    struct xfer x = {total, 0, sv};
    cr_assert(run_until(&r, echo_done, &x, 30000000000ull), "got %zu", r.s[0].c[sv].rxlen);
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(r.s[0].c[sv].rx[i], pat(i), "byte %zu", i);
    cr_assert_gt(ctr(&r.s[0], "window_updates"), 0);
    cr_assert_gt(cl->writable, 0, "WRITABLE after a short send");
    rig_close(&r);
}

/* A receiver that reads all it gets sends no window update of its own
 * while the sender still holds more than half the buffer as window: the
 * next ACK carries the new window (Linux's tcp_cleanup_rbuf). An update
 * after every read used to double a bulk receiver's frames. */
Test(ustack, reader_keeping_up_sends_acks_not_window_updates)
{
    struct rig r;
    int h, sv = open_connected(&r, NULL, &h);
    size_t total = 4u << 20;
    struct crec *cl = &r.s[1].c[h];
    fill_tx(cl, total);
    struct xfer x = {total, 0, sv};
    cr_assert(run_until(&r, echo_done, &x, 30000000000ull), "got %zu", r.s[0].c[sv].rxlen);
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(r.s[0].c[sv].rx[i], pat(i), "byte %zu", i);
    uint64_t wu = ctr(&r.s[0], "window_updates"), tx = ctr(&r.s[0], "tx_frames");
    uint64_t rx = ctr(&r.s[0], "rx_frames");
    /* (a few where one poll took more than half the buffer before the
     * reader ran: memlink delivers up to 8 bursts of 32 frames a poll) */
    cr_assert_lt(wu, rx / 100, "%llu window updates for %llu frames", (unsigned long long)wu,
                 (unsigned long long)rx);
    cr_assert_lt(tx, rx / 2 + 8, "the receiver sent %llu frames for %llu", (unsigned long long)tx,
                 (unsigned long long)rx);
    cr_assert_eq(ctr(&r.s[1], "retransmits"), 0);
    rig_close(&r);
}

/* The records take NETIO_MAX_COUNTERS counters of a driver: the stack's own
 * leave room for a pktio's (afpacket has about 40, dpdk its xstats too; at
 * 128 the stack's growth once cut afpacket's last ones off the records). */
Test(ustack, counters_leave_room_for_the_pktio)
{
    struct rig r;
    rig_open(&r, 0, 0, NULL);
    struct netio_counter cs[1024];
    int n = netio_counters(r.s[0].io, cs, 1024);
    int link = pktio_counters(r.sr.link[0], cs, 1024);
    cr_assert_lt(n - link, NETIO_MAX_COUNTERS - 100, "the stack has %d counters of %d", n - link,
                 NETIO_MAX_COUNTERS);
    rig_close(&r);
}

Test(ustack, abort_resets_peer_and_counters_named)
{
    struct rig r;
    int h, sv = open_connected(&r, NULL, &h);
    r.s[0].c[sv].abort_now = 1;
    int arg[2] = {1, h};
    cr_assert(run_until(&r, conn_closed, arg, 100000000ull));
    cr_assert_eq(r.s[1].c[h].reason, NETIO_CLOSE_RESET);
    cr_assert(r.s[0].c[sv].closed);
    cr_assert_eq(r.s[0].c[sv].reason, NETIO_CLOSE_LOCAL);
    const char *names[] = {"rx_frames",
                           "tx_frames",
                           "drop_eth_not_for_us",
                           "drop_ip_bad_csum",
                           "drop_ip_bad_len",
                           "drop_ip_fragment",
                           "drop_ip_not_for_us",
                           "drop_tcp_bad_csum",
                           "drop_tcp_bad_option",
                           "drop_tcp_no_listener",
                           "drop_tcp_out_of_window",
                           "challenge_acks",
                           "retransmits",
                           "fast_retransmits",
                           "timeouts",
                           "dup_acks",
                           "ooo_queued",
                           "ooo_dropped",
                           "syn_backlog_full",
                           "tx_pool_empty"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ctr(&r.s[0], names[i]);
    cr_assert_gt(ctr(&r.s[0], "rx_frames"), 0);
    cr_assert_eq(ctr(&r.s[0], "close_local"), 1);
    cr_assert_eq(ctr(&r.s[1], "close_reset"), 1);
    rig_close(&r);
}

/* ---- a scripted raw peer (frames.h) against one stack ---- */

#include "tests/drivers/frames.h"

#define RAW_MAX 256
struct raw {
    struct stack_rig sr; /* one stack; sr.peer is the raw end, sr.now_ns the clock */
    struct netio *io;
    struct pktio *peer;
    struct side app;
    uint8_t mac_us[6], mac_peer[6];
    struct fr_pkt got[RAW_MAX];
    uint64_t at[RAW_MAX]; /* virtual time each frame was seen */
    uint8_t store[RAW_MAX][PKTIO_MAX_FRAME];
    int ngot;
    uint32_t iss;   /* peer's ISN */
    uint32_t snd;   /* peer's next seq */
    uint32_t rcv;   /* peer's next expected seq from the stack */
    uint16_t lport; /* the stack's port */
    uint16_t pport; /* the peer's port */
};

static void raw_open(struct raw *w, const struct ustack_config *tmpl)
{
    char err[256] = "";
    memset(w, 0, sizeof(*w));
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 1);
    o.link.pool_size = 1024;
    if (tmpl) o.stack[0] = *tmpl;
    o.stack[0].ip.s_addr = htonl(STACK_RIG_IP(0));
    o.stack[0].prefix_len = 24;
    o.stack[0].max_conns = MAXC;
    o.stack[0].isn_seed = 5;
    cr_assert_eq(stack_rig_open(&w->sr, &o, err, sizeof(err)), 0, "stack_rig_open: %s", err);
    w->io = w->app.io = w->sr.io[0];
    w->peer = w->sr.peer;
    memcpy(w->mac_us, w->sr.mac[0], 6);
    memcpy(w->mac_peer, w->sr.mac[1], 6);
}

static void raw_send_frame(struct raw *w, const uint8_t *f, size_t n);

/* Poll the stack (and run its app), then collect what it sent. */
static void raw_pump(struct raw *w)
{
    struct netio_event ev[16];
    int n;
    while ((n = netio_poll(w->io, ev, 16, 0)) > 0)
        for (int k = 0; k < n; k++)
            on_event(&w->app, &ev[k]);
    app_step(&w->app);
    while ((n = netio_poll(w->io, ev, 16, 0)) > 0) /* flushes what the app sent */
        for (int k = 0; k < n; k++)
            on_event(&w->app, &ev[k]);
    struct pktbuf *b[32];
    uint16_t got;
    while ((got = pktio_rx_burst(w->peer, b, 32)) > 0) {
        for (uint16_t i = 0; i < got; i++) {
            cr_assert_lt(w->ngot, RAW_MAX);
            memcpy(w->store[w->ngot], b[i]->data, b[i]->len);
            fr_parse(w->store[w->ngot], b[i]->len, &w->got[w->ngot]);
            w->at[w->ngot] = w->sr.now_ns;
            struct fr_pkt *q = &w->got[w->ngot];
            w->ngot++;
            if (q->kind == FR_K_TCP)
                cr_assert(q->ip_csum_ok && q->tcp_csum_ok, "bad checksum from the stack");
            if (q->kind == FR_K_ARP && q->arp_op == FR_ARP_REQUEST && q->arp_tpa == 0xc6120002u) {
                uint8_t f[64];
                size_t fl = fr_build_arp(f, sizeof(f), 2, q->src_mac, w->mac_peer, 0xc6120002u,
                                         q->arp_sha, q->arp_spa);
                raw_send_frame(w, f, fl); /* the peer answers ARP */
            }
        }
        pktio_free(w->peer, b, got);
    }
}

static void raw_send_frame(struct raw *w, const uint8_t *f, size_t n)
{
    struct pktbuf *b = pktio_alloc(w->peer);
    cr_assert_not_null(b);
    memcpy(b->data, f, n);
    b->len = (uint32_t)n;
    cr_assert_eq(pktio_tx_burst(w->peer, &b, 1), 1);
}

static void raw_tcp(struct raw *w, uint32_t seq, uint32_t ack, uint8_t fl, uint16_t win,
                    const uint8_t *opts, size_t optlen, const void *data, size_t len)
{
    uint8_t f[PKTIO_MAX_FRAME];
    struct fr_tcp t = {.src_ip = 0xc6120002u,
                       .dst_ip = 0xc6120001u,
                       .sport = w->pport,
                       .dport = w->lport,
                       .seq = seq,
                       .ack = ack,
                       .flags = fl,
                       .win = win,
                       .opts = opts,
                       .optlen = optlen,
                       .data = data,
                       .len = len};
    memcpy(t.src_mac, w->mac_peer, 6);
    memcpy(t.dst_mac, w->mac_us, 6);
    size_t n = fr_build_tcp(f, sizeof(f), &t);
    cr_assert(n > 0);
    raw_send_frame(w, f, n);
}

/* Last TCP segment the stack sent, or NULL. */
static struct fr_pkt *raw_last_tcp(struct raw *w)
{
    for (int i = w->ngot - 1; i >= 0; i--)
        if (w->got[i].kind == FR_K_TCP) return &w->got[i];
    return NULL;
}

/* ARP from the peer (so the stack knows its MAC), then a handshake to port 80
 * with MSS 1000 and window scale ws (-1 = none); returns the app handle. */
static int raw_connect(struct raw *w, uint32_t iss, int ws)
{
    uint8_t f[128];
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, z[6] = {0};
    size_t n =
        fr_build_arp(f, sizeof(f), FR_ARP_REQUEST, bc, w->mac_peer, 0xc6120002u, z, 0xc6120001u);
    raw_send_frame(w, f, n);
    raw_pump(w);
    do_listen(&w->app, 80);
    w->lport = 80;
    w->pport = 40000;
    w->iss = iss;
    uint8_t o[8];
    size_t ol = fr_opt_mss(o, 1000);
    if (ws >= 0) {
        ol += fr_opt_nop(o + ol);
        ol += fr_opt_wscale(o + ol, (uint8_t)ws);
    }
    w->ngot = 0;
    raw_tcp(w, iss, 0, FR_SYN, 65535, o, ol, NULL, 0);
    raw_pump(w);
    struct fr_pkt *sa = raw_last_tcp(w);
    cr_assert_not_null(sa, "no SYN-ACK");
    cr_assert_eq(sa->flags, FR_SYN | FR_ACK);
    cr_assert_eq(sa->ack, iss + 1);
    cr_assert_eq(sa->mss, 1460, "our MSS is MTU - 40");
    if (ws >= 0)
        cr_assert_eq(sa->wscale, 7, "window scale 7 offered when the peer offers it");
    else
        cr_assert_eq(sa->wscale, -1, "no window scale unless the peer offers it");
    cr_assert_eq(sa->sack_perm, 0);
    cr_assert_eq(sa->has_ts, 0);
    w->snd = iss + 1;
    w->rcv = sa->seq + 1;
    raw_tcp(w, w->snd, w->rcv, FR_ACK, 1000, NULL, 0, NULL, 0);
    raw_pump(w);
    int h = find_accepted(&w->app);
    cr_assert(h >= 0, "ACCEPTED");
    return h;
}

static uint64_t rctr(struct raw *w, const char *name)
{
    return ctr(&w->app, name);
}

static void raw_close(struct raw *w)
{
    for (int j = 0; j < MAXC; j++)
        rec_reset(&w->app.c[j]);
    stack_rig_close(&w->sr);
}

Test(ustack_raw, rst_and_syn_validation_rfc5961)
{
    struct raw w;
    raw_open(&w, NULL);
    int h = raw_connect(&w, 1000, 7);
    /* in-window RST, not exact: challenge ACK, connection lives */
    w.ngot = 0;
    raw_tcp(&w, w.snd + 100, 0, FR_RST, 0, NULL, 0, NULL, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "challenge_acks"), 1);
    struct fr_pkt *p = raw_last_tcp(&w);
    cr_assert_not_null(p);
    cr_assert_eq(p->flags, FR_ACK);
    cr_assert_eq(p->ack, w.snd);
    cr_assert(!w.app.c[h].closed);
    /* out-of-window RST: dropped silently */
    w.ngot = 0;
    raw_tcp(&w, w.snd + 10000000, 0, FR_RST, 0, NULL, 0, NULL, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "drop_tcp_rst_invalid"), 1);
    cr_assert_null(raw_last_tcp(&w));
    /* SYN on an established connection: challenge ACK */
    raw_tcp(&w, w.snd, 0, FR_SYN, 1000, NULL, 0, NULL, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "challenge_acks"), 2);
    cr_assert(!w.app.c[h].closed);
    /* bad option length: dropped, counted */
    uint8_t bad[4] = {2, 3, 5, 0}; /* MSS with length 3 */
    raw_tcp(&w, w.snd, w.rcv, FR_ACK, 1000, bad, 4, "x", 1);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "drop_tcp_bad_option"), 1);
    cr_assert_eq(w.app.c[h].rxlen, 0);
    /* exact RST: connection reset */
    raw_tcp(&w, w.snd, 0, FR_RST, 0, NULL, 0, NULL, 0);
    raw_pump(&w);
    cr_assert(w.app.c[h].closed);
    cr_assert_eq(w.app.c[h].reason, NETIO_CLOSE_RESET);
    raw_close(&w);
}

Test(ustack_raw, ip_layer_drops_counted)
{
    struct raw w;
    raw_open(&w, NULL);
    int h = raw_connect(&w, 7, -1);
    uint8_t f[256];
    struct fr_tcp t = {.src_ip = 0xc6120002u,
                       .dst_ip = 0xc6120001u,
                       .sport = w.pport,
                       .dport = 80,
                       .seq = w.snd,
                       .ack = w.rcv,
                       .flags = FR_ACK,
                       .win = 1000,
                       .data = (const uint8_t *)"abc",
                       .len = 3};
    memcpy(t.src_mac, w.mac_peer, 6);
    memcpy(t.dst_mac, w.mac_us, 6);
    size_t n = fr_build_tcp(f, sizeof(f), &t);
    f[14 + 10] ^= 0x55; /* IP checksum */
    raw_send_frame(&w, f, n);
    n = fr_build_tcp(f, sizeof(f), &t);
    f[14 + 6] = 0x20; /* MF */
    fr_fix_csums(f, n);
    raw_send_frame(&w, f, n);
    n = fr_build_tcp(f, sizeof(f), &t);
    f[n - 1] ^= 1; /* TCP checksum */
    raw_send_frame(&w, f, n);
    t.dst_ip = 0xc6120003u;
    n = fr_build_tcp(f, sizeof(f), &t);
    raw_send_frame(&w, f, n);
    t.dst_ip = 0xc6120001u;
    n = fr_build_tcp(f, sizeof(f), &t);
    f[0] = 0x04; /* another MAC */
    raw_send_frame(&w, f, n);
    n = fr_build_tcp(f, sizeof(f), &t);
    f[14 + 2] = 0x7f; /* total length beyond the frame */
    fr_fix_csums(f, n);
    raw_send_frame(&w, f, n);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "drop_ip_bad_csum"), 1);
    cr_assert_eq(rctr(&w, "drop_ip_fragment"), 1);
    cr_assert_eq(rctr(&w, "drop_tcp_bad_csum"), 1);
    cr_assert_eq(rctr(&w, "drop_ip_not_for_us"), 1);
    cr_assert_eq(rctr(&w, "drop_eth_not_for_us"), 1);
    cr_assert_eq(rctr(&w, "drop_ip_bad_len"), 1);
    cr_assert_eq(w.app.c[h].rxlen, 0, "nothing got through");
    /* the good one */
    n = fr_build_tcp(f, sizeof(f), &t);
    raw_send_frame(&w, f, n);
    raw_pump(&w);
    cr_assert_eq(w.app.c[h].rxlen, 3);
    raw_close(&w);
}

/* Send payload d[off .. off + len) at w->snd + off; corrupt: flip one
 * payload byte after the checksum was computed (the sum no longer fits). */
static void raw_data(struct raw *w, const uint8_t *d, uint32_t off, size_t len, int corrupt)
{
    uint8_t f[PKTIO_MAX_FRAME];
    struct fr_tcp t = {.src_ip = 0xc6120002u,
                       .dst_ip = 0xc6120001u,
                       .sport = w->pport,
                       .dport = w->lport,
                       .seq = w->snd + off,
                       .ack = w->rcv,
                       .flags = FR_ACK,
                       .win = 1000,
                       .data = d + off,
                       .len = len};
    memcpy(t.src_mac, w->mac_peer, 6);
    memcpy(t.dst_mac, w->mac_us, 6);
    size_t n = fr_build_tcp(f, sizeof(f), &t);
    cr_assert(n > 0);
    if (corrupt) f[n - 1 - (off % 97)] ^= 0x40;
    raw_send_frame(w, f, n);
}

/* Long in-order segments are checksummed while they are copied into the
 * receive buffer (tcp_in.c: predictable, csum_copy_long), before the sum is
 * known: a bad one must leave no trace (its bytes lie past what the app can
 * see, and the next good segment overwrites them), whether the buffer is
 * empty or holds bytes the app left unread (from the start or partly
 * consumed), and out-of-order data must keep to the full path and hand back
 * to this one once the hole is filled. The app sees exactly the good bytes,
 * in order. */
Test(ustack_raw, long_segments_checksummed_while_copied)
{
    struct raw w;
    struct ustack_config c;
    ustack_config_defaults(&c);
    c.delack_off = 1;
    raw_open(&w, &c);
    int h = raw_connect(&w, 1000, -1);
    struct crec *r = &w.app.c[h];
    enum { SEG = 1400, NSEG = 12 };
    static uint8_t d[SEG * NSEG];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = pat(i + 5);
    uint64_t pred0 = rctr(&w, "tcp_predicted");
    /* 1. empty buffer: a bad copy of segment 0, then the good one */
    raw_data(&w, d, 0, SEG, 1);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "drop_tcp_bad_csum"), 1);
    cr_assert_eq(r->rxlen, 0, "a bad segment reached the app");
    cr_assert_eq(rctr(&w, "tcp_predicted"), pred0, "a bad segment changed the connection");
    raw_data(&w, d, 0, SEG, 0);
    raw_pump(&w);
    cr_assert_eq(r->rxlen, SEG);
    cr_assert_eq(rctr(&w, "tcp_predicted"), pred0 + 1, "the in-order segment takes the fast path");
    /* 2. the app holds what it has: segment 1 stays unread, a bad copy of 2
     * lands behind it, then the good 2 */
    r->hold = 1;
    raw_data(&w, d, SEG, SEG, 0);
    raw_pump(&w);
    raw_data(&w, d, 2 * SEG, SEG, 1);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "drop_tcp_bad_csum"), 2);
    raw_data(&w, d, 2 * SEG, SEG, 0);
    raw_pump(&w);
    cr_assert_eq(r->rxlen, SEG, "held: nothing more consumed");
    /* 3. a partial read: one poll brings segment 3 behind 1 and 2, the app
     * takes 1000 bytes of the 4200 (the buffer's unread part now starts
     * past its beginning), then holds again while a bad 4, the good 4 and 5
     * arrive behind the rest */
    r->hold = 0;
    r->consume_limit = 1000;
    raw_data(&w, d, 3 * SEG, SEG, 0);
    struct netio_event ev[16];
    int nev = netio_poll(w.io, ev, 16, 0);
    for (int k = 0; k < nev; k++)
        on_event(&w.app, &ev[k]);
    cr_assert_eq(r->rxlen, SEG + 1000, "one partial read (got %zu)", r->rxlen);
    r->hold = 1;
    raw_data(&w, d, 4 * SEG, SEG, 1);
    raw_data(&w, d, 4 * SEG, SEG, 0);
    raw_data(&w, d, 5 * SEG, SEG, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "drop_tcp_bad_csum"), 3);
    cr_assert_eq(r->rxlen, SEG + 1000, "held");
    r->hold = 0; /* the rest goes with the next READABLE, 1000 bytes at a time */
    /* 4. out of order: 7 before 6 (the full path queues it), then 6 fills
     * the hole, then 8 is in order again; a bad 9 after them */
    raw_data(&w, d, 7 * SEG, SEG, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "ooo_queued"), 1);
    uint64_t pred1 = rctr(&w, "tcp_predicted");
    raw_data(&w, d, 6 * SEG, SEG, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "tcp_predicted"), pred1, "the hole's filler takes the full path");
    cr_assert_eq(r->rxlen, 8 * SEG, "got %zu", r->rxlen);
    cr_assert_eq(memcmp(r->rx, d, 8 * SEG), 0, "the app's bytes differ from the good segments");
    raw_data(&w, d, 8 * SEG, SEG, 0);
    raw_data(&w, d, 9 * SEG, SEG, 1);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "tcp_predicted"), pred1 + 1, "in order again after the fill");
    cr_assert_eq(rctr(&w, "drop_tcp_bad_csum"), 4);
    /* 5. the rest, odd lengths (the vector loop's tails; the last one short
     * of the long path) */
    raw_data(&w, d, 9 * SEG, 257, 0);
    raw_data(&w, d, 9 * SEG + 257, SEG - 257, 0);
    raw_data(&w, d, 10 * SEG, SEG + 59, 0);
    raw_data(&w, d, 11 * SEG + 59, SEG - 59 - 200, 0);
    raw_data(&w, d, 12 * SEG - 200, 200, 0);
    r->consume_limit = 0;
    for (int k = 0; k < 8; k++)
        raw_pump(&w);
    cr_assert_eq(r->rxlen, sizeof(d), "got %zu of %zu bytes", r->rxlen, sizeof(d));
    cr_assert_eq(memcmp(r->rx, d, sizeof(d)), 0, "the app's bytes differ from the good segments");
    struct fr_pkt *a = raw_last_tcp(&w);
    cr_assert_not_null(a);
    cr_assert_eq(a->ack, w.snd + sizeof(d), "everything ACKed once");
    raw_close(&w);
}

Test(ustack_raw, ooo_reassembly_across_seq_wrap_and_window_scale)
{
    struct raw w;
    struct ustack_config c;
    ustack_config_defaults(&c);
    c.delack_off = 1;
    raw_open(&w, &c);
    int h = raw_connect(&w, 0xfffffff0u, 3); /* data crosses 2^32 */
    uint8_t d[3000];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = pat(i);
    /* segments 2 and 3 first, then 1 */
    raw_tcp(&w, w.snd + 1000, w.rcv, FR_ACK, 1000, NULL, 0, d + 1000, 1000);
    raw_tcp(&w, w.snd + 2000, w.rcv, FR_ACK, 1000, NULL, 0, d + 2000, 1000);
    w.ngot = 0;
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "ooo_queued"), 2);
    cr_assert_eq(w.app.c[h].rxlen, 0);
    struct fr_pkt *p = raw_last_tcp(&w);
    cr_assert_not_null(p, "duplicate ACK for out-of-order data");
    cr_assert_eq(p->ack, w.snd);
    raw_tcp(&w, w.snd, w.rcv, FR_ACK, 1000, NULL, 0, d, 1000);
    w.ngot = 0;
    raw_pump(&w);
    cr_assert_eq(w.app.c[h].rxlen, 3000);
    cr_assert_eq(memcmp(w.app.c[h].rx, d, 3000), 0);
    p = raw_last_tcp(&w);
    cr_assert_not_null(p);
    cr_assert_eq(p->ack, w.snd + 3000, "cumulative ACK past the wrap");
    w.snd += 3000;
    /* the peer's window is 1000 << 3 = 8000 bytes: the stack sends no more */
    struct crec *r = &w.app.c[h];
    r->tx = malloc(20000);
    for (size_t i = 0; i < 20000; i++)
        r->tx[i] = pat(i);
    r->txlen = r->txcap = 20000;
    w.ngot = 0;
    raw_pump(&w);
    uint32_t sent = 0;
    for (int i = 0; i < w.ngot; i++)
        if (w.got[i].kind == FR_K_TCP) {
            cr_assert_leq(w.got[i].len, 1000, "segments respect the peer's MSS");
            sent += (uint32_t)w.got[i].len;
        }
    cr_assert_eq(sent, 8000, "exactly the scaled window is in flight (got %u)", sent);
    raw_close(&w);
}

Test(ustack_raw, delayed_ack_every_second_segment)
{
    struct raw w;
    raw_open(&w, NULL); /* delack 10 ms */
    int h = raw_connect(&w, 500, 7);
    /* the first read opens the window past the 64 KiB of the SYN-ACK: that
     * window update may go out at once */
    raw_tcp(&w, w.snd, w.rcv, FR_ACK | FR_PSH, 1000, NULL, 0, "0", 1);
    w.snd += 1;
    raw_pump(&w);
    w.sr.now_ns += 50000000ull;
    raw_pump(&w);
    w.ngot = 0;
    uint64_t t0 = w.sr.now_ns;
    raw_tcp(&w, w.snd, w.rcv, FR_ACK | FR_PSH, 1000, NULL, 0, "a", 1);
    raw_pump(&w);
    cr_assert_null(raw_last_tcp(&w), "one segment: the ACK is delayed");
    for (int i = 0; i < 50; i++) {
        w.sr.now_ns += 1000000ull;
        raw_pump(&w);
    }
    struct fr_pkt *p = raw_last_tcp(&w);
    cr_assert_not_null(p, "delayed ACK after delack_ns");
    cr_assert_eq(p->ack, w.snd + 1);
    cr_assert_geq(w.at[w.ngot - 1] - t0, 10000000ull);
    w.snd += 1;
    w.ngot = 0;
    raw_tcp(&w, w.snd, w.rcv, FR_ACK, 1000, NULL, 0, "bb", 2);
    raw_tcp(&w, w.snd + 2, w.rcv, FR_ACK, 1000, NULL, 0, "cc", 2);
    raw_pump(&w);
    p = raw_last_tcp(&w);
    cr_assert_not_null(p, "two segments: ACK at once");
    cr_assert_eq(p->ack, w.snd + 4);
    cr_assert_eq(w.app.c[h].rxlen, 6);
    raw_close(&w);
}

Test(ustack_raw, rto_backoff_and_give_up)
{
    struct raw w;
    struct ustack_config cfg;
    ustack_config_defaults(&cfg); /* rto_min 200 ms */
    cfg.tlp_off = 1;              /* the RTO's own schedule: no tail loss probe before it */
    raw_open(&w, &cfg);
    int h = raw_connect(&w, 1, 7);
    struct crec *r = &w.app.c[h];
    r->tx = malloc(100);
    memset(r->tx, 'z', 100);
    r->txlen = r->txcap = 100;
    w.ngot = 0;
    uint64_t t0 = w.sr.now_ns;
    for (int i = 0; i < 20000 && !r->closed; i++) { /* up to 2000 s, never ACKing */
        w.sr.now_ns += 100000000ull;
        raw_pump(&w);
    }
    cr_assert(r->closed, "gave up");
    cr_assert_eq(r->reason, NETIO_CLOSE_TIMEOUT);
    uint64_t prev = 0, prevgap = 0;
    int data = 0;
    for (int i = 0; i < w.ngot; i++) {
        if (w.got[i].kind != FR_K_TCP || w.got[i].len != 100) continue;
        cr_assert_eq(w.got[i].seq, w.rcv, "retransmission of the same bytes");
        if (data >= 1) {
            uint64_t gap = w.at[i] - prev;
            uint64_t want = 2 * prevgap < 60000000000ull ? 2 * prevgap : 60000000000ull;
            if (data >= 2)
                cr_assert(gap + 200000000ull >= want && gap <= want + 200000000ull,
                          "backoff doubles up to 60 s: %lu after %lu", (unsigned long)gap,
                          (unsigned long)prevgap);
            cr_assert_leq(gap, 60100000000ull, "RTO bounded by 60 s");
            prevgap = gap;
        } else {
            cr_assert_leq(w.at[i] - t0, 100000000ull, "first transmission at once");
        }
        prev = w.at[i];
        data++;
    }
    cr_assert_eq(data, 13, "1 transmission + 12 retransmissions, got %d", data);
    struct fr_pkt *last = raw_last_tcp(&w);
    cr_assert(last->flags & FR_RST, "RST when giving up");
    cr_assert_geq(rctr(&w, "retransmits"), 12);
    raw_close(&w);
}

Test(ustack_raw, fast_retransmit_on_three_dup_acks)
{
    struct raw w;
    raw_open(&w, NULL);
    int h = raw_connect(&w, 77, 7);
    struct crec *r = &w.app.c[h];
    r->tx = malloc(5000);
    for (int i = 0; i < 5000; i++)
        r->tx[i] = pat((size_t)i);
    r->txlen = r->txcap = 5000;
    w.ngot = 0;
    raw_pump(&w);
    int segs = 0;
    for (int i = 0; i < w.ngot; i++)
        segs += w.got[i].kind == FR_K_TCP && w.got[i].len > 0;
    cr_assert_eq(segs, 5, "5 segments of 1000 bytes in the initial window");
    /* first segment lost: 3 duplicate ACKs for it */
    w.ngot = 0;
    for (int k = 0; k < 3; k++)
        raw_tcp(&w, w.snd, w.rcv, FR_ACK, 1000, NULL, 0, NULL, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "dup_acks"), 3);
    cr_assert_eq(rctr(&w, "fast_retransmits"), 1);
    struct fr_pkt *p = raw_last_tcp(&w);
    cr_assert_not_null(p);
    cr_assert_eq(p->seq, w.rcv, "the first unacked segment again");
    cr_assert_eq(p->len, 1000);
    cr_assert_eq(memcmp(p->data, r->tx, 1000), 0);
    /* full ACK ends recovery */
    raw_tcp(&w, w.snd, w.rcv + 5000, FR_ACK, 1000, NULL, 0, NULL, 0);
    raw_pump(&w);
    cr_assert_eq(rctr(&w, "timeouts"), 0);
    raw_close(&w);
}

Test(ustack_raw, syn_backlog_bounded)
{
    struct ustack_config c;
    ustack_config_defaults(&c);
    c.syn_backlog = 2;
    struct raw w;
    raw_open(&w, &c);
    raw_connect(&w, 100, 7); /* one established, not counted as half-open */
    for (uint16_t k = 0; k < 4; k++) {
        w.pport = (uint16_t)(50000 + k);
        raw_tcp(&w, 9000, 0, FR_SYN, 65535, NULL, 0, NULL, 0);
    }
    w.ngot = 0;
    raw_pump(&w);
    int synacks = 0;
    for (int i = 0; i < w.ngot; i++)
        synacks += w.got[i].kind == FR_K_TCP && w.got[i].flags == (FR_SYN | FR_ACK);
    cr_assert_eq(synacks, 2, "only syn_backlog half-open connections");
    cr_assert_eq(rctr(&w, "syn_backlog_full"), 2);
    /* half-open connections that never complete are dropped after the SYN-ACK
     * retries, with no event */
    for (int i = 0; i < 300; i++) {
        w.sr.now_ns += 1000000000ull;
        raw_pump(&w);
    }
    cr_assert_eq(w.app.accepts, 1);
    cr_assert_geq(rctr(&w, "syn_retransmits"), 12);
    w.pport = 50009;
    w.ngot = 0;
    raw_tcp(&w, 9000, 0, FR_SYN, 65535, NULL, 0, NULL, 0);
    raw_pump(&w);
    cr_assert_not_null(raw_last_tcp(&w), "backlog free again");
    cr_assert_eq(raw_last_tcp(&w)->flags, FR_SYN | FR_ACK);
    raw_close(&w);
}

static int all_echoed(struct rig *r, void *arg)
{
    size_t want = *(size_t *)arg;
    for (int j = 0; j < MAXC; j++) {
        struct crec *c = &r->s[1].c[j];
        if (c->used && !c->accepted && c->rxlen < want) return 0;
    }
    return 1;
}

Test(ustack, many_connections_under_loss)
{
    struct rig r;
    rig_open(&r, 0.02, 0.02, NULL);
    r.s[0].listen_echo = 1;
    do_listen(&r.s[0], 80);
    size_t each = 32 * 1024;
    for (int k = 0; k < 20; k++) {
        int h = do_connect(&r.s[1], 0, 80);
        struct crec *c = &r.s[1].c[h];
        c->tx = malloc(each);
        for (size_t i = 0; i < each; i++)
            c->tx[i] = pat(i + (size_t)k);
        c->txlen = c->txcap = each;
        c->close_when_sent = 0;
    }
    cr_assert(run_until(&r, all_echoed, &each, 120000000000ull), "not all echoed");
    for (int j = 0; j < MAXC; j++) {
        struct crec *c = &r.s[1].c[j];
        if (!c->used) continue;
        cr_assert_eq(c->rxlen, each);
        for (size_t i = 0; i < each; i++)
            cr_assert_eq(c->rx[i], c->tx[i]);
        c->close_when_sent = 1;
    }
    for (int j = 0; j < MAXC; j++)
        r.s[0].c[j].close_on_eof = 1;
    run_for(&r, 60000000000ull);
    cr_assert_eq(ctr(&r.s[0], "conns_closed"), 20);
    cr_assert_eq(ctr(&r.s[1], "conns_closed"), 20);
    cr_assert_eq(ctr(&r.s[0], "close_peer_fin"), 20);
    cr_assert_gt(ctr(&r.s[0], "retransmits") + ctr(&r.s[1], "retransmits"), 0);
    rig_close(&r);
}

Test(ustack, time_wait_recycled_when_table_full)
{
    struct ustack_config c;
    ustack_config_defaults(&c);
    c.max_conns = 4;
    c.time_wait_ns = 30000000000ull; /* long: the table fills with TIME_WAIT */
    struct rig r;
    rig_open(&r, 0, 0, &c);
    r.s[0].listen_close_on_eof = 1;
    do_listen(&r.s[0], 80);
    for (int k = 0; k < 12; k++) {
        int h = do_connect(&r.s[1], 0, 80);
        int arg[2] = {1, h};
        cr_assert(run_until(&r, connected, arg, 100000000ull), "connection %d", k);
        r.s[1].c[h].close_when_sent = 1; /* the client closes first: TIME_WAIT here */
        cr_assert(run_until(&r, conn_closed, arg, 100000000ull));
        cr_assert_eq(r.s[1].c[h].reason, NETIO_CLOSE_LOCAL);
        run_for(&r, 5000000ull);
    }
    run_for(&r, 100000000ull);
    cr_assert_gt(ctr(&r.s[1], "time_wait_recycled"), 0);
    cr_assert_eq(ctr(&r.s[0], "conns_accepted"), 12);
    cr_assert_eq(ctr(&r.s[0], "close_peer_fin"), 12);
    rig_close(&r);
}

/* ---- checksum offload: a wrapper pktio that plays the NIC ---- */

struct offl {
    struct pktio base;
    struct pktio *inner;
    uint64_t l4_done, ip_done, bad_seed;
};

static uint16_t offl_rx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct offl *o = (struct offl *)p;
    uint16_t k = pktio_rx_burst(o->inner, b, n);
    for (uint16_t i = 0; i < k; i++)
        b[i]->ol_flags = PKT_RX_IP_CSUM_OK | PKT_RX_L4_CSUM_OK;
    return k;
}

static uint16_t offl_tx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct offl *o = (struct offl *)p;
    for (uint16_t i = 0; i < n; i++) {
        uint8_t *f = b[i]->data;
        if (fr_get16(f + 12) != FR_ETH_IP) continue;
        uint8_t *ip = f + 14;
        if (b[i]->ol_flags & PKT_TX_IP_CSUM) {
            cr_assert_eq(b[i]->l2_len, 14);
            cr_assert_eq(b[i]->l3_len, 20);
            fr_put16(ip + 10, 0);
            fr_put16(ip + 10, fr_csum(ip, 20, 0));
            o->ip_done++;
        }
        if (ip[9] == FR_PROTO_TCP) {
            cr_assert(b[i]->ol_flags & PKT_TX_L4_CSUM, "TCP frame without L4 offload request");
            uint16_t l4 = (uint16_t)(fr_get16(ip + 2) - 20);
            uint8_t *t = ip + 20;
            uint32_t ps = fr_pseudo(fr_get32(ip + 12), fr_get32(ip + 16), FR_PROTO_TCP, l4);
            /* the stack leaves the folded pseudo-header sum (DPDK convention) */
            cr_assert_eq(fr_get16(t + 16), fr_fold(ps), "pseudo-header seed");
            fr_put16(t + 16, 0);
            fr_put16(t + 16, fr_csum(t, l4, ps));
            o->l4_done++;
        }
        b[i]->ol_flags = 0;
    }
    return pktio_tx_burst(o->inner, b, n);
}

static struct pktbuf *offl_alloc(struct pktio *p)
{
    return pktio_alloc(((struct offl *)p)->inner);
}
static void offl_free(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    pktio_free(((struct offl *)p)->inner, b, n);
}
static void offl_info(struct pktio *p, struct pktio_info *out)
{
    pktio_info(((struct offl *)p)->inner, out);
    out->offloads = PKT_TX_IP_CSUM | PKT_TX_L4_CSUM | PKT_RX_IP_CSUM_OK | PKT_RX_L4_CSUM_OK;
}
static int offl_counters(struct pktio *p, struct netio_counter *out, int max)
{
    return pktio_counters(((struct offl *)p)->inner, out, max);
}
static void offl_close(struct pktio *p)
{
    struct offl *o = (struct offl *)p;
    pktio_close(o->inner);
    free(o);
}
static const struct pktio_ops offl_ops = {
    .name = "offl",
    .rx_burst = offl_rx,
    .tx_burst = offl_tx,
    .alloc = offl_alloc,
    .free = offl_free,
    .info = offl_info,
    .counters = offl_counters,
    .close = offl_close,
};

/* stack_rig wrap: side 0 over an offl (stored in *arg), side 1 as it is */
static struct pktio *offl_wrap(struct stack_rig *sr, int side, struct pktio *p, void *arg,
                               char *err, size_t errlen)
{
    if (side != 0) return p;
    struct offl *o = calloc(1, sizeof(*o));
    cr_assert_not_null(o);
    o->base.ops = &offl_ops;
    o->inner = p;
    *(struct offl **)arg = o;
    return &o->base;
}

Test(ustack, checksum_offload_used_when_reported)
{
    struct rig r;
    struct offl *o = NULL;
    rig_open_wrapped(&r, 0, 0, NULL, offl_wrap, &o); /* side 0 over the offloading wrapper */
    cr_assert_not_null(o);
    r.s[0].listen_echo = 1;
    do_listen(&r.s[0], 80);
    int h = do_connect(&r.s[1], 0, 80);
    struct crec *cl = &r.s[1].c[h];
    size_t total = 200000;
    fill_tx(cl, total);
    struct xfer x = {total, 1, h};
    cr_assert(run_until(&r, echo_done, &x, 10000000000ull));
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(cl->rx[i], pat(i));
    cr_assert_gt(o->l4_done, 100, "the stack asked for L4 offload");
    cr_assert_gt(o->ip_done, 100, "the stack asked for IP offload");
    cr_assert_eq(ctr(&r.s[1], "drop_tcp_bad_csum") + ctr(&r.s[1], "drop_ip_bad_csum"), 0);
    rig_close(&r);
}

Test(ustack_raw, connect_timeout_when_syn_unanswered)
{
    struct raw w;
    raw_open(&w, NULL);
    char err[256];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    a.sin_addr.s_addr = htonl(0xc6120002u); /* the raw peer answers ARP, ignores SYNs */
    int h = netio_connect(w.io, &a, NULL, err, sizeof(err));
    cr_assert(h >= 0 && h < MAXC);
    rec_reset(&w.app.c[h]);
    w.app.c[h].used = 1;
    for (int i = 0; i < 400 && !w.app.c[h].closed; i++) {
        w.sr.now_ns += 500000000ull;
        raw_pump(&w);
    }
    cr_assert(w.app.c[h].closed);
    cr_assert_eq(w.app.c[h].reason, NETIO_CLOSE_TIMEOUT);
    cr_assert_eq(rctr(&w, "syn_retransmits"), 6);
    int syns = 0;
    uint64_t prev = 0;
    for (int i = 0; i < w.ngot; i++) {
        if (w.got[i].kind != FR_K_TCP || w.got[i].flags != FR_SYN) continue;
        cr_assert_eq(w.got[i].wscale, 7);
        cr_assert_eq(w.got[i].mss, 1460);
        if (syns >= 2) cr_assert_geq(w.at[i] - prev, 1000000000ull, "SYN backoff");
        prev = w.at[i];
        syns++;
    }
    cr_assert_eq(syns, 7);
    raw_close(&w);
}

Test(ustack_raw, gratuitous_arp_and_icmp_echo)
{
    struct ustack_config c;
    ustack_config_defaults(&c);
    c.gratuitous_arp = 1;
    struct raw w;
    raw_open(&w, &c);
    raw_pump(&w);
    cr_assert_geq(w.ngot, 1);
    cr_assert_eq(w.got[0].kind, FR_K_ARP);
    cr_assert_eq(w.got[0].arp_spa, 0xc6120001u);
    cr_assert_eq(w.got[0].arp_tpa, 0xc6120001u, "gratuitous: target is our own address");
    raw_connect(&w, 3, 7); /* the stack now knows the peer's MAC */
    uint8_t f[128];
    static const uint8_t req[] = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
    size_t n = fr_build_eth(f, w.mac_us, w.mac_peer, FR_ETH_IP);
    uint8_t *ip = f + n;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    fr_put16(ip + 2, (uint16_t)(20 + sizeof(req)));
    ip[8] = 64;
    ip[9] = 1;
    fr_put32(ip + 12, 0xc6120002u);
    fr_put32(ip + 16, 0xc6120001u);
    fr_put16(ip + 10, fr_csum(ip, 20, 0));
    memcpy(ip + 20, req, sizeof(req));
    fr_put16(ip + 22, fr_csum(ip + 20, sizeof(req), 0));
    w.ngot = 0;
    raw_send_frame(&w, f, n + 20 + sizeof(req));
    raw_pump(&w);
    cr_assert_eq(w.ngot, 1, "one echo reply");
    cr_assert_eq(w.got[0].kind, FR_K_IPV4);
    cr_assert(w.got[0].ip_csum_ok);
    const uint8_t *rep = w.store[0] + 14 + 20;
    cr_assert_eq(rep[0], 0, "echo reply type");
    cr_assert_eq(memcmp(rep + 4, req + 4, sizeof(req) - 4), 0, "id, seq and payload echoed");
    cr_assert_eq(fr_fold(fr_sum(rep, sizeof(req), 0)), 0xffff, "ICMP checksum");
    cr_assert_eq(rctr(&w, "icmp_echo_replies"), 1);
    raw_close(&w);
}

/* Loop accounting on an injected TSC: an iteration runs from one netio_poll
 * entry to the next and is work when frames moved during it (or its poll
 * returned events); each gap goes to the class of the iteration it closes. */
static uint64_t fake_tsc(void *arg)
{
    return *(const uint64_t *)arg;
}

static void poll_at(struct raw *w, uint64_t *tsc, uint64_t t)
{
    struct netio_event ev[16];
    *tsc = t;
    cr_assert_eq(netio_poll(w->io, ev, 16, 0), 0, "no events in this test");
}

Test(ustack_raw, loop_cycles_split_work_from_idle)
{
    uint64_t tsc = 0;
    struct ustack_config c;
    ustack_config_defaults(&c);
    c.tsc = fake_tsc;
    c.tsc_arg = &tsc;
    struct raw w;
    raw_open(&w, &c);
    poll_at(&w, &tsc, 1000); /* the first entry: nothing before it to attribute */
    cr_assert_eq(rctr(&w, "poll_cycles_work") + rctr(&w, "poll_cycles_idle"), 0);
    cr_assert_eq(rctr(&w, "poll_iters_work") + rctr(&w, "poll_iters_idle"), 0);
    /* an ARP request: the next poll receives it and sends the reply */
    uint8_t f[128];
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, z[6] = {0};
    size_t n =
        fr_build_arp(f, sizeof(f), FR_ARP_REQUEST, bc, w.mac_peer, 0xc6120002u, z, 0xc6120001u);
    raw_send_frame(&w, f, n);
    poll_at(&w, &tsc, 1400); /* closes the idle first iteration: 400 idle */
    cr_assert_eq(rctr(&w, "rx_frames"), 1);
    cr_assert_eq(rctr(&w, "tx_frames"), 1, "the ARP reply");
    poll_at(&w, &tsc, 1500); /* closes the one that moved frames: 100 work */
    poll_at(&w, &tsc, 1530); /* 30 idle */
    poll_at(&w, &tsc, 1600); /* 70 idle */
    cr_assert_eq(rctr(&w, "poll_cycles_work"), 100);
    cr_assert_eq(rctr(&w, "poll_iters_work"), 1);
    cr_assert_eq(rctr(&w, "poll_cycles_idle"), 400 + 30 + 70);
    cr_assert_eq(rctr(&w, "poll_iters_idle"), 3);
    /* a connect queues its SYN (no event follows: nothing answers it); the
     * poll that flushes it makes its own iteration work */
    char err[128];
    struct sockaddr_in dst = {
        .sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(0xc6120002u)};
    cr_assert_geq(netio_connect(w.io, &dst, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rctr(&w, "tx_frames"), 1, "the SYN waits in the TX batch");
    poll_at(&w, &tsc, 1700); /* 100 idle; this poll sends the SYN */
    cr_assert_eq(rctr(&w, "tx_frames"), 2, "the SYN is out");
    poll_at(&w, &tsc, 1750); /* 50 work */
    poll_at(&w, &tsc, 1800); /* 50 idle */
    cr_assert_eq(rctr(&w, "poll_cycles_work"), 100 + 50);
    cr_assert_eq(rctr(&w, "poll_iters_work"), 2);
    cr_assert_eq(rctr(&w, "poll_cycles_idle"), 500 + 100 + 50);
    cr_assert_eq(rctr(&w, "poll_iters_idle"), 5);
    raw_close(&w);
}
