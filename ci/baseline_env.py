"""What a recorded baseline says about the code and machine that made it:
imported by ci/baseline.sh and ci/ipr_gate.sh (both run from the repo root)."""
import subprocess


def sh(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def code_state():
    """git describe of the code that made the figure, "-dirty" when it had
    uncommitted changes; changes under ci/baselines/ (this very refresh) do
    not count."""
    d = sh("git", "describe", "--always", "--tags")
    dirty = sh("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!ci/baselines")
    return d + ("-dirty" if dirty else "") if d else "unknown"


def cpu_model():
    try:
        return next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        return ""
