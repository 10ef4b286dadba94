/*
 * suite.c — suite files (see suite.h for the format).
 *
 * suite_load() -> read the file, hash it -> ini_parse_stream(feed, on_ini)
 *   inih does the ini grammar (sections, key = value or key: value, ';' and '#'
 *   comments, inline " ;" comments, CRLF, a UTF-8 BOM). Debian's inih 55 gives
 *   the handler no line number and never calls it for a section header, so
 *   feed() hands inih each file line between two lines of its own, counting
 *   file lines, and on_ini() sees from inih's section on the second one whether
 *   the file line was a header: after_line() opens the section then, or refuses
 *   a line inih took for neither a header nor a key; key_line() takes a key of
 *   the current section: a [suite] key from suite_keys[], a workload key through
 *   wl_spec_set(), or a driver option kept as "key=value".
 * -> finish(): no workloads?, inherit duration/warmup/timeout from [suite],
 *    wl_spec_validate() each workload.
 * The first error stops the parse; the message is "FILE:LINE: what".
 *
 * Callers: harness/cli/run.c, tests. Calls: inih, workloads/spec.c,
 * workloads/units.c, drivers/netio.c.
 */
#include "harness/run/suite.h"

#include "drivers/netio.h"
#include "harness/run/preload.h"
#include "workloads/units.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SUITE_MAX_FILE (1u << 20)
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define MAX_KEY 49 /* as before: at most inih's own key buffer, char[50] */
#define MAX_SEEN 48
#define SUITE_MAX_LOADS 16

/* ---------------------------------------------------------------- [suite] keys */

typedef int (*key_setter)(struct suite *s, const char *v, char *why, size_t whylen);

struct suite_key {
    const char *key;
    const char *def; /* NULL: computed (see help) */
    const char *help;
    key_setter set;
};

static int parse_drivers(const char *list, char out[SUITE_MAX_DRIVERS][32], int *n, char *why,
                         size_t whylen);

static int parse_int(const char *v, long lo, long hi, long *out)
{
    char *end;
    if (!*v || isspace((unsigned char)*v)) return -1;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static int parse_onoff(const char *v, int *out, char *why, size_t whylen)
{
    if (strcmp(v, "on") == 0) *out = 1;
    else if (strcmp(v, "off") == 0) *out = 0;
    else {
        snprintf(why, whylen, "expected on or off");
        return -1;
    }
    return 0;
}

static int parse_dur(const char *v, uint64_t min_ns, uint64_t *out, char *why, size_t whylen)
{
    uint64_t ns;
    if (units_parse_duration_ns(v, &ns) < 0 || ns < min_ns) {
        snprintf(why, whylen, "expected a duration%s like 5s, 500ms or 2m",
                 min_ns ? " > 0" : "");
        return -1;
    }
    *out = ns;
    return 0;
}

static int set_name(struct suite *s, const char *v, char *why, size_t whylen)
{
    size_t n = strlen(v);
    if (n == 0 || n >= sizeof s->name) {
        snprintf(why, whylen, "expected 1 to %zu characters", sizeof s->name - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < ' ' || v[i] == 0x7f) {
            snprintf(why, whylen, "contains a control character");
            return -1;
        }
    memcpy(s->name, v, n + 1);
    return 0;
}

static int set_drivers(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_drivers(v, s->drivers, &s->ndrivers, why, whylen);
}

static int set_repeats(struct suite *s, const char *v, char *why, size_t whylen)
{
    long x;
    if (parse_int(v, 1, 1000, &x) < 0) {
        snprintf(why, whylen, "expected a whole number from 1 to 1000");
        return -1;
    }
    s->repeats = (unsigned)x;
    return 0;
}

void suite_entry_split(const char *entry, const char *default_link, char *drv, size_t drvlen,
                       char *link, size_t linklen)
{
    const char *at = strchr(entry, '@');
    if (at) {
        snprintf(drv, drvlen, "%.*s", (int)(at - entry), entry);
        snprintf(link, linklen, "%s", at + 1);
    } else {
        snprintf(drv, drvlen, "%s", entry);
        snprintf(link, linklen, "%s", default_link);
    }
}

void suite_driver_base(const char *drv, char *base, size_t len)
{
    const char *plus = strchr(drv, '+');
    snprintf(base, len, "%.*s", plus ? (int)(plus - drv) : (int)strlen(drv), drv);
}

/* VARIANT after '+': a-z, 0-9, '_', '-'; NULL when fine, else what is wrong. */
static const char *variant_bad(const char *drv)
{
    const char *plus = strchr(drv, '+');
    if (!plus) return NULL;
    if (!plus[1]) return "empty variant after '+'";
    for (const char *p = plus + 1; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '-'))
            return "a variant is a-z, 0-9, '_' and '-'";
    return NULL;
}

int suite_link_ok(const char *driver, const char *link)
{
    if (strcmp(link, "veth") == 0) return 1;
    return (strcmp(link, "tap") == 0 || strcmp(link, "ring") == 0 || strcmp(link, "xdp") == 0) &&
           strcmp(driver, "dpdk") == 0;
}

const char *suite_role_bad(const struct suite *s, const char *entry, char *why, size_t len)
{
    char drv[32], link[16];
    suite_entry_split(entry, s->link, drv, sizeof drv, link, sizeof link);
    if (s->dut != SUITE_DUT_CLIENT || strcmp(link, "ring") != 0) return NULL;
    snprintf(why, len,
             "dut = client cannot run '%s': the ring link has no kernel side for the fixed server",
             entry);
    return why;
}

static int set_link(struct suite *s, const char *v, char *why, size_t whylen)
{
    if (strcmp(v, "veth") != 0 && strcmp(v, "tap") != 0 && strcmp(v, "ring") != 0 &&
        strcmp(v, "xdp") != 0) {
        snprintf(why, whylen, "expected veth, tap, ring or xdp");
        return -1;
    }
    snprintf(s->link, sizeof s->link, "%s", v);
    return 0;
}

static int set_cpu(int *cpu, const char *v, char *why, size_t whylen)
{
    long x;
    if (parse_int(v, -1, 1023, &x) < 0) {
        snprintf(why, whylen, "expected a CPU number from 0 to 1023, or -1 for unpinned");
        return -1;
    }
    *cpu = (int)x;
    return 0;
}

static int set_dut_cpu(struct suite *s, const char *v, char *why, size_t whylen)
{
    return set_cpu(&s->dut_cpu, v, why, whylen);
}

static int set_gen_cpu(struct suite *s, const char *v, char *why, size_t whylen)
{
    return set_cpu(&s->gen_cpu, v, why, whylen);
}

static int set_rps(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &s->rps, why, whylen);
}

static int set_capture(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &s->capture, why, whylen);
}

static int set_server_cache(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &s->server_cache, why, whylen);
}

static int set_offloads(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &s->offloads, why, whylen);
}

static int set_port(struct suite *s, const char *v, char *why, size_t whylen)
{
    long x;
    if (parse_int(v, 1, 65535, &x) < 0) {
        snprintf(why, whylen, "expected a TCP port from 1 to 65535");
        return -1;
    }
    s->port = (uint16_t)x;
    return 0;
}

static int set_duration(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_dur(v, 1, &s->duration_ns, why, whylen);
}

static int set_warmup(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_dur(v, 0, &s->warmup_ns, why, whylen);
}

static int set_timeout(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_dur(v, 1, &s->timeout_ns, why, whylen);
}

static int set_idle_timeout(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_dur(v, 1, &s->idle_timeout_ns, why, whylen);
}

static int set_p99_target(struct suite *s, const char *v, char *why, size_t whylen)
{
    return parse_dur(v, 1, &s->p99_target_ns, why, whylen);
}

