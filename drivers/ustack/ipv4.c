/*
 * ipv4.c — IPv4 for the user-space stack: input validation (version, IHL,
 * total length, header checksum), fragments and datagrams not addressed to
 * us dropped and counted; output builds the header and hands over to ARP.
 *   eth_input() -> ipv4_input() -> tcp_input() | icmp_input()
 *   tcp_out.c, icmp.c -> ipv4_output() -> arp_output()
 */
#include "drivers/ustack/ustack_int.h"

int ipv4_on_link(struct us_ctx *s, uint32_t dst)
{
    return (dst & s->netmask) == (s->ip & s->netmask) && dst != s->ip &&
           dst != (s->ip | ~s->netmask);
}

void ipv4_input(struct us_ctx *s, struct pktbuf *b, uint8_t *p, uint32_t len)
{
    if (len < IP_HLEN) {
        CNT(s, US_DROP_IP_BAD_LEN);
        return;
    }
    if ((p[0] >> 4) != 4) {
        CNT(s, US_DROP_IP_BAD_VERSION);
        return;
    }
    uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
    uint32_t tot = rd16(p + 2);
    if (ihl < IP_HLEN || ihl > len || tot < ihl || tot > len) {
        CNT(s, US_DROP_IP_BAD_LEN);
        return;
    }
    if (!(b->ol_flags & PKT_RX_IP_CSUM_OK) &&
        csum_fold(ihl == IP_HLEN ? csum_ip20(p) : csum_add(0, p, ihl)) != 0) {
        CNT(s, US_DROP_IP_BAD_CSUM);
        return;
    }
    uint16_t frag = rd16(p + 6);
    if (frag & 0x3fff) { /* MF set or a non-zero offset */
        CNT(s, US_DROP_IP_FRAGMENT);
        return;
    }
    uint32_t src = rd32(p + 12), dst = rd32(p + 16);
    if (dst != s->ip) {
        CNT(s, US_DROP_IP_NOT_FOR_US);
        return;
    }
    switch (p[9]) {
    case IPPROTO_TCP_:
        tcp_input(s, b, src, dst, p + ihl, tot - ihl);
        break;
    case IPPROTO_ICMP_:
        icmp_input(s, src, p + ihl, tot - ihl);
        break;
    default:
        CNT(s, US_DROP_IP_UNKNOWN_PROTO);
    }
}

void ipv4_output(struct us_ctx *s, struct pktbuf *b, uint32_t dst, uint8_t proto, uint16_t l4len)
{
    if (!ipv4_on_link(s, dst)) {
        CNT(s, US_DROP_IP_NO_ROUTE);
        pktio_free(s->pkt, &b, 1);
        return;
    }
    uint8_t *p = b->data + ETH_HLEN;
    p[0] = 0x45;
    p[1] = 0;
    wr16(p + 2, (uint16_t)(IP_HLEN + l4len));
    wr16(p + 4, s->ip_id++);
    wr16(p + 6, 0x4000); /* DF */
    p[8] = 64;
    p[9] = proto;
    wr16(p + 10, 0);
    wr32(p + 12, s->ip);
    wr32(p + 16, dst);
    b->len = ETH_HLEN + IP_HLEN + l4len;
    b->l2_len = ETH_HLEN;
    b->l3_len = IP_HLEN;
    if (s->offloads & PKT_TX_IP_CSUM)
        b->ol_flags |= PKT_TX_IP_CSUM;
    else
        wr16(p + 10, csum_fold(csum_ip20(p)));
    arp_output(s, b, dst);
}
