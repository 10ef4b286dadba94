# cps.gp — new connections per second (one request per connection), per
# workload and driver. Bars: medians over the repeats; error bars: the
# order-statistic interval of the median, its real coverage in the note at the
# bottom right (ci_note); none for one repeat. The y axis is log when the
# values span more than a decade. Data: cps.csv
#   label,driver,di,lt,x,cps,lo,hi,n,ci_level
# Variables: see style.gp, plus xtics_cmd, xmin, xmax, bw.
load stylefile
set multiplot
eval legend_begin
plot for [i=1:nd] NaN with boxes lt dlt(i) title drv(i)
eval legend_end
eval panel(1)
eval yaxis(1)
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set ylabel "connections per second (1/s)"
set xlabel xl("workload")
plot for [i=1:nd] datafile skip 1 using (only(i, 5)):6 with boxes lt dlt(i) notitle, \
     datafile skip 1 using (ebx(5, 7)):6:7:8 with yerrorbars lc rgb "black" pt 7 ps 0.25 lw 0.8 notitle
unset multiplot
