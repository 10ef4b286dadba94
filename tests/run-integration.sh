#!/usr/bin/env bash
# Runs every tests/integration/*.sh in order. Exit 0 = pass, 77 = skipped
# (with the reason on its last line), anything else = fail. Root-only tests
# skip themselves when not root.
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0; skip=0
for t in tests/integration/[0-9]*.sh; do
  [ -e "$t" ] || continue
  log="build/$(basename "$t" .sh).log"; mkdir -p build
  start=$(date +%s)
  bash "$t" >"$log" 2>&1; rc=$?
  secs=$(( $(date +%s) - start ))
  case $rc in
    0)  pass=$((pass + 1)); echo "ok   $t (${secs}s)";;
    77) skip=$((skip + 1)); echo "skip $t: $(tail -1 "$log")";;
    *)  fail=$((fail + 1)); echo "FAIL $t (rc=$rc, ${secs}s)"; tail -40 "$log";;
  esac
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
