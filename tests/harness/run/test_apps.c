/*
 * test_apps.c — the application templates (harness/run/apps.c): the parsers
 * on real output of wrk, ab and redis-benchmark captured on this machine
 * (tests/fixtures/apps: against Debian's nginx and redis-server, on loopback
 * and over the veth under afpacket, including their error cases), the
 * identity check on a real nginx-under-exec trial and a redis one, and the
 * suite's refusals of every bad combination with FILE:LINE.
 */
#include "harness/run/apps.h"
#include "harness/run/suite.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX "tests/fixtures/apps/"

static char *slurp(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, FIX "%s", name);
    FILE *f = fopen(path, "r");
    cr_assert(f, "fixture %s missing", path);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(v, "no %s", k);
    return json_number_value(v);
}

Test(apps_parse, wrk_exact_counts_from_its_lua_line)
{
    char *out = slurp("wrk_ok.txt"), why[256] = "";
    json_t *j = app_parse_wrk(out, why, sizeof why);
    cr_assert(j, "%s", why);
    cr_expect_eq(num(j, "requests"), 53625);
    cr_expect_eq(num(j, "bytes_read"), 16141125);
    cr_expect_eq(num(j, "measured_ns"), 1100201000.0);
    cr_expect_float_eq(num(j, "rps"), 53625 / 1.100201, 1e-6);
    json_t *l = json_object_get(j, "latency");
    cr_expect_eq(num(l, "p50_ns"), 286000);
    cr_expect_eq(num(l, "p90_ns"), 445000);
    cr_expect_eq(num(l, "p99_ns"), 1038000);
    cr_expect_eq(num(l, "p999_ns"), 2388000);
    cr_expect_eq(num(l, "max_ns"), 3470000);
    cr_expect_eq(num(j, "errors_total"), 0);
    json_decref(j);
    free(out);
}

Test(apps_parse, wrk_non_2xx_are_errors_by_kind)
{
    char *out = slurp("wrk_status_errors.txt"), why[256] = "";
    json_t *j = app_parse_wrk(out, why, sizeof why);
    cr_assert(j, "%s", why);
    cr_expect_eq(num(j, "errors_total"), 79457);
    cr_expect_eq(num(json_object_get(j, "errors"), "status_not_2xx_3xx"), 79457);
    json_t *c = app_client_json(j, NULL, 8, 1);
    const char *bad = app_identity_check(APP_NGINX, APP_WRK, c, NULL, NULL, 1, 1, why, sizeof why);
    cr_assert(bad);
    cr_expect(strstr(why, "79457 client errors (wrk, status_not_2xx_3xx 79457)"), "%s", why);
    json_decref(c);
    free(out);
}

Test(apps_parse, wrk_without_its_lua_line_is_refused)
{
    char why[256] = "";
    /* what wrk prints when it cannot connect: no done() line */
    cr_expect_null(app_parse_wrk("unable to connect to 198.18.0.2:8080 Connection refused\n", why,
                                 sizeof why));
    cr_expect(strstr(why, "bb-wrk"), "%s", why);
    /* a line cut short */
    cr_expect_null(app_parse_wrk("bb-wrk requests=5 bytes=10 duration_us=100\n", why, sizeof why));
    /* the name in the middle of a line is not the line */
    char *out = slurp("wrk_ok.txt");
    char *mid = malloc(strlen(out) + 8);
    sprintf(mid, "x%s", strstr(out, "bb-wrk"));
    cr_expect_null(app_parse_wrk(mid, why, sizeof why));
    free(mid);
    free(out);
}

