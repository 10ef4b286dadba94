/*
 * test_server.c — the HTTP server (workloads/server.c) over the kernel netio
 * driver on 127.0.0.1, driven by a plain blocking-socket client.
 * The server runs in a pthread (server_run), the test thread is the client;
 * every read has a 5 s SO_RCVTIMEO so a hang fails instead of blocking.
 */
#include "workloads/pattern.h"
#include "workloads/server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- server fixture --------------------------------------------------------- */

struct fx {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, done, rc;
    char err[256];
    struct srv_config cfg;
    struct srv_stats st;
    volatile sig_atomic_t stop;
    uint16_t port;
};

static void on_ready(void *arg)
{
    struct fx *f = arg;
    pthread_mutex_lock(&f->mu);
    f->ready = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* ---- trickle: the kernel driver with sends cut short ------------------------- */

/* A netio wrapper whose sends take at most cap bytes. A send it cuts short
 * leaves the connection blocked, as a full socket buffer would, and the
 * wrapper reports it WRITABLE at the next poll. This drives the server's
 * partial-send paths with bytes the client can check. */
#define TRICKLE_MAX 256
struct trickle {
    struct netio io;
    struct netio_ops ops;
    struct netio *inner;
    size_t cap;
    void *ctx[TRICKLE_MAX];
    int blocked[TRICKLE_MAX];
    int nblocked;
    uint8_t closed[TRICKLE_MAX]; /* CLOSED reported (until the handle is accepted again) */
    uint64_t cut; /* sends it cut short */
};

static size_t trickle_cap;        /* 0: plain kernel driver (set before fx_start) */
static uint64_t trickle_cut_last; /* the last trickle's cut count, after the server ended */

static struct netio *T_IN(struct netio *io) { return ((struct trickle *)io)->inner; }

static int tr_listen(struct netio *io, const struct sockaddr_in *a, void *ctx, char *err,
                     size_t errlen)
{
    return netio_listen(T_IN(io), a, ctx, err, errlen);
}
static int tr_connect(struct netio *io, const struct sockaddr_in *a, void *ctx, char *err,
                      size_t errlen)
{
    return netio_connect(T_IN(io), a, ctx, err, errlen);
}
static void tr_flush(struct netio *io) { netio_flush(T_IN(io)); }
static void tr_consume(struct netio *io, int conn, size_t n) { netio_consume(T_IN(io), conn, n); }
/* No WRITABLE for a handle the workload let go of or that was reported CLOSED. */
static void tr_unblock(struct trickle *t, int conn)
{
    for (int j = 0; j < t->nblocked; j++)
        if (t->blocked[j] == conn) t->blocked[j--] = t->blocked[--t->nblocked];
}
static void tr_close(struct netio *io, int conn)
{
    tr_unblock((struct trickle *)io, conn);
    netio_close(T_IN(io), conn);
}
static void tr_abort(struct netio *io, int conn)
{
    tr_unblock((struct trickle *)io, conn);
    netio_abort(T_IN(io), conn);
}
static int tr_counters(struct netio *io, struct netio_counter *out, int max)
{
    return netio_counters(T_IN(io), out, max);
}
static void tr_set_ctx(struct netio *io, int conn, void *ctx)
{
    struct trickle *t = (struct trickle *)io;
    if (conn >= 0 && conn < TRICKLE_MAX) t->ctx[conn] = ctx;
    netio_set_ctx(t->inner, conn, ctx);
}
static ssize_t tr_send(struct netio *io, int conn, const void *buf, size_t len)
{
    struct trickle *t = (struct trickle *)io;
    if (conn < 0 || conn >= TRICKLE_MAX) return netio_send(t->inner, conn, buf, len);
    size_t want = len < t->cap ? len : t->cap;
    ssize_t n = netio_send(t->inner, conn, buf, want);
    if (n >= 0 && (size_t)n == want && want < len) {
        t->cut++;
        int i = 0;
        while (i < t->nblocked && t->blocked[i] != conn) i++;
        if (i == t->nblocked) t->blocked[t->nblocked++] = conn;
    }
    return n;
}
static int tr_poll(struct netio *io, struct netio_event *evs, int max, int timeout_us)
{
    struct trickle *t = (struct trickle *)io;
    int n = 0;
    while (t->nblocked && n < max) {
        int h = t->blocked[--t->nblocked];
        if (t->closed[h]) continue; /* a send cut before its CLOSED in the same batch */
        evs[n++] = (struct netio_event){
            .type = NETIO_EV_WRITABLE, .conn = h, .ctx = t->ctx[h], .listener = -1};
    }
    if (n) return n;
    n = netio_poll(t->inner, evs, max, timeout_us);
    for (int i = 0; i < n; i++) {
        int h = evs[i].conn;
        if (h < 0 || h >= TRICKLE_MAX) continue; /* never cut: never blocked here */
        if (evs[i].type == NETIO_EV_CLOSED) t->closed[h] = 1;
        else if (evs[i].type == NETIO_EV_ACCEPTED) t->closed[h] = 0;
    }
    return n;
}
static void tr_destroy(struct netio *io)
{
    struct trickle *t = (struct trickle *)io;
    trickle_cut_last = t->cut;
    netio_destroy(t->inner);
    free(t);
}

static struct netio *trickle_wrap(struct netio *inner, size_t cap)
{
    struct trickle *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->inner = inner;
    t->cap = cap;
    t->ops = *inner->ops;
    t->ops.destroy = tr_destroy;
    t->ops.listen = tr_listen;
    t->ops.connect = tr_connect;
    t->ops.poll = tr_poll;
    t->ops.flush = inner->ops->flush ? tr_flush : NULL;
    t->ops.send = tr_send;
    t->ops.consume = tr_consume;
    t->ops.set_ctx = tr_set_ctx;
    t->ops.close = tr_close;
    t->ops.abort = tr_abort;
    t->ops.counters = tr_counters;
    t->io.ops = &t->ops;
    return &t->io;
}

static void *srv_thread(void *arg)
{
    struct fx *f = arg;
    struct netio_config nc = {.cpu = -1, .rx_buf = 64 * 1024};
    struct netio *io = netio_open("kernel", &nc, f->err, sizeof(f->err));
    if (io && trickle_cap) {
        struct netio *w = trickle_wrap(io, trickle_cap);
        if (!w) netio_destroy(io);
        io = w;
    }
    int rc = io ? server_run(io, &f->cfg, &f->st, f->err, sizeof(f->err)) : -2;
    netio_destroy(io);
    pthread_mutex_lock(&f->mu);
    f->rc = rc;
    f->done = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Tweak cfg after the defaults; NULL for none. */
typedef void (*cfg_fn)(struct srv_config *c, void *arg);

static void fx_start(struct fx *f, cfg_fn tweak, void *arg)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    /* distinct per process, so tests running in parallel do not share a port
     * (the kernel driver sets SO_REUSEPORT) */
    unsigned base = (unsigned)getpid() * 131u;
    for (unsigned attempt = 0; attempt < 20; attempt++) {
        f->ready = f->done = 0;
        f->port = (uint16_t)(20000 + (base + attempt * 977u) % 40000u);
        srv_config_defaults(&f->cfg);
        f->cfg.listen.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        f->cfg.listen.sin_port = htons(f->port);
        f->cfg.max_conns = 64;
        f->cfg.stop = &f->stop;
        f->cfg.on_ready = on_ready;
        f->cfg.arg = f;
        if (tweak) tweak(&f->cfg, arg);
        cr_assert_eq(pthread_create(&f->th, NULL, srv_thread, f), 0);
        pthread_mutex_lock(&f->mu);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 10;
        while (!f->ready && !f->done)
            if (pthread_cond_timedwait(&f->cv, &f->mu, &dl) == ETIMEDOUT) break;
        int ready = f->ready, done = f->done, rc = f->rc;
        pthread_mutex_unlock(&f->mu);
        if (ready) return;
        cr_assert(done, "server neither ready nor failed");
        pthread_join(f->th, NULL);
        cr_assert_neq(rc, -2, "netio_open(kernel): %s", f->err);
        /* listen failed (port in use?): try another port */
    }
    cr_assert_fail("server never listened: %s", f->err);
}

/* Stops the server and checks that server_run returned 0. */
static void fx_stop(struct fx *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    cr_assert_eq(f->rc, 0, "server_run: %s", f->err);
}

/* ---- client ----------------------------------------------------------------- */

struct client {
    int fd;
    uint8_t buf[64 * 1024];
    size_t off, len;
    uint64_t bytes_read;
    uint64_t bytes_sent;
};

struct resp {
    int status;
    char head[16384]; /* header block, NUL-terminated */
    int64_t content_length;
    uint8_t *body; /* first store_max body bytes: small, or malloc'd (resp_free) */
    uint8_t small[4096];
    size_t stored;
    uint64_t body_len;         /* body bytes read */
    uint64_t pattern_mismatch; /* body bytes checked against the pattern that differ (0 = all ok) */
};

static struct client *cl_open(const struct fx *f)
{
    struct client *c = calloc(1, sizeof(*c));
    cr_assert(c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(c->fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(f->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s",
                 strerror(errno));
    return c;
}

static void cl_close(struct client *c)
{
    close(c->fd);
    free(c);
}

static void cl_send(struct client *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        cr_assert(w > 0, "send: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
        c->bytes_sent += (uint64_t)w;
    }
}

static void cl_sends(struct client *c, const char *s)
{
    cl_send(c, s, strlen(s));
}

/* Reads more into the buffer: > 0 bytes, 0 EOF, -1 error/timeout. */
static ssize_t cl_fill(struct client *c)
{
    if (c->off == c->len) c->off = c->len = 0;
    if (c->len == sizeof(c->buf)) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n > 0) {
        c->len += (size_t)n;
        c->bytes_read += (uint64_t)n;
    }
    return n;
}

/* Header value (case-insensitive name) into out; 0 found, -1 absent. */
static int hdr_get(const struct resp *r, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2] != '\r') {
        p += 2;
        const char *eol = strstr(p, "\r\n");
        if (!eol) break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            if (vl >= outlen) vl = outlen - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 0;
        }
        p = eol;
    }
    return -1;
}

