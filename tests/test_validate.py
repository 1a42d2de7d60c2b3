"""Step 2: the SHACL contract and QC checks, as valid/invalid pairs.

Each tests/data/invalid/*.ttl is added to a copy of the real data; its first
line says which check must fail (``# expect: <text in the report>``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.load import load
from kg.validate import run_shacl, validate

INVALID = sorted((Path(__file__).parent / "data" / "invalid").glob("*.ttl"))


def test_the_project_data_conforms(settings):
    report = validate(load(settings), settings)
    assert report.conforms, report.text()


@pytest.mark.parametrize("case", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_data_is_reported(case: Path, data_copy):
    expected = case.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect:").strip()
    (data_copy.data_dir / f"zz-{case.name}").write_text(case.read_text(encoding="utf-8"), encoding="utf-8")
    report = validate(load(data_copy), data_copy)
    assert not report.conforms
    text = report.text()
    assert expected in text, text
    assert re.search(rf"\[[^\]]*zz-{re.escape(case.name)}", text), "the report must name the file"


PREFIXES = """
@prefix hos: <https://w3id.org/hos-kg/ontology#> .
@prefix person: <https://w3id.org/hos-kg/id/person/> .
@prefix place: <https://w3id.org/hos-kg/id/place/> .
@prefix source: <https://w3id.org/hos-kg/id/source/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix shape: <https://w3id.org/hos-kg/shapes#> .
@prefix ex: <https://example.org/> .
"""
SENTENCE, RECORD, DATASET = "source:04dab6a38e74675e-p1-s1", "source:hsg-trip-3819", "source:hsg-visits"
ATLANTIS = 'place:atlantis a hos:City ; rdfs:label "Atlantis"@en'
X = 'person:x a hos:Person ; rdfs:label "X"@en , "এক্স"@bn'
BENGALI, SOURCED = "Every entity needs a Bengali label", "Every meeting, statement, outcome"
SOURCES = "prov:wasDerivedFrom must point to a source sentence"
UNION = "must not name a class of the SHACL shapes"


# What the shapes' unions (shape:SentenceOr…) and the Bengali labels' "no source is a sentence"
# must accept and reject; None: no SHACL violation at all.
@pytest.mark.parametrize(
    ("turtle", "expected"),
    [
        (f"{ATLANTIS} ; prov:wasDerivedFrom {RECORD} .", None),
        (f"{ATLANTIS} ; prov:wasDerivedFrom {RECORD} , {SENTENCE} .", BENGALI),
        (f'{ATLANTIS} , "আটলান্টিস"@bn ; prov:wasDerivedFrom {DATASET} .', None),
        (f"{X} ; prov:wasDerivedFrom {RECORD} .", None),
        (f"{X} ; prov:wasDerivedFrom {DATASET} .", SOURCED),
        (f"{X} ; prov:wasDerivedFrom {RECORD} , person:donald-trump .", SOURCES),
        (f"ex:b a shape:SentenceOrReferenceSource . {X} ; prov:wasDerivedFrom {RECORD} , ex:b .", UNION),
        (
            "ex:B rdfs:subClassOf shape:SentenceOrSourceRecord . ex:b a ex:B . "
            f"{X} ; prov:wasDerivedFrom ex:b .",
            UNION,
        ),
    ],
    ids=[
        "record-no-bengali",
        "sentence-no-bengali",
        "dataset",
        "record",
        "dataset-only",
        "person-as-source",
        "union-named",
        "union-subclassed",
    ],
)
def test_sources_and_their_unions(turtle: str, expected: str | None, data_copy):
    (data_copy.data_dir / "zz-case.ttl").write_text(PREFIXES + turtle, encoding="utf-8")
    loaded = load(data_copy)
    before = set(loaded.data)
    report = run_shacl(loaded, data_copy.shapes_file)
    assert set(loaded.data) == before, "the ontology and the unions' axioms must leave the data"
    text = "\n".join(map(str, report))
    if expected is None:
        assert not report, text
    else:
        assert expected in text and "zz-case.ttl" in text, text


def test_there_are_invalid_cases():
    assert len(INVALID) >= 8


def test_every_labelled_ontology_term_has_one_bengali_and_one_russian_label():
    from rdflib import Graph
    from rdflib.namespace import OWL, RDF, RDFS

    from kg.config import REPO_ROOT

    g = Graph().parse(REPO_ROOT / "ontology" / "kg.ttl", format="turtle")
    kinds = (OWL.Ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    terms = {s for kind in kinds for s in g.subjects(RDF.type, kind)}
    missing = []
    checked = 0
    for term in sorted(terms, key=str):
        labels = list(g.objects(term, RDFS.label))
        if not any(getattr(label, "language", None) == "en" for label in labels):
            continue
        checked += 1
        for lang in ("bn", "ru"):
            count = sum(1 for label in labels if getattr(label, "language", None) == lang)
            if count != 1:
                missing.append(f"{term} has {count} @{lang} labels")
    assert checked > 50
    assert not missing, "\n".join(missing)
