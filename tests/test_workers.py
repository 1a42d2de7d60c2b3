"""Query processes (kg.workers): deadlines, clients that leave, a full pool, shared processes."""

from __future__ import annotations

import socket
import threading

import pytest

from kg.errors import QueryTimeout
from kg.execute import Job
from kg.workers import ClientGone, QueryClient, QueryProcesses
from tests.support import alive, wait_for

EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = "ASK { ?s ?p ?o }"
JSON = "application/sparql-results+json"


def job(query: str) -> Job:
    return Job(query=query, results=JSON, graph=None)


@pytest.fixture()
def one(settings, built):
    """A single query process, so that which one runs a job is never in doubt."""
    processes = QueryProcesses(settings.artifact, 1, 100)
    yield processes, QueryClient(processes.address)
    processes.close()


def test_answers_and_the_supervisor_reports_its_processes(settings, built):
    processes = QueryProcesses(settings.artifact, 2, 100)
    try:
        pids = processes.pids()
        assert len(pids) == 2 and all(alive(p) for p in pids)
        answer = QueryClient(processes.address).run(job(CHEAP), timeout=10)
        assert answer.body == b'{"head":{},"boolean":true}'
    finally:
        processes.close()
    assert not any(alive(p) for p in pids), "closing the owner stops every query process"


def test_a_client_that_leaves_stops_its_query(one):
    processes, client = one
    (pid,) = processes.pids()
    ours, theirs = socket.socketpair()  # ours stands for the HTTP client's socket on the server side
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            client.run(job(EXPENSIVE), timeout=120, watch=ours)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: client.running == 1, "the process took the job")
    theirs.close()  # the client goes away, long before the 120 s limit
    thread.join(timeout=15)
    assert not thread.is_alive() and isinstance(outcome[0], ClientGone)
    wait_for(lambda: not alive(pid), "the process running the abandoned query ended")
    wait_for(lambda: len(processes.pids()) == 1 and processes.pids() != [pid], "a replacement started")
    assert client.run(job(CHEAP), timeout=10).body.endswith(b"true}")
    ours.close()


def test_a_client_that_sends_its_next_request_early_is_not_taken_for_gone(one):
    _, client = one
    ours, theirs = socket.socketpair()
    theirs.sendall(b"GET /next HTTP/1.1\r\n\r\n")  # readable, but not closed
    assert client.run(job(CHEAP), timeout=10, watch=ours).body.endswith(b"true}")
    ours.close()
    theirs.close()


def test_a_job_past_its_deadline_gets_503_and_its_process_ends(one):
    processes, client = one
    (pid,) = processes.pids()
    with pytest.raises(QueryTimeout, match="longer than the 1 s limit"):
        client.run(job(EXPENSIVE), timeout=1)
    wait_for(lambda: not alive(pid), "the process ended at its deadline")
    wait_for(lambda: len(processes.pids()) == 1, "a replacement started")


def test_a_job_that_finds_every_process_busy_gets_503_and_the_pool_recovers(one):
    processes, client = one
    (pid,) = processes.pids()
    outcome: list[BaseException] = []

    def expensive() -> None:
        try:
            client.run(job(EXPENSIVE), timeout=2)
        except BaseException as exc:
            outcome.append(exc)

    busy = threading.Thread(target=expensive)
    busy.start()
    wait_for(lambda: client.running == 1, "the only process took the expensive job")
    with pytest.raises(QueryTimeout, match="stayed busy"):
        client.run(job(CHEAP), timeout=0.5)
    busy.join(timeout=15)
    assert isinstance(outcome[0], QueryTimeout)
    # The waiting job's deadline has passed: the replacement skips it and answers the next one.
    wait_for(lambda: processes.pids() not in ([], [pid]), "a replacement started")
    assert client.run(job(CHEAP), timeout=10).body.endswith(b"true}")


def test_a_bad_query_is_a_clear_error_and_the_process_stays(one):
    processes, client = one
    before = processes.pids()
    with pytest.raises(Exception, match="line 1, column"):
        client.run(job("SELECT WHERE {"), timeout=10)
    assert processes.pids() == before


def test_a_store_that_cannot_be_opened_stops_start_up_with_the_reason(tmp_path):
    from kg.errors import DataError

    with pytest.raises(DataError, match="did not start: NotBuilt"):
        QueryProcesses(tmp_path / "missing.nq", 1, 100)
