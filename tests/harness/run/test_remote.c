/*
 * test_remote.c — runs across hosts without a host: the [host NAME] section
 * and dut_host/gen_host of a suite (harness/run/suite.c, suite_host.c), each
 * error with its FILE:LINE; the plan rewritten for two hosts (remote_plan);
 * the shell quoting of remote command lines (remote_quote).
 * The ssh side itself is tests/integration/96_hosts_ssh.sh.
 */
#include "harness/run/remote.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char hosts_ini[] = "[suite]\n"
                                "drivers = kernel,afpacket,dpdk\n"
                                "dut_cpu = 1\n"
                                "gen_cpu = 0\n"
                                "%s"
                                "[workload ka]\n"
                                "path = /bytes/64\n"
                                "[host dut]\n"
                                "ssh = root@192.0.2.7\n"
                                "port = 2200\n"
                                "identity = /keys/id_ed25519\n"
                                "bin = /opt/bb/bypassbench\n"
                                "cpu = 5\n"
                                "iface = enp3s0f0\n"
                                "ip = 10.9.0.2/24\n"
                                "pci = 0000:3b:00.0\n"
                                "[host gen]\n"
                                "ssh = bench@loadbox.example\n"
                                "iface = eth1\n"
                                "ip = 10.9.0.1/24\n"
                                "%s";

static struct suite S;

static int load(const char *suite_extra, const char *tail, char *err, size_t errlen)
{
    char text[4096];
    snprintf(text, sizeof text, hosts_ini, suite_extra, tail);
    return suite_load_string(text, "h.ini", &S, err, errlen);
}

static void expect_err(const char *suite_extra, const char *tail, const char *prefix,
                       const char *has)
{
    char err[1024] = "";
    cr_assert_eq(load(suite_extra, tail, err, sizeof err), -1, "accepted; expected '%s'", prefix);
    cr_expect_eq(strncmp(err, prefix, strlen(prefix)), 0, "'%s' does not start with '%s'", err,
                 prefix);
    if (has) cr_expect(strstr(err, has) != NULL, "'%s' lacks '%s'", err, has);
}

Test(hosts, parsed_with_defaults)
{
    char err[1024] = "";
    cr_assert_eq(load("dut_host = dut\ngen_host = gen\n", "", err, sizeof err), 0, "%s", err);
    cr_assert_eq(S.nhosts, 2);
    cr_expect_str_eq(S.dut_host, "dut");
    cr_expect_str_eq(S.gen_host, "gen");
    const struct suite_host *d = suite_host_find(&S, "dut"), *g = suite_host_find(&S, "gen");
    cr_assert(d && g);
    cr_expect_str_eq(d->user, "root");
    cr_expect_str_eq(d->addr, "192.0.2.7");
    cr_expect_eq(d->port, 2200);
    cr_expect_str_eq(d->identity, "/keys/id_ed25519");
    cr_expect_eq(d->identity_line, 12);
    cr_expect_eq(d->line, 9);
    cr_expect_eq(d->cpu, 5);
    cr_expect_str_eq(d->ip, "10.9.0.2");
    cr_expect_eq(d->prefix, 24);
    cr_expect_str_eq(d->pci, "0000:3b:00.0");
    cr_expect_str_eq(g->addr, "loadbox.example");
    cr_expect_eq(g->port, 22);           /* defaults */
    cr_expect_str_eq(g->bin, "bypassbench");
    cr_expect_eq(g->cpu, -1);
    cr_expect_eq(g->copy_bin, 0);
    cr_expect_str_eq(g->identity, "");
    cr_expect_null(suite_host_find(&S, "nope"));
    suite_free(&S);
}

