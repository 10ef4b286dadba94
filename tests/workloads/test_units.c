/*
 * test_units.c — units.c: tables of valid and invalid sizes, durations and
 * counts, overflow edges, the length-bounded variant, and formatting.
 */
#include "workloads/units.h"

#include <criterion/criterion.h>
#include <string.h>

struct ok_case {
    const char *in;
    uint64_t want;
};

#define KI 1024ull
#define MI (KI * KI)
#define GI (MI * KI)
#define TI (GI * KI)

static const struct ok_case size_ok[] = {
    {"0", 0},
    {"64", 64},
    {"64B", 64},
    {"64b", 64},
    {"1k", KI},
    {"1K", KI},
    {"1kB", KI},
    {"1KB", KI},
    {"1KiB", KI},
    {"1kib", KI},
    {"64KiB", 64 * KI},
    {"64 KiB", 64 * KI},
    {"1m", MI},
    {"1M", MI},
    {"1MiB", MI},
    {"1MB", MI},
    {"1g", GI},
    {"1G", GI},
    {"1GiB", GI},
    {"1t", TI},
    {"1TiB", TI},
    {"1.5k", 1536},
    {"1.5KiB", 1536},
    {"0.5m", 512 * KI},
    {"1.25g", GI + GI / 4},
    {"1.0001k", 1024}, /* 1024.1024 rounds down */
    {"1.0005k", 1025}, /* 1024.512 rounds up */
    {"2.5", 3},        /* plain bytes round half up */
    {"16777215t", 16777215ull * TI},
    {"18446744073709551615", UINT64_MAX},
    {"007", 7},
};

static const char *const size_bad[] = {
    "",
    "-1",
    "+1",
    " 1",
    "1 ",
    "k",
    "KiB",
    ".5k",
    "1.",
    "1.k",
    "1x",
    "1kk",
    "1iB",
    "1KiBB",
    "1 k B",
    "0x10",
    "1e3",
    "1,5k",
    "nan",
    "inf",
    "1.5.k",
    "1k ",
    "16777216t",
    "18446744073709551616",
    "99999999999999999999999",
    "17179869184g", /* 2^64 */
};

static const struct ok_case dur_ok[] = {
    {"0", 0},
    {"10", 10000000000ull},
    {"10s", 10000000000ull},
    {"500ms", 500000000ull},
    {"100us", 100000ull},
    {"100\xc2\xb5s", 100000ull},
    {"250ns", 250},
    {"2m", 120000000000ull},
    {"2min", 120000000000ull},
    {"1h", 3600000000000ull},
    {"1.5s", 1500000000ull},
    {"0.5ms", 500000ull},
    {"1.5", 1500000000ull},
    {"0.0000000015", 2}, /* 1.5 ns rounds half up */
    {"10 s", 10000000000ull},
    {"10MS", 10000000ull},
    {"18446744073709551615ns", UINT64_MAX},
    {"5124095h", 5124095ull * 3600000000000ull},
};

static const char *const dur_bad[] = {
    "",
    "s",
    "-1s",
    "+1s",
    "10x",
    "10sec",
    "1.s",
    ".5s",
    "1 s ",
    "10 ",
    "1d",
    "10ss",
    "1e3s",
    "ms10",
    "1..5s",
    "10s5",
    "NaN",
    "5124096h",
    "18446744073709551616ns",
    "18446744074s", /* > 2^64 ns */
};

static const struct ok_case count_ok[] = {
    {"0", 0},
    {"950", 950},
    {"10k", 10000},
    {"10K", 10000},
    {"1m", 1000000},
    {"1M", 1000000},
    {"1.5m", 1500000},
    {"1.5M", 1500000},
    {"2g", 2000000000ull},
    {"2G", 2000000000ull},
    {"0.5k", 500},
    {"1.2345k", 1235}, /* 1234.5 rounds up */
    {"3t", 3000000000000ull},
    {"18446744073709551615", UINT64_MAX},
};

static const char *const count_bad[] = {
    "",
    "k",
    "-5",
    "+5",
    "1x",
    "10kb",
    "1KiB",
    "1.",
    ".5",
    "10k ",
    " 10k",
    "1e6",
    "18446744073709551616",
    "18446744073709552k",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void check_ok(int (*fn)(const char *, uint64_t *), const struct ok_case *c, size_t n,
                     const char *what)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0xdeadbeef;
        int rc = fn(c[i].in, &v);
        cr_expect_eq(rc, 0, "%s '%s' should parse", what, c[i].in);
        if (rc == 0)
            cr_expect_eq(v, c[i].want, "%s '%s' = %llu, want %llu", what, c[i].in,
                         (unsigned long long)v, (unsigned long long)c[i].want);
    }
}

static void check_bad(int (*fn)(const char *, uint64_t *), const char *const *c, size_t n,
                      const char *what)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 12345;
        cr_expect_eq(fn(c[i], &v), -1, "%s '%s' should be rejected", what, c[i]);
        cr_expect_eq(v, 12345, "%s '%s': output written on failure", what, c[i]);
    }
}

Test(units, size_valid)
{
    check_ok(units_parse_size, size_ok, N(size_ok), "size");
}

Test(units, size_invalid)
{
    check_bad(units_parse_size, size_bad, N(size_bad), "size");
}

