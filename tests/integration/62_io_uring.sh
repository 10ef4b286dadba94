#!/usr/bin/env bash
# The io_uring driver on the veth wire, against real peers:
#  - as server: wrk and curl against it with zero errors, and a 1 GiB download
#    checked byte for byte by our generator; then again with SEND_ZC on every
#    send of 16 KiB or more (zc_threshold=16k);
#  - as client: our generator on io_uring against nginx (pattern files, every
#    body checked) with zero errors in every mode.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd wrk; need_cmd nginx; need_cmd curl
"$BB" doctor | grep -q '^  ok   io_uring' || { echo "skip: io_uring driver not available ($("$BB" doctor | grep io_uring | head -1))"; exit 77; }
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

# --- io_uring as the server ---
for opts in "" "--opt zc_threshold=16k"; do
  start_server 8080 --driver io_uring $opts --json "$tmp/s.json"
  for path in /bytes/64 /bytes/64k; do
    out=$(ip netns exec bb-gen taskset -c 0 wrk -t1 -c32 -d2s "http://198.18.0.2:8080$path")
    echo "$out"
    echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors on $path ($opts)"
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    [ "${reqs:-0}" -gt 100 ] || fail "wrk completed too few requests on $path: $reqs ($opts)"
  done
  ip netns exec bb-gen curl -sf http://198.18.0.2:8080/bytes/1m -o "$tmp/a.bin" || fail curl
  ip netns exec bb-gen curl -sf -H 'Connection: close' http://198.18.0.2:8080/bytes/1m -o "$tmp/b.bin" || fail curl
  cmp "$tmp/a.bin" "$tmp/b.bin" && [ "$(stat -c %s "$tmp/a.bin")" = 1048576 ] || fail "curl bodies differ ($opts)"
  ip netns exec bb-gen "$BB" load --cpu 0 --download --json "$tmp/d.json" http://198.18.0.2:8080/bytes/1g || fail "1 GiB download from the io_uring server ($opts)"
  check_json "$tmp/d.json" "1 GiB from the io_uring server ($opts)"
  kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
  # the server's counters: io_uring_enter counted, buffers given back, SEND_ZC used when asked
  python3 - "$tmp/s.json" "$opts" <<'PY' || fail "server counters ($opts)"
import json, sys
dc = json.load(open(sys.argv[1]))["driver_counters"]
assert dc["sys_io_uring_enter"] > 0 and dc["syscalls"] >= dc["sys_io_uring_enter"], dc
assert dc["rx_zero_copy"] > 0, dc
if "zc_threshold" in sys.argv[2]:
    assert dc["op_send_zc"] > 0 and dc["zc_notifs"] == dc["op_send_zc"], dc
else:
    assert dc["op_send_zc"] == 0, dc
print("io_uring server: %d io_uring_enter, %d SEND, %d SEND_ZC, %d zero-copy reads" %
      (dc["sys_io_uring_enter"], dc["op_send"], dc["op_send_zc"], dc["rx_zero_copy"]))
PY
done

# --- io_uring as the client, against nginx ---
start_server 8080
pattern_files 8080 "$tmp/www" 64 1k 64k 16m
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
start_nginx "$tmp" 8081 "$tmp/www"
for args in "-c 32 -d 2s --warmup 200ms http://198.18.0.2:8081/bytes/64" \
            "-c 8 --pipeline 4 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/1k" \
            "--close -c 8 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/64k" \
            "-R 2k -c 8 -d 1s --warmup 100ms http://198.18.0.2:8081/bytes/64" \
            "--download http://198.18.0.2:8081/bytes/16m"; do
  ip netns exec bb-gen "$BB" load --driver io_uring --cpu 0 --json "$tmp/out.json" $args || fail "load on io_uring $args"
  check_json "$tmp/out.json" "io_uring client: $args"
done
stop_nginx "$tmp"
"$BB" topo down >/dev/null; no_leftovers
echo ok
