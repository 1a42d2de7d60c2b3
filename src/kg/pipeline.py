"""The map of the system: build(settings) = load → link → validate → reason → Wikidata view → write.

The settings say what to read (the ontology, ``settings.data_sources``) and which
steps run; kg.build says where each file goes. ``kg build`` runs every step on the
project's sources; ``kg serve --data`` runs the same steps on foreign files,
validating unless told not to, reasoning only if asked, and writing no dumps.

Everything is written to a staging folder first and moved into place only after
every step succeeded, so a failed build leaves the previous one as it was. When
the inputs' digest matches the manifest, nothing is rebuilt.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import itertools
import time
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
from rdflib import RDF, Graph, URIRef

from kg import dump, void, wikibase
from kg.build import LAYOUT, Build, Manifest, now
from kg.conclude import conclude
from kg.config import Settings
from kg.derivations import write_derivations
from kg.errors import ValidationFailed
from kg.forked import Forked
from kg.link import Report as LinkReport
from kg.link import link
from kg.load import Loaded, load
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, HOS, ID, new_graph
from kg.reason import RULES, Inference, QuadInference, Triple, closure, closure_quads, console_progress
from kg.store import write_quads_file, write_store
from kg.validate import Report, validate

T = TypeVar("T")
Triples = dict[Triple, None]  # inferred triples after the view: an ordered set (see _wikidata_view)
STAGES = ("load", "link", "validate", "reason", "view", "write")  # the order a build's summary lists them in
PACKAGE = Path(__file__).parent
# Libraries whose version can change what a build writes (parsers, reasoner, serializers).
LIBRARIES = ("rdflib", "owlrl", "pyoxigraph", "pyshacl", "duckdb")


@dataclass(frozen=True)
class BuildResult:
    """What a build did: the manifest it wrote (or found up to date, ``skipped``)."""

    manifest: Manifest
    skipped: bool

    @property
    def counts(self) -> dict[str, int]:
        return self.manifest.counts

    def summary(self) -> str:
        m = self.manifest
        head = "Up to date (inputs unchanged): nothing rebuilt." if self.skipped else "Built."
        lines = [head, "Triples:"]
        lines += [f"  {name:<10} {n:>7}" for name, n in m.counts.items()]
        if m.by_class:
            lines.append("Instances by class (after reasoning):")
            lines += [f"  {name:<24} {n:>4}" for name, n in m.by_class.items()]
        if m.problems:
            lines.append(f"Records imported with a missing or impossible field: {len(m.problems)}")
            lines += [f"  {p['record']} ({p['file']}): {p['field']}: {p['reason']}" for p in m.problems]
        if m.links:
            lines += _link_summary(m.links)
        if not self.skipped:
            lines.append("Seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in m.seconds.items()))
        return "\n".join(lines)


SHOWN_MERGES = 10  # the build summary names a few merges; the manifest keeps them all


def _link_summary(links: dict) -> list[str]:
    """The link step's report (kg.link.Report, as the manifest keeps it) in a few lines."""
    merged, near = links.get("merged", []), links.get("near_misses", [])
    lines = [
        f"Linked (kg.link): {len(merged)} merges, {len(near)} near misses refused "
        f"(build/manifest.json, links), {len(links.get('same_meetings', []))} meetings of the text "
        f"matched to trips, {len(links.get('disagreements', []))} disagreements, "
        f"{links.get('editions', 0)} summit editions ({links.get('attendances', 0)} attendances), "
        f"{links.get('named_linked', 0)} of {links.get('named', 0)} leaders named in remarks linked"
    ]
    for m in merged[:SHOWN_MERGES]:
        lines.append(f"  merged {m['kind']}: {', '.join(m['merged'])} -> {m['kept']} ({m['rule']})")
    if len(merged) > SHOWN_MERGES:
        lines.append(f"  … and {len(merged) - SHOWN_MERGES} more merges: build/manifest.json, links")
    for d in links.get("disagreements", []):
        lines.append(f"  disagreement: {d['text']}")
    return lines


