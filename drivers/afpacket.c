/*
 * afpacket.c — pktio over an AF_PACKET socket on a kernel interface
 * (DESIGN §3, §5: the DUT side of the veth topology under our stack).
 *
 * Callers: drivers/ustack/ through the pktio.h wrappers, harness/ (doctor:
 * probe), tests. Calls: socket/ioctl/setsockopt/mmap/sendmmsg; nothing else.
 *
 * RX: a TPACKET_V3 mmap ring (blocks retired by the kernel when full or after
 *     retire_tov_ms), or TPACKET_V2 with option version=2 (one slot per frame,
 *     handed over at once: lower latency at low rates). rx_burst walks the
 *     ring and copies each frame into a buffer of our own pool (allocated
 *     once) so that buffers can be returned in any order with free(); a V3
 *     block / V2 slot goes back to the kernel as soon as it is consumed.
 *     When the pool is empty rx_burst stops where it is (pool_empty) and
 *     resumes there on the next call. Frames we sent ourselves or the kernel
 *     sent (PACKET_OUTGOING) are skipped (PACKET_IGNORE_OUTGOING too, where
 *     the kernel has it). RX checksum: a frame the kernel marks
 *     CSUM_VALID or CSUMNOTREADY (sent by a local stack with its checksum
 *     left partial, as on veth) gets PKT_RX_L4_CSUM_OK — the stack must not
 *     verify its L4 checksum, the field is not filled in.
 * TX: sendmmsg(MSG_DONTWAIT) of pool buffers with PACKET_QDISC_BYPASS;
 *     EAGAIN/ENOBUFS mean "full": tx_burst accepts fewer (tx_busy). Other
 *     send errors drop the frame (tx_errors). tx_ring=1: PACKET_TX_RING
 *     instead (tx_ring_burst; measured dearer on veth, README).
 * offloads=1: PACKET_VNET_HDR (drivers/vnet.h): every frame both ways has a
 *     virtio_net_hdr; TX takes TSO frames up to 64 KiB (alloc_tso, from a
 *     pool of big_count large buffers) and partial TCP checksums, RX takes
 *     GSO/GRO super-frames into large buffers (PKT_RX_GRO) and the kernel's
 *     checksum verdict.
 * info.fd is the socket: it polls readable when a V3 block / V2 slot is ready.
 *
 * Options (cfg->opts, key=value): the table afp_opt_defs below (version,
 * block_size, block_count, frame_size, retire_tov_ms, qdisc_bypass, offloads,
 * tx_ring, tx_ring_frames, big_count), which
 * doctor and --help print. cfg->pool_size: RX/TX buffers (8192).
 */
#include "drivers/opts.h"
#include "drivers/pktio.h"
#include "drivers/vnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define AFP_DEFAULT_POOL 8192u
#define AFP_MAX_POOL (1u << 22)
#define AFP_TX_BATCH 64
#define AFP_ETH_HLEN 14u

enum afp_ctr {
    AFP_RX_FRAMES,
    AFP_TX_FRAMES,
    AFP_RX_BYTES,
    AFP_TX_BYTES,
    AFP_RX_RING_DROPS,   /* PACKET_STATISTICS tp_drops: the ring was full */
    AFP_RX_RING_FREEZES, /* V3 tp_freeze_q_cnt */
    AFP_RX_OUTGOING,     /* skipped: our own or the host's outgoing frames */
    AFP_RX_TOO_BIG,      /* skipped: truncated or larger than PKTIO_MAX_FRAME */
    AFP_TX_ERRORS,       /* send failed for another reason than "full": dropped */
    AFP_TX_BUSY,         /* EAGAIN/ENOBUFS: tx_burst accepted fewer */
    AFP_TX_BAD_LEN,      /* frame shorter than an Ethernet header or over cap: dropped */
    AFP_POOL_EMPTY,      /* rx_burst stopped or alloc failed: no free buffer */
    AFP_FREE_FOREIGN,    /* free() of a buffer not from this pool: ignored */
    AFP_SYS_SENDMMSG,
    AFP_SYS_POLL, /* poll() made by the driver itself (none: callers poll info.fd) */
    AFP_RX_GRO,   /* offloads=1: super-frames (GRO/GSO) received into a large buffer */
    AFP_TX_TSO,   /* offloads=1: TSO frames sent (the kernel segments them) */
    AFP_BIG_EMPTY, /* offloads=1: no large buffer free (alloc_tso NULL, or RX stopped) */
    AFP_TX_RING_FULL,   /* tx_ring=1: no free slot (the kernel still holds them): accepted fewer */
    AFP_TX_RING_BAD,    /* tx_ring=1: a slot the kernel marked TP_STATUS_WRONG_FORMAT: dropped */
    AFP_SYS_SENDTO,     /* tx_ring=1: the kicks that hand queued slots to the kernel */
    AFP_TX_BAD_OFFLOAD, /* offloads=1: TSO or checksum asked without the header lengths
                           (or TSO without the segment size): no virtio_net_hdr, dropped */
    AFP__CTR_COUNT
};

