#!/usr/bin/env bash
# Our stack over AF_PACKET on the veth wire, against real peers:
#  - as server: wrk and curl against it, and a 1 GiB download checked byte for byte;
#  - as client: our generator on afpacket against nginx (pattern files, every
#    body checked) and a 1 GiB download from a kernel-socket server.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd wrk; need_cmd nginx
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available ($("$BB" doctor | grep afpacket))"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() { stop_nginx "$tmp"; topo_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT
check_json() { python3 - "$1" "$2" <<'PY' || fail "errors in: $2"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["errors_total"] == 0, (sys.argv[2], j["errors"])
assert j["requests"] > 0, sys.argv[2]
PY
}
"$BB" topo up >/dev/null || fail "topo up"

# --- our stack as the server (the DUT veth has no kernel address) ---
ip -n bb-dut addr flush dev bb-dut0
start_server 8080 --driver afpacket --iface bb-dut0 --ip 198.18.0.2/24
for path in /bytes/64 /bytes/64k; do
  out=$(ip netns exec bb-gen taskset -c 0 wrk -t1 -c16 -d2s "http://198.18.0.2:8080$path")
  echo "$out"
  echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors on $path"
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  [ "${reqs:-0}" -gt 100 ] || fail "wrk completed too few requests on $path: $reqs"
done
ip netns exec bb-gen curl -sf http://198.18.0.2:8080/bytes/1m -o "$tmp/a.bin" || fail "curl"
[ "$(stat -c %s "$tmp/a.bin")" = 1048576 ] || fail "curl body size"
ip netns exec bb-gen "$BB" load --cpu 0 --download --json "$tmp/d.json" http://198.18.0.2:8080/bytes/1g || fail "1 GiB download from the afpacket server"
check_json "$tmp/d.json" "1 GiB from afpacket server"
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=

# --- SACK with Linux as the receiver: our server loses every 100th data
# segment it sends (TEST ONLY test_drop_every); Linux SACKs the holes, our
# stack must parse its blocks and resend from the scoreboard. (Each hole
# costs about 1 ms here: the SACKs wait for AF_PACKET's TPACKET_V3 block
# timeout, retire_tov_ms=1, so the transfer is kept small.) ---
start_server 8080 --driver afpacket --iface bb-dut0 --ip 198.18.0.2/24 --opt test_drop_every=100 --json "$tmp/lossy_srv.json"
ip netns exec bb-gen "$BB" load --cpu 0 --download --json "$tmp/ld.json" http://198.18.0.2:8080/bytes/16m || fail "16 MiB download from a lossy afpacket server"
check_json "$tmp/ld.json" "16 MiB from lossy afpacket server"
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
python3 - "$tmp/lossy_srv.json" "$tmp/ld.json" <<'PY' || fail "SACK from Linux not used"
import json, sys
c = json.load(open(sys.argv[1]))["driver_counters"]
d = json.load(open(sys.argv[2]))
show = {k: c.get(k) for k in ("sack_permitted", "test_dropped_tx", "sack_blocks_rcvd", "sack_recoveries",
                              "sack_retransmits", "retransmits", "timeouts", "tlp_probes")}
print("lossy server: download %.3f s; %s" % (d.get("measured_ns", 0) / 1e9, show))
assert c["sack_permitted"] >= 1, "Linux's SYN offered SACK and we did not agree"
assert c["test_dropped_tx"] > 0, "nothing was dropped"
assert c["sack_blocks_rcvd"] > 0, "no SACK block from Linux parsed"
assert c["sack_retransmits"] > 0, "no hole resent from the scoreboard"
PY

# --- our stack as the client (198.18.0.3 on bb-gen0, beside the kernel's .1) ---
ip -n bb-dut addr add 198.18.0.2/24 dev bb-dut0
start_server 8080
LOAD="ip netns exec bb-gen $BB load --driver afpacket --iface bb-gen0 --ip 198.18.0.3/24 --cpu 0"
$LOAD --download --json "$tmp/c.json" http://198.18.0.2:8080/bytes/1g || fail "1 GiB download as afpacket client"
check_json "$tmp/c.json" "1 GiB as afpacket client"
# --- SACK with Linux as the sender: our client loses every 50th data segment
# it receives; it must SACK the holes and Linux must recover with them ---
sackrec() { ip netns exec bb-dut nstat -asz TcpExtTCPSackRecovery | awk '/TcpExtTCPSackRecovery/ {print $2}'; }
r0=$(sackrec)
$LOAD --opt test_drop_every=50 --download --json "$tmp/cl.json" http://198.18.0.2:8080/bytes/64m || fail "64 MiB download as a lossy afpacket client"
check_json "$tmp/cl.json" "64 MiB as lossy afpacket client"
r1=$(sackrec)
python3 - "$tmp/cl.json" "${r0:-0}" "${r1:-0}" <<'PY' || fail "our SACK blocks not used by Linux"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["driver_counters"]
show = {k: c.get(k) for k in ("sack_permitted", "test_dropped_rx", "sack_acks_sent", "ooo_queued")}
rec = int(sys.argv[3]) - int(sys.argv[2])
print("lossy client: download %.3f s; %s; Linux TCPSackRecovery +%d" % (d.get("measured_ns", 0) / 1e9, show, rec))
assert c["sack_permitted"] >= 1, "our SYN did not carry SACK-permitted (Linux did not answer with it)"
assert c["test_dropped_rx"] > 0, "nothing was dropped"
assert c["sack_acks_sent"] > 0, "we sent no SACK block"
assert rec > 0, "Linux never entered SACK recovery"
PY
pattern_files 8080 "$tmp/www" 64 1k 64k
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
start_nginx "$tmp" 8081 "$tmp/www"
for args in "-c 16 -d 2s --warmup 200ms http://198.18.0.2:8081/bytes/64" \
            "-c 8 --pipeline 4 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/1k" \
            "--close -c 8 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/64k"; do
  $LOAD --json "$tmp/out.json" $args || fail "load $args"
  check_json "$tmp/out.json" "$args"
done
echo ok
