"""Shared fixtures: one real build per session, an app per test module."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

import kg as kg_package
from kg.config import REPO_ROOT, Settings
from kg.pipeline import build
from kg.store import KnowledgeGraph
from kg.web import close_app, create_app

# Processes the tests start (query processes, `kg serve`, `kg build`) run the code the tests
# import, wherever it is: under `make mutation` that is a mutated copy, not the installed tree.
_SOURCE = str(Path(kg_package.__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_SOURCE, os.environ.get("PYTHONPATH")]))
# `kg build` maps the Office of the Historian's records unless told not to (kg.cli): the CLI builds
# the tests run are of the source text alone, in seconds; the records' build is records_settings'.
os.environ.setdefault("KG_RECORDS", "0")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The repository's ontology, data and queries; a private build folder.

    For ``make mutation``, which runs the tests once per mutant: ``KG_TEST_BUILD_DIR`` names a
    folder to build in and reuse (``build`` skips the work while the inputs are unchanged), and
    ``KG_TEST_QUERY_WORKERS=0`` has the shared app evaluate in-process, where the mutated code runs.
    """
    reuse = os.environ.get("KG_TEST_BUILD_DIR")
    workers = os.environ.get("KG_TEST_QUERY_WORKERS")
    return Settings(
        build_dir=Path(reuse) if reuse else tmp_path_factory.mktemp("build"),
        **({"query_workers": int(workers)} if workers else {}),
    )


@pytest.fixture(scope="session")
def built(settings: Settings):
    return build(settings)


@pytest.fixture(scope="session")
def kg(settings: Settings, built) -> KnowledgeGraph:
    return KnowledgeGraph.open(settings.build)


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


@pytest.fixture()
def counted(settings: Settings, kg: KnowledgeGraph):
    """A fresh app (empty caches) that counts the requests reaching its views."""
    app = create_app(dataclasses.replace(settings, query_workers=0), kg=kg)
    seen: list[str] = []
    app.before_request(lambda: seen.append("view"))
    yield app.test_client(), seen
    close_app(app)


@pytest.fixture(scope="session")
def records_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The project's sources with the Office of the Historian's records, built as `kg build` (and so
    `make run`) builds them: validated, reasoned, with the Wikidata view, the conclusions and dumps."""
    return Settings(build_dir=tmp_path_factory.mktemp("records-build"), records=True)


@pytest.fixture(scope="session")
def records_built(records_settings: Settings):
    return build(records_settings)


@pytest.fixture(scope="session")
def records_kg(records_settings: Settings, records_built) -> KnowledgeGraph:
    return KnowledgeGraph.open(records_settings.build)


@pytest.fixture(scope="session")
def records_app(records_settings: Settings, records_kg: KnowledgeGraph):
    app = create_app(records_settings, kg=records_kg)
    yield app
    close_app(app)


@pytest.fixture()
def records_client(records_app):
    return records_app.test_client()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module of browser tests (tests/test_browser.py's set-up)."""
    from tests.test_browser import CHROMIUM, FLAGS  # there: the browser tests' own constants

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright  # only browser tests need Playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def records_data(tmp_path: Path) -> Path:
    """data/ with mappings/ and a few of the Office of the Historian's records: visits of the
    1870s and 2010s, Trump's trips (tests/test_rml.py, tests/test_load_records.py)."""
    hsg_source = REPO_ROOT / "data" / "sources" / "hsg"
    root = tmp_path / "data"
    shutil.copytree(REPO_ROOT / "data" / "mappings", root / "mappings")
    hsg = root / "sources" / "hsg"
    (hsg / "visits").mkdir(parents=True)
    (hsg / "president-travels").mkdir()
    for name in ("1870.xml", "2010.xml"):
        shutil.copy(hsg_source / "visits" / name, hsg / "visits" / name)
    shutil.copy(hsg_source / "president-travels" / "trump-donald-j.xml", hsg / "president-travels")
    shutil.copytree(hsg_source / "presidents", hsg / "presidents")
    shutil.copy(hsg_source / "countries-wikidata.tsv", hsg)
    return root


@pytest.fixture()
def wikidata():
    """A local stand-in for Wikidata's query service (tests/wikidata_standin.py), fresh per test."""
    from tests.wikidata_standin import start

    standin = start()
    yield standin
    standin.close()


# ---------------------------------------------------------------- remote stores (issue 18)
# The seed build published to a real store started for the session: the Oxigraph server always,
# Virtuoso Open Source in the `virtuoso` set (tests/stores.py starts both on scratch folders).
STORES = ("oxigraph", pytest.param("virtuoso", marks=pytest.mark.virtuoso))


@pytest.fixture(scope="session")
def started_stores(settings: Settings, built, tmp_path_factory: pytest.TempPathFactory):
    """Starts each kind of store once for the session, on first use, with the seed build published."""
    import contextlib

    from kg.publish import Endpoints, publish
    from tests import stores

    running: dict = {}
    with contextlib.ExitStack() as stack:

        def start(kind: str):
            if kind not in running:
                launch = stores.oxigraph_server if kind == "oxigraph" else stores.virtuoso
                store = stack.enter_context(launch(tmp_path_factory.mktemp(kind)))
                publish(settings.build, Endpoints.derive(store.query, store.update, store.graph_store))
                running[kind] = store
            return running[kind]

        yield start


@pytest.fixture(scope="session", params=STORES)
def published(request, started_stores):
    """A store serving the session's seed build, as `kg publish` leaves it."""
    return started_stores(request.param)


def remote_graph(settings: Settings, store):
    """The seed build as `kg serve --engine` sees it in ``store`` (kg.remote)."""
    import dataclasses

    from kg.remote import RemoteGraph

    param = "timeout" if store.kind == "virtuoso" else ""  # Virtuoso's own limit, in ms
    return RemoteGraph(
        dataclasses.replace(settings, engine_url=store.query, engine_refresh=0.2, engine_timeout_param=param),
        settings.build,
    )


@pytest.fixture(scope="module", params=("embedded", *STORES))
def any_kg(request, settings: Settings, kg: KnowledgeGraph, started_stores):
    """The session's graph on each engine: embedded, and published to each store. Per module: a
    remote one holds connections and a checker process, closed when the module is done (a later
    test counts this process's open files)."""
    if request.param == "embedded":
        yield kg
        return
    remote = remote_graph(settings, started_stores(request.param))
    yield remote
    remote.close()


@pytest.fixture(scope="session")
def remote_settings(settings: Settings, published) -> Settings:
    import dataclasses

    # Virtuoso takes its own time limit, in milliseconds, as `timeout`; the Oxigraph server has none.
    param = "timeout" if published.kind == "virtuoso" else ""
    return dataclasses.replace(
        settings, engine_url=published.query, engine_refresh=0.2, engine_timeout_param=param
    )


@pytest.fixture(scope="module")
def remote_app(remote_settings: Settings):
    """The app on the published store (kg serve --engine), beside the session's embedded ``app``."""
    app = create_app(remote_settings)
    yield app
    close_app(app)
