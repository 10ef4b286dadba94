/*
 * test_impair.c — unit tests for drivers/impair.c over a memlink pair: A is
 * wrapped, frames go A -> B. Loss rate and seed determinism, duplication,
 * reordering, single-bit corruption, delay on a virtual clock, queueing when
 * the inner ring is full, leak accounting and close with frames queued.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "drivers/pktio.h"

#define NFRAMES 10000u
#define FLEN 128u

struct vclock {
    uint64_t t;
};

static uint64_t vnow(void *arg)
{
    return ((struct vclock *)arg)->t;
}

static uint64_t ctr(struct pktio *p, const char *name)
{
    struct netio_counter c[64];
    int n = pktio_counters(p, c, 64);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    cr_assert_fail("counter %s missing", name);
    return 0;
}

static uint8_t pat(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 31u + i * 7u + 1u);
}

static void fill(struct pktbuf *b, uint32_t seq)
{
    b->len = FLEN;
    for (uint32_t i = 0; i < FLEN; i++)
        b->data[i] = pat(seq, i);
    memcpy(b->data, &seq, sizeof(seq)); /* inside the Ethernet header: never corrupted */
}

static uint32_t seq_of(const struct pktbuf *b)
{
    uint32_t s;
    memcpy(&s, b->data, sizeof(s));
    return s;
}

/* Bits that differ from the expected frame content. */
static int bit_diff(const struct pktbuf *b)
{
    uint32_t seq = seq_of(b);
    int d = 0;
    for (uint32_t i = sizeof(seq); i < FLEN; i++) {
        uint8_t x = (uint8_t)(b->data[i] ^ pat(seq, i));
        cr_assert(x == 0 || i >= 14, "frame %u corrupted in the Ethernet header (byte %u)", seq, i);
        d += __builtin_popcount(x);
    }
    return d;
}

struct rig {
    struct pktio *a, *b; /* a = impaired wrapper around memlink end A */
    struct vclock clk;
};

static void rig_open(struct rig *r, struct impair_config c, const char *const *opts)
{
    char err[256] = "";
    struct pktio *ia;
    struct pktio_config cfg = {.opts = opts};
    cr_assert_eq(memlink_pair(&cfg, &ia, &r->b, err, sizeof(err)), 0, "%s", err);
    r->clk.t = 0;
    c.now_ns = vnow;
    c.now_arg = &r->clk;
    r->a = impair_wrap(ia, &c, err, sizeof(err));
    cr_assert_not_null(r->a, "impair_wrap: %s", err);
}

static void rig_close(struct rig *r)
{
    cr_assert_eq(r->a->ops->in_use(r->a), 0, "leak: %u buffers in use", r->a->ops->in_use(r->a));
    pktio_close(r->a);
    pktio_close(r->b);
}

/* Receive everything on B; record sequence numbers and corrupted-bit counts. */
static uint32_t drain(struct rig *r, uint32_t *seqs, uint32_t max, int *diffs)
{
    uint32_t n = 0;
    struct pktbuf *rx[32];
    uint16_t got;
    while ((got = pktio_rx_burst(r->b, rx, 32)) > 0) {
        for (uint16_t i = 0; i < got; i++) {
            cr_assert_lt(n, max, "more frames than expected");
            cr_assert_eq(rx[i]->len, FLEN);
            if (diffs) diffs[n] = bit_diff(rx[i]);
            seqs[n++] = seq_of(rx[i]);
        }
        pktio_free(r->b, rx, got);
    }
    return n;
}

