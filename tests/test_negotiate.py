"""Content negotiation (kg.formats.negotiate / negotiate_header): each rule alone.

(Beside tests/test_formats.py, which another change owns: these test the
public functions only.)
"""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from kg.errors import NotAcceptable
from kg.formats import negotiate, negotiate_header


def pick(kind: str, accept: str = "", formats: tuple[str, ...] = (), html: bool = True) -> str:
    return negotiate(kind, parse_accept_header(accept, MIMEAccept), list(formats), html=html).media_type


def refusal(kind: str, accept: str = "", formats: tuple[str, ...] = (), html: bool = True) -> str:
    with pytest.raises(NotAcceptable) as info:
        pick(kind, accept, formats, html)
    return info.value.message


# ---------------------------------------------------------------- format= / output= values


@pytest.mark.parametrize(
    ("kind", "value", "media"),
    [
        ("results", "JSON", "application/sparql-results+json"),  # upper case: no other check refuses it
        ("results", "Csv", "text/csv"),
        ("results", " tsv ", "text/tab-separated-values"),
        ("results", "XML", "application/sparql-results+xml"),
        ("results", "HTML", "text/html"),
        ("results", "application/sparql-results+json", "application/sparql-results+json"),
        ("results", "Application/JSON", "application/sparql-results+json"),
        ("results", "text/csv; charset=utf-8", "text/csv"),
        ("results", "text/csv;a=1;b=2", "text/csv"),
        ("graph", "TURTLE", "text/turtle"),
        ("graph", "JSON-LD", "application/ld+json"),
        ("graph", "json", "application/ld+json"),
        ("graph", "NT", "application/n-triples"),
        ("graph", "rdf+xml", "application/rdf+xml"),
        ("graph", "nquads", "application/n-quads"),
        ("graph", "trig", "application/trig"),
        ("graph", "text/turtle", "text/turtle"),
    ],
)
def test_a_format_value_names_a_format_in_any_case(kind, value, media):
    assert pick(kind, formats=(value,)) == media


def test_a_format_value_overrides_accept_and_the_first_usable_one_wins():
    assert pick("results", "text/csv", ("json",)) == "application/sparql-results+json"
    assert pick("results", "", ("pdf", "tsv", "csv")) == "text/tab-separated-values"
    assert pick("results", "", ("html", "csv"), html=False) == "text/csv"


def test_an_unknown_format_value_is_refused_with_the_names_to_use():
    assert refusal("results", formats=("pdf", "png")) == (
        "format 'pdf' is not available for results; use one of csv, html, json, tsv, xml"
    )
    assert refusal("graph", formats=("csv",)).startswith(
        "format 'csv' is not available for graph; use one of json, json-ld, jsonld, n-quads, n-triples, n3,"
    )
    assert "format 'html' is not available" in refusal("results", formats=("html",), html=False)


# ---------------------------------------------------------------- the Accept header


@pytest.mark.parametrize(
    ("kind", "accept", "media"),
    [
        ("results", "", "application/sparql-results+json"),
        ("results", "*/*", "application/sparql-results+json"),
        ("graph", "", "text/turtle"),
        ("graph", "*/*", "text/turtle"),
        ("results", "text/*", "text/csv"),
        ("graph", "text/*", "text/turtle"),
        ("results", "application/json", "application/sparql-results+json"),
        ("graph", "application/json", "application/ld+json"),
        ("results", "application/xml", "application/sparql-results+xml"),
        ("results", "text/xml", "application/sparql-results+xml"),
        ("graph", "application/xml", "application/rdf+xml"),
        ("graph", "text/plain", "application/n-triples"),
        ("graph", "application/x-turtle", "text/turtle"),
        ("results", "text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("results", "text/csv, application/sparql-results+xml;q=0.5", "text/csv"),
        ("results", "image/png, text/tab-separated-values;q=0.1", "text/tab-separated-values"),
        ("results", "text/html", "text/html"),
    ],
)
def test_accept(kind, accept, media):
    assert pick(kind, accept) == media


def test_html_is_offered_unless_the_caller_says_otherwise():
    accept = parse_accept_header("text/html", MIMEAccept)
    assert negotiate("results", accept, []).media_type == "text/html"
    assert negotiate("results", accept, ["html"]).media_type == "text/html"


def test_html_is_left_out_when_the_caller_cannot_render_it():
    assert pick("results", "text/html, text/csv;q=0.5", html=False) == "text/csv"
    assert refusal("results", "text/html", html=False) == (
        "cannot produce any of 'text/html' for results; available: application/sparql-results+json, "
        "application/sparql-results+xml, text/csv, text/tab-separated-values, text/html"
    )
    assert pick("results", "", html=False) == "application/sparql-results+json"


def test_an_accept_nothing_can_satisfy_is_refused():
    assert refusal("graph", "image/png").startswith(
        "cannot produce any of 'image/png' for graph; available: "
    )


def test_negotiate_header_parses_the_raw_header_and_answers_none_for_a_refusal():
    assert negotiate_header("results", "text/csv", ()) == "text/csv"
    assert negotiate_header("results", "*/*", ()) == "application/sparql-results+json"
    assert negotiate_header("graph", "text/*;q=0.9, image/png", ()) == "text/turtle"
    assert negotiate_header("results", "", ("JSON",)) == "application/sparql-results+json"
    assert negotiate_header("graph", "application/sparql-results+json", ()) is None
    assert negotiate_header("results", "", ("nope",)) is None


def test_format_json_in_upper_case_over_http(client):
    response = client.get("/sparql", query_string={"query": "ASK {}", "format": "JSON"})
    assert response.status_code == 200 and response.mimetype == "application/sparql-results+json"
    graph = client.get(
        "/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "format": "JSON"}
    )
    assert graph.status_code == 200 and graph.mimetype == "application/ld+json"
