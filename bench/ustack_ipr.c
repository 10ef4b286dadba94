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
 *   ustack_ipr [REQUESTS [SIZE]]   (default 2000 requests of /bytes/64)
 *   BB_TEST_WORK=N adds N loop iterations per frame received by the server
 *   stack (test_work_per_packet: the gates' own test).
 */
#include "pktio.h"
#include "server.h"
#include "ustack.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#define WARMUP 200

struct bench {
    struct netio *cli;
    int conn, connected;
    uint64_t done, want, size;
    size_t resp_len; /* header + body of one response, learned from the first */
    char req[128];
    size_t req_len;
    volatile sig_atomic_t stop;
    int collecting;
    uint64_t vnow;
    struct sockaddr_in dst;
};

static uint64_t vclock(void *arg)
{
    return ((struct bench *)arg)->vnow;
}

static void send_req(struct bench *b)
{
    netio_send(b->cli, b->conn, b->req, b->req_len);
}

/* The client's part of a tick (not counted): kept out of line so that its
 * frame set-up is not counted either. */
__attribute__((noinline)) static void client_tick(struct bench *b)
{
    b->vnow += 2000; /* 2 us of virtual time per loop */
    struct netio_event evs[16];
    int n = netio_poll(b->cli, evs, 16, 0);
    for (int i = 0; i < n; i++) {
        struct netio_event *e = &evs[i];
        if (e->type == NETIO_EV_CONNECTED) {
            b->connected = 1;
            send_req(b);
        } else if (e->type == NETIO_EV_READABLE) {
            size_t len = e->len;
            if (!b->resp_len) {
                const char *end = memmem(e->data, len, "\r\n\r\n", 4);
                if (!end) continue;
                b->resp_len = (size_t)(end + 4 - (const char *)e->data) + b->size;
            }
            while (len >= b->resp_len) {
                netio_consume(b->cli, b->conn, b->resp_len);
                len -= b->resp_len;
                if (++b->done == b->want + WARMUP) b->stop = 1;
                else send_req(b);
            }
        } else if (e->type == NETIO_EV_CLOSED) {
            b->stop = 1;
        }
    }
    netio_flush(b->cli);
}

static void on_tick(void *arg)
{
    struct bench *b = arg;
    if (b->collecting) CALLGRIND_TOGGLE_COLLECT; /* client side: not counted */
    client_tick(b);
    if (b->done >= WARMUP && !b->stop) {
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
    b->conn = netio_connect(b->cli, &b->dst, b, err, sizeof(err));
    if (b->conn < 0) {
        fprintf(stderr, "ustack_ipr: connect: %s\n", err);
        b->stop = 1;
    }
}

int main(int argc, char **argv)
{
    struct bench b = {.want = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000,
                      .size = argc > 2 ? strtoull(argv[2], NULL, 10) : 64};
    char err[256];
    struct pktio *pa, *pb;
    static const char *const ml_opts[] = {"lock=0", NULL}; /* one thread drives both ends */
    struct pktio_config pc = {.opts = ml_opts};
    if (memlink_pair(&pc, &pa, &pb, err, sizeof(err)) < 0) {
        fprintf(stderr, "ustack_ipr: %s\n", err);
        return 1;
    }
    struct ustack_config sc, cc;
    ustack_config_defaults(&sc);
    sc.now_ns = vclock;
    sc.now_arg = &b;
    sc.isn_seed = 1;
    sc.cpu = -1;
    cc = sc;
    const char *tw = getenv("BB_TEST_WORK"); /* TEST ONLY: extra work per frame, server side */
    if (tw && *tw) sc.test_work_per_packet = (uint32_t)strtoul(tw, NULL, 10);
    inet_pton(AF_INET, "198.18.0.2", &sc.ip);
    inet_pton(AF_INET, "198.18.0.1", &cc.ip);
    sc.prefix_len = cc.prefix_len = 24;
    struct netio *srv = ustack_open(pa, &sc, err, sizeof(err));
    b.cli = srv ? ustack_open(pb, &cc, err, sizeof(err)) : NULL;
    if (!srv || !b.cli) {
        fprintf(stderr, "ustack_ipr: %s\n", err);
        return 1;
    }
    b.dst.sin_family = AF_INET;
    b.dst.sin_port = htons(80);
    inet_pton(AF_INET, "198.18.0.2", &b.dst.sin_addr);
    b.req_len = (size_t)snprintf(b.req, sizeof(b.req), "GET /bytes/%llu HTTP/1.1\r\nHost: b\r\n\r\n",
                                 (unsigned long long)b.size);
    struct srv_config cfg;
    srv_config_defaults(&cfg);
    cfg.listen = b.dst;
    cfg.max_conns = 16;
    cfg.stop = &b.stop;
    cfg.on_ready = on_ready;
    cfg.on_tick = on_tick;
    cfg.arg = &b;
    struct srv_stats st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = server_run(srv, &cfg, &st, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) fprintf(stderr, "ustack_ipr: %s\n", err);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("ustack_ipr: %llu measured requests of /bytes/%llu (after %d warm-up), %.0f req/s "
           "wall-clock both sides, server answered %llu\n",
           (unsigned long long)(b.done > WARMUP ? b.done - WARMUP : 0),
           (unsigned long long)b.size, WARMUP, (double)b.done / secs,
           (unsigned long long)st.requests);
    netio_destroy(b.cli);
    netio_destroy(srv);
    return rc < 0 || b.done < b.want + WARMUP;
}
