/*
 * fuzz_ustack.c — libFuzzer target for the user-space stack's frame input
 * (drivers/ustack). A stack (198.18.0.1/24, listener on port 80, one active
 * open to 198.18.0.2:80) runs over one memlink endpoint (the shared rig,
 * tests/rig/stack_rig.h, with one stack); the fuzz input is injected as
 * frames from the peer endpoint's TX, on the rig's virtual clock.
 *
 * Input format, repeated: [ctl:1][len:2 big-endian][frame:len]
 *   ctl bits 0-5: virtual time step before the frame, in units of 8 ms
 *   ctl bit 6:    "cooked": TCP seq/ack are relative to the connection's
 *                 rcv_nxt/snd_una (when the 4-tuple exists; a zero
 *                 destination port means the active open's port) and the IPv4 /
 *                 TCP / ICMP checksums are fixed, so the fuzzer gets past
 *                 checksum and window validation into the state machine
 *   ctl bit 7:    the application aborts (odd len) or closes (even len) the
 *                 lowest open connection before the frame
 * The application consumes what it reads, echoes up to 64 bytes, closes on
 * EOF. At the end the clock runs 480 s so the timers fire, then all is
 * destroyed: ASan catches over-reads, use-after-free and leaks; a trap fires
 * if a link buffer is never given back or an event breaks the netio rules.
 *
 * Build and run: make build-fuzz/fuzz_ustack &&
 *   build-fuzz/fuzz_ustack -runs=100000 tests/fuzz/corpus/fuzz_ustack
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/netio.h"
#include "drivers/pktio.h"
#include "drivers/ustack/ustack_int.h"
#include "tests/rig/stack_rig.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

#define FMAXC 16

struct fz {
    struct stack_rig rig; /* one stack on end 0; rig.now_ns is the clock */
    struct netio *io;
    struct pktio *peer;
    uint8_t open[FMAXC]; /* 1 = handle known to the app and not CLOSED */
    int active;          /* handle of the active open */
};

static void cook(struct fz *z, uint8_t *f, uint32_t len);

static void cook(struct fz *z, uint8_t *f, uint32_t len)
{
    if (len < ETH_HLEN + IP_HLEN || rd16(f + 12) != ETH_P_IPV4) return;
    uint8_t *ip = f + ETH_HLEN;
    uint32_t ihl = (uint32_t)(ip[0] & 15) * 4, tot = rd16(ip + 2);
    if (ihl < IP_HLEN || ETH_HLEN + ihl > len) return;
    wr16(ip + 10, 0);
    wr16(ip + 10, csum_fold(csum_add(0, ip, ihl)));
    if (tot < ihl || ETH_HLEN + tot > len) return;
    uint8_t *l4 = ip + ihl;
    uint32_t l4len = tot - ihl;
    if (ip[9] == IPPROTO_TCP_ && l4len >= 20) {
        struct us_ctx *s = (struct us_ctx *)z->io;
        if (rd16(l4 + 2) == 0) wr16(l4 + 2, s->conns[z->active].lport);
        struct us_conn *c = tcp_lookup(s, rd32(ip + 12), rd16(l4), rd16(l4 + 2));
        if (c) {
            wr32(l4 + 4, rd32(l4 + 4) + c->rcv_nxt);
            wr32(l4 + 8, rd32(l4 + 8) + c->snd_una);
        }
        wr16(l4 + 16, 0);
        uint32_t ph = csum_pseudo(rd32(ip + 12), rd32(ip + 16), IPPROTO_TCP_, (uint16_t)l4len);
        wr16(l4 + 16, csum_fold(csum_add(ph, l4, l4len)));
    } else if (ip[9] == IPPROTO_ICMP_ && l4len >= 8) {
        wr16(l4 + 2, 0);
        wr16(l4 + 2, csum_fold(csum_add(0, l4, l4len)));
    }
}

static void drain_peer(struct fz *z)
{
    struct pktbuf *b[32];
    uint16_t n;
    while ((n = pktio_rx_burst(z->peer, b, 32)) > 0) {
        for (uint16_t i = 0; i < n; i++) CHECK(b[i]->len >= 14 && b[i]->len <= PKTIO_MAX_FRAME);
        pktio_free(z->peer, b, n);
    }
}

