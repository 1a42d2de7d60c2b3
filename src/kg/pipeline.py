"""The map of the system: build(settings) = load → validate → reason → write.

``kg build`` writes into ``settings.build_dir``:

* ``graph.nq``      the three named graphs (ontology, asserted, inferred)
* ``store/``        the same in pyoxigraph's on-disk format, opened read-only to serve
* ``dumps/``        asserted / inferred / all as Turtle, N-Triples, N-Quads, TriG and JSON-LD,
                    each also .gz, with ``dumps.json`` (sizes, counts, checksums) and ``void.ttl``
* ``stats.json``    triples per graph, class and property partitions (for VoID)
* ``manifest.json`` input digest, counts and timings

Everything is written to a staging folder first and moved into place only after
every stage succeeded, so a failed build leaves the previous artifacts as they
were. When the inputs' digest matches the manifest, nothing is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rdflib import Graph

from kg import dump, void
from kg.config import Settings
from kg.errors import ValidationFailed
from kg.load import load
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from kg.reason import closure
from kg.store import STORE_DIR, write_store
from kg.validate import validate

ARTIFACTS = ("graph.nq", "stats.json", "manifest.json")  # files; plus the folders below
FOLDERS = (STORE_DIR, "dumps")
BUILD_FORMAT = "3"  # bump when the artifacts' layout changes


@dataclass
class BuildResult:
    digest: str
    skipped: bool
    counts: dict[str, int] = field(default_factory=dict)
    by_class: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        head = "Up to date (inputs unchanged): nothing rebuilt." if self.skipped else "Built."
        lines = [head, "Triples:"]
        lines += [f"  {name:<10} {n:>7}" for name, n in self.counts.items()]
        lines.append("Instances by class (after reasoning):")
        lines += [f"  {name:<24} {n:>4}" for name, n in self.by_class.items()]
        if not self.skipped:
            lines.append("Seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in self.seconds.items()))
        return "\n".join(lines)


def input_digest(settings: Settings) -> str:
    """A digest of everything a build reads, so an unchanged tree is not rebuilt."""
    h = hashlib.sha256(BUILD_FORMAT.encode())
    files = sorted(settings.ontology_dir.glob("*.ttl")) + sorted(settings.data_dir.glob("*.ttl"))
    files += sorted((settings.queries_dir / "checks").glob("*.rq"))
    # The code of each stage is an input too: a changed reasoner must rebuild.
    here = Path(__file__).parent
    files += [
        here / f"{stage}.py"
        for stage in ("load", "validate", "reason", "dump", "void", "pipeline", "namespaces")
    ]
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build(settings: Settings, force: bool = False) -> BuildResult:
    digest = input_digest(settings)
    manifest = settings.build_dir / "manifest.json"
    complete = all((settings.build_dir / a).is_file() for a in ARTIFACTS) and all(
        (settings.build_dir / f).is_dir() for f in FOLDERS
    )
    if not force and manifest.is_file() and complete:
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        if previous.get("digest") == digest:
            return BuildResult(digest, True, previous["counts"], previous["by_class"], previous["seconds"])

    seconds: dict[str, float] = {}
    t = time.perf_counter()
    loaded = load(settings)
    seconds["load"] = time.perf_counter() - t

    t = time.perf_counter()
    report = validate(loaded, settings)
    seconds["validate"] = time.perf_counter() - t
    if not report.conforms:
        raise ValidationFailed(report.text())

    t = time.perf_counter()
    inferred = closure(loaded.ontology, loaded.data)
    seconds["reason"] = time.perf_counter() - t

    t = time.perf_counter()
    result = BuildResult(
        digest=digest,
        skipped=False,
        counts={
            "ontology": len(loaded.ontology),
            "asserted": len(loaded.data),
            "inferred": len(inferred),
            "total": len(loaded.ontology) + len(loaded.data) + len(inferred),
        },
        by_class=dump.instances_by_class(loaded.ontology + loaded.data + inferred),
        seconds=seconds,
    )
    _write_atomically(settings, loaded.ontology, loaded.data, inferred, result)
    seconds["write"] = time.perf_counter() - t
    return result


def _write_atomically(
    settings: Settings, ontology: Graph, data: Graph, inferred: Graph, result: BuildResult
) -> None:
    build_dir = settings.build_dir
    build_dir.mkdir(parents=True, exist_ok=True)
    staging = build_dir / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        dump.write_nquads(
            {GRAPH_ONTOLOGY: ontology, GRAPH_ASSERTED: data, GRAPH_INFERRED: inferred}, staging / "graph.nq"
        )
        write_store(staging / "graph.nq", staging / STORE_DIR)
        files = dump.write_dumps(ontology, data, inferred, staging / "dumps")
        stats = void.statistics(ontology, data, inferred)
        void.write_statistics(stats, staging / "stats.json")
        description = void.describe(settings.base_iri, stats, files, created)
        dump.write_turtle(description, staging / "dumps" / "void.ttl")
        summary = {k: v for k, v in asdict(result).items() if k in ("counts", "by_class", "seconds")}
        (staging / "manifest.json").write_text(
            json.dumps(
                {"digest": result.digest, "created": created, **summary}, indent=2, ensure_ascii=False
            ),
            encoding="utf-8",
        )
        # Everything exists in staging: only now replace what is served.
        # manifest.json goes last, so a crash mid-way forces a rebuild next time.
        for folder in FOLDERS:
            _replace_dir(staging / folder, build_dir / folder)
        for name in ARTIFACTS:
            os.replace(staging / name, build_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_dir(new: Path, target: Path) -> None:
    """Swap a directory into place; a process serving the old one keeps its open files."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
