"""The minimal SPARQL endpoint, in-process through the app factory's test client."""

from __future__ import annotations

import json

QUERY = "SELECT ?m WHERE { ?m a hos:Meeting } ORDER BY ?m"
WDT_QUERY = "ASK { ?m wdt:P710 wd:Q7747 }"


def _bindings(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/sparql-results+json"
    return json.loads(response.get_data(as_text=True))


def test_get_query_returns_sparql_json(client):
    data = _bindings(client.get("/sparql", query_string={"query": QUERY}))
    assert data["head"]["vars"] == ["m"]
    assert len(data["results"]["bindings"]) == 7
    assert data["results"]["bindings"][0]["m"] == {
        "type": "uri",
        "value": "https://w3id.org/hos-kg/id/meeting/2017-07-07-hamburg",
    }


def test_form_post_query(client):
    data = _bindings(client.post("/sparql", data={"query": QUERY}))
    assert len(data["results"]["bindings"]) == 7


def test_infer_false_leaves_out_the_inferred_graph(client):
    assert _bindings(client.get("/sparql", query_string={"query": WDT_QUERY}))["boolean"] is True
    assert (
        _bindings(client.get("/sparql", query_string={"query": WDT_QUERY, "infer": "false"}))["boolean"]
        is False
    )


def test_bengali_literals_round_trip(client):
    q = 'SELECT ?l WHERE { person:vladimir-putin rdfs:label ?l FILTER(LANG(?l) = "bn") }'
    data = _bindings(client.get("/sparql", query_string={"query": q}))
    assert data["results"]["bindings"][0]["l"] == {
        "type": "literal",
        "value": "ভ্লাদিমির পুতিন",
        "xml:lang": "bn",
    }


def test_construct_returns_turtle(client):
    response = client.get(
        "/sparql", query_string={"query": "CONSTRUCT WHERE { person:donald-trump rdfs:label ?l }"}
    )
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    assert "ডোনাল্ড ট্রাম্প" in response.get_data(as_text=True)


def _error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = json.loads(response.get_data(as_text=True))
    assert (
        "Traceback" not in body["error"]
        and "/work/" not in body["error"]
        and "site-packages" not in body["error"]
    )
    return body["error"]


def test_missing_empty_and_repeated_query_are_400(client):
    assert "missing" in _error(client.get("/sparql"), 400)
    assert "empty" in _error(client.get("/sparql", query_string={"query": "  "}), 400)
    assert "repeated" in _error(client.get("/sparql?query=ASK{}&query=ASK{}"), 400)


def test_syntax_error_is_400_with_position(client):
    message = _error(client.get("/sparql", query_string={"query": "SELECT ?x WHERE { ?x ?y }"}), 400)
    assert message.startswith("SPARQL syntax error at line 1, column 26: expected")
    multiline = "SELECT ?x\nWHERE {\n  ?x a hos:Meeting .\n  FILTER(?x = ) }"
    assert "at line 4, column 18:" in _error(client.post("/sparql", data={"query": multiline}), 400)


def test_bad_infer_value_is_400(client):
    assert "'infer'" in _error(client.get("/sparql", query_string={"query": QUERY, "infer": "maybe"}), 400)


def test_wrong_method_is_405_with_allow(client):
    response = client.put("/sparql", data="x")
    _error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
