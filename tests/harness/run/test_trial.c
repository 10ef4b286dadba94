/*
 * test_trial.c — harness/run/plan.c and record.c without root: the argv a
 * trial plans for each link, driver, mode and capture method; the metrics a
 * record carries and what they divide by; the cross-check that fails a trial
 * whose two sides disagree; and the record built from both sides' JSON.
 */
#include "harness/analysis/model.h"
#include "harness/analysis/report_json.h"
#include "harness/run/suite.h"
#include "harness/run/trial.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char base_ini[] = "[suite]\n"
                               "name = t\n"
                               "drivers = kernel,afpacket,dpdk,dpdk@tap,dpdk@ring\n"
                               "repeats = 1\n"
                               "dut_cpu = 1\n"
                               "gen_cpu = 0\n"
                               "duration = 2s\n"
                               "warmup = 300ms\n"
                               "%s\n"
                               "[workload ka]\n"
                               "mode = closed\n"
                               "path = /bytes/64\n"
                               "connections = 16\n"
                               "[workload op]\n"
                               "mode = open\n"
                               "path = /bytes/64\n"
                               "connections = 8\n"
                               "rate = 2k\n"
                               "[workload cp]\n"
                               "mode = cps\n"
                               "path = /bytes/64\n"
                               "connections = 4\n"
                               "[workload dl]\n"
                               "mode = download\n"
                               "path = /bytes/64m\n"
                               "connections = 1\n"
                               "requests = 1\n"
                               "%s";

static struct suite S;
static struct trial_plan P;
static int dut_has_addr = 1;
static volatile sig_atomic_t stop_flag;

static struct trial_ctx ctx(int huge_ok)
{
    return (struct trial_ctx){.suite = &S, .self = "/bin/bb", .dir = "/r", .env = NULL,
                              .tsc_hz = 1e9, .hw = NULL, .huge_ok = huge_ok,
                              .dut_has_addr = &dut_has_addr, .stop = &stop_flag};
}

static void load(const char *suite_extra, const char *tail)
{
    char text[4096], err[512] = "";
    snprintf(text, sizeof text, base_ini, suite_extra, tail);
    cr_assert_eq(suite_load_string(text, "t.ini", &S, err, sizeof err), 0, "%s", err);
}

static const struct wl_spec *wl(const char *name)
{
    for (int i = 0; i < S.nworkloads; i++)
        if (strcmp(S.workloads[i].name, name) == 0) return &S.workloads[i];
    cr_assert_fail("no workload %s", name);
    return NULL;
}

/* argv joined by spaces, for substring checks */
static const char *joined(char *const *argv)
{
    static char buf[8192];
    buf[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        if (i) strcat(buf, " ");
        strcat(buf, argv[i]);
    }
    return buf;
}

#define HAS(argv, s) cr_expect(strstr(joined(argv), s) != NULL, "'%s' lacks '%s'", joined(argv), s)
#define LACKS(argv, s) cr_expect(strstr(joined(argv), s) == NULL, "'%s' has '%s'", joined(argv), s)

static void plan(const char *wname, const char *entry, int huge_ok)
{
    struct trial_ctx c = ctx(huge_ok);
    trial_plan(&P, &c, wl(wname), entry, 2, 7);
}

Test(plan, kernel_closed_loop)
{
    load("", "");
    plan("ka", "kernel", 0);
    cr_expect_str_eq(P.tl.label, "kernel");
    cr_expect_str_eq(P.base, "/r/logs/ka-kernel-r2");
    cr_expect_str_eq(joined(P.sargv),
                     "/bin/bb serve --driver kernel --listen 198.18.0.2:8080 --idle-timeout "
                     "60000000000ns --json /r/logs/ka-kernel-r2.server.json --quiet --cpu 1");
    cr_expect_str_eq(joined(P.cargv),
                     "/bin/bb load --driver kernel --json /r/logs/ka-kernel-r2.client.json "
                     "--window-iface bb-gen0 --quiet "
                     "--connections 16 --timeout 10000000000ns --cpu 0 --pipeline 1 --duration "
                     "2000000000ns --warmup 300000000ns http://198.18.0.2:8080/bytes/64");
    cr_expect_null(P.cap_method);
    cr_expect_str_eq(P.tl.stats_ns, TOPO_NS_DUT);
    cr_expect_eq(P.tl.swap_stats, 0);
}

Test(plan, server_cache_off_reaches_both_servers)
{
    load("server_cache = off\n", "");
    plan("ka", "kernel", 0);
    HAS(P.sargv, " --no-cache");
    plan("ka", "dpdk@ring", 0);
    HAS(P.cargv, " --no-cache");
    load("", "");
    plan("ka", "kernel", 0);
    LACKS(P.sargv, "--no-cache");
}

/* A variant is its own row (label, logs) on the base driver, with the base
 * section's options and then its own; io_uring leaves the address to the
 * kernel, as the kernel driver does. */
Test(plan, driver_variant_and_io_uring)
{
    load("", "[driver kernel]\nbusy_poll_budget = 8\n[driver kernel+busypoll]\nbusy_poll = 50\n");
    plan("ka", "kernel+busypoll", 0);
    cr_expect_str_eq(P.tl.label, "kernel+busypoll");
    cr_expect_str_eq(P.tl.drv, "kernel");
    cr_expect_str_eq(P.base, "/r/logs/ka-kernel+busypoll-r2");
    HAS(P.sargv, "--driver kernel --listen");
    HAS(P.sargv, "--opt busy_poll_budget=8 --opt busy_poll=50");
    LACKS(P.sargv, "--ip");
    plan("ka", "kernel", 0);
    HAS(P.sargv, "--opt busy_poll_budget=8");
    LACKS(P.sargv, "busy_poll=50");
    plan("ka", "io_uring", 0);
    HAS(P.sargv, "--driver io_uring");
    LACKS(P.sargv, "--ip");
}

