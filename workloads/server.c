/*
 * server.c — the HTTP/1.1 benchmark server (server.h), written only against
 * the netio wrappers, so the same code runs over every driver.
 *
 * Callers: harness/cli_serve.c, tests/workloads/test_server.c.
 * Calls:   netio_* (drivers/netio.h), http_parse_request (http_parser.c),
 *          pattern_at/pattern_fill (pattern.c), units_parse_size_n (units.c).
 *
 * Flow: server_run -> netio_poll -> on_event
 *         ACCEPTED -> slot from the pool, netio_set_ctx
 *         READABLE -> serve_input -> queue_* (response into the slot's out
 *                     buffer) -> pump (netio_send; short => wait for WRITABLE)
 *         WRITABLE -> pump -> response_done -> netio_consume of held bytes
 *         CLOSED   -> slot back to the pool
 *       every ~100 ms: idle scan over an LRU list (oldest activity first).
 *
 * Memory: one pool of max_conns slots plus one out buffer per slot, both
 * allocated once; nothing is allocated per request. The out buffers are one
 * calloc'd region that the kernel only backs with pages when a slot is used,
 * and free slots are reused LIFO so the warm ones come back first.
 *
 * Ordering and back-pressure: requests are parsed only while no response is
 * being streamed; small complete responses to pipelined requests are batched
 * into the out buffer. When a response stalls (short send), the bytes of the
 * requests answered so far are held (not consumed) until it completes, then
 * consumed, so the driver presents the rest of the pipeline again. Bytes not
 * yet parsed simply wait in the driver's buffer, which bounds memory; a
 * stalled client only stops its own connection from being served.
 */
#include "server.h"

#include "pattern.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF (16u * 1024)       /* per-connection out buffer (headers, small bodies, file chunks) */
#define HDR_ROOM 512u              /* free out space needed to queue one more response */
#define MAX_BYTES (1ull << 40)     /* /bytes/N limit: 1 TiB */
#define POLL_TIMEOUT_US 100000     /* so *stop and the idle timers are seen */
#define EVENTS 64
#define DRAIN_NS 1000000000ull     /* at stop: wait this long for CLOSED events */
#define MAX_NAME 255

enum body_src { BODY_NONE = 0, BODY_PATTERN, BODY_FILE };

struct conn {
    int handle;
    int in_use;
    int closing;     /* netio_close/abort called: waiting for CLOSED */
    int close_after; /* the last queued response ends the connection */
    int eof;         /* peer sent FIN */
    uint8_t *out;    /* OUT_BUF bytes, pending output in [out_off, out_len) */
    uint32_t out_off, out_len;
    uint32_t hdr_unsent; /* header bytes among the pending output (for body_bytes_out) */
    enum body_src src;   /* where body_left comes from once out is drained */
    int fd;              /* BODY_FILE */
    uint64_t body_off, body_left;
    uint64_t discard; /* request body bytes still to read and drop */
    size_t hold;      /* bytes of answered requests to consume when output completes */
    size_t rx_seen;   /* buffer length at the last READABLE */
    uint64_t last_ns; /* last progress */
    struct conn *prev, *next; /* LRU list of open, not closing connections */
    struct conn *free_next;
};

