/*
 * loadgen_ipr.c — instructions per keep-alive request through our stack,
 * generator side, over memlink: the deterministic cost figure of
 * workloads/loadgen.c (the other half of ustack_ipr.c's server figure; on the
 * DPDK ring link both sides run our stack on their own core, so cycles per
 * request count both).
 *
 * Two threads that never run at the same time. The HTTP server
 * (workloads/server.c) runs on a ustack over one memlink end in a pthread;
 * the real generator, loadgen_run (closed loop, CONNS connections, one request
 * in flight each), runs on a ustack over the other end in the main thread.
 * They hand a baton to each other once per event-loop round: the generator at
 * each netio_poll (an interposed poll, see gen_poll) and the server in its
 * on_tick hook. So the interleaving is fixed, the link needs no lock (lock=0,
 * as in ustack_ipr: the semaphores order every access), and with one virtual
 * clock for both stacks and the generator, every run takes the same path.
 *
 * Under `valgrind --tool=callgrind --collect-atstart=no` only the generator's
 * rounds are collected (collection is toggled on after the hand-back and off
 * before the next hand-off), from the end of a warm-up until WANT more
 * responses have been validated; the ramp-down and the shutdown are not.
 * The bench script divides callgrind's total by the count printed here.
 *
 *   loadgen_ipr [REQUESTS [SIZE [CONNS]]]   (default 4000 requests of /bytes/64
 *   over 64 connections, after a warm-up of max(200, 4 x CONNS) responses)
 *   It prints counted_requests=K: the responses the generator validated while
 *   collection was on, the divisor for callgrind's total.
 */
#include "tests/rig/stack_rig.h"
#include "workloads/loadgen.h"
#include "workloads/pattern.h"
#include "workloads/server.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#define WARMUP 200        /* warm-up responses: max(WARMUP, 4 x CONNS) */
#define ROUND_NS 2000ull  /* virtual time per round (one generator + one server loop) */
#define MAX_CONNS 1024

struct bench {
    sem_t to_srv, to_gen;    /* the baton */
    volatile sig_atomic_t srv_stop;
    int srv_done;            /* server_run returned: no more hand-offs */
    int srv_rc;
    char srv_err[256];
    struct stack_rig rig;    /* server on end 0, generator on end 1; rig.now_ns: both clocks */
    struct netio *srv, *cli;
    struct srv_config scfg;
    struct srv_stats sst;
    int (*inner_poll)(struct netio *, struct netio_event *, int, int);
    struct netio_ops gen_ops; /* the generator stack's ops with poll interposed */
    struct lg_result res;    /* loadgen_run's live result: read for the window */
    uint64_t warm, want;
    uint64_t win_end;        /* requests_total at which the window ends (0: not begun) */
    int collecting;
    uint64_t at_start, counted; /* responses validated while collected */
};

static struct bench B;

/* Server side of the baton: after every server loop round, let the
 * generator run one round. */
static void srv_tick(void *arg)
{
    struct bench *b = arg;
    sem_post(&b->to_gen);
    sem_wait(&b->to_srv);
}

static void *srv_thread(void *arg)
{
    struct bench *b = arg;
    b->srv_rc = server_run(b->srv, &b->scfg, &b->sst, b->srv_err, sizeof(b->srv_err));
    b->srv_done = 1;
    sem_post(&b->to_gen); /* the generator may be waiting for its turn */
    return NULL;
}

/* The generator's netio_poll: close the collected part of the round, let the
 * server run one round, then (inside the window) collect this round: the
 * stack's poll, loadgen's event handling and its flush. Installed by
 * replacing the instance's ops pointer (struct netio starts with it), so
 * every other netio call goes straight to the stack as usual. */
static int gen_poll(struct netio *io, struct netio_event *evs, int max, int timeout_us)
{
    struct bench *b = &B;
    if (b->collecting) {
        CALLGRIND_TOGGLE_COLLECT;
        b->counted += b->res.requests_total - b->at_start;
        b->collecting = 0;
    }
    b->rig.now_ns += ROUND_NS;
    if (!b->srv_done) {
        sem_post(&b->to_srv);
        sem_wait(&b->to_gen);
    }
    uint64_t t = b->res.requests_total;
    /* The window is WANT responses from where it began: a round completes
     * several responses (64 KiB bodies: many), so it begins past `warm`. */
    if (!b->win_end && t >= b->warm) b->win_end = t + b->want;
    if (b->win_end && t < b->win_end) {
        b->at_start = t;
        b->collecting = 1;
        CALLGRIND_TOGGLE_COLLECT;
    }
    return b->inner_poll(io, evs, max, timeout_us);
}

