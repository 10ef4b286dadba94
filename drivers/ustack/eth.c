/*
 * eth.c — Ethernet II layer of the user-space stack.
 *   stack.c poll -> eth_input() -> arp_input() | ipv4_input()
 *   arp.c -> eth_output() -> us_tx() (stack.c)
 * Accepts frames to our MAC or broadcast; no VLANs (counted unknown type).
 */
#include "drivers/ustack/ustack_int.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void eth_input(struct us_ctx *s, struct pktbuf *b)
{
    uint8_t *p = b->data;
    if (b->len < ETH_HLEN) {
        CNT(s, US_DROP_ETH_SHORT);
        return;
    }
    if (memcmp(p, s->mac, 6) != 0 && memcmp(p, bcast, 6) != 0) {
        CNT(s, US_DROP_ETH_NOT_FOR_US);
        return;
    }
    uint16_t type = rd16(p + 12);
    switch (type) {
    case ETH_P_ARP_:
        arp_input(s, p + ETH_HLEN, b->len - ETH_HLEN);
        break;
    case ETH_P_IPV4:
        ipv4_input(s, b, p + ETH_HLEN, b->len - ETH_HLEN);
        break;
    default:
        CNT(s, US_DROP_ETH_UNKNOWN_TYPE);
    }
}

/* b->len already covers the whole frame; fill the header and queue it. */
void eth_output(struct us_ctx *s, struct pktbuf *b, const uint8_t dst[6], uint16_t type)
{
    uint8_t *p = b->data;
    memcpy(p, dst, 6);
    memcpy(p + 6, s->mac, 6);
    wr16(p + 12, type);
    if (b->len < 60) { /* pad to the Ethernet minimum */
        memset(p + b->len, 0, 60 - b->len);
        b->len = 60;
    }
    us_tx(s, b);
}
