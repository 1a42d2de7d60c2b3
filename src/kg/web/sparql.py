"""Step 5a, serve: /sparql, the SPARQL 1.1 Protocol for queries (read-only).

GET ?query=, POST form, POST application/sparql-query; default-graph-uri and
named-graph-uri; answers negotiated from Accept or format=. GET with no query
answers the HTML query page to browsers and the Service Description to RDF
clients.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from kg import guard
from kg.config import Settings
from kg.errors import BadRequest, Forbidden, NotAcceptable
from kg.execute import Job
from kg.formats import Kind, negotiate_header
from kg.namespaces import sparql_prologue
from kg.web.answers import respond
from kg.web.describe import rdf_response, service_description
from kg.web.protocol import read_params

bp = Blueprint("sparql", __name__)

FORMAT_PARAMS = ("format", "output", "results")


def flag(values, name: str, default: bool) -> bool:
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"true", "1", "yes", "on"}:
        return True
    if raw.lower() in {"false", "0", "no", "off"}:
        return False
    raise BadRequest(f"parameter {name!r} must be true or false, not {raw!r}")


def format_values(params) -> list[str]:
    return [v for name in FORMAT_PARAMS for v in params.getlist(name) if v]


def choose(kind: Kind, asked: list[str]) -> str | None:
    """The negotiated media type for one result kind, or None when nothing acceptable fits it."""
    return negotiate_header(kind, request.headers.get("Accept", ""), tuple(asked))


def build_job(query: str, params, settings: Settings, bindings: tuple = ()) -> Job:
    """Check a query and its protocol parameters; the formats for either kind of answer."""
    query = guard.normalise(query)  # the engine runs exactly the text the guard checked
    base_iri = request.base_url
    scan = guard.check(
        query, settings.max_query_length, settings.max_depth, settings.service_allowlist, base_iri
    )
    asked = format_values(params)
    # The query's form is known only after evaluation: negotiate both kinds now.
    results, graph = choose("results", asked), choose("graph", asked)
    if results is None and graph is None:
        raise NotAcceptable(
            f"format {asked[0]!r} is not available; use json, xml, csv, tsv or html for SELECT/ASK, "
            "turtle, nt, rdf+xml, json-ld, trig or nquads for CONSTRUCT/DESCRIBE"
            if asked
            else "none of the requested formats can carry a SPARQL answer; results: JSON, XML, CSV, TSV, "
            "HTML; graphs: Turtle, N-Triples, RDF/XML, JSON-LD, TriG, N-Quads"
        )
    return Job(
        query=query,
        results=results,
        graph=graph,
        infer=flag(params, "infer", True),
        bindings=bindings,
        default_graphs=tuple(params.getlist("default-graph-uri")),
        named_graphs=tuple(params.getlist("named-graph-uri")),
        has_dataset=scan.has_dataset,
        base_iri=base_iri,
        network=bool(scan.services),
    )


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    settings: Settings = current_app.config["KG_SETTINGS"]
    params = read_params(settings.max_body)
    if "update" in params:
        raise Forbidden("this endpoint is read-only: SPARQL Update operations are not accepted")
    queries = params.getlist("query")
    if not queries and request.method in ("GET", "HEAD"):
        return _describe_or_page()
    if len(queries) != 1 or not queries[0].strip():
        problem = "is missing" if not queries else "is repeated" if len(queries) > 1 else "is empty"
        raise BadRequest(f"parameter 'query' {problem}: send exactly one SPARQL query")
    return respond(build_job(queries[0], params, settings))


def _describe_or_page() -> Response:
    # Browsers prefer text/html; RDF clients and */* get the Service Description.
    if request.accept_mimetypes["text/html"] > request.accept_mimetypes["text/turtle"]:
        return Response(render_template("sparql.html", prologue=sparql_prologue()), mimetype="text/html")
    return rdf_response(service_description(request.base_url))
