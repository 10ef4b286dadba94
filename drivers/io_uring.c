/*
 * io_uring.c — the io_uring netio backend: kernel TCP sockets driven through
 * one io_uring per instance (liburing). Exports `netio_io_uring_ops` (table
 * in netio.c; built only when liburing is found, HAVE_LIBURING).
 *
 * Callers: workloads/ and harness/ through the netio.h wrappers.
 * Calls:   liburing (ring setup, SQE preparation, buffer ring), io_uring_enter
 *          and io_uring_register issued here and counted ("sys_*", total in
 *          "syscalls", the kernel driver's counter shape); socket, setsockopt,
 *          bind, listen, close for listeners; the ready ring and emit loop of
 *          netio_ready.h and errno to close reason of ksock_reason.h (both
 *          shared with drivers/kernel.c).
 *
 *   u_poll() -> free_zombies() -> rearm() -> flush_tx() -> enter()
 *            -> reap() -> on_accept() / on_socket() / on_connect() / on_recv()
 *                         / on_send() / on_close_done()
 *            -> emit() -> netio_ready_emit()     (ready ring -> events)
 *
 * What it uses of io_uring
 *   - Registered files: a sparse table of max_conns entries; accepted and
 *     connecting sockets live only there (no fd), every op on them is
 *     IOSQE_FIXED_FILE.
 *   - Multishot accept straight into the table (IORING_FILE_INDEX_ALLOC): one
 *     SQE per listener for as long as it keeps going (re-armed when a CQE
 *     comes without IORING_CQE_F_MORE).
 *   - Multishot recv with buffer select from a provided buffer ring (bufs
 *     buffers of buf_size bytes, one group). A buffer is handed to the
 *     workload as READABLE's data without a copy and goes back to the ring
 *     when the workload has consumed it. Only when more data arrives before
 *     the workload consumed the last does the contract (READABLE = all
 *     unconsumed bytes, contiguous) need a copy: the bytes then move into a
 *     per-connection buffer of rx_buf bytes (counted: rx_copied_bytes) and the
 *     buffers go back at once. When that buffer is full, further buffers are
 *     held (not returned) and the recv is cancelled; consume re-arms it. A
 *     recv that ends with -ENOBUFS (the ring ran dry: more connections with
 *     data than buffers) is re-armed as soon as a buffer comes back; nothing
 *     is lost (the data waits in the socket).
 *   - Sends are copied into a per-connection send buffer (sndbuf bytes) and
 *     go out at the end of the loop iteration (netio_flush, or the next
 *     poll): one IORING_OP_SEND per connection with data, all submitted by
 *     one io_uring_enter. One send per connection is in flight at a time; a
 *     short send is resubmitted for the rest. At or above zc_threshold bytes
 *     the send is IORING_OP_SEND_ZC: its bytes stay untouched until the
 *     notification CQE (IORING_CQE_F_NOTIF) says the kernel let go of them.
 *   - One io_uring_enter per poll submits and reaps (GETEVENTS, with a
 *     timeout through IORING_ENTER_EXT_ARG when it may wait). Without SQPOLL
 *     the ring is SINGLE_ISSUER|DEFER_TASKRUN: completions are run only in
 *     that call. With sqpoll=1 a kernel thread pinned to sqpoll_cpu submits
 *     (no enter unless it sleeps: IORING_SQ_NEED_WAKEUP) and busy polling
 *     only spins on the CQ.
 *   - napi_busy_poll=US registers NAPI busy polling for the ring
 *     (IORING_REGISTER_NAPI, Linux 6.9; by io_uring_register since liburing
 *     2.3 has no helper): waits in io_uring_enter poll the device.
 *   - Graceful close: after the queued bytes are sent, cancel what is still
 *     armed on the file and close it (hard-linked SQEs). Abort: SO_LINGER
 *     {1,0} through IORING_OP_URING_CMD (SOCKET_URING_OP_SETSOCKOPT, Linux
 *     6.7), then cancel and close: RST. TCP_NODELAY on active sockets the
 *     same way; accepted ones inherit it from the listener.
 *
 * Connections: handles index a table of max_conns slots (the same pending
 * bits, ready ring, zombie rule and close rules as drivers/kernel.c). A slot
 * is not reused while CQEs for it are still due (inflight > 0): a closed
 * connection whose SEND_ZC notification or cancelled recv is still to come
 * lingers until then, so a late CQE never reaches a new connection.
 */
#ifdef HAVE_LIBURING
#include "drivers/io_uring.h"
#include "drivers/netio.h"

#include "drivers/ksock_reason.h"
#include "drivers/netio_ready.h"
#include "drivers/opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

extern const struct netio_ops netio_io_uring_ops;

#define UMAX_LISTENERS 16
#define UDEF_CONNS 65536u
#define UDEF_RXBUF (64u * 1024u)
#define UMAX_CONNS (1u << 20)
#define UMAX_RXBUF (1u << 30)
#define UBGID 0

/* Newer than liburing 2.3's headers: defined as the kernel defines them. */
#define U_REGISTER_NAPI 27u
struct u_napi {
    uint32_t busy_poll_to;
    uint8_t prefer_busy_poll;
    uint8_t opcode; /* 0: IO_URING_NAPI_REGISTER_OP (dynamic tracking) */
    uint8_t pad[2];
    uint32_t op_param;
    uint32_t resv;
};
#define U_SOCKET_URING_OP_SETSOCKOPT 3u
#define U_NOTIF_USAGE_ZC_COPIED (1u << 31) /* a ZC notification's res: the kernel copied */

/* user_data: op << 56 | gen << 24 | slot (listener index for accept) */
enum uop {
    OP_ACCEPT = 1,
    OP_SOCKET,
    OP_CONNECT,
    OP_RECV,
    OP_SEND,
    OP_CANCEL,
    OP_CLOSE,
    OP_SOCKOPT
};

static uint64_t tag(enum uop op, uint32_t gen, uint32_t i)
{
    return ((uint64_t)op << 56) | ((uint64_t)(gen & 0xffffffu) << 24) | (i & 0xffffffu);
}

/* Syscall kinds, then the other counters; names below in the same order. */
enum ucnt {
    SYS_IO_URING_SETUP,
    SYS_IO_URING_ENTER,
    SYS_IO_URING_REGISTER,
    SYS_SOCKET,
    SYS_BIND,
    SYS_LISTEN,
    SYS_SETSOCKOPT,
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
    C_SQES,
    C_CQES,
    C_OP_SEND,
    C_OP_SEND_ZC,
    C_ZC_NOTIFS,
    C_ZC_COPIED, /* notifications saying the kernel copied after all */
    C_SEND_PARTIAL,
    C_TX_FULL,
    C_RECV_CQES,
    C_RECV_ARMS,
    C_RX_ZERO_COPY, /* READABLE data handed out from the provided buffer */
    C_RX_COPIED_BYTES,
    C_RX_NOBUFS,
    C_RX_BUF_FULL,
    C_BUFS_RETURNED,
    C_BUFS_HELD, /* a gauge: provided buffers out of the ring right now */
    C_ACCEPT_ARMS,
    C_ACCEPT_TABLE_FULL,
    C_ACCEPT_ERRORS,
    C_SQ_FULL,
    C_STALE_CQES,
    C_BAD_HANDLE,
    C_MEM_ERRORS,
    C_CFG_SQPOLL, /* the settings applied (not events): the record keeps them */
    C_CFG_SQPOLL_CPU,
    C_CFG_NAPI_US,
    C_CFG_ZC_THRESHOLD,
    C_CFG_BUFS,
    C_CFG_FILES,
    C_CFG_BUF_SIZE,
    C__COUNT
};

