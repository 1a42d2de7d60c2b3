"""Canned queries: one SPARQL file each, with a ``#+`` YAML header (grlc style).

    #+ title: Which meetings dealt with a subject?      (the question it answers)
    #+ description: …
    #+ tags: [meetings, issues]
    #+ params:
    #+   subject: {type: iri, default: "https://…/place/ukraine", values_from: hos:Country,
    #+             description: …, example: …, required: false}

A parameter ``name`` is the variable ``?_name`` in the query. Types: iri,
string, lang-string ("text@lang"), integer, date, year. An iri is what users
type (``expand_iri``): a full IRI, a prefixed name with a predeclared prefix
(place:ukraine, wd:Q212) or a bare Wikidata ID (Q212). ``values`` lists the
allowed values; ``values_from`` takes them from the instances of a class in
the graph. The registry is loaded once at start-up; a bad header, an
undeclared ``?_`` variable, a default, example or "e.g. …" in a description
that is not of its parameter's type, or a query that does not parse stops
start-up with the file name and the reason.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
import yaml
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from kg.errors import BadRequest, DataError
from kg.namespaces import PREFIXES

XSD = "http://www.w3.org/2001/XMLSchema#"
PARAM_TYPES = ("iri", "string", "lang-string", "integer", "date", "year")
MAX_VALUE_LENGTH = 2048
# The language[-script][-region] subset of BCP 47: what labels use, and what pyoxigraph accepts.
LANG_TAG = r"[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?"
_LANG_TAG = re.compile(f"^{LANG_TAG}$")
_PARAM_VAR = re.compile(r"[?$]_(\w+)")

Term = ox.NamedNode | ox.Literal


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str = ""
    default: str | None = None
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values, fixed in the header or taken from the graph
    values_from: str | None = None  # a class IRI: its instances are the allowed values
    example: str | None = None

    def term(self, raw: str) -> Term:
        """The user's text as a typed RDF term; the query text is never touched."""
        if len(raw) > MAX_VALUE_LENGTH:
            raise BadRequest(
                f"parameter {self.name!r} is {len(raw)} characters long; the limit is {MAX_VALUE_LENGTH}"
            )
        try:
            term = _TERMS[self.type](raw)
        except ValueError as exc:
            raise BadRequest(self._with_example(f"must be {_EXPECTED[self.type]}: {exc}")) from None
        # An IRI is compared as the IRI it names (event:apec is the enumeration's full IRI).
        if self.values and (term.value if self.type == "iri" else raw) not in self.values:
            shown = ", ".join(self.values[:20]) + (", …" if len(self.values) > 20 else "")
            raise BadRequest(f"parameter {self.name!r} must be one of: {shown}")
        return term

    def _with_example(self, problem: str) -> str:
        """The message for a value it cannot take: what it expects, and the header's example."""
        message = f"parameter {self.name!r} {problem}"
        example = self.example or self.default
        return message + f"; e.g. {example}" if example and f"e.g. {example}" not in message else message


_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_WIKIDATA_ID = re.compile(r"[PQL][1-9][0-9]*")  # an item, a property or a lexeme


def expand_iri(raw: str) -> str:
    """The IRI a user means: the one function for parameters, ``values_from`` and notes.

    ``<https://…>`` or ``https://…`` as it is (brackets as in SPARQL: never a
    prefixed name); ``place:ukraine``, ``wd:Q212``, ``hos:Meeting``: any
    predeclared prefix (kg.iris.PREFIXES) expanded, unless ``//`` follows it
    (a URL); ``Q212``, ``P710``: the Wikidata entity. Any other ``scheme:…``
    is taken as an IRI with that scheme (``urn:x``; ``hso:x`` matches nothing).
    ValueError says why a text is not an IRI; pyoxigraph's own check (spaces,
    ``<``, ``"``, …) comes when the term is made.
    """
    text = raw.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    elif _WIKIDATA_ID.fullmatch(text):
        return PREFIXES["wd"] + text
    else:
        prefix, colon, local = text.partition(":")
        if colon and prefix in PREFIXES and not local.startswith("//"):
            return PREFIXES[prefix] + local
    if not _SCHEME.match(text):
        raise ValueError(f"{raw[:80]!r} is none of these")
    return text


def _iri(raw: str) -> ox.NamedNode:
    iri = expand_iri(raw)
    try:
        return ox.NamedNode(iri)
    except ValueError as exc:  # "Invalid IRI code point ' '": pyoxigraph's words, reworded
        found = re.search(r"'(.+)'$", str(exc))
        what = f"it contains {found.group(0)}" if found else "it is not well-formed"
        raise ValueError(f"{raw[:80]!r} is not an IRI: {what}") from None


def _lang_string(raw: str) -> ox.Literal:
    text, at, lang = raw.rpartition("@")
    if not at or not _LANG_TAG.match(lang):
        raise ValueError("write it as text@lang, e.g. Hamburg@en")
    return ox.Literal(text, language=lang)


