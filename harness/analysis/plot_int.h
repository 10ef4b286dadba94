/*
 * plot_int.h — what plot.c shares with plot_axes.c and plot_latex.c (not
 * part of the plot API, plot.h).
 * Callers: harness/analysis/plot*.c.
 */
#ifndef BB_PLOT_INT_H
#define BB_PLOT_INT_H

#include <stddef.h>

/* plot_axis_cmd (plot.h) for the x axis: xrange, xtics, logscale x. */
int plot_axis_x(const double *v, size_t n, char *out, size_t len);
/* src for LaTeX (cairolatex typesets every label) into dst: _ % & #
 * escaped, "≥" as math, a power of ten 10^{k} in math mode; quoted: src
 * holds gnuplot double-quoted strings, where a backslash must be doubled. */
void plot_latexify(const char *src, char *dst, size_t len, int quoted);
/* latex_dir/figures.tex: with_data[i] says figure i (plot_figure_name) has
 * data and goes in. 0, or -1 with err. */
int plot_write_figures_tex(const char *latex_dir, const int *with_data, char *err, size_t errlen);

#endif
