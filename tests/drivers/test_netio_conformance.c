/*
 * test_netio_conformance.c — one suite of netio event-semantics tests (the
 * netio.h contract) run over every netio backend that needs no network
 * namespace (DESIGN §11 "Conformance"): a new driver proves itself by adding
 * one row to BACKENDS below.
 *
 * Rows (fixtures): {suite name, open a pair, the clock, advance it, close}.
 *   kernel          two kernel instances on 127.0.0.1; the listener's port is
 *                   one the kernel just handed out for port 0 (retried on
 *                   EADDRINUSE); real time, netio_poll blocks up to 0.5 ms.
 *   ustack_memlink  two of our stacks joined by a memlink pair (the shared
 *                   rig, tests/rig/stack_rig.h); virtual time, +100 us per
 *                   round.
 *   afxdp           (built with AF_XDP; root) two of our stacks over AF_XDP
 *                   on the two ends of a veth, each in a namespace of its
 *                   own made for the test, the kernels keeping the same
 *                   addresses (the refused port is the kernel's: RST); real
 *                   time; no XDP program left on either end after close.
 * Side 0 listens, side 1 connects. Every stream a side sends is pattern_at()
 * from a per-side offset, so every byte a READABLE presents is checked where
 * it stands in the stream (re-presented unconsumed bytes included).
 *
 * What every event is checked for, in every test (on_event):
 *   ACCEPTED carries the listener's ctx and handle, on a handle not live;
 *   other events carry the connection's ctx (set with netio_set_ctx) and
 *   come after ACCEPTED/CONNECTED; nothing comes after CLOSED; READABLE has
 *   data for len > 0, len > 0 unless eof, never more than rx_buf, starts
 *   with the bytes shown before and not consumed, and never grows after eof.
 * fx_fini: every connection got exactly one CLOSED.
 *
 * Tests: accept_and_connect, idle_listener_no_events, echo_bytes_exact,
 * readable_presents_unconsumed, send_before_connected_writable,
 * send_full_then_writable, close_by_client, close_by_server,
 * close_before_connected, abort_resets_peer, rst_while_peer_sends,
 * connect_refused, many_connections_small_batches.
 *
 * Calls: netio.h wrappers, netio_open("kernel"), the stack rig, pattern.h.
 * Hang guards count the backend's own clock; no Criterion .timeout.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drivers/netio.h"
#include "tests/rig/stack_rig.h"
#include "workloads/pattern.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define MAXH 1024 /* handles tracked per side */
#define MAXT 64   /* connections per test */
#define PAT_OFF(side) ((side) ? 777777ull : 0ull)

struct fx;

/* ---- the backend fixture table ------------------------------------------ */

struct fx_opts {
    size_t rx_buf;    /* per-connection receive buffer (0 = driver default) */
    size_t max_conns; /* connection table (0 = 64) */
};

struct backend {
    const char *name;
    /* Open io[0] and io[1]; io[0] listens at fx->srv (ctx &fx->lmark, handle
     * fx->listener); fx->refused is an address where nothing listens. */
    void (*open)(struct fx *fx, const struct fx_opts *o);
    uint64_t (*now)(struct fx *fx);   /* ns on the clock the backend runs on */
    void (*advance)(struct fx *fx);   /* after each round: a virtual clock moves; or NULL */
    int poll_timeout_us;              /* what netio_poll is given */
    void (*close)(struct fx *fx);
};

/* ---- tracked connections -------------------------------------------------- */

struct tc {
    struct fx *fx;
    int side, handle, live;
    int accepted, connected, closed, writable, eof;
    enum netio_close_reason reason;
    uint64_t accept_round;
    uint64_t shown;    /* bytes presented so far (consumed + still shown) */
    uint64_t consumed; /* bytes consumed */
    size_t last_len;   /* len of the last READABLE */
    uint64_t want;     /* cond_shown: bytes to be shown */
    int readables;
    /* policy */
    int hold;            /* do not consume (the test consumes by hand) */
    int close_on_eof;    /* netio_close once eof is seen */
    int abort_on_data;   /* netio_abort at the first data */
    int close_after_tx;  /* netio_close once tx_goal is sent */
    int close_called;
    uint64_t tx_goal, tx_off;
    int wait_wr;         /* last send was short */
    int short_sends;
};

struct fx {
    const struct backend *be;
    struct netio *io[2];
    int listener;
    int lmark; /* the listener's ctx */
    struct sockaddr_in srv, refused;
    size_t rx_buf;
    int max_ev; /* events asked for per netio_poll */
    uint64_t rounds;
    uint64_t events[2];
    struct tc *h2c[2][MAXH];
    struct tc conns[MAXT];
    int nconns;
    /* tc policy for accepted connections */
    struct tc tmpl;
    void *priv;
    int priv_fd;
};

