/*
 * apps.c — the application templates of a suite, their output parsers and
 * the identity check of an application trial (see apps.h).
 *
 *   wrk:             its done() (app_wrk_script) prints the exact counters
 *                    on one line; nothing is read from the rounded summary
 *   ab:              its report's counts and times, the -e CSV's
 *                    percentiles (ms with three decimals: microseconds)
 *   redis-benchmark: its --csv rows, one per test
 *
 * Calls: jansson, wordexp(3), topo_cmd (dpkg-query), preload_find_program.
 */
#include "harness/run/apps.h"

#include "harness/run/preload.h"
#include "harness/run/topo.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wordexp.h>

static const struct app_info apps[] = {
    [APP_NONE] = {"ours", NULL, NULL, APP_SERVER, APP_HTTP},
    [APP_NGINX] = {"nginx", "nginx", "nginx", APP_SERVER, APP_HTTP},
    [APP_REDIS_SERVER] = {"redis-server", "redis-server", "redis-server", APP_SERVER, APP_REDIS},
    [APP_WRK] = {"wrk", "wrk", "wrk", APP_GEN, APP_HTTP},
    [APP_AB] = {"ab", "ab", "apache2-utils", APP_GEN, APP_HTTP},
    [APP_REDIS_BENCHMARK] = {"redis-benchmark", "redis-benchmark", "redis-tools", APP_GEN,
                             APP_REDIS},
};
#define NAPPS ((int)(sizeof apps / sizeof apps[0]))

const struct app_info *app_info(enum app_id id)
{
    return (int)id >= 0 && (int)id < NAPPS ? &apps[id] : NULL;
}

int app_find(const char *name, enum app_role role, char *why, size_t whylen)
{
    if (strcmp(name, "ours") == 0) return APP_NONE;
    for (int i = 1; i < NAPPS; i++)
        if (strcmp(apps[i].name, name) == 0) {
            if (apps[i].role == role) return i;
            snprintf(why, whylen, "%s is a %s, not a %s", name,
                     apps[i].role == APP_SERVER ? "server (server_app)" : "generator (gen_app)",
                     role == APP_SERVER ? "server" : "generator");
            return -1;
        }
    snprintf(why, whylen, "unknown application '%s' (%s: ours, %s)", name,
             role == APP_SERVER ? "servers" : "generators",
             role == APP_SERVER ? "nginx, redis-server" : "wrk, ab, redis-benchmark");
    return -1;
}

int app_installed(enum app_id id, char *path, size_t pathlen, char *why, size_t whylen)
{
    const struct app_info *a = app_info(id);
    char err[512];
    if (!a || !a->bin) {
        snprintf(why, whylen, "not an application");
        return -1;
    }
    /* root's PATH may lack /usr/sbin (nginx) in some environments */
    if (preload_find_program(a->bin, path, pathlen, err, sizeof err) == 0) return 0;
    static const char *const dirs[] = {"/usr/sbin", "/usr/bin", "/usr/local/bin"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dirs[i], a->bin);
        if (preload_find_program(p, path, pathlen, err, sizeof err) == 0) return 0;
    }
    snprintf(why, whylen, "%s is not installed (apt-get install %s)", a->bin, a->package);
    return -1;
}

void app_version(enum app_id id, char *buf, size_t len)
{
    const struct app_info *a = app_info(id);
    char *argv[] = {"dpkg-query", "-W", "-f=${Version}", (char *)(a && a->package ? a->package : "none"),
                    NULL};
    char out[128] = "", err[256];
    if (topo_cmd(argv, out, sizeof out, err, sizeof err) == 0 && out[0])
        snprintf(buf, len, "%s %s", a->package, out);
    else
        snprintf(buf, len, "unknown: %s", err);
}

