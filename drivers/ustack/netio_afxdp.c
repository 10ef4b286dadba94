/*
 * netio_afxdp.c — the "afxdp" netio backend: our user-space stack over the
 * "afxdp" pktio (an AF_XDP socket and its XDP program on --iface).
 * Exports `netio_afxdp_ops` for the table in drivers/netio.c. Built only
 * with HAVE_AFXDP.
 *
 *   netio_open("afxdp") -> ax_open() -> us_netio_open() (netio_common.c)
 *        -> pktio "afxdp" (drivers/afxdp.c) -> steer_ip(): our address to
 *           the XDP program -> the stack on top
 *   netio_listen -> us_listen, then afxdp_own_port (the port is ours)
 *   netio_connect -> afxdp_own_ephemeral (once), then us_connect
 * Everything else is the stack's own netio ops (stack.c). The XDP program
 * passes what is not ours to the kernel, so the kernel keeps its address on
 * the same interface and answers ping and its own services there.
 * Options: the stack's table (netio_common.c) and the afxdp pktio's.
 */
#ifdef HAVE_AFXDP
#include "drivers/afxdp.h"
#include "drivers/ustack/ustack_int.h"

#include <arpa/inet.h>
#include <stdio.h>

extern const struct netio_ops netio_afxdp_ops;
extern const struct opt_def axp_opt_defs[]; /* drivers/afxdp.c */

static const struct opt_group ax_opt_groups[] = {
    {"stack", us_stack_opt_defs},
    {"afxdp pktio", axp_opt_defs},
    {NULL, NULL},
};

static int ax_probe(char *err, size_t errlen)
{
    return us_netio_probe("afxdp", err, errlen);
}

/* us_pktio_wrap: the pktio is open, the stack's address known: steer it. */
static struct pktio *steer_ip(void *arg, struct pktio *p, const struct ustack_config *uc, char *err,
                              size_t errlen)
{
    (void)arg;
    if (afxdp_set_ip(p, uc->ip.s_addr) < 0) {
        snprintf(err, errlen, "afxdp: the pktio under the stack is not afxdp");
        pktio_close(p);
        return NULL;
    }
    return p;
}

static struct netio *ax_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    return us_netio_open(&netio_afxdp_ops, "afxdp", cfg, 1, NULL, steer_ip, NULL, err, errlen);
}

static int ax_listen(struct netio *io, const struct sockaddr_in *addr, void *ctx, char *err,
                     size_t errlen)
{
    int l = us_listen(io, addr, ctx, err, errlen);
    if (l >= 0) afxdp_own_port(((struct us_ctx *)io)->pkt, ntohs(addr->sin_port));
    return l;
}

static int ax_connect(struct netio *io, const struct sockaddr_in *dst, void *ctx, char *err,
                      size_t errlen)
{
    /* Before the SYN leaves: its SYN-ACK must come to us. */
    afxdp_own_ephemeral(((struct us_ctx *)io)->pkt, US_EPHEMERAL_LO, US_EPHEMERAL_HI);
    return us_connect(io, dst, ctx, err, errlen);
}

const struct netio_ops netio_afxdp_ops = {
    .name = "afxdp",
    .help = "our user-space TCP/IP stack over AF_XDP (needs iface and ip; the kernel keeps "
            "the interface's other traffic)",
    .opts = ax_opt_groups,
    .probe = ax_probe,
    .open = ax_open,
    .destroy = us_destroy,
    .listen = ax_listen,
    .connect = ax_connect,
    .poll = us_poll,
    .flush = us_flush,
    .send = us_send,
    .send_ref = us_send_ref,
    .consume = us_consume,
    .set_ctx = us_set_ctx,
    .close = us_close,
    .abort = us_abort,
    .counters = us_counters,
};
#endif
