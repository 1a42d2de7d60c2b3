"""kg build: artifacts, counts, skipping unchanged inputs, atomic failure."""

from __future__ import annotations

import dataclasses
import json
import os

import pyoxigraph as ox
import pytest

from kg.build import Build
from kg.config import Settings
from kg.errors import DataError, ValidationFailed
from kg.iris import GRAPH_ASSERTED, GRAPH_INFERRED
from kg.pipeline import PACKAGE, build, code_files, input_digest
from kg.serve import foreign
from kg.sources import Source
from kg.store import KnowledgeGraph

ARTIFACTS = (Build.QUADS, Build.STATS, Build.MANIFEST)


def test_build_writes_every_artifact_and_counts(settings, built):
    for name in ARTIFACTS:
        assert (settings.build_dir / name).stat().st_size > 0, name
    manifest = json.loads((settings.build_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["total"] == sum(
        manifest["counts"][k] for k in ("ontology", "asserted", "inferred")
    )
    assert manifest["by_class"]["hos:Meeting"] == 7
    assert manifest["by_class"]["hos:Sentence"] == 17
    assert set(manifest["seconds"]) >= {"load", "validate", "reason"}
    summary = built.summary()
    assert "asserted" in summary and "hos:Meeting" in summary


def test_artifact_holds_three_named_graphs(settings, built, kg):
    from kg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY

    assert kg.count(GRAPH_ONTOLOGY) == built.counts["ontology"]
    assert kg.count(GRAPH_ASSERTED) == built.counts["asserted"]
    assert kg.count(GRAPH_INFERRED) == built.counts["inferred"]


def test_unchanged_inputs_are_not_rebuilt(data_copy):
    first = build(data_copy)
    assert not first.skipped
    mtime = (data_copy.build_dir / "graph.nq").stat().st_mtime_ns
    second = build(data_copy)
    assert second.skipped and second.counts == first.counts
    assert (data_copy.build_dir / "graph.nq").stat().st_mtime_ns == mtime
    assert not build(data_copy, force=True).skipped


def test_a_changed_input_rebuilds(data_copy):
    build(data_copy)
    path = data_copy.data_dir / "meetings.ttl"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment changes the digest\n", encoding="utf-8")
    assert not build(data_copy).skipped


def test_a_failed_build_leaves_the_previous_artifacts(data_copy):
    build(data_copy)
    before = {name: (data_copy.build_dir / name).read_bytes() for name in ARTIFACTS}
    (data_copy.data_dir / "zz-bad.ttl").write_text(
        "@prefix hos: <https://w3id.org/hos-kg/ontology#> .\n"
        '<https://w3id.org/hos-kg/id/meeting/2017-07-07-hamburg> hos:duration "long" .\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed, match="hos:duration must be one xsd:duration"):
        build(data_copy)
    after = {name: (data_copy.build_dir / name).read_bytes() for name in ARTIFACTS}
    assert after == before
    assert not [p for p in data_copy.build_dir.iterdir() if p.name.startswith(".staging")]
    assert len(KnowledgeGraph.open(data_copy.build)) > 0


# ---------------------------------------------------------------- what the digest covers


def test_the_digest_covers_every_module_that_shapes_the_graph_and_none_of_the_web_layer():
    """Computed, never listed by hand: kg/iris.py (the prefixes) was once missed."""
    names = {str(p.relative_to(PACKAGE)) for p in code_files()}
    assert {"iris.py", "namespaces.py", "load.py", "sources.py", "reason.py", "dump.py", "void.py"} <= names
    assert {str(p.relative_to(PACKAGE)) for p in PACKAGE.glob("*.py")} <= names
    assert not [n for n in names if n.startswith("web/")]


def test_the_digest_changes_with_each_input_and_build_setting(data_copy):
    first = input_digest(data_copy)
    assert input_digest(data_copy) == first
    assert input_digest(dataclasses.replace(data_copy, reason=False)) != first
    assert input_digest(dataclasses.replace(data_copy, base_iri="https://example.org/kg/")) != first
    check = next((data_copy.queries_dir / "checks").glob("*.rq"))
    check.write_text(check.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    second = input_digest(data_copy)
    assert second != first
    (data_copy.ontology_dir / "shapes.ttl").write_text(
        (data_copy.ontology_dir / "shapes.ttl").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    assert input_digest(data_copy) != second


def test_a_build_from_an_older_layout_is_rebuilt(data_copy):
    build(data_copy)
    manifest = data_copy.build_dir / Build.MANIFEST
    old = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**old, "layout": "3"}), encoding="utf-8")
    assert data_copy.build.manifest() is None
    assert not build(data_copy).skipped


# ---------------------------------------------------------------- sources


def test_every_source_in_the_settings_is_read_into_the_asserted_graph(data_copy, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "x.ttl").write_text(
        '<https://w3id.org/hos-kg/id/thing/x> <http://www.w3.org/2000/01/rdf-schema#label> "X"@en .\n',
        encoding="utf-8",
    )
    settings = dataclasses.replace(data_copy, sources=(*data_copy.data_sources, Source("extra", (extra,))))
    result = build(settings)
    manifest = settings.build.manifest()
    assert manifest is not None and manifest.sources == {"seed": 6, "extra": 1}
    seed_only = build(dataclasses.replace(data_copy, build_dir=tmp_path / "seed-only"))
    assert result.counts["asserted"] == seed_only.counts["asserted"] + 1
    kg = KnowledgeGraph.open(settings.build)
    assert kg.query(
        f"ASK {{ GRAPH <{GRAPH_ASSERTED}> {{ <https://w3id.org/hos-kg/id/thing/x> ?p 'X'@en }} }}"
    )


def test_foreign_data_keeps_its_dataset_unless_built_as_a_union(tmp_path):
    data = tmp_path / "d.nq"
    data.write_text(
        '<http://example.org/a> <http://example.org/p> "default" .\n'
        '<http://example.org/b> <http://example.org/p> "named" <http://example.org/g> .\n',
        encoding="utf-8",
    )
    everything = "SELECT ?o WHERE { ?s ?p ?o }"
    for union, expected in ((False, ["default"]), (True, ["default", "named"])):
        settings = Settings(
            build_dir=tmp_path / f"build-{union}",
            sources=(Source.foreign([data]),),
            ontology=False,
            validate=False,
            reason=False,
            dumps=False,
            union_default_graph=union,
        )
        result = build(settings)
        assert result.counts == {"data": 2, "total": 2}
        kg = KnowledgeGraph.open(settings.build)
        assert kg.union_default_graph is union
        assert sorted(str(r["o"].value) for r in kg.query(everything)) == expected
        assert [
            r["o"].value for r in kg.query("SELECT ?o { GRAPH <http://example.org/g> { ?s ?p ?o } }")
        ] == ["named"]
        assert not settings.build.dump_files() and settings.build.stats() is None


def test_foreign_data_with_reasoning_sees_its_inferences_in_the_default_graph(tmp_path):
    (tmp_path / "a.ttl").write_text(
        "@prefix ex: <http://example.org/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "ex:Cat rdfs:subClassOf ex:Animal .\nex:tom a ex:Cat .\n",
        encoding="utf-8",
    )
    settings = Settings(
        build_dir=tmp_path / "build",
        sources=(Source.foreign([tmp_path / "a.ttl"]),),
        ontology=False,
        dumps=False,
        union_default_graph=False,
    )
    result = build(settings)
    assert result.counts["inferred"] > 0 and "ontology" not in result.counts
    kg = KnowledgeGraph.open(settings.build)
    ask = "ASK { <http://example.org/tom> a <http://example.org/Animal> }"
    assert kg.query(ask) and not kg.query(ask, infer=False)
    assert kg.graph_names() == [str(GRAPH_INFERRED)]


def test_a_bad_foreign_file_is_named_with_its_line(tmp_path):
    (tmp_path / "bad.nt").write_text("<http://example.org/a> <http://example.org/p> .\n", encoding="utf-8")
    settings = Settings(
        build_dir=tmp_path / "build", sources=(Source.foreign([tmp_path]),), ontology=False, dumps=False
    )
    with pytest.raises(DataError, match=r"bad\.nt: .*line 1"):
        build(settings)
    assert not settings.build.exists()


def test_foreign_data_reasoned_without_validation_gets_the_rdflib_paths_inferred_graph(tmp_path):
    """kg serve --data FILE --reason --no-validate: the rules engine reads the pyoxigraph store and
    writes its inferred triples straight into the build's store; the same triples as rdflib's."""
    import sqlite3

    import pyoxigraph as ox

    from kg.config import REPO_ROOT
    from kg.derivations import Derivations, term
    from kg.load import load
    from kg.reason import closure

    settings = Settings(
        build_dir=tmp_path / "build",
        sources=(Source.foreign(sorted((REPO_ROOT / "data").glob("*.ttl"))),),
        validate=False,
        reason=True,
        dumps=False,
    )
    result = build(settings)
    loaded = load(settings)
    expected = closure(loaded.ontology, loaded.checkable().data)
    assert result.counts["inferred"] == len(expected.inferred) > 0
    # Each load names the ontology's blank nodes anew: compared masked, as multisets.
    nt = lambda triple: " ".join("_:b" if isinstance(term(x), ox.BlankNode) else str(term(x)) for x in triple)  # noqa: E731
    store = ox.Store.read_only(str(settings.build.store))
    got = sorted(
        nt(q.triple) for q in store.quads_for_pattern(None, None, None, ox.NamedNode(GRAPH_INFERRED))
    )
    del store
    assert got == sorted(nt(t) for t in expected.inferred)
    with Derivations(settings.build.derivations) as derivations:
        assert derivations.count() == len(expected.derivations)
    with sqlite3.connect(settings.build.derivations) as db:
        assert db.execute("SELECT count(*) FROM derived WHERE kept").fetchone()[0] == len(got)
    quads = {line for line in settings.build.quads.read_text(encoding="utf-8").splitlines() if line}
    assert sum(line.endswith(f"<{GRAPH_INFERRED}> .") for line in quads) == len(got)


def test_a_killed_builds_staging_folder_is_removed_by_the_next_build(data_copy):
    """A build killed half-way leaves .staging-PID (a whole store at scale); the next build removes
    it once that process is gone, and leaves a running build's folder alone."""
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    abandoned = data_copy.build_dir / f".staging-{int(gone.stdout)}"
    running = data_copy.build_dir / f".staging-{os.getppid()}"  # pytest's parent: alive
    for folder in (abandoned, running):
        (folder / "store").mkdir(parents=True)
    build(data_copy, force=True)
    assert not abandoned.exists() and running.exists()


@pytest.mark.parametrize("validate", [True, False], ids=["rdflib-path", "pyoxigraph-path"])
def test_reasoning_on_foreign_data_stays_within_its_dataset(tmp_path, validate):
    """What a named graph says is not reasoned into the default graph (where the inferred graph is
    read) unless the default graph is the union: :b a :C only in GRAPH :g, so no :b a :D."""
    (tmp_path / "d.trig").write_text(
        "@prefix : <http://example.org/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        ":C rdfs:subClassOf :D .\n:a a :C .\n:g { :b a :C . }\n",
        encoding="utf-8",
    )
    ask = "ASK { <http://example.org/%s> a <http://example.org/D> }"
    for union in (False, True):
        settings = foreign(
            Settings(),
            [tmp_path / "d.trig"],
            tmp_path / f"build-{union}",
            validate=validate,
            reason=True,
            union=union,
        )
        build(settings)
        kg = KnowledgeGraph.open(settings.build)
        assert kg.query(ask % "a")
        assert bool(kg.query(ask % "b")) is union


def test_a_build_runs_without_the_cycle_collector_and_gives_it_back_as_it_was():
    import gc

    from kg.pipeline import _without_cyclic_gc

    for before in (True, False):
        (gc.enable if before else gc.disable)()
        try:
            with _without_cyclic_gc():
                assert not gc.isenabled()
            assert gc.isenabled() is before
            with pytest.raises(KeyError), _without_cyclic_gc():
                raise KeyError("a failed build")
            assert gc.isenabled() is before
        finally:
            gc.enable()


def test_foreign_quads_that_repeat_the_builds_are_written_once_to_the_file_and_the_store(tmp_path):
    import pyoxigraph as ox

    from kg.build import Build
    from kg.store import write_store

    same = ox.Quad(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), ox.Literal("1"), ox.NamedNode("urn:x:g"))
    other = ox.Quad(
        ox.NamedNode("urn:x:b"), ox.NamedNode("urn:x:p"), ox.Literal("2"), ox.NamedNode("urn:x:g")
    )
    foreign = ox.Store()
    foreign.extend([same, other])
    build = Build(tmp_path / "build")
    build.folder.mkdir()
    write_store(build, [same], foreign)
    lines = build.quads.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines)) == 2
    assert len(ox.Store.read_only(str(build.store))) == 2


