"""Step 4, store: the built graph in pyoxigraph, queried per request.

The three named graphs (ontology, asserted, inferred) are kept apart. The
query's default graph is their union, or ontology + asserted with
``infer=False``; ``GRAPH <…>`` reaches each one by name. Foreign data
(``kg serve --data``) keeps SPARQL's dataset unless told otherwise: its
default graph is the files' default graph. The data never
changes while served, so the store is read-only by construction: nothing here
offers an update.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from kg import functions, sparql_errors
from kg.build import Build
from kg.errors import BadGateway, BadRequest
from kg.iris import GRAPH_INFERRED, PREFIXES

Result = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

_INFERRED = ox.NamedNode(GRAPH_INFERRED)
log = logging.getLogger(__name__)


def syntax_message(raw: str, query: str | None = None, base_iri: str | None = None) -> str:
    """oxigraph's "error at 4:18: expected …" in words a user knows (kg.sparql_errors)."""

    def reparse(text: str) -> str | None:
        try:  # an empty store: nothing to read even if the text parsed
            ox.Store().query(text, prefixes=PREFIXES, base_iri=base_iri)
        except SyntaxError as exc:
            return str(exc)
        return None

    return sparql_errors.syntax_message(raw, query, reparse)


def unreachable(exc: OSError) -> BadGateway:
    """A failed SERVICE call, told without the network's words: "refused" vs "reset" would let a
    client map which internal ports are open. The server log keeps the detail."""
    log.warning("SERVICE call failed: %s", exc)
    return BadGateway("a SERVICE endpoint could not be reached or gave no usable answer")


def write_store(
    build: Build, quads: Iterable[ox.Quad], more: ox.Store | None = None, *, quads_file: bool = True
) -> None:
    """Write the build's N-Quads file and its on-disk store (opened read-only when served).

    The file is written first and the store bulk-loaded from it: pyoxigraph writes a file from a
    list in a tenth of the time a store takes to dump itself. ``more`` holds quads read straight
    into pyoxigraph (kg serve --data); they join the store, and the file is then written from the
    store, which holds each quad once (foreign data may repeat what was inferred).
    ``quads_file=False``: the caller writes the file (``write_quads_file``, kg.pipeline does it
    beside this), and the store is loaded from the quads themselves.
    """
    store = ox.Store(str(build.store))
    if more is None and not quads_file:
        store.bulk_extend(quads)
    elif more is None:
        write_quads_file(build, quads)
        store.bulk_load(path=str(build.quads), format=ox.RdfFormat.N_QUADS)
    else:
        store.bulk_extend(quads)
        store.bulk_extend(more.quads_for_pattern(None, None, None, None))
        store.dump(str(build.quads), format=ox.RdfFormat.N_QUADS)
    store.optimize()
    store.flush()
    del store  # closes the database before anyone opens it read-only


def write_quads_file(build: Build, quads: Iterable[ox.Quad]) -> None:
    """The build's N-Quads file (``graph.nq``), of the same quads as its store."""
    ox.serialize(quads, str(build.quads), format=ox.RdfFormat.N_QUADS)


