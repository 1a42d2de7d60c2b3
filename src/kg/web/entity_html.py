"""The HTML of a resource: labels in the chosen language, facts, sources, the meeting's
place on the timeline. No routes: kg.web.entities serves these pages (the ontology's own page
is kg.web.ontology's).

A resource's facts come from the describe query (queries/internal/), through the Engine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import current_app, render_template

from kg.formats import GRAPH
from kg.namespaces import GRAPH_INFERRED, PREFIXES
from kg.web.answers import page_rows
from kg.web.i18n import LANGS
from kg.web.page_helpers import id_space, internal, local_path, registry, vocabulary

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
PRIMARY_TOPIC = "http://xmlns.com/foaf/0.1/isPrimaryTopicOf"
SEE_ALSO = "http://www.w3.org/2000/01/rdf-schema#seeAlso"
DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"


@dataclass(frozen=True)
class Fact:
    subject: ox.NamedNode | ox.BlankNode
    predicate: ox.NamedNode
    object: ox.NamedNode | ox.BlankNode | ox.Literal
    graph: str

    @property
    def inferred(self) -> bool:
        return self.graph == str(GRAPH_INFERRED)


def describe(iri: str, infer: bool) -> list[Fact]:
    """The resource's triples, in and out, with the labels of what they mention."""
    rows = page_rows(internal("describe"), {"iri": iri}, infer=infer)  # as many triples as /sparql gives
    return [Fact(r["s"], r["p"], r["o"], r["g"].value) for r in rows]


# What a page shows at most, where it declares it (else the row cap of /sparql).
SOURCE_ROWS = 1_000  # source sentences of one resource
TIMELINE_ROWS = 100_000  # every meeting, to find a meeting's previous and next: above the row cap


def _term_labels() -> dict[str, dict[str, str]]:
    """Labels of the ontology's terms, read once."""
    app = current_app
    if "kg_term_labels" not in app.extensions:
        query = internal("term-labels")
        labels: dict[str, dict[str, str]] = defaultdict(dict)
        for row in page_rows(query):
            labels[row["term"].value][row["label"].language or ""] = row["label"].value
        app.extensions["kg_term_labels"] = dict(labels)
    return app.extensions["kg_term_labels"]


def _pick(labels: dict[str, str], lang: str) -> str | None:
    return labels.get(lang) or labels.get("en") or next(iter(labels.values()), None)


def _short(iri: str) -> str:
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


class View:
    """Turns terms into (text, href) for the template."""

    def __init__(self, facts: list[Fact], lang: str) -> None:
        self.lang = lang
        self.labels: dict[str, dict[str, str]] = defaultdict(dict)
        for f in facts:
            if f.predicate.value == RDFS_LABEL and isinstance(f.object, ox.Literal):
                self.labels[f.subject.value][f.object.language or ""] = f.object.value
        for term, labels in _term_labels().items():
            self.labels.setdefault(term, labels)

    def term(self, node) -> dict:
        if isinstance(node, ox.Literal):
            lang = node.language
            datatype = (
                None if lang or node.datatype.value.endswith("#string") else _short(node.datatype.value)
            )
            return {"text": node.value, "lang": lang, "datatype": datatype, "href": None}
        if isinstance(node, ox.BlankNode):
            return {"text": "(anonymous class expression)", "href": None}
        label = _pick(self.labels.get(node.value, {}), self.lang)
        return {
            "text": label or _short(node.value),
            "iri": node.value,
            "href": local_path(node.value) or node.value,
            "external": local_path(node.value) is None,
        }


def _sources(iri: str) -> list[dict]:
    query = registry().get("sources-of")
    if query is None:
        return []
    rows = page_rows(query, {"resource": iri}, max_rows=SOURCE_ROWS)
    return [
        {
            "iri": r["sentence"].value,
            "href": local_path(r["sentence"].value),
            "bn": r["textBn"].value,
            "en": r["textEn"].value,
            "where": f"{r['paragraphNo'].value}.{r['sentenceNo'].value}",
            "text": f"sentence {r['paragraphNo'].value}.{r['sentenceNo'].value}",
        }
        for r in rows
    ]


