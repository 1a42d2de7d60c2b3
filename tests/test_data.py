"""Faithful data: the source is copied exactly, IDs are verified, nothing is unsourced."""

from __future__ import annotations

import csv
import re

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import OWL, PROV, RDF

from kg.config import REPO_ROOT
from kg.load import load
from kg.namespaces import HOS, ID, WD

SOURCE = REPO_ROOT / "data" / "sources" / "seed" / "000_04dab6a38e74675e.txt"
SHARED_SEED = REPO_ROOT.parent / "shared" / "seed" / SOURCE.name
DOC = ID["source/04dab6a38e74675e"]


@pytest.fixture(scope="module")
def data(settings):
    return load(settings).data


def _bn(graph, node) -> str:
    texts = [o for o in graph.objects(node, HOS.text) if isinstance(o, Literal) and o.language == "bn"]
    assert len(texts) == 1, node
    return str(texts[0])


def test_repository_copy_matches_the_shared_seed():
    if not SHARED_SEED.exists():
        pytest.skip(f"{SHARED_SEED} is not present on this machine")
    assert SOURCE.read_bytes() == SHARED_SEED.read_bytes()


def test_document_holds_the_full_text_and_date(data):
    assert _bn(data, DOC) == SOURCE.read_text(encoding="utf-8")
    assert str(data.value(DOC, URIRef("http://purl.org/dc/terms/date"))) == "2025-08-07"


def test_paragraphs_and_sentences_reproduce_the_source(data):
    lines = SOURCE.read_text(encoding="utf-8").split("\n")
    lines[0] = lines[0].split("2025-08-07 ", 1)[1]
    paragraphs = sorted(
        data.subjects(RDF.type, HOS.Paragraph), key=lambda p: int(data.value(p, HOS.sequence))
    )
    assert [_bn(data, p) for p in paragraphs] == [ln.strip() for ln in lines]
    for paragraph in paragraphs:
        sentences = sorted(
            data.subjects(HOS.inParagraph, paragraph), key=lambda s: int(data.value(s, HOS.sequence))
        )
        assert " ".join(_bn(data, s) for s in sentences) == _bn(data, paragraph)
    assert len(set(data.subjects(RDF.type, HOS.Sentence))) == 17


def test_every_sentence_has_an_english_reading(data):
    for sentence in data.subjects(RDF.type, HOS.Sentence):
        assert any(o.language == "en" for o in data.objects(sentence, HOS.text))


def test_every_sentence_is_used_as_a_source(data):
    used = set(data.objects(None, PROV.wasDerivedFrom))
    unused = set(data.subjects(RDF.type, HOS.Sentence)) - used
    assert not unused, f"sentences no fact is derived from: {sorted(unused)}"


def test_repository_copy_of_the_wikidata_ids_matches_the_shared_table():
    shared = REPO_ROOT.parent / "shared" / "wikidata-ids.tsv"
    if not shared.exists():
        pytest.skip(f"{shared} is not present on this machine")
    assert (REPO_ROOT / "data" / "sources" / "seed" / "wikidata-ids.tsv").read_bytes() == shared.read_bytes()


