/*
 * kernel.c — the kernel-socket netio backend: epoll (edge-triggered) over
 * non-blocking TCP sockets. Exports `netio_kernel_ops` (table in netio.c).
 *
 * Callers: workloads/ and harness/ through the netio.h wrappers.
 * Calls:   epoll_create1/epoll_ctl/epoll_wait, socket, bind, listen, accept4,
 *          connect, setsockopt/getsockopt, recv, send, close — every one of
 *          them counted per kind ("sys_*") and in total ("syscalls");
 *          the ready ring and the emit loop of netio_ready.h; errno to close
 *          reason: ksock_reason.h (shared with io_uring.c).
 *
 *   k_poll() -> drain_rdq() -> do_read()            (reads resumed by consume)
 *            -> free_zombies()                       (handles reusable again)
 *            -> epoll_wait() -> on_listener() -> accept4() -> slot_alloc()
 *                            -> on_conn()     -> do_read() / conn_kill()
 *            -> emit() -> netio_ready_emit()     (ready ring -> events)
 *
 * Design
 *   - Connection handles index a table of cfg->max_conns slots allocated at
 *     open; listeners live in a separate table of KMAX_LISTENERS. epoll data
 *     holds the slot index and a 31-bit generation (bit 63 tags listeners),
 *     so a stale event can never reach a reused slot.
 *   - Connections are registered once, EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, and
 *     never modified: "stop reading when the buffer is full" and "arm EPOLLOUT
 *     after a short send" are per-slot flags, costing no epoll_ctl. CAN_READ
 *     stays set until recv returns short/EAGAIN/EOF; consume() on a slot with
 *     CAN_READ queues it for a read at the next poll. Listeners are
 *     level-triggered and accept at most KACCEPT_BATCH per event.
 *   - TCP_NODELAY is set on listeners (Linux accepted sockets inherit it) and
 *     on every active socket.
 *   - Receive buffers (cfg->rx_buf bytes) are malloc'd on a slot's first read
 *     and kept for reuse by later connections in that slot.
 *   - Events are not produced straight from epoll: each slot has pending bits
 *     (ACCEPTED, CONNECTED, READABLE, WRITABLE, CLOSED, emitted in that order)
 *     and sits at most once in a ready ring of max_conns entries, so no event
 *     is ever lost when the caller's array is small (ring and emit loop:
 *     drivers/netio_ready.h, shared with the user-space stack). READABLE's
 *     pointer and length are taken at emission time.
 *   - A slot whose CLOSED event was returned becomes a zombie and is freed at
 *     the start of the next netio_poll, so a handle is never reused within one
 *     batch of events.
 *
 * Close rules (exactly one CLOSED per connection)
 *   - netio_close: close() (FIN after queued data; note that Linux sends RST
 *     instead if received data is still unread in the kernel). CLOSED is
 *     queued for the next poll with reason LOCAL, or PEER_FIN if the peer's
 *     FIN was already delivered (READABLE eof=1).
 *   - netio_abort: SO_LINGER {1,0} + close() -> RST; CLOSED LOCAL.
 *   - Peer FIN: READABLE with eof=1 (and any unconsumed data). The driver then
 *     waits for the workload to call netio_close (CLOSED PEER_FIN) or
 *     netio_abort (CLOSED LOCAL): the workload may still send after the FIN.
 *     A workload that never closes keeps the connection (and its slot).
 *   - Errors found by the driver (recv/send/SO_ERROR) close the socket and
 *     queue CLOSED: ECONNRESET/EPIPE -> RESET, ETIMEDOUT -> TIMEOUT, others
 *     -> ERROR; during connect, ECONNREFUSED/ENETUNREACH/EHOSTUNREACH
 *     -> CONNECT_FAILED. Data read before the error is still
 *     delivered (READABLE before CLOSED). netio_send then returns -1.
 *   - netio_close/abort/send/consume on a handle whose CLOSED is pending or
 *     was returned are no-ops (send returns -1).
 */
#include "drivers/netio.h"

#include "drivers/ksock_reason.h"
#include "drivers/netio_ready.h"
#include "drivers/opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

extern const struct netio_ops netio_kernel_ops;

#define KMAX_LISTENERS 16
#define KDEF_CONNS 65536u
#define KDEF_RXBUF (64u * 1024u)
#define KMAX_CONNS (1u << 24)
#define KMAX_RXBUF (1u << 30)
#define KEPOLL_BATCH 256
#define KACCEPT_BATCH 64
#define KLISTEN_TAG (1ull << 63)