static int hdr_is(const struct resp *r, const char *name, const char *value)
{
    char v[256];
    return hdr_get(r, name, v, sizeof(v)) == 0 && strcasecmp(v, value) == 0;
}

/* Reads one full response. head: the request was HEAD (no body). The body is
 * compared with the pattern as it streams in and its first store_max bytes
 * are kept. Returns 0, or -1 on EOF/error/timeout before the response ended. */
static int cl_response(struct client *c, struct resp *r, int head, size_t store_max)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    size_t hlen;
    for (;;) {
        const uint8_t *p = memmem(c->buf + c->off, c->len - c->off, "\r\n\r\n", 4);
        if (p) {
            hlen = (size_t)(p - (c->buf + c->off)) + 4;
            break;
        }
        if (c->len - c->off >= sizeof(r->head) - 1) return -1;
        if (cl_fill(c) <= 0) return -1;
    }
    cr_assert_lt(hlen, sizeof(r->head));
    memcpy(r->head, c->buf + c->off, hlen);
    r->head[hlen] = '\0';
    c->off += hlen;
    int minor;
    if (sscanf(r->head, "HTTP/1.%d %d ", &minor, &r->status) != 2) return -1;
    char v[64];
    if (hdr_get(r, "Content-Length", v, sizeof(v)) == 0) r->content_length = strtoll(v, NULL, 10);
    if (head || r->content_length <= 0) return 0;
    uint64_t want = (uint64_t)r->content_length;
    if (store_max > sizeof(r->small)) {
        r->body = malloc(store_max);
        cr_assert(r->body);
    } else {
        r->body = r->small;
    }
    while (r->body_len < want) {
        if (c->off == c->len && cl_fill(c) <= 0) return -1;
        size_t n = c->len - c->off;
        if (n > want - r->body_len) n = (size_t)(want - r->body_len);
        const uint8_t *p = c->buf + c->off;
        size_t ok = pattern_check(p, r->body_len, n);
        if (ok != n) r->pattern_mismatch++;
        if (r->stored < store_max) {
            size_t k = n < store_max - r->stored ? n : store_max - r->stored;
            memcpy(r->body + r->stored, p, k);
            r->stored += k;
        }
        r->body_len += n;
        c->off += n;
    }
    return 0;
}

