/*
 * doctor.h — `bypassbench doctor`: what this machine supports, and why not
 * where it does not (privileges, namespaces, CPUs and TSC, CPU accounting
 * method, netio backends and their options, TUN/KNI/vhost-net, hugepages,
 * DPDK, tools).
 *
 * Callers: harness/main.c. Calls: sysinfo, topo (ip, which), netio_backends.
 */
#ifndef BB_DOCTOR_H
#define BB_DOCTOR_H

#include <stdio.h>

/* Print the report to out. Probing is harmless: as root it creates and
 * deletes a throwaway namespace `bb-doctor`. Returns 0. */
int doctor_run(FILE *out);

/* Every netio driver's --opt options from their tables (drivers/opts.h),
 * each table once with the drivers that take it: name, values, default,
 * help; lines start with indent. Also for serve/load/pair --help. */
void doctor_driver_opts(FILE *out, const char *indent);

#endif
