# nodata.gp — a figure with no data in this run (no trial of the kind it
# shows): an empty plot area that says so (nodata_msg, from plot.c, e.g. "no
# data: no open-loop trials"), so every figure exists for any subset of
# drivers and workloads and none is silently missing.
# Variables: see style.gp, plus nodata_msg.
load stylefile
if (!exists("nodata_msg")) nodata_msg = "no data in this run"
set multiplot
eval legend_begin
eval legend_end
eval panel(1)
unset xtics
unset ytics
unset grid
set xrange [0:1]
set yrange [0:1]
set label 98 nodata_msg at graph 0.5, 0.5 center front noenhanced
plot NaN notitle
unset multiplot
