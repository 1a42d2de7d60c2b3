"""The functions the RML mappings of this folder call (fnml:function fn:…), registered for morph-kgc.

morph-kgc runs this file with ``udf`` defined (its decorator: the function's IRI and one IRI per
parameter). Each function here is a thin wrapper that turns what kg.mapping_functions decides
(tested there, tests/test_mapping_functions.py) into the IRI or label a mapping writes. A
function that returns None writes no triple.
"""

import functools

from kg import mapping_functions as f

FN = "https://w3id.org/hos-kg/functions#"
ID = "https://w3id.org/hos-kg/id/"


def _params(*names):
    return {name: FN + name for name in names}


def _missing_is_none(function):
    # morph-kgc hands a function an empty element's value as the string "None" (and a missing
    # one as "nan"): the record says nothing there, so the function is given None.
    # Each answer is kept for the run (kg.rml runs this file once a run): several rules call a
    # function on the same record, and records share dates and countries.
    answers = {}

    @functools.wraps(function)
    def wrapper(**kwargs):
        key = tuple(kwargs.items())
        if key not in answers:
            answers[key] = function(**{k: None if v in ("None", "nan") else v for k, v in kwargs.items()})
        return answers[key]

    return wrapper


def _when(value, template):
    return template.format(value) if value else None


@udf(fun_id=FN + "text", **_params("value"))  # noqa: F821 (morph-kgc defines udf)
@_missing_is_none
def text(value):
    return f.text(value)


@udf(fun_id=FN + "isoDate", **_params("value"))  # noqa: F821
@_missing_is_none
def iso_date(value):
    return f.iso_date(value)


@udf(fun_id=FN + "countryIri", **_params("hsgId", "hsgName", "date"))  # noqa: F821
@_missing_is_none
def country_iri(hsgId, hsgName, date):  # noqa: N803 (the parameter names are the mapping's)
    return _when(f.country_slug(hsgId, hsgName, date), ID + "place/{}")


@udf(fun_id=FN + "visitorIri", **_params("hsgId", "visitor"))  # noqa: F821
@_missing_is_none
def visitor_iri(hsgId, visitor):  # noqa: N803
    return _when(f.person_slug(hsgId, visitor), ID + "person/hsg-{}")


@udf(fun_id=FN + "preferredName", **_params("hsgId", "visitor"))  # noqa: F821
@_missing_is_none
def preferred_name(hsgId, visitor):  # noqa: N803
    return f.preferred_name(hsgId, visitor)


@udf(fun_id=FN + "otherSpelling", **_params("hsgId", "visitor"))  # noqa: F821
@_missing_is_none
def other_spelling(hsgId, visitor):  # noqa: N803
    return f.other_spelling(hsgId, visitor)


@udf(fun_id=FN + "visitorTitle", **_params("visitor"))  # noqa: F821
@_missing_is_none
def visitor_title(visitor):
    return f.visitor_title(visitor)


@udf(fun_id=FN + "visitTitleIri", **_params("id", "visitor"))  # noqa: F821
@_missing_is_none
def visit_title_iri(id, visitor):  # noqa: A002
    # A title node only where the record gives a title.
    return ID + f"title/visit-{id}" if f.visitor_title(visitor) else None


@udf(fun_id=FN + "visitLabel", **_params("visitor", "country", "date"))  # noqa: F821
@_missing_is_none
def visit_label(visitor, country, date):
    who, where = f.text(visitor), f.text(country)
    when = f.iso_date(date) or f.text(date) or "undated"
    return f"Visit of {who} ({where}) to the United States, {when}" if who and where else None


@udf(fun_id=FN + "tripLabel", **_params("president", "country", "date"))  # noqa: F821
@_missing_is_none
def trip_label(president, country, date):
    who, where = f.text(president), f.text(country)
    when = f.iso_date(date) or f.text(date) or "undated"
    return f"Trip of {who} to {where}, {when}" if who and where else None


@udf(fun_id=FN + "termLabel", **_params("n", "president"))  # noqa: F821
@_missing_is_none
def term_label(n, president):
    return f"{f.text(president)}, President of the United States (term {n})"


@udf(fun_id=FN + "roleTitle", **_params("role"))  # noqa: F821
@_missing_is_none
def role_title(role):
    # travel-role-codes.xml: "president" is labelled President.
    return "President" if f.text(role) == "president" else f.text(role)


@udf(fun_id=FN + "visitKindIri", **_params("description"))  # noqa: F821
@_missing_is_none
def visit_kind_iri(description):
    return _when(f.visit_kind(description), ID + "visit-kind/{}")


