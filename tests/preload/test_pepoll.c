/*
 * test_pepoll.c — preload/pepoll.c, the stack half of an epoll set, against
 * fake sockets whose readiness the test sets: EPOLL_CTL errors as epoll_ctl(2)
 * gives them, level-triggered items report while ready, edge-triggered ones
 * once per event (and again on new data while unread data remains, as
 * Linux), EPOLLONESHOT disables until EPOLL_CTL_MOD, EPOLLERR/EPOLLHUP always
 * reported, EPOLLRDHUP only when asked, items leave when no descriptor names
 * their socket, a short maxevents rotates through the ready items, and a
 * kernel epoll set merged with it (the shim's epoll_wait) gives both kinds.
 * The ready list: a wait looks at the items that had an event (pep_notify)
 * and the level-triggered ones that reported, not at every item; an item
 * closed or modified while on it, level-triggered re-reports, edge-triggered
 * items that stay quiet without a new event.
 */
#include "preload/pepoll.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct fake {
    struct pobj hdr;
    uint32_t mask;
    uint64_t gen;
};

static int released, looked;

static uint32_t ready(struct pobj *o, uint64_t *gen)
{
    struct fake *f = (struct fake *)o;
    *gen = f->gen;
    looked++;
    return f->mask;
}

/* The socket's side: new readiness is an event (shim.c's ps_event). */
static void set(struct fake *f, uint32_t mask)
{
    f->mask = mask;
    f->gen++;
    pep_notify(&f->hdr);
}

static void release(struct pobj *o)
{
    (void)o;
    released++;
}

static struct fake mk(void)
{
    struct fake f = {.hdr = {.kind = POBJ_SOCK, .fdrefs = 1}, .gen = 1};
    return f;
}

static int add(struct pep *p, int fd, struct fake *f, uint32_t ev, uint64_t data)
{
    struct epoll_event e = {.events = ev, .data.u64 = data};
    return pep_ctl(p, EPOLL_CTL_ADD, fd, &f->hdr, &e, release);
}

static int collect(struct pep *p, struct epoll_event *out, int max)
{
    return pep_collect(p, out, max, ready, release);
}

Test(pepoll, ctl_errors_as_linux)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event e = {.events = EPOLLIN};
    cr_assert_eq(add(&p, 4, &a, EPOLLIN, 0), 0);
    cr_assert_eq(add(&p, 4, &a, EPOLLIN, 0), -EEXIST);
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_MOD, 5, &a.hdr, &e, release), -ENOENT);
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_DEL, 5, &a.hdr, NULL, release), -ENOENT);
    cr_assert_eq(pep_ctl(&p, 99, 4, &a.hdr, &e, release), -EINVAL);
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_MOD, 4, &a.hdr, NULL, release), -EFAULT);
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_MOD, 4, &a.hdr, &e, release), -EINVAL);
    cr_assert_eq(a.hdr.holds, 1);
    released = 0;
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_DEL, 4, &a.hdr, NULL, release), 0);
    cr_assert_eq(a.hdr.holds, 0);
    cr_assert_eq(released, 1);
    pep_clear(&p, release);
}

Test(pepoll, level_triggered_reports_while_ready)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4];
    add(&p, 4, &a, EPOLLIN | EPOLLOUT, 42);
    cr_assert_eq(collect(&p, out, 4), 0, "nothing ready");
    set(&a, EPOLLIN);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(collect(&p, out, 4), 1);
        cr_assert_eq(out[0].events, EPOLLIN);
        cr_assert_eq(out[0].data.u64, 42);
    }
    set(&a, EPOLLIN | EPOLLRDHUP); /* not asked for: not reported */
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert_eq(out[0].events, EPOLLIN);
    cr_assert(pep_any_ready(&p, ready));
    pep_clear(&p, release);
}

Test(pepoll, edge_triggered_once_per_event)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4];
    a.mask = EPOLLOUT;
    add(&p, 4, &a, EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, 1);
    cr_assert_eq(collect(&p, out, 4), 1, "the state at ADD is reported once");
    cr_assert_eq(collect(&p, out, 4), 0, "no new event");
    cr_assert_not(pep_any_ready(&p, ready));
    set(&a, EPOLLIN | EPOLLOUT); /* data arrived */
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert_eq(out[0].events, EPOLLIN | EPOLLOUT);
    cr_assert_eq(collect(&p, out, 4), 0);
    set(&a, a.mask); /* more data while unread data remains: Linux reports again */
    cr_assert_eq(collect(&p, out, 4), 1);
    set(&a, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert(out[0].events & EPOLLRDHUP);
    pep_clear(&p, release);
}

