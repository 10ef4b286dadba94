/*
 * tcp_out.c — TCP output of the user-space stack: segmentation by MSS of
 * the send ring within min(cwnd, peer window), FIN after queued data, SYN
 * and SYN-ACK with options (MSS, window scale 7), pure and challenge ACKs
 * (RFC 5961, rate-limited), RSTs, single-segment retransmission (fast
 * retransmit, NewReno partial ACKs) and zero-window probes.
 *
 *   tcp_in.c, tcp_timer.c, stack.c -> tcp_output() -> send_seg() -> emit()
 *   emit() -> checksum (software or PKT_TX_L4_CSUM) -> ipv4_output()
 * With a pktio that takes TSO frames (PKT_TX_TSO, us_ctx.tso_seg) the common
 * path sends up to tso_seg bytes of new data per frame, in whole MSS, and
 * the pktio cuts it into MSS segments (tso_mark); retransmissions, probes
 * and segments with SACK blocks stay one MSS.
 */
#include "drivers/ustack/ustack_int.h"

/* Window field for a segment; remembers the right edge advertised. */
static uint16_t adv_window(struct us_ctx *s, struct us_conn *c, int syn)
{
    uint32_t space = tcp_rcv_space(s, c);
    uint32_t w;
    uint8_t shift = 0;
    if (syn || !(c->flags & CF_WSCALE)) {
        w = space > 65535 ? 65535 : space;
    } else {
        shift = c->rcv_ws;
        w = space >> shift;
        if (w > 65535) w = 65535;
    }
    uint32_t edge = c->rcv_nxt + (w << shift);
    if (SEQ_GT(edge, c->rcv_adv)) c->rcv_adv = edge;
    return (uint16_t)w;
}

void tcp_tmpl_init(struct us_ctx *s, struct us_conn *c)
{
    uint8_t *t = c->tmpl, *ip = t + 8;
    memcpy(t, s->mac, 6);
    wr16(t + 6, ETH_P_IPV4);
    memset(ip, 0, IP_HLEN);
    ip[0] = 0x45;
    wr16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = IPPROTO_TCP_;
    wr32(ip + 12, s->ip);
    wr32(ip + 16, c->raddr);
    wr16(t + 28, c->lport);
    wr16(t + 30, c->rport);
    c->tmpl_ipsum = csum_ip20(ip);
    c->tmpl_tcpsum = csum_pseudo(s->ip, c->raddr, IPPROTO_TCP_, 0) + c->lport + c->rport;
}

/* dlen bytes of c's send ring from sequence dseq to dst (the ring wraps). */
static inline void ring_copy(struct us_ctx *s, struct us_conn *c, uint8_t *dst, uint32_t dseq,
                             uint32_t dlen)
{
    uint32_t cap = s->cfg.sndbuf;
    uint32_t off = (c->sb_head + (dseq - c->sb_seq)) % cap;
    uint32_t first = cap - off < dlen ? cap - off : dlen;
    memcpy(dst, c->sbuf + off, first);
    if (first < dlen) memcpy(dst + first, c->sbuf, dlen - first);
    s->cnt[US_TX_COPY_FRAME] += dlen;
}

/* The RFC 1071 sum of base[a .. a + n) from a word boundary at a, from a
 * source's prefix sums (struct netio_src.sum), folded to 16 bits. */
static inline uint32_t src_sum(const struct netio_src *src, uint64_t a, uint32_t n)
{
    const uint16_t *t = src->sum[a & 1];
    uint32_t v = (uint32_t)t[a + n] + (uint16_t)~t[a];
    v = (v & 0xffff) + (v >> 16);
    return (v & 0xffff) + (v >> 16);
}

/* A piece's sum (folded) at byte offset `at` of the summed area: at an odd
 * offset its bytes are the other halves of the words (RFC 1071 2(B)). */
static inline uint32_t sum_at(uint32_t v, uint32_t at)
{
    return (at & 1) ? ((v & 0xff) << 8 | v >> 8) : v;
}

/* The same where some of the ring's bytes are references (us_send_ref):
 * those pieces come straight from their source, a period at a time. With
 * want_sum, returns the RFC 1071 sum of the dlen bytes written (not
 * folded): from the source's prefix sums where it has them (no second pass
 * over the bytes), else summed from dst. */
