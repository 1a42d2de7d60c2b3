"""`kg link suggest`: candidates for unlinked people, places and summit editions, from the graph's
evidence, against the local stand-in for Wikidata (tests/data/wikidata/suggest.ttl's items).

The graph is a small real build: the seed text (with Putin's link taken out, so that a person with
names in three languages is unlinked) and the Office of the Historian's visits of the 2010s and
Trump's trips, not reasoned (suggest reads the asserted graph): 12 s, not the records' minute.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Literal
from rdflib.plugins.sparql import prepareQuery

from kg.config import REPO_ROOT, Settings
from kg.curate import candidates, suggest
from kg.curate.client import WikidataClient
from kg.pipeline import build
from tests.wikidata_standin import start

PERSON, PLACE, EVENT = (f"https://w3id.org/hos-kg/id/{k}/" for k in ("person", "place", "event"))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("suggest")
    data, source = root / "data", REPO_ROOT / "data"
    data.mkdir()
    for path in source.glob("*.ttl"):
        shutil.copy(path, data)
    entities = (data / "entities.ttl").read_text(encoding="utf-8")
    unlinked = entities.replace("    owl:sameAs wd:Q7747 ;\n", "")  # Putin's link
    assert unlinked != entities
    (data / "entities.ttl").write_text(unlinked, encoding="utf-8")
    shutil.copytree(source / "mappings", data / "mappings")
    hsg = data / "sources" / "hsg"
    (hsg / "visits").mkdir(parents=True)
    (hsg / "president-travels").mkdir()
    shutil.copy(source / "sources/hsg/visits/2010.xml", hsg / "visits")
    shutil.copy(source / "sources/hsg/president-travels/trump-donald-j.xml", hsg / "president-travels")
    shutil.copytree(source / "sources/hsg/presidents", hsg / "presidents")
    shutil.copy(source / "sources/hsg/countries-wikidata.tsv", hsg)
    settings = Settings(data_dir=data, build_dir=root / "build", records=True, reason=False, dumps=False)
    build(settings)
    return settings


@pytest.fixture(scope="module")
def run(small: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, str]]]:
    """One run over every kind, shared by the tests that read its rows (each run asks ~18 requests);
    a stand-in of the module's own, as the `wikidata` fixture is made per test."""
    standin = start()
    try:
        path = tmp_path_factory.mktemp("review") / "review.tsv"
        summary = suggest.command(
            small, WikidataClient(endpoint=standin.url), ("person", "place", "summit"), None, path
        )
        assert not [s.query for s in standin.seen if "SERVICE" in s.query or "wikibase:label" in s.query]
    finally:
        standin.close()
    return summary, _read(path)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _rows(rows: list[dict[str, str]], iri: str) -> dict[str, dict[str, str]]:
    return {r["qid"]: r for r in rows if r["iri"] == iri}


def test_a_leader_found_by_label_holding_the_position_on_the_day_of_a_visit_scores_high(run):
    _, rows = run
    key = _rows(rows, PERSON + "hsg-new-zealand-john-key")
    best = key["Q900000001"]
    assert (best["decision"], best["kind"], best["label"], best["candidate_label"]) == (
        "", "person", "John Key", "John Key"
    )  # fmt: skip
    assert best["score"] == "1.00" and best["ambiguous"] == "no"
    assert "our label “John Key”@en is the item's label (+0.4)" in best["evidence"]
    assert "citizen (P27) of New Zealand (Q664), their country in our graph (+0.2)" in best["evidence"]
    assert (
        "held Prime Minister of New Zealand (Q900000101), head of government of New Zealand, "
        "from 2008-11-19 to 2016-12-12, over our visit of 2010-04-12 (+0.4)"
    ) in best["evidence"]
    # a namesake: two humans with one name, but only the first held the position over our days:
    # what the graph knows tells them apart, and neither is ambiguous
    assert key["Q900000005"]["score"] == "0.40" and key["Q900000005"]["ambiguous"] == "no"
    assert "held" not in key["Q900000005"]["evidence"]
    assert "Q900000006" not in key  # a ship of that name is not a human


def test_a_person_found_by_an_alias_in_another_language(run):
    _, rows = run
    putin = _rows(rows, PERSON + "vladimir-putin")["Q900000002"]
    assert putin["label"] == "Vladimir Putin" and putin["candidate_label"] == "V. V. Putin"
    assert putin["evidence"].startswith("our label “Владимир Путин”@ru is one of the item's aliases (+0.3)")
    assert "President of Russia (Q900000102), head of state of Russia, from 2012-05-07" in putin["evidence"]
    assert putin["score"] == "0.90"


