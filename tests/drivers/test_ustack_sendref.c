/*
 * test_ustack_sendref.c — bodies sent by reference (netio_send_ref) through
 * our stack, over the stack rig (memlink, virtual clock, seeded impairment):
 *   - the copy counters say exactly what was copied: a header through
 *     netio_send is copied into the send ring and into a frame (its length
 *     each), a body sent by reference is written once, into frames
 *     (tx_fill_frame_bytes = its length, nothing of it in the ring);
 *   - under loss, retransmissions are rebuilt from the reference (the
 *     pattern, or a file mapping) and arrive byte-exact;
 *   - with every reference slot taken, bytes are copied into the ring
 *     (send_ref_copied_bytes) and still arrive exact;
 *   - a driver without send_ref (the netio_send_ref fallback) gets the same
 *     bytes through send.
 * Calls: tests/rig/stack_rig.h, netio.h, pattern.h.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/netio.h"
#include "tests/rig/stack_rig.h"
#include "workloads/pattern.h"

#define PORT 80
#define HDR 100u
#define MAX_NS (600ull * 1000000000ull)

struct run {
    struct stack_rig r;
    int srv, cli;                /* handles: server side (io[0]), client (io[1]) */
    const struct netio_src *src; /* the body's source */
    uint64_t body, sent;         /* body length, bytes of it sent */
    size_t hsent;
    uint64_t piece; /* most bytes per netio_send_ref call */
    uint8_t *got;
    size_t ngot;
};

static uint64_t ctr(struct netio *io, const char *name)
{
    struct netio_counter cs[256];
    int n = netio_counters(io, cs, 256);
    for (int i = 0; i < n; i++)
        if (strcmp(cs[i].name, name) == 0) return cs[i].value;
    cr_assert_fail("no counter '%s'", name);
    return 0;
}

static uint8_t hdr_byte(size_t i)
{
    return (uint8_t)('A' + i % 26);
}

/* The server sends HDR header bytes through netio_send, then the body by
 * reference, as far as the send ring takes them. */
static void pump(struct run *u)
{
    struct netio *io = u->r.io[0];
    while (u->hsent < HDR) {
        uint8_t h[HDR];
        for (size_t i = 0; i < HDR; i++)
            h[i] = hdr_byte(i);
        ssize_t n = netio_send(io, u->srv, h + u->hsent, HDR - u->hsent);
        cr_assert_geq(n, 0);
        if (n == 0) return;
        u->hsent += (size_t)n;
    }
    while (u->sent < u->body) {
        uint64_t want = u->body - u->sent;
        if (want > u->piece) want = u->piece;
        ssize_t n = netio_send_ref(io, u->srv, u->src, u->sent, (size_t)want);
        cr_assert_geq(n, 0);
        u->sent += (uint64_t)n;
        if ((uint64_t)n < want) return;
    }
}