static __attribute__((noinline)) uint32_t ref_copy(struct us_ctx *s, struct us_conn *c,
                                                   uint8_t *dst, uint32_t dseq, uint32_t dlen,
                                                   int want_sum)
{
    uint32_t end = dseq + dlen, sum = 0;
    const uint8_t *dst0 = dst;
    uint8_t i = 0;
    while (SEQ_LT(dseq, end)) {
        /* the first reference not wholly below dseq (they are in order) */
        const struct us_ref *r = NULL;
        for (; i < c->ref_n; i++) {
            const struct us_ref *q = &c->refs[(c->ref_head + i) % US_REFS];
            if (SEQ_GT(q->seq + q->len, dseq)) {
                r = q;
                break;
            }
        }
        if (!r || SEQ_GT(r->seq, dseq)) { /* ring bytes up to the next reference */
            uint32_t k = r && SEQ_LT(r->seq, end) ? r->seq - dseq : end - dseq;
            ring_copy(s, c, dst, dseq, k);
            if (want_sum) sum += sum_at(csum_add(0, dst, k), (uint32_t)(dst - dst0));
            dst += k, dseq += k;
            continue;
        }
        uint32_t k = SEQ_LT(r->seq + r->len, end) ? r->seq + r->len - dseq : end - dseq;
        uint64_t o = r->off + (dseq - r->seq), p = r->src.period;
        for (uint32_t done = 0; done < k;) {
            uint64_t at = p ? (o + done) % p : o + done;
            uint32_t m = k - done;
            if (p && m > p) m = (uint32_t)p; /* base holds the period twice */
            memcpy(dst + done, r->src.base + at, m);
            if (want_sum)
                sum += sum_at(p && r->src.sum[0] ? src_sum(&r->src, at, m)
                                                 : csum_add(0, dst + done, m),
                              (uint32_t)(dst + done - dst0));
            done += m;
        }
        s->cnt[US_TX_FILL_FRAME] += k;
        dst += k, dseq += k;
    }
    return sum;
}

static inline void copy_from_ring(struct us_ctx *s, struct us_conn *c, uint8_t *dst, uint32_t dseq,
                                  uint32_t dlen)
{
    if (__builtin_expect(c->ref_n != 0, 0))
        ref_copy(s, c, dst, dseq, dlen, 0);
    else
        ring_copy(s, c, dst, dseq, dlen);
}

/* A frame of more than one MSS of data (only where s->tso_seg allowed it):
 * marks b for the pktio to segment into c->smss-byte segments (TSO) and
 * returns 1; the TCP checksum is then left partial, as for PKT_TX_L4_CSUM.
 * thl: TCP header bytes. 0 for an ordinary segment. */
static inline int tso_mark(struct us_ctx *s, struct pktbuf *b, const struct us_conn *c,
                           uint32_t dlen, uint32_t thl)
{
    if (__builtin_expect(dlen <= c->smss, 1)) return 0;
    CNT(s, US_TX_TSO_FRAMES);
    b->ol_flags |= PKT_TX_TSO;
    b->tso_segsz = c->smss;
    b->l4_len = (uint16_t)thl;
    return 1;
}

/* The most data bytes a new segment of the common path may carry: one MSS,
 * or with TSO as many whole MSS as a TSO frame holds. */
static inline uint32_t seg_max_tso(const struct us_ctx *s, const struct us_conn *c)
{
    if (!s->tso_seg || s->tso_seg < 2u * c->smss) return c->smss;
    return s->tso_seg / c->smss * c->smss;
}

/* A segment without options on connection c to a resolved peer: the frame
 * is c->tmpl plus the fields that change, and both checksums start from the
 * template's sums (only the header's last 16 bytes and the data are summed).
 * Same bytes as the generic path below. */
