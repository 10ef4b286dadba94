/*
 * test_afpacket.c — tests for drivers/afpacket.c. The traffic tests need
 * root: each creates its own veth pair in the root namespace (bbt-aN/bbt-bN,
 * N per test so Criterion's parallel jobs do not collide), with IPv6 off and
 * no addresses, opens afpacket on both ends and sends raw frames of the
 * local experimental ethertype 0x88b5 from A to B; the fixture's fini deletes
 * the pair even when an assertion fails. Option errors are tested without
 * root. Wall time is only a hang guard, never asserted.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/pktio.h"

#define NFRAMES 1000u
#define ETHERTYPE_TEST 0x88b5

/* ---- veth fixture ----------------------------------------------------- */

static void sh(const char *fmt, int idx)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), fmt, idx, idx, idx, idx);
    if (system(cmd) != 0) cr_log_warn("command failed: %s", cmd);
}

static void veth_up(int idx)
{
    if (geteuid() != 0) return;
    sh("ip link del bbt-a%d 2>/dev/null; true", idx);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ip link add bbt-a%d type veth peer name bbt-b%d", idx, idx);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    sh("sysctl -qw net.ipv6.conf.bbt-a%d.disable_ipv6=1 net.ipv6.conf.bbt-b%d.disable_ipv6=1 "
       ">/dev/null 2>&1; true",
       idx);
    sh("ip link set bbt-a%d up && ip link set bbt-b%d up", idx);
}

static void veth_down(int idx)
{
    if (geteuid() != 0) return;
    sh("ip link del bbt-a%d 2>/dev/null; true", idx);
}

static void up0(void)
{
    veth_up(0);
}
static void down0(void)
{
    veth_down(0);
}
static void up1(void)
{
    veth_up(1);
}
static void down1(void)
{
    veth_down(1);
}
static void up2(void)
{
    veth_up(2);
}
static void down2(void)
{
    veth_down(2);
}
static void up3(void)
{
    veth_up(3);
}
static void down3(void)
{
    veth_down(3);
}
static void up4(void)
{
    veth_up(4);
}
static void down4(void)
{
    veth_down(4);
}

/* ---- helpers ------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t ctr(struct pktio *p, const char *name)
{
    struct netio_counter c[32];
    int n = pktio_counters(p, c, 32);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    cr_assert_fail("counter %s missing", name);
    return 0;
}

static struct pktio *open_afp(const char *iface, const char *const *opts, uint32_t pool)
{
    char err[256] = "";
    const struct pktio_ops *ops = pktio_find("afpacket");
    cr_assert_not_null(ops);
    cr_assert_eq(ops->probe(err, sizeof(err)), 0, "probe: %s", err);
    struct pktio_config cfg = {.iface = iface, .opts = opts, .pool_size = pool};
    struct pktio *p = ops->open(&cfg, err, sizeof(err));
    cr_assert_not_null(p, "open %s: %s", iface, err);
    return p;
}

static uint32_t len_of(uint32_t seq)
{
    return 60 + (seq * 37u) % (1514 - 60 + 1);
}

static uint8_t pat(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 11u + i * 3u + (i >> 7));
}

static void build(struct pktbuf *b, const uint8_t dst[6], const uint8_t src[6], uint32_t seq)
{
    uint32_t len = len_of(seq);
    memcpy(b->data, dst, 6);
    memcpy(b->data + 6, src, 6);
    b->data[12] = ETHERTYPE_TEST >> 8;
    b->data[13] = ETHERTYPE_TEST & 0xff;
    uint32_t nseq = htonl(seq);
    memcpy(b->data + 14, &nseq, 4);
    for (uint32_t i = 18; i < len; i++)
        b->data[i] = pat(seq, i);
    b->len = len;
}

/* Returns 1 if the frame is ours (and checks it), 0 for foreign traffic. */
static int check(const struct pktbuf *b, const uint8_t dst[6], const uint8_t src[6],
                 uint32_t expect)
{
    if (b->len < 18 || b->data[12] != (ETHERTYPE_TEST >> 8) ||
        b->data[13] != (ETHERTYPE_TEST & 0xff))
        return 0;
    uint32_t nseq;
    memcpy(&nseq, b->data + 14, 4);
    uint32_t seq = ntohl(nseq);
    cr_assert_eq(seq, expect, "frame %u arrived when %u was expected", seq, expect);
    cr_assert_eq(b->len, len_of(seq), "frame %u: len %u", seq, b->len);
    cr_assert_arr_eq(b->data, dst, 6);
    cr_assert_arr_eq(b->data + 6, src, 6);
    for (uint32_t i = 18; i < b->len; i++)
        cr_assert_eq(b->data[i], pat(seq, i), "frame %u byte %u", seq, i);
    return 1;
}