def _integer(raw: str) -> ox.Literal:
    if not re.fullmatch(r"[+-]?\d+", raw.strip()):  # int()'s own message names Python
        raise ValueError(f"{raw[:20]!r} is not a whole number")
    return ox.Literal(str(int(raw.strip())), datatype=ox.NamedNode(XSD + "integer"))


def _date(raw: str) -> ox.Literal:
    try:
        day = datetime.date.fromisoformat(raw.strip())
    except ValueError:  # "Invalid isoformat string": Python's words
        raise ValueError(f"{raw[:20]!r} is not a date such as 2018-07-16") from None
    return ox.Literal(day.isoformat(), datatype=ox.NamedNode(XSD + "date"))


def _year(raw: str) -> ox.Literal:
    if not re.fullmatch(r"-?\d{4}", raw.strip()):
        raise ValueError(f"{raw[:20]!r} is not a four-digit year")
    return ox.Literal(str(int(raw)), datatype=ox.NamedNode(XSD + "integer"))


_TERMS = {
    "iri": _iri,
    "string": ox.Literal,
    "lang-string": _lang_string,
    "integer": _integer,
    "date": _date,
    "year": _year,
}
_EXPECTED = {
    "iri": "an IRI written in full (https://…), as a prefixed name (place:ukraine) "
    "or as a Wikidata ID (Q212)",
    "string": "a string",
    "lang-string": "a string with a language tag (text@lang)",
    "integer": "an integer",
    "date": "a date (YYYY-MM-DD)",
    "year": "a year (YYYY)",
}


@dataclass(frozen=True)
class CannedQuery:
    name: str
    title: str
    description: str
    text: str
    path: Path
    tags: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()

    @cached_property
    def prepared(self) -> Query:
        """The query parsed once by rdflib (re-parsing costs 8–33 ms per call)."""
        return prepareQuery(self.text, initNs=PREFIXES)

    @property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    def samples(self) -> dict[str, tuple[str, ...]]:
        """The values the header suggests for each parameter: its default, its example, the
        "e.g. …" of its description, and of the query's description if it is the only one."""
        out = {}
        for p in self.params:
            given = [p.default, p.example, *examples_in(p.description)]
            if len(self.params) == 1:
                given += examples_in(self.description)
            out[p.name] = tuple(dict.fromkeys(v for v in given if v))
        return out

    def bindings(self, values: Mapping[str, list[str]]) -> dict[str, Term]:
        """Bind declared parameters (defaults applied) as RDF terms; 400 names any problem."""
        declared = self.param_map
        unknown = sorted(set(values) - set(declared))
        if unknown:
            allowed = ", ".join(declared) or "none"
            raise BadRequest(
                f"unknown parameter(s) {', '.join(unknown)} for query {self.name!r}; it takes: {allowed}"
            )
        out: dict[str, Term] = {}
        for name, param in declared.items():
            given = values.get(name, [])
            if len(given) > 1:
                raise BadRequest(f"parameter {name!r} is given {len(given)} times; give it once")
            raw = given[0] if given else param.default
            if raw is None or (raw == "" and param.required):
                raise BadRequest(param._with_example(f"is required: {_EXPECTED[param.type]}"))
            out[f"_{name}"] = param.term(raw)
        return out


def parse_header(text: str, path: Path) -> dict:
    lines = [ln[2:].removeprefix(" ") for ln in text.splitlines() if ln.startswith("#+")]
    if not lines:
        raise DataError(f"{path}: no '#+' header (needs at least '#+ title: …')")
    try:
        meta = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: bad '#+' YAML header: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("title"), str):
        raise DataError(f"{path}: the '#+' header must be a mapping with a 'title'")
    return meta


def examples_in(text: str) -> tuple[str, ...]:
    """The values a description suggests after "e.g.": ``e.g. wd:Q212 (Ukraine) or wd:Q858``.

    The list ends at ``;``, at a ``)`` it did not open, or at the end of the
    sentence; glosses in brackets are dropped; values are separated by commas
    or "or".
    """
    out: list[str] = []
    for found in re.finditer(r"\be\.g\.,?\s+", text):
        kept, depth = [], 0
        rest = text[found.end() :]
        for i, char in enumerate(rest):
            if char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif depth:
                continue
            elif char in ";)" or (char == "." and rest[i + 1 : i + 2] in ("", " ")):
                break
            else:
                kept.append(char)
        out += [v for v in re.split(r",\s*|\s+or\s+", "".join(kept).strip()) if v]
    return tuple(dict.fromkeys(out))


