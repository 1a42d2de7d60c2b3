"""Query processes: where a query can be stopped, shared by every HTTP worker.

pyoxigraph cannot interrupt a running query, and a thread cannot be killed, so
queries run in processes of their own:

* A supervisor (spawned by ``kg serve``'s master, or by an app in tests)
  listens on Unix sockets and forks the query processes. Each opens the store
  read-only and then takes one job per connection. Only an idle process
  accepts, so the kernel hands a new job to an idle process, and a job waits
  in the socket's backlog while all are busy. Every gunicorn worker sends its
  jobs to the same few processes. The supervisor forks a replacement whenever
  one ends, and the owner starts a new supervisor if the supervisor dies.
* Each query process is boxed in: it has no network (a network namespace of
  its own, so a SERVICE call the guard missed cannot leave the machine), a
  memory budget (``RLIMIT_AS``: its size after start-up plus the budget), and
  a stack large enough for any query within the size limit (deep nesting
  overflows the default 8 MiB stack; see ``_with_stack``). Queries whose
  checked SERVICE targets are all allowlisted go to a separate pool that keeps
  the network (``service.sock``).
* A job travels with its deadline. The process arms a timer whose signal
  (SIGALRM, default action) ends it shortly after the deadline, even inside
  the engine; the supervisor also kills (SIGKILL) any process still busy past
  its deadline and grace, whatever state it is in, stopped included.
* The HTTP side (kg.query_client) sends each job over the socket, waits a
  bounded time for a process to take it, and kills the process if its own
  HTTP client disconnects. When a process dies mid-job, the supervisor leaves
  a note of why in the socket folder (``exits/PID``), so the client can say
  "out of memory".
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import mmap
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path

from kg.build import Build
from kg.config import Settings
from kg.errors import DataError, KGError
from kg.execute import Job, execute
from kg.forked import die_with

log = logging.getLogger(__name__)

# The deadline's signal comes this long after the client's 503, so the two never race.
GRACE = 0.25
# The supervisor kills a process still busy this long after its deadline (a stopped one ignores SIGALRM).
KILL_AFTER = 1.0
SCAN_EVERY = 0.25  # seconds between the supervisor's looks at the deadlines
BACKLOG = 256  # jobs that may wait for a free process
# Stack of the query processes: the engine recurses per nesting level (about 3 KB each);
# 16 KiB per byte of query text covers a query made only of brackets, with a wide margin.
STACK_PER_BYTE = 16 * 1024
MIN_STACK = 64 * 1024 * 1024
JOBS, SERVICE = "jobs", "service"


def stack_size(max_query_length: int) -> int:
    """Bytes of stack that any query within the size limit can be evaluated on."""
    return max(MIN_STACK, STACK_PER_BYTE * max_query_length)


# ---------------------------------------------------------------- owner (master or test process)


class QueryProcesses:
    """Starts the supervisor and its query processes; ``address`` is where jobs go.

    The supervisor is a plain subprocess (``python -P -m kg.workers``), not a
    multiprocessing child: gunicorn forks its workers from the process that
    owns this object, and multiprocessing would make every forked worker try to
    stop and join the supervisor when it exits. A thread of the owner watches
    the supervisor and starts a new one (same sockets) if it dies.
    """

    def __init__(
        self,
        build: Build,
        size: int,
        max_rows: int,
        *,
        memory_mib: int = 1024,
        max_query_length: int = 16 * 1024,
        isolate: bool = True,
        service_size: int = 1,
        start_timeout: float = 120,
    ) -> None:
        self._owner = os.getpid()
        self._dir = Path(tempfile.mkdtemp(prefix="kg-query-"))  # 0700: only this user can send jobs
        (self._dir / "exits").mkdir()
        (self._dir / "clients").mkdir()
        self.address = str(self._dir / f"{JOBS}.sock")
        self.service_address = str(self._dir / f"{SERVICE}.sock") if service_size > 0 else None
        self._config = {
            "dir": str(self._dir),
            "build": str(build.folder),
            "pools": {JOBS: size, SERVICE: service_size},
            "max_rows": max_rows,
            "memory": memory_mib * 1024 * 1024,
            "stack": stack_size(max_query_length),
            "isolate": isolate,
        }
        self._start_timeout = start_timeout
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.restarts = 0
        try:
            self._start()
        except DataError:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        threading.Thread(target=self._watch, name="kg-supervisor-watch", daemon=True).start()

    @classmethod
    def for_settings(cls, build: Build, settings: Settings) -> QueryProcesses:
        return cls(
            build,
            settings.query_workers,
            settings.max_rows,
            memory_mib=settings.query_memory,
            max_query_length=settings.max_query_length,
            isolate=settings.isolate_network,
            service_size=1 if settings.service_allowlist else 0,
        )

    def _start(self) -> None:
        mine, theirs = socket.socketpair()
        control = Connection(mine.detach())
        command = [sys.executable, "-P", "-m", "kg.workers", str(theirs.fileno()), json.dumps(self._config)]
        process = subprocess.Popen(command, pass_fds=[theirs.fileno()])
        theirs.close()
        try:
            ready = control.poll(self._start_timeout)
            status, detail = (
                control.recv() if ready else ("failed", f"no answer in {self._start_timeout:g} s")
            )
        except (EOFError, OSError):
            status, detail = "failed", f"the supervisor exited with code {process.wait(5)}"
        if status != "ready":
            _stop(process, control)
            raise DataError(f"the query processes did not start: {detail}")
        self._process, self._control = process, control

    def _watch(self) -> None:
        """Start a new supervisor whenever the running one dies (the owner's thread)."""
        failures = 0
        while not self._closing.is_set():
            process = self._process
            process.wait()
            if self._closing.is_set():
                return
            log.error("the query supervisor exited (code %s); starting another", process.returncode)
            with contextlib.suppress(OSError):
                self._control.close()
            time.sleep(min(0.1 * 2**failures, 5.0))
            with self._lock:
                if self._closing.is_set():
                    return
                try:
                    self._start()
                    self.restarts += 1
                    failures = 0
                except DataError as exc:
                    failures += 1
                    log.error("%s", exc.message)

    @property
    def supervisor_pid(self) -> int:
        return self._process.pid

    def pids(self, pool: str = JOBS) -> list[int]:
        """The query processes of one pool now running (for tests and diagnostics)."""
        with self._lock:
            self._control.send(pool)
            return self._control.recv()

    def close(self) -> None:
        if os.getpid() != self._owner:  # a forked copy (a gunicorn worker) owns nothing
            return
        self._closing.set()
        with self._lock:  # not while the watcher is starting a new supervisor
            _stop(self._process, self._control)
        shutil.rmtree(self._dir, ignore_errors=True)


def _stop(process: subprocess.Popen, control: Connection) -> None:
    with contextlib.suppress(OSError):
        control.send(None)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    control.close()


# ---------------------------------------------------------------- supervisor process


def main(argv: list[str]) -> None:
    """``python -m kg.workers CONTROL_FD CONFIG_JSON``: run the supervisor."""
    fd, config = argv
    _with_stack(json.loads(config)["stack"], argv)
    _supervise(json.loads(config), Connection(int(fd)))


def _with_stack(size: int, argv: list[str]) -> None:
    """Run with a main-thread stack of ``size`` bytes: re-execute once with RLIMIT_STACK raised.

    The engine recurses once per nesting level, and the query processes
    (forked from here) evaluate on their main thread, whose stack may grow up
    to the limit the process was started with: 8 MiB by default, which 3,000
    nested groups overflow (a segfault). The pages are only touched as used.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft == resource.RLIM_INFINITY or soft >= size:
        return
    wanted = size if hard == resource.RLIM_INFINITY else min(size, hard)
    if wanted <= soft:
        log.warning("the stack limit cannot be raised to %d bytes (hard limit %d)", size, hard)
        return
    resource.setrlimit(resource.RLIMIT_STACK, (wanted, hard))
    os.execv(sys.executable, [sys.executable, "-P", "-m", "kg.workers", *argv])


def _listen(address: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):  # left by a supervisor that was killed
        os.unlink(address)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(BACKLOG)
    return listener


def _supervise(config: dict, control: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the owner stops us
    folder = Path(config["dir"])
    pools = {name: n for name, n in config["pools"].items() if n > 0}
    listeners = {name: _listen(str(folder / f"{name}.sock")) for name in pools}
    status_recv, status_send = multiprocessing.Pipe(duplex=False)
    children: dict[int, tuple[int, str, int]] = {}  # pidfd → (pid, pool, slot in `deadlines`)
    # Each process writes its job's deadline (monotonic clock, the same in every process) into its
    # slot of this shared page, 0 when idle: the supervisor reads it without a message per job.
    deadlines = mmap.mmap(-1, 8 * sum(pools.values()))
    killed: set[int] = set()  # pids the supervisor stopped for missing their deadline

    def fork(pool: str) -> None:
        slot = min(set(range(sum(pools.values()))) - {c[2] for c in children.values()})
        struct.pack_into("d", deadlines, 8 * slot, 0.0)
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: this process is single-threaded, so forking it is safe
            code = 0
            try:
                die_with(supervisor)
                control.close()  # the owner's EOF must not wait for query processes
                status_recv.close()
                for sibling in children:
                    os.close(sibling)
                for name, listener in listeners.items():
                    if name != pool:
                        listener.close()
                isolate = pool == JOBS and config["isolate"]
                code = _serve(listeners[pool], config, isolate, status_send, (deadlines, 8 * slot))
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children[os.pidfd_open(pid)] = (pid, pool, slot)
        # A note left by an earlier process with this pid would tell its client the wrong story.
        with contextlib.suppress(OSError):
            (folder / "exits" / str(pid)).unlink(missing_ok=True)

    parent = os.getppid()
    failures = 0  # replacements in a row that could not open the store
    try:
        for pool, n in pools.items():
            for _ in range(n):
                fork(pool)
        for _ in range(sum(pools.values())):  # every process has opened the store, or one says why not
            message = status_recv.recv()
            if message[0] == "failed":
                control.send(("failed", message[1]))
                return
        control.send(("ready", None))
        while os.getppid() == parent:
            now = time.monotonic()
            for pid, _, slot in children.values():
                (deadline,) = struct.unpack_from("d", deadlines, 8 * slot)
                if deadline and now > deadline + KILL_AFTER and pid not in killed:
                    # SIGALRM cannot end a stopped process; SIGKILL ends it in any state.
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            for ready in wait([control, status_recv, *children], timeout=SCAN_EVERY):
                if ready is control:
                    message = control.recv()
                    if message is None:
                        return
                    control.send(sorted(pid for pid, pool, _ in children.values() if pool == message))
                elif ready is status_recv:
                    message = status_recv.recv()
                    if message[0] == "ready":
                        failures = 0
                    elif message[0] == "failed":
                        failures += 1
                        log.error("a query process could not open the store: %s", message[1])
                    elif message[0] == "warning":
                        log.warning("%s", message[1])
                else:
                    pid, pool, _ = children.pop(ready)  # type: ignore[call-overload]
                    _reap(pid, ready, folder, config, pid in killed)  # type: ignore[arg-type]
                    killed.discard(pid)
                    # A replacement that cannot open the store ends at once: do not spin.
                    time.sleep(min(0.1 * 2**failures, 5.0) if failures else 0)
                    fork(pool)
    except (EOFError, OSError):  # the owner is gone
        return
    finally:
        for pidfd, (pid, _, _) in children.items():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(pidfd)
        for name, listener in listeners.items():
            listener.close()
            with contextlib.suppress(OSError):
                os.unlink(folder / f"{name}.sock")


MEMORY_EXIT = 3  # a query process that ran out of memory in Python ends with this code


def _reap(pid: int, pidfd: int, folder: Path, config: dict, overdue: bool) -> None:
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    code = os.waitstatus_to_exitcode(status)
    # Rust aborts (SIGABRT) when an allocation fails: with RLIMIT_AS set, that is the memory budget.
    if code in (-signal.SIGABRT, MEMORY_EXIT):
        reason = f"memory {config['memory'] // (1024 * 1024)}"
        log.warning("query process %d ran out of its memory budget; starting another", pid)
    elif code == -signal.SIGALRM or overdue:
        reason = "deadline"
        log.warning("query process %d reached the time limit and was stopped; starting another", pid)
    elif code == -signal.SIGKILL:
        reason = "killed"
        log.warning("query process %d was stopped (its client went away); starting another", pid)
    else:
        reason = f"exit {code}"
        log.warning("query process %d ended (exit code %d); starting another", pid, code)
    try:  # best effort: a full disk must not stop the supervisor (the client then says "stopped")
        (folder / "exits" / str(pid)).write_text(reason, encoding="utf-8")
        # A client reads its note within seconds and removes it; keep the folder small regardless.
        for old in sorted((folder / "exits").iterdir(), key=lambda p: p.stat().st_mtime)[:-256]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not leave the exit note of query process %d: %s", pid, exc)


# ---------------------------------------------------------------- query process


def _isolate_network() -> str | None:
    """Move this (single-threaded) process into a network namespace of its own; None or why not."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet, clone_newuser = 0x40000000, 0x10000000
    if libc.unshare(clone_newnet) == 0:
        return None
    # Without CAP_SYS_ADMIN, a user namespace may still grant it (where the kernel allows them).
    if libc.unshare(clone_newuser | clone_newnet) == 0:
        return None
    return os.strerror(ctypes.get_errno())


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _serve(
    listener: socket.socket, config: dict, isolate: bool, status: Connection, deadline: tuple[mmap.mmap, int]
) -> int:
    from kg.store import KnowledgeGraph

    supervisor = os.getppid()  # alive now: die_with checked, and the kernel ends us when it dies
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the deadline ends the process, even inside the engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if isolate:  # before the store starts threads: unshare needs a single-threaded process
        problem = _isolate_network()
        if problem:
            status.send(("warning", f"query process without network isolation ({problem})"))
    try:
        kg = KnowledgeGraph.open(Build(Path(config["build"])))
    except Exception as exc:
        status.send(("failed", f"{type(exc).__name__}: {exc}"))
        return 1
    if config["memory"] > 0:
        limit = _address_space() + config["memory"]
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    status.send(("ready", os.getpid()))
    listener.settimeout(1.0)  # to notice, once a second, a supervisor that died (if prctl failed)
    while os.getppid() == supervisor:
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        with Connection(sock.detach()) as conn:
            if _answer(conn, kg, config, deadline) == "memory":
                return MEMORY_EXIT  # a fresh process, not a fragmented heap, takes the next job
    return 0


def _answer(conn: Connection, kg, config: dict, shown: tuple[mmap.mmap, int]) -> str:
    try:
        conn.send(os.getpid())  # first: whom to stop if the client leaves
        job, deadline = conn.recv()
    except (EOFError, OSError):
        return "gone"
    left = deadline - time.monotonic()
    # The deadline passed while the job waited, or its client gave up (EOF is readable): skip it.
    if left <= 0 or conn.poll(0):
        return "gone"
    struct.pack_into("d", *shown, deadline)  # where the supervisor sees it
    signal.setitimer(signal.ITIMER_REAL, left + GRACE)
    try:
        reply = _evaluate(kg, job, config)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    with contextlib.suppress(OSError):  # the client may have left
        conn.send(reply)
        # Stay this client's until it closes: a kill meant for this job can then
        # never reach the next one (QueryClient._wait), and the pid cannot be reused.
        conn.poll(max(0.0, deadline + GRACE - time.monotonic()))
    struct.pack_into("d", *shown, 0.0)
    return reply[0]


def _evaluate(kg, job: Job, config: dict) -> tuple:
    """The reply to a job; every failure becomes a reply the client can read."""
    try:
        return ("ok", execute(kg, job, config["max_rows"]))
    except MemoryError:
        return ("memory", config["memory"] // (1024 * 1024))
    except KGError as exc:
        return ("error", type(exc).__name__, exc.message)
    except Exception as exc:  # an engine failure: report it, keep serving
        return ("crash", type(exc).__name__, str(exc))


if __name__ == "__main__":
    main(sys.argv[1:])
