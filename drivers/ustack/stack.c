/*
 * stack.c — the user-space stack's netio face: ustack_open, the netio ops
 * (listen, connect, poll, send, consume, close, abort, counters), the poll
 * loop and the TX batch. Connection handles are slot indices; events,
 * handle reuse, close reasons and counters mirror drivers/kernel.c:
 * pending bits per slot, a ready ring (the ring and its emit loop are the
 * kernel driver's too: drivers/netio_ready.h), exactly one CLOSED per
 * connection, and a slot whose CLOSED was returned is released at the next
 * poll (or, if its TCB still lives — FIN_WAIT, TIME_WAIT — when the TCB ends).
 *
 *   us_poll() -> free_zombies() -> pktio_rx_burst() -> eth_input() ...
 *             -> arp_timer() -> tcp_timer_run() -> us_tx_flush()
 *             -> emit() -> netio_ready_emit()     (ready ring -> events)
 *   us_send() -> copy into the send ring -> tcp_output()
 *   us_consume() -> window update -> tcp_output()
 *
 * The receive buffer is linear (compacted when the window needs the room),
 * so READABLE always carries all unconsumed bytes contiguously (netio.h).
 * A slot in TIME_WAIT keeps its handle until TIME_WAIT ends; when the table
 * is full the oldest such slot is recycled (counter time_wait_recycled).
 * On failure ustack_open leaves pkt to the caller.
 */
#include "drivers/ustack/ustack_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

const char *const us_cnt_names[US_CNT__COUNT] = {
    [US_RX_FRAMES] = "rx_frames",
    [US_TX_FRAMES] = "tx_frames",
    [US_DROP_ETH_SHORT] = "drop_eth_short",
    [US_DROP_ETH_NOT_FOR_US] = "drop_eth_not_for_us",
    [US_DROP_ETH_UNKNOWN_TYPE] = "drop_eth_unknown_type",
    [US_DROP_ARP_BAD] = "drop_arp_bad",
    [US_DROP_ARP_NOT_FOR_US] = "drop_arp_not_for_us",
    [US_DROP_ARP_PENDING_REPLACED] = "drop_arp_pending_replaced",
    [US_DROP_ARP_PENDING_FULL] = "drop_arp_pending_full",
    [US_DROP_ARP_UNRESOLVED] = "drop_arp_unresolved",
    [US_ARP_REQUESTS] = "arp_requests",
    [US_ARP_REPLIES] = "arp_replies",
    [US_DROP_IP_BAD_LEN] = "drop_ip_bad_len",
    [US_DROP_IP_BAD_VERSION] = "drop_ip_bad_version",
    [US_DROP_IP_BAD_CSUM] = "drop_ip_bad_csum",
    [US_DROP_IP_FRAGMENT] = "drop_ip_fragment",
    [US_DROP_IP_NOT_FOR_US] = "drop_ip_not_for_us",
    [US_DROP_IP_UNKNOWN_PROTO] = "drop_ip_unknown_proto",
    [US_DROP_IP_NO_ROUTE] = "drop_ip_no_route",
    [US_ICMP_ECHO_REPLIES] = "icmp_echo_replies",
    [US_DROP_ICMP_BAD] = "drop_icmp_bad",
    [US_DROP_ICMP_OTHER] = "drop_icmp_other",
    [US_DROP_TCP_BAD_LEN] = "drop_tcp_bad_len",
    [US_DROP_TCP_BAD_CSUM] = "drop_tcp_bad_csum",
    [US_DROP_TCP_BAD_OPTION] = "drop_tcp_bad_option",
    [US_DROP_TCP_NO_LISTENER] = "drop_tcp_no_listener",
    [US_DROP_TCP_NO_CONN] = "drop_tcp_no_conn",
    [US_DROP_TCP_OUT_OF_WINDOW] = "drop_tcp_out_of_window",
    [US_DROP_TCP_BAD_ACK] = "drop_tcp_bad_ack",
    [US_DROP_TCP_RST_INVALID] = "drop_tcp_rst_invalid",
    [US_DROP_TCP_NO_ACK] = "drop_tcp_no_ack",
    [US_DROP_TCP_DATA_IGNORED] = "drop_tcp_data_ignored",
    [US_RSTS_SENT] = "rsts_sent",
    [US_CHALLENGE_ACKS] = "challenge_acks",
    [US_CHALLENGE_ACKS_LIMITED] = "challenge_acks_limited",
    [US_RETRANSMITS] = "retransmits",
    [US_FAST_RETRANSMITS] = "fast_retransmits",
    [US_TLP_PROBES] = "tlp_probes",
    [US_TLP_NEW_DATA] = "tlp_new_data",
    [US_TLP_DEFERRED_BUSY] = "tlp_deferred_busy",
    [US_TLP_DEFERRED_QUEUED] = "tlp_deferred_queued",
    [US_TLP_DEFERRED_STALLED] = "tlp_deferred_stalled",
    [US_TIMERS_DEFERRED_RX] = "timers_deferred_rx",
    [US_SACK_RECOVERIES] = "sack_recoveries",
    [US_SACK_RETRANSMITS] = "sack_retransmits",
    [US_RACK_REO_TIMEOUTS] = "rack_reo_timeouts",
    [US_RACK_REXMIT_LOST] = "rack_rexmit_lost",
    [US_SACK_BLOCKS_RCVD] = "sack_blocks_rcvd",
    [US_SACK_BLOCKS_BAD] = "sack_blocks_bad",
    [US_DSACK_RCVD] = "dsack_rcvd",
    [US_DSACK_SENT] = "dsack_sent",
    [US_DSACK_UNDO] = "dsack_undo",
    [US_SACK_ACKS_SENT] = "sack_acks_sent",
    [US_SACK_PERMITTED] = "sack_permitted",
    [US_TIMEOUTS] = "timeouts",
    [US_SYN_RETRANSMITS] = "syn_retransmits",
    [US_SYN_RESENT_ON_ARP] = "syn_resent_on_arp",
    [US_DUP_ACKS] = "dup_acks",
    [US_TCP_PREDICTED] = "tcp_predicted",
    [US_OOO_QUEUED] = "ooo_queued",
    [US_OOO_DROPPED] = "ooo_dropped",
    [US_SYN_BACKLOG_FULL] = "syn_backlog_full",
    [US_CONN_TABLE_FULL] = "conn_table_full",
    [US_ZERO_WINDOW_PROBES] = "zero_window_probes",
    [US_DELAYED_ACKS] = "delayed_acks",
    [US_ACKS_PER_BURST] = "acks_per_burst",
    [US_WINDOW_UPDATES] = "window_updates",
    [US_TX_POOL_EMPTY] = "tx_pool_empty",
    [US_TX_DROPPED_FULL] = "tx_dropped_full",
    [US_TX_STALL_FULL] = "tx_stall_full",
    [US_CONNS_ACCEPTED] = "conns_accepted",
    [US_CONNS_CONNECTED] = "conns_connected",
    [US_CONNS_CLOSED] = "conns_closed",
    [US_CLOSE_LOCAL] = "close_local",
    [US_CLOSE_PEER_FIN] = "close_peer_fin",
    [US_CLOSE_RESET] = "close_reset",
    [US_CLOSE_CONNECT_FAILED] = "close_connect_failed",
    [US_CLOSE_TIMEOUT] = "close_timeout",
    [US_CLOSE_ERROR] = "close_error",
    [US_SEND_PARTIAL] = "send_partial",
    [US_TX_COPY_SNDBUF] = "tx_copy_sndbuf_bytes",
    [US_TX_COPY_FRAME] = "tx_copy_frame_bytes",
    [US_TX_FILL_FRAME] = "tx_fill_frame_bytes",
    [US_SEND_REF_COPIED] = "send_ref_copied_bytes",
    [US_TIME_WAIT_RECYCLED] = "time_wait_recycled",
    [US_KEEPALIVE_PROBES] = "keepalive_probes",
    [US_KEEPALIVE_TIMEOUTS] = "keepalive_timeouts",
    [US_BAD_HANDLE] = "bad_handle",
    [US_TX_TSO_FRAMES] = "tx_tso_frames",
    [US_TX_TSO_NOBUF] = "tx_tso_nobuf",
    [US_RX_GRO_FRAMES] = "rx_gro_frames",
    [US_SYS_POLL_WAIT] = "sys_poll_wait",
    [US_POLL_CYCLES_WORK] = "poll_cycles_work",
    [US_POLL_CYCLES_IDLE] = "poll_cycles_idle",
    [US_POLL_ITERS_WORK] = "poll_iters_work",
    [US_POLL_ITERS_IDLE] = "poll_iters_idle",
};

