"""The interface language (bn, en, ru) and its words: ?lang=, then a cookie, then Accept-Language."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, request

LANGS = ("en", "bn", "ru")

WORDS: dict[str, dict[str, str]] = {
    "title": {
        "en": "Meetings between heads of state",
        "bn": "রাষ্ট্রপ্রধানদের বৈঠক",
        "ru": "Встречи глав государств",
    },
    "intro": {
        "en": "A knowledge graph of the meetings of Vladimir Putin and Donald Trump, 2017–2019, "
        "built from one Bengali source text. Every fact points back to the sentence it came from.",
        "bn": "২০১৭–২০১৯ সালে ভ্লাদিমির পুতিন ও ডোনাল্ড ট্রাম্পের বৈঠকগুলির একটি জ্ঞান-গ্রাফ, একটি বাংলা উৎস পাঠ "
        "থেকে তৈরি। প্রতিটি তথ্য তার উৎস বাক্যের দিকে নির্দেশ করে।",
        "ru": "Граф знаний о встречах Владимира Путина и Дональда Трампа в 2017–2019 годах, "
        "построенный по одному тексту на бенгальском языке. "
        "Каждый факт указывает на предложение, из которого он взят.",
    },
    "home": {"en": "Home", "bn": "প্রথম পাতা", "ru": "Главная"},
    "timeline": {"en": "Timeline", "bn": "সময়রেখা", "ru": "Хронология"},
    "places": {"en": "Where they met", "bn": "যেখানে দেখা হয়েছে", "ru": "Где они встречались"},
    "questions": {"en": "Questions", "bn": "প্রশ্ন", "ru": "Вопросы"},
    "editor": {"en": "Query editor", "bn": "কোয়েরি সম্পাদক", "ru": "Редактор запросов"},
    "downloads": {"en": "Downloads", "bn": "ডাউনলোড", "ru": "Загрузки"},
    "ontology": {"en": "Ontology", "bn": "অন্টোলজি", "ru": "Онтология"},
    "source": {"en": "Source", "bn": "উৎস", "ru": "Источник"},
    "counts": {"en": "What the graph holds", "bn": "গ্রাফে কী আছে", "ru": "Что содержит граф"},
    "endpoint": {"en": "SPARQL endpoint", "bn": "SPARQL এন্ডপয়েন্ট", "ru": "Точка доступа SPARQL"},
    "cancelled": {"en": "cancelled", "bn": "বাতিল", "ru": "отменена"},
    "month_only": {"en": "date known to the month", "bn": "শুধু মাস জানা", "ru": "известен только месяц"},
    "g20": {"en": "G20 summit", "bn": "জি 20 শীর্ষ সম্মেলন", "ru": "Саммит G20"},
    "apec": {"en": "APEC summit", "bn": "এপেক সামিট", "ru": "Саммит АТЭС"},
    "bilateral": {"en": "bilateral summit", "bn": "দ্বিপাক্ষিক শীর্ষ বৈঠক", "ru": "двусторонний саммит"},
    "anniversary": {"en": "anniversary event", "bn": "বার্ষিকী অনুষ্ঠান", "ru": "юбилейное мероприятие"},
    "meetings": {"en": "meetings", "bn": "বৈঠক", "ru": "встречи"},
    "run": {"en": "Run (Ctrl+Enter)", "bn": "চালান (Ctrl+Enter)", "ru": "Выполнить (Ctrl+Enter)"},
    "examples": {"en": "Examples", "bn": "উদাহরণ", "ru": "Примеры"},
    "asserted_only": {
        "en": "asserted data only (no inferences)",
        "bn": "শুধু প্রদত্ত তথ্য (অনুমান ছাড়া)",
        "ru": "только утверждённые данные (без выводов)",
    },
    "permalink": {"en": "Permalink", "bn": "স্থায়ী লিংক", "ru": "Постоянная ссылка"},
    "language": {"en": "Language", "bn": "ভাষা", "ru": "Язык"},
}


def current() -> str:
    asked = request.args.get("lang")
    if asked in LANGS:
        return asked
    saved = request.cookies.get("lang")
    if saved in LANGS:
        return saved
    return request.accept_languages.best_match(LANGS) or "en"


def remember(response: Response) -> Response:
    """Keep a language chosen with ?lang= for the next pages."""
    asked = request.args.get("lang")
    if asked in LANGS and request.cookies.get("lang") != asked:
        response.set_cookie("lang", asked, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def switch(lang: str) -> str:
    """This page in another language: the same path and parameters, with ``lang`` replaced
    (a page addressed by its query string, such as /explain?s=…, keeps it)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return "?" + urlencode([*args, ("lang", lang)])


def t(key: str, lang: str | None = None) -> str:
    words = WORDS[key]
    return words.get(lang or current()) or words["en"]
