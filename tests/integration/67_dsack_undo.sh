#!/usr/bin/env bash
# D-SACK interop with Linux, both ways, on the veth wire (issue 16): a delay
# spike in our stack's TX (TEST ONLY test_spike_after/test_spike_ms: after
# the Nth frame we send, our frames wait 400 ms, in order; nothing is lost)
# makes the other end's timers fire spuriously.
#  - Linux sends (a kernel-socket server in bb-dut), our stack receives (the
#    generator on afpacket in bb-gen): our ACKs stall, Linux's RTO (200 ms)
#    and tail loss probe resend data we already have; we D-SACK them
#    (dsack_sent) and Linux counts them (TCPDSACKRecv in bb-dut).
#  - Our stack sends (our server on afpacket in bb-dut), Linux receives (the
#    generator on kernel sockets in bb-gen): our data stalls in our own TX
#    queue (a hold every 30000 frames of a 256 MiB download), our RTO
#    resends behind it, Linux gets each segment twice and D-SACKs the copies
#    (TCPDSACKOldSent in bb-gen); an episode whose every resend came back
#    D-SACKed is undone (dsack_undo). Now and then Linux counts a D-SACK
#    that never reaches us (TCPDSACKOldSent above our dsack_rcvd, with no
#    frame lost on our side: a capture shows the tail loss probe's copy, its
#    pending D-SACK dropped when the go-back's first resend comes right
#    after it); each such spoils at most one episode, so undone + missing
#    D-SACKs >= episodes, and at least one is undone.
# Both downloads are checked byte for byte by the generator.
source "$(dirname "$0")/lib.sh"
need_root
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available ($("$BB" doctor | grep afpacket))"; exit 77; }
tmp=$(mktemp -d)
cleanup() { topo_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT
# TcpExt counters of namespace NS (read inside it), as "name value" lines.
tcpext() {
  ip netns exec "$1" cat /proc/net/netstat | awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1 } else for (i = 2; i <= NF; i++) print n[i], $i }'
}
"$BB" topo up >/dev/null || fail "topo up"
SPIKE="--opt test_spike_after=300 --opt test_spike_ms=400"

# --- Linux sends, our stack receives and D-SACKs ---
start_server 8080 # kernel sockets, 198.18.0.2 in bb-dut
tcpext bb-dut > "$tmp/k0"
ip netns exec bb-gen "$BB" load --driver afpacket --iface bb-gen0 --ip 198.18.0.3/24 --cpu 0 $SPIKE \
  --download --json "$tmp/c.json" http://198.18.0.2:8080/bytes/64m || fail "64 MiB download as afpacket client with a TX spike"
tcpext bb-dut > "$tmp/k1"
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
python3 - "$tmp/c.json" "$tmp/k0" "$tmp/k1" <<'PY' || fail "Linux as sender: D-SACK interop"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["errors_total"] == 0 and d["requests"] == 1, d["errors"]
assert d["body_bytes"] == 64 << 20, d["body_bytes"]
c = d["driver_counters"]
k0, k1 = ({l.split()[0]: int(l.split()[1]) for l in open(p)} for p in sys.argv[2:4])
k = {n: k1[n] - k0[n] for n in ("TCPDSACKRecv", "TCPDSACKUndo", "TCPLossProbes", "TCPLossProbeRecovery",
                                 "TCPSpuriousRTOs", "TCPTimeouts", "TCPDSACKIgnoredNoUndo") if n in k1}
ours = {n: c.get(n) for n in ("impair_spikes", "impair_spiked", "dsack_sent", "sack_permitted")}
print("Linux sender -> our afpacket client: %.3f s; ours %s; Linux (bb-dut) %s"
      % (d.get("measured_ns", 0) / 1e9, ours, k))
assert c["impair_spikes"] == 1, "the spike did not happen"
assert c["sack_permitted"] >= 1, "SACK not agreed with Linux"
assert c["dsack_sent"] >= 1, "we D-SACKed none of Linux's resends"
assert k["TCPDSACKRecv"] >= 1, "Linux counted no D-SACK from us"
PY

# --- our stack sends, Linux receives and D-SACKs: our stack undoes ---
ip -n bb-dut addr flush dev bb-dut0
start_server 8080 --driver afpacket --iface bb-dut0 --ip 198.18.0.2/24 $SPIKE --opt test_spike_every=30000 --json "$tmp/s.json"
tcpext bb-gen > "$tmp/g0"
ip netns exec bb-gen "$BB" load --cpu 0 --download --json "$tmp/d.json" http://198.18.0.2:8080/bytes/256m \
  || fail "256 MiB download from an afpacket server with TX holds"
tcpext bb-gen > "$tmp/g1"
kill "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=
python3 - "$tmp/s.json" "$tmp/d.json" "$tmp/g0" "$tmp/g1" <<'PY' || fail "Linux as receiver: D-SACK undo"
import json, sys
c = json.load(open(sys.argv[1]))["driver_counters"]
d = json.load(open(sys.argv[2]))
assert d["errors_total"] == 0 and d["requests"] == 1, d["errors"]
assert d["body_bytes"] == 256 << 20, d["body_bytes"]
g0, g1 = ({l.split()[0]: int(l.split()[1]) for l in open(p)} for p in sys.argv[3:5])
g = {n: g1[n] - g0[n] for n in ("TCPDSACKOldSent", "TCPDSACKOfoSent") if n in g1}
ours = {n: c.get(n) for n in ("impair_spikes", "impair_spiked", "retransmits", "timeouts", "tlp_probes",
                              "dsack_rcvd", "dsack_undo", "rx_ring_drops")}
print("our afpacket server -> Linux client: %.3f s; ours %s; Linux (bb-gen) %s"
      % (d.get("measured_ns", 0) / 1e9, ours, g))
assert c["impair_spikes"] >= 5, "the holds did not happen"
assert c["retransmits"] >= 1, "the 400 ms stalls drew no resend"
assert g["TCPDSACKOldSent"] >= 1, "Linux D-SACKed none of our resends"
assert c["dsack_rcvd"] >= 1, "we parsed no D-SACK from Linux"
episodes = min(c["timeouts"], c["impair_spikes"])
missing = g["TCPDSACKOldSent"] - c["dsack_rcvd"]
assert c["dsack_undo"] >= 1, "no episode undone of %d" % episodes
assert c["dsack_undo"] <= c["impair_spikes"], "more undos than stalls"
assert c["dsack_undo"] + missing >= episodes, \
    "%d of %d episodes undone, only %d D-SACKs missing" % (c["dsack_undo"], episodes, missing)
PY
topo_cleanup
no_leftovers
echo ok