static inline __attribute__((always_inline)) void
emit_tmpl(struct us_ctx *s, struct us_conn *c, struct pktbuf *b, const uint8_t *mac, uint32_t seq,
          uint32_t ack, uint8_t flags, uint16_t win, uint32_t dseq, uint32_t dlen)
{
    uint8_t *p = b->data, *ip = p + ETH_HLEN, *th = ip + IP_HLEN;
    memcpy(p, mac, 6);
    memcpy(p + 6, c->tmpl, sizeof(c->tmpl));
    wr32(th + 4, seq);
    wr32(th + 8, ack);
    th[12] = 5 << 4;
    th[13] = flags;
    wr16(th + 14, win);
    memset(th + 16, 0, 4); /* checksum, urgent pointer */
    int dsum_ok = 0; /* dsum: the data's sum, taken while filling (references) */
    uint32_t dsum = 0;
    if (dlen) {
        if (__builtin_expect(c->ref_n != 0, 0)) {
            /* we sum the segment: no checksum offload, no TSO (tso_mark) */
            dsum_ok = !(s->offloads & PKT_TX_L4_CSUM) && dlen <= c->smss;
            dsum = ref_copy(s, c, th + 20, dseq, dlen, dsum_ok);
        } else {
            ring_copy(s, c, th + 20, dseq, dlen);
        }
    }
    uint32_t l4 = 20 + dlen, tot = IP_HLEN + l4;
    uint16_t id = s->ip_id++;
    wr16(ip + 2, (uint16_t)tot);
    wr16(ip + 4, id);
    b->len = ETH_HLEN + tot;
    b->l2_len = ETH_HLEN;
    b->l3_len = IP_HLEN;
    if (s->offloads & PKT_TX_IP_CSUM)
        b->ol_flags |= PKT_TX_IP_CSUM;
    else
        wr16(ip + 10, csum_fold(c->tmpl_ipsum + tot + id));
    int tso = tso_mark(s, b, c, dlen, 20);
    if ((s->offloads & PKT_TX_L4_CSUM) || tso) { /* device finishes it: pseudo-header sum */
        wr16(th + 16,
             (uint16_t)~csum_fold(csum_pseudo(s->ip, c->raddr, IPPROTO_TCP_, (uint16_t)l4)));
        b->ol_flags |= PKT_TX_L4_CSUM;
    } else if (dsum_ok) { /* the header's last 16 bytes; the data's sum is known */
        wr16(th + 16, csum_fold(csum_add(c->tmpl_tcpsum + l4 + dsum, th + 4, 16)));
    } else {
        wr16(th + 16, csum_fold(csum_add(c->tmpl_tcpsum + l4, th + 4, l4 - 4)));
    }
    if (b->len < 60) { /* pad to the Ethernet minimum */
        memset(p + b->len, 0, 60 - b->len);
        b->len = 60;
    }
    us_tx_roomy(s, b); /* (emit_inl made room) */
}

/* One segment; c (may be NULL: RST replies) lends its header template when
 * its peer is resolved and, when dlen > 0, dlen bytes of its send ring from
 * sequence dseq. Inlined into
 * send_seg, the per-request path, where the constant arguments fold away.
 * Returns 1 when the segment was queued; 0 when c's segment found the TX
 * queue full or no buffer (c stalls: see us_tx_stall; the caller leaves its
 * state as if it had not tried) or, without c, when no buffer was left. */
static inline __attribute__((always_inline)) int
emit_inl(struct us_ctx *s, struct us_conn *c, uint32_t raddr, uint16_t lport, uint16_t rport,
         uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opt,
         uint32_t optlen, uint32_t dseq, uint32_t dlen)
{
    if (c && __builtin_expect(!us_tx_room(s), 0)) {
        us_tx_stall(s, c);
        return 0;
    }
    struct pktbuf *b = c && dlen > c->smss ? us_alloc_tso(s) : us_alloc(s);
    if (!b) {
        if (c) us_tx_stall(s, c);
        return 0;
    }
    if (c && !optlen && (c->flags & CF_HASHED)) {
        const uint8_t *mac = arp_cached(s, raddr, &c->arp_hint);
        if (mac) {
            emit_tmpl(s, c, b, mac, seq, ack, flags, win, dseq, dlen);
            return 1;
        }
    }
    uint8_t *th = b->data + ETH_HLEN + IP_HLEN;
    uint32_t hl = 20 + optlen;
    wr16(th, lport);
    wr16(th + 2, rport);
    wr32(th + 4, seq);
    wr32(th + 8, ack);
    th[12] = (uint8_t)((hl / 4) << 4);
    th[13] = flags;
    wr16(th + 14, win);
    wr16(th + 16, 0);
    wr16(th + 18, 0);
    if (optlen) memcpy(th + 20, opt, optlen);
    if (dlen) copy_from_ring(s, c, th + hl, dseq, dlen);
    uint32_t l4 = hl + dlen;
    uint32_t ph = csum_pseudo(s->ip, raddr, IPPROTO_TCP_, (uint16_t)l4);
    int tso = c && tso_mark(s, b, c, dlen, hl);
    if ((s->offloads & PKT_TX_L4_CSUM) || tso) { /* device finishes it: pseudo-header sum */
        wr16(th + 16, (uint16_t)~csum_fold(ph));
        b->ol_flags |= PKT_TX_L4_CSUM;
    } else {
        wr16(th + 16, csum_fold(csum_add(ph, th, l4)));
    }
    ipv4_output(s, b, raddr, IPPROTO_TCP_, (uint16_t)l4);
    return 1;
}

