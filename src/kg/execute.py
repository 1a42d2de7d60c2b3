"""Evaluate one query: run it, cap the rows, serialize in the negotiated format.

A ``Job`` is everything that decides an answer (it is also the result cache's
key); ``execute()`` turns it into an ``Answer``. It runs in a query process
(kg.workers, where a time limit can stop it), or in-process for tests and the
CLI.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from kg.errors import NotAcceptable
from kg.formats import GRAPH, RESULTS, Choice
from kg.iris import PREFIXES
from kg.store import KnowledgeGraph
from kg.store import unreachable as _unreachable


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
    # The guard found (allowlisted) SERVICE calls: only then may a process with network run it.
    network: bool = False
    # Rows at most, when the caller declares its own bound (a page); None: the server's row cap.
    max_rows: int | None = None


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
    """The answer to ``job``, at most ``max_rows`` rows (or the job's own declared bound)."""
    try:
        return _execute(kg, job, max_rows if job.max_rows is None else job.max_rows)
    except OSError as exc:  # pyoxigraph is lazy: a SERVICE call can fail while rows are read
        raise _unreachable(exc) from None


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
    if isinstance(result, ox.QueryTriples | list):  # a list: a remote store's graph (kg.remote)
        choice = _need(GRAPH, job.graph, "an RDF graph (CONSTRUCT/DESCRIBE)")
        triples = list(itertools.islice(result, max_rows + 1))
        truncated = len(triples) > max_rows
        triples = triples[:max_rows]
        body = ox.serialize(triples, format=choice.format, prefixes=_prefixes(choice))
        if any(marker in body for marker in _LABELLED):  # searched in C: most answers have none
            body = ox.serialize(_relabel_triples(triples), format=choice.format, prefixes=_prefixes(choice))
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
    tsv = _relabel_tsv(tsv)
    solutions = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    if choice.format is None:  # HTML: the view renders the rows itself
        variables = solutions.variables
        rows = [[row[v] for v in variables] for row in solutions]
        shown = [[v.value for v in variables], *rows]
        return Answer(b"", choice.media_type, "results", len(rows), cap.full, shown)
    body = solutions.serialize(format=choice.format)
    return Answer(body, choice.media_type, "results", cap.rows, cap.full)


# Blank nodes are relabelled b0, b1, … in order of first appearance in the answer. pyoxigraph
# names the blank nodes a query makes (a CONSTRUCT template's [], BNODE()) at random at each
# evaluation, so two processes (or one, twice) would give two bodies for one job, under one ETag
# (kg.web.answers: the build's and the job's). The order of the rows is the engine's, the same
# for one store and one query, so the labels are too. Stored blank nodes are relabelled alike:
# a label names a blank node within one answer only (SPARQL 1.1 §4.1.4), so nothing is lost,
# and the store's own labels (random, drawn when the build loaded it) are not shown.
#
# How pyoxigraph's writers name a blank node: "_:label" (N-Triples, N-Quads, Turtle, TriG,
# JSON-LD) or rdf:nodeID="label" (RDF/XML). A body without either names none, and is the same
# whatever the labels: looking for them in the body is cheaper than looking at each triple's
# terms in Python (6 ms for 10,000 triples, a sixth of evaluating them). A literal that holds
# one of them only costs a second writing.
_LABELLED = (b"_:", b"nodeID")


def _relabel_triples(triples: list[ox.Triple]) -> list[ox.Triple]:
    """``triples`` with their blank nodes relabelled."""
    labels: dict[ox.BlankNode, ox.BlankNode] = {}

    def term(found: Any) -> Any:
        if isinstance(found, ox.BlankNode):
            label = labels.get(found)
            if label is None:
                label = labels[found] = ox.BlankNode(f"b{len(labels)}")
            return label
        if isinstance(found, ox.Triple):  # a triple term (RDF 1.2) may hold blank nodes
            return ox.Triple(term(found.subject), found.predicate, term(found.object))
        return found

    return [ox.Triple(term(t.subject), t.predicate, term(t.object)) for t in triples]


# A token of SPARQL TSV (terms in N-Triples syntax): a literal or an IRI, which may hold "_:"
# and is kept as it is, or a blank node label, which is relabelled. Triple terms are spaced
# tokens too ("<<( _:a <p> _:b )>>"), so the same pass reaches the blank nodes inside them.
_TSV_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|<[^<>"\s]*>|_:[^\s()<>"]+')


def _relabel_tsv(tsv: bytes) -> bytes:
    """SPARQL TSV with its blank nodes relabelled; the same bytes when it has none."""
    if b"_:" not in tsv:  # searched in C: the common answer costs no second pass
        return tsv
    labels: dict[bytes, bytes] = {}

    def swap(match: re.Match[bytes]) -> bytes:
        token = match.group()
        if not token.startswith(b"_:"):
            return token
        label = labels.get(token)
        if label is None:
            label = labels[token] = b"_:b%d" % len(labels)
        return label

    return _TSV_TOKEN.sub(swap, tsv)


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
    """The project's prefixes for the formats whose row asks for them (Turtle, TriG)."""
    return PREFIXES if choice.prefixes else None


def _need(table: dict[str, Choice], media_type: str | None, what: str) -> Choice:
    if media_type is None:
        raise NotAcceptable(f"the query returns {what}, and none of the requested formats can carry it")
    return table[media_type]
