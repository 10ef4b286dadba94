/*
 * afxdp.c — pktio over an AF_XDP socket on a kernel interface (DESIGN §3,
 * §5: the DUT side of the veth topology under our stack), with libxdp's
 * socket API (xsk.h) and libbpf for the XDP program. Built only when
 * libxdp, libbpf and clang were found (HAVE_AFXDP); else left out of the
 * pktio and netio tables, and doctor says why.
 *
 * Callers: drivers/ustack/netio_afxdp.c through the pktio.h wrappers and
 * drivers/afxdp.h (address and ports to steer), harness/ (doctor: probe),
 * tests. Calls: afxdp_prog.c (the XDP program: load, attach, counters),
 * libxdp (UMEM, socket), libbpf (XSKMAP, ARP ring), sendto/recvfrom
 * (wake-ups), epoll.
 *
 * open: the XDP program (drivers/bpf/afxdp_redirect.bpf.c, afxdp_prog.c)
 *   is loaded; a UMEM of `frames` frames of `frame_size` bytes is made, its
 *   fill and completion rings; the socket is bound to `queue` (zero-copy when
 *   the device has it and mode allows, else copy: veth is copy) with
 *   need_wakeup; the socket goes into the program's XSKMAP; the program is
 *   attached through a bpf_link (native XDP when the driver has it and
 *   xdp_mode allows, else generic). A bpf_link detaches when its last
 *   descriptor closes: a normal close, an error in open and a kill -9 all
 *   leave no program on the interface. Steering starts with nothing ours;
 *   afxdp_set_ip / afxdp_own_port / afxdp_own_ephemeral (drivers/afxdp.h)
 *   write the steering map through its mmap, no system call.
 * RX: rx_burst refills the fill ring from the free frames (keeping `tx_size`
 *   frames for TX), wakes the kernel if it asks (need_wakeup), takes up to
 *   `batch` descriptors off the RX ring and hands their frames out in place
 *   (the kernel copied the frame into our UMEM; nothing is copied here).
 *   Then ARP copies from the program's ARP ring, each into a free frame.
 * TX: alloc hands out a free frame; tx_burst puts frames on the TX ring and
 *   kicks the kernel (sendto) when it asks: in copy mode every time, and the
 *   kernel sends at most 32 frames per kick, so kicks repeat while it says
 *   EAGAIN. Completed frames come back through the completion ring.
 * info.fd is an epoll descriptor over the socket (RX ring) and the ARP ring.
 *
 * Frames: every UMEM frame is in exactly one place: free (our stack), the
 * fill ring or the kernel's RX path, the RX ring, out with the caller (RX
 * or alloc), the TX ring or the completion ring. in_use() counts those out
 * with the caller. Every frame the kernel or we dropped is counted by
 * reason (counters: ours, the socket's XDP_STATISTICS, the program's).
 *
 * Options (cfg->opts, key=value): the table axp_opt_defs below.
 * cfg->pool_size, when set, is the number of UMEM frames (frames= wins).
 */
#ifdef HAVE_AFXDP
#include "drivers/afxdp.h"
#include "drivers/afxdp_int.h"
#include "drivers/bpf/afxdp_maps.h"
#include "drivers/opts.h"
#include "drivers/pktio.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#define AXP_ETH_HLEN 14u
#define AXP_KICK_BATCH 32u /* frames the kernel sends per copy-mode kick */
#define AXP_MAX_ARP 32     /* ARP copies waiting for room in an rx_burst */