def code_files() -> list[Path]:
    """The package's modules that shape the graph: all of src/kg but the web layer, which only serves."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "web" not in p.relative_to(PACKAGE).parts)


def input_digest(settings: Settings) -> str:
    """A digest of everything a build reads and every setting it obeys: unchanged, nothing is rebuilt."""
    h = hashlib.sha256(LAYOUT.encode())
    steps = (
        settings.ontology,
        settings.validate,
        settings.reason,
        settings.reasoner,
        settings.union_default_graph,
        settings.dumps,
    )
    h.update(repr((settings.base_iri, steps)).encode())
    h.update(repr([(lib, metadata.version(lib)) for lib in LIBRARIES]).encode())
    files = [("ontology", p) for p in sorted(settings.ontology_dir.glob("*.ttl"))]
    files += [("checks", p) for p in sorted((settings.queries_dir / "checks").glob("*.rq"))]
    for source in settings.data_sources:
        h.update(repr((source.name, source.reader, source.own_graphs)).encode())
        files += [(source.name, p) for p in source.inputs()]
    files += [("code", p) for p in code_files()]
    files += [("rules", p) for p in sorted((PACKAGE / "rules").glob("*")) if p.suffix in (".rq", ".ttl")]
    files += [("wikibase", p) for p in sorted((PACKAGE / "wikibase").glob("*.rq"))]
    files += [("conclusions", p) for p in sorted((PACKAGE / "conclusions").glob("*.rq"))]
    files += [("link", p) for p in sorted((PACKAGE / "link").glob("*.rq"))]
    for group, path in files:
        name = path.relative_to(PACKAGE) if group == "code" else path.name
        h.update(f"{group}/{name}".encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def build(settings: Settings, force: bool = False) -> BuildResult:
    target = settings.build
    digest = input_digest(settings)
    previous = target.manifest()
    if not force and previous is not None and previous.digest == digest and _complete(target, settings):
        return BuildResult(previous, skipped=True)
    with _without_cyclic_gc():
        return _build(settings, target, digest)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Python's cycle collector off for a build: a build makes millions of objects (rdflib terms,
    pyoxigraph quads) that live until it ends, and each full collection walked all of them; with
    it on, the build took half as long again (CPU seconds: load 10.7 → 6.7, the view 9.3 → 4.4,
    the dumps 17 → 12). Reference counting still frees what is dropped; cycles wait until the end."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _build(settings: Settings, target: Build, digest: str) -> BuildResult:
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    loaded = load(settings)
    seconds["load"] = time.perf_counter() - t
    t = time.perf_counter()
    links = _link(settings, loaded)
    if links is not None:
        seconds["link"] = time.perf_counter() - t

    checked = loaded.checkable() if settings.validate else loaded
    checked.store  # noqa: B018 - made before the fork, so that the checks and the view share it
    # Validation runs beside reasoning (kg.forked); the build stops on its report before writing.
    # Reasoning does not wait for it, so data the report will refuse is reasoned on meanwhile.
    checking = Forked("validation", _timed, validate, checked, settings) if settings.validate else None
    try:
        inference, rules = _reason_and_view(settings, loaded, checked, seconds)
        t = time.perf_counter()
        # Converted while the validation (the longer of the two) finishes.
        quads, more = _quads(settings, loaded, inference.inferred)
        converting = time.perf_counter() - t
    except Exception:
        _check(checking, seconds)  # bad data that broke the reasoner: its report is the better error
        raise
    except BaseException:  # interrupted: the validation is not wanted any more
        if checking is not None:
            checking.cancel()
        raise
    _check(checking, seconds)
    inferred = inference.inferred

    t = time.perf_counter()
    with target.staging() as staged:
        by_class = _write(settings, staged, loaded, quads, more, inferred, inference.derivations, rules)
        seconds["write"] = converting + time.perf_counter() - t
        manifest = Manifest(
            digest=digest,
            created=now(),
            counts=_counts(settings, loaded, inferred),
            by_class=by_class if by_class is not None else _by_class(loaded, inferred),
            seconds={k: seconds[k] for k in STAGES if k in seconds},
            union_default_graph=settings.union_default_graph,
            sources=loaded.files,
            problems=[dataclasses.asdict(p) for p in loaded.problems],
            links=links.as_dict() if links is not None else {},
        )
        staged.write_manifest(manifest)
    return BuildResult(manifest, skipped=False)


def _link(settings: Settings, loaded: Loaded) -> LinkReport | None:
    """The link step (kg.link), when the build maps the records: their folder of mappings holds
    the rules' tables."""
    records = next((s for s in settings.data_sources if s.reader == "rml"), None)
    if records is None or not records.mappings:
        return None
    folder = records.mappings[0]
    return link(loaded, folder if folder.is_dir() else folder.parent)


