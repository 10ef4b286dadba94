# throughput.gp — throughput vs response size, per driver: req/s and Gbit/s
# (medians, error bars the bootstrap 95% CI of the median over the repeats).
# Closed-loop keep-alive workloads on /bytes/N only. Data: plots/throughput.csv
#   label,driver,di,lt,x=size_bytes,rps,rps_lo,rps_hi,gbps,gbps_lo,gbps_hi,n,…
# Variables from harness/plot.c: see style.gp, plus xtics_cmd, xmin, xmax.
rows1 = 2; cols1 = 1; rows2 = 1; cols2 = 2
load stylefile
set tmargin 1
set multiplot layout prows, pcols
set logscale x 2
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set xlabel "response body size (bytes)"
set yrange [0:*]

set ylabel "throughput (req/s)"
set format y "%.0s%c"
plot for [i=1:nd] datafile skip 1 using (only(i, 5)):6:7:8 with yerrorlines lt dlt(i) title drv(i)

set ylabel "throughput (Gbit/s)"
set format y "%g"
set key top left
plot for [i=1:nd] datafile skip 1 using (only(i, 5)):9:10:11 with yerrorlines lt dlt(i) title drv(i)
unset multiplot
