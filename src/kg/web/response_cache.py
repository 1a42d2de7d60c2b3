"""Repeat GETs answered before Flask: a response cache at the WSGI edge.

The data never changes while served, so a GET for the same URL with the same
negotiated headers gets the same answer. ``answers.respond`` already caches
results by job (whatever way the query came: GET, POST, another spelling), but
reaching it costs a trip through Flask: routing, parameter decoding, content
negotiation, CORS, about 0.4 ms. A repeated canned query on a small graph is
answered by Oxigraph in less than that. So the finished response (status,
headers, body) of every answer ``respond`` marks as storable is kept here,
keyed the way an HTTP cache keys it (RFC 9111: the URL, plus the headers the
answer varies on), and a repeat is answered from here.

Only GETs are served from here. A request with ``Cache-Control: no-cache`` or
``Pragma: no-cache`` goes through the app, is evaluated again, and its answer
replaces the stored one; one with ``If-None-Match`` (revalidation, answered 304
by ``respond``) goes through the app.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cachetools import LRUCache

STORABLE = "kg.storable"  # set in the WSGI environ by the view whose answer may be stored

# Everything in the request that the stored answers depend on: the URL, and the
# headers they vary on (Accept; Origin for CORS).
_KEY = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_HOST",
    "wsgi.url_scheme",
    "HTTP_ACCEPT",
    "HTTP_ORIGIN",
)


class ResponseCache:
    """WSGI middleware: stores marked 200 answers to GETs, answers repeats with ``X-Cache: hit``."""

    def __init__(self, app: Callable, max_bytes: int) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._stored: LRUCache = LRUCache(maxsize=max_bytes, getsizeof=lambda r: len(r[2]) + 512)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_IF_NONE_MATCH"):
            return self.app(environ, start_response)
        key = tuple(environ.get(name) for name in _KEY)
        # no-cache: evaluated again, and that answer replaces the stored one.
        fresh = any("no-cache" in environ.get(h, "") for h in ("HTTP_CACHE_CONTROL", "HTTP_PRAGMA"))
        with self._lock:
            stored = None if fresh else self._stored.get(key)
        if stored is not None:
            start_response(stored[0], list(stored[1]))
            return [stored[2]]
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
        headers = [(k, "hit" if k.lower() == "x-cache" else v) for k, v in seen[1]]
        # ValueError: larger than the whole cache, so it is simply not kept.
        with self._lock, contextlib.suppress(ValueError):
            self._stored[key] = (seen[0], tuple(headers), body)
        return [body]