static void resp_free(struct resp *r)
{
    if (r->body != r->small) free(r->body);
    r->body = NULL;
}

/* 1 when the server closed the connection (EOF or reset) and nothing else came. */
static int cl_closed(struct client *c)
{
    if (c->off != c->len) return 0;
    char b[256];
    ssize_t n = recv(c->fd, b, sizeof(b), 0);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

/* GET path and check a 200 pattern body of the given size. */
static void get_bytes(struct client *c, const char *path, uint64_t size)
{
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    cl_sends(c, req);
    struct resp r;
    cr_assert_eq(cl_response(c, &r, 0, 0), 0, "no response to %s", path);
    cr_assert_eq(r.status, 200, "%s: status %d", path, r.status);
    cr_assert_eq(r.content_length, (int64_t)size);
    cr_assert_eq(r.body_len, size);
    cr_assert_eq(r.pattern_mismatch, 0, "%s: body differs from the pattern", path);
}

/* Sends a raw request and reads the response (HEAD-style when head). */
static struct resp *ask(struct client *c, const char *raw, int head)
{
    static struct resp r; /* one at a time per test process */
    cl_sends(c, raw);
    cr_assert_eq(cl_response(c, &r, head, 4096), 0, "no response to %.40s", raw);
    return &r;
}

static void set_idle_200ms(struct srv_config *c, void *arg)
{
    c->idle_timeout_ns = 200 * 1000000ull;
}

static void set_docroot(struct srv_config *c, void *arg)
{
    c->docroot = arg;
}

static void set_one_conn(struct srv_config *c, void *arg)
{
    c->max_conns = 1;
}

/* ---- tests ------------------------------------------------------------------ */

Test(server, defaults)
{
    struct srv_config c;
    srv_config_defaults(&c);
    cr_expect_eq(c.idle_timeout_ns, 60ull * 1000000000ull);
    cr_expect_eq(c.max_header, 8 * 1024);
    cr_expect_eq(c.max_body, 1024 * 1024);
    cr_expect_eq(c.max_conns, 65536);
    cr_expect_null(c.docroot);
    cr_expect_eq(c.listen.sin_family, AF_INET);
}

Test(server, get_bytes_64_exact_body)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    struct resp *r = ask(c, "GET /bytes/64 HTTP/1.1\r\nHost: t\r\n\r\n", 0);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->content_length, 64);
    cr_assert(hdr_is(r, "Content-Type", "application/octet-stream"));
    cr_assert(hdr_is(r, "Server", "bypassbench"));
    cr_assert(hdr_is(r, "Connection", "keep-alive"));
    uint8_t want[64];
    pattern_fill(want, 0, sizeof(want));
    cr_assert_eq(r->stored, 64);
    cr_assert_arr_eq(r->body, want, 64);
    resp_free(r);
    cl_close(c);
    fx_stop(&f);
}

