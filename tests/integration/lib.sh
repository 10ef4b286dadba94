# Shared helpers for integration tests (sourced). Root-only tests call need_root.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# The binary and build directory under test: tests/run-integration.sh exports
# them (from make's BIN and BUILD); run alone, a test uses the default build.
BB=${BB:-$PWD/bin/bypassbench}
BUILD=${BUILD:-$PWD/build}
case $BB in /*) ;; *) BB=$PWD/$BB ;; esac
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
[ -x "$BB" ] || { echo "FAIL: $BB is not built (make all)"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || { echo "skip: needs root (network namespaces)"; exit 77; }; }
need_cmd() { command -v "$1" >/dev/null || { echo "skip: $1 not installed"; exit 77; }; }
fail() { echo "FAIL: $*"; exit 1; }
no_leftovers() {
  local ns procs
  ns=$(ip netns list 2>/dev/null | grep -E '^bb-' || true)
  [ -z "$ns" ] || fail "namespaces left behind: $ns"
  procs=$(pgrep -af 'bypassbench (serve|load)' || true)
  [ -z "$procs" ] || fail "processes left behind: $procs"
}
# Start our server in bb-dut on PORT (background); waits until it answers.
start_server() {
  local port=$1; shift
  ip netns exec bb-dut "$BB" serve --listen 198.18.0.2:$port --cpu 1 "$@" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    ip netns exec bb-gen curl -sf -o /dev/null http://198.18.0.2:$port/bytes/1 && return 0
    sleep 0.1
  done
  fail "server did not come up on port $port"
}
topo_cleanup() { [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; "$BB" topo down >/dev/null 2>&1; }
