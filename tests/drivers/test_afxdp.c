/*
 * test_afxdp.c — tests for drivers/afxdp.c (the pktio) and its XDP program.
 * Option errors need nothing. The traffic tests need root: each test process
 * makes its own namespace (i15-afxdp-uPID, after the branch that added it)
 * with a veth pair i15uPIDa/i15uPIDb in it and enters it; the fixture's fini
 * deletes it even when an assertion fails. Side A is an afpacket pktio (a
 * raw injector and recorder), side B the afxdp pktio under test. Wall time
 * is only a hang guard, never asserted.
 *
 *   steering          only TCP to our address and ports (listeners, then the
 *                     ephemeral range once claimed) reaches the socket,
 *                     byte for byte; ARP about us comes as a copy; every
 *                     other frame is passed and counted by reason
 *   tx_many_frames    more frames than the UMEM holds go out in order, byte
 *                     for byte (completions give the frames back)
 *   pool_exhaustion   alloc until empty: counted, in_use exact, all back
 *   detach_on_close   a program while open, none after close
 *   busy_interface    a program someone attached through netlink: open fails
 *                     and says so
 */
#include <criterion/criterion.h>

#include "drivers/pktio.h"

#include <stdio.h>
#include <unistd.h>

#ifdef HAVE_AFXDP
#include "drivers/afxdp.h"
#include "tests/drivers/frames.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IP_A 0xc6126101u /* 198.18.97.1: the injector */
#define IP_B 0xc6126102u /* 198.18.97.2: ours */
#define ETHERTYPE_TEST 0x88b5

static char ns[32], ifa[16], ifb[16];
static int made;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void env_up(void)
{
    if (geteuid() != 0) return;
    long pid = (long)getpid();
    snprintf(ns, sizeof(ns), "i15-afxdp-u%ld", pid);
    snprintf(ifa, sizeof(ifa), "i15u%lda", pid);
    snprintf(ifb, sizeof(ifb), "i15u%ldb", pid);
    sh("ip netns del %s 2>/dev/null", ns);
    cr_assert_eq(sh("ip netns add %s", ns), 0, "ip netns add %s", ns);
    made = 1;
    cr_assert_eq(sh("ip -n %s link add %s type veth peer name %s", ns, ifa, ifb), 0, "veth");
    for (int i = 0; i < 2; i++) {
        const char *ifn = i ? ifb : ifa;
        /* quiet: no IPv6, no addresses, so only our frames cross */
        sh("ip netns exec %s sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 >/dev/null 2>&1", ns, ifn);
        cr_assert_eq(sh("ip netns exec %s ethtool -K %s tso off gso off gro off tx off >/dev/null "
                        "&& ip -n %s link set %s up",
                        ns, ifn, ns, ifn),
                     0, "set %s up", ifn);
    }
    char path[64];
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0 && setns(fd, CLONE_NEWNET) == 0, "enter %s", path);
    close(fd);
}

static void env_down(void)
{
    if (made) sh("ip netns del %s 2>/dev/null", ns);
    made = 0;
}

TestSuite(afxdp, .init = env_up, .fini = env_down);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t ctr(struct pktio *p, const char *name)
{
    struct netio_counter c[64];
    int n = pktio_counters(p, c, 64);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    cr_assert_fail("counter %s missing", name);
    return 0;
}

static struct pktio *open_drv(const char *drv, const char *iface, const char *const *opts)
{
    char err[512] = "";
    const struct pktio_ops *ops = pktio_find(drv);
    cr_assert_not_null(ops, "%s not built in", drv);
    struct pktio_config cfg = {.iface = iface, .opts = opts};
    struct pktio *p = ops->open(&cfg, err, sizeof(err));
    cr_assert_not_null(p, "open %s on %s: %s", drv, iface, err);
    return p;
}

static int has_xdp(const char *ifn)
{
    return sh("ip -o link show dev %s 2>/dev/null | grep -q prog/xdp", ifn) == 0;
}

static void send_frame(struct pktio *a, const uint8_t *f, size_t len)
{
    struct pktbuf *b = pktio_alloc(a);
    cr_assert_not_null(b);
    memcpy(b->data, f, len);
    b->len = (uint32_t)len;
    cr_assert_eq(pktio_tx_burst(a, &b, 1), 1, "injector TX");
}