Test(server, bytes_1k_and_64m_match_pattern)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    get_bytes(c, "/bytes/1k", 1024);
    get_bytes(c, "/bytes/64m", 64ull << 20);
    get_bytes(c, "/bytes/0", 0);
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.body_bytes_out, 1024 + (64ull << 20));
}

Test(server, head_has_headers_but_no_body)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    struct resp *r = ask(c, "HEAD /bytes/1k HTTP/1.1\r\nHost: t\r\n\r\n", 1);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->content_length, 1024);
    /* if a body had been sent, it would be read as the next response's start */
    get_bytes(c, "/bytes/64", 64);
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.body_bytes_out, 64);
}

Test(server, keep_alive_100_requests_one_connection)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    for (int i = 0; i < 100; i++)
        get_bytes(c, i % 2 ? "/bytes/64" : "/bytes/3000", i % 2 ? 64 : 3000);
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.conns_accepted, 1);
    cr_expect_eq(f.st.requests_parsed, 100);
    cr_expect_eq(f.st.responses[2], 100);
}

static void check_pipelined(const char *const *paths, const uint64_t *sizes, int n)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    char req[8192];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(req + len, sizeof(req) - len, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n",
                                paths[i]);
    cl_send(c, req, len); /* one write */
    for (int i = 0; i < n; i++) {
        struct resp r;
        cr_assert_eq(cl_response(c, &r, 0, 0), 0, "no response %d (%s)", i, paths[i]);
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.content_length, (int64_t)sizes[i], "response %d out of order", i);
        cr_assert_eq(r.pattern_mismatch, 0);
    }
    /* the connection is still usable */
    get_bytes(c, "/bytes/7", 7);
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.requests_parsed, (uint64_t)n + 1);
}

Test(server, pipelined_three_in_order)
{
    const char *const paths[] = {"/bytes/100", "/bytes/64k", "/bytes/5"};
    const uint64_t sizes[] = {100, 65536, 5};
    check_pipelined(paths, sizes, 3);
}

/* The first response is far larger than the socket buffers: it stalls, and
 * the two requests behind it must still be answered once it drains. */
Test(server, pipelined_behind_a_stalled_large_response)
{
    const char *const paths[] = {"/bytes/32m", "/bytes/64", "/bytes/1k"};
    const uint64_t sizes[] = {32ull << 20, 64, 1024};
    check_pipelined(paths, sizes, 3);
}

/* 100 pipelined requests behind a stalled response: more than the server's
 * request ring (32) holds, so the rest wait unparsed in the driver's buffer
 * and must be presented again after netio_consume (netio.h), even when no new
 * data arrives. */
Test(server, pipelined_deeper_than_ring_behind_stall)
{
    const char *paths[101];
    uint64_t sizes[101];
    paths[0] = "/bytes/32m";
    sizes[0] = 32ull << 20;
    for (int i = 1; i < 101; i++) {
        paths[i] = i % 2 ? "/bytes/1" : "/bytes/2";
        sizes[i] = i % 2 ? 1 : 2;
    }
    check_pipelined(paths, sizes, 101);
}

Test(server, http10_closes_after_response)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    struct resp *r = ask(c, "GET /bytes/64 HTTP/1.0\r\n\r\n", 0);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->body_len, 64);
    cr_assert(hdr_is(r, "Connection", "close"));
    resp_free(r);
    cr_assert(cl_closed(c), "HTTP/1.0 connection left open");
    cl_close(c);
    /* HTTP/1.0 with keep-alive stays open */
    c = cl_open(&f);
    r = ask(c, "GET /bytes/64 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0);
    cr_assert_eq(r->status, 200);
    cr_assert(hdr_is(r, "Connection", "keep-alive"));
    resp_free(r);
    get_bytes(c, "/bytes/10", 10);
    cl_close(c);
    fx_stop(&f);
}

/* The exact header block of a 200 /bytes/N response. */
static void expect_bytes_head(const struct resp *r, uint64_t n, int close)
{
    char want[256];
    snprintf(want, sizeof(want),
             "HTTP/1.1 200 OK\r\nServer: bypassbench\r\nContent-Type: application/octet-stream"
             "\r\nContent-Length: %llu\r\nConnection: %s\r\n\r\n",
             (unsigned long long)n, close ? "close" : "keep-alive");
    cr_assert_str_eq(r->head, want);
}

