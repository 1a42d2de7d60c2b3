"""Errors people can act on (issue 14, point 3): the problem in words, at the right place, in
the format the client asked for, with no Python in it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from kg.sparql_errors import line_column

API = "application/sparql-results+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
LEAKS = ("Traceback", "ValueError", "TypeError", "int()", "isoformat", "Error:", "'0'..='9'", "\\u{", "..=")


def sparql(q: str) -> str:
    return "/sparql?query=" + quote(q)


# (id, path, status, what the message must say)
CASES = [
    ("prefix", sparql("SELECT * WHERE { ?s hso:x ?o }"), 400, "unknown prefix `hso:` (line 1, column 21)"),
    (
        "prefix-2",
        sparql("SELECT * WHERE {\n  ?s a hso:Meeting }"),
        400,
        "unknown prefix `hso:` (line 2, column 8)",
    ),
    (
        "limit-huge",
        sparql("SELECT * { ?s ?p ?o } LIMIT 99999999999999999999999"),
        400,
        "LIMIT must be a non-negative integer",
    ),
    ("limit-negative", sparql("SELECT * { ?s ?p ?o } LIMIT -1"), 400, "LIMIT must be a non-negative integer"),
    ("limit-word", sparql("SELECT * { ?s ?p ?o } LIMIT two"), 400, "LIMIT must be a non-negative integer"),
    ("offset", sparql("SELECT * { ?s ?p ?o } OFFSET -3"), 400, "OFFSET must be a non-negative integer"),
    ("filter", sparql("SELECT * WHERE { FILTER( }"), 400, "line 1, column 26: unexpected `}`"),
    ("unclosed-brace", sparql("SELECT * WHERE { ?s ?p ?o "), 400, "the query ends too soon; expected"),
    ("extra-brace", sparql("SELECT * WHERE { ?s ?p ?o }}"), 400, "column 28: unexpected `}` after the end"),
    ("bad-iri", sparql("SELECT * WHERE { ?s <http://a b> ?o }"), 400, "`<http://a b>` is not a valid IRI"),
    ("string", sparql('SELECT * WHERE { ?s ?p "abc }'), 400, "a string is not closed"),
    ("string-long", sparql('ASK { ?s ?p """abc }'), 400, "a string is not closed"),
    ("datatype", sparql('SELECT * WHERE { ?s ?p "abc"^^ }'), 400, "expected an IRI"),
    ("object", sparql("SELECT * { ?s ?p }"), 400, "expected a variable, a literal"),
    ("no-brace", sparql("SELECT * WHERE ?s ?p ?o"), 400, "unexpected `?s`; expected `{`"),
    ("no-vars", sparql("SELECT WHERE { ?s ?p ?o }"), 400, "unexpected `WHERE`; expected a variable"),
    (
        "form",
        sparql("SELEC * WHERE { ?s ?p ?o }"),
        400,
        "expected PREFIX, SELECT, CONSTRUCT, ASK or DESCRIBE",
    ),
    ("order", sparql("SELECT * { ?s ?p ?o } ORDER ?s"), 400, "expected BY"),
    ("lang-tag", sparql('SELECT * WHERE { ?s ?p "x"@ }'), 400, "unexpected `@`"),
    ("group-by", sparql("SELECT ?x WHERE { ?s ?p ?o } GROUP BY ?s"), 400, "variable"),
    ("empty-filter", sparql("ASK { FILTER( ) }"), 400, "column 15: unexpected `)`"),
    ("no-query", "/sparql?query=", 400, "is empty"),
    ("comment-only", sparql("# nothing"), 400, "the query ends too soon"),
    ("integer", "/api/queries/meeting-by-ordinal?n=two", 400, "'n' must be an integer"),
    ("date", "/api/queries/meetings-between?from=yesterday", 400, "must be a date (YYYY-MM-DD)"),
    ("date-example", "/api/queries/meetings-between?to=2018-13-45", 400, "e.g. 2019-12-31"),
    ("year", "/api/queries/meetings-in-year?year=last", 400, "must be a year"),
    ("iri", "/api/queries/meetings-on-subject?subject=not%20an%20iri", 400, "IRI"),
    ("lang-string", "/api/queries/entity-by-label?label=Hamburg", 400, "text@lang"),
    ("unknown-param", "/api/queries/timeline?colour=red", 400, "colour"),
    ("missing-required", "/api/queries/meetings-in-year", 400, "is required"),
    ("unknown-query", "/api/queries/no-such-query", 404, "no canned query named"),
    ("unknown-entity", "/id/person/nobody", 404, "the graph knows nothing about"),
    ("unknown-path", "/nope", 404, "URL was not found"),
    ("method", "/api/queries", 405, "method"),
]


