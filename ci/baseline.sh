#!/usr/bin/env bash
# ci/baseline.sh — `make baseline`: refresh both regression baselines from this
# machine and this build, and record where they came from.
#   1. ci/baselines/ipr.json, ipr-64.json and ipr-nocache.json: instructions
#      per request on 1 and on 64 connections, and on 1 with the server's
#      response cache off (ci/ipr_gate.sh --update)
#   2. ci/baselines/ci-results/trials/*.json: a run of suites/ci.ini, records
#      kept whole except the client/server latency histogram buckets and
#      driver counters (big, and compare reads only "metrics"); ci/baselines/environment.json says which
#      kernel, CPU, build and date produced it.
# The suite runs RUNS times (default 2) and the baseline pools them: the
# reference then holds run-to-run drift as well as the spread within a run, so
# compare's noise-aware threshold sees it (two unchanged runs here differed by
# ~10% on dpdk-ring while each run's own spread was a few percent).
# The suites run first: if a trial fails, nothing is replaced. Needs root
# (network namespaces). BB (binary), SUITE, OUT, IPR, RUNS override.
set -euo pipefail
cd "$(dirname "$0")/.."
# A baseline is what every later run is judged against: it must name the
# exact code that made it. Refuse a tree with uncommitted changes
# (ALLOW_DIRTY=1 overrides, for trying the script itself; the environment
# file then says dirty).
if [ -z "${ALLOW_DIRTY:-}" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  echo "baseline: the working tree has uncommitted changes (git status): commit them first, so the baseline names the code that made it; ci/baselines/ left as it was" >&2
  git status --short --untracked-files=no >&2
  exit 1
fi
BB=${BB:-bin/bypassbench}
SUITE=${SUITE:-suites/ci.ini}
OUT=${OUT:-${BUILD:-build}/ci-baseline}
DEST=ci/baselines/ci-results
RUNS=${RUNS:-2}
rm -rf "$OUT"
runs=()
for k in $(seq "$RUNS"); do
  # A baseline with failed trials would compare fewer samples: refuse it.
  "$BB" run "$SUITE" --out "$OUT/run$k" || { echo "baseline: trials failed; ci/baselines/ left as it was" >&2; exit 1; }
  r=$(ls -d "$OUT/run$k"/*/ | head -1)
  [ -n "$r" ] && ls "$r"/trials/*.json >/dev/null 2>&1 || { echo "baseline: no trials in $OUT/run$k" >&2; exit 1; }
  runs+=("$r")
done
run=${runs[0]}
ci/ipr_gate.sh --update
BASELINE=ci/baselines/ipr-64.json REQUESTS=4000 CONNS=64 ci/ipr_gate.sh --update
BASELINE=ci/baselines/ipr-nocache.json CACHE=off ci/ipr_gate.sh --update
python3 - "$DEST" "$SUITE" "${runs[@]}" <<'PY'
import datetime, json, os, platform, re, shutil, subprocess, sys
dest, suite, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
run = runs[0]
tmp = dest + ".new"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(tmp + "/trials")
n = 0
items = []
for k, r in enumerate(runs):  # repeats of run k are renumbered after those of runs 0..k-1
    names = sorted(x for x in os.listdir(r + "/trials") if x.endswith(".json"))
    per = max(int(re.search(r"-r(\d+)\.json$", x).group(1)) for x in names)
    for x in names:
        m = re.match(r"(.*)-r(\d+)\.json$", x)
        items.append((r, x, m.group(1), int(m.group(2)) + k * per))
for r, name, stem, rep in items:
    rec = json.load(open(os.path.join(r, "trials", name)))
    rec["repeat"] = rep
    name = f"{stem}-r{rep}.json"
    for side in ("client", "server"):
        sd = rec.get(side) or {}
        sd.pop("driver_counters", None)  # per-syscall/driver counters: debugging, not compared
        if isinstance(sd.get("latency"), dict):
            sd["latency"].pop("buckets", None)
    with open(os.path.join(tmp, "trials", name), "w") as f:
        json.dump(rec, f, indent=1, sort_keys=False)
        f.write("\n")
    n += 1
shutil.rmtree(dest, ignore_errors=True)
os.replace(tmp, dest)
sys.dont_write_bytecode = True
sys.path.insert(0, "ci")
from baseline_env import code_state, cpu_model, sh
cpu = cpu_model()
env = {"what": "ci/baselines/ci-results: " + suite + " trial records (latency buckets and driver counters stripped)",
       "trials": n, "kernel": platform.release(), "cpu": cpu, "ncpu": os.cpu_count(),
       "git_describe": code_state(),
       "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
       "source_runs": runs}
try:
    env["run_env"] = json.load(open(os.path.join(run, "env.json")))
except (OSError, ValueError):
    pass
with open("ci/baselines/environment.json.tmp", "w") as f:
    json.dump(env, f, indent=2); f.write("\n")
os.replace("ci/baselines/environment.json.tmp", "ci/baselines/environment.json")
print(f"baseline: {n} trial records in {dest} (from {run}); environment in ci/baselines/environment.json")
PY