static __attribute__((noinline)) int emit(struct us_ctx *s, struct us_conn *c, uint32_t raddr,
                                          uint16_t lport, uint16_t rport, uint32_t seq,
                                          uint32_t ack, uint8_t flags, uint16_t win,
                                          const uint8_t *opt, uint32_t optlen)
{
    return emit_inl(s, c, raddr, lport, rport, seq, ack, flags, win, opt, optlen, 0, 0);
}

static void acked_now(struct us_conn *c)
{
    c->flags &= ~CF_ACK_NOW;
    c->delack_at = 0;
    c->unacked_segs = 0;
}

/* Whether our segments carry SACK blocks now: out-of-order data is held. */
static inline int sack_due(const struct us_conn *c)
{
    return __builtin_expect((c->flags & CF_SACKQ) != 0, 0);
}

/* Bytes of the SACK option sack_opt() builds (two NOPs, kind, length, blocks). */
static inline uint32_t sack_optlen(const struct us_conn *c)
{
    uint32_t n = c->n_ooo + ((c->flags & CF_DSACK) ? 1u : 0u);
    return 4u + 8u * (n < TCP_SACK_BLOCKS ? n : TCP_SACK_BLOCKS);
}

/* The most data bytes a segment may carry: the options take their room. */
static inline uint32_t seg_max(const struct us_conn *c)
{
    return sack_due(c) ? c->smss - sack_optlen(c) : c->smss;
}

/* RFC 2018 section 4: the block holding the latest out-of-order segment
 * first, then the others; RFC 2883: a D-SACK block (CF_DSACK) before them
 * all. (A D-SACK inside an out-of-order range is followed by that range:
 * it holds the latest segment, the duplicate.) */
static uint32_t sack_opt(const struct us_conn *c, uint8_t *o)
{
    uint32_t n = 0, first = 0;
    o[0] = o[1] = TCPOPT_NOP;
    o[2] = TCPOPT_SACK;
    if (c->flags & CF_DSACK) {
        wr32(o + 4, c->dsack_s);
        wr32(o + 8, c->dsack_e);
        n = 1;
    }
    uint32_t last = c->ooo_last;
    if (n && SEQ_GT(c->dsack_e, c->rcv_nxt)) last = c->dsack_s;
    for (uint8_t i = 0; i < c->n_ooo; i++)
        if (SEQ_GEQ(last, c->ooo_s[i]) && SEQ_LT(last, c->ooo_e[i])) first = i;
    if (c->n_ooo) {
        wr32(o + 4 + 8 * n, c->ooo_s[first]);
        wr32(o + 8 + 8 * n, c->ooo_e[first]);
        n++;
    }
    for (uint8_t i = 0; i < c->n_ooo && n < TCP_SACK_BLOCKS; i++) {
        if (i == first) continue;
        wr32(o + 4 + 8 * n, c->ooo_s[i]);
        wr32(o + 8 + 8 * n, c->ooo_e[i]);
        n++;
    }
    o[3] = (uint8_t)(2 + 8 * n);
    return 4 + 8 * n;
}

/* A segment with the SACK option went: a D-SACK is reported once (RFC
 * 2883); blocks stay due while out-of-order data is held. */
static void sack_sent(struct us_ctx *s, struct us_conn *c)
{
    CNT(s, US_SACK_ACKS_SENT);
    if (!(c->flags & CF_DSACK)) return;
    CNT(s, US_DSACK_SENT);
    c->flags &= ~CF_DSACK;
    if (!c->n_ooo) c->flags &= ~CF_SACKQ;
}

/* One segment at seq with up to len bytes of the send ring, FIN if asked.
 * Inlined into its two callers: tcp_output's loop is the per-request path. */
