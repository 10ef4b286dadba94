/*
 * capture.c — bounded libpcap capture into a pcap file (see capture.h).
 * Caller: harness/cli/capture.c. Calls libpcap: pcap_create,
 * pcap_set_snaplen/promisc/timeout/immediate_mode/buffer_size, pcap_activate,
 * pcap_compile + pcap_setfilter, pcap_dispatch, pcap_dump_fopen, pcap_dump,
 * pcap_stats. The handle is non-blocking and waited for with poll(2) on its
 * selectable fd (100 ms at most), so a signal or the duration bound stops it
 * promptly even with no traffic (a blocking TPACKET_V3 read can wait forever
 * on an idle link).
 *
 * Cost: by default immediate mode is off, so libpcap uses TPACKET_V3 and the
 * kernel wakes this process once per filled 256 KiB block (about 1300
 * headers-only frames) or after CAPTURE_BLOCK_TIMEOUT_MS, instead of once per
 * packet: with immediate mode the capture of a keep-alive benchmark cost
 * about half the requests/s of a 2-core machine, mostly in wake-ups and
 * context switches. The ring is large (CAPTURE_DEFAULT_BUFFER_KB) so that the
 * batching does not turn into drops; drops are still counted (pcap_stats).
 * The file goes through a 1 MiB stdio buffer (one write(2) per MiB, not per
 * 4 KiB).
 */
#include "harness/run/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct capture {
    pcap_t *pc;
    pcap_dumper_t *dump;
    struct capture_config cfg;
    uint64_t t0_ns;
    struct capture_result r;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *capture_stop_str(enum capture_stop s)
{
    switch (s) {
    case CAPTURE_STOP_NONE: return "none";
    case CAPTURE_STOP_COUNT: return "count";
    case CAPTURE_STOP_DURATION: return "duration";
    case CAPTURE_STOP_SIGNAL: return "signal";
    case CAPTURE_STOP_ERROR: return "error";
    }
    return "?";
}

