"""The ontology as linked data, following the W3C "Best Practice Recipes for Publishing RDF
Vocabularies" for a hash namespace. No routes: kg.web.entities serves the namespace IRI
(``{base_iri}ontology``, whose terms are ``…ontology#T``) at /ontology and the version IRI
(its ``owl:versionIRI``, ``…ontology/0.1.0``) at /ontology/0.1.0, negotiated as entities are.

* In an RDF format, exactly the ontology's named graph (queries/internal/ontology-graph.rq),
  answered as /sparql answers (kg.web.answers.respond: the Engine's limits and result cache,
  ETag and 304).
* In HTML, its documentation: every class and property the ontology graph declares, each in its
  ``<section id="T">`` so that a term's IRI lands on its place in the page; its labels in every
  language, comments, domains, ranges, super- and sub-terms as the ontology asserts them (no
  inference), and what the Wikidata view maps it to.

The Wikidata mapping is read from the view's own query files (src/kg/wikibase/P….rq): a
property feeds the Wikidata property of each file that names it in ``rdfs:subPropertyOf* hos:T``
or in a ``VALUES`` row, and a class is mapped by P31.rq's ``VALUES`` pairs ``(hos:C wd:Q…)`` to
the item its instances are ``wdt:P31`` of.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections import defaultdict
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Response, render_template

from kg.errors import NotFound
from kg.execute import Job
from kg.formats import GRAPH, Format
from kg.namespaces import PREFIXES
from kg.web.answers import page_rows, respond
from kg.web.i18n import LANGS
from kg.web.page_helpers import internal, local_path, vocabulary

OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
WDT = PREFIXES["wdt"]
WIKIDATA = "https://www.wikidata.org/wiki/"

# Each term is listed once, under the first of its kinds in this order.
KINDS = {
    OWL + "Class": "Classes",
    RDFS + "Class": "Classes",
    OWL + "ObjectProperty": "Object properties",
    OWL + "DatatypeProperty": "Datatype properties",
    OWL + "AnnotationProperty": "Annotation properties",
    RDF + "Property": "Properties",
}
# What a term's documentation shows of it, for a class and for a property.
RELATIONS = {
    RDFS + "domain": ("Domain", "Domain"),
    RDFS + "range": ("Range", "Range"),
    RDFS + "subClassOf": ("Subclass of", None),
    RDFS + "subPropertyOf": (None, "Subproperty of"),
}
SUPER = (RDFS + "subClassOf", RDFS + "subPropertyOf")  # a term's place in the hierarchy
SECTIONS = (*dict.fromkeys(KINDS.values()), "Wikidata properties", "Terms of other vocabularies")
# Rows a page reads at most (above the row cap: the whole ontology, or a truncated answer says so).
ONTOLOGY_ROWS = 1_000_000


def iri() -> str:
    """The ontology's IRI: its hash namespace without the ``#``."""
    return vocabulary().removesuffix("#")


