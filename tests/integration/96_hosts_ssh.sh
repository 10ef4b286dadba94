#!/usr/bin/env bash
# Runs across hosts over OpenSSH (issue 18): two namespaces, each running its
# own sshd on a 198.18.10.x control address with a throwaway key made here,
# joined by a veth for the data plane, stand in for two hosts.
#  - kernel and afpacket trials run end to end through ssh; the records carry
#    both hosts' environments; afterwards nothing runs in either namespace but
#    its sshd, the data-plane addresses are as they were, no control socket
#    is left;
#  - the same after SIGINT mid-trial (exit 130) and after the DUT's sshd is
#    killed mid-trial (the trial fails, the run stops);
#  - an unreachable host, a wrong key and a version mismatch each give one
#    error line naming the host, before any trial; copy_bin = yes copies the
#    binary over a wrong version and runs;
#  - doctor --host runs doctor on a host;
#  - the DUT's CPU window is timed on the DUT host (its span the generator's
#    window; the namespaces share a clock, so its edges are checked against
#    the generator's too), and a generator or CPU window that ended by itself
#    is never signalled (its pid may be another process's by then): every
#    ssh the harness runs goes through a wrapper that logs its command.
source "$(dirname "$0")/lib.sh"
need_root
SSHD=/usr/sbin/sshd
[ -x $SSHD ] || { echo "skip: $SSHD not installed (openssh-server: make test installs it, ci/deps.sh +ssh)"; exit 77; }
need_cmd ssh-keygen

T=$(mktemp -d /tmp/i18h-test.XXXXXX)
chmod 700 "$T"
cleanup() {
  for n in a b; do
    ip netns pids i18h-$n 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip link del i18h-c$n 2>/dev/null
    ip netns del i18h-$n 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT

start_sshd() { ip netns exec i18h-$1 $SSHD -f "$T/sshd_$1.conf" -E "$T/sshd_$1.log" || fail "sshd in i18h-$1 did not start: $(cat "$T/sshd_$1.log")"; }

# --- the two stand-in hosts -------------------------------------------------
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/id" -C bb-test
ssh-keygen -q -t ed25519 -N '' -f "$T/wrong" -C bb-test-wrong
cp "$T/id.pub" "$T/authorized_keys"
: >"$T/known_hosts"
i=0
for n in a b; do
  ns=i18h-$n; i=$((i + 1))
  ip netns add $ns || fail "netns add $ns"
  ip link add i18h-c$n type veth peer name c0 netns $ns
  ip addr add 198.18.10.$((i * 4 - 3))/30 dev i18h-c$n
  ip link set i18h-c$n up
  ip -n $ns addr add 198.18.10.$((i * 4 - 2))/30 dev c0
  ip -n $ns link set c0 up
  ip -n $ns link set lo up
  ssh-keygen -q -t ed25519 -N '' -f "$T/host_$n" -C $ns
  cat >"$T/sshd_$n.conf" <<EOF
ListenAddress 198.18.10.$((i * 4 - 2))
Port 22
HostKey $T/host_$n
PidFile $T/sshd_$n.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  start_sshd $n
  echo "198.18.10.$((i * 4 - 2)) $(cut -d' ' -f1,2 "$T/host_$n.pub")" >>"$T/known_hosts"
done
# the data plane, a wire: offloads off as topo does for its veth
ip link add i18h-da netns i18h-a type veth peer name i18h-db netns i18h-b
for n in a b; do
  ip -n i18h-$n link set i18h-d$n up
  ip netns exec i18h-$n ethtool -K i18h-d$n tso off gso off gro off tx off >/dev/null 2>&1
done
# host a already has an address of its own on its data interface: it must be
# there again after every run, whatever the drivers did with the DUT address
ip -n i18h-a addr add 198.18.12.7/24 dev i18h-da

suite() { # $1 = file; DRIVERS, DURATION, ID_A, PORT_A, BIN_B, COPY_B change it
  local f=$1
  {
    echo "[suite]"
    echo "drivers = ${DRIVERS:-kernel,afpacket}"
    echo "repeats = 1"
    echo "duration = ${DURATION:-1s}"
    echo "warmup = 200ms"
    echo "dut_cpu = 1"
    echo "gen_cpu = 0"
    echo "dut_host = a"
    echo "gen_host = b"
    echo
    echo "[workload ka]"
    echo "path = /bytes/64"
    echo "connections = 8"
    for n in a b; do
      echo
      echo "[host $n]"
      echo "ssh = root@198.18.10.$([ $n = a ] && echo 2 || echo 6)"
      if [ $n = a ]; then echo "identity = ${ID_A:-$T/id}"; else echo "identity = $T/id"; fi
      echo "known_hosts = $T/known_hosts"
      echo "bin = $([ $n = b ] && echo "${BIN_B:-$BB}" || echo "$BB")"
      [ $n = b ] && [ -n "${COPY_B:-}" ] && echo "copy_bin = yes"
      echo "iface = i18h-d$n"
      echo "ip = 198.18.11.$([ $n = a ] && echo 2 || echo 1)/24"
      [ $n = a ] && [ -n "${PORT_A:-}" ] && echo "port = $PORT_A"
    done
  } >"$f"
}

# Nothing but the sshd listener in either namespace, the data-plane
# addresses as they were, no control socket.
no_leftovers_hosts() {
  local left="" n p
  for _ in $(seq 40); do
    left=""
    for n in a b; do
      for p in $(ip netns pids i18h-$n); do
        grep -q 'listener' /proc/$p/cmdline 2>/dev/null && continue
        left+=" [i18h-$n] $({ tr '\0' ' ' </proc/$p/cmdline; } 2>/dev/null)"
      done
    done
    [ -z "$left" ] && break
    sleep 0.1
  done
  [ -z "$left" ] || fail "$1: processes left:$left"
  ip -n i18h-a -o -4 addr show dev i18h-da | grep -q ' 198.18.11.2/' && fail "$1: the DUT address stayed on host a"
  ip -n i18h-a -o -4 addr show dev i18h-da | grep -q ' 198.18.12.7/' || fail "$1: host a lost its own address"
  ip -n i18h-b -o -4 addr show dev i18h-db | grep -q ' 198.18.11.1/' && fail "$1: the generator address stayed on host b"
  ls -d /tmp/bb-ssh.* 2>/dev/null && fail "$1: control socket directory left"
  return 0
}

# --- end to end -------------------------------------------------------------
# The wrapper also fails the first readiness probe that got its answer, as a
# probe that timed out after the server had parsed it would: the server then
# parsed one request more than the generator sent and the one probe counted
mkdir "$T/bin"
cat >"$T/bin/ssh" <<EOF
#!/bin/sh
printf "%s\\n" "\$*" >>$T/ssh.log
case "\$*" in
*"'load' '--driver' 'kernel' '-c' '1' '-n' '1'"*)
  $(command -v ssh) "\$@"; rc=\$?
  [ \$rc = 0 ] && [ ! -e $T/probe-failed ] && { : >$T/probe-failed; exit 1; }
  exit \$rc ;;
