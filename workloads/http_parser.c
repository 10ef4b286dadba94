/*
 * http_parser.c — zero-copy, allocation-free, incremental HTTP/1.x parser
 * (requests, responses, chunked bodies), after picohttpparser.
 *
 * Callers: workloads/server.c (http_parse_request), workloads/loadgen.c
 * (http_parse_response, http_chunked_feed), tests and the fuzz target.
 * Calls: memcmp/memcpy/strlen only.
 *
 * Call chain: http_parse_request() -> fast_request() (the common complete
 * request, one pass) or, when that is not sure, http_parse_request_general()
 * -> parse_request_line() -> parse_headers() -> apply_meta();
 * http_parse_response() -> fast_response() or http_parse_response_general()
 * -> parse_status_line() -> the same. Both fast paths share fast_fields().
 * The general path parses from the start of the buffer (the header block is
 * small), checks every byte as it is reached, and returns HTTP_PARSE_PARTIAL
 * only when it runs out of bytes: so a prefix of a valid message is always
 * PARTIAL and an error is reported as soon as the offending byte is seen. The
 * parser never looks at buf[len] or beyond (every lookahead is checked against
 * the end; the fast path loads 8 or 16 bytes at a time only while that many
 * remain).
 */
#include "workloads/http_parser.h"

#include <limits.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define OK 0
#define PARTIAL HTTP_PARSE_PARTIAL
#define ERROR HTTP_PARSE_ERROR

/* Character classes (RFC 9110 §5.6.2 tchar, §5.5 field-vchar, RFC 3986-ish
 * visible request-target bytes, hex digits). */
#define C_TCHAR 0x01
#define C_VALUE 0x02  /* field value / reason phrase: VCHAR, obs-text, SP, HTAB */
#define C_TARGET 0x04 /* request-target: VCHAR (0x21-0x7e) */
#define C_HEX 0x08

#define TVG (C_TCHAR | C_VALUE | C_TARGET)
#define VG (C_VALUE | C_TARGET)

static const unsigned char cls[256] = {
    ['\t'] = C_VALUE,
    [' '] = C_VALUE,
    ['!'] = TVG,
    ['"'] = VG,
    ['#' ... '\''] = TVG,
    ['('... ')'] = VG,
    ['*'... '+'] = TVG,
    [','] = VG,
    ['-'... '.'] = TVG,
    ['/'] = VG,
    ['0'... '9'] = TVG | C_HEX,
    [':'... '@'] = VG,
    ['A'... 'F'] = TVG | C_HEX,
    ['G'... 'Z'] = TVG,
    ['['... ']'] = VG,
    ['^'... '`'] = TVG,
    ['a'... 'f'] = TVG | C_HEX,
    ['g'... 'z'] = TVG,
    ['{'] = VG,
    ['|'] = TVG,
    ['}'] = VG,
    ['~'] = TVG,
    [0x80 ... 0xff] = C_VALUE,
};

#define CLS(p) (cls[(unsigned char)*(p)])

/* The first byte in [p, end) not of class m (end if none): 8 bytes per
 * round while 8 remain, so the bound is checked once per round. */
static inline const char *scan_cls(const char *p, const char *end, unsigned char m)
{
    while (end - p >= 8) {
        if (!(CLS(p) & m)) return p;
        if (!(CLS(p + 1) & m)) return p + 1;
        if (!(CLS(p + 2) & m)) return p + 2;
        if (!(CLS(p + 3) & m)) return p + 3;
        if (!(CLS(p + 4) & m)) return p + 4;
        if (!(CLS(p + 5) & m)) return p + 5;
        if (!(CLS(p + 6) & m)) return p + 6;
        if (!(CLS(p + 7) & m)) return p + 7;
        p += 8;
    }
    while (p < end && (CLS(p) & m))
        p++;
    return p;
}

/* Word-at-a-time skipping for the fast path (no SIMD): load 8 bytes, and if a
 * bit trick shows none of them can end the scan, step over all 8. In the word
 * holding the first interesting byte, first_flagged() finds it (little-endian;
 * elsewhere scan_cls goes on byte by byte). */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
/* Non-zero iff some byte of x is < n (n <= 0x80). */
#define HAS_LESS(x, n) (((x) - ONES * (n)) & ~(x) & HIGHS)
/* Non-zero iff some byte of x is > n (n <= 0x7f). */
#define HAS_MORE(x, n) ((((x) + ONES * (0x7f - (n))) | (x)) & HIGHS)

static inline uint64_t load8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof(x));
    return x;
}

