/*
 * test_dpdk.c — tests for drivers/dpdk/ (the "dpdk" pktio) on virtual PMDs.
 *
 * DPDK's EAL can be initialised once per process, and is shut down when the
 * last port closes: every test relies on Criterion running each test in its
 * own process (its default; parallel jobs are fine, each test uses its own
 * --file-prefix and interface names derived from its pid). A single
 * net_ring vdev (vdev=net_ring0) is a loopback: what port 0 sends, port 0
 * receives. The net_tap test needs root (it creates a kernel interface) and
 * is skipped otherwise; the others use --no-huge and a private EAL, and are
 * skipped with a message if EAL cannot start for lack of privileges.
 * Wall time is only a hang guard, never asserted.
 */
#include <criterion/criterion.h>

#include "drivers/pktio.h"

#ifdef HAVE_DPDK

#include <arpa/inet.h>
#include <glob.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/drivers/frames.h"

#define NFRAMES 1000u
#define ETHERTYPE_TEST 0x88b5

static const uint8_t SRC_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};

static const struct pktio_ops *ops(void)
{
    const struct pktio_ops *o = pktio_find("dpdk");
    cr_assert_not_null(o, "the dpdk backend is not in the pktio table");
    return o;
}

static int privilege_error(const char *err)
{
    return strstr(err, "Permission denied") || strstr(err, "Operation not permitted");
}

/* Open with opts; skip the test when EAL cannot start for lack of rights. */
static struct pktio *open_or_skip(const char *const *opts)
{
    struct pktio_config cfg = {.opts = opts};
    char err[512] = "";
    struct pktio *p = ops()->open(&cfg, err, sizeof(err));
    if (!p && privilege_error(err)) cr_skip_test("DPDK EAL needs privileges here: %s", err);
    cr_assert_not_null(p, "open: %s", err);
    return p;
}

static uint64_t counter(struct pktio *p, const char *name)
{
    struct netio_counter c[128];
    int n = pktio_counters(p, c, 128);
    for (int i = 0; i < n; i++) {
        cr_assert_not_null(c[i].name);
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    }
    cr_assert_fail("counter '%s' missing", name);
    return 0;
}

static int path_exists(const char *pattern)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == 0) globfree(&g);
    return rc == 0;
}

/* Frame i: broadcast, ethertype 0x88b5, 60..1514 bytes, index and pattern. */
static uint32_t frame_len(uint32_t i)
{
    return 60 + (i * 37u) % (1514 - 60 + 1);
}

static void fill_frame(uint8_t *f, uint32_t i, uint32_t len)
{
    memset(f, 0xff, 6);
    memcpy(f + 6, SRC_MAC, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    memcpy(f + 14, &i, 4);
    for (uint32_t j = 18; j < len; j++)
        f[j] = (uint8_t)(i * 7 + j);
}

static void check_frame(const struct pktbuf *b, uint32_t i)
{
    uint8_t want[PKTIO_MAX_FRAME];
    uint32_t len = frame_len(i);
    fill_frame(want, i, len);
    cr_assert_eq(b->len, len, "frame %u: len %u, want %u", i, b->len, len);
    cr_assert(memcmp(b->data, want, len) == 0, "frame %u: bytes differ", i);
}

/* Send n frames (numbered from first) on a and receive them in order on b. */
static void send_and_check(struct pktio *a, struct pktio *b, uint32_t first, uint32_t n)
{
    uint32_t sent = first, got = first, end = first + n;
    for (long spin = 0; got < end; spin++) {
        cr_assert_lt(spin, 1000000, "hang: sent %u, received %u", sent - first, got - first);
        struct pktbuf *tx[32];
        uint16_t k = 0;
        while (k < 32 && sent + k < end) {
            tx[k] = pktio_alloc(a);
            cr_assert_not_null(tx[k], "alloc failed at frame %u", sent + k);
            tx[k]->len = frame_len(sent + k);
            cr_assert_geq(tx[k]->cap, PKTIO_MAX_FRAME);
            fill_frame(tx[k]->data, sent + k, tx[k]->len);
            k++;
        }
        uint16_t acc = k ? pktio_tx_burst(a, tx, k) : 0;
        if (acc < k) pktio_free(a, tx + acc, (uint16_t)(k - acc));
        sent += acc;
        struct pktbuf *rx[64];
        uint16_t r = pktio_rx_burst(b, rx, 64);
        for (uint16_t j = 0; j < r; j++)
            check_frame(rx[j], got++);
        pktio_free(b, rx, r);
    }
}

static const char *const RING_OPTS[] = {"vdev=net_ring0", NULL};

/* Even when an assertion ends a test before close: EAL's (empty) runtime
 * directories of this process go away. */
static void rm_runtime_dirs(void)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/var/run/dpdk/bb%ld", (long)getpid());
    (void)rmdir(dir);
    snprintf(dir, sizeof(dir), "/var/run/dpdk/bbf%ld", (long)getpid());
    (void)rmdir(dir);
}

