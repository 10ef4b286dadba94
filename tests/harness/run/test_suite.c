/*
 * test_suite.c — suite files (harness/run/suite.c): a full suite round-trips,
 * sections in any order with workload defaults inherited from [suite], every
 * error refused with the exact "FILE:LINE:" prefix and naming the key/value,
 * --drivers override, quick mode, the content hash, the help text.
 */
#include "harness/run/suite.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S(x) (x##ull * 1000000000ull)
#define MS(x) (x##ull * 1000000ull)

static struct suite *load_ok(const char *text)
{
    static struct suite s; /* large: keep it off the stack */
    char err[1024] = "";
    int rc = suite_load_string(text, "t.ini", &s, err, sizeof err);
    cr_assert_eq(rc, 0, "load failed: %s", err);
    return &s;
}

/* Expects failure with err starting with prefix and containing each of a, b. */
static void expect_err(const char *text, const char *prefix, const char *a, const char *b)
{
    static struct suite s;
    char err[1024] = "";
    int rc = suite_load_string(text, "t.ini", &s, err, sizeof err);
    cr_assert_eq(rc, -1, "accepted, expected an error starting '%s'", prefix);
    cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "'%s' does not start with '%s'", err,
                 prefix);
    if (a) cr_expect(strstr(err, a) != NULL, "'%s' does not name '%s'", err, a);
    if (b) cr_expect(strstr(err, b) != NULL, "'%s' does not name '%s'", err, b);
    cr_expect_eq(s.ndopts, 0, "driver options left after failure");
}

static const char full[] = "; every key\n"
                           "[suite]\n"
                           "name = full suite\n"
                           "drivers = kernel\n"
                           "repeats = 7\n"
                           "link = veth\n"
                           "dut_cpu = 3\n"
                           "gen_cpu = -1\n"
                           "rps = on\n"
                           "port = 9090\n"
                           "duration = 3s\n"
                           "warmup = 500ms   ; inline comment\n"
                           "timeout = 2s\n"
                           "idle_timeout = 30s\n"
                           "capture = off\n"
                           "\n"
                           "[workload small]\n"
                           "mode = closed\n"
                           "path = /bytes/64\n"
                           "connections = 16\n"
                           "pipeline = 4\n"
                           "rate = 0\n"
                           "duration = 2s\n"
                           "warmup = 100ms\n"
                           "requests = 0\n"
                           "timeout = 1s\n"
                           "\n"
                           "[workload open_1k]\n"
                           "mode = open\n"
                           "rate = 1k\n"
                           "path = /bytes/1k\n"
                           "\n"
                           "[driver kernel]\n"
                           "busy_poll = 1\n"
                           "rx_buf = 64k\n";

Test(suite, full_round_trip)
{
    struct suite *s = load_ok(full);
    cr_expect_str_eq(s->path, "t.ini");
    cr_expect_str_eq(s->name, "full suite");
    cr_expect_eq(strlen(s->hash), 16);
    cr_assert_eq(s->ndrivers, 1);
    cr_expect_str_eq(s->drivers[0], "kernel");
    cr_expect_eq(s->repeats, 7);
    cr_expect_str_eq(s->link, "veth");
    cr_expect_eq(s->dut_cpu, 3);
    cr_expect_eq(s->gen_cpu, -1);
    cr_expect_eq(s->rps, 1);
    cr_expect_eq(s->capture, 0);
    cr_expect_eq(s->port, 9090);
    cr_expect_eq(s->duration_ns, S(3));
    cr_expect_eq(s->warmup_ns, MS(500));
    cr_expect_eq(s->timeout_ns, S(2));
    cr_expect_eq(s->idle_timeout_ns, S(30));
    cr_assert_eq(s->nworkloads, 2);

    const struct wl_spec *w = &s->workloads[0];
    cr_expect_str_eq(w->name, "small");
    cr_expect_eq(w->mode, WL_CLOSED);
    cr_expect_str_eq(w->path, "/bytes/64");
    cr_expect_eq(w->connections, 16);
    cr_expect_eq(w->pipeline, 4);
    cr_expect_eq(w->rate, 0);
    cr_expect_eq(w->duration_ns, S(2));
    cr_expect_eq(w->warmup_ns, MS(100));
    cr_expect_eq(w->requests, 0);
    cr_expect_eq(w->timeout_ns, S(1));

    w = &s->workloads[1];
    cr_expect_str_eq(w->name, "open_1k");
    cr_expect_eq(w->mode, WL_OPEN);
    cr_expect_eq(w->rate, 1000);
    cr_expect_str_eq(w->path, "/bytes/1k");
    cr_expect_eq(w->duration_ns, S(3), "inherits [suite] duration");
    cr_expect_eq(w->warmup_ns, MS(500), "inherits [suite] warmup");
    cr_expect_eq(w->timeout_ns, S(2), "inherits [suite] timeout");

    const char *const *o = suite_driver_opts(s, "kernel");
    cr_assert_not_null(o);
    cr_expect_str_eq(o[0], "busy_poll=1");
    cr_expect_str_eq(o[1], "rx_buf=64k");
    cr_expect_null(o[2]);
    cr_expect_null(suite_driver_opts(s, "dpdk"));
    suite_free(s);
    cr_expect_null(suite_driver_opts(s, "kernel"));
    suite_free(s); /* twice is fine */
}

