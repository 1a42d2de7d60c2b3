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

import itertools
import sqlite3
from collections import ChainMap, defaultdict
from collections.abc import Collection, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
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

Keys = tuple[int, int, int]  # a triple as the keys of its three terms (see _Tables)


def write_derivations(
    path: Path,
    derivations: Mapping[tuple[Node, Node, Node], Derivation],
    rules: Mapping[str, Rule],
    *,
    ontology: Graph,
    data: Graph,
    inferred: Graph | Collection[tuple[Node, Node, Node]] | ox.Store,
    foreign: ox.Store | None = None,
) -> int:
    """Write the derivations of the triples the reasoner derived; returns how many were written.

    A derived triple that is also asserted is asserted: a proof stops there. ``inferred`` is
    an rdflib graph or a collection of rdflib triples (kg.pipeline's dict), with derivations by
    rdflib triples (kg.reason.closure), or a pyoxigraph store, with derivations by triples of
    pyoxigraph terms (kg.reason.closure_quads).
    """
    if isinstance(inferred, ox.Store):
        kept: Container = _InStore(inferred)  # no copy of the store's triples
    elif isinstance(inferred, Graph):
        kept = set(inferred)  # a membership test in an rdflib graph costs some microseconds
    else:
        kept = inferred
    on_store = isinstance(inferred, ox.Store)
    try:
        tables = _Tables(_items(derivations), ontology, data, kept, convert=on_store)
    except _SeenTwice:  # a triple in two maps of a ChainMap: each triple once, the first map's
        tables = _Tables(dict(derivations.items()).items(), ontology, data, kept, convert=on_store)
    asserted = tables.asserted(foreign)
    rows, texts, rule_ids = tables.rows, tables.texts, tables.rule_ids
    del tables  # its keys, by term and by triple, before sqlite takes its memory

    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        # No journal, no syncs: a half-written file is thrown away with its staging folder (kg.build).
        # A page cache that holds the whole file (25 MB for 330,000 derived triples; 256 MB at most),
        # not the default 2 MB: the terms' index is filled in no order, and its pages were spilled
        # and read back (the inserts took half as long again).
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;" + SCHEMA
        )
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
            # In key order: a WITHOUT ROWID table's B-tree is then filled at its end only (twice as fast).
            db.executemany("INSERT INTO derived VALUES (?, ?, ?, ?, ?, ?)", sorted(rows))
            db.executemany("INSERT INTO asserted VALUES (?, ?, ?, ?)", sorted(asserted))
    finally:
        db.close()
    return len(rows)


class _SeenTwice(Exception):
    """A derived triple came twice (see _items)."""


