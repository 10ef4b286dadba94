/*
 * query.c — the stack's answers to callers outside the event model
 * (ustack_query.h): receive bytes, send space, addresses, wait fd, half
 * close, closing a listener. Small functions over struct us_ctx; nothing
 * here is on the stack's own per-packet path.
 */
#include "drivers/ustack/ustack_query.h"
#include "drivers/ustack/ustack_int.h"

#include <arpa/inet.h>

static inline struct us_ctx *S(struct netio *io)
{
    return (struct us_ctx *)io;
}

int ustack_is(const struct netio *io)
{
    return io && io->ops && io->ops->poll == us_poll; /* afxdp wraps listen and connect */
}

static struct us_conn *open_conn(struct netio *io, int conn)
{
    if (!ustack_is(io)) return NULL;
    struct us_ctx *s = S(io);
    if (conn < 0 || (uint32_t)conn >= s->max_conns) return NULL;
    struct us_conn *c = &s->conns[conn];
    return c->app == APP_OPEN ? c : NULL;
}

int ustack_rx_peek(struct netio *io, int conn, const uint8_t **data, size_t *len, int *eof)
{
    struct us_conn *c = open_conn(io, conn);
    if (!c) return -1;
    *data = c->rbuf + c->rb_off;
    *len = c->rb_len;
    *eof = (c->flags & CF_RCVD_FIN) != 0;
    return 0;
}

int ustack_rx_left(struct netio *io, int conn, const uint8_t **data, size_t *len)
{
    if (!ustack_is(io) || conn < 0 || (uint32_t)conn >= S(io)->max_conns) return -1;
    const struct us_conn *c = &S(io)->conns[conn];
    if (c->app == APP_NONE) return -1;
    *data = c->rbuf + c->rb_off;
    *len = c->rb_len;
    return 0;
}

size_t ustack_tx_space(struct netio *io, int conn)
{
    struct us_conn *c = open_conn(io, conn);
    if (!c || (c->state != TCPS_ESTABLISHED && c->state != TCPS_CLOSE_WAIT)) return 0;
    return S(io)->cfg.sndbuf - c->sb_len;
}

void ustack_tx_want(struct netio *io, int conn)
{
    struct us_conn *c = open_conn(io, conn);
    if (c && (c->state == TCPS_ESTABLISHED || c->state == TCPS_CLOSE_WAIT)) c->flags |= CF_WANT_WR;
}

size_t ustack_tx_cap(struct netio *io)
{
    return ustack_is(io) ? S(io)->cfg.sndbuf : 0;
}

int ustack_conn_addrs(struct netio *io, int conn, struct sockaddr_in *local,
                      struct sockaddr_in *peer)
{
    struct us_conn *c = open_conn(io, conn);
    if (!c) return -1;
    struct us_ctx *s = S(io);
    if (local)
        *local = (struct sockaddr_in){.sin_family = AF_INET,
                                      .sin_port = htons(c->lport),
                                      .sin_addr.s_addr = htonl(s->ip)};
    if (peer)
        *peer = (struct sockaddr_in){.sin_family = AF_INET,
                                     .sin_port = htons(c->rport),
                                     .sin_addr.s_addr = htonl(c->raddr)};
    return 0;
}

int ustack_addr(struct netio *io, struct in_addr *ip, uint8_t *prefix_len)
{
    if (!ustack_is(io)) return -1;
    ip->s_addr = htonl(S(io)->ip);
    *prefix_len = S(io)->cfg.prefix_len;
    return 0;
}

int ustack_wait_fd(struct netio *io)
{
    return ustack_is(io) ? S(io)->fd : -1;
}

int ustack_shutdown_wr(struct netio *io, int conn)
{
    struct us_conn *c = open_conn(io, conn);
    if (!c || (c->state != TCPS_ESTABLISHED && c->state != TCPS_CLOSE_WAIT)) return -1;
    struct us_ctx *s = S(io);
    c->fin_seq = c->sb_seq + c->sb_len; /* as us_close, but the app keeps the handle */
    c->flags |= CF_FIN_QUEUED;
    c->flags &= ~CF_WANT_WR;
    c->state = c->state == TCPS_ESTABLISHED ? TCPS_FIN_WAIT_1 : TCPS_LAST_ACK;
    tcp_output(s, c);
    return 0;
}

int ustack_tx_mark(struct netio *io, int conn, uint32_t *iss, uint32_t *end)
{
    struct us_conn *c = open_conn(io, conn);
    if (!c) return -1;
    *iss = c->iss;
    *end = c->sb_seq + c->sb_len;
    return 0;
}

int ustack_tx_released(struct netio *io, int conn, uint32_t iss, uint32_t end)
{
    if (!ustack_is(io) || conn < 0 || (uint32_t)conn >= S(io)->max_conns) return 1;
    const struct us_conn *c = &S(io)->conns[conn];
    if (c->state == TCPS_CLOSED || c->iss != iss) return 1;
    return SEQ_GEQ(c->sb_seq, end);
}

int ustack_unlisten(struct netio *io, int listener)
{
    if (!ustack_is(io) || listener < 0 || listener >= US_MAX_LISTENERS) return -1;
    struct us_ctx *s = S(io);
    if (!s->listeners[listener].used) return -1;
    /* handshakes the application never saw: reset them, so no ACCEPTED
     * names a listener that is gone or reused */
    for (uint32_t i = 0; i < s->max_conns; i++) {
        struct us_conn *c = &s->conns[i];
        if (c->listener == listener && c->app == APP_NONE && c->state != TCPS_CLOSED) {
            tcp_send_rst(s, c);
            tcp_closed(s, c, NETIO_CLOSE_LOCAL);
        }
    }
    s->listeners[listener] = (struct us_listener){0};
    return 0;
}

int ustack_cc(struct netio *io, int conn, uint32_t *cwnd, uint32_t *ssthresh)
{
    struct us_conn *c = open_conn(io, conn);
    if (!c) return -1;
    if (cwnd) *cwnd = c->cwnd;
    if (ssthresh) *ssthresh = c->ssthresh;
    return 0;
}
