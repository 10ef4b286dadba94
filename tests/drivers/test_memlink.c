/*
 * test_memlink.c — unit tests for drivers/memlink.c through the pktio.h
 * wrappers: order and byte-exactness both ways, ring-full backpressure,
 * leak accounting (in_use), counters, options and the backend table.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "drivers/pktio.h"

static uint64_t ctr(struct pktio *p, const char *name)
{
    struct netio_counter c[32];
    int n = pktio_counters(p, c, 32);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    cr_assert_fail("counter %s missing", name);
    return 0;
}

static void fill(struct pktbuf *b, uint32_t seq, uint32_t len)
{
    b->len = len;
    for (uint32_t i = 0; i < len; i++)
        b->data[i] = (uint8_t)(seq * 7u + i * 13u + (i >> 8));
    memcpy(b->data, &seq, sizeof(seq));
}

static void check(const struct pktbuf *b, uint32_t seq, uint32_t len)
{
    cr_assert_eq(b->len, len, "frame %u: len %u, expected %u", seq, b->len, len);
    uint32_t got;
    memcpy(&got, b->data, sizeof(got));
    cr_assert_eq(got, seq, "expected frame %u, got %u", seq, got);
    for (uint32_t i = sizeof(seq); i < len; i++)
        cr_assert_eq(b->data[i], (uint8_t)(seq * 7u + i * 13u + (i >> 8)), "frame %u byte %u", seq,
                     i);
}

static uint32_t len_of(uint32_t seq)
{
    return 60 + (seq * 97u) % (PKTIO_MAX_FRAME - 60 + 1);
}

static void pair(uint32_t pool, const char *const *opts, struct pktio **a, struct pktio **b)
{
    char err[256] = "";
    struct pktio_config cfg = {.pool_size = pool, .opts = opts};
    cr_assert_eq(memlink_pair(&cfg, a, b, err, sizeof(err)), 0, "memlink_pair: %s", err);
}

/* Send `count` frames from src to dst in bursts, receiving as we go. */
static void transfer(struct pktio *src, struct pktio *dst, uint32_t count)
{
    uint32_t sent = 0, recvd = 0;
    while (recvd < count) {
        struct pktbuf *tx[32];
        uint16_t k = 0;
        while (k < 32 && sent + k < count) {
            tx[k] = pktio_alloc(src);
            cr_assert_not_null(tx[k]);
            cr_assert_geq(tx[k]->cap, PKTIO_MAX_FRAME);
            fill(tx[k], sent + k, len_of(sent + k));
            k++;
        }
        uint16_t acc = pktio_tx_burst(src, tx, k);
        cr_assert_eq(acc, k);
        sent += acc;
        struct pktbuf *rx[16];
        uint16_t got;
        while ((got = pktio_rx_burst(dst, rx, 16)) > 0) {
            for (uint16_t i = 0; i < got; i++, recvd++)
                check(rx[i], recvd, len_of(recvd));
            pktio_free(dst, rx, got);
        }
    }
    struct pktbuf *rx[4];
    cr_assert_eq(pktio_rx_burst(dst, rx, 4), 0, "extra frames");
}

Test(memlink, both_directions_in_order_byte_exact)
{
    struct pktio *a, *b;
    pair(0, NULL, &a, &b);
    transfer(a, b, 5000);
    transfer(b, a, 3000);
    cr_assert_eq(pktio_rx_burst(a, (struct pktbuf *[1]){0}, 1), 0);
    cr_assert_eq(a->ops->in_use(a), 0);
    cr_assert_eq(ctr(a, "tx_frames"), 5000);
    cr_assert_eq(ctr(b, "rx_frames"), 5000);
    cr_assert_eq(ctr(b, "tx_frames"), 3000);
    cr_assert_eq(ctr(a, "rx_frames"), 3000);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < 5000; i++)
        bytes += len_of(i);
    cr_assert_eq(ctr(a, "tx_bytes"), bytes);
    cr_assert_eq(ctr(b, "rx_bytes"), bytes);
    cr_assert_eq(ctr(a, "tx_ring_full"), 0);
    cr_assert_eq(ctr(a, "alloc_fail"), 0);
    pktio_close(a);
    pktio_close(b);
}

