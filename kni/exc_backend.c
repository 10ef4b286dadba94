/*
 * exc_backend.c — the exception-path backend table (DESIGN §7) in the order
 * they are tried (rte_kni, virtio_user, tap), the choice by name or "auto",
 * and the report of which one runs and why the earlier ones do not.
 *
 * Callers: drivers/ustack/netio_dpdk.c (exc= option), harness/run/doctor.c
 * (exc_report). Calls: each backend's usable().
 */
#include "kni/exc.h"

#include <stdio.h>
#include <string.h>

/* Every backend name in order; NULL ops = left out of this build. */
static const struct {
    const char *name;
    const struct exc_backend_ops *ops;
    const char *missing; /* why it is not in this build */
} backends[] = {
#if defined(HAVE_DPDK) && defined(HAVE_RTE_KNI)
    {"rte_kni", &exc_rte_kni_ops, NULL},
#else
    {"rte_kni", NULL, "not built: Debian's DPDK has no librte_kni; make kni-lib && make KNI=1"},
#endif
    {"virtio_user", &exc_virtio_user_ops, NULL},
    {"tap", &exc_tap_ops, NULL},
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static void add(char *report, size_t len, const char *name, const char *verdict)
{
    size_t n = strlen(report);
    if (n + 1 < len) snprintf(report + n, len - n, "%s%s %s", n ? "; " : "", name, verdict);
}

const struct exc_backend_ops *exc_choose(const char *mode, char *report, size_t len)
{
    char why[256], verdict[300];
    if (!report || !len) return NULL;
    report[0] = '\0';
    if (!mode || !*mode) mode = "auto";
    if (strcmp(mode, "off") == 0) {
        snprintf(report, len, "off");
        return NULL;
    }
    int any = strcmp(mode, "auto") == 0, known = any;
    for (size_t i = 0; i < NBACKENDS; i++) {
        int named = strcmp(mode, backends[i].name) == 0 ||
                    (strcmp(mode, "virtio-user") == 0 && strcmp(backends[i].name, "virtio_user") == 0);
        if (!any && !named) continue;
        known = 1;
        if (!backends[i].ops) {
            snprintf(verdict, sizeof(verdict), "no (%s)", backends[i].missing);
            add(report, len, backends[i].name, verdict);
            continue;
        }
        why[0] = '\0';
        if (backends[i].ops->usable && backends[i].ops->usable(why, sizeof(why)) < 0) {
            snprintf(verdict, sizeof(verdict), "no (%s)", *why ? why : "not usable here");
            add(report, len, backends[i].name, verdict);
            continue;
        }
        add(report, len, backends[i].name, "yes");
        return backends[i].ops;
    }
    if (!known)
        snprintf(report, len, "unknown exception path '%s' (auto, rte_kni, virtio_user, tap, off)",
                 mode);
    else
        add(report, len, "=>", "none can run");
    return NULL;
}

const char *exc_report(char *buf, size_t len)
{
    exc_choose("auto", buf, len);
    return buf;
}