#define FX_ASSERT(fx, cond, fmt, ...)                                                              \
    cr_assert(cond, "[%s] " fmt, (fx)->be->name, ##__VA_ARGS__)

static struct tc *tc_new(struct fx *fx, int side, int h)
{
    FX_ASSERT(fx, fx->nconns < MAXT, "too many connections");
    FX_ASSERT(fx, h >= 0 && h < MAXH, "handle %d out of the tracked range", h);
    struct tc *c = &fx->conns[fx->nconns++];
    memset(c, 0, sizeof(*c));
    c->fx = fx;
    c->side = side;
    c->handle = h;
    c->live = 1;
    fx->h2c[side][h] = c;
    return c;
}

static void tc_close(struct tc *c)
{
    if (!c->live || c->close_called) return;
    c->close_called = 1;
    netio_close(c->fx->io[c->side], c->handle);
}

static void tc_abort(struct tc *c)
{
    if (!c->live || c->close_called) return;
    c->close_called = 1;
    netio_abort(c->fx->io[c->side], c->handle);
}

/* Consume n of the bytes shown (by hand, for holding connections). */
static void tc_consume(struct tc *c, uint64_t n)
{
    FX_ASSERT(c->fx, n <= c->shown - c->consumed, "consume beyond what was shown");
    netio_consume(c->fx->io[c->side], c->handle, n);
    c->consumed += n;
}

static void on_readable(struct fx *fx, struct tc *c, const struct netio_event *ev)
{
    const char *nm = fx->be->name;
    uint64_t held = c->shown - c->consumed;
    cr_assert(ev->len == 0 || ev->data, "[%s] READABLE len %zu, data NULL", nm, ev->len);
    cr_assert(ev->len > 0 || ev->eof, "[%s] READABLE with len 0 and no eof", nm);
    cr_assert(fx->rx_buf == 0 || ev->len <= fx->rx_buf, "[%s] READABLE len %zu > rx_buf %zu", nm,
              ev->len, fx->rx_buf);
    cr_assert_geq(ev->len, held, "[%s] READABLE len %zu < %llu bytes shown and not consumed", nm,
                  ev->len, (unsigned long long)held);
    cr_assert(!(c->eof && ev->len > held), "[%s] data after eof", nm);
    size_t ok = pattern_check(ev->data, PAT_OFF(!c->side) + c->consumed, ev->len);
    cr_assert_eq(ok, ev->len, "[%s] side %d byte %llu of the stream is wrong", nm, c->side,
                 (unsigned long long)(c->consumed + ok));
    c->shown = c->consumed + ev->len;
    c->last_len = ev->len;
    c->readables++;
    if (ev->eof) c->eof = 1;
    if (c->abort_on_data && ev->len) {
        tc_abort(c);
        return;
    }
    if (!c->hold && ev->len && !c->close_called) tc_consume(c, ev->len);
    if (c->eof && c->close_on_eof) tc_close(c);
}

static void on_event(struct fx *fx, int side, const struct netio_event *ev)
{
    const char *nm = fx->be->name;
    cr_assert(ev->conn >= 0 && ev->conn < MAXH, "[%s] side %d: event %d for handle %d", nm, side,
              ev->type, ev->conn);
    struct tc *c = fx->h2c[side][ev->conn];
    if (ev->type == NETIO_EV_ACCEPTED) {
        cr_assert_eq(side, 0, "[%s] ACCEPTED on the side that does not listen", nm);
        cr_assert_eq(ev->ctx, &fx->lmark, "[%s] ACCEPTED without the listener's ctx", nm);
        cr_assert_eq(ev->listener, fx->listener, "[%s] ACCEPTED names listener %d, not %d", nm,
                     ev->listener, fx->listener);
        cr_assert_null(c, "[%s] ACCEPTED on live handle %d", nm, ev->conn);
        c = tc_new(fx, side, ev->conn);
        struct tc *t = &fx->tmpl;
        c->hold = t->hold, c->close_on_eof = t->close_on_eof, c->abort_on_data = t->abort_on_data;
        c->close_after_tx = t->close_after_tx, c->tx_goal = t->tx_goal;
        c->accepted = 1;
        c->accept_round = fx->rounds;
        netio_set_ctx(fx->io[side], ev->conn, c);
        return;
    }
    if (!c) /* after CLOSED, or never opened */
        cr_assert_fail("[%s] side %d: event %d for handle %d, which is not open (after CLOSED?)",
                       nm, side, ev->type, ev->conn);
    /* events of the ACCEPTED's own batch may predate netio_set_ctx */
    int stale_ok = c->accepted && c->accept_round == fx->rounds && ev->ctx == &fx->lmark;
    cr_assert(ev->ctx == c || stale_ok, "[%s] side %d handle %d: event %d with a foreign ctx", nm,
              side, ev->conn, ev->type);
    switch (ev->type) {
    case NETIO_EV_CONNECTED:
        cr_assert(!c->connected && !c->accepted, "[%s] handle %d: extra CONNECTED", nm, ev->conn);
        c->connected = 1;
        break;
    case NETIO_EV_READABLE:
        cr_assert(c->connected || c->accepted, "[%s] READABLE before CONNECTED/ACCEPTED", nm);
        on_readable(fx, c, ev);
        break;
    case NETIO_EV_WRITABLE:
        cr_assert(c->connected || c->accepted, "[%s] WRITABLE before CONNECTED/ACCEPTED", nm);
        c->writable++;
        c->wait_wr = 0;
        break;
    case NETIO_EV_CLOSED:
        cr_assert(ev->reason < NETIO_CLOSE__COUNT, "[%s] CLOSED reason %d", nm, ev->reason);
        c->closed++;
        c->reason = ev->reason;
        c->live = 0;
        fx->h2c[side][ev->conn] = NULL;
        break;
    default:
        cr_assert_fail("[%s] unknown event type %d", nm, ev->type);
    }
}

/* Send what each connection still has to send (pattern stream). */
static void pump(struct fx *fx)
{
    for (int i = 0; i < fx->nconns; i++) {
        struct tc *c = &fx->conns[i];
        if (!c->live || c->close_called || !(c->connected || c->accepted)) continue;
        while (c->tx_off < c->tx_goal && !c->wait_wr) {
            uint64_t left = c->tx_goal - c->tx_off;
            size_t want = left > 65536 ? 65536 : (size_t)left, got;
            const uint8_t *p = pattern_at(PAT_OFF(c->side) + c->tx_off, want, &got);
            ssize_t n = netio_send(fx->io[c->side], c->handle, p, got);
            FX_ASSERT(fx, n >= 0 && (size_t)n <= got, "netio_send returned %zd on a live connection",
                      n);
            c->tx_off += (uint64_t)n;
            if ((size_t)n < got) c->wait_wr = 1, c->short_sends++;
        }
        if (c->close_after_tx && c->tx_off >= c->tx_goal) tc_close(c);
    }
}

/* One round: poll both sides (handling every event), send, flush, tick. */
static int fx_round(struct fx *fx)
{
    struct netio_event evs[64];
    int total = 0;
    fx->rounds++;
    for (int side = 0; side < 2; side++) {
        int n = netio_poll(fx->io[side], evs, fx->max_ev, fx->be->poll_timeout_us);
        FX_ASSERT(fx, n >= 0 && n <= fx->max_ev, "side %d: netio_poll returned %d", side, n);
        for (int i = 0; i < n; i++) on_event(fx, side, &evs[i]);
        fx->events[side] += (uint64_t)n;
        total += n;
    }
    pump(fx);
    for (int side = 0; side < 2; side++) netio_flush(fx->io[side]);
    if (fx->be->advance) fx->be->advance(fx);
    return total;
}

typedef int (*cond_fn)(struct fx *fx, void *arg);

/* Rounds until done(); 0 when `ns` passed on the backend's clock first. */
static int fx_run(struct fx *fx, cond_fn done, void *arg, uint64_t ns)
{
    uint64_t end = fx->be->now(fx) + ns;
    while (!done(fx, arg)) {
        if (fx->be->now(fx) >= end) return 0;
        fx_round(fx);
    }
    return 1;
}

/* Rounds for `ns`; returns the events seen. */
static uint64_t fx_idle(struct fx *fx, uint64_t ns)
{
    uint64_t e0 = fx->events[0] + fx->events[1], end = fx->be->now(fx) + ns;
    while (fx->be->now(fx) < end) fx_round(fx);
    return fx->events[0] + fx->events[1] - e0;
}

#define RUN(fx, cond, arg, ns, what)                                                               \
    FX_ASSERT(fx, fx_run(fx, cond, arg, ns), "%s: not within %.1f s", what, (double)(ns) / 1e9)

static int cond_connected(struct fx *fx, void *a)
{
    const struct tc *c = a;
    (void)fx;
    return c->connected || c->closed;
}
static int cond_closed(struct fx *fx, void *a)
{
    (void)fx;
    return ((const struct tc *)a)->closed > 0;
}
static int cond_all_closed(struct fx *fx, void *a)
{
    (void)a;
    for (int i = 0; i < fx->nconns; i++)
        if (!fx->conns[i].closed) return 0;
    return 1;
}
static struct tc *accepted(struct fx *fx)
{
    for (int i = fx->nconns - 1; i >= 0; i--)
        if (fx->conns[i].accepted) return &fx->conns[i];
    return NULL;
}
static int cond_accepted(struct fx *fx, void *a)
{
    (void)a;
    return accepted(fx) != NULL;
}
static int cond_shown(struct fx *fx, void *a)
{
    const struct tc *c = a;
    (void)fx;
    return c->shown >= c->want || c->closed;
}
static int cond_tx_stalled(struct fx *fx, void *a)
{
    const struct tc *c = a;
    (void)fx;
    return c->wait_wr || c->closed;
}

static void fx_open(struct fx *fx, const struct backend *be, const struct fx_opts *o)
{
    static const struct fx_opts none;
    memset(fx, 0, sizeof(*fx));
    fx->be = be;
    fx->max_ev = 64;
    fx->priv_fd = -1;
    if (!o) o = &none;
    fx->rx_buf = o->rx_buf;
    pattern_init();
    be->open(fx, o);
}

static struct tc *fx_connect(struct fx *fx, const struct sockaddr_in *to)
{
    char err[256] = "";
    FX_ASSERT(fx, fx->nconns < MAXT, "too many connections");
    struct tc *slot = &fx->conns[fx->nconns]; /* the ctx is known before the call */
    int h = netio_connect(fx->io[1], to ? to : &fx->srv, slot, err, sizeof(err));
    FX_ASSERT(fx, h >= 0, "netio_connect: %s", err);
    struct tc *c = tc_new(fx, 1, h);
    FX_ASSERT(fx, c == slot, "slot");
    return c;
}

/* A connection up on both sides: returns the client's, *srv the server's. */
static struct tc *fx_establish(struct fx *fx, struct tc **srv)
{
    struct tc *c = fx_connect(fx, NULL);
    RUN(fx, cond_connected, c, 5 * SEC, "CONNECTED");
    FX_ASSERT(fx, c->connected && !c->closed, "connect failed (reason %s)",
              netio_close_reason_str(c->reason));
    RUN(fx, cond_accepted, NULL, 5 * SEC, "ACCEPTED");
    *srv = accepted(fx);
    return c;
}

/* Every connection ends with exactly one CLOSED; nothing after it. */
static void fx_fini(struct fx *fx)
{
    for (int i = 0; i < fx->nconns; i++) tc_abort(&fx->conns[i]);
    int ok = fx_run(fx, cond_all_closed, NULL, 10 * SEC);
    fx_idle(fx, 20 * MS); /* anything that still comes is a violation (on_event) */
    FX_ASSERT(fx, ok, "not every connection got its CLOSED event");
    for (int i = 0; i < fx->nconns; i++) {
        const struct tc *c = &fx->conns[i];
        FX_ASSERT(fx, c->closed == 1, "side %d handle %d: %d CLOSED events", c->side, c->handle,
                  c->closed);
    }
    fx->be->close(fx);
}

/* ---- backend: kernel over 127.0.0.1 ------------------------------------- */

static uint64_t mono_ns(struct fx *fx)
{
    (void)fx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* A port on 127.0.0.1 the kernel hands out for port 0; fd >= 0 keeps it bound
 * (not listening) when keep is set. */
static int loopback_port(struct sockaddr_in *a, int keep, int *fd)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(*a);
    if (bind(s, (struct sockaddr *)a, sizeof(*a)) < 0 ||
        getsockname(s, (struct sockaddr *)a, &al) < 0) {
        close(s);
        return -1;
    }
    if (keep)
        *fd = s;
    else
        close(s);
    return 0;
}

/* kernel sockets through driver `drv` (kernel, io_uring) */
static void ksock_open(struct fx *fx, const struct fx_opts *o, const char *drv,
                       const char *const *opts)
{
    char err[256] = "";
    struct netio_config cfg = {.cpu = -1, .rx_buf = o->rx_buf,
                               .max_conns = o->max_conns ? o->max_conns : 64, .opts = opts};
    for (int i = 0; i < 2; i++) {
        fx->io[i] = netio_open(drv, &cfg, err, sizeof(err));
        FX_ASSERT(fx, fx->io[i], "netio_open(%s): %s", drv, err);
    }
    /* netio has no "which port did port 0 get": take one the kernel just gave out */
    fx->listener = -1;
    for (int tries = 0; tries < 50 && fx->listener < 0; tries++) {
        FX_ASSERT(fx, loopback_port(&fx->srv, 0, NULL) == 0, "bind 127.0.0.1:0: %s",
                  strerror(errno));
        errno = 0;
        fx->listener = netio_listen(fx->io[0], &fx->srv, &fx->lmark, err, sizeof(err));
        FX_ASSERT(fx, fx->listener >= 0 || errno == EADDRINUSE, "netio_listen: %s", err);
    }
    FX_ASSERT(fx, fx->listener >= 0, "no free loopback port");
    /* bound, not listening: a SYN to it gets RST */
    FX_ASSERT(fx, loopback_port(&fx->refused, 1, &fx->priv_fd) == 0, "bind: %s", strerror(errno));
}

static void kernel_open(struct fx *fx, const struct fx_opts *o)
{
    ksock_open(fx, o, "kernel", NULL);
}

static void kernel_close(struct fx *fx)
{
    for (int i = 0; i < 2; i++) netio_destroy(fx->io[i]);
    if (fx->priv_fd >= 0) close(fx->priv_fd);
}

static const struct backend kernel_backend = {
    .name = "kernel",
    .open = kernel_open,
    .now = mono_ns,
    .poll_timeout_us = 500,
    .close = kernel_close,
};

#ifdef HAVE_LIBURING
/* io_uring with few, small provided buffers (8 of 4 KiB), so the tests also
 * run it out of buffers and through its copy path, and with SEND_ZC for
 * sends of 16 KiB and more. */
static void uring_open(struct fx *fx, const struct fx_opts *o)
{
    static const char *const opts[] = {"bufs=8", "buf_size=4k", "zc_threshold=16k", NULL};
    ksock_open(fx, o, "io_uring", opts);
}

static const struct backend uring_backend = {
    .name = "io_uring",
    .open = uring_open,
    .now = mono_ns,
    .poll_timeout_us = 500,
    .close = kernel_close,
};
#define URING_ROW(X, test) X(conformance_io_uring, uring_backend, test)
#else
#define URING_ROW(X, test)
#endif

/* ---- backend: our stack over memlink -------------------------------------- */

static void ustack_open_pair(struct fx *fx, const struct fx_opts *o)
{
    char err[256] = "";
    struct stack_rig *r = calloc(1, sizeof(*r));
    FX_ASSERT(fx, r, "calloc");
    struct stack_rig_opts so;
    stack_rig_opts_init(&so, 2);
    so.start_ns = SEC;
    for (int i = 0; i < 2; i++) {
        so.stack[i].max_conns = (uint32_t)(o->max_conns ? o->max_conns : 64);
        if (o->rx_buf) so.stack[i].rcvbuf = (uint32_t)o->rx_buf;
        so.stack[i].time_wait_ns = 100 * MS;
    }
    FX_ASSERT(fx, stack_rig_open(r, &so, err, sizeof(err)) == 0, "stack_rig_open: %s", err);
    fx->priv = r;
    fx->io[0] = r->io[0];
    fx->io[1] = r->io[1];
    fx->srv = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(80)};
    fx->srv.sin_addr.s_addr = htonl(STACK_RIG_IP(0));
    fx->refused = fx->srv;
    fx->refused.sin_port = htons(81);
    fx->listener = netio_listen(fx->io[0], &fx->srv, &fx->lmark, err, sizeof(err));
    FX_ASSERT(fx, fx->listener >= 0, "netio_listen: %s", err);
}

