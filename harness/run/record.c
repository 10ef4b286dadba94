/*
 * record.c — trial_record(), trial_metrics(), trial_cross_check(): one
 * trial's record (schema bypassbench.trial/1; see trial.h) from the two
 * sides' JSON documents, the DUT interface counters and the CPU snapshots
 * the life cycle took at the measured window's edges.
 *
 *   trial_record() -> load client/server JSON -> trial_cross_check()
 *     -> cpuacct_json() -> trial_metrics() -> capture summary (sidecar, or
 *     the dpdk pktio's own counters for in-process capture)
 *
 * Callers: harness/cli/run.c, tests/harness/run/test_trial.c.
 * Calls: cpuacct.c, suite.c (wl_mode_str), jansson.
 */
#include "harness/run/trial.h"

#include <stdio.h>
#include <string.h>

static json_t *load_json(const char *path)
{
    json_error_t e;
    return json_load_file(path, 0, &e);
}

static double jnum(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* The requests the server parsed (answered 2xx or not): stats.requests_parsed,
 * or stats.requests in records written before the counter was renamed. */
static double server_parsed(json_t *ss)
{
    json_t *v = json_object_get(ss, "requests_parsed");
    return json_number_value(v ? v : json_object_get(ss, "requests"));
}

json_t *trial_metrics(const struct wl_spec *w, json_t *client, json_t *server,
                      const struct topo_ifstats *d, json_t *cpu)
{
    json_t *m = json_object();
    json_t *lat = json_object_get(client, "latency");
    double secs = jnum(client, "measured_ns") / 1e9;
    json_object_set_new(m, "rps", json_real(jnum(client, "rps")));
    json_object_set_new(m, "gbps", json_real(jnum(client, "gbps")));
    static const char *const lk[] = {"p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "mean_ns"};
    for (size_t i = 0; i < sizeof(lk) / sizeof(lk[0]); i++) {
        char k[32];
        snprintf(k, sizeof(k), "lat_%s", lk[i]);
        json_object_set_new(m, k, json_real(jnum(lat, lk[i])));
    }
    json_object_set_new(m, "requests", json_integer((json_int_t)jnum(client, "requests")));
    json_object_set_new(m, "errors", json_integer((json_int_t)jnum(client, "errors_total")));
    json_object_set_new(m, "measured_s", json_real(secs));
    if (w->mode == WL_CPS)
        json_object_set_new(m, "cps", json_real(secs > 0 ? jnum(client, "connects") / secs : 0));
    if (w->mode == WL_DOWNLOAD) json_object_set_new(m, "download_s", json_real(secs));
    json_object_set_new(m, "dut_rx_packets", json_integer((json_int_t)d->rx_packets));
    json_object_set_new(m, "dut_tx_packets", json_integer((json_int_t)d->tx_packets));
    double reqs = jnum(client, "requests"); /* the packet counts cover the window too */
    if (reqs > 0)
        json_object_set_new(m, "dut_packets_per_request",
                            json_real((double)(d->rx_packets + d->tx_packets) / reqs));
    json_t *ss = json_object_get(server, "stats");
    if (ss)
        json_object_set_new(m, "server_requests_parsed", json_integer((json_int_t)server_parsed(ss)));
    static const char *const ck[] = {"dut_cycles_per_request", "system_cycles_per_request",
                                     "dut_cycles_per_packet", "system_cycles_per_packet",
                                     "ctx_switches_per_request", "net_rx_softirqs_per_request",
                                     "gen_util"};
    for (size_t i = 0; cpu && i < sizeof(ck) / sizeof(ck[0]); i++)
        if (json_object_get(cpu, ck[i]))
            json_object_set_new(m, ck[i], json_real(jnum(cpu, ck[i])));
    return m;
}

const char *trial_cross_check(json_t *client, json_t *server, int probes, char *why, size_t len)
{
    json_t *ss = json_object_get(server, "stats");
    double parsed = server_parsed(ss), got = jnum(client, "requests_total"),
           sent = jnum(client, "sent_total");
    if (got > parsed) {
        snprintf(why, len, "client counted %.0f responses but the server parsed only %.0f requests",
                 got, parsed);
        return why;
    }
    if (parsed > sent + probes) {
        snprintf(why, len, "server parsed %.0f requests but the client sent only %.0f", parsed,
                 sent);
        return why;
    }
    if (jnum(client, "errors_total") > 0) {
        /* name the kinds: "3 client errors (unanswered 2, timeout 1)" */
        int n = snprintf(why, len, "%.0f client errors", jnum(client, "errors_total"));
        const char *k, *sep = " (";
        json_t *v;
        json_object_foreach(json_object_get(client, "errors"), k, v)
        {
            if (json_number_value(v) <= 0 || n < 0 || (size_t)n >= len) continue;
            n += snprintf(why + n, len - (size_t)n, "%s%s %.0f", sep, k, json_number_value(v));
            sep = ", ";
        }
        if (*sep == ',' && n >= 0 && (size_t)n < len) snprintf(why + n, len - (size_t)n, ")");
        return why;
    }
    if (jnum(client, "requests") <= 0) {
        snprintf(why, len, "no request completed in the measured window");
        return why;
    }
    return NULL;
}

/* The capture part of the record: the method, the file, and what the
 * capture counted (its sidecar; for in-process capture the dpdk pktio's
 * counters in the server's JSON). */
static json_t *capture_json(const struct trial_plan *p, json_t *server)
{
    char side[PATH_MAX + 32];
    snprintf(side, sizeof(side), "%s.json", p->base);
    json_t *cj = load_json(side); /* libpcap and pdump write a sidecar */
    json_t *dc = json_object_get(server, "driver_counters");
    if (!cj && dc) /* in-process: the dpdk pktio counts what it wrote */
        cj = json_pack("{s:I,s:I,s:I}", "packets", (json_int_t)jnum(dc, "capture_frames"),
                       "over_count", (json_int_t)jnum(dc, "capture_over_count"), "write_errors",
                       (json_int_t)jnum(dc, "capture_write_errors"));
    return json_pack("{s:s,s:s,s:o}", "method", p->cap_method, "file", p->cap_file, "summary",
                     cj ? cj : json_null());
}

json_t *trial_record(const struct trial_ctx *c, const struct trial_plan *p,
                     const struct wl_spec *w, struct trial_outcome *o)
{
    const struct suite *s = c->suite;
    const struct trial_link *tl = &p->tl;
    json_t *client = load_json(p->cjson), *server = load_json(p->sjson), *cpu = NULL;
    if (!o->failure && (!client || !server)) {
        snprintf(o->why, sizeof(o->why), "missing %s JSON", !client ? "client" : "server");
        o->failure = o->why;
    }
    if (!o->failure) o->failure = trial_cross_check(client, server, o->probes, o->why, sizeof(o->why));
    const struct topo_ifstats *d = &o->delta;
    if (o->cpu_b.t_ns > o->cpu_a.t_ns && client)
        cpu = cpuacct_json(&o->cpu_a, &o->cpu_b, c->tsc_hz, s->dut_cpu, s->gen_cpu,
                           jnum(client, "requests"), (double)(d->rx_packets + d->tx_packets));

    json_t *wl = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", w->name, "mode",
                           wl_mode_str(w->mode), "path", w->path, "connections",
                           (json_int_t)w->connections, "pipeline", (json_int_t)w->pipeline,
                           "rate", (json_int_t)w->rate, "duration_ns", (json_int_t)w->duration_ns,
                           "warmup_ns", (json_int_t)w->warmup_ns, "requests",
                           (json_int_t)w->requests, "timeout_ns", (json_int_t)w->timeout_ns);
    json_t *rec = json_pack(
        "{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:s,s:o,s:O,s:{s:I,s:I,s:I,s:I}}", "schema",
        "bypassbench.trial/1", "suite", s->name, "suite_hash", s->hash, "workload", wl, "driver",
        tl->label, "generator_driver", p->ring ? tl->drv : TRIAL_GEN_DRIVER, "link", tl->link,
        "repeat", (json_int_t)p->rep, "status", o->failure ? "failed" : "ok", "failure",
        o->failure ? json_string(o->failure) : json_null(), "env", c->env, "dut_iface",
        "rx_packets", (json_int_t)d->rx_packets, "tx_packets", (json_int_t)d->tx_packets,
        "rx_bytes", (json_int_t)d->rx_bytes, "tx_bytes", (json_int_t)d->tx_bytes);
    json_object_set_new(rec, "metrics", client && server ? trial_metrics(w, client, server, d, cpu)
                                                         : json_object());
    json_object_set_new(rec, "cpu", cpu ? cpu : json_null());
    json_object_set_new(rec, "netio_driver", json_string(tl->drv));
    /* The DUT was not the bottleneck when the generator's core was busy. */
    json_object_set_new(rec, "generator_saturated",
                        json_boolean(cpu && jnum(cpu, "gen_util") > 0.9));
    if (p->cap_method)
        json_object_set_new(rec, "capture", capture_json(p, server));
    else if (s->capture)
        json_object_set_new(rec, "capture",
                            json_pack("{s:s}", "method", "none: the ring link has no capture point"));
    json_object_set_new(rec, "client", client ? client : json_null());
    json_object_set_new(rec, "server", server ? server : json_null());
    return rec;
}
