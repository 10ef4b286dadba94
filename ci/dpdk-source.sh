#!/usr/bin/env bash
# ci/dpdk-source.sh — `make kni-lib`'s first step: Debian's own dpdk source
# package into $DEST (default build/dpdk-src), with `apt-get source`.
# apt-get source needs a deb-src entry. If this machine has none for the
# Debian archive, a deb-src copy of the existing Debian entry is added as a
# file of its own for as long as the fetch takes, then removed and the
# package lists refreshed again: the apt sources are left as they were found,
# on every exit path. apt's output goes to $DEST/apt-source.log.
set -u
cd "$(dirname "$0")/.."
DEST=${DEST:-build/dpdk-src}
SRC=/etc/apt/sources.list.d/debian.sources
TMP_SRC=/etc/apt/sources.list.d/bypassbench-src.sources
say() { printf 'kni-lib: %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { say "needs root (apt-get update)" >&2; exit 1; }
command -v dpkg-source >/dev/null || { say "dpkg-source not installed (dpkg-dev; make deps)" >&2; exit 1; }
rm -rf "$DEST"; mkdir -p "$DEST"
LOG=$(cd "$DEST" && pwd)/apt-source.log
: >"$LOG"
added=0
restore() {
  local rc=$?
  if [ "$added" = 1 ]; then
    rm -f "$TMP_SRC" "$TMP_SRC.tmp"
    apt-get update >>"$LOG" 2>&1 || say "warning: apt-get update after removing $TMP_SRC failed (see $LOG)" >&2
    say "removed $TMP_SRC again"
  fi
  exit $rc
}
trap restore EXIT
trap 'exit 130' INT TERM
# our own file, left by an older make kni-lib that never removed it, is not
# this machine's: it goes when this fetch ends
[ -e "$TMP_SRC" ] && { added=1; say "found $TMP_SRC from an older make kni-lib: removing it when done"; }
others=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -vxF "$TMP_SRC")
if { [ -n "$others" ] && grep -qs '^Types:.*deb-src' $others; } || grep -qs '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then
  say "using this machine's deb-src entry"
else
  [ -f "$SRC" ] || { say "no $SRC to copy a deb-src entry from" >&2; exit 1; }
  added=1
  sed 's/^Types: deb$/Types: deb-src/' "$SRC" >"$TMP_SRC.tmp" && mv "$TMP_SRC.tmp" "$TMP_SRC" ||
    { say "cannot write $TMP_SRC" >&2; exit 1; }
  say "added $TMP_SRC (a deb-src copy of $SRC) for the fetch"
fi
say "apt-get update, apt-get source dpdk (log: $LOG)"
apt-get update >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; say "apt-get update failed" >&2; exit 1; }
(cd "$DEST" && apt-get source -q dpdk) >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; say "apt-get source dpdk failed" >&2; exit 1; }
ls -d "$DEST"/dpdk-*/ >/dev/null 2>&1 || { say "apt-get source left no dpdk-*/ in $DEST" >&2; exit 1; }
say "fetched $(basename "$(ls -d "$DEST"/dpdk-*/ | head -1)")"
