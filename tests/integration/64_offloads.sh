#!/usr/bin/env bash
# offloads = on|off: a bad value is refused naming file and line; a suite
# with offloads = on runs kernel, afpacket and dpdk@tap (when built) with
# TSO/checksum offloads, one afpacket row with them off (its [driver]
# section) and one sending through PACKET_TX_RING, every download checked byte for byte by the generator, and each
# trial's record names the offloads its driver used.
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'topo_cleanup; rm -rf "$tmp"' EXIT
printf '[suite]\ndrivers = kernel\noffloads = maybe\n[workload a]\npath = /bytes/64\n' > "$tmp/bad.ini"
out=$("$BB" run "$tmp/bad.ini" 2>&1); rc=$?
[ $rc = 2 ] || fail "offloads = maybe: exit $rc, expected 2: $out"
echo "$out" | grep -q "bad.ini:3:" || fail "offloads = maybe: no file:line: $out"
echo "$out" | grep -q "offloads" || fail "offloads = maybe: the key is not named: $out"
printf '[suite]\ndrivers = kernel\n[workload a]\npath = /bytes/64\n[driver kernel]\noffloads = 1\n' > "$tmp/bad2.ini"
out=$("$BB" run "$tmp/bad2.ini" 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "bad2.ini:6:" || fail "offloads = 1 in [driver kernel] not refused with its line: $out"

need_root
drivers=kernel,afpacket,afpacket+wire,afpacket+txr
"$BB" doctor | grep -q '^  ok   dpdk' && drivers="$drivers,dpdk@tap"
cat > "$tmp/s.ini" <<INI
[suite]
drivers = $drivers
offloads = on
repeats = 1
duration = 1s
warmup = 200ms
[workload dl-256m]
mode = download
path = /bytes/256m
connections = 1
requests = 1
[workload ka-64k]
path = /bytes/64k
connections = 8
[driver afpacket]
version = 2
[driver afpacket+wire]
offloads = off
[driver afpacket+txr]
tx_ring = 1
INI
"$BB" run "$tmp/s.ini" --out "$tmp/out" > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "the offloads suite failed"; }
cat "$tmp/run.log" | grep '^\['
python3 - "$tmp"/out/*/trials <<'PY' || fail "records"
import glob, json, os, sys
recs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))]
assert recs, "no trial records"
seen = set()
for r in recs:
    d, wl, off = r["driver"], r["workload"]["name"], r["driver_offloads"]
    seen.add(d)
    assert r["status"] == "ok", (d, wl, r["failure"])
    assert r["client"]["errors_total"] == 0, (d, wl, r["client"]["errors"])
    used = off["used"]
    print("%-14s %-8s setting %-3s used %s" % (d, wl, off["setting"], ",".join(used) or "none"))
    dc = r["server"]["driver_counters"] if d != "kernel" else {}
    if d == "afpacket+wire":
        assert off["setting"] == "off" and "tso" not in used and "tx_csum" not in used, off
        assert dc["tx_tso_frames"] == 0, dc["tx_tso_frames"]
        continue
    assert off["setting"] == "on", (d, off)
    if d == "kernel":
        assert "tso" in used and "tx_csum" in used, off
    elif d == "afpacket+txr":  # TSO frames through PACKET_TX_RING
        assert used == ["tso", "tx_csum", "rx_csum"], off
        assert dc["sys_sendto"] > 0 and dc["sys_sendmmsg"] == 0 and dc["tx_ring_bad"] == 0, dc
        if wl == "dl-256m":
            assert dc["tx_tso"] > 1000, dc
    elif d == "afpacket":
        assert used == ["tso", "tx_csum", "rx_csum"], off
        if wl == "dl-256m":
            assert dc["tx_tso_frames"] > 1000 and dc["tx_tso"] == dc["tx_tso_frames"], dc
            assert dc["tx_bad_len"] == 0 and dc["tx_errors"] == 0, dc
    elif d == "dpdk-tap":
        assert used == ["tso", "tx_csum", "rx_csum"], off  # net_tap's TSO and checksums
        if wl == "dl-256m":
            assert dc["tx_tso"] > 1000 and dc["tx_bad_len"] == 0, dc
need = {"kernel", "afpacket", "afpacket+wire", "afpacket+txr"}
assert need <= seen, seen
PY
# The client as the DUT with offloads on: afpacket's default TPACKET_V2 ring
# receives the generator's GRO super-frames whole (its slots grow to 68 KiB
# unless frame_size is set), none truncated (rx_too_big 0).
cat > "$tmp/c.ini" <<INI
[suite]
drivers = afpacket
offloads = on
dut = client
repeats = 1
timeout = 30s
[workload dl-64m]
mode = download
path = /bytes/64m
connections = 1
requests = 1
INI
"$BB" run "$tmp/c.ini" --out "$tmp/cout" > "$tmp/crun.log" 2>&1 || { cat "$tmp/crun.log"; fail "the client-DUT offloads suite failed"; }
python3 - "$tmp"/cout/*/trials <<'PY' || fail "client-DUT records"
import glob, json, os, sys
recs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))]
assert len(recs) == 1, len(recs)
r = recs[0]
assert r["status"] == "ok", r["failure"]
dc = r["client"]["driver_counters"]
print("afpacket client DUT, offloads on: rx_gro %d rx_too_big %d rx_frames %d" % (dc["rx_gro"], dc["rx_too_big"], dc["rx_frames"]))
assert dc["rx_too_big"] == 0, dc["rx_too_big"]
assert dc["rx_gro"] > 100, dc["rx_gro"]
PY
out=$("$BB" serve --driver afpacket --iface lo --ip 198.18.9.1/24 --opt offloads=1 --opt frame_size=2048 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "frame_size=2048 is too small" || fail "frame_size=2048 with offloads=1 not refused: rc $rc: $out"
no_leftovers
echo "ok"
