/*
 * afxdp_prog.c — the afxdp pktio's XDP program (drivers/bpf/
 * afxdp_redirect.bpf.c, built by the Makefile with clang -target bpf and
 * carried inside the binary, so nothing is looked for at run time): load
 * it, find its maps, mmap the steering map, open the ARP copy ring, attach
 * it through a bpf_link (which detaches when its last descriptor closes,
 * whatever ends the process), read its counters.
 *
 * Callers: drivers/afxdp.c (through afxdp_int.h). Calls: libbpf (object,
 * maps, bpf_link, ring buffer), libxdp (its print hook only).
 */
#ifdef HAVE_AFXDP
#include "drivers/afxdp_int.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xdp/libxdp.h>

/* The XDP program, built by the Makefile (AFXDP_BPF_OBJ: its path in the
 * build tree) and carried inside the binary. */
__asm__(".pushsection .rodata.bb_afxdp_bpf,\"a\",@progbits\n"
        ".balign 8\n"
        ".globl bb_afxdp_bpf_start\n"
        "bb_afxdp_bpf_start:\n"
        ".incbin \"" AFXDP_BPF_OBJ "\"\n"
        ".globl bb_afxdp_bpf_end\n"
        "bb_afxdp_bpf_end:\n"
        ".popsection\n");
extern const unsigned char bb_afxdp_bpf_start[], bb_afxdp_bpf_end[];

static const char *const xc_names[AFXDP_XC__COUNT] = {
    [AFXDP_XC_REDIRECT] = "xdp_redirect",
    [AFXDP_XC_NO_SOCKET] = "xdp_drop_no_socket",
    [AFXDP_XC_ARP_COPIED] = "xdp_arp_copied",
    [AFXDP_XC_ARP_RING_FULL] = "xdp_arp_ring_full",
    [AFXDP_XC_PASS_ARP_OTHER] = "xdp_pass_arp_other",
    [AFXDP_XC_PASS_NOT_IPV4] = "xdp_pass_not_ipv4",
    [AFXDP_XC_PASS_SHORT] = "xdp_pass_short",
    [AFXDP_XC_PASS_IP_OTHER] = "xdp_pass_ip_other",
    [AFXDP_XC_PASS_NOT_TCP] = "xdp_pass_not_tcp",
    [AFXDP_XC_PASS_FRAGMENT] = "xdp_pass_fragment",
    [AFXDP_XC_PASS_PORT_OTHER] = "xdp_pass_port_other",
};

/* The libraries' last warning (axp_lib_quiet), for error messages. */
static __thread char lib_msg[256];

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG) return 0;
    vsnprintf(lib_msg, sizeof(lib_msg), fmt, ap);
    lib_msg[strcspn(lib_msg, "\n")] = '\0';
    return 0;
}

static int quiet_print_xdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
    return level == LIBXDP_DEBUG ? 0 : quiet_print(LIBBPF_WARN, fmt, ap);
}

int axp_lib_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    int e = rc < 0 ? -rc : rc;
    snprintf(err, errlen, "afxdp: %s: %s%s%s%s", what, strerror(e), lib_msg[0] ? " (" : "", lib_msg,
             lib_msg[0] ? ")" : "");
    return -1;
}

void axp_lib_quiet(void)
{
    lib_msg[0] = '\0';
    libbpf_set_print(quiet_print);
    libxdp_set_print(quiet_print_xdp);
}

/* ---- the program ---------------------------------------------------------- */

