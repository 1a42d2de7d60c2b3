"""A local stand-in for Wikidata's query service, started by the tests: no test needs the network.

It holds a small extract in Wikidata's RDF format (tests/data/wikidata/*.ttl: items as
``wd:Q…``, labels as ``rdfs:label``, aliases as ``skos:altLabel``, truthy claims as ``wdt:P…``,
statements as ``p:``/``ps:``/``pq:``, a redirect as ``wd:Qold owl:sameAs wd:Qnew``) and answers the
SPARQL 1.1 Protocol (GET ``query=``, POST form or ``application/sparql-query``) with SPARQL JSON
results, evaluated by pyoxigraph: a real engine over real triples.

What the public endpoint does to clients is reproduced on demand: ``faults`` is a queue of what the
next requests get instead of an answer: ``("status", 429, {"Retry-After": "1"})`` (with a body of its
own: ``("status", 500, {}, b"java.util.concurrent.TimeoutException")``), ``("sleep", 5)``
(answer after 5 s: a client's time-out), ``("malformed", b"...")`` (a body that is not SPARQL JSON).
Every request is recorded (its headers and query) so that tests see what a client sent.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox

EXTRACT = Path(__file__).parent / "data" / "wikidata"
JSON = "application/sparql-results+json"


@dataclass
class Seen:
    method: str
    headers: dict[str, str]
    query: str


@dataclass
class StandIn:
    store: ox.Store
    faults: deque = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/sparql"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def start(extract: Path = EXTRACT) -> StandIn:
    store = ox.Store()
    for path in sorted(extract.glob("*.ttl")):
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
    standin = StandIn(store)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._answer(parse_qs(urlsplit(self.path).query).get("query", [""])[0])

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
            kind = self.headers.get("Content-Type", "").split(";")[0].strip()
            query = body if kind == "application/sparql-query" else parse_qs(body).get("query", [""])[0]
            self._answer(query)

        def _answer(self, query: str) -> None:
            standin.seen.append(Seen(self.command, dict(self.headers.items()), query))
            fault = standin.faults.popleft() if standin.faults else None
            if fault and fault[0] == "status":
                body = fault[3] if len(fault) > 3 else b"slow down\n"
                self._send(fault[1], body, "text/plain", fault[2] if len(fault) > 2 else {})
                return
            if fault and fault[0] == "sleep":
                time.sleep(fault[1])
            if fault and fault[0] == "malformed":
                self._send(200, fault[1], JSON)
                return
            try:
                results = standin.store.query(query)
                body = results.serialize(format=ox.QueryResultsFormat.JSON)
            except (SyntaxError, ValueError, OSError) as exc:
                self._send(400, f"bad query: {exc}\n".encode(), "text/plain")
                return
            self._send(200, body, JSON)

        def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its time-out)
                pass

    standin.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    standin.server.daemon_threads = True
    threading.Thread(target=standin.server.serve_forever, daemon=True).start()
    return standin
