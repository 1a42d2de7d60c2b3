"""kg.sources: which files a source names, and the errors for paths that are not there."""

from __future__ import annotations

import pytest

from kg.errors import DataError
from kg.sources import Source


def test_the_seed_is_the_turtle_of_the_data_folder_in_name_order(tmp_path):
    for name in ("b.ttl", "a.ttl", "notes.txt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    assert [p.name for p in Source.seed(tmp_path).files()] == ["a.ttl", "b.ttl"]


def test_foreign_data_reads_every_rdf_file_of_a_folder_recursively_and_skips_the_rest(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.nq", "sub/b.trig", "sub/c.rdf", "README.md"):
        (tmp_path / name).write_text("", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in Source.foreign([tmp_path]).files()] == [
        "a.nq",
        "sub/b.trig",
        "sub/c.rdf",
    ]


def test_a_named_file_of_unknown_format_is_refused_with_the_known_suffixes(tmp_path):
    (tmp_path / "x.csv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.csv: unknown RDF format; use one of .*\.ttl"):
        Source.foreign([tmp_path / "x.csv"]).files()


def test_a_missing_path_and_an_empty_folder_are_errors(tmp_path):
    with pytest.raises(DataError, match="missing: no such file or folder"):
        Source.foreign([tmp_path / "missing"]).files()
    with pytest.raises(DataError, match="no RDF files found in"):
        Source.foreign([tmp_path]).files()
    with pytest.raises(DataError, match=r"no \*\.ttl files to load"):
        Source.seed(tmp_path).files()
