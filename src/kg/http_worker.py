"""The HTTP worker of `kg serve`: gunicorn's threaded worker behind an event loop that reads requests
and writes answers.

The HTTP workers are gunicorn workers of our own class, ``BoundedWorker``: an
event loop reads each request, head and body, before a thread sees it, and
writes each answer once the thread has made it, so a client that sends or
reads slowly, or not at all, holds a few kilobytes and no thread. The limits
are checked there on the bytes as they arrive: the URL (``max_body``, 414), the
header section (``max_header_bytes``, 431), the body (``max_body``, 413), the
framing (400 for what gunicorn's parser would refuse, kg.http_framing), the
time to send a request head and a body (``header_timeout``, ``body_timeout``:
408, or a silent close if nothing came), the time a client may go without
taking any of its answer (``send_timeout``), and the connections a worker
holds (``max_connections``, at most ``client_connections`` of them from one
client address). A repeated GET whose answer the response cache holds is
answered by the event loop itself. No client input ends the loop: an error
with one connection closes that connection.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import json
import os
import resource
import selectors
import socket
import threading
import time
import urllib.parse
from collections import deque
from datetime import datetime
from typing import Any

from gunicorn import SERVER, http, util
from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

from kg.config import Settings
from kg.http_framing import ChunkedBody, Refuse, body_length, parse_head

# ---------------------------------------------------------------- the HTTP worker

# A connection's states in BoundedWorker's event loop.
_IDLE, _HEAD, _BODY, _BUSY, _WRITING, _CLOSING, _CLOSED = range(7)
_HEAD_END = b"\r\n\r\n"
_DRAIN = 64 * 1024  # bytes read, at most, from a client we close on (and dropped)
_LINGER = 1.0  # seconds a client we close on has to close its end
# Request headers only the WSGI path handles: a request with one is never answered by the loop itself.
_SLOW_HEADERS = frozenset(
    {b"if-none-match", b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"http2-settings"}
    | {b"forwarded", b"te", b"trailer"}
)
_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
}
_STREAM_STEP = 1024 * 1024  # bytes of an answer made piece by piece that a thread hands the loop at a time
# Bytes of answers a worker holds for its clients at most (an answer shared by several, such as a
# cached one, counts for each): beyond, the clients that took nothing for longest are let go.
_HELD = 256 * 1024 * 1024
_IOV = 64  # pieces of an answer written with one sendmsg
_FD_RESERVE = 64  # open files kept for everything but connections (see connection_cap)
_OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_PAUSE = 0.1  # seconds without accepting after accept() ran out of files or memory


class _FilePart:
    """Bytes of a file in an answer, sent by the loop with sendfile(2) from its own copy ``fd``."""

    __slots__ = ("fd", "left", "offset")

    def __init__(self, fd: int, offset: int, left: int) -> None:
        self.fd, self.offset, self.left = fd, offset, left

    def __len__(self) -> int:
        return 0  # bytes held in memory (see _memory)


def _release(parts: Any) -> None:
    """Close the files of an answer that will not be sent."""
    for part in parts:
        if type(part) is _FilePart:
            with contextlib.suppress(OSError):
                os.close(part.fd)


def _memory(parts: list) -> int:
    """Bytes the parts of an answer hold in memory (a file's count 0)."""
    return sum(map(len, parts))


class _Conn:
    """One client connection as BoundedWorker's event loop sees it (``sock``, ``client``,
    ``server`` and ``parser`` are what gunicorn's request handling reads)."""

    __slots__ = (
        "body",
        "body_end",
        "buf",
        "client",
        "close_after",
        "deadline",
        "events",
        "fast",
        "fd",
        "gone",
        "head_end",
        "line_end",
        "out",
        "parser",
        "peer",
        "queued",
        "request",
        "room",
        "scanned",
        "server",
        "sock",
        "state",
        "target_end",
    )

    def __init__(self, sock: socket.socket, client: Any, server: Any) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.client = client
        self.peer: str | None = None  # the client address whose share of connections this one counts in
        self.server = server
        self.parser: Any = None
        self.buf = bytearray()
        self.events = 0  # what the poller watches the socket for (0: not registered)
        self.request = b""  # a whole request, handed to a thread
        self.out: deque = deque()  # what is left to write of an answer: memoryviews and _FileParts
        self.queued = 0  # bytes of the memoryviews in out
        self.room: threading.Event | None = None  # set when a thread making an answer in pieces may go on
        self.gone = False  # given up (or closed): a thread making its answer stops
        self.start(_HEAD, 0.0)

    def start(self, state: int, deadline: float) -> None:
        """Wait for a (next) request."""
        self.state, self.deadline = state, deadline
        self.scanned = 0  # how far buf was searched for the end of the head
        self.line_end = -1  # where the request line ends in buf, once known
        self.target_end = -1  # where the URL ends in buf, once known
        self.head_end = self.body_end = 0  # where the head and body end in buf, once known
        self.body: ChunkedBody | None = None  # a chunked body's framing, as far as it has come
        self.fast: tuple | None = None  # (request line parts, fields) of a request the cache may answer
        self.close_after = False


class _Gone(Exception):
    """The connection was given up while a thread was making its answer."""


@functools.cache
def _security_headers() -> bytes:
    """The security headers of every app response (kg.web.safety), for the answers the loop makes."""
    from kg.web.safety import HEADERS  # here: it imports Flask, which gunicorn's master does without

    return "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items()).encode("latin-1")


def connection_cap(wanted: int, files: int) -> int:
    """The connections a worker may hold when it may have ``files`` files open (-1: no limit):
    ``wanted``, or fewer, so that _FD_RESERVE stay for the rest (the listener, the poller, the
    query processes' sockets, logs, and files being sent)."""
    if files == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, files - _FD_RESERVE))


