/*
 * harness/cli/report.c — `bypassbench plot DIR` (every figure of a results directory
 * into DIR/plots/) and `bypassbench report DIR` (the figures, then
 * DIR/REPORT.md). Calls: plot.c, report.c.
 */
#include "harness/analysis/plot.h"
#include "harness/analysis/report.h"
#include "harness/analysis/results.h"
#include "harness/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void plot_usage(FILE *f)
{
    fprintf(f, "usage: bypassbench plot DIR [OPTIONS]\n"
               "  every figure of a results directory: DIR/plots/<name>.csv, then\n"
               "  <name>-1col (3.5 in) and -2col (7 in) as PDF, SVG and PNG (gnuplot)\n"
               "  --scripts DIR   gnuplot scripts (default: ./plots, else next to the binary)\n"
               "  --gnuplot PATH  the gnuplot binary (default: gnuplot from PATH)\n"
               "  --csv-only      write the CSVs only\n"
               "  --latex         also DIR/plots/latex/: every figure through gnuplot's cairolatex\n"
               "                  (<name>-{1,2}col.tex + .pdf: text typeset by LaTeX in the\n"
               "                  paper's fonts) and figures.tex, which includes them and\n"
               "                  compiles alone (pdflatex; Debian texlive-latex-base)\n");
}

static void report_usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench report DIR [OPTIONS]\n"
            "  draws the figures (as `bypassbench plot`), then writes DIR/REPORT.md\n"
            "  --noisy-cv X    flag a metric whose CV exceeds X (default %.2f)\n"
            "  --gen-bound X   flag a trial whose generator CPU use exceeds X (default %.2f)\n"
            "  --no-plot       do not draw the figures (link whatever DIR/plots holds)\n"
            "  --scripts DIR   gnuplot scripts (default: ./plots, else next to the binary)\n",
            RESULTS_NOISY_CV, REPORT_GEN_BOUND);
}

static int parse_fraction(const char *opt, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0 && v < 100)) {
        fprintf(stderr, "report: %s: '%s' is not a positive number\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_plot(int argc, char **argv)
{
    static const struct option opts[] = {{"scripts", 1, 0, 's'},
                                         {"gnuplot", 1, 0, 'g'},
                                         {"csv-only", 0, 0, 'c'},
                                         {"latex", 0, 0, 'L'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct plot_opts po = {.notes = stdout};
    char err[1024];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            po.scripts = optarg;
            break;
        case 'g':
            po.gnuplot = optarg;
            break;
        case 'c':
            po.csv_only = 1;
            break;
        case 'L':
            po.latex = 1;
            break;
        case 'h':
            plot_usage(stdout);
            return 0;
        default:
            plot_usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        plot_usage(stderr);
        return 2;
    }
    int n = plot_run(argv[optind], &po, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "plot: %s\n", err);
        return 1;
    }
    printf("plot: %d figures in %s/plots\n", n, argv[optind]);
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"noisy-cv", 1, 0, 'n'}, {"gen-bound", 1, 0, 'b'},
                                         {"no-plot", 0, 0, 'P'},  {"scripts", 1, 0, 's'},
                                         {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    struct report_opts ro = {0};
    struct plot_opts po = {.notes = stdout};
    int no_plot = 0, c;
    char err[1024];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_fraction("--noisy-cv", optarg, &ro.noisy_cv) < 0) return 2;
            break;
        case 'b':
            if (parse_fraction("--gen-bound", optarg, &ro.gen_bound) < 0) return 2;
            break;
        case 'P':
            no_plot = 1;
            break;
        case 's':
            po.scripts = optarg;
            break;
        case 'h':
            report_usage(stdout);
            return 0;
        default:
            report_usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        report_usage(stderr);
        return 2;
    }
    const char *dir = argv[optind];
    char trials[4096];
    snprintf(trials, sizeof trials, "%s/trials", dir);
    if (access(trials, R_OK | X_OK) < 0) {
        fprintf(stderr, "report: %s: %s (not a results directory?)\n", trials, strerror(errno));
        return 1;
    }
    if (!no_plot && plot_run(dir, &po, err, sizeof err) < 0)
        fprintf(stderr, "report: warning: figures: %s (the report links what exists)\n", err);
    if (report_write(dir, &ro, err, sizeof err) < 0) {
        fprintf(stderr, "report: %s\n", err);
        return 1;
    }
    printf("report: %s/REPORT.md\n", dir);
    return 0;
}
