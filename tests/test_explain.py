"""GET /explain through the app: HTML and JSON, 400s and 404s in the format asked for, escaping,
and the entity pages' links to it. Served from a copy of the session's build with hand-made
derivations (tests/test_proofs.py); the Wikidata view's triples from the session's build itself,
whose derivations kg.wikibase records."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
from urllib.parse import urlencode

import pytest
from markupsafe import escape

from kg import proofs
from kg.config import Settings
from kg.pipeline import build
from kg.serve import foreign
from kg.store import KnowledgeGraph
from kg.web import close_app, create_app
from kg.wikibase import load_queries as view_queries
from tests.test_proofs import (
    ATTENDEE,
    COUNTRY,
    ECHO,
    NASTY,
    PARTICIPANT,
    PARTICIPATED,
    RULES,
    START_DATE,
    copy_build,
    hand_build,
)

__all__ = ["hand_build"]  # the fixture, shared with test_proofs.py

ID = "https://w3id.org/hos-kg/id/"
HOS = "https://w3id.org/hos-kg/ontology#"
SDO = "https://schema.org/"
WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
WIKIBASE = "http://wikiba.se/ontology#"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _app(settings, build):
    app = create_app(
        dataclasses.replace(settings, build_dir=build.folder, query_workers=0), kg=KnowledgeGraph.open(build)
    )
    return app


@pytest.fixture(scope="module")
def explaining(settings, hand_build):
    app = _app(settings, hand_build)
    yield app.test_client()
    close_app(app)


@pytest.fixture(scope="module")
def unexplained(settings, built, tmp_path_factory):
    """A build without derivations, as owlrl makes it."""
    app = _app(settings, copy_build(settings.build, tmp_path_factory.mktemp("owlrl") / "build"))
    yield app.test_client()
    close_app(app)


def url(s: str, p: str, o: str, **more: str) -> str:
    return "/explain?" + urlencode({"s": s, "p": p, "o": o, **more})


def n3(triple) -> tuple[str, str, str]:
    return tuple(t.n3() for t in triple)  # type: ignore[return-value]


def bare(triple) -> tuple[str, str, str]:
    """A triple's terms as /explain takes them: IRIs bare, literals in N-Triples syntax."""
    return tuple(t.n3()[1:-1] if t.n3().startswith("<") else t.n3() for t in triple)  # type: ignore[return-value]


# Two steps from the data: onSidelinesOf ⊑ occasion ⊑ sdo:superEvent (the hand-made derivations).
SUPER_EVENT_URL = url(ID + "meeting/2017-07-07-hamburg", SDO + "superEvent", ID + "event/g20-2017-hamburg")
ATTENDEE_URL = url(*bare(ATTENDEE))


def test_a_browser_gets_the_proof_as_a_page_down_to_the_source_sentence(explaining):
    response = explaining.get(SUPER_EVENT_URL, headers={"Accept": BROWSER})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert page.count('<em>inferred</em> by rule <a href="#rule-prp-spo1">') == 2  # two steps
    assert 'id="rule-prp-spo1"' in page and "prp-inv1" not in page
    assert escape(RULES["prp-spo1"].title) in page
    assert "hos:occasion" in page and "hos:onSidelinesOf" in page  # the step between, and the data
    assert '<p lang="bn">ভ্লাদিমির পুতিন এবং মার্কিন' in page  # sentence 1.1, in Bengali
    assert "The first official meeting between Vladimir Putin" in page  # and its English reading
    assert 'href="/id/source/04dab6a38e74675e-p1-s1"' in page
    assert 'href="/id/event/g20-2017-hamburg"' in page and "asserted in the ontology" in page
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "<script" not in page and " style=" not in page