Test(memlink, ring_full_backpressure)
{
    struct pktio *a, *b;
    const char *opts[] = {"ring_size=8", NULL};
    pair(64, opts, &a, &b);
    struct pktbuf *tx[12];
    for (int i = 0; i < 12; i++) {
        tx[i] = pktio_alloc(a);
        fill(tx[i], (uint32_t)i, 64);
    }
    cr_assert_eq(a->ops->in_use(a), 12);
    uint16_t acc = pktio_tx_burst(a, tx, 12);
    cr_assert_eq(acc, 8, "accepted %u of 12 into an 8-slot ring", acc);
    cr_assert_eq(ctr(a, "tx_ring_full"), 4);
    cr_assert_eq(ctr(a, "tx_frames"), 8);
    /* The refused ones stay ours and are still intact. */
    cr_assert_eq(pktio_tx_burst(a, tx + 8, 4), 0);
    cr_assert_eq(ctr(a, "tx_ring_full"), 8);
    struct pktbuf *rx[16];
    uint16_t got = pktio_rx_burst(b, rx, 3);
    cr_assert_eq(got, 3);
    for (int i = 0; i < 3; i++)
        check(rx[i], (uint32_t)i, 64);
    pktio_free(b, rx, got);
    cr_assert_eq(pktio_tx_burst(a, tx + 8, 4), 3);
    got = pktio_rx_burst(b, rx, 16);
    cr_assert_eq(got, 8);
    for (int i = 0; i < 8; i++)
        check(rx[i], (uint32_t)(i + 3), 64);
    pktio_free(b, rx, got);
    cr_assert_eq(pktio_tx_burst(a, tx + 11, 1), 1);
    got = pktio_rx_burst(b, rx, 16);
    cr_assert_eq(got, 1);
    check(rx[0], 11, 64);
    pktio_free(b, rx, 1);
    cr_assert_eq(a->ops->in_use(a), 0);
    cr_assert_eq(b->ops->in_use(b), 0);
    pktio_close(b);
    pktio_close(a);
}

Test(memlink, pool_exhaustion_and_leak_accounting)
{
    struct pktio *a, *b;
    pair(16, NULL, &a, &b); /* 32 buffers on the link */
    struct pktbuf *held[32];
    for (int i = 0; i < 32; i++) {
        held[i] = pktio_alloc(i % 2 ? b : a);
        cr_assert_not_null(held[i], "alloc %d", i);
    }
    cr_assert_null(pktio_alloc(a));
    cr_assert_null(pktio_alloc(b));
    cr_assert_eq(ctr(a, "alloc_fail"), 1);
    cr_assert_eq(ctr(b, "alloc_fail"), 1);
    cr_assert_eq(a->ops->in_use(a), 32);
    /* Distinct buffers, each with its own storage. */
    for (int i = 0; i < 32; i++)
        for (int j = i + 1; j < 32; j++)
            cr_assert_neq(held[i]->data, held[j]->data);
    /* Buffers from A may be freed on B. */
    pktio_free(b, held, 10);
    cr_assert_eq(a->ops->in_use(a), 22);
    held[0] = pktio_alloc(a);
    fill(held[0], 1, 100);
    cr_assert_eq(pktio_tx_burst(a, held, 1), 1);
    cr_assert_eq(a->ops->in_use(a), 23, "queued frames count as in use");
    pktio_free(a, held + 10, 22);
    cr_assert_eq(a->ops->in_use(a), 1);
    struct pktbuf *rx[2];
    cr_assert_eq(pktio_rx_burst(b, rx, 2), 1);
    cr_assert_eq(a->ops->in_use(a), 1);
    pktio_free(b, rx, 1);
    cr_assert_eq(a->ops->in_use(a), 0);
    cr_assert_eq(ctr(a, "free_foreign"), 0);
    pktio_close(a);
    pktio_close(b);
}

