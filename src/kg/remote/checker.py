"""pyoxigraph's parse of a query bound for a remote store, in a process with a time limit.

pyoxigraph offers no parse-only call: ``Store().query()`` parses, plans, and for some queries
evaluates at once (an ASK, an aggregate over VALUES, a SERVICE call), even on an empty store, and
its parser takes exponential time on some nestings. The embedded engine does all that in a
query process that the time limit stops (kg.workers); for a remote store the same parse runs
here: one spawned process per HTTP worker, without network where the system allows
(kg.workers' isolation), killed and replaced when a check runs over ``CHECK_SECONDS``.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection

from cachetools import LRUCache

from kg.config import Settings
from kg.errors import BadRequest, ServiceBusy
from kg.remote import terms

log = logging.getLogger(__name__)
CHECK_SECONDS = 2.0
STARTUP_SECONDS = 60.0


def _serve(conn: Connection) -> None:
    from kg.workers import _isolate_network

    problem = _isolate_network()
    if problem:
        log.info("the query checker keeps the network: %s", problem)
    conn.send("ready")  # started: from now on the time limit is the check's alone
    while True:
        try:
            text, base, predeclared = conn.recv()
        except EOFError:
            return
        conn.send(terms.plan(text, base, predeclared))


class Checker:
    """Checks query texts in its process; answers are kept by text (the same queries come back)."""

    def __init__(self, settings: Settings) -> None:
        self.seconds = min(CHECK_SECONDS, settings.query_timeout)
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._known: LRUCache = LRUCache(maxsize=2048)

    def check(self, original: str, base_iri: str | None, sent: str) -> None:
        """Refuse the user's query (``original``, messages in its own lines and columns) if pyoxigraph
        cannot plan it, then the text the store gets (``sent``: prologue and rewrites included) on
        the lexical checks and pyoxigraph's plan: what is checked is what the store reads."""
        problem = self._plan(original, base_iri, True)
        if problem:
            raise BadRequest(problem)
        terms.check(sent)
        problem = self._plan(sent, None, False)
        if problem:
            raise BadRequest(f"the query as sent to the store does not parse: {problem}")

    def _plan(self, text: str, base: str | None, predeclared: bool) -> str | None:
        key = (text, base, predeclared)
        with self._lock:
            if key in self._known:
                return self._known[key]
            conn = self._started()
            conn.send(key)
            if not conn.poll(self.seconds):
                self._stop()
                raise BadRequest(
                    f"the query could not be parsed within {self.seconds:g} s; simplify it "
                    "(deeply nested REGEX, REPLACE, SUBSTR or GROUP_CONCAT calls are slow to parse)"
                )
            try:
                answer = conn.recv()
            except EOFError:
                self._stop()
                raise BadRequest("the query checker stopped on this query") from None
            self._known[key] = answer
            return answer

    def _started(self) -> Connection:
        if self._process is None or not self._process.is_alive() or self._conn is None:
            self._stop()
            ctx = multiprocessing.get_context("spawn")  # not fork: the HTTP worker has threads
            parent, child = ctx.Pipe()
            self._process = ctx.Process(target=_serve, args=(child,), name="kg-query-checker", daemon=True)
            self._process.start()
            child.close()
            # Its start (a new interpreter importing pyoxigraph) is not the query's to pay for, and
            # takes seconds on a loaded machine: waited for apart from the check's time limit.
            if not parent.poll(STARTUP_SECONDS) or parent.recv() != "ready":
                self._process.kill()
                parent.close()
                self._process = None
                raise ServiceBusy("the query checker did not start; try again shortly", 5)
            self._conn = parent
        return self._conn

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    def close(self) -> None:
        with self._lock:
            self._stop()