static int set_dut(struct suite *s, const char *v, char *why, size_t whylen)
{
    if (strcmp(v, "server") == 0) s->dut = SUITE_DUT_SERVER;
    else if (strcmp(v, "client") == 0) s->dut = SUITE_DUT_CLIENT;
    else {
        snprintf(why, whylen, "expected server or client");
        return -1;
    }
    return 0;
}

static int set_server(struct suite *s, const char *v, char *why, size_t whylen)
{
    if (strcmp(v, "ours") == 0) s->server = SUITE_SERVER_OURS;
    else if (strcmp(v, "nginx") == 0) s->server = SUITE_SERVER_NGINX;
    else {
        snprintf(why, whylen, "expected ours or nginx");
        return -1;
    }
    return 0;
}

const char *suite_dut_str(int dut)
{
    return dut == SUITE_DUT_CLIENT ? "client" : "server";
}

/* A host name here; that a [host NAME] section has it is checked at the end. */
static int set_host_name(char *dst, size_t len, const char *v, char *why, size_t whylen)
{
    size_t n = strlen(v); /* "": this machine */
    if (n >= len || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
        snprintf(why, whylen, "expected the NAME of a [host NAME] section, or nothing");
        return -1;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

static int set_dut_host(struct suite *s, const char *v, char *why, size_t whylen)
{
    return set_host_name(s->dut_host, sizeof s->dut_host, v, why, whylen);
}

static int set_gen_host(struct suite *s, const char *v, char *why, size_t whylen)
{
    return set_host_name(s->gen_host, sizeof s->gen_host, v, why, whylen);
}

static const struct suite_key suite_keys[] = {
    {"name", NULL, "suite name for results and reports, text (default: file name without .ini)",
     set_name},
    {"drivers", "kernel",
     "comma list of netio drivers to compare, NAME[+VARIANT][@LINK], e.g. kernel,kernel+busypoll "
     "(a variant takes the options of its [driver NAME+VARIANT] section)",
     set_drivers},
    {"repeats", "6",
     "trials per workload and driver, 1..1000. 6 is the fewest whose interval of the median "
     "reaches 95% ([min, max], 96.9%); 5 gives 93.8%, 3 75%, 1 no interval; 9 is the fewest that "
     "drops the extremes ((x2, x8), 96.1%)",
     set_repeats},
    {"link", "veth", "default link for drivers listed without @LINK: veth | tap | ring | xdp (dpdk on the veth through net_af_xdp)", set_link},
    {"dut_cpu", "1", "CPU for the server (DUT), -1 = unpinned", set_dut_cpu},
    {"gen_cpu", "0", "CPU for the load generator, -1 = unpinned", set_gen_cpu},
    {"rps", "off", "on | off: steer the DUT veth's receive processing (RPS) onto dut_cpu",
     set_rps},
    {"port", "8080", "server TCP port, 1..65535", set_port},
    {"duration", "5s", "default measured window per trial, e.g. 5s, 500ms (> 0)", set_duration},
    {"warmup", "1s", "default uncounted warm-up before the window, e.g. 1s, 200ms (0 = none)",
     set_warmup},
    {"timeout", "10s", "default per-request timeout, e.g. 10s, 500ms (> 0)", set_timeout},
    {"idle_timeout", "60s", "server closes connections idle this long, e.g. 60s (> 0)",
     set_idle_timeout},
    {"capture", "off", "on | off: capture DUT traffic per trial (headers only, snaplen 128): libpcap, or DPDK pdump/rte_pcapng", set_capture},
    {"server_cache", "on",
     "on | off: our server reuses the last /bytes/N response it built while N and Connection "
     "stay the same (off: header and body pattern built per request, serve --no-cache)",
     set_server_cache},
    {"offloads", "off",
     "on | off: TSO/GSO/GRO and checksum offloads on the veth (kernel), PACKET_VNET_HDR TSO "
     "frames and checksum offload (afpacket), the PMD's TSO and checksum offloads (dpdk); off: a wire, "
     "MTU frames with their checksums filled in. [driver NAME] may set it for one row",
     set_offloads},
    {"p99_target", "1ms",
     "latency target of the load sweeps: the report gives each driver's highest offered rate "
     "whose p99 stays under it, e.g. 1ms, 500us (> 0)",
     set_p99_target},
    {"dut", "server",
     "server | client: the device under test. server: each driver runs our server, the "
     "generator is `load` on kernel sockets; client: each driver runs `load` (the downloader, "
     "or the load), against a fixed server on kernel sockets (see `server`); dut_cpu is the "
     "DUT's core either way",
     set_dut},
    {"server", "ours",
     "ours | nginx: with dut = client, the fixed server in bb-gen on kernel sockets: ours "
     "(bypassbench serve --driver kernel) or Debian's nginx with the built-in "
     "harness/run/nginx.conf, serving files of the /bytes/N pattern",
     set_server},
    {"dut_host", "",
     "[host NAME] the DUT runs on, over ssh (default none: this machine, in namespaces); "
     "with gen_host",
     set_dut_host},
    {"gen_host", "",
     "[host NAME] the generator runs on, over ssh (default none: this machine, in "
     "namespaces); with dut_host",
     set_gen_host},
    {NULL, NULL, NULL, NULL},
};

/* ---------------------------------------------------------------- helpers */

static void known_drivers(char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (const struct netio_ops *const *b = netio_backends(); *b && off < len; b++) {
        int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", (*b)->name);
        if (n < 0) break;
        off += (size_t)n;
    }
}

/* Comma list into out[]; on error *n and out are left as they were. */
static int parse_drivers(const char *list, char out[SUITE_MAX_DRIVERS][32], int *n, char *why,
                         size_t whylen)
{
    char tmp[SUITE_MAX_DRIVERS][32], known[256];
    int cnt = 0;
    const char *p = list;
    known_drivers(known, sizeof known);
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        while (p < e && isspace((unsigned char)*p)) p++;
        while (e > p && isspace((unsigned char)e[-1])) e--;
        size_t len = (size_t)(e - p);
        if (len == 0) {
            snprintf(why, whylen, cnt == 0 && !comma ? "no driver given (known: %s)"
                                                     : "empty driver name in the list (known: %s)",
                     known);
            return -1;
        }
        char name[64], drv[32], link[16], base[32];
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        suite_entry_split(name, "veth", drv, sizeof drv, link, sizeof link);
        suite_driver_base(drv, base, sizeof base);
        if (len >= sizeof tmp[0] || !netio_find(base)) {
            snprintf(why, whylen, "unknown driver '%s' (known: %s)", base, known);
            return -1;
        }
        if (variant_bad(drv)) {
            snprintf(why, whylen, "driver '%s': %s", drv, variant_bad(drv));
            return -1;
        }
        if (!suite_link_ok(base, link)) {
            snprintf(why, whylen,
                     "driver '%s' cannot run on link '%s' (veth: every driver; tap, ring, xdp: dpdk)",
                     drv, link);
            return -1;
        }
        for (int i = 0; i < cnt; i++)
            if (strcmp(tmp[i], name) == 0) {
                snprintf(why, whylen, "driver '%s' listed twice", name);
                return -1;
            }
        if (cnt == SUITE_MAX_DRIVERS) {
            snprintf(why, whylen, "more than %d drivers", SUITE_MAX_DRIVERS);
            return -1;
        }
        memcpy(tmp[cnt++], name, len + 1);
        if (!comma) break;
        p = comma + 1;
    }
    memcpy(out, tmp, sizeof tmp);
    *n = cnt;
    return 0;
}

static uint64_t fnv1a64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---------------------------------------------------------------- parse state */

enum sec { SEC_NONE, SEC_SUITE, SEC_WORKLOAD, SEC_DRIVER, SEC_HOST };
/* The three lines feed() hands inih per file line, in this order. */
enum feed { FEED_RESET, FEED_LINE, FEED_PROBE };

#define WL_SET_DURATION 1u
#define WL_SET_WARMUP 2u
#define WL_SET_TIMEOUT 4u

struct pstate {
    struct suite *s;
    const char *fname;
    const char *p, *end; /* unread text */
    int line;            /* file lines handed to inih so far = the one being processed */
    const char *lp;      /* that line, BOM and '\n' cut off; lp[0..llen) */
    size_t llen;
    enum feed fed;       /* what feed() handed inih last */
    int keyed;           /* inih called on_ini for a key of that line */
    int prev_key;        /* a key line since the section header: inih would take an
                            indented line as a continuation of it */
    int failed;
    char *err;
    size_t errlen;
    enum sec sec;
    int idx; /* workload or driver-options index of the current section */
    char label[96];
    int suite_line;
    int dut_line, server_line; /* where [suite] set dut and server (0: not set) */
    int wl_line[SUITE_MAX_WORKLOADS];
    unsigned wl_set[SUITE_MAX_WORKLOADS];
    double loads[SUITE_MAX_WORKLOADS][SUITE_MAX_LOADS]; /* a sweep's loads (fractions) */
    int nloads[SUITE_MAX_WORKLOADS];
    int dopt_line[SUITE_MAX_DRIVERS];
    int dut_host_line, gen_host_line; /* where [suite] named them */
    char seen[MAX_SEEN][MAX_KEY + 1]; /* keys of the current section */
    int seen_line[MAX_SEEN];
    int nseen;
};

/* Records the first error as "FILE:LINE: msg" (line <= 0: "FILE: msg"). Returns -1. */
__attribute__((format(printf, 3, 4))) static int fail_at(struct pstate *st, int line,
                                                         const char *fmt, ...)
{
    if (st->failed) return -1;
    st->failed = 1;
    if (!st->err || st->errlen == 0) return -1;
    int n = line > 0 ? snprintf(st->err, st->errlen, "%s:%d: ", st->fname, line)
                     : snprintf(st->err, st->errlen, "%s: ", st->fname);
    if (n < 0 || (size_t)n >= st->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int valid_workload_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len >= sizeof(((struct wl_spec *)0)->name)) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_' ||
              n[i] == '-'))
            return 0;
    return 1;
}

