"""kg.rml: the Office of the Historian's XML mapped by RML (morph-kgc) on a small copy of the records.

Each test maps a data folder holding a few of the real files (one decade of visits, one
president's trips, the presidents, the country table) with the project's mappings: a run takes
seconds, and what it must say is read from the same XML.
"""

from __future__ import annotations

import functools
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from kg import mapping_functions, rml
from kg.config import REPO_ROOT
from kg.errors import DataError
from kg.namespaces import HOS
from kg.sources import Source

HSG = REPO_ROOT / "data" / "sources" / "hsg"
ID = "https://w3id.org/hos-kg/id/"


@pytest.fixture()
def data(records_data: Path) -> Path:
    return records_data


def mapped(data: Path) -> tuple[Graph, list[rml.Problem]]:
    source = Source.records(data)
    mappings = [p for p in source.mapping_files() if p.suffix == ".ttl"]
    functions = next(p for p in source.mapping_files() if p.suffix == ".py")
    triples, problems = rml.materialize(mappings, functions, data)
    return Graph().parse(data=triples, format="nt"), problems


def records(path: Path, tag: str) -> list[ET.Element]:
    return [r for r in ET.parse(path).getroot() if r.tag == tag]


def test_every_record_of_the_files_becomes_one_event_with_its_identifier(data: Path) -> None:
    graph, _ = mapped(data)
    visits = records(data / "sources/hsg/visits/1870.xml", "visit") + records(
        data / "sources/hsg/visits/2010.xml", "visit"
    )
    trips = records(data / "sources/hsg/president-travels/trump-donald-j.xml", "trip")
    assert set(graph.subjects(None, HOS.Visit)) == {URIRef(f"{ID}visit/{v.findtext('id')}") for v in visits}
    assert set(graph.subjects(None, HOS.PresidentialTrip)) == {
        URIRef(f"{ID}trip/{t.findtext('id')}") for t in trips
    }
    visit = URIRef(f"{ID}visit/2078")
    assert graph.value(visit, URIRef("http://purl.org/dc/terms/identifier")) == Literal("hsg-visit-2078")
    assert graph.value(visit, HOS.description) == Literal("Working visit.", lang="en")
    person = graph.value(visit, HOS.participant)
    assert graph.value(person, RDFS.label) == Literal("George Papandreou", lang="en")
    title = graph.value(visit, HOS.visitorTitle)
    assert graph.value(title, HOS.titleText) == Literal("Prime Minister", lang="en")
    assert graph.value(visit, HOS.visitorCountry) == URIRef(f"{ID}place/greece")


def test_a_new_file_of_the_same_shape_adds_its_records_on_the_next_run(data: Path) -> None:
    before, _ = mapped(data)
    shutil.copy(HSG / "visits" / "1880.xml", data / "sources/hsg/visits/1880.xml")
    after, _ = mapped(data)
    added = {URIRef(f"{ID}visit/{v.findtext('id')}") for v in records(HSG / "visits/1880.xml", "visit")}
    assert added and not added & set(before.subjects(None, HOS.Visit))
    assert added <= set(after.subjects(None, HOS.Visit))


def test_a_malformed_file_stops_the_run_with_its_name_and_line(data: Path) -> None:
    bad = data / "sources/hsg/visits/1990.xml"
    bad.write_text('<?xml version="1.0"?>\n<visits>\n  <visit><id>1</id>\n</visits>\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        mapped(data)
    assert "sources/hsg/visits/1990.xml: line 4, column" in str(info.value)
    assert "not well-formed XML" in str(info.value)


def test_a_record_with_an_impossible_date_is_kept_with_what_it_has_and_reported(data: Path) -> None:
    path = data / "sources/hsg/visits/2010.xml"
    text = path.read_text(encoding="utf-8").replace(
        "<start-date>2010-03-08</start-date>\n        <end-date>2010-03-09</end-date>",
        "<start-date>2010-02-30</start-date>\n        <end-date>2010-03-09</end-date>",
    )
    path.write_text(text, encoding="utf-8")
    graph, problems = mapped(data)
    visit = URIRef(f"{ID}visit/2078")
    assert (visit, None, HOS.Visit) in graph
    assert graph.value(visit, HOS.startDate) is None  # not asserted: the record's date is no date
    assert str(graph.value(visit, HOS.endDate)) == "2010-03-09"
    assert (
        rml.Problem(
            "visit 2078", "sources/hsg/visits/2010.xml", "start-date", "impossible date: '2010-02-30'"
        )
        in problems
    )


def test_quotation_marks_and_backslashes_in_a_record_survive_the_mapping(data: Path) -> None:
    # morph-kgc 2.10 writes function-made literals unescaped: kg.rml escapes them (see its docstring).
    path = data / "sources/hsg/visits/2010.xml"
    said = 'Working visit. Said "hello" \\ left.'
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "<description>Working visit.</description>", f"<description>{said}</description>", 1
        ),
        encoding="utf-8",
    )
    graph, _ = mapped(data)
    assert Literal(said, lang="en") in set(graph.objects(None, HOS.description))


