"""The Flask app factory: handed settings and (optionally) a built graph."""

from __future__ import annotations

import logging
import os
from urllib.parse import quote, urlencode

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from kg import formats
from kg.config import Settings
from kg.derivations import Derivations
from kg.engine import Engine
from kg.errors import KGError
from kg.queries import load_queries, resolve_values
from kg.store import KnowledgeGraph
from kg.web import (
    api,
    describe,
    dumps,
    entities,
    explain,
    explore,
    front,
    health,
    i18n,
    pages,
    safety,
    sparql,
)
from kg.web.answers import start_workers
from kg.web.reconcile import bp as reconcile_bp
from kg.web.response_cache import ResponseCache

__all__ = ["close_app", "create_app", "start_workers"]
BLUEPRINTS = (
    sparql.bp,
    describe.bp,
    api.bp,
    pages.bp,
    dumps.bp,
    entities.bp,
    explain.bp,
    front.bp,
    explore.bp,
    reconcile_bp,
    health.bp,
)


def create_app(settings: Settings | None = None, kg: KnowledgeGraph | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["KG_SETTINGS"] = settings
    # The graph lives on the app, not in a module global: each test builds its own. It is
    # reached only through the Engine: every query has the time limit, row cap and result cache.
    kg_ = kg if kg is not None else open_graph(settings)
    app.extensions["kg_engine"] = Engine(kg_, settings)
    # Opened now, with the store: one read-only connection (sqlite3 here is serialized, safe to
    # share), which keeps reading this build's file after a rebuild replaces it.
    app.extensions["kg_derivations"] = Derivations.open(kg_.build.derivations) if kg_.build else None

    # Loaded once; a bad query file stops start-up here, naming the file.
    app.extensions["kg_queries"] = resolve_values(load_queries(settings.queries_dir), kg_.instances)
    # Queries the pages use themselves (queries/internal/), not part of the public catalogue.
    app.extensions["kg_internal"] = load_queries(settings.queries_dir / "internal")

    app.config["MAX_CONTENT_LENGTH"] = settings.max_body  # werkzeug answers 413 beyond it
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.jinja_env.globals["t"] = i18n.t
    app.jinja_env.globals["switch_lang"] = i18n.switch
    app.context_processor(lambda: {"lang": i18n.current()})
    safety.install(app)  # CSP, nosniff, no framing; the `linkable` test for templates
    # Anyone may query from a browser; no credentials are ever involved.
    CORS(
        app,
        origins="*",
        send_wildcard=True,
        supports_credentials=False,
        max_age=86400,
        expose_headers=["ETag", "X-Cache", "X-Result-Truncated", "X-Result-Limit"],
        allow_headers=["Content-Type", "Accept", "Cache-Control", "If-None-Match"],
    )
    app.register_error_handler(KGError, _kg_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    # Outermost: a repeated GET of an answer is served without entering Flask at all.
    generation = getattr(kg_, "last_identity", None) if settings.engine_url else None
    app.wsgi_app = ResponseCache(  # type: ignore[method-assign]
        app.wsgi_app,
        settings.cache_bytes,
        generation=(lambda: kg_.last_identity) if generation is not None else None,
    )
    return app


def open_graph(settings: Settings) -> KnowledgeGraph:
    """The build's embedded store, or with ``engine_url`` the store it was published to (kg.remote),
    with the build folder's files (dumps, derivations) where this front end has them."""
    if not settings.engine_url:
        return KnowledgeGraph.open(settings.build)
    from kg.remote import RemoteGraph  # here: urllib3 and the remote module only when asked for

    local = settings.build if settings.build.exists() else None
    remote = RemoteGraph(settings, local)
    if local is not None and local.identity() != remote.identity:
        logging.getLogger(__name__).warning(
            "the store serves build %s; the dumps and explanations here are of build %s",
            remote.identity,
            local.identity(),
        )
    return remote  # type: ignore[return-value]  # the same face (kg.remote's docstring)


# Pages whose first answer is slow: the home page runs eight queries (4,000 events): 2.4 s cold,
# 0.2 s once their results are in the Engine's cache.
WARM = ("/",)


def warm(app: Flask, paths: tuple[str, ...] = WARM) -> None:
    """Ask the app for ``paths`` once, so that a visitor's first request finds the query processes
    started and the queries' results in the cache (``kg serve`` does it in each HTTP worker before
    it serves). A failure is logged, never raised: the server serves anyway."""
    client = app.test_client()
    # A client of its own, one per worker: the per-client query limit (shared by the workers) must
    # count it neither against a visitor from 127.0.0.1 (the test client's address) nor against
    # the other worker warming at the same time (each refused the other's queries: 503).
    alone = {"REMOTE_ADDR": f"kg-warm-up-{os.getpid()}"}
    for path in paths:
        try:
            status = client.get(path, headers={"Accept": "text/html"}, environ_overrides=alone).status_code
        except Exception:  # warming is an optimisation: log, and serve anyway
            app.logger.exception("warming %s failed", path)
            continue
        if status != 200:
            app.logger.warning("warming %s: HTTP %s", path, status)


def close_app(app: Flask) -> None:
    """Stop the query processes the app started itself (tests and embedders)."""
    app.extensions.pop("kg_pool", None)
    app.extensions.pop("kg_processes", None)
    app.extensions["kg_engine"].close()
    closing = getattr(app.extensions["kg_engine"].kg, "close", None)
    if closing is not None:  # a remote store's pool, refresher and checker (kg.remote)
        closing()
    derivations = app.extensions.pop("kg_derivations", None)
    if derivations is not None:
        derivations.close()


def _error(status: int, message: str) -> Response:
    """JSON ``{"error", "status"}`` for API clients (curl's */* too); a page for browsers."""
    if _wants_page():
        response = Response(_error_page(status, message), mimetype=formats.HTML.media_type)
    else:
        response = jsonify({"error": message, "status": status})
    response.status_code = status
    response.vary.add("Accept")
    return response


def _wants_page() -> bool:
    """The results negotiation (kg.formats) picks HTML: a browser's Accept, or format=html."""
    accept = request.headers.get("Accept", "")
    chosen = formats.negotiate_header("results", accept, tuple(request.args.getlist("format")))
    return chosen == formats.HTML.media_type


def _error_page(status: int, message: str) -> str:
    """The message and a way back: the query editor holding the query, the form, or the home page."""
    back: list[tuple[str, str]] = []
    query = request.args.get("query")
    if query is None and request.method == "POST" and status not in (413, 415):
        try:  # a form POST from the editor (unless kg.protocol has read its body already)
            query = request.form.get("query")
        except Exception:
            query = None
    if query:
        back.append(("/editor#" + urlencode({"query": query[:16384]}), "Edit the query"))
    name = request.path.removeprefix("/api/queries/").partition(".")[0]
    if request.path.startswith("/api/queries/") and name in current_app.extensions["kg_queries"]:
        given = request.query_string.decode("utf-8", "replace")
        back.append((f"/queries/{quote(name)}" + (f"?{given}" if given else ""), "Back to the form"))
    back.append(("/", "Home page"))
    return render_template(
        "error.html", status=status, title=HTTP_STATUS_CODES.get(status, "Error"), message=message, back=back
    )


def _kg_error(exc: KGError) -> Response:
    response = _error(exc.status, exc.message)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _http_error(exc: HTTPException) -> Response:
    response = _error(exc.code or 500, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _server_error(exc: Exception) -> Response:
    # A bug, not bad input: log it with its traceback, show the client no internals.
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return _error(500, "Internal server error; the server log has the details.")
