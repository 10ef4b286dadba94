/*
 * harness/cli/exec.c — `bypassbench exec`: runs an unmodified, dynamically
 * linked program with libbbpreload.so preloaded, so that its TCP sockets on
 * the stack's address are served by our user-space stack (preload/shim.c).
 * Checks what it can before the program starts (driver built in and usable
 * here, option keys, address, the program found and not statically linked,
 * the library present), then execs the program in this process: its exit
 * status is the command's.
 *
 * Calls: harness/run/preload.c, netio_find (drivers/netio.c).
 */
#include "drivers/netio.h"
#include "drivers/opts.h"
#include "harness/cli/cli.h"
#include "harness/run/doctor.h"
#include "harness/run/preload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bypassbench exec --driver afpacket|afxdp|dpdk --ip ADDR/LEN [--iface IF]\n"
            "                        [--opt KEY=VALUE]... [--spin-us US] [--log FILE|stderr|off]\n"
            "                        [--stats FILE] -- PROGRAM [ARGS...]\n"
            "\n"
            "Runs PROGRAM (unmodified, dynamically linked) with libbbpreload.so preloaded: its\n"
            "IPv4 TCP sockets bound to ADDR or to 0.0.0.0, and those connecting to another\n"
            "address inside ADDR/LEN, are served by our user-space stack on the driver; all\n"
            "other descriptors (files, pipes, Unix and UDP sockets, IPv6, other addresses)\n"
            "stay with the kernel. The program runs in this process (exec): its exit status\n"
            "is this command's.\n"
            "\n"
            "  --driver NAME    afpacket (AF_PACKET on --iface), afxdp (AF_XDP on --iface) or\n"
            "                   dpdk (a DPDK port; its device by --opt, see below)\n"
            "  --ip ADDR/LEN    the stack's IPv4 address and on-link prefix length (1..32)\n"
            "  --iface IF       the interface (afpacket and afxdp need one); it should have no\n"
            "                   kernel address equal to ADDR\n"
            "  --opt KEY=VALUE  a driver option (repeatable; the table below: stack and pktio\n"
            "                   options of the chosen driver). afpacket's version=3\n"
            "                   (TPACKET_V3 blocks) wakes a sleeping call only when a block\n"
            "                   retires, up to retire_tov_ms later: keep the default 2\n"
            "  --spin-us US     microseconds a waiting call (epoll_wait, poll, a blocking read)\n"
            "                   polls the stack before it sleeps (default 20; 0: sleep at once).\n"
            "                   A sleep lasts at most 1 ms (dpdk: 50 us) between stack polls\n"
            "  --log DEST       the library's messages: stderr (default), off, or a file\n"
            "                   (appended)\n"
            "  --stats FILE     at exit, the library's and the stack's counters into FILE,\n"
            "                   one \"name value\" line each (calls, bytes, waits, spins,\n"
            "                   sleeps and sleep time in ns, the stack's drops by reason)\n"
            "\n"
            "Processes and threads: the stack belongs to the process that opened it and is\n"
            "polled by whichever of its threads calls in, under one lock. A fork()ed child\n"
            "cannot use the parent's stack sockets (EBADFD, and a message naming the\n"
            "descriptor): run nginx with 'master_process off; daemon off;', redis-server\n"
            "with '--save \"\" --appendonly no'.\n"
            "Environment: BB_PRELOAD_LIB overrides where the library is found (default:\n"
            "beside this binary).\n"
            "\n");
    doctor_driver_opts(out, "  ");
}

/* Whether key (of KEY=VALUE) is in one of ops's option tables. */
static int known_opt(const struct netio_ops *ops, const char *kv)
{
    size_t n = strcspn(kv, "=");
    for (const struct opt_group *g = ops->opts; g && g->defs; g++)
        for (const struct opt_def *d = g->defs; d->name; d++)
            if (strlen(d->name) == n && strncmp(d->name, kv, n) == 0) return 1;
    return 0;
}

