/*
 * fuzz_http_parser.c — libFuzzer target for workloads/http_parser.c.
 *
 * Runs http_parse_request, http_parse_response and http_chunked_feed on the
 * input copied into an exact-size malloc'd buffer (so ASan catches any read of
 * buf[len]), and for inputs under 256 bytes on every prefix, each in its own
 * exact-size copy. Traps (__builtin_trap) when the return contract breaks:
 * ret is -1, -2 or 0 < ret <= len; on success num_headers <= max and every
 * pointer lies inside the header block; a prefix of a complete block is
 * PARTIAL; a prefix's error is the full input's error; the chunked decoder
 * gives the same result, consumed count and payload however it is split;
 * http_parse_request and http_parse_response (with their fast paths) give
 * exactly what the general paths (http_parse_*_general) give.
 *
 * Build and run: make build-fuzz/fuzz_http_parser &&
 *   build-fuzz/fuzz_http_parser -runs=200000 tests/fuzz/corpus/fuzz_http_parser
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/http_parser.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#define PREFIX_MAX 256

/* p[0..n) lies inside buf[0..len). */
static int inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p != NULL && p >= buf && p <= buf + len && n <= (size_t)(buf + len - p);
}

static char *copy(const uint8_t *data, size_t len)
{
    char *b = malloc(len ? len : 1);
    CHECK(b != NULL);
    if (len)
        memcpy(b, data, len);
    return b;
}

static size_t clamp_headers(size_t max_headers)
{
    return max_headers > HTTP_MAX_HEADERS ? HTTP_MAX_HEADERS : max_headers;
}

static void check_error(int ret, enum http_error e, size_t len, size_t max_len)
{
    CHECK(ret == HTTP_PARSE_ERROR || ret == HTTP_PARSE_PARTIAL || (ret > 0 && (size_t)ret <= len));
    if (max_len && ret > 0)
        CHECK((size_t)ret <= max_len);
    if (ret == HTTP_PARSE_ERROR) {
        CHECK(e > HTTP_ERR_NONE && e < HTTP_ERR__COUNT);
        int st = http_error_status(e);
        CHECK(st == 400 || st == 431 || st == 505);
        CHECK(http_error_str(e) != NULL);
    } else {
        CHECK(e == HTTP_ERR_NONE);
    }
    if (ret == HTTP_PARSE_PARTIAL && max_len)
        CHECK(len < max_len);
}

static void check_headers(const struct http_header *h, size_t n, size_t max_headers,
                          const struct http_meta *m, const char *buf, size_t blk)
{
    CHECK(n <= clamp_headers(max_headers));
    for (size_t i = 0; i < n; i++) {
        CHECK(h[i].name_len > 0 && inside(h[i].name, h[i].name_len, buf, blk));
        CHECK(inside(h[i].value, h[i].value_len, buf, blk));
    }
    CHECK(m->content_length >= -1);
    CHECK(!(m->chunked && m->content_length >= 0));
    CHECK(m->chunked == 0 || m->chunked == 1);
    CHECK(m->keep_alive == 0 || m->keep_alive == 1);
    CHECK(m->expect_continue == 0 || m->expect_continue == 1);
}

/* Same header spans (same pointers) and same meta. */
static void check_same_fields(const struct http_header *ha, const struct http_header *hb,
                              size_t n, const struct http_meta *ma, const struct http_meta *mb)
{
    for (size_t i = 0; i < n; i++) {
        CHECK(ha[i].name == hb[i].name && ha[i].name_len == hb[i].name_len);
        CHECK(ha[i].value == hb[i].value && ha[i].value_len == hb[i].value_len);
    }
    CHECK(ma->content_length == mb->content_length && ma->chunked == mb->chunked);
    CHECK(ma->keep_alive == mb->keep_alive);
    CHECK(ma->expect_continue == mb->expect_continue);
}

/* The fast path changes nothing: same return, error, spans and meta. */
static void check_same_request(const struct http_request *a, int ra, const char *buf, size_t len,
                               size_t max_len, size_t max_headers)
{
    struct http_request b;
    int rb = http_parse_request_general(buf, len, &b, max_len, max_headers);
    CHECK(ra == rb && a->error == b.error);
    if (ra <= 0)
        return;
    CHECK(a->method == b.method && a->method_len == b.method_len);
    CHECK(a->target == b.target && a->target_len == b.target_len);
    CHECK(a->minor_version == b.minor_version && a->num_headers == b.num_headers);
    check_same_fields(a->headers, b.headers, a->num_headers, &a->meta, &b.meta);
}

static void check_same_response(const struct http_response *a, int ra, const char *buf,
                                size_t len, size_t max_len, size_t max_headers)
{
    struct http_response b;
    int rb = http_parse_response_general(buf, len, &b, max_len, max_headers);
    CHECK(ra == rb && a->error == b.error);
    if (ra <= 0)
        return;
    CHECK(a->minor_version == b.minor_version && a->status == b.status);
    CHECK(a->reason == b.reason && a->reason_len == b.reason_len);
    CHECK(a->num_headers == b.num_headers);
    check_same_fields(a->headers, b.headers, a->num_headers, &a->meta, &b.meta);
}

