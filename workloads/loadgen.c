/*
 * loadgen.c — the HTTP load generator (see loadgen.h), written only against
 * netio. One event loop drives every connection:
 *
 *   loadgen_run() -> netio_poll() -> on_event()
 *        -> on_readable() -> parse_responses() -> response_done()
 *        -> schedule(): closed loop refills, open loop sends at intended times
 *        -> check_timeouts(), progress callback
 *   -> close_window() at the window's end, then the same loop drains:
 *      answers to the requests still in flight are late responses
 *   -> end_of_drain(): what is still unanswered is an error
 *
 * Latency is measured from the request's *intended* send time: in the closed
 * loop that is when it was written; in the open loop it is the slot on the
 * fixed-rate schedule, so a stalled server shows up as latency instead of
 * silently lowering the offered rate (coordinated omission).
 * Every response is validated (status, Content-Length, body length, and the
 * pattern byte for byte when the target is /bytes/N).
 *
 * The end of the window: nothing in flight is dropped. When the window
 * closes no new request is sent and the requests in flight (inflight_at_end)
 * get a drain of min(timeout, LG_DRAIN_MAX_NS) to be answered: an answer
 * then is a late response (late_responses), valid but not in `requests`, so
 * closed-loop throughput stays "answered inside the window / window length".
 * What is still unanswered after the drain is an error (LG_ERR_UNANSWERED):
 * a wedged connection fails the trial within a second of the window's end,
 * not after a timeout longer than the window. Errors in the drain (a reset,
 * a bad response) are counted in the window's errors: they are its requests.
 * Open loop only, the histogram holds every request the schedule owed in
 * the window, from its intended time: late responses with their latency,
 * unanswered ones with their latency at the drain's end (a lower bound), and
 * the requests due but not yet sent because the connection was full
 * (unsent_at_end) with their latency at the window's end. So a stall at the
 * end of the window shows in the tail. The closed loop's histogram stays the
 * responses inside the window (latency.count == requests).
 * A run ended by the stop flag has no drain: what was in flight is in
 * inflight_at_end, neither late nor an error (the result says interrupted).
 */
#include "workloads/loadgen.h"

#include "workloads/http_parser.h"
#include "workloads/pattern.h"
#include "workloads/units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LG_MAX_EVENTS 256
#define LG_MAX_HEADER (64 * 1024)
#define LG_RECONNECT_NS 10000000ull /* back-off after a failed connect */
#define LG_DRAIN_MAX_NS 1000000000ull /* the drain after the window: min(timeout, 1 s) */

enum conn_state { C_IDLE = 0, C_CONNECTING, C_OPEN, C_CLOSING };
enum rx_state { RX_HEADERS = 0, RX_BODY, RX_CHUNKED, RX_UNTIL_CLOSE, RX_WAIT_EOF };

struct lg_conn {
    int handle;              /* netio handle, -1 when none */
    enum conn_state state;
    enum rx_state rx;
    uint32_t inflight;       /* requests written (or being written) without a response */
    uint32_t unsent;         /* requests queued but not fully written */
    size_t tx_off;           /* bytes of the head unsent request already written */
    uint64_t *sent_at;       /* ring of `pipeline` intended send times */
    uint32_t head, tail;
    uint64_t next_send;      /* open loop: next intended send time */
    uint64_t next_connect;   /* earliest reconnect time */
    uint64_t last_progress;  /* for timeouts */
    uint64_t body_left;      /* RX_BODY */
    uint64_t body_off;       /* offset within the body, for the pattern check */
    int resp_ok;             /* status and length were right; body still to check */
    int close_after;         /* server will close after this response */
    struct http_chunked chunk;
};

