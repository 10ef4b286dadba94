/*
 * test_kstats.c — the kernel's loss and TCP counters (harness/run/kstats.c)
 * parsed from /proc/net texts, and read from this machine's /proc.
 */
#include <criterion/criterion.h>

#include "harness/run/kstats.h"

static const char softnet[] = "00001000 00000002 00000010 00000000 00000000\n"
                              "00002000 0000000a 00000001 00000000 00000000\n";
static const char snmp[] = "Ip: Forwarding DefaultTTL\nIp: 1 64\n"
                           "Tcp: RtoAlgorithm RtoMin RetransSegs InErrs\nTcp: 1 200 42 0\n";
static const char netstat[] =
    "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPLossProbes TCPDSACKOldSent "
    "TCPDSACKOfoSent TCPDSACKRecv TCPBacklogDrop TCPRcvQDrop TCPOFODrop TCPDSACKUndo "
    "TCPLossUndo\n"
    "TcpExt: 0 3 4 5 6 11 7 8 9 10 12 13\n"
    "IpExt: InNoRoutes\nIpExt: 3\n";

Test(kstats, parses_every_counter)
{
    struct kstats k;
    char err[160];
    cr_assert_eq(kstats_parse(&k, softnet, snmp, netstat, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(k.v[KS_SOFTNET_DROPPED], 2 + 10, "hex, summed over CPUs");
    cr_expect_eq(k.v[KS_SOFTNET_SQUEEZED], 16 + 1);
    cr_expect_eq(k.v[KS_TCP_RETRANS_SEGS], 42);
    cr_expect_eq(k.v[KS_TCP_LOSS_PROBES], 5);
    cr_expect_eq(k.v[KS_TCP_DSACK_OLD_SENT], 6);
    cr_expect_eq(k.v[KS_TCP_DSACK_RECV], 7);
    cr_expect_eq(k.v[KS_TCP_BACKLOG_DROP], 8);
    cr_expect_eq(k.v[KS_TCP_RCVQ_DROP], 9);
    cr_expect_eq(k.v[KS_TCP_OFO_DROP], 10);
    cr_expect_eq(k.v[KS_TCP_DSACK_OFO_SENT], 11, "a resend past a hole is a duplicate too");
    cr_expect_eq(k.v[KS_TCP_DSACK_UNDO], 12);
    cr_expect_eq(k.v[KS_TCP_LOSS_UNDO], 13);
    cr_expect_eq(k.v[KS_TCP_LISTEN_DROPS], 4, "ListenDrops (overflows among them), not the "
                                              "overflows alone");
}

Test(kstats, a_missing_counter_is_an_error_that_names_it)
{
    struct kstats k;
    char err[160];
    cr_expect_eq(kstats_parse(&k, softnet, "Tcp: RtoMin\nTcp: 200\n", netstat, err, sizeof(err)),
                 -1);
    cr_expect_str_eq(err, "kstats: /proc/net/snmp: no Tcp RetransSegs");
    cr_expect_eq(
        kstats_parse(&k, softnet, snmp, "TcpExt: TCPLossProbes\nTcpExt: 1\n", err, sizeof(err)),
        -1);
    cr_expect_str_eq(err, "kstats: /proc/net/netstat: no TcpExt TCPDSACKOldSent");
    cr_expect_eq(kstats_parse(&k, NULL, snmp, netstat, err, sizeof(err)), -1);
    cr_expect_str_eq(err, "kstats: /proc/net/softnet_stat missing");
}

Test(kstats, reads_this_machine_and_deltas)
{
    struct kstats a, b;
    char err[160];
    cr_assert_eq(kstats_read(&a, err, sizeof(err)), 0, "%s", err);
    b = a;
    b.v[KS_TCP_RETRANS_SEGS] += 3;
    json_t *d = kstats_delta_json(&a, &b);
    cr_expect_eq(json_integer_value(json_object_get(d, "tcp_retrans_segs")), 3);
    cr_expect_eq(json_integer_value(json_object_get(d, "softnet_dropped")), 0);
    cr_expect_eq(json_object_size(d), KS__COUNT);
    json_decref(d);
}