def _neighbours(iri: str, lang: str) -> tuple[dict | None, dict | None]:
    query = registry().get("timeline")
    if query is None:
        return None, None
    rows = page_rows(query, {"lang": lang}, max_rows=TIMELINE_ROWS)
    order = [r["meeting"].value for r in rows]
    if iri not in order:
        return None, None
    i = order.index(iri)

    def item(j: int) -> dict | None:
        if 0 <= j < len(rows):
            return {"href": local_path(order[j]), "text": rows[j]["label"].value}
        return None

    return item(i - 1), item(i + 1)


def _explainable() -> bool:
    """Whether the build recorded how its inferred triples were derived (not with owlrl)."""
    return current_app.extensions["kg_derivations"] is not None


def explain_href(f: Fact) -> str | None:
    """/explain for an inferred fact (a blank node's label in the store is not the build's: none)."""
    if isinstance(f.subject, ox.BlankNode) or isinstance(f.object, ox.BlankNode):
        return None
    o = f.object.value if isinstance(f.object, ox.NamedNode) else str(f.object)  # a literal as N-Triples
    return "/explain?" + urlencode({"s": f.subject.value, "p": f.predicate.value, "o": o})


# The Wikidata view (kg.wikibase): its triples go to their own section, its nodes nowhere else.
WIKIDATA = "http://www.wikidata.org/"
WIKIDATA_ENTITY = WIKIDATA + "entity/"
WIKIDATA_CLAIM = WIKIDATA + "prop/P"  # p:P… → a statement node
WIKIDATA_DIRECT = WIKIDATA + "prop/direct/"
VIEW_ONLY = ("http://wikiba.se/ontology#", "http://schema.org/")  # wikibase:, schema:description
VIEW_NODES = ("claim/", "reference/", "value/")  # statement, reference and value nodes, under id/
# Where a blank node is a class expression (a restriction, a union …): not shown.
CLASS_EXPRESSION_OF = {
    RDF_TYPE,
    "http://www.w3.org/2000/01/rdf-schema#subClassOf",
    "http://www.w3.org/2000/01/rdf-schema#domain",
    "http://www.w3.org/2000/01/rdf-schema#range",
    "http://www.w3.org/2002/07/owl#equivalentClass",
}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _in_view(predicate: str) -> bool:
    return predicate.startswith(WIKIDATA) or predicate.startswith(VIEW_ONLY)


def _key(node) -> tuple[str, str]:
    """A term's identity, for matching a value with its sources (a literal as N-Triples)."""
    return (type(node).__name__, node.value if isinstance(node, ox.NamedNode) else str(node))


def _get(row, name: str):
    """A column of a solution, or None when it is unbound or not in the query."""
    try:
        return row[name]
    except (KeyError, IndexError, TypeError):
        return None


def _reference(row) -> dict:
    """A source sentence (or other source) as the template shows it."""
    source = _get(row, "source")
    where = (
        f"{row['paragraphNo'].value}.{row['sentenceNo'].value}"
        if _get(row, "paragraphNo") is not None and _get(row, "sentenceNo") is not None
        else None
    )
    text = None
    if source is not None:
        label = _get(row, "labelEn")
        text = f"sentence {where}" if where else (label.value if label is not None else _short(source.value))
    return {
        "iri": source.value if source is not None else None,
        "href": (local_path(source.value) or source.value) if source is not None else None,
        "text": text,
        "bn": row["textBn"].value if _get(row, "textBn") is not None else None,
        "en": row["textEn"].value if _get(row, "textEn") is not None else None,
    }


def _fact_sources(iri: str) -> dict[tuple[str, tuple[str, str]], list[dict]]:
    """The sentences data/references.ttl gives each of the resource's facts, by (predicate, object)."""
    out: dict[tuple[str, tuple[str, str]], list[dict]] = defaultdict(list)
    for r in page_rows(internal("entity-fact-sources"), {"iri": iri}, max_rows=SOURCE_ROWS):
        ref = _reference(r)
        refs = out[(r["p"].value, _key(r["o"]))]
        if ref not in refs:
            refs.append(ref)
    return out


