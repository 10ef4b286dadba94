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
 * arguments from the start: dp_open asks the dpdk pktio for it through
 * pktio_config.extra_vdev (the backend's vdev() spec), which the pktio adds
 * to vdev= or eal= and which keeps the data port the first vdev=. A
 * net_af_packet data port's kernel interface is quietened while the wrapper
 * lives (exc_iface_quiet: strict rp_filter) so that the kernel does not
 * answer what it sees there too.
 *
 * Options: the stack's (netio_common.c), the dpdk pktio's (drivers/dpdk/opts.c)
 * and the exception path's (exc_opt_defs below: exc=, exc_iface=, exc_poll=).
 * exc=auto runs the first of rte_kni, virtio_user, tap that can, and none
 * when the port has no wire (ring=, a net_ring vdev) or the open brings no
 * EAL options (it shares another open's EAL). Built only with DPDK.
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

/* exc= values; exc_choose takes the name. */
static const char *const exc_modes[] = {"auto", "rte_kni", "virtio_user", "tap", "off",
                                        "virtio-user", NULL};
enum { EXC_AUTO = 0, EXC_OFF = 4 };

/* What dp_open builds: the config it hands to us_netio_open, and the
 * exception-path choice, which the wrap hook gets back as its arg. */
struct dp_exc {
    struct netio_config cfg;
    const struct exc_backend_ops *backend;
    unsigned mode;         /* exc=, an index into exc_modes */
    const char *iface_opt; /* exc_iface=, or NULL */
    uint32_t poll_every;   /* exc_poll= */
    char iface[IFNAMSIZ];
    char kiface[IFNAMSIZ]; /* the data port's kernel interface (net_af_packet iface=), or "" */
    char vdev[256];        /* the backend's vdev spec ("" for none): pktio extra_vdev */
    const char *opts[DP_MAX_OPTS + 1]; /* cfg->opts without the exception path's */
};

#define X(f) .off = offsetof(struct dp_exc, f), .size = sizeof(((struct dp_exc *)0)->f)
static const struct opt_def exc_opt_defs[] = {
    {.name = "exc", .type = OPT_ENUM, .choices = exc_modes, .def = "auto", X(mode),
     .values = "auto|rte_kni|virtio_user|tap|off",
     .help = "exception path: auto (first of rte_kni, virtio_user, tap that runs), or off"},
    {.name = "exc_iface", .type = OPT_STR, .min = 1, .max = IFNAMSIZ - 1, .values = "IFNAME",
     X(iface_opt),
     .help = "the kernel-side interface (default bbx-<pid>)"},
    {.name = "exc_poll", .type = OPT_UINT, .min = 1, .max = 1000000, .def = "1", X(poll_every),
     .help = "poll the exception port every N-th poll of the data port"},
    OPT_END,
};
#undef X

extern const struct opt_def dp_opt_defs[]; /* drivers/dpdk/opts.c */

static const struct opt_group dp_opt_groups[] = {
    {"stack", us_stack_opt_defs},
    {"exception path", exc_opt_defs},
    {"dpdk pktio", dp_opt_defs},
    {NULL, NULL},
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

/* The exception path's choice and its vdev, from the options the pktio
 * will get (read, not rewritten: the vdev goes as pktio extra_vdev). */
static int exc_prepare(struct dp_exc *x, char *err, size_t errlen)
{
    const char *const *o = x->opts;
    const char *eal = opts_value(o, "eal", -1), *vdev = opts_value(o, "vdev", 0);
    const char *mode = exc_modes[x->mode];
    char report[512];
    int auto_mode = x->mode == EXC_AUTO;
    if (auto_mode && (opts_value(o, "ring", 0) || (vdev && has_prefix(vdev, "net_ring")) ||
                      (!eal && !vdev)))
        mode = exc_modes[EXC_OFF]; /* no wire to share, or another open's EAL */
    x->backend = exc_choose(mode, report, sizeof(report));
    if (!x->backend) {
        if (auto_mode || strcmp(mode, "off") == 0) return 0; /* run without */
        snprintf(err, errlen, "dpdk: exception path exc=%s cannot run: %s", mode, report);
        return -1;
    }
    if (x->iface_opt)
        snprintf(x->iface, sizeof(x->iface), "%s", x->iface_opt);
    else
        snprintf(x->iface, sizeof(x->iface), "bbx-%ld", (long)getpid());
    if (x->backend->vdev(x->iface, x->vdev, sizeof(x->vdev)) < 0) {
        snprintf(err, errlen, "dpdk: exception path %s: vdev spec too long", x->backend->name);
        return -1;
    }
    const char *ki = vdev && has_prefix(vdev, "net_af_packet") ? strstr(vdev, "iface=") : NULL;
    if (ki) snprintf(x->kiface, sizeof(x->kiface), "%.*s", (int)strcspn(ki + 6, ","), ki + 6);
    return 0;
}

static struct netio *dp_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    static const struct netio_config none = {.cpu = -1};
    const struct pktio_ops *po = pktio_find("dpdk");
    if (!cfg) cfg = &none;
    size_t n = 0;
    while (cfg->opts && cfg->opts[n])
        n++;
    if (n > DP_MAX_OPTS) {
        snprintf(err, errlen, "dpdk: more than %d options", DP_MAX_OPTS);
        return NULL;
    }
    if (!po) {
        snprintf(err, errlen, "dpdk: the dpdk pktio is not built in");
        return NULL;
    }
    struct dp_exc *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "dpdk: out of memory");
        return NULL;
    }
    x->cfg = *cfg;
    x->cfg.opts = x->opts;
    /* Ours stored, the stack's and the pktio's checked and passed on in x->opts. */
    const struct opt_set sets[] = {{exc_opt_defs, x}, {us_stack_opt_defs, NULL}, {po->opts, NULL}};
    struct netio *io = NULL;
    if (opts_parse("dpdk", cfg->opts, sets, 3, x->opts, err, errlen) == 0 &&
        exc_prepare(x, err, errlen) == 0) {
        io = us_netio_open(&netio_dpdk_ops, "dpdk", &x->cfg, 0,
                           x->backend && *x->vdev ? x->vdev : NULL,
                           x->backend ? exc_hook : NULL, x, err, errlen);
        if (io && x->backend) exc_wrap_bind(((struct us_ctx *)io)->pkt, listen_ports, io);
    }
    free(x);
    return io;
}

const struct netio_ops netio_dpdk_ops = {
    .name = "dpdk",
    .help = "our user-space TCP/IP stack over DPDK (any PMD; needs ip, and eal= or vdev= options; "
            "exc=auto|rte_kni|virtio_user|tap|off exception path)",
    .opts = dp_opt_groups,
    .probe = dp_probe,
    .open = dp_open,
    USTACK_NETIO_OPS_BODY,
};
#endif
