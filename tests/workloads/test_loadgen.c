/*
 * test_loadgen.c — the HTTP load generator (workloads/loadgen.c) over the
 * kernel netio driver on 127.0.0.1, against two kinds of peer in a pthread:
 *   - the real server (server_run over the kernel driver), for the modes;
 *   - a scripted fake server (blocking sockets, one connection at a time)
 *     that misbehaves on one chosen request, so each lg_err is checked.
 * Every loadgen_run has a watchdog that sets the stop flag after a few
 * seconds, so a hang fails as "interrupted" instead of blocking.
 * No assertion on throughput or wall-clock numbers, except for latencies that
 * the fake server forces (a 200 ms stall).
 */
#include "workloads/loadgen.h"
#include "workloads/pattern.h"
#include "workloads/server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull

/* ---- real server fixture (as in test_server.c) ---------------------------- */

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

static void *srv_thread(void *arg)
{
    struct fx *f = arg;
    struct netio_config nc = {.cpu = -1, .rx_buf = 64 * 1024};
    struct netio *io = netio_open("kernel", &nc, f->err, sizeof(f->err));
    int rc = io ? server_run(io, &f->cfg, &f->st, f->err, sizeof(f->err)) : -2;
    netio_destroy(io);
    pthread_mutex_lock(&f->mu);
    f->rc = rc;
    f->done = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void fx_start(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    unsigned base = (unsigned)getpid() * 131u + 7u;
    for (unsigned attempt = 0; attempt < 20; attempt++) {
        f->ready = f->done = 0;
        f->port = (uint16_t)(20000 + (base + attempt * 977u) % 40000u);
        srv_config_defaults(&f->cfg);
        f->cfg.listen.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        f->cfg.listen.sin_port = htons(f->port);
        f->cfg.max_conns = 1024;
        f->cfg.stop = &f->stop;
        f->cfg.on_ready = on_ready;
        f->cfg.arg = f;
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
    }
    cr_assert_fail("server never listened: %s", f->err);
}

static void fx_stop(struct fx *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    cr_assert_eq(f->rc, 0, "server_run: %s", f->err);
}

/* ---- scripted fake server --------------------------------------------------- */

enum form { FORM_CL = 0, FORM_CHUNKED, FORM_UNTIL_CLOSE }; /* how every response is framed */
enum fault {
    FAULT_NONE = 0,
    FAULT_STATUS, /* 500 with an empty body, keep-alive */
    FAULT_LENGTH, /* one byte fewer than /bytes/N (framed per the form) */
    FAULT_BODY,   /* one body byte flipped */
    FAULT_SHORT,  /* Content-Length N, N/2 bytes, then close */
    FAULT_CLOSE,  /* close without answering */
    FAULT_PARSE,  /* malformed status line */
    FAULT_STALL,  /* never answer (until the client goes away) */
    FAULT_DELAY,  /* answer correctly after delay_ms (default 200 ms) */
};

#define FAKE_MAX_CONNS 16

struct fake {
    int lfd;
    uint16_t port;
    pthread_t th;
    atomic_int stop;
    enum form form;
    enum fault fault;
    uint64_t fault_at; /* 0-based index over all requests received */
    size_t body_len;   /* what the client asks for (/bytes/N) */
    unsigned delay_ms; /* FAULT_DELAY */
    int concurrent;    /* serve each connection in its own thread (else one at a time) */
    pthread_t conn_th[FAKE_MAX_CONNS];
    int nconn_th;
    atomic_uint_fast64_t requests, conns, faults;
};

static int send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answers request idx. Returns 0 to go on, 1 to close now, 2 to stall. */
static int respond(struct fake *f, int fd, uint64_t idx)
{
    enum fault fault = idx == f->fault_at ? f->fault : FAULT_NONE;
    if (fault != FAULT_NONE) atomic_fetch_add(&f->faults, 1);
    uint8_t body[1024];
    size_t n = f->body_len;
    pattern_fill(body, 0, n);
    char out[4096];
    int len = 0;
    const char *status = "HTTP/1.1 200 OK";
    switch (fault) {
    case FAULT_STATUS:
        len = snprintf(out, sizeof(out),
                       "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
        return send_all(fd, out, (size_t)len) < 0;
    case FAULT_CLOSE:
        return 1;
    case FAULT_STALL:
        return 2;
    case FAULT_DELAY:
        usleep(f->delay_ms * 1000u);
        break;
    case FAULT_BODY:
        body[n / 2] ^= 0xff;
        break;
    case FAULT_LENGTH:
        n -= 1;
        break;
    case FAULT_PARSE:
        status = "HTTP/1.1 2OO OK";
        break;
    case FAULT_SHORT:
        len = snprintf(out, sizeof(out), "%s\r\nContent-Length: %zu\r\n\r\n", status, n);
        memcpy(out + len, body, n / 2);
        send_all(fd, out, (size_t)len + n / 2);
        return 1;
    case FAULT_NONE:
        break;
    }
    switch (f->form) {
    case FORM_CL:
        len = snprintf(out, sizeof(out), "%s\r\nContent-Length: %zu\r\n\r\n", status, n);
        memcpy(out + len, body, n);
        len += (int)n;
        break;
    case FORM_CHUNKED: { /* chunks of 10, 20 and the rest */
        len = snprintf(out, sizeof(out), "%s\r\nTransfer-Encoding: chunked\r\n\r\n", status);
        size_t off = 0, sizes[3] = {10, 20, n - 30};
        for (int i = 0; i < 3; i++) {
            len += snprintf(out + len, sizeof(out) - (size_t)len, "%zx\r\n", sizes[i]);
            memcpy(out + len, body + off, sizes[i]);
            len += (int)sizes[i];
            off += sizes[i];
            len += snprintf(out + len, sizeof(out) - (size_t)len, "\r\n");
        }
        len += snprintf(out + len, sizeof(out) - (size_t)len, "0\r\n\r\n");
        break;
    }
    case FORM_UNTIL_CLOSE: /* HTTP/1.1, no Content-Length, no Connection header */
        len = snprintf(out, sizeof(out), "%s\r\n\r\n", status);
        memcpy(out + len, body, n);
        send_all(fd, out, (size_t)len + n);
        return 1;
    }
    return send_all(fd, out, (size_t)len) < 0;
}

static void serve_conn(struct fake *f, int fd)
{
    char buf[8192];
    size_t len = 0;
    int stalled = 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 50);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        ssize_t got = recv(fd, buf + len, sizeof(buf) - len, 0);
        if (got <= 0) break; /* EOF or reset: the client is done with us */
        if (stalled) continue;
        len += (size_t)got;
        char *e;
        while ((e = memmem(buf, len, "\r\n\r\n", 4)) != NULL) {
            size_t rl = (size_t)(e - buf) + 4;
            memmove(buf, buf + rl, len - rl);
            len -= rl;
            int what = respond(f, fd, atomic_fetch_add(&f->requests, 1));
            if (what == 1) {
                close(fd);
                return;
            }
            if (what == 2) {
                stalled = 1;
                break;
            }
        }
        if (stalled) len = 0;
        if (len == sizeof(buf)) break;
    }
    close(fd);
}

