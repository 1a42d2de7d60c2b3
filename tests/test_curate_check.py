"""`kg link check` against the local stand-in for Wikidata (tests/wikidata_standin.py) holding
tests/data/wikidata/*.ttl: the seed build's links and data/'s tables, and links made here to the
extract's altered items (check.ttl says what each one is). Every case gives the report it should."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, Graph, URIRef

from kg.config import REPO_ROOT, Settings
from kg.curate import check, links
from kg.curate.client import WikidataClient
from kg.errors import NotBuilt
from kg.iris import HOS, ID

FOLDER = REPO_ROOT / "src" / "kg" / "curate"
# Items of the extract the seed build or data/'s tables name, each as it is in Wikidata: all ok.
OK = {"Q5", "Q30", "Q33", "Q159", "Q1757", "Q7747", "Q15180", "Q22686"}
# Links of ours to the extract's altered items (invented ids, see check.ttl).
ALTERED = [
    ("Q99000001", "person/boris-yeltsin", "person", ("Boris Yeltsin",)),
    ("Q99000002", "person/konstantin-chernenko", "person", ("Konstantin Chernenko",)),
    ("Q99000003", "place/salisbury", "city", ("Salisbury",)),
    ("Q99000004", "place/washington", "city", ("Washington", "Washington, D.C.")),
    ("Q99000005", "person/george-h-w-bush", "person", ("George Bush", "George H. W. Bush")),
    ("Q99000005", "person/george-w-bush", "person", ("George Bush", "George W. Bush")),
]
STATUS = {q: "ok" for q in OK} | {
    "Q99000001": "redirect",
    "Q99000002": "missing",
    "Q99000003": "relabelled",
    "Q99000004": "wrong type",
    "Q99000005": "shared link",
}


@pytest.fixture()
def waits() -> list[float]:
    return []


@pytest.fixture()
def client(wikidata, waits, tmp_path) -> WikidataClient:
    return WikidataClient(
        endpoint=wikidata.url, cache_dir=tmp_path / "cache", backoff=0.5, sleep=waits.append
    )


@pytest.fixture(scope="module")
def seed_links(settings: Settings, built) -> list[links.Link]:
    """What `kg link check` checks on the seed build: its links and data/'s tables."""
    return links.collect(settings)


@pytest.fixture()
def cases(seed_links) -> list[links.Link]:
    named = [(link.qid, o) for link in seed_links if link.qid in OK for o in link.origins]
    named += [(q, links.Origin("graph", ID + iri, kind, names)) for q, iri, kind, names in ALTERED]
    return links.merge(named)


def report(client, found) -> tuple[dict, int]:
    text, status = check.run(found, client, "json")
    return json.loads(text), status


def by_item(answer: dict) -> dict[str, dict]:
    return {item["item"]: item for item in answer["items"]}


# ---------------------------------------------------------------- the cases


def test_every_case_gives_the_report_it_should(client, cases):
    answer, status = report(client, cases)
    items = by_item(answer)
    assert {q: i["status"] for q, i in items.items()} == STATUS
    assert status == 1 and answer["problems"] == 5 and answer["checked"] == len(STATUS)
    assert [i["status"] for i in answer["items"]][:5] == [  # problems first, the worst first
        "missing",
        "redirect",
        "wrong type",
        "relabelled",
        "shared link",
    ]

    def messages(qid: str) -> list[str]:
        return [p["message"] for p in items[qid]["problems"]]

    merged = items["Q99000001"]
    assert merged["target"] == "Q99000011" and merged["wikidata_label"] == "Boris Yeltsin"
    assert messages("Q99000001") == ["redirect: merged into Q99000011"]  # its target's label fits
    assert messages("Q99000002") == ["missing: the item does not exist (deleted?)"]
    assert messages("Q99000003") == ["relabelled: ours 'Salisbury' (graph), Wikidata now 'Harare'"]
    assert messages("Q99000004") == ["wrong type: our city (human settlement), but Wikidata: human (Q5)"]
    assert messages("Q99000005") == [
        "shared link: person:george-h-w-bush, person:george-w-bush link one item"
    ]
    assert items["Q99000005"]["notes"] == ["namesake: Q99000006 is another human named 'George Bush'"]
    assert items["Q99000005"]["ours"] == [ID + "person/george-h-w-bush", ID + "person/george-w-bush"]