int app_split_args(const char *value, char **out, int max, char *why, size_t whylen)
{
    wordexp_t we;
    out[0] = NULL;
    int rc = wordexp(value, &we, WRDE_NOCMD | WRDE_UNDEF);
    if (rc != 0) {
        snprintf(why, whylen, "%s",
                 rc == WRDE_BADCHAR ? "a character the shell would treat specially (| & ; < > ( ) { } or a newline): quote it"
                 : rc == WRDE_CMDSUB ? "command substitution is not allowed"
                 : rc == WRDE_BADVAL ? "an undefined shell variable"
                 : rc == WRDE_SYNTAX ? "unbalanced quotes"
                                     : "cannot split it into arguments");
        return -1;
    }
    if ((int)we.we_wordc > max) {
        snprintf(why, whylen, "%zu arguments, at most %d", we.we_wordc, max);
        wordfree(&we);
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < we.we_wordc; i++) {
        out[n] = strdup(we.we_wordv[i]);
        if (!out[n]) {
            out[n] = NULL;
            app_free_args(out);
            wordfree(&we);
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        n++;
    }
    out[n] = NULL;
    wordfree(&we);
    return 0;
}

void app_free_args(char **argv)
{
    for (int i = 0; argv[i]; i++) {
        free(argv[i]);
        argv[i] = NULL;
    }
}

const char *app_wrk_script(void)
{
    return "-- written by bypassbench (harness/run/apps.c): wrk's exact counters at the end,\n"
           "-- one line, nothing rounded (latency in microseconds, wrk's own unit)\n"
           "done = function(summary, latency, requests)\n"
           "  local e = summary.errors\n"
           "  io.write(string.format(\"bb-wrk requests=%d bytes=%d duration_us=%d connect=%d \" ..\n"
           "    \"read=%d write=%d status=%d timeout=%d lat_min_us=%d lat_mean_us=%.3f \" ..\n"
           "    \"lat_max_us=%d lat_p50_us=%d lat_p90_us=%d lat_p99_us=%d lat_p999_us=%d\\n\",\n"
           "    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write,\n"
           "    e.status, e.timeout, latency.min, latency.mean, latency.max,\n"
           "    latency:percentile(50), latency:percentile(90), latency:percentile(99),\n"
           "    latency:percentile(99.9)))\n"
           "end\n";
}

/* --- parsers ------------------------------------------------------------ */

static json_t *lat_json(double p50_us, double p90_us, double p99_us, double p999_us, double max_us,
                        double mean_us)
{
    json_t *l = json_object();
    const struct {
        const char *k;
        double v;
    } f[] = {{"p50_ns", p50_us}, {"p90_ns", p90_us},  {"p99_ns", p99_us},
             {"p999_ns", p999_us}, {"max_ns", max_us}, {"mean_ns", mean_us}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v >= 0) json_object_set_new(l, f[i].k, json_real(f[i].v * 1000.0));
    return l;
}

json_t *app_parse_wrk(const char *out, char *why, size_t whylen)
{
    const char *l = out ? strstr(out, "bb-wrk ") : NULL;
    while (l && l != out && l[-1] != '\n') /* at the start of a line */
        l = strstr(l + 1, "bb-wrk ");
    unsigned long long req, bytes, dur, ec, er, ew, es, et, mn, mx, p50, p90, p99, p999;
    double mean;
    if (!l || sscanf(l,
                     "bb-wrk requests=%llu bytes=%llu duration_us=%llu connect=%llu read=%llu "
                     "write=%llu status=%llu timeout=%llu lat_min_us=%llu lat_mean_us=%lf "
                     "lat_max_us=%llu lat_p50_us=%llu lat_p90_us=%llu lat_p99_us=%llu "
                     "lat_p999_us=%llu",
                     &req, &bytes, &dur, &ec, &er, &ew, &es, &et, &mn, &mean, &mx, &p50, &p90, &p99,
                     &p999) != 15) {
        snprintf(why, whylen, "wrk's output has no complete 'bb-wrk requests=...' line (its Lua "
                              "done() did not run: wrk failed before the end of its run?)");
        return NULL;
    }
    if (dur == 0) {
        snprintf(why, whylen, "wrk reported a run of 0 us");
        return NULL;
    }
    double secs = (double)dur / 1e6;
    unsigned long long errs = ec + er + ew + es + et;
    json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I},s:f,s:f,s:I}", "source", "wrk",
                          "requests", (json_int_t)req, "bytes_read", (json_int_t)bytes,
                          "errors_total", (json_int_t)errs, "errors", "connect", (json_int_t)ec,
                          "read", (json_int_t)er, "write", (json_int_t)ew, "status_not_2xx_3xx",
                          (json_int_t)es, "timeout", (json_int_t)et, "rps", (double)req / secs,
                          "gbps", (double)bytes * 8 / secs / 1e9, "measured_ns",
                          (json_int_t)dur * 1000);
    json_object_set_new(j, "latency", lat_json((double)p50, (double)p90, (double)p99, (double)p999,
                                               (double)mx, mean));
    json_object_set_new(j, "latency_unit", json_string("wrk's histogram, 1 us resolution"));
    return j;
}

