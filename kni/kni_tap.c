/*
 * kni_tap.c — the "tap" exception-path backend: a second DPDK port, a
 * net_tap vdev whose kernel side (iface=NAME) becomes the kernel interface.
 * Needs /dev/net/tun. The vdev is added to the EAL arguments before EAL
 * starts (netio_dpdk.c), and opened here as the "dpdk" pktio with port=NAME.
 *
 * Callers: kni/exc_backend.c (table), drivers/ustack/netio_dpdk.c.
 * Calls: pktio "dpdk" (drivers/dpdk/), exc_iface_setup (exc_iface.c).
 */
#include "exc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TAP_VDEV "net_tap_bbx"

static int tap_usable(char *why, size_t whylen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "/dev/net/tun: %s", strerror(errno));
        return -1;
    }
    close(fd);
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
    const struct pktio_ops *po = pktio_find("dpdk");
    if (!po) {
        snprintf(err, errlen, "tap exception path: the dpdk pktio is not built in");
        return NULL;
    }
    struct pktio_config pc = {.opts = opts};
    char e[512];
    struct pktio *x = po->open(&pc, e, sizeof(e));
    if (!x) {
        snprintf(err, errlen, "tap exception path: %s", e);
        return NULL;
    }
    if (exc_iface_setup(p->iface, p->mac, p->ip, p->prefix_len, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "tap exception path: %s", e);
        pktio_close(x);
        return NULL;
    }
    return x;
}

const struct exc_backend_ops exc_tap_ops = {
    .name = "tap",
    .help = "DPDK net_tap port; its kernel side is the exception interface (/dev/net/tun)",
    .usable = tap_usable,
    .vdev = tap_vdev,
    .open = tap_open,
};
