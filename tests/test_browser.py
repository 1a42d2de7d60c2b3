"""The web front in headless Chromium (Debian's package) driven by Playwright, against `kg serve`.

Every page is loaded and screenshotted into test-artifacts/; any console error
or failed request fails the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import kg_serve

pytestmark = pytest.mark.live
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base(settings, built):
    with kg_serve(env={"KG_BUILD_DIR": str(settings.build_dir)}) as url:
        yield url.removesuffix("/sparql")


def watch(page) -> list[str]:
    """The page's console errors, script errors, failed requests and HTTP errors, as they come."""
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return problems


@pytest.fixture()
def page(browser):
    """A page that records console errors and failed requests; the test fails on any."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    problems = watch(page)
    page.expected_problems = []  # a test that provokes an error on purpose lists it here
    yield page
    context.close()
    unexpected = [p for p in problems if not any(e in p for e in page.expected_problems)]
    assert not unexpected, unexpected


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/editor",
        "/queries",
        "/queries/timeline",
        "/dumps",
        "/ontology",
        "/id/meeting/2018-07-16-helsinki",
        "/ontology/Meeting",
        "/api/docs",
        "/explain?s=wd:Q7747&p=wdt:P1344&o=meeting:2017-07-07-hamburg",
        "/id/person/nobody",  # the HTML 404 page
    ],
)
def test_each_page_loads_without_errors(page, base, path):
    if path == "/id/person/nobody":  # its own 404 (logged by Chromium too); any other 404 still fails
        page.expected_problems = [f"HTTP 404: {base}{path}", "status of 404 (NOT FOUND)"]
    page.goto(base + path, wait_until="networkidle")
    assert page.locator("h1, #swagger-ui").first.is_visible()
    shot(page, path.strip("/").replace("/", "_") or "home")


def test_run_a_canned_query(page, base):
    page.goto(base + "/queries/meetings-at-summit-series")
    page.select_option("#p-series", "https://w3id.org/hos-kg/id/event/apec")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "2017-11-10-da-nang" in page.locator("table").inner_text()
    shot(page, "canned-query")


def test_type_and_run_a_query_with_ctrl_enter(page, base):
    page.goto(base + "/editor", wait_until="networkidle")
    page.evaluate(
        "document.querySelector('.CodeMirror').CodeMirror.setValue('SELECT ?m WHERE { ?m hos:ordinal 3 }')"
    )
    page.locator(".CodeMirror textarea").focus()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#results table")
    link = page.locator("#results table a").first
    assert link.inner_text() == "Putin–Trump meeting in Helsinki, 16 July 2018"  # the label, not the IRI
    assert link.get_attribute("href") == "/id/meeting/2018-07-16-helsinki"
    assert "query=" in page.url  # the permalink reproduces the query
    shot(page, "editor-results")
    page.goto(page.url)  # the permalink, reloaded, runs it again
    page.wait_for_selector("#results table")


def test_editor_shows_errors_with_their_position(page, base):
    page.expected_problems = ["400"]  # the bad query's answer
    page.goto(base + "/editor", wait_until="networkidle")
    page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setValue('SELECT *\\nWHERE { ?s ?p }')")
    page.click("#run")
    page.wait_for_selector("#status.error")
    assert "line 2, column" in page.locator("#status").inner_text()
    assert page.locator(".error-line").count() == 1


def test_loading_an_example(page, base):
    page.goto(base + "/editor", wait_until="networkidle")
    page.select_option("#examples", "gifts")
    assert "hos:Gift" in page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")


def test_click_a_timeline_mark_lands_on_the_meeting(page, base):
    page.goto(base + "/", wait_until="networkidle")
    page.locator('svg a[href="/id/meeting/2018-11-buenos-aires"]').click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/id/meeting/2018-11-buenos-aires")
    assert "Buenos Aires" in page.locator("h1").inner_text()


def test_switch_language(page, base):
    page.goto(base + "/", wait_until="networkidle")
    page.click('a[hreflang="bn"]')
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "রাষ্ট্রপ্রধানদের বৈঠক"
    shot(page, "home-bn")
    page.goto(base + "/id/place/hamburg", wait_until="networkidle")  # the choice is remembered
    assert page.locator("h1").inner_text() == "হামবুর্গ"
    page.click('a[hreflang="ru"]')
    assert page.locator("h1").inner_text() == "Гамбург"


def test_narrow_screen_has_no_horizontal_scroll(browser, base):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    for path in ("/", "/editor", "/id/meeting/2018-07-16-helsinki", "/queries/timeline"):
        page.goto(base + path, wait_until="networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        shot(page, "narrow_" + (path.strip("/").replace("/", "_") or "home"))
    context.close()


def test_keyboard_reaches_the_timeline(page, base):
    page.goto(base + "/", wait_until="networkidle")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('svg') !== null"):
            break
    assert page.evaluate("document.activeElement.getAttribute('href')").startswith("/id/meeting/")
