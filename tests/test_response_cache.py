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


# ---------------------------------------------------------------- what the cache counts


@pytest.fixture()
def small(settings, kg):
    """An app whose caches hold 64 KiB, counted in keys, headers and bodies."""
    app = create_app(dataclasses.replace(settings, query_workers=0, cache_bytes=64 * 1024), kg=kg)
    yield app
    close_app(app)


def _held(cache) -> int:
    """The bytes the response cache's keys take: the URL parts and the headers they vary on."""
    return sum(len(part) for key in list(cache._stored) for part in key if part)


def test_a_key_over_the_limit_is_not_stored(counted):
    client, seen = counted
    origin = "https://" + "o" * 5000 + ".example.org"  # a 5 KB Origin: the key is over 4 KiB
    for _ in range(2):
        answer = client.get("/sparql", query_string={"query": QUERY}, headers={"Origin": origin})
        assert answer.status_code == 200
    assert len(seen) == 2  # both went through the app: nothing was stored under that key


def test_a_long_url_is_not_stored_either(counted):
    client, seen = counted
    for _ in range(2):
        client.get("/sparql", query_string={"query": QUERY + " #" + "p" * 5000})
    assert len(seen) == 2


def test_many_large_keyed_entries_stay_within_the_bound(small):
    """Keys of 3.5 KB (under the limit) and bodies of 200 bytes: the keys count too."""
    client = small.test_client()
    for n in range(120):
        origin = f"https://{n}-" + "o" * 3500 + ".example.org"
        assert (
            client.get("/sparql", query_string={"query": QUERY}, headers={"Origin": origin}).status_code
            == 200
        )
    cache = small.wsgi_app
    assert _held(cache) <= 64 * 1024  # before: 93 entries, 330 KB of keys for a 64 KiB cache
    assert len(cache) > 0 and _held(cache) <= cache.size <= 64 * 1024


def test_the_result_cache_counts_keys_and_refuses_long_ones():
    from kg.cache import KeyedLRUCache

    cache = KeyedLRUCache(4096, getsizeof=len, max_key=1024)
    with pytest.raises(ValueError):
        cache["k" * 2000] = b"v"
    assert len(cache) == 0
    for n in range(100):
        cache[(f"{n}", "k" * 900)] = b"v" * 10
    assert cache.currsize <= 4096 and len(cache) == 4  # 4 x (900 + key parts + 10 bytes)
    assert all(cache[k] == b"v" * 10 for k in cache)


def test_the_result_cache_keeps_any_query_within_the_size_limit_and_counts_it(counted):
    """POSTs skip the response cache: X-Cache tells whether the result cache answered. The key
    holds the query, so its length counts against the cache, but a long query is still kept."""
    client, _ = counted
    long = {"query": QUERY + " # " + "p" * 12000}
    answers = [client.post("/sparql", data=long).headers["X-Cache"] for _ in range(2)]
    assert answers == ["miss", "hit"]
    assert client.application.extensions["kg_engine"].cache_size > 12000
