"""The query guard (kg.guard): each limit at N and N+1, each bypass found, and a fuzz against the engine.

The fuzz's oracle is the engine itself: whatever the guard lets through is run
by pyoxigraph in this process, with network, and a listener on loopback
counts the connections it receives. A query the guard passes must never
reach the listener.
"""

from __future__ import annotations

import contextlib

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg import guard
from kg.errors import BadRequest, Forbidden, PayloadTooLarge
from tests.support import Listener

ALLOWED = ("https://query.wikidata.org/sparql",)


def check(query: str, base: str | None = "http://localhost/sparql", allow=ALLOWED) -> guard.Scan:
    return guard.check(guard.normalise(query), 16384, 64, allow, base)


@pytest.fixture(scope="module")
def listener():
    one = Listener()
    yield one
    one.sock.close()


# ---------------------------------------------------------------- the bypasses of the attack run


def test_a_prefixed_name_glued_to_service_is_expanded_and_refused(listener):
    q = f"PREFIX : <http://127.0.0.1:{listener.port}/x> SELECT ?x WHERE {{ SERVICE: {{ ?x ?y ?z }} }}"
    with pytest.raises(BadRequest, match=f"SERVICE <http://127.0.0.1:{listener.port}/x> is not allowed"):
        check(q)


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_a_comment_ended_by_any_line_end_hides_no_service(ending):
    q = f"SELECT ?x WHERE {{ #c{ending}SERVICE <http://127.0.0.1:9/x> {{ ?x ?y ?z }} }}"
    with pytest.raises(BadRequest, match="is not allowed"):
        check(q)


def test_deep_nesting_after_a_carriage_return_comment_is_measured():
    q = "SELECT * WHERE { #x\r" + "{" * 3000 + "}" * 3000 + " }"
    with pytest.raises(BadRequest, match="3001 deep; the limit is 64"):
        check(q)


def test_normalise_turns_every_line_end_into_a_newline():
    assert guard.normalise("a\rb\r\nc\nd") == "a\nb\nc\nd"


@pytest.mark.parametrize(
    "query",
    [
        "BASE <http://127.0.0.1:9/> SELECT * WHERE { SERVICE <x> { ?s ?p ?o } }",
        "select * where { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "SELECT * WHERE { FILTER EXISTS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
        "SELECT * WHERE { OPTIONAL { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
        "SELECT * WHERE { { SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } } }",
        "SELECT * WHERE { SERVICE wd:Q1 { ?s ?p ?o } }",
        "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?u) SERVICE ?u { ?s ?p ?o } }",
    ],
)
def test_every_spelling_of_a_service_target_is_resolved_before_the_allowlist(query):
    with pytest.raises(BadRequest, match="is not allowed"):
        check(query)


def test_the_review_bypass_with_escaped_line_ends_in_comments_is_refused(listener):
    """rdflib decodes \\u escapes in comments, Oxigraph does not: a decoy SERVICE to the allowed
    endpoint for rdflib, a hidden one to loopback for Oxigraph."""
    q = (
        'SELECT * WHERE {\n# \\u000a BIND("""\n'
        f"SERVICE <http://127.0.0.1:{listener.port}/internal-admin> {{ ?a ?b ?c }}\n"
        '# """ AS ?z)\n# \\u000a SERVICE <https://query.wikidata.org/sparql> { ?d ?e ?f }\n}'
    )
    with pytest.raises(BadRequest, match=r"may not use \\u or \\U escapes"):
        check(q)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1\\u003A9/x> { ?s ?p ?o } }",
        'SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p "\\u0041" } }',
    ],
)
def test_escapes_in_a_query_with_service_are_refused(query):
    with pytest.raises(BadRequest, match="escapes"):
        check(query)


def test_escapes_without_service_are_fine():
    assert check('ASK { ?s ?p "caf\\u00e9" }').services == ()


def test_the_grammar_and_the_lexical_rules_read_the_same_targets():
    q = "PREFIX p: <https://query.wikidata.org/> SELECT * WHERE { SERVICE p:sparql { ?s ?p ?o } }"
    assert check(q).services == ALLOWED
    assert guard.scan(guard.normalise(q), None).services == ALLOWED


def test_a_query_with_service_may_nest_up_to_the_limit():
    inner = "{" * 62 + " ?s ?p ?o " + "}" * 62
    q = f"SELECT * WHERE {{ SERVICE <https://query.wikidata.org/sparql> {inner} }}"
    assert check(q).services == ALLOWED