esac
exec $(command -v ssh) "\$@"
EOF
chmod +x "$T/bin/ssh"
suite "$T/ok.ini"
PATH=$T/bin:$PATH "$BB" run "$T/ok.ini" --out "$T/res" >"$T/ok.log" 2>&1 || fail "run across hosts failed: $(tail -15 "$T/ok.log")"
grep -q -- '-tt root@198.18.10.6 echo \$\$ > ./tmp/bb-remote\..*/client.pid. && exec' "$T/ssh.log" || fail "the ssh wrapper saw no generator start: $(head -3 "$T/ssh.log")"
grep -E "(client|cpuwin)\.pid'; .* kill " "$T/ssh.log" && fail "a process that ended by itself was signalled there"
[ -e "$T/probe-failed" ] || fail "no readiness probe went through the wrapper"
grep -c ' ok$' "$T/ok.log" | grep -qx 2 || fail "expected 2 ok trials: $(cat "$T/ok.log")"
d=$(ls -d "$T"/res/*/ | tail -1)
python3 - "$d" <<'EOF' || fail "records"
import json, sys, glob
d = sys.argv[1]
recs = [json.load(open(f)) for f in sorted(glob.glob(d + "/trials/*.json"))]
assert {r["driver"] for r in recs} == {"kernel", "afpacket"}, [r["driver"] for r in recs]
for r in recs:
    assert r["status"] == "ok", r["failure"]
    h = r["env"]["hosts"]
    for role, name, iface in (("dut", "a", "i18h-da"), ("gen", "b", "i18h-db")):
        e = h[role]["env"]
        assert h[role]["name"] == name and e["kernel"] and e["tsc_hz"] > 0, h[role]
        assert e["iface"]["name"] == iface and e["iface"]["driver"]["driver"] == "veth", e["iface"]
        assert "tcp-segmentation-offload" in e["iface"]["offloads"], e["iface"]
    assert r["hosts"]["server"]["ip"] == "198.18.11.2" and r["hosts"]["client"]["iface"] == "i18h-db"
    assert "generator" in r["clocks"]
    cpu, win = r["cpu"], r["client"]["window"]["cpu"]
    assert cpu["window_source"] == "dut_host_timer" and cpu["host"] == "a", cpu
    # the DUT's CPU window is as long as the generator's, and (one clock here)
    # overlaps it by more than half
    assert abs(cpu["window_vs_measured"] - 1) < 0.02, cpu["window_vs_measured"]
    dw = cpu["dut_host_window"]
    for e in ("start", "end"):
        off = dw[e + "_ns"] - win[e]["t_ns"]
        assert abs(off) < r["client"]["measured_ns"] / 2, (e, off)
    assert r["metrics"]["dut_cycles_per_request"] > 0
    assert r["cpu"]["generator_host"]["host"] == "b"
    assert set(r["offloads"]) == {"dut_host", "gen_host"}
    assert r["metrics"]["rps"] > 0 and r["metrics"]["requests"] == r["client"]["requests"]
    assert r["dut_packets_source"] == "generator_peer_iface", r["dut_packets_source"]
    # each side ran its host's binary with its host's address and interface
    s = r["commands"]["server"]
    assert "198.18.11.2:8080" in s and s[0].endswith("bypassbench"), s
    if r["driver"] == "afpacket":
        assert s[s.index("--iface") + 1] == "i18h-da" and "198.18.11.2/24" in s, s
    c = r["commands"]["client"]
    assert c[-1] == "http://198.18.11.2:8080/bytes/64" and c[c.index("--window-iface") + 1] == "i18h-db", c
EOF
no_leftovers_hosts "normal end"

# --- errors before any trial ------------------------------------------------
one_error() { # $1 what, $2 suite, $3 pattern the error line has
  local rc
  "$BB" run "$2" --out "$T/res" >"$T/err.log" 2>&1; rc=$?
  [ $rc != 0 ] || fail "$1: run succeeded"
  grep -q '^\[1/' "$T/err.log" && fail "$1: a trial ran: $(cat "$T/err.log")"
  [ "$(grep -c '^run: ' "$T/err.log")" = 1 ] || fail "$1: expected one error line: $(cat "$T/err.log")"
  grep '^run: ' "$T/err.log" | grep -q -- "$3" || fail "$1: error line lacks '$3': $(grep '^run: ' "$T/err.log")"
  no_leftovers_hosts "$1"
}
PORT_A=2222 suite "$T/unreach.ini"
one_error "unreachable host" "$T/unreach.ini" "host a (root@198.18.10.2 port 2222): cannot connect: .*Connection refused"
ID_A=$T/wrong suite "$T/key.ini"
one_error "wrong key" "$T/key.ini" "host a (root@198.18.10.2 port 22): cannot connect: .*Permission denied"
printf '#!/bin/sh\n[ "$1" = --version ] && { echo "bypassbench 0.0-elsewhere"; exit 0; }\nexec %s "$@"\n' "$BB" >"$T/other-bb"
chmod +x "$T/other-bb"
BIN_B=$T/other-bb suite "$T/ver.ini"
one_error "version mismatch" "$T/ver.ini" "host b (root@198.18.10.6): $T/other-bb there is 'bypassbench 0.0-elsewhere'.*versions differ"
# a bin that is not there: what the remote shell said, not ssh's own command line
BIN_B=$T/nope suite "$T/nobin.ini"
one_error "missing bin" "$T/nobin.ini" "host b (root@198.18.10.6): [^:]*: .*No such file or directory (is bypassbench at bin = $T/nope there?)"
grep -q 'ControlMaster' "$T/err.log" && fail "missing bin: the error line carries ssh's command line: $(cat "$T/err.log")"
# copy_bin = yes: the binary goes there, then the versions match
cp "$T/other-bb" "$T/copy-bb"
BIN_B=$T/copy-bb COPY_B=1 DRIVERS=kernel suite "$T/copy.ini"
printf '\n[workload dl]\nmode = download\npath = /bytes/16m\n' >>"$T/copy.ini"
"$BB" run "$T/copy.ini" --out "$T/copy-res" >"$T/copy.log" 2>&1 || fail "copy_bin run: $(tail -5 "$T/copy.log")"
cmp -s "$T/copy-bb" "$BB" || fail "copy_bin = yes did not copy the binary"
# a download's DUT window has no length known in advance: it runs until the
# generator exited, and its figures go into metrics only when it is within
# 5% of the measured window
python3 - "$(ls -d "$T"/copy-res/*/ | tail -1)" <<'EOF' || fail "download record"
import json, sys, glob
r = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/trials/dl-*.json")][0]
c = r["cpu"]
assert r["status"] == "ok" and c["window_source"] == "dut_host_until_generator_exit", c
if abs(c["window_vs_measured"] - 1) < 0.05:
    assert r["metrics"]["dut_cycles_per_request"] == c["dut_cycles_per_request"], c
