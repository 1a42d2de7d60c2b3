"""kg.derivations and kg.proofs: derivations written next to the inferred graph, read back as proof trees.

Derivations are plain data made here (kg.reason's contract: a rule id and the premises it
joined, per derived triple), over the project's own triples, so that proofs end in the real
source sentences. ``hand_build`` copies the session's build and adds such a file; the web
tests (test_explain.py) serve it. Once the reasoner records derivations, the last test walks
a proof of every rule it used in the project's own build.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

from kg import derivations as files
from kg import proofs
from kg.build import Build
from kg.config import Settings
from kg.engine import Engine
from kg.errors import BadRequest, NotFound
from kg.iris import GRAPH_ASSERTED
from kg.load import load
from kg.queries import load_queries

HOS = Namespace("https://w3id.org/hos-kg/ontology#")
SDO = Namespace("https://schema.org/")
ID = Namespace("https://w3id.org/hos-kg/id/")
HAMBURG = ID["meeting/2017-07-07-hamburg"]
PUTIN = ID["person/vladimir-putin"]
GERMANY = ID["place/germany"]
G20 = ID["event/g20-2017-hamburg"]
DATE = Literal("2017-07-07", datatype=XSD.date)
# A literal no page may show unescaped.
NASTY = Literal('<script>alert("x")</script> & "quoted" <b>', lang="en")


@dataclass(frozen=True)
class Derivation:  # kg.reason.Derivation's shape
    rule: str
    premises: tuple


@dataclass(frozen=True)
class Rule:  # kg.reason.Rule's shape
    id: str
    title: str
    text: str


RULES = {
    "prp-spo1": Rule(
        "prp-spo1", "A subproperty's values are values of its superproperty", "p1 ⊑ p2, x p1 y ⟹ x p2 y"
    ),
    "prp-inv1": Rule(
        "prp-inv1", "prp-inv1: an inverse property holds backwards", "p1 inverseOf p2, x p1 y ⟹ y p2 x"
    ),
    "test-echo": Rule("test-echo", 'Echo <rule> & "title"', "<&>"),
}

# Real triples of the project, each derived as the ontology says (OWL only: the Wikidata view's
# wdt: triples are not entailed by the ontology, kg.wikibase derives them after reasoning).
PARTICIPANT = (HAMBURG, HOS.participant, PUTIN)  # asserted data
SPO_ATTENDEE = (HOS.participant, RDFS.subPropertyOf, SDO.attendee)  # ontology
INVERSE = (HOS.participant, OWL.inverseOf, HOS.participatedIn)  # ontology
SIDELINES = (HAMBURG, HOS.onSidelinesOf, G20)  # asserted data
SPO_OCCASION = (HOS.onSidelinesOf, RDFS.subPropertyOf, HOS.occasion)  # ontology
SPO_SUPER_EVENT = (HOS.occasion, RDFS.subPropertyOf, SDO.superEvent)  # ontology
ATTENDEE = (HAMBURG, SDO.attendee, PUTIN)
PARTICIPATED = (PUTIN, HOS.participatedIn, HAMBURG)
OCCASION = (HAMBURG, HOS.occasion, G20)
SUPER_EVENT = (HAMBURG, SDO.superEvent, G20)  # two steps from the data
START_DATE = (HAMBURG, SDO.startDate, DATE)
COUNTRY = (ID["place/hamburg"], HOS.country, GERMANY)  # from the data, whose source names Wikidata
ECHO = (HAMBURG, SKOS.scopeNote, NASTY)  # not in the graph: only in the hand-made derivations
HAND = {
    ATTENDEE: Derivation("prp-spo1", (PARTICIPANT, SPO_ATTENDEE)),
    PARTICIPATED: Derivation("prp-inv1", (PARTICIPANT, INVERSE)),
    OCCASION: Derivation("prp-spo1", (SIDELINES, SPO_OCCASION)),
    SUPER_EVENT: Derivation("prp-spo1", (OCCASION, SPO_SUPER_EVENT)),
    START_DATE: Derivation(
        "prp-spo1", ((HAMBURG, HOS.date, DATE), (HOS.date, RDFS.subPropertyOf, SDO.startDate))
    ),
    COUNTRY: Derivation(
        "prp-spo1",
        ((ID["place/hamburg"], HOS.inCountry, GERMANY), (HOS.inCountry, RDFS.subPropertyOf, HOS.country)),
    ),
    ECHO: Derivation("test-echo", ((HAMBURG, SKOS.editorialNote, NASTY),)),
    PARTICIPANT: Derivation("prp-inv1", (PARTICIPATED, INVERSE)),  # derived, but asserted: stays asserted
}


def key(triple: tuple) -> files.Key:
    return tuple(str(files.term(t)) for t in triple)  # type: ignore[return-value]


def write_hand_derivations(folder: Path, settings: Settings) -> None:
    loaded = load(settings)
    inferred = Graph()
    for triple in HAND:
        inferred.add(triple)
    files.write_derivations(
        folder / Build.DERIVATIONS, HAND, RULES, ontology=loaded.ontology, data=loaded.data, inferred=inferred
    )


def copy_build(source: Build, folder: Path) -> Build:
    """The session's build, copied (without its derivations): a build to add files to."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source.store, folder / Build.STORE)
    for name in (Build.QUADS, Build.MANIFEST):
        shutil.copy(source.folder / name, folder / name)
    return Build(folder)