static const char *const ucnt_names[C__COUNT] = {
    [SYS_IO_URING_SETUP] = "sys_io_uring_setup",
    [SYS_IO_URING_ENTER] = "sys_io_uring_enter",
    [SYS_IO_URING_REGISTER] = "sys_io_uring_register",
    [SYS_SOCKET] = "sys_socket",
    [SYS_BIND] = "sys_bind",
    [SYS_LISTEN] = "sys_listen",
    [SYS_SETSOCKOPT] = "sys_setsockopt",
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
    [C_SQES] = "sqes",
    [C_CQES] = "cqes",
    [C_OP_SEND] = "op_send",
    [C_OP_SEND_ZC] = "op_send_zc",
    [C_ZC_NOTIFS] = "zc_notifs",
    [C_ZC_COPIED] = "zc_copied",
    [C_SEND_PARTIAL] = "send_partial",
    [C_TX_FULL] = "tx_full",
    [C_RECV_CQES] = "recv_cqes",
    [C_RECV_ARMS] = "recv_arms",
    [C_RX_ZERO_COPY] = "rx_zero_copy",
    [C_RX_COPIED_BYTES] = "rx_copied_bytes",
    [C_RX_NOBUFS] = "rx_nobufs",
    [C_RX_BUF_FULL] = "rx_buf_full",
    [C_BUFS_RETURNED] = "bufs_returned",
    [C_BUFS_HELD] = "bufs_held",
    [C_ACCEPT_ARMS] = "accept_arms",
    [C_ACCEPT_TABLE_FULL] = "accept_drop_table_full",
    [C_ACCEPT_ERRORS] = "accept_errors",
    [C_SQ_FULL] = "sq_full_submits",
    [C_STALE_CQES] = "stale_cqes",
    [C_BAD_HANDLE] = "bad_handle",
    [C_MEM_ERRORS] = "mem_errors",
    [C_CFG_SQPOLL] = "cfg_sqpoll",
    [C_CFG_SQPOLL_CPU] = "cfg_sqpoll_cpu",
    [C_CFG_NAPI_US] = "cfg_napi_busy_poll_us",
    [C_CFG_ZC_THRESHOLD] = "cfg_zc_threshold",
    [C_CFG_BUFS] = "cfg_bufs",
    [C_CFG_FILES] = "cfg_registered_files",
    [C_CFG_BUF_SIZE] = "cfg_buf_size",
};

/* ---- options ---- */

struct uopts {
    uint32_t entries, bufs, buf_size, sndbuf, napi_us;
    uint64_t zc_threshold;
    int sqpoll, sqpoll_cpu, prefer;
};

/* clang-format off */
const struct opt_def uring_opt_defs[] = {
    {.name = "entries", .type = OPT_UINT, .min = 8, .max = 32768, .def = "1024",
     .help = "SQ entries (CQ: 8 times as many), rounded up to a power of two",
     .off = offsetof(struct uopts, entries), .size = sizeof(uint32_t)},
    {.name = "bufs", .type = OPT_COUNT, .min = 1, .max = 32768, .def = "1024",
     .help = "provided receive buffers in the buffer ring (a power of two)",
     .off = offsetof(struct uopts, bufs), .size = sizeof(uint32_t)},
    {.name = "buf_size", .type = OPT_SIZE, .min = 64, .max = 1u << 20, .def = "16k",
     .help = "bytes per provided receive buffer (at most rx_buf)",
     .off = offsetof(struct uopts, buf_size), .size = sizeof(uint32_t)},
    {.name = "sndbuf", .type = OPT_SIZE, .min = 4096, .max = 1u << 30, .def = "256k",
     .help = "per-connection send buffer, bytes: netio_send copies into it",
     .off = offsetof(struct uopts, sndbuf), .size = sizeof(uint32_t)},
    {.name = "zc_threshold", .type = OPT_SIZE, .min = 0, .max = UINT64_MAX, .def = "0",
     .help = "sends of at least this many bytes use SEND_ZC (0: never; measured on veth: copying wins, see README)",
     .off = offsetof(struct uopts, zc_threshold), .size = sizeof(uint64_t)},
    {.name = "sqpoll", .type = OPT_BOOL, .def = "0",
     .help = "SQPOLL: a kernel thread submits (no io_uring_enter per batch), on sqpoll_cpu",
     .off = offsetof(struct uopts, sqpoll), .size = sizeof(int)},
    {.name = "sqpoll_cpu", .type = OPT_UINT, .min = 0, .max = 4095, .def = "0",
     .help = "the core the SQPOLL thread is pinned to (a core apart from the server's)",
     .off = offsetof(struct uopts, sqpoll_cpu), .size = sizeof(int)},
    {.name = "napi_busy_poll", .type = OPT_UINT, .min = 0, .max = 1000000, .def = "0",
     .help = "NAPI busy polling while waiting in io_uring_enter, us (0: off; Linux 6.9)",
     .off = offsetof(struct uopts, napi_us), .size = sizeof(uint32_t)},
    {.name = "prefer_busy_poll", .type = OPT_BOOL, .def = "0",
     .help = "with napi_busy_poll: defer the device's softirq while we busy poll",
     .off = offsetof(struct uopts, prefer), .size = sizeof(int)},
    OPT_END,
};
/* clang-format on */

static const struct opt_group uring_opt_groups[] = {
    {"io_uring", uring_opt_defs},
    {NULL, NULL},
};

/* ---- state ---- */

enum ustate { US_FREE = 0, US_CONNECTING, US_OPEN, US_DEAD, US_ZOMBIE };

#define F_QUEUED 0x001u     /* in the ready ring */
#define F_TXQ 0x002u        /* in the send ring */
#define F_RX_ARMED 0x004u   /* a multishot recv is live */
#define F_RX_STOP 0x008u    /* receive buffer full: recv not re-armed until consume */
#define F_WANT_WR 0x010u    /* a send was short: WRITABLE when space comes */
#define F_EOF 0x020u        /* recv returned 0 */
#define F_SENDING 0x040u    /* a send (and its ZC notification) is in flight */
#define F_NEED_ARM 0x080u   /* recv ended with ENOBUFS: re-arm when a buffer is back */
#define F_FD_CLOSING 0x100u /* cancel+close submitted */
#define F_RST 0x200u        /* aborted: close with SO_LINGER {1,0} */
#define F_DROP_TX 0x400u    /* killed: queued bytes are not sent */
#define F_ARMQ 0x800u       /* in armq */

struct uconn {
    int32_t fidx; /* registered file index, -1 none */
    uint32_t gen;
    uint8_t state, pend, reason;
    int16_t listener;
    uint16_t flags;
    uint32_t inflight; /* CQEs still due for this slot */
    int next;          /* free list / zombie list link */
    void *ctx;
    /* rx: the unconsumed bytes are in provided buffer zbid (zero copy) or in lin */
    int32_t zbid;
    uint32_t off, len;
    uint8_t *lin;
    int32_t held_head, held_tail; /* provided buffers waiting for room in lin */
    /* tx: [txh, txt) queued, the first txinf of them in flight */
    uint8_t *tx;
    uint32_t txh, txt, txinf;
    struct sockaddr_in peer;
};

struct ulistener {
    int fd;
    void *ctx;
};

struct uio {
    struct netio base;
    struct io_uring ring;
    int ring_ok, sqpoll, busy_poll;
    struct uopts o;
    uint32_t max_conns, nfiles, rxcap, bufsz, nbufs;
    struct uconn *conns;
    int free_head, zombie_head;
    struct netio_ring ready; /* slots with pending events */
    struct netio_ring txq;   /* slots with bytes to send at the next flush */
    struct netio_ring armq;  /* slots whose recv waits for a buffer (ENOBUFS) */
    struct io_uring_buf_ring *br;
    size_t br_len;
    uint8_t *bufmem;
    int32_t *bnext;    /* held-buffer FIFO links */
    uint32_t *blen;    /* held-buffer lengths */
    uint32_t bufs_out; /* buffers handed to us by CQEs and not yet returned */
    int nlisteners;
    struct ulistener listeners[UMAX_LISTENERS];
    uint64_t cnt[C__COUNT];
};

