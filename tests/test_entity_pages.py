"""Entity pages like Wikidata's item pages: one row per property with all its values, the
property's compact IRI beside its label, each asserted value with the source sentences it comes
from, the Wikidata view in a section of its own, owl:sameAs as a Wikidata ID."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from kg.web.i18n import LANGS
from tests.test_browser import base, page  # noqa: F401  (the live fixtures, shared; browser is in conftest)

ID = "https://w3id.org/hos-kg/id/"
HELSINKI = "/id/meeting/2018-07-16-helsinki"
PUTIN = "/id/person/vladimir-putin"
HELSINKI_3_1 = "তৃতীয়বারের রাষ্ট্রপতিদের সাথে দেখা হয়েছে জুলাই 16, 2018 হেলসিঙ্কিতে।"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class Value:
    text: str = ""
    linked: bool = False
    typed: bool = False
    inferred: bool = False
    references: int = 0
    reference_text: str = ""


@dataclass
class Row:
    property: str = ""
    values: list[Value] = field(default_factory=list)


class Statements(HTMLParser):
    """The statement tables of an entity page, by section (facts, wikidata, incoming)."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[Row]] = {}
        self.section: str | None = None
        self.row: Row | None = None
        self.value: Value | None = None
        self.where: str | None = None  # "property", "value" or "reference"
        self.depth = 0  # of <li> inside a value

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-section" in a:
            self.section = a["data-section"]
            self.sections.setdefault(self.section, [])
        elif self.section is None:
            return
        elif tag == "tr" and tag and self.row is None:
            self.row = Row()
        elif tag == "th" and a.get("class") == "property":
            self.where = "property"
        elif tag == "li" and "value" in (a.get("class") or "").split():
            self.value = Value(inferred="inferred" in a["class"].split())
            self.where = "value"
        elif self.value is not None and tag == "details":
            self.where = "reference"
        elif self.value is not None and tag == "blockquote":
            self.value.references += 1
        elif self.value is not None and self.where == "value" and tag == "a":
            self.value.linked = True
        elif self.value is not None and self.where == "value" and "datatype" in (a.get("class") or ""):
            self.value.typed = True

    def handle_endtag(self, tag):
        if self.section is None:
            return
        if tag == "th" and self.where == "property":
            self.where = None
        elif tag == "li" and self.value is not None:
            self.row.values.append(self.value)
            self.value, self.where = None, None
        elif tag == "tr" and self.row is not None:
            if self.row.property:
                self.sections[self.section].append(self.row)
            self.row = None
        elif tag == "table":
            self.section = None

    def handle_data(self, data):
        if self.where == "property" and self.row is not None:
            self.row.property += data
        elif self.where == "value" and self.value is not None:
            self.value.text += data
        elif self.where == "reference" and self.value is not None:
            self.value.reference_text += data


def statements(html: str) -> dict[str, list[Row]]:
    parser = Statements()
    parser.feed(html)
    for rows in parser.sections.values():
        for row in rows:
            row.property = " ".join(row.property.split())
            for v in row.values:
                v.text = " ".join(v.text.split())
    return parser.sections


def html_of(client, path: str, lang: str = "en") -> str:
    response = client.get(path, query_string={"lang": lang}, headers={"Accept": BROWSER})
    assert response.status_code == 200 and response.mimetype == "text/html", path
    return response.get_data(as_text=True)


def check_page(html: str, path: str) -> dict[str, list[Row]]:
    """What every entity page must be: no repeated row, every value linked or typed."""
    sections = statements(html)
    assert "anonymous class expression" not in html, path
    for name, rows in sections.items():
        properties = [r.property for r in rows]
        assert len(properties) == len(set(properties)), (path, name, properties)
        for row in rows:
            texts = [v.text for v in row.values]
            assert texts and len(texts) == len(set(texts)), (path, name, row.property, texts)
            for v in row.values:
                assert v.linked or v.typed, (path, name, row.property, v.text)
    return sections


def by_property(rows: list[Row]) -> dict[str, Row]:
    return {r.property: r for r in rows}


