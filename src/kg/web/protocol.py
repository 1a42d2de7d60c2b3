"""Reading a SPARQL Protocol request: parameters decoded once, strictly, as UTF-8.

werkzeug's own form parsing replaces undecodable bytes silently; a SPARQL
query must not change meaning that way, so the query string and the body are
parsed here with the standard library in strict mode.
"""

from __future__ import annotations

import codecs
from urllib.parse import parse_qsl

from flask import request
from werkzeug.datastructures import MultiDict

from kg.errors import BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"


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


def read_params(max_body: int) -> MultiDict:
    """All protocol parameters of the request (URL and body), or a 4xx naming the problem."""
    if len(request.query_string) > max_body:
        raise PayloadTooLarge(
            f"the URL's query string is {len(request.query_string)} bytes; the limit is {max_body}"
        )
    params = _parse_qs(request.query_string, "utf-8", "the URL's query string")
    if request.method != "POST":
        return params
    ctype = request.mimetype
    charset = request.mimetype_params.get("charset", "utf-8")
    if not ctype:
        raise UnsupportedMediaType(f"a POST needs a Content-Type: {FORM} or {QUERY}")
    if ctype == UPDATE:
        raise Forbidden("this endpoint is read-only: SPARQL Update operations are not accepted")
    if ctype not in (FORM, QUERY):
        raise UnsupportedMediaType(f"Content-Type {ctype!r} is not accepted; use {FORM} or {QUERY}")
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: werkzeug answers 413
    if ctype == FORM:
        for key, value in _parse_qs(body, charset, "the form body").items(multi=True):
            params.add(key, value)
    else:
        params.add("query", _decode(body, charset, "the query body"))
    return params
