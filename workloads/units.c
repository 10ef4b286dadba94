/*
 * units.c — parse and format numbers with units (sizes, durations, counts).
 * A value is DIGITS[.DIGITS][ ]SUFFIX; the fraction is applied exactly with
 * 128-bit integer arithmetic and rounded to the nearest integer, so "1.5k" is
 * 1536 bytes and "1.5s" is 1500000000 ns. No sign, no leading or trailing
 * blanks; overflow of uint64_t is an error.
 * Callers: workloads/spec.c, workloads/server.c (/bytes/N), harness/ options.
 * Calls: only libc (snprintf).
 */
#include "workloads/units.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

struct suffix {
    const char *name; /* matched case-insensitively, whole rest of the input */
    uint64_t mult;
};

#define KI (1ull << 10)
#define MI (1ull << 20)
#define GI (1ull << 30)
#define TI (1ull << 40)
static const struct suffix size_suffixes[] = {
    {"", 1},
    {"b", 1},
    {"k", KI},
    {"kb", KI},
    {"ki", KI},
    {"kib", KI},
    {"m", MI},
    {"mb", MI},
    {"mi", MI},
    {"mib", MI},
    {"g", GI},
    {"gb", GI},
    {"gi", GI},
    {"gib", GI},
    {"t", TI},
    {"tb", TI},
    {"ti", TI},
    {"tib", TI},
    {NULL, 0},
};

#define NS_S 1000000000ull
static const struct suffix duration_suffixes[] = {
    {"", NS_S},                                                  /* a bare number is seconds */
    {"ns", 1},          {"us", 1000},       {"\xc2\xb5s", 1000}, /* µs in UTF-8 */
    {"ms", 1000000},    {"s", NS_S},        {"m", 60 * NS_S},
    {"min", 60 * NS_S}, {"h", 3600 * NS_S}, {NULL, 0},
};

static const struct suffix count_suffixes[] = {
    {"", 1},   {"k", 1000ull}, {"m", 1000000ull}, {"g", 1000000000ull}, {"t", 1000000000000ull},
    {NULL, 0},
};

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Exact-length, case-insensitive match of s[0..len) against a C string. */
static int suffix_eq(const char *s, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (n != len) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != lower((unsigned char)name[i])) return 0;
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The whole parser: number, optional blanks, suffix from the table. */
static int parse_units(const char *s, size_t len, const struct suffix *tab, uint64_t *out)
{
    if (!s || !out || len == 0) return -1;
    size_t i = 0;
    uint64_t ip = 0;
    if (!is_digit(s[0])) return -1; /* rejects "", "-1", "+1", " 1", ".5", "k" */
    while (i < len && is_digit(s[i])) {
        if (__builtin_mul_overflow(ip, 10, &ip) ||
            __builtin_add_overflow(ip, (uint64_t)(s[i] - '0'), &ip))
            return -1;
        i++;
    }
    uint64_t fnum = 0, fden = 1; /* fraction fnum / fden, up to 18 digits kept */
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || !is_digit(s[i])) return -1; /* "1." */
        int kept = 0;
        while (i < len && is_digit(s[i])) {
            if (kept < 18) {
                fnum = fnum * 10 + (uint64_t)(s[i] - '0');
                fden *= 10;
                kept++;
            }
            i++;
        }
    }
    while (i < len && s[i] == ' ')
        i++;
    const char *suf = s + i;
    size_t suflen = len - i;
    if (suflen > 0 && suf[suflen - 1] == ' ') return -1; /* trailing blank */
    const struct suffix *hit = NULL;
    for (const struct suffix *x = tab; x->name; x++)
        if (suffix_eq(suf, suflen, x->name)) {
            hit = x;
            break;
        }
    if (!hit || (suflen == 0 && i > 0 && s[i - 1] == ' ')) return -1; /* unknown suffix, or "1 " */
    uint64_t v;
    if (__builtin_mul_overflow(ip, hit->mult, &v)) return -1;
    unsigned __int128 f = (unsigned __int128)fnum * hit->mult;
    uint64_t frac = (uint64_t)((f * 2 + fden) / (2 * (unsigned __int128)fden));
    if (__builtin_add_overflow(v, frac, &v)) return -1;
    *out = v;
    return 0;
}

int units_parse_size(const char *s, uint64_t *out)
{
    return s ? parse_units(s, strlen(s), size_suffixes, out) : -1;
}

int units_parse_size_n(const char *s, size_t len, uint64_t *out)
{
    /* fast path for the per-request /bytes/N: at most 19 plain digits cannot
     * overflow and mean bytes ("" suffix, multiplier 1), as parse_units says */
    if (s && out && len && len <= 19) {
        uint64_t v = 0;
        size_t i = 0;
        while (i < len && is_digit(s[i]))
            v = v * 10 + (uint64_t)(s[i++] - '0');
        if (i == len) {
            *out = v;
            return 0;
        }
    }
    return parse_units(s, len, size_suffixes, out);
}

int units_parse_duration_ns(const char *s, uint64_t *out)
{
    return s ? parse_units(s, strlen(s), duration_suffixes, out) : -1;
}

int units_parse_count(const char *s, uint64_t *out)
{
    return s ? parse_units(s, strlen(s), count_suffixes, out) : -1;
}

/* Decimals that give three significant digits for a value in [1, 1000). */
static int dec3(double v)
{
    if (v < 9.995) return 2;
    if (v < 99.95) return 1;
    return 0;
}

const char *units_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const names[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (!buf || len == 0) return buf;
    if (bytes < 1024) {
        snprintf(buf, len, "%" PRIu64 " B", bytes);
        return buf;
    }
    double v = (double)bytes / 1024.0;
    size_t u = 0;
    while (v >= 1023.95 && u + 1 < sizeof names / sizeof names[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, names[u]);
    return buf;
}

const char *units_format_ns(uint64_t ns, char *buf, size_t len)
{
    static const char *const names[] = {"us", "ms", "s"};
    if (!buf || len == 0) return buf;
    if (ns < 1000) {
        snprintf(buf, len, "%" PRIu64 " ns", ns);
        return buf;
    }
    double v = (double)ns / 1000.0;
    size_t u = 0;
    while (v >= 999.5 && u + 1 < sizeof names / sizeof names[0]) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, len, "%.*f %s", dec3(v), v, names[u]);
    return buf;
}

const char *units_format_count(double v, char *buf, size_t len)
{
    static const char *const names[] = {"k", "M", "G", "T", "P"};
    if (!buf || len == 0) return buf;
    if (!isfinite(v)) {
        snprintf(buf, len, "%f", v); /* "nan", "inf", "-inf" */
        return buf;
    }
    const char *sign = v < 0 ? "-" : "";
    double a = fabs(v);
    if (a < 999.5) {
        int d = a == floor(a) ? 0 : a < 1.0 ? 2 : dec3(a);
        snprintf(buf, len, "%s%.*f", sign, d, a);
        return buf;
    }
    double s = a / 1000.0;
    size_t u = 0;
    while (s >= 999.5 && u + 1 < sizeof names / sizeof names[0]) {
        s /= 1000.0;
        u++;
    }
    snprintf(buf, len, "%s%.*f%s", sign, dec3(s), s, names[u]);
    return buf;
}