/* Syscall kinds, then the other counters; names below in the same order. */
enum kcnt {
    SYS_EPOLL_CREATE,
    SYS_EPOLL_CTL,
    SYS_EPOLL_WAIT,
    SYS_SOCKET,
    SYS_BIND,
    SYS_LISTEN,
    SYS_ACCEPT,
    SYS_CONNECT,
    SYS_SETSOCKOPT,
    SYS_GETSOCKOPT,
    SYS_RECV,
    SYS_SEND,
    SYS_CLOSE,
    SYS__COUNT,
    C_ACCEPTED = SYS__COUNT,
    C_CONNECTED,
    C_CLOSED,
    C_CLOSE_LOCAL, /* one per netio_close_reason, same order */
    C_CLOSE_PEER_FIN,
    C_CLOSE_RESET,
    C_CLOSE_CONNECT_FAILED,
    C_CLOSE_TIMEOUT,
    C_CLOSE_ERROR,
    C_EAGAIN_SEND,
    C_SEND_PARTIAL,
    C_RX_BUF_FULL,
    C_ACCEPT_TABLE_FULL,
    C_ACCEPT_ERRORS,
    C_RXBUF_NOMEM,
    C_STALE_EVENTS,
    C_BAD_HANDLE,
    C_CFG_BUSY_POLL_US, /* the busy-poll settings applied (not events): the record keeps them */
    C_CFG_PREFER_BUSY_POLL,
    C_CFG_BUSY_POLL_BUDGET,
    C_CFG_EPOLL_PARAMS, /* 1: EPIOCSPARAMS took the settings for epoll_wait */
    C_CFG_NAPI_ID,      /* SO_INCOMING_NAPI_ID of the first connection read (0: no NAPI) */
    C__COUNT
};

static const char *const kcnt_names[C__COUNT] = {
    [SYS_EPOLL_CREATE] = "sys_epoll_create",
    [SYS_EPOLL_CTL] = "sys_epoll_ctl",
    [SYS_EPOLL_WAIT] = "sys_epoll_wait",
    [SYS_SOCKET] = "sys_socket",
    [SYS_BIND] = "sys_bind",
    [SYS_LISTEN] = "sys_listen",
    [SYS_ACCEPT] = "sys_accept",
    [SYS_CONNECT] = "sys_connect",
    [SYS_SETSOCKOPT] = "sys_setsockopt",
    [SYS_GETSOCKOPT] = "sys_getsockopt",
    [SYS_RECV] = "sys_recv",
    [SYS_SEND] = "sys_send",
    [SYS_CLOSE] = "sys_close",
    [C_ACCEPTED] = "conns_accepted",
    [C_CONNECTED] = "conns_connected",
    [C_CLOSED] = "conns_closed",
    [C_CLOSE_LOCAL] = "close_local",
    [C_CLOSE_PEER_FIN] = "close_peer_fin",
    [C_CLOSE_RESET] = "close_reset",
    [C_CLOSE_CONNECT_FAILED] = "close_connect_failed",
    [C_CLOSE_TIMEOUT] = "close_timeout",
    [C_CLOSE_ERROR] = "close_error",
    [C_EAGAIN_SEND] = "eagain_send",
    [C_SEND_PARTIAL] = "send_partial",
    [C_RX_BUF_FULL] = "rx_buf_full",
    [C_ACCEPT_TABLE_FULL] = "accept_drop_table_full",
    [C_ACCEPT_ERRORS] = "accept_errors",
    [C_RXBUF_NOMEM] = "rx_buf_nomem",
    [C_STALE_EVENTS] = "stale_events",
    [C_BAD_HANDLE] = "bad_handle",
    [C_CFG_BUSY_POLL_US] = "cfg_busy_poll_us",
    [C_CFG_PREFER_BUSY_POLL] = "cfg_prefer_busy_poll",
    [C_CFG_BUSY_POLL_BUDGET] = "cfg_busy_poll_budget",
    [C_CFG_EPOLL_PARAMS] = "cfg_epoll_busy_poll",
    [C_CFG_NAPI_ID] = "cfg_napi_id",
};

/* ---- options: busy polling ---- */

/* epoll's busy-poll parameters (Linux 6.9, <linux/eventpoll.h>); Debian 12's
 * kernel headers predate them, so the ioctl is defined here as the kernel
 * defines it. */
struct k_epoll_params {
    uint32_t busy_poll_usecs;
    uint16_t busy_poll_budget;
    uint8_t prefer_busy_poll;
    uint8_t pad; /* must be zero */
};
#define K_EPIOCSPARAMS _IOW(0x8A, 0x01, struct k_epoll_params)
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

enum { KEP_AUTO, KEP_ON, KEP_OFF };

struct kopts {
    uint32_t busy_poll_us, budget;
    int prefer, epoll_params;
};

static const char *const kep_choices[] = {"auto", "on", "off", NULL};