/* Offset of the first byte of the word loaded from p that HAS_LESS/HAS_MORE
 * (or an OR of them) flagged in m != 0. The flag of the lowest-addressed
 * flagged byte is exact (the false positives those tricks can give come from
 * a borrow or carry out of a truly flagged byte, and those run towards more
 * significant bytes: later ones, on a little-endian load), so the scans can
 * stop right there instead of re-reading the word byte by byte. -1 where this
 * does not hold (big-endian): the caller goes byte by byte. */
static inline int first_flagged(uint64_t m)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_ctzll(m) >> 3;
#else
    (void)m;
    return -1;
#endif
}

/* scan_cls(p, end, C_TARGET): C_TARGET is exactly 0x21..0x7e. */
static inline const char *scan_target(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t x = load8(p);
        uint64_t m = HAS_LESS(x, 0x21) | HAS_MORE(x, 0x7e);
        if (m) {
            int i = first_flagged(m);
            if (i < 0)
                break;
            return p + i;
        }
        p += 8;
    }
    return scan_cls(p, end, C_TARGET);
}

/* scan_cls(p, end, C_VALUE): C_VALUE is HTAB, 0x20..0x7e and 0x80..0xff. A
 * byte b is flagged when (b + 1) & 0x7f < 0x21, four operations a word: that
 * is every byte below 0x20 and 0x7f, and also HTAB, 0x80..0x9f and 0xff, which
 * are value bytes, so a flagged byte is looked up in the table and the scan
 * goes on past it if it is one. (A carry out of b + 1 comes only from 0xff,
 * itself flagged: the lowest flag stays exact.) */
static inline const char *scan_value(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t x = load8(p);
        uint64_t y = (x + ONES) & ~HIGHS;
        uint64_t m = (y - ONES * 0x21) & HIGHS; /* HAS_LESS(y, 0x21), y's bytes < 0x80 */
        if (m) {
            int i = first_flagged(m);
            if (i < 0)
                break;
            p += i;
            if (!(CLS(p) & C_VALUE))
                return p;
            p++; /* HTAB or obs-text: a value byte after all */
            continue;
        }
        p += 8;
    }
    return scan_cls(p, end, C_VALUE);
}

/* The response fast path's field scans, 16 bytes a round with SSE2 (every
 * x86-64 has it) while 16 remain; the rest, and other targets, go to the
 * scans above. Responses are where they pay: longer names (Content-Length,
 * Content-Type) and the body after the header block, so 16 bytes remain;
 * a request's block is short and ends the buffer, where the test for 16
 * bytes would only cost. The general path keeps to the byte table, so the
 * tests and the fuzz target that compare the two paths check these too. */

/* scan_cls(p, end, C_TCHAR) for a header name: a round accepts letters,
 * digits and '-' (what names are made of); at the first other byte the
 * table decides, and a rarer tchar ('_', '!', ...) is passed byte by byte. */
static inline const char *scan_name(const char *p, const char *end)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20)); /* A-Z -> a-z (0x80+ stay negative) */
        __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                   _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1)));
        ok = _mm_or_si128(ok, _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                            _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1))));
        ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
        unsigned m = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu; /* bytes to look at */
        if (m) {
            p += __builtin_ctz(m);
            if (!(CLS(p) & C_TCHAR)) return p;
            p++;
            continue;
        }
        p += 16;
    }
#endif
    return scan_cls(p, end, C_TCHAR);
}

/* scan_value(p, end): a round flags the control bytes (0x00-0x1f, 0x7f) but
 * HTAB; everything else is a value byte (VCHAR, SP, obs-text). */
static inline const char *scan_value16(const char *p, const char *end)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i bad = _mm_and_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                    _mm_cmpgt_epi8(x, _mm_set1_epi8(-1))); /* 0x00-0x1f */
        bad = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')), bad);
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    return scan_value(p, end);
}

