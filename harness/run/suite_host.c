/*
 * suite_host.c — the [host NAME] section of a suite file: a machine the
 * harness drives over OpenSSH (harness/run/remote.c). Every key is a row of
 * host_keys[] with its default and help; values are checked here, at suite
 * load, so that a bad address or option never reaches ssh (no value may start
 * with '-', where ssh would take it for an option).
 *
 * Callers: harness/run/suite.c (the section), harness/run/remote.c.
 */
#include "harness/run/suite.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef int (*host_setter)(struct suite_host *h, const char *v, char *why, size_t whylen);

struct host_key {
    const char *key, *def, *help;
    host_setter set;
};

/* Printable, no blank, no quote or shell metacharacter worth refusing, not
 * starting with '-' (ssh would read an option). */
static int plain(const char *v, const char *extra_ok)
{
    if (!*v || *v == '-') return 0;
    for (const char *p = v; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(extra_ok, *p))) return 0;
    return 1;
}

static int set_ssh(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    const char *at = strchr(v, '@');
    size_t ul = at ? (size_t)(at - v) : 0;
    const char *addr = at ? at + 1 : "";
    char user[64];
    snprintf(user, sizeof user, "%.*s", (int)(ul < sizeof user ? ul : sizeof user - 1), v);
    struct in_addr a4;
    struct in6_addr a6;
    if (!at || ul == 0 || ul >= sizeof h->user || !plain(user, "._-")) {
        snprintf(why, whylen, "expected USER@ADDRESS, e.g. root@192.0.2.7 (USER: letters, digits, "
                              "'.', '_', '-')");
        return -1;
    }
    /* digits and dots only: an IPv4 address, never a host name */
    int dotted = *addr && strspn(addr, "0123456789.") == strlen(addr);
    if (strlen(addr) >= sizeof h->addr ||
        !(inet_pton(AF_INET, addr, &a4) == 1 || inet_pton(AF_INET6, addr, &a6) == 1 ||
          (!dotted && plain(addr, ".-")))) {
        snprintf(why, whylen, "bad address '%s': expected an IPv4 or IPv6 address or a host name",
                 addr);
        return -1;
    }
    snprintf(h->ssh, sizeof h->ssh, "%s", v);
    snprintf(h->user, sizeof h->user, "%s", user);
    snprintf(h->addr, sizeof h->addr, "%s", addr);
    return 0;
}

static int set_port(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < 1 || x > 65535) {
        snprintf(why, whylen, "expected a TCP port from 1 to 65535");
        return -1;
    }
    h->port = (uint16_t)x;
    return 0;
}

static int set_path(char *dst, size_t len, const char *v, char *why, size_t whylen)
{
    if (v[0] == '~') { /* no shell expands it: access() here, a quoted word there */
        snprintf(why, whylen, "'%s': a leading '~' is not expanded; give the full path", v);
        return -1;
    }
    if (!plain(v, "/._-+~") || strlen(v) >= len) {
        snprintf(why, whylen, "expected a file path of letters, digits and '/._-+~', not starting "
                              "with '-' (at most %zu characters)",
                 len - 1);
        return -1;
    }
    snprintf(dst, len, "%s", v);
    return 0;
}

static int set_identity(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    return set_path(h->identity, sizeof h->identity, v, why, whylen);
}

static int set_known_hosts(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    return set_path(h->known_hosts, sizeof h->known_hosts, v, why, whylen);
}

static int set_bin(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    return set_path(h->bin, sizeof h->bin, v, why, whylen);
}

static int set_copy_bin(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    if (strcmp(v, "yes") == 0) h->copy_bin = 1;
    else if (strcmp(v, "no") == 0) h->copy_bin = 0;
    else {
        snprintf(why, whylen, "expected yes or no");
        return -1;
    }
    return 0;
}

static int set_cpu(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < -1 || x > 1023) {
        snprintf(why, whylen, "expected a CPU number from 0 to 1023, or -1 for the suite's");
        return -1;
    }
    h->cpu = (int)x;
    return 0;
}

static int set_iface(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    if (!plain(v, "._-@:") || strlen(v) >= sizeof h->iface) {
        snprintf(why, whylen, "expected an interface name (1 to %zu letters, digits, '.', '_', "
                              "'-', '@', ':')",
                 sizeof h->iface - 1);
        return -1;
    }
    snprintf(h->iface, sizeof h->iface, "%s", v);
    return 0;
}

