"""What the views share, so that no view imports another.

The app's settings and canned queries, the request's protocol parameters,
where this server answers an IRI (from the settings' base IRI, the only one
the web layer knows), and pages rendered in the chosen language.
"""

from __future__ import annotations

from flask import Response, current_app, make_response, render_template, request
from werkzeug.datastructures import MultiDict

from kg import iris, protocol
from kg.config import Settings
from kg.errors import NotFound
from kg.queries import CannedQuery
from kg.web import i18n


def settings() -> Settings:
    return current_app.config["KG_SETTINGS"]


def registry() -> dict[str, CannedQuery]:
    """The public canned queries (queries/), loaded once at start-up."""
    return current_app.extensions["kg_queries"]


def internal(name: str) -> CannedQuery:
    """A query the pages use themselves (queries/internal/), loaded once at start-up."""
    return current_app.extensions["kg_internal"][name]


def lookup(name: str) -> CannedQuery:
    query = registry().get(name)
    if query is None:
        raise NotFound(f"no canned query named {name!r}; see /api/queries")
    return query


def request_params() -> MultiDict:
    """The protocol parameters of this request (URL and body), decoded strictly (kg.protocol)."""
    return protocol.read_params(
        request.query_string,
        request.method,
        request.headers.get("Content-Type", ""),
        lambda: request.get_data(cache=False),  # over MAX_CONTENT_LENGTH: werkzeug answers 413
        settings().max_body,
    )


def id_space() -> str:
    """Where this server's resources live: ``{base_iri}id/``, served at /id/…."""
    return iris.id_space(settings().base_iri)


def vocabulary() -> str:
    """The ontology's namespace, ``{base_iri}ontology#``, whose terms are served at /ontology/…."""
    return iris.vocabulary(settings().base_iri)


def local_path(iri: str) -> str | None:
    """The path this server answers an IRI at, or None for an outside IRI."""
    for space, path in ((id_space(), "/id/"), (vocabulary(), "/ontology/")):
        if iri.startswith(space):
            return path + iri[len(space) :]
    return None


def page(template: str, **context) -> Response:
    """An HTML page in the chosen language (a language chosen with ?lang= is remembered)."""
    lang = i18n.current()
    response = make_response(render_template(template, lang=lang, **context))
    return i18n.remember(response)
