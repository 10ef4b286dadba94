/*
 * fixed_server.c — the fixed server of `dut = client` suites (see
 * fixed_server.h): nginx's files, configuration and access log.
 *
 *   run start: fixed_www_prepare() -> DIR/www/bytes/<N> (the pattern)
 *   per trial: fixed_nginx_render() -> nginx.conf in the trial's prefix;
 *              after nginx stops: fixed_nginx_log_json() -> the server JSON
 *   run end:   fixed_www_remove()
 *
 * The template is harness/run/nginx.conf, carried inside the binary
 * (.incbin, as drivers/afxdp_prog.c carries its XDP program).
 * Callers: harness/cli/run.c, harness/run/trial.c, tests.
 * Calls: workloads/pattern.c, workloads/units.c, topo_cmd, jansson.
 */
#include "harness/run/fixed_server.h"

#include "harness/run/topo.h"
#include "workloads/pattern.h"
#include "workloads/units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__asm__(".section .rodata\n"
        ".global bb_nginx_conf\n"
        "bb_nginx_conf:\n"
        ".incbin \"" FIXED_NGINX_CONF_SOURCE "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char bb_nginx_conf[];

const char *fixed_nginx_template(void)
{
    return bb_nginx_conf;
}

/* The N of a /bytes/N path (up to '?' or '#'): its length, 0 when path is not one. */
static size_t bytes_name(const char *path, uint64_t *n)
{
    if (strncmp(path, "/bytes/", 7) != 0) return 0;
    size_t len = strcspn(path + 7, "?#");
    return len && units_parse_size_n(path + 7, len, n) == 0 ? len : 0;
}

const char *fixed_nginx_path_bad(const struct suite *s, char *why, size_t len)
{
    uint64_t n;
    for (int i = 0; i < s->nworkloads; i++)
        if (!bytes_name(s->workloads[i].path, &n)) {
            snprintf(why, len,
                     "[workload %s]: path %s: server = nginx serves /bytes/N only (files of the "
                     "pattern)",
                     s->workloads[i].name, s->workloads[i].path);
            return why;
        }
    return NULL;
}

