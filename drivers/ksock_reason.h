/*
 * ksock_reason.h — what a kernel socket's errno means as a netio close
 * reason (netio.h), for the backends on kernel sockets: drivers/kernel.c
 * (epoll) and drivers/io_uring.c (a CQE's -res). Static inline: two small
 * switches, no state.
 */
#ifndef BB_KSOCK_REASON_H
#define BB_KSOCK_REASON_H

#include "drivers/netio.h"

#include <errno.h>

/* An open connection's error (recv, send, SO_ERROR). */
static inline enum netio_close_reason ksock_err_reason(int e)
{
    switch (e) {
    case ECONNRESET:
    case EPIPE:
        return NETIO_CLOSE_RESET;
    case ETIMEDOUT:
        return NETIO_CLOSE_TIMEOUT;
    default:
        return NETIO_CLOSE_ERROR;
    }
}

/* An active open's error; NETIO_CLOSE_ERROR means a local failure. */
static inline enum netio_close_reason ksock_connect_reason(int e)
{
    switch (e) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
        return NETIO_CLOSE_CONNECT_FAILED;
    case ECONNRESET: /* established, then reset before we saw it complete */
        return NETIO_CLOSE_RESET;
    case ETIMEDOUT:
        return NETIO_CLOSE_TIMEOUT;
    default:
        return NETIO_CLOSE_ERROR;
    }
}

#endif
