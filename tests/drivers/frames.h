/*
 * frames.h — test helpers: builders and parsers for Ethernet / ARP / IPv4 /
 * TCP frames with options and correct checksums, in the style of lwIP's
 * test/unit/tcp/tcp_helper.c (tcp_create_segment & co). Header-only
 * (static inline), no allocation, no globals.
 *
 * Callers: tests/drivers/test_ustack_blackbox.c (scripted raw peer, frame
 * recording, crafted bad frames). Calls: libc only.
 *
 * Conventions: every argument and parsed field is in host byte order (IPv4
 * addresses too: 198.18.0.1 is 0xc6120001); frames are network order.
 * Builders return the frame length, or 0 when it does not fit in `cap`.
 * fr_parse() never reads past `len` and says what it found in p->kind.
 */
#ifndef BB_TEST_FRAMES_H
#define BB_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FR_ETH_HLEN 14
#define FR_ARP_LEN 28
#define FR_IP_HLEN 20
#define FR_TCP_HLEN 20
#define FR_TCP_MAXOPT 40
#define FR_ETH_IP 0x0800
#define FR_ETH_ARP 0x0806
#define FR_ARP_REQUEST 1
#define FR_ARP_REPLY 2
#define FR_PROTO_TCP 6

#define FR_FIN 0x01
#define FR_SYN 0x02
#define FR_RST 0x04
#define FR_PSH 0x08
#define FR_ACK 0x10
#define FR_URG 0x20

#define FR_OPT_EOL 0
#define FR_OPT_NOP 1
#define FR_OPT_MSS 2
#define FR_OPT_WS 3
#define FR_OPT_SACKP 4
#define FR_OPT_TS 8

/* Wrap-safe sequence comparisons (RFC 9293 §3.4). */
#define FR_SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define FR_SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define FR_SEQ_GT(a, b) FR_SEQ_LT(b, a)
#define FR_SEQ_GEQ(a, b) FR_SEQ_LEQ(b, a)

static inline void fr_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void fr_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint16_t fr_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t fr_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- Internet checksum (RFC 1071) ---- */

static inline uint32_t fr_sum(const uint8_t *p, size_t n, uint32_t acc)
{
    while (n > 1) {
        acc += (uint32_t)((p[0] << 8) | p[1]);
        if (acc & 0x80000000u) acc = (acc & 0xffff) + (acc >> 16);
        p += 2;
        n -= 2;
    }
    if (n) acc += (uint32_t)p[0] << 8;
    return acc;
}
static inline uint16_t fr_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}
/* The value to store in a checksum field (computed with the field zero). */
static inline uint16_t fr_csum(const uint8_t *p, size_t n, uint32_t acc)
{
    return (uint16_t)~fr_fold(fr_sum(p, n, acc));
}
static inline uint32_t fr_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

/* ---- TCP options: each writes at o and returns its length ---- */

static inline size_t fr_opt_nop(uint8_t *o)
{
    o[0] = FR_OPT_NOP;
    return 1;
}
static inline size_t fr_opt_mss(uint8_t *o, uint16_t mss)
{
    o[0] = FR_OPT_MSS;
    o[1] = 4;
    fr_put16(o + 2, mss);
    return 4;
}
static inline size_t fr_opt_wscale(uint8_t *o, uint8_t shift)
{
    o[0] = FR_OPT_WS;
    o[1] = 3;
    o[2] = shift;
    return 3;
}
static inline size_t fr_opt_sack_perm(uint8_t *o)
{
    o[0] = FR_OPT_SACKP;
    o[1] = 2;
    return 2;
}
static inline size_t fr_opt_ts(uint8_t *o, uint32_t val, uint32_t ecr)
{
    o[0] = FR_OPT_TS;
    o[1] = 10;
    fr_put32(o + 2, val);
    fr_put32(o + 6, ecr);
    return 10;
}

/* ---- builders ---- */

/* What fr_build_tcp puts on the wire. Options are copied raw and padded
 * with EOL to a multiple of 4 (so a test can craft malformed ones). */
struct fr_tcp {
    uint8_t src_mac[6], dst_mac[6];
    uint32_t src_ip, dst_ip;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint8_t ttl; /* 0 = 64 */
    uint16_t ip_id;
    const uint8_t *opts; /* raw option bytes, up to 40 */
    size_t optlen;
    const uint8_t *data; /* payload */
    size_t len;
};

static inline size_t fr_build_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6],
                                  uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    fr_put16(f + 12, type);
    return FR_ETH_HLEN;
}

