"""Step 2, link: one event, many sources (load → **link** → validate → reason → view → write).

The records of the Office of the Historian and the source text tell of the same people, places,
summits and meetings. This step ties them together by documented rules, before validation and
reasoning see the data, so that counting gives one and each fact keeps every source that states it:

1. **Identity** (kg.link.identity): persons and places of one name and country are one resource;
   the source text's IRI is kept (with its Wikidata link). The merged resource's triples move onto
   the kept IRI; its names become alternative labels.
2. **Same meetings**: a meeting of the source text took place during a president's trip when the
   president is a participant, the trip's places include the meeting's place and the dates overlap
   (``hos:duringTrip``). Where the text's day or month is not within the trip's dates, both claims
   stay, each with its reference, and a ``hos:Disagreement`` says so.
3. **Summits** (kg.link.summits): a record whose words name a summit series joins that series'
   edition of its dates; the edition is the source text's where a meeting of the text matched to
   one of its trips was held on the sidelines of an edition of that series.
4. **Leaders named in remarks** (kg.link.remarks): the leaders a trip record says the president met
   take part in one meeting of that trip (the source text's, when it is the same meeting).

What the rules add is asserted with the record as its source, like the mapping's facts, and marked:
each added fact has a reification (``rdf:Statement``) giving its sources, ``hos:foundBy`` (the rule
and why it applied) and, where a record's words said it, ``hos:quotation``. The build's manifest
keeps the report (``links``): the merges, the near misses refused, the matches and the counts.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import PROV, RDF, RDFS, SKOS, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from kg.derivations import node, quads_of
from kg.iris import GRAPH_ASSERTED, ID
from kg.link import identity, remarks, summits
from kg.load import Loaded
from kg.mapping_functions import load_countries
from kg.namespaces import HOS, new_graph

FOLDER = Path(__file__).parent
Triple = tuple[Node, Node, Node]


@dataclass
class Report:
    """What the link step did: the build report (manifest ``links``)."""

    merged: list[dict] = field(default_factory=list)
    near_misses: list[dict] = field(default_factory=list)
    same_meetings: list[dict] = field(default_factory=list)
    disagreements: list[dict] = field(default_factory=list)
    editions: int = 0
    attendances: int = 0
    named: int = 0
    named_linked: int = 0
    unlinked: list[dict] = field(default_factory=list)
    facts: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _Facts:
    """The triples the rules add, each fact with its reification (sources, rule, words).

    An ordered set, not an rdflib graph: the triples are added to the asserted graph once, at the
    end (34,000 adds to a graph cost a second more)."""

    def __init__(self) -> None:
        self.triples: dict[Triple, None] = {}

    def plain(self, s: Node, p: Node, o: Node) -> None:
        self.triples[(s, p, o)] = None

    def fact(
        self, s: Node, p: Node, o: Node, sources: Iterable[Node], found_by: str, words: str | None = None
    ) -> None:
        self.plain(s, p, o)
        # one reification per fact, rule and words: a fact two remarks state twice has two
        key = f"{s}\0{p}\0{o.n3()}\0{found_by}\0{words}"  # type: ignore[union-attr]
        key = hashlib.sha1(key.encode()).hexdigest()[:20]
        r = URIRef(f"{ID}reference/{key}")
        for t in ((RDF.type, RDF.Statement), (RDF.subject, s), (RDF.predicate, p), (RDF.object, o)):
            self.plain(r, *t)
        self.plain(r, HOS.foundBy, _english(found_by))
        for source in sources:
            self.plain(r, PROV.wasDerivedFrom, source)
        if words:
            self.plain(r, HOS.quotation, _english(words))


@functools.lru_cache(maxsize=4096)
def _english(text: str) -> Literal:
    return Literal(text, lang="en")  # made once per text: rdflib's Literal() is slow


def _solutions(store: ox.Store, name: str) -> Iterator[dict[str, Any]]:
    """The rows of this folder's query file ``name``, as Oxigraph terms by variable name."""
    solutions = store.query((FOLDER / f"{name}.rq").read_text(encoding="utf-8"))
    names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
    for row in solutions:  # type: ignore[union-attr]
        yield {n: row[n] for n in names if row[n] is not None}


