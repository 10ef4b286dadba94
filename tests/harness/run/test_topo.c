/*
 * test_topo.c — harness/run/topo.c. Process plumbing without root (spawn,
 * run_in, cmd, ifstats on lo); the veth topology as root: reachability
 * through the veth (TCP connect to a closed port -> ECONNREFUSED), counters,
 * addresses with and without the DUT address, IPv6 off, RPS mask, spawn
 * into a namespace, topo_down killing it, idempotent up/down.
 */
#include "harness/run/topo.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];

static void mktmp(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bb-test-topo-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rmtmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (tmpdir[0]) cr_expect_eq(system(cmd), 0);
}

static void slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* ---- without root ------------------------------------------------------ */

Test(topo_spawn, redirects_and_exit_status, .init = mktmp, .fini = rmtmp)
{
    char out[128], errp[128], err[256], buf[64];
    snprintf(out, sizeof(out), "%s/out", tmpdir);
    snprintf(errp, sizeof(errp), "%s/err", tmpdir);
    char *argv[] = {"/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3", NULL};
    pid_t pid = topo_spawn(NULL, argv, out, errp, err, sizeof(err));
    cr_assert_gt(pid, 0, "%s", err);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 3);
    slurp(out, buf, sizeof(buf));
    cr_assert_str_eq(buf, "to-out\n");
    slurp(errp, buf, sizeof(buf));
    cr_assert_str_eq(buf, "to-err\n");
}

Test(topo_spawn, own_process_group_and_no_leaked_fds)
{
    char err[256];
    int p[2];
    cr_assert_eq(pipe(p), 0); /* not CLOEXEC: topo_spawn must still not leak it */
    char *argv[] = {"/bin/sh", "-c", "exec 2>/dev/null; [ ! -e /proc/self/fd/$0 ] && exec sleep 5",
                    NULL};
    char fdarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
    char *argv2[] = {argv[0], argv[1], argv[2], fdarg, NULL};
    pid_t pid = topo_spawn(NULL, argv2, NULL, NULL, err, sizeof(err));
    cr_assert_gt(pid, 0, "%s", err);
    cr_assert_eq(getpgid(pid), pid);
    close(p[1]);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    /* The write end is closed in the child: EOF now, not when it exits. */
    cr_assert_eq(poll(&pf, 1, 2000), 1);
    char c;
    cr_assert_eq(read(p[0], &c, 1), 0);
    int st;
    cr_assert_eq(kill(pid, SIGTERM), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st), "child exited early (status %d): fd leaked?", st);
    close(p[0]);
}

Test(topo_spawn, reports_child_failures)
{
    char err[256];
    char *missing[] = {"/nonexistent/bb-prog", NULL};
    cr_assert_eq(topo_spawn(NULL, missing, NULL, NULL, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "execv"), "%s", err);
    cr_assert_not_null(strstr(err, "No such file"), "%s", err);
    char *sh[] = {"/bin/true", NULL};
    cr_assert_eq(topo_spawn(NULL, sh, "/nonexistent-dir/out", NULL, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "stdout"), "%s", err);
    cr_assert_eq(topo_spawn("bb-no-such-ns", sh, NULL, NULL, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "bb-no-such-ns"), "%s", err);
}

static int ret42(void *arg)
{
    return *(int *)arg;
}

static int die(void *arg)
{
    raise(SIGTERM);
    return 0;
}

Test(topo_run_in, returns_status)
{
    int v = 42;
    cr_assert_eq(topo_run_in(NULL, ret42, &v), 42);
    v = 0;
    cr_assert_eq(topo_run_in(NULL, ret42, &v), 0);
    cr_assert_eq(topo_run_in(NULL, die, NULL), 128 + SIGTERM);
    errno = 0;
    cr_assert_eq(topo_run_in("bb-no-such-ns", ret42, &v), -1);
    cr_assert_eq(errno, ENOENT);
}