static int set_ip(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    const char *slash = strchr(v, '/');
    char addr[32];
    struct in_addr a;
    char *end;
    long len = -1;
    if (slash && (size_t)(slash - v) < sizeof addr) {
        snprintf(addr, sizeof addr, "%.*s", (int)(slash - v), v);
        errno = 0;
        len = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || errno) len = -1;
    }
    if (len < 1 || len > 32 || inet_pton(AF_INET, addr, &a) != 1) {
        snprintf(why, whylen, "expected an IPv4 ADDRESS/LENGTH, e.g. 198.18.0.2/24 (length 1..32)");
        return -1;
    }
    snprintf(h->ip, sizeof h->ip, "%s", addr);
    h->prefix = (int)len;
    return 0;
}

static int set_pci(struct suite_host *h, const char *v, char *why, size_t whylen)
{
    unsigned d, b, s, f;
    char tail;
    if (!(sscanf(v, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &f, &tail) == 4 ||
          sscanf(v, "%2x:%2x.%1x%c", &b, &s, &f, &tail) == 3) ||
        strlen(v) >= sizeof h->pci) {
        snprintf(why, whylen, "expected a PCI address DOMAIN:BUS:DEVICE.FUNCTION, e.g. "
                              "0000:3b:00.0");
        return -1;
    }
    snprintf(h->pci, sizeof h->pci, "%s", v);
    return 0;
}

static const struct host_key host_keys[] = {
    {"ssh", NULL, "USER@ADDRESS the harness logs in to (the control address)", set_ssh},
    {"port", "22", "ssh port, 1..65535", set_port},
    {"identity", "-", "private key file for ssh -i (default: ssh's own keys and agent)",
     set_identity},
    {"known_hosts", "-",
     "known-hosts file (UserKnownHostsFile; default ssh's own): BatchMode never asks to "
     "accept a host key",
     set_known_hosts},
    {"bin", "bypassbench", "bypassbench on that host (a bare name: its PATH)", set_bin},
    {"copy_bin", "no",
     "yes | no: when that host's bypassbench --version differs from this one's, copy this "
     "binary to bin with scp (no: refuse to run)",
     set_copy_bin},
    {"cpu", "-1", "the core its side is pinned to; -1 = the suite's dut_cpu or gen_cpu", set_cpu},
    {"iface", NULL, "the data-plane interface", set_iface},
    {"ip", NULL,
     "the data-plane ADDRESS/LENGTH: on iface for the kernel's sockets, our stack's "
     "(and off iface) for the others; the generator targets the DUT host's",
     set_ip},
    {"pci", "-", "the NIC's PCI address: the dpdk driver's port there (EAL -a), e.g. 0000:3b:00.0",
     set_pci},
    {NULL, NULL, NULL, NULL},
};

void suite_host_defaults(struct suite_host *h, const char *name)
{
    memset(h, 0, sizeof *h);
    snprintf(h->name, sizeof h->name, "%s", name);
    h->port = 22;
    h->cpu = -1;
    snprintf(h->bin, sizeof h->bin, "bypassbench");
}

int suite_host_set(struct suite_host *h, const char *key, const char *value, char *why,
                   size_t whylen)
{
    for (const struct host_key *k = host_keys; k->key; k++)
        if (strcmp(k->key, key) == 0) return k->set(h, value, why, whylen);
    size_t off = 0;
    int n = snprintf(why, whylen, "unknown key '%s' in [host %s] (known: ", key, h->name);
    off = n > 0 ? (size_t)n : 0;
    for (const struct host_key *k = host_keys; k->key && off < whylen; k++) {
        n = snprintf(why + off, whylen - off, "%s%s", k == host_keys ? "" : ", ", k->key);
        if (n > 0) off += (size_t)n;
    }
    if (off < whylen) snprintf(why + off, whylen - off, ")");
    return -1;
}

int suite_host_complete(const struct suite_host *h, char *why, size_t whylen)
{
    const char *miss = !h->ssh[0] ? "ssh" : !h->iface[0] ? "iface" : !h->ip[0] ? "ip" : NULL;
    if (!miss) return 0;
    snprintf(why, whylen, "[host %s] has no '%s' (required: ssh, iface, ip)", h->name, miss);
    return -1;
}

const struct suite_host *suite_host_find(const struct suite *s, const char *name)
{
    for (int i = 0; i < s->nhosts; i++)
        if (strcmp(s->hosts[i].name, name) == 0) return &s->hosts[i];
    return NULL;
}

void suite_host_print_help(FILE *f)
{
    fprintf(f, "\n[host NAME]       a machine driven over OpenSSH (BatchMode: keys, no prompts); "
               "[suite] dut_host\n                  and gen_host name two of them\n");
    for (const struct host_key *k = host_keys; k->key; k++)
        fprintf(f, "  %-14s %-12s %s\n", k->key, k->def ? k->def : "(required)", k->help);
}
