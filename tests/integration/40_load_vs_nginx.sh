#!/usr/bin/env bash
# Our generator against nginx (Debian's) over veth: zero errors. nginx serves
# files holding our check pattern (fetched from our own server), so every body
# is checked byte for byte against an independent server.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd nginx
tmp=$(mktemp -d); chmod 755 "$tmp"  # nginx workers run as www-data
cleanup() { stop_nginx "$tmp"; topo_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT
"$BB" topo up >/dev/null || fail "topo up"
start_server 8080
pattern_files 8080 "$tmp/www" 64 1k 64k 16m
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
start_nginx "$tmp" 8081 "$tmp/www"
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
