/*
 * netio.h — the connection-level, event-driven interface every workload is
 * written against (DESIGN §3). One backend per file (kernel.c; our stack's
 * ustack/netio_afpacket.c and ustack/netio_dpdk.c), each exporting one
 * `const struct netio_ops`, chosen at run time by name from the table in
 * netio.c. tests/drivers/test_netio_conformance.c holds every backend to
 * the event semantics below.
 *
 * Callers: workloads/server.c, workloads/loadgen.c, harness/.
 * Workloads never touch ->ops: they use the static inline wrappers below.
 *
 * Model
 *   - A driver instance (`struct netio *`) belongs to one worker thread.
 *   - Connections are small non-negative integer handles (`int conn`), valid
 *     from the ACCEPTED/CONNECTED event (or netio_connect's return) until the
 *     CLOSED event for them has been returned by netio_poll; after that the
 *     handle may be reused.
 *   - Received data stays in the driver's per-connection receive buffer until
 *     the workload consumes it: a READABLE event carries a pointer to *all*
 *     unconsumed bytes; the workload calls netio_consume(conn, n) for what it
 *     used. The pointer is valid until the next netio_poll/netio_consume/
 *     netio_close on that connection. Bytes left unconsumed are presented
 *     again, with any new data appended, on the next READABLE event; after a
 *     netio_consume(n > 0) that leaves bytes, the next netio_poll presents
 *     them even if nothing new arrives. A driver stops reading from the
 *     network for a connection whose buffer is full.
 *   - netio_send copies as much as fits into the driver's send path and
 *     returns the count; a short count means "full": a WRITABLE event follows
 *     when space is available again.
 *   - Every connection ends with exactly one CLOSED event carrying a reason,
 *     including connections the workload closed itself.
 *
 * Errors: functions returning int return >= 0 on success and -1 on failure,
 * with a human-readable message in the caller's `err` buffer where one is
 * taken. Library code never prints or exits.
 */
#ifndef BB_NETIO_H
#define BB_NETIO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct netio;

enum netio_ev_type {
    NETIO_EV_ACCEPTED = 1, /* new passive connection on a listener; ctx = listener's ctx */
    NETIO_EV_CONNECTED,    /* active open completed */
    NETIO_EV_READABLE,     /* data != NULL, len = all unconsumed bytes (len may be 0 at EOF) */
    NETIO_EV_WRITABLE,     /* send space available again after a short netio_send */
    NETIO_EV_CLOSED,       /* connection is gone; reason says why */
};

enum netio_close_reason {
    NETIO_CLOSE_LOCAL = 0,      /* the workload called netio_close/netio_abort */
    NETIO_CLOSE_PEER_FIN,       /* orderly shutdown by the peer (EOF), all data delivered */
    NETIO_CLOSE_RESET,          /* peer reset the connection */
    NETIO_CLOSE_CONNECT_FAILED, /* active open refused or unreachable */
    NETIO_CLOSE_TIMEOUT,        /* the transport timed out (retransmissions, connect) */
    NETIO_CLOSE_ERROR,          /* any other error */
    NETIO_CLOSE__COUNT
};

struct netio_event {
    enum netio_ev_type type;
    int conn;            /* connection handle */
    void *ctx;           /* ctx given to netio_connect / netio_set_ctx, or the listener's */
    const uint8_t *data; /* READABLE: unconsumed bytes */
    size_t len;          /* READABLE: their length */
    int eof;             /* READABLE: the peer has sent FIN; no more data will come */
    enum netio_close_reason reason; /* CLOSED */
    int listener;        /* ACCEPTED: listener handle */
};

/* A named counter a driver exports (syscalls, drops by reason, ...). */
struct netio_counter {
    const char *name;
    uint64_t value;
};

/* Options common to all drivers; driver-specific ones come as key=value. */
struct netio_config {
    int cpu;                  /* pin the calling thread to this CPU, -1 = leave */
    const char *iface;        /* interface for drivers that own one (ustack), else NULL */
    const char *ip;           /* ADDR/LEN for drivers with their own stack, else NULL */
    size_t rx_buf;            /* per-connection receive buffer, bytes (0 = driver default) */
    size_t max_conns;         /* connection table size (0 = driver default) */
    int busy_poll;            /* 1 = never block in poll (poll-mode drivers always do) */
    const char *const *opts;  /* NULL-terminated "key=value" driver options, or NULL */
};

