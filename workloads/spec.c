/*
 * spec.c — the workload spec: one keyword table (key, default, help) that is
 * the single source of truth for defaults, one setter for suite files and the
 * CLI, and the cross-field checks.
 * Callers: harness/run/suite.c, harness/cli/load.c, workloads/loadgen.c.
 * Calls: workloads/units.c (durations and counts with units).
 */
#include "workloads/spec.h"

#include "workloads/units.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CONN_MAX 100000u
#define PIPELINE_MAX 1024u

const struct wl_key wl_spec_keys[] = {
    {"mode", "closed",
     "closed | cps | open | download: keep-alive closed loop, a connection per request, "
     "fixed total rate, or timed downloads checked byte for byte"},
    {"path", "/bytes/64", "request target starting with '/', e.g. /bytes/64, /bytes/1g"},
    {"connections", "64", "concurrent connections, 1..100000 (e.g. 64, 1k)"},
    {"pipeline", "1", "requests in flight per connection, 1..1024 (cps: 1)"},
    {"rate", "0", "open loop: total requests per second, e.g. 10k, 1.5m (0 = unused)"},
    {"duration", "10s", "measured window, e.g. 10s, 500ms, 2m (0 with requests > 0: until done)"},
    {"warmup", "2s", "uncounted time before the window, e.g. 2s, 500ms (0 = none)"},
    {"requests", "0", "stop after this many measured requests, e.g. 1000, 10k (0 = by duration)"},
    {"timeout", "10s", "a request with no progress this long is a timeout error (the drain after the window is min(timeout, 1s)), e.g. 10s, 500ms (> 0)"},
    {NULL, NULL, NULL},
};

enum kind { K_MODE, K_PATH, K_U32, K_COUNT, K_DURATION };

/* How each key is parsed and where it goes; names match wl_spec_keys. */
struct setter {
    const char *key;
    enum kind kind;
    size_t off;
    uint64_t min, max; /* K_U32 range; K_DURATION min */
    const char *why;   /* shown after "bad value 'v' for 'k': " */
};

static const struct setter setters[] = {
    {"mode", K_MODE, offsetof(struct wl_spec, mode), 0, 0,
     "expected closed, cps, open or download"},
    {"path", K_PATH, offsetof(struct wl_spec, path), 0, 0, NULL /* several reasons */},
    {"connections", K_U32, offsetof(struct wl_spec, connections), 1, CONN_MAX,
     "expected a count from 1 to 100000, like 64 or 1k"},
    {"pipeline", K_U32, offsetof(struct wl_spec, pipeline), 1, PIPELINE_MAX,
     "expected a count from 1 to 1024"},
    {"rate", K_COUNT, offsetof(struct wl_spec, rate), 0, 0,
     "expected requests per second like 10k or 1.5m"},
    {"duration", K_DURATION, offsetof(struct wl_spec, duration_ns), 0, 0,
     "expected a duration like 10s or 500ms"},
    {"warmup", K_DURATION, offsetof(struct wl_spec, warmup_ns), 0, 0,
     "expected a duration like 10s or 500ms"},
    {"requests", K_COUNT, offsetof(struct wl_spec, requests), 0, 0,
     "expected a count like 1000 or 10k"},
    {"timeout", K_DURATION, offsetof(struct wl_spec, timeout_ns), 1, 0,
     "expected a duration > 0 like 10s or 500ms"},
};

static const char *const mode_names[] = {
    [WL_CLOSED] = "closed",
    [WL_CPS] = "cps",
    [WL_OPEN] = "open",
    [WL_DOWNLOAD] = "download",
};
#define N_MODES (sizeof mode_names / sizeof mode_names[0])

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The value is echoed up to VALUE_SHOWN bytes, so a huge one cannot push the
 * reason out of the caller's buffer. */
#define VALUE_SHOWN 64
static int bad(char *err, size_t errlen, const char *key, const char *value, const char *why)
{
    int cut = strlen(value) > VALUE_SHOWN;
    set_err(err, errlen, "bad value '%.*s%s' for '%s': %s", VALUE_SHOWN, value, cut ? "..." : "",
            key, why);
    return -1;
}

