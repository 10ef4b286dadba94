/*
 * server.h — the HTTP/1.1 benchmark server, written only against netio.
 * GET|HEAD /bytes/N   N bytes of the deterministic pattern (N with units: 64, 1k, 1g; <= 1 TiB)
 * GET|HEAD /file/NAME a regular file from the docroot (NAME without '/' or leading '.')
 * Keep-alive, Connection: close, HTTP/1.0, pipelined requests answered in
 * order; 400 malformed, 404, 405 other methods, 413 body too large,
 * 431 header too large, 505 unknown version; idle connections time out.
 * A slow or stalled client never holds up the others: nothing blocks, and a
 * connection whose output is not drained simply stops being served.
 * Callers: harness/cli/serve.c; tests/workloads/test_server.c.
 */
#ifndef BB_SERVER_H
#define BB_SERVER_H

#include "drivers/netio.h"
#include "workloads/http_parser.h"

#include <signal.h>
#include <stdint.h>

struct srv_config {
    struct sockaddr_in listen;
    const char *docroot;        /* NULL: every /file/ is 404 */
    uint64_t idle_timeout_ns;   /* close a connection idle this long (default 60 s) */
    size_t max_header;          /* request header block limit -> 431 (default 8 KiB) */
    uint64_t max_body;          /* request body limit -> 413 (default 1 MiB) */
    size_t max_conns;           /* connection slots (default 65536) */
    int no_cache;               /* 1: build every /bytes/N response afresh (header formatted,
                                   body pattern generated per request); 0 (default): the last
                                   one built is reused while N and Connection stay the same */
    uint64_t test_stall_conn;   /* TEST ONLY: the Nth accepted connection (1-based) is never
                                   answered (its requests are not read): a stuck server, for
                                   the tests that a stall fails a trial; 0 (default) = off */
    volatile sig_atomic_t *stop; /* server_run returns soon after *stop becomes non-zero */
    void (*on_ready)(void *arg); /* called once listening (may be NULL) */
    void (*on_tick)(void *arg);  /* called after every poll batch (may be NULL): lets a
                                    test or benchmark drive a peer in the same thread */
    void *arg;
};

struct srv_stats {
    uint64_t conns_accepted;
    uint64_t conns_closed;
    uint64_t conns_idle_timeout;
    uint64_t conns_max_active;
    uint64_t conns_refused;     /* no free slot: aborted at accept */
    uint64_t requests_parsed;   /* requests parsed, answered 2xx or not (by class: responses) */
    uint64_t responses[6];      /* by class: [2] = 2xx ... [5] = 5xx */
    uint64_t bytes_in;          /* request bytes consumed */
    uint64_t bytes_out;         /* response bytes sent, headers included */
    uint64_t body_bytes_out;
    uint64_t body_bytes_staged; /* body bytes put into the server's own buffers before the
                                   send (pattern generated or a cached body copied; a file
                                   read with pread): the server's copies */
    uint64_t body_bytes_by_ref; /* body bytes sent by reference (netio_send_ref): the pattern
                                   or a file mapping, written once by the driver */
    uint64_t file_maps;         /* files mapped for /file/ bodies (kept until the end) */
    uint64_t parse_errors[HTTP_ERR__COUNT];
    uint64_t close_reasons[NETIO_CLOSE__COUNT];
};

void srv_config_defaults(struct srv_config *c);
/* Runs until *cfg->stop. Returns 0, or -1 with err (listen failed, poll failed). */
int server_run(struct netio *io, const struct srv_config *cfg, struct srv_stats *st, char *err,
               size_t errlen);

#endif
