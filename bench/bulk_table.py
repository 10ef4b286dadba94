#!/usr/bin/env python3
"""make bench, bulk section: the table of suites/bench-bulk.ini and its goals
(issue 16) from one run's summary.json and trial records.

Usage: bulk_table.py RESULTS_DIR   (the directory holding summary.json)

Per workload and driver, medians over the ok trials: req/s (ka-64k) or
download seconds and Gbit/s (download-1g), p99, retransmissions and the
spurious ones (the peer's D-SACKs), congestion cuts the DUT undid because
every resend of the episode was D-SACKed (cwnd_undos: our dsack_undo, the
kernel's TCPDSACKUndo + TCPLossUndo), drops the generator's namespace counted
(its socket queues and veth end: loss that is the wire's or the kernel's,
not our stack's; the machine-wide softnet backlog drops are a metric of
their own, machine_softnet_drops), copies per body byte by our code, the ratio
to the kernel row (speed: higher is better), and the DUT core's cycles per
frame split by the server process's user and system time (ours vs the
kernel's: on veth the kernel's share includes the generator's receive path,
which runs in the sender's softirq on the DUT core). Then each goal with
the figure it is judged on. Exit status 0 whatever the figures (make bench
never fails on a timing); 1 when the results cannot be read.
"""
import glob
import json
import os
import statistics
import sys

DRIVERS = ["kernel", "afpacket", "afxdp", "dpdk", "dpdk-ring"]


def main():
    d = sys.argv[1]
    try:
        summ = json.load(open(os.path.join(d, "summary.json")))
    except (OSError, ValueError) as e:
        sys.exit(f"bulk_table: {d}/summary.json: {e}")
    g = {(x["workload"], x["driver"]): x["metrics"] for x in summ["groups"]}

    def med(w, drv, k):
        v = (g.get((w, drv), {}).get(k) or {}).get("median")
        return float("nan") if v is None else float(v)

    # user share of the server process (rusage over its run), per group
    share = {}
    for p in glob.glob(os.path.join(d, "trials", "*.json")):
        j = json.load(open(p))
        if j.get("status") != "ok":
            continue
        ru = (j.get("server") or {}).get("rusage") or {}
        u, s = ru.get("utime_ns", 0), ru.get("stime_ns", 0)
        if u + s > 0:
            share.setdefault((j["workload"]["name"], j["driver"]), []).append(u / (u + s))

    def fmt(v, f):
        return "-" if v != v else format(v, f)

    for w in sorted({w for w, _ in g}):
        dl = w.startswith("download")
        head = f"{'time s':>8} {'Gbit/s':>7}" if dl else f"{'req/s':>8} {'p99 ms':>7}"
        print(f"\n{w}: {'driver':10} {head} {'x kernel':>8} {'retrans':>8} {'spurious':>8} "
              f"{'undos':>5} {'gen drops':>9} {'copies/B':>8} {'cyc/frame':>9} {'ours':>6} {'kernel':>6}")
        kt = med(w, "kernel", "download_s" if dl else "rps")
        for drv in DRIVERS:
            if (w, drv) not in g:
                continue
            if dl:
                t = med(w, drv, "download_s")
                a, b, x = fmt(t, ".2f"), fmt(med(w, drv, "gbps"), ".2f"), kt / t
            else:
                r = med(w, drv, "rps")
                a, b, x = fmt(r, ".0f"), fmt(med(w, drv, "lat_p99_ns") / 1e6, ".1f"), r / kt
            xs = "n/a" if drv == "dpdk-ring" else fmt(x, ".2f")
            cpf = med(w, drv, "dut_cycles_per_packet")
            us = statistics.median(share[(w, drv)]) if share.get((w, drv)) else float("nan")
            print(f"{'':{len(w) + 2}}{drv:10} {a:>8} {b:>7} {xs:>8} "
                  f"{fmt(med(w, drv, 'retransmits'), '.0f'):>8} "
                  f"{fmt(med(w, drv, 'spurious_retransmits'), '.0f'):>8} "
                  f"{fmt(med(w, drv, 'cwnd_undos'), '.0f'):>5} "
                  f"{fmt(med(w, drv, 'gen_kernel_drops'), '.0f'):>9} "
                  f"{fmt(med(w, drv, 'copies_per_body_byte'), '.3f'):>8} {fmt(cpf, '.0f'):>9} "
                  f"{fmt(cpf * us, '.0f'):>6} {fmt(cpf * (1 - us), '.0f'):>6}")

    def goal(name, ok, fig):
        print(f"  {'met ' if ok else 'MISS'} {name}: {fig}")

    print("\ngoals (issue 16), medians of this run:")
    for drv in DRIVERS:
        p = med("ka-64k", drv, "lat_p99_ns") / 1e6
        if p == p:
            goal(f"ka-64k p99 <= 20 ms, {drv}", p <= 20, f"{p:.1f} ms")
    rr = med("ka-64k", "dpdk-ring", "retransmits")
    if rr == rr:
        goal("0 retransmissions on dpdk-ring (ka-64k)", rr == 0, f"{rr:.0f}")
    rd = med("download-1g", "dpdk-ring", "retransmits")
    if rd == rd:
        goal("0 retransmissions on dpdk-ring (download-1g)", rd == 0, f"{rd:.0f}")
    kt = med("download-1g", "kernel", "download_s")
    for drv in ("afpacket", "dpdk"):
        t = med("download-1g", drv, "download_s")
        if t == t and kt == kt:
            goal(f"1 GiB download {drv} >= 1.5x kernel", kt / t >= 1.5,
                 f"{kt / t:.2f}x ({t:.2f} s vs {kt:.2f} s)")
    gb = med("download-1g", "dpdk-ring", "gbps")
    if gb == gb:
        goal("ring download >= 40 Gbit/s", gb >= 40, f"{gb:.1f} Gbit/s")
    rr = med("ka-64k", "dpdk-ring", "rps")
    if rr == rr:
        goal("ka-64k ring >= 2 x 29.6k req/s", rr >= 59200, f"{rr:.0f} req/s")
    print("(x kernel: speed over the kernel row; copies/B: bytes our code copied per body byte "
          "(headers and resends included; the kernel's and a PMD's own copies are not ours, "
          "README *Copies per body byte*); cyc/frame: DUT core cycles per DUT frame, split "
          "by the server's user and system time over its run)")


main()
