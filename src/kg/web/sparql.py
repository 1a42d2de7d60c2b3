"""Step 5a, serve: the SPARQL endpoint at /sparql (query only, read-only)."""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request

from kg.errors import BadRequest
from kg.store import KnowledgeGraph

bp = Blueprint("sparql", __name__)


def _flag(name: str, default: bool) -> bool:
    raw = request.values.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"true", "1", "yes", "on"}:
        return True
    if raw.lower() in {"false", "0", "no", "off"}:
        return False
    raise BadRequest(f"parameter {name!r} must be true or false, not {raw!r}")


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    queries = request.values.getlist("query")
    if len(queries) != 1 or not queries[0].strip():
        problem = "is missing" if not queries else "is repeated" if len(queries) > 1 else "is empty"
        raise BadRequest(f"parameter 'query' {problem}: send exactly one SPARQL query")
    kg: KnowledgeGraph = current_app.extensions["kg"]
    result = kg.query(queries[0], infer=_flag("infer", True))
    if isinstance(result, ox.QueryTriples):
        body = result.serialize(format=ox.RdfFormat.TURTLE)
        return Response(body, mimetype="text/turtle")
    body = result.serialize(format=ox.QueryResultsFormat.JSON)
    return Response(body, mimetype="application/sparql-results+json")
