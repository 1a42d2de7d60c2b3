"""The front at the scale of the Office of the Historian's records: timeline (filters, zoom), decade
chart, search, person and country pages, the world map and its assets (kg.web.events, timeline,
explore, worldmap, front).

A small build: the seed text and a sample of records written to the model of issue 15 (hos:Visit,
hos:PresidentialTrip…), with markup in a person's, a country's, a visit's and a kind of visit's
label: each page must show it as text.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import xml.etree.ElementTree as ET

import pytest
from markupsafe import escape

from kg.config import REPO_ROOT, Settings
from kg.errors import BadRequest
from kg.pipeline import build
from kg.sources import Source
from kg.web import close_app, create_app, timeline, worldmap
from kg.web.events import parse_date

PERSON = 'Geo<i>rge</i> & "Papandreou"'
COUNTRY = 'Atlan<i>tis</i> & "Hellas"'
VISIT = 'Vis<i>it</i> & "of George"'
KIND = 'sta<i>te</i> & "visit"'
HOSTILE = [PERSON, COUNTRY, VISIT, KIND]


def _en(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"@en'


SAMPLE = f"""
@prefix hos: <https://w3id.org/hos-kg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix id: <https://w3id.org/hos-kg/id/> .
@prefix person: <https://w3id.org/hos-kg/id/person/> .
@prefix place: <https://w3id.org/hos-kg/id/place/> .
@prefix wd: <http://www.wikidata.org/entity/> .

place:greece a hos:Country ; rdfs:label "Greece"@en ; owl:sameAs wd:Q41 .
place:atlantis a hos:Country ; rdfs:label {_en(COUNTRY)} .
place:soviet-union a hos:Country ; rdfs:label "Soviet Union"@en ; owl:sameAs wd:Q15180 .
place:singapore a hos:Country ; rdfs:label "Singapore"@en ; owl:sameAs wd:Q334 .
place:athens a hos:City ; rdfs:label "Athens"@en ; hos:inCountry place:greece .
person:hsg-greece-george-papandreou a hos:Person ; rdfs:label {_en(PERSON)} .
person:hsg-soviet-union-nikita-khrushchev a hos:Person ; rdfs:label "Nikita Khrushchev"@en .
person:eisenhower-dwight-d a hos:HeadOfState ; rdfs:label "Dwight D. Eisenhower"@en .
<https://w3id.org/hos-kg/id/visit-kind/sample-kind> a hos:VisitKind ; rdfs:label {_en(KIND)} .

<https://w3id.org/hos-kg/id/visit/2076> a hos:Visit ; rdfs:label {_en(VISIT)} ;
    hos:startDate "2010-03-08"^^xsd:date ; hos:endDate "2010-03-09"^^xsd:date ;
    hos:country place:united-states ; hos:visitorCountry place:greece , place:atlantis ;
    hos:participant person:hsg-greece-george-papandreou ;
    hos:visitKind <https://w3id.org/hos-kg/id/visit-kind/sample-kind> .
<https://w3id.org/hos-kg/id/visit/1000> a hos:Visit ; rdfs:label "Visit of Nikita Khrushchev"@en ;
    hos:startDate "1959-09-15"^^xsd:date ; hos:endDate "1959-09-27"^^xsd:date ;
    hos:country place:united-states ; hos:visitorCountry place:soviet-union ;
    hos:participant person:hsg-soviet-union-nikita-khrushchev .
<https://w3id.org/hos-kg/id/visit/1001> a hos:Visit ; rdfs:label "Visit without a date"@en ;
    hos:visitorCountry place:singapore .
<https://w3id.org/hos-kg/id/trip/500> a hos:PresidentialTrip ; rdfs:label "Trip of Eisenhower to Greece"@en ;
    hos:startDate "1959-12-14"^^xsd:date ; hos:endDate "1959-12-15"^^xsd:date ;
    hos:country place:greece ; hos:location place:athens ; hos:participant person:eisenhower-dwight-d .
