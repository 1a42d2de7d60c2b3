"""Real SPARQL stores for tests and benchmarks: the Oxigraph server and Virtuoso Open Source.

Each launcher starts a store on free loopback ports with its files in ``folder``, waits until it
answers ``ASK {}``, yields a ``Store`` with its endpoints, and stops it on exit. Both accept
updates without authentication: they are scratch stores on 127.0.0.1, never a deployment.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import _free_port

OXIGRAPH = Path(sys.executable).with_name("oxigraph")  # the PyPI package oxigraph's server binary
VIRTUOSO = Path("/usr/bin/virtuoso-t")  # Debian's virtuoso-opensource-7
ISQL = Path("/usr/bin/isql-vt")


@dataclass
class Store:
    """A running store: its SPARQL 1.1 Protocol and Graph Store Protocol endpoints."""

    query: str
    update: str
    graph_store: str
    kind: str  # "oxigraph" | "virtuoso"
    process: subprocess.Popen


@contextlib.contextmanager
def oxigraph_server(folder: Path) -> Iterator[Store]:
    """The Oxigraph server, read-write, its database in ``folder/oxigraph``."""
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "oxigraph.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(OXIGRAPH), "serve", "--location", str(folder / "oxigraph"), "--bind", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    store = Store(f"{base}/query", f"{base}/update", f"{base}/store", "oxigraph", proc)
    with _running(store, [log], seconds=30):
        yield store


@contextlib.contextmanager
def virtuoso(folder: Path) -> Iterator[Store]:
    """Virtuoso Open Source 7.2 with its own database in ``folder``; updates open to anyone."""
    folder.mkdir(parents=True, exist_ok=True)
    isql_port, http_port = _free_port(), _free_port()
    (folder / "virtuoso.ini").write_text(_virtuoso_ini(folder, isql_port, http_port), encoding="utf-8")
    console = folder / "console.log"  # what it says before it reads the ini's ErrorLogFile
    with console.open("wb") as out:
        proc = subprocess.Popen(
            [str(VIRTUOSO), "+configfile", "virtuoso.ini", "+foreground"],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{http_port}"
    store = Store(f"{base}/sparql", f"{base}/sparql", f"{base}/sparql-graph-crud", "virtuoso", proc)
    # Stopped by a SHUTDOWN, which checkpoints first. A SIGTERM makes a "quick shutdown" with no
    # checkpoint, and once, started again on the same folder, its graphs were not those it had.
    logs = [console, folder / "virtuoso.log"]
    with _running(store, logs, seconds=60, stop=lambda: _shutdown(isql_port)):
        # The anonymous SPARQL user may only read by default. This opens /sparql and
        # /sparql-graph-crud to updates from anyone who reaches the port: scratch stores only.
        # On a restart the role is there already, and Virtuoso refuses to grant it twice.
        _isql(isql_port, 'GRANT SPARQL_UPDATE TO "SPARQL"', unless="already have role")
        yield store


def _virtuoso_ini(folder: Path, isql_port: int, http_port: int) -> str:
    # Small buffers (about 80 MB at 8 kB a page): many of these may run at once on a test machine.
    # ResultSetMaxRows is raised from Debian's 10,000 so tests can read a whole graph back.
    return f"""\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql_port}
DisableUnixSocket = 1
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {folder}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
MaxQueryMem = 256M
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}
MaxClientConnections = 10
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 300
MaxQueryCostEstimationTime = 400
"""


def _isql(port: int, sql: str, unless: str | None = None) -> None:
    """Run one SQL statement as dba (the scratch database's default password); ``unless``: an
    error message that means the statement's work is already done."""
    done = subprocess.run(
        [str(ISQL), str(port), "dba", "dba", f"EXEC={sql}"], capture_output=True, text=True, timeout=60
    )
    said = done.stdout + done.stderr
    if unless is not None and unless in said:
        return
    if done.returncode != 0 or "*** Error" in said:
        raise RuntimeError(f"isql-vt failed on {sql!r}: {said[-2000:]}")


def _shutdown(port: int) -> None:
    # The server drops the session while it obeys, so isql's own status tells nothing: the
    # process ending (waited for by _running) is the answer.
    subprocess.run([str(ISQL), str(port), "dba", "dba", "EXEC=SHUTDOWN"], capture_output=True, timeout=120)


@contextlib.contextmanager
def _running(
    store: Store, logs: list[Path], seconds: float, stop: Callable[[], None] | None = None
) -> Iterator[None]:
    """Wait until the store answers ASK {}, then stop it when done: ``stop()``, or SIGTERM;
    SIGKILL if it has not ended 30 s later."""
    proc = store.process
    ask = store.query + "?" + urllib.parse.urlencode({"query": "ASK {}"})
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                request = urllib.request.Request(ask, headers={"Accept": "application/sparql-results+json"})
                with urllib.request.urlopen(request, timeout=2) as answer:
                    answer.read()
                break
            except (OSError, urllib.error.HTTPError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = "\n".join(f.read_text(errors="replace")[-2000:] for f in logs if f.exists())
                    raise RuntimeError(f"{store.kind} did not start ({store.query}): {tail}") from None
                time.sleep(0.1)
        yield
    finally:
        if stop is None or proc.poll() is not None:
            proc.terminate()
        else:
            try:
                stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