/* The number after "Key:" on a line of ab's report; -1 when absent. */
static int ab_field(const char *out, const char *key, double *v)
{
    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        size_t k = strlen(key);
        if (strncmp(p, key, k) == 0 && sscanf(p + k, " %lf", v) == 1) return 0;
    }
    return -1;
}

json_t *app_parse_ab(const char *out, const char *csv, char *why, size_t whylen)
{
    double complete, failed, total, taken, tpr, non2xx = 0;
    if (!out || ab_field(out, "Complete requests:", &complete) < 0 ||
        ab_field(out, "Failed requests:", &failed) < 0 ||
        ab_field(out, "Total transferred:", &total) < 0 ||
        ab_field(out, "Time taken for tests:", &taken) < 0 ||
        ab_field(out, "Time per request:", &tpr) < 0) {
        snprintf(why, whylen, "ab's report lacks Complete requests, Failed requests, Total "
                              "transferred, Time taken for tests or Time per request (ab "
                              "stopped before its report?)");
        return NULL;
    }
    ab_field(out, "Non-2xx responses:", &non2xx);
    if (taken <= 0) {
        snprintf(why, whylen, "ab reported a run of 0 seconds");
        return NULL;
    }
    /* "   (Connect: 0, Receive: 0, Length: 5, Exceptions: 0)" after Failed */
    unsigned long long fc = 0, fr = 0, fl = 0, fe = 0;
    const char *br = strstr(out, "(Connect: ");
    if (br) sscanf(br, "(Connect: %llu, Receive: %llu, Length: %llu, Exceptions: %llu)", &fc, &fr, &fl, &fe);
    /* the -e CSV: "Percentage served,Time in ms", then P,MS for P = 0..100 */
    double pct[101];
    int have = 0;
    const char *p = csv ? strchr(csv, '\n') : NULL;
    if (!csv || strncmp(csv, "Percentage served,Time in ms", 28) != 0) p = NULL;
    for (; p && *p; p = strchr(p, '\n')) {
        p++;
        int i;
        double ms;
        if (sscanf(p, "%d,%lf", &i, &ms) == 2 && i >= 0 && i <= 100) {
            pct[i] = ms;
            have++;
        }
    }
    if (have != 101) {
        snprintf(why, whylen, "ab's -e CSV has %d of the 101 percentile rows (0..100)", have);
        return NULL;
    }
    unsigned long long errs = (unsigned long long)failed + (unsigned long long)non2xx;
    json_t *j = json_pack(
        "{s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I},s:f,s:f,s:I}", "source", "ab", "requests",
        (json_int_t)complete, "bytes_read", (json_int_t)total, "errors_total", (json_int_t)errs,
        "errors", "failed_connect", (json_int_t)fc, "failed_receive", (json_int_t)fr,
        "failed_length", (json_int_t)fl, "failed_exceptions", (json_int_t)fe, "non_2xx",
        (json_int_t)non2xx, "rps", complete / taken, "gbps", total * 8 / taken / 1e9,
        "measured_ns", (json_int_t)(taken * 1e9));
    /* ab's percentiles in ms (three decimals); its mean is "Time per
     * request" per connection; p99.9 it does not give */
    json_object_set_new(j, "latency", lat_json(pct[50] * 1e3, pct[90] * 1e3, pct[99] * 1e3, -1,
                                               pct[100] * 1e3, tpr * 1e3));
    json_object_set_new(j, "latency_unit", json_string("ab -e CSV, ms with 3 decimals"));
    if (failed > 0 && !(fc + fr + fl + fe)) /* no breakdown line: count them as one kind */
        json_object_set_new(json_object_get(j, "errors"), "failed", json_integer((json_int_t)failed));
    return j;
}

/* The redis command a redis-benchmark test runs: its name up to the first
 * '_', ' ' or '(' in lower case ("PING_INLINE" -> ping, "MSET (10 keys)" ->
 * mset, "LRANGE_100 (first 100 elements)" -> lrange). */
static void redis_test_cmd(const char *test, char *cmd, size_t len)
{
    size_t k = 0;
    while (test[k] && test[k] != '_' && test[k] != ' ' && test[k] != '(' && k + 1 < len) {
        cmd[k] = (char)tolower((unsigned char)test[k]);
        k++;
    }
    cmd[k] = 0;
}

