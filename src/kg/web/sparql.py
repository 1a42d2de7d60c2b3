"""Step 5a, serve: /sparql, the SPARQL 1.1 Protocol for queries (read-only).

GET ?query=, POST form, POST application/sparql-query; default-graph-uri and
named-graph-uri; answers negotiated from Accept or format=. GET with no query
answers the HTML query page to browsers and the Service Description to RDF
clients. The protocol itself (parameters, checks, formats) is kg.protocol.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from kg import formats, protocol, void
from kg.namespaces import sparql_prologue
from kg.web import i18n
from kg.web.answers import engine, rdf_response, respond
from kg.web.page_helpers import request_params, settings
from kg.web.response_cache import STORABLE

bp = Blueprint("sparql", __name__)


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    params = request_params()
    query = protocol.query_text(params, request.method)
    if query is None:
        return _describe_or_page()
    from_header: list[bool] = []  # whether [AUTO_LANGUAGE] was taken from Accept-Language

    def language() -> str:
        """The request's language, for [AUTO_LANGUAGE]: ?lang=, else the best match of
        Accept-Language among the pages' languages, else English."""
        if params.get("lang"):
            return params["lang"]
        from_header.append(True)
        return request.accept_languages.best_match(i18n.LANGS) or "en"

    job = protocol.build_job(
        query, params, request.headers, settings(), request.base_url, auto_language=language
    )
    response = respond(job)
    if from_header:
        # The answer depends on a header the response cache does not key on: never stored there.
        response.vary.add("Accept-Language")
        request.environ[STORABLE] = False
    return response


def _describe_or_page() -> Response:
    # Browsers prefer text/html; RDF clients and */* get the Service Description.
    page, rdf = formats.HTML.media_type, next(iter(formats.GRAPH))
    if request.accept_mimetypes[page] > request.accept_mimetypes[rdf]:
        # The form's formats: the HTML table first, as the default.
        choices = sorted(formats.RESULTS.values(), key=lambda f: f is not formats.HTML)
        body = render_template("sparql.html", prologue=sparql_prologue(), formats=choices)
        return Response(body, mimetype=page)
    kg = engine().kg  # triples per graph: metadata, not SPARQL
    counts = {name: kg.count(name) for name in void.GRAPHS}
    return rdf_response(void.service_description(request.base_url, len(kg), counts))
