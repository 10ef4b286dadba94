/*
 * pepoll.c — the stack half of an epoll set (pepoll.h): a flat array of
 * items, scanned on every wait. A scan is a few loads per item (the
 * socket's readiness is computed, not stored), cheap for the hundreds of
 * connections the programs here hold; a ready list fed by the stack's
 * events would be the step for tens of thousands.
 */
#include "preload/pepoll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int find(struct pep *p, int fd, struct pobj *o)
{
    for (int i = 0; i < p->n; i++)
        if (p->items[i].fd == fd && p->items[i].obj == o) return i;
    return -1;
}

static void drop(struct pep *p, int i, pep_release_fn release)
{
    struct pobj *o = p->items[i].obj;
    p->items[i] = p->items[--p->n];
    if (p->cursor >= p->n) p->cursor = 0;
    o->holds--;
    if (release) release(o);
}

int pep_ctl(struct pep *p, int op, int fd, struct pobj *o, const struct epoll_event *ev,
            pep_release_fn release)
{
    int i = find(p, fd, o);
    switch (op) {
    case EPOLL_CTL_ADD:
        if (!ev) return -EFAULT;
        if (i >= 0) return -EEXIST;
        if (p->n == p->cap) {
            int cap = p->cap ? 2 * p->cap : 16;
            struct pep_item *it = realloc(p->items, (size_t)cap * sizeof(*it));
            if (!it) return -ENOMEM;
            p->items = it;
            p->cap = cap;
        }
        p->items[p->n++] = (struct pep_item){
            .fd = fd, .obj = o, .events = ev->events, .data = ev->data, .gen = 0};
        o->holds++;
        return 0;
    case EPOLL_CTL_MOD:
        if (!ev) return -EFAULT;
        if (i < 0) return -ENOENT;
        if ((ev->events & EPOLLEXCLUSIVE) || (p->items[i].events & EPOLLEXCLUSIVE)) return -EINVAL;
        p->items[i].events = ev->events;
        p->items[i].data = ev->data;
        p->items[i].disabled = 0;
        p->items[i].gen = 0; /* re-armed: report the current state (Linux does) */
        return 0;
    case EPOLL_CTL_DEL:
        if (i < 0) return -ENOENT;
        drop(p, i, release);
        return 0;
    default:
        return -EINVAL;
    }
}

/* What item it would report now (0: nothing), leaving its state alone. */
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
    for (int i = 0; i < p->n;) /* sockets no descriptor names: gone, as the file closed */
        if (p->items[i].obj->fdrefs <= 0)
            drop(p, i, release);
        else
            i++;
    int got = 0, n = p->n;
    for (int k = 0; k < n && got < max; k++) {
        int i = (p->cursor + k) % n;
        struct pep_item *it = &p->items[i];
        uint64_t gen = 0;
        uint32_t m = item_mask(it, ready, &gen);
        if (!m) continue;
        out[got].events = m;
        out[got].data = it->data;
        got++;
        it->gen = gen;
        if (it->events & EPOLLONESHOT) it->disabled = 1;
    }
    if (n) p->cursor = (p->cursor + 1) % n;
    return got;
}

int pep_any_ready(struct pep *p, pep_ready_fn ready)
{
    for (int i = 0; i < p->n; i++) {
        uint64_t gen;
        if (p->items[i].obj->fdrefs > 0 && item_mask(&p->items[i], ready, &gen)) return 1;
    }
    return 0;
}

void pep_clear(struct pep *p, pep_release_fn release)
{
    while (p->n)
        drop(p, p->n - 1, release);
    free(p->items);
    p->items = NULL;
    p->cap = 0;
}