static uint64_t ustack_now(struct fx *fx)
{
    return ((struct stack_rig *)fx->priv)->now_ns;
}

static void ustack_advance(struct fx *fx)
{
    ((struct stack_rig *)fx->priv)->now_ns += 100000; /* 100 us per round */
}

static void ustack_close_pair(struct fx *fx)
{
    struct stack_rig *r = fx->priv;
    uint32_t used = stack_rig_drain(r, 100);
    stack_rig_close(r);
    free(r);
    FX_ASSERT(fx, used == 0, "%u link buffers never given back", used);
}

static const struct backend ustack_backend = {
    .name = "ustack_memlink",
    .open = ustack_open_pair,
    .now = ustack_now,
    .advance = ustack_advance,
    .poll_timeout_us = 0,
    .close = ustack_close_pair,
};

#ifdef HAVE_AFXDP
/* ---- backend: our stack over AF_XDP, two namespaces joined by a veth ------- */

/* Each test process makes its own pair (Criterion runs two at once), named
 * after the branch that added it and the pid: netns i15-afxdp-PIDa/b, veth
 * i15xPIDa/b. The kernels keep the stacks' addresses, as on a DUT: the
 * refused port (81) is the kernel's, which answers RST. */
struct axfx {
    char ns[2][32], ifn[2][16];
    int made;
};
static struct axfx ax_env;

