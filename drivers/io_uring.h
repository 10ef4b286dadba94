/*
 * io_uring.h — what the io_uring netio backend (drivers/io_uring.c, built
 * when liburing is found: HAVE_LIBURING) tells doctor beside its ops table.
 * Callers: harness/run/doctor.c.
 */
#ifndef BB_IO_URING_H
#define BB_IO_URING_H

#include <stddef.h>

/* What this kernel's io_uring offers the driver, as one line into buf:
 * each op it needs ("SEND_ZC yes", from io_uring_get_probe), then the
 * features tried on a small ring (provided buffer ring, NAPI busy polling,
 * SQPOLL). 0 when every op the driver needs is there, -1 when one is not. */
int netio_io_uring_features(char *buf, size_t len);

#endif
