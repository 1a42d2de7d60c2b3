"""One way to the engine: every query, from any page, the API or the CLI, goes through an Engine.

An ``Engine`` holds the built graph, the settings and the way to the query
processes. ``run(job)`` is the only call that evaluates SPARQL, and it always
applies the same limits: the time limit (``settings.query_timeout``, enforced
by a query process that is killed when it runs over), the row cap
(``settings.max_rows``) and the result cache. Views never call the store:
``rows()`` builds a Job in a machine format (TSV) and parses the answer back
into pyoxigraph terms.

Queries run in-process, with the row cap but without a time limit, only when
there are no query processes: ``settings.query_workers == 0``, or a graph that
was not loaded from a file (the processes open the same file themselves). A
time limit needs a process that can be killed: pyoxigraph cannot interrupt a
running query, and a thread cannot be stopped.

Metadata that is not SPARQL (triples per graph, instances of a class, graph
names, the build's identity) stays on ``KnowledgeGraph``, reached as
``engine.kg``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from cachetools import LRUCache

from kg.cache import KeyedLRUCache
from kg.errors import KGError
from kg.execute import Answer, Job, execute
from kg.query_client import QueryClient
from kg.workers import QueryProcesses, stack_size

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.store import KnowledgeGraph

log = logging.getLogger(__name__)
_STACK_SIZE = threading.Lock()

# The format of answers that code reads back: terms in N-Triples syntax, cheap to write and parse.
TSV = "text/tab-separated-values"

Term = ox.NamedNode | ox.BlankNode | ox.Literal


def _detached(exc: BaseException) -> BaseException:
    """The exception with no tracebacks, in its whole chain: a traceback holds its frames, and a
    frame may hold results of a remote store's answer, which pyoxigraph lets only the thread that
    read them free (it warns otherwise). Freed here, in that thread."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return exc


class Rows(list):
    """The solutions of a SELECT (pyoxigraph ``QuerySolution`` objects), and whether a cap cut them."""

    truncated: bool = False