@udf(fun_id=FN + "visitKindPhrase", **_params("description"))  # noqa: F821
@_missing_is_none
def visit_kind_phrase(description):
    return f.visit_kind_other_phrase(description)


def _place(hsgId, hsgName, date, locale, index):
    # One place per named locale and country of the record's date: "Moscow" of a 1988 trip is in
    # the Soviet Union, of a 2009 trip in Russia, and a place has one country.
    country, name = f.country_slug(hsgId, hsgName, date), f.locale_at(locale, index)
    return ID + f"place/hsg-{country}-{f.slug(name)}" if country and name and f.slug(name) else None


@udf(fun_id=FN + "placeIris", **_params("hsgId", "hsgName", "date", "locale"))  # noqa: F821
@_missing_is_none
def place_iris(hsgId, hsgName, date, locale):  # noqa: N803
    places = [_place(hsgId, hsgName, date, locale, str(i)) for i in range(len(f.locales(locale)))]
    return [p for p in places if p] or None


@udf(fun_id=FN + "placeIriAt", **_params("hsgId", "hsgName", "date", "locale", "index"))  # noqa: F821
@_missing_is_none
def place_iri_at(hsgId, hsgName, date, locale, index):  # noqa: N803
    return _place(hsgId, hsgName, date, locale, index)


@udf(fun_id=FN + "localeAt", **_params("locale", "index"))  # noqa: F821
@_missing_is_none
def locale_at(locale, index):
    return f.locale_at(locale, index)


@udf(fun_id=FN + "countryNoteIri", **_params("record", "hsgId", "hsgName", "date"))  # noqa: F821
@_missing_is_none
def country_note_iri(record, hsgId, hsgName, date):  # noqa: N803
    return ID + f"note/hsg-{record}-country" if f.country_note(hsgId, hsgName, date) else None


@udf(fun_id=FN + "countryNoteLabel", **_params("hsgId", "hsgName", "date"))  # noqa: F821
@_missing_is_none
def country_note_label(hsgId, hsgName, date):  # noqa: N803
    if not f.country_note(hsgId, hsgName, date):
        return None
    return f"Editorial note: the record's country id {hsgId!r} is corrected by the verified country table"


@udf(fun_id=FN + "countryNote", **_params("hsgId", "hsgName", "date"))  # noqa: F821
@_missing_is_none
def country_note(hsgId, hsgName, date):  # noqa: N803
    return f.country_note(hsgId, hsgName, date)


def _row(hsgId, hsgName, firstYear):
    # A row of the table by its key (id, name, first year: unique). The mapping passes no empty
    # cell: morph-kgc drops a row whose referenced cell is empty (an unknown row's qid and label).
    key = (f.text(hsgId), f.text(hsgName), f.text(firstYear))
    return next((r for r in f.load_countries() if (r["hsg_id"], r["hsg_name"], r["first_year"]) == key), None)


@udf(fun_id=FN + "rowCountryIri", **_params("hsgId", "hsgName", "firstYear"))  # noqa: F821
@_missing_is_none
def row_country_iri(hsgId, hsgName, firstYear):  # noqa: N803
    row = _row(hsgId, hsgName, firstYear)
    return ID + "place/" + row["slug"] if row else None


@udf(fun_id=FN + "rowCountryLabel", **_params("hsgId", "hsgName", "firstYear"))  # noqa: F821
@_missing_is_none
def row_country_label(hsgId, hsgName, firstYear):  # noqa: N803
    # Wikidata's English label where the row is verified, else the name HSG gives.
    row = _row(hsgId, hsgName, firstYear)
    if row is None:
        return None
    return row["wikidata_label"] if row["status"] == "verified" and row["wikidata_label"] else f.text(hsgName)


@udf(fun_id=FN + "rowCountryOtherName", **_params("hsgId", "hsgName", "firstYear"))  # noqa: F821
@_missing_is_none
def row_country_other_name(hsgId, hsgName, firstYear):  # noqa: N803
    # HSG's name as an alternative label where it is not the row's label already.
    name = f.text(hsgName)
    return name if name != row_country_label(hsgId=hsgId, hsgName=hsgName, firstYear=firstYear) else None


@udf(fun_id=FN + "wikidataItem", **_params("hsgId", "hsgName", "firstYear"))  # noqa: F821
@_missing_is_none
def wikidata_item(hsgId, hsgName, firstYear):  # noqa: N803
    # Only a verified row links to Wikidata (countries-wikidata.tsv's README).
    row = _row(hsgId, hsgName, firstYear)
    ok = row is not None and row["status"] == "verified" and row["qid"]
    return f"http://www.wikidata.org/entity/{row['qid']}" if ok else None
