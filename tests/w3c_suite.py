"""The W3C SPARQL 1.0 and 1.1 query-evaluation tests: fetched, read and judged.

The suite cannot be committed here (we never copy third-party files into the
repository). rdflib's source distribution on PyPI carries it under
``test/data/suites/w3c/`` (``dawg-data-r2/``: SPARQL 1.0, ``sparql11/``:
SPARQL 1.1), so ``suite_root()`` downloads that sdist with pip once and keeps
the two folders in ``build/w3c-suite/``. ``KG_W3C_SUITE`` names a folder
already holding them instead.

Every file is read with its W3C IRI as the base (``BASES``), so graph names
and relative IRIs in the results come out as the manifests give them.
``tests/test_w3c_query.py`` runs the tests.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef, Variable
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.query import Result

SDIST = "rdflib==7.6.0"
IN_SDIST = "rdflib-7.6.0/test/data/suites/w3c"
CACHE = Path(__file__).resolve().parents[1] / "build" / "w3c-suite"
# folder → (the IRI its files are published at, its top manifest)
BASES = {
    "dawg-data-r2": ("http://www.w3.org/2001/sw/DataAccess/tests/data-r2/", "manifest-evaluation.ttl"),
    "sparql11": ("http://www.w3.org/2009/sparql/docs/tests/data-sparql11/", "manifest-all.ttl"),
}
SHORT = {"dawg-data-r2": "data-r2", "sparql11": "sparql11"}
EXCLUDED_FOLDERS = ("sparql11/entailment/",)  # entailment regimes: not plain SPARQL evaluation

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"
RDF_TYPE = ox.NamedNode(str(RDF.type))
TEST_TYPES = (MF.QueryEvaluationTest, MF.CSVResultFormatTest)


class SuiteUnavailable(Exception):
    """The suite could not be found or downloaded (the reason is the message)."""


# ---------------------------------------------------------------------------------------------
# Fetching


def suite_root() -> Path:
    """The folder holding ``dawg-data-r2/`` and ``sparql11/``, downloaded on first use."""
    named = os.environ.get("KG_W3C_SUITE")
    if named:
        for candidate in (Path(named), Path(named) / "test/data/suites/w3c", Path(named) / IN_SDIST):
            if _complete(candidate):
                return candidate
        raise SuiteUnavailable(f"KG_W3C_SUITE={named} holds no dawg-data-r2/ and sparql11/ folders")
    if not _complete(CACHE):
        _download(CACHE)
    return CACHE


def _complete(root: Path) -> bool:
    return all((root / folder / top).is_file() for folder, (_, top) in BASES.items())


def _download(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".w3c-suite-") as tmp:
        command = [sys.executable, "-m", "pip", "download", SDIST, "--no-binary", ":all:", "--no-deps"]
        command += ["--quiet", "--retries", "1", "--timeout", "20", "-d", tmp]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            raise SuiteUnavailable(f"`pip download {SDIST}` took more than 5 minutes") from None
        archives = list(Path(tmp).glob("*.tar.gz"))
        if done.returncode or not archives:
            last = (done.stderr.strip().splitlines() or ["no archive"])[-1]
            raise SuiteUnavailable(f"could not download {SDIST}'s sdist from PyPI (offline?): {last}")
        staging = Path(tmp) / "suite"
        with tarfile.open(archives[0]) as tar:
            members = []
            for member in tar.getmembers():
                inside = member.name.removeprefix(IN_SDIST + "/")
                if inside != member.name and inside.split("/", 1)[0] in BASES:
                    member.name = inside
                    members.append(member)
            tar.extractall(staging, members=members, filter="data")
        if not _complete(staging):
            raise SuiteUnavailable(f"{SDIST}'s sdist no longer holds {IN_SDIST}/{{{','.join(BASES)}}}")
        shutil.rmtree(target, ignore_errors=True)  # an incomplete copy
        try:
            staging.rename(target)
        except OSError:  # another run put it in place meanwhile
            if not _complete(target):
                raise


# ---------------------------------------------------------------------------------------------
# The tests


@dataclass(frozen=True)
class W3CTest:
    iri: str
    root: Path
    query: str  # IRIs of files in the suite
    data: tuple[str, ...]  # → the default graph
    graph_data: tuple[str, ...]  # → named graphs, named by these IRIs
    result: str
    csv: bool  # a CSVResultFormatTest: the answer is compared as CSV
    lax: bool  # mf:LaxCardinality (REDUCED): duplicates may or may not be removed

    @property
    def id(self) -> str:
        """``sparql11/aggregates/agg01``, ``data-r2/graph/dawg-graph-02``."""
        for folder, (base, _) in BASES.items():
            if self.iri.startswith(base):
                return SHORT[folder] + "/" + self.iri[len(base) :].replace("/manifest#", "/")
        return self.iri

    def path(self, iri: str) -> Path:
        return local_path(self.root, iri)

    @cached_property
    def query_text(self) -> str:
        """The query, with its file's IRI as the base (a BASE of its own still takes precedence)."""
        return f"BASE <{self.query}>\n" + self.path(self.query).read_text(encoding="utf-8")

    @cached_property
    def _algebra(self):
        from rdflib.plugins.sparql import prepareQuery

        try:
            return prepareQuery(self.query_text).algebra
        except Exception:  # rdflib cannot read every test query: the callers fall back
            return None

    def query_graphs(self) -> tuple[str, ...]:
        """The graphs FROM / FROM NAMED name: they must be in the store, under their IRI."""
        if not re.search(r"\bFROM\b", self.query_text, re.IGNORECASE) or self._algebra is None:
            return ()
        clauses = self._algebra.get("datasetClause") or []
        return tuple(str(c.default or c.named) for c in clauses)

    def order_keys(self) -> list[str] | None:
        """The variables of the query's ORDER BY, or ``[]`` when it orders by expressions, or
        None when its answer has no order (ORDER BY in a subquery does not count)."""
        if not re.search(r"ORDER\s+BY", self.query_text, re.IGNORECASE):
            return None
        if self._algebra is None:
            return []  # unreadable here: compare the whole sequence
        node = self._algebra.p
        while node.name in ("Slice", "Distinct", "Reduced", "Project", "ToMultiSet"):
            node = node.p
        if node.name != "OrderBy":
            return None
        keys = [getattr(c, "expr", c) for c in node.expr]
        return [str(k) for k in keys] if all(isinstance(k, Variable) for k in keys) else []

    def dataset(self) -> tuple[tuple[str, str | None], ...]:
        """(file IRI, graph name) pairs: None is the default graph."""
        parts = [(f, None) for f in self.data] + [(f, f) for f in self.graph_data]
        parts += [(g, g) for g in self.query_graphs() if g not in self.graph_data]
        return tuple(parts)

    def dataset_key(self) -> str:
        return hashlib.sha256(repr(self.dataset()).encode()).hexdigest()[:16]

    def nquads(self) -> bytes:
        """The dataset as N-Quads; each file is parsed on its own, so their blank nodes stay apart."""
        quads = []
        for iri, graph in self.dataset():
            name = ox.NamedNode(graph) if graph else ox.DefaultGraph()
            path = self.path(iri)
            fmt = ox.RdfFormat.from_extension(path.suffix[1:])
            for q in ox.parse(path=path, format=fmt, base_iri=iri, rename_blank_nodes=True):
                quads.append(ox.Quad(q.subject, q.predicate, q.object, name))
        return ox.serialize(quads, format=ox.RdfFormat.N_QUADS)

    @property
    def accept(self) -> str:
        if self.csv:
            return "text/csv"
        if isinstance(self.expected(), list):
            return "application/n-triples"
        return "application/sparql-results+json"

    def expected(self) -> bool | Solutions | list[ox.Triple]:
        path = self.path(self.result)
        if self.csv:
            return _csv(path.read_bytes())
        if path.suffix in (".srx", ".srj", ".tsv"):
            fmt = ox.QueryResultsFormat.from_extension(path.suffix[1:])
            return _solutions(ox.parse_query_results(path=path, format=fmt))
        fmt = ox.RdfFormat.from_extension(path.suffix[1:])
        triples = [q.triple for q in ox.parse(path=path, format=fmt, base_iri=self.result)]
        return _result_set(triples) if _result_set_node(triples) else triples


