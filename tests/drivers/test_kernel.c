/*
 * test_kernel.c — unit tests for drivers/kernel.c through the netio.h
 * wrappers. Both ends of every connection live in one netio instance on
 * 127.0.0.1 (random high port, retried on EADDRINUSE), driven by one poll
 * loop; no root needed. Hang guards use wall time (pump), assertions never
 * do; no Criterion .timeout: under ASan with --jobs>1 it leaks in the runner.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drivers/netio.h"

#define MIB (1024u * 1024u)

static int listener_mark; /* ctx of the listener: ACCEPTED events carry it */

struct tconn {
    int handle;
    int accepted, connected, closed, eof, events_after_close, writable;
    enum netio_close_reason reason;
    size_t tx, rx;    /* bytes sent / bytes received and checked */
    int wait_wr;      /* last send was short */
    size_t last_len;  /* len of the last READABLE */
    uint8_t *pend;    /* echo server: bytes to send back */
    size_t pin, pout; /* appended / echoed */
};

typedef void (*handler_fn)(struct netio *io, const struct netio_event *ev, void *st);
typedef int (*done_fn)(void *st);

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

static struct netio *open_io(size_t rx_buf, size_t max_conns)
{
    char err[256] = "";
    struct netio_config cfg = {.cpu = -1, .rx_buf = rx_buf, .max_conns = max_conns};
    struct netio *io = netio_open("kernel", &cfg, err, sizeof(err));
    cr_assert_not_null(io, "netio_open: %s", err);
    return io;
}

/* Listen on 127.0.0.1 at a random high port; another port on EADDRINUSE. */
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
        int l = netio_listen(io, addr, &listener_mark, err, sizeof(err));
        if (l >= 0) return;
        cr_assert_eq(errno, EADDRINUSE, "netio_listen: %s", err);
    }
    cr_assert_fail("no free port after 100 tries");
}

/* Poll until done(st) or the hang guard (seconds) expires; returns done. */
static int pump(struct netio *io, int max, handler_fn h, done_fn done, void *st, double secs)
{
    struct netio_event evs[64];
    cr_assert(max <= 64);
    double end = now_s() + secs;
    while (!(done && done(st))) {
        if (now_s() > end) return 0;
        int n = netio_poll(io, evs, max, 10000);
        cr_assert_geq(n, 0, "netio_poll failed");
        cr_assert_leq(n, max);
        for (int i = 0; i < n; i++) h(io, &evs[i], st);
    }
    return 1;
}

/* Bookkeeping shared by all handlers: ctx is a struct tconn (or the listener
 * mark on ACCEPTED). Returns the tconn, NULL for ACCEPTED. */
static struct tconn *track(const struct netio_event *ev)
{
    if (ev->type == NETIO_EV_ACCEPTED) {
        cr_assert_eq(ev->ctx, &listener_mark, "ACCEPTED carries the listener's ctx");
        cr_assert_geq(ev->listener, 0);
        return NULL;
    }
    struct tconn *c = ev->ctx;
    cr_assert_not_null(c, "event %d without ctx on conn %d", ev->type, ev->conn);
    if (c->closed) c->events_after_close++;
    cr_assert_eq(ev->conn, c->handle, "event for handle %d, ctx owns %d", ev->conn, c->handle);
    switch (ev->type) {
    case NETIO_EV_CONNECTED: c->connected++; break;
    case NETIO_EV_WRITABLE: c->writable++; c->wait_wr = 0; break;
    case NETIO_EV_CLOSED: c->closed++; c->reason = ev->reason; break;
    case NETIO_EV_READABLE:
        cr_assert(ev->len == 0 || ev->data != NULL);
        c->last_len = ev->len;
        if (ev->eof) c->eof++;
        break;
    default: break;
    }
    return c;
}

static void send_pattern(struct netio *io, struct tconn *c, size_t total, size_t chunk)
{
    static uint8_t buf[256 * 1024];
    while (c->tx < total && !c->wait_wr && !c->closed) {
        size_t n = total - c->tx < chunk ? total - c->tx : chunk;
        cr_assert_leq(n, sizeof(buf));
        for (size_t j = 0; j < n; j++) buf[j] = pat(c->tx + j);
        ssize_t w = netio_send(io, c->handle, buf, n);
        cr_assert_geq(w, 0, "netio_send failed");
        c->tx += (size_t)w;
        if ((size_t)w < n) c->wait_wr = 1;
    }
}

