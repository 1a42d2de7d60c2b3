"""Semi-naive evaluation of the rule files on DuckDB, over integer-coded triples.

One table ``t(s, p, o, r)`` holds every triple, ``r`` the pass or round that added it
(0: asserted). The once-rules run first (passes 1 and 2, as owlrl's one-time rules); then
each round evaluates every rule once per body pattern over the graph, with that pattern
reading only the previous round's new triples (``delta``), the patterns before it only the
older ones and those after it all of them, so that a match is found in exactly one round
and one variant. A variant whose new-triple pattern names a predicate the previous round
did not add is skipped. What a round derives is grouped by triple, with the least
(rule, bindings) kept as its derivation, and what is already known is dropped. The rounds
stop when one adds nothing.

owl:sameAs is handled by eq-sym, eq-trans and the eq-rep rules, whose copies are limited
to those reason.keep() keeps or that go to the representative alias (see eq-rep-s.rq).
That is exact for graphs in which aliases are individuals: ``refusals`` lists what the
engine does not take (other OWL constructs, aliases used as classes or properties…).
"""

from __future__ import annotations

import array
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from kg.derivations import term as oxigraph_term
from kg.namespaces import WD, new_graph
from kg.rules import RL, Rule, load_axioms, load_rules
from kg.rules.sql import KIND, Context, constants, keep_sql, rule_query

Triple = tuple[Node, Node, Node]
_WD = str(WD)

# owlrl rules this engine does not have: a graph using them is refused, never half-reasoned.
UNSUPPORTED_PREDICATES = [
    OWL.intersectionOf, OWL.unionOf, OWL.complementOf, OWL.allValuesFrom, OWL.oneOf,
    OWL.maxCardinality, OWL.maxQualifiedCardinality, OWL.hasKey, OWL.disjointWith,
    OWL.propertyDisjointWith, OWL.sourceIndividual, OWL.members, OWL.distinctMembers,
    OWL.differentFrom,
]  # fmt: skip
UNSUPPORTED_TYPES = [
    OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.SymmetricProperty,
    OWL.AsymmetricProperty, OWL.IrreflexiveProperty, OWL.AllDisjointClasses,
    OWL.AllDisjointProperties, OWL.AllDifferent, OWL.Nothing,
]  # fmt: skip
# Where an alias (an IRI with an owl:sameAs to another) may not stand: there the rules'
# inequality tests (scm-sco's ?c1 != ?c3…) would tell aliases apart.
SCHEMA_PREDICATES = [
    RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass, OWL.equivalentProperty,
    RDFS.domain, RDFS.range, OWL.onProperty, OWL.someValuesFrom, OWL.inverseOf,
    OWL.propertyChainAxiom, RDF.first, RDF.rest,
]  # fmt: skip


class Terms:
    """The dictionary: rdflib term ⇄ integer id, with the term's kind in the two low bits.

    The term layer is pluggable: OxTerms holds pyoxigraph terms instead. The engine asks a
    dictionary only what is here (kind, datatype, IRI text, an rdflib constant's own term)."""

    def __init__(self) -> None:
        self.ids: dict = {}
        self.nodes: list = []

    def kind(self, term: Node) -> int:
        if isinstance(term, Literal):
            return KIND["literal"]
        if isinstance(term, BNode):
            return KIND["bnode"]
        return KIND["wikidata"] if str(term).startswith(_WD) else KIND["iri"]

    def convert(self, node: Node) -> object:
        """An rdflib constant (a rule's, an axiom's, the engine's) as this dictionary's term."""
        return node

    def datatype(self, term: object) -> object | None:
        """A literal's datatype as rdflib has it (none for plain and language-tagged ones), else None."""
        return term.datatype if isinstance(term, Literal) else None

    def iri(self, term: object) -> str | None:
        return str(term) if isinstance(term, URIRef) else None

    def show(self, i: int, names: object) -> str:
        return self.node(i).n3(names)  # type: ignore[no-any-return]

    def id(self, term: object) -> int:
        found = self.ids.get(term)
        if found is not None:
            return found
        new = len(self.nodes) << 2 | self.kind(term)  # type: ignore[arg-type]
        self.ids[term] = new
        self.nodes.append(term)
        return new

    def node(self, i: int) -> object:
        return self.nodes[i >> 2]

    def encode(self, triples: Iterable[tuple]) -> Iterator[tuple[int, int, int]]:
        ids, new = self.ids, self.id
        for s, p, o in triples:
            a, b, c = ids.get(s), ids.get(p), ids.get(o)
            yield (
                new(s) if a is None else a,
                new(p) if b is None else b,
                new(o) if c is None else c,
            )


_XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")


class OxTerms(Terms):
    """The dictionary over pyoxigraph terms: no rdflib object per input or output triple.

    rdflib constants (the rule files', axioms.ttl's) are converted once on entry. Literals
    keep rdflib's datatype semantics: plain (xsd:string) and language-tagged ones have none
    (pyoxigraph cannot tell ``"x"`` from ``"x"^^xsd:string``; rdflib can)."""

    def __init__(self) -> None:
        super().__init__()
        self._converted: dict[Node, object] = {}

    def kind(self, term: object) -> int:
        if isinstance(term, ox.Literal):
            return KIND["literal"]
        if isinstance(term, ox.BlankNode):
            return KIND["bnode"]
        return KIND["wikidata"] if term.value.startswith(_WD) else KIND["iri"]  # type: ignore[attr-defined]

    def convert(self, node: Node) -> object:
        found = self._converted.get(node)
        if found is None:
            found = self._converted[node] = oxigraph_term(node)
        return found

    def datatype(self, term: object) -> object | None:
        if not isinstance(term, ox.Literal) or term.language or term.datatype == _XSD_STRING:
            return None
        return term.datatype

    def iri(self, term: object) -> str | None:
        return term.value if isinstance(term, ox.NamedNode) else None

    def show(self, i: int, names: object) -> str:
        return str(self.node(i))

    def id(self, term: object) -> int:
        if isinstance(term, Node):
            term = self.convert(term)
        return super().id(term)


@dataclass
class Result:
    """What the engine derived, still coded: one row per triple, with its first derivation."""

    terms: Terms
    rules: list[Rule]
    s: array.array
    p: array.array
    o: array.array
    rule: array.array
    starts: array.array  # row i's bindings are bindings[starts[i]:starts[i + 1]]
    bindings: array.array
    kept: bytearray  # 1 where reason.keep() holds (computed in SQL: see sql._keep)
    rounds: int

    def __len__(self) -> int:
        return len(self.s)

    def triple(self, i: int) -> Triple:
        node = self.terms.node
        return (node(self.s[i]), node(self.p[i]), node(self.o[i]))

    def premises(self, i: int) -> tuple[Rule, tuple[Triple, ...]]:
        """Row i's rule and the triples it joined, in body order (the axioms' patterns left out)."""
        rule = self.rules[self.rule[i]]
        values = dict(zip(rule.variables, self.bindings[self.starts[i] : self.starts[i + 1]], strict=True))
        node = self.terms.node
        convert = self.terms.convert
        premises = tuple(
            tuple(node(values[t]) if t in values else convert(t) for t in pattern)  # type: ignore[index]
            for pattern in rule.premises
        )
        return rule, premises  # type: ignore[return-value]


