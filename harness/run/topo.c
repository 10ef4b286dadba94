/*
 * topo.c — veth topology (DESIGN §5) and running processes inside it.
 *
 * Callers: harness/cli/topo.c (topo up|down|status), harness/cli/run.c and
 * harness/run/trial.c (run), harness/run/doctor.c, harness/run/sysinfo.c, tests.
 * Calls: `ip` from iproute2 through topo_cmd() (posix_spawn with an argv
 * array, stderr captured for the error message), `ip netns exec ... sysctl`
 * and `... sh -c` where a sysfs/sysctl view of the namespace is needed,
 * fork + setns(CLONE_NEWNET) for topo_spawn/topo_run_in/topo_ifstats.
 *
 * topo_up:   down(bb-gen, bb-dut) -> netns add x2 -> veth pair created with
 *            its ends directly in the namespaces -> addresses -> IPv6 off on
 *            the veths -> lo and veths up -> optional RPS mask.
 * topo_down: for each bb-* namespace: SIGKILL `ip netns pids` -> detach
 *            XDP programs left on its interfaces -> delete the veth -> netns
 *            del; then XDP on bb-* interfaces of the root ns, and
 *            bb-gen0/bb-dut0 left there.
 */
#include "harness/run/topo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define NETNS_DIR "/run/netns"
#define MAX_ARGS 24
#define MAX_NS 64
#define KILL_WAIT_ROUNDS 50 /* x 20 ms: how long topo_down waits for killed processes */

/* ---- running commands ------------------------------------------------- */

int topo_which(const char *prog, char *path, size_t len)
{
    struct stat sb;
    if (strchr(prog, '/')) {
        if (stat(prog, &sb) != 0 || !S_ISREG(sb.st_mode) || access(prog, X_OK) != 0) return -1;
        snprintf(path, len, "%s", prog);
        return 0;
    }
    const char *env = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin",
             env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char cand[PATH_MAX];
        int n = snprintf(cand, sizeof(cand), "%s/%s", d, prog);
        if (n < 0 || (size_t)n >= sizeof(cand)) continue;
        if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode) && access(cand, X_OK) == 0) {
            snprintf(path, len, "%s", cand);
            return 0;
        }
    }
    return -1;
}

static void join_argv(char *const argv[], char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; argv[i] && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
        if (n < 0) break;
        off += (size_t)n;
    }
}

/* Trailing newlines off; inner newlines become "; ". */
static void tidy_msg(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n') *p = ';';
}

/* Append what is readable on fd to buf (keeps NUL termination, drops the
 * excess). Returns 0 at EOF, 1 if more may come. */
static int drain(int fd, char *buf, size_t cap, size_t *used)
{
    char tmp[1024];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (n == 0) return 0;
    if (buf && cap > 1 && *used < cap - 1) {
        size_t k = (size_t)n < cap - 1 - *used ? (size_t)n : cap - 1 - *used;
        memcpy(buf + *used, tmp, k);
        *used += k;
        buf[*used] = '\0';
    }
    return 1;
}