/* clang-format off */
const struct opt_def kernel_opt_defs[] = {
    {.name = "busy_poll", .type = OPT_UINT, .min = 0, .max = 1000000, .def = "0",
     .help = "SO_BUSY_POLL on every socket: spin up to this many us for data in recv (0: off)",
     .off = offsetof(struct kopts, busy_poll_us), .size = sizeof(uint32_t)},
    {.name = "prefer_busy_poll", .type = OPT_BOOL, .def = "0",
     .help = "SO_PREFER_BUSY_POLL (and epoll's): defer the device's softirq while we busy poll",
     .off = offsetof(struct kopts, prefer), .size = sizeof(int)},
    {.name = "busy_poll_budget", .type = OPT_UINT, .min = 0, .max = 65535, .def = "0",
     .help = "SO_BUSY_POLL_BUDGET, packets per busy-poll round (0: the kernel's, 8)",
     .off = offsetof(struct kopts, budget), .size = sizeof(uint32_t)},
    {.name = "epoll_busy_poll", .type = OPT_ENUM, .def = "auto", .choices = kep_choices,
     .help = "epoll_wait busy polls (EPIOCSPARAMS, Linux 6.9) with busy_poll us: auto = where the kernel has it (else the harness sets net.core.busy_poll), on = must",
     .off = offsetof(struct kopts, epoll_params), .size = sizeof(int)},
    OPT_END,
};
/* clang-format on */

static const struct opt_group kernel_opt_groups[] = {
    {"kernel sockets", kernel_opt_defs},
    {NULL, NULL},
};

enum kstate { KS_FREE = 0, KS_CONNECTING, KS_OPEN, KS_DEAD, KS_ZOMBIE };

/* pending event bits (P_*) and their order: netio.h */

/* slot flags */
#define F_QUEUED 0x01u   /* in the ready ring */
#define F_RDQ 0x02u      /* in the resume-read ring */
#define F_CAN_READ 0x04u /* the socket may have unread data */
#define F_WANT_WR 0x08u  /* a send was short: deliver WRITABLE on EPOLLOUT */
#define F_EOF 0x10u      /* recv returned 0 */
#define F_PEER_DOWN 0x20u /* EPOLLRDHUP/HUP/ERR seen: a short read is not the end */

struct kconn {
    int fd;
    uint32_t gen;
    uint8_t state, pend, flags, reason;
    int16_t listener;
    int next; /* free list / zombie list link */
    void *ctx;
    uint8_t *buf; /* rx_buf bytes, lazily allocated, kept across reuse */
    uint32_t off, len;
};

struct klistener {
    int fd;
    void *ctx;
};

struct kio {
    struct netio base;
    int epfd;
    int busy_poll;
    int napi_checked; /* C_CFG_NAPI_ID was taken */
    struct kopts o;
    uint32_t max_conns, rxcap;
    struct kconn *conns;
    int free_head, zombie_head;
    struct netio_ring ready; /* slots with pending events (F_QUEUED), capacity max_conns */
    struct netio_ring rdq;   /* slots to read at the next poll (F_RDQ), capacity max_conns */
    int nlisteners;
    struct klistener listeners[KMAX_LISTENERS];
    uint64_t cnt[C__COUNT];
    struct epoll_event eps[KEPOLL_BATCH];
};

static inline struct kio *K(struct netio *io)
{
    return (struct kio *)io;
}

static void sys_close(struct kio *k, int fd)
{
    k->cnt[SYS_CLOSE]++;
    close(fd);
}

static int set_int_opt(struct kio *k, int fd, int level, int name, int val)
{
    k->cnt[SYS_SETSOCKOPT]++;
    return setsockopt(fd, level, name, &val, sizeof(val));
}

static int get_so_error(struct kio *k, int fd)
{
    int e = 0;
    socklen_t sl = sizeof(e);
    k->cnt[SYS_GETSOCKOPT]++;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0) return errno;
    return e;
}

/* The busy-poll socket options on fd (a listener passes them on to the
 * sockets it accepts: Linux copies them into the child). -1 with the option's
 * name in *what. */
static int busy_sockopts(struct kio *k, int fd, const char **what)
{
    if (k->o.busy_poll_us &&
        set_int_opt(k, fd, SOL_SOCKET, SO_BUSY_POLL, (int)k->o.busy_poll_us) < 0)
        return *what = "setsockopt(SO_BUSY_POLL)", -1;
    if (k->o.prefer && set_int_opt(k, fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, 1) < 0)
        return *what = "setsockopt(SO_PREFER_BUSY_POLL)", -1;
    if (k->o.budget && set_int_opt(k, fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, (int)k->o.budget) < 0)
        return *what = "setsockopt(SO_BUSY_POLL_BUDGET)", -1;
    return 0;
}

/* Busy polling polls the NAPI instance the socket's packets came from: take
 * the first read connection's (0 means the device has none, e.g. a veth
 * without GRO or XDP, and busy polling then has nothing to poll). */
static void note_napi_id(struct kio *k, int fd)
{
    unsigned id = 0;
    socklen_t sl = sizeof(id);
    k->napi_checked = 1;
    k->cnt[SYS_GETSOCKOPT]++;
    if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &id, &sl) == 0) k->cnt[C_CFG_NAPI_ID] = id;
}