static const char *const afp_ctr_names[AFP__CTR_COUNT] = {
    [AFP_RX_FRAMES] = "rx_frames",         [AFP_TX_FRAMES] = "tx_frames",
    [AFP_RX_BYTES] = "rx_bytes",           [AFP_TX_BYTES] = "tx_bytes",
    [AFP_RX_RING_DROPS] = "rx_ring_drops", [AFP_RX_RING_FREEZES] = "rx_ring_freezes",
    [AFP_RX_OUTGOING] = "rx_outgoing",     [AFP_RX_TOO_BIG] = "rx_too_big",
    [AFP_TX_ERRORS] = "tx_errors",         [AFP_TX_BUSY] = "tx_busy",
    [AFP_TX_BAD_LEN] = "tx_bad_len",       [AFP_POOL_EMPTY] = "pool_empty",
    [AFP_FREE_FOREIGN] = "free_foreign",   [AFP_SYS_SENDMMSG] = "sys_sendmmsg",
    [AFP_SYS_POLL] = "sys_poll",           [AFP_RX_GRO] = "rx_gro",
    [AFP_TX_TSO] = "tx_tso",               [AFP_BIG_EMPTY] = "big_empty",
    [AFP_TX_RING_FULL] = "tx_ring_full",   [AFP_TX_RING_BAD] = "tx_ring_bad",
    [AFP_SYS_SENDTO] = "sys_sendto",       [AFP_TX_BAD_OFFLOAD] = "tx_bad_offload",
};

struct afp_opts {
    int version;
    uint32_t block_size, block_count, frame_size, retire_tov_ms;
    int qdisc_bypass;
    int offloads;
    uint32_t big_count;
    int tx_ring;
    uint32_t tx_ring_frames;
};

#define AFP_BIG_CAP (PKTIO_TSO_MAX + 256u) /* a large buffer: a 64 KiB frame and slack */

/* A pool of fixed-size buffers handed out and taken back in any order. */
struct afp_pool {
    struct pktbuf *bufs;
    uint8_t *mem;
    struct pktbuf **free_stack;
    uint32_t nbufs, nfree, cap;
};

struct afp {
    struct pktio base; /* first */
    int fd;
    int version;
    uint8_t *ring; /* the RX ring, then (tx_ring=1) the TX ring, one mapping */
    size_t ring_len;
    uint8_t *txr;  /* tx_ring=1: the TX ring's first slot, else NULL */
    uint32_t tx_slot, tx_nr, tx_head;
    uint32_t block_size, block_count, frame_size, frame_nr;
    /* V3 position: current block; pkt != NULL while inside it */
    uint32_t blk, blk_left;
    uint8_t *pkt;
    /* V2 position */
    uint32_t slot;
    /* buffer pools: frames up to PKTIO_MAX_FRAME; with offloads, large
     * buffers for TSO frames and received super-frames */
    struct afp_pool pool, big;
    int vnet; /* PACKET_VNET_HDR on: every frame, both ways, has a virtio_net_hdr */
    struct pktio_info info;
    struct mmsghdr msgs[AFP_TX_BATCH];
    struct iovec iov[2 * AFP_TX_BATCH];
    struct virtio_net_hdr vh[AFP_TX_BATCH];
    uint64_t ctr[AFP__CTR_COUNT];
};

extern const struct pktio_ops pktio_afpacket_ops;

static struct afp *afp_of(struct pktio *p)
{
    return (struct afp *)p;
}

/* ---- options ------------------------------------------------------------ */

/* The options (cfg->opts); doctor and --help print this table. Every number
 * takes the k/m size suffixes (binary), as it always has, the counts too. */
