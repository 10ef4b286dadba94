/*
 * fixed_server.h — the server that stays the same when the client is the
 * device under test (`dut = client`, issue 18): our server on the kernel
 * driver (planned like any `serve`) or Debian's nginx with the built-in
 * harness/run/nginx.conf. For nginx: the files it serves (the /bytes/N
 * pattern, so the client checks every byte), its configuration per trial,
 * and its access log read back into a server JSON of the shape `serve`
 * writes (stats.requests_parsed, stats.responses), so the trial's identity
 * check is the same for both servers.
 * Callers: harness/cli/run.c, harness/run/plan.c, harness/run/trial.c, tests.
 * Calls: workloads/pattern.c, workloads/units.c, topo_cmd, jansson.
 */
#ifndef BB_RUN_FIXED_SERVER_H
#define BB_RUN_FIXED_SERVER_H

#include "harness/run/suite.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FIXED_NGINX_CONF_SOURCE "harness/run/nginx.conf"

/* The configuration template as built in (NUL-terminated). */
const char *fixed_nginx_template(void);

/* Every workload path nginx can serve is /bytes/N (a file of N pattern
 * bytes): NULL, or the first workload whose path is not (its name in why). */
const char *fixed_nginx_path_bad(const struct suite *s, char *why, size_t len);

/* DIR/www/bytes/<N> for every /bytes/N path of the suite (and /bytes/1, the
 * readiness probe's), each holding the pattern; www gets DIR/www. 0 or -1. */
int fixed_www_prepare(const struct suite *s, const char *dir, char *www, size_t wwwlen, char *err,
                      size_t errlen);
/* Removes what fixed_www_prepare wrote (the files are large). 0 or -1. */
int fixed_www_remove(const char *www, char *err, size_t errlen);

/* The template with @PREFIX@, @WWW@, @PORT@ and @IDLE@ filled in, malloc'd. */
char *fixed_nginx_render(const char *prefix, const char *www, uint16_t port,
                         uint64_t idle_timeout_ns);

/* An access log in the template's format ("STATUS BODY_BYTES REQUEST_LENGTH"
 * per line) as a server JSON: {"stats": {"requests_parsed", "responses":
 * {"2xx".."5xx"}, "body_bytes_out"}, "server": "nginx"}; NULL with err when
 * the log is missing or a line is not in that format. */
json_t *fixed_nginx_log_json(const char *access_log, char *err, size_t errlen);

/* Debian's nginx package version ("1.22.1-9"), or why not. */
void fixed_nginx_version(char *buf, size_t len);

#endif
