/*
 * netio_common.c — what every "our stack over a pktio" netio backend shares
 * (netio_afpacket.c, netio_dpdk.c): the netio config turned into a stack
 * config, the stack's own options split from the pktio's, the pktio opened
 * and the stack put on it.
 *
 *   us_netio_open() -> parse_ip(), opts_parse(stack table, pktio table)
 *                   -> pktio open -> [wrap(wrap_arg)] -> us_open_ops()
 *
 * Options (cfg->opts, key=value): the stack's own keys (the table
 * us_stack_opt_defs below) are taken here; the pktio's keys (its ops->opts)
 * are checked here and passed on to it; any other key is refused with the
 * list of both. cfg->rx_buf is the receive buffer, cfg->max_conns the
 * connection table.
 */
#include "drivers/ustack/ustack_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

/* "A.B.C.D/LEN" -> address and prefix; -1 with err. */
static int parse_ip(const char *drv, const char *s, struct in_addr *ip, uint8_t *plen, char *err,
                    size_t errlen)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (!slash || n == 0 || n >= sizeof(buf)) {
        snprintf(err, errlen, "%s: ip '%s' is not ADDR/LEN", drv, s);
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET, buf, ip) != 1) {
        snprintf(err, errlen, "%s: ip '%s': bad IPv4 address '%s'", drv, s, buf);
        return -1;
    }
    char *end = NULL;
    long l = strtol(slash + 1, &end, 10);
    if (!slash[1] || *end || l < 1 || l > 32) {
        snprintf(err, errlen, "%s: ip '%s': prefix length must be 1..32", drv, s);
        return -1;
    }
    *plen = (uint8_t)l;
    return 0;
}

/* The stack's options (into struct ustack_config); doctor and --help print
 * them. 0 in a buffer, backlog or timer means the stack's default. */
#define U(f)                                                                                       \
    .off = offsetof(struct ustack_config, f), .size = sizeof(((struct ustack_config *)0)->f)
const struct opt_def us_stack_opt_defs[] = {
    {.name = "sndbuf",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "262144",
     U(sndbuf),
     .help = "send buffer per connection, bytes (2048..1g; 0: 256 KiB)"},
    {.name = "syn_backlog",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "1024",
     U(syn_backlog),
     .help = "half-open connections per listener (0: 1024)"},
    {.name = "time_wait_ms",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "1000",
     .scale = 1000000,
     U(time_wait_ns),
     .help = "TIME_WAIT duration, ms (0: 1000)"},
    {.name = "delack_us",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "10000",
     .scale = 1000,
     U(delack_ns),
     .help = "delayed-ACK timeout, us (0: 10000)"},
    {.name = "delack_off",
     .type = OPT_BOOL,
     .def = "0",
     U(delack_off),
     .help = "1: ACK every segment at once"},
    {.name = "rto_min_ms",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "200",
     .scale = 1000000,
     U(rto_min_ns),
     .help = "lower bound of the RTO, ms (0: 200; the initial RTO is 1 s)"},
    {.name = "sack_off",
     .type = OPT_BOOL,
     .def = "0",
     U(sack_off),
     .help = "1: neither offer nor use selective ACKs (RFC 2018/6675); NewReno recovery only"},
    {.name = "tlp_off",
     .type = OPT_BOOL,
     .def = "0",
     U(tlp_off),
     .help = "1: no tail loss probe (RFC 8985); only the RTO recovers a lost tail"},
    {.name = "tlp_ack_delay_ms",
     .type = OPT_UINT,
     .max = 10000,
     .def = "50",
     .scale = 1000000,
     U(tlp_ack_delay_ns),
     .help = "extra wait of a probe when one segment is in flight (the peer's delayed ACK), ms "
             "(0: 50)"},
    {.name = "mss",
     .type = OPT_UINT,
     .max = 65535,
     .def = "0",
     U(mss),
     .help = "our MSS, bytes (0: MTU - 40)"},
    {.name = "gratuitous_arp",
     .type = OPT_BOOL,
     .def = "0",
     U(gratuitous_arp),
     .help = "1: announce our address at start"},
    {.name = "isn_seed",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "0",
     U(isn_seed),
     .help = "0: random initial sequence numbers; else deterministic from this seed"},
    {.name = "test_work_per_packet",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "0",
     U(test_work_per_packet),
     .help = "TEST ONLY: extra work per received frame (regression gates)"},
    {.name = "test_drop_every",
     .type = OPT_UINT,
     .max = 1000000,
     .def = "0",
     U(test_drop_every),
     .help = "TEST ONLY: drop every Nth TCP segment with data we send and every Nth we receive "
             "(0: off; loss recovery against real peers)"},
    {.name = "test_spike_after",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "0",
     U(test_spike_after),
     .help = "TEST ONLY: after the Nth frame we send, hold our TX for test_spike_ms (0: off; "
             "spurious retransmissions by real peers, D-SACK and undo)"},
    {.name = "test_spike_every",
     .type = OPT_UINT,
     .max = UINT32_MAX,
     .def = "0",
     U(test_spike_every),
     .help = "TEST ONLY: another TX hold every N frames after the first, frames (0: once)"},
    {.name = "test_spike_ms",
     .type = OPT_UINT,
     .max = 60000,
     .def = "0",
     .scale = 1000000,
     U(test_spike_ns),
     .help = "TEST ONLY: how long each TX hold lasts, ms (0: off; with test_spike_after)"},
    {.name = "tx_burst",
     .type = OPT_UINT,
     .min = 1,
     .max = US_TX_BATCH,
     U(tx_burst),
     .help = "frames queued before a TX burst goes out (default: the pktio's wish, else 64)"},
    OPT_END,
};
#undef U

