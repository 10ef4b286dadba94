/*
 * test_trial.c — harness/run/plan.c and record.c without root: the argv a
 * trial plans for each link, driver, mode and capture method; the metrics a
 * record carries and what they divide by; the cross-check that fails a trial
 * whose two sides disagree; and the record built from both sides' JSON.
 */
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
                     "/bin/bb load --driver kernel --json /r/logs/ka-kernel-r2.client.json --quiet "
                     "--connections 16 --timeout 10000000000ns --cpu 0 --pipeline 1 --duration "
                     "2000000000ns --warmup 300000000ns http://198.18.0.2:8080/bytes/64");
    cr_expect_null(P.cap_method);
    cr_expect_str_eq(P.tl.stats_ns, TOPO_NS_DUT);
    cr_expect_eq(P.tl.swap_stats, 0);
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

Test(metrics, no_request_no_per_request_figure)
{
    load("", "");
    json_t *c = client_doc(0, 0, 0, 0), *s = server_doc(0);
    struct topo_ifstats d = {.rx_packets = 10};
    json_t *m = trial_metrics(wl("ka"), c, s, &d, NULL);
    cr_expect_null(json_object_get(m, "dut_packets_per_request"));
    json_decref(m), json_decref(c), json_decref(s);
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
    struct trial_outcome o = {.probes = 1, .delta = {.rx_packets = 300, .tx_packets = 100}};
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
    json_decref(rec);

    /* the server served one more than was sent and no probe answered: failed */
    o = (struct trial_outcome){.probes = 0};
    rec = trial_record(&c, &P, wl("ka"), &o);
    cr_expect_str_eq(json_string_value(json_object_get(rec, "status")), "failed");
    cr_expect(o.failure && strstr(o.failure, "the client sent only 120"), "%s", o.failure);
    json_decref(rec);

    /* the server's JSON is missing: failed, saying which */
    unlink(P.sjson);
    o = (struct trial_outcome){.probes = 1};
    rec = trial_record(&c, &P, wl("ka"), &o);
    cr_expect_str_eq(json_string_value(json_object_get(rec, "failure")), "missing server JSON");
    cr_expect_eq(json_object_size(json_object_get(rec, "metrics")), 0);
    json_decref(rec);

    /* a failure the life cycle saw is kept, not replaced by the cross-check */
    write_doc(P.sjson, server_doc(121));
    o = (struct trial_outcome){.probes = 1};
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
