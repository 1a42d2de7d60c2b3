"""The project's namespaces and prefixes: the one source for data, queries and dumps."""

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

BASE = "https://w3id.org/hos-kg/"
HOS = Namespace(BASE + "ontology#")
ID = Namespace(BASE + "id/")
SCHEMA = Namespace("https://schema.org/")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
SH = Namespace("http://www.w3.org/ns/shacl#")

# The three named graphs of a build (see kg.reason and kg.store).
GRAPH_ONTOLOGY = URIRef(BASE + "graph/ontology")
GRAPH_ASSERTED = URIRef(BASE + "graph/asserted")
GRAPH_INFERRED = URIRef(BASE + "graph/inferred")

# One prefix per kind of resource keeps local names readable (meeting:2018-07-16-helsinki).
ID_KINDS = (
    "meeting",
    "person",
    "office",
    "place",
    "event",
    "issue",
    "outcome",
    "statement",
    "thing",
    "organization",
    "format",
    "source",
)

PREFIXES: dict[str, str] = {
    "hos": str(HOS),
    **{kind: f"{ID}{kind}/" for kind in ID_KINDS},
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
    "foaf": str(FOAF),
    "schema": str(SCHEMA),
    "wd": str(WD),
    "wdt": str(WDT),
    "kgfn": BASE + "fn#",
}


def sparql_prologue() -> str:
    """PREFIX declarations for every project prefix, for queries typed by users."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
