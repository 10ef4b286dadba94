/*
 * test_pepoll.c — preload/pepoll.c, the stack half of an epoll set, against
 * fake sockets whose readiness the test sets: EPOLL_CTL errors as epoll_ctl(2)
 * gives them, level-triggered items report while ready, edge-triggered ones
 * once per event (and again on new data while unread data remains, as
 * Linux), EPOLLONESHOT disables until EPOLL_CTL_MOD, EPOLLERR/EPOLLHUP always
 * reported, EPOLLRDHUP only when asked, items leave when no descriptor names
 * their socket, a short maxevents rotates through the ready items, and a
 * kernel epoll set merged with it (the shim's epoll_wait) gives both kinds.
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

static int released;

static uint32_t ready(struct pobj *o, uint64_t *gen)
{
    struct fake *f = (struct fake *)o;
    *gen = f->gen;
    return f->mask;
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
    a.mask = EPOLLIN;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(collect(&p, out, 4), 1);
        cr_assert_eq(out[0].events, EPOLLIN);
        cr_assert_eq(out[0].data.u64, 42);
    }
    a.mask = EPOLLIN | EPOLLRDHUP; /* not asked for: not reported */
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
    a.mask = EPOLLIN | EPOLLOUT;
    a.gen++; /* data arrived */
    cr_assert_eq(collect(&p, out, 4), 1);
    cr_assert_eq(out[0].events, EPOLLIN | EPOLLOUT);
    cr_assert_eq(collect(&p, out, 4), 0);
    a.gen++; /* more data while unread data remains: Linux reports again */
    cr_assert_eq(collect(&p, out, 4), 1);
    a.mask = EPOLLIN | EPOLLRDHUP | EPOLLOUT;
    a.gen++;
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
    a.gen++;
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