def test_ok_items_from_the_graph_and_the_tables(client, cases):
    items = by_item(report(client, cases)[0])
    putin = items["Q7747"]
    assert putin["ours"] == [ID + "person/vladimir-putin"] and putin["kinds"] == ["person"]
    assert putin["origins"][0] == "graph" and putin["origins"][1].startswith("data/sources/seed/")
    assert putin["problems"] == [] and putin["wikidata_label"] == "Vladimir Putin"
    # a historical state named only by the countries' table; a class named only by the seed table
    assert items["Q15180"]["kinds"] == ["country"] and items["Q15180"]["ours"] == []
    assert items["Q5"]["kinds"] == ["class"] and items["Q5"]["status"] == "ok"


def test_all_ok_exits_0_and_the_table_says_so(client, cases):
    text, status = check.run([link for link in cases if link.qid in OK], client)
    assert status == 0
    lines = text.splitlines()
    assert lines[0].split() == ["STATUS", "ITEM", "KIND", "OURS", "LABEL", "WIKIDATA", "DETAIL"]
    assert all(line.startswith("ok ") for line in lines[1:-1]) and len(lines) == len(OK) + 2
    summary = rf"{len(OK)} items checked: {len(OK)} ok\. Answers from \S+, retrieved \d{{4}}-\S+; "
    assert re.fullmatch(summary + r"3 requests sent\.", lines[-1])


def test_the_table_puts_problems_first(client, cases):
    text, status = check.run(cases, client)
    rows = text.splitlines()[1:-1]
    assert status == 1 and [r.split("  ")[0].strip() for r in rows[:5]] == list(check.SEVERITY)
    assert "→ Q99000011 Boris Yeltsin" in rows[1]
    assert "8 ok, 1 missing, 1 redirect, 1 wrong type, 1 relabelled, 1 shared link" in text.splitlines()[-1]


def test_a_redirect_onto_an_item_we_link_too_is_a_shared_link(client):
    found = links.merge(
        [
            ("Q99000001", links.Origin("graph", ID + "person/yeltsin", "person", ("Boris Yeltsin",))),
            ("Q99000011", links.Origin("graph", ID + "person/boris-yeltsin", "person", ("Boris Yeltsin",))),
        ]
    )
    items = by_item(report(client, found)[0])
    assert items["Q99000001"]["status"] == "redirect" and items["Q99000011"]["status"] == "shared link"
    assert "shared link: person:boris-yeltsin, person:yeltsin link one item" in [
        p["message"] for p in items["Q99000001"]["problems"]
    ]


@pytest.mark.parametrize(
    ("qid", "target"),
    [
        ("Q99000007", "<http://www.wikidata.org/entity/L99000007>"),  # a lexeme
        ("Q99000008", "<https://example.org/entity/Q99000008>"),
        ("Q99000009", '"no item"'),  # a literal
        ("Q99000010", "<http://www.wikidata.org/entity/Qfoo>"),
    ],
)
def test_a_redirect_to_no_item_is_a_problem_not_a_traceback(client, qid, target):
    found = links.merge(
        [
            (qid, links.Origin("graph", ID + "person/someone", "person", ("Someone",))),
            ("Q7747", links.Origin("graph", ID + "person/vladimir-putin", "person", ("Vladimir Putin",))),
        ]
    )
    answer, status = report(client, found)
    items = by_item(answer)
    assert status == 1 and items["Q7747"]["status"] == "ok" and answer["checked"] == 2
    assert items[qid]["target"] is None and items[qid]["status"] == "missing"
    assert [p["message"] for p in items[qid]["problems"]] == [
        f"redirect to a non-item: {target}",
        "missing: the item does not exist (deleted?)",
    ]


