#!/usr/bin/env bash
# Stock Debian nginx, unmodified, with its sockets on our stack over DPDK
# (net_tap: the kernel end of the tap device is moved into this test's
# generator namespace, 198.18.1.1/24; our stack is 198.18.1.2): curl of a
# 10 MB file checked by sha256, wrk -c64 without errors, ab -k without failed
# requests, a slow client holding up nobody.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/preload_lib.sh"
need_root; need_cmd nginx; need_cmd wrk; need_cmd ab; need_cmd curl
"$BB" doctor | grep -q '^  ok   dpdk' || { echo "skip: dpdk driver not available ($("$BB" doctor | grep -E '^  no   dpdk'))"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
TAP=${PL:0:8}t0
cleanup() { pl_down; rm -rf "$tmp"; }
trap cleanup EXIT
pl_up
pl_nginx_conf "$tmp/srv" "198.18.1.2:8080"
head -c 10485760 /dev/urandom >"$tmp/srv/www/big.bin"
echo hello >"$tmp/srv/www/index.html"
ip netns exec "$NS_DUT" "$BB" exec --driver dpdk --ip 198.18.1.2/24 --opt "vdev=net_tap0,iface=$TAP" \
  --stats "$tmp/stats.txt" -- nginx -p "$tmp/srv" -c "$tmp/srv/nginx.conf" 2>"$tmp/nginx.err" &
NGINX=$!
# the stack (and so the tap device) comes up at nginx's first bind
for _ in $(seq 100); do ip -n "$NS_DUT" -o link show "$TAP" 2>/dev/null | grep -q ',UP' && break; sleep 0.1; done
ip -n "$NS_DUT" link set "$TAP" netns "$NS_GEN" || { cat "$tmp/nginx.err"; fail "tap device $TAP did not appear"; }
ip -n "$NS_GEN" addr add 198.18.1.1/24 dev "$TAP" && ip -n "$NS_GEN" link set "$TAP" up || fail "tap address"
ip netns exec "$NS_GEN" ethtool -K "$TAP" tso off gso off gro off tx off >/dev/null 2>&1
pl_wait_port 198.18.1.2 8080 || { cat "$tmp/nginx.err" "$tmp/srv/error.log"; fail "nginx over dpdk did not come up"; }

ip netns exec "$NS_GEN" curl -sf -m 30 http://198.18.1.2:8080/big.bin -o "$tmp/got.bin" || fail "curl of the 10 MB file"
[ "$(sha256sum <"$tmp/got.bin")" = "$(sha256sum <"$tmp/srv/www/big.bin")" ] || fail "10 MB file differs (sha256)"
echo "10 MB over dpdk@tap: sha256 equal"
out=$(ip netns exec "$NS_GEN" wrk -t1 -c64 -d3s http://198.18.1.2:8080/index.html) || fail "wrk"
echo "$out"
echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors against nginx on dpdk"
[ "$(echo "$out" | awk '/requests in/ {print $1}')" -gt 1000 ] || fail "wrk completed too few requests"
out=$(ip netns exec "$NS_GEN" ab -k -n 10000 -c 32 http://198.18.1.2:8080/index.html 2>&1) || { echo "$out"; fail "ab"; }
echo "$out" | grep -E 'Complete requests|Failed requests|Requests per second'
echo "$out" | grep -qE '^Failed requests: +0$' || fail "ab saw failed requests"
ip netns exec "$NS_GEN" python3 -c '
import socket, sys, time
s = socket.create_connection(("198.18.1.2", 8080)); s.sendall(b"GET / HTTP/1.1\r\n"); time.sleep(8)' &
SLOW=$!
sleep 0.5
for i in $(seq 10); do
  ip netns exec "$NS_GEN" curl -sf -m 2 http://198.18.1.2:8080/index.html >/dev/null || fail "request $i held up by the slow client"
done
echo "10 requests served while a client sat on half a request"
kill "$SLOW" 2>/dev/null; wait "$SLOW" 2>/dev/null
pl_stop "$NGINX" || true
grep -E '^preload_(accepts|sendfile_bytes|wait_sleeps) ' "$tmp/stats.txt" || fail "no counters at exit"
echo ok
