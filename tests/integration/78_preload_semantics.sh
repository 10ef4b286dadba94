#!/usr/bin/env bash
# The socket API over our stack as a program sees it: a Python client run by
# bypassbench exec (afpacket, DUT namespace) against a kernel server in the
# generator namespace, checking what Linux would give: non-blocking connect
# then select/SO_ERROR, blocking connect, addresses, ECONNREFUSED, epoll
# with a stack socket and a pipe in one set (level and edge triggered,
# EPOLLONESHOT, EPOLLRDHUP), poll and select mixing them, FIONREAD, MSG_PEEK,
# dup and close, shutdown(SHUT_WR) then reading the reply, EOF, EPIPE after a
# reset, socket options judged by Linux, /proc/self/fd, a forked child
# refused by name; sendfile (errors, partial sends, offsets, the bytes),
# data read before a reset's error, SO_SNDBUF bounding what is queued,
# SO_RCVBUF, TCP_DEFER_ACCEPT (data or the period releases a connection),
# options inherited by accept, and keepalive probes answered by a live peer
# and resetting a dead one (ETIMEDOUT; the generator's link set down).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/preload_lib.sh"
need_root
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() { pl_down; rm -rf "$tmp"; }
trap cleanup EXIT
pl_up

# the kernel peer: per connection, the first line says what to do
cat >"$tmp/srv.py" <<'PY'
import socket, struct, sys, threading, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], 9000)); ls.listen(64)
def serve(c):
    f = c.makefile("rb")
    cmd = f.readline().strip()
    if cmd == b"echo":          # echo every line until EOF, then say bye
        for line in f: c.sendall(line)
        c.sendall(b"bye\n"); c.close()
    elif cmd == b"drip":        # 3 bytes, pause, 3 more, then FIN
        c.sendall(b"abc"); time.sleep(0.3); c.sendall(b"def"); time.sleep(0.3); c.close()
    elif cmd == b"sumlater":    # after 1 s, read to EOF; reply "LENGTH SHA256"
        import hashlib
        time.sleep(1); h = hashlib.sha256(); n = 0
        while True:
            x = f.read1(1 << 16)  # the reader's buffer first: it may hold data already
            if not x: break
            h.update(x); n += len(x)
        c.sendall(b"%d %s\n" % (n, h.hexdigest().encode())); c.close()
    elif cmd == b"datareset":   # 12 bytes, then RST
        c.sendall(b"partial data"); time.sleep(0.1)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
    elif cmd == b"blast":       # 2 MiB of a pattern, then FIN
        c.sendall(bytes(range(256)) * 8192); c.close()
    elif cmd == b"reset":       # RST at once
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
threading.Thread(target=lambda: None).start()
while True:
    c, _ = ls.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
ip netns exec "$NS_GEN" python3 "$tmp/srv.py" "$GEN_IP" & SRV=$!
for _ in $(seq 50); do ip netns exec "$NS_GEN" ss -ltn | grep -q ':9000' && break; sleep 0.1; done

cat >"$tmp/cli.py" <<'PY'
import errno, fcntl, os, select, socket, struct, sys, termios, time
SRV, ME, GENNS, GENIF = sys.argv[1:5]
import subprocess
ENV = dict(os.environ); ENV.pop("LD_PRELOAD", None)  # helpers stay off our stack
def in_gen(code, *args):  # a kernel program in the generator namespace
    return subprocess.Popen(["ip", "netns", "exec", GENNS, "python3", "-c", code] + list(args), env=ENV)
def check(cond, what):
    if not cond: raise SystemExit("FAIL: " + what)
    print("ok  ", what)
def conn(cmd, blocking=True):
    s = socket.socket()
    if blocking:
        s.connect((SRV, 9000))
    else:
        s.setblocking(False)
        check(s.connect_ex((SRV, 9000)) == errno.EINPROGRESS, "non-blocking connect: EINPROGRESS")
        _, w, _ = select.select([], [s], [], 3)
        check(w == [s], "select: writable once connected")
        check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR 0 after connect")
        check(s.connect_ex((SRV, 9000)) == errno.EISCONN, "connect again: EISCONN")
        s.setblocking(True)
    s.sendall(cmd + b"\n")
    return s

a = conn(b"echo", blocking=False)
check(a.getsockname()[0] == ME and a.getpeername() == (SRV, 9000), "getsockname is the stack's address, getpeername the server")
check(os.readlink("/proc/self/fd/%d" % a.fileno()).startswith("socket:"), "/proc/self/fd shows a socket")
check(a.fileno() < 64, "descriptor number from the kernel's low range (%d)" % a.fileno())

