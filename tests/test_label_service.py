"""WDQS's label service answered locally (kg.label_service): languages, modes, placement, errors.

Most checks run the rewritten query on the build (wd: items carry the project's labels in en, bn
and ru through owl:sameAs); the ones about descriptions, several alternative labels and language
subtags run on a few triples of their own, on pyoxigraph and rdflib alike. Expected values come
from labels only: the Wikidata view (wdt:, schema:description) is built elsewhere.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import string
import tracemalloc

import pyoxigraph as ox
import pytest
import rdflib
from click.testing import CliRunner
from werkzeug.datastructures import MultiDict

from kg import console, protocol
from kg.cli import main
from kg.config import Settings
from kg.errors import BadRequest, PayloadTooLarge
from kg.iris import PREFIXES
from kg.label_service import expand

PUTIN = {"en": "Vladimir Putin", "bn": "ভ্লাদিমির পুতিন", "ru": "Владимир Путин"}
WD = "http://www.wikidata.org/entity/"


def service(languages: str, more: str = "") -> str:
    return f'SERVICE wikibase:label {{ bd:serviceParam wikibase:language "{languages}". {more} }}'


def cell(term) -> str | None:
    """A term of either engine as text: "value@lang" for a language-tagged literal, the value otherwise."""
    if term is None:
        return None
    text = term.value if isinstance(term, ox.Literal | ox.NamedNode | ox.BlankNode) else str(term)
    language = getattr(term, "language", None)  # rdflib keeps a tag's case, pyoxigraph lowercases it
    return f"{text}@{language.lower()}" if language else text


def rows(kg, query: str, **options) -> list[dict[str, str | None]]:
    result = kg.query(expand(query, **options))
    names = [v.value for v in result.variables]
    return [{n: cell(row[n]) for n in names} for row in result]


def one(kg, query: str, **options) -> dict[str, str | None]:
    found = rows(kg, query, **options)
    assert len(found) == 1, found
    return found[0]


def label_of(kg, item: str, languages: str, **options) -> str | None:
    return one(kg, f"SELECT ?xLabel WHERE {{ VALUES ?x {{ {item} }} {service(languages)} }}", **options)[
        "xLabel"
    ]


# ---------------------------------------------------------------- untouched texts


def test_a_query_that_cannot_name_the_service_is_returned_as_it_is():
    query = "SELECT ?x WHERE { ?x rdfs:label ?l }"
    assert expand(query) is query


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?x WHERE { ?x rdfs:label 'SERVICE wikibase:label { bd:serviceParam wikibase:language }' }",
        "SELECT ?x WHERE { ?x rdfs:label ?l # SERVICE wikibase:label { }\n}",
        "SELECT ?x WHERE { ?x rdfs:label ?l } # SERVICE <http://wikiba.se/ontology#label> {",
    ],
)
def test_the_service_inside_a_string_or_a_comment_is_left_alone(kg, query):
    assert expand(query) == query
    kg.query(query)  # and the query runs as written


def test_a_redefined_wikibase_prefix_makes_wikibase_label_another_service():
    query = "PREFIX wikibase: <http://example.org/> SELECT * WHERE { SERVICE wikibase:label { ?s ?p ?o } }"
    assert expand(query) == query  # left to the guard, which refuses it


# ---------------------------------------------------------------- languages


def test_the_first_language_of_the_list_that_has_a_label_wins(kg):
    assert label_of(kg, "wd:Q7747", "bn,en") == PUTIN["bn"] + "@bn"
    assert label_of(kg, "wd:Q7747", "en,bn") == PUTIN["en"] + "@en"


def test_a_language_without_a_label_falls_to_the_next(kg):
    assert label_of(kg, "wd:Q7747", "de,fr,ru") == PUTIN["ru"] + "@ru"


def test_no_label_in_any_language_gives_the_items_id(kg):
    assert label_of(kg, "wd:Q7747", "de") == "Q7747"
    assert label_of(kg, "<http://example.org/nothing>", "de") == "http://example.org/nothing"


def test_languages_are_matched_exactly_and_in_any_case(kg):
    assert label_of(kg, "wd:Q7747", "EN") == PUTIN["en"] + "@en"
    assert label_of(kg, "wd:Q7747", "en-gb") == "Q7747"  # "en" is not "en-gb", nor the reverse


def test_auto_language_stands_for_the_callers_language(kg):
    assert label_of(kg, "wd:Q7747", "[AUTO_LANGUAGE],bn") == PUTIN["en"] + "@en"
    assert label_of(kg, "wd:Q7747", "[AUTO_LANGUAGE],bn", auto_language="ru") == PUTIN["ru"] + "@ru"


def test_several_language_parameters_add_to_the_list_in_order(kg):
    query = (
        "SELECT ?xLabel WHERE { VALUES ?x { wd:Q7747 } SERVICE wikibase:label { "
        'bd:serviceParam wikibase:language "de" . bd:serviceParam wikibase:language " ru , en" } }'
    )
    assert one(kg, query)["xLabel"] == PUTIN["ru"] + "@ru"


# ---------------------------------------------------------------- what is bound


def test_alt_labels_of_the_first_language_that_has_any(kg):
    query = f"SELECT ?xAltLabel WHERE {{ VALUES ?x {{ wd:Q159 }} {service('ru,en')} }}"
    assert one(kg, query)["xAltLabel"] == "Russian Federation@en"


def test_an_unbound_subject_leaves_its_labels_unbound_and_adds_no_rows(kg):
    query = (
        "SELECT ?m ?c ?cLabel ?cAltLabel WHERE { ?m a hos:Meeting . OPTIONAL { ?m <urn:x:none> ?c } "
        + service("en")
        + " }"
    )
    meetings = rows(kg, "SELECT ?m WHERE { ?m a hos:Meeting }")
    found = rows(kg, query)
    assert len(found) == len(meetings) > 0
    assert {(r["c"], r["cLabel"], r["cAltLabel"]) for r in found} == {(None, None, None)}


def test_only_variables_of_the_enclosing_query_are_bound(kg):
    query = f"SELECT ?x WHERE {{ VALUES ?x {{ wd:Q7747 }} {service('en')} }}"
    assert "rdfs:label" not in expand(query)  # no ?xLabel anywhere: nothing to look up


def test_a_label_used_only_in_order_by_is_bound(kg):
    query = f"SELECT ?x WHERE {{ VALUES ?x {{ wd:Q7747 wd:Q159 wd:Q17 }} {service('en')} }} ORDER BY ?xLabel"
    assert [r["x"] for r in rows(kg, query)] == [WD + "Q17", WD + "Q159", WD + "Q7747"]  # Japan, Russia, V…


def test_a_filter_in_the_group_sees_the_label(kg):
    query = (
        "SELECT ?x WHERE { VALUES ?x { wd:Q7747 wd:Q159 } "
        f'FILTER(STRSTARTS(?xLabel, "Vlad")) {service("en")} }}'
    )
    assert [r["x"] for r in rows(kg, query)] == [WD + "Q7747"]


def test_manual_mode_binds_the_variables_it_names(kg):
    query = (
        "SELECT ?name ?alt WHERE { VALUES ?country { wd:Q159 } "
        + service("ru,en", "?country rdfs:label ?name ; skos:altLabel ?alt .")
        + " }"
    )
    assert one(kg, query) == {"name": "Россия@ru", "alt": "Russian Federation@en"}


def test_manual_mode_takes_a_constant_subject(kg):
    query = "SELECT ?name WHERE { " + service("bn", "wd:Q7747 rdfs:label ?name") + " }"
    assert one(kg, query) == {"name": PUTIN["bn"] + "@bn"}


def test_a_variable_bound_by_hand_gets_no_automatic_binding(kg):
    query = (
        "SELECT ?xLabel WHERE { VALUES ?x { wd:Q7747 } "
        + service("en", "?x rdfs:label ?xLabel . bd:serviceParam wikibase:language 'ru'")
        + " }"
    )
    assert expand(query).count("AS ?xLabel)") == 1
    assert one(kg, query)["xLabel"] == PUTIN["en"] + "@en"


def test_a_label_the_group_binds_itself_is_left_to_it(kg):
    query = (
        "SELECT ?xLabel WHERE { VALUES ?x { wd:Q7747 } ?x rdfs:label ?xLabel FILTER(LANG(?xLabel) = 'bn') "
        + service("en")
        + " }"
    )
    assert one(kg, query) == {"xLabel": PUTIN["bn"] + "@bn"}


def test_a_subject_that_occurs_only_in_a_filter_is_not_labelled():
    query = "SELECT ?xLabel WHERE { ?y ?p ?o FILTER(?x = ?y) " + service("en") + " }"
    assert "AS ?xLabel" not in expand(query)


# ---------------------------------------------------------------- where the patterns go


def test_the_service_may_stand_before_the_patterns_it_labels(kg):
    query = "SELECT ?p ?pLabel WHERE { " + service("ru") + " ?p owl:sameAs wd:Q7747 . }"
    assert one(kg, query) == {"p": PREFIXES["person"] + "vladimir-putin", "pLabel": PUTIN["ru"] + "@ru"}


def test_a_service_inside_a_subquery_labels_the_subquerys_variables(kg):
    query = (
        "SELECT ?xLabel WHERE { { SELECT ?x ?xLabel WHERE { VALUES ?x { wd:Q7747 } "
        + service("ru")
        + " } } }"
    )
    assert one(kg, query) == {"xLabel": PUTIN["ru"] + "@ru"}


def test_two_services_in_two_groups_each_use_their_own_languages(kg):
    query = (
        "SELECT ?xLabel ?yLabel WHERE { { VALUES ?x { wd:Q7747 } "
        + service("ru")
        + " } UNION { VALUES ?y { wd:Q7747 } "
        + service("bn")
        + " } }"
    )
    found = sorted(rows(kg, query), key=lambda r: r["xLabel"] or "")
    assert found == [
        {"xLabel": None, "yLabel": PUTIN["bn"] + "@bn"},
        {"xLabel": PUTIN["ru"] + "@ru", "yLabel": None},
    ]


def test_a_service_in_a_nested_group_binds_its_labels_and_the_outer_one_does_not_again(kg):
    query = (
        "SELECT ?xLabel ?oLabel WHERE { VALUES ?x { wd:Q7747 } "
        + service("en")
        + " OPTIONAL { VALUES ?o { wd:Q159 } "
        + service("bn")
        + " } }"
    )
    assert one(kg, query) == {"xLabel": PUTIN["en"] + "@en", "oLabel": "রাশিয়া@bn"}


def test_every_spelling_of_the_service_is_rewritten(kg):
    spellings = [
        'service wikibase:label { bd:serviceParam wikibase:language "ru" }',
        'SERVICE SILENT <http://wikiba.se/ontology#label> { bd:serviceParam wikibase:language "ru" }',
        'SERVICE wb:label{bd:serviceParam wikibase:language """ru"""}',
        "SERVICE <#label> { <http://www.bigdata.com/rdf#serviceParam> <#language> 'ru' }",
    ]
    for text in spellings:
        base = "BASE <http://wikiba.se/ontology> " if "<#label>" in text else ""
        query = (
            f"{base}PREFIX wb: <http://wikiba.se/ontology#> "
            f"SELECT $xLabel WHERE {{ VALUES ?x {{ wd:Q7747 }} {text} }}"
        )
        assert "SERVICE" not in expand(query).upper(), text
        assert one(kg, query) == {"xLabel": PUTIN["ru"] + "@ru"}, text


def test_the_users_own_prefix_for_bd_is_honoured(kg):
    query = (
        "PREFIX bd: <urn:x:not-bigdata#> PREFIX b: <http://www.bigdata.com/rdf#> "
        "SELECT ?xLabel WHERE { VALUES ?x { wd:Q7747 } "
        'SERVICE wikibase:label { b:serviceParam wikibase:language "ru" } }'
    )
    assert one(kg, query) == {"xLabel": PUTIN["ru"] + "@ru"}
    with pytest.raises(BadRequest, match="does not understand the predicate"):
        expand(query.replace("b:serviceParam", "bd:serviceParam"))


def test_a_redefined_rdfs_prefix_does_not_change_what_is_looked_up(kg):
    query = "PREFIX rdfs: <urn:x:mine#> SELECT ?xLabel WHERE { VALUES ?x { wd:Q7747 } " + service("ru") + " }"
    assert "<http://www.w3.org/2000/01/rdf-schema#label>" in expand(query)
    assert one(kg, query) == {"xLabel": PUTIN["ru"] + "@ru"}


def test_generated_variables_never_take_the_users_names(kg):
    query = "SELECT ?_lbl1 ?xLabel WHERE { VALUES (?x ?_lbl1) { (wd:Q7747 'mine') } " + service("ru") + " }"
    assert "?__lbl1" in expand(query)
    assert one(kg, query) == {"_lbl1": "mine", "xLabel": PUTIN["ru"] + "@ru"}


def test_the_lines_of_the_users_text_stay_where_they_were():
    lines = [
        "SELECT ?xLabel WHERE {",
        "  VALUES ?x { wd:Q7747 }",
        "  SERVICE wikibase:label {",
        "    bd:serviceParam wikibase:language 'en' }",
        "  ?x ?p ?o",
        "}",
    ]
    out = expand("\n".join(lines)).split("\n")
    assert len(out) == len(lines)
    assert out[:2] == lines[:2] and out[4] == lines[4] and out[2] == "  {}"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "needs its languages"),
        ("?x rdfs:label ?name", "needs its languages"),
        ("bd:serviceParam wikibase:language 5", "holds '5', which it cannot read"),
        ("bd:serviceParam wikibase:language ?l", "takes a string of language codes"),
        ("bd:serviceParam wikibase:language 'en'@en", "must be a plain string"),
        ("bd:serviceParam wikibase:language 'en,e n'", "'e n', which is not a language code"),
        ("bd:serviceParam wikibase:language ', '", "needs its languages"),
        ("bdd:serviceParam wikibase:language 'en'", "prefix bdd: in bdd:serviceParam, which is not declared"),
        ("bd:serviceParam wikibase:lang 'en'", "has no parameter <http://wikiba.se/ontology#lang>"),
        ("bd:serviceParam wikibase:language 'en' . ?x rdfs:label 'x'", "binds a variable"),
        ("bd:serviceParam wikibase:language 'en' . ?x rdfs:comment ?c", "does not understand the predicate"),
        ("bd:serviceParam wikibase:language 'en' ?x", "expected '.' between its triples"),
        ("bd:serviceParam wikibase:language 'en' . { ?x ?p ?o }", "holds '{', which it cannot read"),
    ],
)
def test_a_malformed_service_is_a_bad_request_naming_the_problem(body, message):
    with pytest.raises(BadRequest, match=message):
        expand(f"SELECT ?xLabel WHERE {{ ?x ?p ?o SERVICE wikibase:label {{ {body} }} }}")


def test_a_query_whose_brackets_do_not_balance_is_refused_by_name():
    with pytest.raises(BadRequest, match=r"brackets \{ \} and \( \) do not balance"):
        expand("SELECT ?xLabel WHERE { ?x ?p ?o " + service("en"))


def test_two_services_in_one_group_are_refused():
    query = f"SELECT ?xLabel WHERE {{ ?x ?p ?o {service('en')} {service('bn')} }}"
    with pytest.raises(BadRequest, match="two SERVICE wikibase:label"):
        expand(query)


def test_an_expansion_beyond_the_size_limit_is_refused_and_a_long_text_is_left_to_the_guard():
    query = f"SELECT ?xLabel ?xAltLabel ?xDescription WHERE {{ ?x ?p ?o {service('en,bn,ru')} }}"
    assert len(expand(query).encode()) > 1024
    with pytest.raises(PayloadTooLarge, match="more than 1024 bytes"):
        expand(query, max_length=1024)
    assert expand(query, max_length=len(query) - 1) == query  # the guard refuses it with its own message


# ---------------------------------------------------------------- a few triples of their own, two engines

SMALL = """
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
<urn:x:a> rdfs:label "zeta"@en , "alpha"@en , "Ah"@EN-GB ;
    schema:description "first letter"@fr , "Buchstabe"@de ;
    skos:altLabel "A"@en , "a"@en , "ah"@de .
