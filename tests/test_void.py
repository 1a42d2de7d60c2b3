"""kg.void: statistics and descriptions, and the dumped void.ttl being the same bytes for the same inputs."""

from __future__ import annotations

import os
import subprocess
import sys

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, VOID, XSD

from kg import dump, formats, void
from kg.config import REPO_ROOT
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY

BASE = "https://w3id.org/hos-kg/"
MEETING = URIRef(BASE + "ontology#Meeting")
CREATED = "2020-01-02T03:04:05Z"


def _data() -> Graph:
    g = Graph()
    a = URIRef(BASE + "id/meeting/a")
    g.add((a, RDF.type, MEETING))
    g.add((a, RDF.type, BNode()))  # an anonymous class, as the reasoner adds them
    g.add((URIRef("urn:x:b"), RDF.type, MEETING))
    return g


def _quads() -> list:
    return dump.quads_of({GRAPH_ASSERTED: _data()})


def test_statistics_leave_blank_node_classes_out():
    stats = void.statistics(_quads(), BASE)
    assert stats["classes"] == {str(MEETING): 2}
    assert stats["properties"] == {str(RDF.type): 3}


def test_statistics_count_the_entities_under_the_base_they_are_given():
    assert void.statistics(_quads(), BASE)["entities"] == 1
    assert void.statistics(_quads(), "https://example.org/kg/")["entities"] == 0


def test_statistics_count_each_graph_and_a_triple_in_two_graphs_once_in_the_union():
    quads = dump.quads_of({GRAPH_ASSERTED: _data(), GRAPH_INFERRED: _data()})
    stats = void.statistics(quads, BASE)
    assert stats["graphs"] == {str(GRAPH_ONTOLOGY): 0, str(GRAPH_ASSERTED): 3, str(GRAPH_INFERRED): 3}
    assert stats["triples"] == 6
    # The blank node classes are two different ones (one per parse); the rest is the same triple twice.
    assert stats["properties"] == {str(RDF.type): 4} and stats["classes"] == {str(MEETING): 2}


def test_statistics_of_the_union_the_dumps_wrote_are_those_counted_from_the_quads(tmp_path):
    quads = dump.quads_of({GRAPH_ASSERTED: _data(), GRAPH_INFERRED: _data()})
    by_graph: dict = {}
    for q in quads:
        by_graph.setdefault(URIRef(q.graph_name.value), []).append(q)
    union = dump.write_dumps(by_graph, tmp_path).triples
    assert len(union) == 4  # the same triple in both graphs once; the two blank node classes twice
    assert void.statistics(quads, BASE, union=union) == void.statistics(quads, BASE)


def test_only_the_served_description_states_the_build_time():
    stats = void.statistics(_quads(), BASE)
    dataset = URIRef(BASE + "id/dataset")
    dumped = void.describe(BASE, stats, [], CREATED)  # as the build writes dumps/void.ttl
    assert dumped.value(dataset, DCTERMS.created) is None
    served = void.describe("http://localhost/", stats, [], CREATED, BASE)  # as /.well-known/void
    assert served.value(dataset, DCTERMS.created) == Literal(CREATED, datatype=XSD.dateTime)


def test_the_dumped_description_is_the_same_bytes_whatever_its_blank_nodes_and_order(tmp_path):
    stats = {
        "graphs": {"https://w3id.org/hos-kg/graph/asserted": 3},
        "triples": 3,
        "entities": 1,
        "classes": {str(MEETING): 2, "http://www.w3.org/2002/07/owl#Thing": 5},
        "properties": {str(RDF.type): 3, "http://www.w3.org/2000/01/rdf-schema#label": 4},
        "wikidata_links": 0,
    }
    backwards = {**stats, **{k: dict(reversed(stats[k].items())) for k in ("classes", "properties")}}
    graphs = [void.describe(BASE, s, [], CREATED) for s in (stats, backwards)]  # new blank nodes each
    paths = [tmp_path / "one.ttl", tmp_path / "two.ttl"]
    for graph, path in zip(graphs, paths, strict=True):
        dump.write_turtle(graph, path)
    text = paths[0].read_bytes()
    assert text == paths[1].read_bytes()
    written = Graph().parse(data=text, format="turtle")
    assert isomorphic(written, graphs[0])
    assert len(list(written.objects(None, VOID.classPartition))) == 2
    assert b"@prefix sd: <http://www.w3.org/ns/sparql-service-description#>" in text