Test(pepoll, oneshot_until_mod)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4], e = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 8};
    a.mask = EPOLLIN;
    add(&p, 4, &a, EPOLLIN | EPOLLONESHOT, 7);
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert_eq(out[0].data.u64, 7);
    cr_assert_eq(collect(&p, out, 4), 0, "disabled after one report");
    set(&a, a.mask);
    cr_assert_eq(collect(&p, out, 4), 0, "still disabled on a new event");
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_MOD, 4, &a.hdr, &e, release), 0);
    cr_assert_eq(collect(&p, out, 4), 1, "re-armed by MOD");
    cr_assert_eq(out[0].data.u64, 8, "MOD replaced the data");
    pep_clear(&p, release);
}

Test(pepoll, err_and_hup_always)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4];
    add(&p, 4, &a, 0, 3); /* no interest at all */
    a.mask = EPOLLIN | EPOLLERR | EPOLLHUP;
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert_eq(out[0].events, EPOLLERR | EPOLLHUP);
    pep_clear(&p, release);
}

Test(pepoll, closed_socket_leaves_the_set)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk(), b = mk();
    struct epoll_event out[4];
    a.mask = b.mask = EPOLLIN;
    add(&p, 4, &a, EPOLLIN, 1);
    add(&p, 5, &b, EPOLLIN, 2);
    a.hdr.fdrefs = 0; /* its last descriptor closed */
    released = 0;
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert_eq(out[0].data.u64, 2);
    cr_assert_eq(released, 1);
    cr_assert_eq(a.hdr.holds, 0);
    cr_assert_eq(p.n, 1);
    pep_clear(&p, release);
    cr_assert_eq(b.hdr.holds, 0);
}

Test(pepoll, short_maxevents_rotates)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake f[3] = {mk(), mk(), mk()};
    struct epoll_event out[1];
    int seen[3] = {0};
    for (int i = 0; i < 3; i++) {
        f[i].mask = EPOLLIN;
        add(&p, 10 + i, &f[i], EPOLLIN, (uint64_t)i);
    }
    for (int round = 0; round < 6; round++) {
        cr_assert_eq(collect(&p, out, 1), 1);
        seen[out[0].data.u64]++;
    }
    for (int i = 0; i < 3; i++)
        cr_assert_gt(seen[i], 0, "item %d starved by maxevents 1", i);
    pep_clear(&p, release);
}

/* The shim's epoll_wait: the stack half, then the kernel set without
 * waiting. A ready eventfd in the kernel epoll and a ready fake socket both
 * come back from one wait. */
Test(pepoll, merged_with_a_kernel_epoll)
{
    int ep = epoll_create1(EPOLL_CLOEXEC), ev = eventfd(1, EFD_CLOEXEC);
    cr_assert_geq(ep, 0);
    cr_assert_geq(ev, 0);
    struct epoll_event ke = {.events = EPOLLIN, .data.u64 = 100};
    cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ev, &ke), 0);
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    a.mask = EPOLLIN;
    add(&p, 50, &a, EPOLLIN, 1);
    struct epoll_event out[4];
    int n = collect(&p, out, 4);
    n += epoll_wait(ep, out + n, 4 - n, 0);
    cr_assert_eq(n, 2);
    uint64_t got = out[0].data.u64 + out[1].data.u64;
    cr_assert_eq(got, 101, "one stack and one kernel event");
    pep_clear(&p, release);
    close(ev);
    close(ep);
}

/* A wait looks at the items that had an event, not at every item: 1000
 * idle sockets registered, one gets data, one readiness is computed. */
Test(pepoll, wait_looks_at_ready_items_only)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    static struct fake f[1000];
    struct epoll_event out[8];
    for (int i = 0; i < 1000; i++) {
        f[i] = mk();
        cr_assert_eq(add(&p, 10 + i, &f[i], EPOLLIN, (uint64_t)i), 0);
    }
    cr_assert_eq(collect(&p, out, 8), 0, "ADD looks at each once: none ready");
    looked = 0;
    cr_assert_eq(collect(&p, out, 8), 0);
    cr_assert_eq(looked, 0, "idle items are not looked at (%d were)", looked);
    set(&f[700], EPOLLIN);
    cr_assert_eq(collect(&p, out, 8), 1);
    cr_assert_eq(out[0].data.u64, 700);
    cr_assert_eq(looked, 1, "one event, one look (%d)", looked);
    pep_clear(&p, release);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(f[i].hdr.holds, 0);
}

