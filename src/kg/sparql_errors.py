"""SPARQL syntax errors in words a user knows, at the place that is wrong.

pyoxigraph says ``error at 1:27: expected one of ABS, AVG, …, [_]``: the farthest
point any rule of its grammar reached, and everything some rule wanted there,
Unicode ranges included. Two things make that position unreliable. A keyword
is tried by reading as many characters as it has, so the failure of ``DISTINCT``
tried at ``WHERE`` is reported eight characters on, and near the end of the text
every such read stops at the end (``FILTER( }`` is reported one column after the
``}``). So the text is parsed a second time with spaces after it: each keyword
read then ends exactly its length after the token it was tried at, which gives
that token back; a character class the grammar wanted marks the spot itself.

The message keeps the line and column (1-based, counted in characters, as the
query editor counts them) and says what was found and, in short, what was
expected; known cases have their own words (unknown prefix, LIMIT, IRI, string).
"""

from __future__ import annotations

import re
from collections.abc import Callable

PAD = " " * 24  # longer than any keyword of the grammar (PREDICATE, STRBEFORE: 9)

_RAW = re.compile(r"error at (\d+):(\d+): (?:expected (?:one of )?)?(.*)", re.DOTALL)
# The entries of pyoxigraph's "expected" list: "…" literals, […] classes, bare words.
_ENTRY = re.compile(r'"(?:\\.|[^"\\])*"|\[(?:\'(?:\\.|[^\'\\])*\'|[^\]\'])*\]|[^,\[\]"]+')
# Tokens, enough to tell where one starts and what it is (comments and spaces are skipped).
_TOKEN = re.compile(
    r"""(?P<iri><[^<>"{}|^`\\\s]*>|<[^<>\n]*>)
    |(?P<string>"{3}[\s\S]*?(?:"{3}|$)|'{3}[\s\S]*?(?:'{3}|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?)
    |(?P<var>[?$]\w+)
    |(?P<pname>(?:[A-Za-z][\w.-]*)?:[\w.:%-]*)
    |(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<word>[A-Za-z_]\w*)
    |(?P<punct>\^\^|\|\||&&|!=|<=|>=|\S)""",
    re.VERBOSE,
)
_SPACE = re.compile(r"(?:\s|#[^\n]*)*")
_PREFIX_DECL = re.compile(r"PREFIX\s+([A-Za-z][\w.-]*)?:", re.IGNORECASE)
# Keywords that stand for "an expression here": the grammar tries every function name.
_FUNCTIONS = {"ABS", "AVG", "BNODE", "BOUND", "COUNT", "STR", "IRI", "URI", "CONCAT", "EXISTS", "NOT"}
_QUERY_FORMS = {"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"}
_PUNCT = {"{", "}", "(", ")", ".", ",", ";", "*", "=", "[", "]"}


class Token:
    def __init__(self, kind: str, text: str, start: int) -> None:
        self.kind, self.text, self.start = kind, text, start

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def tokens(query: str) -> list[Token]:
    found, pos = [], 0
    while True:
        pos = _SPACE.match(query, pos).end()  # type: ignore[union-attr]  # matches the empty string
        match = _TOKEN.match(query, pos)
        if match is None:
            return found
        found.append(Token(match.lastgroup or "punct", match.group(), pos))
        pos = match.end()


