#!/usr/bin/env python3
"""svg_check.py — checks the figures gnuplot drew (its svg terminal) the way a
reviewer looks at them. Usage: svg_check.py FILE.svg|DIR ... (a DIR: every
*.svg in it). Prints one line per defect, "FILE: what, where", and exits 1 if
there is any (2 when a file cannot be read as a gnuplot SVG).

Checks:
  canvas   every <text> lies inside the canvas (nothing clipped at an edge);
  ticks    the tick labels of each axis are distinct (no "2M 2M": rounding
           into duplicates);
  legend   no legend entry (the text of a plot's key) lies on a plot area or
           on a plotted point or bar;
  overlap  no two texts overlap (a label over a tick label, a note over an
           axis label).

Geometry: a text's box comes from its position, anchor, rotation and font
size, its width from per-character advances: Helvetica's (Adobe AFM) times
1.12, the width of DejaVu Sans, which Debian substitutes for Helvetica when
it renders the SVG and the PNG. Tick labels are the texts drawn right after a
one-segment tick mark; the axis is the mark's direction and position. Plot
areas are the borders' boxes; points are the <use> marks and bars the
<polygon>s inside the plots' groups (gnuplot_plot_*), whose texts are the
legend's entries.

Callers: tests/harness/analysis/test_plot.c, tests/integration/20_run_quick.sh.
"""
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

# Helvetica advance widths (1/1000 em), ASCII 32..126, Adobe AFM.
_HELV = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
         556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
         1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
         667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
         333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
         556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]
WIDEN = 1.12  # DejaVu Sans against Helvetica
ASCENT, DESCENT = 0.76, 0.24  # of the font size, above and below the baseline
TOL = 0.5  # px


def text_width(s, size):
    em = 0
    for ch in s:
        o = ord(ch)
        em += _HELV[o - 32] if 32 <= o <= 126 else 600
    return em / 1000.0 * size * WIDEN


def parse_transform(t):
    """translate(x,y) [rotate(a)] -> (x, y, a in degrees)."""
    x = y = a = 0.0
    m = re.search(r"translate\(\s*([-\d.]+)[ ,]+([-\d.]+)\s*\)", t or "")
    if m:
        x, y = float(m.group(1)), float(m.group(2))
    m = re.search(r"rotate\(\s*([-\d.]+)", t or "")
    if m:
        a = float(m.group(1))
    return x, y, a


def text_quad(x, y, a, anchor, size, s):
    """The four corners of a text's box, rotated as drawn."""
    w = text_width(s, size)
    x0 = {"start": 0.0, "middle": -w / 2, "end": -w}.get(anchor, 0.0)
    down = DESCENT * size if re.search(r"[gjpqy,;()\[\]{}|_@/µ]", s) else 0.05 * size
    corners = [(x0, -ASCENT * size), (x0 + w, -ASCENT * size), (x0 + w, down), (x0, down)]
    r = math.radians(a)
    return [(x + cx * math.cos(r) - cy * math.sin(r), y + cx * math.sin(r) + cy * math.cos(r))
            for cx, cy in corners]


def bbox(quad):
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return (min(xs), min(ys), max(xs), max(ys))


def quad_of(b):
    return [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])]


def overlap(p, q, tol=TOL):
    """Do two convex quadrilaterals overlap by more than tol (separating axes)?"""
    for poly in (p, q):
        for i in range(4):
            (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % 4]
            nx, ny = y1 - y2, x2 - x1
            ln = math.hypot(nx, ny)
            if ln == 0:
                continue
            nx, ny = nx / ln, ny / ln
            a = [px * nx + py * ny for px, py in p]
            b = [px * nx + py * ny for px, py in q]
            if max(a) <= min(b) + tol or max(b) <= min(a) + tol:
                return False
    return True


def path_points(d):
    return [(float(a), float(b)) for a, b in re.findall(r"[ML]\s*([-\d.]+),([-\d.]+)", d or "")]


def fnum(v, default=0.0):
    try:
        return float(re.sub(r"[a-z]+$", "", v))
    except (TypeError, ValueError):
        return default


