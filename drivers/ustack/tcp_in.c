/*
 * tcp_in.c — TCP input of the user-space stack (RFC 9293 "segment arrives"):
 * checksum and option validation, 4-tuple lookup, passive open with a
 * bounded SYN backlog, SYN-SENT processing, sequence acceptability, RST and
 * SYN handling per RFC 5961 (exact RST resets, in-window RST or any SYN
 * draws a rate-limited challenge ACK), ACK processing with RTT sampling,
 * slow start / congestion avoidance, fast retransmit and NewReno recovery
 * (RFC 5681/6582), window updates, in-order and out-of-order data, FIN.
 *
 *   ipv4_input() -> tcp_input() -> predictable() -> predicted() (header
 *                                  prediction: an established connection's
 *                                  next in-order segment, no options; done
 *                                  when it fits; a long one is checksummed
 *                                  while copied: csum_copy_long)
 *                               -> parse_opts() -> no_conn() -> passive_open() | RST
 *                               -> syn_sent()
 *                               -> synchronized(): acceptable() | challenge ACK
 *                                  -> new_ack() | dup_ack() -> update_snd_wnd()
 *                                  -> rcv_data() -> rcv_fin() -> tcp_output()
 */
#include "drivers/ustack/ustack_int.h"

struct tcp_opts {
    uint16_t mss;
    uint8_t ws;
    uint8_t has_mss, has_ws, sack_ok, nsack;
    uint32_t sack[TCP_SACK_BLOCKS][2]; /* [left, right) of each SACK block */
};

/* ---- table: hash, lookup, lifetime ---- */

static uint32_t tuple_hash(struct us_ctx *s, uint32_t raddr, uint16_t rport, uint16_t lport)
{
    uint32_t h = raddr * 2654435761u;
    h ^= ((uint32_t)rport << 16 | lport) * 0x9e3779b1u;
    h ^= h >> 15;
    return h & s->hmask;
}

struct us_conn *tcp_lookup(struct us_ctx *s, uint32_t raddr, uint16_t rport, uint16_t lport)
{
    int32_t i = s->hash[tuple_hash(s, raddr, rport, lport)];
    while (i >= 0) {
        struct us_conn *c = &s->conns[i];
        if (c->raddr == raddr && c->rport == rport && c->lport == lport) return c;
        i = c->hnext;
    }
    return NULL;
}

void tcp_hash_insert(struct us_ctx *s, struct us_conn *c)
{
    uint32_t h = tuple_hash(s, c->raddr, c->rport, c->lport);
    c->hnext = s->hash[h];
    s->hash[h] = (int32_t)(c - s->conns);
    c->flags |= CF_HASHED;
    tcp_tmpl_init(s, c);
}

