/*
 * test_sysinfo.c — sysinfo_collect/sysinfo_json (no root) and a doctor
 * smoke test (its report has every section; as root, bb-doctor is gone after).
 */
#include "harness/run/doctor.h"
#include "harness/run/sysinfo.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

Test(sysinfo, collect_fills_fields)
{
    struct sysinfo s;
    struct utsname u;
    memset(&s, 0xff, sizeof(s)); /* collect must not rely on a zeroed struct */
    cr_assert_eq(sysinfo_collect(&s), 0);
    cr_assert_eq(uname(&u), 0);
    cr_assert_str_eq(s.kernel, u.release);
    cr_assert_gt(s.ncpu, 0);
    cr_assert_eq(s.ncpu, (int)sysconf(_SC_NPROCESSORS_ONLN));
    cr_assert_gt(strlen(s.cpu_model), 0);
    cr_assert(s.constant_tsc == 0 || s.constant_tsc == 1);
    cr_assert(s.nonstop_tsc == 0 || s.nonstop_tsc == 1);
    cr_assert(s.tsc_hz >= 1e8 && s.tsc_hz <= 1e10, "tsc_hz %g out of range", s.tsc_hz);
    cr_assert_gt(strlen(s.dpdk_version), 0);
    cr_assert_str_eq(s.git_describe, BB_VERSION);
    cr_assert_gt(strlen(s.hostname), 0);
    cr_assert_lt(strlen(s.hostname), sizeof(s.hostname));
}

Test(sysinfo, tsc_measurements_agree)
{
    /* A rate, not a duration: both measurements divide TSC ticks by the
     * same clock's time, so they agree however long the sleeps really took. */
    double a = sysinfo_measure_tsc_hz(20), b = sysinfo_measure_tsc_hz(40);
    cr_assert_gt(a, 0);
    cr_assert_gt(b, 0);
    cr_assert_lt(a > b ? a / b : b / a, 1.2, "%g vs %g Hz", a, b);
    uint64_t t0 = sysinfo_rdtsc(), t1 = sysinfo_rdtsc();
    cr_assert_geq(t1, t0);
}

Test(sysinfo, json_has_every_key)
{
    struct sysinfo s;
    sysinfo_collect(&s);
    json_t *j = sysinfo_json(&s);
    cr_assert_not_null(j);
    cr_assert(json_is_object(j));
    cr_assert_str_eq(json_string_value(json_object_get(j, "kernel")), s.kernel);
    cr_assert_str_eq(json_string_value(json_object_get(j, "cpu_model")), s.cpu_model);
    cr_assert_eq(json_integer_value(json_object_get(j, "ncpu")), s.ncpu);
    cr_assert(json_is_boolean(json_object_get(j, "constant_tsc")));
    cr_assert_eq(json_is_true(json_object_get(j, "constant_tsc")), s.constant_tsc);
    cr_assert(json_is_boolean(json_object_get(j, "nonstop_tsc")));
    cr_assert(json_is_real(json_object_get(j, "tsc_hz")));
    cr_assert_float_eq(json_real_value(json_object_get(j, "tsc_hz")), s.tsc_hz, 1e-3);
    cr_assert_str_eq(json_string_value(json_object_get(j, "dpdk_version")), s.dpdk_version);
    cr_assert_str_eq(json_string_value(json_object_get(j, "git_describe")), s.git_describe);
    cr_assert_str_eq(json_string_value(json_object_get(j, "hostname")), s.hostname);
    cr_assert_eq(json_object_size(j), 9);
    char *txt = json_dumps(j, JSON_SORT_KEYS);
    cr_assert_not_null(txt);
    json_error_t e;
    json_t *back = json_loads(txt, 0, &e);
    cr_assert_not_null(back, "%s", e.text);
    cr_assert(json_equal(j, back));
    free(txt);
    json_decref(back);
    json_decref(j);
}

