/*
 * harness/cli/topo.c — `bypassbench topo up|down|status`.
 * Calls: harness/run/topo.c.
 */
#include "harness/cli/cli.h"
#include "harness/run/topo.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_topo(int argc, char **argv)
{
    char err[512];
    const char *what = argc > 1 ? argv[1] : "";
    int rps = 0, offloads = 0;
    for (int i = 2; strcmp(what, "up") == 0 && i < argc; i++) {
        if (strcmp(argv[i], "--rps") == 0)
            rps = 1;
        else if (strcmp(argv[i], "--offloads") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "on") == 0 || strcmp(argv[i + 1], "off") == 0))
            offloads = strcmp(argv[++i], "on") == 0;
        else {
            fprintf(stderr, "topo up: unknown or incomplete option '%s' (--rps, --offloads on|off)\n",
                    argv[i]);
            return 2;
        }
    }
    if (strcmp(what, "up") == 0) {
        struct topo_config c = {
            .link = "veth", .rps = rps, .dut_cpu = 1, .dut_addr = 1, .offloads = offloads};
        if (geteuid() != 0) {
            fprintf(stderr, "topo: needs root\n");
            return 1;
        }
        if (topo_lock(0, err, sizeof(err)) < 0) {
            fprintf(stderr, "topo up: %s\n", err);
            return 1;
        }
        if (topo_up(&c, err, sizeof(err)) < 0) {
            fprintf(stderr, "topo up: %s\n", err);
            return 1;
        }
        printf("topology up: %s (%s/%d) <-> %s (%s/%d) over veth %s/%s\n", TOPO_NS_GEN,
               TOPO_IP_GEN, TOPO_PREFIX, TOPO_NS_DUT, TOPO_IP_DUT, TOPO_PREFIX, TOPO_IF_GEN,
               TOPO_IF_DUT);
        return 0;
    }
    if (strcmp(what, "down") == 0) {
        if (topo_lock(0, err, sizeof(err)) < 0) { /* a live run: its own teardown follows */
            fprintf(stderr, "topo down: %s\n", err);
            return 1;
        }
        if (topo_down(err, sizeof(err)) < 0) {
            fprintf(stderr, "topo down: %s\n", err);
            return 1;
        }
        printf("topology down: no %s* namespace left\n", TOPO_NS_PREFIX);
        return 0;
    }
    if (strcmp(what, "status") == 0) {
        printf("%s\n", topo_present() ? "up (bb-* namespaces exist)" : "down");
        return 0;
    }
    fprintf(stdout, "usage: bypassbench topo up [--rps] [--offloads on|off] | down | status\n"
                    "  up      create netns bb-gen and bb-dut joined by a veth pair (198.18.0.0/24)\n"
                    "          --rps: the DUT veth's receive processing on CPU 1\n"
                    "          --offloads on: TSO/GSO/GRO and TX checksum offload on both ends\n"
                    "          (default off: a wire, MTU frames with their checksums filled in;\n"
                    "          serve afpacket/dpdk with --opt offloads=1 to match)\n"
                    "  down    remove them and kill what runs inside (cleans up after a crash)\n"
                    "  status  say whether any bb-* namespace exists\n");
    return strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0 ? 0 : 2;
}