struct srv {
    struct netio *io;
    const struct srv_config *cfg;
    struct srv_stats *st;
    struct conn *conns;
    uint8_t *outs;
    struct conn *free_list;
    struct conn lru; /* sentinel: lru.next is the oldest */
    uint64_t active;
    uint64_t now;
    int docroot_fd;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- LRU list for the idle timer ---------------------------------------- */

static void lru_unlink(struct conn *c)
{
    if (!c->prev) return;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void lru_push(struct srv *s, struct conn *c)
{
    c->prev = s->lru.prev;
    c->next = &s->lru;
    s->lru.prev->next = c;
    s->lru.prev = c;
}

/* Progress on c: bytes in or out. */
static void touch(struct srv *s, struct conn *c)
{
    c->last_ns = s->now;
    if (c->closing) return;
    lru_unlink(c);
    lru_push(s, c);
}

/* ---- slots -------------------------------------------------------------- */

static void body_reset(struct conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->src = BODY_NONE;
    c->body_off = c->body_left = 0;
}

static struct conn *slot_get(struct srv *s, int handle)
{
    struct conn *c = s->free_list;
    if (!c) return NULL;
    s->free_list = c->free_next;
    uint8_t *out = c->out;
    memset(c, 0, sizeof(*c));
    c->out = out;
    c->fd = -1;
    c->handle = handle;
    c->in_use = 1;
    if (++s->active > s->st->conns_max_active) s->st->conns_max_active = s->active;
    touch(s, c);
    return c;
}

static void slot_put(struct srv *s, struct conn *c)
{
    body_reset(c);
    lru_unlink(c);
    c->in_use = 0;
    c->free_next = s->free_list;
    s->free_list = c;
    s->active--;
}

/* Graceful close (FIN after the queued data) or abort (RST) of a live slot. */
static void conn_end(struct srv *s, struct conn *c, int abortive)
{
    if (c->closing) return;
    c->closing = 1;
    lru_unlink(c);
    body_reset(c);
    if (abortive)
        netio_abort(s->io, c->handle);
    else
        netio_close(s->io, c->handle);
}

static int busy(const struct conn *c)
{
    return c->out_off < c->out_len || c->body_left > 0;
}

/* ---- response building -------------------------------------------------- */

static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

static size_t put_u64(uint8_t *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)tmp[n - 1 - i];
    return n;
}

/* Appends a response header to c->out (HDR_ROOM bytes are free). */
static void put_header(struct srv *s, struct conn *c, int status, const char *ctype,
                       uint64_t length, const char *extra)
{
    uint8_t *p = c->out + c->out_len, *start = p;
    const char *reason = http_status_reason(status);
    p += put_str(p, "HTTP/1.1 ");
    p += put_u64(p, (uint64_t)status);
    *p++ = ' ';
    p += put_str(p, reason ? reason : "Unknown");
    p += put_str(p, "\r\nServer: bypassbench\r\nContent-Type: ");
    p += put_str(p, ctype);
    p += put_str(p, "\r\nContent-Length: ");
    p += put_u64(p, length);
    p += put_str(p, c->close_after ? "\r\nConnection: close\r\n" : "\r\nConnection: keep-alive\r\n");
    if (extra) p += put_str(p, extra);
    p += put_str(p, "\r\n");
    c->out_len += (uint32_t)(p - start);
    c->hdr_unsent += (uint32_t)(p - start);
    if (status >= 100 && status < 600) s->st->responses[status / 100]++;
}

static void queue_error(struct srv *s, struct conn *c, int status, int head, int close_conn)
{
    const char *reason = http_status_reason(status);
    if (!reason) reason = "Error";
    size_t blen = strlen(reason) + 1;
    if (close_conn) c->close_after = 1;
    put_header(s, c, status, "text/plain", blen,
               status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
    if (head) return;
    memcpy(c->out + c->out_len, reason, blen - 1);
    c->out[c->out_len + blen - 1] = '\n';
    c->out_len += (uint32_t)blen;
}

static void queue_bytes(struct srv *s, struct conn *c, uint64_t n, int head)
{
    put_header(s, c, 200, "application/octet-stream", n, NULL);
    if (head || n == 0) return;
    uint64_t room = OUT_BUF - c->out_len;
    size_t fill = (size_t)(n < room ? n : room);
    pattern_fill(c->out + c->out_len, 0, fill);
    c->out_len += (uint32_t)fill;
    c->src = BODY_PATTERN;
    c->body_off = fill;
    c->body_left = n - fill;
}

/* NAME must be non-empty, without '/', not starting with '.'. */
static void queue_file(struct srv *s, struct conn *c, const char *name, size_t len, int head)
{
    char path[MAX_NAME + 1];
    if (s->docroot_fd < 0 || len == 0 || len > MAX_NAME || name[0] == '.' ||
        memchr(name, '/', len) || memchr(name, '\0', len)) {
        queue_error(s, c, 404, head, 0);
        return;
    }
    memcpy(path, name, len);
    path[len] = '\0';
    int fd = openat(s->docroot_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        queue_error(s, c, 404, head, 0);
        return;
    }
    uint64_t size = (uint64_t)sb.st_size;
    put_header(s, c, 200, "application/octet-stream", size, NULL);
    if (head || size == 0) {
        close(fd);
        return;
    }
    c->src = BODY_FILE;
    c->fd = fd;
    c->body_off = 0;
    c->body_left = size;
    /* the first chunk goes out with the header, if it reads */
    uint64_t room = OUT_BUF - c->out_len;
    ssize_t r = pread(fd, c->out + c->out_len, (size_t)(size < room ? size : room), 0);
    if (r > 0) {
        c->out_len += (uint32_t)r;
        c->body_off = (uint64_t)r;
        c->body_left -= (uint64_t)r;
    }
    if (c->body_left == 0) body_reset(c);
}

/* Routes one parsed request and queues its response. */
static void route(struct srv *s, struct conn *c, const struct http_request *rq)
{
    int head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
    int get = rq->method_len == 3 && memcmp(rq->method, "GET", 3) == 0;
    if (!get && !head) {
        queue_error(s, c, 405, 0, 0);
        return;
    }
    const char *t = rq->target;
    size_t tl = rq->target_len;
    const char *q = memchr(t, '?', tl);
    if (q) tl = (size_t)(q - t);
    uint64_t n;
    if (tl > 7 && memcmp(t, "/bytes/", 7) == 0) {
        if (units_parse_size_n(t + 7, tl - 7, &n) == 0 && n <= MAX_BYTES)
            queue_bytes(s, c, n, head);
        else
            queue_error(s, c, 404, head, 0);
    } else if (tl > 6 && memcmp(t, "/file/", 6) == 0) {
        queue_file(s, c, t + 6, tl - 6, head);
    } else {
        queue_error(s, c, 404, head, 0);
    }
}

/* ---- output --------------------------------------------------------------- */

static void account_sent(struct srv *s, struct conn *c, size_t n, int from_out)
{
    s->st->bytes_out += n;
    if (from_out) {
        size_t h = n < c->hdr_unsent ? n : c->hdr_unsent;
        c->hdr_unsent -= (uint32_t)h;
        s->st->body_bytes_out += n - h;
    } else {
        s->st->body_bytes_out += n;
    }
    if (n) touch(s, c);
}

/* Sends what can be sent. Returns 1 when all output is out, 0 when the
 * driver is full (WRITABLE follows), -1 when the connection was aborted. */
static int pump(struct srv *s, struct conn *c)
{
    for (;;) {
        if (c->out_off < c->out_len) {
            size_t want = c->out_len - c->out_off;
            ssize_t n = netio_send(s->io, c->handle, c->out + c->out_off, want);
            if (n < 0) n = 0;
            account_sent(s, c, (size_t)n, 1);
            c->out_off += (uint32_t)n;
            if ((size_t)n < want) return 0;
        }
        c->out_off = c->out_len = 0;
        c->hdr_unsent = 0;
        if (c->body_left == 0) {
            body_reset(c);
            return 1;
        }
        if (c->src == BODY_PATTERN) {
            size_t got;
            size_t want = c->body_left < PATTERN_PERIOD ? (size_t)c->body_left : PATTERN_PERIOD;
            const uint8_t *p = pattern_at(c->body_off, want, &got);
            if (got > want) got = want;
            ssize_t n = netio_send(s->io, c->handle, p, got);
            if (n < 0) n = 0;
            account_sent(s, c, (size_t)n, 0);
            c->body_off += (uint64_t)n;
            c->body_left -= (uint64_t)n;
            if ((size_t)n < got) return 0;
        } else {
            size_t want = c->body_left < OUT_BUF ? (size_t)c->body_left : OUT_BUF;
            ssize_t r = pread(c->fd, c->out, want, (off_t)c->body_off);
            if (r <= 0) { /* file shrank or I/O error: the promised length cannot be kept */
                conn_end(s, c, 1);
                return -1;
            }
            c->out_len = (uint32_t)r;
            c->body_off += (uint64_t)r;
            c->body_left -= (uint64_t)r;
        }
    }
}

/* ---- input ---------------------------------------------------------------- */

static void consume(struct srv *s, struct conn *c, size_t n)
{
    if (!n) return;
    netio_consume(s->io, c->handle, n);
    s->st->bytes_in += n;
}

/* Parses and answers the requests in data[0, len) while output allows. */
static void serve_input(struct srv *s, struct conn *c, const uint8_t *data, size_t len)
{
    const struct srv_config *cfg = s->cfg;
    size_t pos = 0;
    int r = 1; /* pump result: 1 all out, 0 driver full */
    if (c->discard) {
        size_t take = c->discard < len ? (size_t)c->discard : len;
        pos += take;
        c->discard -= take;
    }
    while (!c->close_after && !c->discard && pos < len) {
        if (c->body_left || OUT_BUF - c->out_len < HDR_ROOM) {
            r = pump(s, c);
            if (r < 0) return;
            if (r == 0) break;
        }
        struct http_request rq;
        int hl = http_parse_request((const char *)data + pos, len - pos, &rq, cfg->max_header,
                                   HTTP_MAX_HEADERS);
        if (hl == HTTP_PARSE_PARTIAL) break;
        s->st->requests++;
        if (hl < 0) {
            if ((unsigned)rq.error < HTTP_ERR__COUNT) s->st->parse_errors[rq.error]++;
            queue_error(s, c, http_error_status(rq.error), 0, 1);
            pos = len;
            break;
        }
        pos += (size_t)hl;
        int head = rq.method_len == 4 && memcmp(rq.method, "HEAD", 4) == 0;
        if (rq.meta.chunked) {
            queue_error(s, c, 501, head, 1);
            pos = len;
            break;
        }
        if (rq.meta.content_length > 0) {
            uint64_t cl = (uint64_t)rq.meta.content_length;
            if (cl > cfg->max_body) {
                queue_error(s, c, 413, head, 1);
                pos = len;
                break;
            }
            size_t take = cl < len - pos ? (size_t)cl : len - pos;
            pos += take;
            c->discard = cl - take;
            /* a client waiting for 100-continue may never send the body */
            if (c->discard && rq.meta.expect_continue) c->close_after = 1;
        }
        if (!rq.meta.keep_alive) c->close_after = 1;
        route(s, c, &rq);
    }
    if (c->eof && !c->close_after && pos == len && !c->discard) c->close_after = 1;
    if (r == 1) r = pump(s, c);
    if (r < 0) return;
    if (r == 0) {
        c->hold = pos; /* consumed when this output completes */
        return;
    }
    consume(s, c, pos);
    if (c->close_after || c->eof) conn_end(s, c, 0);
}

/* All queued output of c is out (after a stall). */
static void output_done(struct srv *s, struct conn *c)
{
    size_t held = c->hold;
    c->hold = 0;
    consume(s, c, held);
    /* the driver presents the rest (if any) again after the consume */
    if (c->close_after || (c->eof && c->rx_seen <= held)) conn_end(s, c, 0);
}

/* ---- events --------------------------------------------------------------- */

static void on_accept(struct srv *s, const struct netio_event *ev, struct conn **slot,
                      int stopping)
{
    struct conn *c = stopping ? NULL : slot_get(s, ev->conn);
    *slot = c;
    if (!c) {
        if (!stopping) s->st->conns_refused++;
        netio_set_ctx(s->io, ev->conn, NULL);
        netio_abort(s->io, ev->conn);
        return;
    }
    s->st->conns_accepted++;
    netio_set_ctx(s->io, ev->conn, c);
}

static void on_event(struct srv *s, const struct netio_event *ev, struct conn *c)
{
    switch (ev->type) {
    case NETIO_EV_ACCEPTED:
    case NETIO_EV_CONNECTED:
        break;
    case NETIO_EV_READABLE:
        c->rx_seen = ev->len;
        if (ev->eof) c->eof = 1;
        if (c->closing) break;
        touch(s, c);
        if (busy(c)) break; /* the rest waits in the driver's buffer */
        serve_input(s, c, ev->data, ev->len);
        break;
    case NETIO_EV_WRITABLE:
        if (c->closing || !busy(c)) break;
        if (pump(s, c) == 1) output_done(s, c);
        break;
    case NETIO_EV_CLOSED:
        s->st->conns_closed++;
        if ((unsigned)ev->reason < NETIO_CLOSE__COUNT) s->st->close_reasons[ev->reason]++;
        slot_put(s, c);
        break;
    }
}

/* Handles one batch; slot[] maps the batch's ACCEPTED events to their slot
 * so later events of the same batch find it even if their ctx predates it. */
static void on_batch(struct srv *s, const struct netio_event *evs, int n, int stopping)
{
    struct conn *slot[EVENTS];
    for (int i = 0; i < n; i++) {
        const struct netio_event *ev = &evs[i];
        slot[i] = NULL;
        if (ev->type == NETIO_EV_ACCEPTED) {
            on_accept(s, ev, &slot[i], stopping);
            continue;
        }
        struct conn *c = ev->ctx;
        if (!c) {
            for (int j = i - 1; j >= 0 && !c; j--)
                if (evs[j].type == NETIO_EV_ACCEPTED && evs[j].conn == ev->conn) {
                    c = slot[j];
                    break;
                }
        }
        if (!c || !c->in_use || c->handle != ev->conn) continue; /* refused connection */
        on_event(s, ev, c);
    }
}

static void idle_scan(struct srv *s)
{
    uint64_t limit = s->cfg->idle_timeout_ns;
    while (s->lru.next != &s->lru) {
        struct conn *c = s->lru.next;
        if (s->now - c->last_ns < limit) break;
        s->st->conns_idle_timeout++;
        conn_end(s, c, busy(c)); /* unlinks c */
    }
}

/* Closes every connection and waits (bounded) for their CLOSED events. */
static int drain(struct srv *s, struct netio_event *evs)
{
    for (size_t i = 0; i < s->cfg->max_conns; i++) {
        struct conn *c = &s->conns[i];
        if (c->in_use && !c->closing) conn_end(s, c, busy(c));
    }
    uint64_t deadline = now_ns() + DRAIN_NS;
    while (s->active > 0 && now_ns() < deadline) {
        int n = netio_poll(s->io, evs, EVENTS, 10000);
        if (n < 0) return -1;
        s->now = now_ns();
        on_batch(s, evs, n, 1);
    }
    return 0;
}

void srv_config_defaults(struct srv_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen.sin_family = AF_INET;
    c->listen.sin_addr.s_addr = htonl(INADDR_ANY);
    c->listen.sin_port = htons(8080);
    c->docroot = NULL;
    c->idle_timeout_ns = 60ull * 1000000000ull;
    c->max_header = 8 * 1024;
    c->max_body = 1024 * 1024;
    c->max_conns = 65536;
}

static int setup(struct srv *s, char *err, size_t errlen)
{
    const struct srv_config *cfg = s->cfg;
    if (cfg->max_conns == 0) {
        snprintf(err, errlen, "server: max_conns must be > 0");
        return -1;
    }
    if (cfg->docroot) {
        s->docroot_fd = open(cfg->docroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->docroot_fd < 0) {
            snprintf(err, errlen, "server: docroot '%s': %s", cfg->docroot, strerror(errno));
            return -1;
        }
    }
    s->conns = calloc(cfg->max_conns, sizeof(*s->conns));
    s->outs = calloc(cfg->max_conns, OUT_BUF);
    if (!s->conns || !s->outs) {
        snprintf(err, errlen, "server: cannot allocate %zu connection slots", cfg->max_conns);
        return -1;
    }
    for (size_t i = cfg->max_conns; i-- > 0;) {
        struct conn *c = &s->conns[i];
        c->out = s->outs + i * OUT_BUF;
        c->fd = -1;
        c->free_next = s->free_list;
        s->free_list = c;
    }
    s->lru.next = s->lru.prev = &s->lru;
    pattern_init();
    return 0;
}

int server_run(struct netio *io, const struct srv_config *cfg, struct srv_stats *st, char *err,
               size_t errlen)
{
    struct srv s = {.io = io, .cfg = cfg, .st = st, .docroot_fd = -1};
    struct netio_event evs[EVENTS];
    int rc = -1;
    memset(st, 0, sizeof(*st));
    if (setup(&s, err, errlen) < 0) goto out;
    char lerr[256];
    if (netio_listen(io, &cfg->listen, NULL, lerr, sizeof(lerr)) < 0) {
        snprintf(err, errlen, "server: listen: %s", lerr);
        goto out;
    }
    if (cfg->on_ready) cfg->on_ready(cfg->arg);
    uint64_t limit = cfg->idle_timeout_ns;
    uint64_t scan_every = limit / 4 < 250000000ull ? limit / 4 : 250000000ull;
    if (scan_every < 10000000ull) scan_every = 10000000ull;
    s.now = now_ns();
    uint64_t next_scan = s.now + scan_every;
    while (!(cfg->stop && *cfg->stop)) {
        int n = netio_poll(io, evs, EVENTS, POLL_TIMEOUT_US);
        if (n < 0) {
            snprintf(err, errlen, "server: netio_poll failed");
            goto out;
        }
        s.now = now_ns();
        on_batch(&s, evs, n, 0);
        if (limit && s.now >= next_scan) {
            idle_scan(&s);
            next_scan = s.now + scan_every;
        }
    }
    if (drain(&s, evs) < 0) {
        snprintf(err, errlen, "server: netio_poll failed while closing connections");
        goto out;
    }
    rc = 0;
out:
    if (s.conns)
        for (size_t i = 0; i < cfg->max_conns; i++)
            if (s.conns[i].fd >= 0) close(s.conns[i].fd);
    free(s.conns);
    free(s.outs);
    if (s.docroot_fd >= 0) close(s.docroot_fd);
    return rc;
}