static int open_suite(struct pstate *st, const char *name)
{
    if (*name) return fail_at(st, st->line, "[suite] takes no name (got '%s')", name);
    if (st->suite_line)
        return fail_at(st, st->line, "duplicate [suite] section (first at line %d)",
                       st->suite_line);
    st->suite_line = st->line;
    st->sec = SEC_SUITE;
    snprintf(st->label, sizeof st->label, "[suite]");
    return 0;
}

static int open_workload(struct pstate *st, const char *name)
{
    struct suite *s = st->s;
    if (!*name) return fail_at(st, st->line, "[workload] needs a name: [workload NAME]");
    if (!valid_workload_name(name))
        return fail_at(st, st->line,
                       "bad workload name '%s': use a-z, 0-9, '_' and '-', at most %zu characters",
                       name, sizeof s->workloads[0].name - 1);
    for (int i = 0; i < s->nworkloads; i++)
        if (strcmp(s->workloads[i].name, name) == 0)
            return fail_at(st, st->line, "duplicate [workload %s] (first at line %d)", name,
                           st->wl_line[i]);
    if (s->nworkloads == SUITE_MAX_WORKLOADS)
        return fail_at(st, st->line, "too many workloads (at most %d)", SUITE_MAX_WORKLOADS);
    st->idx = s->nworkloads++;
    struct wl_spec *w = &s->workloads[st->idx];
    wl_spec_defaults(w);
    snprintf(w->name, sizeof w->name, "%s", name);
    st->wl_line[st->idx] = st->line;
    st->wl_set[st->idx] = 0;
    st->sec = SEC_WORKLOAD;
    snprintf(st->label, sizeof st->label, "[workload %s]", name);
    return 0;
}

static int open_driver(struct pstate *st, const char *name)
{
    struct suite *s = st->s;
    char known[256];
    if (!*name) return fail_at(st, st->line, "[driver] needs a name: [driver NAME]");
    char base[32];
    suite_driver_base(name, base, sizeof base);
    if (strlen(name) >= sizeof s->dopts[0].name || !netio_find(base)) {
        known_drivers(known, sizeof known);
        return fail_at(st, st->line, "unknown driver '%s' in [driver %s] (known: %s)", base, name,
                       known);
    }
    if (variant_bad(name)) return fail_at(st, st->line, "[driver %s]: %s", name, variant_bad(name));
    for (int i = 0; i < s->ndopts; i++)
        if (strcmp(s->dopts[i].name, name) == 0)
            return fail_at(st, st->line, "duplicate [driver %s] (first at line %d)", name,
                           st->dopt_line[i]);
    if (s->ndopts == SUITE_MAX_DRIVERS)
        return fail_at(st, st->line, "too many [driver NAME] sections (at most %d)",
                       SUITE_MAX_DRIVERS);
    st->idx = s->ndopts++;
    struct suite_driver_opts *d = &s->dopts[st->idx];
    memset(d, 0, sizeof *d);
    d->offloads = -1;
    snprintf(d->name, sizeof d->name, "%s", name);
    st->dopt_line[st->idx] = st->line;
    st->sec = SEC_DRIVER;
    snprintf(st->label, sizeof st->label, "[driver %s]", name);
    return 0;
}

static int open_host(struct pstate *st, const char *name)
{
    struct suite *s = st->s;
    size_t n = strlen(name);
    if (!n) return fail_at(st, st->line, "[host] needs a name: [host NAME]");
    if (n >= sizeof s->hosts[0].name ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return fail_at(st, st->line,
                       "bad host name '%s': use a-z, 0-9, '_' and '-', at most %zu characters",
                       name, sizeof s->hosts[0].name - 1);
    for (int i = 0; i < s->nhosts; i++)
        if (strcmp(s->hosts[i].name, name) == 0)
            return fail_at(st, st->line, "duplicate [host %s] (first at line %d)", name,
                           s->hosts[i].line);
    if (s->nhosts == SUITE_MAX_HOSTS)
        return fail_at(st, st->line, "too many [host NAME] sections (at most %d)",
                       SUITE_MAX_HOSTS);
    st->idx = s->nhosts++;
    suite_host_defaults(&s->hosts[st->idx], name);
    s->hosts[st->idx].line = st->line;
    st->sec = SEC_HOST;
    snprintf(st->label, sizeof st->label, "[host %s]", name);
    return 0;
}

static int host_key(struct pstate *st, const char *name, const char *value)
{
    char why[512];
    struct suite_host *h = &st->s->hosts[st->idx];
    if (suite_host_set(h, name, value, why, sizeof why) < 0)
        return strncmp(why, "unknown key", 11) == 0
                   ? fail_at(st, st->line, "%s", why)
                   : fail_at(st, st->line, "bad value '%s' for '%s' in %s: %s", value, name,
                             st->label, why);
    if (strcmp(name, "identity") == 0) h->identity_line = st->line;
    return 0;
}

/* text[0..len) is what stands between '[' and ']'. */
static int open_section(struct pstate *st, const char *text, size_t len)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)len, text);
    char *p = buf, *e = buf + strlen(buf);
    while (isspace((unsigned char)*p)) p++;
    while (e > p && isspace((unsigned char)e[-1])) *--e = '\0';
    char *name = p;
    while (*name && !isspace((unsigned char)*name)) name++;
    if (*name) {
        *name++ = '\0';
        while (isspace((unsigned char)*name)) name++;
    }
    st->nseen = 0;
    st->prev_key = 0;
    if (strcmp(p, "suite") == 0) return open_suite(st, name);
    if (strcmp(p, "workload") == 0) return open_workload(st, name);
    if (strcmp(p, "driver") == 0) return open_driver(st, name);
    if (strcmp(p, "host") == 0) return open_host(st, name);
    return fail_at(st, st->line,
                   "unknown section [%.*s] (expected [suite], [workload NAME], [driver NAME] or "
                   "[host NAME])",
                   (int)len, text);
}