enum axp_ctr {
    AXP_RX_FRAMES,
    AXP_TX_FRAMES,
    AXP_RX_BYTES,
    AXP_TX_BYTES,
    AXP_RX_ARP_COPIES,  /* ARP frames from the program's copy ring, handed out */
    AXP_RX_BAD_DESC,    /* RX descriptor outside the UMEM or too long: frame dropped */
    AXP_ARP_NO_FRAME,   /* ARP copy dropped: no free frame or no room */
    AXP_TX_BAD_LEN,     /* frame shorter than an Ethernet header or over its frame: dropped */
    AXP_TX_BUSY,        /* TX ring full: tx_burst accepted fewer */
    AXP_TX_KICK_ERRORS, /* sendto failed (not EAGAIN/EBUSY/ENOBUFS): frames wait in the ring */
    AXP_POOL_EMPTY,     /* alloc failed: no free frame (a starved fill ring: xsk_fill_ring_empty) */
    AXP_FREE_FOREIGN,   /* free()/tx_burst() of a buffer not from this UMEM: ignored, not sent */
    AXP_SYS_SENDTO,     /* TX kicks */
    AXP_SYS_RECVFROM,   /* fill-ring wake-ups */
    /* the socket's XDP_STATISTICS (kernel counts, read at counters()) */
    AXP_K_RX_DROPPED,    /* dropped for other reasons (e.g. frame too large) */
    AXP_K_RX_INVALID,    /* invalid fill/RX descriptors */
    AXP_K_TX_INVALID,    /* invalid TX descriptors */
    AXP_K_RX_RING_FULL,  /* RX ring full: frame dropped */
    AXP_K_FILL_EMPTY,    /* fill ring empty: frame dropped */
    AXP_K_TX_RING_EMPTY, /* kicks that found the TX ring empty */
    /* the mode that ran (0/1) */
    AXP_MODE_ZEROCOPY,    /* 1: zero-copy bind; 0: copy */
    AXP_MODE_XDP_NATIVE,  /* 1: native (driver) XDP; 0: generic (skb) XDP */
    AXP_MODE_NEED_WAKEUP, /* 1: rings with need_wakeup */
    AXP__CTR_COUNT
};

static const char *const axp_ctr_names[AXP__CTR_COUNT] = {
    [AXP_RX_FRAMES] = "rx_frames",
    [AXP_TX_FRAMES] = "tx_frames",
    [AXP_RX_BYTES] = "rx_bytes",
    [AXP_TX_BYTES] = "tx_bytes",
    [AXP_RX_ARP_COPIES] = "rx_arp_copies",
    [AXP_RX_BAD_DESC] = "rx_bad_desc",
    [AXP_ARP_NO_FRAME] = "arp_no_frame",
    [AXP_TX_BAD_LEN] = "tx_bad_len",
    [AXP_TX_BUSY] = "tx_busy",
    [AXP_TX_KICK_ERRORS] = "tx_kick_errors",
    [AXP_POOL_EMPTY] = "pool_empty",
    [AXP_FREE_FOREIGN] = "free_foreign",
    [AXP_SYS_SENDTO] = "sys_sendto",
    [AXP_SYS_RECVFROM] = "sys_recvfrom",
    [AXP_K_RX_DROPPED] = "xsk_rx_dropped",
    [AXP_K_RX_INVALID] = "xsk_rx_invalid_descs",
    [AXP_K_TX_INVALID] = "xsk_tx_invalid_descs",
    [AXP_K_RX_RING_FULL] = "xsk_rx_ring_full",
    [AXP_K_FILL_EMPTY] = "xsk_fill_ring_empty",
    [AXP_K_TX_RING_EMPTY] = "xsk_tx_ring_empty",
    [AXP_MODE_ZEROCOPY] = "mode_zerocopy",
    [AXP_MODE_XDP_NATIVE] = "mode_xdp_native",
    [AXP_MODE_NEED_WAKEUP] = "mode_need_wakeup",
};

/* ---- options ------------------------------------------------------------ */

static const char *const bind_modes[] = {"auto", "copy", "zerocopy", NULL};
enum { BIND_AUTO, BIND_COPY, BIND_ZEROCOPY };
static const char *const xdp_modes[] = {"auto", "native", "generic", NULL};

struct axp_opts {
    uint32_t frame_size, frames, fill_size, comp_size, rx_size, tx_size, batch, queue;
    unsigned mode, xdp_mode;
    int need_wakeup;
};

