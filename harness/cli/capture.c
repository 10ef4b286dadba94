/*
 * harness/cli/capture.c — `bypassbench capture`: bounded libpcap capture on one
 * interface into a pcap file, then a JSON sidecar (packets, kernel drops,
 * bytes, snaplen, duration) and one summary line on stderr. The harness
 * spawns it inside bb-dut (topo_spawn) and stops it with SIGTERM.
 * Calls: capture_* (harness/run/capture.c), report_json_write.
 */
#include "drivers/netio.h"
#include "harness/analysis/report_json.h"
#include "harness/cli/cli.h"
#include "harness/run/capture.h"
#include "workloads/units.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench capture --iface IF --out FILE.pcap [OPTIONS]\n"
            "  --iface IF        interface to capture on (inside the current namespace)\n"
            "  --out FILE        pcap file to write\n"
            "  --snaplen N       bytes kept per frame (default 128)\n"
            "  --count N         stop after N packets (default: no bound)\n"
            "  --duration DUR    stop after DUR (e.g. 10s, 500ms; default: no bound)\n"
            "  --filter EXPR     BPF filter (default: everything)\n"
            "  --promisc         promiscuous mode\n"
            "  --buffer KB       kernel capture ring (default 65536: about 1 s of\n"
            "                    headers-only keep-alive traffic at 350 k packets/s)\n"
            "  --immediate       hand over every packet at once (a wake-up per packet;\n"
            "                    default: TPACKET_V3 blocks, at most 100 ms late)\n"
            "  --cpu N           pin to CPU N (default: not pinned)\n"
            "  --json FILE       sidecar (default: FILE.json beside the pcap)\n"
            "  --ready FILE      create FILE once the capture is active\n"
            "Stops on SIGINT/SIGTERM too. Prints one summary line on stderr.\n");
}

/* out.pcap -> out.json; anything else -> anything.json */
static void sidecar_path(const char *out, char *buf, size_t len)
{
    size_t n = strlen(out);
    if (n > 5 && strcmp(out + n - 5, ".pcap") == 0)
        snprintf(buf, len, "%.*s.json", (int)(n - 5), out);
    else
        snprintf(buf, len, "%s.json", out);
}

int cmd_capture(int argc, char **argv)
{
    static const struct option opts[] = {
        {"iface", 1, 0, 'i'},  {"out", 1, 0, 'o'},     {"snaplen", 1, 0, 's'},
        {"count", 1, 0, 'c'},  {"duration", 1, 0, 'd'}, {"filter", 1, 0, 'f'},
        {"promisc", 0, 0, 'p'}, {"buffer", 1, 0, 'b'},  {"json", 1, 0, 'j'},
        {"ready", 1, 0, 'r'},  {"immediate", 0, 0, 'I'}, {"cpu", 1, 0, 'C'},
        {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    struct capture_config cfg = {.snaplen = 128};
    const char *json_path = NULL, *ready = NULL;
    int cpu = -1;
    char err[512], side[4096];
    uint64_t v;
    int c, li = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
        switch (c) {
        case 'i': cfg.iface = optarg; break;
        case 'o': cfg.out = optarg; break;
        case 's':
            if (units_parse_size(optarg, &v) < 0 || v < 14 || v > 262144) goto badval;
            cfg.snaplen = (uint32_t)v;
            break;
        case 'c':
            if (units_parse_count(optarg, &cfg.max_packets) < 0) goto badval;
            break;
        case 'd':
            if (units_parse_duration_ns(optarg, &cfg.duration_ns) < 0) goto badval;
            break;
        case 'f': cfg.filter = optarg; break;
        case 'p': cfg.promisc = 1; break;
        case 'b':
            if (units_parse_count(optarg, &v) < 0 || v < 64 || v > (1u << 21)) goto badval;
            cfg.buffer_kb = (uint32_t)v;
            break;
        case 'j': json_path = optarg; break;
        case 'r': ready = optarg; break;
        case 'I': cfg.immediate = 1; break;
        case 'C':
            if (units_parse_count(optarg, &v) < 0 || v >= 1024) goto badval;
            cpu = (int)v;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        continue;
    badval:
        fprintf(stderr, "bypassbench capture: bad value for --%s: '%s'\n", opts[li].name, optarg);
        return 2;
    }
    if (optind != argc || !cfg.iface || !cfg.out) {
        usage(stderr);
        return 2;
    }
    if (!json_path) {
        sidecar_path(cfg.out, side, sizeof(side));
        json_path = side;
    }
    cli_on_signals();
    if (cpu >= 0 && netio_pin_cpu(cpu, err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench capture: %s\n", err);
        return 1;
    }
    struct capture *cap = capture_open(&cfg, err, sizeof(err));
    if (!cap) {
        fprintf(stderr, "bypassbench capture: %s\n", err);
        return 1;
    }
    if (ready) {
        int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) close(fd);
    }
    int rc = capture_loop(cap, &cli_stop, err, sizeof(err));
    if (rc < 0) fprintf(stderr, "bypassbench capture: %s\n", err);
    struct capture_result r;
    capture_result(cap, &r);
    capture_close(cap);
    json_t *j = capture_result_json(cfg.iface, cfg.out, &r);
    if (!j || report_json_write(json_path, j, err, sizeof(err)) < 0) {
        fprintf(stderr, "bypassbench capture: %s\n", j ? err : "cannot build the JSON sidecar");
        rc = -1;
    }
    json_decref(j);
    fprintf(stderr,
            "capture: %s: %llu packets, %llu bytes, %llu dropped by kernel (%.3f%%), %llu by "
            "interface, snaplen %u, %.3f s (stopped by %s) -> %s\n",
            cfg.iface, (unsigned long long)r.packets, (unsigned long long)r.bytes,
            (unsigned long long)r.ps_drop,
            r.ps_recv ? 100.0 * (double)r.ps_drop / (double)r.ps_recv : 0.0,
            (unsigned long long)r.ps_ifdrop, r.snaplen,
            r.duration_s, capture_stop_str(r.stopped_by), cfg.out);
    return rc < 0 ? 1 : 0;
}
