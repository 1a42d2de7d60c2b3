"""A good citizen of a public SPARQL endpoint: Wikidata's query service, a mirror or QLever.

Every question the curation tools ask Wikidata goes through ``WikidataClient``. SPARQLWrapper (the
project's given client) sends it; around it this module adds what the public endpoint's usage policy
asks of a bot (https://meta.wikimedia.org/wiki/User-Agent_policy and WDQS' rate limits):

- a descriptive User-Agent with a contact;
- many items per request: the caller's rows become one ``VALUES`` clause appended to the query file's
  text, at most ``batch`` rows a request; the terms are serialised from RDF terms, never pasted text;
- a time limit per request (SPARQLWrapper's, an HTTP time-out);
- retries with exponential backoff on 429 and 5xx, and on a time-out, honouring ``Retry-After``
  (seconds or an HTTP date); but a batch of two rows or more that timed out (the server's 500 with
  a ``TimeoutException``, or the client's time-out) is not sent whole again: its halves are asked
  instead, down to one row;
- every answer kept on disk with the date it was retrieved, so that a second run asks nothing and
  gives the same report (``refresh`` asks again; ``offline`` never asks).

A malformed answer (not SPARQL JSON results) is an error naming the endpoint, never cached.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import re
import time
import urllib.error
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import EndPointInternalError, SPARQLWrapperException

from kg.errors import BadGateway

if TYPE_CHECKING:
    from kg.config import Settings

WIKIDATA = "https://query.wikidata.org/sparql"
RETRIED = {429, 500, 502, 503, 504}
# Characters an IRI may not hold in SPARQL's IRIREF: a term that has one is refused, not escaped.
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
# Where a query file takes its rows: ``VALUES (?item ?class) {}``, empty in the file (which is then a
# query in its own right, answering nothing), filled here with the rows of one batch.
_PLACEHOLDER = re.compile(r"VALUES\s*\(((?:\s*\?[A-Za-z_][A-Za-z0-9_]*)+)\s*\)\s*\{\s*\}")

Row = dict[str, Node]


class EndpointError(BadGateway):
    """The endpoint could not answer: unreachable, too slow, refusing, or answering nonsense."""


class TimedOut(EndpointError):
    """A batch the endpoint could not answer in time: asked again in halves, never whole."""


@dataclass
class Answer:
    rows: list[Row]
    retrieved: str  # when the endpoint gave this answer (ISO 8601, UTC): a cached answer keeps its date
    cached: bool


@dataclass
class WikidataClient:
    endpoint: str = WIKIDATA
    cache_dir: Path | None = None  # None: nothing kept
    user_agent: str = "hos-kg"
    timeout: float = 60.0  # seconds per request
    batch: int = 50  # VALUES rows per request
    retries: int = 4  # after the first attempt
    backoff: float = 2.0  # seconds before the first retry; doubled each time
    max_wait: float = 120.0  # the longest Retry-After honoured (longer: give up)
    refresh: bool = False  # ask again even when an answer is kept
    offline: bool = False  # never ask: an answer not kept is an error
    sleep: Callable[[float], None] = time.sleep
    requests: int = field(default=0, init=False)  # sent to the endpoint, retries included
    oldest: str | None = field(default=None, init=False)  # the date of the oldest answer used

    def select(self, text: str, rows: Iterable[Sequence[Node]] = ()) -> list[Row]:
        """The solutions of SELECT ``text``, whose one ``VALUES (?a ?b) {}`` (empty in the file) is
        filled with ``rows``, at most ``batch`` rows a request (all solutions, in batch order)."""
        found = list(_PLACEHOLDER.finditer(text))
        if len(found) != 1:
            raise ValueError(f"the query needs one empty VALUES (?…) {{}} to fill, it has {len(found)}")
        variables = found[0].group(1).split()
        rows = list(rows)

        def query(part: list[Sequence[Node]]) -> str:
            return text[: found[0].start()] + values_clause(variables, part) + text[found[0].end() :]

        out: list[Row] = []
        for start in range(0, len(rows), self.batch):
            out += self._answer(query, rows[start : start + self.batch])
        return out

    def _answer(self, query: Callable[[list], str], rows: list[Sequence[Node]]) -> list[Row]:
        """A batch's solutions; a batch that timed out is asked again as its two halves, and a batch
        asked in halves before (the halves kept, not the whole) is read back in halves."""
        half = len(rows) // 2
        if not (half and not self.refresh and self._kept_in_halves(query, rows)):
            try:
                return self.ask_once(query(rows), split=half > 0).rows
            except TimedOut:
                pass
        return self._answer(query, rows[:half]) + self._answer(query, rows[half:])

    def _kept_in_halves(self, query: Callable[[list], str], rows: list[Sequence[Node]]) -> bool:
        """Whether ``rows``' answer is kept not whole but in halves (each whole or in halves)."""
        half, path = len(rows) // 2, self._cache_path(query(rows))
        if path is None or path.is_file() or not half:
            return False
        return all(self._kept_somehow(query, part) for part in (rows[:half], rows[half:]))

    def _kept_somehow(self, query: Callable[[list], str], rows: list[Sequence[Node]]) -> bool:
        path = self._cache_path(query(rows))
        return (path is not None and path.is_file()) or self._kept_in_halves(query, rows)

    def ask_once(self, query: str, *, split: bool = False) -> Answer:
        """One request's answer: from the disk cache if kept (unless ``refresh``), else the endpoint's.
        With ``split`` (a batch of two rows or more), a time-out is not retried but raises TimedOut."""
        path = self._cache_path(query)
        kept = None if path is None or self.refresh else _kept(path)
        if kept is not None:
            answer = kept
        elif self.offline:
            raise EndpointError(f"offline, and no answer from {self.endpoint} is kept for this question")
        else:
            body = self._fetch(query, split)
            retrieved = datetime.now(UTC).replace(microsecond=0).isoformat()
            answer = Answer(_rows(body), retrieved, cached=False)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                record = {"endpoint": self.endpoint, "retrieved": retrieved, "query": query, "answer": body}
                temporary = path.with_suffix(".tmp")
                temporary.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
                temporary.replace(path)  # whole or not at all: a killed run leaves no half answer
        if self.oldest is None or answer.retrieved < self.oldest:
            self.oldest = answer.retrieved
        return answer

    def _cache_path(self, query: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(f"{self.endpoint}\n{query}".encode()).hexdigest()
        return self.cache_dir / key[:2] / f"{key}.json"

    def _fetch(self, query: str, split: bool = False) -> dict:
        """The endpoint's JSON answer, retried on 429/5xx and time-outs as the policy asks; with
        ``split``, a time-out raises TimedOut at once (the caller asks the batch's halves instead)."""
        attempt = 0
        while True:
            self.requests += 1
            try:
                return self._request(query)
            except urllib.error.HTTPError as exc:  # SPARQLWrapper re-raises the codes it has no class for
                if exc.code not in RETRIED or attempt >= self.retries:
                    raise EndpointError(f"{self.endpoint} answered HTTP {exc.code} {exc.reason}") from None
                wait = _retry_after(exc.headers.get("Retry-After")) if exc.headers else None
                if wait is not None and wait > self.max_wait:
                    raise EndpointError(
                        f"{self.endpoint} answered HTTP {exc.code} and asks to wait {wait:.0f} s "
                        f"(more than {self.max_wait:.0f} s): try again later"
                    ) from None
            except TimeoutError:
                if split:
                    raise TimedOut(f"{self.endpoint} did not answer within {self.timeout:g} s") from None
                if attempt >= self.retries:
                    raise EndpointError(f"{self.endpoint} did not answer within {self.timeout:g} s") from None
                wait = None
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError) and split:
                    raise TimedOut(f"{self.endpoint} did not answer within {self.timeout:g} s") from None
                if isinstance(exc.reason, TimeoutError) and attempt < self.retries:
                    wait = None
                else:
                    raise EndpointError(f"{self.endpoint} cannot be reached: {exc.reason}") from None
            except (ConnectionError, http.client.HTTPException) as exc:
                # a proxy or a busy server hanging up mid-request: urllib does not wrap these
                if attempt >= self.retries:
                    raise EndpointError(
                        f"{self.endpoint} closed the connection without an answer: {_first_line(exc)}"
                    ) from None
                wait = None
            except EndPointInternalError as exc:  # HTTP 500, which SPARQLWrapper has a class for
                if split and "TimeoutException" in str(exc):  # WDQS' query time-out (its body says so)
                    raise TimedOut(f"{self.endpoint} timed out on the query (HTTP 500)") from None
                if attempt >= self.retries:
                    raise EndpointError(f"{self.endpoint} answered HTTP 500: {_first_line(exc)}") from None
                wait = None
            except SPARQLWrapperException as exc:  # 400, 401, 404, 414: asking again will not help
                raise EndpointError(f"{self.endpoint} refused the query: {_first_line(exc)}") from None
            self.sleep(wait if wait is not None else self.backoff * 2**attempt)
            attempt += 1

    def _request(self, query: str) -> dict:
        sparql = SPARQLWrapper(self.endpoint, agent=self.user_agent)
        sparql.setQuery(query)
        sparql.setMethod(POST)  # a batch of items is longer than a URL should be
        sparql.setReturnFormat(JSON)
        sparql.setTimeout(int(max(1, self.timeout)))
        response = sparql.query().response
        try:
            raw = response.read()
        finally:
            response.close()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise EndpointError(f"{self.endpoint} gave a malformed answer (not JSON): {exc}") from None
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, dict) or not isinstance(results.get("bindings"), list):
            raise EndpointError(f"{self.endpoint} gave a malformed answer (no results.bindings)")
        try:
            _rows(body)  # every term well-formed, else not kept
        except EndpointError as exc:
            raise EndpointError(f"{self.endpoint} gave {exc.message}") from None
        return body


