/*
 * trace.c — summarise a pcap/pcapng file (see trace.h). Caller:
 * harness/cli/trace.c (`bypassbench trace`), tests. Calls libpcap
 * (pcap_open_offline_with_tstamp_precision: nanosecond timestamps for both
 * formats), nothing else. Two open-addressing hash tables: flows (by the
 * 4-tuple with both directions folded together, carrying the handshake
 * state) and data segments seen (by directed 4-tuple and sequence number,
 * for retransmissions).
 */
#include "harness/analysis/trace.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint32_t trace_bucket_max[TRACE_NBUCKETS - 1] = {64, 128, 256, 512, 1024, 1514};

enum hs_state { HS_NONE, HS_SYN, HS_SYNACK, HS_DONE };

struct flow {
    uint32_t client_ip;
    uint16_t client_port;
    uint8_t state; /* enum hs_state */
    uint64_t syn_ns, synack_ns;
    uint32_t synack_seq; /* server's ISN */
};

struct ent {
    uint64_t k1, k2;
    int used;
    struct flow f;
};

struct table {
    struct ent *e;
    size_t cap, n;
};

struct rtts {
    double *v;
    size_t n, cap;
};

struct ctx {
    struct trace_summary *s;
    struct table flows, segs;
    struct rtts r1, r2;
    int oom;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + (a << 6) + (a >> 2));
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 29);
}

static int table_grow(struct table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    struct ent *ne = calloc(ncap, sizeof(*ne));
    if (!ne) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->e[i].used) continue;
        size_t j = mix(t->e[i].k1, t->e[i].k2) & (ncap - 1);
        while (ne[j].used)
            j = (j + 1) & (ncap - 1);
        ne[j] = t->e[i];
    }
    free(t->e);
    t->e = ne;
    t->cap = ncap;
    return 0;
}

/* The entry for (k1, k2); *created = 1 if it is new. NULL when out of memory. */
static struct ent *table_get(struct table *t, uint64_t k1, uint64_t k2, int *created)
{
    if ((t->n + 1) * 2 > t->cap && table_grow(t) < 0) return NULL;
    size_t j = mix(k1, k2) & (t->cap - 1);
    while (t->e[j].used) {
        if (t->e[j].k1 == k1 && t->e[j].k2 == k2) {
            *created = 0;
            return &t->e[j];
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->e[j].used = 1;
    t->e[j].k1 = k1;
    t->e[j].k2 = k2;
    t->n++;
    *created = 1;
    return &t->e[j];
}

static int rtt_add(struct rtts *r, double us)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        double *nv = realloc(r->v, nc * sizeof(*nv));
        if (!nv) return -1;
        r->v = nv;
        r->cap = nc;
    }
    r->v[r->n++] = us;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void rtt_summarise(struct rtts *r, struct trace_rtt *out)
{
    memset(out, 0, sizeof(*out));
    if (!r->n) return;
    qsort(r->v, r->n, sizeof(double), cmp_double);
    out->n = r->n;
    out->min_us = r->v[0];
    out->max_us = r->v[r->n - 1];
    out->median_us = r->n % 2 ? r->v[r->n / 2] : (r->v[r->n / 2 - 1] + r->v[r->n / 2]) / 2;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* The handshake state machine of one flow, for one segment. */
static void handshake(struct ctx *c, struct flow *f, uint32_t src, uint16_t sport, uint8_t fl,
                      uint32_t seq, uint32_t ack, uint32_t paylen, uint64_t ns)
{
    int from_client = f->state != HS_NONE && src == f->client_ip && sport == f->client_port;
    if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
        if (f->state == HS_NONE || (from_client && f->state == HS_SYN)) {
            if (f->state == HS_NONE) f->syn_ns = ns; /* a retransmitted SYN keeps the first */
            f->client_ip = src;
            f->client_port = sport;
            f->state = HS_SYN;
        }
        return;
    }
    if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
        if (f->state == HS_SYN && !from_client) {
            if (rtt_add(&c->r1, (double)(ns - f->syn_ns) / 1e3) < 0) c->oom = 1;
            f->synack_ns = ns;
            f->synack_seq = seq;
            f->state = HS_SYNACK;
        }
        return;
    }
    if (f->state == HS_SYNACK && from_client && (fl & TH_ACK) && !(fl & TH_RST) &&
        ack == f->synack_seq + 1u) {
        (void)paylen;
        if (rtt_add(&c->r2, (double)(ns - f->synack_ns) / 1e3) < 0) c->oom = 1;
        f->state = HS_DONE;
        c->s->handshakes++;
    }
}

