/*
 * shim.c — libbbpreload.so: the socket calls of an unmodified, dynamically
 * linked program served by our user-space stack (issue 17). Loaded with
 * LD_PRELOAD by `bypassbench exec` (harness/cli/exec.c), configured by the
 * environment:
 *
 *   BB_PRELOAD_DRIVER  afpacket | afxdp | dpdk (a netio backend over our stack)
 *   BB_PRELOAD_IP      ADDR/LEN, the stack's address and on-link prefix
 *   BB_PRELOAD_IFACE   the interface (afpacket, afxdp)
 *   BB_PRELOAD_OPTS    driver options, key=value, one per line (values may
 *                      hold commas: vdev=net_tap0,iface=t0)
 *   BB_PRELOAD_SPIN_US how long a waiting call spins before it sleeps (default 20)
 *   BB_PRELOAD_LOG     where the library's messages go: unset = stderr,
 *                      "off" = nowhere, else a file (appended)
 *   BB_PRELOAD_STATS   a file that gets the library's and the stack's
 *                      counters ("name value" lines) when the program exits
 *
 * Which sockets are ours: an AF_INET SOCK_STREAM socket becomes a socket of
 * the stack when it binds to the stack's address or to INADDR_ANY, or when it
 * connects to an address inside the stack's prefix other than the stack's
 * own. Everything else (other addresses, IPv6, UDP, Unix sockets, files,
 * pipes, eventfd, timerfd, signalfd) stays with the kernel untouched.
 *
 * Descriptors: the socket() the program made is a real kernel TCP socket and
 * stays open as the placeholder of its number (an accepted socket gets a new
 * one): the kernel's numbering, limits, FD_SETSIZE, /proc/self/fd, dup and
 * fcntl see a socket; close closes it. Socket options go to the placeholder
 * first, so the kernel accepts or refuses them exactly as Linux does and
 * getsockopt reads them back; the few that change our behaviour are kept
 * too (SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO), options without an effect on
 * our stack are logged once each.
 *
 * Threads: the stack is polled by whichever thread calls in, under one lock
 * (shim_int.h). A stack thread on a core of its own (Light's split) would
 * need a lock-free queue between it and the application for every call;
 * with 2 cores here it would also take one of them away from the program.
 * Processes: the stack lives in the process that opened it. A fork()ed
 * child that touches one of its sockets gets EBADFD and a message naming
 * the descriptor; closing them is allowed (nginx: master_process off;
 * redis: no background saves).
 *
 * Blocking: a call that must wait polls the stack (and the kernel
 * descriptors of the wait) for BB_PRELOAD_SPIN_US, then sleeps in poll(2)
 * on the kernel descriptors plus the stack's packet socket (afpacket, afxdp:
 * a frame wakes it at once) for at most 1 ms at a time, the stack's timer
 * granularity; dpdk, which has no such descriptor, sleeps 50 us at a time.
 */
#include "preload/shim_int.h"

#include "drivers/ustack/ustack_query.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

struct shim G = {.lock = PTHREAD_MUTEX_INITIALIZER, .wait_fd = -1, .spin_ns = 20000};
__thread int in_shim;

/* ---- real functions ---- */

static void *real_socket, *real_bind, *real_listen, *real_accept4, *real_connect,
    *real_getsockname, *real_getpeername, *real_setsockopt, *real_getsockopt, *real_ioctl,
    *real_fcntl, *real_fcntl64, *real_read, *real_write, *real_readv, *real_writev, *real_recv,
    *real_recvfrom, *real_recvmsg, *real_send, *real_sendto, *real_sendmsg, *real_sendfile,
    *real_sendfile64, *real_shutdown, *real_close, *real_dup, *real_dup2, *real_dup3,
    *real___read_chk, *real___recv_chk, *real___recvfrom_chk;

void *shim_real(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) {
        /* nothing sensible can follow: the C library lacks a socket call */
        static const char m[] = "bbpreload: the C library has no symbol for a wrapped call\n";
        ssize_t w = write(2, m, sizeof(m) - 1);
        (void)w;
        abort();
    }
    return p;
}

/* ---- logging ---- */

/* The configuration, copied at load: programs rewrite their environment
 * (nginx keeps only TZ), and the stack opens later, at the first bind. */
static struct {
    char *driver, *ip, *iface, *opts, *stats, *log;
} env;


static int log_fd = -2; /* -2: not decided yet, -1: off */