#define O(f) .off = offsetof(struct axp_opts, f), .size = sizeof(((struct axp_opts *)0)->f)
/* One row per option reads better than one line per field. */
// clang-format off
const struct opt_def axp_opt_defs[] = {
    {.name = "frame_size", .type = OPT_SIZE, .min = 2048, .max = 4096, .def = "2048", O(frame_size),
     .help = "UMEM frame, bytes: 2048 or 4096 (256 of it is the kernel's RX headroom)"},
    {.name = "frames", .type = OPT_SIZE, .min = 256, .max = 1u << 20, .def = "8192", O(frames),
     .help = "UMEM frames, shared by RX and TX (k = 1024; default: the caller's pool size if set)"},
    {.name = "fill_size", .type = OPT_SIZE, .min = 64, .max = 1u << 16, .def = "2048", O(fill_size),
     .help = "fill ring, descriptors, a power of two"},
    {.name = "comp_size", .type = OPT_SIZE, .min = 64, .max = 1u << 16, .def = "2048", O(comp_size),
     .help = "completion ring, descriptors, a power of two"},
    {.name = "rx_size", .type = OPT_SIZE, .min = 64, .max = 1u << 16, .def = "2048", O(rx_size),
     .help = "RX ring, descriptors, a power of two"},
    {.name = "tx_size", .type = OPT_SIZE, .min = 64, .max = 1u << 16, .def = "2048", O(tx_size),
     .help = "TX ring, descriptors, a power of two (as many frames are kept for TX)"},
    {.name = "batch", .type = OPT_UINT, .min = 1, .max = 1024, .def = "64", O(batch),
     .help = "descriptors moved per ring operation (RX peek, fill refill, completions)"},
    {.name = "mode", .type = OPT_ENUM, .choices = bind_modes, .def = "auto", O(mode),
     .values = "auto|copy|zerocopy",
     .help = "socket bind: zerocopy, copy, or auto (zero-copy where the device has it, else copy)"},
    {.name = "xdp_mode", .type = OPT_ENUM, .choices = xdp_modes, .def = "auto", O(xdp_mode),
     .values = "auto|native|generic",
     .help = "XDP attach: native (driver), generic (skb), or auto (native, else generic)"},
    {.name = "queue", .type = OPT_UINT, .min = 0, .max = AFXDP_MAX_QUEUES - 1, .def = "0", O(queue),
     .help = "RX queue the socket binds to (frames of ours on other queues are dropped, counted)"},
    {.name = "need_wakeup", .type = OPT_BOOL, .def = "1", O(need_wakeup),
     .help = "1: the kernel says when it needs a system call to go on (fewer syscalls)"},
    OPT_END,
};
// clang-format on
#undef O

static int pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

static int parse_opts(const char *const *opts, uint32_t pool, struct axp_opts *o, char *err,
                      size_t errlen)
{
    memset(o, 0, sizeof(*o));
    const struct opt_set set = {axp_opt_defs, o};
    if (opts_parse("afxdp", opts, &set, 1, NULL, err, errlen) < 0) return -1;
    if (pool && !opts_value(opts, "frames", 0)) o->frames = pool;
    if (!pow2(o->frame_size)) {
        snprintf(err, errlen, "afxdp: frame_size=%u must be 2048 or 4096", o->frame_size);
        return -1;
    }
    const struct {
        const char *name;
        uint32_t v;
    } rings[] = {{"fill_size", o->fill_size},
                 {"comp_size", o->comp_size},
                 {"rx_size", o->rx_size},
                 {"tx_size", o->tx_size}};
    for (size_t i = 0; i < sizeof(rings) / sizeof(rings[0]); i++)
        if (!pow2(rings[i].v)) {
            snprintf(err, errlen, "afxdp: %s=%u is not a power of two", rings[i].name, rings[i].v);
            return -1;
        }
    if (o->frames < o->tx_size + o->batch || o->frames > (1u << 20)) {
        snprintf(err, errlen,
                 "afxdp: frames=%u must be at least tx_size + batch = %u (frames kept for TX "
                 "plus one RX batch) and at most %u",
                 o->frames, o->tx_size + o->batch, 1u << 20);
        return -1;
    }
    return 0;
}

/* ---- state ---------------------------------------------------------------- */

struct axp {
    struct pktio base; /* first */
    char ifname[IFNAMSIZ];
    int ifindex;
    struct axp_prog prog; /* the XDP program and its maps (afxdp_prog.c) */
    /* socket */
    void *area;
    size_t area_len;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fq, tx;
    struct xsk_ring_cons cq, rx;
    int xfd, epfd;
    uint32_t frame_size, nframes, batch, tx_keep;
    /* frames */
    struct pktbuf *bufs; /* one per frame, index = addr / frame_size */
    uint64_t *free_addrs;
    uint32_t nfree, out, tx_pending;
    struct pktbuf *arp[AXP_MAX_ARP]; /* ARP copies not yet handed out */
    uint32_t narp;
    struct pktio_info info;
    uint64_t ctr[AXP__CTR_COUNT];
};

