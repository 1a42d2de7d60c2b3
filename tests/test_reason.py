"""Step 3: the OWL 2 RL closure, kept in its own graph and complete."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import owlrl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Dataset, Graph, Literal, Namespace, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from kg.config import REPO_ROOT
from kg.errors import DataError
from kg.load import load
from kg.namespaces import HOS, ID, WD, WDT
from kg.reason import RULES, Derivation, Inference, Rule, Triple, closure, full_closure, keep
from kg.rules import RL, load_axioms


@pytest.fixture(scope="module")
def loaded(settings):
    return load(settings)


@pytest.fixture(scope="module")
def inferred(loaded) -> Graph:
    return closure(loaded.ontology, loaded.data).inferred


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
    assert not [t for t in on_wikidata if t[1] not in allowed]


M = ID["meeting/2017-07-07-hamburg"]


@pytest.mark.parametrize(
    ("triple", "why"),
    [
        ((M, HOS.country, ID["place/germany"]), "property chain location ∘ inCountry"),
        ((M, HOS.occasion, ID["event/g20-2017-hamburg"]), "onSidelinesOf ⊑ occasion"),
        ((M, HOS.partOf, ID["event/g20-2017-hamburg"]), "onSidelinesOf ⊑ occasion ⊑ partOf"),
        ((ID["event/g20-2017-hamburg"], HOS.partOf, ID["event/g20"]), "editionOf ⊑ partOf"),
        ((M, RDF.type, HOS.SummitMeeting), "someValuesFrom in subclass position"),
        (
            (ID["meeting/2018-07-16-helsinki"], HOS.mainSubject, ID["place/ukraine"]),
            "chain discussedIssue ∘ subject",
        ),
        ((ID["person/vladimir-putin"], HOS.participatedIn, M), "inverse of hos:participant"),
        ((ID["place/hamburg"], HOS.locatedIn, ID["place/germany"]), "inCountry ⊑ locatedIn"),
        ((M, HOS.describedBySource, ID["source/04dab6a38e74675e"]), "chain wasDerivedFrom ∘ inDocument"),
        (
            (ID["meeting/2018-11-buenos-aires"], HOS.cancellation, ID["event/2018-11-29-cancellation"]),
            "inverse",
        ),
    ],
)
def test_entailment(inferred, loaded, triple, why):
    assert triple in inferred and triple not in loaded.data, why


def test_reasoning_makes_no_triple_in_wikidatas_vocabulary(inferred):
    # wdt:, p:, ps: … are the Wikidata view's (kg.wikibase), built after reasoning
    assert not [t for t in inferred if str(t[1]).startswith("http://www.wikidata.org/")]


def test_an_agreements_subject_is_not_a_main_subject(inferred):
    # Hamburg agreed on a ceasefire in Syria; the source does not say Syria was discussed there
    assert (M, HOS.mainSubject, ID["place/syria"]) not in inferred
    assert (M, HOS.mainSubject, None) not in inferred


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
    ],
)
def test_the_wikidata_view_keeps_labels_alternative_labels_and_sameas(inferred, triple):
    assert triple in inferred


KEEP_CASES = [
    ((WD.Q1, RDFS.label, Literal("x", lang="en")), True),
    ((WD.Q1, SKOS.altLabel, Literal("x", lang="en")), True),
    ((WD.Q1, OWL.sameAs, ID["x"]), True),
    ((ID["x"], OWL.sameAs, WD.Q1), True),
    ((WD.Q1, WDT.P31, WD.Q5), False),
    ((ID["x"], WDT.P710, WD.Q1), False),
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
]


@pytest.mark.parametrize(("triple", "kept"), KEEP_CASES)
def test_keep(triple, kept):
    assert keep(*triple) is kept


def test_the_closure_filters_as_keep_says_on_a_small_graph():
    """closure() itself, on a few triples (fast): literal subjects, reflexive sameAs and the
    project's vocabulary on Wikidata IRIs go; labels and links on them, and everything else, stay."""
    ontology = Graph()
    ontology.add((HOS.participant, RDFS.subPropertyOf, WDT.P710))  # a foreign ontology may say so
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
    inferred = closure(ontology, data).inferred
    assert (WD.Q1, RDFS.label, Literal("P", lang="en")) in inferred
    assert (WD.Q1, SKOS.altLabel, Literal("Q", lang="en")) in inferred
    assert (WD.Q1, OWL.sameAs, person) in inferred
    assert (meeting, WDT.P710, person) in inferred and (meeting, WDT.P710, WD.Q1) not in inferred
    assert (meeting, HOS.participant, WD.Q1) not in inferred
    assert not [t for t in inferred if isinstance(t[0], Literal)]
    assert not [t for t in inferred if t[1] == OWL.sameAs and t[0] == t[2]]
    assert not set(inferred) & (set(data) | set(ontology))
    full = full_closure(ontology, data)
    assert set(inferred) == {t for t in full if keep(*t)} - set(data) - set(ontology)


