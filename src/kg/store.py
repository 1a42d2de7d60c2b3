"""Step 4, store: the built graph in pyoxigraph, queried per request.

The three named graphs (ontology, asserted, inferred) are kept apart. The
query's default graph is their union, or ontology + asserted with
``infer=False``; ``GRAPH <…>`` reaches each one by name. The data never
changes while served, so the store is read-only by construction: nothing here
offers an update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, URIRef

from kg.errors import BadRequest, NotBuilt
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, PREFIXES

Result = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

_ONTOLOGY = ox.NamedNode(str(GRAPH_ONTOLOGY))
_ASSERTED = ox.NamedNode(str(GRAPH_ASSERTED))
_INFERRED = ox.NamedNode(str(GRAPH_INFERRED))


class KnowledgeGraph:
    """A read-only SPARQL view of one build."""

    def __init__(self, store: ox.Store, identity: str) -> None:
        self._store = store
        # Changes whenever the served data changes: the key for caches and ETags.
        self.identity = identity

    @classmethod
    def from_artifact(cls, path: Path) -> KnowledgeGraph:
        if not path.is_file():
            raise NotBuilt(f"{path} does not exist: run `kg build` first")
        store = ox.Store()
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return cls(store, digest)

    @classmethod
    def from_quads(cls, quads: Iterable[ox.Quad], identity: str) -> KnowledgeGraph:
        store = ox.Store()
        store.extend(quads)
        return cls(store, identity)

    def default_graphs(self, infer: bool = True) -> list[ox.NamedNode]:
        graphs = [_ONTOLOGY, _ASSERTED]
        return graphs + [_INFERRED] if infer else graphs

    def query(
        self,
        sparql: str,
        *,
        infer: bool = True,
        substitutions: dict[ox.Variable, ox.NamedNode | ox.Literal] | None = None,
    ) -> Result:
        """Evaluate a SPARQL query; a syntax error becomes a BadRequest naming its position."""
        try:
            return self._store.query(
                sparql,
                default_graph=self.default_graphs(infer),
                prefixes=PREFIXES,
                substitutions=substitutions,
            )
        except SyntaxError as exc:
            raise BadRequest(f"SPARQL syntax error: {exc}") from None

    def __len__(self) -> int:
        return len(self._store)

    def count(self, graph: URIRef) -> int:
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph))))

    def to_rdflib(self) -> Dataset:
        """The same quads in an rdflib Dataset (to check answers across engines)."""
        ds = Dataset()
        data = self._store.dump(format=ox.RdfFormat.N_QUADS)
        ds.parse(data=data.decode("utf-8"), format="nquads")
        return ds
