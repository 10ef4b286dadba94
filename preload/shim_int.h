/*
 * shim_int.h — the preload library's internals shared by its files
 * (shim.c: state, stack glue, socket calls; shim_wait.c: poll, select and
 * epoll over stack and kernel descriptors together).
 *
 * Threads: one lock (G.lock) guards the stack and every object of ours; the
 * thread that calls in polls the stack while holding it ("the stack is
 * polled by the calling thread under one lock"). Waiting never holds it.
 * in_shim marks a thread inside the stack: the stack's own system calls
 * (its AF_PACKET socket, poll, sendto kicks) reach our wrappers and must go
 * straight to the kernel.
 */
#ifndef BB_PRELOAD_SHIM_INT_H
#define BB_PRELOAD_SHIM_INT_H

#include "drivers/netio.h"
#include "preload/fdtab.h"
#include "preload/pepoll.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

enum ps_state {
    PS_BOUND = 1,   /* bound to the stack's address, neither listening nor connected */
    PS_LISTEN,      /* a listener of the stack (h = its listener index) */
    PS_CONNECTING,  /* active open under way (h = connection handle) */
    PS_CONN,        /* established (h = connection handle) */
    PS_CLOSED,      /* the stack's connection is gone (reset, failed, finished) */
};

/* A socket of our stack. */
struct psock {
    struct pobj hdr;  /* kind POBJ_SOCK */
    int state;        /* enum ps_state */
    int h;            /* stack handle (connection or listener), -1 none */
    uint32_t lid;     /* listener: the id its netio ctx carries */
    int nonblock;     /* O_NONBLOCK of the open file (shared by its dups, as Linux) */
    int shut_rd, shut_wr;
    int so_error;     /* pending error (SO_ERROR, next call) */
    int reason;       /* PS_CLOSED: enum netio_close_reason */
    uint64_t gen;     /* bumped on every event: edge-triggered epoll reports anew */
    uint32_t last_mask; /* readiness when last computed: a rising bit is an event too */
    struct sockaddr_in local, peer;
    struct linger linger;
    int64_t rcvtimeo_ns, sndtimeo_ns; /* 0: forever */
    int *aq;          /* listener: accepted handles not yet taken by accept() */
    int aq_head, aq_n, aq_cap;
    uint8_t *keep;    /* PS_CLOSED: bytes received before the reset, not read yet */
    size_t keep_len, keep_off;
    struct sf_pin *pins;
    size_t sndbuf_lim; /* SO_SNDBUF set: bytes queued at most (0: the stack's send buffer) */
    int sndbuf_set, rcvbuf_set; /* SO_SNDBUF / SO_RCVBUF set by the program (Linux's *_LOCK) */
    int opts_set;      /* an option apply_opts/inherit_opts look at was set: read them */
    int64_t defer_ns;  /* listener: TCP_DEFER_ACCEPT, 0 off */
    int *dq;           /* listener, TCP_DEFER_ACCEPT: established handles waiting for data */
    int64_t *dq_t;     /* ... and when their wait ends */
    int dq_n, dq_cap; /* file mappings the stack still reads for this socket (sendfile) */
};

struct shim_stats {
    uint64_t pumps, waits, wait_spin_hits, wait_sleeps, wait_sleep_ns, wait_sleep_hits;
    uint64_t accepts, connects, recv_calls, recv_bytes, send_calls, send_bytes, sendfile_bytes;
    uint64_t sendfile_mapped_bytes, sendfile_maps, sendfile_unmaps, sendfile_read_bytes;
    uint64_t eagain_recv, eagain_send, fork_refusals, unknown_opts;
};