Test(units, duration_valid)
{
    check_ok(units_parse_duration_ns, dur_ok, N(dur_ok), "duration");
}

Test(units, duration_invalid)
{
    check_bad(units_parse_duration_ns, dur_bad, N(dur_bad), "duration");
}

Test(units, count_valid)
{
    check_ok(units_parse_count, count_ok, N(count_ok), "count");
}

Test(units, count_invalid)
{
    check_bad(units_parse_count, count_bad, N(count_bad), "count");
}

Test(units, null_inputs)
{
    uint64_t v;
    cr_expect_eq(units_parse_size(NULL, &v), -1);
    cr_expect_eq(units_parse_duration_ns(NULL, &v), -1);
    cr_expect_eq(units_parse_count(NULL, &v), -1);
    cr_expect_eq(units_parse_size_n(NULL, 3, &v), -1);
    cr_expect_eq(units_parse_size("1k", NULL), -1);
}

Test(units, size_n_stops_at_len)
{
    /* As in "GET /bytes/64k HTTP/1.1": the number is not NUL-terminated. */
    const char *line = "64k HTTP/1.1";
    uint64_t v = 0;
    cr_assert_eq(units_parse_size_n(line, 3, &v), 0);
    cr_expect_eq(v, 64 * KI);
    cr_assert_eq(units_parse_size_n(line, 2, &v), 0);
    cr_expect_eq(v, 64);
    cr_expect_eq(units_parse_size_n(line, 4, &v), -1, "trailing blank inside len");
    cr_expect_eq(units_parse_size_n(line, 0, &v), -1, "empty");
    /* An embedded NUL is not the end of the string. */
    const char nul[] = {'1', 'k', '\0', 'b'};
    cr_expect_eq(units_parse_size_n(nul, 4, &v), -1);
    const char nul2[] = {'1', '\0'};
    cr_expect_eq(units_parse_size_n(nul2, 2, &v), -1);
}

struct fmt_case {
    uint64_t in;
    const char *want;
};

Test(units, format_size)
{
    static const struct fmt_case c[] = {
        {0, "0 B"},
        {64, "64 B"},
        {1023, "1023 B"},
        {1024, "1.0 KiB"},
        {1536, "1.5 KiB"},
        {64 * KI, "64.0 KiB"},
        {MI, "1.0 MiB"},
        {GI + GI / 2, "1.5 GiB"},
        {TI, "1.0 TiB"},
        {MI - 1, "1.0 MiB"}, /* 1023.999 KiB would print as 1024.0 KiB */
        {UINT64_MAX, "16.0 EiB"},
    };
    char buf[32];
    for (size_t i = 0; i < N(c); i++)
        cr_expect_str_eq(units_format_size(c[i].in, buf, sizeof buf), c[i].want, "size %llu",
                         (unsigned long long)c[i].in);
}

Test(units, format_ns)
{
    static const struct fmt_case c[] = {
        {0, "0 ns"},
        {850, "850 ns"},
        {999, "999 ns"},
        {1000, "1.00 us"},
        {12345, "12.3 us"},
        {123456, "123 us"},
        {999999, "1.00 ms"},
        {4560000, "4.56 ms"},
        {1200000000ull, "1.20 s"},
        {60000000000ull, "60.0 s"},
        {3600000000000ull, "3600 s"},
    };
    char buf[32];
    for (size_t i = 0; i < N(c); i++)
        cr_expect_str_eq(units_format_ns(c[i].in, buf, sizeof buf), c[i].want, "ns %llu",
                         (unsigned long long)c[i].in);
}

Test(units, format_count)
{
    static const struct {
        double in;
        const char *want;
    } c[] = {
        {0, "0"},           {950, "950"},     {12.5, "12.5"},     {0.25, "0.25"},
        {1000, "1.00k"},    {45200, "45.2k"}, {999499, "999k"},   {999500, "1.00M"},
        {1230000, "1.23M"}, {2.5e9, "2.50G"}, {-45200, "-45.2k"},
    };
    char buf[32];
    for (size_t i = 0; i < N(c); i++)
        cr_expect_str_eq(units_format_count(c[i].in, buf, sizeof buf), c[i].want, "count %g",
                         c[i].in);
}

Test(units, format_truncates_safely)
{
    char buf[4];
    memset(buf, 'x', sizeof buf);
    units_format_size(GI + GI / 2, buf, sizeof buf);
    cr_expect_str_eq(buf, "1.5");
    units_format_ns(850, buf, sizeof buf);
    cr_expect_str_eq(buf, "850");
    cr_expect_null(units_format_count(1, NULL, 0));
}

Test(units, format_then_parse_roundtrip)
{
    /* What we print for whole units, we can read back. */
    char buf[32];
    uint64_t v;
    cr_assert_eq(units_parse_size(units_format_size(64 * KI, buf, sizeof buf), &v), 0, "%s", buf);
    cr_expect_eq(v, 64 * KI);
    cr_assert_eq(units_parse_size(units_format_size(GI + GI / 2, buf, sizeof buf), &v), 0, "%s",
                 buf);
    cr_expect_eq(v, GI + GI / 2);
    cr_assert_eq(units_parse_duration_ns(units_format_ns(4560000, buf, sizeof buf), &v), 0, "%s",
                 buf);
    cr_expect_eq(v, 4560000);
}
