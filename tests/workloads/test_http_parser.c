/*
 * test_http_parser.c — Criterion tests for workloads/http_parser.c.
 *
 * Every parse call sees its input flush against a PROT_NONE guard page
 * (picohttpparser's trick), so any read of buf[len] or beyond segfaults.
 * Covers valid requests/responses at every split point, 30+ malformed inputs
 * with their exact error and status, the limits, header semantics and the
 * chunked decoder.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workloads/http_parser.h"

/* A mapping whose last page is PROT_NONE; inputs are copied to end at it. */
struct gbuf {
    char *map;
    size_t maplen;
    size_t cap; /* usable bytes before the guard */
};

static void gbuf_init(struct gbuf *g, size_t cap)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (cap + pg - 1) / pg + 1;
    if (pages < 2)
        pages = 2;
    g->maplen = pages * pg;
    g->cap = (pages - 1) * pg;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(g->map, MAP_FAILED);
    cr_assert_eq(mprotect(g->map + g->cap, pg, PROT_NONE), 0);
}

static void gbuf_free(struct gbuf *g)
{
    munmap(g->map, g->maplen);
}

/* Copy data[0..len) so that its last byte is the last byte before the guard. */
static const char *gbuf_put(struct gbuf *g, const void *data, size_t len)
{
    cr_assert_leq(len, g->cap);
    char *dst = g->map + g->cap - len;
    memcpy(dst, data, len);
    return dst;
}

static int req_g(struct gbuf *g, const char *s, size_t len, struct http_request *req,
                 size_t max_len, size_t max_headers)
{
    return http_parse_request(gbuf_put(g, s, len), len, req, max_len, max_headers);
}

static int res_g(struct gbuf *g, const char *s, size_t len, struct http_response *res,
                 size_t max_len, size_t max_headers)
{
    return http_parse_response(gbuf_put(g, s, len), len, res, max_len, max_headers);
}

#define S(lit) lit, sizeof(lit) - 1
/* a literal flush against the guard page of `g`, and its length */
#define G(lit) gbuf_put(&g, lit, sizeof(lit) - 1), sizeof(lit) - 1

static int span_eq(const char *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* ---- valid requests ---- */

Test(request, get_with_headers)
{
    static const char msg[] = "GET /index.html?q=1 HTTP/1.1\r\n"
                              "Host: example.com\r\n"
                              "User-Agent:   bb/1.0  \t\r\n"
                              "X-Empty:\r\n"
                              "Accept: */*\r\n"
                              "\r\n";
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_request req;
    int r = req_g(&g, S(msg), &req, 0, HTTP_MAX_HEADERS);
    cr_assert_eq(r, (int)sizeof(msg) - 1);
    cr_assert_eq(req.error, HTTP_ERR_NONE);
    cr_assert(span_eq(req.method, req.method_len, "GET"));
    cr_assert(span_eq(req.target, req.target_len, "/index.html?q=1"));
    cr_assert_eq(req.minor_version, 1);
    cr_assert_eq(req.num_headers, 4);
    cr_assert(span_eq(req.headers[0].name, req.headers[0].name_len, "Host"));
    cr_assert(span_eq(req.headers[0].value, req.headers[0].value_len, "example.com"));
    cr_assert(span_eq(req.headers[1].value, req.headers[1].value_len, "bb/1.0"));
    cr_assert_eq(req.headers[2].value_len, 0);
    cr_assert(span_eq(req.headers[3].value, req.headers[3].value_len, "*/*"));
    cr_assert_eq(req.meta.content_length, -1);
    cr_assert_eq(req.meta.chunked, 0);
    cr_assert_eq(req.meta.keep_alive, 1);
    cr_assert_eq(req.meta.expect_continue, 0);
    /* pointers point into the caller's buffer */
    const char *base = g.map + g.cap - (sizeof(msg) - 1);
    cr_assert_eq(req.method, base);
    cr_assert_eq(req.target, base + 4);
    const struct http_header *h = http_find_header(req.headers, req.num_headers, "user-AGENT");
    cr_assert_eq(h, &req.headers[1]);
    cr_assert_null(http_find_header(req.headers, req.num_headers, "Cookie"));
    cr_assert_null(http_find_header(req.headers, 0, "Host"));
    gbuf_free(&g);
}

Test(request, http10_keep_alive_rules)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_request req;
    int r = req_g(&g, S("GET / HTTP/1.0\r\n\r\n"), &req, 0, 8);
    cr_assert_eq(r, 18);
    cr_assert_eq(req.minor_version, 0);
    cr_assert_eq(req.meta.keep_alive, 0);

    r = req_g(&g, S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), &req, 0, 8);
    cr_assert_gt(r, 0);
    cr_assert_eq(req.meta.keep_alive, 1);

    r = req_g(&g, S("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), &req, 0, 8);
    cr_assert_gt(r, 0);
    cr_assert_eq(req.meta.keep_alive, 0);

    r = req_g(&g, S("GET / HTTP/1.1\r\nConnection: upgrade ,\tCLOSE \r\n\r\n"), &req, 0, 8);
    cr_assert_gt(r, 0);
    cr_assert_eq(req.meta.keep_alive, 0);

    r = req_g(&g, S("GET / HTTP/1.1\r\nConnection: closed, keep-alive-x\r\n\r\n"), &req, 0, 8);
    cr_assert_gt(r, 0);
    cr_assert_eq(req.meta.keep_alive, 1, "'closed' is not the close token");

    r = req_g(&g, S("GET / HTTP/1.0\r\nConnection: x\r\nConnection: keep-alive\r\n\r\n"), &req,
              0, 8);
    cr_assert_gt(r, 0);
    cr_assert_eq(req.meta.keep_alive, 1, "Connection headers combine");
    gbuf_free(&g);
}

Test(request, pipelined_returns_first_length)
{
    static const char one[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char two[] = "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    char both[sizeof(one) + sizeof(two)];
    memcpy(both, one, sizeof(one) - 1);
    memcpy(both + sizeof(one) - 1, two, sizeof(two) - 1);
    size_t len = sizeof(one) - 1 + sizeof(two) - 1;
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_request req;
    const char *buf = gbuf_put(&g, both, len);
    int r = http_parse_request(buf, len, &req, 0, HTTP_MAX_HEADERS);
    cr_assert_eq(r, (int)sizeof(one) - 1);
    cr_assert(span_eq(req.target, req.target_len, "/a"));
    int r2 = http_parse_request(buf + r, len - (size_t)r, &req, 0, HTTP_MAX_HEADERS);
    cr_assert_eq(r2, (int)(sizeof(two) - 1 - 3));
    cr_assert(span_eq(req.method, req.method_len, "POST"));
    cr_assert_eq(req.meta.content_length, 3);
    cr_assert(span_eq(buf + r + r2, 3, "abc"));
    gbuf_free(&g);
}

Test(request, leading_empty_lines_and_expect)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_request req;
    static const char msg[] = "\r\n\r\nPUT /up HTTP/1.1\r\nExpect: 100-Continue\r\n"
                              "Content-Length: 0010\r\nTransfer-Encoding-X: y\r\n\r\n";
    int r = req_g(&g, S(msg), &req, 0, 8);
    cr_assert_eq(r, (int)sizeof(msg) - 1, "leading CRLFs count in the return value");
    cr_assert(span_eq(req.method, req.method_len, "PUT"));
    cr_assert_eq(req.meta.expect_continue, 1);
    cr_assert_eq(req.meta.content_length, 10);
    cr_assert_eq(req.meta.chunked, 0);

    r = req_g(&g, S("POST / HTTP/1.1\r\ntransfer-encoding: CHUNKED\r\n\r\n"), &req, 0, 8);
    cr_assert_gt(r, 0);
    cr_assert_eq(req.meta.chunked, 1);
    cr_assert_eq(req.meta.content_length, -1);

    r = req_g(&g, S("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n"), &req,
              0, 8);
    cr_assert_gt(r, 0, "agreeing duplicates are accepted");
    cr_assert_eq(req.meta.content_length, 5);

    r = req_g(&g, S("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n"), &req, 0,
              8);
    cr_assert_gt(r, 0);
    cr_assert_eq(req.meta.content_length, INT64_MAX);

    /* obs-text and a high byte in a value are allowed */
    r = req_g(&g, S("GET / HTTP/1.1\r\nX: caf\xc3\xa9 \"q\"\r\n\r\n"), &req, 0, 8);
    cr_assert_gt(r, 0);
    cr_assert(span_eq(req.headers[0].value, req.headers[0].value_len, "caf\xc3\xa9 \"q\""));
    gbuf_free(&g);
}

/* ---- valid responses ---- */

Test(response, valid)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_response res;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: bb\r\n\r\n";
    int r = res_g(&g, S(ok), &res, 0, HTTP_MAX_HEADERS);
    cr_assert_eq(r, (int)sizeof(ok) - 1);
    cr_assert_eq(res.status, 200);
    cr_assert_eq(res.minor_version, 1);
    cr_assert(span_eq(res.reason, res.reason_len, "OK"));
    cr_assert_eq(res.num_headers, 2);
    cr_assert_eq(res.meta.content_length, 12);
    cr_assert_eq(res.meta.keep_alive, 1);

    r = res_g(&g, S("HTTP/1.1 204\r\n\r\n"), &res, 0, 4);
    cr_assert_eq(r, 16, "missing SP before an empty reason is tolerated");
    cr_assert_eq(res.status, 204);
    cr_assert_eq(res.reason_len, 0);

    r = res_g(&g, S("HTTP/1.1 304 \r\n\r\n"), &res, 0, 4);
    cr_assert_eq(r, 17);
    cr_assert_eq(res.status, 304);
    cr_assert_eq(res.reason_len, 0);

    r = res_g(&g, S("HTTP/1.0 404 Not  Found\t!\r\nConnection: keep-alive\r\n\r\nbody"), &res, 0,
              4);
    cr_assert_eq(r, 53);
    cr_assert_eq(res.minor_version, 0);
    cr_assert(span_eq(res.reason, res.reason_len, "Not  Found\t!"));
    cr_assert_eq(res.meta.keep_alive, 1);

    r = res_g(&g, S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"),
              &res, 0, 4);
    cr_assert_gt(r, 0);
    cr_assert_eq(res.meta.chunked, 1);
    cr_assert_eq(res.meta.keep_alive, 0);
    gbuf_free(&g);
}

