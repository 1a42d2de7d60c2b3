"""Evaluating one job (kg.execute): the row cap at N and N+1 for SELECT and CONSTRUCT, every format.

The store here holds exactly ROWS triples, so "exactly the cap" is exact.
"""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox
import pytest

from kg import formats
from kg.errors import BadGateway, NotAcceptable
from kg.execute import Answer, Job, _LineCap, execute
from kg.store import KnowledgeGraph
from tests.support import Listener

ROWS = 12
SELECT = "SELECT ?s ?o WHERE { ?s ?p ?o }"
CONSTRUCT = "CONSTRUCT WHERE { ?s ?p ?o }"
JSON, XML, CSV, TSV, HTML = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    "text/html",
)
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}


@pytest.fixture(scope="module")
def small() -> KnowledgeGraph:
    store = ox.Store()
    for i in range(ROWS):
        store.add(
            ox.Quad(
                ox.NamedNode(f"https://w3id.org/hos-kg/id/thing/{i:02}"),
                ox.NamedNode("urn:p"),
                ox.Literal(f"v\t{i}\n", language="en"),  # a tab and a newline inside a term
            )
        )
    return KnowledgeGraph(store, "small")


def select(kg: KnowledgeGraph, media: str, cap: int, query: str = SELECT, **job) -> Answer:
    return execute(kg, Job(query, media, None, **job), cap)


def count(answer: Answer) -> int:
    """Rows in a serialized SELECT answer, read back from the body."""
    if answer.media_type == CSV:  # pyoxigraph does not read CSV back (it is lossy)
        return len(list(csv.reader(io.StringIO(answer.body.decode("utf-8"), newline="")))) - 1
    fmt = {
        JSON: ox.QueryResultsFormat.JSON,
        XML: ox.QueryResultsFormat.XML,
        TSV: ox.QueryResultsFormat.TSV,
    }[answer.media_type]
    return len(list(ox.parse_query_results(answer.body, format=fmt)))


# ---------------------------------------------------------------- SELECT at the cap and one over


@pytest.mark.parametrize("media", [JSON, XML, CSV, TSV])
def test_a_select_of_exactly_the_cap_is_whole_and_not_truncated(small, media):
    answer = select(small, media, ROWS)
    assert (answer.rows, answer.truncated, answer.kind, answer.media_type) == (ROWS, False, "results", media)
    assert count(answer) == ROWS


@pytest.mark.parametrize("media", [JSON, XML, CSV, TSV])
def test_a_select_one_row_over_the_cap_is_cut_and_flagged(small, media):
    answer = select(small, media, ROWS - 1)
    assert (answer.rows, answer.truncated) == (ROWS - 1, True)
    assert count(answer) == ROWS - 1


def test_the_html_rows_keep_to_the_cap_too(small):
    exact = select(small, HTML, ROWS)
    assert (exact.body, exact.media_type, exact.kind, exact.rows, exact.truncated) == (
        b"",
        HTML,
        "results",
        ROWS,
        False,
    )
    assert exact.rows_shown[0] == ["s", "o"] and len(exact.rows_shown) == ROWS + 1
    assert ox.Literal("v\t0\n", language="en") in {row[1] for row in exact.rows_shown[1:]}
    over = select(small, HTML, ROWS - 1)
    assert (over.rows, over.truncated, len(over.rows_shown)) == (ROWS - 1, True, ROWS)


def test_terms_with_tabs_and_newlines_come_back_whole(small):
    answer = select(small, JSON, ROWS, query=SELECT + " ORDER BY ?s")
    first = json.loads(answer.body)["results"]["bindings"][0]["o"]
    assert first == {"type": "literal", "value": "v\t0\n", "xml:lang": "en"}


def test_no_rows_is_not_truncated(small):
    answer = select(small, TSV, 0, query="SELECT ?s WHERE { ?s <urn:nothing> ?o }")
    assert (answer.rows, answer.truncated, answer.body) == (0, False, b"?s\n")


def test_a_cap_of_zero_cuts_any_row(small):
    answer = select(small, JSON, 0)
    assert (answer.rows, answer.truncated, count(answer)) == (0, True, 0)


def test_the_jobs_own_bound_replaces_the_servers_cap(small):
    assert select(small, TSV, 3, max_rows=ROWS).truncated is False
    own = select(small, TSV, ROWS, max_rows=3)
    assert (own.rows, own.truncated) == (3, True)


# ---------------------------------------------------------------- CONSTRUCT at the cap and one over


