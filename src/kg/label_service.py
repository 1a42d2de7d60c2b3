"""The Wikidata Query Service's label service, answered locally: rewritten into plain SPARQL.

Queries copied from query.wikidata.org end with
``SERVICE wikibase:label { bd:serviceParam wikibase:language "[AUTO_LANGUAGE],en". }``.
Nothing is fetched: ``expand()`` replaces each such SERVICE with patterns over
the graph's own labels, so that the guard (which allows only listed SERVICE
endpoints) checks, and the engine runs, a query without it. WDQS's rules:

* Languages come from ``bd:serviceParam wikibase:language "a,b,c"`` (several
  such triples add to the list), first choice first; ``[AUTO_LANGUAGE]`` is the
  caller's language (the endpoint's: the request's ?lang=, else the best match
  of its Accept-Language among the pages' languages, else "en"; ``kg query``'s:
  "en"). A language matches a literal's tag exactly (lowercase):
  "en" does not match "en-gb".
* Automatic mode: for every ``?xLabel``, ``?xAltLabel`` and ``?xDescription`` of
  the innermost query around the service (its projection, ORDER BY, anywhere in
  it) whose ``?x`` occurs in the service's group outside a FILTER (and which the
  group's own patterns do not bind already): ``rdfs:label`` in the first
  language that has one, else the item's ID ("Q7747" for a ``wd:`` item, the
  IRI for others); ``schema:description`` (http://schema.org/description) in
  the first language that has one; the ``skos:altLabel`` values of the first
  language that has any, joined with ", ". Unbound when ``?x`` is.
* Manual mode: ``?x rdfs:label ?name`` (or ``schema:description``,
  ``skos:altLabel``) inside the service binds ``?name`` the same way; the
  variables bound so get no automatic binding. A variable the service's
  group binds already, or that the service binds twice, is refused: a BIND
  may not bind it again.
* The service runs after the rest of its group: its patterns are inserted at
  the end of the enclosing group, and the SERVICE clause becomes ``{}``. A
  service in a nested group binds its variables there; the services around it
  do not bind them again. One label service per group.

The text is read with the guard's lexical rules (kg.guard), so the letters
"SERVICE wikibase:label" in a string or a comment are left alone. The rewrite
keeps the lines of the user's text where they were (the generated patterns
stand on the line of their group's closing brace), so the engine's syntax
errors point at the user's lines. A comparison written without spaces,
``FILTER(?n<2019&&(?n>2017))``, reads as an IRI to those rules: its brackets
count, as kg.guard.scan counts them (unless the query balances only with them
left out, as a real ``<http://example.org/a(>`` needs). A query whose text
can name neither the label service nor a query hint is returned unchanged
without being read.

A query it rewrites loses its comments (each up to its line break, which
stays): they mean nothing, and a comment such as "# labelled by the label
service" would otherwise bring the guard's limit for queries that mention
SERVICE (kg.guard.SERVICE_QUERY_LIMIT, 4 KiB). A comment the lexical rules
might misread (a backslash before it on its line, as in ``ex:a\\#b``, or a
bare carriage return after it) is kept. A query that calls an allowlisted
SERVICE beside the label service keeps that limit, on the rewritten text:
that is the text rdflib parses.

Blazegraph's query hints, as WDQS queries carry them (``hint:Query
hint:optimizer "None" .``, ``?x wdt:P31 ?c . hint:Prior hint:rangeSafe true .``),
are dropped first, in every group (a label service's too): each triple whose
subject is a hint scope (hint:Query, hint:SubQuery, hint:Group,
hint:GroupAndSubGroups, hint:Prior, in the namespace
http://www.bigdata.com/queryHints#, whatever the prefix or an IRI writes it as),
whose predicates are in that namespace and whose objects are literals, with the
``.`` that ends it (its line breaks stay). They cost nothing to drop: they only
steer Blazegraph's planner, Oxigraph plans each query itself (and rdflib
evaluates as written), and no answer depends on them. ``hint:`` is predeclared
(kg.iris.WDQS), so a hint is never read as a pattern that matches nothing: a name
in the namespace anywhere else (``?x wdt:P31 ?c ; hint:Prior …``, which WDQS
refuses too, a hint with a variable as its value, or an IRI of the namespace in
an expression) is a BadRequest naming it and its line. A CONSTRUCT template is
left alone: Blazegraph reads no hints there either. Hints inside strings,
comments and IRIs of other namespaces are text, left as they are.

Limits: at most MAX_LANGUAGES languages per service (a BadRequest), and with
``max_length`` the rewritten text is refused (PayloadTooLarge) before it is
written when a lower bound of its size (labels × languages × the smallest
pattern one of them takes) is already too long, and otherwise as soon as the
text being written grows beyond the limit.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

from kg.errors import BadRequest, PayloadTooLarge
from kg.guard import LOCAL_ESCAPE, QUERY_FORMS, TOKEN
from kg.iris import PREFIXES, WDQS

LABEL_SERVICE = WDQS["wikibase"] + "label"
LANGUAGE = WDQS["wikibase"] + "language"
SERVICE_PARAM = WDQS["bd"] + "serviceParam"
AUTO_LANGUAGE = "[AUTO_LANGUAGE]"
# What an unbound subject is looked up as: an IRI no triple has (see the rewrite below).
NO_RESOURCE = "urn:x-hos-kg:no-resource"
MAX_LANGUAGES = 32  # per service: the patterns grow as labels × languages
ENTITY = WDQS["wd"]

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DESCRIPTION = WDQS["schema"] + "description"
ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
# What each manual-mode predicate fills, and the suffix of the variables automatic mode fills.
_KINDS = {RDFS_LABEL: "Label", DESCRIPTION: "Description", ALT_LABEL: "AltLabel"}
_SUFFIXES = ("AltLabel", "Label", "Description")  # AltLabel first: ?xAltLabel is ?x's, not ?xAlt's

# Only a text holding one of these can name the service (a prefix of the namespace, BASE, or the IRI).
_MARKER = re.compile(r"wikibase:label|wikiba\.se", re.IGNORECASE)
_LANGUAGE_CODE = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
_STRING_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_STRING_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_EXAMPLE = 'bd:serviceParam wikibase:language "en,bn"'

HINTS = WDQS["hint"]  # Blazegraph's query hints: http://www.bigdata.com/queryHints#
HINT_SCOPES = ("Query", "SubQuery", "Group", "GroupAndSubGroups", "Prior")
_SCOPE_IRIS = frozenset(HINTS + scope for scope in HINT_SCOPES)
# Only a text holding one of these can name a hint: the predeclared prefix, the namespace (in a
# PREFIX, a BASE or an IRI), or an escape that may spell it.
_HINT_MARKER = re.compile(r"hint:|queryHints|\\[uU]")
# The guard's lexical rules read the \u escapes an IRI may hold (the engine decodes them): a hint's
# IRI may be spelled so, and must not go unseen.
_HINT_TOKEN = TOKEN
_IRI_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_NUMBER = re.compile(r"[+-]?(?:\d+\.\d*[eE][+-]?\d+|\.?\d+[eE][+-]?\d+|\d*\.\d+|\d+)")
_LANGTAG = re.compile(r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*")
_HINT_EXAMPLE = 'hint:Query hint:optimizer "None" .'


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int


@dataclass
class _Service:
    keyword: int  # index of the SERVICE token
    body: tuple[int, int]  # indexes of its { and } (the } once the brackets are matched)
    prefixes: dict[str, str]
    base: str | None
    languages: list[str] = field(default_factory=list)
    manual: list[tuple[str, str, str]] = field(default_factory=list)  # (subject term, kind, ?name)


def expand(
    query: str, *, auto_language: str | Callable[[], str] = "en", max_length: int | None = None
) -> str:
    """``query`` without its query hints, and with every ``SERVICE wikibase:label { … }`` written as
    plain SPARQL.

    ``auto_language`` stands for ``[AUTO_LANGUAGE]``: a language code, or a function that gives
    it, called only when a label service asks for it (so a caller can tell whether the answer
    depends on it). The patterns use the predeclared prefixes (kg.iris.PREFIXES) where the query
    leaves them as they are. With ``max_length`` (UTF-8 bytes), a query already longer is returned
    as it is, unread (the guard refuses it), and one the rewrite makes longer is refused
    (PayloadTooLarge), before the patterns are written where it can tell. A malformed label service,
    or a hint that cannot be dropped, is a BadRequest naming the problem.
    """
    if not (_MARKER.search(query) or _HINT_MARKER.search(query)):
        return query
    if max_length is not None and len(query.encode("utf-8")) > max_length:
        return query
    if _HINT_MARKER.search(query):
        query = drop_hints(query)
        if not _MARKER.search(query):
            return query
    chosen: list[str] = []

    def auto() -> str:
        if not chosen:
            code = auto_language() if callable(auto_language) else auto_language
            chosen.append(_language_code(code, "[AUTO_LANGUAGE], the caller's language,"))
        return chosen[0]

    tokens, comments = _tokens(query)
    services = _find_services(tokens)
    if not services:
        return query
    try:  # `?n<2019&&(?n>` is "less than" to the engine: its brackets count (as in kg.guard.scan) …
        match, group_of = _brackets(tokens, in_iris=True)
    except BadRequest:  # … unless the query balances only as a real IRI, such as <http://x/a(>
        match, group_of = _brackets(tokens, in_iris=False)
    inside = [False] * len(tokens)  # the tokens of label services
    groups: dict[int, _Service] = {}  # the { of a group → its label service
    for service in services:
        service.body = (service.body[0], match[service.body[0]])
        inside[service.keyword : service.body[1] + 1] = [True] * (service.body[1] + 1 - service.keyword)
        _read_body(service, tokens, auto)
        group = group_of[service.keyword]
        if group is None:
            raise BadRequest("SERVICE wikibase:label must stand inside a group { … } of the query")
        if group in groups:
            raise BadRequest(
                "a group holds two SERVICE wikibase:label clauses; write one per group, with all its "
                "languages and triples"
            )
        groups[group] = service

    # Each SERVICE clause becomes an empty group (a `.` after it stays valid), each comment outside
    # them nothing; the line breaks stay.
    spans = [(tokens[service.keyword].start, tokens[service.body[1]].end) for service in services]
    edits = [(start, end, "{}" + "\n" * query.count("\n", start, end)) for start, end in spans]
    starts = [start for start, _ in spans]
    for start, end in comments:
        at = bisect.bisect(starts, start) - 1
        if at < 0 or start >= spans[at][1]:
            edits.append((start, end, ""))
    size = len(query.encode("utf-8")) + sum(len(r) - len(query[a:b].encode("utf-8")) for a, b, r in edits)

    plan = _targets(groups, match, _Scopes(tokens, match, group_of, inside))
    if max_length is not None:
        least = sum(len(targets) * len(service.languages) for _, service, targets in plan) * _LEAST_PATTERN
        if size + least > max_length:
            raise _too_large(max_length)
    fresh = _Fresh(query)
    for close, service, targets in plan:
        pieces = []  # at the end of the group, on the line of its closing brace
        for piece in _patterns(targets, service.languages, service.prefixes, fresh):
            pieces.append(piece)
            size += len(piece.encode("utf-8")) + 1  # and a space before it
            if max_length is not None and size + 1 > max_length:  # and one after the last
                raise _too_large(max_length)
        if pieces:
            size += 1
            edits.append((tokens[close].start, tokens[close].start, " " + " ".join(pieces) + " "))
    out, at = [], 0
    for start, end, text in sorted(edits):
        out += [query[at:start], text]
        at = end
    return "".join([*out, query[at:]])


def _too_large(max_length: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"written out as plain SPARQL, the query's label service makes it more than {max_length} "
        f"bytes, the limit; ask for fewer labels or languages"
    )


def _targets(
    groups: dict[int, _Service], match: dict[int, int], scopes: _Scopes
) -> list[tuple[int, _Service, list[tuple[str, str, str]]]]:
    """For each group with a label service: its closing brace, the service, and the (subject term,
    kind, name) it binds; inner groups first, since a variable they bind is not bound again around them."""
    plan = []
    bound: dict[int, set[str]] = {}  # a group → the variables its label service binds
    for group in sorted(groups, key=lambda g: match[g] - g):
        service, close = groups[group], match[group]
        inner = {v for g, names in bound.items() if group < g < close for v in names}
        in_group = scopes.group_variables(group)
        targets, taken = [], set(inner)
        for target in service.manual:
            name = target[2]
            if name in inner:
                continue
            if name in in_group or name in taken:
                raise BadRequest(
                    f"SERVICE wikibase:label cannot bind ?{name}: "
                    + ("it binds it twice" if name in taken else "its group binds it already")
                    + " (a BIND may not bind a variable again); give the label a variable of its own"
                )
            targets.append(target)
            taken.add(name)
        for name in sorted(scopes.query_variables(service.keyword)):
            kind = next((k for k in _SUFFIXES if name.endswith(k) and len(name) > len(k)), None)
            # ?x must be bound in the group, and ?xLabel not already (by the user's own patterns).
            if kind and name not in taken | in_group and name[: -len(kind)] in in_group:
                targets.append(("?" + name[: -len(kind)], kind, name))
                taken.add(name)
        bound[group] = taken
        plan.append((close, service, targets))
    return plan


# ---------------------------------------------------------------- reading the text


def _tokens(query: str, pattern: re.Pattern = TOKEN) -> tuple[list[_Tok], list[tuple[int, int]]]:
    """The significant tokens (a prefixed name's trailing dots are the `.` that follow it), and the
    comments that are surely comments: no backslash before them on their line (``ex:a\\#b`` is a
    name, ``<urn:\\u0061#b>`` an IRI), and a line feed or the end of the text after them."""
    out, comments = [], []
    for m in pattern.finditer(query):
        kind, text = m.lastgroup or "", m.group()
        if (
            kind == "comment"
            and query[m.end() : m.end() + 1] in ("", "\n")
            and "\\" not in query[query.rfind("\n", 0, m.start()) + 1 : m.start()]
        ):
            comments.append((m.start(), m.end()))
        if kind in ("space", "comment"):
            continue
        if kind == "pname" and text.endswith("."):
            core = text.rstrip(".")
            out.append(_Tok(kind, core, m.start(), m.start() + len(core)))
            out += [_Tok("other", ".", m.start() + i, m.start() + i + 1) for i in range(len(core), len(text))]
            continue
        out.append(_Tok(kind, text, m.start(), m.end()))
    return out, comments


def _iri(text: str, base: str | None) -> str:
    return urljoin(base, text) if base else text


def _resolve(tok: _Tok, prefixes: dict[str, str], base: str | None) -> str | None:
    """The IRI an IRI or prefixed-name token stands for (None: neither, or an undeclared prefix)."""
    if tok.kind == "iri":
        return _iri(tok.text[1:-1], base)
    if tok.kind != "pname":
        return None
    prefix, local = tok.text.split(":", 1)
    namespace = prefixes.get(prefix)
    return None if namespace is None else namespace + LOCAL_ESCAPE.sub(r"\1", local)


def _find_services(tokens: list[_Tok]) -> list[_Service]:
    prefixes, base = dict(PREFIXES), None
    found = []
    for i, tok in enumerate(tokens):
        following = tokens[i + 1 : i + 3]
        if tok.kind != "word":
            continue
        word = tok.text.upper()
        if word == "PREFIX" and [t.kind for t in following] == ["pname", "iri"]:
            prefixes[following[0].text.split(":", 1)[0]] = _iri(following[1].text[1:-1], base)
        elif word == "BASE" and following[:1] and following[0].kind == "iri":
            base = _iri(following[0].text[1:-1], base)
        elif word == "SERVICE":
            at = i + 1
            if at < len(tokens) and tokens[at].kind == "word" and tokens[at].text.upper() == "SILENT":
                at += 1
            if (
                at + 1 < len(tokens)
                and tokens[at + 1].text == "{"
                and (_resolve(tokens[at], prefixes, base) == LABEL_SERVICE)
            ):
                found.append(_Service(i, (at + 1, -1), dict(prefixes), base))
    return found


def _brackets(tokens: list[_Tok], *, in_iris: bool) -> tuple[dict[int, int], list[int | None]]:
    """Each { or ( and its match, and for every token the innermost { around it (None: none).
    With ``in_iris``, the ( and ) inside IRI tokens count too (an IRI holds no braces)."""
    match: dict[int, int] = {}
    stack: list[tuple[int, str]] = []
    braces: list[int] = []
    group_of: list[int | None] = []

    def close(i: int, char: str) -> None:
        opening = "{" if char == "}" else "("
        if not stack or stack[-1][1] != opening:
            raise _unbalanced()
        match[stack.pop()[0]] = i

    for i, tok in enumerate(tokens):
        if tok.kind == "close":
            close(i, tok.text)
            if tok.text == "}":
                braces.pop()
        group_of.append(braces[-1] if braces else None)
        if tok.kind == "open":
            stack.append((i, tok.text))
            if tok.text == "{":
                braces.append(i)
        elif tok.kind == "iri" and in_iris:
            for char in tok.text:
                if char == "(":
                    stack.append((i, char))
                elif char == ")":
                    close(i, char)
    if stack:
        raise _unbalanced()
    return match, group_of


def _unbalanced() -> BadRequest:
    return BadRequest(
        "the query's brackets { } and ( ) do not balance, so its SERVICE wikibase:label cannot be "
        "placed; check that every group is closed"
    )


def _string(tok: _Tok) -> str:
    quote = 3 if tok.text[:3] in ('"""', "'''") else 1
    raw = tok.text[quote:-quote]

    def unescape(m: re.Match) -> str:
        code = m.group(1)
        if code[0] in "uU" and len(code) > 1:
            point = int(code[1:], 16)
            if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
                raise BadRequest(
                    f"the string {tok.text} has the escape \\{code}, which is not a Unicode character"
                )
            return chr(point)
        if code in _STRING_ESCAPES:
            return _STRING_ESCAPES[code]
        raise BadRequest(f"the string {tok.text} has an escape SPARQL does not know: \\{code}")

    return _STRING_ESCAPE.sub(unescape, raw)


def _language_code(code: str, where: str) -> str:
    lowered = code.strip().lower()
    if not _LANGUAGE_CODE.fullmatch(lowered):
        raise BadRequest(
            f"{where} has {code.strip()!r}, which is not a language code; write codes such as en, bn, "
            "pt-br, separated by commas"
        )
    return lowered


def _read_body(service: _Service, tokens: list[_Tok], auto: Callable[[], str]) -> None:
    """The languages and the manual-mode triples of one service; a BadRequest for anything else."""
    body = tokens[service.body[0] + 1 : service.body[1]]
    triples = _triples(body, service)
    for subject, predicate, obj in triples:
        if subject == ("iri", SERVICE_PARAM):
            if predicate != LANGUAGE:
                raise BadRequest(
                    f"SERVICE wikibase:label has no parameter <{predicate}>; its one parameter is "
                    f"wikibase:language, as in {_EXAMPLE}"
                )
            if obj[0] != "string":
                raise BadRequest(
                    f"wikibase:language takes a string of language codes, as in {_EXAMPLE}; not {obj[1]}"
                )
            for code in obj[1].split(","):
                if code.strip().upper() == AUTO_LANGUAGE:
                    code = auto()
                if code.strip():
                    language = _language_code(code, "the wikibase:language of SERVICE wikibase:label")
                    if language not in service.languages:
                        service.languages.append(language)
                    if len(service.languages) > MAX_LANGUAGES:
                        raise BadRequest(
                            f"SERVICE wikibase:label takes at most {MAX_LANGUAGES} languages; this one "
                            "lists more"
                        )
        elif predicate in _KINDS:
            if subject[0] not in ("var", "iri"):
                raise BadRequest(
                    f"in SERVICE wikibase:label, the subject of a label triple must be a variable or an "
                    f"IRI, not {subject[1]}"
                )
            if obj[0] != "var":
                raise BadRequest(
                    f"in SERVICE wikibase:label, <{predicate}> binds a variable (?x rdfs:label ?name); "
                    f"{obj[1]} is not one"
                )
            service.manual.append((_term(subject), _KINDS[predicate], obj[1][1:]))
        else:
            raise BadRequest(
                f"SERVICE wikibase:label does not understand the predicate <{predicate}>; it takes "
                f"{_EXAMPLE} and ?x rdfs:label, schema:description or skos:altLabel ?name"
            )
    if not service.languages:
        raise BadRequest(f"SERVICE wikibase:label needs its languages, first choice first: {_EXAMPLE}")


def _term(term: tuple[str, str]) -> str:
    return term[1] if term[0] == "var" else f"<{term[1]}>"


def _triples(body: list[_Tok], service: _Service) -> list[tuple[tuple[str, str], str, tuple[str, str]]]:
    """The triples of a service's body: subject, predicate IRI, object (kind, value)."""
    out = []
    at = 0

    def term() -> tuple[str, str]:
        nonlocal at
        if at >= len(body):
            raise BadRequest("SERVICE wikibase:label ends in the middle of a triple")
        tok = body[at]
        at += 1
        if tok.kind == "var":
            return ("var", "?" + tok.text[1:])
        if tok.kind in ("iri", "pname"):
            iri = _resolve(tok, service.prefixes, service.base)
            if iri is None:
                prefix = tok.text.split(":", 1)[0]
                raise BadRequest(
                    f"SERVICE wikibase:label uses the prefix {prefix}: in {tok.text}, which is not "
                    "declared; declare it with PREFIX or use a predeclared one (bd:, wikibase:, rdfs:, …)"
                )
            return ("iri", iri)
        if tok.kind == "string":
            if at < len(body) and body[at].text in ("@", "^"):
                raise BadRequest(
                    f"in SERVICE wikibase:label, {tok.text} must be a plain string, without a language "
                    "tag or a datatype"
                )
            return ("string", _string(tok))
        if tok.kind == "word" and tok.text == "a":
            return ("iri", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        raise BadRequest(
            f"SERVICE wikibase:label holds {tok.text!r}, which it cannot read; it takes triples such as "
            f"{_EXAMPLE} and ?x rdfs:label ?name"
        )

    def punctuation(*allowed: str) -> str | None:
        nonlocal at
        if at < len(body) and body[at].text in allowed:
            at += 1
            return body[at - 1].text
        return None

    while at < len(body):
        subject = term()
        while True:
            predicate = term()
            if predicate[0] != "iri":
                raise BadRequest(
                    f"in SERVICE wikibase:label, the predicate {predicate[1]} must be an IRI "
                    "(bd:serviceParam wikibase:language …, ?x rdfs:label ?name)"
                )
            out.append((subject, predicate[1], term()))
            while punctuation(","):
                out.append((subject, predicate[1], term()))
            if not punctuation(";"):
                break
            while punctuation(";"):
                pass
            if at >= len(body) or body[at].text == ".":
                break
        if at < len(body) and not punctuation("."):
            raise BadRequest(
                f"SERVICE wikibase:label expected '.' between its triples, found {body[at].text!r}"
            )
    return out


# ---------------------------------------------------------------- query hints


def drop_hints(query: str) -> str:
    """``query`` without Blazegraph's query hints (see the module's docstring); the same text when
    it has none. A name in the hint namespace that is not part of a hint it can drop is a BadRequest
    naming it. ``expand`` calls it: the protocol's one entry point stays ``expand``."""
    tokens, _ = _tokens(query, _HINT_TOKEN)
    prefixes, base = dict(PREFIXES), None
    spans: list[tuple[int, int]] = []
    at = 0
    while at < len(tokens):
        tok = tokens[at]
        word = tok.text.upper() if tok.kind == "word" else ""
        following = [t.kind for t in tokens[at + 1 : at + 3]]
        if word == "PREFIX" and following == ["pname", "iri"]:
            prefixes[tokens[at + 1].text.split(":", 1)[0]] = _iri(_unescape_iri(tokens[at + 2]), base)
            at += 3
        elif word == "BASE" and following[:1] == ["iri"]:
            base = _iri(_unescape_iri(tokens[at + 1]), base)
            at += 2
        elif word == "CONSTRUCT" and at + 1 < len(tokens) and tokens[at + 1].text == "{":
            # A template holds triples only, no groups: it ends at the next }. Blazegraph reads no
            # hints in it (they are triples it constructs).
            at += 2
            while at < len(tokens) and tokens[at].text != "}":
                at += 1
        elif _in_hints(tok, prefixes, base):
            end = _hint_end(tokens, at, query, prefixes, base)
            if end is None:
                raise _misplaced_hint(query, tok)
            spans.append((tok.start, tokens[end - 1].end))
            at = end
        else:
            at += 1
    if not spans:
        return query
    out, done = [], 0
    for start, end in spans:  # a hint's line breaks stay, so the lines stay where they were
        out += [query[done:start], "\n" * query.count("\n", start, end)]
        done = end
    return "".join([*out, query[done:]])


def _unescape_iri(tok: _Tok) -> str:
    """An IRI token's text with its \\u escapes decoded, as the engine reads it."""

    def decode(m: re.Match) -> str:
        point = int(m.group(1) or m.group(2), 16)
        return chr(point) if point <= 0x10FFFF else m.group()  # no character: the engine refuses it

    return _IRI_ESCAPE.sub(decode, tok.text[1:-1])


def _hint_iri(tok: _Tok, prefixes: dict[str, str], base: str | None) -> str | None:
    if tok.kind == "iri":
        return _iri(_unescape_iri(tok), base)
    return _resolve(tok, prefixes, base)


def _in_hints(tok: _Tok, prefixes: dict[str, str], base: str | None) -> bool:
    iri = _hint_iri(tok, prefixes, base) if tok.kind in ("iri", "pname") else None
    return iri is not None and iri.startswith(HINTS)


def _hint_end(
    tokens: list[_Tok], at: int, query: str, prefixes: dict[str, str], base: str | None
) -> int | None:
    """Where the hint whose scope is ``tokens[at]`` ends (after its `.`, if it has one); None
    when ``tokens[at]`` does not begin a triple, or the triple is not a hint through and through."""
    if at == 0 or tokens[at - 1].text not in ("{", "}", ".", ")"):
        return None  # not a subject: a predicate, an object, or in an expression
    if _hint_iri(tokens[at], prefixes, base) not in _SCOPE_IRIS:
        return None
    at += 1
    while True:
        if at >= len(tokens) or not _in_hints(tokens[at], prefixes, base):
            return None  # the predicate must be a hint
        at += 1
        while True:
            end = _literal_end(tokens, at, query, prefixes, base)
            if end is None:
                return None  # a hint's value is a literal
            at = end
            if at < len(tokens) and tokens[at].text == ",":
                at += 1
                continue
            break
        if at >= len(tokens) or tokens[at].text != ";":
            break
        while at < len(tokens) and tokens[at].text == ";":
            at += 1
        if at >= len(tokens) or tokens[at].text in (".", "}"):
            break
    if at < len(tokens) and tokens[at].text == ".":
        at += 1
    return at


def _literal_end(
    tokens: list[_Tok], at: int, query: str, prefixes: dict[str, str], base: str | None
) -> int | None:
    """The index after the literal at ``tokens[at]`` (a string with its tag or datatype, a number,
    true or false); None when there is none."""
    if at >= len(tokens):
        return None
    tok = tokens[at]
    if tok.kind == "string":
        at += 1
        if at < len(tokens) and tokens[at].text == "@":
            tag = _LANGTAG.match(query, tokens[at].start)
            return None if tag is None else _tokens_to(tokens, at, tag.end())
        if (
            at + 2 < len(tokens)
            and tokens[at].text == tokens[at + 1].text == "^"
            and tokens[at + 2].kind in ("iri", "pname")
            and _hint_iri(tokens[at + 2], prefixes, base) is not None
        ):
            return at + 3
        return at
    if tok.kind == "word" and tok.text.lower() in ("true", "false"):
        return at + 1
    number = _NUMBER.match(query, tok.start) if tok.kind == "other" else None
    return None if number is None else _tokens_to(tokens, at, number.end())


def _tokens_to(tokens: list[_Tok], at: int, end: int) -> int | None:
    """The index of the first token at or after character ``end`` (None: a token straddles it)."""
    while at < len(tokens) and tokens[at].start < end:
        at += 1
    return at if tokens[at - 1].end == end else None


def _misplaced_hint(query: str, tok: _Tok) -> BadRequest:
    line = query.count("\n", 0, tok.start) + 1
    return BadRequest(
        f"the query hint {tok.text} (line {line}) cannot be dropped where it stands: WDQS's hints are "
        f"triples of their own, a scope ({', '.join('hint:' + s for s in HINT_SCOPES)}), a hint and a "
        f"literal, as in {_HINT_EXAMPLE} This endpoint's engine plans queries itself and needs none: "
        "remove it"
    )


class _Scopes:
    """Which variables a label service's group and its query hold (label services left out)."""

    def __init__(
        self, tokens: list[_Tok], match: dict[int, int], group_of: list[int | None], inside: list[bool]
    ) -> None:
        self.tokens, self.match, self.inside = tokens, match, inside
        # FILTER expressions (with EXISTS groups) bind nothing: the tokens from FILTER to its end.
        self.filtered = [False] * len(tokens)
        for i, tok in enumerate(tokens):
            if tok.kind == "word" and tok.text.upper() == "FILTER":
                opening = next((j for j in range(i + 1, len(tokens)) if tokens[j].kind == "open"), i)
                end = match.get(opening, i)
                self.filtered[i : end + 1] = [True] * (end + 1 - i)
        # Each query form (the query, and every subquery's SELECT) → where its text ends.
        self.queries = {
            i: len(tokens) if (group := group_of[i]) is None else match[group]
            for i, tok in enumerate(tokens)
            if tok.kind == "word" and tok.text.upper() in QUERY_FORMS
        }
        self._cache: dict[int, set[str]] = {}

    def group_variables(self, group: int) -> set[str]:
        """Those a group's patterns may bind: outside its FILTERs."""
        filtered = self.filtered
        return self._names(i for i in range(group + 1, self.match[group]) if not filtered[i])

    def query_variables(self, at: int) -> set[str]:
        """Those of the innermost (sub)query around token ``at``, outside the subqueries in it."""
        start = max((s for s, e in self.queries.items() if s < at < e), default=0)
        if start not in self._cache:
            end = self.queries.get(start, len(self.tokens))
            indexes, i = [], start
            while i < end:
                if i != start and i in self.queries:
                    i = self.queries[i]  # skip a nested subquery
                    continue
                indexes.append(i)
                i += 1
            self._cache[start] = self._names(indexes)
        return self._cache[start]

    def _names(self, indexes) -> set[str]:
        tokens, inside = self.tokens, self.inside
        return {tokens[i].text[1:] for i in indexes if tokens[i].kind == "var" and not inside[i]}


# ---------------------------------------------------------------- writing the patterns


class _Fresh:
    """Variable names the user's text does not use (?_lbl1, ?_lbl2, …): not even where the lexical
    rules see none, as in ``FILTER(?n<2&&(?_lbl1>1))``."""

    def __init__(self, query: str) -> None:
        underscores = max((len(m.group(1)) for m in re.finditer(r"[?$](_*)lbl", query)), default=0)
        self.prefix = "_" * (underscores + 1) + "lbl"
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"?{self.prefix}{self.count}"


def _patterns(
    targets: list[tuple[str, str, str]], languages: list[str], prefixes: dict[str, str], fresh: _Fresh
) -> Iterator[str]:
    """Patterns binding each (subject, kind, ?name) of ``targets``, in the order of ``languages``,
    one at a time. IRIs are written as prefixed names where the query's prefixes say the same as the
    predeclared ones."""
    subjects: dict[str, str] = {}
    for subject, kind, name in targets:
        if subject not in subjects:
            # The patterns look values up on a copy of ?x that is always bound: an IRI no triple has,
            # when ?x is unbound (an OPTIONAL on an unbound ?x would bind it to every labelled
            # resource). The ID fallback reads ?x itself: an error when it is unbound. Not BNODE():
            # Virtuoso 7.2 does not implement it, and a remote store must run the rewritten query.
            subjects[subject] = fresh()
            value = f"COALESCE({subject}, <{NO_RESOURCE}>)" if subject.startswith("?") else subject
            yield f"BIND({value} AS {subjects[subject]})"
        node, choices = subjects[subject], []
        for language in languages:
            if kind == "AltLabel":
                pattern, value = _alt_labels(node, _short(ALT_LABEL, prefixes), language, fresh)
                choices.append(f'STRLANG({value}, "{language}")')
            else:
                predicate = _short(RDFS_LABEL if kind == "Label" else DESCRIPTION, prefixes)
                pattern, value = _one_value(node, predicate, language, fresh)
                choices.append(value)
            yield pattern
        if kind == "Label":  # no label in any language: the item's ID, or the IRI
            choices.append(
                f'IF(ISIRI({subject}) && STRSTARTS(STR({subject}), "{ENTITY}"), '
                f'STRAFTER(STR({subject}), "{ENTITY}"), STR({subject}))'
            )
        yield f"BIND(COALESCE({', '.join(choices)}) AS ?{name})"


def _short(iri: str, prefixes: dict[str, str]) -> str:
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and prefixes.get(prefix) == namespace:
            return prefix + ":" + iri[len(namespace) :]
    return f"<{iri}>"


def _same_language(variable: str, language: str) -> str:
    return f'LCASE(LANG({variable})) = "{language}"'


def _one_value(node: str, predicate: str, language: str, fresh: Callable[[], str]) -> tuple[str, str]:
    """One value of ``predicate`` in ``language`` (the smallest, should there be several)."""
    value, other = fresh(), fresh()
    pattern = (
        f"OPTIONAL {{ {node} {predicate} {value} FILTER({_same_language(value, language)} && "
        f"NOT EXISTS {{ {node} {predicate} {other} FILTER({_same_language(other, language)} && "
        f"STR({other}) < STR({value})) }}) }}"
    )
    return pattern, value


def _alt_labels(node: str, predicate: str, language: str, fresh: Callable[[], str]) -> tuple[str, str]:
    """Every alternative label in ``language``, joined with ", " in code point order (SPARQL leaves
    GROUP_CONCAT's order open; pyoxigraph and rdflib both keep the order of an ordered subquery)."""
    joined, each, text = fresh(), fresh(), fresh()
    pattern = (
        f'OPTIONAL {{ SELECT {node} (GROUP_CONCAT(DISTINCT {text}; SEPARATOR=", ") AS {joined}) '
        f"WHERE {{ SELECT {node} (STR({each}) AS {text}) "
        f"WHERE {{ {node} {predicate} {each} FILTER({_same_language(each, language)}) }} ORDER BY {text} }} "
        f"GROUP BY {node} }}"
    )
    return pattern, joined


# The fewest bytes the pattern for one label in one language takes: its text without any names.
_LEAST_PATTERN = min(len(write("", "", "", lambda: "")[0]) for write in (_one_value, _alt_labels))