/* /bytes/N responses are reused from a cache while N and the Connection
 * header stay the same: every change of N, HEAD/GET, query, a body too large
 * to cache and Connection: close must still give the exact bytes. */
static void no_cache(struct srv_config *c, void *arg)
{
    c->no_cache = *(const int *)arg;
}

static void bytes_sequence(int off)
{
    static const struct {
        const char *req;
        uint64_t n;
        int head, close;
    } seq[] = {
        {"GET /bytes/64 HTTP/1.1\r\n\r\n", 64, 0, 0},
        {"GET /bytes/64 HTTP/1.1\r\nHost: t\r\n\r\n", 64, 0, 0},
        {"HEAD /bytes/64 HTTP/1.1\r\n\r\n", 64, 1, 0},
        {"GET /bytes/64?x=1 HTTP/1.1\r\n\r\n", 64, 0, 0},
        {"GET /bytes/65 HTTP/1.1\r\n\r\n", 65, 0, 0},
        {"GET /bytes/1k HTTP/1.1\r\n\r\n", 1024, 0, 0},
        {"GET /bytes/1024 HTTP/1.1\r\n\r\n", 1024, 0, 0},
        {"GET /bytes/3000 HTTP/1.1\r\n\r\n", 3000, 0, 0},
        {"GET /bytes/3000 HTTP/1.1\r\n\r\n", 3000, 0, 0},
        {"HEAD /bytes/3000 HTTP/1.1\r\n\r\n", 3000, 1, 0},
        {"GET /bytes/0 HTTP/1.1\r\n\r\n", 0, 0, 0},
        {"GET /bytes/0000000000000000007 HTTP/1.1\r\n\r\n", 7, 0, 0},
        {"GET /bytes/64 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 64, 0, 0},
        {"GET /bytes/64 HTTP/1.1\r\nConnection: close\r\n\r\n", 64, 0, 1},
    };
    struct fx f;
    pattern_init();
    fx_start(&f, no_cache, &off);
    for (int round = 0; round < 2; round++) { /* the second round starts with a warm cache */
        struct client *c = cl_open(&f);
        for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
            struct resp *r = ask(c, seq[i].req, seq[i].head);
            cr_assert_eq(r->status, 200, "%s", seq[i].req);
            expect_bytes_head(r, seq[i].n, seq[i].close);
            if (!seq[i].head) {
                cr_assert_eq(r->body_len, seq[i].n, "%s", seq[i].req);
                cr_assert_eq(r->pattern_mismatch, 0, "%s", seq[i].req);
            }
            resp_free(r);
        }
        cr_assert(cl_closed(c));
        cl_close(c);
    }
    fx_stop(&f);
}

Test(server, bytes_responses_exact_across_cache_changes)
{
    bytes_sequence(0);
}

/* With the cache off (serve --no-cache) every response is built afresh:
 * the same exact bytes. */
Test(server, bytes_responses_exact_with_cache_off)
{
    bytes_sequence(1);
}

/* Every send cut to a few bytes: responses sent straight from the cache, from
 * out, and streamed from the pattern all resume where the cut left them, and
 * the byte counts stay exact. Caps below, at and above a header's length. */
Test(server, short_sends_resume_exactly)
{
    static const size_t caps[] = {1, 7, 100, 1500};
    static const uint64_t sizes[] = {64, 64, 1000, 3000, 64, 0, 100 * 1024, 64};
    pattern_init();
    for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
        struct fx f;
        trickle_cap = caps[k];
        fx_start(&f, NULL, NULL);
        struct client *c = cl_open(&f);
        uint64_t body = 0;
        for (int round = 0; round < 2; round++) {
            for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                char path[64];
                snprintf(path, sizeof(path), "/bytes/%llu", (unsigned long long)sizes[i]);
                get_bytes(c, path, sizes[i]);
                body += sizes[i];
            }
        }
        /* pipelined: the second and third are built into out behind the first */
        cl_sends(c, "GET /bytes/64 HTTP/1.1\r\n\r\nGET /bytes/64 HTTP/1.1\r\n\r\n"
                    "GET /bytes/500 HTTP/1.1\r\n\r\n");
        static const uint64_t piped[] = {64, 64, 500};
        for (int i = 0; i < 3; i++) {
            struct resp r;
            cr_assert_eq(cl_response(c, &r, 0, 0), 0, "cap %zu: pipelined %d", caps[k], i);
            cr_assert_eq(r.status, 200);
            cr_assert_eq(r.body_len, piped[i], "cap %zu: pipelined %d", caps[k], i);
            cr_assert_eq(r.pattern_mismatch, 0, "cap %zu: pipelined %d", caps[k], i);
            body += piped[i];
        }
        uint64_t got = c->bytes_read;
        cl_close(c);
        fx_stop(&f);
        trickle_cap = 0;
        cr_expect_gt(trickle_cut_last, 0, "cap %zu: no send was cut short", caps[k]);
        cr_expect_eq(f.st.responses[2], 19, "cap %zu", caps[k]);
        cr_expect_eq(f.st.bytes_out, got, "cap %zu: bytes_out %llu, client read %llu", caps[k],
                     (unsigned long long)f.st.bytes_out, (unsigned long long)got);
        cr_expect_eq(f.st.body_bytes_out, body, "cap %zu: body_bytes_out %llu, want %llu",
                     caps[k], (unsigned long long)f.st.body_bytes_out, (unsigned long long)body);
    }
}

