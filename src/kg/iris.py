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
# In a SPARQL store a build is published to (kg.publish): which build is served, and its graphs'
# sizes. Never part of a query's dataset.
GRAPH_PUBLISHED = BASE + "graph/published"


def staging_graph(graph: str | None, identity: str) -> str:
    """Where ``kg publish`` loads one graph of build ``identity`` before the switch (None: the
    default graph)."""
    return f"{graph or BASE + 'graph/default'}/v/{identity}"


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
    "note",
    # The Wikidata view's statement, reference and value nodes (kg.wikibase), in the project's
    # IRI space: they are the project's statements, not Wikidata's (wds:, wdref:, wdv:).
    "claim",
    "reference",
    "value",
)

# The prefixes the Wikidata Query Service predeclares for Wikidata's RDF (the Wikibase RDF dump
# format), so that a query copied from query.wikidata.org runs without PREFIX lines. "schema:" is
# http://schema.org/ there (schema:description, schema:about); the project's own schema.org terms
# are https://schema.org/, written sdo:.
WIKIDATA = "http://www.wikidata.org/"
WDQS: dict[str, str] = {
    "wd": WIKIDATA + "entity/",
    "wdt": WIKIDATA + "prop/direct/",
    "wdtn": WIKIDATA + "prop/direct-normalized/",
    "wds": WIKIDATA + "entity/statement/",
    "wdv": WIKIDATA + "value/",
    "wdref": WIKIDATA + "reference/",
    "wdata": "https://www.wikidata.org/wiki/Special:EntityData/",
    "wdno": WIKIDATA + "prop/novalue/",
    "p": WIKIDATA + "prop/",
    "ps": WIKIDATA + "prop/statement/",
    "psv": WIKIDATA + "prop/statement/value/",
    "psn": WIKIDATA + "prop/statement/value-normalized/",
    "pq": WIKIDATA + "prop/qualifier/",
    "pqv": WIKIDATA + "prop/qualifier/value/",
    "pqn": WIKIDATA + "prop/qualifier/value-normalized/",
    "pr": WIKIDATA + "prop/reference/",
    "prv": WIKIDATA + "prop/reference/value/",
    "prn": WIKIDATA + "prop/reference/value-normalized/",
    "wikibase": "http://wikiba.se/ontology#",
    "bd": "http://www.bigdata.com/rdf#",
    "hint": "http://www.bigdata.com/queryHints#",  # Blazegraph's optimizer hints (dropped: kg.label_service)
    "schema": "http://schema.org/",
    "cc": "http://creativecommons.org/ns#",
    "ontolex": "http://www.w3.org/ns/lemon/ontolex#",
    "geo": "http://www.opengis.net/ont/geosparql#",
}

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
    # schema.org as the project writes it (https); "schema:" is WDQS's (http), below.
    "sdo": "https://schema.org/",
    "kgfn": BASE + "fn#",
    **WDQS,
}
