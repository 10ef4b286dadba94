/*
 * netio_common.c — what every "our stack over a pktio" netio backend shares
 * (netio_afpacket.c, netio_dpdk.c): the netio config turned into a stack
 * config, the stack's own options split from the pktio's, the pktio opened
 * and the stack put on it.
 *
 *   us_netio_open() -> parse_ip(), stack_opts() -> pktio open -> [wrap(wrap_arg)]
 *                   -> us_open_ops()
 *
 * Options (cfg->opts, key=value): the stack's own keys below are taken here,
 * every other key goes to the pktio backend.
 *   sndbuf=BYTES  syn_backlog=N  time_wait_ms=N  delack_us=N  delack_off=0|1
 *   rto_min_ms=N  mss=N  gratuitous_arp=0|1  isn_seed=N  tx_burst=1..64
 *   test_work_per_packet=N (TEST ONLY: extra work per received frame, for the regression gates)
 * cfg->rx_buf is the receive buffer, cfg->max_conns the connection table.
 */
#include "drivers/ustack/ustack_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

/* "A.B.C.D/LEN" -> address and prefix; -1 with err. */
static int parse_ip(const char *drv, const char *s, struct in_addr *ip, uint8_t *plen, char *err, size_t errlen)
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

/* Takes the stack's keys from opts into uc; the rest are copied to rest
 * (NULL-terminated, n+1 slots). 0 or -1 with err. */
static int stack_opts(const char *drv, const char *const *opts, struct ustack_config *uc, const char **rest,
                      char *err, size_t errlen)
{
    static const char *const keys[] = {"sndbuf",     "syn_backlog", "time_wait_ms",
                                       "delack_us",  "delack_off",  "rto_min_ms",
                                       "mss",        "gratuitous_arp", "isn_seed",
                                       "test_work_per_packet", "tx_burst"};
    size_t nr = 0;
    for (const char *const *o = opts; o && *o; o++) {
        const char *eq = strchr(*o, '=');
        size_t kl = eq ? (size_t)(eq - *o) : strlen(*o);
        int k = -1;
        for (int i = 0; i < (int)(sizeof(keys) / sizeof(keys[0])); i++)
            if (strlen(keys[i]) == kl && strncmp(*o, keys[i], kl) == 0) k = i;
        if (k < 0) {
            rest[nr++] = *o;
            continue;
        }
        char *end = NULL;
        unsigned long long v = eq ? strtoull(eq + 1, &end, 10) : 0;
        if (!eq || !eq[1] || *end || v > 0xffffffffull) {
            snprintf(err, errlen, "%s: option '%s': want %s=NUMBER", drv, *o, keys[k]);
            return -1;
        }
        switch (k) {
        case 0: uc->sndbuf = (uint32_t)v; break;
        case 1: uc->syn_backlog = (uint32_t)v; break;
        case 2: uc->time_wait_ns = v * 1000000ull; break;
        case 3: uc->delack_ns = v * 1000ull; break;
        case 4: uc->delack_off = v != 0; break;
        case 5: uc->rto_min_ns = v * 1000000ull; break;
        case 6:
            if (v > 65535) {
                snprintf(err, errlen, "%s: option '%s': mss too large", drv, *o);
                return -1;
            }
            uc->mss = (uint16_t)v;
            break;
        case 7: uc->gratuitous_arp = v != 0; break;
        case 8: uc->isn_seed = v; break;
        case 9: uc->test_work_per_packet = (uint32_t)v; break;
        default:
            if (v < 1 || v > US_TX_BATCH) {
                snprintf(err, errlen, "%s: option '%s': tx_burst is 1..%d frames", drv, *o,
                         US_TX_BATCH);
                return -1;
            }
            uc->tx_burst = (uint16_t)v;
            break;
        }
    }
    rest[nr] = NULL;
    return 0;
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
                            const struct netio_config *cfg, int need_iface, us_pktio_wrap wrap,
                            void *wrap_arg, char *err, size_t errlen)
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
    while (cfg->opts && cfg->opts[nopts]) nopts++;
    const char **rest = calloc(nopts + 1, sizeof(*rest));
    if (!rest) {
        snprintf(err, errlen, "%s: out of memory", drv);
        return NULL;
    }
    struct netio *io = NULL;
    if (stack_opts(drv, cfg->opts, &uc, rest, err, errlen) == 0) {
        struct pktio_config pc = {.iface = cfg->iface, .opts = rest};
        struct pktio *p = po->open(&pc, err, errlen);
        if (p && wrap) p = wrap(wrap_arg, p, &uc, err, errlen); /* closes p on failure */
        if (p) {
            io = us_open_ops(p, &uc, ops, err, errlen);
            if (!io) pktio_close(p);
        }
    }
    free(rest);
    return io;
}
