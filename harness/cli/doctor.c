/*
 * harness/cli/doctor.c — `bypassbench doctor`: what this build and machine can
 * run, and why not where they cannot. Calls: harness/run/doctor.c.
 */
#include "harness/cli/cli.h"
#include "harness/run/doctor.h"

#include <stdio.h>

int cmd_doctor(int argc, char **argv)
{
    (void)argc, (void)argv;
    return doctor_run(stdout);
}
