/*
 * preload_epoll.c — the cost of one epoll_wait(timeout 0) over a set of
 * idle sockets, run under `bypassbench exec` so that they are sockets of our
 * stack (bench/preload_epoll.sh): connects N sockets to ADDR:PORT, registers
 * them all (EPOLLIN, level-triggered) with one epoll set plus an idle pipe,
 * and times ITERS waits that find nothing. Prints "N ns_per_wait".
 *   preload_epoll ADDR PORT N ITERS
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: preload_epoll ADDR PORT N ITERS\n");
        return 2;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
        fprintf(stderr, "preload_epoll: bad address %s\n", argv[1]);
        return 2;
    }
    int n = atoi(argv[3]), iters = atoi(argv[4]);
    int ep = epoll_create1(0), p[2];
    if (ep < 0 || pipe(p) < 0) {
        perror("preload_epoll: epoll_create1/pipe");
        return 1;
    }
    struct epoll_event e = {.events = EPOLLIN};
    e.data.fd = p[0];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
            fprintf(stderr, "preload_epoll: connection %d of %d: ", i, n);
            perror("connect");
            return 1;
        }
        e.data.fd = s;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &e) < 0) {
            perror("preload_epoll: epoll_ctl");
            return 1;
        }
    }
    struct epoll_event out[64];
    for (int i = 0; i < 1000; i++) /* warm-up */
        epoll_wait(ep, out, 64, 0);
    double t0 = now_ns();
    int got = 0;
    for (int i = 0; i < iters; i++)
        got += epoll_wait(ep, out, 64, 0);
    double t1 = now_ns();
    if (got) {
        fprintf(stderr, "preload_epoll: %d events from idle sockets\n", got);
        return 1;
    }
    printf("%d %.0f\n", n, (t1 - t0) / iters);
    return 0;
}
