/*
 * report_json.c — the server's and the load generator's JSON documents
 * (see report_json.h), and the generator's window snapshots (report_window).
 * Callers: harness/cli/serve.c, load.c, pair.c. Calls: cpuacct.c, topo.c.
 */
#include "harness/analysis/report_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static json_t *stats_json(const struct srv_stats *st)
{
    json_t *errs = json_object();
    for (int i = 1; i < HTTP_ERR__COUNT; i++)
        if (st->parse_errors[i])
            json_object_set_new(errs, http_error_str((enum http_error)i),
                                json_integer((json_int_t)st->parse_errors[i]));
    json_t *closes = json_object();
    for (int i = 0; i < NETIO_CLOSE__COUNT; i++)
        json_object_set_new(closes, netio_close_reason_str((enum netio_close_reason)i),
                            json_integer((json_int_t)st->close_reasons[i]));
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:o,s:o}",
                     "conns_accepted", (json_int_t)st->conns_accepted, "conns_closed",
                     (json_int_t)st->conns_closed, "conns_idle_timeout",
                     (json_int_t)st->conns_idle_timeout, "conns_max_active",
                     (json_int_t)st->conns_max_active, "conns_refused",
                     (json_int_t)st->conns_refused, "requests_parsed", (json_int_t)st->requests_parsed,
                     "responses", "2xx", (json_int_t)st->responses[2], "3xx",
                     (json_int_t)st->responses[3], "4xx", (json_int_t)st->responses[4], "5xx",
                     (json_int_t)st->responses[5], "bytes_in", (json_int_t)st->bytes_in,
                     "bytes_out", (json_int_t)st->bytes_out, "body_bytes_out",
                     (json_int_t)st->body_bytes_out, "parse_errors", errs, "close_reasons", closes);
    json_object_set_new(o, "body_bytes_staged", json_integer((json_int_t)st->body_bytes_staged));
    json_object_set_new(o, "body_bytes_by_ref", json_integer((json_int_t)st->body_bytes_by_ref));
    json_object_set_new(o, "file_maps", json_integer((json_int_t)st->file_maps));
    return o;
}

static json_t *latency_json(const struct hist *h)
{
    json_t *buckets = json_array();
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        if (!h->buckets[i]) continue;
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        json_array_append_new(buckets, json_pack("[I,I,I]", (json_int_t)lo, (json_int_t)hi,
                                                 (json_int_t)h->buckets[i]));
    }
    return json_pack("{s:I,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "count", (json_int_t)h->count,
                     "mean_ns", hist_mean(h), "min_ns", (json_int_t)(h->count ? h->min_ns : 0),
                     "p50_ns", (json_int_t)hist_percentile(h, 50), "p90_ns",
                     (json_int_t)hist_percentile(h, 90), "p99_ns",
                     (json_int_t)hist_percentile(h, 99), "p999_ns",
                     (json_int_t)hist_percentile(h, 99.9), "max_ns", (json_int_t)h->max_ns,
                     "overflow", (json_int_t)h->overflow, "buckets", buckets);
}

/* rx_frames and tx_frames of io, when its driver has them. */
static int frame_counters(struct netio *io, uint64_t *rx, uint64_t *tx)
{
    struct netio_counter c[NETIO_MAX_COUNTERS];
    int n = netio_counters(io, c, NETIO_MAX_COUNTERS), got = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(c[i].name, "rx_frames") == 0) *rx = c[i].value, got |= 1;
        if (strcmp(c[i].name, "tx_frames") == 0) *tx = c[i].value, got |= 2;
    }
    return got == 3;
}

void report_window_edge(enum lg_edge e, uint64_t t_ns, void *arg)
{
    struct report_window *w = arg;
    int i = e == LG_WINDOW_START ? 0 : 1;
    if (i != w->edges) return; /* out of order: the window stays incomplete */
    /* the CPU first: it is what must sit closest to the edge */
    w->cpu_ok[i] = cpuacct_snap_hw(w->hw, &w->cpu[i]) == 0;
    if (w->io) w->frames_ok[i] = frame_counters(w->io, &w->frames[i][0], &w->frames[i][1]);
    if (w->iface)
        w->ifs_ok[i] = topo_ifstats_here(w->iface, &w->ifs[i], w->ifs_err, sizeof(w->ifs_err)) == 0;
    w->ks_ok[i] = kstats_read(&w->ks[i], w->ks_err, sizeof(w->ks_err)) == 0;
    w->t_ns[i] = t_ns;
    w->edges = i + 1;
}

static json_t *ifs_json(const struct topo_ifstats *st)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "rx_packets", (json_int_t)st->rx_packets,
                     "tx_packets", (json_int_t)st->tx_packets, "rx_bytes", (json_int_t)st->rx_bytes,
                     "tx_bytes", (json_int_t)st->tx_bytes, "rx_dropped",
                     (json_int_t)st->rx_dropped, "tx_dropped", (json_int_t)st->tx_dropped);
}