const struct opt_def afp_opt_defs[] = {
    {.name = "version", .type = OPT_UINT, .min = 2, .max = 3, .def = "2",
     .help = "ring version: 2 (a slot per frame, seen at once), 3 (TPACKET_V3 blocks, seen "
             "when one retires: fewer wake-ups for bulk receive, but up to retire_tov_ms more "
             "per request/response exchange)",
     .off = offsetof(struct afp_opts, version), .size = sizeof(int)},
    {.name = "block_size", .type = OPT_SIZE, .min = 4096, .max = 1u << 30, .def = "256k",
     .help = "RX ring block, bytes, a multiple of the page size",
     .off = offsetof(struct afp_opts, block_size), .size = sizeof(uint32_t)},
    {.name = "block_count", .type = OPT_SIZE, .min = 1, .max = 1u << 16, .def = "64",
     .help = "blocks in the RX ring (k = 1024 here too)",
     .off = offsetof(struct afp_opts, block_count), .size = sizeof(uint32_t)},
    {.name = "frame_size", .type = OPT_SIZE, .min = 128, .max = 1u << 20, .def = "2048",
     .help = "V2 slot / V3 nominal frame, bytes, a multiple of 16 dividing block_size; "
             "version=2 with offloads=1 needs a slot for a 64 KiB super-frame: left unset, "
             "frame_size and block_size become 68 KiB and block_count 256",
     .off = offsetof(struct afp_opts, frame_size), .size = sizeof(uint32_t)},
    {.name = "retire_tov_ms", .type = OPT_SIZE, .min = 0, .max = 60000, .def = "1",
     .help = "V3 block retire timeout, ms",
     .off = offsetof(struct afp_opts, retire_tov_ms), .size = sizeof(uint32_t)},
    {.name = "qdisc_bypass", .type = OPT_BOOL, .def = "1", .help = "PACKET_QDISC_BYPASS on TX",
     .off = offsetof(struct afp_opts, qdisc_bypass), .size = sizeof(int)},
    {.name = "offloads", .type = OPT_BOOL, .def = "0",
     .help = "PACKET_VNET_HDR: send TSO frames up to 64 KiB and leave TCP checksums to the "
             "kernel, take GRO super-frames and its checksum verdict (1); 0: MTU frames, "
             "checksums in software",
     .off = offsetof(struct afp_opts, offloads), .size = sizeof(int)},
    {.name = "tx_ring", .type = OPT_BOOL, .def = "0",
     .help = "PACKET_TX_RING: frames copied into an mmap ring and sent by one send() per burst, "
             "the kernel taking ring pages as skb fragments (1); 0: sendmmsg, the kernel copies",
     .off = offsetof(struct afp_opts, tx_ring), .size = sizeof(int)},
    {.name = "tx_ring_frames", .type = OPT_COUNT, .min = 16, .max = 65536, .def = "4096",
     .help = "tx_ring=1: TX ring slots (4 KiB each; 68 KiB with offloads=1); a slot stays the "
             "kernel's until the receiver frees its skb",
     .off = offsetof(struct afp_opts, tx_ring_frames), .size = sizeof(uint32_t)},
    {.name = "big_count", .type = OPT_COUNT, .min = 2, .max = 65536, .def = "256",
     .help = "offloads=1: large buffers (64 KiB each) for TSO frames and received super-frames",
     .off = offsetof(struct afp_opts, big_count), .size = sizeof(uint32_t)},
    OPT_END,
};

/* A V2 slot holding a 64 KiB super-frame: the kernel puts the frame at
 * TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + the virtio_net_hdr (tpacket_rcv's
 * netoff), so the slot needs that much before AFP_BIG_CAP. */
#define AFP_V2_BIG_NEED                                                                            \
    (TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + (uint32_t)sizeof(struct virtio_net_hdr) + AFP_BIG_CAP)
#define AFP_V2_BIG_BLOCKS 256 /* 256 slots of 68 KiB: 17 MiB, 16 MiB of super-frames */

/* version=2 with offloads=1: GRO super-frames reach the socket, and a slot
 * too small for one truncates it (rx_too_big, then the peer retransmits
 * forever). Left alone, frame_size (and block_size, block_count) grow to hold
 * one; set too small by hand, they are refused. */
static int v2_big_slots(const char *const *opts, struct afp_opts *o, long page, char *err,
                        size_t errlen)
{
    if (o->version != 2 || !o->offloads || o->frame_size >= AFP_V2_BIG_NEED) return 0;
    uint32_t need = (AFP_V2_BIG_NEED + (uint32_t)page - 1) / (uint32_t)page * (uint32_t)page;
    if (opts_value(opts, "frame_size", 0)) {
        snprintf(err, errlen,
                 "afpacket: frame_size=%u is too small for version=2 with offloads=1: a GRO "
                 "super-frame needs a %u-byte slot (set frame_size=%u, or use version=3)",
                 o->frame_size, (unsigned)AFP_V2_BIG_NEED, need);
        return -1;
    }
    o->frame_size = need;
    if (!opts_value(opts, "block_size", 0)) o->block_size = need;
    if (!opts_value(opts, "block_count", 0)) o->block_count = AFP_V2_BIG_BLOCKS;
    return 0;
}

/* The options into *o, then the checks that involve more than one. */
static int parse_opts(const char *const *opts, struct afp_opts *o, char *err, size_t errlen)
{
    const struct opt_set set = {afp_opt_defs, o};
    if (opts_parse("afpacket", opts, &set, 1, NULL, err, errlen) < 0) return -1;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    if (v2_big_slots(opts, o, page, err, errlen) < 0) return -1;
    if (o->block_size % (uint32_t)page) {
        snprintf(err, errlen, "afpacket: block_size=%u is not a multiple of the page size %ld",
                 o->block_size, page);
        return -1;
    }
    if (o->frame_size % TPACKET_ALIGNMENT || o->frame_size > o->block_size ||
        o->block_size % o->frame_size) {
        snprintf(err, errlen,
                 "afpacket: frame_size=%u must be a multiple of %d dividing block_size=%u",
                 o->frame_size, TPACKET_ALIGNMENT, o->block_size);
        return -1;
    }
    if ((uint64_t)o->block_size * o->block_count > (1ull << 31)) {
        snprintf(err, errlen, "afpacket: ring of block_size=%u x block_count=%u is over 2 GiB",
                 o->block_size, o->block_count);
        return -1;
    }
    return 0;
}

