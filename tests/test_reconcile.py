"""/reconcile, the W3C Entity Reconciliation API 0.2 service: every answer against the group's
JSON schemas (tests/data/reconciliation-0.2/, read offline), exact answers on the seed and on the
records' build, each limit at N and N+1, errors that name the parameter, escaping, and one
OpenRefine-like session against the real server."""

from __future__ import annotations

import functools
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from kg.web import reconcile as service
from kg.web import reconcile_index as catalog
from kg.web import reconcile_match as match
from kg.web import reconcile_query as sent
from tests.support import altered_seed, kg_serve
from tests.test_safety import directives, parse

SCHEMAS = Path(__file__).parent / "data" / "reconciliation-0.2"
PUTIN = "person/vladimir-putin"
HTML = {"Accept": "text/html"}


# ---------------------------------------------------------------- the schemas, offline


@functools.cache
def _schemas() -> dict[str, dict]:
    """The group's schemas by $id. Their "$schema" (http://json-schema.org/schema#) names no
    draft; their keywords are draft 7's, so they are read as draft 7."""
    found = {}
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        found[schema["$id"].rstrip("#")] = schema
    return found


def _retrieve(uri: str) -> dict:
    """The local copy of a $ref'd schema (type.json; the manifest's Swagger 2.0 reference is
    openapi.json); anything else is refused: tests do not reach the network."""
    found = _schemas().get(uri.rstrip("#"))
    if found is None:
        raise ValueError(f"no network in tests: {uri} is not in {SCHEMAS}")
    return found


@functools.cache
def _validator(name: str) -> jsonschema_rs.Validator:
    schema_id = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))["$id"]
    return jsonschema_rs.Draft7Validator(_schemas()[schema_id.rstrip("#")], retriever=_retrieve)


def valid(name: str, data: Any) -> Any:
    errors = [str(e).splitlines()[0] for e in _validator(name).iter_errors(data)]
    assert errors == [], f"not a valid {name}: {errors}"
    return data


def test_the_validator_reads_references_offline_and_refuses_the_network():
    manifest = {"versions": ["0.2"], "name": "x", "identifierSpace": "i", "schemaSpace": "s"}
    valid("manifest", {**manifest, "defaultTypes": [{"id": "Person", "name": "person"}]})
    assert not _validator("manifest").is_valid({**manifest, "defaultTypes": [{"id": "Person"}]})
    with pytest.raises(ValueError, match="no network"):
        _retrieve("https://example.org/schema.json")


# ---------------------------------------------------------------- helpers


