/*
 * classify.c — the exception-path classifier (DESIGN §7): which side owns a
 * raw Ethernet frame, our stack or the kernel interface. Pure function, no
 * state; the rules are in exc.h.
 *
 * Callers: kni/exc_wrap.c (every frame off the data port), tests/kni.
 */
#include "kni/exc.h"

#include <string.h>

#define ETH_HLEN_ 14u
#define ETYPE_IPV4 0x0800u
#define ETYPE_ARP 0x0806u
#define ARP_LEN 28u
#define IPV4_MIN 20u
#define PROTO_TCP 6u

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static int port_ours(const struct exc_match *m, uint16_t port)
{
    if (port >= m->eph_lo && port <= m->eph_hi && m->eph_lo) return 1;
    uint16_t n = m->nports > EXC_MAX_PORTS ? EXC_MAX_PORTS : m->nports;
    for (uint16_t i = 0; i < n; i++)
        if (m->ports[i] == port) return 1;
    return 0;
}

static enum exc_class arp(const struct exc_match *m, const uint8_t *a, uint32_t len)
{
    if (len < ARP_LEN) return EXC_KERNEL;
    /* Ethernet / IPv4 only: hlen 6, plen 4 */
    if (be16(a) != 1 || be16(a + 2) != ETYPE_IPV4 || a[4] != 6 || a[5] != 4) return EXC_KERNEL;
    if (memcmp(a + 14, &m->ip, 4) == 0 || memcmp(a + 24, &m->ip, 4) == 0) return EXC_BOTH;
    return EXC_KERNEL;
}

static enum exc_class ipv4(const struct exc_match *m, const uint8_t *ip, uint32_t len)
{
    if (len < IPV4_MIN || (ip[0] >> 4) != 4) return EXC_KERNEL;
    uint32_t ihl = (ip[0] & 0x0fu) * 4u;
    if (ihl < IPV4_MIN || memcmp(ip + 16, &m->ip, 4) != 0 || ip[9] != PROTO_TCP) return EXC_KERNEL;
    if (be16(ip + 6) & 0x1fffu) return EXC_KERNEL; /* not the first fragment: no ports */
    if (len < ihl + 4u) return EXC_STACK;          /* too short: the stack counts the drop */
    return port_ours(m, be16(ip + ihl + 2)) ? EXC_STACK : EXC_KERNEL;
}

enum exc_class exc_classify(const struct exc_match *m, const uint8_t *frame, uint32_t len)
{
    if (!m || !frame || len < ETH_HLEN_) return EXC_KERNEL;
    switch (be16(frame + 12)) {
    case ETYPE_ARP: return arp(m, frame + ETH_HLEN_, len - ETH_HLEN_);
    case ETYPE_IPV4: return ipv4(m, frame + ETH_HLEN_, len - ETH_HLEN_);
    default: return EXC_KERNEL;
    }
}
