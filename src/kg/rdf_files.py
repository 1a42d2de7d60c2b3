"""Which files `kg serve --data` reads, and as what (no rdflib: the gunicorn master imports this)."""

from __future__ import annotations

from pathlib import Path

from kg.errors import DataError

RDF_EXTENSIONS = {
    ".ttl": "TURTLE",
    ".nt": "N_TRIPLES",
    ".nq": "N_QUADS",
    ".trig": "TRIG",
    ".rdf": "RDF_XML",
    ".owl": "RDF_XML",
    ".xml": "RDF_XML",
    ".jsonld": "JSON_LD",
    ".json": "JSON_LD",
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