"""
# Enough visits in 1961 for a crowded lane (bars, not one mark each).
SAMPLE += "".join(
    f"""<https://w3id.org/hos-kg/id/visit/{9000 + i}> a hos:Visit ; rdfs:label "Visit number {i}"@en ;
    hos:startDate "1961-{1 + i % 12:02d}-{1 + i % 28:02d}"^^xsd:date ; hos:visitorCountry place:singapore ;
    hos:participant person:hsg-soviet-union-nikita-khrushchev .
"""
    for i in range(timeline.DETAIL + 5)
)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("hsg-sample")
    (root / "sample.ttl").write_text(SAMPLE, encoding="utf-8")
    settings = Settings(
        build_dir=root / "build",
        sources=(Source.seed(REPO_ROOT / "data"), Source("sample", (root / "sample.ttl",))),
        validate=False,  # a sample of the model, not the project's data: the pages are tested here
        query_workers=0,
    )
    build(settings)
    app = create_app(dataclasses.replace(settings, query_workers=0))
    yield app.test_client()
    close_app(app)


def get(client, path: str) -> str:
    response = client.get(path, headers={"Accept": "text/html", "Accept-Language": "en"})
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:2000])
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- the timeline


def test_the_home_page_has_a_lane_per_source_and_the_decade_chart(client):
    page = get(client, "/")
    for lane in (
        "Meetings in the source text: 7",
        "Visits to the United States: 47",
        "trips abroad: 1",
    ):
        assert lane in page
    assert 'class="chart-svg"' in page and 'href="?from=1950-01-01&amp;to=1959-12-31#timeline"' in page
    assert "1 records without a date" in page
    # 45 visits in 1961: bars (a period each, linked to its zoom), not one mark per visit
    assert 'class="bar"' in page and "Visit number 3<" not in page


def test_the_timeline_zooms_down_to_a_day(client):
    page = get(client, "/?from=2010-03-08&to=2010-03-08")
    assert 'href="/id/visit/2076"' in page and str(escape(VISIT)) in page
    assert "2010-03-08 – 2010-03-08" in page
    # the links that move the window keep the day's length: three days when zoomed out
    assert 'href="?from=2010-03-07&amp;to=2010-03-09#timeline"' in page


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        (
            "source=trips",
            ["Trip of Eisenhower"],
            ["Visits to the United States:", "Meetings in the source text:"],
        ),
        (
            "country=greece",
            ["Trip of Eisenhower", "/id/visit/2076"],
            ["Visit of Nikita", "Meetings in the source text:"],
        ),
        ("person=khrush", ["Visits to the United States: 46"], ["Trip of Eisenhower", "/id/visit/2076"]),
        ("person=hsg-greece-george-papandreou", ["/id/visit/2076"], ["Visit of Nikita"]),
        ("kind=sample-kind", ["/id/visit/2076"], ["Visit of Nikita", "Trip of"]),
        ("kind=meeting", ["Meetings in the source text: 7"], ["Visits to the United States:"]),
        ("person=putin", ["Meetings in the source text: 6"], ["Visits to the United States:"]),
        ("country=germany", ["Meetings in the source text: 1"], ["Visits to the United States:"]),
    ],
)
def test_the_timeline_filters(client, query, present, absent):
    page = get(client, "/?" + query)
    for text in present:
        assert text in page, text
    for text in absent:
        assert text not in page, text


def test_a_bad_date_is_a_400_naming_it(client):
    response = client.get("/?from=1961-13", headers={"Accept": "text/html"})
    assert response.status_code == 400 and "1961-13" in response.get_data(as_text=True)
    assert client.get("/?source=nowhere", headers={"Accept": "text/html"}).status_code == 400


def test_dates_of_a_year_a_month_or_a_day():
    assert parse_date("1961", last=False) == datetime.date(1961, 1, 1)
    assert parse_date("1961", last=True) == datetime.date(1961, 12, 31)
    assert parse_date("2024-02", last=True) == datetime.date(2024, 2, 29)
    assert parse_date("2024-12", last=True) == datetime.date(2024, 12, 31)
    assert parse_date(" 1961-05-31 ", last=False) == datetime.date(1961, 5, 31)
    for bad in ("61", "1961-5-32", "yesterday", "1961-00"):
        with pytest.raises(BadRequest):
            parse_date(bad, last=False)


@pytest.mark.parametrize(
    ("first", "last", "length"),
    [
        (datetime.date(1874, 1, 1), datetime.date(2024, 12, 31), 365),  # 150 years: one bar a year
        (datetime.date(1960, 1, 1), datetime.date(1969, 12, 31), 28),  # a decade: quarters
        (datetime.date(1961, 1, 1), datetime.date(1961, 12, 31), 7),  # a year: weeks
        (datetime.date(1961, 5, 1), datetime.date(1961, 5, 3), 1),  # days
    ],
)
def test_periods_are_the_finest_calendar_unit_that_fits(first, last, length):
    bins = timeline.periods(first, last)
    assert len(bins) <= timeline.MAX_BINS
    assert bins[0][0] <= first and bins[-1][1] >= last
    assert all(a <= b and b + timeline.DAY == c for (a, b), (c, _) in itertools.pairwise(bins))
    assert min((b - a).days + 1 for a, b in bins) >= length
    assert max((b - a).days + 1 for a, b in bins) <= length + 3  # months and years vary
    assert 2 <= len(timeline.ticks(first, last)) <= timeline.MAX_TICKS


# ---------------------------------------------------------------- search, people, countries


def test_search_finds_people_countries_and_places_without_script(client):
    page = get(client, "/search?q=papand")
    assert 'href="/person/hsg-greece-george-papandreou"' in page
    page = get(client, "/search?q=GREE")  # case ignored
    assert 'href="/country/greece"' in page
    page = get(client, "/search?q=athen")
    assert 'href="/id/place/athens"' in page
    assert "Nothing found" in get(client, "/search?q=zzzqqq")
    assert "at least two characters" in get(client, "/search?q=a")
    assert 'action="/search"' in get(client, "/")  # the form on the home page


def test_a_person_page_lists_their_events_in_time(client):
    page = get(client, "/person/hsg-soviet-union-nikita-khrushchev")
    assert "Events (46)" in page and 'href="/id/person/hsg-soviet-union-nikita-khrushchev"' in page
    assert page.index("1959-09-15") < page.index("1961-01-01")
    assert "Visits to the United States: 46" in page  # its timeline, filtered to them
    assert 'href="/country/soviet-union"' in page
    assert "Events (6)" in get(client, "/person/vladimir-putin")  # one of the 7 names no participant
    assert client.get("/person/nobody", headers={"Accept": "text/html"}).status_code == 404


def test_a_country_page_has_its_leaders_visits_and_the_presidents_trips(client):
    page = get(client, "/country/greece")
    assert (
        "Its leaders&#39; visits to the United States (1)" in page
        or "visits to the United States (1)" in page
    )
    assert "trips there (1)" in page and "Trip of Eisenhower to Greece" in page
    assert 'href="http://www.wikidata.org/entity/Q41"' in page
    assert client.get("/country/athens", headers={"Accept": "text/html"}).status_code == 404  # a city


# ---------------------------------------------------------------- the map


def test_every_name_difference_names_a_feature_of_the_installed_map():
    features = worldmap.features()
    assert features is not None, "world-atlas is missing: run `make install`"
    assert len(features) > 150
    for ours, theirs in worldmap.NAME_DIFFERENCES.items():
        assert theirs in features, theirs
        assert ours not in features, f"{ours!r} matches as it is: no need for a difference"
    assert features["United States of America"].id == "840"


def test_the_project_countries_are_matched_or_listed():
    """Every verified country of the records' table is on the map by its label or listed beside it."""
    table = REPO_ROOT / "data" / "sources" / "hsg" / "countries-wikidata.tsv"
    if not table.is_file():
        pytest.skip("the records' country table is not in data/sources/hsg/")
    rows = [line.split("\t") for line in table.read_text(encoding="utf-8").splitlines()[1:]]
    labels = {f"place/{i}": row[3] for i, row in enumerate(rows) if row[2]}
    matched, missing = worldmap.match(labels)
    assert set(matched) | set(missing) == set(labels)
    names = {labels[iri] for iri in matched}
    assert {"Germany", "People's Republic of China", "Czech Republic", "Ivory Coast"} <= names
    assert {"Soviet Union", "Singapore", "Vatican City"} <= {labels[iri] for iri in missing}


