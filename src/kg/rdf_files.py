"""Which files `kg serve --data` reads, and as what (no rdflib: the gunicorn master imports this)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.errors import DataError
from kg.formats import GRAPH


def _name(fmt: object) -> str:
    """pyoxigraph's name for an RDF format: serve.py loads with ``getattr(ox.RdfFormat, name)``."""
    return next(name for name in sorted(dir(ox.RdfFormat)) if getattr(ox.RdfFormat, name) == fmt)


# ".ttl": "TURTLE", …: the suffix of each RDF format of kg.formats, and the others it is read from.
RDF_EXTENSIONS = {
    f".{suffix}": _name(f.format) for f in GRAPH.values() for suffix in (f.suffix, *f.read_suffixes)
}


def rdf_files(paths: list[Path]) -> list[Path]:
    """The RDF files among ``paths``, folders searched recursively; unknown files are an error."""
    out = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix.lower() in RDF_EXTENSIONS)
        elif path.is_file():
            if path.suffix.lower() not in RDF_EXTENSIONS:
                raise DataError(f"{path}: unknown RDF format; use one of {', '.join(sorted(RDF_EXTENSIONS))}")
            out.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    if not out:
        raise DataError("no RDF files found in " + ", ".join(map(str, paths)))
    return out
