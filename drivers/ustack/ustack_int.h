/*
 * ustack_int.h — internals of the user-space stack shared by its files:
 * the per-instance context (struct us_ctx), the connection slot
 * (struct us_conn), the counters (enum us_cnt, names in stack.c) and the
 * cross-file functions. Nothing here is visible to workloads (ustack.h is).
 *
 *   stack.c (poll) -> eth.c -> arp.c | ipv4.c -> icmp.c | tcp_in.c
 *   tcp_in.c / tcp_timer.c / stack.c (send, close) -> tcp_out.c
 *   tcp_out.c / icmp.c -> ipv4_output -> arp_output -> us_tx (stack.c)
 */
#ifndef BB_USTACK_INT_H
#define BB_USTACK_INT_H

#include "drivers/ustack/tcp.h"
#include "drivers/ustack/ustack.h"

#include "drivers/netio_ready.h"
#include "drivers/opts.h"

#include <stdint.h>
#include <string.h>

#define US_RX_BURST 32
#define US_RX_BURSTS 8 /* RX bursts per poll at most */
/* Polls in a row whose RX bursts ran out with frames still waiting may put
 * the timers off (see run_stack): a stack back from a descheduling reads
 * the ACKs that came meanwhile before its probe timers judge the silence */
#define US_TIMER_DEFER_MAX 16
#define US_TX_BATCH 64  /* TX queue capacity: the largest and default tx_burst */
#define US_ARP_SIZE 256 /* power of two */
#define US_ARP_PROBE 8
#define US_ARP_RETRIES 3
#define US_ARP_RETRY_NS 1000000000ull
#define US_ARP_TTL_NS 60000000000ull
#define US_OOO_MAX 16 /* out-of-order intervals per connection */
#define US_MAX_LISTENERS 16
#define US_WHEEL_BITS 12
#define US_WHEEL_SLOTS (1u << US_WHEEL_BITS)
#define US_TICK_SHIFT 20 /* ~1.05 ms per wheel tick */
#define US_RTO_INIT_NS 1000000000ull
#define US_RTO_MAX_NS 60000000000ull
/* added to 2 SRTT in the probe timeout, as Linux adds TCP_TIMEOUT_MIN (2
 * jiffies: 8 ms at Debian's HZ=250): with SRTTs of microseconds a receiver
 * a scheduler tick late draws a spurious probe. At 2 ms, ka-64k (64 x
 * /bytes/64k) drew 0-96 probes per trial on the ring and 220-360 on veth,
 * every one D-SACKed by the generator; at 8 ms 0 on the ring, 0-1 on
 * afpacket, 5-78 on dpdk (3 trials each). A tail loss is then back in
 * 20.8 ms instead of 15.6 at 2 ms RTT (memlink). */
#define US_TLP_MIN_NS 8000000ull
#define US_SYN_RETRIES 6
#define US_DATA_RETRIES 12
#define US_FIN_WAIT2_NS 60000000000ull
#define US_CHALLENGE_PER_SEC 100
#define US_EPHEMERAL_LO 49152
#define US_EPHEMERAL_HI 65535

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_ARP_ 0x0806
#define IP_HLEN 20
#define IPPROTO_TCP_ 6
#define IPPROTO_ICMP_ 1

