"""Checks a query must pass before it reaches the engine.

pyoxigraph exposes no parser to Python, so the guard cannot read the engine's
own parse tree. It is built so that a misreading cannot do harm instead:

* **Line endings** are normalised first (``\\r\\n`` and a bare ``\\r`` become
  ``\\n``), and the normalised text is what the engine runs. A comment ended by
  a bare carriage return then reads the same to every parser.
* **SERVICE.** Oxigraph reads a keyword only as written (it decodes ``\\u``
  escapes inside IRIs and strings, never in keywords), so a query whose text
  does not contain the letters ``service`` in any case cannot call one. A query
  that does is parsed with a full SPARQL 1.1 grammar (rdflib's parser and
  algebra: prefixes expanded, the base resolved, escapes decoded) and every
  target must be an allowlisted IRI; the lexical scan below must find as many
  SERVICE keywords as the parse, or the query is refused as ambiguous. Behind
  that, the query processes that run queries without SERVICE have no network
  at all (kg.workers): what the guard misses, the engine cannot reach.
* **Nesting** is measured by a scan that follows SPARQL's lexical rules
  (comments end at a line end, strings and IRIs skipped). The engine itself
  runs on a stack large enough for any query within the size limit, so a scan
  that differs from the engine can let a deep query through, but never crash
  a process (kg.workers).
* **Updates** are refused: by their first keyword, or, when the first word is
  not a query form, by parsing the text as a SPARQL Update. pyoxigraph's
  ``query()`` cannot run an update in any case.
* Whether the query names its own dataset (FROM / FROM NAMED), which then takes
  precedence over the endpoint's default graph. Oxigraph resolves FROM against
  graphs in the store and never dereferences it.
"""

from __future__ import annotations

import functools
import re
import sys
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urljoin

from kg.errors import BadRequest, Forbidden, PayloadTooLarge
from kg.iris import PREFIXES

TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n\r]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<open>[{(])
  | (?P<close>[})])
  | (?P<pname>(?:[A-Za-z_][\w.-]*)?:(?:[\w.:%-]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<var>[?$]\w+)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_SERVICE = re.compile(r"service", re.IGNORECASE)
# rdflib's parser takes about 60 ms of CPU per KiB of query, in the HTTP worker and before any
# per-client limit: queries that need it are kept short.
SERVICE_QUERY_LIMIT = 4 * 1024
_ESCAPE = re.compile(r"\\[uU]")


@dataclass(frozen=True)
class Scan:
    depth: int
    has_dataset: bool  # FROM or FROM NAMED in the query
    services: tuple[str, ...]  # SERVICE targets, as full IRIs ('?x' for a variable)


def normalise(query: str) -> str:
    """The text the engine runs: line ends as ``\\n`` only (see the module's docstring)."""
    return query.replace("\r\n", "\n").replace("\r", "\n")


def _significant(query: str) -> list[tuple[str, str]]:
    tokens = ((m.lastgroup or "", m.group()) for m in TOKEN.finditer(query))
    return [(kind, text) for kind, text in tokens if kind not in ("space", "comment")]


LOCAL_ESCAPE = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")


def scan(query: str, base_iri: str | None = None) -> Scan:
    """What the lexical rules show: the deepest nesting, whether FROM occurs, and every SERVICE
    target resolved with the query's own PREFIX and BASE declarations (and the predeclared ones)."""
    depth = max_depth = 0
    has_dataset = False
    services: list[str] = []
    prefixes, base = dict(PREFIXES), base_iri
    tokens = _significant(query)

    def iri(text: str) -> str:
        return urljoin(base, text) if base else text

    def target(at: int) -> str:
        if at < len(tokens) and tokens[at] == ("word", tokens[at][1]) and tokens[at][1].upper() == "SILENT":
            at += 1
        kind, text = tokens[at] if at < len(tokens) else ("", "")
        if kind == "iri":
            return iri(text[1:-1])
        if kind == "var":
            return "?" + text[1:]
        if kind == "pname":
            prefix, local = text.split(":", 1)
            return prefixes.get(prefix, f"(undeclared prefix {prefix}:)") + LOCAL_ESCAPE.sub(r"\1", local)
        return f"(not a target: {text!r})"

    for i, (kind, text) in enumerate(tokens):
        following = tokens[i + 1 : i + 3]
        if kind == "open":
            depth += 1
            max_depth = max(max_depth, depth)
        elif kind == "close":
            depth -= 1
        elif kind == "iri":
            # `?a<(((…` reads as an IRI here and as "less than" to the engine, which then sees every
            # bracket: count those inside too (a real IRI's few balanced ones cost a level at most).
            for char in text:
                depth += (char == "(") - (char == ")")
                max_depth = max(max_depth, depth)
        elif kind == "word":
            word = text.upper()
            if word == "FROM":
                has_dataset = True
            elif word == "SERVICE":
                services.append(target(i + 1))
            elif word == "PREFIX" and [k for k, _ in following] == ["pname", "iri"]:
                prefixes[following[0][1].split(":", 1)[0]] = iri(following[1][1][1:-1])
            elif word == "BASE" and following[:1] and following[0][0] == "iri":
                base = iri(following[0][1][1:-1])
        elif kind == "pname" and text.split(":", 1)[0].upper() == "SERVICE":
            # Oxigraph reads `SERVICE:x` as the keyword and the name `:x`.
            local = text.split(":", 1)[1]
            services.append(prefixes.get("", "(undeclared prefix :)") + LOCAL_ESCAPE.sub(r"\1", local))
    return Scan(max_depth, has_dataset, tuple(services))


def first_keyword(query: str) -> str:
    """The query's form (SELECT, ASK, INSERT, …): the first word after the prologue."""
    for kind, text in _significant(query):
        if kind == "word" and text.upper() not in {"PREFIX", "BASE"}:
            return text.upper()
    return ""


def _is_update(query: str) -> bool:
    from rdflib.plugins.sparql.parser import parseUpdate  # only for texts that are not queries

    try:
        parseUpdate(query)
    except Exception:  # any parse failure: not an update; the engine reports the syntax error
        return False
    return True


def service_targets(query: str, base_iri: str | None) -> tuple[str, ...]:
    """Every SERVICE target as the full IRI a SPARQL 1.1 parser resolves it to ('?x' for a variable)."""
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.term import Variable

    # rdflib's parser (pyparsing) takes about 15 Python frames per nesting level, and the lexical
    # check has allowed up to max_depth levels: 1,000 frames are not enough for 64. Python-to-Python
    # calls use no C stack since 3.11, so a higher limit is safe.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    try:
        parsed = prepareQuery(query, initNs=PREFIXES, base=base_iri)
    except RecursionError:
        raise BadRequest("the query nests too deeply to check its SERVICE calls") from None
    except Exception as exc:
        raise BadRequest(
            "a query that mentions SERVICE must parse as SPARQL 1.1 so that its endpoints can be "
            f"checked; it does not: {str(exc).splitlines()[0]}"
        ) from None
    found: list[str] = []

    def visit(node: object) -> None:
        if getattr(node, "name", None) == "ServiceGraphPattern":
            term = node.get("term")  # type: ignore[attr-defined]
            found.append(f"?{term}" if isinstance(term, Variable) else str(term))
        if isinstance(node, dict):
            for value in node.values():
                visit(value)
        elif isinstance(node, list | tuple):
            for value in node:
                visit(value)

    visit(parsed.algebra)
    return tuple(found)


@functools.lru_cache(maxsize=1024)  # the same query texts come back again and again
def check(
    query: str,
    max_length: int,
    max_depth: int,
    service_allowlist: tuple[str, ...],
    base_iri: str | None = None,
) -> Scan:
    """Refuse a (normalised) query before evaluation; return what the checks found."""
    size = len(query.encode("utf-8"))
    if size > max_length:
        raise PayloadTooLarge(f"the query is {size} bytes; the limit is {max_length}")
    keyword = first_keyword(query)
    # A text with no word at all (only comments) is left to the engine's syntax error.
    if keyword in UPDATE_WORDS or (keyword and keyword not in QUERY_FORMS and _is_update(query)):
        raise Forbidden("this endpoint is read-only: SPARQL Update operations are not accepted")
    lexed = scan(query, base_iri)
    if lexed.depth > max_depth:
        raise BadRequest(
            f"the query nests groups or parentheses {lexed.depth} deep; the limit is {max_depth}"
        )
    services: tuple[str, ...] = ()
    if _SERVICE.search(query):
        if size > SERVICE_QUERY_LIMIT:
            raise PayloadTooLarge(
                f"a query that mentions SERVICE is {size} bytes; the limit for those is "
                f"{SERVICE_QUERY_LIMIT} (its SERVICE calls are checked with a full parse)"
            )
        if _ESCAPE.search(query):
            # rdflib decodes \u escapes everywhere (comments and keywords too), Oxigraph only in IRIs
            # and strings: with one, the two parsers could read different SERVICE clauses.
            raise BadRequest(
                "a query that mentions SERVICE may not use \\u or \\U escapes; write the characters"
            )
        services = service_targets(query, base_iri)
        if Counter(services) != Counter(lexed.services):
            raise BadRequest(
                "the query's SERVICE clauses read differently to the grammar and to the lexical rules "
                f"({', '.join(services) or 'none'} vs {', '.join(lexed.services) or 'none'}); "
                "write each SERVICE clause plainly"
            )
        allowed = ", ".join(service_allowlist) or "none"
        for target in services:
            if target not in service_allowlist:
                shown = target if target.startswith("?") else f"<{target}>"
                raise BadRequest(f"SERVICE {shown} is not allowed; allowed endpoints: {allowed}")
    return Scan(lexed.depth, lexed.has_dataset, services)
