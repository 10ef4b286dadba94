/*
 * genflags.c — the generator's flags shared by load and pair (see genflags.h).
 * Callers: harness/cli/load.c, harness/cli/pair.c. Calls: wl_spec_set.
 */
#include "harness/cli/genflags.h"

const char genflags_help[] =
    "  -c, --connections N  concurrent connections (default 64)\n"
    "  -d, --duration DUR   measured window (default 10s; units us, ms, s, m, h)\n"
    "      --warmup DUR     warm-up before the window, not counted (default 2s)\n"
    "  -R, --rate RATE      open loop at RATE requests/s in total (units k, m); latency\n"
    "                       is measured from each request's intended send time\n"
    "      --pipeline N     requests in flight per connection (default 1)\n"
    "      --close          a new connection per request (connections/s mode)\n"
    "      --download       download mode: -n requests (default 1) over -c connections\n"
    "                       (default 1), timed and checked byte for byte\n"
    "  -n, --requests N     stop after N measured requests (units k, m)\n"
    "      --timeout DUR    a request with no progress this long is an error (default 10s);\n"
    "                       after the window, in-flight requests get min(DUR, 1s) to be\n"
    "                       answered, then count as 'unanswered' errors\n";

int genflags_apply(struct genflags *g, struct wl_spec *spec, int c, const char *optarg, char *err,
                   size_t errlen)
{
    static const struct {
        int c;
        const char *key;
    } keymap[] = {
        {'c', "connections"}, {'d', "duration"}, {'W', "warmup"},  {'R', "rate"},
        {'P', "pipeline"},    {'n', "requests"}, {'T', "timeout"},
    };
    switch (c) {
    case 'X': spec->mode = WL_CPS, g->mode_set = 1; return 1;
    case 'L': spec->mode = WL_DOWNLOAD, g->mode_set = 1; return 1;
    }
    for (size_t k = 0; k < sizeof(keymap) / sizeof(keymap[0]); k++) {
        if (keymap[k].c != c) continue;
        if (wl_spec_set(spec, keymap[k].key, optarg, err, errlen) < 0) return -1;
        if (c == 'R' && !g->mode_set) spec->mode = WL_OPEN;
        if (c == 'c') g->conns_set = 1;
        return 1;
    }
    return 0;
}

void genflags_finish(const struct genflags *g, struct wl_spec *spec)
{
    if (spec->mode == WL_DOWNLOAD && !g->conns_set) spec->connections = 1;
}
