/*
 * topo.h — the network topologies of DESIGN §5 (for now: `veth`), and the
 * process plumbing that runs things inside them.
 *
 *   netns bb-gen                         netns bb-dut
 *   bb-gen0 198.18.0.1/24  <== veth ==>  bb-dut0 198.18.0.2/24 (kernel driver)
 *   (both ends: MTU 1500, TSO/GSO/GRO and TX checksum offload off: a wire;
 *    or all on, offloads = on: topo_veth_offloads)
 *                                        bb-dut0 without address (user-space stack)
 *
 * Callers: harness/main.c (`bypassbench topo up|down`, `run`), harness/run/doctor.c.
 * Calls: iproute2's `ip` (fork+exec with an argv array, never a shell string),
 * setns(2), /proc/net/dev inside the namespace.
 *
 * Everything here needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN) except
 * topo_spawn/topo_run_in/topo_ifstats with ns == NULL, topo_cmd, topo_which.
 * Functions that take err/errlen return 0 (or a pid) on success and -1 with
 * a message naming the failing step on error.
 */
#ifndef BB_TOPO_H
#define BB_TOPO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TOPO_NS_GEN "bb-gen"
#define TOPO_NS_DUT "bb-dut"
#define TOPO_IF_GEN "bb-gen0" /* veth end in bb-gen */
#define TOPO_IF_DUT "bb-dut0" /* veth end in bb-dut */
#define TOPO_IP_GEN "198.18.0.1"
#define TOPO_IP_DUT "198.18.0.2"
#define TOPO_PREFIX 24
#define TOPO_NS_PREFIX "bb-" /* every namespace the harness creates starts with this */

struct topo_config {
    const char *link; /* "veth" (NULL = "veth") */
    int rps;          /* 1 = steer bb-dut0's receive processing to dut_cpu (RPS) */
    int dut_cpu;      /* DUT core; required >= 0 when rps */
    int dut_addr;     /* 1 = give the DUT veth TOPO_IP_DUT (kernel driver); 0 = no kernel
                         address (user-space stack drivers) */
    int offloads;     /* 1 = TSO/GSO/GRO and TX checksum offload on both veth ends; 0 = off */
};

/* Both veth ends' TSO, GSO, GRO and TX checksum offload on (1) or off (0),
 * with ethtool inside their namespaces. 0, or -1 naming the end. */
int topo_veth_offloads(int on, char *err, size_t errlen);

/* One user of the topology at a time: the namespaces and addresses are
 * fixed, and two users would talk to each other's servers or tear down each
 * other's links. Takes an exclusive flock on TOPO_LOCK (waiting for it when
 * wait is set) and returns the descriptor to keep open: the lock ends when it
 * is closed or the process exits (children do not inherit it). -1 with err
 * naming the holder's pid when it is busy (and wait is 0). */
#define TOPO_LOCK "/run/bypassbench.lock"
int topo_lock(int wait, char *err, size_t errlen);

/* Build the topology. Idempotent: tears down leftovers of bb-gen/bb-dut first
 * (killing processes inside them). On failure, removes what it built. */
int topo_up(const struct topo_config *c, char *err, size_t errlen);

/* Remove every bb-* namespace (after SIGKILLing the processes inside and
 * detaching any XDP program left on their interfaces), the veth pair, and
 * bb-gen0/bb-dut0 left in the root namespace by a crash (XDP programs on
 * bb-* interfaces there are detached too).
 * Fine when nothing exists. Returns 0 when nothing remains. */
int topo_down(char *err, size_t errlen);

/* Detach every XDP program attached through netlink to an interface of NS
 * (NULL: the bb-* interfaces of our own namespace): what DPDK's net_af_xdp
 * or `ip link set ... xdp` left when its process was killed. Programs on a
 * bpf_link (the afxdp driver's) go with their process and are not touched.
 * 0, or -1 naming the interface whose program stayed. */
int topo_xdp_detach(const char *ns, char *err, size_t errlen);

/* 1 if any bb-* namespace exists (in /run/netns), else 0. */
int topo_present(void);

/* fork; the child does setpgid(0,0), prctl(PR_SET_PDEATHSIG, SIGKILL) (so it
 * dies with the calling *thread*), setns into /run/netns/NS (NULL = stay),
 * redirects stdout/stderr to files (NULL = inherit; created/truncated 0644),
 * stdin from /dev/null, then execv(argv[0]) (an absolute or relative path, no
 * PATH search). Returns the pid (the caller reaps it) or -1 with err; a
 * failure in the child before exec (setns, open, execv) is reported here. */
pid_t topo_spawn(const char *ns, char *const argv[], const char *out_path, const char *err_path,
                 char *err, size_t errlen);

/* Run fn(arg) in a forked child inside NS (NULL = current namespace) and
 * return its exit status: fn's return value & 0xff, or 128 + signal if the
 * child was killed. Returns -1 (errno set) if NS cannot be opened or entered
 * or fork fails. fn must not return into the caller's state: it runs in a
 * copy of the process. */
int topo_run_in(const char *ns, int (*fn)(void *), void *arg);

struct topo_ifstats {
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, rx_dropped, tx_dropped;
};

/* Counters of IFNAME as seen inside NS (NULL = current), from /proc/net/dev
 * read by a child that entered the namespace. */
int topo_ifstats(const char *ns, const char *ifname, struct topo_ifstats *st, char *err,
                 size_t errlen);
/* The same in this process's own namespace, without a child: cheap enough
 * for a generator to call at its window's edges. */
int topo_ifstats_here(const char *ifname, struct topo_ifstats *st, char *err, size_t errlen);

/* Run a program (argv[0] looked up with topo_which) with stdin from
 * /dev/null; its stdout goes to out (NUL-terminated, truncated to outlen;
 * out == NULL discards it). Returns 0 if it exited 0, else -1 with err =
 * "the command line: its stderr (or exit status)". */
int topo_cmd(char *const argv[], char *out, size_t outlen, char *err, size_t errlen);

/* `ip ARGS...` (iproute2; the argument list ends with NULL), through
 * topo_cmd. 0, or -1 with the command line and its stderr in err. */
int topo_ip(char *err, size_t errlen, ...);

/* Find PROG in $PATH, then /usr/sbin and /sbin (where `ip` lives when PATH
 * lacks them). Writes the full path; returns 0, or -1 if not found. A PROG
 * containing '/' is checked as is. */
int topo_which(const char *prog, char *path, size_t len);

#endif