/* Everything B receives within `secs`, copied out, buffers given back. */
static int drain(struct pktio *b, uint8_t frames[][2048], uint32_t *lens, int max, double secs)
{
    struct pktio_info info;
    pktio_info(b, &info);
    int n = 0;
    double end = now_s() + secs;
    while (now_s() < end) {
        struct pktbuf *rx[32];
        uint16_t got = pktio_rx_burst(b, rx, 32);
        for (uint16_t i = 0; i < got; i++) {
            cr_assert_lt(n, max, "more frames than expected");
            memcpy(frames[n], rx[i]->data, rx[i]->len);
            lens[n++] = rx[i]->len;
        }
        if (got) pktio_free(b, rx, got);
        struct pollfd pfd = {.fd = info.fd, .events = POLLIN};
        if (!got) poll(&pfd, 1, 5);
    }
    return n;
}

static size_t tcp_to(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t dip,
                     uint16_t dport, uint8_t marker)
{
    uint8_t payload[16];
    memset(payload, marker, sizeof(payload));
    struct fr_tcp t = {.src_ip = IP_A, .dst_ip = dip, .sport = 40000, .dport = dport,
                       .seq = 1, .flags = FR_ACK | FR_PSH, .win = 1000, .data = payload,
                       .len = sizeof(payload)};
    memcpy(t.src_mac, src, 6);
    memcpy(t.dst_mac, dst, 6);
    return fr_build_tcp(f, 2048, &t);
}

Test(afxdp, steering)
{
    if (geteuid() != 0) cr_skip_test("needs root (namespace, XDP, AF_XDP)");
    struct pktio *a = open_drv("afpacket", ifa, NULL);
    struct pktio *b = open_drv("afxdp", ifb, NULL);
    struct pktio_info ia, ib;
    pktio_info(a, &ia);
    pktio_info(b, &ib);
    cr_assert_eq(ctr(b, "mode_zerocopy"), 0, "veth has no zero-copy AF_XDP");
    cr_assert_eq(afxdp_set_ip(b, htonl(IP_B)), 0);
    cr_assert_eq(afxdp_own_port(b, 80), 0);
    cr_assert_eq(afxdp_set_ip(a, htonl(IP_B)), -1, "set_ip on a non-afxdp pktio");
    static uint8_t f[8][2048], got[16][2048];
    size_t len[8];
    uint32_t glen[16];
    len[0] = tcp_to(f[0], ib.mac, ia.mac, IP_B, 80, 0xa0);    /* ours */
    len[1] = tcp_to(f[1], ib.mac, ia.mac, IP_B, 81, 0xa1);    /* the kernel's port */
    len[2] = tcp_to(f[2], ib.mac, ia.mac, IP_B, 80, 0xa2);    /* ICMP, below */
    f[2][FR_ETH_HLEN + 9] = 1;
    len[3] = tcp_to(f[3], ib.mac, ia.mac, IP_B + 1, 80, 0xa3); /* another address */
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6] = {0};
    len[4] = fr_build_arp(f[4], 2048, FR_ARP_REQUEST, bcast, ia.mac, IP_A, zero, IP_B);
    len[5] = fr_build_eth(f[5], ib.mac, ia.mac, ETHERTYPE_TEST) + 50; /* not IPv4 */
    memset(f[5] + FR_ETH_HLEN, 0x55, 50);
    len[6] = tcp_to(f[6], ib.mac, ia.mac, IP_B, 50000, 0xa6); /* ephemeral: not yet ours */
    for (int i = 0; i <= 6; i++) send_frame(a, f[i], len[i]);
    int n = drain(b, got, glen, 16, 0.3);
    cr_assert_eq(n, 2, "%d frames reached the socket, want 2 (TCP to port 80, the ARP copy)", n);
    int tcp = glen[0] == len[0] ? 0 : 1, arp = !tcp;
    cr_assert_eq(glen[tcp], len[0]);
    cr_assert_arr_eq(got[tcp], f[0], len[0], "the frame to port 80 changed on the way");
    cr_assert_eq(glen[arp], len[4], "ARP copy of %u bytes, want %zu", glen[arp], len[4]);
    cr_assert_arr_eq(got[arp], f[4], len[4], "the ARP copy differs");
    /* the ephemeral range, claimed: now port 50000 is ours */
    cr_assert_eq(afxdp_own_ephemeral(b, 49152, 65535), 0);
    send_frame(a, f[6], len[6]);
    n = drain(b, got, glen, 16, 0.3);
    cr_assert_eq(n, 1, "%d frames after claiming the ephemeral range, want 1", n);
    cr_assert_arr_eq(got[0], f[6], len[6]);
    cr_assert_eq(ctr(b, "xdp_redirect"), 2);
    cr_assert_eq(ctr(b, "xdp_arp_copied"), 1);
    cr_assert_eq(ctr(b, "rx_arp_copies"), 1);
    cr_assert_eq(ctr(b, "xdp_pass_port_other"), 2, "port 81 and 50000 before the claim");
    cr_assert_eq(ctr(b, "xdp_pass_not_tcp"), 1);
    cr_assert_eq(ctr(b, "xdp_pass_ip_other"), 1);
    cr_assert_geq(ctr(b, "xdp_pass_not_ipv4"), 1);
    cr_assert_eq(ctr(b, "xdp_drop_no_socket"), 0);
    cr_assert_eq(ctr(b, "rx_frames"), 3);
    cr_assert_eq(b->ops->in_use(b), 0, "buffers not given back");
    pktio_close(b);
    pktio_close(a);
}