static __attribute__((noinline)) int send_seg_sack(struct us_ctx *s, struct us_conn *c,
                                                   uint32_t seq, uint32_t len, uint8_t fl)
{
    uint8_t opt[4 + 8 * TCP_SACK_BLOCKS];
    /* (a loop that began with blocks due may have sent the last of them: a
     * lone D-SACK goes once; an empty SACK option would be malformed) */
    uint32_t n = sack_due(c) ? sack_opt(c, opt) : 0;
    if (!emit_inl(s, c, c->raddr, c->lport, c->rport, seq, c->rcv_nxt, fl, adv_window(s, c, 0),
                  n ? opt : NULL, n, seq, len))
        return 0;
    if (n) sack_sent(s, c);
    acked_now(c);
    return 1;
}

/* (len <= seg_max(c): the SACK option, when due (sk), takes its room) */
static inline __attribute__((always_inline)) int send_seg_x(struct us_ctx *s, struct us_conn *c,
                                                            uint32_t seq, uint32_t len, int fin,
                                                            int psh, int sk)
{
    uint8_t fl = TH_ACK | (fin ? TH_FIN : 0) | (psh && len ? TH_PSH : 0);
    if (sk) return send_seg_sack(s, c, seq, len, fl);
    if (!emit_inl(s, c, c->raddr, c->lport, c->rport, seq, c->rcv_nxt, fl, adv_window(s, c, 0),
                  NULL, 0, seq, len))
        return 0;
    acked_now(c);
    return 1;
}

static inline __attribute__((always_inline)) int
send_seg(struct us_ctx *s, struct us_conn *c, uint32_t seq, uint32_t len, int fin, int psh)
{
    return send_seg_x(s, c, seq, len, fin, psh, sack_due(c));
}

void tcp_send_syn(struct us_ctx *s, struct us_conn *c)
{
    uint8_t opt[12];
    uint32_t n = 0;
    opt[n++] = TCPOPT_MSS;
    opt[n++] = 4;
    wr16(opt + n, s->mss);
    n += 2;
    int passive = c->state == TCPS_SYN_RCVD;
    if (!passive || (c->flags & CF_WSCALE)) {
        opt[n++] = TCPOPT_NOP;
        opt[n++] = TCPOPT_WSCALE;
        opt[n++] = 3;
        opt[n++] = TCP_WSCALE_OURS;
    }
    if (passive ? (c->flags & CF_SACK) : !s->cfg.sack_off) { /* RFC 2018 section 2 */
        opt[n++] = TCPOPT_NOP;
        opt[n++] = TCPOPT_NOP;
        opt[n++] = TCPOPT_SACK_PERM;
        opt[n++] = 2;
    }
    uint8_t fl = TH_SYN | (passive ? TH_ACK : 0);
    c->flags &= ~(CF_SYN_LOST | CF_SYN_STALL); /* this copy may get out (ARP marks
                                                               it again if not) */
    if (!emit(s, c, c->raddr, c->lport, c->rport, c->iss, passive ? c->rcv_nxt : 0, fl,
              adv_window(s, c, 1), opt, n))
        c->flags |= CF_SYN_STALL; /* sent when the queue drains (or by the RTO) */
    c->snd_nxt = c->iss + 1;
    if (SEQ_GT(c->snd_nxt, c->snd_max)) c->snd_max = c->snd_nxt;
    if (c->nretx == 0) {
        c->flags |= CF_RTT;
        c->rtt_seq = c->iss;
        c->rtt_start = s->now;
    }
    if (passive) acked_now(c);
}

/* Pure ACKs and RSTs carry SND.MAX: after a go-back retransmission snd_nxt
 * is behind what the peer may already have (BSD tcp_output does the same). */
int tcp_send_ack(struct us_ctx *s, struct us_conn *c)
{
    uint8_t opt[4 + 8 * TCP_SACK_BLOCKS];
    uint32_t n = sack_due(c) ? sack_opt(c, opt) : 0;
    if (!emit(s, c, c->raddr, c->lport, c->rport, c->snd_max, c->rcv_nxt, TH_ACK,
              adv_window(s, c, 0), n ? opt : NULL, n)) {
        c->flags |= CF_ACK_NOW; /* still owed: sent when the queue drains */
        return 0;
    }
    if (n) sack_sent(s, c);
    acked_now(c);
    return 1;
}

void tcp_probe(struct us_ctx *s, struct us_conn *c)
{
    emit(s, c, c->raddr, c->lport, c->rport, c->snd_una - 1, c->rcv_nxt, TH_ACK,
         adv_window(s, c, 0), NULL, 0);
}

void tcp_send_rst(struct us_ctx *s, struct us_conn *c)
{
    CNT(s, US_RSTS_SENT);
    emit(s, c, c->raddr, c->lport, c->rport, c->snd_max, c->rcv_nxt, TH_RST | TH_ACK, 0, NULL, 0);
}

