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
case $R in /*) ;; *) R=$PWD/$R ;; esac
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
# phase-with-counts NAME FILE CMD...: a phase that passed must have written its counts
counted() {
  local name=$1 file=$2; shift 2
  phase "$name" "$@" || return 1
  [ -s "$file" ] || { echo "test: $name passed but wrote no counts to $file"; failed+=("$name"); return 1; }
}
counted unit "$R/unit.txt" m UNIT_RESULTS="$R/unit.txt" unit
phase "asan build" $MAKE --no-print-directory asan &&
  counted "unit (ASan+UBSan)" "$R/unit-asan.txt" $MAKE --no-print-directory UNIT_RESULTS="$R/unit-asan.txt" asan-unit
counted "fuzz smoke" "$R/fuzz.txt" $MAKE --no-print-directory FUZZ_RESULTS="$R/fuzz.txt" fuzz-smoke
counted integration "$R/integration.txt" m INTEGRATION_RESULTS="$R/integration.txt" integration
summary
[ ${#failed[@]} = 0 ]
