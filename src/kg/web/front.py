"""The front: home page with the timeline (SVG, drawn here from the timeline query), places, editor."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request, send_from_directory

from kg import formats
from kg.config import REPO_ROOT
from kg.errors import NotFound
from kg.namespaces import sparql_prologue
from kg.web import i18n
from kg.web.answers import page_rows
from kg.web.page_helpers import internal, local_path, page, registry

bp = Blueprint("front", __name__)

COLOURS = {"g20": "#1f6feb", "apec": "#2da44e", "bilateral": "#bf3989", "anniversary": "#9a6700"}
WIDTH, LEFT, RIGHT, ROW = 1000, 40, 40, 34


@dataclass
class Mark:
    href: str
    label: str  # with the status, said once ("… (cancelled)")
    start: datetime.date
    end: datetime.date  # == start for a known day; the month's last day for a month-only date
    occasion: str
    cancelled: bool
    month_only: bool
    place: str


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


def _occasion(row) -> str:
    series = row["series"].value if row["series"] else ""
    if series.endswith("/event/g20"):
        return "g20"
    if series.endswith("/event/apec"):
        return "apec"
    return "anniversary" if row["occasion"] else "bilateral"


# A label may already end with the status, in any of the languages ("… (cancelled)"): said once.
_STATUS_SUFFIX = re.compile(
    r"\s*\((?:" + "|".join(map(re.escape, i18n.WORDS["cancelled"].values())) + r")\)\s*$", re.I
)


def with_status(label: str, cancelled: bool, lang: str) -> str:
    """The label with the meeting's status said once, in ``lang``, whatever the label itself says."""
    if not cancelled:
        return label
    while (bare := _STATUS_SUFFIX.sub("", label)) != label:
        label = bare
    return f"{label} ({i18n.t('cancelled', lang)})"


def timeline_marks(lang: str) -> list[Mark]:
    marks = []
    for row in _rows("timeline", TIMELINE_ROWS, lang=lang):
        if row["date"]:
            start = end = datetime.date.fromisoformat(row["date"].value)
        else:
            year, month = map(int, row["month"].value.split("-"))
            start = datetime.date(year, month, 1)
            end = (datetime.date(year + month // 12, month % 12 + 1, 1)) - datetime.timedelta(days=1)
        cancelled = row["status"].value.endswith("EventCancelled")
        marks.append(
            Mark(
                href=local_path(row["meeting"].value) or row["meeting"].value,
                label=with_status(row["label"].value, cancelled, lang),
                start=start,
                end=end,
                occasion=_occasion(row),
                cancelled=cancelled,
                month_only=not row["date"],
                place=row["placeLabel"].value,
            )
        )
    return marks


def timeline_svg(marks: list[Mark], lang: str) -> str:
    first = datetime.date(min(m.start for m in marks).year, 1, 1)
    last = datetime.date(max(m.end for m in marks).year, 12, 31)
    span = (last - first).days

    def x(day: datetime.date) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span, 1)

    height = 60 + ROW * len(marks)
    return render_template(
        "timeline.svg",
        marks=marks,
        x=x,
        years=range(first.year, last.year + 2),
        height=height,
        width=WIDTH,
        colours=COLOURS,
        row=ROW,
        lang=lang,
        t=i18n.t,
        date=datetime.date,
    )


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
        svg=timeline_svg(timeline_marks(lang), lang),
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
    lang = i18n.current()
    return Response(timeline_svg(timeline_marks(lang), lang), mimetype="image/svg+xml")


@bp.get("/editor")
def editor() -> Response:
    examples = [q for q in registry().values() if not q.params]
    return page("editor.html", prologue=sparql_prologue(), examples=examples)


# CodeMirror comes from npm (package.json, `make install`): served from node_modules, never copied.
VENDOR_FILES = {"lib/codemirror.js", "lib/codemirror.css", "mode/sparql/sparql.js"}


@bp.get("/vendor/codemirror/<path:name>")
def vendor(name: str) -> Response:
    folder = REPO_ROOT / "node_modules" / "codemirror"
    if name not in VENDOR_FILES or not (folder / name).is_file():
        raise NotFound(f"no front-end asset {name!r} (run `make install` to install CodeMirror)")
    return send_from_directory(folder, name, max_age=86400)