static pid_t wait_pid(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

int topo_cmd(char *const argv[], char *out, size_t outlen, char *err, size_t errlen)
{
    char cmd[256], path[PATH_MAX], ebuf[512] = "";
    size_t oused = 0, eused = 0;
    join_argv(argv, cmd, sizeof(cmd));
    if (out && outlen) out[0] = '\0';
    if (topo_which(argv[0], path, sizeof(path)) < 0) {
        snprintf(err, errlen, "%s: '%s' not found in PATH, /usr/sbin or /sbin", cmd, argv[0]);
        return -1;
    }
    int op[2] = {-1, -1}, ep[2] = {-1, -1};
    if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "%s: pipe: %s", cmd, strerror(errno));
        if (op[0] >= 0) close(op[0]), close(op[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, op[1], 1);
    posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(op[1]);
    close(ep[1]);
    if (rc != 0) {
        close(op[0]);
        close(ep[0]);
        snprintf(err, errlen, "%s: spawn %s: %s", cmd, path, strerror(rc));
        return -1;
    }
    struct pollfd pf[2] = {{.fd = op[0], .events = POLLIN}, {.fd = ep[0], .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int more = i == 0 ? drain(pf[i].fd, out, outlen, &oused)
                              : drain(pf[i].fd, ebuf, sizeof(ebuf), &eused);
            if (!more) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0) close(pf[i].fd);
    int st = 0;
    if (wait_pid(pid, &st) < 0) {
        snprintf(err, errlen, "%s: waitpid: %s", cmd, strerror(errno));
        return -1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    tidy_msg(ebuf);
    if (ebuf[0])
        snprintf(err, errlen, "%s: %s", cmd, ebuf);
    else if (WIFEXITED(st))
        snprintf(err, errlen, "%s: exit status %d", cmd, WEXITSTATUS(st));
    else
        snprintf(err, errlen, "%s: killed by signal %d", cmd, WTERMSIG(st));
    return -1;
}

/* ip ARGS... (NULL-terminated). */
int topo_ip(char *err, size_t errlen, ...)
{
    char *argv[MAX_ARGS];
    int n = 0;
    va_list ap;
    va_start(ap, errlen);
    argv[n++] = "ip";
    for (const char *a; n < MAX_ARGS - 1 && (a = va_arg(ap, const char *));)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return topo_cmd(argv, NULL, 0, err, errlen);
}

/* ---- namespaces --------------------------------------------------------- */

static int ns_exists(const char *ns)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), NETNS_DIR "/%s", ns);
    return access(p, F_OK) == 0;
}

static int open_ns(const char *ns)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), NETNS_DIR "/%s", ns);
    return open(p, O_RDONLY | O_CLOEXEC);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* SIGKILL every process in NS and wait (bounded) until none is left. */
static int kill_ns_procs(const char *ns, char *err, size_t errlen)
{
    char *argv[] = {"ip", "netns", "pids", (char *)ns, NULL};
    char out[4096], e[256];
    for (int round = 0; round < KILL_WAIT_ROUNDS; round++) {
        if (topo_cmd(argv, out, sizeof(out), e, sizeof(e)) < 0) return 0; /* stale entry */
        int any = 0;
        char *save = NULL;
        for (char *t = strtok_r(out, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
            long pid = strtol(t, NULL, 10);
            if (pid <= 1 || pid == (long)getpid()) continue;
            any = 1;
            if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH) {
                snprintf(err, errlen, "netns %s: kill %ld: %s", ns, pid, strerror(errno));
                return -1;
            }
        }
        if (!any) return 0;
        sleep_ms(20);
    }
    snprintf(err, errlen, "netns %s: processes still inside after SIGKILL: %s", ns, out);
    return -1;
}

/* Detach every XDP program left on an interface of NS (NULL: ours): one
 * attached through netlink outlives the process that attached it (DPDK's
 * net_af_xdp, `ip link set ... xdp`, a kill -9). The afxdp driver's own
 * program hangs on a bpf_link and went with its process. Native and generic
 * are detached apart: "xdp off" removes only the native one. A bpf_link's
 * program can outlive its process by a moment (the kernel releases the link
 * from a work queue): a program still there is looked at again for up to
 * 1 s. 0, or -1 with the interface whose program stayed. */
