/*
 * pepoll.c — the stack half of an epoll set (pepoll.h): items linked three
 * ways (the set's items, the set's ready list, the socket's watchers), so
 * that a socket's event queues its items in O(watchers) and a wait looks at
 * the ready list alone. Finding an item for epoll_ctl walks the socket's
 * watchers (one or two), not the set.
 */
#include "preload/pepoll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct pep_item *find(struct pep *p, int fd, struct pobj *o)
{
    for (struct pep_item *it = o->watch; it; it = it->wnext)
        if (it->ep == p && it->fd == fd) return it;
    return NULL;
}

static void rq_push(struct pep_item *it)
{
    struct pep *p = it->ep;
    it->queued = 1;
    it->rnext = NULL;
    it->rprev = p->rtail;
    if (p->rtail)
        p->rtail->rnext = it;
    else
        p->rhead = it;
    p->rtail = it;
    p->nready++;
}

static void rq_remove(struct pep_item *it)
{
    struct pep *p = it->ep;
    if (!it->queued) return;
    if (it->rprev)
        it->rprev->rnext = it->rnext;
    else
        p->rhead = it->rnext;
    if (it->rnext)
        it->rnext->rprev = it->rprev;
    else
        p->rtail = it->rprev;
    it->rprev = it->rnext = NULL;
    it->queued = 0;
    p->nready--;
}

/* Unlinks it from everything and frees it (o->holds--). */
static void unlink_item(struct pep_item *it)
{
    struct pep *p = it->ep;
    struct pobj *o = it->obj;
    rq_remove(it);
    if (it->wprev)
        it->wprev->wnext = it->wnext;
    else
        o->watch = it->wnext;
    if (it->wnext) it->wnext->wprev = it->wprev;
    if (it->aprev)
        it->aprev->anext = it->anext;
    else
        p->all = it->anext;
    if (it->anext) it->anext->aprev = it->aprev;
    p->n--;
    o->holds--;
    free(it);
}

static void drop(struct pep_item *it, pep_release_fn release)
{
    struct pobj *o = it->obj;
    unlink_item(it);
    if (release) release(o);
}

int pep_ctl(struct pep *p, int op, int fd, struct pobj *o, const struct epoll_event *ev,
            pep_release_fn release)
{
    struct pep_item *it = find(p, fd, o);
    switch (op) {
    case EPOLL_CTL_ADD:
        if (!ev) return -EFAULT;
        if (it) return -EEXIST;
        it = calloc(1, sizeof(*it));
        if (!it) return -ENOMEM;
        *it = (struct pep_item){.ep = p,
                                .fd = fd,
                                .obj = o,
                                .events = ev->events,
                                .data = ev->data,
                                .wnext = o->watch,
                                .anext = p->all};
        if (o->watch) o->watch->wprev = it;
        o->watch = it;
        if (p->all) p->all->aprev = it;
        p->all = it;
        p->n++;
        o->holds++;
        rq_push(it); /* the current state is looked at (ep_insert polls it) */
        return 0;
    case EPOLL_CTL_MOD:
        if (!ev) return -EFAULT;
        if (!it) return -ENOENT;
        if ((ev->events & EPOLLEXCLUSIVE) || (it->events & EPOLLEXCLUSIVE)) return -EINVAL;
        it->events = ev->events;
        it->data = ev->data;
        it->disabled = 0;
        it->gen = 0; /* re-armed: report the current state (Linux does) */
        if (!it->queued) rq_push(it);
        return 0;
    case EPOLL_CTL_DEL:
        if (!it) return -ENOENT;
        drop(it, release);
        return 0;
    default:
        return -EINVAL;
    }
}

void pep_notify(struct pobj *o)
{
    for (struct pep_item *it = o->watch; it; it = it->wnext)
        if (!it->queued && !it->disabled) rq_push(it);
}

/* What it would report now (0: nothing), leaving its state alone. */
static uint32_t item_mask(struct pep_item *it, pep_ready_fn ready, uint64_t *gen)
{
    if (it->disabled) return 0;
    uint32_t want = (it->events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLRDNORM |
                                   EPOLLWRNORM | EPOLLRDBAND | EPOLLWRBAND)) |
                    EPOLLERR | EPOLLHUP;
    uint32_t m = ready(it->obj, gen) & want;
    if (!m) return 0;
    if ((it->events & EPOLLET) && *gen == it->gen) return 0; /* no new event since */
    return m;
}

int pep_collect(struct pep *p, struct epoll_event *out, int max, pep_ready_fn ready,
                pep_release_fn release)
{
    int got = 0;
    /* each item on the list now at most once: a level-triggered item that
     * reports goes back to the tail for the next wait */
    for (int left = p->nready; left > 0 && got < max && p->rhead; left--) {
        struct pep_item *it = p->rhead;
        rq_remove(it);
        if (it->obj->fdrefs <= 0) { /* no descriptor names it: gone, as the file closed */
            drop(it, release);
            continue;
        }
        uint64_t gen = 0;
        uint32_t m = item_mask(it, ready, &gen);
        if (it->queued) rq_remove(it); /* ready() may have queued it again (a rising edge) */
        if (!m) continue;              /* not ready: off the list until its next event */
        out[got].events = m;
        out[got].data = it->data;
        got++;
        it->gen = gen;
        if (it->events & EPOLLONESHOT)
            it->disabled = 1;
        else if (!(it->events & EPOLLET))
            rq_push(it); /* level-triggered: looked at again next time */
    }
    return got;
}

int pep_any_ready(struct pep *p, pep_ready_fn ready)
{
    for (struct pep_item *it = p->rhead; it; it = it->rnext) {
        uint64_t gen;
        if (it->obj->fdrefs > 0 && item_mask(it, ready, &gen)) return 1;
    }
    return 0;
}

void pep_forget(struct pobj *o)
{
    while (o->watch)
        unlink_item(o->watch);
}

void pep_clear(struct pep *p, pep_release_fn release)
{
    while (p->all)
        drop(p->all, release);
}
