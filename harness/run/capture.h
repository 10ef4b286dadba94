/*
 * capture.h — bounded libpcap capture on one interface into a pcap file
 * (DESIGN §8: kernel and afpacket paths). Callers: harness/cli/capture.c
 * (`bypassbench capture`, spawned by the harness inside bb-dut and stopped
 * with SIGTERM). Calls libpcap (pcap_create/activate/dispatch/dump/stats),
 * jansson for the result record. Never prints.
 */
#ifndef BB_CAPTURE_H
#define BB_CAPTURE_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct capture_config {
    const char *iface;    /* required */
    const char *out;      /* pcap file written with pcap_dump (required) */
    uint32_t snaplen;     /* bytes kept per frame (0 = 128) */
    uint64_t max_packets; /* stop after this many (0 = no bound) */
    uint64_t duration_ns; /* stop after this long (0 = no bound) */
    const char *filter;   /* BPF filter expression (NULL = everything) */
    int promisc;          /* 1 = promiscuous mode */
    uint32_t buffer_kb;   /* kernel ring size (0 = CAPTURE_DEFAULT_BUFFER_KB) */
    int immediate;        /* 1 = deliver each packet at once (a wake-up per packet);
                           * 0 = TPACKET_V3 blocks, handed over when full or after
                           * CAPTURE_BLOCK_TIMEOUT_MS */
};

/* Batched delivery: the kernel fills 256 KiB blocks (libpcap's TPACKET_V3
 * block size) and wakes the capture once per block, or after this timeout
 * when traffic is light. The default ring holds 256 such blocks: about 1 s of
 * 64-byte keep-alive traffic at 350 k packets/s with snaplen 128, so a capture
 * process that is descheduled for a while does not drop. */
#define CAPTURE_BLOCK_TIMEOUT_MS 100
#define CAPTURE_DEFAULT_BUFFER_KB 65536

enum capture_stop { CAPTURE_STOP_NONE, CAPTURE_STOP_COUNT, CAPTURE_STOP_DURATION,
                    CAPTURE_STOP_SIGNAL, CAPTURE_STOP_ERROR };

struct capture_result {
    uint64_t packets;        /* written to the file */
    uint64_t bytes;          /* their original (wire) lengths */
    uint64_t captured_bytes; /* their captured lengths */
    uint64_t ps_recv;        /* pcap_stats: seen by the filter (on Linux: drops included) */
    uint64_t ps_drop;        /* dropped: no room in the capture buffer */
    uint64_t ps_ifdrop;      /* dropped by the interface/driver */
    uint32_t snaplen;
    double duration_s;       /* from activation to the end of the loop */
    double cpu_user_s, cpu_sys_s; /* this process's CPU time (getrusage) */
    enum capture_stop stopped_by;
};

struct capture;

/* Open and activate the capture and the output file. NULL with err. */
struct capture *capture_open(const struct capture_config *c, char *err, size_t errlen);

/* Capture until the count or duration bound is reached, or *stop becomes
 * non-zero (checked at least every 100 ms). On a stop, what the kernel holds
 * in a block not yet handed over is still read (it waits up to one block
 * timeout for it), so the file has every packet seen before the stop.
 * 0, or -1 with err on a read or write error (what was captured is still in
 * the file after capture_close). */
int capture_loop(struct capture *cap, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Counters so far (pcap_stats included). */
void capture_result(struct capture *cap, struct capture_result *out);

/* Flush and close the file and the handle. NULL is fine. */
void capture_close(struct capture *cap);

const char *capture_stop_str(enum capture_stop s);

/* {"iface", "file", "packets", "bytes", "captured_bytes", "dropped_kernel",
 *  "dropped_interface", "received_by_filter", "snaplen", "duration_s", "stopped_by",
 *  "cpu_user_s", "cpu_sys_s"} */
json_t *capture_result_json(const char *iface, const char *file, const struct capture_result *r);

#endif
