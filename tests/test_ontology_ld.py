"""The ontology as linked data (W3C "Best Practice Recipes for Publishing RDF Vocabularies", hash
namespace): /ontology negotiates the whole ontology graph and its HTML documentation; the
suffixes and the version IRI resolve; every term has its place (#Term) in the page."""

from __future__ import annotations

import importlib.resources
import re
import urllib.request

import pyoxigraph as ox
import pytest
from markupsafe import escape
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.parser import Parser
from rdflib.plugin import plugins

from kg.build import Build
from kg.config import Settings
from kg.formats import GRAPH
from kg.store import KnowledgeGraph
from kg.web import close_app, create_app
from kg.web.ontology import Mapping, wikidata_mapping
from tests.support import kg_serve

ONTOLOGY = "https://w3id.org/hos-kg/ontology"
VERSION = ONTOLOGY + "/0.1.0"
HOS = ONTOLOGY + "#"
WDT = "http://www.wikidata.org/prop/direct/"
GRAPH_ONTOLOGY = "https://w3id.org/hos-kg/graph/ontology"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
RDF_FORMATS = list(GRAPH.values())


def _named_graph(kg: KnowledgeGraph) -> Graph:
    """The build's ontology graph, read from the store."""
    triples = kg.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ ?s ?p ?o }} }}")
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")


@pytest.fixture(scope="module")
def ontology(kg) -> Graph:
    graph = _named_graph(kg)
    assert (URIRef(ONTOLOGY), OWL.versionIRI, URIRef(VERSION)) in graph
    return graph


def _parse(response) -> Graph:
    quads = ox.parse(response.get_data(), format=GRAPH[response.mimetype].format)
    triples = [q.triple if isinstance(q, ox.Quad) else q for q in quads]
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")


def _terms(ontology: Graph) -> list[URIRef]:
    return sorted({t for kind in KINDS for t in ontology.subjects(RDF.type, kind) if isinstance(t, URIRef)})


def _anchor(term: str) -> str:
    return term[len(HOS) :] if term.startswith(HOS) else "wdt-" + term[len(WDT) :]


def _sections(html: str) -> dict[str, str]:
    """Each term's part of the page, by its anchor."""
    return dict(re.findall(r'<section id="([^"]+)"[^>]*>(.*?)</section>', html, re.DOTALL))


# ---------------------------------------------------------------- the RDF


