/*
 * remote.c — runs across hosts over OpenSSH (see remote.h).
 *
 * Every ssh goes through the host's ControlMaster (-S SOCK): one TCP
 * connection and one authentication per host for the whole run. A command's
 * words are shell-quoted one by one (the remote side runs them through its
 * login shell); suite values are checked at load (suite_host.c) and never
 * start with '-'.
 * Callers: harness/cli/run.c, harness/cli/doctor.c. Calls: topo.c (topo_cmd,
 * topo_spawn, topo_which), proc.c, trial.c, cpuacct.c, sysinfo.c.
 */
#include "harness/run/remote.h"

#include "harness/run/proc.h"
#include "harness/run/sysinfo.h"
#include "harness/run/topo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC 1000000000ull
#define MAX_SSH_ARGS 40
#define CONNECT_TIMEOUT "10" /* s: ssh's ConnectTimeout */

/* ---- ssh command lines --------------------------------------------------- */

struct argv_buf {
    char *a[MAX_SSH_ARGS + 8];
    int n;
    char port[8];
};

static void push(struct argv_buf *b, const char *s)
{
    if (b->n < MAX_SSH_ARGS + 6) b->a[b->n++] = (char *)s;
    b->a[b->n] = NULL;
}

/* ssh's options for this host; master: the ControlMaster itself. */
static void ssh_base(struct remote *r, struct argv_buf *b, int master)
{
    static char id_opt[] = "IdentitiesOnly=yes";
    static char kh[PATH_MAX + 32];
    b->n = 0;
    snprintf(b->port, sizeof b->port, "%u", r->h->port);
    push(b, r->ssh);
    push(b, "-S"), push(b, r->sock);
    push(b, "-o"), push(b, "BatchMode=yes");
    push(b, "-o"), push(b, "ConnectTimeout=" CONNECT_TIMEOUT);
    push(b, "-o"), push(b, "LogLevel=ERROR"); /* no banners in the logs */
    push(b, "-p"), push(b, b->port);
    if (r->h->identity[0]) push(b, "-i"), push(b, r->h->identity), push(b, "-o"), push(b, id_opt);
    if (r->h->known_hosts[0]) {
        snprintf(kh, sizeof kh, "UserKnownHostsFile=%s", r->h->known_hosts);
        push(b, "-o"), push(b, kh);
    }
    if (master) {
        push(b, "-M"), push(b, "-N");
        push(b, "-o"), push(b, "ControlPersist=no");
        push(b, "-o"), push(b, "ServerAliveInterval=5");
        push(b, "-o"), push(b, "ServerAliveCountMax=3");
    } else {
        push(b, "-o"), push(b, "ControlMaster=no");
    }
}

int remote_quote(char *const argv[], char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; argv[i]; i++) {
        if (off + 4 >= len) return -1;
        if (i) buf[off++] = ' ';
        buf[off++] = '\'';
        for (const char *p = argv[i]; *p; p++) {
            if (off + 6 >= len) return -1;
            if (*p == '\'') {
                memcpy(buf + off, "'\\''", 4);
                off += 4;
            } else {
                buf[off++] = *p;
            }
        }
        buf[off++] = '\'';
        buf[off] = '\0';
    }
    return 0;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* topo_cmd's error is "the command line: what it said", the command line cut
 * at topo_cmd's buffer (an ssh line with its options is longer): keep what it
 * said, after the longest start of the command line it begins with. */
static const char *cmd_said(char *const argv[], const char *err)
{
    size_t k = 0;
    for (int i = 0; argv[i]; i++) {
        if (i && err[k] == ' ') k++;
        else if (i) break;
        const char *a = argv[i];
        while (*a && err[k] == *a) k++, a++;
        if (*a) break;
    }
    return err[k] == ':' && err[k + 1] == ' ' ? err + k + 2 : err;
}

int remote_sh(struct remote *r, const char *cmd, char *out, size_t outlen, char *err,
              size_t errlen)
{
    struct argv_buf b;
    ssh_base(r, &b, 0);
    push(&b, r->h->ssh);
    push(&b, cmd);
    char e[8192];
    if (topo_cmd(b.a, out, outlen, e, sizeof e) == 0) return 0;
    if (!err) return -1;
    return fail(err, errlen, "host %s (%s): %s", r->h->name, r->h->ssh, cmd_said(b.a, e));
}

/* The last non-empty line of a file (ssh's error), or "". */
static void last_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    char l[1024];
    buf[0] = '\0';
    if (!f) return;
    while (fgets(l, sizeof l, f)) {
        l[strcspn(l, "\r\n")] = '\0';
        if (l[0]) snprintf(buf, len, "%s", l);
    }
    fclose(f);
}

