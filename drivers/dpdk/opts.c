/*
 * opts.c — the "dpdk" pktio's options: the table dp_opt_defs (every key,
 * its range, default and help; doctor and --help print it), cfg->opts
 * parsed against it into struct dp_opts (drivers/opts.c), then what a row
 * cannot say: ring=NAME:A|B split, the combinations that are refused, and
 * cfg->extra_vdev (the exception path's port).
 *
 * Callers: port.c (dp_open). Calls: drivers/opts.c (opts_parse),
 * capture.c (dp_cap_prefix_check, dp_cap_check_opts), libc. Touches no
 * DPDK state: parsing runs before EAL.
 *
 * Beyond the table: eal= replaces the EAL defaults and is refused with
 * vdev=/cpu=/huge= (mem= is then ignored); ring= is instead of port= (its
 * ring size is rxd rounded up to a power of two); pdump=1 implies
 * register=0; the capture keys are capture.c's. cfg->extra_vdev is one more
 * --vdev for EAL, after vdev= or appended to eal=; with vdev= and no port=
 * the data port stays the first vdev= whatever the probe order.
 */
#ifdef HAVE_DPDK

#include "drivers/dpdk/dpdk_int.h"

#include "drivers/opts.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <rte_mempool.h>

static const char *ring_check(const char *v)
{
    static const char want[] = "ring=NAME:A or ring=NAME:B (NAME: 1-15 of A-Z a-z 0-9 _)";
    const char *colon = strrchr(v, ':');
    size_t nl = colon ? (size_t)(colon - v) : 0;
    if (!colon || nl == 0 || nl > DP_RING_NAME_MAX ||
        strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != nl ||
        (strcmp(colon + 1, "A") != 0 && strcmp(colon + 1, "B") != 0))
        return want;
    return NULL;
}

static const char *vdev_check(const char *v)
{
    return strchr(v, ' ') ? "a --vdev spec without blanks (DRIVER[,key=value...])" : NULL;
}

#define O(f) .off = offsetof(struct dp_opts, f), .size = sizeof(((struct dp_opts *)0)->f)
const struct opt_def dp_opt_defs[] = {
    {.name = "eal", .type = OPT_STR, .values = "EAL ARGS", O(eal),
     .help = "EAL arguments replacing the defaults (not with vdev=, cpu=, huge=; mem= ignored)"},
    {.name = "vdev", .type = OPT_LIST, .min = 1, .check = vdev_check, .values = "SPEC, repeat",
     O(vdev),
     .help = "add --vdev=SPEC to the default EAL (repeatable, up to 8)"},
    {.name = "cpu", .type = OPT_UINT, .max = CPU_SETSIZE - 1, O(cpu),
     .help = "the default EAL runs lcore 0 on this CPU (default: the caller's CPUs)"},
    {.name = "mem", .type = OPT_UINT, .min = 16, .max = 1u << 20, .def = "256", O(mem),
     .help = "default EAL memory, MB"},
    {.name = "huge", .type = OPT_BOOL, .def = "0", O(huge),
     .help = "default EAL on hugepages (--in-memory) instead of --no-huge"},
    {.name = "port", .type = OPT_STR, .min = 1, .values = "ID|NAME", O(port),
     .help = "ethdev port id or device name (default 0)"},
    {.name = "ring", .type = OPT_STR, .check = ring_check, .values = "NAME:A|NAME:B", O(ring),
     .help = "end A or B of the net_ring pair NAME, instead of port= (ring size: rxd, pow2)"},
    {.name = "register", .type = OPT_BOOL, .def = "1", O(reg),
     .help = "rte_thread_register a non-lcore opening thread"},
    {.name = "rxd", .type = OPT_UINT, .min = 1, .max = 1u << 16, .def = "1024", O(rxd),
     .help = "RX descriptors"},
    {.name = "txd", .type = OPT_UINT, .min = 1, .max = 1u << 16, .def = "1024", O(txd),
     .help = "TX descriptors"},
    {.name = "mbufs", .type = OPT_UINT, .min = 64, .max = 1u << 24, O(mbufs),
     .help = "mbufs in the pool (default: pool_size, else 8191)"},
    {.name = "cache", .type = OPT_UINT, .max = RTE_MEMPOOL_CACHE_MAX_SIZE, .def = "256",
     O(cache), .help = "mempool per-lcore cache, mbufs (at most mbufs/2)"},
    {.name = "burst", .type = OPT_UINT, .min = 1, .max = DP_MAX_BURST, .def = "32", O(burst),
     .help = "largest burst handed to the PMD per call, frames"},
    {.name = "offloads", .type = OPT_BOOL, .def = "1", O(offloads),
     .help = "use the port's TSO (64 KiB frames) and checksum offloads where it has them"},
    {.name = "link_wait_ms", .type = OPT_UINT, .max = 60000, .def = "1000", O(link_wait_ms),
     .help = "wait for link up after start, ms (down after it is not an error)"},
    {.name = "keep_eal", .type = OPT_BOOL, .def = "0", O(keep_eal),
     .help = "close keeps EAL so that ports can be opened again (sticky once asked for)"},
    {.name = "log", .type = OPT_STR, .min = 1, .values = "PATH", O(log),
     .help = "append DPDK's log to this file (only the open that starts EAL)"},
    {.name = "pdump", .type = OPT_BOOL, .def = "0", O(cap.pdump),
     .help = "rte_pdump_init for a `bypassbench pdump` secondary (hugepages, shared config)"},
    {.name = "file_prefix", .type = OPT_STR, .check = dp_cap_prefix_check,
     .values = "1..32 [A-Za-z0-9_-]", O(cap.file_prefix),
     .help = "the default EAL's --file-prefix, what a secondary names (default bb<pid>)"},
    {.name = "capture", .type = OPT_STR, .min = 1, .values = "PATH", O(cap.path),
     .help = "in-process pcapng capture of RX and TX frames into this file"},
    {.name = "capture_snaplen", .type = OPT_UINT, .min = 14, .max = 65535, .def = "128",
     O(cap.snaplen), .help = "bytes kept of each captured frame"},
    {.name = "capture_count", .type = OPT_UINT, .max = UINT64_MAX, .def = "0", O(cap.count),
     .help = "frames captured at most (0: no bound)"},
    OPT_END,
};
#undef O

