/*
 * plot_axes.c — the axes of the figures (see plot.h, plot_int.h): from a
 * panel's values, a gnuplot command choosing a log or linear scale, the range
 * and every tick with an exact, distinct label.
 *
 * Callers: plot.c (panel_axes, the loadlat figure's x axis), tests.
 * Calls: libc only.
 */
#include "harness/analysis/plot.h"
#include "harness/analysis/plot_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A tick label that says the tick's value exactly: "0", "500k", "1.5M",
 * "0.05", and under 0.01 a power of ten as 10^{-3} (gnuplot's enhanced text)
 * (SI prefix k, M, G; %g keeps every digit a 1-2-5 step has), so two ticks
 * never read alike. */
static void tick_label(double v, int log_axis, char *buf, size_t len)
{
    static const struct {
        double scale;
        const char *prefix;
    } si[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    double a = fabs(v);
    for (size_t i = 0; i < sizeof si / sizeof si[0]; i++)
        if (a >= si[i].scale) {
            snprintf(buf, len, "%.6g%s", v / si[i].scale, si[i].prefix);
            return;
        }
    if (log_axis && a > 0 && a < 0.01) { /* 10^{-5} (typeset as a power), not "1e-05" */
        double e = log10(a);
        if (fabs(e - round(e)) < 1e-9) {
            snprintf(buf, len, "%s10^{%d}", v < 0 ? "-" : "", (int)round(e));
            return;
        }
    }
    if (a > 0 && a < 1e-3) { /* "0.00002", not "2e-05": every digit, no exponent */
        int d = (int)ceil(-log10(a) - 1e-9) + 6;
        snprintf(buf, len, "%.*f", d > 15 ? 15 : d, v);
        for (char *z = buf + strlen(buf) - 1; z > buf && *z == '0'; z--)
            *z = '\0';
        return;
    }
    snprintf(buf, len, "%.6g", v);
}

__attribute__((format(printf, 3, 4))) static void append(char *out, size_t len, const char *fmt_,
                                                         ...)
{
    size_t n = strlen(out);
    va_list ap;
    va_start(ap, fmt_);
    if (n < len) vsnprintf(out + n, len - n, fmt_, ap);
    va_end(ap);
}

static void add_tick(char *out, size_t len, double v, int log_axis, int minor, int *first)
{
    char l[32] = "";
    if (!minor) tick_label(v, log_axis, l, sizeof l);
    size_t n = strlen(out);
    if (n < len)
        snprintf(out + n, len - n, "%s\"%s\" %.10g%s", *first ? "" : ", ", l, v, minor ? " 1" : "");
    *first = 0;
}

/* The y axis of a panel whose values (medians and interval ends, NAN
 * skipped) are v[0..n): a gnuplot command that sets its scale, range and
 * every tick with its exact label. Log (base 10, ticks at 1, 2, 5 x 10^k when
 * it spans up to two decades, else at the powers of ten, minor ticks at the
 * others) when the positive values span more than a decade; else linear from
 * 0 in steps of 1, 2 or 5 x 10^k. Zeros on a log axis sit at its floor, a
 * decade under the smallest positive value; force_log: log whatever the
 * span. The command also sets yfloor, the axis's bottom (where a script
 * writes "0" over a zero bar). Returns 1 when log. */
int plot_axis_cmd(const double *v, size_t n, int force_log, char *out, size_t len)
{
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        if (v[i] > 0 && v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    int first = 1;
    out[0] = '\0';
    if (hi > 0 && isfinite(lo) && (hi / lo > 10 || force_log)) {
        int e0 = (int)floor(log10(lo) + 1e-9), e1 = (int)ceil(log10(hi) - 1e-9);
        if (e1 <= e0) e1 = e0 + 1;
        int fine = e1 - e0 <= 2;
        /* The range a hair wider than its end ticks: gnuplot drops a tick
         * that falls exactly on a log axis's end. */
        append(out, len, "set logscale y 10; set yrange [%.10g:%.10g]; set ytics (",
               pow(10, e0) * (1 - 1e-6), pow(10, e1) * (1 + 1e-6));
        for (int e = e0; e <= e1; e++)
            for (int m = 1; m <= 9 && (e < e1 || m == 1); m++) {
                double t = m * pow(10, e);
                int major = m == 1 || (fine && (m == 2 || m == 5));
                add_tick(out, len, t, 1, !major, &first);
            }
        append(out, len, "); yfloor = %.10g", pow(10, e0)); /* where a zero sits */
        return 1;
    }
    double top = hi > 0 ? hi : 1;
    double raw = top / 5, mag = pow(10, floor(log10(raw))), step;
    double r = raw / mag;
    step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
    double ymax = hi > 0 ? ceil(top * 1.04 / step - 1e-9) * step : 1;
    append(out, len, "unset logscale y; set yrange [%.10g:%.10g]; set ytics (", -ymax * 1e-6,
           ymax * (1 + 1e-6));
    for (int k = 0; k * step <= ymax * (1 + 1e-9); k++)
        add_tick(out, len, k * step, 0, 0, &first);
    append(out, len, "); yfloor = 0");
    return 0;
}

int plot_axis_x(const double *v, size_t n, char *out, size_t len)
{
    int lg = plot_axis_cmd(v, n, 0, out, len);
    for (char *p = out; (p = strstr(p, " y")) != NULL; p++) /* logscale y */
        p[1] = 'x';
    for (char *p = out; (p = strstr(p, "yrange")) != NULL; p++)
        *p = 'x';
    for (char *p = out; (p = strstr(p, "ytics")) != NULL; p++)
        *p = 'x';
    return lg;
}
