/*
 * test_cpuacct.c — harness/run/cpuacct.c on synthetic snapshots (no /proc
 * needed for the figures): busy cycles per core from /proc/stat jiffies x
 * TSC or from hardware cycles, whole-system cycles, per request and per
 * packet, window_s, a core that is not pinned (absent, never -1), and the
 * snapshot's JSON round trip (the generator writes its snapshots into its
 * JSON; the record reads them back). One real snapshot, for its shape.
 * The perf_event scaling of a multiplexed counter (value x enabled / running)
 * at 100%, 50% and 0% running, 128-bit arithmetic for large counts, and its
 * effect on the window's JSON (perf_scaled, perf_running_fraction; a counter
 * that never ran gives no figure, never 0 cycles).
 */
#include "harness/run/cpuacct.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define TSC 2e9

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_number(v), "%s: not a number", k);
    return json_number_value(v);
}

/* Two CPUs over a 1.5 s window: CPU 0 busy 30 jiffies, CPU 1 busy 60. */
static void pair_of_snaps(struct cpu_snap *a, struct cpu_snap *b)
{
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    a->ncpu = b->ncpu = 2;
    a->t_ns = 1000000000ull;
    b->t_ns = 2500000000ull;
    a->busy[0] = 100, b->busy[0] = 130;
    a->busy[1] = 200, b->busy[1] = 260;
    a->steal[1] = 5, b->steal[1] = 8;
    a->total[0] = 1000, b->total[0] = 1150;
    a->total[1] = 1000, b->total[1] = 1150;
    a->ctxt = 10, b->ctxt = 1010;
    a->net_rx = 7, b->net_rx = 507;
    a->net_tx = 1, b->net_tx = 3;
}

Test(cpuacct, busy_time_x_tsc)
{
    struct cpu_snap a, b;
    pair_of_snaps(&a, &b);
    double hz = (double)sysconf(_SC_CLK_TCK);
    json_t *j = cpuacct_json(&a, &b, TSC, 1, 0, 1000, 4000);
    cr_expect_str_eq(json_string_value(json_object_get(j, "method")), "proc_stat_busy_x_tsc");
    cr_expect_float_eq(num(j, "window_s"), 1.5, 1e-12);
    double dut = 60 / hz * TSC, gen = 30 / hz * TSC, sys = 90 / hz * TSC;
    cr_expect_float_eq(num(j, "dut_cycles"), dut, 1e-3);
    cr_expect_float_eq(num(j, "gen_cycles"), gen, 1e-3);
    cr_expect_float_eq(num(j, "system_cycles"), sys, 1e-3);
    cr_expect_float_eq(num(j, "gen_util"), 30 / hz / 1.5, 1e-9);
    cr_expect_float_eq(num(j, "steal_s"), 3 / hz, 1e-12);
    cr_expect_float_eq(num(j, "dut_cycles_per_request"), dut / 1000, 1e-6);
    cr_expect_float_eq(num(j, "system_cycles_per_request"), sys / 1000, 1e-6);
    cr_expect_float_eq(num(j, "dut_cycles_per_packet"), dut / 4000, 1e-6);
    cr_expect_float_eq(num(j, "system_cycles_per_packet"), sys / 4000, 1e-6);
    cr_expect_float_eq(num(j, "ctx_switches_per_request"), 1.0, 1e-12);
    cr_expect_float_eq(num(j, "net_rx_softirqs_per_request"), 0.5, 1e-12);
    cr_expect_eq(json_integer_value(json_object_get(j, "net_tx_softirqs")), 2);
    json_t *cpus = json_object_get(j, "cpus");
    cr_assert_eq(json_array_size(cpus), 2);
    cr_expect_float_eq(num(json_array_get(cpus, 1), "busy_s"), 60 / hz, 1e-12);
    cr_expect_float_eq(num(json_array_get(cpus, 1), "util"), 60 / hz / 1.5, 1e-12);
    json_decref(j);
}

Test(cpuacct, hardware_cycles_when_both_snapshots_have_them)
{
    struct cpu_snap a, b;
    pair_of_snaps(&a, &b);
    a.hw = b.hw = 1;
    a.hw_cycles[0] = 1000, b.hw_cycles[0] = 1000 + 3000000;
    a.hw_cycles[1] = 5000, b.hw_cycles[1] = 5000 + 9000000;
    json_t *j = cpuacct_json(&a, &b, TSC, 1, 0, 100, 0);
    cr_expect_str_eq(json_string_value(json_object_get(j, "method")), "perf_event_cycles");
    cr_expect_float_eq(num(j, "dut_cycles"), 9e6, 1e-6);
    cr_expect_float_eq(num(j, "gen_cycles"), 3e6, 1e-6);
    cr_expect_float_eq(num(j, "system_cycles"), 12e6, 1e-3);
    cr_expect_float_eq(num(j, "dut_cycles_per_request"), 9e4, 1e-6);
    cr_expect_null(json_object_get(j, "dut_cycles_per_packet"), "no packets, no per-packet figure");
    cr_expect_null(json_object_get(j, "system_cycles_per_packet"));
    json_decref(j);
    b.hw = 0; /* one side without: busy time, never a mix */
    j = cpuacct_json(&a, &b, TSC, 1, 0, 100, 0);
    cr_expect_str_eq(json_string_value(json_object_get(j, "method")), "proc_stat_busy_x_tsc");
    json_decref(j);
}

