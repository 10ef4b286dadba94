/*
 * stack_rig.h — the "our stack over memlink on a virtual clock" rig, written
 * once for the unit tests, the conformance suite, the fuzz target and the
 * deterministic benchmarks (STYLE lesson 9, DESIGN §6 and §11).
 *
 * A memlink pair; on each end that carries a stack, optionally an impair_wrap
 * and then a caller's own wrapper (a recording tap, a guard page, an offload
 * shim); a ustack on top, its clock the rig's virtual clock. With one stack,
 * link end 1 is left to the caller as a raw peer (frames built by hand).
 *
 *   stack_rig_opts_init() -> tweak opts -> stack_rig_open()
 *       -> memlink_pair() -> [impair_wrap()] -> [opts.wrap()] -> ustack_open()
 *   ... the caller polls r->io[i] and advances r->now_ns ...
 *   stack_rig_close() -> netio_destroy() (closes the wrappers and the link end)
 *
 * Callers: tests/drivers/test_ustack*.c, tests/drivers/test_netio_conformance.c,
 * tests/fuzz/fuzz_ustack.c, bench/ustack_ipr.c, bench/loadgen_ipr.c.
 * Library-style: it never prints, exits or asserts; errors come back in err,
 * so the Criterion tests, the fuzz target and the benches each report them
 * their own way. Nothing here runs per packet except stack_rig_now().
 */
#ifndef BB_TESTS_STACK_RIG_H
#define BB_TESTS_STACK_RIG_H

#include "drivers/netio.h"
#include "drivers/pktio.h"
#include "drivers/ustack/ustack.h"

#include <stddef.h>
#include <stdint.h>

/* Side i's default address, host order: 198.18.0.1 (side 0), 198.18.0.2 (side 1). */
#define STACK_RIG_IP(i) (0xc6120001u + (uint32_t)(i))

struct stack_rig;

/* Wraps side's pktio p (after impairment) and returns what the stack runs
 * over; the wrapper must own p (close it when closed). NULL with err on
 * failure: p is then still the rig's. */
typedef struct pktio *(*stack_rig_wrap_fn)(struct stack_rig *r, int side, struct pktio *p,
                                           void *arg, char *err, size_t errlen);

struct stack_rig_opts {
    int nstacks;              /* 2: a stack on each end; 1: stack on end 0, end 1 is r->peer */
    struct pktio_config link; /* memlink_pair's (pool_size, opts such as "lock=0") */
    int impair;               /* 1 = impair_wrap each stack's end with impair_cfg[side] */
    struct impair_config impair_cfg[2]; /* now_ns/now_arg are set to the rig's clock */
    stack_rig_wrap_fn wrap;   /* optional, outermost */
    void *wrap_arg;
    /* Each stack's configuration, from stack_rig_opts_init: ustack defaults,
     * STACK_RIG_IP(side)/24, isn_seed 1 + side (deterministic), cpu -1.
     * now_ns/now_arg are set to the rig's clock by stack_rig_open. */
    struct ustack_config stack[2];
    uint64_t start_ns;        /* the virtual clock when the stacks open */
};

struct stack_rig {
    uint64_t now_ns;        /* the virtual clock: the caller advances it */
    int nstacks;
    struct pktio *link[2];  /* the memlink ends (link[0]->ops->in_use is link-wide) */
    struct pktio *imp[2];   /* the impair wrappers, or NULL */
    struct pktio *pkt[2];   /* what each stack runs over (owned by the stack) */
    struct netio *io[2];    /* the stacks; io[1] is NULL with one stack */
    struct pktio *peer;     /* one stack: link end 1, the caller's raw peer (rig-owned) */
    uint8_t mac[2][6];      /* the MAC of each link end */
};

/* Defaults for nstacks (1 or 2) stacks. */
void stack_rig_opts_init(struct stack_rig_opts *o, int nstacks);

/* Builds the rig in *r (which must stay put: the stacks' clock points at it).
 * 0, or -1 with err and nothing left open. */
int stack_rig_open(struct stack_rig *r, const struct stack_rig_opts *o, char *err, size_t errlen);

/* Destroys the stacks (and with them their wrappers and link ends) and the
 * raw peer end. Safe on a rig whose io[i] the caller already destroyed and
 * set to NULL. */
void stack_rig_close(struct stack_rig *r);

/* The clock callback the stacks (and impairment, loadgen) read: arg is the rig. */
uint64_t stack_rig_now(void *arg);

/* Link buffers not in the free pool (allocated, queued or received), link-wide;
 * 0 when the link has no in_use hook. */
uint32_t stack_rig_in_use(const struct stack_rig *r);

/* Polls every stack (events discarded) until the link's buffers are all back
 * in the pool or `rounds` rounds passed, without moving the clock; returns
 * what is still in use (0 = no leak). For a rig whose connections are gone. */
uint32_t stack_rig_drain(struct stack_rig *r, int rounds);

#endif
