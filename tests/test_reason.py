"""Step 3: the OWL 2 RL closure, kept in its own graph and complete."""

from __future__ import annotations

import owlrl
import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.load import load
from kg.namespaces import HOS, ID, WD, WDT
from kg.reason import closure, full_closure, keep


@pytest.fixture(scope="module")
def loaded(settings):
    return load(settings)


@pytest.fixture(scope="module")
def inferred(loaded) -> Graph:
    return closure(loaded.ontology, loaded.data)


def test_reasoning_leaves_the_asserted_graphs_untouched(loaded):
    before = (len(loaded.ontology), len(loaded.data))
    closure(loaded.ontology, loaded.data)
    assert (len(loaded.ontology), len(loaded.data)) == before


def test_inferred_graph_holds_only_new_triples(loaded, inferred):
    assert len(inferred) > 1000
    assert not any(t in loaded.data or t in loaded.ontology for t in inferred)


def test_closure_into_a_named_graph_is_not_smaller(loaded, inferred):
    """owlrl#76: expand(..., destination=named graph) inferred fewer triples.

    We reason in place on a scratch copy instead; this checks that everything
    owlrl's destination mode derives is in our inferred graph (so ours is at
    least as complete) and that our graph is strictly larger here.
    """
    ds = Dataset()
    source = ds.graph(URIRef("urn:test:source"))
    for t in loaded.ontology:
        source.add(t)
    for t in loaded.data:
        source.add(t)
    destination = ds.graph(URIRef("urn:test:inferred"))
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(source, destination=destination)
    via_destination = {
        t for t in destination if keep(*t) and t not in loaded.data and t not in loaded.ontology
    }
    assert via_destination <= set(inferred)
    assert len(inferred) > len(via_destination)


def test_in_place_closure_matches_ours_before_filtering(loaded, inferred):
    full = full_closure(loaded.ontology, loaded.data)
    assert set(inferred) == {t for t in full if keep(*t)} - set(loaded.data) - set(loaded.ontology)


def test_no_literal_subjects_or_reflexive_sameas(inferred):
    assert not [t for t in inferred if isinstance(t[0], Literal)]
    assert not [t for t in inferred if t[1] == OWL.sameAs and t[0] == t[2]]


def test_wikidata_iris_carry_only_the_wikidata_view(inferred):
    allowed = {OWL.sameAs, RDFS.label, SKOS.altLabel}
    on_wikidata = [
        (s, p, o) for s, p, o in inferred if str(s).startswith(str(WD)) or str(o).startswith(str(WD))
    ]
    assert on_wikidata
    assert not [t for t in on_wikidata if t[1] not in allowed and not str(t[1]).startswith(str(WDT))]


M = ID["meeting/2017-07-07-hamburg"]


@pytest.mark.parametrize(
    ("triple", "why"),
    [
        ((M, HOS.country, ID["place/germany"]), "property chain location ∘ inCountry"),
        ((M, WDT.P17, WD.Q183), "subPropertyOf wdt:P17 + owl:sameAs"),
        ((M, WDT.P276, WD.Q1055), "hos:location ⊑ wdt:P276"),
        ((M, WDT.P710, WD.Q7747), "hos:participant ⊑ wdt:P710"),
        (
            (M, WDT.P585, Literal("2017-07-07", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))),
            "hos:date ⊑ wdt:P585",
        ),
        ((M, WDT.P361, ID["event/g20-2017-hamburg"]), "onSidelinesOf ⊑ occasion ⊑ partOf ⊑ wdt:P361"),
        ((ID["event/g20-2017-hamburg"], WDT.P361, WD.Q19771), "editionOf ⊑ partOf ⊑ wdt:P361"),
        ((M, RDF.type, HOS.SummitMeeting), "someValuesFrom in subclass position"),
        ((M, WDT.P31, WD.Q2761147), "hasValue restriction on hos:Meeting"),
        ((M, WDT.P921, WD.Q858), "chain outcome ∘ subject ⊑ mainSubject ⊑ wdt:P921"),
        ((ID["meeting/2018-07-16-helsinki"], WDT.P921, WD.Q212), "chain discussedIssue ∘ subject"),
        ((ID["person/vladimir-putin"], HOS.participatedIn, M), "inverse of hos:participant"),
        ((WD.Q7747, WDT.P39, WD.Q218295), "holdsOffice ⊑ wdt:P39 on Wikidata IRIs"),
        ((WD.Q1055, WDT.P131, WD.Q183), "inCountry ⊑ locatedIn ⊑ wdt:P131"),
        ((M, WDT.P1343, ID["source/04dab6a38e74675e"]), "chain wasDerivedFrom ∘ inDocument ⊑ wdt:P1343"),
        (
            (ID["meeting/2018-11-buenos-aires"], HOS.cancellation, ID["event/2018-11-29-cancellation"]),
            "inverse",
        ),
    ],
)
def test_entailment(inferred, loaded, triple, why):
    assert triple in inferred and triple not in loaded.data, why