static int write_pattern_file(const char *path, uint64_t n, char *err, size_t errlen)
{
    enum { CHUNK = 1 << 20 };
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(CHUNK);
    int rc = buf ? 0 : -1;
    if (!buf) snprintf(err, errlen, "%s: out of memory", path);
    for (uint64_t off = 0; rc == 0 && off < n;) {
        size_t len = n - off < CHUNK ? (size_t)(n - off) : CHUNK;
        pattern_fill(buf, off, len);
        ssize_t w = write(fd, buf, len);
        if (w <= 0) {
            snprintf(err, errlen, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
            rc = -1;
        } else {
            off += (uint64_t)w;
        }
    }
    free(buf);
    if (close(fd) < 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

int fixed_www_prepare(const struct suite *s, const char *dir, char *www, size_t wwwlen, char *err,
                      size_t errlen)
{
    char bytes[4200], file[4400];
    snprintf(www, wwwlen, "%s/www", dir);
    snprintf(bytes, sizeof bytes, "%s/bytes", www);
    /* nginx reads them as www-data when it runs a master; 0755 either way */
    if ((mkdir(www, 0755) < 0 && errno != EEXIST) || (mkdir(bytes, 0755) < 0 && errno != EEXIST)) {
        snprintf(err, errlen, "%s: %s", bytes, strerror(errno));
        return -1;
    }
    pattern_init();
    for (int i = -1; i < s->nworkloads; i++) {
        const char *path = i < 0 ? "/bytes/1" : s->workloads[i].path; /* -1: the probe's */
        uint64_t n;
        size_t len = bytes_name(path, &n);
        if (!len) continue;
        snprintf(file, sizeof file, "%s/%.*s", bytes, (int)len, path + 7);
        struct stat st;
        if (stat(file, &st) == 0 && (uint64_t)st.st_size == n) continue; /* two workloads, one size */
        if (write_pattern_file(file, n, err, errlen) < 0) return -1;
    }
    return 0;
}

int fixed_www_remove(const char *www, char *err, size_t errlen)
{
    char bytes[4200], file[4500];
    snprintf(bytes, sizeof bytes, "%s/bytes", www);
    DIR *d = opendir(bytes);
    int rc = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(file, sizeof file, "%s/%s", bytes, e->d_name);
                if (unlink(file) < 0) rc = -1;
            }
        closedir(d);
    }
    if (rmdir(bytes) < 0 && errno != ENOENT) rc = -1;
    if (rmdir(www) < 0 && errno != ENOENT) rc = -1;
    if (rc < 0) snprintf(err, errlen, "cannot remove %s: %s", www, strerror(errno));
    return rc;
}

char *fixed_nginx_render(const char *prefix, const char *www, uint16_t port,
                         uint64_t idle_timeout_ns)
{
    char portv[16], idle[32];
    snprintf(portv, sizeof portv, "%u", port);
    /* nginx times: whole milliseconds */
    snprintf(idle, sizeof idle, "%" PRIu64 "ms", idle_timeout_ns / 1000000 ? idle_timeout_ns / 1000000 : 1);
    const struct {
        const char *key, *val;
    } subs[] = {{"@PREFIX@", prefix}, {"@WWW@", www}, {"@PORT@", portv}, {"@IDLE@", idle}};
    const char *t = fixed_nginx_template();
    size_t cap = strlen(t) + 1;
    for (const char *p = t; (p = strchr(p, '@')); p++)
        cap += strlen(prefix) + strlen(www) + 32; /* generous: any @ may be a key */
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    while (*t) {
        size_t k, n = sizeof subs / sizeof subs[0];
        for (k = 0; k < n && strncmp(t, subs[k].key, strlen(subs[k].key)) != 0; k++) {
        }
        if (k < n) {
            o += sprintf(o, "%s", subs[k].val);
            t += strlen(subs[k].key);
        } else {
            *o++ = *t++;
        }
    }
    *o = '\0';
    return out;
}

json_t *fixed_nginx_log_json(const char *access_log, char *err, size_t errlen)
{
    FILE *f = fopen(access_log, "re");
    if (!f) {
        snprintf(err, errlen, "nginx access log %s: %s", access_log, strerror(errno));
        return NULL;
    }
    char line[256];
    uint64_t reqs = 0, body = 0, cls[6] = {0};
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned status;
        uint64_t b, rl;
        char extra;
        ln++;
        if (sscanf(line, "%u %" SCNu64 " %" SCNu64 " %c", &status, &b, &rl, &extra) != 3 ||
            status < 100 || status > 599) {
            snprintf(err, errlen, "nginx access log %s:%d: not 'STATUS BODY_BYTES REQUEST_LENGTH'",
                     access_log, ln);
            fclose(f);
            return NULL;
        }
        reqs++;
        body += b;
        cls[status / 100]++;
    }
    fclose(f);
    return json_pack("{s:s,s:s,s:{s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I}}}", "server", "nginx",
                     "source", "access log", "stats", "requests_parsed", (json_int_t)reqs,
                     "body_bytes_out", (json_int_t)body, "responses", "1xx", (json_int_t)cls[1],
                     "2xx", (json_int_t)cls[2], "3xx", (json_int_t)cls[3], "4xx",
                     (json_int_t)cls[4], "5xx", (json_int_t)cls[5]);
}

void fixed_nginx_version(char *buf, size_t len)
{
    char *argv[] = {"dpkg-query", "-W", "-f=${Version}", "nginx", NULL};
    char out[128] = "", err[256];
    if (topo_cmd(argv, out, sizeof out, err, sizeof err) == 0 && out[0])
        snprintf(buf, len, "%s", out);
    else
        snprintf(buf, len, "unknown: %s", err);
}