/* A section no file can name (a file line holds no '\n'), and any key. */
#define RESET_LINE "[\n]"
#define RESET_SECTION "\n"
#define PROBE_LINE "-="

/* ini_reader, fgets-like: per file line, RESET_LINE, the line, PROBE_LINE.
 * After RESET_LINE a header in the file line changes inih's section even to a
 * name seen before, and inih never takes the file line as the continuation of
 * a value; on PROBE_LINE inih calls on_ini() with the section it now has. */
static char *feed(char *str, int num, void *stream)
{
    struct pstate *st = stream;
    if (st->failed) return NULL;
    if (num < (int)sizeof RESET_LINE) {
        fail_at(st, st->line, "inih's line buffer is too small (%d bytes)", num);
        return NULL;
    }
    const char *nl;
    size_t len;
    switch (st->fed) {
    case FEED_PROBE:
        if (st->p >= st->end) return NULL;
        memcpy(str, RESET_LINE, sizeof RESET_LINE);
        st->fed = FEED_RESET;
        return str;
    case FEED_RESET:
        nl = memchr(st->p, '\n', (size_t)(st->end - st->p));
        len = (size_t)((nl ? nl : st->end) - st->p);
        st->line++;
        if (len > (size_t)num - 1) {
            fail_at(st, st->line, "line too long (%zu bytes, at most %d)", len, num - 1);
            return NULL;
        }
        st->lp = st->p;
        st->llen = len;
        /* inih skips a BOM on its own line 1 only, which is RESET_LINE */
        if (st->line == 1 && len >= 3 && memcmp(st->lp, "\xEF\xBB\xBF", 3) == 0) {
            st->lp += 3;
            st->llen -= 3;
        }
        memcpy(str, st->lp, st->llen);
        str[st->llen] = '\0';
        st->p += len + (nl != NULL);
        st->keyed = 0;
        st->fed = FEED_LINE;
        return str;
    case FEED_LINE:
        memcpy(str, PROBE_LINE, sizeof PROBE_LINE);
        st->fed = FEED_PROBE;
        return str;
    }
    return NULL;
}

/* Offset of the first non-blank byte of the current line (llen: none). */
static size_t line_start(const struct pstate *st)
{
    size_t i = 0;
    while (i < st->llen && isspace((unsigned char)st->lp[i])) i++;
    return i;
}

/* inih would have taken an indented line after a key as more of its value. */
static int refuse_continuation(struct pstate *st, size_t start)
{
    if (!st->prev_key || start == 0) return 0;
    return fail_at(st, st->line,
                   "indented line would continue the value above (multi-line values are "
                   "not supported): remove the indentation");
}

/* inih is on PROBE_LINE, just after file line st->line, and now in section.
 * A section other than RESET_SECTION: the line was a header, opened here.
 * Neither that nor a key: the line was blank, a comment or refused by inih
 * (which says so only when the parse ends); tell which. */
static int after_line(struct pstate *st, const char *section)
{
    size_t start = line_start(st);
    const char *l = st->lp, *end = st->lp + st->llen;
    if (strcmp(section, RESET_SECTION) != 0) {
        if (refuse_continuation(st, start) < 0) return -1;
        /* inih ended the name at the first ']' (an inline ';' before it would
           have been an error), keeps 49 bytes of it (a workload name may have
           63: so the name is read here) and ignores the rest of the line */
        const char *close = memchr(l + start, ']', st->llen - start);
        if (!close) return fail_at(st, st->line, "missing ']' in section header");
        const char *after = close + 1;
        while (after < end && isspace((unsigned char)*after)) after++;
        if (after < end && *after != ';' && *after != '#')
            return fail_at(st, st->line, "unexpected text after ']': '%.*s'", (int)(end - after),
                           after);
        return open_section(st, l + start + 1, (size_t)(close - l - start - 1));
    }
    if (st->keyed || start == st->llen || l[start] == ';' || l[start] == '#') return 0;
    if (refuse_continuation(st, start) < 0) return -1;
    if (l[start] == '[') return fail_at(st, st->line, "missing ']' in section header");
    return fail_at(st, st->line, "expected 'key = value', '[section]' or a ';' comment");
}

/* ---------------------------------------------------------------- keys */

static int check_seen(struct pstate *st, const char *name)
{
    for (int i = 0; i < st->nseen; i++)
        if (strcmp(st->seen[i], name) == 0)
            return fail_at(st, st->line, "duplicate key '%s' in %s (first at line %d)", name,
                           st->label, st->seen_line[i]);
    if (st->nseen < MAX_SEEN) {
        snprintf(st->seen[st->nseen], sizeof st->seen[0], "%s", name);
        st->seen_line[st->nseen++] = st->line;
    }
    return 0;
}

static int suite_key(struct pstate *st, const char *name, const char *value)
{
    char why[512];
    for (const struct suite_key *k = suite_keys; k->key; k++) {
        if (strcmp(k->key, name) != 0) continue;
        if (k->set(st->s, value, why, sizeof why) < 0)
            return fail_at(st, st->line, "bad value '%s' for '%s': %s", value, name, why);
        if (strcmp(name, "dut_host") == 0) st->dut_host_line = st->line;
        if (strcmp(name, "gen_host") == 0) st->gen_host_line = st->line;
        return 0;
    }
    char known[256];
    size_t off = 0;
    for (const struct suite_key *k = suite_keys; k->key && off < sizeof known; k++)
        off += (size_t)snprintf(known + off, sizeof known - off, "%s%s", off ? ", " : "", k->key);
    return fail_at(st, st->line, "unknown key '%s' in [suite] (known: %s)", name, known);
}

/* "10%,30%,110%" into fractions; 0 or -1 with why. */
static int parse_loads(const char *v, double *out, int *n, char *why, size_t whylen)
{
    int cnt = 0;
    const char *p = v;
    for (;;) {
        char *end;
        while (isspace((unsigned char)*p)) p++;
        errno = 0;
        double x = strtod(p, &end);
        while (isspace((unsigned char)*end)) end++;
        if (end == p || errno || *end != '%' || !(x >= 1 && x <= 1000)) {
            snprintf(why, whylen, "expected a comma list of percentages from 1%% to 1000%%, e.g. "
                                  "10%%,50%%,110%%");
            return -1;
        }
        if (cnt == SUITE_MAX_LOADS) {
            snprintf(why, whylen, "more than %d loads", SUITE_MAX_LOADS);
            return -1;
        }
        out[cnt++] = x / 100;
        p = end + 1;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        if (*p != ',') {
            snprintf(why, whylen, "expected ',' between loads, got '%c'", *p);
            return -1;
        }
        p++;
    }
    *n = cnt;
    return 0;
}

