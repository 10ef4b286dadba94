# throughput.gp — throughput vs response size, per driver: req/s and Gbit/s
# (medians over the repeats; error bars the order-statistic interval of the
# median, its real coverage in the note at the bottom right (ci_note); none for
# one repeat, whose points are still joined). Closed-loop keep-alive workloads
# on /bytes/N only. Both y axes are log when the values span more than a
# decade (plot.c decides and labels every tick with its exact value).
# Data: plots/throughput.csv
#   label,driver,di,lt,x=size_bytes,rps,rps_lo,rps_hi,gbps,gbps_lo,gbps_hi,n,…,ci_level
# Variables from harness/plot.c: see style.gp, plus xtics_cmd, xmin, xmax.
rows1 = 2; cols1 = 1; rows2 = 1; cols2 = 2
load stylefile
set multiplot
eval legend_begin
plot for [i=1:nd] NaN with linespoints lt dlt(i) title drv(i)
eval legend_end
set logscale x 2
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set xlabel xl("response body size (bytes)")

array ylab[2] = ["throughput (req/s)", "throughput (Gbit/s)"]
do for [p=1:2] {
    eval panel(p)
    eval yaxis(p)
    set ylabel ylab[p]
    c = 6 + 3 * (p - 1)
    if (nodata(p)) { set label 98 NODATA at graph 0.5, 0.5 center front }
    # The bars first: drawn after the lines they would hide their points.
    plot for [i=1:nd] datafile skip 1 using (ebi(i, 5, c + 1)):c:c+1:c+2 with yerrorbars lt dlt(i) pt 0 notitle, \
         for [i=1:nd] datafile skip 1 using (only(i, 5)):c with linespoints lt dlt(i) notitle,
    unset label 98
}
unset multiplot
