"""Query processes: where a query can be stopped, shared by every HTTP worker.

pyoxigraph cannot interrupt a running query, and a thread cannot be killed, so
queries run in processes of their own:

* A supervisor (spawned once by ``kg serve``'s master, or by an app in tests)
  listens on one Unix socket and forks the query processes. Each opens the
  store read-only and then takes one job per connection. Only an idle process
  accepts, so the kernel hands a new job to an idle process, and a job waits
  in the socket's backlog while all are busy. Every gunicorn worker sends its
  jobs to the same few processes, so adding HTTP workers adds no copies of the
  store's caches. The supervisor forks a replacement whenever one ends.
* A job travels with its deadline. The process arms a timer whose signal
  (SIGALRM, default action) ends it shortly after the deadline, even inside
  the engine, so no query outlives its limit whatever the HTTP side does. The
  client has had its 503 by then.
* The HTTP side (``QueryClient``) connects, sends the job, learns the pid of
  the process that took it and waits for the answer. If its own HTTP client
  disconnects meanwhile, it kills that process: the CPU is free at once.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path

from kg.errors import DataError, KGError, QueryTimeout
from kg.execute import Answer, Job, execute

log = logging.getLogger(__name__)

# The deadline's signal comes this long after the client's 503, so the two never race.
GRACE = 0.25
BACKLOG = 256  # jobs that may wait for a free process


class ClientGone(KGError):
    """The HTTP client disconnected while its query ran (nginx's 499: nobody reads the answer)."""

    status = 499


# ---------------------------------------------------------------- owner (master or test process)


class QueryProcesses:
    """Starts the supervisor and its ``size`` query processes; ``address`` is where jobs go.

    The supervisor is a plain subprocess (``python -P -m kg.workers``), not a
    multiprocessing child: gunicorn forks its workers from the process that
    owns this object, and multiprocessing would make every forked worker try to
    stop and join the supervisor when it exits.
    """

    def __init__(self, artifact: Path, size: int, max_rows: int, start_timeout: float = 120) -> None:
        self._owner = os.getpid()
        self._dir = Path(tempfile.mkdtemp(prefix="kg-query-"))  # 0700: only this user can send jobs
        self.address = str(self._dir / "jobs.sock")
        mine, theirs = socket.socketpair()
        self._control = Connection(mine.detach())
        command = [sys.executable, "-P", "-m", "kg.workers", str(theirs.fileno()), self.address]
        self._process = subprocess.Popen(
            [*command, str(artifact), str(size), str(max_rows)], pass_fds=[theirs.fileno()]
        )
        theirs.close()
        self._lock = threading.Lock()
        try:
            ready = self._control.poll(start_timeout)
            status, detail = (
                self._control.recv() if ready else ("failed", f"no answer in {start_timeout:g} s")
            )
        except (EOFError, OSError):
            status, detail = "failed", f"the supervisor exited with code {self._process.wait(5)}"
        if status != "ready":
            self.close()
            raise DataError(f"the query processes did not start: {detail}")

    def pids(self) -> list[int]:
        """The query processes now running (for tests and diagnostics)."""
        with self._lock:
            self._control.send("pids")
            return self._control.recv()

    def close(self) -> None:
        if os.getpid() != self._owner:  # a forked copy (a gunicorn worker) owns nothing
            return
        with contextlib.suppress(OSError):
            self._control.send(None)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._control.close()
        shutil.rmtree(self._dir, ignore_errors=True)


# ---------------------------------------------------------------- supervisor process


def main(argv: list[str]) -> None:
    """``python -m kg.workers CONTROL_FD ADDRESS ARTIFACT SIZE MAX_ROWS``: run the supervisor."""
    fd, address, artifact, size, max_rows = argv
    _supervise(address, artifact, int(size), int(max_rows), Connection(int(fd)))


def _supervise(address: str, artifact: str, size: int, max_rows: int, control: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the owner stops us
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(BACKLOG)
    ready_recv, ready_send = multiprocessing.Pipe(duplex=False)
    children: dict[int, int] = {}  # pidfd → pid

    def fork() -> None:
        pid = os.fork()
        if pid == 0:  # the child: this process is single-threaded, so forking it is safe
            code = 0
            try:
                control.close()  # the owner's EOF must not wait for query processes
                ready_recv.close()
                for sibling in children:
                    os.close(sibling)
                code = _serve(listener, artifact, max_rows, ready_send)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children[os.pidfd_open(pid)] = pid

    parent = os.getppid()
    failures = 0  # replacements in a row that could not open the store
    try:
        for _ in range(size):
            fork()
        for _ in range(size):  # every process has opened the store, or one says why not
            status, detail = ready_recv.recv()
            if status != "ready":
                control.send(("failed", detail))
                return
        control.send(("ready", None))
        while os.getppid() == parent:
            for ready in wait([control, ready_recv, *children], timeout=1.0):
                if ready is control:
                    message = control.recv()
                    if message is None:
                        return
                    control.send(sorted(children.values()))
                elif ready is ready_recv:
                    status, detail = ready_recv.recv()
                    if status == "ready":
                        failures = 0
                    else:
                        failures += 1
                        log.error("a query process could not open the store: %s", detail)
                else:
                    _reap(children.pop(ready), ready)
                    # A replacement that cannot open the store ends at once: do not spin.
                    time.sleep(min(0.1 * 2**failures, 5.0) if failures else 0)
                    fork()
    except (EOFError, OSError):  # the owner is gone
        return
    finally:
        for pidfd, pid in children.items():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(pidfd)
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(address)


def _reap(pid: int, pidfd: int) -> None:
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    code = os.waitstatus_to_exitcode(status)
    if code == -signal.SIGALRM:
        log.warning("query process %d reached the time limit and was stopped; starting another", pid)
    elif code == -signal.SIGKILL:
        log.warning("query process %d was stopped (its client went away); starting another", pid)
    else:
        log.warning("query process %d ended (exit code %d); starting another", pid, code)


# ---------------------------------------------------------------- query process


def _serve(listener: socket.socket, artifact: str, max_rows: int, ready: Connection) -> int:
    from kg.store import KnowledgeGraph

    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the deadline ends the process, even inside the engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        kg = KnowledgeGraph.from_artifact(Path(artifact))
    except Exception as exc:
        ready.send(("failed", f"{type(exc).__name__}: {exc}"))
        return 1
    ready.send(("ready", os.getpid()))
    supervisor = os.getppid()
    listener.settimeout(1.0)  # to notice, once a second, a supervisor that died
    while os.getppid() == supervisor:
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        with Connection(sock.detach()) as conn:
            _answer(conn, kg, max_rows)
    return 0


def _answer(conn: Connection, kg, max_rows: int) -> None:
    try:
        conn.send(os.getpid())  # first: whom to stop if the client leaves
        job, deadline = conn.recv()
    except (EOFError, OSError):
        return
    left = deadline - time.monotonic()
    # The deadline passed while the job waited, or its client gave up (EOF is readable): skip it.
    if left <= 0 or conn.poll(0):
        return
    signal.setitimer(signal.ITIMER_REAL, left + GRACE)
    try:
        reply: tuple = ("ok", execute(kg, job, max_rows))
    except KGError as exc:
        reply = ("error", type(exc).__name__, exc.message)
    except Exception as exc:  # an engine failure: report it, keep serving
        reply = ("crash", type(exc).__name__, str(exc))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    with contextlib.suppress(OSError):  # the client may have left
        conn.send(reply)
        # Stay this client's until it closes: a kill meant for this job can then
        # never reach the next one (QueryClient._wait), and the pid cannot be reused.
        conn.poll(max(0.0, deadline + GRACE - time.monotonic()))


# ---------------------------------------------------------------- HTTP side


class QueryClient:
    """Sends jobs to the query processes at ``address``; one connection per job."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._lock = threading.Lock()
        self.running = 0  # jobs of this client that a process has taken and not yet answered

    def run(self, job: Job, timeout: float, watch: socket.socket | None = None) -> Answer:
        """Evaluate ``job`` within ``timeout`` seconds; stop it if ``watch`` (the HTTP client) closes."""
        deadline = time.monotonic() + timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)  # Linux refuses at once (EAGAIN) when the backlog is full
        try:
            sock.connect(self.address)
        except BlockingIOError:
            sock.close()
            raise QueryTimeout(f"{BACKLOG} queries are waiting already; try again later") from None
        except OSError:
            sock.close()
            raise QueryTimeout("the query processes are not running; see the server log") from None
        sock.setblocking(True)  # Connection reads and writes the raw descriptor
        with Connection(sock.detach()) as conn:
            try:
                conn.send((job, deadline))
                if not conn.poll(max(0.0, deadline - time.monotonic())):
                    raise QueryTimeout(f"all query workers stayed busy for {timeout:g} s; try again later")
                pid = conn.recv()
                with self._count():
                    message = self._wait(conn, pid, deadline, watch)
            except (EOFError, OSError):
                if time.monotonic() >= deadline:  # ended by its deadline just as we gave up
                    message = None
                else:
                    raise KGError("the query engine stopped while evaluating this query") from None
        if message is None:
            raise QueryTimeout(f"the query ran longer than the {timeout:g} s limit and was cancelled")
        if message[0] == "ok":
            return message[1]
        if message[0] == "error":
            from kg import errors

            raise getattr(errors, message[1])(message[2])
        log.error("query engine failure %s: %s", message[1], message[2])
        raise KGError("the query engine failed on this query; the server log has the details")

    def _wait(self, conn: Connection, pid: int, deadline: float, watch: socket.socket | None):
        """The process's reply, or None at the deadline; ClientGone if the HTTP client left."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None  # the process's own timer ends it
            ready = wait([conn] if watch is None else [conn, watch], timeout=left)
            if conn in ready:
                return conn.recv()
            if watch is not None and watch in ready:
                if not _closed(watch):
                    watch = None  # the client sent its next request early: stop watching
                    continue
                # It is still ours: a process waits for our EOF before it takes another job.
                if not conn.poll(0):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    log.warning("the client went away; its query (process %d) was stopped", pid)
                raise ClientGone("the client closed the connection before the answer was ready")

    @contextlib.contextmanager
    def _count(self):
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1


def _closed(sock: socket.socket) -> bool:
    """True when the peer has closed (EOF or reset); False when there is data or nothing yet."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, ValueError):  # nothing yet; or a socket that cannot peek (TLS)
        return False
    except OSError:  # reset by the peer
        return True


if __name__ == "__main__":
    main(sys.argv[1:])
