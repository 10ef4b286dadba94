#!/usr/bin/env bash
# The layering, checked on every #include (no root needed; every include
# names its folder from the repository root, -I. only):
#   workloads/   may include workloads/ and drivers/netio.h only (the
#                workload never knows which driver it runs on)
#   drivers/     may include drivers/, kni/exc.h (netio_dpdk.c's
#                exception path) and workloads/units.h (a leaf on libc only:
#                drivers/opts.c's sizes and counts), never harness/ or any
#                other workloads/ header
#   kni/         may include kni/, drivers/pktio.h and drivers/dpdk/dpdk_buf.h
#                (the mbuf/pktbuf layout it shares with the dpdk pktio)
#   preload/     may include preload/ and drivers/ (the shim over the stack's
#                netio and its query API), never harness/ or workloads/
#   harness/     anything; harness/run and harness/analysis never include
#                harness/cli (the CLI is on top)
#   every include names an existing file from the root
source "$(dirname "$0")/lib.sh"
bad=0
check() { # DIR ALLOWED-REGEX WHY
  local hits
  hits=$(grep -rn --include='*.c' --include='*.h' '#include "' "$1" | grep -vE "#include \"($2)\"" || true)
  if [ -n "$hits" ]; then echo "layering: $1 $3:"; echo "$hits"; bad=1; fi
}
check workloads 'workloads/[a-z_]+\.h|drivers/netio\.h' 'includes more than workloads/ and drivers/netio.h'
check drivers 'drivers/[a-z_/]+\.h|kni/exc\.h|workloads/units\.h' 'includes harness/ or workloads/ (other than units.h)'
check kni 'kni/[a-z_]+\.h|drivers/pktio\.h|drivers/dpdk/dpdk_buf\.h' 'includes more than kni/, drivers/pktio.h and the mbuf layout'
check preload 'preload/[a-z_]+\.h|drivers/[a-z_/]+\.h' 'includes more than preload/ and drivers/'
check harness/run '[a-z]+/[a-z_/]+\.h' 'has an include without its folder'
hits=$(grep -rn '#include "harness/cli/' harness/run harness/analysis || true)
[ -z "$hits" ] || { echo "layering: harness/run or harness/analysis include the CLI:"; echo "$hits"; bad=1; }
# every quoted include resolves from the root
while IFS=: read -r f n inc; do
  h=$(echo "$inc" | sed 's/.*#include "\([^"]*\)".*/\1/')
  [ -f "$h" ] || { echo "layering: $f:$n: \"$h\" is not a path from the repository root"; bad=1; }
done < <(git ls-files '*.c' '*.h' | xargs grep -n '#include "')
[ $bad = 0 ] || fail "layering broken (see above)"
echo ok
