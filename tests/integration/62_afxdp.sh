#!/usr/bin/env bash
# Our stack over AF_XDP on the veth wire, the DUT kernel keeping its address
# on the same interface (the XDP program takes only our ports):
#  - as server: wrk and curl against it with zero errors, a 1 GiB download
#    checked byte for byte; meanwhile ping and a kernel TCP service on
#    another port are answered by the DUT kernel, and the program counts
#    those frames as not ours;
#  - as client: our generator on afxdp against nginx (every body checked);
#  - no XDP program is left after each stop: a normal one, an error after
#    the program was attached, and kill -9 followed by `topo down` (which
#    also detaches a program a crash left attached through netlink).
source "$(dirname "$0")/lib.sh"
need_root; need_cmd wrk; need_cmd nginx; need_cmd python3
"$BB" doctor | grep -q '^  ok   afxdp' || { echo "skip: afxdp driver not available ($("$BB" doctor | grep afxdp))"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
LEFT=bb-xdpleft0 # a root-namespace interface with a leftover program, for topo down
cleanup() {
  stop_nginx "$tmp"
  [ -n "${KPID:-}" ] && kill "$KPID" 2>/dev/null
  ip link del "$LEFT" 2>/dev/null
  topo_cleanup; rm -rf "$tmp"
}
trap cleanup EXIT
check_json() { python3 - "$1" "$2" <<'PY' || fail "errors in: $2"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["errors_total"] == 0, (sys.argv[2], j["errors"])
assert j["requests"] > 0, sys.argv[2]
PY
}
# Every XDP program on a bb-* interface, in any namespace or the root one.
xdp_progs() {
  { ip -o link show | grep ' bb-'
    for ns in $(ip netns list | awk '/^bb-/ {print $1}'); do ip -n "$ns" -o link show; done
  } 2>/dev/null | grep -o '^[0-9]*: [^:@]*\|prog/xdp id [0-9]*' | paste -sd' ' | grep -o '[0-9]*: [^ ]* prog/xdp id [0-9]*' || true
}
no_xdp() { local left; left=$(xdp_progs); [ -z "$left" ] || fail "XDP program left after $1: $left"; }
SERVE="--driver afxdp --iface bb-dut0 --ip 198.18.0.2/24"

"$BB" topo up >/dev/null || fail "topo up"   # bb-dut0 keeps 198.18.0.2 for the kernel

# --- 1. server, normal stop --------------------------------------------------
ip netns exec bb-dut "$BB" serve --listen 198.18.0.2:8080 --cpu 1 $SERVE --json "$tmp/s.json" &
SERVER_PID=$!
for _ in $(seq 100); do
  ip netns exec bb-gen curl -sf -o /dev/null http://198.18.0.2:8080/bytes/1 && break; sleep 0.1
done
[ -n "$(xdp_progs)" ] || fail "no XDP program on bb-dut0 while the afxdp server runs"
for path in /bytes/64 /bytes/64k; do
  out=$(ip netns exec bb-gen taskset -c 0 wrk -t1 -c16 -d2s "http://198.18.0.2:8080$path")
  echo "$out"
  echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors on $path"
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  [ "${reqs:-0}" -gt 100 ] || fail "wrk completed too few requests on $path: $reqs"
done
ip netns exec bb-gen curl -sf http://198.18.0.2:8080/bytes/1m -o "$tmp/a.bin" || fail "curl"
ip netns exec bb-gen curl -sf -H 'Connection: close' http://198.18.0.2:8080/bytes/1m -o "$tmp/b.bin" || fail "curl (close)"
cmp "$tmp/a.bin" "$tmp/b.bin" && [ "$(stat -c %s "$tmp/a.bin")" = 1048576 ] || fail "curl bodies differ"
pattern_files 8080 "$tmp/www" 1k # for nginx below: load checks every byte
ip netns exec bb-gen "$BB" load --cpu 0 --download --json "$tmp/d.json" http://198.18.0.2:8080/bytes/1g || fail "1 GiB download from the afxdp server"
check_json "$tmp/d.json" "1 GiB from the afxdp server"
# The DUT kernel, same interface and address: ping and its own TCP service.
ip netns exec bb-gen ping -c 3 -i 0.2 -W 1 198.18.0.2 >/dev/null || fail "the DUT kernel did not answer ping beside afxdp"
echo kernel-side > "$tmp/k.txt"
ip netns exec bb-dut python3 -m http.server 8081 --bind 198.18.0.2 --directory "$tmp" >/dev/null 2>&1 &
KPID=$!
got=""
for _ in $(seq 50); do
  got=$(ip netns exec bb-gen curl -sf -m 2 http://198.18.0.2:8081/k.txt) && break; sleep 0.1
done
[ "$got" = kernel-side ] || fail "the DUT kernel's TCP service on 8081 did not answer beside afxdp"
ip netns exec bb-gen curl -sf -o /dev/null http://198.18.0.2:8080/bytes/1k || fail "our server stopped answering while the kernel served 8081"
kill "$KPID"; wait "$KPID" 2>/dev/null; KPID=
kill "$SERVER_PID"; wait "$SERVER_PID" || fail "afxdp server exited with $?"; SERVER_PID=
no_xdp "a normal stop"
python3 - "$tmp/s.json" <<'PY' || fail "afxdp counters"
import json, sys
dc = json.load(open(sys.argv[1]))["driver_counters"]
print("afxdp ran: zerocopy=%d native_xdp=%d need_wakeup=%d; redirected %d, not ours: icmp/udp %d, kernel ports %d, not ipv4 %d; arp copies %d"
      % (dc["mode_zerocopy"], dc["mode_xdp_native"], dc["mode_need_wakeup"], dc["xdp_redirect"],
         dc["xdp_pass_not_tcp"], dc["xdp_pass_port_other"], dc["xdp_pass_not_ipv4"], dc["xdp_arp_copied"]))
assert dc["xdp_redirect"] > 0, "nothing redirected to the socket"
assert dc["xdp_pass_not_tcp"] >= 3, "pings not counted as not ours"
assert dc["xdp_pass_port_other"] > 0, "the kernel's port 8081 not counted as not ours"
assert dc["mode_zerocopy"] == 0, "veth has no zero-copy AF_XDP: the record must say copy"
assert dc["xdp_drop_no_socket"] == 0 and dc["xsk_rx_ring_full"] == 0, dc
PY

# --- 2. an error after the program was attached --------------------------------
# The pktio opens (program attached), then listen fails: not our address.
if ip netns exec bb-dut "$BB" serve --listen 198.18.0.9:8080 $SERVE >"$tmp/err.log" 2>&1; then
  fail "serve listening on an address not its own succeeded"
fi
grep -q 'not our address' "$tmp/err.log" || fail "unexpected error: $(cat "$tmp/err.log")"
no_xdp "an error in serve"

# --- 3. our generator on afxdp against nginx (198.18.0.3 beside the kernel's .1) ---
start_nginx "$tmp" 8082 "$tmp/www"
LOAD="ip netns exec bb-gen $BB load --driver afxdp --iface bb-gen0 --ip 198.18.0.3/24 --cpu 0"
for args in "-c 16 -d 2s --warmup 200ms http://198.18.0.2:8082/bytes/1k" \
            "--close -c 8 -d 1s --warmup 100ms http://198.18.0.2:8082/bytes/1k"; do
  $LOAD --json "$tmp/out.json" $args || fail "load on afxdp $args"
  check_json "$tmp/out.json" "$args"
done
stop_nginx "$tmp"
no_xdp "the afxdp generator"

# --- 4. a run: afxdp and dpdk over net_af_xdp (dpdk@xdp), planned by the harness ---
cat > "$tmp/suite.ini" <<INI
[suite]
name = afxdp-smoke
drivers = afxdp,dpdk@xdp
repeats = 1
duration = 1s
warmup = 200ms
[workload ka-64]
mode = closed
path = /bytes/64
connections = 16
INI
"$BB" run "$tmp/suite.ini" --out "$tmp/res" > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "bypassbench run afxdp,dpdk@xdp"; }
grep -q '2 trials, 0 failed' "$tmp/run.log" || { cat "$tmp/run.log"; fail "a trial failed"; }
no_xdp "bypassbench run" # run ends with topo down
"$BB" topo up >/dev/null || fail "topo up"

# --- 5. DPDK's net_af_xdp attaches through netlink: kill -9 leaves its program ---
ip netns exec bb-dut "$BB" serve --listen 198.18.0.2:8080 --cpu 1 --driver dpdk --ip 198.18.0.2/24 \
  --opt vdev=net_af_xdp0,iface=bb-dut0 > "$tmp/dpdk.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  ip netns exec bb-gen curl -sf -o /dev/null http://198.18.0.2:8080/bytes/1 && break; sleep 0.1
done
ip netns exec bb-gen curl -sf -o /dev/null http://198.18.0.2:8080/bytes/64k || { cat "$tmp/dpdk.log"; fail "dpdk over net_af_xdp did not serve"; }
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
[ -n "$(xdp_progs)" ] || fail "expected net_af_xdp's program to outlive kill -9 (then topo down has nothing to prove)"
"$BB" topo down >/dev/null || fail "topo down over the leftover"
no_xdp "kill -9 of a DPDK net_af_xdp server and topo down"
"$BB" topo up >/dev/null || fail "topo up"

# --- 6. kill -9, then topo down ----------------------------------------------
ip netns exec bb-dut "$BB" serve --listen 198.18.0.2:8080 --cpu 1 $SERVE &
SERVER_PID=$!
for _ in $(seq 100); do
  ip netns exec bb-gen curl -sf -o /dev/null http://198.18.0.2:8080/bytes/1 && break; sleep 0.1
done
[ -n "$(xdp_progs)" ] || fail "no XDP program on bb-dut0 before kill -9"
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
# A program attached through netlink outlives its process (DPDK's
# net_af_xdp does that); topo down must detach it, here on a root-ns bb-* link.
ip link add "$LEFT" type veth peer name "${LEFT%0}1" || fail "leftover veth"
ip link set dev "$LEFT" xdpgeneric obj "$BUILD/drivers/bpf/afxdp_redirect.bpf.o" sec xdp || fail "attach a leftover program"
[ -n "$(xdp_progs)" ] || fail "the leftover program is not visible"
"$BB" topo down >/dev/null || fail "topo down"
no_xdp "kill -9 and topo down"
ip link del "$LEFT"
no_leftovers
echo ok
