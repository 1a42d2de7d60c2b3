"""A synthetic graph of the same shape as the project's build, at any size.

    python bench/generate.py --triples 100000 -o /tmp/synthetic-100k.nq

The output is N-Quads with the build's three named graphs:

* ``graph/ontology``: the project's ontology graph, copied as-is from build/graph.nq;
* ``graph/asserted``: countries, cities, heads of state and their offices, summit
  series and summits, issues, formats, source documents cut into paragraphs and
  sentences, and the bulk: meetings (hos:Meeting subclasses) with participants,
  a date (or only a month), a city, often a summit, labels in en/bn/ru,
  outcomes, statements and prov:wasDerivedFrom links to sentences;
* ``graph/inferred``: what the OWL 2 RL closure adds for those patterns in the
  real build (superclass types, inverse and super-properties, schema: and
  wdt: equivalents, owl:sameAs copies onto wd: items, the meeting's country).

Names are made of syllables written in Latin, Cyrillic and Bengali script, so
the labels in the three languages differ as real ones do. The output depends
only on --triples and --seed.
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

BASE = "https://w3id.org/hos-kg/"
HOS = BASE + "ontology#"
ID = BASE + "id/"
GRAPH = {name: f"<{BASE}graph/{name}>" for name in ("ontology", "asserted", "inferred")}

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
RDF_VALUE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#value>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
COMMENT = "<http://www.w3.org/2000/01/rdf-schema#comment>"
ALT_LABEL = "<http://www.w3.org/2004/02/skos/core#altLabel>"
EDITORIAL_NOTE = "<http://www.w3.org/2004/02/skos/core#editorialNote>"
SAME_AS = "<http://www.w3.org/2002/07/owl#sameAs>"
OWL_THING = "<http://www.w3.org/2002/07/owl#Thing>"
DERIVED = "<http://www.w3.org/ns/prov#wasDerivedFrom>"
ATTRIBUTED = "<http://www.w3.org/ns/prov#wasAttributedTo>"
PROV_ENTITY = "<http://www.w3.org/ns/prov#Entity>"
PROV_AGENT = "<http://www.w3.org/ns/prov#Agent>"
IS_PART_OF = "<http://purl.org/dc/terms/isPartOf>"
FOAF_PERSON = "<http://xmlns.com/foaf/0.1/Person>"
SKOS_CONCEPT = "<http://www.w3.org/2004/02/skos/core#Concept>"
XSD = "http://www.w3.org/2001/XMLSchema#"

MONTHS_RU = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
BN_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")

# (Latin, Cyrillic, Bengali) spellings of one syllable.
SYLLABLES = [
    ("ka", "ка", "কা"), ("ri", "ри", "রি"), ("mo", "мо", "মো"), ("ta", "та", "টা"), ("le", "ле", "লে"),
    ("na", "на", "না"), ("so", "со", "সো"), ("vi", "ви", "ভি"), ("da", "да", "দা"), ("ru", "ру", "রু"),
    ("me", "ме", "মে"), ("po", "по", "পো"), ("li", "ли", "লি"), ("sa", "са", "সা"), ("no", "но", "নো"),
    ("ga", "га", "গা"), ("be", "бе", "বে"), ("to", "то", "টো"), ("ze", "зе", "জে"), ("ko", "ко", "কো"),
]  # fmt: skip

MEETING_CLASSES = ["BilateralMeeting"] * 6 + ["BriefInformalTalk"] * 2 + ["WorkingMeal"]
FORMATS = ["one-on-one", "expanded", "on-their-feet", "working-breakfast", "general-discussion", "dinner"]
# Wikidata classes the closure types resources with (wdt:P31), as in the build.
WD_MEETING, WD_HUMAN, WD_COUNTRY, WD_SUMMIT = "Q2761147", "Q5", "Q6256", "Q1072326"


def iri(kind: str, name: str) -> str:
    return f"<{ID}{kind}/{name}>"


def hos(name: str) -> str:
    return f"<{HOS}{name}>"


def wd(q: str) -> str:
    return f"<http://www.wikidata.org/entity/{q}>"


def wdt(p: str) -> str:
    return f"<http://www.wikidata.org/prop/direct/{p}>"


def schema(name: str) -> str:
    return f"<https://schema.org/{name}>"


def lit(text: str, lang: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"@{lang}'


def typed(value: object, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


@dataclass(frozen=True)
class Name:
    """One name in three scripts, and its slug for IRIs."""

    en: str
    ru: str
    bn: str

    @property
    def slug(self) -> str:
        return self.en.lower().replace(" ", "-")


def unique_name(i: int, parts: int = 2) -> Name:
    """The i-th name: i written in base 20 with syllables as digits, so names never collide."""
    digits = []
    while True:
        i, d = divmod(i, len(SYLLABLES))
        digits.append(d)
        if i == 0 and len(digits) >= parts:
            break
    sylls = [SYLLABLES[d] for d in reversed(digits)]
    return Name(*("".join(s[k] for s in sylls).capitalize() for k in range(3)))


def random_name(rng: random.Random) -> Name:
    sylls = rng.sample(SYLLABLES, rng.randint(2, 3))
    return Name(*("".join(s[k] for s in sylls).capitalize() for k in range(3)))


@dataclass
class Entity:
    iri: str
    name: Name
    wd: str  # its owl:sameAs Wikidata item
    extra: dict[str, Entity] = field(default_factory=dict)


class Writer:
    """Writes quads and counts them; a triple goes to exactly one graph."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        self._lines: list[str] = []

    def add(self, graph: str, s: str, p: str, o: str) -> None:
        self._lines.append(f"{s} {p} {o} {GRAPH[graph]} .\n")
        self.count += 1
        if len(self._lines) >= 10_000:
            self.flush()

    def asserted(self, s: str, p: str, o: str) -> None:
        self.add("asserted", s, p, o)

    def inferred(self, s: str, p: str, o: str) -> None:
        self.add("inferred", s, p, o)

    def labels(self, s: str, name: Name, en: str = "{}", ru: str = "{}", bn: str = "{}") -> None:
        self.asserted(s, LABEL, lit(en.format(name.en), "en"))
        self.asserted(s, LABEL, lit(ru.format(name.ru), "ru"))
        self.asserted(s, LABEL, lit(bn.format(name.bn), "bn"))

    def flush(self) -> None:
        self.out.writelines(self._lines)
        self._lines.clear()