int remote_alive(struct remote *r)
{
    if (r->master <= 0 || proc_exited(r->master)) return 0;
    struct argv_buf b;
    ssh_base(r, &b, 0);
    push(&b, "-O"), push(&b, "check"), push(&b, r->h->ssh);
    char e[2048];
    return topo_cmd(b.a, NULL, 0, e, sizeof e) == 0;
}

int remote_connect(struct remote *r, const struct suite_host *h, const char *role,
                   const char *suite_path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->h = h, r->role = role, r->suite_path = suite_path, r->master = -1;
    if (topo_which("ssh", r->ssh, sizeof r->ssh) < 0)
        return fail(err, errlen, "host %s: no ssh client (install openssh-client)", h->name);
    if (h->identity[0] && access(h->identity, R_OK) < 0)
        return fail(err, errlen, "%s:%d: identity '%s' of [host %s]: %s", suite_path,
                    h->identity_line, h->identity, h->name, strerror(errno));
    snprintf(r->ctl_dir, sizeof r->ctl_dir, "/tmp/bb-ssh.XXXXXX");
    if (!mkdtemp(r->ctl_dir)) { /* 0700: only we can use the master */
        r->ctl_dir[0] = '\0';
        return fail(err, errlen, "host %s: cannot make a directory for the ssh control socket: %s",
                    h->name, strerror(errno));
    }
    snprintf(r->sock, sizeof r->sock, "%s/ctl", r->ctl_dir);
    snprintf(r->mlog, sizeof r->mlog, "%s/master.log", r->ctl_dir);
    struct argv_buf b;
    ssh_base(r, &b, 1);
    push(&b, h->ssh);
    char e[1024];
    r->master = topo_spawn(NULL, b.a, "/dev/null", r->mlog, e, sizeof e);
    if (r->master < 0) {
        fail(err, errlen, "host %s: cannot start ssh: %s", h->name, e);
        remote_close(r);
        return -1;
    }
    /* up when the control socket answers; ssh gives up by itself after
     * ConnectTimeout, and says why on its stderr */
    uint64_t end = proc_mono_ns() + 30 * SEC;
    while (!remote_alive(r)) {
        if (proc_exited(r->master) || proc_mono_ns() > end) {
            last_line(r->mlog, e, sizeof e);
            fail(err, errlen, "host %s (%s port %u): cannot connect: %s", h->name, h->ssh, h->port,
                 e[0] ? e : "ssh gave no reason (timed out)");
            remote_close(r);
            return -1;
        }
        usleep(20000);
    }
    return 0;
}

/* "bypassbench X" of bin there (trimmed into r->version): 0, or -1. */
static int remote_version(struct remote *r, char *err, size_t errlen)
{
    char *av[] = {(char *)r->h->bin, "--version", NULL}, cmd[PATH_MAX + 64], out[256];
    remote_quote(av, cmd, sizeof cmd);
    if (remote_sh(r, cmd, out, sizeof out, err, errlen) < 0) return -1;
    out[strcspn(out, "\r\n")] = '\0';
    snprintf(r->version, sizeof r->version, "%s", out);
    return 0;
}

static int copy_bin(struct remote *r, const char *self, char *err, size_t errlen)
{
    char scp[PATH_MAX], dst[PATH_MAX + 320], port[8], ctl[128], e[8192];
    if (r->h->bin[0] != '/')
        return fail(err, errlen,
                    "host %s: copy_bin = yes needs bin to be an absolute path (not '%s')",
                    r->h->name, r->h->bin);
    if (topo_which("scp", scp, sizeof scp) < 0)
        return fail(err, errlen, "host %s: no scp to copy the binary with", r->h->name);
    snprintf(port, sizeof port, "%u", r->h->port);
    snprintf(ctl, sizeof ctl, "ControlPath=%s", r->sock);
    snprintf(dst, sizeof dst, "%s:%s", r->h->ssh, r->h->bin);
    char *av[] = {scp, "-q", "-o", ctl, "-o", "BatchMode=yes", "-P", port, (char *)self, dst, NULL};
    if (topo_cmd(av, NULL, 0, e, sizeof e) < 0)
        return fail(err, errlen, "host %s: copying %s to %s: %s", r->h->name, self, dst,
                    cmd_said(av, e));
    r->copied = 1;
    return 0;
}

