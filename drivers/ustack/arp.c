/*
 * arp.c — ARP (RFC 826) for the user-space stack: a small cache with
 * expiry, replies to requests for our address, requests with retry and a
 * a queue of up to US_ARP_PENDING frames per unresolved entry, gratuitous ARP.
 *   eth_input() -> arp_input() -> (reply) eth_output()
 *   ipv4_output() -> arp_output() -> eth_output() | hold + arp request
 *   stack.c poll -> arp_timer() (retries, expiry) -> tcp_unreachable()
 */
#include "drivers/ustack/ustack_int.h"

#define ARP_LEN 28
enum { ARP_FREE = 0, ARP_INCOMPLETE, ARP_REACHABLE };
_Static_assert(ARP_REACHABLE == US_ARP_REACHABLE, "arp_cached tests the state by number");

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint32_t arp_hash(uint32_t ip)
{
    return (ip * 2654435761u) >> 24;
}

static struct us_arp_ent *arp_find(struct us_ctx *s, uint32_t ip)
{
    uint32_t h = arp_hash(ip);
    for (uint32_t i = 0; i < US_ARP_PROBE; i++) {
        struct us_arp_ent *e = &s->arp[(h + i) & (US_ARP_SIZE - 1)];
        if (e->state != ARP_FREE && e->ip == ip) return e;
    }
    return NULL;
}

static void arp_clear(struct us_ctx *s, struct us_arp_ent *e)
{
    if (e->npending) pktio_free(s->pkt, e->pending, e->npending);
    memset(e, 0, sizeof(*e));
}

/* A new entry for ip; evicts the oldest of its probe run if all are used. */
static struct us_arp_ent *arp_new(struct us_ctx *s, uint32_t ip)
{
    uint32_t h = arp_hash(ip);
    struct us_arp_ent *victim = NULL;
    for (uint32_t i = 0; i < US_ARP_PROBE; i++) {
        struct us_arp_ent *e = &s->arp[(h + i) & (US_ARP_SIZE - 1)];
        if (e->state == ARP_FREE) {
            victim = e;
            break;
        }
        if (!victim || e->expire < victim->expire) victim = e;
    }
    if (victim->state == ARP_INCOMPLETE && victim->npending) CNT(s, US_DROP_ARP_UNRESOLVED);
    arp_clear(s, victim);
    victim->ip = ip;
    return victim;
}

static void arp_send(struct us_ctx *s, uint16_t op, const uint8_t tha[6], uint32_t tpa,
                     const uint8_t eth_dst[6])
{
    struct pktbuf *b = us_alloc(s);
    if (!b) return;
    uint8_t *p = b->data + ETH_HLEN;
    wr16(p, 1);
    wr16(p + 2, ETH_P_IPV4);
    p[4] = 6;
    p[5] = 4;
    wr16(p + 6, op);
    memcpy(p + 8, s->mac, 6);
    wr32(p + 14, s->ip);
    memcpy(p + 18, tha, 6);
    wr32(p + 24, tpa);
    b->len = ETH_HLEN + ARP_LEN;
    if (op == 1)
        CNT(s, US_ARP_REQUESTS);
    else
        CNT(s, US_ARP_REPLIES);
    eth_output(s, b, eth_dst, ETH_P_ARP_);
}

static void arp_request(struct us_ctx *s, uint32_t ip)
{
    static const uint8_t zero[6] = {0};
    arp_send(s, 1, zero, ip, bcast);
}

void arp_announce(struct us_ctx *s)
{
    static const uint8_t zero[6] = {0};
    arp_send(s, 1, zero, s->ip, bcast); /* gratuitous: tpa = spa = our address */
}

void arp_input(struct us_ctx *s, const uint8_t *p, uint32_t len)
{
    if (len < ARP_LEN || rd16(p) != 1 || rd16(p + 2) != ETH_P_IPV4 || p[4] != 6 || p[5] != 4) {
        CNT(s, US_DROP_ARP_BAD);
        return;
    }
    uint16_t op = rd16(p + 6);
    const uint8_t *sha = p + 8;
    uint32_t spa = rd32(p + 14), tpa = rd32(p + 24);
    if ((op != 1 && op != 2) || spa == 0 || spa == s->ip || (sha[0] & 1)) {
        CNT(s, US_DROP_ARP_BAD);
        return;
    }
    /* RFC 826 merge: update an existing entry whoever the target is */
    struct us_arp_ent *e = arp_find(s, spa);
    if (!e && tpa != s->ip) {
        CNT(s, US_DROP_ARP_NOT_FOR_US);
        return;
    }
    if (!e) {
        if (!ipv4_on_link(s, spa)) {
            CNT(s, US_DROP_ARP_NOT_FOR_US);
            return;
        }
        e = arp_new(s, spa);
    }
    memcpy(e->mac, sha, 6);
    e->state = ARP_REACHABLE;
    e->tries = 0;
    e->expire = s->now + US_ARP_TTL_NS;
    for (uint8_t i = 0; i < e->npending; i++) eth_output(s, e->pending[i], e->mac, ETH_P_IPV4);
    e->npending = 0;
    tcp_arp_resolved(s, spa); /* SYNs the full queue dropped */
    if (tpa != s->ip) return;
    if (op == 1) arp_send(s, 2, sha, spa, sha);
}

