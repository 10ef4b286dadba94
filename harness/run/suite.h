/*
 * suite.h — suite files: which workloads to run, on which drivers, how often,
 * on what link and CPUs. An ini file parsed with inih; every key is a row of
 * a table carrying its default and help (suite_print_help). Errors are
 * refused before anything runs, as "FILE:LINE: message".
 *
 *   [suite]            name, drivers, repeats, link, dut_cpu, gen_cpu, rps,
 *                      port, duration, warmup, timeout, idle_timeout, capture,
 *                      server_cache, p99_target, dut, server, offloads
 *   [workload NAME]    keys of wl_spec_keys (workloads/spec.h); server_app,
 *                      gen_app, server_args, gen_args (apps.h); duration,
 *                      warmup and timeout default to the [suite] values; and
 *                      the suite's own: repeats (this workload's), and for an
 *                      open-loop sweep capacity = WORKLOAD with loads = P%,...:
 *                      the workload becomes one per load, NAME-<P>pct, whose
 *                      rate is P% of the median req/s WORKLOAD (closed loop,
 *                      earlier in the file) reached on the same driver in the
 *                      same run
 *   [driver NAME]      key = value options passed through to driver NAME, but
 *                      offloads = on|off, which is the suite's and overrides
 *                      [suite] offloads for this driver's (or variant's) row
 *   [host NAME]        a machine reached over OpenSSH (suite_host.c): ssh, port,
 *                      identity, known_hosts, bin, copy_bin, cpu, iface, ip, pci;
 *                      [suite] dut_host and gen_host name two of them for a
 *                      run across hosts (harness/run/remote.c)
 *
 * Callers: harness/cli/run.c, tests/harness/run/test_suite.c.
 * Calls: inih, workloads/spec.c, workloads/units.c, drivers/netio.c (netio_find).
 */
#ifndef BB_SUITE_H
#define BB_SUITE_H

#include "harness/run/apps.h"
#include "workloads/spec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SUITE_MAX_WORKLOADS 64
#define SUITE_MAX_DRIVERS 8
#define SUITE_MAX_DRIVER_OPTS 32
#define SUITE_MAX_HOSTS 8

/* A [host NAME] section: a machine the harness drives with OpenSSH. */
struct suite_host {
    char name[32];
    char ssh[320];       /* "user@addr" as given; user and addr split below */
    char user[33], addr[256];
    uint16_t port;       /* 22 */
    char identity[1024]; /* private key file ("" = ssh's own choice) */
    char known_hosts[1024]; /* UserKnownHostsFile ("" = ssh's own) */
    char bin[1024];      /* bypassbench on that host ("bypassbench": its PATH) */
    int copy_bin;        /* 1: scp this binary to bin when the versions differ */
    int cpu;             /* the core to pin to; -1 = the suite's dut_cpu/gen_cpu */
    char iface[16];      /* the data-plane interface */
    char ip[16];         /* the data-plane address and its prefix length */
    int prefix;
    char pci[32];        /* the NIC's PCI address, for dpdk ("" = none) */
    int line;            /* the section's line in the suite file */
    int identity_line;   /* its identity key's line (checked when connecting) */
};

enum { SUITE_DUT_SERVER = 0, SUITE_DUT_CLIENT = 1 };
enum { SUITE_SERVER_OURS = 0, SUITE_SERVER_NGINX = 1 };

struct suite_driver_opts {
    char name[32];
    char *opts[SUITE_MAX_DRIVER_OPTS + 1]; /* "key=value", NULL-terminated */
    int nopts;
    int offloads; /* offloads = in this section: 0 off, 1 on; -1 not given */
};