/* Pipelined cached responses fill the 16 KiB out buffer: with one 64-byte
 * response first and 1500-byte ones after it, the tenth does not fit whole
 * and is built the long way (header, then as much body as fits). */
Test(server, pipelined_cached_responses_fill_out_buffer)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    char req[4096];
    size_t len = 0;
    for (int i = 0; i < 24; i++)
        len += (size_t)snprintf(req + len, sizeof(req) - len, "GET /bytes/%s HTTP/1.1\r\n\r\n",
                                i ? "1500" : "64");
    cl_send(c, req, len);
    for (int i = 0; i < 24; i++) {
        struct resp r;
        cr_assert_eq(cl_response(c, &r, 0, 0), 0, "response %d", i);
        expect_bytes_head(&r, i ? 1500 : 64, 0);
        cr_assert_eq(r.body_len, i ? 1500u : 64u);
        cr_assert_eq(r.pattern_mismatch, 0, "response %d", i);
    }
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.responses[2], 24);
    cr_expect_eq(f.st.body_bytes_out, 64 + 23 * 1500);
}

Test(server, connection_close_closes_after_response)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    struct resp *r = ask(c, "GET /bytes/200k HTTP/1.1\r\nConnection: close\r\n\r\n", 0);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->body_len, 200 * 1024);
    cr_assert_eq(r->pattern_mismatch, 0);
    cr_assert(hdr_is(r, "Connection", "close"));
    resp_free(r);
    cr_assert(cl_closed(c));
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.conns_closed, 1);
    cr_expect_eq(f.st.close_reasons[NETIO_CLOSE_LOCAL], 1);
}

Test(server, file_from_docroot)
{
    char dir[] = "/tmp/bb-srv-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[128];
    size_t big = 300000;
    uint8_t *data = malloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)(i * 7 + i / 251);
    snprintf(path, sizeof(path), "%s/data.bin", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp);
    cr_assert_eq(fwrite(data, 1, big, fp), big);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/.hidden", dir);
    fp = fopen(path, "wb");
    fputs("secret", fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/sub", dir);
    mkdir(path, 0700);

    struct fx f;
    pattern_init();
    fx_start(&f, set_docroot, dir);
    struct client *c = cl_open(&f);
    cl_sends(c, "GET /file/data.bin HTTP/1.1\r\n\r\n");
    struct resp r;
    cr_assert_eq(cl_response(c, &r, 0, big), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.content_length, (int64_t)big);
    cr_assert_eq(r.stored, big);
    cr_assert_arr_eq(r.body, data, big);
    resp_free(&r);
    struct resp *h = ask(c, "HEAD /file/data.bin HTTP/1.1\r\n\r\n", 1);
    cr_assert_eq(h->status, 200);
    cr_assert_eq(h->content_length, (int64_t)big);
    const char *const bad[] = {"/file/.hidden", "/file/missing",     "/file/sub",
                               "/file/",        "/file/../data.bin", "/file/sub/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", bad[i]);
        h = ask(c, req, 0);
        cr_assert_eq(h->status, 404, "%s: %d", bad[i], h->status);
        resp_free(h);
    }
    cl_close(c);
    fx_stop(&f);
    /* the body went by reference from the file's mapping, never through
     * the server's buffer (README, Loss and copies) */
    cr_expect_eq(f.st.file_maps, 1);
    cr_expect_eq(f.st.body_bytes_by_ref, big);
    cr_expect_eq(f.st.body_bytes_staged, 0);

    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    cr_expect_eq(system(path), 0);
    free(data);
}

Test(server, not_found_keeps_connection)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    const char *const paths[] = {"/",         "/nothing",   "/bytes/", "/bytes/abc",
                                 "/bytes/2t", "/file/../x", "/file/x"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", paths[i]);
        struct resp *r = ask(c, req, 0);
        cr_assert_eq(r->status, 404, "%s: %d", paths[i], r->status);
        cr_assert(hdr_is(r, "Connection", "keep-alive"));
        cr_assert_gt(r->body_len, 0);
        resp_free(r);
    }
    get_bytes(c, "/bytes/64", 64);
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.responses[4], 7);
}

Test(server, post_is_405_with_allow_and_body_discarded)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    struct resp *r = ask(c, "POST /bytes/64 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 0);
    cr_assert_eq(r->status, 405);
    cr_assert(hdr_is(r, "Allow", "GET, HEAD"));
    cr_assert(hdr_is(r, "Connection", "keep-alive"));
    resp_free(r);
    /* the body was discarded, not parsed as a request */
    get_bytes(c, "/bytes/64", 64);
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.requests_parsed, 2);
}

