/*
 * harness/cli/doctor.c — `bypassbench doctor`: what this build and machine can
 * run, and why not where they cannot; with --host NAME, the same on the host
 * of that [host NAME] section of a suite file, over ssh.
 * Calls: harness/run/doctor.c, harness/run/suite.c, harness/run/remote.c.
 */
#include "harness/cli/cli.h"
#include "harness/run/doctor.h"
#include "harness/run/remote.h"
#include "harness/run/suite.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bypassbench doctor [--host NAME [--suite FILE]]\n"
               "  what this machine supports, and why not where it does not\n"
               "  --host NAME   run doctor on the host of section [host NAME] instead, over ssh\n"
               "                (that host's bin; BatchMode: keys only, no prompt)\n"
               "  --suite FILE  the suite file with that section (default suites/default.ini)\n");
}

int cmd_doctor(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", 1, 0, 'H'}, {"suite", 1, 0, 's'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *host = NULL, *path = "suites/default.ini";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': host = optarg; break;
        case 's': path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "doctor: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!host) return doctor_run(stdout);
    struct suite *s = calloc(1, sizeof *s);
    struct remote *r = calloc(1, sizeof *r);
    char err[1024];
    int rc = 2;
    if (!s || !r) goto out;
    if (suite_load(path, s, err, sizeof err) < 0) {
        fprintf(stderr, "doctor: %s\n", err);
        goto out;
    }
    const struct suite_host *h = suite_host_find(s, host);
    if (!h) {
        fprintf(stderr, "doctor: %s has no [host %s] section\n", path, host);
        goto out_suite;
    }
    if (remote_connect(r, h, "doctor", path, err, sizeof err) < 0) {
        fprintf(stderr, "doctor: %s\n", err);
        rc = 1;
        goto out_suite;
    }
    printf("doctor on host %s (%s, %s):\n", h->name, h->ssh, h->bin);
    rc = remote_doctor(r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "doctor: host %s: %s\n", h->name, err);
        rc = 1;
    } else if (rc == 255) {
        fprintf(stderr, "doctor: host %s: ssh failed running %s doctor\n", h->name, h->bin);
    }
    remote_close(r);
out_suite:
    suite_free(s);
out:
    free(s);
    free(r);
    return rc;
}
