"""The W3C SPARQL 1.1 Protocol tests that apply to a read-only query endpoint, replayed live.

Each manifest entry (shared/w3c/sparql11-protocol-manifest.ttl, copied to
tests/data/) describes HTTP requests as data: method, path, headers, body and
the expected status class, result format and boolean. They are sent as
written with http.client (which adds no headers of its own, so the "missing
Content-Type" cases stay missing) to `kg serve --data` holding the graphs the
tests name. Update tests do not apply to a read-only endpoint: they must be
refused with a 4xx.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Namespace
from rdflib.collection import Collection

from tests.support import kg_serve

pytestmark = pytest.mark.live

HERE = Path(__file__).parent / "data"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
FORMATS = {
    "boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
    "tabular": {
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    },
    "RDF": {"text/turtle", "application/rdf+xml", "application/n-triples", "application/ld+json"},
}


def _entries() -> list[tuple[str, list[dict]]]:
    g = Graph().parse(HERE / "sparql11-protocol-manifest.ttl")
    manifest = next(g.subjects(RDF.type, MF.Manifest))
    out = []
    for entry in Collection(g, g.value(manifest, MF.entries)):
        requests = []
        for req in Collection(g, g.value(g.value(entry, MF.action), HT.requests)):
            body = g.value(req, HT.body)
            headers = g.value(req, HT.headers)
            resp = g.value(req, HT.resp)
            requests.append(
                {
                    "method": str(g.value(req, HT.methodName)),
                    "path": str(g.value(req, HT.absolutePath)).replace("/sparql/", "/sparql", 1),
                    "body": str(g.value(body, CNT.chars)).encode("utf-8") if body else None,
                    "headers": {
                        str(g.value(h, HT.fieldName)): str(g.value(h, HT.fieldValue))
                        for h in (Collection(g, headers) if headers else [])
                    },
                    "status": {
                        str(s).rsplit("StatusCode", 1)[1][0] for s in g.objects(resp, MF.expectedStatus)
                    },
                    "format": {str(f) for f in g.objects(resp, MF.expectedFormat)},
                    "boolean": g.value(resp, MF.expectedBoolean),
                }
            )
        out.append((str(entry).rsplit("#", 1)[1], requests))
    return out


ENTRIES = _entries()


@pytest.fixture(scope="module")
def server():
    with kg_serve("--data", str(HERE / "w3c-protocol.trig")) as url:
        yield urllib.parse.urlsplit(url)


def test_the_manifest_was_read():
    assert len(ENTRIES) == 34


@pytest.mark.parametrize(("name", "requests"), ENTRIES, ids=[name for name, _ in ENTRIES])
def test_protocol_case(server, name, requests):
    for req in requests:
        conn = http.client.HTTPConnection(server.hostname, server.port, timeout=30)
        headers = dict(req["headers"])
        if req["body"] is not None:
            headers["Content-Length"] = str(len(req["body"]))
        conn.request(req["method"], req["path"], body=req["body"], headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        status_class = str(response.status)[0]
        if name.startswith("update_"):
            is_update = "update=" in req["path"] + (req["body"] or b"").decode() or req["headers"].get(
                "content-type", ""
            ).startswith("application/sparql-update")
            if is_update:
                assert status_class == "4", f"read-only: an update must be refused, got {response.status}"
            # The follow-up queries check the update's effect, which cannot apply here.
            continue
        assert status_class in req["status"], (response.status, body[:300])
        ctype = response.headers.get("Content-Type", "").split(";")[0]
        if req["format"]:
            (expected,) = req["format"]
            assert ctype in FORMATS[expected], ctype
        if req["boolean"] is not None:
            assert json.loads(body)["boolean"] is req["boolean"].toPython()
        if status_class == "4":
            assert "error" in json.loads(body)
