/*
 * test_dpdk_ring.c — tests for the cross-wired net_ring pair of the "dpdk"
 * pktio (drivers/dpdk/ring.c, option ring=NAME:A|B): the `ring` link of DESIGN §5.
 *
 * Each Criterion test runs in its own process (its default), so each gets a
 * fresh EAL (--no-huge, a per-pid file prefix). EAL start-up without the
 * privileges it needs skips the test with a message. Wall time is only a
 * hang guard, never asserted.
 */
#include <criterion/criterion.h>

#include "drivers/pktio.h"

#ifdef HAVE_DPDK

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFRAMES 1000u
#define ETHERTYPE_TEST 0x88b5

static const struct pktio_ops *ops(void)
{
    const struct pktio_ops *o = pktio_find("dpdk");
    cr_assert_not_null(o, "the dpdk backend is not in the pktio table");
    return o;
}

static int privilege_error(const char *err)
{
    return strstr(err, "Permission denied") || strstr(err, "Operation not permitted");
}

static struct pktio *open_or_skip(const char *const *opts)
{
    struct pktio_config cfg = {.opts = opts};
    char err[512] = "";
    struct pktio *p = ops()->open(&cfg, err, sizeof(err));
    if (!p && privilege_error(err)) cr_skip_test("DPDK EAL needs privileges here: %s", err);
    cr_assert_not_null(p, "open: %s", err);
    return p;
}

/* A counter by name, or ~0 when missing (no assertions: threads call it). */
static uint64_t counter(struct pktio *p, const char *name)
{
    struct netio_counter c[128];
    int n = pktio_counters(p, c, 128);
    for (int i = 0; i < n; i++)
        if (c[i].name && strcmp(c[i].name, name) == 0) return c[i].value;
    return ~0ull;
}

static uint32_t frame_len(uint32_t i)
{
    return 60 + (i * 37u) % (1514 - 60 + 1);
}

static void fill_frame(uint8_t *f, uint32_t i, uint32_t len, uint8_t tag)
{
    memset(f, 0xff, 6);
    memset(f + 6, tag, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    memcpy(f + 14, &i, 4);
    for (uint32_t j = 18; j < len; j++)
        f[j] = (uint8_t)(i * 7 + j + tag);
}

static void check_frame(const struct pktbuf *b, uint32_t i, uint8_t tag)
{
    uint8_t want[PKTIO_MAX_FRAME];
    uint32_t len = frame_len(i);
    fill_frame(want, i, len, tag);
    cr_assert_eq(b->len, len, "frame %u: len %u, want %u", i, b->len, len);
    cr_assert(memcmp(b->data, want, len) == 0, "frame %u: bytes differ", i);
}

/* Send n frames on a, receive them in order on b, byte for byte. */
static void send_and_check(struct pktio *a, struct pktio *b, uint32_t n, uint8_t tag)
{
    uint32_t sent = 0, got = 0;
    for (long spin = 0; got < n; spin++) {
        cr_assert_lt(spin, 5000000, "hang: sent %u, received %u", sent, got);
        struct pktbuf *tx[32];
        uint16_t k = 0;
        while (k < 32 && sent + k < n) {
            tx[k] = pktio_alloc(a);
            cr_assert_not_null(tx[k], "alloc failed at frame %u", sent + k);
            tx[k]->len = frame_len(sent + k);
            fill_frame(tx[k]->data, sent + k, tx[k]->len, tag);
            k++;
        }
        uint16_t acc = k ? pktio_tx_burst(a, tx, k) : 0;
        if (acc < k) pktio_free(a, tx + acc, (uint16_t)(k - acc));
        sent += acc;
        struct pktbuf *rx[64];
        uint16_t r = pktio_rx_burst(b, rx, 64);
        for (uint16_t j = 0; j < r; j++)
            check_frame(rx[j], got++, tag);
        pktio_free(b, rx, r);
    }
}

static int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void rm_runtime_dirs(void)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/var/run/dpdk/bb%ld", (long)getpid());
    (void)rmdir(dir);
}

TestSuite(dpdk_ring, .fini = rm_runtime_dirs);

Test(dpdk_ring, option_errors)
{
    struct {
        const char *opt, *want;
    } cases[] = {
        {"ring=x", "ring=NAME:A"},
        {"ring=:A", "ring=NAME:A"},
        {"ring=x:C", "ring=NAME:A"},
        {"ring=x:", "ring=NAME:A"},
        {"ring=bad-name:A", "ring=NAME:A"},
        {"ring=a_name_far_too_long:A", "ring=NAME:A"},
        {"register=2", "bad value '2' for register"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *opts[] = {cases[i].opt, NULL};
        struct pktio_config cfg = {.opts = opts};
        err[0] = '\0';
        cr_assert_null(ops()->open(&cfg, err, sizeof(err)), "%s accepted", cases[i].opt);
        cr_assert(strstr(err, cases[i].want), "%s: err '%s'", cases[i].opt, err);
    }
    const char *both[] = {"ring=x:A", "port=0", NULL};
    struct pktio_config cfg = {.opts = both};
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "not both"), "err '%s'", err);
}

/* Both ends in this thread: 1000 frames each way, byte for byte, pools back
 * to their baselines, distinct MACs, one open per end. */
