"""kg.formats: one row per format, negotiation from the rows, and every consumer derived from them.

The first part is pure (the table and negotiation). The second checks that each
consumer's formats are the table's; the last test adds a row to a copy of the
table, in a fresh interpreter, and sees it reach every consumer: a new format
is one row.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pyoxigraph as ox
import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from kg import formats
from kg.config import REPO_ROOT
from kg.errors import NotAcceptable
from kg.formats import FORMATS, GRAPH, HTML, RESULTS, negotiate, negotiate_header

# The formats the W3C names at http://www.w3.org/ns/formats/ (the ones a SPARQL service may serve).
W3C_FORMATS = {
    "JSON-LD", "N3", "N-Triples", "N-Quads", "RDF_XML", "RDFa", "Turtle", "TriG",
    "SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
}  # fmt: skip


def pick(kind, accept: str = "", values: tuple[str, ...] = (), html: bool = True) -> str:
    return negotiate(kind, parse_accept_header(accept, MIMEAccept), list(values), html=html).media_type


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize("row", FORMATS, ids=lambda f: f.name)
def test_every_row_agrees_with_its_serializer(row):
    if row.format is None:  # HTML: a view renders it
        assert row is HTML and row.w3c is None and not row.dump
        return
    assert row.media_type == row.format.media_type.split(";")[0]
    assert row.suffix == row.format.file_extension
    assert row.w3c is not None and row.w3c.startswith(formats.W3C)
    assert row.w3c.removeprefix(formats.W3C) in W3C_FORMATS
    # pyoxigraph's JSON-LD IRI is under /ns/formats/data/: compare the names only.
    assert row.w3c.rsplit("/", 1)[1] == row.format.iri.rsplit("/", 1)[1]
    assert isinstance(row.format, ox.RdfFormat if row.kind == "graph" else ox.QueryResultsFormat)
    if row.kind == "graph":
        assert row.named_graphs == (row.format in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS))
        assert ox.RdfFormat.from_media_type(row.media_type) == row.format


@pytest.mark.parametrize("row", [f for f in FORMATS if f.kind == "graph"], ids=lambda f: f.name)
def test_every_graph_format_writes_what_it_reads(row):
    triples = [ox.Triple(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.Literal("o", language="en"))]
    items = [ox.Quad(*t, ox.DefaultGraph()) for t in triples] if row.named_graphs else triples
    body = ox.serialize(items, format=row.format)
    assert [q.triple if isinstance(q, ox.Quad) else q for q in ox.parse(body, format=row.format)] == triples


def test_names_suffixes_and_media_types_are_unambiguous():
    assert len({f.name for f in FORMATS}) == len(FORMATS)  # canonical names: CLI choices, API suffixes
    assert len({f.suffix for f in FORMATS}) == len(FORMATS)
    assert len({f.media_type for f in FORMATS}) == len(FORMATS)
    for kind, table in formats.TABLES.items():
        spoken = [a for f in table.values() for a in (*f.names, *f.media_aliases)]
        assert len(spoken) == len(set(spoken)), f"an alias names two {kind} formats"
        assert not {a for a in spoken if "/" in a} & set(table), "an alias is another row's media type"
    read = [s for f in GRAPH.values() for s in (f.suffix, *f.read_suffixes)]
    assert len(read) == len(set(read))


def test_each_kind_starts_with_a_written_format():
    assert [next(iter(t.values())).name for t in formats.TABLES.values()] == ["json", "turtle"]


def test_derived_tables_hold_every_row_once():
    assert [*RESULTS.values(), *GRAPH.values()] == list(FORMATS)
    assert tuple(f for f in FORMATS if f.dump) == formats.DUMPED
    assert {f.suffix for f in formats.DUMPED} == {"ttl", "nt", "nq", "trig", "jsonld"}
    for kind, aliases in formats.ALIASES.items():
        for alias, media in aliases.items():
            row = formats.TABLES[kind][media]
            assert alias in row.names or alias in row.media_aliases


def test_names_list_a_kinds_canonical_names_in_order_and_html_only_when_asked():
    assert formats.names("results") == ["json", "xml", "csv", "tsv", "html"]
    assert formats.names("results", html=False) == ["json", "xml", "csv", "tsv"]
    graph = ["turtle", "nt", "rdf+xml", "json-ld", "trig", "nquads"]
    assert formats.names("graph") == formats.names("graph", html=False) == graph
    assert formats.labels("results") == ["JSON", "XML", "CSV", "TSV", "HTML"]


@pytest.mark.parametrize("row", FORMATS, ids=lambda f: f.name)
def test_a_row_is_found_by_its_canonical_name_and_by_its_suffix(row):
    assert formats.by_name(row.name) is row
    assert formats.by_suffix(row.suffix) is row


def test_lookups_by_another_name_or_suffix_find_nothing():
    assert formats.by_suffix("nq").media_type == "application/n-quads"
    with pytest.raises(StopIteration):
        formats.by_suffix("owl")  # read as RDF/XML, but written by no row
    with pytest.raises(StopIteration):
        formats.by_name("ttl")  # an alias, not Turtle's canonical name


# ---------------------------------------------------------------- negotiation
# kg.formats.negotiate / negotiate_header, through their public functions: each rule alone.


@pytest.mark.parametrize(
    ("kind", "accept", "media"),
    [
        ("results", "text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("results", "text/csv, application/sparql-results+xml;q=0.5", "text/csv"),
        ("results", "text/csv;q=0.9, text/tab-separated-values", "text/tab-separated-values"),
        ("results", "application/json;q=0.1, text/csv;q=0.2", "text/csv"),
        ("results", "image/png, text/tab-separated-values;q=0.1", "text/tab-separated-values"),
        ("graph", "application/n-triples;q=0.3, application/rdf+xml;q=0.8", "application/rdf+xml"),
        ("graph", "text/turtle;q=0, */*;q=0.1", "application/n-triples"),
        ("graph", "application/trig;q=1.0, application/n-quads;q=1.0", "application/trig"),
    ],
)
def test_q_values_decide(kind, accept, media):
    assert pick(kind, accept) == media


@pytest.mark.parametrize(
    ("kind", "accept", "media"),
    [
        ("results", "", "application/sparql-results+json"),
        ("results", "*/*", "application/sparql-results+json"),
        ("results", "text/*", "text/csv"),
        ("results", "application/*", "application/sparql-results+json"),
        ("graph", "", "text/turtle"),
        ("graph", "*/*", "text/turtle"),
        ("graph", "application/*", "application/n-triples"),
        ("graph", "text/*", "text/turtle"),
    ],
)
def test_wildcards_take_the_first_row_that_fits(kind, accept, media):
    assert pick(kind, accept) == media


@pytest.mark.parametrize(
    ("kind", "accept", "media"),
    [
        ("results", "application/json", "application/sparql-results+json"),
        ("results", "text/xml", "application/sparql-results+xml"),
        ("graph", "application/json", "application/ld+json"),
        ("graph", "application/xml", "application/rdf+xml"),
        ("graph", "text/plain", "application/n-triples"),
        ("graph", "application/x-turtle", "text/turtle"),
    ],
)
def test_media_type_aliases(kind, accept, media):
    assert pick(kind, accept) == media


@pytest.mark.parametrize("row", FORMATS, ids=lambda f: f.name)
def test_every_name_and_alias_of_a_row_picks_it_in_any_case(row):
    for alias in (*row.names, *row.media_aliases, row.media_type):
        assert pick(row.kind, values=(alias.upper(),)) == row.media_type
        assert pick(row.kind, values=(alias,)) == row.media_type
    for alias in (row.media_type, *row.media_aliases):
        assert pick(row.kind, accept=alias) == row.media_type


@pytest.mark.parametrize(
    ("value", "media"),
    [
        ("Csv", "text/csv"),  # mixed case (the test above tries upper and lower case)
        ("Application/JSON", "application/sparql-results+json"),
        (" tsv ", "text/tab-separated-values"),
        ("text/csv; charset=utf-8", "text/csv"),
        ("text/csv;a=1;b=2", "text/csv"),
    ],
)
def test_a_format_value_is_read_without_case_padding_or_parameters(value, media):
    assert pick("results", values=(value,)) == media


def test_format_json_means_each_kinds_json():
    assert pick("results", values=("JSON",)) == "application/sparql-results+json"
    assert pick("graph", values=("JSON",)) == "application/ld+json"
    assert negotiate_header("results", "text/turtle", ("Json",)) == "application/sparql-results+json"


def test_the_first_usable_format_value_wins_over_accept():
    assert pick("results", "text/csv", ("pdf", "tsv", "json")) == "text/tab-separated-values"
    assert pick("results", "", ("html", "csv"), html=False) == "text/csv"


def test_html_is_offered_unless_the_caller_says_otherwise():
    accept = parse_accept_header("text/html", MIMEAccept)
    assert negotiate("results", accept, []).media_type == "text/html"  # negotiate's default, not pick's
    assert negotiate("results", accept, ["html"]).media_type == "text/html"


def test_html_is_offered_only_where_a_view_renders_it():
    assert pick("results", "text/html") == "text/html"
    assert pick("results", "text/html, text/csv;q=0.5", html=False) == "text/csv"
    assert pick("results", "", html=False) == "application/sparql-results+json"
    with pytest.raises(NotAcceptable) as refused:
        pick("results", "text/html", html=False)
    assert refused.value.message == (
        "cannot produce any of 'text/html' for results; available: application/sparql-results+json, "
        "application/sparql-results+xml, text/csv, text/tab-separated-values, text/html"
    )
    with pytest.raises(
        NotAcceptable,
        match=r"format 'html' is not available for results; use one of csv, html, json, tsv, xml",
    ):
        pick("results", values=("html",), html=False)


def test_refusals_name_what_is_available():
    with pytest.raises(
        NotAcceptable, match=r"cannot produce any of 'image/png' for graph; available: text/turtle"
    ):
        pick("graph", "image/png")
    with pytest.raises(NotAcceptable) as refused:
        pick("results", values=("pdf", "png"))
    assert refused.value.message == (
        "format 'pdf' is not available for results; use one of csv, html, json, tsv, xml"
    )
    with pytest.raises(NotAcceptable) as refused:
        pick("graph", values=("csv",))
    assert refused.value.message.startswith(
        "format 'csv' is not available for graph; use one of json, json-ld, jsonld, n-quads, n-triples, n3,"
    )


def test_negotiate_header_parses_the_raw_header_and_answers_none_for_a_refusal():
    assert negotiate_header("results", "text/csv", ()) == "text/csv"
    assert negotiate_header("results", "*/*", ()) == "application/sparql-results+json"
    assert negotiate_header("graph", "text/*;q=0.9, image/png", ()) == "text/turtle"
    assert negotiate_header("graph", "application/sparql-results+json", ()) is None
    assert negotiate_header("results", "text/turtle", ()) is None
    assert negotiate_header("results", "", ("nope",)) is None


# ---------------------------------------------------------------- consumers


def test_dumps_and_files_follow_the_table():
    from kg import dump, sources

    assert {f.suffix: (f.media_type, f.description) for f in formats.DUMPED} == dump.FORMATS
    assert {s.lstrip(".") for s in sources.RDF_SUFFIXES} == {
        s for f in GRAPH.values() for s in (f.suffix, *f.read_suffixes)
    }
    for suffix, name in sources.RDF_SUFFIXES.items():
        row = next(f for f in GRAPH.values() if suffix.lstrip(".") in (f.suffix, *f.read_suffixes))
        assert getattr(ox.RdfFormat, name) == row.format


def test_the_cli_offers_the_tables_formats():
    from kg.cli import main

    def choices(command: str) -> list[str]:
        return list(next(p for p in main.commands[command].params if p.name == "fmt").type.choices)

    assert choices("dump") == [f.suffix for f in formats.DUMPED]
    assert choices("query") == ["table", *(f.name for f in FORMATS if f.format is not None)]


@pytest.mark.parametrize("row", [f for f in FORMATS if f.format is not None], ids=lambda f: f.name)
def test_kg_query_asks_for_the_rows_media_type(row):
    from kg.console import _media_types

    results, graph = _media_types(row.name)
    assert (results if row.kind == "results" else graph) == row.media_type


def test_the_web_layer_follows_the_table():
    from kg.web import api, entities, openapi

    assert [f.name for f in RESULTS.values()] == api.SUFFIXES
    assert set(entities.SUFFIXES) == {f.suffix for f in GRAPH.values()} | {HTML.suffix}
    document = openapi.openapi_document({}, "http://x")
    assert document["paths"]["/api/queries"]  # the catalogue: no query, but the same document
    assert next(p for p in openapi._COMMON if p["name"] == "format")["schema"]["enum"] == list(
        f.name for f in RESULTS.values()
    )


def test_format_json_in_upper_case_over_http(client):
    response = client.get("/sparql", query_string={"query": "ASK {}", "format": "JSON"})
    assert response.status_code == 200 and response.mimetype == "application/sparql-results+json"
    graph = client.get(
        "/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "format": "JSON"}
    )
    assert graph.status_code == 200 and graph.mimetype == "application/ld+json"


def test_the_service_description_names_every_format_with_a_w3c_iri():
    from rdflib import Namespace

    from kg import void

    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    graph = void.service_description("http://x/sparql", 3, {"urn:g": 3})
    assert {str(o) for o in graph.objects(None, sd.resultFormat)} == {f.w3c for f in FORMATS if f.w3c}


def test_pages_link_every_format(client):
    links = client.get("/id/meeting/2018-07-16-helsinki").get_data(as_text=True)
    for row in GRAPH.values():
        assert f'href="/id/meeting/2018-07-16-helsinki.{row.suffix}">{row.label}</a>' in links
    page = client.get("/queries/timeline").get_data(as_text=True)
    for row in RESULTS.values():
        assert (f'href="/api/queries/timeline.{row.name}"' in page) == (row is not HTML)
    home = client.get("/").get_data(as_text=True)
    assert ", ".join(f.label for f in formats.DUMPED) + ".</p>" in home
    form = client.get("/sparql", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert form.count("<option value=") == len(RESULTS)


@pytest.mark.parametrize("row", list(GRAPH.values()), ids=lambda f: f.name)
def test_every_graph_format_answers_the_descriptions(client, row):
    for path in ("/sparql", "/.well-known/void"):
        response = client.get(path, headers={"Accept": row.media_type})
        assert response.status_code == 200 and response.mimetype == row.media_type, path
        # base_iri, lenient: the VoID names blank-node classes with relative IRIs (kg.void, known)
        parsed = ox.parse(response.get_data(), format=row.format, base_iri="http://x/", lenient=True)
        assert list(parsed), path


# ---------------------------------------------------------------- a new format is one row

EXTRA_ROW = """    Format(
        "graph", "application/x-kg-test", ox.RdfFormat.TURTLE, "kgt", W3C + "N3", "Test format", ("kgtest",),
        media_aliases=("text/x-kg-test",), read_suffixes=("kgtest",), dump=True, note="a test",
    ),