/* The application keys of a workload (apps.h): 1 when name is one. */
static int app_key(struct pstate *st, const char *name, const char *value, int *rc)
{
    struct suite_app *a = &st->s->app[st->idx];
    char why[256];
    int server = strcmp(name, "server_app") == 0, gen = strcmp(name, "gen_app") == 0;
    if (server || gen) {
        int id = app_find(value, server ? APP_SERVER : APP_GEN, why, sizeof why);
        if (id < 0) {
            *rc = fail_at(st, st->line, "bad value '%s' for '%s' in %s: %s", value, name, st->label,
                          why);
            return 1;
        }
        char path[4096];
        if (id != APP_NONE && app_installed((enum app_id)id, path, sizeof path, why, sizeof why) < 0) {
            *rc = fail_at(st, st->line, "%s = %s in %s: %s", name, value, st->label, why);
            return 1;
        }
        if (server) a->server = (enum app_id)id, a->server_line = st->line;
        if (gen) a->gen = (enum app_id)id, a->gen_line = st->line;
        return 1;
    }
    server = strcmp(name, "server_args") == 0, gen = strcmp(name, "gen_args") == 0;
    if (!server && !gen) return 0;
    char **argv = server ? a->server_argv : a->gen_argv;
    if (app_split_args(value, argv, APP_MAX_ARGS, why, sizeof why) < 0) {
        *rc = fail_at(st, st->line, "bad value '%s' for '%s' in %s: %s", value, name, st->label,
                      why);
        return 1;
    }
    if (server) a->server_args_line = st->line;
    if (gen) a->gen_args_line = st->line;
    return 1;
}

/* The suite's own workload keys (not the workload spec's): 1 when name is one. */
static int suite_workload_key(struct pstate *st, const char *name, const char *value, int *rc)
{
    char why[256];
    struct suite *s = st->s;
    int i = st->idx;
    *rc = 0;
    if (strcmp(name, "repeats") == 0) {
        long x;
        if (parse_int(value, 1, 1000, &x) < 0)
            *rc = fail_at(st, st->line,
                          "bad value '%s' for 'repeats': expected a whole number from 1 to 1000",
                          value);
        else
            s->wl_repeats[i] = (unsigned)x;
        return 1;
    }
    if (strcmp(name, "capacity") == 0) {
        if (!valid_workload_name(value))
            *rc = fail_at(st, st->line, "bad value '%s' for 'capacity': expected a workload name",
                          value);
        else
            snprintf(s->capacity_of[i], sizeof s->capacity_of[i], "%s", value);
        return 1;
    }
    if (strcmp(name, "loads") == 0) {
        if (parse_loads(value, st->loads[i], &st->nloads[i], why, sizeof why) < 0)
            *rc = fail_at(st, st->line, "bad value '%s' for 'loads': %s", value, why);
        return 1;
    }
    return app_key(st, name, value, rc);
}

static int workload_key(struct pstate *st, const char *name, const char *value)
{
    const struct wl_key *k;
    char known[256], why[512];
    size_t off = 0;
    int rc;
    if (suite_workload_key(st, name, value, &rc)) return rc;
    for (k = wl_spec_keys; k->key; k++)
        if (strcmp(k->key, name) == 0) break;
    if (!k->key) {
        known[0] = '\0';
        for (k = wl_spec_keys; k->key && off < sizeof known; k++)
            off += (size_t)snprintf(known + off, sizeof known - off, "%s%s", off ? ", " : "",
                                    k->key);
        return fail_at(st, st->line,
                       "unknown key '%s' in %s (known: %s, repeats, capacity, loads, server_app, "
                       "gen_app, server_args, gen_args)",
                       name, st->label, known);
    }
    if (wl_spec_set(&st->s->workloads[st->idx], name, value, why, sizeof why) < 0)
        return fail_at(st, st->line, "%s", why);
    if (strcmp(name, "duration") == 0) st->wl_set[st->idx] |= WL_SET_DURATION;
    if (strcmp(name, "warmup") == 0) st->wl_set[st->idx] |= WL_SET_WARMUP;
    if (strcmp(name, "timeout") == 0) st->wl_set[st->idx] |= WL_SET_TIMEOUT;
    return 0;
}

static int driver_key(struct pstate *st, const char *name, const char *value)
{
    struct suite_driver_opts *d = &st->s->dopts[st->idx];
    if (strcmp(name, "offloads") == 0) { /* the suite's key, for this row: not the driver's */
        char why[128];
        if (parse_onoff(value, &d->offloads, why, sizeof why) < 0)
            return fail_at(st, st->line, "bad value '%s' for 'offloads' in %s: %s", value, st->label,
                           why);
        return 0;
    }
    if (d->nopts == SUITE_MAX_DRIVER_OPTS)
        return fail_at(st, st->line, "too many options in %s (at most %d)", st->label,
                       SUITE_MAX_DRIVER_OPTS);
    char *kv;
    if (asprintf(&kv, "%s=%s", name, value) < 0)
        return fail_at(st, st->line, "out of memory");
    d->opts[d->nopts++] = kv;
    d->opts[d->nopts] = NULL;
    return 0;
}

/* A key of the current file line, as inih split it. 0 or -1. */
static int key_line(struct pstate *st, const char *name, const char *value)
{
    size_t start = line_start(st);
    st->keyed = 1;
    if (refuse_continuation(st, start) < 0) return -1;
    if (!value) /* only when inih allows keys without a value (ini_allow_no_value) */
        return fail_at(st, st->line, "expected 'key = value', '[section]' or a ';' comment");
    if (!*name) return fail_at(st, st->line, "missing key name before '%c'", st->lp[start]);
    if (strlen(name) > MAX_KEY)
        return fail_at(st, st->line, "key '%s' is too long (at most %d characters)", name, MAX_KEY);
    st->prev_key = 1;
    switch (st->sec) {
    case SEC_SUITE:
        if (strcmp(name, "dut") == 0) st->dut_line = st->line;
        if (strcmp(name, "server") == 0) st->server_line = st->line;
        return check_seen(st, name) < 0 ? -1 : suite_key(st, name, value);
    case SEC_WORKLOAD:
        return check_seen(st, name) < 0 ? -1 : workload_key(st, name, value);
    case SEC_DRIVER:
        return check_seen(st, name) < 0 ? -1 : driver_key(st, name, value);
    case SEC_HOST:
        return check_seen(st, name) < 0 ? -1 : host_key(st, name, value);
    default:
        return fail_at(st, st->line,
                       "key '%s' before any section (start with [suite] or [workload NAME])", name);
    }
}

/* ini_handler: 1 = go on, 0 = error (already recorded). */
static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    struct pstate *st = user;
    if (st->failed) return 0;
    if (!name) return 1; /* a build calling on new sections: after_line() does that */
    int rc = st->fed == FEED_PROBE ? after_line(st, section) : key_line(st, name, value);
    return rc == 0;
}

/* ---------------------------------------------------------------- load */

static void apply_defaults(struct suite *s, const char *fname)
{
    for (const struct suite_key *k = suite_keys; k->key; k++)
        if (k->def) (void)k->set(s, k->def, NULL, 0); /* checked by test_suite.c */
    const char *base = strrchr(fname, '/');
    base = base ? base + 1 : fname;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".ini") == 0) n -= 4;
    if (n >= sizeof s->name) n = sizeof s->name - 1;
    snprintf(s->name, sizeof s->name, "%.*s", (int)n, base);
    if (!s->name[0]) snprintf(s->name, sizeof s->name, "suite");
}

/* A sweep (capacity and loads): an open-loop workload whose capacity
 * workload is a closed-loop one earlier in the file (it must have run first). */