/* A -> B, NFRAMES frames; B keeps at most `hold` buffers before freeing. */
static void send_and_receive(int idx, const char *const *opts, uint32_t b_pool)
{
    if (geteuid() != 0) cr_skip_test("needs root");
    char an[16], bn[16];
    snprintf(an, sizeof(an), "bbt-a%d", idx);
    snprintf(bn, sizeof(bn), "bbt-b%d", idx);
    struct pktio *a = open_afp(an, opts, 0);
    struct pktio *b = open_afp(bn, opts, b_pool);
    struct pktio_info ia, ib;
    pktio_info(a, &ia);
    pktio_info(b, &ib);
    cr_assert_eq(ia.mtu, 1500);
    cr_assert_geq(ia.fd, 0);
    cr_assert_neq(memcmp(ia.mac, ib.mac, 6), 0);
    cr_assert(ib.offloads & PKT_RX_L4_CSUM_OK);

    char path[128], want[32], have[32] = "";
    snprintf(path, sizeof(path), "/sys/class/net/%s/address", an);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(have, sizeof(have), f));
    fclose(f);
    snprintf(want, sizeof(want), "%02x:%02x:%02x:%02x:%02x:%02x\n", ia.mac[0], ia.mac[1], ia.mac[2],
             ia.mac[3], ia.mac[4], ia.mac[5]);
    cr_assert_str_eq(have, want);

    uint32_t sent = 0, recvd = 0, foreign = 0;
    struct pktbuf *pend[32];
    uint16_t npend = 0;
    int saw_pool_empty = 0;
    double deadline = now_s() + 5.0;
    while (recvd < NFRAMES && now_s() < deadline) {
        while (npend < 32 && sent < NFRAMES) {
            pend[npend] = pktio_alloc(a);
            cr_assert_not_null(pend[npend]);
            build(pend[npend], ib.mac, ia.mac, sent++);
            npend++;
        }
        if (npend) {
            uint16_t acc = pktio_tx_burst(a, pend, npend);
            memmove(pend, pend + acc, (size_t)(npend - acc) * sizeof(pend[0]));
            npend = (uint16_t)(npend - acc);
        }
        struct pktbuf *rx[64];
        uint16_t got = pktio_rx_burst(b, rx, 64);
        if (got == 0) {
            struct pollfd pfd = {.fd = ib.fd, .events = POLLIN};
            poll(&pfd, 1, 2);
            continue;
        }
        for (uint16_t i = 0; i < got; i++) {
            if (check(rx[i], ib.mac, ia.mac, recvd))
                recvd++;
            else
                foreign++;
        }
        if (b_pool && b->ops->in_use(b) == b_pool) {
            /* Pool exhausted: the next rx_burst must stop, not lose frames. */
            struct pktbuf *more[4];
            cr_assert_eq(pktio_rx_burst(b, more, 4), 0);
            saw_pool_empty = ctr(b, "pool_empty") > 0 || saw_pool_empty;
        }
        pktio_free(b, rx, got);
    }
    cr_assert_eq(recvd, NFRAMES, "received %u of %u (foreign %u)", recvd, NFRAMES, foreign);
    cr_assert_eq(npend, 0);
    cr_assert_eq(ctr(a, "tx_frames"), NFRAMES);
    cr_assert_geq(ctr(b, "rx_frames"), NFRAMES);
    cr_assert_eq(ctr(b, "rx_ring_drops"), 0);
    cr_assert_eq(ctr(a, "tx_errors"), 0);
    cr_assert_gt(ctr(a, "sys_sendmmsg"), 0);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < NFRAMES; i++)
        bytes += len_of(i);
    cr_assert_eq(ctr(a, "tx_bytes"), bytes);
    if (b_pool) cr_assert(saw_pool_empty, "pool never ran dry with pool_size %u", b_pool);

    /* A never sees its own frames. */
    struct pktbuf *rx[64];
    uint16_t got;
    while ((got = pktio_rx_burst(a, rx, 64)) > 0) {
        for (uint16_t i = 0; i < got; i++)
            cr_assert(rx[i]->data[12] != (ETHERTYPE_TEST >> 8) ||
                          rx[i]->data[13] != (ETHERTYPE_TEST & 0xff),
                      "A received a test frame");
        pktio_free(a, rx, got);
    }
    cr_assert_eq(a->ops->in_use(a), 0);
    cr_assert_eq(b->ops->in_use(b), 0);
    pktio_close(a);
    pktio_close(b);
}