struct suite {
    char path[4096]; /* the file (or the name given to suite_load_string) */
    char name[64];
    char hash[17]; /* FNV-1a 64 of the file bytes, 16 hex digits */
    char drivers[SUITE_MAX_DRIVERS][32];
    int ndrivers;
    unsigned repeats;
    char link[16];
    int dut_cpu, gen_cpu; /* -1 = unpinned */
    int rps, capture;     /* 0/1 */
    int server_cache;     /* 1 (default): the server reuses its last /bytes/N response; 0: --no-cache */
    int offloads;         /* 0 (default): a wire, no TSO/GSO/GRO/checksum offloads; 1: on */
    uint16_t port;
    uint64_t duration_ns, warmup_ns, timeout_ns, idle_timeout_ns;
    struct wl_spec workloads[SUITE_MAX_WORKLOADS];
    int nworkloads;
    struct suite_driver_opts dopts[SUITE_MAX_DRIVERS];
    int ndopts;
    uint64_t p99_target_ns; /* the report's latency target for the sweeps (p99) */
    /* Which side is the device under test: the server (SUITE_DUT_SERVER: each
     * driver serves, the generator is `load` on the kernel) or the client
     * (SUITE_DUT_CLIENT: each driver runs `load`, against a fixed server on
     * kernel sockets: ours or nginx, `server`). dut_cpu is the DUT's core
     * either way, gen_cpu the other side's. */
    int dut;
    int server; /* with SUITE_DUT_CLIENT: SUITE_SERVER_OURS or SUITE_SERVER_NGINX */
    /* Per workload: repeats (0: the suite's); for a sweep point, its load
     * (a fraction: 0.1 = 10%; 0 = a fixed rate), the workload whose closed-loop
     * req/s it is a fraction of, and the [workload NAME] it came from. */
    unsigned wl_repeats[SUITE_MAX_WORKLOADS];
    double load[SUITE_MAX_WORKLOADS];
    char capacity_of[SUITE_MAX_WORKLOADS][64];
    char sweep[SUITE_MAX_WORKLOADS][64];
    /* [host NAME] sections, and the two a run across hosts uses ("" = this
     * machine, in namespaces) */
    struct suite_host hosts[SUITE_MAX_HOSTS];
    int nhosts;
    char dut_host[32], gen_host[32];
    /* Per workload: the applications it names (apps.h): server_app,
     * gen_app and their extra arguments; APP_NONE is ours */
    struct suite_app app[SUITE_MAX_WORKLOADS];
};

/* The applications of the workload named wname (APP_NONE both when it
 * names none, or for a name not in the suite: a sweep point's copy keeps
 * its name). */
const struct suite_app *suite_app_of(const struct suite *s, const char *wname);
/* Can a drivers= entry run workload i's applications? An application
 * server needs a kernel side (no ring link) and runs its own I/O (no
 * io_uring row: it would be the kernel's); NULL, or why not. */
const char *suite_app_driver_bad(const struct suite *s, int i, const char *entry, char *why,
                                 size_t len);

/* The host named name, or NULL. */
const struct suite_host *suite_host_find(const struct suite *s, const char *name);
/* One key of a [host] section (suite_host.c): 0, or -1 with why. */
int suite_host_set(struct suite_host *h, const char *key, const char *value, char *why,
                   size_t whylen);
/* A section's required keys (ssh, iface, ip) are there: 0, or -1 with why. */
int suite_host_complete(const struct suite_host *h, char *why, size_t whylen);
void suite_host_defaults(struct suite_host *h, const char *name);
void suite_host_print_help(FILE *f);

/* Trials per driver of workload i: its own repeats, else the suite's. */
unsigned suite_repeats_of(const struct suite *s, int i);

/* 0, or -1 with "FILE:LINE: message" (or "FILE: message") in err. On failure
 * *s holds nothing that needs suite_free. */
int suite_load(const char *path, struct suite *s, char *err, size_t errlen);
int suite_load_string(const char *text, const char *name_for_errors, struct suite *s, char *err,
                      size_t errlen);
/* --drivers override: comma list, each known to netio_find. On error *s is unchanged. */
int suite_set_drivers(struct suite *s, const char *list, char *err, size_t errlen);
/* repeats 1, durations at most 1s, warm-ups at most 200ms; downloads are left as they are. */
void suite_apply_quick(struct suite *s);
/* A drivers= entry is NAME or NAME@LINK (e.g. dpdk@ring); split it, using
 * default_link when there is no @. */
void suite_entry_split(const char *entry, const char *default_link, char *drv, size_t drvlen,
                       char *link, size_t linklen);
/* An entry's driver may carry a variant, NAME+VARIANT (e.g. kernel+busypoll):
 * a row of its own in results, running driver NAME with the options of
 * [driver NAME] and then those of [driver NAME+VARIANT] (the latter win),
 * which the suite must have. base gets NAME. */
void suite_driver_base(const char *drv, char *base, size_t len);
/* veth: every driver; tap and ring: dpdk only. */
int suite_link_ok(const char *driver, const char *link);
/* Can a drivers= entry run in the suite's role? dut = client needs a kernel
 * side for the fixed server, which the ring link has not. NULL, or why not
 * (written into why). */
const char *suite_role_bad(const struct suite *s, const char *entry, char *why, size_t len);
/* "server" or "client" */
const char *suite_dut_str(int dut);
/* A row's offloads (0 off, 1 on): [driver NAME+VARIANT]'s offloads =, else
 * [driver NAME]'s, else the suite's. variant may be NULL or "". */
int suite_row_offloads(const struct suite *s, const char *drv, const char *variant);
/* NULL-terminated "key=value" options of [driver NAME], or NULL if none. */
const char *const *suite_driver_opts(const struct suite *s, const char *driver);
void suite_free(struct suite *s); /* frees the option strings; safe to call twice */
/* The [suite] keys and the workload keys with defaults and units (run --help). */
void suite_print_help(FILE *f);

#endif