class Generator:
    """The pools of entities first, then one meeting after another until the size is reached."""

    def __init__(self, out: Writer, triples: int, seed: int) -> None:
        self.w = out
        self.rng = random.Random(seed)
        self.target = triples
        self._wd = 900_000_000  # synthetic Wikidata numbers, far above real items' Q-numbers
        # Pool sizes grow with the graph, in about the proportions of the real data.
        self.n_countries = min(190, max(8, triples // 5_000))
        self.n_cities = max(6, triples // 1_500)
        self.n_series = min(20, max(2, triples // 50_000))
        self.n_summits = max(4, triples // 1_000)
        self.n_persons = max(4, triples // 400)
        self.n_issues = max(4, triples // 2_000)

    def next_wd(self) -> str:
        self._wd += 1
        return wd(f"Q{self._wd}")

    def same_as(self, e: Entity) -> None:
        self.w.asserted(e.iri, SAME_AS, e.wd)
        self.w.inferred(e.wd, SAME_AS, e.iri)

    def sourced(self, s: str, sentences: list[str], document: str) -> None:
        for sentence in sentences:
            self.w.asserted(s, DERIVED, sentence)
        self.w.inferred(s, hos("describedBySource"), document)
        self.w.inferred(s, wdt("P1343"), document)
        self.w.inferred(s, RDF_TYPE, OWL_THING)

    def run(self) -> None:
        self.countries = [self.country(i) for i in range(self.n_countries)]
        self.offices = {c.iri: self.office(c) for c in self.countries}
        self.cities = [self.city(i) for i in range(self.n_cities)]
        self.series = [self.summit_series(i) for i in range(self.n_series)]
        self.summits = [self.summit(i) for i in range(self.n_summits)]
        self.persons = [self.person(i) for i in range(self.n_persons)]
        self.issues = [self.issue(i) for i in range(self.n_issues)]
        for slug in FORMATS:
            f = iri("format", slug)
            self.w.asserted(f, RDF_TYPE, hos("MeetingFormat"))
            self.w.asserted(f, LABEL, lit(slug.replace("-", " "), "en"))
            self.w.inferred(f, RDF_TYPE, OWL_THING)
        i = 0
        while self.w.count < self.target:
            self.meeting_unit(i)
            i += 1
        self.w.flush()

    # ------------------------------------------------------------------ pools

    def country(self, i: int) -> Entity:
        name = unique_name(i, 2)
        c = Entity(iri("place", name.slug), name, self.next_wd())
        self.w.asserted(c.iri, RDF_TYPE, hos("Country"))
        self.w.labels(c.iri, name)
        self.same_as(c)
        self.w.asserted(c.iri, DERIVED, iri("source", "wikidata"))
        for t in (hos("Place"), schema("Place"), OWL_THING):
            self.w.inferred(c.iri, RDF_TYPE, t)
        self.w.inferred(c.iri, wdt("P31"), wd(WD_COUNTRY))
        return c

    def office(self, country: Entity) -> Entity:
        o = Entity(iri("office", f"president-of-{country.name.slug}"), country.name, self.next_wd())
        self.w.asserted(o.iri, RDF_TYPE, hos("Office"))
        self.w.labels(o.iri, country.name, "President of {}", "Президент {}", "{}-এর রাষ্ট্রপতি")
        self.w.asserted(o.iri, hos("ofCountry"), country.iri)
        self.same_as(o)
        self.w.inferred(o.iri, RDF_TYPE, OWL_THING)
        return o

    def city(self, i: int) -> Entity:
        name = unique_name(i, 3)
        country = self.rng.choice(self.countries)
        c = Entity(iri("place", name.slug), name, self.next_wd(), {"country": country})
        self.w.asserted(c.iri, RDF_TYPE, hos("City"))
        self.w.labels(c.iri, name)
        self.w.asserted(c.iri, hos("inCountry"), country.iri)
        self.same_as(c)
        self.w.asserted(
            c.iri, EDITORIAL_NOTE, lit(f"Its country ({country.name.en}) is from Wikidata.", "en")
        )
        self.w.asserted(c.iri, DERIVED, iri("source", "wikidata"))
        for t in (hos("Place"), schema("Place"), OWL_THING):
            self.w.inferred(c.iri, RDF_TYPE, t)
        for p in (hos("country"), hos("locatedIn"), wdt("P17"), wdt("P131")):
            self.w.inferred(c.iri, p, country.iri)
        self.w.inferred(c.iri, wdt("P17"), country.wd)
        self.w.inferred(c.iri, wdt("P131"), country.wd)
        return c

    def summit_series(self, i: int) -> Entity:
        name = unique_name(i, 2)
        name = Name(name.en.upper(), name.ru.upper(), name.bn)
        s = Entity(iri("event", name.slug), name, self.next_wd())
        self.w.asserted(s.iri, RDF_TYPE, hos("SummitSeries"))
        self.w.labels(s.iri, name)
        self.w.asserted(s.iri, ALT_LABEL, lit(f"Group of {name.en.capitalize()}", "en"))
        self.same_as(s)
        self.w.inferred(s.iri, RDF_TYPE, schema("EventSeries"))
        self.w.inferred(s.iri, RDF_TYPE, OWL_THING)
        return s

    def summit(self, i: int) -> Entity:
        series = self.series[i % len(self.series)]
        city = self.rng.choice(self.cities)
        year = 1990 + i * 35 // self.n_summits
        s = Entity(iri("event", f"{series.name.slug}-{year}-{city.name.slug}-{i}"), city.name, "")
        s.extra.update(series=series, city=city, country=city.extra["country"])
        self.w.asserted(s.iri, RDF_TYPE, hos("Summit"))
        self.w.asserted(s.iri, LABEL, lit(f"{year} {series.name.en} summit in {city.name.en}", "en"))
        self.w.asserted(s.iri, LABEL, lit(f"{city.name.bn}-এ {series.name.bn} শীর্ষ সম্মেলন, {year}", "bn"))
        self.w.asserted(s.iri, hos("editionOf"), series.iri)
        self.w.asserted(s.iri, hos("location"), city.iri)
        self.w.asserted(
            s.iri, "<http://xmlns.com/foaf/0.1/isPrimaryTopicOf>", f"<https://example.org/wiki/{i}>"
        )
        for t in (schema("Event"), OWL_THING):
            self.w.inferred(s.iri, RDF_TYPE, t)
        self.w.inferred(s.iri, wdt("P31"), wd(WD_SUMMIT))
        for p in (hos("partOf"), IS_PART_OF, wdt("P361")):
            self.w.inferred(s.iri, p, series.iri)
        self.w.inferred(s.iri, wdt("P361"), series.wd)
        for p in (schema("location"), wdt("P276")):
            self.w.inferred(s.iri, p, city.iri)
        self.w.inferred(s.iri, wdt("P276"), city.wd)
        self.w.inferred(s.iri, hos("country"), s.extra["country"].iri)
        self.w.inferred(s.iri, wdt("P17"), s.extra["country"].iri)
        self.w.inferred(s.iri, wdt("P17"), s.extra["country"].wd)
        return s

    def person(self, i: int) -> Entity:
        given, family = random_name(self.rng), unique_name(i, 3)
        name = Name(f"{given.en} {family.en}", f"{given.ru} {family.ru}", f"{given.bn} {family.bn}")
        country = self.rng.choice(self.countries)
        p = Entity(iri("person", name.slug), name, self.next_wd(), {"country": country})
        office = self.offices[country.iri]
        self.w.asserted(p.iri, RDF_TYPE, hos("HeadOfState"))
        self.w.labels(p.iri, name)
        self.w.asserted(p.iri, hos("holdsOffice"), office.iri)
        self.same_as(p)
        for t in (hos("Person"), schema("Person"), FOAF_PERSON, PROV_AGENT, OWL_THING):
            self.w.inferred(p.iri, RDF_TYPE, t)
        self.w.inferred(p.iri, wdt("P31"), wd(WD_HUMAN))
        self.w.inferred(p.iri, wdt("P39"), office.iri)
        self.w.inferred(p.iri, wdt("P39"), office.wd)
        return p

    def issue(self, i: int) -> Entity:
        country = self.countries[i % len(self.countries)]
        name = unique_name(i, 2)
        s = Entity(iri("issue", f"{name.slug}-{country.name.slug}"), name, "", {"country": country})
        self.w.asserted(s.iri, RDF_TYPE, hos("Issue"))
        self.w.asserted(s.iri, LABEL, lit(f"{name.en} question in {country.name.en}", "en"))
        self.w.asserted(s.iri, LABEL, lit(f"{country.name.bn}-এ {name.bn} প্রশ্ন", "bn"))
        self.w.asserted(s.iri, hos("subject"), country.iri)
        for t in (SKOS_CONCEPT, OWL_THING):
            self.w.inferred(s.iri, RDF_TYPE, t)
        return s

    # ------------------------------------------------------------------ meetings

    def sentences(self, i: int, en: str, bn: str, count: int) -> tuple[str, list[str]]:
        """A paragraph of ``count`` sentences in a document of 50 paragraphs: (document, sentences)."""
        doc_index, seq = divmod(i, 50)
        document = iri("source", f"synthetic-{doc_index:05d}")
        if seq == 0:
            self.w.asserted(document, RDF_TYPE, hos("SourceDocument"))
            self.w.asserted(document, LABEL, lit(f"Synthetic source text {doc_index}", "en"))
            self.w.inferred(document, RDF_TYPE, PROV_ENTITY)
        paragraph = iri("source", f"synthetic-{doc_index:05d}-p{seq + 1}")
        self.w.asserted(paragraph, RDF_TYPE, hos("Paragraph"))
        self.w.asserted(paragraph, LABEL, lit(f"Source paragraph {seq + 1}", "en"))
        self.w.asserted(paragraph, hos("inDocument"), document)
        self.w.asserted(paragraph, hos("sequence"), typed(seq + 1, "integer"))
        self.w.asserted(paragraph, hos("text"), lit(bn, "bn"))
        self.w.asserted(paragraph, hos("text"), lit(en, "en"))
        self.w.inferred(paragraph, RDF_VALUE, lit(bn, "bn"))
        self.w.inferred(paragraph, RDF_VALUE, lit(en, "en"))
        self.w.inferred(paragraph, IS_PART_OF, document)
        self.w.inferred(paragraph, RDF_TYPE, PROV_ENTITY)
        out = []
        for k in range(1, count + 1):
            s = iri("source", f"synthetic-{doc_index:05d}-p{seq + 1}-s{k}")
            self.w.asserted(s, RDF_TYPE, hos("Sentence"))
            self.w.asserted(s, LABEL, lit(f"Source sentence {seq + 1}.{k}", "en"))
            self.w.asserted(s, LABEL, lit(f"উৎস বাক্য {seq + 1}.{k}".translate(BN_DIGITS), "bn"))
            self.w.asserted(s, hos("inParagraph"), paragraph)
            self.w.asserted(s, hos("inDocument"), document)
            self.w.asserted(s, hos("sequence"), typed(k, "integer"))
            self.w.asserted(s, hos("text"), lit(f"({k}) {bn}", "bn"))
            self.w.asserted(s, hos("text"), lit(f"({k}) {en}", "en"))
            self.w.inferred(s, IS_PART_OF, paragraph)
            self.w.inferred(s, IS_PART_OF, document)
            self.w.inferred(s, RDF_TYPE, PROV_ENTITY)
            self.w.inferred(s, RDF_TYPE, OWL_THING)
            out.append(s)
        return document, out

    def meeting_unit(self, i: int) -> None:
        """One meeting with its source sentences, outcomes and perhaps a statement."""
        rng, w = self.rng, self.w
        people = rng.sample(self.persons, rng.choice((2, 2, 2, 3, 4)))
        summit = rng.choice(self.summits) if rng.random() < 0.6 else None
        city = summit.extra["city"] if summit else rng.choice(self.cities)
        country = city.extra["country"]
        day = datetime.date(1990, 1, 1) + datetime.timedelta(days=rng.randrange(35 * 365))
        month_only = rng.random() < 0.05  # the source gives the month only
        cls = rng.choice(MEETING_CLASSES)
        m = iri("meeting", f"{day:%Y-%m}{'' if month_only else f'-{day:%d}'}-{city.name.slug}-{i}")

        when_en = f"{day:%B %Y}" if month_only else f"{day.day} {day:%B %Y}"
        when_ru = f"{day.year}" if month_only else f"{day.day} {MONTHS_RU[day.month - 1]} {day.year} года"
        when_bn = (f"{day:%Y-%m}" if month_only else f"{day:%d-%m-%Y}").translate(BN_DIGITS)
        who_en = " and ".join(p.name.en for p in people)
        who_bn = " ও ".join(p.name.bn for p in people)
        en = f"{who_en} met in {city.name.en} on {when_en}" + (
            f", on the sidelines of the {summit.extra['series'].name.en} summit." if summit else "."
        )
        bn = f"{when_bn} {city.name.bn}-এ {who_bn} বৈঠক করেন।"
        document, sentences = self.sentences(i, en, bn, rng.randint(2, 3))

        w.asserted(m, RDF_TYPE, hos(cls))
        w.asserted(m, LABEL, lit(f"{who_en} meeting in {city.name.en}, {when_en}", "en"))
        w.asserted(m, LABEL, lit(f"{city.name.bn}-এ {who_bn} বৈঠক, {when_bn}", "bn"))
        w.asserted(
            m, LABEL, lit(f"Встреча: {', '.join(p.name.ru for p in people)}, {city.name.ru}, {when_ru}", "ru")
        )
        w.asserted(m, COMMENT, lit(en, "en"))
        for p in people:
            w.asserted(m, hos("participant"), p.iri)
        if month_only:
            w.asserted(m, hos("month"), typed(f"{day:%Y-%m}", "gYearMonth"))
        else:
            w.asserted(m, hos("date"), typed(day.isoformat(), "date"))
        w.asserted(m, hos("location"), city.iri)
        cancelled = rng.random() < 0.03
        w.asserted(m, schema("eventStatus"), schema("EventCancelled" if cancelled else "EventScheduled"))
        if summit:
            w.asserted(m, hos("onSidelinesOf"), summit.iri)
        if rng.random() < 0.4:
            w.asserted(m, hos("format"), iri("format", rng.choice(FORMATS)))
        if rng.random() < 0.3:
            minutes = rng.randrange(15, 240, 15)
            w.asserted(m, hos("duration"), typed(f"PT{minutes // 60}H{minutes % 60}M", "duration"))
            w.inferred(m, schema("duration"), typed(f"PT{minutes // 60}H{minutes % 60}M", "duration"))
        issues = rng.sample(self.issues, rng.randint(0, 3))
        for issue in issues:
            w.asserted(m, hos("discussedIssue"), issue.iri)
        self.sourced(m, sentences[:2], document)

        types = [hos("Meeting"), schema("Event"), PROV_ENTITY] + ([hos("SummitMeeting")] if summit else [])
        for t in types:
            w.inferred(m, RDF_TYPE, t)
        w.inferred(m, wdt("P31"), wd(WD_MEETING))
        if not month_only:
            w.inferred(m, schema("startDate"), typed(day.isoformat(), "date"))
            w.inferred(m, wdt("P585"), typed(day.isoformat(), "date"))
        for p in people:
            for prop in (schema("attendee"), wdt("P710")):
                w.inferred(m, prop, p.iri)
            w.inferred(m, wdt("P710"), p.wd)
            w.inferred(p.iri, hos("participatedIn"), m)
            w.inferred(p.iri, wdt("P1344"), m)
            w.inferred(p.wd, wdt("P1344"), m)
        for prop in (schema("location"), wdt("P276")):
            w.inferred(m, prop, city.iri)
        w.inferred(m, wdt("P276"), city.wd)
        w.inferred(m, hos("country"), country.iri)
        w.inferred(m, wdt("P17"), country.iri)
        w.inferred(m, wdt("P17"), country.wd)
        if summit:
            for prop in (hos("occasion"), hos("partOf"), IS_PART_OF, schema("superEvent"), wdt("P361")):
                w.inferred(m, prop, summit.iri)

        subjects: set[str] = set()
        for k in range(rng.choice((0, 1, 1, 2))):
            subjects |= self.outcome(m, i, k, people, sentences[-1:], document)
        for s in sorted(subjects):
            for prop in (hos("mainSubject"), hos("outcomeSubject"), wdt("P921")):
                w.inferred(m, prop, s)
        if rng.random() < 0.5:
            self.statement(m, i, rng.choice(people), sentences[-1:], document)

    def outcome(
        self, m: str, i: int, k: int, people: list[Entity], sentences: list[str], document: str
    ) -> set[str]:
        rng, w = self.rng, self.w
        o = iri("outcome", f"{i}-{k}")
        subjects = rng.sample(self.countries, rng.randint(1, 2))
        topic = " and ".join(s.name.en for s in subjects)
        w.asserted(o, RDF_TYPE, hos(rng.choice(("Agreement", "Agreement", "JointStatement"))))
        w.asserted(o, LABEL, lit(f"Agreement on {topic}", "en"))
        w.asserted(o, LABEL, lit(f"{' ও '.join(s.name.bn for s in subjects)} বিষয়ে চুক্তি", "bn"))
        w.asserted(o, hos("content"), lit(f"agreed to cooperate on {topic}", "en"))
        w.asserted(
            o, hos("content"), lit(f"{' ও '.join(s.name.bn for s in subjects)} নিয়ে সহযোগিতায় সম্মত", "bn")
        )
        for p in people:
            w.asserted(o, hos("party"), p.iri)
        for s in subjects:
            w.asserted(o, hos("subject"), s.iri)
        w.asserted(m, hos("outcome"), o)
        self.sourced(o, sentences, document)
        for t in (hos("Outcome"), PROV_ENTITY):
            w.inferred(o, RDF_TYPE, t)
        w.inferred(o, hos("outcomeOf"), m)
        w.inferred(m, wdt("P1542"), o)
        return {s.iri for s in subjects} | {s.wd for s in subjects}

    def statement(self, m: str, i: int, speaker: Entity, sentences: list[str], document: str) -> None:
        w = self.w
        s = iri("statement", f"{i}-{speaker.name.slug}")
        word = random_name(self.rng)
        w.asserted(s, RDF_TYPE, hos("Statement"))
        w.asserted(s, LABEL, lit(f"{speaker.name.en} called the meeting “{word.en.lower()}”", "en"))
        w.asserted(s, LABEL, lit(f"{speaker.name.bn} বৈঠককে “{word.bn}” বলে অভিহিত করেন", "bn"))
        w.asserted(s, hos("speaker"), speaker.iri)
        w.asserted(s, hos("about"), m)
        w.asserted(s, hos("quotation"), lit(word.en.lower(), "en"))
        w.asserted(s, hos("quotation"), lit(word.bn, "bn"))
        self.sourced(s, sentences, document)
        w.inferred(s, ATTRIBUTED, speaker.iri)
        w.inferred(s, RDF_TYPE, PROV_ENTITY)


def ontology_quads(build_quads: Path) -> Iterator[str]:
    """The ontology graph's lines of a build, unchanged, sorted (a build writes them in any order)."""
    suffix = f" {GRAPH['ontology']} .\n"
    with build_quads.open(encoding="utf-8") as f:
        yield from sorted(line for line in f if line.endswith(suffix))


def generate(out: TextIO, triples: int, seed: int = 1, ontology_from: Path | None = None) -> int:
    """Write about ``triples`` quads (a few over, never under) to ``out``; return how many."""
    writer = Writer(out)
    if ontology_from is not None:
        for line in ontology_quads(ontology_from):
            out.write(line)
            writer.count += 1
    Generator(writer, triples, seed).run()
    return writer.count


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000, help="Size to reach (default: %(default)s).")
    parser.add_argument("--seed", type=int, default=1, help="Random seed (default: %(default)s).")
    parser.add_argument(
        "--ontology-from",
        type=Path,
        default=repo / "build" / "graph.nq",
        help="Build whose ontology graph is copied (default: %(default)s).",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="N-Quads file to write.")
    args = parser.parse_args(argv)
    if not args.ontology_from.is_file():
        parser.error(f"{args.ontology_from} does not exist: run `kg build` first")
    with args.output.open("w", encoding="utf-8") as out:
        n = generate(out, args.triples, args.seed, args.ontology_from)
    print(f"wrote {n} quads to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
