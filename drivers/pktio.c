/*
 * pktio.c — the table of pktio backends (DESIGN §3), chosen by name at run
 * time: "memlink" (memlink.c; endpoints are made with memlink_pair),
 * "afpacket" (afpacket.c) and, when built with DPDK, "dpdk" (dpdk/port.c),
 * when built with libxdp and libbpf, "afxdp" (afxdp.c).
 * impair.c is a wrapper, not a backend, and is not listed.
 * Callers: drivers/ustack/, harness/, tests.
 */
#include "drivers/pktio.h"

#include <string.h>

extern const struct pktio_ops pktio_memlink_ops;
extern const struct pktio_ops pktio_afpacket_ops;
#ifdef HAVE_DPDK
extern const struct pktio_ops pktio_dpdk_ops;
#endif
#ifdef HAVE_AFXDP
extern const struct pktio_ops pktio_afxdp_ops;
#endif

static const struct pktio_ops *const backends[] = {
    &pktio_memlink_ops,
    &pktio_afpacket_ops,
#ifdef HAVE_DPDK
    &pktio_dpdk_ops,
#endif
#ifdef HAVE_AFXDP
    &pktio_afxdp_ops,
#endif
    NULL,
};

const struct pktio_ops *pktio_find(const char *name)
{
    if (!name) return NULL;
    for (const struct pktio_ops *const *b = backends; *b; b++)
        if (strcmp((*b)->name, name) == 0) return *b;
    return NULL;
}