/* The interface's state as found: has it our ip, is it up. */
static int iface_state(struct remote *r, char *err, size_t errlen)
{
    char cmd[256], out[8192], want[48];
    snprintf(cmd, sizeof cmd, "ip -o link show dev '%s' && ip -o -4 addr show dev '%s'",
             r->h->iface, r->h->iface);
    if (remote_sh(r, cmd, out, sizeof out, err, errlen) < 0) return -1;
    snprintf(want, sizeof want, " inet %s/%d ", r->h->ip, r->h->prefix);
    r->had_ip = r->has_ip = strstr(out, want) != NULL;
    const char *flags = strchr(out, '<');
    const char *close = flags ? strchr(flags, '>') : NULL;
    r->was_down = 1;
    for (const char *p = flags; p && p < close; p++)
        if ((p[-1] == '<' || p[-1] == ',') && strncmp(p, "UP", 2) == 0 && (p[2] == ',' || p[2] == '>'))
            r->was_down = 0;
    return 0;
}

static int set_addr(struct remote *r, int on, char *err, size_t errlen)
{
    if (r->has_ip == on) return 0;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ip addr %s '%s/%d' dev '%s'", on ? "add" : "del", r->h->ip,
             r->h->prefix, r->h->iface);
    if (remote_sh(r, cmd, NULL, 0, err, errlen) < 0) return -1;
    r->has_ip = on;
    return 0;
}

int remote_open(struct remote *r, const struct suite_host *h, const char *role,
                const char *suite_path, const char *self, char *err, size_t errlen)
{
    char e[4096], out[65536], cmd[PATH_MAX + 128];
    if (remote_connect(r, h, role, suite_path, err, errlen) < 0) return -1;
    if (remote_version(r, e, sizeof e) < 0) {
        fail(err, errlen, "%s (is bypassbench at bin = %s there?)", e, h->bin);
        goto bad;
    }
    /* this binary's own answer (BB_VERSION is compiled into main.o only:
     * the same words both sides print) */
    char mine[128], *sv[] = {(char *)self, "--version", NULL};
    if (topo_cmd(sv, mine, sizeof mine, e, sizeof e) < 0) {
        fail(err, errlen, "cannot run this binary's --version: %s", e);
        goto bad;
    }
    mine[strcspn(mine, "\r\n")] = '\0';
    if (strcmp(r->version, mine) != 0) {
        if (!h->copy_bin) {
            fail(err, errlen,
                 "host %s (%s): %s there is '%s', this is '%s': versions differ (build the same "
                 "commit there, or set copy_bin = yes in [host %s] to copy this binary)",
                 h->name, h->ssh, h->bin, r->version, mine, h->name);
            goto bad;
        }
        if (copy_bin(r, self, err, errlen) < 0) goto bad;
        if (remote_version(r, err, errlen) < 0) goto bad;
        if (strcmp(r->version, mine) != 0) {
            fail(err, errlen, "host %s: copied this binary to %s, which then says '%s' (not '%s')",
                 h->name, h->bin, r->version, mine);
            goto bad;
        }
    }
    if (remote_sh(r, "mktemp -d /tmp/bb-remote.XXXXXX", out, sizeof out, err, errlen) < 0) goto bad;
    out[strcspn(out, "\r\n")] = '\0';
    snprintf(r->rdir, sizeof r->rdir, "%s", out);
    if (strncmp(r->rdir, "/tmp/bb-remote.", 15) != 0) {
        fail(err, errlen, "host %s: mktemp gave '%s'", h->name, out);
        r->rdir[0] = '\0';
        goto bad;
    }
    if (iface_state(r, e, sizeof e) < 0) {
        fail(err, errlen, "%s (iface = %s of [host %s])", e, h->iface, h->name);
        goto bad;
    }
    char *av[] = {(char *)h->bin, "sysinfo", "--iface", (char *)h->iface, NULL};
    remote_quote(av, cmd, sizeof cmd);
    if (remote_sh(r, cmd, out, sizeof out, err, errlen) < 0) goto bad;
    json_error_t je;
    r->env = json_loads(out, 0, &je);
    if (!json_is_object(r->env)) {
        fail(err, errlen, "host %s: %s sysinfo printed no JSON object: %s", h->name, h->bin,
             je.text);
        goto bad;
    }
    r->tsc_hz = json_number_value(json_object_get(r->env, "tsc_hz"));
    if (r->was_down) {
        snprintf(cmd, sizeof cmd, "ip link set dev '%s' up", h->iface);
        if (remote_sh(r, cmd, NULL, 0, err, errlen) < 0) goto bad;
    }
    /* the generator is on the kernel's sockets: its address on iface */
    if (strcmp(role, "gen") == 0 && set_addr(r, 1, err, errlen) < 0) goto bad;
    return 0;
bad:
    remote_close(r);
    return -1;
}

