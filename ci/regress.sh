#!/usr/bin/env bash
# ci/regress.sh — `make ci-regress`: suites/ci.ini into $BUILD/ci-results,
# `bypassbench compare` against ci/baselines/ci-results (Markdown and JUnit XML
# in $BUILD), then the instructions-per-request gate on both baselines.
# Fails, naming the reason, when a trial fails, when compare finds a
# regression or cannot compare, or when the instruction gate fails or cannot
# run. Every step runs even after an earlier one failed, so the report is
# whole. Needs root (network namespaces). BB (the binary, default
# bin/bypassbench), BUILD (default build), CI_SUITE (default suites/ci.ini,
# the suite ci/baselines/ci-results was recorded from).
# BB_TEST_WORK=N (TEST ONLY, the gates' own test): every stack driver of the
# suite runs with test_work_per_packet = N (N loop iterations of extra work per
# received frame, drivers/ustack), through a copy of the suite with the key
# added to its [driver dpdk] and [driver afpacket] sections, so the recorded
# suite text says so; the instruction gate gets the same knob.
set -u
cd "$(dirname "$0")/.."
BB=${BB:-bin/bypassbench}; BUILD=${BUILD:-build}; SUITE=${CI_SUITE:-suites/ci.ini}
[ -x "$BB" ] || { echo "ci-regress: $BB is not built (make all)" >&2; exit 2; }
out=$BUILD/ci-results
rm -rf "$out"
reasons=()
if [ -n "${BB_TEST_WORK:-}" ]; then
  mkdir -p "$BUILD"
  tw_suite=$BUILD/ci-suite-test-work.ini
  python3 - "$SUITE" "$tw_suite" "$BB_TEST_WORK" <<'PY' || { echo "ci-regress: cannot write $tw_suite" >&2; exit 2; }
import re, sys
src, dst, n = sys.argv[1], sys.argv[2], sys.argv[3]
out, seen, cur = [], set(), None
key = f"; TEST ONLY: BB_TEST_WORK (ci/regress.sh)\ntest_work_per_packet = {n}"
for line in open(src).read().splitlines():
    m = re.match(r"\s*\[\s*driver\s+(\S+)\s*\]", line)
    if m or re.match(r"\s*\[", line):
        cur = m.group(1) if m else None
        out.append(line)
        if cur in ("dpdk", "afpacket"):
            out.append(key); seen.add(cur)
        continue
    if cur in ("dpdk", "afpacket") and re.match(r"\s*test_work_per_packet\s*=", line):
        continue
    out.append(line)
for d in ("dpdk", "afpacket"):
    if d not in seen:
        out += ["", f"[driver {d}]", key]
open(dst, "w").write("\n".join(out) + "\n")
PY
  echo "ci-regress: BB_TEST_WORK=$BB_TEST_WORK: the stack drivers run with test_work_per_packet = $BB_TEST_WORK ($tw_suite)"
  SUITE=$tw_suite
fi
"$BB" run "$SUITE" --out "$out"; rc=$?
[ $rc = 0 ] || reasons+=("$SUITE: bypassbench run exited $rc (failed trials are listed above and in the records)")
run=$(ls -d "$out"/*/ 2>/dev/null | head -1)
if [ -z "$run" ]; then
  reasons+=("no results directory in $out: nothing to compare")
else
  "$BB" compare ci/baselines/ci-results "$run" --markdown "$BUILD/ci-report.md" --junit "$BUILD/ci-junit.xml"; s=$?
  case $s in
    0) ;;
    1) reasons+=("compare: a primary figure is worse than ci/baselines/ci-results (see $BUILD/ci-report.md)") ;;
    *) reasons+=("compare could not compare (exit $s)") ;;
  esac
fi
IPR=$BUILD/bench/ustack_ipr ci/ipr_gate.sh --both; g=$?
case $g in
  0) ;;
  1) reasons+=("ipr-gate: more instructions per request than ci/baselines/ipr*.json allow") ;;
  *) reasons+=("ipr-gate could not run (exit $g)") ;;
esac
if [ ${#reasons[@]} = 0 ]; then
  echo "ci-regress: pass (report: $BUILD/ci-report.md)"
  exit 0
fi
echo "ci-regress: FAIL:" >&2
printf '  - %s\n' "${reasons[@]}" >&2
exit 1
