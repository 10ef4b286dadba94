#!/usr/bin/env bash
# Stock Debian nginx, unmodified, with its sockets on our stack over
# AF_PACKET (bypassbench exec, libbbpreload.so), in namespaces of this test's
# own (preload_lib.sh):
#  - curl of a 10 MB file (sendfile) checked by sha256;
#  - wrk -c64: zero socket errors, zero non-2xx; ab -k: zero failed requests;
#  - a client that never finishes its request holds up nobody, and nginx's
#    client_header_timeout closes it;
#  - wrk over our stack as the generator (two threads: one lock) against
#    nginx on the kernel;
#  - nginx with a master process: its forked worker gets the clear refusal
#    naming the descriptor, not a hang;
#  - the library's counters (--stats) agree with the clients' counts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/preload_lib.sh"
need_root; need_cmd nginx; need_cmd wrk; need_cmd ab; need_cmd curl
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available"; exit 77; }
"$BB" doctor | grep -q '^  ok   preloading' || fail "doctor: preloading does not work: $("$BB" doctor | grep preload)"
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() { pl_down; rm -rf "$tmp"; }
trap cleanup EXIT
pl_up

# --- nginx on our stack ---
pl_nginx_conf "$tmp/srv" "$STACK_IP:8080"
head -c 10485760 /dev/urandom >"$tmp/srv/www/big.bin"
echo hello >"$tmp/srv/www/index.html"
pl_start_dut --stats "$tmp/stats.txt" -- nginx -p "$tmp/srv" -c "$tmp/srv/nginx.conf" 2>"$tmp/nginx.err"
NGINX=$PL_PID
pl_wait_port "$STACK_IP" 8080 || { cat "$tmp/nginx.err" "$tmp/srv/error.log"; fail "nginx over the stack did not come up"; }

ip netns exec "$NS_GEN" curl -sf -m 30 "http://$STACK_IP:8080/big.bin" -o "$tmp/got.bin" || fail "curl of the 10 MB file"
[ "$(sha256sum <"$tmp/got.bin")" = "$(sha256sum <"$tmp/srv/www/big.bin")" ] || fail "10 MB file differs (sha256)"
echo "10 MB by sendfile: sha256 equal"

out=$(ip netns exec "$NS_GEN" wrk -t1 -c64 -d3s "http://$STACK_IP:8080/index.html") || fail "wrk"
echo "$out"
echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors against nginx on our stack"
wrk_reqs=$(echo "$out" | awk '/requests in/ {print $1}')
[ "${wrk_reqs:-0}" -gt 1000 ] || fail "wrk completed too few requests: $wrk_reqs"

out=$(ip netns exec "$NS_GEN" ab -k -n 20000 -c 32 "http://$STACK_IP:8080/index.html" 2>&1) || { echo "$out"; fail "ab"; }
echo "$out" | grep -E 'Complete requests|Failed requests|Requests per second'
echo "$out" | grep -qE '^Failed requests: +0$' || fail "ab saw failed requests"
echo "$out" | grep -qE '^Complete requests: +20000$' || fail "ab did not complete 20000 requests"

# a slow client: half a request header, never the rest
ip netns exec "$NS_GEN" python3 - "$STACK_IP" >"$tmp/slow.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8080))
s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")
s.settimeout(20)
t = time.time()
try:
    d = s.recv(100)
except socket.timeout:
    d = None
print("slow client: closed by the server after %.1f s (%r)" % (time.time() - t, d))
PY
SLOW=$!
sleep 0.5
for i in $(seq 20); do
  ip netns exec "$NS_GEN" curl -sf -m 2 "http://$STACK_IP:8080/index.html" >/dev/null || fail "request $i held up by the slow client"
done
echo "20 requests served while a client sat on half a request"
wait "$SLOW"
cat "$tmp/slow.out"
grep -q "closed by the server" "$tmp/slow.out" || fail "nginx did not close the slow client (client_header_timeout 5s)"

pl_stop "$NGINX" || true
# under BB=bin/bypassbench-asan the library is the ASan build: nothing to report
cat "$tmp/nginx.err" "$tmp/srv/error.log" | grep -A5 -E 'ERROR: (Address|Undefined)Sanitizer|runtime error:' &&
  fail "a sanitizer report from the library"
[ -s "$tmp/stats.txt" ] || fail "no counters written at exit (--stats)"
python3 - "$tmp/stats.txt" "$wrk_reqs" <<'PY' || fail "counters disagree with the clients"
import sys
c = dict(l.split() for l in open(sys.argv[1]))
c = {k: int(v) for k, v in c.items()}
print({k: c[k] for k in ("preload_accepts", "preload_recv_calls", "preload_sendfile_bytes",
                         "preload_waits", "preload_wait_sleeps", "preload_fork_refusals")})