static int ax_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ax_sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void ax_teardown(void)
{
    if (!ax_env.made) return;
    for (int i = 0; i < 2; i++) ax_sh("ip netns del %s 2>/dev/null", ax_env.ns[i]);
    ax_env.made = 0;
}

/* Is an XDP program attached to side i's interface? */
static int ax_has_xdp(int i)
{
    return ax_sh("ip -n %s -o link show dev %s 2>/dev/null | grep -q prog/xdp", ax_env.ns[i],
                 ax_env.ifn[i]) == 0;
}

static void afxdp_open_pair(struct fx *fx, const struct fx_opts *o)
{
    if (geteuid() != 0)
        cr_skip_test("afxdp: needs root (network namespaces, XDP programs, AF_XDP sockets)");
    char err[256] = "";
    long pid = (long)getpid();
    for (int i = 0; i < 2; i++) {
        snprintf(ax_env.ns[i], sizeof(ax_env.ns[i]), "i15-afxdp-%ld%c", pid, 'a' + i);
        snprintf(ax_env.ifn[i], sizeof(ax_env.ifn[i]), "i15x%ld%c", pid, 'a' + i);
    }
    ax_env.made = 1;
    atexit(ax_teardown); /* also after a failed assertion */
    FX_ASSERT(fx, ax_sh("ip netns add %s && ip netns add %s", ax_env.ns[0], ax_env.ns[1]) == 0,
              "ip netns add");
    FX_ASSERT(fx,
              ax_sh("ip link add %s netns %s type veth peer name %s netns %s", ax_env.ifn[0],
                    ax_env.ns[0], ax_env.ifn[1], ax_env.ns[1]) == 0,
              "veth pair");
    for (int i = 0; i < 2; i++) /* a wire: full checksums, no offloads (as topo up) */
        FX_ASSERT(fx,
                  ax_sh("ip netns exec %s ethtool -K %s tso off gso off gro off tx off >/dev/null "
                        "&& ip -n %s addr add 198.18.98.%d/24 dev %s && ip -n %s link set %s up",
                        ax_env.ns[i], ax_env.ifn[i], ax_env.ns[i], i + 1, ax_env.ifn[i],
                        ax_env.ns[i], ax_env.ifn[i]) == 0,
                  "side %d: offloads, address, up", i);
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    FX_ASSERT(fx, home >= 0, "open /proc/self/ns/net: %s", strerror(errno));
    char rxb[32], tw[] = "time_wait_ms=100";
    const char *opts[] = {tw, NULL};
    snprintf(rxb, sizeof(rxb), "%zu", o->rx_buf);
    for (int i = 0; i < 2; i++) {
        char path[64], ip[32];
        snprintf(path, sizeof(path), "/run/netns/%s", ax_env.ns[i]);
        snprintf(ip, sizeof(ip), "198.18.98.%d/24", i + 1);
        int nsfd = open(path, O_RDONLY | O_CLOEXEC);
        FX_ASSERT(fx, nsfd >= 0 && setns(nsfd, CLONE_NEWNET) == 0, "enter %s: %s", path,
                  strerror(errno));
        close(nsfd);
        struct netio_config cfg = {.cpu = -1,
                                   .iface = ax_env.ifn[i],
                                   .ip = ip,
                                   .rx_buf = o->rx_buf,
                                   .max_conns = o->max_conns ? o->max_conns : 64,
                                   .opts = opts};
        fx->io[i] = netio_open("afxdp", &cfg, err, sizeof(err));
        FX_ASSERT(fx, fx->io[i], "netio_open(afxdp) on %s: %s", ax_env.ifn[i], err);
    }
    FX_ASSERT(fx, setns(home, CLONE_NEWNET) == 0, "back to our namespace: %s", strerror(errno));
    close(home);
    for (int i = 0; i < 2; i++)
        FX_ASSERT(fx, ax_has_xdp(i), "no XDP program on %s while open", ax_env.ifn[i]);
    fx->srv = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "198.18.98.1", &fx->srv.sin_addr);
    fx->refused = fx->srv;
    fx->refused.sin_port = htons(81);
    fx->listener = netio_listen(fx->io[0], &fx->srv, &fx->lmark, err, sizeof(err));
    FX_ASSERT(fx, fx->listener >= 0, "netio_listen: %s", err);
}

