/*
 * eal.c — DPDK's EAL for the "dpdk" pktio: its arguments, its life cycle
 * (once per process) and DPDK's log, captured. The EAL's state is
 * process-wide, so it is file-scope here (struct eal below, and nowhere
 * else); its mutex (dp_eal_lock) also guards ring.c's and port.c's.
 *
 * Callers: port.c (dp_open, dp_close). Calls: rte_eal_init,
 * rte_eal_cleanup, rte_openlog_stream; capture.c (dp_cap_file_prefix,
 * dp_cap_eal_cleanup); libc (the argument string, the stdout/stderr
 * capture, the log file).
 *
 * EAL: initialised by the first open of the process, from eal= (used as is:
 *     space-separated EAL arguments) or else from defaults:
 *       --lcores=0@(<the calling thread's CPUs, or cpu=N>) --no-huge -m <mem>
 *       --no-pci --no-shconf --no-telemetry --file-prefix=bb<pid> [--vdev=..]
 *     (huge=1 uses hugepages with --in-memory instead of --no-huge: no files
 *     either way; multi-process capture (DESIGN §8) needs hugepages and a
 *     shared config, so give the whole eal= for it, with --huge-unlink unless
 *     a secondary must attach). rte_eal_init runs once per process: a later
 *     open that asks for different EAL arguments is refused with an error; one
 *     that gives no EAL options shares the running EAL. While rte_eal_init
 *     runs, stdout and stderr are captured (EAL prints its usage and getopt
 *     complaints there) and DPDK's log goes to an in-memory tail for the whole
 *     process life (log=PATH also appends it to a file): failures come back
 *     as err strings quoting what EAL said, never rte_exit or a print. On
 *     failure EAL is cleaned up and its (empty) runtime directory removed.
 *     When the last port we opened is closed, rte_eal_cleanup runs (hugepage
 *     files go with it) and the port is closed for good (DPDK cannot be
 *     initialised twice in a process), unless some open asked keep_eal=1.
 */
#ifdef HAVE_DPDK

#include "drivers/dpdk/dpdk_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#define EAL_ARGV_MAX 64
#define EAL_LOG_TAIL 4096

/* DPDK's EAL exists once per process, so its state does too: whether (and
 * with which arguments) we initialised it, whether some open asked to keep
 * it, and the tail of DPDK's log (its log stream is process-wide). Guarded
 * by mu; the log tail by log_mu (DPDK threads log too). */
enum eal_state { EAL_NONE, EAL_OURS, EAL_EXTERNAL, EAL_GONE };

static struct {
    pthread_mutex_t mu;
    enum eal_state state;
    char args[EAL_ARGS_MAX];   /* the arguments it runs with (without argv[0]) */
    char argbuf[EAL_ARGS_MAX]; /* argv strings, kept alive for EAL */
    char *argv[EAL_ARGV_MAX + 2];
    int keep; /* keep_eal=1 was asked for: sticky */
    pthread_mutex_t log_mu;
    char log[EAL_LOG_TAIL];
    size_t log_len;
    uint64_t log_total; /* bytes ever logged: marks positions in the tail */
    int log_fd;
    FILE *log_stream;
} eal = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .log_mu = PTHREAD_MUTEX_INITIALIZER,
    .log_fd = -1,
};

/* ---- EAL arguments ---------------------------------------------------------- */

/* "0-3,6": the CPUs this thread may run on (or just `cpu`). */
static int cpu_list(int cpu, char *out, size_t outlen)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0) {
        CPU_SET(cpu, &set);
    } else if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) == 0) {
        CPU_ZERO(&set);
        CPU_SET(0, &set);
    }
    size_t n = 0;
    out[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set)) continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set))
            e++;
        int w = e > c ? snprintf(out + n, outlen - n, "%s%d-%d", n ? "," : "", c, e)
                      : snprintf(out + n, outlen - n, "%s%d", n ? "," : "", c);
        if (w < 0 || (size_t)w >= outlen - n) return -1;
        n += (size_t)w;
        c = e;
    }
    return 0;
}

/* The EAL arguments (without argv[0]) as one space-separated string. */
int dp_eal_args(const struct dp_opts *o, char *out, size_t outlen, char *err, size_t errlen)
{
    int w;
    if (o->eal) {
        w = snprintf(out, outlen, "%s", o->eal);
        if (o->extra_vdev && w >= 0 && (size_t)w < outlen)
            w += snprintf(out + w, outlen - (size_t)w, " --vdev=%s", o->extra_vdev);
    } else {
        char cpus[512];
        if (cpu_list(o->cpu, cpus, sizeof(cpus)) < 0) {
            snprintf(err, errlen, "dpdk: too many CPUs for the default --lcores: give eal=");
            return -1;
        }
        char prefix[40];
        dp_cap_file_prefix(&o->cap, prefix, sizeof(prefix));
        w = snprintf(out, outlen,
                     "--lcores=0@(%s) %s -m %u --no-pci %s--no-telemetry --file-prefix=%s", cpus,
                     o->cap.pdump ? "--proc-type=primary" : o->huge ? "--in-memory" : "--no-huge",
                     o->mem, o->cap.pdump ? "" : "--no-shconf ", prefix);
        for (int i = 0; i < o->nvdev && w >= 0 && (size_t)w < outlen; i++)
            w += snprintf(out + w, outlen - (size_t)w, " --vdev=%s", o->vdev[i]);
        if (o->extra_vdev && w >= 0 && (size_t)w < outlen)
            w += snprintf(out + w, outlen - (size_t)w, " --vdev=%s", o->extra_vdev);
    }
    if (w < 0 || (size_t)w >= outlen) {
        snprintf(err, errlen, "dpdk: EAL arguments longer than %d bytes", EAL_ARGS_MAX - 1);
        return -1;
    }
    return 0;
}

