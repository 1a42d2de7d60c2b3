"""Dereferenceable IRIs: /id/… for the project's resources, /ontology/… for its terms.

Linked-data behaviour (documented in the README): direct content negotiation
at the resource's own URL, with ``Vary: Accept`` and a ``Content-Location``
naming the document served; suffixes (.ttl .nt .jsonld .rdf .trig .nq .html)
pick a format without headers. HTML for browsers, RDF for machines, 404 for an
IRI the graph does not know, 406 for a type we cannot produce.

``/id/<path>`` maps onto ``{base_iri}id/<path>``, so the same data can be served
from any host while its IRIs stay the public ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request

from kg.errors import NotFound
from kg.formats import GRAPH, negotiate
from kg.namespaces import GRAPH_INFERRED, HOS, PREFIXES
from kg.web import i18n
from kg.web.answers import page_rows
from kg.web.sparql import flag

bp = Blueprint("entities", __name__)

SUFFIXES = {
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdf": "application/rdf+xml",
    "trig": "application/trig",
    "nq": "application/n-quads",
    "html": "text/html",
}
LANGS = ("en", "bn", "ru")
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"


@dataclass(frozen=True)
class Fact:
    subject: ox.NamedNode | ox.BlankNode
    predicate: ox.NamedNode
    object: ox.NamedNode | ox.BlankNode | ox.Literal
    graph: str

    @property
    def inferred(self) -> bool:
        return self.graph == str(GRAPH_INFERRED)


# Triples a description holds at most (the settings' row cap applies too, whichever is smaller).


def _describe(iri: str, infer: bool) -> list[Fact]:
    query = current_app.extensions["kg_internal"]["describe"]
    rows = page_rows(query, {"iri": iri}, infer=infer)  # as many triples as /sparql gives
    return [Fact(r["s"], r["p"], r["o"], r["g"].value) for r in rows]


def local_path(iri: str) -> str | None:
    """The path this server answers an IRI at, or None for an outside IRI."""
    base = current_app.config["KG_SETTINGS"].base_iri
    if iri.startswith(base + "id/"):
        return "/id/" + iri[len(base) + 3 :]
    if iri.startswith(str(HOS)):
        return "/ontology/" + iri[len(str(HOS)) :]
    return None


def _split_suffix(path: str) -> tuple[str, str | None]:
    stem, dot, ext = path.rpartition(".")
    return (stem, ext) if dot and ext in SUFFIXES else (path, None)


def _rdf(facts: list[Fact], media: str) -> Response:
    fmt = GRAPH[media].format
    with_graphs = fmt in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS)
    items = [
        ox.Quad(f.subject, f.predicate, f.object, ox.NamedNode(f.graph))
        if with_graphs
        else ox.Triple(f.subject, f.predicate, f.object)
        for f in facts
    ]
    prefixes = PREFIXES if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    body = ox.serialize(list(dict.fromkeys(items)), format=fmt, prefixes=prefixes)
    return Response(body, mimetype=media)


def _negotiate() -> str:
    """HTML when it is preferred (browsers, */*, no header), else the best RDF type, else 406."""
    accept = request.accept_mimetypes
    if not accept or (accept["text/html"] >= max(accept[m] for m in GRAPH) and accept["text/html"] > 0):
        return "text/html"
    return negotiate("graph", accept, [], html=False).media_type


def respond_for(iri: str, ext: str | None, page: str) -> Response:
    facts = _describe(iri, flag(request.args, "infer", True))
    if not facts:
        raise NotFound(f"the graph knows nothing about <{iri}>")
    media = SUFFIXES[ext] if ext else _negotiate()
    if media == "text/html":
        from kg.web.entity_page import render_entity

        response = Response(render_entity(iri, facts, i18n.current(), page), mimetype="text/html")
    else:
        response = _rdf(facts, media)
    response.vary.add("Accept")
    response.vary.add("Accept-Language")
    i18n.remember(response)
    if not ext:
        suffix = next(k for k, v in SUFFIXES.items() if v == media)
        response.headers["Content-Location"] = f"{request.path}.{suffix}"
    return response


@bp.get("/id/<path:path>")
def entity(path: str) -> Response:
    local, ext = _split_suffix(path)
    iri = current_app.config["KG_SETTINGS"].base_iri + "id/" + local
    return respond_for(iri, ext, "entity")


@bp.get("/ontology/<path:term>")
def ontology_term(term: str) -> Response:
    local, ext = _split_suffix(term)
    return respond_for(str(HOS) + local, ext, "term")


@bp.get("/ontology")
def ontology() -> str:
    from kg.web.entity_page import ontology_index

    return render_template("ontology.html", **ontology_index(i18n.current()))
