"""Step 5b, dump: the downloadable files, written once at build time.

Three graph sets (asserted = ontology + data, inferred, all) in every format
whose row in kg.formats says ``dump``, each also gzip-compressed, plus
an index (kg.build writes it: size, triples, checksum) and ``void.ttl``. Every file is the
same bytes for the same triples: blank nodes get canonical labels (RDFC-1.0;
rdflib's own for void.ttl), and each format's writer (``WRITERS``, by the
row's serializer) writes in a fixed order. Turtle keeps the project's prefixes; N-Triples and N-Quads are
sorted line by line, so a diff of two dumps shows what changed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import RDF
from rdflib.term import Node

from kg import formats
from kg.build import DumpFile
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, HOS, ID, PREFIXES, new_graph

# suffix: (media type, description), one entry per dumped row of kg.formats.FORMATS
FORMATS = {f.suffix: (f.media_type, f.description) for f in formats.DUMPED}
GRAPH_SETS = {
    "asserted": "The ontology and the asserted data",
    "inferred": "What OWL 2 RL reasoning adds (the inferred graph alone)",
    "all": "Everything: ontology, asserted data and inferences",
}


def write_turtle(graph: Graph, path: Path) -> None:
    """``graph`` (void.ttl) as Turtle that is the same bytes for the same triples.

    rdflib relabels the blank nodes from their content (``to_canonical_graph``) and its
    Turtle writer sorts subjects, predicates and objects. These are rdflib's canonical
    labels, not the RDFC-1.0 of the dumps below: the round trip through pyoxigraph
    (``_to_rdflib``) turns plain literals into ``^^xsd:string`` ones, and the file would
    no longer parse back to the same rdflib graph. The prefixes are the project's and
    the graph's own (``sd:``).
    """
    out = _bound(graph.namespaces())
    out += to_canonical_graph(graph)
    out.serialize(path, format="turtle", encoding="utf-8")


def _bound(namespaces: Iterable[tuple[str, URIRef]]) -> Graph:
    """An empty graph bound to the project's prefixes, and to those of ``namespaces``
    whose prefix and namespace are both still free."""
    out = new_graph()
    bound = dict(out.namespaces())
    taken = set(bound.values())
    for prefix, namespace in namespaces:
        if prefix not in bound and namespace not in taken:
            out.bind(prefix, namespace)
    return out


def _quads(graphs: dict[URIRef, Graph]) -> list[ox.Quad]:
    out = []
    for name, graph in graphs.items():
        nt = graph.serialize(format="nt", encoding="utf-8")
        out += [
            ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(str(name)))
            for t in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)
        ]
    return out


def write_nquads(graphs: dict[URIRef, Graph], path: Path) -> None:
    """One N-Quads file holding each graph under its name (pyoxigraph writes it)."""
    ox.serialize(_quads(graphs), str(path), format=ox.RdfFormat.N_QUADS)


def _sorted_lines(data: bytes) -> bytes:
    return b"".join(sorted(data.splitlines(keepends=True)))


def _canonical(graphs: dict[URIRef, Graph]) -> ox.Dataset:
    """The quads with canonical blank node labels (RDFC-1.0): the same graph, the same labels."""
    dataset = ox.Dataset(_quads(graphs))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return dataset


def _to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)  # keeps the canonical label
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _statements(row: formats.Format, dataset: ox.Dataset) -> list:
    """Quads for a format that keeps the named graphs, triples for the others."""
    return list(dataset) if row.named_graphs else [q.triple for q in dataset]


def _pyoxigraph(row: formats.Format, dataset: ox.Dataset) -> bytes:
    """pyoxigraph's writer, fed in sorted order, with the project's prefixes if the row has them."""
    prefixes = PREFIXES if row.prefixes else None
    return ox.serialize(sorted(_statements(row, dataset), key=str), format=row.format, prefixes=prefixes)


def _line_sorted(row: formats.Format, dataset: ox.Dataset) -> bytes:
    """One statement a line (N-Triples, N-Quads), the lines sorted."""
    return _sorted_lines(ox.serialize(_statements(row, dataset), format=row.format))


def _rdflib_graph(dataset: ox.Dataset) -> Graph:
    """The union of the quads' graphs as an rdflib graph bound to the project's prefixes."""
    union = new_graph()
    for q in dataset:
        union.add((_to_rdflib(q.subject), _to_rdflib(q.predicate), _to_rdflib(q.object)))
    return union


def _json_ld(row: formats.Format, dataset: ox.Dataset) -> bytes:
    """rdflib's JSON-LD with the project's prefixes as its context, nodes and values sorted."""
    # use_rdf_type: rdflib would write a blank-node class into "@type" as an object,
    # which is not valid JSON-LD; as an ordinary rdf:type property it is.
    written = _rdflib_graph(dataset).serialize(
        format="json-ld", context=dict(PREFIXES), use_rdf_type=True, encoding="utf-8"
    )
    return _stable_json(json.loads(written))


Writer = Callable[[formats.Format, ox.Dataset], bytes]
# How a dumped row is written, by its serializer: a row whose serializer is not here is
# written by pyoxigraph in sorted order (as TriG is), so a new dump format is its row in
# kg.formats, plus an entry here only when it needs another writer.
WRITERS: dict[ox.RdfFormat, Writer] = {
    ox.RdfFormat.JSON_LD: _json_ld,
    ox.RdfFormat.N_TRIPLES: _line_sorted,
    ox.RdfFormat.N_QUADS: _line_sorted,
}


def _render(row: formats.Format, graphs: dict[URIRef, Graph] | ox.Dataset) -> bytes:
    """One dump's bytes: of graphs, or of their canonical dataset when the caller made it once."""
    dataset = graphs if isinstance(graphs, ox.Dataset) else _canonical(graphs)
    return WRITERS.get(row.format, _pyoxigraph)(row, dataset)