def test_a_build_with_its_steps_in_turn_writes_the_same_files_as_one_with_forked_steps(
    settings, built, tmp_path, monkeypatch
):
    import dataclasses
    import json

    from kg.pipeline import build as run_build

    monkeypatch.setenv("KG_FORK", "0")  # validation and dumps in this process (kg.forked)
    alone = run_build(dataclasses.replace(settings, build_dir=tmp_path / "build"), force=True)
    assert alone.counts == built.counts and alone.manifest.by_class == built.manifest.by_class
    index = {
        p: json.loads((p / "dumps" / "dumps.json").read_text())
        for p in (tmp_path / "build", settings.build_dir)
    }
    first, second = index.values()
    assert first and [(d["name"], d["sha256"]) for d in first] == [(d["name"], d["sha256"]) for d in second]


@pytest.mark.parametrize("fork", ["1", "0"])
def test_foreign_data_with_dumps_writes_graph_nq_of_every_quad_in_the_store(tmp_path, monkeypatch, fork):
    # The store holds the foreign quads besides the build's; graph.nq is written from the store
    # then, and the dumps' process must not write it again from the build's quads alone
    # (KG_FORK=0 runs that step after the store: the overwrite showed there every time).
    monkeypatch.setenv("KG_FORK", fork)
    data = tmp_path / "d.nt"
    data.write_text(
        "".join(f'<http://example.org/s{i}> <http://example.org/p> "v{i}" .\n' for i in range(50))
    )
    settings = Settings(
        build_dir=tmp_path / "build", sources=(Source.foreign([data]),), validate=False, reason=False
    )
    build(settings)
    store = ox.Store.read_only(str(settings.build.store))
    assert settings.build.quads.read_bytes().count(b"\n") == len(store) > 50