struct conn_arg {
    struct fake *f;
    int fd;
};

static void *conn_thread(void *arg)
{
    struct conn_arg a = *(struct conn_arg *)arg;
    free(arg);
    serve_conn(a.f, a.fd);
    return NULL;
}

static void *fake_thread(void *arg)
{
    struct fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) continue;
        atomic_fetch_add(&f->conns, 1);
        struct conn_arg *a = f->concurrent && f->nconn_th < FAKE_MAX_CONNS ? malloc(sizeof(*a)) : NULL;
        if (a) {
            a->f = f;
            a->fd = fd;
            if (pthread_create(&f->conn_th[f->nconn_th], NULL, conn_thread, a) == 0) {
                f->nconn_th++;
                continue;
            }
            free(a);
        }
        serve_conn(f, fd);
    }
    for (int i = 0; i < f->nconn_th; i++) pthread_join(f->conn_th[i], NULL);
    return NULL;
}

/* concurrent: every connection served at once (by its own thread), as a
 * real server would; delay_ms: how long FAULT_DELAY holds its response. */
static struct fake *fake_start_opts(enum form form, enum fault fault, uint64_t fault_at,
                                    int concurrent, unsigned delay_ms)
{
    struct fake *f = calloc(1, sizeof(*f));
    cr_assert(f);
    f->form = form;
    f->fault = fault;
    f->fault_at = fault_at;
    f->body_len = 64;
    f->delay_ms = delay_ms;
    f->concurrent = concurrent;
    pattern_init();
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(f->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    cr_assert_eq(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(f->lfd, 128), 0);
    cr_assert_eq(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&f->th, NULL, fake_thread, f), 0);
    return f;
}

static struct fake *fake_start(enum form form, enum fault fault, uint64_t fault_at)
{
    return fake_start_opts(form, fault, fault_at, 0, 200);
}

static void fake_stop(struct fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    close(f->lfd);
    free(f);
}

/* ---- running the load generator ---------------------------------------------- */

struct watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    unsigned after_ms;
    volatile sig_atomic_t stop;
};