Test(hosts, no_hosts_named_is_this_machine)
{
    char err[1024] = "";
    cr_assert_eq(load("", "", err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(S.dut_host, "");
    cr_expect_eq(S.nhosts, 2);
    suite_free(&S);
}

Test(hosts_errors, each_names_file_line_and_what)
{
    expect_err("dut_host = nope\ngen_host = gen\n", "", "h.ini:5: ", "no [host nope] section");
    expect_err("dut_host = dut\ngen_host = other\n", "", "h.ini:6: ", "gen_host 'other'");
    expect_err("dut_host = dut\n", "", "h.ini:5: ", "go together");
    expect_err("dut_host = dut\ngen_host = dut\n", "", "h.ini:6: ", "the same host");
    expect_err("", "colour = red\n", "h.ini:20: ", "unknown key 'colour' in [host gen]");
    expect_err("", "ip = 10.9.0.300/24\n", "h.ini:20: ", "duplicate key 'ip'");
    expect_err("", "[host x]\nssh = root@10.1.1\niface = e\nip = 10.0.0.1/8\n", "h.ini:21: ",
               "bad address '10.1.1'");
    expect_err("", "[host x]\nssh = -oProxyCommand=x\n", "h.ini:21: ", "USER@ADDRESS");
    expect_err("", "[host x]\nssh = root@-oProxyCommand=x\n", "h.ini:21: ", "bad address");
    expect_err("", "[host x]\nip = 10.0.0.1\n", "h.ini:21: ", "ADDRESS/LENGTH");
    expect_err("", "[host x]\nip = 10.0.0.1/33\n", "h.ini:21: ", "ADDRESS/LENGTH");
    expect_err("", "[host x]\nport = 0\n", "h.ini:21: ", "TCP port");
    expect_err("", "[host x]\nidentity = my key\n", "h.ini:21: ", "file path");
    expect_err("", "[host x]\nbin = ~/bb/bypassbench\n", "h.ini:21: ", "leading '~'");
    expect_err("", "[host x]\nidentity = ~/.ssh/id\n", "h.ini:21: ", "leading '~'");
    expect_err("", "[host x]\npci = 3b:00\n", "h.ini:21: ", "PCI address");
    expect_err("", "[host x]\ncopy_bin = maybe\n", "h.ini:21: ", "yes or no");
    expect_err("", "[host x]\nssh = a@b\n", "h.ini:20: ", "[host x] has no 'iface'");
    expect_err("", "[host gen]\n", "h.ini:20: ", "duplicate [host gen] (first at line 16)");
    expect_err("", "[host Big]\n", "h.ini:20: ", "bad host name 'Big'");
    expect_err("dut_host = dut\ngen_host = gen\ncapture = on\n", "", "h.ini:5: ",
               "capture = on is not supported across hosts");
    expect_err("dut_host = dut\ngen_host = gen\nlink = tap\n", "", "h.ini:5: ",
               "links of one machine");
    expect_err("dut_host = dut\ngen_host = gen\ndut = client\n", "", "h.ini:7: ",
               "dut = client is not supported across hosts");
}

Test(hosts, ipv6_and_host_names_accepted)
{
    char err[1024] = "";
    cr_assert_eq(load("", "[host v6]\nssh = root@2001:db8::7\niface = e\nip = 10.0.0.1/8\n"
                          "[host named]\nssh = u@box-7.lab\niface = e\nip = 10.0.0.2/8\n",
                      err, sizeof err),
                 0, "%s", err);
    cr_expect_str_eq(suite_host_find(&S, "v6")->addr, "2001:db8::7");
    cr_expect_str_eq(suite_host_find(&S, "named")->addr, "box-7.lab");
    suite_free(&S);
}

Test(remote, quote_survives_the_remote_shell)
{
    char buf[256];
    char *av[] = {"/opt/bb", "it's", "a b", "$(x)", NULL};
    cr_assert_eq(remote_quote(av, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "'/opt/bb' 'it'\\''s' 'a b' '$(x)'");
    char small[8];
    cr_expect_eq(remote_quote(av, small, sizeof small), -1);
}

static const char *joined(char *const *argv)
{
    static char buf[8192];
    buf[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        if (i) strcat(buf, " ");
        strcat(buf, argv[i]);
    }
    return buf;
}

#define HAS(argv, s) cr_expect(strstr(joined(argv), s) != NULL, "'%s' lacks '%s'", joined(argv), s)
#define LACKS(argv, s) cr_expect(strstr(joined(argv), s) == NULL, "'%s' has '%s'", joined(argv), s)

static struct trial_plan P;

/* The plan of entry with the hosts' cores, rewritten by remote_plan. */
static void plan_for(const char *entry, const char *host_tail)
{
    static struct remote dut, gen;
    static struct suite rs;
    static char rs_json[PATH_MAX], rc_json[PATH_MAX];
    static int has_addr;
    static volatile sig_atomic_t stop;
    char err[1024] = "";
    cr_assert_eq(load("dut_host = dut\ngen_host = gen\n", host_tail, err, sizeof err), 0, "%s",
                 err);
    memset(&dut, 0, sizeof dut);
    memset(&gen, 0, sizeof gen);
    dut.h = suite_host_find(&S, "dut");
    gen.h = suite_host_find(&S, "gen");
    snprintf(dut.rdir, sizeof dut.rdir, "/tmp/bb-remote.D");
    snprintf(gen.rdir, sizeof gen.rdir, "/tmp/bb-remote.G");
    rs = S;
    rs.dut_cpu = dut.h->cpu; /* as run.c does */
    struct trial_ctx c = {.suite = &rs, .self = "/here/bb", .dir = "/r", .dut_has_addr = &has_addr,
                          .stop = &stop};
    trial_plan(&P, &c, &S.workloads[0], entry, 1, 1);
    remote_plan(&P, &dut, &gen, rs.port, &S.workloads[0], rs_json, rc_json);
}

Test(remote_plan, kernel_each_side_on_its_host)
{
    plan_for("kernel", "");
    cr_expect_str_eq(P.sargv[0], "/opt/bb/bypassbench");
    cr_expect_str_eq(P.cargv[0], "bypassbench");
    HAS(P.sargv, "serve --driver kernel --listen 10.9.0.2:8080");
    HAS(P.sargv, "--json /tmp/bb-remote.D/ka-kernel-r1.server.json");
    HAS(P.sargv, "--cpu 5");
    LACKS(P.sargv, "--iface");
    HAS(P.cargv, "--json /tmp/bb-remote.G/ka-kernel-r1.client.json");
    HAS(P.cargv, "--window-iface eth1");
    HAS(P.cargv, "--cpu 0");
    cr_expect_str_eq(P.cargv[0 + 0], "bypassbench");
    HAS(P.cargv, "http://10.9.0.2:8080/bytes/64");
    LACKS(P.sargv, "bb-dut0");
    LACKS(P.cargv, "bb-gen0");
    LACKS(P.cargv, "198.18.");
    /* the local files stay where the record reads them */
    cr_expect_str_eq(P.sjson, "/r/logs/ka-kernel-r1.server.json");
    cr_expect_str_eq(P.tl.dut_ip, "10.9.0.2");
    suite_free(&S);
}

Test(remote_plan, our_stack_on_the_hosts_iface)
{
    plan_for("afpacket", "");
    HAS(P.sargv, "--driver afpacket");
    HAS(P.sargv, "--iface enp3s0f0 --ip 10.9.0.2/24");
    suite_free(&S);
}

Test(remote_plan, dpdk_on_the_pci_nic_or_the_iface)
{
    plan_for("dpdk", "");
    HAS(P.sargv, "--opt eal=-l 5 --in-memory -a 0000:3b:00.0");
    LACKS(P.sargv, "net_af_packet0");
    suite_free(&S);
    /* no pci: net_af_packet on the host's iface */
    char text[4096], err[1024] = "";
    snprintf(text, sizeof text, hosts_ini, "dut_host = gen\ngen_host = dut\n", "");
    cr_assert_eq(suite_load_string(text, "h.ini", &S, err, sizeof err), 0, "%s", err);
    static struct remote d, g;
    static char a[PATH_MAX], b[PATH_MAX];
    static int has_addr;
    static volatile sig_atomic_t stop;
    memset(&d, 0, sizeof d);
    memset(&g, 0, sizeof g);
    d.h = suite_host_find(&S, "gen");
    g.h = suite_host_find(&S, "dut");
    struct trial_ctx c = {.suite = &S, .self = "/here/bb", .dir = "/r", .dut_has_addr = &has_addr,
                          .stop = &stop};
    trial_plan(&P, &c, &S.workloads[0], "dpdk", 1, 1);
    remote_plan(&P, &d, &g, S.port, &S.workloads[0], a, b);
    HAS(P.sargv, "--opt vdev=net_af_packet0,iface=eth1");
    HAS(P.sargv, "--listen 10.9.0.1:8080");
    suite_free(&S);
}
