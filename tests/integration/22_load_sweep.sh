#!/usr/bin/env bash
# A load sweep end to end: the open-loop points get their rates from the
# closed-loop capacity the same driver reached in the same run (kernel and,
# where DPDK is usable, dpdk@ring: two drivers, two capacities), the records
# say where each rate came from, and the loadlat figure and the report's
# table are there and pass the SVG check.
source "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap '"$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
drivers=kernel; ndrv=1
if "$BB" doctor 2>/dev/null | grep -qE '^  ok   dpdk:'; then drivers=kernel,dpdk@ring; ndrv=2; fi
cat >"$tmp/sweep.ini" <<INI
[suite]
name = sweep
drivers = $drivers
repeats = 1
duration = 1s
warmup = 200ms
p99_target = 2ms
[workload cap]
mode = closed
path = /bytes/64
connections = 8
[workload lat]
mode = open
path = /bytes/64
connections = 8
capacity = cap
loads = 20%,60%
INI
"$BB" run "$tmp/sweep.ini" --out "$tmp" || fail "the sweep run failed"
dir=$(ls -d "$tmp"/*/ | head -1)
n=$(ls "$dir"/trials/*.json | wc -l)
[ "$n" = $((3 * ndrv)) ] || fail "expected $((3 * ndrv)) records (cap, lat-20pct, lat-60pct x $drivers), got $n"
python3 - "$dir" "$ndrv" <<'PY' || fail "a sweep point's rate is not its share of its own driver's capacity"
import json, sys
d = sys.argv[1] + "/trials/"
for drv in ("kernel", "dpdk-ring")[:int(sys.argv[2])]:
    cap = json.load(open(d + "cap-%s-r1.json" % drv))["metrics"]["rps"]
    for pct in (20, 60):
        w = json.load(open(d + "lat-%dpct-%s-r1.json" % (pct, drv)))["workload"]
        assert w["sweep"] == "lat" and w["capacity_of"] == "cap", w
        assert abs(w["capacity_rps"] - cap) < 1e-6 * cap, (w, cap)
        assert abs(w["load"] - pct / 100) < 1e-9, w
        assert w["rate"] == round(cap * pct / 100), (w, cap)
PY
[ "$(tail -n +2 "$dir/plots/loadlat.csv" | wc -l)" = $((6 * ndrv)) ] ||
  fail "loadlat.csv: expected $((6 * ndrv)) rows ($ndrv drivers x 3 percentiles x 2 loads)"
grep -q '^## Latency against offered load' "$dir/REPORT.md" || fail "no latency-under-load table"
grep -q 'Target: p99 ≤ 2.00 ms' "$dir/REPORT.md" || fail "the table does not state the suite's target"
grep -q '^| kernel | ' "$dir/REPORT.md" || fail "no kernel row"
grep -q 'lat (load sweep, p99 ≤ 2.00 ms)' "$dir/REPORT.md" || fail "the summary has no sweep row"
python3 tests/harness/analysis/svg_check.py "$dir/plots" || fail "the sweep run's figures fail the SVG check"
no_leftovers
echo ok