@pytest.fixture(scope="module")
def hand_build(settings, built, tmp_path_factory) -> Build:
    """A copy of the session's build with the hand-made derivations."""
    copied = copy_build(settings.build, tmp_path_factory.mktemp("hand") / "build")
    write_hand_derivations(copied.folder, settings)
    return copied


@pytest.fixture(scope="module")
def new_lookup(settings, kg):
    """Makes a Lookup on the session's graph, through an Engine (in-process) and the internal queries:
    one per proof, as the web layer does (each has its own budget of lookups, MAX_LOOKUPS)."""
    queries = load_queries(settings.queries_dir / "internal")
    with Engine(kg, dataclasses.replace(settings, query_workers=0)) as engine:
        yield lambda: proofs.Lookup(
            lambda name, bindings, infer: engine.rows(queries[name].text, bindings=bindings, infer=infer)
        )


@pytest.fixture()
def lookup(new_lookup):
    return new_lookup()


# ---------------------------------------------------------------- terms and keys


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (URIRef("http://example.org/a"), "<http://example.org/a>"),
        (BNode("b1"), "_:b1"),
        (Literal("plain"), '"plain"'),
        (Literal("typed string", datatype=XSD.string), '"typed string"'),
        (Literal("Hamburg", lang="EN-gb"), '"Hamburg"@en-gb'),
        (DATE, '"2017-07-07"^^<http://www.w3.org/2001/XMLSchema#date>'),
        (Literal('a "q" \\ b\nc'), '"a \\"q\\" \\\\ b\\nc"'),
        (Literal("বৈঠক", lang="bn"), '"বৈঠক"@bn'),
    ],
)
def test_a_key_term_is_its_n_triples_form_as_the_store_writes_it(node, expected):
    assert str(files.term(node)) == expected
    # What a user types in N-Triples syntax is read back to the same key.
    assert str(proofs.parse_term(expected, "o")) == expected


