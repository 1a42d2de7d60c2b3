"""kg.void: statistics and descriptions, and the dumped void.ttl being the same bytes for the same inputs."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, VOID, XSD

from kg import dump, void
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
