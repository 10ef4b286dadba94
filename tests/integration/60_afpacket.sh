#!/usr/bin/env bash
# Our stack over AF_PACKET on the veth wire, against real peers:
#  - as server: wrk and curl against it, and a 1 GiB download checked byte for byte;
#  - as client: our generator on afpacket against nginx (pattern files, every
#    body checked) and a 1 GiB download from a kernel-socket server.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd wrk; need_cmd nginx
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available ($("$BB" doctor | grep afpacket))"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() { [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; topo_cleanup; rm -rf "$tmp"; }
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

# --- our stack as the client (198.18.0.3 on bb-gen0, beside the kernel's .1) ---
ip -n bb-dut addr add 198.18.0.2/24 dev bb-dut0
start_server 8080
LOAD="ip netns exec bb-gen $BB load --driver afpacket --iface bb-gen0 --ip 198.18.0.3/24 --cpu 0"
$LOAD --download --json "$tmp/c.json" http://198.18.0.2:8080/bytes/1g || fail "1 GiB download as afpacket client"
check_json "$tmp/c.json" "1 GiB as afpacket client"
mkdir -p "$tmp/www/bytes"
for s in 64 1k 64k; do ip netns exec bb-gen curl -sf "http://198.18.0.2:8080/bytes/$s" -o "$tmp/www/bytes/$s" || fail "fetch $s"; done
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; default_type application/octet-stream;
  server { listen 198.18.0.2:8081 backlog=4096; root $tmp/www; } }
CONF
ip netns exec bb-dut nginx -c "$tmp/nginx.conf" || fail "nginx did not start"
sleep 0.3
for args in "-c 16 -d 2s --warmup 200ms http://198.18.0.2:8081/bytes/64" \
            "-c 8 --pipeline 4 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/1k" \
            "--close -c 8 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/64k"; do
  $LOAD --json "$tmp/out.json" $args || fail "load $args"
  check_json "$tmp/out.json" "$args"
done
echo ok