def materialise(
    ontology: Graph,
    data: Graph | ox.Store,
    progress: Callable[[str], None] | None = None,
    rules: Mapping[str, Rule] | None = None,
    terms: Terms | None = None,
) -> Result:
    """Every triple the rules derive from ontology + data (the asserted triples left out).

    ``data`` is an rdflib graph, or a pyoxigraph store (every graph's triples) read with
    ``terms=OxTerms()``: then the result's terms are pyoxigraph terms."""
    rules = load_rules() if rules is None else rules
    say = progress or (lambda _line: None)
    terms = Terms() if terms is None else terms
    listed = list(rules.values())
    for rule in listed:
        for term in constants(rule):
            terms.id(term)
    for term in (OWL.sameAs, RDFS.label, SKOS.altLabel, *UNSUPPORTED_PREDICATES, *UNSUPPORTED_TYPES):
        terms.id(term)
    con = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="kg-reason-") as tmp:
            _load(con, Path(tmp), "t", terms.encode(_union(ontology, data)), with_round=True)
            _load(con, Path(tmp), "ax", terms.encode(load_axioms()), with_round=False)
        refusals = _refusals(con, terms, ontology, data)
        if refusals:
            raise Unsupported(refusals)
        wikidata = {terms.id(t) for t in (OWL.sameAs, RDFS.label, SKOS.altLabel)}
        view = tuple(i for i in terms.ids.values() if i in wikidata)
        ctx = Context(term_id=terms.id, same_as=terms.id(OWL.sameAs), view=view)
        _literals(con, terms)
        _representatives(con, terms)
        numbered = {r.id: n for n, r in enumerate(listed)}
        for once in (1, 2):
            batch = [r for r in listed if r.once == once]
            added = _evaluate(con, batch, numbered, ctx, once, delta=None)
            say(f"pass {once}: {added:,} new triples ({', '.join(r.id for r in batch)})")
        rounds = [r for r in listed if r.once == 0]
        n, lo = 2, 0
        while True:
            n += 1
            added = _evaluate(con, rounds, numbered, ctx, n, delta=(lo, n - 1))
            say(f"round {n - 2}: {added:,} new triples")
            if not added:
                break
            lo = n
        return _fetch(con, terms, listed, ctx, rounds=n - 2)
    finally:
        con.close()


class Unsupported(ValueError):
    """The graph uses what the rule files do not cover; ``reasons`` says what, one line each."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _union(ontology: Graph, data: Graph | ox.Store) -> Iterator[tuple]:
    yield from ontology
    if isinstance(data, ox.Store):
        for q in data.quads_for_pattern(None, None, None, None):
            yield q.subject, q.predicate, q.object
    else:
        yield from data  # a triple in both is loaded once (SELECT DISTINCT)


def _load(con: duckdb.DuckDBPyConnection, tmp: Path, table: str, rows: Iterable, with_round: bool) -> None:
    """Bulk-load coded triples through a CSV file (much faster than parameters without numpy)."""
    path = tmp / f"{table}.csv"
    with path.open("w") as f:
        f.writelines(f"{s},{p},{o}\n" for s, p, o in rows)
    con.execute(f"CREATE TABLE {table} (s BIGINT, p BIGINT, o BIGINT{', r INTEGER' if with_round else ''})")
    if path.stat().st_size:
        cols = "{'s': 'BIGINT', 'p': 'BIGINT', 'o': 'BIGINT'}"
        con.execute(
            f"INSERT INTO {table} SELECT DISTINCT s, p, o{', 0' if with_round else ''}"
            f" FROM read_csv('{path}', header = false, columns = {cols})"
        )


def _literals(con: duckdb.DuckDBPyConnection, terms: Terms) -> None:
    """lit(id, dt): each literal's datatype (rdflib's: none for plain and language-tagged ones)."""
    typed = [(i, terms.datatype(t)) for t, i in list(terms.ids.items()) if (i & 3) == KIND["literal"]]
    rows = [(i, terms.id(dt)) for i, dt in typed if dt is not None]
    con.execute("CREATE TABLE lit (id BIGINT, dt BIGINT)")
    if rows:
        con.execute(
            "INSERT INTO lit SELECT unnest($1), unnest($2)", [[a for a, _ in rows], [b for _, b in rows]]
        )


def _aliases(con: duckdb.DuckDBPyConnection, terms: Terms) -> dict[int, int]:
    """Each aliased term's representative: the least id of its owl:sameAs class outside Wikidata."""
    pairs = con.execute("SELECT s, o FROM t WHERE p = $1 AND s != o", [terms.id(OWL.sameAs)]).fetchall()
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    classes: dict[int, list[int]] = {}
    for x in list(parent):
        classes.setdefault(find(x), []).append(x)
    wikidata = KIND["wikidata"]
    return {
        x: min(members, key=lambda m: ((m & 3) == wikidata, m))
        for members in classes.values()
        for x in members
    }


