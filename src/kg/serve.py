"""Run the app under gunicorn: workers × threads, each worker loading the build.

Each worker process loads the artifact itself (well under a second for this
graph) rather than inheriting it through fork, so a crashed worker is replaced
cleanly and no store is shared between processes.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from kg.config import Settings
from kg.store import KnowledgeGraph


class _Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from kg.web import create_app

        return create_app(self.settings)


def serve(settings: Settings, host: str, port: int, workers: int = 2, threads: int = 4) -> None:
    # Fail in the parent, with a clear message, if there is nothing to serve.
    KnowledgeGraph.from_artifact(settings.artifact)
    _Server(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "timeout": 60,
        },
    ).run()