struct lg {
    struct netio *io;
    const struct lg_config *cfg;
    struct wl_spec spec;
    struct lg_result *res;
    struct lg_conn *conns;
    char req[512];
    size_t req_len;
    int64_t expect_len; /* -1 when the target is not /bytes/N */
    int check_pattern;
    uint64_t start, window_start, window_end, now;
    int measuring, stopping, ever_connected;
    int draining; /* after the window: answers are late, errors still count */
    int closing;  /* the final close: what is in flight is not an error */
    int window_closed;
    uint64_t drain_end;
    uint64_t interval_ns; /* open loop: per-connection send interval */
    uint64_t last_progress_report, last_progress_reqs;
    uint64_t conn_errors_before_first;
    uint64_t inflight; /* requests in flight over all connections */
    char *err;
    size_t errlen;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The run's clock: cfg->now_ns when given (a virtual clock), else CLOCK_MONOTONIC. */
static uint64_t now_ns(const struct lg_config *cfg)
{
    return cfg->now_ns ? cfg->now_ns(cfg->now_arg) : mono_ns();
}

const char *lg_err_str(enum lg_err e)
{
    static const char *const names[LG_ERR__COUNT] = {
        [LG_ERR_CONNECT] = "connect", [LG_ERR_READ] = "read",     [LG_ERR_TIMEOUT] = "timeout",
        [LG_ERR_STATUS] = "status",   [LG_ERR_LENGTH] = "length", [LG_ERR_BODY] = "body",
        [LG_ERR_PARSE] = "parse",   [LG_ERR_UNANSWERED] = "unanswered",
    };
    return (unsigned)e < LG_ERR__COUNT ? names[e] : "unknown";
}

/* Every change of a connection's in-flight count goes through here, so the
 * total (for the `requests` limit) stays exact. */
static void set_inflight(struct lg *g, struct lg_conn *c, uint32_t v)
{
    g->inflight = g->inflight - c->inflight + v;
    c->inflight = v;
}

static void count_error(struct lg *g, enum lg_err e, uint64_t n)
{
    g->res->errors_total += n;
    if (g->measuring | g->draining) g->res->errors[e] += n;
}

/* The expected body length and pattern check for /bytes/N targets. */
static void classify_target(struct lg *g)
{
    const char *p = g->spec.path;
    uint64_t n;
    g->expect_len = -1;
    g->check_pattern = 0;
    if (strncmp(p, "/bytes/", 7) == 0) {
        size_t len = strcspn(p + 7, "?#");
        if (units_parse_size_n(p + 7, len, &n) == 0) {
            g->expect_len = (int64_t)n;
            g->check_pattern = 1;
        }
    }
}

static int build_request(struct lg *g)
{
    const char *conn_hdr = g->spec.mode == WL_CPS ? "Connection: close\r\n" : "";
    int n = snprintf(g->req, sizeof(g->req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                     g->spec.path, g->cfg->host[0] ? g->cfg->host : "localhost", conn_hdr);
    if (n < 0 || (size_t)n >= sizeof(g->req)) {
        snprintf(g->err, g->errlen, "request for '%s' is too long", g->spec.path);
        return -1;
    }
    g->req_len = (size_t)n;
    return 0;
}

/* Write queued requests on c until done or the driver is full. */
static void flush_tx(struct lg *g, struct lg_conn *c)
{
    while (c->unsent > 0) {
        ssize_t w = netio_send(g->io, c->handle, g->req + c->tx_off, g->req_len - c->tx_off);
        if (w <= 0) return; /* full: WRITABLE follows */
        c->tx_off += (size_t)w;
        if (c->tx_off < g->req_len) return;
        c->tx_off = 0;
        c->unsent--;
        g->res->sent_total++;
    }
}

static void queue_request(struct lg *g, struct lg_conn *c, uint64_t intended)
{
    c->sent_at[c->tail] = intended;
    if (++c->tail == g->spec.pipeline) c->tail = 0; /* no division per request */
    if (c->inflight == 0) c->last_progress = g->now;
    set_inflight(g, c, c->inflight + 1);
    c->unsent++;
    flush_tx(g, c);
}

static void start_connect(struct lg *g, struct lg_conn *c)
{
    char err[128];
    c->handle = netio_connect(g->io, &g->cfg->dst, c, err, sizeof(err));
    if (c->handle < 0) {
        count_error(g, LG_ERR_CONNECT, 1);
        c->state = C_IDLE;
        c->next_connect = g->now + LG_RECONNECT_NS;
        return;
    }
    c->state = C_CONNECTING;
    c->rx = RX_HEADERS;
    set_inflight(g, c, 0);
    c->unsent = 0;
    c->tx_off = 0;
    c->head = c->tail = 0;
    c->last_progress = g->now;
    if (g->measuring) g->res->connects++;
}

/* Closed loop, CPS and download: keep `pipeline` requests in flight on an
 * open connection; CPS sends exactly one request per connection. */
static void refill_closed(struct lg *g, struct lg_conn *c)
{
    /* the spec does not change during a run: read it once, not after every
     * send (the driver call could, for all the compiler knows, change it) */
    const uint32_t pipeline = g->spec.pipeline;
    const uint64_t limit = g->spec.requests;
    const int cps = g->spec.mode == WL_CPS;
    while (!c->close_after && c->inflight < pipeline && !g->stopping) {
        if (limit && g->measuring && g->res->requests + g->inflight >= limit) return;
        queue_request(g, c, g->now);
        if (cps) c->close_after = 1;
    }
}

/* Connection is gone (CLOSED event or our abort): account and maybe reconnect. */
static void conn_gone(struct lg *g, struct lg_conn *c, enum netio_close_reason why)
{
    if (c->state == C_CONNECTING && why != NETIO_CLOSE_LOCAL) {
        count_error(g, LG_ERR_CONNECT, 1);
        if (!g->ever_connected) g->conn_errors_before_first++;
        c->next_connect = g->now + LG_RECONNECT_NS;
    } else if (c->inflight > 0 && !g->closing && why != NETIO_CLOSE_LOCAL) {
        /* The peer went away with requests outstanding. A response that was
         * being read until close is complete, not an error. */
        count_error(g, LG_ERR_READ, c->inflight);
        c->next_connect = g->now;
    } else {
        c->next_connect = g->now;
    }
    c->handle = -1;
    c->state = C_IDLE;
    set_inflight(g, c, 0);
    c->unsent = 0;
    c->close_after = 0;
    c->rx = RX_HEADERS;
    if (!g->stopping && c->next_connect <= g->now) start_connect(g, c);
}

static void conn_abort(struct lg *g, struct lg_conn *c)
{
    if (c->handle >= 0 && c->state != C_CLOSING) {
        netio_abort(g->io, c->handle);
        c->state = C_CLOSING; /* the CLOSED event finishes it */
        set_inflight(g, c, 0);
        c->unsent = 0;
    }
}

static void fail_response(struct lg *g, struct lg_conn *c, enum lg_err e)
{
    count_error(g, e, 1);
    /* The abort loses the requests pipelined behind this one: count them. */
    if (c->inflight > 1 && !g->closing) count_error(g, LG_ERR_READ, c->inflight - 1);
    conn_abort(g, c);
}

/* A valid answer in the drain after the window: not throughput; open loop,
 * in the histogram from its intended time. Out of line: the hot path is the
 * window's. */
static __attribute__((noinline, cold)) void late_response(struct lg *g, uint64_t sent)
{
    g->res->late_responses++;
    if (g->spec.mode == WL_OPEN) hist_record(&g->res->latency, g->now - sent);
}

static void response_done(struct lg *g, struct lg_conn *c)
{
    uint64_t sent = c->sent_at[c->head];
    if (++c->head == g->spec.pipeline) c->head = 0;
    set_inflight(g, c, c->inflight - 1);
    c->rx = RX_HEADERS;
    if (c->resp_ok) { /* else already counted as an error */
        g->res->requests_total++;
        /* Past the `requests` limit (requests sent in the warm-up and answered
         * in the same batch as the last one) nothing more is measured. */
        if (g->measuring && !(g->spec.requests && g->res->requests >= g->spec.requests)) {
            g->res->requests++;
            hist_record(&g->res->latency, g->now - sent);
        } else if (g->draining) {
            late_response(g, sent);
        }
    }
    /* Checked before close_after: CPS and read-until-close responses must
     * end a run by request count too. */
    if (g->spec.requests && g->measuring && g->res->requests >= g->spec.requests)
        g->stopping = 1;
    if (c->close_after) {
        /* The server closes: wait for its FIN, then close our side, so the
         * TIME_WAIT state stays on the server side (as with real clients). */
        c->rx = RX_WAIT_EOF;
        return;
    }
}

struct chunk_arg {
    struct lg_conn *c;
    int check; /* compare the payload with the pattern */
    int bad;   /* a payload byte differed */
};

static void chunk_payload(void *arg, const char *data, size_t len)
{
    struct chunk_arg *a = arg;
    if (a->check && !a->bad && pattern_check((const uint8_t *)data, a->c->body_off, len) != len)
        a->bad = 1;
    a->c->body_off += len;
}

/* Parse as many responses as the buffer holds. Returns bytes consumed. */
static size_t parse_responses(struct lg *g, struct lg_conn *c, const uint8_t *data, size_t len,
                              int eof)
{
    size_t used = 0;
    while (c->state == C_OPEN) {
        const char *p = (const char *)data + used;
        size_t left = len - used;
        if (c->rx == RX_HEADERS) {
            if (left == 0) break;
            if (c->inflight == 0) { /* bytes nobody asked for */
                fail_response(g, c, LG_ERR_PARSE);
                break;
            }
            struct http_response r;
            int n = http_parse_response(p, left, &r, LG_MAX_HEADER, HTTP_MAX_HEADERS);
            if (n == HTTP_PARSE_PARTIAL) break;
            if (n < 0) {
                fail_response(g, c, LG_ERR_PARSE);
                break;
            }
            used += (size_t)n;
            g->res->bytes_in += g->measuring ? (uint64_t)n : 0;
            c->resp_ok = 1;
            c->body_off = 0;
            c->close_after = c->close_after || !r.meta.keep_alive;
            if (r.status != 200) {
                count_error(g, LG_ERR_STATUS, 1);
                c->resp_ok = 0;
            }
            if (r.meta.chunked) {
                memset(&c->chunk, 0, sizeof(c->chunk));
                c->rx = RX_CHUNKED;
                continue;
            } else if (r.meta.content_length >= 0) {
                if (c->resp_ok && g->expect_len >= 0 && r.meta.content_length != g->expect_len) {
                    fail_response(g, c, LG_ERR_LENGTH);
                    break;
                }
                c->body_left = (uint64_t)r.meta.content_length;
                c->rx = RX_BODY;
                p += n; /* the common case: straight on to the body below */
                left -= (size_t)n;
            } else {
                c->rx = RX_UNTIL_CLOSE;
                c->close_after = 1;
                continue;
            }
        }
        if (c->rx == RX_BODY) {
            size_t n = left < c->body_left ? left : (size_t)c->body_left;
            if (n && c->resp_ok && g->check_pattern &&
                pattern_check((const uint8_t *)p, c->body_off, n) != n) {
                fail_response(g, c, LG_ERR_BODY);
                break;
            }
            used += n;
            c->body_off += n;
            c->body_left -= n;
            if (g->measuring) {
                g->res->bytes_in += n;
                g->res->body_bytes += n;
            }
            if (c->body_left > 0) {
                if (eof) fail_response(g, c, LG_ERR_LENGTH);
                break;
            }
            response_done(g, c);
            continue;
        }
        if (c->rx == RX_CHUNKED) {
            size_t consumed = 0;
            uint64_t before = c->body_off;
            struct chunk_arg a = {.c = c, .check = c->resp_ok && g->check_pattern};
            int r = http_chunked_feed(&c->chunk, p, left, &consumed, chunk_payload, &a);
            used += consumed;
            if (g->measuring) {
                g->res->bytes_in += consumed;
                g->res->body_bytes += c->body_off - before;
            }
            if (a.bad) {
                fail_response(g, c, LG_ERR_BODY);
                break;
            }
            if (r < 0) {
                fail_response(g, c, LG_ERR_PARSE);
                break;
            }
            if (r == 0) {
                if (eof) fail_response(g, c, LG_ERR_LENGTH);
                break;
            }
            if (c->resp_ok && g->expect_len >= 0 && (int64_t)c->body_off != g->expect_len) {
                fail_response(g, c, LG_ERR_LENGTH);
                break;
            }
            response_done(g, c);
            continue;
        }
        if (c->rx == RX_UNTIL_CLOSE) {
            if (left && c->resp_ok && g->check_pattern &&
                pattern_check((const uint8_t *)p, c->body_off, left) != left) {
                fail_response(g, c, LG_ERR_BODY);
                break;
            }
            used += left;
            c->body_off += left;
            if (g->measuring) {
                g->res->bytes_in += left;
                g->res->body_bytes += left;
            }
            if (!eof) break;
            if (c->resp_ok && g->expect_len >= 0 && (int64_t)c->body_off != g->expect_len)
                c->resp_ok = 0, count_error(g, LG_ERR_LENGTH, 1);
            response_done(g, c);
            c->rx = RX_WAIT_EOF;
            continue;
        }
        /* RX_WAIT_EOF: nothing more is expected from this connection. */
        if (left > 0) {
            fail_response(g, c, LG_ERR_PARSE);
            break;
        }
        if (eof) {
            netio_close(g->io, c->handle);
            c->state = C_CLOSING;
        }
        break;
    }
    return used;
}

static void on_event(struct lg *g, const struct netio_event *ev)
{
    struct lg_conn *c = ev->ctx;
    if (!c) return;
    switch (ev->type) {
    case NETIO_EV_CONNECTED:
        c->state = C_OPEN;
        c->close_after = 0;
        g->ever_connected = 1;
        c->last_progress = g->now;
        if (g->spec.mode != WL_OPEN) refill_closed(g, c);
        break;
    case NETIO_EV_READABLE: {
        if (c->state != C_OPEN) {
            if (ev->len) netio_consume(g->io, ev->conn, ev->len);
            break;
        }
        c->last_progress = g->now;
        size_t used = parse_responses(g, c, ev->data, ev->len, ev->eof);
        if (c->state == C_OPEN && used) netio_consume(g->io, ev->conn, used);
        if (c->state == C_OPEN && ev->eof) {
            /* The server closed; whatever is still in flight is lost. */
            if (c->inflight) count_error(g, LG_ERR_READ, c->inflight);
            set_inflight(g, c, 0);
            c->unsent = 0;
            netio_close(g->io, ev->conn);
            c->state = C_CLOSING;
            break;
        }
        if (c->state == C_OPEN && g->spec.mode != WL_OPEN) refill_closed(g, c);
        break;
    }
    case NETIO_EV_WRITABLE:
        if (c->state == C_OPEN) flush_tx(g, c);
        break;
    case NETIO_EV_CLOSED:
        conn_gone(g, c, ev->reason);
        break;
    case NETIO_EV_ACCEPTED:
        break;
    }
}

/* Open loop: send every request whose intended time has come. Returns the
 * earliest future intended time. */
static uint64_t schedule_open(struct lg *g)
{
    uint64_t earliest = UINT64_MAX;
    for (uint32_t i = 0; i < g->spec.connections; i++) {
        struct lg_conn *c = &g->conns[i];
        while (c->state == C_OPEN && c->next_send <= g->now && c->inflight < g->spec.pipeline &&
               !g->stopping) {
            if (g->now - c->next_send > 1000000ull && g->measuring) g->res->late_sends++;
            queue_request(g, c, c->next_send);
            c->next_send += g->interval_ns;
        }
        if (c->next_send < earliest) earliest = c->next_send;
    }
    return earliest;
}

static void check_timeouts_and_reconnect(struct lg *g)
{
    for (uint32_t i = 0; i < g->spec.connections; i++) {
        struct lg_conn *c = &g->conns[i];
        if (c->state == C_IDLE) {
            if (!g->stopping && c->next_connect <= g->now) start_connect(g, c);
            continue;
        }
        /* Also a server that promised to close (Connection: close) and
         * does not: the connection would otherwise wait forever. */
        int waiting = c->state == C_CONNECTING || c->inflight > 0 ||
                      (c->state == C_OPEN && c->rx == RX_WAIT_EOF);
        if (waiting && g->now - c->last_progress > g->spec.timeout_ns) {
            count_error(g, c->state == C_CONNECTING ? LG_ERR_CONNECT : LG_ERR_TIMEOUT,
                        c->inflight ? c->inflight : 1);
            if (c->state == C_CONNECTING && !g->ever_connected) g->conn_errors_before_first++;
            set_inflight(g, c, 0);
            if (c->state == C_CONNECTING) {
                netio_abort(g->io, c->handle);
                c->state = C_CLOSING;
            } else {
                conn_abort(g, c);
            }
        }
    }
}

static void progress(struct lg *g)
{
    if (!g->cfg->progress || g->now - g->last_progress_report < 1000000000ull) return;
    struct lg_progress p = {
        .elapsed_ns = g->now - g->start,
        .warming_up = !g->measuring,
        .requests = g->res->requests,
        .errors = g->res->errors_total,
    };
    double dt = (double)(g->now - g->last_progress_report) / 1e9;
    p.rps_1s = (double)(g->res->requests_total - g->last_progress_reqs) / dt;
    g->last_progress_reqs = g->res->requests_total;
    g->last_progress_report = g->now;
    g->cfg->progress(&p, g->cfg->arg);
}

/* ---- the end of the window -------------------------------------------------- */

/* Open loop: the requests the schedule owed by `end` but could not send (the
 * connection was full or not open) enter the histogram with their latency so
 * far, from their intended times. */
static void account_unsent(struct lg *g, uint64_t end)
{
    if (g->spec.mode != WL_OPEN || g->interval_ns == 0) return;
    for (uint32_t i = 0; i < g->spec.connections; i++)
        for (uint64_t t = g->conns[i].next_send; t < end; t += g->interval_ns) {
            hist_record(&g->res->latency, end - t);
            g->res->unsent_at_end++;
        }
}

/* Something the drain waits for: a request in flight, or a connect under way. */
static int drain_pending(const struct lg *g)
{
    if (g->inflight) return 1;
    for (uint32_t i = 0; i < g->spec.connections; i++)
        if (g->conns[i].state == C_CONNECTING) return 1;
    return 0;
}

/* The window closes (by time or by the request count): measured_ns, the
 * requests in flight; from here on nothing new is sent and nothing is
 * reconnected. Unless the window was never reached (an interrupted warm-up),
 * the drain begins: the requests in flight get up to drain_ns to be
 * answered (late responses). */
static void window_edge(struct lg *g, enum lg_edge e, uint64_t t);

static void close_window(struct lg *g)
{
    struct lg_result *r = g->res;
    /* The window is what was counted in: up to now, even past window_end
     * (a late last round is in the counts, so it is in the window too). */
    r->measured_ns = g->measuring ? g->now - g->window_start : 0;
    if (g->measuring) window_edge(g, LG_WINDOW_END, g->now);
    r->inflight_at_end = g->inflight;
    g->stopping = 1;
    g->window_closed = 1;
    if (!g->measuring) return;
    account_unsent(g, g->now);
    g->measuring = 0;
    g->draining = 1;
    g->drain_end = g->now + r->drain_ns;
}

/* After the drain: what is still in flight is unanswered, an error (open
 * loop: with its latency at this point, a lower bound); a connect still
 * under way is a connect error. */
static void end_of_drain(struct lg *g)
{
    for (uint32_t i = 0; i < g->spec.connections; i++) {
        struct lg_conn *c = &g->conns[i];
        if (c->inflight) {
            count_error(g, LG_ERR_UNANSWERED, c->inflight);
            for (uint32_t k = 0, at = c->head; g->spec.mode == WL_OPEN && k < c->inflight; k++) {
                hist_record(&g->res->latency, g->now - c->sent_at[at]);
                if (++at == g->spec.pipeline) at = 0;
            }
        } else if (c->state == C_CONNECTING) {
            count_error(g, LG_ERR_CONNECT, 1);
        }
    }
    g->draining = 0;
}

static int setup(struct lg *g)
{
    if (wl_spec_validate(&g->spec, g->err, g->errlen) < 0) return -1;
    if (g->spec.mode == WL_DOWNLOAD) {
        if (g->spec.requests == 0) g->spec.requests = 1;
        g->spec.warmup_ns = 0;
        g->spec.duration_ns = 0;
        g->spec.pipeline = 1;
    }
    if (g->spec.mode == WL_CPS) g->spec.pipeline = 1;
    classify_target(g);
    if (build_request(g) < 0) return -1;
    pattern_init();
    g->conns = calloc(g->spec.connections, sizeof(*g->conns));
    uint64_t *ring = calloc((size_t)g->spec.connections * g->spec.pipeline, sizeof(uint64_t));
    if (!g->conns || !ring) {
        free(g->conns);
        free(ring);
        snprintf(g->err, g->errlen, "out of memory for %u connections", g->spec.connections);
        return -1;
    }
    if (g->spec.mode == WL_OPEN)
        g->interval_ns = (uint64_t)((double)g->spec.connections * 1e9 / (double)g->spec.rate);
    g->start = g->now = now_ns(g->cfg);
    g->window_start = g->start + g->spec.warmup_ns;
    g->window_end = g->spec.duration_ns ? g->window_start + g->spec.duration_ns : UINT64_MAX;
    g->measuring = g->spec.warmup_ns == 0;
    g->res->drain_ns = g->spec.timeout_ns < LG_DRAIN_MAX_NS ? g->spec.timeout_ns : LG_DRAIN_MAX_NS;
    g->last_progress_report = g->start;
    for (uint32_t i = 0; i < g->spec.connections; i++) {
        struct lg_conn *c = &g->conns[i];
        c->handle = -1;
        c->sent_at = ring + (size_t)i * g->spec.pipeline;
        /* Stagger the open-loop schedule across connections. */
        c->next_send = g->start + (g->interval_ns * i) / g->spec.connections;
    }
    return 0;
}

static void window_edge(struct lg *g, enum lg_edge e, uint64_t t)
{
    if (g->cfg->window) g->cfg->window(e, t, g->cfg->window_arg);
}

static int active_conns(const struct lg *g)
{
    int n = 0;
    for (uint32_t i = 0; i < g->spec.connections; i++) n += g->conns[i].state != C_IDLE;
    return n;
}

int loadgen_run(struct netio *io, const struct lg_config *cfg, struct lg_result *res, char *err,
                size_t errlen)
{
    struct lg g = {.io = io, .cfg = cfg, .spec = cfg->spec, .res = res, .err = err,
                   .errlen = errlen};
    struct netio_event evs[LG_MAX_EVENTS];
    memset(res, 0, sizeof(*res));
    hist_init(&res->latency);
    if (setup(&g) < 0) return -1;
    if (g.measuring) window_edge(&g, LG_WINDOW_START, g.start); /* no warm-up */
    int rc = 0;
    uint64_t last_scan = 0;

    for (;;) {
        g.now = now_ns(cfg);
        if (cfg->stop && *cfg->stop) {
            res->interrupted = 1;
            break;
        }
        if (g.draining) {
            if (!drain_pending(&g) || g.now >= g.drain_end) {
                end_of_drain(&g);
                break;
            }
        } else {
            if (!g.measuring && g.now >= g.window_start) {
                g.measuring = 1;
                g.window_start = g.now;
                if (g.spec.duration_ns) g.window_end = g.now + g.spec.duration_ns;
                window_edge(&g, LG_WINDOW_START, g.now);
            }
            if (g.stopping || g.now >= g.window_end) {
                close_window(&g);
                if (!g.draining) break;
                continue;
            }
        }
        if (!g.ever_connected && g.conn_errors_before_first > 0 &&
            g.now - g.start > g.spec.timeout_ns) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &cfg->dst.sin_addr, a, sizeof(a));
            snprintf(err, errlen, "cannot connect to %s:%u (%llu attempts failed)", a,
                     ntohs(cfg->dst.sin_port), (unsigned long long)g.conn_errors_before_first);
            rc = -1;
            break;
        }
        int timeout_us = 1000;
        if (g.spec.mode == WL_OPEN && !g.stopping) {
            uint64_t next = schedule_open(&g);
            /* Sleep only while the next send is well ahead: the driver's
             * sleep may be coarse (1 ms for epoll), so spin close to it. */
            uint64_t ahead = next > g.now ? next - g.now : 0;
            timeout_us = ahead < 1500000 ? 0 : (int)((ahead - 1000000) / 1000);
            if (timeout_us > 1000) timeout_us = 1000;
        }
        /* Never sleep past the window's end: the driver may round a short
         * sleep up to a millisecond, and the window (and the snapshots at
         * its edge) would grow by it. */
        if (g.window_end - g.now < 1000000ull) timeout_us = 0;
        if (g.now - last_scan >= 1000000ull) { /* timeouts and reconnects, every ms */
            check_timeouts_and_reconnect(&g); /* draining: timeouts only (stopping) */
            last_scan = g.now;
        }
        int n = netio_poll(io, evs, LG_MAX_EVENTS, timeout_us);
        if (n < 0) {
            snprintf(err, errlen, "netio_poll failed");
            rc = -1;
            break;
        }
        g.now = now_ns(cfg);
        for (int i = 0; i < n; i++) on_event(&g, &evs[i]);
        if (!g.draining) progress(&g);
        netio_flush(io);
    }
    g.draining = 0;
    if (!g.window_closed) { /* interrupted, or a setup failure: no drain */
        g.now = now_ns(cfg);
        close_window(&g);
        g.draining = 0;
    }