def _about() -> list[tuple[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
    rows = page_rows(internal("ontology-about"), {"ontology": iri()}, max_rows=ONTOLOGY_ROWS)
    return [(r["p"].value, r["o"]) for r in rows]


def version() -> str | None:
    """The version in the ontology's ``owl:versionIRI`` (``0.1.0`` of ``…/ontology/0.1.0``)."""
    for p, o in _about():
        if p == OWL + "versionIRI" and isinstance(o, ox.NamedNode) and o.value.startswith(iri() + "/"):
            return o.value[len(iri()) + 1 :]
    return None


def is_version(local: str) -> bool:
    """Whether /ontology/<local> asks for a version of the ontology, not a term: term names do
    not start with a digit, versions do (or it is the version the ontology declares)."""
    return local[:1].isdigit() or local == version()


def check_version(asked: str) -> None:
    found = version()
    if asked != found:
        there = f"its version is {found}, at /ontology/{found}" if found else "it declares no version IRI"
        raise NotFound(f"the ontology has no version {asked!r}; {there}")


def graph_response(chosen: Format) -> Response:
    """The whole ontology graph in ``chosen``, an RDF format."""
    job = Job(
        query=internal("ontology-graph").text,
        results=None,
        graph=chosen.media_type,
        max_rows=ONTOLOGY_ROWS,
    )
    return respond(job)


# ---------------------------------------------------------------- the Wikidata view's mapping


@dataclass(frozen=True)
class Mapping:
    """A term's place in the Wikidata view: the property its triples (or, for a class, its
    instances' types) are written as, and for a class the item they are ``wdt:P31`` of."""

    property: str  # "P710"
    item: str | None = None  # "Q2761147": P31's value for a class
    inherited: bool = False  # the file reads the term's sub-properties or subclasses too (…Of*)


@functools.cache
def wikidata_mapping() -> dict[str, tuple[Mapping, ...]]:
    """Local name of a term → what the view's query files (src/kg/wikibase/P….rq) map it to."""
    found: dict[str, list[Mapping]] = defaultdict(list)
    folder = importlib.resources.files("kg").joinpath("wikibase")
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        match = re.fullmatch(r"(P\d+)\.rq", path.name)
        if match is None:
            continue
        prop = match.group(1)
        text = "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#"))
        for name in re.findall(r"rdfs:subPropertyOf\*\s+hos:([\w-]+)", text):
            found[name].append(Mapping(prop, inherited=True))
        subclasses = "rdfs:subClassOf*" in text
        for body in re.findall(r"VALUES\s*(?:\([^)]*\)|\?\w+)\s*\{(.*?)\}", text, re.DOTALL):
            classes = re.findall(r"\(\s*hos:([\w-]+)\s+wd:(Q\d+)\s*\)", body)  # P31: (class item)
            for name, item in classes:
                found[name].append(Mapping(prop, item, inherited=subclasses))
            for name in [] if classes else re.findall(r"hos:([\w-]+)", body):  # the properties read
                found[name].append(Mapping(prop))
    return {name: tuple(dict.fromkeys(maps)) for name, maps in found.items()}


# ---------------------------------------------------------------- the documentation


def _compact(term: str) -> str:
    if term.startswith(vocabulary()):
        return "hos:" + term[len(vocabulary()) :]
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if term.startswith(ns) and prefix != "hos":
            return f"{prefix}:{term[len(ns) :]}"
    return term


def _anchor(term: str) -> str:
    """The fragment a term has in the page: its local name in the namespace (…ontology#Meeting
    is /ontology#Meeting), else its compact name with ``-`` for ``:`` (wdt-P31)."""
    if term.startswith(vocabulary()):
        return term[len(vocabulary()) :]
    return _compact(term).replace(":", "-")


def _literals(nodes: list) -> list[dict]:
    """Literals as text and language, the page's languages first."""
    order = {lang: i for i, lang in enumerate(LANGS)}
    found = [{"text": n.value, "lang": n.language or ""} for n in nodes if isinstance(n, ox.Literal)]
    return sorted(found, key=lambda x: (order.get(x["lang"], len(order)), x["lang"], x["text"]))


def _pick(labels: list[dict], lang: str) -> str | None:
    by_lang = {label["lang"]: label["text"] for label in labels}
    return by_lang.get(lang) or by_lang.get("en") or next(iter(by_lang.values()), None)


