/*
 * doctor.h — `bypassbench doctor`: what this machine supports, and why not
 * where it does not (privileges, namespaces, CPUs and TSC, CPU accounting
 * method, netio backends, TUN/KNI/vhost-net, hugepages, DPDK, tools).
 *
 * Callers: harness/main.c. Calls: sysinfo, topo (ip, which), netio_backends.
 */
#ifndef BB_DOCTOR_H
#define BB_DOCTOR_H

#include <stdio.h>

/* Print the report to out. Probing is harmless: as root it creates and
 * deletes a throwaway namespace `bb-doctor`. Returns 0. */
int doctor_run(FILE *out);

#endif