static uint64_t conn_tag(uint32_t idx, uint32_t gen)
{
    return ((uint64_t)gen << 32) | idx;
}

/* ---- slot management ---- */

static struct kconn *slot_get(struct kio *k, int conn)
{
    if (conn < 0 || (uint32_t)conn >= k->max_conns) {
        k->cnt[C_BAD_HANDLE]++;
        return NULL;
    }
    return &k->conns[conn];
}

static int slot_alloc(struct kio *k)
{
    int i = k->free_head;
    if (i < 0) return -1;
    struct kconn *c = &k->conns[i];
    k->free_head = c->next;
    c->next = -1;
    c->gen = (c->gen + 1) & 0x7fffffffu;
    c->pend = c->flags = c->reason = 0;
    c->listener = -1;
    c->off = c->len = 0;
    c->ctx = NULL;
    c->fd = -1;
    return i;
}

static void slot_free(struct kio *k, int i)
{
    struct kconn *c = &k->conns[i];
    c->state = KS_FREE;
    c->fd = -1;
    c->flags = c->pend = 0;
    c->next = k->free_head;
    k->free_head = i;
}

static void free_zombies(struct kio *k)
{
    while (k->zombie_head >= 0) {
        int i = k->zombie_head;
        k->zombie_head = k->conns[i].next;
        slot_free(k, i);
    }
}

static void enqueue(struct kio *k, int i)
{
    struct kconn *c = &k->conns[i];
    if (c->flags & F_QUEUED) return;
    c->flags |= F_QUEUED;
    netio_ring_push(&k->ready, i);
}

static void rdq_push(struct kio *k, int i)
{
    struct kconn *c = &k->conns[i];
    if (c->flags & F_RDQ) return;
    c->flags |= F_RDQ;
    netio_ring_push(&k->rdq, i);
}

/* The socket is gone (closed here); queue the one CLOSED event. Pending
 * ACCEPTED/CONNECTED/READABLE stay (the workload must learn of the handle and
 * of data received before the end) unless the workload itself closed. */
static void conn_kill(struct kio *k, int i, enum netio_close_reason why, int by_workload)
{
    struct kconn *c = &k->conns[i];
    if (c->state != KS_CONNECTING && c->state != KS_OPEN) return;
    if (c->fd >= 0) sys_close(k, c->fd);
    c->fd = -1;
    c->state = KS_DEAD;
    c->reason = (uint8_t)why;
    c->flags &= (uint8_t)~(F_CAN_READ | F_WANT_WR);
    if (by_workload)
        c->pend = NETIO_P_CLOSED;
    else
        c->pend = (uint8_t)((c->pend & (NETIO_P_ACCEPTED | NETIO_P_CONNECTED | NETIO_P_READABLE)) | NETIO_P_CLOSED);
    k->cnt[C_CLOSED]++;
    k->cnt[C_CLOSE_LOCAL + why]++;
    enqueue(k, i);
}

/* ---- receive path ---- */

/* Read into the free space of slot i until the socket is drained (short read,
 * EAGAIN, EOF) or the buffer is full; queue READABLE if anything changed. */
static void do_read(struct kio *k, int i)
{
    struct kconn *c = &k->conns[i];
    int got = 0;
    if (!c->buf) {
        c->buf = malloc(k->rxcap);
        if (!c->buf) {
            k->cnt[C_RXBUF_NOMEM]++;
            conn_kill(k, i, NETIO_CLOSE_ERROR, 0);
            return;
        }
    }
    while (c->flags & F_CAN_READ) {
        uint32_t space = k->rxcap - c->len;
        if (space == 0) {
            k->cnt[C_RX_BUF_FULL]++;
            break; /* CAN_READ stays: resumed by consume */
        }
        uint32_t tail = space - c->off;
        if (c->off > tail) { /* compact only when the tail is the smaller part */
            memmove(c->buf, c->buf + c->off, c->len);
            c->off = 0;
            tail = space;
        }
        k->cnt[SYS_RECV]++;
        ssize_t n = recv(c->fd, c->buf + c->off + c->len, tail, 0);
        if (n > 0) {
            c->len += (uint32_t)n;
            got = 1;
            if (k->o.busy_poll_us && !k->napi_checked) note_napi_id(k, c->fd);
            /* A short read drained the socket, and new data will bring a new
             * edge; but a FIN or error that came with this edge brings none:
             * then read on until recv returns 0 or the error. */
            if ((uint32_t)n < tail && !(c->flags & F_PEER_DOWN)) c->flags &= (uint8_t)~F_CAN_READ;
        } else if (n == 0) {
            c->flags = (uint8_t)((c->flags & ~F_CAN_READ) | F_EOF);
            got = 1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->flags &= (uint8_t)~F_CAN_READ;
        } else if (errno != EINTR) {
            int e = errno;
            if (got) c->pend |= NETIO_P_READABLE;
            conn_kill(k, i, ksock_err_reason(e), 0);
            return;
        }
    }
    if (got) {
        c->pend |= NETIO_P_READABLE;
        enqueue(k, i);
    }
}

