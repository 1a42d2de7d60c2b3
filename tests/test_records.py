"""The build with the Office of the Historian's records (records_settings: what `kg build` makes):
country links only from the verified table, the inferred host kept apart and explained, the
records' references in the Wikidata view, VoID's subsets and the report of bad records.

The per-query answers and the field-by-field check of 100 records are tests/test_hsg_queries.py;
the mapping on a few files is tests/test_rml.py.
"""

from __future__ import annotations

import csv
import json
from urllib.parse import urlencode

from kg.config import REPO_ROOT

HOS = "https://w3id.org/hos-kg/ontology#"
ID = "https://w3id.org/hos-kg/id/"
ASSERTED, INFERRED = "https://w3id.org/hos-kg/graph/asserted", "https://w3id.org/hos-kg/graph/inferred"
TABLE = REPO_ROOT / "data" / "sources" / "hsg" / "countries-wikidata.tsv"


def rows(kg, sparql: str) -> list[tuple]:
    result = kg.query(sparql)
    names = [v.value for v in result.variables]
    return [tuple(r[n].value if r[n] is not None else None for n in names) for r in result]


def test_every_wikidata_link_of_a_country_is_a_verified_row_of_the_table(records_kg):
    with open(TABLE, encoding="utf-8", newline="") as f:
        verified = {
            r["qid"] for r in csv.DictReader(f, delimiter="\t") if r["status"] == "verified" and r["qid"]
        }
    seed = REPO_ROOT / "data" / "sources" / "seed" / "wikidata-ids.tsv"
    with open(seed, encoding="utf-8", newline="") as f:
        seed_ids = {r["id"] for r in csv.DictReader(f, delimiter="\t") if r["status"] == "verified"}
    linked = rows(
        records_kg,
        f"""SELECT DISTINCT ?item WHERE {{ GRAPH <{ASSERTED}> {{
              ?country a <{HOS}Country> ; <http://www.w3.org/2002/07/owl#sameAs> ?item }} }}""",
    )
    qids = {item.rsplit("/", 1)[1] for (item,) in linked}
    assert len(qids) > 150
    assert qids <= verified | seed_ids, qids - verified - seed_ids
    unlinked = rows(
        records_kg,
        f"""SELECT ?c WHERE {{ GRAPH <{ASSERTED}> {{ ?c a <{HOS}Country> }}
              FILTER NOT EXISTS {{ ?c <http://www.w3.org/2002/07/owl#sameAs> ?x }} }}""",
    )
    assert (f"{ID}place/hsg-hawaii-1898",) in unlinked


def test_a_period_row_links_a_record_to_the_state_of_its_date(records_kg):
    # HSG's id "russia" is the Soviet Union up to 26 December 1991 (a PERIOD ROW), Russia after.
    found = dict(
        rows(
            records_kg,
            f"""SELECT ?trip ?country WHERE {{ GRAPH <{ASSERTED}> {{ ?trip <{HOS}country> ?country }}
                  VALUES ?trip {{ <{ID}trip/2973> <{ID}trip/2847> }} }}""",
        )
    )
    assert found == {f"{ID}trip/2973": f"{ID}place/russia", f"{ID}trip/2847": f"{ID}place/soviet-union"}


def test_the_host_of_a_visit_is_inferred_kept_apart_and_explained(records_kg, records_app):
    visit, obama = f"{ID}visit/2078", f"{ID}person/obama-barack"  # Papandreou, working visit, March 2010
    where = rows(records_kg, f"SELECT ?g WHERE {{ GRAPH ?g {{ <{visit}> <{HOS}host> <{obama}> }} }}")
    assert where == [(INFERRED,)]
    # A private visit has no host: the records do not say the President received the visitor.
    private = rows(
        records_kg,
        f"""SELECT (COUNT(*) AS ?n) WHERE {{ ?v <{HOS}visitKind> <{ID}visit-kind/private-visit> ;
              <{HOS}host> ?p }}""",
    )
    assert private == [("0",)]
    client = records_app.test_client()
    response = client.get(
        "/explain?" + urlencode({"s": visit, "p": HOS + "host", "o": obama, "format": "json"})
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    proof = response.json["proof"]
    assert proof["rule"]["id"] == "conclusion-host"
    premises = {p["triple"]["p"]["value"] for p in proof["premises"]}
    assert {HOS + "visitKind", HOS + "startDate", HOS + "heldTitle"} <= premises


def test_a_records_statement_in_the_wikidata_view_cites_the_dataset_and_the_publishers_page(records_kg):
    found = rows(
        records_kg,
        f"""PREFIX p: <http://www.wikidata.org/prop/> PREFIX pr: <http://www.wikidata.org/prop/reference/>
            PREFIX prov: <http://www.w3.org/ns/prov#>
            SELECT ?dataset ?page WHERE {{
              <{ID}trip/3817> p:P580 ?st . ?st prov:wasDerivedFrom ?ref .
              ?ref pr:P248 ?dataset ; pr:P854 ?page }}""",
    )
    assert found == [
        (
            f"{ID}source/hsg-travels",
            "https://history.state.gov/departmenthistory/travels/president/trump-donald-j",
        )
    ]


def test_void_describes_each_dataset_with_its_licence_source_and_count(records_client):
    void = records_client.get("/.well-known/void", headers={"Accept": "application/n-triples"})
    text = void.get_data(as_text=True)
    assert "<https://w3id.org/hos-kg/id/source/hsg-visits>" in text
    assert "<https://creativecommons.org/publicdomain/zero/1.0/>" in text
    assert '"3264"^^<http://www.w3.org/2001/XMLSchema#integer>' in text
    assert '"832"^^<http://www.w3.org/2001/XMLSchema#integer>' in text


def test_records_with_bad_fields_are_counted_in_stats_and_listed_in_the_manifest(
    records_settings, records_built
):
    stats = json.loads(records_settings.build.folder.joinpath("stats.json").read_text(encoding="utf-8"))
    manifest = records_settings.build.manifest()
    assert manifest is not None
    assert stats["records with problems"] == len(manifest.problems) == 27
    assert {
        "record": "trip 3734",
        "file": "sources/hsg/president-travels/trump-donald-j.xml",
        "field": "locale",
        "reason": "missing",
    } in manifest.problems
    assert "Records imported with a missing or impossible field: 27" in records_built.summary()