void tcp_hash_remove(struct us_ctx *s, struct us_conn *c)
{
    if (!(c->flags & CF_HASHED)) return;
    int32_t self = (int32_t)(c - s->conns);
    int32_t *pp = &s->hash[tuple_hash(s, c->raddr, c->rport, c->lport)];
    while (*pp >= 0) {
        if (*pp == self) {
            *pp = c->hnext;
            break;
        }
        pp = &s->conns[*pp].hnext;
    }
    c->hnext = -1;
    c->flags &= ~CF_HASHED;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* RFC 6528: a keyed hash of the tuple plus a 4 us clock. */
uint32_t tcp_isn(struct us_ctx *s, uint32_t raddr, uint16_t rport, uint16_t lport)
{
    uint64_t k = mix64(s->isn_secret ^ ((uint64_t)raddr << 32) ^ ((uint64_t)rport << 16) ^ lport);
    return (uint32_t)k + (uint32_t)(s->now >> 12);
}

/* Reset the TCP part of a freshly allocated slot (buffers are kept). */
void tcp_conn_init(struct us_ctx *s, struct us_conn *c)
{
    uint8_t *sb = c->sbuf, *rb = c->rbuf;
    struct us_ref *refs = c->refs;
    memset(c, 0, sizeof(*c));
    c->sbuf = sb;
    c->rbuf = rb;
    c->refs = refs;
    c->hnext = c->next = c->tprev = c->tnext = -1;
    c->listener = -1;
    c->arp_hint = -1;
    c->smss = s->mss;
    c->rto = US_RTO_INIT_NS;
    if (c->rto < s->cfg.rto_min_ns) c->rto = s->cfg.rto_min_ns;
    c->ssthresh = 0x7fffffffu;
    if (s->cfg.tlp_off) c->flags |= CF_NO_TLP;
}

void tcp_closed(struct us_ctx *s, struct us_conn *c, enum netio_close_reason why)
{
    if (c->state == TCPS_CLOSED) return;
    if (c->state == TCPS_SYN_RCVD && c->app == APP_NONE && c->listener >= 0)
        s->listeners[c->listener].half_open--;
    tcp_hash_remove(s, c);
    c->rexmit_at = c->delack_at = 0;
    tcp_timer_unlink(s, c);
    c->state = TCPS_CLOSED;
    switch (c->app) {
    case APP_OPEN:
        c->app = APP_CLOSING;
        c->reason = (uint8_t)why;
        c->flags &= ~CF_WANT_WR;
        CNT(s, US_CONNS_CLOSED);
        CNT(s, US_CLOSE_LOCAL + why);
        us_queue_event(s, c, NETIO_P_CLOSED);
        break;
    case APP_CLOSING: /* CLOSED already queued; freed once emitted */
        break;
    default: /* never known to the app, or CLOSED already returned */
        us_conn_free(s, c);
    }
}

void tcp_unreachable(struct us_ctx *s, uint32_t ip)
{
    for (uint32_t i = 0; i < s->max_conns; i++) {
        struct us_conn *c = &s->conns[i];
        if (c->state == TCPS_SYN_SENT && c->raddr == ip)
            tcp_closed(s, c, NETIO_CLOSE_CONNECT_FAILED);
    }
}

void tcp_arp_dropped(struct us_ctx *s, const struct pktbuf *b)
{
    const uint8_t *ip = b->data + ETH_HLEN;
    if (b->len < ETH_HLEN + IP_HLEN || ip[9] != IPPROTO_TCP_) return;
    uint32_t ihl = (uint32_t)(ip[0] & 15) * 4;
    if (ihl < IP_HLEN || b->len < ETH_HLEN + ihl + 20) return;
    const uint8_t *th = ip + ihl;
    if (!(th[13] & TH_SYN)) return;
    /* our frame: the peer is its destination (address, port), we its source */
    struct us_conn *c = tcp_lookup(s, rd32(ip + 16), rd16(th + 2), rd16(th));
    if (!c || (c->state != TCPS_SYN_SENT && c->state != TCPS_SYN_RCVD)) return;
    c->flags |= CF_SYN_LOST;
    s->syn_lost = 1;
}

void tcp_arp_resolved(struct us_ctx *s, uint32_t ip)
{
    if (!s->syn_lost) return;
    int left = 0;
    for (uint32_t i = 0; i < s->max_conns; i++) {
        struct us_conn *c = &s->conns[i];
        if (!(c->flags & CF_SYN_LOST)) continue;
        if (c->raddr != ip) {
            left = 1;
            continue;
        }
        c->flags &= ~CF_SYN_LOST;
        if (c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RCVD) {
            CNT(s, US_SYN_RESENT_ON_ARP);
            tcp_send_syn(s, c);
            tcp_set_rexmit(s, c, TK_RTO, c->rto); /* timed from this copy, the first out */
        }
    }
    s->syn_lost = (uint8_t)left;
}

/* ---- options (RFC 9293 3.1, 3.2: a bad length drops the segment) ---- */

static int parse_opts(const uint8_t *o, uint32_t n, struct tcp_opts *out)
{
    out->has_mss = out->has_ws = out->sack_ok = out->nsack = 0;
    uint32_t i = 0;
    while (i < n) {
        uint8_t k = o[i];
        if (k == TCPOPT_EOL) break;
        if (k == TCPOPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= n) return -1;
        uint8_t l = o[i + 1];
        if (l < 2 || i + l > n) return -1;
        switch (k) {
        case TCPOPT_MSS:
            if (l != 4) return -1;
            out->mss = rd16(o + i + 2);
            out->has_mss = 1;
            break;
        case TCPOPT_WSCALE:
            if (l != 3) return -1;
            out->ws = o[i + 2] > TCP_WSCALE_MAX ? TCP_WSCALE_MAX : o[i + 2];
            out->has_ws = 1;
            break;
        case TCPOPT_SACK_PERM:
            if (l != 2) return -1;
            out->sack_ok = 1;
            break;
        case TCPOPT_SACK:
            if (l < 10 || (l - 2) % 8) return -1;
            for (uint32_t b = 0; b < (uint32_t)(l - 2) / 8 && b < TCP_SACK_BLOCKS; b++) {
                out->sack[b][0] = rd32(o + i + 2 + 8 * b);
                out->sack[b][1] = rd32(o + i + 6 + 8 * b);
                out->nsack = (uint8_t)(b + 1);
            }
            break;
        case TCPOPT_TS:
            if (l != 10) return -1;
            break;
        default:
            break;
        }
        i += l;
    }
    return 0;
}

static void apply_syn_opts(struct us_ctx *s, struct us_conn *c, const struct tcp_opts *o)
{
    uint32_t m = o->has_mss ? o->mss : TCP_DEFAULT_MSS;
    if (m > s->mss) m = s->mss;
    if (m < 88) m = 88;
    c->smss = (uint16_t)m;
    if (o->has_ws) {
        c->flags |= CF_WSCALE;
        c->snd_ws = o->ws;
        c->rcv_ws = TCP_WSCALE_OURS;
    } else {
        c->flags &= ~CF_WSCALE;
        c->snd_ws = c->rcv_ws = 0;
    }
    if (o->sack_ok && !s->cfg.sack_off)
        c->flags |= CF_SACK;
    else
        c->flags &= ~CF_SACK;
    c->cwnd = 10u * c->smss; /* RFC 6928 */
}

/* ---- passive open and segments without a connection ---- */

static int find_listener(struct us_ctx *s, uint16_t port)
{
    for (int i = 0; i < US_MAX_LISTENERS; i++)
        if (s->listeners[i].used && s->listeners[i].port == port) return i;
    return -1;
}

static void passive_open(struct us_ctx *s, int li, uint32_t src, uint16_t sport, uint16_t dport,
                         uint32_t seq, uint16_t wnd, const struct tcp_opts *o)
{
    struct us_listener *l = &s->listeners[li];
    if (l->half_open >= s->cfg.syn_backlog) {
        CNT(s, US_SYN_BACKLOG_FULL);
        return;
    }
    int32_t i = us_conn_alloc(s);
    if (i < 0) {
        CNT(s, US_CONN_TABLE_FULL);
        return;
    }
    struct us_conn *c = &s->conns[i];
    c->raddr = src;
    c->rport = sport;
    c->lport = dport;
    c->listener = (int16_t)li;
    c->flags |= CF_PASSIVE;
    c->app = APP_NONE;
    c->ctx = l->ctx;
    c->irs = seq;
    c->rcv_nxt = c->rcv_adv = seq + 1;
    apply_syn_opts(s, c, o);
    c->snd_wnd = wnd;
    c->snd_wl1 = seq;
    c->iss = tcp_isn(s, src, sport, dport);
    c->snd_una = c->snd_nxt = c->snd_max = c->snd_wl2 = c->iss;
    c->recover = c->iss;
    c->sb_seq = c->iss + 1;
    c->state = TCPS_SYN_RCVD;
    l->half_open++;
    tcp_hash_insert(s, c);
    tcp_send_syn(s, c);
    tcp_set_rexmit(s, c, TK_RTO, c->rto);
}

static void no_conn(struct us_ctx *s, uint32_t src, uint16_t sport, uint16_t dport, uint8_t fl,
                    uint32_t seq, uint32_t ack, uint32_t seglen, uint16_t wnd,
                    const struct tcp_opts *o)
{
    if (fl & TH_RST) {
        CNT(s, US_DROP_TCP_NO_CONN);
        return;
    }
    int li = find_listener(s, dport);
    if (li >= 0 && (fl & (TH_SYN | TH_ACK)) == TH_SYN) {
        passive_open(s, li, src, sport, dport, seq, wnd, o);
        return;
    }
    CNT(s, li < 0 ? US_DROP_TCP_NO_LISTENER : US_DROP_TCP_NO_CONN);
    if (fl & TH_ACK)
        tcp_send_rst_reply(s, src, sport, dport, ack, 0, 0);
    else
        tcp_send_rst_reply(s, src, sport, dport, 0, seq + seglen, 1);
}

/* ---- SYN-SENT ---- */

static void established_now(struct us_ctx *s, struct us_conn *c)
{
    c->state = TCPS_ESTABLISHED;
    tcp_sack_reset(c);
    if (c->flags & CF_SACK) CNT(s, US_SACK_PERMITTED);
    if (c->flags & CF_PASSIVE) {
        s->listeners[c->listener].half_open--;
        c->app = APP_OPEN;
        CNT(s, US_CONNS_ACCEPTED);
        us_queue_event(s, c, NETIO_P_ACCEPTED);
    } else if (c->app == APP_OPEN) {
        CNT(s, US_CONNS_CONNECTED);
        unsigned p = NETIO_P_CONNECTED;
        if (c->flags & CF_WANT_WR) {
            c->flags &= ~CF_WANT_WR;
            p |= NETIO_P_WRITABLE;
        }
        us_queue_event(s, c, p);
    }
}

static void syn_sent(struct us_ctx *s, struct us_conn *c, uint8_t fl, uint32_t seq, uint32_t ack,
                     uint16_t wnd, const struct tcp_opts *o)
{
    if ((fl & TH_ACK) && (SEQ_LEQ(ack, c->iss) || SEQ_GT(ack, c->snd_max))) {
        CNT(s, US_DROP_TCP_BAD_ACK);
        if (!(fl & TH_RST)) tcp_send_rst_reply(s, c->raddr, c->rport, c->lport, ack, 0, 0);
        return;
    }
    if (fl & TH_RST) {
        if (fl & TH_ACK)
            tcp_closed(s, c, NETIO_CLOSE_CONNECT_FAILED);
        else
            CNT(s, US_DROP_TCP_RST_INVALID);
        return;
    }
    if (!(fl & TH_SYN)) {
        CNT(s, US_DROP_TCP_NO_ACK);
        return;
    }
    c->irs = seq;
    c->rcv_nxt = c->rcv_adv = seq + 1;
    apply_syn_opts(s, c, o);
    if (fl & TH_ACK) {
        c->snd_una = ack;
        if (SEQ_LT(c->snd_nxt, ack)) c->snd_nxt = ack;
        if ((c->flags & CF_RTT) && c->nretx == 0) tcp_rtt_sample(s, c, s->now - c->rtt_start);
        c->flags &= ~CF_RTT;
        c->nretx = 0;
        tcp_stop_rexmit(s, c);
        c->snd_wnd = wnd;
        c->snd_wl1 = seq;
        c->snd_wl2 = ack;
        established_now(s, c);
        c->flags |= CF_ACK_NOW;
        tcp_output(s, c);
    } else { /* simultaneous open */
        c->state = TCPS_SYN_RCVD;
        c->snd_wnd = wnd;
        c->snd_wl1 = seq;
        tcp_send_syn(s, c);
    }
}

/* ---- ACK processing ---- */

static void wake_writer(struct us_ctx *s, struct us_conn *c)
{
    if ((c->flags & CF_WANT_WR) && c->app == APP_OPEN &&
        s->cfg.sndbuf - c->sb_len >= s->cfg.sndbuf / 4 && !(c->flags & CF_FIN_QUEUED)) {
        c->flags &= ~CF_WANT_WR;
        us_queue_event(s, c, NETIO_P_WRITABLE);
    }
}

/* RFC 5681: slow start, then congestion avoidance. */
static inline void cwnd_grow(struct us_conn *c, uint32_t acked)
{
    uint32_t smss = c->smss;
    if (c->cwnd < c->ssthresh) {
        c->cwnd += acked < smss ? acked : smss;
    } else {
        uint32_t inc = smss * smss / (c->cwnd ? c->cwnd : 1);
        c->cwnd += inc ? inc : 1;
    }
}

/* new_ack() with a scoreboard, a probe out or in recovery. */
static __attribute__((noinline)) void new_ack_lr(struct us_ctx *s, struct us_conn *c, uint32_t ack,
                                                 uint32_t acked)
{
    if (c->flags & CF_LR) {
        if (c->n_sack) tcp_sack_trim(c);
        if (c->tlp_hi && SEQ_GEQ(ack, c->tlp_hi)) c->tlp_hi = 0; /* the probe's episode ended */
        if (!c->n_sack && !c->tlp_hi) c->flags &= ~CF_LR;
    }
    if (!(c->flags & CF_RECOVERY)) {
        cwnd_grow(c, acked);
        return;
    }
    uint32_t smss = c->smss;
    if (SEQ_GEQ(ack, c->recover)) { /* full ACK: deflate, leave recovery */
        uint32_t flight = c->snd_max - c->snd_una;
        /* NewReno (RFC 6582) deflates to the flight + 1 SMSS; after SACK
         * recovery the flight is often near 0 and a window of one segment
         * would wait for the peer's delayed ACK (40 ms on Linux) every time:
         * cwnd = ssthresh, as Linux ends its reduction (RFC 6937) */
        if (c->flags & CF_SACK)
            c->cwnd = c->ssthresh;
        else
            c->cwnd = c->ssthresh < flight + smss ? c->ssthresh : flight + smss;
        c->flags &= ~CF_RECOVERY;
    } else if (c->flags & CF_SACK) {
        /* the scoreboard resends the holes (tcp_output_work, pipe <= cwnd) */
    } else { /* partial ACK: retransmit the next hole, partial deflation */
        tcp_retransmit_one(s, c);
        c->cwnd = (c->cwnd > acked ? c->cwnd - acked : 0) + smss;
    }
}

static void new_ack(struct us_ctx *s, struct us_conn *c, uint32_t ack)
{
    uint32_t acked = ack - c->snd_una;
    if (SEQ_GT(ack, c->sb_seq)) {
        uint32_t d = ack - c->sb_seq;
        if (d > c->sb_len) d = c->sb_len;
        c->sb_head = (c->sb_head + d) % s->cfg.sndbuf;
        c->sb_len -= d;
        c->sb_seq += d;
    }
    c->snd_una = ack;
    if (SEQ_LT(c->snd_nxt, ack)) c->snd_nxt = ack;
    if ((c->flags & CF_RTT) && SEQ_GT(ack, c->rtt_seq)) {
        tcp_rtt_sample(s, c, s->now - c->rtt_start);
        c->flags &= ~CF_RTT;
    }
    c->nretx = 0;
    if (__builtin_expect(c->flags & (CF_RECOVERY | CF_LR), 0))
        new_ack_lr(s, c, ack, acked);
    else
        cwnd_grow(c, acked);
    if (c->cwnd > 0x3fffffffu) c->cwnd = 0x3fffffffu;
    c->dupacks = 0;
    if (c->snd_una == c->snd_max) {
        if (c->tkind <= TK_REO) tcp_stop_rexmit(s, c); /* RTO, TLP, reordering window */
    } else {
        tcp_arm_xmit_timer(s, c, 1);
    }
    wake_writer(s, c);
}

static void dup_ack(struct us_ctx *s, struct us_conn *c)
{
    CNT(s, US_DUP_ACKS);
    if (c->dupacks < UINT16_MAX) c->dupacks++;
    /* With SACK the scoreboard decides (tcp_sack_detect): a receiver that
     * holds out-of-order data says so in every ACK, so duplicate ACKs
     * without blocks come from duplicated segments, not from loss. */
    if (c->flags & CF_SACK) return;
    if (c->dupacks == 3 && !(c->flags & CF_RECOVERY) && SEQ_GEQ(c->snd_una, c->recover)) {
        tcp_undo_begin(c);
        uint32_t flight = c->snd_max - c->snd_una, half = flight / 2;
        c->ssthresh = half > 2u * c->smss ? half : 2u * c->smss;
        c->recover = c->snd_max;
        c->flags |= CF_RECOVERY;
        c->cwnd = c->ssthresh + 3u * c->smss;
        CNT(s, US_FAST_RETRANSMITS);
        tcp_retransmit_one(s, c);
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
    } else if (c->flags & CF_RECOVERY) {
        c->cwnd += c->smss;
        tcp_output(s, c);
    }
}

/* ---- data and FIN ---- */

static void enter_time_wait(struct us_ctx *s, struct us_conn *c)
{
    c->state = TCPS_TIME_WAIT;
    tcp_set_rexmit(s, c, TK_TIME_WAIT, s->cfg.time_wait_ns);
}

static int fin_acked(struct us_conn *c)
{
    return (c->flags & CF_FIN_QUEUED) && SEQ_GT(c->snd_una, c->fin_seq);
}

static void rcv_fin(struct us_ctx *s, struct us_conn *c)
{
    c->flags = (c->flags | CF_RCVD_FIN | CF_ACK_NOW) & ~CF_OOO_FIN;
    c->rcv_nxt++;
    switch (c->state) {
    case TCPS_SYN_RCVD:
    case TCPS_ESTABLISHED:
        c->state = TCPS_CLOSE_WAIT;
        if (c->app == APP_OPEN) us_queue_event(s, c, NETIO_P_READABLE);
        break;
    case TCPS_FIN_WAIT_1:
        if (fin_acked(c))
            enter_time_wait(s, c);
        else
            c->state = TCPS_CLOSING;
        break;
    case TCPS_FIN_WAIT_2:
        enter_time_wait(s, c);
        break;
    default:
        break;
    }
}

static uint32_t ooo_extent(struct us_conn *c)
{
    uint32_t m = 0;
    for (uint8_t i = 0; i < c->n_ooo; i++)
        if (c->ooo_e[i] - c->rcv_nxt > m) m = c->ooo_e[i] - c->rcv_nxt;
    return m;
}

/* Add [a, b) to the out-of-order interval list, merging; 0 or -1 if full. */
static int ooo_add(struct us_conn *c, uint32_t a, uint32_t b)
{
    for (uint8_t i = 0; i < c->n_ooo; i++) {
        if (SEQ_LEQ(a, c->ooo_e[i]) && SEQ_GEQ(b, c->ooo_s[i])) {
            uint32_t na = SEQ_MIN(a, c->ooo_s[i]), nb = SEQ_MAX(b, c->ooo_e[i]);
            c->ooo_s[i] = c->ooo_s[--c->n_ooo];
            c->ooo_e[i] = c->ooo_e[c->n_ooo];
            return ooo_add(c, na, nb);
        }
    }
    if (c->n_ooo >= US_OOO_MAX) return -1;
    c->ooo_s[c->n_ooo] = a;
    c->ooo_e[c->n_ooo++] = b;
    return 0;
}

/* In-order data was taken: ACK every second segment (or at once after a
 * hole filled, or with delayed ACKs off), else within delack_ns. Inside an
 * RX burst the ACK of in-order data waits for the burst's end (us_ack_flush,
 * stack.c): one ACK for all the segments it brought, not one per two. */
static void ack_policy(struct us_ctx *s, struct us_conn *c, int filled)
{
    if (++c->unacked_segs >= 2 || filled || s->cfg.delack_off) {
        if (s->in_rx && !filled && !s->cfg.delack_off) {
            if (!(c->flags & CF_ACKQ)) {
                c->flags |= CF_ACKQ;
                s->ackq[s->nackq++] = (int32_t)(c - s->conns);
            }
            return;
        }
        c->flags |= CF_ACK_NOW;
    } else if (!c->delack_at) {
        c->delack_at = s->now + s->cfg.delack_ns;
        tcp_timer_sched(s, c);
    }
}

/* RFC 9293 3.10.7.4: take the peer's window from a segment newer than the
 * last one used (SND.WL1/WL2); an opened window ends persist. */
static void update_snd_wnd(struct us_ctx *s, struct us_conn *c, uint32_t seq, uint32_t ack,
                           uint32_t swnd)
{
    if (SEQ_LT(c->snd_wl1, seq) || (c->snd_wl1 == seq && SEQ_LEQ(c->snd_wl2, ack))) {
        c->snd_wnd = swnd;
        c->snd_wl1 = seq;
        c->snd_wl2 = ack;
        if (swnd && c->rexmit_at && c->tkind == TK_PERSIST) tcp_stop_rexmit(s, c);
    }
}

/* RFC 2883: [a, b) reached us before (below rcv_nxt, or inside data held
 * out of order). The next segment (sent at once) reports it in its first
 * SACK block, once, so that the sender learns that its retransmission (or
 * the network's copy) was spurious. Only where SACK was agreed. */
static void dsack_note(struct us_conn *c, uint32_t a, uint32_t b)
{
    c->flags |= CF_ACK_NOW;
    if (!(c->flags & CF_SACK)) return;
    c->dsack_s = a;
    c->dsack_e = b;
    c->flags |= CF_DSACK | CF_SACKQ;
}

static void rcv_data(struct us_ctx *s, struct us_conn *c, uint32_t seq, const uint8_t *d,
                     uint32_t n)
{
    uint32_t cap = s->cfg.rcvbuf;
    if (SEQ_LT(seq, c->rcv_nxt)) {
        uint32_t cut = c->rcv_nxt - seq;
        dsack_note(c, seq, cut >= n ? seq + n : c->rcv_nxt); /* re-ACK at once */
        if (cut >= n) return; /* a full duplicate */
        d += cut;
        n -= cut;
        seq = c->rcv_nxt;
    }
    uint32_t rel = seq - c->rcv_nxt, space = cap - c->rb_len;
    if (rel >= space) {
        CNT(s, US_DROP_TCP_OUT_OF_WINDOW);
        c->flags |= CF_ACK_NOW;
        return;
    }
    if (n > space - rel) n = space - rel;
    if (c->rb_off + c->rb_len + rel + n > cap) { /* compact to make the window physical */
        memmove(c->rbuf, c->rbuf + c->rb_off, c->rb_len + ooo_extent(c));
        c->rb_off = 0;
    }
    if (rel > 0) {
        for (uint8_t i = 0; i < c->n_ooo; i++)
            if (SEQ_GEQ(seq, c->ooo_s[i]) && SEQ_LEQ(seq + n, c->ooo_e[i])) {
                dsack_note(c, seq, seq + n); /* held already: all of it twice */
                return;
            }
        if (ooo_add(c, seq, seq + n) < 0) {
            CNT(s, US_OOO_DROPPED);
        } else {
            c->ooo_last = seq;
            if (c->flags & CF_SACK) c->flags |= CF_SACKQ;
            memcpy(c->rbuf + c->rb_off + c->rb_len + rel, d, n);
            CNT(s, US_OOO_QUEUED);
        }
        c->flags |= CF_ACK_NOW; /* duplicate ACK tells the sender at once */
        return;
    }
    memcpy(c->rbuf + c->rb_off + c->rb_len, d, n);
    c->rcv_nxt += n;
    c->rb_len += n;
    int filled = 0;
    for (uint8_t i = 0; i < c->n_ooo;) {
        if (SEQ_LEQ(c->ooo_s[i], c->rcv_nxt)) {
            if (SEQ_GT(c->ooo_e[i], c->rcv_nxt)) {
                c->rb_len += c->ooo_e[i] - c->rcv_nxt;
                c->rcv_nxt = c->ooo_e[i];
            }
            c->ooo_s[i] = c->ooo_s[--c->n_ooo];
            c->ooo_e[i] = c->ooo_e[c->n_ooo];
            filled = 1;
            i = 0; /* rcv_nxt moved: rescan */
        } else {
            i++;
        }
    }
    if (filled && !c->n_ooo && !(c->flags & CF_DSACK)) c->flags &= ~CF_SACKQ;
    if (c->app == APP_OPEN) {
        us_queue_event(s, c, NETIO_P_READABLE);
    } else { /* nobody will read: discard */
        c->rb_off += c->rb_len;
        c->rb_len = 0;
        if (!c->n_ooo) c->rb_off = 0;
    }
    ack_policy(s, c, filled);
}

/* ---- synchronized states and SYN-RCVD ---- */

static int acceptable(struct us_ctx *s, struct us_conn *c, uint32_t seq, uint32_t seglen)
{
    /* RCV.WND is what we advertised (the right edge never moves left) */
    uint32_t w = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (seglen == 0) {
        if (w == 0) return seq == c->rcv_nxt;
        return SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + w);
    }
    if (w == 0) return seq == c->rcv_nxt ? 2 : 0; /* ACK/RST still processed */
    uint32_t last = seq + seglen - 1;
    return (SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + w)) ||
           (SEQ_GEQ(last, c->rcv_nxt) && SEQ_LT(last, c->rcv_nxt + w));
}

