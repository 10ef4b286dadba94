/*
 * test_exc_wrap.c — the exception-path wrapper (kni/exc_wrap.c) over two
 * memlinks (copy mode): the wire (peer <-> data port) and the kernel side
 * (exception port <-> "kernel"). Frames the stack owns come up through
 * rx_burst, the rest reach the kernel end, ARP reaches both, what the
 * kernel sends leaves on the wire; counters and buffer accounting checked.
 */
#include "kni/exc.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

static struct pktio *peer, *data, *xport, *kern, *w;

static int ports_fn(void *arg, uint16_t *out, int max)
{
    (void)arg;
    if (max < 1) return 0;
    out[0] = 8080;
    return 1;
}

static void setup(void)
{
    char err[256];
    struct pktio_config pc = {.pool_size = 64};
    cr_assert_eq(memlink_pair(&pc, &peer, &data, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memlink_pair(&pc, &xport, &kern, err, sizeof(err)), 0, "%s", err);
    struct exc_wrap_config c = {.backend = &exc_tap_ops,
                                .ip = inet_addr("198.18.0.2"),
                                .eph_lo = 49152,
                                .eph_hi = 65535,
                                .zero_copy = 0};
    w = exc_wrap(data, xport, &c, err, sizeof(err));
    cr_assert_not_null(w, "%s", err);
    exc_wrap_bind(w, ports_fn, NULL);
}

static void teardown(void)
{
    pktio_close(w); /* closes data and xport */
    pktio_close(peer);
    pktio_close(kern);
}

TestSuite(exc_wrap, .init = setup, .fini = teardown);

/* Send on `from` an IPv4 frame (proto, dport) to 198.18.0.2, tagged with `tag`. */
static void send_ip(struct pktio *from, uint8_t proto, uint16_t dport, uint8_t tag)
{
    struct pktbuf *b = pktio_alloc(from);
    cr_assert_not_null(b);
    uint8_t *f = b->data;
    memset(f, 0, 60);
    f[12] = 0x08;
    f[14] = 0x45;
    f[14 + 9] = proto;
    uint32_t d = inet_addr("198.18.0.2");
    memcpy(f + 14 + 16, &d, 4);
    f[34 + 2] = (uint8_t)(dport >> 8);
    f[34 + 3] = (uint8_t)dport;
    f[59] = tag;
    b->len = 60;
    cr_assert_eq(pktio_tx_burst(from, &b, 1), 1);
}

static void send_arp(struct pktio *from)
{
    struct pktbuf *b = pktio_alloc(from);
    cr_assert_not_null(b);
    uint8_t *f = b->data;
    memset(f, 0, 42);
    f[12] = 0x08;
    f[13] = 0x06;
    uint8_t *a = f + 14;
    a[1] = 1;
    a[2] = 0x08;
    a[4] = 6;
    a[5] = 4;
    a[7] = 1;
    uint32_t t = inet_addr("198.18.0.2");
    memcpy(a + 24, &t, 4);
    b->len = 42;
    cr_assert_eq(pktio_tx_burst(from, &b, 1), 1);
}

/* Receive all waiting frames on p, record their tags (byte 59), free them. */
static int drain(struct pktio *p, uint8_t *tags, int max)
{
    struct pktbuf *b[64];
    int n = pktio_rx_burst(p, b, 64);
    for (int i = 0; i < n && i < max; i++)
        tags[i] = b[i]->len >= 60 ? b[i]->data[59] : 0xee;
    pktio_free(p, b, (uint16_t)n);
    return n;
}

static uint64_t ctr(const char *name)
{
    struct netio_counter c[128];
    int n = pktio_counters(w, c, 128);
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0) return c[i].value;
    cr_assert_fail("no counter %s", name);
    return 0;
}

Test(exc_wrap, splits_stack_and_kernel_traffic)
{
    send_ip(peer, 6, 8080, 1);  /* listening: stack */
    send_ip(peer, 1, 0, 2);     /* ICMP: kernel */
    send_ip(peer, 6, 9090, 3);  /* other port: kernel */
    send_ip(peer, 6, 50000, 4); /* ephemeral: stack */
    send_ip(peer, 17, 8080, 5); /* UDP: kernel */
    struct pktbuf *b[32];
    uint16_t n = pktio_rx_burst(w, b, 32);
    cr_assert_eq(n, 2);
    cr_assert_eq(b[0]->data[59], 1);
    cr_assert_eq(b[1]->data[59], 4);
    pktio_free(w, b, n);
    uint8_t tags[8];
    cr_assert_eq(drain(kern, tags, 8), 3);
    cr_assert_eq(tags[0], 2);
    cr_assert_eq(tags[1], 3);
    cr_assert_eq(tags[2], 5);
    cr_assert_eq(ctr("exc_to_stack"), 2);
    cr_assert_eq(ctr("exc_to_kernel"), 3);
    cr_assert_eq(ctr("exc_backend_tap"), 1);
    cr_assert_eq(ctr("exc_backend_virtio_user"), 0);
    cr_assert_eq(w->ops->in_use(w), 0);
}

