"""The real server (`kg serve`, gunicorn) on a free port, talked to with real clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

pytestmark = pytest.mark.live


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(settings, built):
    port = _free_port()
    env = {**os.environ, "KG_BUILD_DIR": str(settings.build_dir)}
    kg_bin = Path(sys.executable).with_name("kg")
    proc = subprocess.Popen(
        [
            str(kg_bin),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/sparql"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode()[-2000:]
                proc.stderr.close()
                pytest.fail(f"kg serve did not start: {err}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    proc.stderr.close()


def test_sparqlwrapper_select_json(server):
    sw = SPARQLWrapper(server)
    sw.setQuery(
        "PREFIX hos: <https://w3id.org/hos-kg/ontology#> SELECT ?m WHERE { ?m a hos:Meeting } ORDER BY ?m"
    )
    sw.setReturnFormat(JSON)
    rows = sw.queryAndConvert()["results"]["bindings"]
    assert [r["m"]["value"].rsplit("/", 1)[1] for r in rows][:2] == [
        "2017-07-07-hamburg",
        "2017-11-10-da-nang",
    ]
    assert len(rows) == 7


def test_sparqlwrapper_post_with_wikidata_vocabulary(server):
    sw = SPARQLWrapper(server)
    sw.setMethod("POST")
    sw.setQuery(
        "PREFIX wd: <http://www.wikidata.org/entity/> PREFIX wdt: <http://www.wikidata.org/prop/direct/>\n"
        "SELECT DISTINCT ?m WHERE { ?m wdt:P710 wd:Q7747 ; wdt:P17 wd:Q17 }"
    )
    sw.setReturnFormat(JSON)
    rows = sw.queryAndConvert()["results"]["bindings"]
    assert [r["m"]["value"] for r in rows] == ["https://w3id.org/hos-kg/id/meeting/2019-06-28-osaka"]


def test_rdflib_sparqlstore(server):
    graph = Graph(store=SPARQLStore(server, returnFormat="json"))
    rows = list(
        graph.query(
            "SELECT ?l WHERE { <https://w3id.org/hos-kg/id/person/vladimir-putin> "
            '<http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(LANG(?l) = "bn") }'
        )
    )
    assert [str(r[0]) for r in rows] == ["ভ্লাদিমির পুতিন"]
    assert (URIRef("https://w3id.org/hos-kg/id/person/donald-trump"), None, None) in graph