@pytest.mark.parametrize("media", list(GRAPH_FORMATS))
def test_a_construct_of_exactly_the_cap_is_whole_and_one_over_is_cut(small, media):
    exact = execute(small, Job(CONSTRUCT, None, media), ROWS)
    assert (exact.rows, exact.truncated, exact.kind, exact.media_type) == (ROWS, False, "graph", media)
    assert len(list(ox.parse(exact.body, format=GRAPH_FORMATS[media]))) == ROWS
    over = execute(small, Job(CONSTRUCT, None, media), ROWS - 1)
    assert (over.rows, over.truncated) == (ROWS - 1, True)
    assert len(list(ox.parse(over.body, format=GRAPH_FORMATS[media]))) == ROWS - 1


@pytest.fixture()
def listener():
    one = Listener()
    yield one
    one.sock.close()


def test_a_construct_computes_one_triple_past_the_cap_and_no_further(small, listener):
    """Triples are computed as they are read; computing the store's last one calls a SERVICE."""
    last = [t.subject.value for t in small.query("CONSTRUCT WHERE { ?s <urn:p> ?o }")][-1]
    query = (
        f"CONSTRUCT {{ ?s <urn:p> ?o }} WHERE {{ ?s <urn:p> ?o FILTER(IF(?s != <{last}>, true, "
        f"EXISTS {{ SERVICE <http://127.0.0.1:{listener.port}/> {{}} }})) }}"
    )
    job = Job(query, None, "application/n-triples")
    over = execute(small, job, ROWS - 2)  # computes ROWS - 1 triples: not the last
    assert (over.rows, over.truncated, listener.hits) == (ROWS - 2, True, 0)
    # A cap one higher computes the last (cap + 1 = ROWS): the call is made.
    assert (execute(small, job, ROWS - 1).rows, listener.hits) == (ROWS - 1, 1)


def test_turtle_and_trig_use_the_projects_prefixes_and_the_others_do_not(small):
    for media, prefixed in [
        ("text/turtle", True),
        ("application/trig", True),
        ("application/n-triples", False),
        ("application/n-quads", False),
        ("application/rdf+xml", False),
    ]:
        body = execute(small, Job(CONSTRUCT, None, media), ROWS).body.decode()
        assert ("thing:00" in body) is prefixed, media
        assert ("@prefix thing: <https://w3id.org/hos-kg/id/thing/>" in body) is prefixed, media
        assert 'xmlns:thing="' not in body, media


# ---------------------------------------------------------------- ASK, bindings, refusals


@pytest.mark.parametrize(
    ("media", "yes", "no"),
    [
        (JSON, b'{"head":{},"boolean":true}', b'{"head":{},"boolean":false}'),
        (CSV, b"true", b"false"),
        (TSV, b"true", b"false"),
        (HTML, b"", b""),
    ],
)
def test_ask_in_every_format(small, media, yes, no):
    true = select(small, media, 5, query="ASK { ?s ?p ?o }")
    false = select(small, media, 5, query="ASK { ?s <urn:nothing> ?o }")
    assert (true.body, true.kind, true.rows, true.rows_shown, true.truncated) == (
        yes,
        "boolean",
        1,
        [True],
        False,
    )
    assert (false.body, false.rows_shown) == (no, [False])
    assert true.media_type == false.media_type == media


def test_ask_in_xml(small):
    assert b"<boolean>true</boolean>" in select(small, XML, 5, query="ASK { ?s ?p ?o }").body


def test_bound_parameters_are_substituted_and_their_columns_dropped(small):
    query = "SELECT ?o ?_s ?n WHERE { ?_s ?p ?o BIND(1 AS ?n) }"
    bindings = (("_s", "<https://w3id.org/hos-kg/id/thing/03>"),)
    answer = select(small, TSV, 5, query=query, bindings=bindings)
    assert answer.body.decode() == '?o\t?n\n"v\\t3\\n"@en\t1\n'
    html = select(small, HTML, 5, query=query, bindings=bindings)
    assert html.rows_shown[0] == ["o", "n"]


def test_bindings_travel_as_n_triples_terms(small):
    query = "SELECT ?s ?_o WHERE { ?s ?p ?_o }"
    answer = select(small, TSV, 5, query=query, bindings=(("_o", '"v\\t5\\n"@en'),))
    assert answer.body.decode() == "?s\n<https://w3id.org/hos-kg/id/thing/05>\n"


@pytest.mark.parametrize(
    ("query", "results", "graph", "what"),
    [
        (SELECT, None, "text/turtle", "the query returns SELECT results"),
        ("ASK {}", None, "text/turtle", "the query returns an ASK result"),
        (CONSTRUCT, JSON, None, "the query returns an RDF graph (CONSTRUCT/DESCRIBE)"),
    ],
)
def test_a_form_no_requested_format_can_carry_is_refused(small, query, results, graph, what):
    with pytest.raises(NotAcceptable) as info:
        execute(small, Job(query, results, graph), 5)
    assert info.value.message == f"{what}, and none of the requested formats can carry it"