int topo_xdp_detach(const char *ns, char *err, size_t errlen)
{
    char *show_ns[] = {"ip", "-n", (char *)ns, "-o", "link", "show", NULL};
    char *show_here[] = {"ip", "-o", "link", "show", NULL};
    char out[16384], e[256];
    if (topo_cmd(ns ? show_ns : show_here, out, sizeof(out), e, sizeof(e)) < 0) return 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strstr(line, "prog/xdp") && !strstr(line, " xdp")) continue;
        char name[IFNAMSIZ + 1] = "";
        const char *p = strchr(line, ':');
        if (!p) continue;
        p += strspn(p + 1, " ") + 1;
        size_t n = strcspn(p, ":@ ");
        if (n == 0 || n > IFNAMSIZ) continue;
        memcpy(name, p, n);
        name[n] = '\0';
        if (!ns && strncmp(name, TOPO_NS_PREFIX, strlen(TOPO_NS_PREFIX)) != 0) continue;
        static const char *const modes[] = {"xdpgeneric", "xdpdrv", "xdpoffload"};
        char *one_ns[] = {"ip", "-n", (char *)ns, "-o", "link", "show", "dev", name, NULL};
        char *one_here[] = {"ip", "-o", "link", "show", "dev", name, NULL};
        char now[4096];
        int left = 1;
        for (int round = 0; left && round < 50; round++) {
            if (round) sleep_ms(20);
            for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
                if (ns)
                    topo_ip(e, sizeof(e), "-n", ns, "link", "set", "dev", name, modes[m], "off",
                            NULL);
                else
                    topo_ip(e, sizeof(e), "link", "set", "dev", name, modes[m], "off", NULL);
            left = topo_cmd(ns ? one_ns : one_here, now, sizeof(now), e, sizeof(e)) == 0 &&
                   strstr(now, "prog/xdp");
        }
        if (left) {
            snprintf(err, errlen, "%s%s%s: an XDP program is still attached (a live bpf_link?)",
                     ns ? ns : "", ns ? ": " : "", name);
            return -1;
        }
    }
    return 0;
}

/* Tear down one namespace: its processes, its XDP programs, its veth end (if
 * IFNAME), itself. */
static int down_ns(const char *ns, const char *ifname, char *err, size_t errlen)
{
    char e[256];
    if (!ns_exists(ns)) return 0;
    if (kill_ns_procs(ns, err, errlen) < 0) return -1;
    /* Best effort: deleting the interfaces below removes any program anyway. */
    topo_xdp_detach(ns, e, sizeof(e));
    if (ifname) topo_ip(e, sizeof(e), "-n", ns, "link", "del", ifname, NULL); /* may be gone */
    return topo_ip(err, errlen, "netns", "del", ns, NULL);
}

/* Delete bb-gen0/bb-dut0 left in the namespace we run in (a crash between
 * `link add` and `link set netns` in older versions, or a manual setup),
 * after detaching XDP programs from any bb-* interface here. */
static int down_root_links(char *err, size_t errlen)
{
    if (topo_xdp_detach(NULL, err, errlen) < 0) return -1;
    const char *ifs[] = {TOPO_IF_GEN, TOPO_IF_DUT};
    for (size_t i = 0; i < sizeof(ifs) / sizeof(ifs[0]); i++)
        if (if_nametoindex(ifs[i]) && topo_ip(err, errlen, "link", "del", ifs[i], NULL) < 0 &&
            if_nametoindex(ifs[i]))
            return -1;
    return 0;
}

int topo_present(void)
{
    DIR *d = opendir(NETNS_DIR);
    if (!d) return 0;
    int found = 0;
    for (struct dirent *de; !found && (de = readdir(d));)
        found = strncmp(de->d_name, TOPO_NS_PREFIX, strlen(TOPO_NS_PREFIX)) == 0;
    closedir(d);
    return found;
}

