"""Step 5b, dump: the downloadable files, written once at build time.

Three graph sets (asserted = ontology + data, inferred, all) in five formats,
each also gzip-compressed, plus ``dumps.json`` (size, triples, checksum) and
``void.ttl``. Turtle keeps the project's prefixes; N-Triples and N-Quads are
sorted line by line, so a diff of two dumps shows what changed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from kg import formats
from kg.load import new_graph
from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, HOS, ID, PREFIXES

# suffix: (media type, description), one entry per dumped row of kg.formats.FORMATS
FORMATS = {f.suffix: (f.media_type, f.description) for f in formats.DUMPED}
GRAPH_SETS = {
    "asserted": "The ontology and the asserted data",
    "inferred": "What OWL 2 RL reasoning adds (the inferred graph alone)",
    "all": "Everything: ontology, asserted data and inferences",
}


@dataclass(frozen=True)
class DumpFile:
    name: str
    graph: str
    format: str
    media_type: str
    gzip: bool
    bytes: int
    triples: int
    sha256: str


def write_turtle(graph: Graph, path: Path) -> None:
    out = new_graph()
    out += graph
    out.serialize(path, format="turtle", encoding="utf-8")


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


def _render(fmt: str, graphs: dict[URIRef, Graph]) -> bytes:
    dataset = _canonical(graphs)
    if fmt == "nt":
        return _sorted_lines(ox.serialize([q.triple for q in dataset], format=ox.RdfFormat.N_TRIPLES))
    if fmt == "nq":
        return _sorted_lines(ox.serialize(dataset, format=ox.RdfFormat.N_QUADS))
    if fmt == "trig":
        return ox.serialize(sorted(dataset, key=str), format=ox.RdfFormat.TRIG, prefixes=PREFIXES)
    union = new_graph()
    for q in dataset:
        union.add((_to_rdflib(q.subject), _to_rdflib(q.predicate), _to_rdflib(q.object)))
    if fmt == "ttl":  # rdflib's Turtle sorts subjects and predicates: a stable, readable file
        return union.serialize(format="turtle", encoding="utf-8")
    # use_rdf_type: rdflib would write a blank-node class into "@type" as an object,
    # which is not valid JSON-LD; as an ordinary rdf:type property it is.
    written = union.serialize(format="json-ld", context=dict(PREFIXES), use_rdf_type=True, encoding="utf-8")
    return _stable_json(json.loads(written))


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
        for fmt, (media, _) in FORMATS.items():
            body = _render(fmt, graphs)
            # mtime=0: the same content gives the same .gz bytes, checksum and ETag.
            for packed, name in (
                (body, f"{graph_set}.{fmt}"),
                (gzip.compress(body, mtime=0), f"{graph_set}.{fmt}.gz"),
            ):
                (folder / name).write_bytes(packed)
                files.append(
                    DumpFile(
                        name,
                        graph_set,
                        fmt,
                        media,
                        name.endswith(".gz"),
                        len(packed),
                        triples,
                        hashlib.sha256(packed).hexdigest(),
                    )
                )
    (folder / "dumps.json").write_text(json.dumps([asdict(f) for f in files], indent=1), encoding="utf-8")
    return files


def read_dumps(folder: Path) -> list[DumpFile]:
    path = folder / "dumps.json"
    if not path.is_file():
        return []
    return [DumpFile(**item) for item in json.loads(path.read_text(encoding="utf-8"))]


def instances_by_class(graph: Graph) -> dict[str, int]:
    """Distinct project resources per hos: class (owl:sameAs twins are not counted twice)."""
    counts: dict[str, int] = {}
    for cls in sorted(set(graph.objects(None, RDF.type))):
        if not str(cls).startswith(str(HOS)):
            continue
        n = sum(1 for s in graph.subjects(RDF.type, cls) if str(s).startswith(str(ID)))
        if n:
            counts[f"hos:{str(cls)[len(str(HOS)) :]}"] = n
    return counts
