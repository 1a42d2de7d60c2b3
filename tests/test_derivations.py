"""kg.derivations.write_derivations: what the file holds, whatever shape its inputs come in.

The build hands it a ChainMap (the Wikidata view's and the conclusions' derivations before the
reasoner's), derivation objects shared by many triples (kg.wikibase.View.put), the inferred
triples as an rdflib graph, a dict or a pyoxigraph store, and triples of rdflib or of pyoxigraph
terms. These tests read the file back with plain SQL, ids resolved to N-Triples text, and check
its term ids: one per text, numbered in order of first use (premises before their conclusion).
"""

from __future__ import annotations

import sqlite3
from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, Namespace
from rdflib.namespace import RDFS, XSD

from kg import derivations as files
from kg.reason import Derivation

EX = Namespace("http://example.org/")


@dataclass(frozen=True)
class Rule:  # kg.reason.Rule's shape
    title: str
    text: str


RULES = {"r1": Rule("first", "one"), "r2": Rule("second", "two")}


def graph(*triples: tuple) -> Graph:
    g = Graph()
    for t in triples:
        g.add(t)
    return g


def nt(triple: tuple) -> tuple[str, str, str]:
    return tuple(str(files.term(n)) for n in triple)  # type: ignore[return-value]


def write(tmp_path: Path, derivations, *, ontology=(), data=(), inferred=None, **kw) -> Path:
    path = tmp_path / "derivations.sqlite"
    files.write_derivations(
        path,
        derivations,
        RULES,
        ontology=graph(*ontology),
        data=graph(*data),
        inferred=graph() if inferred is None else inferred,
        **kw,
    )
    return path


def read(path: Path) -> dict:
    """The file's content with ids resolved: derived rows by triple, asserted rows, the terms in id order."""
    db = sqlite3.connect(path)
    try:
        terms = dict(db.execute("SELECT id, nt FROM terms"))
        rules = {i: name for i, name in db.execute("SELECT id, name FROM rules")}

        def triples(ids: str) -> tuple:
            n = [terms[int(i)] for i in ids.split()]
            return tuple(tuple(n[i : i + 3]) for i in range(0, len(n), 3))

        derived = {
            (terms[s], terms[p], terms[o]): (rules[r], triples(premises), bool(kept))
            for s, p, o, r, premises, kept in db.execute("SELECT * FROM derived")
        }
        asserted = {(terms[s], terms[p], terms[o]): g for s, p, o, g in db.execute("SELECT * FROM asserted")}
        return {
            "derived": derived,
            "asserted": asserted,
            "terms": [terms[i] for i in sorted(terms)],
            "ids": sorted(terms),
            "rules": db.execute("SELECT id, name, title, text FROM rules ORDER BY id").fetchall(),
            "meta": dict(db.execute("SELECT key, value FROM meta")),
        }
    finally:
        db.close()


A, B, C = (EX.a, EX.p, EX.b), (EX.b, EX.p, EX.c), (EX.a, EX.q, EX.c)
SUB = (EX.p, RDFS.subPropertyOf, EX.q)


def test_rows_terms_rules_and_meta(tmp_path):
    derivations = {
        (EX.a, EX.q, EX.b): Derivation("r2", (A, SUB)),
        C: Derivation("r1", (A, B)),
    }
    found = read(write(tmp_path, derivations, ontology=[SUB], data=[A], inferred=graph(C)))
    assert found["derived"] == {
        nt((EX.a, EX.q, EX.b)): ("r2", (nt(A), nt(SUB)), False),
        nt(C): ("r1", (nt(A), nt(B)), True),
    }
    assert found["asserted"] == {nt(A): files.ASSERTED, nt(SUB): files.ONTOLOGY, nt(B): files.UNKNOWN}
    # Rules numbered by name, terms by first use: a derivation's premises, then its triple.
    assert found["rules"] == [(1, "r1", "first", "one"), (2, "r2", "second", "two")]
    assert found["terms"] == ["<http://example.org/a>", "<http://example.org/p>", "<http://example.org/b>",
                              "<http://www.w3.org/2000/01/rdf-schema#subPropertyOf>", "<http://example.org/q>",
                              "<http://example.org/c>"]  # fmt: skip
    assert found["ids"] == list(range(1, 7))
    assert found["meta"] == {"format": files.FORMAT, "triples": "2"}


def test_a_dropped_derivation_leaves_no_term_and_no_gap_in_the_ids(tmp_path):
    """A derived triple that is asserted is not written; the terms only it named are not either."""
    only_there = (EX.x, EX.y, EX.z)
    derivations = {A: Derivation("r1", (only_there,)), C: Derivation("r1", (B,))}
    found = read(write(tmp_path, derivations, data=[A], inferred=graph(C)))
    assert set(found["derived"]) == {nt(C)}
    assert found["terms"] == [*nt(B), "<http://example.org/a>", "<http://example.org/q>"]
    assert found["ids"] == [1, 2, 3, 4, 5]
    assert found["meta"]["triples"] == "1"