def line_column(query: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = query[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _offset(query: str, line: int, column: int) -> int:
    starts = [0] + [m.end() for m in re.finditer("\n", query)]
    return min(starts[min(line, len(starts)) - 1] + column - 1, len(query))


def _parse_raw(raw: str, query: str) -> tuple[int, list[str]] | None:
    match = _RAW.match(raw)
    if not match:
        return None
    line, column, rest = match.groups()
    return _offset(query, int(line), int(column)), [e.strip() for e in _ENTRY.findall(rest) if e.strip()]


def _is_keyword(entry: str) -> bool:
    return re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", entry) is not None


def _shown(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return "`" + (text if len(text) <= limit else text[: limit - 1] + "…") + "`"


def _expected(entries: list[str]) -> str:
    """What the grammar wanted, summarised: never the Unicode ranges."""
    words: list[str] = []

    def add(word: str) -> None:
        if word not in words:
            words.append(word)

    keywords = [e for e in entries if _is_keyword(e)]
    if any(k.upper() in _FUNCTIONS for k in keywords):
        add("an expression")
    elif any(k in _QUERY_FORMS for k in keywords):
        add("SELECT, CONSTRUCT, ASK or DESCRIBE")
    for entry in entries:
        if entry.startswith('"'):
            literal = entry[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            if literal in ("?", "$"):
                add("a variable")
            elif literal in ("<", ":"):
                add("an IRI")
            elif literal in ('"', "'"):
                add("a string")
            elif literal in _PUNCT:
                add(f"`{literal}`")
        elif entry.startswith("["):
            if "'0'..='9'" in entry.replace(" ", "") and "'A'" not in entry:
                add("a number")
            elif "'A'..='Z'" in entry.replace(" ", ""):
                add("a name")
    if "a string" in words or "a number" in words:
        words = [w for w in words if w not in ("a string", "a number", "`.`")]
        words.insert(min(1, len(words)), "a literal")
    if "an IRI" in words and "a name" in words:
        words.remove("a name")
    if not words and keywords and len(keywords) <= 4:
        add(" or ".join(keywords))
    if len(words) > 1:
        return ", ".join(words[:-1]) + " or " + words[-1]
    return words[0] if words else ""


def _at(query: str, offset: int) -> str:
    line, column = line_column(query, offset)
    return f"line {line}, column {column}"


def _first_wrong(query: str, toks: list[Token], parse: Callable[[str], str | None]) -> Token | None:
    """The first token after which the text cannot go on to a query, or None (it is only unfinished).

    A beginning that can go on makes the engine read to the end of the spaces after it; one
    that cannot stops it before them (a keyword read is never longer than PAD). Whether a
    beginning can go on only changes once, so a binary search over the tokens finds it.
    """

    def goes_on(k: int) -> bool:
        raw = parse(query[:k] + PAD)
        parsed = _parse_raw(raw, query[:k] + PAD) if raw is not None else None
        return raw is None or parsed is None or parsed[0] >= k + len(PAD)

    lo, hi = 0, len(toks)  # toks[:lo] go on; the answer is in toks[lo:hi], or None if hi == len
    while lo < hi:
        mid = (lo + hi) // 2
        if goes_on(toks[mid].end):
            lo = mid + 1
        else:
            hi = mid
    return toks[lo] if lo < len(toks) else None


def _what_follows(text: str, parse: Callable[[str], str | None]) -> str:
    raw = parse(text + PAD)
    parsed = _parse_raw(raw, text + PAD) if raw is not None else None
    return _expected(parsed[1]) if parsed else ""


_KNOWN = ("Prefix not found", "IRI parsing failed", "limit should be")


def syntax_message(
    raw: str, query: str | None = None, parse: Callable[[str], str | None] | None = None
) -> str:
    """The engine's message for ``query`` in words; ``parse(text)`` gives the engine's message
    for another text (None if it parses), to find where the error is."""
    parsed = _parse_raw(raw, query) if query is not None else None
    if query is None or parsed is None or parse is None:
        match = _RAW.match(raw)
        if match:  # nothing to look at: the engine's position, and no ranges
            line, column, rest = match.groups()
            expected = _expected([e.strip() for e in _ENTRY.findall(rest)])
            tail = f": expected {expected}" if expected else ""
            return f"SPARQL syntax error at line {line}, column {column}{tail}"
        return "SPARQL syntax error: " + (raw.splitlines()[0] if raw else "the query cannot be read")
    offset, entries = parsed
    toks = tokens(query)
    before = [t for t in toks if t.start < offset]

    if "Prefix not found" in entries:
        declared = {m.group(1) or "" for m in _PREFIX_DECL.finditer(query)}
        for tok in reversed(before):
            prefix = tok.text.partition(":")[0]
            if tok.kind == "pname" and prefix not in declared:
                return f"unknown prefix `{prefix}:` ({_at(query, tok.start)})"
    if "IRI parsing failed" in entries:
        iri = next((t for t in reversed(before) if t.kind == "iri"), None)
        if iri is not None:
            return f"{_shown(iri.text)} is not a valid IRI ({_at(query, iri.start)})"
    unterminated = next(
        (t for t in toks if t.kind == "string" and (len(t.text) < 2 or t.text[-1] != t.text[0])), None
    )
    if unterminated is not None and unterminated.start < offset:
        return f"a string is not closed: {_shown(unterminated.text, 20)} ({_at(query, unterminated.start)})"
    said = [e for e in entries if " " in e and e[0] not in '["' and not any(k in e for k in _KNOWN)]
    if said:  # the engine's own sentence ("The SELECT contains a variable that is unbound")
        return f"SPARQL error at {_at(query, offset)}: {said[0][0].lower()}{said[0][1:]}"

    wrong = _first_wrong(query, toks, parse)
    at = wrong.start if wrong else len(query)
    previous = [t for t in toks if t.start < at]
    keyword = previous[-1].text.upper() if previous else ""
    if keyword in ("LIMIT", "OFFSET"):
        return f"{keyword} must be a non-negative integer, such as {keyword} 100 ({_at(query, at)})"
    if any("limit should be" in e for e in entries) and previous:
        return f"LIMIT must be a non-negative integer, such as LIMIT 100 ({_at(query, previous[-1].start)})"
    expected = _what_follows(query[:at], parse)
    if (
        not previous
        or keyword == "PREFIX"
        or (previous[-1].kind == "iri" and len(previous) > 1 and previous[-2].kind == "pname")
    ):
        expected = expected or "PREFIX, SELECT, CONSTRUCT, ASK or DESCRIBE"
    if keyword in ("ORDER", "GROUP"):
        expected = "BY"
    tail = f"; expected {expected}" if expected else ""
    if wrong is None:
        return f"SPARQL syntax error at {_at(query, at)}: the query ends too soon{tail}"
    if parse(query[:at]) is None:
        tail = " after the end of the query"
    return f"SPARQL syntax error at {_at(query, at)}: unexpected {_shown(wrong.text)}{tail}"
