"""Canned queries as an API, pages and CLI: typed parameters, safe binding, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.errors import DataError
from kg.queries import load_query

ID = "https://w3id.org/hos-kg/id/"


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return json.loads(response.get_data(as_text=True))["results"]["bindings"]


def error(response, status) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    return json.loads(response.get_data(as_text=True))["error"]


def test_catalogue_lists_every_query_with_typed_params(client, settings):
    data = client.get("/api/queries").get_json()["queries"]
    files = {p.stem for p in settings.queries_dir.glob("*.rq")}
    assert {q["name"] for q in data} == files
    series = next(q for q in data if q["name"] == "meetings-at-summit-series")["params"][0]
    assert series["type"] == "iri" and series["values"] == [
        ID + "event/apec",
        ID + "event/g20",
    ]  # from the graph
    assert all(q["title"] and q["sparql"].startswith("#+") for q in data)


def test_run_with_default_and_given_params(client):
    assert [r["meeting"]["value"] for r in rows(client.get("/api/queries/meeting-by-ordinal"))] == [
        ID + "meeting/2017-07-07-hamburg"
    ]
    third = rows(client.get("/api/queries/meeting-by-ordinal", query_string={"n": "3"}))
    assert [r["meeting"]["value"] for r in third] == [ID + "meeting/2018-07-16-helsinki"]
    assert "_n" not in third[0]  # parameters are bound, not returned


def test_suffixes_and_negotiation_match_sparql(client):
    csv_ = client.get("/api/queries/timeline.csv", query_string={"lang": "bn"})
    assert csv_.mimetype == "text/csv" and "হামবুর্গ" in csv_.get_data(as_text=True)
    tsv = client.get("/api/queries/timeline", query_string={"format": "tsv"})
    assert tsv.mimetype == "text/tab-separated-values"
    xml = client.get("/api/queries/timeline", headers={"Accept": "application/sparql-results+xml"})
    assert xml.mimetype == "application/sparql-results+xml"
    assert client.get("/api/queries/timeline.pdf").status_code == 404
    assert error(client.get("/api/queries/timeline", headers={"Accept": "image/png"}), 406)
    first = client.get("/api/queries/timeline")
    again = client.get("/api/queries/timeline", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_infer_switch_on_canned_queries(client):
    assert rows(client.get("/api/queries/wikidata-meetings-at-g20"))
    assert rows(client.get("/api/queries/wikidata-meetings-at-g20", query_string={"infer": "false"})) == []


@pytest.mark.parametrize(
    ("url", "params", "status", "message"),
    [
        ("/api/queries/nope", {}, 404, "no canned query named 'nope'"),
        (
            "/api/queries/timeline",
            {"bogus": "1"},
            400,
            "unknown parameter(s) bogus for query 'timeline'; it takes: lang",
        ),
        ("/api/queries/timeline", {"lang": "fr"}, 400, "parameter 'lang' must be one of: en, bn, ru"),
        ("/api/queries/entity", {}, 400, "parameter 'iri' is required: an IRI written in full"),
        ("/api/queries/entity", {"iri": "not an iri"}, 400, "parameter 'iri' must be an IRI written in full"),
        ("/api/queries/meeting-by-ordinal", {"n": "three"}, 400, "parameter 'n' must be an integer"),
        ("/api/queries/meetings-in-year", {"year": "18"}, 400, "parameter 'year' must be a year (YYYY)"),
        (
            "/api/queries/meetings-between",
            {"from": "2018-13-01"},
            400,
            "parameter 'from' must be a date (YYYY-MM-DD)",
        ),
        ("/api/queries/entity-by-label", {"label": "Hamburg"}, 400, "must be a string with a language tag"),
        (
            "/api/queries/meetings-at-summit-series",
            {"series": ID + "event/nato"},
            400,
            "parameter 'series' must be one of",
        ),
    ],
)
def test_bad_parameters_name_the_problem(client, url, params, status, message):
    assert message in error(client.get(url, query_string=params), status)


def test_repeated_parameter_is_400(client):
    assert "given 2 times" in error(client.get("/api/queries/meeting-by-ordinal?n=1&n=3"), 400)


# ---------------------------------------------------------------- injection: the meaning never changes

PAYLOADS = [
    '") } UNION { ?s ?p ?o } #',
    "' } UNION { ?s ?p ?o } #",
    "x> } UNION { ?s ?p ?o } <y",
    "}}}}",
    "# comment\n} UNION { ?s ?p ?o }",
    'a"\nb\\"c',
    "UNION { ?s ?p ?o }",
    "x" * 2000,
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_string_payloads_are_just_text(client, payload):
    # search-labels matches labels containing the text: a payload is just text, matching nothing.
    assert rows(client.get("/api/queries/search-labels", query_string={"text": payload})) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_lang_string_payloads_are_just_text(client, payload):
    assert rows(client.get("/api/queries/entity-by-label", query_string={"label": payload + "@en"})) == []


@pytest.mark.parametrize(
    "payload",
    [
        ID + "x> ?p ?o } UNION { ?s ?p ?o",
        ID + 'x" }',
        ID + "x}",
        ID + "x\nUNION",
        "<" + ID + "x> ?p ?o } UNION { ?s ?p ?o",
        "<" + ID + "x> <" + ID + "y>",
    ],
)
def test_iri_payloads_are_refused(client, payload):
    assert "parameter 'iri' must be an IRI" in error(
        client.get("/api/queries/entity", query_string={"iri": payload}), 400
    )


def test_an_iri_in_angle_brackets_is_the_iri(client):
    """As written in SPARQL: <…> is the IRI itself (issue 14: parameters take what users type)."""
    bracketed = rows(
        client.get("/api/queries/entity", query_string={"iri": "<" + ID + "meeting/2017-07-07-hamburg>"})
    )
    assert bracketed and bracketed == rows(
        client.get("/api/queries/entity", query_string={"iri": ID + "meeting/2017-07-07-hamburg"})
    )


@pytest.mark.parametrize(
    ("param", "url"),
    [
        ("n", "/api/queries/meeting-by-ordinal"),
        ("year", "/api/queries/meetings-in-year"),
        ("from", "/api/queries/meetings-between"),
    ],
)
@pytest.mark.parametrize("payload", ["1) || true || (1", '1" } UNION { ?s ?p ?o } #', "2018 }", "1e400"])
def test_typed_payloads_are_refused(client, param, url, payload):
    assert f"parameter '{param}' must be" in error(client.get(url, query_string={param: payload}), 400)


def test_non_utf8_parameter_is_400(client):
    assert "not valid utf-8" in error(client.get("/api/queries/search-labels?text=%FF%FE"), 400)


def test_payload_text_is_bound_verbatim(client):
    # Searching for a real label with a quote-free payload still works: binding changed nothing else.
    found = rows(client.get("/api/queries/search-labels", query_string={"text": "ЧЁРНОЕ"}))
    assert [r["entity"]["value"] for r in found] == [ID + "place/black-sea"]
    bengali = rows(client.get("/api/queries/entity-by-label", query_string={"label": "হামবুর্গ@bn"}))
    assert [r["entity"]["value"] for r in bengali] == [ID + "place/hamburg"]


# ---------------------------------------------------------------- bad query files stop start-up

HEADER = "#+ title: T\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT * {}", "no '#+' header"),
        ("#+ title: [unclosed\nSELECT * {}", "bad '#+' YAML header"),
        (HEADER + "SELECT * { ?_x ?p ?o }", "?_x is used in the query but not declared under 'params'"),
        (HEADER + "#+ params: {x: {type: colour}}\nSELECT ?_x { ?_x ?p ?o }", "needs a type"),
        (
            HEADER + "#+ params: {x: {type: iri}}\nSELECT ?s { ?s ?p ?o }",
            "declared but ?_x is not in the query",
        ),
        (
            HEADER + "#+ params: {x: {type: iri}}\nSELECT ?s { ?_x ?p ?s }",
            "must be a SELECT that projects them",
        ),
        (
            HEADER + "#+ params: {x: {type: integer, default: ten}}\nSELECT ?_x { ?_x ?p ?o }",
            "default or example",
        ),
        (
            HEADER + "#+ params: {x: {type: iri, colour: red}}\nSELECT ?_x { ?_x ?p ?o }",
            "unknown key(s) colour",
        ),
        (HEADER + "SELECT * WHERE { ?s ?p }", "the query does not parse"),
    ],
)
def test_bad_query_file_names_file_and_reason(tmp_path: Path, text, message):
    path = tmp_path / "bad.rq"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_query(path)
    assert str(path) in info.value.message and message in info.value.message


def test_serve_refuses_to_start_with_a_bad_query(data_copy, monkeypatch):
    (data_copy.queries_dir / "broken.rq").write_text(HEADER + "SELECT * WHERE {", encoding="utf-8")
    for name in ("ontology_dir", "data_dir", "queries_dir", "build_dir"):
        monkeypatch.setenv(f"KG_{name.upper()}", str(getattr(data_copy, name)))
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert result.exit_code == 1 and "broken.rq: the query does not parse" in result.output


# ---------------------------------------------------------------- pages and docs


def test_query_pages(client):
    listing = client.get("/queries").get_data(as_text=True)
    assert 'href="/queries/timeline"' in listing
    page = client.get("/queries/meetings-at-summit-series", query_string={"series": ID + "event/apec"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<select" in text and "2017-11-10-da-nang" in text and "SELECT ?meeting" in text
    assert "/api/queries/meetings-at-summit-series.csv?series=" in text
    needs_input = client.get("/queries/entity").get_data(as_text=True)
    assert "<form" in needs_input and "row(s)" not in needs_input
    bad = client.get("/queries/meeting-by-ordinal", query_string={"n": "x"}).get_data(as_text=True)
    assert "parameter &#39;n&#39; must be an integer" in bad


def test_openapi_document_and_docs(client, settings):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    op = doc["paths"]["/api/queries/meetings-at-summit-series"]["get"]
    series = next(p for p in op["parameters"] if p["name"] == "series")
    assert series["schema"]["enum"] == [ID + "event/apec", ID + "event/g20"]
    assert series["schema"]["default"] == ID + "event/g20"
    assert "application/sparql-results+json" in op["responses"]["200"]["content"]
    assert len([p for p in doc["paths"] if p.startswith("/api/queries/")]) == len(
        list(settings.queries_dir.glob("*.rq"))
    )
    docs = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in docs and "//cdn" not in docs
    with client.get("/api/docs/static/swagger-ui-bundle.js") as bundle:  # a streamed file: close it
        assert bundle.status_code == 200 and bundle.mimetype == "text/javascript"


# ---------------------------------------------------------------- CLI


@pytest.fixture()
def cli(settings, built, monkeypatch):
    monkeypatch.setenv("KG_BUILD_DIR", str(settings.build_dir))
    return lambda *args: CliRunner().invoke(main, list(args))


def test_cli_lists_queries(cli):
    result = cli("queries")
    assert result.exit_code == 0
    assert "meetings-at-summit-series" in result.output and "-p series=<iri, default" in result.output


def test_cli_runs_a_canned_query_as_a_table(cli):
    result = cli("query", "meeting-by-ordinal", "-p", "n=3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["meeting", "date"] and "2018-07-16-helsinki" in lines[2]
    assert lines[-1] == "1 row(s)"


def test_cli_formats_and_raw_sparql(cli, tmp_path):
    as_csv = cli("query", "gifts", "--format", "csv")
    assert as_csv.output.startswith("gift,meeting,giver")
    raw = cli("query", "--sparql", "ASK { person:vladimir-putin ?p ?o }")
    assert raw.output == "true\n"
    path = tmp_path / "q.rq"
    path.write_text("SELECT ?l WHERE { place:osaka rdfs:label ?l } ORDER BY ?l", encoding="utf-8")
    assert "Осака@ru" in cli("query", "--file", str(path)).output
    turtle = cli("query", "--sparql", "CONSTRUCT WHERE { place:osaka rdfs:label ?l }", "--format", "turtle")
    assert "ওসাকা" in turtle.output


def test_cli_errors_are_clean(cli):
    for args, message in [
        (("query", "timeline", "-p", "lang=fr"), "parameter 'lang' must be one of"),
        (("query", "nope"), "no canned query named 'nope'"),
        (("query",), "give exactly one of"),
        (("query", "--sparql", "SELECT"), "SPARQL syntax error at line 1"),
        (("query", "timeline", "-p", "lang"), "write NAME=VALUE"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
