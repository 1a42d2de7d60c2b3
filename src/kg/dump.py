"""Step 5b, dump: the downloadable files, written once at build time.

Three graph sets (asserted = ontology + data, inferred, all) in every format
whose row in kg.formats says ``dump``, each also gzip-compressed, plus
an index (kg.build writes it: size, triples, checksum) and ``void.ttl``. Every file is the
same bytes for the same triples: blank nodes get canonical labels (RDFC-1.0;
rdflib's own for void.ttl), and each format's writer (``WRITERS``, by the
row's serializer) writes in a fixed order. Turtle keeps the project's prefixes; N-Triples and N-Quads are
sorted line by line, so a diff of two dumps shows what changed.

A graph stands in two sets, so what does not depend on the set is done once per graph (``split``:
its quads without a blank node written, sorted and parsed anew in that order); each set only
relabels its few quads with a blank node (``canonical``) and merges them and its graphs' sorted
runs. Compressing, checksumming and writing the files (``_write_file``, in threads) follows.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

import pyoxigraph as ox
from isal import igzip
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


T = TypeVar("T")


@dataclass(frozen=True)
class Sorted:
    """Quads of one graph, their N-Quads lines and their triples, in the order of the lines."""

    lines: list[bytes]
    quads: list[ox.Quad]
    triples: list[ox.Triple]

    @classmethod
    def parsed(cls, lines: list[bytes]) -> Sorted:
        """Sorted N-Quads lines with their quads and triples, parsed from them.

        The quads are new objects, laid out in memory in the order the writers read them: fed the
        build's own quads in that order (scattered over the heap), pyoxigraph's writers took three
        times as long, and ``Quad.triple`` too. ``lenient``: the lines are pyoxigraph's own output,
        valid already, and the checks it skips are a third of the parse."""
        quads = list(ox.parse(b"".join(lines), format=ox.RdfFormat.N_QUADS, lenient=True))
        return cls(lines, quads, [q.triple for q in quads])

    def merge(self, few: Sorted) -> Sorted:
        """These and ``few``'s (a graph's relabelled blank node quads), in the order of their
        lines: each of ``few``'s lines is bisected into these, and the runs between them are copied
        as slices, in C; the lists of a graph shared by two sets are left as they are."""
        if not few.lines:
            return self
        at = [bisect.bisect(self.lines, line) for line in few.lines]
        return Sorted(
            _interleave(self.lines, few.lines, at),
            _interleave(self.quads, few.quads, at),
            _interleave(self.triples, few.triples, at),
        )


def _interleave(items: list[T], inserted: list[T], at: list[int]) -> list[T]:
    """A copy of ``items`` with ``inserted[i]`` put before ``items[at[i]]`` (``at`` not decreasing)."""
    out: list[T] = []
    start = 0
    for position, item in zip(at, inserted, strict=True):
        out += items[start:position]
        out.append(item)
        start = position
    out += items[start:]
    return out


@dataclass(frozen=True)
class Split:
    """One graph's quads made ready for :func:`canonical` once, however many sets hold the graph:
    those without a blank node are the same in every set, so they are written, sorted and parsed
    once (``plain``); those with one are labelled anew for each set (``blank``)."""

    plain: Sorted
    blank: list[ox.Quad]  # with the labels they came with


def split(quads: Sequence[ox.Quad]) -> Split:
    """One graph's ``quads`` as :class:`Split` says. A line with ``_:`` inside a literal is taken
    for a blank node's: it is only relabelled for nothing."""
    written = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    lines = written.splitlines(keepends=True)
    blank = sorted(_lines_with(b"_:", written))
    # The runs of lines between the blank ones, as slices (copied in C), not line by line.
    runs = (lines[start + 1 : end] for start, end in zip([-1, *blank], [*blank, len(lines)], strict=True))
    plain = list(itertools.chain.from_iterable(runs))
    plain.sort()  # lines of bytes, compared in C (sorting quads by ``str`` took 1.4 s)
    return Split(Sorted.parsed(plain), [quads[i] for i in blank])


def canonical(graphs: Mapping[URIRef, Split]) -> dict[URIRef, Sorted]:
    """The graphs' quads with canonical blank node labels (RDFC-1.0) computed over all of them,
    each graph's sorted by N-Quads line: the same quads give the same labels and order, however
    their blank nodes were labelled and ordered before.

    RDFC-1.0 hashes, for each blank node, only the quads that mention a blank node, so the labels
    are computed on those alone (267 of 430,000 in the build; the whole dataset took seconds) and
    merged into the others, which :func:`split` sorted once for every set that holds their graph.
    """
    labelled = ox.Dataset(q for graph in graphs.values() for q in graph.blank)
    labelled.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    relabelled: dict[ox.NamedNode | ox.BlankNode | ox.DefaultGraph, list[ox.Quad]] = {}
    for quad in labelled:
        relabelled.setdefault(quad.graph_name, []).append(quad)
    out = {}
    for name, graph in graphs.items():
        blank = sorted(lines_of(relabelled.get(ox.NamedNode(str(name)), [])))
        out[name] = graph.plain.merge(Sorted.parsed(blank))
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


