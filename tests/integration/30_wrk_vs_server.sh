#!/usr/bin/env bash
# wrk (Debian's) against our server over veth: zero errors, keep-alive and pipelined-free.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd wrk
trap topo_cleanup EXIT
"$BB" topo up >/dev/null || fail "topo up"
start_server 8080
for path in /bytes/64 /bytes/64k; do
  out=$(ip netns exec bb-gen taskset -c 0 wrk -t1 -c32 -d2s "http://198.18.0.2:8080$path")
  echo "$out"
  echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors on $path"
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  [ "${reqs:-0}" -gt 100 ] || fail "wrk completed too few requests on $path: $reqs"
done
# curl: byte-exact body against the same server served twice.
ip netns exec bb-gen curl -sf http://198.18.0.2:8080/bytes/1m -o /tmp/bb-a.bin || fail curl
ip netns exec bb-gen curl -sf -H 'Connection: close' http://198.18.0.2:8080/bytes/1m -o /tmp/bb-b.bin || fail curl
cmp /tmp/bb-a.bin /tmp/bb-b.bin && [ "$(stat -c %s /tmp/bb-a.bin)" = 1048576 ] || fail "curl bodies differ"
rm -f /tmp/bb-a.bin /tmp/bb-b.bin
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
"$BB" topo down >/dev/null; no_leftovers
echo ok