Test(suite, any_order_and_inherited_defaults)
{
    struct suite *s = load_ok("[driver kernel]\n"
                              "x = 1\n"
                              "[workload b]\n"
                              "warmup = 0\n"
                              "[workload a]\n"
                              "timeout = 3s\n"
                              "[suite]\n"
                              "duration = 7s\n"
                              "warmup = 2s\n");
    cr_assert_eq(s->nworkloads, 2);
    cr_expect_str_eq(s->workloads[0].name, "b");
    cr_expect_eq(s->workloads[0].duration_ns, S(7), "[suite] after the workload still applies");
    cr_expect_eq(s->workloads[0].warmup_ns, 0, "explicit warmup = 0 kept");
    cr_expect_eq(s->workloads[0].timeout_ns, S(10));
    cr_expect_str_eq(s->workloads[1].name, "a");
    cr_expect_eq(s->workloads[1].duration_ns, S(7));
    cr_expect_eq(s->workloads[1].warmup_ns, S(2));
    cr_expect_eq(s->workloads[1].timeout_ns, S(3));
    suite_free(s);
}

Test(suite, documented_defaults_without_suite_section)
{
    static struct suite s;
    char err[512] = "";
    cr_assert_eq(suite_load_string("[workload a]\n", "dir/my-suite.ini", &s, err, sizeof err), 0,
                 "%s", err);
    cr_expect_str_eq(s.name, "my-suite", "name defaults to the file name");
    cr_expect_eq(s.ndrivers, 1);
    cr_expect_str_eq(s.drivers[0], "kernel");
    cr_expect_eq(s.repeats, 6, "the fewest repeats whose interval of the median reaches 95%%");
    cr_expect_str_eq(s.link, "veth");
    cr_expect_eq(s.dut_cpu, 1);
    cr_expect_eq(s.gen_cpu, 0);
    cr_expect_eq(s.rps, 0);
    cr_expect_eq(s.port, 8080);
    cr_expect_eq(s.duration_ns, S(5));
    cr_expect_eq(s.warmup_ns, S(1));
    cr_expect_eq(s.timeout_ns, S(10));
    cr_expect_eq(s.idle_timeout_ns, S(60));
    cr_expect_eq(s.capture, 0);
    cr_expect_eq(s.dut, SUITE_DUT_SERVER, "the server is the DUT unless the suite says");
    cr_expect_eq(s.server, SUITE_SERVER_OURS);
    cr_expect_eq(s.workloads[0].duration_ns, S(5));
    cr_expect_eq(s.workloads[0].warmup_ns, S(1));
    cr_expect_eq(s.workloads[0].connections, 64, "wl_spec defaults for the rest");
    suite_free(&s);
}

Test(suite, crlf_bom_and_colon_separator)
{
    struct suite *s = load_ok("\xEF\xBB\xBF[suite]\r\nrepeats: 2\r\n\r\n[workload a]\r\n"
                              "  ; indented comment\r\npath = /x;y\r\n");
    cr_expect_eq(s->repeats, 2);
    cr_expect_str_eq(s->workloads[0].path, "/x;y", "';' without a blank before is not a comment");
    suite_free(s);
}

