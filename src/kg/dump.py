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

import functools
import gzip
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import RDF

from kg import formats
from kg.build import DumpFile
from kg.derivations import quads_of
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


def lines_of(quads: Iterable[ox.Quad]) -> list[bytes]:
    """Quads as N-Quads lines (pyoxigraph writes them), each ending in a newline, in their order."""
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS).splitlines(keepends=True)


@dataclass(frozen=True)
class Sorted:
    """One graph's quads and their N-Quads lines, in the order of the lines."""

    lines: list[bytes]
    quads: list[ox.Quad]


def canonical(graphs: Mapping[URIRef, Sequence[ox.Quad]]) -> dict[URIRef, Sorted]:
    """The graphs' quads with canonical blank node labels (RDFC-1.0) computed over all of them,
    each graph's sorted by N-Quads line: the same quads give the same labels and order, however
    their blank nodes were labelled and ordered before.

    RDFC-1.0 hashes, for each blank node, only the quads that mention a blank node, so the labels
    are computed on those alone (267 of 430,000 in the build; the whole dataset took seconds) and
    the others pass through. A line with ``_:`` inside a literal is only relabelled for nothing.
    Lines of bytes are sorted by index, so the sort runs in C (sorting quads by ``str`` took 1.4 s).
    """
    written = {name: ox.serialize(quads, format=ox.RdfFormat.N_QUADS) for name, quads in graphs.items()}
    lines = {name: data.splitlines(keepends=True) for name, data in written.items()}
    blank = {name: _lines_with(b"_:", data) for name, data in written.items()}
    labelled = ox.Dataset(graphs[name][i] for name in graphs for i in sorted(blank[name]))
    labelled.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    relabelled = list(labelled)
    named = {ox.NamedNode(str(name)): name for name in graphs}
    out = {}
    for name, quads in graphs.items():
        kept = [q for q in relabelled if named[q.graph_name] is name]  # type: ignore[index]
        every = lines[name] + lines_of(kept)
        quads = list(quads) + kept
        skip = blank[name]
        order = sorted((i for i in range(len(every)) if i not in skip), key=every.__getitem__)
        out[name] = Sorted([every[i] for i in order], [quads[i] for i in order])
    return out


def _lines_with(needle: bytes, data: bytes) -> set[int]:
    """The numbers (from 0) of the lines of ``data`` that hold ``needle``: searched and counted in C,
    not line by line in Python (a second at 430,000 lines)."""
    found, line, at = set(), 0, 0
    for match in re.finditer(re.escape(needle), data):
        line += data.count(b"\n", at, match.start())
        at = match.start()
        found.add(line)
    return found


def _triple_line(line: bytes) -> bytes:
    """An N-Quads line of a named graph as the N-Triples line of its triple."""
    return line[: line.rindex(b" <")] + b" .\n"


class Statements:
    """One graph set's statements (kg.dump.canonical's, by graph) in the forms the writers
    need; each made once, when first asked for."""

    def __init__(self, graphs: Mapping[URIRef, Sorted]) -> None:
        self.graphs = graphs

    @functools.cached_property
    def lines(self) -> list[bytes]:
        """Every quad's N-Quads line, sorted."""
        return sorted(line for graph in self.graphs.values() for line in graph.lines)

    @functools.cached_property
    def ntriples(self) -> bytes:
        """Each triple once (a triple may stand in two graphs), the lines sorted."""
        return b"".join(sorted({_triple_line(line) for line in self.lines}))

    @functools.cached_property
    def triples(self) -> list[ox.Quad]:
        return list(ox.parse(self.ntriples, format=ox.RdfFormat.N_TRIPLES))

    @property
    def quads(self) -> list[ox.Quad]:
        """Graph by graph, each sorted, as TriG writes them."""
        return [q for name in sorted(self.graphs) for q in self.graphs[name].quads]


def _pyoxigraph(row: formats.Format, statements: Statements) -> bytes:
    """pyoxigraph's writer, fed in sorted order, with the project's prefixes if the row has them."""
    prefixes = PREFIXES if row.prefixes else None
    chosen = statements.quads if row.named_graphs else statements.triples
    return ox.serialize(chosen, format=row.format, prefixes=prefixes)


def _n_quads(row: formats.Format, statements: Statements) -> bytes:
    return b"".join(statements.lines)


def _n_triples(row: formats.Format, statements: Statements) -> bytes:
    return statements.ntriples


Writer = Callable[[formats.Format, Statements], bytes]
# How a dumped row is written, by its serializer: a row whose serializer is not here is
# written by pyoxigraph in sorted order (as TriG, Turtle and JSON-LD are), so a new dump
# format is its row in kg.formats, plus an entry here only when it needs another writer.
# N-Triples and N-Quads are the sorted lines themselves, so a diff of two dumps shows what changed.
WRITERS: dict[ox.RdfFormat, Writer] = {
    ox.RdfFormat.N_TRIPLES: _n_triples,
    ox.RdfFormat.N_QUADS: _n_quads,
}


def _render(row: formats.Format, graphs: dict[URIRef, Graph]) -> bytes:
    """One dump's bytes of rdflib graphs (for a format's tests)."""
    quads = {name: quads_of({name: graph}) for name, graph in graphs.items()}
    return WRITERS.get(row.format, _pyoxigraph)(row, Statements(canonical(quads)))


SETS = {  # graph set -> the named graphs it holds
    "asserted": (GRAPH_ONTOLOGY, GRAPH_ASSERTED),
    "inferred": (GRAPH_INFERRED,),
    "all": (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED),
}


def write_dumps(graphs: dict[URIRef, list[ox.Quad]], folder: Path) -> list[DumpFile]:
    """Every graph set of ``graphs`` (the build's quads by named graph) in every dumped format,
    plain and gzip-compressed. Compressing, checksumming and writing a file (which release the
    interpreter lock) overlap with writing the next format."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Future[DumpFile]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for graph_set, names in SETS.items():
            # Canonical labels of this set alone, as if it were the only one.
            statements = Statements(canonical({n: graphs[n] for n in names if n in graphs}))
            for row in formats.DUMPED:
                body = WRITERS.get(row.format, _pyoxigraph)(row, statements)
                # A triple format holds each triple once, though it may stand in two graphs.
                triples = len(statements.lines) if row.named_graphs else statements.ntriples.count(b"\n")
                name = f"{graph_set}.{row.suffix}"
                for packed in (False, True):
                    path = folder / (f"{name}.gz" if packed else name)
                    files.append(pool.submit(_write_file, path, body, graph_set, row, triples, packed))
    return [f.result() for f in files]


def _write_file(
    path: Path, body: bytes, graph_set: str, row: formats.Format, triples: int, packed: bool
) -> DumpFile:
    # mtime=0: the same content gives the same .gz bytes, checksum and ETag.
    data = gzip.compress(body, compresslevel=6, mtime=0) if packed else body
    path.write_bytes(data)
    return DumpFile(
        path.name,
        graph_set,
        row.suffix,
        row.media_type,
        packed,
        len(data),
        triples,
        hashlib.sha256(data).hexdigest(),
    )


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
