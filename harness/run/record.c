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
#include "harness/run/apps.h"
#include "harness/run/fixed_server.h"
#include "harness/run/trial.h"

#include <stdio.h>
#include <stdlib.h>
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

/* Where the DUT's loss and copies are counted (README, *Loss and copies*):
 *   retransmits, spurious_retransmits, cwnd_undos: our stack's own counters
 *     (retransmits, dsack_rcvd: the peer got the segment twice, dsack_undo:
 *     congestion cuts undone because every resend of the episode was
 *     D-SACKed), or for a kernel-socket server its namespace's TCP counters
 *     over the run (RetransSegs, TCPDSACKRecv, TCPDSACKUndo + TCPLossUndo);
 *   gen_kernel_drops: frames the generator's namespace dropped in the
 *     window (socket backlog, receive and out-of-order queues, its veth
 *     end's rx/tx drops): loss that is the wire's or the kernel's, not our
 *     stack's; machine_softnet_drops: the softnet backlog drops of the whole
 *     machine (per CPU, not per namespace: with both sides on one machine a
 *     veth frame waits in the sending CPU's backlog, so these may be the
 *     DUT's); gen_dsack_sent: segments the generator got twice (D-SACKs for
 *     data below its cumulative ACK and for data it held past a hole);
 *   copies_per_body_byte: body bytes our code copied per body byte sent:
 *     the server's staging (body_bytes_staged) plus, under our stack, the
 *     copies into the send ring and into frames, headers included (so a
 *     body written once into the frame shows as a little over 1). None for
 *     a driver whose copies are not counted (io_uring copies into its own
 *     send buffer). */
static void loss_metrics(json_t *m, json_t *client, json_t *server)
{
    json_t *dc = json_object_get(server, "driver_counters"), *sk = json_object_get(server, "kernel");
    json_t *ss = json_object_get(server, "stats");
    const char *drv = json_string_value(json_object_get(server, "driver"));
    int ours = json_object_get(dc, "tx_copy_frame_bytes") != NULL;
    if (ours) {
        json_object_set_new(m, "retransmits", json_integer((json_int_t)jnum(dc, "retransmits")));
        json_object_set_new(m, "spurious_retransmits",
                            json_integer((json_int_t)jnum(dc, "dsack_rcvd")));
        json_object_set_new(m, "cwnd_undos", json_integer((json_int_t)jnum(dc, "dsack_undo")));
    } else if (json_is_object(sk)) {
        json_object_set_new(m, "retransmits",
                            json_integer((json_int_t)jnum(sk, "tcp_retrans_segs")));
        json_object_set_new(m, "spurious_retransmits",
                            json_integer((json_int_t)jnum(sk, "tcp_dsack_recv")));
        json_object_set_new(
            m, "cwnd_undos",
            json_integer((json_int_t)(jnum(sk, "tcp_dsack_undo") + jnum(sk, "tcp_loss_undo"))));
    }
    json_t *win = json_object_get(client, "window"), *gk = json_object_get(win, "kernel");
    if (json_is_object(gk)) {
        json_t *ifc = json_object_get(win, "iface");
        double ifd = 0;
        if (ifc) {
            json_t *a = json_object_get(ifc, "start"), *b = json_object_get(ifc, "end");
            ifd = jnum(b, "rx_dropped") - jnum(a, "rx_dropped") + jnum(b, "tx_dropped") -
                  jnum(a, "tx_dropped");
        }
        double drops = jnum(gk, "tcp_backlog_drop") + jnum(gk, "tcp_rcvq_drop") +
                       jnum(gk, "tcp_ofo_drop") + ifd;
        json_object_set_new(m, "gen_kernel_drops", json_integer((json_int_t)drops));
        json_object_set_new(m, "machine_softnet_drops",
                            json_integer((json_int_t)jnum(gk, "softnet_dropped")));
        json_object_set_new(m, "gen_dsack_sent",
                            json_integer((json_int_t)(jnum(gk, "tcp_dsack_old_sent") +
                                                      jnum(gk, "tcp_dsack_ofo_sent"))));
    }
    double body = jnum(ss, "body_bytes_out");
    if (body > 0 && (ours || (drv && strcmp(drv, "kernel") == 0))) {
        double copied = jnum(ss, "body_bytes_staged");
        if (ours)
            copied += jnum(dc, "tx_copy_sndbuf_bytes") + jnum(dc, "tx_copy_frame_bytes") +
                      jnum(dc, "tx_fill_frame_bytes");
        json_object_set_new(m, "copies_per_body_byte", json_real(copied / body));
    }
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
        /* an application generator may not give every percentile (ab has
         * no p99.9): absent, never a 0 */
        if (json_object_get(lat, lk[i]) || !json_is_string(json_object_get(client, "source")))
            json_object_set_new(m, k, json_real(jnum(lat, lk[i])));
    }
    json_object_set_new(m, "requests", json_integer((json_int_t)jnum(client, "requests")));
    json_object_set_new(m, "errors", json_integer((json_int_t)jnum(client, "errors_total")));
    json_object_set_new(m, "measured_s", json_real(secs));
    if (w->mode == WL_CPS)
        json_object_set_new(m, "cps", json_real(secs > 0 ? jnum(client, "connects") / secs : 0));
    if (w->mode == WL_DOWNLOAD) json_object_set_new(m, "download_s", json_real(secs));
    double reqs = jnum(client, "requests"); /* the packet counts cover the window too */
    if (d) {
        json_object_set_new(m, "dut_rx_packets", json_integer((json_int_t)d->rx_packets));
        json_object_set_new(m, "dut_tx_packets", json_integer((json_int_t)d->tx_packets));
        if (reqs > 0)
            json_object_set_new(m, "dut_packets_per_request",
                                json_real((double)(d->rx_packets + d->tx_packets) / reqs));
    }
    json_t *ss = json_object_get(server, "stats");
    if (ss)
        json_object_set_new(m, "server_requests_parsed", json_integer((json_int_t)server_parsed(ss)));
    loss_metrics(m, client, server);
    static const char *const ck[] = {"dut_cycles_per_request", "system_cycles_per_request",
                                     "dut_cycles_per_packet", "system_cycles_per_packet",
                                     "ctx_switches_per_request", "net_rx_softirqs_per_request",
                                     "gen_util"};
    for (size_t i = 0; cpu && i < sizeof(ck) / sizeof(ck[0]); i++)
        if (json_object_get(cpu, ck[i]))
            json_object_set_new(m, ck[i], json_real(jnum(cpu, ck[i])));
    return m;
}

