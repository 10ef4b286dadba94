/*
 * pdump.h — the DPDK secondary-process capture engine (harness/run/pdump.c).
 * Callers: harness/cli/pdump.c. Built only with DPDK (HAVE_DPDK).
 */
#ifndef BB_RUN_PDUMP_H
#define BB_RUN_PDUMP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct pd_opts {
    const char *prefix, *port, *out, *json, *ready;
    uint32_t snaplen, cpu;
    uint64_t count, duration_ns;
};

struct pd_result {
    uint64_t packets, write_errors, over_count;
    uint64_t wakeups, writes;     /* drains that found frames; writev calls */
    double cpu_user_s, cpu_sys_s; /* this process's CPU time (getrusage) */
    uint64_t accepted, filtered, nombuf, ringfull; /* the primary's rte_pdump_stats */
    double duration_s;
    const char *stopped_by;       /* "signal", "count", "duration", "error" */
};

/* Capture until *stop, the count or the duration (o); fills res. 0, or -1
 * with err. One run per process (it initialises and cleans up EAL). */
int pdump_run(const struct pd_opts *o, struct pd_result *res, volatile sig_atomic_t *stop,
              char *err, size_t errlen);

#endif
