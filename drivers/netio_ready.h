/*
 * netio_ready.h — the ready ring and the emit loop every netio backend with
 * per-slot pending events shares (drivers/kernel.c, drivers/ustack/stack.c):
 * a FIFO of connection slot indices, and the loop that turns the pending
 * bits of the slots in it into netio events, in netio_pend_take's order.
 *
 * Callers: drivers/kernel.c (ready ring, resume-read ring), drivers/ustack/
 * stack.c (ready ring). Calls: netio_pend_take (netio.h), calloc/free.
 *
 * Static inline so that the emit loop is specialised per driver: its
 * callbacks are the caller's static inline functions, which the compiler
 * inlines into it, leaving no indirect call (the stack's per-request
 * instruction count is gated, ci/ipr_gate.sh).
 *
 * A ring's capacity is the driver's slot count and a slot sits in it at most
 * once (the driver keeps a "queued" flag per slot and tests it before
 * netio_ring_push), so a push never finds the ring full.
 */
#ifndef BB_NETIO_READY_H
#define BB_NETIO_READY_H

#include "drivers/netio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct netio_ring {
    int32_t *slot; /* cap entries */
    uint32_t head, count, cap;
};

/* 0, or -1 when out of memory. */
static inline int netio_ring_init(struct netio_ring *r, uint32_t cap)
{
    r->slot = calloc(cap, sizeof(*r->slot));
    r->head = r->count = 0;
    r->cap = cap;
    return r->slot ? 0 : -1;
}

static inline void netio_ring_fini(struct netio_ring *r)
{
    free(r->slot);
    r->slot = NULL;
}

/* Appends slot i (not in the ring: the caller's queued flag says so). */
static inline void netio_ring_push(struct netio_ring *r, int32_t i)
{
    r->slot[(r->head + r->count) % r->cap] = i;
    r->count++;
}

/* Removes and returns the oldest slot; the ring must not be empty. */
static inline int32_t netio_ring_pop(struct netio_ring *r)
{
    int32_t i = r->slot[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    return i;
}

/* What an emitting driver says about its slots (drv is its instance):
 *   slot(drv, i, &pend)   slot i, and where its pending bits are (NETIO_P_*,
 *                         netio.h); the slot pointer is only handed back
 *   fill(drv, slot, e)    e->type was just taken from the bits, e->conn is
 *                         the slot's index, e->listener -1, the rest zero:
 *                         set ctx and what the type carries (listener,
 *                         data/len/eof, reason; a CLOSED slot goes on the
 *                         driver's zombie list). Returns 1, or 0 to drop the
 *                         event (READABLE whose bytes were consumed meanwhile).
 *   dequeued(slot)        the slot has left the ring: clear its queued flag. */
typedef void *(*netio_slot_fn)(void *drv, int32_t i, uint8_t **pend);
typedef int (*netio_fill_fn)(void *drv, void *slot, struct netio_event *e);
typedef void (*netio_dequeued_fn)(void *slot);

/* Up to max events from the slots in r, oldest first, each slot's in the
 * contract's order. A slot leaves the ring once nothing is pending on it;
 * when evs fills first, it stays at the head and the next call resumes
 * there. Returns the number of events written. */
static inline int netio_ready_emit(struct netio_ring *r, void *drv, struct netio_event *evs,
                                   int max, netio_slot_fn slot, netio_fill_fn fill,
                                   netio_dequeued_fn dequeued)
{
    int out = 0;
    while (out < max && r->count) {
        int32_t i = r->slot[r->head];
        uint8_t *p;
        void *c = slot(drv, i, &p);
        while (out < max && *p) {
            struct netio_event *e = &evs[out];
            memset(e, 0, sizeof(*e));
            e->conn = i;
            e->listener = -1;
            e->type = netio_pend_take(p);
            out += fill(drv, c, e);
        }
        if (*p) break; /* caller's array is full; resume here next time */
        dequeued(c);
        netio_ring_pop(r);
    }
    return out;
}

#endif
