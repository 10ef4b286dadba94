/*
 * tcp_keepalive.c — per-connection socket options of the user-space stack
 * that the preload library sets (ustack_query.h): SO_KEEPALIVE with its
 * three parameters, and a receive window cap (SO_RCVBUF). Kept apart from
 * the per-segment code: the state lives in side arrays allocated on first
 * use (us_ctx.ka, us_ctx.rcvcap), so a stack that never sees these options
 * pays one test per received segment (tcp_ka_heard) and per window offered
 * (CF_RCVCAP).
 *
 * Keepalive follows Linux's tcp_keepalive_timer: the timer fires at
 * us_ka.due (first idle after SO_KEEPALIVE is set); when it does, a
 * connection with bytes outstanding or unsent is left to the RTO and looked
 * at again after idle; one that has heard nothing for idle sends a probe
 * (tcp_probe: sequence snd_una - 1, no data, which the peer must ACK) every
 * intvl; when cnt probes went unanswered, the next firing resets the
 * connection (RST, CLOSED with NETIO_CLOSE_TIMEOUT). Any segment from the
 * peer (tcp_ka_heard) counts as an answer. Connections with keepalive on
 * are listed (us_ctx.ka_list); run_stack calls tcp_ka_run when the earliest
 * deadline (ka_next) has come, a walk over that list alone.
 *
 *   stack.c run_stack -> tcp_ka_run() -> tcp_probe() | tcp_send_rst(), tcp_closed()
 *   tcp_in.c tcp_input -> tcp_ka_heard() (ustack_int.h)
 *   preload/shim.c -> ustack_set_keepalive(), ustack_set_rcvbuf()
 */
#include "drivers/ustack/ustack_int.h"
#include "drivers/ustack/ustack_query.h"

#include <stdlib.h>

static struct us_ctx *S(struct netio *io)
{
    return (struct us_ctx *)io;
}

static struct us_conn *open_slot(struct netio *io, int conn)
{
    if (!ustack_is(io) || conn < 0 || (uint32_t)conn >= S(io)->max_conns) return NULL;
    struct us_conn *c = &S(io)->conns[conn];
    return c->app == APP_OPEN && c->state != TCPS_CLOSED ? c : NULL;
}

/* States in which Linux runs the keepalive timer: synchronized, not TIME_WAIT. */
static int ka_state(const struct us_conn *c)
{
    switch (c->state) {
    case TCPS_ESTABLISHED:
    case TCPS_CLOSE_WAIT:
    case TCPS_FIN_WAIT_1:
    case TCPS_FIN_WAIT_2:
    case TCPS_CLOSING:
    case TCPS_LAST_ACK:
        return 1;
    default:
        return 0;
    }
}

static void ka_next_at(struct us_ctx *s, uint64_t due)
{
    if (!s->ka_next || due < s->ka_next) s->ka_next = due ? due : 1;
}

int ustack_set_keepalive(struct netio *io, int conn, int on, uint32_t idle_s, uint32_t intvl_s,
                         uint32_t cnt)
{
    struct us_conn *c = open_slot(io, conn);
    if (!c) return -1;
    struct us_ctx *s = S(io);
    if (!s->ka) {
        if (!on) return 0;
        s->ka = calloc(s->max_conns, sizeof(*s->ka));
        s->ka_list = calloc(s->max_conns, sizeof(*s->ka_list));
        if (!s->ka || !s->ka_list) {
            free(s->ka);
            free(s->ka_list);
            s->ka = NULL;
            s->ka_list = NULL;
            return -1;
        }
    }
    struct us_ka *k = &s->ka[conn];
    uint64_t idle = (uint64_t)idle_s * 1000000000ull;
    if (!on) {
        k->on = 0; /* tcp_ka_run drops it from the list */
        return 0;
    }
    int was = k->on && k->iss == c->iss;
    if (!was) { /* Linux: the timer starts at idle from now (inet_csk_reset_keepalive_timer) */
        k->heard = s->now;
        k->probes = 0;
        k->due = s->now + idle;
    } else if (idle != k->idle_ns) { /* TCP_KEEPIDLE on a running timer: from the last heard */
        k->due = k->heard + idle > s->now ? k->heard + idle : s->now;
    }
    k->on = 1;
    k->iss = c->iss;
    k->idle_ns = idle;
    k->intvl_ns = (uint64_t)intvl_s * 1000000000ull;
    k->cnt = (uint16_t)(cnt > 65535 ? 65535 : cnt);
    if (!k->listed) {
        k->listed = 1;
        s->ka_list[s->ka_n++] = (uint32_t)conn;
    }
    ka_next_at(s, k->due);
    return 0;
}

/* One connection's keepalive timer fired (Linux's tcp_keepalive_timer). */
static void ka_fire(struct us_ctx *s, struct us_conn *c, struct us_ka *k)
{
    int outstanding = c->snd_max != c->snd_una || c->snd_nxt - c->sb_seq < c->sb_len;
    if (!ka_state(c) || outstanding) { /* the RTO or the handshake's timer guards it */
        k->due = s->now + k->idle_ns;
        return;
    }
    uint64_t elapsed = s->now - k->heard;
    if (elapsed < k->idle_ns) {
        k->due = k->heard + k->idle_ns;
        return;
    }
    if (k->probes >= k->cnt) {
        CNT(s, US_KEEPALIVE_TIMEOUTS);
        k->on = 0;
        tcp_send_rst(s, c);
        tcp_closed(s, c, NETIO_CLOSE_TIMEOUT);
        return;
    }
    CNT(s, US_KEEPALIVE_PROBES);
    tcp_probe(s, c);
    k->probes++;
    k->due = s->now + k->intvl_ns;
}

void tcp_ka_run(struct us_ctx *s)
{
    s->ka_next = 0;
    for (uint32_t j = 0; j < s->ka_n;) {
        uint32_t i = s->ka_list[j];
        struct us_ka *k = &s->ka[i];
        struct us_conn *c = &s->conns[i];
        if (k->on && (c->state == TCPS_CLOSED || c->iss != k->iss)) k->on = 0; /* gone */
        if (!k->on) {
            k->listed = 0;
            s->ka_list[j] = s->ka_list[--s->ka_n];
            continue;
        }
        if (k->due <= s->now) ka_fire(s, c, k);
        if (k->on) ka_next_at(s, k->due);
        j++;
    }
    if (s->ntx) us_tx_flush(s);
}

uint32_t tcp_rcv_space_capped(struct us_ctx *s, struct us_conn *c)
{
    uint32_t cap = tcp_rcv_buf(s, c);
    uint32_t space = cap > c->rb_len ? cap - c->rb_len : 0;
    uint32_t room = s->cfg.rcvbuf - c->rb_len;
    if (space > room) space = room;
    /* never less than what is already offered: the right edge never retreats */
    uint32_t offered = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (offered > room) offered = room;
    return space > offered ? space : offered;
}

int ustack_set_rcvbuf(struct netio *io, int conn, uint32_t bytes)
{
    struct us_conn *c = open_slot(io, conn);
    if (!c) return -1;
    struct us_ctx *s = S(io);
    if (!bytes || bytes >= s->cfg.rcvbuf) {
        c->flags &= ~CF_RCVCAP;
        return 0;
    }
    if (!s->rcvcap && !(s->rcvcap = calloc(s->max_conns, sizeof(*s->rcvcap)))) return -1;
    s->rcvcap[conn] = bytes;
    c->flags |= CF_RCVCAP;
    return 0;
}