def _representatives(con: duckdb.DuckDBPyConnection, terms: Terms) -> None:
    reps = sorted(set(_aliases(con, terms).values()))
    con.execute("CREATE TABLE rep (id BIGINT)")
    if reps:
        con.execute("INSERT INTO rep SELECT unnest($1)", [reps])


def _refusals(
    con: duckdb.DuckDBPyConnection, terms: Terms, ontology: Graph, data: Graph | ox.Store
) -> list[str]:
    """Why the rules would not give owlrl's closure of this graph (empty: they would)."""
    names = new_graph().namespace_manager
    node, out = (lambda i: terms.show(i, names)), []
    ids = lambda terms_: ", ".join(str(terms.id(t)) for t in terms_)  # noqa: E731
    for (p,) in con.execute(
        f"SELECT DISTINCT p FROM t WHERE p IN ({ids(UNSUPPORTED_PREDICATES)})"
    ).fetchall():
        out.append(f"{node(p)} is not supported")
    for (o,) in con.execute(
        f"SELECT DISTINCT o FROM t WHERE p = {terms.id(RDF.type)} AND o IN ({ids(UNSUPPORTED_TYPES)})"
    ).fetchall():
        out.append(f"rdf:type {node(o)} is not supported")
    same_as = terms.id(OWL.sameAs)
    if con.execute(f"SELECT count(*) FROM t WHERE s = {same_as} OR o = {same_as}").fetchone()[0]:  # type: ignore[index]
        out.append("owl:sameAs is itself described (a subject or object)")
    for graph in (ontology, data):
        for p, length in _chains(graph):
            if length != 2:
                shown = p.n3(names) if isinstance(p, Node) else str(p)
                out.append(f"the property chain of {shown} does not have two properties")
    aliases = sorted(_aliases(con, terms))
    if aliases:
        con.execute("CREATE TEMP TABLE alias AS SELECT unnest($1) AS id", [aliases])
        schema = f"{ids(SCHEMA_PREDICATES)}"
        found = con.execute(
            "SELECT DISTINCT id FROM alias WHERE (id & 3) = 3 OR id IN (SELECT p FROM t)"
            f" OR id IN (SELECT s FROM t WHERE p IN ({schema}) OR p = {terms.id(OWL.hasValue)})"
            f" OR id IN (SELECT o FROM t WHERE p IN ({schema}) OR p = {terms.id(RDF.type)})"
            f" OR id IN (SELECT s FROM t WHERE p = {terms.id(RDF.type)} AND o IN"
            f"           (SELECT s FROM ax WHERE p = {terms.id(RDF.type)} AND o = {terms.id(RL.Datatype)}))"
        ).fetchall()
        for (i,) in found[:5]:
            out.append(f"{node(i)} has an owl:sameAs alias and is a literal, a class or a property")
    return out


def _chains(graph: Graph | ox.Store) -> Iterator[tuple[object, int]]:
    """Each property with an owl:propertyChainAxiom, and how many properties its list holds."""
    if not isinstance(graph, ox.Store):
        for p, chain in graph.subject_objects(OWL.propertyChainAxiom):
            yield p, len(list(graph.items(chain)))
        return
    first, rest = ox.NamedNode(str(RDF.first)), ox.NamedNode(str(RDF.rest))

    def value(s: object, p: ox.NamedNode) -> object | None:
        q = next(graph.quads_for_pattern(s, p, None, None), None)  # type: ignore[arg-type]
        return None if q is None else q.object

    for q in graph.quads_for_pattern(None, ox.NamedNode(str(OWL.propertyChainAxiom)), None, None):
        node, n, seen = q.object, 0, set()  # as rdflib's Graph.items: first of each node, until no rest
        while node is not None and not isinstance(node, ox.Literal) and node not in seen:
            seen.add(node)
            n += value(node, first) is not None
            node = value(node, rest)
        yield q.subject, n


