"""Safe HTML for an internet-facing server: security headers on every response, no inline
script in any page, and links only to http(s) IRIs and the site's own paths."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "src" / "kg" / "web" / "static"
HTML = {"Accept": "text/html"}

PAGES = [
    "/",
    "/editor",
    "/sparql",
    "/queries",
    "/queries/timeline",
    "/api/docs",
    "/dumps",
    "/id/person/vladimir-putin",
    "/ontology",
    "/ontology/Meeting",
    "/sparql?format=html&query=SELECT+%3Fm+WHERE+%7B+%3Fm+hos%3Aordinal+1+%7D",
]


class Page(HTMLParser):
    """What a page holds that a CSP or an XSS review cares about."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.handlers: list[str] = []  # on*= attributes
        self.styles: list[str] = []  # style= attributes
        self.inline_scripts: list[str] = []  # <script> without src that a browser would run
        self._script: dict | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name == "style":
                self.styles.append(f"<{tag} style>")
        if tag == "a" and "href" in values:
            self.hrefs.append(values["href"] or "")
        if tag == "script":
            self._script = {"src": values.get("src"), "type": (values.get("type") or "").lower(), "text": ""}

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            s, self._script = self._script, None
            if s["src"] is None and s["type"] != "application/json" and s["text"].strip():
                self.inline_scripts.append(s["text"].strip()[:80])


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def plainly_safe(href: str) -> bool:
    """Stricter than the rule under test: no stripping, no odd spellings, only the obvious."""
    return href.lower().startswith(("http://", "https://", "/", "?", "#")) and not href.startswith("//")


def directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        if part.strip():
            name, *values = part.split()
            out[name.lower()] = values
    return out


def assert_security_headers(response) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "no-referrer")
    csp = directives(headers.get("Content-Security-Policy", ""))
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src is not None, "CSP must restrict scripts"
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "*" not in script_src and "data:" not in script_src
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("object-src") == ["'none'"]
    assert csp.get("base-uri") in (["'none'"], ["'self'"])


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_the_security_headers(client, path):
    response = client.get(path, headers=HTML)
    assert response.status_code == 200 and response.mimetype == "text/html", path
    assert_security_headers(response)


@pytest.mark.parametrize("path", PAGES)
def test_no_page_has_inline_script_or_event_handlers(client, path):
    page = parse(client.get(path, headers=HTML).get_data(as_text=True))
    assert page.inline_scripts == []
    assert page.handlers == []
    assert page.styles == []


@pytest.mark.parametrize("path", PAGES)
def test_every_link_on_a_page_is_http_or_the_sites_own(client, path):
    page = parse(client.get(path, headers=HTML).get_data(as_text=True))
    if path != "/api/docs":  # Swagger UI draws its page in the browser
        assert page.hrefs, "a page without links is suspicious: is it the page we meant?"
    assert [h for h in page.hrefs if not plainly_safe(h)] == []


def _html_results(client, *iris: str) -> Page:
    values = " ".join(f"<{iri}>" for iri in iris)
    response = client.get(
        "/sparql", query_string={"format": "html", "query": f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} }}"}
    )
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_security_headers(response)
    return parse(response.get_data(as_text=True))


DANGEROUS = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,hi",
]


@pytest.mark.parametrize("iri", DANGEROUS)
def test_html_results_do_not_link_script_or_data_iris(client, iri):
    page = _html_results(client, iri)
    scheme = iri.split(":")[0].lower()
    assert not [h for h in page.hrefs if h.lower().startswith(scheme)]
    assert iri.split("(")[0] in page.text  # still shown, as text


def test_html_results_link_https_iris(client):
    page = _html_results(client, "https://example.org/a", "javascript:alert(1)")
    assert "https://example.org/a" in page.hrefs
    # The language links repeat this page's own query string ("?…", so no scheme): not those.
    assert not [h for h in page.hrefs if "alert" in h and not h.startswith("?")]
    assert all(plainly_safe(h) for h in page.hrefs)


