"""The layers of src/kg, read from the source with ast: views are only views.

* A view module is one that defines a Blueprint. No view imports another view;
  the other web modules (helpers) import no view; only the app factory
  (kg/web/__init__.py) imports the views, to register them.
* Request parsing and job building are kg.protocol's, which knows nothing of Flask.
* No import cycles in src/kg.
* The web layer does not import the build stages (kg.load, kg.validate, kg.reason, kg.pipeline).
* The base IRI comes only from the settings: the web layer and kg.void never use the
  constant, and an app with another base serves and describes that base.
* Imports are at the top of a module unless a comment says why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import VOID

from kg.build import Build
from kg.config import Settings
from kg.store import KnowledgeGraph
from kg.web import close_app, create_app

SRC = Path(__file__).resolve().parents[1] / "src"
KG = SRC / "kg"
BUILD_STAGES = {"kg.load", "kg.validate", "kg.reason", "kg.pipeline"}
VIEWS = {
    f"kg.web.{name}"
    for name in (
        "api",
        "describe",
        "dumps",
        "entities",
        "explain",
        "explore",
        "front",
        "health",
        "pages",
        "reconcile",
        "sparql",
    )
}
# Files whose imports must be at the top unless a comment (on the line or the two above) says why.
TOP_IMPORTS = [*sorted((KG / "web").glob("*.py")), *(KG / f"{n}.py" for n in ("formats", "protocol", "void"))]
TOP_IMPORTS += [KG / f"{n}.py" for n in ("sources", "build", "cli", "console", "iris", "namespaces")]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in KG.rglob("*.py")}
WEB = {name for name in MODULES if name == "kg.web" or name.startswith("kg.web.")}


def imports(name: str) -> set[str]:
    """The kg modules ``name`` imports, anywhere in the file (in functions too).

    ``from kg.web import i18n`` imports the module kg.web.i18n; ``from kg.x import y``
    imports kg.x.
    """
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
            found |= submodules or {base}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def defines_blueprint(name: str) -> bool:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Blueprint"
        for node in ast.walk(tree)
    )


def reachable(start: str) -> dict[str, list[str]]:
    """Every module ``start`` imports, directly or not, with one path to it."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for nxt in sorted(GRAPH[current]):
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                queue.append(nxt)
    return paths


# ---------------------------------------------------------------- views, helpers, cycles


def test_the_views_are_the_modules_with_a_blueprint():
    assert {name for name in WEB if defines_blueprint(name)} == VIEWS


@pytest.mark.parametrize("name", sorted(WEB - {"kg.web"}))
def test_no_web_module_but_the_app_factory_imports_a_view(name):
    assert not GRAPH[name] & VIEWS, f"{name} imports the view(s) {sorted(GRAPH[name] & VIEWS)}"


def test_the_app_factory_registers_every_view():
    assert GRAPH["kg.web"] & VIEWS == VIEWS


def test_no_import_cycles():
    for name in MODULES:
        for other in GRAPH[name]:
            back = reachable(other)
            assert name not in back, "a cycle: " + " → ".join([name, *back[name]])


@pytest.mark.parametrize("name", sorted(WEB))
def test_the_web_layer_does_not_import_build_stages(name):
    assert not GRAPH[name] & BUILD_STAGES


def test_the_web_layer_reaches_no_build_stage_even_indirectly():
    """kg.dump and kg.void, which the build shares with the web, take what they need (prefix-bound
    graphs, the build's file list) from kg.namespaces and kg.build, not from a stage."""
    for name in sorted(WEB):
        paths = reachable(name)
        assert not BUILD_STAGES & paths.keys(), [" → ".join(paths[s]) for s in BUILD_STAGES & paths.keys()]


def test_requests_are_parsed_and_jobs_built_without_flask():
    tree = ast.parse(MODULES["kg.protocol"].read_text(encoding="utf-8"))
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in modules if m.split(".")[0] == "flask" or m.startswith("kg.web")}
    for name in WEB:
        assert "kg.guard" not in GRAPH[name], f"{name} checks queries itself: kg.protocol does"


# ---------------------------------------------------------------- the base IRI


@pytest.mark.parametrize("name", sorted(WEB | {"kg.void"}))
def test_the_base_iri_constant_is_not_used(name):
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("kg.iris", "kg.namespaces"):
            used = {alias.name for alias in node.names} & {"BASE", "HOS", "ID"}
            assert not used, f"{name} imports {used} from {node.module}: use the settings' base_iri"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert not (node.value.id in ("iris", "namespaces") and node.attr in ("BASE", "HOS", "ID")), name


NEW_BASE = "https://example.org/kg/"


@pytest.fixture(scope="module")
def rebased(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rebased")
    person, meeting = URIRef(NEW_BASE + "id/person/ada"), URIRef(NEW_BASE + "ontology#Meeting")
    label = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    quads = [
        ox.Quad(ox.NamedNode(str(person)), ox.NamedNode(str(label)), ox.Literal("Ada", language="en")),
        ox.Quad(ox.NamedNode(str(meeting)), ox.NamedNode(str(label)), ox.Literal("Meeting", language="en")),
        # The project's usual IRIs are outside this server's base now.
        ox.Quad(
            ox.NamedNode("https://w3id.org/hos-kg/id/person/bob"),
            ox.NamedNode(str(label)),
            ox.Literal("Bob", language="en"),
        ),
    ]
    quads = [
        ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode("https://w3id.org/hos-kg/graph/asserted"))
        for q in quads
    ]
    ox.serialize(quads, str(folder / "graph.nq"), format=ox.RdfFormat.N_QUADS)
    settings = Settings(build_dir=folder, base_iri=NEW_BASE, query_workers=0)
    app = create_app(settings, kg=KnowledgeGraph.open(Build(folder)))
    yield app.test_client()
    close_app(app)


def test_an_app_serves_the_iris_under_its_own_base(rebased):
    page = rebased.get("/id/person/ada", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Ada" in page.get_data(as_text=True)
    turtle = rebased.get("/id/person/ada.nt").get_data(as_text=True)
    assert f"<{NEW_BASE}id/person/ada>" in turtle
    assert rebased.get("/ontology/Meeting.nt").status_code == 200
    assert rebased.get("/id/person/bob").status_code == 404  # under the constant's base, not this one
    index = rebased.get("/ontology").status_code
    assert index == 200


def test_an_apps_void_names_its_own_base(rebased):
    graph = Graph().parse(data=rebased.get("/.well-known/void").get_data(as_text=True), format="turtle")
    dataset = URIRef(NEW_BASE + "id/dataset")
    assert graph.value(dataset, VOID.uriSpace) == Literal(NEW_BASE + "id/")
    assert graph.value(dataset, VOID.vocabulary) == URIRef(NEW_BASE + "ontology#")
    assert "w3id.org/hos-kg/id/" not in " ".join(str(t) for t in graph.subjects())


# ---------------------------------------------------------------- imports at the top


@pytest.mark.parametrize("path", TOP_IMPORTS, ids=lambda p: str(p.relative_to(KG)))
def test_imports_are_at_the_top_unless_a_comment_says_why(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    around = lines[max(inner.lineno - 3, 0) : inner.lineno]
                    assert any("#" in line for line in around), f"{path.name}:{inner.lineno}: why here?"