r, w = os.pipe()
ep = select.epoll()
ep.register(a.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
ep.register(r, select.EPOLLIN)
check(ep.poll(0.2) == [], "epoll: nothing ready yet")
os.write(w, b"x")
check(ep.poll(1) == [(r, select.EPOLLIN)], "epoll: the pipe alone")
os.read(r, 1)
a.sendall(b"hello\n")
ev = ep.poll(2)
check(ev == [(a.fileno(), select.EPOLLIN)], "epoll: the stack socket alone (%r)" % ev)
check(ep.poll(0) == ev, "level-triggered: reported again while unread")
n = struct.unpack("i", fcntl.ioctl(a.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
check(n == 6, "FIONREAD says 6 (%d)" % n)
check(a.recv(3, socket.MSG_PEEK) == b"hel", "MSG_PEEK")
check(a.recv(100) == b"hello\n", "recv after a peek gets it all")
os.write(w, b"y"); a.sendall(b"again\n"); time.sleep(0.3)
p = select.poll(); p.register(a, select.POLLIN); p.register(r, select.POLLIN)
got = dict(p.poll(2000))
check(got.get(a.fileno(), 0) & select.POLLIN and got.get(r, 0) & select.POLLIN, "poll: stack socket and pipe both ready")
rs, _, _ = select.select([a, r], [], [], 1)
check(set(rs) == {a, r}, "select: both ready")
os.read(r, 1)

ep.modify(a.fileno(), select.EPOLLIN | select.EPOLLET)
check(len(ep.poll(1)) == 1, "edge-triggered: the state at MOD once")
check(ep.poll(0.2) == [], "edge-triggered: no new event, nothing")
a.sendall(b"more\n"); time.sleep(0.3)
check(len(ep.poll(1)) == 1, "edge-triggered: new data reports again though unread data remains")
check(a.recv(100) == b"again\nmore\n", "both lines")
ep.modify(a.fileno(), select.EPOLLIN | select.EPOLLONESHOT)
a.sendall(b"one\n"); time.sleep(0.3)
check(len(ep.poll(1)) == 1 and ep.poll(0.2) == [], "EPOLLONESHOT: one report")
a.sendall(b"two\n"); time.sleep(0.3)
check(ep.poll(0.2) == [], "EPOLLONESHOT: disabled until MOD")
ep.modify(a.fileno(), select.EPOLLIN)
check(len(ep.poll(1)) == 1, "re-armed by MOD")
check(a.recv(100) == b"one\ntwo\n", "data intact")

d = os.dup(a.fileno())
a.close()
os.write(d, b"via dup\n")
check(os.read(d, 100) == b"via dup\n", "a dup outlives the original's close")
b = socket.socket(fileno=d)
b.shutdown(socket.SHUT_WR)
check(b.recv(100) == b"bye\n", "after SHUT_WR the reply still arrives")
check(b.recv(100) == b"", "then EOF")
b.close()

c = conn(b"drip")
ep2 = select.epoll(); ep2.register(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLET)
seen = b""; rdhup = False; t = time.time()
while time.time() - t < 3 and not rdhup:
    for fd, m in ep2.poll(1):
        try:
            while True:
                x = c.recv(100, socket.MSG_DONTWAIT)
                if not x: break
                seen += x
        except BlockingIOError:
            pass
        rdhup = rdhup or bool(m & select.EPOLLRDHUP)
check(seen == b"abcdef" and rdhup, "edge-triggered reads of a dripping peer, EPOLLRDHUP at its FIN")
c.close()

# sendfile into a stack socket: the file's bytes by reference, Linux's errors
import hashlib, tempfile
fd_, big = tempfile.mkstemp(); os.write(fd_, os.urandom(3 << 20)); os.close(fd_)
data = open(big, "rb").read()
h = conn(b"sumlater")
fi = os.open(big, os.O_RDONLY)
def sf_err(out, inf, off, cnt):
    try: os.sendfile(out, inf, off, cnt); return 0
    except OSError as x: return x.errno
check(os.sendfile(h.fileno(), fi, 0, 0) == 0, "sendfile count 0: 0")
check(sf_err(h.fileno(), fi, -1, 0) == errno.EINVAL, "sendfile negative offset (count 0): EINVAL")
check(sf_err(h.fileno(), 999, None, 10) == errno.EBADF, "sendfile from a closed descriptor: EBADF")
wo = os.open(big, os.O_WRONLY)
check(sf_err(h.fileno(), wo, None, 10) == errno.EBADF, "sendfile from a write-only file: EBADF"); os.close(wo)
pr, pw = os.pipe(); os.write(pw, b"abc")
check(sf_err(h.fileno(), pr, None, 3) == errno.EINVAL, "sendfile from a pipe: EINVAL")
check(sf_err(h.fileno(), pr, 0, 3) == errno.ESPIPE, "sendfile from a pipe with an offset: ESPIPE")
os.close(pr); os.close(pw)
dd = os.open("/", os.O_RDONLY)
check(sf_err(h.fileno(), dd, None, 3) == errno.EINVAL, "sendfile from a directory: EINVAL"); os.close(dd)
check(os.sendfile(h.fileno(), fi, len(data) + 10, 10) == 0, "sendfile past the end: 0")
h.setblocking(False)
off = 0; partial = False
while True:
    try:
        n = os.sendfile(h.fileno(), fi, off, len(data) - off)
    except BlockingIOError:
        break
    partial = partial or n < len(data) - off
    off += n
    if off == len(data): break
check(partial and 0 < off < len(data), "non-blocking sendfile: a partial count, then EAGAIN (%d of %d)" % (off, len(data)))
check(os.lseek(fi, 0, os.SEEK_CUR) == 0, "sendfile with an offset leaves the file position alone")
h.setblocking(True)
os.lseek(fi, off, os.SEEK_SET)
left = len(data) - off
n = os.sendfile(h.fileno(), fi, None, left + 1000)
check(n == left, "a file shorter than count: sent to its end (%d)" % n)
check(os.lseek(fi, 0, os.SEEK_CUR) == len(data), "sendfile without an offset advances the file position")
h.shutdown(socket.SHUT_WR)
reply = b""
while not reply.endswith(b"\n"):
    x = h.recv(200)
    if not x: break
    reply += x
check(reply.split() == [str(len(data)).encode(), hashlib.sha256(data).hexdigest().encode()],
      "the peer got the file's bytes in order (length and sha256): %r" % reply)
h.close(); os.close(fi); os.unlink(big)

k = conn(b"datareset"); time.sleep(0.4)
n = struct.unpack("i", fcntl.ioctl(k.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
check(n == 12, "after the peer's reset, FIONREAD still counts the unread 12 bytes (%d)" % n)
check(k.recv(5, socket.MSG_PEEK) == b"parti" and k.recv(5) == b"parti" and k.recv(100) == b"al data",
      "bytes that came before a reset are read first (as tcp_recvmsg)")
try:
    k.recv(100); check(False, "then recv fails")
except ConnectionResetError:
    check(True, "then ECONNRESET")
check(k.recv(100) == b"", "then EOF")
k.close()

e = conn(b"reset"); time.sleep(0.3)
try:
    e.recv(10); check(False, "recv after a reset fails")
except ConnectionResetError:
    check(True, "recv after a reset: ECONNRESET")
try:
    e.send(b"x"); e.send(b"x"); check(False, "send after a reset fails")
except (BrokenPipeError, ConnectionResetError):
    check(True, "send after a reset: EPIPE")
e.close()

f = socket.socket()
check(f.connect_ex((SRV, 9001)) == errno.ECONNREFUSED, "connect to a closed port: ECONNREFUSED")
f.close()

g = conn(b"echo")
g.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
check(g.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1, "TCP_NODELAY reads back")
try:
    g.setsockopt(socket.SOL_SOCKET, 9999, 1); check(False, "an unknown option is refused")
except OSError as x:
    check(x.errno == errno.ENOPROTOOPT, "an option Linux does not know: ENOPROTOOPT")
try:
    g.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 0); check(False, "TCP_KEEPIDLE 0 is refused")
except OSError as x:
    check(x.errno == errno.EINVAL, "TCP_KEEPIDLE 0: EINVAL as Linux")
pid = os.fork()
if pid == 0:
    try:
        g.send(b"from the child\n"); os._exit(1)
    except OSError as x:
        os._exit(0 if x.errno == errno.EBADFD else 2)
_, st = os.waitpid(pid, 0)
check(os.WEXITSTATUS(st) == 0, "a forked child's send: EBADFD")
g.sendall(b"parent\n")
check(g.recv(100) == b"parent\n", "the parent's socket still works")
g.close()

# SO_SNDBUF bounds what a socket queues (the peer does not read for 1 s)
def fill(sndbuf):
    s = conn(b"sumlater")
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        check(s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * sndbuf, "SO_SNDBUF reads back doubled, as Linux")
    s.setblocking(False); tot = 0; chunk = b"z" * 65536
    try:
        while True: tot += s.send(chunk)
    except BlockingIOError:
        pass
    s.close()
    return tot
small, big = fill(8192), fill(0)
check(small < 150000 and big > 250000, "SO_SNDBUF 8192: %d bytes taken before EAGAIN, default %d" % (small, big))

# SO_RCVBUF: Linux's value read back; a 2 MiB transfer through the capped window intact
r = conn(b"blast")
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
check(r.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 8192, "SO_RCVBUF reads back doubled")
got = b""
while True:
    x = r.recv(65536)
    if not x: break
    got += x
check(got == bytes(range(256)) * 8192, "2 MiB through a 4 KiB receive window, intact (%d)" % len(got))
r.close()

# TCP_DEFER_ACCEPT: accept once data came, or after the period; options inherited by accept
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((ME, 9050)); ls.listen(8)
ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
check(ls.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT) == 1, "TCP_DEFER_ACCEPT reads back")
p1 = in_gen("import socket,sys,time; s=socket.create_connection((sys.argv[1],9050)); time.sleep(1.5); s.sendall(b'late'); time.sleep(3)", ME)
rs, _, _ = select.select([ls], [], [], 1.0)
check(rs == [], "TCP_DEFER_ACCEPT: nothing to accept while the peer has sent nothing")
rs, _, _ = select.select([ls], [], [], 4)
check(rs == [ls], "TCP_DEFER_ACCEPT: acceptable once data came")
c2, _ = ls.accept()
check(c2.recv(10) == b"late", "the data that released it")
check(c2.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1 and
      c2.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 77, "accept inherits SO_KEEPALIVE and TCP_KEEPIDLE")
c2.close(); p1.wait()
p2 = in_gen("import socket,sys,time; s=socket.create_connection((sys.argv[1],9050)); time.sleep(5)", ME)
rs, _, _ = select.select([ls], [], [], 0.5)
check(rs == [], "TCP_DEFER_ACCEPT: a silent peer waits")
rs, _, _ = select.select([ls], [], [], 5)
check(rs == [ls], "TCP_DEFER_ACCEPT: accepted when the period ends without data")
c3, _ = ls.accept(); c3.close(); ls.close(); p2.wait()

# SO_KEEPALIVE: a live peer answers the probes; a dead one is reset with ETIMEDOUT
ka = conn(b"echo")
ka.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
ka.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
ka.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
ka.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
rs, _, _ = select.select([ka], [], [], 3.5)
check(rs == [], "keepalive: probes answered by a live peer, nothing to report")
ka.sendall(b"alive\n")
check(ka.recv(100) == b"alive\n", "keepalive: the connection still works after its probes")
subprocess.run(["ip", "-n", GENNS, "link", "set", GENIF, "down"], env=ENV, check=True)
t = time.time()
rs, _, _ = select.select([ka], [], [], 10)
el = time.time() - t
subprocess.run(["ip", "-n", GENNS, "link", "set", GENIF, "up"], env=ENV, check=True)
check(rs == [ka], "keepalive: the dead peer's socket becomes readable (after %.1f s)" % el)
try:
    ka.recv(10); check(False, "recv after unanswered probes fails")
except OSError as x:
    check(x.errno == errno.ETIMEDOUT, "keepalive: ETIMEDOUT after TCP_KEEPCNT unanswered probes (%s)" % x)
ka.close()
print("all checks passed")
PY
out=$(ip netns exec "$NS_DUT" "$BB" exec --driver afpacket --iface "$IF_DUT" --ip "$STACK_IP/24" \
      --stats "$tmp/stats.txt" -- python3 "$tmp/cli.py" "$GEN_IP" "$STACK_IP" "$NS_GEN" "$IF_GEN" 2>&1); rc=$?
kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null
echo "$out"
[ $rc = 0 ] && echo "$out" | grep -q "all checks passed" || fail "socket semantics over our stack (rc $rc)"
echo "$out" | grep -qE "descriptor [0-9]+ is a socket of our user-space stack" || fail "the forked child was not told which descriptor"
probes=$(awk '/^keepalive_probes / {print $2}' "$tmp/stats.txt"); kto=$(awk '/^keepalive_timeouts / {print $2}' "$tmp/stats.txt")
echo "keepalive_probes ${probes:-none} keepalive_timeouts ${kto:-none}"
[ "${probes:-0}" -ge 4 ] && [ "${kto:-0}" = 1 ] || fail "keepalive counters: probes ${probes:-none} (want >= 4: 2+ answered, 2 unanswered), timeouts ${kto:-none} (want 1)"
echo ok