static void tcp_segment(struct ctx *c, const uint8_t *ip, uint32_t iplen_cap, uint64_t ns)
{
    struct trace_summary *s = c->s;
    uint32_t ihl = (ip[0] & 0x0f) * 4u;
    uint32_t tot = rd16(ip + 2);
    if (ihl < 20 || iplen_cap < ihl + 20 || tot < ihl + 20) {
        s->short_hdr++;
        return;
    }
    const uint8_t *th = ip + ihl;
    uint32_t doff = (th[12] >> 4) * 4u;
    if (doff < 20 || tot < ihl + doff) {
        s->short_hdr++;
        return;
    }
    s->tcp++;
    uint32_t src = rd32(ip + 12), dst = rd32(ip + 16);
    uint16_t sport = rd16(th), dport = rd16(th + 2);
    uint32_t seq = rd32(th + 4), ack = rd32(th + 8);
    uint8_t fl = th[13];
    uint32_t paylen = tot - ihl - doff;

    if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) s->syn++;
    if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) s->synack++;
    if (fl & TH_FIN) s->fin++;
    if (fl & TH_RST) s->rst++;
    if (paylen > 0) s->data++;
    if ((fl & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) == TH_ACK && paylen == 0) s->pure_ack++;

    /* Flow key: the lower (ip, port) end first. */
    uint64_t a = (uint64_t)src << 16 | sport, b = (uint64_t)dst << 16 | dport;
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    int created;
    struct ent *fe = table_get(&c->flows, lo, hi, &created);
    if (!fe) {
        c->oom = 1;
        return;
    }
    if (created) {
        s->flows++;
        memset(&fe->f, 0, sizeof(fe->f));
    }
    handshake(c, &fe->f, src, sport, fl, seq, ack, paylen, ns);

    if (paylen > 0) {
        /* Directed key: (src, sport) and (dst, dport) packed with the seq. */
        uint64_t k1 = (uint64_t)src << 32 | dst;
        uint64_t k2 = (uint64_t)sport << 48 | (uint64_t)dport << 32 | seq;
        struct ent *se = table_get(&c->segs, k1, k2, &created);
        if (!se) {
            c->oom = 1;
            return;
        }
        if (!created) s->retrans++;
    }
}

/* Offset of the IPv4 header in a frame of link type dlt, or -1 if not IPv4. */
static int ipv4_offset(int dlt, const uint8_t *p, uint32_t caplen)
{
    uint32_t off;
    uint16_t proto;
    switch (dlt) {
    case DLT_EN10MB:
        if (caplen < 14) return -1;
        off = 14;
        proto = rd16(p + 12);
        while ((proto == 0x8100 || proto == 0x88a8) && caplen >= off + 4) {
            proto = rd16(p + off + 2);
            off += 4;
        }
        return proto == 0x0800 ? (int)off : -1;
    case DLT_LINUX_SLL:
        return caplen >= 16 && rd16(p + 14) == 0x0800 ? 16 : -1;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        return caplen >= 20 && rd16(p) == 0x0800 ? 20 : -1;
#endif
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
#endif
        return caplen >= 1 && (p[0] >> 4) == 4 ? 0 : -1;
    case DLT_NULL:
        return caplen >= 4 && (p[0] == 2 || p[3] == 2) ? 4 : -1;
    default:
        return -1;
    }
}

static void one_packet(struct ctx *c, int dlt, const struct pcap_pkthdr *h, const uint8_t *p,
                       uint64_t ns)
{
    struct trace_summary *s = c->s;
    s->packets++;
    s->bytes += h->len;
    s->captured_bytes += h->caplen;
    int b = 0;
    while (b < TRACE_NBUCKETS - 1 && h->len > trace_bucket_max[b])
        b++;
    s->size_hist[b]++;
    int off = ipv4_offset(dlt, p, h->caplen);
    if (off < 0) {
        s->not_ipv4++;
        return;
    }
    s->ipv4++;
    const uint8_t *ip = p + off;
    uint32_t cap = h->caplen - (uint32_t)off;
    if (cap < 20 || (ip[0] >> 4) != 4) {
        s->short_hdr++;
        return;
    }
    if (ip[9] != 6) return;                         /* not TCP */
    if ((rd16(ip + 6) & 0x1fff) != 0) return;       /* a later fragment: no TCP header */
    tcp_segment(c, ip, cap, ns);
}

int trace_analyze(const char *path, struct trace_summary *out, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    memset(out, 0, sizeof(*out));
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!pc) {
        snprintf(err, errlen, "trace: %s: %s", path, ebuf);
        return -1;
    }
    int dlt = pcap_datalink(pc);
    const char *dn = pcap_datalink_val_to_name(dlt);
    snprintf(out->linktype, sizeof(out->linktype), "%s", dn ? dn : "?");
    if (dlt != DLT_EN10MB && dlt != DLT_LINUX_SLL && dlt != DLT_RAW && dlt != DLT_NULL
#ifdef DLT_LINUX_SLL2
        && dlt != DLT_LINUX_SLL2
#endif
#ifdef DLT_IPV4
        && dlt != DLT_IPV4
#endif
    ) {
        snprintf(err, errlen,
                 "trace: %s: link type %s (%d) not supported (Ethernet, Linux cooked, raw IP)",
                 path, out->linktype, dlt);
        pcap_close(pc);
        return -1;
    }
    struct ctx c = {.s = out};
    struct pcap_pkthdr *h;
    const u_char *p;
    uint64_t first = 0, last = 0;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &p)) == 1) {
        uint64_t ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        if (out->packets == 0) first = ns;
        last = ns;
        one_packet(&c, dlt, h, p, ns);
        if (c.oom) break;
    }
    int ret = 0;
    if (c.oom) {
        snprintf(err, errlen, "trace: %s: out of memory after %llu packets", path,
                 (unsigned long long)out->packets);
        ret = -1;
    } else if (rc == PCAP_ERROR) {
        snprintf(err, errlen, "trace: %s: after %llu packets: %s", path,
                 (unsigned long long)out->packets, pcap_geterr(pc));
        ret = -1;
    }
    out->duration_s = last > first ? (double)(last - first) / 1e9 : 0;
    out->first_s = (double)first / 1e9;
    out->last_s = (double)last / 1e9;
    rtt_summarise(&c.r1, &out->syn_synack);
    rtt_summarise(&c.r2, &out->synack_ack);
    free(c.r1.v);
    free(c.r2.v);
    free(c.flows.e);
    free(c.segs.e);
    pcap_close(pc);
    return ret;
}