/* ---- every split point ---- */

struct valid_msg {
    const char *s;
    size_t len;
    int response;
};

static const struct valid_msg valid_msgs[] = {
    {S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0},
    {S("\r\n\r\nGET /x?y=z HTTP/1.0\r\nConnection: keep-alive\r\nX:  v  \r\n\r\n"), 0},
    {S("POST /p HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody"), 0},
    {S("GET / HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\n\r\n"), 0},
    {S("OPTIONS * HTTP/1.1\r\nTransfer-Encoding: chunked\r\nA:\r\nB: \t\r\n\r\n"), 0},
    {S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), 1},
    {S("HTTP/1.1 204\r\n\r\n"), 1},
    {S("HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"), 1},
    {S("HTTP/1.1 200 \r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), 1},
};

static int parse_any(const struct valid_msg *m, const char *buf, size_t len,
                     struct http_request *req, struct http_response *res)
{
    if (m->response)
        return http_parse_response(buf, len, res, 0, HTTP_MAX_HEADERS);
    return http_parse_request(buf, len, req, 0, HTTP_MAX_HEADERS);
}

Test(split, every_prefix_is_partial)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (size_t i = 0; i < sizeof(valid_msgs) / sizeof(valid_msgs[0]); i++) {
        const struct valid_msg *m = &valid_msgs[i];
        struct http_request req0, req;
        struct http_response res0, res;
        /* unsplit reference */
        int whole = parse_any(m, gbuf_put(&g, m->s, m->len), m->len, &req0, &res0);
        cr_assert_gt(whole, 0, "message %zu: %d", i, whole);
        for (size_t k = 0; k < (size_t)whole; k++) {
            int r = parse_any(m, gbuf_put(&g, m->s, k), k, &req, &res);
            cr_assert_eq(r, HTTP_PARSE_PARTIAL, "message %zu prefix %zu -> %d", i, k, r);
        }
        /* the header block alone, and anything longer, gives the same result */
        for (size_t k = (size_t)whole; k <= m->len; k++) {
            int r = parse_any(m, gbuf_put(&g, m->s, k), k, &req, &res);
            cr_assert_eq(r, whole, "message %zu len %zu", i, k);
            const struct http_meta *a = m->response ? &res.meta : &req.meta;
            const struct http_meta *b = m->response ? &res0.meta : &req0.meta;
            cr_assert_eq(a->content_length, b->content_length);
            cr_assert_eq(a->chunked, b->chunked);
            cr_assert_eq(a->keep_alive, b->keep_alive);
            cr_assert_eq(a->expect_continue, b->expect_continue);
            cr_assert_eq(m->response ? res.num_headers : req.num_headers,
                         m->response ? res0.num_headers : req0.num_headers);
        }
    }
    gbuf_free(&g);
}

/* ---- malformed inputs ---- */

struct bad_msg {
    const char *s;
    size_t len;
    int response;
    enum http_error err;
    int status;
};

#define REQ(lit, e, st) {lit, sizeof(lit) - 1, 0, e, st}
#define RES(lit, e, st) {lit, sizeof(lit) - 1, 1, e, st}

