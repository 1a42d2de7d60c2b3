"""Step 4, the Wikidata view: the reasoned graph in the Wikibase RDF dump format, so that a query
copied from query.wikidata.org runs unchanged and counts right.

One query file per Wikidata property (``P710.rq`` …) says where its claims come from: each row
is an ``?item``, a ``?value`` and the asserted triples it rests on (``?s1 ?p1 ?o1``, ``?s2 ?p2
?o2``; the first defaults to ``?item ?p1 ?value``), and optional qualifiers (``?q_P1114``).
The files starting with ``_`` read what every claim needs. From the rows, ``view`` writes what
Wikibase writes for a statement (https://www.mediawiki.org/wiki/Wikibase/Indexing/RDF_Dump_Format):

* the truthy triple ``item wdt:P value``;
* the statement: ``item p:P st``, ``st ps:P value``, its rank, qualifiers (``pq:``), for a time
  its value node (``psv:``, ``wikibase:timePrecision`` 11 for a day, 10 for a month), and
  ``prov:wasDerivedFrom`` a reference per source sentence: stated in (``pr:P248``) the
  document, reference URL (``pr:P854``) the sentence, quotation (``pr:P1683``) its Bengali text;
  or per record of a dataset (the Office of the Historian's): stated in the dataset, reference
  URL the publisher's page for the record;
* each property as an entity (``wd:P710 a wikibase:Property ; wikibase:directClaim wdt:P710``…).

An entity with a Wikidata item is that ``wd:`` IRI only, as item and as value; others keep their
project IRIs. Events with status ``sdo:EventCancelled`` are left out: the view says only what
happened. A fact's references are the sentences data/references.ttl gives it, else its subject's
(``prov:wasDerivedFrom``); a claim resting on two facts (a chain) has the references of both, or
of those its file's ``#+ cite:`` names (main subject cites where the issue was discussed, not
where the issue itself is told of).

Statement, reference and value nodes are project IRIs (``claim:``, ``reference:``, ``value:``):
they are the project's statements, not Wikidata's. Every triple the view writes goes to the
inferred graph with a derivation (the query file, and the asserted triples it rests on), so
``kg explain`` and /explain show why it is there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS, XSD
from rdflib.term import Node

from kg.derivations import node, quads_of
from kg.iris import GRAPH_ASSERTED, GRAPH_ONTOLOGY, ID, WDQS
from kg.namespaces import WD, WDT
from kg.reason import Derivation

__all__ = ["View", "ViewQuery", "asserted_store", "load_queries", "time_value", "view"]

FOLDER = Path(__file__).parent
_HEADER = re.compile(r"^#\+\s*(\w+):\s*(.*?)\s*$")

P, PS, PSV, PQ, PR = (Namespace(WDQS[k]) for k in ("p", "ps", "psv", "pq", "pr"))
WIKIBASE = Namespace(WDQS["wikibase"])
SCHEMA = Namespace(WDQS["schema"])  # http://schema.org/, as Wikibase writes descriptions
CLAIM, REFERENCE, VALUE = (Namespace(f"{ID}{kind}/") for kind in ("claim", "reference", "value"))

# Reference and qualifier properties the view writes besides the query files' own.
STATED_IN, REFERENCE_URL, QUOTATION, QUANTITY = "P248", "P854", "P1683", "P1114"
_TYPES = {STATED_IN: "WikibaseItem", REFERENCE_URL: "Url", QUOTATION: "Monolingualtext", QUANTITY: "Quantity"}
_PROPERTY_LINKS = {  # wikibase: predicate -> the namespace of the property's IRI it points to
    "directClaim": "wdt", "claim": "p", "statementProperty": "ps", "statementValue": "psv",
    "qualifier": "pq", "qualifierValue": "pqv", "reference": "pr", "referenceValue": "prv",
    "novalue": "wdno",
}  # fmt: skip
PRECISION = {XSD.date: 11, XSD.gYearMonth: 10}  # Wikibase: 11 day, 10 month, 9 year

Triple = tuple[Node, Node, Node]


@dataclass(frozen=True)
class ViewQuery:
    """One query file: a Wikidata property's claims (``P710.rq``), or an input (``_twins.rq``)."""

    id: str  # "wikibase-P710": the name derivations and /explain show
    title: str
    text: str
    property: str | None = None  # "P710"; None for an input query
    type: str = "WikibaseItem"  # the property's wikibase:propertyType
    cite: tuple[int, ...] = (1, 2)  # the premises whose sources are the references (``#+ cite: 1``)