# curl 1 + wrk 64 + ab 32 + slow 1 + 20 curls + the readiness probe
assert c["preload_accepts"] >= 1 + 64 + 32 + 1 + 20, c["preload_accepts"]
assert c["preload_sendfile_bytes"] >= 10485760, "the 10 MB file did not go by sendfile"
assert c["preload_fork_refusals"] == 0
PY

# --- wrk over our stack as the generator, nginx on the kernel ---
pl_nginx_conf "$tmp/k" "$GEN_IP:8081"
echo hello >"$tmp/k/www/index.html"
ip netns exec "$NS_GEN" nginx -p "$tmp/k" -c "$tmp/k/nginx.conf" 2>"$tmp/knginx.err" &
KNGINX=$!
for _ in $(seq 50); do ip netns exec "$NS_GEN" curl -sf -o /dev/null "http://$GEN_IP:8081/index.html" && break; sleep 0.1; done
out=$(ip netns exec "$NS_DUT" "$BB" exec --driver afpacket --iface "$IF_DUT" --ip "$STACK_IP/24" \
      --stats "$tmp/wrk_stats.txt" -- wrk -t2 -c64 -d3s "http://$GEN_IP:8081/index.html") || fail "wrk over our stack"
echo "$out"
echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk over our stack saw errors"
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
[ "${reqs:-0}" -gt 1000 ] || fail "wrk over our stack completed too few requests: $reqs"
conns=$(awk '/^preload_connects / {print $2}' "$tmp/wrk_stats.txt")
[ "${conns:-0}" -ge 64 ] || fail "wrk's 64 connections did not go through our stack: preload_connects ${conns:-none}"
kill "$KNGINX"; wait "$KNGINX" 2>/dev/null

# --- a forked worker touching the parent's stack socket is refused by name ---
pl_nginx_conf "$tmp/m" "$STACK_IP:8082"
sed -i 's/^master_process off;/master_process on;/' "$tmp/m/nginx.conf"
pl_start_dut -- nginx -p "$tmp/m" -c "$tmp/m/nginx.conf" 2>"$tmp/m.err"
sleep 2
pl_stop "$PL_PID" || true
# (nginx points its stderr at error_log once started: the message is in either)
msg=$(cat "$tmp/m.err" "$tmp/m/error.log" 2>/dev/null | grep -E 'descriptor [0-9]+ is a socket of our user-space stack.*fork' | head -1)
echo "$msg"
[ -n "$msg" ] || { cat "$tmp/m.err" "$tmp/m/error.log"; fail "nginx's forked worker was not told why it cannot use the listener"; }

# --- the same nginx over afxdp: the file and wrk, and no XDP program left ---
if "$BB" doctor | grep -q '^  ok   afxdp'; then
  pl_nginx_conf "$tmp/x" "$STACK_IP:8083"
  cp "$tmp/srv/www/big.bin" "$tmp/srv/www/index.html" "$tmp/x/www/"
  ip netns exec "$NS_DUT" "$BB" exec --driver afxdp --iface "$IF_DUT" --ip "$STACK_IP/24" \
    -- nginx -p "$tmp/x" -c "$tmp/x/nginx.conf" 2>"$tmp/x.err" &
  XNGINX=$!
  pl_wait_port "$STACK_IP" 8083 || { cat "$tmp/x.err" "$tmp/x/error.log"; fail "nginx over afxdp did not come up"; }
  ip netns exec "$NS_GEN" curl -sf -m 30 "http://$STACK_IP:8083/big.bin" -o "$tmp/gotx.bin" || fail "curl over afxdp"
  [ "$(sha256sum <"$tmp/gotx.bin")" = "$(sha256sum <"$tmp/srv/www/big.bin")" ] || fail "10 MB file over afxdp differs"
  out=$(ip netns exec "$NS_GEN" wrk -t1 -c64 -d3s "http://$STACK_IP:8083/index.html") || fail "wrk over afxdp"
  echo "$out" | grep -E 'Requests/sec|Socket errors|Non-2xx'
  echo "$out" | grep -qE 'Socket errors|Non-2xx' && fail "wrk saw errors against nginx on afxdp"
  pl_stop "$XNGINX" || true
  ip -n "$NS_DUT" link show "$IF_DUT" | grep -q 'prog/xdp' && fail "nginx's exit left the XDP program on $IF_DUT"
  echo "nginx over afxdp: 10 MB sha256 equal, wrk without errors, XDP program gone at exit"
else
  echo "afxdp part left out: $("$BB" doctor | grep -E '^  no   afxdp')"
fi
echo ok