def test_keys_match_the_terms_the_store_holds(kg, settings):
    """Every triple of the build, keyed from rdflib as kg.proofs writes it, is a line of graph.nq."""
    loaded = load(settings)
    lines = set(settings.build.quads.read_text(encoding="utf-8").splitlines())
    graph = f" <{proofs.GRAPH_ASSERTED}> ."
    for triple in loaded.data:
        if not any(isinstance(t, BNode) for t in triple):
            assert " ".join(key(triple)) + graph in lines, triple


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "https://w3id.org/hos-kg/id/person/vladimir-putin",
            "<https://w3id.org/hos-kg/id/person/vladimir-putin>",
        ),
        (
            "<https://w3id.org/hos-kg/id/person/vladimir-putin>",
            "<https://w3id.org/hos-kg/id/person/vladimir-putin>",
        ),
        ("person:vladimir-putin", "<https://w3id.org/hos-kg/id/person/vladimir-putin>"),
        ("hos:participant", "<https://w3id.org/hos-kg/ontology#participant>"),
        ("  wdt:P710 ", "<http://www.wikidata.org/prop/direct/P710>"),
        ('"Hamburg"@EN', '"Hamburg"@en'),
        (
            '"1"^^<http://www.w3.org/2001/XMLSchema#integer>',
            '"1"^^<http://www.w3.org/2001/XMLSchema#integer>',
        ),
        ("_:x", "_:x"),
    ],
)
def test_a_user_term_is_an_iri_a_prefixed_name_or_n_triples(given, expected):
    assert str(proofs.parse_term(given, "o")) == expected


@pytest.mark.parametrize(
    ("given", "literal", "blank", "words"),
    [
        ("", True, True, "'o' is required"),
        ("not an iri", True, True, "'o' is not an RDF term"),
        ("relative/path", True, True, "'o' is not an RDF term"),
        ('"unterminated', True, True, "'o' is not an RDF term"),
        ('"x"^^<not an iri>', True, True, "'o' is not an RDF term"),
        ("<http://a> . <urn:x:s> <urn:x:p> <http://b>", True, True, "'o'"),
        ('"x"@en', False, True, "must be an IRI, not a literal"),
        ("_:b", False, False, "must be an IRI, not a blank node"),
    ],
)
def test_a_bad_user_term_is_a_400_naming_the_parameter(given, literal, blank, words):
    with pytest.raises(BadRequest) as caught:
        proofs.parse_term(given, "o", literal=literal, blank=blank)
    assert words in caught.value.message


# ---------------------------------------------------------------- the file


def _write(tmp_path: Path, derivations: dict, inferred: set, ontology=(), data=()) -> files.Derivations:
    graphs = [Graph(), Graph(), Graph()]
    for graph, triples in zip(graphs, (ontology, data, inferred), strict=True):
        for t in triples:
            graph.add(t)
    path = tmp_path / "derivations.sqlite"
    files.write_derivations(path, derivations, RULES, ontology=graphs[0], data=graphs[1], inferred=graphs[2])
    found = files.Derivations.open(path)
    assert found is not None
    return found


EX = Namespace("http://example.org/")


def test_derivations_round_trip_with_literals_language_tags_and_blank_nodes(tmp_path):
    blank = BNode("restriction1")
    typed = Literal("42", datatype=XSD.integer)
    tagged = Literal('say "hi"\n', lang="en-GB")
    derived = (EX.a, EX.p, tagged)
    on_blank = (EX.a, RDFS.subClassOf, blank)
    premises = ((EX.a, EX.q, tagged), (blank, OWL.hasValue, typed), (EX.q, RDFS.subPropertyOf, EX.p))
    derivations = {
        derived: Derivation("prp-spo1", (premises[0], premises[2])),
        on_blank: Derivation("test-echo", (premises[1], derived)),
    }
    with _write(tmp_path, derivations, {derived}, ontology=premises[1:], data=premises[:1]) as found:
        assert found.count() == 2
        step = found.step(key(derived))
        assert step == files.Step("prp-spo1", (key(premises[0]), key(premises[2])), kept=True)
        assert (
            found.step(("<http://example.org/a>", "<http://example.org/p>", '"say \\"hi\\"\\n"@en-gb'))
            == step
        )
        assert found.step(key(on_blank)) == files.Step(
            "test-echo", (key(premises[1]), key(derived)), kept=False
        )
        assert found.step(key(premises[0])) is None  # asserted
        assert found.asserted(key(premises[0])) == files.ASSERTED
        assert found.asserted(key(premises[1])) == files.ONTOLOGY
        assert found.asserted(key(derived)) is None  # derived, not asserted
        assert found.rules == {
            name: (RULES[name].title, RULES[name].text) for name in ("prp-spo1", "test-echo")
        }
        assert dict(found.derived()) == {key(derived): "prp-spo1", key(on_blank): "test-echo"}