def reconcile(client, queries: dict, **extra) -> dict:
    """A batch POSTed form-encoded, as OpenRefine sends it; the answer checked by the schema."""
    valid("reconciliation-query-batch", queries)  # the test's own input is a valid batch
    response = client.post("/reconcile", data={"queries": json.dumps(queries), **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    return valid("reconciliation-result-batch", response.get_json())


def extend(client, ids: list[str], *pids: str) -> dict:
    asked = {"ids": ids, "properties": [{"id": p} for p in pids]}
    valid("data-extension-query", asked)
    response = client.post("/reconcile", data={"extend": json.dumps(asked)})
    assert response.status_code == 200, response.get_data(as_text=True)
    return valid("data-extension-response", response.get_json())


def error(response, status: int = 400) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == status
    return body["error"]


# ---------------------------------------------------------------- manifest


def test_manifest_is_valid_and_points_at_this_server(client):
    response = client.get("/reconcile")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # the spec requires CORS
    manifest = valid("manifest", response.get_json())
    assert manifest["versions"] == ["0.2"]
    assert manifest["identifierSpace"] == "https://w3id.org/hos-kg/id/"
    assert manifest["schemaSpace"] == "https://w3id.org/hos-kg/ontology#"
    assert manifest["batchSize"] == service.MAX_QUERIES
    assert {t["id"] for t in manifest["defaultTypes"]} <= set(catalog.TYPES)
    # The view template, with the id encoded as a URI component, opens the entity's page.
    view = manifest["view"]["url"].replace("{{id}}", urllib.parse.quote(PUTIN, safe=""))
    assert view == "http://localhost/id/person%2Fvladimir-putin"
    assert client.get(view, headers=HTML).status_code == 200
    for kind in ("entity", "type", "property"):
        assert manifest["suggest"][kind]["service_path"] == f"/reconcile/suggest/{kind}"
    assert manifest["extend"]["propose_properties"]["service_path"] == "/reconcile/properties"


def test_manifest_as_jsonp_with_a_strict_callback_name(client):
    callback = "jQuery3710_1700000000000$cb"  # a name as jQuery makes them: no dot
    response = client.get(f"/reconcile?callback={callback}&_=1700000000")
    assert response.status_code == 200 and response.mimetype == "application/javascript"
    body = response.get_data(as_text=True)
    assert body.startswith(f"/**/{callback}(") and body.endswith(");")
    valid("manifest", json.loads(body[len(f"/**/{callback}(") : -2]))
    assert client.get("/reconcile", query_string={"callback": "x" * 100}).status_code == 200
    for bad in ("alert(1)//", "a b", "<script>", "x" * 101, "1x", "", "a-b", "a[0]"):
        assert "'callback'" in error(client.get("/reconcile", query_string={"callback": bad}))


@pytest.mark.parametrize("callback", ["opener.document.body.firstElementChild.click", "jQuery_123.cb$", "a."])
def test_a_dotted_callback_is_refused(client, callback):
    """A dotted callback would call any method the page can reach (same-origin method execution:
    ``opener.document.body.firstElementChild.click`` clicks on the page that opened this one)."""
    assert "parameter 'callback'" in error(client.get("/reconcile", query_string={"callback": callback}))


# ---------------------------------------------------------------- reconciliation


def test_putin_is_matched_and_extended_to_his_wikidata_id(client):
    answer = reconcile(client, {"q0": {"query": "Vladimir Putin", "type": "Person", "type_strict": "should"}})
    top = answer["q0"]["result"][0]
    assert (top["id"], top["name"], top["score"], top["match"]) == (PUTIN, "Vladimir Putin", 100, True)
    assert {"id": "Person", "name": "person"} in top["type"]
    rows = extend(client, [PUTIN, "https://w3id.org/hos-kg/id/place/helsinki"], "wikidata", "country", "iri")
    assert [m["id"] for m in rows["meta"]] == ["wikidata", "country", "iri"]
    assert rows["meta"][1]["type"] == {"id": "Country", "name": "country"}
    assert rows["rows"][PUTIN] == {
        "wikidata": [{"str": "Q7747"}],
        "country": [{"id": "place/russia", "name": "Russia"}],
        "iri": [{"str": "https://w3id.org/hos-kg/id/person/vladimir-putin"}],
    }
    helsinki = rows["rows"]["https://w3id.org/hos-kg/id/place/helsinki"]  # an IRI is an id too
    assert helsinki["country"] == [{"id": "place/finland", "name": "Finland"}]


def test_a_misspelling_is_a_candidate_never_a_match(client):
    for text in ("Vladimir Poutine", "Vladmir Putin", "vladimir putin jr"):
        top = reconcile(client, {"q0": {"query": text}})["q0"]["result"][0]
        assert top["id"] == PUTIN and top["match"] is False and 60 < top["score"] < 100, (text, top)


def test_case_accents_punctuation_and_other_scripts_do_not_count(client):
    for text in ("VLADIMIR PUTIN", "Vladímir  Putin.", "Vladimir-Putin", "Владимир Путин", "ভ্লাদিমির পুতিন"):
        top = reconcile(client, {"q0": {"query": text}})["q0"]["result"][0]
        assert (top["id"], top["match"]) == (PUTIN, True), text


def test_an_identifier_as_query_finds_its_entity(client):
    for text in ("Q7747", PUTIN, "https://w3id.org/hos-kg/id/person/vladimir-putin"):
        top = reconcile(client, {"q0": {"query": text}})["q0"]["result"][0]
        assert (top["id"], top["score"], top["match"]) == (PUTIN, 100, True), text
    # Properties alone: those that identify an entity (wikidata, iri) bring it.
    only = reconcile(client, {"q0": {"properties": [{"pid": "wikidata", "v": "Q7747"}]}})
    assert [c["id"] for c in only["q0"]["result"]] == [PUTIN]


def test_the_type_filters_candidates(client):
    def ids(kind: str | list[str] | None) -> list[str]:
        query = {"query": "Helsinki", "limit": 10, **({"type": kind} if kind else {})}
        return [c["id"] for c in reconcile(client, {"q0": query})["q0"]["result"]]

    assert {"place/helsinki", "meeting/2018-07-16-helsinki"} <= set(ids(None))
    assert ids("Place")[0] == "place/helsinki" and "meeting/2018-07-16-helsinki" not in ids("Place")
    assert ids(["Meeting"]) == ["meeting/2018-07-16-helsinki"]
    assert ids("https://w3id.org/hos-kg/ontology#Meeting") == ["meeting/2018-07-16-helsinki"]
    assert ids("Country") == []


def test_a_country_that_agrees_raises_the_score_and_one_that_contradicts_lowers_it(client):
    finland = extend(client, ["place/finland"], "wikidata")["rows"]["place/finland"]["wikidata"][0]["str"]

    def top(text: str, *values) -> dict:
        props = [{"pid": "country", "v": v} for v in values]
        return reconcile(client, {"q0": {"query": text, "type": "Place", "properties": props}})["q0"][
            "result"
        ][0]

    # Misspelt: the score moves both ways.
    assert top("Helsinky", "Russia")["score"] < top("Helsinky")["score"] < top("Helsinky", "Finland")["score"]
    # Spelt right: a contradiction costs the match; a country by name, Q-id, id or entity agrees.
    assert top("Helsinki", "Russia")["match"] is False and top("Helsinki", "Russia")["score"] < 100
    for agreeing in ("Finland", "finland", finland, "place/finland", {"id": "place/finland", "name": "F"}):
        best = top("Helsinki", agreeing)
        assert (best["id"], best["score"], best["match"]) == ("place/helsinki", 100, True), agreeing
        assert {"id": "country", "value": True} in best["features"]
    # A country the graph does not know says nothing.
    assert top("Helsinki", "Atlantis")["score"] < 100 and top("Helsinki", "Atlantis")["match"] is True


def test_queries_also_work_by_get_and_are_cached(client):
    url = "/reconcile?" + urllib.parse.urlencode({"queries": json.dumps({"a": {"query": "Donald Trump"}})})
    first = client.get(url)
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    assert (
        valid("reconciliation-result-batch", first.get_json())["a"]["result"][0]["id"]
        == "person/donald-trump"
    )
    assert client.get(url).headers["X-Cache"] == "hit"  # served by the response cache
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


def test_an_empty_batch_has_an_empty_answer(client):
    assert reconcile(client, {}) == {}


def test_a_batch_over_its_cpu_budget_is_a_503_with_retry_after(client, monkeypatch):
    monkeypatch.setattr(service, "BATCH_CPU", 0.0)
    response = client.post("/reconcile", data={"queries": json.dumps({"q": {"query": "Vladimir Putin"}})})
    assert "CPU" in error(response, 503)
    assert int(response.headers["Retry-After"]) >= 1


# ---------------------------------------------------------------- limits: N passes, N + 1 is refused


def test_queries_per_batch(client):
    batch = {f"q{i}": {"query": "Putin"} for i in range(service.MAX_QUERIES)}
    assert len(reconcile(client, batch)) == service.MAX_QUERIES
    batch["one-more"] = {"query": "Trump"}
    message = error(client.post("/reconcile", data={"queries": json.dumps(batch)}))
    assert "'queries'" in message and f"limit is {service.MAX_QUERIES}" in message


def test_candidates_per_query(client):
    answer = reconcile(client, {"q": {"query": "Vladimir", "limit": sent.MAX_LIMIT}})
    assert 1 <= len(answer["q"]["result"]) <= sent.MAX_LIMIT
    assert len(reconcile(client, {"q": {"query": "Vladimir"}})["q"]["result"]) <= match.DEFAULT_LIMIT
    for bad in (sent.MAX_LIMIT + 1, 0, -1, 2.5, True, "3"):
        batch = json.dumps({"q": {"query": "Vladimir", "limit": bad}})
        message = error(client.post("/reconcile", data={"queries": batch}))
        assert "'q'.limit" in message and f"1 to {sent.MAX_LIMIT}" in message, bad


def test_query_text_properties_and_values(client):
    assert reconcile(client, {"q": {"query": "x" * sent.MAX_TEXT}})
    prop = {"pid": "country", "v": ["Russia"] * sent.MAX_VALUES}
    assert reconcile(client, {"q": {"query": "Putin", "properties": [prop] * sent.MAX_PROPERTIES}})
    too_long = {"q": {"query": "x" * (sent.MAX_TEXT + 1)}}
    too_many = {"q": {"query": "Putin", "properties": [prop] * (sent.MAX_PROPERTIES + 1)}}
    too_many_values = {"q": {"query": "Putin", "properties": [{"pid": "country", "v": ["R"] * 11}]}}
    for batch, said in (
        (too_long, f"limit is {sent.MAX_TEXT}"),
        (too_many, f"at most {sent.MAX_PROPERTIES}"),
        (too_many_values, f"limit is {sent.MAX_VALUES}"),
    ):
        assert said in error(client.post("/reconcile", data={"queries": json.dumps(batch)}))


def test_ids_per_extension(client):
    ids = [f"person/nobody-{i}" for i in range(service.MAX_IDS)]
    assert len(extend(client, ids, "wikidata")["rows"]) == service.MAX_IDS
    asked = json.dumps({"ids": [*ids, PUTIN], "properties": [{"id": "wikidata"}]})
    message = error(client.post("/reconcile", data={"extend": asked}))
    assert "'extend'" in message and f"limit is {service.MAX_IDS}" in message


def test_types_per_suggest_request(client):
    """Repeated type= values: as many as there are types pass (duplicates are one), one more is a
    400 naming the parameter."""

    def suggest(types: list[str]):
        return client.get("/reconcile/suggest/entity", query_string={"prefix": "hel", "type": types})

    every = list(catalog.TYPES)
    assert [p["id"] for p in suggest(every).get_json()["result"]][:1] == ["place/helsinki"]
    assert suggest(["Place"] * len(catalog.TYPES)).get_json() == suggest(["Place"]).get_json()
    for types in ([*every, "Place"], ["Place"] * (len(catalog.TYPES) + 1)):
        message = error(suggest(types))
        assert "parameter 'type'" in message and f"limit is {len(catalog.TYPES)}" in message


def test_prefix_length_and_cursor(client):
    ok = client.get("/reconcile/suggest/entity", query_string={"prefix": "V" * service.MAX_PREFIX})
    assert ok.status_code == 200
    long = client.get("/reconcile/suggest/entity", query_string={"prefix": "V" * (service.MAX_PREFIX + 1)})
    assert "'prefix'" in error(long) and f"limit is {service.MAX_PREFIX}" in error(long)
    assert client.get(f"/reconcile/suggest/entity?prefix=V&cursor={service.MAX_CURSOR}").status_code == 200
    too_far = client.get(f"/reconcile/suggest/entity?prefix=V&cursor={service.MAX_CURSOR + 1}")
    assert "'cursor'" in error(too_far)


# ---------------------------------------------------------------- errors name the parameter


@pytest.mark.parametrize(
    ("request_", "said"),
    [
        ({"queries": "{bad"}, "parameter 'queries' is not valid JSON: Expecting property name"),
        ({"queries": '{"q": {"query": "x"}'}, "line 1, column 21 (character 20)"),
        ({"extend": "[1,"}, "parameter 'extend' is not valid JSON"),
        ({"queries": "[" * 5000 + "]" * 5000}, "parameter 'queries' is nested too deeply"),
        ({"queries": "[" * 33 + "]" * 33}, "nested too deeply: more than 32 levels"),
        ({"queries": "[" * 32 + "]" * 32}, "parameter 'queries' must be a JSON object"),  # 32: read
        ({"queries": '{"q": {"query": "' + "[{" * 150 + '"}}'}, "'q'.query is 300 characters"),  # a string
        (
            {"queries": '{"q": {"query": "x", "limit": 1' + "0" * 5000 + "}}"},
            "parameter 'queries' cannot be read",
        ),
        ({"queries": '{"q": {"query": "x", "type": [["Person"]]}}'}, "unknown type \"['Person']\""),
        (
            {"queries": '{"q": {"query": "x", "properties": [{"pid": {}, "v": "x"}]}}'},
            "unknown property '{}'",
        ),
        ({"queries": "[]"}, "parameter 'queries' must be a JSON object"),
        ({"queries": '{"q": "Putin"}'}, "queries: 'q' must be an object"),
        ({"queries": '{"q": {"query": 7}}'}, "'q'.query must be a string"),
        ({"queries": '{"q": {"query": " "}}'}, "needs a non-empty 'query'"),
        ({"queries": '{"q": {"query": "x", "lang": "en"}}'}, "unknown field(s) lang"),
        ({"queries": '{"q": {"query": "x", "type": "Cat"}}'}, "unknown type 'Cat'; the types are Person"),
        (
            {"queries": '{"q": {"query": "x", "type_strict": "maybe"}}'},
            "type_strict must be any, should or all",
        ),
        (
            {"queries": '{"q": {"query": "x", "properties": [{"pid": "P27", "v": "x"}]}}'},
            "unknown property 'P27'",
        ),
        ({"queries": '{"q": {"query": "x", "properties": [{"pid": "country"}]}}'}, '"pid": "country", "v"'),
        ({"extend": '{"ids": ["x"], "properties": [{"id": "age"}]}'}, "unknown property 'age'"),
        ({"extend": '{"ids": "x", "properties": []}'}, "parameter 'extend' must be a JSON object"),
        ({"extend": '{"ids": [1], "properties": []}'}, "each of its ids must be a string"),
        ({"queries": "{}", "extend": "{}"}, "either parameter 'queries' or parameter 'extend'"),
        ({"callback": "cb"}, "parameter 'queries' is missing"),
    ],
)
def test_bad_requests_are_400_json_naming_the_problem(client, request_, said):
    assert said in error(client.post("/reconcile", data=request_))


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("/reconcile?queries={}&queries={}", "parameter 'queries' is given 2 times"),
        ("/reconcile/suggest/entity", "parameter 'prefix' is missing"),
        ("/reconcile/suggest/type", "parameter 'prefix' is missing"),
        ("/reconcile/suggest/property", "parameter 'prefix' is missing"),
        ("/reconcile/suggest/entity?prefix=x&type=Cat", "parameter 'type': unknown type 'Cat'"),
        (
            "/reconcile/suggest/entity?prefix=x&limit=26",
            "parameter 'limit' must be a whole number from 1 to 25",
        ),
        ("/reconcile/suggest/entity?prefix=x&cursor=-1", "parameter 'cursor' must be a whole number"),
        ("/reconcile/properties", "parameter 'type' is missing"),
        ("/reconcile/properties?type=Cat", "unknown type 'Cat'"),
        ("/reconcile/preview", "parameter 'id' is missing"),
        ("/reconcile/preview?id=" + "x" * 301, "parameter 'id' is 301 characters long; the limit is 300"),
    ],
)
def test_bad_gets_are_400_json_naming_the_parameter(client, url, said):
    assert said in error(client.get(url))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FIELD = st.sampled_from([*sent.QUERY_FIELDS, "pid", "v", "id"])
