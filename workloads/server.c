/*
 * server.c — the HTTP/1.1 benchmark server (server.h), written only against
 * the netio wrappers, so the same code runs over every driver.
 *
 * Callers: harness/cli/serve.c, tests/workloads/test_server.c.
 * Calls:   netio_* (drivers/netio.h), http_parse_request (http_parser.c),
 *          pattern_at/pattern_fill (pattern.c), units_parse_size_n (units.c).
 *
 * Flow: server_run -> netio_poll -> on_batch -> on_event
 *         ACCEPTED -> slot from the pool, netio_set_ctx
 *         READABLE -> parse_input (requests -> the slot's request ring)
 *                     -> advance (ring -> response in the out buffer -> pump)
 *         WRITABLE -> advance
 *         CLOSED   -> slot back to the pool
 *       every <= 250 ms: idle_scan over an LRU list (oldest progress first).
 *
 * Ordering and back-pressure. A parsed request becomes a small ring entry
 * (what to answer, how many buffer bytes it occupies); responses are built
 * from the ring strictly in order. A request's bytes are consumed only when
 * its response has been built, so while a response is stalled (short send,
 * waiting for WRITABLE) the requests behind it stay in the driver's buffer.
 * The ring holds REQ_RING requests; beyond that, requests wait unparsed in the
 * driver's buffer until it presents them again (new data, or a driver that
 * re-presents after netio_consume). Small responses to pipelined requests
 * are batched into one out buffer and sent together. A stalled client only
 * stops its own connection; nothing blocks.
 *
 * Memory: the slot table, a free-slot stack and one out buffer per slot are
 * allocated once in server_run; nothing is allocated per request. The table
 * and out buffers are calloc'd and only touched (backed by pages) when a slot
 * is used; free slots are reused LIFO so warm ones come back first. The last
 * /bytes/N response built is kept ready (struct resp_cache, in struct srv)
 * and copied whole while N and the Connection header stay the same; with
 * cfg->no_cache it is built afresh for every request (the header formatted,
 * the body pattern generated), so a cost measurement can include that work.
 */
#include "workloads/server.h"

#include "workloads/pattern.h"
#include "workloads/units.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF (16u * 1024)   /* per-connection: headers, small bodies, file chunks */
#define HDR_ROOM 512u          /* free out space needed to build one more response */
#define REQ_RING 32u           /* parsed requests waiting for their response */
#define MAX_BYTES (1ull << 40) /* /bytes/N limit: 1 TiB */
#define MAX_NAME 255
#define POLL_TIMEOUT_US 100000 /* so *stop and the idle timers are seen */
#define SCAN_MAX_NS 250000000ull
#define EVENTS 64
#define DRAIN_NS 1000000000ull /* at stop: wait this long for CLOSED events */

enum req_kind { RQ_BYTES = 1, RQ_FILE, RQ_ERROR };
#define RQF_HEAD 0x1u
#define RQF_CLOSE 0x2u

/* One parsed request: everything needed to answer it once its bytes are gone. */
struct req {
    uint64_t size;   /* RQ_BYTES, RQ_FILE: body length */
    uint32_t len;    /* bytes it occupies in the driver's buffer (header + body seen) */
    uint16_t status; /* RQ_ERROR */
    uint8_t kind, flags;
    int fd; /* RQ_FILE */
};

enum body_src { BODY_NONE = 0, BODY_PATTERN, BODY_FILE, BODY_MAP };

/* Bodies of at least REF_MIN bytes go by reference (netio_send_ref): the
 * pattern table, or the file's mapping; the driver writes each byte once,
 * into the frame, and rereads the source for a retransmission. Smaller ones
 * are copied with their header (the response cache). */
#define REF_MIN 2048u
/* Mapped files, kept until server_run returns (a reference may outlive the
 * response: until the connection's CLOSED). A file is mapped again when its
 * size or mtime changed; when the table is full it is read with pread. A
 * file truncated while mapped would fault (SIGBUS): the docroot is the
 * benchmark's own, not changed while it runs. */
