/*
 * harness/cli/cli.c — helpers shared by the subcommands: signals, addresses, JSON output.
 */
#include "harness/cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
}

void cli_on_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > 65535) return -1;
    *port = (uint16_t)v;
    return 0;
}

int cli_parse_addr(const char *s, struct sockaddr_in *out, char *err, size_t errlen)
{
    char host[64] = "0.0.0.0";
    const char *colon = strrchr(s, ':');
    const char *port = colon ? colon + 1 : s;
    uint16_t p;
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    if (colon && colon != s) {
        size_t n = (size_t)(colon - s);
        if (n >= sizeof(host)) goto bad;
        memcpy(host, s, n);
        host[n] = 0;
    }
    if (parse_port(port, &p) < 0) goto bad;
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1) goto bad;
    out->sin_port = htons(p);
    return 0;
bad:
    snprintf(err, errlen, "bad address '%s': expected ADDR:PORT with an IPv4 address", s);
    return -1;
}

int cli_parse_url(const char *url, struct sockaddr_in *dst, char *host, size_t hostlen, char *path,
                  size_t pathlen, char *err, size_t errlen)
{
    const char *p = url;
    char hostport[128];
    if (strncmp(p, "http://", 7) != 0) {
        snprintf(err, errlen, "bad URL '%s': only http:// URLs are supported", url);
        return -1;
    }
    p += 7;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= sizeof(hostport)) {
        snprintf(err, errlen, "bad URL '%s': missing or too long host", url);
        return -1;
    }
    memcpy(hostport, p, n);
    hostport[n] = 0;
    const char *rest = p[n] ? p + n : "/";
    if (strlen(rest) >= pathlen) {
        snprintf(err, errlen, "bad URL '%s': path too long", url);
        return -1;
    }
    strcpy(path, rest);
    snprintf(host, hostlen, "%s", hostport);
    char withport[160];
    snprintf(withport, sizeof(withport), "%s%s", hostport, strchr(hostport, ':') ? "" : ":80");
    if (cli_parse_addr(withport, dst, err, errlen) < 0) {
        snprintf(err, errlen, "bad URL '%s': host must be an IPv4 address or localhost", url);
        return -1;
    }
    return 0;
}
