/*
 * exc_tap.c — the "tap" exception-path backend: a second DPDK port, a
 * net_tap vdev whose kernel side (iface=NAME) becomes the kernel interface.
 * Needs /dev/net/tun. The vdev is added to the EAL arguments before EAL
 * starts (netio_dpdk.c), and opened here as the "dpdk" pktio with port=NAME.
 *
 * Callers: kni/exc_backend.c (table), drivers/ustack/netio_dpdk.c.
 * Calls: exc_dpdk_port_open, exc_dev_ok (exc_iface.c).
 */
#include "kni/exc.h"

#include <stdio.h>

#define TAP_VDEV "net_tap_bbx"

static int tap_usable(char *why, size_t whylen)
{
    if (exc_dev_ok("/dev/net/tun", why, whylen) < 0) return -1;
    if (!pktio_find("dpdk")) {
        snprintf(why, whylen, "the dpdk pktio is not built in");
        return -1;
    }
    return 0;
}

static int tap_vdev(const char *iface, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, TAP_VDEV ",iface=%s", iface);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static struct pktio *tap_open(const struct exc_params *p, char *err, size_t errlen)
{
    static const char *const opts[] = {"port=" TAP_VDEV, "offloads=0", "mbufs=2047",
                                       "rxd=512",       "txd=512",    "link_wait_ms=0", NULL};
    return exc_dpdk_port_open("tap", opts, p, err, errlen);
}

const struct exc_backend_ops exc_tap_ops = {
    .name = "tap",
    .help = "DPDK net_tap port; its kernel side is the exception interface (/dev/net/tun)",
    .usable = tap_usable,
    .vdev = tap_vdev,
    .open = tap_open,
};
