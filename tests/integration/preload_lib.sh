# preload_lib.sh — the topology of the preload tests (75_preload_*.sh): two
# namespaces of their own, $PL-gen and $PL-dut, joined by a veth pair with
# offloads off (our stack does not do TSO/GRO). The DUT end has no kernel
# address: our stack answers for 198.18.0.2 there; the generator end has the
# kernel's 198.18.0.1. PL (default bbpl) names them, so that a run beside the
# shared bb-gen/bb-dut topology does not touch it. Sourced after lib.sh.
PL=${PL:-bbpl}
NS_GEN=$PL-gen NS_DUT=$PL-dut
IF_GEN=${PL:0:8}g0 IF_DUT=${PL:0:8}d0
STACK_IP=198.18.0.2 GEN_IP=198.18.0.1
LIB=${LIB:-$(dirname "$BB")/libbbpreload.so}

pl_down() {
  for ns in "$NS_GEN" "$NS_DUT"; do
    [ -e "/run/netns/$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  return 0
}

pl_up() {
  pl_down
  ip netns add "$NS_GEN" && ip netns add "$NS_DUT" || fail "netns add"
  ip link add "$IF_GEN" netns "$NS_GEN" type veth peer name "$IF_DUT" netns "$NS_DUT" || fail "veth"
  for side in "$NS_GEN $IF_GEN" "$NS_DUT $IF_DUT"; do
    set -- $side
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null 2>&1 || fail "ethtool $2"
    ip -n "$1" link set lo up && ip -n "$1" link set "$2" up || fail "link up $2"
    ip netns exec "$1" sysctl -q -w net.ipv6.conf."$2".disable_ipv6=1
  done
  ip -n "$NS_GEN" addr add "$GEN_IP/24" dev "$IF_GEN" || fail "address"
}

# bypassbench exec over afpacket in the DUT namespace (our stack is STACK_IP),
# in the background: PL_PID is the program's pid (ip and exec both exec).
pl_start_dut() {
  ip netns exec "$NS_DUT" "$BB" exec --driver afpacket --iface "$IF_DUT" --ip "$STACK_IP/24" "$@" &
  PL_PID=$!
}
# Stops it (SIGTERM, then SIGKILL after 5 s); returns its exit status.
pl_stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid"
}

# nginx.conf for stock nginx: one process (master_process off: our stack
# sockets cannot cross a fork), foreground, everything under $1.
pl_nginx_conf() {
  local dir=$1 listen=$2
  mkdir -p "$dir/www" "$dir/tmp"
  cat >"$dir/nginx.conf" <<CONF
master_process off;
daemon off;
worker_processes 1;
error_log $dir/error.log notice;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen $listen;
    root $dir/www;
    client_header_timeout 5s;
  }
}
CONF
}

# Waits (10 s at most) until a TCP port answers from the generator namespace
# (each try bounded: a SYN nobody answers would block connect for minutes).
pl_wait_port() {
  for _ in $(seq 100); do
    ip netns exec "$NS_GEN" timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