def _timed(fn: Callable[..., T], *args: object) -> tuple[T, float]:
    t = time.perf_counter()
    return fn(*args), time.perf_counter() - t


def _check(checking: Forked[tuple[Report, float]] | None, seconds: dict[str, float]) -> None:
    """Wait for the validation and stop the build with its report if the data does not conform."""
    if checking is None:
        return
    report, seconds["validate"] = checking.result()
    if not report.conforms:
        raise ValidationFailed(report.text())


def _reason_and_view(
    settings: Settings, loaded: Loaded, checked: Loaded, seconds: dict[str, float]
) -> tuple[Inference | QuadInference, Mapping]:
    inference: Inference | QuadInference = Inference(new_graph(), {})
    rules: Mapping = RULES
    if settings.reason:
        t = time.perf_counter()
        inference = _reason(settings, loaded, checked)
        seconds["reason"] = time.perf_counter() - t
        if isinstance(inference, Inference):
            t = time.perf_counter()
            inference, rules = _wikidata_view(loaded, inference)
            seconds["view"] = time.perf_counter() - t
    return inference, rules


def _reason(settings: Settings, loaded: Loaded, checked: Loaded) -> Inference | QuadInference:
    """The reason step: the closure of what was loaded, by the engine the settings name.

    Foreign data keeps SPARQL's dataset: what its named graphs say is not reasoned into the
    default graph (where the inferred graph is read), unless the default graph is their union.
    Foreign data that is not validated goes to the rules engine as pyoxigraph terms, and its
    inferred triples go straight into the build's store: no rdflib graph of either at 1M triples.
    """
    within = not settings.union_default_graph and loaded.foreign is not None
    if (
        not settings.validate
        and settings.reasoner == "rules"
        and not settings.dumps
        and loaded.foreign is not None
        and len(loaded.foreign) > 0
    ):
        # Asserted rdflib data beside the foreign store (mixed sources) is reasoned on with the ontology.
        schema = loaded.ontology + loaded.data if len(loaded.data) else loaded.ontology
        with console_progress(len(loaded.foreign) + len(loaded.data)) as progress:
            return closure_quads(
                schema,
                loaded.default_graph() if within else loaded.foreign,
                graph=ox.NamedNode(str(GRAPH_INFERRED)),
                progress=progress,
            )
    if within:
        reasoned = loaded.checkable(default_graph_only=True)
    else:  # every graph: what validation read, if it ran
        reasoned = checked if settings.validate else loaded.checkable()
    with console_progress(len(reasoned.data)) as progress:
        return closure(reasoned.ontology, reasoned.data, reasoner=settings.reasoner, progress=progress)