TestSuite(dpdk, .fini = rm_runtime_dirs);

/* ---- no EAL needed ------------------------------------------------------- */

Test(dpdk, option_errors)
{
    char err[512];
    struct {
        const char *opt, *want;
    } cases[] = {
        {"nosuch=1", "unknown option 'nosuch'"},
        {"port", "not key=value"},
        {"burst=0", "dpdk: bad value '0' for burst: expected 1..256"},
        {"mbufs=12", "bad value '12' for mbufs"},
        {"huge=2", "bad value '2' for huge: expected 0 or 1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *opts[] = {cases[i].opt, NULL};
        struct pktio_config cfg = {.opts = opts};
        err[0] = '\0';
        cr_assert_null(ops()->open(&cfg, err, sizeof(err)), "%s accepted", cases[i].opt);
        cr_assert(strstr(err, cases[i].want), "%s: err '%s'", cases[i].opt, err);
    }
    const char *combo[] = {"eal=--no-huge", "vdev=net_ring0", NULL};
    struct pktio_config cfg = {.opts = combo};
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "eal= replaces"), "err '%s'", err);
    cr_assert_eq(ops()->probe(err, sizeof(err)), 0);
}

/* ---- net_ring ------------------------------------------------------------- */

Test(dpdk, ring_loopback_byte_exact)
{
    struct pktio *p = open_or_skip(RING_OPTS);
    struct pktio_info info;
    pktio_info(p, &info);
    cr_assert_eq(info.fd, -1);
    static const uint8_t zero[6];
    cr_assert(memcmp(info.mac, zero, 6) != 0, "no MAC address");
    cr_assert(info.mtu >= 576 && info.mtu <= PKTIO_MAX_FRAME - 18, "mtu %u", info.mtu);
    uint32_t base = p->ops->in_use(p);
    send_and_check(p, p, 0, NFRAMES);
    cr_assert_eq(p->ops->in_use(p), base, "mbufs in use %u, baseline %u", p->ops->in_use(p), base);
    /* A buffer sent back out (forwarding) is accepted too. */
    send_and_check(p, p, NFRAMES, 3);
    pktio_close(p);
    char dir[64];
    snprintf(dir, sizeof(dir), "/var/run/dpdk/bb%ld", (long)getpid());
    cr_assert_not(path_exists(dir), "%s left behind", dir);
}

Test(dpdk, counters)
{
    struct pktio *p = open_or_skip(RING_OPTS);
    struct pktbuf *rx[8];
    cr_assert_eq(pktio_rx_burst(p, rx, 8), 0); /* an idle poll */
    send_and_check(p, p, 0, 10);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < 10; i++)
        bytes += frame_len(i);
    cr_assert_eq(counter(p, "tx_frames"), 10);
    cr_assert_eq(counter(p, "rx_frames"), 10);
    cr_assert_eq(counter(p, "rx_bytes"), bytes);
    cr_assert_eq(counter(p, "tx_bytes"), bytes);
    cr_assert_eq(counter(p, "link_up"), 1);
    cr_assert_eq(counter(p, "x_rx_good_packets"), 10);
    struct netio_counter c[128];
    int n = pktio_counters(p, c, 128);
    for (int i = 0; i < n; i++) /* the loop's work/idle split is the stack's */
        cr_assert(strncmp(c[i].name, "poll", 4) != 0, "pktio counter %s", c[i].name);
    pktio_close(p);
}

