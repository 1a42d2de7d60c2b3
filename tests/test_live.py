"""The real server (`kg serve`, gunicorn) on a free port, talked to with real clients."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from tests.support import kg_serve, wait_for

pytestmark = pytest.mark.live

EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def server(settings, built):
    with kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir)}) as url:
        yield url


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


MEETINGS = "PREFIX hos: <https://w3id.org/hos-kg/ontology#> SELECT ?m WHERE { ?m a hos:Meeting } ORDER BY ?m"


def test_sparqlwrapper_xml_csv_tsv(server):
    from SPARQLWrapper import CSV, TSV, XML

    sw = SPARQLWrapper(server)
    sw.setQuery(MEETINGS)
    sw.setReturnFormat(XML)
    xml = sw.queryAndConvert()  # a DOM document
    uris = [n.firstChild.data for n in xml.getElementsByTagName("uri")]
    assert len(uris) == 7 and uris[0].endswith("2017-07-07-hamburg")
    sw.setReturnFormat(CSV)
    assert sw.queryAndConvert().decode().splitlines()[1].endswith("2017-07-07-hamburg")
    sw.setReturnFormat(TSV)
    assert sw.queryAndConvert().decode().splitlines()[1].endswith("2017-07-07-hamburg>")


def test_sparqlwrapper_construct_turtle_and_jsonld(server):
    from SPARQLWrapper import JSONLD, TURTLE

    sw = SPARQLWrapper(server)
    sw.setQuery(
        "CONSTRUCT WHERE { <https://w3id.org/hos-kg/id/person/vladimir-putin> "
        "<http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    )
    sw.setReturnFormat(TURTLE)
    graph = Graph().parse(data=sw.queryAndConvert(), format="turtle")
    assert {str(o) for o in graph.objects()} == {"Vladimir Putin", "ভ্লাদিমির পুতিন", "Владимир Путин"}
    sw.setReturnFormat(JSONLD)
    response = sw.query()
    assert response.response.headers["Content-Type"].startswith("application/ld+json")
    assert "ভ্লাদিমির পুতিন" in response.response.read().decode("utf-8")


def test_sparqlstore_select_and_ask(server):
    graph = Graph(store=SPARQLStore(server, returnFormat="xml"))
    rows = list(graph.query(MEETINGS))
    assert len(rows) == 7
    assert graph.query(
        "ASK { ?m <http://www.wikidata.org/prop/direct/P17> <http://www.wikidata.org/entity/Q17> }"
    ).askAnswer


def test_explain_an_inferred_triple_down_to_its_source_sentence(server):
    """/explain on the served build: the derivations file is read where gunicorn's workers run."""
    params = {
        "s": "https://w3id.org/hos-kg/id/meeting/2017-07-07-hamburg",
        "p": "http://www.wikidata.org/prop/direct/P710",
        "o": "http://www.wikidata.org/entity/Q7747",  # the Wikidata view names Putin by his item
        "format": "json",
    }
    url = server.removesuffix("/sparql") + "/explain?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as response:
        proof = json.load(response)["proof"]
    assert proof["status"] == "inferred"
    nodes, leaves = [proof], []
    while nodes:
        node = nodes.pop()
        nodes += node.get("premises", [])
        leaves += [node] if node["status"] == "asserted" and node["graph"] == "asserted" else []
    assert any(s["kind"] == "sentence" and s["bn"] and s["en"] for leaf in leaves for s in leaf["sources"])


def test_serve_data_files_with_reasoning(tmp_path):
    (tmp_path / "a.ttl").write_text(
        "@prefix ex: <http://example.org/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "ex:Cat rdfs:subClassOf ex:Animal .\nex:tom a ex:Cat .\n",
        encoding="utf-8",
    )
    (tmp_path / "b.trig").write_text(
        "@prefix ex: <http://example.org/> .\nex:g { ex:jerry a ex:Mouse . }\n", encoding="utf-8"
    )
    with kg_serve("--data", str(tmp_path), "--reason") as url:
        sw = SPARQLWrapper(url)
        sw.setReturnFormat(JSON)
        sw.setQuery("ASK { <http://example.org/tom> a <http://example.org/Animal> }")
        assert sw.queryAndConvert()["boolean"] is True
        sw.addParameter("infer", "false")
        assert sw.queryAndConvert()["boolean"] is False
        sw.clearParameter("infer")
        sw.setQuery("SELECT ?g WHERE { GRAPH ?g { <http://example.org/jerry> a ?t } }")
        rows = sw.queryAndConvert()["results"]["bindings"]
        assert [r["g"]["value"] for r in rows] == ["http://example.org/g"]


