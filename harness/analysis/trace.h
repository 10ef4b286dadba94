/*
 * trace.h — summary of a pcap or pcapng file (DESIGN §8): packets, bytes,
 * duration, a size histogram, TCP flag counts, flows, retransmissions and
 * handshake RTTs. No printing: `bypassbench trace` (harness/cli/trace.c)
 * prints the struct this fills. Calls libpcap (pcap_open_offline reads both
 * formats).
 */
#ifndef BB_TRACE_H
#define BB_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* Frame sizes (original length on the wire, without FCS): <=64, <=128,
 * <=256, <=512, <=1024, <=1514, larger. */
#define TRACE_NBUCKETS 7
extern const uint32_t trace_bucket_max[TRACE_NBUCKETS - 1];

struct trace_rtt {
    uint64_t n;                      /* samples */
    double min_us, median_us, max_us; /* 0 when n == 0 */
};

struct trace_summary {
    char linktype[32];        /* e.g. "EN10MB" */
    uint64_t packets;         /* records in the file */
    uint64_t bytes;           /* sum of original (wire) lengths */
    uint64_t captured_bytes;  /* sum of captured lengths (<= snaplen each) */
    double duration_s;        /* last timestamp - first */
    double first_s, last_s;   /* timestamps of the first and last packet (Unix seconds) */
    uint64_t size_hist[TRACE_NBUCKETS];
    uint64_t ipv4, tcp;       /* IPv4 packets, TCP segments among them */
    uint64_t not_ipv4;        /* ARP, IPv6, ... */
    uint64_t short_hdr;       /* IPv4/TCP headers cut by the snaplen or malformed */
    /* TCP flags: syn = SYN without ACK; synack = SYN+ACK; fin, rst = with
     * that flag; pure_ack = ACK only (no SYN/FIN/RST, no payload);
     * data = payload length > 0 (from the IP total length, so a snaplen cut
     * does not hide it). */
    uint64_t syn, synack, fin, rst, pure_ack, data;
    uint64_t flows;      /* distinct TCP 4-tuples, both directions counted once */
    uint64_t retrans;    /* data segments whose (flow, direction, seq) was seen before */
    uint64_t handshakes; /* SYN, SYN-ACK, then the client's ACK of the SYN-ACK */
    struct trace_rtt syn_synack; /* SYN -> SYN-ACK, per flow */
    struct trace_rtt synack_ack; /* SYN-ACK -> the ACK completing the handshake */
};

/* Read PATH (pcap or pcapng; Ethernet, Linux cooked or raw IP) and fill *out.
 * 0, or -1 with err (cannot open, unsupported link type, out of memory). */
int trace_analyze(const char *path, struct trace_summary *out, char *err, size_t errlen);

#endif