static int check_sweep(struct pstate *st, int i)
{
    struct suite *s = st->s;
    struct wl_spec *w = &s->workloads[i];
    int has_cap = s->capacity_of[i][0] != 0, has_loads = st->nloads[i] > 0;
    if (!has_cap && !has_loads) return 0;
    if (has_cap != has_loads)
        return fail_at(st, st->wl_line[i], "[workload %s]: 'capacity' and 'loads' go together",
                       w->name);
    if (w->mode != WL_OPEN)
        return fail_at(st, st->wl_line[i],
                       "[workload %s]: a load sweep (capacity, loads) needs mode = open", w->name);
    if (w->rate)
        return fail_at(st, st->wl_line[i],
                       "[workload %s]: 'rate' and 'loads' exclude each other (a sweep's rates "
                       "come from its capacity workload)",
                       w->name);
    int c;
    for (c = 0; c < i && strcmp(s->workloads[c].name, s->capacity_of[i]) != 0; c++) {
    }
    if (c == i)
        return fail_at(st, st->wl_line[i],
                       "[workload %s]: capacity workload '%s' is not defined before it", w->name,
                       s->capacity_of[i]);
    if (s->workloads[c].mode != WL_CLOSED)
        return fail_at(st, st->wl_line[i],
                       "[workload %s]: capacity workload '%s' must be closed loop (mode = closed)",
                       w->name, s->capacity_of[i]);
    w->rate = 1; /* set per driver at run time; wl_spec_validate wants one */
    return 0;
}

/* Each sweep workload becomes one workload per load, NAME-<P>pct. */
static int expand_sweeps(struct pstate *st)
{
    struct suite *s = st->s;
    int total = 0;
    for (int i = 0; i < s->nworkloads; i++)
        total += st->nloads[i] ? st->nloads[i] : 1;
    if (total > SUITE_MAX_WORKLOADS)
        return fail_at(st, 1, "too many workloads once the sweeps are expanded (%d, at most %d)",
                       total, SUITE_MAX_WORKLOADS);
    for (int i = s->nworkloads - 1, at = total - 1; i >= 0; i--) {
        int n = st->nloads[i];
        if (!n) {
            if (at != i) {
                s->workloads[at] = s->workloads[i];
                s->wl_repeats[at] = s->wl_repeats[i];
                s->load[at] = 0;
                s->capacity_of[at][0] = s->sweep[at][0] = '\0';
                s->app[at] = s->app[i]; /* moves the argv strings */
                memset(&s->app[i], 0, sizeof s->app[i]);
            }
            at--;
            continue;
        }
        struct wl_spec base = s->workloads[i];
        unsigned reps = s->wl_repeats[i];
        char cap[64];
        snprintf(cap, sizeof cap, "%s", s->capacity_of[i]);
        for (int k = n - 1; k >= 0; k--, at--) {
            s->workloads[at] = base;
            snprintf(s->workloads[at].name, sizeof s->workloads[at].name, "%.50s-%.0fpct",
                     base.name, st->loads[i][k] * 100);
            s->wl_repeats[at] = reps;
            memset(&s->app[at], 0, sizeof s->app[at]); /* (a sweep names no application) */
            s->load[at] = st->loads[i][k];
            snprintf(s->capacity_of[at], sizeof s->capacity_of[at], "%s", cap);
            snprintf(s->sweep[at], sizeof s->sweep[at], "%s", base.name);
        }
    }
    s->nworkloads = total;
    return 0;
}

unsigned suite_repeats_of(const struct suite *s, int i)
{
    return s->wl_repeats[i] ? s->wl_repeats[i] : s->repeats;
}

/* Every NAME+VARIANT in list has its [driver NAME+VARIANT] section: NULL, or
 * the entry that has none. */
static const char *variant_without_section(const struct suite *s, char list[][32], int n)
{
    for (int i = 0; i < n; i++) {
        char drv[32], link[16];
        suite_entry_split(list[i], "veth", drv, sizeof drv, link, sizeof link);
        if (!strchr(drv, '+')) continue;
        int found = 0;
        for (int j = 0; j < s->ndopts; j++)
            found |= strcmp(s->dopts[j].name, drv) == 0;
        if (!found) return list[i];
    }
    return NULL;
}

/* Every [host] complete; dut_host and gen_host name two different ones, come
 * together, and the run is one a pair of hosts can do. */
static int check_hosts(struct pstate *st)
{
    struct suite *s = st->s;
    char why[512];
    for (int i = 0; i < s->nhosts; i++)
        if (suite_host_complete(&s->hosts[i], why, sizeof why) < 0)
            return fail_at(st, s->hosts[i].line, "%s", why);
    if (!s->dut_host[0] && !s->gen_host[0]) return 0;
    int line = s->dut_host[0] ? st->dut_host_line : st->gen_host_line;
    if (!s->dut_host[0] || !s->gen_host[0])
        return fail_at(st, line,
                       "dut_host and gen_host go together (a run across hosts needs both ends; "
                       "name this machine in a [host] section to use it as one)");
    if (!suite_host_find(s, s->dut_host))
        return fail_at(st, st->dut_host_line, "dut_host '%s': no [host %s] section", s->dut_host,
                       s->dut_host);
    if (!suite_host_find(s, s->gen_host))
        return fail_at(st, st->gen_host_line, "gen_host '%s': no [host %s] section", s->gen_host,
                       s->gen_host);
    if (strcmp(s->dut_host, s->gen_host) == 0)
        return fail_at(st, st->gen_host_line, "dut_host and gen_host are the same host '%s'",
                       s->dut_host);
    if (s->dut == SUITE_DUT_CLIENT)
        return fail_at(st, st->dut_line ? st->dut_line : line,
                       "dut = client is not supported across hosts (yet): the remote path "
                       "runs our server on the DUT host");
    if (s->capture)
        return fail_at(st, line, "capture = on is not supported across hosts (yet): the DUT's "
                                 "capture runs on this machine");
    for (int i = 0; i < s->ndrivers; i++) {
        char drv[32], link[16];
        suite_entry_split(s->drivers[i], s->link, drv, sizeof drv, link, sizeof link);
        if (strcmp(link, "veth") != 0)
            return fail_at(st, line,
                           "driver '%s': across hosts the link is the hosts' iface (link veth); "
                           "tap, ring and xdp are links of one machine",
                           s->drivers[i]);
    }
    return 0;
}

/* nginx serves the files of the /bytes/N pattern only (fixed_server.c). */
static int nginx_path_ok(const char *path)
{
    uint64_t n;
    size_t len = strcspn(path + 7, "?#");
    return strncmp(path, "/bytes/", 7) == 0 && len && units_parse_size_n(path + 7, len, &n) == 0;
}