/* The twelve errors the brief names, then a few more. */
Test(suite_errors, unknown_key_in_suite)
{
    expect_err("[suite]\nbogus = 1\n[workload a]\n", "t.ini:2: ", "bogus", "[suite]");
}

Test(suite_errors, unknown_key_in_workload)
{
    expect_err("[workload a]\nmode = closed\nconections = 4\n", "t.ini:3: ", "conections",
               "[workload a]");
}

Test(suite_errors, bad_duration)
{
    expect_err("[suite]\nduration = 5parsecs\n[workload a]\n", "t.ini:2: ", "'5parsecs'",
               "'duration'");
    expect_err("[workload a]\n\nduration = ten\n", "t.ini:3: ", "'ten'", "'duration'");
    expect_err("[suite]\nduration = 0\n[workload a]\n", "t.ini:2: ", "'0'", "'duration'");
}

Test(suite_errors, bad_mode)
{
    expect_err("[workload a]\nmode = turbo\n", "t.ini:2: ", "'turbo'", "'mode'");
}

Test(suite_errors, unknown_driver_in_drivers)
{
    expect_err("[suite]\ndrivers = kernel, dpdkk\n[workload a]\n", "t.ini:2: ", "'dpdkk'",
               "drivers");
    expect_err("[suite]\ndrivers = kernel,,kernel\n[workload a]\n", "t.ini:2: ", "empty", NULL);
    expect_err("[suite]\ndrivers = kernel,kernel\n[workload a]\n", "t.ini:2: ", "twice", NULL);
}

Test(suite_errors, unknown_driver_section)
{
    expect_err("[workload a]\n[driver nosuch]\nx = 1\n", "t.ini:2: ", "nosuch", "driver");
}

Test(suite_errors, duplicate_workload)
{
    expect_err("[workload a]\n\n[workload a]\n", "t.ini:3: ", "duplicate", "line 1");
}

Test(suite_errors, bad_workload_name)
{
    expect_err("[suite]\n[workload Big]\n", "t.ini:2: ", "'Big'", NULL);
    expect_err("[workload a.b]\n", "t.ini:1: ", "'a.b'", NULL);
    expect_err("[workload]\n", "t.ini:1: ", "needs a name", NULL);
}

Test(suite_errors, no_workloads)
{
    expect_err("[suite]\nrepeats = 2\n", "t.ini:2: ", "no workloads", NULL);
    expect_err("", "t.ini:1: ", "no workloads", NULL);
}

Test(suite_errors, open_mode_without_rate)
{
    expect_err("[suite]\n\n[workload ol]\nmode = open\n", "t.ini:3: ", "[workload ol]", "rate");
}

Test(suite_errors, repeats_zero)
{
    expect_err("[suite]\nrepeats = 0\n[workload a]\n", "t.ini:2: ", "'0'", "'repeats'");
    expect_err("[suite]\nrepeats = 1001\n[workload a]\n", "t.ini:2: ", "'1001'", "'repeats'");
    expect_err("[suite]\nrepeats = 3x\n[workload a]\n", "t.ini:2: ", "'3x'", "'repeats'");
}

Test(suite_errors, rps_maybe)
{
    expect_err("[suite]\nrps = maybe\n[workload a]\n", "t.ini:2: ", "'maybe'", "'rps'");
}

Test(suite_errors, missing_file)
{
    static struct suite s;
    char err[512] = "";
    cr_assert_eq(suite_load("/nonexistent/x.ini", &s, err, sizeof err), -1);
    cr_expect_str_eq(err, "/nonexistent/x.ini: cannot open: No such file or directory");
}

