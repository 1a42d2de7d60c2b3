"""How long `kg build` takes, stage by stage: the source text alone, and with the Office of the
Historian's records, side by side in one run (each build forced, in a folder of its own).

    .venv/bin/python bench/build.py            # both, one build each
    .venv/bin/python bench/build.py --runs 3   # the median of three

Prints wall-clock seconds per stage (the build's manifest.json) and the process's CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KG = Path(sys.executable).with_name("kg")


def one(records: bool, folder: Path) -> dict[str, float]:
    env = {**os.environ, "KG_BUILD_DIR": str(folder), "KG_RECORDS": "1" if records else "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([str(KG), "build", "--force"], env=env, check=True, stdout=subprocess.DEVNULL)
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-bench-build-") as tmp:
        for records in (False, True):
            runs = [one(records, Path(tmp) / f"{records}-{n}") for n in range(args.runs)]
            median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            name = "with the records" if records else "source text alone"
            stages = ", ".join(
                f"{k} {v:.1f}" for k, v in median.items() if k not in ("wall", "cpu", "triples")
            )
            print(
                f"{name:<18} {int(median['triples']):>9,} triples  wall {median['wall']:6.1f} s  "
                f"cpu {median['cpu']:6.1f} s  ({stages})"
            )


if __name__ == "__main__":
    main()