void remote_close(struct remote *r)
{
    char e[1024], cmd[512];
    r->unclean[0] = '\0';
    if (r->master > 0 && !remote_alive(r) && (r->rdir[0] || r->has_ip != r->had_ip))
        snprintf(r->unclean, sizeof r->unclean,
                 "host %s (%s): connection lost, nothing undone there: its process groups were "
                 "ended by the hang-up, but %s%s%s%s%s may be left",
                 r->h->name, r->h->ssh, r->rdir[0] ? "the directory " : "", r->rdir,
                 r->rdir[0] && r->has_ip != r->had_ip ? " and " : "",
                 r->has_ip != r->had_ip ? (r->has_ip ? "the address " : "the missing address ") : "",
                 r->has_ip != r->had_ip ? r->h->ip : "");
    if (r->master > 0 && remote_alive(r)) {
        if (r->rdir[0]) {
            /* any process group a trial left (it would have been stopped) */
            snprintf(cmd, sizeof cmd,
                     "for f in '%s'/*.pid; do [ -f \"$f\" ] && kill -KILL -- -$(cat \"$f\") "
                     "2>/dev/null; done; rm -rf '%s'",
                     r->rdir, r->rdir);
            remote_sh(r, cmd, NULL, 0, e, sizeof e);
        }
        set_addr(r, r->had_ip, e, sizeof e); /* the host's own configuration */
        if (r->was_down) {
            snprintf(cmd, sizeof cmd, "ip link set dev '%s' down", r->h->iface);
            remote_sh(r, cmd, NULL, 0, e, sizeof e);
        }
        struct argv_buf b;
        ssh_base(r, &b, 0);
        push(&b, "-O"), push(&b, "exit"), push(&b, r->h->ssh);
        topo_cmd(b.a, NULL, 0, e, sizeof e);
    }
    if (r->master > 0) proc_stop(r->master, 2 * SEC);
    r->master = -1;
    if (r->ctl_dir[0]) {
        unlink(r->sock);
        unlink(r->mlog);
        rmdir(r->ctl_dir);
        r->ctl_dir[0] = '\0';
    }
    json_decref(r->env);
    r->env = NULL;
}