Test(suite_errors, more)
{
    expect_err("[workload a]\n[bogus]\n", "t.ini:2: ", "[bogus]", NULL);
    expect_err("name = x\n[workload a]\n", "t.ini:1: ", "'name'", "before any section");
    expect_err("[suite]\nport = 1\nport = 2\n[workload a]\n", "t.ini:3: ", "duplicate key 'port'",
               "line 2");
    expect_err("[suite]\nname = x\n  repeats = 3\n[workload a]\n", "t.ini:3: ", "indented",
               NULL);
    expect_err("[suite\n[workload a]\n", "t.ini:1: ", "']'", NULL);
    expect_err("[workload a]\njust words\n", "t.ini:2: ", "key = value", NULL);
    expect_err("[suite]\nport = 70000\n[workload a]\n", "t.ini:2: ", "'70000'", "'port'");
    expect_err("[suite]\nlink = wire\n[workload a]\n", "t.ini:2: ", "'wire'", "'link'");
    /* tap and ring are DPDK links; a driver@link pair is checked too */
    expect_err("[suite]\ndrivers = kernel@ring\n[workload a]\n", "t.ini:2: ", "ring", "kernel");
    expect_err("[suite]\ndrivers = afpacket@xdp\n[workload a]\n", "t.ini:2: ", "xdp", "afpacket");
    expect_err("[suite]\ndrivers = dpdk@moon\n[workload a]\n", "t.ini:2: ", "moon", NULL);
    expect_err("[suite]\ndut_cpu = -2\n[workload a]\n", "t.ini:2: ", "'-2'", "'dut_cpu'");
    expect_err("[suite]\n[suite]\n[workload a]\n", "t.ini:2: ", "duplicate [suite]", NULL);
    expect_err("[workload a]\n[driver kernel]\n[driver kernel]\n", "t.ini:3: ", "duplicate", NULL);
    expect_err("[workload a]\nmode = cps\npipeline = 2\n", "t.ini:1: ", "[workload a]",
               "pipeline");
    char longline[400];
    snprintf(longline, sizeof longline, "[workload a]\npath = /%0300d\n", 0);
    expect_err(longline, "t.ini:2: ", "too long", NULL);
    char many[4096] = "[workload a]\n[driver kernel]\n";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "k%d = v\n", i);
    expect_err(many, "t.ini:35: ", "too many options", NULL);
}

/* Edges of the ini grammar (inih's, plus what suite.c refuses on top of it). */
Test(suite_errors, ini_edges)
{
    /* line numbers count blank and comment lines, ';' and '#', indented or not */
    expect_err("[workload a]\n\n; c\n# d\n\n  ; e\nbogus = 1\n", "t.ini:7: ", "'bogus'", NULL);
    expect_err("; c\n\n# d\nkey = 1\n[workload a]\n", "t.ini:4: ", "'key'", "before any section");
    expect_err("\xEF\xBB\xBFname = x\n[workload a]\n", "t.ini:1: ", "'name'", "before any section");
    expect_err("[workload a]\r\n\r\nbogus = 1\r\n", "t.ini:3: ", "'bogus'", NULL);
    /* the first error wins, even one inih itself finds */
    expect_err("[suite\nbogus = 1\n[workload a]\n", "t.ini:1: ", "']'", NULL);
    expect_err("[workload a]\njust words\nbogus = 1\n", "t.ini:2: ", "key = value", NULL);
    expect_err("[workload a]\npath\n", "t.ini:2: ", "key = value", NULL);
    /* headers */
    expect_err("[suite] junk\n[workload a]\n", "t.ini:1: ", "after ']'", "'junk'");
    expect_err("[workload a]]\n", "t.ini:1: ", "after ']'", NULL);
    expect_err("[a ;b]\n[workload a]\n", "t.ini:1: ", "']'", NULL);
    expect_err("[workload a;b]\n", "t.ini:1: ", "'a;b'", NULL);
    expect_err("[]\n[workload a]\n", "t.ini:1: ", "unknown section []", NULL);
    expect_err("[suite]\nrepeats = 3\n[suite]\n[workload a]\n", "t.ini:3: ", "duplicate [suite]",
               "line 1");
    expect_err("[workload a]\n[workload a]\n", "t.ini:2: ", "duplicate", "line 1");
    /* a workload name is longer than inih's section buffer (49 characters) */
    char hdr[128];
    snprintf(hdr, sizeof hdr, "[workload %064d]\n", 0);
    expect_err(hdr,
               "t.ini:1: ", "'0000000000000000000000000000000000000000000000000000000000000000'",
               "at most 63");
    /* indentation: a continuation in inih, refused; fine after a header */
    expect_err("[workload a]\npath = /a\n  just words\n", "t.ini:3: ", "indented", NULL);
    expect_err("[workload a]\npath = /a\n  [workload b]\n", "t.ini:3: ", "indented", NULL);
    expect_err("[workload a]\npath = /a\n\n\tmode = open\n", "t.ini:4: ", "indented", NULL);
    /* keys */
    expect_err("[workload a]\n= 5\n", "t.ini:2: ", "missing key name before '='", NULL);
    expect_err("[workload a]\n  : 5\n", "t.ini:2: ", "missing key name before ':'", NULL);
    expect_err("[workload a]\n[driver kernel]\n"
               "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij = 1\n",
               "t.ini:3: ", "too long", "at most 49");
    expect_err("[workload a]\npath = /a\npath: /b\n", "t.ini:3: ", "duplicate key 'path'",
               "line 2");
    /* a line of 200 bytes is too long for inih (199 is fine, see below) */
    char longline[256];
    snprintf(longline, sizeof longline, "[workload a]\n\npath = /%0192d\n", 0);
    expect_err(longline, "t.ini:3: ", "too long (200 bytes, at most 199)", NULL);
}