enum us_cnt {
    US_RX_FRAMES,
    US_TX_FRAMES,
    US_DROP_ETH_SHORT,
    US_DROP_ETH_NOT_FOR_US,
    US_DROP_ETH_UNKNOWN_TYPE,
    US_DROP_ARP_BAD,
    US_DROP_ARP_NOT_FOR_US,
    US_DROP_ARP_PENDING_REPLACED, /* superseded by a newer frame of the same flow */
    US_DROP_ARP_PENDING_FULL,
    US_DROP_ARP_UNRESOLVED,
    US_ARP_REQUESTS,
    US_ARP_REPLIES,
    US_DROP_IP_BAD_LEN,
    US_DROP_IP_BAD_VERSION,
    US_DROP_IP_BAD_CSUM,
    US_DROP_IP_FRAGMENT,
    US_DROP_IP_NOT_FOR_US,
    US_DROP_IP_UNKNOWN_PROTO,
    US_DROP_IP_NO_ROUTE,
    US_ICMP_ECHO_REPLIES,
    US_DROP_ICMP_BAD,
    US_DROP_ICMP_OTHER,
    US_DROP_TCP_BAD_LEN,
    US_DROP_TCP_BAD_CSUM,
    US_DROP_TCP_BAD_OPTION,
    US_DROP_TCP_NO_LISTENER,
    US_DROP_TCP_NO_CONN,
    US_DROP_TCP_OUT_OF_WINDOW,
    US_DROP_TCP_BAD_ACK,
    US_DROP_TCP_RST_INVALID,
    US_DROP_TCP_NO_ACK,
    US_DROP_TCP_DATA_IGNORED,
    US_RSTS_SENT,
    US_CHALLENGE_ACKS,
    US_CHALLENGE_ACKS_LIMITED,
    US_RETRANSMITS,
    US_FAST_RETRANSMITS,
    US_TLP_PROBES,        /* tail loss probes sent (RFC 8985 7.3) */
    US_TLP_NEW_DATA,      /* ... of them new data rather than the last segment again */
    US_TLP_DEFERRED_BUSY, /* probes not sent: our TX path was refusing frames (the tail is
                             queued here, not lost); the RTO guards it instead */
    US_TLP_DEFERRED_QUEUED, /* ... the link said the tail's frame had not left this host yet
                               (pktio tx_pending: the peer has not taken it) */
    US_TLP_DEFERRED_STALLED, /* ... the peer had taken the tail but nothing since, for half
                                a probe timeout, while our frames waited for it: it is not
                                running (descheduled), nothing says a loss */
    US_TIMERS_DEFERRED_RX, /* timer runs put off a poll: frames were still waiting to be
                              received (the ACK a timer would miss may be among them) */
    US_SACK_RECOVERIES,   /* recoveries entered on SACK loss detection (RFC 6675 / RACK) */
    US_SACK_RETRANSMITS,  /* holes the scoreboard retransmitted */
    US_RACK_REO_TIMEOUTS, /* holes declared lost when the reordering window ran out */
    US_RACK_REXMIT_LOST,  /* resent holes found lost again (data sent after them arrived) */
    US_SACK_BLOCKS_RCVD,  /* SACK blocks parsed from the peer and used */
    US_SACK_BLOCKS_BAD,   /* ... ignored (outside snd_una..snd_max, empty) */
    US_DSACK_RCVD,        /* D-SACKs (RFC 2883): the peer got a segment twice, so a
                             retransmission was spurious, not a repair of a loss */
    US_DSACK_SENT,        /* ... that we sent: a segment reached us twice */
    US_DSACK_UNDO,        /* congestion cuts undone: the peer D-SACKed every retransmission
                             of the loss episode, so none repaired a loss (RFC 3708) */
    US_SACK_ACKS_SENT,    /* segments we sent carrying SACK blocks */
    US_SACK_PERMITTED,    /* connections on which both sides agreed to SACK */
    US_TIMEOUTS,
    US_SYN_RETRANSMITS,
    US_SYN_RESENT_ON_ARP, /* SYNs re-sent when ARP resolved, their first copy dropped */
    US_DUP_ACKS,
    US_TCP_PREDICTED, /* segments that took the header-prediction path */
    US_OOO_QUEUED,
    US_OOO_DROPPED,
    US_SYN_BACKLOG_FULL,
    US_CONN_TABLE_FULL,
    US_ZERO_WINDOW_PROBES,
    US_DELAYED_ACKS,
    US_ACKS_PER_BURST, /* ACKs sent at the end of an RX burst for the in-order data it
                          brought (one per connection, however many segments) */
    US_WINDOW_UPDATES,
    US_TX_POOL_EMPTY,
    US_TX_DROPPED_FULL,
    US_TX_STALL_FULL, /* a segment held back (not sent, not lost): TX queue and ring full */
    US_CONNS_ACCEPTED,
    US_CONNS_CONNECTED,
    US_CONNS_CLOSED,
    US_CLOSE_LOCAL, /* one per netio_close_reason, same order */
    US_CLOSE_PEER_FIN,
    US_CLOSE_RESET,
    US_CLOSE_CONNECT_FAILED,
    US_CLOSE_TIMEOUT,
    US_CLOSE_ERROR,
    US_SEND_PARTIAL,
    US_TX_COPY_SNDBUF, /* bytes copied into send rings (netio_send) */
    US_TX_COPY_FRAME,  /* data bytes copied from send rings into frames */
    US_TX_FILL_FRAME,  /* data bytes written into frames straight from a reference */
    US_SEND_REF_COPIED, /* netio_send_ref bytes copied into the ring: references were full */
    US_TIME_WAIT_RECYCLED,
    US_KEEPALIVE_PROBES,   /* keepalive probes sent (tcp_keepalive.c) */
    US_KEEPALIVE_TIMEOUTS, /* connections reset after TCP_KEEPCNT unanswered probes */
    US_BAD_HANDLE,
    US_TX_TSO_FRAMES, /* frames handed to the pktio as TSO super-frames (PKT_TX_TSO) */
    US_TX_TSO_NOBUF,  /* no TSO buffer free: the segment went MSS-sized instead */
    US_RX_GRO_FRAMES, /* receive-offload super-frames taken (PKT_RX_GRO) */
    US_SYS_POLL_WAIT, /* poll(2) on the link's fd when nothing was ready (not busy-polling) */
    US_POLL_CYCLES_WORK, /* loop accounting (ustack.h); these four last */
    US_POLL_CYCLES_IDLE,
    US_POLL_ITERS_WORK,
    US_POLL_ITERS_IDLE,
    US_CNT__COUNT
};
extern const char *const us_cnt_names[US_CNT__COUNT];

/* pending event bits (P_*) and their order: netio.h */

