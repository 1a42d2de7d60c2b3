"""Step 2: the SHACL contract and QC checks, as valid/invalid pairs.

Each tests/data/invalid/*.ttl is added to a copy of the real data; its first
line says which check must fail (``# expect: <text in the report>``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.load import load
from kg.validate import validate

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