struct opt_group; /* drivers/opts.h */

/* A body a driver may send by reference (netio_send_ref) instead of taking
 * a copy: byte i of the stream it names is base[period ? i % period : i],
 * and base[j .. j + period) is readable for every j < period (a periodic
 * source holds its period twice), so any run of at most `period` bytes (of
 * any length when period is 0) is contiguous in memory. It must stay
 * readable and unchanged until the connection's CLOSED event: a driver that
 * keeps the reference reads it again to build a retransmission. */
struct netio_src {
    const uint8_t *base;
    uint64_t period; /* 0: not periodic (a file mapping) */
    /* Optional (a periodic source), else NULL: the RFC 1071 sums of base's
     * prefixes, so a driver fills a segment's checksum without reading the
     * bytes again. sum[0][i]: base[0 .. i) as big-endian 16-bit words from
     * base[0], an odd last byte the high half of a word, folded to 16 bits,
     * not complemented; sum[1][i]: the same of base[1 .. i) (i >= 1). For i
     * in 0 .. 2 * period. The sum of base[a .. b) from a word boundary at a
     * is then sum[a & 1][b] - sum[a & 1][a] in one's complement. */
    const uint16_t *sum[2];
};

struct netio_ops {
    const char *name;
    const char *help; /* one line for --help and doctor */
    /* The options cfg->opts may carry, by group (drivers/opts.h), ending with
     * a NULL defs; NULL = none. doctor and --help print them. */
    const struct opt_group *opts;
    /* Is this backend usable here? 0 = yes; -1 = no, reason in err. */
    int (*probe)(char *err, size_t errlen);
    struct netio *(*open)(const struct netio_config *cfg, char *err, size_t errlen);
    void (*destroy)(struct netio *io);
    int (*listen)(struct netio *io, const struct sockaddr_in *addr, void *ctx, char *err,
                  size_t errlen);
    int (*connect)(struct netio *io, const struct sockaddr_in *dst, void *ctx, char *err,
                   size_t errlen);
    int (*poll)(struct netio *io, struct netio_event *evs, int max, int timeout_us);
    /* Optional: put on the wire what sends and consumes since the last poll
     * queued (poll-mode drivers batch TX). NULL for drivers that send at once. */
    void (*flush)(struct netio *io);
    ssize_t (*send)(struct netio *io, int conn, const void *buf, size_t len);
    /* Optional: send as netio_send would, len bytes of src from offset off,
     * but keep a reference to src (struct netio_src) rather than copy: the
     * bytes are written once, into the frame. NULL: netio_send_ref sends
     * through send. */
    ssize_t (*send_ref)(struct netio *io, int conn, const struct netio_src *src, uint64_t off,
                        size_t len);
    void (*consume)(struct netio *io, int conn, size_t n);
    void (*set_ctx)(struct netio *io, int conn, void *ctx);
    void (*close)(struct netio *io, int conn); /* graceful: FIN after queued data */
    void (*abort)(struct netio *io, int conn); /* RST, drop queued data */
    /* Fill up to max counters; returns how many were written. */
    int (*counters)(struct netio *io, struct netio_counter *out, int max);
};

/* Every driver's instance struct starts with this. */
struct netio {
    const struct netio_ops *ops;
};

/* Pending events: backends mark a connection's events as bits and hand them
 * out in the contract's order (ACCEPTED or CONNECTED before READABLE before
 * WRITABLE, CLOSED last and alone). netio_pend_take returns the next one and
 * clears its bit (CLOSED clears them all); 0 when nothing is pending. */
#define NETIO_P_ACCEPTED 0x01u
#define NETIO_P_CONNECTED 0x02u
#define NETIO_P_READABLE 0x04u
#define NETIO_P_WRITABLE 0x08u
#define NETIO_P_CLOSED 0x10u