static inline size_t fr_build_tcp(uint8_t *f, size_t cap, const struct fr_tcp *t)
{
    size_t olen = (t->optlen + 3) & ~(size_t)3;
    if (olen > FR_TCP_MAXOPT) return 0;
    size_t thl = FR_TCP_HLEN + olen;
    size_t total = FR_ETH_HLEN + FR_IP_HLEN + thl + t->len;
    if (total > cap || FR_IP_HLEN + thl + t->len > 0xffff) return 0;
    fr_build_eth(f, t->dst_mac, t->src_mac, FR_ETH_IP);
    uint8_t *ip = f + FR_ETH_HLEN, *tcp = ip + FR_IP_HLEN;
    memset(ip, 0, FR_IP_HLEN + thl);
    ip[0] = 0x45;
    fr_put16(ip + 2, (uint16_t)(FR_IP_HLEN + thl + t->len));
    fr_put16(ip + 4, t->ip_id);
    fr_put16(ip + 6, 0x4000); /* DF */
    ip[8] = t->ttl ? t->ttl : 64;
    ip[9] = FR_PROTO_TCP;
    fr_put32(ip + 12, t->src_ip);
    fr_put32(ip + 16, t->dst_ip);
    fr_put16(ip + 10, fr_csum(ip, FR_IP_HLEN, 0));
    fr_put16(tcp, t->sport);
    fr_put16(tcp + 2, t->dport);
    fr_put32(tcp + 4, t->seq);
    fr_put32(tcp + 8, t->ack);
    tcp[12] = (uint8_t)((thl / 4) << 4);
    tcp[13] = t->flags;
    fr_put16(tcp + 14, t->win);
    if (t->optlen) memcpy(tcp + FR_TCP_HLEN, t->opts, t->optlen);
    if (t->len) memcpy(tcp + thl, t->data, t->len);
    uint16_t l4 = (uint16_t)(thl + t->len);
    fr_put16(tcp + 16, fr_csum(tcp, l4, fr_pseudo(t->src_ip, t->dst_ip, FR_PROTO_TCP, l4)));
    return total;
}

/* An ARP frame (no Ethernet padding). */
static inline size_t fr_build_arp(uint8_t *f, size_t cap, uint16_t op, const uint8_t eth_dst[6],
                                  const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                                  uint32_t tpa)
{
    if (cap < FR_ETH_HLEN + FR_ARP_LEN) return 0;
    fr_build_eth(f, eth_dst, sha, FR_ETH_ARP);
    uint8_t *a = f + FR_ETH_HLEN;
    fr_put16(a, 1);          /* Ethernet */
    fr_put16(a + 2, 0x0800); /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    fr_put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    fr_put32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    fr_put32(a + 24, tpa);
    return FR_ETH_HLEN + FR_ARP_LEN;
}

/* Recomputes the IPv4 header and TCP checksums of a complete TCP frame
 * (after a test edited it). Returns 0, or -1 if it is not one. */
static inline int fr_fix_csums(uint8_t *f, size_t n)
{
    if (n < FR_ETH_HLEN + FR_IP_HLEN || fr_get16(f + 12) != FR_ETH_IP) return -1;
    uint8_t *ip = f + FR_ETH_HLEN;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4, tot = fr_get16(ip + 2);
    if (ihl < FR_IP_HLEN || tot < ihl + FR_TCP_HLEN || FR_ETH_HLEN + tot > n) return -1;
    fr_put16(ip + 10, 0);
    fr_put16(ip + 10, fr_csum(ip, ihl, 0));
    uint8_t *tcp = ip + ihl;
    uint16_t l4 = (uint16_t)(tot - ihl);
    fr_put16(tcp + 16, 0);
    fr_put16(tcp + 16,
             fr_csum(tcp, l4, fr_pseudo(fr_get32(ip + 12), fr_get32(ip + 16), FR_PROTO_TCP, l4)));
    return 0;
}

/* ---- parser ---- */

enum fr_kind { FR_K_BAD = -1, FR_K_OTHER = 0, FR_K_ARP, FR_K_IPV4, FR_K_TCP };

struct fr_pkt {
    int kind;
    uint8_t dst_mac[6], src_mac[6];
    uint16_t ethertype;
    /* ARP */
    uint16_t arp_op;
    uint8_t arp_sha[6], arp_tha[6];
    uint32_t arp_spa, arp_tpa;
    /* IPv4 */
    uint32_t src_ip, dst_ip;
    uint8_t ttl, proto;
    uint16_t ip_id, ip_len, frag;
    int ip_csum_ok;
    /* TCP */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint8_t thl; /* header length, bytes */
    int tcp_csum_ok;
    const uint8_t *opts;
    size_t optlen;
    const uint8_t *data;
    size_t len;
    /* options as parsed; opt_bad = malformed option area */
    int opt_bad;
    uint16_t mss; /* 0 = absent */
    int wscale;   /* -1 = absent */
    int sack_perm;
    int has_ts;
    uint32_t tsval, tsecr;
};

/* Parses an option area; returns 0, or -1 (and p->opt_bad) if malformed:
 * length < 2, past the area, or a known option with the wrong length. */