def test_a_canned_query_page_links_the_same_way(client):
    page = parse(client.get("/queries/timeline").get_data(as_text=True))
    assert any("/id/meeting/" in h for h in page.hrefs)  # the answer's IRIs are still links
    assert all(plainly_safe(h) for h in page.hrefs)


UNSAFE = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "urn:isbn:0451450523",
    "mailto:someone@example.org",
    "",
    "None",
]
SAFE = [
    "https://example.org/x",
    "HTTP://example.org/",
    "http://www.wikidata.org/entity/Q1",
    "/id/x",
    "?lang=bn",
    "#main",
]


@pytest.mark.parametrize("href", [*UNSAFE, None], ids=repr)
def test_only_http_and_own_links_are_linkable(href):
    from kg.web.safety import is_linkable

    assert not is_linkable(href)


@pytest.mark.parametrize("href", SAFE, ids=repr)
def test_http_iris_and_own_paths_are_linkable(href):
    from kg.web.safety import is_linkable

    assert is_linkable(href)


def test_the_scripts_rule_agrees_with_the_servers():
    """static/links.js is the pages' copy of the rule: run it in Node on the same cases."""
    from kg.web.safety import is_linkable

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    cases = [*UNSAFE, *SAFE]
    script = (
        f"require({json.dumps(str(STATIC / 'links.js'))});"
        f"process.stdout.write(JSON.stringify({json.dumps(cases)}.map(globalThis.kgLinks.linkable)))"
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(out.stdout) == [is_linkable(h) for h in cases]


@pytest.mark.parametrize("path", ["/api/queries/no-such-query", "/no/such/page", "/id/person/nobody"])
def test_a_json_error_carries_nosniff(client, path):
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.is_json
    assert response.headers["X-Content-Type-Options"] == "nosniff"


OTHER = ["/api/openapi.json", "/dumps.json", "/timeline.svg", "/static/site.css"]
SCRIPTS = ["/static/editor.js", "/static/links.js", "/static/docs.js"]


@pytest.mark.parametrize("path", [*OTHER, *SCRIPTS])
def test_other_responses_carry_nosniff(client, path):
    with client.get(path) as response:  # a file response is streamed: close it
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_response_from_the_edge_cache_keeps_the_headers(client):
    # A query no other test sends, so the first answer is the one that is stored.
    query = "SELECT ?m WHERE { ?m hos:ordinal 2 } # test_safety"
    accept = {"Accept": "application/sparql-results+json"}
    first = client.get("/sparql", query_string={"query": query}, headers=accept)
    second = client.get("/sparql", query_string={"query": query}, headers=accept)
    assert second.headers["X-Cache"] == "hit"
    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("href", [*UNSAFE, None], ids=repr)
def test_the_link_macro_writes_text_for_what_is_not_linkable(app, href):
    template = app.jinja_env.from_string('{% from "_link.html" import link %}{{ link(href, "a <label>") }}')
    assert template.render(href=href) == "a &lt;label&gt;"


def test_the_link_macro_links_http_iris_escaped(app):
    source = '{% from "_link.html" import link %}{{ link(href, "x", rel="external") }}'
    template = app.jinja_env.from_string(source)
    html = template.render(href='https://example.org/?a=1&b="2"')
    assert html == '<a href="https://example.org/?a=1&amp;b=&#34;2&#34;" rel="external">x</a>'


def test_a_timeline_mark_links_only_when_linkable(app):
    from kg.web import timeline
    from kg.web.events import Event, Filters

    day = datetime.date(2018, 7, 16)
    marks = [
        Event(href, href, label, "seed", "meeting", day, day, occasion="bilateral")
        for href, label in [("javascript:alert(1)", "bad"), ("/id/meeting/good", "good")]
    ]
    with app.test_request_context("/"):
        svg, _ = timeline.svg(marks, Filters(), "en", {})
    assert 'href="/id/meeting/good"' in svg and "javascript:" not in svg
    assert ">bad</text>" in svg  # the mark is still drawn