static void drain_rdq(struct kio *k)
{
    while (k->rdq.count) {
        int i = netio_ring_pop(&k->rdq);
        struct kconn *c = &k->conns[i];
        c->flags &= (uint8_t)~F_RDQ;
        if (c->state == KS_OPEN && (c->flags & F_CAN_READ) && !(c->flags & F_EOF)) do_read(k, i);
    }
}

/* ---- epoll events ---- */

static void on_conn(struct kio *k, uint32_t i, uint32_t gen, uint32_t ev)
{
    if (i >= k->max_conns) {
        k->cnt[C_STALE_EVENTS]++;
        return;
    }
    struct kconn *c = &k->conns[i];
    if (c->gen != gen || (c->state != KS_CONNECTING && c->state != KS_OPEN)) {
        k->cnt[C_STALE_EVENTS]++;
        return;
    }
    if (c->state == KS_CONNECTING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int e = get_so_error(k, c->fd);
        if (e == 0 && !(ev & EPOLLOUT)) e = ECONNREFUSED; /* hang-up, no error */
        if (e != 0) {
            conn_kill(k, (int)i, ksock_connect_reason(e), 0);
            return;
        }
        c->state = KS_OPEN;
        c->pend |= NETIO_P_CONNECTED;
        k->cnt[C_CONNECTED]++;
        enqueue(k, (int)i);
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (!(c->flags & F_EOF)) {
            c->flags |= F_CAN_READ;
            if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->flags |= F_PEER_DOWN;
            do_read(k, (int)i);
            if (c->state != KS_OPEN) return;
        }
        /* An error we cannot reach through recv (EOF seen, or the buffer is
         * full): take it from SO_ERROR so the connection does not hang. */
        if ((ev & EPOLLERR) && ((c->flags & F_EOF) || c->len == k->rxcap)) {
            int e = get_so_error(k, c->fd);
            if (e) {
                conn_kill(k, (int)i, ksock_err_reason(e), 0);
                return;
            }
        }
    }
    if ((ev & EPOLLOUT) && (c->flags & F_WANT_WR)) {
        c->flags &= (uint8_t)~F_WANT_WR;
        c->pend |= NETIO_P_WRITABLE;
        enqueue(k, (int)i);
    }
}

static int register_conn(struct kio *k, int i)
{
    struct kconn *c = &k->conns[i];
    struct epoll_event ee = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = conn_tag((uint32_t)i, c->gen)};
    k->cnt[SYS_EPOLL_CTL]++;
    return epoll_ctl(k->epfd, EPOLL_CTL_ADD, c->fd, &ee);
}

static void on_listener(struct kio *k, uint32_t li)
{
    if (li >= (uint32_t)k->nlisteners) {
        k->cnt[C_STALE_EVENTS]++;
        return;
    }
    struct klistener *l = &k->listeners[li];
    for (int n = 0; n < KACCEPT_BATCH; n++) {
        k->cnt[SYS_ACCEPT]++;
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            k->cnt[C_ACCEPT_ERRORS]++; /* EMFILE, ENOBUFS, ...: retried on next event */
            return;
        }
        int i = slot_alloc(k);
        if (i < 0) {
            k->cnt[C_ACCEPT_TABLE_FULL]++;
            sys_close(k, fd);
            continue;
        }
        struct kconn *c = &k->conns[i];
        c->fd = fd;
        c->listener = (int16_t)li;
        c->ctx = l->ctx;
        if (register_conn(k, i) < 0) {
            k->cnt[C_ACCEPT_ERRORS]++;
            sys_close(k, fd);
            slot_free(k, i);
            continue;
        }
        c->state = KS_OPEN;
        c->pend = NETIO_P_ACCEPTED;
        k->cnt[C_ACCEPTED]++;
        enqueue(k, i);
    }
}

/* ---- emission ---- */

/* emit()'s view of a slot (netio_ready.h) */
static inline void *ev_slot(void *drv, int32_t i, uint8_t **pend)
{
    struct kconn *c = &((struct kio *)drv)->conns[i];
    *pend = &c->pend;
    return c;
}

static inline int ev_fill(void *drv, void *slot, struct netio_event *e)
{
    struct kio *k = drv;
    struct kconn *c = slot;
    e->ctx = c->ctx;
    switch (e->type) {
    case NETIO_EV_ACCEPTED:
        e->listener = c->listener;
        e->ctx = k->listeners[c->listener].ctx;
        break;
    case NETIO_EV_READABLE:
        if (c->len == 0 && !(c->flags & F_EOF)) return 0; /* consumed meanwhile */
        e->data = c->buf ? c->buf + c->off : NULL;
        e->len = c->len;
        e->eof = (c->flags & F_EOF) != 0;
        break;
    case NETIO_EV_CLOSED:
        e->reason = (enum netio_close_reason)c->reason;
        c->state = KS_ZOMBIE;
        c->next = k->zombie_head;
        k->zombie_head = e->conn;
        break;
    default: /* CONNECTED, WRITABLE: nothing more to say */
        break;
    }
    return 1;
}

