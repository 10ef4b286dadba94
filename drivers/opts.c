/*
 * opts.c — the option tables' parser and help text (see opts.h).
 *
 *   opts_parse() -> defaults (set_value on each row's def) -> for each
 *     "key=value": find_row() -> set_value() -> store()   [| rest[] | error]
 *   opt_format() -> opt_range()
 *
 * Callers: the backends' open functions (once per open, never per packet),
 * harness/ (doctor, --help). Calls: workloads/units.c, libc.
 */
#include "drivers/opts.h"

#include "workloads/units.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int opts_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;
    if (!v || !*v) return -1;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, (uint64_t)(*p - '0'), &x))
            return -1;
    }
    if (x < min || x > max) return -1;
    *out = x;
    return 0;
}

const struct opt_def *opts_lookup(const struct opt_def *defs, const char *key, size_t keylen)
{
    for (const struct opt_def *d = defs; d && d->name; d++)
        if (strlen(d->name) == keylen && strncmp(d->name, key, keylen) == 0) return d;
    return NULL;
}

const char *opts_value(const char *const *kv, const char *key, int which)
{
    size_t kl = strlen(key);
    const char *found = NULL;
    for (const char *const *o = kv; o && *o; o++)
        if (strncmp(*o, key, kl) == 0 && (*o)[kl] == '=') {
            found = *o + kl + 1;
            if (which == 0) break;
        }
    return found;
}

uint64_t opt_get_uint(const struct opt_def *d, const void *base)
{
    const char *p = (const char *)base + d->off;
    switch (d->size) {
    case 1: return *(const uint8_t *)p;
    case 2: return *(const uint16_t *)p;
    case 4: return *(const uint32_t *)p;
    default: return *(const uint64_t *)p;
    }
}

static void store_uint(const struct opt_def *d, void *base, uint64_t x)
{
    char *p = (char *)base + d->off;
    switch (d->size) {
    case 1: *(uint8_t *)p = (uint8_t)x; break;
    case 2: *(uint16_t *)p = (uint16_t)x; break;
    case 4: *(uint32_t *)p = (uint32_t)x; break;
    default: *(uint64_t *)p = x; break;
    }
}

/* The largest value a field of `size` bytes holds. */
static uint64_t field_max(size_t size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

/* "1024", "256k" (sizes: binary multiples), "10k" (counts: decimal). */
static void fmt_num(enum opt_type t, uint64_t x, char *buf, size_t len)
{
    static const char suf[] = "kmgt";
    uint64_t unit = t == OPT_SIZE ? 1024 : t == OPT_COUNT ? 1000 : 0;
    int i = -1;
    while (unit && x >= unit && x % unit == 0 && i < 3)
        x /= unit, i++;
    if (i >= 0)
        snprintf(buf, len, "%" PRIu64 "%c", x, suf[i]);
    else
        snprintf(buf, len, "%" PRIu64, x);
}

const char *opt_range(const struct opt_def *d, char *buf, size_t len)
{
    char lo[32], hi[32];
    size_t n = 0;
    buf[0] = '\0';
    if (d->values) {
        snprintf(buf, len, "%s", d->values);
        return buf;
    }
    switch (d->type) {
    case OPT_UINT:
    case OPT_SIZE:
    case OPT_COUNT:
        fmt_num(d->type, d->min, lo, sizeof(lo));
        fmt_num(d->type, d->max, hi, sizeof(hi));
        snprintf(buf, len, "%s..%s", lo, d->max == UINT64_MAX ? "" : hi);
        break;
    case OPT_BOOL: snprintf(buf, len, "0|1"); break;
    case OPT_ENUM:
        for (const char *const *c = d->choices; c && *c && n + 1 < len; c++) {
            snprintf(buf + n, len - n, "%s%s", c == d->choices ? "" : "|", *c);
            n = strlen(buf);
        }
        break;
    case OPT_STR:
    case OPT_LIST:
        if (d->max)
            snprintf(buf, len, "%" PRIu64 "..%" PRIu64 " chars%s", d->min, d->max,
                     d->type == OPT_LIST ? ", repeat" : "");
        else
            snprintf(buf, len, "%s%s", d->min ? "text" : "text or empty",
                     d->type == OPT_LIST ? ", repeat" : "");
        break;
    }
    return buf;
}

int opt_format(const struct opt_def *d, char *buf, size_t len)
{
    char r[96];
    return snprintf(buf, len, "%-20s %-18s %-9s %s", d->name, opt_range(d, r, sizeof(r)),
                    d->def ? (*d->def ? d->def : "\"\"") : "-", d->help ? d->help : "");
}

/* Parse v for d and, with base, store it: 0, or -1 and why ("expected ..."). */
static int set_value(const struct opt_def *d, const char *v, void *base, char *why, size_t whylen)
{
    char r[96];
    uint64_t x;
    switch (d->type) {
    case OPT_UINT:
    case OPT_SIZE:
    case OPT_COUNT: {
        int rc = d->type == OPT_UINT   ? opts_uint(v, 0, UINT64_MAX, &x)
                 : d->type == OPT_SIZE ? units_parse_size(v, &x)
                                       : units_parse_count(v, &x);
        uint64_t scale = d->scale ? d->scale : 1, stored;
        if (rc < 0 || x < d->min || x > d->max || __builtin_mul_overflow(x, scale, &stored) ||
            stored > field_max(d->size)) {
            snprintf(why, whylen, "expected %s%s", opt_range(d, r, sizeof(r)),
                     d->type == OPT_SIZE    ? " (a size: k = 1024, m, g)"
                     : d->type == OPT_COUNT ? " (a count: k = 1000, m, g)"
                                            : "");
            return -1;
        }
        if (base) store_uint(d, base, stored);
        return 0;
    }
    case OPT_BOOL:
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
            snprintf(why, whylen, "expected 0 or 1");
            return -1;
        }
        if (base) store_uint(d, base, (uint64_t)(v[0] - '0'));
        return 0;
    case OPT_ENUM:
        for (const char *const *c = d->choices; c && *c; c++)
            if (strcmp(v, *c) == 0) {
                if (base) store_uint(d, base, (uint64_t)(c - d->choices));
                return 0;
            }
        snprintf(why, whylen, "expected %s", opt_range(d, r, sizeof(r)));
        return -1;
    case OPT_STR:
    case OPT_LIST: {
        size_t l = strlen(v);
        const char *bad = d->check ? d->check(v) : NULL;
        if (l < d->min || (d->max && l > d->max) || bad) {
            if (bad)
                snprintf(why, whylen, "expected %s", bad);
            else if (d->max)
                snprintf(why, whylen, "expected %" PRIu64 "..%" PRIu64 " characters", d->min,
                         d->max);
            else
                snprintf(why, whylen, "expected a non-empty value");
            return -1;
        }
        if (!base) return 0;
        const char **slot = (const char **)(void *)((char *)base + d->off);
        size_t nslots = d->type == OPT_LIST ? d->size / sizeof(*slot) : 1;
        size_t i = 0;
        while (d->type == OPT_LIST && i < nslots && slot[i])
            i++;
        if (i == nslots) {
            snprintf(why, whylen, "at most %zu of them", nslots);
            return -1;
        }
        slot[i] = v;
        return 0;
    }
    }
    snprintf(why, whylen, "unknown option type");
    return -1;
}

