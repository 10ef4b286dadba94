/*
 * main.c — the bypassbench CLI: find the subcommand, hand it argv.
 */
#include "harness/cli/cli.h"

#include <stdio.h>
#include <string.h>

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"run", cmd_run, "run a suite: topology up, every workload x driver x repeat, results"},
    {"serve", cmd_serve, "the HTTP server on one driver"},
    {"load", cmd_load, "the HTTP load generator on one driver (wrk-like flags)"},
    {"pair", cmd_pair, "server and load generator in one process over a DPDK ring pair"},
    {"exec", cmd_exec, "run an unmodified program with its TCP sockets on our stack (LD_PRELOAD)"},
    {"topo", cmd_topo, "bring the namespace topology up or down (down cleans up after a crash)"},
    {"doctor", cmd_doctor, "what this machine supports, and why not where it does not"},
    {"sysinfo", cmd_sysinfo, "this machine's environment as JSON (what a run records of each host)"},
    {"capture", cmd_capture, "bounded libpcap capture on an interface into pcap (+ JSON sidecar)"},
    {"pdump", cmd_pdump, "capture a DPDK server's port as a secondary process (pcapng)"},
    {"trace", cmd_trace, "summarise a pcap/pcapng: sizes, TCP flags, retransmits, handshake RTTs"},
    {"compare", cmd_compare, "statistical regression gate between two results directories (exit 1 on worse)"},
    {"plot", cmd_plot, "every figure of a results directory: CSV, then PDF/SVG/PNG (gnuplot)"},
    {"report", cmd_report, "the figures and REPORT.md of a results directory"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "this list"},
};

static int cmd_version(int argc, char **argv)
{
    (void)argc, (void)argv;
    printf("bypassbench %s\n", BB_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc, (void)argv;
    printf("usage: bypassbench COMMAND [OPTIONS]   (bypassbench COMMAND --help for details)\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].help);
    printf("\n`make run` runs suites/default.ini; results go to results/<timestamp>/.\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(argc, argv), argc < 2 ? 2 : 0;
    if (strcmp(argv[1], "--version") == 0) return cmd_version(argc, argv);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "bypassbench: unknown command '%s' (try: bypassbench help)\n", argv[1]);
    return 2;
}