void shim_log(const char *fmt, ...)
{
    if (log_fd == -2) {
        const char *d = env.log;
        if (!d || !*d || strcmp(d, "stderr") == 0)
            log_fd = 2;
        else if (strcmp(d, "off") == 0)
            log_fd = -1;
        else
            log_fd = open(d, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    if (log_fd < 0) return;
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "bbpreload[%d]: ", (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 2) n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t w = REAL(write)(log_fd, buf, (size_t)n);
    (void)w;
}

/* ---- lock, clock ---- */

void shim_lock(void)
{
    pthread_mutex_lock(&G.lock);
    in_shim++;
}

void shim_unlock(void)
{
    in_shim--;
    pthread_mutex_unlock(&G.lock);
}

int64_t shim_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- configuration and the stack ---- */

static void on_fork_child(void)
{
    G.child = 1;
    pthread_mutex_init(&G.lock, NULL); /* the parent's holder does not exist here */
    in_shim = 0;
}

static void shim_exit(void);

static char *env_copy(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

__attribute__((constructor)) static void shim_init(void)
{
    G.pid = getpid();
    env.driver = env_copy("BB_PRELOAD_DRIVER");
    env.ip = env_copy("BB_PRELOAD_IP");
    env.iface = env_copy("BB_PRELOAD_IFACE");
    env.opts = env_copy("BB_PRELOAD_OPTS");
    env.stats = env_copy("BB_PRELOAD_STATS");
    env.log = env_copy("BB_PRELOAD_LOG");
    if (fdtab_init() < 0) {
        shim_log("cannot reserve the descriptor table: the stack stays off");
        return;
    }
    pthread_atfork(NULL, NULL, on_fork_child);
    const char *drv = env.driver, *ip = env.ip;
    if (!drv || !*drv || !ip || !*ip) return; /* loaded without configuration: all kernel */
    const char *slash = strchr(ip, '/');
    char a[64];
    size_t n = slash ? (size_t)(slash - ip) : 0;
    long plen = slash ? strtol(slash + 1, NULL, 10) : -1;
    if (!slash || n >= sizeof(a) || plen < 1 || plen > 32) {
        shim_log("BB_PRELOAD_IP '%s' is not ADDR/LEN: the stack stays off", ip);
        return;
    }
    memcpy(a, ip, n);
    a[n] = 0;
    if (inet_pton(AF_INET, a, &G.ip) != 1) {
        shim_log("BB_PRELOAD_IP '%s': bad IPv4 address: the stack stays off", ip);
        return;
    }
    G.mask = htonl(plen == 32 ? 0xffffffffu : ~(0xffffffffu >> plen));
    const char *spin = getenv("BB_PRELOAD_SPIN_US");
    if (spin && *spin) G.spin_ns = strtoll(spin, NULL, 10) * 1000;
    G.configured = 1;
    atexit(shim_exit);
}

/* The stack, opened on first use (lock held); NULL when it cannot be. */
static struct netio *stack(void)
{
    if (G.io || G.failed || !G.configured || G.child) return G.io;
    char *opts_s = env.opts ? strdup(env.opts) : NULL;
    const char *opts[64];
    int no = 0;
    for (char *save = NULL, *t = opts_s ? strtok_r(opts_s, "\n", &save) : NULL; t && no < 63;
         t = strtok_r(NULL, "\n", &save))
        opts[no++] = t;
    opts[no] = NULL;
    struct netio_config cfg = {.cpu = -1,
                               .iface = env.iface,
                               .ip = env.ip,
                               .opts = opts};
    char err[512] = "";
    G.io = netio_open(env.driver, &cfg, err, sizeof(err));
    free(opts_s);
    if (!G.io || !ustack_is(G.io)) {
        shim_log("cannot open driver '%s' (ip %s, iface %s): %s", env.driver,
                 cfg.ip, cfg.iface ? cfg.iface : "-", G.io ? "not our stack" : err);
        if (G.io) netio_destroy(G.io);
        G.io = NULL;
        G.failed = 1;
        return NULL;
    }
    G.wait_fd = ustack_wait_fd(G.io);
    return G.io;
}

static int is_stack_local(const struct sockaddr_in *a)
{
    return a->sin_addr.s_addr == G.ip.s_addr || a->sin_addr.s_addr == htonl(INADDR_ANY);
}

static int is_stack_remote(const struct sockaddr_in *a)
{
    return a->sin_addr.s_addr != G.ip.s_addr &&
           (a->sin_addr.s_addr & G.mask) == (G.ip.s_addr & G.mask);
}

/* Whether kernel descriptor fd is an AF_INET TCP socket (one system call each). */
static int is_tcp4(int fd)
{
    int v = 0;
    socklen_t l = sizeof(v);
    if (REAL(getsockopt)(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_INET) return 0;
    l = sizeof(v);
    if (REAL(getsockopt)(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) < 0 || v != IPPROTO_TCP) return 0;
    return 1;
}

/* ---- sockets ---- */

static struct psock *ps_new(int state)
{
    struct psock *ps = calloc(1, sizeof(*ps));
    if (!ps) return NULL;
    ps->hdr.kind = POBJ_SOCK;
    ps->state = state;
    ps->h = -1;
    ps->gen = 1;
    return ps;
}

/* Something happened on ps: edge-triggered items report anew, and its
 * epoll items go on their ready lists. */
static void ps_event(struct psock *ps)
{
    ps->gen++;
    pep_notify(&ps->hdr);
}

static int byh_set(int h, struct psock *ps)
{
    if ((uint32_t)h >= G.nbyh) {
        uint32_t n = G.nbyh ? G.nbyh : 1024;
        while (n <= (uint32_t)h)
            n *= 2;
        struct psock **b = realloc(G.byh, n * sizeof(*b));
        if (!b) return -1;
        memset(b + G.nbyh, 0, (n - G.nbyh) * sizeof(*b));
        G.byh = b;
        G.nbyh = n;
    }
    G.byh[h] = ps;
    return 0;
}

static struct psock *byh_get(int h)
{
    return (uint32_t)h < G.nbyh ? G.byh[h] : NULL;
}

static void set_closed(struct psock *ps, int reason)
{
    int was_connecting = ps->state == PS_CONNECTING;
    if (ps->h >= 0 && ps->state != PS_LISTEN) byh_set(ps->h, NULL);
    sf_orphan(ps);
    ps->state = PS_CLOSED;
    ps->h = -1;
    ps->reason = reason;
    switch (reason) {
    case NETIO_CLOSE_RESET:
        ps->so_error = was_connecting ? ECONNREFUSED : ECONNRESET;
        break;
    case NETIO_CLOSE_CONNECT_FAILED:
        ps->so_error = ECONNREFUSED;
        break;
    case NETIO_CLOSE_TIMEOUT:
        ps->so_error = ETIMEDOUT;
        break;
    case NETIO_CLOSE_ERROR:
        ps->so_error = EIO;
        break;
    default:
        break;
    }
    ps_event(ps);
}

/* The stack's CLOSED for an open socket (a reset, a timeout): the bytes
 * that had arrived and were not read yet stay readable, before the error,
 * as tcp_recvmsg reads its queue before it looks at sk_err. */
static void keep_unread(struct psock *ps, int h)
{
    const uint8_t *d;
    size_t len;
    if (ps->shut_rd || ustack_rx_left(G.io, h, &d, &len) < 0 || !len) return;
    uint8_t *k = malloc(len);
    if (!k) return; /* out of memory: the error alone, as before */
    memcpy(k, d, len);
    free(ps->keep);
    ps->keep = k;
    ps->keep_len = len;
    ps->keep_off = 0;
}

/* A handle that left before accept() took it: out of its listener's queue. */
static void aq_forget(int h)
{
    for (unsigned l = 0; l < sizeof(G.lis) / sizeof(G.lis[0]); l++) {
        struct psock *ls = G.lis[l];
        if (!ls) continue;
        for (int k = 0; k < ls->aq_n; k++) {
            int idx = (ls->aq_head + k) % ls->aq_cap;
            if (ls->aq[idx] != h) continue;
            for (int j = k; j + 1 < ls->aq_n; j++) /* close the gap, keep the order */
                ls->aq[(ls->aq_head + j) % ls->aq_cap] = ls->aq[(ls->aq_head + j + 1) % ls->aq_cap];
            ls->aq_n--;
            return;
        }
    }
}

static struct psock *listener_by_id(void *ctx)
{
    uint32_t id = (uint32_t)(uintptr_t)ctx;
    for (unsigned l = 0; l < sizeof(G.lis) / sizeof(G.lis[0]); l++)
        if (G.lis[l] && G.lis[l]->lid == id) return G.lis[l];
    return NULL;
}

static int aq_push(struct psock *ls, int h)
{
    if (ls->aq_n == ls->aq_cap) {
        int cap = ls->aq_cap ? 2 * ls->aq_cap : 64;
        int *q = malloc((size_t)cap * sizeof(*q));
        if (!q) return -1;
        for (int k = 0; k < ls->aq_n; k++)
            q[k] = ls->aq[(ls->aq_head + k) % ls->aq_cap];
        free(ls->aq);
        ls->aq = q;
        ls->aq_head = 0;
        ls->aq_cap = cap;
    }
    ls->aq[(ls->aq_head + ls->aq_n) % ls->aq_cap] = h;
    ls->aq_n++;
    return 0;
}

/* TCP_DEFER_ACCEPT: an established connection waits on its listener's
 * deferred list until data (or the peer's FIN) arrives or the period ends,
 * then joins the accept queue. Linux keeps it a half-open request and
 * resends the SYN-ACK meanwhile; here the peer sees it established at once,
 * accept() waits the same way. */
static int ndeferred;

static int dq_push(struct psock *ls, int h, int64_t until)
{
    if (ls->dq_n == ls->dq_cap) {
        int cap = ls->dq_cap ? 2 * ls->dq_cap : 16;
        int *q = realloc(ls->dq, (size_t)cap * sizeof(*q));
        if (!q) return -1;
        ls->dq = q;
        int64_t *t = realloc(ls->dq_t, (size_t)cap * sizeof(*t));
        if (!t) return -1;
        ls->dq_t = t;
        ls->dq_cap = cap;
    }
    ls->dq[ls->dq_n] = h;
    ls->dq_t[ls->dq_n++] = until;
    ndeferred++;
    return 0;
}

static void dq_del(struct psock *ls, int k)
{
    ls->dq[k] = ls->dq[--ls->dq_n]; /* order does not matter: each waits for its own data */
    ls->dq_t[k] = ls->dq_t[ls->dq_n];
    ndeferred--;
}

/* h had data, a FIN or a close: off the deferred list (to the accept queue
 * unless it closed). 1 when it was deferred. */
static int dq_settle(int h, int closed)
{
    for (unsigned l = 0; l < sizeof(G.lis) / sizeof(G.lis[0]); l++) {
        struct psock *ls = G.lis[l];
        if (!ls) continue;
        for (int k = 0; k < ls->dq_n; k++) {
            if (ls->dq[k] != h) continue;
            dq_del(ls, k);
            if (closed) return 1;
            if (aq_push(ls, h) < 0)
                netio_abort(G.io, h);
            else
                ps_event(ls);
            return 1;
        }
    }
    return 0;
}

/* Deferred connections whose period ended: accepted as they are. */
static void dq_expire(void)
{
    int64_t now = shim_now_ns();
    for (unsigned l = 0; l < sizeof(G.lis) / sizeof(G.lis[0]); l++) {
        struct psock *ls = G.lis[l];
        if (!ls) continue;
        for (int k = 0; k < ls->dq_n;) {
            if (ls->dq_t[k] > now) {
                k++;
                continue;
            }
            int h = ls->dq[k];
            dq_del(ls, k);
            if (aq_push(ls, h) < 0)
                netio_abort(G.io, h);
            else
                ps_event(ls);
        }
    }
}

static void handle_event(const struct netio_event *e)
{
    struct psock *ps;
    switch (e->type) {
    case NETIO_EV_ACCEPTED: {
        struct psock *ls = listener_by_id(e->ctx);
        netio_set_ctx(G.io, e->conn, NULL);
        if (ls && ls->defer_ns > 0) {
            if (dq_push(ls, e->conn, shim_now_ns() + ls->defer_ns) < 0)
                netio_abort(G.io, e->conn);
            else
                byh_set(e->conn, NULL);
            break;
        }
        if (!ls || aq_push(ls, e->conn) < 0) {
            netio_abort(G.io, e->conn); /* its listener closed meanwhile, or no memory */
            break;
        }
        byh_set(e->conn, NULL);
        ps_event(ls);
        break;
    }
    case NETIO_EV_CONNECTED:
        if ((ps = byh_get(e->conn))) {
            ps->state = PS_CONN;
            ustack_conn_addrs(G.io, e->conn, &ps->local, NULL);
            ps_event(ps);
        }
        break;
    case NETIO_EV_READABLE:
    case NETIO_EV_WRITABLE:
        if ((ps = byh_get(e->conn)))
            ps_event(ps);
        else if (ndeferred && e->type == NETIO_EV_READABLE)
            dq_settle(e->conn, 0); /* TCP_DEFER_ACCEPT: data (or FIN) came */
        break;
    case NETIO_EV_CLOSED:
        if ((ps = byh_get(e->conn))) {
            keep_unread(ps, e->conn);
            set_closed(ps, e->reason);
        }
        else if (!ndeferred || !dq_settle(e->conn, 1))
            aq_forget(e->conn);
        break;
    }
}

void shim_pump(void)
{
    struct netio_event ev[64];
    int n;
    if (!G.io) return;
    G.st.pumps++;
    if (!(G.st.pumps & 63)) sf_reap();
    if (ndeferred) dq_expire();
    do {
        n = netio_poll(G.io, ev, 64, 0);
        for (int i = 0; i < n; i++)
            handle_event(&ev[i]);
    } while (n == 64);
}

size_t ps_tx_room(struct psock *ps)
{
    size_t space = ustack_tx_space(G.io, ps->h);
    if (!ps->sndbuf_lim) return space;
    size_t queued = ustack_tx_cap(G.io) - space;
    size_t room = queued >= ps->sndbuf_lim ? 0 : ps->sndbuf_lim - queued;
    return room < space ? room : space;
}

uint32_t ps_ready(struct psock *ps)
{
    uint32_t m = 0;
    const uint8_t *d;
    size_t len;
    int eof;
    switch (ps->state) {
    case PS_LISTEN:
        if (ps->aq_n) m = EPOLLIN | EPOLLRDNORM;
        break;
    case PS_BOUND:
        m = EPOLLOUT | EPOLLWRNORM | EPOLLHUP; /* as Linux reports an unconnected socket */
        break;
    case PS_CONNECTING:
        break;
    case PS_CONN:
        if (ustack_rx_peek(G.io, ps->h, &d, &len, &eof) == 0) {
            if (len || eof || ps->shut_rd) m |= EPOLLIN | EPOLLRDNORM;
            if (eof || ps->shut_rd) m |= EPOLLRDHUP;
            size_t space = ps_tx_room(ps);
            size_t cap = ps->sndbuf_lim ? ps->sndbuf_lim : ustack_tx_cap(G.io);
            if (ps->shut_wr || space >= cap / 4)
                m |= EPOLLOUT | EPOLLWRNORM;
            else /* as tcp_poll sets SOCK_NOSPACE: an event when space is back */
                ustack_tx_want(G.io, ps->h);
            if (ps->shut_wr && eof) m |= EPOLLHUP;
        }
        break;
    case PS_CLOSED:
        m = EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLHUP | EPOLLOUT | EPOLLWRNORM;
        if (ps->so_error) m |= EPOLLERR;
        break;
    }
    if (m & ~ps->last_mask) ps_event(ps); /* a rising edge is an event (EPOLLET) */
    ps->last_mask = m;
    return m;
}

/* The program saw ps not ready for these bits (EAGAIN, a short count, a
 * drained buffer): the next time they are ready is a new edge, even when no
 * stack event comes between (sendfile never fills the send buffer past its
 * space, so the stack owes it no WRITABLE). */
void ps_seen_unready(struct psock *ps, uint32_t bits)
{
    ps->last_mask &= ~bits;
}

uint32_t ps_ready_fn(struct pobj *o, uint64_t *gen)
{
    struct psock *ps = (struct psock *)o;
    uint32_t m = ps_ready(ps);
    *gen = ps->gen;
    return m;
}

/* The last descriptor of a socket closed (lock held): let go of the stack's
 * side. A forked child never touches the parent's stack. */
static void ps_drop_stack(struct psock *ps)
{
    if (G.child || !G.io) return;
    if (ps->state == PS_LISTEN) {
        for (unsigned l = 0; l < sizeof(G.lis) / sizeof(G.lis[0]); l++)
            if (G.lis[l] == ps) G.lis[l] = NULL;
        while (ps->dq_n) { /* deferred ones too */
            netio_abort(G.io, ps->dq[0]);
            dq_del(ps, 0);
        }
        while (ps->aq_n) { /* connections nobody accepted: reset, as Linux does */
            netio_abort(G.io, ps->aq[ps->aq_head]);
            ps->aq_head = (ps->aq_head + 1) % ps->aq_cap;
            ps->aq_n--;
        }
        ustack_unlisten(G.io, ps->h);
    } else if (ps->state == PS_CONN || ps->state == PS_CONNECTING) {
        const uint8_t *d;
        size_t len = 0;
        int eof;
        ustack_rx_peek(G.io, ps->h, &d, &len, &eof);
        byh_set(ps->h, NULL);
        /* SO_LINGER 0, or unread data: RST (Linux's tcp_close does the same) */
        if ((ps->linger.l_onoff && ps->linger.l_linger == 0) || len)
            netio_abort(G.io, ps->h);
        else
            netio_close(G.io, ps->h);
        netio_flush(G.io); /* the FIN or RST leaves now */
        sf_orphan(ps); /* the FIN may still wait behind mapped file bytes */
    }
    ps->state = PS_CLOSED;
    ps->h = -1;
}

void shim_release(struct pobj *o)
{
    if (o->fdrefs == 0 && o->kind == POBJ_SOCK && ((struct psock *)o)->h >= 0)
        ps_drop_stack((struct psock *)o);
    if (o->fdrefs == 0 && o->watch) pep_forget(o); /* epoll drops it as the file closes */
    if (o->fdrefs == 0 && o->kind == POBJ_EPOLL && ((struct pep *)o)->n)
        pep_clear((struct pep *)o, shim_release);
    if (!pobj_unused(o)) return;
    if (o->kind == POBJ_SOCK) {
        free(((struct psock *)o)->aq);
        free(((struct psock *)o)->keep);
        free(((struct psock *)o)->dq);
        free(((struct psock *)o)->dq_t);
    }
    free(o);
}

int shim_child_refuse(int fd, const char *call)
{
    static int said[64];
    G.st.fork_refusals++;
    if (fd < 0 || fd >= 64 || !said[fd]) {
        if (fd >= 0 && fd < 64) said[fd] = 1;
        shim_log("%s(%d): descriptor %d is a socket of our user-space stack, which belongs to "
                 "the parent process; a process made by fork() cannot use it (run nginx with "
                 "'master_process off;', redis-server without background saves)",
                 call, fd, fd);
    }
    errno = EBADFD;
    return -1;
}

/* The socket fd names, with the lock taken; NULL (lock not taken) when fd is
 * a kernel descriptor. *refused: a forked child's attempt (errno set). */
static struct psock *ps_get(int fd, const char *call, int *refused)
{
    *refused = 0;
    struct pobj *o = fdtab_get(fd);
    if (!o || in_shim || o->kind != POBJ_SOCK) return NULL;
    if (G.child) {
        *refused = 1;
        shim_child_refuse(fd, call);
        return NULL;
    }
    shim_lock();
    o = fdtab_get(fd);
    if (!o || o->kind != POBJ_SOCK) {
        shim_unlock();
        return NULL;
    }
    if (!G.io) { /* the stack was closed at exit while this thread still ran */
        shim_unlock();
        *refused = 1;
        errno = ENETDOWN;
        return NULL;
    }
    return (struct psock *)o;
}

static int fail(int e)
{
    errno = e;
    return -1;
}

int unlock_fail(int e)
{
    shim_unlock();
    errno = e;
    return -1;
}

static void copy_addr(const struct sockaddr_in *a, struct sockaddr *out, socklen_t *len)
{
    if (!out || !len) return;
    socklen_t n = *len < sizeof(*a) ? *len : (socklen_t)sizeof(*a);
    memcpy(out, a, n);
    *len = sizeof(*a);
}

/* Waits (lock dropped meanwhile) until ps has one of the bits in mask or
 * leaves its state; 1 ready, 0 timed out, -1 errno (EINTR). */
struct want {
    struct psock *ps;
    uint32_t mask;
    int state;
};
static int want_check(void *arg)
{
    struct want *w = arg;
    return (ps_ready(w->ps) & w->mask) || w->ps->state != w->state;
}
int ps_wait(struct psock *ps, uint32_t mask, int64_t timeout_ns)
{
    struct want w = {ps, mask | EPOLLERR | EPOLLHUP, ps->state};
    struct pollfd kfd[1];
    int kready;
    ps->hdr.holds++; /* the socket outlives a close by another thread meanwhile */
    shim_unlock();
    int r = shim_wait(want_check, &w, timeout_ns ? timeout_ns : -1, kfd, 0, 1, NULL, &kready);
    shim_lock();
    ps->hdr.holds--;
    return r;
}

static void adopt_opts(struct psock *ps, int fd);
static int kget(int fd, int level, int name, int dflt);
static void apply_opts(struct psock *ps, int fd);
static void inherit_opts(struct psock *ls, int lfd, struct psock *ps, int nfd);

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int refused;
    struct psock *ps = ps_get(fd, "bind", &refused);
    if (refused) return -1;
    if (ps) return unlock_fail(EINVAL); /* bound already */
    const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
    if (in_shim || !G.configured || G.child || !addr || len < (socklen_t)sizeof(*a) ||
        a->sin_family != AF_INET || !is_stack_local(a) || !is_tcp4(fd))
        return REAL(bind)(fd, addr, len);
    shim_lock();
    if (!stack()) return unlock_fail(EADDRNOTAVAIL);
    for (unsigned l = 0; l < sizeof(G.lis) / sizeof(G.lis[0]); l++)
        if (a->sin_port && G.lis[l] && G.lis[l]->local.sin_port == a->sin_port)
            return unlock_fail(EADDRINUSE);
    ps = ps_new(PS_BOUND);
    if (!ps) return unlock_fail(ENOMEM);
    ps->local = *a;
    ps->nonblock = (REAL(fcntl)(fd, F_GETFL) & O_NONBLOCK) != 0;
    if (fdtab_set(fd, &ps->hdr) < 0) {
        free(ps);
        return unlock_fail(EMFILE);
    }
    adopt_opts(ps, fd);
    if (kget(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 0) || kget(fd, IPPROTO_TCP, TCP_NODELAY, 0))
        ps->opts_set = 1; /* a listener's, for listen and accept */
    shim_unlock();
    return 0;
}

EXPORT int listen(int fd, int backlog)
{
    int refused;
    struct psock *ps = ps_get(fd, "listen", &refused);
    if (refused) return -1;
    if (!ps) return REAL(listen)(fd, backlog);
    if (ps->state == PS_LISTEN) {
        shim_unlock();
        return 0;
    }
    if (ps->state != PS_BOUND) return unlock_fail(EINVAL);
    struct sockaddr_in a = ps->local;
    char err[256];
    uint32_t lid = ++G.next_lid;
    int h = -1;
    if (a.sin_port) {
        h = netio_listen(G.io, &a, (void *)(uintptr_t)lid, err, sizeof(err));
    } else { /* port 0: the first free one above the ephemeral range's start */
        for (unsigned p = 32768; p < 49152 && h < 0; p++) {
            a.sin_port = htons((uint16_t)p);
            h = netio_listen(G.io, &a, (void *)(uintptr_t)lid, err, sizeof(err));
        }
    }
    if (h < 0) {
        shim_log("listen(%d): %s", fd, err);
        return unlock_fail(errno == EADDRINUSE ? EADDRINUSE : ENOBUFS);
    }
    if ((unsigned)h >= sizeof(G.lis) / sizeof(G.lis[0])) {
        ustack_unlisten(G.io, h);
        return unlock_fail(ENOBUFS);
    }
    G.lis[h] = ps;
    ps->h = h;
    ps->lid = lid;
    ps->local = a;
    ps->state = PS_LISTEN;
    apply_opts(ps, fd); /* TCP_DEFER_ACCEPT */
    ps_event(ps);
    shim_unlock();
    return 0;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags, const char *call)
{
    int refused;
    struct psock *ls = ps_get(fd, call, &refused);
    if (refused) return -1;
    if (!ls) return REAL(accept4)(fd, addr, alen, flags);
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return unlock_fail(EINVAL);
    for (int pumped = 0;;) {
        if (ls->state != PS_LISTEN) return unlock_fail(EINVAL);
        if (ls->aq_n) break;
        if (!pumped) {
            shim_pump();
            pumped = 1;
            continue;
        }
        if (ls->nonblock) {
            ps_seen_unready(ls, EPOLLIN | EPOLLRDNORM);
            return unlock_fail(EAGAIN);
        }
        int r = ps_wait(ls, EPOLLIN, ls->rcvtimeo_ns);
        if (r < 0) return unlock_fail(errno);
        if (r == 0) return unlock_fail(EAGAIN);
    }
    int h = ls->aq[ls->aq_head];
    int nfd = REAL(socket)(AF_INET, SOCK_STREAM | flags, 0); /* the placeholder */
    if (nfd < 0) return unlock_fail(errno); /* EMFILE, ...: the connection stays queued */
    struct psock *ps = ps_new(PS_CONN);
    if (!ps || fdtab_set(nfd, &ps->hdr) < 0) {
        free(ps);
        REAL(close)(nfd);
        return unlock_fail(ps ? EMFILE : ENOMEM);
    }
    ls->aq_head = (ls->aq_head + 1) % ls->aq_cap;
    if (--ls->aq_n == 0) ps_seen_unready(ls, EPOLLIN | EPOLLRDNORM);
    ps->h = h;
    ps->nonblock = (flags & SOCK_NONBLOCK) != 0;
    ustack_conn_addrs(G.io, h, &ps->local, &ps->peer);
    byh_set(h, ps);
    inherit_opts(ls, fd, ps, nfd);
    G.st.accepts++;
    copy_addr(&ps->peer, addr, alen);
    shim_unlock();
    return nfd;
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
    return do_accept(fd, addr, alen, flags, "accept4");
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
    return do_accept(fd, addr, alen, 0, "accept");
}

static int connect_result(struct psock *ps)
{
    if (ps->state == PS_CONN) return 0;
    int e = ps->so_error ? ps->so_error : ECONNREFUSED;
    ps->so_error = 0;
    return fail(e);
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int refused;
    struct psock *ps = ps_get(fd, "connect", &refused);
    if (refused) return -1;
    const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
    if (!ps) {
        if (in_shim || !G.configured || G.child || !addr || len < (socklen_t)sizeof(*a) ||
            a->sin_family != AF_INET || !is_stack_remote(a) || !is_tcp4(fd))
            return REAL(connect)(fd, addr, len);
        shim_lock();
        if (!stack()) return unlock_fail(ENETUNREACH);
        ps = ps_new(PS_BOUND);
        if (!ps) return unlock_fail(ENOMEM);
        ps->nonblock = (REAL(fcntl)(fd, F_GETFL) & O_NONBLOCK) != 0;
        if (fdtab_set(fd, &ps->hdr) < 0) {
            free(ps);
            return unlock_fail(EMFILE);
        }
        adopt_opts(ps, fd);
    }
    switch (ps->state) {
    case PS_CONNECTING:
        return unlock_fail(EALREADY);
    case PS_CONN:
        return unlock_fail(EISCONN);
    case PS_LISTEN:
        return unlock_fail(EINVAL); /* inet_stream_connect on a listener */
    case PS_CLOSED:
        if (ps->so_error) {
            int e = ps->so_error;
            ps->so_error = 0;
            return unlock_fail(e);
        }
        return unlock_fail(EISCONN);
    default:
        break;
    }
    if (!addr || len < (socklen_t)sizeof(*a)) return unlock_fail(EINVAL);
    if (a->sin_family != AF_INET) return unlock_fail(EAFNOSUPPORT);
    char err[256];
    int h = netio_connect(G.io, a, ps, err, sizeof(err));
    if (h < 0) {
        shim_log("connect(%d): %s", fd, err);
        return unlock_fail(EAGAIN); /* table full or no local port: Linux says EAGAIN too */
    }
    G.st.connects++;
    ps->h = h;
    ps->peer = *a;
    ps->state = PS_CONNECTING;
    byh_set(h, ps);
    apply_opts(ps, fd); /* keepalive, buffers set before connect */
    if (ps->nonblock) return unlock_fail(EINPROGRESS);
    while (ps->state == PS_CONNECTING) {
        int r = ps_wait(ps, EPOLLOUT, ps->sndtimeo_ns);
        if (r < 0) return unlock_fail(errno);
        if (r == 0 && ps->state == PS_CONNECTING) return unlock_fail(EINPROGRESS);
    }
    int r = connect_result(ps);
    int e = errno;
    shim_unlock();
    errno = e;
    return r;
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    int refused;
    struct psock *ps = ps_get(fd, "getsockname", &refused);
    if (refused) return -1;
    if (!ps) return REAL(getsockname)(fd, addr, len);
    if (!addr || !len) return unlock_fail(EFAULT);
    struct sockaddr_in a = ps->local;
    if (ps->state == PS_CONNECTING || ps->state == PS_CONN) ustack_conn_addrs(G.io, ps->h, &a, NULL);
    a.sin_family = AF_INET;
    copy_addr(&a, addr, len);
    shim_unlock();
    return 0;
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    int refused;
    struct psock *ps = ps_get(fd, "getpeername", &refused);
    if (refused) return -1;
    if (!ps) return REAL(getpeername)(fd, addr, len);
    if (ps->state != PS_CONN) return unlock_fail(ENOTCONN);
    if (!addr || !len) return unlock_fail(EFAULT);
    copy_addr(&ps->peer, addr, len);
    shim_unlock();
    return 0;
}

/* Options our stack honours as Linux does, or that only matter to the kernel
 * socket (kept on the placeholder): not worth a note. */
static int opt_quiet(int level, int name)
{
    if (level == SOL_SOCKET)
        return name == SO_REUSEADDR || name == SO_LINGER || name == SO_RCVTIMEO ||
               name == SO_SNDTIMEO || name == SO_ERROR || name == SO_TYPE || name == SO_DOMAIN ||
               name == SO_PROTOCOL || name == SO_ACCEPTCONN || name == SO_KEEPALIVE ||
               name == SO_SNDBUF || name == SO_RCVBUF;
    if (level == IPPROTO_TCP)
        return name == TCP_NODELAY /* the stack never delays a send */ || name == TCP_KEEPIDLE ||
               name == TCP_KEEPINTVL || name == TCP_KEEPCNT || name == TCP_DEFER_ACCEPT;
    return 0;
}

static const char *opt_name(int level, int name)
{
    static char buf[48];
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_KEEPALIVE: return "SO_KEEPALIVE";
        case SO_SNDBUF: return "SO_SNDBUF";
        case SO_RCVBUF: return "SO_RCVBUF";
        case SO_REUSEPORT: return "SO_REUSEPORT";
        case SO_RCVLOWAT: return "SO_RCVLOWAT";
        case SO_PRIORITY: return "SO_PRIORITY";
        default: break;
        }
    } else if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_DEFER_ACCEPT: return "TCP_DEFER_ACCEPT";
        case TCP_KEEPIDLE: return "TCP_KEEPIDLE";
        case TCP_KEEPINTVL: return "TCP_KEEPINTVL";
        case TCP_KEEPCNT: return "TCP_KEEPCNT";
        case TCP_CORK: return "TCP_CORK";
        case TCP_FASTOPEN: return "TCP_FASTOPEN";
        case TCP_QUICKACK: return "TCP_QUICKACK";
        default: break;
        }
    }
    snprintf(buf, sizeof(buf), "level %d option %d", level, name);
    return buf;
}

