/*
 * apps.h — unmodified applications in a suite (issue 17): a [workload NAME]
 * may name a stock program as the server (server_app = nginx|redis-server)
 * or as the generator (gen_app = wrk|ab|redis-benchmark) instead of ours.
 * This file holds the templates (what each program is, its package, which
 * side it plays and what protocol it speaks), the parsers that turn each
 * generator's own output into the client JSON the record reads (the fields
 * `load --json` writes: requests, rps, latency.*, errors), the readers of
 * the server side's counts (redis INFO commandstats, exec --stats), and the
 * identity check of the client's exact counts against the DUT's.
 *
 *   suite.c  -> app_find(), app_installed(), app_split_args()  (load time)
 *   plan.c   -> app_info() (argv templates are built there)
 *   trial.c  -> app_parse_*() after the generator exits, app_redis_stats(),
 *               app_stats_file_json()
 *   record.c -> app_identity_check()
 *
 * Library-like: no printing, no exit. Calls: jansson, wordexp(3).
 */
#ifndef BB_RUN_APPS_H
#define BB_RUN_APPS_H

#include <jansson.h>
#include <stddef.h>

enum app_id { APP_NONE = 0, APP_NGINX, APP_REDIS_SERVER, APP_WRK, APP_AB, APP_REDIS_BENCHMARK };
enum app_role { APP_SERVER = 0, APP_GEN = 1 };
enum app_proto { APP_HTTP = 0, APP_REDIS = 1 };

#define APP_MAX_ARGS 24 /* extra arguments of server_args / gen_args */

struct app_info {
    const char *name;    /* the suite's value: "wrk" */
    const char *bin;     /* the program looked up in PATH */
    const char *package; /* the Debian package that has it */
    enum app_role role;
    enum app_proto proto;
};

/* The per-workload application keys of a suite (suite.h holds one per workload). */
struct suite_app {
    enum app_id server, gen;                      /* APP_NONE: ours */
    char *server_argv[APP_MAX_ARGS + 1];          /* server_args split, NULL-terminated */
    char *gen_argv[APP_MAX_ARGS + 1];             /* gen_args split */
    int server_line, gen_line, server_args_line, gen_args_line; /* 0: not given */
};

const struct app_info *app_info(enum app_id id);
/* The app of that name and role, or APP_NONE (-1 when the name is unknown
 * or plays the other role: why says which). */
int app_find(const char *name, enum app_role role, char *why, size_t whylen);
/* 0 when the program is found in PATH (its path in path), else -1 with why
 * naming the package to install. */
int app_installed(enum app_id id, char *path, size_t pathlen, char *why, size_t whylen);
/* The package's version (dpkg-query), or "unknown: ...". */
void app_version(enum app_id id, char *buf, size_t len);
/* Splits a value as the shell would (wordexp, no command substitution, no
 * undefined variables) into out (malloc'd strings, NULL-terminated). 0, or
 * -1 with why. */
int app_split_args(const char *value, char **out, int max, char *why, size_t whylen);
void app_free_args(char **argv);

/* The Lua script wrk runs (-s): its done() prints one line,
 * "bb-wrk requests=N bytes=N duration_us=N connect=N read=N write=N status=N
 * timeout=N lat_min_us=N lat_mean_us=X lat_max_us=N lat_p50_us=N
 * lat_p90_us=N lat_p99_us=N lat_p999_us=N", wrk's exact counters. */
const char *app_wrk_script(void);

/* Parsers. Each returns the client JSON of one run (a new reference) with:
 * source, requests (completed), errors_total, errors {kind: n}, rps,
 * measured_ns, latency {p50_ns, p90_ns, p99_ns, p999_ns (wrk), max_ns,
 * mean_ns} where the program gives them, bytes_read (wrk, ab), and for
 * redis-benchmark per_command [{test, requests, rps, p50_ns, ...}]; or NULL
 * with why (the output is not what the program prints on success).
 * wrk: its stdout with the bb-wrk line of app_wrk_script(). ab: its stdout
 * and the -e CSV (percentiles in ms, three decimals). redis-benchmark: its
 * --csv stdout, with requests_per_test the -n it ran. */
json_t *app_parse_wrk(const char *out, char *why, size_t whylen);
json_t *app_parse_ab(const char *out, const char *csv, char *why, size_t whylen);
json_t *app_parse_redis_bench(const char *csv, unsigned long long requests_per_test, char *why,
                              size_t whylen);

/* The client JSON of an application trial (the record's "client"): the
 * measured run's parse, the warm-up run's (or NULL) counts added into
 * requests_total, bytes_total, errors_total and errors, its parse kept as
 * warmup_run; runs, connections and keepalive set. Takes both references. */
json_t *app_client_json(json_t *measured, json_t *warm, unsigned connections, int keepalive);

/* redis-cli INFO commandstats text as {"cmd": calls, ...}; NULL with why. */
json_t *app_redis_commandstats(const char *info, char *why, size_t whylen);
/* TcpPassiveOpens of a /proc/net/snmp text (connections the kernel
 * accepted): 0 with *n, or -1 with why. */
int app_passive_opens(const char *snmp, unsigned long long *n, char *why, size_t whylen);
/* An exec --stats file ("name value" lines) as {"name": value}; NULL with why. */
json_t *app_stats_file_json(const char *path, char *why, size_t whylen);

/* The identity check of an application trial: the client's exact counts
 * against the DUT's (see README, "Applications"). client: the generator's
 * JSON with requests_total (completed over every run, warm-up included),
 * runs (generator runs) and connections; server: the server JSON (nginx:
 * its access log's stats; ours: serve's stats; redis: commandstats);
 * stack: the preload library's --stats counters, or NULL for a server on
 * kernel sockets (whose server JSON may then carry kernel_passive_opens,
 * the DUT namespace's TcpPassiveOpens over the server's run). probes: readiness probes the server answered;
 * tries: probe tries that reached it (a try that timed out may still have been served). NULL when
 * they agree, else why (in why). */
const char *app_identity_check(enum app_id server, enum app_id gen, json_t *client, json_t *server_json,
                               json_t *stack, int probes, int tries, char *why, size_t whylen);

#endif
