/*
 * test_opts.c — drivers/opts.c: defaults, each type, ranges at both ends,
 * units (sizes k = 1024, counts k = 1000), scale, the error texts (unknown
 * key listing the known ones, missing '=', bad value naming backend, key and
 * value), duplicate keys (the last wins, lists append), several tables and
 * the pass-through of another layer's keys, and the help rows.
 */
#include "drivers/opts.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

struct cfg {
    uint32_t n;
    uint64_t big;
    uint16_t small;
    uint8_t tiny;
    uint32_t sz;
    uint64_t cnt;
    uint64_t ns;
    int flag;
    unsigned mode;
    const char *name;
    const char *word;
    const char *list[3];
    uint32_t nodef;
};

static const char *const modes[] = {"auto", "on", "off", NULL};

static const char *no_x(const char *v)
{
    return strchr(v, 'x') ? "no 'x' in it" : NULL;
}

static const struct opt_def defs[] = {
    {.name = "n", .type = OPT_UINT, .min = 1, .max = 65536, .def = "1024", .help = "a number",
     .off = offsetof(struct cfg, n), .size = sizeof(uint32_t)},
    {.name = "big", .type = OPT_UINT, .max = UINT64_MAX, .def = "0", .help = "any",
     .off = offsetof(struct cfg, big), .size = sizeof(uint64_t)},
    {.name = "small", .type = OPT_UINT, .max = 65535, .def = "7", .help = "u16",
     .off = offsetof(struct cfg, small), .size = sizeof(uint16_t)},
    {.name = "tiny", .type = OPT_UINT, .max = 1000, .def = "3", .help = "u8 field",
     .off = offsetof(struct cfg, tiny), .size = sizeof(uint8_t)},
    {.name = "sz", .type = OPT_SIZE, .min = 4096, .max = 1u << 30, .def = "256k",
     .help = "bytes", .off = offsetof(struct cfg, sz), .size = sizeof(uint32_t)},
    {.name = "cnt", .type = OPT_COUNT, .max = 10000000, .def = "10k", .help = "things",
     .off = offsetof(struct cfg, cnt), .size = sizeof(uint64_t)},
    {.name = "ms", .type = OPT_UINT, .max = 0xffffffffull, .def = "1000", .help = "ms",
     .off = offsetof(struct cfg, ns), .size = sizeof(uint64_t), .scale = 1000000},
    {.name = "flag", .type = OPT_BOOL, .def = "1", .help = "0|1",
     .off = offsetof(struct cfg, flag), .size = sizeof(int)},
    {.name = "mode", .type = OPT_ENUM, .def = "auto", .choices = modes, .help = "how",
     .off = offsetof(struct cfg, mode), .size = sizeof(unsigned)},
    {.name = "name", .type = OPT_STR, .min = 1, .max = 15, .help = "a name",
     .off = offsetof(struct cfg, name), .size = sizeof(const char *)},
    {.name = "word", .type = OPT_STR, .check = no_x, .def = "w", .help = "checked",
     .off = offsetof(struct cfg, word), .size = sizeof(const char *)},
    {.name = "item", .type = OPT_LIST, .min = 1, .help = "repeatable",
     .off = offsetof(struct cfg, list), .size = sizeof(((struct cfg *)0)->list)},
    {.name = "nodef", .type = OPT_UINT, .max = 10, .help = "caller's default",
     .off = offsetof(struct cfg, nodef), .size = sizeof(uint32_t)},
    OPT_END,
};

static char err[512];

static int parse(struct cfg *c, const char *const *kv)
{
    memset(c, 0xa5, sizeof(*c));
    c->nodef = 9;
    struct opt_set set = {defs, c};
    err[0] = '\0';
    return opts_parse("test", kv, &set, 1, NULL, err, sizeof(err));
}

static void ok(struct cfg *c, const char *opt)
{
    const char *kv[] = {opt, NULL};
    cr_assert_eq(parse(c, kv), 0, "%s refused: %s", opt, err);
}

static void bad(const char *opt, const char *needle)
{
    struct cfg c;
    const char *kv[] = {opt, NULL};
    cr_assert_eq(parse(&c, kv), -1, "%s accepted", opt);
    cr_assert(strstr(err, needle), "%s: err '%s' lacks '%s'", opt, err, needle);
}

Test(opts, defaults_fill_every_row_with_one)
{
    struct cfg c;
    cr_assert_eq(parse(&c, NULL), 0, "%s", err);
    cr_assert_eq(c.n, 1024);
    cr_assert_eq(c.big, 0);
    cr_assert_eq(c.small, 7);
    cr_assert_eq(c.tiny, 3);
    cr_assert_eq(c.sz, 256 * 1024);
    cr_assert_eq(c.cnt, 10000);
    cr_assert_eq(c.ns, 1000000000ull);
    cr_assert_eq(c.flag, 1);
    cr_assert_eq(c.mode, 0);
    cr_assert_str_eq(c.word, "w");
    cr_assert_null(c.list[0]);
    cr_assert_eq(c.nodef, 9, "a row without default keeps the caller's value");
    cr_assert_eq(c.name, (const char *)(uintptr_t)0xa5a5a5a5a5a5a5a5ull, "name has no default");
    const char *empty[] = {NULL};
    cr_assert_eq(parse(&c, empty), 0);
}