/* connection flags */
#define CF_QUEUED 0x0001u     /* in the ready ring */
#define CF_ACK_NOW 0x0002u    /* send an ACK at the next output */
#define CF_FIN_QUEUED 0x0004u /* app closed: FIN after the queued data (fin_seq) */
#define CF_RCVD_FIN 0x0008u   /* peer's FIN received in order (EOF) */
#define CF_OOO_FIN 0x0010u    /* peer's FIN seen out of order at ooo_fin_seq */
#define CF_WANT_WR 0x0020u    /* a send was short: WRITABLE when space frees */
#define CF_WSCALE 0x0040u     /* both sides sent window scale */
#define CF_RECOVERY 0x0080u   /* NewReno fast recovery */
#define CF_HASHED 0x0100u     /* in the 4-tuple hash */
#define CF_RTT 0x0200u        /* timing rtt_seq */
#define CF_PASSIVE 0x0400u    /* created from a listener */
#define CF_ZOMBIE 0x0800u     /* on the zombie list (CLOSED returned this poll) */
#define CF_SYN_LOST 0x1000u   /* our SYN (SYN-ACK) fell off a full ARP queue: resend on resolve */
#define CF_SYN_STALL 0x2000u  /* our SYN (SYN-ACK) found the TX queue full: send when it drains */
#define CF_SACK 0x4000u       /* both sides sent SACK-permitted (RFC 2018) */
#define CF_LR 0x8000u         /* n_sack or tlp_hi set: new_ack has scoreboard or probe work */
#define CF_NO_TLP 0x10000u    /* cfg.tlp_off */
#define CF_SACKQ 0x20000u     /* out-of-order data held or a D-SACK owed, and CF_SACK: our
                                 segments carry SACK */
#define CF_RCVCAP 0x40000u    /* the application capped the receive window (us_ctx.rcvcap) */
#define CF_DSACK 0x80000u     /* a D-SACK block (dsack_s, dsack_e) goes first in the next one */
#define CF_ACKQ 0x100000u     /* in us_ctx.ackq: its ACK goes after this RX burst */
#define CF_UNDO 0x200000u     /* prior_cwnd, prior_ssthresh, undo_marker, undo_retrans hold a
                                 loss episode a D-SACK may still prove spurious (tcp_sack.c) */

/* application view of a slot */
enum us_app { APP_NONE = 0, APP_OPEN, APP_CLOSING, APP_GONE };
/* what rexmit_at means */
/* (the three that guard data in flight first: new_ack stops them with one test) */
enum us_tkind { TK_RTO = 0, TK_TLP, TK_REO, TK_PERSIST, TK_TIME_WAIT, TK_FIN_WAIT2 };
#define US_SACK_MAX 8 /* SACKed ranges the scoreboard keeps */

/* Bytes [seq, seq + len) of a connection's stream are bytes [off, off +
 * len) of src (struct netio_src: base, period). */
#define US_REFS 8
struct us_ref {
    uint32_t seq, len;
    uint64_t off;
    struct netio_src src;
};

struct us_conn {
    uint32_t raddr;        /* host order */
    uint16_t lport, rport; /* host order */
    uint8_t state, app, pend, reason;
    uint32_t flags;
    int16_t listener;
    int16_t arp_hint; /* index of raddr's ARP entry when last resolved, -1 none */
    /* Frame bytes 6..37 of every segment of this connection (our MAC, type,
     * the IPv4 header with zero length, id and checksum, the two ports), and
     * the one's-complement sums of their constant parts (host order): built
     * by tcp_hash_insert once the 4-tuple is known (tcp_out.c). */
    uint8_t tmpl[32];
    uint32_t tmpl_ipsum, tmpl_tcpsum;
    int32_t hnext;        /* hash chain */
    int32_t next;         /* free list / zombie list */
    int32_t tprev, tnext; /* timer wheel links; tdue 0 = not linked */
    /* The link-wide index (us_ctx.tx_seq) of the frame that carried the
     * latest new data: a probe waits while the link says that frame has not
     * left this host (pktio tx_pending). */
    uint32_t tail_tx;
    uint64_t tdue;
    uint64_t rexmit_at, delack_at; /* 0 = off */
    uint8_t tkind, nretx, snd_ws, rcv_ws;
    uint16_t smss, unacked_segs;
    uint16_t dupacks; /* saturates at UINT16_MAX (only compared with 3) */
    /* Retransmissions of the loss episode (undo_marker), in segments of smss
     * (a resend of len bytes counts ceil(len / smss)); D-SACKs for them count
     * down; at 0 the cut is undone (tcp_sack.c). An episode of more than
     * UINT16_MAX resends is not tracked (no undo: CF_UNDO cleared). */
    uint16_t undo_retrans;
    uint32_t dsack_s; /* with CF_DSACK: [dsack_s, dsack_e) arrived twice (RFC 2883) */
    void *ctx;
    /* send side: sbuf is a ring; byte at sequence sb_seq sits at sb_head */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint32_t sb_seq, sb_head, sb_len, fin_seq, recover, cwnd, ssthresh;
    uint8_t *sbuf;
    /* receive side: rbuf is linear; unconsumed bytes at rb_off, rb_len of
     * them; out-of-order data lives after them at its offset from rcv_nxt */
    uint32_t irs, rcv_nxt, rcv_adv, rb_off, rb_len, ooo_fin_seq;
    uint8_t *rbuf;
    uint8_t n_ooo;
    uint8_t n_sack;           /* SACKed ranges in sack_s/sack_e (below) */
    uint8_t ref_head, ref_n;  /* the send references (refs, below) */
    uint32_t ooo_s[US_OOO_MAX], ooo_e[US_OOO_MAX];
    uint32_t ooo_last; /* sequence of the latest out-of-order segment: first SACK block */
    /* Loss recovery (tcp_sack.c). The scoreboard: ranges the peer SACKed,
     * sorted, disjoint, within snd_una..snd_max. Holes below lost_hi are
     * lost (RFC 6675 IsLost or RACK's reordering window ran out); those below
     * rxt_nxt were resent in this recovery. rack_seq: holes below it become
     * lost when the TK_REO timer fires. tlp_hi: snd_max when a tail loss
     * probe went, 0 when none is outstanding (one probe per episode). */
    uint32_t sack_s[US_SACK_MAX], sack_e[US_SACK_MAX];
    uint32_t lost_hi, rxt_nxt, rack_seq, tlp_hi;
    uint32_t rxt_mark; /* snd_max when the latest hole was resent */
    /* Undo (RFC 2883 section 4, RFC 3708; Linux's prior_cwnd, undo_marker):
     * with CF_UNDO, cwnd and ssthresh before the loss episode's cut, and
     * snd_una when it began: D-SACKs of data at or above it count down
     * undo_retrans. */
    uint32_t prior_cwnd, prior_ssthresh, undo_marker;
    /* RTT (RFC 6298) */
    uint64_t srtt, rttvar, rto, rtt_start, persist_ns;
    uint32_t rtt_seq;
    uint32_t dsack_e;
    /* Send-ring bytes that are references (netio_send_ref), not copies: a
     * ring of ref_n entries from ref_head in refs[US_REFS] (allocated with
     * sbuf), in sequence order. Their ring space is reserved but never
     * written: frames are filled from the source (tcp_out.c); ref_head and
     * ref_n sit next to n_ooo. */
    struct us_ref *refs;
    /* (512 bytes exactly, checked below: a slot's address is then index <<
     * 9, one instruction on every lookup; at 496 it took three, the gate
     * counts them. Room left: none. The undo fields took the holes: tail_tx
     * went to the 4 bytes after tnext, n_sack, ref_head and ref_n to the 3
     * after n_ooo, and dupacks is 16 bits, which left room for
     * undo_retrans.) */
};
_Static_assert(sizeof(struct us_conn) == 512, "us_conn: keep it 512 bytes");