extern const struct pktio_ops pktio_afxdp_ops;

static struct axp *axp_of(struct pktio *p)
{
    return (struct axp *)p;
}

/* ---- frames --------------------------------------------------------------- */

static inline void frame_put(struct axp *a, uint64_t addr)
{
    a->free_addrs[a->nfree++] = addr - addr % a->frame_size;
}

/* Completed TX frames back to the free list. */
static void reclaim(struct axp *a)
{
    if (!a->tx_pending) return;
    uint32_t idx;
    uint32_t n = xsk_ring_cons__peek(&a->cq, a->tx_pending, &idx);
    for (uint32_t i = 0; i < n; i++)
        frame_put(a, *xsk_ring_cons__comp_addr(&a->cq, idx + i));
    if (n) xsk_ring_cons__release(&a->cq, n);
    a->tx_pending -= n;
}

/* Keep the fill ring stocked (at most `most` frames more), leaving tx_keep
 * frames for TX. */
static void refill(struct axp *a, uint32_t most)
{
    uint32_t avail = a->nfree > a->tx_keep ? a->nfree - a->tx_keep : 0;
    uint32_t want = xsk_prod_nb_free(&a->fq, most);
    if (want > most) want = most;
    if (want > avail) want = avail;
    uint32_t idx;
    if (want && xsk_ring_prod__reserve(&a->fq, want, &idx) == want) {
        for (uint32_t i = 0; i < want; i++)
            *xsk_ring_prod__fill_addr(&a->fq, idx + i) = a->free_addrs[--a->nfree];
        xsk_ring_prod__submit(&a->fq, want);
    }
    if (xsk_ring_prod__needs_wakeup(&a->fq)) {
        a->ctr[AXP_SYS_RECVFROM]++;
        (void)recvfrom(a->xfd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
    }
}

static struct pktbuf *frame_buf(struct axp *a, uint64_t addr, uint32_t len)
{
    struct pktbuf *b = &a->bufs[addr / a->frame_size];
    uint32_t off = (uint32_t)(addr % a->frame_size);
    b->data = (uint8_t *)a->area + addr;
    b->len = len;
    b->cap = a->frame_size - off;
    b->ol_flags = 0;
    b->l2_len = b->l3_len = 0;
    return b;
}

/* ---- steering (drivers/afxdp.h) ------------------------------------------ */

static struct axp *axp_cast(struct pktio *p)
{
    return p && p->ops == &pktio_afxdp_ops ? axp_of(p) : NULL;
}

int afxdp_set_ip(struct pktio *p, uint32_t ip_be)
{
    struct axp *a = axp_cast(p);
    if (!a) return -1;
    __atomic_store_n(&a->prog.steer->ip, ip_be, __ATOMIC_RELEASE);
    return 0;
}

int afxdp_own_port(struct pktio *p, uint16_t port)
{
    struct axp *a = axp_cast(p);
    if (!a) return -1;
    __atomic_fetch_or(&a->prog.steer->ports[port >> 3], (uint8_t)(1u << (port & 7)),
                      __ATOMIC_RELEASE);
    return 0;
}

int afxdp_own_ephemeral(struct pktio *p, uint16_t lo, uint16_t hi)
{
    struct axp *a = axp_cast(p);
    if (!a || lo > hi) return -1;
    if (a->prog.steer->eph_on) return 0;
    a->prog.steer->eph_lo = lo;
    a->prog.steer->eph_hi = hi;
    __atomic_store_n(&a->prog.steer->eph_on, 1u, __ATOMIC_RELEASE);
    return 0;
}

/* ---- ARP copies ----------------------------------------------------------- */

/* ring_buffer callback: one ARP frame (AFXDP_ARP_COPY bytes) into a free frame. */
static int arp_sample(void *ctx, void *data, size_t len)
{
    struct axp *a = ctx;
    if (len > a->frame_size || a->narp >= AXP_MAX_ARP || a->nfree == 0) {
        a->ctr[AXP_ARP_NO_FRAME]++;
        return 0;
    }
    uint64_t addr = a->free_addrs[--a->nfree];
    struct pktbuf *b = frame_buf(a, addr, (uint32_t)len);
    memcpy(b->data, data, len);
    a->arp[a->narp++] = b;
    return 0;
}

/* ---- open / close --------------------------------------------------------- */

static void axp_destroy(struct axp *a)
{
    if (!a) return;
    /* The program first: from here on nothing is steered to a closing socket. */
    axp_prog_close(&a->prog);
    if (a->xsk) xsk_socket__delete(a->xsk);
    if (a->umem) xsk_umem__delete(a->umem);
    if (a->epfd >= 0) close(a->epfd);
    if (a->area) munmap(a->area, a->area_len);
    free(a->bufs);
    free(a->free_addrs);
    free(a);
}

static int axp_probe(char *err, size_t errlen)
{
    int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "afxdp: cannot open an AF_XDP socket (%s)%s", strerror(errno),
                 errno == EPERM                             ? ": needs CAP_NET_RAW (run as root)"
                 : errno == EAFNOSUPPORT || errno == EINVAL ? ": kernel without CONFIG_XDP_SOCKETS"
                                                            : "");
        return -1;
    }
    close(fd);
    return 0;
}

