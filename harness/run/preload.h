/*
 * preload.h — what `bypassbench exec` and `doctor` need to know about
 * running a program over our stack with libbbpreload.so (preload/shim.c):
 * where the library is, whether a program can be preloaded at all (a
 * statically linked ELF has no dynamic loader to honour LD_PRELOAD), and
 * whether preloading works on this machine.
 *
 * Callers: harness/cli/exec.c, harness/run/doctor.c. Calls: posix_spawn.
 */
#ifndef BB_RUN_PRELOAD_H
#define BB_RUN_PRELOAD_H

#include <stddef.h>

/* The library beside this binary: <dir of /proc/self/exe>/libbbpreload<S>.so,
 * S what follows "bypassbench" in the binary's name ("-asan": the ASan
 * build's); $BB_PRELOAD_LIB overrides. 0, or -1 with err (missing). */
int preload_lib_path(char *out, size_t len, char *err, size_t errlen);

/* prog found in $PATH (if it has no '/') into out. 0, or -1 with err. */
int preload_find_program(const char *prog, char *out, size_t len, char *err, size_t errlen);

/* Whether the file at path can be preloaded: 1 a dynamically linked ELF
 * (PT_INTERP) or a "#!" script (its interpreter is checked instead), 0 not
 * (statically linked, or not an executable this machine runs: why says
 * which), -1 unreadable (why). */
int preload_check_binary(const char *path, char *why, size_t whylen);

/* Runs /bin/true with lib preloaded and looks for the loader's complaint.
 * 0 works, -1 with why. */
int preload_selftest(const char *lib, char *why, size_t whylen);

#endif