Test(dpdk, tx_bad_buffers_are_counted)
{
    struct pktio *p = open_or_skip(RING_OPTS);
    uint32_t base = p->ops->in_use(p);
    struct pktbuf *b[3];
    for (int i = 0; i < 3; i++) {
        b[i] = pktio_alloc(p);
        cr_assert_not_null(b[i]);
        b[i]->len = 100;
        fill_frame(b[i]->data, (uint32_t)i, 100);
    }
    b[1]->len = 5; /* too short: accepted and dropped */
    cr_assert_eq(pktio_tx_burst(p, b, 3), 3);
    cr_assert_eq(counter(p, "tx_bad_len"), 1);
    struct pktbuf *rx[8];
    uint16_t r = pktio_rx_burst(p, rx, 8);
    cr_assert_eq(r, 2);
    pktio_free(p, rx, r);
    struct pktbuf fake = {0};
    struct pktbuf *fp = &fake;
    pktio_free(p, &fp, 1);
    cr_assert_eq(counter(p, "free_foreign"), 1);
    cr_assert_eq(p->ops->in_use(p), base);
    pktio_close(p);
}

/* net_ring has no checksum offload: the backend computes asked-for ones. */
Test(dpdk, tx_checksums_in_software_when_port_lacks_offload)
{
    struct pktio *p = open_or_skip(RING_OPTS);
    struct pktio_info info;
    pktio_info(p, &info);
    cr_assert_eq(info.offloads & (PKT_TX_IP_CSUM | PKT_TX_L4_CSUM), 0);
    uint8_t ref[256], payload[40];
    memset(payload, 0x5a, sizeof(payload));
    struct fr_tcp t = {.src_ip = 0xc6120001,
                       .dst_ip = 0xc6120002,
                       .sport = 1234,
                       .dport = 80,
                       .seq = 1,
                       .flags = FR_ACK,
                       .win = 1000,
                       .data = payload,
                       .len = sizeof(payload)};
    memcpy(t.src_mac, SRC_MAC, 6);
    memset(t.dst_mac, 0xff, 6);
    size_t n = fr_build_tcp(ref, sizeof(ref), &t);
    cr_assert_gt(n, 0);
    struct pktbuf *b = pktio_alloc(p);
    memcpy(b->data, ref, n);
    b->len = (uint32_t)n;
    uint8_t *ip = b->data + 14, *tcp = ip + 20;
    fr_put16(ip + 10, 0);
    uint16_t l4 = (uint16_t)(n - 34);
    fr_put16(tcp + 16, fr_fold(fr_pseudo(t.src_ip, t.dst_ip, FR_PROTO_TCP, l4)));
    b->ol_flags = PKT_TX_IP_CSUM | PKT_TX_L4_CSUM;
    b->l2_len = 14;
    b->l3_len = 20;
    cr_assert_eq(pktio_tx_burst(p, &b, 1), 1);
    struct pktbuf *rx[2];
    cr_assert_eq(pktio_rx_burst(p, rx, 2), 1);
    cr_assert_eq(rx[0]->len, n);
    cr_assert(memcmp(rx[0]->data, ref, n) == 0, "checksums not filled in");
    pktio_free(p, rx, 1);
    cr_assert_eq(counter(p, "tx_sw_csum"), 1);
    pktio_close(p);
}

Test(dpdk, eal_once_per_process)
{
    struct pktio *p = open_or_skip(RING_OPTS);
    char err[512];
    const char *other[] = {"vdev=net_ring1", NULL};
    struct pktio_config cfg = {.opts = other};
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "already runs"), "err '%s'", err);
    const char *same[] = {"port=0", NULL};
    cfg.opts = same;
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "already open"), "err '%s'", err);
    const char *missing[] = {"port=7", NULL};
    cfg.opts = missing;
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "no port '7'") && strstr(err, "net_ring0"), "err '%s'", err);
    const char *byname[] = {"port=net_ring0", NULL};
    cfg.opts = byname;
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "already open"), "err '%s'", err);
    pktio_close(p);
    cfg.opts = RING_OPTS;
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "shut down"), "err '%s'", err);
}