static int run_request(const uint8_t *data, size_t len, size_t max_len, size_t max_headers,
                       enum http_error *err)
{
    char *buf = copy(data, len);
    struct http_request req;
    int ret = http_parse_request(buf, len, &req, max_len, max_headers);
    check_error(ret, req.error, len, max_len);
    check_same_request(&req, ret, buf, len, max_len, max_headers);
    if (ret > 0) {
        size_t blk = (size_t)ret;
        CHECK(req.method_len > 0 && inside(req.method, req.method_len, buf, blk));
        CHECK(req.target_len > 0 && inside(req.target, req.target_len, buf, blk));
        CHECK(req.minor_version == 0 || req.minor_version == 1);
        check_headers(req.headers, req.num_headers, max_headers, &req.meta, buf, blk);
    }
    *err = req.error;
    free(buf);
    return ret;
}

static int run_response(const uint8_t *data, size_t len, size_t max_len, size_t max_headers,
                        enum http_error *err)
{
    char *buf = copy(data, len);
    struct http_response res;
    int ret = http_parse_response(buf, len, &res, max_len, max_headers);
    check_error(ret, res.error, len, max_len);
    check_same_response(&res, ret, buf, len, max_len, max_headers);
    if (ret > 0) {
        size_t blk = (size_t)ret;
        CHECK(res.status >= 0 && res.status <= 999);
        CHECK(inside(res.reason, res.reason_len, buf, blk));
        CHECK(res.minor_version == 0 || res.minor_version == 1);
        check_headers(res.headers, res.num_headers, max_headers, &res.meta, buf, blk);
    }
    *err = res.error;
    free(buf);
    return ret;
}

typedef int (*run_fn)(const uint8_t *, size_t, size_t, size_t, enum http_error *);

/* Full input, the complete block alone, and (small inputs) every prefix. */
static void check_parser(run_fn run, const uint8_t *data, size_t size)
{
    enum http_error full_err, e;
    int full = run(data, size, 0, HTTP_MAX_HEADERS, &full_err);
    if (full > 0) {
        CHECK(run(data, (size_t)full, 0, HTTP_MAX_HEADERS, &e) == full);
        /* the same block under a limit it fits in */
        CHECK(run(data, size, (size_t)full, HTTP_MAX_HEADERS, &e) == full);
    }
    /* limits taken from the input itself */
    if (size > 0) {
        size_t max_headers = data[0] % 8;
        size_t max_len = (size_t)data[size - 1] * 2;
        int r = run(data, size, max_len, max_headers, &e);
        if (r > 0)
            CHECK(r == full);
    }
    if (size >= PREFIX_MAX)
        return;
    for (size_t k = 0; k < size; k++) {
        int r = run(data, k, 0, HTTP_MAX_HEADERS, &e);
        if (full > 0 && k < (size_t)full)
            CHECK(r == HTTP_PARSE_PARTIAL);
        if (full == HTTP_PARSE_PARTIAL)
            CHECK(r == HTTP_PARSE_PARTIAL);
        if (r > 0)
            CHECK(r == full);
        if (r == HTTP_PARSE_ERROR)
            CHECK(full == HTTP_PARSE_ERROR && e == full_err);
    }
}

/* Chunked payload sink: checks each piece lies inside the piece fed. */
struct sink {
    const char *buf;
    size_t len;
    uint64_t bytes;
    uint64_t hash;
};

static void sink_cb(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;
    CHECK(len > 0 && inside(data, len, s->buf, s->len));
    s->bytes += len;
    for (size_t i = 0; i < len; i++)
        s->hash = (s->hash ^ (uint8_t)data[i]) * 1099511628211ull;
}

/* Feed data in pieces of `step` bytes, each in an exact-size copy. */
static int feed(const uint8_t *data, size_t size, size_t step, size_t *total, struct sink *s)
{
    struct http_chunked d;
    memset(&d, 0, sizeof(d));
    memset(s, 0, sizeof(*s));
    s->hash = 14695981039346656037ull;
    *total = 0;
    int r = 0;
    for (size_t off = 0; off < size || off == 0; off += step) {
        size_t n = size - off < step ? size - off : step;
        char *buf = copy(data + off, n);
        size_t used = (size_t)-1;
        s->buf = buf;
        s->len = n;
        r = http_chunked_feed(&d, buf, n, &used, sink_cb, s);
        free(buf);
        CHECK(r == -1 || r == 0 || r == 1);
        CHECK(used <= n);
        *total += used;
        if (r != 0)
            return r;
        CHECK(used == n);
        if (size == 0)
            break;
    }
    return r;
}

static void check_chunked(const uint8_t *data, size_t size)
{
    size_t total1, total2;
    struct sink s1, s2;
    int r1 = feed(data, size, size ? size : 1, &total1, &s1);
    CHECK(s1.bytes <= total1);
    size_t step = size >= PREFIX_MAX ? 1 + (size > 0 ? data[0] % 61 : 0) : 1;
    int r2 = feed(data, size, step, &total2, &s2);
    CHECK(r1 == r2 && total1 == total2 && s1.bytes == s2.bytes && s1.hash == s2.hash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parser(run_request, data, size);
    check_parser(run_response, data, size);
    check_chunked(data, size);
    return 0;
}