Test(afpacket, v3_thousand_frames_byte_exact, .init = up0, .fini = down0)
{
    send_and_receive(0, NULL, 0);
}

Test(afpacket, v2_thousand_frames_byte_exact, .init = up1, .fini = down1)
{
    const char *opts[] = {"version=2", "block_size=64k", "block_count=16", NULL};
    send_and_receive(1, opts, 0);
}

Test(afpacket, small_pool_rx_resumes_without_loss, .init = up2, .fini = down2)
{
    const char *opts[] = {"version=3", "retire_tov_ms=1", "frame_size=2048", NULL};
    send_and_receive(2, opts, 16);
}

/* ---- errors (no root needed: options are checked before the socket) -------- */

static void expect_open_error(const char *iface, const char *const *opts, const char *needle)
{
    char err[256] = "";
    struct pktio_config cfg = {.iface = iface, .opts = opts};
    struct pktio *p = pktio_find("afpacket")->open(&cfg, err, sizeof(err));
    if (p) pktio_close(p);
    cr_assert_null(p);
    cr_assert_not_null(strstr(err, needle), "err '%s' lacks '%s'", err, needle);
}

Test(afpacket, option_errors)
{
    const char *o1[] = {"block_size=256k", "bogus_key=1", NULL};
    expect_open_error("lo", o1, "unknown option 'bogus_key'");
    const char *o2[] = {"version=4", NULL};
    expect_open_error("lo", o2, "afpacket: bad value '4' for version: expected 2..3");
    const char *o3[] = {"block_size=5000", NULL};
    expect_open_error("lo", o3, "block_size=5000");
    const char *o4[] = {"frame_size=1000", NULL};
    expect_open_error("lo", o4, "frame_size=1000");
    const char *o6[] = {"offloads=1", "frame_size=2048", NULL};
    expect_open_error("lo", o6, "frame_size=2048 is too small for version=2 with offloads=1");
    const char *o7[] = {"offloads=1", "block_size=256k", NULL}; /* 68 KiB slots do not divide it */
    expect_open_error("lo", o7, "dividing block_size=262144");
    const char *o5[] = {"noequals", NULL};
    expect_open_error("lo", o5, "noequals");
    expect_open_error(NULL, NULL, "no interface");
}

/* offloads=1: a frame asking for TSO without its header lengths gets no
 * virtio_net_hdr and is dropped as that, not as a bad length; both TX paths */
static void bad_offload_dropped_by_reason(const char *iface, const char *const *opts)
{
    if (geteuid() != 0) cr_skip_test("needs root");
    static const uint8_t dst[6] = {2, 0, 0, 0, 0, 1}, src[6] = {2, 0, 0, 0, 0, 2};
    struct pktio *p = open_afp(iface, opts, 0);
    struct pktbuf *b[2] = {pktio_alloc(p), pktio_alloc(p)};
    cr_assert(b[0] && b[1]);
    build(b[0], dst, src, 1);
    b[0]->ol_flags = PKT_TX_TSO; /* no l2/l3/l4 lengths, no segment size */
    build(b[1], dst, src, 2);
    b[1]->len = 10; /* shorter than an Ethernet header */
    cr_assert_eq(pktio_tx_burst(p, b, 2), 2, "both taken (and dropped)");
    cr_expect_eq(ctr(p, "tx_bad_offload"), 1);
    cr_expect_eq(ctr(p, "tx_bad_len"), 1);
    cr_expect_eq(ctr(p, "tx_frames"), 0);
    pktio_close(p);
}

Test(afpacket, bad_offload_dropped_by_reason, .init = up3, .fini = down3)
{
    const char *o[] = {"offloads=1", NULL};
    bad_offload_dropped_by_reason("bbt-a3", o);
}

Test(afpacket, bad_offload_dropped_by_reason_tx_ring, .init = up4, .fini = down4)
{
    const char *o[] = {"offloads=1", "tx_ring=1", NULL};
    bad_offload_dropped_by_reason("bbt-a4", o);
}

Test(afpacket, missing_interface_and_table)
{
    const struct pktio_ops *ops = pktio_find("afpacket");
    cr_assert_not_null(ops);
    cr_assert_str_eq(ops->name, "afpacket");
    if (geteuid() != 0) {
        char err[256] = "";
        cr_assert_eq(ops->probe(err, sizeof(err)), -1);
        cr_assert_not_null(strstr(err, "CAP_NET_RAW"), "%s", err);
        return;
    }
    expect_open_error("bbt-nosuch9", NULL, "bbt-nosuch9");
}