const char *trial_cross_check(json_t *client, json_t *server, int probe_tries, char *why,
                              size_t len)
{
    json_t *ss = json_object_get(server, "stats");
    double parsed = server_parsed(ss), got = jnum(client, "requests_total"),
           sent = jnum(client, "sent_total");
    if (got > parsed) {
        snprintf(why, len, "client counted %.0f responses but the server parsed only %.0f requests",
                 got, parsed);
        return why;
    }
    if (parsed > sent + probe_tries) {
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

/* dut = client downloads: every body byte the fixed server sent (ours:
 * stats.body_bytes_out; nginx: its access log's $body_bytes_sent) reached
 * the DUT client, less the readiness probes' (GET /bytes/1: one byte each;
 * `probes` answered, up to `tries` parsed). NULL, or why not. */
static const char *client_bytes_check(json_t *client, json_t *server, int probes, int tries,
                                      char *why, size_t len)
{
    json_t *out = json_object_get(json_object_get(server, "stats"), "body_bytes_out");
    double sent = json_number_value(out), got = jnum(client, "body_bytes");
    if (!json_is_number(out)) {
        snprintf(why, len, "the fixed server's JSON has no stats.body_bytes_out");
        return why;
    }
    if (sent < got + probes || sent > got + tries) {
        snprintf(why, len,
                 "the fixed server sent %.0f body bytes but the DUT client counted %.0f (+%d "
                 "to %d from the readiness probe)",
                 sent, got, probes, tries);
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

/* Which offloads the row's driver used: on kernel sockets the DUT
 * interface's (as ethtool showed them during the trial), under our stack
 * what it negotiated with its pktio (the server's offload_* counters). */
static json_t *driver_offloads_json(const struct trial_link *tl, const struct trial_outcome *o,
                                    json_t *server)
{
    json_t *used = json_array();
    const char *source;
    if (trial_kernel_sockets(tl->drv)) {
        static const char *const map[][2] = {{"tcp-segmentation-offload", "tso"},
                                             {"generic-segmentation-offload", "gso"},
                                             {"generic-receive-offload", "gro"},
                                             {"tx-checksumming", "tx_csum"},
                                             {"rx-checksumming", "rx_csum"}};
        json_t *dut = json_object_get(o->offloads, TOPO_NS_DUT "/" TOPO_IF_DUT);
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            const char *v = json_string_value(json_object_get(dut, map[i][0]));
            if (v && strncmp(v, "on", 2) == 0) json_array_append_new(used, json_string(map[i][1]));
        }
        source = dut ? "ethtool -k " TOPO_IF_DUT " during the trial" : "none: no ethtool reading";
    } else {
        static const char *const map[][2] = {{"offload_tso", "tso"},
                                             {"offload_tx_csum", "tx_csum"},
                                             {"offload_rx_csum", "rx_csum"}};
        json_t *dc = json_object_get(server, "driver_counters");
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (jnum(dc, map[i][0]) > 0) json_array_append_new(used, json_string(map[i][1]));
        source = dc ? "the stack's offload_* counters (negotiated with its pktio)"
                    : "none: no server counters";
    }
    return json_pack("{s:s,s:o,s:s}", "setting", o->offloads_on ? "on" : "off", "used", used,
                     "source", source);
}

/* The DUT's packets over a window, and where they were counted. */
struct dut_packets {
    int ok;
    struct topo_ifstats d;
    const char *source; /* dut_packets_source */
    const char *window; /* "generator", "harness", "server_run" */
    const char *why;    /* when !ok */
};

static uint64_t edge_delta(json_t *o, const char *k)
{
    json_t *e = json_object_get(json_object_get(o, "end"), k),
           *s = json_object_get(json_object_get(o, "start"), k);
    return (uint64_t)json_integer_value(e) - (uint64_t)json_integer_value(s);
}

/* Both edges carry the counter k, and it did not go backwards. */
static int edges_ok(json_t *o, const char *k)
{
    json_t *e = json_object_get(json_object_get(o, "end"), k),
           *s = json_object_get(json_object_get(o, "start"), k);
    return json_is_integer(e) && json_is_integer(s) &&
           json_integer_value(e) >= json_integer_value(s);
}

static void pick_packets(const struct trial_plan *p, const struct trial_outcome *o,
                         json_t *client, json_t *server, struct dut_packets *pk)
{
    json_t *win = json_object_get(client, "window");
    json_t *fr = json_object_get(win, "frames"), *ifc = json_object_get(win, "iface");
    memset(pk, 0, sizeof(*pk));
    if (p->ring && fr && edges_ok(fr, "rx") && edges_ok(fr, "tx")) {
        /* the cross-wired pair: what the generator's end sent, the DUT received */
        pk->d.rx_packets = edge_delta(fr, "tx");
        pk->d.tx_packets = edge_delta(fr, "rx");
        pk->ok = 1, pk->source = "generator_ring_peer_frames", pk->window = "generator";
    } else if (p->client && ifc && edges_ok(ifc, "rx_packets") && edges_ok(ifc, "tx_packets")) {
        /* dut = client: the DUT read its own interface (bb-dut0, whose rx a
         * veth counts from its peer's tx, whatever took the frames) */
        pk->d.rx_packets = edge_delta(ifc, "rx_packets");
        pk->d.tx_packets = edge_delta(ifc, "tx_packets");
        pk->d.rx_bytes = edge_delta(ifc, "rx_bytes");
        pk->d.tx_bytes = edge_delta(ifc, "tx_bytes");
        pk->ok = 1, pk->source = "dut_iface_at_client_edges", pk->window = "generator";
    } else if (!p->ring && ifc && edges_ok(ifc, "rx_packets") && edges_ok(ifc, "tx_packets")) {
        /* the DUT interface's peer in bb-gen: its rx is the DUT's tx */
        pk->d.rx_packets = edge_delta(ifc, "tx_packets");
        pk->d.tx_packets = edge_delta(ifc, "rx_packets");
        pk->d.rx_bytes = edge_delta(ifc, "tx_bytes");
        pk->d.tx_bytes = edge_delta(ifc, "rx_bytes");
        pk->ok = 1, pk->source = "generator_peer_iface", pk->window = "generator";
    } else if (!p->ring && !o->delta_failed) {
        pk->d = o->delta;
        pk->ok = 1, pk->source = "harness_dut_iface", pk->window = "harness";
    } else if (p->client && json_is_integer(json_object_get(
                                 json_object_get(client, "driver_counters"), "rx_frames"))) {
        /* dut = client on the tap: the interface went with the DUT process
         * before the harness could read it; the DUT's frames over its run */
        json_t *dc = json_object_get(client, "driver_counters");
        pk->d.rx_packets = (uint64_t)jnum(dc, "rx_frames");
        pk->d.tx_packets = (uint64_t)jnum(dc, "tx_frames");
        pk->ok = 1, pk->source = "client_driver_counters", pk->window = "client_run";
    } else if (p->ring && json_is_integer(json_object_get(json_object_get(server, "driver_counters"),
                                                          "rx_frames"))) {
        json_t *dc = json_object_get(server, "driver_counters");
        pk->d.rx_packets = (uint64_t)jnum(dc, "rx_frames");
        pk->d.tx_packets = (uint64_t)jnum(dc, "tx_frames");
        pk->ok = 1, pk->source = "server_driver_counters", pk->window = "server_run";
    } else {
        pk->source = "none";
        pk->why = !p->ring ? o->delta_err : "no frame counters on either side";
        if (json_string_value(json_object_get(win, "iface_error")))
            pk->why = json_string_value(json_object_get(win, "iface_error"));
    }
}

/* The CPU figures: from the generator's window snapshots, else the harness's. */
static json_t *pick_cpu(const struct trial_ctx *c, const struct trial_outcome *o, json_t *client,
                        const struct dut_packets *pk)
{
    const struct suite *s = c->suite;
    json_t *win = json_object_get(client, "window"), *cj = json_object_get(win, "cpu");
    struct cpu_snap *a = malloc(2 * sizeof(*a)), *b = a + 1;
    const char *src = NULL;
    json_t *cpu = NULL;
    if (!a) return NULL;
    if (cpuacct_snap_from_json(json_object_get(cj, "start"), a) == 0 &&
        cpuacct_snap_from_json(json_object_get(cj, "end"), b) == 0 && b->t_ns > a->t_ns)
        src = "generator";
    else if (o->cpu_b.t_ns > o->cpu_a.t_ns)
        *a = o->cpu_a, *b = o->cpu_b, src = "harness";
    if (src) {
        /* per packet only where the packets cover the same window */
        double packets = pk->ok && strcmp(pk->window, src) == 0
                             ? (double)(pk->d.rx_packets + pk->d.tx_packets)
                             : 0;
        cpu = cpuacct_json(a, b, c->tsc_hz, s->dut_cpu, s->gen_cpu, jnum(client, "requests"),
                           packets);
        json_object_set_new(cpu, "window_source", json_string(src));
        json_object_set_new(cpu, "measured_s", json_real(jnum(client, "measured_ns") / 1e9));
        if (strcmp(src, "generator") == 0 && json_object_get(win, "why_not_perf"))
            json_object_set_new(cpu, "why_not_perf", json_copy(json_object_get(win, "why_not_perf")));
    }
    free(a);
    return cpu;
}

/* Could the generator keep up? Open loop: by its late sends (it spins
 * between sends by design, so its core's use says nothing); a poll-mode
 * generator: by the share of its poll-loop cycles in iterations that moved
 * packets (the stack's poll_cycles_work, drivers/ustack/ustack.h); else by its
 * core's use. */
static void saturation(json_t *rec, const struct wl_spec *w, json_t *client, json_t *cpu,
                       int client_dut)
{
    /* with dut = client the poll counters are the DUT's: the generator side
     * is the fixed server, judged by its core's use */
    json_t *dc = client_dut ? NULL : json_object_get(client, "driver_counters");
    double work = jnum(dc, "poll_cycles_work"), idle = jnum(dc, "poll_cycles_idle");
    int sat = 0;
    const char *by = "unknown: the generator's core is not pinned";
    if (w->mode == WL_OPEN) {
        double intended = (double)w->rate * jnum(client, "measured_ns") / 1e9;
        double share = intended > 0 ? jnum(client, "late_sends") / intended : 0;
        json_object_set_new(rec, "late_send_share", json_real(share));
        sat = share > 0.01, by = "late_sends";
    } else if (work + idle > 0) {
        double share = work / (work + idle);
        json_object_set_new(rec, "generator_poll_work_share", json_real(share));
        sat = share > 0.9, by = "poll_work_share";
    } else if (cpu && json_object_get(cpu, "gen_util")) {
        sat = jnum(cpu, "gen_util") > 0.9, by = "gen_util";
    }
    json_object_set_new(rec, "generator_saturated", json_boolean(sat));
    json_object_set_new(rec, "generator_saturated_by", json_string(by));
}

/* A NULL-terminated argv as a JSON array of strings. */
static json_t *argv_json(char *const *argv)
{
    json_t *a = json_array();
    for (int i = 0; argv[i]; i++) json_array_append_new(a, json_string(argv[i]));
    return a;
}

const char *trial_dut_side(int client, enum wl_mode mode)
{
    if (!client) return "server";
    return mode == WL_DOWNLOAD ? "client (downloader)" : "client (load generator)";
}

/* dut = client: the side that stayed the same, as it ran. */
static json_t *peer_json(const struct trial_ctx *c, const struct trial_plan *p)
{
    const struct suite *s = c->suite;
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s}", "role", "server", "driver", TRIAL_GEN_DRIVER,
                          "netns", TOPO_NS_GEN, "cpu", s->gen_cpu, "listen", p->listen);
    if (!p->nginx) {
        json_object_set_new(j, "software", json_string("bypassbench serve (ours)"));
        return j;
    }
    char ver[160];
    fixed_nginx_version(ver, sizeof(ver));
    json_object_set_new(j, "software", json_string("nginx"));
    json_object_set_new(j, "version", json_string(ver));
    json_object_set_new(j, "config_source",
                        json_string(FIXED_NGINX_CONF_SOURCE " (built into bypassbench)"));
    json_t *txt = NULL;
    FILE *f = fopen(p->nginx_conf, "re");
    if (f) {
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        txt = json_stringn(buf, n);
    }
    json_object_set_new(j, "config", txt ? txt : json_string("not readable"));
    json_object_set_new(j, "config_file", json_string(p->nginx_conf));
    json_object_set_new(j, "docroot", json_string(c->www ? c->www : ""));
    json_object_set_new(j, "docroot_note",
                        json_string("files of the /bytes/N pattern, written by the harness and "
                                    "removed at the end of the run"));
    return j;
}

/* The applications of the trial (apps.h): which, their versions, command
 * lines and raw output, and where the record's figures come from. */
static json_t *app_json(const struct trial_plan *p, const struct wl_spec *w)
{
    char ver[160];
    json_t *a = json_object();
    json_object_set_new(a, "server", json_string(app_info(p->sapp)->name));
    json_object_set_new(a, "gen", json_string(app_info(p->gapp)->name));
    if (p->sapp != APP_NONE) {
        app_version(p->sapp, ver, sizeof(ver));
        json_object_set_new(a, "server_version", json_string(ver));
        json_object_set_new(a, "server_argv", argv_json(p->sargv));
        json_object_set_new(a, "server_sockets",
                            json_string(p->app_stack ? "our stack (bypassbench exec, "
                                                       "libbbpreload.so)"
                                                     : "kernel"));
        if (p->sapp == APP_NGINX) {
            char *conf = trial_app_read(p->nginx_conf, 16384);
            json_object_set_new(a, "server_config", conf ? json_string(conf) : json_null());
            free(conf);
        }
        char *log = trial_app_read(p->slog, 65536);
        json_object_set_new(a, "server_output", log ? json_string(log) : json_null());
        free(log);
    }
    if (p->gapp != APP_NONE) {
        app_version(p->gapp, ver, sizeof(ver));
        json_object_set_new(a, "gen_version", json_string(ver));
        json_object_set_new(a, "gen_argv", argv_json(p->cargv));
        json_object_set_new(a, "warmup_argv", p->wargv[0] ? argv_json(p->wargv) : json_null());
        char *out = trial_app_read(p->clog, 256 * 1024);
        json_object_set_new(a, "raw_output", out ? json_string(out) : json_null());
        free(out);
        if (p->gapp == APP_AB) {
            char *csv = trial_app_read(p->app_csv, 16384);
            json_object_set_new(a, "raw_csv", csv ? json_string(csv) : json_null());
            free(csv);
        }
        if (p->wargv[0]) {
            out = trial_app_read(p->app_wlog, 256 * 1024);
            json_object_set_new(a, "warmup_output", out ? json_string(out) : json_null());
            free(out);
        }
        json_object_set_new(a, "metrics_source",
                            json_string(p->gapp == APP_WRK ? "wrk's Lua done(): exact counts, "
                                                             "latency in us"
                                        : p->gapp == APP_AB
                                            ? "ab's report and its -e CSV (percentiles in ms, "
                                              "three decimals)"
                                            : "redis-benchmark --csv: per test; the trial's rps "
                                              "is all tests' requests over their summed times"));
    }
    const char *id;
    if (p->gapp == APP_NONE)
        id = "our generator's counts against the server's (the usual cross-check)";
    else if (p->sapp == APP_REDIS_SERVER)
        id = "redis INFO commandstats calls per command = redis-benchmark's requests per test; "
             "connections the DUT accepted (kernel TcpPassiveOpens, or the stack's) >= the "
             "client's";
    else
        id = "requests the server counted within [completed, completed + one in flight per "
             "connection] (+ probe); connections the DUT accepted (kernel TcpPassiveOpens, or "
             "the stack's) against the client's; on our stack also the bytes the server handed "
             "it against the bytes the client read";
    json_object_set_new(a, "identity_check", json_string(id));
    (void)w;
    return a;
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
    if (!o->failure && p->gapp != APP_NONE) /* an application generator's exact counts */
        o->failure = app_identity_check(
            p->sapp, p->gapp, client, server,
            p->app_stack ? json_object_get(server, "driver_counters") : NULL, o->probes,
            o->probe_tries, o->why, sizeof(o->why));
    else if (!o->failure)
        o->failure = trial_cross_check(client, server, o->probe_tries, o->why, sizeof(o->why));
    if (!o->failure && p->client && w->mode == WL_DOWNLOAD)
        o->failure = client_bytes_check(client, server, o->probes, o->probe_tries, o->why,
                                        sizeof(o->why));
    struct dut_packets pk;
    pick_packets(p, o, client, server, &pk);
    if (client) cpu = pick_cpu(c, o, client, &pk);
    /* the window's packets per the window's requests; the server's run
     * counters per the requests it served */
    struct topo_ifstats *d =
        pk.ok && strcmp(pk.window, "server_run") != 0 && strcmp(pk.window, "client_run") != 0
            ? &pk.d
            : NULL;

    json_t *wl = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", w->name, "mode",
                           wl_mode_str(w->mode), "path", w->path, "connections",
                           (json_int_t)w->connections, "pipeline", (json_int_t)w->pipeline,
                           "rate", (json_int_t)w->rate, "duration_ns", (json_int_t)w->duration_ns,
                           "warmup_ns", (json_int_t)w->warmup_ns, "requests",
                           (json_int_t)w->requests, "timeout_ns", (json_int_t)w->timeout_ns);
    json_object_set_new(wl, "dut", json_string(p->client ? "client" : "server"));
    json_t *rec = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:s,s:o,s:O}", "schema",
                            "bypassbench.trial/1", "suite", s->name, "suite_hash", s->hash,
                            "workload", wl, "driver", tl->label, "generator_driver",
                            p->ring ? tl->drv : TRIAL_GEN_DRIVER, /* dut = client: the server's */ "link", tl->link, "repeat",
                            (json_int_t)p->rep, "status", o->failure ? "failed" : "ok", "failure",
                            o->failure ? json_string(o->failure) : json_null(), "env", c->env);
    json_object_set_new(rec, "dut_iface",
                        pk.ok ? json_pack("{s:I,s:I,s:I,s:I}", "rx_packets",
                                          (json_int_t)pk.d.rx_packets, "tx_packets",
                                          (json_int_t)pk.d.tx_packets, "rx_bytes",
                                          (json_int_t)pk.d.rx_bytes, "tx_bytes",
                                          (json_int_t)pk.d.tx_bytes)
                              : json_null());
    json_object_set_new(rec, "dut_packets_source", json_string(pk.source));
    json_object_set_new(rec, "dut_packets_window", pk.ok ? json_string(pk.window) : json_null());
    if (!pk.ok) json_object_set_new(rec, "dut_packets_error", json_string(pk.why ? pk.why : "?"));
    json_t *m = client && server ? trial_metrics(w, client, server, d, cpu) : json_object();
    /* a run's counters per the requests of that run: the server's, or with
     * the client's counters (dut = client) the client's, probe excluded */
    double parsed = pk.ok && strcmp(pk.window, "client_run") == 0
                        ? jnum(client, "requests_total")
                        : server_parsed(json_object_get(server, "stats"));
    if (client && server && pk.ok && !d && parsed > 0)
        json_object_set_new(m, "dut_packets_per_request",
                            json_real((double)(pk.d.rx_packets + pk.d.tx_packets) / parsed));
    json_object_set_new(rec, "metrics", m);
    json_object_set_new(rec, "cpu", cpu ? cpu : json_null());
    json_object_set_new(rec, "netio_driver", json_string(tl->drv));
    /* which side the driver under test ran (the other side stayed the same) */
    json_object_set_new(rec, "dut", json_string(p->client ? "client" : "server"));
    json_object_set_new(rec, "dut_side", json_string(trial_dut_side(p->client, w->mode)));
    if (p->client) json_object_set_new(rec, "peer", peer_json(c, p));
    /* the exact command lines both sides ran (and the capture's), to rerun it */
    json_t *cmds = json_object();
    if (!p->ring) json_object_set_new(cmds, "server", argv_json(p->sargv));
    json_object_set_new(cmds, p->ring ? "pair" : "client", argv_json(p->cargv));
    if (p->cap_method && p->capargv[0]) json_object_set_new(cmds, "capture", argv_json(p->capargv));
    json_object_set_new(rec, "commands", cmds);
    json_object_set_new(rec, "netns",
                        p->ring     ? json_pack("{s:s}", "pair", TOPO_NS_DUT)
                        : p->client ? json_pack("{s:s,s:s}", "server", TOPO_NS_GEN, "client",
                                                TOPO_NS_DUT)
                                    : json_pack("{s:s,s:s}", "server", TOPO_NS_DUT, "client",
                                                TOPO_NS_GEN));
    /* the DUT's: the server's counters, or the client's with dut = client */
    json_object_set_new(rec, "driver_offloads", driver_offloads_json(tl, o, p->client ? client : server));
    json_object_set_new(rec, "offloads", o->offloads ? o->offloads : json_null());
    o->offloads = NULL;
    /* the suite's options for this row ([driver NAME], then a variant's);
     * what the driver applied is in server.driver_counters (cfg_*) */
    json_t *dopt = json_array();
    const char *const *dop = suite_driver_opts(s, tl->drv);
    for (int i = 0; dop && dop[i]; i++)
        json_array_append_new(dopt, json_string(dop[i]));
    dop = tl->variant[0] ? suite_driver_opts(s, tl->variant) : NULL;
    for (int i = 0; dop && dop[i]; i++)
        json_array_append_new(dopt, json_string(dop[i]));
    json_object_set_new(rec, "driver_options", dopt);
    json_object_set_new(rec, "busy_poll_sysctls",
                        o->busy_sysctls[0] ? json_string(o->busy_sysctls) : json_null());
    json_object_set_new(rec, "dut_veth_gro", o->dut_gro[0] ? json_string(o->dut_gro) : json_null());
    saturation(rec, w, client, cpu, p->client);
    if (p->cap_method)
        json_object_set_new(rec, "capture", capture_json(p, server));
    else if (s->capture)
        json_object_set_new(rec, "capture",
                            json_pack("{s:s}", "method", "none: the ring link has no capture point"));
    if (p->sapp != APP_NONE || p->gapp != APP_NONE) json_object_set_new(rec, "app", app_json(p, w));
    if (cpu && p->gapp != APP_NONE)
        json_object_set_new(cpu, "window",
                            json_string(p->wargv[0]
                                            ? "the generator application's whole measured run, "
                                              "its start to its exit (its throw-away warm-up run "
                                              "came before, outside)"
                                            : "the generator application's whole run, its start "
                                              "to its exit (no warm-up run)"));
    json_object_set_new(rec, "client", client ? client : json_null());
    json_object_set_new(rec, "server", server ? server : json_null());
    return rec;
}
