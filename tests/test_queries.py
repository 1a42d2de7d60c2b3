"""Canned queries (kg.queries): parameters at their limits, each check alone, headers that stop start-up.

Every refusal here is made by one check only: no later check (a type, a
pattern, the engine) would refuse the same input, so a test fails if that
check goes missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import queries
from kg.errors import BadRequest, DataError
from kg.namespaces import PREFIXES
from kg.queries import MAX_VALUE_LENGTH, CannedQuery, Param, load_queries, load_query, parse_header

XSD = "http://www.w3.org/2001/XMLSchema#"


def canned(*params: Param) -> CannedQuery:
    return CannedQuery("q", "Q", "", "SELECT * {}", Path("q.rq"), params=params)


def refused(param: Param, raw: str) -> str:
    with pytest.raises(BadRequest) as info:
        param.term(raw)
    return info.value.message


# ---------------------------------------------------------------- the length limit at N and N+1


def test_a_value_of_exactly_the_limit_is_taken_and_one_more_character_is_refused():
    text = Param("text", "string")
    assert MAX_VALUE_LENGTH == 2048
    assert text.term("x" * 2048) == ox.Literal("x" * 2048)
    assert refused(text, "x" * 2049) == "parameter 'text' is 2049 characters long; the limit is 2048"


def test_the_length_is_checked_before_the_allowed_values():
    param = Param("lang", "string", values=("en",))
    assert "2049 characters long" in refused(param, "y" * 2049)


# ---------------------------------------------------------------- each type, and each check alone


def test_a_five_digit_year_is_refused_by_the_year_check_alone():
    year = Param("year", "year")
    # 20180 is an integer, short and unrestricted: only the four-digit rule refuses it.
    assert (
        refused(year, "20180") == "parameter 'year' must be a year (YYYY): '20180' is not a four-digit year"
    )
    assert "four-digit" in refused(year, "218")
    assert year.term("2018") == ox.Literal("2018", datatype=ox.NamedNode(XSD + "integer"))
    assert year.term(" 2018 ").value == "2018"
    assert year.term("-0500").value == "-500"  # a year BCE, as xsd:integer


def test_integers_are_normalised_and_typed():
    n = Param("n", "integer")
    assert n.term(" 007 ") == ox.Literal("7", datatype=ox.NamedNode(XSD + "integer"))
    assert n.term("-3").value == "-3"
    assert refused(n, "three").startswith("parameter 'n' must be an integer: ")


def test_dates_are_normalised_and_typed():
    day = Param("from", "date")
    assert day.term(" 2018-07-16 ") == ox.Literal("2018-07-16", datatype=ox.NamedNode(XSD + "date"))
    assert refused(day, "2018-13-01").startswith("parameter 'from' must be a date (YYYY-MM-DD): ")


@pytest.mark.parametrize(
    ("raw", "term"),
    [
        ("Hamburg@en", ox.Literal("Hamburg", language="en")),
        ("a@b@ru", ox.Literal("a@b", language="ru")),  # the last @ separates the tag
        ("x@zh-Hant-TW", ox.Literal("x", language="zh-Hant-TW")),
        ("x@es-419", ox.Literal("x", language="es-419")),
        ("@en", ox.Literal("", language="en")),
    ],
)
def test_lang_strings_split_at_the_last_at_sign(raw, term):
    assert Param("label", "lang-string").term(raw) == term


@pytest.mark.parametrize("raw", ["Hamburg", "Hamburg@", "Hamburg@e", "Hamburg@english", "x@en-", "x@en US"])
def test_lang_strings_without_a_valid_tag_are_refused(raw):
    message = refused(Param("label", "lang-string"), raw)
    assert message == (
        "parameter 'label' must be a string with a language tag (text@lang): "
        "write it as text@lang, e.g. Hamburg@en"
    )


def test_iris_must_be_absolute():
    iri = Param("iri", "iri")
    assert iri.term("urn:x:1") == ox.NamedNode("urn:x:1")
    assert iri.term("https://w3id.org/hos-kg/id/x") == ox.NamedNode("https://w3id.org/hos-kg/id/x")
    assert refused(iri, "meeting/1") == (
        "parameter 'iri' must be an IRI written in full (https://…), as a prefixed name (place:ukraine) "
        "or as a Wikidata ID (Q212): 'meeting/1' is none of these"
    )
    assert refused(iri, "1x:y").startswith("parameter 'iri' must be an IRI")  # a scheme starts a letter
    assert refused(iri, "http://a b").endswith(
        "'http://a b' is not an IRI: it contains ' '"
    )  # pyoxigraph's check, in our words


def test_strings_are_taken_as_they_are():
    assert Param("text", "string").term(' a "b" } ') == ox.Literal(' a "b" } ')


def test_allowed_values_are_listed_and_cut_after_twenty():
    few = Param("lang", "string", values=("en", "bn"))
    assert few.term("bn") == ox.Literal("bn")
    assert refused(few, "fr") == "parameter 'lang' must be one of: en, bn"
    many = Param("n", "integer", values=tuple(str(i) for i in range(25)))
    assert refused(many, "99") == "parameter 'n' must be one of: " + ", ".join(map(str, range(20))) + ", …"
    twenty = Param("n", "integer", values=tuple(str(i) for i in range(20)))
    assert refused(twenty, "99").endswith(", 19")


# ---------------------------------------------------------------- binding a request's values


def test_an_empty_required_string_is_refused_by_the_required_check_alone():
    query = canned(Param("text", "string", required=True))
    with pytest.raises(BadRequest) as info:
        query.bindings({"text": [""]})
    assert info.value.message == "parameter 'text' is required: a string"
    # Not required: the empty string is a value like any other.
    optional = canned(Param("text", "string", default="x"))
    assert optional.bindings({"text": [""]}) == {"_text": ox.Literal("")}


def test_a_missing_value_takes_the_default_or_is_required():
    query = canned(Param("n", "integer", default="1"), Param("iri", "iri", required=True))
    with pytest.raises(BadRequest, match=r"^parameter 'iri' is required: an IRI written in full \(https"):
        query.bindings({})
    assert query.bindings({"iri": ["urn:x"]}) == {
        "_n": ox.Literal("1", datatype=ox.NamedNode(XSD + "integer")),
        "_iri": ox.NamedNode("urn:x"),
    }
    assert queries.bindings(query, {"iri": "urn:y", "n": "3"})["_n"].value == "3"


def test_unknown_and_repeated_parameters_are_named():
    query = canned(Param("n", "integer", default="1"), Param("m", "integer", default="2"))
    with pytest.raises(BadRequest) as info:
        query.bindings({"z": ["1"], "a": ["2"]})
    assert info.value.message == "unknown parameter(s) a, z for query 'q'; it takes: n, m"
    with pytest.raises(BadRequest) as info:
        canned().bindings({"a": ["1"]})
    assert info.value.message == "unknown parameter(s) a for query 'q'; it takes: none"
    with pytest.raises(BadRequest) as info:
        query.bindings({"n": ["1", "3", "4"]})
    assert info.value.message == "parameter 'n' is given 3 times; give it once"


def test_resolve_values_fills_values_from_the_graph():
    query = canned(Param("s", "iri", values_from="urn:class"), Param("n", "integer", default="1"))
    resolved = queries.resolve_values({"q": query}, lambda cls: [cls + "/a", cls + "/b"])
    assert resolved["q"].param_map["s"].values == ("urn:class/a", "urn:class/b")
    assert resolved["q"].param_map["n"].values == ()
    assert query.params[0].values == ()  # the registry is not changed in place


# ---------------------------------------------------------------- the same checks over HTTP


def _error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    return json.loads(response.get_data(as_text=True))["error"]


def test_year_20180_gets_400_over_http(client):
    response = client.get("/api/queries/meetings-in-year", query_string={"year": "20180"})
    assert "parameter 'year' must be a year (YYYY)" in _error(response, 400)
    assert client.get("/api/queries/meetings-in-year", query_string={"year": "2018"}).status_code == 200


def test_an_empty_required_string_gets_400_over_http(client):
    response = client.get("/api/queries/search-labels", query_string={"text": ""})
    assert _error(response, 400) == "parameter 'text' is required: a string; e.g. hamburg"


def test_a_value_of_2049_characters_gets_400_over_http(client):
    ok = client.get("/api/queries/search-labels", query_string={"text": "x" * 2048})
    assert ok.status_code == 200
    too_long = client.get("/api/queries/search-labels", query_string={"text": "x" * 2049})
    assert "is 2049 characters long; the limit is 2048" in _error(too_long, 400)


# ---------------------------------------------------------------- query files: what stops start-up


def write(tmp_path: Path, text: str, name: str = "q.rq") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """#+ title: A question
#+ description: What it answers
#+ tags: [a, b]
#+ params:
#+   n: {type: integer, default: 2, description: "A number"}
#+   s: {type: iri, values_from: "hos:SummitSeries", example: "urn:x"}
SELECT ?x ?_n ?_s WHERE { BIND(?_n AS ?x) }
"""


def test_a_good_file_loads_with_its_header(tmp_path):
    query = load_query(write(tmp_path, GOOD, "good-one.rq"))
    assert (query.name, query.title, query.description, query.tags) == (
        "good-one",
        "A question",
        "What it answers",
        ("a", "b"),
    )
    n, s = query.params
    assert n == Param("n", "integer", "A number", default="2", required=False, example="2")
    assert s.values_from == "https://w3id.org/hos-kg/ontology#SummitSeries"
    assert (s.required, s.default, s.example, s.description) == (True, None, "urn:x", "")
    assert query.text.startswith("#+ title") and query.path.name == "good-one.rq"


def test_header_values_are_kept_as_text(tmp_path):
    text = (
        "#+ title: T\n#+ params:\n#+   v: {type: string, values: [1, 2], default: 1, required: true}\n"
        "SELECT ?_v {}\n"
    )
    (v,) = load_query(write(tmp_path, text)).params
    assert (v.values, v.default, v.required, v.values_from) == (("1", "2"), "1", True, None)


def test_files_load_sorted_by_name_and_only_rq(tmp_path):
    for name in ("b.rq", "a.rq", "c.txt"):
        write(tmp_path, "#+ title: T\nASK {}\n", name)
    assert list(load_queries(tmp_path)) == ["a", "b"]


def test_the_header_prefix_is_stripped_once(tmp_path):
    meta = parse_header("#+title: T\n#+ params:\n#+   x: {type: iri}\nASK {}\n# a comment\n", Path("x.rq"))
    assert meta == {"title": "T", "params": {"x": {"type": "iri"}}}  # nesting kept


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ASK {}\n", "no '#+' header"),
        ("#+ title: [unclosed\nASK {}\n", "bad '#+' YAML header"),
        ("#+ - a list\nASK {}\n", "must be a mapping with a 'title'"),
        ("#+ title: 3\nASK {}\n", "must be a mapping with a 'title'"),
        ("#+ description: no title\nASK {}\n", "must be a mapping with a 'title'"),
        ("#+ title: T\n#+ tags: one\nASK {}\n", "'tags' must be a list"),
        ("#+ title: T\n#+ params: [a]\nSELECT ?_a {}\n", "'params' must be a mapping"),
        ("#+ title: T\nSELECT ?_x {}\n", "?_x is used in the query but not declared"),
        ("#+ title: T\n#+ params:\n#+   x: {default: 1}\nSELECT ?_x {}\n", "parameter 'x' needs a type"),
        ("#+ title: T\n#+ params:\n#+   x: integer\nSELECT ?_x {}\n", "parameter 'x' needs a type"),
        ("#+ title: T\n#+ params:\n#+   x: {type: float}\nSELECT ?_x {}\n", "parameter 'x' needs a type"),
        ("#+ title: T\n#+ params:\n#+   x: {type: iri}\nSELECT * {}\n", "?_x is not in the query"),
        (
            "#+ title: T\n#+ params:\n#+   x: {type: iri, colour: red, size: 1}\nSELECT ?_x {}\n",
            "parameter 'x' has unknown key(s) colour, size",
        ),
        (
            "#+ title: T\n#+ params:\n#+   x: {type: integer, default: one}\nSELECT ?_x {}\n",
            "default or example of 'x' is not valid: parameter 'x' must be an integer",
        ),
        (
            "#+ title: T\n#+ params:\n#+   x: {type: year, example: 20180}\nSELECT ?_x {}\n",
            "default or example of 'x' is not valid",
        ),
        ("#+ title: T\nSELEKT * {}\n", "the query does not parse"),
        (
            "#+ title: T\n#+ params:\n#+   x: {type: iri}\nCONSTRUCT WHERE { ?_x ?p ?o }\n",
            "must be a SELECT that projects",
        ),
        (
            "#+ title: T\n#+ params:\n#+   x: {type: iri}\nSELECT ?s { ?s ?p ?_x }\n",
            "add each ?_name to the SELECT clause",
        ),
    ],
)
def test_a_bad_file_stops_start_up_naming_it_and_the_reason(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_query(path)
    assert info.value.message.startswith(f"{path}: ") and message in info.value.message


def test_parameters_in_comments_are_not_uses(tmp_path):
    text = "#+ title: T\n#+ params:\n#+   x: {type: iri}\n# uses ?_x\n  # ?_x\nSELECT * {}\n"
    with pytest.raises(DataError, match=r"\?_x is not in the query"):
        load_query(write(tmp_path, text))
    # And a commented-out use of an undeclared one is no use either.
    assert load_query(write(tmp_path, "#+ title: T\n# ?_y\nASK {}\n")).params == ()


@pytest.mark.parametrize(
    ("value", "expanded"),
    [
        ("hos:Person", "https://w3id.org/hos-kg/ontology#Person"),
        ("https://example.org/C", "https://example.org/C"),
        ("hos://x", "hos://x"),
        ("nope:C", "nope:C"),
    ],
)
def test_values_from_expands_known_prefixes_only(value, expanded):
    assert queries.expand_iri(value) == expanded


def test_the_projects_queries_all_load(settings):
    loaded = load_queries(settings.queries_dir)
    assert loaded and all(q.name == name for name, q in loaded.items())
    assert loaded["search-labels"].param_map["text"].required is True
    assert loaded["meeting-by-ordinal"].param_map["n"].required is False


# ---------------------------------------------------------------- smaller rules, each pinned


def test_twenty_one_allowed_values_are_cut_after_twenty():
    values = tuple(str(i) for i in range(21))
    assert refused(Param("n", "integer", values=values), "99").endswith(", 19, …")


def test_an_iri_scheme_may_be_upper_case_and_a_long_bad_iri_is_shown_cut():
    assert Param("iri", "iri").term("URN:X:1") == ox.NamedNode("URN:X:1")
    assert Param("iri", "iri").term("a+b.c-d:x") == ox.NamedNode("a+b.c-d:x")
    message = refused(Param("iri", "iri"), "/" + "x" * 99)
    assert message.endswith(repr("/" + "x" * 79) + " is none of these")


def test_a_long_bad_year_is_shown_cut():
    assert refused(Param("year", "year"), "1" * 30).endswith(repr("1" * 20) + " is not a four-digit year")


def test_a_value_given_twice_is_refused():
    query = canned(Param("n", "integer", default="1"))
    with pytest.raises(BadRequest, match=r"^parameter 'n' is given 2 times; give it once$"):
        query.bindings({"n": ["1", "2"]})


def test_values_from_keeps_colons_in_the_local_name():
    assert queries.expand_iri("hos:a:b") == "https://w3id.org/hos-kg/ontology#a:b"


def test_a_parameter_without_a_type_lists_the_types(tmp_path):
    text = "#+ title: T\n#+ params:\n#+   x: {default: 1}\nSELECT ?_x {}\n"
    with pytest.raises(DataError) as info:
        load_query(write(tmp_path, text))
    assert info.value.message.endswith(
        "parameter 'x' needs a type, one of iri, string, lang-string, integer, date, year"
    )


def test_a_minimal_file_gets_empty_defaults_and_its_path(tmp_path):
    path = write(tmp_path, "#+ title: Kurz\nASK { ?s hos:date ?o }\n", "minimal.rq")  # a predeclared prefix
    query = load_query(path)
    assert (query.path, query.description, query.tags, query.params) == (path, "", (), ())


def test_a_file_in_utf8_with_bengali_loads(tmp_path):
    query = load_query(write(tmp_path, "#+ title: সভা\n#+ description: বৈঠক\nASK {}\n"))
    assert (query.title, query.description) == ("সভা", "বৈঠক")


def test_a_query_file_is_read_as_utf8_whatever_the_locale(tmp_path):
    """A server started under the C locale (ASCII, as in many containers) reads the files the same."""
    path = write(tmp_path, "#+ title: সভা\nASK {}\n")
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    code = "import sys; from pathlib import Path; from kg.queries import load_query; "
    code += "print(ascii(load_query(Path(sys.argv[1])).title))"
    run = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (0, ascii("সভা") + "\n"), run.stderr
    assert load_query(path).title == "সভা"  # and here, in whatever locale the tests run


# ---------------------------------------------------------------- IRI parameters take what users type

WD = "http://www.wikidata.org/entity/"
PLACE = "https://w3id.org/hos-kg/id/place/"


@pytest.mark.parametrize(
    ("raw", "iri"),
    [
        (PLACE + "ukraine", PLACE + "ukraine"),
        (f"<{PLACE}ukraine>", PLACE + "ukraine"),  # as written in SPARQL
        ("place:ukraine", PLACE + "ukraine"),
        (" place:ukraine ", PLACE + "ukraine"),  # pasted with spaces around it
        ("wd:Q212", WD + "Q212"),
        ("hos:Meeting", "https://w3id.org/hos-kg/ontology#Meeting"),
        ("Q212", WD + "Q212"),  # a bare Wikidata ID: the item
        ("P710", WD + "P710"),  # the property's entity, not wdt:P710
        ("urn:x:1", "urn:x:1"),
        ("place://x", "place://x"),  # a URL whose scheme is also a prefix stays a URL
        ("<place:ukraine>", "place:ukraine"),  # in brackets, as in SPARQL: an IRI, not a prefixed name
        ("hso:Meeting", "hso:Meeting"),  # no such prefix: an IRI with that scheme (it matches nothing)
    ],
)
def test_an_iri_parameter_takes_a_full_iri_a_prefixed_name_or_a_wikidata_id(raw, iri):
    assert Param("subject", "iri").term(raw) == ox.NamedNode(iri)


def test_every_predeclared_prefix_expands_in_a_parameter():
    param = Param("iri", "iri")
    for prefix, namespace in PREFIXES.items():
        assert param.term(f"{prefix}:x1") == ox.NamedNode(namespace + "x1"), prefix


@pytest.mark.parametrize(
    "raw", ["ukraine place", "<>", '"x"', "", "Q", "q212", "Q212x", "place:ukraine place", "<place:ukraine"]
)
def test_a_value_that_is_not_an_iri_is_refused_saying_what_was_expected_with_an_example(raw):
    param = Param("subject", "iri", example="place:syria")
    message = refused(param, raw)
    assert message.startswith("parameter 'subject' must be an IRI"), message
    assert "prefixed name (place:ukraine)" in message and "Wikidata ID (Q212)" in message
    assert message.endswith("; e.g. place:syria")
    assert "Invalid" not in message and "Error" not in message  # pyoxigraph's words, reworded


def test_allowed_iris_are_compared_after_expansion():
    series = Param("series", "iri", values=("https://w3id.org/hos-kg/id/event/apec",))
    assert series.term("event:apec") == ox.NamedNode("https://w3id.org/hos-kg/id/event/apec")
    assert refused(series, "event:g7").startswith("parameter 'series' must be one of: ")


def test_values_from_is_read_by_the_same_function_as_parameters(tmp_path):
    assert queries.expand_iri("hos:Person") == "https://w3id.org/hos-kg/ontology#Person"
    text = '#+ title: T\n#+ params:\n#+   s: {type: iri, values_from: "Q5", example: "Q1"}\nSELECT ?_s {}\n'
    assert load_query(write(tmp_path, text)).params[0].values_from == WD + "Q5"


# ---------------------------------------------------------------- every example in a header answers


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("The number the source gives, e.g. 1 or 3", ("1", "3")),
        ("A Wikidata item, e.g. wd:Q212 (Ukraine) or wd:Q858 (Syria)", ("wd:Q212", "wd:Q858")),
        (
            "written text@lang, e.g. Hamburg@en, হামবুর্গ@bn or Гамбург@ru.",
            ("Hamburg@en", "হামবুর্গ@bn", "Гамбург@ru"),
        ),
        ("A year (e.g. 2018); or any other", ("2018",)),
        ("A subject, e.g. place:ukraine. Or else", ("place:ukraine",)),
        ("No examples here", ()),
    ],
)
def test_the_values_after_e_g_are_read_from_a_description(text, values):
    assert queries.examples_in(text) == values


def test_a_description_example_that_is_not_of_the_type_stops_start_up(tmp_path):
    header = '#+ title: T\n#+ params:\n#+   y: {type: year, description: "A year, e.g. 2018 or last"}\n'
    text = header + "SELECT ?_y {}\n"
    with pytest.raises(DataError, match=r"example 'last' of 'y' is not valid"):
        load_query(write(tmp_path, text))


def _samples() -> list:
    """(directory, query, parameter, value) for every value a header suggests."""
    from kg.config import Settings

    root = Settings().queries_dir
    out = []
    for directory in (root, root / "internal"):
        for query in load_queries(directory).values():
            samples = query.samples()
            if any(not samples[p.name] for p in query.params):
                continue  # a parameter with nothing suggested: an internal query that kg.proofs binds
            if "hsg" in query.tags:
                continue  # the records' queries: tests/test_hsg_queries.py, on a build with the records
            for name, values in samples.items():
                out += [
                    pytest.param(directory.name, query.name, name, v, id=f"{query.name}-{name}={v}")
                    for v in values
                ]
    return out


def _with_samples(query: CannedQuery, name: str, value: str) -> dict[str, str]:
    """``name=value``, and the first suggested value of every other parameter without a default."""
    others = {p.name: query.samples()[p.name][0] for p in query.params if p.default is None}
    return {**others, name: value}


@pytest.mark.parametrize(("directory", "name", "param", "value"), _samples())
def test_every_example_default_and_e_g_value_in_a_header_answers_rows(
    client, kg, settings, directory, name, param, value
):
    if directory == "internal":
        query = load_queries(settings.queries_dir / "internal")[name]
        result = kg.query(query.text, bindings=queries.bindings(query, _with_samples(query, param, value)))
        assert bool(result) if isinstance(result, ox.QueryBoolean) else list(result), (name, param, value)
        return
    query = load_queries(settings.queries_dir)[name]
    response = client.get(f"/api/queries/{name}.json", query_string=_with_samples(query, param, value))
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert json.loads(response.get_data(as_text=True))["results"]["bindings"], (name, param, value)


def test_every_query_with_parameters_has_samples_for_each(settings):
    for query in load_queries(settings.queries_dir).values():
        assert all(query.samples()[p.name] for p in query.params), query.name


# ---------------------------------------------------------------- the same over HTTP: API and pages


def _rows(response) -> list:
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return json.loads(response.get_data(as_text=True))["results"]["bindings"]


@pytest.mark.parametrize(
    ("name", "params", "meeting"),
    [
        ("meetings-on-subject", {"subject": "place:ukraine"}, "meeting/2018-07-16-helsinki"),
        ("meetings-on-subject", {"subject": "place:syria"}, "meeting/2019-06-28-osaka"),
        ("wikidata-meetings-on-subject", {"subject": "Q212"}, "meeting/2018-07-16-helsinki"),
        ("wikidata-meetings-on-subject", {"subject": "wd:Q858"}, "meeting/2019-06-28-osaka"),
        ("meetings-at-summit-series", {"series": "event:apec"}, "meeting/2017-11-10-da-nang"),
        ("statements-by-speaker", {"speaker": "person:donald-trump"}, "meeting/2018-07-16-helsinki"),
    ],
)
def test_prefixed_names_and_wikidata_ids_answer_over_http(client, name, params, meeting):
    found = [r["meeting"]["value"] for r in _rows(client.get(f"/api/queries/{name}", query_string=params))]
    assert "https://w3id.org/hos-kg/id/" + meeting in found


@pytest.mark.parametrize("raw", ["ukraine place", "<>", '"x"', "place:ukraine place"])
def test_a_value_that_is_not_an_iri_gets_400_saying_what_was_expected(client, raw):
    response = client.get("/api/queries/meetings-on-subject", query_string={"subject": raw})
    message = _error(response, 400)
    assert message.startswith("parameter 'subject' must be an IRI") and "place:ukraine" in message
    assert "; e.g. " in message


@pytest.mark.parametrize("raw", ["place:atlantis", "hso:Meeting", "Q1", "urn:x:nothing"])
def test_an_iri_that_matches_nothing_is_an_empty_answer(client, raw):
    assert _rows(client.get("/api/queries/meetings-on-subject", query_string={"subject": raw})) == []


def test_the_query_page_takes_a_prefixed_name(client):
    page = client.get("/queries/meetings-on-subject", query_string={"subject": "place:ukraine"})
    assert page.status_code == 200
    assert "2018-07-16-helsinki" in page.get_data(as_text=True)


# ---------------------------------------------------------------- parameters of ASK queries


def test_an_ask_query_may_take_parameters(tmp_path):
    text = "#+ title: T\n#+ params:\n#+   x: {type: iri, example: 'urn:x'}\nASK { ?_x ?p ?o }\n"
    assert load_query(write(tmp_path, text)).params[0].name == "x"
