"""Run the app under gunicorn.

The process model, for a 2-core machine by default:

* two gunicorn worker processes with 8 threads each handle HTTP: negotiation,
  caches, headers. One Python process (one GIL) answers at most about 2,500
  small requests a second; two use both cores.
* ``query_workers`` (default 2) query processes evaluate the queries, shared
  by all gunicorn workers (kg.workers). The master starts them before it
  forks the HTTP workers, and each opens the on-disk store read-only, so the
  data is shared through the page cache. A query past the time limit ends its
  process, so the CPU is freed at once, and a fresh one takes its place. While
  one expensive query runs, a cheap one finds the other process free.

The HTTP workers are gunicorn workers of our own class (kg.http_worker):
an event loop reads each request before a thread sees it, so slow or idle
clients hold no thread, and the request limits are checked on the bytes as
they arrive.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from kg.config import Settings
from kg.errors import DataError, KGError
from kg.http_worker import BoundedWorker
from kg.sources import Source


class _Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any], address: str | None) -> None:
        self.settings = settings
        self.options = options
        self.address = address  # the query processes', inherited by every forked worker
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from kg.web import create_app, start_workers, warm

        app = create_app(self.settings)
        start_workers(app, self.address)
        warm(app)  # before this worker serves: a visitor's first page is not the slow one
        return app


def preflight(settings: Settings) -> None:
    """Check (and for foreign data, build) everything before gunicorn starts, in a spawned process.

    This runs in gunicorn's master, and whatever the master holds, every forked
    worker inherits: parsed quads (hundreds of MB at 1M triples), the SPARQL
    parser's modules, or an open database that then hangs the worker at exit.
    So the master only waits; the spawned process does the work and reports
    the first problem (a bad file, a failed validation, a bad canned query) in words.
    """
    if settings.engine_url:
        # A remote store: it must answer and serve a published build before any worker starts.
        # The pool is closed again: connections must not be shared with forked workers.
        from kg.queries import load_queries
        from kg.remote import RemoteGraph

        RemoteGraph(settings).close()
        load_queries(settings.queries_dir)
        return
    if not settings.sources:
        # Nothing to build: check the canned queries right here. Modules imported
        # before the fork are shared with the worker, which imports them anyway.
        from kg.queries import load_queries

        settings.build.require()
        load_queries(settings.queries_dir)
        return
    for source in settings.sources:  # unknown files and missing paths are reported at once
        source.files()
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_preflight, args=(settings, send))
    worker.start()
    send.close()
    problem = receive.recv() if receive.poll(None) else "the start-up checks stopped"
    worker.join()
    if problem or worker.exitcode != 0:
        raise DataError(problem or "the start-up checks failed")


def _preflight(settings: Settings, report) -> None:
    from kg.pipeline import build
    from kg.queries import load_queries

    try:
        load_queries(settings.queries_dir)  # a bad canned query stops start-up, naming its file
        build(settings)  # the same steps as `kg build`: load, validate, reason, write
        report.send(None)
    except KGError as exc:
        report.send(exc.message)
    except OSError as exc:
        report.send(f"cannot read the data: {exc}")


def foreign(
    settings: Settings,
    data: list[Path],
    build_dir: Path,
    *,
    validate: bool = True,
    reason: bool = False,
    union: bool = False,
) -> Settings:
    """The settings that build and serve RDF files instead of the project's build (kg serve --data).

    The files keep SPARQL's dataset (their default graph, their named graphs) unless
    ``union``; they are validated against the project's shapes and checks unless told
    not to, reasoned over only if asked, and get no dumps. The build goes to ``build_dir``
    (never the project's own: `kg serve --data` gives a fresh temporary folder, which
    ``serve`` removes when it stops).
    """
    return dataclasses.replace(
        settings,
        build_dir=build_dir,
        sources=(Source.foreign(data),),
        ontology=False,
        validate=validate,
        reason=reason,
        union_default_graph=union,
        dumps=False,
    )


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 8,
    access_log: bool = False,
) -> None:
    """Serve ``settings``' build; with ``settings.sources`` (see ``foreign``), build it first."""
    temporary = settings.build_dir if settings.sources else None
    # gunicorn forks its workers inside run(), and an exiting worker unwinds this
    # very stack (SystemExit): only the master may remove the prepared store.
    master = os.getpid()
    try:
        preflight(settings)
        processes = None
        address = None
        if settings.engine_url:
            # No query processes: the HTTP workers ask the store. They share this folder, where
            # each client address's query slots are lock files (kg.remote.client).
            slots = Path(tempfile.mkdtemp(prefix="kg-serve-slots-"))
            address = str(slots / "remote")
        elif settings.query_workers > 0:
            from kg.workers import QueryProcesses

            processes = QueryProcesses.for_settings(settings.build, settings)
            address = processes.address
        options = _options(settings, host, port, workers, threads, access_log)
        try:
            _Server(settings, options, address).run()
        finally:
            if processes is not None:  # a no-op in a forked worker: only the owner closes them
                processes.close()
            if settings.engine_url and address is not None and os.getpid() == master:
                shutil.rmtree(Path(address).parent, ignore_errors=True)
    finally:
        if temporary is not None and os.getpid() == master:  # the foreign build is this server's alone
            shutil.rmtree(temporary, ignore_errors=True)


def _options(
    settings: Settings, host: str, port: int, workers: int, threads: int, access_log: bool
) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        # Where setproctitle is installed gunicorn renames its processes: keep the address visible.
        "proc_name": f"kg serve {host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": BoundedWorker,
        "worker_connections": settings.max_connections,
        "keepalive": settings.keepalive,
        # Off by default, as in gunicorn and the Oxigraph server: a line per request costs
        # about a third of the throughput of cached answers (bench/README.md).
        "accesslog": "-" if access_log else None,
        "timeout": int(settings.query_timeout) + 30,
        # BoundedWorker checks the URL and header limits as the bytes arrive, and answers 414 or
        # 431 with a reason; gunicorn's own checks would answer with an HTML page, and cap a line at
        # 8190 bytes and a head at 100 fields. So its limits are set where they never decide: a
        # line of any length (0), a field as long as the whole header section (0 would mean 8190
        # to gunicorn), and its largest field count (the 16 KiB section holds at most 4096).
        "limit_request_line": 0,
        "limit_request_field_size": settings.max_header_bytes,
        "limit_request_fields": 32768,
        # gunicorn's control socket sits at one fixed path per user: two servers
        # (tests, benchmarks) would fight over it, and nothing here uses it.
        "control_socket_disable": True,
    }
