"""`kg publish`: put a build into a SPARQL store, switching the served version in one step.

The store is reached by the standard protocols only: the SPARQL 1.1 Graph Store HTTP Protocol
to load, the SPARQL 1.1 Protocol to count and to switch. The steps:

1. read graph.nq: each graph's triples, counted, and those with a blank node set apart;
2. if the store already serves this build (GRAPH_PUBLISHED names its identity, and every graph
   holds the count it lists and the build has), stop: nothing is written;
3. load each graph into its staging graph (kg.iris.staging_graph: versioned by the build's
   identity) in chunks of N-Triples, a PUT then POSTs; a staging graph that already holds the
   expected count is left as it is, so a run that failed half-way resumes where it stopped;
4. count each staging graph: a mismatch stops here, nothing switched;
5. switch in ONE update request: COPY each staging graph onto its served name, drop the served
   graphs the new build lacks, and rewrite GRAPH_PUBLISHED. A store that runs one request as
   one transaction (Oxigraph does) shows readers the old version or the new, never half;
6. drop the staging graphs: this build's, and any left by runs of other builds.

Virtuoso 7.2 takes the same requests, but its switch is not atomic: it commits a COPY in steps
(a reader counted 10,000 of a graph's 100,000 triples during one), and a query that reads while
it switches can make the switch fail with SR171 "Transaction timed out"; run it again then.
Counts agree there, though it answers some literals in its own spelling (booleans as 1 and 0,
durations as seconds).

COPY then DROP, not MOVE: the same end, but the switch's transaction holds a third fewer writes
(Oxigraph writes some 15,000 quads a second in a transaction; with the project's full build of
536,000 triples, one switch by MOVE took 118 s, one by COPY 78 s).

Blank nodes: a store gives the blank nodes of each request fresh identities, so every triple
with a blank node goes in the first request of its graph. A blank node that two graphs share (in
this project: a class expression of the ontology that the inferred graph says more of, such as
its being a subclass of owl:Thing) cannot survive loading graph by graph: each graph gets its own
node. The summary counts such nodes.

A build's default graph, if it has one, is served as the named graph ``DEFAULT_GRAPH``: the
remote engine (kg.remote) reads only the named graphs GRAPH_PUBLISHED lists.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
import urllib3

from kg.build import Build, now
from kg.errors import BadGateway, BadSetting, DataError
from kg.iris import BASE, GRAPH_PUBLISHED, HOS, staging_graph

CHUNK = 100_000  # triples per Graph Store request: about 12 MB of N-Triples for this project's data
DEFAULT_GRAPH = BASE + "graph/default"  # the name a build's default graph is served under
DCTERMS, VOID = "http://purl.org/dc/terms/", "http://rdfs.org/ns/void#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Connection errors mean the request never left: safe to retry for every step. A request that
# was sent and lost is retried only where repeating it cannot change the outcome (queries,
# PUT, DROP SILENT), never for a POST of triples or the switch.
_ONCE = urllib3.Retry(total=3, connect=3, read=0, status=0, other=0, redirect=0, backoff_factor=0.5)
_IDEMPOTENT = _ONCE.new(read=2, allowed_methods=None)
_TIMEOUT = urllib3.Timeout(connect=10, read=600)  # a chunk or the switch may take minutes on a big store


class _Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


@dataclass(frozen=True)
class Endpoints:
    """Where a store answers queries, updates and the Graph Store Protocol."""

    query: str
    update: str
    graph_store: str

    @classmethod
    def derive(cls, to: str, update: str | None = None, graph_store: str | None = None) -> Endpoints:
        """The endpoints of the store whose query endpoint is ``to``: the Oxigraph server's
        (…/query, …/update, …/store) and Virtuoso's (…/sparql, …/sparql-graph-crud) are known."""
        parts = urlsplit(to)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadSetting(f"--to {to!r} is not an http(s) URL of a SPARQL query endpoint")
        base, _, last = to.rstrip("/").rpartition("/")
        known = {"query": ("update", "store"), "sparql": ("sparql", "sparql-graph-crud")}.get(last)
        if known is None:
            if update is None or graph_store is None:
                raise BadSetting(
                    f"cannot tell the update and Graph Store endpoints of {to} (known: …/query of the "
                    "Oxigraph server, …/sparql of Virtuoso): give --update and --graph-store"
                )
            return cls(to, update, graph_store)
        return cls(to, update or f"{base}/{known[0]}", graph_store or f"{base}/{known[1]}")


