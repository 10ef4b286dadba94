/*
 * netio_dpdk.c — the "dpdk" netio backend: our user-space stack over the
 * "dpdk" pktio (rte_ethdev on any PMD: net_ring, net_tap, net_af_packet,
 * net_af_xdp, PCI NICs). Exports `netio_dpdk_ops` for drivers/netio.c.
 *
 *   netio_open("dpdk") -> dp_open() -> us_netio_open() (netio_common.c)
 *                                      -> pktio "dpdk" (drivers/dpdk.c)
 * Options: the stack's (netio_common.c) and the dpdk pktio's (eal=, vdev=,
 * port=, ...: drivers/dpdk.c). Built only with DPDK.
 */
#ifdef HAVE_DPDK
#include "ustack_int.h"

extern const struct netio_ops netio_dpdk_ops;

static int dp_probe(char *err, size_t errlen)
{
    return us_netio_probe("dpdk", err, errlen);
}

static struct netio *dp_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    return us_netio_open(&netio_dpdk_ops, "dpdk", cfg, 0, NULL, err, errlen);
}

const struct netio_ops netio_dpdk_ops = {
    .name = "dpdk",
    .help = "our user-space TCP/IP stack over DPDK (any PMD; needs ip, and eal= or vdev= options)",
    .probe = dp_probe,
    .open = dp_open,
    USTACK_NETIO_OPS_BODY,
};
#endif
