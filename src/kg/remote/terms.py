"""What a remote store is sent: the query's form, bound terms written in, and checks on the text.

A store reached over the SPARQL 1.1 Protocol takes only text: pyoxigraph's ``substitutions``
(the embedded engine's way to bind a canned query's parameters) have no counterpart there.
So a bound variable is replaced by its term, written in N-Triples syntax by pyoxigraph (never
formatted by us), token by token with the guard's lexer, which skips strings, IRIs and comments.
That is what substitution means (SEP-0007: the variable is the term throughout, inside OPTIONAL
and FILTER too), with two places where SPARQL's grammar needs a variable: a projection
``SELECT ?x`` becomes ``SELECT (term AS ?x)`` (the column stays, as pyoxigraph keeps it), and
``GROUP BY ?x`` / ``ORDER BY ?x`` take ``(term)``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from urllib.parse import urljoin

import pyoxigraph as ox

from kg.errors import BadRequest
from kg.functions import FOLD, fold_text
from kg.guard import TOKEN
from kg.iris import PREFIXES

# Stores run vendor functions named by IRI: Virtuoso's bif: and sql: schemes (and their http
# spellings) reach its SQL engine (file access, sleep, procedures). None of them is SPARQL 1.1,
# and pyoxigraph would only call them unknown functions: so they are refused before the store sees them.
VENDOR = re.compile(r"^(bif:|sql:|http://www\.openlinksw\.com/schemas/(bif|sql)#)", re.IGNORECASE)
_ESCAPED = re.compile(r"\\[uU]")
_CLAUSE_END = {
    "LIMIT",
    "OFFSET",
    "VALUES",
    "HAVING",
    "WHERE",
    "FROM",
    "SELECT",
    "CONSTRUCT",
    "ASK",
    "DESCRIBE",
}


def _tokens(query: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "", m.group()) for m in TOKEN.finditer(query)]


def form(query: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first word after the prologue."""
    for kind, text in _tokens(query):
        if kind == "word" and text.upper() not in {"PREFIX", "BASE"}:
            return text.upper()
    return ""