static const struct bad_msg bad_msgs[] = {
    REQ(" / HTTP/1.1\r\n\r\n", HTTP_ERR_METHOD, 400),
    REQ("G(T / HTTP/1.1\r\n\r\n", HTTP_ERR_METHOD, 400),
    REQ("GET\x01 / HTTP/1.1\r\n\r\n", HTTP_ERR_METHOD, 400),
    REQ("\tGET / HTTP/1.1\r\n\r\n", HTTP_ERR_METHOD, 400),
    REQ("GET\r\n\r\n", HTTP_ERR_LINE, 400),
    REQ("\r\n\rGET / HTTP/1.1\r\n\r\n", HTTP_ERR_LINE, 400),
    REQ("\nGET / HTTP/1.1\r\n\r\n", HTTP_ERR_LINE, 400),
    REQ("GET  / HTTP/1.1\r\n\r\n", HTTP_ERR_LINE, 400),
    REQ("GET \r\n\r\n", HTTP_ERR_TARGET, 400),
    REQ("GET /a\x7f HTTP/1.1\r\n\r\n", HTTP_ERR_TARGET, 400),
    REQ("GET /\x80 HTTP/1.1\r\n\r\n", HTTP_ERR_TARGET, 400),
    REQ("GET /a\tb HTTP/1.1\r\n\r\n", HTTP_ERR_TARGET, 400),
    REQ("GET /a\0b HTTP/1.1\r\n\r\n", HTTP_ERR_TARGET, 400),
    REQ("GET /a\n HTTP/1.1\r\n\r\n", HTTP_ERR_LINE, 400),
    REQ("GET / HTTP/1.1 \r\n\r\n", HTTP_ERR_LINE, 400),
    REQ("GET / HTTP/1.1\n\r\n", HTTP_ERR_LINE, 400),
    REQ("GET / HTTP/1.1\rX\r\n\r\n", HTTP_ERR_LINE, 400),
    REQ("GET / \r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET / http/1.1\r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET / HTTP/1\r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET / HTTP/1.x\r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET / HTTP/11.1\r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET / HTTP/1.1x\r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET / HTTP/1.10\r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET /a b HTTP/1.1\r\n\r\n", HTTP_ERR_VERSION, 400),
    REQ("GET / HTTP/2.0\r\n\r\n", HTTP_ERR_VERSION_UNSUPPORTED, 505),
    REQ("GET / HTTP/1.2\r\n\r\n", HTTP_ERR_VERSION_UNSUPPORTED, 505),
    REQ("GET / HTTP/0.9\r\n\r\n", HTTP_ERR_VERSION_UNSUPPORTED, 505),
    REQ("GET /\r\n", HTTP_ERR_VERSION_UNSUPPORTED, 505),
    REQ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_ERR_HEADER_NAME, 400),
    REQ("GET / HTTP/1.1\r\n: x\r\n\r\n", HTTP_ERR_HEADER_NAME, 400),
    REQ("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", HTTP_ERR_HEADER_NAME, 400),
    REQ("GET / HTTP/1.1\r\nHost x\r\n\r\n", HTTP_ERR_HEADER_NAME, 400),
    REQ("GET / HTTP/1.1\r\nHost\r\n\r\n", HTTP_ERR_HEADER_NAME, 400),
    REQ("GET / HTTP/1.1\r\nHost: x\r\n\rX", HTTP_ERR_HEADER_NAME, 400),
    REQ("GET / HTTP/1.1\r\nHost: x\r\n\n", HTTP_ERR_HEADER_NAME, 400),
    REQ("GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    REQ("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    REQ("GET / HTTP/1.1\r\nHost: a\0z\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    REQ("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    REQ("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    REQ("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    REQ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    REQ("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", HTTP_ERR_CONTENT_LENGTH, 400),
    REQ("POST / HTTP/1.1\r\nContent-Length: gzip\r\n\r\n", HTTP_ERR_CONTENT_LENGTH, 400),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_ERR_TRANSFER_ENCODING, 400),
    RES("HTTP/1.1 20 OK\r\n\r\n", HTTP_ERR_STATUS, 400),
    RES("HTTP/1.1 2000 OK\r\n\r\n", HTTP_ERR_STATUS, 400),
    RES("HTTP/1.1 abc OK\r\n\r\n", HTTP_ERR_STATUS, 400),
    RES("HTTP/1.1  200 OK\r\n\r\n", HTTP_ERR_STATUS, 400),
    RES("HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_ERR_LINE, 400),
    RES("HTTP/1.1 200 OK\nX: y\r\n\r\n", HTTP_ERR_LINE, 400),
    RES("HTTP/1.1 200\n\r\n", HTTP_ERR_LINE, 400),
    RES("HTTP/1.1\r\n\r\n", HTTP_ERR_LINE, 400),
    RES("HTTP/2 200 OK\r\n\r\n", HTTP_ERR_VERSION, 400),
    RES("HTTP/1.1x 200 OK\r\n\r\n", HTTP_ERR_VERSION, 400),
    RES("\r\nHTTP/1.1 200 OK\r\n\r\n", HTTP_ERR_VERSION, 400),
    RES("HTTP/2.0 200 OK\r\n\r\n", HTTP_ERR_VERSION_UNSUPPORTED, 505),
    RES("HTTP/1.1 200 OK\r\nX : y\r\n\r\n", HTTP_ERR_HEADER_NAME, 400),
    RES("HTTP/1.1 200 OK\r\nX: \x1b[0m\r\n\r\n", HTTP_ERR_HEADER_VALUE, 400),
    RES("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        HTTP_ERR_CONTENT_LENGTH, 400),
};

Test(malformed, specific_errors)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    size_t n = sizeof(bad_msgs) / sizeof(bad_msgs[0]);
    cr_assert_geq(n, 20);
    for (size_t i = 0; i < n; i++) {
        const struct bad_msg *m = &bad_msgs[i];
        struct http_request req;
        struct http_response res;
        const char *buf = gbuf_put(&g, m->s, m->len);
        int r;
        enum http_error e;
        if (m->response) {
            r = http_parse_response(buf, m->len, &res, 0, HTTP_MAX_HEADERS);
            e = res.error;
        } else {
            r = http_parse_request(buf, m->len, &req, 0, HTTP_MAX_HEADERS);
            e = req.error;
        }
        cr_assert_eq(r, HTTP_PARSE_ERROR, "input %zu: ret %d", i, r);
        cr_assert_eq(e, m->err, "input %zu: error %d (%s), want %d (%s)", i, e, http_error_str(e),
                     m->err, http_error_str(m->err));
        cr_assert_eq(http_error_status(e), m->status, "input %zu", i);
        /* no prefix of a malformed message is ever reported complete */
        for (size_t k = 0; k < m->len; k++) {
            buf = gbuf_put(&g, m->s, k);
            r = m->response ? http_parse_response(buf, k, &res, 0, HTTP_MAX_HEADERS)
                            : http_parse_request(buf, k, &req, 0, HTTP_MAX_HEADERS);
            cr_assert(r == HTTP_PARSE_PARTIAL || r == HTTP_PARSE_ERROR, "input %zu prefix %zu",
                      i, k);
        }
    }
    gbuf_free(&g);
}

Test(malformed, header_name_bytes_follow_tchar)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (int c = 0; c < 256; c++) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nA%cB: v\r\n\r\n", c ? c : '?');
        msg[17] = (char)c;
        struct http_request req;
        int r = req_g(&g, msg, (size_t)n, &req, 0, 8);
        int is_tchar = c != 0 && strchr(tchar, c) != NULL;
        if (is_tchar) {
            cr_assert_eq(r, n, "byte 0x%02x", c);
            cr_assert_eq(req.headers[0].name_len, 3);
        } else if (c == ':') {
            cr_assert_eq(r, n, "'A:B: v' is header A with value 'B: v'");
            cr_assert_eq(req.headers[0].name_len, 1);
        } else {
            cr_assert_eq(r, HTTP_PARSE_ERROR, "byte 0x%02x", c);
            cr_assert_eq(req.error, HTTP_ERR_HEADER_NAME, "byte 0x%02x", c);
        }
    }
    gbuf_free(&g);
}

Test(malformed, value_control_bytes)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (int c = 0; c < 256; c++) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nA: x?y\r\n\r\n");
        msg[20] = (char)c;
        struct http_request req;
        int r = req_g(&g, msg, (size_t)n, &req, 0, 8);
        int ok = c == '\t' || (c >= 0x20 && c != 0x7f);
        if (ok) {
            cr_assert_eq(r, n, "byte 0x%02x", c);
            cr_assert_eq(req.headers[0].value_len, 3);
        } else {
            cr_assert_eq(r, HTTP_PARSE_ERROR, "byte 0x%02x", c);
            cr_assert_eq(req.error, HTTP_ERR_HEADER_VALUE, "byte 0x%02x", c);
        }
    }
    gbuf_free(&g);
}