static void synchronized(struct us_ctx *s, struct us_conn *c, uint8_t fl, uint32_t seq,
                         uint32_t ack, uint16_t wnd, const uint8_t *d, uint32_t dlen,
                         const struct tcp_opts *o)
{
    uint32_t seglen = dlen + ((fl & TH_SYN) ? 1 : 0) + ((fl & TH_FIN) ? 1 : 0);
    int acc = acceptable(s, c, seq, seglen);
    if (!acc && (fl & (TH_ACK | TH_RST | TH_SYN)) == TH_ACK && SEQ_LT(seq, c->rcv_nxt) &&
        SEQ_GEQ(seq, c->rcv_nxt - s->cfg.rcvbuf)) {
        /* an old duplicate (retransmission, window probe): its ACK field is
         * still news (as BSD does); the data is dropped and re-ACKed */
        CNT(s, US_DROP_TCP_OUT_OF_WINDOW);
        if (c->state == TCPS_TIME_WAIT && (fl & TH_FIN))
            tcp_set_rexmit(s, c, TK_TIME_WAIT, s->cfg.time_wait_ns);
        c->flags |= CF_ACK_NOW;
        if (dlen && SEQ_LEQ(seq + dlen, c->rcv_nxt)) dsack_note(c, seq, seq + dlen);
        dlen = 0;
        fl &= (uint8_t)~TH_FIN;
        seq = c->rcv_nxt;
        acc = 1;
    }
    if (!acc) {
        if (fl & TH_RST) {
            CNT(s, US_DROP_TCP_RST_INVALID);
            return;
        }
        CNT(s, US_DROP_TCP_OUT_OF_WINDOW);
        if (c->state == TCPS_TIME_WAIT && (fl & TH_FIN))
            tcp_set_rexmit(s, c, TK_TIME_WAIT, s->cfg.time_wait_ns);
        c->flags |= CF_ACK_NOW;
        tcp_output(s, c);
        return;
    }
    if (acc == 2) { /* zero window: keep the control part only */
        dlen = 0;
        fl &= (uint8_t)~TH_FIN;
    }
    if (fl & TH_RST) {
        if (seq == c->rcv_nxt)
            tcp_closed(s, c, NETIO_CLOSE_RESET);
        else
            tcp_challenge_ack(s, c);
        return;
    }
    if (fl & TH_SYN) {
        tcp_challenge_ack(s, c);
        return;
    }
    if (!(fl & TH_ACK)) {
        CNT(s, US_DROP_TCP_NO_ACK);
        return;
    }
    if (c->state == TCPS_SYN_RCVD) {
        if (SEQ_LEQ(ack, c->snd_una) || SEQ_GT(ack, c->snd_max)) {
            CNT(s, US_DROP_TCP_BAD_ACK);
            tcp_send_rst_reply(s, c->raddr, c->rport, c->lport, ack, 0, 0);
            return;
        }
        c->snd_wnd = (uint32_t)wnd << c->snd_ws;
        c->snd_wl1 = seq;
        c->snd_wl2 = ack;
        established_now(s, c);
    }
    if (SEQ_GT(ack, c->snd_max)) {
        CNT(s, US_DROP_TCP_BAD_ACK);
        c->flags |= CF_ACK_NOW;
        tcp_output(s, c);
        return;
    }
    uint32_t swnd = (uint32_t)wnd << c->snd_ws;
    if (o->nsack && (c->flags & CF_SACK)) tcp_sack_update(s, c, o->sack, o->nsack, ack);
    if (SEQ_GT(ack, c->snd_una)) {
        new_ack(s, c, ack);
    } else if (ack == c->snd_una && dlen == 0 && !(fl & TH_FIN) && swnd == c->snd_wnd &&
               c->snd_max != c->snd_una) {
        dup_ack(s, c);
    }
    update_snd_wnd(s, c, seq, ack, swnd);
    if (c->n_sack) tcp_sack_detect(s, c);
    switch (c->state) {
    case TCPS_FIN_WAIT_1:
        if (fin_acked(c)) {
            c->state = TCPS_FIN_WAIT_2;
            tcp_set_rexmit(s, c, TK_FIN_WAIT2, US_FIN_WAIT2_NS);
        }
        break;
    case TCPS_CLOSING:
        if (fin_acked(c)) enter_time_wait(s, c);
        break;
    case TCPS_LAST_ACK:
        if (fin_acked(c)) {
            tcp_closed(s, c, NETIO_CLOSE_PEER_FIN);
            return;
        }
        break;
    default:
        break;
    }
    if (dlen) {
        if (c->state == TCPS_ESTABLISHED || c->state == TCPS_FIN_WAIT_1 ||
            c->state == TCPS_FIN_WAIT_2)
            rcv_data(s, c, seq, d, dlen);
        else
            CNT(s, US_DROP_TCP_DATA_IGNORED);
    }
    if ((fl & TH_FIN) && !(c->flags & CF_RCVD_FIN)) {
        uint32_t fseq = seq + dlen;
        if (fseq == c->rcv_nxt)
            rcv_fin(s, c);
        else if (SEQ_GT(fseq, c->rcv_nxt)) {
            c->flags |= CF_OOO_FIN | CF_ACK_NOW;
            c->ooo_fin_seq = fseq;
        }
    }
    if ((c->flags & CF_OOO_FIN) && c->ooo_fin_seq == c->rcv_nxt) rcv_fin(s, c);
    if (c->flags & CF_RECOVERY)
        tcp_output_work(s, c); /* holes to resend: tcp_output()'s test does not see them */
    else
        tcp_output(s, c);
}

