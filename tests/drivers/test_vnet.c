/*
 * test_vnet.c — virtio_net_hdr construction and parsing (drivers/vnet.c):
 * the header afpacket's offloads=1 sends in front of a TSO frame, a frame
 * with its TCP checksum left to the kernel and a plain one, and the flags a
 * received header turns into.
 */
#include <criterion/criterion.h>

#include "drivers/vnet.h"

#include <string.h>

Test(vnet, tso_frame)
{
    uint8_t data[64];
    struct pktbuf b = {.data = data, .len = 14 + 20 + 20 + 8 * 1460, .cap = 65536,
                       .ol_flags = PKT_TX_TSO | PKT_TX_L4_CSUM, .l2_len = 14, .l3_len = 20,
                       .l4_len = 20, .tso_segsz = 1460};
    struct virtio_net_hdr h;
    memset(&h, 0xff, sizeof h);
    cr_assert_eq(vnet_tx_hdr(&b, &h), 0);
    cr_expect_eq(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    cr_expect_eq(h.gso_size, 1460);
    cr_expect_eq(h.hdr_len, 54);
    cr_expect_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    cr_expect_eq(h.csum_start, 34);
    cr_expect_eq(h.csum_offset, 16);
}

Test(vnet, tso_with_tcp_options)
{
    struct pktbuf b = {.len = 9000, .ol_flags = PKT_TX_TSO, .l2_len = 14, .l3_len = 20,
                       .l4_len = 32, .tso_segsz = 1448};
    struct virtio_net_hdr h;
    cr_assert_eq(vnet_tx_hdr(&b, &h), 0);
    cr_expect_eq(h.hdr_len, 66);
    cr_expect_eq(h.gso_size, 1448);
    cr_expect_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM, "TSO implies a partial checksum");
}

Test(vnet, checksum_partial_only)
{
    struct pktbuf b = {.len = 100, .ol_flags = PKT_TX_L4_CSUM, .l2_len = 14, .l3_len = 20};
    struct virtio_net_hdr h;
    cr_assert_eq(vnet_tx_hdr(&b, &h), 0);
    cr_expect_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    cr_expect_eq(h.gso_size, 0);
    cr_expect_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    cr_expect_eq(h.csum_start, 34);
    cr_expect_eq(h.csum_offset, 16);
}

Test(vnet, plain_frame_zero_header)
{
    struct pktbuf b = {.len = 60};
    struct virtio_net_hdr h, zero;
    memset(&h, 0xaa, sizeof h);
    memset(&zero, 0, sizeof zero);
    cr_assert_eq(vnet_tx_hdr(&b, &h), 0);
    cr_expect_eq(memcmp(&h, &zero, sizeof h), 0);
}

Test(vnet, tso_without_its_fields_refused)
{
    struct virtio_net_hdr h;
    struct pktbuf b = {.len = 9000, .ol_flags = PKT_TX_TSO, .l2_len = 14, .l3_len = 20,
                       .l4_len = 20, .tso_segsz = 0};
    cr_expect_eq(vnet_tx_hdr(&b, &h), -1, "no segment size");
    b.tso_segsz = 1460;
    b.l4_len = 0;
    cr_expect_eq(vnet_tx_hdr(&b, &h), -1, "no TCP header length");
    b.l4_len = 20;
    b.l3_len = 0;
    cr_expect_eq(vnet_tx_hdr(&b, &h), -1, "no IP header length");
    struct pktbuf c = {.len = 100, .ol_flags = PKT_TX_L4_CSUM};
    cr_expect_eq(vnet_tx_hdr(&c, &h), -1, "checksum offload without header lengths");
}

Test(vnet, rx_flags)
{
    struct virtio_net_hdr h;
    memset(&h, 0, sizeof h);
    cr_expect_eq(vnet_rx_flags(&h), 0, "nothing said: the stack verifies");
    h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    cr_expect_eq(vnet_rx_flags(&h), PKT_RX_L4_CSUM_OK);
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM; /* a local sender's, never filled in */
    h.csum_start = 34;
    h.csum_offset = 16;
    cr_expect_eq(vnet_rx_flags(&h), PKT_RX_L4_CSUM_OK);
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = 1448;
    cr_expect_eq(vnet_rx_flags(&h), PKT_RX_L4_CSUM_OK | PKT_RX_GRO);
}