#define US_ARP_PENDING 32 /* like Linux's unres_qlen, in frames */
struct us_arp_ent {
    uint32_t ip; /* host order, 0 = free */
    uint8_t mac[6];
    uint8_t state; /* 0 free, 1 incomplete, 2 reachable */
    uint8_t tries;
    uint8_t npending;
    uint64_t expire, next_try;
    /* Frames waiting for the address to resolve, sent in order once it does.
     * Several connections opened at once to a new peer all wait here (one
     * slot would drop all SYNs but the last: a 1 s RTO for each). */
    struct pktbuf *pending[US_ARP_PENDING];
};

struct us_listener {
    uint16_t port;
    uint8_t used;
    uint32_t half_open;
    void *ctx;
};

struct us_ctx {
    struct netio base;
    struct pktio *pkt;
    struct ustack_config cfg;
    uint32_t ip, netmask; /* host order */
    uint8_t mac[6];
    uint16_t mtu, mss;
    uint32_t offloads;
    uint32_t tso_seg; /* with PKT_TX_TSO: the most data bytes one TSO frame carries, else 0 */
    int fd;
    uint64_t now;
    /* loop accounting (ustack.h): the last netio_poll entry, the frame
     * count then, and whether that poll returned events */
    uint64_t loop_tsc, loop_frames;
    int loop_events;
    /* connections */
    uint32_t max_conns, hmask;
    struct us_conn *conns;
    int32_t *hash;
    int32_t free_head, zombie_head;
    struct netio_ring ready; /* slots with pending events (CF_QUEUED), capacity max_conns */
    struct us_listener listeners[US_MAX_LISTENERS];
    uint16_t next_port;
    uint32_t tw_scan;
    uint64_t isn_secret, isn_count;
    uint64_t chal_window;
    uint32_t chal_count;
    /* timers */
    int32_t wheel[US_WHEEL_SLOTS];
    uint64_t wheel_tick;
    uint64_t arp_next_scan;
    /* keepalive and per-connection options (tcp_keepalive.c), allocated on
     * first use: per slot, indexed like conns */
    struct us_ka *ka;
    uint32_t *ka_list, ka_n; /* slots with keepalive on */
    uint64_t ka_next;        /* earliest keepalive deadline (0: none) */
    uint32_t *rcvcap;        /* CF_RCVCAP: the slot's receive window cap, bytes */
    /* arp and ip */
    struct us_arp_ent arp[US_ARP_SIZE];
    uint16_t ip_id;
    uint8_t syn_lost; /* some connection may carry CF_SYN_LOST */
    /* tx batch */
    struct pktbuf *txq[US_TX_BATCH];
    uint16_t ntx, tx_burst; /* queued; flush when this many are (cfg.tx_burst) */
    /* Back-pressure: connections whose segment found the TX queue full (the
     * pktio refused what it held) wait here, each once (stall_mark), and send
     * when it drains (us_tx_unstall at each poll); nothing they had to send
     * is lost or counted as sent. */
    struct netio_ring stalled;
    uint8_t *stall_mark;
    uint64_t tx_refused_at; /* when the pktio last refused frames (0: never) */
    uint8_t timer_defer;    /* polls in a row that put the timers off (US_TIMER_DEFER_MAX) */
    /* Where pktio tx_pending answers: how many of our frames had left this
     * host (taken by the peer) at the latest look (each timer tick, each
     * probe), and since when that count has not grown. */
    uint64_t tx_left, tx_left_at;
    struct pktbuf *rxq[US_RX_BURST];
    /* Connections whose in-order data asked for an ACK during the RX burst
     * being processed (CF_ACKQ): one ACK each after the burst, for all the
     * segments it brought, as Linux ACKs once per GRO packet. */
    int32_t ackq[US_RX_BURST];
    uint16_t nackq;
    uint8_t in_rx; /* processing an RX burst: ACKs of in-order data wait for its end */
    uint64_t cnt[US_CNT__COUNT];
};