Test(apps_parse, ab_report_and_csv_percentiles)
{
    char *out = slurp("ab_ok.txt"), *csv = slurp("ab_ok.csv"), why[256] = "";
    json_t *j = app_parse_ab(out, csv, why, sizeof why);
    cr_assert(j, "%s", why);
    cr_expect_eq(num(j, "requests"), 42179);
    cr_expect_eq(num(j, "bytes_read"), 12695879);
    cr_expect_eq(num(j, "measured_ns"), 1e9);
    cr_expect_float_eq(num(j, "rps"), 42179, 1e-9);
    json_t *l = json_object_get(j, "latency");
    cr_expect_float_eq(num(l, "p50_ns"), 360000, 1e-3);
    cr_expect_float_eq(num(l, "p90_ns"), 485000, 1e-3);
    cr_expect_float_eq(num(l, "p99_ns"), 769000, 1e-3);
    cr_expect_float_eq(num(l, "max_ns"), 3252000, 1e-3);
    cr_expect_float_eq(num(l, "mean_ns"), 379000, 1e-3);
    cr_expect_null(json_object_get(l, "p999_ns"), "ab gives no p99.9: absent, not 0");
    cr_expect_eq(num(j, "errors_total"), 0);
    json_decref(j);
    free(out);
    free(csv);
}

Test(apps_parse, ab_non_2xx_counted_and_missing_csv_refused)
{
    char *out = slurp("ab_non2xx.txt"), *csv = slurp("ab_non2xx.csv"), why[256] = "";
    json_t *j = app_parse_ab(out, csv, why, sizeof why);
    cr_assert(j, "%s", why);
    cr_expect_eq(num(j, "requests"), 2000);
    cr_expect_eq(num(j, "errors_total"), 2000);
    cr_expect_eq(num(json_object_get(j, "errors"), "non_2xx"), 2000);
    json_decref(j);
    cr_expect_null(app_parse_ab(out, NULL, why, sizeof why));
    cr_expect(strstr(why, "0 of the 101"), "%s", why);
    /* a CSV cut after 60 rows */
    char *cut = strdup(csv), *p = cut;
    for (int i = 0; i < 61 && p; i++) p = strchr(p + 1, '\n');
    *p = 0;
    cr_expect_null(app_parse_ab(out, cut, why, sizeof why));
    /* ab that stopped before its report (connection refused) */
    cr_expect_null(app_parse_ab("Benchmarking 198.18.0.2 (be patient)...apr_socket_recv: "
                                "Connection refused (111)\n",
                                csv, why, sizeof why));
    cr_expect(strstr(why, "Complete requests"), "%s", why);
    free(cut);
    free(out);
    free(csv);
}

Test(apps_parse, redis_benchmark_csv_per_command)
{
    char *csv = slurp("redis_veth_ok.csv"), why[256] = "";
    json_t *j = app_parse_redis_bench(csv, 100000, why, sizeof why);
    cr_assert(j, "%s", why);
    cr_expect_eq(num(j, "requests"), 200000);
    double secs = 100000 / 684931.50 + 100000 / 571428.56;
    cr_expect_float_eq(num(j, "rps"), 200000 / secs, 1e-3);
    json_t *per = json_object_get(j, "per_command");
    cr_assert_eq(json_array_size(per), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(per, 0), "command")), "set");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(per, 1), "command")), "get");
    json_t *l = json_object_get(j, "latency");
    cr_expect_float_eq(num(l, "p99_ns"), 5135000, 1e-3); /* the worse of SET's and GET's */
    cr_expect_float_eq(num(l, "p50_ns"), 103000, 1e-3);
    cr_expect_null(json_object_get(l, "p90_ns"));
    json_decref(j);
    free(csv);
}

Test(apps_parse, redis_benchmark_error_output_refused)
{
    char *csv = slurp("redis_noauth.csv"), *err = slurp("redis_noauth.err"), why[256] = "";
    cr_expect_null(app_parse_redis_bench(csv, 2000, why, sizeof why));
    cr_expect_null(app_parse_redis_bench(err, 2000, why, sizeof why));
    cr_expect(strstr(why, "--csv header"), "%s", why);
    cr_expect_null(app_parse_redis_bench("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\","
                                         "\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\","
                                         "\"max_latency_ms\"\n",
                                         2000, why, sizeof why));
    cr_expect(strstr(why, "no test row"), "%s", why);
    free(csv);
    free(err);
}

