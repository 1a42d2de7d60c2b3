"""Step 5b, dump: Turtle files with the project's prefixes, and counts."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.load import new_graph
from kg.namespaces import HOS, ID


def write_turtle(graph: Graph, path: Path) -> None:
    out = new_graph()
    out += graph
    out.serialize(path, format="turtle", encoding="utf-8")


def write_nquads(graphs: dict[URIRef, Graph], path: Path) -> None:
    """One N-Quads file holding each graph under its name (pyoxigraph writes it)."""

    def quads():
        for name, graph in graphs.items():
            nt = graph.serialize(format="nt", encoding="utf-8")
            for triple in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES):
                yield ox.Quad(triple.subject, triple.predicate, triple.object, ox.NamedNode(str(name)))

    ox.serialize(quads(), str(path), format=ox.RdfFormat.N_QUADS)


def instances_by_class(graph: Graph) -> dict[str, int]:
    """Distinct project resources per hos: class (owl:sameAs twins are not counted twice)."""
    counts: dict[str, int] = {}
    for cls in sorted(set(graph.objects(None, RDF.type))):
        if not str(cls).startswith(str(HOS)):
            continue
        n = sum(1 for s in graph.subjects(RDF.type, cls) if str(s).startswith(str(ID)))
        if n:
            counts[f"hos:{str(cls)[len(str(HOS)) :]}"] = n
    return counts