/* "who: <what> (known: a, b, c)" into err. */
static void err_known(const char *who, const char *what, const struct opt_set *sets, int nsets,
                      char *err, size_t errlen)
{
    size_t n = (size_t)snprintf(err, errlen, "%s: %s (known:", who, what);
    int first = 1;
    for (int s = 0; s < nsets; s++)
        for (const struct opt_def *d = sets[s].defs; d && d->name && n + 1 < errlen; d++) {
            snprintf(err + n, errlen - n, "%s %s", first ? "" : ",", d->name);
            n = strlen(err);
            first = 0;
        }
    if (n + 1 < errlen) snprintf(err + n, errlen - n, ")");
}

int opts_parse(const char *who, const char *const *kv, const struct opt_set *sets, int nsets,
               const char **rest, char *err, size_t errlen)
{
    char why[160], what[320];
    size_t nrest = 0;
    for (int s = 0; s < nsets; s++) {
        if (!sets[s].base) continue;
        for (const struct opt_def *d = sets[s].defs; d && d->name; d++) {
            if (d->type == OPT_LIST) memset((char *)sets[s].base + d->off, 0, d->size);
            if (d->def && set_value(d, d->def, sets[s].base, why, sizeof(why)) < 0) {
                snprintf(err, errlen, "%s: bad default '%s' for %s: %s", who, d->def, d->name,
                         why);
                return -1;
            }
        }
    }
    for (const char *const *o = kv; o && *o; o++) {
        const char *eq = strchr(*o, '=');
        if (!eq) {
            snprintf(what, sizeof(what), "option '%s' is not key=value", *o);
            err_known(who, what, sets, nsets, err, errlen);
            return -1;
        }
        const struct opt_def *d = NULL;
        int s = 0;
        for (; s < nsets && !d; s++)
            d = opts_lookup(sets[s].defs, *o, (size_t)(eq - *o));
        if (!d) {
            snprintf(what, sizeof(what), "unknown option '%.*s'", (int)(eq - *o), *o);
            err_known(who, what, sets, nsets, err, errlen);
            return -1;
        }
        void *base = sets[s - 1].base;
        if (set_value(d, eq + 1, base, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s: bad value '%s' for %s: %s", who, eq + 1, d->name, why);
            return -1;
        }
        if (!base && rest) rest[nrest++] = *o;
    }
    if (rest) rest[nrest] = NULL;
    return 0;
}
