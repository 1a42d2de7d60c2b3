"""The SPARQL 1.1 Protocol at /sparql, in-process: forms, formats, errors, limits."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef

from kg.namespaces import GRAPH_ONTOLOGY

SELECT = "SELECT ?m WHERE { ?m a hos:Meeting } ORDER BY ?m"
RESULTS_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}


def ok(response, mimetype=None):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    if mimetype:
        assert response.mimetype == mimetype
    return response


def error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "/work/", "site-packages", 'File "'):
        assert leak not in text
    assert response.headers.get("Access-Control-Allow-Origin") == "*"
    return json.loads(text)["error"]


# ---------------------------------------------------------------- the three ways to send a query


def test_get_post_form_and_post_query_agree(client):
    a = ok(client.get("/sparql", query_string={"query": SELECT})).get_data()
    b = ok(client.post("/sparql", data={"query": SELECT})).get_data()
    c = ok(client.post("/sparql", data=SELECT.encode(), content_type="application/sparql-query")).get_data()
    d = ok(
        client.post("/sparql", data=SELECT.encode(), content_type="application/sparql-query; charset=UTF-8")
    )
    assert a == b == c == d.get_data()


def test_form_body_is_decoded_exactly_once(client):
    # '+' is a space in a form, '%2B' is a plus: a double decode would turn %252B into '+'.
    q = 'SELECT ?x WHERE { BIND("a+b%2Bc" AS ?x) }'
    body = "query=" + q.replace("%", "%25").replace("+", "%2B").replace(" ", "+")
    response = client.post("/sparql", data=body, content_type="application/x-www-form-urlencoded")
    value = json.loads(ok(response).get_data())["results"]["bindings"][0]["x"]["value"]
    assert value == "a+b%2Bc"


def test_only_utf8_charsets_are_accepted(client):
    q = 'SELECT ?x WHERE { BIND("café" AS ?x) }'
    for charset in ("utf-8", "UTF8", "Utf-8"):
        ctype = f"application/sparql-query; charset={charset}"
        response = client.post("/sparql", data=q.encode(), content_type=ctype)
        assert json.loads(ok(response).get_data())["results"]["bindings"][0]["x"]["value"] == "café"
    latin = client.post(
        "/sparql", data=q.encode("latin-1"), content_type="application/sparql-query; charset=latin-1"
    )
    assert "must be UTF-8" in error(latin, 415)


# ---------------------------------------------------------------- dataset selection


def test_default_graph_uri_selects_a_graph(client, kg):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    response = client.get("/sparql", query_string={"query": q, "default-graph-uri": str(GRAPH_ONTOLOGY)})
    n = json.loads(ok(response).get_data())["results"]["bindings"][0]["n"]["value"]
    assert int(n) == kg.count(GRAPH_ONTOLOGY)


def test_named_graph_uri_limits_graph_patterns(client):
    q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = client.post(
        "/sparql?named-graph-uri=" + str(GRAPH_ONTOLOGY),
        data=q.encode(),
        content_type="application/sparql-query",
    )
    rows = json.loads(ok(response).get_data())["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == [str(GRAPH_ONTOLOGY)]


def test_from_names_a_graph_in_the_store(client, kg):
    q = f"SELECT (COUNT(*) AS ?n) FROM <{GRAPH_ONTOLOGY}> WHERE {{ ?s ?p ?o }}"
    n = json.loads(ok(client.get("/sparql", query_string={"query": q})).get_data())["results"]["bindings"][0][
        "n"
    ]
    assert int(n["value"]) == kg.count(GRAPH_ONTOLOGY)


@pytest.mark.parametrize("iri", ["file:///etc/passwd", "http://127.0.0.1:9/", "https://example.org/data.ttl"])
def test_from_never_reads_files_or_urls(client, iri):
    pattern = "{ ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } }"
    q = f"SELECT * FROM <{iri}> FROM NAMED <{iri}> WHERE {{ {pattern} }}"
    assert (
        json.loads(ok(client.get("/sparql", query_string={"query": q})).get_data())["results"]["bindings"]
        == []
    )


def test_infer_switch(client):
    q = "ASK { ?m wdt:P710 wd:Q7747 }"
    assert json.loads(ok(client.get("/sparql", query_string={"query": q})).get_data())["boolean"] is True
    asserted = client.get("/sparql", query_string={"query": q, "infer": "false"})
    assert json.loads(ok(asserted).get_data())["boolean"] is False


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(("mimetype", "fmt"), RESULTS_TYPES.items())
def test_select_in_every_results_format(client, mimetype, fmt):
    by_accept = ok(
        client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": mimetype}), mimetype
    )
    by_param = ok(client.get("/sparql", query_string={"query": SELECT, "format": fmt}), mimetype)
    assert by_accept.get_data() == by_param.get_data()
    assert "2017-07-07-hamburg" in by_accept.get_data(as_text=True)


@pytest.mark.parametrize("mimetype", RESULTS_TYPES)
def test_ask_in_every_results_format(client, mimetype):
    body = ok(client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Accept": mimetype}), mimetype)
    assert "true" in body.get_data(as_text=True)


@pytest.mark.parametrize(("mimetype", "rdflib_format"), GRAPH_TYPES.items())
def test_construct_in_every_rdf_format(client, mimetype, rdflib_format):
    q = "CONSTRUCT { ?m rdfs:label ?l } WHERE { ?m a hos:Meeting ; rdfs:label ?l }"
    response = ok(client.get("/sparql", query_string={"query": q}, headers={"Accept": mimetype}), mimetype)
    if rdflib_format in ("trig", "nquads", "json-ld"):  # rdflib parses these via deprecated ConjunctiveGraph
        triples = list(ox.parse(response.get_data(), format=ox.RdfFormat.from_media_type(mimetype)))
    else:
        triples = list(Graph().parse(data=response.get_data(), format=rdflib_format))
    assert len(triples) == 21  # 7 meetings × labels in en, bn and ru


def test_describe(client):
    q = "DESCRIBE person:vladimir-putin"
    graph = Graph().parse(data=ok(client.get("/sparql", query_string={"query": q}), "text/turtle").get_data())
    assert len(graph) > 5


def test_q_values_and_wildcards(client):
    accept = "text/csv;q=0.4, application/sparql-results+xml;q=0.9, */*;q=0.1"
    ok(
        client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": accept}),
        "application/sparql-results+xml",
    )
    ok(
        client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "*/*"}),
        "application/sparql-results+json",
    )
    ok(
        client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "application/json"}),
        "application/sparql-results+json",
    )


def test_sparqlwrapper_style_repeated_format_values(client):
    query = urllib.parse.quote(SELECT)
    response = client.get(f"/sparql?query={query}&format=tsv&format=text/tab-separated-values&output=tsv")
    ok(response, "text/tab-separated-values")


def test_406_when_nothing_acceptable(client):
    message = error(
        client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "image/png"}), 406
    )
    assert "formats" in message
    assert "format 'pdf'" in error(
        client.get("/sparql", query_string={"query": SELECT, "format": "pdf"}), 406
    )
    # A SELECT asked for as Turtle cannot be served either.
    error(client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "text/turtle"}), 406)


def test_csv_tsv_escaping_unbound_and_blank_nodes(client):
    q = 'SELECT ?a ?b ?c WHERE { BIND("x,\\"y\\"\\nz" AS ?a) BIND(BNODE() AS ?c) }'
    text = ok(client.get("/sparql", query_string={"query": q, "format": "csv"})).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["a", "b", "c"]
    assert rows[1][0] == 'x,"y"\nz' and rows[1][1] == "" and rows[1][2].startswith("_:")
    tsv = ok(client.get("/sparql", query_string={"query": q, "format": "tsv"})).get_data(as_text=True)
    header, row = tsv.rstrip("\n").split("\n")
    assert header == "?a\t?b\t?c"
    a, b, c = row.split("\t")
    assert a == '"x,\\"y\\"\\nz"' and b == "" and c.startswith("_:")
    data = json.loads(ok(client.get("/sparql", query_string={"query": q})).get_data())
    assert data["head"]["vars"] == ["a", "b", "c"]
    assert "b" not in data["results"]["bindings"][0]
    assert data["results"]["bindings"][0]["c"]["type"] == "bnode"


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_bengali_and_russian_literals_round_trip_byte_identical(client, fmt):
    q = "SELECT ?l WHERE { meeting:2018-07-16-helsinki rdfs:label ?l } ORDER BY ?l"
    body = ok(client.get("/sparql", query_string={"query": q, "format": fmt})).get_data()
    for label in (
        "হেলসিঙ্কিতে পুতিন–ট্রাম্প বৈঠক, ১৬ জুলাই ২০১৮",
        "Встреча Путина и Трампа в Хельсинки, 16 июля 2018 года",
    ):
        assert label.encode("utf-8") in body


# ---------------------------------------------------------------- HTTP behaviour


def test_head_on_get_routes(client):
    for path in ("/sparql?query=ASK%7B%7D", "/sparql", "/.well-known/void"):
        response = client.head(path)
        assert response.status_code == 200 and response.get_data() == b""


def test_cors_on_results_and_preflight(client):
    assert (
        ok(client.get("/sparql", query_string={"query": SELECT})).headers["Access-Control-Allow-Origin"]
        == "*"
    )
    preflight = client.options(
        "/sparql",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers


def test_405_with_allow(client):
    response = client.delete("/sparql")
    error(response, 405)
    assert {"GET", "POST"} <= set(response.headers["Allow"].replace(" ", "").split(","))


def test_etag_revalidation_and_cache(client):
    first = ok(client.get("/sparql", query_string={"query": SELECT + " # etag"}))
    assert first.headers["X-Cache"] == "miss" and first.headers["ETag"]
    assert "must-revalidate" in first.headers["Cache-Control"]
    second = ok(client.get("/sparql", query_string={"query": SELECT + " # etag"}))
    assert second.headers["X-Cache"] == "hit" and second.get_data() == first.get_data()
    again = client.get(
        "/sparql",
        query_string={"query": SELECT + " # etag"},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304 and again.get_data() == b""
    fresh = client.get(
        "/sparql", query_string={"query": SELECT + " # etag"}, headers={"Cache-Control": "no-cache"}
    )
    assert ok(fresh).headers["X-Cache"] == "miss"
    other = ok(client.get("/sparql", query_string={"query": SELECT + " # etag", "format": "csv"}))
    assert other.headers["ETag"] != first.headers["ETag"]


# ---------------------------------------------------------------- errors


def test_missing_repeated_empty_query(client):
    assert "missing" in error(client.post("/sparql", data={"infer": "true"}), 400)
    assert "repeated" in error(client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D"), 400)
    assert "empty" in error(client.get("/sparql?query="), 400)


def test_content_type_problems(client):
    assert "needs a Content-Type" in error(client.post("/sparql", data=b"ASK {}", content_type=""), 415)
    assert "'text/plain' is not accepted" in error(
        client.post("/sparql", data=b"ASK {}", content_type="text/plain"), 415
    )
    assert "unknown charset" in error(
        client.post("/sparql", data=b"ASK {}", content_type="application/sparql-query; charset=klingon"), 415
    )


def test_non_utf8_input_is_400(client):
    message = error(
        client.post("/sparql", data=b"ASK { \xff }", content_type="application/sparql-query"), 400
    )
    assert "not valid utf-8" in message
    assert "not valid utf-8" in error(client.get("/sparql?query=ASK%7B%FF%7D"), 400)
    form = client.post(
        "/sparql", data=b"query=ASK%7B%FF%7D", content_type="application/x-www-form-urlencoded"
    )
    assert "not valid utf-8" in error(form, 400)


def test_syntax_error_names_line_and_column(client):
    message = error(client.post("/sparql", data={"query": "SELECT *\nWHERE {\n  ?s ?p\n}"}), 400)
    assert message.startswith("SPARQL syntax error at line 4, column ")


def test_updates_are_refused_and_nothing_changes(client, kg):
    before = len(kg)
    insert = "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }"
    assert "read-only" in error(client.post("/sparql", data={"update": insert}), 403)
    assert "read-only" in error(
        client.post("/sparql", data=insert.encode(), content_type="application/sparql-update"), 403
    )
    assert "read-only" in error(client.post("/sparql", data={"query": insert}), 403)
    assert "read-only" in error(
        client.get("/sparql", query_string={"query": "PREFIX a: <urn:a>\nLOAD <file:///etc/passwd>"}), 403
    )
    for method in (client.put, client.patch, client.delete):
        error(
            method("/sparql?graph=urn:x", data="<urn:x:a> <urn:x:b> <urn:x:c> .", content_type="text/turtle"),
            405,
        )
    assert len(kg) == before
    assert not json.loads(
        ok(client.get("/sparql", query_string={"query": "ASK { <urn:x:a> ?p ?o }"})).get_data()
    )["boolean"]


def test_bad_graph_iri_is_400(client):
    assert "must be IRIs" in error(
        client.get("/sparql", query_string={"query": "ASK {}", "default-graph-uri": "a b"}), 400
    )


# ---------------------------------------------------------------- limits


def test_request_body_limit_413(client):
    big = "ASK {} " + "#" * (70 * 1024)
    assert error(client.post("/sparql", data=big.encode(), content_type="application/sparql-query"), 413)


def test_query_text_limit_413(client):
    query = "ASK {} " + "#" * (17 * 1024)
    assert "limit is 16384" in error(client.post("/sparql", data={"query": query}), 413)


def test_nesting_limit_400_before_the_engine(client):
    deep = "SELECT * WHERE " + "{" * 3000 + "}" * 3000
    assert "3000 deep" in error(
        client.post("/sparql", data=deep.encode(), content_type="application/sparql-query"), 400
    )
    parens = "SELECT * WHERE { FILTER(" + "(" * 100 + "1" + ")" * 100 + ") }"
    assert "limit is 64" in error(client.post("/sparql", data={"query": parens}), 400)
    fine = "SELECT * WHERE " + "{" * 60 + "}" * 60
    ok(client.post("/sparql", data={"query": fine}))


@pytest.mark.parametrize(
    "target",
    [
        "<http://127.0.0.1:9/sparql>",
        "<http://localhost/sparql>",
        "<http://[::1]/sparql>",
        "<http://2130706433/>",
        "<http://0x7f.1/>",
        "<http://127.1/>",
        "<http://0.0.0.0/>",
        "<file:///etc/passwd>",
        "?endpoint",
        "wd:Q1",
    ],
)
def test_service_outside_the_allowlist_is_refused(client, target):
    q = f"SELECT * WHERE {{ SERVICE {target} {{ ?s ?p ?o }} }}"
    assert "is not allowed" in error(client.get("/sparql", query_string={"query": q}), 400)
    silent = f"SELECT * WHERE {{ SERVICE SILENT {target} {{ ?s ?p ?o }} }}"
    assert "is not allowed" in error(client.get("/sparql", query_string={"query": silent}), 400)


@pytest.mark.parametrize(
    "query",
    [
        # The attack run's two bypasses: a prefixed name glued to SERVICE, a comment ended by a bare CR.
        "PREFIX : <http://127.0.0.1:9/x> SELECT ?x WHERE { SERVICE: { ?x ?y ?z } }",
        "SELECT ?x WHERE { #c\rSERVICE <http://127.0.0.1:9/x> { ?x ?y ?z } }",
    ],
)
def test_the_service_bypasses_are_refused(client, query):
    assert "is not allowed" in error(client.get("/sparql", query_string={"query": query}), 400)


def test_nesting_after_a_carriage_return_comment_is_refused_and_crashes_nothing(client, app):
    deep = "SELECT * WHERE { #x\r" + "{" * 3000 + "}" * 3000 + " }"
    client.get("/sparql", query_string={"query": "ASK {}"})  # the pool runs
    before = app.extensions["kg_processes"].pids()
    assert "3001 deep" in error(client.post("/sparql", data={"query": deep}), 400)
    assert app.extensions["kg_processes"].pids() == before


def test_service_description_for_rdf_clients(client, kg):
    response = ok(client.get("/sparql", headers={"Accept": "text/turtle"}), "text/turtle")
    g = Graph().parse(data=response.get_data(), format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert [str(o) for o in g.objects(None, URIRef(sd + "endpoint"))] == ["http://localhost/sparql"]
    names = {str(o) for o in g.objects(None, URIRef(sd + "name"))}
    assert str(GRAPH_ONTOLOGY) in names and len(names) == 3


def test_query_page_for_browsers(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = ok(client.get("/sparql", headers={"Accept": accept}), "text/html").get_data(as_text=True)
    assert "<form" in page and "PREFIX hos:" in page


def test_html_results_for_browsers(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = ok(client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": accept}), "text/html")
    assert "2017-07-07-hamburg" in page.get_data(as_text=True)


def test_void(client):
    response = ok(client.get("/.well-known/void"), "text/turtle")
    g = Graph().parse(data=response.get_data(), format="turtle")
    assert "http://localhost/sparql" in {str(o) for o in g.objects()}


def test_bad_infer_value_is_400(client):
    assert "'infer'" in error(client.get("/sparql", query_string={"query": SELECT, "infer": "maybe"}), 400)


def test_allowlisted_service_passes_the_guard_and_fails_cleanly_offline(client):
    # This machine has no network: the allowlisted endpoint is tried and reported as 502.
    q = "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } } LIMIT 1"
    response = client.get("/sparql", query_string={"query": q})
    if response.status_code == 200:  # a machine with network: a real answer
        return
    assert "could not be reached" in error(response, 502)
