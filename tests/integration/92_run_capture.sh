#!/usr/bin/env bash
# `run` with capture = on: every trial's trace opens in tshark with exactly the
# packet count its capture reported; the capture ran to the end of the trial
# (stopped by the harness's signal, not a bound) and reports its drops (none
# here: libpcap's dropped_kernel, pdump's ring full / no mbuf); DPDK goes
# through pdump (hugepages are reserved and given back) or in-process
# rte_pcapng; nothing left behind.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd tshark
drivers=kernel,afpacket
"$BB" doctor | grep -q '^  ok   dpdk' && drivers="$drivers,dpdk"
tmp=$(mktemp -d); trap '"$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
huge_before=$(cat /proc/sys/vm/nr_hugepages)
cat > "$tmp/s.ini" <<INI
[suite]
drivers = $drivers
repeats = 1
duration = 500ms
warmup = 100ms
capture = on
[workload ka-64]
path = /bytes/64
connections = 8
[driver afpacket]
version = 2
INI
"$BB" run "$tmp/s.ini" --out "$tmp/res" || fail "run with capture failed"
dir=$(ls -d "$tmp"/res/*/)
python3 - "$dir" <<'PY' > "$tmp/caps" || fail "trial records lack capture summaries"
import json, glob, sys
for p in sorted(glob.glob(sys.argv[1] + "/trials/*.json")):
    j = json.load(open(p))
    c = j["capture"]; m = c["summary"]
    if c["method"] == "libpcap":
        assert m["dropped_kernel"] == 0, (p, m)
        assert m["received_by_filter"] == m["packets"] + m["dropped_kernel"], (p, m)
    if c["method"] == "pdump":
        assert m["dropped_ringfull"] == 0 and m["dropped_nombuf"] == 0, (p, m)
        assert m["write_errors"] == 0 and m["accepted"] == m["packets"], (p, m)
    if c["method"] in ("libpcap", "pdump"):
        assert m["stopped_by"] == "signal", (p, m)
    print(c["file"], c["method"].replace(" ", "_"), m["packets"])
PY
while read -r file method packets; do
  [ -s "$file" ] || fail "no trace $file"
  n=$(tshark -r "$file" 2>/dev/null | wc -l)
  [ "$n" = "$packets" ] || fail "$file ($method): tshark reads $n packets, capture reported $packets"
  [ "$n" -gt 100 ] || fail "$file: only $n packets"
  echo "ok: $(basename "$file") $method $n packets"
done < "$tmp/caps"
[ "$(cat /proc/sys/vm/nr_hugepages)" = "$huge_before" ] || fail "hugepages not given back"
no_leftovers
echo ok
