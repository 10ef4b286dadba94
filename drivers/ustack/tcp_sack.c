/*
 * tcp_sack.c — the sender's loss detection of the user-space stack: the
 * SACK scoreboard (RFC 2018 blocks kept as sorted, disjoint ranges above
 * snd_una), which holes are lost (RFC 6675 IsLost: DupThresh * SMSS SACKed
 * above; RACK, RFC 8985: a hole below a later-sent segment that was SACKed
 * and not filled within the reordering window, TK_REO), entering recovery,
 * the pipe (RFC 6675) and the next hole to resend. The resending itself and
 * the tail loss probe are in tcp_out.c (they build segments).
 *
 *   tcp_in.c synchronized() -> tcp_sack_update() -> new_ack() (tcp_sack_trim)
 *                           -> tcp_sack_detect() -> tcp_output_work()
 *   tcp_timer.c TK_REO -> tcp_sack_reo_fire() -> tcp_output_work()
 *   tcp_out.c tcp_output_work() -> tcp_sack_out_of_pipe(), tcp_sack_next_hole()
 *
 * RACK here keeps no per-segment send times: original segments go out in
 * sequence order, so a hole below the highest SACKed range was sent before
 * it; a hole is declared lost when the reordering window (SRTT / 4, at least
 * one timer tick) has passed since the ACK that showed a later segment
 * delivered. A resent hole is lost again when data sent after the resend
 * is SACKed while the hole stays open (rxt_mark).
 *
 * Undo (RFC 2883 section 4, RFC 3708; Linux's undo_marker, undo_retrans,
 * tcp_try_undo_dsack): a loss episode (recovery entered here or by
 * NewReno's three duplicate ACKs, an RTO, a tail loss probe; without SACK
 * no D-SACK comes, so NewReno's are never undone) remembers
 * cwnd and ssthresh before its cut and counts its retransmissions; each
 * D-SACK of data at or above the episode's start counts one down per SMSS
 * it covers. When none is left, every resend had found its segment already
 * there: no loss was repaired, and cwnd and ssthresh go back to at least
 * what they were (dsack_undo). The episode stays armed after it ends, for
 * the D-SACKs still on their way (after an RTO they come behind the late
 * ACKs), until the next one begins. Like Linux's check of a D-SACK below
 * snd_una, a duplicate the network made of data above the marker counts
 * too (no per-segment marks here).
 */
#include "drivers/ustack/ustack_int.h"

void tcp_sack_reset(struct us_conn *c)
{
    c->n_sack = 0;
    if (!c->tlp_hi) c->flags &= ~CF_LR;
    c->lost_hi = c->rxt_nxt = c->rack_seq = c->snd_una;
}

void tcp_sack_trim(struct us_conn *c)
{
    uint8_t k = 0;
    for (uint8_t i = 0; i < c->n_sack; i++) {
        if (SEQ_LEQ(c->sack_e[i], c->snd_una)) continue;
        c->sack_s[k] = SEQ_MAX(c->sack_s[i], c->snd_una);
        c->sack_e[k++] = c->sack_e[i];
    }
    c->n_sack = k;
}

/* Add [l, r) (within snd_una..snd_max), merging what it touches; when the
 * table is full the highest range gives way (it is the least useful: the
 * holes below it are the ones we still learn about). */
static void sack_insert(struct us_conn *c, uint32_t l, uint32_t r)
{
    uint8_t n = c->n_sack, i = 0;
    while (i < n && SEQ_LT(c->sack_e[i], l))
        i++;
    uint8_t j = i;
    while (j < n && SEQ_LEQ(c->sack_s[j], r)) {
        l = SEQ_MIN(l, c->sack_s[j]);
        r = SEQ_MAX(r, c->sack_e[j]);
        j++;
    }
    if (j == i) { /* no overlap: insert at i */
        if (n == US_SACK_MAX) {
            if (i == n) return;
            n--;
        }
        memmove(&c->sack_s[i + 1], &c->sack_s[i], (size_t)(n - i) * sizeof(c->sack_s[0]));
        memmove(&c->sack_e[i + 1], &c->sack_e[i], (size_t)(n - i) * sizeof(c->sack_e[0]));
        n++;
    } else if (j > i + 1) { /* [i, j) merged into i */
        memmove(&c->sack_s[i + 1], &c->sack_s[j], (size_t)(n - j) * sizeof(c->sack_s[0]));
        memmove(&c->sack_e[i + 1], &c->sack_e[j], (size_t)(n - j) * sizeof(c->sack_e[0]));
        n = (uint8_t)(n - (j - i - 1));
    }
    c->sack_s[i] = l;
    c->sack_e[i] = r;
    c->n_sack = n;
    c->flags |= CF_LR;
}

