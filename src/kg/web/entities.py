"""Dereferenceable IRIs: /id/… for the project's resources, /ontology/… for its terms.

Linked-data behaviour (documented in the README): direct content negotiation
at the resource's own URL, with ``Vary: Accept`` and a ``Content-Location``
naming the document served; suffixes (those of kg.formats' RDF formats, and
.html) pick a format without headers. HTML for browsers, RDF for machines, 404
for an IRI the graph does not know, 406 for a type we cannot produce.

``/id/<path>`` maps onto ``{base_iri}id/<path>`` and ``/ontology/<term>`` onto
``{base_iri}ontology#<term>``, with the base IRI of the settings, so the same
data can be served from any host while its IRIs stay the public ones. The
namespace IRI ``/ontology`` and the version IRI ``/ontology/0.1.0`` (a path that
starts with a digit is a version, not a term) answer the whole ontology, or its
documentation in HTML (kg.web.ontology), negotiated the same way.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, request

from kg.errors import NotFound
from kg.formats import GRAPH, HTML, Format, negotiate
from kg.namespaces import PREFIXES
from kg.protocol import flag
from kg.web import i18n, ontology
from kg.web.entity_html import Fact, describe, render_entity
from kg.web.page_helpers import id_space, vocabulary

bp = Blueprint("entities", __name__)

# .ttl, .nt, … and .html: a format without headers.
SUFFIXES: dict[str, Format] = {f.suffix: f for f in (*GRAPH.values(), HTML)}


def _split_suffix(path: str) -> tuple[str, str | None]:
    stem, dot, ext = path.rpartition(".")
    return (stem, ext) if dot and ext in SUFFIXES else (path, None)


def _rdf(facts: list[Fact], chosen: Format) -> Response:
    items = [
        ox.Quad(f.subject, f.predicate, f.object, ox.NamedNode(f.graph))
        if chosen.named_graphs
        else ox.Triple(f.subject, f.predicate, f.object)
        for f in facts
    ]
    prefixes = PREFIXES if chosen.prefixes else None
    body = ox.serialize(list(dict.fromkeys(items)), format=chosen.format, prefixes=prefixes)
    return Response(body, mimetype=chosen.media_type)


def _negotiate() -> Format:
    """HTML when it is preferred (browsers, */*, no header), else the best RDF type, else 406."""
    accept = request.accept_mimetypes
    html = accept[HTML.media_type]
    if not accept or (html >= max(accept[m] for m in GRAPH) and html > 0):
        return HTML
    return negotiate("graph", accept, [], html=False)


def respond_for(iri: str, ext: str | None, page: str) -> Response:
    facts = describe(iri, flag(request.args, "infer", True))
    if not facts:
        raise NotFound(f"the graph knows nothing about <{iri}>")
    chosen = SUFFIXES[ext] if ext else _negotiate()
    if chosen is HTML:
        response = Response(render_entity(iri, facts, i18n.current(), page), mimetype=HTML.media_type)
    else:
        response = _rdf(facts, chosen)
    return _negotiated(response, ext, chosen)


def _negotiated(response: Response, ext: str | None, chosen: Format) -> Response:
    response.vary.add("Accept")
    response.vary.add("Accept-Language")
    i18n.remember(response)
    if not ext:
        response.headers["Content-Location"] = f"{request.path}.{chosen.suffix}"
    return response


@bp.get("/id/<path:path>")
def entity(path: str) -> Response:
    local, ext = _split_suffix(path)
    return respond_for(id_space() + local, ext, "entity")


@bp.get("/ontology/<path:term>")
def ontology_term(term: str) -> Response:
    local, ext = _split_suffix(term)
    if ontology.is_version(local):  # the version IRI, /ontology/0.1.0
        ontology.check_version(local)
        return _ontology(ext)
    return respond_for(vocabulary() + local, ext, "term")


@bp.get("/ontology")
@bp.get("/ontology.<ext>")
def namespace(ext: str | None = None) -> Response:
    """The namespace IRI: the whole ontology, or its documentation (kg.web.ontology)."""
    if ext is not None and ext not in SUFFIXES:
        raise NotFound(f"no format with the suffix .{ext}; use one of " + ", ".join(sorted(SUFFIXES)))
    return _ontology(ext)


def _ontology(ext: str | None) -> Response:
    chosen = SUFFIXES[ext] if ext else _negotiate()
    if chosen is HTML:
        response = Response(ontology.documentation(i18n.current()), mimetype=HTML.media_type)
    else:
        response = ontology.graph_response(chosen)
    return _negotiated(response, ext, chosen)
