/*
 * test_io_uring.c — unit tests for drivers/io_uring.c beyond the conformance
 * suite (which runs over it too): the cases its own machinery makes risky.
 * Peers are plain kernel sockets in this process (so a test controls when
 * they read, and can reset), on 127.0.0.1 at a random high port; one loop
 * polls the driver and services the peers. No root needed. Hang guards use
 * wall time; assertions never do.
 *
 *   partial_sends         a peer that does not read: the kernel takes part of
 *                         a send (send_partial), the driver takes part of
 *                         netio_send (tx_full, then WRITABLE); every byte
 *                         arrives in order
 *   peer_resets_mid_response  RST while 8 MiB are on their way: one CLOSED
 *                         RESET, no buffer held, the slot serves again
 *   buffer_ring_exhaustion    32 connections, 4 provided buffers, the server
 *                         holding what it was shown: recvs end with ENOBUFS
 *                         and are re-armed; every byte arrives, no buffer held
 *   send_zc_not_reused_early  SEND_ZC from a send buffer the workload keeps
 *                         refilling, to a slow reader: the kernel still
 *                         references the bytes after the send's result; a
 *                         driver that reused them before the notification
 *                         would corrupt the body (checked byte for byte)
 *   sqpoll_and_napi       the same with SQPOLL and NAPI busy polling on
 *   options_checked       bad options are refused with the key named
 */
#include <criterion/criterion.h>

#ifndef HAVE_LIBURING
Test(io_uring, not_built)
{
    cr_skip_test("liburing was not found at build time: the io_uring driver is not in this "
                 "build (make deps installs liburing-dev)");
}
#else

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drivers/netio.h"

#define MIB (1024u * 1024u)

static int lmark;

