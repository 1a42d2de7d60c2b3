"""From a Job to an HTTP response: ETag/304, headers, X-Cache; the Engine evaluates.

Shared by /sparql and the canned-query API so both have the same formats,
limits, caching and error behaviour. Pages reach the graph the same way
(``page_rows``): every query goes through the app's Engine (kg.engine), with
its time limit, row cap and result cache. ``rdf_response`` answers the
endpoint's descriptions (VoID, Service Description) in the negotiated format.
"""

from __future__ import annotations

import hashlib

from flask import Flask, Response, current_app, render_template, request
from rdflib import Graph

from kg import queries, void
from kg.engine import Engine, Rows
from kg.execute import Answer, Job
from kg.formats import HTML, negotiate
from kg.queries import CannedQuery
from kg.web.response_cache import STORABLE


def start_workers(app: Flask, address: str | None = None) -> None:
    """Send the app's queries to the query processes at ``address`` (started once by ``kg serve``
    for all its gunicorn workers), or, without one, start the app's own now rather than at the
    first query."""
    found: Engine = app.extensions["kg_engine"]
    found.start(address)
    # Also under these names, for diagnostics and tests (None: queries run in-process).
    app.extensions["kg_pool"] = found.client
    app.extensions["kg_processes"] = found.processes


def engine() -> Engine:
    """The app's Engine: the only way a view reaches the store."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "kg_pool" not in app.extensions:  # the first query: start the query processes, unless kg serve did
        start_workers(app)
    return app.extensions["kg_engine"]


def caller() -> dict:
    """On whose behalf a view's queries run: the client's address, and its socket under gunicorn."""
    # Under gunicorn the client's socket is at hand: a query whose client has left is stopped.
    watch = request.environ.get("gunicorn.socket")
    return {"watch": watch, "client_id": request.remote_addr}


def evaluate(job: Job) -> Answer:
    """Run a job for this request (with the time limit and the row cap); cached answers are reused."""
    return engine().run(job, **caller())[0]


def page_rows(
    query: CannedQuery,
    params: dict[str, str] | None = None,
    *,
    max_rows: int | None = None,
    infer: bool = True,
) -> Rows:
    """The rows a page shows: ``query`` with ``params`` bound; the row cap unless it declares ``max_rows``."""
    bindings = queries.bindings(query, params or {})
    return engine().rows(query.text, bindings=bindings, infer=infer, max_rows=max_rows, **caller())


def respond(job: Job) -> Response:
    """The HTTP answer to a job, with validators; cached answers skip evaluation."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = engine()
    etag = hashlib.sha256(repr(found.key(job)).encode("utf-8")).hexdigest()[:32]
    if etag in request.if_none_match:
        return _headers(Response(status=304), etag)
    fresh = "no-cache" in request.headers.get("Cache-Control", "") or "no-cache" in request.headers.get(
        "Pragma", ""
    )
    answer, hit = found.run(job, fresh=fresh, **caller())
    if answer.media_type == HTML.media_type:
        body = render_template(
            "results.html",
            answer=answer,
            query=job.query,
            limit=app.config["KG_SETTINGS"].max_rows,
        )
        response = Response(body, mimetype=HTML.media_type)
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


def rdf_response(graph: Graph) -> Response:
    """A description graph in the RDF format the client asked for (Accept or format=), the same
    bytes in every replica (kg.void.write): its strong ETag is their hash, and a client that
    holds them gets a 304."""
    choice = negotiate("graph", request.accept_mimetypes, request.args.getlist("format"), html=False)
    body = void.write(graph, choice)
    response = Response(body, mimetype=choice.media_type)
    # The hash of the bytes themselves: they hang on the build, the request's URL, the settings'
    # base IRI and the format, and a key made of those would have to name them all.
    _headers(response, hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)