@cache
def load_queries(folder: Path = FOLDER) -> dict[str, ViewQuery]:
    """Every query file of ``folder`` by stem; a property file without a title names itself."""
    out = {}
    for path in sorted(folder.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = dict(m.groups() for line in text.splitlines() if (m := _HEADER.match(line)))
        prop = None if path.stem.startswith("_") else path.stem
        if prop is not None and "title" not in header:
            raise ValueError(f"{path.name}: no '#+ title:' line")
        title = f"the Wikidata view, {header.get('title', path.stem)}"
        cited = {"cite": tuple(int(n) for n in header["cite"].split())} if "cite" in header else {}
        kind = header.get("type", "WikibaseItem")
        out[path.stem] = ViewQuery(f"wikibase-{path.stem}", title, text, prop, kind, **cited)  # type: ignore[arg-type]
    return out


def time_value(value: Literal) -> tuple[Literal, int]:
    """A day or a month as Wikibase writes a time: an xsd:dateTime at midnight UTC, and its precision."""
    precision = PRECISION.get(value.datatype)  # type: ignore[arg-type]
    if precision is None:
        raise ValueError(f"{value.n3()}: a point in time is an xsd:date or an xsd:gYearMonth")
    day = str(value) if precision == 11 else f"{value}-01"
    # normalize=False keeps "Z": rdflib would write "+00:00", which the store does not (its canonical form)
    return Literal(f"{day}T00:00:00Z", datatype=XSD.dateTime, normalize=False), precision


@dataclass
class View:
    """The view's triples, each with the derivation that explains it (the first one given)."""

    derivations: dict[Triple, Derivation] = field(default_factory=dict)
    queries: dict[str, ViewQuery] = field(default_factory=dict)

    @property
    def triples(self) -> Iterable[Triple]:
        """Each triple once, in the order first added (a dict, not an rdflib graph: 250,000 adds
        to a graph took seconds)."""
        return self.derivations.keys()

    def add(self, triple: Triple, rule: str, premises: Iterable[Triple]) -> None:
        self.put(triple, Derivation(rule, tuple(dict.fromkeys(premises))))

    def put(self, triple: Triple, derivation: Derivation) -> None:
        """``add`` with a derivation made once for the many triples of one claim."""
        self.derivations.setdefault(triple, derivation)


def asserted_store(ontology: Graph, data: Graph) -> ox.Store:
    """The ontology and asserted graphs in a pyoxigraph store, in their named graphs."""
    store = ox.Store()
    store.extend(quads_of({GRAPH_ONTOLOGY: ontology, GRAPH_ASSERTED: data}))
    return store


def _rows(store: ox.Store, query: ViewQuery) -> Iterator[dict[str, Node]]:
    solutions = store.query(query.text)
    names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
    for row in solutions:  # type: ignore[union-attr]
        yield {n: node(row[n]) for n in names if row[n] is not None}


def _local(node: Node) -> str:
    """A readable, IRI-safe name for a node: wd:Q7747 → "Q7747", meeting:x → "meeting-x"."""
    text = str(node)
    for ns in (WDQS["wd"], ID):
        if text.startswith(ns):
            return re.sub(r"[^\w-]", "-", text[len(ns) :])
    return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass
class _Claim:
    """One claim as the view shows it, and what it rests on."""

    query: ViewQuery
    own: tuple[Node, Node]  # the item and value as the project names them
    premises: list[tuple[int, Triple]]  # (n, triple): the n-th premise of a row of the query
    qualifiers: dict[str, Node]


@dataclass
class _Inputs:
    """What every claim needs, read once by the ``_*.rq`` files."""

    twins: dict[Node, Node]  # project IRI -> its Wikidata item
    cancelled: set[Node]
    reified: dict[Triple, list[Node]]  # a fact -> the sentences data/references.ttl gives it
    sources: dict[Node, list[Node]]  # a resource -> its sentences
    sentences: dict[Node, tuple[Node, Node]]  # a sentence -> its document and Bengali text
    records: dict[Node, tuple[Node, Node]]  # a dataset's record -> its dataset and web page
    descriptions: list[dict[str, Node]]
    properties: list[dict[str, Node]]

    @classmethod
    def read(cls, store: ox.Store, queries: dict[str, ViewQuery]) -> _Inputs:
        rows = {k: list(_rows(store, q)) for k, q in queries.items() if q.property is None}
        reified: dict[Triple, list[Node]] = {}
        for r in rows["_reified"]:
            reified.setdefault((r["s"], r["p"], r["o"]), []).append(r["source"])
        sources: dict[Node, list[Node]] = {}
        for r in rows["_sources"]:
            sources.setdefault(r["x"], []).append(r["source"])
        return cls(
            twins={r["x"]: r["item"] for r in rows["_twins"]},
            cancelled={r["x"] for r in rows["_cancelled"]},
            reified=reified,
            sources=sources,
            sentences={r["sentence"]: (r["document"], r["text"]) for r in rows["_sentences"]},
            records={r["record"]: (r["dataset"], r["page"]) for r in rows["_records"]},
            descriptions=rows["_descriptions"],
            properties=rows["_properties"],
        )

    def references(self, facts: Iterable[Triple]) -> list[Node]:
        """The sources of facts: a fact's sentences in data/references.ttl, else its subject's;
        a fact of provenance (x prov:wasDerivedFrom s) is attested by s itself."""
        found: dict[Node, None] = {}
        for s, p, o in facts:
            if p == PROV.wasDerivedFrom:
                found[o] = None
            else:
                found.update(dict.fromkeys(self.reified.get((s, p, o)) or self.sources.get(s, [])))
        return list(found)


def _claims(
    store: ox.Store, queries: dict[str, ViewQuery], inputs: _Inputs
) -> dict[tuple[Node, str, Node], _Claim]:
    """Every property file's rows as claims (item, P, value), as the view names them, once each."""
    twins, claims = inputs.twins, {}
    for query in queries.values():
        if query.property is None:
            continue
        for row in _rows(store, query):
            item, value = row["item"], row["value"]
            if {item, value} & inputs.cancelled or isinstance(item, BNode) or isinstance(value, BNode):
                continue
            premises = [
                (1, (row.get("s1", item), row["p1"], row.get("o1", value))),
                *([(2, (row["s2"], row["p2"], row["o2"]))] if "p2" in row else []),
            ]
            key = (twins.get(item, item), query.property, twins.get(value, value))
            if key in claims:
                claims[key].premises.extend(p for p in premises if p not in claims[key].premises)
            else:
                qualifiers = {k[2:]: v for k, v in row.items() if k.startswith("q_")}
                claims[key] = _Claim(query, (item, value), premises, qualifiers)
    return claims


def view(ontology: Graph, data: Graph, store: ox.Store | None = None) -> View:
    """The Wikidata view of ontology + asserted data (see the module doc); ``store``: the same
    in pyoxigraph (``asserted_store``), when the caller has it already."""
    queries = load_queries()
    store = store if store is not None else asserted_store(ontology, data)
    inputs = _Inputs.read(store, queries)
    out = View(queries={q.id: q for q in queries.values()})
    used, described = {STATED_IN, REFERENCE_URL, QUOTATION}, set()
    for (item, prop, value), claim in _claims(store, queries, inputs).items():
        used |= {prop, *claim.qualifiers}
        described.add(claim.own[0])
        _statement(out, (item, prop, value), claim, inputs)
    for r in inputs.descriptions:
        if r["x"] in described:
            why = [(r["x"], RDFS.comment, r["description"])]
            out.add(
                (inputs.twins.get(r["x"], r["x"]), SCHEMA.description, r["description"]),
                "wikibase-_descriptions",
                why,
            )
    types = {q.property: q.type for q in queries.values() if q.property} | _TYPES
    for r in inputs.properties:
        prop = str(r["property"]).removeprefix(WDQS["wdt"])
        if prop in used:
            _property(out, prop, types[prop], r["property"], r["label"])
    return out


# Terms of every statement, made once: an rdflib Namespace makes (and checks) a new URIRef per access.
_TYPE, _DERIVED_FROM, _UTC = RDF.type, PROV.wasDerivedFrom, Literal(0)
_STATEMENT, _BEST_RANK, _RANK, _NORMAL_RANK, _REFERENCE = (
    WIKIBASE[k] for k in ("Statement", "BestRank", "rank", "NormalRank", "Reference")
)
_TIME_VALUE, _TIME, _PRECISION, _TIMEZONE = (
    WIKIBASE[k] for k in ("TimeValue", "timeValue", "timePrecision", "timeTimezone")
)


@cache
def _term(namespace: Namespace, name: str) -> URIRef:
    return namespace[name]


def _statement(out: View, claim_key: tuple[Node, str, Node], claim: _Claim, inputs: _Inputs) -> None:
    """A claim as Wikibase writes it: truthy triple, statement, value node, qualifiers, references."""
    item, prop, value = claim_key
    rule = claim.query.id
    why = Derivation(
        rule,
        tuple(
            dict.fromkeys(
                [
                    *(t for _, t in claim.premises),
                    *((x, OWL.sameAs, inputs.twins[x]) for x in claim.own if x in inputs.twins),
                ]
            )
        ),
    )
    st = CLAIM[f"{_local(item)}-{prop}-{hashlib.sha1(value.n3().encode()).hexdigest()[:10]}"]
    shown: Node = value
    if claim.query.type == "Time":
        shown, precision = time_value(value)  # type: ignore[arg-type]
        tv = VALUE[hashlib.sha1(f"{shown}|{precision}".encode()).hexdigest()[:16]]
        out.put((st, _term(PSV, prop), tv), why)
        out.put((tv, _TYPE, _TIME_VALUE), why)
        out.put((tv, _TIME, shown), why)
        out.put((tv, _PRECISION, Literal(precision)), why)
        out.put((tv, _TIMEZONE, _UTC), why)
    out.put((item, _term(WDT, prop), shown), why)
    out.put((item, _term(P, prop), st), why)
    out.put((st, _TYPE, _STATEMENT), why)
    out.put((st, _TYPE, _BEST_RANK), why)
    out.put((st, _RANK, _NORMAL_RANK), why)
    out.put((st, _term(PS, prop), shown), why)
    for qualifier, qvalue in claim.qualifiers.items():
        out.put((st, _term(PQ, qualifier), qvalue), why)
    for source in inputs.references(t for n, t in claim.premises if n in claim.query.cite):
        ref = REFERENCE[_local(source).removeprefix("source-")]
        out.put((st, _DERIVED_FROM, ref), why)
        out.put((ref, _TYPE, _REFERENCE), why)
        if source in inputs.sentences:
            document, text = inputs.sentences[source]
            out.put((ref, _term(PR, STATED_IN), document), why)
            out.put((ref, _term(PR, REFERENCE_URL), source), why)
            out.put((ref, _term(PR, QUOTATION), text), why)
        elif source in inputs.records:  # a record of a dataset: the dataset and the record's page
            dataset, page = inputs.records[source]
            out.put((ref, _term(PR, STATED_IN), dataset), why)
            out.put((ref, _term(PR, REFERENCE_URL), page), why)
        else:  # a reference work (Wikidata, for a city's country)
            out.put((ref, _term(PR, STATED_IN), source), why)


def _property(out: View, prop: str, kind: str, direct: Node, label: Node) -> None:
    """A property as an entity, linked to its forms as Wikibase links them (wikibase:directClaim …)."""
    why, rule, entity = [(direct, RDFS.label, label)], "wikibase-_properties", WD[prop]
    out.add((entity, RDFS.label, label), rule, why)
    out.add((entity, RDF.type, WIKIBASE.Property), rule, why)
    out.add((entity, WIKIBASE.propertyType, WIKIBASE[kind]), rule, why)
    for link, ns in _PROPERTY_LINKS.items():
        out.add((entity, WIKIBASE[link], URIRef(WDQS[ns] + prop)), rule, why)