/* ---- pool ------------------------------------------------------------- */

static int pool_init(struct afp *a, struct afp_pool *pl, uint32_t n, uint32_t cap)
{
    pl->nbufs = n;
    pl->cap = cap;
    pl->mem = malloc((size_t)n * cap);
    pl->bufs = calloc(n, sizeof(*pl->bufs));
    pl->free_stack = calloc(n, sizeof(*pl->free_stack));
    if (!pl->mem || !pl->bufs || !pl->free_stack) return -1;
    for (uint32_t i = 0; i < n; i++) {
        struct pktbuf *b = &pl->bufs[n - 1 - i];
        b->data = pl->mem + (size_t)(n - 1 - i) * cap;
        b->cap = cap;
        b->priv = a;
        pl->free_stack[i] = b;
    }
    pl->nfree = n;
    return 0;
}

static void pool_fini(struct afp_pool *pl)
{
    free(pl->mem);
    free(pl->bufs);
    free(pl->free_stack);
}

static struct pktbuf *pool_take(struct afp_pool *pl)
{
    if (pl->nfree == 0) return NULL;
    struct pktbuf *b = pl->free_stack[--pl->nfree];
    b->len = 0;
    b->cap = pl->cap;
    b->ol_flags = 0;
    b->l2_len = b->l3_len = b->l4_len = b->tso_segsz = 0;
    return b;
}

static struct pktbuf *pool_get(struct afp *a)
{
    return pool_take(&a->pool);
}

static int pool_owns(const struct afp_pool *pl, const struct pktbuf *b)
{
    return pl->bufs && b >= pl->bufs && b < pl->bufs + pl->nbufs && pl->nfree < pl->nbufs;
}

static void pool_put(struct afp *a, struct pktbuf *b)
{
    struct afp_pool *pl = !b                      ? NULL
                          : pool_owns(&a->pool, b) ? &a->pool
                          : pool_owns(&a->big, b)  ? &a->big
                                                   : NULL;
    if (!pl) {
        a->ctr[AFP_FREE_FOREIGN]++;
        return;
    }
    pl->free_stack[pl->nfree++] = b;
}

/* ---- open / close ------------------------------------------------------- */

static void afp_destroy(struct afp *a)
{
    if (!a) return;
    if (a->ring && a->ring != MAP_FAILED) munmap(a->ring, a->ring_len);
    if (a->fd >= 0) close(a->fd);
    pool_fini(&a->pool);
    pool_fini(&a->big);
    free(a);
}

static int afp_probe(char *err, size_t errlen)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen,
                 "afpacket: cannot open an AF_PACKET socket (%s): needs CAP_NET_RAW"
                 " (run as root)",
                 strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static int setopt(struct afp *a, int name, const void *v, socklen_t len, const char *what,
                  char *err, size_t errlen)
{
    if (setsockopt(a->fd, SOL_PACKET, name, v, len) == 0) return 0;
    snprintf(err, errlen, "afpacket: setsockopt(%s): %s", what, strerror(errno));
    return -1;
}