static int fail(enum http_error *err, enum http_error e)
{
    *err = e;
    return ERROR;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static inline uint32_t load4(const char *p)
{
    uint32_t x;
    memcpy(&x, p, sizeof(x));
    return x;
}

/* Case-insensitive equality of s[0..n) with the lowercase literal lit, four
 * or eight bytes at a time (the last word overlapping the one before).
 * OR-ing 0x20 into a byte lowercases A-Z; it also maps CR onto '-' and
 * 0x10..0x19 onto the digits (the literals hold only lowercase letters,
 * digits and '-'), but s is always a header name (tchar) or a field value
 * (field-vchar, SP, HTAB) already checked by the caller, and those hold no
 * such control bytes; every other byte they can hold maps onto itself or onto
 * a byte no literal has (HTAB -> ')', '@' -> '`', '[' -> '{', ...). So the
 * result is exactly the byte-wise lowercase comparison. */
static inline int ieq(const char *s, size_t n, const char *lit, size_t litlen)
{
    if (n != litlen)
        return 0;
    if (n >= 8) {
        const uint64_t fold = ONES * 0x20;
        for (size_t i = 0; i + 8 < n; i += 8)
            if ((load8(s + i) | fold) != load8(lit + i))
                return 0;
        return (load8(s + n - 8) | fold) == load8(lit + n - 8);
    }
    if (n >= 4) {
        const uint32_t fold = 0x20202020u;
        return ((load4(s) | fold) == load4(lit)) & ((load4(s + n - 4) | fold) == load4(lit + n - 4));
    }
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}
#define IEQ(s, n, lit) ieq((s), (n), lit, sizeof(lit) - 1)

/* Expect CRLF at *pp. Bare CR or LF is error `e`. */
static int expect_crlf(const char **pp, const char *end, enum http_error *err, enum http_error e)
{
    const char *p = *pp;
    if (p == end)
        return PARTIAL;
    if (*p != '\r')
        return fail(err, e);
    if (p + 1 == end)
        return PARTIAL;
    if (p[1] != '\n')
        return fail(err, e);
    *pp = p + 2;
    return OK;
}

/* "HTTP/" DIGIT "." DIGIT (case-sensitive, RFC 9112 §2.3). */
static int parse_version(const char **pp, const char *end, int *major, int *minor,
                         enum http_error *err)
{
    static const char name[] = "HTTP/";
    const char *p = *pp;
    if (end - p >= 8 && memcmp(p, name, 5) == 0 && p[5] >= '0' && p[5] <= '9' && p[6] == '.' &&
        p[7] >= '0' && p[7] <= '9') { /* complete and well formed: the common case */
        *major = p[5] - '0';
        *minor = p[7] - '0';
        *pp = p + 8;
        return OK;
    }
    for (size_t i = 0; i < sizeof(name) - 1; i++, p++) {
        if (p == end)
            return PARTIAL;
        if (*p != name[i])
            return fail(err, HTTP_ERR_VERSION);
    }
    if (p == end)
        return PARTIAL;
    if (*p < '0' || *p > '9')
        return fail(err, HTTP_ERR_VERSION);
    *major = *p++ - '0';
    if (p == end)
        return PARTIAL;
    if (*p++ != '.')
        return fail(err, HTTP_ERR_VERSION);
    if (p == end)
        return PARTIAL;
    if (*p < '0' || *p > '9')
        return fail(err, HTTP_ERR_VERSION);
    *minor = *p++ - '0';
    *pp = p;
    return OK;
}

static int version_supported(int major, int minor)
{
    return major == 1 && (minor == 0 || minor == 1);
}

/* Header-derived state that is not part of struct http_meta. */
struct conn_tokens {
    int close;
    int keep_alive;
};

static void scan_connection(const char *v, size_t n, struct conn_tokens *ct)
{
    const char *end = v + n;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        if (!comma)
            comma = end;
        const char *te = comma;
        const char *ts = v;
        while (ts < te && (*ts == ' ' || *ts == '\t'))
            ts++;
        while (te > ts && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if (IEQ(ts, (size_t)(te - ts), "close"))
            ct->close = 1;
        else if (IEQ(ts, (size_t)(te - ts), "keep-alive"))
            ct->keep_alive = 1;
        if (comma == end)
            break;
        v = comma + 1;
    }
}

/* Content-Length = 1*DIGIT, no overflow, duplicates must agree. */
static int apply_content_length(const char *v, size_t n, struct http_meta *m,
                                enum http_error *err)
{
    if (n == 0)
        return fail(err, HTTP_ERR_CONTENT_LENGTH);
    int64_t x = 0;
    size_t i = 0;
    /* 18 digits cannot overflow: no overflow test for them */
    for (; i < n && i < 18; i++) {
        unsigned d = (unsigned char)v[i] - '0';
        if (d > 9)
            return fail(err, HTTP_ERR_CONTENT_LENGTH);
        x = x * 10 + (int64_t)d;
    }
    for (; i < n; i++) {
        unsigned d = (unsigned char)v[i] - '0';
        if (d > 9 || x > (INT64_MAX - (int64_t)d) / 10)
            return fail(err, HTTP_ERR_CONTENT_LENGTH);
        x = x * 10 + (int64_t)d;
    }
    if (m->content_length >= 0 && m->content_length != x)
        return fail(err, HTTP_ERR_CONTENT_LENGTH);
    if (m->chunked)
        return fail(err, HTTP_ERR_TRANSFER_ENCODING);
    m->content_length = x;
    return OK;
}

static int apply_meta_named(const struct http_header *h, struct http_meta *m,
                            struct conn_tokens *ct, enum http_error *err)
{
    switch (h->name_len) {
    case 14:
        if (IEQ(h->name, h->name_len, "content-length"))
            return apply_content_length(h->value, h->value_len, m, err);
        break;
    case 17:
        if (IEQ(h->name, h->name_len, "transfer-encoding")) {
            /* Only a single "chunked"; a second TE header would apply it twice. */
            if (m->chunked || m->content_length >= 0 ||
                !IEQ(h->value, h->value_len, "chunked"))
                return fail(err, HTTP_ERR_TRANSFER_ENCODING);
            m->chunked = 1;
        }
        break;
    case 10:
        if (IEQ(h->name, h->name_len, "connection"))
            scan_connection(h->value, h->value_len, ct);
        break;
    case 6:
        if (IEQ(h->name, h->name_len, "expect") && IEQ(h->value, h->value_len, "100-continue"))
            m->expect_continue = 1;
        break;
    }
    return OK;
}

/* Lengths of the header names apply_meta_named knows (6, 10, 14, 17): most
 * headers are ruled out by one bit test, without a call. */
#define META_NAME_LENS ((1u << 6) | (1u << 10) | (1u << 14) | (1u << 17))

static inline int apply_meta(const struct http_header *h, struct http_meta *m,
                             struct conn_tokens *ct, enum http_error *err)
{
    if (h->name_len >= 32 || !((META_NAME_LENS >> h->name_len) & 1))
        return OK;
    return apply_meta_named(h, m, ct, err);
}

/* Field lines up to and including the empty line (RFC 9112 §5). */
static int parse_headers(const char **pp, const char *end, struct http_header *hdrs, size_t *num,
                         size_t max, struct http_meta *m, struct conn_tokens *ct,
                         enum http_error *err)
{
    const char *p = *pp;
    for (;;) {
        if (p == end)
            return PARTIAL;
        if (*p == '\r') {
            int r = expect_crlf(&p, end, err, HTTP_ERR_HEADER_NAME);
            if (r == OK)
                *pp = p;
            return r;
        }
        if (*p == ' ' || *p == '\t')
            return fail(err, HTTP_ERR_HEADER_VALUE); /* obs-fold */
        if (*num >= max)
            return fail(err, HTTP_ERR_TOO_MANY_HEADERS);

        const char *name = p;
        p = scan_cls(p, end, C_TCHAR);
        if (p == end)
            return PARTIAL;
        if (*p != ':' || p == name)
            return fail(err, HTTP_ERR_HEADER_NAME);
        size_t name_len = (size_t)(p - name);
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *value = p;
        p = scan_cls(p, end, C_VALUE);
        const char *vend = p;
        int r = expect_crlf(&p, end, err, HTTP_ERR_HEADER_VALUE);
        if (r != OK)
            return r;
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;

        struct http_header *h = &hdrs[(*num)++];
        h->name = name;
        h->name_len = name_len;
        h->value = value;
        h->value_len = (size_t)(vend - value);
        if (apply_meta(h, m, ct, err) != OK)
            return ERROR;
    }
}

/* method SP request-target SP HTTP-version CRLF, after optional empty lines. */
static int parse_request_line(const char **pp, const char *end, struct http_request *req)
{
    enum http_error *err = &req->error;
    const char *p = *pp;

    /* RFC 9112 §2.2: ignore empty lines (CRLF) before the request-line. */
    while (p < end && *p == '\r') {
        int r = expect_crlf(&p, end, err, HTTP_ERR_LINE);
        if (r != OK)
            return r;
    }

    const char *method = p;
    p = scan_cls(p, end, C_TCHAR);
    if (p == end)
        return PARTIAL;
    if (*p != ' ' || p == method)
        return fail(err, (*p == '\r' || *p == '\n') ? HTTP_ERR_LINE : HTTP_ERR_METHOD);
    req->method = method;
    req->method_len = (size_t)(p - method);
    p++;

    const char *target = p;
    p = scan_cls(p, end, C_TARGET);
    if (p == end)
        return PARTIAL;
    if (*p == '\r' && p == target)
        return fail(err, HTTP_ERR_TARGET); /* "GET \r\n" */
    if (*p == '\r') {
        /* "GET /\r\n": an HTTP/0.9 simple request, well formed but unsupported. */
        int r = expect_crlf(&p, end, err, HTTP_ERR_LINE);
        return r == OK ? fail(err, HTTP_ERR_VERSION_UNSUPPORTED) : r;
    }
    if ((*p == ' ' && p == target) || *p == '\n')
        return fail(err, HTTP_ERR_LINE); /* double SP, bare LF */
    if (*p != ' ')
        return fail(err, HTTP_ERR_TARGET); /* CTL, obs-text */
    req->target = target;
    req->target_len = (size_t)(p - target);
    p++;

    int major = 0, minor = 0;
    int r = parse_version(&p, end, &major, &minor, err);
    if (r != OK)
        return r;
    if (p == end)
        return PARTIAL;
    if (*p != '\r')
        return fail(err, (*p == ' ' || *p == '\n') ? HTTP_ERR_LINE : HTTP_ERR_VERSION);
    r = expect_crlf(&p, end, err, HTTP_ERR_LINE);
    if (r != OK)
        return r;
    req->minor_version = minor;
    if (!version_supported(major, minor))
        return fail(err, HTTP_ERR_VERSION_UNSUPPORTED);
    *pp = p;
    return OK;
}

/* HTTP-version SP 3DIGIT SP reason-phrase CRLF (SP may be missing before an
 * empty reason). */
static int parse_status_line(const char **pp, const char *end, struct http_response *res)
{
    enum http_error *err = &res->error;
    const char *p = *pp;
    int major = 0, minor = 0;
    int r = parse_version(&p, end, &major, &minor, err);
    if (r != OK)
        return r;
    if (p == end)
        return PARTIAL;
    if (*p != ' ')
        return fail(err, (*p == '\r' || *p == '\n') ? HTTP_ERR_LINE : HTTP_ERR_VERSION);
    p++;

    int status = 0;
    for (int i = 0; i < 3; i++, p++) {
        if (p == end)
            return PARTIAL;
        if (*p < '0' || *p > '9')
            return fail(err, HTTP_ERR_STATUS);
        status = status * 10 + (*p - '0');
    }
    if (p == end)
        return PARTIAL;
    const char *reason = p;
    if (*p == ' ') {
        reason = ++p;
        while (p < end && (CLS(p) & C_VALUE))
            p++;
    } else if (*p != '\r') {
        return fail(err, *p == '\n' ? HTTP_ERR_LINE : HTTP_ERR_STATUS);
    }
    const char *rend = p;
    r = expect_crlf(&p, end, err, HTTP_ERR_LINE);
    if (r != OK)
        return r;
    res->minor_version = minor;
    res->status = status;
    res->reason = reason;
    res->reason_len = (size_t)(rend - reason);
    if (!version_supported(major, minor))
        return fail(err, HTTP_ERR_VERSION_UNSUPPORTED);
    *pp = p;
    return OK;
}

static void meta_init(struct http_meta *m)
{
    m->content_length = -1;
    m->chunked = 0;
    m->keep_alive = 0;
    m->expect_continue = 0;
}

static void meta_finish(struct http_meta *m, const struct conn_tokens *ct, int minor)
{
    if (ct->close)
        m->keep_alive = 0;
    else
        m->keep_alive = minor >= 1 ? 1 : ct->keep_alive;
}

/* Bytes the parser may look at: the caller's limit, and never more than an
 * int return value can describe. */
static size_t scan_limit(size_t len, size_t max_len)
{
    if (max_len == 0 || max_len > INT_MAX)
        max_len = INT_MAX;
    return len < max_len ? len : max_len;
}

/* PARTIAL once the limit is reached is HEADER_TOO_LARGE. */
static int finish(const char *buf, const char *p, int r, size_t len, size_t max_len,
                  enum http_error *err)
{
    if (r == OK)
        return (int)(p - buf);
    if (r == PARTIAL && len >= scan_limit(SIZE_MAX, max_len))
        return fail(err, HTTP_ERR_HEADER_TOO_LARGE);
    return r;
}

static void request_init(struct http_request *req)
{
    req->method = req->target = NULL;
    req->method_len = req->target_len = 0;
    req->minor_version = -1;
    req->num_headers = 0;
    req->error = HTTP_ERR_NONE;
    meta_init(&req->meta);
}

/* The header fields and the empty line, for the fast paths: from p (the
 * start of the first field line) to just past the empty line, which is
 * returned; NULL at the first byte it is not sure about (the caller then
 * falls back to the general path). Writes hdrs[0..*num), and *meta finished
 * for HTTP/1.minor. Same byte classes and header handling (apply_meta) as
 * parse_headers. wide (a constant): the 16-byte scans (responses). */
static inline __attribute__((always_inline)) const char *
fast_fields(const char *p, const char *end, struct http_header *hdrs, size_t max_headers,
            size_t *num, struct http_meta *meta, int minor, int wide)
{
    const char *q;
    meta_init(meta);
    struct conn_tokens ct = {0, 0};
    enum http_error err = HTTP_ERR_NONE;
    size_t n = 0;
    for (;;) {
        if (end - p < 2)
            return NULL;
        if (*p == '\r') { /* the empty line ends the block */
            if (p[1] != '\n')
                return NULL;
            p += 2;
            break;
        }
        if (n >= max_headers)
            return NULL;
        const char *name = p;
        /* also rejects obs-fold: SP/HTAB are not tchar */
        q = wide ? scan_name(p, end) : scan_cls(p, end, C_TCHAR);
        if (q == p || q == end || *q != ':')
            return NULL;
        size_t name_len = (size_t)(q - p);
        p = q + 1;
        if (end - p >= 2 && *p == ' ' && p[1] != ' ' && p[1] != '\t')
            p++; /* the usual single SP */
        else
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        const char *value = p;
        p = wide ? scan_value16(p, end) : scan_value(p, end);
        if (end - p < 2 || memcmp(p, "\r\n", 2) != 0)
            return NULL;
        const char *vend = p;
        p += 2;
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        struct http_header *h = &hdrs[n++];
        h->name = name;
        h->name_len = name_len;
        h->value = value;
        h->value_len = (size_t)(vend - value);
        if (apply_meta(h, meta, &ct, &err) != OK)
            return NULL;
    }
    meta_finish(meta, &ct, minor);
    *num = n;
    return p;
}

/* The common request parsed in one forward pass: complete, no empty lines
 * before it, HTTP/1.0 or 1.1, every line ending in CRLF, nothing malformed.
 * Same byte classes, same header handling (apply_meta) and same limits as the
 * general path below, but with no PARTIAL or error bookkeeping: at the first
 * byte it is not sure about it returns 0, and the caller re-parses from the
 * start with the general path, which owns every error and PARTIAL decision.
 * So when it returns > 0, *req is exactly what the general path would give
 * (every field is set here; only headers[] is written before success). */
static int fast_request(const char *buf, const char *end, struct http_request *req,
                        size_t max_headers)
{
    const char *p = buf, *q;

    /* method SP; "GET " is by far the most common, so check it first */
    q = end - p >= 4 && memcmp(p, "GET ", 4) == 0 ? p + 3 : scan_cls(p, end, C_TCHAR);
    if (q == p || q == end || *q != ' ')
        return 0;
    const char *target = q + 1;

    /* request-target SP "HTTP/1.x" CRLF: the two versions differ in one bit */
    q = scan_target(target, end);
    if (q == target || end - q < 11 || *q != ' ')
        return 0;
    uint64_t v11 = load8("HTTP/1.1"), vdiff = v11 ^ load8("HTTP/1.0");
    uint64_t d = load8(q + 1) ^ v11;
    if ((d != 0 && d != vdiff) || memcmp(q + 9, "\r\n", 2) != 0)
        return 0;
    int minor = d == 0;
    const char *target_end = q;
    p = q + 11;

    struct http_meta meta;
    size_t n;
    p = fast_fields(p, end, req->headers, max_headers, &n, &meta, minor, 0);
    if (!p)
        return 0;
    req->method = buf;
    req->method_len = (size_t)(target - 1 - buf);
    req->target = target;
    req->target_len = (size_t)(target_end - target);
    req->minor_version = minor;
    req->num_headers = n;
    req->meta = meta;
    req->error = HTTP_ERR_NONE;
    return (int)(p - buf);
}

int http_parse_request_general(const char *buf, size_t len, struct http_request *req,
                               size_t max_len, size_t max_headers)
{
    request_init(req);
    if (len == 0)
        return PARTIAL;

    struct conn_tokens ct = {0, 0};
    const char *p = buf, *end = buf + scan_limit(len, max_len);
    if (max_headers > HTTP_MAX_HEADERS)
        max_headers = HTTP_MAX_HEADERS;
    int r = parse_request_line(&p, end, req);
    if (r == OK)
        r = parse_headers(&p, end, req->headers, &req->num_headers, max_headers, &req->meta, &ct,
                          &req->error);
    if (r == OK)
        meta_finish(&req->meta, &ct, req->minor_version);
    return finish(buf, p, r, len, max_len, &req->error);
}

int http_parse_request(const char *buf, size_t len, struct http_request *req, size_t max_len,
                       size_t max_headers)
{
    int r = fast_request(buf, buf + scan_limit(len, max_len), req,
                         max_headers < HTTP_MAX_HEADERS ? max_headers : HTTP_MAX_HEADERS);
    if (r > 0)
        return r;
    return http_parse_request_general(buf, len, req, max_len, max_headers);
}

/* The common response parsed in one forward pass, as fast_request does for
 * requests: complete, "HTTP/1.1" or "HTTP/1.0", SP, three digits, then SP and
 * a reason phrase or directly CRLF, then the fields. 0 at the first byte it is
 * not sure about (the general path re-parses and decides); when > 0, *res is
 * exactly what the general path would give. */
static int fast_response(const char *buf, const char *end, struct http_response *res,
                         size_t max_headers)
{
    if (end - buf < 13)
        return 0;
    uint64_t v11 = load8("HTTP/1.1"), vdiff = v11 ^ load8("HTTP/1.0");
    uint64_t d = load8(buf) ^ v11;
    unsigned d0 = (unsigned char)buf[9] - '0', d1 = (unsigned char)buf[10] - '0',
             d2 = (unsigned char)buf[11] - '0';
    if ((d != 0 && d != vdiff) || buf[8] != ' ' || d0 > 9 || d1 > 9 || d2 > 9)
        return 0;
    int minor = d == 0;
    const char *reason = buf + 12, *rend = reason; /* no SP: an empty reason at the CR */
    if (*reason == ' ')
        rend = scan_value(++reason, end);
    if (end - rend < 2 || memcmp(rend, "\r\n", 2) != 0)
        return 0;

    struct http_meta meta;
    size_t n;
    const char *p = fast_fields(rend + 2, end, res->headers, max_headers, &n, &meta, minor, 1);
    if (!p)
        return 0;
    res->minor_version = minor;
    res->status = (int)(d0 * 100 + d1 * 10 + d2);
    res->reason = reason;
    res->reason_len = (size_t)(rend - reason);
    res->num_headers = n;
    res->meta = meta;
    res->error = HTTP_ERR_NONE;
    return (int)(p - buf);
}

int http_parse_response(const char *buf, size_t len, struct http_response *res, size_t max_len,
                        size_t max_headers)
{
    int r = fast_response(buf, buf + scan_limit(len, max_len), res,
                          max_headers < HTTP_MAX_HEADERS ? max_headers : HTTP_MAX_HEADERS);
    if (r > 0)
        return r;
    return http_parse_response_general(buf, len, res, max_len, max_headers);
}

int http_parse_response_general(const char *buf, size_t len, struct http_response *res,
                                size_t max_len, size_t max_headers)
{
    res->minor_version = -1;
    res->status = 0;
    res->reason = NULL;
    res->reason_len = 0;
    res->num_headers = 0;
    res->error = HTTP_ERR_NONE;
    meta_init(&res->meta);
    if (len == 0)
        return PARTIAL;

    struct conn_tokens ct = {0, 0};
    const char *p = buf, *end = buf + scan_limit(len, max_len);
    if (max_headers > HTTP_MAX_HEADERS)
        max_headers = HTTP_MAX_HEADERS;
    int r = parse_status_line(&p, end, res);
    if (r == OK)
        r = parse_headers(&p, end, res->headers, &res->num_headers, max_headers, &res->meta, &ct,
                          &res->error);
    if (r == OK)
        meta_finish(&res->meta, &ct, res->minor_version);
    return finish(buf, p, r, len, max_len, &res->error);
}

/* Chunked decoder states; 0 (a zeroed struct) is the start of a chunk size. */
enum {
    CH_SIZE = 0,      /* hex digits */
    CH_SIZE_WS,       /* BWS after the size */
    CH_EXT,           /* chunk extensions, ignored */
    CH_SIZE_LF,       /* LF after the size line's CR */
    CH_DATA,          /* payload */
    CH_DATA_CR,       /* CRLF after the payload */
    CH_DATA_LF,
    CH_TRAILER_START, /* start of a trailer line or the final CRLF */
    CH_TRAILER,
    CH_TRAILER_LF,
    CH_FINAL_LF,
    CH_DONE,
    CH_FAILED,
};

static int hexval(unsigned char c)
{
    if (c <= '9')
        return c - '0';
    return lower(c) - 'a' + 10;
}

int http_chunked_feed(struct http_chunked *d, const char *buf, size_t len, size_t *consumed,
                      http_payload_cb cb, void *arg)
{
    size_t i = 0;
    int ret = 0;
    if (d->state == CH_DONE || d->state == CH_FAILED) {
        if (consumed)
            *consumed = 0;
        return d->state == CH_DONE ? 1 : -1;
    }
    while (i < len && ret == 0) {
        if (d->state == CH_DATA) {
            size_t n = len - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            if (cb)
                cb(arg, buf + i, n);
            i += n;
            d->remaining -= n;
            if (d->remaining == 0)
                d->state = CH_DATA_CR;
            continue;
        }
        unsigned char c = (unsigned char)buf[i];
        int bad = 0;
        switch (d->state) {
        case CH_SIZE:
            if (cls[c] & C_HEX) {
                if (d->remaining >> 60)
                    bad = 1; /* would overflow 64 bits */
                d->remaining = (d->remaining << 4) | (uint64_t)hexval(c);
                if (d->digits < UINT_MAX)
                    d->digits++;
            } else if (d->digits == 0) {
                bad = 1;
            } else if (c == ' ' || c == '\t') {
                d->state = CH_SIZE_WS;
            } else if (c == ';') {
                d->state = CH_EXT;
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else {
                bad = 1;
            }
            break;
        case CH_SIZE_WS:
            if (c == ';')
                d->state = CH_EXT;
            else if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (c != ' ' && c != '\t')
                bad = 1;
            break;
        case CH_EXT:
            if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (!(cls[c] & C_VALUE))
                bad = 1;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                bad = 1;
            else
                d->state = d->remaining ? CH_DATA : CH_TRAILER_START;
            break;
        case CH_DATA_CR:
            if (c != '\r')
                bad = 1;
            else
                d->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n') {
                bad = 1;
            } else {
                d->state = CH_SIZE;
                d->remaining = 0;
                d->digits = 0;
            }
            break;
        case CH_TRAILER_START:
            if (c == '\r')
                d->state = CH_FINAL_LF;
            else if (cls[c] & C_TCHAR)
                d->state = CH_TRAILER;
            else
                bad = 1;
            break;
        case CH_TRAILER:
            if (c == '\r')
                d->state = CH_TRAILER_LF;
            else if (!(cls[c] & C_VALUE))
                bad = 1;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                bad = 1;
            else
                d->state = CH_TRAILER_START;
            break;
        case CH_FINAL_LF:
            if (c != '\n') {
                bad = 1;
            } else {
                d->state = CH_DONE;
                ret = 1;
            }
            break;
        default:
            bad = 1;
            break;
        }
        if (bad) {
            d->state = CH_FAILED;
            ret = -1;
            break;
        }
        i++;
    }
    if (consumed)
        *consumed = i;
    return ret;
}

const struct http_header *http_find_header(const struct http_header *h, size_t n,
                                           const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len != len)
            continue;
        size_t j = 0;
        while (j < len && lower((unsigned char)h[i].name[j]) == lower((unsigned char)name[j]))
            j++;
        if (j == len)
            return &h[i];
    }
    return NULL;
}

