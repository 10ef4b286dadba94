/*
 * ustack_ipr.c — instructions per keep-alive request through our stack,
 * server side, over memlink: the deterministic cost figure (DESIGN §6).
 *
 * One process, one thread: the HTTP server (workloads/server.c) on a ustack
 * over one memlink end; a minimal keep-alive client on a second ustack over
 * the other end, driven from the server's on_tick hook. Time is virtual, so
 * every run takes the same path. Under `valgrind --tool=callgrind
 * --collect-atstart=no` only the server side is collected (the client part
 * toggles collection off); the bench script divides the total by the count.
 *
 *   ustack_ipr [REQUESTS [SIZE [CONNS]]]   (default 2000 requests of /bytes/64 on 1
 *   connection; with CONNS keep-alive connections each keeps one request in
 *   flight, so the server handles batches of up to CONNS requests per poll,
 *   as under the suites' closed loop)
 *   It prints counted_requests=K: the requests the server parsed while
 *   collection was on, the divisor for callgrind's total.
 *   BB_TEST_WORK=N adds N loop iterations per frame received by the server
 *   stack (test_work_per_packet: the gates' own test).
 *   A fourth argument `nocache` turns the server's /bytes/N response cache
 *   off (srv_config.no_cache): every response's header is formatted and its
 *   body pattern generated inside the counted region.
 *   Every response is checked outside the counted region (status line
 *   "HTTP/1.1 200 ", Content-Length, every body byte against the pattern);
 *   a bad one fails the run (bad_responses=K), so the figure cannot come from
 *   a server that skipped the work.
 */
#include "tests/rig/stack_rig.h"
#include "workloads/pattern.h"
#include "workloads/server.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#define WARMUP 200 /* warm-up requests per connection count below: max(WARMUP, 4 x CONNS) */
#define MAX_CONNS 1024

struct bench;
struct cconn {
    struct bench *b;
    int handle;
};

struct bench {
    struct stack_rig rig; /* server stack on end 0, client on end 1; rig.now_ns is the clock */
    struct netio *cli;
    uint32_t nconns;
    struct cconn conns[MAX_CONNS];
    uint64_t done, want, size, warmup;
    size_t resp_len; /* header + body of one response, learned from the first */
    char req[128];
    size_t req_len;
    volatile sig_atomic_t stop;
    int collecting;
    struct sockaddr_in dst;
    const struct srv_stats *st; /* the server's live counters */
    uint64_t srv_at_start, srv_counted; /* requests the server parsed while collected */
    uint64_t bad;                       /* responses that failed the check */
    char bad_why[160];                  /* the first one's fault */
};

/* One whole response at p (resp_len bytes): status 200, the expected
 * Content-Length, the body byte for byte. Client side, not counted. */
static void check_response(struct bench *b, const uint8_t *p)
{
    static const char ok[] = "HTTP/1.1 200 ";
    char want[64];
    const char *why = NULL;
    size_t hdr = b->resp_len - b->size;
    int wl = snprintf(want, sizeof(want), "\r\nContent-Length: %llu\r\n", (unsigned long long)b->size);
    if (memcmp(p, ok, sizeof(ok) - 1) != 0) why = "status is not HTTP/1.1 200";
    else if (!memmem(p, hdr, want, (size_t)wl)) why = "Content-Length differs";
    else if (memcmp(p + hdr - 4, "\r\n\r\n", 4) != 0) why = "header length differs";
    else if (pattern_check(p + hdr, 0, b->size) != b->size) why = "body differs from the pattern";
    if (why && b->bad++ == 0) snprintf(b->bad_why, sizeof(b->bad_why), "%s", why);
}

static void send_req(struct bench *b, struct cconn *c)
{
    netio_send(b->cli, c->handle, b->req, b->req_len);
}

/* The client's part of a tick (not counted): kept out of line so that its
 * frame set-up is not counted either. Each connection keeps one request in
 * flight (closed loop); the responses of a tick's batch trigger the next
 * requests, flushed together, so the server sees them as one batch. */
__attribute__((noinline)) static void client_tick(struct bench *b)
{
    b->rig.now_ns += 2000; /* 2 us of virtual time per loop */
    struct netio_event evs[64];
    int n;
    while ((n = netio_poll(b->cli, evs, 64, 0)) > 0) {
        for (int i = 0; i < n; i++) {
            struct netio_event *e = &evs[i];
            struct cconn *c = e->ctx;
            if (e->type == NETIO_EV_CONNECTED) {
                send_req(b, c);
            } else if (e->type == NETIO_EV_READABLE) {
                size_t len = e->len;
                if (!b->resp_len) {
                    const char *end = memmem(e->data, len, "\r\n\r\n", 4);
                    if (!end) continue;
                    b->resp_len = (size_t)(end + 4 - (const char *)e->data) + b->size;
                }
                const uint8_t *at = e->data;
                while (len >= b->resp_len) {
                    check_response(b, at);
                    at += b->resp_len;
                    netio_consume(b->cli, e->conn, b->resp_len);
                    len -= b->resp_len;
                    if (++b->done >= b->want + b->warmup) b->stop = 1;
                    else send_req(b, c);
                }
            } else if (e->type == NETIO_EV_CLOSED) {
                b->stop = 1;
            }
        }
    }
    netio_flush(b->cli);
}