static int setup_ring(struct afp *a, const struct afp_opts *o, char *err, size_t errlen)
{
    int ver = o->version == 2 ? TPACKET_V2 : TPACKET_V3;
    if (setopt(a, PACKET_VERSION, &ver, sizeof(ver), "PACKET_VERSION", err, errlen) < 0) return -1;
    a->version = o->version;
    a->block_size = o->block_size;
    a->block_count = o->block_count;
    a->frame_size = o->frame_size;
    a->frame_nr = (o->block_size / o->frame_size) * o->block_count;
    int rc;
    if (o->version == 3) {
        struct tpacket_req3 r = {
            .tp_block_size = o->block_size,
            .tp_block_nr = o->block_count,
            .tp_frame_size = o->frame_size,
            .tp_frame_nr = a->frame_nr,
            .tp_retire_blk_tov = o->retire_tov_ms,
        };
        rc = setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &r, sizeof(r));
    } else {
        struct tpacket_req r = {
            .tp_block_size = o->block_size,
            .tp_block_nr = o->block_count,
            .tp_frame_size = o->frame_size,
            .tp_frame_nr = a->frame_nr,
        };
        rc = setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &r, sizeof(r));
    }
    if (rc < 0) {
        snprintf(err, errlen,
                 "afpacket: PACKET_RX_RING (TPACKET_V%d, block_size=%u block_count=%u "
                 "frame_size=%u): %s",
                 o->version, o->block_size, o->block_count, o->frame_size, strerror(errno));
        return -1;
    }
    size_t rx_len = (size_t)o->block_size * o->block_count, tx_len = 0;
    if (o->tx_ring) {
        /* a slot per block: the header, the virtio_net_hdr, the largest frame */
        long page = sysconf(_SC_PAGESIZE);
        if (page <= 0) page = 4096;
        uint32_t need = TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + 16u +
                        (o->offloads ? AFP_BIG_CAP : PKTIO_MAX_FRAME);
        a->tx_slot = (need + (uint32_t)page - 1) / (uint32_t)page * (uint32_t)page;
        a->tx_nr = o->tx_ring_frames;
        if (o->version == 3) {
            struct tpacket_req3 r = {.tp_block_size = a->tx_slot, .tp_block_nr = a->tx_nr,
                                     .tp_frame_size = a->tx_slot, .tp_frame_nr = a->tx_nr};
            rc = setsockopt(a->fd, SOL_PACKET, PACKET_TX_RING, &r, sizeof(r));
        } else {
            struct tpacket_req r = {.tp_block_size = a->tx_slot, .tp_block_nr = a->tx_nr,
                                    .tp_frame_size = a->tx_slot, .tp_frame_nr = a->tx_nr};
            rc = setsockopt(a->fd, SOL_PACKET, PACKET_TX_RING, &r, sizeof(r));
        }
        if (rc < 0) {
            snprintf(err, errlen, "afpacket: PACKET_TX_RING (%u slots of %u bytes): %s", a->tx_nr,
                     a->tx_slot, strerror(errno));
            return -1;
        }
        tx_len = (size_t)a->tx_slot * a->tx_nr;
    }
    a->ring_len = rx_len + tx_len;
    a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->fd, 0);
    if (a->ring == MAP_FAILED) {
        a->ring = NULL;
        snprintf(err, errlen, "afpacket: mmap of the %zu-byte ring%s: %s", a->ring_len,
                 tx_len ? "s (RX and TX)" : " (RX)", strerror(errno));
        return -1;
    }
    if (tx_len) a->txr = a->ring + rx_len;
    return 0;
}

static int iface_info(struct afp *a, const char *iface, int *ifindex, char *err, size_t errlen)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, iface, strlen(iface));
    if (ioctl(a->fd, SIOCGIFINDEX, &ifr) < 0) {
        snprintf(err, errlen, "afpacket: interface '%s': %s", iface, strerror(errno));
        return -1;
    }
    *ifindex = ifr.ifr_ifindex;
    if (ioctl(a->fd, SIOCGIFHWADDR, &ifr) < 0) {
        snprintf(err, errlen, "afpacket: SIOCGIFHWADDR on '%s': %s", iface, strerror(errno));
        return -1;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        snprintf(err, errlen, "afpacket: '%s' is not an Ethernet interface (ARPHRD %u)", iface,
                 ifr.ifr_hwaddr.sa_family);
        return -1;
    }
    memcpy(a->info.mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(a->fd, SIOCGIFMTU, &ifr) < 0) {
        snprintf(err, errlen, "afpacket: SIOCGIFMTU on '%s': %s", iface, strerror(errno));
        return -1;
    }
    int mtu = ifr.ifr_mtu;
    if (mtu <= 0 || (uint32_t)mtu + AFP_ETH_HLEN + 4 > PKTIO_MAX_FRAME) {
        snprintf(err, errlen, "afpacket: '%s' has MTU %d; frames must fit %d bytes (MTU <= %u)",
                 iface, mtu, PKTIO_MAX_FRAME, PKTIO_MAX_FRAME - AFP_ETH_HLEN - 4);
        return -1;
    }
    a->info.mtu = (uint16_t)mtu;
    return 0;
}

static struct pktio *afp_open(const struct pktio_config *cfg, char *err, size_t errlen)
{
    if (!cfg || !cfg->iface || !*cfg->iface) {
        snprintf(err, errlen, "afpacket: no interface given (cfg->iface)");
        return NULL;
    }
    if (strlen(cfg->iface) >= IFNAMSIZ) {
        snprintf(err, errlen, "afpacket: interface name '%s' is too long", cfg->iface);
        return NULL;
    }
    uint32_t pool = cfg->pool_size ? cfg->pool_size : AFP_DEFAULT_POOL;
    if (pool > AFP_MAX_POOL) {
        snprintf(err, errlen, "afpacket: pool_size %u too large (max %u)", pool, AFP_MAX_POOL);
        return NULL;
    }
    struct afp_opts o;
    if (parse_opts(cfg->opts, &o, err, errlen) < 0) return NULL;

