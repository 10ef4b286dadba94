/*
 * proc.c — child processes of a run (see proc.h).
 * Callers: harness/run/trial.c, harness/cli/run.c. Calls: waitpid, waitid, kill.
 */
#include "harness/run/proc.h"

#include <errno.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t proc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int proc_wait(pid_t pid, uint64_t timeout_ns, volatile sig_atomic_t *stop)
{
    uint64_t end = timeout_ns ? proc_mono_ns() + timeout_ns : UINT64_MAX;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -1;
        if ((stop && *stop) || proc_mono_ns() >= end) return -1;
        usleep(10000);
    }
}

int proc_stop(pid_t pid, uint64_t grace_ns)
{
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    int st = proc_wait(pid, grace_ns, NULL);
    if (st == -1) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        st = proc_wait(pid, 0, NULL);
    }
    return st;
}

/* waitid with WNOWAIT: waitpid takes neither WNOWAIT nor WEXITED and fails
 * with EINVAL. */
int proc_exited(pid_t pid)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

int proc_sleep_watching(pid_t pid, uint64_t ns, volatile sig_atomic_t *stop)
{
    uint64_t end = proc_mono_ns() + ns;
    while (proc_mono_ns() < end) {
        if ((stop && *stop) || proc_exited(pid)) return 1;
        usleep(5000);
    }
    return 0;
}

int proc_wait_file(const char *path, pid_t pid, uint64_t timeout_ns, volatile sig_atomic_t *stop)
{
    uint64_t end = proc_mono_ns() + timeout_ns;
    while (proc_mono_ns() < end && !(stop && *stop)) {
        if (access(path, F_OK) == 0) return 0;
        if (proc_exited(pid)) return -1;
        usleep(10000);
    }
    return -1;
}