#define CNT(ctx, c) ((ctx)->cnt[(c)]++)

/* Big-endian (network order) loads and stores at any alignment. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline uint16_t rd16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return __builtin_bswap16(v);
}
static inline uint32_t rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
static inline void wr16(void *p, uint16_t v)
{
    v = __builtin_bswap16(v);
    memcpy(p, &v, 2);
}
static inline void wr32(void *p, uint32_t v)
{
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}
#else
static inline uint16_t rd16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)((b[0] << 8) | b[1]);
}
static inline uint32_t rd32(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}
static inline void wr16(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}
static inline void wr32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}
#endif

/* csum.c: internet checksum (RFC 1071) and incremental update (RFC 1624) */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_);
/* csum_add for a run of a segment's size: with AVX2 where the CPU has it
 * (several times the bytes per cycle of csum_add's carry chain, fewer
 * instructions); the same result. */
#define US_CSUM_LONG 256
uint32_t csum_add_long(uint32_t sum, const void *data, size_t len);
/* csum_add_long(sum, src, len), copying src to dst (not overlapping) in the
 * same pass: the receive path's copy into the receive buffer reads the
 * frame once. */
uint32_t csum_copy_long(uint32_t sum, void *dst, const void *src, size_t len);

/* Fold and complement: the value to store (host order). */
static inline uint16_t csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16); /* <= 0x1fffe */
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Pseudo-header sum for TCP/UDP over IPv4 (addresses in host order). */
static inline uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

/* A 64-bit one's-complement sum of native little-endian words folded to
 * 16 bits (end-around carries) and put in network (host-value) order. */
static inline uint32_t csum_fold64_le(uint64_t s)
{
#if defined(__x86_64__)
    uint64_t t;
    __asm__("movq %[s], %[t]\n\t"
            "shrq $32, %[t]\n\t"
            "addl %k[t], %k[s]\n\t"
            "adcl $0, %k[s]\n\t"
            "movl %k[s], %k[t]\n\t"
            "shrl $16, %k[t]\n\t"
            "addw %w[t], %w[s]\n\t"
            "adcw $0, %w[s]\n\t"
            "rolw $8, %w[s]\n\t"
            "movzwl %w[s], %k[s]"
            : [s] "+r"(s), [t] "=&r"(t)
            :
            : "cc");
    return (uint32_t)s;
#else
    s = (s & 0xffffffffu) + (s >> 32); /* <= 0x1fffffffe */
    s = (s & 0xffff) + (s >> 16);      /* <= 0x2fffd */
    s = (s & 0xffff) + (s >> 16);      /* <= 0xffff + 2 */
    s = (s & 0xffff) + (s >> 16);
    return (uint32_t)(((s & 0xff) << 8) | (s >> 8));
#endif
}

/* csum_add(0, p, 20) for an option-less IPv4 (or TCP) header, without the
 * call. */
static inline uint32_t csum_ip20(const void *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#if defined(__x86_64__)
    uint64_t s;
    __asm__("movl 16(%[p]), %k[s]\n\t"
            "addq 0(%[p]), %[s]\n\t"
            "adcq 8(%[p]), %[s]\n\t"
            "adcq $0, %[s]"
            : [s] "=&r"(s)
            : [p] "r"(p), "m"(*(const uint8_t(*)[20])p)
            : "cc");
#else
    uint32_t w[5];
    memcpy(w, p, sizeof(w));
    uint64_t s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
#endif
    return csum_fold64_le(s);
#else
    return csum_add(0, p, 20);
#endif
}

/* stack.c */
/* Hands the queued frames to the pktio; what it refuses stays queued, in
 * order, for the next flush (a full ring is back-pressure, not loss). */
void us_tx_flush(struct us_ctx *s);
/* The queue is full and the pktio refuses: frame b (not a connection's
 * segment: those wait, see us_tx_room) is dropped and counted. */
void us_tx_drop_full(struct us_ctx *s, struct pktbuf *b);
/* Queue a finished frame (flushed in bursts of tx_burst, at netio_flush and
 * at the end of each poll). */
static inline void us_tx(struct us_ctx *s, struct pktbuf *b)
{
    if (s->ntx >= s->tx_burst) {
        us_tx_flush(s);
        if (s->ntx >= US_TX_BATCH) {
            us_tx_drop_full(s, b);
            return;
        }
    }
    s->txq[s->ntx++] = b;
}
/* Whether a frame can be queued now (flushing first when a burst is due). */
static inline int us_tx_room(struct us_ctx *s)
{
    if (s->ntx < s->tx_burst) return 1;
    us_tx_flush(s);
    return s->ntx < US_TX_BATCH;
}
/* us_tx() after us_tx_room() said yes. */
static inline void us_tx_roomy(struct us_ctx *s, struct pktbuf *b)
{
    s->txq[s->ntx++] = b;
}
/* c could not send (queue full, or no buffer): count the stall and service
 * c once the queue drains. */
void us_tx_stall(struct us_ctx *s, struct us_conn *c);
/* How many of our frames have left this host (handed to the pktio and no
 * longer in the link's queue, pktio tx_pending); notes when that grew
 * (tx_left_at). *pending: the link's figure, -1 when it cannot tell. */
