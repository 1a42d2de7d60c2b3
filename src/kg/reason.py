"""Step 3, reason: the OWL 2 RL closure, computed once, kept in its own graph.

Two engines give the same inferred graph (tests/test_reason.py holds them to it):

* ``rules`` (the default): the rule files of ``kg/rules/`` (one SPARQL CONSTRUCT per OWL 2
  RL rule the ontology needs), compiled to SQL and evaluated semi-naively on DuckDB over
  integer-coded terms (kg.rules.engine). It records, for every triple it derives, the
  first derivation found: the rule and the triples it joined. ``closure_quads`` runs it on
  data in a pyoxigraph store and gives the inferred triples in one, as pyoxigraph terms
  (no rdflib object per triple: ``kg serve --data --reason --no-validate``).
* ``owlrl``: the reference, and the test oracle. It runs in place on a scratch copy of
  ontology + data, and the inferred graph is the difference. We do not use owlrl's
  ``destination=`` argument: here it inferred about a third fewer triples
  (RDFLib/OWL-RL#76; the test suite compares both ways).

Both closures go through keep(), which drops:

* triples with a literal subject (``"2017-07-07"^^xsd:date a xsd:date``), which
  are not RDF 1.1, and which pyoxigraph refuses to load;
* reflexive ``x owl:sameAs x``, one per node: true, and noise in every dump;
* owl:sameAs copies onto Wikidata IRIs, but for labels and the links themselves.
  ``person:vladimir-putin owl:sameAs wd:Q7747`` makes owlrl copy every triple
  of one onto the other. Kept on wd: IRIs: owl:sameAs, rdfs:label, skos:altLabel,
  which the label service reads. Dropped: e.g. ``meeting hos:participant wd:Q7747``
  and ``wd:Q7747 a hos:Person``, so a query in the project's own vocabulary (hos:,
  sdo:, prov:) answers with the project's IRIs once, without DISTINCT or namespace
  filters. Wikidata's vocabulary (wdt:, p:, ps: …) is kg.wikibase's, after reasoning.
  The rules engine does not make those copies in the first place (eq-rep-s.rq).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import owlrl
import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDFS, SKOS
from rdflib.term import Node

from kg.config import REASONERS
from kg.errors import DataError
from kg.namespaces import WD, new_graph
from kg.rules import Rule, load_rules

if TYPE_CHECKING:
    from kg.rules.engine import Result

__all__ = [
    "RULES", "Derivation", "Inference", "QuadInference", "Rule", "Triple", "closure", "closure_quads",
    "full_closure", "keep",
]  # fmt: skip

Triple = tuple[Node, Node, Node]


class _Rules(Mapping[str, Rule]):
    """kg/rules/*.rq by id, read on first use (importing this module reads no file)."""

    def __getitem__(self, rule_id: str) -> Rule:
        return load_rules()[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(load_rules())

    def __len__(self) -> int:
        return len(load_rules())


RULES: Mapping[str, Rule] = _Rules()  # every rule the engine knows, by id
PROGRESS_FROM = 20_000  # asserted triples from which a build shows the reasoner's rounds

# What a Wikidata IRI may carry in the inferred graph from reasoning: its link and labels
# (the Wikidata view, kg.wikibase, adds the rest after reasoning).
_WIKIDATA_LABELS = {OWL.sameAs, RDFS.label, SKOS.altLabel}


@dataclass(frozen=True)
class Derivation:
    """How the engine first derived a triple: a rule and the triples it joined, in body order."""

    rule: str  # a rule id: the rule file's name without suffix, e.g. "prp-spo1"
    premises: tuple[Triple, ...]


@dataclass
class Inference:
    """A closure's result: the inferred graph (after keep()) and one derivation per derived triple.

    ``derivations`` covers every triple the rules engine derived, kept or not (a proof may
    pass through a triple keep() drops); it is empty for owlrl."""

    inferred: Graph
    derivations: Mapping[Triple, Derivation] = field(default_factory=dict)


@dataclass
class QuadInference:
    """closure_quads()'s result: the inferred triples in a pyoxigraph store (in one graph), and
    the derivations as for closure(), by triples of pyoxigraph terms."""

    inferred: ox.Store
    derivations: Mapping[tuple, Derivation] = field(default_factory=dict)


def _is_wd(node: object) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(str(WD))


def keep(s: object, p: URIRef, o: object) -> bool:
    """Whether an owlrl output triple belongs in the inferred graph (see module doc)."""
    if isinstance(s, Literal) or (p == OWL.sameAs and s == o):
        return False
    return not ((_is_wd(s) or _is_wd(o)) and p not in _WIKIDATA_LABELS)


def full_closure(ontology: Graph, data: Graph) -> Graph:
    """owlrl's OWL 2 RL closure of ontology + data, computed in place on a copy."""
    scratch = Graph()
    for triple in ontology:
        scratch.add(triple)
    for triple in data:
        scratch.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(scratch)
    return scratch


def closure(
    ontology: Graph,
    data: Graph,
    *,
    reasoner: str = "rules",
    progress: Callable[[str], None] | None = None,
) -> Inference:
    """What OWL 2 RL entails beyond ontology + data, filtered by keep(), with derivations.

    ``progress`` gets a line per pass and round ("round 3: 1,234 new triples")."""
    say = progress or (lambda _line: None)
    if reasoner == "owlrl":
        t = time.perf_counter()
        inferred = new_graph()
        for s, p, o in full_closure(ontology, data):
            if keep(s, p, o) and (s, p, o) not in ontology and (s, p, o) not in data:
                inferred.add((s, p, o))
        say(f"owlrl: {len(inferred):,} inferred triples in {time.perf_counter() - t:.1f} s")
        return Inference(inferred)
    if reasoner != "rules":
        raise ValueError(f"unknown reasoner {reasoner!r}; known: {', '.join(REASONERS)}")
    t = time.perf_counter()
    result = _materialise(ontology, data, progress, oxigraph=False)
    inferred = new_graph()
    add, nodes = inferred.add, result.terms.nodes
    # result.kept is keep() computed in SQL (and owlrl's dropping of blank-node predicates).
    for s, p, o, kept in zip(result.s, result.p, result.o, result.kept, strict=True):
        if kept:
            add((nodes[s >> 2], nodes[p >> 2], nodes[o >> 2]))
    say(
        f"rules: {len(result):,} derived, {len(inferred):,} inferred triples kept, "
        f"{result.rounds} rounds, {time.perf_counter() - t:.1f} s"
    )
    return Inference(inferred, Derivations(result))


def closure_quads(
    ontology: Graph,
    store: ox.Store,
    *,
    graph: ox.NamedNode | ox.DefaultGraph | None = None,
    progress: Callable[[str], None] | None = None,
) -> QuadInference:
    """closure(ontology, data) with the data in a pyoxigraph store (the triples of all its graphs),
    reasoned by the rules engine over pyoxigraph terms: no rdflib object per data or inferred triple.

    The inferred triples go into a new in-memory store, in ``graph`` (default: the default graph)."""
    say = progress or (lambda _line: None)
    t = time.perf_counter()
    result = _materialise(ontology, store, progress, oxigraph=True)
    target = ox.DefaultGraph() if graph is None else graph
    nodes, Quad = result.terms.nodes, ox.Quad
    inferred = ox.Store()
    inferred.bulk_extend(
        Quad(nodes[s >> 2], nodes[p >> 2], nodes[o >> 2], target)
        for s, p, o, kept in zip(result.s, result.p, result.o, result.kept, strict=True)
        if kept
    )
    say(
        f"rules: {len(result):,} derived, {len(inferred):,} inferred triples kept, "
        f"{result.rounds} rounds, {time.perf_counter() - t:.1f} s"
    )
    return QuadInference(inferred, Derivations(result))


def _materialise(
    ontology: Graph, data: Graph | ox.Store, progress: Callable[[str], None] | None, oxigraph: bool
) -> Result:
    from kg.rules.engine import OxTerms, Unsupported, materialise  # here: duckdb loads only when used

    try:
        return materialise(ontology, data, progress, terms=OxTerms() if oxigraph else None)
    except Unsupported as exc:
        raise DataError(
            "the rules reasoner cannot give owlrl's closure of this graph: "
            + "; ".join(exc.reasons)
            + ". Use --reasoner owlrl (KG_REASONER=owlrl)."
        ) from None


class Derivations(Mapping[Triple, Derivation]):
    """The engine's derivations, decoded on demand from its compact columns.

    Iterating (``items()``) streams; the first lookup by triple builds an index."""

    def __init__(self, result: object) -> None:
        self._result = result
        self._index: dict[Triple, int] | None = None

    def __len__(self) -> int:
        return len(self._result)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Triple]:
        r = self._result
        return (r.triple(i) for i in range(len(r)))  # type: ignore[attr-defined,arg-type]

    def _derivation(self, i: int) -> Derivation:
        rule, premises = self._result.premises(i)  # type: ignore[attr-defined]
        return Derivation(rule.id, premises)

    def __getitem__(self, triple: Triple) -> Derivation:
        if self._index is None:
            self._index = {t: i for i, t in enumerate(self)}
        return self._derivation(self._index[triple])

    def items(self) -> Iterator[tuple[Triple, Derivation]]:  # type: ignore[override]
        r = self._result
        return ((r.triple(i), self._derivation(i)) for i in range(len(r)))  # type: ignore[attr-defined,arg-type]

    def values(self) -> Iterator[Derivation]:  # type: ignore[override]
        return (self._derivation(i) for i in range(len(self)))


@contextmanager
def console_progress(size: int) -> Iterator[Callable[[str], None] | None]:
    """What `kg build` shows while reasoning on ``size`` asserted triples: nothing for small
    graphs; else a line per round on stderr, or a bar on stdout when it is a terminal."""
    if size < PROGRESS_FROM:
        yield None
        return
    import click

    if not sys.stdout.isatty():
        yield lambda line: click.echo(f"reason: {line}", err=True)
        return
    rounds = (_ for _ in ())  # no length: the number of rounds is not known before the last
    with click.progressbar(rounds, label="reasoning", item_show_func=lambda line: line) as bar:
        yield lambda line: bar.update(1, line)