/* Sets the stop flag after after_ms unless the run finished first. */
static void *watchdog_thread(void *arg)
{
    struct watchdog *w = arg;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += w->after_ms / 1000;
    dl.tv_nsec += (long)(w->after_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT) break;
    if (!w->done) w->stop = 1;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* A config for 1 connection, no warm-up, 300 ms, timeout 2 s, GET /bytes/64. */
static void lg_defaults(struct lg_config *c, uint16_t port)
{
    memset(c, 0, sizeof(*c));
    wl_spec_defaults(&c->spec);
    c->spec.connections = 1;
    c->spec.warmup_ns = 0;
    c->spec.duration_ns = 300 * MS;
    c->spec.timeout_ns = 2000 * MS;
    c->dst.sin_family = AF_INET;
    c->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->dst.sin_port = htons(port);
    snprintf(c->host, sizeof(c->host), "127.0.0.1:%u", port);
}

/* Runs the generator on a fresh kernel netio; *cfg->stop is set after stop_ms. */
static int run_lg(struct lg_config *c, struct lg_result *r, char *err, size_t errlen,
                  unsigned stop_ms)
{
    struct watchdog w = {.after_ms = stop_ms};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    c->stop = &w.stop;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, watchdog_thread, &w), 0);
    struct netio_config nc = {.cpu = -1};
    struct netio *io = netio_open("kernel", &nc, err, errlen);
    cr_assert(io, "netio_open(kernel): %s", err);
    err[0] = '\0';
    int rc = loadgen_run(io, c, r, err, errlen);
    netio_destroy(io);
    pthread_mutex_lock(&w.mu);
    w.done = 1;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    pthread_join(th, NULL);
    c->stop = NULL;
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

/* A run that must end by itself (duration or request count), with rc 0. */
static void run_ok(struct lg_config *c, struct lg_result *r)
{
    char err[256];
    int rc = run_lg(c, r, err, sizeof(err), 8000);
    cr_assert_eq(rc, 0, "loadgen_run: %s", err);
    cr_assert_eq(r->interrupted, 0, "the run did not end by itself (watchdog stopped it)");
}

static uint64_t sum_errors(const struct lg_result *r)
{
    uint64_t n = 0;
    for (int e = 0; e < LG_ERR__COUNT; e++) n += r->errors[e];
    return n;
}

static void expect_no_errors(const struct lg_result *r)
{
    for (int e = 0; e < LG_ERR__COUNT; e++)
        cr_expect_eq(r->errors[e], 0, "errors[%s] = %llu", lg_err_str((enum lg_err)e),
                     (unsigned long long)r->errors[e]);
    cr_assert_eq(r->errors_total, 0);
}

/* Responses with latency >= ns (within a bucket's width). */
static uint64_t slower_than(const struct hist *h, uint64_t ns)
{
    uint64_t n = 0;
    for (size_t i = hist_index(ns); i < HIST_BUCKETS; i++) n += h->buckets[i];
    return n;
}

/* ---- modes against the real server -------------------------------------------- */

Test(loadgen, closed_loop_counts_agree, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.connections = 4;
    run_ok(&c, &r);
    fx_stop(&f);
    cr_assert_gt(r.requests, 0);
    expect_no_errors(&r);
    cr_expect_geq(r.requests_total, r.requests);
    cr_expect_geq(r.sent_total, r.requests_total);
    cr_expect_eq(r.latency.count, r.requests);
    cr_expect_geq(r.body_bytes, r.requests * 64);
    cr_expect_geq(r.bytes_in, r.body_bytes);
    cr_expect_eq(r.connects, 4, "connects %llu", (unsigned long long)r.connects);
    cr_expect_geq(r.measured_ns, 300 * MS);
    cr_expect_lt(r.measured_ns, 500 * MS);
    cr_expect_eq(r.late_sends, 0);
    cr_expect_geq(f.st.requests_parsed, r.requests_total);
    /* The window ends with every connection's request in flight; a healthy
     * server answers them in the drain: counted as late, not as throughput,
     * and (closed loop) not in the histogram. */
    cr_expect_eq(r.inflight_at_end, 4, "inflight_at_end %llu",
                 (unsigned long long)r.inflight_at_end);
    cr_expect_eq(r.late_responses, 4, "late_responses %llu",
                 (unsigned long long)r.late_responses);
    cr_expect_eq(r.unsent_at_end, 0);
    cr_expect_eq(r.drain_ns, 1000 * MS, "drain = min(timeout 2 s, 1 s)");
    cr_expect_eq(r.requests_total, r.late_responses + r.requests, "no warm-up here");
}

Test(loadgen, pipelining, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.connections = 2;
    c.spec.pipeline = 8;
    run_ok(&c, &r);
    fx_stop(&f);
    cr_assert_gt(r.requests, 0);
    expect_no_errors(&r);
    cr_expect_geq(r.sent_total, r.requests_total);
    cr_expect_eq(r.latency.count, r.requests);
}

Test(loadgen, cps_one_connection_per_request, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.mode = WL_CPS;
    c.spec.connections = 2;
    run_ok(&c, &r);
    fx_stop(&f);
    cr_assert_gt(r.requests, 0);
    expect_no_errors(&r);
    cr_expect_geq(r.connects, r.requests);
    cr_expect_geq(f.st.conns_accepted, r.requests);
}

