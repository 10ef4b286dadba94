/*
 * shim_wait.c — waiting over stack and kernel descriptors together: the wait
 * loop (spin, then sleep), poll, ppoll, select, pselect and the epoll family.
 *
 *   epoll_wait(ep) -> no stack members: the kernel's epoll_wait, untouched
 *                  -> else shim_wait(stack items ready? | kernel epoll fd readable?)
 *                     -> pep_collect (stack) + epoll_wait(ep, 0) (kernel)
 *   poll(fds)      -> no stack descriptors: the kernel's poll, untouched
 *                  -> else shim_wait(stack entries ready? | poll(kernel entries))
 *
 * The wait: each round pumps the stack (lock held) and checks; then polls
 * the kernel descriptors without waiting. Rounds repeat back to back for
 * BB_PRELOAD_SPIN_US; after that each round sleeps in ppoll(2) on the kernel
 * descriptors plus the stack's packet socket for at most 1 ms (the stack's
 * timers need the lock-holder to come back), or 50 us when the stack has no
 * such socket (dpdk).
 */
#include "preload/shim_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))

static void *real_poll, *real_ppoll, *real_select, *real_pselect, *real_epoll_create,
    *real_epoll_create1, *real_epoll_ctl, *real_epoll_wait, *real_epoll_pwait;

#define SLEEP_MAX_NS 1000000
#define SLEEP_NOFD_NS 50000

int shim_wait(shim_check_fn check, void *arg, int64_t timeout_ns, struct pollfd *kfds, nfds_t nk,
              int kcheck, const sigset_t *sigmask, int *kready)
{
    int64_t start = shim_now_ns();
    *kready = 0;
    G.st.waits++;
    for (;;) {
        shim_lock();
        shim_pump();
        int r = check(arg);
        shim_unlock();
        int k = 0;
        if (nk && kcheck) { /* both halves: poll reports every ready entry */
            struct timespec zero = {0, 0};
            k = REAL(ppoll)(kfds, nk, &zero, NULL);
            if (k < 0) return -1;
        }
        *kready = k;
        if (r || k) {
            if (shim_now_ns() - start < G.spin_ns) G.st.wait_spin_hits++;
            return r ? r : k;
        }
        int64_t now = shim_now_ns(), el = now - start;
        if (timeout_ns == 0 || (timeout_ns > 0 && el >= timeout_ns)) return 0;
        if (el < G.spin_ns) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            continue;
        }
        int64_t nap = G.wait_fd >= 0 ? SLEEP_MAX_NS : SLEEP_NOFD_NS;
        if (timeout_ns > 0 && timeout_ns - el < nap) nap = timeout_ns - el;
        struct timespec ts = {nap / 1000000000, nap % 1000000000};
        nfds_t n = nk;
        if (G.wait_fd >= 0) kfds[n++] = (struct pollfd){.fd = G.wait_fd, .events = POLLIN};
        G.st.wait_sleeps++;
        int s = REAL(ppoll)(kfds, n, &ts, sigmask);
        int64_t t1 = shim_now_ns();
        G.st.wait_sleep_ns += (uint64_t)(t1 - now);
        if (s < 0) return -1; /* EINTR: a signal, as the kernel's own wait reports it */
        if (s > 0) G.st.wait_sleep_hits++;
    }
}

/* ---- poll ---- */

struct pollw {
    struct pollfd *fds;
    nfds_t n;
    struct psock **ps; /* per entry: the stack socket, or NULL */
};

static int poll_check(void *arg)
{
    struct pollw *w = arg;
    int ready = 0;
    for (nfds_t i = 0; i < w->n; i++) {
        if (!w->ps[i]) continue;
        uint32_t m = ps_ready(w->ps[i]);
        short re = (short)(m & ((uint32_t)w->fds[i].events | POLLERR | POLLHUP));
        w->fds[i].revents = re;
        ready += re != 0;
    }
    return ready;
}

