# tests/capable.sh (sourced by the test runners): decides whether this
# machine can run every test. It can when it is root, network namespaces can
# be made, and DPDK and liburing are installed (pkg-config finds libdpdk and
# liburing, so the build has the dpdk and io_uring drivers in it). On such a
# machine a skipped test is a failure: a skip there hides a test that should
# have run. Elsewhere a skip is counted
# as a skip, with its reason.
#   capable_reason   prints why not ("" when capable)
capable_reason() {
  [ "$(id -u)" = 0 ] || { echo "not root"; return; }
  command -v ip >/dev/null || { echo "no ip (iproute2)"; return; }
  local ns="bbprobe$$"
  ip netns add "$ns" 2>/dev/null || { echo "cannot create network namespaces"; return; }
  ip netns del "$ns" 2>/dev/null
  pkg-config --exists libdpdk 2>/dev/null || { echo "DPDK not installed (pkg-config libdpdk)"; return; }
  pkg-config --exists liburing 2>/dev/null || { echo "liburing not installed (pkg-config liburing)"; return; }
  echo ""
}
