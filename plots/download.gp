# download.gp — the download workload (one file over one connection): time to
# download and goodput, per file size and driver. Bars: medians over the
# repeats; error bars: the order-statistic interval of the median, its real
# coverage in the note at the bottom right (ci_note); none for one repeat. The
# y axes are log when the values span more than a decade (plot.c).
# Data: download.csv
#   label,driver,di,lt,x,download_s,lo,hi,gbps,lo,hi,n,size_bytes,ci_level
# Variables: see style.gp, plus xtics_cmd, xmin, xmax, bw.
rows1 = 2; cols1 = 1; rows2 = 1; cols2 = 2
load stylefile
set multiplot
eval legend_begin
plot for [i=1:nd] NaN with boxes lt dlt(i) title drv(i)
eval legend_end
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set xlabel xl("file size")
array ylab[2] = ["download time (s)", "goodput (Gbit/s)"]
do for [p=1:2] {
    eval panel(p)
    eval yaxis(p)
    set ylabel ylab[p]
    c = 6 + 3 * (p - 1)
    if (nodata(p)) { set label 98 NODATA at graph 0.5, 0.5 center front }
    plot for [i=1:nd] datafile skip 1 using (only(i, 5)):c with boxes lt dlt(i) notitle, \
         datafile skip 1 using (ebx(5, c + 1)):c:c+1:c+2 with yerrorbars lc rgb "black" pt 7 ps 0.25 lw 0.8 notitle
    unset label 98
}
unset multiplot