void tcp_send_rst_reply(struct us_ctx *s, uint32_t raddr, uint16_t rport, uint16_t lport,
                        uint32_t seq, uint32_t ack, int with_ack)
{
    CNT(s, US_RSTS_SENT);
    emit(s, NULL, raddr, lport, rport, seq, ack, TH_RST | (with_ack ? TH_ACK : 0), 0, NULL, 0);
}

void tcp_challenge_ack(struct us_ctx *s, struct us_conn *c)
{
    if (s->now - s->chal_window >= 1000000000ull) {
        s->chal_window = s->now;
        s->chal_count = 0;
    }
    if (s->chal_count >= US_CHALLENGE_PER_SEC) {
        CNT(s, US_CHALLENGE_ACKS_LIMITED);
        return;
    }
    s->chal_count++;
    CNT(s, US_CHALLENGE_ACKS);
    tcp_send_ack(s, c);
}

/* Bytes of the ring not yet sent from seq, and whether FIN follows them. */
static uint32_t unsent_from(struct us_conn *c, uint32_t seq)
{
    uint32_t off = seq - c->sb_seq;
    return off < c->sb_len ? c->sb_len - off : 0;
}

static int fin_due(struct us_conn *c, uint32_t seq, uint32_t len)
{
    return (c->flags & CF_FIN_QUEUED) && seq + len == c->fin_seq;
}

void tcp_retransmit_one(struct us_ctx *s, struct us_conn *c)
{
    uint32_t seq = c->snd_una;
    uint32_t len = unsent_from(c, seq);
    if (len > seg_max(c)) len = seg_max(c);
    int fin = fin_due(c, seq, len) && SEQ_GT(c->snd_max, c->fin_seq);
    if (!len && !fin) return;
    c->flags &= ~CF_RTT;                           /* Karn */
    if (!send_seg(s, c, seq, len, fin, 1)) return; /* the RTO resends it */
    CNT(s, US_RETRANSMITS);
    uint32_t end = seq + len + (fin ? 1 : 0);
    tcp_undo_retx(c, (SEQ_LT(end, c->snd_max) ? end : c->snd_max) - seq); /* the resent part */
    if (SEQ_GT(end, c->snd_nxt)) c->snd_nxt = end;
    if (SEQ_GT(end, c->snd_max)) c->snd_max = end; /* may carry bytes never sent before */
}

/* RFC 6675 NextSeg rule 1: resend the lost holes (below lost_hi, not
 * SACKed, not resent yet in this recovery) while the pipe is under cwnd.
 * Returns how many went, -1 when the TX queue stalled. */
static int sack_rexmit(struct us_ctx *s, struct us_conn *c, uint32_t smax)
{
    uint32_t pipe = c->snd_max - c->snd_una - tcp_sack_out_of_pipe(c);
    uint32_t from = SEQ_MAX(c->rxt_nxt, c->snd_una);
    int n = 0;
    while (SEQ_LT(from, c->lost_hi) && pipe < c->cwnd) {
        uint32_t end, h = tcp_sack_next_hole(c, from, &end);
        if (!SEQ_LT(h, c->lost_hi)) break;
        end = SEQ_MIN(end, c->lost_hi);
        int fin_sent = (c->flags & CF_FIN_QUEUED) && SEQ_GT(c->snd_max, c->fin_seq);
        if (fin_sent && SEQ_GT(end, c->fin_seq)) end = c->fin_seq; /* data part; FIN below */
        uint32_t len = end - h;
        if (len > smax) len = smax;
        int fin = fin_sent && h + len == c->fin_seq;
        if (!len && !fin) break;
        c->flags &= ~CF_RTT; /* Karn */
        if (!send_seg(s, c, h, len, fin, 1)) return -1;
        CNT(s, US_RETRANSMITS);
        CNT(s, US_SACK_RETRANSMITS);
        from = h + len + (fin ? 1 : 0);
        tcp_undo_retx(c, from - h);
        c->rxt_nxt = from;
        c->rxt_mark = c->snd_max;
        pipe += len;
        n++;
    }
    if (n && (!c->rexmit_at || c->tkind != TK_RTO)) tcp_set_rexmit(s, c, TK_RTO, c->rto);
    return n;
}

