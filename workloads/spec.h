/*
 * spec.h — the workload spec shared by `serve`, `load` and suite files:
 * one keyword table whose rows carry their help text (dperf's lesson), one
 * setter used by the suite parser and the CLI alike.
 * Callers: harness/run/suite.c, harness/cli/load.c, workloads/loadgen.c.
 */
#ifndef BB_SPEC_H
#define BB_SPEC_H

#include <stddef.h>
#include <stdint.h>

enum wl_mode {
    WL_CLOSED = 0, /* N keep-alive connections, each sends when its last reply came */
    WL_CPS,        /* a new connection per request, closed after the response */
    WL_OPEN,       /* fixed total rate; latency from the intended send time */
    WL_DOWNLOAD,   /* `requests` (default 1) downloads, timed and checked byte for byte */
};

struct wl_spec {
    char name[64];
    enum wl_mode mode;
    char path[256];        /* request target, e.g. /bytes/64 */
    uint32_t connections;  /* concurrent connections */
    uint32_t pipeline;     /* requests in flight per connection (closed/open) */
    uint64_t rate;         /* open loop: total requests per second */
    uint64_t duration_ns;  /* measured window (0 with requests > 0: until done) */
    uint64_t warmup_ns;    /* not counted, before the window */
    uint64_t requests;     /* stop after this many measured requests (0 = by duration) */
    uint64_t timeout_ns;   /* a response slower than this is a timeout error */
};

struct wl_key {
    const char *key;
    const char *def;  /* default, as text */
    const char *help; /* one line, with units */
};
extern const struct wl_key wl_spec_keys[]; /* terminated by a row with key == NULL */

void wl_spec_defaults(struct wl_spec *s);
/* Sets one key from text. 0 on success; -1 with "unknown key 'x'" or
 * "bad value 'v' for 'k': why" in err. */
int wl_spec_set(struct wl_spec *s, const char *key, const char *value, char *err, size_t errlen);
/* Cross-field checks (rate needed for open loop, etc.). */
int wl_spec_validate(const struct wl_spec *s, char *err, size_t errlen);
const char *wl_mode_str(enum wl_mode m);

#endif
