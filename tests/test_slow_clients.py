"""Slow and abusive clients against the real server (`kg serve`): the site stays up.

Each attack opens 200 connections from 127.0.0.1 for a few seconds (idle, one
header line a second, a POST body one byte a second, reconnecting whenever
the server drops one), and meanwhile another client (127.0.0.2) must get a
stylesheet and a cached answer promptly. One address may hold only
``client_connections`` connections per HTTP worker: the attacker's others are
closed at once. The attacks are bounded in connections and time and stop by
themselves; all traffic stays on the loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import resource
import select
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from kg.web.safety import HEADERS
from tests.support import kg_serve, wait_for

pytestmark = pytest.mark.live

CONNECTIONS = 200
PROMPT = 3.0  # seconds within which the probes must be answered while an attack runs
ATTACK_SECONDS = 30  # an attack stops by itself after this, whatever happens to the test
CACHED = "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
URL_LIMIT = 64 * 1024  # the documented URL limit (Settings.max_body)
CLIENT_CONNECTIONS = 64  # the documented default of Settings.client_connections, per HTTP worker
HTTP_WORKERS = 2  # kg serve's default
ATTACKER, PROBE = "127.0.0.1", "127.0.0.2"


@pytest.fixture(scope="module")
def server(settings, built) -> Iterator[int]:
    with kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir)}) as url:
        port = urllib.parse.urlparse(url).port
        assert port is not None
        for _ in range(20):  # each HTTP worker has its own cache: both should hold the answer
            _get(port, CACHED)
        yield port


def _get(port: int, path: str, timeout: float = 10, source: str = ATTACKER) -> tuple[int, dict, bytes]:
    """A GET from ``source``, with the headers urllib sends (so the same response cache key)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity", "Connection": "close"})
        response = conn.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        conn.close()


def _assert_site_answers(port: int) -> None:
    """Another client than the attacker (127.0.0.2) gets a stylesheet and a cached answer promptly."""
    caches = []
    for path in ("/static/site.css", CACHED) * 2:
        started = time.monotonic()
        try:
            status, headers, _ = _get(port, path, timeout=PROMPT, source=PROBE)
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
    counts = {"opened": 0, "dropped": 0, "held": CONNECTIONS}
    socks: list[socket.socket | None] = [None] * CONNECTIONS

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(ATTACKER, 0))
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
                for i, sock in enumerate(socks):  # the ones the server closed
                    if sock is not None and _closed(sock):
                        counts["dropped"] += 1
                        sock.close()
                        socks[i] = None
                counts["held"] = sum(sock is not None for sock in socks)
                for i, sock in enumerate(socks):
                    try:
                        data = trickle(tick)
                        if data and sock is not None:
                            sock.sendall(data)
                    except OSError:
                        counts["dropped"] += 1
                        if sock is not None:
                            sock.close()
                        socks[i] = None
                for i, sock in enumerate(socks):
                    if sock is None:
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
    """Whether the server has closed ``sock``, without waiting (on a socket with a timeout, Python
    waits for data before a recv even with MSG_DONTWAIT)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:  # reset
        return True


def _assert_capped(counts: dict) -> None:
    """The attacker's connections beyond its share (client_connections per HTTP worker) were closed."""
    assert counts["held"] <= HTTP_WORKERS * CLIENT_CONNECTIONS, counts
    assert counts["dropped"] >= CONNECTIONS - HTTP_WORKERS * CLIENT_CONNECTIONS, counts


def test_idle_connections_do_not_take_the_site_down(server):
    with _attack(server, b"", lambda tick: b"") as counts:
        _assert_site_answers(server)
        _assert_capped(counts)


def test_a_header_line_a_second_does_not_take_the_site_down(server):
    opening = b"GET /static/site.css HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with _attack(server, opening, lambda tick: f"X-Slow-{tick}: {tick}\r\n".encode()) as counts:
        _assert_site_answers(server)
        _assert_capped(counts)


def test_a_post_body_byte_a_second_does_not_take_the_site_down(server):
    opening = (
        b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 2000\r\n\r\nquery=ASK"
    )
    with _attack(server, opening, lambda tick: b"%20"[tick % 3 : tick % 3 + 1]) as counts:
        _assert_site_answers(server)
        _assert_capped(counts)


