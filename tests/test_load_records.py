"""kg.load's reader of the records: morph-kgc maps them in a forked process, which sends the
triples of each group of rules as they are made; what is loaded, and the errors, are those of one
run of the mappings (kg.rml.materialize).

The data folder holds a few of the real files (as tests/test_rml.py's): the visits of the 1870s
and 2010s, one president's trips, the presidents and the country table.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from kg import rml
from kg.config import REPO_ROOT, Settings
from kg.errors import DataError
from kg.load import Loaded, load
from kg.sources import Source

HSG = REPO_ROOT / "data" / "sources" / "hsg"


@pytest.fixture()
def data(records_data: Path) -> Path:
    return records_data


def records(data: Path) -> Loaded:
    return load(Settings(sources=(Source.records(data),), ontology=False, build_dir=data.parent / "build"))


def one_run(data: Path) -> tuple[str, list[rml.Problem]]:
    mappings = sorted((data / "mappings").glob("*.rml.ttl"))
    return rml.materialize(mappings, data / "mappings" / "functions.py", data)


@pytest.mark.parametrize("fork", ["1", "0"])
def test_the_records_load_as_one_run_maps_them(
    data: Path, monkeypatch: pytest.MonkeyPatch, fork: str
) -> None:
    monkeypatch.setenv("KG_FORK", fork)  # 0: mapped in this process, the groups' texts kept
    loaded = records(data)
    triples, problems = one_run(data)
    assert len(loaded.data) > 5000 and set(loaded.data) == set(Graph().parse(data=triples, format="nt"))
    assert loaded.problems and loaded.problems == problems  # in the same order


def test_a_malformed_file_stops_the_load_with_its_name_and_line(data: Path) -> None:
    bad = data / "sources/hsg/visits/2010.xml"
    bad.write_text('<?xml version="1.0"?>\n<visits>\n  <visit><id>1</id>\n</visits>\n', encoding="utf-8")
    with pytest.raises(DataError) as loading:
        records(data)
    assert "sources/hsg/visits/2010.xml: line 4, column" in str(loading.value)
    with pytest.raises(DataError) as mapping:
        one_run(data)
    assert str(loading.value) == str(mapping.value)


def test_a_term_that_is_not_rdf_is_reported_at_its_line_of_the_whole_run(data: Path) -> None:
    # The groups' texts come one by one: the line named is that of the run's text, as before.
    functions = data / "mappings" / "functions.py"
    functions.write_text(
        functions.read_text(encoding="utf-8").replace('ID + "person/hsg-{}"', 'ID + "person/hsg {}"'),
        encoding="utf-8",
    )
    triples, _ = one_run(data)
    with pytest.raises(SyntaxError) as parsing:
        list(ox.parse(triples.encode(), format=ox.RdfFormat.N_TRIPLES))
    with pytest.raises(DataError) as loading:
        records(data)
    assert str(loading.value) == f"the triples mapped from hsg: {parsing.value}"


def test_a_mapping_stopped_half_way_leaves_no_working_folder(data: Path, tmp_path: Path, monkeypatch) -> None:
    # The bad term stops the mapping's process (killed: it cleans nothing up); its working copies
    # are in a folder the parent made, and removes.
    functions = data / "mappings" / "functions.py"
    functions.write_text(
        functions.read_text(encoding="utf-8").replace('ID + "person/hsg-{}"', 'ID + "person/hsg {}"'),
        encoding="utf-8",
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    with pytest.raises(DataError):
        records(data)
    assert not list(scratch.glob("kg-rml-*"))


def test_the_quads_kept_while_mapping_are_the_records_in_the_asserted_graph(data: Path) -> None:
    from kg.derivations import quads_of
    from kg.iris import GRAPH_ASSERTED

    loaded = records(data)
    assert set(loaded.asserted_quads) == set(quads_of({GRAPH_ASSERTED: loaded.data}))
    assert len(loaded.store) == len(loaded.data)
