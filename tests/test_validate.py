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
