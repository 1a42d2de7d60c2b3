"""Checks a query must pass before it reaches the engine.

A lexical scan (comments, strings and IRIs skipped, not a SPARQL parser) that
finds what must be refused up front:

* nesting deeper than the limit: 3,000 nested ``{`` crash pyoxigraph with a
  stack overflow, so depth is checked before parsing;
* update operations: the endpoint is read-only;
* SERVICE to anything but an allowlisted endpoint: pyoxigraph would fetch any
  URL, loopback included (every spelling of it, since only exact allowlisted
  IRIs pass);
* whether the query names its own dataset (FROM / FROM NAMED), which then
  takes precedence over the endpoint's default graph. Oxigraph resolves FROM
  against graphs in the store and never dereferences it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from kg.errors import BadRequest, Forbidden, PayloadTooLarge

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<open>[{(])
  | (?P<close>[})])
  | (?P<pname>[A-Za-z_][\w.-]*:[\w.:%-]*|:[\w.:%-]*)
  | (?P<var>[?$]\w+)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}


@dataclass(frozen=True)
class Scan:
    depth: int
    has_dataset: bool  # FROM or FROM NAMED in the query
    services: tuple[str, ...]  # SERVICE targets as written


def scan(query: str) -> Scan:
    depth = max_depth = 0
    has_dataset = False
    services: list[str] = []
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(query)]
    significant = [(kind, text) for kind, text in tokens if kind not in ("space", "comment")]
    for i, (kind, text) in enumerate(significant):
        if kind == "open":
            depth += 1
            max_depth = max(max_depth, depth)
        elif kind == "close":
            depth -= 1
        elif kind == "word":
            word = text.upper()
            if word == "FROM":
                has_dataset = True
            elif word == "SERVICE":
                j = i + 1
                if j < len(significant) and significant[j][1].upper() == "SILENT":
                    j += 1
                services.append(significant[j][1] if j < len(significant) else "")
    return Scan(max_depth, has_dataset, tuple(services))


def first_keyword(query: str) -> str:
    """The query's form (SELECT, ASK, INSERT, …): the first word after the prologue."""
    for match in _TOKEN.finditer(query):
        if match.lastgroup == "word" and match.group().upper() not in {"PREFIX", "BASE"}:
            return match.group().upper()
    return ""


@functools.lru_cache(maxsize=1024)  # the same query texts come back again and again
def check(query: str, max_length: int, max_depth: int, service_allowlist: tuple[str, ...]) -> Scan:
    """Refuse a query before evaluation; return what the scan found."""
    size = len(query.encode("utf-8"))
    if size > max_length:
        raise PayloadTooLarge(f"the query is {size} bytes; the limit is {max_length}")
    if first_keyword(query) in UPDATE_WORDS:
        raise Forbidden("this endpoint is read-only: SPARQL Update operations are not accepted")
    result = scan(query)
    if result.depth > max_depth:
        raise BadRequest(
            f"the query nests groups or parentheses {result.depth} deep; the limit is {max_depth}"
        )
    for target in result.services:
        iri = target[1:-1] if target.startswith("<") and target.endswith(">") else None
        if iri is None or iri not in service_allowlist:
            allowed = ", ".join(service_allowlist) or "none"
            raise BadRequest(f"SERVICE {target or '(nothing)'} is not allowed; allowed endpoints: {allowed}")
    return result