Test(suite, ini_edges_accepted)
{
    char name63[128], line199[256];
    snprintf(name63, sizeof name63, "[workload %063d]\n", 0);
    snprintf(line199, sizeof line199, "path = /%0191d\n", 0);
    char text[1024];
    snprintf(text, sizeof text,
             "\xEF\xBB\xBF  [suite] ; header comment\n"
             "  name = a;b ; indented right after a header, ';' kept without a blank before\n"
             "repeats = 2\n"
             "  ; an indented comment after a key\n"
             "[ workload   b ] # comment\n"
             "[driver kernel]\n"
             "[workload c] ;x]\n"
             "%s"
             "%s",
             line199, name63);
    struct suite *s = load_ok(text);
    cr_expect_str_eq(s->name, "a;b");
    cr_expect_eq(s->repeats, 2);
    cr_assert_eq(s->nworkloads, 3, "empty sections still count");
    cr_expect_str_eq(s->workloads[0].name, "b");
    cr_expect_str_eq(s->workloads[1].name, "c");
    cr_expect_eq(strlen(s->workloads[1].path), 192, "a 199-byte line");
    cr_expect_eq(strlen(s->workloads[2].name), 63);
    cr_expect_eq(s->ndopts, 1);
    cr_expect_null(suite_driver_opts(s, "kernel"), "[driver kernel] without options");
    suite_free(s);
}

