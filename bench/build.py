"""How long `kg build` takes, stage by stage: the source text alone, and with the Office of the
Historian's records, side by side in one run (each build forced, in a folder of its own).

    .venv/bin/python bench/build.py            # both, one build each
    .venv/bin/python bench/build.py --runs 3   # the median of three
    .venv/bin/python bench/build.py --ref 304d068   # and an earlier commit's code, side by side

Prints wall-clock seconds per stage (the build's manifest.json) and the process's CPU seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(records: bool, folder: Path, root: Path = ROOT) -> dict[str, float]:
    """One forced build of the code and data under ``root`` (this checkout, or a worktree of
    another commit), with this environment's libraries. CPU time includes the build's own forked
    processes (they are waited for)."""
    env = {
        **os.environ,
        "KG_BUILD_DIR": str(folder),
        "KG_RECORDS": "1" if records else "0",
        "PYTHONPATH": str(root / "src"),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "kg", "build", "--force"]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=root)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**manifest["seconds"], "wall": wall, "cpu": cpu, "triples": manifest["counts"]["total"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--ref", help="also build with this git revision's code (a worktree), e.g. HEAD~3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-bench-build-") as tmp:
        roots = {"this checkout": ROOT}
        if args.ref:
            worktree = Path(tmp) / "ref"
            git = ["git", "-C", str(ROOT), "worktree"]
            add = [*git, "add", "--detach", str(worktree), args.ref]
            subprocess.run(add, check=True, capture_output=True)
            roots[args.ref] = worktree
        try:
            for (code, root), records in itertools.product(roots.items(), (False, True)):
                _row(code, root, records, args.runs, Path(tmp))
        finally:
            if args.ref:
                subprocess.run([*git, "remove", "--force", str(worktree)], check=True, capture_output=True)


def _row(code: str, root: Path, records: bool, runs_wanted: int, tmp: Path) -> None:
    """Build ``runs_wanted`` times and print the medians, one line."""
    runs = [one(records, tmp / f"{code}-{records}-{n}", root) for n in range(runs_wanted)]
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    name = f"{code}: " + ("with the records" if records else "source text alone")
    stages = ", ".join(f"{k} {v:.1f}" for k, v in median.items() if k not in ("wall", "cpu", "triples"))
    print(
        f"{name:<34} {int(median['triples']):>9,} triples  wall {median['wall']:6.1f} s  "
        f"cpu {median['cpu']:6.1f} s  ({stages})",
        flush=True,
    )


if __name__ == "__main__":
    main()