@pytest.mark.parametrize("how", [{"format": "json"}, {"Accept": "application/json"}])
def test_a_program_gets_the_proof_as_json(explaining, how):
    headers = {"Accept": how["Accept"]} if "Accept" in how else {}
    suffix = "&format=json" if "format" in how else ""
    response = explaining.get(SUPER_EVENT_URL + suffix, headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    proof = response.json["proof"]
    assert proof["status"] == "inferred" and proof["rule"]["id"] == "prp-spo1" and proof["kept"] is True
    assert proof["triple"]["p"] == {"type": "uri", "value": SDO + "superEvent"}
    assert proof["triple"]["ntriples"].endswith("<https://w3id.org/hos-kg/id/event/g20-2017-hamburg> .")
    step = proof["premises"][0]
    assert step["status"] == "inferred" and step["rule"]["id"] == "prp-spo1"
    assert step["triple"]["p"] == {"type": "uri", "value": HOS + "occasion"}
    leaf = step["premises"][0]
    assert leaf["status"] == "asserted" and leaf["graph"] == "asserted"
    assert leaf["triple"]["p"] == {"type": "uri", "value": HOS + "onSidelinesOf"}
    assert leaf["sources"][0]["kind"] == "sentence" and leaf["sources"][0]["bn"] and leaf["sources"][0]["en"]
    assert response.json["rules"] == {
        "prp-spo1": {"title": RULES["prp-spo1"].title, "text": RULES["prp-spo1"].text}
    }
    inverse = explaining.get(url(*bare(PARTICIPATED)) + suffix, headers=headers)
    assert inverse.status_code == 200 and inverse.json["proof"]["rule"]["id"] == "prp-inv1"
    assert inverse.json["rules"] == {
        "prp-inv1": {
            "title": "an inverse property holds backwards",  # without the id the title repeats
            "text": RULES["prp-inv1"].text,
        }
    }


@pytest.mark.parametrize(
    "o",
    [
        '"2017-07-07"^^<http://www.w3.org/2001/XMLSchema#date>',
        '  "2017-07-07"^^<http://www.w3.org/2001/XMLSchema#date>  ',
        '"2017-07-07"^^xsd:date',
    ],
)
def test_a_literal_object_in_n_triples_syntax(explaining, o):
    response = explaining.get(url(ID + "meeting/2017-07-07-hamburg", SDO + "startDate", o, format="json"))
    if "xsd:" in o:  # N-Triples has no prefixes: a prefixed datatype is not N-Triples
        assert response.status_code == 400 and "'o'" in response.json["error"]
        return
    assert response.status_code == 200, response.json
    assert response.json["proof"]["triple"]["p"] == {"type": "uri", "value": SDO + "startDate"}
    assert response.json["proof"]["triple"]["o"] == {
        "type": "literal",
        "value": "2017-07-07",
        "datatype": "http://www.w3.org/2001/XMLSchema#date",
    }


def test_prefixed_names_and_bracketed_iris_are_accepted(explaining):
    response = explaining.get(
        url("meeting:2017-07-07-hamburg", "<" + SDO + "superEvent>", "event:g20-2017-hamburg", format="json")
    )
    assert response.status_code == 200
    assert response.json["proof"]["triple"]["ntriples"] == (
        f"<{ID}meeting/2017-07-07-hamburg> <{SDO}superEvent> <{ID}event/g20-2017-hamburg> ."
    )


@pytest.mark.parametrize(
    ("triple", "words"),
    [
        (n3(PARTICIPANT), "is asserted, not inferred: it is in the asserted data"),
        (
            (
                f"<{HOS}participant>",
                "<http://www.w3.org/2000/01/rdf-schema#subPropertyOf>",
                f"<{SDO}attendee>",
            ),
            "is asserted, not inferred: it is in the ontology",
        ),
        (
            (f"<{ID}meeting/2017-07-07-hamburg>", f"<{SDO}attendee>", f"<{ID}place/germany>"),
            "is not in the graph",
        ),
        ((f"<{ID}nowhere>", f"<{HOS}participant>", '"x"@en'), "is not in the graph"),
    ],
)
def test_a_triple_that_is_not_inferred_is_a_404_saying_why_in_the_format_asked(explaining, triple, words):
    as_json = explaining.get(url(*triple), headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.mimetype == "application/json"
    assert words in as_json.json["error"] and as_json.json["status"] == 404
    page = explaining.get(url(*triple), headers={"Accept": BROWSER})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert escape(words) in page.get_data(as_text=True)


def test_a_build_without_derivations_says_so(unexplained):
    inferred = url(*bare(ATTENDEE), format="json")
    response = unexplained.get(inferred)
    assert response.status_code == 404
    assert "this build records no derivations (it was reasoned with owlrl" in response.json["error"]
    asserted = unexplained.get(url(*n3(PARTICIPANT), format="json"))
    assert asserted.status_code == 404 and "is asserted, not inferred" in asserted.json["error"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"p": HOS + "participant", "o": ID + "x"}, "parameter 's' is required"),
        ({"s": ID + "x", "o": ID + "x"}, "parameter 'p' is required"),
        ({"s": ID + "x", "p": HOS + "participant"}, "parameter 'o' is required"),
        ({"s": "", "p": HOS + "participant", "o": ID + "x"}, "parameter 's' is required"),
        ({"s": "not an IRI", "p": HOS + "participant", "o": ID + "x"}, "parameter 's'"),
        (
            {"s": '"a literal"', "p": HOS + "participant", "o": ID + "x"},
            "parameter 's' must be an IRI, not a literal",
        ),
        ({"s": ID + "x", "p": "_:b", "o": ID + "x"}, "parameter 'p' must be an IRI, not a blank node"),
        ({"s": ID + "x", "p": HOS + "participant", "o": '"unterminated'}, "parameter 'o'"),
        (
            {"s": ID + "x", "p": HOS + "participant", "o": f"<{ID}a> . <{ID}b> <{ID}c> <{ID}d>"},
            "parameter 'o'",
        ),
    ],
)
def test_a_missing_or_bad_parameter_is_a_400_naming_it(explaining, params, words):
    as_json = explaining.get("/explain?" + urlencode({**params, "format": "json"}))
    assert as_json.status_code == 400 and words in as_json.json["error"]
    page = explaining.get("/explain?" + urlencode(params), headers={"Accept": BROWSER})
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert escape(words) in page.get_data(as_text=True)