static int do_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *sigmask,
                   const struct timespec *ts_orig, int use_ppoll)
{
    int any = 0;
    if (!in_shim)
        for (nfds_t i = 0; i < n && !any; i++) {
            struct pobj *o = fdtab_get(fds[i].fd);
            any = o && o->kind == POBJ_SOCK;
        }
    if (!any || G.child) {
        struct timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        if (!ts_orig && timeout_ns >= 0) ts_orig = &ts;
        if (use_ppoll) return REAL(ppoll)(fds, n, ts_orig, sigmask);
        return REAL(poll)(fds, n, timeout_ns < 0 ? -1 : (int)(timeout_ns / 1000000));
    }
    struct psock **ps = calloc(n, sizeof(*ps));
    struct pollfd *k = calloc(n + 1, sizeof(*k));
    nfds_t *kidx = calloc(n + 1, sizeof(*kidx));
    if (!ps || !k || !kidx) {
        free(ps), free(k), free(kidx);
        errno = ENOMEM;
        return -1;
    }
    nfds_t nk = 0;
    shim_lock();
    for (nfds_t i = 0; i < n; i++) {
        struct pobj *o = fdtab_get(fds[i].fd);
        fds[i].revents = 0;
        if (o && o->kind == POBJ_SOCK) {
            ps[i] = (struct psock *)o;
            o->holds++;
        } else {
            kidx[nk] = i;
            k[nk++] = fds[i];
        }
    }
    shim_unlock();
    struct pollw w = {fds, n, ps};
    int kready;
    int r = shim_wait(poll_check, &w, timeout_ns, k, nk, 1, sigmask, &kready);
    int e = errno;
    shim_lock();
    int total = 0;
    if (r >= 0) {
        for (nfds_t j = 0; j < nk; j++)
            fds[kidx[j]].revents = kready ? k[j].revents : 0;
        for (nfds_t i = 0; i < n; i++)
            total += fds[i].revents != 0;
    }
    for (nfds_t i = 0; i < n; i++)
        if (ps[i]) {
            ps[i]->hdr.holds--;
            shim_release(&ps[i]->hdr);
        }
    shim_unlock();
    free(ps), free(k), free(kidx);
    if (r < 0) {
        errno = e;
        return -1;
    }
    return total;
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    return do_poll(fds, n, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL, NULL, 0);
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n) __chk_fail();
    return poll(fds, n, timeout);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *sigmask)
{
    int64_t t = ts ? (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1;
    return do_poll(fds, n, t, sigmask, ts, 1);
}

/* ---- select ---- */

static int do_select(int nfds, fd_set *r, fd_set *w, fd_set *x, int64_t timeout_ns,
                     const sigset_t *sigmask)
{
    if (nfds < 0 || nfds > FD_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    struct pollfd p[FD_SETSIZE];
    int n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (r && FD_ISSET(fd, r)) ev |= POLLIN;
        if (w && FD_ISSET(fd, w)) ev |= POLLOUT;
        if (x && FD_ISSET(fd, x)) ev |= POLLPRI;
        if (ev) p[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
    int res = do_poll(p, (nfds_t)n, timeout_ns, sigmask, NULL, 1);
    if (res < 0) return res;
    if (r) FD_ZERO(r);
    if (w) FD_ZERO(w);
    if (x) FD_ZERO(x);
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
        if (r && (p[i].events & POLLIN) && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            FD_SET(p[i].fd, r), count++;
        if (w && (p[i].events & POLLOUT) && (p[i].revents & (POLLOUT | POLLERR)))
            FD_SET(p[i].fd, w), count++;
        if (x && (p[i].events & POLLPRI) && (p[i].revents & POLLPRI)) FD_SET(p[i].fd, x), count++;
    }
    return count;
}

static int sets_have_stack(int nfds, fd_set *r, fd_set *w, fd_set *x)
{
    if (in_shim || nfds > FD_SETSIZE) return 0;
    for (int fd = 0; fd < nfds; fd++)
        if ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (x && FD_ISSET(fd, x))) {
            struct pobj *o = fdtab_get(fd);
            if (o && o->kind == POBJ_SOCK) return 1;
        }
    return 0;
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
    if (!sets_have_stack(nfds, r, w, x) || G.child) return REAL(select)(nfds, r, w, x, tv);
    int64_t t = tv ? (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000 : -1;
    int64_t start = shim_now_ns();
    int res = do_select(nfds, r, w, x, t, NULL);
    if (tv) { /* Linux writes back the time not slept */
        int64_t left = t - (shim_now_ns() - start);
        if (left < 0) left = 0;
        tv->tv_sec = left / 1000000000;
        tv->tv_usec = (left % 1000000000) / 1000;
    }
    return res;
}

EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                   const sigset_t *sigmask)
{
    if (!sets_have_stack(nfds, r, w, x) || G.child) return REAL(pselect)(nfds, r, w, x, ts, sigmask);
    int64_t t = ts ? (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1;
    return do_select(nfds, r, w, x, t, sigmask);
}

/* ---- epoll ---- */

static int new_epoll(int fd)
{
    if (fd < 0 || in_shim) return fd;
    struct pep *p = calloc(1, sizeof(*p));
    if (!p) return fd; /* then it is a kernel-only set: stack members are refused */
    p->hdr.kind = POBJ_EPOLL;
    shim_lock();
    struct pobj *x = fdtab_clear(fd);
    if (x) shim_release(x);
    if (fdtab_set(fd, &p->hdr) < 0) free(p);
    shim_unlock();
    return fd;
}

EXPORT int epoll_create(int size)
{
    return new_epoll(REAL(epoll_create)(size));
}

EXPORT int epoll_create1(int flags)
{
    return new_epoll(REAL(epoll_create1)(flags));
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    struct pobj *t = fdtab_get(fd);
    if (!t || t->kind != POBJ_SOCK || in_shim) return REAL(epoll_ctl)(epfd, op, fd, ev);
    if (G.child) return shim_child_refuse(fd, "epoll_ctl");
    shim_lock();
    struct pobj *e = fdtab_get(epfd);
    t = fdtab_get(fd);
    if (!t || t->kind != POBJ_SOCK) {
        shim_unlock();
        return REAL(epoll_ctl)(epfd, op, fd, ev);
    }
    if (!e || e->kind != POBJ_EPOLL) {
        shim_unlock();
        /* epfd is no epoll set of ours (closed, not an epoll, or made behind
         * our back with a raw system call): stack members cannot join it */
        errno = (fcntl(epfd, F_GETFD) < 0) ? EBADF : EINVAL;
        return -1;
    }
    int r = pep_ctl((struct pep *)e, op, fd, t, ev, shim_release);
    shim_unlock();
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

struct epw {
    struct pep *p;
    int epfd;
    struct epoll_event *evs;
    int max, n;
};

/* Both halves at once (lock held): the stack's ready items, then the
 * kernel's epoll without waiting for what room is left. */
static int epoll_check(void *arg)
{
    struct epw *w = arg;
    int n = pep_collect(w->p, w->evs, w->max, ps_ready_fn, shim_release);
    if (n < w->max) {
        int m = REAL(epoll_wait)(w->epfd, w->evs + n, w->max - n, 0);
        if (m > 0) n += m;
    }
    w->n = n;
    return n;
}

static int do_epoll_wait(int epfd, struct epoll_event *evs, int max, int64_t timeout_ns,
                         const sigset_t *sigmask, int timeout_ms)
{
    struct pobj *o = fdtab_get(epfd);
    if (!o || o->kind != POBJ_EPOLL || in_shim || G.child || !((struct pep *)o)->n)
        return sigmask ? REAL(epoll_pwait)(epfd, evs, max, timeout_ms, sigmask)
                       : REAL(epoll_wait)(epfd, evs, max, timeout_ms);
    if (max <= 0 || !evs) {
        errno = EINVAL;
        return -1;
    }
    struct pep *p = (struct pep *)o;
    shim_lock();
    p->hdr.holds++;
    shim_unlock();
    struct epw w = {p, epfd, evs, max, 0};
    struct pollfd k[2] = {{.fd = epfd, .events = POLLIN}}; /* slept on */
    int kready;
    int r = shim_wait(epoll_check, &w, timeout_ns, k, 1, 0, sigmask, &kready);
    int e = errno;
    shim_lock();
    p->hdr.holds--;
    shim_release(&p->hdr);
    shim_unlock();
    if (r < 0) {
        errno = e;
        return -1;
    }
    return w.n;
}

EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
    return do_epoll_wait(epfd, evs, max, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL,
                         timeout);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
                       const sigset_t *sigmask)
{
    return do_epoll_wait(epfd, evs, max, timeout < 0 ? -1 : (int64_t)timeout * 1000000, sigmask,
                         timeout);
}