Test(plan, our_stack_owns_the_address)
{
    load("", "");
    plan("ka", "afpacket", 0);
    HAS(P.sargv, "--driver afpacket");
    HAS(P.sargv, "--iface bb-dut0 --ip 198.18.0.2/24");
    plan("ka", "dpdk", 0);
    HAS(P.sargv, "--ip 198.18.0.2/24 --opt vdev=net_af_packet0,iface=bb-dut0");
    LACKS(P.sargv, "--iface");
    /* afxdp: our stack on the same veth end (the kernel keeps its address) */
    plan("ka", "afxdp", 0);
    cr_expect_str_eq(P.tl.label, "afxdp");
    HAS(P.sargv, "--driver afxdp");
    HAS(P.sargv, "--iface bb-dut0 --ip 198.18.0.2/24");
    LACKS(P.sargv, "vdev=");
}

Test(plan, tap_link)
{
    load("", "");
    plan("ka", "dpdk@tap", 0);
    cr_expect_str_eq(P.tl.label, "dpdk-tap");
    cr_expect(P.tap && !P.ring);
    HAS(P.sargv, "--listen 198.18.1.2:8080");
    HAS(P.sargv, "--opt vdev=net_tap0,iface=bb-tap0");
    HAS(P.cargv, "http://198.18.1.2:8080/bytes/64");
    /* the DUT's counters are read on the tap's kernel side, in bb-gen, swapped */
    cr_expect_str_eq(P.tl.stats_ns, TOPO_NS_GEN);
    cr_expect_str_eq(P.tl.stats_if, TRIAL_TAP_IF);
    cr_expect_eq(P.tl.swap_stats, 1);
    /* ... and by the generator at its window's edges, in its own namespace */
    HAS(P.cargv, "--window-iface bb-tap0");
}

Test(plan, ring_link_is_one_pair_process)
{
    load("", "");
    plan("ka", "dpdk@ring", 0);
    cr_expect_str_eq(P.tl.label, "dpdk-ring");
    cr_expect(P.ring);
    cr_expect_str_eq(P.cargv[1], "pair");
    HAS(P.cargv, "--server-json /r/logs/ka-dpdk-ring-r2.server.json");
    HAS(P.cargv, "--dut-cpu 1");
    HAS(P.cargv, "--gen-cpu 0");
    HAS(P.cargv, "--path /bytes/64");
    LACKS(P.cargv, "http://");
    LACKS(P.cargv, "--driver");
    LACKS(P.cargv, "--window-iface"); /* its own ring end is the DUT's peer */
}

/* dpdk@xdp: the veth, the DPDK port on it net_af_xdp instead of net_af_packet */
Test(plan, xdp_link)
{
    load("", "");
    plan("ka", "dpdk@xdp", 0);
    cr_expect_str_eq(P.tl.label, "dpdk-xdp");
    cr_expect(P.xdp && !P.tap && !P.ring);
    HAS(P.sargv, "--ip 198.18.0.2/24 --opt vdev=net_af_xdp0,iface=bb-dut0");
    LACKS(P.sargv, "net_af_packet0");
    HAS(P.cargv, "--window-iface bb-gen0");
    cr_expect_str_eq(P.tl.stats_ns, TOPO_NS_DUT);
    cr_expect_str_eq(P.tl.stats_if, TOPO_IF_DUT);
}

Test(plan, a_suite_port_is_kept)
{
    load("", "[driver dpdk]\nvdev = net_af_xdp0,iface=bb-dut0\n");
    plan("ka", "dpdk", 0);
    HAS(P.sargv, "--opt vdev=net_af_xdp0,iface=bb-dut0");
    LACKS(P.sargv, "net_af_packet0");
}

Test(plan, modes)
{
    load("", "");
    plan("op", "kernel", 0);
    HAS(P.cargv, "--rate 2000 --pipeline 1 --duration");
    plan("cp", "kernel", 0);
    HAS(P.cargv, "--close --duration");
    LACKS(P.cargv, "--pipeline");
    plan("dl", "kernel", 0);
    HAS(P.cargv, "--download --requests 1 http://198.18.0.2:8080/bytes/64m");
    LACKS(P.cargv, "--duration");
    LACKS(P.cargv, "--warmup");
}

Test(plan, capture_methods)
{
    load("capture = on", "");
    plan("ka", "kernel", 0);
    cr_expect_str_eq(P.cap_method, "libpcap");
    cr_expect_str_eq(P.cap_file, "/r/logs/ka-kernel-r2.pcap");
    cr_expect_str_eq(joined(P.capargv),
                     "/bin/bb capture --iface bb-dut0 --cpu 1 --out /r/logs/ka-kernel-r2.pcap "
                     "--snaplen 128 --count 2000000 --ready /r/logs/ka-kernel-r2.capture.ready");
    plan("ka", "dpdk", 1); /* hugepages: a pdump secondary with the trial's own prefix */
    cr_expect_str_eq(P.cap_method, "pdump");
    HAS(P.sargv, "--opt pdump=1 --opt file_prefix=bbdut7");
    HAS(P.capargv, "pdump --file-prefix bbdut7 --cpu 1 --out /r/logs/ka-dpdk-r2.pcapng");
    plan("ka", "dpdk", 0); /* no hugepages: in-process rte_pcapng */
    cr_expect_str_eq(P.cap_method, "in-process rte_pcapng");
    HAS(P.sargv, "--opt capture=/r/logs/ka-dpdk-r2.pcapng --opt capture_count=2000000 --opt "
                 "capture_snaplen=128");
    plan("ka", "dpdk@ring", 1); /* the ring has no capture point */
    cr_expect_null(P.cap_method);
}

/* ---- metrics and the cross-check ---------------------------------------- */

static json_t *client_doc(double requests, double total, double sent, double errors)
{
    return json_pack("{s:f,s:f,s:{s:f,s:f,s:f,s:f,s:f,s:f},s:f,s:f,s:f,s:f,s:f,s:f}", "rps",
                     requests / 2.0, "gbps", 0.5, "latency", "p50_ns", 100.0, "p90_ns", 200.0,
                     "p99_ns", 300.0, "p999_ns", 400.0, "max_ns", 500.0, "mean_ns", 150.0,
                     "requests", requests, "requests_total", total, "sent_total", sent,
                     "errors_total", errors, "measured_ns", 2e9, "connects", 64.0);
}

static json_t *server_doc(double requests)
{
    return json_pack("{s:{s:f}}", "stats", "requests_parsed", requests);
}