int topo_down(char *err, size_t errlen)
{
    char names[MAX_NS][NAME_MAX + 1];
    int n = 0, rc = 0;
    DIR *d = opendir(NETNS_DIR);
    if (d) {
        for (struct dirent *de; n < MAX_NS && (de = readdir(d));)
            if (strncmp(de->d_name, TOPO_NS_PREFIX, strlen(TOPO_NS_PREFIX)) == 0)
                snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
        closedir(d);
    }
    for (int i = 0; i < n; i++) {
        const char *ifname = strcmp(names[i], TOPO_NS_GEN) == 0   ? TOPO_IF_GEN
                             : strcmp(names[i], TOPO_NS_DUT) == 0 ? TOPO_IF_DUT
                                                                  : NULL;
        char e[512];
        if (down_ns(names[i], ifname, e, sizeof(e)) < 0 && rc == 0) {
            snprintf(err, errlen, "%s", e);
            rc = -1;
        }
    }
    char e[512];
    if (down_root_links(e, sizeof(e)) < 0 && rc == 0) {
        snprintf(err, errlen, "%s", e);
        rc = -1;
    }
    if (rc == 0 && topo_present()) {
        snprintf(err, errlen, "a bb-* namespace is still listed in " NETNS_DIR);
        rc = -1;
    }
    return rc;
}

/* ---- topo_up ------------------------------------------------------------ */

/* The rps_cpus bitmap for one CPU: 32-bit hex groups, comma-separated,
 * most significant first ("1", "2,00000000"). */
static void rps_mask(int cpu, char *buf, size_t len)
{
    int groups = cpu / 32 + 1;
    size_t off = 0;
    for (int g = groups - 1; g >= 0 && off < len; g--) {
        unsigned v = g == cpu / 32 ? 1u << (cpu % 32) : 0;
        int n = snprintf(buf + off, len - off, g == groups - 1 ? "%x" : ",%08x", v);
        if (n < 0) break;
        off += (size_t)n;
    }
}

static int set_disable_ipv6(const char *ns, const char *ifname, char *err, size_t errlen)
{
    char key[96];
    if (access("/proc/sys/net/ipv6", F_OK) != 0) return 0; /* kernel without IPv6 */
    snprintf(key, sizeof(key), "net.ipv6.conf.%s.disable_ipv6=1", ifname);
    return topo_ip(err, errlen, "netns", "exec", ns, "sysctl", "-q", "-w", key, NULL);
}

int topo_veth_offloads(int on, char *err, size_t errlen)
{
    /* off: a wire, not a shortcut: MTU-sized frames with their checksums
     * filled in, as a NIC would carry them. With TSO/GSO and checksum
     * offload a veth passes 64 KiB super-frames with partial checksums,
     * which flatters the kernel path unless the raw-frame drivers get the
     * same (offloads = on: afpacket's PACKET_VNET_HDR, the PMD's offloads). */
    const char *const nss[] = {TOPO_NS_GEN, TOPO_NS_DUT};
    const char *const ifs[] = {TOPO_IF_GEN, TOPO_IF_DUT};
    const char *v = on ? "on" : "off";
    for (int i = 0; i < 2; i++)
        if (topo_ip(err, errlen, "netns", "exec", nss[i], "ethtool", "-K", ifs[i], "tso", v, "gso",
                    v, "gro", v, "tx", v, NULL) < 0)
            return -1;
    return 0;
}

