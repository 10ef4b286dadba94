#!/usr/bin/env bash
# Capture (DESIGN §8), on the veth topology:
#  1. kernel path: `bypassbench capture` (libpcap, TPACKET_V3 blocks) on
#     bb-dut0 around a short `load -n 100 -c 1`; tshark opens the pcap, its
#     count equals the JSON sidecar's (the last partial block is read on the
#     stop), no drops, seen = written + dropped, and `bypassbench trace` sees
#     1 handshake and >= 200 packets; then drops are counted, not hidden: a
#     stopped capture process with a one-block ring under 20000 requests
#     reports kernel drops, and written + dropped = seen still holds;
#  2. DPDK in-process capture (capture=FILE.pcapng on net_af_packet over
#     bb-dut0): tshark opens it and its count equals the port's rx+tx frames
#     from serve's JSON; with capture_count=50 it holds exactly 50;
#  3. DPDK multi-process: hugepages reserved and mounted, the server with
#     pdump=1, `bypassbench pdump` as a secondary writes pcapng; if hugepages
#     cannot be had, parts 1 and 2 still run and the test then reports a skip
#     (exit 77) with the reason, never a pass. Hugepages, their files and the
#     runtime directory are given back.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd tshark
tmp=$(mktemp -d); chmod 755 "$tmp"
PFX=bbcap$$
CAP_PID=
cleanup() {
  [ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null
  topo_cleanup
  "$BB" pdump --release-hugepages --file-prefix "$PFX" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
wait_file() { for _ in $(seq 100); do [ -f "$1" ] && return 0; sleep 0.1; done; fail "$2 did not become ready"; }
# Frames tshark reads; its complaints (not the as-root warning) in $tmp/tshark.err.
tshark_count() {
  tshark -r "$1" -T fields -e frame.number 2>"$tmp/tshark.raw" | wc -l
  grep -v 'Running as user' "$tmp/tshark.raw" >"$tmp/tshark.err" || true
}
load() { ip netns exec bb-gen "$BB" load -q -n 100 -c 1 --warmup 0 "$@" http://198.18.0.2:8080/bytes/64 || fail "load"; }
# A DPDK server in bb-dut on net_af_packet over bb-dut0 (no kernel address).
start_dpdk() { start_server 8080 --driver dpdk --ip 198.18.0.2/24 --opt vdev=net_af_packet0,iface=bb-dut0 --opt exc=off "$@"; }
stop_server() { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || fail "server exit status"; SERVER_PID=; }

"$BB" topo up >/dev/null || fail "topo up"

# --- 1. kernel path, libpcap ---
start_server 8080
ip netns exec bb-dut "$BB" capture --iface bb-dut0 --out "$tmp/k.pcap" --snaplen 128 \
  --count 100000 --duration 60s --ready "$tmp/k.ready" 2>"$tmp/k.err" &
CAP_PID=$!
wait_file "$tmp/k.ready" "capture"
load
sleep 0.3
kill -TERM "$CAP_PID"; wait "$CAP_PID" || fail "capture exit status: $(cat "$tmp/k.err")"; CAP_PID=
cat "$tmp/k.err"
[ "$(wc -l <"$tmp/k.err")" = 1 ] || fail "capture printed more than its summary line"
n=$(jget "$tmp/k.json" 'j["packets"]')
[ "$(jget "$tmp/k.json" 'j["stopped_by"]')" = signal ] || fail "capture did not stop on SIGTERM"
[ "$(jget "$tmp/k.json" 'j["snaplen"]')" = 128 ] || fail "snaplen not in the sidecar"
[ "$(jget "$tmp/k.json" 'j["dropped_kernel"]')" = 0 ] || fail "capture dropped packets"
[ "$(jget "$tmp/k.json" 'j["received_by_filter"] == j["packets"] + j["dropped_kernel"]')" = True ] ||
  fail "seen != written + dropped: $(cat "$tmp/k.json")"
t=$(tshark_count "$tmp/k.pcap"); [ -s "$tmp/tshark.err" ] && fail "tshark: $(cat "$tmp/tshark.err")"
[ "$t" = "$n" ] || fail "tshark counts $t packets, capture's JSON $n"
"$BB" trace --json "$tmp/k.pcap" >"$tmp/k.trace" || fail "trace"
[ "$(jget "$tmp/k.trace" 'j["handshakes"]')" = 1 ] || fail "trace: handshakes $(jget "$tmp/k.trace" 'j["handshakes"]'), want 1"
[ "$(jget "$tmp/k.trace" 'j["packets"]')" -ge 200 ] || fail "trace: fewer than 200 packets"
[ "$(jget "$tmp/k.trace" 'j["packets"]')" = "$n" ] || fail "trace and capture disagree on the count"
"$BB" trace "$tmp/k.pcap" | head -3
# Drops are reported: the capture process is stopped (SIGSTOP) while 20000
# requests (40000+ frames, ~8 MB of headers) go by a 256 KiB ring.
ip netns exec bb-dut "$BB" capture --iface bb-dut0 --out "$tmp/kd.pcap" --buffer 256 \
  --ready "$tmp/kd.ready" 2>"$tmp/kd.err" &
CAP_PID=$!
wait_file "$tmp/kd.ready" "capture"
kill -STOP "$CAP_PID"
ip netns exec bb-gen "$BB" load -q -n 20000 -c 4 --warmup 0 http://198.18.0.2:8080/bytes/64 || fail "load"
kill -CONT "$CAP_PID"; sleep 0.3
kill -TERM "$CAP_PID"; wait "$CAP_PID" || fail "capture exit status: $(cat "$tmp/kd.err")"; CAP_PID=
cat "$tmp/kd.err"
grep -q 'dropped by kernel ([0-9.]*%)' "$tmp/kd.err" || fail "summary line lacks the drop rate"
d=$(jget "$tmp/kd.json" 'j["dropped_kernel"]'); n=$(jget "$tmp/kd.json" 'j["packets"]')
[ "$d" -gt 0 ] || fail "a stopped capture with a 256 KiB ring reported no drops"
[ "$(jget "$tmp/kd.json" 'j["received_by_filter"] == j["packets"] + j["dropped_kernel"]')" = True ] ||
  fail "seen != written + dropped: $(cat "$tmp/kd.json")"
[ "$(tshark_count "$tmp/kd.pcap")" = "$n" ] || fail "tshark count differs from the capture's with drops"
stop_server

# --- 2. DPDK in-process capture (no hugepages needed) ---
ip -n bb-dut addr flush dev bb-dut0
for bound in 0 50; do
  f=$tmp/d$bound.pcapng
  start_dpdk --opt capture="$f" --opt capture_snaplen=128 --opt capture_count=$bound --json "$tmp/d$bound.json"
  load
  stop_server
  rx=$(jget "$tmp/d$bound.json" 'j["driver_counters"]["rx_frames"]')
  tx=$(jget "$tmp/d$bound.json" 'j["driver_counters"]["tx_frames"]')
  cf=$(jget "$tmp/d$bound.json" 'j["driver_counters"]["capture_frames"]')
  over=$(jget "$tmp/d$bound.json" 'j["driver_counters"]["capture_over_count"]')
  t=$(tshark_count "$f"); [ -s "$tmp/tshark.err" ] && fail "tshark on $f: $(cat "$tmp/tshark.err")"
  echo "dpdk in-process capture (bound $bound): rx $rx + tx $tx frames, captured $cf (over the bound $over), tshark $t"
  [ "$t" = "$cf" ] || fail "tshark counts $t, capture_frames $cf"
  if [ "$bound" = 0 ]; then
    [ "$cf" = $((rx + tx)) ] || fail "captured $cf frames, the port moved $((rx + tx))"
    [ "$(jget "$tmp/d0.json" 'j["stats"]["requests_parsed"]')" -ge 100 ] || fail "too few requests parsed"
    "$BB" trace --json "$f" >"$tmp/d.trace" || fail "trace on pcapng"
    [ "$(jget "$tmp/d.trace" 'j["packets"]')" = "$cf" ] || fail "trace count differs"
    [ "$(jget "$tmp/d.trace" 'j["handshakes"]')" -ge 1 ] || fail "no handshake in the pcapng"
    [ "$(jget "$tmp/d.trace" 'abs(j["first_s"] - __import__("time").time()) < 3600')" = True ] || fail "pcapng timestamps are off the clock"
  else
    [ "$cf" = "$bound" ] || fail "capture_count=$bound wrote $cf"
    [ $((cf + over)) = $((rx + tx)) ] || fail "captured $cf + over $over != rx+tx $((rx + tx))"
  fi
done

# --- 3. DPDK multi-process: pdump secondary ---
HP_BEFORE=$(cat /proc/sys/vm/nr_hugepages)
if ! got=$("$BB" pdump --hugepages 128 2>"$tmp/h.err"); then
  PDUMP_SKIPPED="cannot reserve hugepages ($(cat "$tmp/h.err") got ${got:-0})"
else
  start_dpdk --opt pdump=1 --opt file_prefix="$PFX" --opt mem=128 --json "$tmp/p-srv.json"
  ip netns exec bb-dut "$BB" pdump --file-prefix "$PFX" --out "$tmp/p.pcapng" --snaplen 128 \
    --count 100000 --duration 60s --ready "$tmp/p.ready" 2>"$tmp/p.err" &
  CAP_PID=$!
  wait_file "$tmp/p.ready" "pdump"
  load
  sleep 0.3
  kill -TERM "$CAP_PID"; wait "$CAP_PID" || fail "pdump exit status: $(cat "$tmp/p.err")"; CAP_PID=
  stop_server
  cat "$tmp/p.err"
  n=$(jget "$tmp/p.json" 'j["packets"]')
  [ "$(jget "$tmp/p.json" 'j["dropped_ringfull"] + j["dropped_nombuf"]')" = 0 ] || fail "pdump dropped frames"
  t=$(tshark_count "$tmp/p.pcapng"); [ -s "$tmp/tshark.err" ] && fail "tshark: $(cat "$tmp/tshark.err")"
  [ "$t" = "$n" ] || fail "tshark counts $t, pdump $n"
  rx=$(jget "$tmp/p-srv.json" 'j["driver_counters"]["rx_frames"]')
  tx=$(jget "$tmp/p-srv.json" 'j["driver_counters"]["tx_frames"]')
  [ "$n" -le $((rx + tx)) ] || fail "pdump wrote $n frames, the port moved only $((rx + tx))"
  "$BB" trace --json "$tmp/p.pcapng" >"$tmp/p.trace" || fail "trace on pdump pcapng"
  [ "$(jget "$tmp/p.trace" 'j["handshakes"]')" = 1 ] || fail "pdump trace: handshakes != 1"
  [ "$(jget "$tmp/p.trace" 'j["packets"]')" -ge 200 ] || fail "pdump trace: fewer than 200 packets"
  [ "$(jget "$tmp/p.trace" 'abs(j["first_s"] - __import__("time").time()) < 3600')" = True ] || fail "pdump timestamps are off the clock"
  # The server's EAL removed its hugepage files and runtime directory on exit.
  ls /dev/hugepages/"$PFX"map_* >/dev/null 2>&1 && fail "hugepage files left behind"
  [ -e /var/run/dpdk/"$PFX" ] && fail "DPDK runtime directory left behind"
  "$BB" pdump --release-hugepages --file-prefix "$PFX" || fail "release hugepages"
  [ "$(cat /proc/sys/vm/nr_hugepages)" = "$HP_BEFORE" ] || fail "nr_hugepages not restored"
fi
topo_cleanup; SERVER_PID=
no_leftovers
[ -z "${PDUMP_SKIPPED:-}" ] || { echo "skip: parts 1 and 2 passed; part 3 (pdump) not run: $PDUMP_SKIPPED"; exit 77; }
echo ok
