"""The response cache at the WSGI edge: which repeats skip Flask, and which never do."""

from __future__ import annotations

import dataclasses

import pytest

from kg.web import close_app, create_app

QUERY = "SELECT ?m WHERE { ?m hos:ordinal 1 }"


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


# ---------------------------------------------------------------- the middleware alone, with a stand-in app


class _Body(list):
    """A WSGI body that records whether it was closed."""

    closed = False

    def close(self) -> None:
        self.closed = True


class _App:
    """A WSGI app answering with a fixed status and headers, counting its calls."""

    def __init__(self, status="200 OK", headers=None, storable=True, body=(b"ab", b"cd")) -> None:
        self.status = status
        self.headers = headers or [("Content-Type", "text/plain"), ("X-Cache", "miss")]
        self.storable = storable
        self.body = body
        self.calls = 0
        self.last: _Body | None = None

    def __call__(self, environ, start_response):
        from kg.web.response_cache import STORABLE

        self.calls += 1
        if self.storable:
            environ[STORABLE] = True
        start_response(self.status, list(self.headers))
        self.last = _Body(self.body)
        return self.last


def _environ(method="GET", **extra) -> dict:
    base = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": "/sparql",
        "QUERY_STRING": "query=x",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
    }
    return {**base, **extra}


def _call(cache, **environ):
    seen = []
    body = b"".join(
        cache(_environ(**environ), lambda status, headers, exc_info=None: seen.extend([status, headers]))
    )
    return seen[0], dict(seen[1]), body


def test_a_stored_answer_is_replayed_with_x_cache_hit():
    from kg.web.response_cache import ResponseCache

    app = _App()
    cache = ResponseCache(app, 1 << 20)
    assert _call(cache) == ("200 OK", {"Content-Type": "text/plain", "X-Cache": "miss"}, b"abcd")
    assert app.last.closed and len(cache) == 1
    assert _call(cache) == ("200 OK", {"Content-Type": "text/plain", "X-Cache": "hit"}, b"abcd")
    assert app.calls == 1


@pytest.mark.parametrize(
    ("answer", "environ"),
    [
        ({"storable": False}, {}),
        ({"status": "201 Created"}, {}),
        ({"status": "304 Not Modified"}, {}),
        ({}, {"method": "POST"}),
        ({}, {"method": "HEAD"}),
        ({}, {"HTTP_IF_NONE_MATCH": '"abc"'}),
    ],
    ids=["unmarked", "201", "304", "post", "head", "revalidation"],
)
def test_what_the_middleware_never_stores(answer, environ):
    from kg.web.response_cache import ResponseCache

    app = _App(**answer)
    cache = ResponseCache(app, 1 << 20)
    for _ in range(2):
        assert _call(cache, **environ)[2] == b"abcd"
    assert app.calls == 2 and len(cache) == 0 and cache.size == 0


@pytest.mark.parametrize(
    "header", [{"HTTP_CACHE_CONTROL": "max-age=0, no-cache"}, {"HTTP_PRAGMA": "no-cache"}]
)
def test_no_cache_reaches_the_app_and_replaces_the_stored_answer(header):
    from kg.web.response_cache import ResponseCache

    app = _App()
    cache = ResponseCache(app, 1 << 20)
    _call(cache)
    app.body = (b"new",)
    assert _call(cache, **header)[2] == b"new" and app.calls == 2
    assert _call(cache)[2] == b"new" and app.calls == 2  # the fresh answer is the stored one now


def test_the_key_is_the_url_host_scheme_accept_and_origin():
    from kg.web.response_cache import ResponseCache

    app = _App()
    cache = ResponseCache(app, 1 << 20)
    _call(cache)
    _call(cache, HTTP_USER_AGENT="other", HTTP_ACCEPT_LANGUAGE="ru")  # not part of the key
    assert app.calls == 1
    for extra in (
        {"SCRIPT_NAME": "/kg"},
        {"PATH_INFO": "/other"},
        {"QUERY_STRING": "query=y"},
        {"HTTP_HOST": "example.org"},
        {"wsgi.url_scheme": "https"},
        {"HTTP_ACCEPT": "text/csv"},
        {"HTTP_ORIGIN": "https://example.org"},
    ):
        _call(cache, **extra)
    assert app.calls == 8 and len(cache) == 8
    key = ResponseCache.key("", "/sparql", "query=x", "localhost", "http", None, None)
    assert key == ("", "/sparql", "query=x", "localhost", "http", None, None)
    assert cache.lookup(key).body == b"abcd"
    assert cache.lookup(("", "/sparql", "query=x", "localhost", "http", "text/csv", None)).body == b"abcd"
    assert cache.lookup(("nope",)) is None


def test_the_wire_headers_leave_out_what_the_server_writes_itself():
    from kg.web.response_cache import ResponseCache

    headers = [
        ("Content-Type", "text/plain"),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=2"),
        ("Date", "today"),
        ("Server", "x"),
        ("Transfer-Encoding", "chunked"),
        ("X-Cache", "miss"),
    ]
    cache = ResponseCache(_App(headers=headers), 1 << 20)
    _call(cache)
    (stored,) = [cache.lookup(key) for key in list(cache._stored)]
    assert stored.wire == b"Content-Type: text/plain\r\nX-Cache: hit\r\n"
    assert stored.headers[-1] == ("X-Cache", "hit") and len(stored.headers) == len(headers)
    assert stored.size == (
        len("200 OK") + sum(len(k) + len(v) + 4 for k, v in stored.headers) + len(b"abcd") + len(stored.wire)
    )


def test_an_answer_whose_headers_are_not_latin_1_is_not_stored():
    from kg.web.response_cache import ResponseCache

    app = _App(headers=[("Content-Disposition", "attachment; filename=\u0995.csv")])
    cache = ResponseCache(app, 1 << 20)
    assert _call(cache)[2] == b"abcd" and _call(cache)[2] == b"abcd"
    assert app.calls == 2 and len(cache) == 0


def test_the_size_counts_keys_headers_bodies_and_the_overhead():
    from kg.cache import weight
    from kg.web.response_cache import ENTRY_OVERHEAD, ResponseCache

    cache = ResponseCache(_App(), 1 << 20)
    _call(cache)
    ((key, stored),) = list(cache._stored.items())
    assert cache.size == stored.size + ENTRY_OVERHEAD + weight(key)


def test_a_key_over_the_middlewares_limit_is_not_stored():
    from kg.web.response_cache import ResponseCache

    app = _App()
    small_keys = ResponseCache(app, 1 << 20, max_key=100)
    _call(small_keys, QUERY_STRING="q" * 100)
    _call(small_keys, QUERY_STRING="q" * 100)
    assert app.calls == 2 and len(small_keys) == 0
    _call(small_keys, QUERY_STRING="q")
    assert len(small_keys) == 1


def test_an_answer_larger_than_the_whole_cache_is_passed_on_and_not_stored():
    from kg.web.response_cache import ResponseCache

    app = _App(body=(b"x" * 5000,))
    cache = ResponseCache(app, 4096)
    assert _call(cache)[2] == b"x" * 5000
    assert len(cache) == 0


def test_an_apps_exc_info_reaches_the_server():
    from kg.web.response_cache import ResponseCache

    failure = (ValueError, ValueError("x"), None)

    def app(environ, start_response):
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], failure)
        return [b"x"]

    seen = []
    cache = ResponseCache(app, 1 << 20)
    body = cache(_environ(), lambda status, headers, exc_info=None: seen.append(exc_info))
    assert list(body) == [b"x"] and seen == [failure]
