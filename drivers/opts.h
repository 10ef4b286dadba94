/*
 * opts.h — the drivers' key=value options as tables (STYLE lessons 4, 11;
 * dperf's keyword table): each backend describes its options once, as rows
 * carrying their name, type, range, default, one line of help and where the
 * value goes in the backend's config struct; the table hangs off its ops
 * struct (pktio_ops.opts, netio_ops.opts). One parser (opts_parse) fills a
 * config from a NULL-terminated "key=value" array against one or more
 * tables; the same rows give doctor and --help their text (opt_format).
 *
 * Callers: drivers/afpacket.c, drivers/memlink.c, drivers/dpdk/opts.c,
 * drivers/ustack/netio_common.c, drivers/ustack/netio_dpdk.c, harness/
 * (doctor, serve/load --help, plan.c). Calls: workloads/units.c (sizes and
 * counts), libc. Library code: never prints, errors come back in err.
 */
#ifndef BB_OPTS_H
#define BB_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum opt_type {
    OPT_UINT,  /* decimal digits, no unit: "1024" */
    OPT_SIZE,  /* a size, units_parse_size: "64", "256k", "1m" (binary: k = 1024) */
    OPT_COUNT, /* a count, units_parse_count: "10k", "1.5m" (decimal: k = 1000) */
    OPT_BOOL,  /* "0" or "1"; stored as 0/1 in a field of `size` bytes */
    OPT_ENUM,  /* one of choices[]: stored as its index */
    OPT_STR,   /* a string: a pointer into the option (not copied); min..max is its
                  length (max 0: no bound) */
    OPT_LIST,  /* OPT_STR, repeatable: the field is an array of size/sizeof(char *)
                  pointers, each option fills the next NULL one */
};

struct opt_def {
    const char *name;
    enum opt_type type;
    uint64_t min, max; /* numbers: inclusive range of the value as written (before scale) */
    const char *def;   /* default, as text, parsed as a value would be; NULL: the field is
                          left as the caller set it (help says what that means) */
    const char *help;  /* one line, with units */
    size_t off, size;  /* where: offsetof in the config struct, sizeof the field (integers:
                          1, 2, 4 or 8 bytes; strings: sizeof(const char *)) */
    uint64_t scale;    /* numbers: stored = value * scale (0 = 1), e.g. ms into ns */
    const char *const *choices; /* OPT_ENUM: NULL-terminated names */
    /* Strings: NULL when v is fine, else what is expected ("NAME:A or NAME:B"). */
    const char *(*check)(const char *v);
    /* What the value looks like, for help and errors ("NAME:A|NAME:B"); NULL:
     * made from the type and range. */
    const char *values;
};
/* A table ends with a row whose name is NULL. */
#define OPT_END {.name = NULL}

/* A table and the struct its rows store into (NULL: check, do not store). */
struct opt_set {
    const struct opt_def *defs;
    void *base;
};

/* A backend's tables for doctor and --help, NULL-terminated by defs. */
struct opt_group {
    const char *title; /* "stack", "dpdk pktio", "exception path" */
    const struct opt_def *defs;
};

/* Parse kv (NULL-terminated "key=value" strings, or NULL) against
 * sets[0..nsets): first every row's default (def != NULL) of every set with
 * a base, then each option in order; of a key given twice the last wins
 * (OPT_LIST: each one is added). A key of a set without base is checked and
 * not stored: with rest != NULL it is copied there (in order, NULL-
 * terminated; rest has room for as many entries as kv plus one), for the
 * next layer to parse. who names the backend in err. Returns 0, or -1 and
 *   "WHO: bad value 'V' for KEY: expected 1..65536"
 *   "WHO: unknown option 'K' (known: a, b, c)"
 *   "WHO: option 'X' is not key=value (known: a, b, c)" */
int opts_parse(const char *who, const char *const *kv, const struct opt_set *sets, int nsets,
               const char **rest, char *err, size_t errlen);

/* The row of defs named key[0..keylen), or NULL. */
const struct opt_def *opts_lookup(const struct opt_def *defs, const char *key, size_t keylen);

/* The value of the first (which = 0) or last (which = -1) option KEY=... in
 * kv, or NULL when none. A plain scan: for callers that look at options
 * they pass on (netio_dpdk.c, harness/run/plan.c). */
const char *opts_value(const char *const *kv, const char *key, int which);

/* A decimal in [min, max] (digits only): 0 and *out, or -1. */
int opts_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out);

/* One row for doctor and --help, without newline:
 *   "rxd             1..65536          1024      RX descriptors per queue"
 * (name, range or choices, default, help). Returns snprintf's count. */
int opt_format(const struct opt_def *d, char *buf, size_t len);
/* Just the range ("1..65536", "0|1", "auto|off", "1..32 chars", "text"). */
const char *opt_range(const struct opt_def *d, char *buf, size_t len);

/* An integer field's stored value (d->size bytes at base + d->off). */
uint64_t opt_get_uint(const struct opt_def *d, const void *base);

#endif
