/*
 * opts.c — the "dpdk" pktio's options: cfg->opts (NULL-terminated
 * "key=value" strings) into struct dp_opts, with defaults, ranges and the
 * combinations that are refused; the capture keys go to capture.c.
 *
 * Callers: port.c (dp_open; find_port uses dp_parse_u32), capture.c
 * (dp_parse_u32). Calls: capture.c (dp_cap_key, dp_cap_parse_opt,
 * dp_cap_check_opts), libc. Touches no DPDK state: parsing runs before EAL.
 *
 * Options (cfg->opts, key=value):
 *   eal=ARGS          EAL arguments replacing the defaults (refused with vdev/cpu/huge;
 *                     mem is ignored)
 *   vdev=SPEC         add --vdev=SPEC to the defaults (repeatable)
 *   cpu=N             default EAL runs lcore 0 on CPU N (default: the caller's CPUs)
 *   mem=MB            default EAL memory (256)
 *   huge=0|1          default EAL uses hugepages (--in-memory) instead of --no-huge (0)
 *   port=N|NAME       ethdev port id or device name (0)
 *   ring=NAME:A|B     end A or B of the cross-wired net_ring pair NAME (instead of
 *                     port=; NAME: 1-15 of [A-Za-z0-9_]; ring size rxd rounded up
 *                     to a power of two)
 *   register=0|1      rte_thread_register a non-lcore opening thread (1)
 *   rxd=N, txd=N      descriptors (1024)
 *   mbufs=N           mbufs in the pool (cfg->pool_size, else 8191)
 *   cache=N           mempool per-lcore cache (256)
 *   burst=N           largest burst handed to the PMD per call (32, max 256)
 *   offloads=0|1      use the port's checksum offloads (1)
 *   link_wait_ms=N    wait for link up after start (1000; not an error if it stays down)
 *   keep_eal=0|1      close only stops ports and keeps EAL, so that ports can be
 *                     opened again in this process (0; sticky once asked for)
 *   log=PATH          append DPDK's log to PATH (only the open that starts EAL)
 *   pdump=0|1         rte_pdump_init after EAL init, for a `bypassbench pdump` secondary;
 *                     the default EAL then uses hugepages and a shared config (0)
 *   file_prefix=NAME  the default EAL's --file-prefix (bb<pid>): what the secondary names
 *   capture=FILE      in-process pcapng capture of RX and TX frames, bounded by
 *                     capture_snaplen=N (128) and capture_count=N (0: no bound)
 *                     (see capture.c)
 */
#ifdef HAVE_DPDK

#include "drivers/dpdk/dpdk_int.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mempool.h>

int dp_parse_u32(const char *v, uint64_t lo, uint64_t hi, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *v == '-' || *end || x < lo || x > hi) return -1;
    *out = (uint32_t)x;
    return 0;
}