/* Send NFRAMES through the wrapper, receiving as we go; returns frames received. */
static uint32_t run(struct rig *r, uint32_t *seqs, uint32_t max, int *diffs)
{
    uint32_t sent = 0, n = 0;
    while (sent < NFRAMES) {
        struct pktbuf *tx[32];
        uint16_t k = 0;
        while (k < 32 && sent + k < NFRAMES) {
            tx[k] = pktio_alloc(r->a);
            cr_assert_not_null(tx[k]);
            fill(tx[k], sent + k);
            k++;
        }
        cr_assert_eq(pktio_tx_burst(r->a, tx, k), k);
        sent += k;
        n += drain(r, seqs + n, max - n, diffs ? diffs + n : NULL);
    }
    /* Let a held (reordered) or delayed frame go. */
    r->clk.t += 1000000000ull;
    pktio_rx_burst(r->a, NULL, 0);
    n += drain(r, seqs + n, max - n, diffs ? diffs + n : NULL);
    return n;
}

Test(impair, loss_rate_and_seed_determinism)
{
    static uint32_t s1[NFRAMES], s2[NFRAMES], s3[NFRAMES];
    struct rig r;
    struct impair_config c = {.seed = 42, .loss = 0.1};
    rig_open(&r, c, NULL);
    uint32_t n1 = run(&r, s1, NFRAMES, NULL);
    uint32_t lost = NFRAMES - n1;
    cr_assert(lost >= NFRAMES * 8 / 100 && lost <= NFRAMES * 12 / 100, "lost %u of %u", lost,
              NFRAMES);
    cr_assert_eq(ctr(r.a, "impair_lost"), lost);
    for (uint32_t i = 1; i < n1; i++)
        cr_assert_lt(s1[i - 1], s1[i], "order kept");
    rig_close(&r);

    rig_open(&r, c, NULL);
    uint32_t n2 = run(&r, s2, NFRAMES, NULL);
    cr_assert_eq(n2, n1);
    cr_assert_arr_eq(s1, s2, n1 * sizeof(uint32_t), "same seed, same pattern");
    rig_close(&r);

    c.seed = 43;
    rig_open(&r, c, NULL);
    uint32_t n3 = run(&r, s3, NFRAMES, NULL);
    cr_assert(n3 != n1 || memcmp(s1, s3, n1 * sizeof(uint32_t)) != 0, "other seed, other pattern");
    rig_close(&r);
}

Test(impair, duplication)
{
    static uint32_t s[2 * NFRAMES];
    struct rig r;
    rig_open(&r, (struct impair_config){.seed = 7, .dup = 0.2}, NULL);
    uint32_t n = run(&r, s, 2 * NFRAMES, NULL);
    uint64_t dups = ctr(r.a, "impair_dup");
    cr_assert(dups > NFRAMES * 15 / 100 && dups < NFRAMES * 25 / 100, "dups %lu", dups);
    cr_assert_eq(n, NFRAMES + dups);
    cr_assert_eq(ctr(r.a, "impair_dup_fail"), 0);
    /* Every frame once, copies right after their original. */
    uint32_t expect = 0, seen_dups = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && s[i] == s[i - 1]) {
            seen_dups++;
            continue;
        }
        cr_assert_eq(s[i], expect, "position %u", i);
        expect++;
    }
    cr_assert_eq(expect, NFRAMES);
    cr_assert_eq(seen_dups, dups);
    rig_close(&r);
}

Test(impair, reordering)
{
    static uint32_t s[NFRAMES];
    struct rig r;
    rig_open(&r, (struct impair_config){.seed = 9, .reorder = 0.1}, NULL);
    uint32_t n = run(&r, s, NFRAMES, NULL);
    cr_assert_eq(n, NFRAMES, "reordering loses nothing");
    uint64_t re = ctr(r.a, "impair_reordered");
    cr_assert(re > NFRAMES * 5 / 100 && re < NFRAMES * 12 / 100, "reordered %lu", re);
    /* A held frame goes out right after the next one: adjacent swaps only. */
    uint32_t inversions = 0;
    static uint8_t seen[NFRAMES];
    memset(seen, 0, sizeof(seen));
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_lt(s[i], NFRAMES);
        cr_assert_eq(seen[s[i]], 0, "frame %u twice", s[i]);
        seen[s[i]] = 1;
        int64_t disp = (int64_t)s[i] - (int64_t)i;
        cr_assert(disp >= -1 && disp <= 1, "frame %u at position %u", s[i], i);
        if (i > 0 && s[i] < s[i - 1]) inversions++;
    }
    /* Each hold makes one adjacent swap, but for a last frame let go by the clock. */
    cr_assert(inversions == re || (inversions + 1 == re && s[n - 1] == NFRAMES - 1),
              "inversions %u, reordered %lu", inversions, re);
    rig_close(&r);
}

