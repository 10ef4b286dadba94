#!/usr/bin/env bash
# A stuck server (answers every connection but one, never that one: serve's
# TEST ONLY knob BB_TEST_STALL_CONN) must not yield a good number:
# `bypassbench load` reports the unanswered requests as errors within about a
# second of its window, whatever its --timeout, and `bypassbench run` marks
# the trial failed, naming them, and exits 1.
source "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap 'topo_cleanup; rm -rf "$tmp"' EXIT
"$BB" topo up >/dev/null || fail "topo up"
# connection 1 is start_server's probe; 3 is the load's second connection
BB_TEST_STALL_CONN=3 start_server 8080 -q
start=$(date +%s%N)
ip netns exec bb-gen "$BB" load -c 4 -d 1s --warmup 0 --timeout 30s --json "$tmp/l.json" -q \
  http://198.18.0.2:8080/bytes/64 >"$tmp/load.log" 2>&1
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
python3 - "$tmp/l.json" "$took" <<'PY' || fail "load against a stuck server: $(cat "$tmp/load.log")"
import json, sys
j = json.load(open(sys.argv[1])); took = int(sys.argv[2])
e = j.get("errors") or {}
assert j["errors_total"] >= 1, f"no errors counted: {j['errors_total']}"
assert e.get("unanswered", 0) >= 1, f"no unanswered request: {e}"
assert j["requests"] > 0, "the other connections were answered: requests counted"
# 1 s window + the drain of min(timeout, 1 s), not the 30 s timeout
assert took < 10000, f"load took {took} ms: the drain waited for the timeout"
print(f"load: {j['requests']} answered, errors {e}, in {took} ms")
PY
[ $rc != 0 ] || echo "note: load exited 0 (errors are in its JSON)"
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
"$BB" topo down >/dev/null 2>&1
cat > "$tmp/s.ini" <<'INI'
[suite]
name = stuck
drivers = kernel
repeats = 1
duration = 1s
warmup = 200ms
[workload ka]
mode = closed
path = /bytes/64
connections = 4
INI
BB_TEST_STALL_CONN=3 "$BB" run "$tmp/s.ini" --out "$tmp/res" >"$tmp/run.log" 2>&1; rc=$?
[ $rc = 1 ] || fail "run with a stuck server exited $rc, expected 1: $(tail -5 "$tmp/run.log")"
rec=$(ls "$tmp"/res/*/trials/ka-kernel-r1.json) || fail "no trial record"
python3 - "$rec" <<'PY' || fail "the trial record does not say failed for unanswered requests"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "failed", r["status"]
assert "unanswered" in (r.get("failure") or ""), r.get("failure")
print("run:", r["failure"])
PY
no_leftovers
echo ok
