"""A query's answer is the same whichever engine evaluates it: pyoxigraph (served) and rdflib.

The canned queries are compared in test_competency.py; these cover the rest
of the language the endpoint is used with.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Literal, URIRef

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
QUERIES = sorted((Path(__file__).parent / "data" / "engine").glob("*.rq"))


def _n3(term) -> str | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value).n3()
    if isinstance(term, ox.BlankNode):
        return "_:b"  # blank node labels are local to each engine
    if term.language:
        return Literal(term.value, lang=term.language).n3()
    if term.datatype.value == XSD_STRING:  # RDF 1.1: a simple literal is an xsd:string
        return Literal(term.value).n3()
    return Literal(term.value, datatype=URIRef(term.datatype.value)).n3()


@pytest.fixture(scope="module")
def rdflib_graph(kg):
    return kg.to_rdflib()


# rdflib's own evaluator calls its deprecated Dataset API; nothing of ours does.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")
@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_same_answer_on_both_engines(kg, rdflib_graph, path):
    text = path.read_text(encoding="utf-8")
    ours = kg.query(text)
    names = [v.value for v in ours.variables]
    oxi = [tuple(_n3(row[n]) for n in names) for row in ours]
    theirs = [
        tuple(None if row[n] is None else "_:b" if isinstance(row[n], BNode) else row[n].n3() for n in names)
        for row in rdflib_graph.query(text)
    ]
    if "ORDER BY" in text:
        assert oxi == theirs
    else:
        assert sorted(oxi, key=str) == sorted(theirs, key=str)
    assert oxi, "a comparison of empty answers proves nothing"