Test(impair, held_frame_released_after_timeout)
{
    struct rig r;
    rig_open(&r, (struct impair_config){.seed = 1, .reorder = 1.0}, NULL);
    struct pktbuf *t = pktio_alloc(r.a);
    fill(t, 0);
    cr_assert_eq(pktio_tx_burst(r.a, &t, 1), 1);
    uint32_t s[4];
    cr_assert_eq(drain(&r, s, 4, NULL), 0, "held");
    r.clk.t = 999999;
    pktio_rx_burst(r.a, NULL, 0);
    cr_assert_eq(drain(&r, s, 4, NULL), 0, "still held before 1 ms");
    /* Next frame: it is sent and the held one right after it. */
    t = pktio_alloc(r.a);
    fill(t, 1);
    cr_assert_eq(pktio_tx_burst(r.a, &t, 1), 1);
    cr_assert_eq(drain(&r, s, 4, NULL), 2);
    cr_assert_eq(s[0], 1);
    cr_assert_eq(s[1], 0);
    /* A lone held frame leaves after 1 ms of the clock. */
    t = pktio_alloc(r.a);
    fill(t, 2);
    cr_assert_eq(pktio_tx_burst(r.a, &t, 1), 1);
    cr_assert_eq(drain(&r, s, 4, NULL), 0);
    r.clk.t += 1000000;
    pktio_rx_burst(r.a, NULL, 0);
    cr_assert_eq(drain(&r, s, 4, NULL), 1);
    cr_assert_eq(s[0], 2);
    rig_close(&r);
}

Test(impair, corruption_flips_exactly_one_bit)
{
    static uint32_t s[NFRAMES];
    static int d[NFRAMES];
    struct rig r;
    rig_open(&r, (struct impair_config){.seed = 11, .corrupt = 0.3}, NULL);
    uint32_t n = run(&r, s, NFRAMES, d);
    cr_assert_eq(n, NFRAMES);
    uint64_t bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(s[i], i);
        cr_assert(d[i] == 0 || d[i] == 1, "frame %u: %d bits differ", i, d[i]);
        bad += (uint64_t)d[i];
    }
    cr_assert_eq(bad, ctr(r.a, "impair_corrupted"));
    cr_assert(bad > NFRAMES * 25 / 100 && bad < NFRAMES * 35 / 100, "corrupted %lu", bad);
    rig_close(&r);
}

Test(impair, delay_on_virtual_clock)
{
    struct rig r;
    rig_open(&r, (struct impair_config){.seed = 5, .delay_ns = 1000}, NULL);
    r.clk.t = 5000;
    struct pktbuf *tx[10];
    for (uint32_t i = 0; i < 10; i++) {
        tx[i] = pktio_alloc(r.a);
        fill(tx[i], i);
    }
    cr_assert_eq(pktio_tx_burst(r.a, tx, 10), 10);
    cr_assert_eq(r.a->ops->in_use(r.a), 10, "queued frames are in use");
    uint32_t s[32];
    cr_assert_eq(drain(&r, s, 32, NULL), 0, "nothing before due time");
    r.clk.t = 5999;
    cr_assert_eq(pktio_rx_burst(r.a, tx, 10), 0);
    cr_assert_eq(drain(&r, s, 32, NULL), 0, "nothing before due time");
    r.clk.t = 6000;
    cr_assert_eq(pktio_rx_burst(r.a, tx, 10), 0); /* rx_burst releases */
    cr_assert_eq(drain(&r, s, 32, NULL), 10);
    for (uint32_t i = 0; i < 10; i++)
        cr_assert_eq(s[i], i);

    /* tx_burst releases too (an empty burst is enough). */
    for (uint32_t i = 0; i < 5; i++) {
        tx[i] = pktio_alloc(r.a);
        fill(tx[i], 100 + i);
    }
    cr_assert_eq(pktio_tx_burst(r.a, tx, 5), 5);
    r.clk.t = 6999;
    cr_assert_eq(pktio_tx_burst(r.a, tx, 0), 0);
    cr_assert_eq(drain(&r, s, 32, NULL), 0);
    r.clk.t = 7000;
    cr_assert_eq(pktio_tx_burst(r.a, tx, 0), 0);
    cr_assert_eq(drain(&r, s, 32, NULL), 5);
    cr_assert_eq(s[4], 104);
    cr_assert_eq(ctr(r.a, "impair_delayed"), 15);
    /* Inner counters come through the wrapper too. */
    cr_assert_eq(ctr(r.a, "tx_frames"), 15);
    rig_close(&r);
}

