/*
 * exc_virtio_user.c — the "virtio_user" exception-path backend (DPDK's
 * recommended KNI replacement): a DPDK virtio_user port with
 * path=/dev/vhost-net; vhost-net creates a tap (iface=NAME) that becomes the
 * kernel interface. Needs /dev/vhost-net and /dev/net/tun. The vdev is added
 * to the EAL arguments before EAL starts (netio_dpdk.c) and opened here as
 * the "dpdk" pktio with port=NAME, without offloads (the kernel then hands
 * over frames with complete checksums).
 *
 * Callers: kni/exc_backend.c (table), drivers/ustack/netio_dpdk.c.
 * Calls: exc_dpdk_port_open, exc_dev_ok (exc_iface.c).
 */
#include "kni/exc.h"

#include <stdio.h>

#define VU_VDEV "virtio_user_bbx"

static int vu_usable(char *why, size_t whylen)
{
    if (exc_dev_ok("/dev/vhost-net", why, whylen) < 0 || exc_dev_ok("/dev/net/tun", why, whylen) < 0)
        return -1;
    if (!pktio_find("dpdk")) {
        snprintf(why, whylen, "the dpdk pktio is not built in");
        return -1;
    }
    return 0;
}

static int vu_vdev(const char *iface, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, VU_VDEV ",path=/dev/vhost-net,queues=1,queue_size=1024,iface=%s",
                     iface);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static struct pktio *vu_open(const struct exc_params *p, char *err, size_t errlen)
{
    static const char *const opts[] = {"port=" VU_VDEV, "offloads=0", "mbufs=4095",
                                       "link_wait_ms=0", NULL};
    return exc_dpdk_port_open("virtio_user", opts, p, err, errlen);
}

const struct exc_backend_ops exc_virtio_user_ops = {
    .name = "virtio_user",
    .help = "DPDK virtio_user port on /dev/vhost-net; vhost-net's tap is the exception interface",
    .usable = vu_usable,
    .vdev = vu_vdev,
    .open = vu_open,
};