Test(suite, load_file_and_hash)
{
    char dir[] = "/tmp/bb_suite_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/my.ini", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(full, f);
    fclose(f);

    static struct suite a, b;
    char err[512] = "";
    cr_assert_eq(suite_load(path, &a, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(a.path, path);
    cr_expect_str_eq(a.name, "full suite");
    cr_assert_eq(suite_load_string(full, "other", &b, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(a.hash, b.hash, "same bytes, same hash");
    suite_free(&a);
    suite_free(&b);

    /* FNV-1a 64 of "[workload a]\n", computed independently. */
    cr_assert_eq(suite_load_string("[workload a]\n", "h", &a, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(a.hash, "5bb30b3750cef8db");
    cr_assert_eq(suite_load_string("[workload a]\n;\n", "h", &b, err, sizeof err), 0, "%s", err);
    cr_expect_str_neq(a.hash, b.hash, "a comment changes the hash");

    unlink(path);
    rmdir(dir);
    /* A directory is not a suite file. */
    cr_expect_eq(suite_load("/tmp", &a, err, sizeof err), -1);
    cr_expect_eq(strncmp(err, "/tmp: ", 6), 0, "%s", err);
}

Test(suite, drivers_override)
{
    struct suite *s = load_ok("[workload a]\n");
    char err[512] = "";
    cr_expect_eq(suite_set_drivers(s, " kernel ", err, sizeof err), 0, "%s", err);
    cr_expect_eq(s->ndrivers, 1);
    cr_expect_str_eq(s->drivers[0], "kernel");

    cr_expect_eq(suite_set_drivers(s, "kernel,nosuch", err, sizeof err), -1);
    cr_expect(strstr(err, "'nosuch'") != NULL, "%s", err);
    cr_expect(strstr(err, "known: kernel") != NULL, "%s", err);
    cr_expect_eq(s->ndrivers, 1, "unchanged on error");
    cr_expect_str_eq(s->drivers[0], "kernel");

    cr_expect_eq(suite_set_drivers(s, "", err, sizeof err), -1);
    cr_expect(strstr(err, "no driver") != NULL, "%s", err);
    cr_expect_eq(suite_set_drivers(s, "kernel,kernel", err, sizeof err), -1);
    cr_expect(strstr(err, "twice") != NULL, "%s", err);
    suite_free(s);
}

/* NAME+VARIANT: a row of its own, the base driver, the variant's section */
Test(suite, driver_variants)
{
    struct suite *s = load_ok("[suite]\ndrivers = kernel, kernel+busypoll\n[workload a]\n"
                              "[driver kernel]\nbusy_poll_budget = 8\n"
                              "[driver kernel+busypoll]\nbusy_poll = 50\n");
    cr_expect_eq(s->ndrivers, 2);
    cr_expect_str_eq(s->drivers[1], "kernel+busypoll");
    const char *const *o = suite_driver_opts(s, "kernel+busypoll");
    cr_assert_not_null(o);
    cr_expect_str_eq(o[0], "busy_poll=50");
    char base[32];
    suite_driver_base("kernel+busypoll", base, sizeof base);
    cr_expect_str_eq(base, "kernel");
    char err[512] = "";
    cr_expect_eq(suite_set_drivers(s, "kernel+busypoll,kernel", err, sizeof err), 0, "%s", err);
    cr_expect_eq(suite_set_drivers(s, "kernel+other", err, sizeof err), -1);
    cr_expect(strstr(err, "'kernel+other' has no [driver") != NULL, "%s", err);
    cr_expect_str_eq(s->drivers[0], "kernel+busypoll", "unchanged on error");
    suite_free(s);
}

Test(suite_errors, driver_variants)
{
    expect_err("[suite]\ndrivers = kernel+busypoll\n[workload a]\n",
               "t.ini:3:", "'kernel+busypoll' has no [driver kernel+busypoll]", NULL);
    expect_err("[suite]\ndrivers = nosuch+x\n[workload a]\n", "t.ini:2:", "'nosuch'", NULL);
    expect_err("[suite]\ndrivers = kernel+\n[workload a]\n", "t.ini:2:", "empty variant", NULL);
    expect_err("[suite]\ndrivers = kernel+Busy\n[workload a]\n", "t.ini:2:", "a-z", NULL);
    expect_err("[workload a]\n[driver nosuch+x]\n", "t.ini:2:", "'nosuch'", NULL);
}

Test(suite, quick_mode)
{
    struct suite *s = load_ok("[suite]\nrepeats = 9\nduration = 30s\nwarmup = 5s\n"
                              "[workload long]\n"
                              "[workload short]\nduration = 300ms\nwarmup = 0\n"
                              "[workload dl]\nmode = download\npath = /bytes/1g\nrequests = 3\n");
    suite_apply_quick(s);
    cr_expect_eq(s->repeats, 1);
    cr_expect_eq(s->duration_ns, S(1));
    cr_expect_eq(s->warmup_ns, MS(200));
    cr_expect_eq(s->workloads[0].duration_ns, S(1));
    cr_expect_eq(s->workloads[0].warmup_ns, MS(200));
    cr_expect_eq(s->workloads[1].duration_ns, MS(300), "quick never lengthens");
    cr_expect_eq(s->workloads[1].warmup_ns, 0);
    cr_expect_str_eq(s->workloads[2].path, "/bytes/1g", "downloads keep their size");
    cr_expect_eq(s->workloads[2].requests, 3);
    char err[256];
    for (int i = 0; i < s->nworkloads; i++)
        cr_expect_eq(wl_spec_validate(&s->workloads[i], err, sizeof err), 0, "%s", err);
    suite_free(s);
}

Test(suite, help_lists_every_key)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    suite_print_help(f);
    fclose(f);
    static const char *const keys[] = {"name",    "drivers", "repeats", "link",    "dut_cpu",
                                       "gen_cpu", "rps",     "port",    "duration", "warmup",
                                       "timeout", "idle_timeout", "capture"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect(strstr(buf, keys[i]) != NULL, "help lacks %s", keys[i]);
    for (const struct wl_key *k = wl_spec_keys; k->key; k++)
        cr_expect(strstr(buf, k->key) != NULL, "help lacks workload key %s", k->key);
    cr_expect(strstr(buf, "[workload NAME]") != NULL);
    cr_expect(strstr(buf, "repeats        6 ") != NULL, "%s", buf);
    cr_expect(strstr(buf, "96.9%") != NULL, "help says why 6: %s", buf);
    cr_expect(strstr(buf, "[driver NAME]") != NULL);
    free(buf);
}

/* An open-loop sweep: one workload per load, named NAME-<P>pct, its load and
 * capacity workload kept for `run`, after the workloads before it and before
 * those after; its own repeats; the p99 target. */
Test(suite, load_sweep_expands)
{
    struct suite *s = load_ok("[suite]\nrepeats = 6\np99_target = 500us\n"
                              "[workload cap]\nmode = closed\n"
                              "[workload lat]\nmode = open\ncapacity = cap\n"
                              "loads = 10%, 55%,120%\nrepeats = 2\nduration = 1s\n"
                              "[workload after]\nmode = cps\n");
    cr_assert_eq(s->nworkloads, 5);
    cr_expect_str_eq(s->workloads[0].name, "cap");
    cr_expect_str_eq(s->workloads[1].name, "lat-10pct");
    cr_expect_str_eq(s->workloads[2].name, "lat-55pct");
    cr_expect_str_eq(s->workloads[3].name, "lat-120pct");
    cr_expect_str_eq(s->workloads[4].name, "after");
    cr_expect_float_eq(s->load[1], 0.10, 1e-12);
    cr_expect_float_eq(s->load[3], 1.20, 1e-12);
    cr_expect_float_eq(s->load[4], 0.0, 1e-12, "a plain workload has no load");
    cr_expect_str_eq(s->capacity_of[2], "cap");
    cr_expect_str_eq(s->sweep[2], "lat");
    cr_expect_eq(s->workloads[2].duration_ns, MS(1000));
    cr_expect_eq(s->workloads[2].mode, WL_OPEN);
    cr_expect_eq(suite_repeats_of(s, 2), 2u);
    cr_expect_eq(suite_repeats_of(s, 0), 6u);
    cr_expect_eq(suite_repeats_of(s, 4), 6u);
    cr_expect_eq(s->p99_target_ns, MS(1) / 2);
    suite_apply_quick(s);
    cr_expect_eq(suite_repeats_of(s, 2), 1u, "--quick: one repeat everywhere");
    cr_expect_eq(load_ok("[workload a]\n")->p99_target_ns, MS(1), "default target 1 ms");
}

Test(suite_errors, load_sweep_errors)
{
    expect_err("[workload lat]\nmode = open\ncapacity = cap\nloads = 10%\n",
               "t.ini:1: ", "capacity workload 'cap' is not defined before it", NULL);
    expect_err("[workload cap]\nmode = cps\n[workload lat]\nmode = open\ncapacity = cap\n"
               "loads = 10%\n",
               "t.ini:3: ", "must be closed loop", NULL);
    expect_err("[workload cap]\n[workload lat]\nmode = closed\ncapacity = cap\nloads = 10%\n",
               "t.ini:2: ", "needs mode = open", NULL);
    expect_err("[workload cap]\n[workload lat]\nmode = open\nloads = 10%\n",
               "t.ini:2: ", "'capacity' and 'loads' go together", NULL);
    expect_err("[workload cap]\n[workload lat]\nmode = open\ncapacity = cap\nloads = 10\n",
               "t.ini:5: ", "bad value '10' for 'loads'", "percentages");
    expect_err("[workload cap]\n[workload lat]\nmode = open\ncapacity = cap\nloads = 10%\n"
               "rate = 5k\n",
               "t.ini:2: ", "'rate' and 'loads' exclude each other", NULL);
    expect_err("[workload a]\nrepeats = 0\n", "t.ini:2: ", "repeats", NULL);
    expect_err("[suite]\np99_target = fast\n[workload a]\n", "t.ini:2: ", "p99_target", NULL);
}

Test(suite, dut_client_and_fixed_server)
{
    struct suite *s = load_ok("[suite]\ndut = client\nserver = nginx\n"
                              "drivers = kernel,afpacket,dpdk@tap\n[workload dl]\nmode = download\n"
                              "path = /bytes/1m\n");
    cr_expect_eq(s->dut, SUITE_DUT_CLIENT);
    cr_expect_eq(s->server, SUITE_SERVER_NGINX);
    cr_expect_str_eq(suite_dut_str(s->dut), "client");
    suite_free(s);
    s = load_ok("[suite]\ndut = server\n[workload a]\n");
    cr_expect_eq(s->dut, SUITE_DUT_SERVER);
    cr_expect_str_eq(suite_dut_str(s->dut), "server");
    suite_free(s);
    s = load_ok("[suite]\ndut = client\n[workload a]\n");
    cr_expect_eq(s->server, SUITE_SERVER_OURS, "ours unless the suite says nginx");
    suite_free(s);
}

Test(suite_errors, bad_dut_and_server)
{
    expect_err("[suite]\nname = x\ndut = proxy\n[workload a]\n", "t.ini:3: ", "'proxy'", "'dut'");
    expect_err("[suite]\ndut = client\n\nserver = apache\n[workload a]\n", "t.ini:4: ", "'apache'",
               "'server'");
    /* nginx as the fixed server only makes sense when the server is not the DUT */
    expect_err("[suite]\n\nserver = nginx\n[workload a]\n", "t.ini:3: ", "server = nginx",
               "dut = client");
    /* the ring link has no kernel side to put the fixed server on */
    expect_err("[suite]\ndrivers = kernel,dpdk@ring\n\ndut = client\n[workload a]\n", "t.ini:4: ",
               "dpdk@ring", "ring");
    expect_err("[suite]\nlink = ring\ndrivers = dpdk\ndut = client\n[workload a]\n", "t.ini:4: ",
               "'dpdk'", "ring");
    expect_err("[suite]\ndut = client\ndut = server\n[workload a]\n", "t.ini:3: ", "duplicate",
               "'dut'");
}

Test(suite, dut_client_refuses_ring_from_drivers_override)
{
    struct suite *s = load_ok("[suite]\ndut = client\n[workload a]\n");
    char err[512] = "";
    cr_expect_eq(suite_set_drivers(s, "kernel,dpdk@ring", err, sizeof err), -1);
    cr_expect(strstr(err, "dpdk@ring") && strstr(err, "t.ini"), "%s", err);
    cr_expect_eq(s->ndrivers, 1, "the list is unchanged after a refusal");
    cr_expect_eq(suite_set_drivers(s, "kernel,dpdk@tap", err, sizeof err), 0, "%s", err);
    suite_free(s);
}

/* offloads: off by default, on in [suite], and a [driver] section's own
 * value for its row (a variant's over its driver's), kept out of the options
 * passed to the driver. */
Test(suite, offloads_per_suite_and_row)
{
    struct suite *s = load_ok("[workload a]\n");
    cr_expect_eq(s->offloads, 0);
    cr_expect_eq(suite_row_offloads(s, "afpacket", NULL), 0);
    suite_free(s);
    s = load_ok("[suite]\ndrivers = kernel,afpacket,afpacket+ol\noffloads = off\n[workload a]\n"
                "[driver afpacket]\nversion = 2\n[driver afpacket+ol]\noffloads = on\n");
    cr_expect_eq(suite_row_offloads(s, "kernel", ""), 0);
    cr_expect_eq(suite_row_offloads(s, "afpacket", ""), 0);
    cr_expect_eq(suite_row_offloads(s, "afpacket", "afpacket+ol"), 1);
    const char *const *o = suite_driver_opts(s, "afpacket+ol");
    cr_expect(o == NULL || o[0] == NULL, "offloads passed to the driver as '%s'", o ? o[0] : "");
    suite_free(s);
    s = load_ok("[suite]\noffloads = on\n[workload a]\n[driver kernel]\noffloads = off\n");
    cr_expect_eq(suite_row_offloads(s, "kernel", NULL), 0);
    cr_expect_eq(suite_row_offloads(s, "dpdk", NULL), 1);
    suite_free(s);
}

Test(suite_errors, bad_offloads)
{
    expect_err("[suite]\noffloads = maybe\n[workload a]\n", "t.ini:2: ", "'maybe'", "'offloads'");
    expect_err("[workload a]\n[driver afpacket]\n\noffloads = yes\n", "t.ini:4: ", "'yes'",
               "[driver afpacket]");
}