static int build_veth(const struct topo_config *c, char *err, size_t errlen)
{
    char gen_ip[32], dut_ip[32];
    snprintf(gen_ip, sizeof(gen_ip), "%s/%d", TOPO_IP_GEN, TOPO_PREFIX);
    snprintf(dut_ip, sizeof(dut_ip), "%s/%d", TOPO_IP_DUT, TOPO_PREFIX);

    if (topo_ip(err, errlen, "netns", "add", TOPO_NS_GEN, NULL) < 0) return -1;
    if (topo_ip(err, errlen, "netns", "add", TOPO_NS_DUT, NULL) < 0) return -1;
    /* Both ends are created inside their namespaces: no name can clash with
     * anything in the root namespace, and nothing is left there on a crash. */
    if (topo_ip(err, errlen, "link", "add", TOPO_IF_GEN, "netns", TOPO_NS_GEN, "type", "veth", "peer",
           "name", TOPO_IF_DUT, "netns", TOPO_NS_DUT, NULL) < 0)
        return -1;
    if (set_disable_ipv6(TOPO_NS_GEN, TOPO_IF_GEN, err, errlen) < 0) return -1;
    if (set_disable_ipv6(TOPO_NS_DUT, TOPO_IF_DUT, err, errlen) < 0) return -1;
    if (topo_ip(err, errlen, "-n", TOPO_NS_GEN, "addr", "add", gen_ip, "dev", TOPO_IF_GEN, NULL) < 0)
        return -1;
    if (c->dut_addr &&
        topo_ip(err, errlen, "-n", TOPO_NS_DUT, "addr", "add", dut_ip, "dev", TOPO_IF_DUT, NULL) < 0)
        return -1;
    const char *const nss[] = {TOPO_NS_GEN, TOPO_NS_DUT};
    const char *const ifs[] = {TOPO_IF_GEN, TOPO_IF_DUT};
    for (int i = 0; i < 2; i++) {
        if (topo_ip(err, errlen, "-n", nss[i], "link", "set", "lo", "up", NULL) < 0) return -1;
        if (topo_ip(err, errlen, "-n", nss[i], "link", "set", ifs[i], "up", NULL) < 0) return -1;
    }
    if (topo_veth_offloads(c->offloads, err, errlen) < 0) return -1;
    if (c->rps) {
        char mask[64];
        rps_mask(c->dut_cpu, mask, sizeof(mask));
        /* sysfs shows the namespace it was mounted in: `ip netns exec`
         * remounts /sys for the namespace, so write from inside it. */
        if (topo_ip(err, errlen, "netns", "exec", TOPO_NS_DUT, "sh", "-c", "echo \"$1\" > \"$2\"", "sh",
               mask, "/sys/class/net/" TOPO_IF_DUT "/queues/rx-0/rps_cpus", NULL) < 0)
            return -1;
    }
    return 0;
}