static uint8_t pat(size_t i)
{
    return (uint8_t)((i * 131u) ^ (i >> 9) ^ (i >> 17));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct netio *open_uring(const char *const *opts, size_t max_conns)
{
    char err[256] = "";
    struct netio_config cfg = {.cpu = -1, .max_conns = max_conns, .opts = opts};
    struct netio *io = netio_open("io_uring", &cfg, err, sizeof(err));
    cr_assert_not_null(io, "netio_open(io_uring): %s", err);
    return io;
}

static void listen_any(struct netio *io, struct sockaddr_in *addr)
{
    char err[256] = "";
    unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    for (int tries = 0; tries < 100; tries++) {
        memset(addr, 0, sizeof(*addr));
        addr->sin_family = AF_INET;
        addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr->sin_port = htons((uint16_t)(20000 + rand_r(&seed) % 40000));
        errno = 0;
        if (netio_listen(io, addr, &lmark, err, sizeof(err)) >= 0) return;
        cr_assert_eq(errno, EADDRINUSE, "netio_listen: %s", err);
    }
    cr_assert_fail("no free port after 100 tries");
}

static uint64_t counter(struct netio *io, const char *name)
{
    struct netio_counter cs[128];
    int n = netio_counters(io, cs, 128);
    for (int i = 0; i < n; i++)
        if (strcmp(cs[i].name, name) == 0) return cs[i].value;
    cr_assert_fail("counter %s missing", name);
    return 0;
}

/* A non-blocking kernel socket connected to a (connect completes in the
 * poll loop); rcvbuf > 0 sets SO_RCVBUF first. */
static int peer_connect(const struct sockaddr_in *a, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    int r = connect(fd, (const struct sockaddr *)a, sizeof(*a));
    cr_assert(r == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
    return fd;
}

/* Read what is there from fd, checking it against the pattern at *off. */
static ssize_t peer_read_check(int fd, size_t *off, size_t max)
{
    static uint8_t b[256 * 1024];
    size_t want = max < sizeof(b) ? max : sizeof(b);
    ssize_t n = recv(fd, b, want, 0);
    if (n <= 0) return n;
    for (ssize_t j = 0; j < n; j++)
        cr_assert_eq(b[j], pat(*off + (size_t)j), "byte %zu differs", *off + (size_t)j);
    *off += (size_t)n;
    return n;
}

/* ---- a server connection that sends `total` bytes of the pattern ---- */

struct sender {
    int handle, closed, writable, short_sends;
    enum netio_close_reason reason;
    size_t total, tx;
    int wait_wr;
};

static void sender_push(struct netio *io, struct sender *s, size_t chunk)
{
    static uint8_t buf[128 * 1024];
    while (s->tx < s->total && !s->wait_wr && !s->closed) {
        size_t n = s->total - s->tx < chunk ? s->total - s->tx : chunk;
        for (size_t j = 0; j < n; j++)
            buf[j] = pat(s->tx + j);
        ssize_t w = netio_send(io, s->handle, buf, n);
        if (w < 0) return; /* the connection is gone: CLOSED tells why */
        s->tx += (size_t)w;
        if ((size_t)w < n) s->wait_wr = 1, s->short_sends++;
        /* the workload reuses its buffer at once: the driver must have copied */
        memset(buf, 0xee, n);
    }
}

static void sender_event(struct netio *io, const struct netio_event *ev, struct sender *s,
                         size_t chunk)
{
    switch (ev->type) {
    case NETIO_EV_ACCEPTED:
        cr_assert_eq(s->handle, -1, "second ACCEPTED");
        cr_assert_eq(ev->ctx, &lmark);
        s->handle = ev->conn;
        netio_set_ctx(io, ev->conn, s);
        sender_push(io, s, chunk);
        break;
    case NETIO_EV_WRITABLE:
        cr_assert_eq(ev->ctx, s);
        s->writable++;
        s->wait_wr = 0;
        sender_push(io, s, chunk);
        break;
    case NETIO_EV_READABLE:
        netio_consume(io, ev->conn, ev->len);
        if (ev->eof) netio_close(io, ev->conn);
        break;
    case NETIO_EV_CLOSED:
        cr_assert_eq(s->closed, 0, "second CLOSED");
        s->closed = 1;
        s->reason = ev->reason;
        break;
    default:
        cr_assert_fail("unexpected event %d", ev->type);
    }
}

static void poll_once(struct netio *io, struct sender *s, size_t chunk)
{
    struct netio_event evs[32];
    int n = netio_poll(io, evs, 32, 1000);
    cr_assert_geq(n, 0, "netio_poll failed");
    for (int i = 0; i < n; i++)
        sender_event(io, &evs[i], s, chunk);
    netio_flush(io);
}

/* Server on io sends total bytes to one kernel peer that starts reading
 * after delay_s, reading at most per_read bytes per loop. */
static void stream_to_slow_peer(struct netio *io, size_t total, double delay_s, size_t per_read,
                                size_t chunk)
{
    struct sockaddr_in a;
    listen_any(io, &a);
    int fd = peer_connect(&a, 64 * 1024);
    struct sender s = {.handle = -1, .total = total};
    size_t rx = 0;
    double start = now_s(), end = start + 60;
    while (rx < total && now_s() < end) {
        poll_once(io, &s, chunk);
        if (now_s() - start >= delay_s) {
            ssize_t n = peer_read_check(fd, &rx, per_read);
            cr_assert(n > 0 || (n < 0 && errno == EAGAIN), "peer recv: %zd %s", n,
                      n < 0 ? strerror(errno) : "EOF");
        }
    }
    cr_assert_eq(rx, total, "peer got %zu of %zu bytes", rx, total);
    cr_assert_eq(s.closed, 0, "the server connection closed early (reason %d)", s.reason);
    close(fd);
    for (int k = 0; k < 2000 && !s.closed; k++)
        poll_once(io, &s, chunk);
    cr_assert(s.closed, "no CLOSED after the peer left");
}

Test(io_uring, partial_sends)
{
    static const char *const opts[] = {"sndbuf=1m", NULL};
    struct netio *io = open_uring(opts, 16);
    /* 16 MiB through a 1 MiB send buffer to a peer with a 64 KiB receive
     * buffer that waits 200 ms before reading */
    stream_to_slow_peer(io, 16 * MIB, 0.2, 256 * 1024, 128 * 1024);
    cr_assert_gt(counter(io, "send_partial"), 0, "the kernel never took part of a send");
    cr_assert_gt(counter(io, "tx_full"), 0, "netio_send never came back short");
    cr_assert_eq(counter(io, "bufs_held"), 0);
    netio_destroy(io);
}

Test(io_uring, send_zc_not_reused_early)
{
    /* every send is SEND_ZC; 256 KiB of send buffer refilled as soon as the
     * driver allows, while the slow reader leaves the bytes queued in the
     * kernel (still the driver's pages) */
    static const char *const opts[] = {"sndbuf=256k", "zc_threshold=4k", NULL};
    struct netio *io = open_uring(opts, 16);
    stream_to_slow_peer(io, 32 * MIB, 0.1, 16 * 1024, 64 * 1024);
    uint64_t zc = counter(io, "op_send_zc");
    cr_assert_gt(zc, 10, "only %lu SEND_ZC", (unsigned long)zc);
    cr_assert_eq(counter(io, "op_send"), 0, "a send below the threshold");
    cr_assert_eq(counter(io, "zc_notifs"), zc, "a notification missing");
    netio_destroy(io);
}

Test(io_uring, peer_resets_mid_response)
{
    static const char *const opts[] = {"sndbuf=1m", NULL};
    struct netio *io = open_uring(opts, 16);
    struct sockaddr_in a;
    listen_any(io, &a);
    for (int round = 0; round < 3; round++) { /* the freed slot serves again */
        int fd = peer_connect(&a, 64 * 1024);
        struct sender s = {.handle = -1, .total = 8 * MIB};
        size_t rx = 0;
        double end = now_s() + 30;
        while (rx < 512 * 1024 && now_s() < end) {
            poll_once(io, &s, 128 * 1024);
            peer_read_check(fd, &rx, 64 * 1024);
        }
        cr_assert_geq(rx, 512 * 1024, "the response did not start");
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd); /* RST with most of the response unsent */
        while (!s.closed && now_s() < end)
            poll_once(io, &s, 128 * 1024);
        cr_assert(s.closed, "round %d: no CLOSED after the reset", round);
        cr_assert(s.reason == NETIO_CLOSE_RESET, "round %d: reason %s, want reset", round,
                  netio_close_reason_str(s.reason));
        cr_assert_lt(s.tx, s.total);
        for (int k = 0; k < 50; k++)
            poll_once(io, &s, 128 * 1024); /* no event after CLOSED */
    }
    cr_assert_eq(counter(io, "close_reset"), 3);
    cr_assert_eq(counter(io, "bufs_held"), 0);
    netio_destroy(io);
}

/* ---- 32 connections, 4 buffers ---- */

#define NX 32
#define XBYTES (256u * 1024u)

struct xsrv {
    int handle;
    size_t rx;
    int eof, closed;
};

Test(io_uring, buffer_ring_exhaustion)
{
    static const char *const opts[] = {"bufs=4", "buf_size=4k", NULL};
    struct netio *io = open_uring(opts, 64);
    struct sockaddr_in a;
    listen_any(io, &a);
    int fds[NX];
    size_t txo[NX];
    struct xsrv xs[NX];
    memset(xs, 0, sizeof(xs));
    static uint8_t buf[64 * 1024];
    for (int i = 0; i < NX; i++)
        fds[i] = peer_connect(&a, 0), txo[i] = 0;
    int naccepted = 0, holding = 1;
    double end = now_s() + 60;
    for (;;) {
        int all = 1;
        for (int i = 0; i < NX; i++)
            all &= xs[i].eof;
        if (all || now_s() > end) break;
        /* peers send their bytes, then FIN */
        for (int i = 0; i < NX; i++) {
            if (txo[i] == XBYTES) continue;
            size_t n = XBYTES - txo[i] < sizeof(buf) ? XBYTES - txo[i] : sizeof(buf);
            for (size_t j = 0; j < n; j++)
                buf[j] = pat(txo[i] + j);
            ssize_t w = send(fds[i], buf, n, MSG_NOSIGNAL);
            if (w > 0) txo[i] += (size_t)w;
            if (txo[i] == XBYTES) shutdown(fds[i], SHUT_WR);
        }
        /* hold everything shown until some recv found the ring empty */
        if (holding && counter(io, "rx_nobufs") > 0) holding = 0;
        struct netio_event evs[64];
        int n = netio_poll(io, evs, 64, 1000);
        cr_assert_geq(n, 0);
        for (int k = 0; k < n; k++) {
            const struct netio_event *ev = &evs[k];
            if (ev->type == NETIO_EV_ACCEPTED) {
                cr_assert_lt(naccepted, NX);
                xs[naccepted].handle = ev->conn;
                netio_set_ctx(io, ev->conn, &xs[naccepted++]);
                continue;
            }
            struct xsrv *x = ev->ctx;
            cr_assert_not_null(x);
            if (ev->type == NETIO_EV_CLOSED) {
                x->closed = 1;
                continue;
            }
            if (ev->type != NETIO_EV_READABLE) continue;
            cr_assert_leq(x->rx + ev->len, XBYTES, "more bytes than were sent");
            if (holding) continue; /* shown, not consumed: its buffer stays out */
            for (size_t j = 0; j < ev->len; j++)
                cr_assert_eq(ev->data[j], pat(x->rx + j), "byte %zu differs", x->rx + j);
            x->rx += ev->len;
            netio_consume(io, ev->conn, ev->len);
            if (ev->eof) {
                x->eof = 1;
                netio_close(io, ev->conn);
            }
        }
        netio_flush(io);
    }
    cr_assert_eq(naccepted, NX);
    for (int i = 0; i < NX; i++)
        cr_assert_eq(xs[i].rx, XBYTES, "connection %d got %zu of %u bytes", i, xs[i].rx, XBYTES);
    cr_assert_gt(counter(io, "rx_nobufs"), 0, "the ring never ran dry");
    cr_assert_gt(counter(io, "rx_zero_copy"), 0);
    for (int k = 0; k < 100; k++) {
        struct netio_event evs[64];
        int n = netio_poll(io, evs, 64, 1000);
        for (int j = 0; j < n; j++)
            if (evs[j].type == NETIO_EV_CLOSED) ((struct xsrv *)evs[j].ctx)->closed = 1;
    }
    for (int i = 0; i < NX; i++)
        cr_assert(xs[i].closed, "connection %d: no CLOSED", i);
    cr_assert_eq(counter(io, "bufs_held"), 0, "buffers leaked");
    for (int i = 0; i < NX; i++)
        close(fds[i]);
    netio_destroy(io);
}

/* SQPOLL (submission by a kernel thread on core 0: no io_uring_enter for a
 * batch unless the thread sleeps) and NAPI busy polling registered: the same
 * stream arrives intact, and the settings are reported. */
Test(io_uring, sqpoll_and_napi)
{
    static const char *const opts[] = {"sqpoll=1", "sqpoll_cpu=0", "napi_busy_poll=20", NULL};
    struct netio *io = open_uring(opts, 16);
    stream_to_slow_peer(io, 8 * MIB, 0.05, 256 * 1024, 64 * 1024);
    cr_assert_eq(counter(io, "cfg_sqpoll"), 1);
    cr_assert_eq(counter(io, "cfg_napi_busy_poll_us"), 20);
    cr_assert_eq(counter(io, "bufs_held"), 0);
    netio_destroy(io);
}

Test(io_uring, options_checked)
{
    char err[256] = "";
    static const char *const bad1[] = {"bufs=3", NULL};
    static const char *const bad2[] = {"nosuch=1", NULL};
    struct netio_config cfg = {.cpu = -1, .max_conns = 8, .opts = bad1};
    cr_assert_null(netio_open("io_uring", &cfg, err, sizeof(err)));
    cr_assert(strstr(err, "bufs"), "%s", err);
    cfg.opts = bad2;
    cr_assert_null(netio_open("io_uring", &cfg, err, sizeof(err)));
    cr_assert(strstr(err, "nosuch"), "%s", err);
}

#endif /* HAVE_LIBURING */
