/*
 * genflags.h — the generator's flags, shared by `bypassbench load` and
 * `bypassbench pair` so that both spell, document and apply them alike:
 * -c/--connections, -d/--duration, --warmup, -R/--rate, --pipeline, --close,
 * --download, -n/--requests, --timeout (units as in workloads/units.h).
 * Callers: harness/cli/load.c, harness/cli/pair.c. Calls: wl_spec_set.
 */
#ifndef BB_CLI_GENFLAGS_H
#define BB_CLI_GENFLAGS_H

#include "workloads/spec.h"

#include <stddef.h>

/* getopt_long rows and short letters of the generator's flags */
#define GENFLAGS_LONG                                                                             \
    {"connections", 1, 0, 'c'}, {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'W'},                   \
        {"rate", 1, 0, 'R'}, {"pipeline", 1, 0, 'P'}, {"close", 0, 0, 'X'},                       \
        {"download", 0, 0, 'L'}, {"requests", 1, 0, 'n'}, {"timeout", 1, 0, 'T'}
#define GENFLAGS_SHORT "c:d:R:n:"

/* The help lines of those flags, in the usage text's layout. */
extern const char genflags_help[];

struct genflags {
    int mode_set;  /* --close or --download was given */
    int conns_set; /* -c was given */
};

/* Applies getopt's result c (with optarg) to spec when c is a generator
 * flag: 1 when it was one, 0 when it is not, -1 with err on a bad value.
 * -R sets open loop unless --close/--download chose a mode first. */
int genflags_apply(struct genflags *g, struct wl_spec *spec, int c, const char *optarg, char *err,
                   size_t errlen);
/* After the last flag: a download uses one connection unless -c said otherwise. */
void genflags_finish(const struct genflags *g, struct wl_spec *spec);

#endif