def local_path(root: Path, iri: str) -> Path:
    for folder, (base, _) in BASES.items():
        if iri.startswith(base):
            return root / folder / iri[len(base) :]
    raise ValueError(f"{iri} is not a file of the suite")


def load_tests(root: Path) -> list[W3CTest]:
    """Every query-evaluation test listed by the two top manifests and their mf:include, except
    entailment regimes and queries that call SERVICE."""
    tests: list[W3CTest] = []
    for folder, (base, top) in BASES.items():
        _walk(root, base + top, root / folder / top, tests)
    return [
        t
        for t in tests
        if not any(x in t.iri for x in EXCLUDED_FOLDERS)
        and not re.search(r"\bSERVICE\b", t.path(t.query).read_text(encoding="utf-8"), re.IGNORECASE)
    ]


def _walk(root: Path, iri: str, path: Path, out: list[W3CTest]) -> None:
    g = Graph().parse(path, format="turtle", publicID=iri)
    for manifest in g.subjects(RDF.type, MF.Manifest):
        for included in g.objects(manifest, MF.include):
            for child in Collection(g, included):
                _walk(root, str(child), local_path(root, str(child)), out)
        for entries in g.objects(manifest, MF.entries):
            for entry in Collection(g, entries):
                kind = g.value(entry, RDF.type)
                if kind not in TEST_TYPES:
                    continue
                action = g.value(entry, MF.action)
                out.append(
                    W3CTest(
                        iri=str(entry),
                        root=root,
                        query=str(g.value(action, QT.query)),
                        data=tuple(sorted(str(d) for d in g.objects(action, QT.data))),
                        graph_data=tuple(sorted(str(d) for d in g.objects(action, QT.graphData))),
                        result=str(g.value(entry, MF.result)),
                        csv=kind == MF.CSVResultFormatTest,
                        lax=g.value(entry, MF.resultCardinality) == MF.LaxCardinality,
                    )
                )


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Solutions:
    variables: frozenset[str]
    rows: list[dict[str, ox.Term]]  # unbound variables left out
    ordered: bool = True  # whether the rows' order is given (a result set in RDF may not say)


