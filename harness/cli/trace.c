/*
 * harness/cli/trace.c — `bypassbench trace FILE [--json]`: summarise a pcap/pcapng
 * capture (DESIGN §8). Calls trace_analyze (harness/analysis/trace.c) and prints its
 * struct as text or JSON (jansson).
 */
#include "harness/analysis/trace.h"
#include "harness/cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bypassbench trace FILE [--json]\n"
               "  Summarise a pcap or pcapng file: packets, bytes, duration, frame sizes,\n"
               "  TCP flags, flows, retransmissions and handshake RTTs.\n"
               "  --json   print the summary as JSON\n");
}

static json_t *rtt_json(const struct trace_rtt *r)
{
    return json_pack("{s:I,s:f,s:f,s:f}", "n", (json_int_t)r->n, "min_us", r->min_us, "median_us",
                     r->median_us, "max_us", r->max_us);
}

static json_t *summary_json(const char *path, const struct trace_summary *s)
{
    json_t *hist = json_object();
    for (int i = 0; i < TRACE_NBUCKETS; i++) {
        char k[16];
        if (i < TRACE_NBUCKETS - 1)
            snprintf(k, sizeof(k), "le_%u", trace_bucket_max[i]);
        else
            snprintf(k, sizeof(k), "gt_%u", trace_bucket_max[TRACE_NBUCKETS - 2]);
        json_object_set_new(hist, k, json_integer((json_int_t)s->size_hist[i]));
    }
    json_t *flags = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "syn", (json_int_t)s->syn, "syn_ack",
                              (json_int_t)s->synack, "fin", (json_int_t)s->fin, "rst",
                              (json_int_t)s->rst, "pure_ack", (json_int_t)s->pure_ack, "data",
                              (json_int_t)s->data);
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:f,s:f,s:f,s:o,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:o,s:o}",
                     "file", path, "linktype", s->linktype, "packets", (json_int_t)s->packets,
                     "bytes", (json_int_t)s->bytes, "captured_bytes",
                     (json_int_t)s->captured_bytes, "duration_s", s->duration_s, "first_s",
                     s->first_s, "last_s", s->last_s, "size_hist",
                     hist, "ipv4", (json_int_t)s->ipv4, "tcp", (json_int_t)s->tcp, "not_ipv4",
                     (json_int_t)s->not_ipv4, "short_hdr", (json_int_t)s->short_hdr, "tcp_flags",
                     flags, "flows", (json_int_t)s->flows, "retransmissions",
                     (json_int_t)s->retrans, "handshakes", (json_int_t)s->handshakes,
                     "rtt_syn_synack", rtt_json(&s->syn_synack), "rtt_synack_ack",
                     rtt_json(&s->synack_ack));
}

static void print_rtt(const char *what, const struct trace_rtt *r)
{
    if (!r->n)
        printf("  %-16s none\n", what);
    else
        printf("  %-16s n=%llu  min %.1f  median %.1f  max %.1f us\n", what,
               (unsigned long long)r->n, r->min_us, r->median_us, r->max_us);
}

static void print_text(const char *path, const struct trace_summary *s)
{
    printf("%s (%s)\n", path, s->linktype);
    printf("packets      %llu\n", (unsigned long long)s->packets);
    printf("bytes        %llu (captured %llu)\n", (unsigned long long)s->bytes,
           (unsigned long long)s->captured_bytes);
    printf("duration     %.6f s (first %.6f, last %.6f)\n", s->duration_s, s->first_s,
           s->last_s);
    printf("sizes\n");
    for (int i = 0; i < TRACE_NBUCKETS; i++) {
        if (i < TRACE_NBUCKETS - 1)
            printf("  <=%-6u %llu\n", trace_bucket_max[i], (unsigned long long)s->size_hist[i]);
        else
            printf("  >%-7u %llu\n", trace_bucket_max[TRACE_NBUCKETS - 2],
                   (unsigned long long)s->size_hist[i]);
    }
    printf("ipv4         %llu (tcp %llu; not ipv4 %llu; short headers %llu)\n",
           (unsigned long long)s->ipv4, (unsigned long long)s->tcp,
           (unsigned long long)s->not_ipv4, (unsigned long long)s->short_hdr);
    printf("tcp flags    syn %llu  syn-ack %llu  fin %llu  rst %llu  pure-ack %llu  data %llu\n",
           (unsigned long long)s->syn, (unsigned long long)s->synack,
           (unsigned long long)s->fin, (unsigned long long)s->rst,
           (unsigned long long)s->pure_ack, (unsigned long long)s->data);
    printf("flows        %llu\n", (unsigned long long)s->flows);
    printf("retransmits  %llu\n", (unsigned long long)s->retrans);
    printf("handshakes   %llu\n", (unsigned long long)s->handshakes);
    print_rtt("syn->syn-ack", &s->syn_synack);
    print_rtt("syn-ack->ack", &s->synack_ack);
}

int cmd_trace(int argc, char **argv)
{
    static const struct option opts[] = {{"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    struct trace_summary s;
    char err[512];
    if (trace_analyze(path, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench trace: %s\n", err);
        return 1;
    }
    if (json) {
        json_t *j = summary_json(path, &s);
        char *txt = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(j);
        if (!txt) {
            fprintf(stderr, "bypassbench trace: cannot build JSON\n");
            return 1;
        }
        printf("%s\n", txt);
        free(txt);
    } else {
        print_text(path, &s);
    }
    return 0;
}
