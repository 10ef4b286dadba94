/*
 * netio_afpacket.c — the "afpacket" netio backend: our user-space stack over
 * the "afpacket" pktio (TPACKET_V3, or V2 with version=2, on --iface).
 * Exports `netio_afpacket_ops` for the table in drivers/netio.c.
 *
 *   netio_open("afpacket") -> af_open() -> us_netio_open() (netio_common.c)
 * Everything after open is the stack's own netio ops (stack.c). Options: the
 * stack's table (netio_common.c) and the afpacket pktio's (drivers/afpacket.c).
 */
#include "drivers/ustack/ustack_int.h"

extern const struct netio_ops netio_afpacket_ops;
extern const struct opt_def afp_opt_defs[]; /* drivers/afpacket.c */

static const struct opt_group af_opt_groups[] = {
    {"stack", us_stack_opt_defs},
    {"afpacket pktio", afp_opt_defs},
    {NULL, NULL},
};

static int af_probe(char *err, size_t errlen)
{
    return us_netio_probe("afpacket", err, errlen);
}

static struct netio *af_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    return us_netio_open(&netio_afpacket_ops, "afpacket", cfg, 1, NULL, NULL, NULL, err, errlen);
}

const struct netio_ops netio_afpacket_ops = {
    .name = "afpacket",
    .help = "our user-space TCP/IP stack over AF_PACKET TPACKET_V3 (needs iface and ip)",
    .opts = af_opt_groups,
    .probe = af_probe,
    .open = af_open,
    USTACK_NETIO_OPS_BODY,
};