def _evaluate(
    con: duckdb.DuckDBPyConnection,
    rules: list[Rule],
    numbered: dict[str, int],
    ctx: Context,
    stamp: int,
    delta: tuple[int, int] | None,
) -> int:
    """One pass (delta None: every pattern reads all triples) or one semi-naive round."""
    queries = []
    if delta is None:
        for rule in rules:
            queries.append(rule_query(rule, numbered[rule.id], ["t"] * len(rule.body), ctx))
    else:
        lo, hi = delta
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE delta AS SELECT s, p, o FROM t WHERE r BETWEEN {lo} AND {hi}"
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW old AS SELECT s, p, o FROM t WHERE r < {lo}")
        present = {p for (p,) in con.execute("SELECT DISTINCT p FROM delta").fetchall()}
        for rule in rules:
            data = [j for j, atom in enumerate(rule.body) if not atom.axioms]
            for k, j in enumerate(data):
                atom = rule.body[j]
                if not isinstance(atom.p, Variable) and ctx.term_id(atom.p) not in present:
                    continue  # the new triples cannot match this pattern
                if k > 0 and lo == 0:
                    continue  # the first round: no older triples, the first variant finds all
                sources = ["t"] * len(rule.body)
                for before in data[:k]:
                    sources[before] = "old"
                sources[j] = "delta"
                queries.append(rule_query(rule, numbered[rule.id], sources, ctx))
    union = (
        " UNION ALL ".join(f"SELECT * FROM ({q})" for q in queries)
        if queries
        else ("SELECT NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::INTEGER, NULL::BIGINT[] WHERE FALSE")
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE cand AS {union}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fresh AS"
        " SELECT c.s, c.p, c.o, min(struct_pack(rule := c.rule, vars := c.vars)) AS d FROM cand c"
        " WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.s = c.s AND t.p = c.p AND t.o = c.o)"
        " GROUP BY c.s, c.p, c.o"
    )
    con.execute(f"INSERT INTO t SELECT s, p, o, {stamp} FROM fresh")
    con.execute("CREATE TABLE IF NOT EXISTS der (s BIGINT, p BIGINT, o BIGINT, rule INTEGER, vars BIGINT[])")
    con.execute("INSERT INTO der SELECT s, p, o, d.rule, d.vars FROM fresh")
    return con.execute("SELECT count(*) FROM fresh").fetchone()[0]  # type: ignore[index]


def _fetch(
    con: duckdb.DuckDBPyConnection, terms: Terms, rules: list[Rule], ctx: Context, rounds: int
) -> Result:
    result = Result(
        terms, rules, array.array("q"), array.array("q"), array.array("q"),
        array.array("H"), array.array("q", [0]), array.array("q"), bytearray(), rounds,
    )  # fmt: skip
    # owlrl's post-processing also drops triples with a blank node as predicate.
    kept = f"{keep_sql('s', 'p', 'o', ctx)} AND (p & 3) != {KIND['bnode']}"
    cursor = con.execute(f"SELECT s, p, o, rule, vars, {kept} FROM der")
    s_, p_, o_, rule_, bindings, starts, kept_ = (
        result.s, result.p, result.o, result.rule, result.bindings, result.starts, result.kept,
    )  # fmt: skip
    while batch := cursor.fetchmany(100_000):
        for s, p, o, rule, values, keep in batch:
            s_.append(s)
            p_.append(p)
            o_.append(o)
            rule_.append(rule)
            bindings.extend(values)
            starts.append(len(bindings))
            kept_.append(keep)
    return result
