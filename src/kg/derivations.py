"""The derivations file: how each inferred triple was derived, next to the inferred graph.

The reasoner (kg.reason) records one derivation per derived triple: the rule and
the premises it joined. ``write_derivations`` stores them in the build's
``derivations.sqlite`` (kg.build names it), read-only when served:

* ``terms``     each term once, in N-Triples syntax as the store holds it (the key);
* ``derived``   per derived triple (three term ids): the rule, the premises as term
                ids, and whether the inferred graph kept it (kg.reason.keep);
* ``asserted``  per premise that was not derived: the input it is in (the ontology,
                the asserted data, or foreign files);
* ``rules``     the rules used, with their titles and texts, so that the web layer
                needs nothing from the reasoner.

``Derivations`` reads it. kg.proofs builds proof trees from it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

FORMAT = "1"  # the file's layout, in its meta table

Key = tuple[str, str, str]  # a triple as the N-Triples forms of its three terms
Term = ox.NamedNode | ox.BlankNode | ox.Literal
# Which input an asserted premise is in: the ontology, the asserted data, or foreign files (kg serve --data).
ONTOLOGY, ASSERTED, DATA, UNKNOWN = "ontology", "asserted", "data", "unknown"


class Derivation(Protocol):  # kg.reason.Derivation, without importing the reasoner
    rule: str
    premises: tuple[tuple[Node, Node, Node], ...]


class Rule(Protocol):  # kg.reason.Rule
    title: str
    text: str


# ---------------------------------------------------------------- terms


def term(node: Node | Term) -> Term:
    """An rdflib term as the pyoxigraph term the store holds (kg.dump writes the store the same way);
    a pyoxigraph term as it is."""
    if isinstance(node, ox.NamedNode | ox.BlankNode | ox.Literal):
        return node
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype is not None:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise TypeError(f"not an RDF term: {node!r}")


def quads_of(graphs: Mapping[str, Graph]) -> list[ox.Quad]:
    """rdflib graphs as pyoxigraph quads in their named graphs; blank node labels kept (kg.derivations
    names blank nodes by them). Terms are converted once each: a build's graphs repeat them often."""
    seen: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}

    def convert(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        found = seen.get(node)
        if found is None:
            found = seen[node] = term(node)  # type: ignore[assignment]
        return found  # type: ignore[return-value]

    return [
        ox.Quad(convert(s), convert(p), convert(o), ox.NamedNode(str(name)))  # type: ignore[arg-type]
        for name, graph in graphs.items()
        for s, p, o in graph
    ]


def node(found: Term) -> Node:
    """A pyoxigraph term as rdflib's (term()'s inverse); a simple literal is an xsd:string (RDF 1.1)."""
    if isinstance(found, ox.NamedNode):
        return URIRef(found.value)
    if isinstance(found, ox.BlankNode):
        return BNode(found.value)
    if found.language:
        return Literal(found.value, lang=found.language)
    if found.datatype.value == _XSD_STRING:
        return Literal(found.value)
    return Literal(found.value, datatype=URIRef(found.datatype.value))


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def key_of(s: Term, p: Term, o: Term) -> Key:
    return (str(s), str(p), str(o))


def read_term(text: str) -> Term:
    """A term of a key back from its N-Triples form."""
    return next(ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES)).object


class _InStore:
    """``triple in kept`` for a store holding the inferred triples in one graph."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        first = next(iter(store), None)
        self.graph = first.graph_name if first is not None else ox.DefaultGraph()

    def __contains__(self, triple: tuple) -> bool:
        if isinstance(triple[0], ox.Literal):
            return False
        return ox.Quad(*triple, self.graph) in self.store


# ---------------------------------------------------------------- writing

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE terms(id INTEGER PRIMARY KEY, nt TEXT NOT NULL UNIQUE);
CREATE TABLE rules(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
                   text TEXT NOT NULL);
CREATE TABLE derived(s INTEGER, p INTEGER, o INTEGER, rule INTEGER NOT NULL, premises TEXT NOT NULL,
                     kept INTEGER NOT NULL, PRIMARY KEY (s, p, o)) WITHOUT ROWID;
CREATE TABLE asserted(s INTEGER, p INTEGER, o INTEGER, graph TEXT NOT NULL,
                      PRIMARY KEY (s, p, o)) WITHOUT ROWID;
"""