void tcp_undo_begin(struct us_conn *c)
{
    if ((c->flags & CF_UNDO) && (c->flags & CF_RECOVERY || c->tlp_hi)) return; /* goes on */
    c->flags |= CF_UNDO;
    c->prior_cwnd = c->cwnd;
    c->prior_ssthresh = c->ssthresh;
    c->undo_marker = c->snd_una;
    c->undo_retrans = 0;
}

/* A D-SACK reported [l, r) arrived twice. */
static void undo_dsack(struct us_ctx *s, struct us_conn *c, uint32_t l, uint32_t r)
{
    if (!(c->flags & CF_UNDO) || !c->undo_retrans || !SEQ_GT(r, c->undo_marker)) return;
    l = SEQ_MAX(l, c->undo_marker);
    uint32_t n = (r - l + c->smss - 1u) / c->smss;
    c->undo_retrans = n >= c->undo_retrans ? 0 : (uint16_t)(c->undo_retrans - n);
    if (c->undo_retrans) return;
    c->flags &= ~CF_UNDO;
    if (c->cwnd >= c->prior_cwnd && c->ssthresh >= c->prior_ssthresh) return; /* nothing cut */
    if (c->prior_cwnd > c->cwnd) c->cwnd = c->prior_cwnd;
    if (c->prior_ssthresh > c->ssthresh) c->ssthresh = c->prior_ssthresh;
    if (c->flags & CF_RECOVERY) {
        /* the recovery was spurious: leave it (no deflation to ssthresh at
         * its end); holes deemed lost but not resent yet are judged again */
        c->flags &= ~CF_RECOVERY;
        if (SEQ_GT(c->lost_hi, c->rxt_nxt)) c->lost_hi = SEQ_MAX(c->rxt_nxt, c->snd_una);
    }
    CNT(s, US_DSACK_UNDO);
}

void tcp_sack_update(struct us_ctx *s, struct us_conn *c, const uint32_t (*blk)[2], int n,
                     uint32_t ack)
{
    for (int k = 0; k < n; k++) {
        uint32_t l = blk[k][0], r = blk[k][1];
        if (!SEQ_LT(l, r) || SEQ_GT(r, c->snd_max) || SEQ_LT(l, c->snd_una - (1u << 30))) {
            CNT(s, US_SACK_BLOCKS_BAD);
            continue;
        }
        CNT(s, US_SACK_BLOCKS_RCVD);
        /* RFC 2883: a first block at or below the cumulative ACK, or
         * inside the second, reports data that arrived twice */
        if (k == 0 && (SEQ_LEQ(r, ack) ||
                       (n > 1 && SEQ_GEQ(l, blk[1][0]) && SEQ_LEQ(r, blk[1][1])))) {
            CNT(s, US_DSACK_RCVD);
            undo_dsack(s, c, l, r);
        }
        if (SEQ_LEQ(r, c->snd_una)) continue; /* old news (or a D-SACK): nothing to mark */
        sack_insert(c, SEQ_MAX(l, c->snd_una), r);
    }
}

/* Bytes of [a, b) not SACKed. */
static uint32_t unsacked(const struct us_conn *c, uint32_t a, uint32_t b)
{
    if (!SEQ_LT(a, b)) return 0;
    uint32_t n = b - a;
    for (uint8_t i = 0; i < c->n_sack; i++) {
        uint32_t l = SEQ_MAX(a, c->sack_s[i]), r = SEQ_MIN(b, c->sack_e[i]);
        if (SEQ_LT(l, r)) n -= r - l;
    }
    return n;
}

