/*
 * vnet.h — the virtio_net_hdr a packet socket with PACKET_VNET_HDR puts in
 * front of every frame (linux/virtio_net.h), to and from our pktbuf offload
 * flags: TX TSO (GSO_TCPV4, gso_size = tso_segsz) and checksum partial
 * (NEEDS_CSUM, csum_start/csum_offset of the TCP checksum); RX checksum
 * verified (DATA_VALID) or partial (NEEDS_CSUM: the kernel's own frame whose
 * checksum was never filled in) and GRO super-frames (gso_type set).
 * Fields in host byte order (the kernel's vio_le() on little-endian hosts;
 * this code is built for those only).
 *
 * Callers: drivers/afpacket.c, tests/drivers/test_vnet.c. Calls: nothing.
 */
#ifndef BB_VNET_H
#define BB_VNET_H

#include "drivers/pktio.h"

#include <linux/virtio_net.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vnet.h writes virtio_net_hdr fields in host order: little-endian hosts only"
#endif

/* The header for TX frame b: zero for a frame without offloads. Returns 0,
 * or -1 when b asks for TSO without l2_len/l3_len/l4_len/tso_segsz. */
int vnet_tx_hdr(const struct pktbuf *b, struct virtio_net_hdr *h);

/* PKT_RX_* flags for a received frame that came with header h. */
uint32_t vnet_rx_flags(const struct virtio_net_hdr *h);

#endif
