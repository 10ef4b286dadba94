#!/usr/bin/env bash
# DPDK under our stack on the tap link (net_tap, kernel side in bb-gen) and
# the ring link (server and generator in one process over net_ring):
# keep-alive, CPS and a download checked byte for byte; wrk against the DPDK
# server over tap; a bad EAL argument or unknown PMD leaves nothing behind.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd wrk
"$BB" doctor | grep -q '^  ok   dpdk' || { echo "skip: dpdk driver not built ($("$BB" doctor | grep -m1 dpdk))"; exit 77; }
tmp=$(mktemp -d); trap 'topo_cleanup; rm -rf "$tmp"' EXIT
links=dpdk@tap
"$BB" help | grep -q '^  pair ' && links="$links,dpdk@ring"
cat > "$tmp/s.ini" <<INI
[suite]
drivers = $links
repeats = 1
duration = 1s
warmup = 200ms
[workload ka-64]
path = /bytes/64
connections = 16
[workload cps-64]
mode = cps
path = /bytes/64
connections = 8
[workload dl-256m]
mode = download
path = /bytes/256m
connections = 1
requests = 1
INI
"$BB" run "$tmp/s.ini" --out "$tmp/res" || fail "dpdk link suite failed"
for f in "$tmp"/res/*/trials/*.json; do grep -q '"status": "ok"' "$f" || fail "trial not ok: $f"; done

# wrk against the DPDK server over tap (the harness's tap wiring, by hand)
"$BB" topo up >/dev/null || fail "topo up"
ip -n bb-dut addr flush dev bb-dut0
ip netns exec bb-dut "$BB" serve --driver dpdk --ip 198.18.1.2/24 --listen 198.18.1.2:8080 --cpu 1 \
   --opt vdev=net_tap0,iface=bb-tap0 --json "$tmp/srv.json" & SERVER_PID=$!
for _ in $(seq 100); do ip -n bb-dut -o link show bb-tap0 2>/dev/null | grep -q ',UP' && break; sleep 0.1; done
ip -n bb-dut link set bb-tap0 netns bb-gen || fail "move tap"
ip -n bb-gen addr add 198.18.1.1/24 dev bb-tap0 && ip -n bb-gen link set bb-tap0 up || fail "tap addr"
for _ in $(seq 50); do ip netns exec bb-gen curl -sf -o /dev/null http://198.18.1.2:8080/bytes/1 && break; sleep 0.1; done
out=$(ip netns exec bb-gen taskset -c 0 wrk -t1 -c16 -d2s http://198.18.1.2:8080/bytes/1k)
echo "$out"
echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors over tap"
[ "$(echo "$out" | awk '/requests in/ {print $1}')" -gt 100 ] || fail "too few wrk requests over tap"
kill $SERVER_PID; wait $SERVER_PID; SERVER_PID=
python3 - "$tmp/srv.json" <<'PY' || fail "mbuf leak: mempool in use not back to baseline"
import json, sys
c = json.load(open(sys.argv[1]))["driver_counters"]
# The PMD keeps RX descriptors filled: compare with the count right after start.
assert c["mbufs_in_use"] == c["mbufs_baseline"], (c["mbufs_in_use"], c["mbufs_baseline"])
PY

# a bad EAL argument and an unknown PMD: clear errors, nothing left behind
out=$(ip netns exec bb-dut "$BB" serve --driver dpdk --ip 198.18.0.2/24 --opt "eal=--bogus-arg" 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q -- "--bogus-arg" || fail "bad EAL argument not reported: $out"
out=$(ip netns exec bb-dut "$BB" serve --driver dpdk --ip 198.18.0.2/24 --opt vdev=net_nosuch0 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -qi "nosuch" || fail "unknown PMD not reported: $out"
ls /var/run/dpdk/bb* /dev/hugepages/bb* 2>/dev/null && fail "DPDK files left behind"
ip -n bb-gen link show bb-tap0 2>/dev/null && fail "tap device left behind"
"$BB" topo down >/dev/null; no_leftovers
echo ok
