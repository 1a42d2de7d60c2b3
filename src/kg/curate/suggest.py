"""`kg link suggest`: Wikidata items for unlinked people, places and summit editions, to review.

The graph's own evidence finds them (our store: unlinked-*.rq; Wikidata: suggest-*.rq, through
kg.curate.client, in batches):

- a **person** by a name (label or alias, in its language or "mul"), who is human; then citizenship
  of the country they represent and a position held that is head of state or government of it;
- a **place** by a name, in its country (P17 = the country's item); then a settlement type;
- a **summit edition** by its days (a summit dated within them); then its label naming the series
  (summit-series.tsv's patterns, or the series' names), being part of the series' item, its location.

Score: the weights of ``WEIGHTS`` for the evidence found, at most 1; each piece is spelled out in
words in the review file. Ambiguous (never auto-accepted, kg.curate.accept): every candidate within
``MARGIN`` of its entity's best when there are two or more (two people with one name), and every row
of an item proposed for two of our entities. Nothing here writes to the graph: a curator reviews the
file and `kg link accept` adds what they accept.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from kg.config import Settings
from kg.curate.client import WikidataClient
from kg.derivations import node
from kg.errors import BadRequest
from kg.link import summits as series_table
from kg.store import KnowledgeGraph

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
MARGIN = 0.1  # candidates of one entity this close to its best are ambiguous
PER_ENTITY = 5  # the best candidates kept per entity
KINDS = ("person", "place", "summit")  # in the review file's order
ROLES = {WD + "Q48352": "head of state", WD + "Q2285706": "head of government"}
COLUMNS = (
    "decision", "iri", "label", "kind", "qid", "candidate_label", "score", "ambiguous", "evidence",
    "retrieved",
)  # fmt: skip
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
    ambiguous: str = ""

    def add(self, kind: str, words: str) -> None:
        """Evidence of one kind counts once: its heaviest piece (a label over an alias)."""
        weight = WEIGHTS[kind]
        key = "name" if kind in ("label", "alias") else kind.removesuffix("-other-days")
        if key not in self.evidence or self.evidence[key][0] < weight:
            self.evidence[key] = (weight, words)

    @property
    def score(self) -> float:
        return round(min(1.0, sum(w for w, _ in self.evidence.values())), 2)

    def row(self) -> list[str]:
        words = "; ".join(f"{text} (+{w:.1f})" for w, text in self.evidence.values())
        ambiguous = f"yes: {self.ambiguous}" if self.ambiguous else "no"
        e = self.entity
        return ["", e.iri, e.label, e.kind, self.item.removeprefix(WD), self.label, f"{self.score:.2f}",
                ambiguous, words, self.retrieved]  # fmt: skip


def command(
    settings: Settings, client: WikidataClient, kinds: Sequence[str], limit: int | None, output: Path | None
) -> str:
    """Look the unlinked entities up, write the review file, and say what was found."""
    if limit is not None and limit < 0:
        raise BadRequest(f"--limit {limit}: look up at least 0 entities")
    kinds = [k for k in KINDS if k in kinds]
    entities = [e for e in unlinked(KnowledgeGraph.open(settings.build)) if e.kind in kinds][:limit]
    found: list[Candidate] = []
    for kind, look_up in zip(KINDS, (persons, places, summits), strict=True):
        group = [e for e in entities if e.kind == kind]
        found += look_up(client, group, settings) if group else []
    kept = best(found)
    path = output or settings.build.folder / "link-suggestions.tsv"
    write(path, kept)
    linked = {c.entity.iri for c in kept}
    without = [e.label for e in entities if e.iri not in linked]
    some = f" ({', '.join(without[:5])}{', …' if len(without) > 5 else ''})" if without else ""
    by_kind = ", ".join(f"{k}s {sum(e.kind == k for e in entities)}" for k in kinds)
    return (
        f"Looked up {len(entities)} unlinked entities ({by_kind}) in {client.endpoint}: "
        f"{len(linked)} with candidates, {len(without)} without{some}.\n"
        f"Candidates: {len(kept)}, ambiguous: {sum(bool(c.ambiguous) for c in kept)} (never auto-accepted).\n"
        f"Wrote {path}: write accept or reject in its decision column, then `kg link accept {path}`.\n"
    )


def unlinked(kg: KnowledgeGraph) -> list[Entity]:
    """The unlinked persons, places and summit editions, with what the graph says of them."""
    entities: dict[str, Entity] = {}
    for r in _rows(kg, "unlinked-names"):
        e = entities.setdefault(str(r["entity"]), Entity(str(r["entity"]), str(r["kind"])))
        e.names[r["name"]] = e.names.get(r["name"], True) and bool(r["alias"].toPython())  # type: ignore[union-attr]
    for r in _rows(kg, "unlinked-persons") + _rows(kg, "unlinked-places") + _rows(kg, "unlinked-summits"):
        e = entities.get(str(r.get("person") or r.get("place") or r.get("summit")))  # type: ignore[assignment]
        if e is None:
            continue
        if "countryItem" in r:
            e.countries[str(r["countryItem"])] = str(r.get("countryLabel", r["countryItem"]))
        e.days += _span(r)
        e.series = str(r.get("series", e.series))
        e.series_item = str(r.get("seriesItem", e.series_item))
        e.series_names.update(str(r[k]) for k in ("seriesName",) if k in r)
        e.locations.update(str(r[k]) for k in ("locationItem",) if k in r)
    return sorted(entities.values(), key=lambda e: (KINDS.index(e.kind), e.iri))


def persons(client: WikidataClient, group: list[Entity], settings: Settings) -> list[Candidate]:
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
                    f"citizen (P27) of {countries[country]} ({_qid(country)}), their country in our graph",
                )
            if str(r.get("jurisdiction")) in countries and "position" in r:
                _position(c, r)
    return list(found.values())


def places(client: WikidataClient, group: list[Entity], settings: Settings) -> list[Candidate]:
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
            c.add("country", f"in {entity.countries[country]} ({_qid(country)}) (P17), our place's country")
            if "settlement" in r:
                kind = f"{r.get('settlementLabel', 'a class')} ({_qid(str(r['settlement']))})"
                c.add("settlement", f"a human settlement: instance of {kind}")
    return list(found.values())


def summits(client: WikidataClient, group: list[Entity], settings: Settings) -> list[Candidate]:
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
            c.add("series-item", f"part of (P361/P179) {_qid(e.series_item)}, the item of our series {name}")
        if str(r.get("place")) in e.locations:
            c.add("location", f"location (P276) {_qid(str(r['place']))}, the item of our edition's place")
    return [c for c in found.values() if {"series-label", "series-item"} & set(c.evidence)]


def best(found: Iterable[Candidate]) -> list[Candidate]:
    """The best ``PER_ENTITY`` candidates of each entity, ambiguous ones marked, in review order."""
    by_entity: dict[str, list[Candidate]] = defaultdict(list)
    for c in found:
        by_entity[c.entity.iri].append(c)
    kept: list[Candidate] = []
    for group in by_entity.values():
        group.sort(key=lambda c: (-c.score, c.item))
        close = [c for c in group if c.score >= group[0].score - MARGIN - 1e-9]
        for c in close if len(close) > 1 else []:
            others = ", ".join(_qid(o.item) for o in close if o is not c)
            c.ambiguous = f"{len(close)} candidates within {MARGIN} of the best score (also {others})"
        kept += group[:PER_ENTITY]
    by_item: dict[str, list[Candidate]] = defaultdict(list)
    for c in kept:
        by_item[c.item].append(c)
    for item, group in by_item.items():
        for c in group if len(group) > 1 else []:
            also = ", ".join(o.entity.iri for o in group if o is not c)
            c.ambiguous = "; ".join(filter(None, [c.ambiguous, f"{_qid(item)} is also proposed for {also}"]))
    return sorted(kept, key=lambda c: (KINDS.index(c.entity.kind), c.entity.label, c.entity.iri, -c.score))


def write(path: Path, candidates: Iterable[Candidate]) -> None:
    """The review file: TSV (a spreadsheet opens it), a header, one candidate a row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, delimiter="\t", lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows([re.sub(r"[\t\r\n]+", " ", cell) for cell in c.row()] for c in candidates)


