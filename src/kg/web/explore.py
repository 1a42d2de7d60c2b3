"""Finding one's way in 4,000 events: the timeline's filters, search, a page per person and per
country, the world map. Every page works without script; the map is drawn by d3-geo in the browser
(static/worldmap.js), over the same counts the page lists as a table.

Person and country pages mirror the entity pages' paths: /person/<slug> is about <id/person/<slug>>
(its statements stay at /id/person/<slug>), /country/<slug> about the country <id/place/<slug>>.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from kg.errors import NotFound
from kg.web import events as ev
from kg.web import front_words as words
from kg.web import i18n, timeline, worldmap
from kg.web.answers import page_rows
from kg.web.page_helpers import id_space, internal, local_path, page

bp = Blueprint("explore", __name__)
SEARCH_ROWS = 500


# The pages' words (kg.web.front_words), for every template and the macros they import.
bp.record_once(lambda state: state.app.jinja_env.globals.update(w=words.t))


# ---------------------------------------------------------------- search


def search(text: str, lang: str) -> dict[str, list[dict]]:
    """People, countries and places whose label contains ``text``, grouped, each with its page."""
    groups: dict[str, list[dict]] = {"person": [], "country": [], "place": []}
    rows = page_rows(internal("search"), {"text": text, "lang": lang}, max_rows=SEARCH_ROWS)
    for row in rows:
        iri, group = row["entity"].value, row["group"].value
        if any(item["iri"] == iri for item in groups[group]):
            continue
        groups[group].append(
            {
                "iri": iri,
                "href": _page_of(iri, group),
                "label": row["label"].value,
                "matched": row["matched"].value,
            }
        )
    return groups


def _page_of(iri: str, group: str) -> str:
    space = id_space()
    if group == "person" and iri.startswith(space + "person/"):
        return "/person/" + iri[len(space + "person/") :]
    if group == "country" and iri.startswith(space + "place/"):
        return "/country/" + iri[len(space + "place/") :]
    return local_path(iri) or iri


@bp.get("/search")
def search_page() -> Response:
    lang = i18n.current()
    text = (request.args.get("q") or "").strip()[:200]
    results = search(text, lang) if len(text) >= 2 else None
    return page("search.html", q=text, results=results)


# ---------------------------------------------------------------- people and countries


def _event_rows(events: list[ev.Event], catalogue: ev.Catalogue, lang: str) -> list[dict]:
    return [
        {
            "event": e,
            "date": _when(e),
            "kind": ev.kind_label(catalogue, e.kind, lang),
            "countries": [
                {"href": _page_of(c, "country"), "label": catalogue.label(c)}
                for c in e.countries
                if not c.endswith("/place/united-states") or e.source != "visits"
            ],
        }
        for e in events
    ]


def _when(e: ev.Event) -> str:
    if e.start is None:
        return ""
    if e.month_only:
        return e.start.strftime("%Y-%m")
    if e.end and e.end != e.start:
        return f"{e.start.isoformat()} – {e.end.isoformat()}"
    return e.start.isoformat()


def _subject_page(
    template: str, name: ev.Name, filters_args: dict[str, str], lang: str, **context
) -> Response:
    args = request.args.copy()
    for key, value in filters_args.items():
        args[key] = value
    shown = timeline.timeline_context(lang, args, ev.COLOURS)
    return page(
        template,
        name=name,
        entity_href=local_path(name.iri),
        timeline=shown,
        **context,
    )


@bp.get("/person/<path:slug>")
def person_page(slug: str) -> Response:
    lang = i18n.current()
    catalogue = ev.load(lang)
    name = catalogue.by_slug("person", slug)
    if name is None:
        raise NotFound(f"no person <{id_space()}person/{slug}> in the graph; search at /search")
    mine = [e for e in catalogue.events if name.iri in e.persons]
    return _subject_page("person.html", name, {"person": slug}, lang, rows=_event_rows(mine, catalogue, lang))


@bp.get("/country/<path:slug>")
def country_page(slug: str) -> Response:
    lang = i18n.current()
    catalogue = ev.load(lang)
    name = catalogue.by_slug("country", slug)
    if name is None:
        raise NotFound(f"no country <{id_space()}place/{slug}> in the graph; see /map or search at /search")
    theirs = [e for e in catalogue.events if name.iri in e.countries]
    sections = [
        ("visits_from", [e for e in theirs if e.source == "visits"]),
        ("trips_to", [e for e in theirs if e.source == "trips"]),
        ("meetings_in", [e for e in theirs if e.source == "seed"]),
    ]
    return _subject_page(
        "country.html",
        name,
        {"country": slug},
        lang,
        sections=[
            (key, _event_rows(found, catalogue, lang))
            for key, found in sections
            if found or key != "meetings_in"
        ],
    )


# ---------------------------------------------------------------- the map


def country_counts(lang: str) -> list[dict]:
    """Each country with its visits to the United States and the presidents' trips there."""
    catalogue = ev.load(lang)
    english = ev.load("en") if lang != "en" else catalogue
    counts: dict[str, dict[str, int]] = {}
    for e in catalogue.events:
        if e.source == "seed":
            continue
        for country in e.countries:
            if e.source == "visits" and country.endswith("/place/united-states"):
                continue
            counts.setdefault(country, {"visits": 0, "trips": 0})[e.source] += 1
    out = []
    for name in catalogue.group("country"):
        c = counts.get(name.iri, {"visits": 0, "trips": 0})
        out.append(
            {
                "iri": name.iri,
                "href": _page_of(name.iri, "country"),
                "label": name.label,
                "english": english.names[name.iri].label if name.iri in english.names else name.label,
                "visits": c["visits"],
                "trips": c["trips"],
                "total": c["visits"] + c["trips"],
            }
        )
    return out


@bp.get("/map")
def map_page() -> Response:
    lang = i18n.current()
    countries = country_counts(lang)
    matched, missing = worldmap.match({c["iri"]: c["english"] for c in countries})
    by_feature: dict[str, dict] = {}
    for c in countries:
        if c["iri"] in matched:
            entry = by_feature.setdefault(matched[c["iri"]], {"total": 0, "countries": []})
            entry["total"] += c["total"]
            entry["countries"].append({"href": c["href"], "label": c["label"], "total": c["total"]})
    for entry in by_feature.values():  # the feature links to the country with the most events
        entry["countries"].sort(key=lambda c: -c["total"])
    unmatched = [c for c in countries if c["iri"] in set(missing)]
    return page(
        "map.html",
        countries=sorted(countries, key=lambda c: -c["total"]),
        unmatched=sorted(unmatched, key=lambda c: -c["total"]),
        installed=worldmap.features() is not None,
        data={"features": by_feature},
    )