class _Failing:
    """A stand-in store whose answer fails while it is read (as a SERVICE call can)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def query(self, *args, **kwargs):
        return self

    def serialize(self, target, format):
        target.write(b"?s\n")
        raise self.error


def test_a_failure_while_rows_are_read_is_a_bad_gateway_without_its_words(caplog):
    with pytest.raises(BadGateway) as info:
        execute(
            _Failing(ConnectionRefusedError("connection refused by 127.0.0.1:9")), Job(SELECT, TSV, None), 5
        )
    assert "refused" not in info.value.message and "127.0.0.1" not in info.value.message
    assert "connection refused by 127.0.0.1:9" in caplog.text  # the server log keeps the detail


def test_other_failures_while_rows_are_read_are_not_swallowed():
    with pytest.raises(ValueError, match="boom"):
        execute(_Failing(ValueError("boom")), Job(SELECT, TSV, None), 5)


# ---------------------------------------------------------------- the line cap itself


def test_the_line_cap_keeps_whole_lines_across_writes():
    cap = _LineCap(3)
    assert cap.write(b"h\na") == 3
    assert cap.write(memoryview(b"\nb\n")) == 3  # pyoxigraph may hand over a buffer, not bytes
    assert (cap.full, cap.lines, cap.rows) == (False, 3, 2)
    with pytest.raises(OverflowError, match=r"^row limit reached$"):
        cap.write(b"c\nd\n")
    assert (cap.value(), cap.full, cap.lines, cap.rows) == (b"h\na\nb\n", True, 3, 2)


def test_the_line_cap_cuts_inside_a_chunk_after_the_last_line_that_fits():
    cap = _LineCap(2)
    with pytest.raises(OverflowError):
        cap.write(b"h\nx\ny\nz\n")
    assert (cap.value(), cap.rows, cap.full) == (b"h\nx\n", 1, True)


def test_the_line_cap_takes_exactly_its_limit_without_stopping():
    cap = _LineCap(2)
    cap.write(b"h\nx\n")
    cap.flush()
    assert (cap.full, cap.rows, cap.value()) == (False, 1, b"h\nx\n")


def test_an_empty_line_cap_has_no_rows():
    assert _LineCap(1).rows == 0


# ---------------------------------------------------------------- the job's dataset and base reach the engine


GRAPH_INFERRED = "https://w3id.org/hos-kg/graph/inferred"


@pytest.fixture(scope="module")
def graphs() -> KnowledgeGraph:
    store = ox.Store()
    for graph in ("urn:g:a", "urn:g:b", GRAPH_INFERRED):
        store.add(
            ox.Quad(
                ox.NamedNode(f"urn:s:{graph[-1]}"),
                ox.NamedNode("urn:p"),
                ox.Literal(graph),
                ox.NamedNode(graph),
            )
        )
    return KnowledgeGraph(store, "graphs")


def values(kg: KnowledgeGraph, query: str, **job) -> list[str]:
    answer = execute(kg, Job(query, JSON, None, **job), 100)
    return sorted(b["o"]["value"] for b in json.loads(answer.body)["results"]["bindings"])


def test_infer_false_leaves_the_inferred_graph_out(graphs):
    query = "SELECT ?o WHERE { ?s ?p ?o }"
    assert values(graphs, query) == ["https://w3id.org/hos-kg/graph/inferred", "urn:g:a", "urn:g:b"]
    assert values(graphs, query, infer=False) == ["urn:g:a", "urn:g:b"]


def test_default_and_named_graph_uris_choose_the_dataset(graphs):
    assert values(graphs, "SELECT ?o WHERE { ?s ?p ?o }", default_graphs=("urn:g:b",)) == ["urn:g:b"]
    named = "SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert values(graphs, named, named_graphs=("urn:g:a",)) == ["urn:g:a"]


def test_a_query_with_its_own_from_keeps_its_dataset(graphs):
    assert values(graphs, "SELECT ?o FROM <urn:g:a> WHERE { ?s ?p ?o }", has_dataset=True) == ["urn:g:a"]


def test_relative_iris_resolve_against_the_jobs_base(graphs):
    answer = execute(graphs, Job("SELECT ?o WHERE { BIND(<x> AS ?o) }", JSON, None, base_iri="http://e/q"), 5)
    assert json.loads(answer.body)["results"]["bindings"] == [{"o": {"type": "uri", "value": "http://e/x"}}]


# ---------------------------------------------------------------- blank nodes a query makes

# pyoxigraph labels the blank nodes a query makes (a template's [], BNODE()) at random at each
# evaluation: the answer names them in order of first appearance, so one job gives one body
# (its ETag is the build's and the job's) in every process that evaluates it.
BLANK = "_:"


@pytest.fixture(scope="module")
def blank() -> KnowledgeGraph:
    """Two things sharing one stored blank node, and a literal and an IRI that hold "_:"."""
    store = ox.Store()
    shared = ox.BlankNode("stored")
    for i in range(2):
        thing = ox.NamedNode(f"urn:x:thing{i}")
        store.add(ox.Quad(thing, ox.NamedNode("urn:x:near"), shared))
        store.add(ox.Quad(thing, ox.NamedNode("urn:x:note"), ox.Literal(f"see _:not{i} or <urn:x:_:no>")))
        store.add(ox.Quad(thing, ox.NamedNode("urn:x:seeAlso"), ox.NamedNode(f"urn:x:_:iri{i}")))
    return KnowledgeGraph(store, "blank")


MADE = "CONSTRUCT { ?s <urn:x:at> [ <urn:x:of> ?s ] } WHERE { ?s <urn:x:near> ?b } ORDER BY ?s"
CELLS = (
    "SELECT ?s (BNODE() AS ?new) ?b ?note ?see WHERE { ?s <urn:x:near> ?b ; <urn:x:note> ?note ; "
    "<urn:x:seeAlso> ?see } ORDER BY ?s"
)


@pytest.mark.parametrize("row", list(formats.GRAPH.values()), ids=lambda row: row.name)
def test_a_constructs_new_blank_nodes_get_the_same_labels_at_each_evaluation(blank, row):
    """Every graph format's row: kg.execute finds the labels in the body each writer gives."""
    once, again = (execute(blank, Job(MADE, None, row.media_type), 10) for _ in range(2))
    assert once.body == again.body
    parsed = list(ox.parse(once.body, format=row.format))
    assert len(parsed) == 4 and len({t.object for t in parsed if t.predicate.value == "urn:x:at"}) == 2


