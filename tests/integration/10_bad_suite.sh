#!/usr/bin/env bash
# A bad suite file is refused with FILE:LINE before anything runs (no root needed).
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '[suite]\nname = x\nrepeats = 3\nbogus = 1\n[workload a]\npath = /bytes/64\n' > "$tmp/bad.ini"
out=$("$BB" run "$tmp/bad.ini" 2>&1); rc=$?
[ $rc = 2 ] || fail "exit $rc, expected 2: $out"
echo "$out" | grep -q "bad.ini:4:" || fail "error does not name file:line: $out"
echo "$out" | grep -q "bogus" || fail "error does not name the key: $out"
printf '[suite]\ndrivers = kernel\n[workload a]\nduration = ten\n' > "$tmp/bad2.ini"
out=$("$BB" run "$tmp/bad2.ini" 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "bad2.ini:4:" || fail "bad duration not refused with line: $out"
out=$("$BB" run suites/default.ini --drivers nosuch 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "nosuch" || fail "unknown driver not refused: $out"
out=$("$BB" run "$tmp/missing.ini" 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "missing.ini" || fail "missing file not refused: $out"
if [ "$(id -u)" = 0 ]; then ip netns list | grep -q '^bb-' && fail "a namespace was created"; fi
"$BB" run suites/default.ini --check >/dev/null || fail "--check on the default suite failed"
"$BB" load --help | grep -q -- "--rate" || fail "load --help lacks --rate"
out=$("$BB" load -c zero http://127.0.0.1:1/ 2>&1); [ $? = 2 ] && echo "$out" | grep -q "connections" || fail "bad -c not refused: $out"
echo "ok"