static inline struct uio *U(struct netio *io)
{
    return (struct uio *)io;
}

static int lin_int_one = 1;
static struct linger lin_rst = {.l_onoff = 1, .l_linger = 0};

/* ---- submission ---- */

/* Submit what is in the SQ and, with wait, block until a CQE or timeout_us
 * (-1 forever). Each io_uring_enter issued is counted. */
static int enter(struct uio *u, int wait, int timeout_us)
{
    struct io_uring *r = &u->ring;
    unsigned flags = 0, to_submit;
    struct io_uring_sq *sq = &r->sq;
    /* liburing's flush: publish the SQEs prepared since the last one */
    if (sq->sqe_head != sq->sqe_tail) {
        sq->sqe_head = sq->sqe_tail;
        io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
    }
    to_submit = sq->sqe_tail - io_uring_smp_load_acquire(sq->khead);
    if (u->sqpoll) {
        int need_wake = 0;
        if (to_submit) {
            io_uring_smp_mb();
            need_wake = (IO_URING_READ_ONCE(*sq->kflags) & IORING_SQ_NEED_WAKEUP) != 0;
        }
        if (need_wake) flags |= IORING_ENTER_SQ_WAKEUP;
        /* The thread submits; enter only to wake it, flush an overflowed CQ,
         * or sleep when nothing is ready. */
        int overflow = (IO_URING_READ_ONCE(*sq->kflags) & IORING_SQ_CQ_OVERFLOW) != 0;
        if (!need_wake && !overflow && !(wait && io_uring_cq_ready(r) == 0)) return 0;
        to_submit = 0;
        if (overflow || wait) flags |= IORING_ENTER_GETEVENTS;
    } else {
        flags |= IORING_ENTER_GETEVENTS; /* DEFER_TASKRUN: completions run only here */
    }
    struct __kernel_timespec ts;
    struct io_uring_getevents_arg arg = {0};
    unsigned min = 0;
    if (wait && io_uring_cq_ready(r) == 0) {
        min = 1;
        if (timeout_us >= 0) {
            ts.tv_sec = timeout_us / 1000000;
            ts.tv_nsec = (long long)(timeout_us % 1000000) * 1000;
            arg.ts = (uint64_t)(uintptr_t)&ts;
        }
    }
    flags |= IORING_ENTER_EXT_ARG;
    u->cnt[SYS_IO_URING_ENTER]++;
    int n =
        io_uring_enter2((unsigned)r->ring_fd, to_submit, min, flags, (sigset_t *)&arg, sizeof(arg));
    if (n < 0 && n != -ETIME && n != -EINTR && n != -EAGAIN && n != -EBUSY) return n;
    return 0;
}

/* A free SQE; when the SQ is full, submit it first. NULL only if the kernel
 * takes nothing (then the op is counted as a memory error by the caller). */
static struct io_uring_sqe *sqe_get(struct uio *u)
{
    struct io_uring_sqe *s = io_uring_get_sqe(&u->ring);
    if (!s) {
        u->cnt[C_SQ_FULL]++;
        enter(u, 0, 0);
        s = io_uring_get_sqe(&u->ring);
        if (!s) return NULL;
    }
    u->cnt[C_SQES]++;
    return s;
}

/* ---- slots ---- */

static struct uconn *slot_get(struct uio *u, int conn)
{
    if (conn < 0 || (uint32_t)conn >= u->max_conns) {
        u->cnt[C_BAD_HANDLE]++;
        return NULL;
    }
    return &u->conns[conn];
}

static int slot_alloc(struct uio *u)
{
    int i = u->free_head;
    if (i < 0) return -1;
    struct uconn *c = &u->conns[i];
    u->free_head = c->next;
    c->next = -1;
    c->gen = (c->gen + 1) & 0xffffffu;
    c->pend = c->reason = 0;
    c->flags &= F_TXQ | F_ARMQ; /* ring memberships outlive the connection */
    c->listener = -1;
    c->off = c->len = 0;
    c->zbid = c->held_head = c->held_tail = -1;
    c->txh = c->txt = c->txinf = 0;
    c->inflight = 0;
    c->ctx = NULL;
    c->fidx = -1;
    return i;
}

static void slot_free(struct uio *u, int i)
{
    struct uconn *c = &u->conns[i];
    c->state = US_FREE;
    c->flags &= F_TXQ | F_ARMQ;
    c->pend = 0;
    c->next = u->free_head;
    u->free_head = i;
}

static void enqueue(struct uio *u, int i)
{
    struct uconn *c = &u->conns[i];
    if (c->flags & F_QUEUED) return;
    c->flags |= F_QUEUED;
    netio_ring_push(&u->ready, i);
}

static void txq_push(struct uio *u, int i)
{
    struct uconn *c = &u->conns[i];
    if (c->flags & F_TXQ) return;
    c->flags |= F_TXQ;
    netio_ring_push(&u->txq, i);
}

/* ---- provided buffers ---- */

static uint8_t *buf_addr(struct uio *u, int32_t bid)
{
    return u->bufmem + (size_t)bid * u->bufsz;
}

static void buf_return(struct uio *u, int32_t bid)
{
    io_uring_buf_ring_add(u->br, buf_addr(u, bid), u->bufsz, (unsigned short)bid,
                          io_uring_buf_ring_mask(u->nbufs), 0);
    io_uring_buf_ring_advance(u->br, 1);
    u->bufs_out--;
    u->cnt[C_BUFS_RETURNED]++;
}

/* Every provided buffer the slot holds goes back to the ring. */
static void rx_release(struct uio *u, struct uconn *c)
{
    if (c->zbid >= 0) buf_return(u, c->zbid);
    c->zbid = -1;
    while (c->held_head >= 0) {
        int32_t b = c->held_head;
        c->held_head = u->bnext[b];
        buf_return(u, b);
    }
    c->held_tail = -1;
    c->off = c->len = 0;
}

/* ---- ops on a connection ---- */

static void arm_recv(struct uio *u, int i)
{
    struct uconn *c = &u->conns[i];
    struct io_uring_sqe *s = sqe_get(u);
    if (!s) {
        u->cnt[C_MEM_ERRORS]++;
        return;
    }
    io_uring_prep_recv_multishot(s, c->fidx, NULL, 0, 0);
    s->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    s->buf_group = UBGID;
    io_uring_sqe_set_data64(s, tag(OP_RECV, c->gen, (uint32_t)i));
    c->flags |= F_RX_ARMED;
    c->inflight++;
    u->cnt[C_RECV_ARMS]++;
}

/* setsockopt on a registered file, as one SQE (URING_CMD, Linux 6.7):
 * level/optname overlay addr, optlen file_index, optval addr3. */
static struct io_uring_sqe *prep_sockopt(struct uio *u, int i, int level, int name, const void *val,
                                         uint32_t len)
{
    struct uconn *c = &u->conns[i];
    struct io_uring_sqe *s = sqe_get(u);
    if (!s) return NULL;
    io_uring_prep_rw(IORING_OP_URING_CMD, s, c->fidx, NULL, 0, 0);
    s->off = U_SOCKET_URING_OP_SETSOCKOPT; /* cmd_op */
    s->addr = (uint64_t)(uint32_t)level | ((uint64_t)(uint32_t)name << 32);
    s->file_index = len;
    s->addr3 = (uint64_t)(uintptr_t)val;
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(s, tag(OP_SOCKOPT, c->gen, (uint32_t)i));
    c->inflight++;
    return s;
}

