/*
 * test_csum.c — the stack's internet checksum (drivers/ustack/csum.c)
 * against a plain RFC 1071 byte-pair reference: every length 0..300 (and
 * segment sizes to 2100: csum_add_long, AVX2 from 256 bytes) at every
 * alignment 0..7, with a running sum carried in, over random bytes and over
 * all-0xff (the carry-heavy case), plus the RFC 1624 incremental update.
 * csum_copy_long the same way, with the copy checked byte for byte at every
 * destination alignment; and runs long enough (past 512 KiB) that the
 * vector path widens its 32-bit lanes mid-run, at their extreme values
 * (all 0x00 and all 0xff words: the most negative and most positive after
 * the sign flip).
 */
#include <criterion/criterion.h>

#include "drivers/ustack/ustack_int.h"

#include <stdlib.h>

static uint16_t ref_csum(uint32_t sum, const uint8_t *p, size_t len)
{
    uint64_t s = sum;
    for (size_t i = 0; i + 1 < len; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1) s += (uint32_t)p[len - 1] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void check_all(const uint8_t *buf)
{
    /* every length to 300, then segment sizes (the vector path from 256) */
    for (size_t align = 0; align < 8; align++)
        for (size_t len = 0; len <= 2100; len += len < 300 ? 1 : 13)
            for (uint32_t sum = 0; sum < 3; sum++) {
                uint32_t in = sum * 0x1fffeu; /* 0, and unfolded sums */
                uint16_t want = ref_csum(in, buf + align, len);
                uint16_t got = csum_fold(csum_add(in, buf + align, len));
                cr_assert_eq(got, want, "len %zu align %zu sum %u: got %04x want %04x", len,
                             align, in, got, want);
                got = csum_fold(csum_add_long(in, buf + align, len));
                cr_assert_eq(got, want, "csum_add_long: len %zu align %zu sum %u: got %04x want %04x",
                             len, align, in, got, want);
                uint8_t dst[2100 + 16];
                size_t dalign = (align * 3 + sum) % 8;
                memset(dst, 0x5a, sizeof(dst));
                got = csum_fold(csum_copy_long(in, dst + dalign, buf + align, len));
                cr_assert_eq(got, want,
                             "csum_copy_long: len %zu align %zu/%zu sum %u: got %04x want %04x",
                             len, align, dalign, in, got, want);
                cr_assert(memcmp(dst + dalign, buf + align, len) == 0,
                          "csum_copy_long: len %zu align %zu/%zu: copy differs", len, align,
                          dalign);
                for (size_t k = 0; k < dalign; k++)
                    cr_assert_eq(dst[k], 0x5a, "csum_copy_long wrote before dst (len %zu)", len);
                for (size_t k = dalign + len; k < sizeof(dst); k++)
                    cr_assert_eq(dst[k], 0x5a, "csum_copy_long wrote past dst+len (len %zu)", len);
            }
}

Test(csum, matches_reference_every_length_and_alignment)
{
    uint8_t buf[2120];
    srand(7);
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (uint8_t)rand();
    check_all(buf);
    memset(buf, 0xff, sizeof(buf));
    check_all(buf);
}

Test(csum, long_runs_match_reference)
{
    /* 1.5 MiB + odd tails: three lane widenings in the vector path */
    size_t cap = 3u << 19;
    uint8_t *buf = malloc(cap + 8), *dst = malloc(cap + 8);
    cr_assert(buf && dst);
    const int fills[] = {0x00, 0xff, -1};
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
        if (fills[f] < 0) {
            srand(17);
            for (size_t i = 0; i < cap + 8; i++)
                buf[i] = (uint8_t)rand();
        } else {
            memset(buf, fills[f], cap + 8);
        }
        const size_t lens[] = {cap,   cap - 1, cap - 63, (1u << 19) + 64, (1u << 19) + 127,
                               65535, 65536};
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            size_t len = lens[k], align = k % 4;
            uint16_t want = ref_csum(0x1fffe, buf + align, len);
            cr_assert_eq(csum_fold(csum_add_long(0x1fffe, buf + align, len)), want,
                         "csum_add_long: fill %d len %zu", fills[f], len);
            cr_assert_eq(csum_fold(csum_copy_long(0x1fffe, dst + 1, buf + align, len)), want,
                         "csum_copy_long: fill %d len %zu", fills[f], len);
            cr_assert(memcmp(dst + 1, buf + align, len) == 0, "csum_copy_long: fill %d len %zu",
                      fills[f], len);
        }
    }
    free(buf);
    free(dst);
}

Test(csum, incremental_update_matches_recompute)
{
    uint8_t hdr[20];
    srand(11);
    for (int round = 0; round < 1000; round++) {
        for (size_t i = 0; i < sizeof(hdr); i++) hdr[i] = (uint8_t)rand();
        hdr[10] = hdr[11] = 0;
        uint16_t c = csum_fold(csum_add(0, hdr, sizeof(hdr)));
        uint16_t old = (uint16_t)(hdr[4] << 8 | hdr[5]), nw = (uint16_t)rand();
        hdr[4] = (uint8_t)(nw >> 8);
        hdr[5] = (uint8_t)nw;
        uint16_t want = csum_fold(csum_add(0, hdr, sizeof(hdr)));
        uint16_t got = csum_update16(c, old, nw);
        /* 0x0000 and 0xffff are the same one's-complement value */
        cr_assert(got == want || (uint16_t)(got + want) == 0xffff, "round %d: %04x vs %04x", round,
                  got, want);
    }
}

Test(csum, ip20_matches_general_sum)
{
    uint8_t buf[28];
    srand(13);
    for (int round = 0; round < 5000; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) buf[i] = round < 8 ? 0xff : (uint8_t)rand();
        size_t align = (size_t)round % 8;
        cr_assert_eq(csum_fold(csum_ip20(buf + align)), ref_csum(0, buf + align, 20), "round %d",
                     round);
    }
}
