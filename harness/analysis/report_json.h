/*
 * report_json.h — the JSON documents `bypassbench serve --json` and
 * `bypassbench load --json` write, shared with `bypassbench pair`
 * (--server-json, --client-json) so that all of them write the same thing.
 * Also the JSON helpers every side uses: a netio's counters, this process's
 * resource usage, an atomic write. Callers: harness/cli/ (serve, load,
 * pair, run, capture, pdump). Calls: jansson.
 */
#ifndef BB_REPORT_JSON_H
#define BB_REPORT_JSON_H

#include "drivers/netio.h"
#include "workloads/loadgen.h"
#include "workloads/server.h"

#include <jansson.h>

/* The server's document: role, driver, stats, driver_counters (of io),
 * rusage (this process), ok. */
json_t *report_server_json(const char *driver, const struct srv_stats *st, struct netio *io,
                           int ok);
/* The load generator's document: role, driver, url, spec, results, latency,
 * driver_counters (of io), rusage (this process), ok. */
json_t *report_client_json(const struct wl_spec *s, const char *driver, const char *url,
                           const struct lg_result *r, struct netio *io, int ok);

/* The netio's driver counters as {name: value}. */
json_t *report_json_counters(struct netio *io);
/* Write JSON atomically (tmp + rename). 0 or -1 with err. */
int report_json_write(const char *path, json_t *j, char *err, size_t errlen);
/* Resource usage of this process (ru_utime/stime in ns, voluntary/involuntary ctx switches). */
json_t *report_json_rusage(void);

#endif