void tcp_arm_rto(struct us_ctx *s, struct us_conn *c, int restart)
{
    if (restart || !c->rexmit_at || (c->tkind != TK_RTO && c->tkind != TK_REO))
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
}

/* RFC 8985 7.3: the PTO fired with the tail of a flight unacknowledged.
 * Send one segment of new data if the peer's window has room, else the
 * last segment again, so that its ACK (with SACK: which part arrived)
 * starts fast recovery instead of waiting for the RTO. Then the RTO. */
void tcp_tlp_fire(struct us_ctx *s, struct us_conn *c)
{
    if (c->snd_una == c->snd_max) return;
    if (!c->snd_wnd) { /* the peer's window closed: nothing would be taken */
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
        return;
    }
    /* Our own TX path refused frames within the last probe timeout: the
     * tail is most likely still queued on this host (in the TX queue or the
     * link's ring), late rather than lost, and a probe would only queue
     * behind it (as Linux holds a retransmission while the original is
     * still in the host's queue). The RTO still guards a real loss. */
    if (s->tx_refused_at && s->now - s->tx_refused_at < 2 * c->srtt + US_TLP_MIN_NS) {
        CNT(s, US_TLP_DEFERRED_BUSY);
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
        return;
    }
    /* The latest segment is still on this host: in our TX queue, or in the
     * link's (pktio tx_pending; a net_ring pair's ring, memlink's FIFO) when
     * the peer has not taken it (its thread descheduled, busy): late, not
     * lost, and a probe would only queue behind it. The RTO guards it. */
    int64_t q;
    uint32_t left = (uint32_t)us_tx_left(s, &q);
    if ((int32_t)(left - c->tail_tx) < 0) {
        CNT(s, US_TLP_DEFERRED_QUEUED);
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
        return;
    }
    /* The peer took the tail, and then nothing more for half the probe
     * timeout though our frames wait for it: it stopped running (a thread
     * descheduled with our segments in hand), the silence is not a loss. */
    if (q > 0 && s->now - s->tx_left_at >= c->srtt + US_TLP_MIN_NS / 2) {
        CNT(s, US_TLP_DEFERRED_STALLED);
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
        return;
    }
    CNT(s, US_TLP_PROBES);
    tcp_undo_begin(c); /* a probe episode (ends an earlier one even when it sends new data) */
    uint32_t smax = seg_max(c), avail = unsent_from(c, c->snd_nxt);
    uint32_t room = c->snd_una + c->snd_wnd - c->snd_nxt;
    if (avail && SEQ_LT(c->snd_nxt, c->snd_una + c->snd_wnd)) {
        uint32_t len = avail < room ? avail : room;
        if (len > smax) len = smax;
        int fin = fin_due(c, c->snd_nxt, len) && len == avail;
        if (send_seg(s, c, c->snd_nxt, len, fin, len == avail)) {
            CNT(s, US_TLP_NEW_DATA);
            c->snd_nxt += len + (fin ? 1 : 0);
            if (SEQ_GT(c->snd_nxt, c->snd_max)) c->snd_max = c->snd_nxt;
        }
    } else {
        int fin = (c->flags & CF_FIN_QUEUED) && SEQ_GT(c->snd_max, c->fin_seq);
        uint32_t dend = fin ? c->fin_seq : c->snd_max;
        uint32_t len = SEQ_GT(dend, c->snd_una) ? dend - c->snd_una : 0;
        if (len > smax) len = smax;
        c->flags &= ~CF_RTT; /* Karn */
        if (send_seg(s, c, dend - len, len, fin, 1)) {
            CNT(s, US_RETRANSMITS);
            tcp_undo_retx(c, len + (fin ? 1u : 0u));
        }
    }
    c->tlp_hi = c->snd_max;
    c->flags |= CF_LR;
    tcp_set_rexmit(s, c, TK_RTO, c->rto);
}

/* The sending part of tcp_output_work(): new segments while the window
 * (wnd) allows, at most smax bytes each, with SACK blocks when sk; then the
 * timer, an owed ACK, persist. Inlined twice: the common case with smax =
 * smss and no SACK blocks folded in, and output_slow(). */
