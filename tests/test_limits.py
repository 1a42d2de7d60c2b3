"""Time limit with real cancellation, and the result-row cap (apps with small limits)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading

import pytest

from kg.web import close_app, create_app
from tests.support import alive, wait_for

# 3,000+ triples cubed: far beyond any time limit.
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = "ASK { person:vladimir-putin ?p ?o }"


@pytest.fixture(scope="module")
def limited(settings, kg):
    app = create_app(dataclasses.replace(settings, query_timeout=1.0, query_workers=2, max_rows=5), kg=kg)
    yield app
    close_app(app)


def _json(response):
    return json.loads(response.get_data(as_text=True))


def test_a_query_past_the_limit_gets_503_and_its_worker_is_killed(limited):
    client = limited.test_client()
    client.get("/sparql", query_string={"query": CHEAP})  # start the pool
    processes = limited.extensions["kg_processes"]
    pids = set(processes.pids())
    response = client.get("/sparql", query_string={"query": EXPENSIVE}, headers={"Cache-Control": "no-cache"})
    assert response.status_code == 503
    assert "longer than the 1 s limit and was cancelled" in _json(response)["error"]
    # The process that ran it is gone (its CPU is free); a fresh one replaces it.
    wait_for(lambda: len(set(processes.pids()) - pids) == 1, "a fresh process replaced it")
    now = set(processes.pids())
    assert len(now) == 2 and not any(alive(pid) for pid in pids - now)


def test_cheap_queries_are_answered_while_an_expensive_one_runs(limited):
    """No timing: each cheap answer must arrive while an expensive query is still in flight."""
    pool = limited.extensions["kg_pool"]
    processes = limited.extensions["kg_processes"]
    for _ in range(3):
        done = threading.Event()

        def expensive(done: threading.Event = done) -> None:
            limited.test_client().get(
                "/sparql",
                query_string={"query": EXPENSIVE},
                headers={"Cache-Control": "no-cache"},
                environ_base={"REMOTE_ADDR": "192.0.2.1"},
            )
            done.set()

        thread = threading.Thread(target=expensive)
        thread.start()
        wait_for(lambda done=done: pool.running > 0 or done.is_set(), "a process took the expensive query")
        before = set(processes.pids())  # the expensive query's process among them
        response = limited.test_client().get(  # another client
            "/sparql",
            query_string={"query": CHEAP},
            headers={"Cache-Control": "no-cache"},
            environ_base={"REMOTE_ADDR": "192.0.2.2"},
        )
        assert response.status_code == 200 and _json(response)["boolean"] is True
        assert not done.is_set(), "the cheap query waited for the expensive one"
        thread.join(timeout=30)
        wait_for(lambda b=before: len(set(processes.pids()) - b) == 1, "the stopped process was replaced")


def test_result_cap_is_signalled(limited):
    client = limited.test_client()
    response = client.get("/sparql", query_string={"query": "SELECT ?s WHERE { ?s ?p ?o }"})
    assert response.status_code == 200
    assert len(_json(response)["results"]["bindings"]) == 5
    assert response.headers["X-Result-Truncated"] == "true" and response.headers["X-Result-Limit"] == "5"
    graph = client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"})
    assert len(graph.get_data(as_text=True).strip().splitlines()) == 5
    assert graph.headers["X-Result-Truncated"] == "true"
    page = client.get("/sparql", query_string={"query": "SELECT ?s WHERE { ?s ?p ?o }", "format": "html"})
    assert "Only the first 5 rows are shown" in page.get_data(as_text=True)


def test_no_truncation_header_under_the_cap(limited):
    response = limited.test_client().get(
        "/sparql", query_string={"query": "SELECT ?m WHERE { ?m hos:ordinal 1 }"}
    )
    assert "X-Result-Truncated" not in response.headers


def test_a_clients_second_query_waits_its_turn_then_gets_503_with_retry_after(settings, kg):
    """One client's expensive queries cannot take every query process: the second one waits
    (at most queue_wait) for the first, then is refused with Retry-After; another client is served."""
    app = create_app(dataclasses.replace(settings, query_timeout=20.0, queue_wait=0.3), kg=kg)
    try:
        first = threading.Thread(
            target=lambda: app.test_client().get(
                "/sparql",
                query_string={"query": EXPENSIVE},
                headers={"Cache-Control": "no-cache"},
                environ_base={"REMOTE_ADDR": "192.0.2.1"},
            )
        )
        app.test_client().get("/sparql", query_string={"query": CHEAP})  # start the pool
        pool = app.extensions["kg_pool"]
        first.start()
        wait_for(lambda: pool.running == 1, "the first query runs")
        same = app.test_client().get(
            "/sparql",
            query_string={"query": CHEAP},
            headers={"Cache-Control": "no-cache"},
            environ_base={"REMOTE_ADDR": "192.0.2.1"},
        )
        assert same.status_code == 503 and same.headers["Retry-After"] == "2"
        assert "already has 1 query running" in _json(same)["error"]
        other = app.test_client().get(
            "/sparql",
            query_string={"query": CHEAP},
            headers={"Cache-Control": "no-cache"},
            environ_base={"REMOTE_ADDR": "192.0.2.2"},
        )
        assert other.status_code == 200
    finally:
        for pid in app.extensions["kg_processes"].pids():
            os.kill(pid, signal.SIGKILL)  # end the expensive query now
        first.join(timeout=30)
        close_app(app)


@pytest.mark.parametrize(
    ("query", "fmt"),
    [
        ("SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT {n}", "json"),
        ("SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT {n}", "csv"),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT {n}", "nt"),
    ],
    ids=["select-json", "select-csv", "construct-nt"],
)
def test_exactly_the_row_cap_is_whole_and_one_more_is_cut(limited, query, fmt):
    client = limited.test_client()

    def lines(n: int):
        response = client.get("/sparql", query_string={"query": query.replace("{n}", str(n)), "format": fmt})
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        count = (
            len(_json(response)["results"]["bindings"])
            if fmt == "json"
            else len(text.strip().splitlines()) - (fmt == "csv")
        )
        return count, response.headers.get("X-Result-Truncated")

    assert lines(5) == (5, None)
    assert lines(6) == (5, "true")


def test_the_html_notice_only_when_rows_were_cut(limited):
    client = limited.test_client()
    query = "SELECT ?s WHERE { ?s ?p ?o } LIMIT "
    exact = client.get("/sparql", query_string={"query": query + "5", "format": "html"})
    assert "Only the first" not in exact.get_data(as_text=True)
    over = client.get("/sparql", query_string={"query": query + "6", "format": "html"})
    assert "Only the first 5 rows are shown" in over.get_data(as_text=True)
