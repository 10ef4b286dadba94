/*
 * tcp_timer.c — TCP timers of the user-space stack on one hashed timer
 * wheel (US_WHEEL_SLOTS slots of ~1 ms). Each connection sits in the wheel
 * at most once, at (or, lazily, before) its earliest deadline of: rexmit_at
 * (RTO, persist, TIME_WAIT, FIN_WAIT_2, tail loss probe or RACK reordering
 * window, per tkind) and delack_at. RTT estimation and the
 * RTO per RFC 6298 (Karn's algorithm, exponential backoff, bounds).
 *
 *   stack.c poll -> tcp_timer_run() -> fire() -> on_rto() -> tcp_output()
 *                                             -> tcp_tlp_fire() (tcp_out.c)
 *                                             -> tcp_sack_reo_fire() (tcp_sack.c)
 *                                             -> on_persist() -> tcp_probe()
 *                                             -> tcp_send_ack() (delayed ACK)
 *                                             -> tcp_closed() (TIME_WAIT, give up)
 */
#include "drivers/ustack/ustack_int.h"

static int32_t cidx(struct us_ctx *s, struct us_conn *c)
{
    return (int32_t)(c - s->conns);
}

void tcp_timer_init(struct us_ctx *s)
{
    for (uint32_t i = 0; i < US_WHEEL_SLOTS; i++)
        s->wheel[i] = -1;
    s->wheel_tick = s->now >> US_TICK_SHIFT;
}

void tcp_timer_unlink(struct us_ctx *s, struct us_conn *c)
{
    if (!c->tdue) return;
    if (c->tprev >= 0)
        s->conns[c->tprev].tnext = c->tnext;
    else
        s->wheel[(c->tdue >> US_TICK_SHIFT) & (US_WHEEL_SLOTS - 1)] = c->tnext;
    if (c->tnext >= 0) s->conns[c->tnext].tprev = c->tprev;
    c->tprev = c->tnext = -1;
    c->tdue = 0;
}

static void link_at(struct us_ctx *s, struct us_conn *c, uint64_t due)
{
    uint64_t tick = due >> US_TICK_SHIFT;
    if (tick <= s->wheel_tick) { /* already due: next tick processed */
        tick = s->wheel_tick + 1;
        due = tick << US_TICK_SHIFT;
    }
    uint32_t slot = tick & (US_WHEEL_SLOTS - 1);
    c->tdue = due;
    c->tprev = -1;
    c->tnext = s->wheel[slot];
    if (c->tnext >= 0) s->conns[c->tnext].tprev = cidx(s, c);
    s->wheel[slot] = cidx(s, c);
}

/* The slow part of tcp_timer_sched(): the link moves to due (0: none). */
void tcp_timer_relink(struct us_ctx *s, struct us_conn *c, uint64_t due)
{
    tcp_timer_unlink(s, c);
    if (due) link_at(s, c, due);
}

static uint64_t rto_min(struct us_ctx *s)
{
    return s->cfg.rto_min_ns;
}

/* RFC 6298 2.2/2.3 with G = one wheel tick; then the bounds of 2.4/2.5. */
void tcp_rtt_sample(struct us_ctx *s, struct us_conn *c, uint64_t r)
{
    if (!c->srtt) {
        c->srtt = r ? r : 1;
        c->rttvar = r / 2;
    } else {
        uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
        if (!c->srtt) c->srtt = 1;
    }
    uint64_t k = 4 * c->rttvar;
    uint64_t g = 1ull << US_TICK_SHIFT;
    uint64_t rto = c->srtt + (k > g ? k : g);
    if (rto < rto_min(s)) rto = rto_min(s);
    if (rto > US_RTO_MAX_NS) rto = US_RTO_MAX_NS;
    c->rto = rto;
}

static void backoff(struct us_conn *c)
{
    c->rto *= 2;
    if (c->rto > US_RTO_MAX_NS) c->rto = US_RTO_MAX_NS;
}