/* ---- TEST ONLY: a pktio that loses every Nth TCP segment with data ---- */

struct lossy {
    struct pktio base; /* first */
    struct pktio *in;
    uint32_t every;
    uint64_t seen_tx, seen_rx, dropped_tx, dropped_rx;
};

static struct lossy *lossy_of(struct pktio *p)
{
    return (struct lossy *)p;
}

/* Whether frame b is IPv4 TCP carrying data. */
static int tcp_data(const struct pktbuf *b)
{
    const uint8_t *f = b->data;
    if (b->len < ETH_HLEN + IP_HLEN + 20 || rd16(f + 12) != ETH_P_IPV4 || f[ETH_HLEN + 9] != 6)
        return 0;
    uint32_t ihl = (uint32_t)(f[ETH_HLEN] & 15) * 4, tot = rd16(f + ETH_HLEN + 2);
    if (ihl < IP_HLEN || b->len < ETH_HLEN + ihl + 20) return 0;
    uint32_t doff = (uint32_t)(f[ETH_HLEN + ihl + 12] >> 4) * 4;
    return tot > ihl + doff;
}

static uint16_t lossy_rx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct lossy *l = lossy_of(p);
    uint16_t k = pktio_rx_burst(l->in, b, n), out = 0;
    for (uint16_t i = 0; i < k; i++) {
        if (tcp_data(b[i]) && ++l->seen_rx % l->every == 0) {
            l->dropped_rx++;
            pktio_free(l->in, &b[i], 1);
            continue;
        }
        b[out++] = b[i];
    }
    return out;
}

/* The first ret frames are taken (sent or dropped), as tx_burst promises. */
static uint16_t lossy_tx(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    struct lossy *l = lossy_of(p);
    uint16_t done = 0;
    while (done < n) {
        uint64_t seen = l->seen_tx;
        uint16_t d = done;
        for (; d < n; d++) { /* the next one to drop */
            if (!tcp_data(b[d])) continue;
            if ((seen + 1) % l->every == 0) break;
            seen++;
        }
        /* frames done..d-1 pass; d (if < n) is dropped */
        uint16_t k = d > done ? pktio_tx_burst(l->in, b + done, (uint16_t)(d - done)) : 0;
        for (uint16_t i = done; i < done + k; i++)
            l->seen_tx += tcp_data(b[i]);
        done = (uint16_t)(done + k);
        if (done < d) break; /* refused: the rest stays the caller's */
        if (d == n) break;
        l->seen_tx++;
        l->dropped_tx++;
        pktio_free(l->in, &b[d], 1);
        done++;
    }
    return done;
}

static struct pktbuf *lossy_alloc(struct pktio *p)
{
    return pktio_alloc(lossy_of(p)->in);
}
static void lossy_free(struct pktio *p, struct pktbuf **b, uint16_t n)
{
    pktio_free(lossy_of(p)->in, b, n);
}
static void lossy_info(struct pktio *p, struct pktio_info *out)
{
    pktio_info(lossy_of(p)->in, out);
}
static int lossy_counters(struct pktio *p, struct netio_counter *out, int max)
{
    struct lossy *l = lossy_of(p);
    int n = 0;
    if (n < max) out[n++] = (struct netio_counter){"test_dropped_tx", l->dropped_tx};
    if (n < max) out[n++] = (struct netio_counter){"test_dropped_rx", l->dropped_rx};
    if (n < max && l->in->ops->counters) n += pktio_counters(l->in, out + n, max - n);
    return n;
}
static uint32_t lossy_in_use(struct pktio *p)
{
    struct pktio *in = lossy_of(p)->in;
    return in->ops->in_use ? in->ops->in_use(in) : 0;
}
static int64_t lossy_tx_pending(struct pktio *p)
{
    return -1; /* it loses frames: not a FIFO of what the stack sent */
}
static void lossy_close(struct pktio *p)
{
    pktio_close(lossy_of(p)->in);
    free(p);
}