static int iface_info(struct axp *a, const char *iface, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "afxdp: socket for interface ioctls: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, iface, strlen(iface));
    int rc = -1;
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        snprintf(err, errlen, "afxdp: interface '%s': %s", iface, strerror(errno));
        goto out;
    }
    a->ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        snprintf(err, errlen, "afxdp: SIOCGIFHWADDR on '%s': %s", iface, strerror(errno));
        goto out;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        snprintf(err, errlen, "afxdp: '%s' is not an Ethernet interface (ARPHRD %u)", iface,
                 ifr.ifr_hwaddr.sa_family);
        goto out;
    }
    memcpy(a->info.mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
        snprintf(err, errlen, "afxdp: SIOCGIFMTU on '%s': %s", iface, strerror(errno));
        goto out;
    }
    uint32_t room = a->frame_size - XDP_PACKET_HEADROOM;
    if (ifr.ifr_mtu <= 0 || (uint32_t)ifr.ifr_mtu + AXP_ETH_HLEN + 4 > room ||
        (uint32_t)ifr.ifr_mtu + AXP_ETH_HLEN + 4 > PKTIO_MAX_FRAME) {
        snprintf(err, errlen,
                 "afxdp: '%s' has MTU %d; frames must fit %u bytes (frame_size %u less the %d "
                 "bytes of RX headroom) and %d",
                 iface, ifr.ifr_mtu, room, a->frame_size, XDP_PACKET_HEADROOM, PKTIO_MAX_FRAME);
        goto out;
    }
    a->info.mtu = (uint16_t)ifr.ifr_mtu;
    rc = 0;
out:
    close(fd);
    return rc;
}

/* The UMEM area (registered with the kernel by bind_once), a pktbuf per
 * frame and the free list holding every frame. */
static int make_area(struct axp *a, const struct axp_opts *o, char *err, size_t errlen)
{
    a->frame_size = o->frame_size;
    a->nframes = o->frames;
    a->area_len = (size_t)o->frames * o->frame_size;
    void *m = mmap(NULL, a->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "afxdp: mmap of a %zu-byte UMEM: %s", a->area_len, strerror(errno));
        return -1;
    }
    a->area = m;
    a->bufs = calloc(o->frames, sizeof(*a->bufs));
    a->free_addrs = calloc(o->frames, sizeof(*a->free_addrs));
    if (!a->bufs || !a->free_addrs) {
        snprintf(err, errlen, "afxdp: out of memory for %u frames", o->frames);
        return -1;
    }
    for (uint32_t i = 0; i < o->frames; i++) {
        a->bufs[i].priv = a;
        a->free_addrs[a->nfree++] = (uint64_t)(o->frames - 1 - i) * o->frame_size;
    }
    return 0;
}

/* A UMEM (with its fill and completion rings) and a socket bound to
 * queue with these bind flags. A failed bind leaves libxdp's UMEM half
 * set up (its rings consumed): it is deleted, and the next try makes a
 * fresh one. A queue whose last socket has just closed stays busy until the
 * kernel's deferred release runs: EBUSY is retried for up to 2 s. */