/* With a request count and no duration, CPS must stop by itself. */
Test(loadgen, cps_requests_limit_ends_run, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.mode = WL_CPS;
    c.spec.connections = 3;
    c.spec.duration_ns = 0;
    c.spec.requests = 50;
    run_ok(&c, &r);
    fx_stop(&f);
    expect_no_errors(&r);
    cr_expect_eq(r.requests, 50, "requests %llu", (unsigned long long)r.requests);
    cr_expect_geq(r.connects, 50);
}

Test(loadgen, download_64m_once, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.mode = WL_DOWNLOAD;
    snprintf(c.spec.path, sizeof(c.spec.path), "/bytes/64m");
    c.spec.requests = 1;
    c.spec.duration_ns = 0;
    c.spec.timeout_ns = 5000 * MS;
    run_ok(&c, &r);
    fx_stop(&f);
    expect_no_errors(&r);
    cr_expect_eq(r.requests, 1);
    cr_expect_eq(r.requests_total, 1);
    cr_expect_eq(r.body_bytes, 64ull << 20, "body_bytes %llu", (unsigned long long)r.body_bytes);
    cr_expect_eq(r.latency.count, 1);
    cr_expect_eq(r.sent_total, 1);
}

Test(loadgen, download_three_over_two_connections, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.mode = WL_DOWNLOAD;
    snprintf(c.spec.path, sizeof(c.spec.path), "/bytes/1m");
    c.spec.requests = 3;
    c.spec.connections = 2;
    c.spec.duration_ns = 0;
    run_ok(&c, &r);
    fx_stop(&f);
    expect_no_errors(&r);
    cr_expect_eq(r.requests, 3, "requests %llu", (unsigned long long)r.requests);
    cr_expect_eq(r.sent_total, 3);
    cr_expect_eq(r.body_bytes, 3ull << 20);
}

Test(loadgen, requests_limit_closed_loop, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.connections = 4;
    c.spec.pipeline = 4;
    c.spec.requests = 500;
    c.spec.duration_ns = 60000 * MS;
    run_ok(&c, &r);
    fx_stop(&f);
    expect_no_errors(&r);
    cr_expect_eq(r.requests, 500, "requests %llu", (unsigned long long)r.requests);
    cr_expect_eq(r.latency.count, 500);
    cr_expect_eq(r.sent_total, 500);
}

/* Requests sent during the warm-up and answered in the window must not push
 * the measured count past the limit. */
Test(loadgen, requests_limit_after_warmup, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.connections = 2;
    c.spec.pipeline = 16;
    c.spec.requests = 5;
    c.spec.warmup_ns = 100 * MS;
    c.spec.duration_ns = 60000 * MS;
    run_ok(&c, &r);
    fx_stop(&f);
    cr_assert_eq(r.errors_total, 0);
    cr_expect_eq(r.requests, 5, "requests %llu", (unsigned long long)r.requests);
    cr_expect_eq(r.latency.count, 5);
    cr_expect_gt(r.requests_total, r.requests);
}

Test(loadgen, warmup_not_counted, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.connections = 2;
    c.spec.warmup_ns = 200 * MS;
    c.spec.duration_ns = 200 * MS;
    run_ok(&c, &r);
    fx_stop(&f);
    expect_no_errors(&r);
    cr_assert_gt(r.requests, 0);
    cr_expect_gt(r.requests_total, r.requests);
    cr_expect_eq(r.latency.count, r.requests);
    cr_expect_geq(r.measured_ns, 200 * MS);
    cr_expect_lt(r.measured_ns, 400 * MS);
    cr_expect_eq(r.connects, 0, "connections opened in the warm-up are not counted");
}

Test(loadgen, stop_flag_interrupts, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    char err[256];
    lg_defaults(&c, f.port);
    c.spec.connections = 2;
    c.spec.duration_ns = 10000 * MS;
    int rc = run_lg(&c, &r, err, sizeof(err), 200);
    fx_stop(&f);
    cr_assert_eq(rc, 0, "loadgen_run: %s", err);
    cr_expect_eq(r.interrupted, 1);
    cr_expect_lt(r.measured_ns, 10000 * MS);
    cr_expect_eq(r.errors_total, 0);
}

