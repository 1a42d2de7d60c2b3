"""One way to the engine: pages, the API and the CLI all query through kg.engine.Engine and its limits."""

from __future__ import annotations

import dataclasses
import os
import re

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.config import REPO_ROOT
from kg.engine import Engine
from kg.errors import QueryTimeout
from kg.execute import Job
from kg.store import KnowledgeGraph
from kg.web import close_app, create_app

# 3,000+ triples cubed, counted: far beyond any time limit (rows alone would stream at once).
CROSS_PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
MEETINGS = "SELECT ?m WHERE { ?m a hos:Meeting } ORDER BY ?m"
HELSINKI = "/id/meeting/2018-07-16-helsinki"


class CountingEngine(Engine):
    """An Engine that keeps every job it was asked to run (cached or not), and for whom."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.jobs: list[Job] = []
        self.clients: list[str | None] = []

    def run(self, job: Job, **kwargs):
        self.jobs.append(job)
        self.clients.append(kwargs.get("client_id"))
        return super().run(job, **kwargs)


@pytest.fixture()
def counted(settings, kg):
    """An app whose Engine counts its runs (in-process: counting needs no query processes)."""
    app = create_app(dataclasses.replace(settings, query_workers=0), kg=kg)
    engine = CountingEngine(kg, app.config["KG_SETTINGS"])
    app.extensions["kg_engine"] = engine
    yield app.test_client(), engine
    close_app(app)


@pytest.fixture(scope="module")
def bounded(settings, kg):
    """Tiny limits, with query processes: a row cap of 2 and a time limit of half a second."""
    app = create_app(dataclasses.replace(settings, max_rows=2, query_timeout=0.5, query_workers=1), kg=kg)
    yield app
    close_app(app)


def _marks(svg: str) -> int:
    return svg.count('class="mark ')


# ---------------------------------------------------------------- nothing else reaches the store


def test_no_view_or_command_queries_the_store_directly():
    """Only kg.engine (through kg.execute and kg.workers) evaluates SPARQL; views and commands ask it."""
    files = [*sorted((REPO_ROOT / "src" / "kg" / "web").rglob("*.py"))]
    files += [REPO_ROOT / "src" / "kg" / "cli.py", REPO_ROOT / "src" / "kg" / "console.py"]
    offending = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.query\(|extensions\[\s*[\"']kg[\"']\s*\]|\bexecute\(", line):
                offending.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert not offending, "query through the Engine instead:\n" + "\n".join(offending)


def test_the_home_page_and_entity_pages_query_through_the_engine(counted):
    client, engine = counted
    assert client.get("/").status_code == 200
    home = {job.query for job in engine.jobs}
    assert any("?meeting a hos:Meeting" in text for text in home), "the timeline's query"
    for path in (HELSINKI, HELSINKI + ".ttl", "/ontology/Meeting", "/timeline.svg"):
        before = len(engine.jobs)
        assert client.get(path).status_code == 200, path
        assert len(engine.jobs) > before, f"{path} did not query through the Engine"


def test_sparql_and_canned_queries_go_through_the_same_engine(counted):
    client, engine = counted
    client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    client.get("/api/queries/gifts.json")
    client.get("/queries/gifts")
    assert len(engine.jobs) == 3


# ---------------------------------------------------------------- the limits hold for pages


def test_pages_keep_to_the_row_cap_unless_they_declare_their_own_bound(app, bounded):
    full = app.test_client().get("/timeline.svg").get_data(as_text=True)
    assert _marks(full) > 2, "the project's graph has more than two meetings"
    client = bounded.test_client()
    # The timeline declares that it shows every meeting: the cap of 2 does not cut it.
    assert _marks(client.get("/timeline.svg").get_data(as_text=True)) == _marks(full)
    home = client.get("/")
    assert home.status_code == 200 and _marks(home.get_data(as_text=True)) == _marks(full)
    page = client.get(HELSINKI)
    assert page.status_code == 200
    # A description declares nothing: it gets the cap, as /sparql would.
    described = client.get(HELSINKI + ".nt").get_data(as_text=True)
    assert len(described.strip().splitlines()) == 2


def test_rows_keep_to_the_cap_or_the_callers_declared_bound(kg, settings):
    with Engine(kg, dataclasses.replace(settings, max_rows=3, query_workers=0)) as engine:
        one = engine.rows(MEETINGS, max_rows=1)
        assert len(one) == 1 and one.truncated
        capped = engine.rows(MEETINGS)
        assert len(capped) == 3 and capped.truncated
        assert all(isinstance(row["m"], ox.NamedNode) for row in capped)
        declared = engine.rows(MEETINGS, max_rows=100)
        assert len(declared) > 3 and not declared.truncated
        bound = engine.rows(
            "SELECT ?label ?_iri WHERE { ?_iri rdfs:label ?label }",
            max_rows=100,
            bindings={"_iri": ox.NamedNode("https://w3id.org/hos-kg/id/place/osaka")},
        )
        assert not bound.truncated and {r["label"].language for r in bound} >= {"en", "bn", "ru"}


def test_rows_past_the_time_limit_raise_query_timeout(bounded):
    engine: Engine = bounded.extensions["kg_engine"]
    with pytest.raises(QueryTimeout, match=r"longer than the 0\.5 s limit"):
        engine.rows(CROSS_PRODUCT, max_rows=1)
    assert engine.processes is not None, "the time limit needs a query process to stop"


def test_a_page_past_the_time_limit_gets_503(bounded, monkeypatch):
    """A page whose query runs too long is stopped like any /sparql query."""
    from kg.web import front

    monkeypatch.setattr(front, "_internal", lambda name, max_rows: front.page_rows(_slow(), max_rows=1))
    response = bounded.test_client().get("/")
    assert response.status_code == 503
    assert "longer than the 0.5 s limit" in response.get_json()["error"]


def _slow():
    from kg.queries import CannedQuery

    return CannedQuery(name="slow", title="", description="", text=CROSS_PRODUCT, path=REPO_ROOT)


# ---------------------------------------------------------------- the Engine itself


def test_answers_are_cached_by_build_and_job(kg, settings):
    job = Job("SELECT (STRUUID() AS ?u) WHERE {}", results="application/sparql-results+json", graph=None)
    with Engine(kg, dataclasses.replace(settings, query_workers=0)) as engine:
        first, hit = engine.run(job)
        assert not hit
        again, hit = engine.run(job)
        assert hit and again.body == first.body
        fresh, hit = engine.run(job, fresh=True)
        assert not hit and fresh.body != first.body
        assert engine.run(job) == (fresh, True), "a fresh answer replaces the stored one"


def test_in_process_only_without_query_processes(kg, settings):
    assert Engine(kg, settings).limited
    assert not Engine(kg, dataclasses.replace(settings, query_workers=0)).limited
    in_memory = KnowledgeGraph(ox.Store(), "empty")  # nothing a query process could open
    assert not Engine(in_memory, settings).limited


# ---------------------------------------------------------------- the CLI has the same limits


@pytest.fixture()
def cli(settings, built, monkeypatch):
    monkeypatch.setenv("KG_BUILD_DIR", str(settings.build_dir))
    return lambda *args: CliRunner().invoke(main, list(args))


def test_cli_query_has_the_time_limit(cli, monkeypatch):
    monkeypatch.setenv("KG_QUERY_TIMEOUT", "0.5")
    result = cli("query", "--sparql", CROSS_PRODUCT)
    assert result.exit_code == 1 and "longer than the 0.5 s limit and was cancelled" in result.output


def test_cli_query_has_the_row_cap(cli, monkeypatch):
    monkeypatch.setenv("KG_MAX_ROWS", "2")
    result = cli("query", "--sparql", MEETINGS)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 row(s), cut at the 2-row limit"


# ---------------------------------------------------------------- across rebuilds


def _get(client, url: str, etag: str | None = None) -> tuple[int, str, str]:
    """Status, ETag and text of a GET (the response closed: a dump is an open file)."""
    with client.get(url, headers={"If-None-Match": etag} if etag else {}) as response:
        return response.status_code, response.headers["ETag"], response.get_data(as_text=True)


def test_a_rebuild_changes_the_etag_and_an_old_one_gets_200(data_copy):
    """The ETag names the build as well as the job: after a rebuild with changed data, a client's
    old If-None-Match must not get 304 for an answer that has changed."""
    from kg.pipeline import build

    def serve() -> tuple:
        build(data_copy)
        app = create_app(dataclasses.replace(data_copy, query_workers=0))
        return app, app.test_client()

    urls = [
        "/sparql?query=SELECT+%3Fl+WHERE+%7B+place%3Ahamburg+rdfs%3Alabel+%3Fl+%7D",
        "/api/queries/timeline.csv",
        "/dumps/all.ttl",
    ]
    app, client = serve()
    try:
        old = {url: _get(client, url)[1] for url in urls}
        assert [_get(client, url, old[url])[0] for url in urls] == [304, 304, 304]
    finally:
        close_app(app)
    path = data_copy.data_dir / "entities.ttl"
    path.write_text(
        path.read_text(encoding="utf-8").replace('"Hamburg"@en', '"Hamburg (city)"@en'), encoding="utf-8"
    )
    app, client = serve()
    try:
        for url in urls:
            status, etag, _ = _get(client, url, old[url])
            assert status == 200 and etag != old[url], url
        assert "Hamburg (city)" in _get(client, urls[0])[2]
    finally:
        close_app(app)


DEEP = "ASK { FILTER(?a<" + "(" * 6000 + "1#>\n" + ")" * 6000 + ") }"


def test_an_in_process_query_runs_on_a_stack_deep_enough_for_any_query_within_the_size_limit(settings, built):
    """Without query processes (query_workers=0) the engine evaluates on a thread whose stack is
    sized like a query process's: a query nested 6,000 deep (12 kB, under the 16 kB limit) once
    overflowed the main thread's stack and killed the whole process. The guard is bypassed here:
    this is the engine's own safety, whatever the lexical check lets through."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from kg.build import Build\n"
        "from kg.config import Settings\n"
        "from kg.engine import Engine\n"
        "from kg.execute import Job\n"
        "from kg.store import KnowledgeGraph\n"
        "engine = Engine(KnowledgeGraph.open(Build(Path(sys.argv[1]))), Settings(query_workers=0))\n"
        "job = Job(sys.argv[2], 'application/sparql-results+json', None)\n"
        "print(engine.run(job)[0].body.decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(settings.build_dir), DEEP],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"boolean"' in done.stdout


def test_warming_leaves_nothing_for_a_visitors_first_home_page_to_evaluate(settings, kg):
    from kg.web import warm

    app = create_app(dataclasses.replace(settings, query_workers=0), kg=kg)
    engine = CountingEngine(kg, app.config["KG_SETTINGS"])
    app.extensions["kg_engine"] = engine
    try:
        assert engine.cache_size == 0
        warm(app)  # as kg serve does in each worker before it serves
        warmed = engine.cache_size
        assert warmed > 0
        # A client of its own: the per-client limit must not refuse a visitor from 127.0.0.1 while
        # another worker warms (README examples got 503 "this client already has 1 query running").
        # and one per worker: the workers warm at the same time (with one name, one got 503s).
        assert engine.clients and set(engine.clients) == {f"kg-warm-up-{os.getpid()}"}
        visit = app.test_client().get("/", headers={"Accept": "text/html,*/*", "Accept-Language": "en-US,en"})
        assert visit.status_code == 200
        assert engine.cache_size == warmed  # every result came from the cache
    finally:
        close_app(app)