/* ---- limits ---- */

Test(limits, too_many_headers)
{
    static const char msg[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_request req;
    cr_assert_eq(req_g(&g, S(msg), &req, 0, 3), (int)sizeof(msg) - 1);
    cr_assert_eq(req.num_headers, 3);
    cr_assert_eq(req_g(&g, S(msg), &req, 0, 2), HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_TOO_MANY_HEADERS);
    cr_assert_eq(http_error_status(req.error), 431);
    cr_assert_eq(req_g(&g, S("GET / HTTP/1.1\r\nA: 1\r\n\r\n"), &req, 0, 0), HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_TOO_MANY_HEADERS);
    /* reported as soon as the extra header starts */
    cr_assert_eq(req_g(&g, S("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC"), &req, 0, 2),
                 HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_TOO_MANY_HEADERS);

    /* max_headers above HTTP_MAX_HEADERS is clamped to it */
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "H%d: %d\r\n", i, i);
    size_t at_max = n;
    n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
    cr_assert_eq(req_g(&g, big, n, &req, 0, 1000), (int)n);
    cr_assert_eq(req.num_headers, HTTP_MAX_HEADERS);
    n = at_max + (size_t)snprintf(big + at_max, sizeof(big) - at_max, "X: y\r\n\r\n");
    cr_assert_eq(req_g(&g, big, n, &req, 0, 1000), HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_TOO_MANY_HEADERS);

    struct http_response res;
    cr_assert_eq(res_g(&g, S("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"), &res, 0, 1),
                 HTTP_PARSE_ERROR);
    cr_assert_eq(res.error, HTTP_ERR_TOO_MANY_HEADERS);
    gbuf_free(&g);
}

Test(limits, header_too_large)
{
    static const char msg[] = "GET /0123456789 HTTP/1.1\r\nHost: example\r\n\r\n"; /* 43 bytes */
    size_t len = sizeof(msg) - 1;
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_request req;
    cr_assert_eq(req_g(&g, msg, len, &req, len, 8), (int)len, "exactly max_len fits");
    cr_assert_eq(req_g(&g, msg, len, &req, len - 1, 8), HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_HEADER_TOO_LARGE);
    cr_assert_eq(http_error_status(req.error), 431);
    /* partial input: PARTIAL below the limit, TOO_LARGE once len reaches it */
    cr_assert_eq(req_g(&g, msg, 19, &req, 20, 8), HTTP_PARSE_PARTIAL);
    cr_assert_eq(req_g(&g, msg, 20, &req, 20, 8), HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_HEADER_TOO_LARGE);
    cr_assert_eq(req_g(&g, msg, 30, &req, 20, 8), HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_HEADER_TOO_LARGE);
    /* a body after the block does not count */
    static const char withbody[] = "GET / HTTP/1.1\r\n\r\nBODYBODYBODY";
    cr_assert_eq(req_g(&g, S(withbody), &req, 18, 8), 18);
    /* an error inside the limit wins over the limit */
    cr_assert_eq(req_g(&g, S("G(T / HTTP/1.1\r\n"), &req, 10, 8), HTTP_PARSE_ERROR);
    cr_assert_eq(req.error, HTTP_ERR_METHOD);

    /* a long stream of header bytes with no end: TOO_LARGE at any length >= limit */
    static char flood[3000];
    memset(flood, 'a', sizeof(flood));
    memcpy(flood, "GET / HTTP/1.1\r\nX: ", 19);
    for (size_t k = 2048; k <= sizeof(flood); k += 97) {
        cr_assert_eq(req_g(&g, flood, k, &req, 2048, 8), HTTP_PARSE_ERROR, "len %zu", k);
        cr_assert_eq(req.error, HTTP_ERR_HEADER_TOO_LARGE);
    }
    cr_assert_eq(req_g(&g, flood, 2047, &req, 2048, 8), HTTP_PARSE_PARTIAL);

    struct http_response res;
    cr_assert_eq(res_g(&g, S("HTTP/1.1 200 OK\r\nServer: x"), &res, 16, 8), HTTP_PARSE_ERROR);
    cr_assert_eq(res.error, HTTP_ERR_HEADER_TOO_LARGE);
    gbuf_free(&g);
}

Test(limits, content_length_and_transfer_encoding)
{
    static const struct {
        const char *hdrs;
        enum http_error err;
    } cases[] = {
        {"Content-Length: 5\r\nContent-Length: 6\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: 5\r\nContent-Length: 05x\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: \r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: -1\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: +5\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: 1 2\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: 5, 5\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: 0x10\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: 9223372036854775808\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Content-Length: 99999999999999999999999\r\n", HTTP_ERR_CONTENT_LENGTH},
        {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", HTTP_ERR_TRANSFER_ENCODING},
        {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", HTTP_ERR_TRANSFER_ENCODING},
        {"Transfer-Encoding: gzip, chunked\r\n", HTTP_ERR_TRANSFER_ENCODING},
        {"Transfer-Encoding: chunked, gzip\r\n", HTTP_ERR_TRANSFER_ENCODING},
        {"Transfer-Encoding: identity\r\n", HTTP_ERR_TRANSFER_ENCODING},
        {"Transfer-Encoding:\r\n", HTTP_ERR_TRANSFER_ENCODING},
        {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
         HTTP_ERR_TRANSFER_ENCODING},
    };
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char msg[256];
        struct http_request req;
        struct http_response res;
        int n = snprintf(msg, sizeof(msg), "POST / HTTP/1.1\r\n%s\r\n", cases[i].hdrs);
        cr_assert_eq(req_g(&g, msg, (size_t)n, &req, 0, 8), HTTP_PARSE_ERROR, "case %zu", i);
        cr_assert_eq(req.error, cases[i].err, "case %zu: %s", i, http_error_str(req.error));
        cr_assert_eq(http_error_status(req.error), 400);
        n = snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n%s\r\n", cases[i].hdrs);
        cr_assert_eq(res_g(&g, msg, (size_t)n, &res, 0, 8), HTTP_PARSE_ERROR, "case %zu", i);
        cr_assert_eq(res.error, cases[i].err, "case %zu", i);
    }
    gbuf_free(&g);
}

static void check_agree(const char *buf, size_t len, size_t max_len, size_t max_headers,
                        const char *what);

/* The headers with meaning are matched case-insensitively (a word at a time
 * inside the parser): every byte of each name and token, replaced by every
 * byte a name or value may hold, matches exactly when it is the same letter
 * in either case. */
static int tchar_byte(int b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
           (b && strchr("!#$%&'*+-.^_`|~", b));
}

static int lower_eq(int b, int lit)
{
    return b == lit || (lit >= 'a' && lit <= 'z' && b == lit - 32);
}

Test(meta, names_and_tokens_match_case_insensitively)
{
    static const struct {
        const char *fmt; /* %s: the word under test */
        const char *word;
        int in_value;
    } cases[] = {
        {"%s: 7\r\n", "content-length", 0},
        {"%s: chunked\r\n", "transfer-encoding", 0},
        {"%s: close\r\n", "connection", 0},
        {"%s: 100-continue\r\n", "expect", 0},
        {"Connection: %s\r\n", "close", 1},
        {"Connection: x, %s\r\n", "close", 1},
        {"Transfer-Encoding: %s\r\n", "chunked", 1},
        {"Expect: %s\r\n", "100-continue", 1},
    };
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *w = cases[i].word;
        size_t wl = strlen(w);
        for (size_t at = 0; at < wl; at++) {
            for (int b = 1; b < 256; b++) {
                if (cases[i].in_value ? (b < 0x20 && b != '\t') || b == 0x7f || b == ','
                                      : !tchar_byte(b))
                    continue;
                if (cases[i].in_value && (b == ' ' || b == '\t') && (at == 0 || at == wl - 1))
                    continue; /* trimmed: another token */
                char word[32], hdr[96], msg[160];
                memcpy(word, w, wl + 1);
                word[at] = (char)b;
                snprintf(hdr, sizeof(hdr), cases[i].fmt, word);
                int n = snprintf(msg, sizeof(msg), "PUT / HTTP/1.1\r\n%s\r\n", hdr);
                int match = lower_eq(b, w[at]);
                struct http_request req;
                int r = req_g(&g, msg, (size_t)n, &req, 0, 8);
                /* a Transfer-Encoding other than chunked is an error */
                cr_assert(r > 0 || (!match && req.error == HTTP_ERR_TRANSFER_ENCODING), "%s",
                          msg);
                int seen = r > 0 && (req.meta.content_length == 7 || req.meta.chunked ||
                                     req.meta.expect_continue || !req.meta.keep_alive);
                cr_assert_eq(seen, match, "word '%s' byte 0x%02x at %zu", w, b, at);
                check_agree(gbuf_put(&g, msg, (size_t)n), (size_t)n, 0, 8, "meta word");
            }
        }
    }
    gbuf_free(&g);
}

