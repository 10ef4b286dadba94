/*
 * kstats.c — the kernel's loss and retransmission counters (kstats.h):
 * /proc/net/softnet_stat (hex columns per CPU), /proc/net/snmp and
 * /proc/net/netstat (a header line of names, then a line of values, per
 * protocol).
 * Callers: harness/analysis/report_json.c, harness/cli/serve.c, tests.
 */
#include "harness/run/kstats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const kstat_names[KS__COUNT] = {
    [KS_SOFTNET_DROPPED] = "softnet_dropped",   [KS_SOFTNET_SQUEEZED] = "softnet_time_squeeze",
    [KS_TCP_RETRANS_SEGS] = "tcp_retrans_segs", [KS_TCP_DSACK_OLD_SENT] = "tcp_dsack_old_sent",
    [KS_TCP_DSACK_RECV] = "tcp_dsack_recv",     [KS_TCP_LOSS_PROBES] = "tcp_loss_probes",
    [KS_TCP_BACKLOG_DROP] = "tcp_backlog_drop", [KS_TCP_RCVQ_DROP] = "tcp_rcvq_drop",
    [KS_TCP_OFO_DROP] = "tcp_ofo_drop",         [KS_TCP_DSACK_OFO_SENT] = "tcp_dsack_ofo_sent",
    [KS_TCP_LISTEN_DROPS] = "tcp_listen_drops", [KS_TCP_DSACK_UNDO] = "tcp_dsack_undo",
    [KS_TCP_LOSS_UNDO] = "tcp_loss_undo",
};

/* In a "Proto: name name ...\nProto: v v ...\n" text, the value of field
 * `name` of protocol `proto`. 1 found, 0 not. */
static int field(const char *text, const char *proto, const char *name, uint64_t *out)
{
    size_t pl = strlen(proto);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, proto, pl) != 0 || l[pl] != ':') continue;
        const char *vals = strchr(l, '\n');
        if (!vals || strncmp(vals + 1, proto, pl) != 0) return 0;
        vals += 1 + pl + 1;
        const char *h = l + pl + 1;
        size_t nl = strlen(name);
        for (;;) {
            while (*h == ' ')
                h++;
            while (*vals == ' ')
                vals++;
            if (*h == '\n' || !*h || *vals == '\n' || !*vals) return 0;
            size_t hl = strcspn(h, " \n");
            if (hl == nl && strncmp(h, name, nl) == 0) {
                *out = strtoull(vals, NULL, 10); /* RetransSegs and friends: never negative */
                return 1;
            }
            h += hl;
            vals += strcspn(vals, " \n");
        }
    }
    return 0;
}

int kstats_parse(struct kstats *k, const char *softnet, const char *snmp, const char *netstat,
                 char *err, size_t errlen)
{
    memset(k, 0, sizeof(*k));
    if (!softnet || !snmp || !netstat) {
        snprintf(err, errlen, "kstats: /proc/net/%s missing",
                 !softnet ? "softnet_stat"
                 : !snmp  ? "snmp"
                          : "netstat");
        return -1;
    }
    for (const char *l = softnet; *l;) {
        unsigned long long tot, drop, sq;
        if (sscanf(l, "%llx %llx %llx", &tot, &drop, &sq) == 3) {
            k->v[KS_SOFTNET_DROPPED] += drop;
            k->v[KS_SOFTNET_SQUEEZED] += sq;
        }
        const char *nl = strchr(l, '\n');
        if (!nl) break;
        l = nl + 1;
    }
    if (!field(snmp, "Tcp", "RetransSegs", &k->v[KS_TCP_RETRANS_SEGS])) {
        snprintf(err, errlen, "kstats: /proc/net/snmp: no Tcp RetransSegs");
        return -1;
    }
    static const struct {
        enum kstat k;
        const char *name;
    } ext[] = {{KS_TCP_DSACK_OLD_SENT, "TCPDSACKOldSent"}, {KS_TCP_DSACK_RECV, "TCPDSACKRecv"},
               {KS_TCP_LOSS_PROBES, "TCPLossProbes"},      {KS_TCP_BACKLOG_DROP, "TCPBacklogDrop"},
               {KS_TCP_RCVQ_DROP, "TCPRcvQDrop"},          {KS_TCP_OFO_DROP, "TCPOFODrop"},
               {KS_TCP_DSACK_OFO_SENT, "TCPDSACKOfoSent"}, {KS_TCP_LISTEN_DROPS, "ListenDrops"},
               {KS_TCP_DSACK_UNDO, "TCPDSACKUndo"},        {KS_TCP_LOSS_UNDO, "TCPLossUndo"}};
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
        if (!field(netstat, "TcpExt", ext[i].name, &k->v[ext[i].k])) {
            snprintf(err, errlen, "kstats: /proc/net/netstat: no TcpExt %s", ext[i].name);
            return -1;
        }
    return 0;
}

/* A whole /proc file (they are small and report st_size 0), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) return NULL;
    size_t cap = 8192, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - 1 - n, f);
        if (n < cap - 1) break;
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb, cap *= 2;
    }
    if (b) b[n] = '\0';
    fclose(f);
    return b;
}

int kstats_read(struct kstats *k, char *err, size_t errlen)
{
    char *sn = slurp("/proc/net/softnet_stat"), *sp = slurp("/proc/net/snmp"),
         *ns = slurp("/proc/net/netstat");
    int r = kstats_parse(k, sn, sp, ns, err, errlen);
    free(sn);
    free(sp);
    free(ns);
    return r;
}

json_t *kstats_delta_json(const struct kstats *a, const struct kstats *b)
{
    json_t *o = json_object();
    for (int i = 0; i < KS__COUNT; i++)
        json_object_set_new(o, kstat_names[i], json_integer((json_int_t)(b->v[i] - a->v[i])));
    return o;
}
