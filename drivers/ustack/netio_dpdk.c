/*
 * netio_dpdk.c — the "dpdk" netio backend: our user-space stack over the
 * "dpdk" pktio (rte_ethdev on any PMD: net_ring, net_tap, net_af_packet,
 * net_af_xdp, PCI NICs), with the exception path (kni/, DESIGN §7) between
 * the port and the stack. Exports `netio_dpdk_ops` for drivers/netio.c.
 *
 *   netio_open("dpdk") -> dp_open() -> exc_choose() (kni/exc_backend.c)
 *        -> us_netio_open() (netio_common.c) -> pktio "dpdk" (drivers/dpdk/)
 *        -> exc_hook(x): backend->open (second DPDK port + kernel interface)
 *                       -> exc_wrap() (kni/exc_wrap.c) -> the stack on top
 *        -> exc_wrap_bind(): the classifier reads the stack's listeners
 *
 * EAL runs once per process, so the exception port's vdev must be in the EAL
 * arguments from the start: dp_open adds it to the options before the data
 * port opens (vdev=SPEC, or appended to eal=), and names the data port
 * (port=<first vdev>) so that it stays the one the stack uses. A
 * net_af_packet data port's kernel interface is quietened while the wrapper
 * lives (exc_iface_quiet: strict rp_filter) so that the kernel does not
 * answer what it sees there too.
 *
 * Options: the stack's (netio_common.c), the dpdk pktio's (eal=, vdev=,
 * port=, ...: drivers/dpdk/opts.c), and:
 *   exc=auto|rte_kni|virtio_user|tap|off  exception path (auto: the first of
 *       rte_kni, virtio_user, tap that can run; auto runs none when the port
 *       has no wire (ring=, a net_ring vdev) or the open brings no EAL options
 *       (it shares another open's EAL))
 *   exc_iface=NAME  the kernel-side interface (default bbx-<pid>)
 *   exc_poll=N      poll the exception port every N-th poll of the data port (1)
 * Built only with DPDK.
 */
#ifdef HAVE_DPDK
#include "drivers/ustack/ustack_int.h"

#include "kni/exc.h"

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern const struct netio_ops netio_dpdk_ops;

#define DP_MAX_OPTS 64

/* What dp_open builds: the config it hands to us_netio_open, and the
 * exception-path choice, which the wrap hook gets back as its arg. */
struct dp_exc {
    struct netio_config cfg;
    const struct exc_backend_ops *backend;
    char iface[IFNAMSIZ];
    char kiface[IFNAMSIZ]; /* the data port's kernel interface (net_af_packet iface=), or "" */
    char vdev_opt[320], eal_opt[2400], port_opt[96];
    const char *opts[DP_MAX_OPTS + 4];
    uint32_t poll_every;
};