static int bind_once(struct axp *a, const struct axp_opts *o, uint16_t flags)
{
    struct xsk_umem_config uc = {.fill_size = o->fill_size,
                                 .comp_size = o->comp_size,
                                 .frame_size = o->frame_size,
                                 .frame_headroom = 0,
                                 .flags = 0};
    struct xsk_socket_config sc = {.rx_size = o->rx_size,
                                   .tx_size = o->tx_size,
                                   .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
                                   .xdp_flags = 0,
                                   .bind_flags = flags};
    int rc = 0;
    for (int tries = 0; tries < 200; tries++) {
        rc = xsk_umem__create(&a->umem, a->area, a->area_len, &a->fq, &a->cq, &uc);
        if (rc) {
            a->umem = NULL;
            return rc;
        }
        rc = xsk_socket__create(&a->xsk, a->ifname, o->queue, a->umem, &a->rx, &a->tx, &sc);
        if (!rc) return 0;
        a->xsk = NULL;
        xsk_umem__delete(a->umem);
        a->umem = NULL;
        if (rc != -EBUSY) break;
        usleep(10000);
    }
    return rc;
}

static int make_socket(struct axp *a, const struct axp_opts *o, char *err, size_t errlen)
{
    uint16_t wake = o->need_wakeup ? XDP_USE_NEED_WAKEUP : 0;
    int rc = -EOPNOTSUPP;
    if (o->mode != BIND_COPY) {
        rc = bind_once(a, o, wake | XDP_ZEROCOPY);
        if (rc && o->mode == BIND_ZEROCOPY)
            return axp_lib_fail(err, errlen, rc, "zero-copy bind to %s queue %u (mode=zerocopy)",
                                a->ifname, o->queue);
    }
    if (rc && (rc = bind_once(a, o, wake | XDP_COPY)) != 0)
        return axp_lib_fail(err, errlen, rc,
                            "UMEM of %u x %u bytes and a socket bound to %s queue %u", o->frames,
                            o->frame_size, a->ifname, o->queue);
    a->xfd = xsk_socket__fd(a->xsk);
    struct xdp_options xo;
    socklen_t ol = sizeof(xo);
    if (getsockopt(a->xfd, SOL_XDP, XDP_OPTIONS, &xo, &ol) == 0)
        a->ctr[AXP_MODE_ZEROCOPY] = (xo.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    a->ctr[AXP_MODE_NEED_WAKEUP] = o->need_wakeup != 0;
    uint32_t q = o->queue;
    rc = bpf_map_update_elem(a->prog.xsks_fd, &q, &a->xfd, BPF_ANY);
    if (rc) return axp_lib_fail(err, errlen, rc, "putting the socket into the XSKMAP");
    return 0;
}

static int make_epoll(struct axp *a, char *err, size_t errlen)
{
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (a->epfd < 0) {
        snprintf(err, errlen, "afxdp: epoll_create1: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = a->xfd;
    if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->xfd, &ev) < 0) {
        snprintf(err, errlen, "afxdp: epoll_ctl(socket): %s", strerror(errno));
        return -1;
    }
    int rfd = ring_buffer__epoll_fd(a->prog.arp_rb);
    ev.data.fd = rfd;
    if (rfd >= 0 && epoll_ctl(a->epfd, EPOLL_CTL_ADD, rfd, &ev) < 0) {
        snprintf(err, errlen, "afxdp: epoll_ctl(ARP ring): %s", strerror(errno));
        return -1;
    }
    return 0;
}

static struct pktio *axp_open(const struct pktio_config *cfg, char *err, size_t errlen)
{
    if (!cfg || !cfg->iface || !*cfg->iface) {
        snprintf(err, errlen, "afxdp: no interface given (cfg->iface)");
        return NULL;
    }
    if (strlen(cfg->iface) >= IFNAMSIZ) {
        snprintf(err, errlen, "afxdp: interface name '%s' is too long", cfg->iface);
        return NULL;
    }
    struct axp_opts o;
    if (parse_opts(cfg->opts, cfg->pool_size, &o, err, errlen) < 0) return NULL;
    struct axp *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "afxdp: out of memory");
        return NULL;
    }
    a->base.ops = &pktio_afxdp_ops;
    a->epfd = a->xfd = a->prog.link_fd = a->prog.xsks_fd = a->prog.xstats_fd = -1;
    snprintf(a->ifname, sizeof(a->ifname), "%s", cfg->iface);
    a->batch = o.batch;
    a->tx_keep = o.tx_size;
    a->frame_size = o.frame_size;
    axp_lib_quiet();
    if (iface_info(a, cfg->iface, err, errlen) < 0 ||
        axp_prog_load(&a->prog, arp_sample, a, err, errlen) < 0 ||
        make_area(a, &o, err, errlen) < 0 || make_socket(a, &o, err, errlen) < 0 ||
        make_epoll(a, err, errlen) < 0 ||
        axp_prog_attach(&a->prog, a->ifindex, a->ifname, o.xdp_mode, err, errlen) < 0) {
        axp_destroy(a);
        return NULL;
    }
    a->ctr[AXP_MODE_XDP_NATIVE] = (uint64_t)a->prog.native;
    refill(a, a->nframes); /* as full as it goes: a burst may come before the first poll */
    a->info.offloads = 0;  /* checksums in software: AF_XDP carries no offload metadata here */
    a->info.fd = a->epfd;
    a->info.tx_burst = 32; /* a ring operation, and a copy-mode kick sends 32 */
    return &a->base;
}