def test_two_people_with_one_name_are_both_ambiguous(run):
    _, rows = run
    harper = _rows(rows, PERSON + "hsg-canada-stephen-harper")
    assert set(harper) >= {"Q900000003", "Q900000004"}
    for qid, other in (("Q900000003", "Q900000004"), ("Q900000004", "Q900000003")):
        assert harper[qid]["score"] == "0.60"
        assert harper[qid]["ambiguous"] == f"yes: 2 humans share this name (also {other})"
    assert "is the item's label in “mul”" in harper["Q900000004"]["evidence"]


def test_two_people_with_one_name_scoring_apart_are_both_ambiguous(run):
    # 0.6 (name and citizenship) and 0.4 (the name): further apart than the margin, but a
    # citizenship is no proof against a namesake, so --auto must not take the first
    _, rows = run
    may = _rows(rows, PERSON + "hsg-united-kingdom-theresa-may")
    assert (may["Q900000007"]["score"], may["Q900000008"]["score"]) == ("0.60", "0.40")
    assert may["Q900000007"]["ambiguous"] == "yes: 2 humans share this name (also Q900000008)"
    assert may["Q900000008"]["ambiguous"] == "yes: 2 humans share this name (also Q900000007)"


def _person(entity: candidates.Entity, qid: str, *evidence: str) -> candidates.Candidate:
    c = candidates.Candidate(entity, candidates.WD + qid)
    for kind in evidence:
        c.add(kind, kind)
    return c


@pytest.mark.parametrize(
    ("first", "second", "ambiguous"),
    [
        (("label", "citizen"), ("label",), True),  # 0.6 and 0.4: a citizenship tells nobody apart
        (("label", "citizen", "position-other-days"), ("alias",), True),
        (("label", "citizen", "position"), ("label", "citizen"), False),  # the position over our days
        (("alias", "position"), ("label", "citizen", "position-other-days"), True),  # 0.7 and 0.7
        (("label", "position"), ("label", "position"), True),  # both held it over our days
    ],
)
def test_namesakes_are_ambiguous_unless_the_best_alone_held_the_position_over_our_days(
    first, second, ambiguous
):
    entity = candidates.Entity(PERSON + "someone", "person")
    kept = suggest.best([_person(entity, "Q1", *first), _person(entity, "Q2", *second)])
    assert [bool(c.ambiguous) for c in kept] == [ambiguous, ambiguous]


def test_one_person_candidate_and_two_places_of_one_name_are_not_namesakes():
    person = candidates.Entity(PERSON + "someone", "person")
    assert [c.ambiguous for c in suggest.best([_person(person, "Q1", "label", "citizen")])] == [""]
    place = candidates.Entity(PLACE + "somewhere", "place")
    found = [_person(place, "Q1", "label", "country", "settlement"), _person(place, "Q2", "label", "country")]
    assert [c.ambiguous for c in suggest.best(found)] == ["", ""]  # 1.0 and 0.8: the margin's rule


@pytest.mark.parametrize(
    ("start", "written"),
    [
        ("=", "="),
        ("+", "+"),
        ("-", "-"),
        ("@", "@"),
        ("\t=", " ="),
        ("\r\n=", " ="),
        (" @", " @"),
        ("'=", "'="),
    ],
)
def test_cells_a_spreadsheet_would_evaluate_are_written_as_text(tmp_path, start, written):
    entity = candidates.Entity(PERSON + "someone", "person")
    entity.names[Literal(f"{start}1+1", lang="en")] = False
    c = candidates.Candidate(entity, candidates.WD + "Q1", label=f'{start}HYPERLINK("https://evil.example/")')
    c.add("label", f"{start}cmd|' /C calc'!A0")
    path = tmp_path / "review.tsv"
    suggest.write(path, [c])
    row = _read(path)[0]  # a tab or a line break in a cell is written as a space
    assert row["label"] == f"'{written}1+1"
    assert row["candidate_label"] == f'\'{written}HYPERLINK("https://evil.example/")'
    assert row["evidence"] == f"'{written}cmd|' /C calc'!A0 (+0.4)"
    assert row["iri"] == entity.iri and row["qid"] == "Q1" and row["ambiguous"] == "no"
    assert row["score"] == "0.40" and row["retrieved"] == ""


@pytest.mark.parametrize("name", ["'s-Hertogenbosch", "O'Neill", "1+1", "Jean-Claude", ""])
def test_cells_no_spreadsheet_evaluates_are_written_as_they_are(name):
    assert suggest.text_cell(name) == name and suggest.read_cell(name) == name