@dataclass
class Contents:
    """What graph.nq holds, by served graph name."""

    counts: dict[str, int] = field(default_factory=dict)
    blank: dict[str, list[ox.Triple]] = field(default_factory=dict)  # the triples with a blank node
    shared_blank_nodes: int = 0  # blank nodes in more than one graph (see the module's docstring)

    @property
    def triples(self) -> int:
        return sum(self.counts.values())


def read_contents(build: Build) -> Contents:
    """Count graph.nq's triples per graph and keep those with a blank node (a pass over the file).

    graph.nq is written from a store, so it holds no quad twice and the counts are the store's."""
    contents = Contents()
    seen_in: dict[ox.BlankNode, str] = {}
    shared: set[ox.BlankNode] = set()
    for quad in _quads(build):
        graph = _name(quad.graph_name)
        contents.counts[graph] = contents.counts.get(graph, 0) + 1
        blanks = [t for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)]
        if blanks:
            contents.blank.setdefault(graph, []).append(quad.triple)
            for node in blanks:
                if seen_in.setdefault(node, graph) != graph:
                    shared.add(node)
    contents.shared_blank_nodes = len(shared)
    return contents


@dataclass(frozen=True)
class Summary:
    identity: str
    graphs: dict[str, int]
    seconds: float
    loaded: int  # triples sent; 0 when the store already served the build
    shared_blank_nodes: int = 0

    def line(self, url: str) -> str:
        triples = f"{sum(self.graphs.values()):,} triples"
        if not self.loaded:
            return f"{url} already serves build {self.identity} ({len(self.graphs)} graphs, {triples})"
        return (
            f"published build {self.identity} to {url}: {len(self.graphs)} graphs, {triples} "
            f"({self.loaded:,} loaded) in {self.seconds:.1f} s"
        )


def publish(
    build: Build,
    endpoints: Endpoints,
    *,
    auth: str | None = None,
    progress: Callable[[int], AbstractContextManager[_Progress]] | None = None,
    chunk: int = CHUNK,
) -> Summary:
    """Publish ``build`` to the store (the module's docstring tells the steps). ``auth`` is
    ``user:password`` for HTTP Basic; ``progress(total)`` gives a bar to advance by triples."""
    started = time.monotonic()
    identity = build.require().identity()
    manifest = build.manifest()
    union = manifest.union_default_graph if manifest is not None else True
    store = _Store(endpoints, auth)  # first: a bad KG_PUBLISH_AUTH is told before graph.nq is read
    contents = read_contents(build)

    served = store.published()
    gone = set(served[1]) - set(contents.counts) if served is not None else set()
    if (
        served is not None
        and served == (identity, contents.counts)
        and all(store.count(g) == n for g, n in contents.counts.items())
    ):
        store.drop_staging(set(contents.counts) | gone)  # left if a run stopped right after its switch
        return Summary(identity, contents.counts, time.monotonic() - started, 0)

    staging = {g: staging_graph(None if g == DEFAULT_GRAPH else g, identity) for g in contents.counts}
    todo = {g for g, n in contents.counts.items() if store.count(staging[g]) != n}
    if todo:
        store.update(" ;\n".join(f"DROP SILENT GRAPH <{staging[g]}>" for g in sorted(todo)), retry=True)
    loaded = sum(contents.counts[g] for g in todo)
    with (progress or _no_progress)(loaded) as bar:
        for g, triples, first in _chunks(build, contents, todo, chunk):
            store.load(staging[g], triples, first)
            bar.update(len(triples))

    for g, expected in contents.counts.items():
        found = store.count(staging[g])
        if found != expected:
            raise BadGateway(
                f"{endpoints.graph_store} holds {found:,} triples in {staging[g]} after loading, "
                f"not the {expected:,} of graph {g} in the build: nothing switched"
            )

    store.update(_switch(identity, union, contents.counts, staging, gone), retry=False)
    store.drop_staging(set(contents.counts) | gone)
    return Summary(identity, contents.counts, time.monotonic() - started, loaded, contents.shared_blank_nodes)