Test(topo_cmd, output_and_errors)
{
    char out[64], err[256];
    char *ok[] = {"sh", "-c", "echo hello", NULL};
    cr_assert_eq(topo_cmd(ok, out, sizeof(out), err, sizeof(err)), 0);
    cr_assert_str_eq(out, "hello\n");
    char *small[] = {"sh", "-c", "echo 0123456789", NULL};
    cr_assert_eq(topo_cmd(small, out, 5, err, sizeof(err)), 0);
    cr_assert_str_eq(out, "0123");
    char *bad[] = {"sh", "-c", "echo partial; echo 'first\nsecond' >&2; exit 2", NULL};
    cr_assert_eq(topo_cmd(bad, out, sizeof(out), err, sizeof(err)), -1);
    cr_assert_str_eq(err, "sh -c echo partial; echo 'first\nsecond' >&2; exit 2: first;second");
    char *quiet[] = {"sh", "-c", "exit 7", NULL};
    cr_assert_eq(topo_cmd(quiet, NULL, 0, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "exit status 7"), "%s", err);
    char *none[] = {"bb-no-such-program", NULL};
    cr_assert_eq(topo_cmd(none, NULL, 0, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "not found"), "%s", err);
    char path[256];
    cr_assert_eq(topo_which("sh", path, sizeof(path)), 0);
    cr_assert_eq(path[0], '/');
    cr_assert_eq(topo_which("bb-no-such-program", path, sizeof(path)), -1);
}

Test(topo_ifstats, loopback_in_current_ns)
{
    struct topo_ifstats st;
    char err[256];
    cr_assert_eq(topo_ifstats(NULL, "lo", &st, err, sizeof(err)), 0, "%s", err);
    cr_assert_geq(st.rx_bytes, st.rx_packets); /* lo: every packet has bytes */
    cr_assert_eq(topo_ifstats(NULL, "bb-nope0", &st, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "bb-nope0"), "%s", err);
    cr_assert_eq(topo_ifstats("bb-no-such-ns", "lo", &st, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "bb-no-such-ns"), "%s", err);
}

/* ---- as root: the veth topology ---------------------------------------- */

static int connect_refused(void *arg)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, TOPO_IP_DUT, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) return 2;
    if (errno == ECONNREFUSED) return 0;
    if (errno != EINPROGRESS) return 3;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 3000) != 1) return 4;
    int e = 0;
    socklen_t el = sizeof(e);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    return e == ECONNREFUSED ? 0 : 5;
}

struct addr_want {
    const char *ifname;
    const char *v4; /* expected IPv4 address, NULL = none */
};

/* 0 = addresses as wanted and no IPv6 on the interface. */
static int check_addrs(void *arg)
{
    const struct addr_want *w = arg;
    struct ifaddrs *ifa;
    int found_if = 0, v4_ok = 0, v4_other = 0, v6 = 0;
    if (getifaddrs(&ifa) < 0) return 1;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, w->ifname) != 0) continue;
        found_if = 1;
        if (!i->ifa_addr) continue;
        if (i->ifa_addr->sa_family == AF_INET6) v6 = 1;
        if (i->ifa_addr->sa_family == AF_INET) {
            char s[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, s, sizeof(s));
            if (w->v4 && strcmp(s, w->v4) == 0)
                v4_ok = 1;
            else
                v4_other = 1;
        }
    }
    freeifaddrs(ifa);
    if (!found_if) return 2;
    if (w->v4 && !v4_ok) return 3;
    if (v4_other) return 4;
    if (v6) return 5;
    return 0;
}

static void cleanup_topo(void)
{
    char err[256];
    if (geteuid() == 0) topo_down(err, sizeof(err));
}