def _params(meta: dict, text: str, path: Path) -> tuple[Param, ...]:
    declared = meta.get("params") or {}
    if not isinstance(declared, dict):
        raise DataError(f"{path}: 'params' must be a mapping of name to declaration")
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    used = set(_PARAM_VAR.findall(body))
    undeclared = sorted(used - set(declared))
    if undeclared:
        raise DataError(f"{path}: ?_{undeclared[0]} is used in the query but not declared under 'params'")
    params = []
    for name, decl in declared.items():
        if not isinstance(decl, dict) or decl.get("type") not in PARAM_TYPES:
            raise DataError(f"{path}: parameter {name!r} needs a type, one of {', '.join(PARAM_TYPES)}")
        if name not in used:
            raise DataError(f"{path}: parameter {name!r} is declared but ?_{name} is not in the query")
        unknown_keys = set(decl) - {
            "type",
            "description",
            "default",
            "required",
            "values",
            "values_from",
            "example",
        }
        if unknown_keys:
            raise DataError(
                f"{path}: parameter {name!r} has unknown key(s) {', '.join(sorted(unknown_keys))}"
            )
        default = None if decl.get("default") is None else str(decl["default"])
        param = Param(
            name=name,
            type=decl["type"],
            description=str(decl.get("description", "")),
            default=default,
            required=bool(decl.get("required", default is None)),
            values=tuple(str(v) for v in decl.get("values", ()) or ()),
            values_from=expand_iri(str(decl["values_from"])) if decl.get("values_from") else None,
            example=str(decl["example"]) if decl.get("example") is not None else default,
        )
        for sample in filter(None, (param.default, param.example)):
            try:
                param.term(sample)
            except BadRequest as exc:
                raise DataError(
                    f"{path}: default or example of {name!r} is not valid: {exc.message}"
                ) from None
        params.append(param)
    return tuple(params)


def _check_samples(query: CannedQuery, path: Path) -> None:
    """Every value a description suggests ("e.g. …") is of its parameter's type."""
    declared = query.param_map
    for name, values in query.samples().items():
        for value in values:
            try:
                declared[name].term(value)
            except BadRequest as exc:
                raise DataError(
                    f"{path}: example {value!r} of {name!r} is not valid: {exc.message}"
                ) from None


def load_query(path: Path) -> CannedQuery:
    text = path.read_text(encoding="utf-8")
    meta = parse_header(text, path)
    tags = meta.get("tags", ()) or ()
    if not isinstance(tags, list | tuple):
        raise DataError(f"{path}: 'tags' must be a list")
    query = CannedQuery(
        name=path.stem,
        title=meta["title"],
        description=str(meta.get("description", "")),
        text=text,
        path=path,
        tags=tuple(str(t) for t in tags),
        params=_params(meta, text, path),
    )
    _check_samples(query, path)
    _check_with_engine(query, path)
    return query


_PLACEHOLDERS: dict[str, Term] = {
    "iri": ox.NamedNode("urn:kg:placeholder"),
    "string": ox.Literal(""),
    "lang-string": ox.Literal("", language="en"),
    "integer": ox.Literal("0", datatype=ox.NamedNode(XSD + "integer")),
    "date": ox.Literal("2000-01-01", datatype=ox.NamedNode(XSD + "date")),
    "year": ox.Literal("2000", datatype=ox.NamedNode(XSD + "integer")),
}


def _check_with_engine(query: CannedQuery, path: Path) -> None:
    """Parse the query the way it will be served: pyoxigraph, on an empty store, params bound.

    Fast (no rdflib parse at start-up), and it refuses what serving would: a
    syntax error, or a parameter the SELECT does not project (pyoxigraph binds
    only projected variables, see KnowledgeGraph.query). An ASK binds them all.
    """
    from kg.functions import OXIGRAPH

    substitutions = {ox.Variable(f"_{p.name}"): _PLACEHOLDERS[p.type] for p in query.params}
    try:
        result = ox.Store().query(
            query.text, prefixes=PREFIXES, custom_functions=OXIGRAPH, substitutions=substitutions or None
        )
        if query.params and not isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
            raise DataError(f"{path}: a query with parameters must be a SELECT that projects them, or an ASK")
    except SyntaxError as exc:
        raise DataError(f"{path}: the query does not parse: {exc}") from None
    except RuntimeError as exc:  # pyoxigraph: a substituted variable is not in the projection
        raise DataError(
            f"{path}: a query with parameters must be a SELECT that projects them "
            f"(add each ?_name to the SELECT clause, and to GROUP BY if any): {exc}"
        ) from None


def load_queries(directory: Path) -> dict[str, CannedQuery]:
    return {p.stem: load_query(p) for p in sorted(directory.glob("*.rq"))}


def bindings(query: CannedQuery, values: Mapping[str, str]) -> dict[str, Term]:
    """``CannedQuery.bindings`` for one value per parameter (the pages' queries, tests)."""
    return query.bindings({k: [v] for k, v in values.items()})


def resolve_values(queries: dict[str, CannedQuery], instances) -> dict[str, CannedQuery]:
    """Fill ``values_from`` enumerations from the graph (``instances(class_iri) -> list[str]``)."""
    out = {}
    for name, query in queries.items():
        params = tuple(
            replace(p, values=tuple(instances(p.values_from))) if p.values_from else p for p in query.params
        )
        out[name] = replace(query, params=params)
    return out