#define MAPS 64u
struct file_map {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    const uint8_t *base;
};

struct conn {
    int handle;
    uint8_t in_use;
    uint8_t closing;      /* netio_close/abort called: waiting for CLOSED */
    uint8_t close_queued; /* a request that ends the connection is in the ring: parse no more */
    uint8_t close_after;  /* ... and its response is built */
    uint8_t eof;          /* peer sent FIN */
    uint8_t more;         /* parsing stopped on a full ring: requests may wait unparsed */
    uint8_t blocked;      /* a send was short: wait for WRITABLE */
    uint8_t stalled;      /* TEST ONLY (cfg->test_stall_conn): never answered */
    uint8_t *out;         /* OUT_BUF bytes; pending output is [out_off, out_len) */
    uint32_t out_off, out_len;
    uint32_t hdr_unsent; /* header bytes among the pending output (for body_bytes_out) */
    enum body_src src;   /* where body_left comes from once out is drained */
    int fd;              /* BODY_FILE */
    const uint8_t *map;  /* BODY_MAP: the file's mapping (struct file_map) */
    uint64_t body_off, body_left;
    uint64_t discard;         /* request body bytes still to arrive and be dropped */
    size_t held;              /* buffer bytes owned by ring entries (sum of their len) */
    size_t to_consume;        /* bytes to netio_consume at the end of this event */
    uint64_t last_ns;         /* last progress */
    struct conn *prev, *next; /* LRU list of open, not closing connections */
    uint32_t rhead, rcount;
    struct req ring[REQ_RING];
};

/* The last /bytes/N response header built, and its whole body when small:
 * a benchmark asks for one size over and over, so the next response with the
 * same N and the same Connection header is one copy of ready-made bytes.
 * Rebuilt (formatted, body filled from the pattern) whenever N or the
 * Connection header changes. */
#define CACHE_BYTES 2048u
struct resp_cache {
    uint64_t size;    /* Content-Length (N) */
    uint32_t hdr_len; /* 0: empty */
    uint32_t len;     /* hdr_len + size when the body is cached, else hdr_len */
    uint8_t close;    /* "Connection: close" rather than keep-alive */
    uint8_t bytes[CACHE_BYTES];
};

struct srv {
    struct netio *io;
    const struct srv_config *cfg;
    struct srv_stats *st;
    struct conn *conns;
    uint8_t *outs;
    uint32_t *free_idx; /* stack of free slot indices */
    size_t nfree;
    struct conn lru; /* sentinel: lru.next is the oldest */
    uint64_t active;
    uint64_t now;
    int docroot_fd;
    struct resp_cache cache;
    uint32_t nmaps;
    struct file_map maps[MAPS];
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

/* Progress on c (bytes in or out): it becomes the newest. */
static void touch(struct srv *s, struct conn *c)
{
    c->last_ns = s->now;
    if (c->closing || c->next == &s->lru) return; /* closing, or already the newest */
    lru_unlink(c);
    c->prev = s->lru.prev;
    c->next = &s->lru;
    s->lru.prev->next = c;
    s->lru.prev = c;
}

/* ---- slots -------------------------------------------------------------- */

static void body_reset(struct conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->map = NULL;
    c->src = BODY_NONE;
    c->body_off = c->body_left = 0;
}

static void ring_clear(struct conn *c)
{
    for (; c->rcount; c->rcount--, c->rhead = (c->rhead + 1) % REQ_RING)
        if (c->ring[c->rhead].kind == RQ_FILE) close(c->ring[c->rhead].fd);
    c->held = 0;
}

static struct conn *slot_get(struct srv *s, int handle)
{
    if (s->nfree == 0) return NULL;
    uint32_t i = s->free_idx[--s->nfree];
    struct conn *c = &s->conns[i];
    memset(c, 0, offsetof(struct conn, ring));
    c->out = s->outs + (size_t)i * OUT_BUF;
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
    ring_clear(c);
    lru_unlink(c);
    c->in_use = 0;
    s->free_idx[s->nfree++] = (uint32_t)(c - s->conns);
    s->active--;
}

/* Graceful close (FIN after the queued data) or abort (RST) of a live slot. */
static void conn_end(struct srv *s, struct conn *c, int abortive)
{
    if (c->closing) return;
    c->closing = 1;
    lru_unlink(c);
    body_reset(c);
    ring_clear(c);
    if (abortive)
        netio_abort(s->io, c->handle);
    else
        netio_close(s->io, c->handle);
}

static int out_pending(const struct conn *c)
{
    return c->out_off < c->out_len || c->body_left > 0;
}

/* ---- response building (into c->out, HDR_ROOM bytes free) ------------------ */

static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

static size_t put_u64(uint8_t *p, uint64_t v)
{
    if (v < 100) { /* status-free hot path: small bodies */
        uint32_t x = (uint32_t)v;
        if (x < 10) {
            p[0] = (uint8_t)('0' + x);
            return 1;
        }
        p[0] = (uint8_t)('0' + x / 10);
        p[1] = (uint8_t)('0' + x % 10);
        return 2;
    }
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tmp[n - 1 - i];
    return n;
}

static const char *reason_of(int status)
{
    const char *r = http_status_reason(status);
    return r ? r : "Unknown";
}

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), sizeof(lit) - 1)