/* Two ports in one process: EAL stays up until the last one closes. */
Test(dpdk, two_ports_last_close_ends_eal)
{
    const char *o0[] = {"vdev=net_ring0", "vdev=net_ring1", "port=0", NULL};
    struct pktio *p0 = open_or_skip(o0);
    const char *o1[] = {"port=net_ring1", NULL};
    struct pktio *p1 = open_or_skip(o1);
    struct pktio_info i0, i1;
    pktio_info(p0, &i0);
    pktio_info(p1, &i1);
    cr_assert(memcmp(i0.mac, i1.mac, 6) != 0, "two ports with one MAC");
    send_and_check(p0, p0, 0, 50);
    pktio_close(p0);
    send_and_check(p1, p1, 0, 50); /* EAL still up */
    char dir[64];
    snprintf(dir, sizeof(dir), "/var/run/dpdk/bb%ld", (long)getpid());
    if (geteuid() == 0) cr_assert(path_exists(dir), "EAL gone before the last close");
    pktio_close(p1);
    cr_assert_not(path_exists(dir), "%s left behind", dir);
}

/* cfg->extra_vdev (the exception path's port): EAL gets one more vdev,
 * after vdev= or appended to eal=, and without port= the data port stays
 * the first vdev= (so the extra one can be opened by name, the data one is
 * taken). */
static void extra_vdev_check(const char *const *opts, const char *data)
{
    struct pktio_config cfg = {.opts = opts, .extra_vdev = "net_ring0"};
    char err[512] = "";
    struct pktio *p = ops()->open(&cfg, err, sizeof(err));
    if (!p && privilege_error(err)) cr_skip_test("DPDK EAL needs privileges here: %s", err);
    cr_assert_not_null(p, "open: %s", err);
    char byname[64];
    snprintf(byname, sizeof(byname), "port=%s", data);
    const char *taken[] = {byname, NULL};
    struct pktio_config c2 = {.opts = taken};
    cr_assert_null(ops()->open(&c2, err, sizeof(err)), "the data port is not %s", data);
    cr_assert(strstr(err, "already open"), "err '%s'", err);
    const char *extra[] = {"port=net_ring0", NULL};
    c2.opts = extra;
    struct pktio *x = ops()->open(&c2, err, sizeof(err));
    cr_assert_not_null(x, "the extra vdev is not a port: %s", err);
    send_and_check(p, p, 0, 20);
    send_and_check(x, x, 0, 20);
    pktio_close(x);
    pktio_close(p);
}

Test(dpdk, extra_vdev_after_vdev_keeps_the_data_port)
{
    const char *opts[] = {"vdev=net_ring1", NULL};
    extra_vdev_check(opts, "net_ring1");
}

Test(dpdk, extra_vdev_appended_to_eal)
{
    char opt[256];
    snprintf(opt, sizeof(opt),
             "eal=--lcores=0@(0) -m 128 --no-huge --no-pci --no-shconf --file-prefix=bbf%ld "
             "--vdev=net_ring1",
             (long)getpid());
    const char *opts[] = {opt, "port=net_ring1", NULL};
    extra_vdev_check(opts, "net_ring1");
}

/* A port that cannot be set up: a clear error, and EAL is shut down again. */
Test(dpdk, pool_too_large)
{
    const char *opts[] = {"vdev=net_ring0", "mbufs=4000000", NULL};
    struct pktio_config cfg = {.opts = opts};
    char err[512] = "";
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)));
    cr_log_info("%s", err);
    cr_assert(strstr(err, "mempool of 4000000 mbufs"), "err '%s'", err);
    char dir[64];
    snprintf(dir, sizeof(dir), "/var/run/dpdk/bb%ld", (long)getpid());
    cr_assert_not(path_exists(dir), "%s left behind", dir);
}

/* keep_eal=1: a closed port can be opened again in the same process. */
Test(dpdk, keep_eal_allows_reopen)
{
    const char *opts[] = {"vdev=net_ring0", "keep_eal=1", NULL};
    struct pktio *p = open_or_skip(opts);
    send_and_check(p, p, 0, 20);
    pktio_close(p);
    const char *again[] = {"port=0", NULL};
    p = open_or_skip(again);
    send_and_check(p, p, 20, 20);
    cr_assert_eq(p->ops->in_use(p), 0);
    pktio_close(p);
}

/* ---- EAL failures ------------------------------------------------------------ */