def test_a_rule_title_that_repeats_the_id_is_read_without_it(tmp_path):
    with _write(tmp_path, {(EX.a, EX.p, EX.b): Derivation("prp-inv1", ())}, set()) as found:
        assert found.rules == {"prp-inv1": ("an inverse property holds backwards", RULES["prp-inv1"].text)}


def test_the_file_is_compact_each_term_once(tmp_path):
    derivations = {
        (EX[f"s{i}"], EX.p, EX.o): Derivation("prp-spo1", ((EX[f"s{i}"], EX.q, EX.o),)) for i in range(500)
    }
    with _write(tmp_path, derivations, set(derivations)) as found:
        terms = found._db.execute("SELECT count(*) FROM terms").fetchone()[0]
    assert terms == 500 + 3  # s0…s499, p, q, o
    assert (tmp_path / "derivations.sqlite").stat().st_size < 100 * 1024


def test_a_derived_triple_that_is_also_asserted_is_asserted(tmp_path):
    asserted = (EX.a, EX.p, EX.b)
    derivations = {asserted: Derivation("prp-spo1", ((EX.a, EX.q, EX.b),))}
    with _write(tmp_path, derivations, set(), data=[asserted]) as found:
        assert found.count() == 0 and found.step(key(asserted)) is None


def test_a_premise_from_foreign_files_is_in_the_data(tmp_path):
    """kg serve --data: quads pyoxigraph read stay in their store; their triples are the data."""
    foreign = ox.Store()
    foreign.add(
        ox.Quad(ox.NamedNode(EX.jerry), ox.NamedNode(RDFS.label), ox.Literal("Jerry"), ox.NamedNode(EX.g))
    )
    derived = (EX.jerry, SKOS.prefLabel, Literal("Jerry"))
    premise = (EX.jerry, RDFS.label, Literal("Jerry"))
    path = tmp_path / "derivations.sqlite"
    empty = Graph()
    files.write_derivations(
        path,
        {derived: Derivation("prp-spo1", (premise, (EX.x, EX.y, EX.z)))},
        RULES,
        ontology=empty,
        data=empty,
        inferred=empty,
        foreign=foreign,
    )
    with files.Derivations(path) as found:
        assert found.asserted(key(premise)) == files.DATA
        assert found.asserted(key((EX.x, EX.y, EX.z))) == files.UNKNOWN


def test_no_file_reads_as_none(tmp_path):
    assert files.Derivations.open(tmp_path / "missing.sqlite") is None


def test_the_build_folder_swaps_the_derivations_in_and_leaves_none_behind(tmp_path):
    target = Build(tmp_path / "build")
    for has_derivations in (True, False):
        with target.staging() as staged:
            for name in (Build.QUADS, Build.MANIFEST):
                (staged.folder / name).write_text("x")
            if has_derivations:
                staged.derivations.write_bytes(b"sqlite")
        assert target.derivations.is_file() == has_derivations


# ---------------------------------------------------------------- proof trees


class NoGraph(proofs.Lookup):
    """A Lookup over an empty graph (rows of no query)."""

    def __init__(self) -> None:
        super().__init__(lambda name, bindings, infer: [])


def test_a_cycle_is_cut_where_a_triple_recurs(tmp_path):
    a, b = (EX.a, EX.p, EX.b), (EX.b, EX.p, EX.a)
    derivations = {a: Derivation("prp-spo1", (b,)), b: Derivation("prp-inv1", (a, (EX.p, EX.q, EX.r)))}
    with _write(tmp_path, derivations, {a, b}) as found:
        proof = proofs.explain(found, NoGraph(), key(a))
    assert [n.status for n in proof.walk()] == ["inferred", "inferred", "cycle", "unknown"]
    assert proof.premises[0].premises[0].triple == key(a)