def test_a_chain_map_reads_as_a_mapping_its_first_map_wins(tmp_path):
    """The build's derivations: ChainMap(view, conclusions, reasoner). A triple in two maps has the
    first map's derivation; the order (and so the term ids) is the ChainMap's own."""
    first = {B: Derivation("r2", (SUB,))}
    last = {C: Derivation("r1", (A, B)), B: Derivation("r1", ((EX.x, EX.y, EX.z),))}
    chained = ChainMap(first, last)
    found = read(write(tmp_path, chained, inferred=graph(B, C)))
    assert found == read(write(tmp_path, dict(chained.items()), inferred=graph(B, C)))
    assert found["derived"][nt(B)] == ("r2", (nt(SUB),), True)
    assert "<http://example.org/x>" not in found["terms"]


def test_one_derivation_object_shared_by_many_triples(tmp_path):
    """kg.wikibase.View.put gives the triples of one claim the same derivation object."""
    shared = Derivation("r1", (A, B))
    derivations = {(EX[f"s{i}"], EX.p, EX.o): shared for i in range(5)} | {C: Derivation("r2", (A,))}
    found = read(write(tmp_path, derivations, data=[A]))
    assert len(found["derived"]) == 6
    assert {found["derived"][nt((EX[f"s{i}"], EX.p, EX.o))] for i in range(5)} == {
        ("r1", (nt(A), nt(B)), False)
    }
    assert found["asserted"] == {nt(A): files.ASSERTED, nt(B): files.UNKNOWN}


@pytest.mark.parametrize("kind", ["graph", "dict", "set"])
def test_kept_is_membership_in_the_inferred_triples_of_any_shape(tmp_path, kind):
    inferred = {C: None} if kind == "dict" else {C} if kind == "set" else graph(C)
    derivations = {C: Derivation("r1", (A,)), B: Derivation("r1", (A,))}
    found = read(write(tmp_path, derivations, inferred=inferred))
    assert {t: kept for t, (_, _, kept) in found["derived"].items()} == {nt(C): True, nt(B): False}


def test_triples_of_pyoxigraph_terms_with_an_inferred_store(tmp_path):
    """kg.reason.closure_quads: derivations by pyoxigraph triples, the inferred triples in a store,
    the ontology and data still rdflib graphs."""
    o = {n: files.term(n) for t in (A, B, C, SUB) for n in t}
    ox_a, ox_b, ox_c, ox_sub = ((o[s], o[p], o[x]) for s, p, x in (A, B, C, SUB))
    store = ox.Store()
    store.add(ox.Quad(*ox_c, ox.NamedNode("urn:x:inferred")))
    derivations = {ox_c: Derivation("r1", (ox_a, ox_sub)), ox_b: Derivation("r2", (ox_a,))}
    found = read(write(tmp_path, derivations, ontology=[SUB], data=[A], inferred=store))
    assert found["derived"] == {
        nt(C): ("r1", (nt(A), nt(SUB)), True),
        nt(B): ("r2", (nt(A),), False),
    }
    assert found["asserted"] == {nt(A): files.ASSERTED, nt(SUB): files.ONTOLOGY}


def test_a_premise_in_foreign_data(tmp_path):
    foreign = ox.Store()
    foreign.add(ox.Quad(*(files.term(n) for n in A), ox.NamedNode("urn:x:g")))
    found = read(write(tmp_path, {C: Derivation("r1", (A, B))}, foreign=foreign))
    assert found["asserted"] == {nt(A): files.DATA, nt(B): files.UNKNOWN}


LITERALS = [
    Literal('say "hi"\n\tand \\ go\r'),
    Literal("ünïcødé ☃ \U0001f600 \x00\x7f\u200b"),
    Literal("tagged", lang="en-GB"),
    Literal("tagged", lang="EN"),
    Literal("42", datatype=XSD.integer),
    Literal("042", datatype=XSD.integer),
    Literal("x", datatype=XSD.string),
    Literal("2017-07-07", datatype=XSD.date),
    Literal("odd", datatype=EX.type),
    Literal(""),
]


def test_every_term_is_stored_as_pyoxigraph_writes_it(tmp_path):
    """Readers parse the texts with pyoxigraph (read_term) and look triples up by them."""
    blank = BNode("b1")
    derivations = {
        (EX.a, EX[f"p{i}"], lit): Derivation("r1", ((blank, EX.q, lit),)) for i, lit in enumerate(LITERALS)
    }
    found = read(write(tmp_path, derivations))
    expected = {str(files.term(n)) for t in derivations for n in t} | {"_:b1", "<http://example.org/q>"}
    assert set(found["terms"]) == expected
    for text in found["terms"]:
        assert str(files.read_term(text)) == text