else:
    assert "dut_cycles_per_request" not in r["metrics"] and "not in metrics" in c["not_in_metrics"], c
EOF
no_leftovers_hosts "copy_bin"

# --- interrupted, and a host lost mid-trial ---------------------------------
DURATION=30s suite "$T/long.ini"
wait_load() { # until the generator runs in host b
  for _ in $(seq 300); do
    for p in $(ip netns pids i18h-b); do
      { tr '\0' ' ' </proc/$p/cmdline; } 2>/dev/null | grep -q 'bypassbench load .*--duration 30' && return 0
    done
    sleep 0.05
  done
  fail "no generator started in i18h-b: $(cat "$T/long.log")"
}
"$BB" run "$T/long.ini" --out "$T/res" >"$T/long.log" 2>&1 &
pid=$!
wait_load
kill -INT $pid
wait $pid; rc=$?
[ $rc = 130 ] || fail "exit $rc after SIGINT, expected 130: $(tail -5 "$T/long.log")"
no_leftovers_hosts "SIGINT"

"$BB" run "$T/long.ini" --out "$T/res" >"$T/long.log" 2>&1 &
pid=$!
wait_load
for p in $(ip netns pids i18h-a); do grep -q sshd /proc/$p/comm 2>/dev/null && kill -9 $p; done
wait $pid; rc=$?
[ $rc = 1 ] || fail "exit $rc after the DUT's sshd was killed, expected 1: $(tail -5 "$T/long.log")"
grep -q 'FAILED' "$T/long.log" || fail "no failed trial after sshd was killed: $(cat "$T/long.log")"
grep -q '^\[2/' "$T/long.log" && fail "the run went on without host a: $(cat "$T/long.log")"
left=$(ip netns pids i18h-a)
[ -z "$left" ] || fail "processes left in i18h-a after its sshd died: $(ps -o pid,args -p $left)"
# what it could not undo there, it says
grep -q '^run: warning: host a (root@198.18.10.2): connection lost, nothing undone there: .*/tmp/bb-remote\..* and the address 198.18.11.2' "$T/long.log" ||
  fail "no warning of what is left on host a: $(tail -5 "$T/long.log")"