def test_a_deep_proof_stops_at_the_depth_bound(tmp_path):
    chain = [(EX[f"n{i}"], EX.p, EX.o) for i in range(60)]
    derivations = {chain[i]: Derivation("prp-spo1", (chain[i + 1],)) for i in range(59)}
    with _write(tmp_path, derivations, set(chain)) as found:
        full = proofs.explain(found, NoGraph(), key(chain[0]), max_depth=100)
        cut = proofs.explain(found, NoGraph(), key(chain[0]), max_depth=10)
    assert len(list(full.walk())) == 60 and list(full.walk())[-1].status == "unknown"
    nodes = list(cut.walk())
    assert len(nodes) == 12 and nodes[-1].status == "truncated" and nodes[-1].triple == key(chain[11])


def test_a_proof_reusing_premises_stays_within_the_size_bound(tmp_path):
    # Level i is derived from level i+1 twice over (two premises): a tree of 2^30 nodes unbounded.
    levels = [[(EX[f"l{i}"], EX.p, EX[f"x{j}"]) for j in range(2)] for i in range(30)]
    derivations = {t: Derivation("prp-spo1", tuple(levels[i + 1])) for i in range(29) for t in levels[i]}
    with _write(tmp_path, derivations, set(derivations)) as found:
        proof = proofs.explain(found, NoGraph(), key(levels[0][0]), max_nodes=100)
    nodes = list(proof.walk())
    assert sum(n.status != "truncated" for n in nodes) == 100
    assert any(n.status == "truncated" for n in nodes)


def test_a_proof_ends_in_the_source_sentences_in_bengali_and_english(hand_build, lookup):
    with files.Derivations(hand_build.derivations) as found:
        proof = proofs.explain(found, lookup, key(SUPER_EVENT))
    assert [(n.status, n.rule) for n in proof.walk()] == [
        ("inferred", "prp-spo1"),
        ("inferred", "prp-spo1"),
        ("asserted", None),
        ("asserted", None),
        ("asserted", None),
    ]
    assert proof.title == RULES["prp-spo1"].title
    step = proof.premises[0]
    assert step.triple == key(OCCASION)
    data, inner, outer = step.premises[0], step.premises[1], proof.premises[1]
    assert data.triple == key(SIDELINES) and data.graph == files.ASSERTED
    sentence = data.sources[0]
    assert sentence.kind == "sentence" and sentence.where == "1.1"
    assert sentence.bn.startswith("ভ্লাদিমির পুতিন") and "first official meeting" in sentence.en
    assert (inner.triple, outer.triple) == (key(SPO_OCCASION), key(SPO_SUPER_EVENT))
    assert inner.graph == outer.graph == files.ONTOLOGY
    assert outer.sources[0].kind == "ontology" and outer.sources[0].bn and outer.sources[0].en


def test_a_fact_from_wikidata_ends_in_the_wikidata_record(hand_build, lookup):
    with files.Derivations(hand_build.derivations) as found:
        proof = proofs.explain(found, lookup, key(COUNTRY))
    fact = proof.premises[0]
    assert fact.graph == files.ASSERTED
    sources = {s.kind: s for s in fact.sources}
    # place:hamburg's country: from Wikidata, as data/references.ttl says (not Hamburg's sentence 1.1)
    assert set(sources) == {"record"}
    record = sources["record"]
    assert record.iri.endswith("/source/wikidata") and "Wikidata" in record.en and record.bn
    assert "Hamburg" in record.note


def test_a_literal_object_is_explained(hand_build, lookup):
    with files.Derivations(hand_build.derivations) as found:
        proof = proofs.explain(
            found,
            lookup,
            files.key_of(
                *(
                    proofs.parse_term(t, "x")
                    for t in (
                        "meeting:2017-07-07-hamburg",
                        "sdo:startDate",
                        '"2017-07-07"^^<http://www.w3.org/2001/XMLSchema#date>',
                    )
                )
            ),
        )
    assert proof.status == "inferred" and proof.triple == key(START_DATE)
    assert proof.premises[0].sources[0].kind == "sentence"


