"""Helpers for tests that start the real server."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def kg_serve(
    *args: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    started: list[subprocess.Popen] | None = None,
) -> Iterator[str]:
    """Start the real `kg serve` on a free port; yield its /sparql URL; stop it. ``log``: a file
    for the server's stderr (its log), to read after it stopped. ``started``: the server's process
    is appended to it, and leads a process group of its own, so that a test can signal the
    master, its HTTP workers and its query processes at once (``os.killpg(process.pid, …)``)."""
    port = _free_port()
    kg_bin = Path(sys.executable).with_name("kg")
    errors = log.open("wb") if log is not None else subprocess.PIPE
    proc = subprocess.Popen(
        [str(kg_bin), "serve", "--host", "127.0.0.1", "--port", str(port), "--query-workers", "2", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=errors,
        start_new_session=started is not None,
    )
    if started is not None:
        started.append(proc)
    url = f"http://127.0.0.1:{port}/sparql"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    said = proc.stderr.read() if proc.stderr else log.read_bytes()  # type: ignore[union-attr]
                    raise RuntimeError(f"kg serve did not start: {said.decode()[-2000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
            raise RuntimeError("kg serve did not stop within 15 s of SIGTERM") from None
        finally:
            (proc.stderr or errors).close()  # type: ignore[union-attr]


def alive(pid: int) -> bool:
    """Whether a process exists (a reaped one does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition, what: str, seconds: float = 20) -> None:
    """Wait for an event, not for a time: fail naming it if it has not happened within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


class Listener:
    """A loopback TCP port that counts the connections it gets and closes each: what an SSRF would
    reach, or a SERVICE call that fails."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1  # before the close that ends the caller's wait
            conn.close()


def altered_build(root: Path, replace: dict[str, tuple[str, str]]):
    """The settings of the seed built from a copy in ``root`` in which each file's one ``old`` text
    is ``new`` (a label with markup, say): the project's data, changed where the test says."""
    from kg.config import REPO_ROOT, Settings
    from kg.pipeline import build

    for name in ("ontology", "data", "queries"):
        shutil.copytree(REPO_ROOT / name, root / name)
    for path, (old, new) in replace.items():
        text = (root / path).read_text(encoding="utf-8")
        assert text.count(old) == 1, (path, old)
        (root / path).write_text(text.replace(old, new), encoding="utf-8")
    settings = Settings(
        ontology_dir=root / "ontology",
        data_dir=root / "data",
        queries_dir=root / "queries",
        build_dir=root / "build",
    )
    build(settings)
    return settings


@contextlib.contextmanager
def altered_seed(root: Path, replace: dict[str, tuple[str, str]]) -> Iterator:
    """A test client of ``altered_build``'s seed."""
    import dataclasses

    from kg.web import close_app, create_app

    settings = altered_build(root, replace)
    app = create_app(dataclasses.replace(settings, query_workers=0))
    try:
        yield app.test_client()
    finally:
        close_app(app)
