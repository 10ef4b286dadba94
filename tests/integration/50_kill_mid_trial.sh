#!/usr/bin/env bash
# A run stopped mid-trial (SIGINT, SIGTERM) leaves no namespace and no process;
# after a SIGKILL, `topo down` cleans up.
source "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap '"$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
for sig in INT TERM KILL; do
  "$BB" run suites/default.ini --out "$tmp" >"$tmp/run.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do pgrep -f 'bypassbench load' >/dev/null && break; sleep 0.05; done
  pgrep -f 'bypassbench load' >/dev/null || fail "no trial started ($sig): $(cat "$tmp/run.log")"
  kill -$sig $pid
  wait $pid; rc=$?
  if [ $sig = KILL ]; then
    sleep 0.5
    pgrep -af 'bypassbench (serve|load)' && fail "children survived SIGKILL of the harness"
    "$BB" topo down || fail "topo down after SIGKILL"
  else
    [ $rc = 130 ] || fail "exit $rc after SIG$sig, expected 130: $(tail -5 "$tmp/run.log")"
  fi
  no_leftovers
done
echo ok
