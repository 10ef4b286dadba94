/*
 * test_pattern.c — pattern.c: fill/check agree at many offsets (beyond 4 GiB,
 * across period boundaries), pattern_at matches fill, the table is periodic
 * and not trivial, and a flipped, shifted, dropped or duplicated byte is
 * reported at the right index.
 */
#include "workloads/pattern.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define P ((uint64_t)PATTERN_PERIOD)

static const uint64_t offsets[] = {
    0,
    1,
    7,
    P - 1,
    P,
    P + 1,
    2 * P - 3,
    3 * P + 12345,
    (1ull << 32) - 1,
    (1ull << 32),
    (1ull << 32) + 1,
    (1ull << 32) / P *P, /* a period boundary below 4 GiB */
    ((1ull << 32) / P + 1) * P - 5,
    (1ull << 40) + 999,
    UINT64_MAX - 4 * P, /* offset + len stays below 2^64 */
};
static const size_t lens[] = {0,
                              1,
                              2,
                              63,
                              64,
                              4096,
                              PATTERN_PERIOD - 1,
                              PATTERN_PERIOD,
                              PATTERN_PERIOD + 1,
                              3 * PATTERN_PERIOD + 17};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t *buf_alloc(size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    cr_assert_not_null(b);
    return b;
}

/* Byte i of the body, computed the slow way through pattern_at. */
static uint8_t byte_at(uint64_t i)
{
    size_t got;
    const uint8_t *p = pattern_at(i, 1, &got);
    cr_assert_eq(got, 1);
    return p[0];
}

Test(pattern, init_is_idempotent)
{
    pattern_init();
    size_t got;
    const uint8_t *a = pattern_at(0, 16, &got);
    pattern_init();
    const uint8_t *b = pattern_at(0, 16, &got);
    cr_expect_eq(a, b);
}

Test(pattern, table_is_periodic_and_not_trivial)
{
    pattern_init();
    size_t counts[256] = {0};
    for (uint64_t i = 0; i < P; i++) {
        uint8_t v = byte_at(i);
        counts[v]++;
        cr_assert_eq(v, byte_at(i + P), "byte %llu", (unsigned long long)i);
    }
    /* Every byte value occurs, none dominates (a broken generator would). */
    for (int v = 0; v < 256; v++) {
        cr_expect_gt(counts[v], P / 256 / 2, "value %d rare", v);
        cr_expect_lt(counts[v], P / 256 * 2, "value %d common", v);
    }
    /* Not periodic with a shorter period: no shift s < 4096 matches 64 bytes. */
    uint8_t head[64];
    pattern_fill(head, 0, sizeof head);
    for (uint64_t s = 1; s < 4096; s++)
        cr_expect_neq(pattern_check(head, s, sizeof head), sizeof head, "shift %llu",
                      (unsigned long long)s);
}

Test(pattern, fill_then_check_many_offsets)
{
    pattern_init();
    for (size_t o = 0; o < N(offsets); o++)
        for (size_t l = 0; l < N(lens); l++) {
            size_t len = lens[l];
            uint8_t *b = buf_alloc(len);
            pattern_fill(b, offsets[o], len);
            cr_expect_eq(pattern_check(b, offsets[o], len), len, "off %llu len %zu",
                         (unsigned long long)offsets[o], len);
            /* Spot-check against the definition: byte i is table[i % P]. */
            for (size_t i = 0; i < len; i += 997)
                cr_expect_eq(b[i], byte_at((offsets[o] + i) % P));
            if (len) cr_expect_eq(b[len - 1], byte_at((offsets[o] + len - 1) % P));
            free(b);
        }
}

Test(pattern, fill_is_split_invariant)
{
    /* A body filled in odd-sized pieces equals one filled at once. */
    pattern_init();
    size_t len = 5 * PATTERN_PERIOD + 321;
    uint64_t base = (1ull << 32) - 1000;
    uint8_t *whole = buf_alloc(len), *parts = buf_alloc(len);
    pattern_fill(whole, base, len);
    size_t piece[] = {1, 1459, 65520, 65521, 65522, 3, 100000};
    size_t at = 0, k = 0;
    while (at < len) {
        size_t n = piece[k++ % N(piece)];
        if (n > len - at) n = len - at;
        pattern_fill(parts + at, base + at, n);
        at += n;
    }
    cr_expect_eq(memcmp(whole, parts, len), 0);
    free(whole);
    free(parts);
}

Test(pattern, at_matches_fill)
{
    pattern_init();
    uint8_t b[PATTERN_PERIOD];
    for (size_t o = 0; o < N(offsets); o++) {
        size_t got = 0;
        const uint8_t *p = pattern_at(offsets[o], PATTERN_PERIOD, &got);
        cr_assert_eq(got, PATTERN_PERIOD, "a whole period from any offset");
        pattern_fill(b, offsets[o], PATTERN_PERIOD);
        cr_expect_eq(memcmp(p, b, got), 0, "off %llu", (unsigned long long)offsets[o]);
        /* Asking for more than a period gives a period; less gives what was asked. */
        pattern_at(offsets[o], 10 * PATTERN_PERIOD, &got);
        cr_expect_eq(got, PATTERN_PERIOD);
        pattern_at(offsets[o], 100, &got);
        cr_expect_eq(got, 100);
        pattern_at(offsets[o], 0, &got);
        cr_expect_eq(got, 0);
    }
}