/* Cancel everything on the slot's file, then close it (hard-linked: the
 * close runs whatever the cancel finds). With rst, SO_LINGER {1,0} first. */
static void fd_close(struct uio *u, int i)
{
    struct uconn *c = &u->conns[i];
    int rst = (c->flags & F_RST) != 0;
    if (c->fidx < 0 || (c->flags & F_FD_CLOSING)) return;
    c->flags |= F_FD_CLOSING;
    if (rst) {
        struct io_uring_sqe *s =
            prep_sockopt(u, i, SOL_SOCKET, SO_LINGER, &lin_rst, sizeof(lin_rst));
        if (s) s->flags |= IOSQE_IO_HARDLINK;
    }
    struct io_uring_sqe *s = sqe_get(u);
    if (s) {
        io_uring_prep_cancel_fd(s, c->fidx, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
        s->flags |= IOSQE_IO_HARDLINK;
        io_uring_sqe_set_data64(s, tag(OP_CANCEL, c->gen, (uint32_t)i));
        c->inflight++;
    }
    s = sqe_get(u);
    if (!s) {
        u->cnt[C_MEM_ERRORS]++;
        return;
    }
    io_uring_prep_close_direct(s, (unsigned)c->fidx);
    io_uring_sqe_set_data64(s, tag(OP_CLOSE, c->gen, (uint32_t)i));
    c->inflight++;
}

/* The connection is over: queue its one CLOSED (kernel.c's rules). Queued
 * bytes still go out after a graceful local close; otherwise the file is
 * closed now. */
static void conn_kill(struct uio *u, int i, enum netio_close_reason why, int by_workload, int rst)
{
    struct uconn *c = &u->conns[i];
    if (c->state != US_CONNECTING && c->state != US_OPEN) return;
    c->state = US_DEAD;
    c->reason = (uint8_t)why;
    c->flags &= (uint16_t) ~(F_WANT_WR | F_NEED_ARM);
    if (rst) c->flags |= F_RST;
    if (rst || !by_workload) {
        c->flags |= F_DROP_TX;
        c->txt = c->txh + c->txinf; /* queued bytes dropped; those in flight stay put */
    }
    if (by_workload) {
        c->pend = NETIO_P_CLOSED;
        rx_release(u, c);
    } else {
        c->pend = (uint8_t)((c->pend & (NETIO_P_ACCEPTED | NETIO_P_CONNECTED | NETIO_P_READABLE)) |
                            NETIO_P_CLOSED);
    }
    u->cnt[C_CLOSED]++;
    u->cnt[C_CLOSE_LOCAL + why]++;
    if (!(c->flags & F_SENDING) && ((c->flags & F_DROP_TX) || c->txt == c->txh)) fd_close(u, i);
    enqueue(u, i);
}

/* ---- send path ---- */

static void send_one(struct uio *u, int i)
{
    struct uconn *c = &u->conns[i];
    uint32_t n = c->txt - c->txh;
    struct io_uring_sqe *s = sqe_get(u);
    if (!s) {
        u->cnt[C_MEM_ERRORS]++;
        txq_push(u, i); /* next flush */
        return;
    }
    if (u->o.zc_threshold && n >= u->o.zc_threshold) {
        io_uring_prep_send_zc(s, c->fidx, c->tx + c->txh, n, MSG_NOSIGNAL, 0);
        u->cnt[C_OP_SEND_ZC]++;
    } else {
        io_uring_prep_send(s, c->fidx, c->tx + c->txh, n, MSG_NOSIGNAL);
        u->cnt[C_OP_SEND]++;
    }
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(s, tag(OP_SEND, c->gen, (uint32_t)i));
    c->txinf = n;
    c->flags |= F_SENDING;
    c->inflight++;
}

/* One send per connection with queued bytes and none in flight. */
static void flush_tx(struct uio *u)
{
    uint32_t n = u->txq.count;
    while (n--) {
        int i = netio_ring_pop(&u->txq);
        struct uconn *c = &u->conns[i];
        c->flags &= (uint16_t)~F_TXQ;
        if (c->fidx < 0 || (c->flags & (F_SENDING | F_FD_CLOSING))) continue;
        if (c->state != US_OPEN && c->state != US_DEAD && c->state != US_ZOMBIE) continue;
        if (c->txt != c->txh) send_one(u, i);
    }
}

/* The send completed (res bytes, or -errno); more says a ZC notification
 * follows. The bytes stay until it does. */
static void on_send(struct uio *u, int i, int res, unsigned cflags)
{
    struct uconn *c = &u->conns[i];
    if (cflags & IORING_CQE_F_NOTIF) { /* the kernel let go of a ZC send's bytes */
        u->cnt[C_ZC_NOTIFS]++;
        if ((uint32_t)res & U_NOTIF_USAGE_ZC_COPIED) u->cnt[C_ZC_COPIED]++;
    } else {
        if (res < 0) {
            c->txh = c->txt;
            if (c->state == US_OPEN) conn_kill(u, i, ksock_err_reason(-res), 0, 0);
        } else {
            if ((uint32_t)res < c->txinf) u->cnt[C_SEND_PARTIAL]++;
            c->txh += (uint32_t)res;
        }
        c->txinf = 0;
        if (cflags & IORING_CQE_F_MORE) return; /* bytes held until the notification */
    }
    c->flags &= (uint16_t)~F_SENDING;
    if (c->flags & F_DROP_TX) c->txh = c->txt;
    if (c->txh == c->txt) c->txh = c->txt = 0;
    if (c->state == US_OPEN && (c->flags & F_WANT_WR) && c->txt < u->o.sndbuf) {
        c->flags &= (uint16_t)~F_WANT_WR;
        c->pend |= NETIO_P_WRITABLE;
        enqueue(u, i);
    }
    if (c->state == US_OPEN || c->state == US_CONNECTING) {
        if (c->txt != c->txh) send_one(u, i); /* the rest of a short send, or what came since */
    } else if (c->txt != c->txh && !(c->flags & F_FD_CLOSING)) {
        send_one(u, i); /* closed gracefully: the queued bytes go out first */
    } else {
        fd_close(u, i);
    }
}

/* ---- receive path ---- */

/* Append provided buffer b's n bytes to lin; 0, or -1 if there is no room. */
static int lin_append(struct uio *u, struct uconn *c, const uint8_t *p, uint32_t n)
{
    if (!c->lin) {
        c->lin = malloc(u->rxcap);
        if (!c->lin) return -1;
    }
    if (u->rxcap - c->len < n) return -1;
    if (c->off + c->len + n > u->rxcap) {
        memmove(c->lin, c->lin + c->off, c->len);
        c->off = 0;
    }
    memcpy(c->lin + c->off + c->len, p, n);
    c->len += n;
    u->cnt[C_RX_COPIED_BYTES] += n;
    return 0;
}

static void hold(struct uio *u, struct uconn *c, int32_t b, uint32_t n)
{
    u->blen[b] = n;
    u->bnext[b] = -1;
    if (c->held_tail >= 0)
        u->bnext[c->held_tail] = b;
    else
        c->held_head = b;
    c->held_tail = b;
}

/* Move held buffers into lin while they fit. */
static void pull_held(struct uio *u, struct uconn *c)
{
    while (c->held_head >= 0) {
        int32_t b = c->held_head;
        if (c->zbid < 0 && c->len == 0) { /* nothing unconsumed: present it without a copy */
            c->held_head = u->bnext[b];
            if (c->held_head < 0) c->held_tail = -1;
            c->zbid = b, c->off = 0, c->len = u->blen[b];
            continue;
        }
        if (c->zbid >= 0) { /* the contract wants one run of bytes: copy the shown one */
            uint8_t *zp = buf_addr(u, c->zbid) + c->off;
            uint32_t zl = c->len;
            c->off = c->len = 0;
            if (lin_append(u, c, zp, zl) < 0) { /* cannot happen: buf_size <= rx_buf */
                u->cnt[C_MEM_ERRORS]++;
                return;
            }
            buf_return(u, c->zbid);
            c->zbid = -1;
        }
        if (lin_append(u, c, buf_addr(u, b), u->blen[b]) < 0) return; /* full: wait */
        c->held_head = u->bnext[b];
        if (c->held_head < 0) c->held_tail = -1;
        buf_return(u, b);
    }
}

static void on_recv(struct uio *u, int i, int res, unsigned cflags)
{
    struct uconn *c = &u->conns[i];
    int more = (cflags & IORING_CQE_F_MORE) != 0;
    u->cnt[C_RECV_CQES]++;
    if (cflags & IORING_CQE_F_BUFFER) {
        int32_t b = (int32_t)(cflags >> IORING_CQE_BUFFER_SHIFT);
        u->bufs_out++;
        if (res <= 0 || c->state != US_OPEN || (c->flags & F_EOF)) {
            buf_return(u, b); /* data for a connection already gone: dropped with it */
        } else {
            hold(u, c, b, (uint32_t)res);
            pull_held(u, c);
            c->pend |= NETIO_P_READABLE;
            enqueue(u, i);
            if (c->held_head >= 0 && !(c->flags & F_RX_STOP)) {
                /* full: stop the recv; consume re-arms it */
                u->cnt[C_RX_BUF_FULL]++;
                c->flags |= F_RX_STOP;
                struct io_uring_sqe *s = sqe_get(u);
                if (s) {
                    io_uring_prep_cancel64(s, tag(OP_RECV, c->gen, (uint32_t)i), 0);
                    io_uring_sqe_set_data64(s, tag(OP_CANCEL, c->gen, (uint32_t)i));
                    c->inflight++;
                }
            }
        }
    }
    if (more) return;
    c->flags &= (uint16_t)~F_RX_ARMED;
    if (c->state != US_OPEN) return;
    if (res == 0) {
        c->flags |= F_EOF;
        c->pend |= NETIO_P_READABLE;
        enqueue(u, i);
    } else if (res == -ENOBUFS) {
        u->cnt[C_RX_NOBUFS]++;
        c->flags |= F_NEED_ARM;
        if (!(c->flags & F_ARMQ)) {
            c->flags |= F_ARMQ;
            netio_ring_push(&u->armq, i);
        }
    } else if (res == -ECANCELED || (c->flags & F_RX_STOP)) {
        /* stopped because full: consume re-arms, or now if it already made room */
        if (c->held_head < 0 && !(c->flags & F_EOF)) {
            c->flags &= (uint16_t)~F_RX_STOP;
            arm_recv(u, i);
        }
    } else if (res < 0) {
        conn_kill(u, i, ksock_err_reason(-res), 0, 0);
    } else {
        arm_recv(u, i); /* the kernel ended the multishot: go on */
    }
}

/* Re-arm the receives that ran out of buffers, as far as buffers are back. */
static void rearm(struct uio *u)
{
    uint32_t n = u->armq.count;
    while (n-- && u->bufs_out < u->nbufs) {
        int i = netio_ring_pop(&u->armq);
        struct uconn *c = &u->conns[i];
        c->flags &= (uint16_t)~F_ARMQ;
        if (!(c->flags & F_NEED_ARM)) continue;
        c->flags &= (uint16_t)~F_NEED_ARM;
        if (c->state == US_OPEN && !(c->flags & (F_RX_ARMED | F_EOF | F_RX_STOP))) arm_recv(u, i);
    }
}

/* ---- accept, connect ---- */

static void arm_accept(struct uio *u, int li)
{
    struct io_uring_sqe *s = sqe_get(u);
    if (!s) {
        u->cnt[C_MEM_ERRORS]++;
        return;
    }
    io_uring_prep_multishot_accept_direct(s, u->listeners[li].fd, NULL, NULL, 0);
    io_uring_sqe_set_data64(s, tag(OP_ACCEPT, 0, (uint32_t)li));
    u->cnt[C_ACCEPT_ARMS]++;
}

static void on_accept(struct uio *u, uint32_t li, int res, unsigned cflags)
{
    if (li >= (uint32_t)u->nlisteners) {
        u->cnt[C_STALE_CQES]++;
        return;
    }
    if (res >= 0) {
        int i = slot_alloc(u);
        if (i < 0) {
            u->cnt[C_ACCEPT_TABLE_FULL]++;
            struct io_uring_sqe *s = sqe_get(u);
            if (s) {
                io_uring_prep_close_direct(s, (unsigned)res);
                io_uring_sqe_set_data64(s, 0); /* its CQE is nobody's */
            }
        } else {
            struct uconn *c = &u->conns[i];
            c->fidx = res;
            c->listener = (int16_t)li;
            c->ctx = u->listeners[li].ctx;
            c->state = US_OPEN;
            c->pend = NETIO_P_ACCEPTED;
            u->cnt[C_ACCEPTED]++;
            enqueue(u, i);
            arm_recv(u, i);
        }
    } else if (res != -ECANCELED) {
        u->cnt[C_ACCEPT_ERRORS]++; /* ENFILE (table full), EMFILE, ...: re-armed */
    }
    if (!(cflags & IORING_CQE_F_MORE) && res != -ECANCELED) arm_accept(u, (int)li);
}

static void start_connect(struct uio *u, int i)
{
    struct uconn *c = &u->conns[i];
    struct io_uring_sqe *s =
        prep_sockopt(u, i, IPPROTO_TCP, TCP_NODELAY, &lin_int_one, sizeof(int));
    if (s) s->flags |= IOSQE_IO_HARDLINK; /* connect whatever it says */
    s = sqe_get(u);
    if (!s) {
        u->cnt[C_MEM_ERRORS]++;
        conn_kill(u, i, NETIO_CLOSE_ERROR, 0, 0);
        return;
    }
    io_uring_prep_connect(s, c->fidx, (const struct sockaddr *)&c->peer, sizeof(c->peer));
    s->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(s, tag(OP_CONNECT, c->gen, (uint32_t)i));
    c->inflight++;
}

static void on_socket(struct uio *u, int i, int res)
{
    struct uconn *c = &u->conns[i];
    if (res < 0) {
        conn_kill(u, i, NETIO_CLOSE_ERROR, 0, 0);
        return;
    }
    c->fidx = res;
    if (c->state != US_CONNECTING) { /* closed by the workload meanwhile */
        fd_close(u, i);
        return;
    }
    start_connect(u, i);
}

static void on_connect(struct uio *u, int i, int res)
{
    struct uconn *c = &u->conns[i];
    if (c->state != US_CONNECTING) return;
    if (res < 0) {
        conn_kill(u, i, ksock_connect_reason(-res), 0, 0);
        return;
    }
    c->state = US_OPEN;
    c->pend |= NETIO_P_CONNECTED;
    u->cnt[C_CONNECTED]++;
    enqueue(u, i);
    arm_recv(u, i);
    if (c->flags & F_WANT_WR) { /* a send before CONNECTED was refused: WRITABLE follows */
        c->flags &= (uint16_t)~F_WANT_WR;
        c->pend |= NETIO_P_WRITABLE;
    }
}

/* ---- completions ---- */

static void reap(struct uio *u)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&u->ring, head, cqe)
    {
        seen++;
        uint64_t d = cqe->user_data;
        enum uop op = (enum uop)(d >> 56);
        uint32_t i = (uint32_t)(d & 0xffffffu), gen = (uint32_t)(d >> 24) & 0xffffffu;
        if (op == OP_ACCEPT) {
            on_accept(u, i, cqe->res, cqe->flags);
            continue;
        }
        if (op == 0) continue; /* a close nobody waits for */
        if (i >= u->max_conns || u->conns[i].gen != gen || u->conns[i].state == US_FREE) {
            u->cnt[C_STALE_CQES]++;
            continue;
        }
        struct uconn *c = &u->conns[i];
        int done = !(cqe->flags & IORING_CQE_F_MORE);
        switch (op) {
        case OP_SOCKET:
            on_socket(u, (int)i, cqe->res);
            break;
        case OP_CONNECT:
            on_connect(u, (int)i, cqe->res);
            break;
        case OP_RECV:
            on_recv(u, (int)i, cqe->res, cqe->flags);
            break;
        case OP_SEND:
            /* a ZC send's result has F_MORE, its notification ends it */
            on_send(u, (int)i, cqe->res, cqe->flags);
            break;
        case OP_CLOSE:
            c->fidx = -1;
            break;
        default:
            break; /* CANCEL, SOCKOPT */
        }
        if (done && c->inflight) c->inflight--;
        if (c->state == US_ZOMBIE && c->inflight == 0 && c->fidx < 0 && c->next == -2)
            slot_free(u, (int)i); /* lingered for its last CQE */
    }
    io_uring_cq_advance(&u->ring, seen);
    u->cnt[C_CQES] += seen;
}

