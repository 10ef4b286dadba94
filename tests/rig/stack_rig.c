/*
 * stack_rig.c — the stack-over-memlink rig (see stack_rig.h).
 *
 *   stack_rig_open() -> memlink_pair() -> impair_wrap() -> opts.wrap() -> ustack_open()
 *
 * Calls: memlink_pair, impair_wrap, ustack_open and the netio/pktio wrappers.
 */
#include "tests/rig/stack_rig.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void stack_rig_opts_init(struct stack_rig_opts *o, int nstacks)
{
    memset(o, 0, sizeof(*o));
    o->nstacks = nstacks;
    for (int i = 0; i < 2; i++) {
        struct ustack_config *c = &o->stack[i];
        ustack_config_defaults(c);
        c->ip.s_addr = htonl(STACK_RIG_IP(i));
        c->prefix_len = 24;
        c->isn_seed = 1 + (uint64_t)i;
        c->cpu = -1;
    }
}

uint64_t stack_rig_now(void *arg)
{
    return ((const struct stack_rig *)arg)->now_ns;
}

uint32_t stack_rig_in_use(const struct stack_rig *r)
{
    struct pktio *l = r->link[0];
    return l && l->ops->in_use ? l->ops->in_use(l) : 0;
}

uint32_t stack_rig_drain(struct stack_rig *r, int rounds)
{
    struct netio_event ev[16];
    uint32_t used = stack_rig_in_use(r);
    for (int k = 0; k < rounds && used; k++) {
        for (int i = 0; i < r->nstacks; i++)
            if (r->io[i]) netio_poll(r->io[i], ev, 16, 0);
        used = stack_rig_in_use(r);
    }
    return used;
}

void stack_rig_close(struct stack_rig *r)
{
    for (int i = 0; i < 2; i++) {
        if (r->io[i])
            netio_destroy(r->io[i]); /* closes pkt[i], its wrappers and link[i] */
        else if (r->pkt[i])
            pktio_close(r->pkt[i]); /* built, but its stack never opened */
        r->io[i] = NULL;
        r->pkt[i] = r->imp[i] = r->link[i] = NULL;
    }
    pktio_close(r->peer);
    r->peer = NULL;
}

int stack_rig_open(struct stack_rig *r, const struct stack_rig_opts *o, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (o->nstacks < 1 || o->nstacks > 2) {
        snprintf(err, errlen, "stack_rig: nstacks %d (want 1 or 2)", o->nstacks);
        return -1;
    }
    r->nstacks = o->nstacks;
    r->now_ns = o->start_ns;
    if (memlink_pair(&o->link, &r->link[0], &r->link[1], err, errlen) < 0) return -1;
    for (int i = 0; i < 2; i++) {
        struct pktio_info info;
        memset(&info, 0, sizeof(info));
        pktio_info(r->link[i], &info);
        memcpy(r->mac[i], info.mac, 6);
    }
    if (r->nstacks == 1) r->peer = r->link[1];
    /* pkt[i] holds the chain built so far, so a failure closes it whole. */
    for (int i = 0; i < r->nstacks; i++) r->pkt[i] = r->link[i];
    for (int i = 0; i < r->nstacks; i++) {
        if (o->impair) {
            struct impair_config ic = o->impair_cfg[i];
            ic.now_ns = stack_rig_now;
            ic.now_arg = r;
            struct pktio *p = impair_wrap(r->pkt[i], &ic, err, errlen);
            if (!p) goto fail;
            r->pkt[i] = r->imp[i] = p;
        }
        if (o->wrap) {
            struct pktio *p = o->wrap(r, i, r->pkt[i], o->wrap_arg, err, errlen);
            if (!p) goto fail;
            r->pkt[i] = p;
        }
    }
    for (int i = 0; i < r->nstacks; i++) {
        struct ustack_config c = o->stack[i];
        c.now_ns = stack_rig_now;
        c.now_arg = r;
        r->io[i] = ustack_open(r->pkt[i], &c, err, errlen); /* on failure pkt[i] stays ours */
        if (!r->io[i]) goto fail;
    }
    return 0;
fail:
    stack_rig_close(r);
    return -1;
}