static inline __attribute__((always_inline)) void output_loop(struct us_ctx *s, struct us_conn *c,
                                                              uint32_t wnd, uint32_t smax, int sk)
{
    int sent = 0;
    for (;;) {
        uint32_t avail = unsent_from(c, c->snd_nxt);
        uint32_t flight = c->snd_nxt - c->snd_una;
        uint32_t usable = wnd > flight ? wnd - flight : 0;
        uint32_t len = avail < usable ? avail : usable;
        if (len > smax) len = smax;
        int fin = fin_due(c, c->snd_nxt, len) && len == avail;
        if (!len && !fin) break;
        if (!send_seg_x(s, c, c->snd_nxt, len, fin, len == avail, sk)) {
            if (sent) c->tail_tx = (uint32_t)(s->cnt[US_TX_FRAMES] + s->ntx);
            sent = -1; /* stalled: snd_nxt stays, the segment (and any owed ACK) goes when the
                          queue drains */
            break;
        }
        if (!(c->flags & CF_RTT) && SEQ_GEQ(c->snd_nxt, c->snd_max)) {
            c->flags |= CF_RTT;
            c->rtt_seq = c->snd_nxt;
            c->rtt_start = s->now;
        }
        c->snd_nxt += len + (fin ? 1 : 0);
        if (SEQ_GT(c->snd_nxt, c->snd_max)) c->snd_max = c->snd_nxt;
        sent = 1;
        if (fin || (len == avail && !(c->flags & CF_FIN_QUEUED))) break; /* nothing left */
    }
    if (sent > 0) {
        c->tail_tx = (uint32_t)(s->cnt[US_TX_FRAMES] + s->ntx); /* the last frame queued */
        tcp_arm_xmit_timer(s, c, 0);
    }
    if (!sent && (c->flags & CF_ACK_NOW)) tcp_send_ack(s, c);
    /* nothing in flight, data waiting, peer window closed: persist */
    if (c->snd_wnd == 0 && c->snd_una == c->snd_max && unsent_from(c, c->snd_nxt) &&
        !c->rexmit_at) {
        c->persist_ns = c->rto;
        tcp_set_rexmit(s, c, TK_PERSIST, c->persist_ns);
    }
}

/* tcp_output_work() with SACK blocks to send, SACKed data, a probe out or
 * in recovery: resend lost holes first; then new data may fill the window
 * by as much as the scoreboard says is no longer in the network (the RFC
 * 6675 pipe instead of the flight). */
static __attribute__((noinline)) void output_slow(struct us_ctx *s, struct us_conn *c)
{
    uint32_t smax = seg_max(c), cw = c->cwnd;
    if (c->n_sack || (c->flags & CF_RECOVERY)) {
        if ((c->flags & (CF_RECOVERY | CF_SACK)) == (CF_RECOVERY | CF_SACK) &&
            sack_rexmit(s, c, smax) < 0)
            return;                    /* stalled */
        cw += tcp_sack_out_of_pipe(c); /* (the peer's window is not: it ends at snd_una) */
    }
    /* after an RTO snd_nxt went back (go back N): what goes below snd_max
     * is resent, counted here in segments of smax */
    uint32_t nxt = c->snd_nxt, max = c->snd_max;
    output_loop(s, c, c->snd_wnd < cw ? c->snd_wnd : cw, smax, sack_due(c));
    if (SEQ_LT(nxt, max) && SEQ_GT(c->snd_nxt, nxt)) {
        uint32_t resent = (SEQ_LT(c->snd_nxt, max) ? c->snd_nxt : max) - nxt;
        s->cnt[US_RETRANSMITS] += (resent + smax - 1u) / smax;
        tcp_undo_retx(c, resent);
    }
}

void tcp_output_work(struct us_ctx *s, struct us_conn *c)
{
    switch (c->state) {
    case TCPS_CLOSED:
        return;
    case TCPS_SYN_SENT:
    case TCPS_SYN_RCVD:
    case TCPS_TIME_WAIT:
        if (c->flags & CF_ACK_NOW) {
            c->flags &= ~CF_ACK_NOW;
            if (c->state == TCPS_SYN_RCVD)
                tcp_send_syn(s, c);
            else if (c->state == TCPS_TIME_WAIT)
                tcp_send_ack(s, c); /* sets CF_ACK_NOW again if it stalled */
        }
        return;
    default:
        break;
    }
    /* (tcp_output() returned already when nothing is unsent and no ACK or
     * FIN is due: the loop below would send nothing, and persist needs
     * unsent data) */
    if (__builtin_expect(c->flags & (CF_RECOVERY | CF_LR | CF_SACKQ), 0)) {
        output_slow(s, c);
        return;
    }
    output_loop(s, c, c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd, seg_max_tso(s, c), 0);
}
