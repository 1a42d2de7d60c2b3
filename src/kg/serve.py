"""Run the app under gunicorn.

The worker model, for a 2-core machine by default:

* one gunicorn worker process with 8 threads handles HTTP: negotiation,
  cache, headers. Threads mostly wait on pipes, so one process is enough.
* each gunicorn worker keeps ``query_workers`` (default 3) processes that
  evaluate queries, each with its own copy of the store. A query past the time
  limit kills its process, so the CPU is freed at once. With one process more
  than cores, a cheap query still finds a free process while two expensive
  ones run, and the OS shares the cores between them.

The processes load the artifact themselves when the worker starts (spawned,
not forked from a threaded server), so the first request does not pay for it.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from rdflib import Graph

from kg.config import Settings
from kg.errors import DataError, NotBuilt
from kg.load import load_quads
from kg.namespaces import GRAPH_INFERRED
from kg.queries import load_queries
from kg.reason import closure
from kg.store import STORE_DIR, write_store


class _Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from kg.web import create_app, start_workers

        app = create_app(self.settings)
        start_workers(app)
        return app


def prepare_files(paths: list[Path], reason: bool, out_dir: Path) -> Path:
    """For ``kg serve --data``: any RDF files → one N-Quads artifact, optionally reasoned.

    Named graphs are kept as they are; with ``reason`` the OWL 2 RL closure of
    everything goes to the inferred graph (left out by ``infer=false``).
    """
    import pyoxigraph as ox

    quads = load_quads(paths)
    if reason:
        union = Graph()
        nt = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)
        union.parse(data=nt.decode("utf-8"), format="nt")
        inferred = closure(Graph(), union)
        graph = ox.NamedNode(str(GRAPH_INFERRED))
        data = inferred.serialize(format="nt", encoding="utf-8")
        quads += [
            ox.Quad(t.subject, t.predicate, t.object, graph)
            for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
        ]
    out_dir.mkdir(parents=True, exist_ok=True)
    artifact = out_dir / "graph.nq"
    ox.serialize(quads, str(artifact), format=ox.RdfFormat.N_QUADS)
    # Written in a spawned process: `kg serve` calls this in gunicorn's master,
    # and a database left open there would be inherited half-alive by forked
    # workers, which then hang at exit.
    ctx = multiprocessing.get_context("spawn")
    writer = ctx.Process(target=write_store, args=(artifact, out_dir / STORE_DIR))
    writer.start()
    writer.join()
    if writer.exitcode != 0:
        raise DataError(f"could not write the store for {', '.join(map(str, paths))}")
    return artifact


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int = 1,
    threads: int = 8,
    data: list[Path] | None = None,
    reason: bool = False,
) -> None:
    if data:
        out = Path(tempfile.mkdtemp(prefix="kg-serve-"))
        prepare_files(data, reason, out)
        settings = dataclasses.replace(settings, build_dir=out)
    # Fail in the parent, with a clear message, if there is nothing to serve. Only
    # look at files: gunicorn forks workers from this process, and a database
    # opened here would be inherited half-alive (see pipeline.prepare_files).
    if not settings.artifact.is_file():
        raise NotBuilt(f"{settings.artifact} does not exist: run `kg build` first")
    load_queries(settings.queries_dir)  # a bad canned query stops start-up here, naming its file
    _Server(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "timeout": int(settings.query_timeout) + 30,
            # Our own limits answer 413 with a reason; gunicorn's line limit would answer a bare 400.
            "limit_request_line": 0,
            # gunicorn's control socket sits at one fixed path per user: two servers
            # (tests, benchmarks) would fight over it, and nothing here uses it.
            "control_socket_disable": True,
        },
    ).run()