def test_a_429_with_retry_after_and_a_timeout_give_the_same_report(client, cases, wikidata, waits, tmp_path):
    calm = report(client, cases)[0]
    before = len(wikidata.seen)
    wikidata.faults.extend([("status", 429, {"Retry-After": "1"}), ("sleep", 1.5)])
    stormy = WikidataClient(
        endpoint=wikidata.url, cache_dir=tmp_path / "other", timeout=1, sleep=waits.append
    )
    answer, status = report(stormy, cases)
    assert answer["items"] == calm["items"] and status == 1
    assert waits == [1.0]  # Retry-After; the batch that timed out is asked in halves, without a wait
    items = len({link.qid for link in cases})
    half = items // 2
    sent = [s.query.count(links.WD) for s in wikidata.seen[before : before + 4]]
    assert sent == [items, items, half, items - half]  # the 429's batch again, then the halves


def test_a_malformed_answer_is_one_line_and_exit_status_2(client, cases, wikidata, tmp_path):
    wikidata.faults.append(("malformed", b'{"head": {"vars": []}, "results": {"bindi'))
    text, status = check.run(cases, client, "json")
    assert status == 2 and text.count("\n") == 1
    assert text.startswith(f"kg link check: {wikidata.url} gave a malformed answer")
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_an_endpoint_that_cannot_be_asked_is_exit_status_2(cases, waits):
    client = WikidataClient(endpoint="http://127.0.0.1:9/sparql", sleep=waits.append)
    text, status = check.run(cases, client)
    assert status == 2 and text.startswith("kg link check: http://127.0.0.1:9/sparql cannot be reached")


def test_no_build_is_a_clear_error(client, tmp_path):
    with pytest.raises(NotBuilt, match="run `kg build` first"):
        check.command(Settings(build_dir=tmp_path / "none"), client, "table")


@pytest.mark.parametrize(
    ("ours", "theirs", "same"),
    [
        ("United States", "United States of America", True),  # whole words, two or more
        ("Donald J. Trump", "Donald Trump", True),  # a middle initial does not count
        ("Côte d'Ivoire", "Cote d'Ivoire", True),
        ("Bosnia-Herzegovina", "Bosnia and Herzegovina", True),  # alike keys
        ("Sudan", "South Sudan", False),  # one word inside another name
        ("Salisbury", "Harare", False),
        ("Washington", "George Washington", False),
    ],
)
def test_label_closeness(ours, theirs, same):
    assert check.close(ours, theirs) is same


# ---------------------------------------------------------------- what is checked


def test_every_link_of_the_asserted_graph_is_checked_once(seed_links):
    graph = Graph().parse(REPO_ROOT / "data" / "entities.ttl")
    expected = {(str(s), str(o).removeprefix(links.WD)) for s, o in graph.subject_objects(OWL.sameAs)}
    checked = {(o.iri, link.qid) for link in seed_links for o in link.origins if o.where == "graph"}
    assert checked == expected  # the asserted links alone: none of the inferred graph's copies
    assert len({link.qid for link in seed_links}) == len(seed_links)


def test_table_rows_are_checked_with_their_file_and_line(seed_links):
    path = REPO_ROOT / "data" / "sources" / "hsg" / "countries-wikidata.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    japan = next(link for link in seed_links if link.qid == "Q17")
    assert (
        japan.origins[0].where == "graph"
        and japan.origins[0].kind == "country"
        and japan.origins[0].labels[0] == "Japan"
    )
    for origin in japan.origins[1:]:
        name, line = origin.where.rsplit(":", 1)
        row = (REPO_ROOT / name).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        assert "\tQ17\t" in row and origin.labels == ("Japan",)
    assert sum(o.where.startswith("data/sources/hsg/") for o in japan.origins) == sum(
        "\tQ17\t" in line for line in lines
    )
    named = {link.qid for link in seed_links}
    assert "P31" not in named and not any(q.startswith("P") for q in named)  # properties are no items


