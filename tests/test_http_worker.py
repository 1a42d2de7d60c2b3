"""The HTTP worker's event loop in-process (kg.http_worker): a real BoundedWorker on real sockets,
without gunicorn's master; the loop is turned by hand (``_turn``). Live tests against `kg serve`
are in test_slow_clients.py."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from unittest import mock

import pytest
from gunicorn.config import Config

from kg.config import Settings
from kg.http_worker import _BUSY, _CLOSED, BoundedWorker, _Conn, connection_cap

WSGIApp = Callable[[dict, Callable], object]


@pytest.fixture()
def make_worker() -> Iterator[Callable[..., BoundedWorker]]:
    made: list[BoundedWorker] = []

    def make(app: WSGIApp | None = None, **settings: object) -> BoundedWorker:
        cfg = Config()
        cfg.set("keepalive", 2)
        worker = BoundedWorker(
            0, os.getpid(), [], SimpleNamespace(settings=Settings(**settings)), 30, cfg, mock.Mock()
        )
        worker.poller = selectors.DefaultSelector()
        worker.method_queue.init()
        worker.poller.register(
            worker.method_queue.fileno(), selectors.EVENT_READ, worker.method_queue.run_callbacks
        )
        worker.tpool = ThreadPoolExecutor(2)
        worker.wsgi = app
        made.append(worker)
        return worker

    yield make
    for worker in made:
        for conn in list(worker.conns.values()):
            worker._drop(conn)
        worker.tpool.shutdown(wait=True)
        worker.poller.close()
        worker.method_queue.close()
        worker.tmp.close()


def _turn(worker: BoundedWorker, until: Callable[[], bool], seconds: float = 10) -> None:
    """Run the worker's loop (events, then the sweep) until ``until()`` or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "the loop did not get there in time"
        worker._dispatch(0.02)
        worker._sweep(time.monotonic())


@pytest.fixture()
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.setblocking(False)
        yield sock


