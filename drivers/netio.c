/*
 * netio.c — the table of netio backends, chosen by name at run time.
 * A backend whose library is missing at build time is left out of the table
 * (its #if guard below), and `bypassbench doctor` says so.
 */
#include "drivers/netio.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

extern const struct netio_ops netio_kernel_ops;
extern const struct netio_ops netio_afpacket_ops;
#ifdef HAVE_DPDK
extern const struct netio_ops netio_dpdk_ops;
#endif
#ifdef HAVE_AFXDP
extern const struct netio_ops netio_afxdp_ops;
#endif
#ifdef HAVE_LIBURING
extern const struct netio_ops netio_io_uring_ops;
#endif

static const struct netio_ops *const backends[] = {
    &netio_kernel_ops,
#ifdef HAVE_LIBURING
    &netio_io_uring_ops,
#endif
    &netio_afpacket_ops,
#ifdef HAVE_DPDK
    &netio_dpdk_ops,
#endif
#ifdef HAVE_AFXDP
    &netio_afxdp_ops,
#endif
    NULL,
};

const struct netio_ops *const *netio_backends(void)
{
    return backends;
}

const struct netio_ops *netio_find(const char *name)
{
    for (const struct netio_ops *const *b = backends; *b; b++)
        if (strcmp((*b)->name, name) == 0) return *b;
    return NULL;
}

const char *netio_close_reason_str(enum netio_close_reason r)
{
    static const char *const names[NETIO_CLOSE__COUNT] = {
        [NETIO_CLOSE_LOCAL] = "local",
        [NETIO_CLOSE_PEER_FIN] = "peer_fin",
        [NETIO_CLOSE_RESET] = "reset",
        [NETIO_CLOSE_CONNECT_FAILED] = "connect_failed",
        [NETIO_CLOSE_TIMEOUT] = "timeout",
        [NETIO_CLOSE_ERROR] = "error",
    };
    return (unsigned)r < NETIO_CLOSE__COUNT ? names[r] : "unknown";
}

int netio_pin_cpu(int cpu, char *err, size_t errlen)
{
    if (cpu < 0) return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
        snprintf(err, errlen, "cannot pin to CPU %d: %s", cpu, strerror(errno));
        return -1;
    }
    return 0;
}
