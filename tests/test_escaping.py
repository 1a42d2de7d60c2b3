"""Literals with <, & and " are escaped on every HTML page that shows data (and in the SVG timeline).

A copy of the data gets English labels holding markup: a place, a meeting, a
class of the ontology and the source document. Each page that shows one must
show it as text: escaped, never as an element.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import escape

from tests.support import altered_seed

PLACE = 'Ham<i>burg</i> & "place"'
MEETING = 'Meet<i>ing</i> & "meeting"'
CLASS = 'ci<i>ty</i> & "class"'
DOCUMENT = 'Sou<i>rce</i> & "document"'


def _en(text: str) -> str:
    """The literal in Turtle, in English."""
    return '"' + text.replace('"', '\\"') + '"@en'


REPLACE = {  # file: (English label as written, the label with markup)
    "data/entities.ttl": ('"Hamburg"@en', _en(PLACE)),
    "data/meetings.ttl": ('"Putin–Trump meeting in Hamburg, 7 July 2017"@en', _en(MEETING)),
    "ontology/kg.ttl": ('rdfs:label "city"@en', "rdfs:label " + _en(CLASS)),
    "data/source.ttl": (
        '"Source text 04dab6a38e74675e: meetings of Vladimir Putin and Donald Trump, 2017–2019"@en',
        _en(DOCUMENT),
    ),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with altered_seed(tmp_path_factory.mktemp("markup"), REPLACE) as test_client:
        yield test_client


PAGES = [
    ("/", [PLACE, MEETING, CLASS, DOCUMENT]),
    ("/id/place/hamburg", [PLACE]),
    ("/id/meeting/2017-07-07-hamburg", [MEETING, PLACE]),
    ("/ontology", [CLASS]),
    ("/ontology/City", [CLASS]),
    ("/queries/search-labels?text=ham%3Ci%3Eburg", [PLACE]),
    ("/queries/timeline", [MEETING, PLACE]),
    ("/sparql?format=html&query=SELECT+%3Fl+WHERE+%7B+place%3Ahamburg+rdfs%3Alabel+%3Fl+%7D", [PLACE]),
    ("/api/queries/search-labels.html?text=burg", [PLACE]),
    # The proof of Wikidata's copy of the label shows the label it was copied from.
    (
        "/explain?s=wd:Q1055&p=rdfs:label&o=%22Ham%3Ci%3Eburg%3C%2Fi%3E%20%26%20%5C%22place%5C%22%22%40en",
        [PLACE],
    ),
]


@pytest.mark.parametrize(("path", "literals"), PAGES, ids=[p for p, _ in PAGES])
def test_markup_in_literals_is_escaped_on_every_page(client, path, literals):
    response = client.get(path, headers={"Accept": "text/html", "Accept-Language": "en"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<i>" not in page and "</i>" not in page, "a literal became markup"
    for literal in literals:
        assert str(escape(literal)) in page, f"{literal!r} is not shown escaped"


def test_the_svg_timeline_escapes_and_parses_as_xml(client):
    response = client.get("/timeline.svg", headers={"Accept-Language": "en"})
    svg = response.get_data(as_text=True)
    assert response.mimetype == "image/svg+xml" and "<i>" not in svg
    assert str(escape(MEETING)) in svg
    root = ET.fromstring(svg)  # an unescaped & or < would not parse
    texts = {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert MEETING in texts