static inline int fr_parse_opts(const uint8_t *o, size_t n, struct fr_pkt *p)
{
    p->mss = 0;
    p->wscale = -1;
    p->sack_perm = 0;
    p->has_ts = 0;
    p->opt_bad = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t k = o[i];
        if (k == FR_OPT_EOL) break;
        if (k == FR_OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) return p->opt_bad = 1, -1;
        uint8_t l = o[i + 1];
        switch (k) {
        case FR_OPT_MSS:
            if (l != 4) return p->opt_bad = 1, -1;
            p->mss = fr_get16(o + i + 2);
            break;
        case FR_OPT_WS:
            if (l != 3) return p->opt_bad = 1, -1;
            p->wscale = o[i + 2];
            break;
        case FR_OPT_SACKP:
            if (l != 2) return p->opt_bad = 1, -1;
            p->sack_perm = 1;
            break;
        case FR_OPT_TS:
            if (l != 10) return p->opt_bad = 1, -1;
            p->has_ts = 1;
            p->tsval = fr_get32(o + i + 2);
            p->tsecr = fr_get32(o + i + 6);
            break;
        default:
            break;
        }
        i += l;
    }
    return 0;
}

static inline int fr_parse(const uint8_t *f, size_t n, struct fr_pkt *p)
{
    memset(p, 0, sizeof(*p));
    p->wscale = -1;
    if (n < FR_ETH_HLEN) return p->kind = FR_K_BAD;
    memcpy(p->dst_mac, f, 6);
    memcpy(p->src_mac, f + 6, 6);
    p->ethertype = fr_get16(f + 12);
    const uint8_t *l3 = f + FR_ETH_HLEN;
    size_t n3 = n - FR_ETH_HLEN;
    if (p->ethertype == FR_ETH_ARP) {
        if (n3 < FR_ARP_LEN || fr_get16(l3) != 1 || fr_get16(l3 + 2) != 0x0800 || l3[4] != 6 ||
            l3[5] != 4)
            return p->kind = FR_K_BAD;
        p->arp_op = fr_get16(l3 + 6);
        memcpy(p->arp_sha, l3 + 8, 6);
        p->arp_spa = fr_get32(l3 + 14);
        memcpy(p->arp_tha, l3 + 18, 6);
        p->arp_tpa = fr_get32(l3 + 24);
        return p->kind = FR_K_ARP;
    }
    if (p->ethertype != FR_ETH_IP) return p->kind = FR_K_OTHER;
    if (n3 < FR_IP_HLEN || (l3[0] >> 4) != 4) return p->kind = FR_K_BAD;
    size_t ihl = (size_t)(l3[0] & 0x0f) * 4;
    p->ip_len = fr_get16(l3 + 2);
    if (ihl < FR_IP_HLEN || p->ip_len < ihl || p->ip_len > n3) return p->kind = FR_K_BAD;
    p->ip_csum_ok = fr_fold(fr_sum(l3, ihl, 0)) == 0xffff;
    p->ip_id = fr_get16(l3 + 4);
    p->frag = fr_get16(l3 + 6);
    p->ttl = l3[8];
    p->proto = l3[9];
    p->src_ip = fr_get32(l3 + 12);
    p->dst_ip = fr_get32(l3 + 16);
    if (p->proto != FR_PROTO_TCP || (p->frag & 0x3fff)) return p->kind = FR_K_IPV4;
    const uint8_t *t = l3 + ihl;
    size_t n4 = p->ip_len - ihl;
    if (n4 < FR_TCP_HLEN) return p->kind = FR_K_BAD;
    p->thl = (uint8_t)((t[12] >> 4) * 4);
    if (p->thl < FR_TCP_HLEN || p->thl > n4) return p->kind = FR_K_BAD;
    p->sport = fr_get16(t);
    p->dport = fr_get16(t + 2);
    p->seq = fr_get32(t + 4);
    p->ack = fr_get32(t + 8);
    p->flags = t[13];
    p->win = fr_get16(t + 14);
    p->tcp_csum_ok =
        fr_fold(fr_sum(t, n4, fr_pseudo(p->src_ip, p->dst_ip, FR_PROTO_TCP, (uint16_t)n4))) ==
        0xffff;
    p->opts = t + FR_TCP_HLEN;
    p->optlen = p->thl - FR_TCP_HLEN;
    p->data = t + p->thl;
    p->len = n4 - p->thl;
    fr_parse_opts(p->opts, p->optlen, p);
    return p->kind = FR_K_TCP;
}

/* Sequence space a segment occupies (SYN and FIN count one each). */
static inline uint32_t fr_seg_len(const struct fr_pkt *p)
{
    return (uint32_t)p->len + ((p->flags & FR_SYN) ? 1u : 0u) + ((p->flags & FR_FIN) ? 1u : 0u);
}

/* "SA", "FPA", ... for messages; out holds at least 8 bytes. */
static inline const char *fr_flags_str(uint8_t fl, char *out)
{
    static const char names[] = "FSRPAU";
    int k = 0;
    for (int i = 0; i < 6; i++)
        if (fl & (1u << i)) out[k++] = names[i];
    if (!k) out[k++] = '.';
    out[k] = 0;
    return out;
}

/* One line describing a parsed TCP segment, for failure messages. */
static inline const char *fr_describe(const struct fr_pkt *p, char *out, size_t n)
{
    char fl[8];
    snprintf(out, n, "%u->%u [%s] seq=%u ack=%u win=%u len=%zu", p->sport, p->dport,
             fr_flags_str(p->flags, fl), p->seq, p->ack, p->win, p->len);
    return out;
}

#endif
