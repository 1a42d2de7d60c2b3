"""Queries written as a Wikidata Query Service user writes them, with their exact answers (issue 13).

Each ``tests/data/wdqs/*.rq`` file is a query without PREFIX lines, as pasted from
query.wikidata.org, with a ``#+`` header: a title, the source sentences its answer is derived
from, and ``#+ expect:`` followed by the answer, one row a line in Turtle syntax (prefixed names
from kg.iris.PREFIXES, ``"…"@bn``, ``"…"^^xsd:dateTime``, bare integers, ``UNDEF`` for an unbound
column), or ``true`` / ``false`` for an ASK. The answers were derived from the source text and
the model of the Wikidata view (kg.wikibase), not copied from an engine.

Every query runs on pyoxigraph (as served) and on rdflib over the same quads, after
``kg.label_service.expand`` (the label service is answered locally, by rewriting the query).
Answers are compared as bags (sorted rows, so a row listed twice fails), or as lists when the
query has ORDER BY. Terms are compared as N-Triples, literals as rdflib reads them (so
``"…T00:00:00Z"`` and ``"…T00:00:00+00:00"`` are the same dateTime).
"""

from __future__ import annotations

import csv
import importlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from kg.iris import PREFIXES

HERE = Path(__file__).parent / "data" / "wdqs"
QUERIES = sorted(HERE.glob("*.rq"))
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_HEADER = re.compile(r"^#\+ (\w+):\s*(.*)$")
_ROW = re.compile(r"^#\+\s{2,}(\S.*)$")
_UNDEF = re.compile(r'(?<![\w:"])UNDEF(?![\w"])')  # the token, not the word inside a string


@dataclass(frozen=True)
class Case:
    """One query file: its text, and the answer it must give."""

    name: str
    text: str
    title: str
    columns: tuple[str, ...] | None  # None for an ASK
    rows: tuple[tuple[str | None, ...], ...]
    boolean: bool | None

    @property
    def ordered(self) -> bool:
        return "ORDER BY" in _body(self.text).upper()

    @property
    def needs_label_service(self) -> bool:
        return "wikibase:label" in _body(self.text)


def _body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _nt(term) -> str | None:
    """N-Triples for a term of either engine (or of an expectation), literals as rdflib reads them."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode | URIRef):
        return f"<{term.value if isinstance(term, ox.NamedNode) else term}>"
    if isinstance(term, ox.BlankNode | BNode):
        return "_:b"  # blank node labels are local to each engine
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language).n3()
        if term.datatype.value == XSD_STRING:  # RDF 1.1: a simple literal is an xsd:string
            return Literal(term.value).n3()
        return Literal(term.value, datatype=URIRef(term.datatype.value)).n3()
    if isinstance(term, Literal) and term.datatype == URIRef(XSD_STRING):
        return Literal(str(term)).n3()
    return term.n3()


def _parse_rows(lines: list[str], width: int, where: str) -> tuple[tuple[str | None, ...], ...]:
    """Rows in Turtle syntax, read by rdflib's Turtle parser as RDF collections (one a row)."""
    prologue = "".join(f"@prefix {name}: <{iri}> .\n" for name, iri in PREFIXES.items())
    body = "".join(
        f"<urn:row:{i}> <urn:is> ( {_UNDEF.sub('<urn:undef>', line)} ) .\n" for i, line in enumerate(lines)
    )
    graph = Graph().parse(data=prologue + body, format="turtle")
    rows = []
    for i in range(len(lines)):
        head = graph.value(URIRef(f"urn:row:{i}"), URIRef("urn:is"))
        terms = [None if t == URIRef("urn:undef") else _nt(t) for t in Collection(graph, head)]
        assert len(terms) == width, f"{where}: row {i + 1} has {len(terms)} terms for {width} columns"
        rows.append(tuple(terms))
    return tuple(rows)