Test(server, expect_continue_without_body_closes)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    struct resp *r = ask(c,
                         "POST /bytes/64 HTTP/1.1\r\nContent-Length: 100\r\n"
                         "Expect: 100-continue\r\n\r\n",
                         0);
    cr_assert_eq(r->status, 405);
    cr_assert(hdr_is(r, "Connection", "close"));
    cr_assert(cl_closed(c), "connection waiting for a body that may never come");
    cl_close(c);
    fx_stop(&f);
}

/* The client sends its requests and shuts down its side: it still gets every
 * answer, then the server closes. */
Test(server, half_close_after_requests_gets_all_answers)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    cl_sends(c, "GET /bytes/64 HTTP/1.1\r\n\r\nGET /bytes/8m HTTP/1.1\r\n\r\n"
                "GET /bytes/3 HTTP/1.1\r\n\r\n");
    cr_assert_eq(shutdown(c->fd, SHUT_WR), 0);
    const uint64_t sizes[] = {64, 8u << 20, 3};
    for (int i = 0; i < 3; i++) {
        struct resp r;
        cr_assert_eq(cl_response(c, &r, 0, 0), 0, "response %d missing", i);
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.body_len, sizes[i]);
        cr_assert_eq(r.pattern_mismatch, 0);
    }
    cr_assert(cl_closed(c));
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.close_reasons[NETIO_CLOSE_PEER_FIN], 1);
}

/* Sends raw, expects status and a closed connection afterwards. */
static void expect_error_close(const char *raw, size_t rawlen, int status, enum http_error perr)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    cl_send(c, raw, rawlen);
    struct resp r;
    cr_assert_eq(cl_response(c, &r, 0, 256), 0, "no %d response", status);
    cr_assert_eq(r.status, status);
    cr_assert(hdr_is(&r, "Connection", "close"));
    cr_assert(hdr_is(&r, "Server", "bypassbench"));
    cr_assert_eq(r.body_len, (uint64_t)r.content_length);
    resp_free(&r);
    cr_assert(cl_closed(c), "connection left open after %d", status);
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.responses[status / 100], 1);
    if (perr != HTTP_ERR_NONE) cr_expect_eq(f.st.parse_errors[perr], 1);
}

Test(server, garbage_is_400)
{
    const char raw[] = "this is not http at all\r\n\r\n";
    expect_error_close(raw, sizeof(raw) - 1, 400, HTTP_ERR_NONE);
}

Test(server, huge_header_is_431)
{
    static char raw[16 * 1024 + 64];
    const char start[] = "GET /bytes/64 HTTP/1.1\r\nX-Big: ";
    size_t len = sizeof(start) - 1;
    memcpy(raw, start, len);
    memset(raw + len, 'a', 16 * 1024);
    len += 16 * 1024;
    memcpy(raw + len, "\r\n\r\n", 4);
    len += 4;
    expect_error_close(raw, len, 431, HTTP_ERR_HEADER_TOO_LARGE);
}

Test(server, http2_is_505)
{
    const char raw[] = "GET /bytes/64 HTTP/2.0\r\n\r\n";
    expect_error_close(raw, sizeof(raw) - 1, 505, HTTP_ERR_VERSION_UNSUPPORTED);
}

Test(server, body_over_max_is_413)
{
    const char raw[] = "POST /bytes/64 HTTP/1.1\r\nContent-Length: 2000000\r\n\r\nabc";
    expect_error_close(raw, sizeof(raw) - 1, 413, HTTP_ERR_NONE);
}

Test(server, chunked_request_body_is_501)
{
    const char raw[] =
        "POST /bytes/64 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    expect_error_close(raw, sizeof(raw) - 1, 501, HTTP_ERR_NONE);
}

Test(server, idle_connection_times_out)
{
    struct fx f;
    pattern_init();
    fx_start(&f, set_idle_200ms, NULL);
    struct client *c = cl_open(&f);
    get_bytes(c, "/bytes/64", 64); /* accepted and served, then idle */
    cr_assert(cl_closed(c), "idle connection not closed within 5 s");
    cl_close(c);
    fx_stop(&f);
    cr_expect_eq(f.st.conns_idle_timeout, 1);
    cr_expect_eq(f.st.conns_closed, 1);
}

Test(server, stalled_client_does_not_block_others)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *stalled = cl_open(&f);
    cl_sends(stalled, "GET /bytes/1g HTTP/1.1\r\n\r\n");
    /* let the server fill the stalled connection's socket buffers */
    char b[1];
    cr_assert_eq(recv(stalled->fd, b, 1, MSG_PEEK), 1);
    struct client *c = cl_open(&f);
    for (int i = 0; i < 10; i++)
        get_bytes(c, "/bytes/64", 64);
    cl_close(c);
    cl_close(stalled);
    fx_stop(&f);
    cr_expect_eq(f.st.conns_accepted, 2);
    cr_expect_eq(f.st.responses[2], 11);
}

