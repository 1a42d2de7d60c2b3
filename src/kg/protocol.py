"""The SPARQL 1.1 Protocol as pure functions: from a request's parts to a checked Job.

Nothing here reads Flask's ``request``: the views pass the query string, the
method, the headers and the body, and tests call these functions without an
app. Parameters are decoded once, strictly, as UTF-8: werkzeug's own form
parsing replaces undecodable bytes silently, and a SPARQL query must not change
meaning that way, so the query string and the body are parsed here with the
standard library in strict mode.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_options_header

from kg import formats, guard, label_service
from kg.config import Settings
from kg.errors import BadRequest, Forbidden, NotAcceptable, PayloadTooLarge, UnsupportedMediaType
from kg.execute import Job
from kg.formats import Kind, negotiate_header
from kg.queries import CannedQuery

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
FORMAT_PARAMS = ("format", "output", "results")  # as SPARQLWrapper sends them
PROTOCOL_PARAMS = {*FORMAT_PARAMS, "infer"}  # never a canned query's own parameter


def _decode(raw: bytes, charset: str, what: str) -> str:
    # The protocol's media types are UTF-8 only: a charset parameter is accepted
    # when it says so (any spelling), refused otherwise (W3C bad_query_non_utf8).
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        raise UnsupportedMediaType(f"unknown charset {charset!r} in Content-Type") from None
    if name != "utf-8":
        raise UnsupportedMediaType(f"SPARQL requests must be UTF-8, not charset={charset}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} is not valid utf-8 (byte {exc.start})") from None


def _parse_qs(raw: bytes, charset: str, what: str) -> MultiDict:
    text = _decode(raw, charset, what)
    try:
        return MultiDict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict"))
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"{what} has percent-escapes that are not valid {charset} (byte {exc.start})"
        ) from None


def read_params(
    query_string: bytes, method: str, content_type: str, body: Callable[[], bytes], max_body: int
) -> MultiDict:
    """All protocol parameters of a request (URL and body), or a 4xx naming the problem.

    ``body`` is called only when the request's type says the body holds parameters.
    """
    if len(query_string) > max_body:
        raise PayloadTooLarge(f"the URL's query string is {len(query_string)} bytes; the limit is {max_body}")
    params = _parse_qs(query_string, "utf-8", "the URL's query string")
    if method != "POST":
        return params
    ctype, options = parse_options_header(content_type)
    ctype = ctype.lower()
    charset = options.get("charset", "utf-8")
    if not ctype:
        raise UnsupportedMediaType(f"a POST needs a Content-Type: {FORM} or {QUERY}")
    if ctype == UPDATE:
        raise Forbidden("this endpoint is read-only: SPARQL Update operations are not accepted")
    if ctype not in (FORM, QUERY):
        raise UnsupportedMediaType(f"Content-Type {ctype!r} is not accepted; use {FORM} or {QUERY}")
    if ctype == FORM:
        for key, value in _parse_qs(body(), charset, "the form body").items(multi=True):
            params.add(key, value)
    else:
        params.add("query", _decode(body(), charset, "the query body"))
    return params


def query_text(params: MultiDict, method: str) -> str | None:
    """The one query of a /sparql request; None for a GET without one (the page, or the
    Service Description)."""
    if "update" in params:
        raise Forbidden("this endpoint is read-only: SPARQL Update operations are not accepted")
    queries = params.getlist("query")
    if not queries and method in ("GET", "HEAD"):
        return None
    if len(queries) != 1 or not queries[0].strip():
        problem = "is missing" if not queries else "is repeated" if len(queries) > 1 else "is empty"
        raise BadRequest(f"parameter 'query' {problem}: send exactly one SPARQL query")
    return queries[0]


def flag(values: Mapping[str, str], name: str, default: bool) -> bool:
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"true", "1", "yes", "on"}:
        return True
    if raw.lower() in {"false", "0", "no", "off"}:
        return False
    raise BadRequest(f"parameter {name!r} must be true or false, not {raw!r}")


def format_values(params: MultiDict) -> list[str]:
    return [v for name in FORMAT_PARAMS for v in params.getlist(name) if v]


def choose(kind: Kind, asked: list[str], accept: str) -> str | None:
    """The negotiated media type for one result kind, or None when nothing acceptable fits it."""
    return negotiate_header(kind, accept, tuple(asked))


def _either(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1]


def build_job(
    query: str,
    params: MultiDict,
    headers: Mapping[str, str],
    settings: Settings,
    base_iri: str,
    bindings: tuple[tuple[str, str], ...] = (),
    auto_language: str | Callable[[], str] = "en",
) -> Job:
    """Check a query and its protocol parameters; the formats for either kind of answer.

    ``base_iri`` resolves the query's relative IRIs (the endpoint's URL, as in Fuseki).
    ``auto_language`` is what the label service's ``[AUTO_LANGUAGE]`` stands for (a function:
    called only when a query asks for it; see kg.label_service.expand).
    """
    query = guard.normalise(query)  # the engine runs exactly the text the guard checked
    # WDQS's label service is answered from the graph, and its query hints dropped: rewritten before
    # the checks, which see what runs.
    query = label_service.expand(query, auto_language=auto_language, max_length=settings.max_query_length)
    scan = guard.check(
        query, settings.max_query_length, settings.max_depth, settings.service_allowlist, base_iri
    )
    asked = format_values(params)
    accept = headers.get("Accept", "") or ""
    # The query's form is known only after evaluation: negotiate both kinds now.
    results, graph = choose("results", asked, accept), choose("graph", asked, accept)
    if results is None and graph is None:
        raise NotAcceptable(
            f"format {asked[0]!r} is not available; use {_either(formats.names('results'))} for SELECT/ASK, "
            f"{_either(formats.names('graph'))} for CONSTRUCT/DESCRIBE"
            if asked
            else "none of the requested formats can carry a SPARQL answer; "
            f"results: {', '.join(formats.labels('results'))}; graphs: {', '.join(formats.labels('graph'))}"
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


def canned_job(
    query: CannedQuery, params: MultiDict, headers: Mapping[str, str], settings: Settings, base_iri: str
) -> Job:
    """A canned query with the request's parameters bound as RDF terms (the API and the pages)."""
    values = {k: params.getlist(k) for k in params if k not in PROTOCOL_PARAMS}
    terms = query.bindings(values)
    bindings = tuple((name, str(term)) for name, term in terms.items())
    return build_job(query.text, params, headers, settings, base_iri, bindings)
