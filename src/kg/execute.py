"""Evaluate a query where it can be stopped: worker processes with a time limit.

pyoxigraph cannot interrupt a running query, and a thread cannot be killed.
So each query runs in one of a few worker processes, each holding its own
store loaded from the build artifact. Past the time limit the worker is
killed (the CPU is free again at once), replaced, and the client gets a 503
with a message, never a 200 with a cut body.

``execute()`` is the evaluation itself (also used in-process by tests and the
CLI): run, cap the rows, serialize in the negotiated format.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from kg.errors import BadGateway, KGError, NotAcceptable, QueryTimeout
from kg.formats import GRAPH, RESULTS, Choice
from kg.store import KnowledgeGraph

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    query: str
    # Media types (formats.RESULTS / formats.GRAPH keys): pyoxigraph's format
    # objects cannot be pickled to a worker process. None: nothing acceptable.
    results: str | None  # for SELECT / ASK
    graph: str | None  # for CONSTRUCT / DESCRIBE
    infer: bool = True
    bindings: tuple[tuple[str, str], ...] = ()  # variable → term in N-Triples syntax
    default_graphs: tuple[str, ...] = ()  # default-graph-uri, from the protocol request
    named_graphs: tuple[str, ...] = ()  # named-graph-uri
    has_dataset: bool = False  # the query has FROM / FROM NAMED
    base_iri: str | None = None  # resolves relative IRIs; the endpoint's URL, as in Fuseki


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    kind: str  # "results" (SELECT), "boolean" (ASK) or "graph"
    rows: int
    truncated: bool = False
    rows_shown: list = field(default_factory=list, compare=False)  # for the HTML view


def _terms(bindings: tuple[tuple[str, str], ...]) -> dict[str, ox.NamedNode | ox.Literal]:
    out = {}
    for name, text in bindings:
        # Terms travel as N-Triples text; pyoxigraph parses them back, nothing is formatted.
        triple = next(ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES))
        out[name] = triple.object
    return out


def execute(kg: KnowledgeGraph, job: Job, max_rows: int) -> Answer:
    try:
        return _execute(kg, job, max_rows)
    except OSError as exc:  # pyoxigraph is lazy: a SERVICE call can fail while rows are read
        raise BadGateway(f"a SERVICE endpoint could not be reached: {exc}") from None


def _execute(kg: KnowledgeGraph, job: Job, max_rows: int) -> Answer:
    result = kg.query(
        job.query,
        infer=job.infer,
        bindings=_terms(job.bindings),
        default_graphs=job.default_graphs or None,
        named_graphs=job.named_graphs or None,
        query_dataset=job.has_dataset,
        base_iri=job.base_iri,
    )
    if isinstance(result, ox.QueryBoolean):
        choice = _need(RESULTS, job.results, "an ASK result")
        body = b"" if choice.format is None else _boolean(bool(result), choice)
        return Answer(body, choice.media_type, "boolean", 1, rows_shown=[bool(result)])
    if isinstance(result, ox.QueryTriples):
        choice = _need(GRAPH, job.graph, "an RDF graph (CONSTRUCT/DESCRIBE)")
        triples = list(itertools.islice(result, max_rows + 1))
        truncated = len(triples) > max_rows
        triples = triples[:max_rows]
        body = ox.serialize(triples, format=choice.format, prefixes=_prefixes(choice))
        return Answer(body, choice.media_type, "graph", len(triples), truncated)
    choice = _need(RESULTS, job.results, "SELECT results")
    # pyoxigraph writes the solutions as TSV (one line each: terms in N-Triples
    # syntax, newlines escaped) into a target that stops after the row limit;
    # that TSV is parsed back and written in the requested format. It cannot
    # serialize a capped list of solutions itself, and this keeps every format
    # pyoxigraph's own (3x cheaper than formatting the terms in Python).
    cap = _LineCap(max_rows + 1)  # the header, then one line per row
    try:
        result.serialize(cap, format=ox.QueryResultsFormat.TSV)
    except Exception:
        if not cap.full:
            raise
    tsv = cap.value()
    # A canned query projects its parameters so they can be bound; they are not answers.
    # TSV escapes tabs and newlines inside terms, so columns can be dropped line by line.
    bound = {f"?{name}" for name, _ in job.bindings}
    if bound:
        lines = tsv.decode("utf-8").split("\n")
        keep = [i for i, name in enumerate(lines[0].split("\t")) if name not in bound]
        tsv = "\n".join("\t".join(cells[i] for i in keep) for cells in (ln.split("\t") for ln in lines if ln))
        tsv = (tsv + "\n").encode("utf-8")
    solutions = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    if choice.format is None:  # HTML: the view renders the rows itself
        variables = solutions.variables
        rows = [[row[v] for v in variables] for row in solutions]
        shown = [[v.value for v in variables], *rows]
        return Answer(b"", choice.media_type, "results", len(rows), cap.full, shown)
    body = solutions.serialize(format=choice.format)
    return Answer(body, choice.media_type, "results", cap.rows, cap.full)


class _LineCap:
    """A write target that keeps the first ``limit`` lines and then stops the writer."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.lines = 0
        self.full = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        if self.lines + chunk.count(b"\n") > self.limit:
            keep = self.limit - self.lines
            cut = 0
            for _ in range(keep):
                cut = chunk.index(b"\n", cut) + 1
            self.parts.append(chunk[:cut])
            self.lines = self.limit
            self.full = True
            raise OverflowError("row limit reached")
        self.parts.append(chunk)
        self.lines += chunk.count(b"\n")
        return len(chunk)

    def flush(self) -> None:
        pass

    def value(self) -> bytes:
        return b"".join(self.parts)

    @property
    def rows(self) -> int:
        return max(self.lines - 1, 0)