const char *http_error_str(enum http_error e)
{
    static const char *const str[HTTP_ERR__COUNT] = {
        [HTTP_ERR_NONE] = "no error",
        [HTTP_ERR_METHOD] = "bad method",
        [HTTP_ERR_TARGET] = "bad request target",
        [HTTP_ERR_VERSION] = "bad http version",
        [HTTP_ERR_VERSION_UNSUPPORTED] = "unsupported http version",
        [HTTP_ERR_LINE] = "bad request or status line",
        [HTTP_ERR_STATUS] = "bad status code",
        [HTTP_ERR_HEADER_NAME] = "bad header name",
        [HTTP_ERR_HEADER_VALUE] = "bad header value",
        [HTTP_ERR_TOO_MANY_HEADERS] = "too many headers",
        [HTTP_ERR_HEADER_TOO_LARGE] = "header block too large",
        [HTTP_ERR_CONTENT_LENGTH] = "bad content-length",
        [HTTP_ERR_TRANSFER_ENCODING] = "bad transfer-encoding",
    };
    if ((unsigned)e >= HTTP_ERR__COUNT || !str[e])
        return "unknown error";
    return str[e];
}

int http_error_status(enum http_error e)
{
    switch (e) {
    case HTTP_ERR_TOO_MANY_HEADERS:
    case HTTP_ERR_HEADER_TOO_LARGE:
        return 431;
    case HTTP_ERR_VERSION_UNSUPPORTED:
        return 505;
    default:
        return 400;
    }
}

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