static void check_pattern(struct tconn *c, const uint8_t *d, size_t n)
{
    for (size_t j = 0; j < n; j++)
        cr_assert_eq(d[j], pat(c->rx + j), "byte %zu differs", c->rx + j);
    c->rx += n;
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

static void check_counters(struct netio *io, int with_data)
{
    struct netio_counter cs[128];
    int n = netio_counters(io, cs, 128);
    cr_assert_gt(n, 5);
    uint64_t sum = 0, total = 0;
    int have_total = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(cs[i].name, "sys_", 4) == 0) sum += cs[i].value;
        if (strcmp(cs[i].name, "syscalls") == 0) total = cs[i].value, have_total = 1;
    }
    cr_assert(have_total);
    cr_assert_eq(total, sum, "syscalls %lu != sum of sys_* %lu", (unsigned long)total,
                 (unsigned long)sum);
    const char *nonzero[] = {"syscalls", "sys_epoll_wait", "sys_epoll_ctl", "sys_recv",
                             "sys_send", "sys_accept", "sys_socket", "sys_connect",
                             "sys_close", "conns_accepted", "conns_connected", "conns_closed"};
    for (size_t i = 0; i < sizeof(nonzero) / sizeof(nonzero[0]); i++)
        if (with_data || strcmp(nonzero[i], "sys_send") != 0)
            cr_assert_gt(counter(io, nonzero[i]), 0, "counter %s is 0", nonzero[i]);
    /* a short array gets a prefix, never more than asked */
    cr_assert_eq(netio_counters(io, cs, 2), 2);
}

/* ---- a client/server pair; handlers are per test ---- */

struct pair {
    struct tconn cli, srv;
    size_t total;
    int phase;
    uint8_t seen[64]; /* partial-consume test: last presented bytes */
};

static void pair_start(struct netio *io, struct pair *p)
{
    struct sockaddr_in a;
    char err[256] = "";
    listen_any(io, &a);
    p->cli.handle = netio_connect(io, &a, &p->cli, err, sizeof(err));
    cr_assert_geq(p->cli.handle, 0, "netio_connect: %s", err);
    p->srv.handle = -1;
}

static void pair_accept(struct netio *io, const struct netio_event *ev, struct pair *p)
{
    cr_assert_eq(p->srv.handle, -1, "second ACCEPTED");
    p->srv.handle = ev->conn;
    p->srv.accepted = 1;
    netio_set_ctx(io, ev->conn, &p->srv);
}

static int both_closed(void *st)
{
    struct pair *p = st;
    return p->cli.closed && p->srv.closed;
}

/* ---- echo 1 MiB ---- */

static void echo_flush(struct netio *io, struct tconn *s)
{
    while (s->pout < s->pin && !s->wait_wr && !s->closed) {
        ssize_t w = netio_send(io, s->handle, s->pend + s->pout, s->pin - s->pout);
        cr_assert_geq(w, 0);
        s->pout += (size_t)w;
        if (s->pout < s->pin) s->wait_wr = 1;
    }
}

static void echo_h(struct netio *io, const struct netio_event *ev, void *st)
{
    struct pair *p = st;
    struct tconn *c = track(ev);
    if (!c) {
        pair_accept(io, ev, p);
        return;
    }
    if (c == &p->cli) {
        if (ev->type == NETIO_EV_CONNECTED || ev->type == NETIO_EV_WRITABLE)
            send_pattern(io, c, p->total, 64 * 1024);
        if (ev->type == NETIO_EV_READABLE) {
            check_pattern(c, ev->data, ev->len);
            netio_consume(io, ev->conn, ev->len);
        }
    } else {
        if (ev->type == NETIO_EV_READABLE) {
            cr_assert_leq(c->pin + ev->len, p->total);
            if (ev->len) memcpy(c->pend + c->pin, ev->data, ev->len);
            c->pin += ev->len;
            netio_consume(io, ev->conn, ev->len);
            if (ev->eof) netio_close(io, ev->conn);
        }
        if (ev->type == NETIO_EV_READABLE || ev->type == NETIO_EV_WRITABLE) echo_flush(io, c);
    }
}

static int echo_done(void *st)
{
    struct pair *p = st;
    return p->cli.rx == p->total;
}

