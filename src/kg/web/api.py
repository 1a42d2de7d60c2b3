"""Canned queries as an API: /api/queries, /api/queries/{name}[.json|.csv|.tsv|.xml], OpenAPI.

A run has the same formats, limits, cache and ``infer`` switch as /sparql;
parameters are typed and bound as RDF terms (kg.queries).
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.datastructures import MultiDict

from kg.config import Settings
from kg.errors import NotFound
from kg.execute import Job
from kg.queries import CannedQuery
from kg.web.answers import respond
from kg.web.openapi import openapi_document
from kg.web.protocol import read_params
from kg.web.sparql import FORMAT_PARAMS, build_job

bp = Blueprint("api", __name__)

PROTOCOL_PARAMS = {*FORMAT_PARAMS, "infer"}
EXTENSIONS = {"json": "json", "csv": "csv", "tsv": "tsv", "xml": "xml", "html": "html"}


def registry() -> dict[str, CannedQuery]:
    return current_app.extensions["kg_queries"]


def lookup(name: str) -> CannedQuery:
    query = registry().get(name)
    if query is None:
        raise NotFound(f"no canned query named {name!r}; see /api/queries")
    return query


def describe(query: CannedQuery) -> dict:
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "tags": list(query.tags),
        "params": [
            {
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "required": p.required,
                "default": p.default,
                "example": p.example,
                "values": list(p.values) or None,
            }
            for p in query.params
        ],
        "url": url_for("api.run_query", name=query.name, _external=True),
        "page": url_for("pages.query_page", name=query.name, _external=True),
        "sparql": query.text,
    }


def job_for(query: CannedQuery, params: MultiDict) -> Job:
    """A canned query with the request's parameters bound (shared by the API and the pages)."""
    settings: Settings = current_app.config["KG_SETTINGS"]
    values = {k: params.getlist(k) for k in params if k not in PROTOCOL_PARAMS}
    terms = query.bindings(values)
    bindings = tuple((name, str(term)) for name, term in terms.items())
    return build_job(query.text, params, settings, bindings=bindings)


@bp.get("/api/queries")
def list_queries() -> Response:
    return jsonify({"queries": [describe(q) for q in registry().values()]})


@bp.get("/api/queries/<name>")
def run_query(name: str) -> Response:
    query = lookup(name)
    return respond(job_for(query, read_params(current_app.config["KG_SETTINGS"].max_body)))


@bp.get("/api/queries/<name>.<ext>")
def run_query_as(name: str, ext: str) -> Response:
    if ext not in EXTENSIONS:
        raise NotFound(f"unknown format suffix .{ext}; use one of {', '.join('.' + e for e in EXTENSIONS)}")
    params = read_params(current_app.config["KG_SETTINGS"].max_body)
    params.setlist("format", [EXTENSIONS[ext]])
    for name_ in ("output", "results"):
        params.poplist(name_)
    return respond(job_for(lookup(name), params))


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(registry(), request.url_root.rstrip("/")))


def _swagger_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/api/docs")
def docs() -> str:
    return render_template("docs.html")


@bp.get("/api/docs/static/<path:filename>")
def docs_static(filename: str) -> Response:
    # Swagger UI is served from the installed package: no CDN, works offline.
    return send_from_directory(_swagger_dir(), filename)