def load(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    rows: list[str] = []
    in_expect = False
    for line in text.splitlines():
        if match := _HEADER.match(line):
            key, value = match.groups()
            header[key] = value
            in_expect = key == "expect"
        elif in_expect and (match := _ROW.match(line)):
            rows.append(match.group(1))
        elif not line.startswith("#+"):
            in_expect = False
    assert "title" in header and "expect" in header, f"{path.name}: needs '#+ title:' and '#+ expect:'"
    expect = header["expect"].split()
    if expect in (["true"], ["false"]):
        return Case(path.stem, text, header["title"], None, (), expect == ["true"])
    assert expect and all(v.startswith("?") for v in expect), f"{path.name}: '#+ expect: ?a ?b' or true/false"
    columns = tuple(v[1:] for v in expect)
    return Case(path.stem, text, header["title"], columns, _parse_rows(rows, len(columns), path.name), None)


CASES = [load(path) for path in QUERIES]


def _sorted(rows):
    return sorted(rows, key=lambda row: tuple("" if t is None else t for t in row))


def check(case: Case, columns, rows, boolean) -> None:
    if case.boolean is not None:
        assert boolean is case.boolean, f"{case.name}: {case.title}"
        return
    assert tuple(columns) == case.columns, f"{case.name}: the projected columns"
    expected = list(case.rows) if case.ordered else _sorted(case.rows)
    got = list(rows) if case.ordered else _sorted(rows)
    assert got == expected, f"{case.name}: {case.title}"


@pytest.fixture(scope="module")
def label_service():
    """kg.label_service, or None while it does not exist yet."""
    try:
        return importlib.import_module("kg.label_service")
    except ModuleNotFoundError as exc:
        if exc.name != "kg.label_service":
            raise
        return None


@pytest.fixture()
def prepared(label_service):
    """The text both engines run: the file as written, after the label service's rewriting."""

    def prepare(case: Case) -> str:
        if label_service is None:
            if case.needs_label_service:
                pytest.skip("kg.label_service does not exist yet: SERVICE wikibase:label is not answered")
            return case.text
        return label_service.expand(case.text)

    return prepare


@pytest.fixture(scope="module")
def rdflib_graph(kg):
    return kg.to_rdflib()


def test_the_suite_is_complete():
    assert len(CASES) >= 25
    assert len({c.title for c in CASES}) == len(CASES), "one question per file"
    for case in CASES:
        assert not re.search(r"^\s*PREFIX\b", _body(case.text), re.I | re.M), f"{case.name}: no PREFIX lines"
        assert case.boolean is not None or case.rows, f"{case.name}: an empty expected answer proves nothing"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pyoxigraph(kg, prepared, case):
    result = kg.query(prepared(case))
    if isinstance(result, ox.QueryBoolean):
        check(case, None, None, bool(result))
        return
    names = [v.value for v in result.variables]
    check(case, names, [tuple(_nt(row[n]) for n in names) for row in result], None)


# rdflib's own evaluator calls its deprecated Dataset API; nothing of ours does.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rdflib(rdflib_graph, prepared, case):
    result = rdflib_graph.query(prepared(case), initNs=PREFIXES)
    if result.type == "ASK":
        check(case, None, None, bool(result.askAnswer))
        return
    names = [str(v) for v in result.vars]
    check(case, names, [tuple(_nt(row[n]) for n in names) for row in result], None)


# ------------------------------------------------------------------ end to end, through /sparql

CASE = {c.name: c for c in CASES}


def _json_term(binding: dict | None):
    if binding is None:
        return None
    if binding["type"] == "uri":
        return URIRef(binding["value"])
    if binding["type"] == "bnode":
        return BNode()
    if "xml:lang" in binding:
        return Literal(binding["value"], lang=binding["xml:lang"])
    return Literal(binding["value"], datatype=binding.get("datatype"))


def _over_http(client, case: Case) -> None:
    response = client.get(
        "/sparql", query_string={"query": case.text}, headers={"Accept": "application/sparql-results+json"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/sparql-results+json"
    answer = response.get_json()
    names = answer["head"]["vars"]
    rows = [tuple(_nt(_json_term(b.get(n))) for n in names) for b in answer["results"]["bindings"]]
    check(case, names, rows, None)


def test_label_service_over_http(client, label_service):
    if label_service is None:
        pytest.skip("kg.label_service does not exist yet: SERVICE wikibase:label is not answered")
    _over_http(client, CASE["05-helsinki-main-subjects-labels"])


def test_references_over_http(client):
    _over_http(client, CASE["04-helsinki-sentence"])


def test_count_as_csv_over_http(client):
    response = client.get(
        "/sparql", query_string={"query": CASE["01-how-many-times"].text}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert list(csv.reader(io.StringIO(response.get_data(as_text=True)))) == [["times"], ["6"]]