static inline void ev_dequeued(void *slot)
{
    ((struct kconn *)slot)->flags &= (uint8_t)~F_QUEUED;
}

static int emit(struct kio *k, struct netio_event *evs, int max)
{
    return netio_ready_emit(&k->ready, k, evs, max, ev_slot, ev_fill, ev_dequeued);
}

static int k_poll(struct netio *io, struct netio_event *evs, int max, int timeout_us)
{
    struct kio *k = K(io);
    if (!evs || max <= 0) return -1;
    drain_rdq(k);
    free_zombies(k);
    if (k->ready.count < (uint32_t)max) {
        int tmo;
        if (k->ready.count || k->busy_poll || timeout_us == 0)
            tmo = 0;
        else if (timeout_us < 0)
            tmo = -1;
        else
            tmo = timeout_us > INT_MAX - 999 ? INT_MAX / 1000 : (timeout_us + 999) / 1000;
        int want = max - (int)k->ready.count;
        if (want > KEPOLL_BATCH) want = KEPOLL_BATCH;
        k->cnt[SYS_EPOLL_WAIT]++;
        int n = epoll_wait(k->epfd, k->eps, want, tmo);
        if (n < 0) {
            if (errno != EINTR) return -1;
            n = 0;
        }
        for (int j = 0; j < n; j++) {
            uint64_t d = k->eps[j].data.u64;
            if (d & KLISTEN_TAG)
                on_listener(k, (uint32_t)d);
            else
                on_conn(k, (uint32_t)d, (uint32_t)(d >> 32), k->eps[j].events);
        }
    }
    return emit(k, evs, max);
}

/* ---- workload calls ---- */

static ssize_t k_send(struct netio *io, int conn, const void *buf, size_t len)
{
    struct kio *k = K(io);
    struct kconn *c = slot_get(k, conn);
    if (!c) return -1;
    if (c->state == KS_CONNECTING) {
        c->flags |= F_WANT_WR; /* WRITABLE follows CONNECTED */
        return 0;
    }
    if (c->state != KS_OPEN) return -1;
    if (len == 0) return 0;
    k->cnt[SYS_SEND]++;
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
        if ((size_t)n < len) {
            k->cnt[C_SEND_PARTIAL]++;
            c->flags |= F_WANT_WR;
        }
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS) {
        k->cnt[C_EAGAIN_SEND]++;
        c->flags |= F_WANT_WR;
        return 0;
    }
    conn_kill(k, conn, ksock_err_reason(errno), 0);
    return -1;
}

static void k_consume(struct netio *io, int conn, size_t n)
{
    struct kio *k = K(io);
    struct kconn *c = slot_get(k, conn);
    if (!c || (c->state != KS_OPEN && c->state != KS_DEAD)) return;
    if (n > c->len) n = c->len;
    c->off += (uint32_t)n;
    c->len -= (uint32_t)n;
    if (c->len == 0) c->off = 0;
    if (n && c->state == KS_OPEN && (c->flags & F_CAN_READ) && !(c->flags & F_EOF))
        rdq_push(k, conn);
    /* Bytes left after a consume are presented again at the next poll, even
     * if nothing new arrives (netio.h): a workload that stopped mid-buffer
     * (e.g. pipelined requests behind a stalled response) picks them up. */
    if (n && c->len && c->state == KS_OPEN) {
        c->pend |= NETIO_P_READABLE;
        enqueue(k, conn);
    }
}

static void k_set_ctx(struct netio *io, int conn, void *ctx)
{
    struct kconn *c = slot_get(K(io), conn);
    if (c && c->state != KS_FREE) c->ctx = ctx;
}

static void k_close(struct netio *io, int conn)
{
    struct kio *k = K(io);
    struct kconn *c = slot_get(k, conn);
    if (!c) return;
    conn_kill(k, conn, (c->flags & F_EOF) ? NETIO_CLOSE_PEER_FIN : NETIO_CLOSE_LOCAL, 1);
}

static void k_abort(struct netio *io, int conn)
{
    struct kio *k = K(io);
    struct kconn *c = slot_get(k, conn);
    if (!c || (c->state != KS_CONNECTING && c->state != KS_OPEN)) return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    k->cnt[SYS_SETSOCKOPT]++;
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    conn_kill(k, conn, NETIO_CLOSE_LOCAL, 1);
}