Test(opts, uint_ranges_at_both_ends)
{
    struct cfg c;
    ok(&c, "n=1");
    cr_assert_eq(c.n, 1);
    ok(&c, "n=65536");
    cr_assert_eq(c.n, 65536);
    bad("n=0", "test: bad value '0' for n: expected 1..65536");
    bad("n=65537", "bad value '65537' for n");
    bad("n=", "bad value '' for n");
    bad("n=-1", "for n");
    bad("n=+1", "for n");
    bad("n= 1", "for n");
    bad("n=1k", "for n"); /* OPT_UINT takes no unit */
    bad("n=0x10", "for n");
    ok(&c, "big=18446744073709551615");
    cr_assert_eq(c.big, UINT64_MAX);
    bad("big=18446744073709551616", "for big"); /* overflow */
    ok(&c, "small=65535");
    cr_assert_eq(c.small, 65535);
    bad("small=65536", "for small");
    bad("tiny=256", "for tiny"); /* within max, but not within the u8 field */
    ok(&c, "tiny=255");
    cr_assert_eq(c.tiny, 255);
    ok(&c, "nodef=0");
    cr_assert_eq(c.nodef, 0);
}

Test(opts, sizes_are_binary_counts_decimal)
{
    struct cfg c;
    ok(&c, "sz=4096");
    cr_assert_eq(c.sz, 4096);
    ok(&c, "sz=4k");
    cr_assert_eq(c.sz, 4096);
    ok(&c, "sz=64K");
    cr_assert_eq(c.sz, 65536);
    ok(&c, "sz=1m");
    cr_assert_eq(c.sz, 1u << 20);
    ok(&c, "sz=1g");
    cr_assert_eq(c.sz, 1u << 30);
    bad("sz=4095", "expected 4k..1g");
    bad("sz=1025m", "for sz");
    bad("sz=3k", "k = 1024");
    bad("sz=1q", "for sz");
    ok(&c, "cnt=10k");
    cr_assert_eq(c.cnt, 10000);
    ok(&c, "cnt=1.5m");
    cr_assert_eq(c.cnt, 1500000);
    ok(&c, "cnt=0");
    cr_assert_eq(c.cnt, 0);
    ok(&c, "cnt=10m");
    cr_assert_eq(c.cnt, 10000000);
    bad("cnt=10000001", "k = 1000");
}

Test(opts, scale_turns_ms_into_ns)
{
    struct cfg c;
    ok(&c, "ms=5");
    cr_assert_eq(c.ns, 5000000ull);
    ok(&c, "ms=0");
    cr_assert_eq(c.ns, 0);
    ok(&c, "ms=4294967295");
    cr_assert_eq(c.ns, 4294967295ull * 1000000ull);
}

Test(opts, bool_enum_string)
{
    struct cfg c;
    ok(&c, "flag=0");
    cr_assert_eq(c.flag, 0);
    ok(&c, "flag=1");
    cr_assert_eq(c.flag, 1);
    bad("flag=2", "bad value '2' for flag: expected 0 or 1");
    bad("flag=yes", "for flag");
    ok(&c, "mode=off");
    cr_assert_eq(c.mode, 2);
    bad("mode=maybe", "bad value 'maybe' for mode: expected auto|on|off");
    ok(&c, "name=eth0");
    cr_assert_str_eq(c.name, "eth0");
    ok(&c, "name=123456789012345");
    bad("name=1234567890123456", "expected 1..15 characters");
    bad("name=", "for name");
    ok(&c, "word=");
    cr_assert_str_eq(c.word, "");
    bad("word=axb", "bad value 'axb' for word: expected no 'x' in it");
}

Test(opts, list_appends_up_to_its_slots)
{
    struct cfg c;
    const char *kv[] = {"item=a", "item=b", "item=c", NULL};
    cr_assert_eq(parse(&c, kv), 0, "%s", err);
    cr_assert_str_eq(c.list[0], "a");
    cr_assert_str_eq(c.list[1], "b");
    cr_assert_str_eq(c.list[2], "c");
    const char *four[] = {"item=a", "item=b", "item=c", "item=d", NULL};
    cr_assert_eq(parse(&c, four), -1);
    cr_assert(strstr(err, "bad value 'd' for item: at most 3"), "%s", err);
    bad("item=", "for item");
}

Test(opts, duplicate_keys_the_last_wins)
{
    struct cfg c;
    const char *kv[] = {"n=5", "mode=on", "n=6", "name=a", "name=b", NULL};
    cr_assert_eq(parse(&c, kv), 0, "%s", err);
    cr_assert_eq(c.n, 6);
    cr_assert_str_eq(c.name, "b");
    cr_assert_eq(c.mode, 1);
}