Test(kernel, echo_1mib)
{
    struct netio *io = open_io(16 * 1024, 64);
    struct pair p = {.total = MIB};
    p.srv.pend = malloc(MIB);
    pair_start(io, &p);
    cr_assert(pump(io, 16, echo_h, echo_done, &p, 10), "echo stalled: sent %zu, echoed %zu, got %zu",
              p.cli.tx, p.srv.pout, p.cli.rx);
    cr_assert_eq(p.srv.pin, MIB);
    cr_assert_eq(p.cli.connected, 1);
    netio_close(io, p.cli.handle);
    cr_assert(pump(io, 16, echo_h, both_closed, &p, 5), "close not delivered");
    cr_assert_eq(p.cli.reason, NETIO_CLOSE_LOCAL);
    cr_assert_eq(p.srv.reason, NETIO_CLOSE_PEER_FIN);
    cr_assert_eq(p.srv.eof, 1);
    pump(io, 16, echo_h, NULL, &p, 0.05);
    cr_assert_eq(p.cli.closed + p.srv.closed, 2);
    cr_assert_eq(p.cli.events_after_close + p.srv.events_after_close, 0);
    check_counters(io, 1);
    free(p.srv.pend);
    netio_destroy(io);
}

/* ---- partial consume ---- */

static void partial_h(struct netio *io, const struct netio_event *ev, void *st)
{
    struct pair *p = st;
    struct tconn *c = track(ev);
    if (!c) {
        pair_accept(io, ev, p);
        return;
    }
    if (c == &p->cli && ev->type == NETIO_EV_CONNECTED)
        cr_assert_eq(netio_send(io, c->handle, "abcdef", 6), 6);
    if (c == &p->srv && ev->type == NETIO_EV_READABLE && p->phase < 3) {
        cr_assert_leq(ev->len, sizeof(p->seen));
        memcpy(p->seen, ev->data, ev->len);
        size_t want[] = {6, 6, 5};
        if (ev->len >= want[p->phase]) {
            netio_consume(io, ev->conn, ev->len / 2); /* half; the rest comes again */
            p->phase++;
        }
    }
}

static int phase_is(void *st)
{
    struct pair *p = st;
    return p->phase == (int)p->total;
}

Test(kernel, partial_consume)
{
    struct netio *io = open_io(0, 16);
    struct pair p = {0};
    pair_start(io, &p);
    p.total = 1;
    cr_assert(pump(io, 8, partial_h, phase_is, &p, 5));
    cr_assert_eq(p.srv.last_len, 6);
    cr_assert_arr_eq(p.seen, "abcdef", 6);
    cr_assert_eq(netio_send(io, p.cli.handle, "ghi", 3), 3);
    p.total = 2;
    cr_assert(pump(io, 8, partial_h, phase_is, &p, 5));
    cr_assert_eq(p.srv.last_len, 6, "remainder + new data: got %zu bytes", p.srv.last_len);
    cr_assert_arr_eq(p.seen, "defghi", 6);
    cr_assert_eq(netio_send(io, p.cli.handle, "jk", 2), 2);
    p.total = 3;
    cr_assert(pump(io, 8, partial_h, phase_is, &p, 5));
    cr_assert_eq(p.srv.last_len, 5);
    cr_assert_arr_eq(p.seen, "ghijk", 5);
    netio_destroy(io);
}

/* ---- buffer-full backpressure ---- */

#define BP_RXBUF (16u * 1024u)

static void bp_h(struct netio *io, const struct netio_event *ev, void *st)
{
    struct pair *p = st;
    struct tconn *c = track(ev);
    if (!c) {
        pair_accept(io, ev, p);
        return;
    }
    if (c == &p->cli) {
        if (ev->type == NETIO_EV_CONNECTED || ev->type == NETIO_EV_WRITABLE)
            send_pattern(io, c, p->total, 256 * 1024);
        return;
    }
    if (ev->type != NETIO_EV_READABLE) return;
    cr_assert_leq(ev->len, BP_RXBUF, "READABLE beyond rx_buf: %zu", ev->len);
    if (p->phase == 0) { /* not consuming: same bytes presented, never more */
        for (size_t j = 0; j < ev->len; j++) cr_assert_eq(ev->data[j], pat(j));
        return;
    }
    check_pattern(c, ev->data, ev->len);
    netio_consume(io, ev->conn, ev->len);
}

