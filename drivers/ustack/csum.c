/*
 * csum.c — the internet checksum (RFC 1071) for the user-space stack, with
 * the TCP pseudo-header sum and the incremental update of RFC 1624.
 * Callers: ipv4.c, icmp.c, tcp_in.c, tcp_out.c. Calls nothing.
 */
#include "ustack_int.h"

/* One's-complement sum of len bytes (starting at an even offset of the
 * checksummed area) added to sum (not folded). On little-endian machines the
 * words are summed in native order, 8 bytes per load, and the result is
 * byte-swapped at the end (RFC 1071 2(B): the sum is byte-order independent). */
uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (len >= 32) {
        uint64_t w[4];
        memcpy(w, p, 32);
        s += (w[0] & 0xffffffffu) + (w[0] >> 32) + (w[1] & 0xffffffffu) + (w[1] >> 32) +
             (w[2] & 0xffffffffu) + (w[2] >> 32) + (w[3] & 0xffffffffu) + (w[3] >> 32);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        s += (w & 0xffffffffu) + (w >> 32);
        p += 8;
        len -= 8;
    }
    while (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        s += w;
        p += 2;
        len -= 2;
    }
    if (len) s += p[0]; /* the high byte of a big-endian word is the low one here */
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = ((s & 0xff) << 8) | (s >> 8); /* to network (host-value) order */
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

/* Fold and complement: the value to store (host order). */
uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Pseudo-header sum for TCP/UDP over IPv4 (addresses in host order). */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint32_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
    return s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), all host order. */
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
    uint32_t s = (uint16_t)~csum;
    s += (uint16_t)~old;
    s += new_;
    return csum_fold(s);
}