static json_t *redis_trial(unsigned long long n, json_t **server)
{
    char *csv = slurp("redis_veth_ok.csv"), *info = slurp("redis_commandstats.txt"), why[256];
    json_t *m = app_parse_redis_bench(csv, n, why, sizeof why);
    cr_assert(m, "%s", why);
    json_t *cs = app_redis_commandstats(info, why, sizeof why);
    cr_assert(cs, "%s", why);
    cr_expect_eq(num(cs, "set"), 100000);
    cr_expect_eq(num(cs, "config|get"), 2);
    *server = json_pack("{s:o}", "commandstats", cs);
    free(csv);
    free(info);
    return app_client_json(m, NULL, 16, 1);
}

Test(apps_identity, redis_commandstats_equal_the_benchmark_counts)
{
    json_t *server, *c = redis_trial(100000, &server);
    char why[256] = "";
    json_t *stack = json_pack("{s:I}", "preload_accepts", (json_int_t)19);
    cr_expect_null(app_identity_check(APP_REDIS_SERVER, APP_REDIS_BENCHMARK, c, server, stack, 1, 1,
                                      why, sizeof why),
                   "%s", why);
    json_decref(c);
    json_decref(server);
    /* one request fewer per test than redis ran: a mismatch */
    c = redis_trial(99999, &server);
    cr_expect_not_null(app_identity_check(APP_REDIS_SERVER, APP_REDIS_BENCHMARK, c, server, NULL,
                                          1, 1, why, sizeof why));
    cr_expect(strstr(why, "redis-server ran 100000 set commands") && strstr(why, "completed 99999"),
              "%s", why);
    json_decref(c);
    json_decref(server);
    /* the stack accepted fewer connections than the client had open */
    c = redis_trial(100000, &server);
    json_object_set_new(stack, "preload_accepts", json_integer(3));
    cr_expect_not_null(app_identity_check(APP_REDIS_SERVER, APP_REDIS_BENCHMARK, c, server, stack,
                                          1, 1, why, sizeof why));
    cr_expect(strstr(why, "the stack accepted 3 connections, fewer than redis-benchmark's 16 (+1"),
              "%s", why);
    json_decref(c);
    json_decref(server);
    /* on kernel sockets: the DUT kernel's TcpPassiveOpens */
    c = redis_trial(100000, &server);
    json_object_set_new(server, "kernel_passive_opens", json_integer(17));
    cr_expect_null(app_identity_check(APP_REDIS_SERVER, APP_REDIS_BENCHMARK, c, server, NULL, 1, 1,
                                      why, sizeof why),
                   "%s", why);
    json_object_set_new(server, "kernel_passive_opens", json_integer(16));
    cr_expect_not_null(app_identity_check(APP_REDIS_SERVER, APP_REDIS_BENCHMARK, c, server, NULL,
                                          1, 1, why, sizeof why));
    cr_expect(strstr(why, "DUT kernel (TcpPassiveOpens) accepted 16"), "%s", why);
    json_decref(c);
    json_decref(server);
    json_decref(stack);
}

/* The nginx-under-exec trial the fixtures come from: wrk -c16, a 1 s
 * warm-up run and a 2 s run; nginx's access log had 124676 lines. */
static json_t *nginx_trial(json_t **stack)
{
    char *out = slurp("wrk_veth_ok.txt"), *wout = slurp("wrk_veth_warmup.txt"), why[256];
    json_t *m = app_parse_wrk(out, why, sizeof why), *w = app_parse_wrk(wout, why, sizeof why);
    cr_assert(m && w, "%s", why);
    *stack = app_stats_file_json(FIX "preload_nginx.stats", why, sizeof why);
    cr_assert(*stack, "%s", why);
    free(out);
    free(wout);
    json_t *c = app_client_json(m, w, 16, 1);
    cr_expect_eq(num(c, "requests_total"), 78527 + 46139);
    cr_expect_eq(num(c, "runs"), 2);
    return c;
}