struct capture *capture_open(const struct capture_config *c, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (!c || !c->iface || !c->out) {
        snprintf(err, errlen, "capture: an interface and an output file are required");
        return NULL;
    }
    struct capture *cap = calloc(1, sizeof(*cap));
    if (!cap) {
        snprintf(err, errlen, "capture: out of memory");
        return NULL;
    }
    cap->cfg = *c;
    if (!cap->cfg.snaplen) cap->cfg.snaplen = 128;
    if (!cap->cfg.buffer_kb) cap->cfg.buffer_kb = CAPTURE_DEFAULT_BUFFER_KB;
    cap->r.snaplen = cap->cfg.snaplen;
    cap->pc = pcap_create(c->iface, ebuf);
    if (!cap->pc) {
        snprintf(err, errlen, "capture: %s: %s", c->iface, ebuf);
        goto fail;
    }
    if (pcap_set_snaplen(cap->pc, (int)cap->cfg.snaplen) != 0 ||
        pcap_set_promisc(cap->pc, c->promisc) != 0 ||
        pcap_set_timeout(cap->pc, CAPTURE_BLOCK_TIMEOUT_MS) != 0 ||
        pcap_set_immediate_mode(cap->pc, c->immediate ? 1 : 0) != 0 ||
        pcap_set_buffer_size(cap->pc, (int)(cap->cfg.buffer_kb * 1024)) != 0) {
        snprintf(err, errlen, "capture: %s: setting capture parameters: %s", c->iface,
                 pcap_geterr(cap->pc));
        goto fail;
    }
    int rc = pcap_activate(cap->pc);
    if (rc < 0) {
        const char *why = pcap_geterr(cap->pc);
        snprintf(err, errlen, "capture: %s: pcap_activate: %s", c->iface,
                 why && *why ? why : pcap_statustostr(rc));
        goto fail;
    }
    if (pcap_setnonblock(cap->pc, 1, ebuf) < 0 || pcap_get_selectable_fd(cap->pc) < 0) {
        snprintf(err, errlen, "capture: %s: cannot poll the handle: %s", c->iface, ebuf);
        goto fail;
    }
    if (c->filter) {
        struct bpf_program prog;
        if (pcap_compile(cap->pc, &prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            snprintf(err, errlen, "capture: filter '%s': %s", c->filter, pcap_geterr(cap->pc));
            goto fail;
        }
        rc = pcap_setfilter(cap->pc, &prog);
        pcap_freecode(&prog);
        if (rc < 0) {
            snprintf(err, errlen, "capture: filter '%s': %s", c->filter, pcap_geterr(cap->pc));
            goto fail;
        }
    }
    FILE *f = fopen(c->out, "wbe");
    if (!f) {
        snprintf(err, errlen, "capture: %s: %s", c->out, strerror(errno));
        goto fail;
    }
    if (setvbuf(f, NULL, _IOFBF, 1u << 20) != 0) { /* before any output */
        fclose(f);
        snprintf(err, errlen, "capture: %s: cannot set a file buffer", c->out);
        goto fail;
    }
    cap->dump = pcap_dump_fopen(cap->pc, f);
    if (!cap->dump) {
        fclose(f);
        snprintf(err, errlen, "capture: %s: %s", c->out, pcap_geterr(cap->pc));
        goto fail;
    }
    cap->t0_ns = now_ns();
    return cap;
fail:
    capture_close(cap);
    return NULL;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct capture *cap = (struct capture *)user;
    pcap_dump((u_char *)cap->dump, h, bytes);
    cap->r.packets++;
    cap->r.bytes += h->len;
    cap->r.captured_bytes += h->caplen;
}

int capture_loop(struct capture *cap, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    const struct capture_config *c = &cap->cfg;
    /* After a stop (signal or duration) the last, partly filled block is
     * still in the kernel: keep reading until its timeout has handed it over. */
    uint64_t drain_until = 0;
    enum capture_stop why = CAPTURE_STOP_NONE;
    for (;;) {
        if (c->max_packets && cap->r.packets >= c->max_packets) {
            cap->r.stopped_by = CAPTURE_STOP_COUNT;
            break;
        }
        uint64_t t = now_ns();
        if (why == CAPTURE_STOP_NONE) {
            if (stop && *stop)
                why = CAPTURE_STOP_SIGNAL;
            else if (c->duration_ns && t - cap->t0_ns >= c->duration_ns)
                why = CAPTURE_STOP_DURATION;
            if (why != CAPTURE_STOP_NONE) {
                cap->r.stopped_by = why;
                if (c->immediate) break;
                drain_until = t + (CAPTURE_BLOCK_TIMEOUT_MS + 50) * 1000000ull;
            }
        }
        if (why != CAPTURE_STOP_NONE && t >= drain_until) break;
        int want = -1;
        if (c->max_packets) {
            uint64_t left = c->max_packets - cap->r.packets;
            want = left > 1000000 ? 1000000 : (int)left;
        }
        int n = pcap_dispatch(cap->pc, want, on_packet, (u_char *)cap);
        if (n == 0) {
            int ms = 100;
            if (why != CAPTURE_STOP_NONE) ms = (int)((drain_until - t) / 1000000) + 1;
            struct pollfd pfd = {.fd = pcap_get_selectable_fd(cap->pc), .events = POLLIN};
            if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
                snprintf(err, errlen, "capture: %s: poll: %s", c->iface, strerror(errno));
                cap->r.stopped_by = CAPTURE_STOP_ERROR;
                return -1;
            }
            continue;
        }
        if (n == PCAP_ERROR) {
            snprintf(err, errlen, "capture: %s: %s", c->iface, pcap_geterr(cap->pc));
            cap->r.stopped_by = CAPTURE_STOP_ERROR;
            return -1;
        }
        if (n == PCAP_ERROR_BREAK) continue; /* re-check the bounds */
    }
    if (pcap_dump_flush(cap->dump) < 0) {
        snprintf(err, errlen, "capture: %s: cannot flush the file", c->out);
        cap->r.stopped_by = CAPTURE_STOP_ERROR;
        return -1;
    }
    return 0;
}

void capture_result(struct capture *cap, struct capture_result *out)
{
    struct pcap_stat ps;
    if (cap->pc && pcap_stats(cap->pc, &ps) == 0) {
        cap->r.ps_recv = ps.ps_recv;
        cap->r.ps_drop = ps.ps_drop;
        cap->r.ps_ifdrop = ps.ps_ifdrop;
    }
    cap->r.duration_s = (double)(now_ns() - cap->t0_ns) / 1e9;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        cap->r.cpu_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
        cap->r.cpu_sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    *out = cap->r;
}

void capture_close(struct capture *cap)
{
    if (!cap) return;
    if (cap->dump) pcap_dump_close(cap->dump);
    if (cap->pc) pcap_close(cap->pc);
    free(cap);
}

json_t *capture_result_json(const char *iface, const char *file, const struct capture_result *r)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:s,s:f,s:f}", "iface", iface, "file",
                     file, "packets", (json_int_t)r->packets, "bytes", (json_int_t)r->bytes,
                     "captured_bytes", (json_int_t)r->captured_bytes, "dropped_kernel",
                     (json_int_t)r->ps_drop, "dropped_interface", (json_int_t)r->ps_ifdrop,
                     "received_by_filter", (json_int_t)r->ps_recv, "snaplen",
                     (json_int_t)r->snaplen, "duration_s", r->duration_s, "stopped_by",
                     capture_stop_str(r->stopped_by), "cpu_user_s", r->cpu_user_s, "cpu_sys_s",
                     r->cpu_sys_s);
}
