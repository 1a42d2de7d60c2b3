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


def render_entity(iri: str, facts: list[Fact], lang: str, page: str) -> str:
    view = View(facts, lang)
    out = [f for f in facts if f.subject.value == iri and f.predicate.value not in (RDFS_LABEL, RDFS_COMMENT)]
    incoming = [f for f in facts if f.object == ox.NamedNode(iri) and f.subject.value != iri]
    own = [f for f in facts if f.subject.value == iri]
    comments = {f.object.language or "": f.object.value for f in own if f.predicate.value == RDFS_COMMENT}
    types = [view.term(f.object) for f in out if f.predicate.value == RDF_TYPE and not f.inferred]
    links = {
        "wikidata": sorted(
            {
                f.object.value
                for f in own
                if f.predicate.value == SAME_AS
                and f.object.value.startswith("http://www.wikidata.org/entity/")
            }
        ),
        "wikipedia": sorted({f.object.value for f in own if f.predicate.value in (PRIMARY_TOPIC, SEE_ALSO)}),
    }
    meeting = vocabulary() + "Meeting"
    is_meeting = any(f.predicate.value == RDF_TYPE and f.object.value == meeting for f in own)
    previous, following = _neighbours(iri, lang) if is_meeting else (None, None)

    explainable = any(f.inferred for f in facts) and _explainable()

    def row(f: Fact, other) -> dict:
        return {
            "property": view.term(f.predicate),
            "value": view.term(other),
            "inferred": f.inferred,
            "explain": explain_href(f) if f.inferred and explainable else None,
        }

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
        facts=sorted((row(f, f.object) for f in out), key=lambda r: (r["inferred"], r["property"]["text"])),
        incoming=sorted(
            (row(f, f.subject) for f in incoming), key=lambda r: (r["inferred"], r["property"]["text"])
        ),
        sources=_sources(iri) if iri.startswith(id_space()) else [],
        previous=previous,
        following=following,
        rdf_formats=list(GRAPH.values()),  # links to this description in every RDF format
    )