def _view_references(iri: str) -> dict[tuple[str, str, tuple[str, str]], list[dict]]:
    """The references of the Wikidata view's statements, by (subject, property ID, value)."""
    out: dict[tuple[str, str, tuple[str, str]], list[dict]] = defaultdict(list)
    for r in page_rows(internal("wikidata-references"), {"iri": iri}, max_rows=SOURCE_ROWS):
        if _get(r, "source") is not None:
            ref = _reference(r)
        elif _get(r, "statedIn") is not None:
            stated = r["statedIn"].value
            label = _get(r, "statedInLabel")
            ref = {
                "iri": stated,
                "href": local_path(stated) or stated,
                "text": "stated in " + (label.value if label is not None else _short(stated)),
                "bn": None,
                "en": None,
            }
        else:
            continue
        refs = out[(r["s"].value, r["id"].value, _key(r["value"]))]
        if ref not in refs:
            refs.append(ref)
    return out


def _wikidata_id(iri: str) -> str | None:
    return iri[len(WIKIDATA_ENTITY) :] if iri.startswith(WIKIDATA_ENTITY) else None


class Page(View):
    """The view of one entity page: terms as (text, href), properties with their compact IRI."""

    def __init__(self, facts: list[Fact], lang: str) -> None:
        super().__init__(facts, lang)
        self.local: dict[str, str] = {}  # a wd: item → the project resource it stands for

    def term(self, node) -> dict:
        if isinstance(node, ox.Literal):
            datatype = None if node.language else _short(node.datatype.value or XSD_STRING)
            return {"text": node.value, "lang": node.language, "datatype": datatype, "href": None}
        if isinstance(node, ox.BlankNode):
            return {"text": "(blank node)", "href": None, "datatype": None}
        qid = _wikidata_id(node.value)
        if qid is not None:
            label = _pick(self.labels.get(node.value, {}), self.lang)
            local = self.local.get(node.value)
            return {
                "text": label or qid,
                "qid": qid if label else None,
                "iri": node.value,
                "href": local_path(local) if local and local_path(local) else _wiki(qid),
                "external": not (local and local_path(local)),
            }
        return super().term(node)

    def wikidata_id(self, node: ox.NamedNode) -> dict:
        """owl:sameAs a Wikidata item: its ID, linked to its page on Wikidata."""
        qid = _wikidata_id(node.value) or node.value
        return {"text": qid, "iri": node.value, "href": _wiki(qid), "external": True}

    def property(self, iri: str) -> dict:
        label = _pick(self.labels.get(iri, {}), self.lang)
        curie = _short(iri)
        return {
            "text": label or curie,
            "curie": curie if label else None,
            "iri": iri,
            "href": local_path(iri) or iri,
        }


def _wiki(qid: str) -> str:
    return "https://www.wikidata.org/wiki/" + qid


def _group(items: list[tuple[str, dict]], page: Page) -> list[dict]:
    """(property IRI, value) pairs as one row per property, each value once (asserted before inferred)."""
    rows: dict[str, dict] = {}
    for predicate, value in items:
        row = rows.setdefault(predicate, {"property": page.property(predicate), "values": {}})
        known = row["values"].get(value["key"])
        if known is None or (known["inferred"] and not value["inferred"]):
            row["values"][value["key"]] = value
    out = []
    for row in rows.values():
        values = sorted(row["values"].values(), key=lambda v: (v["inferred"], v["value"]["text"]))
        out.append({**row, "values": values, "inferred": all(v["inferred"] for v in values)})
    return sorted(out, key=lambda r: (r["property"]["iri"] != RDF_TYPE, r["property"]["text"].casefold()))