class _Tables:
    """The rows of the derived and asserted tables, and the terms they name.

    Terms are known by *keys* here, ints given in the order terms are met (by rdflib's, or
    pyoxigraph's, equality): triples are compared as three keys, which hash and compare in C,
    where an rdflib term runs Python code. The file's term *ids*, one per N-Triples text, go
    to the terms the rows name, in order of first use (a derivation's premises before its
    triple): a build numbers its terms the same way each time, and a derivation left out
    leaves no term behind.

    The work goes column by column, through map() and zip(), rather than row by row in Python:
    a build has 330,000 derived triples and 1.5 million terms in them and their premises, and
    each Python step per row or term cost some hundredths of a second.
    """

    def __init__(
        self,
        items: Iterable[tuple[tuple, Derivation]],
        ontology: Graph,
        data: Graph,
        kept: Container,
        *,
        convert: bool,
    ) -> None:
        # A term not met before gets the next key: a "get or add" that map() runs in C.
        self.keys: defaultdict[Node | Term, int] = defaultdict(itertools.count(1).__next__)
        self.nodes: list[Node | Term | None] = [None]  # by key (there is no key 0)
        pairs = list(items)
        triples = [triple for triple, _ in pairs]
        derivations = [derivation for _, derivation in pairs]
        del pairs  # the lists here are of 330,000 or a million items: each goes when done with
        derived = _triples(self._keys(itertools.chain.from_iterable(triples)))
        # Many triples share one derivation object (kg.wikibase.View.put): its premises are read
        # once. By id(): a derivation's own hash would hash all its terms (``derivations`` holds
        # them all meanwhile, so no two share an id).
        steps = dict(zip(map(id, derivations), derivations, strict=True))
        self.premises = self._premises(steps)  # before the inputs: their terms are looked up
        self.inputs = self._inputs(ontology, data, convert)
        self.derived = set(derived)
        if len(self.derived) < len(derived):
            raise _SeenTwice
        if not self.inputs.keys().isdisjoint(self.derived):  # a derived triple that is asserted is asserted
            keep = [i for i, keys in enumerate(derived) if keys not in self.inputs]
            triples, derivations, derived = ([c[i] for i in keep] for c in (triples, derivations, derived))
            self.derived -= self.inputs.keys()

        # Each derivation's first row (the reversed zip leaves each its smallest), then the keys
        # in order of first use: the premises of a derivation's first row before the row's triple.
        step_of = list(map(id, derivations))
        self.first = dict(zip(reversed(step_of), reversed(range(len(step_of))), strict=True))
        units: list[tuple[int, ...]] = list(derived)
        for step, row in self.first.items():
            units[row] = (*self.premises[step], *derived[row])
        self.texts: dict[str, int] = {}  # N-Triples text → id
        self.ids = ids = [0] * len(self.nodes)  # by key
        for key in dict.fromkeys(itertools.chain.from_iterable(units)):
            # Two keys can share a text (rdflib's "x" and "x"^^xsd:string): one term in the file.
            text = str(term(self.nodes[key]))  # type: ignore[arg-type]
            ids[key] = self.texts.setdefault(text, len(self.texts) + 1)
        del units

        names = list(map(str, ids))
        premises = {step: " ".join(map(names.__getitem__, self.premises[step])) for step in self.first}
        rule_of = list(map(attrgetter("rule"), derivations))
        self.rule_ids = {name: i for i, name in enumerate(sorted(set(rule_of)), 1)}
        term_ids = list(map(ids.__getitem__, itertools.chain.from_iterable(derived)))
        self.rows: list[tuple[int, int, int, int, str, bool]] = list(
            zip(
                term_ids[0::3],
                term_ids[1::3],
                term_ids[2::3],
                map(self.rule_ids.__getitem__, rule_of),
                map(premises.__getitem__, step_of),  # "1 2 3 4 5 6": term ids, three a premise
                map(kept.__contains__, triples),
                strict=True,
            )
        )

    def _keys(self, nodes: Iterable[Node | Term]) -> list[int]:
        """The terms' keys, new ones for the terms not met before."""
        found = list(map(self.keys.__getitem__, nodes))
        self.nodes.extend(itertools.islice(self.keys, len(self.nodes) - 1, None))  # the new terms
        return found

    def _premises(self, steps: dict[int, Derivation]) -> dict[int, list[int]]:
        """Each derivation's premises as keys, three a premise, by id(derivation)."""
        found = list(map(attrgetter("premises"), steps.values()))
        keys = self._keys(itertools.chain.from_iterable(itertools.chain.from_iterable(found)))
        ends = itertools.accumulate(3 * len(premises) for premises in found)
        return {step: keys[end - 3 * len(p) : end] for step, p, end in zip(steps, found, ends, strict=True)}

    def _inputs(self, ontology: Graph, data: Graph, convert: bool) -> dict[tuple, str]:
        """The input each triple of the ontology and the asserted data is in (the ontology if
        both), by keys; a triple with a term no derivation names has a None among them.
        ``convert``: the derivations are by pyoxigraph terms, so the graphs' are converted."""
        found: dict[tuple, str] = {}
        for graph, name in ((data, ASSERTED), (ontology, ONTOLOGY)):
            nodes = itertools.chain.from_iterable(graph)
            keys = list(map(self.keys.get, map(term, nodes) if convert else nodes))
            found.update(dict.fromkeys(_triples(keys), name))
        return found

    def asserted(self, foreign: ox.Store | None) -> list[tuple[int, int, int, str]]:
        """A row for each premise not derived: the input it is in, else DATA (``foreign``) or UNKNOWN."""
        keys = itertools.chain.from_iterable(map(self.premises.__getitem__, self.first))
        premises = dict.fromkeys(_triples(list(keys))).keys() - self.derived
        ids = self.ids
        return [(ids[s], ids[p], ids[o], self._input((s, p, o), foreign)) for s, p, o in premises]

    def _input(self, premise: Keys, foreign: ox.Store | None) -> str:
        found = self.inputs.get(premise)
        if found is not None:
            return found
        if foreign is not None:
            s, p, o = (term(self.nodes[k]) for k in premise)  # type: ignore[arg-type]
            if isinstance(s, ox.Literal):
                return UNKNOWN
            if next(foreign.quads_for_pattern(s, p, o, None), None) is not None:  # type: ignore[arg-type]
                return DATA
        return UNKNOWN


def _triples(keys: list) -> list[tuple]:
    """Keys three by three, as triples."""
    return list(zip(keys[0::3], keys[1::3], keys[2::3], strict=True))


def _items(derivations: Mapping) -> Iterable[tuple[tuple, Derivation]]:
    """``derivations.items()``; a ChainMap's read map by map, the last first (its own order).

    A ChainMap's own items() looks each key up in map after map (and kg.reason.Derivations
    indexes all its triples to answer that). Here a key in two maps comes twice (_SeenTwice)."""
    if isinstance(derivations, ChainMap):
        return itertools.chain.from_iterable(_items(m) for m in reversed(derivations.maps))
    return derivations.items()


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
