/*
 * http_parser.h — zero-copy, allocation-free, incremental HTTP/1.x parser for
 * requests and responses (the lesson of picohttpparser). All pointers in the
 * parsed structs point into the caller's buffer.
 *
 * Callers: workloads/server.c (requests), workloads/loadgen.c (responses),
 * tests/workloads/test_http_parser.c, tests/fuzz/fuzz_http_parser.c.
 *
 * Return contract of http_parse_request / http_parse_response:
 *   > 0                 the header block is complete; the value is the number
 *                       of bytes it occupies (request/status line, headers and
 *                       the blank line). Any body follows at buf + ret.
 *   HTTP_PARSE_PARTIAL  (-2) the input is a valid prefix: read more and call
 *                       again with the whole buffer (any split point works).
 *   HTTP_PARSE_ERROR    (-1) malformed; ->error says why.
 * The parser never reads beyond buf[len - 1].
 */
#ifndef BB_HTTP_PARSER_H
#define BB_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_PARSE_ERROR (-1)
#define HTTP_PARSE_PARTIAL (-2)
#define HTTP_MAX_HEADERS 64

enum http_error {
    HTTP_ERR_NONE = 0,
    HTTP_ERR_METHOD,           /* empty or non-token method */
    HTTP_ERR_TARGET,           /* empty target, or control characters in it */
    HTTP_ERR_VERSION,          /* malformed HTTP-version */
    HTTP_ERR_VERSION_UNSUPPORTED, /* well-formed but not HTTP/1.0 or 1.1 (-> 505) */
    HTTP_ERR_LINE,             /* bad request/status line (spaces, bare CR, ...) */
    HTTP_ERR_STATUS,           /* response: status not three digits */
    HTTP_ERR_HEADER_NAME,      /* empty or non-token header name, space before colon */
    HTTP_ERR_HEADER_VALUE,     /* control characters in a value, obs-fold */
    HTTP_ERR_TOO_MANY_HEADERS, /* more than the caller's max_headers (-> 431) */
    HTTP_ERR_HEADER_TOO_LARGE, /* no end of headers within max_len bytes (-> 431) */
    HTTP_ERR_CONTENT_LENGTH,   /* invalid or conflicting Content-Length */
    HTTP_ERR_TRANSFER_ENCODING,/* Transfer-Encoding other than chunked, or with C-L */
    HTTP_ERR__COUNT
};

struct http_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading and trailing whitespace trimmed */
    size_t value_len;
};

/* Semantics derived from the headers, filled by both parsers. */
struct http_meta {
    int64_t content_length; /* -1 when absent */
    int chunked;            /* Transfer-Encoding: chunked */
    int keep_alive;         /* per version and the Connection header */
    int expect_continue;    /* Expect: 100-continue */
};

struct http_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor_version; /* 0 or 1 */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;
    struct http_meta meta;
    enum http_error error;
};

struct http_response {
    int minor_version;
    int status;
    const char *reason;
    size_t reason_len;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t num_headers;
    struct http_meta meta;
    enum http_error error;
};

/* max_len: the header block may not exceed this many bytes (0 = no limit);
 * past it the result is HTTP_ERR_HEADER_TOO_LARGE even if incomplete.
 * max_headers: at most this many headers (<= HTTP_MAX_HEADERS). */
int http_parse_request(const char *buf, size_t len, struct http_request *req, size_t max_len,
                       size_t max_headers);
int http_parse_response(const char *buf, size_t len, struct http_response *res, size_t max_len,
                        size_t max_headers);
/* http_parse_request without its fast path for the common request: the
 * reference the fast path must agree with (tests and the fuzz target compare
 * the two). Same contract and results; slower. */
int http_parse_request_general(const char *buf, size_t len, struct http_request *req,
                               size_t max_len, size_t max_headers);
/* The same for http_parse_response and its fast path for the common response. */
int http_parse_response_general(const char *buf, size_t len, struct http_response *res,
                                size_t max_len, size_t max_headers);

/* Incremental chunked-body decoder (for responses without Content-Length).
 * Feed body bytes; it reports how many input bytes it consumed and how many
 * of those are payload, so the caller can check the payload in place.
 * Returns 1 when the final chunk and trailers are complete, 0 when more input
 * is needed, -1 on malformed input. */
struct http_chunked {
    int state;
    uint64_t remaining; /* payload bytes left in the current chunk */
    unsigned digits;
};
typedef void (*http_payload_cb)(void *arg, const char *data, size_t len);
int http_chunked_feed(struct http_chunked *d, const char *buf, size_t len, size_t *consumed,
                      http_payload_cb cb, void *arg);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_find_header(const struct http_header *h, size_t n,
                                           const char *name);

const char *http_error_str(enum http_error e);
/* Status code a server should answer for a request parse error: 400, 431 or 505. */
int http_error_status(enum http_error e);
/* Reason phrase for a status code ("OK", "Not Found", ...). */
const char *http_status_reason(int status);

#endif
