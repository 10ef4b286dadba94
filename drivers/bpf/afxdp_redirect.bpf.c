/*
 * afxdp_redirect.bpf.c — the XDP program of the afxdp pktio (drivers/afxdp.c):
 * steer to our AF_XDP socket only what our user-space stack owns, pass
 * everything else to the kernel, so the kernel keeps answering ping and its
 * own services on the same interface (an exception path with no extra device).
 *
 *   TCP to our IPv4 address, on a port of ours   -> XSKMAP[rx queue] (our socket)
 *   ARP about our address                        -> a copy into the ARP ring
 *                                                   (BPF ringbuf) for our stack,
 *                                                   and XDP_PASS: the kernel
 *                                                   answers and learns it too
 *   anything else                                -> XDP_PASS (counted by reason)
 *
 * "Ours" comes from the steering map (afxdp_maps.h), which the pktio writes
 * through an mmap: our address, a bit per listening port, and our ephemeral
 * range once our stack opens connections. Built with clang -target bpf by the
 * Makefile and embedded into the binary (no file to find at run time).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "drivers/bpf/afxdp_maps.h"

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, AFXDP_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct afxdp_steer);
} steer SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, AFXDP_XC__COUNT);
    __type(key, __u32);
    __type(value, __u64);
} xstats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, AFXDP_ARP_RING);
} arpq SEC(".maps");

static __always_inline int count(__u32 what, int verdict)
{
    __u64 *v = bpf_map_lookup_elem(&xstats, &what);
    if (v) *v += 1;
    return verdict;
}

/* ARP (htype 1, ptype IPv4, hlen 6, plen 4) whose sender or target address is ours. */
static __always_inline int arp(void *data, void *end, const struct afxdp_steer *s)
{
    __u8 *a = (__u8 *)data + sizeof(struct ethhdr);
    if ((void *)(a + 28) > end) return count(AFXDP_XC_PASS_SHORT, XDP_PASS);
    if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0x00 || a[4] != 6 || a[5] != 4)
        return count(AFXDP_XC_PASS_ARP_OTHER, XDP_PASS);
    __u32 spa, tpa;
    __builtin_memcpy(&spa, a + 14, 4);
    __builtin_memcpy(&tpa, a + 24, 4);
    if (!s->ip || (spa != s->ip && tpa != s->ip)) return count(AFXDP_XC_PASS_ARP_OTHER, XDP_PASS);
    __u8 copy[AFXDP_ARP_COPY]; /* helpers take no packet pointers: through the stack */
    __builtin_memcpy(copy, data, AFXDP_ARP_COPY);
    if (bpf_ringbuf_output(&arpq, copy, AFXDP_ARP_COPY, 0) == 0)
        return count(AFXDP_XC_ARP_COPIED, XDP_PASS);
    return count(AFXDP_XC_ARP_RING_FULL, XDP_PASS);
}

SEC("xdp")
int bb_afxdp_redirect(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u32 zero = 0;
    if ((void *)(eth + 1) > end) return count(AFXDP_XC_PASS_SHORT, XDP_PASS);
    const struct afxdp_steer *s = bpf_map_lookup_elem(&steer, &zero);
    if (!s) return XDP_PASS;
    if (eth->h_proto == bpf_htons(ETH_P_ARP)) return arp(data, end, s);
    if (eth->h_proto != bpf_htons(ETH_P_IP)) return count(AFXDP_XC_PASS_NOT_IPV4, XDP_PASS);
    struct iphdr *ip = (struct iphdr *)(eth + 1);
    if ((void *)(ip + 1) > end) return count(AFXDP_XC_PASS_SHORT, XDP_PASS);
    if (!s->ip || ip->daddr != s->ip) return count(AFXDP_XC_PASS_IP_OTHER, XDP_PASS);
    if (ip->protocol != IPPROTO_TCP) return count(AFXDP_XC_PASS_NOT_TCP, XDP_PASS);
    if (ip->frag_off & bpf_htons(0x1fff)) return count(AFXDP_XC_PASS_FRAGMENT, XDP_PASS);
    __u32 ihl = (__u32)ip->ihl * 4;
    if (ihl < sizeof(*ip)) return count(AFXDP_XC_PASS_SHORT, XDP_PASS);
    struct tcphdr *th = (struct tcphdr *)((__u8 *)ip + ihl);
    if ((void *)(th + 1) > end) return count(AFXDP_XC_PASS_SHORT, XDP_PASS);
    __u16 port = bpf_ntohs(th->dest);
    int ours = (s->ports[port >> 3] >> (port & 7)) & 1;
    if (!ours && !(s->eph_on && port >= s->eph_lo && port <= s->eph_hi))
        return count(AFXDP_XC_PASS_PORT_OTHER, XDP_PASS);
    __u32 q = ctx->rx_queue_index;
    if (!bpf_map_lookup_elem(&xsks, &q)) return count(AFXDP_XC_NO_SOCKET, XDP_DROP);
    count(AFXDP_XC_REDIRECT, 0);
    return bpf_redirect_map(&xsks, q, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