static void afxdp_close_pair(struct fx *fx)
{
    for (int i = 0; i < 2; i++) netio_destroy(fx->io[i]);
    /* A normal stop leaves no program behind (the veths still exist here). */
    for (int i = 0; i < 2; i++)
        FX_ASSERT(fx, !ax_has_xdp(i), "XDP program left on %s after close", ax_env.ifn[i]);
    ax_teardown();
}

static const struct backend afxdp_backend = {
    .name = "afxdp",
    .open = afxdp_open_pair,
    .now = mono_ns,
    .poll_timeout_us = 500,
    .close = afxdp_close_pair,
};
#define AFXDP_ROW(X, test) X(conformance_afxdp, afxdp_backend, test)
#else
#define AFXDP_ROW(X, test)
#endif

/* The table: one row per backend, X(suite name, fixture, test). A new driver
 * adds its row here and gets every test below. */
#define BACKENDS(X, test)                                                                          \
    X(conformance_kernel, kernel_backend, test)                                                    \
    URING_ROW(X, test)                                                                             \
    X(conformance_ustack_memlink, ustack_backend, test)                                            \
    AFXDP_ROW(X, test)

#define CONF_ONE(suite, backend, test)                                                             \
    Test(suite, test)                                                                              \
    {                                                                                              \
        case_##test(&backend);                                                                     \
    }
