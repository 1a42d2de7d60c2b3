"""The dataset and its endpoint describe themselves: VoID, DCAT and SPARQL Service Description.

Statistics (triples per graph, class and property partitions, Wikidata links)
are computed once at build time into ``stats.json``; the description is then
made for whichever root URL serves it (the public base in the dumps, the
actual host at /.well-known/void), with the dataset's IRIs under the base IRI
of the settings. The build's ``dumps/void.ttl`` is the same bytes for the same
inputs (no build time; partitions written canonically by kg.dump), and so is a
description the server writes (``write``), in every process. The formats an
endpoint answers in are those of kg.formats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, VOID, XSD

from kg import formats, iris
from kg.derivations import term
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, PREFIXES, WD, new_graph

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
GRAPHS = (str(GRAPH_ONTOLOGY), str(GRAPH_ASSERTED), str(GRAPH_INFERRED))  # the named graphs of a build
_TYPE = str(RDF.type)
_RDF_TYPE, _SAME_AS, _PART_OF = (ox.NamedNode(str(t)) for t in (RDF.type, OWL.sameAs, DCTERMS.isPartOf))
_ASSERTED = ox.NamedNode(str(GRAPH_ASSERTED))
SOURCE = "source/04dab6a38e74675e"  # the source document, under the id space
CC0 = URIRef("https://creativecommons.org/publicdomain/zero/1.0/")
HSG_PUBLISHER = "Office of the Historian, U.S. Department of State"
HSG_TITLES = {  # the Office of the Historian's datasets (data/hsg.ttl describes them in full)
    "hsg-visits": "Visits by Foreign Leaders and Heads of State to the United States, 1874–2024",
    "hsg-travels": "Presidential Travels Abroad, 1906–2024",
    "hsg-presidents": "Presidents of the United States",
}


def _dataset_iri(base_iri: str) -> URIRef:
    return URIRef(iris.id_space(base_iri) + "dataset")


def statistics(quads: Sequence[ox.Quad], base_iri: str, union: Iterable[ox.Triple] | None = None) -> dict:
    """Counts for VoID of a build's quads (kg.dump.quads_of) in their named graphs; entities are
    the resources under ``base_iri``. ``union``: their distinct triples, when the caller has them
    (kg.dump's "all" set): a set of 435,000 triples made here again took a second.

    Classes are the IRIs used as an rdf:type. A blank-node class (an anonymous OWL class,
    such as a union the reasoner typed resources with) has no name a partition could
    give, nor a stable label from one build to the next: it is left out of the
    partitions and of the count of classes.
    """
    resources = iris.id_space(base_iri)
    graphs: Counter[str] = Counter()
    for name, n in Counter(q.graph_name for q in quads).items():
        graphs[name.value if isinstance(name, ox.NamedNode) else ""] += n
    if union is None:  # a triple in two graphs is counted once, as in a union of them
        union = {q.triple for q in quads}
    classes: Counter[str] = Counter()
    properties: Counter[str] = Counter()
    entities = set()
    for t in union:
        p, s = t.predicate.value, t.subject
        properties[p] += 1
        if p == _TYPE and isinstance(t.object, ox.NamedNode):
            classes[t.object.value] += 1
        if isinstance(s, ox.NamedNode) and s.value.startswith(resources):
            entities.add(s.value)
    asserted = [q for q in quads if q.graph_name == _ASSERTED]
    record = ox.NamedNode(iris.vocabulary(base_iri) + "SourceRecord")
    typed = {q.subject for q in asserted if q.predicate == _RDF_TYPE and q.object == record}
    records = Counter(q.object.value for q in asserted if q.predicate == _PART_OF and q.subject in typed)
    links = (q for q in asserted if q.predicate == _SAME_AS)
    return {
        "graphs": {name: graphs[name] for name in GRAPHS},
        "triples": sum(graphs[name] for name in GRAPHS),
        "entities": len(entities),
        "classes": dict(sorted(classes.items())),
        "properties": dict(sorted(properties.items())),
        "wikidata_links": sum(1 for q in links if q.object.value.startswith(str(WD))),
        # Records per dataset the graph maps (the Office of the Historian's): a VoID subset each.
        "records": dict(sorted(records.items())),
    }


def describe(
    root: str, stats: dict, dumps: list, created: str | None = None, base_iri: str | None = None
) -> Graph:
    """VoID + DCAT for the dataset served at ``root`` (ending in /), whose resources are under
    ``base_iri``.

    Without ``base_iri``, this is the build's own description (``dumps/void.ttl``): the
    dataset at its public base ``root``. It is a dump, the same bytes for the same inputs,
    so it leaves out ``created`` (the build's time, dcterms:created); a server passes its
    settings' ``base_iri`` and states the time of the build it serves (/.well-known/void).
    SOURCE_DATE_EPOCH is not read: a file without the time is the same on every build,
    whether or not the builder sets it. The partitions are blank nodes, as VoID writes them;
    kg.dump.write_turtle gives them canonical labels and order.
    """
    base = root if base_iri is None else base_iri
    g = new_graph()
    g.bind("void", VOID)
    g.bind("dcat", DCAT)
    g.bind("sd", SD)
    d = _dataset_iri(base)
    g.add((d, RDF.type, VOID.Dataset))
    g.add((d, RDF.type, DCAT.Dataset))
    g.add((d, DCTERMS.title, Literal("Meetings between heads of state", lang="en")))
    g.add((d, DCTERMS.title, Literal("রাষ্ট্রপ্রধানদের বৈঠক", lang="bn")))
    g.add(
        (
            d,
            DCTERMS.description,
            Literal(
                "Meetings of Vladimir Putin and Donald Trump, 2017–2019, from one Bengali source text, "
                "with sentence-level provenance, OWL 2 RL inferences and a Wikidata view; with the "
                "records, the Office of the Historian's visits of foreign leaders to the United States "
                "and presidents' trips abroad, each fact referenced to its record.",
                lang="en",
            ),
        )
    )
    g.add((d, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/")))
    g.add((d, DCTERMS.source, URIRef(iris.id_space(base) + SOURCE)))
    if created and base_iri is not None:  # served only: the dumped file does not vary
        g.add((d, DCTERMS.created, Literal(created, datatype=XSD.dateTime)))
    g.add((d, VOID.sparqlEndpoint, URIRef(root + "sparql")))
    g.add((d, VOID.uriSpace, Literal(iris.id_space(base))))
    g.add((d, VOID.vocabulary, URIRef(iris.vocabulary(base))))
    g.add((d, VOID.triples, Literal(stats["triples"], datatype=XSD.integer)))
    g.add((d, VOID.entities, Literal(stats["entities"], datatype=XSD.integer)))
    g.add((d, VOID.classes, Literal(len(stats["classes"]), datatype=XSD.integer)))
    g.add((d, VOID.properties, Literal(len(stats["properties"]), datatype=XSD.integer)))
    for name, n in stats["graphs"].items():
        subset = URIRef(f"{d}/{name.rsplit('/', 1)[1]}")
        g.add((d, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, SD.name, URIRef(name)))
        g.add((subset, VOID.triples, Literal(n, datatype=XSD.integer)))
    for cls, n in stats["classes"].items():
        part = BNode()
        g.add((d, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(cls)))
        g.add((part, VOID.entities, Literal(n, datatype=XSD.integer)))
    for prop, n in stats["properties"].items():
        part = BNode()
        g.add((d, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(prop)))
        g.add((part, VOID.triples, Literal(n, datatype=XSD.integer)))
    for dump in dumps:
        url = URIRef(f"{root}dumps/{dump.name}")
        g.add((d, VOID.dataDump, url))
        dist = URIRef(f"{d}/distribution/{dump.name}")
        g.add((d, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.mediaType, Literal(dump.media_type)))
        if dump.gzip:
            g.add((dist, DCAT.compressFormat, Literal("application/gzip")))
        g.add((dist, DCAT.byteSize, Literal(dump.bytes, datatype=XSD.integer)))
    for source, n in stats.get("records", {}).items():
        # A dataset the graph maps record by record: its own subset, with its licence and publisher.
        subset = URIRef(f"{d}/{source.rsplit('/', 1)[1]}")
        g.add((d, VOID.subset, subset))
        g.add((d, DCTERMS.source, URIRef(source)))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, RDF.type, DCAT.Dataset))
        g.add((subset, DCTERMS.source, URIRef(source)))
        g.add((subset, VOID.entities, Literal(n, datatype=XSD.integer)))
        if source.rsplit("/", 1)[1] in HSG_TITLES:
            g.add((subset, DCTERMS.title, Literal(HSG_TITLES[source.rsplit("/", 1)[1]], lang="en")))
            g.add((subset, DCTERMS.license, CC0))
            g.add(
                (
                    subset,
                    DCTERMS.publisher,
                    Literal("Office of the Historian, U.S. Department of State", lang="en"),
                )
            )
    linkset = URIRef(f"{d}/wikidata-links")
    g.add((linkset, RDF.type, VOID.Linkset))
    g.add((linkset, VOID.subjectsTarget, d))
    g.add((linkset, VOID.objectsTarget, URIRef("http://www.wikidata.org/")))
    g.add((linkset, VOID.linkPredicate, OWL.sameAs))
    g.add((linkset, VOID.triples, Literal(stats["wikidata_links"], datatype=XSD.integer)))
    g.add((d, VOID.subset, linkset))
    return g


def service_description(endpoint: str, triples: int, counts: dict[str, int]) -> Graph:
    """The SPARQL Service Description of the endpoint at ``endpoint``: its features, the
    formats of kg.formats, and its dataset (``triples`` in all; ``counts`` per named graph)."""
    g = new_graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    service = URIRef(endpoint + "#service")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, SD.feature, SD.BasicFederatedQuery))
    for f in formats.FORMATS:
        if f.w3c:
            g.add((service, SD.resultFormat, URIRef(f.w3c)))
    dataset = BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, VOID.triples, Literal(triples, datatype=XSD.integer)))
    for name, n in counts.items():
        named, graph = BNode(), BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(n, datatype=XSD.integer)))
    return g


def write(graph: Graph, row: formats.Format) -> bytes:
    """``graph`` (a description) in the format of ``row``: the same bytes for the same triples, in
    any process, so that replicas answer alike and the bytes can have a strong ETag.

    rdflib's writers follow its store's order, which hangs on the process's hash seed, and name
    blank nodes by random ids; so pyoxigraph writes the graph, its blank nodes labelled by
    RDFC-1.0 (from their content, as the dumps' are) and its triples sorted by N-Triples line.
    Turtle and TriG get the prefixes the graph uses, of the project's and the graph's own.
    """
    dataset = ox.Dataset(ox.Quad(term(s), term(p), term(o)) for s, p, o in graph)  # type: ignore[arg-type]
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    triples = sorted((q.triple for q in dataset), key=str)
    prefixes = _used_prefixes(graph, triples) if row.prefixes else None
    return ox.serialize(triples, format=row.format, prefixes=prefixes)


def _used_prefixes(graph: Graph, triples: list[ox.Triple]) -> dict[str, str]:
    """The prefixes (the project's first, then the graph's) of namespaces ``triples`` use: an IRI's
    namespace is what it has up to its last ``#`` or ``/``, as every one of those ends."""
    by_namespace: dict[str, str] = {}
    for prefix, namespace in (*PREFIXES.items(), *((p, str(n)) for p, n in graph.namespaces())):
        by_namespace.setdefault(namespace, prefix)
    used = set()
    for t in triples:
        for found in (t.subject, t.predicate, t.object):
            iri = found.datatype.value if isinstance(found, ox.Literal) else found.value
            namespace = iri[: max(iri.rfind("#"), iri.rfind("/")) + 1]
            if namespace in by_namespace:
                used.add(namespace)
    return {by_namespace[n]: n for n in sorted(used, key=by_namespace.__getitem__)}
