/*
 * exc_iface.c — the kernel side of the exception path: give the interface
 * the data port's MAC and our address, and bring it up (SIOCSIFFLAGS,
 * SIOCSIFHWADDR, SIOCSIFADDR, SIOCSIFNETMASK on an AF_INET socket, in the
 * caller's network namespace). IPv6 autoconfiguration on it is left alone.
 *
 * exc_iface_quiet: when the data port is a kernel interface read through
 * AF_PACKET (net_af_packet), the kernel also gets every frame on it, and once
 * the exception interface carries our address it would answer them itself
 * (RST to our stack's ports, duplicate ICMP). Strict reverse-path filtering
 * on that interface drops them there (the route back is the exception
 * interface). exc_iface_unquiet puts the old value back (the harness uses
 * the same veth for the kernel driver next). /proc/sys/net/ipv4/conf/<name>/
 * in the caller's network namespace.
 *
 * exc_dpdk_port_open, exc_dev_ok: what the tap and virtio_user backends
 * (second DPDK ports whose kernel side is the exception interface) share.
 *
 * Callers: kni/exc_tap.c, kni/exc_virtio_user.c, kni/kni_rte.c,
 * kni/exc_wrap.c (exc_iface_quiet, exc_iface_unquiet).
 */
#include "kni/exc.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int req(int fd, unsigned long op, struct ifreq *r, const char *name, const char *what,
               char *err, size_t errlen)
{
    if (ioctl(fd, op, r) == 0) return 0;
    snprintf(err, errlen, "exception interface %s: %s: %s", name, what, strerror(errno));
    return -1;
}

static void set_in(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = addr;
    memcpy(sa, &sin, sizeof(sin));
}

int exc_iface_setup(const char *name, const uint8_t mac[6], uint32_t ip, uint8_t prefix_len,
                    char *err, size_t errlen)
{
    if (!name || !*name || strlen(name) >= IFNAMSIZ || prefix_len < 1 || prefix_len > 32) {
        snprintf(err, errlen, "exception interface '%s': bad name or prefix /%u", name ? name : "",
                 prefix_len);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "exception interface %s: socket: %s", name, strerror(errno));
        return -1;
    }
    struct ifreq r;
    memset(&r, 0, sizeof(r));
    snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", name);
    int rc = -1;
    if (req(fd, SIOCGIFFLAGS, &r, name, "get flags", err, errlen) < 0) goto out;
    short flags = r.ifr_flags;
    r.ifr_flags = (short)(flags & ~IFF_UP);
    if (req(fd, SIOCSIFFLAGS, &r, name, "down", err, errlen) < 0) goto out;
    r.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(r.ifr_hwaddr.sa_data, mac, 6);
    if (req(fd, SIOCSIFHWADDR, &r, name, "set MAC", err, errlen) < 0) goto out;
    set_in(&r.ifr_addr, ip);
    if (req(fd, SIOCSIFADDR, &r, name, "set address", err, errlen) < 0) goto out;
    set_in(&r.ifr_netmask, htonl(prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix_len)));
    if (req(fd, SIOCSIFNETMASK, &r, name, "set netmask", err, errlen) < 0) goto out;
    r.ifr_flags = (short)(flags | IFF_UP | IFF_RUNNING);
    if (req(fd, SIOCSIFFLAGS, &r, name, "up", err, errlen) < 0) goto out;
    rc = 0;
out:
    close(fd);
    return rc;
}

static int write_conf(const char *fam, const char *name, const char *key, const char *val, char *err,
                      size_t errlen)
{
    char path[160];
    snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", fam, name, key);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : write(fd, val, strlen(val));
    int e = errno;
    if (fd >= 0) close(fd);
    if (n != (ssize_t)strlen(val)) {
        snprintf(err, errlen, "exception path: %s=%s: %s", path, val, strerror(e));
        return -1;
    }
    return 0;
}

static int name_ok(const char *name)
{
    return name && *name && strlen(name) < IFNAMSIZ && !strchr(name, '/') && name[0] != '.';
}

static void read_conf(const char *path, char *out, size_t outlen)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, out, outlen - 1);
    out[n > 0 ? n : 0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    close(fd);
}

int exc_iface_quiet(const char *name, char *old, size_t oldlen, char *err, size_t errlen)
{
    if (!name_ok(name) || oldlen < 2) {
        snprintf(err, errlen, "exception path: bad interface name '%s'", name ? name : "");
        return -1;
    }
    char all[8], path[160];
    read_conf("/proc/sys/net/ipv4/conf/all/rp_filter", all, sizeof(all));
    if (all[0] == '2') {
        snprintf(err, errlen,
                 "exception path: net.ipv4.conf.all.rp_filter=2 (loose) overrides the strict "
                 "filter %s needs; set it to 0 or 1", name);
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", name);
    read_conf(path, old, oldlen);
    if (!*old) snprintf(old, oldlen, "0");
    return write_conf("ipv4", name, "rp_filter", "1", err, errlen);
}

void exc_iface_unquiet(const char *name, const char *old)
{
    char err[64];
    if (name_ok(name) && old && *old) (void)write_conf("ipv4", name, "rp_filter", old, err, sizeof(err));
}

int exc_dev_ok(const char *path, char *why, size_t whylen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s%s", path, strerror(errno),
                 errno == ENOENT && strcmp(path, "/dev/vhost-net") == 0
                     ? " (modprobe vhost_net)"
                     : "");
        return -1;
    }
    close(fd);
    return 0;
}

struct pktio *exc_dpdk_port_open(const char *what, const char *const *opts,
                                 const struct exc_params *p, char *err, size_t errlen)
{
    const struct pktio_ops *po = pktio_find("dpdk");
    if (!po) {
        snprintf(err, errlen, "%s exception path: the dpdk pktio is not built in", what);
        return NULL;
    }
    struct pktio_config pc = {.opts = opts};
    char e[512];
    struct pktio *x = po->open(&pc, e, sizeof(e));
    if (!x) {
        snprintf(err, errlen, "%s exception path: %s", what, e);
        return NULL;
    }
    if (exc_iface_setup(p->iface, p->mac, p->ip, p->prefix_len, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "%s exception path: %s", what, e);
        pktio_close(x);
        return NULL;
    }
    return x;
}