def _check(response, status: int, said: str, mimetype: str) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == mimetype, text
    assert said in text, text
    for leak in LEAKS:
        assert leak not in text, (leak, text)
    return text


def _get(client, path: str, status: int, accept: str):
    return (
        client.post(path, headers={"Accept": accept})
        if status == 405
        else client.get(path, headers={"Accept": accept})
    )


@pytest.mark.parametrize(("path", "status", "said"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_api_clients_get_json_that_names_the_problem(client, path, status, said):
    response = _get(client, path, status, API if path.startswith("/sparql") else "application/json")
    _check(response, status, said, "application/json")
    assert response.get_json()["status"] == status


@pytest.mark.parametrize("accept", ["*/*", "", "text/turtle", "text/csv"])
def test_curl_and_other_clients_keep_json(client, accept):
    response = client.get("/id/person/nobody", headers={"Accept": accept} if accept else {})
    assert response.status_code == 404
    assert response.mimetype == "application/json"


BROWSER_CASES = [
    c
    for c in CASES
    if c[0]
    in {"prefix", "filter", "integer", "date", "unknown-entity", "unknown-path", "method", "missing-required"}
]


@pytest.mark.parametrize(
    ("path", "status", "said"), [c[1:] for c in BROWSER_CASES], ids=[c[0] for c in BROWSER_CASES]
)
def test_browsers_get_a_page_with_a_way_back(client, path, status, said):
    text = _check(
        _get(client, path, status, BROWSER), status, said.replace("'", "&#39;").replace("`", "`"), "text/html"
    )
    assert '<a href="/">Home page</a>' in text
    if path.startswith("/sparql"):
        assert 'href="/editor#query=' in text  # the query, kept
    if path.startswith("/api/queries/") and status == 400:
        assert "Back to the form" in text


def test_the_page_escapes_what_it_shows(client):
    response = client.get(sparql('SELECT * { <a"><script>x</script>> ?p ?o }'), headers={"Accept": BROWSER})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>x" not in text


# (query, the offending text): the column is where that text starts, counted by hand below.
POSITIONS = [
    ("SELECT * WHERE { FILTER( }", "}"),  # the engine says column 27
    ("SELECT * WHERE { ?s ?p ?o \n\t FILTER( }", "}"),
    ("SELECT * WHERE {\n  ?s ?p ?o .\n  FILTER( }", "}"),
    ("SELEC * WHERE { ?s ?p ?o }", "SELEC"),  # the engine says column 10
    ("SELECT WHERE { ?s ?p ?o }", "WHERE"),  # the engine says column 16
    ("SELECT * WHERE { ?s ?p ?o . FILTER(?o > ) }", ")"),
    ('SELECT * WHERE { ?s ?p "ü" . FILTER( }', "}"),  # columns count characters, not bytes
    ("SELECT * WHERE { ?s ?p ?o }}", "}}"),
    ("ASK {} }   x", "}   x"),
]


@pytest.mark.parametrize(("query", "offending"), POSITIONS)
def test_line_and_column_point_at_the_error(client, query, offending):
    offset = query.rindex(offending) if offending != "}}" else query.rindex("}")
    line, column = line_column(query, offset)
    message = client.get(sparql(query), headers={"Accept": API}).get_json()["error"]
    assert f"line {line}, column {column}:" in message, message


def test_the_column_of_filter_by_hand(client):
    message = client.get(sparql("SELECT * WHERE { FILTER( }"), headers={"Accept": API}).get_json()["error"]
    assert message.startswith("SPARQL syntax error at line 1, column 26: unexpected `}`"), message