static int bp_full(void *st)
{
    struct pair *p = st;
    return p->cli.wait_wr && p->srv.last_len == BP_RXBUF;
}

static int bp_all(void *st)
{
    struct pair *p = st;
    return p->srv.rx == p->total;
}

Test(kernel, rx_buffer_full_backpressure)
{
    struct netio *io = open_io(BP_RXBUF, 16);
    struct pair p = {.total = 64u * MIB}; /* phase 0: send until the kernel says full */
    pair_start(io, &p);
    cr_assert(pump(io, 8, bp_h, bp_full, &p, 10), "never full: sent %zu, presented %zu",
              p.cli.tx, p.srv.last_len);
    cr_assert_geq(p.cli.tx, MIB, "short send before 1 MiB (%zu)", p.cli.tx);
    size_t sent = p.cli.tx;
    pump(io, 8, bp_h, NULL, &p, 0.1); /* nothing may move while nobody consumes */
    cr_assert_eq(p.cli.tx, sent);
    cr_assert_eq(p.srv.rx, 0);
    cr_assert_gt(counter(io, "rx_buf_full"), 0);
    cr_assert_gt(counter(io, "send_partial") + counter(io, "eagain_send"), 0);
    int wr_before = p.cli.writable;
    p.phase = 1;
    p.total = sent + 512 * 1024; /* more after WRITABLE */
    /* the full buffer (pattern 0..BP_RXBUF, checked in phase 0) is consumed now;
     * the driver resumes reading and presents the rest */
    p.srv.rx = BP_RXBUF;
    netio_consume(io, p.srv.handle, BP_RXBUF);
    cr_assert(pump(io, 8, bp_h, bp_all, &p, 10), "got %zu of %zu", p.srv.rx, p.total);
    cr_assert_gt(p.cli.writable, wr_before, "no WRITABLE after the short send");
    netio_destroy(io);
}

/* ---- connect to a closed port ---- */

static void one_h(struct netio *io, const struct netio_event *ev, void *st)
{
    struct pair *p = st;
    struct tconn *c = track(ev);
    if (!c) {
        pair_accept(io, ev, p);
        return;
    }
}

static int cli_closed(void *st)
{
    return ((struct pair *)st)->cli.closed;
}

Test(kernel, connect_refused)
{
    /* a bound, non-listening socket owns the port: SYN gets RST */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
    struct netio *io = open_io(0, 8);
    struct pair p = {0};
    char err[256];
    p.cli.handle = netio_connect(io, &a, &p.cli, err, sizeof(err));
    cr_assert_geq(p.cli.handle, 0, "%s", err);
    cr_assert(pump(io, 8, one_h, cli_closed, &p, 5));
    pump(io, 8, one_h, NULL, &p, 0.05);
    cr_assert_eq(p.cli.closed, 1);
    cr_assert_eq(p.cli.reason, NETIO_CLOSE_CONNECT_FAILED, "reason %s",
                 netio_close_reason_str(p.cli.reason));
    cr_assert_eq(p.cli.connected, 0);
    cr_assert_eq(p.cli.events_after_close, 0);
    cr_assert_eq(counter(io, "close_connect_failed"), 1);
    netio_destroy(io);
    close(s);
}

/* ---- peer close: READABLE eof, then CLOSED PEER_FIN once ---- */

static void fin_h(struct netio *io, const struct netio_event *ev, void *st)
{
    struct pair *p = st;
    struct tconn *c = track(ev);
    if (!c) {
        pair_accept(io, ev, p);
        return;
    }
    if (c == &p->cli && ev->type == NETIO_EV_CONNECTED) {
        cr_assert_eq(netio_send(io, c->handle, "bye", 3), 3);
        netio_close(io, c->handle);
        netio_close(io, c->handle); /* twice: still one CLOSED */
    }
    if (c == &p->srv && ev->type == NETIO_EV_READABLE) {
        cr_assert_eq(p->srv.eof, ev->eof, "READABLE after eof");
        if (ev->eof) {
            cr_assert_eq(ev->len, 3);
            cr_assert_arr_eq(ev->data, "bye", 3);
            netio_close(io, ev->conn);
            cr_assert_lt(netio_send(io, ev->conn, "x", 1), 0, "send after close");
        }
    }
}