int remote_doctor(struct remote *r, char *err, size_t errlen)
{
    char cmd[PATH_MAX + 32];
    char *av[] = {(char *)r->h->bin, "doctor", NULL};
    remote_quote(av, cmd, sizeof cmd);
    struct argv_buf b;
    ssh_base(r, &b, 0);
    push(&b, r->h->ssh);
    push(&b, cmd);
    fflush(stdout);
    pid_t pid = topo_spawn(NULL, b.a, NULL, NULL, err, errlen);
    if (pid < 0) return -1;
    int st = proc_wait(pid, 0, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- remote processes ---------------------------------------------------- */

/* Start argv there in its own session under a pty, its pid (= its process
 * group) in RDIR/TAG.pid; its output goes to log here. The local ssh's pid. */
static pid_t remote_spawn(struct remote *r, char *const argv[], const char *tag, const char *log,
                          char *err, size_t errlen)
{
    static char cmd[16384];
    char q[16000];
    if (remote_quote(argv, q, sizeof q) < 0)
        return fail(err, errlen, "host %s: command line too long", r->h->name);
    snprintf(cmd, sizeof cmd, "echo $$ > '%s/%s.pid' && exec %s", r->rdir, tag, q);
    struct argv_buf b;
    ssh_base(r, &b, 0);
    push(&b, "-tt"); /* a pty: a lost connection hangs it up, SIGHUP ends the group */
    push(&b, r->h->ssh);
    push(&b, cmd);
    return topo_spawn(NULL, b.a, log, log, err, errlen);
}

/* SIGTERM to the remote group, SIGKILL after grace_ns; then the local ssh.
 * The wait status of the local ssh (the remote exit status, 255 when ssh
 * itself failed). */
static int remote_stop(struct remote *r, pid_t pid, const char *tag, uint64_t grace_ns)
{
    char cmd[512], e[1024];
    if (!proc_exited(pid)) {
        snprintf(cmd, sizeof cmd, "f='%s/%s.pid'; [ -f \"$f\" ] && kill -TERM -- -$(cat \"$f\")",
                 r->rdir, tag);
        remote_sh(r, cmd, NULL, 0, e, sizeof e);
    }
    int st = proc_wait(pid, grace_ns, NULL);
    if (st == -1) {
        snprintf(cmd, sizeof cmd, "f='%s/%s.pid'; [ -f \"$f\" ] && kill -KILL -- -$(cat \"$f\")",
                 r->rdir, tag);
        remote_sh(r, cmd, NULL, 0, e, sizeof e);
        st = proc_wait(pid, 2 * SEC, NULL);
        if (st == -1) st = proc_stop(pid, SEC);
    }
    snprintf(cmd, sizeof cmd, "rm -f '%s/%s.pid'", r->rdir, tag);
    remote_sh(r, cmd, NULL, 0, e, sizeof e);
    return st;
}

/* Copy a file there to lpath here (ssh cat): 0, or -1. */
static int remote_fetch(struct remote *r, const char *rpath, const char *lpath, char *err,
                        size_t errlen)
{
    char cmd[PATH_MAX + 16], elog[PATH_MAX + 16];
    char *av[] = {"cat", (char *)rpath, NULL};
    remote_quote(av, cmd, sizeof cmd);
    struct argv_buf b;
    ssh_base(r, &b, 0);
    push(&b, r->h->ssh);
    push(&b, cmd);
    snprintf(elog, sizeof elog, "%s.fetch-err", lpath);
    pid_t pid = topo_spawn(NULL, b.a, lpath, elog, err, errlen);
    if (pid < 0) return -1;
    int st = proc_wait(pid, 30 * SEC, NULL);
    if (st == -1) st = proc_stop(pid, SEC);
    char said[512];
    last_line(elog, said, sizeof said);
    unlink(elog);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    unlink(lpath);
    return fail(err, errlen, "host %s: cannot fetch %s: %s", r->h->name, rpath,
                said[0] ? said : "ssh failed");
}

/* ---- a trial across hosts ------------------------------------------------ */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void remote_plan(struct trial_plan *p, const struct remote *dut, const struct remote *gen,
                 uint16_t port, const struct wl_spec *w, char *rsjson, char *rcjson)
{
    const struct suite_host *dh = dut->h, *gh = gen->h;
    snprintf(rsjson, PATH_MAX, "%s/%s", dut->rdir, base_name(p->sjson));
    snprintf(rcjson, PATH_MAX, "%s/%s", gen->rdir, base_name(p->cjson));
    /* the argv point into these: rewriting them rewrites the argv */
    snprintf(p->url, sizeof p->url, "http://%s:%u%s", dh->ip, port, w->path);
    snprintf(p->listen, sizeof p->listen, "%s:%u", dh->ip, port);
    snprintf(p->dut_cidr, sizeof p->dut_cidr, "%s/%d", dh->ip, dh->prefix);
    p->tl.dut_ip = dh->ip;
    p->tl.stats_ns = NULL;
    p->tl.stats_if = dh->iface;
    p->tl.gen_if = gh->iface;
    char **a = p->sargv;
    a[0] = (char *)dh->bin;
    for (int i = 1; a[i]; i++) {
        if (a[i] == p->sjson) a[i] = rsjson;
        else if (strcmp(a[i - 1], "--iface") == 0) a[i] = (char *)dh->iface;
        else if (strcmp(a[i - 1], "--opt") == 0 && strncmp(a[i], "vdev=net_af_packet0,", 20) == 0) {
            /* the dpdk port the plan picked for the veth: the host's NIC (its PCI
             * address), else net_af_packet on its iface. cap_opt1 is free: no
             * capture across hosts */
            if (dh->pci[0] && p->cpu_d[0] != '-') /* its lcore on the DUT's core */
                snprintf(p->cap_opt1, sizeof p->cap_opt1,
                         "eal=-l %s --in-memory -a %s --no-telemetry --file-prefix=bbdut",
                         p->cpu_d, dh->pci);
            else if (dh->pci[0])
                snprintf(p->cap_opt1, sizeof p->cap_opt1,
                         "eal=--in-memory -a %s --no-telemetry --file-prefix=bbdut", dh->pci);
            else
                snprintf(p->cap_opt1, sizeof p->cap_opt1, "vdev=net_af_packet0,iface=%s",
                         dh->iface);
            a[i] = p->cap_opt1;
        }
    }
    a = p->cargv;
    a[0] = (char *)gh->bin;
    for (int i = 1; a[i]; i++) {
        if (a[i] == p->cjson) a[i] = rcjson;
        else if (strcmp(a[i - 1], "--window-iface") == 0) a[i] = (char *)gh->iface;
    }
}

static int kernel_keeps_addr(const char *drv)
{
    return trial_kernel_sockets(drv) || strcmp(drv, "afxdp") == 0;
}

/* One readiness probe from the generator host: a single request. */
static int probe(struct remote *gen, const char *url)
{
    char *av[] = {(char *)gen->h->bin, "load", "--driver", "kernel", "-c", "1", "-n", "1", "-d",
                  "2s", "--warmup", "0", "--timeout", "1s", "--quiet", (char *)url, NULL};
    char cmd[PATH_MAX + 256], e[1024];
    remote_quote(av, cmd, sizeof cmd);
    strncat(cmd, " >/dev/null", sizeof cmd - strlen(cmd) - 1);
    return remote_sh(gen, cmd, NULL, 0, e, sizeof e);
}

static json_t *remote_offloads(struct remote *r)
{
    char cmd[64], out[8192], e[1024];
    snprintf(cmd, sizeof cmd, "ethtool -k '%s'", r->h->iface);
    return remote_sh(r, cmd, out, sizeof out, e, sizeof e) == 0 ? sysinfo_parse_ethtool_k(out)
                                                                : json_string(e);
}

__attribute__((format(printf, 2, 3))) static void outcome_fail(struct trial_outcome *o,
                                                                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof o->why, fmt, ap);
    va_end(ap);
    o->failure = o->why;
}

static int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The DUT host's CPU window of a trial: `sysinfo --cpu-window` there. */
struct dut_window {
    char rpath[PATH_MAX + 32], lpath[PATH_MAX + 32], log[PATH_MAX + 32];
    int timed;     /* timed there (warm-up, duration); else until stopped */
    int ok;        /* fetched to lpath */
    char why[512]; /* not ok: why */
};

/* The life cycle; dw: the DUT host's CPU window. */
static void execute(struct remote_hosts *rh, const struct trial_ctx *c, const struct trial_plan *p,
                    const struct wl_spec *w, const char *rsjson, const char *rcjson,
                    struct trial_outcome *o, struct dut_window *dw)
{
    struct remote *dut = &rh->dut, *gen = &rh->gen;
    char err[1024];
    pid_t spid = -1, cpid = -1, wpid = -1;
    memset(o, 0, sizeof *o);
    o->delta_failed = 1;
    snprintf(o->delta_err, sizeof o->delta_err,
             "across hosts the DUT's packets are the generator host's %s counters", gen->h->iface);
    unlink(p->sjson);
    unlink(p->cjson);
    for (struct remote *r = dut; r; r = r == dut ? gen : NULL)
        if (!remote_alive(r)) {
            last_line(r->mlog, err, sizeof err);
            outcome_fail(o, "host %s (%s): connection lost%s%s", r->h->name, r->h->ssh,
                         err[0] ? ": " : "", err);
            rh->lost = 1;
            return;
        }
    if (set_addr(dut, kernel_keeps_addr(p->tl.drv), err, sizeof err) < 0) {
        outcome_fail(o, "cannot set the DUT address: %s", err);
        return;
    }
    spid = remote_spawn(dut, p->sargv, "server", p->slog, err, sizeof err);
    if (spid < 0) {
        outcome_fail(o, "cannot start the server: %s", err);
        return;
    }
    uint64_t end = proc_mono_ns() + 10 * SEC;
    int tries = 0;
    while (++tries, probe(gen, p->url) < 0) {
        if (proc_exited(spid) || *c->stop || proc_mono_ns() > end) {
            outcome_fail(o, "%s", *c->stop ? "interrupted"
                                  : proc_exited(spid)
                                      ? "the server exited before it answered (see its log)"
                                      : "server did not answer within 10 s");
            if (!*c->stop) snprintf(o->why + strlen(o->why), sizeof o->why - strlen(o->why),
                                    " (see %s)", p->slog);
            goto stop_server;
        }
        usleep(100000);
    }
    /* a try that failed may still have been parsed there (it timed out after
     * the server answered, or ssh lost its answer): the server may have parsed
     * that many requests beyond the generator's */
    o->probes = 1;
    o->probe_tries = tries;
    o->offloads = json_object();
    json_object_set_new(o->offloads, "dut_host", remote_offloads(dut));
    json_object_set_new(o->offloads, "gen_host", remote_offloads(gen));
    cpid = remote_spawn(gen, p->cargv, "client", p->clog, err, sizeof err);
    if (cpid < 0) {
        outcome_fail(o, "cannot start the generator: %s", err);
        goto stop_server;
    }
    /* the DUT host's CPU window, timed on that host by a process started with
     * the generator (an ssh session here and a process start there, as the
     * generator's): its end is its start plus the generator's duration, not
     * whenever a later ssh session gets to run on a busy host. A window
     * bounded by a request count or a download has no length known in
     * advance: it ends when the harness stops the snapshotter, after the
     * generator exited */
    char *wv[] = {(char *)dut->h->bin, "sysinfo", "--cpu-window", dw->rpath, "--warmup",
                  (char *)p->warm, "--duration", (char *)p->dur, NULL};
    dw->timed = w->mode != WL_DOWNLOAD && w->duration_ns && !w->requests;
    if (!dw->timed) wv[w->mode == WL_DOWNLOAD ? 4 : 6] = NULL; /* a download has no warm-up */
    wpid = remote_spawn(dut, wv, "cpuwin", dw->log, err, sizeof err);
    if (wpid < 0) snprintf(dw->why, sizeof dw->why, "cannot start it: %s", err);
    uint64_t guard = w->warmup_ns + w->duration_ns + 30 * SEC +
                     (w->mode == WL_DOWNLOAD ? 600 * SEC : 0);
    /* the generator ends by itself; the guard catches a hang, and a server
     * gone (it crashed, or its host's connection) ends the trial at once.
     * Not reaped here: remote_stop sees it exited, so it signals nothing
     * there (its pid may be another process's by then) and reaps it */
    int cexit = 0, sgone = 0;
    for (uint64_t gend = proc_mono_ns() + guard; proc_mono_ns() < gend && !*c->stop;) {
        if ((cexit = proc_sleep_watching(cpid, 50000000ull, NULL))) break;
        if ((sgone = proc_exited(spid))) break;
    }
    if (!cexit) {
        remote_stop(gen, cpid, "client", 3 * SEC);
        outcome_fail(o, "%s", *c->stop ? "interrupted"
                              : sgone  ? "the server's ssh session ended during the trial"
                                       : "generator did not finish in time");
        if (sgone) snprintf(o->why + strlen(o->why), sizeof o->why - strlen(o->why), " (see %s)",
                            p->slog);
    } else {
        int cst = remote_stop(gen, cpid, "client", SEC); /* exited: its status, its pidfile */
        if (!WIFEXITED(cst) || WEXITSTATUS(cst) != 0)
            outcome_fail(o, "generator failed (status %d%s, see %s)", exit_code(cst),
                         exit_code(cst) == 255 ? ": ssh lost the host" : "", p->clog);
    }
    if (wpid > 0) {
        /* a timed window ends by itself, about when the generator's did */
        if (dw->timed && !o->failure) proc_sleep_watching(wpid, 5 * SEC, c->stop);
        int wst = remote_stop(dut, wpid, "cpuwin", 3 * SEC);
        if (o->failure)
            snprintf(dw->why, sizeof dw->why, "the trial failed");
        else if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
            snprintf(dw->why, sizeof dw->why, "it failed (status %d, see %s)", exit_code(wst),
                     dw->log);
        else if (remote_fetch(dut, dw->rpath, dw->lpath, err, sizeof err) < 0)
            snprintf(dw->why, sizeof dw->why, "%s", err);
        else
            dw->ok = 1;
    }
stop_server:;
    int sst = remote_stop(dut, spid, "server", 5 * SEC);
    if (!o->failure && (!WIFEXITED(sst) || WEXITSTATUS(sst) != 0))
        outcome_fail(o, "server exited abnormally (status %d, see %s)", exit_code(sst), p->slog);
    if (o->failure) {
        if (!remote_alive(dut) || !remote_alive(gen)) rh->lost = 1;
        return;
    }
    if (remote_fetch(dut, rsjson, p->sjson, err, sizeof err) < 0 ||
        remote_fetch(gen, rcjson, p->cjson, err, sizeof err) < 0)
        outcome_fail(o, "%s", err);
}

static json_t *host_json(const struct remote *r)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:b}", "name", r->h->name, "ssh", r->h->ssh,
                     "iface", r->h->iface, "ip", r->h->ip, "prefix", r->h->prefix, "pci",
                     r->h->pci, "bin", r->h->bin, "binary_copied", r->copied);
}

