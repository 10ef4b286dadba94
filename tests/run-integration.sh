#!/usr/bin/env bash
# tests/run-integration.sh — runs every tests/integration/*.sh in order
# against the binary just built (BB, default bin/bypassbench; BUILD, default
# build, holds the logs and the bench binaries). Exit 0 = pass, 77 = skipped
# (the reason on its last line), anything else = fail. Root-only tests skip
# themselves when not root; on a machine that can run every test
# (tests/capable.sh) a skip is a failure. With RESULTS=FILE, writes
# "integration PASSED FAILED SKIPPED" there for tests/run-all.sh.
set -u
cd "$(dirname "$0")/.."
RESULTS_FILE=${RESULTS:-}; unset RESULTS  # ours, not the tests'
BUILD=${BUILD:-build}
BB=${BB:-bin/bypassbench}
case $BB in /*) ;; *) BB=$PWD/$BB ;; esac
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
[ -x "$BB" ] || { echo "integration: $BB is not built (make all)" >&2; exit 1; }
export BB BUILD
source tests/capable.sh
why=$(capable_reason)
pass=0; fail=0; skip=0
for t in tests/integration/[0-9]*.sh; do
  [ -e "$t" ] || { echo "integration: no tests in tests/integration" >&2; exit 1; }
  log="$BUILD/$(basename "$t" .sh).log"; mkdir -p "$BUILD"
  start=$(date +%s)
  bash "$t" >"$log" 2>&1; rc=$?
  secs=$(( $(date +%s) - start ))
  if [ "$rc" = 77 ] && [ -z "$why" ]; then
    fail=$((fail + 1)); echo "FAIL $t: skipped on a machine that can run it (root, namespaces, DPDK): $(tail -1 "$log")"
    continue
  fi
  case $rc in
    0)  pass=$((pass + 1)); echo "ok   $t (${secs}s)";;
    77) skip=$((skip + 1)); echo "skip $t: $(tail -1 "$log")";;
    *)  fail=$((fail + 1)); echo "FAIL $t (rc=$rc, ${secs}s)"; tail -40 "$log";;
  esac
done
echo "integration: $pass passed, $fail failed, $skip skipped${why:+ (skips allowed: $why)}"
[ -n "$RESULTS_FILE" ] && { mkdir -p "$(dirname "$RESULTS_FILE")"; echo "integration $pass $fail $skip $([ $fail = 0 ] && echo ok || echo FAIL)" >"$RESULTS_FILE"; }
[ "$fail" -eq 0 ]
