"""The project's namespaces as rdflib objects, built from the strings in kg.iris."""

from rdflib import Graph, Namespace, URIRef

from kg import iris
from kg.iris import PREFIXES

HOS = Namespace(iris.HOS)
ID = Namespace(iris.ID)
WD = Namespace(PREFIXES["wd"])
WDT = Namespace(PREFIXES["wdt"])
SH = Namespace("http://www.w3.org/ns/shacl#")

GRAPH_ONTOLOGY = URIRef(iris.GRAPH_ONTOLOGY)
GRAPH_ASSERTED = URIRef(iris.GRAPH_ASSERTED)
GRAPH_INFERRED = URIRef(iris.GRAPH_INFERRED)

__all__ = [
    "GRAPH_ASSERTED",
    "GRAPH_INFERRED",
    "GRAPH_ONTOLOGY",
    "HOS",
    "ID",
    "PREFIXES",  # kg.iris's, here too: the modules that work with rdflib take everything from here
    "SH",
    "WD",
    "WDT",
    "new_graph",
    "sparql_prologue",
]


def new_graph() -> Graph:
    """An empty rdflib graph that writes the project's prefixes (Turtle dumps, reports)."""
    g = Graph()
    for prefix, iri in PREFIXES.items():
        g.bind(prefix, iri, override=True, replace=True)
    return g


def sparql_prologue() -> str:
    """PREFIX declarations for every project prefix, for queries typed by users."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
