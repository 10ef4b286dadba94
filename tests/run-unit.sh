#!/usr/bin/env bash
# Runs every Criterion unit-test binary given, then prints one closing line.
set -u
pass=0; fail=0; failed=()
for t in "$@"; do
  if "$t" --jobs=2 >"$t.log" 2>&1; then
    pass=$((pass + 1)); echo "ok   $t ($(grep -o 'Tested: [0-9]*' "$t.log" | tail -1))"
  else
    fail=$((fail + 1)); failed+=("$t"); echo "FAIL $t"; tail -40 "$t.log"
  fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
