"""The response cache at the WSGI edge: which repeats skip Flask, and which never do."""

from __future__ import annotations

import dataclasses

import pytest

from kg.web import close_app, create_app

QUERY = "SELECT ?m WHERE { ?m hos:ordinal 1 }"


@pytest.fixture()
def counted(settings, kg):
    """A fresh app (empty caches) that counts the requests reaching its views."""
    app = create_app(dataclasses.replace(settings, query_workers=0), kg=kg)
    seen: list[str] = []
    app.before_request(lambda: seen.append("view"))
    yield app.test_client(), seen
    close_app(app)


def test_a_repeated_get_is_answered_without_entering_flask(counted):
    client, seen = counted
    first = client.get("/sparql", query_string={"query": QUERY})
    second = client.get("/sparql", query_string={"query": QUERY})
    assert len(seen) == 1
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert second.get_data() == first.get_data() and second.status_code == 200
    same = {k: v for k, v in first.headers if k != "X-Cache"}
    assert {k: v for k, v in second.headers if k != "X-Cache"} == same
    assert second.headers["Access-Control-Allow-Origin"] == "*" and second.headers["ETag"]


def test_canned_query_runs_are_stored_too(counted):
    client, seen = counted
    for _ in range(3):
        assert client.get("/api/queries/timeline.csv").status_code == 200
    assert len(seen) == 1


@pytest.mark.parametrize(
    "headers",
    [{"Accept": "text/csv"}, {"Origin": "https://example.org"}, {"Host": "kg.example.org"}],
    ids=["accept", "origin", "host"],
)
def test_a_header_the_answer_varies_on_makes_another_entry(counted, headers):
    client, seen = counted
    plain = client.get("/sparql", query_string={"query": QUERY})
    other = client.get("/sparql", query_string={"query": QUERY}, headers=headers)
    assert len(seen) == 2 and other.status_code == 200
    if "Accept" in headers:
        assert other.mimetype == "text/csv" and plain.mimetype != "text/csv"


@pytest.mark.parametrize(
    "headers",
    [{"Cache-Control": "no-cache"}, {"Pragma": "no-cache"}],
    ids=["cache-control", "pragma"],
)
def test_no_cache_goes_through_the_app_and_evaluates_again(counted, headers):
    client, seen = counted
    client.get("/sparql", query_string={"query": QUERY})
    fresh = client.get("/sparql", query_string={"query": QUERY}, headers=headers)
    assert len(seen) == 2 and fresh.headers["X-Cache"] == "miss"


def test_revalidation_goes_through_the_app_and_gets_304(counted):
    client, seen = counted
    first = client.get("/sparql", query_string={"query": QUERY})
    again = client.get(
        "/sparql", query_string={"query": QUERY}, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and len(seen) == 2


@pytest.mark.parametrize(
    "request_args",
    [
        {"method": "GET", "query_string": {"query": QUERY, "format": "html"}},  # rendered per request
        {"method": "GET", "query_string": {"query": "SELECT WHERE {"}},  # an error
        {"method": "POST", "data": {"query": QUERY}},
        {"method": "HEAD", "query_string": {"query": QUERY}},
        {"method": "GET", "path": "/"},  # a page: its language comes from cookies and Accept-Language
    ],
    ids=["html-results", "error", "post", "head", "page"],
)
def test_what_is_never_stored(counted, request_args):
    client, seen = counted
    args = dict(request_args)
    path = args.pop("path", "/sparql")
    for _ in range(2):
        client.open(path, **args)
    assert len(seen) == 2


def test_a_no_cache_answer_replaces_the_stored_one(counted):
    """STRUUID() differs at each evaluation, so the body tells which evaluation answered."""
    client, seen = counted
    uuid = {"query": "SELECT (STRUUID() AS ?u) WHERE {}"}
    first = client.get("/sparql", query_string=uuid).get_data()
    assert client.get("/sparql", query_string=uuid).get_data() == first
    fresh = client.get("/sparql", query_string=uuid, headers={"Cache-Control": "no-cache"}).get_data()
    assert fresh != first
    again = client.get("/sparql", query_string=uuid)
    assert again.get_data() == fresh and again.headers["X-Cache"] == "hit" and len(seen) == 2
