"""The dataset describes itself at /.well-known/void: VoID and DCAT (kg.void) with this server's URLs.

The Service Description is answered at GET /sparql (kg.web.sparql).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from kg import void
from kg.dump import read_dumps
from kg.store import KnowledgeGraph
from kg.web.answers import engine, rdf_response
from kg.web.page_helpers import settings

bp = Blueprint("describe", __name__)


@bp.route("/.well-known/void")
def void_description() -> Response:
    """VoID + DCAT from the build's statistics (or the store's counts), under the settings' base IRI."""
    found = settings()
    kg: KnowledgeGraph = engine().kg  # graph names and counts: metadata, not SPARQL
    stats = void.read_statistics(found.build_dir / "stats.json") or {
        "graphs": {name: kg.count(name) for name in kg.graph_names()},
        "triples": len(kg),
        "entities": 0,
        "classes": {},
        "properties": {},
        "wikidata_links": 0,
    }
    manifest = found.build_dir / "manifest.json"
    created = json.loads(manifest.read_text(encoding="utf-8")).get("created") if manifest.is_file() else None
    dumps = read_dumps(found.build_dir / "dumps")
    return rdf_response(void.describe(request.url_root, stats, dumps, created, found.base_iri))