static inline struct us_ctx *S(struct netio *io)
{
    return (struct us_ctx *)io;
}

static uint64_t clock_now(struct us_ctx *s)
{
    if (s->cfg.now_ns) return s->cfg.now_ns(s->cfg.now_arg);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The loop-accounting clock: TSC cycles (elsewhere: CLOCK_MONOTONIC_RAW ns). */
static inline uint64_t loop_tsc(struct us_ctx *s)
{
    if (s->cfg.tsc) return s->cfg.tsc(s->cfg.tsc_arg);
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#endif
}

/* At a netio_poll entry: the cycles since the previous entry belong to the
 * iteration that began there, work if it moved frames or returned events. */
static inline void loop_account(struct us_ctx *s)
{
    uint64_t t = loop_tsc(s), frames = s->cnt[US_RX_FRAMES] + s->cnt[US_TX_FRAMES];
    if (s->loop_tsc) {
        int idle = !s->loop_events && frames == s->loop_frames;
        s->cnt[US_POLL_CYCLES_WORK + idle] += t - s->loop_tsc;
        s->cnt[US_POLL_ITERS_WORK + idle]++;
    }
    s->loop_tsc = t;
    s->loop_frames = frames;
}

/* ---- TX batch ---- */

struct pktbuf *us_alloc(struct us_ctx *s)
{
    struct pktbuf *b = pktio_alloc(s->pkt);
    if (!b) {
        CNT(s, US_TX_POOL_EMPTY);
        return NULL;
    }
    b->ol_flags = 0;
    b->l2_len = b->l3_len = 0;
    b->len = 0;
    return b;
}

struct pktbuf *us_alloc_tso(struct us_ctx *s)
{
    struct pktbuf *b = pktio_alloc_tso(s->pkt);
    if (!b) {
        CNT(s, US_TX_TSO_NOBUF);
        return NULL;
    }
    b->ol_flags = 0;
    b->l2_len = b->l3_len = 0;
    b->len = 0;
    return b;
}

void us_tx_flush(struct us_ctx *s)
{
    uint16_t off = 0;
    while (off < s->ntx) {
        uint16_t k = pktio_tx_burst(s->pkt, s->txq + off, (uint16_t)(s->ntx - off));
        if (!k) break;
        off = (uint16_t)(off + k);
    }
    s->cnt[US_TX_FRAMES] += off;
    if (off < s->ntx) { /* refused: keep them, in order, for the next flush */
        memmove(s->txq, s->txq + off, (size_t)(s->ntx - off) * sizeof(s->txq[0]));
        s->tx_refused_at = s->now ? s->now : 1;
    }
    s->ntx = (uint16_t)(s->ntx - off);
}

uint64_t us_tx_left(struct us_ctx *s, int64_t *pending)
{
    int64_t q = pktio_tx_pending(s->pkt);
    uint64_t left = s->cnt[US_TX_FRAMES] - (uint64_t)(q > 0 ? q : 0);
    if (q >= 0 && left != s->tx_left) {
        s->tx_left = left;
        s->tx_left_at = s->now;
    }
    *pending = q;
    return left;
}

void us_tx_drop_full(struct us_ctx *s, struct pktbuf *b)
{
    CNT(s, US_TX_DROPPED_FULL);
    pktio_free(s->pkt, &b, 1);
}

void us_tx_stall(struct us_ctx *s, struct us_conn *c)
{
    CNT(s, US_TX_STALL_FULL);
    int32_t i = (int32_t)(c - s->conns);
    if (s->stall_mark[i]) return;
    s->stall_mark[i] = 1;
    netio_ring_push(&s->stalled, i);
}

/* The queue has room again: each connection that stalled sends what it
 * held back (a refused SYN or SYN-ACK, unsent data, an owed ACK), in the
 * order they stalled, until the queue fills again. A slot freed (or
 * reused) meanwhile only gets a harmless tcp_output. */
__attribute__((noinline)) static void us_tx_unstall(struct us_ctx *s)
{
    if (s->ntx >= US_TX_BATCH) return; /* still full */
    for (uint32_t n = s->stalled.count; n && s->ntx < US_TX_BATCH; n--) {
        int32_t i = netio_ring_pop(&s->stalled);
        s->stall_mark[i] = 0;
        struct us_conn *c = &s->conns[i];
        if ((c->flags & CF_SYN_STALL) && (c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RCVD)) {
            tcp_send_syn(s, c);
            continue;
        }
        c->flags &= ~CF_SYN_STALL;
        tcp_output(s, c);
    }
    if (s->ntx) us_tx_flush(s);
}

/* ---- slots and events ---- */

/* Table full: end the next TIME_WAIT no one holds (Linux does the same
 * past tcp_max_tw_buckets), so TIME_WAIT never blocks new connections. */
static void recycle_time_wait(struct us_ctx *s)
{
    for (uint32_t n = 0; n < s->max_conns; n++) {
        uint32_t i = s->tw_scan++ % s->max_conns;
        struct us_conn *c = &s->conns[i];
        if (c->state == TCPS_TIME_WAIT && (c->app == APP_GONE || c->app == APP_NONE) &&
            !(c->flags & (CF_ZOMBIE | CF_QUEUED))) {
            CNT(s, US_TIME_WAIT_RECYCLED);
            tcp_closed(s, c, NETIO_CLOSE_LOCAL);
            return;
        }
    }
}

int32_t us_conn_alloc(struct us_ctx *s)
{
    if (s->free_head < 0) recycle_time_wait(s);
    int32_t i = s->free_head;
    if (i < 0) return -1;
    struct us_conn *c = &s->conns[i];
    if (!c->sbuf) c->sbuf = malloc(s->cfg.sndbuf); /* once per slot, kept for reuse */
    if (!c->rbuf) c->rbuf = malloc(s->cfg.rcvbuf);
    if (!c->refs) c->refs = malloc(US_REFS * sizeof(*c->refs));
    if (!c->sbuf || !c->rbuf || !c->refs) return -1;
    s->free_head = c->next;
    tcp_conn_init(s, c);
    return i;
}

void us_conn_free(struct us_ctx *s, struct us_conn *c)
{
    tcp_hash_remove(s, c);
    tcp_timer_unlink(s, c);
    c->state = TCPS_CLOSED;
    c->app = APP_NONE;
    c->pend = 0;
    c->flags = 0;
    c->next = s->free_head;
    s->free_head = (int32_t)(c - s->conns);
}

void us_queue_event(struct us_ctx *s, struct us_conn *c, unsigned pend)
{
    c->pend |= (uint8_t)pend;
    if (c->flags & CF_QUEUED) return;
    c->flags |= CF_QUEUED;
    netio_ring_push(&s->ready, (int32_t)(c - s->conns));
}

__attribute__((noinline)) static void free_zombies(struct us_ctx *s)
{
    while (s->zombie_head >= 0) {
        struct us_conn *c = &s->conns[s->zombie_head];
        s->zombie_head = c->next;
        c->next = -1;
        c->flags &= ~CF_ZOMBIE;
        if (c->state == TCPS_CLOSED) us_conn_free(s, c);
    }
}

/* emit()'s view of a slot (netio_ready.h) */
static inline void *ev_slot(void *drv, int32_t i, uint8_t **pend)
{
    struct us_conn *c = &((struct us_ctx *)drv)->conns[i];
    *pend = &c->pend;
    return c;
}

static inline int ev_fill(void *drv, void *slot, struct netio_event *e)
{
    struct us_ctx *s = drv;
    struct us_conn *c = slot;
    e->ctx = c->ctx;
    switch (e->type) {
    case NETIO_EV_ACCEPTED:
        e->listener = c->listener;
        e->ctx = s->listeners[c->listener].ctx;
        break;
    case NETIO_EV_READABLE: {
        int eof = (c->flags & CF_RCVD_FIN) != 0;
        if (c->rb_len == 0 && !eof) return 0; /* consumed meanwhile */
        e->data = c->rbuf + c->rb_off;
        e->len = c->rb_len;
        e->eof = eof;
        break;
    }
    case NETIO_EV_CLOSED:
        e->reason = (enum netio_close_reason)c->reason;
        c->app = APP_GONE;
        c->flags |= CF_ZOMBIE;
        c->next = s->zombie_head;
        s->zombie_head = e->conn;
        break;
    default: /* CONNECTED, WRITABLE: nothing more to say */
        break;
    }
    return 1;
}

static inline void ev_dequeued(void *slot)
{
    ((struct us_conn *)slot)->flags &= ~CF_QUEUED;
}

static int emit(struct us_ctx *s, struct netio_event *evs, int max)
{
    return netio_ready_emit(&s->ready, s, evs, max, ev_slot, ev_fill, ev_dequeued);
}

/* ---- poll ---- */

static void us_ack_flush(struct us_ctx *s);

static void run_stack(struct us_ctx *s)
{
    s->now = clock_now(s);
    int burst;
    for (burst = 0; burst < US_RX_BURSTS; burst++) {
        uint16_t n = pktio_rx_burst(s->pkt, s->rxq, US_RX_BURST);
        if (!n) break;
        s->cnt[US_RX_FRAMES] += n;
        if (s->cfg
                .test_work_per_packet) { /* TEST ONLY: a fixed cost per frame (regression gates) */
            volatile uint64_t acc = 0;
            for (uint64_t w = (uint64_t)s->cfg.test_work_per_packet * n; w; w--)
                acc += w;
        }
        s->in_rx = 1;
        for (uint16_t j = 0; j < n; j++) {
            if (__builtin_expect(s->rxq[j]->ol_flags & PKT_RX_GRO, 0)) CNT(s, US_RX_GRO_FRAMES);
            eth_input(s, s->rxq[j]);
        }
        s->in_rx = 0;
        if (s->nackq) us_ack_flush(s);
        pktio_free(s->pkt, s->rxq, n);
        if (n < US_RX_BURST) break;
    }
    if (s->now >= s->arp_next_scan) {
        arp_timer(s);
        s->arp_next_scan = s->now + 100000000ull;
    }
    if ((s->now >> US_TICK_SHIFT) != s->wheel_tick) { /* a tick passed */
        /* RX first: frames still wait (after a descheduling, the ACKs of a
         * whole window may): the timers would judge silence that is only
         * unread, and a probe or RTO would resend what was delivered. They
         * run once RX is drained, or after US_TIMER_DEFER_MAX polls. */
        /* (burst == US_RX_BURSTS: every burst came full, more may wait) */
        if (__builtin_expect(burst == US_RX_BURSTS, 0) && s->timer_defer < US_TIMER_DEFER_MAX) {
            s->timer_defer++;
            CNT(s, US_TIMERS_DEFERRED_RX);
        } else {
            int64_t q;
            s->timer_defer = 0;
            us_tx_left(s, &q); /* the peer's progress, for the probes */
            tcp_timer_run(s);
        }
    }
    if (__builtin_expect(s->ka_next != 0, 0) && s->now >= s->ka_next) tcp_ka_run(s);
    if (s->ntx) us_tx_flush(s);
    if (s->stalled.count) us_tx_unstall(s);
}

/* The ACKs the RX burst's in-order data asked for (ack_policy, tcp_in.c):
 * one per connection, unless data it sent meanwhile carried it. */
static void us_ack_flush(struct us_ctx *s)
{
    for (uint16_t k = 0; k < s->nackq; k++) {
        struct us_conn *c = &s->conns[s->ackq[k]];
        c->flags &= ~CF_ACKQ;
        if (c->state == TCPS_CLOSED || c->unacked_segs < 2) continue;
        CNT(s, US_ACKS_PER_BURST);
        c->flags |= CF_ACK_NOW;
        tcp_output(s, c);
    }
    s->nackq = 0;
}

/* Nothing ready and the caller may wait: sleep on the fd, then run again. */
__attribute__((noinline)) static int poll_wait(struct us_ctx *s, struct netio_event *evs, int max)
{
    struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
    s->cnt[US_SYS_POLL_WAIT]++; /* a system call our stack issues: the overhead figure */
    if (poll(&pfd, 1, 1) <= 0) return 0; /* at most 1 ms: timers need service */
    run_stack(s);
    return emit(s, evs, max);
}

int us_poll(struct netio *io, struct netio_event *evs, int max, int timeout_us)
{
    struct us_ctx *s = S(io);
    if (!evs || max <= 0) return -1;
    loop_account(s);
    if (s->zombie_head >= 0) free_zombies(s);
    run_stack(s);
    int n = s->ready.count ? emit(s, evs, max) : 0;
    if (n == 0 && timeout_us != 0 && !s->cfg.busy_poll && s->fd >= 0) n = poll_wait(s, evs, max);
    s->loop_events = n > 0;
    return n;
}

void us_flush(struct netio *io)
{
    struct us_ctx *s = S(io);
    if (s->ntx) us_tx_flush(s);
}

/* ---- workload calls ---- */

static struct us_conn *slot_get(struct us_ctx *s, int conn)
{
    if (conn < 0 || (uint32_t)conn >= s->max_conns) {
        CNT(s, US_BAD_HANDLE);
        return NULL;
    }
    return &s->conns[conn];
}

static int in_state(struct us_conn *c, int a, int b)
{
    return c->state == a || c->state == b;
}

/* n bytes at the end of c's send ring. */
static inline __attribute__((always_inline)) void ring_put(struct us_ctx *s, struct us_conn *c,
                                                          const uint8_t *buf, uint32_t n)
{
    uint32_t cap = s->cfg.sndbuf, pos = (c->sb_head + c->sb_len) % cap;
    uint32_t first = cap - pos < n ? cap - pos : n;
    memcpy(c->sbuf + pos, buf, first);
    if (first < n) memcpy(c->sbuf, buf + first, n - first);
    c->sb_len += n;
    s->cnt[US_TX_COPY_SNDBUF] += n;
}

ssize_t us_send(struct netio *io, int conn, const void *buf, size_t len)
{
    struct us_ctx *s = S(io);
    struct us_conn *c = slot_get(s, conn);
    if (!c || c->app != APP_OPEN) return -1;
    if (in_state(c, TCPS_SYN_SENT, TCPS_SYN_RCVD)) {
        c->flags |= CF_WANT_WR; /* WRITABLE follows CONNECTED */
        return 0;
    }
    if (!in_state(c, TCPS_ESTABLISHED, TCPS_CLOSE_WAIT)) return -1;
    uint32_t cap = s->cfg.sndbuf, space = cap - c->sb_len;
    size_t n = len < space ? len : space;
    if (n) ring_put(s, c, buf, (uint32_t)n);
    if (n < len) {
        CNT(s, US_SEND_PARTIAL);
        c->flags |= CF_WANT_WR;
    }
    if (n) tcp_output(s, c);
    return (ssize_t)n;
}

/* netio_send_ref: the bytes take their room in the send ring (the same
 * limit as netio_send) but are not copied there: a reference (struct us_ref)
 * says where they come from, and tcp_out.c fills frames from it. Contiguous
 * sends of one source extend the last reference; when all US_REFS are taken
 * by unacknowledged bytes the bytes are copied into the ring instead
 * (send_ref_copied_bytes), so a send is never refused for it. */
ssize_t us_send_ref(struct netio *io, int conn, const struct netio_src *src, uint64_t off,
                    size_t len)
{
    struct us_ctx *s = S(io);
    struct us_conn *c = slot_get(s, conn);
    if (!c || c->app != APP_OPEN) return -1;
    if (in_state(c, TCPS_SYN_SENT, TCPS_SYN_RCVD)) {
        c->flags |= CF_WANT_WR;
        return 0;
    }
    if (!in_state(c, TCPS_ESTABLISHED, TCPS_CLOSE_WAIT)) return -1;
    uint32_t space = s->cfg.sndbuf - c->sb_len;
    uint32_t n = len < space ? (uint32_t)len : space;
    if (n) {
        /* references wholly acknowledged go first */
        while (c->ref_n && SEQ_LEQ(c->refs[c->ref_head].seq + c->refs[c->ref_head].len, c->sb_seq)) {
            c->ref_head = (uint8_t)((c->ref_head + 1) % US_REFS);
            c->ref_n--;
        }
        uint32_t seq = c->sb_seq + c->sb_len;
        struct us_ref *last = c->ref_n ? &c->refs[(c->ref_head + c->ref_n - 1) % US_REFS] : NULL;
        if (last && last->seq + last->len == seq && last->src.base == src->base &&
            last->src.period == src->period && last->off + last->len == off &&
            last->len <= UINT32_MAX / 2) {
            last->len += n;
            c->sb_len += n;
        } else if (c->ref_n < US_REFS) {
            struct us_ref *r = &c->refs[(c->ref_head + c->ref_n) % US_REFS];
            r->seq = seq;
            r->len = n;
            r->off = off;
            r->src = *src;
            c->ref_n++;
            c->sb_len += n;
        } else { /* no reference free: a copy, a period at a time */
            for (uint32_t done = 0; done < n;) {
                uint64_t o = off + done;
                uint32_t k = n - done;
                if (src->period && k > src->period - o % src->period)
                    k = (uint32_t)(src->period - o % src->period);
                ring_put(s, c, src->base + (src->period ? o % src->period : o), k);
                done += k;
            }
            s->cnt[US_SEND_REF_COPIED] += n;
        }
    }
    if (n < len) {
        CNT(s, US_SEND_PARTIAL);
        c->flags |= CF_WANT_WR;
    }
    if (n) tcp_output(s, c);
    return (ssize_t)n;
}

void us_consume(struct netio *io, int conn, size_t n)
{
    struct us_ctx *s = S(io);
    struct us_conn *c = slot_get(s, conn);
    if (!c || (c->app != APP_OPEN && c->app != APP_CLOSING)) return;
    if (n > c->rb_len) n = c->rb_len;
    if (!n) return;
    c->rb_off += (uint32_t)n;
    c->rb_len -= (uint32_t)n;
    if (c->rb_len == 0 && c->n_ooo == 0) c->rb_off = 0;
    if (c->rb_len && c->app == APP_OPEN) us_queue_event(s, c, NETIO_P_READABLE);
    if (c->state == TCPS_ESTABLISHED || c->state == TCPS_FIN_WAIT_1 ||
        c->state == TCPS_FIN_WAIT_2) {
        /* A window update of its own only when the window the peer holds
         * (old) is down to half the buffer or less and reading at least
         * doubles it (Linux's tcp_cleanup_rbuf), by at least 2 MSS (RFC
         * 1122 4.2.3.3). Otherwise the next ACK carries the new window:
         * an update after every read doubled the frames a bulk receiver
         * sent (one ACK per RX burst, then one update when the burst was
         * read), and the sender's work on them with it. */
        uint32_t old = c->rcv_adv - c->rcv_nxt, now = tcp_rcv_space(s, c);
        uint32_t buf = tcp_rcv_buf(s, c);
        uint32_t step = 2u * c->smss;
        if (step > buf / 2) step = buf / 2;
        if (old <= buf / 2 && now >= 2u * old && now >= old + step) {
            CNT(s, US_WINDOW_UPDATES);
            c->flags |= CF_ACK_NOW;
            tcp_output(s, c);
        }
    }
}

void us_set_ctx(struct netio *io, int conn, void *ctx)
{
    struct us_conn *c = slot_get(S(io), conn);
    if (c && c->app != APP_NONE) c->ctx = ctx;
}

/* The workload lets go of the handle: queue its one CLOSED now. */
static void app_release(struct us_ctx *s, struct us_conn *c, enum netio_close_reason why)
{
    c->app = APP_CLOSING;
    c->reason = (uint8_t)why;
    c->pend = 0;
    c->flags &= ~CF_WANT_WR;
    CNT(s, US_CONNS_CLOSED);
    CNT(s, US_CLOSE_LOCAL + why);
    us_queue_event(s, c, NETIO_P_CLOSED);
    c->rb_off += c->rb_len; /* unread data is dropped */
    c->rb_len = 0;
    if (!c->n_ooo) c->rb_off = 0;
}

void us_close(struct netio *io, int conn)
{
    struct us_ctx *s = S(io);
    struct us_conn *c = slot_get(s, conn);
    if (!c || c->app != APP_OPEN) return;
    app_release(s, c, (c->flags & CF_RCVD_FIN) ? NETIO_CLOSE_PEER_FIN : NETIO_CLOSE_LOCAL);
    switch (c->state) {
    case TCPS_SYN_SENT:
        tcp_closed(s, c, NETIO_CLOSE_LOCAL);
        break;
    case TCPS_SYN_RCVD:
        tcp_send_rst(s, c);
        tcp_closed(s, c, NETIO_CLOSE_LOCAL);
        break;
    case TCPS_ESTABLISHED:
    case TCPS_CLOSE_WAIT:
        c->fin_seq = c->sb_seq + c->sb_len;
        c->flags |= CF_FIN_QUEUED;
        c->state = c->state == TCPS_ESTABLISHED ? TCPS_FIN_WAIT_1 : TCPS_LAST_ACK;
        tcp_output(s, c);
        break;
    default:
        break;
    }
}

void us_abort(struct netio *io, int conn)
{
    struct us_ctx *s = S(io);
    struct us_conn *c = slot_get(s, conn);
    if (!c || c->app != APP_OPEN) return;
    app_release(s, c, NETIO_CLOSE_LOCAL);
    if (c->state != TCPS_CLOSED && c->state != TCPS_SYN_SENT) tcp_send_rst(s, c);
    tcp_closed(s, c, NETIO_CLOSE_LOCAL);
}

int us_connect(struct netio *io, const struct sockaddr_in *dst, void *ctx, char *err, size_t errlen)
{
    struct us_ctx *s = S(io);
    uint32_t raddr = ntohl(dst->sin_addr.s_addr);
    uint16_t rport = ntohs(dst->sin_port);
    char a[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &dst->sin_addr, a, sizeof(a));
    if (!raddr || !rport) {
        snprintf(err, errlen, "ustack: connect %s:%u: bad address", a, rport);
        return -1;
    }
    int32_t i = us_conn_alloc(s);
    if (i < 0) {
        snprintf(err, errlen, "ustack: connect %s:%u: connection table full (%u)", a, rport,
                 s->max_conns);
        return -1;
    }
    struct us_conn *c = &s->conns[i];
    c->raddr = raddr;
    c->rport = rport;
    c->app = APP_OPEN;
    c->ctx = ctx;
    if (!ipv4_on_link(s, raddr)) { /* unreachable: CLOSED at the next poll */
        c->state = TCPS_SYN_SENT;
        tcp_closed(s, c, NETIO_CLOSE_CONNECT_FAILED);
        return i;
    }
    uint32_t range = US_EPHEMERAL_HI - US_EPHEMERAL_LO + 1;
    for (uint32_t t = 0; t < range; t++) {
        uint16_t p = (uint16_t)(US_EPHEMERAL_LO + (s->next_port++ % range));
        int busy = tcp_lookup(s, raddr, rport, p) != NULL;
        for (int l = 0; l < US_MAX_LISTENERS && !busy; l++)
            busy = s->listeners[l].used && s->listeners[l].port == p;
        if (!busy) {
            c->lport = p;
            break;
        }
    }
    if (!c->lport) {
        us_conn_free(s, c);
        snprintf(err, errlen, "ustack: connect %s:%u: no free local port", a, rport);
        return -1;
    }
    c->iss = tcp_isn(s, raddr, rport, c->lport);
    c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
    c->sb_seq = c->iss + 1;
    c->cwnd = 10u * c->smss;
    c->state = TCPS_SYN_SENT;
    tcp_hash_insert(s, c);
    tcp_send_syn(s, c);
    tcp_set_rexmit(s, c, TK_RTO, c->rto);
    return i;
}

int us_listen(struct netio *io, const struct sockaddr_in *addr, void *ctx, char *err, size_t errlen)
{
    struct us_ctx *s = S(io);
    uint16_t port = ntohs(addr->sin_port);
    uint32_t ip = ntohl(addr->sin_addr.s_addr);
    char a[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &addr->sin_addr, a, sizeof(a));
    if (ip != 0 && ip != s->ip) {
        snprintf(err, errlen, "ustack: listen %s:%u: not our address", a, port);
        return -1;
    }
    if (!port) {
        snprintf(err, errlen, "ustack: listen %s:0: port 0 is not supported", a);
        return -1;
    }
    int freei = -1;
    for (int l = 0; l < US_MAX_LISTENERS; l++) {
        if (s->listeners[l].used && s->listeners[l].port == port) {
            snprintf(err, errlen, "ustack: listen %s:%u: port already in use", a, port);
            errno = EADDRINUSE;
            return -1;
        }
        if (!s->listeners[l].used && freei < 0) freei = l;
    }
    if (freei < 0) {
        snprintf(err, errlen, "ustack: listen %s:%u: too many listeners (max %d)", a, port,
                 US_MAX_LISTENERS);
        return -1;
    }
    s->listeners[freei] = (struct us_listener){.port = port, .used = 1, .ctx = ctx};
    return freei;
}

int us_counters(struct netio *io, struct netio_counter *out, int max)
{
    struct us_ctx *s = S(io);
    int n = 0;
    /* loop accounting only where the poll never sleeps (ustack.h) */
    int last = s->fd < 0 || s->cfg.busy_poll ? US_CNT__COUNT : US_POLL_CYCLES_WORK;
    for (int j = 0; j < last && n < max; j++)
        out[n++] = (struct netio_counter){us_cnt_names[j], s->cnt[j]};
    /* the offloads this stack negotiated with its pktio (1 = used) */
    const struct netio_counter ol[] = {
        {"offload_tso", s->tso_seg != 0},
        {"offload_tx_csum", (s->offloads & PKT_TX_L4_CSUM) != 0},
        {"offload_rx_csum", (s->offloads & PKT_RX_L4_CSUM_OK) != 0},
    };
    for (size_t j = 0; j < sizeof(ol) / sizeof(ol[0]) && n < max; j++)
        out[n++] = ol[j];
    if (n < max && s->pkt->ops->counters) n += pktio_counters(s->pkt, out + n, max - n);
    return n;
}

/* ---- lifecycle ---- */

void us_destroy(struct netio *io)
{
    struct us_ctx *s = S(io);
    if (!s) return;
    if (s->ntx) pktio_free(s->pkt, s->txq, s->ntx);
    arp_destroy(s);
    if (s->conns) {
        for (uint32_t i = 0; i < s->max_conns; i++) {
            free(s->conns[i].sbuf);
            free(s->conns[i].refs);
            free(s->conns[i].rbuf);
        }
    }
    free(s->conns);
    free(s->hash);
    free(s->ka);
    free(s->ka_list);
    free(s->rcvcap);
    netio_ring_fini(&s->ready);
    netio_ring_fini(&s->stalled);
    free(s->stall_mark);
    pktio_close(s->pkt);
    free(s);
}

void ustack_config_defaults(struct ustack_config *c)
{
    memset(c, 0, sizeof(*c));
    c->max_conns = 16384;
    c->rcvbuf = c->sndbuf = 256 * 1024;
    c->syn_backlog = 1024;
    c->time_wait_ns = 1000000000ull;
    c->delack_ns = 10000000ull;
    c->rto_min_ns = 200000000ull;
    c->tlp_ack_delay_ns = 50000000ull;
    c->cpu = -1;
}

struct netio *us_open_ops(struct pktio *pkt, const struct ustack_config *c,
                          const struct netio_ops *ops, char *err, size_t errlen)
{
    if (!pkt || !c) {
        snprintf(err, errlen, "ustack: no pktio or no config");
        return NULL;
    }
    struct ustack_config cfg = *c, def;
    ustack_config_defaults(&def);
    if (!cfg.max_conns) cfg.max_conns = def.max_conns;
    if (!cfg.rcvbuf) cfg.rcvbuf = def.rcvbuf;
    if (!cfg.sndbuf) cfg.sndbuf = def.sndbuf;
    if (!cfg.syn_backlog) cfg.syn_backlog = def.syn_backlog;
    if (!cfg.time_wait_ns) cfg.time_wait_ns = def.time_wait_ns;
    if (!cfg.delack_ns) cfg.delack_ns = def.delack_ns;
    if (!cfg.rto_min_ns) cfg.rto_min_ns = def.rto_min_ns;
    if (!cfg.tlp_ack_delay_ns) cfg.tlp_ack_delay_ns = def.tlp_ack_delay_ns;
    if (cfg.ip.s_addr == 0) {
        snprintf(err, errlen, "ustack: no IP address configured");
        return NULL;
    }
    if (cfg.tx_burst > US_TX_BATCH) {
        snprintf(err, errlen, "ustack: tx_burst %u out of range 1..%d", cfg.tx_burst, US_TX_BATCH);
        return NULL;
    }
    if (cfg.prefix_len < 1 || cfg.prefix_len > 32) {
        snprintf(err, errlen, "ustack: prefix length %u out of range 1..32", cfg.prefix_len);
        return NULL;
    }
    if (cfg.max_conns > (1u << 22)) {
        snprintf(err, errlen, "ustack: max_conns %u too large (max %u)", cfg.max_conns, 1u << 22);
        return NULL;
    }
    if (cfg.rcvbuf < 2048 || cfg.rcvbuf > (1u << 30) || cfg.sndbuf < 2048 ||
        cfg.sndbuf > (1u << 30)) {
        snprintf(err, errlen, "ustack: rcvbuf/sndbuf %u/%u out of range 2048..1 GiB", cfg.rcvbuf,
                 cfg.sndbuf);
        return NULL;
    }
    if (netio_pin_cpu(cfg.cpu, err, errlen) < 0) return NULL;
    struct us_ctx *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "ustack: out of memory");
        return NULL;
    }
    s->base.ops = ops;
    s->pkt = pkt;
    s->cfg = cfg;
    s->ip = ntohl(cfg.ip.s_addr);
    s->netmask = cfg.prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> cfg.prefix_len);
    struct pktio_info info;
    memset(&info, 0, sizeof(info));
    info.fd = -1;
    pktio_info(pkt, &info);
    memcpy(s->mac, info.mac, 6);
    s->mtu = info.mtu ? info.mtu : 1500;
    s->offloads = info.offloads;
    /* the option, else the pktio's preference, else the largest burst */
    s->tx_burst = cfg.tx_burst                                    ? cfg.tx_burst
                  : info.tx_burst && info.tx_burst <= US_TX_BATCH ? info.tx_burst
                                                                  : US_TX_BATCH;
    s->fd = info.fd;
    uint32_t mss = cfg.mss ? cfg.mss : (uint32_t)s->mtu - 40;
    if (mss > (uint32_t)s->mtu - 40) mss = (uint32_t)s->mtu - 40;
    if (mss > PKTIO_MAX_FRAME - ETH_HLEN - 40) mss = PKTIO_MAX_FRAME - ETH_HLEN - 40;
    if (mss < 88) mss = 88;
    s->mss = (uint16_t)mss;
    s->tso_seg = us_tso_seg(&info, pkt->ops->alloc_tso != NULL, s->offloads);
    if (!s->tso_seg) s->offloads &= ~PKT_TX_TSO;
    s->max_conns = cfg.max_conns;
    uint32_t hs = 1;
    while (hs < cfg.max_conns)
        hs <<= 1;
    s->hmask = hs - 1;
    s->conns = calloc(cfg.max_conns, sizeof(*s->conns));
    s->hash = malloc(hs * sizeof(*s->hash));
    int rr = netio_ring_init(&s->ready, cfg.max_conns);
    int rs = netio_ring_init(&s->stalled, cfg.max_conns);
    s->stall_mark = calloc(cfg.max_conns, 1);
    if (!s->conns || !s->hash || rr < 0 || rs < 0 || !s->stall_mark) {
        snprintf(err, errlen, "ustack: out of memory for %u connections", cfg.max_conns);
        s->pkt = NULL; /* the caller keeps pkt on failure */
        free(s->conns);
        free(s->hash);
        free(s->stall_mark);
        netio_ring_fini(&s->ready);
        netio_ring_fini(&s->stalled);
        free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < hs; i++)
        s->hash[i] = -1;
    for (uint32_t i = 0; i < cfg.max_conns; i++) {
        s->conns[i].next = i + 1 < cfg.max_conns ? (int32_t)i + 1 : -1;
        s->conns[i].hnext = s->conns[i].tprev = s->conns[i].tnext = -1;
    }
    s->free_head = 0;
    s->zombie_head = -1;
    if (cfg.isn_seed) {
        s->isn_secret = cfg.isn_seed;
    } else if (getrandom(&s->isn_secret, sizeof(s->isn_secret), GRND_NONBLOCK) !=
               (ssize_t)sizeof(s->isn_secret)) {
        s->isn_secret = (uint64_t)clock_now(s) ^ (uint64_t)(uintptr_t)s;
    }
    s->next_port = (uint16_t)(s->isn_secret >> 17);
    s->now = clock_now(s);
    tcp_timer_init(s);
    if (cfg.gratuitous_arp) {
        arp_announce(s);
        us_tx_flush(s);
    }
    return &s->base;
}

struct netio *ustack_open(struct pktio *pkt, const struct ustack_config *c, char *err,
                          size_t errlen)
{
    return us_open_ops(pkt, c, &ustack_netio_ops, err, errlen);
}

static int us_probe(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return 0;
}

static struct netio *us_open_cfg(const struct netio_config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    snprintf(err, errlen, "ustack: open it with ustack_open() over a pktio");
    return NULL;
}

const struct netio_ops ustack_netio_ops = {
    .name = "ustack",
    .help = "user-space TCP/IP stack over a pktio (ustack_open)",
    .probe = us_probe,
    .open = us_open_cfg,
    USTACK_NETIO_OPS_BODY,
};