/* ---- chunked decoder ---- */

struct sink {
    char data[4096];
    size_t len;
    size_t calls;
};

static void sink_cb(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;
    cr_assert_leq(s->len + len, sizeof(s->data));
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->calls++;
}

/* Feed body[0..len) in pieces of `step` bytes, each piece flush against the
 * guard page; returns the final result and the total consumed. */
static int feed_steps(struct gbuf *g, const char *body, size_t len, size_t step,
                      struct sink *out, size_t *total)
{
    struct http_chunked d;
    memset(&d, 0, sizeof(d));
    memset(out, 0, sizeof(*out));
    *total = 0;
    size_t off = 0;
    int r = 0;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        size_t used = 0;
        r = http_chunked_feed(&d, gbuf_put(g, body + off, n), n, &used, sink_cb, out);
        cr_assert_leq(used, n);
        *total += used;
        if (r != 0)
            return r;
        cr_assert_eq(used, n, "0 return must consume everything");
        off += n;
    }
    return r;
}

Test(chunked, whole_and_byte_by_byte)
{
    static const char body[] = "5\r\nhello\r\n7\r\n, world\r\n1A\r\n"
                               "abcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nNEXT";
    size_t len = sizeof(body) - 1, wire = len - 4;
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct sink s;
    size_t total;
    for (size_t step = 1; step <= len; step++) {
        int r = feed_steps(&g, body, len, step, &s, &total);
        cr_assert_eq(r, 1, "step %zu", step);
        cr_assert_eq(total, wire, "step %zu: consumed stops after the final CRLF", step);
        cr_assert_eq(s.len, 38);
        cr_assert(memcmp(s.data, "hello, worldabcdefghijklmnopqrstuvwxyz", 38) == 0);
    }
    /* once done, further input is not consumed */
    struct http_chunked d;
    memset(&d, 0, sizeof(d));
    size_t used;
    cr_assert_eq(http_chunked_feed(&d, G("0\r\n\r\n"), &used, NULL, NULL), 1);
    cr_assert_eq(used, 5);
    cr_assert_eq(http_chunked_feed(&d, G("1\r\nx\r\n"), &used, NULL, NULL), 1);
    cr_assert_eq(used, 0);
    /* incomplete input needs more */
    memset(&d, 0, sizeof(d));
    cr_assert_eq(http_chunked_feed(&d, G("5\r\nhel"), &used, NULL, NULL), 0);
    cr_assert_eq(used, 6);
    cr_assert_eq(d.remaining, 2);
    gbuf_free(&g);
}

Test(chunked, extensions_and_trailers)
{
    static const char body[] = "4;name=value;q=\"a b\"\r\nWiki\r\n"
                               "5 ; x\r\npedia\r\n"
                               "000E\t\r\n in\r\n\r\nchunks.\r\n"
                               "0;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\n";
    size_t len = sizeof(body) - 1;
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct sink s;
    size_t total;
    for (size_t step = 1; step <= len; step++) {
        cr_assert_eq(feed_steps(&g, body, len, step, &s, &total), 1, "step %zu", step);
        cr_assert_eq(total, len);
        cr_assert_eq(s.len, 23);
        cr_assert(memcmp(s.data, "Wikipedia in\r\n\r\nchunks.", 23) == 0);
    }
    gbuf_free(&g);
}

Test(chunked, malformed)
{
    static const struct {
        const char *s;
        size_t bad_at; /* index of the offending byte */
    } cases[] = {
        {"\r\n", 0},                         /* no digits */
        {"g\r\n", 0},                        /* not hex */
        {";x\r\n", 0},                       /* extension without size */
        {"5x\r\nhello\r\n", 1},              /* junk after size */
        {"5 5\r\nhello\r\n", 2},             /* junk after BWS */
        {"5\nhello\r\n", 1},                 /* bare LF */
        {"5\rhello\r\n", 2},                 /* bare CR */
        {"5\r\nhelloX\r\n", 8},              /* data longer than the size */
        {"5\r\nhello\rX", 9},                /* CR without LF after data */
        {"5;a\x01\r\n", 3},                  /* CTL in an extension */
        {"10000000000000000\r\n", 16},       /* 17 hex digits: overflow */
        {"FFFFFFFFFFFFFFFFF\r\n", 16},       /* overflow */
        {"0\r\n: bad\r\n\r\n", 3},           /* trailer line not starting with a token */
        {"0\r\nX: a\x7f\r\n\r\n", 7},        /* CTL in a trailer */
        {"0\r\n\rX", 4},                     /* bad final CRLF */
        {"-1\r\n", 0},
    };
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].s);
        struct sink s;
        size_t total;
        cr_assert_eq(feed_steps(&g, cases[i].s, len, len, &s, &total), -1, "case %zu", i);
        cr_assert_eq(total, cases[i].bad_at, "case %zu: consumed %zu", i, total);
        cr_assert_eq(feed_steps(&g, cases[i].s, len, 1, &s, &total), -1, "case %zu bytewise", i);
        cr_assert_eq(total, cases[i].bad_at, "case %zu bytewise", i);
    }
    /* the largest 64-bit size is accepted; a failed decoder stays failed */
    struct http_chunked d;
    size_t used;
    memset(&d, 0, sizeof(d));
    cr_assert_eq(http_chunked_feed(&d, G("FFFFFFFFFFFFFFFF\r\nab"), &used, NULL, NULL), 0);
    cr_assert_eq(d.remaining, UINT64_MAX - 2);
    memset(&d, 0, sizeof(d));
    cr_assert_eq(http_chunked_feed(&d, G("x"), &used, NULL, NULL), -1);
    cr_assert_eq(http_chunked_feed(&d, G("0\r\n\r\n"), &used, NULL, NULL), -1);
    cr_assert_eq(used, 0);
    gbuf_free(&g);
}

/* ---- helpers ---- */