def test_records_with_missing_fields_are_reported_not_dropped(data: Path) -> None:
    _, problems = mapped(data)
    # Trip 3734 of the real file has an empty locale (the publisher's data, unchanged).
    assert (
        rml.Problem("trip 3734", "sources/hsg/president-travels/trump-donald-j.xml", "locale", "missing")
        in problems
    )


def test_a_function_is_computed_once_a_run_for_the_same_arguments(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rules call the same function on the same records (the visit's kind, as its object and as the
    # kind's subject): each answer is kept for the run.
    calls: list[str | None] = []
    real = mapping_functions.visit_kind
    monkeypatch.setattr(mapping_functions, "visit_kind", lambda d: calls.append(d) or real(d))
    graph, _ = mapped(data)
    visits = records(data / "sources/hsg/visits/1870.xml", "visit") + records(
        data / "sources/hsg/visits/2010.xml", "visit"
    )
    assert len(calls) == len(set(calls)) <= len({v.findtext("description") for v in visits})
    assert graph.value(URIRef(f"{ID}visit/2078"), HOS.visitKind) == URIRef(f"{ID}visit-kind/working-visit")


def test_a_run_takes_the_visitors_spellings_from_the_records_it_read(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @functools.cache
    def reread(folder: object = None) -> dict[str, str]:
        raise AssertionError("the visits folder was parsed a second time")

    monkeypatch.setattr(mapping_functions, "_spellings", reread)
    graph, _ = mapped(data)
    person = graph.value(URIRef(f"{ID}visit/2078"), HOS.participant)
    assert graph.value(person, RDFS.label) == Literal("George Papandreou", lang="en")


@pytest.mark.parametrize("kind", [HOS.Person, HOS.Country])
def test_alternative_labels_are_the_spellings_other_than_the_label(data: Path, kind: URIRef) -> None:
    graph, _ = mapped(data)
    named = set(graph.subjects(RDF.type, kind))
    assert named and any(graph.objects(s, SKOS.altLabel) for s in named)
    for s in named:
        labels = set(graph.objects(s, RDFS.label))
        assert labels and not labels & set(graph.objects(s, SKOS.altLabel)), s


def _rows(result) -> Counter:
    return Counter(frozenset((str(k), v) for k, v in row.items()) for row in result.bindings)


def test_oxigraph_gives_the_mapping_parser_the_rows_rdflib_gives(
    data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # kg.rml has Oxigraph answer the SPARQL queries morph-kgc's mapping parser asks of the
    # mappings (rdflib took 1.2 s of a run): each is asked of rdflib too, and the rows compared.
    from morph_kgc.args_parser import load_config_from_argument
    from morph_kgc.mapping.mapping_parser import MappingParser

    asked: list[str] = []
    answer, by_rdflib = rml._MappingGraph.query, Graph.query

    def both(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        quick = answer(self, query, *args, **kwargs)
        assert _rows(quick) == _rows(by_rdflib(self, query)), query
        asked.append(query)
        return quick

    def refused(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError(f"Oxigraph did not answer {query}")

    monkeypatch.setattr(rml._MappingGraph, "query", both)
    monkeypatch.setattr(Graph, "query", refused)
    mapping_functions.use_data_dir(data)
    mappings = sorted((data / "mappings").glob("*.rml.ttl"))
    local, _, documents = rml._prepare(mappings, data, tmp_path)
    config = f"[CONFIGURATION]\nlogging_level=WARNING\n[hsg]\nmappings={','.join(map(str, local))}\n"
    with rml._mended(documents):
        rules, functions, _ = MappingParser(load_config_from_argument(config)).parse_mappings()
    assert len(asked) > 80 and len(rules) > 100 and len(functions) > 90


def test_what_saves_time_changes_no_triple(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A record with two descriptions: a reference with several values, which morph-kgc explodes;
    # and an identifier with a carriage return, which the joined document, written and read back
    # as morph-kgc reads it, has as a line feed.
    path = data / "sources/hsg/visits/2010.xml"
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("<id>2078</id>", "<id>2078&#13;</id>")
        .replace(
            "<description>Working visit.</description>",
            "<description>Working visit.</description><description>State visit.</description>",
            1,
        ),
        encoding="utf-8",
    )
    quick = mapped(data)
    monkeypatch.setattr(rml, "_mended", functools.partial(rml._mended, quick=False))
    slow = mapped(data)
    assert set(quick[0]) == set(slow[0]) and quick[1] == slow[1]
    assert Literal("State visit.", lang="en") in set(quick[0].objects(None, HOS.description))
    assert (URIRef(f"{ID}visit/2078%0A"), None, HOS.Visit) in quick[0]


def test_a_mapping_graph_oxigraph_cannot_hold_is_queried_by_rdflib() -> None:
    graph = Graph()
    graph.add((Literal("a literal as subject"), URIRef("urn:x:p"), URIRef("urn:x:o")))
    mapping = rml._MappingGraph(graph)
    assert mapping.copy is None
    rows = [tuple(row) for row in mapping.query("SELECT ?s ?o WHERE { ?s <urn:x:p> ?o . }")]
    assert rows == [(Literal("a literal as subject"), URIRef("urn:x:o"))]