# ---------------------------------------------------------------- the rules engine against owlrl
#
# owlrl is the oracle: the rules engine's inferred graph must be owlrl's, triple for triple,
# after keep(). A difference is printed as the triples each side has and the other lacks.

EX = Namespace("http://example.org/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")


def owlrl_inferred(ontology: Graph, data: Graph) -> Graph:
    return closure(ontology, data, reasoner="owlrl").inferred


def difference(rules: Graph, oracle: Graph, limit: int = 40) -> str:
    ours, theirs = set(rules), set(oracle)
    lines = [f"rules engine: {len(ours)} triples, owlrl: {len(theirs)} triples"]
    for title, extra in (("only the rules engine has", ours - theirs), ("only owlrl has", theirs - ours)):
        lines.append(f"{title} ({len(extra)}):")
        lines += [f"  {s.n3()} {p.n3()} {o.n3()}" for s, p, o in sorted(extra)[:limit]]
    return "\n".join(lines)


def assert_same_as_owlrl(ontology: Graph, data: Graph) -> Inference:
    inference = closure(ontology, data)
    oracle = owlrl_inferred(ontology, data)
    assert set(inference.inferred) == set(oracle), difference(inference.inferred, oracle)
    return inference


def test_rules_engine_gives_owlrls_closure_of_the_project(loaded):
    assert_same_as_owlrl(loaded.ontology, loaded.data)