Test(metrics, what_each_divides_by)
{
    load("", "");
    json_t *c = client_doc(1000, 1100, 1100, 0), *s = server_doc(1101);
    struct topo_ifstats d = {.rx_packets = 1500, .tx_packets = 500};
    json_t *cpu = json_pack("{s:f,s:f}", "system_cycles_per_request", 5000.0, "gen_util", 0.5);
    json_t *m = trial_metrics(wl("cp"), c, s, &d, cpu);
    cr_expect_float_eq(json_real_value(json_object_get(m, "rps")), 500.0, 1e-9);
    cr_expect_float_eq(json_real_value(json_object_get(m, "measured_s")), 2.0, 1e-9);
    /* connections per second over the measured window */
    cr_expect_float_eq(json_real_value(json_object_get(m, "cps")), 32.0, 1e-9);
    /* packets over the window per request completed in the window */
    cr_expect_float_eq(json_real_value(json_object_get(m, "dut_packets_per_request")), 2.0, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(m, "server_requests_parsed")), 1101);
    cr_expect_null(json_object_get(m, "server_requests"), "renamed: it counts requests parsed");
    cr_expect_float_eq(json_real_value(json_object_get(m, "lat_p99_ns")), 300.0, 1e-9);
    cr_expect_float_eq(json_real_value(json_object_get(m, "system_cycles_per_request")), 5000.0,
                       1e-9);
    cr_expect_null(json_object_get(m, "dut_cycles_per_request"), "a figure the CPU did not give");
    cr_expect_null(json_object_get(m, "download_s"));
    json_decref(m);
    m = trial_metrics(wl("dl"), c, s, &d, NULL);
    cr_expect_float_eq(json_real_value(json_object_get(m, "download_s")), 2.0, 1e-9);
    cr_expect_null(json_object_get(m, "cps"));
    cr_expect_null(json_object_get(m, "gen_util"));
    json_decref(m);
    json_decref(c), json_decref(s), json_decref(cpu);
}

Test(metrics, no_packets_no_packet_figure)
{
    load("", "");
    json_t *c = client_doc(1000, 1100, 1100, 0), *s = server_doc(1101);
    json_t *m = trial_metrics(wl("ka"), c, s, NULL, NULL);
    cr_expect_null(json_object_get(m, "dut_packets_per_request"));
    cr_expect_null(json_object_get(m, "dut_rx_packets"));
    json_decref(m), json_decref(c), json_decref(s);
}

Test(metrics, no_request_no_per_request_figure)
{
    load("", "");
    json_t *c = client_doc(0, 0, 0, 0), *s = server_doc(0);
    struct topo_ifstats d = {.rx_packets = 10};
    json_t *m = trial_metrics(wl("ka"), c, s, &d, NULL);
    cr_expect_null(json_object_get(m, "dut_packets_per_request"));
    json_decref(m), json_decref(c), json_decref(s);
}

/* Where the loss is counted reaches the record: our stack's retransmissions
 * and D-SACKs, the generator kernel's drops (softnet backlog, socket queues,
 * its veth end), and the copies per body byte. */
Test(metrics, loss_and_copies_reach_the_record)
{
    load("", "");
    json_t *c = client_doc(1000, 1100, 1100, 0);
    json_object_set_new(
        c, "window",
        json_pack("{s:{s:f,s:f,s:f,s:f,s:f,s:f},s:{s:{s:f,s:f},s:{s:f,s:f}}}", "kernel",
                  "softnet_dropped", 3.0, "tcp_backlog_drop", 1.0, "tcp_rcvq_drop", 0.0,
                  "tcp_ofo_drop", 2.0, "tcp_dsack_old_sent", 7.0, "tcp_dsack_ofo_sent", 5.0,
                  "iface", "start", "rx_dropped",
                  10.0, "tx_dropped", 0.0, "end", "rx_dropped", 14.0, "tx_dropped", 1.0));
    json_t *s = json_pack("{s:s,s:{s:f,s:f,s:f},s:{s:f,s:f,s:f,s:f,s:f,s:f}}", "driver", "afpacket",
                          "stats", "requests_parsed", 1101.0, "body_bytes_out", 1000000.0,
                          "body_bytes_staged", 0.0, "driver_counters", "retransmits", 9.0,
                          "dsack_rcvd", 7.0, "dsack_undo", 2.0, "tx_copy_sndbuf_bytes", 2000.0,
                          "tx_copy_frame_bytes", 2000.0, "tx_fill_frame_bytes", 1000000.0);
    json_t *m = trial_metrics(wl("ka"), c, s, NULL, NULL);
    cr_expect_eq(json_integer_value(json_object_get(m, "retransmits")), 9);
    cr_expect_eq(json_integer_value(json_object_get(m, "spurious_retransmits")), 7);
    cr_expect_eq(json_integer_value(json_object_get(m, "cwnd_undos")), 2);
    /* the namespace's drops and its veth end's; softnet's are the machine's */
    cr_expect_eq(json_integer_value(json_object_get(m, "gen_kernel_drops")), 1 + 2 + 4 + 1);
    cr_expect_eq(json_integer_value(json_object_get(m, "machine_softnet_drops")), 3);
    cr_expect_eq(json_integer_value(json_object_get(m, "gen_dsack_sent")), 7 + 5);
    cr_expect_float_eq(json_real_value(json_object_get(m, "copies_per_body_byte")), 1.004, 1e-9);
    json_decref(m), json_decref(s);
    /* a kernel-socket server: its namespace's TCP counters; copies are the
     * server's staging only (the kernel's copy is not ours) */
    s = json_pack("{s:s,s:{s:f,s:f,s:f},s:{},s:{s:f,s:f,s:f,s:f}}", "driver", "kernel", "stats",
                  "requests_parsed", 1101.0, "body_bytes_out", 1000.0, "body_bytes_staged", 500.0,
                  "driver_counters", "kernel", "tcp_retrans_segs", 4.0, "tcp_dsack_recv", 1.0,
                  "tcp_dsack_undo", 1.0, "tcp_loss_undo", 2.0);
    m = trial_metrics(wl("ka"), c, s, NULL, NULL);
    cr_expect_eq(json_integer_value(json_object_get(m, "retransmits")), 4);
    cr_expect_eq(json_integer_value(json_object_get(m, "spurious_retransmits")), 1);
    cr_expect_eq(json_integer_value(json_object_get(m, "cwnd_undos")), 1 + 2);
    cr_expect_float_eq(json_real_value(json_object_get(m, "copies_per_body_byte")), 0.5, 1e-9);
    json_decref(m), json_decref(s);
    /* io_uring copies into its own buffer, uncounted: no figure rather than a wrong one */
    s = json_pack("{s:s,s:{s:f,s:f}}", "driver", "io_uring", "stats", "requests_parsed", 1101.0,
                  "body_bytes_out", 1000.0);
    m = trial_metrics(wl("ka"), c, s, NULL, NULL);
    cr_expect_null(json_object_get(m, "copies_per_body_byte"));
    cr_expect_null(json_object_get(m, "retransmits"));
    json_decref(m), json_decref(s), json_decref(c);
}