int dp_parse_opts(const struct pktio_config *cfg, struct dp_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->cpu = -1;
    o->mbufs = cfg->pool_size ? cfg->pool_size : 8191;
    const struct opt_set set = {dp_opt_defs, o};
    if (opts_parse("dpdk", cfg->opts, &set, 1, NULL, err, errlen) < 0) return -1;
    while (o->nvdev < DP_MAX_VDEV && o->vdev[o->nvdev])
        o->nvdev++;
    if (o->ring) {
        size_t nl = (size_t)(strrchr(o->ring, ':') - o->ring); /* ring_check passed */
        memcpy(o->ring_name, o->ring, nl);
        o->ring_name[nl] = '\0';
        o->ring_end = o->ring[nl + 1] == 'A' ? 1 : 2;
    }
    if (o->eal && (o->nvdev || o->cpu >= 0 || o->huge)) {
        snprintf(err, errlen,
                 "dpdk: eal= replaces the EAL defaults: put --vdev/--lcores in it "
                 "instead of vdev=/cpu=/huge=");
        return -1;
    }
    if (o->ring_end && o->port) {
        snprintf(err, errlen, "dpdk: ring= makes its own port: give ring= or port=, not both");
        return -1;
    }
    if (cfg->extra_vdev && *cfg->extra_vdev) {
        if (vdev_check(cfg->extra_vdev)) {
            snprintf(err, errlen, "dpdk: extra vdev '%s' has blanks", cfg->extra_vdev);
            return -1;
        }
        o->extra_vdev = cfg->extra_vdev;
        if (!o->port && o->nvdev) { /* keep the data port the first vdev= */
            snprintf(o->port_buf, sizeof(o->port_buf), "%.*s", (int)strcspn(o->vdev[0], ","),
                     o->vdev[0]);
            o->port = o->port_buf;
        }
    }
    if (dp_cap_check_opts(&o->cap, o->eal, err, errlen) < 0) return -1;
    if (o->cap.pdump) o->reg = 0; /* rte_thread_register would disable multi-process */
    if (o->cache > o->mbufs / 2) o->cache = o->mbufs / 2 > 512 ? 512 : o->mbufs / 2;
    return 0;
}

#endif /* HAVE_DPDK */