Test(helpers, error_strings_and_statuses)
{
    for (int e = 0; e < HTTP_ERR__COUNT; e++) {
        const char *s = http_error_str((enum http_error)e);
        cr_assert_not_null(s);
        cr_assert_neq(strcmp(s, "unknown error"), 0, "error %d has no string", e);
        for (int f = 0; f < e; f++)
            cr_assert_neq(strcmp(s, http_error_str((enum http_error)f)), 0);
        int st = http_error_status((enum http_error)e);
        if (e == HTTP_ERR_TOO_MANY_HEADERS || e == HTTP_ERR_HEADER_TOO_LARGE)
            cr_assert_eq(st, 431);
        else if (e == HTTP_ERR_VERSION_UNSUPPORTED)
            cr_assert_eq(st, 505);
        else
            cr_assert_eq(st, 400);
    }
    cr_assert_str_eq(http_error_str(HTTP_ERR_METHOD), "bad method");
    cr_assert_str_eq(http_error_str(HTTP_ERR__COUNT), "unknown error");
    cr_assert_str_eq(http_status_reason(200), "OK");
    cr_assert_str_eq(http_status_reason(404), "Not Found");
    cr_assert_str_eq(http_status_reason(431), "Request Header Fields Too Large");
    cr_assert_str_eq(http_status_reason(505), "HTTP Version Not Supported");
    static const int must[] = {200, 204, 206, 301, 304, 400, 404, 405, 408,
                               411, 413, 414, 431, 500, 501, 503, 505};
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        cr_assert_str_neq(http_status_reason(must[i]), "Unknown", "status %d", must[i]);
    cr_assert_str_eq(http_status_reason(299), "Unknown");
    cr_assert_str_eq(http_status_reason(-1), "Unknown");
}

Test(helpers, empty_input_is_partial)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_request req;
    struct http_response res;
    cr_assert_eq(http_parse_request(gbuf_put(&g, "", 0), 0, &req, 0, 8), HTTP_PARSE_PARTIAL);
    cr_assert_eq(http_parse_request(gbuf_put(&g, "", 0), 0, &req, 16, 8), HTTP_PARSE_PARTIAL);
    cr_assert_eq(http_parse_response(gbuf_put(&g, "", 0), 0, &res, 0, 8), HTTP_PARSE_PARTIAL);
    gbuf_free(&g);
}

/* ---- the fast path agrees with the general path ---- */

/* http_parse_request (fast path first) and http_parse_request_general give
 * the same return, error, spans (same pointers) and meta on buf[0..len). */
/* Same header spans (same pointers) and same meta, fast vs general path. */
static void agree_fields(const struct http_header *ha, const struct http_header *hb, size_t n,
                         const struct http_meta *ma, const struct http_meta *mb, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const struct http_header *x = &ha[i], *y = &hb[i];
        cr_assert(x->name == y->name && x->name_len == y->name_len, "%s: header %zu", what, i);
        cr_assert(x->value == y->value && x->value_len == y->value_len, "%s: value %zu", what,
                  i);
    }
    cr_assert_eq(ma->content_length, mb->content_length, "%s", what);
    cr_assert_eq(ma->chunked, mb->chunked, "%s", what);
    cr_assert_eq(ma->keep_alive, mb->keep_alive, "%s", what);
    cr_assert_eq(ma->expect_continue, mb->expect_continue, "%s", what);
}

/* One to three bytes of msg[0..len) replaced by bytes the parser treats
 * specially, from the xorshift state *x (deterministic). */
static void mutate(char *msg, size_t len, int muts, uint64_t *x)
{
    static const char special[] = " \t\r\n:/,?.01H\x7f\x80\xff\x01(a";
    for (int m = 0; m < muts; m++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        msg[*x % len] = special[(*x >> 32) % (sizeof(special) - 1)];
    }
}

static void check_agree(const char *buf, size_t len, size_t max_len, size_t max_headers,
                        const char *what)
{
    struct http_request a, b;
    int ra = http_parse_request(buf, len, &a, max_len, max_headers);
    int rb = http_parse_request_general(buf, len, &b, max_len, max_headers);
    cr_assert_eq(ra, rb, "%s (len %zu, max_len %zu, max_headers %zu): %d vs general %d", what,
                 len, max_len, max_headers, ra, rb);
    cr_assert_eq(a.error, b.error, "%s: error %d vs %d", what, a.error, b.error);
    if (ra <= 0)
        return;
    cr_assert(a.method == b.method && a.method_len == b.method_len, "%s: method", what);
    cr_assert(a.target == b.target && a.target_len == b.target_len, "%s: target", what);
    cr_assert_eq(a.minor_version, b.minor_version, "%s", what);
    cr_assert_eq(a.num_headers, b.num_headers, "%s", what);
    agree_fields(a.headers, b.headers, a.num_headers, &a.meta, &b.meta, what);
}

/* Whole input and every prefix, with and without limits, flush against the
 * guard page. */
static void check_agree_all(struct gbuf *g, const char *s, size_t len, const char *what)
{
    static const size_t limits[][2] = {{0, HTTP_MAX_HEADERS}, {0, 1}, {0, 0}, {16, 8},
                                       {37, 8},  {64, 2}};
    for (size_t k = 0; k <= len; k++)
        for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++)
            check_agree(gbuf_put(g, s, k), k, limits[l][0], limits[l][1], what);
}

static const char *const tricky[] = {
    "GET /bytes/64 HTTP/1.1\r\nHost: b\r\n\r\n",
    "GET /bytes/64 HTTP/1.0\r\n\r\n",
    "GET /bytes/64 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /bytes/64 HTTP/1.1\r\nConnection: close\r\n\r\n",
    "HEAD /bytes/1k HTTP/1.1\r\nHost: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\n\r\n",
    /* tabs and spaces around values, empty values */
    "GET / HTTP/1.1\r\nX:\t v \t\r\nY:\r\nZ: \t\r\n\r\n",
    "GET / HTTP/1.1\r\nX: a\tb\tc\td\te\tf\tg\th\ti\r\n\r\n",
    /* obs-fold, leading whitespace, missing CR, bare CR, bare LF */
    "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
    "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n",
    "GET / HTTP/1.1\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\n",
    "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\rX",
    "GET /a\rb HTTP/1.1\r\n\r\n",
    /* odd methods and targets */
    "get / HTTP/1.1\r\n\r\n",
    "GETX / HTTP/1.1\r\n\r\n",
    "GE / HTTP/1.1\r\n\r\n",
    "G(T / HTTP/1.1\r\n\r\n",
    "M-SEARCH * HTTP/1.1\r\n\r\n",
    "PATCH /a!$&'()*+,;=:@~%20 HTTP/1.1\r\n\r\n",
    "GET  / HTTP/1.1\r\n\r\n",
    " GET / HTTP/1.1\r\n\r\n",
    "\r\nGET / HTTP/1.1\r\n\r\n",
    "GET /\r\n",
    "GET / \r\n\r\n",
    "GET /a\x7f HTTP/1.1\r\n\r\n",
    "GET /abcdefg\x80hij HTTP/1.1\r\n\r\n",
    "GET /abcdefghijklmno\x01 HTTP/1.1\r\n\r\n",
    /* versions */
    "GET / HTTP/1.2\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "GET / HTTP/1.1 \r\n\r\n",
    "GET / HTTP/1.10\r\n\r\n",
    "GET / http/1.1\r\n\r\n",
    /* header names and values */
    "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    "GET / HTTP/1.1\r\n: x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost\r\n\r\n",
    "GET / HTTP/1.1\r\nX: caf\xc3\xa9 \"q\" and a rather long value\r\n\r\n",
    "GET / HTTP/1.1\r\nX: 0123456789abcdef\x7f\r\n\r\n",
    "GET / HTTP/1.1\r\nX: 0123456789abcdef\x1f\r\n\r\n",
    /* the headers with meaning */
    "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
    "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
    "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    "GET / HTTP/1.1\r\nConnection: upgrade ,\tCLOSE \r\n\r\n",
    "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
};

