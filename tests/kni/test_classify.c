/*
 * test_classify.c — the exception-path classifier (kni/classify.c): frames
 * built byte by byte, each rule checked in both directions.
 */
#include "kni/exc.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

static struct exc_match M;

static void setup(void)
{
    memset(&M, 0, sizeof(M));
    M.ip = inet_addr("198.18.0.2");
    M.eph_lo = 49152;
    M.eph_hi = 65535;
    M.nports = 2;
    M.ports[0] = 8080;
    M.ports[1] = 8443;
}

TestSuite(classify, .init = setup);

static uint32_t eth(uint8_t *f, uint16_t type)
{
    memset(f, 0, 14);
    memset(f, 0xff, 6);
    f[6] = 0x02;
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    return 14;
}

/* IPv4 to dst with protocol proto and a 20-byte L4 header with dport. */
static uint32_t ip4(uint8_t *f, const char *dst, uint8_t proto, uint16_t dport, uint16_t frag)
{
    uint32_t n = eth(f, 0x0800);
    uint8_t *ip = f + n;
    memset(ip, 0, 40);
    ip[0] = 0x45;
    ip[3] = 40;
    ip[6] = (uint8_t)(frag >> 8);
    ip[7] = (uint8_t)frag;
    ip[8] = 64;
    ip[9] = proto;
    uint32_t s = inet_addr("198.18.0.1"), d = inet_addr(dst);
    memcpy(ip + 12, &s, 4);
    memcpy(ip + 16, &d, 4);
    ip[20] = 0xc0;
    ip[21] = 0x01; /* sport 49153 */
    ip[22] = (uint8_t)(dport >> 8);
    ip[23] = (uint8_t)dport;
    return n + 40;
}

static uint32_t arp(uint8_t *f, const char *sender, const char *target)
{
    uint32_t n = eth(f, 0x0806);
    uint8_t *a = f + n;
    memset(a, 0, 28);
    a[1] = 1;
    a[2] = 0x08;
    a[4] = 6;
    a[5] = 4;
    a[7] = 1;
    uint32_t s = inet_addr(sender), t = inet_addr(target);
    memcpy(a + 14, &s, 4);
    memcpy(a + 24, &t, 4);
    return n + 28;
}

Test(classify, tcp_to_listening_port_is_stack)
{
    uint8_t f[128];
    uint32_t n = ip4(f, "198.18.0.2", 6, 8080, 0);
    cr_assert_eq(exc_classify(&M, f, n), EXC_STACK);
    n = ip4(f, "198.18.0.2", 6, 8443, 0);
    cr_assert_eq(exc_classify(&M, f, n), EXC_STACK);
}

Test(classify, tcp_to_ephemeral_range_is_stack)
{
    uint8_t f[128];
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 49152, 0)), EXC_STACK);
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 65535, 0)), EXC_STACK);
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 49151, 0)), EXC_KERNEL);
}

Test(classify, tcp_to_other_port_is_kernel)
{
    uint8_t f[128];
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 22, 0)), EXC_KERNEL);
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 9090, 0)), EXC_KERNEL);
}

Test(classify, listening_ports_follow_the_table)
{
    uint8_t f[128];
    uint32_t n = ip4(f, "198.18.0.2", 6, 9090, 0);
    cr_assert_eq(exc_classify(&M, f, n), EXC_KERNEL);
    M.ports[M.nports++] = 9090;
    cr_assert_eq(exc_classify(&M, f, n), EXC_STACK);
    M.nports = 0;
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 8080, 0)), EXC_KERNEL);
}

Test(classify, no_ephemeral_range)
{
    uint8_t f[128];
    M.eph_lo = M.eph_hi = 0;
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 50000, 0)), EXC_KERNEL);
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 0, 0)), EXC_KERNEL);
}

Test(classify, tcp_to_other_address_is_kernel)
{
    uint8_t f[128];
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.9", 6, 8080, 0)), EXC_KERNEL);
    cr_assert_eq(exc_classify(&M, f, ip4(f, "255.255.255.255", 6, 8080, 0)), EXC_KERNEL);
}

