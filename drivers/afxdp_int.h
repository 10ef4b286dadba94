/*
 * afxdp_int.h — what the afxdp pktio's two files share: afxdp.c (the
 * socket, its rings and frames) and afxdp_prog.c (the XDP program that
 * steers frames to the socket, its maps and counters). Not for other
 * callers: they use pktio.h and afxdp.h. Built only with HAVE_AFXDP.
 */
#ifndef BB_AFXDP_INT_H
#define BB_AFXDP_INT_H

#include "drivers/bpf/afxdp_maps.h"
#include "drivers/netio.h"

#include <bpf/libbpf.h>
#include <stddef.h>

/* xdp_mode= values (an index into the option's choices) */
enum { XM_AUTO, XM_NATIVE, XM_GENERIC };

/* The XDP program and its maps. */
struct axp_prog {
    struct bpf_object *obj;
    int link_fd;               /* the bpf_link of the attached program: closing it detaches */
    int xsks_fd, xstats_fd;    /* XSKMAP (queue -> socket), per-CPU counters */
    struct afxdp_steer *steer; /* the steering map, mmapped */
    size_t steer_len;
    struct ring_buffer *arp_rb; /* ARP copies (BPF ringbuf) */
    int ncpus;                  /* possible CPUs: per-CPU values per key */
    int native;                 /* 1: attached as native (driver) XDP; 0: generic */
};

/* libbpf and libxdp print to stderr by default; library code never prints:
 * from here on they keep their last warning for axp_lib_fail instead. */
void axp_lib_quiet(void);
/* err = "afxdp: WHAT: strerror(|rc|) (the library's last warning)"; -1. */
int axp_lib_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Load the embedded program, find its maps, mmap the steering map (zeroed:
 * nothing is ours) and open the ARP ring, whose frames go to arp_cb(ctx).
 * g's descriptors must be -1 beforehand. 0, or -1 with err (the caller
 * closes g). */
int axp_prog_load(struct axp_prog *g, ring_buffer_sample_fn arp_cb, void *ctx, char *err,
                  size_t errlen);
/* Attach it to ifindex through a bpf_link: native, else generic (xdp_mode:
 * XM_*); g->native says which. 0, or -1 with err (an interface that has a
 * program already is named so). */
int axp_prog_attach(struct axp_prog *g, int ifindex, const char *ifname, unsigned xdp_mode,
                    char *err, size_t errlen);
/* The program's counters (xdp_*), summed over CPUs; returns how many. */
int axp_prog_counters(const struct axp_prog *g, struct netio_counter *out, int max);
/* Detach (the link first), then free the rest. Safe on a partly loaded g. */
void axp_prog_close(struct axp_prog *g);

#endif