static void on_tick(void *arg)
{
    struct bench *b = arg;
    if (b->collecting) {
        CALLGRIND_TOGGLE_COLLECT; /* client side: not counted */
        b->srv_counted += b->st->requests_parsed - b->srv_at_start;
    }
    client_tick(b);
    if (b->done >= b->warmup && !b->stop) {
        b->srv_at_start = b->st->requests_parsed;
        CALLGRIND_TOGGLE_COLLECT; /* server side from here until the next tick */
        b->collecting = 1;
    } else {
        b->collecting = 0;
    }
}

static void on_ready(void *arg)
{
    struct bench *b = arg;
    char err[256];
    for (uint32_t i = 0; i < b->nconns; i++) {
        b->conns[i].b = b;
        b->conns[i].handle = netio_connect(b->cli, &b->dst, &b->conns[i], err, sizeof(err));
        if (b->conns[i].handle < 0) {
            fprintf(stderr, "ustack_ipr: connect: %s\n", err);
            b->stop = 1;
            return;
        }
    }
}

int main(int argc, char **argv)
{
    static struct bench b;
    b.want = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000;
    b.size = argc > 2 ? strtoull(argv[2], NULL, 10) : 64;
    b.nconns = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 1;
    pattern_init();
    int nocache = argc > 4 && strcmp(argv[4], "nocache") == 0;
    if (argc > 4 && !nocache) {
        fprintf(stderr, "ustack_ipr: the fourth argument is 'nocache' or nothing, not '%s'\n", argv[4]);
        return 2;
    }
    if (b.nconns < 1 || b.nconns > MAX_CONNS) {
        fprintf(stderr, "ustack_ipr: CONNS must be 1..%d\n", MAX_CONNS);
        return 2;
    }
    b.warmup = 4ull * b.nconns > WARMUP ? 4ull * b.nconns : WARMUP;
    char err[256];
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 2);
    static const char *const ml_opts[] = {"lock=0", NULL}; /* one thread drives both ends */
    o.link.opts = ml_opts;
    /* the server (end 0) is 198.18.0.2, the client 198.18.0.1; both ISN seed 1 */
    o.stack[0].ip.s_addr = htonl(STACK_RIG_IP(1));
    o.stack[1].ip.s_addr = htonl(STACK_RIG_IP(0));
    o.stack[0].isn_seed = o.stack[1].isn_seed = 1;
    const char *tw = getenv("BB_TEST_WORK"); /* TEST ONLY: extra work per frame, server side */
    if (tw && *tw) o.stack[0].test_work_per_packet = (uint32_t)strtoul(tw, NULL, 10);
    if (stack_rig_open(&b.rig, &o, err, sizeof(err)) < 0) {
        fprintf(stderr, "ustack_ipr: %s\n", err);
        return 1;
    }
    struct netio *srv = b.rig.io[0];
    b.cli = b.rig.io[1];
    b.dst.sin_family = AF_INET;
    b.dst.sin_port = htons(80);
    inet_pton(AF_INET, "198.18.0.2", &b.dst.sin_addr);
    b.req_len = (size_t)snprintf(b.req, sizeof(b.req), "GET /bytes/%llu HTTP/1.1\r\nHost: b\r\n\r\n",
                                 (unsigned long long)b.size);
    struct srv_config cfg;
    srv_config_defaults(&cfg);
    cfg.listen = b.dst;
    cfg.max_conns = b.nconns > 16 ? b.nconns : 16;
    cfg.no_cache = nocache;
    cfg.stop = &b.stop;
    cfg.on_ready = on_ready;
    cfg.on_tick = on_tick;
    cfg.arg = &b;
    struct srv_stats st;
    b.st = &st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = server_run(srv, &cfg, &st, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) fprintf(stderr, "ustack_ipr: %s\n", err);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("ustack_ipr: %llu requests of /bytes/%llu on %u connection%s after %llu warm-up, "
           "%.0f req/s wall-clock both sides, server answered %llu\n",
           (unsigned long long)(b.done > b.warmup ? b.done - b.warmup : 0),
           (unsigned long long)b.size, b.nconns, b.nconns == 1 ? "" : "s",
           (unsigned long long)b.warmup, (double)b.done / secs, (unsigned long long)st.requests_parsed);
    /* the divisor for callgrind's total: requests the server parsed while collected */
    printf("ustack_ipr: counted_requests=%llu response_cache=%s bad_responses=%llu\n",
           (unsigned long long)b.srv_counted, nocache ? "off" : "on", (unsigned long long)b.bad);
    if (b.bad)
        fprintf(stderr, "ustack_ipr: %llu bad responses, the first: %s\n", (unsigned long long)b.bad,
                b.bad_why);
    stack_rig_close(&b.rig);
    if (st.conns_accepted < b.nconns) /* the figure would be for fewer connections */
        fprintf(stderr, "ustack_ipr: only %llu of %u connections came up\n",
                (unsigned long long)st.conns_accepted, b.nconns);
    return rc < 0 || b.done < b.want + b.warmup || st.conns_accepted < b.nconns || b.bad;
}