static void run(struct run *u, double loss, const struct netio_src *src, uint64_t body,
                uint64_t piece)
{
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 2);
    if (loss > 0) {
        o.impair = 1;
        for (int i = 0; i < 2; i++) {
            o.impair_cfg[i].seed = 11 + (uint64_t)i;
            o.impair_cfg[i].loss = loss;
            o.impair_cfg[i].reorder = loss / 2;
        }
    }
    memset(u, 0, sizeof(*u));
    char err[256];
    cr_assert_eq(stack_rig_open(&u->r, &o, err, sizeof(err)), 0, "%s", err);
    u->src = src;
    u->body = body;
    u->piece = piece;
    u->srv = u->cli = -1;
    u->got = malloc(HDR + body);
    cr_assert_not_null(u->got);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    a.sin_addr.s_addr = htonl(STACK_RIG_IP(0));
    cr_assert_geq(netio_listen(u->r.io[0], &a, NULL, err, sizeof(err)), 0, "%s", err);
    u->cli = netio_connect(u->r.io[1], &a, NULL, err, sizeof(err));
    cr_assert_geq(u->cli, 0, "%s", err);
    struct netio_event ev[64];
    uint64_t start = u->r.now_ns;
    while (u->ngot < HDR + body) {
        cr_assert_lt(u->r.now_ns - start, MAX_NS, "stuck: %zu of %llu bytes", u->ngot,
                     (unsigned long long)(HDR + body));
        int moved = 0;
        int n = netio_poll(u->r.io[0], ev, 64, 0);
        for (int i = 0; i < n; i++) {
            moved = 1;
            if (ev[i].type == NETIO_EV_ACCEPTED) u->srv = ev[i].conn;
            cr_assert_neq(ev[i].type, NETIO_EV_CLOSED, "server connection closed");
        }
        if (u->srv >= 0) pump(u);
        netio_flush(u->r.io[0]);
        n = netio_poll(u->r.io[1], ev, 64, 0);
        for (int i = 0; i < n; i++) {
            moved = 1;
            cr_assert_neq(ev[i].type, NETIO_EV_CLOSED, "client connection closed");
            if (ev[i].type != NETIO_EV_READABLE) continue;
            cr_assert_leq(u->ngot + ev[i].len, HDR + body, "more bytes than were sent");
            memcpy(u->got + u->ngot, ev[i].data, ev[i].len);
            u->ngot += ev[i].len;
            netio_consume(u->r.io[1], ev[i].conn, ev[i].len);
        }
        netio_flush(u->r.io[1]);
        u->r.now_ns += moved ? 1000 : 100000;
    }
    for (size_t i = 0; i < HDR; i++)
        cr_assert_eq(u->got[i], hdr_byte(i), "header byte %zu", i);
}

static void done(struct run *u)
{
    free(u->got);
    stack_rig_close(&u->r);
}

static struct netio_src pattern_src(void)
{
    pattern_init();
    struct netio_src s = {.base = pattern_at(0, 0, NULL), .period = PATTERN_PERIOD};
    pattern_sums(s.sum); /* checksums from the prefix sums, as the server sends */
    return s;
}

/* Clean link: the header is copied twice (ring, frame), the body once. */
Test(ustack_sendref, counters_count_exactly_the_copies_made)
{
    struct netio_src src = pattern_src();
    struct run u;
    uint64_t body = 1000000; /* over 15 periods and the 256 KiB ring: refs are extended */
    run(&u, 0, &src, body, PATTERN_PERIOD);
    cr_assert_eq(pattern_check(u.got + HDR, 0, body), body, "body differs");
    struct netio *s = u.r.io[0];
    cr_assert_eq(ctr(s, "retransmits"), 0);
    cr_assert_eq(ctr(u.r.io[1], "drop_tcp_bad_csum"), 0, "segments summed from the prefix sums");
    cr_assert_eq(ctr(s, "tx_copy_sndbuf_bytes"), HDR);
    cr_assert_eq(ctr(s, "tx_copy_frame_bytes"), HDR);
    cr_assert_eq(ctr(s, "tx_fill_frame_bytes"), body);
    cr_assert_eq(ctr(s, "send_ref_copied_bytes"), 0);
    /* the client sent nothing: no copy of anything on its side */
    cr_assert_eq(ctr(u.r.io[1], "tx_copy_sndbuf_bytes"), 0);
    cr_assert_eq(ctr(u.r.io[1], "tx_fill_frame_bytes"), 0);
    done(&u);
}

/* 3% loss and 1.5% reordering each way: every resend of the body is
 * rebuilt from the pattern, and nothing of it went through the ring. */
Test(ustack_sendref, pattern_retransmissions_byte_exact_under_loss)
{
    struct netio_src src = pattern_src();
    struct run u;
    uint64_t body = 4u << 20;
    run(&u, 0.03, &src, body, PATTERN_PERIOD);
    cr_assert_eq(pattern_check(u.got + HDR, 0, body), body, "body differs");
    struct netio *s = u.r.io[0];
    cr_assert_gt(ctr(s, "retransmits"), 0, "no loss happened: the test shows nothing");
    cr_assert_gt(ctr(s, "tx_fill_frame_bytes"), body, "no resend came from the reference");
    cr_assert_eq(ctr(s, "tx_copy_sndbuf_bytes"), HDR, "body bytes were copied into the ring");
    cr_assert_eq(ctr(s, "send_ref_copied_bytes"), 0);
    done(&u);
}