/* ---- emission ---- */

static inline void *ev_slot(void *drv, int32_t i, uint8_t **pend)
{
    struct uconn *c = &((struct uio *)drv)->conns[i];
    *pend = &c->pend;
    return c;
}

static inline int ev_fill(void *drv, void *slot, struct netio_event *e)
{
    struct uio *u = drv;
    struct uconn *c = slot;
    e->ctx = c->ctx;
    switch (e->type) {
    case NETIO_EV_ACCEPTED:
        e->listener = c->listener;
        e->ctx = u->listeners[c->listener].ctx;
        break;
    case NETIO_EV_READABLE:
        if (c->len == 0 && !(c->flags & F_EOF)) return 0; /* consumed meanwhile */
        if (c->zbid >= 0) {
            e->data = buf_addr(u, c->zbid) + c->off;
            u->cnt[C_RX_ZERO_COPY]++;
        } else {
            e->data = c->lin ? c->lin + c->off : NULL;
        }
        e->len = c->len;
        e->eof = (c->flags & F_EOF) && c->held_head < 0;
        break;
    case NETIO_EV_CLOSED:
        e->reason = (enum netio_close_reason)c->reason;
        c->state = US_ZOMBIE; /* its buffers go back at the next poll: a READABLE
                               * of this batch may still point into one */
        c->next = u->zombie_head;
        u->zombie_head = e->conn;
        break;
    default:
        break;
    }
    return 1;
}

