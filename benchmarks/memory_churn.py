"""Memory-churn benchmark: a default ``line explain`` with glibc's malloc as is vs tuned.

Usage: python benchmarks/memory_churn.py [PAIRS] [--iterations 3] [--warmup 1]
       [--threshold-mib MIB]

Runs ``line explain --iterations N --runs-dir TMP --json`` (the offline default model) as a
whole process, in alternating pairs: A with ``LINE_MALLOC=default`` (glibc left alone), then B
tuned by ``line_core.allocator.tune_allocator``, A, B, ... Each run is timed from outside:
wall time, user and system CPU and peak resident memory come from the kernel's accounting of
the finished child (``os.wait4``). Prints each figure's median for A and B and the tuned/default
ratio taken pair by pair (median, with min and max, so a drifting machine shows as spread).

``--threshold-mib`` runs B with other mmap and trim thresholds than the module's, to compare
candidate settings; the default is what ``tune_allocator`` uses. Each run gets its own empty
runs folder and concept-atlas folder (``LINE_ATLAS_DIR``), so every run renders and forwards
its concepts; the model and control caches are shared and filled by the warm-up pair. Needs
only the project's virtual environment.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FIGURES = ("wall_s", "user_s", "sys_s", "cpu_s", "peak_rss_mib", "minflt_k")


@dataclass(frozen=True)
class Run:
    """One finished process as the kernel accounted it."""

    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    minflt_k: float
    status: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def explain_command(iterations: int, runs_dir: Path, threshold_mib: int | None) -> list[str]:
    """The command line of one run (B's with other thresholds when asked)."""
    argv = ["explain", "--iterations", str(iterations), "--runs-dir", str(runs_dir), "--json"]
    if threshold_mib is None:
        return [sys.executable, "-m", "line_core.cli", *argv]
    code = ("import sys; import line_core.allocator as a; "
            f"a.MMAP_THRESHOLD = a.TRIM_THRESHOLD = {threshold_mib} * a.MIB; "
            "from line_core.cli import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, *argv]


def run_once(command: list[str], env: dict[str, str], log: Path) -> Run:
    """Start a command, wait for it and return the kernel's figures for it."""
    with open(log, "ab") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall_s=wall, user_s=usage.ru_utime, sys_s=usage.ru_stime,
               peak_rss_mib=usage.ru_maxrss / 1024, minflt_k=usage.ru_minflt / 1000,
               status=process.returncode)


def environments() -> tuple[dict[str, str], dict[str, str]]:
    """A's (glibc as is) and B's (tuned) environments; neither inherits malloc settings."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("LINE_MALLOC", "LD_PRELOAD") and not k.startswith("MALLOC_")}
    tunables = ":".join(item for item in base.pop("GLIBC_TUNABLES", "").split(":")
                        if item and not item.startswith("glibc.malloc."))
    if tunables:
        base["GLIBC_TUNABLES"] = tunables
    return {**base, "LINE_MALLOC": "default"}, {**base, "LINE_MALLOC": "tuned"}


def _table(a_runs: list[Run], b_runs: list[Run]) -> str:
    rows = [f"{'figure':<14}{'default':>10}{'tuned':>10}{'ratio':>8}{'min':>8}{'max':>8}"]
    for figure in FIGURES:
        a = [getattr(r, figure) for r in a_runs]
        b = [getattr(r, figure) for r in b_runs]
        ratios = [y / x for x, y in zip(a, b, strict=True) if x]
        rows.append(f"{figure:<14}{statistics.median(a):>10.2f}{statistics.median(b):>10.2f}"
                    f"{statistics.median(ratios):>8.2f}{min(ratios):>8.2f}{max(ratios):>8.2f}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="?", type=int, default=3, help="A/B pairs (default 3)")
    parser.add_argument("--iterations", type=int, default=3, help="explain iterations per run")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted pairs first")
    parser.add_argument("--threshold-mib", type=int, default=None,
                        help="B's mmap and trim thresholds (default: the module's)")
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("PAIRS must be at least 1")
    env_a, env_b = environments()
    a_runs: list[Run] = []
    b_runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="line-churn-") as tmp:
        log = Path(tmp) / "runs.log"
        for pair in range(args.warmup + args.pairs):
            counted = pair >= args.warmup
            for name, env, runs in (("default", env_a, a_runs), ("tuned", env_b, b_runs)):
                threshold = args.threshold_mib if name == "tuned" else None
                folder = Path(tmp) / f"{pair}-{name}"
                command = explain_command(args.iterations, folder / "runs", threshold)
                run = run_once(command, {**env, "LINE_ATLAS_DIR": str(folder / "atlas")}, log)
                if run.status != 0:
                    print(f"error: {name} run exited {run.status}; its output:\n"
                          + log.read_text(errors="replace")[-2000:], file=sys.stderr)
                    return 1
                label = f"pair {pair - args.warmup + 1}" if counted else "warm-up"
                print(f"{label:>8} {name:<8} wall {run.wall_s:6.2f} s  user {run.user_s:6.2f} s"
                      f"  sys {run.sys_s:6.2f} s  peak {run.peak_rss_mib:7.0f} MiB"
                      f"  minflt {run.minflt_k:7.0f}k", flush=True)
                if counted:
                    runs.append(run)
    print(f"\nline explain --iterations {args.iterations}, {args.pairs} pairs, medians; "
          "ratio = tuned/default pair by pair (median, min, max)")
    print(_table(a_runs, b_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
