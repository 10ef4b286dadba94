/*
 * icmp.c — ICMP for the user-space stack: answers echo requests; every
 * other message is counted and dropped.
 *   ipv4_input() -> icmp_input() -> ipv4_output()
 */
#include "drivers/ustack/ustack_int.h"

void icmp_input(struct us_ctx *s, uint32_t src, const uint8_t *p, uint32_t len)
{
    if (len < 8 || csum_fold(csum_add(0, p, len)) != 0) {
        CNT(s, US_DROP_ICMP_BAD);
        return;
    }
    if (p[0] != 8 || p[1] != 0) {
        CNT(s, US_DROP_ICMP_OTHER);
        return;
    }
    if (len > PKTIO_MAX_FRAME - ETH_HLEN - IP_HLEN) {
        CNT(s, US_DROP_ICMP_BAD);
        return;
    }
    struct pktbuf *b = us_alloc(s);
    if (!b) return;
    uint8_t *q = b->data + ETH_HLEN + IP_HLEN;
    if (len > b->cap - ETH_HLEN - IP_HLEN) {
        pktio_free(s->pkt, &b, 1);
        CNT(s, US_DROP_ICMP_BAD);
        return;
    }
    memcpy(q, p, len);
    q[0] = 0; /* echo reply */
    wr16(q + 2, 0);
    wr16(q + 2, csum_fold(csum_add(0, q, len)));
    CNT(s, US_ICMP_ECHO_REPLIES);
    ipv4_output(s, b, src, IPPROTO_ICMP_, (uint16_t)len);
}
