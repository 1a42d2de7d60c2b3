"""The dataset describes itself at /.well-known/void: VoID and DCAT (kg.void) with this server's URLs.

The Service Description is answered at GET /sparql (kg.web.sparql).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from kg import void
from kg.store import KnowledgeGraph
from kg.web.answers import engine, rdf_response
from kg.web.page_helpers import settings

bp = Blueprint("describe", __name__)


@bp.route("/.well-known/void")
def void_description() -> Response:
    """VoID + DCAT from the build's statistics (or the store's counts), under the settings' base IRI."""
    found = settings()
    kg: KnowledgeGraph = engine().kg  # graph names and counts: metadata, not SPARQL
    build = found.build
    stats = build.stats() or {
        "graphs": {name: kg.count(name) for name in kg.graph_names()},
        "triples": len(kg),
        "entities": 0,
        "classes": {},
        "properties": {},
        "wikidata_links": 0,
    }
    manifest = build.manifest()
    created = manifest.created if manifest is not None else None
    return rdf_response(void.describe(request.url_root, stats, build.dump_files(), created, found.base_iri))