def test_relative_service_iris_resolve_against_the_base():
    assert check("SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }", base="https://query.wikidata.org/x")
    assert check("SELECT * WHERE { SERVICE <sparql> {} }", base="https://query.wikidata.org/").services == (
        "https://query.wikidata.org/sparql",
    )


def test_an_allowlisted_service_passes_and_is_reported():
    scan = check("SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }")
    assert scan.services == ALLOWED


def test_service_only_in_strings_and_comments_is_no_service():
    scan = check('SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1/>" } # SERVICE <http://x/>')
    assert scan.services == ()


def test_a_query_mentioning_service_that_the_grammar_cannot_parse_is_refused():
    with pytest.raises(BadRequest, match=r"must parse as SPARQL 1\.1"):
        check("SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ")


# ---------------------------------------------------------------- limits at N and N+1


def test_query_bytes_at_the_limit_and_one_over():
    head = "ASK {} #"
    check(head + "x" * (16384 - len(head)))
    with pytest.raises(PayloadTooLarge, match="16385 bytes; the limit is 16384"):
        check(head + "x" * (16385 - len(head)))


def test_query_bytes_count_utf8_bytes_not_characters():
    head = "ASK {} #"
    with pytest.raises(PayloadTooLarge):
        check(head + "ক" * ((16384 - len(head)) // 3 + 1))


def test_nesting_at_the_limit_and_one_over():
    check("SELECT * WHERE " + "{" * 64 + "}" * 64)
    with pytest.raises(BadRequest, match="65 deep; the limit is 64"):
        check("SELECT * WHERE " + "{" * 65 + "}" * 65)
    check("ASK { FILTER(" + "(" * 62 + "1" + ")" * 62 + ") }")  # 1 brace + 1 + 62 parentheses
    with pytest.raises(BadRequest, match="65 deep"):
        check("ASK { FILTER(" + "(" * 63 + "1" + ")" * 63 + ") }")


def test_brackets_in_strings_iris_and_comments_do_not_count():
    check('ASK { ?s ?p "' + "{" * 100 + '" } # ' + "(" * 100)


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <a:b> <a:c> <a:d> }",
        "PREFIX x: <http://x/> DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://127.0.0.1:9/x>",
        "# a comment\rCLEAR ALL",
        "WITH <http://x/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "insert data { <a:b> <a:c> <a:d> }",
    ],
)
def test_updates_are_recognised_as_updates(update):
    with pytest.raises(Forbidden, match="read-only"):
        check(update)


def test_a_query_is_not_taken_for_an_update():
    assert check("SELECT ?insert WHERE { ?insert ?p ?o }").services == ()


# ---------------------------------------------------------------- fuzz against the engine

ENDINGS = st.sampled_from(["\n", "\r", "\r\n", " ", "\t", ""])
COMMENT = st.builds(
    lambda text, end: f"#{text}{end}",
    st.sampled_from(
        [
            "",
            "c",
            "}",
            "SERVICE",
            "{",
            "\\u000a",
            '"""',
            "\\u000a SERVICE <https://query.wikidata.org/sparql> {}",
        ]
    ),
    ENDINGS,
)
GAP = st.lists(st.one_of(ENDINGS, COMMENT), max_size=3).map(lambda parts: " " + "".join(parts) + " ")


