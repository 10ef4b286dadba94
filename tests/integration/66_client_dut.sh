#!/usr/bin/env bash
# The client as the device under test (issue 18, seed 000's downloader):
# `dut = client` with nginx (Debian's, the built-in harness/run/nginx.conf)
# on kernel sockets as the fixed server, and the downloader on kernel,
# afpacket and dpdk@tap. Every download is checked byte for byte (the files
# hold the /bytes/N pattern), the identity check counts nginx's access log,
# the records say which side was the DUT and what the server was, the DUT's
# traffic is captured (libpcap, or a pdump secondary of the DUT client), the
# report's seed-000 table has a time per downloader, and nothing is left running.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd nginx
"$BB" doctor | grep -q '^  ok   dpdk' || { echo "skip: dpdk driver not built ($("$BB" doctor | grep -m1 dpdk))"; exit 77; }
tmp=$(mktemp -d); chmod 755 "$tmp"
trap '"$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
cat > "$tmp/client.ini" <<'INI'
[suite]
dut = client
server = nginx
drivers = kernel, afpacket, dpdk@tap
repeats = 1
capture = on
[workload dl-8m]
mode = download
path = /bytes/8m
connections = 1
[workload dl-32m]
mode = download
path = /bytes/32m
connections = 1
INI
"$BB" run "$tmp/client.ini" --out "$tmp" > "$tmp/run.out" 2>&1 || { cat "$tmp/run.out"; fail "run failed"; }
grep -q 'DUT: the client' "$tmp/run.out" || fail "the plan does not name the DUT side"
dir=$(ls -d "$tmp"/*/ | head -1)
python3 - "$dir" <<'PY' || fail "records"
import json, glob, sys
recs = {}
for p in glob.glob(sys.argv[1] + "/trials/*.json"):
    j = json.load(open(p))
    assert j["status"] == "ok", (p, j["failure"])
    recs[(j["workload"]["name"], j["driver"])] = j
want = {(w, d) for w in ("dl-8m", "dl-32m") for d in ("kernel", "afpacket", "dpdk-tap")}
assert set(recs) == want, sorted(recs)
for (w, d), j in sorted(recs.items()):
    size = {"dl-8m": 8 << 20, "dl-32m": 32 << 20}[w]
    assert j["dut"] == "client" and j["dut_side"] == "client (downloader)", (d, j["dut"])
    assert j["workload"]["dut"] == "client"
    # the downloader ran the driver under test, in bb-dut; nginx in bb-gen
    assert j["netio_driver"] == d.split("-")[0], (d, j["netio_driver"])
    assert j["commands"]["client"][2:4] == ["--driver", j["netio_driver"]], j["commands"]["client"]
    assert j["commands"]["server"][0].endswith("nginx"), j["commands"]["server"]
    assert j["netns"] == {"server": "bb-gen", "client": "bb-dut"}, j["netns"]
    peer = j["peer"]
    assert peer["software"] == "nginx" and peer["driver"] == "kernel", peer
    assert "harness/run/nginx.conf" in peer["config_source"] and "master_process off;" in peer["config"], peer
    assert not peer["version"].startswith("unknown"), peer["version"]
    # checked byte for byte: the body is the pattern (a wrong byte is a 'body' error)
    c = j["client"]
    assert c["errors_total"] == 0 and c["requests"] == 1, (d, c["errors"])
    assert c["body_bytes"] == size, (d, c["body_bytes"], size)
    # the identity check counted nginx's access log: the probe and the download
    st = j["server"]["stats"]
    assert st["requests_parsed"] == 2 and st["responses"]["2xx"] == 2, (d, st)
    assert st["body_bytes_out"] == size + 1, (d, st)
    assert j["metrics"]["download_s"] > 0
    want_src = "harness_dut_iface" if d == "dpdk-tap" else "dut_iface_at_client_edges"
    assert j["dut_packets_source"] == want_src, (d, j["dut_packets_source"], j.get("dut_packets_error"))
    # the capture ran through the whole download: the DUT held until it stopped
    cap = j["capture"]["summary"]
    assert cap and cap["packets"] > size / 1500, (d, j["capture"])
    assert j["metrics"]["dut_packets_per_request"] > size / 1500, (d, j["metrics"])
    print("%-7s %-8s %.4f s" % (w, d, j["metrics"]["download_s"]))
PY
rep="$dir/REPORT.md"
grep -q 'the \*\*downloader is the DUT\*\*' "$rep" || fail "the download table does not say the downloader was the DUT"
grep -q '^| Sr. No. | File Size | kernel Downloader (sec) | afpacket Downloader (sec) | dpdk-tap Downloader (sec) |' "$rep" \
  || fail "the seed-000 table lacks a column per downloader: $(grep -m1 'Sr. No.' "$rep")"
for s in '8.0 MiB' '32.0 MiB'; do
  grep -Eq "^\| [0-9]+ \| $s \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|" "$rep" || fail "no seed-000 row with three times for $s"
done
grep -q 'DUT: \*\*client (downloader)\*\*.*nginx' "$rep" || fail "the report does not name the fixed server"
[ ! -e "$dir/www" ] || fail "nginx's files were left in $dir/www"
pgrep -af "nginx -p $tmp" && fail "nginx left running"
no_leftovers
echo ok
