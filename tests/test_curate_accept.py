"""`kg link accept FILE`: the reviewed candidates into data/wikidata-links.ttl, with who accepted each,
when and on what evidence; checked whole before anything is written; in the graph after a build.

The graph the rows are checked against is the seed text's, built once for the module (not
reasoned: accept reads the asserted graph). Its summit editions have no link to Wikidata; the item
ids are invented (Q900000xxx, as in tests/data/wikidata/suggest.ttl).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import FOAF, OWL, PROV, RDF, RDFS, Graph, Literal, URIRef

from kg.config import Settings
from kg.curate import accept, suggest, wikidata_links
from kg.curate.candidates import Candidate, Entity
from kg.curate.suggest import COLUMNS
from kg.errors import BadRequest, DataError
from kg.iris import HOS
from kg.pipeline import build
from kg.store import KnowledgeGraph

EVENT, WD = "https://w3id.org/hos-kg/id/event/", "http://www.wikidata.org/entity/"
HAMBURG, OSAKA, DA_NANG, BUENOS_AIRES = (
    EVENT + e for e in ("g20-2017-hamburg", "g20-2019-osaka", "apec-2017-da-nang", "g20-2018-buenos-aires")
)


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("accept-build")
    build(Settings(build_dir=folder, reason=False, dumps=False))
    return folder


@pytest.fixture()
def settings(seed: Path, tmp_path: Path) -> Settings:
    """The module's build to check rows against; a data folder of the test's own to write into."""
    (tmp_path / "data").mkdir()
    return Settings(data_dir=tmp_path / "data", build_dir=seed)


def row(decision: str, iri: str, qid: str, score: str = "0.95", ambiguous: str = "no") -> list[str]:
    label = iri.rsplit("/", 1)[-1]
    return [decision, iri, label, "summit", qid, f"Wikidata's {label}", score, ambiguous,
            f"dated on our days of {label} (+0.4); its label names our series (+0.3)",
            "2026-12-01T10:00:00+00:00"]  # fmt: skip


def review(path: Path, *rows: list[str]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [list(COLUMNS), *rows]) + "\n", encoding="utf-8")
    return path


def links(settings: Settings) -> Graph:
    return Graph().parse(settings.data_dir / "wikidata-links.ttl", format="turtle")


def test_the_accepted_rows_and_only_they_are_written_with_who_when_and_why(settings, tmp_path):
    file = review(
        tmp_path / "review.tsv",
        row("accept", HAMBURG, "Q900000034"),
        row("reject", OSAKA, "Q900000035"),
        row("", DA_NANG, "Q900000036"),
        row("Accept", BUENOS_AIRES, "Q900000037", "0.40", "yes: 2 candidates within 0.1 of the best score"),
    )
    summary = accept.command(settings, file, "Jane Doe", None)
    assert summary.startswith(f"Accepted 2 new links into {settings.data_dir / 'wikidata-links.ttl'}.")
    graph = links(settings)
    assert set(graph.subject_objects(OWL.sameAs)) == {
        (URIRef(HAMBURG), URIRef(WD + "Q900000034")),
        (URIRef(BUENOS_AIRES), URIRef(WD + "Q900000037")),
    }
    acceptance = graph.value(None, URIRef(HOS + "linkedEntity"), URIRef(HAMBURG))
    assert (acceptance, URIRef(HOS + "linkedItem"), URIRef(WD + "Q900000034")) in graph
    assert (acceptance, RDF.type, URIRef(HOS + "LinkAcceptance")) in graph
    assert graph.value(graph.value(acceptance, PROV.wasAttributedTo), FOAF.name) == Literal("Jane Doe")
    assert str(graph.value(acceptance, PROV.generatedAtTime)).startswith("20")
    assert str(graph.value(acceptance, URIRef(HOS + "evidence"))).startswith("dated on our days")
    assert str(graph.value(acceptance, URIRef(HOS + "score"))) == "0.95"
    assert str(graph.value(acceptance, URIRef(HOS + "candidateLabel"))) == "Wikidata's g20-2017-hamburg"
    assert str(graph.value(acceptance, URIRef(HOS + "reviewFile"))) == "review.tsv"
    assert str(graph.value(acceptance, URIRef(HOS + "retrievedAt"))).startswith("2026-12-01T10:00:00")
    other = graph.value(None, URIRef(HOS + "linkedEntity"), URIRef(BUENOS_AIRES))
    why = str(graph.value(other, RDFS.comment))
    assert "decision “accept” on line 5 of review.tsv" in why
    assert "marked ambiguous: 2 candidates within 0.1 of the best score" in why
    text = (settings.data_dir / "wikidata-links.ttl").read_text(encoding="utf-8")
    assert "verified table of Wikidata" in text  # the header says what the file is
    assert text.index(HAMBURG) < text.index(BUENOS_AIRES)  # sorted by entity IRI


def test_accepting_the_same_file_again_adds_nothing(settings, tmp_path):
    file = review(tmp_path / "review.tsv", row("accept", HAMBURG, "Q900000034"))
    accept.command(settings, file, "Jane Doe", None)
    first = (settings.data_dir / "wikidata-links.ttl").read_bytes()
    summary = accept.command(settings, file, "Someone Else", None)
    assert "Accepted 0 new links" in summary and "(1 already there)" in summary
    assert (settings.data_dir / "wikidata-links.ttl").read_bytes() == first
    more = review(tmp_path / "more.tsv", row("accept", OSAKA, "Q900000035"))
    accept.command(settings, more, "Jane Doe", None)  # a second file merges with the first
    assert len(set(links(settings).subjects(OWL.sameAs))) == 2


def test_auto_takes_the_unambiguous_high_scores_only(settings, tmp_path):
    file = review(
        tmp_path / "review.tsv",
        row("", HAMBURG, "Q900000034", "0.95"),  # taken
        row("", OSAKA, "Q900000035", "0.95", "yes: Q900000035 is also proposed for …"),  # ambiguous
        row("", DA_NANG, "Q900000036", "0.50"),  # too low
        row("", BUENOS_AIRES, "Q900000037", "0.95"),  # two candidates of one entity above the bar
        row("", BUENOS_AIRES, "Q900000038", "0.92"),
        row("reject", EVENT + "armistice-centenary-2018-paris", "Q900000039", "1.00"),  # rejected
    )
    summary = accept.command(settings, file, "Jane Doe", 0.9)
    assert set(links(settings).subject_objects(OWL.sameAs)) == {(URIRef(HAMBURG), URIRef(WD + "Q900000034"))}
    assert "by --auto 0.9: 1" in summary and "left for review: 2" in summary
    graph = links(settings)
    comment = str(graph.value(graph.value(None, URIRef(HOS + "linkedEntity"), URIRef(HAMBURG)), RDFS.comment))
    assert "`kg link accept --auto`: undecided on line 2 of review.tsv, not ambiguous, score 0.95" in comment


@pytest.mark.parametrize(
    ("rows", "line", "words"),
    [
        ([row("maybe", HAMBURG, "Q900000034")], 2, "decision 'maybe': write accept or reject"),
        (
            [row("accept", HAMBURG, "Q900000034"), row("accept", OSAKA, "P31")],
            3,
            "'P31' is not a Wikidata item",
        ),
        ([row("accept", EVENT + "g20-2030-nowhere", "Q900000034")], 2, "is not in the graph"),
        ([row("accept", HAMBURG, "Q900000034")[:-1]], 2, "9 columns, the header has 10"),
        ([row("accept", HAMBURG, "Q900000034", "1.5")], 2, "score 1.5: from 0 to 1"),
        ([row("accept", HAMBURG, "Q900000034"), row("accept", HAMBURG, "Q900000035")], 3, "accepted twice"),
        ([row("accept", HAMBURG, "Q900000034"), row("accept", OSAKA, "Q900000034")], 3, "accepted twice"),
        (
            [row("accept", "https://w3id.org/hos-kg/id/place/hamburg", "Q900000034")],
            2,
            "already linked to Q1055",
        ),
        (
            [row("accept", HAMBURG, "Q1055")],
            2,
            "Q1055 is already the link of https://w3id.org/hos-kg/id/place/hamburg",
        ),
    ],
    ids=[
        "decision",
        "qid",
        "not-in-graph",
        "columns",
        "score",
        "two-items",
        "two-entities",
        "linked",
        "item-taken",
    ],
)
def test_a_bad_line_is_an_error_naming_file_and_line_and_nothing_is_written(
    settings, tmp_path, rows, line, words
):
    accept.command(settings, review(tmp_path / "first.tsv", row("accept", DA_NANG, "Q900000036")), "J", None)
    before = (settings.data_dir / "wikidata-links.ttl").read_bytes()
    file = review(tmp_path / "review.tsv", *rows)
    with pytest.raises(DataError) as caught:
        accept.command(settings, file, "Jane Doe", None)
    assert f"{file}, line {line}: " in caught.value.message and words in caught.value.message
    assert (settings.data_dir / "wikidata-links.ttl").read_bytes() == before


@pytest.mark.parametrize(
    "retrieved",
    [
        "2026-12-01",
        "2026-12-01 10:00:00",
        "2026-W01-1",
        "2026-12-01T10:00:00",
        "2026-12-01T10:00:00+00:00:30",
        "2026-12-01T10:00:00+15:00",
        "yesterday",
    ],
)
def test_a_retrieved_date_that_is_no_date_time_with_a_zone_is_an_error_naming_file_and_line(
    settings, tmp_path, retrieved
):
    cells = row("accept", OSAKA, "Q900000035")
    file = review(tmp_path / "review.tsv", row("accept", HAMBURG, "Q900000034"), [*cells[:-1], retrieved])
    with pytest.raises(DataError) as caught:
        accept.command(settings, file, "Jane Doe", None)
    assert caught.value.message.startswith(f"{file}, line 3: retrieved {retrieved!r}: ")
    assert "date and time with a time zone" in caught.value.message
    assert not (settings.data_dir / "wikidata-links.ttl").exists()


@pytest.mark.parametrize(
    ("retrieved", "written"),
    [
        ("2026-12-01T10:00:00+00:00", "2026-12-01T10:00:00+00:00"),
        ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00+00:00"),
        ("2026-12-01 11:30:00+01:30", "2026-12-01T11:30:00+01:30"),  # a spreadsheet's space
        ("2026-12-01T10:00:00.250-05:00", "2026-12-01T10:00:00.250000-05:00"),
    ],
)
def test_a_retrieved_date_time_is_written_as_xsd_date_time_and_read_back(
    settings, tmp_path, retrieved, written
):
    cells = row("accept", HAMBURG, "Q900000034")
    file = review(tmp_path / "review.tsv", [*cells[:-1], retrieved])
    accept.command(settings, file, "Jane Doe", None)
    path = settings.data_dir / "wikidata-links.ttl"
    assert f'hos:retrievedAt "{written}"^^xsd:dateTime ;' in path.read_text(encoding="utf-8")
    (value,) = links(settings).objects(None, URIRef(HOS + "retrievedAt"))
    assert not value.ill_typed and value.toPython().isoformat() == written
    assert [k.retrieved for k in wikidata_links.load(path)] == [written]
    assert "Accepted 0 new links" in accept.command(settings, file, "Jane Doe", None)  # read back, the same


def test_a_links_file_with_an_ill_typed_date_is_refused(settings, tmp_path):
    file = review(tmp_path / "review.tsv", row("accept", HAMBURG, "Q900000034"))
    accept.command(settings, file, "Jane Doe", None)
    path = settings.data_dir / "wikidata-links.ttl"
    path.write_text(
        path.read_text(encoding="utf-8").replace('"2026-12-01T10:00:00+00:00"', '"2026-12-01"'),
        encoding="utf-8",
    )
    with pytest.raises(
        DataError, match=r"retrievedAt '2026-12-01[^']*': not a date and time with a time zone"
    ):
        wikidata_links.load(path)


def test_cells_written_as_text_for_a_spreadsheet_are_read_back_as_they_were(settings, tmp_path):
    entity = Entity(HAMBURG, "summit")
    entity.names[Literal('=HYPERLINK("https://evil.example/","G20")', lang="en")] = False
    c = Candidate(
        entity, WD + "Q900000034", label="+cmd|' /C calc'!A0", retrieved="2026-12-01T10:00:00+00:00"
    )
    c.add("dates", "@SUM(1+1)")
    file = tmp_path / "review.tsv"
    suggest.write(file, [c])
    text = file.read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in text and "\t'+cmd" in text and "\t'@SUM" in text
    file.write_text(text.replace("\n\t", "\naccept\t"), encoding="utf-8")
    (read,) = accept.read(file)
    assert (read.label, read.candidate_label, read.evidence) == (
        '=HYPERLINK("https://evil.example/","G20")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1) (+0.4)",
    )
    accept.command(settings, file, "Jane Doe", None)
    graph = links(settings)
    acceptance = graph.value(None, URIRef(HOS + "linkedEntity"), URIRef(HAMBURG))
    assert str(graph.value(acceptance, URIRef(HOS + "candidateLabel"))) == "+cmd|' /C calc'!A0"
    assert str(graph.value(acceptance, URIRef(HOS + "evidence"))) == "@SUM(1+1) (+0.4)"


def test_not_a_review_file_and_a_hand_edited_links_file_are_refused(settings, tmp_path):
    bad = tmp_path / "notes.tsv"
    bad.write_text("name\tqid\nHamburg\tQ1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"notes\.tsv, line 1: not a review file of `kg link suggest`"):
        accept.command(settings, bad, "Jane Doe", None)
    accept.command(settings, review(tmp_path / "r.tsv", row("accept", HAMBURG, "Q900000034")), "J", None)
    path = settings.data_dir / "wikidata-links.ttl"
    path.write_text(
        path.read_text(encoding="utf-8") + f"<{OSAKA}> <{OWL.sameAs}> <{WD}Q9> .\n", encoding="utf-8"
    )
    edited = path.read_bytes()
    with pytest.raises(DataError, match="did not write"):
        accept.command(settings, review(tmp_path / "s.tsv", row("accept", DA_NANG, "Q900000036")), "J", None)
    assert path.read_bytes() == edited


def test_who_accepts_is_by_else_git_else_the_user(monkeypatch):
    assert accept.curator("  Jane Doe ") == "Jane Doe"
    monkeypatch.setenv("PATH", "")  # no git to ask
    monkeypatch.setenv("USER", "alice")
    assert accept.curator(None) == "alice"
    monkeypatch.delenv("USER")
    monkeypatch.delenv("LOGNAME", raising=False)
    with pytest.raises(BadRequest, match="--by NAME"):
        accept.curator(None)


def test_after_accepting_a_build_has_the_link_and_its_acceptance(data_copy, seed, tmp_path):
    file = review(tmp_path / "review.tsv", row("accept", HAMBURG, "Q900000034"))
    accept.command(dataclasses.replace(data_copy, build_dir=seed), file, "Jane Doe", None)
    build(data_copy)  # validated (SHACL and QC checks) and reasoned as `kg build` does
    found = KnowledgeGraph.open(data_copy.build).query(
        """PREFIX hos: <https://w3id.org/hos-kg/ontology#>
        PREFIX owl: <http://www.w3.org/2002/07/owl#>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX foaf: <http://xmlns.com/foaf/0.1/>
        SELECT ?item ?who ?when ?evidence WHERE { GRAPH <https://w3id.org/hos-kg/graph/asserted> {
          ?entity owl:sameAs ?item .
          ?acceptance a hos:LinkAcceptance ; hos:linkedEntity ?entity ; hos:linkedItem ?item ;
            prov:wasAttributedTo/foaf:name ?who ; prov:generatedAtTime ?when ; hos:evidence ?evidence .
        } }"""
    )
    rows = [(r["item"].value, r["who"].value, r["evidence"].value) for r in found]  # type: ignore[union-attr]
    assert rows == [(WD + "Q900000034", "Jane Doe", row("", HAMBURG, "")[8])]


def test_suggest_then_accept_on_the_command_line(seed, wikidata, tmp_path):
    env = {**os.environ, "KG_BUILD_DIR": str(seed), "KG_DATA_DIR": str(tmp_path), "KG_RECORDS": "0"}
    file = tmp_path / "review.tsv"

    def kg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "kg", "link", *args], env=env, capture_output=True, text=True, timeout=120
        )

    suggested = kg("suggest", "--endpoint", wikidata.url, "--kind", "summit", "-o", str(file))
    assert suggested.returncode == 0, suggested.stderr
    accepted = kg("accept", str(file), "--by", "Jane Doe", "--auto", "0.9")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith("Accepted 1 new links") and "kg build" in accepted.stdout
    assert (URIRef(HAMBURG), OWL.sameAs, URIRef(WD + "Q900000034")) in Graph().parse(
        tmp_path / "wikidata-links.ttl"
    )
    text = file.read_text(encoding="utf-8")
    file.write_text(text + "perhaps\t" + "\t".join(row("", OSAKA, "Q1")[1:]) + "\n", encoding="utf-8")
    refused = kg("accept", str(file), "--by", "Jane Doe")
    line = len(text.splitlines()) + 1
    assert refused.returncode == 1 and f"line {line}: decision 'perhaps'" in refused.stderr
    assert "Traceback" not in refused.stderr