def test_a_place_by_name_in_its_country(run):
    _, rows = run
    taormina = _rows(rows, PLACE + "hsg-italy-taormina")
    assert list(taormina) == ["Q900000021"]  # not the Taormina of another country
    row = taormina["Q900000021"]
    assert row["kind"] == "place" and row["score"] == "1.00"
    assert "in Italy (Q38) (P17), our place's country (+0.4)" in row["evidence"]
    assert "a human settlement: instance of comune of Italy (Q900000120) (+0.2)" in row["evidence"]


def test_a_summit_edition_by_series_and_date(run):
    _, rows = run
    hamburg = _rows(rows, EVENT + "g20-2017-hamburg")["Q900000034"]
    assert hamburg["kind"] == "summit" and hamburg["score"] == "1.00"
    for words in (
        "dated 2017-07-07 to 2017-07-08",
        "its label “2017 G20 Hamburg summit” names our series g20 (+0.3)",
        "part of (P361/P179) Q19771, the item of our series g20 (+0.3)",
        "location (P276) Q1055, the item of our edition's place (+0.2)",
    ):
        assert words in hamburg["evidence"]
    nss = _rows(rows, EVENT + "hsg-nuclear-security-summit-2010-04")
    assert list(nss) == ["Q900000031"]  # not the summit of the same days that names no series of ours
    assert nss["Q900000031"]["score"] == "0.70"
    assert "within our days 2010-04-11 to 2010-04-14" in nss["Q900000031"]["evidence"]


def test_an_entity_without_a_candidate_has_no_row_and_the_summary_counts_it(run):
    summary, rows = run
    assert not _rows(rows, PERSON + "hsg-pakistan-asif-ali-zardari")
    entities = {r["iri"] for r in rows}
    assert f"{len(entities)} with candidates" in summary
    assert "without (" in summary and f"Candidates: {len(rows)}, ambiguous: " in summary
    assert all(r["retrieved"] for r in rows)
    assert all(r["ambiguous"] == "no" or r["ambiguous"].startswith("yes: ") for r in rows)


def test_one_item_proposed_for_two_entities_is_ambiguous_for_both():
    one, two = (candidates.Entity(f"{PERSON}{n}", "person") for n in ("a", "b"))
    found = []
    for entity in (one, two):
        c = candidates.Candidate(entity, candidates.WD + "Q1")
        c.add("label", "the same name")
        found.append(c)
    kept = suggest.best(found)
    assert [c.ambiguous for c in kept] == [
        f"Q1 is also proposed for {two.iri}",
        f"Q1 is also proposed for {one.iri}",
    ]


def test_kinds_and_limit_narrow_the_look_up_and_a_second_run_asks_nothing(small, wikidata, tmp_path):
    client = WikidataClient(endpoint=wikidata.url, cache_dir=tmp_path / "cache")
    summary = suggest.command(small, client, ("summit",), 2, tmp_path / "a.tsv")
    assert summary.startswith("Looked up 2 unlinked entities (summits 2)")
    asked = client.requests
    again = WikidataClient(endpoint=wikidata.url, cache_dir=tmp_path / "cache", offline=True)
    suggest.command(small, again, ("summit",), 2, tmp_path / "b.tsv")
    assert asked > 0 and again.requests == 0
    assert (tmp_path / "a.tsv").read_text(encoding="utf-8") == (tmp_path / "b.tsv").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    "path", sorted((REPO_ROOT / "src/kg/curate").glob("suggest-*.rq")), ids=lambda p: p.name
)
def test_the_wikidata_queries_are_plain_sparql_with_one_values_to_fill(path: Path):
    text = path.read_text(encoding="utf-8")
    prepareQuery(text)  # SPARQL 1.1 as rdflib reads it: no WDQS-only syntax
    assert "SERVICE" not in text and "wikibase:label" not in text and "mwapi" not in text
    assert text.count("{}") == 1


def test_the_command_line_writes_the_review_file(small, wikidata, tmp_path):
    output = tmp_path / "review.tsv"
    env = {**os.environ, "KG_BUILD_DIR": str(small.build_dir), "KG_DATA_DIR": str(small.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "kg", "link", "suggest", "--endpoint", wikidata.url, "--kind", "place",
         "-o", str(output)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Looked up ") and str(output) in done.stdout
    rows = _read(output)
    assert list(rows[0]) == list(suggest.COLUMNS)
    assert {r["kind"] for r in rows} == {"place"} and "Q900000021" in {r["qid"] for r in rows}