def _switch(
    identity: str, union: bool, counts: dict[str, int], staging: dict[str, str], gone: set[str]
) -> str:
    """The one update request that makes the staged build the served one. The IRIs come from
    the build's parsed N-Quads (no `>` or space can be in them); the identity is hex digits."""
    copies = [f"COPY SILENT GRAPH <{staging[g]}> TO GRAPH <{g}>" for g in sorted(counts)]
    drops = [f"DROP SILENT GRAPH <{g}>" for g in sorted(gone)]
    about = [
        f'<{GRAPH_PUBLISHED}> <{DCTERMS}identifier> "{identity}"',
        f'<{GRAPH_PUBLISHED}> <{DCTERMS}modified> "{now()}"^^<{XSD}dateTime>',
        f"<{GRAPH_PUBLISHED}> <{HOS}unionDefaultGraph> {'true' if union else 'false'}",
        *(f"<{GRAPH_PUBLISHED}> <{DCTERMS}hasPart> <{g}>" for g in sorted(counts)),
        *(f'<{g}> <{VOID}triples> "{n}"^^<{XSD}integer>' for g, n in sorted(counts.items())),
    ]
    insert = f"INSERT DATA {{ GRAPH <{GRAPH_PUBLISHED}> {{\n  " + " .\n  ".join(about) + " .\n} }"
    return " ;\n".join([*copies, *drops, f"DROP SILENT GRAPH <{GRAPH_PUBLISHED}>", insert])


def _is_staging(graph: str, names: set[str]) -> bool:
    """Whether ``graph`` is a staging graph (kg.iris.staging_graph) of one of ``names``."""
    return any(graph.startswith(staging_graph(None if n == DEFAULT_GRAPH else n, "")) for n in names)


def _chunks(
    build: Build, contents: Contents, todo: set[str], size: int
) -> Iterable[tuple[str, list[ox.Triple], bool]]:
    """(graph, triples, first request of the graph?) for the graphs in ``todo``, in one pass over
    graph.nq. A graph's first request carries all its triples with a blank node."""
    buffers = {g: list(contents.blank.get(g, [])) for g in todo}
    started: set[str] = set()
    for quad in _quads(build):
        graph = _name(quad.graph_name)
        if (
            graph not in todo
            or isinstance(quad.subject, ox.BlankNode)
            or isinstance(quad.object, ox.BlankNode)
        ):
            continue
        buffer = buffers[graph]
        buffer.append(quad.triple)
        if len(buffer) >= size:
            yield graph, buffer, graph not in started
            started.add(graph)
            buffers[graph] = []
    for graph, buffer in buffers.items():
        if buffer:
            yield graph, buffer, graph not in started


def _quads(build: Build) -> Iterable[ox.Quad]:
    return ox.parse(path=build.quads, format=ox.RdfFormat.N_QUADS)


def _name(graph: ox.NamedNode | ox.BlankNode | ox.DefaultGraph) -> str:
    if isinstance(graph, ox.BlankNode):  # TriG allows it; no protocol can name such a graph
        raise DataError(f"graph.nq has a graph named by a blank node ({graph}): it cannot be published")
    return graph.value if isinstance(graph, ox.NamedNode) else DEFAULT_GRAPH


def _no_progress(total: int) -> AbstractContextManager[_Progress]:
    class _Silent:
        def update(self, n_steps: int) -> None:
            pass

    return nullcontext(_Silent())