uint64_t us_tx_left(struct us_ctx *s, int64_t *pending);
struct pktbuf *us_alloc(struct us_ctx *s);
/* A buffer for a TSO frame (pktio_alloc_tso), NULL counted as tx_tso_nobuf. */
struct pktbuf *us_alloc_tso(struct us_ctx *s);
/* The data bytes one TSO frame may carry on this pktio (info, whether it has
 * alloc_tso, the offloads it reported), 0 = no TSO: its tso_max less the
 * Ethernet, IPv4 and TCP headers, within an IPv4 total length. */
static inline uint32_t us_tso_seg(const struct pktio_info *info, int has_alloc, uint32_t offloads)
{
    if (!(offloads & PKT_TX_TSO) || !has_alloc || info->tso_max <= ETH_HLEN + IP_HLEN + 20u)
        return 0;
    uint32_t max = info->tso_max < PKTIO_TSO_MAX ? info->tso_max : PKTIO_TSO_MAX;
    uint32_t seg = max - ETH_HLEN - IP_HLEN - 20u;
    return seg > 65535u - IP_HLEN - 20u ? 65535u - IP_HLEN - 20u : seg;
}
void us_queue_event(struct us_ctx *s, struct us_conn *c, unsigned pend);
int32_t us_conn_alloc(struct us_ctx *s);
void us_conn_free(struct us_ctx *s, struct us_conn *c);

/* stack.c: the netio ops, shared with backends built on the stack */
extern const struct netio_ops ustack_netio_ops;
struct netio *us_open_ops(struct pktio *pkt, const struct ustack_config *c,
                          const struct netio_ops *ops, char *err, size_t errlen);
void us_destroy(struct netio *io);
int us_listen(struct netio *io, const struct sockaddr_in *addr, void *ctx, char *err,
              size_t errlen);
int us_connect(struct netio *io, const struct sockaddr_in *dst, void *ctx, char *err,
               size_t errlen);
int us_poll(struct netio *io, struct netio_event *evs, int max, int timeout_us);
void us_flush(struct netio *io);
ssize_t us_send(struct netio *io, int conn, const void *buf, size_t len);
ssize_t us_send_ref(struct netio *io, int conn, const struct netio_src *src, uint64_t off,
                    size_t len);
void us_consume(struct netio *io, int conn, size_t n);
void us_set_ctx(struct netio *io, int conn, void *ctx);
void us_close(struct netio *io, int conn);
void us_abort(struct netio *io, int conn);
int us_counters(struct netio *io, struct netio_counter *out, int max);
/* netio_common.c: the shared open path of "stack over a pktio" backends. A
 * wrap hook may put a layer between the pktio and the stack (the DPDK
 * exception path): it gets the wrap_arg its installer gave us_netio_open,
 * the open pktio and the stack's config, and returns the new pktio, or NULL
 * with err after closing p. */
typedef struct pktio *(*us_pktio_wrap)(void *arg, struct pktio *p, const struct ustack_config *uc,
                                       char *err, size_t errlen);
/* extra_vdev: pktio_config.extra_vdev for the pktio (the exception path's
 * vdev for "dpdk"), or NULL. */
struct netio *us_netio_open(const struct netio_ops *ops, const char *pktio_name,
                            const struct netio_config *cfg, int need_iface, const char *extra_vdev,
                            us_pktio_wrap wrap, void *wrap_arg, char *err, size_t errlen);
/* The stack's option table (netio_common.c), for the backends' help groups. */
extern const struct opt_def us_stack_opt_defs[];
int us_netio_probe(const char *pktio_name, char *err, size_t errlen);
#define USTACK_NETIO_OPS_BODY                                                                      \
    .destroy = us_destroy, .listen = us_listen, .connect = us_connect, .poll = us_poll,            \
    .flush = us_flush, .send = us_send, .send_ref = us_send_ref, .consume = us_consume,            \
    .set_ctx = us_set_ctx, .close = us_close, .abort = us_abort, .counters = us_counters

/* eth.c */
void eth_input(struct us_ctx *s, struct pktbuf *b);
void eth_output(struct us_ctx *s, struct pktbuf *b, const uint8_t dst[6], uint16_t type);

/* arp.c */
void arp_input(struct us_ctx *s, const uint8_t *p, uint32_t len);
void arp_output(struct us_ctx *s, struct pktbuf *b, uint32_t dst_ip);
#define US_ARP_REACHABLE 2 /* us_arp_ent.state: resolved */
const uint8_t *arp_lookup_hint(struct us_ctx *s, uint32_t ip, int16_t *hint);
/* The MAC of ip if its entry is resolved and fresh, found through *hint (a
 * connection's remembered table index) without hashing; NULL when it needs
 * arp_output (unknown, incomplete or due for a refresh). */
static inline const uint8_t *arp_cached(struct us_ctx *s, uint32_t ip, int16_t *hint)
{
    if (*hint >= 0) {
        const struct us_arp_ent *e = &s->arp[*hint];
        if (e->ip == ip && e->state == US_ARP_REACHABLE && e->expire > s->now) return e->mac;
    }
    return arp_lookup_hint(s, ip, hint);
}
void arp_timer(struct us_ctx *s);
void arp_announce(struct us_ctx *s);
void arp_destroy(struct us_ctx *s);