json_t *report_window_json(const struct report_window *w)
{
    json_t *j = json_pack("{s:s,s:I,s:I}", "source", "generator", "start_ns",
                          (json_int_t)w->t_ns[0], "end_ns", (json_int_t)w->t_ns[1]);
    if (w->cpu_ok[0] && w->cpu_ok[1]) {
        int hw = w->cpu[0].hw && w->cpu[1].hw;
        json_object_set_new(j, "cpu_method",
                            json_string(hw ? "perf_event_cycles" : "proc_stat_busy_x_tsc"));
        if (!hw)
            json_object_set_new(j, "why_not_perf",
                                json_string(w->hw ? "a perf counter read failed at an edge"
                                            : w->hw_why ? w->hw_why
                                                        : "not opened"));
        json_object_set_new(j, "cpu", json_pack("{s:o,s:o}", "start", cpuacct_snap_json(&w->cpu[0]),
                                                "end", cpuacct_snap_json(&w->cpu[1])));
    }
    if (w->frames_ok[0] && w->frames_ok[1])
        json_object_set_new(j, "frames",
                            json_pack("{s:{s:I,s:I},s:{s:I,s:I}}", "start", "rx",
                                      (json_int_t)w->frames[0][0], "tx",
                                      (json_int_t)w->frames[0][1], "end", "rx",
                                      (json_int_t)w->frames[1][0], "tx",
                                      (json_int_t)w->frames[1][1]));
    if (w->iface && w->ifs_ok[0] && w->ifs_ok[1])
        json_object_set_new(j, "iface", json_pack("{s:s,s:o,s:o}", "name", w->iface, "start",
                                                  ifs_json(&w->ifs[0]), "end", ifs_json(&w->ifs[1])));
    else if (w->iface)
        json_object_set_new(j, "iface_error", json_string(w->ifs_err[0] ? w->ifs_err : "not read"));
    if (w->ks_ok[0] && w->ks_ok[1])
        json_object_set_new(j, "kernel", kstats_delta_json(&w->ks[0], &w->ks[1]));
    else
        json_object_set_new(j, "kernel_error", json_string(w->ks_err[0] ? w->ks_err : "not read"));
    return j;
}

json_t *report_client_json(const struct wl_spec *s, const char *driver, const char *url,
                           const struct lg_result *r, struct netio *io, int ok,
                           const struct report_window *w)
{
    double secs = (double)r->measured_ns / 1e9;
    json_t *errs = json_object();
    for (int i = 0; i < LG_ERR__COUNT; i++)
        json_object_set_new(errs, lg_err_str((enum lg_err)i), json_integer((json_int_t)r->errors[i]));
    json_t *spec = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "mode", wl_mode_str(s->mode),
                             "path", s->path, "connections", (json_int_t)s->connections,
                             "pipeline", (json_int_t)s->pipeline, "rate", (json_int_t)s->rate,
                             "duration_ns", (json_int_t)s->duration_ns, "warmup_ns",
                             (json_int_t)s->warmup_ns, "requests", (json_int_t)s->requests,
                             "timeout_ns", (json_int_t)s->timeout_ns);
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:b}", "role", "client", "driver", driver, "url", url,
                          "spec", spec, "ok", ok);
    json_object_set_new(j, "requests", json_integer((json_int_t)r->requests));
    json_object_set_new(j, "requests_total", json_integer((json_int_t)r->requests_total));
    json_object_set_new(j, "sent_total", json_integer((json_int_t)r->sent_total));
    json_object_set_new(j, "body_bytes", json_integer((json_int_t)r->body_bytes));
    json_object_set_new(j, "bytes_in", json_integer((json_int_t)r->bytes_in));
    json_object_set_new(j, "connects", json_integer((json_int_t)r->connects));
    json_object_set_new(j, "errors", errs);
    json_object_set_new(j, "errors_total", json_integer((json_int_t)r->errors_total));
    json_object_set_new(j, "late_sends", json_integer((json_int_t)r->late_sends));
    json_object_set_new(j, "inflight_at_end", json_integer((json_int_t)r->inflight_at_end));
    json_object_set_new(j, "late_responses", json_integer((json_int_t)r->late_responses));
    json_object_set_new(j, "unsent_at_end", json_integer((json_int_t)r->unsent_at_end));
    json_object_set_new(j, "drain_ns", json_integer((json_int_t)r->drain_ns));
    json_object_set_new(j, "measured_ns", json_integer((json_int_t)r->measured_ns));
    json_object_set_new(j, "rps", json_real(secs > 0 ? (double)r->requests / secs : 0));
    json_object_set_new(j, "gbps", json_real(secs > 0 ? (double)r->body_bytes * 8 / secs / 1e9 : 0));
    json_object_set_new(j, "interrupted", json_boolean(r->interrupted));
    json_object_set_new(j, "latency", latency_json(&r->latency));
    json_object_set_new(j, "driver_counters", report_json_counters(io));
    json_object_set_new(j, "rusage", report_json_rusage());
    if (w && w->edges == 2) json_object_set_new(j, "window", report_window_json(w));
    return j;
}

json_t *report_server_json(const char *driver, const struct srv_stats *st, struct netio *io,
                           int ok)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:b}", "role", "server", "driver", driver, "stats",
                     stats_json(st), "driver_counters", report_json_counters(io), "rusage",
                     report_json_rusage(), "ok", ok);
}

json_t *report_json_counters(struct netio *io)
{
    struct netio_counter c[NETIO_MAX_COUNTERS];
    int n = netio_counters(io, c, NETIO_MAX_COUNTERS);
    json_t *o = json_object();
    for (int i = 0; i < n; i++) json_object_set_new(o, c[i].name, json_integer((json_int_t)c[i].value));
    return o;
}

int report_json_write(const char *path, json_t *j, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

json_t *report_json_rusage(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return json_pack("{s:I,s:I,s:I,s:I}", "utime_ns",
                     (json_int_t)ru.ru_utime.tv_sec * 1000000000 + ru.ru_utime.tv_usec * 1000,
                     "stime_ns",
                     (json_int_t)ru.ru_stime.tv_sec * 1000000000 + ru.ru_stime.tv_usec * 1000,
                     "voluntary_ctxsw", (json_int_t)ru.ru_nvcsw, "involuntary_ctxsw",
                     (json_int_t)ru.ru_nivcsw);
}