Test(impair, inner_ring_full_frames_wait_in_queue)
{
    struct rig r;
    const char *opts[] = {"ring_size=8", NULL};
    rig_open(&r, (struct impair_config){.seed = 3}, opts);
    struct pktbuf *tx[20];
    for (uint32_t i = 0; i < 20; i++) {
        tx[i] = pktio_alloc(r.a);
        fill(tx[i], i);
    }
    cr_assert_eq(pktio_tx_burst(r.a, tx, 20), 20);
    uint32_t s[32], n = drain(&r, s, 32, NULL);
    cr_assert_eq(n, 8);
    while (n < 20) {
        pktio_rx_burst(r.a, NULL, 0);
        uint32_t k = drain(&r, s + n, 32 - n, NULL);
        cr_assert_gt(k, 0);
        n += k;
    }
    for (uint32_t i = 0; i < 20; i++)
        cr_assert_eq(s[i], i);
    rig_close(&r);
}

Test(impair, close_frees_queued_and_held_frames)
{
    struct pktio *ia, *b;
    char err[256] = "";
    cr_assert_eq(memlink_pair(NULL, &ia, &b, err, sizeof(err)), 0, "%s", err);
    struct vclock clk = {0};
    struct impair_config c = {
        .seed = 2, .reorder = 1.0, .delay_ns = 100, .now_ns = vnow, .now_arg = &clk};
    struct pktio *a = impair_wrap(ia, &c, err, sizeof(err));
    cr_assert_not_null(a, "%s", err);
    struct pktbuf *tx[3];
    for (uint32_t i = 0; i < 3; i++) {
        tx[i] = pktio_alloc(a);
        fill(tx[i], i);
    }
    cr_assert_eq(pktio_tx_burst(a, tx, 3), 3);
    cr_assert_eq(b->ops->in_use(b), 3);
    pktio_close(a); /* closes memlink end A too */
    cr_assert_eq(b->ops->in_use(b), 0);
    pktio_close(b);
}

Test(impair, rejects_bad_config)
{
    struct pktio *ia, *b;
    char err[256] = "";
    cr_assert_eq(memlink_pair(NULL, &ia, &b, err, sizeof(err)), 0, "%s", err);
    struct impair_config c = {.loss = 1.5};
    cr_assert_null(impair_wrap(ia, &c, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "loss"), "err: %s", err);
    c = (struct impair_config){.dup = -0.1};
    cr_assert_null(impair_wrap(ia, &c, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "dup"), "err: %s", err);
    cr_assert_null(impair_wrap(NULL, &c, err, sizeof(err)));
    pktio_close(ia);
    pktio_close(b);
}

Test(impair, total_loss_frees_everything)
{
    static uint32_t s[NFRAMES];
    struct rig r;
    rig_open(&r, (struct impair_config){.seed = 4, .loss = 1.0}, NULL);
    cr_assert_eq(run(&r, s, NFRAMES, NULL), 0);
    cr_assert_eq(ctr(r.a, "impair_lost"), NFRAMES);
    rig_close(&r);
}