def test_the_map_page_lists_countries_off_the_map(client):
    page = get(client, "/map")
    aside = page[page.index("<aside") : page.index("</aside>")]
    assert 'href="/country/soviet-union"' in aside and 'href="/country/singapore"' in aside
    assert "/country/greece" not in aside
    data = json.loads(page.split('id="map-data">', 1)[1].split("</script>", 1)[0])
    assert data["features"]["Greece"]["total"] == 2  # the leader's visit and the president's trip
    assert data["features"]["Greece"]["countries"][0]["href"] == "/country/greece"
    for src in ("/vendor/d3-geo/dist/d3-geo.min.js", "/vendor/topojson-client/dist/topojson-client.min.js"):
        assert f'src="{src}"' in page
    assert 'data-atlas="/vendor/world-atlas/countries-110m.json"' in page
    assert "http://" not in page.replace("http://www.wikidata.org", "").replace("http://localhost", "")


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/world-atlas/countries-110m.json",
        "/vendor/d3-geo/dist/d3-geo.min.js",
        "/vendor/d3-array/dist/d3-array.min.js",
        "/vendor/topojson-client/dist/topojson-client.min.js",
        "/vendor/codemirror/lib/codemirror.js",
        "/static/worldmap.js",
    ],
)
def test_front_end_assets_are_served_from_npm_packages(client, path):
    with client.get(path) as response:
        assert response.status_code == 200 and len(response.data) > 1000