def _stable_json(document: object) -> bytes:
    """JSON-LD in one order for the same graph: rdflib writes nodes and values in hash order.

    Every array is a set of nodes or values (sorted here by its canonical JSON) except
    an ``@list`` (an RDF collection), whose order is its meaning and is kept.
    """
    return json.dumps(_sorted_json(document), sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")


def _sorted_json(value: object, ordered: bool = False) -> object:
    if isinstance(value, dict):
        return {key: _sorted_json(item, ordered=key == "@list") for key, item in value.items()}
    if isinstance(value, list):
        items = [_sorted_json(item) for item in value]
        return items if ordered else sorted(items, key=_json_key)
    return value


def _json_key(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def write_dumps(ontology: Graph, data: Graph, inferred: Graph, folder: Path) -> list[DumpFile]:
    folder.mkdir(parents=True, exist_ok=True)
    sets = {
        "asserted": {GRAPH_ONTOLOGY: ontology, GRAPH_ASSERTED: data},
        "inferred": {GRAPH_INFERRED: inferred},
        "all": {GRAPH_ONTOLOGY: ontology, GRAPH_ASSERTED: data, GRAPH_INFERRED: inferred},
    }
    files = []
    for graph_set, graphs in sets.items():
        triples = sum(len(g) for g in graphs.values())
        dataset = _canonical(graphs)  # once per set: canonical labels cost seconds at 400k quads
        for row in formats.DUMPED:
            body = _render(row, dataset)
            # mtime=0: the same content gives the same .gz bytes, checksum and ETag.
            for packed, name in (
                (body, f"{graph_set}.{row.suffix}"),
                (gzip.compress(body, compresslevel=6, mtime=0), f"{graph_set}.{row.suffix}.gz"),
            ):
                (folder / name).write_bytes(packed)
                files.append(
                    DumpFile(
                        name,
                        graph_set,
                        row.suffix,
                        row.media_type,
                        name.endswith(".gz"),
                        len(packed),
                        triples,
                        hashlib.sha256(packed).hexdigest(),
                    )
                )
    return files


def instances_by_class(*graphs: Graph) -> dict[str, int]:
    """Distinct project resources per hos: class (owl:sameAs twins are not counted twice), over
    the graphs together (their rdf:type triples only: no union graph of 400,000 triples is made)."""
    hos, project = str(HOS), str(ID)
    typed = {
        (s, o)
        for graph in graphs
        for s, o in graph.subject_objects(RDF.type)
        if str(o).startswith(hos) and str(s).startswith(project)
    }
    counts = Counter(f"hos:{str(o)[len(hos) :]}" for _, o in typed)
    return dict(sorted(counts.items()))
