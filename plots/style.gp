# style.gp — the one shared style of every bypassbench figure. Loaded by
# plots/<figure>.gp, which `bypassbench plot` (harness/plot.c) runs as
#   gnuplot -e "datafile='…csv'; outfile='…'; fmt='pdf|svg|png'; cols=1|2; \
#               drivers='kernel afpacket'; lts='1 2'; nd=2; …" plots/<figure>.gp
# The figure script sets rows1/cols1 (panels in a single-column figure) and
# rows2/cols2 (double-column) before loading this file.
#
# Sizes: single column 3.5 in wide, double column 7 in, fonts 8/9 pt as in a
# paper column. Colours: Okabe–Ito (colour-blind safe), and every driver also
# gets its own point type and fill pattern so a grey-scale print still reads.
# Linetypes are fixed per driver by harness/analysis/plot.c: 1 kernel, 2 afpacket,
# 3 dpdk, 4 dpdk-tap, 5 dpdk-ring, 6-8 any other, in order of appearance.

if (!exists("fmt")) fmt = "pdf"
if (!exists("cols")) cols = 2
if (!exists("rows1")) rows1 = 1
if (!exists("cols1")) cols1 = 1
if (!exists("rows2")) rows2 = 1
if (!exists("cols2")) cols2 = 1
if (!exists("nd")) nd = 0

prows = (cols == 1) ? rows1 : rows2
pcols = (cols == 1) ? cols1 : cols2
fig_w = (cols == 1) ? 3.5 : 7.0
panel_h = (cols == 1) ? 2.2 : 2.5
fsize = (cols == 1) ? 8 : 9

# The legend: one key for the whole figure, in a strip above its panels,
# outside every plot area. nd driver entries (colour = driver, in every
# figure) plus key_extra entries a script adds (the cycles figure's shading:
# DUT work, idle, whole system), as many per row as fit the width: an entry is
# its sample, a gap and its text (keylen, the longest driver name, or
# key_extra_len; plot.c passes keylen).
if (!exists("np")) np = 1
if (!exists("keylen")) keylen = 8
if (!exists("key_extra")) key_extra = 0
if (!exists("key_extra_len")) key_extra_len = 0
nkey = nd + key_extra
klen = (keylen > key_extra_len) ? keylen : key_extra_len
entry_w = (klen + 4) * 0.9 * fsize / 72.0
keycols = int(0.95 * fig_w / entry_w)
keycols = (keycols < 1) ? 1 : (keycols > nkey) ? nkey : keycols
key_rows = (nkey < 1) ? 0 : (nkey + keycols - 1) / keycols
key_h = key_rows * 1.6 * fsize / 72.0 + 0.12

# What the error bars are and their real coverage (harness/analysis/plot.c
# passes it as ci_note, e.g. "error bars: order-statistic interval of the
# median, exactly 96.9% at n = 6"): a small note at the bottom right, on two
# lines in a single-column figure. xl(s) gives an x label the blank lines the
# note sits in, and every panel grows by them so its plot keeps its size; a
# script with several panels draws the note with its first panel and unsets
# label 99 after it.
if (!exists("ci_note")) ci_note = ""
ci_cut = strstrt(ci_note, ", ")
# (LaTeX takes no line break inside a label: one line there.)
split_note = cols == 1 && ci_cut > 0 && fmt ne "tex"
ci_text = split_note ? ci_note[1:ci_cut] . "\n" . ci_note[ci_cut + 2:] : ci_note
ci_lines = (ci_note eq "") ? 0 : (split_note ? 2 : 1)
xl(s) = s . ((ci_lines == 0) ? "" : (ci_lines == 1) ? "\n " : "\n \n ")
fig_h = prows * (panel_h + ci_lines * 1.2 * fsize / 72.0) + key_h
png_dpi = 150.0

if (fmt eq "pdf") {
    set terminal pdfcairo enhanced color font sprintf("Helvetica,%d", fsize) \
        size fig_w, fig_h linewidth 1.5 rounded
} else { if (fmt eq "tex") {
    # bypassbench plot --latex: the graphics as PDF, every text left to LaTeX
    # (the paper's fonts) in a .tex to \input; plot.c escapes the strings.
    set terminal cairolatex pdf input color size fig_w, fig_h font sprintf(",%d", fsize) \
        linewidth 1.5 rounded
} else {
    if (fmt eq "svg") {
        # svg sizes are in px; 72 px per inch keeps the PDF's proportions.
        set terminal svg enhanced font sprintf("Helvetica,%d", fsize) \
            size fig_w * 72, fig_h * 72 linewidth 1.5 rounded background "white"
    } else {
        set terminal pngcairo enhanced color font sprintf("Helvetica,%d", fsize) \
            size fig_w * png_dpi, fig_h * png_dpi fontscale png_dpi / 72 \
            linewidth png_dpi / 72 * 1.5 rounded background "white"
    }
} }
if (exists("outfile")) set output outfile