int cmd_exec(int argc, char **argv)
{
    const char *driver = NULL, *ip = NULL, *iface = NULL, *log = NULL, *stats = NULL;
    long spin = -1;
    char opts[4096] = "";
    size_t olen = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        int takes = !strcmp(a, "--driver") || !strcmp(a, "--ip") || !strcmp(a, "--iface") ||
                    !strcmp(a, "--opt") || !strcmp(a, "--spin-us") || !strcmp(a, "--log") ||
                    !strcmp(a, "--stats");
        if (!takes) {
            fprintf(stderr, "exec: unknown option '%s' (the program goes after --; see --help)\n",
                    a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "exec: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--driver"))
            driver = v;
        else if (!strcmp(a, "--ip"))
            ip = v;
        else if (!strcmp(a, "--iface"))
            iface = v;
        else if (!strcmp(a, "--log"))
            log = v;
        else if (!strcmp(a, "--stats"))
            stats = v;
        else if (!strcmp(a, "--spin-us")) {
            char *end;
            errno = 0;
            spin = strtol(v, &end, 10);
            if (errno || *end || end == v || spin < 0 || spin > 1000000) {
                fprintf(stderr, "exec: --spin-us '%s': expected microseconds 0..1000000\n", v);
                return 2;
            }
        } else { /* --opt */
            if (!strchr(v, '=') || strchr(v, '\n')) {
                fprintf(stderr, "exec: --opt '%s': expected KEY=VALUE on one line\n", v);
                return 2;
            }
            int w = snprintf(opts + olen, sizeof(opts) - olen, "%s%s", olen ? "\n" : "", v);
            if (w < 0 || (size_t)w >= sizeof(opts) - olen) {
                fprintf(stderr, "exec: too many --opt values\n");
                return 2;
            }
            olen += (size_t)w;
        }
    }
    if (!driver || !ip) {
        fprintf(stderr, "exec: %s is required (see bypassbench exec --help)\n",
                !driver ? "--driver" : "--ip");
        return 2;
    }
    if (i >= argc) {
        fprintf(stderr, "exec: no program given: bypassbench exec [options] -- PROGRAM ARGS...\n");
        return 2;
    }
    if (strcmp(driver, "afpacket") && strcmp(driver, "afxdp") && strcmp(driver, "dpdk")) {
        fprintf(stderr, "exec: --driver '%s': exec runs programs over our stack: afpacket, afxdp "
                        "or dpdk\n",
                driver);
        return 2;
    }
    const struct netio_ops *ops = netio_find(driver);
    char err[512];
    if (!ops) {
        fprintf(stderr, "exec: --driver %s is not built in (bypassbench doctor says why)\n",
                driver);
        return 2;
    }
    if (ops->probe && ops->probe(err, sizeof(err)) < 0) {
        fprintf(stderr, "exec: --driver %s cannot run here: %s\n", driver, err);
        return 1;
    }
    if (strcmp(driver, "dpdk") && (!iface || !*iface)) {
        fprintf(stderr, "exec: --driver %s needs --iface\n", driver);
        return 2;
    }
    {
        char a[64];
        const char *slash = strchr(ip, '/');
        size_t n = slash ? (size_t)(slash - ip) : 0;
        char *end = NULL;
        long plen = slash ? strtol(slash + 1, &end, 10) : 0;
        struct in_addr in;
        if (!slash || n == 0 || n >= sizeof(a) || !slash[1] || *end || plen < 1 || plen > 32 ||
            (memcpy(a, ip, n), a[n] = 0, inet_pton(AF_INET, a, &in) != 1)) {
            fprintf(stderr, "exec: --ip '%s': expected ADDR/LEN, an IPv4 address and a prefix "
                            "length 1..32\n",
                    ip);
            return 2;
        }
    }
    for (char *save = NULL, *copy = strdup(opts), *t = copy ? strtok_r(copy, "\n", &save) : NULL;
         copy; t = strtok_r(NULL, "\n", &save)) {
        if (!t) {
            free(copy);
            break;
        }
        if (!known_opt(ops, t)) {
            fprintf(stderr, "exec: --opt '%s': driver %s has no such key (bypassbench exec --help "
                            "lists them)\n",
                    t, driver);
            free(copy);
            return 2;
        }
    }
    char prog[PATH_MAX], why[PATH_MAX + 256], lib[PATH_MAX];
    if (preload_find_program(argv[i], prog, sizeof(prog), why, sizeof(why)) < 0) {
        fprintf(stderr, "exec: %s\n", why);
        return 127;
    }
    int dyn = preload_check_binary(prog, why, sizeof(why));
    if (dyn <= 0) {
        fprintf(stderr, "exec: %s\n", why);
        return 126;
    }
    if (preload_lib_path(lib, sizeof(lib), err, sizeof(err)) < 0) {
        fprintf(stderr, "exec: %s\n", err);
        return 1;
    }
    /* the library first; a preload the caller had stays after it */
    const char *old = getenv("LD_PRELOAD");
    char *ld = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
    if (!ld) return 1;
    sprintf(ld, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    char spin_s[32];
    snprintf(spin_s, sizeof(spin_s), "%ld", spin);
    if (setenv("LD_PRELOAD", ld, 1) || setenv("BB_PRELOAD_DRIVER", driver, 1) ||
        setenv("BB_PRELOAD_IP", ip, 1) || (iface && setenv("BB_PRELOAD_IFACE", iface, 1)) ||
        (olen && setenv("BB_PRELOAD_OPTS", opts, 1)) ||
        (spin >= 0 && setenv("BB_PRELOAD_SPIN_US", spin_s, 1)) ||
        (log && setenv("BB_PRELOAD_LOG", log, 1)) || (stats && setenv("BB_PRELOAD_STATS", stats, 1))) {
        fprintf(stderr, "exec: setenv: %s\n", strerror(errno));
        return 1;
    }
    free(ld);
    if (strstr(lib, "-asan.so")) {
        /* the ASan build's library brings the ASan runtime as a dependency of
         * a preload, not first in the program's list: allow that order */
        const char *ao = getenv("ASAN_OPTIONS");
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s%sverify_asan_link_order=0", ao && *ao ? ao : "",
                 ao && *ao ? ":" : "");
        setenv("ASAN_OPTIONS", buf, 1);
    }
    execv(prog, argv + i);
    fprintf(stderr, "exec: cannot run %s: %s\n", prog, strerror(errno));
    return 126;
}
