"""kg build: artifacts, counts, skipping unchanged inputs, atomic failure."""

from __future__ import annotations

import json

import pytest

from kg.errors import ValidationFailed
from kg.pipeline import ARTIFACTS, build
from kg.store import KnowledgeGraph


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
    assert len(KnowledgeGraph.from_artifact(data_copy.artifact)) > 0
