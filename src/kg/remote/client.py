"""The limits in front of a remote store: what the query processes do for the embedded one.

The embedded engine holds a client address to ``client_queries`` queries at a time and queues
the rest for ``queue_wait`` (kg.query_client); a remote store needs the same, or one client
could keep every connection to the store busy. So a ``RemoteClient`` takes the Engine's place
for the query processes: it waits for the client's slot (the same lock files, in a folder
``kg serve`` shares with all its HTTP workers), then for one of ``engine_connections``
connections to the store, then evaluates the job in this process (kg.remote.RemoteGraph: the
HTTP time-out is the time limit).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kg.config import Settings
from kg.errors import ServiceBusy
from kg.execute import Answer, Job
from kg.query_client import CLIENT_WAIT, RETRY_AFTER, client_slot


class RemoteClient:
    """Runs jobs on a remote store, within the per-client and per-store limits."""

    def __init__(self, evaluate: Callable[[Job], Answer], settings: Settings, folder: Path | None) -> None:
        self._evaluate = evaluate
        self._own = folder is None
        if folder is None:  # no server shares one: this process's own (tests, the CLI)
            folder = Path(tempfile.mkdtemp(prefix="kg-remote-"))
        (folder / "clients").mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.client_queries = settings.client_queries
        self.queue_wait = settings.queue_wait
        self._connections = threading.BoundedSemaphore(settings.engine_connections)

    def run(self, job: Job, timeout: float, watch: object = None, client: str | None = None) -> Answer:
        """The answer to ``job``; ServiceBusy if the client's slot or a connection is not free in time.
        ``watch`` is accepted for the Engine's sake: a request to the store is not stopped early."""
        start = time.monotonic()
        with client_slot(self.folder, client, self.client_queries, start + min(CLIENT_WAIT, self.queue_wait)):
            if not self._connections.acquire(timeout=max(0.0, start + self.queue_wait - time.monotonic())):
                raise ServiceBusy(
                    "every connection to the SPARQL store is busy; try again shortly", RETRY_AFTER
                )
            try:
                return self._evaluate(job)
            finally:
                self._connections.release()

    def close(self) -> None:
        """Remove the slot folder if this client made it (a server's is the server's to remove)."""
        if self._own:
            shutil.rmtree(self.folder, ignore_errors=True)
