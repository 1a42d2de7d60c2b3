"""The Wikidata view (kg.wikibase): Wikibase's RDF format, exact, on the project's data.

Each test checks one promise of the view, with the answer derived from the source text. The
view is computed here, in the test's process (``shown``: ontology, data, closure and view in one
pyoxigraph store), so that a change to kg.wikibase shows without a rebuild (make mutation);
tests/test_wdqs.py runs whole WDQS-style queries on the build.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest
from rdflib import Literal
from rdflib.namespace import XSD

from kg.derivations import term
from kg.iris import ID, PREFIXES, WDQS
from kg.load import load
from kg.reason import closure
from kg.wikibase import load_queries, time_value, view

WD = WDQS["wd"]
SENTENCE = ID + "source/04dab6a38e74675e-"


class _Graph:
    """Ontology, data, closure and view in one default graph, queried with the predeclared prefixes."""

    def __init__(self, *graphs) -> None:
        self.store = ox.Store()
        for g in graphs:
            self.store.extend(ox.Quad(term(s), term(p), term(o)) for s, p, o in g)

    def query(self, text: str):
        return self.store.query(text, prefixes=PREFIXES)


@pytest.fixture(scope="module")
def reasoned(settings):
    loaded = load(settings)
    return loaded, closure(loaded.ontology, loaded.data).inferred


@pytest.fixture()
def shown(reasoned):
    # The view itself per test (0.1 s), so that make mutation (mutmut) attributes kg.wikibase to every test.
    loaded, inferred = reasoned
    return _Graph(loaded.ontology, loaded.data, inferred, view(loaded.ontology, loaded.data).triples)


def _rows(shown, query: str) -> list[tuple[str, ...]]:
    result = shown.query(query)
    return [
        tuple(None if row[v.value] is None else row[v.value].value for v in result.variables)
        for row in result
    ]


def _set(shown, query: str) -> set:
    return set(_rows(shown, query))


# ---------------------------------------------------------------- time values


@pytest.mark.parametrize(
    ("value", "written", "precision"),
    [
        (Literal("2017-07-07", datatype=XSD.date), "2017-07-07T00:00:00Z", 11),
        (Literal("2018-11", datatype=XSD.gYearMonth), "2018-11-01T00:00:00Z", 10),
    ],
)
def test_a_day_and_a_month_as_wikibase_writes_them(value, written, precision):
    literal, got = time_value(value)
    assert (str(literal), literal.datatype, got) == (
        written,
        XSD.dateTime,
        precision,
    )  # "Z", as the store writes it


def test_a_point_in_time_of_another_type_is_refused_by_name():
    with pytest.raises(ValueError, match="xsd:date or an xsd:gYearMonth"):
        time_value(Literal("2018", datatype=XSD.gYear))


def test_every_property_file_has_a_title_and_a_type():
    queries = load_queries()
    properties = {k for k, q in queries.items() if q.property}
    assert properties == {
        "P31", "P17", "P276", "P361", "P39", "P580", "P582", "P585", "P710",
        "P1343", "P1344", "P1542", "P1683", "P828", "P921",
    }  # fmt: skip
    assert all(q.title.startswith("the Wikidata view, ") for q in queries.values())
    assert queries["P585"].type == queries["P580"].type == queries["P582"].type == "Time"
    assert queries["P1683"].type == "Monolingualtext"


# ---------------------------------------------------------------- 1. truthy statements


def test_no_truthy_triple_names_an_entity_by_its_project_iri_when_it_has_a_wikidata_item(shown):
    twins = "?x owl:sameAs ?item FILTER(STRSTARTS(STR(?item), STR(wd:)))"
    as_subject = f"ASK {{ {twins} ?x ?p ?o FILTER(STRSTARTS(STR(?p), STR(wdt:))) }}"
    as_value = f"ASK {{ {twins} ?s ?p ?x FILTER(STRSTARTS(STR(?p), STR(wdt:))) }}"
    assert not shown.query(as_subject)
    assert not shown.query(as_value)
    # …and they are there under the wd: IRI
    assert shown.query("ASK { wd:Q7747 wdt:P39 wd:Q218295 . meeting:2017-07-07-hamburg wdt:P710 wd:Q7747 }")


def test_an_entity_without_a_wikidata_item_keeps_its_project_iri(shown):
    assert shown.query("ASK { meeting:2017-07-07-hamburg wdt:P361 event:g20-2017-hamburg }")


def test_one_row_per_country_in_a_count_per_country(shown):
    rows = _rows(
        shown,
        "SELECT ?country (COUNT(?m) AS ?n) WHERE { ?m wdt:P710 wd:Q7747 ; wdt:P17 ?country . "
        "FILTER NOT EXISTS { ?m wdt:P361 ?whole . ?whole wdt:P710 wd:Q7747 } } GROUP BY ?country",
    )
    assert sorted(rows) == sorted((WD + q, "1") for q in ("Q183", "Q881", "Q33", "Q142", "Q414", "Q17"))


# ---------------------------------------------------------------- 2. statements and references


def test_every_truthy_triple_has_exactly_one_statement_with_the_same_value(shown):
    truthy = _set(shown, "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?p), STR(wdt:))) }")
    statements = _rows(
        shown,
        "SELECT ?s ?prop ?o WHERE { ?s ?claim ?st . "
        "?prop wikibase:claim ?claim ; wikibase:directClaim ?direct ; "
        "wikibase:statementProperty ?ps . ?st ps:P31|ps:P17|ps:P276|ps:P361|ps:P39|ps:P585|ps:P710|ps:P1343|"
        "ps:P1344|ps:P1542|ps:P1683|ps:P828|ps:P921 ?o ; ?ps ?o }",
    )
    as_truthy = [(s, prop.replace(WD, WDQS["wdt"]), o) for s, prop, o in statements]
    assert len(truthy) > 150
    assert sorted(as_truthy) == sorted(truthy)  # one statement per truthy triple, no more


def test_every_statement_has_a_rank_and_references_that_lead_to_the_source(shown):
    assert not _rows(
        shown,
        "SELECT ?st WHERE { ?st a wikibase:Statement FILTER NOT EXISTS { ?st prov:wasDerivedFrom ?r } }",
    )
    assert not _rows(
        shown,
        "SELECT ?st WHERE { ?st a wikibase:Statement "
        "FILTER NOT EXISTS { ?st wikibase:rank wikibase:NormalRank } }",
    )
    # a sentence reference: the document, the sentence and its Bengali text, as data/source.ttl has it
    wrong = _rows(
        shown,
        "SELECT ?ref WHERE { ?ref pr:P854 ?sentence . "
        "FILTER NOT EXISTS { ?ref pr:P248 ?doc ; pr:P1683 ?text . "
        "?sentence hos:inDocument ?doc ; hos:text ?text } }",
    )
    assert wrong == []


def test_which_sentence_says_that_putin_and_trump_met_in_helsinki(shown):
    rows = _rows(
        shown,
        "SELECT DISTINCT ?sentence ?text WHERE { ?m p:P276/ps:P276 wd:Q1757 ; p:P710 ?st . "
        "?st ps:P710 wd:Q7747 . ?st2 ^p:P710 ?m ; ps:P710 wd:Q22686 . "
        "?st prov:wasDerivedFrom ?ref . ?st2 prov:wasDerivedFrom ?ref . "
        "?ref pr:P854 ?sentence ; pr:P1683 ?text }",
    )
    assert rows == [(SENTENCE + "p3-s1", "তৃতীয়বারের রাষ্ট্রপতিদের সাথে দেখা হয়েছে জুলাই 16, 2018 হেলসিঙ্কিতে।")]


def test_a_chain_has_the_references_of_both_links(shown):
    # Hamburg's country: the city from sentence 1.1, its country from Wikidata
    refs = _set(
        shown,
        "SELECT ?source WHERE { meeting:2017-07-07-hamburg p:P17 ?st . ?st ps:P17 wd:Q183 ; "
        "prov:wasDerivedFrom/pr:P248 ?source }",
    )
    assert refs == {(ID + "source/04dab6a38e74675e",), (ID + "source/wikidata",)}


def test_a_qualifier_where_the_source_gives_one(shown):
    assert _rows(
        shown, "SELECT ?n WHERE { meeting:2017-11-10-da-nang p:P31 [ ps:P31 wd:Q2761147 ; pq:P1114 ?n ] }"
    ) == [("3",)]


def test_properties_are_entities_as_wikibase_describes_them(shown):
    assert shown.query(
        'ASK { wd:P710 a wikibase:Property ; rdfs:label "participant"@en ; wikibase:directClaim wdt:P710 ; '
        "wikibase:claim p:P710 ; wikibase:statementProperty ps:P710 ; wikibase:qualifier pq:P710 ; "
        "wikibase:reference pr:P710 ; wikibase:propertyType wikibase:WikibaseItem }"
    )
    assert shown.query(
        "ASK { wd:P585 wikibase:propertyType wikibase:Time . wd:P854 wikibase:propertyType wikibase:Url }"
    )


# ---------------------------------------------------------------- 3. time values


def test_a_month_only_date_has_month_precision_and_counts_in_its_year(shown):
    rows = _rows(
        shown,
        "SELECT ?t ?precision WHERE { meeting:2018-11-buenos-aires-dinner wdt:P585 ?t ; "
        "p:P585/psv:P585 [ wikibase:timeValue ?t ; wikibase:timePrecision ?precision ; "
        "wikibase:timeTimezone 0 ] }",
    )
    assert rows == [("2018-11-01T00:00:00Z", "10")]
    assert _rows(
        shown, "SELECT ?p WHERE { meeting:2018-07-16-helsinki p:P585/psv:P585/wikibase:timePrecision ?p }"
    ) == [("11",)]
    per_year = _rows(
        shown,
        "SELECT ?y (COUNT(?m) AS ?n) WHERE { ?m wdt:P31 wd:Q2761147 ; wdt:P585 ?d BIND(YEAR(?d) AS ?y) } "
        "GROUP BY ?y ORDER BY ?y",
    )
    assert per_year == [("2017", "2"), ("2018", "3"), ("2019", "1")]


# ---------------------------------------------------------------- 4. what happened, what was planned


def test_the_cancelled_meeting_is_not_in_the_wikidata_view(shown):
    for where in ("meeting:2018-11-buenos-aires ?p ?o", "?s ?p meeting:2018-11-buenos-aires"):
        rows = _rows(
            shown, f'SELECT ?p WHERE {{ {where} FILTER(STRSTARTS(STR(?p), "http://www.wikidata.org/")) }}'
        )
        assert rows == []
    # its plan and status stay queryable in the project's vocabulary
    assert shown.query(
        "ASK { meeting:2018-11-buenos-aires hos:plannedParticipant person:vladimir-putin ; "
        "sdo:eventStatus sdo:EventCancelled ; hos:cancellation ?c }"
    )


def test_sessions_are_parts_of_their_meeting_and_encounters_are_six(shown):
    parts = _set(
        shown, "SELECT ?s WHERE { ?s wdt:P361 meeting:2018-07-16-helsinki ; wdt:P710 wd:Q7747 , wd:Q22686 }"
    )
    assert parts == {
        (ID + "meeting/2018-07-16-helsinki-one-on-one",),
        (ID + "meeting/2018-07-16-helsinki-expanded",),
    }
    encounters = _set(
        shown,
        "SELECT ?m WHERE { ?m wdt:P710 wd:Q7747 , wd:Q22686 "
        "MINUS { ?m wdt:P361 ?whole . ?whole wdt:P710 wd:Q7747 , wd:Q22686 } }",
    )
    names = ("2017-07-07-hamburg", "2017-11-10-da-nang", "2018-07-16-helsinki", "2018-11-11-paris",
             "2018-11-buenos-aires-dinner", "2019-06-28-osaka")  # fmt: skip
    assert encounters == {(ID + "meeting/" + n,) for n in names}
    assert _set(shown, "SELECT ?m WHERE { ?m wdt:P31 wd:Q2761147 }") == encounters


# ---------------------------------------------------------------- 5. one set of topics


def test_main_subjects_are_the_discussed_issues_subjects_for_every_meeting(shown):
    discussed = _set(
        shown,
        "SELECT ?m ?shown WHERE { ?m hos:discussedIssue/hos:subject ?x . "
        "OPTIONAL { ?x owl:sameAs ?item FILTER(STRSTARTS(STR(?item), STR(wd:))) } "
        "BIND(COALESCE(?item, ?x) AS ?shown) }",
    )
    assert _set(shown, "SELECT ?m ?x WHERE { ?m wdt:P921 ?x }") == discussed
    assert (
        ID + "meeting/2017-07-07-hamburg",
        WD + "Q858",
    ) not in discussed  # an agreement's subject is not a topic


# ---------------------------------------------------------------- explanations


def test_a_view_triple_is_explained_by_its_query_file_and_the_asserted_facts(app):
    derivations = app.extensions["kg_derivations"]
    wd, wdt = WDQS["wd"], WDQS["wdt"]
    key = (f"<{ID}meeting/2018-07-16-helsinki>", f"<{wdt}P710>", f"<{wd}Q7747>")
    step = derivations.step(key)
    assert step is not None and step.rule == "wikibase-P710"
    assert (f"<{ID}meeting/2018-07-16-helsinki>", f"<{ID.replace('id/', 'ontology#')}participant>",
            f"<{ID}person/vladimir-putin>") in step.premises  # fmt: skip
    assert (
        f"<{ID}person/vladimir-putin>",
        "<http://www.w3.org/2002/07/owl#sameAs>",
        f"<{wd}Q7747>",
    ) in step.premises


def test_every_wikidata_id_in_the_view_is_a_verified_one(shown):
    from tests.test_data import _verified

    verified, _ = _verified()
    iris = _rows(
        shown,
        "SELECT DISTINCT ?x WHERE { { ?x ?p ?o } UNION { ?s ?x ?o } UNION { ?s ?p ?x } "
        'FILTER(ISIRI(?x) && STRSTARTS(STR(?x), "http://www.wikidata.org/")) }',
    )
    ids = {re.search(r"/([PQ]\d+)$", iri).group(1) for (iri,) in iris}  # type: ignore[union-attr]
    assert {"Q7747", "P710", "P248", "P854", "P1114"} <= ids
    assert ids <= verified, sorted(ids - verified)


def test_described_by_source_cites_the_sentence_the_resource_comes_from(shown):
    rows = _set(
        shown,
        "SELECT ?sentence WHERE { wd:Q1757 p:P1343 ?st . ?st prov:wasDerivedFrom/pr:P854 ?sentence }",
    )
    assert rows == {(SENTENCE + "p3-s1",)}  # Helsinki: named in 3.1 only; not "stated in Wikidata"
    assert not _rows(shown, "SELECT ?n WHERE { ?n a hos:EditorialNote ; wdt:P1343 ?d }")


def test_each_view_triple_has_the_derivation_that_explains_it(reasoned):
    from rdflib import URIRef
    from rdflib.namespace import OWL

    from kg.namespaces import HOS, WDT
    from kg.namespaces import WD as WDNS

    loaded, _ = reasoned
    out = view(loaded.ontology, loaded.data)
    assert set(out.triples) == set(out.derivations)  # every triple, and only those
    helsinki, putin = URIRef(ID + "meeting/2018-07-16-helsinki"), URIRef(ID + "person/vladimir-putin")
    step = out.derivations[(helsinki, WDT.P710, WDNS.Q7747)]
    assert step.rule == "wikibase-P710"
    assert step.premises == ((helsinki, HOS.participant, putin), (putin, OWL.sameAs, WDNS.Q7747))
    hamburg, city, germany = (
        URIRef(ID + x) for x in ("meeting/2017-07-07-hamburg", "place/hamburg", "place/germany")
    )
    step = out.derivations[(hamburg, WDT.P17, WDNS.Q183)]
    assert step.rule == "wikibase-P17"  # a chain: both links, then the value's Wikidata link
    assert step.premises == (
        (hamburg, HOS.location, city),
        (city, HOS.inCountry, germany),
        (germany, OWL.sameAs, WDNS.Q183),
    )
    assert (
        out.queries["wikibase-P17"].property == "P17" and "hos:inCountry" in out.queries["wikibase-P17"].text
    )


def test_statement_reference_and_value_nodes_are_project_iris_named_as_documented(shown):
    (st,) = _rows(shown, "SELECT ?st WHERE { meeting:2018-07-16-helsinki p:P710 ?st . ?st ps:P710 wd:Q7747 }")
    assert re.fullmatch(re.escape(ID) + r"claim/meeting-2018-07-16-helsinki-P710-[0-9a-f]{10}", st[0])
    (st,) = _rows(shown, "SELECT ?st WHERE { wd:Q7747 p:P39 ?st }")
    assert re.fullmatch(re.escape(ID) + r"claim/Q7747-P39-[0-9a-f]{10}", st[0])
    refs = _set(shown, "SELECT ?ref WHERE { meeting:2018-07-16-helsinki p:P17/prov:wasDerivedFrom ?ref }")
    assert refs == {(ID + "reference/04dab6a38e74675e-p3-s1",), (ID + "reference/wikidata",)}
    (tv,) = _rows(shown, "SELECT ?v WHERE { meeting:2018-07-16-helsinki p:P585/psv:P585 ?v }")
    assert re.fullmatch(re.escape(ID) + r"value/[0-9a-f]{16}", tv[0])


def test_a_quotation_keeps_its_language(shown):
    rows = _set(
        shown, "SELECT ?q WHERE { statement:2017-07-07-trump-amazing wdt:P1683 ?q FILTER(LANG(?q) = 'bn') }"
    )
    assert rows == {("আশ্চর্যজনক",)}
    assert (
        _rows(
            shown, "SELECT ?q WHERE { statement:2017-07-07-trump-amazing wdt:P1683 ?q FILTER(LANG(?q) = '') }"
        )
        == []
    )


def test_every_view_triple_names_the_query_that_made_it(reasoned):
    from rdflib import URIRef
    from rdflib.namespace import OWL, RDFS

    from kg.namespaces import HOS, WDT
    from kg.namespaces import WD as WDNS

    loaded, _ = reasoned
    out = view(loaded.ontology, loaded.data)
    claim_of = {
        st: str(p).rsplit("/", 1)[1] for s, p, st in out.triples if str(p).startswith(WDQS["p"] + "P")
    }
    for (s, p, o), step in out.derivations.items():
        if s in claim_of:  # a statement's own triples: ps:, psv:, pq:, its rank, its references
            assert step.rule == f"wikibase-{claim_of[s]}", (s, p, o, step.rule)
        elif str(p).startswith((WDQS["wdt"] + "P", WDQS["p"] + "P")):  # truthy, and item p:Pn statement
            assert step.rule == "wikibase-" + str(p).rsplit("/", 1)[1], (s, p, o, step.rule)
        elif str(s).startswith(WDQS["wd"] + "P"):
            assert step.rule == "wikibase-_properties" and step.premises[0][1] == RDFS.label
        elif p == URIRef(WDQS["schema"] + "description"):
            assert step.rule == "wikibase-_descriptions"
        else:  # a time value's or a reference's own triples: made for some statement
            assert step.rule.startswith("wikibase-P"), (s, p, o, step.rule)
    meeting, putin = URIRef(ID + "meeting/2017-07-07-hamburg"), URIRef(ID + "person/vladimir-putin")
    step = out.derivations[(WDNS.Q7747, WDT.P1344, meeting)]  # read backwards: the premise is the meeting's
    assert step.premises == ((meeting, HOS.participant, putin), (putin, OWL.sameAs, WDNS.Q7747))


def test_items_have_their_descriptions_and_nothing_else_does(shown):
    (comment,) = _rows(
        shown,
        "SELECT ?c WHERE { meeting:2017-07-07-hamburg rdfs:comment ?c ; schema:description ?c "
        "FILTER(LANG(?c) = 'en') }",
    )
    assert comment[0].startswith("The first official meeting")
    assert not shown.query("ASK { source:wikidata schema:description ?d }")  # a reference work, not an item
    assert not shown.query("ASK { meeting:2018-11-buenos-aires schema:description ?d }")  # not in the view


def test_every_encounter_has_its_place_date_and_country(shown):
    rows = _set(
        shown,
        "SELECT ?m WHERE { ?m wdt:P31 wd:Q2761147 ; wdt:P276 ?place ; wdt:P585 ?date ; wdt:P17 ?country ; "
        "wdt:P361 ?whole }",
    )
    assert len(rows) == 5  # all six but Helsinki, which was held at no summit or occasion
