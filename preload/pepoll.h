/*
 * pepoll.h — the stack half of an epoll set. An application's epoll
 * descriptor is a real kernel epoll instance holding its kernel members;
 * members that are sockets of our stack live in this side table instead,
 * and epoll_wait merges the two (preload/shim.c).
 *
 * Semantics kept from Linux (epoll(7)): level-triggered items report while
 * ready; EPOLLET items report once per new event on the socket (a counter
 * the socket bumps on every arrival, acceptance, send space or close, so new
 * data reports again even when unread data remains, as Linux does);
 * EPOLLONESHOT disables an item after one report until EPOLL_CTL_MOD;
 * EPOLLERR and EPOLLHUP are always reported; an item goes away once no
 * descriptor names its socket any more (Linux drops it when the file
 * closes). Reports rotate through the items so a short maxevents starves none.
 *
 * Callers: preload/shim.c, tests/preload/test_pepoll.c.
 */
#ifndef BB_PRELOAD_PEPOLL_H
#define BB_PRELOAD_PEPOLL_H

#include "preload/fdtab.h"

#include <stdint.h>
#include <sys/epoll.h>

struct pep_item {
    int fd;
    struct pobj *obj;
    uint32_t events; /* the caller's interest, EPOLLET/ONESHOT included */
    epoll_data_t data;
    uint64_t gen; /* the socket's event counter when last reported (ET) */
    int disabled; /* EPOLLONESHOT fired */
};

struct pep {
    struct pobj hdr; /* kind POBJ_EPOLL */
    struct pep_item *items;
    int n, cap, cursor;
};

/* The readiness of a socket as EPOLL* bits, and its event counter. */
typedef uint32_t (*pep_ready_fn)(struct pobj *o, uint64_t *gen);
/* Called when an item lets go of o (o->holds already decremented). */
typedef void (*pep_release_fn)(struct pobj *o);

/* EPOLL_CTL_ADD/MOD/DEL of (fd, o); 0 or -errno as epoll_ctl(2): EEXIST,
 * ENOENT, EINVAL (unknown op, ev NULL for ADD/MOD, EPOLLEXCLUSIVE with MOD),
 * ENOMEM. */
int pep_ctl(struct pep *p, int op, int fd, struct pobj *o, const struct epoll_event *ev,
            pep_release_fn release);
/* Up to max ready items into out; returns their number. Items whose socket
 * no descriptor names any more are dropped (release called). */
int pep_collect(struct pep *p, struct epoll_event *out, int max, pep_ready_fn ready,
                pep_release_fn release);
/* Whether any item is ready, without reporting (ET/ONESHOT state kept). */
int pep_any_ready(struct pep *p, pep_ready_fn ready);
/* Drops every item (the epoll descriptor's last close). */
void pep_clear(struct pep *p, pep_release_fn release);

#endif