/* ipv4.c */
void ipv4_input(struct us_ctx *s, struct pktbuf *b, uint8_t *p, uint32_t len);
/* b holds the L4 payload at data + ETH_HLEN + IP_HLEN; fills IP and sends. */
void ipv4_output(struct us_ctx *s, struct pktbuf *b, uint32_t dst, uint8_t proto, uint16_t l4len);
int ipv4_on_link(struct us_ctx *s, uint32_t dst);

/* icmp.c */
void icmp_input(struct us_ctx *s, uint32_t src, const uint8_t *p, uint32_t len);

/* tcp_in.c */
void tcp_input(struct us_ctx *s, struct pktbuf *b, uint32_t src, uint32_t dst, const uint8_t *p,
               uint32_t len);
struct us_conn *tcp_lookup(struct us_ctx *s, uint32_t raddr, uint16_t rport, uint16_t lport);
void tcp_hash_insert(struct us_ctx *s, struct us_conn *c);
void tcp_hash_remove(struct us_ctx *s, struct us_conn *c);
/* The TCB is gone: unhash, stop timers; queue CLOSED (reason) if the app
 * holds the handle, else free the slot. */
void tcp_closed(struct us_ctx *s, struct us_conn *c, enum netio_close_reason why);
uint32_t tcp_isn(struct us_ctx *s, uint32_t raddr, uint16_t rport, uint16_t lport);
/* ARP gave up on ip: active opens to it fail (CONNECT_FAILED). */
void tcp_unreachable(struct us_ctx *s, uint32_t ip);
/* ARP's full queue dropped frame b: if it is a SYN or SYN-ACK of ours, mark
 * its connection (CF_SYN_LOST). */
void tcp_arp_dropped(struct us_ctx *s, const struct pktbuf *b);
/* ip resolved: the marked connections to it send their SYN now, not after
 * the RTO (1 s) that a dropped SYN would otherwise wait for. */
void tcp_arp_resolved(struct us_ctx *s, uint32_t ip);
void tcp_conn_init(struct us_ctx *s, struct us_conn *c);

/* tcp_out.c */
void tcp_output_work(struct us_ctx *s, struct us_conn *c);
/* Sends what the windows allow, an owed ACK, a queued FIN; arms persist.
 * Most calls (after input that only took data) find nothing to do: that
 * test is made here, before the call and its register saves. In every state
 * tcp_output_work() would do nothing when no ACK is owed, no FIN queued and
 * no byte of the ring is unsent. */
static inline void tcp_output(struct us_ctx *s, struct us_conn *c)
{
    if (!(c->flags & (CF_ACK_NOW | CF_FIN_QUEUED)) && c->snd_nxt - c->sb_seq >= c->sb_len) return;
    tcp_output_work(s, c);
}
void tcp_tmpl_init(struct us_ctx *s, struct us_conn *c); /* c->tmpl from the 4-tuple */
void tcp_send_syn(struct us_ctx *s, struct us_conn *c);  /* SYN or SYN-ACK */
int tcp_send_ack(struct us_ctx *s, struct us_conn *c);   /* 0: stalled, CF_ACK_NOW kept */
void tcp_send_rst(struct us_ctx *s, struct us_conn *c);  /* for a TCB (abort, give up) */
void tcp_send_rst_reply(struct us_ctx *s, uint32_t raddr, uint16_t rport, uint16_t lport,
                        uint32_t seq, uint32_t ack, int with_ack);
void tcp_challenge_ack(struct us_ctx *s, struct us_conn *c);
void tcp_retransmit_one(struct us_ctx *s, struct us_conn *c); /* segment at snd_una */
void tcp_tlp_fire(struct us_ctx *s, struct us_conn *c);       /* the probe (RFC 8985 7.3) */

/* tcp_sack.c: the scoreboard and loss detection (see there) */
void tcp_sack_reset(struct us_conn *c); /* forget it all (established, RTO) */
void tcp_sack_trim(struct us_conn *c);  /* drop what snd_una covers */
/* n blocks [left, right) from an ACK of ack (before new_ack moves snd_una). */
void tcp_sack_update(struct us_ctx *s, struct us_conn *c, const uint32_t (*blk)[2], int n,
                     uint32_t ack);
/* RFC 6675 IsLost and RACK's reordering window: moves lost_hi, enters
 * recovery, arms TK_REO for holes not yet lost. */
void tcp_sack_detect(struct us_ctx *s, struct us_conn *c);
void tcp_sack_reo_fire(struct us_ctx *s, struct us_conn *c);
/* Undo (tcp_sack.c): a loss episode begins (recovery, RTO, a tail loss
 * probe): before cwnd and ssthresh are cut, remember them (unless an
 * episode is going on: in recovery, or a probe or RTO recovery outstanding,
 * tlp_hi). */
void tcp_undo_begin(struct us_conn *c);
/* A retransmission of len bytes (a FIN counted as one) went in the episode. */
static inline void tcp_undo_retx(struct us_conn *c, uint32_t len)
{
    if (!(c->flags & CF_UNDO) || !len) return;
    uint32_t n = (len + c->smss - 1u) / c->smss;
    if (c->undo_retrans + n > UINT16_MAX) {
        c->flags &= ~CF_UNDO; /* too many to track: no undo for this episode */
        return;
    }
    c->undo_retrans = (uint16_t)(c->undo_retrans + n);
}
/* Bytes the scoreboard says are not in the network: SACKed, or lost and
 * not yet resent (RFC 6675 pipe = flight - this). */
