/*
 * proc.h — child processes of a run: waiting with a timeout, stopping with
 * a grace period, watching for an exit without reaping, and the monotonic
 * clock they are timed by. Callers: harness/run/trial.c, harness/cli/run.c.
 * Calls: waitpid, waitid, kill.
 */
#ifndef BB_RUN_PROC_H
#define BB_RUN_PROC_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t proc_mono_ns(void);
/* Wait for pid up to timeout_ns (0 = forever); its wait status, or -1 on
 * timeout or when *stop is set (stop may be NULL; the child is still running). */
int proc_wait(pid_t pid, uint64_t timeout_ns, volatile sig_atomic_t *stop);
/* SIGTERM to its process group and to it, SIGKILL after grace_ns; reaps.
 * Returns the wait status. */
int proc_stop(pid_t pid, uint64_t grace_ns);
/* Has pid exited? Leaves it to be reaped. */
int proc_exited(pid_t pid);
/* Sleep up to ns; 1 early when pid exited or *stop is set, else 0. */
int proc_sleep_watching(pid_t pid, uint64_t ns, volatile sig_atomic_t *stop);
/* Wait up to timeout_ns for path to exist: 0, or -1 when pid exited first,
 * *stop was set or the time ran out. */
int proc_wait_file(const char *path, pid_t pid, uint64_t timeout_ns, volatile sig_atomic_t *stop);

#endif