def test_one_address_cannot_take_every_connection_slot(server):
    """2,000 connections from one address that each send part of a head: all but its share are
    closed at once, and another client is answered meanwhile."""
    socks: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 20
        for _ in range(2000):
            if time.monotonic() > deadline:
                break
            try:
                sock = socket.create_connection(
                    ("127.0.0.1", server), timeout=5, source_address=(ATTACKER, 0)
                )
            except OSError:
                break
            socks.append(sock)
            with contextlib.suppress(OSError):
                sock.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        time.sleep(1.0)
        assert _get(server, "/static/site.css", timeout=PROMPT, source=PROBE)[0] == 200
        held = sum(not _closed(sock) for sock in socks)
        assert held <= HTTP_WORKERS * CLIENT_CONNECTIONS, (held, len(socks))
    finally:
        for sock in socks:
            sock.close()


def test_slow_clients_are_dropped_after_the_header_timeout(server):
    """A head not sent whole within a few seconds gets 408 and the connection is closed."""
    sock = socket.create_connection(("127.0.0.1", server), timeout=15)
    with sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < 10
        _assert_secure(answer)
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
        _assert_secure(head)
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
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 431 ")
        _assert_secure(answer)


def test_a_body_over_the_limit_is_refused_from_its_content_length(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100000000\r\n\r\n"
        )
        answer = sock.recv(4096)
        assert answer.split(b" ", 2)[1] == b"413"
        _assert_secure(answer)


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


def _exchange(port: int, data: bytes, timeout: float = 5, source: str = ATTACKER) -> bytes:
    """Send ``data`` at once and read until the server closes (or ``timeout`` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
        sock.sendall(data)
        reply = b""
        with contextlib.suppress(OSError):  # a timeout, or a reset after the answer
            while chunk := sock.recv(65536):
                reply += chunk
    return reply


def _statuses(reply: bytes) -> list[int]:
    """The status of every answer in ``reply`` (an answer may follow a body without a line end)."""
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)]


def _assert_secure(answer: bytes) -> None:
    """A refusal carries the app's security headers, and its JSON error."""
    head, _, body = answer.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    for name, value in HEADERS.items():
        assert fields.get(name.encode()) == value.encode(), (name, head)
    assert fields[b"Content-Type"] == b"application/json"
    status = int(head.split(b" ", 2)[1])
    assert json.loads(body[: int(fields[b"Content-Length"])])["status"] == status