Test(fast_path, agrees_on_tricky_inputs)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++)
        check_agree_all(&g, tricky[i], strlen(tricky[i]), tricky[i]);
    gbuf_free(&g);
}

Test(fast_path, agrees_on_long_lines)
{
    struct gbuf g;
    gbuf_init(&g, 16384);
    static char msg[12000];
    /* a long target and a long value, crossing many 8-byte words */
    size_t n = (size_t)snprintf(msg, sizeof(msg), "GET /");
    for (int i = 0; i < 3000; i++)
        msg[n++] = (char)('a' + i % 26);
    n += (size_t)snprintf(msg + n, sizeof(msg) - n, " HTTP/1.1\r\nX-Long: ");
    for (int i = 0; i < 5000; i++)
        msg[n++] = (char)(i % 97 == 0 ? '\t' : ' ' + i % 95);
    n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\r\n\r\n");
    check_agree(gbuf_put(&g, msg, n), n, 0, HTTP_MAX_HEADERS, "long lines");
    struct http_request req;
    cr_assert_eq(http_parse_request(gbuf_put(&g, msg, n), n, &req, 0, HTTP_MAX_HEADERS), (int)n);
    cr_assert_eq(req.target_len, 3001);
    for (size_t k = n - 64; k <= n; k++)
        check_agree(gbuf_put(&g, msg, k), k, 0, HTTP_MAX_HEADERS, "long line prefix");
    for (size_t max_len = 1; max_len <= n + 1; max_len += 997)
        check_agree(gbuf_put(&g, msg, n), n, max_len, HTTP_MAX_HEADERS, "long line limit");
    gbuf_free(&g);
}

/* Every byte value at every offset of a word in the target and in a value:
 * accepted exactly when its class allows it (the word-at-a-time skipping). */
Test(fast_path, every_byte_in_target_and_value)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (int b = 0; b < 256; b++) {
        for (size_t at = 0; at < 24; at++) {
            char msg[128];
            size_t n = (size_t)snprintf(msg, sizeof(msg), "GET /");
            for (size_t i = 0; i < 24; i++)
                msg[n++] = i == at ? (char)b : 'x';
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, " HTTP/1.1\r\n\r\n");
            struct http_request req;
            int r = http_parse_request(gbuf_put(&g, msg, n), n, &req, 0, HTTP_MAX_HEADERS);
            int ok = b >= 0x21 && b <= 0x7e;
            cr_assert_eq(r > 0, ok, "target byte 0x%02x at %zu: %d", b, at, r);
            check_agree(gbuf_put(&g, msg, n), n, 0, HTTP_MAX_HEADERS, "target byte");

            n = (size_t)snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nX: ");
            for (size_t i = 0; i < 24; i++)
                msg[n++] = i == at ? (char)b : 'v';
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\r\n\r\n");
            r = http_parse_request(gbuf_put(&g, msg, n), n, &req, 0, HTTP_MAX_HEADERS);
            ok = b == '\t' || (b >= 0x20 && b != 0x7f);
            cr_assert_eq(r > 0, ok, "value byte 0x%02x at %zu: %d", b, at, r);
            /* whitespace at either end of a value is not part of it */
            size_t vlen = (b == ' ' || b == '\t') && (at == 0 || at == 23) ? 23 : 24;
            if (ok)
                cr_assert_eq(req.headers[0].value_len, vlen, "value byte 0x%02x at %zu", b, at);
            check_agree(gbuf_put(&g, msg, n), n, 0, HTTP_MAX_HEADERS, "value byte");
        }
    }
    gbuf_free(&g);
}

/* Deterministic mutations of valid requests: one to three bytes replaced by
 * bytes the parser treats specially. */
Test(fast_path, agrees_on_mutations)
{
    static const char *const base[] = {
        "GET /bytes/64 HTTP/1.1\r\nHost: b\r\n\r\n",
        "HEAD /x?y=z HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 12\r\n\r\n",
        "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    };
    struct gbuf g;
    gbuf_init(&g, 4096);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 20000; iter++) {
        const char *s = base[iter % 3];
        size_t len = strlen(s);
        char msg[256];
        memcpy(msg, s, len);
        mutate(msg, len, 1 + iter % 3, &x);
        check_agree(gbuf_put(&g, msg, len), len, 0, HTTP_MAX_HEADERS, "mutation");
        check_agree(gbuf_put(&g, msg, len), len, 40, 1, "mutation, limits");
    }
    gbuf_free(&g);
}

/* ---- the response fast path agrees with the general path ---- */

/* http_parse_response (fast path first) and http_parse_response_general
 * give the same return, error, spans (same pointers) and meta. */
static void check_agree_res(const char *buf, size_t len, size_t max_len, size_t max_headers,
                            const char *what)
{
    struct http_response a, b;
    int ra = http_parse_response(buf, len, &a, max_len, max_headers);
    int rb = http_parse_response_general(buf, len, &b, max_len, max_headers);
    cr_assert_eq(ra, rb, "%s (len %zu, max_len %zu, max_headers %zu): %d vs general %d", what,
                 len, max_len, max_headers, ra, rb);
    cr_assert_eq(a.error, b.error, "%s: error %d vs %d", what, a.error, b.error);
    if (ra <= 0)
        return;
    cr_assert_eq(a.minor_version, b.minor_version, "%s", what);
    cr_assert_eq(a.status, b.status, "%s", what);
    cr_assert(a.reason == b.reason && a.reason_len == b.reason_len, "%s: reason", what);
    cr_assert_eq(a.num_headers, b.num_headers, "%s", what);
    agree_fields(a.headers, b.headers, a.num_headers, &a.meta, &b.meta, what);
}

static void check_agree_res_all(struct gbuf *g, const char *s, size_t len, const char *what)
{
    static const size_t limits[][2] = {{0, HTTP_MAX_HEADERS}, {0, 1}, {0, 0}, {13, 8},
                                       {16, 8}, {40, 8}, {64, 2}, {100, 3}};
    for (size_t k = 0; k <= len; k++)
        for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++)
            check_agree_res(gbuf_put(g, s, k), k, limits[l][0], limits[l][1], what);
}

#define OUR_200 "HTTP/1.1 200 OK\r\nServer: bypassbench\r\nContent-Type: application/octet-stream\r\n"

