# overhead.gp — operating-system overhead per request, per workload and
# driver, one panel per counter: context switches and NET_RX and NET_TX
# softirqs (whole system, /proc/stat and /proc/softirqs over the window), and
# the system calls the DUT's code issues (our server, or the client with
# dut = client; the kernel driver's every socket
# and epoll call; our stack's poll(2) waits and, over AF_PACKET, its
# sendmmsg(2) sends: the sys_* counters of the DUT's driver; calls made
# inside DPDK's PMDs, such as net_af_packet's sendto, are not counted). The
# figure shows the overhead falling path by path. Hardware interrupts are not
# shown: the DUT links here (veth, tap, ring) have none. Bars: medians over
# the repeats; error bars: the order-statistic interval of the median, its
# coverage in the note at the bottom right (ci_note); none for one repeat. The
# y axes are log when the values span more than a decade (plot.c); a zero
# sits at a log axis's floor; a panel no driver reported says so.
# Data: overhead.csv
#   label,driver,di,lt,x,ctx,lo,hi,net_rx,lo,hi,net_tx,lo,hi,syscalls,lo,hi,n,ci_level
# Variables: see style.gp, plus xtics_cmd, xmin, xmax, bw, have.
rows1 = 4; cols1 = 1; rows2 = 2; cols2 = 2
load stylefile
set multiplot
eval legend_begin
plot for [i=1:nd] NaN with boxes lt dlt(i) title drv(i)
eval legend_end
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set ylabel "count per request"
# The counter names the panel (a title is short where a y label would run
# past a short panel).
array title_[4] = ["context switches", "NET\\_RX softirqs", "NET\\_TX softirqs", \
                   "system calls (the DUT's code)"]
do for [p=1:4] {
    eval panel(p)
    eval yaxis(p)
    # the x label only under the bottom row
    if (p > np - pcols) { set xlabel xl("workload") } else { unset xlabel }
    set title title_[p]
    set tmargin 2
    c = 6 + 3 * (p - 1)
    if (nodata(p)) { set label 98 "not recorded in this run" at graph 0.5, 0.5 center front }
    # A zero is a result here (no system call on that path): written "0" where
    # the bar would start, since a log axis cannot show it.
    plot for [i=1:nd] datafile skip 1 using (only(i, 5)):c with boxes lt dlt(i) notitle, \
         datafile skip 1 using (ebx(5, c + 1)):c:c+1:c+2 with yerrorbars lc rgb "black" pt 7 ps 0.25 lw 0.8 notitle, \
         datafile skip 1 using 5:(yfloor):(column(c) == 0 ? "0" : "") with labels offset 0, 0.6 \
            font sprintf(",%d", fsize - 1) tc rgb "#404040" notitle
    unset label 98
}
unset multiplot
