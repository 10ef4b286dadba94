/*
 * test_spec.c — spec.c: defaults come from the key table, every key accepts
 * good values and rejects bad ones with a message naming key and value,
 * a failed set leaves the spec unchanged, and the cross-field checks.
 */
#include "workloads/spec.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define S(x) (x##ull * 1000000000ull)

static struct wl_spec spec;
static char err[256];

static int set(const char *k, const char *v)
{
    err[0] = '\0';
    return wl_spec_set(&spec, k, v, err, sizeof err);
}

static int validate(void)
{
    err[0] = '\0';
    return wl_spec_validate(&spec, err, sizeof err);
}

Test(spec, defaults)
{
    memset(&spec, 0xa5, sizeof spec);
    wl_spec_defaults(&spec);
    cr_expect_eq(spec.mode, WL_CLOSED);
    cr_expect_str_eq(spec.path, "/bytes/64");
    cr_expect_eq(spec.connections, 64);
    cr_expect_eq(spec.pipeline, 1);
    cr_expect_eq(spec.rate, 0);
    cr_expect_eq(spec.duration_ns, S(10));
    cr_expect_eq(spec.warmup_ns, S(2));
    cr_expect_eq(spec.requests, 0);
    cr_expect_eq(spec.timeout_ns, S(10));
    cr_expect_str_eq(spec.name, "");
    cr_expect_eq(wl_spec_validate(&spec, err, sizeof err), 0, "defaults are valid: %s", err);
}

Test(spec, key_table_rows)
{
    static const char *const want[] = {"mode",     "path",   "connections", "pipeline", "rate",
                                       "duration", "warmup", "requests",    "timeout"};
    size_t n = 0;
    for (const struct wl_key *k = wl_spec_keys; k->key; k++, n++) {
        cr_assert_lt(n, sizeof want / sizeof want[0], "extra key %s", k->key);
        cr_expect_str_eq(k->key, want[n]);
        cr_assert_not_null(k->def, "%s has a default", k->key);
        cr_assert_not_null(k->help, "%s has help", k->key);
        cr_expect_gt(strlen(k->help), 10, "%s help says something", k->key);
        /* Every default parses through the setter (the table is the source of truth). */
        wl_spec_defaults(&spec);
        cr_expect_eq(set(k->key, k->def), 0, "default of %s: %s", k->key, err);
    }
    cr_expect_eq(n, sizeof want / sizeof want[0]);
}

Test(spec, help_mentions_units)
{
    static const struct {
        const char *key, *unit;
    } want[] = {{"duration", "500ms"}, {"warmup", "ms"},    {"timeout", "10s"},
                {"rate", "10k"},       {"requests", "10k"}, {"connections", "1k"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct wl_key *k = wl_spec_keys;
        while (k->key && strcmp(k->key, want[i].key) != 0)
            k++;
        cr_assert_not_null(k->key, "no row for %s", want[i].key);
        cr_expect_not_null(strstr(k->help, want[i].unit), "%s help lacks '%s': %s", k->key,
                           want[i].unit, k->help);
    }
}

struct good {
    const char *k, *v;
    size_t off; /* field offset */
    int width;  /* 4 or 8 bytes, 0 for mode/path */
    uint64_t want;
};

#define F(f) offsetof(struct wl_spec, f)
static const struct good goods[] = {
    {"connections", "1", F(connections), 4, 1},
    {"connections", "100000", F(connections), 4, 100000},
    {"connections", "1k", F(connections), 4, 1000},
    {"connections", "100k", F(connections), 4, 100000},
    {"pipeline", "1", F(pipeline), 4, 1},
    {"pipeline", "16", F(pipeline), 4, 16},
    {"pipeline", "1024", F(pipeline), 4, 1024},
    {"rate", "0", F(rate), 8, 0},
    {"rate", "10k", F(rate), 8, 10000},
    {"rate", "1.5m", F(rate), 8, 1500000},
    {"rate", "2G", F(rate), 8, 2000000000ull},
    {"duration", "0", F(duration_ns), 8, 0},
    {"duration", "30s", F(duration_ns), 8, S(30)},
    {"duration", "500ms", F(duration_ns), 8, 500000000ull},
    {"duration", "2m", F(duration_ns), 8, S(120)},
    {"duration", "1.5s", F(duration_ns), 8, 1500000000ull},
    {"duration", "5", F(duration_ns), 8, S(5)},
    {"warmup", "0", F(warmup_ns), 8, 0},
    {"warmup", "100ms", F(warmup_ns), 8, 100000000ull},
    {"requests", "0", F(requests), 8, 0},
    {"requests", "1", F(requests), 8, 1},
    {"requests", "10k", F(requests), 8, 10000},
    {"timeout", "250us", F(timeout_ns), 8, 250000},
    {"timeout", "1h", F(timeout_ns), 8, 3600ull * S(1)},
};

Test(spec, every_numeric_key_valid)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        wl_spec_defaults(&spec);
        cr_expect_eq(set(goods[i].k, goods[i].v), 0, "%s=%s: %s", goods[i].k, goods[i].v, err);
        uint64_t got;
        if (goods[i].width == 4) {
            uint32_t v32;
            memcpy(&v32, (char *)&spec + goods[i].off, 4);
            got = v32;
        } else {
            memcpy(&got, (char *)&spec + goods[i].off, 8);
        }
        cr_expect_eq(got, goods[i].want, "%s=%s gave %llu", goods[i].k, goods[i].v,
                     (unsigned long long)got);
    }
}