def test_a_repeated_parameter_is_a_400(explaining):
    response = explaining.get(SUPER_EVENT_URL + "&s=" + ID + "y&format=json")
    assert response.status_code == 400 and "'s' is given 2 times" in response.json["error"]


def test_an_unknown_format_is_a_406(explaining):
    response = explaining.get(SUPER_EVENT_URL + "&format=xml")
    assert response.status_code == 406 and "html, json" in response.json["error"]


def test_a_literal_with_markup_is_escaped_on_the_page(explaining):
    response = explaining.get(url(*n3(ECHO)), headers={"Accept": BROWSER})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "<b>" not in page and str(NASTY) not in page
    assert escape(str(NASTY)) in page  # &lt;script&gt;alert(&#34;x&#34;)… &amp; …
    assert "&lt;b&gt;" in page and "&amp;" in page and "&#34;quoted&#34;" in page
    assert escape(RULES["test-echo"].title) in page  # rule titles are escaped too
    not_found = explaining.get(url(ID + "x", HOS + "y", NASTY.n3()), headers={"Accept": BROWSER})
    assert not_found.status_code == 404 and "<script>" not in not_found.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "s=%00&p=%FF&o=%",
        's=<&p=>&o="',
        's=_:&p=hos:&o="x"@',
        's=http://a&p=http://b&o="x"^^<',
        "s=http://a&p=http://b&o=" + "(" * 5000,
        's=http://a&p=http://b&o="' + "x" * 50_000 + '"',
        # An RDF 1.2 triple term parses as one N-Triples term: still not a term /explain takes.
        "s=http://a&p=http://b&o=%3C%3C(%20%3Chttp://a%3E%20%3Chttp://b%3E%20%3Chttp://c%3E%20)%3E%3E",
        "s=%3C%3C(%20%3Chttp://a%3E%20%3Chttp://b%3E%20%3Chttp://c%3E%20)%3E%3E&p=http://b&o=http://c",
    ],
)
def test_odd_input_is_never_a_500(explaining, query):
    for accept in ("application/json", BROWSER):
        response = explaining.get("/explain?" + query, headers={"Accept": accept})
        assert response.status_code in (400, 404), (query, response.status_code)


