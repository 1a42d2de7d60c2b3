"""The words of the timeline, search, person, country and map pages, in bn, en and ru
(the rest of the site's words are in kg.web.i18n; ``t`` falls back to them)."""

from __future__ import annotations

from kg.web import i18n

WORDS: dict[str, dict[str, str]] = {
    "intro_hsg": {
        "en": "It also holds the U.S. Office of the Historian's records of foreign leaders' visits to the "
        "United States (since 1874) and of presidents' trips abroad (since 1906).",
        "bn": "এতে মার্কিন অফিস অফ দ্য হিস্টোরিয়ানের নথিও আছে: মার্কিন যুক্তরাষ্ট্রে বিদেশি নেতাদের সফর (১৮৭৪ থেকে) "
        "এবং রাষ্ট্রপতিদের বিদেশ সফর (১৯০৬ থেকে)।",
        "ru": "В нём также есть записи Управления историка США о визитах иностранных лидеров "
        "в США (с 1874 года) и о зарубежных поездках президентов (с 1906 года).",
    },
    "src_seed": {
        "en": "Meetings in the source text",
        "bn": "উৎস পাঠের বৈঠক",
        "ru": "Встречи из исходного текста",
    },
    "src_visits": {
        "en": "Visits to the United States",
        "bn": "মার্কিন যুক্তরাষ্ট্র সফর",
        "ru": "Визиты в США",
    },
    "src_trips": {
        "en": "Presidents' trips abroad",
        "bn": "রাষ্ট্রপতিদের বিদেশ সফর",
        "ru": "Зарубежные поездки президентов",
    },
    "source_filter": {"en": "Source", "bn": "উৎস", "ru": "Источник"},
    "kind": {"en": "Kind", "bn": "ধরন", "ru": "Вид"},
    "kind_meeting": {"en": "meeting", "bn": "বৈঠক", "ru": "встреча"},
    "kind_visit": {"en": "visit (any kind)", "bn": "সফর (যেকোনো ধরন)", "ru": "визит (любой)"},
    "kind_trip": {"en": "president's trip", "bn": "রাষ্ট্রপতির সফর", "ru": "поездка президента"},
    "person": {"en": "Person", "bn": "ব্যক্তি", "ru": "Человек"},
    "person_hint": {"en": "a name or part of it", "bn": "নাম বা তার অংশ", "ru": "имя или его часть"},
    "country": {"en": "Country", "bn": "দেশ", "ru": "Страна"},
    "place": {"en": "Place", "bn": "স্থান", "ru": "Место"},
    "all": {"en": "all", "bn": "সব", "ru": "все"},
    "from": {"en": "From", "bn": "থেকে", "ru": "С"},
    "to": {"en": "To", "bn": "পর্যন্ত", "ru": "По"},
    "show": {"en": "Show", "bn": "দেখান", "ru": "Показать"},
    "reset": {"en": "Clear the filters", "bn": "ফিল্টার মুছুন", "ru": "Сбросить фильтры"},
    "zoom_out": {"en": "Zoom out", "bn": "ছোট করুন", "ru": "Уменьшить"},
    "earlier": {"en": "Earlier", "bn": "আগে", "ru": "Раньше"},
    "later": {"en": "Later", "bn": "পরে", "ru": "Позже"},
    "whole": {"en": "All years", "bn": "সব বছর", "ru": "Все годы"},
    "zoom_hint": {
        "en": "A bar is a period: follow it to zoom in, down to single days.",
        "bn": "প্রতিটি দণ্ড একটি সময়কাল: বড় করে দেখতে তাতে যান, একেকটি দিন পর্যন্ত।",
        "ru": "Столбец — это период: перейдите по нему, чтобы приблизить, вплоть до отдельных дней.",
    },
    "in_window": {"en": "events shown", "bn": "ঘটনা দেখানো হয়েছে", "ru": "событий показано"},
    "undated": {
        "en": "records without a date (not on the timeline)",
        "bn": "তারিখবিহীন নথি (সময়রেখায় নেই)",
        "ru": "записей без даты (не на шкале)",
    },
    "decades": {"en": "Events per decade", "bn": "দশক অনুযায়ী ঘটনা", "ru": "События по десятилетиям"},
    "search": {"en": "Search", "bn": "খুঁজুন", "ru": "Поиск"},
    "search_label": {
        "en": "People, countries and places",
        "bn": "ব্যক্তি, দেশ ও স্থান",
        "ru": "Люди, страны и места",
    },
    "results_for": {"en": "Results for", "bn": "ফলাফল:", "ru": "Результаты для"},
    "no_results": {"en": "Nothing found.", "bn": "কিছু পাওয়া যায়নি।", "ru": "Ничего не найдено."},
    "too_short": {
        "en": "Type at least two characters.",
        "bn": "অন্তত দুটি অক্ষর লিখুন।",
        "ru": "Введите хотя бы два символа.",
    },
    "people": {"en": "People", "bn": "ব্যক্তি", "ru": "Люди"},
    "countries": {"en": "Countries", "bn": "দেশ", "ru": "Страны"},
    "places_group": {"en": "Places", "bn": "স্থান", "ru": "Места"},
    "events": {"en": "Events", "bn": "ঘটনা", "ru": "События"},
    "date": {"en": "Date", "bn": "তারিখ", "ru": "Дата"},
    "event": {"en": "Event", "bn": "ঘটনা", "ru": "Событие"},
    "entity_page": {"en": "All statements", "bn": "সব তথ্য", "ru": "Все утверждения"},
    "on_timeline": {"en": "On the timeline", "bn": "সময়রেখায়", "ru": "На шкале времени"},
    "visits_from": {
        "en": "Its leaders' visits to the United States",
        "bn": "এর নেতাদের মার্কিন যুক্তরাষ্ট্র সফর",
        "ru": "Визиты её руководителей в США",
    },
    "trips_to": {
        "en": "U.S. presidents' trips there",
        "bn": "সেখানে মার্কিন রাষ্ট্রপতিদের সফর",
        "ru": "Поездки президентов США в эту страну",
    },
    "meetings_in": {
        "en": "Meetings of the source text held there",
        "bn": "সেখানে অনুষ্ঠিত উৎস পাঠের বৈঠক",
        "ru": "Встречи из исходного текста, прошедшие там",
    },
    "none": {"en": "None.", "bn": "নেই।", "ru": "Нет."},
    "map": {"en": "World map", "bn": "বিশ্ব মানচিত্র", "ru": "Карта мира"},
    "map_intro": {
        "en": "Countries shaded by the number of visits to the United States and presidents' trips there; "
        "each links to its country's page.",
        "bn": "মার্কিন যুক্তরাষ্ট্র সফর ও সেখানে রাষ্ট্রপতিদের সফরের সংখ্যা অনুযায়ী দেশগুলি রং করা; প্রতিটি দেশের পাতায় লিংক।",
        "ru": "Страны окрашены по числу визитов в США и поездок президентов туда; "
        "каждая ведёт на свою страницу.",
    },
    "unmatched": {
        "en": "Not on the map (no boundary in the 1:110m Natural Earth map: small or former states)",
        "bn": "মানচিত্রে নেই (১:১১০ মিলিয়ন ন্যাচারাল আর্থ মানচিত্রে সীমানা নেই: ছোট বা পূর্বতন রাষ্ট্র)",
        "ru": "Нет на карте (нет границ на карте Natural Earth 1:110m: малые или бывшие государства)",
    },
    "no_map": {
        "en": "The map's files are not installed (run `make install`); the countries are listed below.",
        "bn": "মানচিত্রের ফাইল ইনস্টল করা নেই (`make install` চালান); দেশগুলির তালিকা নিচে।",
        "ru": "Файлы карты не установлены (выполните `make install`); страны перечислены ниже.",
    },
    "count": {"en": "Visits and trips", "bn": "সফর", "ru": "Визиты и поездки"},
    "all_countries": {"en": "All countries", "bn": "সব দেশ", "ru": "Все страны"},
}


def t(key: str, lang: str | None = None) -> str:
    words = WORDS.get(key)
    if words is None:
        return i18n.t(key, lang)
    return words.get(lang or i18n.current()) or words["en"]