# ---------------------------------------------------------------------------------- helpers


def _rows(kg: KnowledgeGraph, name: str) -> list[dict[str, Node]]:
    solutions = kg.query((FOLDER / f"{name}.rq").read_text(encoding="utf-8"))
    names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
    return [{n: node(row[n]) for n in names if row[n] is not None} for row in solutions]  # type: ignore[union-attr]


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
        f"held {r.get('positionLabel', 'a position')} ({_qid(str(r['position']))}), "
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


def _span(r: dict[str, Node]) -> list[Span]:
    """The days a row gives (none, or one span): a month is its first to its last day."""
    try:
        if "from" in r:
            first = date.fromisoformat(str(r["from"]))
            last = date.fromisoformat(str(r["to"])) if "to" in r else first
        elif "month" in r:
            first = date.fromisoformat(f"{r['month']}-01")
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            return []
    except ValueError:  # not a day of the calendar: the row tells nothing of the days
        return []
    return [(first, max(first, last), str(r.get("what", "days")))]


def _day(value: Node | None) -> date | None:
    """The day of a Wikidata time (``2008-11-19T00:00:00Z``); None for none, or a year BCE."""
    try:
        return date.fromisoformat(str(value)[:10]) if value is not None else None
    except ValueError:
        return None


def _datetime(day: date) -> Literal:
    return Literal(f"{day.isoformat()}T00:00:00Z", datatype=XSD.dateTime)


def _qid(iri: str) -> str:
    return iri.removeprefix(WD)
