"""Step 1, load: parse the ontology and the data into two rdflib graphs.

A syntax error stops the load with the file and line, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from kg.config import Settings
from kg.errors import DataError
from kg.namespaces import PREFIXES


@dataclass
class Loaded:
    ontology: Graph
    data: Graph
    # Which files assert triples about each subject, so that reports can name them.
    origin: dict[Node, list[Path]] = field(default_factory=dict)


def new_graph() -> Graph:
    g = Graph()
    for prefix, iri in PREFIXES.items():
        g.bind(prefix, iri, override=True, replace=True)
    return g


def ontology_files(settings: Settings) -> list[Path]:
    # shapes.ttl is the SHACL contract, not part of the ontology graph.
    return sorted(p for p in settings.ontology_dir.glob("*.ttl") if p.name != "shapes.ttl")


def data_files(settings: Settings) -> list[Path]:
    return sorted(settings.data_dir.glob("*.ttl"))


def parse_file(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file; a syntax error becomes a DataError naming file and line."""
    graph = into if into is not None else new_graph()
    try:
        graph.parse(path, format="turtle")
    except BadSyntax as exc:
        # BadSyntax.lines is 0-based; editors count from 1.
        raise DataError(f"{path}: line {exc.lines + 1}: {exc._why}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    except Exception as exc:  # rdflib raises plain exceptions for some bad terms
        raise DataError(f"{path}: {type(exc).__name__}: {exc}") from None
    return graph


def load(settings: Settings) -> Loaded:
    onto_files, dat_files = ontology_files(settings), data_files(settings)
    if not dat_files:
        raise DataError(f"{settings.data_dir}: no *.ttl files to load")
    ontology, data = new_graph(), new_graph()
    origin: dict[Node, list[Path]] = {}
    for path in onto_files:
        parse_file(path, ontology)
    for path in dat_files:
        part = parse_file(path)
        for s in part.subjects(unique=True):
            origin.setdefault(s, []).append(path)
        data += part
    return Loaded(ontology=ontology, data=data, origin=origin)