static const char *path_problem(const char *v)
{
    if (v[0] != '/') return "expected a path starting with '/', like /bytes/64";
    size_t n = strlen(v);
    if (n >= sizeof(((struct wl_spec *)0)->path)) return "path longer than 255 bytes";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
            return "path contains a blank or control character";
    return NULL;
}

int wl_spec_set(struct wl_spec *s, const char *key, const char *value, char *err, size_t errlen)
{
    if (!key) key = "(null)";
    const struct setter *st = NULL;
    for (size_t i = 0; i < sizeof setters / sizeof setters[0]; i++)
        if (strcmp(setters[i].key, key) == 0) {
            st = &setters[i];
            break;
        }
    if (!st) {
        set_err(err, errlen, "unknown key '%s'", key);
        return -1;
    }
    if (!value) return bad(err, errlen, key, "(null)", "missing value");
    char *field = (char *)s + st->off;
    uint64_t v;
    switch (st->kind) {
    case K_MODE:
        for (size_t m = 0; m < N_MODES; m++)
            if (strcmp(mode_names[m], value) == 0) {
                s->mode = (enum wl_mode)m;
                return 0;
            }
        return bad(err, errlen, key, value, st->why);
    case K_PATH: {
        const char *why = path_problem(value);
        if (why) return bad(err, errlen, key, value, why);
        memcpy(s->path, value, strlen(value) + 1);
        return 0;
    }
    case K_U32:
        if (units_parse_count(value, &v) < 0 || v < st->min || v > st->max)
            return bad(err, errlen, key, value, st->why);
        *(uint32_t *)(void *)field = (uint32_t)v;
        return 0;
    case K_COUNT:
        if (units_parse_count(value, &v) < 0) return bad(err, errlen, key, value, st->why);
        *(uint64_t *)(void *)field = v;
        return 0;
    case K_DURATION:
        if (units_parse_duration_ns(value, &v) < 0 || v < st->min)
            return bad(err, errlen, key, value, st->why);
        *(uint64_t *)(void *)field = v;
        return 0;
    }
    return bad(err, errlen, key, value, "internal: unhandled key kind");
}

void wl_spec_defaults(struct wl_spec *s)
{
    memset(s, 0, sizeof *s);
    /* The table's defaults always parse (tests/workloads/test_spec.c checks). */
    for (const struct wl_key *k = wl_spec_keys; k->key; k++)
        (void)wl_spec_set(s, k->key, k->def, NULL, 0);
}

static int fail(char *err, size_t errlen, const char *msg)
{
    set_err(err, errlen, "%s", msg);
    return -1;
}

int wl_spec_validate(const struct wl_spec *s, char *err, size_t errlen)
{
    if ((unsigned)s->mode >= N_MODES)
        return fail(err, errlen, "mode is not one of closed, cps, open, download");
    if (s->connections < 1 || s->connections > CONN_MAX)
        return fail(err, errlen, "connections must be from 1 to 100000");
    if (s->pipeline < 1 || s->pipeline > PIPELINE_MAX)
        return fail(err, errlen, "pipeline must be from 1 to 1024");
    if (memchr(s->path, '\0', sizeof s->path) == NULL || path_problem(s->path))
        return fail(err, errlen, "path must start with '/' and be a valid request target");
    if (s->mode == WL_OPEN && s->rate == 0)
        return fail(err, errlen, "mode=open needs rate > 0 (total requests per second, e.g. 10k)");
    if (s->mode != WL_OPEN && s->rate > 0)
        return fail(err, errlen, "rate is only used with mode=open");
    if (s->mode == WL_CPS && s->pipeline != 1)
        return fail(err, errlen, "mode=cps needs pipeline=1 (one request per connection)");
    if (s->duration_ns == 0 && s->requests == 0)
        return fail(err, errlen, "need duration > 0 or requests > 0, else the run never ends");
    if (s->timeout_ns == 0) return fail(err, errlen, "timeout must be > 0");
    return 0;
}

const char *wl_mode_str(enum wl_mode m)
{
    return (unsigned)m < N_MODES ? mode_names[m] : "unknown";
}