def test_entity_pages_link_inferred_values_to_their_explanation(explaining):
    page = explaining.get("/id/meeting/2017-07-07-hamburg", headers={"Accept": BROWSER}).get_data(
        as_text=True
    )
    links = [html.unescape(h) for h in re.findall(r'href="(/explain\?[^"]*)"', page)]
    assert len(links) > 10
    expected = url(
        ID + "meeting/2017-07-07-hamburg",
        SDO + "startDate",
        '"2017-07-07"^^<http://www.w3.org/2001/XMLSchema#date>',
    )
    assert expected in links  # a literal as N-Triples, URL-encoded
    assert explaining.get(expected).status_code == 200
    statuses = {explaining.get(link, headers={"Accept": "application/json"}).status_code for link in links}
    assert statuses <= {200, 404}  # 404: inferred, but not among the hand-made derivations
    incoming = explaining.get("/id/person/vladimir-putin", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert escape(ATTENDEE_URL) in incoming  # a fact about another entity, with this one as its value
    country = url(*(t.n3()[1:-1] for t in COUNTRY))
    place = explaining.get("/id/place/hamburg", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert escape(country) in place


def test_entity_pages_have_no_explain_links_without_derivations(unexplained):
    page = unexplained.get("/id/meeting/2017-07-07-hamburg", headers={"Accept": BROWSER}).get_data(
        as_text=True
    )
    assert "<em>inferred</em>" in page and "/explain?" not in page


def test_the_proof_page_for_a_date_shows_the_typed_literal(explaining):
    page = explaining.get(url(*(t.n3() for t in START_DATE))).get_data(as_text=True)
    assert "2017-07-07" in page and "xsd:date" in page


SENTENCE_1_1 = "/id/source/04dab6a38e74675e-p1-s1"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
XSD = "http://www.w3.org/2001/XMLSchema#"


def test_a_wikidata_view_triple_is_explained_by_its_query_down_to_the_asserted_facts(client, kg):
    """The session's own build (the reasoner records derivations, kg.wikibase its view's): a truthy
    claim and a time value node are derived by a view query (``wikibase-P…``) from asserted facts,
    whose sources are the sentences that say them; Putin is his wd: IRI there (owl:sameAs)."""
    ((node, time),) = [
        (row["v"], row["t"])
        for row in kg.query(
            "SELECT ?v ?t WHERE { meeting:2017-07-07-hamburg p:P585/psv:P585 ?v . ?v wikibase:timeValue ?t }"
        )
    ]
    assert str(time) == f'"2017-07-07T00:00:00Z"^^<{XSD}dateTime>'
    hamburg, putin = f"<{ID}meeting/2017-07-07-hamburg>", f"<{ID}person/vladimir-putin>"
    cases = [
        (
            (WD + "Q7747", WDT + "P1344", ID + "meeting/2017-07-07-hamburg"),
            "P1344",
            {(hamburg, f"<{HOS}participant>", putin), (putin, f"<{OWL_SAME_AS}>", f"<{WD}Q7747>")},
            [">wd:Q7747</a>", ">wdt:P1344</a>", ">hos:participant</a>", ">owl:sameAs</a>"],
        ),
        (
            (node.value, WIKIBASE + "timeValue", str(time)),
            "P585",
            {(hamburg, f"<{HOS}date>", f'"2017-07-07"^^<{XSD}date>')},
            [
                f'href="/id/value/{node.value.rsplit("/", 1)[1]}"',
                "<span>2017-07-07T00:00:00Z</span> <small>xsd:dateTime</small>",
                ">hos:date</a>",
                "<span>2017-07-07</span> <small>xsd:date</small>",
            ],
        ),
    ]
    for (s, p, o), prop, premises, shown in cases:
        rule, query = f"wikibase-{prop}", view_queries()[prop]
        response = client.get(url(s, p, o, format="json"))
        assert response.status_code == 200, response.json
        proof = response.json["proof"]
        assert proof["status"] == "inferred" and proof["kept"] is True
        assert proof["rule"] == {"id": rule, "title": query.title}
        assert proof["triple"]["s"]["value"] == s and proof["triple"]["p"]["value"] == p
        assert response.json["rules"] == {rule: {"title": query.title, "text": query.text}}
        found = {
            tuple(premise["triple"]["ntriples"][: -len(" .")].split(" ", 2)) for premise in proof["premises"]
        }
        assert found == premises
        for premise in proof["premises"]:
            assert premise["status"] == "asserted" and premise["graph"] == "asserted"
            sentence = premise["sources"][0]
            assert sentence["kind"] == "sentence" and sentence["where"] == "1.1"
            assert sentence["bn"].startswith("ভ্লাদিমির পুতিন") and "first official meeting" in sentence["en"]

        page = client.get(url(s, p, o), headers={"Accept": BROWSER})
        assert page.status_code == 200 and page.mimetype == "text/html"
        text = page.get_data(as_text=True)
        assert f'<em>inferred</em> by rule <a href="#rule-{rule}"><code>{rule}</code></a>' in text
        assert f'id="rule-{rule}"' in text and escape(query.title) in text
        assert text.count("asserted in the asserted data") == len(premises)
        assert '<p lang="bn">ভ্লাদিমির পুতিন এবং মার্কিন' in text and f'href="{SENTENCE_1_1}"' in text
        assert "The first official meeting between Vladimir Putin" in text
        assert [snippet for snippet in shown if snippet not in text] == []


def nodes(proof: dict) -> int:
    """The nodes of a proof that were followed (a "truncated" stub was not)."""
    return (proof["status"] != "truncated") + sum(nodes(p) for p in proof.get("premises", []))


def test_a_long_proof_is_a_bounded_cost_and_its_links_are_asserted(tmp_path):
    """A 300-link transitive chain: the proof stops at MAX_NODES and looks up the sources of at
    most MAX_LOOKUPS resources (each a query through the shared query processes); one GET once
    ran 302 queries and answered 300 KB."""
    lines = ["@prefix ex: <http://ex.org/> .", "@prefix owl: <http://www.w3.org/2002/07/owl#> ."]
    lines += ["ex:t a owl:TransitiveProperty ."] + [f"ex:a{i} ex:t ex:a{i + 1} ." for i in range(300)]
    (tmp_path / "chain.ttl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = dataclasses.replace(
        foreign(Settings(), [tmp_path / "chain.ttl"], tmp_path / "build", validate=False, reason=True),
        query_workers=0,
    )
    build(settings)
    app = create_app(settings)
    try:
        triple = {"s": "http://ex.org/a0", "p": "http://ex.org/t", "o": "http://ex.org/a299"}
        response = app.test_client().get("/explain", query_string={**triple, "format": "json"})
        assert response.status_code == 200
        assert nodes(response.json["proof"]) <= proofs.MAX_NODES
        assert response.json["sources_truncated"] is True
        assert len(response.get_data()) < 100_000
        # A link of the chain is asserted in the files' default graph, not "not in the graph".
        link = {**triple, "o": "http://ex.org/a1", "format": "json"}
        asserted = app.test_client().get("/explain", query_string=link)
        assert asserted.status_code == 404
        assert "is asserted, not inferred: it is in the default graph" in asserted.json["error"]
    finally:
        close_app(app)
        shutil.rmtree(settings.build_dir, ignore_errors=True)


def test_a_rebuild_while_serving_does_not_change_the_proofs_served(data_copy):
    """The store is the one opened at start; so are the derivations (a rebuild with owlrl deletes
    the file: proofs then said "no derivations" of the data still being served)."""
    build(data_copy)
    app = create_app(dataclasses.replace(data_copy, query_workers=0))
    try:
        before = app.test_client().get(SUPER_EVENT_URL + "&format=json")
        assert before.status_code == 200 and before.json["proof"]["rule"]["id"] == "prp-spo1"
        build(dataclasses.replace(data_copy, reasoner="owlrl"))
        assert not data_copy.build.derivations.exists()
        after = app.test_client().get(SUPER_EVENT_URL + "&format=json")
        assert after.status_code == 200 and after.json == before.json
    finally:
        close_app(app)
