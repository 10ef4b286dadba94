/*
 * ustack.h — public face of our user-space TCP/IP stack (DESIGN §4).
 * The stack runs over any pktio (memlink in tests, afpacket, dpdk) and
 * is used through the netio interface, exactly like the kernel driver, so the
 * HTTP server and load generator run on it unchanged:
 *
 *   netio_poll() -> ustack poll: pktio_rx_burst -> eth_input -> arp/ipv4 ->
 *                   icmp/tcp_input; timers (timer wheel); flush TX batch.
 *
 * Per-instance context (no globals); preallocated pools: no malloc per packet
 * or per connection in steady state. Every drop is counted by reason and
 * exported through netio_counters ("drop_ip_bad_csum", "drop_tcp_bad_option",
 * ...). Single-threaded: one instance per worker.
 *
 * Loop accounting (poll mode: a stack whose poll never sleeps, i.e. over a
 * pktio without an fd such as dpdk or memlink, or with busy_poll): a loop
 * iteration runs from one netio_poll() entry to the next, so it covers the
 * stack's processing and the caller's handling of the events. It is "work"
 * when frames were received or sent during it (rx_frames/tx_frames moved) or
 * its poll returned events, else "idle". At each entry the TSC cycles since
 * the previous entry go to that iteration's class: poll_cycles_work,
 * poll_cycles_idle, and the iteration counts poll_iters_work,
 * poll_iters_idle. A stack that may sleep in poll exports none of these.
 */
#ifndef BB_USTACK_H
#define BB_USTACK_H

#include "drivers/netio.h"
#include "drivers/pktio.h"

#include <netinet/in.h>
#include <stdint.h>

struct ustack_config {
    struct in_addr ip;             /* our IPv4 address (network order) */
    uint8_t prefix_len;            /* on-link prefix; other destinations are unreachable */
    uint32_t max_conns;            /* connection table (0 = 16384) */
    uint32_t rcvbuf;               /* receive buffer per connection, bytes (0 = 256 KiB) */
    uint32_t sndbuf;               /* send buffer per connection, bytes (0 = 256 KiB) */
    uint32_t syn_backlog;          /* half-open connections per listener (0 = 1024) */
    uint64_t time_wait_ns;         /* TIME_WAIT duration (0 = 1 s: short, for benchmarks) */
    uint64_t delack_ns;            /* delayed-ACK timeout (0 = 10 ms) */
    int delack_off;                /* 1 = ACK every segment at once */
    uint64_t rto_min_ns;           /* lower bound of the RTO (0 = 200 ms); initial RTO is 1 s */
    int sack_off;                  /* 1 = do not offer or use SACK (RFC 2018) */
    int tlp_off;                   /* 1 = no tail loss probe (RFC 8985 section 7) */
    uint64_t tlp_ack_delay_ns;     /* a probe with one segment in flight waits this much more for a
                                      delayed ACK (0 = 50 ms) */
    uint16_t mss;                  /* our MSS (0 = MTU - 40) */
    uint64_t isn_seed;             /* 0 = random initial sequence numbers; else deterministic */
    uint64_t (*now_ns)(void *arg); /* clock; NULL = CLOCK_MONOTONIC (tests pass a virtual one) */
    void *now_arg;
    int cpu;                    /* pin the caller to this CPU (-1 = no) */
    int busy_poll;              /* 1 = netio_poll never sleeps */
    int gratuitous_arp;         /* 1 = announce our address at start */
    uint16_t tx_burst;          /* frames queued before a TX burst goes out (1..64; 0 = what the
                                   pktio prefers, else 64);
                                   whatever is queued also leaves at netio_flush and each poll */
    uint64_t (*tsc)(void *arg); /* cycle counter for loop accounting; NULL = rdtsc
                                   (tests pass a virtual one) */
    void *tsc_arg;
    uint32_t
        test_work_per_packet; /* TEST ONLY: extra loop iterations per received frame (0 = off) */
    uint32_t test_drop_every; /* TEST ONLY, us_netio_open: drop every Nth TCP frame with data
                                 sent and every Nth received (0 = off): loss against real peers */
    uint32_t test_spike_after, test_spike_every; /* TEST ONLY, us_netio_open: our TX is held
                                 for test_spike_ns after the Nth frame we send (and every
                                 test_spike_every frames after it; 0 = once), impair.c's delay
                                 spike: spurious retransmissions by real peers (0 = off) */
    uint64_t test_spike_ns;
};

void ustack_config_defaults(struct ustack_config *c);

/* A netio over the stack on pkt. The netio owns pkt: netio_destroy closes it.
 * Returns NULL with err on bad config or allocation failure. */
struct netio *ustack_open(struct pktio *pkt, const struct ustack_config *c, char *err,
                          size_t errlen);

#endif