static int ns_inode_eq(pid_t pid, const char *ns)
{
    char p1[64], p2[64];
    struct stat a, b;
    snprintf(p1, sizeof(p1), "/proc/%d/ns/net", (int)pid);
    snprintf(p2, sizeof(p2), "/run/netns/%s", ns);
    if (stat(p1, &a) < 0 || stat(p2, &b) < 0) return 0;
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

Test(topo, veth_lifecycle, .fini = cleanup_topo, .timeout = 600)
{
    if (geteuid() != 0) cr_skip_test("needs root");
    char err[512];
    /* a bypassbench run in progress owns bb-gen/bb-dut: wait for it */
    cr_assert_geq(topo_lock(1, err, sizeof(err)), 0, "%s", err);
    struct topo_ifstats gs, ds;

    /* up with the kernel address on the DUT: reachable through the veth */
    struct topo_config c = {.link = "veth", .rps = 0, .dut_cpu = -1, .dut_addr = 1};
    cr_assert_eq(topo_up(&c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(topo_present(), 1);
    cr_assert_eq(if_nametoindex(TOPO_IF_GEN), 0, "veth end left in the root namespace");
    cr_assert_eq(topo_run_in(TOPO_NS_GEN, connect_refused, NULL), 0);
    cr_assert_eq(topo_ifstats(TOPO_NS_GEN, TOPO_IF_GEN, &gs, err, sizeof(err)), 0, "%s", err);
    cr_assert_gt(gs.tx_packets, 0);
    cr_assert_gt(gs.rx_packets, 0);
    cr_assert_gt(gs.tx_bytes, gs.tx_packets);
    cr_assert_eq(topo_ifstats(TOPO_NS_DUT, TOPO_IF_DUT, &ds, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ds.rx_packets, gs.tx_packets, "veth: what gen sends, dut receives");
    cr_assert_eq(ds.tx_packets, gs.rx_packets);
    struct addr_want gw = {TOPO_IF_GEN, TOPO_IP_GEN}, dw = {TOPO_IF_DUT, TOPO_IP_DUT};
    cr_assert_eq(topo_run_in(TOPO_NS_GEN, check_addrs, &gw), 0);
    cr_assert_eq(topo_run_in(TOPO_NS_DUT, check_addrs, &dw), 0);

    /* up again (idempotent), this time without a DUT address and with RPS;
     * a process left in the old namespace is killed */
    char *sleeper[] = {"/bin/sleep", "30", NULL};
    pid_t old = topo_spawn(TOPO_NS_GEN, sleeper, NULL, NULL, err, sizeof(err));
    cr_assert_gt(old, 0, "%s", err);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int cpu = ncpu > 1 ? 1 : 0;
    c = (struct topo_config){.link = "veth", .rps = 1, .dut_cpu = cpu, .dut_addr = 0};
    cr_assert_eq(topo_up(&c, err, sizeof(err)), 0, "%s", err);
    int st;
    cr_assert_eq(waitpid(old, &st, 0), old);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    struct addr_want dw0 = {TOPO_IF_DUT, NULL};
    cr_assert_eq(topo_run_in(TOPO_NS_DUT, check_addrs, &dw0), 0);
    cr_assert_eq(topo_run_in(TOPO_NS_GEN, check_addrs, &gw), 0);
    char out[64];
    char *cat[] = {"ip",        "netns", "exec",
                   TOPO_NS_DUT, "cat",   "/sys/class/net/" TOPO_IF_DUT "/queues/rx-0/rps_cpus",
                   NULL};
    cr_assert_eq(topo_cmd(cat, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strtoul(out, NULL, 16), 1ul << cpu, "rps_cpus '%s'", out);

    /* a process spawned into bb-dut really is in bb-dut; topo_down kills it */
    pid_t pid = topo_spawn(TOPO_NS_DUT, sleeper, NULL, NULL, err, sizeof(err));
    cr_assert_gt(pid, 0, "%s", err);
    cr_assert(ns_inode_eq(pid, TOPO_NS_DUT));
    cr_assert_eq(topo_down(err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert_eq(topo_present(), 0);
    cr_assert_neq(access("/run/netns/" TOPO_NS_GEN, F_OK), 0);
    cr_assert_neq(access("/run/netns/" TOPO_NS_DUT, F_OK), 0);
    cr_assert_eq(if_nametoindex(TOPO_IF_GEN), 0);
    cr_assert_eq(if_nametoindex(TOPO_IF_DUT), 0);
    cr_assert_eq(topo_down(err, sizeof(err)), 0, "nothing to remove is fine: %s", err);
}

Test(topo, rejects_bad_config)
{
    char err[256];
    struct topo_config c = {.link = "ring", .dut_addr = 1};
    cr_assert_eq(topo_up(&c, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "ring"), "%s", err);
    c = (struct topo_config){.link = "veth", .rps = 1, .dut_cpu = 100000};
    cr_assert_eq(topo_up(&c, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "rps"), "%s", err);
}