    /* Close everything and let the driver deliver the CLOSED events, so the
     * netio instance is left clean. What is still in flight now was counted
     * (drain) or the run was interrupted: the close is not an error. */
    g.stopping = 1;
    g.closing = 1;
    for (uint32_t i = 0; i < g.spec.connections; i++) {
        struct lg_conn *c = &g.conns[i];
        set_inflight(&g, c, 0);
        if (c->handle >= 0 && c->state != C_CLOSING) {
            netio_close(io, c->handle);
            c->state = C_CLOSING;
        }
    }
    uint64_t deadline = now_ns(cfg) + 2000000000ull;
    while (active_conns(&g) > 0 && now_ns(cfg) < deadline) {
        int n = netio_poll(io, evs, LG_MAX_EVENTS, 10000);
        if (n < 0) break;
        for (int i = 0; i < n; i++) {
            struct lg_conn *c = evs[i].ctx;
            if (!c) continue;
            if (evs[i].type == NETIO_EV_CLOSED) {
                c->state = C_IDLE;
                c->handle = -1;
            } else if (evs[i].type == NETIO_EV_READABLE && evs[i].len) {
                netio_consume(io, evs[i].conn, evs[i].len);
            }
        }
    }
    free(g.conns[0].sent_at);
    free(g.conns);
    return rc;
}
