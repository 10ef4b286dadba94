#!/usr/bin/env python3
"""make bench, applications section: the table of suites/apps.ini (issue 17,
Light's demonstration) from one run's summary.json and trial records.

Usage: apps_table.py RESULTS_DIR   (the directory holding summary.json)

Per workload (which server, which generator: the records' app block) and
driver, medians over the ok trials: req/s, p99, whole-system cycles per
request (every core's busy time x TSC over the generator application's run)
and the ratios to the kernel row of the same workload (req/s: higher is
better; cycles: kernel / this, higher is fewer cycles). Then the preload
layer's cost: nginx on our stack against our own server on the same driver
under the same wrk. Exit status 0 whatever the figures (make bench never
fails on a timing); 1 when the results cannot be read.
"""
import glob
import json
import os
import sys

DRIVERS = ["kernel", "afpacket", "dpdk"]


def med(g, k):
    m = (g.get("metrics") or {}).get(k) or {}
    v = m.get("median")
    return float("nan") if v is None else v


def main():
    d = sys.argv[1]
    try:
        groups = json.load(open(os.path.join(d, "summary.json")))["groups"]
    except (OSError, ValueError, KeyError) as e:
        print(f"apps_table: {d}: {e}", file=sys.stderr)
        return 1
    apps = {}  # workload -> (server, generator) as the records name them
    for p in glob.glob(os.path.join(d, "trials", "*.json")):
        j = json.load(open(p))
        a = j.get("app") or {}
        apps[j["workload"]["name"]] = (a.get("server", "ours"), a.get("gen", "ours"))
    g = {(x["workload"], x["driver"]): x for x in groups}
    order = []
    for x in groups:
        if x["workload"] not in order:
            order.append(x["workload"])
    print(f"\n{'workload':10} {'server <- generator':31} {'driver':9} {'req/s':>10} {'x kernel':>9} "
          f"{'p99':>9} {'sys cyc/req':>12} {'kernel/this':>12} {'ok':>5}")
    for w in order:
        sv, gn = apps.get(w, ("ours", "ours"))
        k = g.get((w, "kernel"), {})
        rk, ck = med(k, "rps"), med(k, "system_cycles_per_request")
        for drv in DRIVERS:
            x = g.get((w, drv))
            if not x:
                continue
            r, c, p99 = med(x, "rps"), med(x, "system_cycles_per_request"), med(x, "lat_p99_ns")
            ok = f"{x.get('ok', 0)}/{x.get('trials', 0)}"
            if r != r:
                print(f"{w:10} {sv + ' <- ' + gn:31} {drv:9} {'no ok trial':>10} {'':>9} {'':>9} {'':>12} {'':>12} {ok:>5}")
                continue
            p = f"{p99 / 1e3:.0f} us" if p99 == p99 else "n/a"
            print(f"{w:10} {sv + ' <- ' + gn:31} {drv:9} {r:10.0f} {r / rk:9.2f} {p:>9} {c:12.0f} "
                  f"{ck / c:12.2f} {ok:>5}")
    # the preload layer's cost: stock nginx under exec vs our server, same wrk, same driver
    nw = [w for w in order if apps.get(w) == ("nginx", "wrk")]
    ow = [w for w in order if apps.get(w) == ("ours", "wrk")]
    if nw and ow:
        print()
        for drv in DRIVERS:
            a, b = g.get((nw[0], drv)), g.get((ow[0], drv))
            if a and b:
                ra, rb = med(a, "rps"), med(b, "rps")
                ca, cb = med(a, "system_cycles_per_request"), med(b, "system_cycles_per_request")
                print(f"{drv:9} nginx / our server under wrk: req/s {ra / rb:.2f}, cycles per request "
                      f"{ca / cb:.2f} (nginx's own work plus, off the kernel, the preload layer)")
    print("\n(cycles: /proc/stat busy time x TSC over the generator application's whole run, every core;"
          "\n x kernel: req/s over the same workload's kernel row; kernel/this > 1 = fewer cycles than the kernel;"
          "\n redis: redis-benchmark's own rates, p99 the worse of its SET and GET tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