Test(kernel, peer_fin)
{
    struct netio *io = open_io(0, 16);
    struct pair p = {0};
    pair_start(io, &p);
    cr_assert(pump(io, 8, fin_h, both_closed, &p, 5));
    pump(io, 8, fin_h, NULL, &p, 0.05);
    cr_assert_eq(p.srv.eof, 1);
    cr_assert_eq(p.srv.closed, 1);
    cr_assert_eq(p.srv.reason, NETIO_CLOSE_PEER_FIN, "reason %s",
                 netio_close_reason_str(p.srv.reason));
    cr_assert_eq(p.cli.closed, 1);
    cr_assert_eq(p.cli.reason, NETIO_CLOSE_LOCAL);
    cr_assert_eq(p.cli.events_after_close + p.srv.events_after_close, 0);
    netio_destroy(io);
}

/* ---- abort: the peer sees RESET ---- */

static void abort_h(struct netio *io, const struct netio_event *ev, void *st)
{
    struct pair *p = st;
    struct tconn *c = track(ev);
    if (!c) {
        pair_accept(io, ev, p);
        return;
    }
    if (c == &p->cli && ev->type == NETIO_EV_CONNECTED)
        cr_assert_eq(netio_send(io, c->handle, "x", 1), 1);
    if (c == &p->srv && ev->type == NETIO_EV_READABLE && ev->len) {
        netio_consume(io, ev->conn, ev->len);
        netio_abort(io, ev->conn);
        netio_close(io, ev->conn); /* no second CLOSED */
    }
}

Test(kernel, abort_resets_peer)
{
    struct netio *io = open_io(0, 16);
    struct pair p = {0};
    pair_start(io, &p);
    cr_assert(pump(io, 8, abort_h, both_closed, &p, 5));
    pump(io, 8, abort_h, NULL, &p, 0.05);
    cr_assert_eq(p.srv.closed, 1);
    cr_assert_eq(p.srv.reason, NETIO_CLOSE_LOCAL);
    cr_assert_eq(p.cli.closed, 1);
    cr_assert_eq(p.cli.reason, NETIO_CLOSE_RESET, "reason %s",
                 netio_close_reason_str(p.cli.reason));
    cr_assert_eq(p.cli.events_after_close + p.srv.events_after_close, 0);
    netio_destroy(io);
}

/* ---- 200 connections, every handle exactly one CLOSED; max = 3 per poll ---- */

#define NCONN 200

struct many {
    struct tconn cli[NCONN], srv[NCONN];
    int nsrv;
};

static void many_h(struct netio *io, const struct netio_event *ev, void *st)
{
    struct many *m = st;
    if (ev->type == NETIO_EV_ACCEPTED) {
        track(ev);
        cr_assert_lt(m->nsrv, NCONN, "too many accepts");
        struct tconn *s = &m->srv[m->nsrv];
        s->handle = ev->conn;
        s->accepted = 1;
        netio_set_ctx(io, ev->conn, s);
        if (m->nsrv++ % 2) netio_close(io, ev->conn); /* odd: server closes first */
        return;
    }
    struct tconn *c = track(ev);
    int is_cli = c >= m->cli && c < m->cli + NCONN;
    if (is_cli && ev->type == NETIO_EV_CONNECTED && (c - m->cli) % 2 == 0)
        netio_close(io, ev->conn); /* even: client closes first */
    if (ev->type == NETIO_EV_READABLE) {
        cr_assert_eq(ev->len, 0, "no data was sent (%s)", is_cli ? "client" : "server");
        if (ev->eof) netio_close(io, ev->conn);
    }
}

static int many_done(void *st)
{
    struct many *m = st;
    if (m->nsrv < NCONN) return 0;
    for (int i = 0; i < NCONN; i++)
        if (!m->cli[i].closed || !m->srv[i].closed) return 0;
    return 1;
}