json_t *app_parse_redis_bench(const char *csv, unsigned long long requests_per_test, char *why,
                              size_t whylen)
{
    static const char head[] =
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
        "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"";
    const char *p = csv ? strstr(csv, head) : NULL;
    if (!p) {
        snprintf(why, whylen, "redis-benchmark's output has no --csv header (%.40s...)", head);
        return NULL;
    }
    json_t *per = json_array();
    double secs = 0, mean_sum = 0, p50 = 0, p95 = 0, p99 = 0, mx = 0;
    int rows = 0;
    for (p = strchr(p, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        char test[96], cmd[32];
        double rps, avg, mn, a50, a95, a99, amax;
        if (sscanf(p + 1, "\"%95[^\"]\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\"", test,
                   &rps, &avg, &mn, &a50, &a95, &a99, &amax) != 8)
            continue; /* not a row (a stray message line) */
        if (rps <= 0) {
            snprintf(why, whylen, "redis-benchmark test %s: %g requests per second", test, rps);
            json_decref(per);
            return NULL;
        }
        redis_test_cmd(test, cmd, sizeof cmd);
        json_array_append_new(
            per, json_pack("{s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "test", test, "command", cmd,
                           "requests", (json_int_t)requests_per_test, "rps", rps, "mean_ns",
                           avg * 1e6, "min_ns", mn * 1e6, "p50_ns", a50 * 1e6, "p95_ns", a95 * 1e6,
                           "p99_ns", a99 * 1e6, "max_ns", amax * 1e6));
        secs += (double)requests_per_test / rps;
        mean_sum += avg;
        p50 = a50 > p50 ? a50 : p50, p95 = a95 > p95 ? a95 : p95;
        p99 = a99 > p99 ? a99 : p99, mx = amax > mx ? amax : mx;
        rows++;
    }
    if (!rows) {
        snprintf(why, whylen, "redis-benchmark printed its --csv header but no test row");
        json_decref(per);
        return NULL;
    }
    double reqs = (double)requests_per_test * rows;
    json_t *j = json_pack("{s:s,s:I,s:I,s:{},s:f,s:f,s:I,s:o}", "source", "redis-benchmark",
                          "requests", (json_int_t)reqs, "errors_total", (json_int_t)0, "errors",
                          "rps", reqs / secs, "gbps", 0.0, "measured_ns", (json_int_t)(secs * 1e9),
                          "per_command", per);
    /* no merged histogram: the worst test's percentiles, the tests' mean */
    json_object_set_new(j, "latency",
                        lat_json(p50 * 1e3, -1, p99 * 1e3, -1, mx * 1e3, mean_sum / rows * 1e3));
    json_object_set_new(j, "latency_unit",
                        json_string("redis-benchmark --csv, ms with 3 decimals; the worst of "
                                    "its tests' percentiles"));
    json_object_set_new(j, "rps_note",
                        json_string("each test's rps is its requests over its time in whole ms; "
                                    "the total is every test's requests over the sum of their "
                                    "times"));
    return j;
}

json_t *app_redis_commandstats(const char *info, char *why, size_t whylen)
{
    if (!info || !strstr(info, "# Commandstats")) {
        snprintf(why, whylen, "redis-cli INFO commandstats printed no '# Commandstats' section");
        return NULL;
    }
    json_t *j = json_object();
    for (const char *p = info; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        char name[64];
        unsigned long long calls;
        if (sscanf(p, "cmdstat_%63[^:]:calls=%llu", name, &calls) == 2)
            json_object_set_new(j, name, json_integer((json_int_t)calls));
    }
    return j;
}

int app_passive_opens(const char *snmp, unsigned long long *n, char *why, size_t whylen)
{
    /* "Tcp: RtoAlgorithm ... PassiveOpens ...\nTcp: 1 200 ... N ..." */
    const char *h = snmp ? strstr(snmp, "Tcp: ") : NULL;
    const char *v = h ? strstr(h + 5, "\nTcp: ") : NULL;
    if (!h || !v) {
        snprintf(why, whylen, "no Tcp: lines in /proc/net/snmp");
        return -1;
    }
    int col = -1, i = 0;
    for (const char *p = h + 5; *p && *p != '\n'; i++) {
        size_t len = strcspn(p, " \n");
        if (len == 12 && strncmp(p, "PassiveOpens", 12) == 0) col = i;
        p += len;
        while (*p == ' ') p++;
    }
    const char *p = v + 6;
    for (i = 0; col >= 0 && i < col && *p && *p != '\n'; i++) {
        p += strcspn(p, " \n");
        while (*p == ' ') p++;
    }
    if (col < 0 || sscanf(p, "%llu", n) != 1) {
        snprintf(why, whylen, "no PassiveOpens value in /proc/net/snmp");
        return -1;
    }
    return 0;
}

json_t *app_stats_file_json(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(why, whylen, "the preload library's counters %s: cannot open (did the server "
                              "exit normally?)",
                 path);
        return NULL;
    }
    json_t *j = json_object();
    char line[256];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128];
        unsigned long long v;
        ln++;
        if (sscanf(line, "%127s %llu", name, &v) != 2) {
            snprintf(why, whylen, "%s:%d: not 'name value'", path, ln);
            fclose(f);
            json_decref(j);
            return NULL;
        }
        json_object_set_new(j, name, json_integer((json_int_t)v));
    }
    fclose(f);
    if (!json_object_get(j, "preload_accepts")) {
        snprintf(why, whylen, "%s has no preload_accepts counter", path);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* --- the identity check -------------------------------------------------- */

static unsigned long long jull(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (unsigned long long)json_integer_value(v)
                              : (unsigned long long)json_number_value(v);
}

static const char *errors_why(json_t *client, char *why, size_t len)
{
    int n = snprintf(why, len, "%llu client errors (%s", jull(client, "errors_total"),
                     json_string_value(json_object_get(client, "source")));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(client, "errors"), k, v)
    {
        if (json_integer_value(v) <= 0 || n < 0 || (size_t)n >= len) continue;
        n += snprintf(why + n, len - (size_t)n, ", %s %lld", k, (long long)json_integer_value(v));
    }
    if (n >= 0 && (size_t)n < len) snprintf(why + n, len - (size_t)n, ")");
    return why;
}