def _raise_file_limit() -> int:
    """Raise this process's soft limit of open files to the hard one; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # an unlimited hard limit the kernel will not grant
            pass
    return soft


class BoundedWorker(ThreadWorker):
    """gunicorn's threaded worker, with an event loop that reads whole requests before a thread runs
    one, and writes the answers the threads make.

    gunicorn 27's gthread worker hands a new connection to a thread at once;
    the thread waits up to 5 s for a first byte, then reads the request head
    and body with blocking reads and no time limit, so 16 clients sending a
    header line a second held every thread of both workers; and it writes the
    answer with blocking writes, so clients that do not read held them too.
    Here the event loop (the worker's main thread) reads requests without
    blocking, checks every limit on the bytes as they come, and hands a thread
    only a complete request, which gunicorn's parser then reads from memory.
    The thread runs the app and hands the answer's bytes back (``_Answer``);
    the loop writes them as fast as the client takes them, and lets a client go
    that takes nothing for ``send_timeout``. A GET whose answer the response
    cache holds is answered by the loop itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings: Settings = self.app.settings
        self.max_url = settings.max_body
        self.max_header = settings.max_header_bytes
        self.max_body = settings.max_body
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.send_timeout = settings.send_timeout
        self.client_connections = settings.client_connections
        # By id(): a socket's number can be reused by a new connection while the old one is still known.
        self.conns: dict[int, _Conn] = {}
        self.held = 0  # bytes of answers waiting in the connections' out queues
        self.max_held = _HELD
        self.clients: dict[str, int] = {}  # open connections per client address
        self.cache: Any = None  # the app's response cache, for the answers the loop writes itself
        self._date = (0, b"")
        self._accept_at = 0.0  # no accepting before then (after accept() ran out of files)
        self._out_of_files = False  # whether that was logged

    def init_process(self) -> None:
        files = _raise_file_limit()
        cap = connection_cap(self.worker_connections, files)
        if cap < self.worker_connections:
            self.log.warning(
                "%d open files allowed: this worker holds %d connections, not %d (max_connections)",
                files,
                cap,
                self.worker_connections,
            )
            self.worker_connections = cap
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        from kg.web.response_cache import ResponseCache

        _security_headers()
        cache = getattr(self.wsgi, "wsgi_app", None)
        # An access log line needs gunicorn's request objects: with the log on, every request
        # takes the WSGI path.
        if isinstance(cache, ResponseCache) and not self.cfg.accesslog and not os.environ.get("SCRIPT_NAME"):
            self.cache = cache

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        self.poller.register(
            self.method_queue.fileno(), selectors.EVENT_READ, self.method_queue.run_callbacks
        )
        next_sweep = 0.0
        while self.alive:
            self.notify()
            now = time.monotonic()
            can_accept = self.nr_conns < self.worker_connections and now >= self._accept_at
            if can_accept != self._accepting:
                self.set_accept_enabled(can_accept)
            self._dispatch(0.25 if now >= self._accept_at else _ACCEPT_PAUSE)
            if not self.is_parent_alive():
                break
            now = time.monotonic()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + 0.1
        # Stopping: no new connections or requests; those being answered finish within the grace time.
        self.set_accept_enabled(False)
        for conn in list(self.conns.values()):
            if conn.state in (_IDLE, _HEAD, _BODY):
                self._close(conn)
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while self.conns and time.monotonic() < deadline:
            self.notify()
            self._dispatch(0.25)
            self._sweep(time.monotonic())
        for conn in list(self.conns.values()):
            self._drop(conn)
        self.tpool.shutdown(wait=False)
        self.poller.close()
        self.method_queue.close()
        for s in self.sockets:
            s.close()

    def _dispatch(self, timeout: float) -> None:
        try:
            events = self.poller.select(timeout)
        except InterruptedError:
            return
        for key, _ in events:
            if isinstance(key.data, _Conn):
                if key.data.state != _CLOSED:  # closed earlier in this round of events
                    self._guarded(self._on_event, key.data)
            else:
                try:
                    key.data(key.fileobj)  # accept, or the callbacks threads queued (each guarded)
                except Exception:
                    self.log.exception("Error in the HTTP worker's event loop")

    def _guarded(self, step: Any, conn: _Conn, *args: Any) -> None:
        """Take one step of the loop with one connection: if it fails, only that connection is lost."""
        try:
            step(conn, *args)
        except Exception:
            self.log.exception(
                "Error in the HTTP worker's event loop; closing a connection from %s", conn.client
            )
            self._drop(conn)

    def _sweep(self, now: float) -> None:
        """Let go of the connections whose time is up: idle, too slow sending a request, or taking
        nothing of an answer for send_timeout. A thread's connection counts only while the loop
        writes a part of its answer."""
        for conn in [c for c in self.conns.values() if c.deadline <= now and (c.state != _BUSY or c.out)]:
            if conn.state in (_HEAD, _BODY) and conn.buf:  # it had begun a request
                self._guarded(self._refuse, conn, 408, "the request did not arrive in time")
            else:
                self._drop(conn)
        if self.held > self.max_held:
            self._shed()

    def _shed(self) -> None:
        """Over the memory held for answers: let go of the clients that have taken nothing of
        theirs for longest (a deadline is the last progress plus send_timeout), until under it."""
        waiting = sorted((c for c in self.conns.values() if c.queued), key=lambda c: c.deadline)
        self.log.warning(
            "%d bytes of answers wait for %d clients, over %d: closing the slowest",
            self.held,
            len(waiting),
            self.max_held,
        )
        for conn in waiting:
            if self.held <= self.max_held:
                break
            self._drop(conn)

    def accept(self, listener: socket.socket) -> None:
        for _ in range(64):
            if self.nr_conns >= self.worker_connections:
                return
            try:
                sock, client = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_FILES:
                    self._pause_accepting(exc)
                else:  # the client left before we took it, or the like
                    self.log.debug("accept: %s", exc)
                return
            peer = client[0] if self.client_connections > 0 and isinstance(client, tuple) else None
            if peer is not None:
                held = self.clients.get(peer, 0)
                if held >= self.client_connections:
                    util.close(sock)  # over this address's share: closed at once
                    continue
                self.clients[peer] = held + 1
            conn = _Conn(sock, client, listener.getsockname())
            conn.peer = peer
            sock.setblocking(False)
            self.nr_conns += 1
            conn.deadline = time.monotonic() + self.header_timeout
            self.conns[id(conn)] = conn
            self._watch(conn, selectors.EVENT_READ)

    def _pause_accepting(self, exc: OSError) -> None:
        """Out of files or memory: connections wait in the listen backlog for a moment."""
        self._accept_at = time.monotonic() + _ACCEPT_PAUSE
        self.set_accept_enabled(False)
        if not self._out_of_files:
            self._out_of_files = True
            self.log.warning(
                "accept() failed (%s) with %d connections open: accepting pauses for %.1f s each time",
                exc,
                self.nr_conns,
                _ACCEPT_PAUSE,
            )

    def _watch(self, conn: _Conn, events: int) -> None:
        if events == conn.events:
            return
        if conn.events == 0:
            self.poller.register(conn.fd, events, conn)
        elif events == 0:
            self.poller.unregister(conn.fd)
        else:
            self.poller.modify(conn.fd, events, conn)
        conn.events = events

    def _close(self, conn: _Conn) -> None:
        """Close a connection no thread has (only the loop closes sockets)."""
        if conn.state == _CLOSED:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._watch(conn, 0)
        conn.state, conn.gone = _CLOSED, True
        self.conns.pop(id(conn), None)
        self.nr_conns -= 1
        if conn.peer is not None:
            held = self.clients.pop(conn.peer, 1) - 1
            if held > 0:
                self.clients[conn.peer] = held
        _release(conn.out)
        self.held -= conn.queued
        conn.buf, conn.out, conn.queued = bytearray(), deque(), 0
        if conn.room is not None:
            conn.room.set()
        util.close(conn.sock)

    def _abandon(self, conn: _Conn) -> None:
        """Give up a connection a thread still has: its answer is dropped, the thread stops at its
        next piece, and the socket is closed when the thread is done (finish_request), not before:
        a new connection could get its number while the thread still holds it."""
        conn.gone = True
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._watch(conn, 0)
        _release(conn.out)
        self.held -= conn.queued
        conn.out, conn.queued = deque(), 0
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)  # a query running for it sees the client gone
        if conn.room is not None:
            conn.room.set()

    def _drop(self, conn: _Conn) -> None:
        """Let a connection go, whatever its state; never raises."""
        try:
            if conn.state == _BUSY:
                self._abandon(conn)
            else:
                self._close(conn)
        except Exception:
            self.log.exception("Error closing a connection from %s", conn.client)

    def _close_gracefully(self, conn: _Conn) -> None:
        """Send FIN, then read and drop what the client still sends, briefly: closing with unread
        data would send a reset, which can destroy the answer before the client has read it."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.buf = bytearray()
        conn.start(_CLOSING, time.monotonic() + _LINGER)
        self._watch(conn, selectors.EVENT_READ)

    def _on_event(self, conn: _Conn) -> None:
        if conn.state in (_WRITING, _BUSY):  # an answer (or the part of one a thread handed on) to write
            self._write(conn)
            self._next(conn)
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        if conn.state == _CLOSING:
            conn.scanned += len(data)  # what was drained
            if conn.scanned > _DRAIN:
                self._close(conn)
            return
        if conn.state == _IDLE:  # a kept-alive connection's next request begins
            conn.state, conn.deadline = _HEAD, time.monotonic() + self.header_timeout
        conn.buf += data
        self._advance(conn)

    def _next(self, conn: _Conn) -> None:
        """After an answer: go on with a next request that has arrived already, if any."""
        if conn.state == _IDLE and conn.buf:
            conn.state, conn.deadline = _HEAD, time.monotonic() + self.header_timeout
            self._advance(conn)

    # ------------------------------------------------------------ reading requests

    def _advance(self, conn: _Conn) -> None:
        """Take the requests in ``conn.buf`` as far as they have come; answer or hand on whole ones."""
        while True:
            try:
                if conn.state == _HEAD and not self._read_head(conn):
                    return
                if conn.state == _BODY and not self._read_body(conn):
                    return
            except Refuse as refusal:
                self._refuse(conn, refusal.status, refusal.message)
                return
            if conn.fast is not None and self._answer_from_cache(conn, *conn.fast):
                if conn.state == _IDLE and conn.buf:
                    conn.state, conn.deadline = _HEAD, time.monotonic() + self.header_timeout
                    continue  # a pipelined request
                return
            conn.request = bytes(conn.buf[: conn.body_end])
            del conn.buf[: conn.body_end]
            conn.state = _BUSY
            self._watch(conn, 0)
            self.enqueue_req(conn)
            return

    def _read_head(self, conn: _Conn) -> bool:
        """Check the head so far against the limits; once it is whole, check it and frame the body.
        True: whole."""
        buf = conn.buf
        if conn.line_end < 0:
            # The request line so far: the URL is refused as soon as it is too long, line end or not.
            conn.line_end = buf.find(b"\r\n", max(0, conn.scanned - 1))
            line = len(buf) if conn.line_end < 0 else conn.line_end
            start = buf.find(b" ", 0, 32) + 1  # after the method
            if conn.target_end < 0:
                conn.target_end = buf.find(b" ", max(start, conn.scanned - 1), line)
            url = (line if conn.target_end < 0 else conn.target_end) - start
            if url > self.max_url or line > self.max_url + 64:
                raise Refuse(414, f"the URL is over the limit of {self.max_url} bytes")
            conn.scanned = line
            if conn.line_end < 0:
                return False
        end = buf.find(_HEAD_END, max(conn.line_end, conn.scanned - 3))
        if (end if end >= 0 else len(buf)) - conn.line_end > self.max_header:
            raise Refuse(431, f"the request's headers are over the limit of {self.max_header} bytes")
        if end < 0:
            conn.scanned = len(buf)
            return False
        conn.head_end = conn.body_end = end + 4
        parts, fields = parse_head(bytes(buf[:end]))  # what gunicorn's parser would refuse, refused here
        length = body_length(fields, self.max_body)
        conn.state = _BODY
        if length is None:
            conn.body = ChunkedBody(conn.head_end, self.max_body, self.max_header, self.max_header)
        else:
            conn.body_end = conn.head_end + length
        if length != 0:
            conn.deadline = time.monotonic() + self.body_timeout
            if any(n == b"expect" and v.lower() == b"100-continue" for n, v in fields):
                # Answered here (gunicorn would answer again): the line goes, and the client sends its body.
                lines = bytes(buf[:end]).split(b"\r\n")
                kept = lines[:1] + [ln for ln in lines[1:] if not ln.lower().startswith(b"expect:")]
                head = b"\r\n".join(kept) + _HEAD_END
                shift = len(head) - conn.head_end
                buf[: conn.head_end] = head
                conn.head_end += shift
                conn.body_end += shift
                if conn.body is not None:
                    conn.body.shift(shift)
                with contextlib.suppress(OSError):
                    conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        elif self.cache is not None and len(parts) == 3:
            conn.fast = (parts, fields)
        return True

    def _read_body(self, conn: _Conn) -> bool:
        if conn.body is None:
            return len(conn.buf) >= conn.body_end
        end = conn.body.end(conn.buf)
        if end >= 0:
            conn.body_end = end
            return True
        if len(conn.buf) - conn.head_end > 2 * self.max_body + 65536:  # framing of tiny chunks
            raise Refuse(413, f"the request body is over the limit of {self.max_body} bytes")
        return False

    # ------------------------------------------------------------ answers the loop makes itself

    def _answer_from_cache(self, conn: _Conn, parts: list[bytes], fields: list[tuple[bytes, bytes]]) -> bool:
        """Answer a GET whose answer the response cache holds, as gunicorn would have. False: not here."""
        method, target, version = parts
        if method != b"GET" or version != b"HTTP/1.1" or target[:1] != b"/" or target[:2] == b"//":
            return False
        if b"#" in target or b"\t" in target or not target.isascii():  # (parse_head refused controls)
            return False
        host = accept = origin = None
        close = not self.cfg.keepalive
        for name, value in fields:
            if name == b"host":
                if host is not None:
                    return False
                host = value.decode("latin-1")
            elif name == b"accept":
                if accept is not None:
                    return False
                accept = value.decode("latin-1")
            elif name == b"origin":
                if origin is not None:
                    return False
                origin = value.decode("latin-1")
            elif name == b"connection":
                if value.lower() == b"close":
                    close = True
                elif value.lower() != b"keep-alive":
                    return False
            elif name in _SLOW_HEADERS or b"_" in name or name.startswith(b"x-forwarded"):
                return False  # conditional, with a body, or a URL scheme a proxy may set
            elif name in (b"cache-control", b"pragma") and b"no-cache" in value:
                return False  # to be evaluated again
        if host is None:
            return False
        path, _, query = target.partition(b"?")
        path_info = urllib.parse.unquote_to_bytes(path).decode("latin-1")
        key = self.cache.key("", path_info, query.decode("latin-1"), host, "http", accept, origin)
        stored = self.cache.lookup(key)
        if stored is None:
            return False
        self.nr += 1
        if self.nr >= self.max_requests:
            self.alive, close = False, True
        del conn.buf[: conn.body_end]
        connection = b"\r\nConnection: close\r\n" if close else b"\r\nConnection: keep-alive\r\n"
        head = b"".join(
            (
                b"HTTP/1.1 ",
                stored.status.encode("latin-1"),
                self._server_date(),
                connection,
                stored.wire,
                b"\r\n",
            )
        )
        self._start_writing(conn, [memoryview(head), memoryview(stored.body)], close)
        return True

    def _server_date(self) -> bytes:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, f"\r\nServer: {SERVER}\r\nDate: {util.http_date(now)}".encode())
        return self._date[1]

    def _refuse(self, conn: _Conn, status: int, message: str) -> None:
        """Answer a request the limits refuse as the app answers errors (JSON, CORS, the security
        headers), and close."""
        body = json.dumps({"error": message, "status": status}).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nServer: {SERVER}\r\nDate: {util.http_date()}\r\n"
            f"Connection: close\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Access-Control-Allow-Origin: *\r\n"
        ).encode() + _security_headers()
        self._start_writing(conn, [memoryview(head + b"\r\n" + body)], close=True)

    # ------------------------------------------------------------ writing answers

    def _start_writing(self, conn: _Conn, parts: list, close: bool) -> None:
        self._queue(conn, parts)
        conn.close_after = close
        conn.state, conn.deadline = _WRITING, time.monotonic() + self.send_timeout
        self._write(conn)

    def _feed(self, conn: _Conn, parts: list) -> None:
        """Take on a part of an answer that a thread is still making (see _Answer)."""
        if conn.gone:
            _release(parts)
            return
        if not conn.out:
            conn.deadline = time.monotonic() + self.send_timeout
        self._queue(conn, parts)
        self._write(conn)

    def _queue(self, conn: _Conn, parts: list) -> None:
        size = _memory(parts)
        conn.out.extend(parts)
        conn.queued += size
        self.held += size

    def _write(self, conn: _Conn) -> None:
        """Write what the connection has queued, as far as the socket takes it without waiting.
        ``send_timeout`` runs from the last progress: a slow reader gets its whole answer."""
        out = conn.out
        progress = False
        try:
            while out:
                part = out[0]
                if type(part) is _FilePart:
                    sent = os.sendfile(conn.fd, part.fd, part.offset, part.left)
                    if sent == 0:
                        raise OSError(errno.EIO, "the file ended before the length its answer announced")
                    progress = True
                    part.offset += sent
                    part.left -= sent
                    if part.left:
                        break  # the socket took what it could
                    os.close(out.popleft().fd)
                    continue
                views = []
                for piece in out:
                    if type(piece) is _FilePart or len(views) == _IOV:
                        break
                    views.append(piece)
                sent = conn.sock.sendmsg(views)
                whole = sent == sum(map(len, views))
                progress = progress or sent > 0
                conn.queued -= sent
                self.held -= sent
                while out and type(out[0]) is memoryview and sent >= len(out[0]):
                    sent -= len(out.popleft())
                if sent:
                    out[0] = out[0][sent:]
                if not whole:
                    break  # the socket took what it could
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop(conn)
            return
        if conn.room is not None and conn.queued < _STREAM_STEP:
            conn.room.set()
        if out:
            if progress:
                conn.deadline = time.monotonic() + self.send_timeout
            self._watch(conn, selectors.EVENT_WRITE)
        elif conn.state == _BUSY:  # a thread is still making the answer: the rest comes later
            self._watch(conn, 0)
        elif conn.close_after:
            self._close_gracefully(conn)
        else:
            self._keep(conn)

    def _keep(self, conn: _Conn) -> None:
        """Wait for the connection's next request, for ``keepalive`` seconds."""
        conn.start(_IDLE, time.monotonic() + self.cfg.keepalive)
        self._watch(conn, selectors.EVENT_READ)

    # ------------------------------------------------------------ the threads

    def enqueue_req(self, conn: _Conn) -> None:
        fs = self.tpool.submit(self.handle, conn)
        fs.add_done_callback(
            lambda fut: self.method_queue.defer(self._guarded, self.finish_request, conn, fut)
        )

    def handle(self, conn: _Conn) -> tuple[bool, list]:
        """Run one whole request in a thread: gunicorn's parser reads it from memory, and the app
        makes the answer, whose bytes go back to the loop. (keep alive, the bytes to write)"""
        req = None
        try:
            conn.parser = http.get_parser(self.cfg, [conn.request], conn.client)
            req = next(conn.parser)
            parts, keepalive = self.handle_request(req, conn)
            return self._keepalive_after(conn, keepalive), parts
        except (http.errors.NoMoreData, StopIteration) as exc:
            self.log.debug("Closing connection. %s", exc)
        except _Gone:
            self.log.debug("The client was let go while its answer was made.")
        except Exception as exc:
            page = _ErrorPage()
            self.handle_error(req, page, conn.client, exc)  # gunicorn's error page, for the loop to write
            return False, page.parts
        return False, []

    def handle_request(self, req: Any, conn: _Conn) -> tuple[list, bool]:
        """gunicorn's handle_request, with an _Answer: (the answer's bytes not yet handed on, keep alive)."""
        environ: dict = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            request_start = datetime.now()
            resp, environ = wsgi.create(
                req,
                conn.sock,
                conn.client,
                conn.server,
                self.cfg,
                response_class=_Answer,
                response_args=(self, conn),
            )
            environ["wsgi.multithread"] = True
            self.nr += 1
            if self.nr >= self.max_requests:
                if self.alive:
                    self.log.info("Autorestarting worker after current request.")
                    self.alive = False
                resp.force_close()
            if not self.alive or not self.cfg.keepalive:
                resp.force_close()
            respiter = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(respiter, environ["wsgi.file_wrapper"]):
                    resp.write_file(respiter)
                else:
                    for item in respiter:
                        resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - request_start)
                if hasattr(respiter, "close"):
                    respiter.close()
            return resp.parts, not resp.should_close()
        except _Gone:
            if resp is not None:
                _release(resp.parts)
            raise
        except (Exception, SystemExit):
            if resp is not None and resp.headers_sent:
                # Cut short once begun (a timeout abort is SystemExit): what was made goes out, and
                # the connection closes, as gunicorn does.
                self.log.exception("Error handling request")
                return resp.parts, False
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")

    def finish_request(self, conn: _Conn, fs: Any) -> None:
        """Back in the event loop once a thread is done with a connection: write its answer."""
        try:
            keepalive, parts = fs.result()
        except Exception:
            keepalive, parts = False, []
        conn.request, conn.parser = b"", None
        if conn.gone:  # given up meanwhile: now the socket can be closed
            _release(parts)
            if conn.state == _BUSY:
                conn.state = _WRITING
                self._close(conn)
            return
        self._start_writing(conn, parts, close=not (keepalive and self.alive))
        self._next(conn)