Test(server, stats_match_traffic)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    uint64_t sent = 0, got = 0;
    struct client *a = cl_open(&f);
    get_bytes(a, "/bytes/64", 64);
    get_bytes(a, "/bytes/100k", 100 * 1024);
    struct resp *r = ask(a, "HEAD /bytes/5 HTTP/1.1\r\n\r\n", 1);
    cr_assert_eq(r->status, 200);
    r = ask(a, "GET /nope HTTP/1.1\r\n\r\n", 0);
    cr_assert_eq(r->status, 404);
    uint64_t nf_body = r->body_len;
    resp_free(r);
    struct client *b = cl_open(&f);
    r = ask(b, "GET / HTTP/9.9\r\n\r\n", 0);
    cr_assert_eq(r->status, 505);
    uint64_t e_body = r->body_len;
    resp_free(r);
    cr_assert(cl_closed(b));
    sent = a->bytes_sent + b->bytes_sent;
    got = a->bytes_read + b->bytes_read;
    cl_close(a);
    cl_close(b);
    fx_stop(&f);
    const struct srv_stats *s = &f.st;
    cr_expect_eq(s->conns_accepted, 2);
    cr_expect_eq(s->conns_closed, 2);
    cr_expect_geq(s->conns_max_active, 1);
    cr_expect_leq(s->conns_max_active, 2);
    cr_expect_eq(s->conns_refused, 0);
    cr_expect_eq(s->conns_idle_timeout, 0);
    cr_expect_eq(s->requests_parsed, 5);
    cr_expect_eq(s->responses[2], 3);
    cr_expect_eq(s->responses[4], 1);
    cr_expect_eq(s->responses[5], 1);
    cr_expect_eq(s->parse_errors[HTTP_ERR_VERSION_UNSUPPORTED], 1);
    cr_expect_eq(s->bytes_in, sent);
    cr_expect_eq(s->bytes_out, got);
    cr_expect_eq(s->body_bytes_out, 64 + 100 * 1024 + nf_body + e_body, "body_bytes_out %llu",
                 (unsigned long long)s->body_bytes_out);
    /* 64 B: generated once into the response cache (and the 5 B of the
     * HEAD's cache entry, built though not sent); 100 KiB: by reference */
    cr_expect_eq(s->body_bytes_staged, 64 + 5);
    cr_expect_eq(s->body_bytes_by_ref, 100 * 1024);
    uint64_t reasons = 0;
    for (int i = 0; i < NETIO_CLOSE__COUNT; i++)
        reasons += s->close_reasons[i];
    cr_expect_eq(reasons, s->conns_closed);
}

Test(server, refuses_beyond_max_conns)
{
    struct fx f;
    pattern_init();
    fx_start(&f, set_one_conn, NULL);
    struct client *a = cl_open(&f);
    get_bytes(a, "/bytes/64", 64);
    struct client *b = cl_open(&f); /* the kernel completes the handshake; the server aborts */
    const char req[] = "GET /bytes/64 HTTP/1.1\r\n\r\n";
    (void)!send(b->fd, req, sizeof(req) - 1, MSG_NOSIGNAL); /* may already see the reset */
    cr_assert(cl_closed(b), "connection beyond max_conns was served");
    get_bytes(a, "/bytes/64", 64);
    cl_close(a);
    cl_close(b);
    fx_stop(&f);
    cr_expect_eq(f.st.conns_refused, 1);
    cr_expect_eq(f.st.conns_accepted, 1);
}

Test(server, stop_returns_0_and_closes_connections)
{
    struct fx f;
    pattern_init();
    fx_start(&f, NULL, NULL);
    struct client *c = cl_open(&f);
    get_bytes(c, "/bytes/64", 64);
    fx_stop(&f); /* asserts server_run returned 0 */
    cr_assert(cl_closed(c), "open connection not closed at stop");
    cl_close(c);
    cr_expect_eq(f.st.conns_closed, 1);
}

Test(server, listen_failure_is_reported)
{
    /* occupy a port, then ask the server to listen there */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s, 1), 0);
    socklen_t al = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &al);
    struct srv_config cfg;
    srv_config_defaults(&cfg);
    cfg.listen = a;
    cfg.max_conns = 4;
    volatile sig_atomic_t stop = 0;
    cfg.stop = &stop;
    struct netio_config nc = {.cpu = -1};
    char err[256] = "";
    struct netio *io = netio_open("kernel", &nc, err, sizeof(err));
    cr_assert(io, "%s", err);
    struct srv_stats st;
    cr_expect_eq(server_run(io, &cfg, &st, err, sizeof(err)), -1);
    cr_expect_neq(err[0], '\0');
    netio_destroy(io);
    close(s);
}