/* The constant start of every 200 application/octet-stream response. */
static const char hdr_200_bin[] = "HTTP/1.1 200 OK\r\nServer: bypassbench\r\n"
                                  "Content-Type: application/octet-stream\r\nContent-Length: ";

/* Formats a response header at p; returns its length (< HDR_ROOM).
 * ctype NULL: application/octet-stream. */
static size_t format_header(uint8_t *p, int status, const char *ctype, uint64_t length, int close,
                            const char *extra)
{
    uint8_t *start = p;
    if (status == 200 && !ctype) { /* one copy of the constant part */
        p += PUT_LIT(p, hdr_200_bin);
    } else {
        p += PUT_LIT(p, "HTTP/1.1 ");
        p += put_u64(p, (uint64_t)status);
        *p++ = ' ';
        p += put_str(p, reason_of(status));
        p += PUT_LIT(p, "\r\nServer: bypassbench\r\nContent-Type: ");
        p += put_str(p, ctype ? ctype : "application/octet-stream");
        p += PUT_LIT(p, "\r\nContent-Length: ");
    }
    p += put_u64(p, length);
    if (close)
        p += PUT_LIT(p, "\r\nConnection: close\r\n");
    else
        p += PUT_LIT(p, "\r\nConnection: keep-alive\r\n");
    if (extra) p += put_str(p, extra);
    p += PUT_LIT(p, "\r\n");
    return (size_t)(p - start);
}

/* n header bytes were added to c->out: account them. */
static void header_added(struct srv *s, struct conn *c, int status, size_t n)
{
    c->out_len += (uint32_t)n;
    c->hdr_unsent += (uint32_t)n;
    if (status >= 100 && status < 600) s->st->responses[status / 100]++;
}

static void put_header(struct srv *s, struct conn *c, int status, const char *ctype,
                       uint64_t length, const char *extra)
{
    size_t n = format_header(c->out + c->out_len, status, ctype, length, c->close_after, extra);
    header_added(s, c, status, n);
}