static uint32_t len_of(uint32_t seq)
{
    return 60 + (seq * 37u) % (1514 - 60 + 1);
}

Test(afxdp, tx_many_frames)
{
    if (geteuid() != 0) cr_skip_test("needs root (namespace, XDP, AF_XDP)");
    const char *small[] = {"frames=256", "tx_size=64", "fill_size=64", "comp_size=64",
                           "rx_size=64", "batch=16", NULL};
    struct pktio *a = open_drv("afpacket", ifa, NULL);
    struct pktio *b = open_drv("afxdp", ifb, small);
    struct pktio_info ia, ib;
    pktio_info(a, &ia);
    pktio_info(b, &ib);
    enum { N = 1000 }; /* about four times the UMEM */
    uint32_t sent = 0, recvd = 0;
    double end = now_s() + 10;
    while (recvd < N && now_s() < end) {
        struct pktbuf *tx[32];
        uint16_t k = 0;
        while (k < 32 && sent + k < N) {
            struct pktbuf *p = pktio_alloc(b);
            if (!p) break;
            uint32_t len = len_of(sent + k), seq = htonl(sent + k);
            fr_build_eth(p->data, ia.mac, ib.mac, ETHERTYPE_TEST);
            memcpy(p->data + 14, &seq, 4);
            for (uint32_t i = 18; i < len; i++) p->data[i] = (uint8_t)(sent + k + i);
            p->len = len;
            tx[k++] = p;
        }
        uint16_t acc = k ? pktio_tx_burst(b, tx, k) : 0;
        if (acc < k) pktio_free(b, tx + acc, (uint16_t)(k - acc)); /* resent next round */
        sent += acc;
        struct pktbuf *rx[64];
        uint16_t got = pktio_rx_burst(a, rx, 64);
        for (uint16_t j = 0; j < got; j++) {
            const uint8_t *d = rx[j]->data;
            if (rx[j]->len < 18 || fr_get16(d + 12) != ETHERTYPE_TEST) continue;
            uint32_t seq = fr_get32(d + 14);
            cr_assert_eq(seq, recvd, "frame %u arrived when %u was due", seq, recvd);
            cr_assert_eq(rx[j]->len, len_of(seq));
            for (uint32_t i = 18; i < rx[j]->len; i++)
                cr_assert_eq(d[i], (uint8_t)(seq + i), "frame %u byte %u", seq, i);
            recvd++;
        }
        if (got) pktio_free(a, rx, got);
    }
    cr_assert_eq(recvd, N, "%u of %u frames arrived", recvd, N);
    cr_assert_eq(ctr(b, "tx_frames"), N);
    cr_assert_eq(ctr(b, "tx_bad_len"), 0);
    cr_assert_eq(ctr(b, "xsk_tx_invalid_descs"), 0);
    cr_assert_eq(b->ops->in_use(b), 0);
    pktio_close(b);
    pktio_close(a);
}