def _boolean(value: bool, choice: Choice) -> bytes:
    parsed = ox.parse_query_results(b"true" if value else b"false", format=ox.QueryResultsFormat.TSV)
    return parsed.serialize(format=choice.format)


def _prefixes(choice: Choice) -> dict[str, str] | None:
    from kg.iris import PREFIXES

    return PREFIXES if choice.format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None


def _need(table: dict[str, Choice], media_type: str | None, what: str) -> Choice:
    if media_type is None:
        raise NotAcceptable(f"the query returns {what}, and none of the requested formats can carry it")
    return table[media_type]


# ---------------------------------------------------------------- worker processes


def _serve_jobs(conn: Connection, artifact: str, max_rows: int) -> None:
    """A worker process: load the store once, then answer jobs until told to stop."""
    kg = KnowledgeGraph.from_artifact(Path(artifact))
    conn.send(("ready", kg.identity))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            conn.send(("ok", execute(kg, job, max_rows)))
        except KGError as exc:
            conn.send(("error", type(exc).__name__, exc.message))
        except Exception as exc:  # an engine failure: report it, keep serving
            conn.send(("crash", type(exc).__name__, str(exc)))


class _Worker:
    def __init__(self, ctx, artifact: Path, max_rows: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve_jobs, args=(child, str(artifact), max_rows), daemon=True)
        self.process.start()
        child.close()
        ready = self.conn.recv()
        assert ready[0] == "ready"

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class QueryPool:
    """Worker processes, each with the store; a job past its time limit kills its worker."""

    def __init__(self, artifact: Path, size: int, max_rows: int) -> None:
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._artifact, self._max_rows = artifact, max_rows
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._closed = False
        starters = [threading.Thread(target=self._add) for _ in range(size)]
        for t in starters:
            t.start()
        for t in starters:
            t.join()

    def _add(self) -> None:
        try:
            worker = _Worker(self._ctx, self._artifact, self._max_rows)
        except (EOFError, OSError) as exc:
            if not self._closed:
                log.error("a query worker failed to start: %s", exc)
            return
        with self._lock:
            if self._closed:  # the pool closed while this worker was starting
                worker.kill()
                return
            self._workers.append(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.remove(worker)
        threading.Thread(target=self._add, daemon=True).start()

    def run(self, job: Job, timeout: float) -> Answer:
        deadline = time.monotonic() + timeout
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise QueryTimeout(f"all query workers stayed busy for {timeout:g} s; try again later") from None
        try:
            worker.conn.send(job)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                raise QueryTimeout(f"the query ran longer than the {timeout:g} s limit and was cancelled")
            message = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            # The worker died (e.g. the engine crashed): replace it, report a server fault.
            self._replace(worker)
            raise KGError("the query engine stopped while evaluating this query") from None
        self._idle.put(worker)
        if message[0] == "ok":
            return message[1]
        if message[0] == "error":
            from kg import errors

            raise getattr(errors, message[1])(message[2])
        log.error("query engine failure %s: %s", message[1], message[2])
        raise KGError("the query engine failed on this query; the server log has the details")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = list(self._workers), []
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.kill()
