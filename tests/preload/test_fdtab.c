/*
 * test_fdtab.c — preload/fdtab.c: empty slots are kernel descriptors, set and
 * clear count the descriptors naming an object (dup: two names, one object),
 * out-of-range numbers are refused and read as kernel ones, and an object is
 * unused only when neither a descriptor nor an epoll item holds it.
 */
#include "preload/fdtab.h"

#include <criterion/criterion.h>

static void setup(void)
{
    cr_assert_eq(fdtab_init(), 0);
}
static void teardown(void)
{
    fdtab_fini();
}
TestSuite(fdtab, .init = setup, .fini = teardown);

Test(fdtab, empty_slots_are_kernel_descriptors)
{
    for (int fd = 0; fd < 64; fd++)
        cr_assert_null(fdtab_get(fd));
    cr_assert_null(fdtab_get(FDTAB_MAX - 1));
    cr_assert_null(fdtab_get(-1));
    cr_assert_null(fdtab_get(FDTAB_MAX));
    cr_assert_null(fdtab_clear(5), "clearing a kernel descriptor returns nothing");
}

Test(fdtab, dup_names_one_object_twice)
{
    struct pobj o = {.kind = POBJ_SOCK};
    cr_assert_eq(fdtab_set(3, &o), 0);
    cr_assert_eq(fdtab_set(700000, &o), 0); /* a high number, as dup2 may give */
    cr_assert_eq(fdtab_get(3), &o);
    cr_assert_eq(fdtab_get(700000), &o);
    cr_assert_eq(o.fdrefs, 2);
    cr_assert_eq(fdtab_clear(3), &o);
    cr_assert_null(fdtab_get(3));
    cr_assert_eq(o.fdrefs, 1);
    cr_assert_not(pobj_unused(&o), "one descriptor still names it");
    cr_assert_eq(fdtab_clear(700000), &o);
    cr_assert(pobj_unused(&o));
}

Test(fdtab, epoll_holds_keep_an_object)
{
    struct pobj o = {.kind = POBJ_SOCK};
    fdtab_set(9, &o);
    o.holds = 1;
    fdtab_clear(9);
    cr_assert_eq(o.fdrefs, 0);
    cr_assert_not(pobj_unused(&o), "an epoll item still holds it");
    o.holds = 0;
    cr_assert(pobj_unused(&o));
}

Test(fdtab, out_of_range_refused)
{
    struct pobj o = {.kind = POBJ_SOCK};
    cr_assert_eq(fdtab_set(-1, &o), -1);
    cr_assert_eq(fdtab_set(FDTAB_MAX, &o), -1);
    cr_assert_eq(o.fdrefs, 0, "a refused set counts nothing");
}

Test(fdtab, uninitialised_table_is_all_kernel)
{
    fdtab_fini();
    struct pobj o = {.kind = POBJ_SOCK};
    cr_assert_null(fdtab_get(3));
    cr_assert_eq(fdtab_set(3, &o), -1);
    cr_assert_eq(fdtab_init(), 0);
}