@pytest.mark.parametrize("lang", LANGS)
def test_helsinki_meeting_page_has_one_row_per_property(client, lang):
    html = html_of(client, HELSINKI, lang)
    sections = check_page(html, HELSINKI)
    main = by_property(sections["facts"])
    assert all(not r.property.split(" · ")[-1].startswith(("wdt:", "p:", "ps:")) for r in sections["facts"])
    participants = [r for p, r in main.items() if p.endswith("· hos:participant")]
    assert len(participants) == 1 and len(participants[0].values) == 2
    countries = [r for p, r in main.items() if p.endswith("hos:country")]
    assert len(countries) == 1 and len(countries[0].values) == 1 and countries[0].values[0].inferred
    assert "/explain?" in html  # inferred values keep their "why?"
    # The Wikidata view, folded into its own section: wdt: rows, no statement nodes.
    wikidata = sections["wikidata"]
    assert any(r.property.endswith("· wdt:P17") for r in wikidata)
    assert any(r.property.endswith("· wdt:P710") and len(r.values) == 2 for r in wikidata)
    assert not any(r.property.split(" · ")[-1].startswith(("p:", "ps:", "psv:")) for r in wikidata)
    assert "In Wikidata&#39;s vocabulary" in html or "In Wikidata's vocabulary" in html
    # References: the fact's own sentence (data/references.ttl), in place, Bengali and English.
    (location,) = [r for p, r in main.items() if p.endswith("hos:location")]
    assert location.values[0].references == 1 and HELSINKI_3_1 in location.values[0].reference_text
    sourced = [r for r in sections["facts"] if not r.property.endswith("prov:wasDerivedFrom")]
    asserted = [v for r in sourced for v in r.values if not v.inferred]
    assert asserted and all(v.references for v in asserted)
    assert '<p lang="en">' in html.split('class="references"', 1)[1]


@pytest.mark.parametrize("lang", LANGS)
def test_putin_page_shows_same_as_as_a_wikidata_id(client, lang):
    html = html_of(client, PUTIN, lang)
    sections = check_page(html, PUTIN)
    main = by_property(sections["facts"])
    (same_as,) = [r for p, r in main.items() if p.endswith("owl:sameAs")]
    assert [v.text for v in same_as.values] == ["Q7747"]
    assert '<a href="https://www.wikidata.org/wiki/Q7747">Q7747</a>' in html
    participated = [r for p, r in main.items() if p.endswith("hos:participatedIn")]
    assert len(participated) == 1 and len(participated[0].values) == 8
    # Putin is wd:Q7747 in the Wikidata view: his twin's wdt: triples are in the section.
    assert any(r.property.endswith("· wdt:P1344") and len(r.values) == 8 for r in sections["wikidata"])
    assert all(not r.property.split(" · ")[-1].startswith("wdt:") for r in sections.get("incoming", []))
    (office,) = [r for p, r in main.items() if p.endswith("hos:holdsOffice")]
    assert office.values[0].references and "পুতিন" in office.values[0].reference_text


def _most_described(kg, n: int = 30) -> list[str]:
    rows = kg.query(
        f'SELECT ?s (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{ID}")) }} '
        f"GROUP BY ?s ORDER BY DESC(?n) ?s LIMIT {n}"
    )
    return ["/id/" + r["s"].value[len(ID) :] for r in rows]


def _has_sources(kg, path: str) -> bool:
    iri = ID + path[len("/id/") :]
    return bool(
        kg.query(
            f"ASK {{ {{ <{iri}> prov:wasDerivedFrom ?s }} UNION "
            f"{{ ?f rdf:subject <{iri}> ; prov:wasDerivedFrom ?s }} }}"
        )
    )


def test_the_30_most_described_entities(client, kg):
    paths = _most_described(kg)
    assert len(paths) == 30
    for path in paths:
        for lang in LANGS:
            sections = check_page(html_of(client, path, lang), path)
            assert sections.get("facts"), path
            if not _has_sources(kg, path):
                continue
            for row in sections["facts"]:
                if row.property.endswith("prov:wasDerivedFrom"):
                    continue  # the sources themselves
                for v in row.values:
                    assert v.inferred or v.references, (path, lang, row.property, v.text)


@pytest.mark.live
def test_five_of_the_most_described_in_chromium(kg, request):
    tab, url = request.getfixturevalue("page"), request.getfixturevalue("base")  # tests/test_browser.py's
    for path in _most_described(kg, 5):
        tab.goto(url + path + "?lang=bn")
        html = tab.content()
        sections = check_page(html, path)
        assert sections.get("facts"), path
        details = tab.locator("table[data-section=facts] details.references")
        if details.count():
            details.first.locator("summary").click()
            assert details.first.locator('blockquote p[lang="bn"]').first.is_visible(), path
