"""The HTTP worker of `kg serve`: gunicorn's threaded worker behind an event loop that reads requests.

The HTTP workers are gunicorn workers of our own class, ``BoundedWorker``: an
event loop reads each request, head and body, before a thread sees it, so a
slow or idle client holds a few kilobytes and no thread. The limits are
checked there on the bytes as they arrive: the URL (``max_body``, 414), the
header section (``max_header_bytes``, 431), the body (``max_body``, 413), the
time to send a request head and a body (``header_timeout``,
``body_timeout``: 408, or a silent close if nothing came), and the
connections a worker holds (``max_connections``). A repeated GET whose answer
the response cache holds is answered by the event loop itself.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import socket
import time
import urllib.parse
from typing import Any

from gunicorn import SERVER, http, util
from gunicorn.workers.gthread import ThreadWorker

from kg.config import Settings

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
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


class _Conn:
    """One client connection as BoundedWorker's event loop sees it (``sock``, ``client``,
    ``server`` and ``parser`` are what gunicorn's request handling reads)."""

    __slots__ = (
        "body_end",
        "buf",
        "chunk",
        "client",
        "close_after",
        "deadline",
        "events",
        "fast",
        "fd",
        "head_end",
        "line_end",
        "out",
        "parser",
        "request",
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
        self.server = server
        self.parser: Any = None
        self.buf = bytearray()
        self.events = 0  # what the poller watches the socket for (0: not registered)
        self.request = b""  # a whole request, handed to a thread
        self.out: list[memoryview] = []  # what is left to write of an answer the loop writes itself
        self.start(_HEAD, 0.0)

    def start(self, state: int, deadline: float) -> None:
        """Wait for a (next) request."""
        self.state, self.deadline = state, deadline
        self.scanned = 0  # how far buf was searched for the end of the head
        self.line_end = -1  # where the request line ends in buf, once known
        self.target_end = -1  # where the URL ends in buf, once known
        self.head_end = self.body_end = 0  # where the head and body end in buf, once known
        self.chunk: tuple[int, int] | None = None  # chunked body: (next chunk-size line, data so far)
        self.fast: tuple | None = None  # (request line parts, fields) of a request the cache may answer
        self.close_after = False

    def close(self, graceful: bool = False) -> None:  # gunicorn's interface; the loop closes its own way
        util.close(self.sock)


class _Refuse(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _chunked_end(buf: bytearray, pos: int, total: int, limit: int) -> tuple[int, int, int]:
    """Scan a chunked body from the chunk-size line at ``pos`` with ``total`` data bytes before it:
    (where the body ends after its trailers or -1 if not all there yet, where to go on, the total).
    Raises _Refuse when the data exceed ``limit``. A malformed body ends where the bytes stop
    (gunicorn's parser then refuses it)."""
    while True:
        eol = buf.find(b"\r\n", pos, pos + 1024)
        if eol < 0:
            return (len(buf) if len(buf) - pos >= 1024 else -1), pos, total
        try:
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip(b" \t"), 16)
        except ValueError:
            return len(buf), pos, total
        if size < 0:
            return len(buf), pos, total
        if total + size > limit:
            raise _Refuse(413, f"the request body is over the limit of {limit} bytes")
        if size == 0:
            end = buf.find(_HEAD_END, eol)
            return (-1 if end < 0 else end + 4), pos, total
        if eol + 2 + size + 2 > len(buf):
            return -1, pos, total
        pos, total = eol + 2 + size + 2, total + size


class BoundedWorker(ThreadWorker):
    """gunicorn's threaded worker, with an event loop that reads whole requests before a thread runs one.

    gunicorn 27's gthread worker hands a new connection to a thread at once;
    the thread waits up to 5 s for a first byte, then reads the request head
    and body with blocking reads and no time limit, so 16 clients sending a
    header line a second held every thread of both workers. Here the event
    loop (the worker's main thread) reads requests without blocking, checks
    every limit on the bytes as they come, and hands a thread only a complete
    request, which gunicorn's parser then reads from memory. A GET whose answer
    the response cache holds is answered by the loop itself. Threads run the
    app and write its answer; a write waits at most ``send_timeout``.
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
        self.conns: dict[int, _Conn] = {}
        self.cache: Any = None  # the app's response cache, for the answers the loop writes itself
        self._date = (0, b"")

    def load_wsgi(self) -> None:
        super().load_wsgi()
        from kg.web.response_cache import ResponseCache

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
        self.set_accept_enabled(True)
        next_sweep = 0.0
        while self.alive:
            self.notify()
            can_accept = self.nr_conns < self.worker_connections
            if can_accept != self._accepting:
                self.set_accept_enabled(can_accept)
            self._dispatch(0.25)
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
            self._close(conn)
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
                self._on_event(key.data)
            else:
                key.data(key.fileobj)

    def _sweep(self, now: float) -> None:
        """Close the connections whose time is up: idle, too slow sending a request or reading an answer."""
        for conn in [c for c in self.conns.values() if c.state != _BUSY and c.deadline <= now]:
            if conn.state in (_HEAD, _BODY) and conn.buf:  # it had begun a request
                self._refuse(conn, 408, "the request did not arrive in time")
            else:
                self._close(conn)

    def accept(self, listener: socket.socket) -> None:
        for _ in range(64):
            if self.nr_conns >= self.worker_connections:
                return
            try:
                sock, client = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            sock.setblocking(False)
            self.nr_conns += 1
            conn = _Conn(sock, client, listener.getsockname())
            conn.deadline = time.monotonic() + self.header_timeout
            self.conns[conn.fd] = conn
            self._watch(conn, selectors.EVENT_READ)

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
        if conn.state == _CLOSED:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._watch(conn, 0)
        self.conns.pop(conn.fd, None)
        conn.state, conn.buf, conn.out = _CLOSED, bytearray(), []
        self.nr_conns -= 1
        util.close(conn.sock)

    def _close_gracefully(self, conn: _Conn) -> None:
        """Send FIN, then read and drop what the client still sends, briefly: closing with unread
        data would send a reset, which can destroy the answer before the client has read it."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        conn.buf, conn.out = bytearray(), []
        conn.start(_CLOSING, time.monotonic() + _LINGER)
        self._watch(conn, selectors.EVENT_READ)

    def _on_event(self, conn: _Conn) -> None:
        if conn.state == _CLOSED:  # closed earlier in this round of events
            return
        if conn.state == _WRITING:
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
            except _Refuse as refusal:
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
        """Check the head so far against the limits; once it is whole, frame the body. True: whole."""
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
                raise _Refuse(414, f"the URL is over the limit of {self.max_url} bytes")
            conn.scanned = line
            if conn.line_end < 0:
                return False
        end = buf.find(_HEAD_END, max(conn.line_end, conn.scanned - 3))
        if (end if end >= 0 else len(buf)) - conn.line_end > self.max_header:
            raise _Refuse(431, f"the request's headers are over the limit of {self.max_header} bytes")
        if end < 0:
            conn.scanned = len(buf)
            return False
        conn.head_end = conn.body_end = end + 4
        lines = bytes(buf[:end]).split(b"\r\n")
        parts = lines[0].split(b" ")
        fields: list[tuple[bytes, bytes]] = []
        plain = len(parts) == 3
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name[-1:] in b" \t" or line[:1] in b" \t":
                plain = False  # malformed or folded: gunicorn's parser answers it
                continue
            fields.append((name.lower(), value.strip(b" \t")))
        lengths = [v for n, v in fields if n == b"content-length"]
        codings = [v for n, v in fields if n == b"transfer-encoding"]
        conn.state = _BODY
        if codings:
            if lengths or codings[-1].rsplit(b",", 1)[-1].strip(b" \t").lower() != b"chunked":
                conn.close_after = True  # gunicorn refuses it; nothing after it on this connection is read
            else:
                conn.chunk = (conn.head_end, 0)
                conn.deadline = time.monotonic() + self.body_timeout
        elif lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                conn.close_after = True
            elif int(lengths[0]) > self.max_body:
                raise _Refuse(413, f"the request body is over the limit of {self.max_body} bytes")
            else:
                conn.body_end = conn.head_end + int(lengths[0])
                conn.deadline = time.monotonic() + self.body_timeout
        if conn.body_end > conn.head_end or conn.chunk is not None:
            if any(n == b"expect" and v.lower() == b"100-continue" for n, v in fields):
                # Answered here (gunicorn would answer again): the line goes, and the client sends its body.
                head = b"\r\n".join(ln for ln in lines if not ln.lower().startswith(b"expect:")) + _HEAD_END
                shift = len(head) - conn.head_end
                buf[: conn.head_end] = head
                conn.head_end += shift
                conn.body_end += shift
                if conn.chunk is not None:
                    conn.chunk = (conn.head_end, 0)
                with contextlib.suppress(OSError):
                    conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        elif plain and self.cache is not None:
            conn.fast = (parts, fields)
        return True

    def _read_body(self, conn: _Conn) -> bool:
        if conn.chunk is None:
            return len(conn.buf) >= conn.body_end
        end, pos, total = _chunked_end(conn.buf, *conn.chunk, self.max_body)
        conn.chunk = (pos, total)
        if end >= 0:
            conn.body_end = end
            return True
        if len(conn.buf) - conn.head_end > 2 * self.max_body + 65536:  # framing of tiny chunks
            raise _Refuse(413, f"the request body is over the limit of {self.max_body} bytes")
        return False

    # ------------------------------------------------------------ answers the loop writes itself

    def _answer_from_cache(self, conn: _Conn, parts: list[bytes], fields: list[tuple[bytes, bytes]]) -> bool:
        """Answer a GET whose answer the response cache holds, as gunicorn would have. False: not here."""
        method, target, version = parts
        if method != b"GET" or version != b"HTTP/1.1" or target[:1] != b"/" or target[:2] == b"//":
            return False
        if b"#" in target:
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
        """Answer a request the limits refuse as the app answers errors (JSON, CORS), and close."""
        body = json.dumps({"error": message, "status": status}).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nServer: {SERVER}\r\nDate: {util.http_date()}\r\n"
            f"Connection: close\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Access-Control-Allow-Origin: *\r\n\r\n"
        ).encode()
        self._start_writing(conn, [memoryview(head + body)], close=True)

    def _start_writing(self, conn: _Conn, out: list[memoryview], close: bool) -> None:
        conn.out, conn.close_after = out, close
        conn.state, conn.deadline = _WRITING, time.monotonic() + self.send_timeout
        self._write(conn)

    def _write(self, conn: _Conn) -> None:
        try:
            sent = conn.sock.sendmsg(conn.out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(conn)
            return
        while conn.out and sent >= len(conn.out[0]):
            sent -= len(conn.out.pop(0))
        if conn.out:
            conn.out[0] = conn.out[0][sent:]
            self._watch(conn, selectors.EVENT_WRITE)
        elif conn.close_after:
            self._close_gracefully(conn)
        else:
            self._keep(conn)

    def _keep(self, conn: _Conn) -> None:
        """Wait for the connection's next request, for ``keepalive`` seconds."""
        conn.start(_IDLE, time.monotonic() + self.cfg.keepalive)
        self._watch(conn, selectors.EVENT_READ)

    # ------------------------------------------------------------ the threads

    def handle(self, conn: _Conn) -> bool:
        """Run one whole request in a thread: gunicorn's parser reads it from memory. True: keep alive."""
        req = None
        try:
            conn.sock.settimeout(self.send_timeout)  # blocking, but a client that does not read is let go
            conn.parser = http.get_parser(self.cfg, [conn.request], conn.client)
            req = next(conn.parser)
            keepalive = self._keepalive_after(conn, self.handle_request(req, conn))
            return keepalive and not conn.close_after
        except (http.errors.NoMoreData, StopIteration) as exc:
            self.log.debug("Closing connection. %s", exc)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN) and not isinstance(
                exc, TimeoutError
            ):
                self.log.exception("Socket error processing request.")
        except Exception as exc:
            self.handle_error(req, conn.sock, conn.client, exc)
        return False

    def finish_request(self, conn: _Conn, fs: Any) -> None:
        """Back in the event loop once a thread is done with a connection."""
        try:
            keepalive = fs.result() if not fs.cancelled() else False
        except Exception:
            keepalive = False
        conn.request, conn.parser = b"", None
        if conn.state == _CLOSED:
            return
        if not keepalive or not self.alive:
            self._close_gracefully(conn)
            return
        conn.sock.setblocking(False)
        self._keep(conn)
        self._next(conn)
