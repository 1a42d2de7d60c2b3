"""Dereferenceable IRIs: every subject resolves in HTML and in every RDF format; pages link nowhere dead."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

ID = "https://w3id.org/hos-kg/id/"
RDF_MEDIA = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}


def _subjects(kg) -> list[str]:
    rows = kg.query(f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{ID}")) }}')
    return sorted(r["s"].value for r in rows)


def _asserted_out(kg, iri: str) -> set[ox.Triple]:
    rows = kg.query(
        f"SELECT ?p ?o WHERE {{ GRAPH <https://w3id.org/hos-kg/graph/asserted> {{ <{iri}> ?p ?o }} }}"
    )
    return {
        ox.Triple(ox.NamedNode(iri), r["p"], r["o"]) for r in rows if not isinstance(r["o"], ox.BlankNode)
    }


def test_every_subject_dereferences_in_html_and_every_rdf_format(client, kg):
    subjects = _subjects(kg)
    assert len(subjects) > 90
    for iri in subjects:
        path = "/id/" + iri[len(ID) :]
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.mimetype == "text/html", path
        expected = _asserted_out(kg, iri)
        for media, fmt in RDF_MEDIA.items():
            response = client.get(path, headers={"Accept": media})
            assert response.status_code == 200 and response.mimetype == media, (path, media)
            got = {
                q.triple if isinstance(q, ox.Quad) else q for q in ox.parse(response.get_data(), format=fmt)
            }
            assert expected <= got, (path, media, expected - got)


@pytest.mark.parametrize(
    ("suffix", "media"),
    [
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("nt", "application/n-triples"),
        ("rdf", "application/rdf+xml"),
        ("html", "text/html"),
    ],
)
def test_suffixes_override_accept(client, suffix, media):
    response = client.get(f"/id/meeting/2018-07-16-helsinki.{suffix}", headers={"Accept": "image/png"})
    assert response.status_code == 200 and response.mimetype == media


def test_negotiation_headers_unknown_and_unacceptable(client):
    r = client.get("/id/meeting/2018-07-16-helsinki", headers={"Accept": "text/turtle"})
    assert (
        r.headers["Content-Location"] == "/id/meeting/2018-07-16-helsinki.ttl"
        and "Accept" in r.headers["Vary"]
    )
    assert client.get("/id/meeting/2018-07-16-helsinki", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/id/meeting/1999-01-01-nowhere").status_code == 404
    assert client.get("/ontology/NoSuchTerm").status_code == 404


def test_asserted_and_inferred_are_told_apart(client):
    quads = list(
        ox.parse(client.get("/id/meeting/2017-07-07-hamburg.trig").get_data(), format=ox.RdfFormat.TRIG)
    )
    graphs = {q.graph_name.value for q in quads}
    assert {"https://w3id.org/hos-kg/graph/asserted", "https://w3id.org/hos-kg/graph/inferred"} <= graphs
    asserted_only = client.get("/id/meeting/2017-07-07-hamburg.trig", query_string={"infer": "false"})
    assert "graph/inferred" not in asserted_only.get_data(as_text=True)
    page = client.get("/id/meeting/2017-07-07-hamburg").get_data(as_text=True)
    assert '<tr class="inferred">' in page and "<em>inferred</em>" in page


def test_labels_of_mentioned_resources_are_included(client):
    text = client.get("/id/meeting/2017-07-07-hamburg.nt").get_data(as_text=True)
    assert (
        '<https://w3id.org/hos-kg/id/place/hamburg> <http://www.w3.org/2000/01/rdf-schema#label> "হামবুর্গ"@bn'
        in text
    )


def test_page_language_from_parameter_cookie_and_accept_language(app):
    client = app.test_client()
    bn = client.get("/id/place/hamburg", query_string={"lang": "bn"}).get_data(as_text=True)
    assert '<h1 lang="bn">হামবুর্গ</h1>' in bn
    again = client.get("/id/place/hamburg", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert (
        '<h1 lang="bn">হামবুর্গ</h1>' in again
    )  # a chosen language is remembered (cookie) over Accept-Language
    ru = app.test_client().get("/id/place/hamburg", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<h1 lang="ru">Гамбург</h1>' in ru.get_data(as_text=True)
    assert '<h1 lang="en">Hamburg</h1>' in app.test_client().get("/id/place/hamburg").get_data(as_text=True)


def test_meeting_page_has_links_sources_and_timeline(client):
    page = client.get("/id/meeting/2018-07-16-helsinki").get_data(as_text=True)
    assert 'href="https://en.wikipedia.org/wiki/2018_Russia%E2%80%93United_States_summit"' in page
    assert 'rel="prev">Putin–Trump talks in Da Nang, 10 November 2017' in page
    assert 'rel="next">Working breakfast in Paris, 11 November 2018' in page
    assert '<p lang="bn">তৃতীয়বারের রাষ্ট্রপতিদের সাথে দেখা হয়েছে জুলাই 16, 2018 হেলসিঙ্কিতে।</p>' in page
    putin = client.get("/id/person/vladimir-putin").get_data(as_text=True)
    assert 'href="http://www.wikidata.org/entity/Q7747"' in putin


def test_ontology_pages(client):
    index = client.get("/ontology").get_data(as_text=True)
    assert 'href="/ontology/Meeting"' in index and 'href="/ontology/participant"' in index
    term = client.get("/ontology/participant", query_string={"lang": "bn"}).get_data(as_text=True)
    assert "অংশগ্রহণকারী" in term
    rdf = client.get("/ontology/Meeting", headers={"Accept": "text/turtle"})
    assert rdf.status_code == 200 and "owl:Class" in rdf.get_data(as_text=True)


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_no_dangling_internal_link_on_any_page(client, kg):
    start = ["/sparql", "/queries", "/dumps", "/ontology", "/api/docs"]
    start += ["/id/" + iri[len(ID) :] for iri in _subjects(kg)]
    seen: set[str] = set()
    queue = list(start)
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        with client.get(path, headers={"Accept": BROWSER}) as response:
            assert response.status_code == 200, path
            if response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
        for href in re.findall(r'(?:href|src)="(/[^"#]*)', html):
            target = href.replace("&amp;", "&")
            if target.split("?")[0] not in {s.split("?")[0] for s in seen}:
                queue.append(target)
    assert len(seen) > 200


@pytest.mark.parametrize("accept", ["*/*", None, "text/html", "text/*"])
def test_a_bare_wildcard_or_no_accept_gets_html_as_documented(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/id/meeting/2018-07-16-helsinki", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/html", accept
    assert response.headers["Content-Location"] == "/id/meeting/2018-07-16-helsinki.html"


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/turtle, */*;q=0.1", "text/turtle"),
        ("application/ld+json, text/html;q=0.5", "application/ld+json"),
        ("text/html;q=0.5, application/n-triples", "application/n-triples"),
        ("text/html;q=0, */*", "text/turtle"),
        ("application/json", "application/ld+json"),
    ],
)
def test_an_rdf_type_preferred_over_html_gets_rdf(client, accept, media):
    response = client.get("/id/meeting/2018-07-16-helsinki", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media, accept