/* ---- DPDK's log, captured ----------------------------------------------- */

static ssize_t log_write(void *cookie, const char *buf, size_t len)
{
    (void)cookie;
    pthread_mutex_lock(&eal.log_mu);
    if (eal.log_fd >= 0 && write(eal.log_fd, buf, len) < 0) {
        /* nothing to do: the file is a convenience, the tail is kept anyway */
    }
    size_t take = len > EAL_LOG_TAIL / 2 ? EAL_LOG_TAIL / 2 : len;
    const char *src = buf + (len - take);
    if (eal.log_len + take > EAL_LOG_TAIL) { /* keep the newest half (take <= half) */
        size_t keep = eal.log_len < EAL_LOG_TAIL / 2 ? eal.log_len : EAL_LOG_TAIL / 2;
        memmove(eal.log, eal.log + eal.log_len - keep, keep);
        eal.log_len = keep;
    }
    memcpy(eal.log + eal.log_len, src, take);
    eal.log_len += take;
    eal.log_total += len;
    pthread_mutex_unlock(&eal.log_mu);
    return (ssize_t)len;
}

static int log_open(const char *path, char *err, size_t errlen)
{
    if (path && eal.log_fd < 0) {
        eal.log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (eal.log_fd < 0) {
            snprintf(err, errlen, "dpdk: log=%s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (!eal.log_stream) {
        cookie_io_functions_t fns = {.write = log_write};
        eal.log_stream = fopencookie(NULL, "w", fns);
        if (!eal.log_stream) {
            snprintf(err, errlen, "dpdk: cannot open a stream for DPDK's log: %s", strerror(errno));
            return -1;
        }
        setvbuf(eal.log_stream, NULL, _IOLBF, 0);
    }
    if (rte_openlog_stream(eal.log_stream) < 0) {
        snprintf(err, errlen, "dpdk: rte_openlog_stream failed");
        return -1;
    }
    return 0;
}

uint64_t dp_log_mark(void)
{
    pthread_mutex_lock(&eal.log_mu);
    uint64_t m = eal.log_total;
    pthread_mutex_unlock(&eal.log_mu);
    return m;
}

/* DPDK's log lines since `mark` (what is left of them in the tail). */
static void log_since(uint64_t mark, char *out, size_t outlen)
{
    pthread_mutex_lock(&eal.log_mu);
    uint64_t n = eal.log_total - mark;
    if (n > eal.log_len) n = eal.log_len;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, eal.log + eal.log_len - n, n);
    out[n] = '\0';
    pthread_mutex_unlock(&eal.log_mu);
}

/* Append the lines of `text` worth showing to out ("; "-separated). */
static void explain_lines(const char *text, int getopt_only, char *out, size_t outlen)
{
    static const char *const noise[] = {
        "EAL: Detected",      "EAL: Selected IOVA", "EAL: Physical addresses",
        "EAL: Multi-process", "EAL: Unregistering", "EAL: FATAL",
        "TELEMETRY:",         "EAL: Probe PCI",     "EAL: Invalid 'command line'",
    };
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        int keep = len > 0;
        if (getopt_only) {
            keep = len > 12 && strncmp(line, "bypassbench:", 12) == 0;
        } else {
            for (size_t i = 0; keep && i < sizeof(noise) / sizeof(noise[0]); i++)
                if (strncmp(line, noise[i], strlen(noise[i])) == 0) keep = 0;
        }
        char one[256];
        snprintf(one, sizeof(one), "%.*s", (int)len, line);
        size_t used = strlen(out);
        if (keep && !strstr(out, one) && used + 3 < outlen) /* EAL parses argv twice */
            snprintf(out + used, outlen - used, "%s%s", used ? "; " : "", one);
        line = nl ? nl + 1 : NULL;
    }
}

void dp_log_explain(uint64_t mark, char *out, size_t outlen)
{
    char logs[EAL_LOG_TAIL];
    log_since(mark, logs, sizeof(logs));
    explain_lines(logs, 0, out, outlen);
}

/* ---- EAL set-up and tear-down (caller holds eal.mu: dp_eal_lock) ---------- */