class Engine:
    """The graph, reached only through the query limits and the result cache."""

    def __init__(self, kg: KnowledgeGraph, settings: Settings, client: QueryClient | None = None) -> None:
        self.kg = kg
        self.settings = settings
        self.client = client  # the query processes; None: started at the first query, if wanted
        self.processes: QueryProcesses | None = None  # those this engine started: close() stops them
        self._starting = threading.Lock()  # held while processes start: cache lookups go on meanwhile
        self._lock = threading.Lock()  # the cache's
        # The result cache, by (build, job): a Job is everything that decides an answer.
        # Keys count too; a key holds the query, so any query within the size limit may be kept.
        self._cache: LRUCache = KeyedLRUCache(
            settings.cache_bytes, lambda a: len(a.body) + 256, max_key=settings.max_query_length + 4096
        )

    # ------------------------------------------------------------ query processes

    @property
    def limited(self) -> bool:
        """Whether queries run in query processes, with the time limit (else in-process, without)."""
        if self.settings.engine_url:  # a remote store: a RemoteClient holds the limits (kg.remote.client)
            return True
        return self.client is not None or (self.settings.query_workers > 0 and self.kg.build is not None)

    def start(self, address: str | None = None) -> QueryClient | None:
        """Use the query processes at ``address`` (``kg serve`` starts them once for all its
        workers), or without one start this engine's own now, rather than at the first query.
        None when queries run in-process."""
        with self._starting:
            if self.settings.engine_url:
                if self.client is None:
                    from kg.remote.client import RemoteClient

                    folder = Path(address).parent if address else None
                    self.client = RemoteClient(self._in_process, self.settings, folder)  # type: ignore[assignment]
                return self.client
            if address is None and self.client is None and self.limited:
                assert self.kg.build is not None  # limited: the graph was opened from a build
                self.processes = QueryProcesses.for_settings(self.kg.build, self.settings)
                address = self.processes.address
            if address is not None:
                self.client = QueryClient.for_settings(address, self.settings)
        return self.client

    def close(self) -> None:
        """Stop the query processes this engine started (a no-op for those ``kg serve`` owns)."""
        with self._starting:
            processes, self.processes = self.processes, None
            if processes is not None or self.settings.engine_url:
                client, self.client = self.client, None
                if hasattr(client, "close"):
                    client.close()  # type: ignore[union-attr]
        if processes is not None:
            processes.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ evaluation

    @property
    def cache_size(self) -> int:
        """Bytes the result cache counts now (keys and answers), at most ``settings.cache_bytes``."""
        return self._cache.currsize

    def key(self, job: Job) -> tuple[str, Job]:
        """What identifies an answer: the build and the job (also the ETag's source)."""
        return (self.kg.identity, job)

    def run(
        self,
        job: Job,
        *,
        watch: socket.socket | None = None,
        client_id: str | None = None,
        fresh: bool = False,
    ) -> tuple[Answer, bool]:
        """The answer to ``job`` and whether it came from the cache.

        Evaluated within the time limit and the row cap, unless the cache has it
        (``fresh``: evaluate again, and the new answer replaces the stored one).
        ``watch`` is the HTTP client's socket: if it closes, the query is stopped.
        ``client_id`` says on whose behalf the query runs (the client's address).
        """
        key = self.key(job)
        if not fresh:
            with self._lock:
                answer = self._cache.get(key)
            if answer is not None:
                return answer, True
        client = self.client or (self.start() if self.limited else None)
        if client is None:
            answer = self._in_process(job)
        else:
            answer = client.run(job, self.settings.query_timeout, watch=watch, client=client_id)
        if self.settings.engine_url and self.kg.refresh() != key[0]:  # type: ignore[attr-defined]
            # A remote store switched builds while this ran (or cannot say which it serves): the
            # answer may be of the new build, so it is not stored under the old one's identity.
            return answer, False
        if answer.media_type != "text/html":  # HTML rows are rendered per request, never stored
            # ValueError: larger than the whole cache, so it is simply not kept.
            with self._lock, contextlib.suppress(ValueError):
                self._cache[key] = answer
        return answer, False

    def _in_process(self, job: Job) -> Answer:
        """Evaluate here, on a thread with a query process's stack.

        The engine recurses once per nesting level; on the main thread's 8 MB a
        query of brackets within the size limit overflows the stack and kills
        the process (the guard's lexical count is the first defence, this the
        second, as the query processes' raised stack limit is for them).
        """
        outcome: list = []

        def evaluate() -> None:
            try:
                outcome.append(execute(self.kg, job, self.settings.max_rows))
            except KGError as exc:  # raised again in the caller's thread, without this thread's frames
                outcome.append(_detached(exc))
            except BaseException as exc:  # unexpected: its frames are kept for the server's log
                outcome.append(exc)

        with _STACK_SIZE:  # threading.stack_size is process-wide: set it only for this thread
            previous = threading.stack_size(stack_size(self.settings.max_query_length))
            try:
                thread = threading.Thread(target=evaluate, name="kg-query")
                thread.start()
            finally:
                threading.stack_size(previous)
        thread.join()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def rows(
        self,
        query: str,
        *,
        max_rows: int | None = None,
        bindings: dict[str, Term] | None = None,
        infer: bool = True,
        watch: socket.socket | None = None,
        client_id: str | None = None,
    ) -> Rows:
        """The solutions of a SELECT, as pyoxigraph terms, through the same limits as /sparql.

        ``max_rows``: the server's row cap by default; a page that needs many
        rows (the timeline at scale) declares its own bound, above the cap if
        it must; the time limit holds all the same. ``bindings`` are bound as terms
        (never formatted into the text); their columns are left out of the
        answer.
        """
        job = Job(
            query=query,
            results=TSV,
            graph=None,
            infer=infer,
            bindings=tuple((name, str(term)) for name, term in (bindings or {}).items()),
            max_rows=max_rows,
        )
        answer, _ = self.run(job, watch=watch, client_id=client_id)
        solutions = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.TSV)
        if not isinstance(solutions, ox.QuerySolutions):
            raise TypeError(f"rows() needs a SELECT query, not one that answers {answer.kind!r}")
        out = Rows(solutions)
        out.truncated = answer.truncated
        if out.truncated:
            log.warning("the rows of a query were cut at %s: %.80r", max_rows or "the row cap", query)
        return out