    struct afp *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "afpacket: out of memory");
        return NULL;
    }
    a->base.ops = &pktio_afpacket_ops;
    /* Protocol 0 until the ring is set up: nothing is queued before bind. */
    a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (a->fd < 0) {
        snprintf(err, errlen, "afpacket: socket(AF_PACKET): %s%s", strerror(errno),
                 errno == EPERM ? " (needs CAP_NET_RAW: run as root)" : "");
        afp_destroy(a);
        return NULL;
    }
    int ifindex, one = 1;
    if (iface_info(a, cfg->iface, &ifindex, err, errlen) < 0) goto fail;
    /* (before the ring: the kernel refuses PACKET_VNET_HDR once one is mapped) */
    if (o.offloads &&
        setopt(a, PACKET_VNET_HDR, &one, sizeof(one), "PACKET_VNET_HDR", err, errlen) < 0)
        goto fail;
    a->vnet = o.offloads;
    if (setup_ring(a, &o, err, errlen) < 0) goto fail;
    if (o.qdisc_bypass &&
        setopt(a, PACKET_QDISC_BYPASS, &one, sizeof(one), "PACKET_QDISC_BYPASS", err, errlen) < 0)
        goto fail;
    /* Best effort (Linux >= 4.20); the ring walk skips outgoing frames anyway. */
    (void)setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = ifindex,
    };
    if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        snprintf(err, errlen, "afpacket: bind to '%s': %s", cfg->iface, strerror(errno));
        goto fail;
    }
    if (pool_init(a, &a->pool, pool, PKTIO_MAX_FRAME) < 0) {
        snprintf(err, errlen, "afpacket: out of memory for %u buffers", pool);
        goto fail;
    }
    a->info.offloads = PKT_RX_L4_CSUM_OK;
    if (a->vnet) {
        if (pool_init(a, &a->big, o.big_count, AFP_BIG_CAP) < 0) {
            snprintf(err, errlen, "afpacket: out of memory for %u large buffers (big_count)",
                     o.big_count);
            goto fail;
        }
        a->info.offloads |= PKT_TX_L4_CSUM | PKT_TX_TSO;
        a->info.tso_max = PKTIO_TSO_MAX;
    }
    a->info.fd = a->fd;
    return &a->base;
fail:
    afp_destroy(a);
    return NULL;
}

static void afp_close(struct pktio *p)
{
    afp_destroy(afp_of(p));
}

/* ---- RX ------------------------------------------------------------------ */

enum take { TAKE_SKIP, TAKE_OK, TAKE_NOBUF };

/* One ring frame: skip it, copy it into a buffer, or report the pool empty. */
static enum take take_frame(struct afp *a, uint32_t status, const uint8_t *mac, uint32_t snaplen,
                            uint32_t len, const struct sockaddr_ll *sll, struct pktbuf **out)
{
    if (sll->sll_pkttype == PACKET_OUTGOING) {
        a->ctr[AFP_RX_OUTGOING]++;
        return TAKE_SKIP;
    }
    int big = len > PKTIO_MAX_FRAME;
    if (snaplen < len || (big && (!a->vnet || len > AFP_BIG_CAP))) {
        a->ctr[AFP_RX_TOO_BIG]++;
        return TAKE_SKIP;
    }
    struct pktbuf *b = big ? pool_take(&a->big) : pool_get(a);
    if (!b) {
        a->ctr[big ? AFP_BIG_EMPTY : AFP_POOL_EMPTY]++;
        return TAKE_NOBUF;
    }
    memcpy(b->data, mac, len);
    b->len = len;
    b->ol_flags = status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID) ? PKT_RX_L4_CSUM_OK : 0;
    if (a->vnet) { /* the kernel put the header right before the frame */
        struct virtio_net_hdr vh;
        memcpy(&vh, mac - sizeof(vh), sizeof(vh));
        b->ol_flags |= vnet_rx_flags(&vh);
        if (big) a->ctr[AFP_RX_GRO]++;
    }
    a->ctr[AFP_RX_FRAMES]++;
    a->ctr[AFP_RX_BYTES] += len;
    *out = b;
    return TAKE_OK;
}

static uint16_t rx_v3(struct afp *a, struct pktbuf **bufs, uint16_t n)
{
    uint16_t got = 0;
    while (got < n) {
        struct tpacket_block_desc *bd =
            (struct tpacket_block_desc *)(a->ring + (size_t)a->blk * a->block_size);
        if (!a->pkt) {
            uint32_t st = __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
            if (!(st & TP_STATUS_USER)) break;
            a->blk_left = bd->hdr.bh1.num_pkts;
            a->pkt = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
        }
        if (a->blk_left) {
            struct tpacket3_hdr *h = (struct tpacket3_hdr *)a->pkt;
            const struct sockaddr_ll *sll =
                (const struct sockaddr_ll *)(a->pkt + TPACKET_ALIGN(sizeof(*h)));
            enum take t = take_frame(a, h->tp_status, a->pkt + h->tp_mac, h->tp_snaplen, h->tp_len,
                                     sll, &bufs[got]);
            if (t == TAKE_NOBUF) break;
            if (t == TAKE_OK) got++;
            a->pkt += h->tp_next_offset;
            a->blk_left--;
        }
        if (a->blk_left == 0) {
            __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
            a->blk = (a->blk + 1) % a->block_count;
            a->pkt = NULL;
        }
    }
    return got;
}

