"""kg.web.i18n: the interface language, chosen by ?lang=, then the cookie, then Accept-Language."""

from __future__ import annotations

import re

import pytest
from flask import Flask, Response

from kg.web import events, i18n

app = Flask(__name__)


def chosen(path: str = "/", **headers: str) -> str:
    with app.test_request_context(path, headers=headers):
        return i18n.current()


def test_the_parameter_wins_over_the_cookie_and_the_header():
    assert chosen("/?lang=ru", Cookie="lang=bn", **{"Accept-Language": "bn"}) == "ru"


def test_the_cookie_wins_over_the_header():
    assert chosen("/", Cookie="lang=bn", **{"Accept-Language": "ru"}) == "bn"


def test_the_header_is_read_with_its_weights():
    assert chosen("/", **{"Accept-Language": "fr, ru;q=0.5, bn;q=0.9"}) == "bn"


@pytest.mark.parametrize("lang", ["de", "", "EN", "bn-x"])
def test_an_unknown_language_anywhere_falls_through_to_english(lang):
    assert chosen(f"/?lang={lang}", Cookie=f"lang={lang}") == "en"


def test_a_chosen_language_is_remembered_once():
    with app.test_request_context("/?lang=bn"):
        cookie = i18n.remember(Response()).headers.get("Set-Cookie", "")
    assert cookie.startswith("lang=bn;") and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    with app.test_request_context("/?lang=bn", headers={"Cookie": "lang=bn"}):
        assert "Set-Cookie" not in i18n.remember(Response()).headers
    with app.test_request_context("/?lang=xx"):
        assert "Set-Cookie" not in i18n.remember(Response()).headers


def test_every_word_is_there_in_every_language():
    for key, words in i18n.WORDS.items():
        assert set(words) == set(i18n.LANGS), key
        assert all(w.strip() for w in words.values()), key


def test_a_word_is_given_in_the_language_asked_or_the_current_one():
    assert i18n.t("home", "ru") == "Главная"
    with app.test_request_context("/?lang=bn"):
        assert i18n.t("home") == "প্রথম পাতা"


def test_the_language_links_keep_the_pages_own_parameters():
    """/explain?s=…&p=…&o=… is addressed by its query string: switching language keeps it."""
    with app.test_request_context("/explain?s=a%26b&p=p&lang=en&o=%22x%22"):
        assert i18n.switch("bn") == "?s=a%26b&p=p&o=%22x%22&lang=bn"
    with app.test_request_context("/"):
        assert i18n.switch("ru") == "?lang=ru"


def test_the_pages_language_links_keep_the_query_string(client):
    page = client.get("/queries/meetings-in-year?year=2018", headers={"Accept": "text/html"})
    assert 'href="?year=2018&amp;lang=bn"' in page.get_data(as_text=True)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_the_timeline_says_cancelled_once_in_every_language(client, lang):
    """The cancelled meeting's label already ends with the status; its tooltip says it once."""
    page = client.get(f"/?lang={lang}").get_data(as_text=True)
    word = f"({i18n.t('cancelled', lang)})"
    titles = [t for t in re.findall(r"<title>(.*?)</title>", page, re.S) if word in t]
    assert len(titles) == 1, titles  # the Buenos Aires meeting, and only it
    assert titles[0].count(word) == 1, titles[0]
    # Whatever the label says: nothing, the status in this language, in another, twice.
    for said in ("", f" {word}", " (Cancelled)", " (বাতিল) (отменена)"):
        assert events.with_status("Meeting" + said, True, lang) == f"Meeting {word}"
    assert events.with_status("Meeting", False, lang) == "Meeting"
