#!/usr/bin/env bash
# bench/preload_sendfile.sh — what stock nginx's sendfile costs over our stack
# (issue 17): nginx (one process, CPU 1) under `bypassbench exec` over
# afpacket serves a file of SIZE bytes (default 10 MB) to wrk (CPU 0, -cCONNS
# (default 4), DUR seconds); prints the
# req/s, MB/s and the stack's copy counters per body byte (--stats):
#   tx_copy_sndbuf_bytes  bytes copied into the send rings (netio_send)
#   tx_copy_frame_bytes   bytes copied from the rings into frames
#   tx_fill_frame_bytes   bytes written into frames straight from a reference
# plus the library's sendfile_bytes and sendfile_mapped_bytes, and nginx's
# CPU time (user + system) per MB served. Its own pair of
# namespaces (PL, default bbsf: $PL-gen, $PL-dut, preload_lib.sh). Never fails
# on a figure; fails when a tool cannot run. Root; run under
# flock /tmp/bb-netns.lock like the integration tests.
#   BB=bin/bypassbench DUR=4 CONNS=4 bench/preload_sendfile.sh
set -u
cd "$(dirname "$0")/.."
BB=${BB:-bin/bypassbench}; DUR=${DUR:-4}; CONNS=${CONNS:-4}; SIZE=${SIZE:-10000000}
case $BB in /*) ;; *) BB=$PWD/$BB ;; esac
PL=${PL:-bbsf}
fail() { echo "preload_sendfile: FAIL: $*" >&2; exit 1; }
source tests/integration/preload_lib.sh
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces)"
for c in nginx wrk; do command -v $c >/dev/null || fail "$c is not installed (make deps)"; done
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() { [ -n "${PL_PID:-}" ] && kill -9 "$PL_PID" 2>/dev/null; pl_down; rm -rf "$tmp"; }
trap cleanup EXIT
pl_up
pl_nginx_conf "$tmp/srv" 8080
head -c "$SIZE" /dev/urandom >"$tmp/srv/www/big.bin"
pl_start_dut --stats "$tmp/stats.txt" --log "$tmp/lib.log" -- taskset -c 1 nginx -p "$tmp/srv" -c "$tmp/srv/nginx.conf"
pl_wait_port "$STACK_IP" 8080 || fail "nginx on our stack did not come up: $(cat "$tmp/lib.log")"
ip netns exec "$NS_GEN" taskset -c 0 wrk -t1 -c"$CONNS" -d1s "http://$STACK_IP:8080/big.bin" >/dev/null 2>&1
ip netns exec "$NS_GEN" taskset -c 0 wrk -t1 -c"$CONNS" -d"${DUR}s" "http://$STACK_IP:8080/big.bin" >"$tmp/wrk.out" 2>&1 ||
  fail "wrk: $(tail -2 "$tmp/wrk.out")"
# nginx's own CPU time (user + system, clock ticks), the warm-up included:
# less swayed by other work on the machine than req/s
cpu_ticks=$(awk '{print $14 + $15}' "/proc/$PL_PID/stat" 2>/dev/null)
pl_stop "$PL_PID" >/dev/null 2>&1; PL_PID=
grep -Eq 'Socket errors|Non-2xx' "$tmp/wrk.out" && fail "wrk counted errors: $(grep -E 'Socket errors|Non-2xx' "$tmp/wrk.out")"
[ -s "$tmp/stats.txt" ] || fail "no counters written (--stats)"
rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.out")
mbs=$(awk '/^Transfer\/sec/ {print $2}' "$tmp/wrk.out")
python3 - "$tmp/stats.txt" "$rps" "$mbs" "$CONNS" "$DUR" "$SIZE" "${cpu_ticks:-0}" "$(getconf CLK_TCK)" <<'PY'
import sys
c = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[1]) if len(l.split()) == 2)
body = c.get("preload_sendfile_bytes", 0)
print("nginx over our stack (afpacket), %s-byte file, wrk -c%s %ss: %s req/s, %s/s" % (sys.argv[6], sys.argv[4], sys.argv[5], sys.argv[2], sys.argv[3]))
print("sendfile bytes %d (mapped by reference %d)" % (body, c.get("preload_sendfile_mapped_bytes", 0)))
cpu = int(sys.argv[7]) / int(sys.argv[8])
print("nginx CPU time %.2f s: %.3f ms per MB served" % (cpu, 1e3 * cpu / (body / 1e6) if body else 0))
for k in ("tx_copy_sndbuf_bytes", "tx_copy_frame_bytes", "tx_fill_frame_bytes", "send_ref_copied_bytes"):
    print("%-24s %14d  %.3f per body byte" % (k, c.get(k, 0), c.get(k, 0) / body if body else 0))
PY