static uint16_t rx_v2(struct afp *a, struct pktbuf **bufs, uint16_t n)
{
    uint16_t got = 0;
    while (got < n) {
        uint8_t *f = a->ring + (size_t)a->slot * a->frame_size;
        struct tpacket2_hdr *h = (struct tpacket2_hdr *)f;
        uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
        if (!(st & TP_STATUS_USER)) break;
        const struct sockaddr_ll *sll = (const struct sockaddr_ll *)(f + TPACKET_ALIGN(sizeof(*h)));
        enum take t = take_frame(a, st, f + h->tp_mac, h->tp_snaplen, h->tp_len, sll, &bufs[got]);
        if (t == TAKE_NOBUF) break;
        if (t == TAKE_OK) got++;
        __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        a->slot = (a->slot + 1) % a->frame_nr;
    }
    return got;
}

static uint16_t afp_rx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct afp *a = afp_of(p);
    return a->version == 2 ? rx_v2(a, bufs, n) : rx_v3(a, bufs, n);
}

/* ---- TX ------------------------------------------------------------------ */

static int bad_len(const struct afp *a, const struct pktbuf *b)
{
    return b->len < AFP_ETH_HLEN || b->len > b->cap ||
           b->len > (a->vnet && (b->ol_flags & PKT_TX_TSO) ? AFP_BIG_CAP : PKTIO_MAX_FRAME);
}

/* tx_ring=1: each frame copied into the next free slot (its virtio_net_hdr
 * first with offloads=1), marked for sending; one send() hands the burst to
 * the kernel, which sends the slots as skb fragments and frees each slot when
 * its skb is freed. A slot still the kernel's means the ring is full. */
