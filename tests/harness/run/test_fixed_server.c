/*
 * test_fixed_server.c — harness/run/fixed_server.c without root: nginx's
 * built-in configuration rendered with every value filled in, the files it
 * serves holding the /bytes/N pattern, paths nginx cannot serve refused, and
 * its access log read back as the server JSON the identity check uses (a
 * line in another format is an error naming file and line).
 */
#include "harness/run/fixed_server.h"
#include "workloads/pattern.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct suite S;

static void load(const char *text)
{
    char err[512] = "";
    cr_assert_eq(suite_load_string(text, "t.ini", &S, err, sizeof err), 0, "%s", err);
}

Test(fixed_server, nginx_conf_rendered)
{
    cr_assert(strstr(fixed_nginx_template(), "@WWW@"), "the template is built in");
    char *c = fixed_nginx_render("/run/x/dl.nginx", "/run/x/www", 9090, 1500000000ull);
    cr_assert_not_null(c);
    static const char *const keys[] = {"@PREFIX@", "@WWW@", "@PORT@", "@IDLE@"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect_null(strstr(c, keys[i]), "%s left unfilled", keys[i]);
    cr_expect(strstr(c, "listen 9090 "), "%s", c);
    cr_expect(strstr(c, "root /run/x/www;"), "%s", c);
    cr_expect(strstr(c, "access_log /run/x/dl.nginx/access.log bb;"), "%s", c);
    cr_expect(strstr(c, "keepalive_timeout 1500ms;"), "%s", c);
    cr_expect(strstr(c, "master_process off;"), "one process, pinned and gone with the harness");
    free(c);
}

Test(fixed_server, files_hold_the_pattern)
{
    load("[suite]\ndut = client\nserver = nginx\n[workload a]\nmode = download\npath = /bytes/100k\n"
         "[workload b]\npath = /bytes/64\n[workload c]\npath = /bytes/64\n");
    char dir[] = "/tmp/bbfixedXXXXXX", www[4200], err[512] = "", why[256];
    cr_assert_not_null(mkdtemp(dir));
    cr_expect_null(fixed_nginx_path_bad(&S, why, sizeof why));
    cr_assert_eq(fixed_www_prepare(&S, dir, www, sizeof www, err, sizeof err), 0, "%s", err);
    static const struct {
        const char *name;
        size_t n;
    } want[] = {{"100k", 102400}, {"64", 64}, {"1", 1}}; /* 1: the readiness probe's */
    pattern_init();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/bytes/%s", www, want[i].name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s missing", path);
        uint8_t *buf = malloc(want[i].n + 1);
        size_t got = fread(buf, 1, want[i].n + 1, f);
        fclose(f);
        cr_expect_eq(got, want[i].n, "%s: %zu bytes", path, got);
        cr_expect_eq(pattern_check(buf, 0, got), got, "%s: not the pattern", path);
        free(buf);
    }
    cr_expect_eq(fixed_www_remove(www, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_expect_neq(stat(www, &st), 0, "www/ left behind");
    rmdir(dir);
    suite_free(&S);
}

Test(fixed_server, nginx_serves_bytes_paths_only)
{
    load("[suite]\ndut = client\nserver = nginx\n[workload a]\npath = /bytes/1k\n"
         "[workload f]\npath = /file/index.html\n");
    char why[256];
    cr_assert_not_null(fixed_nginx_path_bad(&S, why, sizeof why));
    cr_expect(strstr(why, "[workload f]") && strstr(why, "/file/index.html"), "%s", why);
    suite_free(&S);
}

Test(fixed_server, access_log_as_server_json)
{
    char path[] = "/tmp/bbaccessXXXXXX", err[512] = "";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("200 1 57\n200 268435456 50\n404 153 60\n", f);
    fclose(f);
    json_t *j = fixed_nginx_log_json(path, err, sizeof err);
    cr_assert_not_null(j, "%s", err);
    json_t *st = json_object_get(j, "stats");
    cr_expect_eq(json_integer_value(json_object_get(st, "requests_parsed")), 3);
    cr_expect_eq(json_integer_value(json_object_get(st, "body_bytes_out")), 268435456 + 1 + 153);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(st, "responses"), "2xx")), 2);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(st, "responses"), "4xx")), 1);
    json_decref(j);
    f = fopen(path, "a");
    fputs("GET /bytes/1 HTTP/1.1\n", f); /* a default-format line: not ours */
    fclose(f);
    cr_expect_null(fixed_nginx_log_json(path, err, sizeof err));
    char where[600];
    snprintf(where, sizeof where, "%s:4:", path);
    cr_expect(strstr(err, where), "'%s' does not name line 4", err);
    unlink(path);
    cr_expect_null(fixed_nginx_log_json(path, err, sizeof err), "a missing log is an error");
}