/* Workload i's applications against its mode, the other side and the suite. */
static int check_apps(struct pstate *st, int i)
{
    struct suite *s = st->s;
    const struct suite_app *a = &s->app[i];
    const struct wl_spec *w = &s->workloads[i];
    const struct app_info *sv = app_info(a->server), *gn = app_info(a->gen);
    int line = a->gen_line ? a->gen_line : a->server_line;
    char why[512];
    if (a->server_argv[0] && a->server == APP_NONE)
        return fail_at(st, a->server_args_line,
                       "[workload %s]: server_args without server_app (our server takes no extra "
                       "arguments here: use [driver NAME] options)",
                       w->name);
    if (a->gen_argv[0] && a->gen == APP_NONE)
        return fail_at(st, a->gen_args_line, "[workload %s]: gen_args without gen_app", w->name);
    if (a->server == APP_NONE && a->gen == APP_NONE) return 0;
    if (s->dut == SUITE_DUT_CLIENT)
        return fail_at(st, line,
                       "[workload %s]: applications run with dut = server only (the fixed server "
                       "of dut = client is `server = nginx`)",
                       w->name);
    if (s->dut_host[0] || s->gen_host[0])
        return fail_at(st, line,
                       "[workload %s]: applications run on this machine only (not across hosts, "
                       "yet)",
                       w->name);
    if (sv->proto != gn->proto)
        return fail_at(st, line,
                       "[workload %s]: %s %s speaks %s but %s %s speaks %s",
                       w->name, a->gen == APP_NONE ? "our generator" : "gen_app", gn->name,
                       gn->proto == APP_REDIS ? "redis (RESP)" : "HTTP",
                       a->server == APP_NONE ? "our server" : "server_app", sv->name,
                       sv->proto == APP_REDIS ? "redis (RESP)" : "HTTP");
    if (a->server == APP_REDIS_SERVER) {
        char path[4096];
        if (app_installed(APP_REDIS_BENCHMARK, path, sizeof path, why, sizeof why) < 0 ||
            preload_find_program("redis-cli", path, sizeof path, why, sizeof why) < 0)
            return fail_at(st, a->server_line,
                           "[workload %s]: the identity check reads redis-server's INFO with "
                           "redis-cli, which is not installed (apt-get install redis-tools)",
                           w->name);
    }
    if (a->server == APP_NGINX && !nginx_path_ok(w->path))
        return fail_at(st, a->server_line,
                       "[workload %s]: server_app = nginx serves /bytes/N only (files of the "
                       "pattern), not path %s",
                       w->name, w->path);
    if (s->capacity_of[i][0] || st->nloads[i])
        return fail_at(st, line, "[workload %s]: a load sweep (capacity, loads) runs ours only, "
                                 "not %s",
                       w->name, a->gen != APP_NONE ? gn->name : sv->name);
    if (a->gen == APP_NONE) return 0;
    if (a->gen == APP_WRK || a->gen == APP_AB) {
        if (!(w->mode == WL_CLOSED || (a->gen == APP_AB && w->mode == WL_CPS)))
            return fail_at(st, a->gen_line,
                           "[workload %s]: gen_app = %s runs mode = closed%s, not %s", w->name,
                           gn->name, a->gen == APP_AB ? " (ab -k) or cps (ab without -k)" : "",
                           wl_mode_str(w->mode));
        if (w->pipeline != 1)
            return fail_at(st, a->gen_line, "[workload %s]: gen_app = %s does not pipeline "
                                            "(pipeline = %u)",
                           w->name, gn->name, w->pipeline);
        if (a->gen == APP_WRK && w->requests)
            return fail_at(st, a->gen_line,
                           "[workload %s]: gen_app = wrk runs for a duration, not a count of "
                           "requests",
                           w->name);
        if (!w->requests && (w->duration_ns % NS_PER_S || w->duration_ns < NS_PER_S))
            return fail_at(st, a->gen_line,
                           "[workload %s]: gen_app = %s takes whole seconds (duration = %.3fs)",
                           w->name, gn->name, (double)w->duration_ns / NS_PER_S);
    } else { /* redis-benchmark */
        if (w->mode != WL_CLOSED)
            return fail_at(st, a->gen_line,
                           "[workload %s]: gen_app = redis-benchmark runs mode = closed, not %s",
                           w->name, wl_mode_str(w->mode));
        if (!w->requests)
            return fail_at(st, a->gen_line,
                           "[workload %s]: gen_app = redis-benchmark runs a count: set requests "
                           "= N (its -n, per test)",
                           w->name);
        /* it sends whole pipelines: -n 5000 -P 16 ran 5008 commands */
        if (w->requests % w->pipeline)
            return fail_at(st, a->gen_line,
                           "[workload %s]: gen_app = redis-benchmark sends whole pipelines: "
                           "requests (%llu) must be a multiple of pipeline (%u), or the server "
                           "runs more commands than it counts",
                           w->name, (unsigned long long)w->requests, w->pipeline);
    }
    return 0;
}

const struct suite_app *suite_app_of(const struct suite *s, const char *wname)
{
    static const struct suite_app none;
    for (int i = 0; i < s->nworkloads; i++)
        if (strcmp(s->workloads[i].name, wname) == 0) return &s->app[i];
    return &none;
}

const char *suite_app_driver_bad(const struct suite *s, int i, const char *entry, char *why,
                                 size_t len)
{
    const struct suite_app *a = &s->app[i];
    if (a->server == APP_NONE && a->gen == APP_NONE) return NULL;
    char drv[32], link[16], base[32];
    suite_entry_split(entry, s->link, drv, sizeof drv, link, sizeof link);
    suite_driver_base(drv, base, sizeof base);
    const char *who = a->server != APP_NONE ? app_info(a->server)->name : app_info(a->gen)->name;
    if (strcmp(link, "ring") == 0)
        snprintf(why, len,
                 "[workload %s] runs %s, which cannot run on '%s': the ring link has no kernel "
                 "side for an application",
                 s->workloads[i].name, who, entry);
    else if (a->server != APP_NONE && strcmp(base, "io_uring") == 0)
        snprintf(why, len,
                 "[workload %s]: server_app = %s cannot run on '%s': an application does its own "
                 "I/O, so its io_uring row would be the kernel row again",
                 s->workloads[i].name, who, entry);
    else
        return NULL;
    return why;
}

static int finish(struct pstate *st)
{
    struct suite *s = st->s;
    char why[512];
    if (s->nworkloads == 0)
        return fail_at(st, st->line > 0 ? st->line : 1,
                       "no workloads: add a [workload NAME] section");
    const char *nosec = variant_without_section(s, s->drivers, s->ndrivers);
    if (nosec) {
        char drv[32], link[16];
        suite_entry_split(nosec, "veth", drv, sizeof drv, link, sizeof link);
        return fail_at(st, st->line > 0 ? st->line : 1,
                       "driver '%s' has no [driver %s] section (a variant is its driver with "
                       "that section's options)",
                       drv, drv);
    }
    if (s->server == SUITE_SERVER_NGINX && s->dut != SUITE_DUT_CLIENT)
        return fail_at(st, st->server_line,
                       "server = nginx needs dut = client (with dut = server each driver runs "
                       "our server)");
    for (int i = 0; i < s->ndrivers; i++)
        if (suite_role_bad(s, s->drivers[i], why, sizeof why))
            return fail_at(st, st->dut_line ? st->dut_line : st->suite_line, "%s", why);
    for (int i = 0; i < s->nworkloads; i++) {
        struct wl_spec *w = &s->workloads[i];
        if (!(st->wl_set[i] & WL_SET_DURATION)) w->duration_ns = s->duration_ns;
        if (!(st->wl_set[i] & WL_SET_WARMUP)) w->warmup_ns = s->warmup_ns;
        if (!(st->wl_set[i] & WL_SET_TIMEOUT)) w->timeout_ns = s->timeout_ns;
        if (check_sweep(st, i) < 0) return -1;
        if (wl_spec_validate(w, why, sizeof why) < 0)
            return fail_at(st, st->wl_line[i], "[workload %s]: %s", w->name, why);
        if (check_apps(st, i) < 0) return -1;
        for (int d = 0; d < s->ndrivers; d++)
            if (suite_app_driver_bad(s, i, s->drivers[d], why, sizeof why))
                return fail_at(st, s->app[i].server_line ? s->app[i].server_line : s->app[i].gen_line,
                               "%s", why);
    }
    if (check_hosts(st) < 0) return -1;
    return expand_sweeps(st);
}

static int load_text(const char *text, size_t len, const char *fname, struct suite *s, char *err,
                     size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", fname);
    struct pstate *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", fname);
        return -1;
    }
    st->s = s;
    st->fname = fname;
    st->p = text;
    st->end = text + len;
    st->err = err;
    st->errlen = errlen;
    if (memchr(text, '\0', len)) {
        fail_at(st, 0, "contains a NUL byte (not a text file)");
    } else {
        snprintf(s->hash, sizeof s->hash, "%016" PRIx64, fnv1a64(text, len));
        apply_defaults(s, fname);
        st->fed = FEED_PROBE; /* as if after line 0 */
        int ret = ini_parse_stream(feed, st, on_ini, st);
        /* after_line() names every error inih finds, so this is only a guard;
           inih's line 3k-1 is file line k */
        if (!st->failed && ret > 0) fail_at(st, (ret + 1) / 3, "syntax error");
        if (!st->failed && ret < 0) fail_at(st, 0, "out of memory while parsing");
        if (!st->failed) finish(st);
    }
    int rc = st->failed ? -1 : 0;
    free(st);
    if (rc < 0) suite_free(s);
    return rc;
}

