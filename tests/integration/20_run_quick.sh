#!/usr/bin/env bash
# `bypassbench run --quick` end to end: every trial ok, records and summary written,
# both sides agree, nothing left behind.
source "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap '"$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$BB" run suites/quick.ini --quick --out "$tmp" || fail "run --quick failed"
dir=$(ls -d "$tmp"/*/ | head -1)
n=$(ls "$dir"/trials/*.json | wc -l)
[ "$n" = 20 ] || fail "expected 20 trial records (5 workloads x kernel,afpacket,dpdk,dpdk@ring), got $n"
for f in "$dir"/trials/*.json; do
  grep -q '"status": "ok"' "$f" || fail "trial not ok: $f"
done
head -1 "$dir/summary.csv" | grep -q '^workload,driver' || fail "summary.csv header"
[ "$(wc -l < "$dir/summary.csv")" = 21 ] || fail "summary.csv should have 20 rows"
grep -q '"kernel"' "$dir/env.json" || fail "env.json lacks kernel"
# the run ends with a report that lists every trial, and its figures
[ -s "$dir/REPORT.md" ] || fail "no REPORT.md"
for f in "$dir"/trials/*.json; do
  t=$(basename "$f" .json)
  grep -q "$t" "$dir/REPORT.md" || fail "REPORT.md does not list trial $t"
done
ls "$dir"/plots/throughput-1col.pdf "$dir"/plots/throughput-1col.svg "$dir"/plots/throughput-1col.png >/dev/null \
  || fail "figures missing from $dir/plots"
head -c 4 "$dir/plots/throughput-1col.pdf" | grep -q '%PDF' || fail "throughput PDF is not a PDF"
# the figures as a reviewer looks at them: no clipped text, distinct tick
# labels, no legend on the data (every figure, both widths)
[ "$(ls "$dir"/plots/*.svg | wc -l)" = 14 ] || fail "expected 14 SVGs (7 figures x 2 widths)"
python3 tests/harness/analysis/svg_check.py "$dir/plots" || fail "the fresh run's figures fail the SVG check"
python3 - "$dir" <<'PY' || fail "records lack CPU accounting or the generator flag"
import json, glob, sys
for p in glob.glob(sys.argv[1] + "/trials/*.json"):
    j = json.load(open(p))
    assert j["cpu"]["method"] in ("perf_event_cycles", "proc_stat_busy_x_tsc"), p
    assert isinstance(j["generator_saturated"], bool), p
PY
no_leftovers
echo ok
