#!/usr/bin/env bash
# DPDK on hugepages (dpdk option huge = 1: --in-memory instead of --no-huge).
#  - `pair --opt huge=1`: both ends of the ring pair ask for it; the second
#    open shares the EAL the first started (it used to be refused because
#    the two ends' --lcores differ); 64 MiB download, checked byte for byte;
#  - `run` with a row whose [driver dpdk+huge] says huge = 1: the harness
#    reserves the hugepages before the first trial and gives them back after
#    the last (nr_hugepages as before), the row's trials pass, the record
#    names the option, and the other row runs --no-huge.
source "$(dirname "$0")/lib.sh"
need_root
"$BB" doctor 2>/dev/null | grep -qE '^  ok   dpdk:' ||
  { echo "skip: the dpdk driver is not built in or not usable"; exit 77; }
tmp=$(mktemp -d)
before=$(cat /proc/sys/vm/nr_hugepages)
trap 'echo "$before" > /proc/sys/vm/nr_hugepages; "$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT

echo 256 > /proc/sys/vm/nr_hugepages
"$BB" pair -q --download --path /bytes/64m --opt huge=1 --client-json "$tmp/c.json" \
  > "$tmp/pair.log" 2>&1 || { cat "$tmp/pair.log"; fail "pair --opt huge=1 failed"; }
python3 - "$tmp/c.json" <<'PY' || fail "pair on hugepages: bad result"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["ok"] and c["errors_total"] == 0 and c["body_bytes"] == 64 << 20, c.get("errors")
print("pair on hugepages: 64 MiB, %.1f Gbit/s, 0 errors" % c["gbps"])
PY
echo "$before" > /proc/sys/vm/nr_hugepages

cat > "$tmp/huge.ini" <<'INI'
[suite]
name = ring-huge
drivers = dpdk@ring,dpdk+huge@ring
repeats = 1
duration = 500ms
warmup = 200ms

[workload dl]
mode = download
path = /bytes/64m
connections = 1
requests = 1

[driver dpdk+huge]
huge = 1
INI
"$BB" run "$tmp/huge.ini" --out "$tmp/res" > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "run failed"; }
grep -q "dpdk: row dpdk+huge@ring on hugepages" "$tmp/run.log" || { cat "$tmp/run.log"; fail "no hugepage line"; }
[ "$(cat /proc/sys/vm/nr_hugepages)" = "$before" ] || fail "nr_hugepages $(cat /proc/sys/vm/nr_hugepages), was $before"
python3 - "$tmp"/res/*/trials <<'PY' || fail "records (above)"
import glob, json, os, sys
recs = {json.load(open(p))["driver"]: json.load(open(p)) for p in glob.glob(os.path.join(sys.argv[1], "*.json"))}
assert set(recs) == {"dpdk-ring", "dpdk+huge-ring"}, sorted(recs)
for d, j in recs.items():
    assert j["status"] == "ok", (d, j.get("failure"))
    assert j["metrics"]["errors"] == 0, d
assert "huge=1" in recs["dpdk+huge-ring"]["driver_options"], recs["dpdk+huge-ring"]["driver_options"]
assert "huge=1" not in (recs["dpdk-ring"].get("driver_options") or []), recs["dpdk-ring"]["driver_options"]
print("run: %s" % ", ".join("%s %.1f Gbit/s" % (d, j["metrics"]["gbps"]) for d, j in sorted(recs.items())))
PY

no_leftovers
echo "ok: dpdk on hugepages (pair and run), reserved and given back"