def _targets(port: int):
    bad = f"http://127.0.0.1:{port}/x"
    return st.sampled_from(
        [
            (f"<{bad}>", ""),
            (":", f"PREFIX : <{bad}> "),
            ("p:x", f"PREFIX p: <http://127.0.0.1:{port}/> "),
            ("<x>", f"BASE <http://127.0.0.1:{port}/> "),
            (f"<http://127.0.0.1\\u003A{port}/x>", ""),
            ("<https://query.wikidata.org/sparql>", ""),
        ]
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_nothing_the_guard_passes_reaches_a_forbidden_address(listener, data):
    target, prologue = data.draw(_targets(listener.port))
    keyword = data.draw(st.sampled_from(["SERVICE", "service", "SERVICE SILENT", "Service"]))
    gaps = [data.draw(GAP) for _ in range(4)]
    depth = data.draw(st.integers(0, 3))
    inner = "{" * depth + " ?x ?y ?z " + "}" * depth
    glue = "" if target == ":" and data.draw(st.booleans()) else gaps[1]
    query = f"{prologue}SELECT ?x WHERE {{{gaps[0]}{keyword}{glue}{target}{gaps[2]}{{ {inner} }}{gaps[3]}}}"
    text = guard.normalise(query)
    # The only allowed endpoint for the fuzz is one that cannot be reached either (no network here);
    # what matters is that the loopback listener is never contacted.
    try:
        scan = guard.check(text, 16384, 64, ALLOWED, None)
    except (BadRequest, Forbidden):
        return
    before = listener.hits
    try:
        result = ox.Store().query(text)
        if isinstance(result, ox.QuerySolutions):
            list(result)
    except (SyntaxError, OSError, RuntimeError):
        pass
    assert listener.hits == before, f"the guard passed {query!r} (services {scan.services}) and it got out"


UPDATES = st.sampled_from(
    [
        "LOAD <http://127.0.0.1:{port}/x>",
        "load silent <http://127.0.0.1:{port}/x> INTO GRAPH <urn:g>",
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "CLEAR ALL",
        "DROP GRAPH <urn:g>",
        "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "CREATE GRAPH <urn:g>",
        "COPY DEFAULT TO <urn:g>",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_every_update_is_refused_and_the_engine_never_loads(listener, data):
    prologue = data.draw(st.sampled_from(["", "PREFIX p: <http://x/> ", "BASE <http://x/> "]))
    update = data.draw(UPDATES).replace("{port}", str(listener.port))
    text = guard.normalise(f"{data.draw(GAP)}{prologue}{data.draw(GAP)}{update}{data.draw(GAP)}")
    # Refused (403 as an update, or 400 where a generated comment swallowed it and left an escape
    # next to SERVICE); if anything passes, it is because the engine reads no update in it.
    with contextlib.suppress(Forbidden, BadRequest):
        guard.check(text, 16384, 64, ALLOWED, None)
        assert guard.first_keyword(text) == "", f"the guard passed an update: {text!r}"
    before = listener.hits
    with pytest.raises(SyntaxError):  # and the engine's query() would not run it either
        ox.Store().query(text)
    assert listener.hits == before


DECOYS = st.sampled_from(['"{{(("', "'}}'", '"""{\n}"""', "<urn:x>", "#{{{(\n", "#}}}\r", "?v"])


@st.composite
def nested(draw, depth: int = 0):
    """A group graph pattern with decoy brackets in strings and comments; (text, its real depth)."""
    parts, deepest = [], depth + 1
    for _ in range(draw(st.integers(0, 3))):
        if depth < 70 and draw(st.booleans()):
            text, inner = draw(nested(depth + 1))
            parts.append(text)
            deepest = max(deepest, inner)
        else:
            parts.append(f"?s ?p {draw(DECOYS)} .")
    gap = draw(st.sampled_from([" ", "\n", "\r", "\r\n", "#c\r", "#c\n"]))
    return "{" + gap + " ".join(parts) + gap + "}", deepest


@settings(max_examples=200, deadline=None)
@given(tree=nested())
def test_fuzz_nesting_is_measured_as_written_whatever_hides_in_strings_and_comments(tree):
    text, depth = tree
    assert guard.scan(guard.normalise("SELECT * WHERE " + text)).depth == depth


def test_a_query_with_service_is_kept_short_at_the_limit_and_one_over():
    head = "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } } #"
    check(head + "x" * (guard.SERVICE_QUERY_LIMIT - len(head)))
    with pytest.raises(PayloadTooLarge, match="the limit for those is 4096"):
        check(head + "x" * (guard.SERVICE_QUERY_LIMIT + 1 - len(head)))
    check("ASK {} #" + "x" * 8000)  # no SERVICE: the general limit


# ---------------------------------------------------------------- the lexical scan, rule by rule


def scan(query: str, base: str | None = None) -> guard.Scan:
    return guard.scan(guard.normalise(query), base)


def test_from_is_reported_and_its_absence_too():
    assert check("SELECT * FROM <urn:g> WHERE { ?s ?p ?o }").has_dataset is True
    assert check("select * from named <urn:g> where { ?s ?p ?o }").has_dataset is True
    assert check("ASK { ?s ?p ?o }").has_dataset is False
    assert check('ASK { ?s ?p "FROM" } # FROM').has_dataset is False


def test_a_comment_between_service_and_its_target_is_skipped():
    q = "SELECT * WHERE { SERVICE # the endpoint:\n <https://query.wikidata.org/sparql> { ?s ?p ?o } }"
    assert check(q).services == ALLOWED
    q = "PREFIX w: # c\n <https://query.wikidata.org/> SELECT * WHERE { SERVICE w:sparql { ?s ?p ?o } }"
    assert check(q).services == ALLOWED


@pytest.mark.parametrize(
    ("query", "services"),
    [
        # A colon inside the local name belongs to it.
        ("PREFIX p: <http://127.0.0.1:9/> SELECT * WHERE { SERVICE p:a:b {} }", ("http://127.0.0.1:9/a:b",)),
        ("PREFIX : <http://127.0.0.1:9/> SELECT * WHERE { SERVICE:a:b {} }", ("http://127.0.0.1:9/a:b",)),
        ("SELECT * WHERE { SERVICE nope:x {} }", ("(undeclared prefix nope:)x",)),
        ("SELECT * WHERE { SERVICE:x {} }", ("(undeclared prefix :)x",)),
        ("SELECT * WHERE { SERVICE ?u {} }", ("?u",)),
        ("SELECT * WHERE { SERVICE SILENT ?u {} }", ("?u",)),
        ("SELECT * WHERE { SERVICE { } }", ("(not a target: '{')",)),
        ("SELECT * WHERE { ?s ?p ?o } SERVICE", ("(not a target: '')",)),
        # Only PREFIX declares a prefix, and only BASE sets the base.
        ("PREFIX p: <http://a/> SELECT * { ?s a p:x <http://b/> . SERVICE p:y {} }", ("http://a/y",)),
        ("BASE <http://a/> SELECT * { ?s a <http://b/x> . SERVICE <y> {} }", ("http://a/y",)),
        ("BASE <http://a/b/> SELECT * { SERVICE <y> {} }", ("http://a/b/y",)),
        ("BASE <http://a/> BASE <c/> SELECT * { SERVICE <y> {} }", ("http://a/c/y",)),
        ("PREFIX p: <x/> BASE <http://a/> SELECT * { SERVICE p:y {} }", ("x/y",)),
        ("BASE <http://a/> PREFIX p: <x/> SELECT * { SERVICE p:y {} }", ("http://a/x/y",)),
    ],
)
def test_scan_resolves_service_targets_lexically(query, services):
    assert scan(query).services == services


def test_scan_resolves_against_the_endpoints_base_when_the_query_has_none():
    assert scan("SELECT * { SERVICE <y> {} }", "http://e/sparql").services == ("http://e/y",)
    assert scan("SELECT * { SERVICE <y> {} }").services == ("y",)


@pytest.mark.parametrize(
    ("query", "keyword"),
    [
        ("select ?s {}", "SELECT"),
        ("PREFIX a: <x:> BASE <y:> insert data {}", "INSERT"),
        ("# SELECT\nASK {}", "ASK"),
        ("<a:b>", ""),
        ("", ""),
    ],
)
def test_first_keyword(query, keyword):
    assert guard.first_keyword(query) == keyword


def test_an_update_written_with_escapes_is_recognised_by_parsing_it():
    """rdflib decodes \\u escapes anywhere: the first word is not INSERT to the scan, but the text
    parses as an update, so it is refused by the parse alone."""
    with pytest.raises(Forbidden, match="read-only"):
        check("\\u0049NSERT DATA { <a:b> <a:c> <a:d> }")


def test_an_unknown_first_word_is_left_to_the_engine():
    assert check("BOGUS { ?s ?p ?o }") == guard.Scan(1, False, ())


def test_the_nesting_that_rdflib_cannot_parse_is_refused_by_its_own_message():
    q = "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> " + "{" * 1000 + "}" * 1000 + " }"
    with pytest.raises(BadRequest) as info:
        guard.check(guard.normalise(q), 16384, 5000, ALLOWED, None)
    assert info.value.message == "the query nests too deeply to check its SERVICE calls"


def test_a_service_query_that_does_not_parse_names_the_parsers_first_line():
    with pytest.raises(BadRequest) as info:
        check("SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ")
    message = info.value.message
    prefix = (
        "a query that mentions SERVICE must parse as SPARQL 1.1 so that its endpoints can be checked; "
        "it does not: "
    )
    assert message.startswith(prefix) and "\n" not in message
    assert message[len(prefix) :].startswith("Expected ")


# ---------------------------------------------------------------- each refusal says what it refused


def test_an_update_is_refused_with_the_read_only_message():
    with pytest.raises(Forbidden) as info:
        check("INSERT DATA { <a:b> <a:c> <a:d> }")
    assert info.value.message == "this endpoint is read-only: SPARQL Update operations are not accepted"


def test_an_escape_in_a_service_query_is_refused_with_its_message():
    with pytest.raises(BadRequest) as info:
        check('SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p "\\u0041" } }')
    assert info.value.message == (
        "a query that mentions SERVICE may not use \\u or \\U escapes; write the characters"
    )


@pytest.mark.parametrize(
    ("query", "grammar", "lexical"),
    [
        # rdflib keeps a local-name escape that the lexical rules (as SPARQL) decode: refused, not guessed.
        (
            "SELECT * WHERE { SERVICE wd:Q\\-1 { ?s ?p ?o } SERVICE wd:Q\\-2 { ?s ?p ?o } }",
            "http://www.wikidata.org/entity/Q\\-1, http://www.wikidata.org/entity/Q\\-2",
            "http://www.wikidata.org/entity/Q-1, http://www.wikidata.org/entity/Q-2",
        ),
        # A prefix named `service` reads as the keyword to the lexical rules (as to Oxigraph),
        # in its declaration too.
        (
            "PREFIX service: <http://x/> SELECT * WHERE { ?s service:p ?o }",
            "none",
            "(undeclared prefix :), (undeclared prefix :)p",
        ),
    ],
)
def test_a_service_clause_the_two_readings_disagree_on_is_refused_naming_both(query, grammar, lexical):
    with pytest.raises(BadRequest) as info:
        check(query)
    assert info.value.message == (
        "the query's SERVICE clauses read differently to the grammar and to the lexical rules "
        f"({grammar} vs {lexical}); write each SERVICE clause plainly"
    )


@pytest.mark.parametrize(
    ("target", "allow", "shown", "allowed"),
    [
        ("<http://127.0.0.1:9/>", ALLOWED, "<http://127.0.0.1:9/>", "https://query.wikidata.org/sparql"),
        ("?u", ALLOWED, "?u", "https://query.wikidata.org/sparql"),
        (
            "<http://127.0.0.1:9/>",
            ("https://a.example/s", "https://b.example/s"),
            "<http://127.0.0.1:9/>",
            "https://a.example/s, https://b.example/s",
        ),
        ("<https://query.wikidata.org/sparql>", (), "<https://query.wikidata.org/sparql>", "none"),
    ],
)
def test_a_service_target_not_allowed_is_named_with_the_allowlist(target, allow, shown, allowed):
    with pytest.raises(BadRequest) as info:
        check(f"SELECT * WHERE {{ SERVICE {target} {{ ?s ?p ?o }} }}", allow=allow)
    assert info.value.message == f"SERVICE {shown} is not allowed; allowed endpoints: {allowed}"


def test_a_comparison_the_lexical_rules_read_as_an_iri_hides_no_service():
    """`?c<1)SERVICE?u#>` is one IRI token to the lexical rules (no character an IRI forbids),
    but a comparison, a SERVICE call and a comment to the grammar: refused, naming both readings."""
    with pytest.raises(BadRequest) as info:
        check("SELECT * WHERE { ?a ?b ?c FILTER(?c<1)SERVICE?u#>\n{ ?s ?p ?o } }")
    assert info.value.message == (
        "the query's SERVICE clauses read differently to the grammar and to the lexical rules "
        "(?u vs none); write each SERVICE clause plainly"
    )


def test_brackets_inside_what_the_scan_reads_as_an_iri_count_towards_the_depth():
    """`?a<(((…#>` is an IRI to the lexical scan and "less than" followed by brackets to the
    engine (the `#>` then starts a comment): the brackets count, so the nesting limit holds."""
    deep = "ASK { FILTER(?a<" + "(" * 70 + "1#>\n" + ")" * 70 + ") }"
    assert guard.scan(deep).depth >= 70
    with pytest.raises(BadRequest, match="nests groups or parentheses"):
        guard.check(deep, 16 * 1024, 64, ())
    # A real IRI with balanced brackets costs at most one level.
    assert guard.scan("SELECT * { ?s <http://en.wikipedia.org/wiki/Foo_(bar)> ?o }").depth == 2