struct shim {
    pthread_mutex_t lock;
    int configured; /* the environment names a driver and an address */
    int failed;     /* opening the stack failed (said once) */
    int child;      /* this is a fork()ed child: the stack is the parent's */
    pid_t pid;
    struct netio *io;
    struct in_addr ip; /* network order */
    uint32_t mask;     /* network order */
    int wait_fd;
    int64_t spin_ns;
    struct psock **byh; /* connection handle -> socket */
    uint32_t nbyh;
    struct psock *lis[64]; /* listeners, by netio listener index */
    uint32_t next_lid;
    struct shim_stats st;
};

extern struct shim G;
extern __thread int in_shim;

/* Real functions (dlsym RTLD_NEXT), resolved on first use. */
void *shim_real(const char *name);
/* glibc's own verdict on a failed _FORTIFY_SOURCE check ("*** buffer
 * overflow detected ***", then abort): what the wrapped __*_chk call would
 * have done, so a stack socket fails the check as a kernel one does. */
extern void __chk_fail(void) __attribute__((noreturn));
#define REAL(fn) ((__typeof__(&fn))shim_real_cached(&real_##fn, #fn))
static inline void *shim_real_cached(void **slot, const char *name)
{
    void *p = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (!p) {
        p = shim_real(name);
        __atomic_store_n(slot, p, __ATOMIC_RELAXED);
    }
    return p;
}

void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shim_lock(void);
void shim_unlock(void);
/* Runs the stack once and handles its events (lock held). */
void shim_pump(void);
/* Readiness of a socket as EPOLL* bits; bumps gen on a rising bit (lock held). */
uint32_t ps_ready(struct psock *ps);
uint32_t ps_ready_fn(struct pobj *o, uint64_t *gen);
void shim_release(struct pobj *o);
/* A forked child touching a socket of the parent's stack: say so, EBADFD. */
int shim_child_refuse(int fd, const char *call);
int64_t shim_now_ns(void);

/* The wait loop (shim_wait.c): runs `check` (lock held, after a pump) until it
 * returns non-zero, the kernel descriptors in kfds[0..nk) have events, or
 * timeout_ns passes (-1: forever). kfds must have room for one more entry.
 * kcheck = 0: check looks at the kernel descriptors itself (epoll: one
 * epoll_wait without waiting), kfds are only slept on. Returns check's value
 * (> 0 or < 0), 0 on timeout, or -1 with errno (EINTR); *kready = the kernel
 * poll's count. */
/* shim.c helpers shared with shim_sendfile.c (lock held where they take ps). */
/* Bytes ps may queue now: the stack's free send space, within SO_SNDBUF. */
size_t ps_tx_room(struct psock *ps);
int unlock_fail(int e); /* releases the lock, errno = e, -1 */
void ps_seen_unready(struct psock *ps, uint32_t bits);
int ps_wait(struct psock *ps, uint32_t mask, int64_t timeout_ns);
void sigpipe(int flags); /* raises SIGPIPE unless flags has MSG_NOSIGNAL */
int send_state(struct psock *ps, int *wait);
/* A send found no room after a pump (lock held): 0 = room came (retry),
 * 1 = return the `sent` bytes (non-blocking, or the wait ended), -1 = fail
 * (EAGAIN, EINTR, the timeout; lock released, errno set). */
int ps_send_wait(struct psock *ps, int nonblock, size_t sent);

/* sendfile (shim_sendfile.c): a regular file's range goes to the stack by
 * reference (netio_send_ref) from a cached read-only mapping, pinned until
 * the stack has no more use for it (ustack_tx_released). Lock held,
 * released on return. */
ssize_t ps_sendfile(struct psock *ps, int in_fd, off_t *offset, size_t count);
/* ps lets go of its stack connection: its pins wait on the stack alone. */
void sf_orphan(struct psock *ps);
/* Unpins what the stack no longer reads (every few pumps). */
void sf_reap(void);

typedef int (*shim_check_fn)(void *arg);
int shim_wait(shim_check_fn check, void *arg, int64_t timeout_ns, struct pollfd *kfds, nfds_t nk,
              int kcheck, const sigset_t *sigmask, int *kready);

#endif