def _verified() -> tuple[set[str], set[str]]:
    ids, wikipedia = set(), set()
    with open(REPO_ROOT / "data" / "sources" / "seed" / "wikidata-ids.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["status"] == "verified" and row["id"]:
                ids.add(row["id"])
            wikipedia.update(re.findall(r"https://en\.wikipedia\.org/wiki/\S+", row["note"] or ""))
    return ids, wikipedia


def test_sameas_uses_only_verified_wikidata_ids(data):
    verified, _ = _verified()
    targets = {str(o)[len(str(WD)) :] for o in data.objects(None, OWL.sameAs)}
    assert targets, "no Wikidata links at all"
    assert targets <= verified, f"unverified IDs: {targets - verified}"


def test_war_in_donbas_probable_id_is_not_used(data):
    assert (None, OWL.sameAs, WD.Q16335075) not in data


def test_wikipedia_links_come_from_the_ids_file(data):
    _, wikipedia = _verified()
    links = {str(o) for o in data.objects(None, URIRef("http://xmlns.com/foaf/0.1/isPrimaryTopicOf"))}
    assert links and links <= wikipedia, links - wikipedia


def test_entities_without_verified_id_have_no_sameas(data):
    for local in (
        "thing/nord-stream-2",
        "event/2018-kerch-strait-incident",
        "event/g20-2017-hamburg",
        "thing/iran-nuclear-deal",
    ):
        assert (ID[local], OWL.sameAs, None) not in data


def test_vagueness_is_modelled_not_guessed(data):
    xsd = "http://www.w3.org/2001/XMLSchema#"
    ba = ID["meeting/2018-11-buenos-aires"]
    assert data.value(ba, HOS.month) == Literal("2018-11", datatype=URIRef(xsd + "gYearMonth"))
    assert data.value(ba, HOS.date) is None
    helsinki = ID["meeting/2018-07-16-helsinki"]
    assert data.value(helsinki, HOS.durationMoreThan) == Literal("PT2H", datatype=URIRef(xsd + "duration"))
    assert data.value(helsinki, HOS.duration) is None
    incident = ID["event/2018-kerch-strait-incident"]
    assert data.value(incident, HOS.date) is None
    assert str(data.value(incident, HOS.notAfter)) == "2018-11-29"


# ---------------------------------------------------------------- editorial additions (issue 13)

DCTERMS = "http://purl.org/dc/terms/"


def test_the_iran_deal_is_what_the_source_calls_it_not_a_named_treaty(data):
    deal = ID["thing/iran-nuclear-deal"]
    assert (deal, RDF.type, HOS.Artifact) in data
    assert (deal, RDF.type, HOS.Treaty) not in data
    names = (
        URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
        URIRef("http://www.w3.org/2004/02/skos/core#altLabel"),
    )
    texts = " ".join(str(o) for name in names for o in data.objects(deal, name))
    assert "nuclear deal" in texts.lower() and "Joint Comprehensive" not in texts
    assert not list(data.objects(deal, URIRef("http://xmlns.com/foaf/0.1/isPrimaryTopicOf")))


def test_no_unsourced_gloss_or_class(data):
    comment = URIRef("http://www.w3.org/2000/01/rdf-schema#comment")
    assert data.value(ID["format/on-their-feet"], comment) is None  # the gloss had no source
    da_nang = ID["meeting/2017-11-10-da-nang"]
    assert set(data.objects(da_nang, RDF.type)) == {HOS.Meeting}  # not "brief" nor "unscheduled"


@pytest.mark.parametrize(
    ("note", "about", "sources"),
    [
        ("2018-buenos-aires-date", ["meeting/2018-11-buenos-aires"],
         ["source/hsg-trip-3819", "source/04dab6a38e74675e-p5-s1"]),
        ("2017-da-nang-joint-statement-date", ["outcome/2017-11-10-da-nang-joint-statement-syria"],
         ["source/kremlin-56048", "source/04dab6a38e74675e-p2-s2"]),
    ],
)  # fmt: skip
def test_editorial_notes_are_dated_and_sourced_beside_what_the_source_says(data, note, about, sources):
    node = ID["note/" + note]
    assert (node, RDF.type, HOS.EditorialNote) in data
    assert set(data.objects(node, HOS.noteOn)) == {ID[a] for a in about}
    assert set(data.objects(node, PROV.wasDerivedFrom)) == {ID[s] for s in sources}
    assert data.value(node, URIRef(DCTERMS + "created")).datatype == URIRef(
        "http://www.w3.org/2001/XMLSchema#date"
    )
    # the source's own reading stays: November 2018, and no date of its own for the statement
    assert str(data.value(ID["meeting/2018-11-buenos-aires"], HOS.month)) == "2018-11"
    assert data.value(ID["outcome/2017-11-10-da-nang-joint-statement-syria"], HOS.date) is None


def test_the_hsg_record_cited_says_what_the_note_says():
    xml = (REPO_ROOT / "data" / "sources" / "hsg" / "president-travels" / "trump-donald-j.xml").read_text()
    record = xml[xml.index("<id>3819</id>") : xml.index("</trip>", xml.index("<id>3819</id>"))]
    assert "<start-date>2018-11-29</start-date>" in record and "<end-date>2018-12-01</end-date>" in record
    assert "Buenos Aires" in record


def test_every_reified_fact_is_a_fact_of_the_data_with_a_sentence(data):
    reified = list(data.subjects(RDF.type, RDF.Statement))
    assert len(reified) >= 40
    for node in reified:
        s, p, o = (data.value(node, x) for x in (RDF.subject, RDF.predicate, RDF.object))
        assert (s, p, o) in data, (s, p, o)
        assert list(data.objects(node, PROV.wasDerivedFrom))