def write_derivations(
    path: Path,
    derivations: Mapping[tuple[Node, Node, Node], Derivation],
    rules: Mapping[str, Rule],
    *,
    ontology: Graph,
    data: Graph,
    inferred: Graph | ox.Store,
    foreign: ox.Store | None = None,
) -> int:
    """Write the derivations of the triples the reasoner derived; returns how many were written.

    A derived triple that is also asserted is asserted: a proof stops there. ``inferred`` is
    an rdflib graph, with derivations by rdflib triples (kg.reason.closure), or a pyoxigraph
    store, with derivations by triples of pyoxigraph terms (kg.reason.closure_quads).
    """
    terms: dict[Node | Term, int] = {}
    texts: dict[str, int] = {}
    # Sets: a membership test in an rdflib graph costs some microseconds, and there is one per triple.
    if isinstance(inferred, ox.Store):
        in_ontology = {(term(s), term(p), term(o)) for s, p, o in ontology}
        in_data = {(term(s), term(p), term(o)) for s, p, o in data}
        kept: set | _InStore = _InStore(inferred)  # no copy of the store's triples
    else:
        in_ontology, in_data, kept = set(ontology), set(data), set(inferred)

    def ids(triple: tuple[Node, Node, Node]) -> tuple[int, int, int]:
        out = []
        for node in triple:
            found = terms.get(node)
            if found is None:
                text = str(term(node))
                found = terms[node] = texts.setdefault(text, len(texts) + 1)
            out.append(found)
        return (out[0], out[1], out[2])

    def graph_of(triple: tuple[Node, Node, Node]) -> str:
        if triple in in_ontology:
            return ONTOLOGY
        if triple in in_data:
            return ASSERTED
        if foreign is not None and not isinstance(triple[0], Literal | ox.Literal):
            s, p, o = (term(n) for n in triple)
            if next(foreign.quads_for_pattern(s, p, o, None), None) is not None:  # type: ignore[arg-type]
                return DATA
        return UNKNOWN

    derived = {t: d for t, d in derivations.items() if t not in in_ontology and t not in in_data}
    rule_ids = {name: i for i, name in enumerate(sorted({d.rule for d in derived.values()}), 1)}
    rows, premises = [], {}
    for triple, derivation in derived.items():
        for premise in derivation.premises:
            if premise not in derived:
                premises[premise] = None
        joined = " ".join(str(i) for premise in derivation.premises for i in ids(premise))
        rows.append((*ids(triple), rule_ids[derivation.rule], joined, triple in kept))
    asserted = [(*ids(t), graph_of(t)) for t in premises]

    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        with db:
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("triples", str(len(rows)))]
            )
            db.executemany("INSERT INTO terms VALUES (?, ?)", ((i, t) for t, i in texts.items()))
            db.executemany(
                "INSERT INTO rules VALUES (?, ?, ?, ?)",
                (
                    (i, name, getattr(rules.get(name), "title", name), getattr(rules.get(name), "text", ""))
                    for name, i in rule_ids.items()
                ),
            )
            db.executemany("INSERT INTO derived VALUES (?, ?, ?, ?, ?, ?)", sorted(rows))
            db.executemany("INSERT INTO asserted VALUES (?, ?, ?, ?)", sorted(asserted))
    finally:
        db.close()
    return len(rows)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Step:
    """How one triple was derived."""

    rule: str
    premises: tuple[Key, ...]
    kept: bool  # in the inferred graph (else derived on the way, and left out by kg.reason.keep)


class Derivations:
    """A build's derivations file, opened read-only (``open`` gives None when there is none)."""

    def __init__(self, path: Path) -> None:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        # Rule id → (title, text); a title that repeats the id ("prp-spo1: …") is shown without it.
        self.rules = {
            name: (title.removeprefix(f"{name}: "), text)
            for name, title, text in self._db.execute("SELECT name, title, text FROM rules")
        }
        self._rule_names = {i: name for i, name in self._db.execute("SELECT id, name FROM rules")}

    @classmethod
    def open(cls, path: Path) -> Derivations | None:
        return cls(path) if Path(path).is_file() else None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Derivations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self) -> int:
        """How many derived triples the file holds."""
        return self._db.execute("SELECT count(*) FROM derived").fetchone()[0]

    def _ids(self, key: Key) -> list[int] | None:
        found = dict(self._db.execute(f"SELECT nt, id FROM terms WHERE nt IN ({','.join('?' * 3)})", key))
        return [found[t] for t in key] if all(t in found for t in key) else None

    def step(self, key: Key) -> Step | None:
        ids = self._ids(key)
        row = (
            ids
            and self._db.execute(
                "SELECT rule, premises, kept FROM derived WHERE s = ? AND p = ? AND o = ?", ids
            ).fetchone()
        )
        if not row:
            return None
        numbers = [int(i) for i in row[1].split()]
        texts = dict(
            self._db.execute(
                f"SELECT id, nt FROM terms WHERE id IN ({','.join('?' * len(numbers))})", numbers
            )
        )
        premises = tuple(
            (texts[numbers[i]], texts[numbers[i + 1]], texts[numbers[i + 2]])
            for i in range(0, len(numbers), 3)
        )
        return Step(self._rule_names[row[0]], premises, bool(row[2]))

    def asserted(self, key: Key) -> str | None:
        """The input an asserted premise is in (ONTOLOGY, ASSERTED, DATA), as the build found it."""
        ids = self._ids(key)
        row = (
            ids
            and self._db.execute("SELECT graph FROM asserted WHERE s = ? AND p = ? AND o = ?", ids).fetchone()
        )
        return row[0] if row else None

    def derived(self) -> Iterator[tuple[Key, str]]:
        """Every derived triple and its rule (for tests and tools)."""
        query = """SELECT a.nt, b.nt, c.nt, r.name FROM derived d JOIN terms a ON a.id = d.s
                   JOIN terms b ON b.id = d.p JOIN terms c ON c.id = d.o JOIN rules r ON r.id = d.rule"""
        for s, p, o, rule in self._db.execute(query):
            yield (s, p, o), rule