/* Header prediction (after Van Jacobson, RFC 1323 app. C): the segment that
 * keeps an established connection going (ACK set, no SYN, FIN or RST, no
 * options, the next sequence number, an ACK within what was sent that is not
 * a duplicate, data that fits the buffer where it goes) is handled by
 * predicted() with the same effects synchronized() would have; anything else
 * takes the full path. predictable() only looks: tcp_input asks it before
 * the checksum of a long segment is checked, to sum the payload on its way
 * into the receive buffer. */
static inline int predictable(struct us_ctx *s, struct us_conn *c, uint8_t fl, uint32_t seq,
                              uint32_t ack, uint32_t dlen)
{
    if (c->state != TCPS_ESTABLISHED || (fl & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) != TH_ACK ||
        seq != c->rcv_nxt || c->n_ooo || (c->flags & (CF_RECOVERY | CF_OOO_FIN)) ||
        SEQ_LT(ack, c->snd_una) || SEQ_GT(ack, c->snd_max))
        return 0;
    if (dlen) {
        uint32_t cap = s->cfg.rcvbuf;
        if (c->app != APP_OPEN || !SEQ_GT(c->rcv_adv, c->rcv_nxt) || dlen > cap - c->rb_len ||
            c->rb_off + c->rb_len + dlen > cap)
            return 0;
    } else if (ack == c->snd_una) {
        return 0; /* maybe a duplicate ACK or a window update: the full path decides */
    }
    return 1;
}

