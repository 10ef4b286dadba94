#!/usr/bin/env bash
# The `ring` link (DESIGN §5), the bypass ceiling: `bypassbench pair` runs our
# server and our generator in one process, each on our stack over the dpdk
# driver, joined by a cross-wired net_ring pair (no kernel in the path).
#  - keep-alive GET /bytes/64 for 1 s: no errors, requests > 0;
#  - connections/s (--close) for 1 s: no errors;
#  - one 256 MiB download, checked byte for byte by the generator: no errors;
# every run writes both JSONs (server requests >= client requests) and leaves
# nothing behind in EAL's runtime directory or /dev/hugepages.
# Needs no root with the driver's default EAL (--no-huge, no PCI).
source "$(dirname "$0")/lib.sh"
[ -x "$BB" ] || { echo "skip: $BB is not built (make)"; exit 77; }
"$BB" doctor 2>/dev/null | grep -qE '^  ok   dpdk:' ||
  { echo "skip: the dpdk driver is not built in or not usable ($("$BB" doctor 2>/dev/null | grep -E 'dpdk:' | head -1))"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

runtime_dirs() { # where EAL puts its runtime directory for this user
  echo /var/run/dpdk "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk" /tmp/dpdk
}

# run_pair NAME ARGS...: one pair run, both JSONs checked, nothing left behind.
run_pair() {
  local name=$1; shift
  local sj="$tmp/$name.server.json" cj="$tmp/$name.client.json"
  "$BB" pair --server-json "$sj" --client-json "$cj" "$@" &
  local pid=$!
  wait "$pid" || fail "$name: bypassbench pair exited $?"
  [ -s "$sj" ] || fail "$name: no server JSON"
  [ -s "$cj" ] || fail "$name: no client JSON"
  for d in $(runtime_dirs); do
    [ ! -e "$d/bb$pid" ] || fail "$name: $d/bb$pid left behind"
  done
  if [ -d /dev/hugepages ]; then
    left=$(ls /dev/hugepages | grep "bb$pid" || true)
    [ -z "$left" ] || fail "$name: hugepage files left behind: $left"
  fi
  python3 - "$sj" "$cj" "$name" <<'PY' || fail "$name: bad results (above)"
import json, sys
s, c, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
assert s["role"] == "server" and c["role"] == "client", name
assert s["driver"] == "dpdk" and c["driver"] == "dpdk", name
assert s["ok"] and c["ok"], (name, c.get("error"))
assert c["errors_total"] == 0, (name, c["errors"])
assert c["requests"] > 0, (name, "no requests")
assert s["stats"]["requests_parsed"] >= c["requests"], (name, s["stats"]["requests_parsed"], c["requests"])
assert sum(s["stats"]["parse_errors"].values()) == 0, (name, s["stats"]["parse_errors"])
if name == "download":
    assert c["requests"] == 1 and c["body_bytes"] == 256 << 20, (name, c["requests"], c["body_bytes"])
print("%s: %d requests, %.0f req/s, %.2f Gbit/s, server %d requests, 0 errors"
      % (name, c["requests"], c["rps"], c["gbps"], s["stats"]["requests_parsed"]))
PY
}

run_pair keepalive -q -c 16 -d 1s --warmup 200ms --path /bytes/64
run_pair cps -q --close -c 16 -d 1s --warmup 200ms --path /bytes/64
run_pair download -q --download --timeout 20s --path /bytes/256m
echo "ok: ring pair keep-alive, CPS and 256 MiB download"
