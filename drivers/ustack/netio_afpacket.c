/*
 * netio_afpacket.c — the "afpacket" netio backend: our user-space stack
 * (ustack_open) over the "afpacket" pktio (TPACKET_V3 on cfg->iface).
 * Exports `netio_afpacket_ops` for the table in drivers/netio.c.
 *
 *   netio_open("afpacket") -> af_open() -> pktio_find("afpacket")->open()
 *                                       -> us_open_ops() (stack.c)
 * Everything after open is the stack's own netio ops (stack.c).
 *
 * Options (cfg->opts, key=value): the stack's own keys below are taken here,
 * every other key goes to the afpacket pktio (version, block_size, ...).
 *   sndbuf=BYTES  syn_backlog=N  time_wait_ms=N  delack_us=N  delack_off=0|1
 *   rto_min_ms=N  mss=N  gratuitous_arp=0|1  isn_seed=N
 * cfg->rx_buf is the receive buffer, cfg->max_conns the connection table.
 */
#include "ustack_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

extern const struct netio_ops netio_afpacket_ops;

static int af_probe(char *err, size_t errlen)
{
    const struct pktio_ops *p = pktio_find("afpacket");
    if (!p) {
        snprintf(err, errlen, "afpacket: the afpacket pktio is not built in");
        return -1;
    }
    return p->probe ? p->probe(err, errlen) : 0;
}

/* "A.B.C.D/LEN" -> address and prefix; -1 with err. */
static int parse_ip(const char *s, struct in_addr *ip, uint8_t *plen, char *err, size_t errlen)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (!slash || n == 0 || n >= sizeof(buf)) {
        snprintf(err, errlen, "afpacket: ip '%s' is not ADDR/LEN", s);
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET, buf, ip) != 1) {
        snprintf(err, errlen, "afpacket: ip '%s': bad IPv4 address '%s'", s, buf);
        return -1;
    }
    char *end = NULL;
    long l = strtol(slash + 1, &end, 10);
    if (!slash[1] || *end || l < 1 || l > 32) {
        snprintf(err, errlen, "afpacket: ip '%s': prefix length must be 1..32", s);
        return -1;
    }
    *plen = (uint8_t)l;
    return 0;
}

/* Takes the stack's keys from opts into uc; the rest are copied to rest
 * (NULL-terminated, n+1 slots). 0 or -1 with err. */
static int stack_opts(const char *const *opts, struct ustack_config *uc, const char **rest,
                      char *err, size_t errlen)
{
    static const char *const keys[] = {"sndbuf",     "syn_backlog", "time_wait_ms",
                                       "delack_us",  "delack_off",  "rto_min_ms",
                                       "mss",        "gratuitous_arp", "isn_seed"};
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
            snprintf(err, errlen, "afpacket: option '%s': want %s=NUMBER", *o, keys[k]);
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
                snprintf(err, errlen, "afpacket: option '%s': mss too large", *o);
                return -1;
            }
            uc->mss = (uint16_t)v;
            break;
        case 7: uc->gratuitous_arp = v != 0; break;
        default: uc->isn_seed = v; break;
        }
    }
    rest[nr] = NULL;
    return 0;
}

static struct netio *af_open(const struct netio_config *cfg, char *err, size_t errlen)
{
    if (!cfg || !cfg->ip || !*cfg->ip) {
        snprintf(err, errlen, "afpacket: no ip given (the stack needs ip=ADDR/LEN)");
        return NULL;
    }
    if (!cfg->iface || !*cfg->iface) {
        snprintf(err, errlen, "afpacket: no interface given (iface)");
        return NULL;
    }
    struct ustack_config uc;
    ustack_config_defaults(&uc);
    if (parse_ip(cfg->ip, &uc.ip, &uc.prefix_len, err, errlen) < 0) return NULL;
    if (cfg->max_conns > (1u << 22)) {
        snprintf(err, errlen, "afpacket: max_conns %zu too large", cfg->max_conns);
        return NULL;
    }
    if (cfg->rx_buf > (1u << 30)) {
        snprintf(err, errlen, "afpacket: rx_buf %zu too large", cfg->rx_buf);
        return NULL;
    }
    if (cfg->max_conns) uc.max_conns = (uint32_t)cfg->max_conns;
    if (cfg->rx_buf) uc.rcvbuf = (uint32_t)cfg->rx_buf;
    uc.cpu = cfg->cpu;
    uc.busy_poll = cfg->busy_poll;
    const struct pktio_ops *po = pktio_find("afpacket");
    if (!po) {
        snprintf(err, errlen, "afpacket: the afpacket pktio is not built in");
        return NULL;
    }
    size_t nopts = 0;
    while (cfg->opts && cfg->opts[nopts]) nopts++;
    const char **rest = calloc(nopts + 1, sizeof(*rest));
    if (!rest) {
        snprintf(err, errlen, "afpacket: out of memory");
        return NULL;
    }
    struct netio *io = NULL;
    if (stack_opts(cfg->opts, &uc, rest, err, errlen) == 0) {
        struct pktio_config pc = {.iface = cfg->iface, .opts = rest};
        struct pktio *p = po->open(&pc, err, errlen);
        if (p) {
            io = us_open_ops(p, &uc, &netio_afpacket_ops, err, errlen);
            if (!io) pktio_close(p);
        }
    }
    free(rest);
    return io;
}

const struct netio_ops netio_afpacket_ops = {
    .name = "afpacket",
    .help = "our user-space TCP/IP stack over AF_PACKET TPACKET_V3 (needs iface and ip)",
    .probe = af_probe,
    .open = af_open,
    USTACK_NETIO_OPS_BODY,
};
