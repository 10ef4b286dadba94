/*
 * tcp.h — TCP wire format, states and wrap-safe sequence arithmetic for the
 * user-space stack. Included by ustack_int.h; used by tcp_in.c, tcp_out.c,
 * tcp_timer.c and stack.c. Never compare sequence numbers with a raw '<':
 * use SEQ_LT/SEQ_LEQ/SEQ_GT/SEQ_GEQ (RFC 1982 style, valid for distances
 * below 2^31).
 */
#ifndef BB_USTACK_TCP_H
#define BB_USTACK_TCP_H

#include <stdint.h>

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

/* header flags (th_flags) */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

struct tcp_hdr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t off; /* data offset in 32-bit words, high nibble */
    uint8_t flags;
    uint16_t win, csum, urp;
} __attribute__((packed));

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCP_SACK_BLOCKS 4 /* most blocks an option carries (without timestamps) */
#define TCPOPT_TS 8

#define TCP_WSCALE_OURS 7 /* offered on every SYN (RFC 7323) */
#define TCP_WSCALE_MAX 14
#define TCP_DEFAULT_MSS 536 /* peer sent no MSS option (RFC 9293 3.7.1) */

/* RFC 9293 states; LISTEN lives in the listener table, not in a slot. */
enum tcp_state {
    TCPS_CLOSED = 0,
    TCPS_SYN_SENT,
    TCPS_SYN_RCVD,
    TCPS_ESTABLISHED,
    TCPS_FIN_WAIT_1,
    TCPS_FIN_WAIT_2,
    TCPS_CLOSING,
    TCPS_TIME_WAIT,
    TCPS_CLOSE_WAIT,
    TCPS_LAST_ACK,
};

#endif