Test(dpdk_ring, pair_both_ways_byte_exact)
{
    static const char *const oa[] = {"ring=tp:A", NULL};
    static const char *const ob[] = {"ring=tp:B", NULL};
    struct pktio *a = open_or_skip(oa);
    struct pktio *b = open_or_skip(ob);
    struct pktio_info ia, ib;
    pktio_info(a, &ia);
    pktio_info(b, &ib);
    static const uint8_t zero[6];
    cr_assert(memcmp(ia.mac, zero, 6) != 0 && memcmp(ib.mac, zero, 6) != 0, "no MAC address");
    cr_assert(memcmp(ia.mac, ib.mac, 6) != 0, "both ends have the same MAC");
    cr_assert_eq(counter(a, "opener_lcore"), 0, "EAL's own thread is lcore 0");

    char err[512] = "";
    struct pktio_config again = {.opts = oa};
    cr_assert_null(ops()->open(&again, err, sizeof(err)), "end A opened twice");
    cr_assert(strstr(err, "already open"), "err '%s'", err);

    uint32_t base_a = a->ops->in_use(a), base_b = b->ops->in_use(b);
    send_and_check(a, b, NFRAMES, 0xa0);
    send_and_check(b, a, NFRAMES, 0xb0);
    cr_assert_eq(a->ops->in_use(a), base_a, "A: mbufs in use %u, baseline %u", a->ops->in_use(a),
                 base_a);
    cr_assert_eq(b->ops->in_use(b), base_b, "B: mbufs in use %u, baseline %u", b->ops->in_use(b),
                 base_b);
    /* Nothing crossed a wire the other way: a frame sent by A never comes back to A. */
    struct pktbuf *rx[8];
    cr_assert_eq(pktio_rx_burst(a, rx, 8), 0);
    cr_assert_eq(counter(a, "tx_frames"), NFRAMES);
    cr_assert_eq(counter(b, "rx_frames"), NFRAMES);

    /* Frames left in flight when an end closes do not keep anything alive. */
    struct pktbuf *t = pktio_alloc(a);
    cr_assert_not_null(t);
    t->len = 60;
    fill_frame(t->data, 0, 60, 0xc0);
    cr_assert_eq(pktio_tx_burst(a, &t, 1), 1);
    pktio_close(b);
    pktio_close(a);
    char dir[64];
    snprintf(dir, sizeof(dir), "/var/run/dpdk/bb%ld", (long)getpid());
    cr_assert_not(path_exists(dir), "%s left behind", dir);
}

/* ---- end B in its own thread ------------------------------------------------- */

struct echo {
    atomic_int state; /* 0 starting, 1 open, 2 main is done, 3 closed, -1 failed */
    char err[512];
    uint64_t lcore, echoed, in_use_base, in_use_end;
};

/* Opens end B in this thread (a non-EAL thread: it gets registered), sends
 * back every frame it receives (A's own mbufs, zero copy) until told to stop,
 * then closes B here. */
static void *echo_main(void *arg)
{
    struct echo *e = arg;
    static const char *const ob[] = {"ring=te:B", NULL};
    struct pktio_config cfg = {.opts = ob};
    struct pktio *b = ops()->open(&cfg, e->err, sizeof(e->err));
    if (!b) {
        atomic_store(&e->state, -1);
        return NULL;
    }
    e->lcore = counter(b, "opener_lcore");
    e->in_use_base = b->ops->in_use(b);
    atomic_store(&e->state, 1);
    while (atomic_load(&e->state) == 1) {
        struct pktbuf *rx[32];
        uint16_t r = pktio_rx_burst(b, rx, 32), sent = 0;
        while (sent < r) {
            sent = (uint16_t)(sent + pktio_tx_burst(b, rx + sent, (uint16_t)(r - sent)));
            if (atomic_load(&e->state) != 1) break;
        }
        if (sent < r) pktio_free(b, rx + sent, (uint16_t)(r - sent));
        e->echoed += sent;
        if (!r) sched_yield();
    }
    e->in_use_end = b->ops->in_use(b);
    pktio_close(b);
    atomic_store(&e->state, 3);
    return NULL;
}

Test(dpdk_ring, pair_across_threads)
{
    static const char *const oa[] = {"ring=te:A", NULL};
    struct pktio *a = open_or_skip(oa);
    uint32_t base_a = a->ops->in_use(a);
    struct echo e;
    memset(&e, 0, sizeof(e));
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, echo_main, &e), 0);
    for (long spin = 0; atomic_load(&e.state) == 0; spin++) {
        cr_assert_lt(spin, 100000000, "end B never opened");
        sched_yield();
    }
    if (atomic_load(&e.state) < 0) {
        pthread_join(th, NULL);
        cr_assert_fail("open B in a thread: %s", e.err);
    }
    /* A's frames come back to A through B: byte for byte, in order. */
    send_and_check(a, a, NFRAMES, 0xe0);
    atomic_store(&e.state, 2);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&e.state), 3);
    cr_assert_eq(e.echoed, NFRAMES);
    cr_assert_eq(counter(a, "opener_lcore"), 0);
    cr_assert(e.lcore != 0 && e.lcore != ~0ull, "B's thread was not registered (lcore %llu)",
              (unsigned long long)e.lcore);
    cr_assert_eq(e.in_use_end, e.in_use_base, "B: %llu mbufs in use, baseline %llu",
                 (unsigned long long)e.in_use_end, (unsigned long long)e.in_use_base);
    cr_assert_eq(a->ops->in_use(a), base_a, "A: mbufs in use %u, baseline %u", a->ops->in_use(a),
                 base_a);
    pktio_close(a);
}

#else

Test(dpdk_ring, not_built)
{
    cr_skip_test("built without DPDK (libdpdk-dev not found by pkg-config)");
}

#endif