@pytest.mark.parametrize(
    "path", ["/vendor/d3-geo/package.json", "/vendor/world-atlas/land-10m.json", "/vendor/x/y.js"]
)
def test_only_listed_assets_are_served(client, path):
    assert client.get(path).status_code == 404


# ---------------------------------------------------------------- escaping and languages

PAGES = [
    ("/", [COUNTRY, KIND]),
    ("/?person=hsg-greece-george-papandreou", [PERSON]),
    ("/?from=2010-03-08&to=2010-03-09", [VISIT]),
    ("/search?q=papand", [PERSON]),
    ("/search?q=hellas", [COUNTRY]),
    ("/person/hsg-greece-george-papandreou", [PERSON, VISIT, COUNTRY, KIND]),
    ("/country/atlantis", [COUNTRY, VISIT]),
    ("/map", [COUNTRY]),
]


@pytest.mark.parametrize(("path", "literals"), PAGES, ids=[p for p, _ in PAGES])
def test_markup_in_labels_is_escaped(client, path, literals):
    page = get(client, path)
    assert "<i>" not in page and "</i>" not in page, "a label became markup"
    for literal in literals:
        assert (
            str(escape(literal)) in page
            or json.dumps(literal)[1:-1]
            .replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("'", "\\u0027")
            in page
        ), literal


def test_the_svg_timeline_at_a_day_escapes_and_parses_as_xml(client):
    svg = client.get("/timeline.svg?from=2010-03-08&to=2010-03-08").get_data(as_text=True)
    root = ET.fromstring(svg)
    assert VISIT in {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}


@pytest.mark.parametrize(("lang", "word"), [("bn", "মার্কিন যুক্তরাষ্ট্র সফর"), ("ru", "Визиты в США")])
def test_the_pages_speak_the_sites_languages(client, lang, word):
    for path in ("/", "/map", "/country/greece"):
        assert word in get(client, f"{path}?lang={lang}"), path
