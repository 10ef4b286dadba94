# cycles.gp — CPU cycles per request and per packet, per workload and driver:
# a solid bar for the DUT core and a hatched bar for the whole system side by
# side. For poll-mode drivers whose server reports poll_cycles_work/idle, the
# DUT bar is split by the share of the loop's cycles: solid = work (loop
# iterations, netio_poll entry to entry, that moved frames or returned events:
# the stack's processing and the server's handling), light = idle polling
# (the legend's "DUT work" and "DUT idle").
# Colour means the driver, shading what the bar counts: both are explained
# once, in the legend strip above the panels. The y axes are log when the
# values span more than a decade (plot.c). Error bars: the order-statistic
# interval of the median, its real coverage in the note at the bottom right
# (ci_note); none for one repeat.
# Data: cycles.csv
#   label,driver,di,lt,x,x_sys,dut_cpr,lo,hi,dut_cpr_work,sys_cpr,lo,hi,
#   dut_cpp,lo,hi,dut_cpp_work,sys_cpp,lo,hi,ci_level
# Variables: see style.gp, plus xtics_cmd, xmin, xmax, bw, has_poll.
rows1 = 2; cols1 = 1; rows2 = 1; cols2 = 2
if (!exists("has_poll")) has_poll = 0
key_extra = has_poll ? 3 : 2
key_extra_len = 12
load stylefile
idle_fill = has_poll ? 0.35 : 0.85
set multiplot
eval legend_begin
if (has_poll) {
    plot for [i=1:nd] NaN with boxes lt dlt(i) title drv(i), \
         NaN with boxes fs solid 0.85 lc rgb "#606060" title "DUT work", \
         NaN with boxes fs transparent solid 0.35 lc rgb "#606060" title "DUT idle", \
         NaN with boxes fs pattern 2 lc rgb "#606060" title "whole system"
} else {
    plot for [i=1:nd] NaN with boxes lt dlt(i) title drv(i), \
         NaN with boxes fs solid 0.85 lc rgb "#606060" title "DUT core", \
         NaN with boxes fs pattern 2 lc rgb "#606060" title "whole system"
}
eval legend_end
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set xlabel xl("workload")

# The bars of one panel (c: the DUT column; its work column is c+3, the
# whole-system columns c+4..c+6).
array ylab[2] = ["CPU (cycles/request)", "CPU (cycles/packet)"]
do for [p=1:2] {
    eval panel(p)
    eval yaxis(p)
    set ylabel ylab[p]
    c = 7 + 7 * (p - 1)
    if (nodata(p)) { set label 98 NODATA at graph 0.5, 0.5 center front }
    plot for [i=1:nd] datafile skip 1 using (only(i, 5)):c with boxes lt dlt(i) \
            fs transparent solid idle_fill border lt dlt(i) notitle, \
         for [i=1:nd] datafile skip 1 using (only(i, 6)):c+4 with boxes lt dlt(i) \
            fs pattern 2 border lt dlt(i) notitle, \
         for [i=1:nd] datafile skip 1 using (only(i, 5)):c+3 with boxes lt dlt(i) \
            fs solid 0.85 border -1 notitle, \
         datafile skip 1 using (ebx(5, c+1)):c:c+1:c+2 with yerrorbars lc rgb 'black' pt 7 ps 0.25 lw 0.8 notitle, \
         datafile skip 1 using (ebx(6, c+5)):c+4:c+5:c+6 with yerrorbars lc rgb 'black' pt 7 ps 0.25 lw 0.8 notitle
    unset label 98
}
unset multiplot