Test(pepoll, closed_while_ready)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk(), b = mk();
    struct epoll_event out[4];
    add(&p, 4, &a, EPOLLIN, 1);
    add(&p, 5, &b, EPOLLIN, 2);
    set(&a, EPOLLIN);
    set(&b, EPOLLIN);
    cr_assert_eq(p.nready, 2);
    a.hdr.fdrefs = 0;
    pep_forget(&a.hdr); /* its last descriptor closed (shim_release) */
    cr_assert_eq(a.hdr.holds, 0);
    cr_assert_null(a.hdr.watch);
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.nready, 1, "off the ready list with it");
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert_eq(out[0].data.u64, 2, "only the open one reports");
    pep_clear(&p, release);
}

Test(pepoll, modified_while_ready)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4], e = {.events = EPOLLOUT, .data.u64 = 5};
    add(&p, 4, &a, EPOLLIN, 1);
    set(&a, EPOLLIN);
    cr_assert_eq(p.nready, 1);
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_MOD, 4, &a.hdr, &e, release), 0);
    cr_assert_eq(p.nready, 1, "queued once, not twice");
    cr_assert_eq(collect(&p, out, 4), 0, "the new interest (EPOLLOUT) is not ready");
    cr_assert_eq(p.nready, 0);
    e = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 6};
    cr_assert_eq(pep_ctl(&p, EPOLL_CTL_MOD, 4, &a.hdr, &e, release), 0);
    cr_assert_eq(collect(&p, out, 4), 1, "MOD looks at the state at once");
    cr_assert_eq(out[0].data.u64, 6);
    cr_assert_eq(collect(&p, out, 4), 0, "then edge-triggered: quiet");
    pep_clear(&p, release);
}

Test(pepoll, level_triggered_re_reported_until_drained)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4];
    add(&p, 4, &a, EPOLLIN, 1);
    set(&a, EPOLLIN);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(collect(&p, out, 4), 1, "unread data, no new event: reported again (%d)", i);
    a.mask = 0; /* the program read it all: no event, the item finds out itself */
    cr_assert_eq(collect(&p, out, 4), 0);
    cr_assert_eq(p.nready, 0, "a drained item leaves the ready list");
    looked = 0;
    cr_assert_eq(collect(&p, out, 4), 0);
    cr_assert_eq(looked, 0);
    set(&a, EPOLLIN);
    cr_assert_eq(collect(&p, out, 4), 1, "new data: back");
    pep_clear(&p, release);
}

Test(pepoll, edge_triggered_quiet_without_a_new_event)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4];
    add(&p, 4, &a, EPOLLIN | EPOLLET, 1);
    set(&a, EPOLLIN);
    cr_assert_eq(collect(&p, out, 4), 1);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(collect(&p, out, 4), 0, "still readable, no event: quiet (%d)", i);
    cr_assert_eq(p.nready, 0);
    pep_notify(&a.hdr); /* an event that changed nothing the item counts (same gen) */
    cr_assert_eq(collect(&p, out, 4), 0, "a wake-up without a new event does not report");
    set(&a, EPOLLIN);
    cr_assert_eq(collect(&p, out, 4), 1);
    pep_clear(&p, release);
}

/* ready() may see a rising edge and notify the item being looked at: it is
 * reported once, and left queued once at most. */
static struct fake *rising;
static uint32_t ready_rising(struct pobj *o, uint64_t *gen)
{
    struct fake *f = (struct fake *)o;
    if (f == rising) {
        rising = NULL;
        f->mask = EPOLLIN;
        f->gen++;
        pep_notify(o);
    }
    *gen = f->gen;
    return f->mask;
}

Test(pepoll, rising_edge_found_while_collecting)
{
    struct pep p = {.hdr.kind = POBJ_EPOLL};
    struct fake a = mk();
    struct epoll_event out[4];
    add(&p, 4, &a, EPOLLIN | EPOLLET, 1);
    rising = &a;
    cr_assert_eq(pep_collect(&p, out, 4, ready_rising, release), 1);
    cr_assert_eq(p.nready, 0, "not left queued by its own notify");
    cr_assert_eq(pep_collect(&p, out, 4, ready_rising, release), 0);
    pep_clear(&p, release);
}
