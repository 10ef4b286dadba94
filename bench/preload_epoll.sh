#!/usr/bin/env bash
# bench/preload_epoll.sh — epoll_wait's cost against the number of idle
# sockets of our stack in the set (issue 17: a wait costs O(ready), not
# O(registered)). bench/preload_epoll.c, built here, runs under
# `bypassbench exec` over afpacket (CPU 1) with N = 10 and 1000 idle
# connections to a kernel listener in the generator namespace, and prints
# nanoseconds per epoll_wait(timeout 0) that finds nothing. Never fails on
# a figure. Root; its own namespaces (PL, default bbep); run under
# flock /tmp/bb-netns.lock like the integration tests.
#   BB=bin/bypassbench ITERS=200000 bench/preload_epoll.sh
set -u
cd "$(dirname "$0")/.."
BB=${BB:-bin/bypassbench}; ITERS=${ITERS:-200000}; BUILD=${BUILD:-build}
case $BB in /*) ;; *) BB=$PWD/$BB ;; esac
PL=${PL:-bbep}
fail() { echo "preload_epoll: FAIL: $*" >&2; exit 1; }
source tests/integration/preload_lib.sh
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces)"
mkdir -p "$BUILD/bench"
cc -O2 -Wall -Wextra -Werror -o "$BUILD/bench/preload_epoll" bench/preload_epoll.c || fail "cannot build bench/preload_epoll.c"
tmp=$(mktemp -d)
cleanup() { kill "${SRV:-}" 2>/dev/null; pl_down; rm -rf "$tmp"; }
trap cleanup EXIT
pl_up
ip netns exec "$NS_GEN" python3 -c '
import socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], 9100)); ls.listen(4096); held = []
while True: held.append(ls.accept()[0])' "$GEN_IP" & SRV=$!
for _ in $(seq 50); do ip netns exec "$NS_GEN" ss -ltn | grep -q ':9100' && break; sleep 0.1; done
for n in 10 1000; do
  out=$(ip netns exec "$NS_DUT" "$BB" exec --driver afpacket --iface "$IF_DUT" --ip "$STACK_IP/24" --log off \
        -- taskset -c 1 "$BUILD/bench/preload_epoll" "$GEN_IP" 9100 "$n" "$ITERS" 2>&1) || fail "N=$n: $out"
  set -- $out
  echo "epoll_wait(timeout 0), $1 idle stack sockets registered: $2 ns per wait"
done