static uint16_t tx_ring_burst(struct afp *a, struct pktbuf **bufs, uint16_t n)
{
    uint16_t i = 0, queued = 0;
    const uint32_t off = TPACKET_ALIGN(sizeof(struct tpacket3_hdr));
    while (i < n) {
        struct pktbuf *b = bufs[i];
        struct virtio_net_hdr vh;
        int bl = bad_len(a, b);
        if (bl || (a->vnet && vnet_tx_hdr(b, &vh) < 0)) {
            a->ctr[bl ? AFP_TX_BAD_LEN : AFP_TX_BAD_OFFLOAD]++;
            pool_put(a, bufs[i++]);
            continue;
        }
        uint8_t *slot = a->txr + (size_t)a->tx_head * a->tx_slot;
        struct tpacket3_hdr *h3 = (struct tpacket3_hdr *)slot;
        struct tpacket2_hdr *h2 = (struct tpacket2_hdr *)slot;
        uint32_t *status = a->version == 3 ? &h3->tp_status : &h2->tp_status;
        uint32_t st = __atomic_load_n(status, __ATOMIC_ACQUIRE);
        if (st == TP_STATUS_WRONG_FORMAT) {
            a->ctr[AFP_TX_RING_BAD]++;
            st = TP_STATUS_AVAILABLE;
        }
        if (st != TP_STATUS_AVAILABLE) {
            a->ctr[AFP_TX_RING_FULL]++;
            break;
        }
        uint8_t *d = slot + (a->version == 3 ? off : TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
        uint32_t vl = a->vnet ? (uint32_t)sizeof(vh) : 0;
        if (vl) memcpy(d, &vh, vl);
        memcpy(d + vl, b->data, b->len);
        if (a->version == 3) {
            h3->tp_len = b->len + vl;
            h3->tp_next_offset = 0;
        } else {
            h2->tp_len = b->len + vl;
        }
        __atomic_store_n(status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        a->tx_head = (a->tx_head + 1) % a->tx_nr;
        a->ctr[AFP_TX_BYTES] += b->len;
        a->ctr[AFP_TX_FRAMES]++;
        if (b->ol_flags & PKT_TX_TSO) a->ctr[AFP_TX_TSO]++;
        pool_put(a, bufs[i++]);
        queued++;
    }
    if (queued) {
        a->ctr[AFP_SYS_SENDTO]++;
        /* EAGAIN/ENOBUFS: the slots stay queued and go with the next kick */
        if (send(a->fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS &&
            errno != EINTR)
            a->ctr[AFP_TX_ERRORS]++;
    } else if (i < n) {
        a->ctr[AFP_TX_BUSY]++;
    }
    return i;
}

static uint16_t afp_tx_burst(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct afp *a = afp_of(p);
    if (a->txr) return tx_ring_burst(a, bufs, n);
    uint16_t i = 0;
    while (i < n) {
        int bl = bad_len(a, bufs[i]);
        if (bl || (a->vnet && vnet_tx_hdr(bufs[i], &a->vh[0]) < 0)) {
            a->ctr[bl ? AFP_TX_BAD_LEN : AFP_TX_BAD_OFFLOAD]++;
            pool_put(a, bufs[i++]);
            continue;
        }
        unsigned k = 0;
        while (k < AFP_TX_BATCH && i + k < n && !bad_len(a, bufs[i + k])) {
            struct pktbuf *b = bufs[i + k];
            struct iovec *v = &a->iov[2 * k];
            memset(&a->msgs[k], 0, sizeof(a->msgs[k]));
            a->msgs[k].msg_hdr.msg_iov = v;
            if (a->vnet) { /* every frame carries a header, zero when it asks for nothing */
                if (vnet_tx_hdr(b, &a->vh[k]) < 0) break; /* dropped on the next round */
                v->iov_base = &a->vh[k];
                v->iov_len = sizeof(a->vh[k]);
                v++;
                a->msgs[k].msg_hdr.msg_iovlen = 1;
            }
            v->iov_base = b->data;
            v->iov_len = b->len;
            a->msgs[k].msg_hdr.msg_iovlen++;
            k++;
        }
        a->ctr[AFP_SYS_SENDMMSG]++;
        int r = sendmmsg(a->fd, a->msgs, k, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                a->ctr[AFP_TX_BUSY]++;
                break;
            }
            a->ctr[AFP_TX_ERRORS]++; /* e.g. ENETDOWN, EMSGSIZE: drop this frame */
            pool_put(a, bufs[i++]);
            continue;
        }
        for (int j = 0; j < r; j++) {
            a->ctr[AFP_TX_BYTES] += bufs[i]->len;
            if (bufs[i]->ol_flags & PKT_TX_TSO) a->ctr[AFP_TX_TSO]++;
            pool_put(a, bufs[i++]);
        }
        a->ctr[AFP_TX_FRAMES] += (uint64_t)r;
        if (r == 0) break;
    }
    return i;
}

/* ---- the rest --------------------------------------------------------------- */

static struct pktbuf *afp_alloc(struct pktio *p)
{
    struct afp *a = afp_of(p);
    struct pktbuf *b = pool_get(a);
    if (!b) a->ctr[AFP_POOL_EMPTY]++;
    return b;
}

static struct pktbuf *afp_alloc_tso(struct pktio *p)
{
    struct afp *a = afp_of(p);
    struct pktbuf *b = a->vnet ? pool_take(&a->big) : NULL;
    if (!b) a->ctr[AFP_BIG_EMPTY]++;
    return b;
}

static void afp_free(struct pktio *p, struct pktbuf **bufs, uint16_t n)
{
    struct afp *a = afp_of(p);
    for (uint16_t i = 0; i < n; i++)
        pool_put(a, bufs[i]);
}

static void afp_info(struct pktio *p, struct pktio_info *out)
{
    *out = afp_of(p)->info;
}

/* PACKET_STATISTICS resets on read: fold it into our running totals. */
static void read_stats(struct afp *a)
{
    if (a->version == 3) {
        struct tpacket_stats_v3 s;
        socklen_t l = sizeof(s);
        if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &s, &l) == 0) {
            a->ctr[AFP_RX_RING_DROPS] += s.tp_drops;
            a->ctr[AFP_RX_RING_FREEZES] += s.tp_freeze_q_cnt;
        }
    } else {
        struct tpacket_stats s;
        socklen_t l = sizeof(s);
        if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &s, &l) == 0)
            a->ctr[AFP_RX_RING_DROPS] += s.tp_drops;
    }
}

static int afp_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct afp *a = afp_of(p);
    read_stats(a);
    int n = 0;
    for (int i = 0; i < AFP__CTR_COUNT && n < max; i++) {
        out[n].name = afp_ctr_names[i];
        out[n].value = a->ctr[i];
        n++;
    }
    return n;
}

static uint32_t afp_in_use(struct pktio *p)
{
    struct afp *a = afp_of(p);
    return a->pool.nbufs - a->pool.nfree + a->big.nbufs - a->big.nfree;
}

const struct pktio_ops pktio_afpacket_ops = {
    .name = "afpacket",
    .help = "AF_PACKET on a kernel interface: TPACKET_V3 RX ring (version=2 for V2), "
            "sendmmsg TX with qdisc bypass; needs CAP_NET_RAW",
    .opts = afp_opt_defs,
    .probe = afp_probe,
    .open = afp_open,
    .close = afp_close,
    .rx_burst = afp_rx_burst,
    .tx_burst = afp_tx_burst,
    .alloc = afp_alloc,
    .alloc_tso = afp_alloc_tso,
    .free = afp_free,
    .info = afp_info,
    .counters = afp_counters,
    .in_use = afp_in_use,
};
