"""The front: home page with the timeline (kg.web.timeline) and the decade chart, places, editor."""

from __future__ import annotations

from flask import Blueprint, Response, request, send_from_directory

from kg import formats
from kg.config import REPO_ROOT
from kg.errors import NotFound
from kg.namespaces import sparql_prologue
from kg.web import i18n
from kg.web.answers import page_rows
from kg.web.events import COLOURS
from kg.web.page_helpers import internal, local_path, page, registry
from kg.web.timeline import timeline_context

bp = Blueprint("front", __name__)


# What the front shows at most (declared; the row cap of /sparql does not apply to them).
TIMELINE_ROWS = 100_000  # every meeting on the timeline and in the list of places: above the row cap
COUNT_ROWS = 1_000  # classes in the counts
DOCUMENT_ROWS = 100  # source documents


def _rows(name: str, max_rows: int | None, **params: str) -> list:
    """The rows of a canned query (queries/), through the Engine's limits."""
    return page_rows(registry()[name], params, max_rows=max_rows)


def _internal(name: str, max_rows: int) -> list:
    """The rows of a query from queries/internal/ (loaded at start-up)."""
    return page_rows(internal(name), max_rows=max_rows)


def places(lang: str) -> list[dict]:
    links = {
        r["entity"].value: r["wikidata"].value
        for r in _rows("wikidata-links", None, lang=lang)
        if r["wikidata"]
    }
    out: dict[str, dict] = {}
    for row in _rows("timeline", TIMELINE_ROWS, lang=lang):
        iri = row["place"].value
        entry = out.setdefault(
            iri,
            {
                "href": local_path(iri),
                "label": row["placeLabel"].value,
                "wikidata": links.get(iri),
                "meetings": [],
            },
        )
        entry["meetings"].append({"href": local_path(row["meeting"].value), "label": row["label"].value})
    return list(out.values())


@bp.get("/")
def home() -> Response:
    lang = i18n.current()
    documents = [
        {
            "href": local_path(r["document"].value),
            "date": r["date"].value,
            "label": r["label"].value,
            "language": r["language"].value,
        }
        for r in _internal("source-document", DOCUMENT_ROWS)
    ]
    counts = _rows("counts-by-class", COUNT_ROWS, lang=lang if lang != "ru" else "en")
    questions = [q for q in registry().values() if not q.name.startswith("wikidata-")]
    return page(
        "home.html",
        timeline=timeline_context(lang, request.args, COLOURS),
        places=places(lang),
        documents=documents,
        counts=[
            (local_path(r["class"].value), r["label"].value if r["label"] else "", r["count"].value)
            for r in counts
        ],
        questions=questions,
        endpoint=request.url_root + "sparql",
        dumped=formats.DUMPED,
    )


@bp.get("/timeline.svg")
def timeline() -> Response:
    """The home page's timeline alone, under the same filters (?person=…&country=…&from=…&to=…)."""
    lang = i18n.current()
    return Response(timeline_context(lang, request.args, COLOURS)["svg"], mimetype="image/svg+xml")


@bp.get("/editor")
def editor() -> Response:
    examples = [q for q in registry().values() if not q.params]
    return page("editor.html", prologue=sparql_prologue(), examples=examples)


# Front-end libraries come from npm (package.json, `make install`): served from node_modules, never
# copied. CodeMirror for the editor; for the map, d3-geo (and d3-array, which it needs), topojson-client
# and Natural Earth's boundaries from world-atlas.
VENDOR_FILES = {
    "codemirror": {"lib/codemirror.js", "lib/codemirror.css", "mode/sparql/sparql.js"},
    "d3-array": {"dist/d3-array.min.js"},
    "d3-geo": {"dist/d3-geo.min.js"},
    "topojson-client": {"dist/topojson-client.min.js"},
    "world-atlas": {"countries-110m.json"},
}


@bp.get("/vendor/<package>/<path:name>")
def vendor(package: str, name: str) -> Response:
    folder = REPO_ROOT / "node_modules" / package
    if name not in VENDOR_FILES.get(package, ()) or not (folder / name).is_file():
        raise NotFound(f"no front-end asset {package}/{name} (run `make install` to install it)")
    return send_from_directory(folder, name, max_age=86400)