/* Error responses carry their reason phrase as a short text body. */
static void build_error(struct srv *s, struct conn *c, int status, int head)
{
    const char *reason = reason_of(status);
    size_t blen = strlen(reason) + 1;
    put_header(s, c, status, "text/plain", blen, status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
    if (head) return;
    memcpy(c->out + c->out_len, reason, blen - 1);
    c->out[c->out_len + blen - 1] = '\n';
    c->out_len += (uint32_t)blen;
}

/* The cache for a /bytes/N response on c (see struct resp_cache). */
static const struct resp_cache *cached_bytes(struct srv *s, const struct conn *c, uint64_t size)
{
    struct resp_cache *rc = &s->cache;
    if (rc->hdr_len && rc->size == size && rc->close == c->close_after && !s->cfg->no_cache)
        return rc;
    rc->size = size;
    rc->close = c->close_after;
    rc->hdr_len = (uint32_t)format_header(rc->bytes, 200, NULL, size, rc->close, NULL);
    rc->len = rc->hdr_len;
    if (size <= CACHE_BYTES - rc->hdr_len) {
        pattern_fill(rc->bytes + rc->hdr_len, 0, (size_t)size);
        rc->len += (uint32_t)size;
        s->st->body_bytes_staged += size;
    }
    return rc;
}

static inline size_t send_some(struct srv *s, struct conn *c, const void *p, size_t want,
                               int from_out);

/* A whole cached response with nothing queued before it or after it (the
 * keep-alive request/response case): sent straight from the cache instead of
 * through out. What the driver does not take goes to out for pump. */
static void send_cached(struct srv *s, struct conn *c, const struct resp_cache *rc)
{
    s->st->responses[2]++;
    c->hdr_unsent = rc->hdr_len; /* as if in out: send_some counts these first */
    size_t n = send_some(s, c, rc->bytes, rc->len, 1);
    if (n == rc->len) return;
    memcpy(c->out, rc->bytes + n, rc->len - n);
    c->out_len = rc->len - (uint32_t)n;
}

/* fd's mapping (size bytes), from the table or made now; NULL when it
 * cannot be mapped or the table is full (the body is read with pread). */
static const uint8_t *file_map(struct srv *s, int fd, uint64_t size)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != size) return NULL;
    for (uint32_t i = 0; i < s->nmaps; i++) {
        const struct file_map *m = &s->maps[i];
        if (m->dev == sb.st_dev && m->ino == sb.st_ino && m->size == sb.st_size &&
            m->mtime.tv_sec == sb.st_mtim.tv_sec && m->mtime.tv_nsec == sb.st_mtim.tv_nsec)
            return m->base;
    }
    if (s->nmaps == MAPS) return NULL;
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return NULL;
    s->maps[s->nmaps++] = (struct file_map){.dev = sb.st_dev, .ino = sb.st_ino,
                                            .size = sb.st_size, .mtime = sb.st_mtim, .base = p};
    s->st->file_maps++;
    return p;
}

/* Header, then the body: by reference from pump when it is large (REF_MIN),
 * else as much as fits into out, the rest streaming from pump. */
static void build_body(struct srv *s, struct conn *c, const struct req *e)
{
    uint8_t *out = c->out + c->out_len;
    size_t room = OUT_BUF - c->out_len;
    if (e->kind == RQ_BYTES) {
        const struct resp_cache *rc = cached_bytes(s, c, e->size);
        int head = e->flags & RQF_HEAD;
        if (!head && rc->len - rc->hdr_len == e->size && rc->len <= room) {
            if (c->out_len == 0 && c->rcount == 0 && !c->blocked) {
                send_cached(s, c, rc);
                return;
            }
            /* the whole response in one copy: nothing left for pump */
            memcpy(out, rc->bytes, rc->len);
            header_added(s, c, 200, rc->hdr_len);
            c->out_len += (uint32_t)e->size;
            s->st->body_bytes_staged += e->size;
            return;
        }
        memcpy(out, rc->bytes, rc->hdr_len);
        header_added(s, c, 200, rc->hdr_len);
    } else {
        put_header(s, c, 200, NULL, e->size, NULL);
    }
    if ((e->flags & RQF_HEAD) || e->size == 0) {
        if (e->kind == RQ_FILE) close(e->fd);
        return;
    }
    room = OUT_BUF - c->out_len;
    size_t want = e->size < room ? (size_t)e->size : room;
    if (e->size >= REF_MIN) { /* by reference, all of it from pump */
        if (e->kind == RQ_BYTES) {
            c->src = BODY_PATTERN;
        } else if ((c->map = file_map(s, e->fd, e->size)) != NULL) {
            c->src = BODY_MAP;
            close(e->fd);
        }
        if (c->src != BODY_NONE) {
            c->body_off = 0;
            c->body_left = e->size;
            return;
        }
    }
    if (e->kind == RQ_BYTES) {
        pattern_fill(c->out + c->out_len, 0, want);
        c->src = BODY_PATTERN;
    } else {
        c->src = BODY_FILE;
        c->fd = e->fd;
        ssize_t r = pread(e->fd, c->out + c->out_len, want, 0);
        want = r > 0 ? (size_t)r : 0; /* a failed read shows up again in pump */
    }
    s->st->body_bytes_staged += want;
    c->out_len += (uint32_t)want;
    c->body_off = want;
    c->body_left = e->size - want;
    if (c->body_left == 0) body_reset(c);
}