def test_every_table_under_data_that_names_items_is_read():
    tables = {t.path for t in links.TABLES}
    for path in sorted((REPO_ROOT / "data").rglob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as f:
            cells = {c for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) for c in row}
        if any(links.QID.fullmatch(c) for c in cells):
            assert str(path.relative_to(REPO_ROOT / "data")) in tables


def test_the_types_table_names_our_classes_and_says_what_is_verified():
    ontology = Graph().parse(REPO_ROOT / "ontology" / "kg.ttl")
    verified = set()
    with (REPO_ROOT / "data" / "sources" / "seed" / "wikidata-ids.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["kind"] == "class" and row["status"] == "verified":
                verified.add(row["id"])
    lines = [x for x in (FOLDER / "types.tsv").read_text(encoding="utf-8").splitlines() if x[:1] != "#"]
    for row in csv.DictReader(lines, delimiter="\t"):
        assert (URIRef(HOS + row["ours"].removeprefix("hos:")), RDF.type, OWL.Class) in ontology, row
        if row["wikidata"]:
            assert (row["status"] == "verified") == (row["wikidata"] in verified), row
            assert row["status"] == "verified" or "not in the verified table" in row["comment"], row
    assert {e.wikidata for e in links.types() if e.kind == "person"} == {"Q5"}


@pytest.mark.parametrize("name", ["state", "types", "classes", "namesakes"])
def test_the_queries_are_standard_sparql_with_one_values_to_fill(name):
    text = (FOLDER / f"check-{name}.rq").read_text(encoding="utf-8")
    assert len(re.findall(r"VALUES\s*\([^)]*\)\s*\{\s*\}", text)) == 1
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "SERVICE" not in body.upper() and "wikibase:" not in body  # no WDQS-only service
    assert list(ox.Store().query(text)) == []  # parses without predeclared prefixes; empty VALUES: no row


# ---------------------------------------------------------------- the command line


@pytest.fixture()
def cli_build(settings, built, tmp_path):
    """The session's build seen from another folder (its answers kept there, not in the build)."""
    folder = tmp_path / "build"
    folder.mkdir()
    for name in ("graph.nq", "store", "manifest.json"):
        (folder / name).symlink_to(settings.build_dir / name)
    return folder


def kg(build, *args):
    env = {**os.environ, "KG_BUILD_DIR": str(build)}
    return subprocess.run(
        [sys.executable, "-m", "kg", "link", "check", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_reports_json_then_offline_the_same_asking_nothing(cli_build, wikidata):
    first = kg(cli_build, "--endpoint", wikidata.url, "--format", "json")
    assert first.returncode == 1, first.stderr  # the tables' countries are not in the extract
    answer = json.loads(first.stdout)
    items = by_item(answer)
    assert {q: items[q]["status"] for q in OK} == dict.fromkeys(OK, "ok")
    assert "missing" in {i["status"] for i in items.values()}  # most countries are not in the extract
    asked = len(wikidata.seen)
    assert asked > 0 and all(s.headers["User-Agent"].startswith("hos-kg/") for s in wikidata.seen)
    second = kg(cli_build, "--endpoint", wikidata.url, "--format", "json", "--offline")
    assert (second.returncode, second.stdout) == (1, first.stdout)
    assert len(wikidata.seen) == asked
    table = kg(cli_build, "--endpoint", wikidata.url, "--offline")
    assert table.stdout.splitlines()[-1].endswith(
        f"retrieved {answer['retrieved']}; no request sent (answers kept on disk)."
    )


def test_the_command_line_says_in_one_line_when_the_endpoint_cannot_be_asked(cli_build):
    done = kg(cli_build, "--endpoint", "http://127.0.0.1:9/sparql")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("kg link check: http://127.0.0.1:9/sparql cannot be reached")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
