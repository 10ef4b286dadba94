# loadlat.gp — latency against offered load: the open-loop sweep's points
# (rates from low load past the knee, each a share of the closed-loop
# capacity the same driver reached in the same run), p50, p99 and p99.9 from
# the intended send time (no coordinated omission). Colour = driver, line
# style = percentile (solid p50, dashed p99, dotted p99.9); the grey line is
# the suite's p99 target (p99_target). Log y; x log when the rates span more
# than a decade (plot.c). Points: medians over the repeats; error bars: the
# order-statistic interval of the median, its coverage in the note (ci_note);
# none for one repeat. Data: loadlat.csv
#   label,driver,di,lt,x=offered_rps,lat_us,lo,hi,pct(1..3),load,n,ci_level
# Variables: see style.gp, plus xcmd, target_us.
key_extra = 4
key_extra_len = 10
load stylefile
if (!exists("target_us")) target_us = 1000
set multiplot
set key samplen 3
eval legend_begin
plot for [i=1:nd] NaN with linespoints lt dlt(i) title drv(i), \
     NaN with lines lc rgb "black" dt 1 title "p50", \
     NaN with lines lc rgb "black" dt 2 title "p99", \
     NaN with lines lc rgb "black" dt 3 title "p99.9", \
     NaN with lines lc rgb "#909090" lw 3 title "p99 target"
eval legend_end
eval panel(1)
eval yaxis(1)
if (exists("xcmd")) eval xcmd
set xlabel xl("offered load (req/s)")
set ylabel "latency (µs)"
set grid xtics ytics
# Rows of driver i and percentile p (column 9).
sel(i, p, c) = (column(3) == i && column(9) == p) ? column(c) : NaN
selb(i, p) = (column(3) == i && column(9) == p && column(7) < column(8)) ? column(5) : NaN
plot target_us with lines lc rgb "#909090" lw 3 notitle, \
     for [i=1:nd] for [p=1:3] datafile skip 1 using (selb(i, p)):6:7:8 with yerrorbars lt dlt(i) pt 0 notitle, \
     for [i=1:nd] for [p=1:3] datafile skip 1 using (sel(i, p, 5)):6 with linespoints lt dlt(i) dt p notitle
unset multiplot
