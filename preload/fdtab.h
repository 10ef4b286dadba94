/*
 * fdtab.h — the preload library's descriptor table: which kernel descriptor
 * numbers stand for an object of ours (a socket of our stack, an epoll set
 * with stack members). Every such descriptor is a real kernel descriptor (a
 * placeholder the kernel reserved for it), so numbers stay below the limits
 * and FD_SETSIZE the way the kernel hands them out; the table only says
 * what the number means to us. An empty slot is a plain kernel descriptor.
 *
 * Readers look a slot up without a lock (an atomic load): the common case,
 * a kernel descriptor, then costs one load. Writers hold the library's lock.
 * Objects count the descriptors naming them (fdrefs: dup, dup2, fork's
 * inherited ones are not counted) and the epoll items holding them (holds);
 * the owner frees an object when both reach zero.
 *
 * Callers: preload/shim.c, preload/pepoll.c, tests/preload/test_fdtab.c.
 */
#ifndef BB_PRELOAD_FDTAB_H
#define BB_PRELOAD_FDTAB_H

#include <stdint.h>

#define FDTAB_MAX (1 << 20) /* Linux's default fs.nr_open: no descriptor is larger */

enum pobj_kind { POBJ_SOCK = 1, POBJ_EPOLL };

struct pep_item; /* preload/pepoll.h */

/* The header every object in the table starts with. */
struct pobj {
    int kind;   /* enum pobj_kind */
    int fdrefs; /* descriptors naming it */
    int holds;  /* epoll items holding it */
    struct pep_item *watch; /* the epoll items watching it (pepoll.c) */
};

/* 0, or -1 when out of memory (the table is reserved, pages come on use). */
int fdtab_init(void);
void fdtab_fini(void);
/* The object behind fd, or NULL for a kernel descriptor (and any fd out of
 * range). Lock-free. */
struct pobj *fdtab_get(int fd);
/* Makes fd name o (fdrefs++). The slot must be empty: a descriptor number the
 * kernel just handed out. -1 when fd is out of range. */
int fdtab_set(int fd, struct pobj *o);
/* Empties fd's slot and returns what it held (fdrefs--), or NULL. */
struct pobj *fdtab_clear(int fd);
/* Whether o is unreferenced (the caller may free it). */
static inline int pobj_unused(const struct pobj *o)
{
    return o->fdrefs == 0 && o->holds == 0;
}

#endif