def _generated(build_quads: Path, triples: int) -> tuple[Graph, Graph]:
    """bench/generate.py's graph of about ``triples`` quads: (ontology, asserted), the inferred left out."""
    spec = importlib.util.spec_from_file_location("bench_generate", REPO_ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault(spec.name, module)  # type: ignore[union-attr]  (its dataclasses look it up)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    out = io.StringIO()
    module.generate(out, triples, seed=1, ontology_from=build_quads)
    lines: dict[str, list[str]] = {"ontology": [], "asserted": [], "inferred": []}
    for line in out.getvalue().splitlines():
        triple, _, graph = line[:-2].rpartition(" ")
        lines[graph.rsplit("/", 1)[1].rstrip(">")].append(triple + " .\n")
    ontology = Graph().parse(data="".join(lines["ontology"]), format="nt")
    return ontology, Graph().parse(data="".join(lines["asserted"]), format="nt")


@pytest.mark.parametrize("size", [1_000, 10_000])
def test_rules_engine_gives_owlrls_closure_of_generated_graphs(settings, built, size):
    ontology, data = _generated(settings.build.quads, size)
    assert len(data) > size // 5
    assert_same_as_owlrl(ontology, data)


# Random graphs over a small vocabulary, with every OWL 2 RL construct the ontology uses:
# subclass and subproperty, inverse, transitive, chains of two, hasValue and someValuesFrom
# restrictions (blank nodes), equivalent classes, domain and range, owl:sameAs between
# individuals in and outside Wikidata's namespace, typed and language-tagged literals.
CLASSES = [EX[f"C{i}"] for i in range(5)]
PROPERTIES = [EX[f"p{i}"] for i in range(4)] + [WDT.P1, WDT.P2]
INDIVIDUALS = [EX[f"a{i}"] for i in range(4)] + [WD.Q1, WD.Q2, WD.Q3]
LITERALS = [
    Literal("1", datatype=XSD.integer),
    Literal("2", datatype=XSD.int),
    Literal("x", datatype=XSD.string),
    Literal("2017-07-07", datatype=XSD.date),
    Literal("true", datatype=XSD.boolean),
    Literal("x", lang="en"),
    Literal("y"),
]


@st.composite
def owl_graphs(draw: st.DrawFn) -> tuple[Graph, Graph]:
    cls, prop, ind = st.sampled_from(CLASSES), st.sampled_from(PROPERTIES), st.sampled_from(INDIVIDUALS)
    ontology, data = Graph(), Graph()
    for c in draw(st.lists(cls, max_size=4)):
        ontology.add((c, RDF.type, OWL.Class))
    for p in draw(st.lists(prop, max_size=4)):
        ontology.add((p, RDF.type, draw(st.sampled_from([OWL.ObjectProperty, OWL.DatatypeProperty]))))
    for a, b in draw(st.lists(st.tuples(cls, cls), max_size=4)):
        ontology.add((a, draw(st.sampled_from([RDFS.subClassOf, OWL.equivalentClass])), b))
    for a, b in draw(st.lists(st.tuples(prop, prop), max_size=4)):
        ontology.add((a, draw(st.sampled_from([RDFS.subPropertyOf, OWL.inverseOf])), b))
    for p, c in draw(st.lists(st.tuples(prop, cls), max_size=3)):
        ontology.add((p, draw(st.sampled_from([RDFS.domain, RDFS.range])), c))
    for p in draw(st.lists(prop, max_size=1)):
        ontology.add((p, RDF.type, OWL.TransitiveProperty))
    for p, p1, p2 in draw(st.lists(st.tuples(prop, prop, prop), max_size=2)):
        chain = BNode()
        Collection(ontology, chain, [p1, p2])
        ontology.add((p, OWL.propertyChainAxiom, chain))
    for p, value, c, sub in draw(st.lists(st.tuples(prop, ind, cls, st.booleans()), max_size=2)):
        r = BNode()
        ontology.add((r, RDF.type, OWL.Restriction))
        ontology.add((r, OWL.onProperty, p))
        ontology.add((r, OWL.hasValue, value))
        ontology.add((c, RDFS.subClassOf, r) if sub else (r, RDFS.subClassOf, c))
    for p, filler, c in draw(
        st.lists(st.tuples(prop, st.sampled_from([*CLASSES, OWL.Thing]), cls), max_size=2)
    ):
        r = BNode()
        ontology.add((r, RDF.type, OWL.Restriction))
        ontology.add((r, OWL.onProperty, p))
        ontology.add((r, OWL.someValuesFrom, filler))
        ontology.add((r, RDFS.subClassOf, c))
    for a, c in draw(st.lists(st.tuples(ind, cls), max_size=4)):
        data.add((a, RDF.type, c))
    objects = st.one_of(ind, st.sampled_from(LITERALS))
    for a, p, b in draw(st.lists(st.tuples(ind, prop, objects), max_size=8)):
        data.add((a, p, b))
    for a, b in draw(st.lists(st.tuples(ind, ind), max_size=3)):
        data.add((a, OWL.sameAs, b))
    for a, text in draw(st.lists(st.tuples(ind, st.sampled_from(LITERALS)), max_size=2)):
        data.add((a, RDFS.label, text))
    return ontology, data


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(owl_graphs())
def test_rules_engine_gives_owlrls_closure_of_random_graphs(graphs):
    inference = assert_same_as_owlrl(*graphs)
    check_derivations(*graphs, inference)


# ---------------------------------------------------------------- derivations


def _matches(rule: Rule, triple: Triple, derivation: Derivation) -> bool:
    """Whether the rule's body, bound by the premises, has ``triple`` in its head."""
    if len(derivation.premises) != len(rule.premises):
        return False
    bound: dict[Variable, Node] = {}
    for pattern, premise in zip(rule.premises, derivation.premises, strict=True):
        for term, value in zip(pattern, premise, strict=True):
            if isinstance(term, Variable):
                if bound.setdefault(term, value) != value:
                    return False
            elif term != value:
                return False
    # A variable no premise binds is bound in the axioms (GRAPH rl:axioms): any value fits.
    return any(
        all(
            bound.get(t, v) == v if isinstance(t, Variable) else t == v
            for t, v in zip(h, triple, strict=True)
        )
        for h in rule.head
    )


def check_derivations(ontology: Graph, data: Graph, inference: Inference) -> set[str]:
    """Every inferred triple has a derivation; each one's rule, bound by its premises, gives the
    triple; each premise is asserted or derived before it, so every proof ends in asserted
    triples. Returns the rules used."""
    derivations = inference.derivations
    assert set(inference.inferred) <= set(derivations)
    asserted = set(ontology) | set(data)
    order = {t: i for i, t in enumerate(derivations)}
    used = set()
    for i, (triple, derivation) in enumerate(derivations.items()):
        rule = RULES[derivation.rule]
        used.add(rule.id)
        assert _matches(rule, triple, derivation), (triple, derivation)
        for premise in derivation.premises:
            assert premise in asserted or order.get(premise, i) < i, (triple, derivation, premise)
    return used


def test_every_derived_triple_has_a_derivation_that_ends_in_asserted_triples(loaded):
    inference = closure(loaded.ontology, loaded.data)
    used = check_derivations(loaded.ontology, loaded.data, inference)
    assert {"prp-spo1", "prp-spo2", "prp-inv1", "cls-svf1", "cax-sco"} <= used
    assert {"eq-sym", "eq-rep-s", "eq-rep-o", "prp-dom", "prp-rng", "scm-cls", "scm-sco"} <= used


def test_derivations_are_a_mapping_by_triple(loaded):
    derivations = closure(loaded.ontology, loaded.data).derivations
    triple = (M, HOS.country, ID["place/germany"])
    found = derivations[triple]
    assert found.rule == "prp-spo2"
    assert (M, HOS.location, ID["place/hamburg"]) in found.premises
    assert triple in derivations and derivations.get((M, HOS.country, M)) is None
    assert len(derivations) == len(list(derivations)) == len(list(derivations.values()))


def test_owlrl_records_no_derivations():
    ontology, data = Graph(), Graph()
    ontology.add((HOS.participant, RDFS.subPropertyOf, WDT.P710))
    data.add((ID["m"], HOS.participant, ID["p"]))
    inference = closure(ontology, data, reasoner="owlrl")
    assert (ID["m"], WDT.P710, ID["p"]) in inference.inferred
    assert not inference.derivations


def test_progress_gets_a_line_per_round(loaded):
    lines: list[str] = []
    closure(loaded.ontology, loaded.data, progress=lines.append)
    rounds = [line for line in lines if line.startswith("round ")]
    assert rounds and rounds[0].startswith("round 1: ") and rounds[-1].endswith(": 0 new triples")
    assert lines[-1].startswith("rules: ")


# ---------------------------------------------------------------- the rule files


def test_every_rule_file_says_what_it_does_and_where_it_comes_from():
    assert len(RULES) >= 40
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and rule.title.startswith(f"{rule_id}: ")
        assert rule.head, rule_id
        comments = [line for line in rule.text.splitlines() if line.startswith("# ")]
        assert "# OWL 2 RL, Table" in rule.text or "# Not in the OWL 2 RL tables" in rule.text, rule_id
        assert any("IF" in line for line in comments) and any("THEN" in line for line in comments), rule_id


def test_the_axioms_are_owlrls_tables():
    from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
    from owlrl.OWLRL import OWLRL_Annotation_properties
    from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

    axioms = load_axioms()
    assert set(axioms.subjects(RDF.type, RL.Datatype)) == set(OWL_RL_Datatypes)
    assert set(axioms.subject_objects(RL.subsumedBy)) == {
        (d, s) for d, sups in OWL_Datatype_Subsumptions.items() for s in sups
    }
    assert set(axioms.subject_objects(RL.disjointFrom)) == {
        (a, b) for a, _, b in OWLRL_Datatypes_Disjointness
    }
    assert set(axioms.subjects(RDF.type, RL.AnnotationProperty)) == set(OWLRL_Annotation_properties)


@pytest.mark.parametrize(
    ("triple", "why"),
    [
        ((EX.p, RDF.type, OWL.FunctionalProperty), "owl:FunctionalProperty"),
        ((EX.C, OWL.intersectionOf, RDF.nil), "owl:intersectionOf"),
        ((EX.p, RDFS.subPropertyOf, OWL.sameAs), "owl:sameAs is itself described"),
        ((EX.C, RDFS.subClassOf, WD.Q5), "has an owl:sameAs alias"),
    ],
)
def test_what_the_rules_do_not_cover_is_refused_with_a_reason(triple, why):
    ontology, data = Graph(), Graph()
    ontology.add(triple)
    data.add((EX.C, OWL.sameAs, WD.Q5))
    with pytest.raises(DataError, match=why) as info:
        closure(ontology, data)
    assert "--reasoner owlrl" in info.value.message
    closure(ontology, data, reasoner="owlrl")  # owlrl takes it


@pytest.mark.parametrize(("triple", "kept"), KEEP_CASES)
def test_keep_in_sql_is_keep(triple, kept):
    """The rules engine computes keep() in SQL (sql.keep_sql); it must say what keep() says."""
    import duckdb

    from kg.rules.engine import Terms
    from kg.rules.sql import Context, keep_sql

    terms = Terms()
    s, p, o = (terms.id(t) for t in triple)
    view = tuple(terms.id(t) for t in (OWL.sameAs, RDFS.label, SKOS.altLabel))  # as kg.rules.engine builds it
    ctx = Context(term_id=terms.id, same_as=terms.id(OWL.sameAs), view=view)
    assert duckdb.sql(f"SELECT {keep_sql(str(s), str(p), str(o), ctx)}").fetchall() == [(kept,)]


def test_the_reasoner_is_part_of_the_build_digest(settings):
    from dataclasses import replace

    from kg.pipeline import input_digest

    assert input_digest(replace(settings, reasoner="owlrl")) != input_digest(settings)


def test_an_unknown_reasoner_is_refused():
    with pytest.raises(ValueError, match="unknown reasoner"):
        closure(Graph(), Graph(), reasoner="hermit")


def test_a_rule_file_is_part_of_the_build_digest(settings, tmp_path, monkeypatch):
    from kg import pipeline

    before = pipeline.input_digest(settings)
    package = tmp_path / "kg"
    (package / "rules").mkdir(parents=True)
    for path in (pipeline.PACKAGE / "rules").glob("*.*"):
        (package / "rules" / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(pipeline, "PACKAGE", package)
    monkeypatch.setattr(pipeline, "code_files", lambda: [])
    unchanged = pipeline.input_digest(settings)
    (package / "rules" / "prp-spo1.rq").write_text("# changed\n")
    assert pipeline.input_digest(settings) != unchanged != before


# ---------------------------------------------------------------- the pyoxigraph path


def _nt(triple: tuple) -> str:
    """A triple of rdflib or pyoxigraph terms in N-Triples (as the store writes it)."""
    from kg.derivations import term

    return " ".join(str(term(x)) for x in triple)


def assert_quads_path_is_the_rdflib_path(ontology: Graph, data: Graph) -> None:
    import pyoxigraph as ox

    from kg.reason import closure_quads

    store = ox.Store()
    store.bulk_load(data.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    assert len(store) == len(data)
    rdflib_path = closure(ontology, data)
    quads_path = closure_quads(ontology, store)
    assert not any(
        isinstance(x, Node) for q in quads_path.inferred for x in (q.subject, q.predicate, q.object)
    )
    expected = {_nt(t) for t in rdflib_path.inferred}
    got = {_nt((q.subject, q.predicate, q.object)) for q in quads_path.inferred}
    assert len(got) == len(quads_path.inferred) == len(rdflib_path.inferred)
    assert got == expected, sorted(got ^ expected)[:20]
    assert len(quads_path.derivations) == len(rdflib_path.derivations)
    rdflib_steps = {
        _nt(t): (d.rule, tuple(_nt(p) for p in d.premises)) for t, d in rdflib_path.derivations.items()
    }
    quads_steps = {}
    for triple, derivation in quads_path.derivations.items():
        assert not any(isinstance(x, Node) for premise in derivation.premises for x in premise)
        quads_steps[_nt(triple)] = (derivation.rule, tuple(_nt(p) for p in derivation.premises))
    assert quads_steps.keys() == rdflib_steps.keys()
    # The engine keeps the least derivation by term ids, which follow the input's order: the two
    # paths may pick different derivations of a triple. Each must be one: checked as rdflib's are.
    same = sum(quads_steps[k] == rdflib_steps[k] for k in rdflib_steps)
    assert same > len(rdflib_steps) // 2
    rdflib_terms = {_nt((x,)): x for t in (*ontology, *data, *rdflib_path.derivations) for x in t}
    for d in rdflib_path.derivations.values():
        rdflib_terms.update((_nt((x,)), x) for premise in d.premises for x in premise)
    as_rdflib = {
        tuple(rdflib_terms[str(x)] for x in triple): Derivation(
            d.rule, tuple(tuple(rdflib_terms[str(x)] for x in premise) for premise in d.premises)
        )
        for triple, d in quads_path.derivations.items()
    }
    check_derivations(ontology, data, Inference(rdflib_path.inferred, as_rdflib))


def test_the_pyoxigraph_path_gives_the_rdflib_paths_closure_of_the_project(loaded):
    # Blank nodes (data/references.ttl) as IRIs: their labels differ between the two paths.
    assert_quads_path_is_the_rdflib_path(loaded.ontology, loaded.data.skolemize())


@pytest.mark.parametrize("size", [1_000, 10_000])
def test_the_pyoxigraph_path_gives_the_rdflib_paths_closure_of_generated_graphs(settings, built, size):
    ontology, data = _generated(settings.build.quads, size)
    assert_quads_path_is_the_rdflib_path(ontology, data)