Test(loadgen, connection_refused_fails_naming_address, .timeout = 20)
{
    /* A bound socket that does not listen: every SYN is answered with RST. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    uint16_t port = ntohs(a.sin_port);
    struct lg_config c;
    struct lg_result r;
    char err[256];
    lg_defaults(&c, port);
    c.spec.duration_ns = 2000 * MS;
    c.spec.timeout_ns = 300 * MS;
    int rc = run_lg(&c, &r, err, sizeof(err), 8000);
    close(fd);
    cr_assert_eq(rc, -1, "loadgen_run returned %d", rc);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    cr_expect(strstr(err, want) != NULL, "err '%s' does not name %s", err, want);
    cr_expect_gt(r.errors[LG_ERR_CONNECT], 0);
    cr_expect_eq(r.requests, 0);
    cr_expect_eq(r.interrupted, 0);
}

/* ---- misbehaving peer --------------------------------------------------------- */

/* 1 connection, pipeline 1; the fake server misbehaves on its third request;
 * the run ends after 20 valid responses (by count, so a slow machine cannot
 * end it before the fault). Expects exactly one error, of kind e (at least
 * one for timeouts), and valid responses before and after it. */
static void expect_one_error(enum form form, enum fault fault, enum lg_err e)
{
    struct fake *f = fake_start(form, fault, 2);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f->port);
    c.spec.duration_ns = 0;
    c.spec.requests = 20;
    if (fault == FAULT_STALL) c.spec.timeout_ns = 100 * MS;
    run_ok(&c, &r);
    uint64_t faults = atomic_load(&f->faults), seen = atomic_load(&f->requests);
    fake_stop(f);
    cr_assert_eq(faults, 1, "the fake server did not misbehave (%llu requests seen)",
                 (unsigned long long)seen);
    cr_expect_gt(r.errors_total, 0);
    for (int k = 0; k < LG_ERR__COUNT; k++) {
        if (k == (int)e) continue;
        cr_expect_eq(r.errors[k], 0, "errors[%s] = %llu (expected only %s)",
                     lg_err_str((enum lg_err)k), (unsigned long long)r.errors[k], lg_err_str(e));
    }
    if (e == LG_ERR_TIMEOUT)
        cr_expect_geq(r.errors[e], 1);
    else
        cr_expect_eq(r.errors[e], 1, "errors[%s] = %llu", lg_err_str(e),
                     (unsigned long long)r.errors[e]);
    cr_expect_eq(r.errors_total, sum_errors(&r));
    cr_expect_eq(r.requests, 20, "requests %llu", (unsigned long long)r.requests);
    cr_expect_eq(r.latency.count, r.requests);
}

Test(loadgen, fake_status_500, .timeout = 20)
{
    expect_one_error(FORM_CL, FAULT_STATUS, LG_ERR_STATUS);
}

Test(loadgen, fake_content_length_mismatch, .timeout = 20)
{
    expect_one_error(FORM_CL, FAULT_LENGTH, LG_ERR_LENGTH);
}

Test(loadgen, fake_corrupted_body_byte, .timeout = 20)
{
    expect_one_error(FORM_CL, FAULT_BODY, LG_ERR_BODY);
}

Test(loadgen, fake_short_body_then_close, .timeout = 20)
{
    expect_one_error(FORM_CL, FAULT_SHORT, LG_ERR_LENGTH);
}

Test(loadgen, fake_close_without_response, .timeout = 20)
{
    expect_one_error(FORM_CL, FAULT_CLOSE, LG_ERR_READ);
}

Test(loadgen, fake_malformed_status_line, .timeout = 20)
{
    expect_one_error(FORM_CL, FAULT_PARSE, LG_ERR_PARSE);
}

Test(loadgen, fake_stall_times_out, .timeout = 20)
{
    expect_one_error(FORM_CL, FAULT_STALL, LG_ERR_TIMEOUT);
}

Test(loadgen, fake_chunked_body_accepted, .timeout = 20)
{
    struct fake *f = fake_start(FORM_CHUNKED, FAULT_NONE, 0);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f->port);
    run_ok(&c, &r);
    fake_stop(f);
    expect_no_errors(&r);
    cr_assert_gt(r.requests, 0);
    cr_expect_geq(r.body_bytes, r.requests * 64);
    cr_expect_eq(r.connects, 1);
}

Test(loadgen, fake_chunked_corrupted_byte, .timeout = 20)
{
    expect_one_error(FORM_CHUNKED, FAULT_BODY, LG_ERR_BODY);
}

Test(loadgen, fake_chunked_wrong_length, .timeout = 20)
{
    expect_one_error(FORM_CHUNKED, FAULT_LENGTH, LG_ERR_LENGTH);
}

Test(loadgen, fake_read_until_close_accepted, .timeout = 20)
{
    struct fake *f = fake_start(FORM_UNTIL_CLOSE, FAULT_NONE, 0);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f->port);
    run_ok(&c, &r);
    fake_stop(f);
    expect_no_errors(&r);
    cr_assert_gt(r.requests, 0);
    cr_expect_geq(r.body_bytes, r.requests * 64);
    cr_expect_geq(r.connects, r.requests, "one connection per response ended by close");
}

Test(loadgen, fake_read_until_close_corrupted_byte, .timeout = 20)
{
    expect_one_error(FORM_UNTIL_CLOSE, FAULT_BODY, LG_ERR_BODY);
}