static inline void ev_dequeued(void *slot)
{
    ((struct uconn *)slot)->flags &= (uint16_t)~F_QUEUED;
}

/* Zombies whose CQEs have all come are free; the others linger (next = -2)
 * and reap() frees them with their last CQE. */
static void free_zombies(struct uio *u)
{
    while (u->zombie_head >= 0) {
        int i = u->zombie_head;
        struct uconn *c = &u->conns[i];
        u->zombie_head = c->next;
        rx_release(u, c);
        if (c->inflight == 0 && c->fidx < 0) {
            slot_free(u, i);
        } else {
            c->next = -2;
            if (c->fidx >= 0 && !(c->flags & (F_SENDING | F_FD_CLOSING))) fd_close(u, i);
        }
    }
}

static int u_poll(struct netio *io, struct netio_event *evs, int max, int timeout_us)
{
    struct uio *u = U(io);
    if (!evs || max <= 0) return -1;
    free_zombies(u);
    rearm(u);
    flush_tx(u);
    int wait = !(u->ready.count || u->busy_poll || timeout_us == 0);
    int r = enter(u, wait, timeout_us);
    if (r < 0) return -1;
    reap(u);
    /* completions may have queued sends (rest of a short send) or closes */
    return netio_ready_emit(&u->ready, u, evs, max, ev_slot, ev_fill, ev_dequeued);
}

static void u_flush(struct netio *io)
{
    /* The SQEs only: the next poll's io_uring_enter submits them before it
     * waits, so the batch costs no system call of its own. */
    flush_tx(U(io));
}

/* ---- workload calls ---- */

static ssize_t u_send(struct netio *io, int conn, const void *buf, size_t len)
{
    struct uio *u = U(io);
    struct uconn *c = slot_get(u, conn);
    if (!c) return -1;
    if (c->state == US_CONNECTING) {
        c->flags |= F_WANT_WR;
        return 0;
    }
    if (c->state != US_OPEN) return -1;
    if (len == 0) return 0;
    if (!c->tx) {
        c->tx = malloc(u->o.sndbuf);
        if (!c->tx) {
            u->cnt[C_MEM_ERRORS]++;
            c->flags |= F_WANT_WR;
            return 0;
        }
    }
    uint32_t cap = u->o.sndbuf;
    if (c->txt + len > cap && c->txh > 0 && !(c->flags & F_SENDING)) {
        /* nothing in flight: the queued bytes may move to the front */
        memmove(c->tx, c->tx + c->txh, c->txt - c->txh);
        c->txt -= c->txh;
        c->txh = 0;
    }
    size_t n = cap - c->txt;
    if (n > len) n = len;
    if (n < len) {
        u->cnt[C_TX_FULL]++;
        c->flags |= F_WANT_WR;
    }
    memcpy(c->tx + c->txt, buf, n);
    c->txt += (uint32_t)n;
    if (n) txq_push(u, conn);
    return (ssize_t)n;
}

static void u_consume(struct netio *io, int conn, size_t n)
{
    struct uio *u = U(io);
    struct uconn *c = slot_get(u, conn);
    if (!c || (c->state != US_OPEN && c->state != US_DEAD)) return;
    if (n > c->len) n = c->len;
    c->off += (uint32_t)n;
    c->len -= (uint32_t)n;
    if (c->len == 0) {
        if (c->zbid >= 0) buf_return(u, c->zbid); /* the buffer goes back on consume */
        c->zbid = -1;
        c->off = 0;
    }
    if (!n) return;
    if (c->held_head >= 0) {
        pull_held(u, c);
        c->pend |= NETIO_P_READABLE;
        enqueue(u, conn);
    }
    if (c->state == US_OPEN && (c->flags & F_RX_STOP) && c->held_head < 0 &&
        !(c->flags & (F_RX_ARMED | F_EOF))) {
        c->flags &= (uint16_t)~F_RX_STOP;
        arm_recv(u, conn);
    }
    if (c->len && c->state == US_OPEN) { /* leftovers are shown again (netio.h) */
        c->pend |= NETIO_P_READABLE;
        enqueue(u, conn);
    }
}

static void u_set_ctx(struct netio *io, int conn, void *ctx)
{
    struct uconn *c = slot_get(U(io), conn);
    if (c && c->state != US_FREE) c->ctx = ctx;
}

static void u_close(struct netio *io, int conn)
{
    struct uio *u = U(io);
    struct uconn *c = slot_get(u, conn);
    if (!c) return;
    conn_kill(u, conn, (c->flags & F_EOF) ? NETIO_CLOSE_PEER_FIN : NETIO_CLOSE_LOCAL, 1, 0);
}

static void u_abort(struct netio *io, int conn)
{
    struct uio *u = U(io);
    struct uconn *c = slot_get(u, conn);
    if (!c) return;
    conn_kill(u, conn, NETIO_CLOSE_LOCAL, 1, 1);
}

