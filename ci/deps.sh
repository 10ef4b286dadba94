#!/usr/bin/env bash
# ci/deps.sh — `make deps`: install the Debian packages the project needs,
# those that are missing only. One line per group says what is installed and
# why; apt's own output goes to $LOG (default build/deps.log), whose tail is
# shown when a step fails. Called by `make deps`, and so first by `make run`,
# `make test`, `make bench`, `make ci-regress`, `make kni-check`.
#
#   ci/deps.sh            every group
#   ci/deps.sh GROUP...   only those groups (e.g. `fresh` for make fresh-check)
#   ci/deps.sh +GROUP...  every default group and these (make test: +latex +ssh)
#   ci/deps.sh --list     the groups and their packages, installing nothing
set -u
cd "$(dirname "$0")/.."
LOG=${LOG:-build/deps.log}

# group | why | packages
GROUPS_TABLE='
build|compiler and the libraries every build links (JSON, suite files, capture)|build-essential pkg-config libjansson-dev libinih-dev libpcap-dev
dpdk|DPDK 22.11, the dpdk driver and its capture (pdump, pcapng)|libdpdk-dev dpdk dpdk-dev
uring|liburing 2.3, the io_uring driver (multishot accept/recv, provided buffers, SEND_ZC)|liburing-dev
net|network namespaces, CPU pinning and link settings for trials|iproute2 procps ethtool iputils-ping
report|figures (gnuplot) and the scripts that read results (python3)|gnuplot-nox python3
tests|unit tests (Criterion), the instruction gate (valgrind), fuzzers (clang, libFuzzer)|libcriterion-dev valgrind clang libclang-rt-14-dev
peers|real peers for interop tests and benchmarks (wrk, nginx, curl) and trace checks (tshark)|wrk nginx-light curl tshark
afxdp|the afxdp driver: AF_XDP sockets (libxdp), its XDP program (libbpf; built with clang -target bpf)|libxdp-dev libbpf-dev clang
fresh|the fresh-root check: a Debian root made from nothing|mmdebstrap
apps|stock programs `bypassbench exec` runs over our stack, and suites run as server_app/gen_app (ab; redis-server, redis-benchmark and redis-cli; make test and make bench install them, make run does not)|apache2-utils redis-server redis-tools
ssh|sshd for the runs-across-hosts test (two namespaces, each its own sshd, stand in for two hosts; make test installs it, make run does not: the harness itself needs only the ssh client)|openssh-server openssh-client
latex|pdflatex for `bypassbench plot --latex` and its test (about 117 MB: make test installs it, make run does not)|texlive-latex-base
'
DEFAULT_GROUPS="build dpdk uring net report tests peers afxdp"

list=0
want=()
extra=()
for a in "$@"; do
  case $a in
    --list) list=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "deps: unknown option '$a' (see ci/deps.sh --help)" >&2; exit 2 ;;
    +*) extra+=("${a#+}") ;;
    *) want+=("$a") ;;
  esac
done
[ ${#want[@]} -gt 0 ] || read -r -a want <<<"$DEFAULT_GROUPS"
want+=("${extra[@]}")

rows=()
for g in "${want[@]}"; do
  row=$(printf '%s\n' "$GROUPS_TABLE" | grep "^$g|") ||
    { echo "deps: unknown group '$g' (known: $(printf '%s\n' "$GROUPS_TABLE" | cut -d'|' -f1 | xargs))" >&2; exit 2; }
  rows+=("$row")
done
if [ "$list" = 1 ]; then
  for r in "${rows[@]}"; do IFS='|' read -r g why pk <<<"$r"; printf '%-7s %s\n        %s\n' "$g" "$why" "$pk"; done
  exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
fail() { echo "deps: $1 failed; the end of $LOG:" >&2; tail -25 "$LOG" | sed 's/^/  | /' >&2; exit 1; }

updated=0 total=0 added=0
for r in "${rows[@]}"; do
  IFS='|' read -r g why pk <<<"$r"
  missing=()
  for p in $pk; do total=$((total + 1)); installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || continue
  if [ "$(id -u)" != 0 ]; then
    echo "deps: need root to install ${missing[*]} ($why)" >&2; exit 1
  fi
  if [ "$updated" = 0 ]; then
    echo "deps: apt-get update (package lists; log: $LOG)"
    apt-get update >>"$LOG" 2>&1 || fail "apt-get update"
    updated=1
  fi
  start=$(date +%s)
  printf 'deps: installing %s: %s ... ' "${missing[*]}" "$why"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
    { echo; fail "apt-get install ${missing[*]}"; }
  echo "done ($(( $(date +%s) - start )) s)"
  added=$((added + ${#missing[@]}))
done
if [ "$added" = 0 ]; then echo "deps: nothing to install ($total packages present)"
else echo "deps: $added of $total packages installed"; fi
