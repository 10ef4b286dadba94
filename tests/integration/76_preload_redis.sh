#!/usr/bin/env bash
# Stock Debian redis-server, unmodified, with its sockets on our stack over
# AF_PACKET (bypassbench exec), in namespaces of this test's own
# (preload_lib.sh): redis-benchmark -t get,set -P 16 from the kernel side
# with zero errors, and values of many sizes (1 byte to 1 MiB) written and
# read back equal, pipelined over one connection and one at a time over many.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/preload_lib.sh"
need_root; need_cmd redis-server; need_cmd redis-benchmark
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() { pl_down; rm -rf "$tmp"; }
trap cleanup EXIT
pl_up

pl_start_dut --stats "$tmp/stats.txt" -- redis-server --bind "$STACK_IP" --port 6379 --save '' \
  --appendonly no --protected-mode no --daemonize no --dir "$tmp" --logfile "$tmp/redis.log" 2>"$tmp/redis.err"
REDIS=$PL_PID
pl_wait_port "$STACK_IP" 6379 || { cat "$tmp/redis.log"; fail "redis-server over the stack did not come up"; }

out=$(ip netns exec "$NS_GEN" redis-benchmark -h "$STACK_IP" -p 6379 -t get,set -P 16 -n 200000 -c 50 -q 2>&1) ||
  { echo "$out"; fail "redis-benchmark"; }
echo "$out" | tr '\r' '\n' | grep -E 'requests per second' | sed 's/^ *//'
echo "$out" | grep -qiE 'error|refused|reset' && { echo "$out"; fail "redis-benchmark saw errors"; }
for t in SET GET; do
  echo "$out" | tr '\r' '\n' | grep -qE "^$t: [0-9.]+ requests per second" || fail "no $t rate from redis-benchmark"
done

ip netns exec "$NS_GEN" python3 - "$STACK_IP" <<'PY' || fail "values read back differ from those written"
import os, random, socket, sys
random.seed(17)
def conn():
    s = socket.create_connection((sys.argv[1], 6379)); return s, s.makefile("rb")
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
def reply(f):
    l = f.readline()
    if l[:1] == b"+": return l[1:-2]
    if l[:1] == b"$":
        n = int(l[1:-2]); return None if n < 0 else f.read(n + 2)[:-2]
    raise SystemExit("unexpected reply %r" % l[:80])
sizes = [1, 100, 1460, 4096, 65536, 300000, 1 << 20] + [random.randint(1, 200000) for _ in range(60)]
vals = {b"k%d" % i: os.urandom(n) for i, n in enumerate(sizes)}
s, f = conn()  # pipelined: every SET, then every GET, on one connection
s.sendall(b"".join(cmd(b"SET", k, v) for k, v in vals.items()))
assert all(reply(f) == b"OK" for _ in vals)
s.sendall(b"".join(cmd(b"GET", k) for k in vals))
for k, v in vals.items():
    assert reply(f) == v, "value of %r differs (%d bytes)" % (k, len(v))
for k, v in list(vals.items())[:20]:  # one request per connection
    s2, f2 = conn(); s2.sendall(cmd(b"GET", k)); assert reply(f2) == v; s2.close()
print("%d values, %d bytes in all, read back equal" % (len(vals), sum(map(len, vals.values()))))
PY

pl_stop "$REDIS" || true
cat "$tmp/redis.err"
grep -A5 -E 'ERROR: (Address|Undefined)Sanitizer|runtime error:' "$tmp/redis.err" && fail "a sanitizer report from the library"
[ -s "$tmp/stats.txt" ] || fail "no counters written at exit (--stats)"
grep -E '^preload_(accepts|recv_bytes|send_bytes) ' "$tmp/stats.txt"
acc=$(awk '/^preload_accepts / {print $2}' "$tmp/stats.txt")
[ "${acc:-0}" -ge 71 ] || fail "redis-server accepted $acc connections through our stack, expected >= 71"
echo ok
