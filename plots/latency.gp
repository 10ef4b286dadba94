# latency.gp — latency percentiles (p50, p90, p99, p99.9) of the open-loop
# trials, per driver, on a log axis. Open loop measures from the intended send
# time, so stalls are not hidden (no coordinated omission). Points: medians
# over the repeats; error bars: the order-statistic interval of the median, its
# real coverage in the note at the bottom right (ci_note); none for one repeat,
# whose points are still joined. Data: latency.csv
#   label,driver,di,lt,x,lat_us,lo,hi,n,ci_level   (one row per workload, driver, percentile)
# Variables: see style.gp, plus xtics_cmd, xmin, xmax.
load stylefile
set multiplot
eval legend_begin
plot for [i=1:nd] NaN with linespoints lt dlt(i) title drv(i)
eval legend_end
eval panel(1)
eval yaxis(1)
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set ylabel "latency (µs)"
set xlabel xl("percentile (open loop)")
set grid xtics ytics mytics
# The bars first: drawn after the lines they would hide their points.
plot for [i=1:nd] datafile skip 1 using (ebi(i, 5, 7)):6:7:8 with yerrorbars lt dlt(i) pt 0 notitle, \
     for [i=1:nd] datafile skip 1 using (only(i, 5)):6 with linespoints lt dlt(i) notitle
unset multiplot