int axp_prog_load(struct axp_prog *g, ring_buffer_sample_fn arp_cb, void *ctx, char *err,
                  size_t errlen)
{
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "bb_afxdp");
    g->obj = bpf_object__open_mem(bb_afxdp_bpf_start,
                                  (size_t)(bb_afxdp_bpf_end - bb_afxdp_bpf_start), &oo);
    if (!g->obj) {
        g->obj = NULL;
        return axp_lib_fail(err, errlen, errno, "opening the embedded XDP program");
    }
    int rc = bpf_object__load(g->obj);
    if (rc < 0)
        return axp_lib_fail(err, errlen, rc,
                            "loading the XDP program (needs root: CAP_BPF and CAP_NET_ADMIN)");
    struct bpf_map *xsks = bpf_object__find_map_by_name(g->obj, "xsks");
    struct bpf_map *steer = bpf_object__find_map_by_name(g->obj, "steer");
    struct bpf_map *xstats = bpf_object__find_map_by_name(g->obj, "xstats");
    struct bpf_map *arpq = bpf_object__find_map_by_name(g->obj, "arpq");
    if (!xsks || !steer || !xstats || !arpq) {
        snprintf(err, errlen, "afxdp: the embedded XDP program lacks one of its maps");
        return -1;
    }
    g->xsks_fd = bpf_map__fd(xsks);
    g->xstats_fd = bpf_map__fd(xstats);
    long page = sysconf(_SC_PAGESIZE);
    g->steer_len = (sizeof(struct afxdp_steer) + (size_t)page - 1) / (size_t)page * (size_t)page;
    void *m = mmap(NULL, g->steer_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(steer), 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "afxdp: mmap of the steering map: %s", strerror(errno));
        return -1;
    }
    g->steer = m;
    memset(g->steer, 0, sizeof(*g->steer));
    g->arp_rb = ring_buffer__new(bpf_map__fd(arpq), arp_cb, ctx, NULL);
    if (!g->arp_rb) return axp_lib_fail(err, errlen, errno, "the ARP copy ring");
    g->ncpus = libbpf_num_possible_cpus();
    if (g->ncpus <= 0) return axp_lib_fail(err, errlen, g->ncpus, "counting possible CPUs");
    return 0;
}

int axp_prog_attach(struct axp_prog *g, int ifindex, const char *ifname, unsigned xdp_mode,
                    char *err, size_t errlen)
{
    struct bpf_program *prog = bpf_object__find_program_by_name(g->obj, "bb_afxdp_redirect");
    if (!prog) {
        snprintf(err, errlen, "afxdp: the embedded object has no program bb_afxdp_redirect");
        return -1;
    }
    int pfd = bpf_program__fd(prog);
    int rc = -EOPNOTSUPP;
    if (xdp_mode != XM_GENERIC) {
        LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
        rc = bpf_link_create(pfd, ifindex, BPF_XDP, &lo);
        g->native = rc >= 0;
        if (rc < 0 && xdp_mode == XM_NATIVE)
            return axp_lib_fail(err, errlen, -errno, "native XDP on %s (xdp_mode=native)", ifname);
    }
    if (rc < 0) {
        LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_SKB_MODE);
        rc = bpf_link_create(pfd, ifindex, BPF_XDP, &lo);
    }
    if (rc < 0) {
        int e = errno;
        if (e == EBUSY || e == EEXIST) {
            snprintf(err, errlen,
                     "afxdp: %s already has an XDP program (another user, or one left by a "
                     "crash: `bypassbench topo down` removes leftovers on bb-* interfaces, "
                     "`ip link set dev %s xdp off` any other)",
                     ifname, ifname);
            return -1;
        }
        return axp_lib_fail(err, errlen, -e, "attaching XDP to %s", ifname);
    }
    g->link_fd = rc;
    return 0;
}

int axp_prog_counters(const struct axp_prog *g, struct netio_counter *out, int max)
{
    uint64_t *v = calloc((size_t)(g->ncpus > 0 ? g->ncpus : 1), sizeof(*v));
    int n = 0;
    for (uint32_t k = 0; k < AFXDP_XC__COUNT && n < max; k++) {
        uint64_t sum = 0;
        if (v && g->xstats_fd >= 0 && bpf_map_lookup_elem(g->xstats_fd, &k, v) == 0)
            for (int c = 0; c < g->ncpus; c++)
                sum += v[c];
        out[n++] = (struct netio_counter){xc_names[k], sum};
    }
    free(v);
    return n;
}

void axp_prog_close(struct axp_prog *g)
{
    if (g->link_fd >= 0) close(g->link_fd);
    g->link_fd = -1;
    if (g->arp_rb) ring_buffer__free(g->arp_rb);
    g->arp_rb = NULL;
    if (g->steer) munmap(g->steer, g->steer_len);
    g->steer = NULL;
    if (g->obj) bpf_object__close(g->obj);
    g->obj = NULL;
}
#endif
