/*
 * plot_latex.c — `bypassbench plot --latex` (see plot.h): the strings
 * cairolatex hands to LaTeX, escaped, and plots/latex/figures.tex, which
 * includes every figure and compiles alone.
 *
 * Callers: plot.c (draw, plot_run). Calls: libc only.
 */
#include "harness/analysis/plot.h"
#include "harness/analysis/plot_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PATH_LEN 4096

/* A string for LaTeX (cairolatex typesets every label): _ % & # escaped,
 * "≥" as math, a power of ten 10^{k} (a log axis's tick) in math mode.
 * quoted: src holds gnuplot "double-quoted" strings (tick labels), where a
 * backslash must be doubled to reach LaTeX. */
void plot_latexify(const char *src, char *dst, size_t len, int quoted)
{
    size_t n = 0;
    const char *geq = "≥";
    for (const char *p = src; *p && n + 1 < len; p++) {
        const char *e = strncmp(p, "10^{", 4) == 0 ? strchr(p, '}') : NULL;
        if (e) {
            n += (size_t)snprintf(dst + n, len - n, "$%.*s$", (int)(e - p + 1), p);
            p = e;
        } else if (strncmp(p, geq, strlen(geq)) == 0) {
            n += (size_t)snprintf(dst + n, len - n, quoted ? "$\\\\geq$" : "$\\geq$");
            p += strlen(geq) - 1;
        } else if (*p == '_' || *p == '%' || *p == '&' || *p == '#') {
            n += (size_t)snprintf(dst + n, len - n, quoted ? "\\\\%c" : "\\%c", *p);
        } else {
            dst[n++] = *p;
        }
    }
    dst[n < len ? n : len - 1] = '\0';
}

/* latex/figures.tex: a document that compiles alone (pdflatex figures.tex)
 * and shows how a paper takes each figure: \input{<name>-1col.tex} in a
 * figure, -2col in a figure*, with graphicx and color loaded. Figures with
 * no data are left out. */
int plot_write_figures_tex(const char *latex_dir, const int *with_data, char *err, size_t errlen)
{
    char path[PATH_LEN + 64], cap[512];
    snprintf(path, sizeof path, "%s/figures.tex", latex_dir);
    FILE *t = fopen(path, "w");
    if (!t) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    fprintf(t, "%% figures.tex -- bypassbench's figures typeset by LaTeX (gnuplot cairolatex):\n"
               "%% each <name>-1col.tex (3.5 in, a column) and <name>-2col.tex (7 in, a page)\n"
               "%% with its <name>-<n>col.pdf. In a paper: \\usepackage{graphicx,color}, then\n"
               "%% \\input{<name>-1col.tex} inside a figure (with \\graphicspath if the files\n"
               "%% sit elsewhere). This file compiles alone: pdflatex figures.tex.\n"
               "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n"
               "\\usepackage[T1]{fontenc}\n\\usepackage{graphicx,color}\n"
               "\\setlength{\\textwidth}{7in}\\setlength{\\oddsidemargin}{-0.25in}\n"
               "\\setlength{\\evensidemargin}{-0.25in}\n\\begin{document}\n");
    for (size_t i = 0; plot_figure_name(i); i++) {
        if (!with_data[i]) continue;
        const char *name = plot_figure_name(i);
        plot_latexify(plot_figure_caption(i), cap, sizeof cap, 0);
        fprintf(t,
                "\\begin{figure}[p]\\centering\n\\input{%s-1col.tex}\n\\caption{%s (column "
                "width)}\\label{fig:bb-%s}\n\\end{figure}\n",
                name, cap, name);
        fprintf(t,
                "\\begin{figure*}[p]\\centering\n\\input{%s-2col.tex}\n\\caption{%s (page "
                "width)}\\label{fig:bb-%s-2col}\n\\end{figure*}\n\\clearpage\n",
                name, cap, name);
    }
    fprintf(t, "\\end{document}\n");
    int bad = ferror(t) != 0;
    bad |= fclose(t) != 0;
    if (bad) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
