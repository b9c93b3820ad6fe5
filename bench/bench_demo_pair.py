"""`socio demo` wall time and peak RSS, paired: an older checkout against this one, runs alternated.

The VM's speed drifts by about +-30% over minutes, so the two are run in alternation and compared by the
median of the per-pair ratios. The older checkout runs from its own folder with this venv (its packages win
on sys.path because the command runs with that folder as the working directory).

Usage:
    git worktree add /tmp/before a1e4ce0
    .venv/bin/python bench/bench_demo_pair.py --before /tmp/before --before-cmd "-m agent.cli demo" --runs 7
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(cwd: Path, args: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        cmd = ["/usr/bin/time", "-v", sys.executable, *args, "--out", str(Path(d) / "o")]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed in {cwd}: {p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return wall, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, type=Path, help="the older checkout")
    ap.add_argument("--before-cmd", default="-m agent.cli demo", help="how the older checkout runs the demo")
    ap.add_argument("--after-cmd", default="-m socioagent demo", help="how this checkout runs the demo")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    rows = []
    for _ in range(args.runs):
        b = _run(args.before, args.before_cmd.split())
        a = _run(REPO, args.after_cmd.split())
        rows.append((b, a))
        print(f"before {b[0]:.2f} s {b[1]:.0f} MiB   after {a[0]:.2f} s {a[1]:.0f} MiB", flush=True)
    med = statistics.median
    print(
        f"wall median: before {med(r[0][0] for r in rows):.2f} s, after {med(r[1][0] for r in rows):.2f} s, "
        f"paired ratio after/before {med(r[1][0] / r[0][0] for r in rows):.2f}"
    )
    print(
        f"peak RSS median: before {med(r[0][1] for r in rows):.0f} MiB, after {med(r[1][1] for r in rows):.0f} "
        f"MiB, paired ratio {med(r[1][1] / r[0][1] for r in rows):.2f}"
    )


if __name__ == "__main__":
    main()
