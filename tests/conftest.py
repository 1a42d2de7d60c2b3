"""Shared fixtures: one real build per session, an app per test module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.config import REPO_ROOT, Settings
from kg.pipeline import build
from kg.store import KnowledgeGraph
from kg.web import close_app, create_app


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The repository's ontology, data and queries; a private build folder."""
    return Settings(build_dir=tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def built(settings: Settings):
    return build(settings)


@pytest.fixture(scope="session")
def kg(settings: Settings, built) -> KnowledgeGraph:
    return KnowledgeGraph.from_artifact(settings.artifact)


@pytest.fixture(scope="session")
def app(settings: Settings, kg: KnowledgeGraph):
    """One app for the session: its query worker processes start once."""
    app = create_app(settings, kg=kg)
    yield app
    close_app(app)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def data_copy(tmp_path: Path) -> Settings:
    """A writable copy of ontology/, data/ and queries/ for tests that break things."""
    for name in ("ontology", "data", "queries"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    return Settings(
        ontology_dir=tmp_path / "ontology",
        data_dir=tmp_path / "data",
        queries_dir=tmp_path / "queries",
        build_dir=tmp_path / "build",
    )