Test(cross_check, the_sides_must_agree)
{
    char why[256];
    struct {
        double req, total, sent, err, served;
        int probes;
        const char *want; /* NULL: agree */
    } cases[] = {
        {100, 120, 120, 0, 120, 0, NULL},
        {100, 120, 120, 0, 121, 1, NULL}, /* the readiness probe */
        {100, 120, 120, 0, 121, 0, "the client sent only 120"},
        {100, 120, 120, 0, 119, 1, "the server parsed only 119"},
        {100, 120, 120, 3, 120, 1, "3 client errors"},
        {0, 0, 5, 0, 5, 1, "no request completed in the measured window"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *c = client_doc(cases[i].req, cases[i].total, cases[i].sent, cases[i].err);
        json_t *s = server_doc(cases[i].served);
        const char *got = trial_cross_check(c, s, cases[i].probes, why, sizeof why);
        if (!cases[i].want)
            cr_expect_null(got, "case %zu: %s", i, got);
        else
            cr_expect(got && strstr(got, cases[i].want), "case %zu: '%s', want '%s'", i,
                      got ? got : "(agree)", cases[i].want);
        json_decref(c), json_decref(s);
    }
}

/* Records written before the rename carry stats.requests: still read. */
Test(cross_check, reads_the_old_server_counter_name)
{
    char why[256];
    load("", "");
    json_t *c = client_doc(100, 120, 120, 0);
    json_t *old = json_pack("{s:{s:f}}", "stats", "requests", 119.0);
    const char *got = trial_cross_check(c, old, 1, why, sizeof why);
    cr_expect(got && strstr(got, "the server parsed only 119"), "'%s'", got ? got : "(agree)");
    json_t *m = trial_metrics(wl("ka"), c, old, &(struct topo_ifstats){0}, NULL);
    cr_expect_eq(json_integer_value(json_object_get(m, "server_requests_parsed")), 119);
    json_decref(m), json_decref(old), json_decref(c);
}

/* A request the server never answered fails the trial, and the reason says so. */
Test(cross_check, unanswered_requests_fail_the_trial)
{
    char why[256];
    json_t *c = client_doc(100, 103, 104, 1);
    json_object_set_new(c, "errors", json_pack("{s:i,s:i}", "unanswered", 1, "timeout", 0));
    json_t *s = server_doc(104);
    const char *got = trial_cross_check(c, s, 0, why, sizeof why);
    cr_expect(got && strstr(got, "1 client errors") && strstr(got, "unanswered 1"), "'%s'",
              got ? got : "(agree)");
    json_decref(c), json_decref(s);
}

/* ---- the record ------------------------------------------------------------ */

static char dir[64];

static void write_doc(const char *path, json_t *j)
{
    cr_assert_eq(json_dump_file(j, path, 0), 0, "%s", path);
    json_decref(j);
}

static int argc_of(char *const *argv)
{
    int n = 0;
    while (argv[n]) n++;
    return n;
}

Test(record, built_from_both_sides)
{
    load("", "");
    strcpy(dir, "/tmp/bbtrialXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char logs[128];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    mkdir(logs, 0755);
    struct trial_ctx c = ctx(0);
    c.dir = dir;
    c.env = json_pack("{s:s}", "kernel", "test");
    trial_plan(&P, &c, wl("ka"), "dpdk@tap", 3, 1);
    struct trial_outcome o = {.probes = 1, .probe_tries = 1, .delta = {.rx_packets = 300, .tx_packets = 100}};
    write_doc(P.cjson, client_doc(100, 120, 120, 0));
    write_doc(P.sjson, server_doc(121));
    json_t *rec = trial_record(&c, &P, wl("ka"), &o);
    cr_expect_null(o.failure, "%s", o.failure);
    cr_expect_str_eq(json_string_value(json_object_get(rec, "status")), "ok");
    cr_expect_str_eq(json_string_value(json_object_get(rec, "driver")), "dpdk-tap");
    cr_expect_str_eq(json_string_value(json_object_get(rec, "link")), "tap");
    cr_expect_str_eq(json_string_value(json_object_get(rec, "generator_driver")), "kernel");
    cr_expect_eq(json_integer_value(json_object_get(rec, "repeat")), 3);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(rec, "dut_iface"), "rx_packets")),
                 300);
    cr_expect(json_is_null(json_object_get(rec, "cpu")), "no CPU snapshots, no CPU figures");
    json_t *m = json_object_get(rec, "metrics");
    cr_expect_float_eq(json_real_value(json_object_get(m, "dut_packets_per_request")), 4.0, 1e-9);
    cr_expect_null(json_object_get(rec, "capture"));
    /* the exact command lines, to rerun the trial */
    json_t *cmds = json_object_get(rec, "commands");
    json_t *sv = json_object_get(cmds, "server"), *cl = json_object_get(cmds, "client");
    cr_assert(json_is_array(sv) && json_is_array(cl));
    cr_expect_eq(json_array_size(sv), (size_t)argc_of(P.sargv));
    cr_expect_eq(json_array_size(cl), (size_t)argc_of(P.cargv));
    for (size_t i = 0; i < json_array_size(cl); i++)
        cr_expect_str_eq(json_string_value(json_array_get(cl, i)), P.cargv[i]);
    cr_expect_str_eq(json_string_value(json_array_get(sv, 1)), "serve");
    json_decref(rec);

    /* the server served one more than was sent and no probe answered: failed */
    o = (struct trial_outcome){.probes = 0};
    rec = trial_record(&c, &P, wl("ka"), &o);
    cr_expect_str_eq(json_string_value(json_object_get(rec, "status")), "failed");
    cr_expect(o.failure && strstr(o.failure, "the client sent only 120"), "%s", o.failure);
    json_decref(rec);

    /* the server's JSON is missing: failed, saying which */
    unlink(P.sjson);
    o = (struct trial_outcome){.probes = 1, .probe_tries = 1};
    rec = trial_record(&c, &P, wl("ka"), &o);
    cr_expect_str_eq(json_string_value(json_object_get(rec, "failure")), "missing server JSON");
    cr_expect_eq(json_object_size(json_object_get(rec, "metrics")), 0);
    json_decref(rec);

    /* a failure the life cycle saw is kept, not replaced by the cross-check */
    write_doc(P.sjson, server_doc(121));
    o = (struct trial_outcome){.probes = 1, .probe_tries = 1};
    snprintf(o.why, sizeof o.why, "generator failed (status 1)");
    o.failure = o.why;
    rec = trial_record(&c, &P, wl("ka"), &o);
    cr_expect_str_eq(json_string_value(json_object_get(rec, "failure")), "generator failed (status 1)");
    json_decref(rec);
    json_decref(c.env);
    unlink(P.cjson);
    unlink(P.sjson);
    rmdir(logs);
    rmdir(dir);
}