/* Remove EAL's runtime directory (/var/run/dpdk/<prefix>, or under /tmp or
 * $XDG_RUNTIME_DIR when not root) if it is empty. Its parent stays: another
 * process may be creating its own directory in it right now. */
static void eal_rmdir(const char *dir)
{
    if (*dir) (void)rmdir(dir);
}

static void eal_shutdown_locked(void)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    dp_cap_eal_cleanup(dir); /* capture.c: what a shared-config EAL leaves */
    eal_rmdir(dir);
    eal.state = EAL_GONE;
}

/* Run rte_eal_init with stdout/stderr captured into `cap`. */
static int eal_init_captured(int argc, char *cap, size_t caplen)
{
    int mfd = memfd_create("bb-eal-init", MFD_CLOEXEC);
    int saved[2] = {-1, -1};
    fflush(stdout);
    fflush(stderr);
    for (int fd = 1; mfd >= 0 && fd <= 2; fd++) {
        saved[fd - 1] = dup(fd);
        if (saved[fd - 1] >= 0) dup2(mfd, fd);
    }
    int rc = rte_eal_init(argc, eal.argv);
    int e = rte_errno;
    fflush(stdout);
    fflush(stderr);
    for (int fd = 1; fd <= 2; fd++) {
        if (saved[fd - 1] < 0) continue;
        dup2(saved[fd - 1], fd);
        close(saved[fd - 1]);
    }
    cap[0] = '\0';
    if (mfd >= 0) {
        ssize_t n = pread(mfd, cap, caplen - 1, 0);
        cap[n > 0 ? n : 0] = '\0';
        close(mfd);
    }
    rte_errno = e;
    return rc;
}

int dp_eal_start_locked(const struct dp_opts *o, const char *args, char *err, size_t errlen)
{
    if (eal.state == EAL_OURS || eal.state == EAL_EXTERNAL) {
        /* (huge=1 asks for nothing new where the EAL already runs on
         * hugepages: both ends of a ring pair in one process say it) */
        int asked = o->eal || o->nvdev || o->extra_vdev || o->cpu >= 0 ||
                    (o->huge && !strstr(eal.args, "--in-memory"));
        if (asked && eal.state == EAL_OURS && strcmp(args, eal.args) != 0) {
            snprintf(err, errlen,
                     "dpdk: EAL already runs in this process with '%s'; it cannot be "
                     "initialised again with '%s' (open the other port without EAL options)",
                     eal.args, args);
            return -1;
        }
        return 0;
    }
    if (eal.state == EAL_GONE) {
        snprintf(err, errlen,
                 "dpdk: EAL was shut down in this process (last port closed, or a failed "
                 "init) and DPDK cannot initialise twice; use keep_eal=1");
        return -1;
    }
    /* Tokenise into argv strings that stay alive as long as the process. */
    snprintf(eal.argbuf, sizeof(eal.argbuf), "%s", args);
    int argc = 0;
    eal.argv[argc++] = (char *)"bypassbench";
    for (char *save = NULL, *t = strtok_r(eal.argbuf, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (argc == EAL_ARGV_MAX + 1) {
            snprintf(err, errlen, "dpdk: more than %d EAL arguments", EAL_ARGV_MAX);
            return -1;
        }
        eal.argv[argc++] = t;
    }
    eal.argv[argc] = NULL;
    if (log_open(o->log, err, errlen) < 0) return -1;

    char cap[2048], logs[EAL_LOG_TAIL];
    uint64_t mark = dp_log_mark();
    if (eal_init_captured(argc, cap, sizeof(cap)) >= 0) {
        snprintf(eal.args, sizeof(eal.args), "%s", args);
        eal.state = EAL_OURS;
        return 0;
    }
    int e = rte_errno;
    if (e == EALREADY) { /* somebody else in this process runs it: share it */
        eal.state = EAL_EXTERNAL;
        return 0;
    }
    char why[512] = "";
    explain_lines(cap, 1, why, sizeof(why));
    log_since(mark, logs, sizeof(logs));
    explain_lines(logs, 0, why, sizeof(why));
    snprintf(err, errlen, "dpdk: EAL init failed (%s): %s [EAL args: %s]", rte_strerror(e),
             *why ? why : "no reason given", args);
    eal_shutdown_locked();
    return -1;
}

/* After a failed open or a close: shut EAL down once no port of ours is open. */
void dp_eal_release_locked(int open_ports)
{
    if (eal.state == EAL_OURS && open_ports == 0 && !eal.keep) eal_shutdown_locked();
}

int dp_eal_running_locked(void)
{
    return eal.state == EAL_OURS || eal.state == EAL_EXTERNAL;
}

void dp_eal_keep_locked(void)
{
    eal.keep = 1;
}

int dp_eal_kept_locked(void)
{
    return eal.keep;
}

void dp_eal_lock(void)
{
    pthread_mutex_lock(&eal.mu);
}

void dp_eal_unlock(void)
{
    pthread_mutex_unlock(&eal.mu);
}

#endif /* HAVE_DPDK */