static int u_connect(struct netio *io, const struct sockaddr_in *dst, void *ctx, char *err,
                     size_t errlen)
{
    struct uio *u = U(io);
    int i = slot_alloc(u);
    if (i < 0) {
        snprintf(err, errlen, "io_uring: connection table full (%u)", u->max_conns);
        return -1;
    }
    struct uconn *c = &u->conns[i];
    c->ctx = ctx;
    c->peer = *dst;
    struct io_uring_sqe *s = sqe_get(u);
    if (!s) {
        snprintf(err, errlen, "io_uring: connect: submission queue full");
        slot_free(u, i);
        return -1;
    }
    io_uring_prep_socket_direct_alloc(s, AF_INET, SOCK_STREAM, 0, 0);
    io_uring_sqe_set_data64(s, tag(OP_SOCKET, c->gen, (uint32_t)i));
    c->inflight++;
    c->state = US_CONNECTING;
    return i;
}

static int u_listen(struct netio *io, const struct sockaddr_in *addr, void *ctx, char *err,
                    size_t errlen)
{
    struct uio *u = U(io);
    char a[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &addr->sin_addr, a, sizeof(a));
    if (u->nlisteners >= UMAX_LISTENERS) {
        snprintf(err, errlen, "io_uring: listen %s:%u: too many listeners (max %d)", a,
                 ntohs(addr->sin_port), UMAX_LISTENERS);
        return -1;
    }
    u->cnt[SYS_SOCKET]++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "io_uring: listen %s:%u: socket: %s", a, ntohs(addr->sin_port),
                 strerror(errno));
        return -1;
    }
    const char *what = NULL;
    int one = 1;
    u->cnt[SYS_SETSOCKOPT] += 3;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        what = "setsockopt(SO_REUSEADDR)";
    else if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        what = "setsockopt(SO_REUSEPORT)";
    else if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        what = "setsockopt(TCP_NODELAY)"; /* accepted sockets inherit it */
    else if (u->cnt[SYS_BIND]++, bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
        what = "bind";
    else if (u->cnt[SYS_LISTEN]++, listen(fd, 65535) < 0)
        what = "listen";
    if (what) {
        int e = errno;
        snprintf(err, errlen, "io_uring: listen %s:%u: %s: %s", a, ntohs(addr->sin_port), what,
                 strerror(e));
        u->cnt[SYS_CLOSE]++;
        close(fd);
        errno = e; /* callers may retry another port on EADDRINUSE */
        return -1;
    }
    int li = u->nlisteners++;
    u->listeners[li].fd = fd;
    u->listeners[li].ctx = ctx;
    arm_accept(u, li);
    return li;
}

static int u_counters(struct netio *io, struct netio_counter *out, int max)
{
    struct uio *u = U(io);
    int n = 0;
    uint64_t total = 0;
    for (int j = 0; j < SYS__COUNT; j++)
        total += u->cnt[j];
    u->cnt[C_BUFS_HELD] = u->bufs_out;
    if (n < max) out[n++] = (struct netio_counter){"syscalls", total};
    for (int j = 0; j < C__COUNT && n < max; j++)
        out[n++] = (struct netio_counter){ucnt_names[j], u->cnt[j]};
    return n;
}

/* ---- lifecycle ---- */

static void u_destroy(struct netio *io)
{
    struct uio *u = U(io);
    if (!u) return;
    if (u->ring_ok) io_uring_queue_exit(&u->ring); /* closes the registered files too */
    for (int j = 0; j < u->nlisteners; j++)
        close(u->listeners[j].fd);
    if (u->conns) {
        for (uint32_t i = 0; i < u->max_conns; i++) {
            free(u->conns[i].lin);
            free(u->conns[i].tx);
        }
    }
    if (u->br) munmap(u->br, u->br_len);
    free(u->bufmem);
    free(u->bnext);
    free(u->blen);
    free(u->conns);
    netio_ring_fini(&u->ready);
    netio_ring_fini(&u->txq);
    netio_ring_fini(&u->armq);
    free(u);
}

/* An 8-buffer ring registered as group 0 (doctor's test), or NULL and *e. */
static struct io_uring_buf_ring *io_uring_setup_buf_ring_compat(struct io_uring *ring, int *e)
{
    size_t l = 8 * sizeof(struct io_uring_buf);
    void *m = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (m == MAP_FAILED) return *e = errno, NULL;
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)m, .ring_entries = 8};
    int r = io_uring_register_buf_ring(ring, &reg, 0);
    if (r < 0) {
        munmap(m, l);
        return *e = -r, NULL;
    }
    return m;
}

/* The ops the driver needs, by name, for probe and doctor. */
static const struct {
    int op;
    const char *name;
} needed_ops[] = {
    {IORING_OP_ACCEPT, "ACCEPT"},       {IORING_OP_RECV, "RECV"},
    {IORING_OP_SEND, "SEND"},           {IORING_OP_SEND_ZC, "SEND_ZC"},
    {IORING_OP_SOCKET, "SOCKET"},       {IORING_OP_CONNECT, "CONNECT"},
    {IORING_OP_CLOSE, "CLOSE"},         {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    {IORING_OP_URING_CMD, "URING_CMD"},
};

int netio_io_uring_features(char *buf, size_t len)
{
    struct io_uring_probe *p = io_uring_get_probe();
    if (!p) {
        snprintf(buf, len,
                 "io_uring_get_probe failed (io_uring disabled? kernel.io_uring_disabled)");
        return -1;
    }
    size_t off = 0;
    int missing = 0;
    buf[0] = '\0';
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int w_ = snprintf(buf + off, len > off ? len - off : 0, __VA_ARGS__);                      \
        if (w_ > 0) off += (size_t)w_;                                                             \
    } while (0)
    for (size_t j = 0; j < sizeof(needed_ops) / sizeof(needed_ops[0]); j++) {
        int ok = io_uring_opcode_supported(p, needed_ops[j].op);
        missing += !ok;
        APPEND("%s%s %s", j ? ", " : "ops: ", needed_ops[j].name, ok ? "yes" : "NO");
    }
    io_uring_free_probe(p);
    /* features no probe lists: try them on a small ring */
    struct io_uring ring;
    struct io_uring_params prm;
    memset(&prm, 0, sizeof(prm));
    prm.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int r = io_uring_queue_init_params(8, &ring, &prm);
    APPEND("; SINGLE_ISSUER|DEFER_TASKRUN %s", r == 0 ? "yes" : strerror(-r));
    if (r == 0) {
        int e = 0;
        struct io_uring_buf_ring *br = io_uring_setup_buf_ring_compat(&ring, &e);
        APPEND(", provided buffer ring %s", br ? "yes" : strerror(e));
        if (br) munmap(br, 8 * sizeof(struct io_uring_buf));
        struct u_napi n = {.busy_poll_to = 1};
        r = io_uring_register((unsigned)ring.ring_fd, U_REGISTER_NAPI, &n, 1);
        APPEND(", NAPI busy poll %s", r == 0 ? "yes" : strerror(-r));
        io_uring_queue_exit(&ring);
    }
    memset(&prm, 0, sizeof(prm));
    prm.flags = IORING_SETUP_SQPOLL;
    prm.sq_thread_idle = 10;
    r = io_uring_queue_init_params(8, &ring, &prm);
    APPEND(", SQPOLL %s", r == 0 ? "yes" : strerror(-r));
    if (r == 0) io_uring_queue_exit(&ring);
#undef APPEND
    return missing ? -1 : 0;
}

static int u_probe(char *err, size_t errlen)
{
    char ops[512];
    if (netio_io_uring_features(ops, sizeof(ops)) < 0) {
        snprintf(err, errlen, "io_uring: this kernel lacks ops the driver needs: %s", ops);
        return -1;
    }
    return 0;
}