Test(opts, unknown_key_and_missing_equals_list_the_known)
{
    bad("colour=blue", "test: unknown option 'colour' (known: n, big, small, tiny, sz, cnt, ms, "
                       "flag, mode, name, word, item, nodef)");
    bad("n", "test: option 'n' is not key=value (known: n, big,");
    bad("=1", "unknown option ''");
    /* the value is everything after the first '=' */
    bad("name=a=b=c=d=e=f=g=hi", "expected 1..15");
    struct cfg c;
    ok(&c, "word=a=b");
    cr_assert_str_eq(c.word, "a=b");
}

Test(opts, known_list_is_cut_to_the_buffer)
{
    struct cfg c;
    memset(&c, 0, sizeof(c));
    struct opt_set set = {defs, &c};
    const char *kv[] = {"colour=blue", NULL};
    char small[40];
    cr_assert_eq(opts_parse("test", kv, &set, 1, NULL, small, sizeof(small)), -1);
    cr_assert_lt(strlen(small), sizeof(small));
    cr_assert(strncmp(small, "test: unknown option 'colour'", 29) == 0, "%s", small);
}

static const struct opt_def other[] = {
    {.name = "rxd", .type = OPT_UINT, .min = 1, .max = 4096, .def = "512", .help = "descs",
     .off = 0, .size = sizeof(uint32_t)},
    {.name = "port", .type = OPT_STR, .min = 1, .help = "port", .off = 8,
     .size = sizeof(const char *)},
    OPT_END,
};

Test(opts, several_tables_and_the_rest_for_the_next_layer)
{
    struct cfg c;
    memset(&c, 0, sizeof(c));
    struct opt_set sets[] = {{defs, &c}, {other, NULL}};
    const char *kv[] = {"rxd=128", "n=3", "port=net_ring0", NULL};
    const char *rest[4];
    cr_assert_eq(opts_parse("both", kv, sets, 2, rest, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(rest[0], "rxd=128");
    cr_assert_str_eq(rest[1], "port=net_ring0");
    cr_assert_null(rest[2]);
    /* a key of the next layer is checked here too */
    const char *b[] = {"rxd=0", NULL};
    cr_assert_eq(opts_parse("both", b, sets, 2, rest, err, sizeof(err)), -1);
    cr_assert(strstr(err, "both: bad value '0' for rxd: expected 1..4096"), "%s", err);
    const char *u[] = {"nope=1", NULL};
    cr_assert_eq(opts_parse("both", u, sets, 2, rest, err, sizeof(err)), -1);
    cr_assert(strstr(err, "item, nodef, rxd, port)"), "the known keys of both tables: %s", err);
}

Test(opts, lookup_value_and_uint)
{
    cr_assert_eq(opts_lookup(defs, "sz=1", 2), &defs[4]);
    cr_assert_null(opts_lookup(defs, "s", 1));
    const char *kv[] = {"vdev=a", "eal=x", "vdev=b", "vdevx=c", NULL};
    cr_assert_str_eq(opts_value(kv, "vdev", 0), "a");
    cr_assert_str_eq(opts_value(kv, "vdev", -1), "b");
    cr_assert_null(opts_value(kv, "port", 0));
    cr_assert_null(opts_value(NULL, "port", 0));
    uint64_t x;
    cr_assert_eq(opts_uint("42", 0, 42, &x), 0);
    cr_assert_eq(x, 42);
    cr_assert_eq(opts_uint("43", 0, 42, &x), -1);
    cr_assert_eq(opts_uint("", 0, 42, &x), -1);
}

Test(opts, help_rows)
{
    char buf[256], r[64];
    cr_assert_str_eq(opt_range(&defs[0], r, sizeof(r)), "1..65536");
    cr_assert_str_eq(opt_range(&defs[1], r, sizeof(r)), "0..");
    cr_assert_str_eq(opt_range(&defs[4], r, sizeof(r)), "4k..1g");
    cr_assert_str_eq(opt_range(&defs[5], r, sizeof(r)), "0..10m");
    cr_assert_str_eq(opt_range(&defs[7], r, sizeof(r)), "0|1");
    cr_assert_str_eq(opt_range(&defs[8], r, sizeof(r)), "auto|on|off");
    cr_assert_str_eq(opt_range(&defs[9], r, sizeof(r)), "1..15 chars");
    cr_assert_str_eq(opt_range(&defs[11], r, sizeof(r)), "text, repeat");
    opt_format(&defs[4], buf, sizeof(buf));
    cr_assert(strstr(buf, "sz") == buf && strstr(buf, "4k..1g") && strstr(buf, "256k") &&
                  strstr(buf, "bytes"),
              "'%s'", buf);
    opt_format(&defs[12], buf, sizeof(buf));
    cr_assert(strstr(buf, " - ") && strstr(buf, "caller's default"), "'%s'", buf);
    struct cfg c;
    ok(&c, "small=9");
    cr_assert_eq(opt_get_uint(&defs[2], &c), 9);
}