def substitute(query: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """The query with each bound variable replaced by its term (see the module's docstring)."""
    if not bindings:
        return query
    out: list[str] = []
    tokens = _tokens(query)
    context = ""  # "select" (a projection), "order" (GROUP BY / ORDER BY) or "" (elsewhere)
    depth = 0  # brackets since the context began
    previous = ""
    for kind, text in tokens:
        word = text.upper() if kind == "word" else ""
        if word == "SELECT":
            context, depth = "select", 0
        elif word == "BY" and previous in {"GROUP", "ORDER"}:
            context, depth = "order", 0
        elif word in _CLAUSE_END or (kind == "open" and text == "{" and depth == 0):
            context = ""
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                context, depth = "", 0
        if kind == "var" and text[1:] in bindings:
            term = str(bindings[text[1:]])
            if previous == "AS":
                raise BadRequest(f"the query assigns {text}, which is bound: it cannot run on the store")
            if context == "select" and depth == 0:
                text = f"({term} AS {text})"
            elif context == "order" and depth == 0:
                text = f"({term})"
            else:
                text = term
        out.append(text)
        if kind not in ("space", "comment"):
            previous = word or text
    return "".join(out)


def has_base(query: str) -> bool:
    """Whether the query declares its own BASE (Virtuoso refuses a second one)."""
    return any(k == "word" and t.upper() == "BASE" for k, t in _tokens(query))


def prologue(base_iri: str | None) -> str:
    """The predeclared prefixes (and the endpoint's base) as text: a store knows none of them.
    The query's own BASE and PREFIX lines come after, so they win, as with pyoxigraph."""
    lines = [f"BASE <{base_iri}>"] if base_iri else []
    lines += [f"PREFIX {name}: <{iri}>" for name, iri in PREFIXES.items()]
    return "\n".join(lines) + "\n"


# pyoxigraph's parser takes time exponential in how deeply calls of these functions nest (each
# has an optional last argument, and every level is parsed twice): 16 REGEX take 0.8 s, 20 REPLACE
# 13 s. The embedded engine parses in a query process that the time limit stops; this check parses
# in the HTTP worker, so the nesting is bounded first (10 levels: about 15 ms).
EXPONENTIAL = {"REGEX", "REPLACE", "SUBSTR", "GROUP_CONCAT"}
MAX_EXPONENTIAL_NESTING = 10


def _bound_parse_cost(query: str) -> None:
    stack: list[bool] = []  # per open bracket: whether it is such a call's
    previous = ""
    for kind, text in _tokens(query):
        if kind in ("space", "comment"):
            continue
        if kind == "open":
            stack.append(text == "(" and previous in EXPONENTIAL)
            if sum(stack) > MAX_EXPONENTIAL_NESTING:
                raise BadRequest(
                    f"the query nests calls of {', '.join(sorted(EXPONENTIAL))} more than "
                    f"{MAX_EXPONENTIAL_NESTING} deep; the limit is {MAX_EXPONENTIAL_NESTING}"
                )
        elif kind == "close" and stack:
            stack.pop()
        previous = text.upper() if kind == "word" else ""


def plan(query: str, base_iri: str | None, predeclared: bool = True) -> str | None:
    """Why pyoxigraph cannot parse and plan the query (its syntax message, or the function it does
    not know), or None. pyoxigraph may also evaluate it (an ASK, an aggregate, a SERVICE call), on
    an empty store: so this runs in kg.remote.checker's process, with a time limit."""
    from kg.functions import OXIGRAPH
    from kg.store import syntax_message

    prefixes = PREFIXES if predeclared else None
    try:
        ox.Store().query(query, prefixes=prefixes, base_iri=base_iri, custom_functions=OXIGRAPH)
    except SyntaxError as exc:
        return syntax_message(str(exc), query, base_iri)
    except RuntimeError as exc:  # pyoxigraph names a function it does not know
        return f"{exc}: a query may call SPARQL 1.1's functions and XSD casts only"
    except OSError:  # a SERVICE call failed: the syntax was fine
        return None
    return None


def check(query: str) -> None:
    """The lexical checks on the text the store gets: no IRI escaped with \\u, none in a
    vendor's namespace (resolved against the query's PREFIX and BASE lines), and a bounded
    nesting of calls whose parse is exponential. ``plan`` is the other half."""
    _bound_parse_cost(query)
    prefixes = dict(PREFIXES)
    base = ""
    tokens = [(k, t) for k, t in _tokens(query) if k not in ("space", "comment")]
    for i, (kind, text) in enumerate(tokens):
        if kind == "word" and text.upper() == "PREFIX" and i + 2 < len(tokens):
            (k1, name), (k2, iri) = tokens[i + 1], tokens[i + 2]
            if k1 == "pname" and k2 == "iri":
                prefixes[name.split(":", 1)[0]] = iri[1:-1]
        if kind == "word" and text.upper() == "BASE" and i + 1 < len(tokens) and tokens[i + 1][0] == "iri":
            base = tokens[i + 1][1][1:-1]
        if kind not in ("iri", "pname"):
            continue
        if _ESCAPED.search(text) or "\\" in text:
            raise BadRequest(
                f"the IRI {text[:80]} uses an escape: this endpoint's store could read it differently;"
                " write the characters"
            )
        if kind == "iri":
            resolved = text[1:-1]
            candidates = [resolved, urljoin(base, resolved) if base else resolved]
        else:
            prefix, local = text.split(":", 1)
            candidates = [prefixes.get(prefix, prefix + ":") + local]
        if any(VENDOR.match(c) for c in candidates):
            raise BadRequest(f"{text[:80]} names a function of the store's own, not SPARQL 1.1: not allowed")


@cache
def _fold_classes() -> tuple[tuple[str, str], ...]:
    """Each folded letter with the letters that fold to it: Latin, Greek and Cyrillic letters that
    decompose into a base and combining marks U+0300-U+036F (kg.functions.fold_text's rule)."""
    groups: dict[str, list[str]] = {}
    for code in [*range(0xC0, 0x250), *range(0x370, 0x400), *range(0x400, 0x530)]:
        char = chr(code)
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f")
        if base != decomposed and len(base) == 1:
            groups.setdefault(base.lower(), []).append(char.lower())
    return tuple((base, "".join(sorted(set(chars)))) for base, chars in sorted(groups.items()))


def _pattern(literal: str) -> str:
    """A regular expression (XPath syntax) that matches what contains the folded text: each letter
    stands for every letter that folds to it, in both cases. No "i" flag: stores differ in how
    far it reaches beyond ASCII (Virtuoso 7.2 folds no Cyrillic), and the classes need none."""
    classes = dict(_fold_classes())
    # The string token as SPARQL reads it (either quote, escapes): one small query, no store.
    value = next(iter(ox.Store().query(f"SELECT ({literal} AS ?v) {{}}")))["v"]
    text = fold_text(value.value if value is not None else "")
    out = []
    for char in text:
        variants = {char, char.upper(), *classes.get(char, ""), *classes.get(char, "").upper()}
        variants = {v for v in variants if len(v) == 1 and fold_text(v) == char}
        if len(variants) > 1:
            out.append("[" + "".join(sorted(variants)) + "]")
        else:
            out.append("\\" + char if char in "\\.^$|?*+()[]{}-" else char)
    return "".join(out)


def standard(query: str) -> str:
    """The query with the project's extension function kgfn:fold (kg.functions) written in standard
    SPARQL, which any store runs. ``CONTAINS(kgfn:fold(A), kgfn:fold("text"))`` (the search's use,
    with the text bound) becomes ``REGEX(STR(A), pattern)``, where the pattern lets each letter
    match its accented forms in either case: the same matches. Any other ``kgfn:fold(X)`` becomes
    ``LCASE(STR(X))``: case is folded, accents are not. (A chain of REPLACE calls would fold them,
    but pyoxigraph's parser takes exponential time in nested REPLACE calls: 20 take 13 s.)"""
    tokens = [t for t in _tokens(query)]
    folds = _fold_calls(tokens)
    if not folds:
        return query
    out: list[str] = []
    i = 0
    while i < len(tokens):
        contains = _contains_fold(tokens, i, folds)
        if contains is not None:
            argument, literal, end = contains
            out.append(f"REGEX(STR({standard(argument)}), {ox.Literal(_pattern(literal))})")
            i = end + 1
            continue
        if i in folds:
            start, end = folds[i]
            out.append(f"LCASE(STR({standard(_text(tokens[start + 1 : end]))}))")
            i = end + 1
            continue
        out.append(tokens[i][1])
        i += 1
    return "".join(out)


def _text(tokens: list[tuple[str, str]]) -> str:
    return "".join(t for _, t in tokens)


def _next(tokens: list[tuple[str, str]], i: int) -> int:
    """The index of the first significant token at or after ``i``."""
    while i < len(tokens) and tokens[i][0] in ("space", "comment"):
        i += 1
    return i


def _closing(tokens: list[tuple[str, str]], start: int) -> int:
    """The index of the ``)`` that closes the ``(`` at ``start``."""
    depth = 0
    for k in range(start, len(tokens)):
        if tokens[k][0] == "open" and tokens[k][1] == "(":
            depth += 1
        elif tokens[k][0] == "close" and tokens[k][1] == ")":
            depth -= 1
            if depth == 0:
                return k
    return len(tokens) - 1


def _fold_calls(tokens: list[tuple[str, str]]) -> dict[int, tuple[int, int]]:
    """Each kgfn:fold call: its name's index -> (its "(" index, its ")" index)."""
    prefixes = dict(PREFIXES)
    found: dict[int, tuple[int, int]] = {}
    for i, (kind, text) in enumerate(tokens):
        if kind == "word" and text.upper() == "PREFIX":
            name, iri = _next(tokens, i + 1), _next(tokens, _next(tokens, i + 1) + 1)
            if iri < len(tokens) and tokens[name][0] == "pname" and tokens[iri][0] == "iri":
                prefixes[tokens[name][1].split(":", 1)[0]] = tokens[iri][1][1:-1]
        if kind == "iri":
            resolved = text[1:-1]
        elif kind == "pname":
            prefix, local = text.split(":", 1)
            resolved = prefixes.get(prefix, "") + local
        else:
            continue
        start = _next(tokens, i + 1)
        if resolved == FOLD and start < len(tokens) and tokens[start] == ("open", "("):
            found[i] = (start, _closing(tokens, start))
    return found


def _contains_fold(
    tokens: list[tuple[str, str]], i: int, folds: dict[int, tuple[int, int]]
) -> tuple[str, str, int] | None:
    """``CONTAINS(kgfn:fold(A), kgfn:fold("literal"))`` at ``i``: (A, the literal, the last index)."""
    if not (tokens[i][0] == "word" and tokens[i][1].upper() == "CONTAINS"):
        return None
    opening = _next(tokens, i + 1)
    first = _next(tokens, opening + 1)
    if first not in folds:
        return None
    comma = _next(tokens, folds[first][1] + 1)
    second = _next(tokens, comma + 1)
    if tokens[comma][1] != "," or second not in folds:
        return None
    inner = [t for t in tokens[folds[second][0] + 1 : folds[second][1]] if t[0] not in ("space", "comment")]
    end = _next(tokens, folds[second][1] + 1)
    if len(inner) != 1 or inner[0][0] != "string" or tokens[end][1] != ")":
        return None
    argument = _text(tokens[folds[first][0] + 1 : folds[first][1]])
    return argument, inner[0][1], end