static void on_rto(struct us_ctx *s, struct us_conn *c)
{
    if (c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RCVD) {
        if (++c->nretx > US_SYN_RETRIES) {
            CNT(s, US_TIMEOUTS);
            tcp_closed(s, c, NETIO_CLOSE_TIMEOUT);
            return;
        }
        CNT(s, US_SYN_RETRANSMITS);
        backoff(c);
        c->flags &= ~CF_RTT;
        tcp_send_syn(s, c);
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
        return;
    }
    if (c->snd_una == c->snd_max) return; /* nothing outstanding */
    if (c->snd_wnd == 0) {                /* the peer closed its window: probe, do not give up */
        CNT(s, US_ZERO_WINDOW_PROBES);
        tcp_probe(s, c);
        backoff(c);
        tcp_set_rexmit(s, c, TK_RTO, c->rto);
        return;
    }
    if (++c->nretx > US_DATA_RETRIES) {
        CNT(s, US_TIMEOUTS);
        tcp_send_rst(s, c);
        tcp_closed(s, c, NETIO_CLOSE_TIMEOUT);
        return;
    }
    CNT(s, US_TIMEOUTS);
    tcp_undo_begin(c); /* a D-SACK of every resend undoes the cut (tcp_sack.c) */
    /* RFC 5681 eq. 4 and loss window; RFC 6582: leave recovery */
    uint32_t flight = c->snd_max - c->snd_una;
    uint32_t half = flight / 2;
    c->ssthresh = half > 2u * c->smss ? half : 2u * c->smss;
    c->cwnd = c->smss;
    c->recover = c->snd_max;
    c->flags &= ~(CF_RECOVERY | CF_RTT); /* Karn */
    c->dupacks = 0;
    tcp_sack_reset(c);      /* go back N resends it all; the peer may have reneged (RFC 2018) */
    c->tlp_hi = c->snd_max; /* no probe in RTO recovery: not until this is acked */
    c->flags |= CF_LR;
    backoff(c);
    c->snd_nxt = c->snd_una; /* go back: resend from the first unacked byte (output_slow
                                counts each segment that goes again in retransmits) */
    tcp_set_rexmit(s, c, TK_RTO, c->rto);
    tcp_output(s, c);
}

static void on_persist(struct us_ctx *s, struct us_conn *c)
{
    if (c->snd_wnd) { /* window opened meanwhile */
        tcp_output(s, c);
        return;
    }
    CNT(s, US_ZERO_WINDOW_PROBES);
    tcp_probe(s, c);
    c->persist_ns *= 2;
    if (c->persist_ns > US_RTO_MAX_NS) c->persist_ns = US_RTO_MAX_NS;
    tcp_set_rexmit(s, c, TK_PERSIST, c->persist_ns);
}

static void fire(struct us_ctx *s, struct us_conn *c)
{
    if (c->delack_at && c->delack_at <= s->now) {
        c->delack_at = 0;
        if (c->state != TCPS_CLOSED) {
            CNT(s, US_DELAYED_ACKS);
            tcp_send_ack(s, c);
        }
    }
    if (c->rexmit_at && c->rexmit_at <= s->now) {
        c->rexmit_at = 0;
        switch (c->tkind) {
        case TK_RTO:
            on_rto(s, c);
            break;
        case TK_PERSIST:
            on_persist(s, c);
            break;
        case TK_TLP:
            tcp_tlp_fire(s, c);
            break;
        case TK_REO:
            tcp_sack_reo_fire(s, c);
            break;
        case TK_TIME_WAIT:
        case TK_FIN_WAIT2:
            tcp_closed(s, c, NETIO_CLOSE_LOCAL);
            return;
        }
    }
    if (c->state != TCPS_CLOSED) tcp_timer_sched(s, c);
}

void tcp_timer_run(struct us_ctx *s)
{
    uint64_t now_tick = s->now >> US_TICK_SHIFT;
    uint64_t t = s->wheel_tick;
    if (now_tick > US_WHEEL_SLOTS && t < now_tick - US_WHEEL_SLOTS)
        t = now_tick - US_WHEEL_SLOTS; /* a long gap: visit every slot once, ending at now */
    while (t < now_tick) {
        t++;
        s->wheel_tick = t;
        uint32_t slot = t & (US_WHEEL_SLOTS - 1);
        int32_t i = s->wheel[slot];
        s->wheel[slot] = -1; /* detach the list, walk it */
        while (i >= 0) {
            struct us_conn *c = &s->conns[i];
            i = c->tnext;
            uint64_t due = c->tdue;
            c->tdue = 0;
            c->tprev = c->tnext = -1;
            if (due <= s->now)
                fire(s, c);
            else
                link_at(s, c, due); /* a later revolution */
        }
    }
    s->wheel_tick = now_tick;
}
