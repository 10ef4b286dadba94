/*
 * hugepages.h — reserve and mount 2 MiB hugepages for DPDK multi-process
 * capture (DESIGN §8), and give them back. Callers: the harness before a
 * DPDK trial with pdump capture, integration tests. Calls /proc/sys/vm and
 * mount(2). Needs root. The previous page count is kept in a file under
 * /run (HUGEPAGES_STATE) so that a later process can restore it.
 */
#ifndef BB_HUGEPAGES_H
#define BB_HUGEPAGES_H

#include <stddef.h>

#define HUGEPAGES_MNT "/dev/hugepages"
#define HUGEPAGES_STATE "/run/bypassbench-hugepages.prev"

/* Make sure at least n2m 2 MiB pages are reserved (raising
 * /proc/sys/vm/nr_hugepages if lower; the kernel may grant fewer) and that
 * hugetlbfs is mounted at /dev/hugepages. Returns the number of pages now
 * reserved (may be < n2m: memory is fragmented or short), or -1 with err.
 * Creates /dev/hugepages when missing (removed again by hugepages_release). */
int hugepages_ensure(unsigned n2m, char *err, size_t errlen);

/* Free pages reserved: HugePages_Free from /proc/meminfo, or -1. */
int hugepages_free(void);

/* Restore the page count hugepages_ensure found (if it raised it), and
 * unmount /dev/hugepages if hugepages_ensure mounted it. 0, or -1 with err. */
int hugepages_release(char *err, size_t errlen);

/* Remove hugepage files left in /dev/hugepages by a DPDK primary with this
 * --file-prefix (PREFIXmap_*). Returns how many were removed. */
int hugepages_remove_files(const char *prefix);

#endif