/* A file mapping (period 0) as the source, under loss: the bytes are the
 * file's, retransmissions included. */
Test(ustack_sendref, file_mapping_retransmissions_byte_exact_under_loss)
{
    char path[] = "/tmp/bb-sendref-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unlink(path);
    size_t len = 3u << 20;
    uint8_t *data = malloc(len);
    cr_assert_not_null(data);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    cr_assert_neq(map, MAP_FAILED);
    struct netio_src src = {.base = map, .period = 0};
    struct run u;
    run(&u, 0.03, &src, len, len);
    cr_assert_eq(memcmp(u.got + HDR, data, len), 0, "file body differs");
    cr_assert_gt(ctr(u.r.io[0], "retransmits"), 0);
    cr_assert_gt(ctr(u.r.io[0], "tx_fill_frame_bytes"), len);
    cr_assert_eq(ctr(u.r.io[0], "tx_copy_sndbuf_bytes"), HDR);
    done(&u);
    munmap(map, len);
    close(fd);
    free(data);
}

/* Pieces that do not continue one another (each starts a new reference):
 * once all slots are taken by unacknowledged bytes the rest is copied into
 * the ring, counted, and the stream is still exact. */
Test(ustack_sendref, full_reference_table_falls_back_to_copies)
{
    struct netio_src src = pattern_src();
    struct run u;
    uint64_t body = 200000;
    run(&u, 0, &src, body, 1000); /* one source: contiguous pieces merge into one reference */
    cr_assert_eq(pattern_check(u.got + HDR, 0, body), body);
    cr_assert_eq(ctr(u.r.io[0], "send_ref_copied_bytes"), 0, "contiguous pieces did not merge");
    done(&u);

    /* now each piece its own reference: offsets jump (the stream is the
     * pattern at 2x: piece k holds pattern bytes [2k*P, 2k*P + P)) */
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 2);
    char err[256];
    struct stack_rig r;
    cr_assert_eq(stack_rig_open(&r, &o, err, sizeof(err)), 0, "%s", err);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    a.sin_addr.s_addr = htonl(STACK_RIG_IP(0));
    cr_assert_geq(netio_listen(r.io[0], &a, NULL, err, sizeof(err)), 0, "%s", err);
    int cli = netio_connect(r.io[1], &a, NULL, err, sizeof(err));
    cr_assert_geq(cli, 0, "%s", err);
    struct netio_event ev[64];
    int srv = -1;
    enum { PIECES = 20, P = 1000 };
    uint8_t got[PIECES * P];
    size_t ngot = 0;
    int queued = 0;
    for (int it = 0; ngot < sizeof(got) && it < 200000; it++) {
        int n = netio_poll(r.io[0], ev, 64, 0);
        for (int i = 0; i < n; i++)
            if (ev[i].type == NETIO_EV_ACCEPTED) srv = ev[i].conn;
        if (srv >= 0 && !queued) { /* all pieces at once, before any ACK */
            for (int k = 0; k < PIECES; k++)
                cr_assert_eq(netio_send_ref(r.io[0], srv, &src, (uint64_t)k * 2 * P, P), P);
            queued = 1;
        }
        netio_flush(r.io[0]);
        n = netio_poll(r.io[1], ev, 64, 0);
        for (int i = 0; i < n; i++) {
            if (ev[i].type != NETIO_EV_READABLE) continue;
            memcpy(got + ngot, ev[i].data, ev[i].len);
            ngot += ev[i].len;
            netio_consume(r.io[1], ev[i].conn, ev[i].len);
        }
        netio_flush(r.io[1]);
        r.now_ns += 1000;
    }
    cr_assert_eq(ngot, sizeof(got));
    for (int k = 0; k < PIECES; k++)
        cr_assert_eq(pattern_check(got + k * P, (uint64_t)k * 2 * P, P), P, "piece %d", k);
    uint64_t refs = 8; /* US_REFS */
    cr_assert_eq(ctr(r.io[0], "send_ref_copied_bytes"), (PIECES - refs) * P);
    cr_assert_eq(ctr(r.io[0], "tx_copy_sndbuf_bytes"), (PIECES - refs) * P);
    cr_assert_eq(ctr(r.io[0], "tx_fill_frame_bytes"), refs * P);
    cr_assert_eq(ctr(r.io[0], "tx_copy_frame_bytes"), (PIECES - refs) * P);
    stack_rig_close(&r);
}