def _connect(listener: socket.socket, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(listener.getsockname(), timeout=5, source_address=(source, 0))


def _accepted(worker: BoundedWorker, listener: socket.socket, client: socket.socket) -> _Conn:
    """The worker's connection for ``client``, accepted now."""
    name = client.getsockname()
    worker.accept(listener)
    (conn,) = [c for c in worker.conns.values() if c.client == name]
    return conn


def _read_all(sock: socket.socket, seconds: float = 10) -> bytes:
    data = b""
    sock.settimeout(seconds)
    with contextlib.suppress(OSError):
        while chunk := sock.recv(1 << 20):
            data += chunk
    return data


def _app(body: bytes | list[bytes], status: str = "200 OK") -> WSGIApp:
    def app(environ: dict, start_response: Callable) -> object:
        pieces = body if isinstance(body, list) else [body]
        headers = [("Content-Type", "text/plain")]
        if isinstance(body, bytes):
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return pieces

    return app


# ---------------------------------------------------------------- limits from the open-file limit


def test_the_connections_a_worker_holds_leave_files_for_the_rest():
    assert connection_cap(1000, 100) == 36
    assert connection_cap(1000, 20000) == 1000
    assert connection_cap(1000, resource.RLIM_INFINITY) == 1000
    assert connection_cap(1000, 10) == 1


# ---------------------------------------------------------------- nothing a client does ends the loop


@pytest.mark.parametrize("code", [errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM])
def test_running_out_of_files_in_accept_pauses_accepting(make_worker, code):
    worker = make_worker()
    worker._accepting = True
    listener = mock.Mock()
    listener.accept.side_effect = OSError(code, os.strerror(code))
    with mock.patch.object(worker, "set_accept_enabled") as set_accept:
        worker.accept(listener)
        worker.accept(listener)
    set_accept.assert_called_with(False)
    assert worker._accept_at > time.monotonic()
    assert worker.log.warning.call_count == 1  # logged once


def test_an_error_with_one_connection_closes_that_connection_only(make_worker, listener):
    worker = make_worker()
    with _connect(listener) as bad, _connect(listener) as good:
        bad_conn = _accepted(worker, listener, bad)
        good_conn = _accepted(worker, listener, good)
        with mock.patch.object(worker, "_advance", side_effect=ValueError("a bug")):
            bad.sendall(b"GET / HTTP/1.1\r\n")
            _turn(worker, lambda: bad_conn.state == _CLOSED)
        assert worker.log.exception.called
        assert list(worker.conns.values()) == [good_conn]
        assert worker.nr_conns == 1


def test_closing_a_connection_never_removes_another_that_got_its_socket_number(make_worker, listener):
    """A connection's socket closed behind the loop's back (as gunicorn's thread code did after an
    error mid-answer) frees its number, and a new connection can get it: closing the first must not
    remove the second from the loop's books."""
    worker = make_worker()
    with _connect(listener) as first:
        old = _accepted(worker, listener, first)
        old.state = _BUSY  # a thread has it
        worker._watch(old, 0)
        number = old.fd
        old.sock.close()
    with _connect(listener) as second:
        new = _accepted(worker, listener, second)
        assert new.fd == number
        worker._close(old)
        assert list(worker.conns.values()) == [new]
        assert worker.poller.get_key(new.fd).data is new


def test_one_address_holds_at_most_its_share_of_connections(make_worker, listener):
    worker = make_worker(client_connections=3)
    clients = [_connect(listener) for _ in range(5)] + [_connect(listener, "127.0.0.2")]
    try:
        for _ in range(6):
            worker.accept(listener)
        assert worker.nr_conns == 4 and worker.clients == {"127.0.0.1": 3, "127.0.0.2": 1}
        assert sum(_read_all(c, 0.5) == b"" for c in clients[:5]) >= 2  # closed at once
        for conn in list(worker.conns.values()):
            worker._close(conn)
        assert worker.clients == {} and worker.nr_conns == 0
    finally:
        for client in clients:
            client.close()


# ---------------------------------------------------------------- threads make answers, the loop writes them


def _request(worker: BoundedWorker, listener: socket.socket, client: socket.socket, request: bytes) -> _Conn:
    conn = _accepted(worker, listener, client)
    client.sendall(request)
    _turn(worker, lambda: conn.state == _BUSY)
    return conn


def test_the_thread_hands_the_answer_to_the_loop_and_writes_nothing_itself(make_worker, listener):
    worker = make_worker(_app(b"hello"))
    with _connect(listener) as client:
        conn = _accepted(worker, listener, client)
        conn.request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        keepalive, parts = worker.handle(conn)
        client.setblocking(False)
        with pytest.raises(BlockingIOError):
            client.recv(1)  # nothing written by the thread
        answer = b"".join(parts)
        assert keepalive and answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nhello")


def test_an_app_failing_mid_answer_leaves_the_socket_to_the_loop(make_worker, listener):
    """gunicorn's thread closes the socket when an app fails after its answer began; here only the
    loop closes sockets (see the test above), after writing what was made."""

    def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        raise RuntimeError("the app failed")

    worker = make_worker(app)
    with _connect(listener) as client:
        conn = _accepted(worker, listener, client)
        conn.request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        keepalive, parts = worker.handle(conn)
        assert conn.sock.fileno() != -1
        answer = b"".join(parts)
        assert not keepalive and answer.endswith(b"\r\n\r\n7\r\npartial\r\n")  # cut short: no last chunk
        worker._start_writing(conn, parts, close=True)
        assert _read_all(client) == answer


def test_a_large_answer_to_a_client_that_does_not_read_holds_no_thread(make_worker, listener):
    body = b"x" * (16 << 20)
    worker = make_worker(_app(body), send_timeout=60)
    with _connect(listener) as client:
        conn = _request(worker, listener, client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _turn(worker, lambda: conn.state != _BUSY)  # the thread is done at once
        assert conn.out and conn.queued > 0  # the loop has the rest to write
        received = 0
        client.settimeout(5)
        while received < len(body):
            received += len(client.recv(1 << 20))
            worker._dispatch(0)
        assert received >= len(body)


def test_an_answer_made_in_pieces_waits_for_the_client_to_read(make_worker, listener):
    """Pieces of 64 KiB, 24 MiB in all: the thread takes more from the app only as the client
    reads, so the loop never holds much more than two steps of it."""
    pieces = 24 * 16
    worker = make_worker(_app([b"p" * 65536] * pieces))
    with _connect(listener) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        conn = _request(worker, listener, client, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        most = 0
        received = b""
        client.setblocking(False)
        deadline = time.monotonic() + 60
        while not received.endswith(b"\r\n0\r\n\r\n") and time.monotonic() < deadline:
            worker._dispatch(0.01)
            most = max(most, conn.queued)
            with contextlib.suppress(BlockingIOError):
                received += client.recv(1 << 20)
        assert received.endswith(b"\r\n0\r\n\r\n")
        assert received.count(b"p" * 65536) == pieces
        assert most <= 3 * (1 << 20), most


def test_a_client_that_takes_nothing_is_let_go_and_its_thread_stops(make_worker, listener):
    produced = []

    def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        for _ in range(10_000):  # 640 MiB if it were all taken
            produced.append(1)
            yield b"p" * 65536

    worker = make_worker(app, send_timeout=0.5)
    with _connect(listener) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn = _request(worker, listener, client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        _turn(worker, lambda: conn.state == _CLOSED, seconds=15)
        assert time.monotonic() - started < 10
        assert len(produced) < 200  # the thread stopped taking pieces from the app
        assert not worker.conns and worker.nr_conns == 0


def test_a_file_is_sent_by_the_loop_from_the_file(make_worker, listener, tmp_path):
    path = tmp_path / "dump.nq"
    path.write_bytes(bytes(range(256)) * 8192)  # 2 MiB

    def app(environ: dict, start_response: Callable) -> object:
        start_response("200 OK", [("Content-Length", str(path.stat().st_size))])
        return environ["wsgi.file_wrapper"](path.open("rb"))  # the server closes it

    worker = make_worker(app)
    with (
        _connect(listener) as client,
        mock.patch.object(worker, "_start_writing", wraps=worker._start_writing) as spy,
    ):
        conn = _request(worker, listener, client, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _turn(worker, lambda: conn.state != _BUSY)
        handed = spy.call_args.args[1]
        assert [type(p).__name__ for p in handed] == ["memoryview", "_FilePart"]  # the head, then the file
        received: list[bytes] = []
        reader = threading.Thread(target=lambda: received.append(_read_all(client)))
        reader.start()
        _turn(worker, lambda: not worker.conns)
        reader.join(10)
        assert received[0].endswith(b"\r\n\r\n" + path.read_bytes())


def test_over_the_memory_for_answers_the_clients_that_took_nothing_for_longest_go(make_worker, listener):
    worker = make_worker(send_timeout=60)
    worker.max_held = 10 << 20
    clients = []
    for _ in range(3):
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(listener.getsockname())
        clients.append(client)
    try:
        conns = [_accepted(worker, listener, client) for client in clients]
        for conn in conns:  # each answer is larger than the sockets' buffers: most of it stays queued
            worker._start_writing(conn, [memoryview(b"x" * (8 << 20))], close=False)
            time.sleep(0.01)
        assert worker.held > worker.max_held
        worker._sweep(time.monotonic())
        assert conns[0].state == _CLOSED and conns[2].state != _CLOSED
        assert worker.held == sum(c.queued for c in worker.conns.values()) <= worker.max_held
    finally:
        for client in clients:
            client.close()


def test_gunicorns_own_error_page_goes_through_the_loop_with_the_security_headers(make_worker, listener):
    from kg.web.safety import HEADERS

    worker = make_worker(_app(b"never"))
    with _connect(listener) as client:
        conn = _accepted(worker, listener, client)
        conn.request = b"get / HTTP/1.1\r\nHost: x\r\n\r\n"  # a method gunicorn refuses (lower case)
        keepalive, parts = worker.handle(conn)
        head = b"".join(parts).partition(b"\r\n\r\n")[0]
        assert not keepalive and head.startswith(b"HTTP/1.1 400 ")
        for name, value in HEADERS.items():
            assert f"\r\n{name}: {value}\r\n".encode() in head + b"\r\n"
