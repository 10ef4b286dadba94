# bench/offloads.sh — sourced by bench/bench.sh (its helpers: run_suite, die,
# $tmp): the 1 GiB download and ka-64k over veth for kernel, afpacket and
# dpdk, offloads off and on (suites/bench-offloads.ini), each row against the
# kernel with the same setting. Goal (issue 16): afpacket and dpdk at least
# 1.5x the kernel's download speed, with offloads off and with them on; ka-64k
# p99 at most 20 ms on every driver.
bench_offloads() {
  echo; echo "bench: offloads off and on (suites/bench-offloads.ini: kernel, afpacket, dpdk on veth; +ol rows: offloads = on; 3 repeats, medians)"
  run_suite "$tmp/ol" suites/bench-offloads.ini
  python3 - "$tmp"/ol/*/summary.json <<'PY'
import glob, json, os, sys
g = {(x["workload"], x["driver"]): x["metrics"] for x in json.load(open(sys.argv[1]))["groups"]}
used = {}
for p in glob.glob(os.path.join(os.path.dirname(sys.argv[1]), "trials", "*.json")):
    r = json.load(open(p))
    used[r["driver"]] = ",".join((r.get("driver_offloads") or {}).get("used") or []) or "none"
def med(w, d, k):
    v = (g.get((w, d), {}).get(k) or {}).get("median")
    return float("nan") if v is None else v
print(f"{'workload':8} {'driver':12} {'offloads used':28} {'figure':>14} {'x kernel':>9} {'p99 ms':>8} {'sys cyc/req':>12}   goal")
for w in ("dl-1g", "ka-64k"):
    for ol in ("", "+ol"):
        k = "kernel" + ol
        for d in ("kernel", "afpacket", "dpdk"):
            row = d + ol
            if w == "dl-1g":
                t, tk = 1 / med(w, row, "rps"), 1 / med(w, k, "rps")  # one request: seconds
                fig, x = f"{t:10.3f} s", tk / t
                goal = "" if d == "kernel" else ("(>= 1.5x: " + ("met" if x >= 1.5 else "NOT met") + ")")
            else:
                r = med(w, row, "rps")
                fig, x = f"{r:8.0f} req/s", r / med(w, k, "rps")
                goal = "(p99 <= 20 ms: " + ("met" if med(w, row, "lat_p99_ns") <= 20e6 else "NOT met") + ")"
            print(f"{w:8} {row:12} {used.get(row, '?'):28} {fig:>14} {x:9.2f} {med(w, row, 'lat_p99_ns')/1e6:8.2f} "
                  f"{med(w, row, 'system_cycles_per_request'):12.0f}   {goal}")
print("(dl-1g: the download's time, one request per trial; x kernel: the kernel's time over this row's (download)")
print(" or this row's req/s over the kernel's, both with the same offloads setting)")
PY
  [ $? = 0 ] || die "the offloads table could not be made from $tmp/ol"
}
