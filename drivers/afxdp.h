/*
 * afxdp.h — what the afxdp pktio (drivers/afxdp.c) offers beyond pktio.h:
 * telling its XDP program what our stack owns. Frames of TCP to our address
 * on a port we own go to our socket; everything else goes to the kernel.
 * Each call writes the program's steering map through its mmap (no system
 * call). Each returns 0, or -1 when p is not an afxdp pktio.
 *
 * Callers: drivers/ustack/netio_afxdp.c (after the stack's open, listen and
 * first connect). Built only with HAVE_AFXDP.
 */
#ifndef BB_AFXDP_H
#define BB_AFXDP_H

#include "drivers/pktio.h"

#include <stdint.h>

/* Our IPv4 address (network order); until it is set nothing is ours. */
int afxdp_set_ip(struct pktio *p, uint32_t ip_be);
/* TCP to this port (host order) is ours: a listener. There is no undo: a
 * stack's listeners last as long as it does. */
int afxdp_own_port(struct pktio *p, uint16_t port);
/* TCP to ports lo..hi (host order) is ours: the ephemeral range our stack's
 * active opens use. Claimed at the first connect, so a stack that only
 * serves leaves the kernel its own ephemeral ports. */
int afxdp_own_ephemeral(struct pktio *p, uint16_t lo, uint16_t hi);

#endif
