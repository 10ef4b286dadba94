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
set -u
cd "$(dirname "$0")/.."
BB=${BB:-bin/bypassbench}; BUILD=${BUILD:-build}; SUITE=${CI_SUITE:-suites/ci.ini}
[ -x "$BB" ] || { echo "ci-regress: $BB is not built (make all)" >&2; exit 2; }
out=$BUILD/ci-results
rm -rf "$out"
reasons=()
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
