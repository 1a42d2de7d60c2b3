"""The HTTP side of the query processes (kg.workers): sending a job and waiting for its answer.

``QueryClient.run`` connects to the pool's Unix socket, sends the job with its
deadline, and waits:

* at most ``queue_wait`` for a process to take the job (then 503 with
  Retry-After, rather than a long queue that holds an HTTP thread);
* holding one of ``client_queries`` slots of its client address (file locks in
  the pool's folder, shared by every HTTP worker), so one client's burst of
  expensive queries cannot take every process;
* until the deadline for the answer, killing the process at once if its own
  HTTP client disconnects meanwhile (``watch``: the client's socket).

When a process dies mid-job, the supervisor's note (``exits/PID``) tells why,
so the client can say "out of memory" rather than "crashed".
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import ipaddress
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path

from kg import errors
from kg.config import Settings
from kg.errors import KGError, QueryTimeout, ServiceBusy
from kg.execute import Answer, Job
from kg.workers import BACKLOG, SERVICE

log = logging.getLogger(__name__)

RETRY_AFTER = 2  # seconds, suggested to a client refused for load
# How long a job waits for one of its own client's slots. Short: a waiting job holds an HTTP
# thread, and one client's burst of expensive queries must give the threads back at once,
# while the same client's cheap queries (milliseconds each) still take turns.
CLIENT_WAIT = 0.25


class ClientGone(KGError):
    """The HTTP client disconnected while its query ran (nginx's 499: nobody reads the answer)."""

    status = 499


class QueryClient:
    """Sends jobs to the query processes at ``address``; one connection per job.

    ``queue_wait``: seconds a job may wait for a process (and for its client's
    slot) before a 503 with Retry-After. ``client_queries``: jobs one client
    address may have waiting or running at once, across all HTTP workers (file
    locks in the socket folder); 0 for no limit.
    """

    def __init__(self, address: str, *, queue_wait: float = 2.0, client_queries: int = 1) -> None:
        self.address = address
        self._folder = Path(address).parent
        self.queue_wait = queue_wait
        self.client_queries = client_queries
        self._lock = threading.Lock()
        self.running = 0  # jobs of this client that a process has taken and not yet answered

    @classmethod
    def for_settings(cls, address: str, settings: Settings) -> QueryClient:
        return cls(address, queue_wait=settings.queue_wait, client_queries=settings.client_queries)

    def run(
        self, job: Job, timeout: float, watch: socket.socket | None = None, client: str | None = None
    ) -> Answer:
        """Evaluate ``job`` within ``timeout`` seconds; stop it if ``watch`` (the HTTP client) closes.

        ``client`` (the HTTP client's address) is held to ``client_queries`` jobs at a time.
        """
        start = time.monotonic()
        deadline = start + timeout
        queued_until = min(deadline, start + self.queue_wait)
        with self._slot(client, min(queued_until, start + CLIENT_WAIT)):
            return self._run(job, timeout, deadline, queued_until, watch)

    def _run(
        self, job: Job, timeout: float, deadline: float, queued_until: float, watch: socket.socket | None
    ) -> Answer:
        address = self.address
        if job.network:
            address = str(self._folder / f"{SERVICE}.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)  # Linux refuses at once (EAGAIN) when the backlog is full
        try:
            sock.connect(address)
        except BlockingIOError:
            sock.close()
            raise ServiceBusy(
                f"{BACKLOG} queries are waiting already; try again later", RETRY_AFTER
            ) from None
        except OSError:
            sock.close()
            raise ServiceBusy("the query processes are not running; try again shortly", RETRY_AFTER) from None
        sock.setblocking(True)  # Connection reads and writes the raw descriptor
        pid = None
        with Connection(sock.detach()) as conn:
            try:
                conn.send((job, deadline))
                if not conn.poll(max(0.0, queued_until - time.monotonic())):
                    if queued_until >= deadline:
                        raise QueryTimeout(
                            f"all query workers stayed busy for {timeout:g} s; try again later"
                        )
                    raise ServiceBusy(
                        f"all query processes stayed busy for {self.queue_wait:g} s; try again later",
                        RETRY_AFTER,
                    )
                pid = conn.recv()
                with self._count():
                    message = self._wait(conn, pid, deadline, watch)
            except (EOFError, OSError):
                # Ended by its deadline just as we gave up, or died: the supervisor's note says why.
                message = None if time.monotonic() >= deadline else self._exit_note(pid, deadline)
        if message is None:
            raise QueryTimeout(f"the query ran longer than the {timeout:g} s limit and was cancelled")
        if message[0] == "ok":
            return message[1]
        if message[0] == "error":
            raise getattr(errors, message[1])(message[2])
        if message[0] == "memory":
            raise ServiceBusy(_memory_message(message[1] if len(message) > 1 else None), RETRY_AFTER)
        if message[0] == "stopped":
            raise KGError("the query engine stopped while evaluating this query")
        log.error("query engine failure %s: %s", message[1], message[2])
        raise KGError("the query engine failed on this query; the server log has the details")

    def _exit_note(self, pid: int | None, deadline: float) -> tuple | None:
        """Why a process died mid-job, from the supervisor's note (it writes it once it reaps)."""
        if pid is None:
            return ("stopped",)
        note = self._folder / "exits" / str(pid)
        until = min(deadline, time.monotonic() + 2.0)
        while time.monotonic() < until:
            with contextlib.suppress(FileNotFoundError):
                reason = note.read_text(encoding="utf-8").split()
                note.unlink(missing_ok=True)
                if reason[0] == "memory":
                    return ("memory", int(reason[1]))
                if reason[0] == "deadline":
                    return None
                return ("stopped",)
            time.sleep(0.01)
        return ("stopped",)

    def _slot(self, client: str | None, until: float) -> contextlib.AbstractContextManager[None]:
        return client_slot(self._folder, client, self.client_queries, until)

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


@contextlib.contextmanager
def client_slot(folder: Path, client: str | None, slots: int, until: float) -> Iterator[None]:
    """One of ``slots`` slots of this client address, across every HTTP worker (lock files in
    ``folder``), waited for until ``until``; ServiceBusy past it."""
    if not client or slots <= 0:
        yield
        return
    paths = _slot_files(str(folder), client, slots)
    held = None
    while held is None:
        for path in paths:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:  # a full disk: serve the query rather than refuse everyone
                log.warning("no client slot file (%s); this query is not counted", exc)
                held = -1
                break
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            held = fd
            break
        if held is None:
            if time.monotonic() >= until:
                raise ServiceBusy(
                    f"this client already has {slots} quer"
                    f"{'y' if slots == 1 else 'ies'} running; "
                    "wait for it to finish, then try again",
                    RETRY_AFTER,
                )
            time.sleep(0.005)
    try:
        yield
    finally:
        if held >= 0:
            os.close(held)  # closing the descriptor releases the lock, also if this process dies


BUCKETS = 4096  # lock files per slot at most: client addresses are hashed into this many


@functools.lru_cache(maxsize=4096)  # the same clients come back; a hash per request costs
def _slot_files(folder: str, client: str, slots: int) -> tuple[str, ...]:
    """The lock files of one client: its address hashed into one of BUCKETS, so that the folder
    stays bounded however many addresses come (two clients rarely share a bucket). An IPv6
    client is its /64, since one host usually holds a whole /64."""
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(client).version == 6:
            client = str(ipaddress.ip_network(f"{client}/64", strict=False))
    bucket = int.from_bytes(hashlib.sha256(client.encode("utf-8")).digest()[:4], "big") % BUCKETS
    return tuple(f"{folder}/clients/{bucket}.{i}" for i in range(slots))


def _memory_message(mib: int | None) -> str:
    budget = f" ({mib} MiB)" if mib else ""
    return f"the query needed more memory than the server allows{budget}; simplify it or add a LIMIT"


def _closed(sock: socket.socket) -> bool:
    """True when the peer has closed (EOF or reset); False when there is data or nothing yet."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, ValueError):  # nothing yet; or a socket that cannot peek (TLS)
        return False
    except OSError:  # reset by the peer
        return True
