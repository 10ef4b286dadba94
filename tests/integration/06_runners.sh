#!/usr/bin/env bash
# The test runners count skips and cannot pass by skipping: a Criterion
# binary with one passing, one skipped test is counted "1 passed, 0 failed,
# 1 skipped" with the reason shown; on a machine that can run every test
# (tests/capable.sh: root, network namespaces, DPDK) the skip fails the run,
# and as an unprivileged user (when one exists) it is allowed and says why.
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); chmod 755 "$tmp"; trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/t.c" <<'C'
#include <criterion/criterion.h>
Test(r, passes) { cr_assert(1); }
Test(r, skips) { cr_skip_test("a reason to skip"); }
C
cc -o "$tmp/t" "$tmp/t.c" -lcriterion || fail "cannot build a Criterion test"
source tests/capable.sh
why=$(capable_reason)
out=$(RESULTS="$tmp/res.txt" tests/run-unit.sh "$tmp/t" 2>&1); rc=$?
echo "$out"
echo "$out" | grep -q 'unit: 1 passed, 0 failed, 1 skipped' || fail "counts wrong: $out"
echo "$out" | grep -q 'skip r::skips: a reason to skip' || fail "skip reason not shown: $out"
read -r kind p f s st <"$tmp/res.txt"
[ "$kind $p $f $s" = "unit 1 0 1" ] || fail "results file: $(cat "$tmp/res.txt")"
if [ -z "$why" ]; then
  [ $rc != 0 ] && [ "$st" = FAIL ] || fail "a skip passed on a machine that can run every test (rc=$rc)"
  echo "$out" | grep -q 'a skip is a failure here' || fail "no reason given for failing the skip"
  if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
    mkdir -m 777 "$tmp/nb"; cp "$tmp/t" "$tmp/nb/t"; chmod 755 "$tmp/nb/t"
    out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups tests/run-unit.sh "$tmp/nb/t" 2>&1); rc=$?
    echo "$out"
    [ $rc = 0 ] || fail "as nobody a skip should be allowed (rc=$rc)"
    echo "$out" | grep -q 'skips allowed: not root' || fail "as nobody: no reason for allowing the skip"
  fi
else
  [ $rc = 0 ] || fail "skip not allowed although this machine cannot run every test ($why)"
fi
# a failing test case fails the runner
printf '#include <criterion/criterion.h>\nTest(r, fails) { cr_assert(0, "no"); }\n' >"$tmp/f.c"
cc -o "$tmp/f" "$tmp/f.c" -lcriterion || fail "cannot build"
out=$(tests/run-unit.sh "$tmp/f" 2>&1) && fail "a failing test passed the runner"
echo "$out" | grep -q 'unit: 0 passed, 1 failed, 0 skipped' || fail "failure counts wrong: $out"
echo ok