"""

ONE_MORE_ROW = r"""
import importlib.util, json, sys
from pathlib import Path

source = Path(sys.argv[1]).read_text()
end = "\n)\n\n# ----"  # the end of FORMATS
assert source.count(end) == 1
source = source.replace(end, "\n" + sys.argv[2] + ")\n\n# ----")
spec = importlib.util.spec_from_loader("kg.formats", loader=None)
module = importlib.util.module_from_spec(spec)
module.__file__ = sys.argv[1]
sys.modules["kg.formats"] = module
exec(compile(source, sys.argv[1], "exec"), module.__dict__)
import kg
kg.formats = module

from flask import Flask
from kg import dump, sources, void
from kg.build import Build
from kg.cli import main
from kg.config import Settings
from kg.console import _media_types
from kg.store import KnowledgeGraph
from kg.web import close_app, create_app, entities

choices = lambda command: list(next(p for p in main.commands[command].params if p.name == "fmt").type.choices)
sd = void.service_description("http://x/sparql", 0, {})
out = {
    "negotiated": module.negotiate_header("graph", "text/x-kg-test", ()),
    "named": module.negotiate_header("graph", "", ("KGTEST",)),
    "dump": "kgt" in dump.FORMATS,
    "files": sources.RDF_SUFFIXES.get(".kgtest"),
    "cli_dump": "kgt" in choices("dump"),
    "cli_query": "kgtest" in choices("query"),
    "console": _media_types("kgtest")[1],
    "entities": "kgt" in entities.SUFFIXES,
    "service_description": any(str(o).endswith("/N3") for o in sd.objects()),
}
folder = Path(sys.argv[3])
(folder / "graph.nq").write_text('<https://w3id.org/hos-kg/id/thing/x> <urn:p> "x" <urn:g> .\n')
settings = Settings(build_dir=folder, query_workers=0)
app = create_app(settings, kg=KnowledgeGraph.open(Build(folder)))
client = app.test_client()
page = client.get("/id/thing/x", headers={"Accept": "text/html"}).get_data(as_text=True)
out["page_link"] = 'href="/id/thing/x.kgt">Test format</a>' in page
out["suffix"] = client.get("/id/thing/x.kgt").mimetype
out["accept"] = client.get("/id/thing/x", headers={"Accept": "application/x-kg-test"}).mimetype
out["sparql"] = client.get(
    "/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "kgtest"}
).mimetype
close_app(app)
print(json.dumps(out))
"""


def test_a_new_format_is_one_row(tmp_path):
    """A copy of kg/formats.py with one more row, and nothing else changed, reaches every consumer."""
    script = [sys.executable, "-c", ONE_MORE_ROW, formats.__file__, EXTRA_ROW, str(tmp_path)]
    done = subprocess.run(script, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    media = "application/x-kg-test"
    assert seen == {
        "negotiated": media,
        "named": media,
        "dump": True,
        "files": "TURTLE",
        "cli_dump": True,
        "cli_query": True,
        "console": media,
        "entities": True,
        "service_description": True,
        "page_link": True,
        "suffix": media,
        "accept": media,
        "sparql": media,
    }
