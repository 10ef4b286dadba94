/*
 * trial_apps.c — the steps of a trial that runs an application (apps.h)
 * as the server or the generator, called from trial_execute():
 *
 *   trial_app_prepare()  its directory: nginx's prefix and configuration
 *                        (the dut = client template, fixed_server.c), wrk's
 *                        Lua script; stale outputs removed
 *   trial_app_warmup()   the generator's throw-away run (wrk, ab)
 *   trial_app_redis_info() redis-server's INFO commandstats, read from
 *                        bb-gen with redis-cli before it stops
 *   trial_app_results()  the generator's output parsed into the client
 *                        JSON, the server's counts into the server JSON
 *                        (nginx: its access log; redis: commandstats; under
 *                        the preload library its --stats counters as
 *                        driver_counters; on kernel sockets the DUT
 *                        namespace's TcpPassiveOpens over the server's run,
 *                        trial_app_passive_opens), both written where the
 *                        record reads them
 *
 * Callers: harness/run/trial.c. Calls: apps.c, fixed_server.c, topo.c, proc.c.
 */
#include "harness/run/apps.h"
#include "harness/run/fixed_server.h"
#include "harness/run/preload.h"
#include "harness/run/proc.h"
#include "harness/run/trial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC 1000000000ull

static int write_text(const char *path, const char *text, char *err, size_t errlen)
{
    FILE *f = fopen(path, "we");
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return ok ? 0 : -1;
}

char *trial_app_read(const char *path, size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f) return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (buf) buf[n] = 0;
    return buf;
}

int trial_app_prepare(const struct trial_ctx *c, const struct trial_plan *p, char *err,
                      size_t errlen)
{
    char tmp[PATH_MAX + 32];
    if (mkdir(p->app_dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", p->app_dir, strerror(errno));
        return -1;
    }
    unlink(p->app_stats), unlink(p->app_csv), unlink(p->app_wcsv), unlink(p->app_wlog);
    snprintf(tmp, sizeof(tmp), "%s/commandstats.txt", p->app_dir);
    unlink(tmp);
    if (p->sapp == APP_NGINX) {
        snprintf(tmp, sizeof(tmp), "%s/tmp", p->app_dir);
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            return -1;
        }
        if (!c->www) {
            snprintf(err, errlen, "no files for nginx to serve (the run prepares them)");
            return -1;
        }
        unlink(p->nginx_log);
        char *conf = fixed_nginx_render(p->nginx_prefix, c->www, c->suite->port,
                                        c->suite->idle_timeout_ns);
        int rc = conf ? write_text(p->nginx_conf, conf, err, errlen) : -1;
        if (!conf) snprintf(err, errlen, "out of memory");
        free(conf);
        if (rc < 0) return -1;
    }
    if (p->gapp == APP_WRK && write_text(p->app_script, app_wrk_script(), err, errlen) < 0)
        return -1;
    return 0;
}

int trial_app_warmup(const struct trial_ctx *c, const struct trial_plan *p,
                     const struct wl_spec *w, char *err, size_t errlen)
{
    if (!p->wargv[0]) return 0;
    pid_t pid = topo_spawn(TOPO_NS_GEN, p->wargv, p->app_wlog, p->app_wlog, err, errlen);
    if (pid < 0) return -1;
    int st = proc_wait(pid, w->warmup_ns + 30 * SEC, c->stop);
    if (st == -1) {
        proc_stop(pid, 3 * SEC);
        snprintf(err, errlen, "the warm-up run of %s did not finish in time (see %s)",
                 app_info(p->gapp)->name, p->app_wlog);
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, errlen, "the warm-up run of %s failed (status %d, see %s)",
                 app_info(p->gapp)->name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                 p->app_wlog);
        return -1;
    }
    return 0;
}

