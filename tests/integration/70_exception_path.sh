#!/usr/bin/env bash
# The exception path (DESIGN §7): DPDK owns the DUT veth (net_af_packet) and
# our stack serves port 8080; everything else reaches the DUT kernel through
# the exception interface (rte_kni, virtio-user or net_tap, whichever runs):
#  - ping from bb-gen to the DUT address is answered by the DUT kernel;
#  - a kernel TCP service on port 9090 in bb-dut is reachable from bb-gen;
#  - port 8080 is still served by our stack;
#  - the driver counters show exception-path packets in both directions.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd curl; need_cmd python3
"$BB" doctor | grep -q '^  ok   dpdk' || { echo "skip: dpdk driver not built ($("$BB" doctor | grep -m1 dpdk))"; exit 77; }
exc=$("$BB" doctor | sed -n 's/^  =>   exception path: //p')
echo "exception path: $exc"
echo "$exc" | grep -q ' yes' || { echo "skip: no exception-path backend can run here ($exc)"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
KPID=
cleanup() {
  [ -n "$KPID" ] && kill "$KPID" 2>/dev/null
  topo_cleanup; rm -rf "$tmp"
}
trap cleanup EXIT
EXC_IF=bbx-it$$
EXC_IF=${EXC_IF:0:15}

"$BB" topo up >/dev/null || fail "topo up"
ip -n bb-dut addr flush dev bb-dut0
rpf=$(ip netns exec bb-dut cat /proc/sys/net/ipv4/conf/bb-dut0/rp_filter)
ip netns exec bb-dut "$BB" serve --driver dpdk --ip 198.18.0.2/24 --listen 198.18.0.2:8080 --cpu 1 \
   --opt vdev=net_af_packet0,iface=bb-dut0 --opt exc_iface="$EXC_IF" --json "$tmp/srv.json" &
SERVER_PID=$!
for _ in $(seq 100); do
  ip netns exec bb-gen curl -sf -o /dev/null http://198.18.0.2:8080/bytes/1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "serve exited (see its error above)"
  sleep 0.1
done
ip -n bb-dut -o addr show dev "$EXC_IF" | grep -q '198.18.0.2/24' || fail "exception interface $EXC_IF has no address: $(ip -n bb-dut -o addr show 2>&1)"
ip -n bb-dut -o link show dev "$EXC_IF" | grep -q ',UP' || fail "exception interface $EXC_IF is not up"

# ping (ICMP echo over a raw socket when iputils-ping is not installed)
if command -v ping >/dev/null; then
  ip netns exec bb-gen ping -c 3 -W 2 198.18.0.2 || fail "ping not answered"
else
  ip netns exec bb-gen python3 - 198.18.0.2 <<'PY' || fail "ping (ICMP echo) not answered"
import os, socket, struct, sys, time
dst = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
ident, got = os.getpid() & 0xffff, 0
for seq in range(1, 4):
    payload = b"bypassbench-exc" + bytes([seq])
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq) + payload, (dst, 0))
    deadline = time.time() + 2
    while time.time() < deadline:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (data[0] & 15) * 4
        t, c, ck, i, q = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if addr[0] == dst and t == 0 and i == ident and q == seq:
            print("echo reply from %s seq=%d" % (dst, seq)); got += 1; break
sys.exit(0 if got == 3 else 1)
PY
fi

# a kernel TCP service on another port in bb-dut
mkdir -p "$tmp/www"; echo "kernel says hello $$" > "$tmp/www/hello.txt"
ip netns exec bb-dut python3 -m http.server 9090 --bind 198.18.0.2 --directory "$tmp/www" >"$tmp/http.log" 2>&1 &
KPID=$!
for _ in $(seq 50); do
  out=$(ip netns exec bb-gen curl -sf --max-time 2 http://198.18.0.2:9090/hello.txt) && break
  sleep 0.2
done
[ "$out" = "kernel says hello $$" ] || fail "kernel service on 9090 not reachable through the exception path: '$out' $(cat "$tmp/http.log")"

# the benchmark port is still our stack's
code=$(ip netns exec bb-gen curl -s -o "$tmp/1k" -w '%{http_code}' http://198.18.0.2:8080/bytes/1k)
[ "$code" = 200 ] && [ "$(stat -c %s "$tmp/1k")" = 1024 ] || fail "port 8080 via our stack: HTTP $code"

kill "$KPID"; wait "$KPID" 2>/dev/null; KPID=
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
python3 - "$tmp/srv.json" <<'PY' || fail "exception-path counters"
import json, sys
c = json.load(open(sys.argv[1]))["driver_counters"]
exc = {k: v for k, v in c.items() if k.startswith("exc_")}
print(exc)
assert c["exc_to_kernel"] >= 6, "ping requests and TCP to 9090 went to the kernel"
assert c["exc_from_kernel"] >= 6, "ping replies and TCP from 9090 came back"
assert c["exc_both"] >= 1, "ARP about our address went to both"
assert c["exc_to_stack"] > 0
assert sum(c[k] for k in ("exc_backend_rte_kni", "exc_backend_virtio_user", "exc_backend_tap")) == 1
PY
ip -n bb-dut link show "$EXC_IF" 2>/dev/null && fail "exception interface left behind"
[ "$(ip netns exec bb-dut cat /proc/sys/net/ipv4/conf/bb-dut0/rp_filter)" = "$rpf" ] || fail "rp_filter on bb-dut0 not restored"
"$BB" topo down >/dev/null; no_leftovers
echo ok
