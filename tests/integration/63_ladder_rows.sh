#!/usr/bin/env bash
# `bypassbench run` with the kernel-side steps of the ladder as rows of their
# own: kernel, kernel+busypoll (a variant: the kernel driver with its
# [driver kernel+busypoll] options) and io_uring. Every trial ok; the busy-poll
# row records the options it was given and the settings the driver applied
# (SO_BUSY_POLL etc. on its sockets; epoll's through EPIOCSPARAMS where the
# kernel has it, else the harness's sysctls, said in busy_poll_sysctls), and
# its sockets have a NAPI instance to poll (GRO on the DUT veth for that row).
source "$(dirname "$0")/lib.sh"
need_root
"$BB" doctor | grep -q '^  ok   io_uring' || { echo "skip: io_uring driver not available ($("$BB" doctor | grep io_uring | head -1))"; exit 77; }
tmp=$(mktemp -d); trap '"$BB" topo down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
cat > "$tmp/ladder.ini" <<'INI'
[suite]
drivers = kernel, kernel+busypoll, io_uring
repeats = 1
duration = 1s
warmup = 200ms
[workload ka-64]
path = /bytes/64
connections = 32
[driver kernel+busypoll]
busy_poll = 50
prefer_busy_poll = 1
busy_poll_budget = 16
INI
"$BB" run "$tmp/ladder.ini" --out "$tmp" || fail "run failed"
dir=$(ls -d "$tmp"/*/ | head -1)
python3 - "$dir" <<'PY' || fail "records"
import json, glob, sys, os
recs = {}
for p in glob.glob(sys.argv[1] + "/trials/*.json"):
    j = json.load(open(p))
    assert j["status"] == "ok", (p, j["failure"])
    recs[j["driver"]] = j
assert sorted(recs) == ["io_uring", "kernel", "kernel+busypoll"], sorted(recs)
bp = recs["kernel+busypoll"]
assert bp["netio_driver"] == "kernel", bp["netio_driver"]
assert bp["driver_options"] == ["busy_poll=50", "prefer_busy_poll=1", "busy_poll_budget=16"], bp["driver_options"]
dc = bp["server"]["driver_counters"]
assert dc["cfg_busy_poll_us"] == 50 and dc["cfg_prefer_busy_poll"] == 1 and dc["cfg_busy_poll_budget"] == 16, dc
# epoll's busy polling: the ioctl took it, or the harness set the sysctls
assert dc["cfg_epoll_busy_poll"] == 1 or "net.core.busy_poll=50" in (bp["busy_poll_sysctls"] or ""), (dc, bp["busy_poll_sysctls"])
# busy polling needs NAPI: veth has it with GRO on, turned on for this row only
assert (bp["dut_veth_gro"] or "").startswith("on for this trial"), bp["dut_veth_gro"]
assert dc["cfg_napi_id"] > 0, "no NAPI id on the busy-poll row's sockets: nothing to busy poll"
assert recs["kernel"]["dut_veth_gro"] is None and recs["io_uring"]["dut_veth_gro"] is None
assert recs["kernel"]["server"]["driver_counters"]["cfg_busy_poll_us"] == 0
assert recs["kernel"]["driver_options"] == []
iu = recs["io_uring"]["server"]["driver_counters"]
assert iu["sys_io_uring_enter"] > 0 and iu["rx_zero_copy"] > 0, iu
for d, j in sorted(recs.items()):
    print("%-16s %8.0f req/s  syscalls/request %.2f" % (d, j["metrics"]["rps"], j["metrics"].get("syscalls_per_request", float("nan"))))
PY
grep -q 'kernel+busypoll' "$dir/REPORT.md" || fail "REPORT.md lacks the kernel+busypoll row"
no_leftovers
echo ok
