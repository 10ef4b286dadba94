/*
 * test_csum.c — the stack's internet checksum (drivers/ustack/csum.c)
 * against a plain RFC 1071 byte-pair reference: every length 0..300 (and
 * segment sizes to 2100: csum_add_long, AVX2 from 256 bytes) at every
 * alignment 0..7, with a running sum carried in, over random bytes and over
 * all-0xff (the carry-heavy case), plus the RFC 1624 incremental update.
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
