/*
 * hugepages.c — reserve/mount/release 2 MiB hugepages (see hugepages.h).
 * Callers: harness (DPDK pdump capture), tests/integration/90_capture.sh via
 * `bypassbench pdump --hugepages N`. Calls /proc/sys/vm/nr_hugepages,
 * /proc/meminfo, /proc/mounts, mount(2)/umount(2).
 */
#include "harness/run/hugepages.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define NR_PATH "/proc/sys/vm/nr_hugepages"

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (!f) return -1;
    if (fscanf(f, "%ld", &v) != 1) v = -1;
    fclose(f);
    return v;
}

static int write_long(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fprintf(f, "%ld\n", v) > 0;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

static int mounted(void)
{
    FILE *f = fopen("/proc/mounts", "r");
    char line[512];
    int found = 0;
    if (!f) return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char dev[128], dir[256], type[64];
        if (sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 &&
            strcmp(dir, HUGEPAGES_MNT) == 0 && strcmp(type, "hugetlbfs") == 0)
            found = 1;
    }
    fclose(f);
    return found;
}

int hugepages_free(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    int v = -1;
    if (!f) return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "HugePages_Free: %d", &v) == 1) break;
    fclose(f);
    return v;
}

int hugepages_ensure(unsigned n2m, char *err, size_t errlen)
{
    long cur = read_long(NR_PATH);
    if (cur < 0) {
        snprintf(err, errlen, "hugepages: cannot read %s: %s", NR_PATH, strerror(errno));
        return -1;
    }
    int raised = 0;
    if ((unsigned long)cur < n2m) {
        if (write_long(NR_PATH, (long)n2m) < 0) {
            snprintf(err, errlen, "hugepages: cannot write %s (needs root): %s", NR_PATH,
                     strerror(errno));
            return -1;
        }
        raised = 1;
    }
    int did_mount = 0, created = 0;
    if (!mounted()) {
        if (mkdir(HUGEPAGES_MNT, 0755) == 0)
            created = 1;
        else if (errno != EEXIST) {
            snprintf(err, errlen, "hugepages: mkdir %s: %s", HUGEPAGES_MNT, strerror(errno));
            goto undo;
        }
        if (mount("nodev", HUGEPAGES_MNT, "hugetlbfs", 0, "pagesize=2M") < 0) {
            snprintf(err, errlen, "hugepages: mount hugetlbfs at %s: %s", HUGEPAGES_MNT,
                     strerror(errno));
            goto undo;
        }
        did_mount = 1;
    }
    /* Remember what to undo (only the first ensure's view counts). */
    if ((raised || did_mount) && access(HUGEPAGES_STATE, F_OK) != 0) {
        FILE *f = fopen(HUGEPAGES_STATE, "w");
        if (f) {
            fprintf(f, "%ld %d %d\n", raised ? cur : -1L, did_mount, created);
            fclose(f);
        }
    }
    long now = read_long(NR_PATH);
    return now < 0 ? 0 : (int)now;
undo:
    if (created) (void)rmdir(HUGEPAGES_MNT);
    if (raised) (void)write_long(NR_PATH, cur);
    return -1;
}

int hugepages_release(char *err, size_t errlen)
{
    FILE *f = fopen(HUGEPAGES_STATE, "r");
    if (!f) return 0; /* nothing of ours to undo */
    long prev = -1;
    int did_mount = 0, created = 0;
    if (fscanf(f, "%ld %d %d", &prev, &did_mount, &created) != 3) prev = -1, did_mount = 0;
    fclose(f);
    int rc = 0;
    if (did_mount && umount(HUGEPAGES_MNT) < 0 && errno != EINVAL) {
        snprintf(err, errlen, "hugepages: umount %s: %s (hugepage files still in use?)",
                 HUGEPAGES_MNT, strerror(errno));
        rc = -1;
    } else if (did_mount && created) {
        (void)rmdir(HUGEPAGES_MNT); /* we made the mount point too */
    }
    if (prev >= 0 && write_long(NR_PATH, prev) < 0) {
        snprintf(err, errlen, "hugepages: cannot restore %s to %ld: %s", NR_PATH, prev,
                 strerror(errno));
        rc = -1;
    }
    if (rc == 0) unlink(HUGEPAGES_STATE);
    return rc;
}

int hugepages_remove_files(const char *prefix)
{
    DIR *d = opendir(HUGEPAGES_MNT);
    struct dirent *e;
    char want[80], path[512];
    int n = 0;
    if (!d || !prefix || !*prefix) {
        if (d) closedir(d);
        return 0;
    }
    snprintf(want, sizeof(want), "%smap_", prefix);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, want, strlen(want)) != 0) continue;
        snprintf(path, sizeof(path), "%s/%s", HUGEPAGES_MNT, e->d_name);
        if (unlink(path) == 0) n++;
    }
    closedir(d);
    return n;
}