class _Terms:
    """Every class and property the ontology graph declares, read once per page."""

    def __init__(self, lang: str, version: str | None) -> None:
        self.lang = lang
        self.version = version
        kinds: dict[str, set[str]] = defaultdict(set)
        self.facts: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for row in page_rows(internal("ontology-terms"), max_rows=ONTOLOGY_ROWS):
            term, p, o = row["term"].value, row["p"], row["o"]
            kinds[term].add(row["kind"].value)
            if p is not None and o is not None and o not in self.facts[term][p.value]:
                self.facts[term][p.value].append(o)
        self.kinds = dict(kinds)  # the terms of the page
        self.supers = {
            t: [o.value for p in SUPER for o in self.facts[t][p] if isinstance(o, ox.NamedNode)]
            for t in self.kinds
        }
        self.subs: dict[str, list[str]] = defaultdict(list)
        for t, supers in self.supers.items():
            for s in supers:
                self.subs[s].append(t)

    def kind(self, term: str) -> str:
        return KINDS[next(k for k in KINDS if k in self.kinds[term])]

    def label(self, term: str) -> str | None:
        return _pick(_literals(self.facts[term][RDFS + "label"]), self.lang) if term in self.kinds else None

    def ref(self, term: str) -> dict:
        """A link to a term: its place in this page, else its IRI (the version IRI: where it is served)."""
        href = "#" + _anchor(term) if term in self.kinds else term
        if self.version and term == f"{iri()}/{self.version}":
            href = f"/ontology/{self.version}"
        return {"href": href, "text": _compact(term), "label": self.label(term)}

    def ancestors(self, term: str) -> list[str]:
        """The terms above ``term`` in the ontology's asserted hierarchy, nearest first."""
        seen: dict[str, None] = {}
        queue = list(self.supers.get(term, ()))
        while queue:
            nxt = queue.pop(0)
            if nxt not in seen and nxt != term:
                seen[nxt] = None
                queue += self.supers.get(nxt, ())
        return list(seen)

    def wikidata(self, term: str) -> list[dict]:
        """What the Wikidata view writes for ``term``: its own mapping, and what a term above it
        maps its sub-terms to (``through`` that term)."""
        mapping, namespace = wikidata_mapping(), vocabulary()
        found: dict[tuple[str, str | None], dict] = {}
        for source in (term, *self.ancestors(term)):
            for m in mapping.get(source[len(namespace) :], ()) if source.startswith(namespace) else ():
                if (source == term or m.inherited) and (m.property, m.item) not in found:
                    found[(m.property, m.item)] = {
                        "iri": WDT + m.property,
                        "property": self.ref(WDT + m.property),
                        "item": m.item,
                        "item_href": f"{WIKIDATA}{m.item}" if m.item else None,
                        "through": self.ref(source) if source != term else None,
                    }
        return list(found.values())

    def relations(self, term: str) -> list[dict]:
        is_class = self.kind(term) == "Classes"
        out = []
        for p, names in RELATIONS.items():
            name = names[0 if is_class else 1]
            values = [self.ref(o.value) for o in self.facts[term][p] if isinstance(o, ox.NamedNode)]
            if name and values:
                out.append({"name": name, "terms": values})
        if self.subs.get(term):
            name = "Subclasses" if is_class else "Subproperties"
            out.append({"name": name, "terms": [self.ref(s) for s in sorted(self.subs[term])]})
        return out

    def section(self, term: str) -> str:
        if term.startswith(vocabulary()):
            return self.kind(term)
        return "Wikidata properties" if term.startswith(WDT) else "Terms of other vocabularies"

    def view(self, term: str) -> dict:
        local = term.startswith(vocabulary())
        return {
            "iri": term,
            "anchor": _anchor(term),
            "compact": _compact(term),
            "label": self.label(term) or _compact(term),
            "labels": _literals(self.facts[term][RDFS + "label"]),
            "comments": _literals(self.facts[term][RDFS + "comment"]),
            "page": local_path(term) if local else None,
            "relations": self.relations(term),
            "wikidata": self.wikidata(term) if local else [],
            "wikidata_id": term[len(WDT) :] if term.startswith(WDT) else None,
            "mapped_from": [],  # for a Wikidata property: filled in by documentation()
        }


def documentation(lang: str) -> str:
    """The HTML documentation of the ontology, headed in ``lang``."""
    found = version()
    terms = _Terms(lang, found)
    sections: dict[str, list[dict]] = defaultdict(list)
    for term in sorted(terms.kinds, key=lambda t: _compact(t).lower()):
        sections[terms.section(term)].append(terms.view(term))
    # Each Wikidata property lists the terms the view writes it from.
    for view in sections["Wikidata properties"]:
        view["mapped_from"] = [
            {**terms.ref(v["iri"]), "item": w["item"], "item_href": w["item_href"], "through": w["through"]}
            for name in SECTIONS[:-2]
            for v in sections[name]
            for w in v["wikidata"]
            if w["iri"] == view["iri"]
        ]
    about: dict[str, list[dict]] = defaultdict(list)
    for p, o in _about():
        if isinstance(o, ox.Literal):
            about[p] += _literals([o])
        elif isinstance(o, ox.NamedNode):
            about[p].append(terms.ref(o.value))
    title = _pick(about.get(RDFS + "label", []), lang)
    return render_template(
        "ontology.html",
        lang=lang,
        langs=LANGS,
        iri=iri(),
        namespace=vocabulary(),
        version=found,
        title=title,
        about=[{"property": terms.ref(p), "objects": objects} for p, objects in about.items()],
        sections=[(name, sections[name]) for name in SECTIONS if sections.get(name)],
        rdf_formats=list(GRAPH.values()),
    )