static json_t *parsed(long long n)
{
    return json_pack("{s:{s:I}}", "stats", "requests_parsed", (json_int_t)n);
}

Test(apps_identity, nginx_under_exec_agrees_with_wrk)
{
    json_t *stack, *c = nginx_trial(&stack), *s = parsed(124676);
    char why[320] = "";
    cr_expect_null(app_identity_check(APP_NGINX, APP_WRK, c, s, stack, 1, 1, why, sizeof why), "%s",
                   why);
    cr_expect_null(app_identity_check(APP_NGINX, APP_WRK, c, s, NULL, 1, 1, why, sizeof why), "%s",
                   why);
    json_decref(s);
    /* the access log short of what wrk completed */
    s = parsed(124666);
    cr_expect_not_null(app_identity_check(APP_NGINX, APP_WRK, c, s, NULL, 1, 1, why, sizeof why));
    cr_expect(strstr(why, "nginx's access log counts 124666 requests but wrk completed 124666 (+1"),
              "%s", why);
    json_decref(s);
    /* more than one in flight per connection */
    s = parsed(124666 + 1 + 32 + 1);
    cr_expect_not_null(app_identity_check(APP_NGINX, APP_WRK, c, s, NULL, 1, 1, why, sizeof why));
    json_decref(s);
    /* the stack handed fewer bytes than wrk read */
    s = parsed(124676);
    json_object_set_new(stack, "preload_sendfile_bytes", json_integer(0));
    cr_expect_not_null(app_identity_check(APP_NGINX, APP_WRK, c, s, stack, 1, 1, why, sizeof why));
    cr_expect(strstr(why, "wrk read 39269790 bytes but the server handed the stack only 31293669"),
              "%s", why);
    /* far more connections accepted than wrk opened and completed requests allow */
    json_object_set_new(stack, "preload_sendfile_bytes", json_integer(7979201));
    json_object_set_new(stack, "preload_accepts", json_integer(200000));
    cr_expect_not_null(app_identity_check(APP_NGINX, APP_WRK, c, s, stack, 1, 1, why, sizeof why));
    cr_expect(strstr(why, "accepted 200000 connections"), "%s", why);
    json_decref(s);
    json_decref(c);
    json_decref(stack);
}

Test(apps_identity, kernel_nginx_connections_from_passive_opens)
{
    json_t *stack, *c = nginx_trial(&stack), *s = parsed(124676);
    char why[320] = "", *snmp = slurp("proc_net_snmp.txt");
    unsigned long long n = 0;
    cr_assert_eq(app_passive_opens(snmp, &n, why, sizeof why), 0, "%s", why);
    cr_expect_gt(n, 0);
    cr_expect_eq(app_passive_opens("Tcp: A B\nTcp: 1 2\n", &n, why, sizeof why), -1);
    cr_expect_eq(app_passive_opens("Tcp: A PassiveOpens\nTcp: 1 42\n", &n, why, sizeof why), 0);
    cr_expect_eq(n, 42);
    json_object_set_new(s, "kernel_passive_opens", json_integer(33)); /* 16 x 2 runs + probe */
    cr_expect_null(app_identity_check(APP_NGINX, APP_WRK, c, s, NULL, 1, 1, why, sizeof why), "%s", why);
    json_object_set_new(s, "kernel_passive_opens", json_integer(20));
    cr_expect_not_null(app_identity_check(APP_NGINX, APP_WRK, c, s, NULL, 1, 1, why, sizeof why));
    cr_expect(strstr(why, "the DUT kernel (TcpPassiveOpens) accepted 20 connections"), "%s", why);
    free(snmp);
    json_decref(s);
    json_decref(c);
    json_decref(stack);
}