def test_a_content_length_of_thousands_of_digits_is_refused_and_the_worker_lives(server):
    """int() refuses more than 4,300 digits: the loop must refuse such a value itself (400), and
    no client input may end a worker."""
    pids = _worker_pids(server)
    for digits in (b"0" * 4400 + b"5", b"1" * 4400, b"9" * 25):
        reply = _exchange(
            server, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: " + digits + b"\r\n\r\nhello"
        )
        assert _statuses(reply) == [400], reply[:300]
        _assert_secure(reply)
    assert _statuses(
        _exchange(server, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n")
    ) == [413]
    assert _worker_pids(server) == pids
    assert _get(server, "/static/site.css")[0] == 200


def _worker_pids(port: int) -> set[int]:
    """The pids of the HTTP workers of the server listening on ``port`` (its gunicorn master's
    children that are not query processes)."""
    master = _master_pid(port)
    children = set()
    for task in os.listdir(f"/proc/{master}/task"):
        with open(f"/proc/{master}/task/{task}/children") as f:
            children.update(int(pid) for pid in f.read().split())
    workers = set()
    for pid in children:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"kg.workers" not in f.read():
                workers.add(pid)
    return workers


def _master_pid(port: int) -> int:
    out = subprocess.run(
        ["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    pids = {int(p) for p in re.findall(r"pid=(\d+)", out)}
    # The listener is shared by the master and its workers: the master is the parent of the others.
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        if parent not in pids:
            return pid
    raise AssertionError(f"no server on port {port}: {out}")


def test_a_head_gunicorn_would_refuse_is_refused_and_closed(server):
    """A bare LF inside a header value hides a Content-Length from us but not from a proxy that
    ends lines at LF: the loop must not answer it from the cache and go on reading the connection."""
    host = f"Host: 127.0.0.1:{server}\r\n".encode()
    smuggled = b"GET " + CACHED.encode() + b"&smuggled=1 HTTP/1.1\r\n" + host + b"\r\n"
    for bad in (
        b"X-A: a\nContent-Length: %d\r\n" % len(smuggled),  # bare LF
        b"X-A: a\rContent-Length: %d\r\n" % len(smuggled),  # lone CR
        b"X-A: a\x00b\r\n",  # NUL in a value
        b"X-A: a\x1bb\r\n",  # a control character
        b"X(A): a\r\n",  # not a token
        b"X-A : a\r\n",  # space before the colon
        b"X-A: a\r\n folded\r\n",  # obsolete folding
        b"no colon\r\n",
    ):
        for target in (CACHED, "/static/site.css"):  # the cached fast path, and the app's path
            reply = _exchange(
                server, b"GET " + target.encode() + b" HTTP/1.1\r\n" + host + bad + b"\r\n" + smuggled
            )
            assert _statuses(reply) == [400], (bad, target, reply[:400])
            _assert_secure(reply)


def test_many_or_long_headers_within_the_limit_reach_the_app(server):
    """The loop's header limit decides, not gunicorn's own (8,190 bytes a field, 100 fields)."""
    long_field = b"X-Pad: " + b"b" * 9000 + b"\r\n"
    many = b"".join(b"X-Pad-%d: %d\r\n" % (n, n) for n in range(120))
    for extra in (long_field, many):
        reply = _exchange(
            server, b"GET /static/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n"
        )
        assert _statuses(reply) == [200], reply[:400]
    reply = _exchange(server, b"GET /static/site.css HTTP/1.1\r\nHost: x\r\n" + long_field * 2 + b"\r\n")
    assert _statuses(reply) == [431]
    _assert_secure(reply)


def _chunked_post(chunks: bytes) -> bytes:
    return (
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Accept: application/sparql-results+json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    )


def test_a_long_chunk_extension_does_not_lose_the_next_request(server):
    """A chunk-size line of 2,000 bytes (valid extensions) is read as framing, and the request
    pipelined after the body is answered too."""
    body = urllib.parse.urlencode({"query": "ASK {}"}).encode()
    chunks = b"%x;ext=%s\r\n%s\r\n0\r\n\r\n" % (len(body), b"v" * 2000, body)
    get = b"GET /static/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = _exchange(server, _chunked_post(chunks) + get)
    assert _statuses(reply) == [200, 200], reply[:400]
    assert b'"boolean":true' in reply


def test_malformed_chunk_framing_is_refused(server):
    body = b"query=ASK%7B%7D"
    get = b"GET /static/site.css HTTP/1.1\r\nHost: x\r\n\r\n"
    for chunks in (
        b"0xf\r\n" + body + b"\r\n0\r\n\r\n",  # int(..., 16) takes these; HTTP does not
        b"0_f\r\n" + body + b"\r\n0\r\n\r\n",
        b"+f\r\n" + body + b"\r\n0\r\n\r\n",
        b" f\r\n" + body + b"\r\n0\r\n\r\n",
        b"f\r\n" + body + b"XX0\r\n\r\n",  # no CRLF after the data
        b"f;a=\x01\r\n" + body + b"\r\n0\r\n\r\n",  # a bad extension
        b"f;" + b"v" * 20000 + b"\r\n" + body + b"\r\n0\r\n\r\n",  # a line over the limit
        b"f\r\n" + body + b"\r\n0\r\nX-T: a\nb\r\n\r\n",  # a trailer with a bare LF
    ):
        reply = _exchange(server, _chunked_post(chunks) + get)
        assert _statuses(reply) == [400], (chunks[:40], reply[:300])
        _assert_secure(reply)


# ---------------------------------------------------------------- answers to clients that do not read

BIG_ROWS = 8  # rows of 1 MiB each: an answer larger than the socket buffers on both sides


def _big_query(rows: int = BIG_ROWS, tag: str = "") -> str:
    doubling = "".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1}) " for i in range(10))
    values = " ".join(str(i) for i in range(rows))
    return (
        f'SELECT ?x WHERE {{ VALUES ?i {{ {values} }} BIND("{"a" * 1024}" AS ?v0) {doubling}'
        f"BIND(CONCAT(?v10, STR(?i)) AS ?x) }} # {tag}"
    )


def _open_unread(port: int, path: str, source: str = ATTACKER, buffer: int = 4096) -> socket.socket:
    """A client with a small receive buffer that asks for ``path`` through the app (and does not read)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    # If-None-Match: past the loop's cached answers, through a thread and the app.
    sock.sendall(
        f'GET {path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nIf-None-Match: "x"\r\n\r\n'.encode()
    )
    return sock


def test_clients_that_do_not_read_their_answers_hold_no_thread(server):
    """40 clients ask for an 8 MiB answer and never read it: each answer waits in the event
    loop, not in a thread, so another client's uncached page comes back at once."""
    path = "/sparql?" + urllib.parse.urlencode({"query": _big_query(tag="unread")})
    status, _, body = _get(server, path, timeout=60)  # evaluated once; the rest come from the result cache
    assert status == 200 and len(body) > BIG_ROWS * 1024 * 1024
    socks = [_open_unread(server, path) for _ in range(40)]
    try:
        time.sleep(1.0)
        for n in range(3):
            started = time.monotonic()
            status, _, _ = _get(server, f"/?probe={n}-{time.time()}", timeout=PROMPT, source=PROBE)
            assert status == 200 and time.monotonic() - started < PROMPT
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(scope="module")
def short_send(settings, built) -> Iterator[int]:
    """A server that lets a client that does not read go after 2 s without progress."""
    with kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir), "KG_SEND_TIMEOUT": "2"}) as url:
        port = urllib.parse.urlparse(url).port
        assert port is not None
        yield port


