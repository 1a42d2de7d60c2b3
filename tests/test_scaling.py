"""Replicas behind a load balancer (README, "Scaling out").

Any number of `kg serve` processes on one build answer alike: the same bodies, the same
ETags, so an ETag one replica gave is revalidated (304) by another. haproxy, configured by
deploy/haproxy.cfg as written, checks them at /health and hides the death of one: no request
fails beyond those in flight when it died. The first tests check /health in-process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.config import REPO_ROOT
from kg.engine import Engine
from kg.errors import ServiceBusy
from kg.web import close_app, create_app
from tests.support import _free_port, kg_serve, wait_for

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CONFIG = REPO_ROOT / "deploy" / "haproxy.cfg"
# What a balancer forwards: the client's Host, the same whichever replica answers (the answers
# that hold this server's URLs, /dumps.json or /.well-known/void, hold the same URLs then).
HOST = "kg.example"
# Headers that may differ between two replicas: when and on which connection, and whether the
# answer was in that process's cache.
VOLATILE = frozenset({"date", "connection", "keep-alive", "x-cache"})

MEETINGS = "SELECT ?m WHERE { ?m a hos:Meeting } ORDER BY ?m"
JSON = {"Accept": "application/sparql-results+json"}
FORM = {**JSON, "Content-Type": "application/x-www-form-urlencoded"}


def sparql(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


@dataclasses.dataclass(frozen=True)
class Ask:
    method: str
    path: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes | None = None


ASKS = {
    "select-json": Ask("GET", sparql(MEETINGS), JSON),
    "select-csv": Ask("GET", sparql(MEETINGS), {"Accept": "text/csv"}),
    "select-post": Ask("POST", "/sparql", FORM, urllib.parse.urlencode({"query": MEETINGS}).encode()),
    "construct-turtle": Ask(
        "GET", sparql("CONSTRUCT { ?m a hos:Meeting } WHERE { ?m a hos:Meeting }"), {"Accept": "text/turtle"}
    ),
    "canned-api": Ask("GET", "/api/queries/meetings-in-order.json"),
    "canned-page": Ask("GET", "/queries/meetings-in-order", {"Accept": "text/html"}),
    "entity-page": Ask("GET", "/id/person/vladimir-putin", {"Accept": "text/html"}),
    "entity-turtle": Ask("GET", "/id/person/vladimir-putin.ttl"),
    "health": Ask("GET", "/health"),
    "dump": Ask("GET", "/dumps/asserted.ttl"),
    "dump-gzip": Ask("GET", "/dumps/asserted.ttl", {"Accept-Encoding": "gzip"}),
    "dump-listing": Ask("GET", "/dumps.json"),
    "home-page": Ask("GET", "/", {"Accept": "text/html"}),
    # Blank nodes the query makes: kg.execute labels them in order of first appearance.
    "construct-blank-nodes": Ask(
        "GET",
        sparql(
            "CONSTRUCT { ?m <urn:x:at> [ <urn:x:of> ?m ] } WHERE { ?m a hos:Meeting } ORDER BY ?m LIMIT 2"
        ),
        {"Accept": "text/turtle"},
    ),
    # An rdflib graph with blank nodes, written canonically by kg.void.write.
    "void": Ask("GET", "/.well-known/void", {"Accept": "text/turtle"}),
}
ETAGGED = (
    "select-json",
    "select-csv",
    "construct-turtle",
    "construct-blank-nodes",
    "canned-api",
    "dump",
    "dump-gzip",
    "void",
)


# ------------------------------------------------------------------ /health, in-process


@pytest.fixture()
def lone_app(settings, kg):
    """An app of its own (empty caches) evaluating in-process: /health's engine, easy to break."""
    app = create_app(dataclasses.replace(settings, query_workers=0), kg=kg)
    yield app
    close_app(app)


def test_health_answers_the_build_and_is_never_stored(lone_app, kg):
    client = lone_app.test_client()
    for _ in range(2):  # the second too: neither cache answered it
        response = client.get("/health")
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "build": kg.identity}
        assert response.headers["Cache-Control"] == "no-store"
        assert "X-Cache" not in response.headers and "ETag" not in response.headers
    head = client.head("/health")
    assert head.status_code == 200 and head.data == b""