Test(doctor, report_has_every_section, .timeout = 20)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(doctor_run(f), 0);
    fclose(f);
    const char *want[] = {"privileges and namespaces",
                          "CPUs and TSC",
                          "CPU accounting method: ",
                          "netio drivers",
                          "kernel:",
                          "/dev/net/tun",
                          "/dev/kni",
                          "/dev/vhost-net",
                          "exception path: ",
                          "hugepages",
                          "hugetlbfs",
                          "DPDK",
                          "wrk",
                          "nginx",
                          "curl",
                          "tshark",
                          "gnuplot",
                          "valgrind",
                          "perf_event_open",
                          "/proc/stat",
                          "summary: "};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_not_null(strstr(buf, want[i]), "missing '%s' in:\n%s", want[i], buf);
    if (geteuid() == 0) {
        cr_assert_not_null(strstr(buf, "ok   running as root"), "%s", buf);
        cr_assert_not_null(strstr(buf, "ok   network namespaces: created"), "%s", buf);
        cr_assert_neq(access("/run/netns/bb-doctor", F_OK), 0, "bb-doctor left behind");
    } else {
        cr_assert_not_null(strstr(buf, "no   running as uid"), "%s", buf);
    }
    free(buf);
}

/* ---- what a reviewer needs to rerun a record (issue 13, "Also") ---- */

static void put(const char *root, const char *rel, const char *text)
{
    char path[512], cmd[600];
    snprintf(path, sizeof path, "%s%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    cr_assert_eq(system(cmd), 0);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(sysinfo, host_json_reads_governor_mitigations_cmdline)
{
    char root[] = "/tmp/bb_sysinfo_XXXXXX";
    cr_assert_not_null(mkdtemp(root));
    put(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n");
    put(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "2400000\n");
    put(root, "/sys/devices/system/cpu/vulnerabilities/spectre_v2", "Mitigation: Retpolines\n");
    put(root, "/sys/devices/system/cpu/vulnerabilities/meltdown", "Not affected\n");
    put(root, "/proc/cmdline", "root=/dev/vda1 mitigations=off\n");
    json_t *j = sysinfo_host_json(root, 2);
    json_t *c0 = json_object_get(json_object_get(j, "cpufreq"), "cpu0");
    cr_assert_str_eq(json_string_value(json_object_get(c0, "governor")), "performance");
    cr_assert_eq(json_integer_value(json_object_get(c0, "cur_khz")), 2400000);
    json_t *c1 = json_object_get(json_object_get(j, "cpufreq"), "cpu1");
    cr_assert_eq(json_object_size(c1), 0, "cpu1 has no cpufreq files: nothing invented");
    json_t *m = json_object_get(j, "mitigations");
    cr_assert_str_eq(json_string_value(json_object_get(m, "spectre_v2")), "Mitigation: Retpolines");
    cr_assert_str_eq(json_string_value(json_object_get(m, "meltdown")), "Not affected");
    cr_assert_eq(json_object_size(m), 2);
    cr_assert_str_eq(json_string_value(json_object_get(j, "kernel_cmdline")),
                     "root=/dev/vda1 mitigations=off");
    cr_assert(json_is_string(json_object_get(j, "git_commit")));
    cr_assert(json_is_boolean(json_object_get(j, "git_dirty")));
    json_decref(j);
    /* nothing readable: each says so instead of an empty object */
    char empty[] = "/tmp/bb_sysinfo_XXXXXX";
    cr_assert_not_null(mkdtemp(empty));
    j = sysinfo_host_json(empty, 2);
    cr_assert(json_is_string(json_object_get(j, "cpufreq")));
    cr_assert(json_is_string(json_object_get(j, "mitigations")));
    cr_assert_null(json_object_get(j, "kernel_cmdline"));
    json_decref(j);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", root, empty);
    cr_assert_eq(system(cmd), 0);
}

Test(sysinfo, ethtool_k_features_parsed)
{
    const char *out = "Features for bb-dut0:\n"
                      "rx-checksumming: on\n"
                      "tx-checksumming: on\n"
                      "\ttx-checksum-ipv4: off [fixed]\n"
                      "scatter-gather: on\n"
                      "tcp-segmentation-offload: on\n"
                      "\ttx-tcp-segmentation: on\n"
                      "generic-segmentation-offload: on\n"
                      "generic-receive-offload: off [requested on]\n"
                      "large-receive-offload: off [fixed]\n"
                      "rx-vlan-offload: on\n";
    json_t *j = sysinfo_parse_ethtool_k(out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "tcp-segmentation-offload")), "on");
    cr_assert_str_eq(json_string_value(json_object_get(j, "generic-receive-offload")),
                     "off [requested on]");
    cr_assert_str_eq(json_string_value(json_object_get(j, "large-receive-offload")), "off [fixed]");
    cr_assert_null(json_object_get(j, "tx-checksum-ipv4"), "sub-features are not listed");
    cr_assert_null(json_object_get(j, "rx-vlan-offload"), "only the features a comparison needs");
    cr_assert_eq(json_object_size(j), 7);
    json_decref(j);
}