Test(spec, mode_and_path_valid)
{
    static const struct {
        const char *v;
        enum wl_mode m;
    } modes[] = {
        {"closed", WL_CLOSED}, {"cps", WL_CPS}, {"open", WL_OPEN}, {"download", WL_DOWNLOAD}};
    wl_spec_defaults(&spec);
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(set("mode", modes[i].v), 0, "%s", err);
        cr_expect_eq(spec.mode, modes[i].m);
        cr_expect_str_eq(wl_mode_str(modes[i].m), modes[i].v, "wl_mode_str round-trips");
    }
    cr_expect_eq(set("path", "/bytes/1g"), 0, "%s", err);
    cr_expect_str_eq(spec.path, "/bytes/1g");
    cr_expect_eq(set("path", "/"), 0, "%s", err);
    cr_expect_str_eq(spec.path, "/");
    char longest[256];
    memset(longest, 'a', 255);
    longest[0] = '/';
    longest[255] = '\0';
    cr_expect_eq(set("path", longest), 0, "255 bytes fit: %s", err);
    cr_expect_str_eq(spec.path, longest);
}

struct bad {
    const char *k, *v, *why; /* why: a fragment the message must contain */
};

static const struct bad bads[] = {
    {"mode", "", "closed, cps, open or download"},
    {"mode", "Closed", "closed, cps, open or download"},
    {"mode", "openloop", "closed, cps, open or download"},
    {"path", "", "starting with '/'"},
    {"path", "bytes/64", "starting with '/'"},
    {"path", "/a b", "blank or control"},
    {"path", "/a\r\nX: y", "blank or control"},
    {"connections", "0", "1 to 100000"},
    {"connections", "100001", "1 to 100000"},
    {"connections", "1m", "1 to 100000"},
    {"connections", "-1", "1 to 100000"},
    {"connections", "many", "1 to 100000"},
    {"connections", "5000000000", "1 to 100000"}, /* > 2^32: no silent truncation */
    {"pipeline", "0", "1 to 1024"},
    {"pipeline", "1025", "1 to 1024"},
    {"pipeline", "1.5k", "1 to 1024"},
    {"rate", "fast", "requests per second"},
    {"rate", "-5", "requests per second"},
    {"rate", "10 k/s", "requests per second"},
    {"duration", "10x", "expected a duration like 10s or 500ms"},
    {"duration", "-1s", "expected a duration like 10s or 500ms"},
    {"duration", "", "expected a duration like 10s or 500ms"},
    {"duration", "99999999999h", "expected a duration like 10s or 500ms"},
    {"warmup", "2 seconds", "expected a duration like 10s or 500ms"},
    {"requests", "all", "expected a count"},
    {"requests", "1e6", "expected a count"},
    {"timeout", "0", "duration > 0"},
    {"timeout", "0ms", "duration > 0"},
    {"timeout", "soon", "duration"},
};

Test(spec, every_key_invalid_with_message)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        wl_spec_defaults(&spec);
        struct wl_spec before = spec;
        cr_expect_eq(set(bads[i].k, bads[i].v), -1, "%s=%s accepted", bads[i].k, bads[i].v);
        char prefix[300];
        snprintf(prefix, sizeof prefix, "bad value '%s' for '%s': ", bads[i].v, bads[i].k);
        cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "message '%s' for %s=%s", err,
                     bads[i].k, bads[i].v);
        cr_expect_not_null(strstr(err, bads[i].why), "message '%s' lacks '%s'", err, bads[i].why);
        cr_expect_eq(memcmp(&before, &spec, sizeof spec), 0, "%s=%s changed the spec", bads[i].k,
                     bads[i].v);
    }
}

Test(spec, path_too_long)
{
    char p[300];
    memset(p, 'a', sizeof p - 1);
    p[0] = '/';
    p[256] = '\0'; /* 256 bytes: one too many */
    wl_spec_defaults(&spec);
    cr_expect_eq(set("path", p), -1);
    cr_expect_not_null(strstr(err, "for 'path'"), "%s", err);
    cr_expect_not_null(strstr(err, "longer than 255"), "%s", err);
    cr_expect_not_null(strstr(err, "aaa...' for"), "long value shown truncated: %s", err);
    cr_expect_str_eq(spec.path, "/bytes/64");
}