/* Frames 1..3 leave at once; after the 3rd the FIFO is held for 1000 ns:
 * what is emitted meanwhile (in order) waits until the spike is over, then
 * the 8th (3 + every 5) starts another. A frame after a spike is not held. */
Test(impair, delay_spike_holds_the_fifo_after_frame_n)
{
    struct rig r;
    rig_open(&r,
             (struct impair_config){.seed = 9, .spike_after = 3, .spike_every = 5, .spike_ns = 1000},
             NULL);
    r.clk.t = 100;
    struct pktbuf *tx[8];
    uint32_t s[32];
    for (uint32_t i = 0; i < 5; i++) {
        tx[i] = pktio_alloc(r.a);
        fill(tx[i], i);
    }
    cr_assert_eq(pktio_tx_burst(r.a, tx, 5), 5);
    cr_assert_eq(drain(&r, s, 32, NULL), 3, "the three before the spike leave at once");
    cr_assert_eq(ctr(r.a, "impair_spikes"), 1);
    cr_assert_eq(ctr(r.a, "impair_spiked"), 2);
    r.clk.t = 600; /* within the spike: 3 more wait behind the first 2 */
    for (uint32_t i = 0; i < 3; i++) {
        tx[i] = pktio_alloc(r.a);
        fill(tx[i], 5 + i);
    }
    cr_assert_eq(pktio_tx_burst(r.a, tx, 3), 3);
    r.clk.t = 1099;
    cr_assert_eq(pktio_rx_burst(r.a, tx, 0), 0);
    cr_assert_eq(drain(&r, s, 32, NULL), 0, "nothing leaves before the spike ends");
    r.clk.t = 1100;
    cr_assert_eq(pktio_rx_burst(r.a, tx, 0), 0);
    cr_assert_eq(drain(&r, s, 32, NULL), 5, "the spike is over: the 5 held leave in order");
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(s[i], 3 + i);
    /* the 8th frame started the second spike (at 600, until 1600) */
    cr_assert_eq(ctr(r.a, "impair_spikes"), 2);
    cr_assert_eq(ctr(r.a, "impair_spiked"), 5);
    tx[0] = pktio_alloc(r.a);
    fill(tx[0], 8);
    cr_assert_eq(pktio_tx_burst(r.a, tx, 1), 1);
    cr_assert_eq(drain(&r, s, 32, NULL), 0, "held by the second spike");
    r.clk.t = 1600;
    cr_assert_eq(pktio_rx_burst(r.a, tx, 0), 0);
    cr_assert_eq(drain(&r, s, 32, NULL), 1);
    cr_assert_eq(s[0], 8);
    /* after it: frames 9..12 go at once (the next spike is after frame 13) */
    for (uint32_t i = 0; i < 4; i++) {
        tx[i] = pktio_alloc(r.a);
        fill(tx[i], 9 + i);
    }
    cr_assert_eq(pktio_tx_burst(r.a, tx, 4), 4);
    cr_assert_eq(drain(&r, s, 32, NULL), 4);
    cr_assert_eq(ctr(r.a, "impair_spiked"), 6);
    rig_close(&r);
}

Test(impair, delay_spike_needs_after_and_duration)
{
    char err[256] = "";
    struct pktio *a, *b;
    struct pktio_config cfg = {0};
    cr_assert_eq(memlink_pair(&cfg, &a, &b, err, sizeof(err)), 0, "%s", err);
    struct impair_config bad[] = {{.spike_ns = 1000}, {.spike_after = 3}, {.spike_every = 2}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_null(impair_wrap(a, &bad[i], err, sizeof(err)), "config %zu accepted", i);
        cr_assert(strstr(err, "spike_after"), "error names the option: %s", err);
    }
    pktio_close(a);
    pktio_close(b);
}