static void axp_close(struct pktio *p)
{
    axp_destroy(axp_of(p));
}

/* ---- RX ------------------------------------------------------------------- */

static uint16_t axp_rx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct axp *a = axp_of(p);
    refill(a, a->batch);
    uint16_t got = 0;
    uint32_t idx, want = n < a->batch ? n : a->batch;
    uint32_t k = xsk_ring_cons__peek(&a->rx, want, &idx);
    for (uint32_t i = 0; i < k; i++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&a->rx, idx + i);
        if (d->addr >= a->area_len || d->len > a->frame_size - d->addr % a->frame_size ||
            d->len < AXP_ETH_HLEN) {
            a->ctr[AXP_RX_BAD_DESC]++;
            if (d->addr < a->area_len) frame_put(a, d->addr);
            continue;
        }
        bufs[got++] = frame_buf(a, d->addr, d->len);
        a->ctr[AXP_RX_BYTES] += d->len;
    }
    if (k) xsk_ring_cons__release(&a->rx, k);
    if (!a->narp) ring_buffer__consume(a->prog.arp_rb);
    uint32_t j = 0;
    for (; j < a->narp && got < n; j++) {
        bufs[got++] = a->arp[j];
        a->ctr[AXP_RX_ARP_COPIES]++;
        a->ctr[AXP_RX_BYTES] += a->arp[j]->len;
    }
    if (j) {
        memmove(a->arp, a->arp + j, (a->narp - j) * sizeof(a->arp[0]));
        a->narp -= j;
    }
    a->ctr[AXP_RX_FRAMES] += got;
    a->out += got;
    return got;
}

/* ---- TX ------------------------------------------------------------------- */

static int bad_len(const struct axp *a, const struct pktbuf *b)
{
    return b->len < AXP_ETH_HLEN || b->len > b->cap || (uint8_t *)b->data < (uint8_t *)a->area ||
           (size_t)((uint8_t *)b->data - (uint8_t *)a->area) + b->len > a->area_len;
}

static int ours(const struct axp *a, const struct pktbuf *b)
{
    return b && b >= a->bufs && b < a->bufs + a->nframes;
}

/* Tell the kernel to send what is on the TX ring (copy mode: it sends up to
 * 32 frames per call and says EAGAIN while more are left). */