Test(apps_args, split_as_the_shell_would)
{
    char *argv[APP_MAX_ARGS + 1], why[256];
    cr_assert_eq(app_split_args("-t get,set -d 'two words' \"x y\"", argv, APP_MAX_ARGS, why,
                                sizeof why),
                 0, "%s", why);
    cr_expect_str_eq(argv[0], "-t");
    cr_expect_str_eq(argv[3], "two words");
    cr_expect_str_eq(argv[4], "x y");
    cr_expect_null(argv[5]);
    app_free_args(argv);
    cr_expect_eq(app_split_args("-n $(id)", argv, APP_MAX_ARGS, why, sizeof why), -1);
    cr_expect_eq(app_split_args("'open", argv, APP_MAX_ARGS, why, sizeof why), -1);
    cr_expect(strstr(why, "unbalanced quotes"), "%s", why);
    cr_expect_eq(app_split_args("a; rm x", argv, APP_MAX_ARGS, why, sizeof why), -1);
}

/* --- the suite's refusals ------------------------------------------------ */

static void refused(const char *text, const char *line_prefix, const char *what)
{
    static struct suite s;
    char err[1024] = "";
    cr_assert_eq(suite_load_string(text, "a.ini", &s, err, sizeof err), -1, "accepted:\n%s", text);
    cr_expect(strncmp(err, line_prefix, strlen(line_prefix)) == 0, "want %s..., got %s",
              line_prefix, err);
    cr_expect(strstr(err, what), "want '%s' in: %s", what, err);
}

#define SUITE "[suite]\ndrivers = kernel, afpacket\nduration = 2s\n" /* lines 1-3 */

Test(apps_suite, accepted_and_kept_per_workload)
{
    static struct suite s;
    char err[1024] = "";
    cr_assert_eq(suite_load_string(SUITE "[workload a]\npath = /bytes/64\nserver_app = nginx\n"
                                         "gen_app = wrk\ngen_args = -H 'X-A: 1'\n"
                                         "[workload r]\nserver_app = redis-server\n"
                                         "gen_app = redis-benchmark\nrequests = 1024\npipeline = 16\n"
                                         "gen_args = -t get,set\n"
                                         "[workload ours]\npath = /bytes/1k\n",
                                   "a.ini", &s, err, sizeof err),
                 0, "%s", err);
    const struct suite_app *a = suite_app_of(&s, "a");
    cr_expect_eq(a->server, APP_NGINX);
    cr_expect_eq(a->gen, APP_WRK);
    cr_expect_str_eq(a->gen_argv[1], "X-A: 1");
    cr_expect_eq(suite_app_of(&s, "r")->gen, APP_REDIS_BENCHMARK);
    cr_expect_eq(suite_app_of(&s, "ours")->server, APP_NONE);
    cr_expect_eq(suite_app_of(&s, "ours")->gen, APP_NONE);
    suite_free(&s);
}

