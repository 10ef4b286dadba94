/*
 * vnet.c — virtio_net_hdr to and from pktbuf offload flags (see vnet.h).
 */
#include "drivers/vnet.h"

#include <string.h>

int vnet_tx_hdr(const struct pktbuf *b, struct virtio_net_hdr *h)
{
    memset(h, 0, sizeof(*h));
    if (b->ol_flags & PKT_TX_TSO) {
        if (!b->l2_len || !b->l3_len || b->l4_len < 20 || !b->tso_segsz) return -1;
        h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        h->gso_size = b->tso_segsz;
        h->hdr_len = (uint16_t)(b->l2_len + b->l3_len + b->l4_len);
    }
    if (b->ol_flags & (PKT_TX_L4_CSUM | PKT_TX_TSO)) {
        if (!b->l2_len || !b->l3_len) return -1;
        h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h->csum_start = (uint16_t)(b->l2_len + b->l3_len);
        h->csum_offset = 16; /* the TCP checksum field */
    }
    return 0;
}

uint32_t vnet_rx_flags(const struct virtio_net_hdr *h)
{
    uint32_t f = 0;
    if (h->flags & (VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_NEEDS_CSUM))
        f |= PKT_RX_L4_CSUM_OK;
    if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) f |= PKT_RX_GRO | PKT_RX_L4_CSUM_OK;
    return f;
}
