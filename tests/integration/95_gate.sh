#!/usr/bin/env bash
# The regression gates catch the test-only knob test_work_per_packet (a fixed
# amount of extra work per frame received by our stack):
#  1. the deterministic gate (ci/ipr_gate.sh, callgrind over ustack_ipr):
#     passes on the current build against a baseline recorded just now from
#     the same build, and fails with BB_TEST_WORK=200;
#  2. the statistical gate (bypassbench compare): our stack on afpacket, ka-64,
#     5 x 1 s repeats, without and then with test_work_per_packet=200000
#     (rps down ~90%): compare exits 1 and flags rps worse. A milder knob
#     (20000: rps -28% to -56%) was judged "same" on a noisy VM, where trials
#     of one run spread by a CV of up to 40% and compare asks for 2 x CV.
#  3. the committed baselines (ci/baselines/ipr.json, ipr-64.json) still hold
#     for this build: a regression against them fails here, as in CI.
# Needs valgrind for 1 and 3, root for 2. Uses $BUILD/bench/ustack_ipr (make
# integration builds it).
source "$(dirname "$0")/lib.sh"
need_cmd valgrind; need_cmd python3
tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() { topo_cleanup; rm -rf "$tmp"; }
trap cleanup EXIT

# --- 1. deterministic gate -----------------------------------------------------
[ -x "$BUILD/bench/ustack_ipr" ] || fail "$BUILD/bench/ustack_ipr is not built (make bench-bins)"
export IPR=$BUILD/bench/ustack_ipr BASELINE=$tmp/ipr.json
ci/ipr_gate.sh --update || fail "ipr-gate --update"
out=$(ci/ipr_gate.sh); rc=$?
echo "$out"
[ $rc = 0 ] || fail "ipr gate fails on the build its baseline came from (rc=$rc)"
out=$(BB_TEST_WORK=200 ci/ipr_gate.sh); rc=$?
echo "$out"
[ $rc = 1 ] || fail "ipr gate did not catch BB_TEST_WORK=200 (rc=$rc)"
echo "$out" | grep -q 'baseline .*current .*change +' || fail "ipr gate does not print both figures"
BASELINE=$tmp/none.json ci/ipr_gate.sh >/dev/null 2>&1; [ $? = 2 ] || fail "missing baseline is not exit 2"
unset BASELINE
# --- 3. the committed baselines ---------------------------------------------------
# Instruction counts depend on the compiler and valgrind: the committed
# figures bind a build made with the ones that recorded them, and are only
# reported for another toolchain (whose baselines `make baseline` records).
same=$(python3 - ci/baselines/ipr.json <<'PY'
import json, subprocess, sys
env = json.load(open(sys.argv[1])).get("environment", {})
def sh(*a):
    try: return subprocess.run(a, capture_output=True, text=True).stdout.strip()
    except OSError: return ""
cc, vg = sh("cc", "--version").split("\n")[0], sh("valgrind", "--version")
print("yes" if (cc, vg) == (env.get("compiler"), env.get("valgrind")) else
      f"no: baselines from {env.get('compiler')} / {env.get('valgrind')}, this is {cc} / {vg}")
PY
)
ci/ipr_gate.sh --both; rc=$?
if [ "$same" = yes ]; then
  [ $rc = 0 ] || fail "the committed instruction baselines do not hold for this build (ipr gate exit $rc; a real regression, or refresh them with make baseline)"
else
  echo "note: committed baselines not binding here ($same); ipr gate exit $rc"
fi
unset IPR

# --- 2. statistical gate ---------------------------------------------------------
need_root
"$BB" doctor | grep -q '^  ok   afpacket' || { echo "skip: afpacket driver not available"; exit 77; }
suite() { # $1 = extra [driver afpacket] line
  cat <<INI
[suite]
name = gate
drivers = afpacket
repeats = 5
link = veth
dut_cpu = 1
gen_cpu = 0
duration = 1s
warmup = 300ms

[workload ka-64]
mode = closed
path = /bytes/64
connections = 16

[driver afpacket]
version = 2
$1
INI
}
suite "" > "$tmp/base.ini"
suite "test_work_per_packet = 200000" > "$tmp/knob.ini"
# a failed trial only shrinks a sample; compare below is what must hold
"$BB" run "$tmp/base.ini" --out "$tmp/base" >"$tmp/base.log" 2>&1; tail -6 "$tmp/base.log"
"$BB" run "$tmp/knob.ini" --out "$tmp/knob" >"$tmp/knob.log" 2>&1; tail -6 "$tmp/knob.log"
ls -d "$tmp"/base/*/ "$tmp"/knob/*/ >/dev/null 2>&1 || fail "no results directories (see above)"
B=$(ls -d "$tmp"/base/*/); K=$(ls -d "$tmp"/knob/*/)
"$BB" compare "$B" "$K" --markdown "$tmp/r.md" --junit "$tmp/r.xml" | grep -E '^(workload|ka-64 .* (rps|lat_p99_ns|system_cycles_per_request) |compare:)'
rc=${PIPESTATUS[0]}
[ "$rc" = 1 ] || fail "compare did not flag test_work_per_packet=200000 (exit $rc)"
grep -Eq '\| ka-64 \| afpacket \| rps \| [0-9]+/[0-9]+ \|.*\*\*worse\*\*' "$tmp/r.md" || fail "rps not worse in the Markdown report"
grep -q 'name="rps">' "$tmp/r.xml" && grep -q '<failure' "$tmp/r.xml" || fail "no failure in the JUnit report"
# bad input: exit 2 naming the directory
"$BB" compare "$B" "$tmp/nope" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "$tmp/nope" "$tmp/err" || fail "bad NEW directory: exit $rc, $(cat "$tmp/err")"
no_leftovers
echo ok
