"""Query processes (kg.workers): deadlines, clients that leave, a full pool, shared processes."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from kg.build import Build
from kg.errors import BadGateway, BadRequest, QueryTimeout, ServiceBusy
from kg.execute import Job
from kg.query_client import ClientGone, QueryClient
from kg.workers import JOBS, SERVICE, QueryProcesses
from tests.support import alive, wait_for

EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = "ASK { ?s ?p ?o }"
JSON = "application/sparql-results+json"


def job(query: str) -> Job:
    return Job(query=query, results=JSON, graph=None)


def started(pool: QueryClient, query: str, timeout: float, **kwargs) -> tuple[threading.Thread, list]:
    """Run ``query`` on a thread; return once a process has taken it. The list gets the outcome."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(pool.run(job(query), timeout=timeout, **kwargs))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: pool.running >= 1 or outcome, "a process took the job")
    return thread, outcome


@pytest.fixture()
def one(settings, built):
    """A single query process, so that which one runs a job is never in doubt."""
    processes = QueryProcesses(settings.build, 1, 100)
    yield processes, QueryClient(processes.address)
    processes.close()


def test_answers_and_the_supervisor_reports_its_processes(settings, built):
    processes = QueryProcesses(settings.build, 2, 100)
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
    busy, outcome = started(client, EXPENSIVE, timeout=2)
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
        QueryProcesses(Build(tmp_path / "missing"), 1, 100)


# ---------------------------------------------------------------- boxed in: memory, network, stack


MEMORY_HOGS = {
    # The attack run's queries: each grew one process past 1.5 GiB within the time limit.
    "order-by-cross-product": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?d",
    "fold-cross-product": "SELECT (GROUP_CONCAT(kgfn:fold(?c)) AS ?g) "
    "WHERE { ?a ?b ?c . ?d ?e ?f FILTER(isLiteral(?c)) }",
    "concat-doubling": "SELECT ?z WHERE { BIND(REPLACE(STR(NOW()), '.', 'abcdefgh') AS ?a) "
    + " ".join(
        f"BIND(CONCAT(?{a}, ?{a}) AS ?{b})"
        for a, b in zip("abcdefghijklmnopqrstuvwxy", "bcdefghijklmnopqrstuvwxyz", strict=True)
    )
    + " BIND(STRLEN(?z) AS ?length) }",
    "replace-amplification": "SELECT ?e WHERE { BIND(REPLACE(STR(NOW()), '', 'xxxxxxxxxxxxxxxx') AS ?a) "
    "BIND(REPLACE(?a, '', 'xxxxxxxxxxxxxxxx') AS ?b) BIND(REPLACE(?b, '', 'xxxxxxxxxxxxxxxx') AS ?c) "
    "BIND(REPLACE(?c, '', 'xxxxxxxxxxxxxxxx') AS ?d) BIND(REPLACE(?d, '', 'xxxxxxxxxxxxxxxx') AS ?e) }",
}


@pytest.fixture(scope="module")
def small_memory(settings, built):
    """One query process with a 64 MiB budget: the memory tests stay fast."""
    processes = QueryProcesses(settings.build, 1, 100, memory_mib=64)
    yield processes, QueryClient(processes.address)
    processes.close()


@pytest.mark.parametrize("name", sorted(MEMORY_HOGS))
def test_a_query_over_the_memory_budget_gets_503_and_its_process_is_replaced(small_memory, name):
    processes, client = small_memory
    (pid,) = processes.pids()
    with pytest.raises(ServiceBusy, match=r"more memory than the server allows \(64 MiB\)") as refused:
        client.run(job(MEMORY_HOGS[name]), timeout=60)
    assert refused.value.retry_after > 0
    wait_for(lambda: processes.pids() not in ([], [pid]), "a replacement started")
    assert client.run(job(CHEAP), timeout=10).body.endswith(b"true}")