def _strings(store: ox.Store, name: str) -> Iterator[dict[str, str]]:
    """The rows as plain strings (a literal's language as ``lang``), for the identity rules,
    which compare names: no rdflib term made for 10,000 names."""
    for row in _solutions(store, name):
        lang = next((t.language for t in row.values() if isinstance(t, ox.Literal)), None)
        yield {n: t.value for n, t in row.items()} | ({"lang": lang} if lang else {})


def _select(store: ox.Store, name: str) -> Iterator[dict[str, Node]]:
    for row in _solutions(store, name):
        yield {n: node(t) for n, t in row.items()}


def link(loaded: Loaded, mappings: Path) -> Report:
    """Apply the rules to ``loaded`` (in place: its graph, kept quads and store) and report.

    ``mappings``: the folder of the records' mappings, whose tables (summit-series.tsv…) the
    rules read."""
    store, report, facts = loaded.store, Report(), _Facts()
    renamed = _identity(store, report)
    records = _Records.read(store, renamed)
    seeds = _SeedMeetings.read(store, renamed)
    matched = _same_meetings(records, seeds, facts, report)
    _summits(records, matched, facts, report, mappings)
    _remarks(records, renamed, matched, facts, report, mappings)
    _apply(loaded, renamed, facts.triples)
    report.facts = len(facts.triples)
    return report


# ------------------------------------------------------------------------------------- identity


def _identity(store: ox.Store, report: Report) -> dict[URIRef, URIRef]:
    names: dict[str, set[str]] = defaultdict(set)
    for r in _strings(store, "names"):
        if r.get("lang") == "en":
            names[r["x"]].add(r["name"])
    from_records = {r["x"] for r in _strings(store, "from-records")}
    own_ids = {r["person"] for r in _strings(store, "own-ids")}
    countries: dict[str, set[str]] = defaultdict(set)
    years: dict[str, set[int]] = defaultdict(set)
    for r in _strings(store, "people"):
        countries[r["person"]].add(r["country"])
        if "date" in r:
            years[r["person"]].add(int(r["date"][:4]))
    entities = [
        identity.Entity(
            iri, name, country, iri not in from_records, tuple(sorted(years[iri])), iri in own_ids
        )
        for iri, where in countries.items()
        for name in sorted(names[iri])
        for country in sorted(where)
    ]
    inside: dict[str, set[str]] = defaultdict(set)
    for r in _strings(store, "places"):
        inside[r["place"]].add(r["country"])
    spots = [
        identity.Entity(iri, name, country, iri not in from_records)
        for iri, where in inside.items()
        for name in sorted(names[iri])
        for country in sorted(where)
    ]
    renamed: dict[URIRef, URIRef] = {}
    for kind, found in (("person", entities), ("place", spots)):
        merges = identity.merge(found)
        renamed.update({URIRef(a): URIRef(b) for a, b in merges.renamed.items()})
        report.merged += [
            {"kind": kind, "kept": k, "merged": list(o), "rule": why} for k, o, why in merges.merged
        ]
        report.near_misses += [{"kind": kind, "a": a, "b": b, "why": why} for a, b, why in merges.near]
    return renamed


# ------------------------------------------------------------------------------------- inputs


@dataclass
class _Record:
    event: URIRef
    record: URIRef
    id: str  # "hsg-trip-3817"
    trip: bool
    texts: set[str] = field(default_factory=set)
    start: date | None = None
    end: date | None = None
    country: URIRef | None = None
    places: set[URIRef] = field(default_factory=set)
    participants: set[URIRef] = field(default_factory=set)


class _Records(dict[URIRef, _Record]):
    @classmethod
    def read(cls, store: ox.Store, renamed: dict[URIRef, URIRef]) -> _Records:
        out = cls()
        trip = str(HOS.PresidentialTrip)
        for r in _strings(store, "records"):  # strings: 4,400 rows, no rdflib term for each value
            event = URIRef(r["event"])
            rec = out.get(event)
            if rec is None:
                rec = out[event] = _Record(event, URIRef(r["record"]), r["id"], r["kind"] == trip)
            if "text" in r:
                rec.texts.add(r["text"])
            rec.start = rec.start or _day(r.get("start"))
            rec.end = rec.end or _day(r.get("end"))
            if "country" in r:
                rec.country = URIRef(r["country"])
            if "place" in r:
                place = URIRef(r["place"])
                rec.places.add(renamed.get(place, place))
            if "participant" in r:
                person = URIRef(r["participant"])
                rec.participants.add(renamed.get(person, person))
        return out


