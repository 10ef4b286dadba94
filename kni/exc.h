/*
 * exc.h — the exception path (DESIGN §7): frames our stack does not own go to
 * a kernel interface carrying the same MAC and IP, and what the kernel sends
 * there goes out of the data port.
 *
 *   classify.c      exc_classify(): raw Ethernet frame -> STACK | KERNEL | BOTH
 *   exc_backend.c   the backend table, the choice (exc=auto|...) and its report
 *   kni_rte.c       rte_kni (only with HAVE_RTE_KNI; needs /dev/kni)
 *   exc_virtio_user.c  a DPDK virtio_user port on /dev/vhost-net
 *   exc_tap.c       a DPDK net_tap port on /dev/net/tun
 *   exc_iface.c     the kernel-side interface: MAC, address, netmask, up (ioctls)
 *   exc_wrap.c      a pktio wrapper: data port + exception port under the stack
 *
 * Callers: drivers/ustack/netio_dpdk.c (options exc=, exc_iface=),
 * harness/run/doctor.c (exc_report). Library code: never prints, errors come back in err.
 */
#ifndef BB_EXC_H
#define BB_EXC_H

#include "drivers/pktio.h"

#include <stddef.h>
#include <stdint.h>

/* ---- classifier ----------------------------------------------------------- */

enum exc_class {
    EXC_STACK = 1,  /* our stack owns it */
    EXC_KERNEL = 2, /* the kernel interface gets it */
    EXC_BOTH = 3,   /* both (ARP about our address) */
};

#define EXC_MAX_PORTS 16

struct exc_match {
    uint32_t ip;             /* our IPv4 address, network order */
    uint16_t eph_lo, eph_hi; /* the stack's ephemeral ports (active opens), host order */
    uint16_t nports;
    uint16_t ports[EXC_MAX_PORTS]; /* the stack's listening ports, host order */
};

/* Pure: which side gets this frame. ARP whose sender or target address is
 * ours -> BOTH; IPv4 to our address, TCP, destination port listening or in
 * [eph_lo, eph_hi] -> STACK (also a TCP header too short to read the ports,
 * which the stack counts and drops); every other frame (ICMP, UDP, other TCP
 * ports, non-first fragments, IPv6, VLAN, LLDP, short frames) -> KERNEL.
 * Known limit: a kernel client on the DUT whose local port falls in the
 * stack's ephemeral range gets its replies sent to the stack; keep the
 * kernel's net.ipv4.ip_local_port_range below eph_lo where that matters. */
enum exc_class exc_classify(const struct exc_match *m, const uint8_t *frame, uint32_t len);

/* ---- backends --------------------------------------------------------------- */

struct exc_params {
    const char *iface;  /* kernel-side interface name */
    uint8_t mac[6];     /* the data port's MAC: the kernel interface gets it */
    uint32_t ip;        /* network order */
    uint8_t prefix_len;
};

struct exc_backend_ops {
    const char *name; /* "rte_kni", "virtio_user", "tap" */
    const char *help;
    /* Can it run here (devices present)? 0, or -1 with why. Before EAL. */
    int (*usable)(char *why, size_t whylen);
    /* The --vdev spec EAL must be started with ("" when none); 0 or -1. */
    int (*vdev)(const char *iface, char *out, size_t outlen);
    /* After EAL and the data port: open the exception port and bring the
     * kernel interface up with p's MAC and address. NULL with err. */
    struct pktio *(*open)(const struct exc_params *p, char *err, size_t errlen);
};

#if defined(HAVE_DPDK) && defined(HAVE_RTE_KNI)
extern const struct exc_backend_ops exc_rte_kni_ops;
#endif
extern const struct exc_backend_ops exc_virtio_user_ops;
extern const struct exc_backend_ops exc_tap_ops;

/* Choose a backend: mode is "auto" (try rte_kni, virtio_user, tap in order),
 * a backend name, or "off" (returns NULL, report "off"). report (always
 * filled) says for each backend tried whether it runs and why not, e.g.
 * "rte_kni no (not built: make KNI=1); virtio_user no (/dev/vhost-net: No
 * such file or directory); tap yes". Returns NULL when none can run or the
 * mode is unknown (report says why). */
const struct exc_backend_ops *exc_choose(const char *mode, char *report, size_t len);

/* For doctor: the auto choice's report, into buf; returns buf. */
const char *exc_report(char *buf, size_t len);

/* The kernel interface `name`: down, MAC, address/prefix, up (ioctls on an
 * AF_INET socket in the caller's network namespace). 0 or -1 with err. */
int exc_iface_setup(const char *name, const uint8_t mac[6], uint32_t ip, uint8_t prefix_len,
                    char *err, size_t errlen);

/* The backends that are a second DPDK port (tap, virtio_user): open the
 * "dpdk" pktio with opts (port=VDEV, ...) and set up its kernel interface
 * (exc_iface_setup). what names the backend in err. NULL with err. */
struct pktio *exc_dpdk_port_open(const char *what, const char *const *opts,
                                 const struct exc_params *p, char *err, size_t errlen);
/* path (a character device) opens read-write: 0, or -1 with why. */
int exc_dev_ok(const char *path, char *why, size_t whylen);

/* The data port's kernel interface (net_af_packet iface=): strict rp_filter,
 * so that the kernel drops the IPv4 frames it sees there too (the route back
 * is the exception interface). The old value goes to old. 0 or -1 with err.
 * exc_iface_unquiet puts it back. */
int exc_iface_quiet(const char *name, char *old, size_t oldlen, char *err, size_t errlen);
void exc_iface_unquiet(const char *name, const char *old);

/* ---- the wrapper ------------------------------------------------------------- */

/* Fills out[] with the stack's listening ports (host order); returns how many. */
typedef int (*exc_ports_fn)(void *arg, uint16_t *out, int max);

struct exc_wrap_config {
    const struct exc_backend_ops *backend; /* which ran (for the counters), may be NULL */
    uint32_t ip;                           /* network order */
    uint16_t eph_lo, eph_hi;
    int zero_copy; /* 1: buffers of one pktio may be sent on the other (DPDK mbufs) */
    uint32_t poll_every; /* poll the exception port every N-th rx_burst (0 = every one) */
    const char *quiet_iface; /* the data port's kernel interface to quieten, or NULL */
};

/* A pktio over `data` (the wire) and `exc` (the kernel side). Takes both
 * (closing the wrapper closes them; on failure they are closed). With
 * quiet_iface: exc_iface_quiet on it now, exc_iface_unquiet at close. */
struct pktio *exc_wrap(struct pktio *data, struct pktio *exc, const struct exc_wrap_config *c,
                       char *err, size_t errlen);
/* Tell the wrapper where the stack's listening ports come from (after the
 * stack is opened on it). Until then only the ephemeral range is ours. */
void exc_wrap_bind(struct pktio *wrapper, exc_ports_fn fn, void *arg);

#endif
