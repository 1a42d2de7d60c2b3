"""kg.curate.client against the local stand-in for Wikidata's query service (tests/wikidata_standin.py):
what a good citizen of the public endpoint sends, how it waits, retries and keeps its answers.

Waits are recorded, not slept: the client takes its clock (``sleep``) as an argument."""

from __future__ import annotations

import email.utils
import socket
import threading
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import pytest
from rdflib import Literal, URIRef

from kg.curate.client import EndpointError, WikidataClient, _retry_after, for_settings

WD = "http://www.wikidata.org/entity/"
LABELS = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?item ?label WHERE { VALUES (?item) {} ?item rdfs:label ?label FILTER (LANG(?label) = "en") }"""
ITEMS = [(URIRef(WD + q),) for q in ("Q7747", "Q22686", "Q1757")]
LABELLED = {WD + "Q7747": "Vladimir Putin", WD + "Q22686": "Donald Trump", WD + "Q1757": "Helsinki"}


@pytest.fixture()
def waits() -> list[float]:
    return []


@pytest.fixture()
def make(wikidata, waits, tmp_path):
    """A client of the stand-in with its answers kept in tmp_path and its waits recorded."""

    def client(**options) -> WikidataClient:
        options = {"cache_dir": tmp_path / "cache", "backoff": 0.5, "sleep": waits.append} | options
        return WikidataClient(endpoint=wikidata.url, **options)

    return client


def labels(rows) -> dict[str, str]:
    return {str(r["item"]): str(r["label"]) for r in rows}


def test_the_user_agent_names_the_tool_its_version_and_a_contact(wikidata, settings, tmp_path):
    client = for_settings(settings, endpoint=wikidata.url)
    client.cache_dir = tmp_path  # not the session's build folder
    client.select(LABELS, ITEMS)
    agent = wikidata.seen[0].headers["User-Agent"]
    assert agent.startswith(f"hos-kg/{version('hos-kg')} ({settings.wikidata_contact})")
    assert "SPARQLWrapper/" in agent


def test_items_go_in_batches_of_values_rows(make, wikidata):
    client = make(batch=2)
    assert labels(client.select(LABELS, ITEMS)) == LABELLED
    assert len(wikidata.seen) == client.requests == 2  # 3 items, 2 a request
    assert [q.query.count(WD) for q in wikidata.seen] == [2, 1]


def test_a_429_is_retried_after_the_time_retry_after_asks(make, wikidata, waits):
    wikidata.faults.append(("status", 429, {"Retry-After": "1"}))
    client = make()
    assert labels(client.select(LABELS, ITEMS)) == LABELLED
    assert waits == [1.0] and client.requests == 2


def test_retry_after_as_an_http_date(make, wikidata, waits):
    # 3 s ahead, written to the second: 2 to 3 s to wait, never the backoff's 10 s (a date ignored)
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    wikidata.faults.append(("status", 429, {"Retry-After": when}))
    assert labels(make(backoff=10).select(LABELS, ITEMS)) == LABELLED
    assert len(waits) == 1 and 1 <= waits[0] <= 3


def test_a_retry_after_date_without_a_zone_is_read_as_utc():
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 < _retry_after(email.utils.format_datetime(when.replace(tzinfo=None))) <= 30


@pytest.mark.parametrize("value", ["²", "١٢", "1.5", "-1", "soon"])
def test_a_retry_after_that_is_no_number_of_seconds_nor_a_date_is_ignored(make, wikidata, waits, value):
    # "²".isdigit() is True, and float("²") a ValueError: only ASCII digits are a number of seconds
    assert _retry_after(value) is None
    wikidata.faults.append(("status", 429, {"Retry-After": value}))
    assert labels(make().select(LABELS, ITEMS)) == LABELLED
    assert waits == [0.5]  # the backoff, as with no Retry-After


def test_a_retry_after_longer_than_the_client_waits_is_a_clear_error(make, wikidata, waits):
    wikidata.faults.append(("status", 429, {"Retry-After": "300"}))
    with pytest.raises(EndpointError, match=r"HTTP 429 and asks to wait 300 s \(more than 10 s\)"):
        make(max_wait=10).select(LABELS, ITEMS)
    assert waits == [] and len(wikidata.seen) == 1


def test_a_503_is_retried_with_backoff(make, wikidata, waits):
    wikidata.faults.extend([("status", 503), ("status", 503)])
    assert labels(make().select(LABELS, ITEMS)) == LABELLED
    assert waits == [0.5, 1.0]  # backoff, doubled


def test_a_status_asking_again_cannot_mend_is_not_retried(make, wikidata, waits):
    with pytest.raises(EndpointError, match="refused the query"):
        make().select("SELECT * WHERE { VALUES (?item) {} ?item ?p }", ITEMS)  # 400: not SPARQL
    assert waits == [] and len(wikidata.seen) == 1


def test_the_retries_end(make, wikidata, waits):
    wikidata.faults.extend([("status", 502)] * 3)
    with pytest.raises(EndpointError, match=r"answered HTTP 502"):
        make(retries=2).select(LABELS, ITEMS)
    assert waits == [0.5, 1.0] and len(wikidata.seen) == 3


def test_a_time_out_on_one_row_is_retried(make, wikidata, waits):
    wikidata.faults.append(("sleep", 1.5))
    assert labels(make(timeout=1).select(LABELS, ITEMS[:1])) == {WD + "Q7747": "Vladimir Putin"}
    assert waits == [0.5] and len(wikidata.seen) == 2


def test_time_outs_past_the_retries_are_a_clear_error(make, wikidata):
    wikidata.faults.append(("sleep", 1.5))
    with pytest.raises(EndpointError, match=r"did not answer within 1 s"):
        make(timeout=1, retries=0).select(LABELS, ITEMS[:1])


TIMED_OUT = ("status", 500, {}, b"java.util.concurrent.TimeoutException\n\tat com.bigdata.rdf...\n")


@pytest.mark.parametrize("fault", [TIMED_OUT, ("sleep", 1.5)], ids=["server", "client"])
def test_a_batch_that_timed_out_is_asked_again_in_halves_not_whole(make, wikidata, waits, fault):
    wikidata.faults.append(fault)
    client = make(timeout=1)
    assert labels(client.select(LABELS, ITEMS)) == LABELLED
    assert [q.query.count(WD) for q in wikidata.seen] == [3, 1, 2]  # the batch, then its halves
    assert waits == [] and client.requests == 3


def test_halves_are_split_down_to_one_row_which_is_retried(make, wikidata, waits):
    wikidata.faults.extend([TIMED_OUT, TIMED_OUT])
    assert labels(make().select(LABELS, ITEMS)) == LABELLED
    # 3 rows time out: halves of 1 and 2; the 1 times out too: one row is asked again, after a wait
    assert [q.query.count(WD) for q in wikidata.seen] == [3, 1, 1, 2]
    assert waits == [0.5]


def test_a_500_that_is_no_time_out_is_retried_whole(make, wikidata, waits):
    wikidata.faults.append(("status", 500, {}, b"java.lang.NullPointerException\n"))
    assert labels(make().select(LABELS, ITEMS)) == LABELLED
    assert [q.query.count(WD) for q in wikidata.seen] == [3, 3] and waits == [0.5]


def test_a_batch_asked_in_halves_is_read_back_in_halves_offline(make, wikidata):
    wikidata.faults.append(TIMED_OUT)
    rows = make().select(LABELS, ITEMS)
    asked = len(wikidata.seen)
    again = make(offline=True)
    assert again.select(LABELS, ITEMS) == rows and again.requests == 0 and len(wikidata.seen) == asked
    online = make()
    assert online.select(LABELS, ITEMS) == rows and online.requests == 0  # not the whole batch again


@pytest.mark.parametrize(
    "body",
    [
        b"<html>busy</html>",
        b'{"head": {}, "results": {"bindings": [',  # cut short
        b'{"head": {}, "results": []}',
        b'{"head": {}, "results": {"bindings": [{"item": {"type": "weird", "value": "x"}}]}}',
        b'{"head": {}, "results": {"bindings": [7]}}',
    ],
)
def test_a_malformed_answer_is_an_error_naming_the_endpoint_and_is_not_kept(make, wikidata, tmp_path, body):
    wikidata.faults.append(("malformed", body))
    with pytest.raises(EndpointError, match="malformed") as caught:
        make().select(LABELS, ITEMS)
    assert wikidata.url in caught.value.message
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_kept_answers_make_a_second_run_offline_and_reproducible(make, wikidata):
    first = make()
    rows = first.select(LABELS, ITEMS)
    asked = len(wikidata.seen)
    second = make(offline=True)
    assert second.select(LABELS, ITEMS) == rows
    assert second.oldest == first.oldest and second.requests == 0 and len(wikidata.seen) == asked
    third = make(refresh=True)
    assert third.select(LABELS, ITEMS) == rows
    assert third.requests == 1 and len(wikidata.seen) == asked + 1 and third.oldest >= first.oldest


def test_offline_without_a_kept_answer_is_a_clear_error(make, wikidata):
    with pytest.raises(EndpointError, match="offline, and no answer"):
        make(offline=True).select(LABELS, ITEMS)
    assert wikidata.seen == []


def test_a_damaged_kept_answer_is_asked_again(make, wikidata, tmp_path):
    make().select(LABELS, ITEMS)
    for path in (tmp_path / "cache").rglob("*.json"):
        path.write_text('{"retrieved": "2026-01-01T00:00:00+00:00", "answ', encoding="utf-8")
    again = make()
    assert labels(again.select(LABELS, ITEMS)) == LABELLED
    assert again.requests == 1


@pytest.mark.parametrize("iri", [WD + "Q1 > <x", WD + "Q 1", WD + 'Q1"'])
def test_an_iri_values_cannot_hold_is_refused(make, wikidata, iri):
    with pytest.raises(ValueError, match="not an IRI SPARQL can hold"):
        make().select(LABELS, [(URIRef(iri),)])
    assert wikidata.seen == []


def test_literals_are_escaped_in_values(make, wikidata):
    query = "SELECT ?x WHERE { VALUES (?x) {} FILTER (STRLEN(?x) > 0) }"
    tricky = Literal('a "quoted" } name\nwith a line')
    assert [r["x"] for r in make().select(query, [(tricky,)])] == [tricky]


@pytest.fixture()
def hang_up():
    """An endpoint that accepts each connection and closes it without an answer."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/sparql"
    stop.set()
    server.close()


def test_a_connection_closed_without_an_answer_is_retried_then_a_clear_error(hang_up, waits):
    client = WikidataClient(endpoint=hang_up, retries=2, backoff=0.5, sleep=waits.append)
    with pytest.raises(EndpointError, match=f"{hang_up} closed the connection"):
        client.select(LABELS, ITEMS)
    assert waits == [0.5, 1.0] and client.requests == 3


def test_an_endpoint_nobody_listens_at_is_a_clear_error(waits):
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # closed again: nothing listens there
    client = WikidataClient(endpoint=f"http://127.0.0.1:{port}/sparql", sleep=waits.append)
    with pytest.raises(EndpointError, match="cannot be reached"):
        client.select(LABELS, ITEMS)