/* ---- routing (at parse time; the ring entry must not point into the buffer) */

static void route_file(struct srv *s, struct req *e, const char *name, size_t len)
{
    char path[MAX_NAME + 1];
    e->kind = RQ_ERROR;
    e->status = 404;
    if (s->docroot_fd < 0 || len == 0 || len > MAX_NAME || name[0] == '.' ||
        memchr(name, '/', len) || memchr(name, '\0', len))
        return;
    memcpy(path, name, len);
    path[len] = '\0';
    int fd = openat(s->docroot_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != EACCES &&
            errno != ENAMETOOLONG)
            e->status = 500; /* EMFILE and friends: not the client's fault */
        return;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return;
    }
    e->kind = RQ_FILE;
    e->fd = fd;
    e->size = (uint64_t)sb.st_size;
}

/* N of /bytes/N[?query] from the bytes after "/bytes/". Plain digits (at most
 * 19: no overflow) directly, which is what units_parse_size_n gives for them;
 * anything else goes to units_parse_size_n, without the query. */
static int bytes_size(const char *d, size_t len, uint64_t *n)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < len && i < 19 && (unsigned)(d[i] - '0') <= 9)
        v = v * 10 + (uint64_t)(d[i++] - '0');
    if (i > 0 && (i == len || d[i] == '?')) {
        *n = v;
        return 0;
    }
    const char *q = memchr(d, '?', len);
    return units_parse_size_n(d, q ? (size_t)(q - d) : len, n);
}

static void route(struct srv *s, struct req *e, const struct http_request *rq)
{
    int head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
    int get = rq->method_len == 3 && memcmp(rq->method, "GET", 3) == 0;
    if (head) e->flags |= RQF_HEAD;
    e->kind = RQ_ERROR;
    e->status = 404;
    if (!get && !head) {
        e->status = 405;
        return;
    }
    const char *t = rq->target;
    size_t tl = rq->target_len;
    uint64_t n;
    /* "/bytes/" holds no '?', so it is a prefix of the path iff of the target */
    if (tl > 7 && memcmp(t, "/bytes/", 7) == 0) {
        if (bytes_size(t + 7, tl - 7, &n) == 0 && n <= MAX_BYTES) {
            e->kind = RQ_BYTES;
            e->size = n;
        }
        return;
    }
    const char *q = memchr(t, '?', tl);
    if (q) tl = (size_t)(q - t);
    if (tl >= 6 && memcmp(t, "/file/", 6) == 0) route_file(s, e, t + 6, tl - 6);
}

/* ---- output --------------------------------------------------------------- */

static void account_sent(struct srv *s, struct conn *c, size_t n, int from_out)
{
    s->st->bytes_out += n;
    size_t h = 0;
    if (from_out) {
        h = n < c->hdr_unsent ? n : c->hdr_unsent;
        c->hdr_unsent -= (uint32_t)h;
    }
    s->st->body_bytes_out += n - h;
    if (n) touch(s, c);
}

