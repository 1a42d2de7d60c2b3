"""Step 2, validate: the SHACL contract (pyshacl) and QC checks (SPARQL).

Both run on the asserted data with the ontology mixed in, before reasoning, so
a report points at what someone wrote, not at what the reasoner derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, RDFS, BNode, Graph, URIRef
from rdflib.term import Node

from kg.config import Settings
from kg.derivations import node
from kg.load import Loaded, parse_file
from kg.namespaces import PREFIXES, SH, new_graph
from kg.queries import load_queries


@dataclass(frozen=True)
class Violation:
    check: str  # the shape or QC check that failed
    focus: str
    path: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        where = f" [{self.file}]" if self.file else ""
        path = f" {self.path}:" if self.path else ""
        return f"{self.check}: {self.focus}{path} {self.message}{where}"


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not self.violations

    def text(self) -> str:
        if self.conforms:
            return "Conforms: no SHACL violations, no QC check failures."
        lines = [f"{len(self.violations)} problem(s):"]
        lines += [f"  - {v}" for v in self.violations]
        return "\n".join(lines)


def _short(node: Node | None, graph: Graph) -> str:
    if node is None:
        return ""
    if isinstance(node, URIRef):
        return graph.namespace_manager.normalizeUri(node)
    return node.n3()


def _shape_name(shape: Node | None, shapes: Graph) -> str:
    """A property shape is a blank node: name it by its node shape and path."""
    if isinstance(shape, BNode):
        parent = shapes.value(None, SH.property, shape)
        path = shapes.value(shape, SH.path)
        if parent is not None:
            return f"{_short(parent, shapes)}/{_short(path, shapes) if isinstance(path, URIRef) else 'path'}"
    return _short(shape, shapes)


def _files(loaded: Loaded, focus: Node | None) -> str:
    return ", ".join(p.name for p in loaded.origin.get(focus, [])) if focus is not None else ""


def _uses_of_unions(loaded: Loaded, shapes: Graph, unions: set[Node]) -> list[Violation]:
    """Data that names a class of the shapes could pass a check through it: a violation each."""
    out, data = [], loaded.data
    for union in sorted(unions, key=str):
        for s, _p, o in (*data.triples((union, None, None)), *data.triples((None, None, union))):
            focus = o if s == union else s
            out.append(
                Violation(
                    check=_short(union, shapes),
                    focus=_short(focus, data),
                    path="",
                    message="The data must not name a class of the SHACL shapes.",
                    file=_files(loaded, focus),
                )
            )
    return out


def run_shacl(loaded: Loaded, shapes_file: Path) -> list[Violation]:
    shapes = parse_file(shapes_file)
    # The unions shapes.ttl declares for its sh:class checks, with their rdfs:subClassOf axioms.
    unions = set(shapes.subjects(RDF.type, RDFS.Class))
    axioms = [t for t in shapes.triples((None, RDFS.subClassOf, None)) if t[2] in unions]
    out = _uses_of_unions(loaded, shapes, unions)
    # The ontology and those axioms go into the data graph for the run and out again: pyshacl's
    # ont_graph would copy the 110k triples first (2-3 s). pyshacl reads through a graph on the
    # same store with prefixes of its own, as it binds sh: in the graph it is given.
    names = Graph(bind_namespaces="core")
    for prefix, iri in loaded.data.namespace_manager.namespaces():
        names.bind(prefix, iri, override=True, replace=True)
    checked = Graph(store=loaded.data.store, identifier=loaded.data.identifier)
    checked.namespace_manager = names.namespace_manager
    mixed = {t for t in (*loaded.ontology, *axioms) if t not in checked}
    for t in mixed:
        checked.add(t)
    try:
        _conforms, results, _text = shacl_validate(
            checked, shacl_graph=shapes, inference="none", abort_on_first=False, allow_warnings=True
        )
    finally:
        for t in mixed:
            checked.remove(t)
    for result in results.subjects(SH.resultSeverity, SH.Violation):
        focus = results.value(result, SH.focusNode)
        out.append(
            Violation(
                check=_shape_name(results.value(result, SH.sourceShape), shapes),
                focus=_short(focus, loaded.data),
                path=_short(results.value(result, SH.resultPath), loaded.data),
                message=str(results.value(result, SH.resultMessage) or "violates the shape"),
                file=_files(loaded, focus),
            )
        )
    return sorted(out, key=lambda v: (v.file, v.focus, v.check, v.message))


def run_checks(loaded: Loaded, checks_dir: Path) -> list[Violation]:
    """Each checks/*.rq is a SELECT whose rows are failures (PATO-style), run by pyoxigraph on
    the ontology and asserted graphs as one default graph (rdflib took 47 s at 110k triples)."""
    names = new_graph()
    for prefix, iri in PREFIXES.items():
        names.bind(prefix, iri, override=True, replace=True)
    out = []
    for check in load_queries(checks_dir).values():
        text = "\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n" + check.text
        solutions = loaded.store.query(text, use_default_graph_as_union=True)
        variables = [v.value for v in solutions.variables]  # type: ignore[union-attr]
        for solution in solutions:  # type: ignore[union-attr]
            values = {k: node(solution[k]) for k in variables if solution[k] is not None}
            focus = values.get("focus")
            detail = ", ".join(f"{k}={_short(v, names)}" for k, v in sorted(values.items()) if k != "focus")
            out.append(
                Violation(
                    check=f"check:{check.name}",
                    focus=_short(focus, names),
                    path="",
                    message=check.title + (f" ({detail})" if detail else ""),
                    file=_files(loaded, focus),
                )
            )
    return out


def validate(loaded: Loaded, settings: Settings) -> Report:
    return Report(
        run_shacl(loaded, settings.shapes_file) + run_checks(loaded, settings.queries_dir / "checks")
    )
