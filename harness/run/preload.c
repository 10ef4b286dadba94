/*
 * preload.c — finding libbbpreload.so, telling a static binary from a
 * dynamic one (its ELF program headers: PT_INTERP names the dynamic loader
 * that honours LD_PRELOAD), and a self-test of preloading (preload.h).
 */
#include "harness/run/preload.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int preload_lib_path(char *out, size_t len, char *err, size_t errlen)
{
    const char *env = getenv("BB_PRELOAD_LIB");
    if (env && *env) {
        if (access(env, R_OK) != 0) {
            snprintf(err, errlen, "BB_PRELOAD_LIB=%s: %s", env, strerror(errno));
            return -1;
        }
        snprintf(out, len, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot read /proc/self/exe: %s", strerror(errno));
        return -1;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    const char *base = slash ? slash + 1 : self;
    const char *suffix = strncmp(base, "bypassbench", 11) == 0 ? base + 11 : "";
    if (slash) *slash = 0;
    snprintf(out, len, "%s/libbbpreload%s.so", slash ? self : ".", suffix);
    if (access(out, R_OK) != 0) {
        snprintf(err, errlen, "the preload library %s is missing (%s): run make", out,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int preload_find_program(const char *prog, char *out, size_t len, char *err, size_t errlen)
{
    if (strchr(prog, '/')) {
        if (access(prog, X_OK) != 0) {
            snprintf(err, errlen, "program '%s': %s", prog, strerror(errno));
            return -1;
        }
        snprintf(out, len, "%s", prog);
        return 0;
    }
    const char *path = getenv("PATH");
    char *dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    if (!dirs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int found = 0;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !found;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(out, len, "%s/%s", *d ? d : ".", prog);
        struct stat st;
        found = stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0;
    }
    free(dirs);
    if (!found) snprintf(err, errlen, "program '%s' not found in PATH", prog);
    return found ? 0 : -1;
}

int preload_check_binary(const char *path, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char head[256];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    if (n >= 2 && head[0] == '#' && head[1] == '!') { /* a script: check its interpreter */
        close(fd);
        char interp[256];
        size_t i = 2, k = 0;
        while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t'))
            i++;
        while (i < (size_t)n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' &&
               k + 1 < sizeof(interp))
            interp[k++] = (char)head[i++];
        interp[k] = 0;
        if (!k) {
            snprintf(why, whylen, "%s: a script without an interpreter after #!", path);
            return 0;
        }
        return preload_check_binary(interp, why, whylen);
    }
    Elf64_Ehdr eh;
    if (n < (ssize_t)sizeof(eh) || memcmp(head, ELFMAG, SELFMAG) != 0) {
        close(fd);
        snprintf(why, whylen, "%s: not an ELF executable or a #! script", path);
        return 0;
    }
    memcpy(&eh, head, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
        close(fd);
        snprintf(why, whylen, "%s: not a 64-bit ELF (the library is built for this machine only)",
                 path);
        return 0;
    }
    int dynamic = 0;
    for (int i = 0; i < eh.e_phnum && !dynamic; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
            (ssize_t)sizeof(ph))
            break;
        dynamic = ph.p_type == PT_INTERP;
    }
    close(fd);
    if (!dynamic)
        snprintf(why, whylen,
                 "%s is statically linked (no PT_INTERP program header): no dynamic loader runs "
                 "to load the preload library, so its sockets cannot be moved to our stack",
                 path);
    return dynamic;
}

int preload_selftest(const char *lib, char *why, size_t whylen)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char ld[PATH_MAX + 16];
    snprintf(ld, sizeof(ld), "LD_PRELOAD=%s", lib);
    /* the ASan build's library: its runtime comes as a dependency (exec.c) */
    char *envp[] = {ld, "BB_PRELOAD_LOG=stderr",
                    strstr(lib, "-asan.so") ? "ASAN_OPTIONS=verify_asan_link_order=0" : NULL, NULL};
    char *argv[] = {"/bin/true", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/true", &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        snprintf(why, whylen, "cannot run /bin/true: %s", strerror(rc));
        return -1;
    }
    char out[512] = "";
    size_t got = 0;
    ssize_t r;
    while ((r = read(pfd[0], out + got, sizeof(out) - 1 - got)) > 0 && got + 1 < sizeof(out))
        got += (size_t)r;
    out[got] = 0;
    close(pfd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || strstr(out, "cannot be preloaded") ||
        strstr(out, "ERROR")) {
        char *nl = strchr(out, '\n');
        if (nl) *nl = 0;
        snprintf(why, whylen, "/bin/true with %s preloaded: %s", lib,
                 *out ? out : "exited with an error");
        return -1;
    }
    return 0;
}