/* Open must fail with an error containing `want` and leave no files. */
static void eal_fails(const char *extra, const char *want)
{
    char eal[256], opt[300], err[512] = "";
    long pid = (long)getpid();
    snprintf(eal, sizeof(eal), "--lcores=0@(0) -m 128 --no-shconf --file-prefix=bbf%ld %s", pid,
             extra);
    snprintf(opt, sizeof(opt), "eal=%s", eal);
    const char *opts[] = {opt, NULL};
    struct pktio_config cfg = {.opts = opts};
    cr_assert_null(ops()->open(&cfg, err, sizeof(err)), "EAL accepted '%s'", extra);
    cr_log_info("%s: %s", extra, err);
    cr_assert(strstr(err, "EAL init failed"), "err '%s'", err);
    cr_assert(strstr(err, want), "err '%s' does not mention '%s'", err, want);
    char path[128];
    /* exactly this prefix's: "bbf2771*" also matched a stale bbf27715 of
     * another process and failed this test for nothing */
    snprintf(path, sizeof(path), "/var/run/dpdk/bbf%ld", pid);
    cr_assert_not(path_exists(path), "%s left behind", path);
    snprintf(path, sizeof(path), "/dev/hugepages/bbf%ldmap_*", pid);
    cr_assert_not(path_exists(path), "%s left behind", path);
}

Test(dpdk, bad_eal_argument)
{
    eal_fails("--no-huge --bogus-arg", "--bogus-arg");
}

Test(dpdk, conflicting_eal_arguments)
{
    eal_fails("--no-huge --in-memory", "in-memory");
}

Test(dpdk, unknown_pmd)
{
    eal_fails("--no-huge --vdev=net_nosuch0", "net_nosuch0");
}

/* ---- net_tap (root) ----------------------------------------------------------- */

static int raw_socket(unsigned ifindex)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE_TEST));
    cr_assert_geq(fd, 0, "AF_PACKET socket");
    struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                              .sll_protocol = htons(ETHERTYPE_TEST),
                              .sll_ifindex = (int)ifindex};
    cr_assert_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0, "bind");
    return fd;
}

Test(dpdk, tap_kernel_peer)
{
    if (geteuid() != 0) cr_skip_test("net_tap needs root");
    char ifname[IFNAMSIZ], vdev[64];
    snprintf(ifname, sizeof(ifname), "bbd%ld", (long)getpid() % 100000);
    snprintf(vdev, sizeof(vdev), "vdev=net_tap0,iface=%s", ifname);
    const char *opts[] = {vdev, NULL};
    struct pktio *p = open_or_skip(opts);
    unsigned ifindex = if_nametoindex(ifname);
    cr_assert_neq(ifindex, 0, "tap interface %s not in the kernel", ifname);
    struct pktio_info info;
    pktio_info(p, &info);
    uint32_t base = p->ops->in_use(p);

    /* kernel -> DPDK */
    int fd = raw_socket(ifindex);
    uint8_t f[200];
    fill_frame(f, 42, sizeof(f));
    memcpy(f, info.mac, 6);
    cr_assert_eq(send(fd, f, sizeof(f), 0), (ssize_t)sizeof(f));
    int found = 0;
    struct timespec ms = {0, 1000000};
    for (int spin = 0; !found && spin < 3000; spin++) {
        struct pktbuf *rx[32];
        uint16_t r = pktio_rx_burst(p, rx, 32);
        for (uint16_t j = 0; j < r; j++)
            if (rx[j]->len == sizeof(f) && memcmp(rx[j]->data, f, sizeof(f)) == 0) found = 1;
        pktio_free(p, rx, r);
        if (!r) nanosleep(&ms, NULL);
    }
    cr_assert(found, "frame sent by the kernel did not arrive on the DPDK port");

    /* DPDK -> kernel, with the port's checksum offloads when it has them */
    uint8_t ref[256], payload[40];
    memset(payload, 0xa5, sizeof(payload));
    struct fr_tcp t = {.src_ip = 0xc6120001,
                       .dst_ip = 0xc6120002,
                       .sport = 1234,
                       .dport = 80,
                       .seq = 1,
                       .flags = FR_ACK,
                       .win = 1000,
                       .data = payload,
                       .len = sizeof(payload)};
    memcpy(t.src_mac, info.mac, 6);
    memset(t.dst_mac, 0xff, 6);
    size_t n = fr_build_tcp(ref, sizeof(ref), &t);
    struct pktbuf *b = pktio_alloc(p);
    cr_assert_not_null(b);
    memcpy(b->data, ref, n);
    b->len = (uint32_t)n;
    fr_put16(b->data + 12, ETHERTYPE_TEST); /* so the raw socket sees it; csums stay valid */
    fr_put16(ref + 12, ETHERTYPE_TEST);
    cr_assert_eq(pktio_tx_burst(p, &b, 1), 1);
    found = 0;
    for (int spin = 0; !found && spin < 200; spin++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 10) <= 0) continue;
        uint8_t got[2048];
        ssize_t r = recv(fd, got, sizeof(got), 0);
        if (r == (ssize_t)n && memcmp(got, ref, n) == 0) found = 1;
    }
    cr_assert(found, "frame sent by DPDK did not reach the kernel side");
    close(fd);
    cr_assert_eq(p->ops->in_use(p), base);
    cr_assert_geq(counter(p, "rx_frames"), 1);
    pktio_close(p);
    cr_assert_eq(if_nametoindex(ifname), 0, "%s still exists after close", ifname);
}