Test(apps_suite, bad_combinations_refused_with_file_and_line)
{
    refused(SUITE "[workload a]\nserver_app = apache\n", "a.ini:5:", "unknown application 'apache'");
    refused(SUITE "[workload a]\nserver_app = wrk\n", "a.ini:5:", "wrk is a generator");
    refused(SUITE "[workload a]\ngen_app = nginx\n", "a.ini:5:", "nginx is a server");
    refused(SUITE "[workload a]\nserver_app = nginx\npath = /bytes/64\ngen_app = redis-benchmark\n"
                  "requests = 10\n",
            "a.ini:7:", "redis-benchmark speaks redis (RESP) but server_app nginx speaks HTTP");
    refused(SUITE "[workload a]\nserver_app = redis-server\ngen_app = wrk\n", "a.ini:6:",
            "gen_app wrk speaks HTTP but server_app redis-server speaks redis");
    refused(SUITE "[workload a]\nserver_app = redis-server\n", "a.ini:5:",
            "our generator ours speaks HTTP but server_app redis-server speaks redis");
    refused(SUITE "[workload a]\ngen_app = redis-benchmark\nrequests = 5\n", "a.ini:5:",
            "speaks redis (RESP) but our server ours speaks HTTP");
    refused(SUITE "[workload a]\nserver_app = nginx\npath = /index.html\n", "a.ini:5:",
            "serves /bytes/N only");
    refused(SUITE "[workload a]\ngen_app = wrk\nduration = 1500ms\n", "a.ini:5:",
            "takes whole seconds");
    refused(SUITE "[workload a]\ngen_app = wrk\nrequests = 100\n", "a.ini:5:",
            "runs for a duration");
    refused(SUITE "[workload a]\ngen_app = wrk\nmode = cps\n", "a.ini:5:", "runs mode = closed");
    refused(SUITE "[workload a]\ngen_app = wrk\npipeline = 4\n", "a.ini:5:", "does not pipeline");
    refused(SUITE "[workload a]\nserver_app = redis-server\ngen_app = redis-benchmark\n", "a.ini:6:",
            "set requests = N");
    refused(SUITE "[workload a]\nserver_app = redis-server\ngen_app = redis-benchmark\n"
                  "requests = 5000\npipeline = 16\n",
            "a.ini:6:", "must be a multiple of pipeline (16)");
    refused(SUITE "[workload c]\npath = /bytes/64\n[workload a]\nmode = open\n"
                  "path = /bytes/64\nserver_app = nginx\ncapacity = c\nloads = 50%\n",
            "a.ini:9:", "a load sweep (capacity, loads) runs ours only, not nginx");
    refused(SUITE "[workload a]\ngen_args = -k\n", "a.ini:5:", "gen_args without gen_app");
    refused(SUITE "[workload a]\nserver_args = -g x\n", "a.ini:5:", "server_args without server_app");
    refused(SUITE "[workload a]\ngen_app = ab\ngen_args = -n $(id)\n", "a.ini:6:",
            "command substitution");
    refused("[suite]\ndrivers = kernel, dpdk@ring\n[workload a]\nserver_app = nginx\n"
            "path = /bytes/1\n",
            "a.ini:4:", "the ring link has no kernel side for an application");
    refused("[suite]\ndrivers = io_uring\n[workload a]\nserver_app = nginx\npath = /bytes/1\n",
            "a.ini:4:", "its io_uring row would be the kernel row");
    refused("[suite]\ndrivers = afpacket\ndut = client\n[workload a]\nserver_app = nginx\n"
            "path = /bytes/1\n",
            "a.ini:5:", "dut = server only");
}

Test(apps_suite, drivers_override_refuses_the_ring_for_apps)
{
    static struct suite s;
    char err[1024] = "";
    cr_assert_eq(suite_load_string(SUITE "[workload a]\npath = /bytes/64\nserver_app = nginx\n",
                                   "a.ini", &s, err, sizeof err),
                 0, "%s", err);
    cr_expect_eq(suite_set_drivers(&s, "kernel,dpdk@ring", err, sizeof err), -1);
    cr_expect(strstr(err, "the ring link has no kernel side"), "%s", err);
    suite_free(&s);
}

Test(apps_info, packages_named)
{
    cr_expect_str_eq(app_info(APP_AB)->package, "apache2-utils");
    cr_expect_str_eq(app_info(APP_REDIS_BENCHMARK)->package, "redis-tools");
    char path[256], why[256];
    /* every template's program is installed where this test runs (make test installs them) */
    for (int id = APP_NGINX; id <= APP_REDIS_BENCHMARK; id++)
        cr_expect_eq(app_installed((enum app_id)id, path, sizeof path, why, sizeof why), 0, "%s",
                     why);
}

/* --- the plan: the command lines of the templates ------------------------ */

#include "harness/run/trial.h"

static char *joined(char *const *argv)
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

static struct suite ps;
static struct trial_plan pp;