def test_no_wikidata_view_for_month_only_dates(inferred):
    assert (ID["meeting/2018-11-buenos-aires-dinner"], WDT.P585, None) not in inferred


def test_project_vocabulary_has_no_wikidata_duplicates(inferred):
    assert (M, HOS.participant, WD.Q7747) not in inferred
    assert (WD.Q7747, RDF.type, HOS.Person) not in inferred


# ---------------------------------------------------------------- what the filter must keep


@pytest.mark.parametrize(
    "triple",
    [
        (WD.Q7747, RDFS.label, Literal("Vladimir Putin", lang="en")),
        (WD.Q7747, RDFS.label, Literal("Владимир Путин", lang="ru")),
        (WD.Q218295, SKOS.altLabel, Literal("President of the Russian Federation", lang="en")),
        (WD.Q159, SKOS.altLabel, Literal("Russian Federation", lang="en")),
        (WD.Q7747, OWL.sameAs, ID["person/vladimir-putin"]),
        (WD.Q7747, WDT.P39, WD.Q218295),
    ],
)
def test_the_wikidata_view_keeps_labels_alternative_labels_and_sameas(inferred, triple):
    assert triple in inferred


@pytest.mark.parametrize(
    ("triple", "kept"),
    [
        ((WD.Q1, RDFS.label, Literal("x", lang="en")), True),
        ((WD.Q1, SKOS.altLabel, Literal("x", lang="en")), True),
        ((WD.Q1, OWL.sameAs, ID["x"]), True),
        ((ID["x"], OWL.sameAs, WD.Q1), True),
        ((WD.Q1, WDT.P31, WD.Q5), True),
        ((ID["x"], WDT.P710, WD.Q1), True),
        ((WD.Q1, RDF.type, HOS.Person), False),
        ((ID["m"], HOS.participant, WD.Q1), False),
        ((WD.Q1, RDFS.comment, Literal("x")), False),
        ((ID["x"], OWL.sameAs, ID["x"]), False),
        ((WD.Q1, OWL.sameAs, WD.Q1), False),
        ((ID["x"], OWL.sameAs, ID["y"]), True),
        ((Literal("2017-07-07"), RDF.type, RDFS.Literal), False),
        ((Literal("x"), OWL.sameAs, Literal("x")), False),
        ((ID["x"], HOS.participant, ID["y"]), True),
        ((ID["x"], RDFS.label, Literal("x")), True),
        # A literal that spells a Wikidata IRI is not a Wikidata IRI.
        ((ID["x"], RDFS.seeAlso, Literal(str(WD.Q1))), True),
        ((URIRef("http://www.wikidata.org/wiki/Q1"), RDF.type, HOS.Person), True),
    ],
)
def test_keep(triple, kept):
    assert keep(*triple) is kept


def test_the_closure_filters_as_keep_says_on_a_small_graph():
    """closure() itself, on a few triples (fast): literal subjects, reflexive sameAs and the
    project's vocabulary on Wikidata IRIs go; the Wikidata view and everything else stays."""
    ontology = Graph()
    ontology.add((HOS.participant, RDFS.subPropertyOf, WDT.P710))
    ontology.add((HOS.participant, RDF.type, OWL.ObjectProperty))
    data = Graph()
    person, meeting = ID["person/p"], ID["meeting/m"]
    data.add((meeting, HOS.participant, person))
    data.add((person, OWL.sameAs, WD.Q1))
    data.add((person, RDFS.label, Literal("P", lang="en")))
    data.add((person, SKOS.altLabel, Literal("Q", lang="en")))
    data.add(
        (meeting, HOS.date, Literal("2017-07-07", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date")))
    )
    inferred = closure(ontology, data)
    assert (WD.Q1, RDFS.label, Literal("P", lang="en")) in inferred
    assert (WD.Q1, SKOS.altLabel, Literal("Q", lang="en")) in inferred
    assert (WD.Q1, OWL.sameAs, person) in inferred
    assert (meeting, WDT.P710, WD.Q1) in inferred and (meeting, WDT.P710, person) in inferred
    assert (meeting, HOS.participant, WD.Q1) not in inferred
    assert not [t for t in inferred if isinstance(t[0], Literal)]
    assert not [t for t in inferred if t[1] == OWL.sameAs and t[0] == t[2]]
    assert not set(inferred) & (set(data) | set(ontology))
    full = full_closure(ontology, data)
    assert set(inferred) == {t for t in full if keep(*t)} - set(data) - set(ontology)