def test_serve_data_keeps_the_files_dataset_unless_told_to_union(tmp_path):
    """Foreign data keeps SPARQL's dataset (the default graph is the files' default graph), as in
    Fuseki and the Oxigraph server; --union-default-graph is Oxigraph's switch for the union. The
    temporary build is removed when the server stops."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "d.trig").write_text(
        '<http://example.org/a> <http://example.org/p> "default" .\n'
        '<http://example.org/g> { <http://example.org/b> <http://example.org/p> "named" . }\n',
        encoding="utf-8",
    )
    temp = tmp_path / "tmp"
    temp.mkdir()

    def values(url: str, query: str) -> list[str]:
        sw = SPARQLWrapper(url)
        sw.setReturnFormat(JSON)
        sw.setQuery(query)
        return sorted(r["o"]["value"] for r in sw.queryAndConvert()["results"]["bindings"])

    everything = "SELECT ?o WHERE { ?s ?p ?o }"
    named = "SELECT ?o WHERE { GRAPH <http://example.org/g> { ?s ?p ?o } }"
    with kg_serve("--data", str(data), env={"TMPDIR": str(temp)}) as url:
        assert values(url, everything) == ["default"]
        assert values(url, named) == ["named"]
        assert [p.name for p in temp.iterdir() if p.name.startswith("kg-serve-")]
    with kg_serve("--data", str(data), "--union-default-graph", env={"TMPDIR": str(temp)}) as url:
        assert values(url, everything) == ["default", "named"]
        assert values(url, named) == ["named"]
    assert not [p.name for p in temp.iterdir() if p.name.startswith("kg-serve-")]


def test_serve_data_is_validated_unless_told_not_to(tmp_path):
    """--data goes through the build's pipeline: data that breaks the project's SHACL contract stops
    start-up with the shape's message; --no-validate serves it."""
    import subprocess
    import sys

    (tmp_path / "m.ttl").write_text(
        "@prefix hos: <https://w3id.org/hos-kg/ontology#> .\n"
        '<https://w3id.org/hos-kg/id/meeting/x> a hos:Meeting ; hos:duration "long" .\n',
        encoding="utf-8",
    )
    kg_bin = Path(sys.executable).with_name("kg")
    result = subprocess.run(
        [str(kg_bin), "serve", "--port", "1", "--data", str(tmp_path / "m.ttl")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "hos:duration must be one xsd:duration" in result.stderr and "Traceback" not in result.stderr
    with kg_serve("--data", str(tmp_path / "m.ttl"), "--no-validate") as url:
        sw = SPARQLWrapper(url)
        sw.setReturnFormat(JSON)
        sw.setQuery('ASK { ?m <https://w3id.org/hos-kg/ontology#duration> "long" }')
        assert sw.queryAndConvert()["boolean"] is True


def test_serve_data_with_a_bad_file_names_it(tmp_path):
    import subprocess
    import sys

    (tmp_path / "bad.ttl").write_text("<a> <b> .\n", encoding="utf-8")
    kg_bin = Path(sys.executable).with_name("kg")
    result = subprocess.run(
        [str(kg_bin), "serve", "--data", str(tmp_path / "bad.ttl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "bad.ttl" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):  # it ended meanwhile
                continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _master(port: int) -> list[int]:
    """The `kg serve` started by this test on ``port`` (named by gunicorn where setproctitle is
    installed, by its command line where not)."""
    names = (f"--port {port} ", f"master [kg serve 127.0.0.1:{port}]")
    return [p for p in _children(os.getpid()) if any(n in _cmdline(p) for n in names)]


def _isolated(pids: list[int]) -> list[int]:
    """The processes in a network namespace other than this test's (the query processes without network)."""
    ours = os.readlink("/proc/self/ns/net")
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/ns/net") != ours:
                found.append(pid)
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_http_workers_share_the_query_processes_and_a_client_that_leaves_frees_one(settings, built):
    env = {"KG_BUILD_DIR": str(settings.build_dir), "KG_QUERY_TIMEOUT": "120"}
    with kg_serve("--workers", "3", env=env) as url:
        port = urllib.parse.urlparse(url).port
        (master,) = _master(port)
        (supervisor,) = [p for p in _children(master) if "kg.workers" in _cmdline(p)]
        wait_for(lambda: len(_children(master)) == 4, "three HTTP workers and the supervisor")
        queries = _isolated(_children(supervisor))
        assert len(queries) == 2  # shared by the three: no copies per HTTP worker
        # Besides them, one process with network for allowlisted SERVICE calls.
        assert len(_children(supervisor)) == 3
        before = {p: _cpu_ticks(p) for p in queries}
        sock = socket.create_connection(("127.0.0.1", port))
        target = "/sparql?" + urllib.parse.urlencode({"query": EXPENSIVE})
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nCache-Control: no-cache\r\n\r\n".encode())

        def busy() -> list[int]:
            return [p for p in queries if _cpu_ticks(p) > before[p] + 10]  # 0.1 s of CPU: it runs

        wait_for(busy, "a query process busy with the expensive query")
        (running,) = busy()
        sock.close()  # long before the 120 s limit
        wait_for(lambda: running not in _children(supervisor), "the abandoned query's process ended")
        assert urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=10).status == 200
        wait_for(lambda: len(_isolated(_children(supervisor))) == 2, "a replacement started")


def test_an_http_worker_that_exits_leaves_the_query_processes_serving(settings, built):
    """gunicorn unwinds an exiting worker's stack through `kg serve`: what the master owns must stay."""
    with kg_serve("--workers", "2", env={"KG_BUILD_DIR": str(settings.build_dir)}) as url:
        port = urllib.parse.urlparse(url).port
        (master,) = _master(port)
        wait_for(lambda: len(_children(master)) == 3, "two HTTP workers and the supervisor")
        (supervisor,) = [p for p in _children(master) if "kg.workers" in _cmdline(p)]
        queries = sorted(_children(supervisor))
        http = [p for p in _children(master) if p != supervisor]
        os.kill(http[0], signal.SIGTERM)  # gunicorn's master starts another in its place
        wait_for(
            lambda: http[0] not in _children(master) and len(_children(master)) == 3, "a new HTTP worker"
        )
        assert sorted(_children(supervisor)) == queries
        for n in range(6):  # uncached: each one is evaluated by a query process, whichever worker takes it
            request = urllib.request.Request(
                url + "?" + urllib.parse.urlencode({"query": f"ASK {{ ?s ?p ?o }} # {n}"}),
                headers={"Cache-Control": "no-cache", "Connection": "close"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200 and b"true" in response.read()
        assert sorted(_children(supervisor)) == queries


def test_a_killed_supervisor_is_restarted_by_the_master(settings, built):
    """Queries recover without a restart of `kg serve` when the query supervisor dies."""
    with kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir)}) as url:
        port = urllib.parse.urlparse(url).port
        (master,) = _master(port)
        (supervisor,) = [p for p in _children(master) if "kg.workers" in _cmdline(p)]
        os.kill(supervisor, signal.SIGKILL)

        def restarted() -> list[int]:
            return [p for p in _children(master) if "kg.workers" in _cmdline(p) and p != supervisor]

        wait_for(restarted, "the master started a new supervisor", seconds=30)
        wait_for(lambda: len(_isolated(_children(restarted()[0]))) == 2, "its query processes run")
        request = urllib.request.Request(
            url + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o } # after"}),
            headers={"Cache-Control": "no-cache"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and b"true" in response.read()


def test_every_http_worker_warms_the_home_page_without_a_failure(records_settings, records_built, tmp_path):
    """kg serve asks each worker for / before it serves (kg.web.warm); the workers warm at the same
    time, on the records' build (seconds each), and none may be refused (it was: 503, one name)."""
    log = tmp_path / "serve.log"
    with kg_serve(env={"KG_BUILD_DIR": str(records_settings.build_dir)}, log=log) as url:
        home = url.removesuffix("/sparql") + "/"
        for _ in range(4):
            with urllib.request.urlopen(home, timeout=30) as response:
                assert response.status == 200
    said = log.read_text(encoding="utf-8")
    assert said.count("Booting worker") == 2, said[-2000:]
    assert "warming" not in said, said[-2000:]