static inline size_t send_some(struct srv *s, struct conn *c, const void *p, size_t want,
                               int from_out)
{
    ssize_t n = netio_send(s->io, c->handle, p, want);
    if (n < 0) n = 0; /* the connection is gone: its CLOSED event follows */
    account_sent(s, c, (size_t)n, from_out);
    if ((size_t)n < want) c->blocked = 1;
    return (size_t)n;
}

/* Sends what can be sent. Returns 1 when all output is out, 0 when the
 * driver is full (WRITABLE follows), -1 when the connection was aborted. */
static inline int pump(struct srv *s, struct conn *c)
{
    if (c->blocked) return 0;
    for (;;) {
        if (c->out_off < c->out_len) {
            size_t want = c->out_len - c->out_off;
            c->out_off += (uint32_t)send_some(s, c, c->out + c->out_off, want, 1);
            if (c->out_off < c->out_len) return 0;
        }
        c->out_off = c->out_len = 0;
        c->hdr_unsent = 0;
        if (c->body_left == 0) {
            body_reset(c);
            return 1;
        }
        if (c->src == BODY_PATTERN || c->src == BODY_MAP) {
            /* by reference: the pattern a period at a time, a mapping whole */
            struct netio_src src = {.base = c->map, .period = 0};
            size_t want = c->body_left < SIZE_MAX / 2 ? (size_t)c->body_left : SIZE_MAX / 2;
            if (c->src == BODY_PATTERN) {
                src.base = pattern_at(0, 0, NULL);
                src.period = PATTERN_PERIOD;
                pattern_sums(src.sum);
                if (want > PATTERN_PERIOD) want = PATTERN_PERIOD;
            }
            ssize_t r = netio_send_ref(s->io, c->handle, &src, c->body_off, want);
            size_t n = r > 0 ? (size_t)r : 0;
            account_sent(s, c, n, 0);
            s->st->body_bytes_by_ref += n;
            c->body_off += n;
            c->body_left -= n;
            if (n < want) {
                c->blocked = 1;
                return 0;
            }
        } else {
            size_t want = c->body_left < OUT_BUF ? (size_t)c->body_left : OUT_BUF;
            ssize_t r = pread(c->fd, c->out, want, (off_t)c->body_off);
            if (r <= 0) { /* file shrank or I/O error: the promised length cannot be kept */
                conn_end(s, c, 1);
                return -1;
            }
            s->st->body_bytes_staged += (uint64_t)r;
            c->out_len = (uint32_t)r;
            c->body_off += (uint64_t)r;
            c->body_left -= (uint64_t)r;
        }
    }
}

/* Builds responses from the ring in order while out has room, and sends.
 * Returns as pump. */
static inline int advance(struct srv *s, struct conn *c)
{
    while (c->rcount && !c->close_after) {
        if (c->body_left || OUT_BUF - c->out_len < HDR_ROOM) {
            int r = pump(s, c);
            if (r <= 0) return r;
        }
        struct req *e = &c->ring[c->rhead];
        c->rhead = (c->rhead + 1) % REQ_RING;
        c->rcount--;
        c->held -= e->len;
        c->to_consume += e->len; /* answered: its bytes may go */
        if (e->flags & RQF_CLOSE) c->close_after = 1;
        if (e->kind == RQ_ERROR)
            build_error(s, c, e->status, e->flags & RQF_HEAD);
        else
            build_body(s, c, e);
    }
    return pump(s, c);
}

/* ---- input ---------------------------------------------------------------- */

static struct req *ring_push(struct conn *c)
{
    struct req *e = &c->ring[(c->rhead + c->rcount++) % REQ_RING];
    memset(e, 0, sizeof(*e));
    e->fd = -1;
    return e;
}

/* Parses the requests in data[held, len) into the ring. The first `held`
 * bytes are requests already in the ring. */
