"""Canned queries as an API: /api/queries, /api/queries/{name}[.json|.csv|.tsv|.xml], OpenAPI.

A run has the same formats, limits, cache and ``infer`` switch as /sparql;
parameters are typed and bound as RDF terms (kg.queries).
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, Response, jsonify, render_template, request, send_from_directory, url_for
from werkzeug.datastructures import MultiDict

from kg import formats, protocol
from kg.errors import NotFound
from kg.queries import CannedQuery
from kg.web.answers import respond
from kg.web.openapi import openapi_document
from kg.web.page_helpers import lookup, registry, request_params, settings

bp = Blueprint("api", __name__)

# /api/queries/{name}.json: the canonical name of each results format is also its suffix here.
SUFFIXES = formats.names("results")


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


def _respond(query: CannedQuery, params: MultiDict) -> Response:
    return respond(protocol.canned_job(query, params, request.headers, settings(), request.base_url))


@bp.get("/api/queries")
def list_queries() -> Response:
    return jsonify({"queries": [describe(q) for q in registry().values()]})


@bp.get("/api/queries/<name>")
def run_query(name: str) -> Response:
    query = lookup(name)
    return _respond(query, request_params())


@bp.get("/api/queries/<name>.<ext>")
def run_query_as(name: str, ext: str) -> Response:
    if ext not in SUFFIXES:
        raise NotFound(f"unknown format suffix .{ext}; use one of {', '.join('.' + e for e in SUFFIXES)}")
    params = request_params()
    params.setlist("format", [ext])
    for other in protocol.FORMAT_PARAMS:
        if other != "format":
            params.poplist(other)
    return _respond(lookup(name), params)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(registry(), request.url_root.rstrip("/")))


@bp.get("/api/docs")
def docs() -> str:
    return render_template("docs.html")


@bp.get("/api/docs/static/<path:filename>")
def docs_static(filename: str) -> Response:
    # Swagger UI is served from the installed package: no CDN, works offline.
    return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), filename)
