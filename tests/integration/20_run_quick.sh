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
no_leftovers
echo ok
