/*
 * loadgen.h — the HTTP load generator, written only against netio.
 * Modes (spec.h): closed loop with C connections and optional pipelining;
 * CPS (a new connection per request); open loop at a fixed total rate with
 * latency measured from each request's intended send time (no coordinated
 * omission); download (timed, checked byte for byte). Every response is
 * validated: status 200, Content-Length, body length, and the pattern when the
 * target is /bytes/N. Warm-up is run but not counted.
 * Callers: harness/cli/load.c; tests/workloads/test_loadgen.c.
 */
#ifndef BB_LOADGEN_H
#define BB_LOADGEN_H

#include "drivers/netio.h"
#include "workloads/hist.h"
#include "workloads/spec.h"

#include <signal.h>
#include <stdint.h>

enum lg_err {
    LG_ERR_CONNECT = 0, /* active open failed */
    LG_ERR_READ,        /* connection reset or closed with a response outstanding */
    LG_ERR_TIMEOUT,     /* no complete response within spec.timeout_ns */
    LG_ERR_STATUS,      /* status other than 200 */
    LG_ERR_LENGTH,      /* Content-Length missing or not what /bytes/N promised, short body */
    LG_ERR_BODY,        /* body differs from the pattern */
    LG_ERR_PARSE,       /* malformed response */
    LG_ERR_UNANSWERED,  /* in flight when the window closed, still unanswered after the drain */
    LG_ERR__COUNT
};

struct lg_progress {
    uint64_t elapsed_ns;
    int warming_up;
    uint64_t requests;  /* measured so far */
    double rps_1s;      /* over the last interval */
    uint64_t errors;
};

/* The edges of the measured window, for lg_config.window. */
enum lg_edge { LG_WINDOW_START = 0, LG_WINDOW_END };

struct lg_config {
    struct wl_spec spec;
    struct sockaddr_in dst;
    char host[128];              /* Host header value */
    volatile sig_atomic_t *stop; /* ends the run early (counted as interrupted) */
    void (*progress)(const struct lg_progress *p, void *arg); /* about once a second, or NULL */
    void *arg;
    /* Clock for every time decision (intended send times, latency, windows,
     * timeouts); NULL = CLOCK_MONOTONIC. Deterministic benchmarks pass a
     * virtual one (bench/loadgen_ipr.c). */
    uint64_t (*now_ns)(void *arg);
    void *now_arg;
    /* Called at the measured window's two edges, on the generator's thread,
     * with the run's clock there: LG_WINDOW_START when the warm-up ends
     * (before anything in the window is counted), LG_WINDOW_END when the
     * window ends (duration, request limit, stop flag or failure; after the
     * last thing counted, before the connections close). END's t minus
     * START's t is measured_ns, give or take the last event batch (the loop
     * does not sleep past the window's end). Called in pairs: END only after
     * START. The side that measures takes its CPU and packet snapshots here
     * (DESIGN §6). NULL = none. */
    void (*window)(enum lg_edge edge, uint64_t t_ns, void *arg);
    void *window_arg;
};

struct lg_result {
    uint64_t requests;        /* valid responses in the measured window */
    uint64_t requests_total;  /* valid responses including warm-up */
    uint64_t sent_total;      /* requests written, including warm-up */
    uint64_t body_bytes;      /* measured window */
    uint64_t bytes_in;        /* measured window, headers included */
    uint64_t connects;        /* connections opened in the measured window */
    uint64_t errors[LG_ERR__COUNT]; /* measured window */
    uint64_t errors_total;    /* all errors including warm-up */
    uint64_t measured_ns;     /* actual length of the measured window */
    uint64_t late_sends;      /* open loop: sends behind their intended time by > 1 ms */
    /* The end of the window (see loadgen.c, "The end of the window"). */
    uint64_t inflight_at_end; /* requests written or queued, unanswered, when the window closed */
    uint64_t late_responses;  /* of those, answered validly in the drain (not in `requests`) */
    uint64_t unsent_at_end;   /* open loop: due by the schedule, not yet sent (connection full) */
    uint64_t drain_ns;        /* the drain's bound: min(timeout, LG_DRAIN_MAX_NS) */
    int interrupted;          /* *stop ended the run */
    struct hist latency;      /* measured responses, ns */
};

const char *lg_err_str(enum lg_err e);
/* Returns 0 (even with response errors: they are counted), -1 with err on a
 * setup failure (bad target, no connection could ever be made...). */
int loadgen_run(struct netio *io, const struct lg_config *cfg, struct lg_result *res, char *err,
                size_t errlen);

#endif
