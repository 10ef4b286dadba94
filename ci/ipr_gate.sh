#!/usr/bin/env bash
# ci/ipr_gate.sh — the deterministic regression gate: instructions per
# keep-alive request through our stack (server side, memlink, virtual clock),
# counted by callgrind over build/bench/ustack_ipr, against
# ci/baselines/ipr.json. Fails when the figure is more than +2% above the
# baseline (LIMIT_PCT to change). Called by `make ipr-gate`, `make ci-regress`,
# .ci/run (after make test) and tests/integration/95_gate.sh. Two baselines:
# ci/baselines/ipr.json, one connection (lockstep: every request pays a whole
# poll), and ci/baselines/ipr-64.json, 64 connections (batches, as under the
# suites' closed loop); the baseline records its connection count. A third,
# ci/baselines/ipr-nocache.json, has the server's /bytes/N response cache off
# (every header formatted and body pattern generated inside the counted
# region), so the work the cache skips is gated too; the baseline records
# response_cache. The bench checks every response (status, length, body)
# outside the counted region and fails on a bad one.
#
#   ci/ipr_gate.sh            measure and compare (exit 0 pass, 1 regression, 2 cannot run)
#   ci/ipr_gate.sh --update   measure and rewrite the baseline (with the environment)
#   ci/ipr_gate.sh --both     every committed baseline (ipr.json, ipr-64.json, ipr-nocache.json):
#                             exit 1 if any regressed, else 2 if any could not run
#
# Environment: IPR (the binary; default $BUILD/bench/ustack_ipr, BUILD default build), BASELINE (the JSON), REQUESTS and CONNS
# (for --update: default 2000 and 1; a comparison takes both from the
# baseline), CACHE (on|off, for --update: default on; a comparison takes it
# from the baseline's response_cache), LIMIT_PCT (default 2), BB_TEST_WORK (passed through: the knob
# that adds work per frame, used to prove the gate catches it).
set -u
cd "$(dirname "$0")/.."
IPR=${IPR:-${BUILD:-build}/bench/ustack_ipr}; export IPR
BASELINE=${BASELINE:-ci/baselines/ipr.json}
LIMIT_PCT=${LIMIT_PCT:-2}
update=0
case "${1:-}" in
  --update) update=1 ;;
  --both)
    worst=0
    for bl in ci/baselines/ipr.json ci/baselines/ipr-64.json ci/baselines/ipr-nocache.json; do
      BASELINE=$bl ci/ipr_gate.sh; r=$?
      if [ $r = 1 ]; then worst=1; elif [ $r != 0 ] && [ $worst = 0 ]; then worst=2; fi
    done
    exit $worst ;;
  "") ;;
  *) echo "usage: ci/ipr_gate.sh [--update|--both]" >&2; exit 2 ;;
esac
command -v valgrind >/dev/null || { echo "ipr-gate: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "ipr-gate: python3 is not installed" >&2; exit 2; }
[ -x "$IPR" ] || { echo "ipr-gate: $IPR not built (make $IPR)" >&2; exit 2; }

N=${REQUESTS:-2000}
C=${CONNS:-1}
K=${CACHE:-on}
if [ "$update" = 0 ]; then
  [ -f "$BASELINE" ] || { echo "ipr-gate: no baseline $BASELINE (make baseline)" >&2; exit 2; }
  read -r N C K < <(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(int(d["requests"]), int(d.get("conns", 1)), d.get("response_cache", "on"))' "$BASELINE") ||
    { echo "ipr-gate: $BASELINE: unreadable (want {\"instructions_per_request\": X, \"requests\": N, \"conns\": C})" >&2; exit 2; }
  [ -n "$N" ] && [ -n "$C" ] && [ -n "$K" ] || { echo "ipr-gate: $BASELINE: unreadable" >&2; exit 2; }
fi
case $K in on) KARG= ;; off) KARG=nocache ;; *) echo "ipr-gate: response cache '$K': want on or off" >&2; exit 2 ;; esac

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$tmp/cg.out" "$IPR" "$N" 64 "$C" $KARG >"$tmp/log" 2>&1
rc=$?
ir=$(awk '/Collected/ {print $4}' "$tmp/log")
if [ "$rc" != 0 ] || [ -z "$ir" ]; then
  echo "ipr-gate: $IPR $N 64 $C $KARG failed under callgrind (rc=$rc):" >&2; tail -20 "$tmp/log" >&2; exit 2
fi
# the divisor: requests the server parsed while collection was on (the bench counts them)
cnt=$(sed -n 's/.*counted_requests=\([0-9]*\).*/\1/p' "$tmp/log")
[ -n "$cnt" ] && [ "$cnt" -gt 0 ] || { echo "ipr-gate: $IPR printed no counted_requests:" >&2; tail -5 "$tmp/log" >&2; exit 2; }
ipr=$(awk -v a="$ir" -v n="$cnt" 'BEGIN {printf "%.2f", a / n}')

if [ "$update" = 1 ]; then
  [ -z "${BB_TEST_WORK:-}" ] || { echo "ipr-gate: refusing to record a baseline with BB_TEST_WORK set" >&2; exit 2; }
  mkdir -p "$(dirname "$BASELINE")"
  python3 - "$BASELINE" "$ipr" "$N" "$ir" "$C" "$K" <<'PY' || exit 2
import json, os, platform, subprocess, sys, datetime
sys.dont_write_bytecode = True
sys.path.insert(0, "ci")
from baseline_env import code_state, cpu_model, sh
cpu = cpu_model()
path, ipr, n, ir, conns, cache = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
arg = " nocache" if cache == "off" else ""
doc = {"instructions_per_request": ipr, "requests": n, "conns": conns, "response_cache": cache, "instructions": ir,
       "measure": f"valgrind --tool=callgrind --collect-atstart=no build/bench/ustack_ipr {n} 64 {conns}{arg} (server side, memlink, keep-alive GET /bytes/64, {conns} connection{'s' if conns != 1 else ''}, response cache {cache}; every response checked outside the counted region)",
       "environment": {"kernel": platform.release(), "cpu": cpu, "git_describe": code_state(),
                       "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "compiler": sh("cc", "--version").split("\n")[0], "valgrind": sh("valgrind", "--version")}}
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2); f.write("\n")
os.replace(tmp, path)
PY
  echo "ipr-gate: baseline $BASELINE updated: $ipr instructions/request ($N requests on $C connection(s), response cache $K, $ir instructions)"
  exit 0
fi

base=$(python3 -c 'import json,sys; print(float(json.load(open(sys.argv[1]))["instructions_per_request"]))' "$BASELINE") ||
  { echo "ipr-gate: $BASELINE: no instructions_per_request" >&2; exit 2; }
awk -v b="$base" -v c="$ipr" -v lim="$LIMIT_PCT" -v n="$N" -v k="$C" -v ca="$K" -v tw="${BB_TEST_WORK:-}" 'BEGIN {
  d = (c - b) / b * 100
  printf "ipr-gate: instructions per request: baseline %.2f, current %.2f, change %+.2f%% (limit +%s%%, %d requests on %d connection%s, response cache %s%s)\n",
         b, c, d, lim, n, k, k == 1 ? "" : "s", ca, tw != "" ? ", BB_TEST_WORK=" tw : ""
  if (d > lim) { print "ipr-gate: FAIL: more instructions per request than the baseline allows"; exit 1 }
  if (d < -lim) print "ipr-gate: pass (cheaper than the baseline: refresh it with make baseline)"
  else print "ipr-gate: pass"
  exit 0 }'