uint32_t tcp_sack_out_of_pipe(const struct us_conn *c)
{
    uint32_t sacked = 0;
    for (uint8_t i = 0; i < c->n_sack; i++)
        sacked += c->sack_e[i] - c->sack_s[i];
    uint32_t from = SEQ_MAX(c->rxt_nxt, c->snd_una);
    return sacked + unsacked(c, from, c->lost_hi);
}

uint32_t tcp_sack_next_hole(const struct us_conn *c, uint32_t from, uint32_t *end)
{
    for (uint8_t i = 0; i < c->n_sack; i++) {
        if (SEQ_LT(from, c->sack_s[i])) {
            *end = c->sack_s[i];
            return from;
        }
        if (SEQ_LT(from, c->sack_e[i])) from = c->sack_e[i];
    }
    *end = c->snd_max;
    return from;
}

static void enter_recovery(struct us_ctx *s, struct us_conn *c)
{
    if (c->flags & CF_RECOVERY) return;
    tcp_undo_begin(c);
    uint32_t flight = c->snd_max - c->snd_una, half = flight / 2;
    c->ssthresh = half > 2u * c->smss ? half : 2u * c->smss;
    c->cwnd = c->ssthresh;
    c->recover = c->snd_max;
    c->rxt_nxt = c->snd_una;
    c->rxt_mark = c->snd_max;
    c->flags |= CF_RECOVERY;
    CNT(s, US_SACK_RECOVERIES);
}

void tcp_sack_detect(struct us_ctx *s, struct us_conn *c)
{
    if (!c->n_sack) return;
    if (SEQ_LT(c->lost_hi, c->snd_una)) c->lost_hi = c->snd_una;
    /* RACK for resent holes: data sent after the latest resend arrived
     * (a SACK above rxt_mark) while a resent hole is still open: the link
     * is FIFO, so that resend was lost too; resend the holes again */
    if ((c->flags & CF_RECOVERY) && SEQ_GT(c->rxt_nxt, c->snd_una) &&
        SEQ_GT(c->sack_e[c->n_sack - 1], c->rxt_mark) && unsacked(c, c->snd_una, c->rxt_nxt)) {
        CNT(s, US_RACK_REXMIT_LOST);
        c->rxt_nxt = c->snd_una;
        c->rxt_mark = c->snd_max;
    }
    /* RFC 6675 IsLost: DupThresh (3) segments' worth SACKed above a hole */
    uint32_t above = 0, lost = c->lost_hi;
    for (int i = c->n_sack - 1; i >= 0; i--) {
        above += c->sack_e[i] - c->sack_s[i];
        if (above >= 3u * c->smss) {
            lost = SEQ_MAX(lost, c->sack_s[i]);
            break;
        }
    }
    /* three duplicate ACKs: the first hole is lost (RFC 6675 5.0, step 4) */
    if (c->dupacks >= 3) lost = SEQ_MAX(lost, c->sack_s[0]);
    if (SEQ_GT(lost, c->lost_hi)) {
        c->lost_hi = lost;
        enter_recovery(s, c);
    }
    /* RACK: holes below the highest SACKed range not yet deemed lost are
     * once the reordering window has passed without them being filled */
    uint32_t top = c->sack_s[c->n_sack - 1];
    if (SEQ_GT(top, c->lost_hi) && !(c->rexmit_at && c->tkind == TK_REO)) {
        uint64_t reo = c->srtt / 4;
        c->rack_seq = top;
        tcp_set_rexmit(s, c, TK_REO, reo ? reo : 1);
    }
}

void tcp_sack_reo_fire(struct us_ctx *s, struct us_conn *c)
{
    if (c->snd_una == c->snd_max) return;
    if (SEQ_GT(c->rack_seq, c->snd_una) && SEQ_GT(c->rack_seq, c->lost_hi) &&
        unsacked(c, c->lost_hi, c->rack_seq)) {
        CNT(s, US_RACK_REO_TIMEOUTS);
        c->lost_hi = c->rack_seq;
        enter_recovery(s, c);
    }
    tcp_output_work(s, c);
    tcp_sack_detect(s, c); /* holes above rack_seq: another window */
    if (!c->rexmit_at && c->snd_una != c->snd_max) tcp_set_rexmit(s, c, TK_RTO, c->rto);
}
