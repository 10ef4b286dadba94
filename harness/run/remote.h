/*
 * remote.h — runs across hosts: the DUT and the generator on two machines
 * named by the suite's dut_host and gen_host ([host NAME] sections), driven
 * with the system's OpenSSH client. The sibling of trial.c's life cycle in
 * namespaces: the same plan (trial_plan) with each side's binary, address,
 * interface, core and files swapped for its host's, the same record
 * (trial_record) with both hosts' environments and the DUT host's CPU.
 *
 *   remote_open()   per host: ControlMaster (one connection, its socket in a
 *                   private temp dir, BatchMode: no prompt) -> `bin --version`
 *                   must be this binary's (or scp it there, copy_bin = yes)
 *                   -> a remote temp dir -> `bin sysinfo --iface IF` (the
 *                   environment) -> the interface's addresses as found
 *   remote_trial()  address where the driver wants it -> serve on the DUT
 *                   host -> probe from the generator host -> load there and,
 *                   with it, the DUT host's CPU window timed there (sysinfo
 *                   --cpu-window) -> stop -> fetch the JSON documents -> the
 *                   record
 *   remote_close()  every remote process group still running killed, the
 *                   host's own address configuration back, the temp dir
 *                   removed, the master closed
 *
 * Remote processes run under a pty (ssh -tt) in their own session, with a
 * pidfile: stopping is SIGTERM to the group through ssh (SIGKILL after a
 * grace), and when the connection is lost (the harness killed, sshd gone)
 * the pty hangs up and SIGHUP ends them.
 *
 * Clocks: nothing compares timestamps across hosts. Latency is measured by
 * the generator on its own clock, each host's CPU window on its own.
 *
 * Library code: no printing, no exit. Callers: harness/cli/run.c,
 * harness/cli/doctor.c. Calls: ssh/scp (OpenSSH) through topo_cmd and
 * topo_spawn, trial.c (plan, record), cpuacct.c, sysinfo.c.
 */
#ifndef BB_RUN_REMOTE_H
#define BB_RUN_REMOTE_H

#include "harness/run/cpuacct.h"
#include "harness/run/suite.h"
#include "harness/run/trial.h"

#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

struct remote {
    const struct suite_host *h;
    const char *role;      /* "dut" or "gen" */
    const char *suite_path; /* for errors naming the file and line */
    char ssh[PATH_MAX];
    char ctl_dir[64], sock[96], mlog[128]; /* the master's socket and stderr */
    pid_t master;
    char rdir[128];    /* the remote temp dir ("" before it exists) */
    char version[128]; /* its `bin --version` */
    int had_ip, has_ip; /* the host's ip on iface: as found, now */
    int was_down;       /* iface was down as found (set up for the run, down after) */
    int copied;         /* copy_bin copied this binary there */
    json_t *env;        /* its `bin sysinfo --iface IF` */
    char unclean[512];  /* after remote_close: what could not be undone there, or "" */
    double tsc_hz;
};

/* Connect (the master) only: 0, or -1 with "host NAME (USER@ADDR port P):
 * the ssh error line" (or the identity file's problem, FILE:LINE). */
int remote_connect(struct remote *r, const struct suite_host *h, const char *role,
                   const char *suite_path, char *err, size_t errlen);
/* Connect and prepare the host for trials (see above). self: this binary
 * (its version and, for copy_bin, the file to copy). On failure everything
 * done is undone (remote_close) and err says which host and why. */
int remote_open(struct remote *r, const struct suite_host *h, const char *role,
                const char *suite_path, const char *self, char *err, size_t errlen);
/* Undo what remote_open did there; when the connection is gone by then,
 * r->unclean says what may be left on the host. */
void remote_close(struct remote *r);
/* Is the master connection still up? */
int remote_alive(struct remote *r);

/* Run a shell command on the host to completion: 0 when it exited 0, else -1
 * with "host NAME: its stderr (or status)". out may be NULL. */
int remote_sh(struct remote *r, const char *cmd, char *out, size_t outlen, char *err,
              size_t errlen);
/* The shell-quoted command line of argv (each word in '...'), into buf. */
int remote_quote(char *const argv[], char *buf, size_t len);
/* Run `bin doctor` there, its report on this process's stdout; its exit status. */
int remote_doctor(struct remote *r, char *err, size_t errlen);

/* Both hosts of a run, and a copy of the suite whose dut_cpu/gen_cpu are the
 * hosts' cpu where set (what the plans pin to). */
struct remote_hosts {
    struct remote dut, gen;
    struct suite suite;
    int lost; /* a host's connection went away: no more trials */
};

/* One trial across the hosts: plan, life cycle, record (bypassbench.trial/1
 * with "hosts" in place of "netns", the DUT host's CPU, each host's
 * offloads). p is the caller's (large); o says what failed. A new reference. */
json_t *remote_trial(struct remote_hosts *rh, const struct trial_ctx *c, struct trial_plan *p,
                     const struct wl_spec *w, const char *entry, unsigned rep, int trial,
                     struct trial_outcome *o);

/* The plan's argv rewritten for the hosts (pure; tests): each side's bin,
 * JSON path in its host's temp dir (rsjson, rcjson: PATH_MAX each), the DUT
 * host's address and interface, the generator host's interface. */
void remote_plan(struct trial_plan *p, const struct remote *dut, const struct remote *gen,
                 uint16_t port, const struct wl_spec *w, char *rsjson, char *rcjson);

#endif
