"""Every inferred triple explained: a proof tree, down to asserted triples and the source text.

``explain`` reads a proof from the build's derivations file (kg.derivations), with a
cycle guard, a depth bound and a size bound (a premise used twice is proved twice in
a tree). What an asserted triple comes from is asked of the graph with the canned
queries in ``queries/internal/`` (a ``Lookup``, through the Engine, terms bound,
never formatted into a query): the source sentences its subject was derived from
(``prov:wasDerivedFrom``), in Bengali and in the English reading, or the record it
came from (Wikidata); an ontology triple comes from the ontology. /explain and
``kg explain`` answer with it, as HTML, JSON (``document``) or text (``as_text``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

import pyoxigraph as ox

from kg.config import Settings
from kg.derivations import ASSERTED, DATA, ONTOLOGY, UNKNOWN, Derivations, Key, Step, Term, key_of, read_term
from kg.errors import BadRequest, NotFound
from kg.iris import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, PREFIXES

MAX_DEPTH = 40  # levels of a proof; a deeper premise is shown as "truncated"
MAX_NODES = 200  # nodes of one proof: a premise used twice is proved twice in a tree
# Resources whose sources one proof looks up (a query each, through the shared query processes):
# past it, a leaf says so instead of naming its sources, so one request stays a bounded cost.
MAX_LOOKUPS = 40
SOURCE_ROWS = 1_000  # rows of one source lookup
GRAPH_NAMES = {GRAPH_ONTOLOGY: ONTOLOGY, GRAPH_ASSERTED: ASSERTED, GRAPH_INFERRED: "inferred"}


# ---------------------------------------------------------------- terms given by people


def parse_term(text: str, name: str, *, literal: bool = True, blank: bool = True) -> Term:
    """A term given by a user: an IRI (bare, ``<…>``, or a prefixed name with one of the project's
    prefixes such as ``hos:participant``), a blank node ``_:label``, or a literal in N-Triples syntax
    (``"Hamburg"@en``, ``"1"^^<http://www.w3.org/2001/XMLSchema#integer>``). 400 names ``name``."""
    text = text.strip()
    if not text:
        raise BadRequest(f"parameter {name!r} is required: an IRI" + (" or a literal" if literal else ""))
    written = text if text[0] in '<"_' else f"<{_expand(text)}>"
    try:
        triples = list(ox.parse(f"<urn:x:s> <urn:x:p> {written} .".encode(), format=ox.RdfFormat.N_TRIPLES))
    except SyntaxError as exc:
        raise BadRequest(f"parameter {name!r} is not an RDF term in N-Triples syntax: {exc}") from None
    if len(triples) != 1:
        raise BadRequest(f"parameter {name!r} must be one RDF term")
    found = triples[0].object
    if not isinstance(found, ox.NamedNode | ox.BlankNode | ox.Literal):  # an RDF 1.2 triple term
        raise BadRequest(f"parameter {name!r} must be an IRI" + (" or a literal" if literal else ""))
    if (isinstance(found, ox.Literal) and not literal) or (isinstance(found, ox.BlankNode) and not blank):
        kind = "a literal" if isinstance(found, ox.Literal) else "a blank node"
        raise BadRequest(f"parameter {name!r} must be an IRI, not {kind}")
    return found


def short(text: str) -> str:
    """A key's term for people: a prefixed name where one of the project's prefixes fits."""
    if text.startswith("<") and text.endswith(">"):
        iri = text[1:-1]
        for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
            if iri.startswith(ns) and iri != ns:
                return f"{prefix}:{iri[len(ns) :]}"
    return text


def _expand(text: str) -> str:
    prefix, colon, local = text.partition(":")
    if colon and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return text


# ---------------------------------------------------------------- sources, through the graph


@dataclass(frozen=True)
class Source:
    """What an asserted triple comes from: a sentence of the source text, or another record."""

    iri: str
    kind: str  # sentence, paragraph, document, record, ontology
    bn: str | None  # the Bengali text (a sentence's; else the record's name)
    en: str | None  # its English reading
    where: str | None = None  # "1.4": paragraph 1, sentence 4
    note: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


# Runs a query of queries/internal/ by name with terms bound: (name, bindings, infer) -> rows.
Rows = Callable[[str, dict[str, Term], bool], list]
KINDS = {"Sentence": "sentence", "Paragraph": "paragraph", "SourceDocument": "document"}


class Lookup:
    """The graph's side of an explanation, asked through canned queries (cached per proof)."""

    def __init__(self, rows: Rows, max_lookups: int = MAX_LOOKUPS) -> None:
        self._rows = rows
        self._sources: dict[str, list[Source]] = {}
        self._fact_sources: dict[Key, list[Source]] = {}
        self._ontology: list[Source] | None = None
        self._lookups_left = max_lookups
        self.exhausted = False  # some leaf's sources were not looked up (MAX_LOOKUPS)

    def graphs(self, key: Key) -> set[str]:
        """The names (ontology, asserted, inferred, or a graph's IRI) of the graphs holding a triple."""
        s, p, o = (read_term(t) for t in key)
        if isinstance(s, ox.Literal) or ox.BlankNode in (type(s), type(o)):
            return set()  # blank nodes have other labels in the store than in the build (graph.nq)
        rows = self._rows("triple-graphs", {"_s": s, "_p": p, "_o": o}, True)
        return {DATA if r["g"] is None else GRAPH_NAMES.get(r["g"].value, r["g"].value) for r in rows}

    def sources(self, iri: str) -> list[Source]:
        """The sources a resource was derived from (or the resource itself, if it is one)."""
        if iri not in self._sources:
            found = self._looked_up("sources", {"_resource": ox.NamedNode(iri)})
            if found is None:
                return []
            self._sources[iri] = found
        return self._sources[iri]

    def fact_sources(self, key: Key) -> list[Source]:
        """The sources data/references.ttl gives one triple (none: its subject's are its sources)."""
        if key not in self._fact_sources:
            s, p, o = (read_term(t) for t in key)
            if not isinstance(s, ox.NamedNode) or isinstance(o, ox.BlankNode):
                return []
            found = self._looked_up("fact-sources", {"_s": s, "_p": p, "_o": o})
            if found is None:
                return []
            self._fact_sources[key] = found
        return self._fact_sources[key]

    def _looked_up(self, query: str, bindings: dict[str, Term]) -> list[Source] | None:
        """A sources query's rows as sources, one per source; None past MAX_LOOKUPS."""
        if self._lookups_left <= 0:
            self.exhausted = True
            return None
        self._lookups_left -= 1
        found: dict[str, dict] = {}
        for r in self._rows(query, bindings, False):
            row = {k: r[k].value for k in SOURCE_COLUMNS if r[k] is not None}
            entry = found.setdefault(row["source"], {})
            for k, v in row.items():
                entry.setdefault(k, v)
        return [_source(entry) for entry in found.values()]

    def ontology(self) -> list[Source]:
        if self._ontology is None:
            self._ontology = [
                Source(
                    r["ontology"].value,
                    ONTOLOGY,
                    r["labelBn"].value if r["labelBn"] else None,
                    r["labelEn"].value if r["labelEn"] else None,
                    note=r["comment"].value if r["comment"] else None,
                )
                for r in self._rows("ontology-source", {}, False)
            ]
        return self._ontology

    def of(self, key: Key, graph: str) -> list[Source]:
        """The sources of an asserted triple: the sentences data/references.ttl gives it, else its
        subject's (else its object's, if that is an IRI)."""
        if graph == ONTOLOGY:
            return self.ontology()
        if graph == UNKNOWN:
            return []
        own = self.fact_sources(key)
        if own:
            return own
        for text in (key[0], key[2]):
            if text.startswith("<"):
                found = self.sources(text[1:-1])
                if found:
                    return found
        return []


SOURCE_COLUMNS = (
    "source",
    "type",
    "textBn",
    "textEn",
    "labelBn",
    "labelEn",
    "comment",
    "paragraphNo",
    "sentenceNo",
)


def _source(row: dict) -> Source:
    kind = KINDS.get(row.get("type", "").rpartition("#")[2], "record")
    texts = kind in ("sentence", "paragraph")
    where = (
        f"{row['paragraphNo']}.{row['sentenceNo']}" if kind == "sentence" and "sentenceNo" in row else None
    )
    return Source(
        iri=row["source"],
        kind=kind,
        bn=row.get("textBn") if texts else row.get("labelBn"),
        en=row.get("textEn") if texts else row.get("labelEn"),
        where=where,
        note=row.get("comment"),
    )


# ---------------------------------------------------------------- proofs


@dataclass
class Proof:
    """One node of a proof tree: an inferred triple (rule, premises), an asserted one (graph,
    sources), or where the walk stopped: a ``cycle``, the depth or size bound (``truncated``), or a
    premise neither derived nor asserted (``unknown``)."""

    triple: Key
    status: str  # inferred, asserted, cycle, truncated, unknown
    rule: str | None = None
    title: str | None = None
    kept: bool = True
    premises: list[Proof] = field(default_factory=list)
    graph: str | None = None
    sources: list[Source] = field(default_factory=list)

    def walk(self) -> Iterator[Proof]:
        yield self
        for premise in self.premises:
            yield from premise.walk()

    def to_json(self) -> dict:
        out: dict = {"triple": triple_json(self.triple), "status": self.status}
        if self.status == "inferred":
            out["rule"] = {"id": self.rule, "title": self.title}
            out["kept"] = self.kept
            out["premises"] = [p.to_json() for p in self.premises]
        elif self.status == "asserted":
            out["graph"] = self.graph
            out["sources"] = [s.to_json() for s in self.sources]
        return out


def term_json(text: str) -> dict:
    """A key's term as SPARQL 1.1 Results JSON writes one."""
    found = read_term(text)
    if isinstance(found, ox.NamedNode):
        return {"type": "uri", "value": found.value}
    if isinstance(found, ox.BlankNode):
        return {"type": "bnode", "value": found.value}
    out = {"type": "literal", "value": found.value}
    if found.language:
        out["xml:lang"] = found.language
    elif found.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = found.datatype.value
    return out


def triple_json(key: Key) -> dict:
    return {
        "s": term_json(key[0]),
        "p": term_json(key[1]),
        "o": term_json(key[2]),
        "ntriples": " ".join(key) + " .",
    }


def explain(
    derivations: Derivations | None,
    lookup: Lookup,
    key: Key,
    *,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Proof:
    """The proof of an inferred triple; NotFound says why there is none."""
    step = derivations.step(key) if derivations is not None else None
    if derivations is None or step is None or not step.kept:
        raise NotFound(_why_not(derivations, lookup, key, step))
    found_in = derivations
    budget = [max_nodes]

    def prove(k: Key, path: frozenset[Key], depth: int) -> Proof:
        if k in path:
            return Proof(k, "cycle")
        if depth > max_depth or budget[0] <= 0:
            return Proof(k, "truncated")
        budget[0] -= 1
        found = found_in.step(k)
        if found is not None:
            inner = path | {k}
            return Proof(
                k,
                "inferred",
                rule=found.rule,
                title=found_in.rules.get(found.rule, (found.rule, ""))[0],
                kept=found.kept,
                premises=[prove(p, inner, depth + 1) for p in found.premises],
            )
        graph = found_in.asserted(k)
        if graph is None or graph == UNKNOWN:  # neither derived nor in any input: the reasoner's fault
            return Proof(k, "unknown")
        return Proof(k, "asserted", graph=graph, sources=lookup.of(k, graph))

    return prove(key, frozenset(), 0)


def _why_not(derivations: Derivations | None, lookup: Lookup, key: Key, step: Step | None) -> str:
    shown = " ".join(key)
    graphs = lookup.graphs(key)
    asserted = sorted(graphs - {"inferred"})
    if asserted:
        where = ", ".join(
            {ONTOLOGY: "the ontology", ASSERTED: "the asserted data", DATA: "the default graph"}.get(g, g)
            for g in asserted
        )
        return f"{shown} is asserted, not inferred: it is in {where}"
    if "inferred" in graphs:
        if derivations is None:
            return (
                f"{shown} is inferred, but this build records no derivations "
                "(it was reasoned with owlrl: build with the default reasoner to have them)"
            )
        return f"{shown} is inferred, but this build recorded no derivation for it"
    if step is not None:
        return f"{shown} is not in the graph: derived on the way, it is left out of the inferred graph"
    note = " (a blank node is named by its label in build/graph.nq)" if "_:" in shown else ""
    return f"{shown} is not in the graph{note}"


# ---------------------------------------------------------------- text, for the terminal


def as_text(proof: Proof) -> str:
    """The proof as indented text, one premise under another."""
    lines: list[str] = []

    def add(node: Proof, indent: str) -> None:
        lines.append(indent + " ".join(short(t) for t in node.triple))
        inner = indent + "    "
        if node.status == "inferred":
            kept = "" if node.kept else " (derived on the way; not kept in the inferred graph)"
            lines.append(f"{indent}  inferred by {node.rule}: {node.title}{kept}")
            for premise in node.premises:
                add(premise, inner)
        elif node.status == "asserted":
            lines.append(f"{indent}  asserted in {_graph_text(node.graph)}")
            for s in node.sources:
                head = f"{s.kind} {s.where}" if s.where else s.kind
                lines.append(f"{indent}    {head} <{s.iri}>")
                texts = (("bn", s.bn), ("en", s.en))
                lines.extend(f"{indent}      {lang}: {text}" for lang, text in texts if text)
            if not node.sources:
                lines.append(f"{indent}    (no source recorded)")
        else:
            lines.append(f"{indent}  ({STOPS[node.status]})")

    add(proof, "")
    return "\n".join(lines) + "\n"


STOPS = {
    "cycle": "cycle: this triple is already being proved above",
    "truncated": "not followed further: the proof is too deep or too large",
    "unknown": "neither derived nor in the ontology or the data",
}


def _graph_text(graph: str | None) -> str:
    return {ONTOLOGY: "the ontology", ASSERTED: "the asserted data", DATA: "the data files"}.get(
        graph or UNKNOWN, "no known graph"
    )


# ---------------------------------------------------------------- `kg explain`


def explain_command(settings: Settings, s: str, p: str, o: str, fmt: str = "text") -> str:
    """The proof of S P O on the last build, as indented text or as the JSON /explain answers."""
    # Here, not at the top: `kg build` imports this module to write derivations, and needs no Engine.
    from kg.engine import Engine
    from kg.queries import load_queries
    from kg.store import KnowledgeGraph

    key = key_of(
        parse_term(s, "S", literal=False), parse_term(p, "P", literal=False, blank=False), parse_term(o, "O")
    )
    queries = load_queries(settings.queries_dir / "internal")
    # A few small canned queries: evaluated in this process, through the Engine and its row cap.
    with Engine(KnowledgeGraph.open(settings.build), replace(settings, query_workers=0)) as engine:

        def rows(name: str, bindings: dict[str, Term], infer: bool) -> list:
            return engine.rows(queries[name].text, bindings=bindings, infer=infer, max_rows=SOURCE_ROWS)

        derivations = Derivations.open(settings.build.derivations)
        try:
            proof = explain(derivations, Lookup(rows), key)
        finally:
            if derivations is not None:
                derivations.close()
    if fmt == "json":
        return (
            json.dumps(
                document(proof, derivations.rules if derivations is not None else {}),
                ensure_ascii=False,
                indent=1,
            )
            + "\n"
        )
    return as_text(proof)


def document(proof: Proof, rules: Mapping[str, tuple[str, str]]) -> dict:
    """What /explain answers in JSON: the proof tree and the rules it uses (id → title, text)."""
    used = sorted({n.rule for n in proof.walk() if n.status == "inferred" and n.rule})
    return {
        "proof": proof.to_json(),
        "rules": {r: {"title": rules.get(r, (r, ""))[0], "text": rules.get(r, (r, ""))[1]} for r in used},
    }