def test_a_constructs_blank_nodes_are_named_in_order_of_first_appearance(blank):
    body = execute(blank, Job(MADE, None, "application/n-triples"), 10).body.decode()
    assert body == (
        "<urn:x:thing0> <urn:x:at> _:b0 .\n_:b0 <urn:x:of> <urn:x:thing0> .\n"
        "<urn:x:thing1> <urn:x:at> _:b1 .\n_:b1 <urn:x:of> <urn:x:thing1> .\n"
    )


@pytest.mark.parametrize("media", [JSON, XML, CSV, TSV])
def test_a_selects_new_blank_nodes_get_the_same_labels_at_each_evaluation(blank, media):
    once, again = (select(blank, media, 10, CELLS) for _ in range(2))
    assert once.body == again.body and once.rows == 2


def test_a_selects_blank_node_cells_are_relabelled_and_no_other_cell(blank):
    body = select(blank, TSV, 10, CELLS).body.decode()
    # Row by row: a new one, then the stored one, whose label stays one across the rows.
    assert body.splitlines() == [
        "?s\t?new\t?b\t?note\t?see",
        '<urn:x:thing0>\t_:b0\t_:b1\t"see _:not0 or <urn:x:_:no>"\t<urn:x:_:iri0>',
        '<urn:x:thing1>\t_:b2\t_:b1\t"see _:not1 or <urn:x:_:no>"\t<urn:x:_:iri1>',
    ]
    html = select(blank, HTML, 10, CELLS).rows_shown
    assert [str(row[1]) for row in html[1:]] == ["_:b0", "_:b2"]


def test_a_remote_stores_graph_is_relabelled_too():
    """kg.remote hands over a CONSTRUCT's answer as a list of triples."""

    class Remote:
        def query(self, *args: object, **kwargs: object) -> list[ox.Triple]:
            made = ox.BlankNode()  # a random label, as a remote store's parser gives
            return [ox.Triple(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), made)]

    answer = execute(Remote(), Job(MADE, None, "application/n-triples"), 5)  # type: ignore[arg-type]
    assert answer.body == b"<urn:x:s> <urn:x:p> _:b0 .\n"


def test_answers_without_blank_nodes_are_left_as_they_are(small):
    """The quick check: no blank node, no second pass (the SELECT's cells hold no "_:")."""
    body = select(small, TSV, ROWS, SELECT).body
    assert BLANK.encode() not in body and body.count(b"\n") == ROWS + 1