def _day(value: Node | str | None) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value is not None else None
    except ValueError:
        return None


@dataclass
class _Seed:
    meeting: URIRef
    participants: set[URIRef] = field(default_factory=set)
    day: Literal | None = None
    month: Literal | None = None
    location: URIRef | None = None
    summit: URIRef | None = None
    series: URIRef | None = None
    sources: set[URIRef] = field(default_factory=set)

    def span(self) -> tuple[date, date] | None:
        if self.day is not None:
            d = date.fromisoformat(str(self.day))
            return d, d
        if self.month is not None:
            first = date.fromisoformat(f"{self.month}-01")
            return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return None


class _SeedMeetings(dict[URIRef, _Seed]):
    @classmethod
    def read(cls, store: ox.Store, renamed: dict[URIRef, URIRef]) -> _SeedMeetings:
        out = cls()
        for r in _select(store, "seed-meetings"):
            s = out.setdefault(r["meeting"], _Seed(r["meeting"]))  # type: ignore[arg-type]
            if "participant" in r:
                s.participants.add(renamed.get(r["participant"], r["participant"]))  # type: ignore[arg-type]
            s.day = s.day or r.get("date")  # type: ignore[assignment]
            s.month = s.month or r.get("month")  # type: ignore[assignment]
            s.location = s.location or renamed.get(r.get("location"), r.get("location"))  # type: ignore[arg-type,assignment]
            s.summit = s.summit or r.get("summit")  # type: ignore[assignment]
            s.series = s.series or r.get("series")  # type: ignore[assignment]
            s.sources.add(r["source"])  # type: ignore[arg-type]
        return out


# ------------------------------------------------------------------------------------- same meetings