/* ---- the window: the generator's own snapshots ------------------------------ */

static struct trial_ctx rctx;

/* A trial dir with logs/, and the plan of workload wname on entry. */
static void record_setup(const char *wname, const char *entry)
{
    load("", "");
    strcpy(dir, "/tmp/bbtrialXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char logs[128];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    mkdir(logs, 0755);
    rctx = ctx(0);
    rctx.dir = dir;
    rctx.env = json_pack("{s:s}", "kernel", "test");
    trial_plan(&P, &rctx, wl(wname), entry, 1, 1);
}

static void record_teardown(void)
{
    char logs[128];
    json_decref(rctx.env);
    unlink(P.cjson);
    unlink(P.sjson);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    rmdir(logs);
    rmdir(dir);
}

/* Two CPUs; the DUT (cpu 1) busy 80 jiffies, the generator (cpu 0) 40,
 * over span_ns starting at t0. */
static void snaps(struct cpu_snap *a, struct cpu_snap *b, uint64_t t0, uint64_t span_ns)
{
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    a->ncpu = b->ncpu = 2;
    a->t_ns = t0, b->t_ns = t0 + span_ns;
    a->busy[0] = 1000, b->busy[0] = 1040;
    a->busy[1] = 2000, b->busy[1] = 2080;
    a->total[0] = a->total[1] = 5000;
    b->total[0] = b->total[1] = 5000 + span_ns / 10000000;
}

/* The generator's `window` as load/pair write it: through report_window_json. */
static json_t *gen_window(uint64_t span_ns, const struct topo_ifstats *if_a,
                          const struct topo_ifstats *if_b, const uint64_t frames[2][2])
{
    struct report_window w;
    memset(&w, 0, sizeof w);
    w.hw_why = "perf_event_open(cycles, cpu 0): No such file or directory";
    w.edges = 2;
    w.t_ns[0] = 5000000000ull, w.t_ns[1] = 5000000000ull + span_ns;
    snaps(&w.cpu[0], &w.cpu[1], 5000000100ull, span_ns);
    w.cpu_ok[0] = w.cpu_ok[1] = 1;
    if (if_a) {
        w.iface = "bb-gen0";
        w.ifs[0] = *if_a, w.ifs[1] = *if_b;
        w.ifs_ok[0] = w.ifs_ok[1] = 1;
    }
    if (frames) {
        memcpy(w.frames, frames, sizeof w.frames);
        w.frames_ok[0] = w.frames_ok[1] = 1;
    }
    return report_window_json(&w);
}

static const char *rstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static double rnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_number(v), "%s: not a number", k);
    return json_number_value(v);
}

Test(record, cpu_and_packets_from_the_generators_window)
{
    record_setup("ka", "kernel");
    json_t *cl = client_doc(1000, 1200, 1200, 0); /* measured_ns 2 s */
    struct topo_ifstats ia = {.rx_packets = 100, .tx_packets = 1000},
                        ib = {.rx_packets = 2100, .tx_packets = 4000};
    json_object_set_new(cl, "window", gen_window(2000000000ull, &ia, &ib, NULL));
    write_doc(P.cjson, cl);
    write_doc(P.sjson, server_doc(1201));
    /* the harness's own span is longer (warm-up end to the generator's exit)
     * and its interface counters differ: neither may be used */
    struct trial_outcome o = {.probes = 1, .probe_tries = 1, .delta = {.rx_packets = 9999, .tx_packets = 9999}};
    snaps(&o.cpu_a, &o.cpu_b, 1000, 2400000000ull);
    o.cpu_b.busy[1] += 500;
    json_t *rec = trial_record(&rctx, &P, wl("ka"), &o);
    cr_expect_null(o.failure, "%s", o.failure);
    json_t *cpu = json_object_get(rec, "cpu"), *m = json_object_get(rec, "metrics");
    cr_assert(json_is_object(cpu));
    cr_expect_str_eq(rstr(cpu, "window_source"), "generator");
    cr_expect_float_eq(rnum(cpu, "window_s"), rnum(m, "measured_s"), 1e-3);
    cr_expect_float_eq(rnum(cpu, "measured_s"), 2.0, 1e-9);
    cr_expect_str_eq(rstr(cpu, "method"), "proc_stat_busy_x_tsc");
    cr_expect(rstr(cpu, "why_not_perf") && strstr(rstr(cpu, "why_not_perf"), "perf_event_open"));
    double hz = (double)sysconf(_SC_CLK_TCK);
    cr_expect_float_eq(rnum(cpu, "dut_cycles"), 80 / hz * 1e9, 1e-3);
    /* the peer's rx is the DUT's tx: DUT rx 3000, tx 2000 */
    cr_expect_str_eq(rstr(rec, "dut_packets_source"), "generator_peer_iface");
    cr_expect_str_eq(rstr(rec, "dut_packets_window"), "generator");
    json_t *di = json_object_get(rec, "dut_iface");
    cr_expect_eq(json_integer_value(json_object_get(di, "rx_packets")), 3000);
    cr_expect_eq(json_integer_value(json_object_get(di, "tx_packets")), 2000);
    cr_expect_float_eq(rnum(m, "dut_packets_per_request"), 5.0, 1e-9);
    /* same window for cycles and packets: the per-packet figure is there */
    cr_expect_float_eq(rnum(cpu, "dut_cycles_per_packet"), 80 / hz * 1e9 / 5000, 1e-6);
    cr_expect_float_eq(rnum(m, "dut_cycles_per_request"), 80 / hz * 1e9 / 1000, 1e-6);
    json_decref(rec);
    record_teardown();
}

