"""`kg publish` against real stores (tests/stores.py): the Oxigraph server, and Virtuoso (marked)."""

from __future__ import annotations

import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.build import Build
from kg.errors import BadGateway
from kg.iris import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_PUBLISHED, HOS, staging_graph
from kg.publish import DCTERMS, DEFAULT_GRAPH, VOID, Endpoints, publish, read_contents
from tests.stores import Store, oxigraph_server, virtuoso
from tests.support import _free_port

LAUNCHERS = [
    pytest.param(oxigraph_server, id="oxigraph"),
    pytest.param(virtuoso, id="virtuoso", marks=pytest.mark.virtuoso),
]
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
EXTRA = "https://w3id.org/hos-kg/graph/extra"


def _endpoints(store: Store) -> Endpoints:
    return Endpoints(store.query, store.update, store.graph_store)


def _select(store: Store, query: str) -> list[dict[str, dict[str, str]]]:
    """The raw SPARQL JSON bindings: read apart from kg.publish, so a bug there cannot hide here."""
    request = urllib.request.Request(
        store.query,
        data=urllib.parse.urlencode({"query": query}).encode(),
        headers={"Accept": "application/sparql-results+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)["results"]["bindings"]


def _count(store: Store, graph: str) -> int:
    return int(
        _select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")[0]["n"]["value"]
    )


def _term(binding: dict[str, str]) -> ox.NamedNode | ox.Literal | None:
    """An IRI or literal as pyoxigraph has it (Virtuoso says "typed-literal"); None: a blank node."""
    if binding["type"] == "uri":
        return ox.NamedNode(binding["value"])
    if binding["type"] == "bnode":
        return None
    if "xml:lang" in binding:
        return ox.Literal(binding["value"], language=binding["xml:lang"])
    return ox.Literal(binding["value"], datatype=ox.NamedNode(binding.get("datatype", XSD_STRING)))


def _shape(triples: list[tuple]) -> tuple[set[tuple], int, int]:
    """What can be compared of a graph across stores: its triples without a blank node, the number
    of those with one, and the number of distinct blank nodes (more if a node was split in two)."""
    plain = {t for t in triples if None not in (t[0], t[2])}
    blank = [t for t in triples if None in (t[0], t[2])]
    nodes = {t[i + 3] for t in blank for i in (0, 1) if t[i + 3] is not None}
    return plain, len(blank), len(nodes)


def _store_shape(store: Store, graph: str) -> tuple[set[tuple], int, int]:
    rows = _select(store, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    triples = [
        (
            _term(r["s"]),
            _term(r["p"]),
            _term(r["o"]),
            r["s"]["value"] if r["s"]["type"] == "bnode" else None,
            r["o"]["value"] if r["o"]["type"] == "bnode" else None,
        )
        for r in rows
    ]
    return _shape(triples)


def _build_shape(build: Build, graph: str) -> tuple[set[tuple], int, int]:
    def plain(t: object) -> object:
        return None if isinstance(t, ox.BlankNode) else t

    def label(t: object) -> str | None:
        return t.value if isinstance(t, ox.BlankNode) else None

    triples = [
        (plain(q.subject), q.predicate, plain(q.object), label(q.subject), label(q.object))
        for q in ox.parse(path=build.quads, format=ox.RdfFormat.N_QUADS)
        if q.graph_name == ox.NamedNode(graph)
    ]
    return _shape(triples)


def _as_virtuoso_answers(shape: tuple[set[tuple], int, int]) -> tuple[set[tuple], int, int]:
    """Virtuoso answers some literals in its own spelling: "true"^^xsd:boolean as "1", and
    "PT2H15M"^^xsd:duration as "8100.0" (seconds, still typed xsd:duration). Compare those by
    subject, predicate and datatype; everything else must be as the build has it."""
    plain, blank, nodes = shape

    def comparable(t: tuple) -> tuple:
        o = t[2]
        if isinstance(o, ox.Literal) and o.datatype.value in (XSD + "boolean", XSD + "duration"):
            return (*t[:2], o.datatype, *t[3:])
        return t

    return {comparable(t) for t in plain}, blank, nodes


def _published(store: Store) -> dict[str, list[str]]:
    """GRAPH_PUBLISHED's triples: predicate (or graph + predicate for a part) → objects."""
    rows = _select(store, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{GRAPH_PUBLISHED}> {{ ?s ?p ?o }} }}")
    said: dict[str, list[str]] = {}
    for r in rows:
        key = (
            r["p"]["value"] if r["s"]["value"] == GRAPH_PUBLISHED else f"{r['s']['value']} {r['p']['value']}"
        )
        said.setdefault(key, []).append(r["o"]["value"])
    return said


def _staging_left(store: Store) -> list[str]:
    rows = _select(store, "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return [r["g"]["value"] for r in rows if "/v/" in r["g"]["value"]]


def _hand_made(folder: Path, quads: str) -> Build:
    """A build folder with only a graph.nq: all kg.publish reads (no manifest: union default graph)."""
    folder.mkdir(parents=True)
    (folder / Build.QUADS).write_text(quads, encoding="utf-8")
    return Build(folder)


# ------------------------------------------------------------ one store, published once, per launcher


@pytest.fixture(scope="module", params=LAUNCHERS)
def served(request, built, settings, tmp_path_factory) -> Iterator[tuple[Store, Build]]:
    """A store with the seed build published, by a chunk size small enough that every graph
    takes several requests (so blank nodes must be kept together on purpose)."""
    build = settings.build
    with request.param(tmp_path_factory.mktemp("store")) as store:
        summary = publish(build, _endpoints(store), chunk=500)
        assert summary.loaded == read_contents(build).triples
        yield store, build


def test_publish_puts_every_graph_and_says_which_build_is_served(served):
    store, build = served
    contents = read_contents(build)
    assert set(contents.counts) == {GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED}
    said = _published(store)
    assert said[DCTERMS + "identifier"] == [build.identity()]
    assert sorted(said[DCTERMS + "hasPart"]) == sorted(contents.counts)
    assert said[HOS + "unionDefaultGraph"] in (["true"], ["1"])  # Virtuoso writes booleans as 1
    assert len(said[DCTERMS + "modified"]) == 1
    for graph, n in contents.counts.items():
        assert said[f"{graph} {VOID}triples"] == [str(n)]
        assert _count(store, graph) == n
        expected = _build_shape(build, graph)
        if store.kind == "virtuoso":
            assert _as_virtuoso_answers(_store_shape(store, graph)) == _as_virtuoso_answers(expected), graph
        else:
            assert _store_shape(store, graph) == expected, graph
    assert _staging_left(store) == []


def test_publishing_the_served_build_again_writes_nothing(served):
    store, build = served
    before = _published(store)[DCTERMS + "modified"]
    summary = publish(build, _endpoints(store))
    assert summary.loaded == 0
    assert "already serves build " + build.identity() in summary.line(store.query)
    assert _published(store)[DCTERMS + "modified"] == before


# ------------------------------------------------------------ a fresh Oxigraph server per test


@pytest.fixture()
def oxigraph(tmp_path) -> Iterator[Store]:
    with oxigraph_server(tmp_path / "store") as store:
        yield store


def test_a_run_resumes_keeping_complete_staging_graphs_and_dropping_stale_ones(oxigraph, built, settings):
    """As a failed run leaves the store: one graph fully staged, one half, and a staging graph of
    some other build. The re-run loads only what is missing and leaves no staging graph."""
    build = settings.build
    identity, contents = build.identity(), read_contents(build)
    ontology = "".join(
        f"{q.subject} {q.predicate} {q.object} .\n"
        for q in ox.parse(path=build.quads, format=ox.RdfFormat.N_QUADS)
        if q.graph_name == ox.NamedNode(GRAPH_ONTOLOGY)
    )
    for graph, body in [
        (staging_graph(GRAPH_ONTOLOGY, identity), ontology),
        (staging_graph(GRAPH_ASSERTED, identity), '<urn:x:a> <urn:x:b> "half" .\n'),
        (staging_graph(GRAPH_ASSERTED, "0123456789abcdef"), '<urn:x:a> <urn:x:b> "stale" .\n'),
    ]:
        put = urllib.request.Request(
            f"{oxigraph.graph_store}?{urllib.parse.urlencode({'graph': graph})}",
            data=body.encode(),
            method="PUT",
            headers={"Content-Type": "application/n-triples"},
        )
        urllib.request.urlopen(put, timeout=30).close()

    summary = publish(build, _endpoints(oxigraph))
    assert summary.loaded == contents.triples - contents.counts[GRAPH_ONTOLOGY]
    for graph, n in contents.counts.items():
        assert _count(oxigraph, graph) == n
    assert _store_shape(oxigraph, GRAPH_ASSERTED) == _build_shape(build, GRAPH_ASSERTED)
    assert _staging_left(oxigraph) == []


def test_a_run_stopped_by_the_store_going_down_completes_when_run_again(tmp_path, built, settings):
    build = settings.build
    with oxigraph_server(tmp_path / "store") as store:
        sent: list[int] = []

        class StopTheStore:  # the store dies after the third request of triples
            def __enter__(self):
                return self

            def __exit__(self, *exc: object) -> None:
                pass

            def update(self, n: int) -> None:
                sent.append(n)
                if len(sent) == 3:
                    store.process.kill()
                    store.process.wait()

        with pytest.raises(BadGateway, match="cannot reach the store at " + store.graph_store):
            publish(build, _endpoints(store), chunk=1000, progress=lambda total: StopTheStore())
    with oxigraph_server(tmp_path / "store") as store:  # the same database, on another port
        assert _staging_left(store), "the failed run should have left staging graphs behind"
        summary = publish(build, _endpoints(store), chunk=1000)
        assert summary.loaded > 0
        said = _published(store)
        assert said[DCTERMS + "identifier"] == [build.identity()]
        for graph, n in read_contents(build).counts.items():
            assert _count(store, graph) == n
        assert _staging_left(store) == []


def test_readers_see_the_old_version_or_the_new_never_half(oxigraph, built, settings, tmp_path):
    """While a second build is switched in, a reader asks again and again for the identity and
    every graph's size in one query: each answer is the old version's or the new one's."""
    old = settings.build
    publish(old, _endpoints(oxigraph))
    # The new version: the seed with 10,000 more triples in the asserted graph, so the switch
    # takes long enough for the reader to ask many times during it.
    more = "".join(f'<urn:x:s{i}> <urn:x:p> "{i}" <{GRAPH_ASSERTED}> .\n' for i in range(10_000))
    new = _hand_made(tmp_path / "new", old.quads.read_text(encoding="utf-8") + more)
    graphs = sorted(read_contents(old).counts)
    states = {
        (b.identity(), tuple(read_contents(b).counts[g] for g in graphs)): name
        for name, b in (("old", old), ("new", new))
    }
    ask = (
        f"SELECT ?id ?g (COUNT(?s) AS ?n) WHERE {{ "
        f"GRAPH <{GRAPH_PUBLISHED}> {{ <{GRAPH_PUBLISHED}> <{DCTERMS}identifier> ?id }} "
        f"VALUES ?g {{ {' '.join(f'<{g}>' for g in graphs)} }} "
        f"OPTIONAL {{ GRAPH ?g {{ ?s ?p ?o }} }} }} GROUP BY ?id ?g"
    )
    seen: list[tuple] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            rows = _select(oxigraph, ask)
            counts = {r["g"]["value"]: int(r["n"]["value"]) for r in rows}
            seen.append((rows[0]["id"]["value"], tuple(counts.get(g, 0) for g in graphs)))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        publish(new, _endpoints(oxigraph))
    finally:
        done.set()
        reader.join()
    assert seen[0] in states and states[seen[0]] == "old" and seen[-1] in states
    assert [s for s in seen if s not in states] == [], f"half a version seen, of {len(seen)} answers"
    assert states[seen[-1]] == "new"


def test_graphs_the_new_build_lacks_are_dropped(oxigraph, tmp_path):
    first = _hand_made(
        tmp_path / "first",
        f'<urn:x:a> <urn:x:b> "1" <{GRAPH_ASSERTED}> .\n<urn:x:a> <urn:x:b> "2" <{EXTRA}> .\n',
    )
    second = _hand_made(tmp_path / "second", f'<urn:x:a> <urn:x:b> "3" <{GRAPH_ASSERTED}> .\n')
    publish(first, _endpoints(oxigraph))
    assert _count(oxigraph, EXTRA) == 1
    publish(second, _endpoints(oxigraph))
    assert _count(oxigraph, EXTRA) == 0
    assert _published(oxigraph)[DCTERMS + "hasPart"] == [GRAPH_ASSERTED]
    assert (
        _select(oxigraph, f"SELECT ?o WHERE {{ GRAPH <{GRAPH_ASSERTED}> {{ ?s ?p ?o }} }}")[0]["o"]["value"]
        == "3"
    )


def test_a_default_graph_is_served_as_a_named_graph_the_published_graph_lists(oxigraph, tmp_path):
    build = _hand_made(
        tmp_path / "b", '<urn:x:a> <urn:x:b> "default" .\n<urn:x:a> <urn:x:b> "named" <urn:x:g> .\n'
    )
    publish(build, _endpoints(oxigraph))
    assert sorted(_published(oxigraph)[DCTERMS + "hasPart"]) == [DEFAULT_GRAPH, "urn:x:g"]
    assert _count(oxigraph, DEFAULT_GRAPH) == 1 and _count(oxigraph, "urn:x:g") == 1
    assert _select(oxigraph, "SELECT * WHERE { ?s ?p ?o }") == []  # the store's own default graph
    assert _staging_left(oxigraph) == []


def test_a_count_the_store_does_not_confirm_stops_before_the_switch(oxigraph, tmp_path):
    """Two spellings of one integer are one triple in the store: the build's count is not met,
    and the store keeps serving what it served."""
    first = _hand_made(tmp_path / "first", f'<urn:x:a> <urn:x:b> "1" <{GRAPH_ASSERTED}> .\n')
    publish(first, _endpoints(oxigraph))
    integer = "^^<http://www.w3.org/2001/XMLSchema#integer>"
    second = _hand_made(
        tmp_path / "second",
        "".join(f'<urn:x:a> <urn:x:b> "{n}"{integer} <{GRAPH_ASSERTED}> .\n' for n in ("2", "02")),
    )
    with pytest.raises(
        BadGateway, match=f"holds 1 triples .* not the 2 of graph {GRAPH_ASSERTED}.*nothing switched"
    ):
        publish(second, _endpoints(oxigraph))
    assert _published(oxigraph)[DCTERMS + "identifier"] == [first.identity()]


# ------------------------------------------------------------ the command


def _kg(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    kg_bin = Path(sys.executable).with_name("kg")
    return subprocess.run([str(kg_bin), *args], capture_output=True, text=True, timeout=120, env=env)


def test_the_command_publishes_and_prints_a_summary(oxigraph, built, settings):
    done = _kg("publish", "--to", oxigraph.query, "--build", str(settings.build.folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"published build {settings.build.identity()} to {oxigraph.query}: 3 graphs"
    )
    again = _kg("publish", "--to", oxigraph.query, "--build", str(settings.build.folder))
    assert again.returncode == 0 and "already serves build" in again.stdout


def test_the_command_names_a_store_it_cannot_reach(built, settings):
    url = f"http://127.0.0.1:{_free_port()}/query"
    done = _kg("publish", "--to", url, "--build", str(settings.build.folder))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot reach the store at {url}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--build", "/nonexistent/build"),
            "/nonexistent/build/graph.nq does not exist: run `kg build` first",
        ),
        (("--to", "http://127.0.0.1:1/ds"), "give --update and --graph-store"),
        (("--to", "store.example"), "is not an http(s) URL"),
    ],
)
def test_the_command_says_what_is_wrong_in_one_line(args, message):
    done = _kg("publish", *(("--to", "http://127.0.0.1:1/query") if "--to" not in args else ()), *args)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"Error: {done.stderr.strip().removeprefix('Error: ')}"]
    assert message in done.stderr


def test_credentials_go_in_a_basic_authorization_header_and_a_refusal_is_told(tmp_path, monkeypatch):
    """A store that wants other credentials answers 401: its status and words are the message."""
    heard: list[str | None] = []

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            heard.append(self.headers.get("Authorization"))
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(401)
            self.send_header("Content-Length", "12")
            self.end_headers()
            self.wfile.write(b"who are you?")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/query"
    build = _hand_made(tmp_path / "b", f'<urn:x:a> <urn:x:b> "1" <{GRAPH_ASSERTED}> .\n')
    try:
        with pytest.raises(BadGateway, match=f"^{url} answered POST with HTTP 401: who are you\\?$"):
            publish(build, Endpoints.derive(url), auth="editor:s3cret:x")
    finally:
        server.shutdown()
        server.server_close()
    assert heard == ["Basic " + base64.b64encode(b"editor:s3cret:x").decode()]
    done = _kg(
        "publish", "--to", url, "--build", str(build.folder), env={**os.environ, "KG_PUBLISH_AUTH": "editor"}
    )
    assert done.returncode != 0 and done.stderr == "Error: KG_PUBLISH_AUTH must be user:password\n"


def test_endpoints_are_derived_from_the_query_url():
    assert Endpoints.derive("http://h:7878/query") == Endpoints(
        "http://h:7878/query", "http://h:7878/update", "http://h:7878/store"
    )
    assert Endpoints.derive("http://h/sparql") == Endpoints(
        "http://h/sparql", "http://h/sparql", "http://h/sparql-graph-crud"
    )
    assert (
        Endpoints.derive("http://h/ds", "http://h/ds/update", "http://h/ds/data").graph_store
        == "http://h/ds/data"
    )