static int kget(int fd, int level, int name, int dflt)
{
    int v = 0;
    socklen_t l = sizeof(v);
    return REAL(getsockopt)(fd, level, name, &v, &l) == 0 ? v : dflt;
}

/* The middle (default) value of /proc/sys/net/ipv4/tcp_wmem or tcp_rmem, -1 unknown. */
static int tcp_mem_default(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), lo, mid = -1;
    if (fd < 0) return -1;
    char b[128];
    ssize_t n = REAL(read)(fd, b, sizeof(b) - 1);
    REAL(close)(fd);
    if (n <= 0) return -1;
    b[n] = 0;
    return sscanf(b, "%d %d", &lo, &mid) == 2 ? mid : -1;
}

/* A socket just became ours (bind, connect) with options the program set
 * on the kernel socket before: SO_SNDBUF / SO_RCVBUF count as set when they
 * differ from a fresh TCP socket's (tcp_wmem / tcp_rmem's default). */
static void adopt_opts(struct psock *ps, int fd)
{
    static int wdef = -2, rdef = -2;
    if (wdef == -2) wdef = tcp_mem_default("/proc/sys/net/ipv4/tcp_wmem");
    if (rdef == -2) rdef = tcp_mem_default("/proc/sys/net/ipv4/tcp_rmem");
    ps->sndbuf_set = wdef >= 0 && kget(fd, SOL_SOCKET, SO_SNDBUF, wdef) != wdef;
    ps->rcvbuf_set = rdef >= 0 && kget(fd, SOL_SOCKET, SO_RCVBUF, rdef) != rdef;
    ps->opts_set = ps->sndbuf_set || ps->rcvbuf_set || kget(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
}

/* The options our stack acts on, as the kernel holds them on the
 * placeholder fd (its defaults, clamps and doubling included), applied to
 * ps's connection (lock held):
 *   SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT -> ustack_set_keepalive;
 *   SO_SNDBUF (when set) -> at most half the value Linux reports queued
 *     (Linux doubles it for its bookkeeping; the payload is what was asked),
 *     within the stack's send buffer;
 *   SO_RCVBUF (when set) -> the receive window capped the same way;
 *   TCP_DEFER_ACCEPT (a listener) -> ps->defer_ns. */
static void apply_opts(struct psock *ps, int fd)
{
    if (!ps->opts_set) return; /* nothing set: the stack's defaults stand (no system call) */
    if (ps->state == PS_LISTEN || ps->state == PS_BOUND) {
        ps->defer_ns = (int64_t)kget(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 0) * 1000000000;
        return;
    }
    if (ps->state != PS_CONN && ps->state != PS_CONNECTING) return;
    int on = kget(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
    ustack_set_keepalive(G.io, ps->h, on, (uint32_t)kget(fd, IPPROTO_TCP, TCP_KEEPIDLE, 7200),
                         (uint32_t)kget(fd, IPPROTO_TCP, TCP_KEEPINTVL, 75),
                         (uint32_t)kget(fd, IPPROTO_TCP, TCP_KEEPCNT, 9));
    if (ps->sndbuf_set) {
        size_t v = (size_t)kget(fd, SOL_SOCKET, SO_SNDBUF, 0) / 2, cap = ustack_tx_cap(G.io);
        ps->sndbuf_lim = v > cap ? cap : v ? v : 1;
    }
    if (ps->rcvbuf_set)
        ustack_set_rcvbuf(G.io, ps->h, (uint32_t)kget(fd, SOL_SOCKET, SO_RCVBUF, 0) / 2);
}

/* accept: the new socket inherits the listener's options, as Linux's
 * sk_clone copies them (read from the listener's placeholder onto the new
 * one, so getsockopt on the accepted socket reads them back too). */
static void inherit_opts(struct psock *ls, int lfd, struct psock *ps, int nfd)
{
    if (!ls->opts_set) return; /* a fresh socket's options are the listener's */
    ps->opts_set = 1;
    static const int so[][2] = {{SOL_SOCKET, SO_KEEPALIVE}, {IPPROTO_TCP, TCP_KEEPIDLE},
                                {IPPROTO_TCP, TCP_KEEPINTVL}, {IPPROTO_TCP, TCP_KEEPCNT},
                                {IPPROTO_TCP, TCP_NODELAY}};
    for (size_t i = 0; i < sizeof(so) / sizeof(so[0]); i++) {
        int v = kget(lfd, so[i][0], so[i][1], 0);
        REAL(setsockopt)(nfd, so[i][0], so[i][1], &v, sizeof(v));
    }
    if (ls->sndbuf_set) { /* Linux reports twice what it was given: give half */
        int v = kget(lfd, SOL_SOCKET, SO_SNDBUF, 0) / 2;
        REAL(setsockopt)(nfd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
        ps->sndbuf_set = 1;
    }
    if (ls->rcvbuf_set) {
        int v = kget(lfd, SOL_SOCKET, SO_RCVBUF, 0) / 2;
        REAL(setsockopt)(nfd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
        ps->rcvbuf_set = 1;
    }
    struct linger lg;
    socklen_t l = sizeof(lg);
    if (REAL(getsockopt)(lfd, SOL_SOCKET, SO_LINGER, &lg, &l) == 0)
        REAL(setsockopt)(nfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ps->linger = ls->linger;
    ps->rcvtimeo_ns = ls->rcvtimeo_ns;
    ps->sndtimeo_ns = ls->sndtimeo_ns;
    apply_opts(ps, nfd);
}

static int64_t tv_ns(const void *v, socklen_t len)
{
    if (len < (socklen_t)sizeof(struct timeval)) return 0;
    const struct timeval *t = v;
    return (int64_t)t->tv_sec * 1000000000 + (int64_t)t->tv_usec * 1000;
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    int refused;
    struct psock *ps = ps_get(fd, "setsockopt", &refused);
    if (refused) return -1;
    if (!ps) return REAL(setsockopt)(fd, level, name, val, len);
    /* the kernel judges (EINVAL, ENOPROTOOPT, EFAULT exactly as Linux) and keeps it */
    int r = REAL(setsockopt)(fd, level, name, val, len);
    if (r < 0) {
        int e = errno;
        shim_unlock();
        errno = e;
        return r;
    }
    if ((level == SOL_SOCKET && (name == SO_LINGER || name == SO_RCVTIMEO || name == SO_SNDTIMEO ||
                                 name == SO_KEEPALIVE || name == SO_SNDBUF || name == SO_RCVBUF)) ||
        (level == IPPROTO_TCP && (name == TCP_NODELAY || name == TCP_KEEPIDLE ||
                                  name == TCP_KEEPINTVL || name == TCP_KEEPCNT ||
                                  name == TCP_DEFER_ACCEPT)))
        ps->opts_set = 1; /* applied now, inherited by accept */
    if (level == SOL_SOCKET && name == SO_LINGER && len >= (socklen_t)sizeof(struct linger))
        ps->linger = *(const struct linger *)val;
    else if (level == SOL_SOCKET && name == SO_RCVTIMEO)
        ps->rcvtimeo_ns = tv_ns(val, len);
    else if (level == SOL_SOCKET && name == SO_SNDTIMEO)
        ps->sndtimeo_ns = tv_ns(val, len);
    else if ((level == SOL_SOCKET && (name == SO_KEEPALIVE || name == SO_SNDBUF ||
                                      name == SO_RCVBUF)) ||
             (level == IPPROTO_TCP && (name == TCP_KEEPIDLE || name == TCP_KEEPINTVL ||
                                       name == TCP_KEEPCNT || name == TCP_DEFER_ACCEPT))) {
        if (level == SOL_SOCKET && name == SO_SNDBUF) ps->sndbuf_set = 1;
        if (level == SOL_SOCKET && name == SO_RCVBUF) ps->rcvbuf_set = 1;
        apply_opts(ps, fd);
    }
    else if (!opt_quiet(level, name)) {
        static uint64_t said[2][64]; /* once per option */
        int row = level == SOL_SOCKET ? 0 : level == IPPROTO_TCP ? 1 : -1;
        if (row < 0 || name < 0 || name >= 64 || !(said[row][name / 64] & (1ull << (name % 64)))) {
            if (row >= 0 && name >= 0 && name < 64) said[row][name / 64] |= 1ull << (name % 64);
            G.st.unknown_opts++;
            shim_log("setsockopt(%d, %s): accepted as Linux does, but our stack does not "
                     "implement it (no effect)",
                     fd, opt_name(level, name));
        }
    }
    shim_unlock();
    return 0;
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    int refused;
    struct psock *ps = ps_get(fd, "getsockopt", &refused);
    if (refused) return -1;
    if (!ps) return REAL(getsockopt)(fd, level, name, val, len);
    if (level == SOL_SOCKET && (name == SO_ERROR || name == SO_ACCEPTCONN)) {
        if (!val || !len || *len < (socklen_t)sizeof(int)) return unlock_fail(EINVAL);
        int v;
        if (name == SO_ERROR) {
            v = ps->so_error;
            ps->so_error = 0;
        } else {
            v = ps->state == PS_LISTEN;
        }
        memcpy(val, &v, sizeof(v));
        *len = sizeof(v);
        shim_unlock();
        return 0;
    }
    int r = REAL(getsockopt)(fd, level, name, val, len);
    int e = errno;
    shim_unlock();
    errno = e;
    return r;
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int refused;
    struct psock *ps = ps_get(fd, "ioctl", &refused);
    if (refused) return -1;
    if (!ps) return REAL(ioctl)(fd, req, arg);
    if (req == FIONREAD) {
        if (ps->state == PS_LISTEN) return unlock_fail(EINVAL);
        shim_pump(); /* what has arrived by now counts, as in the kernel */
        const uint8_t *d;
        size_t n = 0;
        int eof;
        if (ps->state == PS_CONN) ustack_rx_peek(G.io, ps->h, &d, &n, &eof);
        if (ps->state == PS_CLOSED) n = ps->keep_len - ps->keep_off;
        int v = n > 0x7fffffff ? 0x7fffffff : (int)n;
        memcpy(arg, &v, sizeof(v));
        shim_unlock();
        return 0;
    }
    int r = REAL(ioctl)(fd, req, arg);
    int e = errno;
    if (r == 0 && req == FIONBIO) ps->nonblock = *(int *)arg != 0;
    shim_unlock();
    errno = e;
    return r;
}

/* F_DUPFD: the new descriptor names the same object. */
static int dup_into(int oldfd, int newfd)
{
    struct pobj *o = fdtab_get(oldfd);
    if (o) fdtab_set(newfd, o);
    return newfd;
}

static int do_fcntl(void *realfn, int fd, int cmd, va_list ap)
{
    long arg = va_arg(ap, long);
    int (*fn)(int, int, ...) = realfn;
    struct pobj *o = fdtab_get(fd);
    if (!o || in_shim) return fn(fd, cmd, arg);
    if (o->kind == POBJ_SOCK && G.child) return shim_child_refuse(fd, "fcntl");
    shim_lock();
    int r = fn(fd, cmd, arg), e = errno;
    if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) {
        struct pobj *x = fdtab_clear(r); /* a stale entry cannot be: the kernel handed r out */
        if (x) shim_release(x);
        dup_into(fd, r);
    }
    o = fdtab_get(fd);
    if (r >= 0 && cmd == F_SETFL && o && o->kind == POBJ_SOCK)
        ((struct psock *)o)->nonblock = (arg & O_NONBLOCK) != 0;
    shim_unlock();
    errno = e;
    return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int r = do_fcntl(REAL(fcntl), fd, cmd, ap);
    va_end(ap);
    return r;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int r = do_fcntl(REAL(fcntl64), fd, cmd, ap);
    va_end(ap);
    return r;
}

EXPORT int dup(int fd)
{
    struct pobj *o = fdtab_get(fd);
    if (!o || in_shim) return REAL(dup)(fd);
    shim_lock();
    int r = REAL(dup)(fd), e = errno;
    if (r >= 0) dup_into(fd, r);
    shim_unlock();
    errno = e;
    return r;
}

static int do_dup3(int oldfd, int newfd, int flags, int is3)
{
    if ((!fdtab_get(oldfd) && !fdtab_get(newfd)) || in_shim)
        return is3 ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
    shim_lock();
    int r = is3 ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd), e = errno;
    if (r >= 0 && oldfd != newfd) {
        struct pobj *x = fdtab_clear(newfd); /* dup2 closed what newfd was */
        if (x) shim_release(x);
        dup_into(oldfd, newfd);
    }
    shim_unlock();
    errno = e;
    return r;
}

EXPORT int dup2(int oldfd, int newfd)
{
    return do_dup3(oldfd, newfd, 0, 0);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
    return do_dup3(oldfd, newfd, flags, 1);
}

EXPORT int close(int fd)
{
    if (!fdtab_get(fd) || in_shim) return REAL(close)(fd);
    shim_lock();
    struct pobj *o = fdtab_clear(fd);
    if (o) shim_release(o);
    int r = REAL(close)(fd), e = errno;
    shim_unlock();
    errno = e;
    return r;
}

EXPORT int shutdown(int fd, int how)
{
    int refused;
    struct psock *ps = ps_get(fd, "shutdown", &refused);
    if (refused) return -1;
    if (!ps) return REAL(shutdown)(fd, how);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return unlock_fail(EINVAL);
    if (ps->state != PS_CONN && ps->state != PS_CLOSED) return unlock_fail(ENOTCONN);
    if (how != SHUT_WR) ps->shut_rd = 1;
    if (how != SHUT_RD && !ps->shut_wr) {
        ps->shut_wr = 1;
        if (ps->state == PS_CONN && ustack_shutdown_wr(G.io, ps->h) == 0) netio_flush(G.io);
    }
    ps_event(ps);
    shim_unlock();
    return 0;
}

/* ---- data ---- */

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* Copies up to len bytes of d into iov from byte `at` of it; the count. */
static size_t iov_put(const struct iovec *iov, int iovcnt, size_t at, const uint8_t *d, size_t len)
{
    size_t off = 0, skip = at;
    for (int i = 0; i < iovcnt && off < len; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        size_t n = l - skip < len - off ? l - skip : len - off;
        memcpy((uint8_t *)iov[i].iov_base + skip, d + off, n);
        off += n;
        skip = 0;
    }
    return off;
}

/* recv over iov (lock held, released on return). */
static ssize_t ps_recv(struct psock *ps, const struct iovec *iov, int iovcnt, int flags,
                       struct sockaddr *from, socklen_t *fromlen)
{
    G.st.recv_calls++;
    size_t want = iov_total(iov, iovcnt), got = 0;
    int nonblock = ps->nonblock || (flags & MSG_DONTWAIT);
    for (int pumped = 0;;) {
        if (ps->state == PS_CONN) {
            const uint8_t *d;
            size_t len;
            int eof;
            if (ps->shut_rd) break;
            ustack_rx_peek(G.io, ps->h, &d, &len, &eof);
            if (len && want > got) {
                size_t off = iov_put(iov, iovcnt, got, d, len);
                got += off;
                if (!(flags & MSG_PEEK)) {
                    netio_consume(G.io, ps->h, off);
                    if (off == len && !eof) ps_seen_unready(ps, EPOLLIN | EPOLLRDNORM);
                }
                if (!(flags & MSG_WAITALL) || got == want || (flags & MSG_PEEK)) break;
                continue;
            }
            if (eof || want == 0) break;
        } else if (ps->state == PS_CLOSED) {
            size_t kl = ps->keep_len - ps->keep_off;
            if (kl && want > got && !ps->shut_rd) {
                size_t n = iov_put(iov, iovcnt, got, ps->keep + ps->keep_off, kl);
                got += n;
                if (!(flags & MSG_PEEK)) ps->keep_off += n;
                if (ps->keep_off == ps->keep_len) {
                    free(ps->keep);
                    ps->keep = NULL;
                    ps->keep_len = ps->keep_off = 0;
                }
                break;
            }
            if (ps->so_error && !got) {
                int e = ps->so_error;
                ps->so_error = 0;
                return unlock_fail(e);
            }
            break;
        } else if (ps->state != PS_CONNECTING) {
            return unlock_fail(ENOTCONN);
        }
        if (got && !(flags & MSG_WAITALL)) break;
        if (!pumped) {
            shim_pump();
            pumped = 1;
            continue;
        }
        if (nonblock) {
            if (got) break;
            ps_seen_unready(ps, EPOLLIN | EPOLLRDNORM);
            G.st.eagain_recv++;
            return unlock_fail(EAGAIN);
        }
        int r = ps_wait(ps, EPOLLIN | EPOLLRDHUP, ps->rcvtimeo_ns);
        if (r < 0) {
            if (got) break;
            return unlock_fail(errno);
        }
        if (r == 0) {
            if (got) break;
            return unlock_fail(EAGAIN);
        }
        pumped = 1;
    }
    if (from && fromlen) copy_addr(&ps->peer, from, fromlen);
    G.st.recv_bytes += got;
    if (got && G.io) netio_flush(G.io); /* a window update the read made (nothing queued: no call) */
    shim_unlock();
    return (ssize_t)got;
}

void sigpipe(int flags)
{
    if (!(flags & MSG_NOSIGNAL)) raise(SIGPIPE);
}

/* The send state of ps: 0 can send, else the errno to fail with (EAGAIN-like
 * waits are the caller's). *wait = 1 when it should wait and retry. */
int send_state(struct psock *ps, int *wait)
{
    *wait = 0;
    switch (ps->state) {
    case PS_CONN:
        if (ps->shut_wr) return EPIPE;
        return 0;
    case PS_CONNECTING:
        *wait = 1;
        return 0;
    case PS_CLOSED:
        if (ps->so_error) {
            int e = ps->so_error;
            ps->so_error = 0;
            return e;
        }
        return EPIPE;
    default:
        return EPIPE; /* never connected: Linux's sk_stream_wait_connect */
    }
}

int ps_send_wait(struct psock *ps, int nonblock, size_t sent)
{
    ps_seen_unready(ps, EPOLLOUT | EPOLLWRNORM);
    if (ps->state == PS_CONN) ustack_tx_want(G.io, ps->h); /* WRITABLE when space is back */
    if (nonblock) {
        if (sent) return 1;
        G.st.eagain_send++;
        return unlock_fail(EAGAIN);
    }
    int r = ps_wait(ps, EPOLLOUT, ps->sndtimeo_ns); /* blocking: until all is sent */
    if (r <= 0) {
        if (sent) return 1;
        return unlock_fail(r < 0 ? errno : EAGAIN);
    }
    return 0;
}

/* send over iov (lock held, released on return). */
static ssize_t ps_send(struct psock *ps, const struct iovec *iov, int iovcnt, int flags)
{
    G.st.send_calls++;
    size_t want = iov_total(iov, iovcnt), sent = 0;
    int nonblock = ps->nonblock || (flags & MSG_DONTWAIT);
    int i = 0;
    size_t ioff = 0;
    for (int pumped = 0;;) {
        int wait;
        int e = send_state(ps, &wait);
        if (e) {
            if (sent) break;
            if (e == EPIPE) sigpipe(flags);
            return unlock_fail(e);
        }
        if (!wait) {
            while (i < iovcnt) {
                size_t l = iov[i].iov_len - ioff;
                if (!l) {
                    i++, ioff = 0;
                    continue;
                }
                if (ps->sndbuf_lim) { /* SO_SNDBUF: what it leaves room for */
                    size_t room = ps_tx_room(ps);
                    if (!room) {
                        ustack_tx_want(G.io, ps->h);
                        break;
                    }
                    if (l > room) l = room;
                }
                ssize_t n = netio_send(G.io, ps->h, (const uint8_t *)iov[i].iov_base + ioff, l);
                if (n < 0) break;
                sent += (size_t)n;
                ioff += (size_t)n;
                if (ioff < iov[i].iov_len) {
                    if ((size_t)n < l) break; /* full */
                    continue;                 /* SO_SNDBUF cut it: room is 0 now */
                }
                i++, ioff = 0;
            }
            if (sent == want) break;
        }
        if (!pumped) {
            shim_pump();
            pumped = 1;
            continue;
        }
        int w = ps_send_wait(ps, nonblock, sent);
        if (w < 0) return -1;
        if (w) break;
    }
    G.st.send_bytes += sent;
    if (sent) netio_flush(G.io); /* on the wire now, as a kernel send: not at the next wait */
    shim_unlock();
    return (ssize_t)sent;
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    int refused;
    struct psock *ps = ps_get(fd, "read", &refused);
    if (refused) return -1;
    if (!ps) return REAL(read)(fd, buf, n);
    struct iovec v = {buf, n};
    return ps_recv(ps, &v, 1, 0, NULL, NULL);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    int refused;
    struct psock *ps = ps_get(fd, "read", &refused);
    if (refused) return -1;
    if (!ps) return REAL(__read_chk)(fd, buf, n, buflen);
    if (n > buflen) __chk_fail();
    struct iovec v = {buf, n};
    return ps_recv(ps, &v, 1, 0, NULL, NULL);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    int refused;
    struct psock *ps = ps_get(fd, "readv", &refused);
    if (refused) return -1;
    if (!ps) return REAL(readv)(fd, iov, cnt);
    if (cnt < 0 || cnt > IOV_MAX) return unlock_fail(EINVAL);
    return ps_recv(ps, iov, cnt, 0, NULL, NULL);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    int refused;
    struct psock *ps = ps_get(fd, "recv", &refused);
    if (refused) return -1;
    if (!ps) return REAL(recv)(fd, buf, n, flags);
    struct iovec v = {buf, n};
    return ps_recv(ps, &v, 1, flags, NULL, NULL);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    int refused;
    struct psock *ps = ps_get(fd, "recv", &refused);
    if (refused) return -1;
    if (!ps) return REAL(__recv_chk)(fd, buf, n, buflen, flags);
    if (n > buflen) __chk_fail();
    struct iovec v = {buf, n};
    return ps_recv(ps, &v, 1, flags, NULL, NULL);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                        socklen_t *fromlen)
{
    int refused;
    struct psock *ps = ps_get(fd, "recvfrom", &refused);
    if (refused) return -1;
    if (!ps) return REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
    struct iovec v = {buf, n};
    return ps_recv(ps, &v, 1, flags, from, fromlen);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                              struct sockaddr *from, socklen_t *fromlen)
{
    int refused;
    struct psock *ps = ps_get(fd, "recvfrom", &refused);
    if (refused) return -1;
    if (!ps) return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen);
    if (n > buflen) __chk_fail();
    struct iovec v = {buf, n};
    return ps_recv(ps, &v, 1, flags, from, fromlen);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    int refused;
    struct psock *ps = ps_get(fd, "recvmsg", &refused);
    if (refused) return -1;
    if (!ps) return REAL(recvmsg)(fd, m, flags);
    if (!m || m->msg_iovlen > IOV_MAX) return unlock_fail(m ? EMSGSIZE : EFAULT);
    m->msg_flags = 0;
    m->msg_controllen = 0;
    socklen_t nl = m->msg_namelen;
    ssize_t r = ps_recv(ps, m->msg_iov, (int)m->msg_iovlen, flags,
                        m->msg_name ? (struct sockaddr *)m->msg_name : NULL, &nl);
    if (r >= 0 && m->msg_name) m->msg_namelen = nl;
    return r;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    int refused;
    struct psock *ps = ps_get(fd, "write", &refused);
    if (refused) return -1;
    if (!ps) return REAL(write)(fd, buf, n);
    struct iovec v = {(void *)buf, n};
    return ps_send(ps, &v, 1, 0);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    int refused;
    struct psock *ps = ps_get(fd, "writev", &refused);
    if (refused) return -1;
    if (!ps) return REAL(writev)(fd, iov, cnt);
    if (cnt < 0 || cnt > IOV_MAX) return unlock_fail(EINVAL);
    return ps_send(ps, iov, cnt, 0);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    int refused;
    struct psock *ps = ps_get(fd, "send", &refused);
    if (refused) return -1;
    if (!ps) return REAL(send)(fd, buf, n, flags);
    struct iovec v = {(void *)buf, n};
    return ps_send(ps, &v, 1, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                      socklen_t tolen)
{
    int refused;
    struct psock *ps = ps_get(fd, "sendto", &refused);
    if (refused) return -1;
    if (!ps) return REAL(sendto)(fd, buf, n, flags, to, tolen);
    struct iovec v = {(void *)buf, n}; /* a connected TCP socket ignores the address */
    return ps_send(ps, &v, 1, flags);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    int refused;
    struct psock *ps = ps_get(fd, "sendmsg", &refused);
    if (refused) return -1;
    if (!ps) return REAL(sendmsg)(fd, m, flags);
    if (!m || m->msg_iovlen > IOV_MAX) return unlock_fail(m ? EMSGSIZE : EFAULT);
    return ps_send(ps, m->msg_iov, (int)m->msg_iovlen, flags);
}

EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    int refused;
    struct psock *ps = ps_get(out_fd, "sendfile", &refused);
    if (refused) return -1;
    if (!ps) return REAL(sendfile)(out_fd, in_fd, offset, count);
    return ps_sendfile(ps, in_fd, offset, count);
}

EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
    int refused;
    struct psock *ps = ps_get(out_fd, "sendfile", &refused);
    if (refused) return -1;
    if (!ps) return REAL(sendfile64)(out_fd, in_fd, offset, count);
    return ps_sendfile(ps, in_fd, offset, count);
}

/* ---- exit ---- */

static void write_stats(void)
{
    const char *path = env.stats;
    if (!path || !*path) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        shim_log("cannot write BB_PRELOAD_STATS file '%s': %s", path, strerror(errno));
        return;
    }
    shim_lock();
    if (G.io) netio_flush(G.io);
    const struct shim_stats *s = &G.st;
    fprintf(f,
            "preload_pumps %llu\npreload_waits %llu\npreload_wait_spin_hits %llu\n"
            "preload_wait_sleeps %llu\npreload_wait_sleep_ns %llu\npreload_wait_sleep_hits %llu\n"
            "preload_accepts %llu\npreload_connects %llu\npreload_recv_calls %llu\n"
            "preload_recv_bytes %llu\npreload_send_calls %llu\npreload_send_bytes %llu\n"
            "preload_sendfile_bytes %llu\npreload_eagain_recv %llu\npreload_eagain_send %llu\n"
            "preload_fork_refusals %llu\npreload_unknown_opts %llu\n"
            "preload_sendfile_mapped_bytes %llu\npreload_sendfile_read_bytes %llu\n"
            "preload_sendfile_maps %llu\npreload_sendfile_unmaps %llu\n",
            (unsigned long long)s->pumps, (unsigned long long)s->waits,
            (unsigned long long)s->wait_spin_hits, (unsigned long long)s->wait_sleeps,
            (unsigned long long)s->wait_sleep_ns, (unsigned long long)s->wait_sleep_hits,
            (unsigned long long)s->accepts, (unsigned long long)s->connects,
            (unsigned long long)s->recv_calls, (unsigned long long)s->recv_bytes,
            (unsigned long long)s->send_calls, (unsigned long long)s->send_bytes,
            (unsigned long long)s->sendfile_bytes, (unsigned long long)s->eagain_recv,
            (unsigned long long)s->eagain_send, (unsigned long long)s->fork_refusals,
            (unsigned long long)s->unknown_opts, (unsigned long long)s->sendfile_mapped_bytes,
            (unsigned long long)s->sendfile_read_bytes, (unsigned long long)s->sendfile_maps,
            (unsigned long long)s->sendfile_unmaps);
    if (G.io) {
        struct netio_counter c[256];
        int n = netio_counters(G.io, c, 256);
        for (int i = 0; i < n; i++)
            fprintf(f, "%s %llu\n", c[i].name, (unsigned long long)c[i].value);
    }
    shim_unlock();
    fclose(f);
}

/* At exit: the counters, then the stack closed, so that what it holds outside
 * the process goes (afxdp's XDP program on the interface, DPDK's EAL). A
 * forked child's stack is its parent's: left alone. */
static void shim_exit(void)
{
    if (G.child) return;
    write_stats();
    shim_lock();
    if (G.io) {
        netio_flush(G.io);
        netio_destroy(G.io);
        G.io = NULL;
    }
    shim_unlock();
}