int main(int argc, char **argv)
{
    struct bench *b = &B;
    b->want = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000;
    uint64_t size = argc > 2 ? strtoull(argv[2], NULL, 10) : 64;
    uint32_t nconns = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 64;
    if (nconns < 1 || nconns > MAX_CONNS || b->want == 0) {
        fprintf(stderr, "loadgen_ipr: REQUESTS must be > 0 and CONNS 1..%d\n", MAX_CONNS);
        return 2;
    }
    b->warm = 4ull * nconns > WARMUP ? 4ull * nconns : WARMUP;
    char err[256];
    struct stack_rig_opts o;
    stack_rig_opts_init(&o, 2);
    /* lock=0: the two threads never run at once, and the baton's semaphores
     * order every access to the link (as one thread would). */
    static const char *const ml_opts[] = {"lock=0", NULL};
    o.link.opts = ml_opts;
    o.start_ns = 1000000000ull;
    /* the server (end 0) is 198.18.0.2 (ISN seed 1), the generator 198.18.0.1 (seed 2) */
    o.stack[0].ip.s_addr = htonl(STACK_RIG_IP(1));
    o.stack[1].ip.s_addr = htonl(STACK_RIG_IP(0));
    o.stack[0].busy_poll = o.stack[1].busy_poll = 1;
    if (stack_rig_open(&b->rig, &o, err, sizeof(err)) < 0) {
        fprintf(stderr, "loadgen_ipr: %s\n", err);
        return 1;
    }
    b->srv = b->rig.io[0];
    b->cli = b->rig.io[1];
    b->gen_ops = *b->cli->ops;
    b->inner_poll = b->gen_ops.poll;
    b->gen_ops.poll = gen_poll;
    b->cli->ops = &b->gen_ops;

    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "198.18.0.2", &dst.sin_addr);
    srv_config_defaults(&b->scfg);
    b->scfg.listen = dst;
    b->scfg.max_conns = nconns > 16 ? nconns : 16;
    b->scfg.idle_timeout_ns = 0; /* the server's own clock is real time: keep it out */
    b->scfg.stop = &b->srv_stop;
    b->scfg.on_tick = srv_tick;
    b->scfg.arg = b;

    struct lg_config lc;
    memset(&lc, 0, sizeof(lc));
    wl_spec_defaults(&lc.spec);
    lc.spec.mode = WL_CLOSED;
    snprintf(lc.spec.path, sizeof(lc.spec.path), "/bytes/%llu", (unsigned long long)size);
    lc.spec.connections = nconns;
    lc.spec.pipeline = 1;
    lc.spec.warmup_ns = 0;
    lc.spec.duration_ns = 0;
    /* Past the window the run goes on briefly, so the window is steady state. */
    lc.spec.requests = b->warm + b->want + 4ull * nconns;
    lc.dst = dst;
    snprintf(lc.host, sizeof(lc.host), "b");
    lc.now_ns = stack_rig_now;
    lc.now_arg = &b->rig;

    pattern_init(); /* built before the window, as by any earlier run */
    if (sem_init(&b->to_srv, 0, 0) < 0 || sem_init(&b->to_gen, 0, 0) < 0) {
        fprintf(stderr, "loadgen_ipr: sem_init failed\n");
        return 1;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, srv_thread, b) != 0) {
        fprintf(stderr, "loadgen_ipr: pthread_create failed\n");
        return 1;
    }
    sem_wait(&b->to_gen); /* the server is listening and has finished its first round */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(err, sizeof(err), "the server stopped before the generator started");
    int rc = b->srv_done ? -1 : loadgen_run(b->cli, &lc, &b->res, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (b->collecting) { /* only if the run ended inside the window */
        CALLGRIND_TOGGLE_COLLECT;
        b->counted += b->res.requests_total - b->at_start;
        b->collecting = 0;
    }
    b->srv_stop = 1;
    if (!b->srv_done) sem_post(&b->to_srv);
    pthread_join(th, NULL);
    if (rc < 0) fprintf(stderr, "loadgen_ipr: %s\n", err);
    if (b->srv_rc < 0) fprintf(stderr, "loadgen_ipr: server: %s\n", b->srv_err);

    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("loadgen_ipr: %llu responses of /bytes/%llu on %u connections (%llu warm-up, "
           "%llu errors), %.0f req/s wall-clock both sides, server answered %llu\n",
           (unsigned long long)b->res.requests_total, (unsigned long long)size, nconns,
           (unsigned long long)b->warm, (unsigned long long)b->res.errors_total,
           (double)b->res.requests_total / secs, (unsigned long long)b->sst.requests_parsed);
    /* the divisor for callgrind's total: responses validated while collected */
    printf("loadgen_ipr: counted_requests=%llu\n", (unsigned long long)b->counted);
    stack_rig_close(&b->rig);
    if (b->sst.conns_accepted < nconns) /* the figure would be for fewer connections */
        fprintf(stderr, "loadgen_ipr: only %llu of %u connections came up\n",
                (unsigned long long)b->sst.conns_accepted, nconns);
    return rc < 0 || b->srv_rc < 0 || b->res.errors_total || b->counted < b->want ||
           b->sst.conns_accepted < nconns;
}