def render_entity(iri: str, facts: list[Fact], lang: str, page: str) -> str:
    view = Page(facts, lang)
    subject = ox.NamedNode(iri)
    own = [f for f in facts if f.subject == subject]
    comments = {f.object.language or "": f.object.value for f in own if f.predicate.value == RDFS_COMMENT}
    types = [
        view.term(f.object)
        for f in own
        if f.predicate.value == RDF_TYPE and not f.inferred and not isinstance(f.object, ox.BlankNode)
    ]
    twins = sorted(
        {f.object.value for f in own if f.predicate.value == SAME_AS and _wikidata_id(f.object.value)}
    )
    links = {
        "wikidata": twins,
        "wikipedia": sorted({f.object.value for f in own if f.predicate.value in (PRIMARY_TOPIC, SEE_ALSO)}),
    }
    meeting = vocabulary() + "Meeting"
    is_meeting = any(f.predicate.value == RDF_TYPE and f.object.value == meeting for f in own)
    previous, following = _neighbours(iri, lang) if is_meeting else (None, None)
    in_id_space = iri.startswith(id_space())
    explainable = any(f.inferred for f in facts) and _explainable()

    # The Wikidata view of this resource and of its wd: twin, with its values' labels.
    view_rows = page_rows(internal("wikidata-view"), {"iri": iri}) if in_id_space else []
    for r in view_rows:
        label = _get(r, "label")
        if label is not None and isinstance(r["o"], ox.NamedNode):
            view.labels.setdefault(r["o"].value, {}).setdefault(label.language or "", label.value)
        local = _get(r, "local")
        if local is not None and local_path(local.value):
            view.local.setdefault(r["o"].value, local.value)

    subject_sources = _sources(iri) if in_id_space else []
    fact_sources = _fact_sources(iri) if in_id_space else {}

    def value(f: Fact, node, refs: list[dict] | None) -> dict:
        return {
            "key": _key(node),
            "value": view.term(node),
            "inferred": f.inferred,
            "explain": explain_href(f) if f.inferred and explainable else None,
            "references": refs or [],
        }

    def shown(f: Fact, node) -> bool:
        return not (isinstance(node, ox.BlankNode) and f.predicate.value in CLASS_EXPRESSION_OF)

    main: list[tuple[str, dict]] = []
    for f in own:
        p = f.predicate.value
        if p in (RDFS_LABEL, RDFS_COMMENT) or _in_view(p) or not shown(f, f.object):
            continue
        refs = None
        if not f.inferred and p != DERIVED_FROM:  # a source is not its own reference
            refs = fact_sources.get((p, _key(f.object))) or subject_sources
        v = value(f, f.object, refs)
        if p == SAME_AS and isinstance(f.object, ox.NamedNode) and _wikidata_id(f.object.value):
            v["value"] = view.wikidata_id(f.object)
        main.append((p, v))

    incoming: list[tuple[str, dict]] = []
    for f in facts:
        if f.object != subject or f.subject == subject or isinstance(f.subject, ox.BlankNode):
            continue
        s, p = f.subject.value, f.predicate.value
        if _in_view(p) or s.startswith(WIKIDATA) or any(s.startswith(id_space() + n) for n in VIEW_NODES):
            continue  # the Wikidata view, and its twin's owl:sameAs back
        incoming.append((p, value(f, f.subject, None)))

    references = _view_references(iri) if view_rows else {}
    wikidata: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    seen: set[tuple[str, str, tuple[str, str], str]] = set()
    for r in view_rows:
        s, p, o = r["s"].value, r["p"].value, r["o"]
        if p.startswith(WIKIDATA_CLAIM) or (s, p, _key(o), r["g"].value) in seen:
            continue  # statement nodes: their values and references are shown with the wdt: rows
        seen.add((s, p, _key(o), r["g"].value))
        f = Fact(r["s"], r["p"], o, r["g"].value)
        pid = p[len(WIKIDATA_DIRECT) :] if p.startswith(WIKIDATA_DIRECT) else None
        refs = references.get((s, pid, _key(o))) if pid else None
        wikidata[s].append((p, value(f, o, refs)))

    return render_template(
        "entity.html",
        iri=iri,
        page=page,
        lang=lang,
        langs=LANGS,
        label=_pick(view.labels.get(iri, {}), lang) or _short(iri),
        comment=_pick(comments, lang),
        types=types,
        links=links,
        facts=_group(main, view),
        incoming=_group(incoming, view),
        wikidata=[
            {"subject": view.wikidata_id(ox.NamedNode(s)) if s != iri else None, "rows": _group(items, view)}
            for s, items in sorted(wikidata.items(), key=lambda kv: kv[0] != iri)
        ],
        sources=subject_sources,
        previous=previous,
        following=following,
        rdf_formats=list(GRAPH.values()),  # links to this description in every RDF format
    )