Test(cpuacct, perf_scale_running_fractions)
{
    uint64_t out = 7;
    double f = -1;
    cr_expect_eq(cpuacct_perf_scale(1000, 500, 500, &out, &f), 0, "100% running");
    cr_expect_eq(out, 1000);
    cr_expect_float_eq(f, 1.0, 1e-12);
    cr_expect_eq(cpuacct_perf_scale(1000, 400, 200, &out, &f), 0, "50% running");
    cr_expect_eq(out, 2000);
    cr_expect_float_eq(f, 0.5, 1e-12);
    out = 7;
    cr_expect_eq(cpuacct_perf_scale(0, 400, 0, &out, &f), -1, "0% running: no figure");
    cr_expect_eq(out, 7, "untouched when there is no figure");
    cr_expect_eq(cpuacct_perf_scale(0, 0, 0, &out, NULL), -1);
    cr_expect_eq(cpuacct_perf_scale(10, 100, 150, &out, NULL), 0, "running > enabled: unscaled");
    cr_expect_eq(out, 10);
}

Test(cpuacct, perf_scale_large_counts_do_not_overflow)
{
    /* 2^62 cycles x (3e11 ns enabled) overflows 64 bits as a product. */
    uint64_t v = 1ull << 62, out = 0;
    cr_expect_eq(cpuacct_perf_scale(v, 300000000000ull, 150000000000ull, &out, NULL), 0);
    cr_expect_eq(out, 1ull << 63);
    cr_expect_eq(cpuacct_perf_scale(v, 3000000000ull, 1000000000ull, &out, NULL), 0);
    cr_expect_eq(out, 3ull << 62);
    cr_expect_eq(cpuacct_perf_scale(UINT64_MAX, 4, 1, &out, NULL), -1, "does not fit: no figure");
    cr_expect_eq(cpuacct_perf_scale(UINT64_MAX, UINT64_MAX, UINT64_MAX - 1, &out, NULL), -1);
    cr_expect_eq(cpuacct_perf_scale(UINT64_MAX - 1, UINT64_MAX, UINT64_MAX - 1, &out, NULL), 0);
    cr_expect_eq(out, UINT64_MAX);
}

Test(cpuacct, multiplexed_counter_is_scaled_in_the_window)
{
    struct cpu_snap a, b;
    pair_of_snaps(&a, &b);
    a.hw = b.hw = a.hw_timed = b.hw_timed = 1;
    a.hw_cycles[0] = 1000, b.hw_cycles[0] = 1000 + 3000000; /* ran all of the window */
    a.hw_enabled[0] = 10, b.hw_enabled[0] = 10 + 1000;
    a.hw_running[0] = 10, b.hw_running[0] = 10 + 1000;
    a.hw_cycles[1] = 5000, b.hw_cycles[1] = 5000 + 4500000; /* ran half: 9e6 */
    a.hw_enabled[1] = 100, b.hw_enabled[1] = 100 + 1000;
    a.hw_running[1] = 50, b.hw_running[1] = 50 + 500;
    json_t *j = cpuacct_json(&a, &b, TSC, 1, 0, 100, 0);
    cr_expect_float_eq(num(j, "dut_cycles"), 9e6, 1e-6);
    cr_expect_float_eq(num(j, "gen_cycles"), 3e6, 1e-6);
    cr_expect_float_eq(num(j, "system_cycles"), 12e6, 1e-3);
    cr_expect(json_is_true(json_object_get(j, "perf_scaled")));
    cr_expect_float_eq(num(j, "perf_running_fraction"), 0.5, 1e-12);
    cr_expect_float_eq(num(json_array_get(json_object_get(j, "cpus"), 1), "running_fraction"), 0.5,
                       1e-12);
    json_decref(j);

    b.hw_running[1] = a.hw_running[1]; /* CPU 1's counter never ran in the window */
    j = cpuacct_json(&a, &b, TSC, 1, 0, 100, 0);
    cr_expect_null(json_object_get(j, "dut_cycles"), "no figure, not 0 cycles");
    cr_expect_null(json_object_get(j, "dut_cycles_per_request"));
    cr_expect_null(json_object_get(j, "system_cycles"));
    cr_expect_null(json_object_get(j, "system_cycles_per_request"));
    cr_expect_float_eq(num(j, "gen_cycles"), 3e6, 1e-6);
    cr_expect_float_eq(num(j, "perf_running_fraction"), 0.0, 1e-12);
    cr_expect_null(json_object_get(json_array_get(json_object_get(j, "cpus"), 1), "cycles"));
    json_decref(j);

    b.hw_running[1] = b.hw_enabled[1] - a.hw_enabled[1] + a.hw_running[1]; /* full again */
    j = cpuacct_json(&a, &b, TSC, 1, 0, 100, 0);
    cr_expect(json_is_false(json_object_get(j, "perf_scaled")));
    cr_expect_float_eq(num(j, "dut_cycles"), 4.5e6, 1e-6);
    json_decref(j);
}

