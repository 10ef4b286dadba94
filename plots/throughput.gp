# throughput.gp — throughput vs response size, per driver: req/s and Gbit/s
# (medians over the repeats; error bars the order-statistic interval of the
# median, its real coverage in the note at the bottom right (ci_note); none for
# one repeat, whose points are still joined). Closed-loop keep-alive workloads
# on /bytes/N only. Data: plots/throughput.csv
#   label,driver,di,lt,x=size_bytes,rps,rps_lo,rps_hi,gbps,gbps_lo,gbps_hi,n,…,ci_level
# Variables from harness/plot.c: see style.gp, plus xtics_cmd, xmin, xmax.
rows1 = 2; cols1 = 1; rows2 = 1; cols2 = 2
load stylefile
set tmargin 1
set multiplot layout prows, pcols
set logscale x 2
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set xlabel xl("response body size (bytes)")
set yrange [0:*]

set ylabel "throughput (req/s)"
set format y "%.0s%c"
# The bars first: drawn after the lines they would hide their points.
plot for [i=1:nd] datafile skip 1 using (ebi(i, 5, 7)):6:7:8 with yerrorbars lt dlt(i) pt 0 notitle, \
     for [i=1:nd] datafile skip 1 using (only(i, 5)):6 with linespoints lt dlt(i) title drv(i)
unset label 99

set ylabel "throughput (Gbit/s)"
set format y "%g"
set key top left
plot for [i=1:nd] datafile skip 1 using (ebi(i, 5, 10)):9:10:11 with yerrorbars lt dlt(i) pt 0 notitle, \
     for [i=1:nd] datafile skip 1 using (only(i, 5)):9 with linespoints lt dlt(i) title drv(i)
unset multiplot