def values_clause(variables: Sequence[str], rows: Iterable[Sequence[Node]]) -> str:
    """``VALUES (?a ?b) { (<…> "…") … }`` from RDF terms; an IRI SPARQL cannot hold is refused."""
    variables = [v.lstrip("?") for v in variables]
    for var in variables:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise ValueError(f"not a SPARQL variable name: {var!r}")
    lines = []
    for row in rows:
        if len(row) != len(variables):
            raise ValueError(f"{len(row)} terms for {len(variables)} variables")
        lines.append("  (" + " ".join(_term(t) for t in row) + ")")
    head = " ".join("?" + v for v in variables)
    return f"VALUES ({head}) {{\n" + "\n".join(lines) + "\n}"


def _term(term: Node) -> str:
    if isinstance(term, URIRef):
        if _BAD_IRI.search(str(term)):
            raise ValueError(f"not an IRI SPARQL can hold: {str(term)!r}")
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()  # rdflib escapes quotes, backslashes and line breaks
    if term is None:
        return "UNDEF"
    raise ValueError(f"no VALUES term for {term!r}")


def _kept(path: Path) -> Answer | None:
    """The answer kept in ``path``; None if there is none or it cannot be read (asked again)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return Answer(_rows(kept["answer"]), str(kept["retrieved"]), cached=True)
    except (OSError, ValueError, KeyError, TypeError, EndpointError):
        return None


def _rows(body: dict) -> list[Row]:
    try:
        return [{k: _node(v) for k, v in b.items()} for b in body["results"]["bindings"]]
    except (KeyError, TypeError, AttributeError) as exc:
        raise EndpointError(f"a malformed SPARQL JSON answer: {exc!r}") from None


def _node(value: dict) -> Node:
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if kind in ("literal", "typed-literal"):
        return Literal(value["value"], lang=value.get("xml:lang"), datatype=value.get("datatype"))
    raise KeyError(f"unknown term type {kind!r}")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):  # ASCII digits (RFC 9110's DIGIT): "²".isdigit() is True too
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": a date in UTC whose sender gave no zone (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def user_agent(contact: str) -> str:
    """A User-Agent as Wikimedia's policy asks: the tool, its version, a contact, the library."""
    from importlib.metadata import version

    return f"hos-kg/{version('hos-kg')} ({contact}) SPARQLWrapper/{version('SPARQLWrapper')}"


def for_settings(
    settings: Settings, *, endpoint: str | None = None, refresh: bool = False, offline: bool = False
) -> WikidataClient:
    """The client `kg link` uses: the settings' endpoint and contact, answers kept in the build folder."""
    return WikidataClient(
        endpoint=endpoint or settings.wikidata_endpoint,
        cache_dir=settings.build.wikidata_cache,
        user_agent=user_agent(settings.wikidata_contact),
        refresh=refresh,
        offline=offline,
    )