def check(path):
    """The defects of one SVG, as strings."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        raise SystemExit("%s: cannot read as SVG: %s" % (path, e)) from None
    W, H = fnum(root.get("width")), fnum(root.get("height"))
    if W <= 0 or H <= 0:
        raise SystemExit("%s: no canvas size" % path)
    texts = []  # (box, text, kind, axis)
    marks = []  # boxes of points and bars
    areas = []  # plot areas (borders)

    def walk(el, in_plot, font, anchor):
        prev_tick = None
        for child in el:
            tag = child.tag.replace(NS, "")
            cid = child.get("id") or ""
            plot = in_plot
            if cid.startswith("gnuplot_plot_"):  # a plot: its <title> is its key entry's text
                t = child.find(NS + "title")
                plot = (t.text or "").strip() if t is not None else ""
            f = fnum(child.get("font-size"), font) if child.get("font-size") else font
            an = child.get("text-anchor") or anchor
            if tag == "path":
                pts = path_points(child.get("d"))
                if (plot is False and child.get("class") != "gridline" and len(pts) >= 3):
                    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                    if max(xs) - min(xs) > 20 and max(ys) - min(ys) > 20:
                        box = (min(xs), min(ys), max(xs), max(ys))
                        if box not in areas:  # gnuplot draws the border twice
                            areas.append(box)
                prev_tick = None
                # A tick mark: one short axis-parallel segment (two when the
                # tics are mirrored on the opposite border: the first counts).
                if (plot is False and len(pts) in (2, 4) and child.get("class") != "gridline"):
                    (x1, y1), (x2, y2) = pts[0], pts[1]
                    if abs(y1 - y2) < 0.01 and 0 < abs(x1 - x2) < 12:
                        prev_tick = ("y", (x1, x2), y1)
                    elif abs(x1 - x2) < 0.01 and 0 < abs(y1 - y2) < 12:
                        prev_tick = ("x", x1, (y1, y2))
                continue
            if tag == "use" and plot is not False:
                x, y, _ = parse_transform(child.get("transform"))
                m = re.search(r"scale\(\s*([-\d.]+)", child.get("transform") or "")
                r = float(m.group(1)) if m else 1.0
                marks.append((x - r, y - r, x + r, y + r))
                continue
            if tag == "polygon" and plot is not False:
                nums = [float(v) for v in re.findall(r"[-\d.]+", child.get("points") or "")]
                xs, ys = nums[0::2], nums[1::2]
                if xs and max(xs) - min(xs) > 0.01 and max(ys) - min(ys) > 0.01:
                    marks.append((min(xs), min(ys), max(xs), max(ys)))
                continue
            if tag == "g" and child.get("transform") and child.find(NS + "text") is not None:
                x, y, a = parse_transform(child.get("transform"))
                for t in child.findall(NS + "text"):
                    s = "".join(t.itertext()).strip()
                    if not s:
                        continue
                    kind = ("legend" if plot is not False and s == plot else
                            "tick" if prev_tick and plot is False else "text")
                    texts.append((text_quad(x, y, a, an, f, s), s, kind, prev_tick))
                continue
            if tag == "g":
                walk(child, plot, f, an)
                # a tick mark and its label share one <g>: keep prev_tick only inside it
    walk(root, False, 10.0, "start")  # plot: False outside plots, else the plot's title

    bad = []
    for q, s, kind, _ in texts:
        b = bbox(q)
        if b[0] < -TOL or b[1] < -TOL or b[2] > W + TOL or b[3] > H + TOL:
            bad.append("text %r runs off the %gx%g canvas (box %.0f,%.0f–%.0f,%.0f)" %
                       (s, W, H, b[0], b[1], b[2], b[3]))
    # A tick belongs to the plot area whose edge it stands on: the axis is
    # (direction, area), so panels side by side or stacked stay apart.
    axes = {}
    for q, s, kind, tick in texts:
        if kind != "tick":
            continue
        d, tx, ty = tick
        owner = None
        for k, a in enumerate(areas):
            if d == "y" and min(abs(x - a[0]) for x in tx) < 1 and a[1] - 1 <= ty <= a[3] + 1:
                owner = k
            if d == "x" and min(abs(y - a[3]) for y in ty) < 1 and a[0] - 1 <= tx <= a[2] + 1:
                owner = k
        key = (d, owner if owner is not None else round(tx[0] if d == "y" else ty[0]))
        axes.setdefault(key, []).append(s)
    for (d, k), labels in sorted(axes.items(), key=str):
        dup = sorted({s for s in labels if labels.count(s) > 1})
        if dup:
            where = "of plot area %d" % (k + 1) if isinstance(k, int) and k < len(areas) else ""
            bad.append("%s axis %s: tick labels repeat: %s (all: %s)" %
                       (d, where, ", ".join(dup), " ".join(labels)))
    if not areas:
        bad.append("no plot area found (not a gnuplot figure?)")
    for q, s, kind, _ in texts:
        if kind != "legend":
            continue
        if any(overlap(q, quad_of(a)) for a in areas):
            bad.append("legend entry %r lies on a plot area" % s)
        elif any(overlap(q, quad_of(m)) for m in marks):
            bad.append("legend entry %r covers a plotted point or bar" % s)
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if overlap(texts[i][0], texts[j][0], 1.0):
                bad.append("texts overlap: %r and %r" % (texts[i][1], texts[j][1]))
    return bad


def main(argv):
    files = []
    for a in argv:
        if os.path.isdir(a):
            files += sorted(os.path.join(a, f) for f in os.listdir(a) if f.endswith(".svg"))
        else:
            files.append(a)
    if not files:
        print("svg_check: no SVG files given", file=sys.stderr)
        return 2
    n = 0
    for f in files:
        for msg in check(f):
            print("%s: %s" % (f, msg))
            n += 1
    print("svg_check: %d file(s), %d defect(s)" % (len(files), n))
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
