/*
 * test_trace.c — tests for harness/analysis/trace.c (`bypassbench trace`): a pcap
 * built here with libpcap (pcap_open_dead + pcap_dump) holding a known TCP
 * exchange (handshake, one data segment and its retransmission, FIN/ACK
 * each way) must give every number exactly; a snaplen cut must not hide the
 * payload; bad files give errors. With DPDK: the in-process capture of the
 * dpdk pktio (capture=FILE.pcapng on a net_ring loopback) writes a pcapng
 * (rte_pcapng) that trace reads, whose count matches the port counters, and
 * capture_count bounds it.
 */
#include <criterion/criterion.h>

#include "drivers/pktio.h"
#include "harness/analysis/trace.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

struct seg {
    int from_client;
    uint8_t flags;
    uint32_t seq, ack, paylen;
    uint32_t t_us; /* capture time */
};

/* The exchange: client 10.0.0.1:40000, server 10.0.0.2:80. */
static const struct seg EXCHANGE[] = {
    {1, TH_SYN, 1000, 0, 0, 0},
    {0, TH_SYN | TH_ACK, 5000, 1001, 0, 100},
    {1, TH_ACK, 1001, 5001, 0, 300},
    {1, TH_PSH | TH_ACK, 1001, 5001, 100, 400},
    {1, TH_PSH | TH_ACK, 1001, 5001, 100, 1400}, /* retransmission */
    {0, TH_ACK, 5001, 1101, 0, 1500},
    {1, TH_FIN | TH_ACK, 1101, 5001, 0, 1600},
    {0, TH_FIN | TH_ACK, 5001, 1102, 0, 1700},
    {1, TH_ACK, 1102, 5002, 0, 1800},
};
#define NSEG (sizeof(EXCHANGE) / sizeof(EXCHANGE[0]))

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Ethernet + IPv4 + TCP (20-byte headers) + payload; returns the length. */
static uint32_t build(uint8_t *f, const struct seg *s)
{
    static const uint8_t cmac[6] = {2, 0, 0, 0, 0, 1}, smac[6] = {2, 0, 0, 0, 0, 2};
    uint32_t cip = 0x0a000001, sip = 0x0a000002;
    uint32_t len = 14 + 20 + 20 + s->paylen;
    memset(f, 0, len);
    memcpy(f, s->from_client ? smac : cmac, 6);
    memcpy(f + 6, s->from_client ? cmac : smac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(len - 14));
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, s->from_client ? cip : sip);
    put32(ip + 16, s->from_client ? sip : cip);
    uint8_t *th = ip + 20;
    put16(th, s->from_client ? 40000 : 80);
    put16(th + 2, s->from_client ? 80 : 40000);
    put32(th + 4, s->seq);
    put32(th + 8, s->ack);
    th[12] = 5 << 4;
    th[13] = s->flags;
    put16(th + 14, 65535);
    for (uint32_t i = 0; i < s->paylen; i++)
        th[20 + i] = (uint8_t)('a' + i % 26);
    return len;
}

static void tmp_path(char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "/tmp/bb-test-trace-%d%s", (int)getpid(), suffix);
}