Test(kernel, many_connections_one_closed_each)
{
    struct netio *io = open_io(0, 1024);
    struct many *m = calloc(1, sizeof(*m));
    struct sockaddr_in a;
    char err[256];
    listen_any(io, &a);
    for (int i = 0; i < NCONN; i++) {
        m->cli[i].handle = netio_connect(io, &a, &m->cli[i], err, sizeof(err));
        cr_assert_geq(m->cli[i].handle, 0, "connect %d: %s", i, err);
    }
    cr_assert(pump(io, 3, many_h, many_done, m, 10), "accepted %d", m->nsrv);
    pump(io, 3, many_h, NULL, m, 0.05);
    for (int i = 0; i < NCONN; i++) {
        struct tconn *c[2] = {&m->cli[i], &m->srv[i]};
        for (int j = 0; j < 2; j++) {
            cr_assert_eq(c[j]->closed, 1, "conn %d side %d closed %d times", i, j, c[j]->closed);
            cr_assert_eq(c[j]->events_after_close, 0);
            cr_assert(c[j]->reason == NETIO_CLOSE_LOCAL || c[j]->reason == NETIO_CLOSE_PEER_FIN,
                      "conn %d side %d reason %s", i, j, netio_close_reason_str(c[j]->reason));
        }
        cr_assert_eq(m->cli[i].connected, 1);
    }
    cr_assert_eq(counter(io, "conns_accepted"), NCONN);
    cr_assert_eq(counter(io, "conns_connected"), NCONN);
    cr_assert_eq(counter(io, "conns_closed"), 2 * NCONN);
    check_counters(io, 0);
    free(m);
    netio_destroy(io);
}

/* ---- configuration errors ---- */

Test(kernel, unknown_driver_named_in_error)
{
    char err[256] = "";
    struct netio_config cfg = {.cpu = -1};
    cr_assert_null(netio_open("nosuchdriver", &cfg, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "nosuchdriver"), "err: %s", err);
}

Test(kernel, unknown_option_named_in_error)
{
    char err[256] = "";
    const char *opts[] = {"frobnicate=1", NULL};
    struct netio_config cfg = {.cpu = -1, .opts = opts};
    cr_assert_null(netio_open("kernel", &cfg, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "frobnicate"), "err: %s", err);
}

/* Busy-poll options: an echo still works, the settings applied are exported
 * (epoll's through EPIOCSPARAMS on Linux 6.9 and later; before, not applied
 * with epoll_busy_poll=auto), a bad value is refused by name. */
Test(kernel, busy_poll_options)
{
    char err[256] = "";
    const char *opts[] = {"busy_poll=50", "prefer_busy_poll=1", "busy_poll_budget=16", NULL};
    struct netio_config cfg = {.cpu = -1, .rx_buf = 16 * 1024, .max_conns = 64, .opts = opts};
    struct netio *io = netio_open("kernel", &cfg, err, sizeof(err));
    cr_assert_not_null(io, "netio_open: %s", err);
    struct pair p = {.total = MIB};
    p.srv.pend = malloc(MIB);
    pair_start(io, &p);
    cr_assert(pump(io, 16, echo_h, echo_done, &p, 10), "echo stalled with busy polling");
    cr_assert_eq(counter(io, "cfg_busy_poll_us"), 50);
    cr_assert_eq(counter(io, "cfg_prefer_busy_poll"), 1);
    cr_assert_eq(counter(io, "cfg_busy_poll_budget"), 16);
    cr_assert_leq(counter(io, "cfg_epoll_busy_poll"), 1);
    free(p.srv.pend);
    netio_destroy(io);
    const char *bad[] = {"busy_poll=2000000", NULL};
    cfg.opts = bad;
    cr_assert_null(netio_open("kernel", &cfg, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "busy_poll"), "err: %s", err);
    const char *on[] = {"busy_poll=10", "epoll_busy_poll=on", NULL};
    cfg.opts = on; /* on a kernel without EPIOCSPARAMS this must fail, naming it */
    io = netio_open("kernel", &cfg, err, sizeof(err));
    if (io) {
        cr_assert_eq(counter(io, "cfg_epoll_busy_poll"), 1);
        netio_destroy(io);
    } else {
        cr_assert_not_null(strstr(err, "EPIOCSPARAMS"), "err: %s", err);
    }
}

Test(kernel, probe_and_bad_handles)
{
    const struct netio_ops *ops = netio_find("kernel");
    char err[64];
    cr_assert_not_null(ops);
    cr_assert_eq(ops->probe(err, sizeof(err)), 0);
    struct netio *io = open_io(0, 4);
    cr_assert_lt(netio_send(io, 99, "x", 1), 0);
    cr_assert_lt(netio_send(io, 0, "x", 1), 0); /* free slot */
    netio_close(io, -1);
    netio_consume(io, 7, 1);
    struct netio_event ev[4];
    cr_assert_eq(netio_poll(io, ev, 4, 0), 0);
    cr_assert_gt(counter(io, "bad_handle"), 0);
    netio_destroy(io);
}