/* Back-pressure outlasting the probe timeout is not a tail loss: the
 * client stops reading its link for 50 ms (virtual) while the server sends
 * 1 MiB; the link's ring (8 frames) fills, the server's pktio refuses
 * frames, and the tail sits in the server's own TX queue. The probe that
 * comes due (2 SRTT + 8 ms) is held back (tlp_deferred_busy) instead of
 * queuing a copy behind the original; nothing is resent. */
Test(ustack_sendref, probe_held_while_the_tx_path_refuses)
{
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 2);
    const char *lopts[2] = {"ring_size=8", NULL};
    o.link.opts = lopts;
    char err[256];
    struct stack_rig r;
    cr_assert_eq(stack_rig_open(&r, &o, err, sizeof(err)), 0, "%s", err);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    a.sin_addr.s_addr = htonl(STACK_RIG_IP(0));
    cr_assert_geq(netio_listen(r.io[0], &a, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_geq(netio_connect(r.io[1], &a, NULL, err, sizeof(err)), 0, "%s", err);
    struct netio_src src = pattern_src();
    struct netio_event ev[64];
    int srv = -1;
    uint64_t body = 1u << 20, sent = 0, got = 0, bad = 0;
    uint64_t stall_from = 0, stall_ns = 50ull * 1000000;
    for (uint64_t it = 0; got < body && it < 2000000; it++) {
        int n = netio_poll(r.io[0], ev, 64, 0);
        for (int i = 0; i < n; i++)
            if (ev[i].type == NETIO_EV_ACCEPTED) srv = ev[i].conn;
        while (srv >= 0 && sent < body) {
            uint64_t want = body - sent < PATTERN_PERIOD ? body - sent : PATTERN_PERIOD;
            ssize_t k = netio_send_ref(r.io[0], srv, &src, sent, (size_t)want);
            cr_assert_geq(k, 0);
            sent += (uint64_t)k;
            if ((uint64_t)k < want) break;
        }
        netio_flush(r.io[0]);
        if (got > 0 && !stall_from) stall_from = r.now_ns; /* first bytes in: stop reading */
        int reading = !stall_from || r.now_ns - stall_from >= stall_ns;
        if (reading) {
            n = netio_poll(r.io[1], ev, 64, 0);
            for (int i = 0; i < n; i++) {
                if (ev[i].type != NETIO_EV_READABLE) continue;
                if (pattern_check(ev[i].data, got, ev[i].len) != ev[i].len) bad++;
                got += ev[i].len;
                netio_consume(r.io[1], ev[i].conn, ev[i].len);
            }
            netio_flush(r.io[1]);
        }
        r.now_ns += reading ? 1000 : 100000; /* 0.1 ms steps while the client sleeps */
    }
    cr_assert_eq(got, body, "received %llu of %llu", (unsigned long long)got,
                 (unsigned long long)body);
    cr_assert_eq(bad, 0, "stream differs");
    cr_assert_gt(ctr(r.io[0], "tx_stall_full") + ctr(r.io[0], "tlp_deferred_busy"), 0);
    cr_assert_gt(ctr(r.io[0], "tlp_deferred_busy"), 0, "no probe came due while refused");
    cr_assert_eq(ctr(r.io[0], "tlp_probes"), 0);
    cr_assert_eq(ctr(r.io[0], "retransmits"), 0, "a queued tail was resent");
    stack_rig_close(&r);
}