class _Store:
    """The store's three endpoints over one keep-alive connection pool."""

    def __init__(self, endpoints: Endpoints, auth: str | None) -> None:
        self.endpoints = endpoints
        self.pool = urllib3.PoolManager(maxsize=2, timeout=_TIMEOUT)
        self.headers: dict[str, str] = {}
        if auth:
            if ":" not in auth:
                raise BadSetting("KG_PUBLISH_AUTH must be user:password")
            self.headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()

    def select(self, query: str) -> list[dict[str, str]]:
        """The solutions of a SELECT query, each variable's value as text."""
        body = self._request(
            "POST",
            self.endpoints.query,
            urlencode({"query": query}),
            "application/x-www-form-urlencoded",
            "application/sparql-results+json",
            _IDEMPOTENT,
        )
        try:
            bindings = json.loads(body)["results"]["bindings"]
        except (ValueError, KeyError, TypeError):
            raise BadGateway(f"{self.endpoints.query} did not answer with SPARQL JSON results") from None
        return [{k: v["value"] for k, v in row.items()} for row in bindings]

    def update(self, text: str, *, retry: bool) -> None:
        form = urlencode({"update": text})
        kind = "application/x-www-form-urlencoded"
        self._request("POST", self.endpoints.update, form, kind, "*/*", _IDEMPOTENT if retry else _ONCE)

    def load(self, graph: str, triples: list[ox.Triple], first: bool) -> None:
        """PUT (replace) or POST (add) ``triples`` into ``graph`` by the Graph Store Protocol."""
        url = f"{self.endpoints.graph_store}?{urlencode({'graph': graph})}"
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) if triples else b""
        method, retries = ("PUT", _IDEMPOTENT) if first else ("POST", _ONCE)
        self._request(method, url, body, "application/n-triples", "*/*", retries)

    def count(self, graph: str) -> int:
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"]) if rows and "n" in rows[0] else 0

    def published(self) -> tuple[str, dict[str, int]] | None:
        """The identity and graph counts GRAPH_PUBLISHED lists, or None if it says nothing."""
        rows = self.select(
            f"SELECT ?identity ?graph ?triples WHERE {{ GRAPH <{GRAPH_PUBLISHED}> {{ "
            f"<{GRAPH_PUBLISHED}> <{DCTERMS}identifier> ?identity . "
            f"OPTIONAL {{ <{GRAPH_PUBLISHED}> <{DCTERMS}hasPart> ?graph . "
            f"OPTIONAL {{ ?graph <{VOID}triples> ?triples }} }} }} }}"
        )
        if not rows:
            return None
        graphs = {r["graph"]: int(r.get("triples", -1)) for r in rows if "graph" in r}
        return rows[0]["identity"], graphs

    def drop_staging(self, names: set[str]) -> None:
        """Drop every staging graph of the graphs ``names`` (kg.iris.staging_graph), of any build."""
        stale = sorted(g for g in self.graphs() if _is_staging(g, names))
        if stale:
            self.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in stale), retry=True)

    def graphs(self) -> set[str]:
        """The store's named graphs. Oxigraph lists them from `GRAPH ?g {}` at once; Virtuoso
        answers that with one empty solution, and there GROUP BY is quick where DISTINCT is not
        (0.02 s against 44 s with this project's full build)."""
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g {} }")
        if not any("g" in r for r in rows):
            rows = self.select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        return {r["g"] for r in rows if "g" in r}

    def _request(
        self, method: str, url: str, body: str | bytes, content_type: str, accept: str, retries: urllib3.Retry
    ) -> bytes:
        headers = {**self.headers, "Content-Type": content_type, "Accept": accept}
        try:
            response = self.pool.request(method, url, body=body, headers=headers, retries=retries)
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            said = str(reason).split("): ", 1)[-1]  # without urllib3's "HTTPConnection(host=…, port=…)"
            if isinstance(
                reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
            ):
                raise BadGateway(f"cannot reach the store at {url.split('?')[0]}: {said}") from None
            raise BadGateway(f"lost the store at {url.split('?')[0]} during a {method}: {said}") from None
        if response.status >= 400:
            said = " ".join(response.data.decode("utf-8", "replace").split())[:300]
            raise BadGateway(f"{url.split('?')[0]} answered {method} with HTTP {response.status}: {said}")
        return response.data