def test_health_is_503_when_the_engine_does_not_answer(lone_app, monkeypatch):
    client = lone_app.test_client()
    assert client.get("/health").status_code == 200  # an "ok" is now in the result cache
    calls: list[object] = []

    def refuse(self: Engine, job: object) -> None:
        calls.append(job)
        raise ServiceBusy("all query processes stayed busy for 2 s; try again later")

    monkeypatch.setattr(Engine, "_in_process", refuse)
    lone_app.extensions.pop("kg_health", None)  # the last probe's outcome stands for a second
    response = client.get("/health", headers={"Accept": "text/html"})  # a browser gets JSON too
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "unavailable",
        "reason": "all query processes stayed busy for 2 s; try again later",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert calls, "the cached answer vouched for a dead engine"


def test_a_flood_of_health_checks_costs_one_probe_a_second(lone_app, monkeypatch):
    from kg.web import health

    probes: list[object] = []
    real = health._probe
    monkeypatch.setattr(health, "_probe", lambda: probes.append(1) or real())
    lone_app.extensions.pop("kg_health", None)
    client = lone_app.test_client()
    assert all(client.get("/health").status_code == 200 for _ in range(20))
    assert len(probes) == 1


def test_health_takes_no_client_query_slot(lone_app, monkeypatch):
    seen: list[dict] = []
    run = Engine.run

    def spy(self: Engine, job, **kwargs):
        seen.append(kwargs)
        return run(self, job, **kwargs)

    monkeypatch.setattr(Engine, "run", spy)
    assert lone_app.test_client().get("/health").status_code == 200
    assert seen == [{"fresh": True}]  # no client_id: the per-client query limit does not count it


# ------------------------------------------------------------------ real replicas


