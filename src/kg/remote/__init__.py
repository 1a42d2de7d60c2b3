"""Step 4, store, the second way: the built graph in a SPARQL store, reached by the SPARQL 1.1 Protocol.

``kg serve --engine URL`` (``Settings.engine_url``) puts a ``RemoteGraph`` where the embedded
``KnowledgeGraph`` stands. It has the same face (``query``, ``identity``, counts, graph names),
so the Engine in front of it keeps every limit and cache, and the views do not know the
difference. What differs is only how a query travels:

* the text the store gets is the query with the predeclared prefixes (and the endpoint's base)
  written in front, and bound terms written in (kg.remote.terms); it must parse as SPARQL 1.1
  with pyoxigraph first, and names no vendor function;
* the dataset is given by the protocol's ``default-graph-uri`` / ``named-graph-uri``: the
  published graphs (all, or without the inferred graph), never GRAPH_PUBLISHED;
* answers come back as SPARQL JSON results or N-Triples, read by pyoxigraph into the same
  objects the embedded store returns, then capped and written by kg.execute as always;
* one connection pool per process (urllib3: keep-alive, at most ``engine_connections``), an
  HTTP time-out of the query time limit, and the store's own time-out parameter where it has one.

Which build the store serves is read from GRAPH_PUBLISHED (``kg publish`` writes it) and read
again every ``engine_refresh`` seconds: after a publish, the identity (the key of caches and
ETags) changes, so no cached answer of the old build is served for long.

A store that cannot be reached, or does not answer in time, gives a 503 with Retry-After; a
store that fails gives a 502; the pool reconnects by itself when the store is back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
import urllib3

from kg.build import Build
from kg.config import Settings
from kg.errors import BadGateway, BadRequest, KGError, NotBuilt, QueryTimeout, ServiceBusy
from kg.iris import GRAPH_INFERRED
from kg.remote import terms
from kg.remote.checker import Checker

log = logging.getLogger(__name__)

RESULTS_JSON = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9"
_GRAPH_FORMATS = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/ntriples": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
}
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def _query_file(name: str) -> str:
    return (files("kg.remote") / name).read_text(encoding="utf-8")


class StoreUnavailable(ServiceBusy):
    """The store could not be reached or did not answer in time: try again shortly."""


class RemoteGraph:
    """A read-only SPARQL view of one published build in a remote store (the face of KnowledgeGraph)."""

    def __init__(self, settings: Settings, build: Build | None = None) -> None:
        self.url = settings.engine_url
        self.settings = settings
        # The build folder's files (dumps, derivations) where the front end has them; queries
        # never read it. Query processes are never started for a remote store (Engine.limited).
        self.build = build
        self.remote = True
        host = urlsplit(self.url).netloc or self.url
        self._where = f"the SPARQL store at {host}"
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=settings.engine_connections,
            block=False,  # over maxsize: a connection for this request only, not a wait
            retries=False,  # a query is never sent twice behind the caller's back
            timeout=urllib3.Timeout(connect=min(5.0, settings.query_timeout), read=settings.query_timeout),
            headers={"User-Agent": "hos-kg remote engine"},
        )
        self._lock = threading.Lock()
        self._published: dict[str, Any] | None = None
        self._read_at = 0.0
        self._read_published()  # at start-up: an unpublished or unreachable store stops it here
        # Read again in the background too: when every request is answered from the response
        # cache, no query would ever notice a publish (the cache follows ``last_identity``).
        self._closed = threading.Event()
        self.checker = Checker(settings)
        if settings.engine_refresh > 0:
            threading.Thread(target=self._refresh_loop, name="kg-remote-refresh", daemon=True).start()

    def _refresh_loop(self) -> None:
        while not self._closed.wait(self.settings.engine_refresh):
            try:
                self._current()
            except Exception:
                log.exception("reading which build %s serves failed", self._where)

    @property
    def last_identity(self) -> str:
        """The identity read last, without asking the store (for the response cache)."""
        with self._lock:
            return self._published["identity"] if self._published else ""

    def refresh(self) -> str:
        """The identity the store serves now, asked now (the Engine asks after a query, so that an
        answer of a new build is never cached under the old build's identity)."""
        try:
            return self._read_published()["identity"]
        except KGError:
            return ""  # unknown: the caller does not cache

    # ------------------------------------------------------------ which build is served

    def _read_published(self) -> dict[str, Any]:
        solutions = self._select(_query_file("published.rq"), dataset=None)
        rows = list(solutions)
        if not rows:
            raise NotBuilt(f"{self._where} serves no published build: run `kg publish --to {self.url}`")
        graphs = {
            r["graph"].value: int(r["triples"].value) if r["triples"] is not None else 0
            for r in rows
            if r["graph"] is not None
        }
        union = rows[0]["union"]
        published = {
            "identity": rows[0]["identity"].value,
            "union": union is None or union.value in ("true", "1"),  # Virtuoso writes booleans as 1
            "graphs": graphs,
        }
        with self._lock:
            self._published, self._read_at = published, time.monotonic()
        return published

    def _current(self) -> dict[str, Any]:
        with self._lock:
            published, fresh = (
                self._published,
                time.monotonic() - self._read_at < self.settings.engine_refresh,
            )
        if published is not None and fresh:
            return published
        try:
            return self._read_published()
        except (KGError, ValueError, SyntaxError) as exc:  # keep serving what was read last
            if published is None:
                raise
            log.warning("could not read which build %s serves: %s", self._where, exc)
            with self._lock:
                self._read_at = time.monotonic()
            return published

    @property
    def identity(self) -> str:
        """The published build's identity (kg.build.Build.identity): the key for caches and ETags."""
        return self._current()["identity"]

    @property
    def union_default_graph(self) -> bool:
        return self._current()["union"]

    def graph_names(self) -> list[str]:
        return sorted(self._current()["graphs"])

    def default_graphs(self, infer: bool = True) -> list[ox.NamedNode]:
        return [ox.NamedNode(g) for g in self.graph_names() if infer or g != GRAPH_INFERRED]

    def __len__(self) -> int:
        return sum(self._current()["graphs"].values())

    def count(self, graph: str) -> int:
        return self._current()["graphs"].get(str(graph), 0)

    def instances(self, cls: str) -> list[str]:
        rows = self.query(_query_file("instances.rq"), bindings={"class": ox.NamedNode(cls)})
        return [r["instance"].value for r in rows if r["instance"] is not None]  # type: ignore[union-attr]

    # ------------------------------------------------------------ queries

    def query(
        self,
        sparql: str,
        *,
        infer: bool = True,
        bindings: dict[str, ox.NamedNode | ox.Literal] | None = None,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        query_dataset: bool = False,
        base_iri: str | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | list[ox.Triple]:
        """Evaluate a query in the store, with the embedded store's dataset rules (kg.store)."""
        rewritten = terms.standard(terms.substitute(sparql, bindings or {}))
        text = terms.prologue(None if terms.has_base(rewritten) else base_iri) + rewritten
        # Checked as sent: what the store reads is what was checked (kg.remote.terms.check).
        self.checker.check(sparql, base_iri, text)
        if query_dataset:
            # The store would read its FROM graphs as it likes (Virtuoso: system graphs too), and
            # the protocol's dataset would override them anyway: refused rather than misread.
            raise BadRequest(
                "FROM and FROM NAMED are not supported on this server (it serves from a SPARQL store); "
                "use GRAPH, or the default-graph-uri and named-graph-uri parameters"
            )
        if default_graphs is not None or named_graphs is not None:
            served = set(self.graph_names())
            for graph in [*(default_graphs or []), *(named_graphs or [])]:
                if graph not in served:  # also what keeps a value from reaching the store's text
                    raise BadRequest(
                        f"default-graph-uri / named-graph-uri: {graph[:200]!r} is not a graph of this "
                        f"dataset; its graphs are {', '.join(sorted(served))}"
                    )
            dataset: dict[str, list[str]] | None = {
                "default-graph-uri": list(default_graphs or []),
                "named-graph-uri": list(named_graphs or []),
            }
        else:
            graphs = [g.value for g in self.default_graphs(infer)]
            dataset = {"default-graph-uri": graphs, "named-graph-uri": graphs}
        if terms.form(sparql) in ("CONSTRUCT", "DESCRIBE"):
            body, media_type = self._post(text, GRAPH_ACCEPT, dataset)
            fmt = _GRAPH_FORMATS.get(media_type)
            if fmt is None:
                raise BadGateway(f"{self._where} answered a graph as {media_type or 'nothing'}")
            try:
                return [t if isinstance(t, ox.Triple) else t.triple for t in ox.parse(body, format=fmt)]
            except SyntaxError as exc:
                raise BadGateway(f"{self._where} sent a graph that does not parse: {exc}") from None
        return self._select(text, dataset)

    def _select(self, text: str, dataset: dict[str, list[str]] | None) -> ox.QuerySolutions | ox.QueryBoolean:
        body, media_type = self._post(text, RESULTS_JSON, dataset)
        if media_type not in (RESULTS_JSON, "application/json"):
            raise BadGateway(f"{self._where} answered as {media_type or 'nothing'}, not SPARQL JSON results")
        if b'"bnode"' in body:
            body = _blank_node_labels(body)
        try:  # read through once: pyoxigraph parses lazily, and a broken answer must fail here
            first = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
            if not isinstance(first, ox.QuerySolutions):
                return first
            for _ in first:
                pass
            return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        except (SyntaxError, ValueError) as exc:
            raise BadGateway(f"{self._where} sent results that do not parse: {exc}") from None

    def _post(self, text: str, accept: str, dataset: dict[str, list[str]] | None) -> tuple[bytes, str]:
        fields: list[tuple[str, str]] = [("query", text)]
        for name, graphs in (dataset or {}).items():
            fields += [(name, g) for g in graphs]
        if self.settings.engine_timeout_param:
            fields.append((self.settings.engine_timeout_param, str(int(self.settings.query_timeout * 1000))))
        deadline = time.monotonic() + self.settings.query_timeout
        try:
            response = self._pool.request_encode_body(
                "POST",
                self.url,
                fields=fields,
                encode_multipart=False,
                headers={"Accept": accept},
                preload_content=False,
            )
        except urllib3.exceptions.ReadTimeoutError:
            raise self._timed_out() from None
        except urllib3.exceptions.HTTPError as exc:
            log.warning("%s: %s", self._where, exc)
            raise StoreUnavailable(f"{self._where} cannot be reached now; try again shortly", 5) from None
        try:
            body = self._read(response, deadline)
        finally:
            response.release_conn()
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        # Virtuoso's "anytime" answer: cut at its own time-out, marked only by this header.
        if response.headers.get("X-SQL-State") == "S1TAT":
            raise self._timed_out()
        if response.status >= 400:
            said = _said(body)
            if response.status == 400:  # the query: the client's to fix
                raise BadRequest(f"{self._where} refused the query (HTTP {response.status}): {said}")
            if response.status == 429:
                raise StoreUnavailable(f"{self._where} is busy (HTTP 429); try again shortly", 5)
            if response.status == 503:
                raise StoreUnavailable(f"{self._where} is busy or starting (HTTP 503); try again shortly", 5)
            raise BadGateway(f"{self._where} failed (HTTP {response.status}): {said}")
        return body, media_type

    def _read(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        """The body, within the byte limit and the query's deadline: the HTTP time-out alone holds
        per read, and a store that sends a little now and then would never meet it."""
        limit = self.settings.engine_max_bytes
        chunks, size = [], 0
        try:
            for chunk in response.stream(1 << 16):
                if time.monotonic() > deadline:
                    response.close()  # the rest is never read: the connection is not reused
                    raise self._timed_out()
                size += len(chunk)
                if size > limit:
                    raise BadGateway(f"{self._where} sent an answer larger than {limit} bytes")
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError:
            raise self._timed_out() from None
        except urllib3.exceptions.HTTPError as exc:
            log.warning("%s: %s", self._where, exc)
            raise StoreUnavailable(f"{self._where} broke off its answer; try again shortly", 5) from None
        return b"".join(chunks)

    def _timed_out(self) -> QueryTimeout:
        return QueryTimeout(
            f"the query ran longer than the {self.settings.query_timeout:g} s limit in {self._where}"
        )

    def close(self) -> None:
        self._closed.set()
        self.checker.close()
        self._pool.clear()

    def to_rdflib(self) -> Any:  # pragma: no cover - tests compare engines on the embedded store
        raise NotImplementedError("to_rdflib is for the embedded store")


def _blank_node_labels(body: bytes) -> bytes:
    """The answer with blank node labels pyoxigraph accepts: Virtuoso writes ``nodeID://b1234``.
    A label only names a node within one answer, so any one-to-one renaming keeps its meaning."""
    try:
        answer = json.loads(body)
        for row in answer.get("results", {}).get("bindings", []):
            for value in row.values():
                if isinstance(value, dict) and value.get("type") == "bnode":
                    label = value["value"]
                    value["value"] = "b" + "".join(c if c.isalnum() else f"_{ord(c):x}" for c in label)
    except (ValueError, AttributeError, TypeError):
        return body  # pyoxigraph then names what is wrong with it
    return json.dumps(answer).encode("utf-8")


def _said(body: bytes) -> str:
    """The first line of a store's error message, short and printable (it may quote the query)."""
    text = body.decode("utf-8", "replace").strip()
    with contextlib.suppress(ValueError, AttributeError):  # JSON errors name a "message"
        text = json.loads(text).get("message", text)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "no message")
    return "".join(c for c in first if c.isprintable())[:300]
