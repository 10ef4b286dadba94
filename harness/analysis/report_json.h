/*
 * report_json.h — the JSON documents `bypassbench serve --json` and
 * `bypassbench load --json` write, shared with `bypassbench pair`
 * (--server-json, --client-json) so that all of them write the same thing.
 * Callers: harness/cli/serve.c, load.c, pair.c. Calls: jansson,
 * cli_counters_json/cli_rusage_json (cli.c).
 */
#ifndef BB_REPORT_JSON_H
#define BB_REPORT_JSON_H

#include "loadgen.h"
#include "netio.h"
#include "server.h"

#include <jansson.h>

/* The server's document: role, driver, stats, driver_counters (of io),
 * rusage (this process), ok. */
json_t *report_server_json(const char *driver, const struct srv_stats *st, struct netio *io,
                           int ok);
/* The load generator's document: role, driver, url, spec, results, latency,
 * driver_counters (of io), rusage (this process), ok. */
json_t *report_client_json(const struct wl_spec *s, const char *driver, const char *url,
                           const struct lg_result *r, struct netio *io, int ok);

#endif