def _wikidata_view(loaded: Loaded, inference: Inference) -> tuple[Inference, Mapping]:
    """The view step: the Wikidata view (kg.wikibase) and the conclusions (kg.conclude) join the
    inferred triples, their derivations the reasoner's, their query files the rules a derivation
    can name.

    The inferred triples leave the rdflib graph here for a dict (an ordered set): the view adds
    about 250,000 triples, which an rdflib graph indexed three ways at 1.6 s of CPU, and what
    reads them afterwards (the writers, the derivations, the counts) only iterates, counts and
    tests membership, which a dict does faster.

    It reads the asserted graph, so foreign data reasoned on as pyoxigraph terms (closure_quads)
    gets none: the view is the project's, for data in the project's vocabulary."""
    store = loaded.store
    shown, concluded = wikibase.view(loaded.ontology, loaded.data, store), conclude(store)
    inferred: Triples = dict.fromkeys(inference.inferred)
    inferred.update(dict.fromkeys(shown.triples))
    inferred.update(dict.fromkeys(concluded.triples))
    if not inference.derivations:  # owlrl records none: a build's derivations are all or nothing
        return Inference(inferred, {}), RULES  # type: ignore[arg-type]
    derivations = ChainMap(shown.derivations, concluded.derivations, inference.derivations)  # type: ignore[arg-type]
    return Inference(inferred, derivations), ChainMap(shown.queries, concluded.queries, RULES)  # type: ignore[arg-type]


def _typed(inferred: Graph | Triples | ox.Store) -> Graph:
    """What instances_by_class needs of the inferred triples: an rdflib graph as it is, else only
    the rdf:type triples it counts (a project IRI typed with a hos: class), as an rdflib graph."""
    if isinstance(inferred, Graph):
        return inferred
    graph, hos, project = new_graph(), str(HOS), str(ID)
    if isinstance(inferred, dict):
        graph += (
            t for t in inferred if t[1] == RDF.type and t[2].startswith(hos) and t[0].startswith(project)
        )
        return graph
    for q in inferred.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), None, None):
        s, o = q.subject, q.object
        named = isinstance(s, ox.NamedNode) and isinstance(o, ox.NamedNode)
        if named and s.value.startswith(project) and o.value.startswith(hos):  # type: ignore[union-attr]
            graph.add((URIRef(s.value), RDF.type, URIRef(o.value)))
    return graph


class _Quads:
    """Two stores' quads as one ``more`` for kg.store.write_store (which reads only quads_for_pattern)."""

    def __init__(self, *stores: ox.Store) -> None:
        self.stores = stores

    def quads_for_pattern(self, *pattern: object) -> Iterator[ox.Quad]:
        return itertools.chain.from_iterable(s.quads_for_pattern(*pattern) for s in self.stores)  # type: ignore[arg-type]


def _quads(
    settings: Settings, loaded: Loaded, inferred: Graph | Triples | ox.Store
) -> tuple[dict[URIRef, list[ox.Quad]], ox.Store | _Quads | None]:
    """The graphs to write as pyoxigraph quads, by graph, and the quads already in pyoxigraph
    (``more``: foreign data, and the inferred triples of kg.reason.closure_quads). The ontology
    and asserted graphs come from the store the checks and the view already read
    (``Loaded.store``), the others are converted here."""
    graphs: dict[URIRef, Graph | Triples] = {}
    if settings.ontology:
        graphs[GRAPH_ONTOLOGY] = loaded.ontology
    if loaded.foreign is None or len(loaded.data):
        graphs[GRAPH_ASSERTED] = loaded.data
    more: ox.Store | _Quads | None = loaded.foreign
    if isinstance(inferred, ox.Store):
        more = inferred if loaded.foreign is None else _Quads(loaded.foreign, inferred)
    elif settings.reason:
        graphs[GRAPH_INFERRED] = inferred
    if settings.dumps and isinstance(inferred, ox.Store):
        raise ValueError("dumps are written from inferred triples in rdflib terms (kg.reason.closure)")
    store = loaded.store if GRAPH_ONTOLOGY in graphs or GRAPH_ASSERTED in graphs else None
    quads = {
        name: list(store.quads_for_pattern(None, None, None, ox.NamedNode(str(name))))
        if store is not None and name in (GRAPH_ONTOLOGY, GRAPH_ASSERTED)
        else dump.quads_of({name: graph})  # type: ignore[dict-item]
        for name, graph in graphs.items()
    }
    return quads, more