def test_the_query_processes_have_no_network(settings, built):
    """Even with the guard bypassed (a job sent straight to the pool), a SERVICE call cannot leave."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    processes = QueryProcesses(settings.build, 1, 100)
    try:
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/x> {{ ?s ?p ?o }} }}"
        with pytest.raises(BadGateway) as failed:
            QueryClient(processes.address).run(job(query), timeout=10)
        assert failed.value.message == "a SERVICE endpoint could not be reached or gave no usable answer"
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody came
    finally:
        processes.close()
        listener.close()


def test_a_query_nested_as_deep_as_the_size_limit_allows_does_not_crash_the_engine(one):
    processes, client = one
    before = processes.pids()
    deep = "SELECT * WHERE " + "{" * 8000 + "}" * 8000  # 16,015 bytes: within the 16 KiB limit
    client.run(job(deep), timeout=30)
    parens = "SELECT * WHERE { FILTER(" + "(" * 16000 + "1" + ")" * 16000 + ") }"
    with pytest.raises(BadRequest):  # unbalanced past the limit: a syntax error, not a segfault
        client.run(job(parens[:16384]), timeout=30)
    assert processes.pids() == before, "no process died"


# ---------------------------------------------------------------- self-healing


def cpu_ticks(pid: int) -> int:
    """The CPU time a process has used (user + system, in clock ticks), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_a_stopped_process_is_killed_after_its_deadline_and_replaced(one):
    processes, client = one
    (pid,) = processes.pids()
    before = cpu_ticks(pid)
    thread, outcome = started(client, EXPENSIVE, timeout=1)
    # Stopped before it took the job, it would have no deadline to miss (a race seen in CI on a busy
    # machine): wait until it runs the query, then stop it.
    wait_for(lambda: cpu_ticks(pid) > before + 1, "the process runs the query")
    os.kill(pid, signal.SIGSTOP)  # SIGALRM cannot end it now; only the supervisor's SIGKILL can
    thread.join(timeout=15)
    assert isinstance(outcome[0], QueryTimeout)
    wait_for(lambda: not alive(pid), "the supervisor killed the stopped process")
    wait_for(lambda: processes.pids() not in ([], [pid]), "a replacement started")
    assert client.run(job(CHEAP), timeout=10).body.endswith(b"true}")


def test_a_killed_supervisor_is_restarted_and_queries_recover(settings, built):
    processes = QueryProcesses(settings.build, 1, 100)
    try:
        client = QueryClient(processes.address)
        old = processes.supervisor_pid
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: processes.restarts == 1, "the owner started a new supervisor", seconds=30)
        assert processes.supervisor_pid != old
        assert client.run(job(CHEAP), timeout=10).body.endswith(b"true}")
    finally:
        processes.close()


def test_the_query_processes_of_a_killed_supervisor_die_with_it(settings, built):
    """Even one that cannot look (stopped here; in the race that left one behind, it had not yet
    noted its parent when the supervisor died): the kernel ends it with its supervisor."""
    processes = QueryProcesses(settings.build, 1, 100)
    try:
        old = processes.pids(JOBS) + processes.pids(SERVICE)
        assert old
        for pid in old:
            os.kill(pid, signal.SIGSTOP)
        os.kill(processes.supervisor_pid, signal.SIGKILL)
        wait_for(lambda: not any(alive(p) for p in old), "the old query processes are gone", seconds=5)
    finally:
        for pid in old:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        processes.close()


# ---------------------------------------------------------------- fair queueing


def test_a_job_waits_for_a_process_at_most_the_queue_wait(one):
    processes, client = one
    busy, _ = started(client, EXPENSIVE, timeout=20)
    waiting = QueryClient(processes.address, queue_wait=0.3)
    # Refused at the queue bound, with Retry-After, long before its own 20 s time limit.
    with pytest.raises(ServiceBusy, match=r"stayed busy for 0\.3 s") as refused:
        waiting.run(job(CHEAP), timeout=20)
    assert refused.value.retry_after == 2
    (pid,) = processes.pids()
    os.kill(pid, signal.SIGKILL)  # end the expensive job now
    busy.join(timeout=15)


def test_one_client_cannot_take_every_process(settings, built):
    processes = QueryProcesses(settings.build, 2, 100)
    client = QueryClient(processes.address, queue_wait=0.3, client_queries=1)
    thread, outcome = started(client, EXPENSIVE, timeout=20, client="192.0.2.1")
    try:
        with pytest.raises(ServiceBusy, match="already has 1 query running"):
            client.run(job(CHEAP), timeout=20, client="192.0.2.1")
        # Another client finds the other process free.
        assert client.run(job(CHEAP), timeout=20, client="192.0.2.2").body.endswith(b"true}")
        assert not outcome, "the first client's query still runs"
    finally:
        processes.close()
        thread.join(timeout=15)