static void parse_input(struct srv *s, struct conn *c, const uint8_t *data, size_t len)
{
    const struct srv_config *cfg = s->cfg;
    size_t pos = c->held;
    if (c->discard && pos < len) { /* the rest of a body, at the front or after the ring's */
        size_t take = c->discard < len - pos ? (size_t)c->discard : len - pos;
        if (c->rcount) { /* the body's request is still in the ring: its bytes grow */
            c->ring[(c->rhead + c->rcount - 1) % REQ_RING].len += (uint32_t)take;
            c->held += take;
        } else {
            c->to_consume += take;
        }
        pos += take;
        c->discard -= take;
    }
    c->more = 0;
    while (!c->close_queued && !c->discard && pos < len) {
        if (c->rcount == REQ_RING) {
            c->more = 1;
            break;
        }
        struct http_request rq;
        int hl = http_parse_request((const char *)data + pos, len - pos, &rq, cfg->max_header,
                                    HTTP_MAX_HEADERS);
        if (hl == HTTP_PARSE_PARTIAL) break;
        s->st->requests_parsed++;
        struct req *e = ring_push(c);
        e->len = (uint32_t)(len - pos); /* errors take everything: the connection ends */
        if (hl < 0) {
            if ((unsigned)rq.error < HTTP_ERR__COUNT) s->st->parse_errors[rq.error]++;
            e->kind = RQ_ERROR;
            e->status = (uint16_t)http_error_status(rq.error);
            e->flags = RQF_CLOSE;
        } else if (rq.meta.chunked) {
            e->kind = RQ_ERROR;
            e->status = 501;
            e->flags = RQF_CLOSE;
        } else if (rq.meta.content_length > 0 && (uint64_t)rq.meta.content_length > cfg->max_body) {
            e->kind = RQ_ERROR;
            e->status = 413;
            e->flags = RQF_CLOSE;
        } else {
            size_t blen = rq.meta.content_length > 0 ? (size_t)rq.meta.content_length : 0;
            size_t avail = len - pos - (size_t)hl;
            size_t take = blen < avail ? blen : avail;
            e->len = (uint32_t)((size_t)hl + take);
            c->discard = blen - take;
            route(s, e, &rq);
            if (!rq.meta.keep_alive) e->flags |= RQF_CLOSE;
            /* a client waiting for 100-continue may never send the body */
            if (c->discard && rq.meta.expect_continue) e->flags |= RQF_CLOSE;
        }
        if (e->flags & RQF_CLOSE) c->close_queued = 1;
        pos += e->len;
        c->held += e->len;
    }
}

/* End of an event on c: consume answered bytes, close when done. */
static inline void settle(struct srv *s, struct conn *c, int r)
{
    if (r < 0 || c->closing) return;
    if (c->to_consume) {
        netio_consume(s->io, c->handle, c->to_consume);
        s->st->bytes_in += c->to_consume;
        c->to_consume = 0;
    }
    if (r == 0 || c->rcount) return; /* output pending */
    if (c->close_after || (c->eof && !c->more)) conn_end(s, c, 0);
}

/* ---- events --------------------------------------------------------------- */

static void on_event(struct srv *s, const struct netio_event *ev, struct conn *c)
{
    switch (ev->type) {
    case NETIO_EV_ACCEPTED:
    case NETIO_EV_CONNECTED:
        break;
    case NETIO_EV_READABLE:
        if (c->closing || c->stalled) break;
        if (ev->eof) c->eof = 1;
        touch(s, c);
        parse_input(s, c, ev->data, ev->len);
        settle(s, c, advance(s, c));
        break;
    case NETIO_EV_WRITABLE:
        if (c->closing) break;
        c->blocked = 0;
        settle(s, c, advance(s, c));
        break;
    case NETIO_EV_CLOSED:
        s->st->conns_closed++;
        if ((unsigned)ev->reason < NETIO_CLOSE__COUNT) s->st->close_reasons[ev->reason]++;
        slot_put(s, c);
        break;
    }
}

