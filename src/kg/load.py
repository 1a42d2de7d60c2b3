"""Step 1, load: read the ontology and every source (kg.sources) into RDF.

Each kind of source has a reader here (``READERS``). The seed's Turtle is read
with rdflib, whose errors give the file and line, into the asserted graph. The
Office of the Historian's records are mapped by RML (kg.rml, morph-kgc, in a forked process)
into it; the records it imported with a missing or impossible field are ``Loaded.problems``.
Foreign RDF (``kg serve --data``) is read by pyoxigraph, with no Python object
per triple, and keeps its own graphs; validation and reasoning see its triples
only if they run (``Loaded.checkable``). A syntax error stops the load with the
file and line, never a traceback.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from kg.config import Settings
from kg.errors import DataError
from kg.forked import Forked
from kg.iris import BASE, GRAPH_ASSERTED, GRAPH_ONTOLOGY
from kg.namespaces import new_graph
from kg.rml import Problem, materialize
from kg.sources import RDF_SUFFIXES, Source

# Where skolem IRIs live (RDF 1.1 Concepts, 3.5: a well-known path under the project's base).
GENID = BASE + ".well-known/genid/"


@dataclass
class Loaded:
    ontology: Graph
    data: Graph  # what the rdflib readers read: the asserted graph
    # Quads pyoxigraph read, in their own graphs (foreign data); None when no source keeps its graphs.
    foreign: ox.Store | None = None
    # Which files assert triples about each subject, so that reports can name them.
    origin: dict[Node, list[Path]] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # files read per source, by its name
    problems: list[Problem] = field(default_factory=list)  # records imported with a bad field (kg.rml)
    # What the readers put into ``data``, as pyoxigraph quads of the asserted graph, as they read
    # it (for ``store``: no second conversion of 110,000 triples); None when not kept.
    asserted_quads: list[ox.Quad] | None = None

    def checkable(self, default_graph_only: bool = False) -> Loaded:
        """The same, with the foreign quads' triples in ``data``, for validation and reasoning:
        those of every graph, or of the default graph alone (reasoning within SPARQL's dataset)."""
        if self.foreign is None or not len(self.foreign):
            return self
        data = new_graph()
        data += self.data
        graph = ox.DefaultGraph() if default_graph_only else None
        triples = (q.triple for q in self.foreign.quads_for_pattern(None, None, None, graph))
        data.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
        return replace(self, data=data, asserted_quads=None)

    @functools.cached_property
    def store(self) -> ox.Store:
        """The ontology and asserted graphs in pyoxigraph, each in its named graph: for the
        checks (kg.validate), the Wikidata view and the conclusions, at pyoxigraph's speed.
        The asserted quads the readers kept are used when they are all of ``data``."""
        from kg.derivations import quads_of  # rdflib's blank node labels kept: derivations name them

        store = ox.Store()
        store.extend(quads_of({GRAPH_ONTOLOGY: self.ontology}))
        if self.asserted_quads is not None:
            store.extend(self.asserted_quads)
            if len(store) == len(self.ontology) + len(self.data):
                return store
            store = ox.Store()  # data was changed after loading: converted from it, as it is
            store.extend(quads_of({GRAPH_ONTOLOGY: self.ontology}))
        store.extend(quads_of({GRAPH_ASSERTED: self.data}))
        return store

    def default_graph(self) -> ox.Store | None:
        """The foreign data's default graph alone (all of it if it has no named graphs)."""
        if self.foreign is None or next(iter(self.foreign.named_graphs()), None) is None:
            return self.foreign
        alone = ox.Store()
        alone.bulk_extend(self.foreign.quads_for_pattern(None, None, None, ox.DefaultGraph()))
        return alone


def ontology_files(settings: Settings) -> list[Path]:
    # shapes.ttl is the SHACL contract, not part of the ontology graph.
    return sorted(p for p in settings.ontology_dir.glob("*.ttl") if p.name != "shapes.ttl")


def parse_file(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file; a syntax error becomes a DataError naming file and line."""
    graph = into if into is not None else new_graph()
    try:
        graph.parse(path, format="turtle")
    except BadSyntax as exc:
        # BadSyntax.lines is 0-based; editors count from 1.
        raise DataError(f"{path}: line {exc.lines + 1}: {exc._why}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    except Exception as exc:  # rdflib raises plain exceptions for some bad terms
        raise DataError(f"{path}: {type(exc).__name__}: {exc}") from None
    return graph


def skolemized(graph: Graph) -> Graph:
    """The graph with each blank node replaced by a skolem IRI (RDF 1.1 Concepts, 3.5), the same in
    every build: RDFC-1.0 (pyoxigraph) labels the blank nodes canonically, and each IRI is that
    label under a digest of the canonical graph, so distinct nodes stay distinct and the names
    change only when the file's content does.

    Why: data/references.ttl's reified statements are blank nodes, and a blank node has one label
    in build/graph.nq and another in a store, so an explanation (kg.proofs) could not look up the
    sentences of a fact about one, and a store loaded by the Graph Store Protocol relabels them
    again (kg publish).
    """
    if not any(isinstance(t, BNode) for triple in graph for t in triple):
        return graph
    triples = ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    canonical = sorted(str(q) for q in dataset)
    digest = hashlib.sha256("\n".join(canonical).encode("utf-8")).hexdigest()[:12]

    def named(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.NamedNode | ox.Literal:
        return ox.NamedNode(f"{GENID}{digest}-{term.value}") if isinstance(term, ox.BlankNode) else term

    out = [ox.Triple(named(q.subject), q.predicate, named(q.object)) for q in dataset]  # type: ignore[arg-type]
    return new_graph().parse(
        data=ox.serialize(out, format=ox.RdfFormat.N_TRIPLES).decode("utf-8"), format="nt"
    )


def read_turtle(source: Source, into: Loaded) -> int:
    """Turtle files into the asserted graph, remembering which file said what of each subject."""
    files = source.files()
    for path in files:
        part = skolemized(parse_file(path))
        for s in part.subjects(unique=True):
            into.origin.setdefault(s, []).append(path)
        into.data += part
        if into.asserted_quads is not None:
            from kg.derivations import quads_of  # imported here, as Loaded.store does

            into.asserted_quads += quads_of({GRAPH_ASSERTED: part})
    return len(files)


def read_rdf(source: Source, into: Loaded) -> int:
    """RDF files in any format of kg.formats, read by pyoxigraph straight into a store."""
    files = source.files()
    if into.foreign is None:
        into.foreign = ox.Store()
    target = {} if source.own_graphs else {"to_graph": ox.NamedNode(GRAPH_ASSERTED)}
    for path in files:
        fmt = getattr(ox.RdfFormat, RDF_SUFFIXES[path.suffix.lower()])
        try:
            into.foreign.bulk_load(path=str(path), format=fmt, **target)
        except SyntaxError as exc:
            raise DataError(f"{path}: {exc}") from None  # pyoxigraph names the line and column
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from None
    return len(files)


def read_rml(source: Source, into: Loaded) -> int:
    """Records mapped by RML (kg.rml) into the asserted graph; their problems into ``into.problems``.

    morph-kgc runs in a forked process (kg.forked), the machine's second core, and sends the
    triples of each group of rules it maps as soon as they are made; meanwhile this process makes
    rdflib terms of them, so that only the last group's are left when the mapping ends, not all
    111,000 (1 s). The triples, problems and errors are those of one run (kg.rml.materialize)."""
    files = source.files()
    mappings = [p for p in source.mapping_files() if p.suffix == ".ttl"]
    functions = next((p for p in source.mapping_files() if p.suffix == ".py"), None)
    data_dir = source.mappings[0].parent if source.mappings else files[0].parent
    with tempfile.TemporaryDirectory(prefix="kg-rml-") as work:  # removed here, if the child is killed too
        receive, send = multiprocessing.Pipe(duplex=False)
        run = (send, receive, os.getpid(), mappings, functions, data_dir, Path(work))
        mapping = Forked("mapping of the records", _mapped, *run)
        send.close()  # the child's copy is the one left: the end of the text, when it closes it
        terms: dict[ox.NamedNode | ox.BlankNode | ox.Literal, Node] = {}
        try:
            with receive:
                while (text := _received(receive)) is not None:
                    _add(text, source, into, terms)
            texts, problems = mapping.result()
            for text in texts:
                _add(text, source, into, terms)
        except _BadTerm:
            # The line pyoxigraph names is one of a group's text: the run's whole text, as one, has
            # the line the error names when the mapping is not forked.
            mapping.cancel()
            triples, problems = materialize(mappings, functions, data_dir)
            _add(triples, source, into, terms)
        finally:
            mapping.cancel()
    into.problems += problems
    return len(files)


class _BadTerm(DataError):
    """A mapping wrote a term that is not RDF (an IRI with a space in it)."""


def _received(receive: Connection) -> bytes | None:
    try:
        return receive.recv_bytes()
    except EOFError:
        return None


def _mapped(
    send: Connection,
    receive: Connection,
    parent: int,
    mappings: list[Path],
    functions: Path | None,
    data_dir: Path,
    work: Path,
) -> tuple[list[str], list[Problem]]:
    """The mappings run (kg.rml.materialize), each group's triples sent as soon as they are made;
    in the parent itself (KG_FORK=0, no fork) they are kept and returned, nobody reads the pipe."""
    if os.getpid() == parent:
        texts: list[str] = []
        _, problems = materialize(mappings, functions, data_dir, sink=texts.append, work=work)
        return texts, problems
    # The parent's end closed: with it open here, a send after the parent died would wait for
    # ever on a full pipe instead of failing.
    receive.close()
    with send:
        send_text = lambda t: send.send_bytes(t.encode())  # noqa: E731
        _, problems = materialize(mappings, functions, data_dir, sink=send_text, work=work)
    return [], problems


def _add(triples: str | bytes, source: Source, into: Loaded, terms: dict) -> None:
    """N-Triples text into the asserted graph. pyoxigraph parses, and each distinct term becomes
    one rdflib term (``terms``, kept across texts): rdflib's own N-Triples parser made one per
    occurrence, and took twice as long."""
    from kg.derivations import node  # imported here, as Loaded.store does

    def convert(found: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
        known = terms.get(found)
        if known is None:
            known = terms[found] = node(found)
        return known

    add, graph = into.data.store.add, into.data
    kept = into.asserted_quads.append if into.asserted_quads is not None else None
    asserted = ox.NamedNode(GRAPH_ASSERTED)
    text = triples.encode() if isinstance(triples, str) else triples
    try:
        for t in ox.parse(text, format=ox.RdfFormat.N_TRIPLES):
            add((convert(t.subject), convert(t.predicate), convert(t.object)), graph)  # type: ignore[arg-type]
            if kept is not None:
                kept(ox.Quad(t.subject, t.predicate, t.object, asserted))
    except SyntaxError as exc:  # pyoxigraph names line and column
        raise _BadTerm(f"the triples mapped from {source.name}: {exc}") from None


READERS: dict[str, Callable[[Source, Loaded], int]] = {
    "turtle": read_turtle,
    "rdf": read_rdf,
    "rml": read_rml,
}


def load(settings: Settings) -> Loaded:
    ontology = new_graph()
    if settings.ontology:
        for path in ontology_files(settings):
            parse_file(path, ontology)
    loaded = Loaded(ontology=ontology, data=new_graph(), asserted_quads=[])
    for source in settings.data_sources:
        if source.reader not in READERS:
            raise DataError(
                f"source {source.name!r}: no reader {source.reader!r}; known: {', '.join(READERS)}"
            )
        loaded.files[source.name] = READERS[source.reader](source, loaded)
    return loaded