int suite_load_string(const char *text, const char *name_for_errors, struct suite *s, char *err,
                      size_t errlen)
{
    const char *fname = name_for_errors ? name_for_errors : "(string)";
    if (!text) {
        memset(s, 0, sizeof *s);
        snprintf(err, errlen, "%s: no text", fname);
        return -1;
    }
    return load_text(text, strlen(text), fname, s, err, errlen);
}

int suite_load(const char *path, struct suite *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (strlen(path) >= sizeof s->path) {
        snprintf(err, errlen, "%.64s...: path too long", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = SUITE_MAX_FILE + 1;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t len = fread(buf, 1, cap, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    int rc = -1;
    if (rerr)
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(rerr));
    else if (len > SUITE_MAX_FILE)
        snprintf(err, errlen, "%s: too large (more than %u bytes)", path, SUITE_MAX_FILE);
    else
        rc = load_text(buf, len, path, s, err, errlen);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- the rest */

int suite_set_drivers(struct suite *s, const char *list, char *err, size_t errlen)
{
    char why[512], tmp[SUITE_MAX_DRIVERS][32];
    int n = 0;
    if (parse_drivers(list ? list : "", tmp, &n, why, sizeof why) < 0) {
        snprintf(err, errlen, "bad driver list '%s': %s", list ? list : "", why);
        return -1;
    }
    const char *nosec = variant_without_section(s, tmp, n);
    if (nosec) {
        snprintf(err, errlen,
                 "bad driver list '%s': '%s' has no [driver ...] section of its name in %s (a "
                 "variant is its driver with that section's options)",
                 list, nosec, s->path);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (suite_role_bad(s, tmp[i], why, sizeof why)) {
            snprintf(err, errlen, "bad driver list '%s': %s (%s)", list, why, s->path);
            return -1;
        }
        for (int w = 0; w < s->nworkloads; w++)
            if (suite_app_driver_bad(s, w, tmp[i], why, sizeof why)) {
                snprintf(err, errlen, "bad driver list '%s': %s (%s)", list, why, s->path);
                return -1;
            }
    }
    memcpy(s->drivers, tmp, sizeof tmp);
    s->ndrivers = n;
    return 0;
}

void suite_apply_quick(struct suite *s)
{
    const uint64_t dur = NS_PER_S, warm = 200 * NS_PER_MS;
    s->repeats = 1;
    if (s->duration_ns > dur) s->duration_ns = dur;
    if (s->warmup_ns > warm) s->warmup_ns = warm;
    for (int i = 0; i < s->nworkloads; i++) {
        struct wl_spec *w = &s->workloads[i];
        s->wl_repeats[i] = 0;
        if (w->mode == WL_DOWNLOAD) continue; /* sized by path and requests: keep them */
        if (w->duration_ns > dur) w->duration_ns = dur;
        if (w->warmup_ns > warm) w->warmup_ns = warm;
    }
}

int suite_row_offloads(const struct suite *s, const char *drv, const char *variant)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *name = pass == 0 ? variant : drv;
        if (!name || !*name) continue;
        for (int i = 0; i < s->ndopts; i++)
            if (strcmp(s->dopts[i].name, name) == 0 && s->dopts[i].offloads >= 0)
                return s->dopts[i].offloads;
    }
    return s->offloads;
}

const char *const *suite_driver_opts(const struct suite *s, const char *driver)
{
    for (int i = 0; i < s->ndopts; i++)
        if (strcmp(s->dopts[i].name, driver) == 0)
            return s->dopts[i].nopts ? (const char *const *)s->dopts[i].opts : NULL;
    return NULL;
}

void suite_free(struct suite *s)
{
    for (int i = 0; i < s->ndopts && i < SUITE_MAX_DRIVERS; i++) {
        for (int j = 0; j < s->dopts[i].nopts && j < SUITE_MAX_DRIVER_OPTS; j++) {
            free(s->dopts[i].opts[j]);
            s->dopts[i].opts[j] = NULL;
        }
        s->dopts[i].nopts = 0;
    }
    s->ndopts = 0;
    for (int i = 0; i < SUITE_MAX_WORKLOADS; i++) {
        app_free_args(s->app[i].server_argv);
        app_free_args(s->app[i].gen_argv);
    }
}

void suite_print_help(FILE *f)
{
    char known[256];
    known_drivers(known, sizeof known);
    fprintf(f, "Suite file: an ini file; sections may come in any order, ';' starts a comment.\n"
               "\n[suite]\n");
    for (const struct suite_key *k = suite_keys; k->key; k++)
        fprintf(f, "  %-14s %-12s %s\n", k->key, k->def ? k->def : "(file)", k->help);
    fprintf(f, "\n[workload NAME]   one per workload; NAME is a-z, 0-9, '_', '-' and unique\n");
    fprintf(f, "  %-14s %-12s %s\n", "repeats", "([suite])",
            "trials per driver of this workload, 1..1000");
    fprintf(f, "  %-14s %-12s %s\n", "capacity", "-",
            "open-loop sweep: a closed-loop workload defined earlier; each load's rate is that "
            "share of its median req/s on the same driver in the same run");
    fprintf(f, "  %-14s %-12s %s\n", "loads", "-",
            "open-loop sweep: comma list of offered loads in % of capacity, e.g. 10%,50%,110% "
            "(1%..1000%); the workload runs once per load as NAME-<P>pct");
    fprintf(f, "  %-14s %-12s %s\n", "server_app", "ours",
            "the server: ours, nginx (one process, the harness's configuration, /bytes/N files) "
            "or redis-server (--save '' --appendonly no); on kernel drivers it runs on kernel "
            "sockets, on afpacket/afxdp/dpdk under bypassbench exec (libbbpreload.so)");
    fprintf(f, "  %-14s %-12s %s\n", "gen_app", "ours",
            "the generator: ours, wrk (-t1 -c connections -d duration, closed loop), ab (-c "
            "connections -t duration or -n requests; -k unless mode = cps) or redis-benchmark "
            "(-c connections -n requests -P pipeline --csv), on kernel sockets in bb-gen");
    fprintf(f, "  %-14s %-12s %s\n", "server_args", "-",
            "extra arguments appended to server_app's template, split as the shell would");
    fprintf(f, "  %-14s %-12s %s\n", "gen_args", "-",
            "extra arguments for gen_app (before the URL), e.g. -t get,set for redis-benchmark");
    for (const struct wl_key *k = wl_spec_keys; k->key; k++) {
        int inherited = strcmp(k->key, "duration") == 0 || strcmp(k->key, "warmup") == 0 ||
                        strcmp(k->key, "timeout") == 0;
        fprintf(f, "  %-14s %-12s %s\n", k->key, inherited ? "([suite])" : k->def, k->help);
    }
    fprintf(
        f,
        "\n[driver NAME]     optional: key = value options passed to driver NAME (at most "
        "%d);\n                  [driver NAME+VARIANT] adds its own for the row NAME+VARIANT, "
        "e.g.\n                  [driver kernel+busypoll] busy_poll = 50\n\nDrivers built in: %s\n",
        SUITE_MAX_DRIVER_OPTS, known);
    suite_host_print_help(f);
}