/* net_tap offers checksum offloads: the device fills them in. */
Test(dpdk, tap_tx_checksum_offload)
{
    if (geteuid() != 0) cr_skip_test("net_tap needs root");
    char ifname[IFNAMSIZ], vdev[64];
    snprintf(ifname, sizeof(ifname), "bbo%ld", (long)getpid() % 100000);
    snprintf(vdev, sizeof(vdev), "vdev=net_tap0,iface=%s", ifname);
    const char *opts[] = {vdev, NULL};
    struct pktio *p = open_or_skip(opts);
    struct pktio_info info;
    pktio_info(p, &info);
    if ((info.offloads & (PKT_TX_IP_CSUM | PKT_TX_L4_CSUM)) != (PKT_TX_IP_CSUM | PKT_TX_L4_CSUM)) {
        pktio_close(p);
        cr_skip_test("this net_tap reports no TX checksum offload");
    }
    unsigned ifindex = if_nametoindex(ifname);
    cr_assert_neq(ifindex, 0);
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
    cr_assert_geq(fd, 0);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = (int)ifindex};
    cr_assert_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
    uint8_t ref[256], payload[40];
    memset(payload, 0x3c, sizeof(payload));
    struct fr_tcp t = {.src_ip = 0xc6120001,
                       .dst_ip = 0xc6120002,
                       .sport = 4321,
                       .dport = 80,
                       .seq = 7,
                       .flags = FR_ACK,
                       .win = 1000,
                       .data = payload,
                       .len = sizeof(payload)};
    memcpy(t.src_mac, SRC_MAC, 6);
    memcpy(t.dst_mac, info.mac, 6);
    size_t n = fr_build_tcp(ref, sizeof(ref), &t);
    struct pktbuf *b = pktio_alloc(p);
    memcpy(b->data, ref, n);
    b->len = (uint32_t)n;
    fr_put16(b->data + 24, 0);
    uint16_t l4 = (uint16_t)(n - 34);
    fr_put16(b->data + 50, fr_fold(fr_pseudo(t.src_ip, t.dst_ip, FR_PROTO_TCP, l4)));
    b->ol_flags = PKT_TX_IP_CSUM | PKT_TX_L4_CSUM;
    b->l2_len = 14;
    b->l3_len = 20;
    cr_assert_eq(pktio_tx_burst(p, &b, 1), 1);
    int found = 0;
    for (int spin = 0; !found && spin < 200; spin++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 10) <= 0) continue;
        uint8_t got[2048];
        ssize_t r = recv(fd, got, sizeof(got), 0);
        if (r == (ssize_t)n && memcmp(got + 6, ref + 6, 6) == 0) {
            cr_assert(memcmp(got, ref, n) == 0, "checksums wrong after TX offload");
            found = 1;
        }
    }
    cr_assert(found, "offloaded frame did not reach the kernel side");
    close(fd);
    cr_assert_eq(counter(p, "tx_sw_csum"), 0);
    pktio_close(p);
}

#else

/* Not a pass: a skip with its reason, which tests/run-unit.sh counts (and
 * fails on a machine where pkg-config finds libdpdk). */
Test(dpdk, not_built)
{
    cr_assert_null(pktio_find("dpdk"));
    cr_skip_test("built without DPDK (libdpdk-dev not found by pkg-config): no dpdk pktio to test");
}

#endif