<urn:x:b> rdfs:label "bee"@en .
"""


@pytest.fixture(scope="module")
def small() -> tuple[ox.Store, rdflib.Graph]:
    store = ox.Store()
    store.load(SMALL.encode(), format=ox.RdfFormat.TURTLE)
    return store, rdflib.Graph().parse(data=SMALL, format="turtle")


def on_both(small, query: str) -> list[dict[str, str | None]]:
    """The rows of the rewritten query on pyoxigraph, after checking that rdflib gives the same."""
    store, graph = small
    text = expand(query)
    ox_result = store.query(text, prefixes=PREFIXES)
    names = [v.value for v in ox_result.variables]
    found = [{n: cell(row[n]) for n in names} for row in ox_result]
    rdflib_rows = [{n: cell(row[n]) for n in names} for row in graph.query(text, initNs=PREFIXES)]
    assert sorted(map(repr, rdflib_rows)) == sorted(map(repr, found))
    return found


def test_a_description_falls_through_the_languages_and_has_no_id_fallback(small):
    query = "SELECT ?x ?xDescription WHERE {{ VALUES ?x {{ <urn:x:a> <urn:x:b> }} {} }}"
    found = on_both(small, query.format(service("en,de,fr")))
    assert sorted(found, key=lambda r: r["x"]) == [
        {"x": "urn:x:a", "xDescription": "Buchstabe@de"},
        {"x": "urn:x:b", "xDescription": None},
    ]


def test_a_description_is_unbound_when_no_language_has_one(small):
    query = "SELECT ?x ?xDescription WHERE { VALUES ?x { <urn:x:a> } " + service("en,ru") + " }"
    assert on_both(small, query) == [{"x": "urn:x:a", "xDescription": None}]


def test_alt_labels_are_joined_with_a_comma(small):
    query = "SELECT ?x ?xAltLabel WHERE { VALUES ?x { <urn:x:a> } " + service("ru,en") + " }"
    [row] = on_both(small, query)
    assert row["xAltLabel"] == "A, a@en"  # in code point order


def test_two_labels_in_one_language_give_one_row_with_the_first_in_order(small):
    query = "SELECT ?xLabel WHERE { VALUES ?x { <urn:x:a> } " + service("en") + " }"
    assert on_both(small, query) == [{"xLabel": "alpha@en"}]


def test_an_unbound_subject_has_no_label_on_either_engine(small):
    # rdflib gives STR() of a blank node a value: the ID fallback must not read the placeholder.
    query = "SELECT ?x ?c ?cLabel WHERE { VALUES ?x { <urn:x:a> } OPTIONAL { ?x <urn:x:none> ?c } "
    assert on_both(small, query + service("en") + " }") == [{"x": "urn:x:a", "c": None, "cLabel": None}]


def test_a_language_subtag_is_its_own_language(small):
    query = "SELECT ?xLabel WHERE { VALUES ?x { <urn:x:a> } " + service("en-gb") + " }"
    assert on_both(small, query) == [{"xLabel": "Ah@en-gb"}]


@pytest.fixture(scope="module")
def rdflib_dataset(kg):
    return kg.to_rdflib()


# rdflib's own evaluator calls its deprecated Dataset API; nothing of ours does.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")
@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?p ?pLabel ?pAltLabel ?pDescription WHERE { ?p owl:sameAs ?item . "
        + service("[AUTO_LANGUAGE],bn")
        + " }",
        "SELECT ?m ?mLabel ?c ?cLabel WHERE { ?m a hos:Meeting . OPTIONAL { ?m hos:location ?c } "
        + service("ru,bn")
        + " }",
        "SELECT ?x ?xLabel ?xAltLabel WHERE { ?x skos:altLabel ?any " + service("bn,en") + " }",
    ],
)
def test_pyoxigraph_and_rdflib_give_the_same_answers_on_the_build(kg, rdflib_dataset, query):
    text = expand(query)
    ox_result = kg.query(text)
    names = [v.value for v in ox_result.variables]
    found = sorted(repr({n: cell(row[n]) for n in names}) for row in ox_result)
    answers = rdflib_dataset.query(text, initNs=PREFIXES)
    other = sorted(repr({n: cell(row[n]) for n in names}) for row in answers)
    assert found == other and found


# ---------------------------------------------------------------- through the endpoint and the CLI

WDQS_STYLE = (
    "SELECT ?p ?pLabel ?itemLabel WHERE {\n  ?p owl:sameAs ?item . VALUES ?item { wd:Q7747 }\n"
    '  SERVICE wikibase:label { bd:serviceParam wikibase:language "[AUTO_LANGUAGE],bn,en". }\n}'
)


def test_the_endpoint_answers_a_query_copied_from_wdqs(client):
    response = client.post("/sparql", data={"query": WDQS_STYLE}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    [row] = response.get_json()["results"]["bindings"]
    assert row["pLabel"] == {"type": "literal", "value": PUTIN["en"], "xml:lang": "en"}
    assert row["itemLabel"]["value"] == PUTIN["en"]


def test_the_endpoint_answers_a_get_and_a_sparql_query_post(client):
    accept = {"Accept": "application/sparql-results+json"}
    got = client.get("/sparql", query_string={"query": WDQS_STYLE}, headers=accept)
    posted = client.post(
        "/sparql", data=WDQS_STYLE.encode(), headers={**accept, "Content-Type": "application/sparql-query"}
    )
    assert got.status_code == posted.status_code == 200
    assert got.get_json() == posted.get_json()


def test_the_guard_checks_the_rewritten_query_and_it_needs_no_network():
    job = protocol.build_job(WDQS_STYLE, MultiDict(), {}, Settings(), "http://localhost/sparql")
    assert "SERVICE" not in job.query.upper() and job.network is False


def test_another_service_beside_the_label_service_is_still_refused(client):
    query = WDQS_STYLE.replace("}\n}", "}\n  SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o }\n}")
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    assert "SERVICE <http://127.0.0.1:9/sparql> is not allowed" in response.get_json()["error"]


def test_a_malformed_service_through_the_endpoint_is_a_400_naming_the_problem(client):
    query = WDQS_STYLE.replace('"[AUTO_LANGUAGE],bn,en"', "?lang")
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    assert response.is_json and "wikibase:language takes a string" in response.get_json()["error"]


def test_kg_query_answers_the_label_service_too(settings):
    text = console.run_query(
        dataclasses.replace(settings, query_workers=0), None, (), WDQS_STYLE, None, "table", True
    )
    assert PUTIN["en"] in text and "1 row(s)" in text


# ---------------------------------------------------------------- found by review: limits and edge cases


def many_labels(columns: int, languages: int) -> str:
    """?v0AltLabel … for ``columns`` variables, in ``languages`` three-letter languages."""
    codes = ["".join(c) for c in itertools.product(string.ascii_lowercase, repeat=3)][:languages]
    names = [f"?v{i}" for i in range(columns)]
    return (
        f"SELECT {' '.join(n + 'AltLabel' for n in names)} WHERE {{ VALUES ({' '.join(names)}) {{ }} "
        f'SERVICE wikibase:label {{ bd:serviceParam wikibase:language "{",".join(codes)}" }} }}'
    )


def peak_bytes(call) -> int:
    """The most memory ``call()`` held at once (tracemalloc), whatever it raised."""
    tracemalloc.start()
    try:
        call()
    except Exception:
        pass  # the callers check the error themselves
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_long_list_of_languages_is_refused_by_its_length_before_anything_is_written(client):
    query = many_labels(400, 1500)
    assert len(query.encode()) == 13_872  # the size of the review's example
    with pytest.raises(BadRequest, match="at most 32 languages"):
        expand(query, max_length=16 * 1024)
    assert peak_bytes(lambda: expand(query, max_length=16 * 1024)) < 20 * 2**20
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    assert "at most 32 languages" in response.get_json()["error"]


def test_too_many_labels_are_refused_before_they_are_written(client):
    query = many_labels(400, 32)  # 12,800 patterns of about 300 bytes: far beyond the limit
    with pytest.raises(PayloadTooLarge, match="more than 16384 bytes"):
        expand(query, max_length=16 * 1024)
    assert peak_bytes(lambda: expand(query, max_length=16 * 1024)) < 4 * 2**20  # 9 MB when written out
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 413
    assert "label service makes it more than 16384 bytes" in response.get_json()["error"]


def test_writing_stops_at_the_limit_when_the_lower_bound_lets_the_query_through():
    query = f"SELECT ?xLabel ?xAltLabel ?xDescription WHERE {{ ?x ?p ?o {service('en,bn,ru')} }}"
    size = len(expand(query).encode())
    assert expand(query, max_length=size) == expand(query)
    with pytest.raises(PayloadTooLarge, match=f"more than {size - 1} bytes"):
        expand(query, max_length=size - 1)


def test_the_language_limit_counts_distinct_languages():
    assert "STRLANG" in expand(many_labels(1, 32).replace('" }', ',aaa,AAA" }'))


@pytest.mark.parametrize("escape", ["\\U0011FFFF", "\\uD800"])
def test_an_escape_that_is_no_character_is_a_bad_request_naming_it(client, escape):
    query = WDQS_STYLE.replace("[AUTO_LANGUAGE],bn,en", escape)
    with pytest.raises(BadRequest, match=re.escape(escape)):
        expand(query)
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    assert response.is_json and escape in response.get_json()["error"]


def test_kg_query_reports_a_bad_escape_without_a_traceback(settings, monkeypatch):
    monkeypatch.setenv("KG_BUILD_DIR", str(settings.build_dir))
    query = WDQS_STYLE.replace("[AUTO_LANGUAGE],bn,en", "\\U0011FFFF")
    result = CliRunner().invoke(main, ["query", "--sparql", query])
    assert result.exit_code == 1
    assert "\\U0011FFFF" in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


COMPARISON = (  # `<2019&&(?n>` reads as an IRI to the lexical rules, as "less than" to the engine
    "SELECT ?m ?n WHERE { ?m wdt:P585 ?d BIND(YEAR(?d) AS ?n) FILTER(?n<2019&&(?n>2017)) "
    'SERVICE wikibase:label { bd:serviceParam wikibase:language "en". } }'
)


def test_a_comparison_that_reads_as_an_iri_does_not_unbalance_the_brackets(client):
    plain = COMPARISON.replace('SERVICE wikibase:label { bd:serviceParam wikibase:language "en". } ', "")
    accept = {"Accept": "application/sparql-results+json"}
    without = client.post("/sparql", data={"query": plain}, headers=accept)
    assert without.status_code == 200, without.get_data(as_text=True)
    response = client.post("/sparql", data={"query": COMPARISON}, headers=accept)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == without.get_json()


def test_after_such_a_comparison_the_filter_ends_where_the_engine_ends_it(kg):
    # Were the FILTER read to the end of the group, ?m would occur only in it: no ?mLabel.
    query = (
        "SELECT ?mLabel WHERE { VALUES ?n { 2018 } FILTER(?n<2019&&(?n>2017)) VALUES ?m { wd:Q7747 } "
        + service("ru")
        + " }"
    )
    assert one(kg, query) == {"mLabel": PUTIN["ru"] + "@ru"}


def test_a_real_iri_with_a_lone_parenthesis_still_balances(kg):
    query = "SELECT ?xLabel WHERE { VALUES ?x { <http://example.org/a(> } " + service("en") + " }"
    assert one(kg, query) == {"xLabel": "http://example.org/a("}


def test_generated_names_avoid_a_variable_the_lexical_rules_read_inside_an_iri(kg):
    # ?_lbl1 occurs only inside `<4&&(…&&?n>`: the engine sees it, unbound, so the FILTER holds.
    query = (
        "SELECT ?xLabel WHERE { VALUES (?x ?n) { (wd:Q7747 3) } FILTER(?n<4&&(!BOUND(?_lbl1)&&?n>0)) "
        + service("ru")
        + " }"
    )
    assert "?__lbl1" in expand(query)
    assert one(kg, query) == {"xLabel": PUTIN["ru"] + "@ru"}


COMMENTED = """# Every meeting, labelled by the label service
SELECT ?m ?mLabel ?city ?cityLabel ?country ?countryLabel ?occasion ?occasionLabel ?status ?statusLabel
WHERE {
  ?m a hos:Meeting ; hos:location ?city ; hos:country ?country ; sdo:eventStatus ?status .
  OPTIONAL { ?m hos:occasion ?occasion }  # not every meeting has one
  SERVICE wikibase:label { bd:serviceParam wikibase:language "[AUTO_LANGUAGE],bn,ru". }
}"""


def test_a_comment_that_mentions_the_service_does_not_bring_the_limit_for_service_queries(client):
    assert len(COMMENTED.encode()) < 450
    response = client.post("/sparql", data={"query": COMMENTED}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["results"]["bindings"][0]["mLabel"]["xml:lang"] == "en"


def test_the_rewrite_drops_comments_and_keeps_the_lines():
    out = expand(COMMENTED)
    assert "#" not in out and "service" not in out.lower()
    assert out.count("\n") == COMMENTED.count("\n")
    assert out.split("\n")[4].rstrip() == "  OPTIONAL { ?m hos:occasion ?occasion }"


@pytest.mark.parametrize(
    "line",
    [
        "?x <urn:x:p> ?o . ?x ex:a\\#b ?c # the label service",  # a local name's escape reads as a comment
        "?x <urn:x:\\u0061#b> ?o # the label service",  # an escape in an IRI: one IRI to the engine
        "?x <urn:x:p> ?o # the label service\r?x ?q ?r",  # a bare \r: parsers may differ
    ],
)
def test_a_comment_the_lexical_rules_may_misread_is_kept(line):
    query = f"SELECT ?xLabel WHERE {{\n{line}\n{service('en')}\n}}"
    assert "# the label service" in expand(query)


def test_a_service_beside_the_label_service_keeps_the_limit_for_service_queries_on_the_rewritten_text():
    wikidata = "SERVICE <https://query.wikidata.org/sparql> { ?x ?p ?o }"
    labels = "?xLabel ?xAltLabel ?xDescription ?yLabel ?yAltLabel ?yDescription"
    query = f"SELECT {labels} WHERE {{ VALUES (?x ?y) {{ }} {wikidata} {service('en,bn,ru')} }}"
    assert len(query.encode()) < 4096 < len(expand(query).encode())
    with pytest.raises(PayloadTooLarge, match="a query that mentions SERVICE is"):
        protocol.build_job(query, MultiDict(), {}, Settings(), "http://localhost/sparql")


@pytest.mark.parametrize(
    ("manual", "name"),
    [
        ("?m rdfs:label ?m", "?m"),
        ("?m rdfs:label ?d", "?d"),  # ?d is bound by the group
        ("?m rdfs:label ?a ; schema:description ?a", "?a"),
    ],
)
def test_a_manual_binding_of_a_variable_already_bound_names_it(client, manual, name):
    query = "SELECT * WHERE { ?m wdt:P585 ?d " + service("en", manual) + " }"
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert re.search(re.escape(name) + r"\b", error) and "SERVICE wikibase:label" in error
    assert "syntax error" not in error


def test_a_manual_binding_used_afterwards_as_a_subject_is_fine(kg):
    labels = "?m rdfs:label ?a . ?a rdfs:label ?b"
    query = "SELECT ?b WHERE { VALUES ?m { wd:Q7747 } " + service("en", labels) + " }"
    assert one(kg, query) == {"b": PUTIN["en"]}  # the label of a literal: its ID fallback, STR(?a)


# ---------------------------------------------------------------- Blazegraph's query hints

HINTS = "http://www.bigdata.com/queryHints#"
PLAIN = """SELECT ?m ?c WHERE {
  { SELECT ?m WHERE { ?m a hos:Meeting } }
  ?m hos:location ?c .
  OPTIONAL { ?m hos:occasion ?o }
  FILTER(BOUND(?c))
}"""
# Each form: the replacements that put a hint into PLAIN.
HINT_FORMS = {
    "query, first in the group": [("WHERE {\n", 'WHERE {\n  hint:Query hint:optimizer "None" .\n')],
    "prior, after a triple": [("?c .\n", "?c . hint:Prior hint:rangeSafe true .\n")],
    "the dot glued to the literal": [("?c .\n", "?c . hint:Prior hint:runLast true.\n")],
    "no dot, last in the group": [("BOUND(?c))\n", "BOUND(?c)) hint:Group hint:maxParallel 10\n")],
    "after a group": [("?o }", '?o } hint:Prior hint:runFirst "true"^^xsd:boolean')],
    "after a filter, numbers": [("BOUND(?c))", "BOUND(?c)) hint:GroupAndSubGroups hint:x -1.5e3 .")],
    "in a subquery": [("{ ?m a hos:Meeting }", "{ ?m a hos:Meeting . hint:SubQuery hint:runOnce true }")],
    "property and object lists": [("?c .\n", '?c . hint:Query hint:optimizer "None" ; hint:a 4, 5 ; .\n')],
    "a language tag": [("?c .\n", '?c . hint:Query hint:note "x"@en-GB .\n')],
    "a comment inside": [("?c .\n", "?c . hint:Prior # the prior one\n  hint:runLast true .\n")],
    "full IRIs": [("WHERE {\n", f'WHERE {{ <{HINTS}Query> <{HINTS}optimizer> "None" .\n')],
    "the user's prefix": [
        ("SELECT ?m ?c", f"PREFIX h: <{HINTS}> SELECT ?m ?c"),
        ("?c .\n", '?c . h:Prior h:runLast "true" .\n'),
    ],
    "an escape in the IRI": [("WHERE {\n", f'WHERE {{ <{HINTS}\\u0051uery> hint:optimizer "None" .\n')],
    "relative to BASE": [
        ("SELECT ?m ?c", "BASE <http://www.bigdata.com/> SELECT ?m ?c"),
        ("?c .\n", "?c . <queryHints#Prior> <queryHints#runLast> true .\n"),
    ],
}


def hinted(form: str, query: str = PLAIN) -> str:
    for old, new in HINT_FORMS[form]:
        assert old in query, (form, old)
        query = query.replace(old, new, 1)
    return query


def answer_rows(result) -> list[str]:
    """The rows of a pyoxigraph or an rdflib result, sorted."""
    names = [str(v) for v in result.vars] if hasattr(result, "vars") else [v.value for v in result.variables]
    return sorted(repr({n: cell(row[n]) for n in names}) for row in result)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")
@pytest.mark.parametrize("form", sorted(HINT_FORMS))
def test_a_hint_is_dropped_and_the_answer_is_the_one_without_it(kg, rdflib_dataset, client, form):
    query = hinted(form)
    text = expand(query)
    assert not re.search(r"\bh(?:int)?:\w|queryHints#[^>]", text), text  # the PREFIX, BASE stay
    assert text.count("\n") == query.count("\n")  # the lines stay
    plain = [answer_rows(kg.query(PLAIN)), answer_rows(rdflib_dataset.query(PLAIN, initNs=PREFIXES))]
    assert plain[0] == plain[1] and plain[0]
    assert answer_rows(kg.query(text)) == plain[0]
    assert answer_rows(rdflib_dataset.query(text, initNs=PREFIXES)) == plain[0]
    accept = {"Accept": "application/sparql-results+json"}
    without = client.post("/sparql", data={"query": PLAIN}, headers=accept)
    response = client.post("/sparql", data={"query": query}, headers=accept)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == without.get_json()


def test_hints_and_the_label_service_together(kg):
    query = (
        'SELECT ?xLabel WHERE { hint:Query hint:optimizer "None" . VALUES ?x { wd:Q7747 } '
        "hint:Prior hint:runLast true . "
        + service("ru", "hint:Prior hint:runLast true .")
        + " hint:Prior hint:runLast true }"
    )
    assert one(kg, query) == {"xLabel": PUTIN["ru"] + "@ru"}


def test_the_hint_prefix_is_predeclared():
    assert PREFIXES["hint"] == HINTS


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?s WHERE { VALUES ?s { \"hint:Query hint:optimizer 'None' .\" } }",
        "SELECT ?s WHERE { VALUES ?s { 1 } # hint:Prior hint:runLast true .\n}",
        "SELECT ?s WHERE { VALUES ?s { <urn:x:hint:Query> } }",
        "PREFIX hint: <urn:x:mine#> SELECT ?s WHERE { VALUES ?s { 1 } "
        "OPTIONAL { hint:Query hint:optimizer 'x' } }",
        'CONSTRUCT { hint:Query hint:note "kept" } WHERE { }',
    ],
    ids=["string", "comment", "iri", "redefined-prefix", "construct-template"],
)
def test_a_hint_that_is_no_hint_is_left_alone(kg, query):
    assert expand(query) == query
    kg.query(query)  # and it runs as written


def test_the_text_of_a_string_beside_a_hint_is_untouched(kg):
    query = (
        'SELECT ?s WHERE { hint:Query hint:optimizer "None" . VALUES ?s { "hint:Prior hint:runLast true ." } '
    )
    query += "}"
    assert one(kg, query) == {"s": "hint:Prior hint:runLast true ."}


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("?m hos:location ?c ; hint:Prior hint:rangeSafe true .", "hint:Prior"),  # WDQS refuses it too
        ("?m hos:location ?c , hint:Prior .", "hint:Prior"),
        ("hint:Query hint:optimizer ?v .", "hint:Query"),  # a hint's value is a literal
        ("hint:Query hint:optimizer hint:None .", "hint:Query"),
        ('hint:Everything hint:optimizer "None" .', "hint:Everything"),  # no such scope
        ("hint:Query rdfs:label ?l .", "hint:Query"),
        ('hint:Query hint:optimizer "None" ; rdfs:label ?l .', "hint:Query"),
        ("?m hint:optimizer ?c .", "hint:optimizer"),
        (f"?m <{HINTS}Prior> ?c .", f"<{HINTS}Prior>"),
    ],
)
def test_a_hint_that_cannot_be_dropped_is_a_400_naming_it(client, pattern, named):
    query = PLAIN.replace("?m hos:location ?c .", pattern)
    with pytest.raises(BadRequest, match=re.escape(named) + r" \(line 3\)"):
        expand(query)
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert named in error and "hint" in error and "syntax error" not in error.lower()


def test_a_long_query_with_hints_is_left_to_the_guard_unread(monkeypatch):
    from kg import label_service

    query = PLAIN.replace("?c .\n", "?c . hint:Prior hint:runLast true .\n" + " " * 200)
    monkeypatch.setattr(label_service, "_tokens", lambda *_: pytest.fail("read a query the guard refuses"))
    assert expand(query, max_length=200) is query
    with pytest.raises(PayloadTooLarge, match="the limit is 200"):
        protocol.build_job(query, MultiDict(), {}, Settings(max_query_length=200), "http://localhost/sparql")


def test_a_deep_query_with_a_hint_is_refused_as_the_one_without_it():
    deep = "SELECT * WHERE { " + "{ " * 80 + "?s ?p ?o" + " }" * 80 + " }"
    for query in (deep, deep.replace("?s ?p ?o", 'hint:Query hint:optimizer "None" . ?s ?p ?o')):
        with pytest.raises(BadRequest, match="nests groups or parentheses 81 deep"):
            protocol.build_job(query, MultiDict(), {}, Settings(), "http://localhost/sparql")


def test_a_query_of_many_hints_within_the_limit_has_them_all_dropped():
    # Speed is measured in bench/, never asserted here: this checks the answer on the largest such text.
    hint = 'hint:Prior hint:runLast true . ?s ?p "x" . '
    query = "SELECT * WHERE { " + hint * (16 * 1024 // len(hint) - 1) + "}"
    assert len(query) < 16 * 1024
    out = expand(query, max_length=16 * 1024)
    assert out.count("hint") == 0 and out.count('?s ?p "x"') == query.count('?s ?p "x"')


# ---------------------------------------------------------------- [AUTO_LANGUAGE]: the request's language

AUTO = (
    "SELECT ?pLabel WHERE { ?p owl:sameAs wd:Q7747 . "
    'SERVICE wikibase:label { bd:serviceParam wikibase:language "[AUTO_LANGUAGE],en". } }'
)
JSON = "application/sparql-results+json"


def auto_label(client, accept_language: str | None = None, **params) -> tuple[str, object]:
    headers = {
        "Accept": JSON,
        **({"Accept-Language": accept_language} if accept_language is not None else {}),
    }
    response = client.get("/sparql", query_string={"query": AUTO, **params}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    [row] = response.get_json()["results"]["bindings"]
    return row["pLabel"]["value"], response


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("bn", "bn"),
        ("ru", "ru"),
        ("ru-RU,ru;q=0.9", "ru"),
        ("de, bn;q=0.5, ru;q=0.8", "ru"),
        ("de", "en"),  # a language the pages do not speak
        ("", "en"),
        (None, "en"),
    ],
)
def test_accept_language_gives_the_automatic_language(client, header, language):
    assert auto_label(client, header)[0] == PUTIN[language]


def test_the_lang_parameter_wins_over_the_header(client):
    assert auto_label(client, "bn", lang="ru")[0] == PUTIN["ru"]
    assert auto_label(client, "ru", lang="bn")[0] == PUTIN["bn"]
    assert auto_label(client, "bn", lang="de")[0] == PUTIN["en"]  # no German label: the next language


def test_a_malformed_lang_parameter_is_a_400_naming_it(client):
    response = client.get("/sparql", query_string={"query": AUTO, "lang": "e n"})
    assert response.status_code == 400
    assert "'e n'" in response.get_json()["error"]


def test_a_form_post_takes_the_header_too(client):
    response = client.post("/sparql", data={"query": AUTO}, headers={"Accept": JSON, "Accept-Language": "ru"})
    assert response.get_json()["results"]["bindings"][0]["pLabel"]["value"] == PUTIN["ru"]


def test_an_answer_in_one_language_is_never_served_for_another(counted):
    client, seen = counted
    english, first = auto_label(client, "en")
    bengali, second = auto_label(client, "bn")
    assert (english, bengali) == (PUTIN["en"], PUTIN["bn"])
    assert auto_label(client, "en")[0] == PUTIN["en"] and auto_label(client, "bn")[0] == PUTIN["bn"]
    assert len(seen) == 4  # none was replayed from the response cache
    for response in (first, second):
        assert "Accept-Language" in response.headers["Vary"] and "Accept" in response.headers["Vary"]
    assert first.headers["ETag"] != second.headers["ETag"]


def test_an_answer_that_names_its_language_is_still_stored(counted):
    client, seen = counted
    assert auto_label(client, "en", lang="ru")[0] == PUTIN["ru"]
    label, response = auto_label(client, "bn", lang="ru")
    assert label == PUTIN["ru"] and len(seen) == 1
    assert "Accept-Language" not in response.headers["Vary"]


def test_an_answer_without_auto_language_does_not_vary_by_language(counted):
    client, seen = counted
    query = AUTO.replace("[AUTO_LANGUAGE],en", "bn")
    for language in ("en", "ru"):
        response = client.get("/sparql", query_string={"query": query}, headers={"Accept-Language": language})
        assert response.status_code == 200 and "Accept-Language" not in response.headers["Vary"]
    assert len(seen) == 1


def test_build_job_passes_the_language_and_kg_query_keeps_english():
    job = protocol.build_job(AUTO, MultiDict(), {}, Settings(), "http://localhost/sparql", auto_language="bn")
    assert '= "bn"' in job.query and '= "en"' in job.query
    assert (
        '= "bn"' not in protocol.build_job(AUTO, MultiDict(), {}, Settings(), "http://localhost/sparql").query
    )
