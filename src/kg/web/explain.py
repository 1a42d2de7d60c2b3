"""/explain?s=…&p=…&o=…: why the graph holds an inferred triple, down to the source text.

``s`` and ``p`` are IRIs, ``o`` an IRI or a literal in N-Triples syntax (kg.proofs.parse_term
says what is accepted). The proof comes from the build's derivations file (kg.derivations),
read by kg.proofs; what each asserted triple comes from is asked of the graph through the
Engine. HTML for browsers, JSON for programs (``Accept: application/json`` or
``format=json``); an error answers in the format asked for, with its status: 400 for a
missing or bad parameter, 404 for a triple that is asserted, not in the graph, or has no
recorded derivation.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, jsonify, request

from kg import proofs
from kg.derivations import Derivations, Key, key_of, read_term
from kg.errors import BadRequest, KGError, NotAcceptable
from kg.web.answers import caller, engine
from kg.web.page_helpers import local_path, page

bp = Blueprint("explain", __name__)
FORMATS = ("html", "json")


@bp.get("/explain")
def explain() -> Response:
    as_json = _wants_json()
    try:
        key = _triple()
        derivations = _derivations()
        lookup = proofs.Lookup(_rows)
        proof = proofs.explain(derivations, lookup, key)
    except KGError as exc:
        if as_json or exc.status >= 500:
            raise  # the app's handler answers JSON
        response = page("explain.html", error=exc.message, key=None, proof=None, rules=[])
        response.status_code = exc.status
        return response
    document = proofs.document(proof, derivations.rules if derivations is not None else {})
    if lookup.exhausted:
        document["sources_truncated"] = True  # some leaves' sources were not looked up
    if as_json:
        return jsonify(document)
    rules = [{"id": r, **v} for r, v in document["rules"].items()]
    bare = [t[1:-1] if t.startswith("<") else t for t in key]  # IRIs without brackets: shorter URLs
    json_href = "/explain?" + urlencode({"s": bare[0], "p": bare[1], "o": bare[2], "format": "json"})
    return page(
        "explain.html",
        error=None,
        key=key,
        proof=_node(proof),
        rules=rules,
        json_href=json_href,
        stops=proofs.STOPS,
    )


def _wants_json() -> bool:
    given = request.args.getlist("format")
    if given:
        if len(given) > 1 or given[0] not in FORMATS:
            raise NotAcceptable(f"format must be one of: {', '.join(FORMATS)}")
        return given[0] == "json"
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def _triple() -> Key:
    terms = []
    for name, literal in (("s", False), ("p", False), ("o", True)):
        given = request.args.getlist(name)
        if not given:
            raise BadRequest(f"parameter {name!r} is required: " + _EXPECTED[name])
        if len(given) > 1:
            raise BadRequest(f"parameter {name!r} is given {len(given)} times; give it once")
        terms.append(proofs.parse_term(given[0], name, literal=literal, blank=name != "p"))
    return key_of(*terms)


_EXPECTED = {
    "s": "the subject's IRI",
    "p": "the predicate's IRI",
    "o": 'the object: an IRI, or a literal in N-Triples syntax such as "Hamburg"@en',
}


def _derivations() -> Derivations | None:
    """The served build's derivations, opened with its store (kg.web.create_app): a rebuild while
    serving replaces the file, and the proofs must be those of the data served."""
    return current_app.extensions["kg_derivations"]


def _rows(name: str, bindings: dict, infer: bool) -> list:
    query = current_app.extensions["kg_internal"][name]
    return engine().rows(query.text, bindings=bindings, infer=infer, max_rows=proofs.SOURCE_ROWS, **caller())


# ---------------------------------------------------------------- the page's view of a proof


def _term(text: str) -> dict:
    found = read_term(text)
    if isinstance(found, ox.NamedNode):
        return {
            "text": proofs.short(text),
            "href": local_path(found.value) or found.value,
            "iri": found.value,
        }
    if isinstance(found, ox.BlankNode):
        return {"text": text, "href": None}
    datatype = found.datatype.value
    shown = None if found.language or datatype.endswith("#string") else proofs.short(f"<{datatype}>")
    return {"text": found.value, "lang": found.language, "datatype": shown, "href": None}


def _node(proof: proofs.Proof) -> dict:
    return {
        "s": _term(proof.triple[0]),
        "p": _term(proof.triple[1]),
        "o": _term(proof.triple[2]),
        "status": proof.status,
        "rule": proof.rule,
        "title": proof.title,
        "kept": proof.kept,
        "graph": proof.graph,
        "sources": [{**s.to_json(), "href": local_path(s.iri) or s.iri} for s in proof.sources],
        "premises": [_node(p) for p in proof.premises],
    }