def _complete(target: Build, settings: Settings) -> bool:
    return target.exists() and (not settings.dumps or bool(target.dump_files()))


def _counts(settings: Settings, loaded: Loaded, inferred: Graph | Triples | ox.Store) -> dict[str, int]:
    counts = {}
    if settings.ontology:
        counts["ontology"] = len(loaded.ontology)
    if loaded.foreign is None or len(loaded.data):
        counts["asserted"] = len(loaded.data)
    if loaded.foreign is not None:
        counts["data"] = len(loaded.foreign)
    if settings.reason:
        counts["inferred"] = len(inferred)
    counts["total"] = sum(counts.values())
    return counts


def _write(
    settings: Settings,
    staged: Build,
    loaded: Loaded,
    quads: dict[URIRef, list[ox.Quad]],
    more: ox.Store | _Quads | None,
    inferred: Graph | Triples | ox.Store,
    derivations: Mapping | None = None,
    rules: Mapping | None = None,
) -> dict[str, int] | None:
    """Write every file of a build into ``staged`` (a staging folder): ``quads`` and ``more``
    (``_quads``) into the store, the dumps and their description. With dumps, the instances by
    class (``_by_class``) are counted beside, and returned; else None.

    ``derivations`` (kg.reason's, one per derived triple) and the ``rules`` they name go to
    ``derivations.sqlite`` (kg.derivations); a reasoner that records none (owlrl) writes no such file.
    ``inferred`` in a pyoxigraph store (kg.reason.closure_quads: its quads already in the inferred
    graph) joins the build's store with the foreign quads; no dumps are written then.
    """
    # The dumps, graph.nq and VoID are written beside the store and the derivations (kg.forked);
    # graph.nq by the dumps' process when it holds every quad (no ``more``), else with the store.
    beside = settings.dumps and more is None
    dumping = (
        Forked("dumps", _dumps, quads, staged, settings.base_iri, loaded, inferred, beside)
        if settings.dumps
        else None
    )
    try:
        every = itertools.chain.from_iterable(quads.values())
        write_store(staged, every, more, quads_file=not beside)  # type: ignore[arg-type]
        if derivations:
            write_derivations(
                staged.derivations,
                derivations,
                rules or {},
                ontology=loaded.ontology,
                data=loaded.data,
                inferred=inferred,
                foreign=loaded.foreign,
            )
        if dumping is None:
            return None
        files, stats, by_class = dumping.result()
    except BaseException:  # the staging folder is removed: the child must not write into it still
        if dumping is not None:
            dumping.cancel()
        raise
    staged.write_dump_index(files)
    staged.write_stats(stats)
    return by_class


def _dumps(
    quads: dict[URIRef, list[ox.Quad]],
    staged: Build,
    base_iri: str,
    loaded: Loaded,
    inferred: Triples,
    quads_file: bool,
) -> tuple[list, dict, dict[str, int]]:
    """The dump files (kg.dump), the VoID counts and description (kg.void) of the build's quads,
    and graph.nq if ``quads_file``; the files, the counts and the instances by class for the
    parent to write."""
    every = list(itertools.chain.from_iterable(quads.values()))
    if quads_file:
        write_quads_file(staged, every)
    files, union = dump.write_dumps(quads, staged.dumps)
    stats = void.statistics(every, base_iri, union=union)
    stats["records with problems"] = len(loaded.problems)
    dump.write_turtle(void.describe(base_iri, stats, files), staged.void)
    return files, stats, _by_class(loaded, inferred)


def _by_class(loaded: Loaded, inferred: Graph | Triples | ox.Store) -> dict[str, int]:
    """The manifest's instances by class, after reasoning (kg.dump.instances_by_class)."""
    return dump.instances_by_class(loaded.ontology, loaded.data, _typed(inferred))
