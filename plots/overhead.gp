# overhead.gp — operating-system overhead per request, per workload and
# driver, one panel per counter: context switches (whole system), NET_RX
# softirqs (whole system) and system calls issued by the server (its driver's
# "syscalls" counter over the requests it served). Bars: medians over the
# repeats; error bars: the order-statistic interval of the median, its real
# coverage in the note at the bottom right (ci_note); none for one repeat. The
# y axes are log when the values span more than a decade (plot.c); a panel no
# driver reported says so. Data: overhead.csv
#   label,driver,di,lt,x,ctx,lo,hi,softirq,lo,hi,syscalls,lo,hi,n,ci_level
# Variables: see style.gp, plus xtics_cmd, xmin, xmax, bw, have.
rows1 = 3; cols1 = 1; rows2 = 1; cols2 = 3
load stylefile
set multiplot
eval legend_begin
plot for [i=1:nd] NaN with boxes lt dlt(i) title drv(i)
eval legend_end
if (exists("xtics_cmd")) eval xtics_cmd
# Three panels side by side in a page-wide figure: steeper labels fit.
if (cols == 2 && strstrt(xtics_cmd, "rotate") > 0) set xtics rotate by 60 right
if (exists("xmin")) set xrange [xmin:xmax]
set xlabel xl("workload")
set ylabel "count per request"
# The counter names the panel (a title is short where a y label would run
# past a short panel).
array title_[3] = ["context switches", "NET\\_RX softirqs", "server syscalls"]
do for [p=1:3] {
    eval panel(p)
    eval yaxis(p)
    set title title_[p]
    set tmargin 2
    c = 6 + 3 * (p - 1)
    if (nodata(p)) { set label 98 "not recorded in this run" at graph 0.5, 0.5 center front }
    plot for [i=1:nd] datafile skip 1 using (only(i, 5)):c with boxes lt dlt(i) notitle, \
         datafile skip 1 using (ebx(5, c + 1)):c:c+1:c+2 with yerrorbars lc rgb "black" pt 7 ps 0.25 lw 0.8 notitle
    unset label 98
}
unset multiplot