Test(exc_wrap, arp_goes_to_both)
{
    send_arp(peer);
    struct pktbuf *b[8];
    uint16_t n = pktio_rx_burst(w, b, 8);
    cr_assert_eq(n, 1);
    cr_assert_eq(b[0]->data[13], 0x06);
    pktio_free(w, b, n);
    uint8_t tags[4];
    cr_assert_eq(drain(kern, tags, 4), 1);
    cr_assert_eq(ctr("exc_both"), 1);
    cr_assert_eq(w->ops->in_use(w), 0);
}

Test(exc_wrap, kernel_frames_leave_on_the_wire)
{
    send_ip(kern, 1, 0, 7);
    send_ip(kern, 6, 22, 8);
    struct pktbuf *b[8];
    cr_assert_eq(pktio_rx_burst(w, b, 8), 0); /* nothing for the stack */
    uint8_t tags[4];
    cr_assert_eq(drain(peer, tags, 4), 2);
    cr_assert_eq(tags[0], 7);
    cr_assert_eq(tags[1], 8);
    cr_assert_eq(ctr("exc_from_kernel"), 2);
    /* the stack's own transmissions go to the wire too */
    struct pktbuf *t = pktio_alloc(w);
    cr_assert_not_null(t);
    memset(t->data, 0, 60);
    t->data[59] = 9;
    t->len = 60;
    cr_assert_eq(pktio_tx_burst(w, &t, 1), 1);
    cr_assert_eq(drain(peer, tags, 4), 1);
    cr_assert_eq(tags[0], 9);
    cr_assert_eq(w->ops->in_use(w), 0);
}

Test(exc_wrap, kernel_side_full_is_counted)
{
    /* the kernel end never reads: its FIFO (64) fills, the rest are dropped */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 40; i++)
            send_ip(peer, 1, 0, (uint8_t)i);
        struct pktbuf *b[64];
        cr_assert_eq(pktio_rx_burst(w, b, 64), 0);
    }
    cr_assert_eq(ctr("exc_to_kernel"), 120);
    cr_assert_gt(ctr("exc_drop_kernel_tx_full") + ctr("exc_drop_no_buf"), 0);
    uint8_t tags[64];
    while (drain(kern, tags, 64) > 0) {
    }
    cr_assert_eq(w->ops->in_use(w), 0);
}

Test(exc_wrap, rejects_bad_arguments, .init = NULL, .fini = NULL)
{
    char err[128] = "";
    cr_assert_null(exc_wrap(NULL, NULL, NULL, err, sizeof(err)));
    cr_assert(strstr(err, "wrapper") != NULL, "%s", err);
}

Test(exc_wrap, kernel_side_polled_every_nth_call, .init = NULL, .fini = NULL)
{
    char err[256];
    struct pktio_config pc = {.pool_size = 64};
    struct pktio *pe, *d, *x, *k;
    cr_assert_eq(memlink_pair(&pc, &pe, &d, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memlink_pair(&pc, &x, &k, err, sizeof(err)), 0, "%s", err);
    struct exc_wrap_config c = {.ip = inet_addr("198.18.0.2"), .poll_every = 3};
    struct pktio *ww = exc_wrap(d, x, &c, err, sizeof(err));
    cr_assert_not_null(ww, "%s", err);
    send_ip(k, 1, 0, 1);
    struct pktbuf *b[8];
    uint8_t tags[4];
    pktio_rx_burst(ww, b, 8);
    pktio_rx_burst(ww, b, 8);
    cr_assert_eq(drain(pe, tags, 4), 0, "pumped before the third call");
    pktio_rx_burst(ww, b, 8);
    cr_assert_eq(drain(pe, tags, 4), 1);
    pktio_close(ww);
    pktio_close(pe);
    pktio_close(k);
}

Test(exc_choose, modes, .init = NULL, .fini = NULL)
{
    char rep[512];
    cr_assert_null(exc_choose("off", rep, sizeof(rep)));
    cr_assert_str_eq(rep, "off");
    cr_assert_null(exc_choose("bogus", rep, sizeof(rep)));
    cr_assert(strstr(rep, "unknown exception path 'bogus'") != NULL, "%s", rep);
    exc_choose("auto", rep, sizeof(rep));
    cr_assert(strncmp(rep, "rte_kni ", 8) == 0, "auto starts with rte_kni: %s", rep);
    const struct exc_backend_ops *t = exc_choose("tap", rep, sizeof(rep));
    cr_assert(strncmp(rep, "tap ", 4) == 0 && !strstr(rep, "rte_kni"), "%s", rep);
    cr_assert((t != NULL) == (strstr(rep, "tap yes") != NULL), "%s", rep);
#if !(defined(HAVE_DPDK) && defined(HAVE_RTE_KNI))
    cr_assert_null(exc_choose("rte_kni", rep, sizeof(rep)));
    cr_assert(strstr(rep, "not built") != NULL, "%s", rep);
#endif
    /* a report buffer too small is cut, never overrun */
    char tiny[8];
    exc_choose("auto", tiny, sizeof(tiny));
    cr_assert_lt(strlen(tiny), sizeof(tiny));
    cr_assert_str_eq(exc_report(rep, sizeof(rep)), rep);
}