ip -n i18h-a addr del 198.18.11.2/24 dev i18h-da
rm -rf "$(grep -o '/tmp/bb-remote\.[A-Za-z0-9]*' "$T/long.log" | head -1)"
start_sshd a
no_leftovers_hosts "sshd killed"

# --- the DUT host's CPU window by itself ---------------------------------------
"$BB" sysinfo --cpu-window "$T/w1.json" --warmup 20ms --duration 100ms || fail "sysinfo --cpu-window"
"$BB" sysinfo --cpu-window "$T/w2.json" & wp=$!   # until stopped
"$BB" sysinfo --cpu-window "$T/w3.json" --duration 30s 2>"$T/w3.err" & wq=$!
sleep 0.3
kill -TERM $wp $wq
wait $wp || fail "sysinfo --cpu-window until stopped: exit $?"
wait $wq && fail "sysinfo --cpu-window stopped before its end exited 0"
[ -e "$T/w3.json" ] && fail "a window stopped before its end was written"
grep -q "stopped before the window's end" "$T/w3.err" || fail "no reason: $(cat "$T/w3.err")"
python3 - "$T" <<'EOF' || fail "cpu-window files"
import json, sys
for f, lo, hi in (("w1", 0.100, 1), ("w2", 0.1, 5)):
    w = json.load(open(sys.argv[1] + "/" + f + ".json"))
    span = (w["end"]["t_ns"] - w["start"]["t_ns"]) / 1e9
    assert lo <= span < hi and w["end"]["ncpu"] > 0, (f, span)
EOF

# --- doctor on a host ---------------------------------------------------------
"$BB" doctor --host b --suite "$T/ok.ini" >"$T/doctor.log" 2>&1 || fail "doctor --host b: $(tail -5 "$T/doctor.log")"
grep -q '^doctor on host b (root@198.18.10.6' "$T/doctor.log" && grep -q 'running as root' "$T/doctor.log" ||
  fail "doctor --host b: $(head -5 "$T/doctor.log")"
"$BB" doctor --host nope --suite "$T/ok.ini" >/dev/null 2>&1 && fail "doctor --host nope succeeded"
echo ok