#define CONFORMANCE(test)                                                                          \
    static void case_##test(const struct backend *be);                                             \
    BACKENDS(CONF_ONE, test)                                                                       \
    static void case_##test(const struct backend *be)

/* ---- the tests ------------------------------------------------------------ */

/* Handshake: one CONNECTED (ctx and handle of netio_connect), one ACCEPTED
 * (listener's ctx and handle); no data events without data; quiet after. */
CONFORMANCE(accept_and_connect)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    struct tc *s, *c = fx_establish(&fx, &s);
    FX_ASSERT(&fx, c->connected == 1 && s->accepted == 1, "one CONNECTED, one ACCEPTED");
    FX_ASSERT(&fx, fx.nconns == 2, "%d connections tracked, want 2", fx.nconns);
    fx_idle(&fx, 10 * MS);
    FX_ASSERT(&fx, c->readables + s->readables + c->writable + s->writable == 0,
              "READABLE/WRITABLE without data or a short send");
    FX_ASSERT(&fx, fx_idle(&fx, 100 * MS) == 0, "events on an idle connection");
    fx_fini(&fx);
}

CONFORMANCE(idle_listener_no_events)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    FX_ASSERT(&fx, fx_idle(&fx, 200 * MS) == 0, "events with nothing but a listener");
    fx_fini(&fx);
}

/* 256 KiB each way at once, every byte checked where it stands. */
CONFORMANCE(echo_bytes_exact)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    fx.tmpl.tx_goal = 256 * 1024; /* the server's stream */
    struct tc *s, *c = fx_establish(&fx, &s);
    c->tx_goal = 256 * 1024;
    uint64_t end = fx.be->now(&fx) + 10 * SEC;
    while ((c->consumed < 256 * 1024 || s->consumed < 256 * 1024) && fx.be->now(&fx) < end)
        fx_round(&fx);
    FX_ASSERT(&fx, c->consumed == 256 * 1024 && s->consumed == 256 * 1024,
              "client got %llu, server %llu of 262144", (unsigned long long)c->consumed,
              (unsigned long long)s->consumed);
    fx_fini(&fx);
}

/* Unconsumed bytes are presented again: after a partial consume at the next
 * poll even with nothing new, with new data appended on later ones. */
CONFORMANCE(readable_presents_unconsumed)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    fx.tmpl.hold = 1;
    struct tc *s, *c = fx_establish(&fx, &s);
    c->tx_goal = 6;
    s->want = 6;
    RUN(&fx, cond_shown, s, 5 * SEC, "6 bytes shown");
    FX_ASSERT(&fx, s->last_len == 6, "READABLE len %zu, want 6", s->last_len);
    fx_idle(&fx, 20 * MS); /* nothing consumed, nothing new: may or may not be presented again */
    FX_ASSERT(&fx, s->last_len == 6, "len %zu while holding", s->last_len);
    int r0 = s->readables;
    tc_consume(s, 3);
    fx_round(&fx); /* netio.h: "the next netio_poll presents them" */
    FX_ASSERT(&fx, s->readables > r0, "3 bytes left after consume(3) were not presented again");
    FX_ASSERT(&fx, s->last_len == 3, "presented %zu bytes after consume(3) of 6", s->last_len);
    c->tx_goal = 9;
    s->want = 9;
    RUN(&fx, cond_shown, s, 5 * SEC, "3 more bytes shown");
    FX_ASSERT(&fx, s->last_len == 6, "remainder 3 + new 3: presented %zu", s->last_len);
    tc_consume(s, 6);
    int r1 = s->readables;
    fx_idle(&fx, 50 * MS);
    FX_ASSERT(&fx, s->readables == r1, "READABLE after everything was consumed, nothing new");
    fx_fini(&fx);
}

