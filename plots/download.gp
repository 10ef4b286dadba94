# download.gp — the download workload (one file over one connection): time to
# download and goodput, per file size and driver. Bars: medians over the
# repeats; error bars: the order-statistic interval of the median, its real
# coverage in the note at the bottom right (ci_note); none for one repeat.
# Data: download.csv
#   label,driver,di,lt,x,download_s,lo,hi,gbps,lo,hi,n,size_bytes,ci_level
# Variables: see style.gp, plus xtics_cmd, xmin, xmax, bw.
rows1 = 2; cols1 = 1; rows2 = 1; cols2 = 2
load stylefile
set key outside top center horizontal maxcols 4 maxrows 2
set multiplot layout prows, pcols
if (exists("xtics_cmd")) eval xtics_cmd
if (exists("xmin")) set xrange [xmin:xmax]
set yrange [0:*]
set xlabel xl("file size")
set ylabel "download time (s)"
plot for [i=1:nd] datafile skip 1 using (only(i, 5)):6 with boxes lt dlt(i) title drv(i), \
     datafile skip 1 using (ebx(5, 7)):6:7:8 with yerrorbars lc rgb "black" pt 7 ps 0.25 lw 0.8 notitle
unset label 99
set ylabel "goodput (Gbit/s)"
unset key
plot for [i=1:nd] datafile skip 1 using (only(i, 5)):9 with boxes lt dlt(i) title drv(i), \
     datafile skip 1 using (ebx(5, 10)):9:10:11 with yerrorbars lc rgb "black" pt 7 ps 0.25 lw 0.8 notitle
unset multiplot
