# overhead.gp — operating-system overhead per request, per workload and
# driver: context switches (whole system), NET_RX softirqs (whole system) and
# syscalls issued by the server (the kernel driver's "syscalls" counter over
# the requests it served). Bars: medians over the repeats; error bars: the
# order-statistic interval of the median, its real coverage in the note at the
# bottom right (ci_note); none for one repeat. Data: overhead.csv
#   label,driver,di,lt,x,ctx,lo,hi,softirq,lo,hi,syscalls,lo,hi,n,ci_level
# Variables: see style.gp, plus xtics_cmd, xmin, xmax, bw, have (per panel: 1 if
# any row has the counter).
rows1 = 3; cols1 = 1; rows2 = 1; cols2 = 3
load stylefile
set key outside top center horizontal maxcols 4 maxrows 2
set multiplot layout prows, pcols
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set yrange [0:*]
set xlabel xl("workload")
array ylab[3] = ["context switches per request", "NET\\_RX softirqs per request", \
                 "syscalls per request (server)"]
do for [panel=1:3] {
    c = 6 + 3 * (panel - 1)
    set ylabel ylab[panel]
    if (panel > 1) { unset key; unset label 99 }
    if (exists("have") && word(have, panel) eq "0") {
        # No driver reported this counter: say so instead of failing.
        set yrange [0:1]
        set label 1 "not recorded" at graph 0.5, 0.5 center
        plot for [i=1:nd] NaN with boxes lt dlt(i) title drv(i)
        unset label 1
        set yrange [0:*]
    } else {
        plot for [i=1:nd] datafile skip 1 using (only(i, 5)):c with boxes lt dlt(i) title drv(i), \
             datafile skip 1 using (ebx(5, c+1)):c:c+1:c+2 with yerrorbars lc rgb "black" pt 7 ps 0.25 lw 0.8 notitle
    }
}
unset multiplot