/* A predictable() segment; `copied`: its data is in the receive buffer
 * already (csum_copy_long). */
static inline __attribute__((always_inline)) void predicted(struct us_ctx *s, struct us_conn *c,
                                                            uint32_t seq, uint32_t ack,
                                                            uint16_t wnd, const uint8_t *d,
                                                            uint32_t dlen, int copied)
{
    CNT(s, US_TCP_PREDICTED);
    if (SEQ_GT(ack, c->snd_una)) new_ack(s, c, ack);
    update_snd_wnd(s, c, seq, ack, (uint32_t)wnd << c->snd_ws);
    if (dlen) {
        if (!copied) memcpy(c->rbuf + c->rb_off + c->rb_len, d, dlen);
        c->rcv_nxt += dlen;
        c->rb_len += dlen;
        us_queue_event(s, c, NETIO_P_READABLE);
        ack_policy(s, c, 0);
    }
    tcp_output(s, c);
}

void tcp_input(struct us_ctx *s, struct pktbuf *b, uint32_t src, uint32_t dst, const uint8_t *p,
               uint32_t len)
{
    if (len < 20) {
        CNT(s, US_DROP_TCP_BAD_LEN);
        return;
    }
    uint32_t ph = csum_pseudo(src, dst, IPPROTO_TCP_, (uint16_t)len);
    int unsummed = !(b->ol_flags & PKT_RX_L4_CSUM_OK);
    struct us_conn *c = NULL;
    int looked = 0;
    if (len >= US_CSUM_LONG && unsummed && (p[12] >> 4) == 5) {
        /* A long segment without options: when it is the next one of an
         * established connection (the usual data segment), its payload is
         * summed while it is copied to the end of the receive buffer, one
         * pass over the frame. Its header is read before the sum is known;
         * nothing changes (or is dropped for another reason) before it is,
         * and a bad sum leaves the copied bytes past rb_len, where nothing
         * reads them. */
        uint16_t sport = rd16(p), dport = rd16(p + 2);
        uint32_t seq = rd32(p + 4), ack = rd32(p + 8);
        if (sport && dport) {
            c = tcp_lookup(s, src, sport, dport);
            looked = 1;
            if (c && predictable(s, c, p[13], seq, ack, len - 20)) {
                uint8_t *to = c->rbuf + c->rb_off + c->rb_len;
                if (csum_fold(csum_copy_long(ph + csum_ip20(p), to, p + 20, len - 20)) != 0) {
                    CNT(s, US_DROP_TCP_BAD_CSUM);
                    return;
                }
                tcp_ka_heard(s, c); /* keepalive: tcp_keepalive.c */
                predicted(s, c, seq, ack, rd16(p + 14), p + 20, len - 20, 1);
                return;
            }
        }
    }
    if (unsummed &&
        csum_fold(len >= US_CSUM_LONG ? csum_add_long(ph, p, len) : csum_add(ph, p, len)) != 0) {
        CNT(s, US_DROP_TCP_BAD_CSUM);
        return;
    }
    uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
    if (doff < 20 || doff > len) {
        CNT(s, US_DROP_TCP_BAD_LEN);
        return;
    }
    uint16_t sport = rd16(p), dport = rd16(p + 2), wnd = rd16(p + 14);
    uint32_t seq = rd32(p + 4), ack = rd32(p + 8);
    uint8_t fl = p[13];
    const uint8_t *d = p + doff;
    uint32_t dlen = len - doff;
    if (sport == 0 || dport == 0) {
        CNT(s, US_DROP_TCP_BAD_LEN);
        return;
    }
    if (!looked) c = tcp_lookup(s, src, sport, dport);
    tcp_ka_heard(s, c); /* keepalive: tcp_keepalive.c */
    if (c && doff == 20 && predictable(s, c, fl, seq, ack, dlen)) {
        predicted(s, c, seq, ack, wnd, d, dlen, 0);
        return;
    }
    /* (a predicted segment has no options) */
    struct tcp_opts o;
    if (parse_opts(p + 20, doff - 20, &o) < 0) {
        CNT(s, US_DROP_TCP_BAD_OPTION);
        return;
    }
    if (c && c->state == TCPS_TIME_WAIT && (fl & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
        SEQ_GT(seq, c->rcv_nxt)) { /* RFC 1122 4.2.2.13: a new incarnation */
        tcp_closed(s, c, NETIO_CLOSE_LOCAL);
        c = NULL;
    }
    if (!c) {
        no_conn(s, src, sport, dport, fl, seq, ack,
                dlen + ((fl & TH_SYN) ? 1 : 0) + ((fl & TH_FIN) ? 1 : 0), wnd, &o);
        return;
    }
    if (c->state == TCPS_SYN_SENT) {
        syn_sent(s, c, fl, seq, ack, wnd, &o);
        return;
    }
    synchronized(s, c, fl, seq, ack, wnd, d, dlen, &o);
}