QUERY = st.dictionaries(FIELD, JSON | st.sampled_from(["Putin", "Person", "country", ["Q7747"]]), max_size=5)


@given(
    queries=st.dictionaries(st.text(max_size=5), QUERY | JSON, max_size=3),
    extend=st.fixed_dictionaries({"ids": JSON, "properties": st.lists(QUERY | JSON, max_size=3)}) | JSON,
)
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_json_gets_an_answer_or_a_400_never_a_500(app, queries, extend):
    client = app.test_client()
    for name, value in (("queries", queries), ("extend", extend)):
        response = client.post("/reconcile", data={name: json.dumps(value)})
        assert response.status_code in (200, 400), (name, value, response.get_data(as_text=True))
        if response.status_code == 200 and name == "queries":
            valid("reconciliation-result-batch", response.get_json())
        if response.status_code == 200 and name == "extend":
            valid("data-extension-response", response.get_json())


def test_a_post_that_is_not_a_form_is_refused(client):
    response = client.post("/reconcile", json={"q0": {"query": "Putin"}})
    assert "application/x-www-form-urlencoded" in error(response, 415)


# ---------------------------------------------------------------- suggest, properties, preview


def test_suggest_entities(client):
    result = valid(
        "suggest-entities-response", client.get("/reconcile/suggest/entity?prefix=Vlad").get_json()
    )
    first = result["result"][0]
    assert (first["id"], first["name"]) == (PUTIN, "Vladimir Putin")
    assert {"id": "Person", "name": "person"} in first["notable"] and first["description"]
    assert client.get("/reconcile/suggest/entity?prefix=Q7747").get_json()["result"][0]["id"] == PUTIN
    places = client.get("/reconcile/suggest/entity?prefix=hel&type=Place").get_json()["result"]
    assert [p["id"] for p in places] == ["place/helsinki"]
    # Paging: the cursor skips what the first page showed.
    page = client.get("/reconcile/suggest/entity?prefix=p&limit=2").get_json()["result"]
    rest = client.get("/reconcile/suggest/entity?prefix=p&limit=2&cursor=2").get_json()["result"]
    assert len(page) == 2 and not {p["id"] for p in page} & {p["id"] for p in rest}


