/*
 * harness/cli/compare.c — `bypassbench compare BASE NEW`: the statistical regression
 * gate between two results directories. Prints one line per (workload,
 * driver, metric) with the change of medians, the Mann-Whitney p-value and a
 * verdict; optionally writes Markdown and JUnit XML.
 * Exit status: 0 no regression, 1 at least one "worse", 2 bad input.
 * Calls: compare.c.
 */
#include "harness/analysis/compare.h"
#include "harness/cli/cli.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bypassbench compare BASE NEW [OPTIONS]\n"
            "  BASE, NEW          results directories (each with trials/*.json, as `run` writes)\n"
            "  --alpha P          significance level of the Mann-Whitney U test (default 0.05)\n"
            "  --min-effect F     minimum |relative change of medians| for a verdict (default 0.10)\n"
            "  --noise-k K        the change must also exceed K x BASE's coefficient of variation\n"
            "                     (default 2; 0 = off): a group noisy in the baseline needs a bigger\n"
            "                     shift; NEW's own spread never raises the bar\n"
            "  --markdown FILE    write a Markdown report\n"
            "  --junit FILE       write JUnit XML (one testcase per workload x driver x metric)\n"
            "  --allow-missing    a workload x driver without ok trials in NEW is not a regression\n"
            "  --quiet            print only the summary line and the regressions\n"
            "Verdict worse: p < alpha and |change| >= max(min-effect, K x BASE's CV) in the bad\n"
            "direction. Gated metrics: rps, cps, gbps (higher is better), download_s, system cycles\n"
            "per request, p50 latency (lower is better), and DUT-core cycles per request where the\n"
            "generator saturated (req/s cannot show a slower DUT there); the others (tail\n"
            "latencies, per-packet cycles, counters) are reported as changed or same, never as a\n"
            "regression. A gated metric with too few ok trials for the test to ever reach alpha\n"
            "fails as 'too few trials to judge'. Judged without a test, over every trial (failed\n"
            "ones too): ok_trials (the share of ok trials) and errors_per_trial (client errors):\n"
            "worse on any loss. Failed NEW trials are listed with their reasons.\n"
            "Exit status: 0 no regression, 1 regression, 2 bad input.\n");
}

static int parse_frac(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "compare: %s '%s': want a number in [%g, %g]\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static void print_row(const struct cmp_row *x)
{
    char c[32];
    if (isinf(x->change)) snprintf(c, sizeof(c), "%sinf", x->change > 0 ? "+" : "-");
    else snprintf(c, sizeof(c), "%+.1f%%", x->change * 100);
    char pb[32];
    printf("%-16s %-12s %-28s %5zu/%-3zu %14.6g %14.6g %9s %8s  %s\n", x->workload, x->driver,
           x->metric, x->n_base, x->n_new, x->base_median, x->new_median, c,
           cmp_fmt_p(x->p, pb, sizeof(pb)), cmp_verdict_name(x->verdict));
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {{"alpha", 1, 0, 'a'},   {"min-effect", 1, 0, 'e'},
                                         {"noise-k", 1, 0, 'k'},  {"markdown", 1, 0, 'm'}, {"junit", 1, 0, 'j'},
                                         {"allow-missing", 0, 0, 'M'}, {"quiet", 0, 0, 'q'},
                                         {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    struct cmp_opts o;
    cmp_opts_defaults(&o);
    const char *md = NULL, *junit = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (parse_frac("--alpha", optarg, 0, 1, &o.alpha) < 0) return 2;
            break;
        case 'e':
            if (parse_frac("--min-effect", optarg, 0, 1e9, &o.min_effect) < 0) return 2;
            break;
        case 'k':
            if (parse_frac("--noise-k", optarg, 0, 100, &o.noise_k) < 0) return 2;
            break;
        case 'm': md = optarg; break;
        case 'j': junit = optarg; break;
        case 'M': o.allow_missing = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "compare: want two results directories, BASE and NEW\n");
        usage(stderr);
        return 2;
    }
    const char *base = argv[optind], *nw = argv[optind + 1];
    char err[2048];
    struct cmp_report r;
    if (cmp_dirs(base, nw, &o, &r, err, sizeof(err)) < 0) {
        fprintf(stderr, "compare: %s\n", err);
        return 2;
    }
    if (r.ngroups == 0) {
        fprintf(stderr, "compare: no workload x driver of BASE %s has ok trials to compare\n", base);
        cmp_report_free(&r);
        return 2;
    }
    printf("compare: BASE %s  NEW %s  (Mann-Whitney U two-sided, alpha %g, min effect %g%%)\n",
           base, nw, o.alpha, o.min_effect * 100);
    for (size_t i = 0; i < r.nenv; i++) {
        char t[512];
        cmp_env_note_text(&r.env[i], t, sizeof(t));
        if (!r.env[i].differs)
            printf("compare: note: %s (not recorded on one side; not compared)\n", t);
        else if (strcmp(r.env[i].field, "cpu_method") == 0)
            printf("compare: WARNING: %s: cycles metrics are not comparable, not judged\n", t);
        else
            printf("compare: WARNING: %s\n", t);
    }
    printf("%-16s %-12s %-28s %9s %14s %14s %9s %8s  %s\n", "workload", "driver", "metric",
           "n b/n", "base median", "new median", "change", "p", "verdict");
    for (size_t i = 0; i < r.nrows; i++)
        if (!quiet || r.rows[i].verdict == CMP_WORSE || r.rows[i].verdict == CMP_TOO_FEW)
            print_row(&r.rows[i]);
    for (size_t i = 0; i < r.nfailed_listed; i++)
        printf("compare: NEW trial failed: %s on %s, repeat %u: %s\n", r.failed[i].workload,
               r.failed[i].driver, r.failed[i].repeat, r.failed[i].why);
    if (r.nfailed > r.nfailed_listed)
        printf("compare: and %zu more failed NEW trials (see the records)\n",
               r.nfailed - r.nfailed_listed);
    int rc = cmp_failed_gate(&r) ? 1 : 0;
    if (md && cmp_write_markdown(&r, base, nw, md, err, sizeof(err)) < 0) {
        fprintf(stderr, "compare: --markdown: %s\n", err);
        rc = 2;
    }
    if (junit && cmp_write_junit(&r, junit, err, sizeof(err)) < 0) {
        fprintf(stderr, "compare: --junit: %s\n", err);
        rc = 2;
    }
    printf("compare: %s: %zu worse, %zu too few to judge, %zu better, %zu changed, %zu rows, "
           "%zu groups, %zu NEW trials failed",
           rc == 1 ? "REGRESSION" : "ok", r.nworse, r.ntoo_few, r.nbetter, r.nchanged, r.nrows,
           r.ngroups, r.nfailed);
    if (r.nnot_comparable) printf(", %zu not comparable (CPU method differs)", r.nnot_comparable);
    if (r.nenv_differs) printf(", %zu environment difference(s)", r.nenv_differs);
    printf("\n");
    if (cmp_blind_rows(&r))
        printf("compare: %zu gated rows cannot see a change under %.0f%% (a noisy BASE; listed "
               "with --markdown, column \"needs\")\n",
               cmp_blind_rows(&r), CMP_BLIND_ABOVE * 100);
    cmp_report_free(&r);
    return rc;
}
