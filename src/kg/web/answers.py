"""From a Job to an HTTP response: cache, ETag/304, worker pool, headers.

Shared by /sparql and the canned-query API so both have the same formats,
limits, caching and error behaviour.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading

from cachetools import LRUCache
from flask import Flask, Response, current_app, render_template, request

from kg.config import Settings
from kg.execute import Answer, Job, execute
from kg.store import KnowledgeGraph
from kg.web.response_cache import STORABLE
from kg.workers import QueryClient, QueryProcesses

_LOCK = threading.Lock()


def pool(app: Flask) -> QueryClient | None:
    """The app's way to the query processes: those ``kg serve`` started, or its own, started now."""
    settings: Settings = app.config["KG_SETTINGS"]
    kg: KnowledgeGraph = app.extensions["kg"]
    if "kg_pool" in app.extensions:
        return app.extensions["kg_pool"]
    if settings.query_workers <= 0 or kg.source is None:
        return None
    with _LOCK:
        if "kg_pool" not in app.extensions:
            processes = QueryProcesses(kg.source, settings.query_workers, settings.max_rows)
            app.extensions["kg_processes"] = processes  # the app owns them: close_app() stops them
            app.extensions["kg_pool"] = QueryClient(processes.address)
    return app.extensions["kg_pool"]


def _cache(app: Flask) -> LRUCache:
    with _LOCK:
        if "kg_cache" not in app.extensions:
            size = app.config["KG_SETTINGS"].cache_bytes
            app.extensions["kg_cache"] = LRUCache(maxsize=size, getsizeof=lambda a: len(a.body) + 256)
    return app.extensions["kg_cache"]


def evaluate(job: Job) -> Answer:
    """Run a job in a worker process (with the time limit), or in-process if there are none."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings: Settings = app.config["KG_SETTINGS"]
    workers = pool(app)
    if workers is None:
        return execute(app.extensions["kg"], job, settings.max_rows)
    # Under gunicorn the client's socket is at hand: a query whose client has left is stopped.
    return workers.run(job, settings.query_timeout, watch=request.environ.get("gunicorn.socket"))


def respond(job: Job) -> Response:
    """The HTTP answer to a job, with validators; cached answers skip evaluation."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    kg: KnowledgeGraph = app.extensions["kg"]
    key = (kg.identity, job)
    etag = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]
    if etag in request.if_none_match:
        return _headers(Response(status=304), etag)
    cache = _cache(app)
    fresh = "no-cache" in request.headers.get("Cache-Control", "") or "no-cache" in request.headers.get(
        "Pragma", ""
    )
    with _LOCK:
        answer = None if fresh else cache.get(key)
    hit = answer is not None
    if answer is None:
        answer = evaluate(job)
        if answer.media_type != "text/html":  # HTML pages are rendered per request
            # ValueError: larger than the whole cache, so it is simply not kept.
            with _LOCK, contextlib.suppress(ValueError):
                cache[key] = answer
    if answer.media_type == "text/html":
        body = render_template(
            "results.html",
            answer=answer,
            query=job.query,
            limit=app.config["KG_SETTINGS"].max_rows,
        )
        response = Response(body, mimetype="text/html")
    else:
        response = Response(answer.body, mimetype=answer.media_type)
        request.environ[STORABLE] = True  # the same URL and headers always get this answer
    response.headers["X-Cache"] = "hit" if hit else "miss"
    if answer.truncated:
        response.headers["X-Result-Truncated"] = "true"
        response.headers["X-Result-Limit"] = str(app.config["KG_SETTINGS"].max_rows)
    return _headers(response, etag)


def _headers(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    # The data never changes while served, but a rebuild changes the ETag: revalidate.
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    response.vary.add("Accept")
    return response