class KnowledgeGraph:
    """A read-only SPARQL view of one build."""

    def __init__(
        self, store: ox.Store, identity: str, build: Build | None = None, union_default_graph: bool = True
    ) -> None:
        self._store = store
        # Changes whenever the served data changes: the key for caches and ETags.
        self.identity = identity
        # The build it was opened from, so query processes can open the same.
        self.build = build
        # The dataset's rule (kg.build.Manifest): the union of all graphs, or the default graph alone.
        self.union_default_graph = union_default_graph
        self._count_cache: dict[str | None, int] | None = None

    @classmethod
    def open(cls, build: Build) -> KnowledgeGraph:
        """Open a build: its on-disk store read-only if there is one, else load the quads into memory.

        The on-disk store is shared by every process through the OS page cache:
        at 1M triples a process holds about 60 MB instead of about 425 MB with its
        own in-memory copy.
        """
        build.require()
        if build.store.is_dir():
            store = ox.Store.read_only(str(build.store))
        else:
            store = ox.Store()
            store.bulk_load(path=str(build.quads), format=ox.RdfFormat.N_QUADS)
        manifest = build.manifest()
        union = manifest.union_default_graph if manifest is not None else True
        return cls(store, build.identity(), build, union)

    def default_graphs(self, infer: bool = True) -> list[ox.NamedNode | ox.DefaultGraph]:
        """The graphs whose union is a query's default graph.

        The project's build: the store's default graph and every named graph
        (ontology, asserted, inferred). Foreign data (``kg serve --data``) without
        ``--union-default-graph``: the files' default graph alone, as SPARQL
        defines a dataset, plus the inferred graph if ``--reason`` made one.
        ``infer=False`` leaves out the inferred graph.
        """
        named = sorted(self._store.named_graphs(), key=str)
        if not self.union_default_graph:
            named = [g for g in named if g == _INFERRED]
        return [ox.DefaultGraph(), *(g for g in named if infer or g != _INFERRED)]

    def query(
        self,
        sparql: str,
        *,
        infer: bool = True,
        bindings: dict[str, ox.NamedNode | ox.Literal] | None = None,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        query_dataset: bool = False,
        base_iri: str | None = None,
    ) -> Result:
        """Evaluate a SPARQL query; a syntax error becomes a BadRequest naming its position.

        ``bindings`` maps variable names to terms, passed to pyoxigraph as
        ``substitutions`` (SEP-0007): the variable is replaced by the term
        throughout, inside OPTIONAL and FILTER too, and a user's text never
        becomes query text. pyoxigraph binds only variables the SELECT
        projects, so canned queries project their parameters (checked at
        start-up, see kg.queries) and the answer drops those columns.

        The dataset: ``default_graphs`` / ``named_graphs`` (the protocol's
        default-graph-uri / named-graph-uri) name graphs in the store; else a
        query with its own FROM keeps it (``query_dataset``); else the default
        graph is ``default_graphs(infer)``, every named graph is named, and
        ``infer=False`` hides the inferred graph from GRAPH patterns too.
        Nothing is ever fetched.
        """
        dataset: dict = {}
        try:
            if default_graphs is not None or named_graphs is not None:
                dataset["default_graph"] = [ox.NamedNode(g) for g in default_graphs or []]
                dataset["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or []]
            elif not query_dataset and infer and self.union_default_graph:
                # Every graph: pyoxigraph's union mode is 2-3x faster than listing them (bench/).
                dataset["use_default_graph_as_union"] = True
            elif not query_dataset and (not infer or self._store.contains_named_graph(_INFERRED)):
                named = [g for g in self._store.named_graphs() if infer or g != _INFERRED]
                dataset["default_graph"] = self.default_graphs(infer)
                dataset["named_graphs"] = sorted(named, key=str)
            # else: the store's own dataset, the default graph alone and every named graph
        except ValueError as exc:
            raise BadRequest(f"default-graph-uri / named-graph-uri must be IRIs: {exc}") from None
        substitutions = {ox.Variable(name): term for name, term in (bindings or {}).items()}
        try:
            return self._store.query(
                sparql,
                prefixes=PREFIXES,
                base_iri=base_iri,
                custom_functions=functions.OXIGRAPH,
                substitutions=substitutions or None,
                **dataset,
            )
        except SyntaxError as exc:
            raise BadRequest(syntax_message(str(exc), sparql, base_iri)) from None
        except OSError as exc:  # only an allowlisted SERVICE call does I/O during a query
            raise unreachable(exc) from None

    def __len__(self) -> int:
        return self._counts()[None]

    def count(self, graph: str) -> int:
        """Triples in one named graph (counted once: the data never changes while served)."""
        return self._counts().get(str(graph), 0)

    def _counts(self) -> dict[str | None, int]:
        if self._count_cache is None:
            counts: dict[str | None, int] = {None: 0}
            for quad in self._store.quads_for_pattern(None, None, None, None):
                name = None if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
                counts[name] = counts.get(name, 0) + 1
            counts[None] = sum(counts.values())
            self._count_cache = counts
        return self._count_cache

    def instances(self, cls: str) -> list[str]:
        """IRIs typed with a class in any graph (inferred types included), sorted."""
        rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        quads = self._store.quads_for_pattern(None, rdf_type, ox.NamedNode(cls), None)
        return sorted({q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)})

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs())

    def to_rdflib(self) -> Any:
        """The same quads in an rdflib Dataset with the same default graph (to compare engines)."""
        from rdflib import Dataset, URIRef  # only tests compare engines: workers never import rdflib

        ds = Dataset(default_union=self.union_default_graph)
        for name in self.default_graphs(True):
            nt = self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name)
            target = ds.default_graph if isinstance(name, ox.DefaultGraph) else ds.graph(URIRef(name.value))
            target.parse(data=nt.decode("utf-8"), format="nt")
        return ds