Test(loadgen, fake_read_until_close_wrong_length, .timeout = 20)
{
    expect_one_error(FORM_UNTIL_CLOSE, FAULT_LENGTH, LG_ERR_LENGTH);
}

/* ---- coordinated omission ------------------------------------------------------ */

/* ---- the window hook: called once at each edge of the measured window ------- */

struct edges {
    const struct lg_result *res; /* the run's live result */
    int starts, ends, bad_order;
    uint64_t t_start, t_end;         /* the run's clock at the edges */
    uint64_t req_at_start, req_at_end; /* what was counted when each edge was seen */
};

static void on_window(enum lg_edge e, uint64_t t, void *arg)
{
    struct edges *x = arg;
    if (e == LG_WINDOW_START) {
        x->starts++;
        x->t_start = t;
        x->req_at_start = x->res->requests;
    } else {
        if (!x->starts) x->bad_order = 1;
        x->ends++;
        x->t_end = t;
        x->req_at_end = x->res->requests;
    }
}

static uint64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The edges are the window's: START after the warm-up with nothing counted
 * yet, END after everything counted, and END - START is measured_ns, exactly.
 * The window lasts its duration plus at most the last loop round (`slack`:
 * on the real clock a busy machine may deschedule us there, so only the
 * virtual clock's run checks it tightly). */
static void check_edges(const struct edges *x, const struct lg_result *r, uint64_t began,
                        uint64_t warmup, uint64_t duration, uint64_t slack)
{
    cr_expect_eq(x->starts, 1, "START called %d times", x->starts);
    cr_expect_eq(x->ends, 1, "END called %d times", x->ends);
    cr_expect_eq(x->bad_order, 0, "END before START");
    cr_expect_geq(x->t_start, began + warmup, "START inside the warm-up");
    cr_expect_eq(x->req_at_start, 0, "requests counted before START");
    cr_expect_eq(x->req_at_end, r->requests, "requests counted after END");
    cr_assert_gt(r->measured_ns, 0);
    uint64_t span = x->t_end - x->t_start;
    cr_expect_eq(span, r->measured_ns, "edges %llu ns apart, measured_ns %llu",
                 (unsigned long long)span, (unsigned long long)r->measured_ns);
    if (duration) {
        cr_expect_geq(span, duration, "window %llu ns", (unsigned long long)span);
        cr_expect_leq(span - duration, slack, "window %llu ns, duration %llu",
                      (unsigned long long)span, (unsigned long long)duration);
    }
}

Test(loadgen, window_hook_at_the_edges_closed_loop, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.connections = 2;
    c.spec.warmup_ns = 100 * MS;
    struct edges x = {.res = &r};
    c.window = on_window;
    c.window_arg = &x;
    uint64_t began = mono();
    run_ok(&c, &r);
    check_edges(&x, &r, began, 100 * MS, 300 * MS, 200 * MS);

    /* no warm-up: the window opens with the run */
    lg_defaults(&c, f.port);
    x = (struct edges){.res = &r};
    c.window = on_window;
    c.window_arg = &x;
    began = mono();
    run_ok(&c, &r);
    check_edges(&x, &r, began, 0, 300 * MS, 200 * MS);

    /* ended by the request count: the edges are exactly measured_ns apart */
    lg_defaults(&c, f.port);
    c.spec.duration_ns = 0;
    c.spec.requests = 200;
    x = (struct edges){.res = &r};
    c.window = on_window;
    c.window_arg = &x;
    run_ok(&c, &r);
    fx_stop(&f);
    check_edges(&x, &r, 0, 0, 0, 0);
    cr_expect_eq(x.req_at_end, 200);
}

Test(loadgen, window_hook_at_the_edges_open_loop, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.mode = WL_OPEN;
    c.spec.rate = 2000;
    c.spec.connections = 4;
    c.spec.warmup_ns = 100 * MS;
    struct edges x = {.res = &r};
    c.window = on_window;
    c.window_arg = &x;
    uint64_t began = mono();
    run_ok(&c, &r);
    fx_stop(&f);
    expect_no_errors(&r);
    check_edges(&x, &r, began, 100 * MS, 300 * MS, 200 * MS);
}

/* A virtual clock that moves 10 us per reading: the loop's rounds, not the
 * machine's load, decide where the edges fall, so they are checked tightly:
 * START within a few readings of the warm-up's end, END - START within a few
 * readings of measured_ns. */
struct step_clock {
    atomic_uint_fast64_t t;
};

static uint64_t step_now(void *arg)
{
    struct step_clock *k = arg;
    return atomic_fetch_add(&k->t, 10000) + 10000;
}

static void window_on_step_clock(enum wl_mode mode)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    struct step_clock k = {.t = 1000 * MS};
    lg_defaults(&c, f.port);
    c.spec.mode = mode;
    if (mode == WL_OPEN) c.spec.rate = 20000; /* 10 kreq/s per connection */
    c.spec.connections = 2;
    c.spec.warmup_ns = 20 * MS;
    c.spec.duration_ns = 50 * MS;
    c.now_ns = step_now;
    c.now_arg = &k;
    struct edges x = {.res = &r};
    c.window = on_window;
    c.window_arg = &x;
    run_ok(&c, &r);
    fx_stop(&f);
    /* The open loop spins between sends, so its virtual clock runs ahead of
     * the server: it may see no response in the window on a busy machine. */
    if (mode == WL_CLOSED) cr_assert_gt(r.requests, 0);
    uint64_t began = 1000 * MS + 10000; /* the run's first reading */
    check_edges(&x, &r, began, 20 * MS, 50 * MS, 50000);
    cr_expect_lt(x.t_start, began + 20 * MS + 50000, "START %llu ns after the warm-up",
                 (unsigned long long)(x.t_start - began - 20 * MS));
}

