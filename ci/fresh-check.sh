#!/usr/bin/env bash
# ci/fresh-check.sh — `make fresh-check`, run by .ci/run: the README's two
# commands, in order, as root, in a Debian 12 root made from nothing, on a git
# clone of HEAD (not the working tree). A missing install step, or a build
# that depends on what this machine happens to have, fails here.
#
#   1. mmdebstrap --variant=apt --include=git,make,ca-certificates bookworm,
#      from this machine's own apt sources (about 20 s, 236 MB)
#   2. git clone of HEAD into /root/bypassbench inside it
#   3. `make run SUITE=$FRESH_SUITE` (default suites/quick.ini), then `make test`,
#      each in a private mount and PID namespace (proc, sys, dev, a tmpfs /run
#      for network namespaces and a tmpfs /dev/shm), chrooted into the root
#
# Fails with the step and the tail of its log. Every exit path (Ctrl-C and
# TERM included) kills what runs inside (the PID namespace dies with it),
# drops the mounts (they live only in that namespace) and removes the root.
# Logs stay in $LOGS (default build/fresh-check/). FRESH_DIR: where the root
# is made (default /var/tmp). KEEP=1 keeps the root for a look.
set -u
cd "$(dirname "$0")/.."
SUITE=${FRESH_SUITE:-suites/quick.ini}
LOGS=${LOGS:-build/fresh-check}
FRESH_DIR=${FRESH_DIR:-/var/tmp}

say() { printf 'fresh-check: %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { say "needs root (mmdebstrap, mounts, chroot)" >&2; exit 1; }
git rev-parse --verify -q HEAD >/dev/null || { say "not in a git checkout with a commit" >&2; exit 1; }
LOG=$LOGS/deps.log ci/deps.sh fresh || exit 1
for c in unshare chroot mount; do command -v $c >/dev/null || { say "$c not found (util-linux, coreutils)" >&2; exit 1; }; done

mkdir -p "$LOGS"
LOGS=$(cd "$LOGS" && pwd)
work=$(mktemp -d "$FRESH_DIR/bb-fresh.XXXXXX") || { say "cannot make a directory in $FRESH_DIR" >&2; exit 1; }
work=$(realpath "$work")   # as /proc/mounts spells it
root=$work/root
inner=   # PID of the running step, if any
# vm.nr_hugepages is machine-wide, and the record a trial keeps to give them
# back lives in the root's private /run: put it back whatever happens inside
hp_before=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null)

cleanup() {
  local rc=$?
  trap '' INT TERM
  local p ns1 pids
  pids=$(jobs -p)
  for p in $inner $pids; do
    ns1=$(pgrep -P "$p" 2>/dev/null)       # the namespace's PID 1 (unshare --fork's child)
    kill -KILL "$p" 2>/dev/null             # --kill-child: PID 1 and so everything inside dies too
    for _ in $(seq 100); do
      { [ -z "$ns1" ] || ! kill -0 $ns1 2>/dev/null; } && ! kill -0 "$p" 2>/dev/null && break
      sleep 0.1
    done
  done
  wait 2>/dev/null
  [ -n "$hp_before" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" != "$hp_before" ] &&
    { echo "$hp_before" >/proc/sys/vm/nr_hugepages; say "vm.nr_hugepages put back to $hp_before"; }
  # the mounts live in the namespaces, so none should be here; never rm -rf through one
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then
    say "kept $root"
  elif grep -q " $work/" /proc/mounts; then
    say "mounts under $work are still present; not removing it:" >&2; grep " $work/" /proc/mounts >&2
    rc=1
  else
    rm -rf --one-file-system "$work" || { say "could not remove $work" >&2; rc=1; }
  fi
  exit $rc
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# run NAME CMD...: one step, its output in $LOGS/NAME.log, one line here.
run() {
  local name=$1; shift
  local start=$SECONDS
  printf 'fresh-check: %-34s ' "$name ..."
  "$@" >"$LOGS/$name.log" 2>&1 &
  inner=$!
  wait $inner; local rc=$?
  inner=
  local t=$((SECONDS - start))
  if [ $rc != 0 ]; then
    echo "FAILED (exit $rc, $((t / 60)) min $((t % 60)) s)"
    say "the end of $LOGS/$name.log:"
    tail -40 "$LOGS/$name.log" | sed 's/^/  | /'
    exit 1
  fi
  echo "ok ($((t / 60)) min $((t % 60)) s)"
  printf '%s %d\n' "$name" "$t" >>"$LOGS/times.txt"
}

# this machine's Debian archive entries (a Debian 12 machine has one of the
# two; third-party entries, whose keys only this machine has, stay out)
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/debian.sources; do
  [ -s "$f" ] && grep -Eqs '^[[:space:]]*(deb|Types:)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { say "no Debian apt sources on this machine (/etc/apt/sources.list, /etc/apt/sources.list.d/debian.sources)" >&2; exit 1; }
# a proxy this machine's apt uses, for apt inside the root too
proxy_env=()
for v in http_proxy https_proxy no_proxy; do [ -n "${!v:-}" ] && proxy_env+=("$v=${!v}"); done

# inside ROOT COMMAND: COMMAND as root in the fresh root, in /root/bypassbench,
# with a clean environment, in a private mount and PID namespace.
inside() {
  exec setpriv --pdeathsig KILL -- unshare --mount --propagation private --pid --fork --kill-child -- bash -euc '
    r=$1; shift
    mount --bind "$r" "$r"   # "/" a mount point inside, as ip netns exec expects (mount --make-rslave /)
    mount -t proc proc "$r/proc"
    mount -t sysfs sysfs "$r/sys"
    mount --rbind /dev "$r/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
    mount -t tmpfs -o mode=755 tmpfs "$r/run"
    mkdir -p "$r/dev/hugepages" && mount -t hugetlbfs -o pagesize=2M nodev "$r/dev/hugepages"
    cmd=$1; shift
    exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" \
      bash -euc "cd /root/bypassbench && $cmd"' _ "$root" "$1" "${proxy_env[@]}"
}

: >"$LOGS/times.txt"
say "HEAD $(git rev-parse --short HEAD), suite for make run: $SUITE, root in $work, logs in $LOGS"
total=$SECONDS
run mmdebstrap setpriv --pdeathsig KILL -- unshare --mount --propagation private --pid --fork --kill-child -- \
  mmdebstrap --variant=apt --include=git,make,ca-certificates bookworm "$root" "${sources[@]}"
run clone git clone -q --no-hardlinks "$PWD" "$root/root/bypassbench"
run checkout git -C "$root/root/bypassbench" checkout -q --detach "$(git rev-parse HEAD)"
# as on a machine where nothing is started from a chroot: packages' scripts
# (nginx's) must not start daemons, which would run in this machine's network
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
run make-run inside "make run SUITE=$SUITE"
run make-test inside "make test"
t=$((SECONDS - total))
say "passed in $((t / 60)) min $((t % 60)) s (steps: $(awk '{printf "%s%s %d s", (NR > 1 ? ", " : ""), $1, $2}' "$LOGS/times.txt"))"