static int dp_probe(char *err, size_t errlen)
{
    return us_netio_probe("dpdk", err, errlen);
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The stack's listening ports, for the classifier (exc_ports_fn). */
static int listen_ports(void *arg, uint16_t *out, int max)
{
    struct us_ctx *s = arg;
    int n = 0;
    for (int i = 0; i < US_MAX_LISTENERS && n < max; i++)
        if (s->listeners[i].used) out[n++] = s->listeners[i].port;
    return n;
}

/* us_pktio_wrap, arg = dp_open's struct dp_exc: the data port is open (so
 * is EAL, with our vdev): open the exception port and put the wrapper
 * between the port and the stack. */
static struct pktio *exc_hook(void *arg, struct pktio *p, const struct ustack_config *uc,
                              char *err, size_t errlen)
{
    const struct dp_exc *x = arg;
    struct pktio_info info;
    pktio_info(p, &info);
    struct exc_params ep = {.iface = x->iface, .ip = uc->ip.s_addr, .prefix_len = uc->prefix_len};
    memcpy(ep.mac, info.mac, 6);
    char e[512];
    struct pktio *xp = x->backend->open(&ep, e, sizeof(e));
    if (!xp) {
        snprintf(err, errlen, "dpdk: exception path (exc=%s): %s", x->backend->name, e);
        pktio_close(p);
        return NULL;
    }
    struct exc_wrap_config wc = {.backend = x->backend,
                                 .ip = uc->ip.s_addr,
                                 .eph_lo = US_EPHEMERAL_LO,
                                 .eph_hi = US_EPHEMERAL_HI,
                                 .zero_copy = 1,
                                 .poll_every = x->poll_every,
                                 .quiet_iface = *x->kiface ? x->kiface : NULL};
    return exc_wrap(p, xp, &wc, err, errlen); /* closes both on failure */
}

/* Options without exc=/exc_iface=, with the exception vdev added. */
static int exc_prepare(struct dp_exc *x, const char *mode, const char *iface, char *err, size_t errlen)
{
    const char *const *in = x->cfg.opts;
    const char *eal = NULL, *vdev = NULL, *port = NULL, *ring = NULL;
    size_t n = 0;
    for (const char *const *o = in; o && *o; o++) {
        if (has_prefix(*o, "eal=")) eal = *o + 4;
        if (has_prefix(*o, "vdev=") && !vdev) vdev = *o + 5;
        if (has_prefix(*o, "port=")) port = *o;
        if (has_prefix(*o, "ring=")) ring = *o;
    }
    char report[512];
    int auto_mode = !mode || strcmp(mode, "auto") == 0;
    if (auto_mode && (ring || (vdev && has_prefix(vdev, "net_ring")) || (!eal && !vdev)))
        mode = "off"; /* no wire to share, or another open's EAL */
    x->backend = exc_choose(mode, report, sizeof(report));
    if (!x->backend) {
        if (auto_mode || strcmp(mode, "off") == 0) return 0; /* run without */
        snprintf(err, errlen, "dpdk: exception path exc=%s cannot run: %s", mode, report);
        return -1;
    }
    if (iface && (!*iface || strlen(iface) >= IFNAMSIZ)) {
        snprintf(err, errlen, "dpdk: exc_iface='%s': want 1..%d characters", iface, IFNAMSIZ - 1);
        return -1;
    }
    snprintf(x->iface, sizeof(x->iface), "%s", iface ? iface : "");
    if (!iface) snprintf(x->iface, sizeof(x->iface), "bbx-%ld", (long)getpid());
    char spec[256];
    if (x->backend->vdev(x->iface, spec, sizeof(spec)) < 0) {
        snprintf(err, errlen, "dpdk: exception path %s: vdev spec too long", x->backend->name);
        return -1;
    }
    for (const char *const *o = in; o && *o; o++) {
        if (*spec && eal && has_prefix(*o, "eal=")) {
            int w = snprintf(x->eal_opt, sizeof(x->eal_opt), "eal=%s --vdev=%s", eal, spec);
            if (w < 0 || (size_t)w >= sizeof(x->eal_opt)) {
                snprintf(err, errlen, "dpdk: eal= too long to add the exception vdev");
                return -1;
            }
            x->opts[n++] = x->eal_opt;
        } else {
            x->opts[n++] = *o;
        }
    }
    if (*spec && !eal) {
        snprintf(x->vdev_opt, sizeof(x->vdev_opt), "vdev=%s", spec);
        x->opts[n++] = x->vdev_opt;
    }
    const char *ki = vdev && has_prefix(vdev, "net_af_packet") ? strstr(vdev, "iface=") : NULL;
    if (ki) snprintf(x->kiface, sizeof(x->kiface), "%.*s", (int)strcspn(ki + 6, ","), ki + 6);
    if (*spec && !port && vdev) { /* keep the data port the first vdev, whatever the probe order */
        size_t l = strcspn(vdev, ",");
        snprintf(x->port_opt, sizeof(x->port_opt), "port=%.*s", (int)l, vdev);
        x->opts[n++] = x->port_opt;
    }
    x->opts[n] = NULL;
    x->cfg.opts = x->opts;
    return 0;
}

static struct netio *dp_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    struct dp_exc *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "dpdk: out of memory");
        return NULL;
    }
    if (cfg) x->cfg = *cfg;
    const char *mode = NULL, *iface = NULL;
    size_t n = 0;
    for (const char *const *o = cfg ? cfg->opts : NULL; o && *o; o++) {
        if (has_prefix(*o, "exc=")) {
            mode = *o + 4;
        } else if (has_prefix(*o, "exc_iface=")) {
            iface = *o + 10;
        } else if (has_prefix(*o, "exc_poll=")) {
            char *end = NULL;
            unsigned long v = strtoul(*o + 9, &end, 10);
            if (!(*o)[9] || *end || v < 1 || v > 1000000) {
                snprintf(err, errlen, "dpdk: option '%s': want exc_poll=1..1000000", *o);
                free(x);
                return NULL;
            }
            x->poll_every = (uint32_t)v;
        } else if (n < DP_MAX_OPTS) {
            x->opts[n++] = *o;
        } else {
            snprintf(err, errlen, "dpdk: more than %d options", DP_MAX_OPTS);
            free(x);
            return NULL;
        }
    }
    x->opts[n] = NULL;
    x->cfg.opts = x->opts;
    /* exc_prepare reads x->cfg.opts (a copy) and rebuilds x->opts from it */
    const char *copy[DP_MAX_OPTS + 1];
    memcpy(copy, x->opts, (n + 1) * sizeof(*copy));
    x->cfg.opts = copy;
    struct netio *io = NULL;
    if (exc_prepare(x, mode, iface, err, errlen) == 0) {
        if (!x->backend) x->cfg.opts = copy;
        io = us_netio_open(&netio_dpdk_ops, "dpdk", &x->cfg, 0, x->backend ? exc_hook : NULL, x,
                           err, errlen);
        if (io && x->backend) exc_wrap_bind(((struct us_ctx *)io)->pkt, listen_ports, io);
    }
    free(x);
    return io;
}

const struct netio_ops netio_dpdk_ops = {
    .name = "dpdk",
    .help = "our user-space TCP/IP stack over DPDK (any PMD; needs ip, and eal= or vdev= options; "
            "exc=auto|rte_kni|virtio_user|tap|off exception path)",
    .probe = dp_probe,
    .open = dp_open,
    USTACK_NETIO_OPS_BODY,
};
#endif