static void plan_of(const char *wname, const char *entry)
{
    char err[1024] = "";
    static int loaded;
    if (!loaded) {
        cr_assert_eq(suite_load_string("[suite]\ndrivers = kernel, afpacket, dpdk\nduration = 2s\n"
                                       "warmup = 500ms\ndut_cpu = 1\ngen_cpu = 0\n"
                                       "[workload nw]\npath = /bytes/64\nconnections = 16\n"
                                       "server_app = nginx\ngen_app = wrk\n"
                                       "[workload ab]\nmode = cps\npath = /bytes/64\n"
                                       "connections = 8\nserver_app = nginx\ngen_app = ab\n"
                                       "[workload r]\nconnections = 4\npipeline = 16\n"
                                       "requests = 1600\nserver_app = redis-server\n"
                                       "server_args = --maxclients 100\n"
                                       "gen_app = redis-benchmark\ngen_args = -t get,set\n",
                                       "p.ini", &ps, err, sizeof err),
                     0, "%s", err);
        loaded = 1;
    }
    struct trial_ctx c = {.suite = &ps, .self = "/bb/bypassbench", .dir = "/run"};
    int i;
    for (i = 0; i < ps.nworkloads && strcmp(ps.workloads[i].name, wname); i++) {
    }
    cr_assert_lt(i, ps.nworkloads);
    trial_plan(&pp, &c, &ps.workloads[i], entry, 1, 1);
}

Test(apps_plan, nginx_plain_on_kernel_under_exec_on_our_stack)
{
    plan_of("nw", "kernel");
    cr_expect_eq(pp.sapp, APP_NGINX);
    cr_expect_eq(pp.app_stack, 0);
    HAS(pp.sargv, "taskset -c 1 /usr/sbin/nginx -p /run/logs/nw-kernel-r1.app -c ");
    LACKS(pp.sargv, " exec ");
    HAS(pp.cargv, "taskset -c 0 /usr/bin/wrk -t1 -c 16 -d 2 --timeout 10 -s "
                  "/run/logs/nw-kernel-r1.app/bb.lua http://198.18.0.2:8080/bytes/64");
    /* the warm-up run: 500 ms rounded up to wrk's whole second */
    HAS(pp.wargv, "/usr/bin/wrk -t1 -c 16 -d 1 ");
    plan_of("nw", "afpacket");
    cr_expect_eq(pp.app_stack, 1);
    HAS(pp.sargv, "taskset -c 1 /bb/bypassbench exec --driver afpacket --iface bb-dut0 --ip "
                  "198.18.0.2/24 ");
    HAS(pp.sargv, "--stats /run/logs/nw-afpacket-r1.app/preload.stats -- /usr/sbin/nginx -p ");
    plan_of("nw", "dpdk");
    HAS(pp.sargv, "exec --driver dpdk --ip 198.18.0.2/24 --opt vdev=net_af_packet0,iface=bb-dut0");
}

Test(apps_plan, ab_without_keepalive_for_cps_and_redis_templates)
{
    plan_of("ab", "kernel");
    LACKS(pp.cargv, " -k ");
    HAS(pp.cargv, "/usr/bin/ab -c 8 -t 2 -n 1000000 -s 10 -e /run/logs/ab-kernel-r1.app/ab.csv "
                  "http://198.18.0.2:8080/bytes/64");
    plan_of("r", "afpacket");
    HAS(pp.sargv, "-- /usr/bin/redis-server --bind 198.18.0.2 --port 8080 --save  --appendonly no "
                  "--daemonize no --protected-mode no --dir /run/logs/r-afpacket-r1.app "
                  "--maxclients 100");
    HAS(pp.cargv, "/usr/bin/redis-benchmark -h 198.18.0.2 -p 8080 -c 4 -n 1600 -P 16 --csv -t get,set");
    cr_expect_null(pp.wargv[0], "redis-benchmark runs a count: no warm-up run");
}