/* The CPU figures of a run across hosts: the DUT's from the DUT host's own
 * window (dw: sysinfo --cpu-window there, on that host's clock and TSC), the
 * generator's from the generator's own window snapshots (its host). Replaces
 * what trial_record computed from the generator's snapshots for both cores. */
static void fix_cpu(struct remote_hosts *rh, json_t *rec, const struct dut_window *dw)
{
    static const char *const ck[] = {"dut_cycles_per_request", "system_cycles_per_request",
                                     "dut_cycles_per_packet", "system_cycles_per_packet",
                                     "ctx_switches_per_request", "net_rx_softirqs_per_request",
                                     "gen_util"};
    json_t *m = json_object_get(rec, "metrics"), *client = json_object_get(rec, "client");
    for (size_t i = 0; i < sizeof ck / sizeof ck[0]; i++) json_object_del(m, ck[i]);
    double reqs = json_number_value(json_object_get(client, "requests"));
    json_t *cpu = NULL, *wj = dw->ok ? json_load_file(dw->lpath, 0, NULL) : NULL;
    struct cpu_snap *g = malloc(2 * sizeof *g);
    if (g && wj && cpuacct_snap_from_json(json_object_get(wj, "start"), &g[0]) == 0 &&
        cpuacct_snap_from_json(json_object_get(wj, "end"), &g[1]) == 0 && g[1].t_ns > g[0].t_ns) {
        cpu = cpuacct_json(&g[0], &g[1], rh->dut.tsc_hz, rh->suite.dut_cpu, -1, reqs, 0);
        /* timed there: the generator's warm-up after it started, its duration
         * long; else from its start until the generator exited */
        json_object_set_new(cpu, "window_source", json_string(dw->timed ? "dut_host_timer"
                                                                   : "dut_host_until_generator_exit"));
        json_object_set_new(cpu, "dut_host_window",
                            json_pack("{s:I,s:I,s:s,s:s}", "start_ns", (json_int_t)g[0].t_ns,
                                      "end_ns", (json_int_t)g[1].t_ns, "clock",
                                      "CLOCK_MONOTONIC of the DUT host", "aligned",
                                      "started over ssh with the generator: its edges may be off "
                                      "the generator's by the difference between the two hosts' "
                                      "ssh session and process start-up, which is not measured "
                                      "across hosts"));
        /* its span against the generator's window */
        double ms = json_number_value(json_object_get(client, "measured_ns")) / 1e9;
        double ratio = ms > 0 ? (double)(g[1].t_ns - g[0].t_ns) / 1e9 / ms : 0;
        if (ms > 0) json_object_set_new(cpu, "window_vs_measured", json_real(ratio));
        json_object_set_new(cpu, "host", json_string(rh->dut.h->name));
        /* the metrics take per-request figures over the measured window only:
         * one that ran until the generator exited (a short download) may be
         * several times longer, and a poll-mode DUT's cycles grow with it */
        if (ratio > 0.95 && ratio < 1.05) {
            for (size_t i = 0; i + 1 < sizeof ck / sizeof ck[0]; i++)
                if (json_object_get(cpu, ck[i]))
                    json_object_set(m, ck[i], json_object_get(cpu, ck[i]));
        } else {
            char why[192];
            snprintf(why, sizeof why,
                     "the DUT host's window is %.3g times the measured one: its figures are in "
                     "cpu, not in metrics",
                     ratio);
            json_object_set_new(cpu, "not_in_metrics", json_string(why));
        }
    } else {
        cpu = json_object();
        json_object_set_new(cpu, "dut_host_window_missing",
                            json_string(dw->why[0] ? dw->why : "its file holds no two snapshots"));
    }
    json_decref(wj);
    json_t *gw = json_object_get(json_object_get(json_object_get(client, "window"), "cpu"), "start"),
           *ge = json_object_get(json_object_get(json_object_get(client, "window"), "cpu"), "end");
    if (g && cpuacct_snap_from_json(gw, &g[0]) == 0 && cpuacct_snap_from_json(ge, &g[1]) == 0 &&
        g[1].t_ns > g[0].t_ns) {
        json_t *gc = cpuacct_json(&g[0], &g[1], rh->gen.tsc_hz, -1, rh->suite.gen_cpu, reqs, 0);
        json_object_set_new(gc, "host", json_string(rh->gen.h->name));
        if (json_object_get(gc, "gen_util"))
            json_object_set(m, "gen_util", json_object_get(gc, "gen_util"));
        json_object_set_new(cpu, "generator_host", gc);
    }
    free(g);
    json_object_set_new(rec, "cpu", cpu);
}