static inline enum netio_ev_type netio_pend_take(uint8_t *pend)
{
    /* Plain tests, not a table loop: this runs once per event on every poll. */
    uint8_t p = *pend;
    enum netio_ev_type t;
    if (p & NETIO_P_ACCEPTED)
        t = NETIO_EV_ACCEPTED, p &= (uint8_t)~NETIO_P_ACCEPTED;
    else if (p & NETIO_P_CONNECTED)
        t = NETIO_EV_CONNECTED, p &= (uint8_t)~NETIO_P_CONNECTED;
    else if (p & NETIO_P_READABLE)
        t = NETIO_EV_READABLE, p &= (uint8_t)~NETIO_P_READABLE;
    else if (p & NETIO_P_WRITABLE)
        t = NETIO_EV_WRITABLE, p &= (uint8_t)~NETIO_P_WRITABLE;
    else if (p)
        t = NETIO_EV_CLOSED, p = 0;
    else
        t = (enum netio_ev_type)0;
    *pend = p;
    return t;
}

/* Backend table (netio.c). */
const struct netio_ops *netio_find(const char *name);
const struct netio_ops *const *netio_backends(void); /* NULL-terminated */
const char *netio_close_reason_str(enum netio_close_reason r);

static inline struct netio *netio_open(const char *driver, const struct netio_config *cfg,
                                       char *err, size_t errlen);

static inline void netio_destroy(struct netio *io)
{
    if (io) io->ops->destroy(io);
}
static inline int netio_listen(struct netio *io, const struct sockaddr_in *a, void *ctx,
                               char *err, size_t errlen)
{
    return io->ops->listen(io, a, ctx, err, errlen);
}
/* Starts an active open. Returns the handle (a CONNECTED or CLOSED event
 * follows) or -1 with err filled (no event follows). */
static inline int netio_connect(struct netio *io, const struct sockaddr_in *dst, void *ctx,
                                char *err, size_t errlen)
{
    return io->ops->connect(io, dst, ctx, err, errlen);
}
/* Waits at most timeout_us (0 = do not block, -1 = forever) and returns the
 * number of events written to evs (0 on timeout), or -1 on a fatal error. */
static inline int netio_poll(struct netio *io, struct netio_event *evs, int max, int timeout_us)
{
    return io->ops->poll(io, evs, max, timeout_us);
}
/* Call after handling a batch of events: a batching driver sends now what the
 * handlers queued instead of at the start of the next poll (as a DPDK loop
 * flushes TX at the end of each iteration). */
static inline void netio_flush(struct netio *io)
{
    if (io->ops->flush) io->ops->flush(io);
}
static inline ssize_t netio_send(struct netio *io, int conn, const void *buf, size_t len)
{
    return io->ops->send(io, conn, buf, len);
}
/* Like netio_send for bytes [off, off + len) of src (len at most one period
 * of a periodic source); the driver may keep a reference instead of a copy
 * (see struct netio_src for the lifetime). A driver without send_ref gets
 * the same bytes through send. A short count means "full", as from send. */
static inline ssize_t netio_send_ref(struct netio *io, int conn, const struct netio_src *src,
                                     uint64_t off, size_t len)
{
    if (io->ops->send_ref) return io->ops->send_ref(io, conn, src, off, len);
    return io->ops->send(io, conn, src->base + (src->period ? off % src->period : off), len);
}
static inline void netio_consume(struct netio *io, int conn, size_t n)
{
    io->ops->consume(io, conn, n);
}
static inline void netio_set_ctx(struct netio *io, int conn, void *ctx)
{
    io->ops->set_ctx(io, conn, ctx);
}
static inline void netio_close(struct netio *io, int conn)
{
    io->ops->close(io, conn);
}
static inline void netio_abort(struct netio *io, int conn)
{
    io->ops->abort(io, conn);
}
/* Room enough for any driver's counters: our stack's (about 100), the
 * offloads it negotiated and its pktio's (afpacket about 40, dpdk its own
 * and the PMD's xstats). A shorter array silently loses the last ones. */
#define NETIO_MAX_COUNTERS 256
static inline int netio_counters(struct netio *io, struct netio_counter *out, int max)
{
    return io->ops->counters(io, out, max);
}

#include <stdio.h>
static inline struct netio *netio_open(const char *driver, const struct netio_config *cfg,
                                       char *err, size_t errlen)
{
    const struct netio_ops *ops = netio_find(driver);
    if (!ops) {
        snprintf(err, errlen, "unknown driver '%s'", driver);
        return NULL;
    }
    return ops->open(cfg, err, errlen);
}

/* Pin the calling thread to one CPU (-1: no-op). 0 or -1 with err. */
int netio_pin_cpu(int cpu, char *err, size_t errlen);

#endif
