"""Sources: what a build reads, declared as data; kg.load knows how each kind becomes RDF.

A ``Source`` names files (paths, folders searched for a pattern), the reader that
turns them into RDF (a key of ``kg.load.READERS``), the graph its triples go to,
and the name provenance calls it by. The settings hold the list: the project's
build reads the seed text's Turtle and maps the Office of the Historian's XML records
(data/sources/hsg/, through the RML mappings of data/mappings/) into the asserted graph;
``kg serve --data`` reads any RDF files, which keep their own graphs. A new kind of source
is a reader in kg.load and a Source here.

No rdflib here: the gunicorn master lists the ``--data`` files before it forks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.errors import DataError
from kg.formats import GRAPH


def _ox_name(fmt: object) -> str:
    return next(name for name in sorted(dir(ox.RdfFormat)) if getattr(ox.RdfFormat, name) == fmt)


# ".ttl": "TURTLE", …: the suffixes of kg.formats' RDF formats and those they are also read from,
# with pyoxigraph's name for each format (a name, not the object, so it can travel between processes).
RDF_SUFFIXES = {f".{s}": _ox_name(f.format) for f in GRAPH.values() for s in (f.suffix, *f.read_suffixes)}


@dataclass(frozen=True)
class Source:
    name: str  # what provenance and the manifest call it
    paths: tuple[Path, ...]  # files, or folders searched (not recursively) for ``pattern``
    reader: str = "turtle"  # how its files become RDF: a key of kg.load.READERS
    pattern: str = "*.ttl"
    # Whether its files keep their own graphs (triples in the default graph, the named graphs of
    # N-Quads and TriG as named), as SPARQL's dataset has them; else all go to the asserted graph.
    own_graphs: bool = False
    # The RML mappings (files or folders of *.rml.ttl) that turn its files into RDF: reader "rml".
    mappings: tuple[Path, ...] = ()

    @classmethod
    def seed(cls, data_dir: Path) -> Source:
        """The seed text's statements, hand-written in Turtle (data/*.ttl)."""
        return cls("seed", (data_dir,))

    @classmethod
    def foreign(cls, paths: list[Path]) -> Source:
        """Any RDF files or folders (searched recursively), keeping SPARQL's dataset: kg serve --data."""
        return cls("data", tuple(paths), reader="rdf", pattern="**/*", own_graphs=True)

    @classmethod
    def records(cls, data_dir: Path) -> Source:
        """The Office of the Historian's records (data/sources/hsg/), mapped by data/mappings/*.rml.ttl."""
        return cls(
            "hsg",
            (data_dir / "sources" / "hsg",),
            reader="rml",
            pattern="**/*",
            mappings=(data_dir / "mappings",),
        )

    def mapping_files(self) -> list[Path]:
        """The RML mappings, and the functions they call (functions.py beside them)."""
        out: list[Path] = []
        for path in self.mappings:
            found = sorted(path.glob("*.rml.ttl")) if path.is_dir() else [path]
            out += found + [p for p in [found[0].parent / "functions.py"] if found and p.is_file()]
            # the link step's tables (kg.link: summit-series.tsv, …)
            out += sorted(found[0].parent.glob("*.tsv")) if found else []
        return out

    def inputs(self) -> list[Path]:
        """Every file a build of this source reads: what a digest of the inputs covers."""
        return self.files() + self.mapping_files()

    def files(self) -> list[Path]:
        """The files, sorted within each folder; a missing path or an unknown RDF file is a DataError."""
        out: list[Path] = []
        for path in self.paths:
            if path.is_dir():
                found = sorted(p for p in path.glob(self.pattern) if p.is_file())
                out += [p for p in found if self.reader != "rdf" or p.suffix.lower() in RDF_SUFFIXES]
            elif path.is_file():
                if self.reader == "rdf" and path.suffix.lower() not in RDF_SUFFIXES:
                    known = ", ".join(sorted(RDF_SUFFIXES))
                    raise DataError(f"{path}: unknown RDF format; use one of {known}")
                out.append(path)
            else:
                raise DataError(f"{path}: no such file or folder")
        if not out:
            where = ", ".join(map(str, self.paths))
            if self.reader == "rdf":
                raise DataError(f"no RDF files found in {where}")
            raise DataError(f"{where}: no {self.pattern} files to load")
        return out


def project(data_dir: Path, records: bool = False) -> tuple[Source, ...]:
    """The project's own sources, which ``kg build`` reads unless the settings name others: the
    seed text, and the Office of the Historian's records when ``records`` (KG_RECORDS=1)."""
    return (Source.seed(data_dir), *([Source.records(data_dir)] if records else []))