static const char *http_check(enum app_id server, json_t *client, json_t *server_json,
                              json_t *stack, int probes, int tries, char *why, size_t len)
{
    const char *gen = json_string_value(json_object_get(client, "source"));
    json_t *ss = json_object_get(server_json, "stats");
    unsigned long long done = jull(client, "requests_total"), conns = jull(client, "connections"),
                       runs = jull(client, "runs"), parsed = jull(ss, "requests_parsed");
    unsigned long long open = conns * (runs ? runs : 1); /* one request in flight per connection */
    const char *who = server == APP_NGINX ? "nginx's access log" : "our server";
    if (!json_object_get(ss, "requests_parsed")) {
        snprintf(why, len, "the server's JSON has no stats.requests_parsed");
        return why;
    }
    if (parsed < done + (unsigned long long)probes) {
        snprintf(why, len,
                 "%s counts %llu requests but %s completed %llu (+%d readiness probe)", who,
                 parsed, gen, done, probes);
        return why;
    }
    if (parsed > done + (unsigned long long)tries + open) {
        snprintf(why, len,
                 "%s counts %llu requests, more than %s completed (%llu) + %d probe tries + one "
                 "in flight per connection (%llu)",
                 who, parsed, gen, done, tries, open);
        return why;
    }
    /* the connections the DUT accepted: the stack's count under the preload
     * library, the DUT kernel's TcpPassiveOpens on kernel sockets */
    json_t *po = json_object_get(server_json, "kernel_passive_opens");
    if (!stack && !json_is_integer(po)) return NULL;
    unsigned long long acc = stack ? jull(stack, "preload_accepts") : (unsigned long long)json_integer_value(po);
    unsigned long long lo = (json_is_true(json_object_get(client, "keepalive")) ? open : done) +
                            (unsigned long long)probes,
                       hi = done + open + (unsigned long long)tries;
    if (acc < lo || acc > hi) {
        snprintf(why, len,
                 "the %s accepted %llu connections; %s's %llu connections x %llu run(s) and "
                 "%llu completed requests (+%d to %d probes) allow %llu to %llu",
                 stack ? "stack" : "DUT kernel (TcpPassiveOpens)", acc, gen, conns, runs, done,
                 probes, tries, lo, hi);
        return why;
    }
    if (!stack) return NULL;
    unsigned long long sent = jull(stack, "preload_send_bytes") + jull(stack, "preload_sendfile_bytes"),
                       got = jull(client, "bytes_total");
    unsigned long long per = done ? got / done : 0;
    if (sent < got) {
        snprintf(why, len,
                 "%s read %llu bytes but the server handed the stack only %llu to send "
                 "(preload_send_bytes + preload_sendfile_bytes)",
                 gen, got, sent);
        return why;
    }
    if (sent > got + (open + (unsigned long long)tries) * per) {
        snprintf(why, len,
                 "the server handed the stack %llu bytes to send, more than %s read (%llu) + "
                 "%llu responses of %llu bytes in flight or probes",
                 sent, gen, got, open + (unsigned long long)tries, per);
        return why;
    }
    return NULL;
}