def test_a_slow_reader_gets_its_whole_answer(short_send):
    """send_timeout counts time without progress, not the whole download: a client reading an
    8 MiB answer at about 1 MiB/s for several seconds gets all of it."""
    path = "/sparql?" + urllib.parse.urlencode({"query": _big_query(tag="slow")})
    expected = len(_get(short_send, path, timeout=60)[2])
    sock = _open_unread(short_send, path, buffer=65536)
    with sock:
        sock.settimeout(5)
        reply = b""
        head_end = -1
        started = time.monotonic()
        while time.monotonic() - started < 30:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
            head_end = reply.find(b"\r\n\r\n") if head_end < 0 else head_end
            if head_end >= 0 and len(reply) - head_end - 4 >= expected:
                break
            time.sleep(0.05)  # at most 64 KiB each time: about 1.3 MiB/s
        assert time.monotonic() - started > 2 * 2, "the answer fitted in the buffers: no test"
        assert _statuses(reply[:64]) == [200]
        assert len(reply) - head_end - 4 == expected


def test_a_client_that_stops_reading_is_let_go(short_send):
    """No bytes accepted for send_timeout (2 s here): the connection is closed."""
    path = "/sparql?" + urllib.parse.urlencode({"query": _big_query(tag="stops")})
    expected = len(_get(short_send, path, timeout=60)[2])
    with _open_unread(short_send, path) as sock:
        time.sleep(5)
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        assert received < expected


# ---------------------------------------------------------------- out of file descriptors


@pytest.fixture(scope="module")
def few_files(settings, built) -> Iterator[int]:
    """A server started with 100 open files at most, and no per-address cap. The limit is this
    process's own while kg serve starts (inherited), so this process must hold few files then."""
    assert len(os.listdir("/proc/self/fd")) < 60
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (100, hard))  # inherited by kg serve
    try:
        cm = kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir), "KG_CLIENT_CONNECTIONS": "0"})
        url = cm.__enter__()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        port = urllib.parse.urlparse(url).port
        assert port is not None
        yield port
    finally:
        cm.__exit__(None, None, None)


def test_running_out_of_file_descriptors_does_not_end_a_worker(few_files):
    """300 connections against workers allowed 100 open files: the workers hold what they can,
    the rest wait in the backlog, and no worker dies."""
    pids = _worker_pids(few_files)
    socks: list[socket.socket] = []
    try:
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", few_files), timeout=5)
            socks.append(sock)
            with contextlib.suppress(OSError):
                sock.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        time.sleep(1.5)
        assert _worker_pids(few_files) == pids
    finally:
        for sock in socks:
            sock.close()
    wait_for(
        lambda: _get(few_files, "/static/site.css", timeout=PROMPT)[0] == 200, "an answer after the attack"
    )
    assert _worker_pids(few_files) == pids


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