Test(record, harness_fallback_says_so_and_keeps_windows_apart)
{
    record_setup("ka", "kernel");
    json_t *cl = client_doc(1000, 1200, 1200, 0);
    struct topo_ifstats ia = {.rx_packets = 100}, ib = {.rx_packets = 50}; /* went backwards */
    json_t *win = gen_window(2000000000ull, &ia, &ib, NULL);
    json_object_del(win, "cpu"); /* the generator's snapshots are missing */
    json_object_set_new(cl, "window", win);
    write_doc(P.cjson, cl);
    write_doc(P.sjson, server_doc(1201));
    struct trial_outcome o = {.probes = 1, .probe_tries = 1, .delta = {.rx_packets = 300, .tx_packets = 100}};
    snaps(&o.cpu_a, &o.cpu_b, 1000, 2400000000ull);
    json_t *rec = trial_record(&rctx, &P, wl("ka"), &o);
    json_t *cpu = json_object_get(rec, "cpu"), *m = json_object_get(rec, "metrics");
    cr_expect_str_eq(rstr(cpu, "window_source"), "harness");
    cr_expect_float_eq(rnum(cpu, "window_s"), 2.4, 1e-9);
    cr_expect_str_eq(rstr(rec, "dut_packets_source"), "harness_dut_iface");
    cr_expect_str_eq(rstr(rec, "dut_packets_window"), "harness");
    cr_expect_float_eq(rnum(m, "dut_packets_per_request"), 0.4, 1e-9);
    cr_expect_not_null(json_object_get(cpu, "dut_cycles_per_packet"), "harness CPU, harness packets");
    json_decref(rec);

    /* generator CPU but harness packets: two windows, so no per-packet cycles */
    cl = client_doc(1000, 1200, 1200, 0);
    json_object_set_new(cl, "window", gen_window(2000000000ull, NULL, NULL, NULL));
    write_doc(P.cjson, cl);
    rec = trial_record(&rctx, &P, wl("ka"), &o);
    cpu = json_object_get(rec, "cpu");
    cr_expect_str_eq(rstr(cpu, "window_source"), "generator");
    cr_expect_str_eq(rstr(rec, "dut_packets_window"), "harness");
    cr_expect_null(json_object_get(cpu, "dut_cycles_per_packet"));
    cr_expect_null(json_object_get(cpu, "system_cycles_per_packet"));
    cr_expect_not_null(json_object_get(cpu, "dut_cycles_per_request"));
    json_decref(rec);
    record_teardown();
}

Test(record, failed_interface_read_is_absent_not_wrapped)
{
    record_setup("ka", "kernel");
    write_doc(P.cjson, client_doc(1000, 1200, 1200, 0));
    write_doc(P.sjson, server_doc(1201));
    /* what trial_execute leaves when the second read failed: no delta */
    struct trial_outcome o = {.probes = 1, .probe_tries = 1, .delta_failed = 1};
    snprintf(o.delta_err, sizeof o.delta_err, "ifstats: no interface bb-dut0 in netns bb-dut");
    o.delta.rx_packets = (uint64_t)0 - 12345; /* a wrapped difference must not show */
    json_t *rec = trial_record(&rctx, &P, wl("ka"), &o);
    json_t *m = json_object_get(rec, "metrics");
    cr_expect(json_is_null(json_object_get(rec, "dut_iface")));
    cr_expect_str_eq(rstr(rec, "dut_packets_source"), "none");
    cr_expect(strstr(rstr(rec, "dut_packets_error"), "no interface bb-dut0"));
    cr_expect_null(json_object_get(m, "dut_packets_per_request"));
    cr_expect_null(json_object_get(m, "dut_rx_packets"));
    json_decref(rec);
    record_teardown();
}

Test(record, ring_packets_from_driver_frame_counters)
{
    record_setup("ka", "dpdk@ring");
    json_t *cl = client_doc(1000, 1200, 1200, 0);
    const uint64_t fr[2][2] = {{500, 600}, {2500, 3600}}; /* generator end: rx 2000, tx 3000 */
    json_object_set_new(cl, "window", gen_window(2000000000ull, NULL, NULL, fr));
    write_doc(P.cjson, cl);
    json_t *sv = server_doc(1200); /* no readiness probe on the ring */
    json_object_set_new(sv, "driver_counters",
                        json_pack("{s:I,s:I}", "rx_frames", (json_int_t)7000, "tx_frames",
                                  (json_int_t)6000));
    write_doc(P.sjson, json_deep_copy(sv));
    struct trial_outcome o = {.probes = 0, .delta_failed = 1};
    snprintf(o.delta_err, sizeof o.delta_err, "the ring link has no interface");
    json_t *rec = trial_record(&rctx, &P, wl("ka"), &o);
    cr_expect_null(o.failure, "%s", o.failure);
    json_t *m = json_object_get(rec, "metrics");
    cr_expect_str_eq(rstr(rec, "dut_packets_source"), "generator_ring_peer_frames");
    cr_expect_float_eq(rnum(m, "dut_packets_per_request"), 5.0, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(rec, "dut_iface"), "rx_packets")),
                 3000);
    cr_expect_not_null(json_object_get(json_object_get(rec, "cpu"), "dut_cycles_per_packet"));
    json_decref(rec);

    /* no window frames: the server's counters over its whole run, per request it served */
    write_doc(P.cjson, client_doc(1000, 1200, 1200, 0));
    o = (struct trial_outcome){.probes = 0, .delta_failed = 1};
    rec = trial_record(&rctx, &P, wl("ka"), &o);
    m = json_object_get(rec, "metrics");
    cr_expect_str_eq(rstr(rec, "dut_packets_source"), "server_driver_counters");
    cr_expect_str_eq(rstr(rec, "dut_packets_window"), "server_run");
    cr_expect_float_eq(rnum(m, "dut_packets_per_request"), 13000.0 / 1200, 1e-9);
    json_decref(rec);
    json_decref(sv);
    record_teardown();
}

