/*
 * fdtab.c — the descriptor table (fdtab.h): one pointer per possible
 * descriptor number, reserved with mmap so only the pages of descriptors in
 * use take memory.
 */
#include "preload/fdtab.h"

#include <stddef.h>
#include <sys/mman.h>

static struct pobj **tab;

int fdtab_init(void)
{
    if (tab) return 0;
    void *p = mmap(NULL, sizeof(*tab) * FDTAB_MAX, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return -1;
    tab = p;
    return 0;
}

void fdtab_fini(void)
{
    if (tab) munmap(tab, sizeof(*tab) * FDTAB_MAX);
    tab = NULL;
}

struct pobj *fdtab_get(int fd)
{
    if (fd < 0 || fd >= FDTAB_MAX || !tab) return NULL;
    return __atomic_load_n(&tab[fd], __ATOMIC_ACQUIRE);
}

int fdtab_set(int fd, struct pobj *o)
{
    if (fd < 0 || fd >= FDTAB_MAX || !tab) return -1;
    o->fdrefs++;
    __atomic_store_n(&tab[fd], o, __ATOMIC_RELEASE);
    return 0;
}

struct pobj *fdtab_clear(int fd)
{
    if (fd < 0 || fd >= FDTAB_MAX || !tab) return NULL;
    struct pobj *o = tab[fd];
    if (!o) return NULL;
    __atomic_store_n(&tab[fd], NULL, __ATOMIC_RELEASE);
    o->fdrefs--;
    return o;
}