class _Answer(wsgi.Response):
    """gunicorn's HTTP/1 response, whose bytes the event loop writes, not the thread.

    An answer the app gives whole (the usual case: one bytes object) goes to the
    loop whole when the thread is done, without a copy. One the app gives piece
    by piece is handed on a MiB at a time (``_STREAM_STEP``), and the thread
    takes the next piece from the app only once the loop has less than a MiB of
    it left to write, so such an answer holds about two MiB however slowly its
    client reads. A file (a dump) goes to the loop as the file, sent with
    sendfile(2).
    """

    def __init__(self, req: Any, sock: Any, cfg: Any, worker: BoundedWorker, conn: _Conn) -> None:
        super().__init__(req, sock, cfg)
        self.worker, self.conn = worker, conn
        self.parts: list = []  # the bytes not handed on yet
        self.size = 0  # of them
        self.handed = False  # some went to the loop already

    def _put(self, data: bytes) -> None:
        if data:
            self.parts.append(memoryview(data))
            self.size += len(data)

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        head = self.default_headers()
        head.extend(f"{name}: {value}\r\n" for name, value in self.headers)
        self._put(("".join(head) + "\r\n").encode("latin-1"))
        self.headers_sent = True

    def _emit_body(self, data: bytes) -> None:
        if self.handed:
            self._wait_for_room()
        if self.chunked:
            self._put(b"%X\r\n" % len(data))
            self._put(data)
            self._put(b"\r\n")
        else:
            self._put(data)
        if self.size >= _STREAM_STEP:
            self._hand_on()

    def _hand_on(self) -> None:
        conn = self.conn
        if conn.room is None:
            conn.room = threading.Event()
        conn.room.clear()
        self.worker.method_queue.defer(self.worker._guarded, self.worker._feed, conn, self.parts)
        self.parts, self.size, self.handed = [], 0, True

    def _wait_for_room(self) -> None:
        conn = self.conn
        assert conn.room is not None
        while not conn.room.wait(1.0) and not conn.gone:
            pass
        if conn.gone:
            raise _Gone

    def close(self) -> None:
        if not self.headers_sent:
            self.send_headers()
        if self.chunked:
            self._put(b"0\r\n\r\n")

    def sendfile(self, respiter: Any) -> bool:
        if self.cfg.is_ssl or not self.can_sendfile() or not util.has_fileno(respiter.filelike):
            return False
        try:
            fileno = respiter.filelike.fileno()
            offset = os.lseek(fileno, 0, os.SEEK_CUR)
            length = (
                os.fstat(fileno).st_size - offset if self.response_length is None else self.response_length
            )
            fd = os.dup(fileno)  # the app closes its file when the thread is done; the loop sends from this
        except (OSError, io.UnsupportedOperation):
            return False  # then the file is read and handed on in pieces
        self.send_headers()
        if self._omits_body or length <= 0:
            os.close(fd)
            return True
        if self.chunked:
            self._put(b"%X\r\n" % length)
        self.parts.append(_FilePart(fd, offset, length))
        if self.chunked:
            self._put(b"\r\n")
        self.sent += length
        return True


class _ErrorPage:
    """Takes gunicorn's error page where gunicorn writes it to the client's socket, for the loop to
    write, with the security headers."""

    def __init__(self) -> None:
        self.parts: list[memoryview] = []

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        status, crlf, rest = bytes(data).partition(b"\r\n")
        if status.startswith(b"HTTP/") and crlf:
            data = status + crlf + _security_headers() + rest
        self.parts.append(memoryview(data))