static int setup_ring(struct uio *u, char *err, size_t errlen)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = u->o.entries * 8;
    if (u->o.sqpoll) {
        p.flags |= IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF;
        p.sq_thread_cpu = (uint32_t)u->o.sqpoll_cpu;
        p.sq_thread_idle = 1000; /* ms before the thread sleeps */
        u->sqpoll = 1;
    } else {
        p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    }
    u->cnt[SYS_IO_URING_SETUP]++;
    int r = io_uring_queue_init_params(u->o.entries, &u->ring, &p);
    if (r < 0) {
        snprintf(err, errlen, "io_uring: io_uring_queue_init(%u entries%s): %s", u->o.entries,
                 u->sqpoll ? ", SQPOLL" : "", strerror(-r));
        return -1;
    }
    u->ring_ok = 1;
    if (!(p.features & IORING_FEAT_EXT_ARG)) {
        snprintf(err, errlen, "io_uring: the kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11)");
        return -1;
    }
    /* The kernel caps a file table at RLIMIT_NOFILE: a larger connection
     * table gets accepts failing with ENFILE (accept_errors) past it. */
    struct rlimit rl;
    u->nfiles = u->max_conns;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < u->nfiles)
        u->nfiles = (uint32_t)rl.rlim_cur;
    u->cnt[SYS_IO_URING_REGISTER]++;
    r = io_uring_register_files_sparse(&u->ring, u->nfiles);
    if (r < 0) {
        snprintf(err, errlen, "io_uring: register %u sparse files: %s (RLIMIT_NOFILE %llu)",
                 u->nfiles, strerror(-r), (unsigned long long)rl.rlim_cur);
        return -1;
    }
    /* the provided buffer ring */
    u->br_len = (size_t)u->nbufs * sizeof(struct io_uring_buf);
    void *m = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "io_uring: buffer ring of %u: %s", u->nbufs, strerror(errno));
        return -1;
    }
    u->br = m;
    if (posix_memalign((void **)&u->bufmem, 4096, (size_t)u->nbufs * u->bufsz) != 0) {
        u->bufmem = NULL;
        snprintf(err, errlen, "io_uring: out of memory for %u buffers of %u", u->nbufs, u->bufsz);
        return -1;
    }
    io_uring_buf_ring_init(u->br);
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)u->br, .ring_entries = u->nbufs, .bgid = UBGID};
    u->cnt[SYS_IO_URING_REGISTER]++;
    r = io_uring_register_buf_ring(&u->ring, &reg, 0);
    if (r < 0) {
        snprintf(err, errlen, "io_uring: register buffer ring: %s (Linux 5.19)", strerror(-r));
        return -1;
    }
    for (uint32_t b = 0; b < u->nbufs; b++)
        io_uring_buf_ring_add(u->br, buf_addr(u, (int32_t)b), u->bufsz, (unsigned short)b,
                              io_uring_buf_ring_mask(u->nbufs), (int)b);
    io_uring_buf_ring_advance(u->br, (int)u->nbufs);
    if (u->o.napi_us) {
        struct u_napi n = {.busy_poll_to = u->o.napi_us, .prefer_busy_poll = (uint8_t)u->o.prefer};
        u->cnt[SYS_IO_URING_REGISTER]++;
        r = io_uring_register((unsigned)u->ring.ring_fd, U_REGISTER_NAPI, &n, 1);
        if (r < 0) {
            snprintf(err, errlen,
                     "io_uring: napi_busy_poll=%u: IORING_REGISTER_NAPI: %s (Linux 6.9)",
                     u->o.napi_us, strerror(-r));
            return -1;
        }
    }
    return 0;
}

static struct netio *u_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    static const struct netio_config defaults = {.cpu = -1};
    if (!cfg) cfg = &defaults;
    struct uopts o;
    const struct opt_set set = {uring_opt_defs, &o};
    if (opts_parse("io_uring", cfg->opts, &set, 1, NULL, err, errlen) < 0) return NULL;
    size_t maxc = cfg->max_conns ? cfg->max_conns : UDEF_CONNS;
    size_t rxb = cfg->rx_buf ? cfg->rx_buf : UDEF_RXBUF;
    if (maxc > UMAX_CONNS) {
        snprintf(err, errlen, "io_uring: max_conns %zu too large (max %u)", maxc, UMAX_CONNS);
        return NULL;
    }
    if (rxb > UMAX_RXBUF) {
        snprintf(err, errlen, "io_uring: rx_buf %zu too large (max %u)", rxb, UMAX_RXBUF);
        return NULL;
    }
    if (o.bufs & (o.bufs - 1)) {
        snprintf(err, errlen, "io_uring: bufs=%u is not a power of two", o.bufs);
        return NULL;
    }
    if (netio_pin_cpu(cfg->cpu, err, errlen) < 0) return NULL;
    struct uio *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "io_uring: out of memory");
        return NULL;
    }
    u->base.ops = &netio_io_uring_ops;
    u->o = o;
    u->busy_poll = cfg->busy_poll;
    u->max_conns = (uint32_t)maxc;
    u->rxcap = (uint32_t)rxb;
    u->bufsz = o.buf_size < u->rxcap ? o.buf_size : u->rxcap; /* one buffer always fits lin */
    u->nbufs = o.bufs;
    u->zombie_head = -1;
    u->conns = calloc(maxc, sizeof(*u->conns));
    u->bnext = calloc(u->nbufs, sizeof(*u->bnext));
    u->blen = calloc(u->nbufs, sizeof(*u->blen));
    int r1 = netio_ring_init(&u->ready, (uint32_t)maxc);
    int r2 = netio_ring_init(&u->txq, (uint32_t)maxc);
    int r3 = netio_ring_init(&u->armq, (uint32_t)maxc);
    if (!u->conns || !u->bnext || !u->blen || r1 < 0 || r2 < 0 || r3 < 0) {
        snprintf(err, errlen, "io_uring: out of memory for %zu connections", maxc);
        u_destroy(&u->base);
        return NULL;
    }
    for (uint32_t i = 0; i < u->max_conns; i++) {
        u->conns[i].fidx = -1;
        u->conns[i].next = (uint32_t)i + 1 < u->max_conns ? (int)i + 1 : -1;
    }
    u->free_head = 0;
    if (setup_ring(u, err, errlen) < 0) {
        u_destroy(&u->base);
        return NULL;
    }
    u->cnt[C_CFG_SQPOLL] = (uint64_t)o.sqpoll;
    u->cnt[C_CFG_SQPOLL_CPU] = (uint64_t)o.sqpoll_cpu;
    u->cnt[C_CFG_NAPI_US] = o.napi_us;
    u->cnt[C_CFG_ZC_THRESHOLD] = o.zc_threshold;
    u->cnt[C_CFG_BUFS] = u->nbufs;
    u->cnt[C_CFG_FILES] = u->nfiles;
    u->cnt[C_CFG_BUF_SIZE] = u->bufsz;
    return &u->base;
}

const struct netio_ops netio_io_uring_ops = {
    .name = "io_uring",
    .help = "kernel TCP sockets through io_uring: multishot accept and recv into a provided "
            "buffer ring, batched sends, registered files",
    .opts = uring_opt_groups,
    .probe = u_probe,
    .open = u_open,
    .destroy = u_destroy,
    .listen = u_listen,
    .connect = u_connect,
    .poll = u_poll,
    .flush = u_flush,
    .send = u_send,
    .consume = u_consume,
    .set_ctx = u_set_ctx,
    .close = u_close,
    .abort = u_abort,
    .counters = u_counters,
};

#endif /* HAVE_LIBURING */