class Statements:
    """One graph set's statements (kg.dump.canonical's, by graph) in the forms the writers
    need; each made once, when first asked for."""

    def __init__(self, graphs: Mapping[URIRef, Sorted]) -> None:
        self.graphs = graphs

    @functools.cached_property
    def _every(self) -> tuple[list[bytes], list[ox.Triple]]:
        """Every quad's N-Quads line, sorted, and its triple, in the same order.

        Each graph's lines are a sorted run, which Timsort merges in about one pass; the order is
        sorted once, by index, and applied to both lists. The order of the N-Quads lines is that of
        the triples' N-Triples lines: each term ends where a scan from its start says it does (an
        IRI at ``>``, a literal at its closing quote and tag or datatype) and is followed by a
        space, so two lines differ before the graph name unless their triples are the same."""
        if len(self.graphs) == 1:
            (only,) = self.graphs.values()
            return only.lines, only.triples
        lines = [line for graph in self.graphs.values() for line in graph.lines]
        triples = [t for graph in self.graphs.values() for t in graph.triples]
        order = sorted(range(len(lines)), key=lines.__getitem__)
        return list(map(lines.__getitem__, order)), list(map(triples.__getitem__, order))

    @property
    def lines(self) -> list[bytes]:
        """Every quad's N-Quads line, sorted."""
        return self._every[0]

    @functools.cached_property
    def triples(self) -> list[ox.Triple]:
        """Each triple once, in the order of their N-Triples lines: a triple may stand in two
        graphs, and then its two quads' lines are next to each other."""
        every = self._every[1]
        return list(itertools.compress(every, map(operator.ne, every, [None, *every])))

    @functools.cached_property
    def ntriples(self) -> bytes:
        """The triples' N-Triples lines, sorted as the triples are: written from them, not cut out
        of the N-Quads lines in Python line by line."""
        return ox.serialize(self.triples, format=ox.RdfFormat.N_TRIPLES)

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
    split_graphs = {name: split(quads_of({name: graph})) for name, graph in graphs.items()}
    return WRITERS.get(row.format, _pyoxigraph)(row, Statements(canonical(split_graphs)))


# gzip by ISA-L (python-isal, a well-kept binding of Intel's library) at its level 2: zlib at
# level 6 took 2.7 of the dumps' CPU seconds, ISA-L takes a tenth of that, for files about a
# quarter larger (all.nq.gz 3.3 → 4.3 MB). Any gzip reader reads them; the same input and level
# give the same bytes (mtime 0), so a dump's checksum, which /dumps sends as its ETag
# (kg.web.dumps), holds from build to build.
GZIP_LEVEL = 2

SETS = {  # graph set -> the named graphs it holds
    "asserted": (GRAPH_ONTOLOGY, GRAPH_ASSERTED),
    "inferred": (GRAPH_INFERRED,),
    "all": (GRAPH_ONTOLOGY, GRAPH_ASSERTED, GRAPH_INFERRED),
}


class Dumped(NamedTuple):
    """What write_dumps wrote, and the distinct triples of every graph (for kg.void's counts)."""

    files: list[DumpFile]
    triples: list[ox.Triple]


def write_dumps(graphs: dict[URIRef, list[ox.Quad]], folder: Path) -> Dumped:
    """Every graph set of ``graphs`` (the build's quads by named graph) in every dumped format,
    plain and gzip-compressed. Compressing, checksumming and writing a file (which release the
    interpreter lock) overlap with writing the next format."""
    folder.mkdir(parents=True, exist_ok=True)
    # Each graph is written, sorted and parsed once, though it stands in two sets.
    in_a_set = {name for names in SETS.values() for name in names}
    split_graphs = {name: split(quads) for name, quads in graphs.items() if name in in_a_set}
    files: list[Future[DumpFile]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for graph_set, names in SETS.items():
            # Canonical labels of this set alone, as if it were the only one.
            statements = Statements(canonical({n: split_graphs[n] for n in names if n in graphs}))
            if graph_set == "all":  # every graph: its distinct triples are the union's
                union = statements.triples
            for row in formats.DUMPED:
                body = WRITERS.get(row.format, _pyoxigraph)(row, statements)
                # A triple format holds each triple once, though it may stand in two graphs.
                triples = len(statements.lines) if row.named_graphs else len(statements.triples)
                name = f"{graph_set}.{row.suffix}"
                for packed in (False, True):
                    path = folder / (f"{name}.gz" if packed else name)
                    files.append(pool.submit(_write_file, path, body, graph_set, row, triples, packed))
    return Dumped([f.result() for f in files], union)


def _write_file(
    path: Path, body: bytes, graph_set: str, row: formats.Format, triples: int, packed: bool
) -> DumpFile:
    # mtime=0: the same content gives the same .gz bytes, checksum and ETag.
    data = igzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if packed else body
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
