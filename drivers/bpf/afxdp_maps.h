/*
 * afxdp_maps.h — what the afxdp pktio (drivers/afxdp.c) and its XDP program
 * (drivers/bpf/afxdp_redirect.bpf.c) share: the layout of the steering map
 * and the indices of the program's per-CPU counters. Included by both, so
 * it uses only fixed-width kernel types (linux/types.h).
 */
#ifndef BB_AFXDP_MAPS_H
#define BB_AFXDP_MAPS_H

#include <linux/types.h>

#define AFXDP_MAX_QUEUES 64  /* XSKMAP entries: one socket per RX queue */
#define AFXDP_ARP_COPY 42    /* Ethernet + an IPv4-over-Ethernet ARP message */
#define AFXDP_ARP_RING 16384 /* bytes of the ARP copy ring (BPF ringbuf) */

/* The steering map's one value (an mmapable BPF array): written by the
 * pktio through its mapping, read by the program for every frame. */
struct afxdp_steer {
    __u32 ip;             /* our IPv4 address, network order; 0: nothing is ours yet */
    __u16 eph_lo, eph_hi; /* our ephemeral port range (host order), claimed when eph_on */
    __u32 eph_on;         /* 1 once our stack has opened a connection */
    __u32 pad;
    __u8 ports[65536 / 8]; /* bit per TCP port (host order): our listeners */
};

/* The program's counters (a per-CPU array, summed by the pktio). */
enum afxdp_xc {
    AFXDP_XC_REDIRECT,        /* TCP to our address and port: to the socket */
    AFXDP_XC_NO_SOCKET,       /* ours, but no socket on that RX queue: dropped */
    AFXDP_XC_ARP_COPIED,      /* ARP about our address: copied to us, passed to the kernel */
    AFXDP_XC_ARP_RING_FULL,   /* ... the copy ring was full: only the kernel saw it */
    AFXDP_XC_PASS_ARP_OTHER,  /* ARP not about our address (or not IPv4 over Ethernet) */
    AFXDP_XC_PASS_NOT_IPV4,   /* neither ARP nor IPv4 (IPv6, LLDP, ...) */
    AFXDP_XC_PASS_SHORT,      /* truncated Ethernet/IPv4/TCP header */
    AFXDP_XC_PASS_IP_OTHER,   /* IPv4 to another address (or before we have one) */
    AFXDP_XC_PASS_NOT_TCP,    /* IPv4 to us, not TCP (ICMP: the kernel answers ping) */
    AFXDP_XC_PASS_FRAGMENT,   /* TCP to us, a non-first fragment (no ports) */
    AFXDP_XC_PASS_PORT_OTHER, /* TCP to us on a port of the kernel's */
    AFXDP_XC__COUNT
};

#endif
