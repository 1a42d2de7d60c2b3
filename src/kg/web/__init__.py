"""The Flask app factory: handed settings and (optionally) a built graph."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from kg.config import Settings
from kg.errors import KGError
from kg.store import KnowledgeGraph


def create_app(settings: Settings | None = None, kg: KnowledgeGraph | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["KG_SETTINGS"] = settings
    # The graph lives on the app, not in a module global: each test builds its own.
    app.extensions["kg"] = kg if kg is not None else KnowledgeGraph.from_artifact(settings.artifact)

    from kg.web.sparql import bp as sparql_bp

    app.register_blueprint(sparql_bp)
    app.register_error_handler(KGError, _kg_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    return app


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response


def _kg_error(exc: KGError) -> Response:
    return _error(exc.status, exc.message)


def _http_error(exc: HTTPException) -> Response:
    response = _error(exc.code or 500, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _server_error(exc: Exception) -> Response:
    # A bug, not bad input: log it with its traceback, show the client no internals.
    from flask import current_app

    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return _error(500, "Internal server error; the server log has the details.")