def test_suggest_with_markup_in_the_prefix_answers_json(client):
    response = client.get("/reconcile/suggest/entity", query_string={"prefix": "<script>alert(1)</script>"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert valid("suggest-entities-response", response.get_json()) == {"result": []}
    assert "<script" not in response.get_data(as_text=True)


def test_suggest_types_and_properties(client):
    types = valid("suggest-types-response", client.get("/reconcile/suggest/type?prefix=pla").get_json())
    assert types["result"] == [{"id": "Place", "name": "place (city, region)"}]
    everything = client.get("/reconcile/suggest/type?prefix=").get_json()["result"]
    assert [t["id"] for t in everything] == list(catalog.TYPES)
    props = valid(
        "suggest-properties-response", client.get("/reconcile/suggest/property?prefix=wiki").get_json()
    )
    assert [p["id"] for p in props["result"]] == ["wikidata"]


def test_propose_properties(client):
    person = valid(
        "data-extension-property-proposal", client.get("/reconcile/properties?type=Person").get_json()
    )
    assert person["type"] == "Person" and [p["id"] for p in person["properties"]] == list(catalog.PROPERTIES)
    country = client.get("/reconcile/properties?type=Country&limit=1").get_json()
    assert valid("data-extension-property-proposal", country) == {
        "type": "Country",
        "properties": [{"id": "wikidata", "name": "Wikidata ID"}],
        "limit": 1,
    }


def test_preview_is_a_small_page_another_site_may_frame(client):
    url = "/reconcile/preview?id=" + PUTIN  # OpenRefine encodes the id with encodeURI: / stays
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Vladimir Putin" in html and 'href="https://www.wikidata.org/wiki/Q7747"' in html
    assert 'href="http://localhost/id/person/vladimir-putin"' in html
    page = parse(html)
    assert (page.inline_scripts, page.handlers, page.styles) == ([], [], [])
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["*"] and csp["script-src"] == ["'self'"]
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(url).headers["X-Cache"] == "hit"
    # A revalidation's 304 updates the stored card's headers: it keeps the card frameable.
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and "X-Frame-Options" not in again.headers
    assert directives(again.headers["Content-Security-Policy"])["frame-ancestors"] == ["*"]
    # Every other answer still refuses to be framed.
    assert client.get("/reconcile").headers["X-Frame-Options"] == "DENY"


def test_preview_of_an_unknown_id_is_404_and_escaped(client):
    evil = "<script>alert(1)</script>"
    assert "no entity" in error(client.get("/reconcile/preview", query_string={"id": evil}), 404)
    page = client.get("/reconcile/preview", query_string={"id": evil}, headers=HTML)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert evil not in page.get_data(as_text=True) and "&lt;script&gt;" in page.get_data(as_text=True)


@pytest.mark.parametrize("accept", [HTML, {"Accept": "application/json"}])
def test_a_preview_error_page_may_not_be_framed(client, accept):
    """Only a preview's card (200, text/html) may be framed by another site: its error pages, as
    every other page, keep frame-ancestors 'none' and X-Frame-Options."""
    for url in (
        "/reconcile/preview?id=person/nobody",
        "/reconcile/preview",
        "/reconcile/preview?id=" + "x" * 301,
    ):
        response = client.get(url, headers=accept)
        assert response.status_code in (400, 404), url
        assert directives(response.headers["Content-Security-Policy"])["frame-ancestors"] == ["'none'"], url
        assert response.headers["X-Frame-Options"] == "DENY", url


# ---------------------------------------------------------------- a label with markup

MARKUP = 'Ham<i>burg</i> & "place"'


@pytest.fixture(scope="module")
def markup_client(tmp_path_factory):
    """The seed, with Hamburg's English label holding markup (as tests/test_escaping.py does)."""
    replace = {"data/entities.ttl": ('"Hamburg"@en', '"Ham<i>burg</i> & \\"place\\""@en')}
    with altered_seed(tmp_path_factory.mktemp("reconcile-markup"), replace) as test_client:
        yield test_client


def test_a_label_with_markup_is_text_everywhere(markup_client):
    top = reconcile(markup_client, {"q": {"query": MARKUP}})["q"]["result"][0]
    assert (top["id"], top["name"], top["match"]) == ("place/hamburg", MARKUP, True)  # JSON: as it is
    suggested = markup_client.get("/reconcile/suggest/entity?prefix=ham").get_json()["result"]
    assert suggested[0]["name"] == MARKUP
    html = markup_client.get("/reconcile/preview?id=place/hamburg").get_data(as_text=True)
    assert "<i>" not in html and "Ham&lt;i&gt;burg&lt;/i&gt; &amp; &#34;place&#34;" in html


# ---------------------------------------------------------------- the records: thousands of leaders


def test_two_people_with_one_name_are_never_a_match(records_client):
    """Every label two persons share (found by SPARQL, not by the index under test)."""
    query = """PREFIX hos: <https://w3id.org/hos-kg/ontology#>
    SELECT DISTINCT ?label WHERE {
      ?a a hos:Person ; rdfs:label ?label . ?b a hos:Person ; rdfs:label ?label .
      FILTER(?a != ?b && STRSTARTS(STR(?a), "https://w3id.org/hos-kg/id/")
             && STRSTARTS(STR(?b), "https://w3id.org/hos-kg/id/"))
    }"""
    response = records_client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": "application/json"}
    )
    shared = sorted({b["label"]["value"] for b in response.get_json()["results"]["bindings"]})
    assert "Vaclav Havel" in shared
    names = [*shared, "George Bush"][: service.MAX_QUERIES]  # two presidents with one name key
    answer = reconcile(records_client, {f"q{i}": {"query": n, "type": "Person"} for i, n in enumerate(names)})
    for i, name in enumerate(names):
        result = answer[f"q{i}"]["result"]
        assert [c["score"] for c in result[:2]] == [100, 100], name
        assert not any(c["match"] for c in result), name


def test_a_country_orders_namesakes_but_does_not_match_them(records_client):
    def ids(country: str) -> list[tuple[str, float, bool]]:
        query = {"query": "Vaclav Havel", "properties": [{"pid": "country", "v": country}]}
        return [
            (c["id"], c["score"], c["match"]) for c in reconcile(records_client, {"q": query})["q"]["result"]
        ]

    czech, czechoslovak = "person/hsg-czech-republic-vaclav-havel", "person/hsg-czechoslovakia-vaclav-havel"
    assert ids("Czech Republic")[:2] == [(czech, 100, False), (czechoslovak, 80, False)]
    assert ids("Czechoslovakia")[:2] == [(czechoslovak, 100, False), (czech, 80, False)]


def test_records_spelling_variants_and_descriptions(records_client):
    answer = reconcile(records_client, {"a": {"query": "Angela Merkle"}, "b": {"query": "Jacques Chirac"}})
    merkel, chirac = answer["a"]["result"][0], answer["b"]["result"][0]
    assert merkel["id"] == "person/hsg-germany-angela-merkel" and merkel["match"] is False
    assert chirac["id"] == "person/hsg-france-jacques-chirac" and chirac["match"] is True
    assert chirac["description"].startswith("France")


def test_a_worst_case_batch_costs_bounded_cpu(records_app):
    """A guard against quadratic blow-up, not a benchmark: a full batch of the costliest queries a
    client may send (50 texts of 200 characters made of words each in 10 to 60 names, so each word
    brings candidates; 10 properties × 10 values each, as many as fit the 64 KiB body) is answered
    (or refused by the CPU budget: 503 with Retry-After) for a bounded CPU cost: 30 s before the
    candidates were capped (0.6 s a query), about 1 s after (bench/README.md, "The worst batch")."""
    client = records_app.test_client()
    reconcile(client, {"warm": {"query": "Vladimir Putin"}})  # the index is built first
    with records_app.test_request_context():
        found = service.index()
    words = sorted(
        (w for w, ids in found.by_word.items() if len(w) > 2 and 10 <= len(ids) <= match.COMMON_WORD),
        key=lambda w: (-len(found.by_word[w]), w),
    )
    assert len(words) > 40

    def text(start: int) -> str:
        out: list[str] = []
        for word in words[start:] + words[:start]:
            if len(" ".join([*out, word])) > sent.MAX_TEXT:
                break
            out.append(word)
        return " ".join(out)

    pids = list(catalog.PROPERTIES)
    batch = {
        f"q{i}": {
            "query": text(i),
            "properties": [
                {
                    "pid": pids[(i + j) % len(pids)],
                    "v": [words[(i + j) % len(words)], *range(1, sent.MAX_VALUES)],
                }
                for j in range(sent.MAX_PROPERTIES)
            ],
        }
        for i in range(service.MAX_QUERIES)
    }
    assert all(len(q["query"]) > sent.MAX_TEXT - 10 for q in batch.values())
    valid("reconciliation-query-batch", batch)
    body = urllib.parse.urlencode({"queries": json.dumps(batch, separators=(",", ":"))})
    assert len(body) <= records_app.config["MAX_CONTENT_LENGTH"]
    started = time.process_time()
    response = client.post("/reconcile", data=body, content_type=service.FORM)
    cpu = time.process_time() - started
    if response.status_code == 503:
        assert "CPU" in error(response, 503) and int(response.headers["Retry-After"]) >= 1
    else:
        answer = valid("reconciliation-result-batch", response.get_json())
        assert len(answer) == service.MAX_QUERIES
    assert cpu < 10, f"{cpu:.1f} s of CPU for one batch"


# ---------------------------------------------------------------- the real server, as OpenRefine uses it


@pytest.mark.live
def test_an_openrefine_session_against_kg_serve(settings, built):
    import requests

    leaders = ["Vladimir Putin", "Donald Trump", "Vladimir Poutine", "D. Trump", "Emmanuel Macron"]
    places = ["Helsinki", "Hamburg", "Da Nang", "Paris", "Osaka"]
    # One HTTP worker: each worker has its own response cache, and the repeat must reach the same.
    with kg_serve("--workers", "1", env={"KG_BUILD_DIR": str(settings.build_dir)}) as sparql:
        base = sparql.removesuffix("/sparql")
        origin = {"Origin": "http://127.0.0.1:3333"}  # OpenRefine's page
        manifest = requests.get(f"{base}/reconcile", headers=origin, timeout=30)
        assert manifest.headers["Access-Control-Allow-Origin"] == "*"
        valid("manifest", manifest.json())
        # Ten queries in one form-encoded POST, as OpenRefine's StandardReconConfig sends them.
        batch = {
            f"q{i}": {"query": n, "type": "Person", "type_strict": "should"} for i, n in enumerate(leaders)
        }
        batch |= {f"q{i + 5}": {"query": n, "type": "Place", "limit": 3} for i, n in enumerate(places)}
        answer = requests.post(f"{base}/reconcile", data={"queries": json.dumps(batch)}, timeout=30)
        assert answer.headers["Content-Type"].startswith("application/json")
        result = valid("reconciliation-result-batch", answer.json())
        assert len(result) == 10
        assert result["q0"]["result"][0]["match"] and result["q0"]["result"][0]["id"] == PUTIN
        assert result["q5"]["result"][0]["id"] == "place/helsinki"
        suggest = requests.get(f"{base}/reconcile/suggest/entity", params={"prefix": "Trum"}, timeout=30)
        assert valid("suggest-entities-response", suggest.json())["result"][0]["id"] == "person/donald-trump"
        preview_url = manifest.json()["preview"]["url"].replace("{{id}}", PUTIN)
        preview = requests.get(preview_url, timeout=30)
        assert preview.status_code == 200 and "Vladimir Putin" in preview.text
        view = manifest.json()["view"]["url"].replace("{{id}}", urllib.parse.quote(PUTIN, safe=""))
        assert requests.get(view, headers={"Accept": "text/html"}, timeout=30).status_code == 200
        rows = requests.post(
            f"{base}/reconcile",
            data={"extend": json.dumps({"ids": [PUTIN], "properties": [{"id": "wikidata"}]})},
            timeout=30,
        )
        assert valid("data-extension-response", rows.json())["rows"][PUTIN]["wikidata"] == [{"str": "Q7747"}]
        # A repeated GET is served from the response cache; a client holding it gets a 304.
        url = f"{base}/reconcile/suggest/entity?prefix=Hel"
        first, second = requests.get(url, timeout=30), requests.get(url, timeout=30)
        assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
        assert first.content == second.content
        again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=30)
        assert again.status_code == 304