static const char *redis_check(json_t *client, json_t *server_json, json_t *stack, int probes,
                               int tries, char *why, size_t len)
{
    json_t *cs = json_object_get(server_json, "commandstats");
    if (!json_is_object(cs)) {
        snprintf(why, len, "no redis commandstats from the server (INFO commandstats)");
        return why;
    }
    json_t *want = json_object();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(client, "per_command"), i, t)
    {
        const char *cmd = json_string_value(json_object_get(t, "command"));
        if (!cmd) continue;
        json_object_set_new(want, cmd,
                            json_integer((json_int_t)(jull(want, cmd) + jull(t, "requests"))));
    }
    const char *k;
    json_t *v;
    const char *bad = NULL;
    json_object_foreach(want, k, v)
    {
        int ping = strcmp(k, "ping") == 0; /* the probe's PINGs: answered to tried */
        unsigned long long expect = (unsigned long long)json_integer_value(v) +
                                    (ping ? (unsigned long long)probes : 0),
                           most = expect + (ping ? (unsigned long long)(tries - probes) : 0);
        unsigned long long calls = jull(cs, k);
        if (calls < expect || calls > most) {
            snprintf(why, len,
                     "redis-server ran %llu %s commands (INFO commandstats) but redis-benchmark "
                     "completed %llu",
                     calls, k, expect);
            bad = why;
            break;
        }
    }
    json_decref(want);
    if (bad) return bad;
    json_t *po = json_object_get(server_json, "kernel_passive_opens");
    if (stack || json_is_integer(po)) {
        unsigned long long acc = stack ? jull(stack, "preload_accepts")
                                       : (unsigned long long)json_integer_value(po),
                           conns = jull(client, "connections");
        if (acc < conns + (unsigned long long)probes) {
            snprintf(why, len,
                     "the %s accepted %llu connections, fewer than redis-benchmark's %llu (+%d "
                     "probe)",
                     stack ? "stack" : "DUT kernel (TcpPassiveOpens)", acc, conns, probes);
            return why;
        }
    }
    return NULL;
}

const char *app_identity_check(enum app_id server, enum app_id gen, json_t *client, json_t *server_json,
                               json_t *stack, int probes, int tries, char *why, size_t whylen)
{
    (void)gen;
    if (jull(client, "errors_total") > 0) return errors_why(client, why, whylen);
    if (jull(client, "requests") == 0) {
        snprintf(why, whylen, "no request completed in the measured run");
        return why;
    }
    if (server == APP_REDIS_SERVER)
        return redis_check(client, server_json, stack, probes, tries, why, whylen);
    return http_check(server, client, server_json, stack, probes, tries, why, whylen);
}

json_t *app_client_json(json_t *measured, json_t *warm, unsigned connections, int keepalive)
{
    json_t *c = measured;
    unsigned long long req = jull(c, "requests") + (warm ? jull(warm, "requests") : 0),
                       bytes = jull(c, "bytes_read") + (warm ? jull(warm, "bytes_read") : 0),
                       errs = jull(c, "errors_total") + (warm ? jull(warm, "errors_total") : 0);
    json_object_set_new(c, "requests_total", json_integer((json_int_t)req));
    json_object_set_new(c, "bytes_total", json_integer((json_int_t)bytes));
    json_object_set_new(c, "errors_total", json_integer((json_int_t)errs));
    json_object_set_new(c, "runs", json_integer(warm ? 2 : 1));
    json_object_set_new(c, "connections", json_integer((json_int_t)connections));
    json_object_set_new(c, "keepalive", json_boolean(keepalive));
    if (warm) {
        const char *k;
        json_t *v, *e = json_object_get(c, "errors");
        json_object_foreach(json_object_get(warm, "errors"), k, v)
            json_object_set_new(e, k, json_integer((json_int_t)(jull(e, k) + jull(json_object_get(warm, "errors"), k))));
        json_object_set_new(c, "warmup_run", warm);
    }
    return c;
}