static void poll_app(struct fz *z)
{
    struct netio_event ev[8];
    for (int round = 0; round < 4; round++) {
        int n = netio_poll(z->io, ev, 8, 0);
        CHECK(n >= 0 && n <= 8);
        for (int i = 0; i < n; i++) {
            struct netio_event *e = &ev[i];
            CHECK(e->conn >= 0 && e->conn < FMAXC);
            switch (e->type) {
            case NETIO_EV_ACCEPTED:
                CHECK(!z->open[e->conn]);
                z->open[e->conn] = 1;
                break;
            case NETIO_EV_CONNECTED:
            case NETIO_EV_WRITABLE:
                CHECK(z->open[e->conn]);
                break;
            case NETIO_EV_READABLE: {
                CHECK(z->open[e->conn]);
                CHECK(e->len == 0 || e->data != NULL);
                volatile uint8_t sink = 0;
                for (size_t k = 0; k < e->len; k++) sink ^= e->data[k]; /* touch every byte */
                (void)sink;
                size_t echo = e->len < 64 ? e->len : 64;
                if (echo) CHECK(netio_send(z->io, e->conn, e->data, echo) >= 0);
                netio_consume(z->io, e->conn, e->len);
                if (e->eof) netio_close(z->io, e->conn);
                break;
            }
            case NETIO_EV_CLOSED:
                CHECK(z->open[e->conn]);
                CHECK(e->reason < NETIO_CLOSE__COUNT);
                z->open[e->conn] = 0;
                break;
            default:
                CHECK(0);
            }
        }
        if (n == 0) break;
    }
    drain_peer(z);
}

static void app_action(struct fz *z, int abort)
{
    for (int i = 0; i < FMAXC; i++) {
        if (!z->open[i]) continue;
        if (abort)
            netio_abort(z->io, i);
        else
            netio_close(z->io, i);
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct fz z;
    memset(&z, 0, sizeof(z));
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 1);
    o.link.pool_size = 256;
    o.start_ns = 1000000000ull;
    struct ustack_config *c = &o.stack[0]; /* 198.18.0.1/24, ISN seed 1 */
    c->max_conns = FMAXC;
    c->rcvbuf = 4096;
    c->sndbuf = 4096;
    c->syn_backlog = 4;
    c->gratuitous_arp = 1;
    CHECK(stack_rig_open(&z.rig, &o, err, sizeof(err)) == 0);
    z.io = z.rig.io[0];
    z.peer = z.rig.peer;
    struct sockaddr_in l = {.sin_family = AF_INET, .sin_port = htons(80)};
    CHECK(netio_listen(z.io, &l, NULL, err, sizeof(err)) >= 0);
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(80)};
    d.sin_addr.s_addr = htonl(0xc6120002u);
    int h = netio_connect(z.io, &d, NULL, err, sizeof(err));
    CHECK(h >= 0 && h < FMAXC);
    z.open[h] = 1;
    z.active = h;
    poll_app(&z);

    size_t off = 0;
    while (off + 3 <= size) {
        uint8_t ctl = data[off];
        uint32_t len = (uint32_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off) len = (uint32_t)(size - off);
        if (len > PKTIO_MAX_FRAME) len = PKTIO_MAX_FRAME;
        z.rig.now_ns += (uint64_t)(ctl & 63) * 8000000ull;
        if (ctl & 128) app_action(&z, len & 1);
        struct pktbuf *f = pktio_alloc(z.peer);
        if (f) {
            memcpy(f->data, data + off, len);
            f->len = len;
            if (ctl & 64) cook(&z, f->data, len);
            if (pktio_tx_burst(z.peer, &f, 1) != 1) pktio_free(z.peer, &f, 1);
        }
        off += len;
        poll_app(&z);
    }
    for (int i = 0; i < 60; i++) { /* timers fire: RTO give-up, TIME_WAIT, ... */
        z.rig.now_ns += 8000000000ull;
        poll_app(&z);
    }
    drain_peer(&z);
    stack_rig_close(&z.rig);
    return 0;
}
