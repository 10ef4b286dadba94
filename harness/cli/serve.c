/*
 * harness/cli/serve.c — `bypassbench serve`: parse options, open the driver, run the
 * server until SIGINT/SIGTERM, write its counters as JSON.
 * Calls: netio_open, server_run (workloads/server.c), report_server_json.
 */
#include "harness/analysis/report_json.h"
#include "harness/cli/cli.h"
#include "harness/run/doctor.h"
#include "harness/run/kstats.h"
#include "workloads/server.h"
#include "workloads/units.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench serve [OPTIONS]\n"
            "  --driver NAME        netio driver (default kernel; see `bypassbench doctor`)\n"
            "  --listen ADDR:PORT   address to listen on (default 0.0.0.0:8080)\n"
            "  --docroot DIR        directory served under /file/NAME (default: none, 404)\n"
            "  --cpu N              pin to CPU N (default: not pinned)\n"
            "  --idle-timeout DUR   close connections idle this long (default 60s; units ms, s, m)\n"
            "  --max-conns N        connection slots (default 65536)\n"
            "  --max-header SIZE    request header limit, larger gets 431 (default 8k; units k, m)\n"
            "  --max-body SIZE      request body limit, larger gets 413 (default 1m)\n"
            "  --iface IF           interface, for drivers that own one\n"
            "  --ip ADDR/LEN        our address, for drivers with their own stack\n"
            "  --opt KEY=VALUE      driver option (repeatable)\n"
            "  --no-cache           build every /bytes/N response afresh (default: the last one\n"
            "                       built is reused while N and Connection stay the same)\n"
            "  --json FILE          write counters as JSON here on exit\n"
            "  -q, --quiet          no summary on exit\n"
            "Routes: GET|HEAD /bytes/N (N bytes of the check pattern, N like 64, 1k, 1g),\n"
            "        GET|HEAD /file/NAME (from --docroot).\n");
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"driver", 1, 0, 'D'},    {"listen", 1, 0, 'l'},   {"docroot", 1, 0, 'r'},
        {"cpu", 1, 0, 'C'},       {"idle-timeout", 1, 0, 'I'}, {"max-conns", 1, 0, 'M'},
        {"max-header", 1, 0, 'H'}, {"max-body", 1, 0, 'B'}, {"iface", 1, 0, 'i'},
        {"ip", 1, 0, 'a'},        {"opt", 1, 0, 'o'},      {"json", 1, 0, 'j'},
        {"quiet", 0, 0, 'q'},     {"help", 0, 0, 'h'},     {"no-cache", 0, 0, 'N'},
        {0, 0, 0, 0},
    };
    const char *driver = "kernel", *json_path = NULL;
    const char *dopts[65] = {0};
    int ndopts = 0, quiet = 0;
    char err[1024]; /* a driver's unknown-option error lists every key */
    uint64_t v;
    struct srv_config cfg;
    struct netio_config ncfg = {.cpu = -1};
    srv_config_defaults(&cfg);
    cli_parse_addr("0.0.0.0:8080", &cfg.listen, err, sizeof(err));
    optind = 1;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, "qh", opts, &li)) != -1) {
        switch (c) {
        case 'D': driver = optarg; break;
        case 'l':
            if (cli_parse_addr(optarg, &cfg.listen, err, sizeof(err)) < 0) goto bad;
            break;
        case 'r': cfg.docroot = optarg; break;
        case 'N': cfg.no_cache = 1; break;
        case 'C': ncfg.cpu = atoi(optarg); break;
        case 'I':
            if (units_parse_duration_ns(optarg, &cfg.idle_timeout_ns) < 0) goto badval;
            break;
        case 'M':
            if (units_parse_count(optarg, &v) < 0 || v == 0) goto badval;
            cfg.max_conns = ncfg.max_conns = v;
            break;
        case 'H':
            if (units_parse_size(optarg, &v) < 0 || v < 256) goto badval;
            cfg.max_header = v;
            break;
        case 'B':
            if (units_parse_size(optarg, &cfg.max_body) < 0) goto badval;
            break;
        case 'i': ncfg.iface = optarg; break;
        case 'a': ncfg.ip = optarg; break;
        case 'o':
            if (ndopts == 64 || !strchr(optarg, '=')) goto badval;
            dopts[ndopts++] = optarg;
            break;
        case 'j': json_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            usage(stdout);
            printf("Driver options (--opt KEY=VALUE), from the drivers' tables:\n");
            doctor_driver_opts(stdout, "  ");
            return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    ncfg.opts = ndopts ? dopts : NULL;
    /* TEST ONLY: a stuck server on demand (tests/integration/55_stuck.sh),
     * through the environment so a whole `bypassbench run` can be given one */
    const char *stall = getenv("BB_TEST_STALL_CONN");
    if (stall && *stall) {
        char *end;
        cfg.test_stall_conn = strtoull(stall, &end, 10);
        if (*end) {
            fprintf(stderr, "serve: BB_TEST_STALL_CONN '%s': want a connection number\n", stall);
            return 2;
        }
        fprintf(stderr, "serve: TEST ONLY: connection %llu will never be answered\n",
                (unsigned long long)cfg.test_stall_conn);
    }
    cli_on_signals();
    struct netio *io = netio_open(driver, &ncfg, err, sizeof(err));
    if (!io) {
        fprintf(stderr, "serve: %s\n", err);
        return 1;
    }
    cfg.stop = &cli_stop;
    struct srv_stats st;
    memset(&st, 0, sizeof(st));
    /* the kernel's TCP and drop counters in this namespace over the run:
     * the kernel driver's retransmissions (our stack counts its own) */
    struct kstats ks[2];
    char kerr[160] = "";
    int ks_ok = kstats_read(&ks[0], kerr, sizeof(kerr)) == 0;
    int rc = server_run(io, &cfg, &st, err, sizeof(err));
    ks_ok = ks_ok && kstats_read(&ks[1], kerr, sizeof(kerr)) == 0;
    if (rc < 0) fprintf(stderr, "serve: %s\n", err);
    if (json_path) {
        json_t *j = report_server_json(driver, &st, io, rc == 0);
        json_object_set_new(j, "response_cache", json_boolean(!cfg.no_cache));
        json_object_set_new(j, "kernel", ks_ok ? kstats_delta_json(&ks[0], &ks[1]) : json_null());
        if (!ks_ok) json_object_set_new(j, "kernel_error", json_string(kerr));
        if (report_json_write(json_path, j, err, sizeof(err)) < 0) {
            fprintf(stderr, "serve: %s\n", err);
            rc = -1;
        }
        json_decref(j);
    }
    if (!quiet)
        fprintf(stderr, "serve: %llu requests parsed, %llu connections, %llu bytes out\n",
                (unsigned long long)st.requests_parsed, (unsigned long long)st.conns_accepted,
                (unsigned long long)st.bytes_out);
    netio_destroy(io);
    return rc == 0 ? 0 : 1;
badval:
    snprintf(err, sizeof(err), "bad value '%s' for --%s", optarg, li >= 0 ? opts[li].name : "?");
bad:
    fprintf(stderr, "serve: %s\n", err);
    return 2;
}