int dp_parse_opts(const struct pktio_config *cfg, struct dp_opts *o, char *err, size_t errlen)
{
    static const char known[] = "eal, vdev, cpu, mem, huge, port, ring, register, rxd, txd, "
                                "mbufs, cache, burst, offloads, link_wait_ms, keep_eal, log, "
                                "pdump, file_prefix, capture, capture_snaplen, capture_count";
    memset(o, 0, sizeof(*o));
    o->cpu = -1;
    o->offloads = 1;
    o->mem = 256;
    o->rxd = o->txd = 1024;
    o->mbufs = cfg->pool_size ? cfg->pool_size : 8191;
    o->cache = 256;
    o->burst = 32;
    o->link_wait_ms = 1000;
    o->reg = 1;
    for (const char *const *it = cfg->opts; it && *it; it++) {
        const char *kv = *it, *eq = strchr(kv, '=');
        if (!eq) {
            snprintf(err, errlen, "dpdk: option '%s' is not key=value (known: %s)", kv, known);
            return -1;
        }
        size_t kl = (size_t)(eq - kv);
        const char *v = eq + 1;
        uint32_t x;
#define KEY(s) (kl == sizeof(s) - 1 && strncmp(kv, s, kl) == 0)
        if (KEY("eal")) {
            o->eal = v;
        } else if (KEY("vdev")) {
            if (o->nvdev == DP_MAX_VDEV || !*v || strchr(v, ' ')) goto bad;
            o->vdev[o->nvdev++] = v;
        } else if (KEY("cpu")) {
            if (dp_parse_u32(v, 0, CPU_SETSIZE - 1, &x) < 0) goto bad;
            o->cpu = (int)x;
        } else if (KEY("mem")) {
            if (dp_parse_u32(v, 16, 1u << 20, &o->mem) < 0) goto bad;
        } else if (KEY("huge")) {
            if (dp_parse_u32(v, 0, 1, &x) < 0) goto bad;
            o->huge = (int)x;
        } else if (KEY("port")) {
            if (!*v) goto bad;
            o->port = v;
        } else if (KEY("ring")) {
            const char *colon = strrchr(v, ':');
            size_t nl = colon ? (size_t)(colon - v) : 0;
            if (!colon || nl == 0 || nl > DP_RING_NAME_MAX || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                    "abcdefghijklmnopqrstuvwxyz"
                                                                    "0123456789_") != nl ||
                (strcmp(colon + 1, "A") != 0 && strcmp(colon + 1, "B") != 0)) {
                snprintf(err, errlen,
                         "dpdk: bad value in option '%s': want ring=NAME:A or ring=NAME:B "
                         "(NAME: 1-%d of A-Z a-z 0-9 _)",
                         kv, DP_RING_NAME_MAX);
                return -1;
            }
            memcpy(o->ring_name, v, nl);
            o->ring_name[nl] = '\0';
            o->ring_end = colon[1] == 'A' ? 1 : 2;
        } else if (KEY("register")) {
            if (dp_parse_u32(v, 0, 1, &x) < 0) goto bad;
            o->reg = (int)x;
        } else if (KEY("rxd")) {
            if (dp_parse_u32(v, 1, 1u << 16, &o->rxd) < 0) goto bad;
        } else if (KEY("txd")) {
            if (dp_parse_u32(v, 1, 1u << 16, &o->txd) < 0) goto bad;
        } else if (KEY("mbufs")) {
            if (dp_parse_u32(v, 64, 1u << 24, &o->mbufs) < 0) goto bad;
        } else if (KEY("cache")) {
            if (dp_parse_u32(v, 0, RTE_MEMPOOL_CACHE_MAX_SIZE, &o->cache) < 0) goto bad;
        } else if (KEY("burst")) {
            if (dp_parse_u32(v, 1, DP_MAX_BURST, &o->burst) < 0) goto bad;
        } else if (KEY("offloads")) {
            if (dp_parse_u32(v, 0, 1, &x) < 0) goto bad;
            o->offloads = (int)x;
        } else if (KEY("link_wait_ms")) {
            if (dp_parse_u32(v, 0, 60000, &o->link_wait_ms) < 0) goto bad;
        } else if (KEY("keep_eal")) {
            if (dp_parse_u32(v, 0, 1, &x) < 0) goto bad;
            o->keep_eal = (int)x;
        } else if (KEY("log")) {
            if (!*v) goto bad;
            o->log = v;
        } else if (dp_cap_key(kv, kl)) {
            if (dp_cap_parse_opt(&o->cap, kv, kl, v) < 0) goto bad;
        } else {
            snprintf(err, errlen, "dpdk: unknown option '%.*s' (known: %s)", (int)kl, kv, known);
            return -1;
        }
#undef KEY
        continue;
    bad:
        snprintf(err, errlen, "dpdk: bad value in option '%s'", kv);
        return -1;
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
    if (dp_cap_check_opts(&o->cap, o->eal, err, errlen) < 0) return -1;
    if (o->cap.pdump) o->reg = 0; /* rte_thread_register would disable multi-process */
    if (o->cache > o->mbufs / 2) o->cache = o->mbufs / 2 > 512 ? 512 : o->mbufs / 2;
    return 0;
}

#endif /* HAVE_DPDK */
