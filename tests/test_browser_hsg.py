"""The timeline, map, search, person and country pages in headless Chromium against `kg serve`
(tests/test_browser.py's set-up): no console error or failed request, the home page's weight within
its budget, the map drawn from the local npm assets, zooming by following a bar, search without script.

First paint is measured and written to test-artifacts/hsg-performance.json, not asserted (a timed
assert would fail on a slow machine, not on a slow page).
"""

from __future__ import annotations

import json

import pytest

from tests.support import kg_serve
from tests.test_browser import ARTIFACTS, watch

pytestmark = pytest.mark.live
HOME_BUDGET = 300 * 1024  # bytes: the page and everything it loads


@pytest.fixture(scope="module")
def base(records_settings, records_built):
    """`kg serve` on the build with the Office of the Historian's records: the pages at their size."""
    with kg_serve(env={"KG_BUILD_DIR": str(records_settings.build_dir)}) as url:
        yield url.removesuffix("/sparql")


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    problems = watch(page)
    yield page
    context.close()
    assert not problems, problems


def test_the_home_page_weighs_less_than_its_budget_and_paints(page, base):
    loaded: dict[str, int] = {}
    page.on("requestfinished", lambda r: loaded.__setitem__(r.url, r.sizes()["responseBodySize"]))
    page.goto(base + "/", wait_until="networkidle")
    assert all(url.startswith(base) for url in loaded), "the page loads nothing from elsewhere"
    total = sum(loaded.values())
    paint = page.evaluate(
        "() => Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]))"
    )
    timing = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hsg-performance.json").write_text(
        json.dumps(
            {
                "bytes": total,
                "requests": loaded,
                "paint_ms": paint,
                "response_end_ms": timing["responseEnd"],
                "events": page.locator("p.window strong").inner_text(),
            },
            indent=1,
        )
    )
    assert total < HOME_BUDGET, f"{total} bytes: {loaded}"
    assert "first-contentful-paint" in paint


def test_following_a_bar_zooms_in(page, base):
    page.goto(base + "/?source=visits", wait_until="networkidle")
    bars = page.locator("svg .lane a.bar")
    assert bars.count() > 0  # 3,264 visits over 150 years: the lane is drawn as bars
    bars.last.click()
    page.wait_for_load_state("networkidle")
    assert "from=" in page.url and "to=" in page.url
    page.screenshot(path=str(ARTIFACTS / "hsg-zoomed.png"), full_page=True)


def test_the_map_is_drawn_and_links_to_country_pages(page, base):
    page.goto(base + "/map", wait_until="networkidle")
    page.wait_for_selector("#worldmap svg path")
    assert page.locator("#worldmap svg [data-feature]").count() > 150  # every feature of the 1:110m map
    page.screenshot(path=str(ARTIFACTS / "hsg-map.png"), full_page=False)
    assert page.locator("#worldmap svg a.country").count() > 150  # helper: 168 countries linked
    href = page.locator('#worldmap svg a.country[data-feature="Germany"]').get_attribute("href")
    assert href == "/country/germany"
    page.goto(base + href, wait_until="networkidle")
    assert page.locator("h1").inner_text() == "Germany"


def test_search_works_without_script(browser, base):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base + "/")
    page.fill("#q", "germ")
    page.click("form.search button")
    page.wait_for_load_state()
    assert "/search?q=germ" in page.url
    page.click('a[href="/country/germany"]')
    assert page.locator("h1").inner_text() == "Germany"
    context.close()


@pytest.mark.parametrize(
    "path", ["/person/donald-trump", "/country/germany", "/search?q=putin", "/?country=germany"]
)
def test_each_new_page_loads_without_errors(page, base, path):
    page.goto(base + path, wait_until="networkidle")
    assert page.locator("h1").is_visible()
    page.screenshot(
        path=str(ARTIFACTS / ("hsg-" + path.strip("/").replace("/", "_").replace("?", "_") + ".png"))
    )
