/*
 * pepoll.h — the stack half of an epoll set. An application's epoll
 * descriptor is a real kernel epoll instance holding its kernel members;
 * members that are sockets of our stack live in this side table instead,
 * and epoll_wait merges the two (preload/shim_wait.c).
 *
 * A wait costs O(ready), not O(registered), as Linux's epoll: every item
 * sits on its socket's watcher list (struct pobj.watch), and the socket
 * calls pep_notify on each event (data, acceptance, send space, connect,
 * close, a rising readiness bit); that puts its items on their sets' ready
 * lists, and pep_collect looks at those alone.
 *
 * Semantics kept from Linux (epoll(7)): ADD and MOD look at the current
 * state at once; level-triggered items that report go back on the ready
 * list (to its tail: a short maxevents starves none) and leave it when found
 * not ready; EPOLLET items report once per event (the socket's event
 * counter, so new data reports again even when unread data remains, as
 * Linux does) and leave the list; EPOLLONESHOT disables an item after one
 * report until EPOLL_CTL_MOD; EPOLLERR and EPOLLHUP are always reported; an
 * item goes away once no descriptor names its socket any more (Linux drops
 * it when the file closes: pep_forget).
 *
 * Callers: preload/shim.c, preload/shim_wait.c, tests/preload/test_pepoll.c.
 */
#ifndef BB_PRELOAD_PEPOLL_H
#define BB_PRELOAD_PEPOLL_H

#include "preload/fdtab.h"

#include <stdint.h>
#include <sys/epoll.h>

struct pep;

struct pep_item {
    struct pep *ep;
    int fd;
    struct pobj *obj;
    uint32_t events; /* the caller's interest, EPOLLET/ONESHOT included */
    epoll_data_t data;
    uint64_t gen;                   /* the socket's event counter when last reported (ET) */
    int disabled;                   /* EPOLLONESHOT fired */
    int queued;                     /* on ep's ready list */
    struct pep_item *rprev, *rnext; /* ep's ready list */
    struct pep_item *wprev, *wnext; /* obj's watchers */
    struct pep_item *aprev, *anext; /* ep's items */
};

struct pep {
    struct pobj hdr;                /* kind POBJ_EPOLL */
    struct pep_item *all;           /* every item */
    struct pep_item *rhead, *rtail; /* the ready list */
    int n, nready;
};

/* The readiness of a socket as EPOLL* bits, and its event counter. */
typedef uint32_t (*pep_ready_fn)(struct pobj *o, uint64_t *gen);
/* Called when an item lets go of o (o->holds already decremented). */
typedef void (*pep_release_fn)(struct pobj *o);

/* EPOLL_CTL_ADD/MOD/DEL of (fd, o); 0 or -errno as epoll_ctl(2): EEXIST,
 * ENOENT, EINVAL (unknown op, EPOLLEXCLUSIVE with MOD), EFAULT (ev NULL for
 * ADD/MOD), ENOMEM. */
int pep_ctl(struct pep *p, int op, int fd, struct pobj *o, const struct epoll_event *ev,
            pep_release_fn release);
/* o had an event: its enabled items go on their ready lists. */
void pep_notify(struct pobj *o);
/* Up to max ready items into out; returns their number. Looks at the ready
 * list only. Items whose socket no descriptor names any more are dropped
 * (release called). */
int pep_collect(struct pep *p, struct epoll_event *out, int max, pep_ready_fn ready,
                pep_release_fn release);
/* Whether any item is ready, without reporting (ET/ONESHOT state kept). */
int pep_any_ready(struct pep *p, pep_ready_fn ready);
/* o's last descriptor closed: every item watching it goes (o->holds less
 * by their number; release is not called, the caller is releasing o). */
void pep_forget(struct pobj *o);
/* Drops every item (the epoll descriptor's last close). */
void pep_clear(struct pep *p, pep_release_fn release);

#endif