Test(memlink, alloc_resets_buffer_and_rx_clears_tx_flags)
{
    struct pktio *a, *b;
    pair(4, NULL, &a, &b);
    struct pktbuf *t = pktio_alloc(a);
    cr_assert_eq(t->len, 0);
    cr_assert_eq(t->ol_flags, 0);
    fill(t, 3, 200);
    t->ol_flags = PKT_TX_IP_CSUM;
    cr_assert_eq(pktio_tx_burst(a, &t, 1), 1);
    struct pktbuf *r;
    cr_assert_eq(pktio_rx_burst(b, &r, 1), 1);
    check(r, 3, 200);
    cr_assert_eq(r->ol_flags, 0);
    pktio_free(b, &r, 1);
    pktio_close(a);
    pktio_close(b);
}

Test(memlink, bad_frames_and_closed_peer_are_counted)
{
    struct pktio *a, *b;
    pair(8, NULL, &a, &b);
    struct pktbuf *t[2] = {pktio_alloc(a), pktio_alloc(a)};
    t[0]->len = 0;
    fill(t[1], 9, 70);
    cr_assert_eq(pktio_tx_burst(a, t, 2), 2);
    cr_assert_eq(ctr(a, "tx_bad_len"), 1);
    cr_assert_eq(ctr(a, "tx_frames"), 1);
    cr_assert_eq(a->ops->in_use(a), 1);
    pktio_close(b); /* returns what was queued for b */
    cr_assert_eq(a->ops->in_use(a), 0);
    t[0] = pktio_alloc(a);
    fill(t[0], 1, 60);
    cr_assert_eq(pktio_tx_burst(a, t, 1), 1);
    cr_assert_eq(ctr(a, "tx_peer_closed"), 1);
    cr_assert_eq(a->ops->in_use(a), 0);
    pktio_close(a);
}

Test(memlink, info_and_table)
{
    struct pktio *a, *b;
    pair(0, NULL, &a, &b);
    struct pktio_info ia, ib;
    pktio_info(a, &ia);
    pktio_info(b, &ib);
    const uint8_t ma[6] = {2, 0, 0, 0, 0, 1}, mb[6] = {2, 0, 0, 0, 0, 2};
    cr_assert_arr_eq(ia.mac, ma, 6);
    cr_assert_arr_eq(ib.mac, mb, 6);
    cr_assert_eq(ia.mtu, 1500);
    cr_assert_eq(ia.offloads, 0);
    cr_assert_eq(ia.fd, -1);
    pktio_close(a);
    pktio_close(b);

    const struct pktio_ops *ops = pktio_find("memlink");
    cr_assert_not_null(ops);
    cr_assert_str_eq(ops->name, "memlink");
    char err[256] = "";
    cr_assert_eq(ops->probe(err, sizeof(err)), 0);
    struct pktio_config cfg = {0};
    cr_assert_null(ops->open(&cfg, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "memlink_pair"), "err: %s", err);
    cr_assert_null(pktio_find("nosuch"));
}

Test(memlink, unknown_and_bad_options)
{
    struct pktio *a = NULL, *b = NULL;
    char err[256] = "";
    const char *o1[] = {"colour=blue", NULL};
    struct pktio_config cfg = {.opts = o1};
    cr_assert_eq(memlink_pair(&cfg, &a, &b, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "colour"), "err: %s", err);
    const char *o2[] = {"ring_size=0", NULL};
    cfg.opts = o2;
    cr_assert_eq(memlink_pair(&cfg, &a, &b, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "ring_size"), "err: %s", err);
}
