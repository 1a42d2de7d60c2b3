"""Dumps: every graph set in every format, correct HTTP, stable Turtle, VoID/DCAT, kg dump."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, VOID

import kg
from kg import dump
from kg.cli import main
from kg.dump import FORMATS, GRAPH_SETS, WRITERS, _render
from kg.formats import DUMPED, by_suffix
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, HOS
from kg.pipeline import build
from kg.web.dumps import content_etag

PARSE = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
}


@pytest.fixture(scope="module")
def listing(app):
    return app.test_client().get("/dumps.json").get_json()["dumps"]


def test_listing_has_every_set_format_and_compression(listing, built):
    assert {(d["graph"], d["format"], d["gzip"]) for d in listing} == {
        (g, f, z) for g in GRAPH_SETS for f in FORMATS for z in (False, True)
    }
    for d in listing:
        assert d["bytes"] > 0 and len(d["sha256"]) == 64 and d["created"] and d["description"]
    triples = {d["graph"]: d["triples"] for d in listing}
    assert triples["all"] == built.counts["total"] and triples["inferred"] == built.counts["inferred"]


@pytest.mark.parametrize("graph_set", GRAPH_SETS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_dump_parses_with_its_triple_count_and_checksum(client, listing, graph_set, fmt):
    entry = next(d for d in listing if d["graph"] == graph_set and d["format"] == fmt and not d["gzip"])
    with client.get(f"/dumps/{entry['name']}") as response:
        body = response.get_data()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"] and len(body) == entry["bytes"]
    quads = list(ox.parse(body, format=PARSE[fmt]))
    assert len(set(quads if fmt in ("nq", "trig") else [q.triple for q in quads])) == entry["triples"]
    if fmt in ("nq", "trig") and graph_set == "all":
        assert len({q.graph_name for q in quads}) == 3  # named graphs kept
    with client.get(f"/dumps/{entry['name']}.gz") as packed:
        assert gzip.decompress(packed.get_data()) == body and packed.mimetype == "application/gzip"


def test_turtle_uses_prefixes_and_nt_is_sorted(client):
    with client.get("/dumps/asserted.ttl") as response:
        text = response.get_data(as_text=True)
    assert "@prefix meeting: <https://w3id.org/hos-kg/id/meeting/>" in text
    assert "meeting:2018-07-16-helsinki a hos:BilateralMeeting" in text
    with client.get("/dumps/all.nt") as response:
        lines = response.get_data().splitlines()
    assert lines == sorted(lines)


def test_dumps_are_byte_stable_across_builds(data_copy, tmp_path):
    build(data_copy)
    first = {
        f: (data_copy.build_dir / "dumps" / f).read_bytes()
        for f in ("all.ttl", "all.nt", "all.nq", "all.trig")
    }
    build(data_copy, force=True)
    assert {f: (data_copy.build_dir / "dumps" / f).read_bytes() for f in first} == first


def test_http_headers(client):
    with client.get("/dumps/all.ttl") as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/turtle; charset=utf-8"
        assert int(r.headers["Content-Length"]) == len(r.get_data())
        assert r.headers["Content-Disposition"] == 'attachment; filename="hos-kg-all.ttl"'
        etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    with client.get("/dumps/all.ttl", headers={"If-None-Match": etag}) as r:
        assert r.status_code == 304
    with client.get("/dumps/all.ttl", headers={"If-Modified-Since": modified}) as r:
        assert r.status_code == 304
    with client.head("/dumps/all.ttl") as r:
        assert r.status_code == 200 and r.get_data() == b"" and int(r.headers["Content-Length"]) > 0
    with client.get("/dumps/all.nt", headers={"Range": "bytes=10-29"}) as r:
        assert (
            r.status_code == 206
            and len(r.get_data()) == 20
            and r.headers["Content-Range"].startswith("bytes 10-29/")
        )
    with client.get("/dumps/all.ttl", headers={"Accept-Encoding": "gzip, deflate"}) as r:
        assert r.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in r.headers["Vary"]
        assert gzip.decompress(r.get_data()).startswith(b"@prefix")
    assert client.get("/dumps/nope.ttl").status_code == 404


def test_a_dumps_etag_is_its_listed_checksum_so_any_copy_of_the_build_gives_it(client, listing):
    """Not werkzeug's (the file's mtime, size and path): replicas on other machines agree."""
    sha = {d["name"]: d["sha256"] for d in listing}
    asked = {
        ("all.ttl", ""): "all.ttl",
        ("all.ttl", "gzip"): "all.ttl.gz",  # the .gz twin's own entry, as its bytes are sent
        ("all.ttl.gz", ""): "all.ttl.gz",
        ("asserted.nq", "gzip"): "asserted.nq.gz",
    }
    for (name, encoding), listed in asked.items():
        with client.get(f"/dumps/{name}", headers={"Accept-Encoding": encoding}) as r:
            assert r.status_code == 200 and r.headers["ETag"] == f'"{sha[listed]}"', (name, encoding)
            assert hashlib.sha256(r.get_data()).hexdigest() == sha[listed]
        with client.get(
            f"/dumps/{name}", headers={"Accept-Encoding": encoding, "If-None-Match": f'"{sha[listed]}"'}
        ) as r:
            assert r.status_code == 304 and r.get_data() == b""
    with client.get("/dumps/void.ttl") as r:  # not listed: the hash of its bytes
        assert r.headers["ETag"] == f'"{hashlib.sha256(r.get_data()).hexdigest()}"'


def test_an_unlisted_files_etag_is_its_contents_wherever_and_whenever_written(tmp_path):
    one, other = tmp_path / "one" / "void.ttl", tmp_path / "void.ttl"
    one.parent.mkdir()
    one.write_bytes(b"<urn:x:s> <urn:x:p> <urn:x:o> .\n")
    other.write_bytes(one.read_bytes())
    os.utime(other, (1_000_000, 1_000_000))
    assert content_etag(one) == content_etag(other) == hashlib.sha256(one.read_bytes()).hexdigest()
    one.write_bytes(b"# changed\n")
    os.utime(one, (2_000_000, 2_000_000))  # another mtime: not the hash kept for the old bytes
    assert content_etag(one) == hashlib.sha256(b"# changed\n").hexdigest()


def test_dumps_page(client):
    page = client.get("/dumps", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'href="/dumps/all.ttl.gz"' in page and "SHA-256" in page
    as_json = client.get("/dumps", headers={"Accept": "application/json"}).get_json()
    assert len(as_json["dumps"]) == 30


def test_void_describes_the_dataset(client, kg):
    g = Graph().parse(data=client.get("/.well-known/void").get_data(), format="turtle")
    dataset = URIRef("https://w3id.org/hos-kg/id/dataset")
    assert (dataset, VOID.sparqlEndpoint, URIRef("http://localhost/sparql")) in g
    assert g.value(dataset, URIRef("http://purl.org/dc/terms/created")) is not None
    assert g.value(dataset, URIRef("http://purl.org/dc/terms/license")) is not None
    assert int(g.value(dataset, VOID.triples)) == len(kg)
    dumps = set(g.objects(dataset, VOID.dataDump))
    assert URIRef("http://localhost/dumps/all.ttl.gz") in dumps and len(dumps) == 30
    assert len(list(g.objects(dataset, VOID.classPartition))) > 20
    assert len(list(g.objects(dataset, VOID.propertyPartition))) > 50
    linkset = URIRef("https://w3id.org/hos-kg/id/dataset/wikidata-links")
    assert (linkset, VOID.linkPredicate, OWL.sameAs) in g
    links = kg.query(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/hos-kg/graph/asserted> "
        "{ ?s owl:sameAs ?o } }"
    )
    assert int(g.value(linkset, VOID.triples)) == int(next(links)["n"].value) == 28
    subsets = {
        str(g.value(s, URIRef("http://www.w3.org/ns/sparql-service-description#name")))
        for s in g.objects(dataset, VOID.subset)
    }
    assert "https://w3id.org/hos-kg/graph/inferred" in subsets
    dcat = URIRef("http://www.w3.org/ns/dcat#distribution")
    assert len(list(g.objects(dataset, dcat))) == 30


def test_void_is_in_the_dumps_with_the_public_base(client):
    with client.get("/dumps/void.ttl") as r:
        g = Graph().parse(data=r.get_data(), format="turtle")
    assert (None, VOID.sparqlEndpoint, URIRef("https://w3id.org/hos-kg/sparql")) in g
    # No build time in the file (the served VoID has it), and every partition names its class.
    assert g.value(URIRef("https://w3id.org/hos-kg/id/dataset"), DCTERMS.created) is None
    classes = list(g.objects(None, VOID["class"]))
    assert classes and all(str(c).startswith(("http://", "https://")) for c in classes)


def test_kg_dump(settings, built, tmp_path, monkeypatch):
    monkeypatch.setenv("KG_BUILD_DIR", str(settings.build_dir))
    out = tmp_path / "x.nq.gz"
    result = CliRunner().invoke(
        main, ["dump", "--graph", "inferred", "--format", "nq", "--gzip", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (settings.build_dir / "dumps" / "inferred.nq.gz").read_bytes()
    stdout = CliRunner().invoke(main, ["dump"])
    assert stdout.output.startswith("@prefix")
    missing = CliRunner().invoke(main, ["dump"], env={"KG_BUILD_DIR": str(tmp_path / "none")})
    assert missing.exit_code == 1 and "run `kg build` first" in missing.output


def test_dumps_json_matches_files(settings, built):
    listed = json.loads((settings.build_dir / "dumps" / "dumps.json").read_text(encoding="utf-8"))
    for entry in listed:
        assert (settings.build_dir / "dumps" / entry["name"]).stat().st_size == entry["bytes"]


def test_range_wins_over_gzip_and_slices_the_plain_file(client):
    """A Range applies to the file as listed, so the .gz twin is not sent for a ranged request."""
    with client.get("/dumps/all.nt") as whole:
        plain = whole.get_data()
    headers = {"Range": "bytes=10-29", "Accept-Encoding": "gzip"}
    with client.get("/dumps/all.nt", headers=headers) as r:
        assert r.status_code == 206 and "Content-Encoding" not in r.headers
        assert r.get_data() == plain[10:30]
        assert r.headers["Content-Range"] == f"bytes 10-29/{len(plain)}"


SMALL = """
    @prefix hos: <https://w3id.org/hos-kg/ontology#> .
    @prefix thing: <https://w3id.org/hos-kg/id/thing/> .
    thing:b hos:p [ hos:q "x"@en ], [ hos:q 2 ] .
    thing:a a hos:Thing ; hos:p ( thing:b thing:a ) .