/* Write EXCHANGE into a pcap with the given snaplen. */
static void write_pcap(const char *path, int snaplen)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, snaplen);
    cr_assert_not_null(dead);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    cr_assert_not_null(d, "pcap_dump_open: %s", pcap_geterr(dead));
    for (size_t i = 0; i < NSEG; i++) {
        uint8_t f[256];
        struct pcap_pkthdr h;
        memset(&h, 0, sizeof(h));
        h.len = build(f, &EXCHANGE[i]);
        h.caplen = h.len < (uint32_t)snaplen ? h.len : (uint32_t)snaplen;
        h.ts.tv_sec = 1700000000;
        h.ts.tv_usec = (suseconds_t)EXCHANGE[i].t_us;
        pcap_dump((u_char *)d, &h, f);
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

static void check_exchange_numbers(const struct trace_summary *s)
{
    cr_expect_str_eq(s->linktype, "EN10MB");
    cr_expect_eq(s->packets, 9);
    cr_expect_eq(s->bytes, 7 * 54 + 2 * 154, "bytes %llu", (unsigned long long)s->bytes);
    cr_expect_eq(s->size_hist[0], 7, "<=64: %llu", (unsigned long long)s->size_hist[0]);
    cr_expect_eq(s->size_hist[1], 0);
    cr_expect_eq(s->size_hist[2], 2, "<=256: %llu", (unsigned long long)s->size_hist[2]);
    for (int i = 3; i < TRACE_NBUCKETS; i++)
        cr_expect_eq(s->size_hist[i], 0, "bucket %d", i);
    cr_expect_eq(s->ipv4, 9);
    cr_expect_eq(s->tcp, 9);
    cr_expect_eq(s->not_ipv4, 0);
    cr_expect_eq(s->short_hdr, 0);
    cr_expect_eq(s->syn, 1);
    cr_expect_eq(s->synack, 1);
    cr_expect_eq(s->fin, 2);
    cr_expect_eq(s->rst, 0);
    cr_expect_eq(s->pure_ack, 3, "pure acks %llu", (unsigned long long)s->pure_ack);
    cr_expect_eq(s->data, 2);
    cr_expect_eq(s->flows, 1);
    cr_expect_eq(s->retrans, 1);
    cr_expect_eq(s->handshakes, 1);
}

Test(trace, known_exchange_every_number)
{
    char path[128];
    tmp_path(path, sizeof(path), ".pcap");
    write_pcap(path, 65535);
    struct trace_summary s;
    char err[256] = "";
    int rc = trace_analyze(path, &s, err, sizeof(err));
    unlink(path);
    cr_assert_eq(rc, 0, "trace_analyze: %s", err);
    check_exchange_numbers(&s);
    cr_expect_eq(s.captured_bytes, s.bytes);
    cr_expect_float_eq(s.duration_s, 0.0018, 1e-9, "duration %.9f", s.duration_s);
    cr_expect_float_eq(s.first_s, 1700000000.0, 1e-6, "first %.9f", s.first_s);
    cr_expect_float_eq(s.last_s, 1700000000.0018, 1e-6, "last %.9f", s.last_s);
    cr_expect_eq(s.syn_synack.n, 1);
    cr_expect_float_eq(s.syn_synack.min_us, 100.0, 1e-6);
    cr_expect_float_eq(s.syn_synack.median_us, 100.0, 1e-6);
    cr_expect_float_eq(s.syn_synack.max_us, 100.0, 1e-6);
    cr_expect_eq(s.synack_ack.n, 1);
    cr_expect_float_eq(s.synack_ack.min_us, 200.0, 1e-6);
    cr_expect_float_eq(s.synack_ack.median_us, 200.0, 1e-6);
    cr_expect_float_eq(s.synack_ack.max_us, 200.0, 1e-6);
}

/* Headers-only snaplen: payload lengths come from the IP header. */
Test(trace, snaplen_cut_keeps_payload_accounting)
{
    char path[128];
    tmp_path(path, sizeof(path), "-snap.pcap");
    write_pcap(path, 64);
    struct trace_summary s;
    char err[256] = "";
    int rc = trace_analyze(path, &s, err, sizeof(err));
    unlink(path);
    cr_assert_eq(rc, 0, "trace_analyze: %s", err);
    check_exchange_numbers(&s);
    cr_expect_eq(s.captured_bytes, 7 * 54 + 2 * 64);
}

/* A frame cut inside the TCP header is counted as short, not analysed. */
Test(trace, truncated_tcp_header_is_counted)
{
    char path[128];
    tmp_path(path, sizeof(path), "-short.pcap");
    write_pcap(path, 40);
    struct trace_summary s;
    char err[256] = "";
    int rc = trace_analyze(path, &s, err, sizeof(err));
    unlink(path);
    cr_assert_eq(rc, 0, "trace_analyze: %s", err);
    cr_expect_eq(s.packets, 9);
    cr_expect_eq(s.ipv4, 9);
    cr_expect_eq(s.short_hdr, 9);
    cr_expect_eq(s.tcp, 0);
    cr_expect_eq(s.flows, 0);
}

Test(trace, missing_and_garbage_files_fail)
{
    struct trace_summary s;
    char err[256] = "";
    cr_expect_eq(trace_analyze("/nonexistent/x.pcap", &s, err, sizeof(err)), -1);
    cr_expect(strstr(err, "/nonexistent/x.pcap") != NULL, "err: %s", err);
    char path[128];
    tmp_path(path, sizeof(path), "-garbage.pcap");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("this is not a capture file at all\n", f);
    fclose(f);
    err[0] = '\0';
    int rc = trace_analyze(path, &s, err, sizeof(err));
    unlink(path);
    cr_expect_eq(rc, -1);
    cr_expect(err[0] != '\0');
}

#ifdef HAVE_DPDK

static int privilege_error(const char *err)
{
    return strstr(err, "Permission denied") || strstr(err, "Operation not permitted");
}

static uint64_t counter(struct pktio *p, const char *name)
{
    struct netio_counter c[160];
    int n = pktio_counters(p, c, 160);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    cr_assert_fail("counter '%s' missing", name);
    return 0;
}

/* Send each segment of EXCHANGE on a net_ring loopback and receive it back,
 * with the in-process capture on: every frame is in the file twice (out, in). */
static void loop_exchange(const char *path, const char *count_opt, uint64_t *frames)
{
    char cap[200], pfx[64];
    snprintf(cap, sizeof(cap), "capture=%s", path);
    snprintf(pfx, sizeof(pfx), "file_prefix=bbtt%d", (int)getpid());
    const char *opts[] = {"vdev=net_ring0", cap, "capture_snaplen=96", pfx, count_opt, NULL};
    struct pktio_config cfg = {.opts = opts};
    char err[512] = "";
    const struct pktio_ops *ops = pktio_find("dpdk");
    cr_assert_not_null(ops);
    struct pktio *p = ops->open(&cfg, err, sizeof(err));
    if (!p && privilege_error(err)) cr_skip_test("DPDK EAL needs privileges here: %s", err);
    cr_assert_not_null(p, "open: %s", err);
    for (size_t i = 0; i < NSEG; i++) {
        struct pktbuf *b = pktio_alloc(p);
        cr_assert_not_null(b);
        b->len = build(b->data, &EXCHANGE[i]);
        cr_assert_eq(pktio_tx_burst(p, &b, 1), 1);
        struct pktbuf *r[4];
        uint16_t n = 0;
        for (int tries = 0; tries < 100000 && n == 0; tries++)
            n = pktio_rx_burst(p, r, 4);
        cr_assert_eq(n, 1, "segment %zu did not come back", i);
        pktio_free(p, r, n);
    }
    uint64_t rx = counter(p, "rx_frames"), tx = counter(p, "tx_frames");
    cr_expect_eq(rx + tx, 2 * NSEG);
    frames[0] = counter(p, "capture_frames");
    frames[1] = counter(p, "capture_over_count");
    cr_expect_eq(counter(p, "capture_nombuf"), 0);
    cr_expect_eq(counter(p, "capture_write_errors"), 0);
    pktio_close(p); /* closes the file */
}

Test(trace, dpdk_inprocess_pcapng_is_read)
{
    char path[128];
    tmp_path(path, sizeof(path), ".pcapng");
    uint64_t fr[2];
    loop_exchange(path, NULL, fr);
    cr_expect_eq(fr[0], 2 * NSEG, "capture_frames %llu", (unsigned long long)fr[0]);
    cr_expect_eq(fr[1], 0);
    struct trace_summary s;
    char err[256] = "";
    int rc = trace_analyze(path, &s, err, sizeof(err));
    unlink(path);
    cr_assert_eq(rc, 0, "trace_analyze: %s", err);
    cr_expect_eq(s.packets, 2 * NSEG, "packets %llu", (unsigned long long)s.packets);
    cr_expect_eq(s.bytes, 2 * (7 * 54 + 2 * 154));
    cr_expect_eq(s.captured_bytes, 2 * (7 * 54 + 2 * 96));
    cr_expect_eq(s.syn, 2);
    cr_expect_eq(s.synack, 2);
    cr_expect_eq(s.fin, 4);
    cr_expect_eq(s.pure_ack, 6);
    cr_expect_eq(s.data, 4);
    cr_expect_eq(s.flows, 1);
    cr_expect_eq(s.retrans, 3); /* the data segment four times */
    cr_expect_eq(s.handshakes, 1);
    cr_expect_eq(s.syn_synack.n, 1);
    cr_expect(s.duration_s >= 0 && s.duration_s < 3600, "duration %f", s.duration_s);
    /* rte_pcapng's TSC-to-ns base (see cap_prime_clock in drivers/dpdk/capture.c):
     * not centuries off the clock. */
    double now = (double)time(NULL);
    cr_expect(s.first_s > now - 86400 && s.first_s < now + 86400, "first timestamp %.0f, now %.0f",
              s.first_s, now);
}

Test(trace, dpdk_inprocess_capture_count_bound)
{
    char path[128];
    tmp_path(path, sizeof(path), "-bound.pcapng");
    uint64_t fr[2];
    loop_exchange(path, "capture_count=5", fr);
    cr_expect_eq(fr[0], 5);
    cr_expect_eq(fr[1], 2 * NSEG - 5);
    struct trace_summary s;
    char err[256] = "";
    int rc = trace_analyze(path, &s, err, sizeof(err));
    unlink(path);
    cr_assert_eq(rc, 0, "trace_analyze: %s", err);
    cr_expect_eq(s.packets, 5);
}

#else

Test(trace, dpdk_inprocess_pcapng_is_read)
{
    cr_skip_test("built without DPDK (libdpdk-dev not found by pkg-config): no rte_pcapng files to read");
}

#endif /* HAVE_DPDK */