def _solutions(parsed: ox.QuerySolutions | ox.QueryBoolean) -> bool | Solutions:
    if isinstance(parsed, ox.QueryBoolean):
        return bool(parsed)
    names = [v.value for v in parsed.variables]
    rows = [{n: row[n] for n in names if row[n] is not None} for row in parsed]
    return Solutions(frozenset(names), rows)


def _csv(body: bytes) -> Solutions:
    """CSV loses types: both sides are read by rdflib's CSV parser, so they lose the same."""
    parsed = Result.parse(source=io.BytesIO(body), format="csv")
    names = [str(v) for v in parsed.vars or []]
    rows = [{n: _from_rdflib(t) for n, t in zip(names, row, strict=True) if t is not None} for row in parsed]
    return Solutions(frozenset(names), rows)


def _from_rdflib(term) -> ox.Term:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)


def _result_set_node(triples: list[ox.Triple]) -> ox.Term | None:
    rs_type = ox.NamedNode(RS + "ResultSet")
    return next((t.subject for t in triples if t.predicate == RDF_TYPE and t.object == rs_type), None)


def _result_set(triples: list[ox.Triple]) -> bool | Solutions:
    """A result set written in RDF with the DAWG result-set vocabulary (rs:)."""
    objects: dict[tuple, list] = defaultdict(list)
    for t in triples:
        objects[t.subject, t.predicate.value.removeprefix(RS)].append(t.object)
    node = _result_set_node(triples)
    if objects[node, "boolean"]:
        return objects[node, "boolean"][0].value == "true"
    rows, indexes = [], []
    for solution in objects[node, "solution"]:
        row = {}
        for binding in objects[solution, "binding"]:
            row[objects[binding, "variable"][0].value] = objects[binding, "value"][0]
        rows.append(row)
        indexes.append(int(objects[solution, "index"][0].value) if objects[solution, "index"] else None)
    ordered = bool(rows) and None not in indexes
    if ordered:
        rows = [row for _, row in sorted(zip(indexes, rows, strict=True), key=lambda pair: pair[0])]
    variables = frozenset(v.value for v in objects[node, "resultVariable"])
    return Solutions(variables, rows, ordered)


def read_answer(body: bytes, media_type: str) -> bool | Solutions | list[ox.Triple]:
    kind = media_type.split(";")[0].strip()
    if kind == "text/csv":
        return _csv(body)
    if kind == "application/n-triples":
        return [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
    return _solutions(ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(kind)))