int topo_up(const struct topo_config *c, char *err, size_t errlen)
{
    const char *link = c->link ? c->link : "veth";
    if (strcmp(link, "veth") != 0) {
        snprintf(err, errlen, "topo up: link '%s' is not supported (only 'veth')", link);
        return -1;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    if (c->rps && (c->dut_cpu < 0 || c->dut_cpu >= ncpu)) {
        snprintf(err, errlen, "topo up: rps needs a DUT cpu in 0..%ld, got %d", ncpu - 1,
                 c->dut_cpu);
        return -1;
    }
    if (geteuid() != 0) {
        snprintf(err, errlen, "topo up: needs root (network namespaces need CAP_SYS_ADMIN)");
        return -1;
    }
    if (down_ns(TOPO_NS_GEN, TOPO_IF_GEN, err, errlen) < 0 ||
        down_ns(TOPO_NS_DUT, TOPO_IF_DUT, err, errlen) < 0 || down_root_links(err, errlen) < 0)
        return -1;
    if (build_veth(c, err, errlen) < 0) {
        char e[256];
        down_ns(TOPO_NS_GEN, TOPO_IF_GEN, e, sizeof(e));
        down_ns(TOPO_NS_DUT, TOPO_IF_DUT, e, sizeof(e));
        return -1;
    }
    return 0;
}

/* ---- processes inside a namespace --------------------------------------- */

enum spawn_stage { ST_PDEATHSIG, ST_SETNS, ST_STDIN, ST_STDOUT, ST_STDERR, ST_EXEC };
static const char *const stage_names[] = {
    [ST_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
    [ST_SETNS] = "setns",
    [ST_STDIN] = "open /dev/null",
    [ST_STDOUT] = "open stdout file",
    [ST_STDERR] = "open stderr file",
    [ST_EXEC] = "execv",
};

struct spawn_report {
    int stage;
    int err;
};

/* In the child after fork: only async-signal-safe calls. */
static int redirect(const char *path, int flags, int target)
{
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (dup2(fd, target) < 0) return -1; /* dup2 clears O_CLOEXEC on target */
    close(fd);
    return 0;
}

static __attribute__((noreturn)) void child_fail(int fd, int stage)
{
    struct spawn_report r = {.stage = stage, .err = errno};
    ssize_t n = write(fd, &r, sizeof(r));
    (void)n;
    _exit(127);
}

pid_t topo_spawn(const char *ns, char *const argv[], const char *out_path, const char *err_path,
                 char *err, size_t errlen)
{
    int nsfd = -1, rp[2];
    if (ns && (nsfd = open_ns(ns)) < 0) {
        snprintf(err, errlen, "spawn %s: netns %s: %s", argv[0], ns, strerror(errno));
        return -1;
    }
    if (pipe2(rp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "spawn %s: pipe: %s", argv[0], strerror(errno));
        if (nsfd >= 0) close(nsfd);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        close(rp[0]);
        setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) child_fail(rp[1], ST_PDEATHSIG);
        if (getppid() != parent) _exit(127); /* the parent died before prctl */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) child_fail(rp[1], ST_SETNS);
        if (redirect("/dev/null", O_RDONLY, 0) < 0) child_fail(rp[1], ST_STDIN);
        if (out_path && redirect(out_path, O_WRONLY | O_CREAT | O_TRUNC, 1) < 0)
            child_fail(rp[1], ST_STDOUT);
        if (err_path && redirect(err_path, O_WRONLY | O_CREAT | O_TRUNC, 2) < 0)
            child_fail(rp[1], ST_STDERR);
        /* Do not leak the harness's sockets and files into the child. */
        close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
        execv(argv[0], argv);
        child_fail(rp[1], ST_EXEC);
    }
    int fork_errno = errno;
    if (nsfd >= 0) close(nsfd);
    close(rp[1]);
    if (pid < 0) {
        close(rp[0]);
        snprintf(err, errlen, "spawn %s: fork: %s", argv[0], strerror(fork_errno));
        return -1;
    }
    struct spawn_report r;
    ssize_t n;
    do
        n = read(rp[0], &r, sizeof(r));
    while (n < 0 && errno == EINTR);
    close(rp[0]);
    if (n == (ssize_t)sizeof(r)) {
        wait_pid(pid, NULL);
        snprintf(err, errlen, "spawn %s%s%s: %s: %s", argv[0], ns ? " in netns " : "", ns ? ns : "",
                 stage_names[r.stage], strerror(r.err));
        return -1;
    }
    return pid;
}

int topo_run_in(const char *ns, int (*fn)(void *), void *arg)
{
    int nsfd = -1, rp[2];
    if (ns && (nsfd = open_ns(ns)) < 0) return -1;
    if (pipe2(rp, O_CLOEXEC) < 0) {
        int e = errno;
        if (nsfd >= 0) close(nsfd);
        errno = e;
        return -1;
    }
    fflush(NULL); /* so the child does not write out a copy of our buffers */
    pid_t pid = fork();
    if (pid == 0) {
        close(rp[0]);
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) {
            int e = errno;
            ssize_t w = write(rp[1], &e, sizeof(e));
            (void)w;
            _exit(127);
        }
        close(rp[1]);
        int r = fn(arg);
        fflush(NULL);
        _exit(r & 0xff);
    }
    int fork_errno = errno;
    if (nsfd >= 0) close(nsfd);
    close(rp[1]);
    if (pid < 0) {
        close(rp[0]);
        errno = fork_errno;
        return -1;
    }
    int child_errno = 0;
    ssize_t n;
    do
        n = read(rp[0], &child_errno, sizeof(child_errno));
    while (n < 0 && errno == EINTR);
    close(rp[0]);
    int st = 0;
    if (wait_pid(pid, &st) < 0) return -1;
    if (n == (ssize_t)sizeof(child_errno)) {
        errno = child_errno;
        return -1;
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* ---- interface counters ------------------------------------------------- */

struct ifstats_job {
    const char *ifname;
    int fd; /* write end of the result pipe */
};

struct ifstats_msg {
    int found;
    int err; /* errno of fopen, 0 if opened */
    struct topo_ifstats st;
};

/* /proc/net/dev: "  NAME: rx_bytes rx_packets errs drop fifo frame compressed
 * multicast tx_bytes tx_packets errs drop fifo colls carrier compressed".
 * 1 found, 0 not there, -1 with errno when the file cannot be opened. */
static int ifstats_read(const char *ifname, struct topo_ifstats *st)
{
    FILE *f = fopen("/proc/net/dev", "re");
    if (!f) return -1;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        char *name = line;
        while (*name == ' ' || *name == '\t')
            name++;
        if (strcmp(name, ifname) != 0) continue;
        uint64_t v[16];
        if (sscanf(colon + 1,
                   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
                   &v[11]) != 12)
            continue;
        found = 1;
        *st = (struct topo_ifstats){.rx_bytes = v[0],
                                    .rx_packets = v[1],
                                    .rx_dropped = v[3],
                                    .tx_bytes = v[8],
                                    .tx_packets = v[9],
                                    .tx_dropped = v[11]};
    }
    fclose(f);
    return found;
}

