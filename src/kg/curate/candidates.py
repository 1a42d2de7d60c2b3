"""The Wikidata side of `kg link suggest`: candidate items for our entities, with evidence and score.

Each kind has its lookup (``persons``, ``places``, ``summits``), asked through kg.curate.client in
batches (suggest-*.rq), for entities kg.curate.suggest has read from our graph:

- a **person** by a name (label or alias, in its language or "mul"), who is human; then citizenship
  of the country they represent and a position held that is head of state or government of it;
- a **place** by a name, in its country (P17 = the country's item); then a settlement type;
- a **summit edition** by its days (a summit dated within them); then its label naming the series
  (summit-series.tsv's patterns, or the series' names), being part of the series' item, its location.

Score: the weights of ``WEIGHTS`` for the evidence found, at most 1; each piece is kept in words for
the review file. Which candidates are kept, and which are ambiguous, is kg.curate.suggest's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from kg.config import Settings
from kg.curate.client import WikidataClient
from kg.link import summits as series_table

FOLDER = Path(__file__).parent
WD = "http://www.wikidata.org/entity/"
# The weight of each kind of evidence; a candidate's score is their sum, at most 1.
WEIGHTS = {
    "label": 0.4,  # one of our labels is the item's label (same language, or "mul")
    "alias": 0.3,  # a name matches, but one side's is an alias
    "citizen": 0.2,  # citizen (P27) of the country the person represents
    "position": 0.4,  # held a head-of-state/government position of that country over one of our days
    "position-other-days": 0.1,  # held it, but not over any of our days (or its dates are unknown)
    "country": 0.4,  # a place: in our place's country (P17); the query requires it
    "settlement": 0.2,  # a place: a human settlement (P31/P279* Q486972)
    "dates": 0.4,  # a summit: dated within our edition's days; the query requires it
    "series-label": 0.3,  # a summit: its label names our edition's series
    "series-item": 0.3,  # a summit: part of (P361/P179) the series' item
    "location": 0.2,  # a summit: location (P276) the item of our edition's place
}
ROLES = {WD + "Q48352": "head of state", WD + "Q2285706": "head of government"}
Span = tuple[date, date, str]  # first day, last day, what (a visit, a title…)


@dataclass
class Entity:
    iri: str
    kind: str
    names: dict[Literal, bool] = field(default_factory=dict)  # name → is an alias
    countries: dict[str, str] = field(default_factory=dict)  # country item → its English label
    days: list[Span] = field(default_factory=list)
    series: str = ""  # a summit's series IRI, with its item and names
    series_item: str = ""
    series_names: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)  # a summit's places' items

    @property
    def label(self) -> str:
        names = sorted(self.names, key=lambda n: (self.names[n], n.language != "en", str(n)))
        return str(names[0]) if names else self.iri


@dataclass
class Candidate:
    entity: Entity
    item: str
    label: str = ""
    retrieved: str = ""
    evidence: dict[str, tuple[float, str]] = field(default_factory=dict)  # kind → (weight, words)
    ambiguous: str = ""  # why, when kg.curate.suggest finds it ambiguous

    def add(self, kind: str, words: str) -> None:
        """Evidence of one kind counts once: its heaviest piece (a label over an alias)."""
        weight = WEIGHTS[kind]
        key = "name" if kind in ("label", "alias") else kind.removesuffix("-other-days")
        if key not in self.evidence or self.evidence[key][0] < weight:
            self.evidence[key] = (weight, words)

    def holds(self, kind: str) -> bool:
        """Whether evidence of ``kind`` itself was found: a ``position`` over our days, not only a
        ``position-other-days``; a ``label``, not only an ``alias``."""
        key = "name" if kind in ("label", "alias") else kind.removesuffix("-other-days")
        return key in self.evidence and self.evidence[key][0] >= WEIGHTS[kind]

    @property
    def score(self) -> float:
        return round(min(1.0, sum(w for w, _ in self.evidence.values())), 2)


def persons(client: WikidataClient, group: list[Entity], settings: Settings) -> list[Candidate]:
    """Humans named as our persons are, with their citizenship and head-of-state/government posts."""
    index, found = _name_index(group), {}
    rows, when = _ask(client, "suggest-persons", [(n,) for n in sorted(index)])
    for r in rows:
        for entity, alias, ours in index.get(r["name"], []):  # type: ignore[call-overload]
            _name(_candidate(found, entity, r["item"], when), ours, alias, r)
    facts, when = _ask(client, "suggest-person-facts", sorted({(URIRef(c.item),) for c in found.values()}))
    by_item: dict[str, list[dict[str, Node]]] = defaultdict(list)
    for r in facts:
        by_item[str(r["item"])].append(r)
    for c in found.values():
        c.retrieved, countries = min(c.retrieved, when), c.entity.countries
        labels = [r["label"] for r in by_item[c.item] if "label" in r]  # English, else "mul"
        c.label = str(min(labels, key=lambda x: x.language != "en", default=""))  # type: ignore[union-attr]
        for r in by_item[c.item]:
            if str(r.get("citizenship")) in countries:
                country = str(r["citizenship"])
                c.add(
                    "citizen",
                    f"citizen (P27) of {countries[country]} ({qid(country)}), their country in our graph",
                )
            if str(r.get("jurisdiction")) in countries and "position" in r:
                _position(c, r)
    return list(found.values())


def places(client: WikidataClient, group: list[Entity], settings: Settings) -> list[Candidate]:
    """Items named as our places are, in their country, and whether they are settlements."""
    index, found = _name_index(group), {}
    values = sorted({(n, URIRef(q)) for n, hits in index.items() for e, *_ in hits for q in e.countries})
    rows, when = _ask(client, "suggest-places", values)
    for r in rows:
        for entity, alias, ours in index.get(r["name"], []):  # type: ignore[call-overload]
            country = str(r["country"])
            if country not in entity.countries:
                continue
            c = _candidate(found, entity, r["item"], when)
            c.label = str(r.get("label", c.label))
            _name(c, ours, alias, r)
            c.add("country", f"in {entity.countries[country]} ({qid(country)}) (P17), our place's country")
            if "settlement" in r:
                kind = f"{r.get('settlementLabel', 'a class')} ({qid(str(r['settlement']))})"
                c.add("settlement", f"a human settlement: instance of {kind}")
    return list(found.values())


def summits(client: WikidataClient, group: list[Entity], settings: Settings) -> list[Candidate]:
    """Summits dated within our editions' days that name or are part of the edition's series."""
    table = settings.data_dir / "mappings" / "summit-series.tsv"
    patterns = {s.id: s.patterns for s in series_table.load_series(table if table.is_file() else None)}
    dated, found = {e.iri: e for e in group if e.days}, {}
    spans = {iri: (min(d[0] for d in e.days), max(d[1] for d in e.days)) for iri, e in dated.items()}
    values = [(URIRef(i), _datetime(a), _datetime(b + timedelta(days=1))) for i, (a, b) in spans.items()]
    rows, when = _ask(client, "suggest-summits", values)
    for r in rows:
        e = dated[str(r["edition"])]
        c = _candidate(found, e, r["item"], when)
        c.label = c.label if c.label and r["label"].language == "mul" else str(r["label"])  # type: ignore[union-attr]
        theirs = f"{_day(r['date'])}" if "date" in r else f"{_day(r['start'])} to {_day(r.get('end'))}"
        first, last = spans[e.iri]
        c.add("dates", f"dated {theirs} (P585 or P580/P582), within our days {first} to {last}")
        name = e.series.rsplit("/", 1)[-1]
        names = [re.compile(re.escape(n), re.IGNORECASE) for n in e.series_names]
        if any(p.search(c.label) for p in [*patterns.get(name, ()), *names]):
            c.add("series-label", f"its label “{c.label}” names our series {name}")
        if e.series_item and str(r.get("part")) == e.series_item:
            c.add("series-item", f"part of (P361/P179) {qid(e.series_item)}, the item of our series {name}")
        if str(r.get("place")) in e.locations:
            c.add("location", f"location (P276) {qid(str(r['place']))}, the item of our edition's place")
    # the dates alone are not evidence enough: a summit of those days of another series is no candidate
    return [c for c in found.values() if {"series-label", "series-item"} & set(c.evidence)]


def qid(iri: str) -> str:
    """The item id (``Q42``) of a Wikidata entity IRI."""
    return iri.removeprefix(WD)


# ---------------------------------------------------------------------------------- helpers


def _candidate(found: dict, entity: Entity, item: Node, when: str) -> Candidate:
    key = (entity.iri, str(item))
    if key not in found:
        found[key] = Candidate(entity, str(item), retrieved=when)
    return found[key]


def _ask(client: WikidataClient, name: str, rows: list) -> tuple[list[dict[str, Node]], str]:
    """The answer, and the date of the oldest answer it rests on (the client keeps the oldest)."""
    if not rows:
        return [], ""
    before, client.oldest = client.oldest, None
    try:
        found = client.select((FOLDER / f"{name}.rq").read_text(encoding="utf-8"), rows)
        return found, client.oldest or ""
    finally:
        client.oldest = min(filter(None, [before, client.oldest]), default=None)


def _name_index(group: list[Entity]) -> dict[Literal, list[tuple[Entity, bool, Literal]]]:
    """Each name to send, as written and as "mul", with the entities that have it."""
    index: dict[Literal, list[tuple[Entity, bool, Literal]]] = defaultdict(list)
    for e in group:
        for name, alias in e.names.items():
            for sent in {name, Literal(str(name), lang="mul")}:
                index[sent].append((e, alias, name))
    return index


def _name(c: Candidate, ours: Literal, our_alias: bool, r: dict[str, Node]) -> None:
    their_alias = bool(r["alias"].toPython())  # type: ignore[union-attr]
    where = "one of the item's aliases" if their_alias else "the item's label"
    where += " in “mul”" if r["name"].language == "mul" != ours.language else ""  # type: ignore[union-attr]
    kind = "alias" if our_alias or their_alias else "label"
    c.add(kind, f"our {'alias' if our_alias else 'label'} “{ours}”@{ours.language} is {where}")


def _position(c: Candidate, r: dict[str, Node]) -> None:
    start, end = _day(r.get("start")), _day(r.get("end"))
    held = (
        f"held {r.get('positionLabel', 'a position')} ({qid(str(r['position']))}), "
        f"{ROLES.get(str(r['role']), 'head')} of {c.entity.countries[str(r['jurisdiction'])]}, "
        f"from {start or '?'} to {end or '…'}"
    )
    over = [s for s in c.entity.days if start and start <= s[0] and (not end or s[0] <= end)]
    # their meetings and visits first, then titles (of those days), then summits (the edition's days)
    over.sort(key=lambda s: (s[2] == "summit", s[2].startswith("title"), s[0]))
    if over:
        c.add("position", f"{held}, over our {over[0][2]} of {over[0][0]}")
    else:
        c.add("position-other-days", f"{held}, not over any of our {len(c.entity.days)} days")


def _day(value: Node | None) -> date | None:
    """The day of a Wikidata time (``2008-11-19T00:00:00Z``); None for none, or a year BCE."""
    try:
        return date.fromisoformat(str(value)[:10]) if value is not None else None
    except ValueError:
        return None


def _datetime(day: date) -> Literal:
    return Literal(f"{day.isoformat()}T00:00:00Z", datatype=XSD.dateTime)
