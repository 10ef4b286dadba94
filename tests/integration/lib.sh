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
# Fetch our server's pattern bodies /bytes/SIZE... (running on PORT) into
# DIR/bytes/, for an independent server to serve: `load` then checks every
# byte it gets from that server.
pattern_files() {
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir/bytes"
  for s in "$@"; do
    ip netns exec bb-gen curl -sf "http://198.18.0.2:$port/bytes/$s" -o "$dir/bytes/$s" || fail "fetch /bytes/$s"
  done
}
# Debian's nginx in bb-dut on 198.18.0.2:PORT serving ROOT, one worker, its
# pid file (for the caller's cleanup) in TMP/nginx.pid. TMP must be readable
# by nginx's workers (www-data): chmod 755.
start_nginx() {
  local tmp=$1 port=$2 root=$3
  cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
daemon on;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; default_type application/octet-stream;
  server { listen 198.18.0.2:$port reuseport backlog=4096; root $root; } }
CONF
  ip netns exec bb-dut nginx -c "$tmp/nginx.conf" || fail "nginx did not start ($tmp/error.log)"
  for _ in $(seq 50); do
    ip netns exec bb-gen curl -s -o /dev/null "http://198.18.0.2:$port/" && return 0
    sleep 0.1
  done
  fail "nginx does not answer on port $port"
}
stop_nginx() { [ -f "$1/nginx.pid" ] && kill "$(cat "$1/nginx.pid")" 2>/dev/null; rm -f "$1/nginx.pid"; }