Test(afxdp, pool_exhaustion)
{
    if (geteuid() != 0) cr_skip_test("needs root (namespace, XDP, AF_XDP)");
    const char *small[] = {"frames=256", "tx_size=64", "fill_size=64", "comp_size=64",
                           "rx_size=64", "batch=16", NULL};
    struct pktio *b = open_drv("afxdp", ifb, small);
    static struct pktbuf *held[256];
    uint32_t n = 0;
    while (n < 256 && (held[n] = pktio_alloc(b))) {
        cr_assert_geq(held[n]->cap, 1514, "a TX frame of %u bytes", held[n]->cap);
        n++;
    }
    cr_assert(n > 64 && n < 256, "%u frames before empty: the fill ring holds some", n);
    cr_assert_eq(ctr(b, "pool_empty"), 1);
    cr_assert_eq(b->ops->in_use(b), n);
    pktio_free(b, held, (uint16_t)n);
    cr_assert_eq(b->ops->in_use(b), 0);
    struct pktbuf *one = pktio_alloc(b);
    cr_assert_not_null(one, "no frame after all were given back");
    struct pktbuf fake = {0};
    struct pktbuf *bad[2] = {one, &fake};
    pktio_free(b, bad, 2);
    cr_assert_eq(ctr(b, "free_foreign"), 1);
    cr_assert_eq(b->ops->in_use(b), 0);
    pktio_close(b);
}

Test(afxdp, detach_on_close)
{
    if (geteuid() != 0) cr_skip_test("needs root (namespace, XDP, AF_XDP)");
    cr_assert(!has_xdp(ifb), "a program before open");
    struct pktio *b = open_drv("afxdp", ifb, NULL);
    cr_assert(has_xdp(ifb), "no program while open");
    pktio_close(b);
    cr_assert(!has_xdp(ifb), "a program left after close");
    const char *generic[] = {"xdp_mode=generic", NULL};
    b = open_drv("afxdp", ifb, generic);
    cr_assert_eq(ctr(b, "mode_xdp_native"), 0, "xdp_mode=generic ran native");
    cr_assert(has_xdp(ifb), "no generic program while open");
    pktio_close(b);
    cr_assert(!has_xdp(ifb), "a generic program left after close");
}

Test(afxdp, busy_interface)
{
    if (geteuid() != 0) cr_skip_test("needs root (namespace, XDP, AF_XDP)");
    /* r0 = XDP_PASS; exit: someone else's program, attached through netlink */
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
        {.code = BPF_JMP | BPF_EXIT},
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "other", "GPL", prog, 2, NULL);
    cr_assert_geq(fd, 0, "bpf_prog_load: %s", strerror(errno));
    int ifindex = (int)if_nametoindex(ifb);
    cr_assert_eq(bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, NULL), 0, "attach");
    char err[512] = "";
    struct pktio_config cfg = {.iface = ifb};
    struct pktio *b = pktio_find("afxdp")->open(&cfg, err, sizeof(err));
    bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
    close(fd);
    cr_assert_null(b, "opened over someone else's program");
    cr_assert(strstr(err, "already has an XDP program"), "error: %s", err);
}
#endif

/* Options are refused before anything is opened: no root needed. */
Test(afxdp_opts, bad_options)
{
    const struct pktio_ops *ops = pktio_find("afxdp");
#ifndef HAVE_AFXDP
    cr_assert_null(ops, "afxdp in a build without libxdp");
    cr_skip_test("afxdp not built in (libxdp-dev, libbpf-dev or clang missing at build time)");
#else
    cr_assert_not_null(ops);
    static const struct {
        const char *opt, *want;
    } cases[] = {
        {"frame_size=3000", "frame_size=3000 must be 2048 or 4096"},
        {"frame_size=8k", "frame_size"},
        {"fill_size=1000", "fill_size=1000 is not a power of two"},
        {"frames=300", "frames=300 must be at least tx_size + batch"},
        {"mode=fast", "mode"},
        {"queue=64", "queue"},
        {"nosuch=1", "unknown option 'nosuch'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *opts[] = {cases[i].opt, NULL};
        struct pktio_config cfg = {.iface = "lo", .opts = opts};
        char err[512] = "";
        struct pktio *p = ops->open(&cfg, err, sizeof(err));
        cr_assert_null(p, "%s was accepted", cases[i].opt);
        cr_assert(strstr(err, cases[i].want), "%s: error '%s' lacks '%s'", cases[i].opt, err,
                  cases[i].want);
    }
    char err[512] = "";
    struct pktio_config none = {.iface = "i15x-none"};
    cr_assert_null(ops->open(&none, err, sizeof(err)));
    cr_assert(strstr(err, "interface 'i15x-none'"), "error: %s", err);
    struct pktio_config noif = {.iface = NULL};
    cr_assert_null(ops->open(&noif, err, sizeof(err)));
    cr_assert(strstr(err, "no interface"), "error: %s", err);
#endif
}