int trial_app_redis_info(const struct trial_plan *p, char *err, size_t errlen)
{
    char path[PATH_MAX + 48], out[16384], why[256];
    if (preload_find_program("redis-cli", path, sizeof(path), why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    char *argv[] = {"ip", "netns", "exec", TOPO_NS_GEN, path, "-h", (char *)p->tl.dut_ip, "-p",
                    (char *)p->app_port, "INFO", "commandstats", NULL};
    if (topo_cmd(argv, out, sizeof(out), err, errlen) < 0) return -1;
    snprintf(path, sizeof(path), "%s/commandstats.txt", p->app_dir);
    return write_text(path, out, err, errlen);
}

int trial_app_passive_opens(unsigned long long *n, char *err, size_t errlen)
{
    char out[8192], why[256];
    char *argv[] = {"ip", "netns", "exec", TOPO_NS_DUT, "cat", "/proc/net/snmp", NULL};
    if (topo_cmd(argv, out, sizeof(out), err, errlen) < 0) return -1;
    if (app_passive_opens(out, n, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", TOPO_NS_DUT, why);
        return -1;
    }
    return 0;
}

/* The generator's run: its output parsed (NULL with why). */
static json_t *parse_run(const struct trial_plan *p, const struct wl_spec *w, const char *log,
                         const char *csv, char *why, size_t len)
{
    char *out = trial_app_read(log, 4 << 20);
    char *csvt = csv ? trial_app_read(csv, 1 << 20) : NULL;
    json_t *j = NULL;
    if (!out)
        snprintf(why, len, "cannot read %s: %s", log, strerror(errno));
    else if (p->gapp == APP_WRK)
        j = app_parse_wrk(out, why, len);
    else if (p->gapp == APP_AB)
        j = app_parse_ab(out, csvt, why, len);
    else
        j = app_parse_redis_bench(out, w->requests, why, len);
    free(out);
    free(csvt);
    return j;
}

int trial_app_results(const struct trial_ctx *c, const struct trial_plan *p,
                      const struct wl_spec *w, long long passive_opens, char *err, size_t errlen)
{
    json_t *client = NULL, *server = NULL, *stack = NULL;
    char why[512];
    (void)c;
    if (p->gapp != APP_NONE) {
        json_t *m = parse_run(p, w, p->clog, p->app_csv, why, sizeof(why));
        if (!m) {
            snprintf(err, errlen, "%s: %s (see %s)", app_info(p->gapp)->name, why, p->clog);
            return -1;
        }
        json_t *warm = NULL;
        if (p->wargv[0]) {
            warm = parse_run(p, w, p->app_wlog, p->app_wcsv, why, sizeof(why));
            if (!warm) {
                json_decref(m);
                snprintf(err, errlen, "%s's warm-up run: %s (see %s)", app_info(p->gapp)->name,
                         why, p->app_wlog);
                return -1;
            }
        }
        client = app_client_json(m, warm, w->connections, p->gapp == APP_AB ? w->mode != WL_CPS : 1);
        if (json_dump_file(client, p->cjson, JSON_INDENT(2)) != 0) {
            json_decref(client);
            snprintf(err, errlen, "cannot write %s", p->cjson);
            return -1;
        }
        json_decref(client);
    }
    if (p->sapp == APP_NONE) return 0;
    if (p->app_stack) {
        stack = app_stats_file_json(p->app_stats, why, sizeof(why));
        if (!stack) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
    }
    if (p->sapp == APP_NGINX) {
        server = fixed_nginx_log_json(p->nginx_log, err, errlen);
        if (!server) {
            json_decref(stack);
            return -1;
        }
        json_object_set_new(server, "access_log", json_string(p->nginx_log));
    } else {
        char path[PATH_MAX + 48];
        snprintf(path, sizeof(path), "%s/commandstats.txt", p->app_dir);
        char *info = trial_app_read(path, 1 << 20);
        json_t *cs = app_redis_commandstats(info, why, sizeof(why));
        free(info);
        if (!cs) {
            snprintf(err, errlen, "%s (%s)", why, path);
            json_decref(stack);
            return -1;
        }
        long long total = 0;
        const char *k;
        json_t *v;
        json_object_foreach(cs, k, v) total += json_integer_value(v);
        server = json_pack("{s:s,s:s,s:o,s:{s:I}}", "server", "redis-server", "source",
                           "redis-cli INFO commandstats, after the generator's run", "commandstats",
                           cs, "stats", "requests_parsed", (json_int_t)total);
    }
    if (passive_opens >= 0)
        json_object_set_new(server, "kernel_passive_opens", json_integer(passive_opens));
    if (stack) {
        json_object_set_new(server, "driver", json_string(p->tl.drv));
        json_object_set_new(server, "driver_counters", stack);
        json_object_set_new(server, "driver_counters_source",
                            json_string("bypassbench exec --stats: the preload library's and the "
                                        "stack's counters at the server's exit"));
    }
    int rc = json_dump_file(server, p->sjson, JSON_INDENT(2)) == 0 ? 0 : -1;
    if (rc < 0) snprintf(err, errlen, "cannot write %s", p->sjson);
    json_decref(server);
    return rc;
}