static void on_accept(struct srv *s, const struct netio_event *ev, struct conn **slot, int stopping)
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
    c->stalled = s->cfg->test_stall_conn && s->st->conns_accepted == s->cfg->test_stall_conn;
    netio_set_ctx(s->io, ev->conn, c);
}

/* One batch of events. slot[] maps the batch's ACCEPTED events to their slot,
 * for later events of the same batch whose ctx predates netio_set_ctx. */
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
        for (int j = i - 1; !c && j >= 0; j--)
            if (evs[j].type == NETIO_EV_ACCEPTED && evs[j].conn == ev->conn) c = slot[j];
        if (!c || !c->in_use || c->handle != ev->conn) continue; /* a refused connection */
        on_event(s, ev, c);
    }
}

static void idle_scan(struct srv *s)
{
    while (s->lru.next != &s->lru) {
        struct conn *c = s->lru.next;
        if (s->now - c->last_ns < s->cfg->idle_timeout_ns) break;
        s->st->conns_idle_timeout++;
        conn_end(s, c, out_pending(c)); /* unlinks c; RST if output is stuck */
    }
}

/* Closes every connection and waits (bounded) for their CLOSED events. */
static int drain(struct srv *s, struct netio_event *evs)
{
    for (size_t i = 0; i < s->cfg->max_conns; i++) {
        struct conn *c = &s->conns[i];
        if (c->in_use && !c->closing) conn_end(s, c, out_pending(c));
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

/* ---- public ----------------------------------------------------------------- */

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
    if (cfg->max_conns == 0 || cfg->max_conns > UINT32_MAX) {
        snprintf(err, errlen, "server: max_conns %zu out of range", cfg->max_conns);
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
    s->free_idx = calloc(cfg->max_conns, sizeof(*s->free_idx));
    if (!s->conns || !s->outs || !s->free_idx) {
        snprintf(err, errlen, "server: cannot allocate %zu connection slots", cfg->max_conns);
        return -1;
    }
    for (size_t i = 0; i < cfg->max_conns; i++)
        s->free_idx[s->nfree++] = (uint32_t)(cfg->max_conns - 1 - i);
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
    char lerr[256] = "";
    if (netio_listen(io, &cfg->listen, NULL, lerr, sizeof(lerr)) < 0) {
        snprintf(err, errlen, "server: %s", lerr);
        goto out;
    }
    if (cfg->on_ready) cfg->on_ready(cfg->arg);
    uint64_t idle = cfg->idle_timeout_ns;
    uint64_t scan_every = idle / 4 < SCAN_MAX_NS ? idle / 4 : SCAN_MAX_NS;
    if (scan_every < 10000000ull) scan_every = 10000000ull;
    s.now = now_ns();
    uint64_t next_scan = idle ? s.now + scan_every : UINT64_MAX; /* never, without a timeout */
    /* loop invariants in locals: the calls in the loop make the compiler
     * reload anything read through cfg */
    static const volatile sig_atomic_t never_stop = 0;
    const volatile sig_atomic_t *stop = cfg->stop ? cfg->stop : &never_stop;
    void (*on_tick)(void *) = cfg->on_tick;
    void *arg = cfg->arg;
    while (!*stop) {
        int n = netio_poll(io, evs, EVENTS, POLL_TIMEOUT_US);
        if (n < 0) {
            snprintf(err, errlen, "server: netio_poll failed");
            goto out;
        }
        s.now = now_ns();
        if (n) {
            on_batch(&s, evs, n, 0);
            netio_flush(io);
        }
        if (on_tick) on_tick(arg);
        if (s.now >= next_scan) {
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
            if (s.conns[i].in_use) {
                body_reset(&s.conns[i]);
                ring_clear(&s.conns[i]);
            }
    free(s.conns);
    free(s.outs);
    free(s.free_idx);
    for (uint32_t i = 0; i < s.nmaps; i++)
        munmap((void *)s.maps[i].base, (size_t)s.maps[i].size);
    if (s.docroot_fd >= 0) close(s.docroot_fd);
    return rc;
}