Test(classify, icmp_and_udp_are_kernel)
{
    uint8_t f[128];
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 1, 8080, 0)), EXC_KERNEL);
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 17, 8080, 0)), EXC_KERNEL);
}

Test(classify, fragments)
{
    uint8_t f[128];
    /* first fragment (MF, offset 0): classified by port */
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 8080, 0x2000)), EXC_STACK);
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 9090, 0x2000)), EXC_KERNEL);
    /* later fragments carry no ports */
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 8080, 0x0010)), EXC_KERNEL);
    /* DF alone is not a fragment */
    cr_assert_eq(exc_classify(&M, f, ip4(f, "198.18.0.2", 6, 8080, 0x4000)), EXC_STACK);
}

Test(classify, ip_options_move_the_ports)
{
    uint8_t f[128];
    uint32_t n = ip4(f, "198.18.0.2", 6, 9090, 0);
    /* IHL 6: four bytes of options (NOPs) before the TCP header */
    uint8_t *ip = f + 14;
    memmove(ip + 24, ip + 20, 20);
    memset(ip + 20, 1, 4);
    ip[0] = 0x46;
    ip[24 + 2] = 8080 >> 8;
    ip[24 + 3] = 8080 & 0xff;
    cr_assert_eq(exc_classify(&M, f, n + 4), EXC_STACK);
    ip[0] = 0x44; /* IHL below 5: not a valid header */
    cr_assert_eq(exc_classify(&M, f, n + 4), EXC_KERNEL);
}

Test(classify, truncated_frames)
{
    uint8_t f[128];
    uint32_t n = ip4(f, "198.18.0.2", 6, 9090, 0);
    (void)n;
    cr_assert_eq(exc_classify(&M, f, 13), EXC_KERNEL);
    cr_assert_eq(exc_classify(&M, f, 14 + 19), EXC_KERNEL);
    /* our TCP, header cut before the ports: the stack counts it */
    cr_assert_eq(exc_classify(&M, f, 14 + 20 + 3), EXC_STACK);
    cr_assert_eq(exc_classify(&M, f, 14 + 20 + 4), EXC_KERNEL);
    cr_assert_eq(exc_classify(&M, NULL, 0), EXC_KERNEL);
    cr_assert_eq(exc_classify(NULL, f, n), EXC_KERNEL);
}

Test(classify, arp_about_us_goes_to_both)
{
    uint8_t f[128];
    cr_assert_eq(exc_classify(&M, f, arp(f, "198.18.0.1", "198.18.0.2")), EXC_BOTH);
    cr_assert_eq(exc_classify(&M, f, arp(f, "198.18.0.2", "198.18.0.1")), EXC_BOTH);
    cr_assert_eq(exc_classify(&M, f, arp(f, "198.18.0.1", "198.18.0.7")), EXC_KERNEL);
    uint32_t n = arp(f, "198.18.0.1", "198.18.0.2");
    cr_assert_eq(exc_classify(&M, f, n - 1), EXC_KERNEL);
    f[14 + 5] = 16; /* not IPv4 over Ethernet */
    cr_assert_eq(exc_classify(&M, f, n), EXC_KERNEL);
}

Test(classify, other_ethertypes_are_kernel)
{
    uint8_t f[128];
    memset(f, 0, sizeof(f));
    static const uint16_t types[] = {0x86dd, 0x88cc, 0x8100, 0x88a8, 0x0000};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        /* an IPv4/TCP-to-8080 payload behind a type that is not IPv4 */
        ip4(f, "198.18.0.2", 6, 8080, 0);
        f[12] = (uint8_t)(types[i] >> 8);
        f[13] = (uint8_t)types[i];
        cr_assert_eq(exc_classify(&M, f, 64), EXC_KERNEL, "type %04x", types[i]);
    }
}

Test(classify, ipv4_version_checked)
{
    uint8_t f[128];
    uint32_t n = ip4(f, "198.18.0.2", 6, 8080, 0);
    f[14] = 0x65;
    cr_assert_eq(exc_classify(&M, f, n), EXC_KERNEL);
}
