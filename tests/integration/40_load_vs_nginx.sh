#!/usr/bin/env bash
# Our generator against nginx (Debian's) over veth: zero errors. nginx serves
# files holding our check pattern (fetched from our own server), so every body
# is checked byte for byte against an independent server.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd nginx
tmp=$(mktemp -d); chmod 755 "$tmp"  # nginx workers run as www-data
cleanup() { [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; topo_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT
"$BB" topo up >/dev/null || fail "topo up"
start_server 8080
mkdir -p "$tmp/www/bytes"
for s in 64 1k 64k 16m; do ip netns exec bb-gen curl -sf "http://198.18.0.2:8080/bytes/$s" -o "$tmp/www/bytes/$s" || fail "fetch $s"; done
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
daemon on;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  server { listen 198.18.0.2:8081 reuseport backlog=4096; root $tmp/www; }
}
CONF
ip netns exec bb-dut nginx -c "$tmp/nginx.conf" || fail "nginx did not start"
sleep 0.3
for args in "-c 32 -d 2s --warmup 200ms http://198.18.0.2:8081/bytes/64" \
            "-c 8 --pipeline 4 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/1k" \
            "--close -c 8 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/64k" \
            "-R 2k -c 8 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/64" \
            "--download http://198.18.0.2:8081/bytes/16m"; do
  ip netns exec bb-gen "$BB" load --cpu 0 --json "$tmp/out.json" $args || fail "load $args"
  python3 - "$tmp/out.json" "$args" <<'PY' || fail "errors in: $args"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["errors_total"] == 0, (sys.argv[2], j["errors"])
assert j["requests"] > 0, sys.argv[2]
PY
done
echo ok