uint32_t tcp_sack_out_of_pipe(const struct us_conn *c);
/* First sequence >= from not SACKed; *end: where the SACKed range above it
 * starts (snd_max if none). */
uint32_t tcp_sack_next_hole(const struct us_conn *c, uint32_t from, uint32_t *end);
void tcp_probe(struct us_ctx *s, struct us_conn *c); /* zero-window probe */
uint32_t tcp_rcv_space_capped(struct us_ctx *s, struct us_conn *c); /* tcp_keepalive.c */
/* The receive buffer a connection may fill: the stack's, or less where
 * the application capped it (SO_RCVBUF, tcp_keepalive.c). */
static inline uint32_t tcp_rcv_buf(const struct us_ctx *s, const struct us_conn *c)
{
    if (__builtin_expect(c->flags & CF_RCVCAP, 0) && s->rcvcap[c - s->conns] < s->cfg.rcvbuf)
        return s->rcvcap[c - s->conns];
    return s->cfg.rcvbuf;
}

/* Receive buffer space (the window we could offer). */
static inline uint32_t tcp_rcv_space(struct us_ctx *s, struct us_conn *c)
{
    if (__builtin_expect(c->flags & CF_RCVCAP, 0)) return tcp_rcv_space_capped(s, c);
    return s->cfg.rcvbuf - c->rb_len;
}

/* tcp_keepalive.c: SO_KEEPALIVE (probes when idle, reset when unanswered) */
struct us_ka {
    uint64_t heard;  /* when the peer last sent us a segment */
    uint64_t due;    /* when the keepalive timer fires next */
    uint64_t idle_ns, intvl_ns;
    uint32_t iss;    /* the incarnation it was set for (a reused slot has another) */
    uint16_t cnt, probes;
    uint8_t on, listed;
};
/* A segment of c (or NULL: none) arrived (tcp_input): the peer is alive. */
static inline void tcp_ka_heard(struct us_ctx *s, struct us_conn *c)
{
    if (__builtin_expect(s->ka != NULL, 0) && c) {
        struct us_ka *k = &s->ka[c - s->conns];
        k->heard = s->now;
        k->probes = 0;
    }
}
void tcp_ka_run(struct us_ctx *s);

/* tcp_timer.c */
void tcp_timer_relink(struct us_ctx *s, struct us_conn *c, uint64_t due);
/* After changing a *_at: makes sure the connection's wheel link is due no
 * later than its earliest timer. Lazy: a link that is due no later than
 * needed stays (also when no timer is left); when it comes, fire() finds
 * nothing due and re-links at the real time. So the per-segment delayed-ACK
 * and RTO churn costs no relinks, and this test, inline, is all it costs. */
static inline void tcp_timer_sched(struct us_ctx *s, struct us_conn *c)
{
    uint64_t due = c->rexmit_at;
    if (c->delack_at && (!due || c->delack_at < due)) due = c->delack_at;
    if (c->tdue && (!due || (due >> US_TICK_SHIFT) >= (c->tdue >> US_TICK_SHIFT))) return;
    tcp_timer_relink(s, c, due);
}
void tcp_timer_unlink(struct us_ctx *s, struct us_conn *c);
void tcp_timer_run(struct us_ctx *s);
static inline void tcp_set_rexmit(struct us_ctx *s, struct us_conn *c, enum us_tkind k,
                                  uint64_t after_ns)
{
    c->tkind = (uint8_t)k;
    c->rexmit_at = s->now + after_ns;
    if (!c->rexmit_at) c->rexmit_at = 1;
    tcp_timer_sched(s, c);
}
/* Stopping a timer never needs the wheel: the link stays where it is (due
 * no later than any timer left), and when it comes fire() finds nothing due
 * and re-links at the next one, as tcp_timer_sched() would have left it. */
static inline void tcp_stop_rexmit(struct us_ctx *s, struct us_conn *c)
{
    (void)s;
    c->rexmit_at = 0;
}
void tcp_rtt_sample(struct us_ctx *s, struct us_conn *c, uint64_t r);
void tcp_timer_init(struct us_ctx *s);
/* tcp_out.c: the RTO, restarted when restart, else only if not running. */
void tcp_arm_rto(struct us_ctx *s, struct us_conn *c, int restart);
/* After new data went out or an ACK took some: the PTO (RFC 8985 7.2: 2
 * SRTT + US_TLP_MIN_NS, plus tlp_ack_delay with one segment in flight, at
 * most the RTO)
 * when a tail loss probe may go (an RTT sample exists, tlp is on, no probe
 * outstanding and no RTO recovery (tlp_hi), nothing SACKed, not in
 * recovery: CF_RECOVERY, CF_LR), else the RTO. Per request: inline. */
static inline void tcp_arm_xmit_timer(struct us_ctx *s, struct us_conn *c, int restart)
{
    uint64_t pto = 2 * c->srtt;
    if (__builtin_expect(pto && !(c->flags & (CF_RECOVERY | CF_LR | CF_NO_TLP)), 1)) {
        pto += US_TLP_MIN_NS;
        if (c->snd_max - c->snd_una <= c->smss) pto += s->cfg.tlp_ack_delay_ns; /* one segment */
        if (pto > c->rto) pto = c->rto;
        tcp_set_rexmit(s, c, TK_TLP, pto);
        return;
    }
    tcp_arm_rto(s, c, restart);
}

#endif
