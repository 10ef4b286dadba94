#!/usr/bin/env bash
# tests/run-unit.sh BIN... — runs every Criterion unit-test binary given and
# counts its test cases from Criterion's TAP report (passed, failed, skipped,
# each skip with its reason). On a machine that can run every test
# (tests/capable.sh) a skip fails the run. Prints one closing line and, with
# RESULTS=FILE, writes "unit PASSED FAILED SKIPPED" there for tests/run-all.sh.
set -u
cd "$(dirname "$0")/.."
RESULTS_FILE=${RESULTS:-}; unset RESULTS  # ours, not the tests'
source tests/capable.sh
why=$(capable_reason)
pass=0; fail=0; skip=0; bad=0
for t in "$@"; do
  tap="$t.tap"; rm -f "$tap"
  "$t" --jobs=2 --tap="$tap" >"$t.log" 2>&1; rc=$?
  p=$(grep -c '^ok - ' "$tap" 2>/dev/null); p=${p:-0}
  s=$(grep -c '^ok - .*# SKIP' "$tap" 2>/dev/null); s=${s:-0}
  f=$(grep -c '^not ok' "$tap" 2>/dev/null); f=${f:-0}
  p=$((p - s)); pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fail=$((fail + 1)); fi  # died outside a test
  if [ "$f" != 0 ]; then
    bad=$((bad + 1)); echo "FAIL $t ($p passed, $f failed, $s skipped)"; tail -40 "$t.log"
  else
    echo "ok   $t ($p passed${s:+, $s skipped})" | sed 's/, 0 skipped//'
  fi
  grep '^ok - .*# SKIP' "$tap" 2>/dev/null | sed "s/^ok - \(.*\)  # SKIP/     skip \1:/"
done
strict=""
if [ "$skip" != 0 ] && [ -z "$why" ]; then
  strict=" (a skip is a failure here: this machine is root, makes network namespaces and has DPDK)"
  bad=$((bad + 1))
fi
echo "unit: $pass passed, $fail failed, $skip skipped$strict${why:+ (skips allowed: $why)}"
[ -n "$RESULTS_FILE" ] && { mkdir -p "$(dirname "$RESULTS_FILE")"; echo "unit $pass $fail $skip $([ $bad = 0 ] && echo ok || echo FAIL)" >"$RESULTS_FILE"; }
[ "$bad" -eq 0 ]
