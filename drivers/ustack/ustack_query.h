/*
 * ustack_query.h — what a caller outside the netio event model needs to ask
 * of our stack's connections (preload/: the socket API over the stack):
 * the unconsumed receive bytes and EOF without waiting for a READABLE event,
 * the free send space, a connection's addresses, the fd a poll can sleep on,
 * a half close (FIN while the application still reads), closing a
 * listener, and a connection's congestion state (ustack_cc). Every function
 * checks that io is our stack (else -1 / 0).
 *
 * Callers: preload/shim.c, tests (ustack_cc). Calls: the stack's state (ustack_int.h).
 */
#ifndef BB_USTACK_QUERY_H
#define BB_USTACK_QUERY_H

#include "drivers/netio.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Whether io is a netio over our stack (afpacket, afxdp, dpdk, memlink). */
int ustack_is(const struct netio *io);
/* Unconsumed received bytes of conn (pointer valid until the next call into
 * the stack), *eof = 1 once the peer's FIN came. -1: not an open connection. */
int ustack_rx_peek(struct netio *io, int conn, const uint8_t **data, size_t *len, int *eof);
/* What conn's receive buffer still holds once the stack reported it CLOSED
 * (a reset, a timeout: the bytes the application had not read yet), valid
 * until the next netio_poll. -1: no such slot. */
int ustack_rx_left(struct netio *io, int conn, const uint8_t **data, size_t *len);
/* Bytes netio_send would take now (0 when full or not connected). */
size_t ustack_tx_space(struct netio *io, int conn);
/* Asks for a WRITABLE event once conn's send space is back (as after a
 * short netio_send): a caller that found it too small without sending
 * (poll's "not writable") wants to hear when that changes. */
void ustack_tx_want(struct netio *io, int conn);
/* The send buffer's size, bytes. */
size_t ustack_tx_cap(struct netio *io);
/* Local and peer address of conn (either may be NULL). -1: no such connection. */
int ustack_conn_addrs(struct netio *io, int conn, struct sockaddr_in *local,
                      struct sockaddr_in *peer);
/* The stack's own address (network order) and prefix length. */
int ustack_addr(struct netio *io, struct in_addr *ip, uint8_t *prefix_len);
/* The fd a waiter may poll for POLLIN to learn that frames arrived, or -1 when
 * the pktio has none (dpdk, memlink: poll mode only). */
int ustack_wait_fd(struct netio *io);
/* Half close: FIN after the queued data; conn stays open for reading, and
 * netio_close later releases it. -1: not an open, established connection. */
int ustack_shutdown_wr(struct netio *io, int conn);
/* The bytes a send by reference (netio_send_ref) hands over stay the
 * caller's to keep readable until the stack no longer needs them (acked, or
 * the connection gone). ustack_tx_mark: conn's incarnation (*iss) and the
 * sequence just after the bytes queued so far (*end); -1: not an open
 * connection. ustack_tx_released: 1 once the stack needs no byte of that
 * incarnation before end (acknowledged, the TCB ended, the slot reused), even
 * after the application let go of the handle (FIN_WAIT still resends). */
int ustack_tx_mark(struct netio *io, int conn, uint32_t *iss, uint32_t *end);
int ustack_tx_released(struct netio *io, int conn, uint32_t iss, uint32_t end);
/* SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (seconds,
 * seconds, probes; the caller validates them as Linux does) on conn, with
 * Linux's timer (tcp_keepalive_timer): once the peer has sent nothing for
 * idle while nothing of ours is outstanding, a probe (an ACK of sequence
 * snd_una - 1, no data) every intvl; the peer's answer (any segment) starts
 * the count again; after cnt unanswered probes an RST and CLOSED with
 * NETIO_CLOSE_TIMEOUT (ETIMEDOUT). Counters keepalive_probes and
 * keepalive_timeouts. -1: not an open connection, or out of memory. */
int ustack_set_keepalive(struct netio *io, int conn, int on, uint32_t idle_s, uint32_t intvl_s,
                         uint32_t cnt);
/* Caps conn's receive window at bytes (0: the stack's own rcvbuf; more than
 * it: rcvbuf). A window already offered is never pulled back (RFC 7323
 * 2.4): a lower cap takes effect as the peer's data fills it. -1: not an
 * open connection, or out of memory. */
int ustack_set_rcvbuf(struct netio *io, int conn, uint32_t bytes);
/* Closes a listener from netio_listen: its port is free again, handshakes in
 * progress on it are reset. -1: no such listener. */
int ustack_unlisten(struct netio *io, int listener);

/* conn's congestion window and slow-start threshold, bytes (TCP_INFO's
 * tcpi_snd_cwnd and tcpi_snd_ssthresh, in bytes). -1: not an open connection. */
int ustack_cc(struct netio *io, int conn, uint32_t *cwnd, uint32_t *ssthresh);

#endif