@pytest.mark.parametrize("chosen", RDF_FORMATS, ids=lambda f: f.suffix)
def test_the_namespace_iri_negotiates_the_whole_ontology_graph(client, ontology, chosen):
    response = client.get("/ontology", headers={"Accept": chosen.media_type})
    assert response.status_code == 200 and response.mimetype == chosen.media_type
    assert isomorphic(_parse(response), ontology)
    assert response.headers["Content-Location"] == f"/ontology.{chosen.suffix}"
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize("chosen", RDF_FORMATS, ids=lambda f: f.suffix)
def test_a_suffix_gives_its_format_whatever_the_accept_header(client, ontology, chosen):
    response = client.get(f"/ontology.{chosen.suffix}", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == chosen.media_type
    assert isomorphic(_parse(response), ontology)
    assert "Content-Location" not in response.headers  # the URL names the document already


def test_rdflibs_accept_header_gets_rdf_it_can_parse(client, ontology):
    """rdflib.Graph().parse(url) lists every media type it has a parser for, all at q=1."""
    accept = ", ".join(p.name for p in plugins(kind=Parser) if "/" in p.name)
    response = client.get("/ontology", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype != "text/html"
    assert isomorphic(Graph().parse(data=response.get_data(), format=response.mimetype), ontology)


def test_a_type_we_cannot_produce_is_406_and_an_unknown_suffix_404(client):
    assert client.get("/ontology", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/ontology.png").status_code == 404


@pytest.mark.parametrize("path", ["/ontology/0.1.0", *(f"/ontology/0.1.0.{f.suffix}" for f in RDF_FORMATS)])
def test_the_version_iri_resolves_to_the_same_ontology(client, ontology, path):
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert isomorphic(_parse(response), ontology)
    assert "Accept" in response.headers["Vary"]
    if path == "/ontology/0.1.0":
        assert response.headers["Content-Location"] == "/ontology/0.1.0.ttl"
        page = client.get(path, headers={"Accept": BROWSER})
        assert page.mimetype == "text/html" and 'id="Meeting"' in page.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/ontology/9.9.9", "/ontology/0.1", "/ontology/0.1.0.1", "/ontology/9.ttl"])
def test_another_version_is_404_in_the_clients_format(client, path):
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 404 and response.mimetype == "application/json"
    message = response.get_json()["error"]
    assert "0.1.0" in message and "/ontology/0.1.0" in message  # names the version there is


def test_term_pages_are_still_served_beside_the_version(client):
    assert client.get("/ontology/Meeting", headers={"Accept": "text/turtle"}).status_code == 200
    assert client.get("/ontology/Meeting.nt").status_code == 200


# ---------------------------------------------------------------- the documentation


def test_browsers_get_the_documentation_with_links_to_every_format(client):
    for headers in ({"Accept": BROWSER}, {"Accept": "*/*"}, {}):
        response = client.get("/ontology", headers=headers)
        assert response.status_code == 200 and response.mimetype == "text/html", headers
        assert response.headers["Content-Location"] == "/ontology.html"
        assert {"Accept", "Accept-Language"} <= set(response.headers["Vary"].replace(" ", "").split(","))
    html = client.get("/ontology.html").get_data(as_text=True)
    for chosen in RDF_FORMATS:
        assert f'<link rel="alternate" type="{chosen.media_type}" href="/ontology.{chosen.suffix}">' in html
        assert f'href="/ontology.{chosen.suffix}"' in html.split("<main", 1)[1]
    assert f"<code>{ONTOLOGY}</code>" in html and 'href="/ontology/0.1.0"' in html


def test_every_class_and_property_has_its_anchor_and_every_label(client, ontology):
    sections = _sections(client.get("/ontology", headers={"Accept": BROWSER}).get_data(as_text=True))
    terms = _terms(ontology)
    assert len(terms) > 100
    for term in terms:
        section = sections.get(_anchor(term))
        assert section is not None, term
        assert f"<code>{term}</code>" in section, term
        labels = list(ontology.objects(term, RDFS.label))
        for label in labels:
            assert f'<span lang="{label.language}">{escape(label)}</span>' in section, (term, label)
        for comment in ontology.objects(term, RDFS.comment):
            assert str(escape(comment)) in section, term
        if term.startswith(HOS):
            assert f'href="/ontology/{_anchor(term)}"' in section  # the term's own page


def test_domain_range_and_the_terms_above_and_below(client):
    sections = _sections(client.get("/ontology.html").get_data(as_text=True))
    participant = sections["participant"]
    assert re.search(r"Domain</dt>\s*<dd>.*https://schema.org/Event.*sdo:Event", participant, re.DOTALL)
    assert re.search(r'Range</dt>\s*<dd><a href="#Person">', participant)
    assert 'href="https://schema.org/attendee"' in participant  # super-property, outside the ontology
    meeting = sections["Meeting"]
    for sub in ("BilateralMeeting", "BriefInformalTalk", "WorkingMeal", "SummitMeeting"):
        assert f'href="#{sub}"' in meeting.split("Subclasses", 1)[1], sub
    assert 'href="#Meeting"' in sections["BilateralMeeting"].split("Subclass of", 1)[1]
    part_of = sections["partOf"].split("Subproperties", 1)[1]
    assert all(f'href="#{p}"' in part_of for p in ("occasion", "editionOf", "sessionOf"))
    assert re.search(r'Range</dt>\s*<dd><a href="http://www.w3.org/2001/XMLSchema#date"', sections["date"])


def test_the_wikidata_mapping_of_classes_and_properties(client):
    sections = _sections(client.get("/ontology.html").get_data(as_text=True))
    assert 'href="https://www.wikidata.org/wiki/Q2761147"' in sections["Meeting"]
    assert 'href="#wdt-P31"' in sections["Meeting"]
    assert 'href="#wdt-P710"' in sections["participant"] and 'href="#wdt-P1344"' in sections["participant"]
    assert 'href="#wdt-P585"' in sections["date"] and 'href="#wdt-P585"' in sections["month"]
    assert 'href="#wdt-P17"' in sections["inCountry"] and 'href="#wdt-P1343"' in sections["inDocument"]
    assert "wikidata.org" not in sections["Office"]  # no verified Wikidata class
    # The view reads sub-properties and subclasses too (rdfs:subPropertyOf*, rdfs:subClassOf*).
    assert re.search(r'href="#wdt-P361".*through <a href="#partOf">', sections["onSidelinesOf"], re.DOTALL)
    bilateral = sections["BilateralMeeting"]
    assert "wiki/Q2761147" in bilateral and 'through <a href="#Meeting">' in bilateral
    p710 = sections["wdt-P710"]
    assert 'href="https://www.wikidata.org/wiki/Property:P710"' in p710 and 'href="#participant"' in p710
    assert 'href="#Meeting"' in sections["wdt-P31"]


def test_every_wikidata_property_file_maps_terms_the_ontology_declares(ontology):
    mapping = wikidata_mapping()
    folder = importlib.resources.files("kg").joinpath("wikibase")
    files = {p.name.removesuffix(".rq") for p in folder.iterdir() if re.fullmatch(r"P\d+\.rq", p.name)}
    assert {m.property for maps in mapping.values() for m in maps} == files
    declared = set(_terms(ontology))
    assert all(URIRef(HOS + name) in declared for name in mapping), sorted(mapping)
    assert Mapping("P31", "Q5", inherited=True) in mapping["Person"]
    assert Mapping("P585") in mapping["month"] and Mapping("P1343") in mapping["inDocument"]
    assert mapping["discussedIssue"] == (Mapping("P921", inherited=True),)


RUSSIAN = "вст<b>реча</b>"


@pytest.fixture(scope="module")
def russian(tmp_path_factory, ontology):
    """An app whose ontology graph has a Russian label too (the repository's has none yet)."""
    folder = tmp_path_factory.mktemp("russian")
    graph, label = ox.NamedNode(GRAPH_ONTOLOGY), ox.NamedNode(str(RDFS.label))
    triples = ox.parse(ontology.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    quads.append(ox.Quad(ox.NamedNode(HOS + "Meeting"), label, ox.Literal(RUSSIAN, language="ru"), graph))
    ox.serialize(quads, str(folder / "graph.nq"), format=ox.RdfFormat.N_QUADS)
    app = create_app(Settings(build_dir=folder, query_workers=0), kg=KnowledgeGraph.open(Build(folder)))
    yield app.test_client()
    close_app(app)


def test_labels_in_three_languages_and_markup_escaped(russian):
    html = russian.get("/ontology", query_string={"lang": "ru"}).get_data(as_text=True)
    meeting = _sections(html)["Meeting"]
    for lang, text in (("en", "meeting"), ("bn", "বৈঠক"), ("ru", escape(RUSSIAN))):
        assert f'<span lang="{lang}">{text}</span>' in meeting, lang
    assert "<b>" not in html


# ---------------------------------------------------------------- the real server


@pytest.mark.live
def test_rdflib_parses_the_ontology_from_its_namespace_iri(settings, built, ontology):
    with kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir)}) as url:
        base = url.removesuffix("/sparql")
        graph = Graph().parse(base + "/ontology")
        assert isomorphic(graph, ontology)
        assert (URIRef(ONTOLOGY), OWL.versionIRI, URIRef(VERSION)) in graph
        request = urllib.request.Request(base + "/ontology/0.1.0", headers={"Accept": "text/turtle"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["Content-Type"].startswith("text/turtle")
            assert "Accept" in response.headers["Vary"]
