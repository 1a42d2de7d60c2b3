"""Repeat GETs answered before Flask: a response cache at the WSGI edge.

The data never changes while served, so a GET for the same URL with the same
negotiated headers gets the same answer. ``answers.respond`` already caches
results by job (whatever way the query came: GET, POST, another spelling), but
reaching it costs a trip through Flask: routing, parameter decoding, content
negotiation, CORS, about 0.4 ms. A repeated canned query on a small graph is
answered by Oxigraph in less than that. So the finished response (status,
headers, body) of every answer ``respond`` marks as storable is kept here,
keyed the way an HTTP cache keys it (RFC 9111: the URL, plus the headers the
answer varies on), and a repeat is answered from here. ``kg serve``'s HTTP
worker looks answers up here itself (``lookup``), before a request reaches a
thread or the WSGI layer at all.

Only GETs are served from here. A request with ``Cache-Control: no-cache`` or
``Pragma: no-cache`` goes through the app, is evaluated again, and its answer
replaces the stored one; one with ``If-None-Match`` (revalidation, answered 304
by ``respond``) goes through the app.

The size this cache (and the result cache, ``KeyedLRUCache``) counts is what it
holds: keys, status, headers and bodies. A key over ``MAX_KEY`` bytes (a long
URL, a large header the answer varies on) is not stored at all, so padding a
request cannot make one small answer take up much of the cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any

from kg.cache import MAX_KEY, KeyedLRUCache

STORABLE = "kg.storable"  # set in the WSGI environ by the view whose answer may be stored

ENTRY_OVERHEAD = 512  # bytes counted per entry for the objects around its strings

# Everything in the request that the stored answers depend on: the URL, and the
# headers they vary on (Accept; Origin for CORS). ``ResponseCache.key`` takes them in this order.
_KEY = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_HOST",
    "wsgi.url_scheme",
    "HTTP_ACCEPT",
    "HTTP_ORIGIN",
)
# Connection-level headers an HTTP server writes itself: never replayed from here.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer"}
    | {"transfer-encoding", "upgrade", "server", "date"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """A finished answer: what start_response got, the body, and the headers as written on the wire."""

    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    wire: bytes  # "Name: value\r\n" for every header but the hop-by-hop ones, latin-1

    @property
    def size(self) -> int:
        return (
            len(self.status)
            + sum(len(k) + len(v) + 4 for k, v in self.headers)
            + len(self.body)
            + len(self.wire)
        )


class ResponseCache:
    """WSGI middleware: stores marked 200 answers to GETs, answers repeats with ``X-Cache: hit``."""

    def __init__(
        self,
        app: Callable,
        max_bytes: int,
        max_key: int = MAX_KEY,
        generation: Callable[[], str] | None = None,
    ) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._stored = KeyedLRUCache(max_bytes, lambda s: s.size + ENTRY_OVERHEAD, max_key)
        # What the stored answers are of (a remote store's build identity, kg.remote): when it
        # changes, everything stored is dropped. None: the data never changes while served.
        self._generation = generation
        self._seen = generation() if generation is not None else ""

    def _current(self) -> str:
        """The generation now; a change empties the cache (under the lock)."""
        if self._generation is None:
            return ""
        now = self._generation()
        if now != self._seen:
            self._stored.clear()
            self._seen = now
        return now

    @staticmethod
    def key(*parts: str | None) -> tuple:
        """The key of a request from its SCRIPT_NAME, PATH_INFO, QUERY_STRING, Host, URL scheme,
        Accept and Origin (None: no such header), as the WSGI environ gives them."""
        return parts

    def lookup(self, key: tuple) -> Stored | None:
        with self._lock:
            self._current()
            return self._stored.get(key)

    @property
    def size(self) -> int:
        """The bytes counted for everything stored (keys, headers, bodies): at most the bound."""
        return self._stored.currsize

    def __len__(self) -> int:
        return len(self._stored)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_IF_NONE_MATCH"):
            return self.app(environ, start_response)
        key = tuple(environ.get(name) for name in _KEY)
        # no-cache: evaluated again, and that answer replaces the stored one.
        fresh = any("no-cache" in environ.get(h, "") for h in ("HTTP_CACHE_CONTROL", "HTTP_PRAGMA"))
        stored = None if fresh else self.lookup(key)
        if stored is not None:
            start_response(stored.status, list(stored.headers))
            return [stored.body]
        with self._lock:
            generation = self._current()
        seen: list = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        if not (environ.get(STORABLE) and seen and seen[0].startswith("200 ")):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = tuple((k, "hit" if k.lower() == "x-cache" else v) for k, v in seen[1])
        wire = "".join(f"{k}: {v}\r\n" for k, v in headers if k.lower() not in _HOP_BY_HOP)
        with contextlib.suppress(UnicodeEncodeError):
            entry = Stored(seen[0], headers, body, wire.encode("latin-1"))
            # ValueError: a key over the limit, or larger than the whole cache: simply not kept.
            with self._lock, contextlib.suppress(ValueError):
                if self._current() == generation:  # not an answer of a build no longer served
                    self._stored[key] = entry
        return [body]