Test(loadgen, window_hook_virtual_clock_closed_loop, .timeout = 20)
{
    window_on_step_clock(WL_CLOSED);
}

Test(loadgen, window_hook_virtual_clock_open_loop, .timeout = 20)
{
    window_on_step_clock(WL_OPEN);
}

/* A run that fails before its window opens calls neither edge. */
Test(loadgen, window_hook_not_called_without_a_window, .timeout = 20)
{
    struct lg_config c;
    struct lg_result r;
    char err[256];
    lg_defaults(&c, 1);
    c.spec.warmup_ns = 5000 * MS;
    c.spec.timeout_ns = 100 * MS;
    struct edges x = {.res = &r};
    c.window = on_window;
    c.window_arg = &x;
    int rc = run_lg(&c, &r, err, sizeof(err), 8000);
    cr_expect_eq(rc, -1, "connecting to port 1 succeeded?");
    cr_expect_eq(x.starts, 0);
    cr_expect_eq(x.ends, 0);
}

/* Response #50 is held 200 ms. Open loop: the requests whose intended times
 * fell inside the stall count from those times, so many are slow. Closed
 * loop: only the held one is. Both runs end after 300 responses rather than
 * after a duration, so the stall and the catch-up after it (about 100
 * requests at 1 ms intervals) always fall inside the measured window. */
Test(loadgen, open_loop_counts_stall_from_intended_times, .timeout = 20)
{
    struct lg_config c;
    struct lg_result open, closed;

    struct fake *f = fake_start(FORM_CL, FAULT_DELAY, 50);
    lg_defaults(&c, f->port);
    c.spec.mode = WL_OPEN;
    c.spec.rate = 1000;
    c.spec.pipeline = 1;
    c.spec.duration_ns = 0;
    c.spec.requests = 300;
    run_ok(&c, &open);
    uint64_t faults = atomic_load(&f->faults);
    fake_stop(f);
    cr_assert_eq(faults, 1, "the fake server did not delay a response");

    f = fake_start(FORM_CL, FAULT_DELAY, 50);
    lg_defaults(&c, f->port);
    c.spec.duration_ns = 0;
    c.spec.requests = 300;
    run_ok(&c, &closed);
    faults = atomic_load(&f->faults);
    fake_stop(f);
    cr_assert_eq(faults, 1, "the fake server did not delay a response");

    expect_no_errors(&open);
    expect_no_errors(&closed);
    cr_expect_eq(open.requests, 300);
    cr_expect_eq(closed.requests, 300);
    uint64_t open_slow = slower_than(&open.latency, 100 * MS);
    uint64_t closed_slow = slower_than(&closed.latency, 100 * MS);
    cr_expect_geq(open.latency.max_ns, 150 * MS, "open max %llu ns",
                  (unsigned long long)open.latency.max_ns);
    cr_expect_gt(open_slow, 1, "only %llu open-loop requests >= 100 ms",
                 (unsigned long long)open_slow);
    cr_expect_gt(open.late_sends, 0);
    cr_expect_geq(closed.latency.max_ns, 150 * MS);
    cr_expect_geq(closed_slow, 1);
    cr_expect_gt(open_slow, closed_slow, "open %llu vs closed %llu slow requests",
                 (unsigned long long)open_slow, (unsigned long long)closed_slow);
}

/* ---- the end of the window: nothing in flight is dropped ------------------------- */

/* A server that accepts every connection and answers all but one: the one
 * connection that got request #2 never hears back. The timeout (10 s) is far
 * longer than the window (300 ms): the drain after the window must still
 * report the request as unanswered, an error, so the trial fails. */
