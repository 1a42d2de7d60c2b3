"""Every dated event the front shows, in one list: the source text's meetings and the Office of the
Historian's records (visits of foreign leaders to the United States, presidents' trips abroad).

Read through the Engine from the canned ``timeline`` query and queries/internal/ (hsg-events,
seed-meetings, names); filtered here by person, country, kind, source and a window of dates
(``Filters``, read from a page's query string). The timeline, the decade chart, the person, country
and map pages all draw from this list.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from kg.errors import BadRequest
from kg.web import front_words as words
from kg.web import i18n
from kg.web.answers import page_rows
from kg.web.page_helpers import id_space, internal, local_path, registry

# The source text's meetings: their colours by occasion, the occasion of a row, the status said once.
COLOURS = {"g20": "#1f6feb", "apec": "#2da44e", "bilateral": "#bf3989", "anniversary": "#9a6700"}


def occasion(row) -> str:
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


SOURCES = ("seed", "visits", "trips")
# Declared bounds (above the /sparql row cap): every record, every name.
EVENT_ROWS = 100_000
NAME_ROWS = 100_000


@dataclass(frozen=True)
class Event:
    iri: str
    href: str
    label: str
    source: str  # one of SOURCES
    kind: str  # "meeting", "trip", "visit", or a kind of visit's slug (state-visit, …)
    start: datetime.date | None
    end: datetime.date | None  # == start for one day; the month's last day for a month-only date
    countries: tuple[str, ...] = ()  # IRIs: a visit's visitor's country, a trip's, a meeting's place's
    persons: tuple[str, ...] = ()
    cancelled: bool = False
    month_only: bool = False
    occasion: str = ""  # a meeting's occasion (the seed timeline's colours)

    def within(self, first: datetime.date, last: datetime.date) -> bool:
        return self.start is not None and self.start <= last and (self.end or self.start) >= first


@dataclass(frozen=True)
class Name:
    iri: str
    slug: str  # the IRI's last segment: what the pages' URLs and filters use
    group: str  # person, country or visit-kind
    label: str
    wikidata: str | None = None


@dataclass
class Catalogue:
    """The events and the names of what they involve."""

    events: list[Event]
    names: dict[str, Name] = field(default_factory=dict)  # by IRI

    def group(self, group: str) -> list[Name]:
        return sorted((n for n in self.names.values() if n.group == group), key=lambda n: fold(n.label))

    def by_slug(self, group: str, slug: str) -> Name | None:
        prefix = id_space() + {"person": "person/", "country": "place/", "visit-kind": "visit-kind/"}[group]
        found = self.names.get(prefix + slug)
        return found if found is not None and found.group == group else None

    def label(self, iri: str) -> str:
        found = self.names.get(iri)
        return found.label if found else iri.rsplit("/", 1)[-1]


def fold(text: str) -> str:
    """Case and accents ignored (what kgfn:fold does in the queries)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _date(term) -> datetime.date | None:
    if term is None:
        return None
    try:
        return datetime.date.fromisoformat(term.value[:10])
    except ValueError:
        return None


def load(lang: str) -> Catalogue:
    """Every event and name, labelled in ``lang`` (else English); four queries, each cached by the Engine."""
    names: dict[str, Name] = {}
    for row in page_rows(internal("names"), {"lang": lang}, max_rows=NAME_ROWS):
        iri = row["entity"].value
        if iri not in names:
            slug = iri.rstrip("/").rsplit("/", 1)[-1]
            wikidata = row["wikidata"].value if row["wikidata"] else None
            label = row["label"].value if row["label"] else slug  # no label: the IRI's last segment
            names[iri] = Name(iri, slug, row["group"].value, label, wikidata)
    return Catalogue(_seed(lang) + _records(lang), names)


def _seed(lang: str) -> list[Event]:
    persons: dict[str, set[str]] = {}
    countries: dict[str, set[str]] = {}
    for row in page_rows(internal("seed-meetings"), max_rows=EVENT_ROWS):
        meeting = row["meeting"].value
        if row["person"]:
            persons.setdefault(meeting, set()).add(row["person"].value)
        if row["country"]:
            countries.setdefault(meeting, set()).add(row["country"].value)
    events = []
    for row in page_rows(registry()["timeline"], {"lang": lang}, max_rows=EVENT_ROWS):
        if row["date"]:
            start = end = datetime.date.fromisoformat(row["date"].value)
        else:
            year, month = map(int, row["month"].value.split("-"))
            start = datetime.date(year, month, 1)
            end = datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)
        iri = row["meeting"].value
        cancelled = row["status"].value.endswith("EventCancelled")
        events.append(
            Event(
                iri=iri,
                href=local_path(iri) or iri,
                label=with_status(row["label"].value, cancelled, lang),
                source="seed",
                kind="meeting",
                start=start,
                end=end,
                countries=tuple(sorted(countries.get(iri, ()))),
                persons=tuple(sorted(persons.get(iri, ()))),
                cancelled=cancelled,
                month_only=not row["date"],
                occasion=occasion(row),
            )
        )
    return events