def test_the_supervisor_survives_a_note_it_cannot_write(settings, built):
    """A full or broken socket folder must not stop the supervisor (it used to exit, killing
    every running query): the note is best effort."""
    processes = QueryProcesses(settings.build, 1, 100)
    try:
        exits = Path(processes.address).parent / "exits"
        exits.rmdir()
        exits.write_text("not a folder")  # writing exits/PID now fails, even as root
        supervisor = processes.supervisor_pid
        (pid,) = processes.pids()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: processes.pids() not in ([], [pid]), "a replacement started")
        assert processes.supervisor_pid == supervisor and processes.restarts == 0
        assert QueryClient(processes.address).run(job(CHEAP), timeout=10).body.endswith(b"true}")
    finally:
        processes.close()


def test_a_note_is_removed_once_read(small_memory):
    processes, client = small_memory
    (pid,) = processes.pids()
    with pytest.raises(ServiceBusy, match="more memory"):
        client.run(job(MEMORY_HOGS["order-by-cross-product"]), timeout=60)
    assert not (Path(processes.address).parent / "exits" / str(pid)).exists()


def test_ipv6_clients_are_counted_by_their_64(settings, built):
    processes = QueryProcesses(settings.build, 2, 100)
    client = QueryClient(processes.address, queue_wait=0.3, client_queries=1)
    thread, _ = started(client, EXPENSIVE, timeout=20, client="2001:db8:1:2::1")
    try:
        with pytest.raises(ServiceBusy, match="already has 1 query running"):
            client.run(job(CHEAP), timeout=20, client="2001:db8:1:2:ffff::9")  # the same /64
        assert client.run(job(CHEAP), timeout=20, client="2001:db8:1:3::1").body.endswith(b"true}")
    finally:
        processes.close()
        thread.join(timeout=15)


def test_slot_files_stay_bounded_however_many_addresses_come(settings, built):
    processes = QueryProcesses(settings.build, 1, 100)
    try:
        client = QueryClient(processes.address, client_queries=1)
        for n in range(300):
            client.run(job(CHEAP), timeout=10, client=f"198.51.{n // 256}.{n % 256}")
        files = list((Path(processes.address).parent / "clients").iterdir())
        assert 0 < len(files) <= 300 and all(f.name.split(".")[0].isdigit() for f in files)
        assert all(int(f.name.split(".")[0]) < 4096 for f in files)
    finally:
        processes.close()


def test_a_process_that_fails_while_serving_backs_off_and_recovers(settings, built, tmp_path):
    """A replacement that cannot open the store (the build went away under a running server) ends
    at once: the supervisor waits longer after each such failure instead of forking in a loop, and
    serves again once the store can be opened."""
    import shutil

    copy = Build(tmp_path)
    shutil.copy(settings.build.quads, copy.quads)
    shutil.copytree(settings.build.store, copy.store)
    processes = QueryProcesses(copy, 1, 100, service_size=0)
    try:
        client = QueryClient(processes.address)
        assert client.run(job(CHEAP), timeout=10).body.endswith(b"true}")
        copy.quads.rename(tmp_path / "away.nq")  # every new process now fails to start
        (pid,) = processes.pids()
        os.kill(pid, signal.SIGKILL)
        exits = Path(processes.address).parent / "exits"

        def failures() -> list[float]:
            notes = [p for p in exits.iterdir() if p.read_text(encoding="utf-8") == "exit 1"]
            return sorted(p.stat().st_mtime for p in notes)

        wait_for(lambda: len(failures()) >= 4, "four replacements failed", seconds=30)
        times = failures()
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # Without the back-off a failed start is retried within milliseconds, in a tight loop.
        assert gaps[2] >= 0.2 and gaps[2] > gaps[0], gaps
        (tmp_path / "away.nq").rename(tmp_path / "graph.nq")

        def answers() -> bool:
            try:
                return client.run(job(CHEAP), timeout=10).body.endswith(b"true}")
            except ServiceBusy:
                return False

        wait_for(answers, "queries are answered again", seconds=30)
        assert processes.restarts == 0  # the supervisor itself never died
    finally:
        processes.close()