Test(spec, unknown_key)
{
    wl_spec_defaults(&spec);
    cr_expect_eq(set("x", "1"), -1);
    cr_expect_str_eq(err, "unknown key 'x'");
    cr_expect_eq(set("Duration", "1s"), -1, "keys are case-sensitive");
    cr_expect_str_eq(err, "unknown key 'Duration'");
    cr_expect_eq(set("name", "foo"), -1, "name is not a key");
    cr_expect_eq(set("", "1"), -1);
    cr_expect_str_eq(err, "unknown key ''");
}

Test(spec, set_keeps_name_and_other_fields)
{
    wl_spec_defaults(&spec);
    strcpy(spec.name, "small");
    cr_assert_eq(set("connections", "8"), 0);
    cr_assert_eq(set("duration", "1s"), 0);
    cr_expect_str_eq(spec.name, "small");
    cr_expect_eq(spec.connections, 8);
    cr_expect_eq(spec.pipeline, 1);
    cr_expect_eq(spec.warmup_ns, S(2));
}

Test(spec, null_and_small_err_buffers)
{
    wl_spec_defaults(&spec);
    cr_expect_eq(wl_spec_set(&spec, "nope", "1", NULL, 0), -1);
    cr_expect_eq(wl_spec_set(&spec, "mode", NULL, NULL, 0), -1);
    char tiny[8];
    cr_expect_eq(wl_spec_set(&spec, "duration", "zzz", tiny, sizeof tiny), -1);
    cr_expect_str_eq(tiny, "bad val", "truncated, terminated");
    cr_expect_eq(wl_spec_set(&spec, NULL, "1", tiny, sizeof tiny), -1);
}

static void expect_invalid(const char *fragment)
{
    cr_expect_eq(validate(), -1, "should fail with '%s'", fragment);
    cr_expect_not_null(strstr(err, fragment), "message '%s' lacks '%s'", err, fragment);
}

Test(spec, validate_open_needs_rate)
{
    wl_spec_defaults(&spec);
    cr_assert_eq(set("mode", "open"), 0);
    expect_invalid("rate > 0");
    cr_assert_eq(set("rate", "10k"), 0);
    cr_expect_eq(validate(), 0, "%s", err);
}

Test(spec, validate_rate_only_for_open)
{
    static const char *const others[] = {"closed", "cps", "download"};
    for (size_t i = 0; i < 3; i++) {
        wl_spec_defaults(&spec);
        cr_assert_eq(set("mode", others[i]), 0);
        cr_assert_eq(set("rate", "1k"), 0);
        cr_expect_eq(validate(), -1, "mode=%s", others[i]);
        cr_expect_str_eq(err, "rate is only used with mode=open");
    }
}

Test(spec, validate_cps_pipeline)
{
    wl_spec_defaults(&spec);
    cr_assert_eq(set("mode", "cps"), 0);
    cr_expect_eq(validate(), 0, "%s", err);
    cr_assert_eq(set("pipeline", "4"), 0);
    expect_invalid("pipeline=1");
    cr_assert_eq(set("mode", "closed"), 0);
    cr_expect_eq(validate(), 0, "closed loop may pipeline: %s", err);
}

Test(spec, validate_download_needs_an_end)
{
    wl_spec_defaults(&spec);
    cr_assert_eq(set("mode", "download"), 0);
    cr_assert_eq(set("path", "/bytes/1g"), 0);
    cr_expect_eq(validate(), 0, "by duration: %s", err);
    cr_assert_eq(set("duration", "0"), 0);
    expect_invalid("duration > 0 or requests > 0");
    cr_expect_eq(spec.requests, 0, "validate does not modify");
    cr_assert_eq(set("requests", "1"), 0);
    cr_expect_eq(validate(), 0, "by count: %s", err);
}

Test(spec, validate_catches_fields_set_directly)
{
    wl_spec_defaults(&spec);
    spec.connections = 0;
    expect_invalid("connections");
    wl_spec_defaults(&spec);
    spec.pipeline = 5000;
    expect_invalid("pipeline");
    wl_spec_defaults(&spec);
    spec.path[0] = 'x';
    expect_invalid("path");
    wl_spec_defaults(&spec);
    memset(spec.path, '/', sizeof spec.path); /* not terminated */
    expect_invalid("path");
    wl_spec_defaults(&spec);
    spec.mode = (enum wl_mode)7;
    expect_invalid("mode");
    wl_spec_defaults(&spec);
    spec.timeout_ns = 0;
    expect_invalid("timeout");
}

Test(spec, validate_does_not_modify)
{
    wl_spec_defaults(&spec);
    cr_assert_eq(set("mode", "open"), 0); /* invalid: no rate */
    struct wl_spec before = spec;
    validate();
    cr_expect_eq(memcmp(&before, &spec, sizeof spec), 0);
}

Test(spec, mode_str)
{
    cr_expect_str_eq(wl_mode_str(WL_CLOSED), "closed");
    cr_expect_str_eq(wl_mode_str(WL_CPS), "cps");
    cr_expect_str_eq(wl_mode_str(WL_OPEN), "open");
    cr_expect_str_eq(wl_mode_str(WL_DOWNLOAD), "download");
    cr_expect_str_eq(wl_mode_str((enum wl_mode)42), "unknown");
}