# ---------------------------------------------------------------- served: the same bytes in every process

STATS = {
    "graphs": {str(GRAPH_ASSERTED): 3, str(GRAPH_INFERRED): 1},
    "triples": 4,
    "entities": 1,
    "classes": {str(MEETING): 2, "http://www.w3.org/2002/07/owl#Thing": 5},
    "properties": {str(RDF.type): 3, "http://www.w3.org/2000/01/rdf-schema#label": 4},
    "wikidata_links": 0,
}
# Written in another process, whose hash seed (and so rdflib's order of a graph) is another.
WRITE_ELSEWHERE = """
import sys
from kg import formats, void
from tests.test_void import STATS, served_descriptions
for media, body in served_descriptions():
    sys.stdout.buffer.write(media.encode() + b"\\n" + body + b"\\n")
"""


def served_descriptions() -> list[tuple[str, bytes]]:
    """The VoID and the Service Description in every graph format, as the server writes them."""
    graphs = (
        void.describe("http://localhost/", STATS, [], CREATED, BASE),
        void.service_description("http://localhost/sparql", 4, {str(GRAPH_ASSERTED): 3}),
    )
    return [(row.media_type, void.write(g, row)) for g in graphs for row in formats.GRAPH.values()]


@pytest.mark.parametrize("row", list(formats.GRAPH.values()), ids=lambda row: row.name)
def test_a_served_description_is_the_same_bytes_whatever_its_blank_nodes_and_order(row):
    backwards = {**STATS, **{k: dict(reversed(STATS[k].items())) for k in ("classes", "properties")}}
    graphs = [void.describe("http://localhost/", s, [], CREATED, BASE) for s in (STATS, backwards)]
    one, other = (void.write(g, row) for g in graphs)  # new blank nodes each
    assert one == other
    assert len(list(ox.parse(one, format=row.format))) == len(graphs[0])
    if row.format == ox.RdfFormat.TURTLE:  # the same triples (rdflib reads Turtle without a warning)
        assert isomorphic(Graph().parse(data=one, format="turtle"), graphs[0])


def test_a_served_description_is_the_same_bytes_in_another_process():
    def elsewhere(seed: str) -> bytes:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", WRITE_ELSEWHERE], env=env, cwd=REPO_ROOT, capture_output=True, check=True
        )
        return run.stdout

    here = b"".join(media.encode() + b"\n" + body + b"\n" for media, body in served_descriptions())
    assert elsewhere("1") == elsewhere("2") == here


def test_the_served_descriptions_are_the_same_bytes_each_time_with_a_strong_etag(client):
    for path in ("/.well-known/void", "/sparql"):
        for row in formats.GRAPH.values():
            one, other = (client.get(path, headers={"Accept": row.media_type}) for _ in range(2))
            assert one.status_code == other.status_code == 200, (path, row.name)
            assert one.get_data() == other.get_data(), (path, row.name)
            etag, weak = one.get_etag()
            assert etag and not weak and other.headers["ETag"] == one.headers["ETag"], (path, row.name)
            again = client.get(path, headers={"Accept": row.media_type, "If-None-Match": one.headers["ETag"]})
            assert again.status_code == 304 and again.get_data() == b"", (path, row.name)
            assert again.headers["ETag"] == one.headers["ETag"]
        turtle = client.get(path, headers={"Accept": "text/turtle"}).headers["ETag"]
        assert client.get(path, headers={"Accept": "application/n-triples"}).headers["ETag"] != turtle