static const struct pktio_ops lossy_ops = {
    .name = "test-lossy",
    .help = "TEST ONLY: loses every Nth TCP segment with data each way",
    .rx_burst = lossy_rx,
    .tx_burst = lossy_tx,
    .alloc = lossy_alloc,
    .free = lossy_free,
    .info = lossy_info,
    .counters = lossy_counters,
    .in_use = lossy_in_use,
    .tx_pending = lossy_tx_pending,
    .close = lossy_close,
};

/* Wraps p (taking it; closed on failure). */
static struct pktio *lossy_wrap(struct pktio *p, uint32_t every, char *err, size_t errlen)
{
    struct lossy *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "test_drop_every: out of memory");
        pktio_close(p);
        return NULL;
    }
    l->base.ops = &lossy_ops;
    l->in = p;
    l->every = every;
    return &l->base;
}

/* ---- TEST ONLY: our TX held for a while (impair.c's delay spike) ---- */

/* Wraps p (taking it; closed on failure). */
static struct pktio *spike_wrap(struct pktio *p, const struct ustack_config *uc, const char *drv,
                                char *err, size_t errlen)
{
    struct impair_config ic = {.spike_after = uc->test_spike_after,
                               .spike_every = uc->test_spike_every,
                               .spike_ns = uc->test_spike_ns,
                               .now_ns = uc->now_ns,
                               .now_arg = uc->now_arg};
    char why[256];
    struct pktio *w = impair_wrap(p, &ic, why, sizeof(why));
    if (!w) {
        snprintf(err, errlen, "%s: test_spike_after/test_spike_every/test_spike_ms: %s", drv, why);
        pktio_close(p);
    }
    return w;
}

int us_netio_probe(const char *pktio_name, char *err, size_t errlen)
{
    const struct pktio_ops *p = pktio_find(pktio_name);
    if (!p) {
        snprintf(err, errlen, "the %s pktio is not built in", pktio_name);
        return -1;
    }
    return p->probe ? p->probe(err, errlen) : 0;
}

struct netio *us_netio_open(const struct netio_ops *ops, const char *pktio_name,
                            const struct netio_config *cfg, int need_iface, const char *extra_vdev,
                            us_pktio_wrap wrap, void *wrap_arg, char *err, size_t errlen)
{
    const char *drv = ops->name;
    if (!cfg || !cfg->ip || !*cfg->ip) {
        snprintf(err, errlen, "%s: no ip given (the stack needs --ip ADDR/LEN)", drv);
        return NULL;
    }
    if (need_iface && (!cfg->iface || !*cfg->iface)) {
        snprintf(err, errlen, "%s: no interface given (--iface)", drv);
        return NULL;
    }
    struct ustack_config uc;
    ustack_config_defaults(&uc);
    if (parse_ip(drv, cfg->ip, &uc.ip, &uc.prefix_len, err, errlen) < 0) return NULL;
    if (cfg->max_conns > (1u << 22)) {
        snprintf(err, errlen, "%s: max_conns %zu too large", drv, cfg->max_conns);
        return NULL;
    }
    if (cfg->rx_buf > (1u << 30)) {
        snprintf(err, errlen, "%s: rx_buf %zu too large", drv, cfg->rx_buf);
        return NULL;
    }
    if (cfg->max_conns) uc.max_conns = (uint32_t)cfg->max_conns;
    if (cfg->rx_buf) uc.rcvbuf = (uint32_t)cfg->rx_buf;
    uc.cpu = cfg->cpu;
    uc.busy_poll = cfg->busy_poll;
    const struct pktio_ops *po = pktio_find(pktio_name);
    if (!po) {
        snprintf(err, errlen, "%s: the %s pktio is not built in", drv, pktio_name);
        return NULL;
    }
    size_t nopts = 0;
    while (cfg->opts && cfg->opts[nopts])
        nopts++;
    const char **rest = calloc(nopts + 1, sizeof(*rest));
    if (!rest) {
        snprintf(err, errlen, "%s: out of memory", drv);
        return NULL;
    }
    struct netio *io = NULL;
    const struct opt_set sets[] = {{us_stack_opt_defs, &uc}, {po->opts, NULL}};
    if (opts_parse(drv, cfg->opts, sets, 2, rest, err, errlen) == 0) {
        struct pktio_config pc = {.iface = cfg->iface, .opts = rest, .extra_vdev = extra_vdev};
        struct pktio *p = po->open(&pc, err, errlen);
        if (p && wrap) p = wrap(wrap_arg, p, &uc, err, errlen); /* closes p on failure */
        if (p && uc.test_drop_every) p = lossy_wrap(p, uc.test_drop_every, err, errlen);
        if (p && (uc.test_spike_after || uc.test_spike_every || uc.test_spike_ns))
            p = spike_wrap(p, &uc, drv, err, errlen); /* impair_wrap checks the three */
        if (p) {
            io = us_open_ops(p, &uc, ops, err, errlen);
            if (!io) pktio_close(p);
        }
    }
    free(rest);
    return io;
}
