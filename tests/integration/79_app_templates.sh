#!/usr/bin/env bash
# Suite templates for unmodified applications (issue 17): a tiny suite with
#  - nginx (server_app) under wrk (gen_app) on the kernel and on afpacket
#    (bypassbench exec), with a throw-away wrk warm-up run;
#  - redis-server under redis-benchmark -t get,set -P 16 on both;
#  - a broken case: gen_args that override the template's -n, so
#    redis-benchmark runs fewer requests than the harness planned: the
#    identity check (redis's commandstats against the counts) must fail it.
# Checks: the records carry the parsed metrics (req/s, p50/p99, errors),
# the raw output, the versions and command lines, the identity check passed
# (nginx's access log, the DUT kernel's TcpPassiveOpens on the kernel row and
# the stack's --stats counters on afpacket, against wrk's exact counts), the broken case is recorded as failed with the
# reason, the report names the applications, and nothing is left running.
source "$(dirname "$0")/lib.sh"
need_root; need_cmd nginx; need_cmd wrk; need_cmd redis-server; need_cmd redis-benchmark; need_cmd redis-cli
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available"; exit 77; }
"$BB" doctor | grep -q '^  ok   preloading' || fail "doctor: preloading does not work: $("$BB" doctor | grep preload)"
tmp=$(mktemp -d); chmod 755 "$tmp"
trap '"$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
cat > "$tmp/apps.ini" <<'INI'
[suite]
drivers = kernel, afpacket
repeats = 1
duration = 1s
warmup = 1s
dut_cpu = 1
gen_cpu = 0
[workload nginx-wrk]
path = /bytes/64
connections = 16
server_app = nginx
gen_app = wrk
[workload redis]
connections = 8
pipeline = 16
requests = 20000
server_app = redis-server
gen_app = redis-benchmark
gen_args = -t get,set
[workload redis-bad]
connections = 8
pipeline = 16
requests = 20000
server_app = redis-server
gen_app = redis-benchmark
gen_args = -t get,set -n 5000
INI
"$BB" run "$tmp/apps.ini" --check > "$tmp/check.out" 2>&1 || { cat "$tmp/check.out"; fail "--check"; }
grep -q 'nginx-wrk .*server nginx, generator wrk' "$tmp/check.out" || { cat "$tmp/check.out"; fail "the plan does not name the applications"; }
# the broken workload fails its trials: run exits 1
"$BB" run "$tmp/apps.ini" --out "$tmp" > "$tmp/run.out" 2>&1; rc=$?
cat "$tmp/run.out"
[ $rc = 1 ] || fail "run exited $rc, want 1 (the redis-bad trials fail)"
dir=$(ls -d "$tmp"/*/ | head -1)
python3 - "$dir" <<'PY' || fail "records"
import json, glob, re, sys
recs = {}
for p in glob.glob(sys.argv[1] + "/trials/*.json"):
    j = json.load(open(p))
    recs[(j["workload"]["name"], j["driver"])] = j
want = {(w, d) for w in ("nginx-wrk", "redis", "redis-bad") for d in ("kernel", "afpacket")}
assert set(recs) == want, sorted(recs)
for d in ("kernel", "afpacket"):
    j = recs[("nginx-wrk", d)]
    assert j["status"] == "ok", (d, j["failure"])
    a, c, m = j["app"], j["client"], j["metrics"]
    assert a["server"] == "nginx" and a["gen"] == "wrk", a
    assert a["server_version"].startswith("nginx ") and a["gen_version"].startswith("wrk "), a
    assert a["server_sockets"] == ("kernel" if d == "kernel" else "our stack (bypassbench exec, libbbpreload.so)")
    sv = a["server_argv"]
    assert ("exec" in sv) == (d == "afpacket") and any(x.endswith("/nginx") for x in sv), sv
    assert "master_process off;" in a["server_config"]
    # the exact counts, from the Lua line in the raw output
    line = re.search(r"^bb-wrk requests=(\d+) bytes=(\d+) duration_us=(\d+)", a["raw_output"], re.M)
    assert line, a["raw_output"]
    assert c["requests"] == int(line.group(1)) == m["requests"], (c["requests"], line.group(1))
    assert c["bytes_read"] == int(line.group(2))
    assert abs(m["rps"] - int(line.group(1)) / (int(line.group(3)) / 1e6)) < 1e-6 * m["rps"]
    assert m["rps"] > 1000 and m["errors"] == 0, m
    assert 0 < m["lat_p50_ns"] <= m["lat_p99_ns"] <= m["lat_max_ns"], m
    assert a["warmup_argv"] and "bb-wrk requests=" in a["warmup_output"], a["warmup_argv"]
    assert c["runs"] == 2 and c["requests_total"] == c["requests"] + c["warmup_run"]["requests"]
    # the identity check: nginx's access log within one in flight per connection (+ probe)
    parsed = j["server"]["stats"]["requests_parsed"]
    assert c["requests_total"] + 1 <= parsed <= c["requests_total"] + 1 + 16 * 2, (parsed, c["requests_total"])
    assert m["system_cycles_per_request"] > 0, j["cpu"]
    assert "whole measured run" in j["cpu"]["window"], j["cpu"]
    if d == "kernel":  # the DUT kernel's accepted connections: 16 per wrk run and the probe
        assert j["server"]["kernel_passive_opens"] >= 16 * 2 + 1, j["server"]["kernel_passive_opens"]
    if d == "afpacket":
        dc = j["server"]["driver_counters"]
        assert dc["preload_accepts"] >= 16 * 2 + 1, dc["preload_accepts"]
        assert dc["preload_send_bytes"] + dc["preload_sendfile_bytes"] >= c["bytes_total"], dc
        assert "our stack also" in a["identity_check"]
for d in ("kernel", "afpacket"):
    j = recs[("redis", d)]
    assert j["status"] == "ok", (d, j["failure"])
    c, m, cs = j["client"], j["metrics"], j["server"]["commandstats"]
    assert [t["command"] for t in c["per_command"]] == ["set", "get"], c["per_command"]
    assert cs["set"] == 20000 and cs["get"] == 20000, cs
    if d == "kernel":
        assert j["server"]["kernel_passive_opens"] >= 8 + 1, j["server"]
    assert m["requests"] == 40000 and m["rps"] > 0 and m["lat_p99_ns"] > 0, m
    assert "lat_p90_ns" not in m, "redis-benchmark gives no p90: absent, not 0"
    assert '"SET"' in j["app"]["raw_output"], j["app"]["raw_output"]
    j = recs[("redis-bad", d)]
    assert j["status"] == "failed", (d, "the identity check passed a run of 5000 requests per test")
    # (-n 5000 -P 16 runs whole pipelines: 5008 commands)
    assert re.search(r"redis-server ran 50\d\d set commands .* but redis-benchmark completed 20000", j["failure"]), j["failure"]
print("records: nginx+wrk and redis ok on kernel and afpacket with parsed metrics and identity checks; the -n override failed:",
      recs[("redis-bad", "afpacket")]["failure"])
PY
grep -q 'DUT: \*\*server\*\*: nginx' "$dir/REPORT.md" || fail "the report does not name the server application"
grep -q 'generator: redis-benchmark' "$dir/REPORT.md" || fail "the report does not name the generator application"
no_leftovers
pgrep -x nginx -a | grep -q "$tmp" && fail "nginx left running"
pgrep -x redis-server -a | grep -q 8080 && fail "redis-server left running"
echo ok
