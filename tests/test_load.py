"""Step 1: loading; a syntax error names the file and the line."""

from pathlib import Path

import pytest

from kg.errors import DataError
from kg.load import load
from kg.namespaces import HOS, ID


def test_loads_ontology_and_data_separately(settings):
    loaded = load(settings)
    assert (HOS.Meeting, None, None) in loaded.ontology
    assert (HOS.Meeting, None, None) not in loaded.data
    assert (ID["meeting/2018-07-16-helsinki"], None, None) in loaded.data
    assert [p.name for p in loaded.origin[ID["meeting/2018-07-16-helsinki"]]] == ["meetings.ttl"]


def test_turtle_syntax_error_names_file_and_line(data_copy):
    bad = data_copy.data_dir / "zz-broken.ttl"
    bad.write_text(
        '@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:d ex:e "unterminated .\n', encoding="utf-8"
    )
    with pytest.raises(DataError) as info:
        load(data_copy)
    assert f"{bad}: line 3:" in str(info.value)
    assert "newline found in string literal" in str(info.value)


def test_missing_object_names_line(data_copy):
    bad = data_copy.data_dir / "zz-broken.ttl"
    bad.write_text("@prefix ex: <http://e/> .\n\nex:a ex:b ex:c ;\n ex:g .\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"zz-broken\.ttl: line 4: objectList expected"):
        load(data_copy)


def test_empty_data_dir_is_an_error(data_copy):
    for path in Path(data_copy.data_dir).glob("*.ttl"):
        path.unlink()
    with pytest.raises(DataError, match=r"no \*\.ttl files"):
        load(data_copy)


def _converted(loaded) -> set:
    """The ontology and asserted graphs converted from rdflib, as Loaded.store made them before
    the readers kept their quads."""
    from kg.derivations import quads_of
    from kg.iris import GRAPH_ASSERTED, GRAPH_ONTOLOGY

    return set(quads_of({GRAPH_ONTOLOGY: loaded.ontology, GRAPH_ASSERTED: loaded.data}))


def test_the_store_of_the_quads_the_readers_kept_holds_what_the_graphs_hold(settings):
    loaded = load(settings)
    assert loaded.asserted_quads  # the readers kept them
    assert set(loaded.store) == _converted(loaded)


def test_the_store_holds_what_was_added_to_the_data_after_loading(settings):
    loaded = load(settings)
    loaded.data.add((ID["meeting/x"], HOS.duration, ID["y"]))  # not among the quads the readers kept
    assert set(loaded.store) == _converted(loaded)


def test_blank_nodes_of_turtle_data_become_the_same_skolem_iris_in_every_build(tmp_path):
    """Two parses of one file give the same IRIs (a blank node's label differs each time)."""
    from rdflib import BNode

    from kg.load import GENID, parse_file, skolemized

    path = tmp_path / "r.ttl"
    path.write_text(
        "@prefix ex: <http://example.org/> .\n"
        "[] ex:p ex:a ; ex:q [ ex:r 1 ] .\n[] ex:p ex:b .\n[] ex:p ex:b .\n",
        encoding="utf-8",
    )
    first, second = skolemized(parse_file(path)), skolemized(parse_file(path))
    assert set(first) == set(second)
    assert not any(isinstance(t, BNode) for triple in first for t in triple)
    subjects = {s for s in first.subjects(unique=True)}
    assert all(str(s).startswith(GENID) for s in subjects)
    assert len(subjects) == 4  # every blank node stays itself


def test_two_blank_nodes_that_say_the_same_of_different_subjects_stay_two(tmp_path):
    """`ex:m1 ex:at [ a ex:P ]` and `ex:m2 ex:at [ a ex:P ]`: two places, not one both are at."""
    from kg.load import parse_file, skolemized

    path = tmp_path / "r.ttl"
    path.write_text(
        "@prefix ex: <http://example.org/> .\nex:m1 ex:at [ a ex:P ] .\nex:m2 ex:at [ a ex:P ] .\n",
        encoding="utf-8",
    )
    graph = skolemized(parse_file(path))
    places = {o for _, _, o in graph.triples((None, None, None)) if "genid" in str(o)}
    assert len(places) == 2 and len(graph) == 4
