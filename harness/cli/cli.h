/*
 * cli.h — helpers shared by the bypassbench subcommands (harness/cli_*.c):
 * the stop flag set by SIGINT/SIGTERM, address parsing; the subcommands.
 */
#ifndef BB_CLI_H
#define BB_CLI_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>

extern volatile sig_atomic_t cli_stop; /* set by SIGINT/SIGTERM after cli_on_signals() */
void cli_on_signals(void);

/* "ADDR:PORT" or ":PORT" or "PORT" (IPv4). 0 or -1 with err. */
int cli_parse_addr(const char *s, struct sockaddr_in *out, char *err, size_t errlen);
/* http://HOST[:PORT]/path with HOST an IPv4 literal or localhost. */
int cli_parse_url(const char *url, struct sockaddr_in *dst, char *host, size_t hostlen, char *path,
                  size_t pathlen, char *err, size_t errlen);

/* Subcommands (one file each). argv[0] is the subcommand name. */
int cmd_serve(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_topo(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_pair(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_pdump(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_sysinfo(int argc, char **argv);

#endif
