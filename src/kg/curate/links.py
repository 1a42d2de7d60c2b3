"""What `kg link check` checks: every Wikidata item the graph links and the tables under data/ name.

- **The graph**: every ``owl:sameAs <http://www.wikidata.org/entity/Q…>`` of the build's asserted
  graph (data/entities.ttl, the countries mapped from data/sources/hsg/countries-wikidata.tsv, the
  links `kg link accept` wrote), with the entity's English labels and alternative labels and its
  kind (person, country, city…: the first row of types.tsv whose class it has).
- **The tables**: the items data/sources/seed/wikidata-ids.tsv (entity and class rows; property rows
  name properties, not items) and data/sources/hsg/countries-wikidata.tsv name, each with the
  table's label for it and the file and line it is on.

One item named in several places is one ``Link`` with every ``Origin``: it is asked about once, and
its report names them all.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg.config import Settings
from kg.iris import HOS, ID
from kg.store import KnowledgeGraph

FOLDER = Path(__file__).parent
WD = "http://www.wikidata.org/entity/"
QID = re.compile(r"Q[1-9][0-9]*")
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


@dataclass(frozen=True)
class Table:
    """A table under data/ that names Wikidata items: where, which columns, which rows."""

    path: str  # under the data folder
    qid: str  # the column of the item's id
    label: str  # the column of its English label, as Wikidata had it when the row was written
    kinds: dict[str, str | None] | None = None  # a `kind` column's value → our kind; None: every row
    kind: str | None = None  # the kind of every row, when there is no kind column


TABLES = (
    Table("sources/seed/wikidata-ids.tsv", "id", "label_en", kinds={"entity": None, "class": "class"}),
    Table("sources/hsg/countries-wikidata.tsv", "qid", "wikidata_label", kind="country"),
)


@dataclass(frozen=True)
class Origin:
    """Where one of ours names the item: the graph (an entity) or a table's line."""

    where: str  # "graph", or "data/sources/…tsv:12"
    iri: str | None  # our entity, for the graph
    kind: str | None  # person, country, city…; None: not known (no type check)
    labels: tuple[str, ...]  # our English names for it: the label to compare comes first


@dataclass
class Link:
    qid: str
    origins: list[Origin] = field(default_factory=list)

    @property
    def iri(self) -> str:
        return WD + self.qid

    @property
    def iris(self) -> list[str]:
        """Our entities linking the item (more than one: a shared link)."""
        return sorted({o.iri for o in self.origins if o.iri})

    @property
    def kinds(self) -> list[str]:
        return sorted({o.kind for o in self.origins if o.kind})

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(label for o in self.origins for label in o.labels))


@dataclass(frozen=True)
class Expectation:
    """A row of types.tsv: an entity of class ``ours`` is a ``kind``, an instance of ``wikidata``."""

    ours: str
    kind: str
    wikidata: str | None
    label: str


def types(path: Path = FOLDER / "types.tsv") -> list[Expectation]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return [
        Expectation(
            HOS + r["ours"].removeprefix("hos:"), r["kind"], r["wikidata"] or None, r["wikidata_label"]
        )
        for r in rows
    ]


def kind_of(classes: Iterable[str], table: list[Expectation]) -> str | None:
    """The kind of an entity with these classes (its types and their superclasses): the first row's."""
    classes = set(classes)
    return next((e.kind for e in table if e.ours in classes), None)


def collect(settings: Settings) -> list[Link]:
    """Every item to check: the build's links (NotBuilt without a build) and the tables', merged."""
    graph = KnowledgeGraph.open(settings.build)
    return merge([*from_graph(graph, types()), *from_tables(settings.data_dir)])


def merge(named: Iterable[tuple[str, Origin]]) -> list[Link]:
    """One Link per item, its origins in the order given; the items in numeric order."""
    links: dict[str, Link] = {}
    for qid, origin in named:
        link = links.setdefault(qid, Link(qid))
        if origin not in link.origins:
            link.origins.append(origin)
    return sorted(links.values(), key=lambda link: int(link.qid[1:]))


def from_graph(graph: KnowledgeGraph, table: list[Expectation]) -> Iterator[tuple[str, Origin]]:
    entities: dict[tuple[str, str], tuple[set[str], dict[str, bool]]] = {}
    for row in graph.query((FOLDER / "check-links.rq").read_text(encoding="utf-8"), infer=False):
        classes, labels = entities.setdefault((row["entity"].value, row["item"].value), (set(), {}))
        if row["class"] is not None:
            classes.add(row["class"].value)
        if row["label"] is not None:
            alternative = row["labelling"].value != RDFS_LABEL
            labels[row["label"].value] = labels.get(row["label"].value, True) and alternative
    for (entity, item), (classes, labels) in sorted(entities.items()):
        ordered = tuple(sorted(labels, key=lambda name: (labels[name], name)))  # rdfs:label first
        yield item.removeprefix(WD), Origin("graph", entity, kind_of(classes, table), ordered)


def from_tables(data_dir: Path, tables: Iterable[Table] = TABLES) -> Iterator[tuple[str, Origin]]:
    for table in tables:
        path = data_dir / table.path
        if not path.is_file():  # a data folder of another project (kg serve --data): no such table
            continue
        with path.open(encoding="utf-8", newline="") as f:
            rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            for line, row in enumerate(rows, start=2):  # line 1 is the header; no row spans lines
                qid = (row.get(table.qid) or "").strip()
                if not QID.fullmatch(qid):
                    continue  # an empty cell (no item found) or a property's id
                if table.kinds is not None and row.get("kind") not in table.kinds:
                    continue
                kind = table.kinds[row["kind"]] if table.kinds is not None else table.kind
                label = (row.get(table.label) or "").strip()
                where = f"{data_dir.name}/{table.path}:{line}"
                yield qid, Origin(where, None, kind, (label,) if label else ())


def compact(iri: str) -> str:
    """``person:vladimir-putin`` for one of our IRIs; others as they are."""
    if iri.startswith(ID) and "/" in iri.removeprefix(ID):
        return iri.removeprefix(ID).replace("/", ":", 1)
    return iri