"""


def _small(backwards: bool = False) -> dict:
    """Two named graphs with blank nodes, newly parsed: new blank node labels each time."""
    graphs = {name: Graph().parse(data=SMALL, format="turtle") for name in (GRAPH_ASSERTED, GRAPH_INFERRED)}
    return dict(reversed(graphs.items())) if backwards else graphs


@pytest.mark.parametrize("row", DUMPED, ids=lambda f: f.suffix)
def test_each_dumped_row_is_written_the_same_whatever_the_labels_and_order(row):
    body = _render(row, _small())
    assert body == _render(row, _small(backwards=True))
    quads = list(ox.parse(body, format=row.format))
    # 10 triples in each graph; the one without a blank node is the same triple in both.
    statements = set(quads) if row.named_graphs else {q.triple for q in quads}
    assert len(statements) == (20 if row.named_graphs else 19)
    assert len({q.graph_name for q in quads}) == (2 if row.named_graphs else 1)
    assert (b"@prefix thing: <https://w3id.org/hos-kg/id/thing/>" in body) is (row.suffix in ("ttl", "trig"))


def _split(graphs: dict) -> dict:
    """rdflib graphs by name as kg.dump.canonical takes them."""
    return {name: dump.split(dump.quads_of({name: graph})) for name, graph in graphs.items()}


def test_canonical_labels_are_those_of_the_whole_dataset_and_the_order_that_of_n_quads():
    # kg.dump.canonical labels only the quads with a blank node; RDFC-1.0 of all of them agrees.
    quads = [q for graph in _split(_small()).values() for q in graph.plain.quads + graph.blank]
    blank = [isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode) for q in quads]
    assert any(blank) and not all(blank)
    whole = ox.Dataset(quads)
    whole.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    expected = sorted(dump.lines_of(whole))
    for graphs in (_small(), _small(backwards=True)):
        done = dump.canonical(_split(graphs)).values()
        assert sorted(line for g in done for line in g.lines) == expected
        assert all(g.lines == sorted(g.lines) == dump.lines_of(g.quads) for g in done)
        assert all(g.triples == [q.triple for q in g.quads] for g in done)


def test_a_graph_split_once_gets_the_labels_of_each_set_it_stands_in():
    """write_dumps splits each graph once for the sets that hold it: each set's labels are still
    RDFC-1.0 of that set alone, whichever sets were labelled before with the same split graphs."""
    split = _split(_small())
    first = next(iter(split))
    both = dump.canonical(split)
    alone = dump.canonical({first: split[first]})
    assert alone == dump.canonical(_split({first: _small()[first]}))
    assert dump.canonical(split) == both  # the split graphs were left as they were
    whole = ox.Dataset(split[first].plain.quads + split[first].blank)
    whole.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    assert alone[first].lines == sorted(dump.lines_of(whole))
    assert {line for line in both[first].lines if b"_:" in line} != {
        line for line in alone[first].lines if b"_:" in line
    }  # the second graph's blank nodes took labels in the set of both


def test_merge_puts_the_few_lines_in_the_order_of_the_many():
    many = dump.Sorted([b"b\n", b"d\n", b"f\n"], ["B", "D", "F"], ["b", "d", "f"])  # type: ignore[list-item]
    few = dump.Sorted([b"a\n", b"d\n", b"e\n", b"g\n"], ["A", "D2", "E", "G"], ["a", "d2", "e", "g"])  # type: ignore[list-item]
    merged = many.merge(few)
    assert merged.lines == sorted(many.lines + few.lines)
    assert merged.quads == ["A", "B", "D", "D2", "E", "F", "G"]
    assert merged.triples == ["a", "b", "d", "d2", "e", "f", "g"]
    assert many.lines == [b"b\n", b"d\n", b"f\n"]  # left as it was
    assert many.merge(dump.Sorted([], [], [])) is many


def test_a_triple_in_two_graphs_is_written_once_in_a_triple_format_even_with_a_blank_node():
    """The build's inferred graph repeats triples about the ontology's blank nodes: the same blank
    node in two graphs, so the same label, and one N-Triples line."""
    hos = "https://w3id.org/hos-kg/ontology#"
    node, p = ox.BlankNode("shared"), ox.NamedNode(hos + "p")
    graphs = {
        name: [
            ox.Quad(node, p, ox.Literal("x"), ox.NamedNode(str(name))),
            ox.Quad(ox.NamedNode(hos + "a"), p, node, ox.NamedNode(str(name))),
            ox.Quad(ox.NamedNode(hos + "b"), p, ox.Literal(str(name)), ox.NamedNode(str(name))),  # its own
        ]
        for name in (GRAPH_ASSERTED, GRAPH_INFERRED)
    }
    statements = dump.Statements(dump.canonical({name: dump.split(q) for name, q in graphs.items()}))
    assert len(statements.lines) == 6 and statements.lines == sorted(statements.lines)
    # What the N-Triples were before kg.dump wrote them from the triples: the quads' lines cut.
    cut = sorted({line[: line.rindex(b" <")] + b" .\n" for line in statements.lines})
    assert statements.ntriples == b"".join(cut) and len(cut) == len(statements.triples) == 4
    assert statements.triples == [
        q.triple for q in ox.parse(statements.ntriples, format=ox.RdfFormat.N_TRIPLES)
    ]


def test_a_new_dump_row_needs_a_writer_only_for_a_serializer_without_one():
    turtle = by_suffix("ttl")
    graphs = _small()
    assert _render(replace(turtle, suffix="kgt", names=("kgt",)), graphs) == _render(turtle, graphs)
    xml = replace(by_suffix("rdf"), dump=True)  # no entry in WRITERS: pyoxigraph writes it, sorted
    assert xml.format not in WRITERS
    body = _render(xml, _small())
    assert body == _render(xml, _small(backwards=True))
    # A triple format writes each triple once: the one without a blank node stands in both graphs.
    assert len(list(ox.parse(body, format=xml.format))) == sum(len(g) for g in graphs.values()) - 1


def test_the_rows_prefixes_flag_decides_pyoxigraphs_prefixes():
    trig = by_suffix("trig")
    assert b"@prefix thing:" in _render(trig, _small())
    assert b"@prefix" not in _render(replace(trig, prefixes=False), _small())


def _build_in_a_process(settings, build_dir: Path, seed: str) -> subprocess.Popen:
    """`kg build` of ``settings``' inputs in a process of its own, with its own hash seed: sets and
    dicts keyed by strings come out in another order, as they would on another day."""
    env = {
        **os.environ,
        "PYTHONHASHSEED": seed,
        "PYTHONPATH": str(Path(kg.__file__).parents[1]),  # the code under test, wherever it is
        "KG_ONTOLOGY_DIR": str(settings.ontology_dir),
        "KG_DATA_DIR": str(settings.data_dir),
        "KG_QUERIES_DIR": str(settings.queries_dir),
        "KG_BUILD_DIR": str(build_dir),
    }
    command = [sys.executable, "-m", "kg", "build", "--force"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    """Two builds of the same inputs, each in its own folder and process."""
    from kg.config import Settings

    root = tmp_path_factory.mktemp("twice")
    settings = Settings()  # the repository's ontology, data and queries
    folders = [root / "one", root / "two"]
    processes = [
        _build_in_a_process(settings, folder, seed) for folder, seed in zip(folders, "12", strict=True)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]
    return [folder / "dumps" for folder in folders]


def test_every_dump_is_byte_identical_across_builds_of_the_same_inputs(two_builds):
    one, two = two_builds
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir())
    assert {f"all.{fmt}" for fmt in FORMATS} | {f"all.{fmt}.gz" for fmt in FORMATS} <= set(names)
    assert "dumps.json" in names
    different = [n for n in names if n != "void.ttl" and (one / n).read_bytes() != (two / n).read_bytes()]
    assert different == []


def test_gzip_dumps_carry_no_time_and_no_file_name(two_builds):
    for path in sorted(two_builds[0].glob("*.gz")):
        head = path.read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08", path.name
        assert head[3] & 0x08 == 0, f"{path.name} names a file"  # FLG.FNAME
        assert head[4:8] == b"\0\0\0\0", f"{path.name} carries a time"  # MTIME


def test_the_json_ld_dump_is_expanded_one_node_per_subject_sorted_and_keeps_list_order(two_builds):
    document = json.loads((two_builds[0] / "all.jsonld").read_bytes())
    ids = [node["@id"] for node in document]  # expanded form: a top-level array of node objects
    assert len(ids) == len(set(ids))
    named = [i for i in ids if not i.startswith("_:")]
    assert named == sorted(named, key=lambda i: f"<{i}>")  # the order of their N-Triples form
    nodes = {node["@id"]: node for node in document}
    owl, rdf = "http://www.w3.org/2002/07/owl#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    (chain,) = nodes[HOS + "country"][owl + "propertyChainAxiom"]
    items, at = [], chain["@id"]
    while at != rdf + "nil":  # the list's order is its meaning: location, then inCountry
        items.append(nodes[at][rdf + "first"][0]["@id"])
        at = nodes[at][rdf + "rest"][0]["@id"]
    assert items == [HOS + "location", HOS + "inCountry"]


def test_void_is_byte_identical_across_builds_of_the_same_inputs(two_builds):
    one, two = two_builds
    assert (one / "void.ttl").read_bytes() == (two / "void.ttl").read_bytes()


def test_lines_with_finds_every_line_holding_the_needle_and_only_those():
    data = b"_:a x\nplain\ny _:b _:c\n\nlast _:d"
    assert dump._lines_with(b"_:", data) == {0, 2, 4}
    assert dump._lines_with(b"_:", b"none here\n") == set()


def test_the_index_counts_each_triple_once_in_a_triple_format_and_each_quad_in_a_quad_format(tmp_path):
    graphs = {name: dump.quads_of({name: graph}) for name, graph in _small().items()}
    listed = {(f.graph, f.format): f.triples for f in dump.write_dumps(graphs, tmp_path).files if not f.gzip}
    # 10 triples in each graph; one of them (no blank node) stands in both.
    assert listed["all", "nq"] == listed["all", "trig"] == 20
    assert listed["all", "nt"] == listed["all", "ttl"] == listed["all", "jsonld"] == 19
    assert listed["asserted", "nt"] == listed["inferred", "nq"] == 10