Test(loadgen, stuck_connection_is_unanswered_error, .timeout = 20)
{
    struct fake *f = fake_start_opts(FORM_CL, FAULT_STALL, 2, 1, 0);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f->port);
    c.spec.connections = 4;
    c.spec.timeout_ns = 10000 * MS;
    run_ok(&c, &r);
    uint64_t faults = atomic_load(&f->faults), conns = atomic_load(&f->conns);
    fake_stop(f);
    cr_assert_eq(faults, 1, "the fake server did not stall a request");
    cr_expect_eq(conns, 4);
    cr_assert_gt(r.requests, 0, "the three healthy connections went on");
    cr_expect_eq(r.errors[LG_ERR_UNANSWERED], 1, "errors[unanswered] = %llu",
                 (unsigned long long)r.errors[LG_ERR_UNANSWERED]);
    cr_expect_eq(r.errors[LG_ERR_TIMEOUT], 0, "the 10 s timeout did not fire");
    cr_expect_eq(r.errors_total, sum_errors(&r));
    cr_expect_gt(r.errors_total, 0, "a wedged connection must fail the trial");
    cr_expect_eq(r.inflight_at_end, 4);
    cr_expect_eq(r.late_responses, 3, "the three healthy connections' last requests");
    cr_expect_eq(r.latency.count, r.requests, "closed loop: the histogram holds the window's");
}

/* Open loop at 1000/s on one connection over a 600 ms window; the server
 * stops answering at request #300 (intended at 300 ms). The stalled request
 * and the ones the schedule could not send behind it are in the histogram
 * from their intended times: the tail shows the stall. */
Test(loadgen, open_loop_stall_at_end_enters_histogram, .timeout = 20)
{
    struct fake *f = fake_start(FORM_CL, FAULT_STALL, 300);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f->port);
    c.spec.mode = WL_OPEN;
    c.spec.rate = 1000;
    c.spec.duration_ns = 600 * MS;
    c.spec.timeout_ns = 10000 * MS;
    run_ok(&c, &r);
    uint64_t faults = atomic_load(&f->faults), seen = atomic_load(&f->requests);
    fake_stop(f);
    cr_assert_eq(faults, 1, "the fake server did not stall (%llu requests seen)",
                 (unsigned long long)seen);
    cr_expect_eq(r.requests, 300, "requests %llu", (unsigned long long)r.requests);
    cr_expect_eq(r.inflight_at_end, 1);
    cr_expect_eq(r.errors[LG_ERR_UNANSWERED], 1);
    cr_expect_gt(r.errors_total, 0);
    cr_expect_gt(r.unsent_at_end, 100, "unsent_at_end %llu", (unsigned long long)r.unsent_at_end);
    cr_expect_geq(r.latency.max_ns, 250 * MS, "max %llu ns", (unsigned long long)r.latency.max_ns);
    cr_expect_gt(slower_than(&r.latency, 100 * MS), 100, "the stall is in the tail");
    cr_expect_eq(r.latency.count,
                 r.requests + r.late_responses + r.errors[LG_ERR_UNANSWERED] + r.unsent_at_end);
}

/* Open loop: response #200 (intended at 200 ms) is held 500 ms, past the end
 * of a 400 ms window but within the drain. It is a late response, not an
 * error, and its full latency is in the histogram. */
Test(loadgen, open_loop_late_response_counted_in_drain, .timeout = 20)
{
    struct fake *f = fake_start_opts(FORM_CL, FAULT_DELAY, 200, 0, 500);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f->port);
    c.spec.mode = WL_OPEN;
    c.spec.rate = 1000;
    c.spec.duration_ns = 400 * MS;
    c.spec.timeout_ns = 10000 * MS;
    run_ok(&c, &r);
    uint64_t faults = atomic_load(&f->faults);
    fake_stop(f);
    cr_assert_eq(faults, 1, "the fake server did not delay a response");
    expect_no_errors(&r);
    cr_expect_eq(r.inflight_at_end, 1);
    cr_expect_eq(r.late_responses, 1);
    cr_expect_geq(r.latency.max_ns, 450 * MS, "max %llu ns", (unsigned long long)r.latency.max_ns);
    cr_expect_eq(r.latency.count, r.requests + r.late_responses + r.unsent_at_end);
}

/* Open loop against the real server: nothing new is an error, and every
 * request of the schedule is accounted for in the histogram. */
Test(loadgen, open_loop_healthy_accounting, .timeout = 20)
{
    struct fx f;
    fx_start(&f);
    struct lg_config c;
    struct lg_result r;
    lg_defaults(&c, f.port);
    c.spec.mode = WL_OPEN;
    c.spec.rate = 2000;
    c.spec.connections = 2;
    run_ok(&c, &r);
    fx_stop(&f);
    expect_no_errors(&r);
    cr_assert_gt(r.requests, 0);
    cr_expect_eq(r.latency.count, r.requests + r.late_responses + r.unsent_at_end);
    cr_expect_eq(r.late_responses, r.inflight_at_end);
    /* the window ends at the first poll at or after its end: a little past */
    cr_expect_geq(r.measured_ns, 300 * MS);
    cr_expect_lt(r.measured_ns, 500 * MS);
}