static const char *const tricky_res[] = {
    /* what our server sends, and what it sends for the other cases */
    OUR_200 "Content-Length: 64\r\nConnection: keep-alive\r\n\r\n",
    OUR_200 "Content-Length: 64\r\nConnection: keep-alive\r\n\r\n0123456789",
    OUR_200 "Content-Length: 0\r\nConnection: close\r\n\r\n",
    "HTTP/1.1 404 Not Found\r\nServer: bypassbench\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: upgrade ,\tCLOSE \r\n\r\n",
    "HTTP/1.1 200 OK\r\ncontent-length: 7\r\nCONNECTION: Keep-Alive\r\n\r\n",
    /* status lines */
    "HTTP/1.1 200\r\n\r\n",
    "HTTP/1.1 200 \r\n\r\n",
    "HTTP/1.1 200  OK  \r\n\r\n",
    "HTTP/1.1 200 caf\xc3\xa9 \"q\"\tand a rather long reason\r\n\r\n",
    "HTTP/1.1 200 O\x7fK\r\n\r\n",
    "HTTP/1.1 200 O\x01K\r\n\r\n",
    "HTTP/1.1 200 OK\n\r\n",
    "HTTP/1.1 200 OK\rX\r\n\r\n",
    "HTTP/1.1 200X\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 2a0 OK\r\n\r\n",
    "HTTP/1.1 20a OK\r\n\r\n",
    "HTTP/1.1  200 OK\r\n\r\n",
    "HTTP/1.1\r\n\r\n",
    "HTTP/1.2 200 OK\r\n\r\n",
    "HTTP/2.0 200 OK\r\n\r\n",
    "HTTP/1.x 200 OK\r\n\r\n",
    "http/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 999 Whatever\r\n\r\n",
    "HTTP/1.1 000 Zero\r\n\r\n",
    "\r\nHTTP/1.1 200 OK\r\n\r\n",
    /* fields */
    "HTTP/1.1 200 OK\r\nX:\t v \t\r\nY:\r\nZ: \t\r\n\r\n",
    "HTTP/1.1 200 OK\r\nHost: a\r\n b\r\n\r\n",
    "HTTP/1.1 200 OK\r\n\tHost: a\r\n\r\n",
    "HTTP/1.1 200 OK\r\nHost : x\r\n\r\n",
    "HTTP/1.1 200 OK\r\n: x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nHost\r\n\r\n",
    "HTTP/1.1 200 OK\r\nHost: a\n\r\n",
    "HTTP/1.1 200 OK\r\nHost: a\r\n\n",
    "HTTP/1.1 200 OK\r\nHost: a\rb\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: 0123456789abcdef\x7f\r\n\r\n",
    "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
};

Test(fast_path, responses_agree_on_tricky_inputs)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (size_t i = 0; i < sizeof(tricky_res) / sizeof(tricky_res[0]); i++)
        check_agree_res_all(&g, tricky_res[i], strlen(tricky_res[i]), tricky_res[i]);
    gbuf_free(&g);
}

/* Our server's response is taken by the fast path (it answers without
 * falling back) and parsed as expected. */
Test(fast_path, our_response)
{
    static const char msg[] = OUR_200 "Content-Length: 64\r\nConnection: keep-alive\r\n\r\n";
    struct gbuf g;
    gbuf_init(&g, 4096);
    struct http_response res;
    int r = res_g(&g, S(msg), &res, 64 * 1024, HTTP_MAX_HEADERS);
    cr_assert_eq(r, (int)sizeof(msg) - 1);
    cr_assert_eq(res.status, 200);
    cr_assert_eq(res.minor_version, 1);
    cr_assert(span_eq(res.reason, res.reason_len, "OK"));
    cr_assert_eq(res.num_headers, 4);
    cr_assert_eq(res.meta.content_length, 64);
    cr_assert_eq(res.meta.keep_alive, 1);
    cr_assert_eq(res.meta.chunked, 0);
    gbuf_free(&g);
}

/* Every byte value at every offset of a word in the reason phrase and in a
 * value: accepted exactly when its class allows it. */
Test(fast_path, every_byte_in_reason_and_value)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (int b = 0; b < 256; b++) {
        for (size_t at = 0; at < 24; at++) {
            char msg[128];
            size_t n = (size_t)snprintf(msg, sizeof(msg), "HTTP/1.1 200 ");
            for (size_t i = 0; i < 24; i++)
                msg[n++] = i == at ? (char)b : 'r';
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\r\n\r\n");
            struct http_response res;
            int r = http_parse_response(gbuf_put(&g, msg, n), n, &res, 0, HTTP_MAX_HEADERS);
            int ok = b == '\t' || (b >= 0x20 && b != 0x7f);
            cr_assert_eq(r > 0, ok, "reason byte 0x%02x at %zu: %d", b, at, r);
            check_agree_res(gbuf_put(&g, msg, n), n, 0, HTTP_MAX_HEADERS, "reason byte");

            n = (size_t)snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\nX: ");
            for (size_t i = 0; i < 24; i++)
                msg[n++] = i == at ? (char)b : 'v';
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\r\n\r\n");
            r = http_parse_response(gbuf_put(&g, msg, n), n, &res, 0, HTTP_MAX_HEADERS);
            cr_assert_eq(r > 0, ok, "value byte 0x%02x at %zu: %d", b, at, r);
            check_agree_res(gbuf_put(&g, msg, n), n, 0, HTTP_MAX_HEADERS, "value byte");
        }
    }
    gbuf_free(&g);
}

/* Every byte value at every offset of a 20-byte field name, with a body
 * after the header block (so the response path's 16-byte name scan runs):
 * accepted exactly when the byte is a tchar (RFC 9110 5.6.2), or a ':' that
 * ends the name early. */

Test(fast_path, every_byte_in_a_long_name)
{
    struct gbuf g;
    gbuf_init(&g, 4096);
    for (int b = 0; b < 256; b++) {
        for (size_t at = 0; at < 20; at++) {
            char msg[160];
            size_t n = (size_t)snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n");
            for (size_t i = 0; i < 20; i++)
                msg[n++] = i == at ? (char)b : (char)("Xx-9"[i % 4]);
            n += (size_t)snprintf(msg + n, sizeof(msg) - n,
                                  ": v\r\nContent-Length: 16\r\n\r\n0123456789abcdef");
            struct http_response res;
            int r = http_parse_response(gbuf_put(&g, msg, n), n, &res, 0, HTTP_MAX_HEADERS);
            if (tchar_byte(b)) {
                cr_assert_gt(r, 0, "name byte 0x%02x at %zu: %d", b, at, r);
                cr_assert_eq(res.num_headers, 2);
                cr_assert_eq(res.headers[0].name_len, 20, "name byte 0x%02x at %zu", b, at);
            } else if (b == ':' && at > 0) {
                /* the name ends early; the rest of it leads the value */
                cr_assert_gt(r, 0, "':' at %zu: %d", at, r);
                cr_assert_eq(res.headers[0].name_len, at);
            } else {
                cr_assert_lt(r, 0, "name byte 0x%02x at %zu: %d", b, at, r);
            }
            check_agree_res(gbuf_put(&g, msg, n), n, 0, HTTP_MAX_HEADERS, "name byte");
        }
    }
    gbuf_free(&g);
}

/* Deterministic mutations of valid responses. */
Test(fast_path, responses_agree_on_mutations)
{
    static const char *const base[] = {
        OUR_200 "Content-Length: 64\r\nConnection: keep-alive\r\n\r\n",
        "HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 12\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    };
    struct gbuf g;
    gbuf_init(&g, 4096);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 20000; iter++) {
        const char *s = base[iter % 3];
        size_t len = strlen(s);
        char msg[256];
        memcpy(msg, s, len);
        mutate(msg, len, 1 + iter % 3, &x);
        check_agree_res(gbuf_put(&g, msg, len), len, 0, HTTP_MAX_HEADERS, "mutation");
        check_agree_res(gbuf_put(&g, msg, len), len, 60, 2, "mutation, limits");
        for (size_t k = len - 3; k < len; k++)
            check_agree_res(gbuf_put(&g, msg, k), k, 0, HTTP_MAX_HEADERS, "mutation prefix");
    }
    gbuf_free(&g);
}