# One colour per driver, in the ladder's order (harness/analysis/model.c,
# known_drivers; plot_driver_lt). Okabe & Ito (2008), "Color Universal
# Design", for the eight it has, then Tol's muted palette; each step's kernel
# variant shares its hue family (kernel blue, kernel+busypoll sky blue).
# Drivers the model does not know take 10-12 in order of appearance.
set linetype 1  lc rgb "#0072B2" lw 1 pt 7  ps 0.7 dt 1   # kernel: blue
set linetype 2  lc rgb "#56B4E9" lw 1 pt 3  ps 0.8 dt 1   # kernel+busypoll: sky blue
set linetype 3  lc rgb "#332288" lw 1 pt 15 ps 0.8 dt 1   # io_uring: indigo
set linetype 4  lc rgb "#E69F00" lw 1 pt 5  ps 0.7 dt 1   # afpacket: orange
set linetype 5  lc rgb "#F0E442" lw 1 pt 2  ps 0.8 dt 1   # afxdp: yellow
set linetype 6  lc rgb "#009E73" lw 1 pt 9  ps 0.8 dt 1   # dpdk: bluish green
set linetype 7  lc rgb "#117733" lw 1 pt 4  ps 0.8 dt 1   # dpdk-xdp: green
set linetype 8  lc rgb "#CC79A7" lw 1 pt 13 ps 0.8 dt 1   # dpdk-tap: reddish purple
set linetype 9  lc rgb "#D55E00" lw 1 pt 11 ps 0.8 dt 1   # dpdk-ring: vermillion
set linetype 10 lc rgb "#000000" lw 1 pt 1  ps 0.8 dt 1   # others: black
set linetype 11 lc rgb "#999933" lw 1 pt 6  ps 0.8 dt 1   # olive
set linetype 12 lc rgb "#882255" lw 1 pt 8  ps 0.8 dt 1   # wine
set linetype cycle 12

set datafile separator comma
set datafile missing ""
set border 3 lw 0.8
set tics nomirror out scale 0.6
set grid ytics lw 0.5 lc rgb "#d0d0d0"
set key center center vertical reverse Left samplen 1.5 spacing 1.1 width 0 \
    maxrows key_rows noautotitle
set style fill solid 0.85 border -1
set errorbars small
set offsets graph 0.02, graph 0.02, graph 0.05, 0
set tmargin 1

# The legend strip is a plot of its own, the width of the figure, with no
# axes: a script does `set multiplot`, then `eval legend_begin`, plots its key
# entries (NaN with a title each), `eval legend_end`, and then its panels,
# whose plots carry no titles. The error-bar note (label 99) is drawn once,
# with the legend.
legend_begin = "set origin 0, panel_top; set size 1, 1 - panel_top; unset border; " . \
    "unset xtics; unset ytics; unset grid; set xrange [0:1]; set yrange [0:1]; " . \
    "set margins 0, 0, 0, 0; unset xlabel; unset ylabel"
legend_end = "set border 3 lw 0.8; set xtics; set ytics; set tics nomirror out scale 0.6; " . \
    "set grid ytics lw 0.5 lc rgb '#d0d0d0'; set margins -1, -1, -1, -1; set tmargin 1; " . \
    "unset key; unset label 99; set autoscale x; set autoscale y"

# Panels: np (plot.c) of them, prows x pcols, under the legend strip. A
# script runs `eval panel(p)` before panel p's plot (in a multiplot when it
# has several), then `eval yaxis(p)`: the y axis plot.c chose for the panel
# from its data (log when the values span more than a decade, every tick
# labelled with its exact value, ycmd<p>). nodata(p): no row has a value for
# panel p; the script then says so inside the panel.
panel_top = 1.0 - key_h / fig_h
pw = 1.0 / pcols
ph = panel_top / prows
panel(p) = sprintf("set origin %.6f,%.6f; set size %.6f,%.6f", ((p - 1) % pcols) * pw, \
                   panel_top - ((p - 1) / pcols + 1) * ph, pw, ph)
yaxis(p) = exists(sprintf("ycmd%d", p)) ? value(sprintf("ycmd%d", p)) : "set yrange [0:*]"
nodata(p) = exists("have") && word(have, p) eq "0"
NODATA = "no data for this panel in this run"

# Bars: one bar per (category, driver) at the x plot.c computed; bw its width.
if (!exists("bw")) bw = 0.35
set boxwidth bw absolute
# Driver i of nd as passed by plot.c.
drv(i) = word(drivers, i)
dlt(i) = word(lts, i) + 0
# Keep the rows of driver i (column 3 is its index within the figure).
only(i, c) = (column(3) == i) ? column(c) : NaN
# An error bar only where the interval (columns c, c+1) has a width (one
# repeat: none): x from column xc, else undefined.
ebx(xc, c) = (column(c) < column(c + 1)) ? column(xc) : NaN
# Error bars of driver i only (column 3) and only where the interval has a
# width: for the line figures, whose points come from only(i, c) and whose
# bars are drawn apart so a point without an interval still has its line.
ebi(i, xc, c) = (column(3) == i) ? ebx(xc, c) : NaN
set key noenhanced

# The error-bar note (ci_text, above). A label's first line is centred on its
# position and the others go below: lift it by its lines less a half (font
# size + 20% leading) and a small gap.
ci_y = ((ci_lines - 0.5) * 1.2 * (fsize - 1) + 4) / 72.0 / fig_h
if (ci_lines > 0) set label 99 ci_text at screen 0.99, screen ci_y right front noenhanced \
    font sprintf(",%d", fsize - 1) textcolor rgb "#404040"