def _records(lang: str) -> list[Event]:
    found: dict[str, dict] = {}
    for row in page_rows(internal("hsg-events"), {"lang": lang}, max_rows=EVENT_ROWS):
        iri = row["event"].value
        entry = found.setdefault(
            iri,
            {
                "type": row["type"].value,
                "label": row["label"].value if row["label"] else iri.rsplit("/", 1)[-1],
                "start": _date(row["start"]),
                "end": _date(row["end"]),
                "countries": set(),
                "persons": set(),
                "kind": None,
            },
        )
        if row["country"]:
            entry["countries"].add(row["country"].value)
        if row["person"]:
            entry["persons"].add(row["person"].value)
        if row["kind"]:
            entry["kind"] = row["kind"].value.rstrip("/").rsplit("/", 1)[-1]
    events = []
    for iri, e in found.items():
        visit = e["type"] == "visit"
        start = e["start"]
        end = e["end"] if e["end"] and start and e["end"] >= start else start
        events.append(
            Event(
                iri=iri,
                href=local_path(iri) or iri,
                label=e["label"],
                source="visits" if visit else "trips",
                kind=(e["kind"] or "visit") if visit else "trip",
                start=start,
                end=end,
                countries=tuple(sorted(e["countries"])),
                persons=tuple(sorted(e["persons"])),
            )
        )
    events.sort(key=lambda e: (e.start or datetime.date.max, e.iri))
    return events


# ---------------------------------------------------------------- filters

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_date(text: str, *, last: bool) -> datetime.date:
    """A year, a year and month, or a day: its first day, or its last with ``last``."""
    match = _DATE.match(text.strip())
    if not match:
        raise BadRequest(
            f"{text!r} is not a date: write a year (1961), a month (1961-05) or a day (1961-05-31)"
        )
    year, month, day = int(match[1]), match[2], match[3]
    try:
        if day:
            return datetime.date(year, int(month), int(day))
        if month:
            first = datetime.date(year, int(month), 1)
            if not last:
                return first
            return datetime.date(year + first.month // 12, first.month % 12 + 1, 1) - datetime.timedelta(
                days=1
            )
        return datetime.date(year, 12, 31) if last else datetime.date(year, 1, 1)
    except ValueError as exc:
        raise BadRequest(f"{text!r} is not a date: {exc}") from None


@dataclass(frozen=True)
class Filters:
    person: str = ""  # a person's slug, or a part of a name
    country: str = ""  # a country's slug
    kind: str = ""  # meeting, visit, trip, or a kind of visit's slug
    source: str = ""  # one of SOURCES
    start: datetime.date | None = None
    end: datetime.date | None = None

    FIELDS = ("person", "country", "kind", "source")

    @classmethod
    def from_args(cls, args) -> Filters:
        values = {name: (args.get(name) or "").strip()[:200] for name in cls.FIELDS}
        if values["source"] and values["source"] not in SOURCES:
            raise BadRequest(f"source must be one of {', '.join(SOURCES)}, not {values['source']!r}")
        start = parse_date(args["from"], last=False) if args.get("from") else None
        end = parse_date(args["to"], last=True) if args.get("to") else None
        if start and end and end < start:
            start, end = end, start
        return cls(**values, start=start, end=end)

    def active(self) -> bool:
        return any(getattr(self, name) for name in self.FIELDS)

    def href(self, **changes) -> str:
        """The query string for these filters with ``changes`` (``from``/``to`` as dates or None)."""
        chosen = replace(self, **changes)
        pairs = [(name, getattr(chosen, name)) for name in self.FIELDS if getattr(chosen, name)]
        if chosen.start:
            pairs.append(("from", chosen.start.isoformat()))
        if chosen.end:
            pairs.append(("to", chosen.end.isoformat()))
        return "?" + urlencode(pairs) if pairs else "?"

    def apply(self, catalogue: Catalogue) -> list[Event]:
        """The events that pass the filters (the window is the timeline's: not applied here)."""
        events = catalogue.events
        if self.source:
            events = [e for e in events if e.source == self.source]
        if self.kind:
            events = [
                e for e in events if e.kind == self.kind or (self.kind == "visit" and e.source == "visits")
            ]
        if self.country:
            iri = id_space() + "place/" + self.country
            events = [e for e in events if iri in e.countries]
        if self.person:
            people = self.people(catalogue)
            events = [e for e in events if people.intersection(e.persons)]
        return events

    def people(self, catalogue: Catalogue) -> set[str]:
        """The persons the person filter names: one by its slug, else all whose name contains the text."""
        exact = catalogue.by_slug("person", self.person)
        if exact is not None:
            return {exact.iri}
        wanted = fold(self.person)
        return {n.iri for n in catalogue.names.values() if n.group == "person" and wanted in fold(n.label)}


def kinds(catalogue: Catalogue, lang: str) -> list[tuple[str, str]]:
    """The kind filter's choices: (value, label)."""
    out = [("meeting", words.t("kind_meeting", lang)), ("visit", words.t("kind_visit", lang))]
    out += [(n.slug, n.label) for n in catalogue.group("visit-kind")]
    return [*out, ("trip", words.t("kind_trip", lang))]


def kind_label(catalogue: Catalogue, kind: str, lang: str) -> str:
    return dict(kinds(catalogue, lang)).get(kind, kind)