def _overlap(a: tuple[date, date], b: tuple[date, date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _same_meetings(
    records: _Records, seeds: _SeedMeetings, facts: _Facts, report: Report
) -> dict[URIRef, list[_Seed]]:
    """Each trip → the source text's meetings held during it (rule 2 of the module doc)."""
    matched: dict[URIRef, list[_Seed]] = defaultdict(list)
    for seed in sorted(seeds.values(), key=lambda s: str(s.meeting)):
        span = seed.span()
        for rec in sorted(records.values(), key=lambda r: r.id):
            if not (rec.trip and rec.start and span and seed.location in rec.places):
                continue
            trip_span = (rec.start, rec.end or rec.start)
            if not (rec.participants & seed.participants) or not _overlap(span, trip_span):
                continue
            matched[rec.event].append(seed)
            why = (
                "same meeting: the president took part, the trip's places include the meeting's, "
                "the dates overlap"
            )
            facts.fact(seed.meeting, HOS.duringTrip, rec.event, [*sorted(seed.sources), rec.record], why)
            report.same_meetings.append({"meeting": str(seed.meeting), "trip": rec.id})
            if not (trip_span[0] <= span[0] and span[1] <= trip_span[1]):
                _disagreement(seed, rec, trip_span, facts, report)
    return matched


def _disagreement(
    seed: _Seed, rec: _Record, trip_span: tuple[date, date], facts: _Facts, report: Report
) -> None:
    said = f"on {seed.day}" if seed.day is not None else f"in {seed.month}"
    prop = HOS.date if seed.day is not None else HOS.month
    note = URIRef(f"{ID}note/disagreement-{seed.meeting.removeprefix(ID).replace('/', '-')}-{rec.id}")
    text = (
        f"The source text places {seed.meeting.removeprefix(ID)} {said}; record {rec.id} has the "
        f"president at its place from {trip_span[0]} to {trip_span[1]}. Both claims are kept, each "
        "with its source."
    )
    facts.plain(note, RDF.type, HOS.Disagreement)
    facts.plain(
        note,
        RDFS.label,
        Literal(f"Sources disagree on the date of {seed.meeting.removeprefix(ID)}", lang="en"),
    )
    facts.plain(note, RDFS.comment, Literal(text, lang="en"))
    facts.plain(note, HOS.noteOn, seed.meeting)
    facts.plain(note, HOS.disputedProperty, prop)
    for source in [*sorted(seed.sources), rec.record]:
        facts.plain(note, PROV.wasDerivedFrom, source)
    report.disagreements.append(
        {"note": str(note), "meeting": str(seed.meeting), "record": rec.id, "text": text}
    )


# ------------------------------------------------------------------------------------- summits


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _summits(
    records: _Records, matched: dict[URIRef, list[_Seed]], facts: _Facts, report: Report, mappings: Path
) -> None:
    table = summits.load_series(mappings / "summit-series.tsv")
    labels = {s.id: s.label for s in table}
    by_record = {rec.id: rec for rec in records.values()}
    found = [
        summits.Attendance(rec.id, series, rec.start, rec.end, words)
        for rec in sorted(records.values(), key=lambda r: r.id)
        for text in sorted(rec.texts)
        for series, words in summits.series_named(text, table)
    ]
    report.attendances = len(found)
    for edition in summits.editions(found):
        series = URIRef(f"{ID}event/{edition.series}")
        recs = [by_record[a.record] for a in edition.attendances]
        iri = _seed_edition(recs, matched, series) or URIRef(f"{ID}event/hsg-{edition.slug}")
        report.editions += 1
        why = f"summit series named ({edition.series}), grouped with the series' records of the same dates"
        if not iri.startswith(f"{ID}event/hsg-"):
            why += f"; the source text's edition, whose sidelines hosted a meeting during trip {recs[0].id}"
        else:
            month = f"{_MONTHS[edition.first.month - 1]} {edition.first.year}"
            facts.plain(iri, RDF.type, HOS.Summit)
            facts.plain(iri, RDFS.label, Literal(f"{labels[edition.series]}, {month}", lang="en"))
            facts.plain(iri, HOS.editionOf, series)
            facts.plain(iri, HOS.notBefore, Literal(edition.first.isoformat(), datatype=XSD.date))
            facts.plain(iri, HOS.notAfter, Literal(edition.last.isoformat(), datatype=XSD.date))
        facts.plain(series, RDF.type, HOS.SummitSeries)
        facts.plain(series, RDFS.label, Literal(labels[edition.series], lang="en"))
        for a, rec in zip(edition.attendances, recs, strict=True):
            facts.plain(iri, PROV.wasDerivedFrom, rec.record)
            facts.plain(series, PROV.wasDerivedFrom, rec.record)
            facts.fact(rec.event, HOS.atSummit, iri, [rec.record], why, a.words)
            for person in sorted(rec.participants):
                facts.fact(iri, HOS.participant, person, [rec.record], why, a.words)


def _seed_edition(recs: list[_Record], matched: dict[URIRef, list[_Seed]], series: URIRef) -> URIRef | None:
    for rec in recs:
        for seed in matched.get(rec.event, []):
            if seed.summit is not None and seed.series == series:
                return seed.summit
    return None


# ------------------------------------------------------------------------------------- remarks


def _hsg_ids() -> dict[str, str]:
    """A country's IRI local name (its table row's slug) → an HSG country id, for kg.link.remarks."""
    out: dict[str, str] = {}
    for row in load_countries():
        out.setdefault(row["slug"], row["hsg_id"])
    return out


def _remarks(
    records: _Records,
    renamed: dict[URIRef, URIRef],
    matched: dict[URIRef, list[_Seed]],
    facts: _Facts,
    report: Report,
    mappings: Path,
) -> None:
    people = remarks.candidates_from_visits(mappings.parent / "sources" / "hsg" / "visits")
    hsg_ids = _hsg_ids()
    for rec in sorted(records.values(), key=lambda r: r.id):
        if not rec.trip:
            continue
        named = [n for text in sorted(rec.texts) for n in remarks.leaders_named(text)]
        if not named:
            continue
        country = hsg_ids.get(str(rec.country).removeprefix(f"{ID}place/")) if rec.country else None
        when = rec.start.isoformat() if rec.start else None
        leaders: list[tuple[URIRef, remarks.Named, str]] = []
        for n in named:
            report.named += 1
            found = remarks.link(n, country, when, people)
            if found.key is None:
                report.unlinked.append({"record": rec.id, "words": n.words, "why": found.reason})
                continue
            report.named_linked += 1
            person = URIRef(f"{ID}person/hsg-{found.key}")
            leaders.append((renamed.get(person, person), n, found.reason))
        if not leaders:
            continue
        meeting = _meeting_for(rec, [p for p, _, _ in leaders], matched)
        for person, n, reason in leaders:
            why = f"leader named in the trip's remarks ({n.rule}): {reason}"
            facts.fact(meeting, HOS.participant, person, [rec.record], why, n.words)
        for president in sorted(rec.participants):
            facts.fact(meeting, HOS.participant, president, [rec.record], "the president of the trip", None)
        if meeting.startswith(f"{ID}meeting/hsg-"):
            facts.plain(meeting, RDF.type, HOS.Meeting)
            names = ", ".join(n.words for _, n, _ in leaders)
            facts.plain(
                meeting,
                RDFS.label,
                Literal(f"Meeting on trip {rec.id.removeprefix('hsg-trip-')}: {names}", lang="en"),
            )
            facts.plain(meeting, PROV.wasDerivedFrom, rec.record)
            facts.fact(meeting, HOS.duringTrip, rec.event, [rec.record], "a meeting the trip's remarks name")
            if rec.start:
                facts.plain(meeting, HOS.notBefore, Literal(rec.start.isoformat(), datatype=XSD.date))
                facts.plain(
                    meeting, HOS.notAfter, Literal((rec.end or rec.start).isoformat(), datatype=XSD.date)
                )
            if len(rec.places) == 1:
                facts.fact(
                    meeting, HOS.location, next(iter(rec.places)), [rec.record], "the trip's one place"
                )


def _meeting_for(rec: _Record, leaders: list[URIRef], matched: dict[URIRef, list[_Seed]]) -> URIRef:
    """The source text's meeting during this trip with these leaders, else one of the trip's own."""
    for seed in matched.get(rec.event, []):
        if set(leaders) <= seed.participants:
            return seed.meeting
    return URIRef(f"{ID}meeting/hsg-trip-{rec.id.removeprefix('hsg-trip-')}")


# ------------------------------------------------------------------------------------- apply


def _named_in(data: Graph, s: Node, label: Node) -> bool:
    lang = getattr(label, "language", None)
    return any(getattr(o, "language", None) == lang and o != label for o in data.objects(s, RDFS.label))


def _apply(loaded: Loaded, renamed: dict[URIRef, URIRef], added: dict[Triple, None]) -> None:
    """The merges and the added facts into ``loaded``: its graph, the quads it keeps, its store."""
    data, removed, moved = loaded.data, new_graph(), new_graph()
    for old, new in renamed.items():
        labels = set(data.objects(new, RDFS.label))
        has_label = {getattr(lit, "language", None) for lit in labels}
        for s, p, o in [*data.triples((old, None, None)), *data.triples((None, None, old))]:
            removed.add((s, p, o))
            s2, o2 = (new if s == old else s), (new if o == old else o)
            if s == old and p in (RDFS.label, SKOS.altLabel) and o in labels:
                continue  # the kept resource's label already: not repeated as an alternative
            if s == old and p == RDFS.label and getattr(o, "language", None) in has_label:
                p = SKOS.altLabel  # the kept resource's name stays its label
            moved.add((s2, p, o2))
    for t in removed:
        data.remove(t)
    # A name the rules give (a series' label from the table) where the graph names it already in
    # that language is an alternative label: the graph's own name stays the one label.
    added = {
        ((s, SKOS.altLabel, o) if p == RDFS.label and _named_in(data, s, o) else (s, p, o)): None
        for s, p, o in added
    }
    for t in (*moved, *added):
        data.add(t)
    gone = set(quads_of({str(GRAPH_ASSERTED): removed}))
    new_quads = quads_of({str(GRAPH_ASSERTED): moved}) + quads_of({str(GRAPH_ASSERTED): added})
    if loaded.asserted_quads is not None:
        kept = [q for q in loaded.asserted_quads if q not in gone]
        loaded.asserted_quads = kept + new_quads
    if "store" in loaded.__dict__:  # made already (the step read it): changed the same way
        for q in gone:
            loaded.store.remove(q)
        loaded.store.extend(new_quads)
