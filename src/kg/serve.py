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
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from kg.config import Settings
from kg.errors import NotBuilt
from kg.queries import load_queries


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
        from kg.pipeline import prepare_files

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
