"""The OWL 2 RL rules, as data: one SPARQL CONSTRUCT file per rule, in this folder.

Each ``<id>.rq`` is named after its rule in the OWL 2 RL tables (``prp-spo1``, ``cax-sco``…)
or, for what owlrl adds beyond them, after what it does (``dt-disjoint``). It starts with a
header a person reads first::

    #+ title: a sub-property's statement holds for its super-property
    #+ once: 1                (optional: evaluated once, before the rounds, in pass 1 or 2)
    # OWL 2 RL, Table 5 (…), prp-spo1:
    #   IF   T(?p1, rdfs:subPropertyOf, ?p2)   T(?x, ?p1, ?y)
    #   THEN T(?x, ?p2, ?y)

and then a CONSTRUCT whose WHERE holds only triple patterns, ``GRAPH rl:axioms { … }``
(owlrl's datatype and annotation tables, ``axioms.ttl``, which are never part of a
closure) and FILTERs made of ``=``, ``!=``, ``IN``, ``&&``, ``||``, ``!``, ``ISLITERAL``,
``ISIRI``, ``ISBLANK``, ``DATATYPE`` and two functions of the engine: ``rl:keep(s, p, o)``
(reason.keep() in SQL) and ``rl:representative(x)`` (the alias that stands for its
owl:sameAs class). rdflib parses the files; kg.rules.sql compiles them to SQL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from rdflib import Graph, Namespace, Variable
from rdflib.plugins.sparql import algebra, prepareQuery
from rdflib.term import Node

FOLDER = Path(__file__).parent
RL = Namespace("https://w3id.org/hos-kg/rules#")
AXIOMS = RL.axioms  # the graph name the rule files use for axioms.ttl
_HEADER = re.compile(r"^#\+\s*(\w+):\s*(.*?)\s*$")

Pattern = tuple[Node, Node, Node]  # a triple pattern: rdflib terms and Variables


@dataclass(frozen=True)
class Atom:
    """One triple pattern of a rule's body; ``axioms``: matched in axioms.ttl, not in the graph."""

    s: Node
    p: Node
    o: Node
    axioms: bool = False

    @property
    def pattern(self) -> Pattern:
        return (self.s, self.p, self.o)


@dataclass(frozen=True)
class Rule:
    """One rule file. ``title`` is one line for people; ``text`` the file as written."""

    id: str
    title: str
    text: str
    once: int = 0  # 0: in every round; 1 or 2: once, before the rounds, in that pass
    body: tuple[Atom, ...] = field(default=(), compare=False)
    head: tuple[Pattern, ...] = field(default=(), compare=False)
    filters: tuple[object, ...] = field(default=(), compare=False)  # rdflib algebra expressions

    @property
    def variables(self) -> tuple[Variable, ...]:
        """The body's variables in order of first appearance: a derivation records their values."""
        seen: dict[Variable, None] = {}
        for atom in self.body:
            for term in atom.pattern:
                if isinstance(term, Variable):
                    seen.setdefault(term)
        return tuple(seen)

    @property
    def premises(self) -> tuple[Pattern, ...]:
        """The body's patterns over the graph (not the axioms), in body order."""
        return tuple(a.pattern for a in self.body if not a.axioms)


def parse_rule(path: Path) -> Rule:
    """Read one rule file; a bad header or a body beyond the supported subset names the file."""
    text = path.read_text(encoding="utf-8")
    header = dict(m.groups() for line in text.splitlines() if (m := _HEADER.match(line)))
    if "title" not in header:
        raise ValueError(f"{path.name}: no '#+ title:' line")
    # rdflib reorders a BGP's patterns for its own evaluation; keep the file's order.
    with mock.patch.object(algebra, "reorderTriples", list):
        query = prepareQuery(text)
    if query.algebra.name != "ConstructQuery":
        raise ValueError(f"{path.name}: not a CONSTRUCT query")
    body: list[Atom] = []
    filters: list[object] = []
    _walk(query.algebra.p, body, filters, axioms=False, name=path.name)
    head = tuple(tuple(t) for t in query.algebra.template)
    return Rule(
        id=path.stem,
        title=f"{path.stem}: {header['title']}",
        text=text,
        once=int(header.get("once", 0)),
        body=tuple(body),
        head=head,  # type: ignore[arg-type]
        filters=tuple(filters),
    )


def _walk(node: object, body: list[Atom], filters: list[object], axioms: bool, name: str) -> None:
    kind = getattr(node, "name", None)
    if kind in ("Project", "ToMultiSet"):
        _walk(node.p, body, filters, axioms, name)  # type: ignore[attr-defined]
    elif kind == "Filter":
        _walk(node.p, body, filters, axioms, name)  # type: ignore[attr-defined]
        filters.append(node.expr)  # type: ignore[attr-defined]
    elif kind == "Join":
        _walk(node.p1, body, filters, axioms, name)  # type: ignore[attr-defined]
        _walk(node.p2, body, filters, axioms, name)  # type: ignore[attr-defined]
    elif kind == "Graph" and node.term == AXIOMS:  # type: ignore[attr-defined]
        _walk(node.p, body, filters, True, name)  # type: ignore[attr-defined]
    elif kind == "BGP":
        body.extend(Atom(s, p, o, axioms) for s, p, o in node.triples)  # type: ignore[attr-defined]
    else:
        raise ValueError(f"{name}: only triple patterns, GRAPH rl:axioms and FILTER are allowed, not {kind}")


@functools.cache
def load_rules(folder: Path = FOLDER) -> Mapping[str, Rule]:
    """Every rule file of ``folder`` by id: the passes run once first (1, then 2), then the rounds."""
    rules = [parse_rule(path) for path in sorted(folder.glob("*.rq"))]
    rules.sort(key=lambda r: (r.once == 0, r.once))  # stable: by file name within a pass
    return {r.id: r for r in rules}


@functools.cache
def load_axioms(folder: Path = FOLDER) -> Graph:
    """owlrl's tables as triples (axioms.ttl): what ``GRAPH rl:axioms`` matches."""
    return Graph().parse(folder / "axioms.ttl", format="turtle")