Test(record, open_loop_saturation_by_late_sends_not_spinning)
{
    record_setup("op", "kernel"); /* open loop, 2k req/s */
    json_t *cl = client_doc(4000, 4100, 4100, 0);
    json_object_set_new(cl, "late_sends", json_integer(0));
    json_t *win = gen_window(2000000000ull, NULL, NULL, NULL);
    write_doc(P.cjson, json_incref(cl));
    write_doc(P.sjson, server_doc(4101));
    /* the generator's core fully busy (it spins between sends) */
    struct trial_outcome o = {.probes = 1, .probe_tries = 1};
    snaps(&o.cpu_a, &o.cpu_b, 1000, 2000000000ull);
    o.cpu_b.busy[0] = o.cpu_a.busy[0] + (uint64_t)(2 * sysconf(_SC_CLK_TCK));
    json_t *rec = trial_record(&rctx, &P, wl("op"), &o);
    cr_expect_gt(rnum(json_object_get(rec, "cpu"), "gen_util"), 0.9);
    cr_expect(json_is_false(json_object_get(rec, "generator_saturated")),
              "a spinning open-loop generator that keeps its schedule is not saturated");
    cr_expect_str_eq(rstr(rec, "generator_saturated_by"), "late_sends");
    json_decref(rec);
    /* 200 of 4000 intended sends late by more than 1 ms: it could not keep up */
    json_object_set_new(cl, "late_sends", json_integer(200));
    json_object_set_new(cl, "window", win);
    write_doc(P.cjson, json_incref(cl));
    rec = trial_record(&rctx, &P, wl("op"), &o);
    cr_expect(json_is_true(json_object_get(rec, "generator_saturated")));
    cr_expect_float_eq(rnum(rec, "late_send_share"), 0.05, 1e-9);
    json_decref(rec);
    json_decref(cl);
    /* closed loop: the generator's core */
    trial_plan(&P, &rctx, wl("ka"), "kernel", 1, 1);
    write_doc(P.cjson, client_doc(1000, 1200, 1200, 0));
    write_doc(P.sjson, server_doc(1201));
    rec = trial_record(&rctx, &P, wl("ka"), &o);
    cr_expect(json_is_true(json_object_get(rec, "generator_saturated")));
    cr_expect_str_eq(rstr(rec, "generator_saturated_by"), "gen_util");
    json_decref(rec);
    unlink(P.cjson);
    unlink(P.sjson);
    trial_plan(&P, &rctx, wl("op"), "kernel", 1, 1);
    record_teardown();
}

/* ---- dut = client (issue 18): each driver runs the generator --------------- */

static const char client_ini[] = "[suite]\n"
                                 "drivers = kernel,afpacket,afxdp,dpdk,dpdk@tap,io_uring\n"
                                 "dut = client\n"
                                 "dut_cpu = 1\n"
                                 "gen_cpu = 0\n"
                                 "%s"
                                 "[workload dl]\n"
                                 "mode = download\n"
                                 "path = /bytes/64m\n"
                                 "connections = 1\n"
                                 "[driver afpacket]\n"
                                 "block_count = 64\n";

static void load_client(const char *extra)
{
    char text[2048], err[512] = "";
    snprintf(text, sizeof text, client_ini, extra);
    cr_assert_eq(suite_load_string(text, "t.ini", &S, err, sizeof err), 0, "%s", err);
}

Test(plan_client, the_generator_runs_on_each_driver_and_the_server_on_kernel)
{
    static const char *const fixed = "/bin/bb serve --driver kernel --listen 0.0.0.0:8080 "
                                     "--idle-timeout 60000000000ns --json /r/logs/dl-%s-r2."
                                     "server.json --quiet --cpu 0";
    load_client("");
    for (int i = 0; i < S.ndrivers; i++) {
        char want[512];
        plan("dl", S.drivers[i], 0);
        cr_expect_eq(P.client, 1);
        cr_expect_eq(P.nginx, 0);
        /* the fixed server: ours on the kernel driver, on the generator's core, every address */
        snprintf(want, sizeof want, fixed, P.tl.label);
        cr_expect_str_eq(joined(P.sargv), want, "%s", S.drivers[i]);
        /* the DUT: load on the driver under test, on the DUT's core, held until go */
        char drv[48];
        snprintf(drv, sizeof drv, "load --driver %s ", P.tl.drv);
        HAS(P.cargv, drv);
        HAS(P.cargv, " --cpu 1 ");
        LACKS(P.cargv, " --cpu 0");
        HAS(P.cargv, " --go /r/logs/dl-");
        HAS(P.cargv, " --download ");
        cr_expect_str_eq(P.go_ready + strlen(P.go), ".ready");
        cr_expect_str_eq(P.go_done + strlen(P.go), ".done");
    }
    plan("dl", "kernel", 0);
    HAS(P.cargv, " --window-iface bb-dut0 "); /* its own interface: the peer's is in bb-gen */
    HAS(P.cargv, " http://198.18.0.1:8080/bytes/64m");
    LACKS(P.cargv, " --ip ");
    plan("dl", "afpacket", 0);
    HAS(P.cargv, " --iface bb-dut0 --ip 198.18.0.2/24 --opt block_count=64 ");
    LACKS(P.sargv, "block_count"); /* the suite's driver options are the DUT's */
    plan("dl", "dpdk", 0);
    HAS(P.cargv, " --ip 198.18.0.2/24 --opt vdev=net_af_packet0,iface=bb-dut0,framecnt=2048 ");
    plan("dl", "dpdk@tap", 0);
    HAS(P.cargv, " --opt vdev=net_tap0,iface=bb-tap0 ");
    HAS(P.cargv, " --ip 198.18.1.2/24 ");
    HAS(P.cargv, " http://198.18.1.1:8080/bytes/64m"); /* the tap's kernel side, in bb-gen */
    LACKS(P.cargv, "--window-iface");                   /* the tap goes with the DUT process */
    cr_expect_str_eq(P.tl.stats_ns, TOPO_NS_GEN);
}