static void kick(struct axp *a, uint32_t queued)
{
    if (!xsk_ring_prod__needs_wakeup(&a->tx)) return;
    for (uint32_t round = 0; round <= queued / AXP_KICK_BATCH + 1; round++) {
        a->ctr[AXP_SYS_SENDTO]++;
        if (sendto(a->xfd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) return;
        if (errno == EAGAIN) continue;
        if (errno != EBUSY && errno != ENOBUFS) a->ctr[AXP_TX_KICK_ERRORS]++;
        return;
    }
}

static uint16_t axp_tx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct axp *a = axp_of(p);
    reclaim(a);
    uint16_t i = 0;
    uint32_t queued = 0;
    while (i < n) {
        if (!ours(a, bufs[i])) { /* not a frame of this UMEM: cannot be sent from it */
            a->ctr[AXP_FREE_FOREIGN]++;
            i++;
            continue;
        }
        if (bad_len(a, bufs[i])) {
            a->ctr[AXP_TX_BAD_LEN]++;
            frame_put(a, (uint64_t)(bufs[i] - a->bufs) * a->frame_size);
            a->out--;
            i++;
            continue;
        }
        uint16_t run = 0;
        while (i + run < n && ours(a, bufs[i + run]) && !bad_len(a, bufs[i + run]))
            run++;
        uint32_t room = xsk_prod_nb_free(&a->tx, run);
        if (room < run) {
            kick(a, queued); /* let the kernel drain, then look again */
            reclaim(a);
            room = xsk_prod_nb_free(&a->tx, run);
        }
        if (room > run) room = run;
        uint32_t idx;
        if (!room || xsk_ring_prod__reserve(&a->tx, room, &idx) != room) {
            a->ctr[AXP_TX_BUSY]++;
            break;
        }
        for (uint32_t k = 0; k < room; k++) {
            struct pktbuf *b = bufs[i + k];
            struct xdp_desc *d = xsk_ring_prod__tx_desc(&a->tx, idx + k);
            d->addr = (uint64_t)((uint8_t *)b->data - (uint8_t *)a->area);
            d->len = b->len;
            d->options = 0;
            a->ctr[AXP_TX_BYTES] += b->len;
        }
        xsk_ring_prod__submit(&a->tx, room);
        a->tx_pending += room;
        a->out -= room;
        a->ctr[AXP_TX_FRAMES] += room;
        queued += room;
        i = (uint16_t)(i + room);
        if (room < run) {
            a->ctr[AXP_TX_BUSY]++;
            break;
        }
    }
    if (queued) kick(a, queued);
    return i;
}

/* ---- the rest -------------------------------------------------------------- */

static struct pktbuf *axp_alloc(struct pktio *p)
{
    struct axp *a = axp_of(p);
    if (a->nfree <= a->batch) reclaim(a);
    if (!a->nfree) {
        a->ctr[AXP_POOL_EMPTY]++;
        return NULL;
    }
    struct pktbuf *b = frame_buf(a, a->free_addrs[--a->nfree], 0);
    a->out++;
    return b;
}

static void axp_free(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct axp *a = axp_of(p);
    for (uint16_t i = 0; i < n; i++) {
        if (!ours(a, bufs[i]) || a->nfree >= a->nframes) {
            a->ctr[AXP_FREE_FOREIGN]++;
            continue;
        }
        frame_put(a, (uint64_t)(bufs[i] - a->bufs) * a->frame_size);
        a->out--;
    }
}

static void axp_info(struct pktio *p, struct pktio_info *out)
{
    *out = axp_of(p)->info;
}

static int axp_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct axp *a = axp_of(p);
    struct xdp_statistics st;
    socklen_t l = sizeof(st);
    memset(&st, 0, sizeof(st));
    if (getsockopt(a->xfd, SOL_XDP, XDP_STATISTICS, &st, &l) == 0) {
        a->ctr[AXP_K_RX_DROPPED] = st.rx_dropped;
        a->ctr[AXP_K_RX_INVALID] = st.rx_invalid_descs;
        a->ctr[AXP_K_TX_INVALID] = st.tx_invalid_descs;
        a->ctr[AXP_K_RX_RING_FULL] = st.rx_ring_full;
        a->ctr[AXP_K_FILL_EMPTY] = st.rx_fill_ring_empty_descs;
        a->ctr[AXP_K_TX_RING_EMPTY] = st.tx_ring_empty_descs;
    }
    int n = 0;
    for (int i = 0; i < AXP__CTR_COUNT && n < max; i++)
        out[n++] = (struct netio_counter){axp_ctr_names[i], a->ctr[i]};
    return n + axp_prog_counters(&a->prog, out + n, max - n);
}

static uint32_t axp_in_use(struct pktio *p)
{
    return axp_of(p)->out;
}

const struct pktio_ops pktio_afxdp_ops = {
    .name = "afxdp",
    .help = "AF_XDP socket on a kernel interface (libxdp): UMEM, fill/completion/RX/TX rings, "
            "need_wakeup; an XDP program steers only our TCP ports to it, the rest to the "
            "kernel; needs root",
    .opts = axp_opt_defs,
    .probe = axp_probe,
    .open = axp_open,
    .close = axp_close,
    .rx_burst = axp_rx_burst,
    .tx_burst = axp_tx_burst,
    .alloc = axp_alloc,
    .free = axp_free,
    .info = axp_info,
    .counters = axp_counters,
    .in_use = axp_in_use,
};
#endif
