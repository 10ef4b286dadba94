/*
 * kstats.h — the kernel's own loss and retransmission counters, read in the
 * calling process's network namespace: where a frame the kernel dropped, or
 * a segment its TCP resent or received twice, is counted when it is not our
 * stack's. The generator reads them at its window's edges (report_window),
 * the kernel-socket server over its run, so that the record can say whose a
 * loss was (ours: driver counters; the kernel's or the wire's: these).
 * Callers: harness/analysis/report_json.c, harness/cli/serve.c, tests.
 */
#ifndef BB_KSTATS_H
#define BB_KSTATS_H

#include <jansson.h>
#include <stdint.h>

enum kstat {
    KS_SOFTNET_DROPPED,    /* /proc/net/softnet_stat column 2, all CPUs: backlog over
                              netdev_max_backlog (machine-wide, not per namespace) */
    KS_SOFTNET_SQUEEZED,   /* column 3: NET_RX ran out of budget or time (no loss) */
    KS_TCP_RETRANS_SEGS,   /* /proc/net/snmp Tcp RetransSegs */
    KS_TCP_DSACK_OLD_SENT, /* /proc/net/netstat TcpExt TCPDSACKOldSent: data that came twice
                              (below rcv_nxt) */
    KS_TCP_DSACK_OFO_SENT, /* TCPDSACKOfoSent: data that came twice above rcv_nxt (already in
                              the out-of-order queue: a resend past a hole) */
    KS_TCP_DSACK_RECV,     /* TCPDSACKRecv: our resends the peer had already */
    KS_TCP_LOSS_PROBES,    /* TCPLossProbes */
    KS_TCP_DSACK_UNDO,     /* TCPDSACKUndo: recoveries undone, every resend D-SACKed */
    KS_TCP_LOSS_UNDO,      /* TCPLossUndo: RTO recoveries undone (D-SACKs, timestamps or
                              F-RTO: TCPSpuriousRTOs among them) */
    KS_TCP_BACKLOG_DROP,   /* TCPBacklogDrop: socket backlog full */
    KS_TCP_RCVQ_DROP,      /* TCPRcvQDrop: receive buffer full */
    KS_TCP_OFO_DROP,       /* TCPOFODrop: out-of-order queue full */
    KS_TCP_LISTEN_DROPS,   /* ListenDrops: SYNs and handshake ends a listener dropped (its
                              accept queue full, ListenOverflows, among them): never seen by
                              the program, so counted nowhere else */
    KS__COUNT
};

struct kstats {
    uint64_t v[KS__COUNT];
};

extern const char *const kstat_names[KS__COUNT];

/* 0, or -1 with err naming the file that could not be read or parsed. */
int kstats_read(struct kstats *k, char *err, size_t errlen);
/* {name: end - start} for every counter. */
json_t *kstats_delta_json(const struct kstats *start, const struct kstats *end);
/* The same parsing on given file contents (NULL: that file is absent), for
 * tests. 0 or -1 with err. */
int kstats_parse(struct kstats *k, const char *softnet, const char *snmp, const char *netstat,
                 char *err, size_t errlen);

#endif