Test(cpuacct, unpinned_core_is_absent_not_minus_one)
{
    struct cpu_snap a, b;
    pair_of_snaps(&a, &b);
    json_t *j = cpuacct_json(&a, &b, TSC, -1, -1, 1000, 4000);
    static const char *const gone[] = {"dut_cycles", "gen_cycles", "gen_util",
                                       "dut_cycles_per_request", "dut_cycles_per_packet"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        cr_expect_null(json_object_get(j, gone[i]), "%s present for an unpinned core", gone[i]);
    cr_expect_gt(num(j, "system_cycles_per_request"), 0, "the whole-system figure stays");
    json_decref(j);
    /* a core the snapshot does not have is no core either */
    j = cpuacct_json(&a, &b, TSC, 7, 64, 1000, 4000);
    cr_expect_null(json_object_get(j, "dut_cycles"));
    cr_expect_null(json_object_get(j, "gen_util"));
    json_decref(j);
}

Test(cpuacct, no_requests_no_per_request_figure)
{
    struct cpu_snap a, b;
    pair_of_snaps(&a, &b);
    json_t *j = cpuacct_json(&a, &b, TSC, 1, 0, 0, 0);
    cr_expect_null(json_object_get(j, "system_cycles_per_request"));
    cr_expect_null(json_object_get(j, "dut_cycles_per_request"));
    cr_expect_null(json_object_get(j, "ctx_switches_per_request"));
    json_decref(j);
}

Test(cpuacct, snapshot_json_round_trip)
{
    struct cpu_snap a, b, back;
    pair_of_snaps(&a, &b);
    b.hw = 1;
    b.hw_cycles[0] = 123456789012ull, b.hw_cycles[1] = 42;
    json_t *j = cpuacct_snap_json(&b);
    cr_assert_eq(cpuacct_snap_from_json(j, &back), 0);
    cr_expect_eq(memcmp(&back, &b, sizeof b), 0, "the snapshot did not survive its JSON");
    cr_expect_eq(back.hw_timed, 0, "no times, unscaled");
    json_decref(j);
    b.hw_timed = 1;
    b.hw_enabled[0] = 1000, b.hw_enabled[1] = 2000;
    b.hw_running[0] = 500, b.hw_running[1] = 2000;
    j = cpuacct_snap_json(&b);
    cr_assert_eq(cpuacct_snap_from_json(j, &back), 0);
    cr_expect_eq(memcmp(&back, &b, sizeof b), 0, "the counter times did not survive its JSON");
    json_decref(j);
    b.hw_timed = 0;
    memset(b.hw_enabled, 0, sizeof b.hw_enabled);
    memset(b.hw_running, 0, sizeof b.hw_running);
    j = cpuacct_snap_json(&a);
    cr_expect_null(json_object_get(j, "hw_cycles"), "no hardware cycles, no array");
    cr_assert_eq(cpuacct_snap_from_json(j, &back), 0);
    cr_expect_eq(back.hw, 0);
    cr_expect_eq(memcmp(&back, &a, sizeof a), 0);
    json_object_set_new(j, "busy", json_array()); /* wrong length */
    cr_expect_eq(cpuacct_snap_from_json(j, &back), -1);
    json_decref(j);
    cr_expect_eq(cpuacct_snap_from_json(NULL, &back), -1);
    j = json_pack("{s:I,s:i}", "t_ns", (json_int_t)1, "ncpu", 0);
    cr_expect_eq(cpuacct_snap_from_json(j, &back), -1);
    json_decref(j);
}

Test(cpuacct, real_snapshot)
{
    struct cpu_snap a, b;
    cr_assert_eq(cpuacct_snap(&a), 0);
    usleep(20000);
    cr_assert_eq(cpuacct_snap_hw(NULL, &b), 0);
    cr_expect_gt(a.ncpu, 0);
    cr_expect_geq(b.ctxt, a.ctxt);
    cr_expect_gt(b.t_ns, a.t_ns);
    json_t *j = cpuacct_json(&a, &b, TSC, 0, -1, 0, 0);
    cr_expect_geq(num(j, "window_s"), 0.02);
    cr_expect_not_null(json_object_get(j, "dut_cycles"));
    cr_expect_null(json_object_get(j, "gen_cycles"));
    json_decref(j);
}
