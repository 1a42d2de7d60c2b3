"""The endpoint describes itself: SPARQL Service Description and VoID."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, VOID, XSD

from kg.formats import negotiate
from kg.load import new_graph
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from kg.store import KnowledgeGraph
from kg.web.answers import engine

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
RESULT_FORMATS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "RDF_XML",
    "JSON-LD",
    "TriG",
    "N-Quads",
)

bp = Blueprint("describe", __name__)


def _dataset(g: Graph, node: BNode | URIRef, kg: KnowledgeGraph) -> None:
    default = BNode()
    g.add((node, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, VOID.triples, Literal(len(kg), datatype=XSD.integer)))
    for name in (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED):
        named, graph = BNode(), BNode()
        g.add((node, SD.namedGraph, named))
        g.add((named, SD.name, name))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(kg.count(name), datatype=XSD.integer)))


def service_description(endpoint: str) -> Graph:
    kg: KnowledgeGraph = engine().kg  # counts per graph: metadata, not SPARQL
    g = new_graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    service = URIRef(endpoint + "#service")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, SD.feature, SD.BasicFederatedQuery))
    for name in RESULT_FORMATS:
        g.add((service, SD.resultFormat, FORMATS[name]))
    dataset = BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    _dataset(g, dataset, kg)
    return g


def void_description(root: str) -> Graph:
    """VoID + DCAT with this server's URLs, from the build's statistics (or the store's counts)."""
    from kg.dump import read_dumps
    from kg.void import describe, read_statistics

    settings = current_app.config["KG_SETTINGS"]
    kg: KnowledgeGraph = engine().kg  # graph names and counts: metadata, not SPARQL
    stats = read_statistics(settings.build_dir / "stats.json") or {
        "graphs": {name: kg.count(URIRef(name)) for name in kg.graph_names()},
        "triples": len(kg),
        "entities": 0,
        "classes": {},
        "properties": {},
        "wikidata_links": 0,
    }
    manifest = settings.build_dir / "manifest.json"
    created = json.loads(manifest.read_text(encoding="utf-8")).get("created") if manifest.is_file() else None
    return describe(root, stats, read_dumps(settings.build_dir / "dumps"), created)


def rdf_response(graph: Graph) -> Response:
    choice = negotiate("graph", request.accept_mimetypes, request.args.getlist("format"), html=False)
    fmt = {"ttl": "turtle", "nt": "nt", "rdf": "xml", "jsonld": "json-ld", "trig": "trig", "nq": "nquads"}
    body = graph.serialize(format=fmt[choice.extension], encoding="utf-8")
    response = Response(body, mimetype=choice.media_type)
    response.vary.add("Accept")
    return response


@bp.route("/.well-known/void")
def void() -> Response:
    return rdf_response(void_description(request.url_root))