static int k_connect(struct netio *io, const struct sockaddr_in *dst, void *ctx, char *err,
                     size_t errlen)
{
    struct kio *k = K(io);
    int i = slot_alloc(k);
    if (i < 0) {
        snprintf(err, errlen, "kernel: connection table full (%u)", k->max_conns);
        return -1;
    }
    struct kconn *c = &k->conns[i];
    c->ctx = ctx;
    k->cnt[SYS_SOCKET]++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(err, errlen, "kernel: socket: %s", strerror(errno));
        slot_free(k, i);
        return -1;
    }
    char a[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &dst->sin_addr, a, sizeof(a));
    const char *what = NULL;
    int e = 0;
    if (set_int_opt(k, c->fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0) {
        what = "setsockopt(TCP_NODELAY)";
        e = errno;
    } else if (busy_sockopts(k, c->fd, &what) < 0) {
        e = errno;
    } else {
        k->cnt[SYS_CONNECT]++;
        if (connect(c->fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) e = errno;
        if (e == EINPROGRESS || e == EINTR) e = 0;
        if (e && ksock_connect_reason(e) == NETIO_CLOSE_ERROR) what = "connect"; /* local */
    }
    /* Registered after connect: ADD reports a completion that already happened. */
    if (!what && register_conn(k, i) < 0) {
        what = "epoll_ctl";
        e = errno;
    }
    if (what) { /* no ports left, bad address, ...: -1 and no event */
        snprintf(err, errlen, "kernel: connect %s:%u: %s: %s", a, ntohs(dst->sin_port), what,
                 strerror(e));
        sys_close(k, c->fd);
        slot_free(k, i);
        return -1;
    }
    c->state = KS_CONNECTING; /* success (even immediate) is seen through EPOLLOUT */
    if (e) conn_kill(k, i, ksock_connect_reason(e), 0); /* refused at once: CLOSED next poll */
    return i;
}

static int k_listen(struct netio *io, const struct sockaddr_in *addr, void *ctx, char *err,
                    size_t errlen)
{
    struct kio *k = K(io);
    char a[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &addr->sin_addr, a, sizeof(a));
    if (k->nlisteners >= KMAX_LISTENERS) {
        snprintf(err, errlen, "kernel: listen %s:%u: too many listeners (max %d)", a,
                 ntohs(addr->sin_port), KMAX_LISTENERS);
        return -1;
    }
    k->cnt[SYS_SOCKET]++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "kernel: listen %s:%u: socket: %s", a, ntohs(addr->sin_port),
                 strerror(errno));
        return -1;
    }
    int li = k->nlisteners;
    const char *what = NULL;
    struct epoll_event ee = {.events = EPOLLIN, .data.u64 = KLISTEN_TAG | (uint64_t)li};
    if (set_int_opt(k, fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
        what = "setsockopt(SO_REUSEADDR)";
    else if (set_int_opt(k, fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
        what = "setsockopt(SO_REUSEPORT)";
    else if (set_int_opt(k, fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0)
        what = "setsockopt(TCP_NODELAY)";
    else if (busy_sockopts(k, fd, &what) < 0)
        ;
    else if (k->cnt[SYS_BIND]++, bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
        what = "bind";
    else if (k->cnt[SYS_LISTEN]++, listen(fd, 65535) < 0)
        what = "listen";
    else if (k->cnt[SYS_EPOLL_CTL]++, epoll_ctl(k->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
        what = "epoll_ctl";
    if (what) {
        int e = errno;
        snprintf(err, errlen, "kernel: listen %s:%u: %s: %s", a, ntohs(addr->sin_port), what,
                 strerror(e));
        sys_close(k, fd);
        errno = e; /* callers may retry another port on EADDRINUSE */
        return -1;
    }
    k->listeners[li].fd = fd;
    k->listeners[li].ctx = ctx;
    k->nlisteners++;
    return li;
}

static int k_counters(struct netio *io, struct netio_counter *out, int max)
{
    struct kio *k = K(io);
    int n = 0;
    uint64_t total = 0;
    for (int j = 0; j < SYS__COUNT; j++) total += k->cnt[j];
    if (n < max) out[n++] = (struct netio_counter){"syscalls", total};
    for (int j = 0; j < C__COUNT && n < max; j++)
        out[n++] = (struct netio_counter){kcnt_names[j], k->cnt[j]};
    return n;
}

/* ---- lifecycle ---- */

static void k_destroy(struct netio *io)
{
    struct kio *k = K(io);
    if (!k) return;
    if (k->conns) {
        for (uint32_t i = 0; i < k->max_conns; i++) {
            if (k->conns[i].fd >= 0) close(k->conns[i].fd);
            free(k->conns[i].buf);
        }
    }
    for (int j = 0; j < k->nlisteners; j++) close(k->listeners[j].fd);
    if (k->epfd >= 0) close(k->epfd);
    free(k->conns);
    netio_ring_fini(&k->ready);
    netio_ring_fini(&k->rdq);
    free(k);
}

/* epoll_wait busy polls too when the kernel takes EPIOCSPARAMS (Linux 6.9);
 * the settings applied become counters. An older kernel answers ENOTTY: with
 * epoll_busy_poll=auto that leaves busy polling in epoll to the
 * net.core.busy_poll sysctl (the harness sets it), with =on it is an error. */
static int epoll_busy_params(struct kio *k, char *err, size_t errlen)
{
    k->cnt[C_CFG_BUSY_POLL_US] = k->o.busy_poll_us;
    k->cnt[C_CFG_PREFER_BUSY_POLL] = (uint64_t)k->o.prefer;
    k->cnt[C_CFG_BUSY_POLL_BUDGET] = k->o.budget;
    if (k->o.epoll_params == KEP_OFF || (!k->o.busy_poll_us && k->o.epoll_params == KEP_AUTO))
        return 0;
    struct k_epoll_params ep = {.busy_poll_usecs = k->o.busy_poll_us,
                                .busy_poll_budget = (uint16_t)k->o.budget,
                                .prefer_busy_poll = (uint8_t)k->o.prefer};
    k->cnt[SYS_EPOLL_CTL]++; /* an ioctl on the epoll fd: counted with its controls */
    if (ioctl(k->epfd, K_EPIOCSPARAMS, &ep) == 0) {
        k->cnt[C_CFG_EPOLL_PARAMS] = 1;
        return 0;
    }
    if (k->o.epoll_params == KEP_ON || (errno != ENOTTY && errno != EINVAL)) {
        snprintf(err, errlen, "kernel: epoll_busy_poll: ioctl(EPIOCSPARAMS, %u us, budget %u): %s",
                 k->o.busy_poll_us, k->o.budget, strerror(errno));
        return -1;
    }
    return 0;
}

static int k_probe(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return 0;
}

static struct netio *k_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    static const struct netio_config defaults = {.cpu = -1};
    if (!cfg) cfg = &defaults;
    struct kopts o;
    const struct opt_set set = {kernel_opt_defs, &o};
    if (opts_parse("kernel", cfg->opts, &set, 1, NULL, err, errlen) < 0) return NULL;
    size_t maxc = cfg->max_conns ? cfg->max_conns : KDEF_CONNS;
    size_t rxb = cfg->rx_buf ? cfg->rx_buf : KDEF_RXBUF;
    if (maxc > KMAX_CONNS) {
        snprintf(err, errlen, "kernel: max_conns %zu too large (max %u)", maxc, KMAX_CONNS);
        return NULL;
    }
    if (rxb > KMAX_RXBUF) {
        snprintf(err, errlen, "kernel: rx_buf %zu too large (max %u)", rxb, KMAX_RXBUF);
        return NULL;
    }
    if (netio_pin_cpu(cfg->cpu, err, errlen) < 0) return NULL;
    struct kio *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "kernel: out of memory");
        return NULL;
    }
    k->base.ops = &netio_kernel_ops;
    k->epfd = -1;
    k->busy_poll = cfg->busy_poll;
    k->o = o;
    k->max_conns = (uint32_t)maxc;
    k->rxcap = (uint32_t)rxb;
    k->zombie_head = -1;
    k->conns = calloc(maxc, sizeof(*k->conns));
    int rr = netio_ring_init(&k->ready, (uint32_t)maxc);
    int qr = netio_ring_init(&k->rdq, (uint32_t)maxc);
    if (!k->conns || rr < 0 || qr < 0) {
        snprintf(err, errlen, "kernel: out of memory for %zu connections", maxc);
        k_destroy(&k->base);
        return NULL;
    }
    for (uint32_t i = 0; i < k->max_conns; i++) {
        k->conns[i].fd = -1;
        k->conns[i].next = (uint32_t)i + 1 < k->max_conns ? (int)i + 1 : -1;
    }
    k->free_head = 0;
    k->cnt[SYS_EPOLL_CREATE]++;
    k->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (k->epfd < 0) {
        snprintf(err, errlen, "kernel: epoll_create1: %s", strerror(errno));
        k_destroy(&k->base);
        return NULL;
    }
    if (epoll_busy_params(k, err, errlen) < 0) {
        k_destroy(&k->base);
        return NULL;
    }
    return &k->base;
}

const struct netio_ops netio_kernel_ops = {
    .name = "kernel",
    .help = "kernel TCP sockets with epoll (edge-triggered), non-blocking, TCP_NODELAY",
    .opts = kernel_opt_groups,
    .probe = k_probe,
    .open = k_open,
    .destroy = k_destroy,
    .listen = k_listen,
    .connect = k_connect,
    .poll = k_poll,
    .send = k_send,
    .consume = k_consume,
    .set_ctx = k_set_ctx,
    .close = k_close,
    .abort = k_abort,
    .counters = k_counters,
};
