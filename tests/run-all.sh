#!/usr/bin/env bash
# tests/run-all.sh — `make test` after `make deps`: build, unit tests, the
# ASan+UBSan build and its unit tests, the fuzz smoke, integration tests.
# A failing phase does not stop the later ones (but for the builds they
# need); the last line counts passed, failed and skipped test cases for unit
# and integration tests alike, and says PASS or FAIL. MAKE, BUILD, BIN come
# from the Makefile.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}; BUILD=${BUILD:-build}; BIN=${BIN:-bin/bypassbench}
R=$BUILD/test-results
rm -rf "$R"; mkdir -p "$R"
m() { $MAKE --no-print-directory BUILD="$BUILD" BIN="$BIN" "$@"; }
failed=()
phase() { # NAME CMD...: one phase; its failure is remembered
  local name=$1; shift
  echo "== test: $name"
  "$@" || { failed+=("$name"); return 1; }
}
summary() {
  local tp=0 tf=0 ts=0 parts=() kind p f s st label
  for k in unit unit-asan fuzz integration; do
    [ -f "$R/$k.txt" ] || continue
    read -r kind p f s st <"$R/$k.txt"
    case $k in unit) label="unit" ;; unit-asan) label="unit (ASan+UBSan)" ;; *) label=$k ;; esac
    parts+=("$label $p passed, $f failed, $s skipped")
    tp=$((tp + p)); tf=$((tf + f)); ts=$((ts + s))
  done
  local verdict=PASS line="" x
  [ ${#failed[@]} = 0 ] || verdict="FAIL (failed: $(printf '%s, ' "${failed[@]}" | sed 's/, $//'))"
  for x in "${parts[@]}"; do line="$line$x; "; done
  echo "test: $verdict: ${line:-nothing ran; }in all $tp passed, $tf failed, $ts skipped"
}

phase build m all bench-bins || { summary; exit 1; }
phase unit m UNIT_RESULTS="$PWD/$R/unit.txt" unit
phase "asan build" $MAKE --no-print-directory asan &&
  phase "unit (ASan+UBSan)" $MAKE --no-print-directory UNIT_RESULTS="$PWD/$R/unit-asan.txt" asan-unit
phase "fuzz smoke" $MAKE --no-print-directory FUZZ_RESULTS="$PWD/$R/fuzz.txt" fuzz-smoke
phase integration m INTEGRATION_RESULTS="$PWD/$R/integration.txt" integration
summary
[ ${#failed[@]} = 0 ]
