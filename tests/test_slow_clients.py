"""Slow and abusive clients against the real server (`kg serve`): the site stays up.

Each attack holds 200 connections on 127.0.0.1 for a few seconds (idle, one
header line a second, a POST body one byte a second, reconnecting whenever
the server drops one), and meanwhile a stylesheet and a cached answer must
come back promptly. The attacks are bounded in connections and time and stop
by themselves.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from tests.support import kg_serve

pytestmark = pytest.mark.live

CONNECTIONS = 200
PROMPT = 3.0  # seconds within which the probes must be answered while an attack runs
ATTACK_SECONDS = 30  # an attack stops by itself after this, whatever happens to the test
CACHED = "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
URL_LIMIT = 64 * 1024  # the documented URL limit (Settings.max_body)


@pytest.fixture(scope="module")
def server(settings, built) -> Iterator[int]:
    with kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir)}) as url:
        port = urllib.parse.urlparse(url).port
        assert port is not None
        for _ in range(20):  # each HTTP worker has its own cache: both should hold the answer
            _get(port, CACHED)
        yield port


def _get(port: int, path: str, timeout: float = 10) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.status, dict(response.headers), response.read()


def _assert_site_answers(port: int) -> None:
    caches = []
    for path in ("/static/site.css", CACHED) * 2:
        started = time.monotonic()
        try:
            status, headers, _ = _get(port, path, timeout=PROMPT)
        except OSError as exc:
            pytest.fail(f"{path} was not answered within {PROMPT} s during the attack: {exc}")
        assert status == 200, path
        assert time.monotonic() - started < PROMPT, path
        if path == CACHED:
            caches.append(headers["X-Cache"])
    assert "hit" in caches


@contextlib.contextmanager
def _attack(port: int, opening: bytes, trickle: Callable[[int], bytes]) -> Iterator[dict]:
    """Hold CONNECTIONS connections that send ``opening``, then ``trickle(n)`` once a second;
    one the server closes is opened again. Yields counters; stops when the block ends."""
    stop = threading.Event()
    counts = {"opened": 0, "dropped": 0}
    socks: list[socket.socket | None] = [None] * CONNECTIONS

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if opening:
            sock.sendall(opening)
        counts["opened"] += 1
        return sock

    def run() -> None:
        deadline = time.monotonic() + ATTACK_SECONDS
        tick = 0
        try:
            for i in range(CONNECTIONS):
                if stop.is_set():
                    return
                socks[i] = connect()
            ready.set()
            while not stop.wait(1.0) and time.monotonic() < deadline:
                tick += 1
                for i, sock in enumerate(socks):
                    try:
                        data = trickle(tick)
                        if data and sock is not None:
                            sock.sendall(data)
                        elif sock is not None and _closed(sock):
                            raise ConnectionResetError
                    except OSError:
                        counts["dropped"] += 1
                        if sock is not None:
                            sock.close()
                        socks[i] = None
                        with contextlib.suppress(OSError):
                            socks[i] = connect()
        finally:
            ready.set()
            for sock in socks:
                if sock is not None:
                    sock.close()

    ready = threading.Event()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(30), "the attack could not open its connections"
        time.sleep(1.5)  # let the server take them all in (and the slow ones send a line or two)
        yield counts
    finally:
        stop.set()
        thread.join(10)


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False


def test_idle_connections_do_not_take_the_site_down(server):
    with _attack(server, b"", lambda tick: b""):
        _assert_site_answers(server)


def test_a_header_line_a_second_does_not_take_the_site_down(server):
    opening = b"GET /static/site.css HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with _attack(server, opening, lambda tick: f"X-Slow-{tick}: {tick}\r\n".encode()):
        _assert_site_answers(server)


def test_a_post_body_byte_a_second_does_not_take_the_site_down(server):
    opening = (
        b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 2000\r\n\r\nquery=ASK"
    )
    with _attack(server, opening, lambda tick: b"%20"[tick % 3 : tick % 3 + 1]):
        _assert_site_answers(server)


def test_slow_clients_are_dropped_after_the_header_timeout(server):
    """A head not sent whole within a few seconds gets 408 and the connection is closed."""
    sock = socket.create_connection(("127.0.0.1", server), timeout=15)
    with sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < 10
        with contextlib.suppress(ConnectionResetError):
            while sock.recv(4096):
                pass  # then EOF: closed


def test_a_url_over_the_limit_is_refused_before_its_line_ends(server):
    """The URL limit holds at the socket: 414 while the line is still coming, then the server
    stops reading, so a client streaming megabytes of URL is cut off."""
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    with sock:
        sock.sendall(b"GET /sparql?query=" + b"a" * (URL_LIMIT + 1 - len("/sparql?query=")))
        head = sock.recv(4096)
        assert head.split(b" ", 2)[1] in (b"414", b"413"), head[:200]
        body = json.loads(head.split(b"\r\n\r\n", 1)[1])
        assert body["status"] in (413, 414) and "limit" in body["error"]
        sent = 0
        chunk = b"a" * 65536
        with contextlib.suppress(OSError):  # reset or broken pipe: the server has closed
            while sent < 16 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        assert sent < 8 * 1024 * 1024, "the server went on reading a URL it had refused"


def test_a_url_of_exactly_the_limit_reaches_the_app(server):
    prefix = "/sparql?query=ASK%7B%7D&pad="
    status, body = _raw_get(server, prefix + "a" * (URL_LIMIT - len(prefix)))
    # Accepted at the socket: the app answers, with its own limit if any (JSON naming it).
    assert status in (200, 400, 413), body[:200]
    if status != 200:
        assert json.loads(body)["status"] == status


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_headers_over_the_limit_get_431(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        with contextlib.suppress(OSError):
            for n in range(100):  # 40 KiB of headers, over the 16 KiB limit
                sock.sendall(f"X-Pad-{n}: {'b' * 400}\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 431 ")


def test_a_body_over_the_limit_is_refused_from_its_content_length(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100000000\r\n\r\n"
        )
        assert sock.recv(4096).split(b" ", 2)[1] == b"413"


def test_keep_alive_pipelining_and_a_post_still_work(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        body = urllib.parse.urlencode({"query": "ASK {}"}).encode()
        post = (
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Accept: application/sparql-results+json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        get = f"GET {CACHED} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        sock.sendall(get + post + get)  # three requests in one write
        data = b""
        deadline = time.monotonic() + 10
        while data.count(b"HTTP/1.1 200 ") < 3 and time.monotonic() < deadline:
            data += sock.recv(65536)
        assert data.count(b"HTTP/1.1 200 ") == 3
        assert b'"boolean":true' in data


# ---------------------------------------------------------------- expensive queries and fair queueing

EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def _get_from(source: str, port: int, path: str, headers: dict[str, str], timeout: float) -> int:
    """A GET sent from ``source`` (an address of the loopback range): another client to the server."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{head}\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_one_clients_expensive_queries_do_not_starve_other_clients(server):
    """30 expensive queries from 127.0.0.1 at once; meanwhile another client (127.0.0.2) gets its
    stylesheet, its cached answer and its uncached query answered. The expensive ones beyond the
    client's share are refused with 503 at the queue bound, not held for a thread."""
    outcomes: list[int | str] = []

    def expensive(n: int) -> None:
        path = "/sparql?" + urllib.parse.urlencode({"query": f"{EXPENSIVE} # {n}"})
        try:
            outcomes.append(_get_from("127.0.0.1", server, path, {}, timeout=40))
        except OSError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=expensive, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    try:
        for n in range(5):
            uncached = "/sparql?" + urllib.parse.urlencode({"query": f"ASK {{ ?s ?p ?o }} # probe {n}"})
            for path, headers in (
                ("/static/site.css", {}),
                (CACHED, {}),
                (uncached, {"Cache-Control": "no-cache"}),
            ):
                assert _get_from("127.0.0.2", server, path, headers, timeout=PROMPT) == 200, path
    finally:
        for thread in threads:
            thread.join(timeout=60)
    assert outcomes.count(503) >= 25, outcomes  # one runs (its share), the rest are refused