int topo_ifstats_here(const char *ifname, struct topo_ifstats *st, char *err, size_t errlen)
{
    int r = ifstats_read(ifname, st);
    if (r < 0) {
        snprintf(err, errlen, "ifstats %s: /proc/net/dev: %s", ifname, strerror(errno));
        return -1;
    }
    if (r == 0) {
        snprintf(err, errlen, "ifstats: no interface %s here", ifname);
        return -1;
    }
    return 0;
}

static int ifstats_child(void *p)
{
    struct ifstats_job *j = p;
    struct ifstats_msg m;
    memset(&m, 0, sizeof(m));
    int r = ifstats_read(j->ifname, &m.st);
    if (r < 0) m.err = errno;
    m.found = r > 0;
    ssize_t n = write(j->fd, &m, sizeof(m));
    return n == (ssize_t)sizeof(m) ? 0 : 1;
}

int topo_ifstats(const char *ns, const char *ifname, struct topo_ifstats *st, char *err,
                 size_t errlen)
{
    int rp[2];
    const char *where = ns ? ns : "current";
    if (pipe2(rp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "ifstats %s: pipe: %s", ifname, strerror(errno));
        return -1;
    }
    struct ifstats_job job = {.ifname = ifname, .fd = rp[1]};
    int rc = topo_run_in(ns, ifstats_child, &job);
    int e = errno;
    close(rp[1]);
    struct ifstats_msg m;
    ssize_t n = rc == 0 ? read(rp[0], &m, sizeof(m)) : 0;
    close(rp[0]);
    if (rc < 0) {
        snprintf(err, errlen, "ifstats %s: cannot enter netns %s: %s", ifname, where, strerror(e));
        return -1;
    }
    if (rc != 0 || n != (ssize_t)sizeof(m)) {
        snprintf(err, errlen, "ifstats %s: reader in netns %s failed (status %d)", ifname, where,
                 rc);
        return -1;
    }
    if (m.err) {
        snprintf(err, errlen, "ifstats %s: netns %s: /proc/net/dev: %s", ifname, where,
                 strerror(m.err));
        return -1;
    }
    if (!m.found) {
        snprintf(err, errlen, "ifstats: no interface %s in netns %s", ifname, where);
        return -1;
    }
    *st = m.st;
    return 0;
}

int topo_lock(int wait, char *err, size_t errlen)
{
    int fd = open(TOPO_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", TOPO_LOCK, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        if (wait && errno == EINTR) continue;
        char pid[32] = "?";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        snprintf(err, errlen, "another bypassbench (pid %s) holds the topology (%s)", pid,
                 TOPO_LOCK);
        close(fd);
        return -1;
    }
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)len, 0) < 0) { /* advisory only */
    }
    return fd;
}