Test(pattern, at_chained_sends_reproduce_body)
{
    /* How a zero-copy sender uses it: take what pattern_at gives, advance. */
    pattern_init();
    size_t len = 4 * PATTERN_PERIOD + 77;
    uint64_t base = 123456789012ull;
    uint8_t *b = buf_alloc(len);
    size_t at = 0;
    while (at < len) {
        size_t got;
        const uint8_t *p = pattern_at(base + at, len - at, &got);
        cr_assert_gt(got, 0);
        memcpy(b + at, p, got);
        at += got;
    }
    cr_expect_eq(pattern_check(b, base, len), len);
    free(b);
}

Test(pattern, detects_flipped_byte_at_index)
{
    pattern_init();
    size_t len = 3 * PATTERN_PERIOD + 500;
    uint64_t base = (1ull << 32) + 17;
    uint8_t *b = buf_alloc(len);
    size_t where[] = {0,      1, 63, 64, PATTERN_PERIOD - 1, PATTERN_PERIOD, 2 * PATTERN_PERIOD + 1,
                      len - 1};
    for (size_t w = 0; w < N(where); w++) {
        pattern_fill(b, base, len);
        b[where[w]] ^= 0x01;
        cr_expect_eq(pattern_check(b, base, len), where[w], "flip at %zu", where[w]);
        b[where[w]] ^= 0x01;
        cr_expect_eq(pattern_check(b, base, len), len);
    }
    free(b);
}

/* Index of the first i with body[i] != body[i + 1], i >= from. */
static size_t first_change(uint64_t base, size_t from)
{
    while (byte_at(base + from) == byte_at(base + from + 1))
        from++;
    return from;
}

Test(pattern, detects_shift_drop_and_duplicate)
{
    pattern_init();
    size_t len = 2 * PATTERN_PERIOD;
    uint64_t base = 5ull * (1ull << 32) + 3;
    uint8_t *good = buf_alloc(len + 1), *b = buf_alloc(len + 1);
    pattern_fill(good, base, len + 1);

    /* Whole buffer shifted by one byte (offset bookkeeping off by one). */
    memcpy(b, good + 1, len);
    cr_expect_eq(pattern_check(b, base, len), first_change(base, 0), "shift");

    /* Byte k dropped: bytes from k on are shifted left. */
    size_t k = 1000;
    memcpy(b, good, k);
    memcpy(b + k, good + k + 1, len - k);
    cr_expect_eq(pattern_check(b, base, len), first_change(base, k), "drop");

    /* Byte k duplicated: b[k + 1] = body[k]. */
    memcpy(b, good, k + 1);
    memcpy(b + k + 1, good + k, len - k - 1);
    cr_expect_eq(pattern_check(b, base, len), first_change(base, k) + 1, "duplicate");

    /* Right bytes at the wrong offset: one period later is still right, one byte is not. */
    cr_expect_eq(pattern_check(good, base + P, len), len);
    cr_expect_lt(pattern_check(good, base + 1, len), len);
    free(good);
    free(b);
}

Test(pattern, check_handles_mismatch_in_second_period)
{
    pattern_init();
    size_t len = 4 * PATTERN_PERIOD;
    uint8_t *b = buf_alloc(len);
    pattern_fill(b, 0, len);
    size_t at = 3 * PATTERN_PERIOD + 2;
    b[at] = (uint8_t)~b[at];
    cr_expect_eq(pattern_check(b, 0, len), at);
    cr_expect_eq(pattern_check(b + at + 1, at + 1, len - at - 1), len - at - 1);
    free(b);
}

/* RFC 1071 sum of p[0 .. n) as big-endian words, an odd last byte the high
 * half, folded to 16 bits: the reference for the prefix sums. */
static uint32_t naive_sum(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint32_t)s;
}

/* The prefix sums give every range's sum, from an even or an odd start, of
 * any length up to a period, by one's-complement subtraction. */
Test(pattern, prefix_sums_give_every_range_sum)
{
    const uint16_t *t[2];
    pattern_sums(t);
    const uint8_t *base = pattern_at(0, 0, NULL);
    uint64_t x = 12345;
    for (int k = 0; k < 20000; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t a = (size_t)(x >> 33) % PATTERN_PERIOD, n = (size_t)(x >> 13) % 1600;
        if (k % 7 == 0) n = (size_t)(x >> 20) % (PATTERN_PERIOD + 1);
        if (k == 0) a = 0, n = 2 * (size_t)PATTERN_PERIOD; /* the whole table */
        uint32_t v = (uint32_t)t[a & 1][a + n] + (uint16_t)~t[a & 1][a];
        v = (v & 0xffff) + (v >> 16);
        v = (v & 0xffff) + (v >> 16);
        uint32_t want = naive_sum(base + a, n);
        /* one's complement: 0 and 0xffff are the same number */
        cr_assert(v == want || (v % 0xffff == want % 0xffff),
                  "sum of [%zu, %zu): %#x, want %#x", a, a + n, v, want);
    }
}