/* Same IPv4 protocol and L4 ports (frames wait here with their IP header
 * already at ETH_HLEN). */
static int same_flow(const struct pktbuf *a, const struct pktbuf *b)
{
    const uint8_t *x = a->data + ETH_HLEN, *y = b->data + ETH_HLEN;
    if (a->len < ETH_HLEN + 24 || b->len < ETH_HLEN + 24 || x[9] != y[9]) return 0;
    size_t hx = (size_t)(x[0] & 15) * 4, hy = (size_t)(y[0] & 15) * 4;
    if (a->len < ETH_HLEN + hx + 4 || b->len < ETH_HLEN + hy + 4) return 0;
    return memcmp(x + hx, y + hy, 4) == 0;
}

const uint8_t *arp_lookup_hint(struct us_ctx *s, uint32_t ip, int16_t *hint)
{
    struct us_arp_ent *e = arp_find(s, ip);
    if (!e || e->state != ARP_REACHABLE || e->expire <= s->now) return NULL;
    *hint = (int16_t)(e - s->arp);
    return e->mac;
}

void arp_output(struct us_ctx *s, struct pktbuf *b, uint32_t dst)
{
    struct us_arp_ent *e = arp_find(s, dst);
    if (e && e->state == ARP_REACHABLE) {
        if (e->expire <= s->now && e->next_try <= s->now) { /* stale: refresh, keep using */
            e->next_try = s->now + US_ARP_RETRY_NS;
            arp_request(s, dst);
        }
        eth_output(s, b, e->mac, ETH_P_IPV4);
        return;
    }
    if (!e) {
        e = arp_new(s, dst);
        e->state = ARP_INCOMPLETE;
        e->tries = 1;
        e->expire = s->now;
        e->next_try = s->now + US_ARP_RETRY_NS;
        arp_request(s, dst);
    }
    /* One frame per flow: a newer frame of the same flow (a retransmitted
     * SYN) supersedes the queued one, as the single slot of old did; other
     * flows (several connects at once) each keep theirs. */
    for (uint8_t i = 0; i < e->npending; i++)
        if (same_flow(e->pending[i], b)) {
            CNT(s, US_DROP_ARP_PENDING_REPLACED);
            pktio_free(s->pkt, &e->pending[i], 1);
            e->pending[i] = b;
            return;
        }
    if (e->npending == US_ARP_PENDING) { /* full: the newest frame is dropped */
        CNT(s, US_DROP_ARP_PENDING_FULL);
        tcp_arp_dropped(s, b);
        pktio_free(s->pkt, &b, 1);
        return;
    }
    e->pending[e->npending++] = b;
}

void arp_timer(struct us_ctx *s)
{
    for (uint32_t i = 0; i < US_ARP_SIZE; i++) {
        struct us_arp_ent *e = &s->arp[i];
        if (e->state == ARP_INCOMPLETE && e->next_try <= s->now) {
            if (e->tries >= US_ARP_RETRIES) {
                uint32_t ip = e->ip;
                if (e->npending) CNT(s, US_DROP_ARP_UNRESOLVED);
                arp_clear(s, e);
                tcp_unreachable(s, ip); /* like EHOSTUNREACH: connects fail */
                continue;
            }
            e->tries++;
            e->next_try = s->now + US_ARP_RETRY_NS;
            arp_request(s, e->ip);
        } else if (e->state == ARP_REACHABLE && e->expire + 4 * US_ARP_TTL_NS <= s->now) {
            arp_clear(s, e); /* unused for long: forget */
        }
    }
}

void arp_destroy(struct us_ctx *s)
{
    for (uint32_t i = 0; i < US_ARP_SIZE; i++)
        if (s->arp[i].npending) arp_clear(s, &s->arp[i]);
}