def mismatch(test: W3CTest, answer: bool | Solutions | list[ox.Triple]) -> str | None:
    """Why ``answer`` is not the expected result, or None when it is."""
    expected = test.expected()
    if isinstance(expected, bool) or isinstance(answer, bool):
        return None if answer is expected else f"expected {expected}, got {_show(answer)}"
    if isinstance(expected, list) or isinstance(answer, list):
        if (
            isinstance(expected, list)
            and isinstance(answer, list)
            and isomorphic(_graph(expected), _graph(answer))
        ):
            return None
        return f"expected the graph\n{_show(expected)}\ngot\n{_show(answer)}"
    if test.lax:
        expected, answer = _distinct(expected), _distinct(answer)
    if not same_rows(expected.rows, answer.rows, ordered=False):
        return f"expected the solutions\n{_show(expected)}\ngot\n{_show(answer)}"
    keys = test.order_keys()
    if keys is None or not expected.ordered:
        return None
    if keys and set(keys) <= expected.variables:
        same = _keys(expected.rows, keys) == _keys(answer.rows, keys)
    else:
        same = same_rows(expected.rows, answer.rows, ordered=True)
    return None if same else f"the order differs: expected\n{_show(expected)}\ngot\n{_show(answer)}"


def _distinct(solutions: Solutions) -> Solutions:
    rows = {frozenset(r.items()): r for r in solutions.rows}
    return Solutions(solutions.variables, list(rows.values()), ordered=False)


def _keys(rows: list[dict[str, ox.Term]], keys: list[str]) -> list[tuple]:
    """The sequence of ORDER BY values; blank nodes all read alike (their labels are arbitrary)."""
    return [tuple("_:" if isinstance(r.get(k), ox.BlankNode) else r.get(k) for k in keys) for r in rows]


def same_rows(expected: list[dict], answer: list[dict], ordered: bool) -> bool:
    if len(expected) != len(answer):
        return False
    if not any(isinstance(t, ox.BlankNode) for rows in (expected, answer) for r in rows for t in r.values()):
        left, right = [frozenset(r.items()) for r in expected], [frozenset(r.items()) for r in answer]
        return left == right if ordered else Counter(left) == Counter(right)
    # Blank nodes: equal up to a consistent renaming, which graph isomorphism decides.
    return isomorphic(_rows_graph(expected, ordered), _rows_graph(answer, ordered))


_SOLUTION = URIRef("urn:w3c-test:Solution")
_INDEX = URIRef("urn:w3c-test:index")


def _rows_graph(rows: list[dict], ordered: bool) -> Graph:
    g = Graph()
    for i, row in enumerate(rows):
        node = BNode()
        g.add((node, RDF.type, _SOLUTION))  # so an empty solution still counts
        if ordered:
            g.add((node, _INDEX, _to_rdflib(ox.Literal(str(i)))))
        for name, term in row.items():
            g.add((node, URIRef("urn:w3c-test:var:" + name), _to_rdflib(term)))
    return g


def _graph(triples: list[ox.Triple]) -> Graph:
    g = Graph()
    for t in triples:
        g.add((_to_rdflib(t.subject), _to_rdflib(t.predicate), _to_rdflib(t.object)))
    return g


def _to_rdflib(term: ox.Term) -> URIRef | BNode | Literal:
    """A literal becomes a plain string holding its N-Triples form: literals then compare by term
    (lexical form, datatype, language), and rdflib converts none of them to a value."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    return Literal(str(term))


def _show(value: object) -> str:
    if isinstance(value, Solutions):
        lines = [" ".join(f"?{k}={t}" for k, t in sorted(r.items())) or "{}" for r in value.rows[:50]]
        return "\n".join(f"  {line}" for line in lines) + ("\n  …" if len(value.rows) > 50 else "")
    if isinstance(value, list):
        return "\n".join(f"  {t} ." for t in value[:50])
    return repr(value)


# ---------------------------------------------------------------------------------------------
# The reference engine


def oxigraph_answer(test: W3CTest, store: ox.Store) -> tuple[bytes, str]:
    """The test's query evaluated by pyoxigraph directly, in the format ``test.accept`` names."""
    result = store.query(test.query_text)
    if isinstance(result, ox.QueryTriples):
        return ox.serialize(result, format=ox.RdfFormat.N_TRIPLES), test.accept
    fmt = ox.QueryResultsFormat.from_media_type(test.accept)
    return result.serialize(format=fmt), test.accept


def oxigraph_store(test: W3CTest) -> ox.Store:
    store = ox.Store()
    store.load(test.nquads(), format=ox.RdfFormat.N_QUADS)
    return store
