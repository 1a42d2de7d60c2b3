"""Safe HTML for a public server: which IRIs become links, and the security headers.

Query results are anyone's input: ``VALUES ?x { <javascript:alert(1)> }`` is a
valid IRI, and a page that turned it into ``<a href>`` would run the attacker's
script on a click. So a page links only to http(s) IRIs and the site's own
paths (``is_linkable``, the ``linkable`` Jinja test; static/links.js is its
twin for the pages' scripts), and every response carries headers that make a
missed case harmless: a Content-Security-Policy without inline script, no
framing, no MIME sniffing.
"""

from __future__ import annotations

import re

from flask import Flask, Response

LINK_SCHEMES = frozenset({"http", "https"})

# The characters a browser drops before it reads a URL (WHATWG URL standard): C0
# controls and spaces at either end, tabs and newlines anywhere. Without this,
# " java\tscript:alert(1)" would pass a naive check and still run as javascript:.
_EDGES = "".join(map(chr, range(0x21)))
_INSIDE = {0x09: None, 0x0A: None, 0x0D: None}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")

# One policy for every response. Scripts and styles come only from this origin
# as files (static/, the CodeMirror and Swagger UI assets), so an injected
# <script> or onclick= does not run. Images may be data: URIs: Swagger UI's CSS
# draws its icons with them, and base.html's empty favicon is one. No
# 'unsafe-inline' for style-src either: no template has a style= attribute or
# <style> block, the inline SVG timeline uses presentation attributes (fill,
# stroke), which CSP does not govern, and CodeMirror and Swagger UI set styles
# through the CSSOM (element.style), which CSP allows.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # A JSON error or a CSV answer that echoes a query is never read as HTML or script.
    "X-Content-Type-Options": "nosniff",
    # frame-ancestors for browsers that predate it: no clickjacking in a frame.
    "X-Frame-Options": "DENY",
    # A query sits in the URL; other sites that a page links to see only our origin.
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def is_linkable(href: object) -> bool:
    """True for an http(s) IRI or one of the site's own paths (``/x``, ``?x``, ``#x``).

    Anything else (javascript:, vbscript:, data:, file:, urn:, mailto:, ``//host``,
    None) is shown as text, not as a link.
    """
    if not isinstance(href, str):
        return False
    url = href.strip(_EDGES).translate(_INSIDE)
    scheme = _SCHEME.match(url)
    if scheme is not None:
        return scheme.group(1).lower() in LINK_SCHEMES
    # "//host" and "/\host" are another site without a scheme: not our own paths.
    return url.startswith(("/", "?", "#")) and not url.startswith(("//", "/\\"))


def _secure(response: Response) -> Response:
    # On every response, not only HTML: a header a view set on purpose stays.
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def install(app: Flask) -> None:
    """Add the security headers to every response and the ``linkable`` test to the templates.

    Responses replayed by the response cache (kg.web.response_cache) were made by
    Flask, so they carry the headers too.
    """
    app.after_request(_secure)
    app.jinja_env.tests["linkable"] = is_linkable
