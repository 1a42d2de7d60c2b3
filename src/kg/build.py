"""The build folder: the one place that knows the file names under ``build/``.

``Build(folder)`` is a view of a folder that ``kg build`` (kg.pipeline) fills:

* ``graph.nq``       every graph of the build as N-Quads
* ``store/``         the same in pyoxigraph's on-disk format, opened read-only to serve
* ``dumps/``         the downloadable files (kg.dump) and their index, ``dumps.json``,
                     with ``void.ttl`` beside them
* ``stats.json``     triples per graph, class and property partitions (for VoID)
* ``derivations.sqlite``  how each inferred triple was derived: rule and premises (kg.derivations)
* ``manifest.json``  what was built from what: the inputs' digest, counts, timings and
                     the dataset's default-graph rule

A build is written into a staging folder (``Build.staging``) and swapped into
place only when every file exists, so a failed build leaves the one being served
as it was. Nothing here imports rdflib or Flask: the gunicorn master uses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kg.errors import NotBuilt

LAYOUT = "5"  # bump when the files' layout or meaning changes: an older build is then rebuilt


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says of a build."""

    digest: str
    created: str
    counts: dict[str, int] = field(default_factory=dict)
    by_class: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # Whether a query's default graph is the union of every graph (the project's own build), or
    # the files' default graph alone with named graphs kept apart (SPARQL's dataset, for --data).
    union_default_graph: bool = True
    sources: dict[str, int] = field(default_factory=dict)  # files read per source, by name
    # Records imported with a missing or impossible field (kg.rml.Problem as a dict).
    problems: list[dict[str, str]] = field(default_factory=list)
    # What the link step did (kg.link.Report): merges, near misses refused, matches, counts.
    links: dict = field(default_factory=dict)
    layout: str = LAYOUT


@dataclass(frozen=True)
class DumpFile:
    """One downloadable file, as listed in ``dumps/dumps.json``."""

    name: str
    graph: str
    format: str
    media_type: str
    gzip: bool
    bytes: int
    triples: int
    sha256: str


class Build:
    """The files of one build folder. Reading a missing file gives None or NotBuilt, never OSError."""

    QUADS, STORE, DUMPS, STATS, MANIFEST = "graph.nq", "store", "dumps", "stats.json", "manifest.json"
    DUMPS_INDEX, VOID = "dumps.json", "void.ttl"
    DERIVATIONS = "derivations.sqlite"
    # Wikidata's answers to `kg link check`/`suggest` (kg.curate.client); no build replaces it.
    WIKIDATA_CACHE = "wikidata-cache"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"Build({str(self.folder)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Build) and other.folder == self.folder

    def __hash__(self) -> int:
        return hash(self.folder)

    # ------------------------------------------------------------ paths

    @property
    def quads(self) -> Path:
        return self.folder / self.QUADS

    @property
    def store(self) -> Path:
        return self.folder / self.STORE

    @property
    def derivations(self) -> Path:
        """The inferred triples' derivations (kg.derivations); absent when the reasoner records none."""
        return self.folder / self.DERIVATIONS

    @property
    def dumps(self) -> Path:
        return self.folder / self.DUMPS

    @property
    def wikidata_cache(self) -> Path:
        return self.folder / self.WIKIDATA_CACHE

    @property
    def void(self) -> Path:
        return self.dumps / self.VOID

    def dump(self, name: str) -> Path:
        """A file in ``dumps/`` by its listed name (``all.ttl``, ``all.ttl.gz``, ``void.ttl``)."""
        return self.dumps / name

    # ------------------------------------------------------------ reading

    def exists(self) -> bool:
        """Whether every file a server needs is there (a half-written build is not)."""
        return self.quads.is_file() and self.store.is_dir() and (self.folder / self.MANIFEST).is_file()

    def identity(self) -> str:
        """What names this build's data: a digest of graph.nq. The key of caches and ETags, here and
        in every store the build is published to (kg.publish), so replicas answer alike."""
        h = hashlib.sha256()
        with self.require().quads.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()[:16]

    def require(self) -> Build:
        if not self.quads.is_file():
            raise NotBuilt(f"{self.quads} does not exist: run `kg build` first")
        return self

    def manifest(self) -> Manifest | None:
        """The manifest, or None if there is none or it is from another layout."""
        data = self._json(self.MANIFEST)
        if not isinstance(data, dict) or data.get("layout") != LAYOUT:
            return None
        known = {f for f in Manifest.__dataclass_fields__}
        return Manifest(**{k: v for k, v in data.items() if k in known})

    def stats(self) -> dict | None:
        data = self._json(self.STATS)
        return data if isinstance(data, dict) else None

    def dump_files(self) -> list[DumpFile]:
        """The listed dumps; empty when the build has none (``kg serve --data``)."""
        data = self._json(f"{self.DUMPS}/{self.DUMPS_INDEX}")
        return [DumpFile(**item) for item in data] if isinstance(data, list) else []

    def _json(self, name: str) -> object:
        try:
            return json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # ------------------------------------------------------------ writing

    def write_manifest(self, manifest: Manifest) -> None:
        self._write_json(self.MANIFEST, asdict(manifest))

    def write_stats(self, stats: dict) -> None:
        self._write_json(self.STATS, stats)

    def write_dump_index(self, files: list[DumpFile]) -> None:
        self.dumps.mkdir(parents=True, exist_ok=True)
        self._write_json(f"{self.DUMPS}/{self.DUMPS_INDEX}", [asdict(f) for f in files])

    def _write_json(self, name: str, value: object) -> None:
        (self.folder / name).write_text(json.dumps(value, indent=1, ensure_ascii=False), encoding="utf-8")

    def _remove_abandoned(self) -> None:
        """Staging folders of builds that were killed (their process is gone): a whole store each."""
        for folder in self.folder.glob(".staging-*"):
            pid = folder.name.removeprefix(".staging-")
            if pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def staging(self) -> Iterator[Build]:
        """A fresh folder to write a whole build into; on success it replaces this one.

        The manifest is moved last, so a crash half-way leaves no manifest that
        matches and the next build starts again.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        self._remove_abandoned()
        staged = Build(self.folder / f".staging-{os.getpid()}")
        shutil.rmtree(staged.folder, ignore_errors=True)
        staged.folder.mkdir()
        try:
            yield staged
            for name in (self.STORE, self.DUMPS):
                if (staged.folder / name).exists():
                    _replace_dir(staged.folder / name, self.folder / name)
                else:  # this build has none (kg serve --data writes no dumps): none left from before
                    shutil.rmtree(self.folder / name, ignore_errors=True)
            for name in (self.QUADS, self.STATS, self.DERIVATIONS):
                if (staged.folder / name).exists():
                    os.replace(staged.folder / name, self.folder / name)
                else:
                    (self.folder / name).unlink(missing_ok=True)
            os.replace(staged.folder / self.MANIFEST, self.folder / self.MANIFEST)
        finally:
            shutil.rmtree(staged.folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def now() -> str:
    """The build time, as the manifest records it (UTC, to the second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _replace_dir(new: Path, target: Path) -> None:
    """Swap a directory into place; a process serving the old one keeps its open files."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