/* netio_send before CONNECTED: whatever it returns, a short count means a
 * WRITABLE follows; the whole stream arrives. */
CONFORMANCE(send_before_connected_writable)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    struct tc *c = fx_connect(&fx, NULL);
    size_t got;
    const uint8_t *p = pattern_at(PAT_OFF(1), 1000, &got);
    ssize_t n = netio_send(fx.io[1], c->handle, p, got);
    FX_ASSERT(&fx, n >= 0 && (size_t)n <= got, "netio_send before CONNECTED returned %zd", n);
    c->tx_off = (uint64_t)n;
    c->tx_goal = got;
    if ((size_t)n < got) c->wait_wr = 1;
    RUN(&fx, cond_connected, c, 5 * SEC, "CONNECTED");
    RUN(&fx, cond_accepted, NULL, 5 * SEC, "ACCEPTED");
    struct tc *s = accepted(&fx);
    s->want = got;
    if ((size_t)n < got) {
        uint64_t end = fx.be->now(&fx) + 5 * SEC;
        while (!c->writable && fx.be->now(&fx) < end) fx_round(&fx);
        FX_ASSERT(&fx, c->writable, "no WRITABLE after a short send (%zd of %zu) before CONNECTED",
                  n, got);
    }
    RUN(&fx, cond_shown, s, 5 * SEC, "the stream");
    FX_ASSERT(&fx, s->consumed == got, "server got %llu of %zu", (unsigned long long)s->consumed,
              got);
    fx_fini(&fx);
}

/* The receiver holds: what it is shown stops short of rx_buf or at it, the
 * sender's netio_send goes short; once the receiver consumes, WRITABLE comes and the
 * rest of the stream arrives byte-exact. */
#define RXB (16u * 1024u)
CONFORMANCE(send_full_then_writable)
{
    struct fx fx;
    struct fx_opts o = {.rx_buf = RXB};
    fx_open(&fx, be, &o);
    fx.tmpl.hold = 1;
    struct tc *s, *c = fx_establish(&fx, &s);
    c->tx_goal = 256ull * 1024 * 1024; /* more than any buffer on the way */
    RUN(&fx, cond_tx_stalled, c, 10 * SEC, "a short netio_send");
    /* netio.h: the driver stops reading when the buffer is full; how full
     * "full" gets (a last sub-MSS gap, say) is the transport's business */
    fx_idle(&fx, 100 * MS);
    size_t held = s->last_len;
    fx_idle(&fx, 50 * MS);
    FX_ASSERT(&fx, held > 0 && held <= RXB, "holding receiver shows %zu (rx_buf %u)", held, RXB);
    FX_ASSERT(&fx, s->last_len == held && s->consumed == 0, "receiver moved while holding");
    int wr0 = c->writable;
    /* consume from here on; send a bounded rest */
    s->hold = 0;
    c->tx_goal = c->tx_off + 512 * 1024;
    tc_consume(s, s->shown - s->consumed);
    uint64_t end = fx.be->now(&fx) + 20 * SEC;
    while (s->consumed < c->tx_goal && !s->closed && fx.be->now(&fx) < end) fx_round(&fx);
    FX_ASSERT(&fx, c->writable > wr0, "no WRITABLE after the short send");
    FX_ASSERT(&fx, s->consumed == c->tx_goal, "got %llu of %llu", (unsigned long long)s->consumed,
              (unsigned long long)c->tx_goal);
    fx_fini(&fx);
}

/* One side sends and closes: it gets one CLOSED LOCAL (closing twice changes
 * nothing); the other gets every byte, eof, and after its own close one
 * CLOSED (PEER_FIN: orderly shutdown by the peer; LOCAL also fits the
 * contract's words, it called netio_close). */
static void close_by(const struct backend *be, int closer)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    struct tc *s, *c = fx_establish(&fx, &s);
    struct tc *a = closer ? c : s, *b = closer ? s : c;
    a->tx_goal = 3000;
    a->close_after_tx = 1;
    b->close_on_eof = 1;
    RUN(&fx, cond_closed, a, 5 * SEC, "the closer's CLOSED");
    FX_ASSERT(&fx, a->reason == NETIO_CLOSE_LOCAL, "closer: reason %s, want local",
              netio_close_reason_str(a->reason));
    netio_close(fx.io[a->side], a->handle); /* again, after CLOSED: no second event */
    RUN(&fx, cond_closed, b, 5 * SEC, "the peer's CLOSED");
    FX_ASSERT(&fx, b->eof && b->consumed == 3000, "peer: eof %d, %llu of 3000 bytes", b->eof,
              (unsigned long long)b->consumed);
    FX_ASSERT(&fx, b->reason == NETIO_CLOSE_PEER_FIN || b->reason == NETIO_CLOSE_LOCAL,
              "peer: reason %s after eof and its own close", netio_close_reason_str(b->reason));
    fx_fini(&fx);
}

