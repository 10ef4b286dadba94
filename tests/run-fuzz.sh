#!/usr/bin/env bash
# tests/run-fuzz.sh BIN... — the fuzz smoke: each libFuzzer target for a
# bounded number of inputs (RUNS, default 20000) from its seed corpus; a
# smoke test, not a campaign. With RESULTS=FILE, writes
# "fuzz PASSED FAILED 0" there for tests/run-all.sh.
set -u
cd "$(dirname "$0")/.."
RESULTS_FILE=${RESULTS:-}; unset RESULTS  # ours, not the tests'
RUNS=${RUNS:-20000}
pass=0; fail=0
for f in "$@"; do
  name=$(basename "$f"); dir=$(dirname "$f")
  mkdir -p "$dir/corpus-$name"
  if "$f" -runs="$RUNS" -max_len=4096 -seed=1 "$dir/corpus-$name" "tests/fuzz/corpus/$name" >"$dir/$name.log" 2>&1; then
    pass=$((pass + 1)); echo "ok   $f ($RUNS runs)"
  else
    fail=$((fail + 1)); echo "FAIL $f"; tail -40 "$dir/$name.log"
  fi
done
echo "fuzz: $pass passed, $fail failed, 0 skipped"
[ -n "$RESULTS_FILE" ] && { mkdir -p "$(dirname "$RESULTS_FILE")"; echo "fuzz $pass $fail 0 $([ $fail = 0 ] && echo ok || echo FAIL)" >"$RESULTS_FILE"; }
[ "$fail" -eq 0 ]
