#!/usr/bin/env bash
# bypassbench exec's checks before anything runs, and the library's pass-
# through (no root needed): a statically linked program is refused with the
# reason, as are a missing program, a bad --ip, an unknown --opt key and a
# missing --driver; --help names every option. With the library loaded and
# configured for 198.18.0.2/24, sockets on loopback stay the kernel's: a
# Python echo over 127.0.0.1 through epoll, poll, select, dup2, fcntl and
# sendfile works, and the stack is never opened (an unprivileged run could not).
source "$(dirname "$0")/lib.sh"
LIB=$(dirname "$BB")/libbbpreload.so
[ -f "$LIB" ] || fail "$LIB is not built (make all)"
out=$("$BB" exec --help) || fail "exec --help"
for o in --driver --ip --iface --opt --spin-us --log --stats; do
  echo "$out" | grep -q -- "^  $o" || fail "exec --help does not explain $o"
done
static=$(command -v ldconfig || echo /sbin/ldconfig)
out=$("$BB" exec --driver afpacket --iface lo --ip 198.18.0.2/24 -- "$static" 2>&1); rc=$?
[ $rc = 126 ] && echo "$out" | grep -q "statically linked" || fail "a static binary not refused (rc $rc): $out"
out=$("$BB" exec --driver afpacket --iface lo --ip 198.18.0.2/24 -- no-such-program-xyz 2>&1); rc=$?
[ $rc = 127 ] && echo "$out" | grep -q "no-such-program-xyz" || fail "a missing program not named (rc $rc): $out"
out=$("$BB" exec --driver afpacket --iface lo --ip 198.18.0.2 -- true 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q -- "--ip '198.18.0.2'" || fail "a bad --ip not named (rc $rc): $out"
out=$("$BB" exec --driver afpacket --iface lo --ip 198.18.0.2/24 --opt nokey=1 -- true 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "nokey=1" || fail "an unknown --opt key not named (rc $rc): $out"
out=$("$BB" exec --ip 198.18.0.2/24 -- true 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q -- "--driver" || fail "a missing --driver not named (rc $rc): $out"
out=$("$BB" exec --driver kernel --ip 198.18.0.2/24 -- true 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "afpacket, afxdp" || fail "--driver kernel not refused (rc $rc): $out"

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
head -c 300000 /dev/urandom >"$tmp/f"
LD_PRELOAD=$LIB BB_PRELOAD_DRIVER=afpacket BB_PRELOAD_IFACE=lo BB_PRELOAD_IP=198.18.0.2/24 \
BB_PRELOAD_LOG="$tmp/log" python3 - "$tmp/f" <<'PY' || fail "kernel sockets through the library misbehave"
import os, select, socket, sys
data = open(sys.argv[1], "rb").read()
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(8)
c = socket.socket(); c.setblocking(False)
assert c.connect_ex(ls.getsockname()) in (0, 115)
s, _ = ls.accept()
ep = select.epoll(); ep.register(c.fileno(), select.EPOLLOUT | select.EPOLLET)
assert ep.poll(1) == [(c.fileno(), select.EPOLLOUT)]
c.setblocking(True)
d = os.dup2(c.fileno(), 100)
with open(sys.argv[1], "rb") as f:
    sent = 0
    while sent < len(data):
        sent += os.sendfile(100, f.fileno(), sent, len(data) - sent)
os.close(100)
got = b""
while len(got) < len(data):
    r, _, _ = select.select([s], [], [], 2); assert r, "select timed out"
    got += s.recv(65536)
assert got == data
p = select.poll(); p.register(s, select.POLLIN); c.close()
assert p.poll(2000)[0][1] & select.POLLIN and s.recv(10) == b""
print("kernel sockets through the library: %d bytes by sendfile, epoll, select, poll, dup2" % len(data))
PY
[ ! -s "$tmp/log" ] || { cat "$tmp/log"; fail "the library spoke about loopback sockets (it must leave them alone)"; }
echo ok