CONFORMANCE(close_by_client)
{
    close_by(be, 1);
}

CONFORMANCE(close_by_server)
{
    close_by(be, 0);
}

/* Closed before the handshake completed: exactly one CLOSED, LOCAL. */
CONFORMANCE(close_before_connected)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    struct tc *c = fx_connect(&fx, NULL);
    tc_close(c);
    RUN(&fx, cond_closed, c, 5 * SEC, "CLOSED");
    FX_ASSERT(&fx, c->reason == NETIO_CLOSE_LOCAL, "reason %s", netio_close_reason_str(c->reason));
    fx_idle(&fx, 20 * MS);
    fx_fini(&fx); /* an ACCEPTED server side, if any, must end too */
}

/* netio_abort: CLOSED LOCAL here, CLOSED RESET at the peer. */
CONFORMANCE(abort_resets_peer)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    fx.tmpl.abort_on_data = 1;
    struct tc *s, *c = fx_establish(&fx, &s);
    c->tx_goal = 10;
    RUN(&fx, cond_closed, s, 5 * SEC, "the aborter's CLOSED");
    FX_ASSERT(&fx, s->reason == NETIO_CLOSE_LOCAL, "aborter: reason %s",
              netio_close_reason_str(s->reason));
    RUN(&fx, cond_closed, c, 5 * SEC, "the peer's CLOSED");
    FX_ASSERT(&fx, c->reason == NETIO_CLOSE_RESET, "peer: reason %s, want reset",
              netio_close_reason_str(c->reason));
    fx_fini(&fx);
}

/* The peer resets while we are sending: one CLOSED RESET, nothing after. */
CONFORMANCE(rst_while_peer_sends)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    struct tc *s, *c = fx_establish(&fx, &s);
    c->tx_goal = 64ull * 1024 * 1024;
    uint64_t end = fx.be->now(&fx) + 5 * SEC;
    while (s->consumed < 64 * 1024 && fx.be->now(&fx) < end) fx_round(&fx);
    FX_ASSERT(&fx, s->consumed >= 64 * 1024, "the stream did not start");
    tc_abort(s);
    RUN(&fx, cond_closed, c, 5 * SEC, "the sender's CLOSED");
    FX_ASSERT(&fx, c->reason == NETIO_CLOSE_RESET, "sender: reason %s, want reset",
              netio_close_reason_str(c->reason));
    fx_fini(&fx);
}

/* Nothing listens: one CLOSED CONNECT_FAILED, no CONNECTED. */
CONFORMANCE(connect_refused)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    struct tc *c = fx_connect(&fx, &fx.refused);
    RUN(&fx, cond_closed, c, 5 * SEC, "CLOSED");
    FX_ASSERT(&fx, !c->connected, "CONNECTED to a port nothing listens on");
    FX_ASSERT(&fx, c->reason == NETIO_CLOSE_CONNECT_FAILED, "reason %s, want connect_failed",
              netio_close_reason_str(c->reason));
    FX_ASSERT(&fx, accepted(&fx) == NULL, "ACCEPTED on the listener for another port");
    fx_fini(&fx);
}

/* 24 connections, each side closing half of them first, 3 events per poll:
 * every handle exactly one CLOSED (fx_fini), none reused while live. */
#define NMANY 24
static int cond_many(struct fx *fx, void *a)
{
    (void)a;
    int n = 0;
    for (int i = 0; i < fx->nconns; i++) n += fx->conns[i].accepted;
    return n == NMANY && cond_all_closed(fx, NULL);
}

CONFORMANCE(many_connections_small_batches)
{
    struct fx fx;
    fx_open(&fx, be, NULL);
    fx.max_ev = 3;
    fx.tmpl.close_on_eof = 1;
    struct tc *cl[NMANY];
    for (int i = 0; i < NMANY; i++) {
        cl[i] = fx_connect(&fx, NULL);
        cl[i]->tx_goal = 100;
        cl[i]->close_on_eof = 1;
        if (i % 2) cl[i]->close_after_tx = 1; /* odd: the client closes first */
    }
    /* the server closes once it got the client's 100 bytes: first for the
     * even ones, at about the same time as the client for the odd ones */
    uint64_t end = fx.be->now(&fx) + 10 * SEC;
    while (!cond_many(&fx, NULL) && fx.be->now(&fx) < end) {
        fx_round(&fx);
        for (int i = 0; i < fx.nconns; i++) {
            struct tc *s = &fx.conns[i];
            if (s->accepted && s->consumed >= 100) tc_close(s);
        }
    }
    FX_ASSERT(&fx, cond_many(&fx, NULL), "not all %d connections accepted and closed", NMANY);
    for (int i = 0; i < fx.nconns; i++) {
        const struct tc *t = &fx.conns[i];
        FX_ASSERT(&fx, t->reason == NETIO_CLOSE_LOCAL || t->reason == NETIO_CLOSE_PEER_FIN,
                  "side %d handle %d: reason %s", t->side, t->handle,
                  netio_close_reason_str(t->reason));
    }
    fx_fini(&fx);
}