@dataclasses.dataclass
class Replica:
    origin: str  # http://127.0.0.1:PORT
    process: subprocess.Popen

    @property
    def port(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def fetch(origin: str, ask: Ask, extra: dict[str, str] | None = None) -> Reply:
    """``ask`` of the server at ``origin`` (``extra``: more headers), on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", int(origin.rsplit(":", 1)[1]), timeout=30)
    try:
        conn.request(
            ask.method, ask.path, body=ask.body, headers={"Host": HOST, **ask.headers, **(extra or {})}
        )
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


@contextlib.contextmanager
def replica(build_dir: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[Replica]:
    """`kg serve` on ``build_dir`` as the README runs replicas (KG_CLIENT_QUERIES=0: behind the
    balancer, every visitor has the balancer's address), in a process group of its own."""
    started: list[subprocess.Popen] = []
    env = {"KG_BUILD_DIR": str(build_dir), "KG_CLIENT_QUERIES": "0", **(env or {})}
    with kg_serve(env=env, log=log, started=started) as url:
        yield Replica(url.removesuffix("/sparql"), started[0])


@pytest.fixture(scope="module")
def replicas(settings, built, tmp_path_factory) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas of the session's build, from the same folder."""
    logs = tmp_path_factory.mktemp("replica-logs")
    with replica(settings.build_dir, logs / "a.log") as a, replica(settings.build_dir, logs / "b.log") as b:
        yield a, b


@pytest.fixture(scope="module")
def copied(settings, built, tmp_path_factory) -> Iterator[Replica]:
    """A replica of a copy of the build folder, elsewhere: as on another machine."""
    root = tmp_path_factory.mktemp("copied")
    shutil.copytree(
        settings.build_dir,
        root / "build",
        ignore=shutil.ignore_patterns("w3c-suite", "bench", "wikidata-cache"),
    )
    with replica(root / "build", root / "replica.log") as c:
        yield c


def _alike(one: Reply, other: Reply) -> None:
    assert one.status == other.status == 200, (one.status, other.status, one.body[:300], other.body[:300])
    assert one.body == other.body, "the bodies differ"
    assert {k: v for k, v in one.headers.items() if k not in VOLATILE} == {
        k: v for k, v in other.headers.items() if k not in VOLATILE
    }


@pytest.mark.live
@pytest.mark.replicas
@pytest.mark.parametrize("name", list(ASKS))
def test_replicas_answer_alike(replicas, name):
    a, b = replicas
    _alike(fetch(a.origin, ASKS[name]), fetch(b.origin, ASKS[name]))


@pytest.mark.live
@pytest.mark.replicas
@pytest.mark.parametrize("name", ETAGGED)
def test_an_etag_from_one_replica_is_valid_at_another(replicas, name):
    a, b = replicas
    first = fetch(a.origin, ASKS[name])
    assert first.status == 200 and first.headers.get("etag"), first.headers
    again = fetch(b.origin, ASKS[name], {"If-None-Match": first.headers["etag"]})
    assert again.status == 304, again.status
    assert again.headers.get("etag") == first.headers["etag"]
    assert again.body == b""


@pytest.mark.live
@pytest.mark.replicas
@pytest.mark.parametrize("name", list(ASKS))
def test_a_copy_of_the_build_answers_alike(replicas, copied, name):
    _alike(fetch(replicas[0].origin, ASKS[name]), fetch(copied.origin, ASKS[name]))


# ------------------------------------------------------------------ behind haproxy


@dataclasses.dataclass
class Balancer:
    port: int
    socket: str  # haproxy's stats socket

    def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` of the backend's servers, by name: status (UP, DOWN…), stot, wretr, wredis…"""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.socket)
            s.sendall(b"show stat\n")
            text = b"".join(iter(lambda: s.recv(65536), b"")).decode()
        header, *rows = [line for line in text.splitlines() if line]
        names = header.lstrip("# ").split(",")
        table = [dict(zip(names, row.split(","), strict=False)) for row in rows]
        return {r["svname"]: r for r in table if r["pxname"] == "replicas" and r["svname"] != "BACKEND"}


def render(ports: tuple[int, int], front: int, sock: str) -> str:
    """deploy/haproxy.cfg with only its addresses and socket path replaced (each must be there)."""
    text = CONFIG.read_text(encoding="utf-8")
    for old, new in (
        ("bind :8000", f"bind 127.0.0.1:{front}"),
        ("server r1 127.0.0.1:8001", f"server r1 127.0.0.1:{ports[0]}"),
        ("server r2 127.0.0.1:8002", f"server r2 127.0.0.1:{ports[1]}"),
        ("/run/haproxy/admin.sock", sock),
    ):
        assert text.count(old) == 1, f"deploy/haproxy.cfg no longer has {old!r} once"
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def haproxy(ports: tuple[int, int], folder: Path, sock: str) -> Iterator[Balancer]:
    """haproxy on deploy/haproxy.cfg in front of ``ports``, its admin socket at ``sock``; its
    configuration and log in ``folder``."""
    if not Path(HAPROXY).exists():
        pytest.fail("haproxy is missing: `make system-test-deps` installs Debian's haproxy package")
    balancer = Balancer(_free_port(), sock)
    config = folder / "haproxy.cfg"
    config.write_text(render(ports, balancer.port, balancer.socket), encoding="utf-8")
    log = folder / "haproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([HAPROXY, "-f", str(config), "-db"], stdout=out, stderr=subprocess.STDOUT)
        try:

            def checked_up() -> bool:
                assert proc.poll() is None, log.read_text()
                with contextlib.suppress(OSError):
                    servers = balancer.servers()
                    return all(s["status"] == "UP" and s["check_status"] == "L7OK" for s in servers.values())
                return False

            wait_for(checked_up, "haproxy up, with both replicas checked")
            yield balancer
        finally:
            proc.terminate()
            proc.wait(timeout=15)


@dataclasses.dataclass
class Outcome:
    start: float
    end: float
    name: str
    failure: str | None  # None: it succeeded


class Load:
    """Threads that send the ASKS (and queries no cache holds) through the balancer until stopped,
    counting the requests in flight."""

    MIX = ("select-json", "select-csv", "select-post", "canned-api", "entity-turtle", "health", "dump")

    def __init__(self, port: int, expected: dict[str, bytes], threads: int) -> None:
        self.port = port
        self.expected = expected
        self.lock = threading.Lock()
        self.in_flight = 0
        self.outcomes: list[Outcome] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()  # also when the test failed: no thread goes on sending
        for thread in self.threads:
            thread.join(timeout=60)

    def _run(self, n: int) -> None:
        """Thread ``n``: one kept-alive connection to the balancer, a request after another."""
        with contextlib.closing(http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)) as conn:
            i = 0
            while not self.stop.is_set():
                i += 1
                if i % 4 == 0:  # a query no replica has answered yet: evaluated by a query process
                    name = "fresh-query"
                    ask = Ask("GET", sparql(f"{MEETINGS} LIMIT {1000 + 100_000 * n + i}"), JSON)
                else:
                    name = self.MIX[(n + i) % len(self.MIX)]
                    ask = ASKS[name]
                with self.lock:
                    self.in_flight += 1
                    start = time.monotonic()
                failure = self._send(conn, name, ask)
                with self.lock:
                    self.in_flight -= 1
                    self.outcomes.append(Outcome(start, time.monotonic(), name, failure))

    def _send(self, conn: http.client.HTTPConnection, name: str, ask: Ask) -> str | None:
        """Why the request failed, or None: a 200 with the expected body."""
        try:
            conn.request(ask.method, ask.path, body=ask.body, headers={"Host": HOST, **ask.headers})
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # http.client connects again at the next request
            return type(exc).__name__
        if response.status != 200:
            return f"HTTP {response.status}"
        if name in self.expected and body != self.expected[name]:
            return "another body"
        return None


@pytest.mark.live
@pytest.mark.replicas
def test_haproxy_hides_a_replica_that_dies(replicas, settings, tmp_path):
    survivor = replicas[0]
    with (
        # A short folder: a Unix socket's path holds at most 107 bytes. It is the victim's TMPDIR
        # too, so the folder of its query processes' sockets, which a killed server leaves, goes.
        tempfile.TemporaryDirectory(prefix="kg-lb-") as short,
        replica(settings.build_dir, tmp_path / "victim.log", {"TMPDIR": short}) as victim,
        haproxy((survivor.port, victim.port), tmp_path, f"{short}/admin.sock") as balancer,
    ):
        expected = {name: fetch(survivor.origin, ASKS[name]).body for name in Load.MIX}
        with Load(balancer.port, expected, threads=8) as load:
            time.sleep(2)
            before = balancer.servers()
            # Within the lock: no request starts or ends between the count and the kill.
            with load.lock:
                in_flight = load.in_flight
                killed = time.monotonic()
                os.killpg(victim.process.pid, signal.SIGKILL)  # the master, its workers, its query processes
            wait_for(
                lambda: balancer.servers()["r2"]["status"].startswith("DOWN"), "haproxy marks r2 down", 15
            )
            down = time.monotonic()
            time.sleep(2)
        after = balancer.servers()
        # Taken out by the failed connections (observe layer4); the health check fails too.
        wait_for(
            lambda: balancer.servers()["r2"]["check_status"].startswith("L4"), "a failed check of r2", 10
        )

    outcomes = load.outcomes
    failed = [o for o in outcomes if o.failure]
    since_down = [o for o in outcomes if o.start >= down]
    backend = {name: (after[name]["stot"], after[name]["wretr"], after[name]["wredis"]) for name in after}
    summary = (
        f"{len(outcomes)} requests, {len(failed)} failed {[(o.name, o.failure) for o in failed]}, "
        f"{in_flight} in flight at the kill, marked down {down - killed:.2f} s after it, "
        f"{len(since_down)} requests since; per server (sessions, retries, redispatches): {backend}"
    )
    print(summary)
    assert int(before["r1"]["stot"]) > 0 and int(before["r2"]["stot"]) > 0, summary  # both served
    assert all(o.failure is None for o in outcomes if o.end < killed), summary
    assert len(failed) <= in_flight, summary  # the bound (haproxy's retries make it 0)
    assert len(since_down) >= 20 and all(o.failure is None for o in since_down), summary
