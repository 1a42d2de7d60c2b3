"""The SPARQL Protocol as pure functions (kg.protocol): no app, no request, no store."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from kg import protocol
from kg.config import REPO_ROOT, Settings
from kg.errors import BadRequest, Forbidden, NotAcceptable, PayloadTooLarge, UnsupportedMediaType
from kg.queries import load_query

SETTINGS = Settings()
BASE = "http://example.org/sparql"
SELECT = "SELECT ?s WHERE { ?s ?p ?o }"
FORM = protocol.FORM


def no_body() -> bytes:
    raise AssertionError("the body was read")


def read(
    query_string: bytes = b"", method: str = "GET", ctype: str = "", body: bytes | None = None, limit=1024
):
    return protocol.read_params(query_string, method, ctype, no_body if body is None else lambda: body, limit)


def job(query: str = SELECT, accept: str = "", **params: str | list[str]):
    values = MultiDict([(k, v) for k, vs in params.items() for v in ([vs] if isinstance(vs, str) else vs)])
    headers = {"Accept": accept} if accept else {}
    return protocol.build_job(query, values, headers, SETTINGS, BASE)


# ---------------------------------------------------------------- read_params


def test_get_parameters_come_from_the_query_string_only():
    params = read(b"query=ASK%7B%7D&format=json&format=csv&infer=")
    assert params.getlist("query") == ["ASK{}"] and params.getlist("format") == ["json", "csv"]
    assert params["infer"] == ""


def test_a_query_string_is_decoded_strictly_as_utf8():
    with pytest.raises(BadRequest, match=r"percent-escapes that are not valid utf-8"):
        read(b"query=%FF")
    with pytest.raises(BadRequest, match=r"not valid utf-8"):
        read(b"query=\xff")


def test_a_long_query_string_is_refused_before_it_is_parsed():
    with pytest.raises(PayloadTooLarge, match=r"11 bytes; the limit is 10"):
        read(b"query=ASK{}", limit=10)


def test_a_form_post_adds_its_body_to_the_url_parameters():
    params = read(b"infer=false", "POST", FORM, b"query=ASK%7B%7D&default-graph-uri=urn%3Ag")
    assert params.to_dict(flat=False) == {
        "infer": ["false"],
        "query": ["ASK{}"],
        "default-graph-uri": ["urn:g"],
    }


@pytest.mark.parametrize(
    "ctype",
    ["application/sparql-query", "Application/SPARQL-Query", "application/sparql-query; charset=UTF-8"],
)
def test_a_query_post_is_the_query_itself(ctype):
    assert read(b"", "POST", ctype, 'ASK { ?s ?p "é" }'.encode()).getlist("query") == ['ASK { ?s ?p "é" }']


@pytest.mark.parametrize(
    ("ctype", "error", "message"),
    [
        ("", UnsupportedMediaType, "a POST needs a Content-Type"),
        ("text/plain", UnsupportedMediaType, "'text/plain' is not accepted"),
        ("application/sparql-update", Forbidden, "read-only"),
        ("application/sparql-query; charset=latin-1", UnsupportedMediaType, "must be UTF-8"),
        ("application/sparql-query; charset=nonsense", UnsupportedMediaType, "unknown charset"),
    ],
)
def test_a_post_of_another_type_is_refused_without_reading_its_body(ctype, error, message):
    # The charset is checked as the body is decoded: those two may read it.
    body = b"x" if "charset" in ctype else None
    with pytest.raises(error, match=message):
        read(b"", "POST", ctype, body)


def test_a_get_never_reads_the_body():
    assert read(b"query=ASK%7B%7D", "GET", "application/sparql-query").getlist("query") == ["ASK{}"]


# ---------------------------------------------------------------- query_text, flag, format_values


def test_query_text_is_the_one_query_or_none_for_a_bare_get():
    assert protocol.query_text(MultiDict({"query": SELECT}), "POST") == SELECT
    assert protocol.query_text(MultiDict(), "GET") is None
    assert protocol.query_text(MultiDict(), "HEAD") is None


@pytest.mark.parametrize(
    ("params", "method", "error", "message"),
    [
        ([("update", "INSERT DATA {}")], "GET", Forbidden, "read-only"),
        ([("query", SELECT), ("update", "")], "POST", Forbidden, "read-only"),
        ([], "POST", BadRequest, "is missing"),
        ([("query", SELECT), ("query", SELECT)], "GET", BadRequest, "is repeated"),
        ([("query", "  ")], "GET", BadRequest, "is empty"),
    ],
)
def test_query_text_refusals(params, method, error, message):
    with pytest.raises(error, match=message):
        protocol.query_text(MultiDict(params), method)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, True), ("", True), ("true", True), ("ON", True), ("1", True), ("false", False), ("No", False)],
)
def test_flag(raw, expected):
    assert protocol.flag({} if raw is None else {"infer": raw}, "infer", True) is expected


def test_a_flag_that_is_neither_true_nor_false_is_refused():
    with pytest.raises(BadRequest, match=r"'infer' must be true or false, not 'maybe'"):
        protocol.flag({"infer": "maybe"}, "infer", True)


def test_format_values_in_the_order_format_output_results_without_empty_ones():
    params = MultiDict([("results", "csv"), ("output", ""), ("format", "json"), ("output", "xml")])
    assert protocol.format_values(params) == ["json", "xml", "csv"]


# ---------------------------------------------------------------- build_job


def test_a_job_negotiates_both_kinds_at_once():
    built = job(accept="text/csv, text/turtle;q=0.5")
    assert (built.results, built.graph) == ("text/csv", "text/turtle")
    assert (job().results, job().graph) == ("application/sparql-results+json", "text/turtle")


def test_a_format_parameter_overrides_accept_in_any_case():
    built = job(accept="text/csv", format="JSON")
    assert (built.results, built.graph) == ("application/sparql-results+json", "application/ld+json")
    built = job(output="nt")
    assert (built.results, built.graph) == (None, "application/n-triples")


def test_nothing_acceptable_names_what_is_available():
    with pytest.raises(NotAcceptable) as info:
        job(accept="image/png")
    assert info.value.message == (
        "none of the requested formats can carry a SPARQL answer; results: JSON, XML, CSV, TSV, HTML; "
        "graphs: Turtle, N-Triples, RDF/XML, JSON-LD, TriG, N-Quads"
    )
    with pytest.raises(NotAcceptable) as info:
        job(format="pdf")
    assert info.value.message == (
        "format 'pdf' is not available; use json, xml, csv, tsv or html for SELECT/ASK, "
        "turtle, nt, rdf+xml, json-ld, trig or nquads for CONSTRUCT/DESCRIBE"
    )


def test_a_job_carries_the_dataset_the_switch_and_the_base():
    built = job(
        "SELECT * FROM <urn:g> WHERE { ?s ?p ?o }\r",
        infer="false",
        **{"default-graph-uri": ["urn:a", "urn:b"], "named-graph-uri": "urn:c"},
    )
    assert built.query == "SELECT * FROM <urn:g> WHERE { ?s ?p ?o }\n"  # normalised, as the guard saw it
    assert built.infer is False and built.has_dataset and built.base_iri == BASE
    assert built.default_graphs == ("urn:a", "urn:b") and built.named_graphs == ("urn:c",)
    assert not built.network and built.bindings == ()


def test_a_job_that_calls_an_allowed_service_needs_the_network_and_others_are_refused():
    allowed = SETTINGS.service_allowlist[0]
    assert job(f"SELECT * WHERE {{ SERVICE <{allowed}> {{ ?s ?p ?o }} }}").network
    with pytest.raises(BadRequest):
        job("SELECT * WHERE { SERVICE <http://127.0.0.1/sparql> { ?s ?p ?o } }")


def test_the_guard_checks_with_the_settings():
    with pytest.raises(PayloadTooLarge):
        protocol.build_job("ASK {}" + " " * 100, MultiDict(), {}, Settings(max_query_length=50), BASE)


# ---------------------------------------------------------------- canned_job


def test_a_canned_job_binds_its_parameters_and_leaves_the_protocol_ones():
    query = load_query(REPO_ROOT / "queries" / "meetings-in-year.rq")
    params = MultiDict([("year", "2018"), ("format", "csv"), ("infer", "false")])
    built = protocol.canned_job(query, params, {}, SETTINGS, BASE)
    assert built.bindings == (("_year", '"2018"^^<http://www.w3.org/2001/XMLSchema#integer>'),)
    assert built.results == "text/csv" and built.infer is False and built.query == query.text


def test_a_canned_job_refuses_parameters_the_query_does_not_take():
    query = load_query(REPO_ROOT / "queries" / "meetings-in-year.rq")
    with pytest.raises(BadRequest, match=r"unknown parameter\(s\) output2"):
        protocol.canned_job(query, MultiDict([("year", "2018"), ("output2", "x")]), {}, SETTINGS, BASE)