Test(plan_client, nginx_and_capture)
{
    load_client("server = nginx\ncapture = on\n");
    plan("dl", "dpdk", 1);
    cr_expect_eq(P.nginx, 1);
    cr_expect(strstr(P.sargv[0], "nginx") != NULL, "%s", P.sargv[0]);
    HAS(P.sargv, " -p /r/logs/dl-dpdk-r2.nginx -c /r/logs/dl-dpdk-r2.nginx/nginx.conf -e ");
    cr_expect_str_eq(P.nginx_log, "/r/logs/dl-dpdk-r2.nginx/access.log");
    /* the DUT is the client: the capture options go into its process */
    cr_expect_str_eq(P.cap_method, "pdump");
    HAS(P.cargv, " --opt pdump=1 ");
    LACKS(P.sargv, "pdump");
    cr_expect_str_eq(P.capargv[1], "pdump");
    HAS(P.capargv, " --cpu 1 "); /* on the DUT's core */
    plan("dl", "afpacket", 0);
    cr_expect_str_eq(P.cap_method, "libpcap");
    HAS(P.capargv, "capture --iface bb-dut0 ");
}

Test(record_client, says_which_side_and_what_stayed)
{
    load_client("");
    strcpy(dir, "/tmp/bbtrialXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char logs[128];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    mkdir(logs, 0755);
    rctx = ctx(0);
    rctx.dir = dir;
    rctx.env = json_pack("{s:s}", "kernel", "test");
    trial_plan(&P, &rctx, wl("dl"), "afpacket", 1, 1);
    json_t *cl = client_doc(1, 1, 1, 0);
    struct topo_ifstats ia = {.rx_packets = 100, .tx_packets = 10},
                        ib = {.rx_packets = 50100, .tx_packets = 25010};
    json_object_set_new(cl, "window", gen_window(2000000000ull, &ia, &ib, NULL));
    /* the DUT's own poll counters: not the generator's saturation */
    json_object_set_new(cl, "driver_counters",
                        json_pack("{s:I,s:I}", "poll_cycles_work", (json_int_t)99,
                                  "poll_cycles_idle", (json_int_t)1));
    json_object_set_new(cl, "body_bytes", json_integer(64 << 20));
    json_t *sv = server_doc(2);
    json_object_set_new(json_object_get(sv, "stats"), "body_bytes_out",
                        json_integer((64 << 20) + 2)); /* one byte more than the probe's */
    write_doc(P.cjson, json_deep_copy(cl));
    write_doc(P.sjson, sv);
    struct trial_outcome o = {.probes = 1, .probe_tries = 1};
    json_t *rec = trial_record(&rctx, &P, wl("dl"), &o);
    cr_expect_not_null(o.failure, "a byte sent and not counted fails the identity check");
    cr_expect(o.failure && strstr(o.failure, "67108866") && strstr(o.failure, "67108864"), "%s",
              o.failure);
    json_decref(rec);
    /* a second probe try that timed out after the server had sent its byte:
     * the server may count up to one byte (and request) per try */
    write_doc(P.cjson, json_deep_copy(cl));
    sv = server_doc(2);
    json_object_set_new(json_object_get(sv, "stats"), "body_bytes_out",
                        json_integer((64 << 20) + 2));
    write_doc(P.sjson, sv);
    o = (struct trial_outcome){.probes = 1, .probe_tries = 2};
    rec = trial_record(&rctx, &P, wl("dl"), &o);
    cr_expect_null(o.failure, "two probe tries allow two bytes: %s", o.failure);
    json_decref(rec);
    sv = server_doc(2);
    json_object_set_new(json_object_get(sv, "stats"), "body_bytes_out",
                        json_integer((64 << 20) + 1));
    write_doc(P.cjson, cl);
    write_doc(P.sjson, sv);
    o = (struct trial_outcome){.probes = 1, .probe_tries = 1};
    rec = trial_record(&rctx, &P, wl("dl"), &o);
    cr_expect_null(o.failure, "%s", o.failure);
    cr_expect_str_eq(rstr(rec, "dut"), "client");
    cr_expect_str_eq(rstr(rec, "dut_side"), "client (downloader)");
    cr_expect_str_eq(rstr(json_object_get(rec, "workload"), "dut"), "client");
    cr_expect_str_eq(rstr(rec, "netio_driver"), "afpacket");
    json_t *peer = json_object_get(rec, "peer");
    cr_expect_str_eq(rstr(peer, "software"), "bypassbench serve (ours)");
    cr_expect_str_eq(rstr(peer, "driver"), "kernel");
    cr_expect_str_eq(rstr(peer, "netns"), TOPO_NS_GEN);
    cr_expect_str_eq(rstr(json_object_get(rec, "netns"), "client"), TOPO_NS_DUT);
    /* its own interface, read at its own edges: not swapped */
    cr_expect_str_eq(rstr(rec, "dut_packets_source"), "dut_iface_at_client_edges");
    json_t *di = json_object_get(rec, "dut_iface");
    cr_expect_float_eq(rnum(di, "rx_packets"), 50000, 0);
    cr_expect_float_eq(rnum(di, "tx_packets"), 25000, 0);
    cr_expect_str_eq(rstr(rec, "generator_saturated_by"), "gen_util");
    cr_expect(!json_is_true(json_object_get(rec, "generator_saturated")));
    /* the DUT-side derived figures read the client's JSON */
    json_object_set_new(json_object_get(rec, "client"), "driver_counters",
                        json_pack("{s:I}", "syscalls", (json_int_t)40));
    cr_expect_float_eq(model_record_value(rec, "syscalls_per_request"), 40, 1e-9);
    json_decref(rec);
    json_decref(rctx.env);
    unlink(P.cjson);
    unlink(P.sjson);
    rmdir(logs);
    rmdir(dir);
}

/* The row's offloads reach the pktio drivers as their offloads option; the
 * kernel's are the veth's (trial_execute), not an option. */
Test(plan, offloads_reach_afpacket_and_dpdk)
{
    load("offloads = on\n", "");
    plan("ka", "afpacket", 0);
    HAS(P.sargv, " --opt offloads=1");
    plan("ka", "dpdk", 0);
    HAS(P.sargv, " --opt offloads=1");
    plan("ka", "kernel", 0);
    LACKS(P.sargv, "offloads");
    load("", "");
    plan("ka", "afpacket", 0);
    HAS(P.sargv, " --opt offloads=0");
}
