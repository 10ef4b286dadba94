/*
 * csum.c — the internet checksum (RFC 1071) for the user-space stack and
 * the incremental update of RFC 1624 (csum_fold, csum_pseudo and the
 * 20-byte IPv4 header sum csum_ip20 are inline in ustack_int.h).
 * Callers: ipv4.c, icmp.c, tcp_in.c, tcp_out.c. Calls nothing.
 */
#include "drivers/ustack/ustack_int.h"

/* a + b in one's complement over 64 bits (end-around carry) */
static inline uint64_t add64(uint64_t a, uint64_t b)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) r++;
    return r;
}

/* One's-complement sum of len bytes (starting at an even offset of the
 * checksummed area) added to sum (not folded). On little-endian machines the
 * bytes are summed as native 64-bit words with end-around carry, any
 * alignment, and the folded result is byte-swapped at the end (RFC 1071
 * 2(B): the sum is byte-order independent). */
uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#if defined(__x86_64__)
    /* One carry chain per 64 bytes (adc with a memory operand): half the
     * instructions of add-then-adc-0 per word, as Linux's csum_partial. */
    while (len >= 64) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq 8(%[p]), %[s]\n\t"
                "adcq 16(%[p]), %[s]\n\t"
                "adcq 24(%[p]), %[s]\n\t"
                "adcq 32(%[p]), %[s]\n\t"
                "adcq 40(%[p]), %[s]\n\t"
                "adcq 48(%[p]), %[s]\n\t"
                "adcq 56(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[64])p)
                : "cc");
        p += 64;
        len -= 64;
    }
    /* len < 64 now: one block for each of its 32, 16 and 8 bits */
    if (len & 32) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq 8(%[p]), %[s]\n\t"
                "adcq 16(%[p]), %[s]\n\t"
                "adcq 24(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[32])p)
                : "cc");
        p += 32;
    }
    if (len & 16) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq 8(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[16])p)
                : "cc");
        p += 16;
    }
    if (len & 8) {
        __asm__("addq 0(%[p]), %[s]\n\t"
                "adcq $0, %[s]"
                : [s] "+r"(s)
                : [p] "r"(p), "m"(*(const uint8_t(*)[8])p)
                : "cc");
        p += 8;
    }
    len &= 7;
#else
    while (len >= 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        s = add64(s, w0);
        s = add64(s, w1);
        s = add64(s, w2);
        s = add64(s, w3);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        s = add64(s, w);
        p += 8;
        len -= 8;
    }
#endif
    uint64_t t = 0; /* the last 0..7 bytes, as the low bytes of a native word */
    if (len & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        t = w;
        p += 4;
    }
    if (len & 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        t |= (uint64_t)w << ((len & 4) * 8);
        p += 2;
    }
    if (len & 1) t |= (uint64_t)p[0] << ((len & 6) * 8);
    s = add64(s, t);
    s = csum_fold64_le(s);
#else
    while (len >= 2) {
        s += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len) s += (uint32_t)p[0] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
#endif
    s += sum;
    s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), all host order. */
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
    uint32_t s = (uint16_t)~csum;
    s += (uint16_t)~old;
    s += new_;
    return csum_fold(s);
}