@pytest.mark.parametrize(
    ("triple", "words"),
    [
        (PARTICIPANT, "is asserted, not inferred: it is in the asserted data"),
        (SPO_ATTENDEE, "is asserted, not inferred: it is in the ontology"),
        ((HAMBURG, SDO.attendee, GERMANY), "is not in the graph"),
        ((HAMBURG, HOS.participant, Literal("x")), "is not in the graph"),
        (
            (HAMBURG, HOS.country, GERMANY),  # by a property chain (prp-spo2), not among the hand-made ones
            "is inferred, but this build recorded no derivation for it",
        ),
    ],
)
def test_no_proof_says_why(hand_build, lookup, triple, words):
    with files.Derivations(hand_build.derivations) as found, pytest.raises(NotFound) as caught:
        proofs.explain(found, lookup, key(triple))
    assert words in caught.value.message


def test_without_derivations_an_inferred_triple_says_the_build_has_none(lookup):
    with pytest.raises(NotFound) as caught:
        proofs.explain(None, lookup, key(ATTENDEE))
    assert "this build records no derivations" in caught.value.message


def test_a_triple_derived_on_the_way_but_not_kept_is_not_in_the_graph(tmp_path, lookup):
    dropped = (EX.a, EX.p, EX.b)
    with (
        _write(tmp_path, {dropped: Derivation("prp-spo1", ())}, set()) as found,
        pytest.raises(NotFound) as caught,
    ):
        proofs.explain(found, lookup, key(dropped))
    assert "left out of the inferred graph" in caught.value.message


def test_the_proof_as_text_and_as_json(hand_build, lookup):
    with files.Derivations(hand_build.derivations) as found:
        proof = proofs.explain(found, lookup, key(SUPER_EVENT))
        document = proofs.document(proof, found.rules)
        inverse = proofs.document(proofs.explain(found, lookup, key(PARTICIPATED)), found.rules)
    text = proofs.as_text(proof)
    assert text.splitlines()[:7] == [
        "meeting:2017-07-07-hamburg sdo:superEvent event:g20-2017-hamburg",
        f"  inferred by prp-spo1: {RULES['prp-spo1'].title}",
        "    meeting:2017-07-07-hamburg hos:occasion event:g20-2017-hamburg",
        f"      inferred by prp-spo1: {RULES['prp-spo1'].title}",
        "        meeting:2017-07-07-hamburg hos:onSidelinesOf event:g20-2017-hamburg",
        "          asserted in the asserted data",
        "            sentence 1.1 <https://w3id.org/hos-kg/id/source/04dab6a38e74675e-p1-s1>",
    ]
    assert text.splitlines()[7].startswith("              bn: ভ্লাদিমির পুতিন")
    assert "asserted in the ontology" in text
    assert json.loads(json.dumps(document)) == document
    root = document["proof"]
    assert root["triple"]["s"] == {"type": "uri", "value": str(HAMBURG)}
    assert root["triple"]["p"] == {"type": "uri", "value": str(SDO.superEvent)}
    assert root["rule"] == {"id": "prp-spo1", "title": RULES["prp-spo1"].title}
    assert document["rules"] == {
        "prp-spo1": {"title": RULES["prp-spo1"].title, "text": RULES["prp-spo1"].text}
    }
    # The rules a proof uses, each once, with a title that repeats the id read without it.
    assert inverse["rules"] == {
        "prp-inv1": {"title": "an inverse property holds backwards", "text": RULES["prp-inv1"].text}
    }
    leaf = root["premises"][0]["premises"][0]
    assert (
        leaf["status"] == "asserted" and leaf["graph"] == "asserted" and leaf["sources"][0]["where"] == "1.1"
    )


