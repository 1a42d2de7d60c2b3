"""The project's IRIs and prefixes as plain strings (no rdflib import: query workers stay light).

``BASE`` is the base the data and the predeclared prefixes are written with.
What a server or a description says about *its* resources follows the base IRI
of its settings (``Settings.base_iri``, ``KG_BASE_IRI``) through ``id_space``
and ``vocabulary``, never this constant.
"""


def id_space(base: str) -> str:
    """Where the resources under ``base`` live (served at /id/…)."""
    return base + "id/"


def vocabulary(base: str) -> str:
    """The ontology's namespace under ``base`` (its terms are served at /ontology/…)."""
    return base + "ontology#"


BASE = "https://w3id.org/hos-kg/"
HOS = vocabulary(BASE)
ID = id_space(BASE)

# The three named graphs of a build (see kg.reason and kg.store).
GRAPH_ONTOLOGY = BASE + "graph/ontology"
GRAPH_ASSERTED = BASE + "graph/asserted"
GRAPH_INFERRED = BASE + "graph/inferred"

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
    "hos": HOS,
    **{kind: f"{ID}{kind}/" for kind in ID_KINDS},
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "schema": "https://schema.org/",
    "wd": "http://www.wikidata.org/entity/",
    "wdt": "http://www.wikidata.org/prop/direct/",
    "kgfn": BASE + "fn#",
}