json_t *remote_trial(struct remote_hosts *rh, const struct trial_ctx *c, struct trial_plan *p,
                     const struct wl_spec *w, const char *entry, unsigned rep, int trial,
                     struct trial_outcome *o)
{
    static char rsjson[PATH_MAX], rcjson[PATH_MAX];
    struct dut_window *dw = calloc(1, sizeof *dw);
    struct trial_ctx rc = *c;
    rc.suite = &rh->suite;
    trial_plan(p, &rc, w, entry, rep, trial);
    remote_plan(p, &rh->dut, &rh->gen, rh->suite.port, w, rsjson, rcjson);
    if (!dw) {
        memset(o, 0, sizeof *o);
        outcome_fail(o, "out of memory");
    } else {
        snprintf(dw->rpath, sizeof dw->rpath, "%s/dutcpu.json", rh->dut.rdir);
        snprintf(dw->lpath, sizeof dw->lpath, "%s.dutcpu.json", p->base);
        snprintf(dw->log, sizeof dw->log, "%s.dutcpu.log", p->base);
        unlink(dw->lpath);
        execute(rh, &rc, p, w, rsjson, rcjson, o, dw);
    }
    json_t *rec = trial_record(&rc, p, w, o);
    json_object_del(rec, "netns");
    json_object_set_new(rec, "hosts", json_pack("{s:o,s:o}", "server", host_json(&rh->dut),
                                                "client", host_json(&rh->gen)));
    json_object_set_new(rec, "clocks",
                        json_string("no timestamp is compared across hosts: latency is on the "
                                    "generator host's clock, each CPU window on its own host's"));
    if (dw) fix_cpu(rh, rec, dw);
    free(dw);
    return rec;
}