def test_kg_explain_prints_the_proof(hand_build, settings, runner_env):
    from click.testing import CliRunner

    from kg.cli import main

    runner = CliRunner()
    args = ["explain", "meeting:2017-07-07-hamburg", "sdo:superEvent", "event:g20-2017-hamburg"]
    result = runner.invoke(main, args, env=runner_env(hand_build))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("meeting:2017-07-07-hamburg sdo:superEvent event:g20-2017-hamburg\n")
    assert "bn: ভ্লাদিমির পুতিন" in result.output
    as_json = runner.invoke(main, [*args, "--format", "json"], env=runner_env(hand_build))
    assert json.loads(as_json.output)["proof"]["rule"]["id"] == "prp-spo1"
    missing = runner.invoke(main, ["explain", *args[1:3], "person:donald-trump"], env=runner_env(hand_build))
    assert missing.exit_code == 1 and "is not in the graph" in missing.output
    bad = runner.invoke(main, ["explain", '"x"', *args[2:]], env=runner_env(hand_build))
    assert bad.exit_code == 1 and "'S' must be an IRI, not a literal" in bad.output


@pytest.fixture()
def runner_env(settings):
    def env(build: Build) -> dict[str, str]:
        return {
            "KG_BUILD_DIR": str(build.folder),
            "KG_QUERIES_DIR": str(settings.queries_dir),
            "KG_QUERY_WORKERS": "0",
        }

    return env


# ---------------------------------------------------------------- the project's own build


def test_every_rule_the_build_used_has_a_proof_that_ends_in_sources(settings, built, new_lookup):
    found = files.Derivations.open(settings.build.derivations)
    if found is None:
        pytest.skip("this build records no derivations (the reasoner does not record them yet)")
    with found:
        first: dict[str, files.Key] = {}
        for k, rule in found.derived():
            if found.step(k).kept:  # type: ignore[union-attr]
                first.setdefault(rule, k)
        assert first, "no kept derivation at all"
        for rule, k in sorted(first.items()):
            proof = proofs.explain(found, new_lookup(), k)
            assert proof.rule == rule
            for node in proof.walk():
                assert node.status in ("inferred", "asserted"), (rule, node)
                if node.status != "asserted":
                    continue
                assert node.graph in (files.ONTOLOGY, files.ASSERTED), (rule, node.triple)
                assert node.sources, f"{rule}: no source for {node.triple}"
                for source in node.sources:
                    assert source.bn and source.en, (rule, node.triple, source)
                if node.graph == files.ASSERTED:
                    assert {s.kind for s in node.sources} <= {"sentence", "paragraph", "document", "record"}


def test_every_fact_about_a_reified_statement_has_sources(settings, built, new_lookup):
    """data/references.ttl's statements are resources of their own, and a proof may pass through
    one of their triples (dt-disjoint once read ``_:st rdf:object 3``): each such triple, keyed as
    build/graph.nq writes it, must lead to the statement's sentences."""
    quads = ox.parse(path=str(settings.build.quads), format=ox.RdfFormat.N_QUADS)
    asserted = [q for q in quads if q.graph_name == ox.NamedNode(GRAPH_ASSERTED)]
    statements = {
        q.subject
        for q in asserted
        if q.predicate == ox.NamedNode(str(RDF.type)) and q.object == ox.NamedNode(str(RDF.Statement))
    }
    facts = [q for q in asserted if q.subject in statements]
    assert len(statements) > 30 and len(facts) > 5 * len(statements) - 1
    for q in facts:
        found = new_lookup().of((str(q.subject), str(q.predicate), str(q.object)), files.ASSERTED)
        assert found, f"no source for {q.triple}"


def test_an_asserted_fact_with_its_own_sentence_cites_that_sentence_only(lookup):
    """Helsinki's participants come from sentence 3.1 (data/references.ttl); the meeting from 3.1-3.3."""
    fact = (ID["meeting/2018-07-16-helsinki"], HOS.participant, PUTIN)
    assert [s.iri for s in lookup.of(key(fact), files.ASSERTED)] == [str(ID["source/04dab6a38e74675e-p3-s1"])]
    meeting = [
        s.iri
        for s in lookup.of(key((ID["meeting/2018-07-16-helsinki"], RDFS.label, Literal("x"))), "asserted")
    ]
    assert len(meeting) == 3  # no sentence of its own: the subject's three
