"""Reconciliation queries as a client sends them (kg.web.reconcile), checked against the API 0.2
schema and this service's limits: a query that breaks one is a 400 that names where and why."""

from __future__ import annotations

from kg.errors import BadRequest
from kg.web.reconcile_index import PROPERTIES, TYPES
from kg.web.reconcile_match import DEFAULT_LIMIT, Query

MAX_TEXT = 200  # characters of a query's text (difflib's cost grows with the square of it)
MAX_LIMIT = 25  # candidates per query
MAX_PROPERTIES = 10  # properties per query or per extension
MAX_VALUES = 10  # values of one property in a query
QUERY_FIELDS = ("query", "type", "limit", "properties", "type_strict")


def type_id(raw: object, schema: str, where: str) -> str:
    """A type as a client names it: its id (Person) or the class IRI in the schema space."""
    name = raw.removeprefix(schema) if isinstance(raw, str) else None
    if name not in TYPES:
        raise BadRequest(f"{where}: unknown type {str(raw)[:80]!r}; the types are {', '.join(TYPES)}")
    return name


def property_id(raw: object, where: str) -> str:
    if not isinstance(raw, str) or raw not in PROPERTIES:
        known = ", ".join(PROPERTIES)
        raise BadRequest(f"{where}: unknown property {str(raw)[:80]!r}; the properties are {known}")
    return raw


def whole(raw: object, low: int, high: int, where: str) -> int:
    """A JSON number that is a whole number from ``low`` to ``high`` (3.0 is 3; true is not 1)."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise BadRequest(f"{where} must be a whole number from {low} to {high}, not {str(raw)[:40]}")
    return raw


def parse_query(qid: str, raw: object, schema: str) -> Query:
    """One query of a batch, checked against the 0.2 schema and the limits; 400 says where."""
    where = f"queries: {qid[:40]!r}"
    if not isinstance(raw, dict):
        raise BadRequest(f'{where} must be an object such as {{"query": "Vladimir Putin"}}')
    unknown = sorted(set(raw) - set(QUERY_FIELDS))
    if unknown:
        raise BadRequest(
            f"{where} has unknown field(s) {', '.join(unknown)[:80]}; it takes {', '.join(QUERY_FIELDS)}"
        )
    text = raw.get("query", "")
    if not isinstance(text, str):
        raise BadRequest(f"{where}.query must be a string")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"{where}.query is {len(text)} characters long; the limit is {MAX_TEXT}")
    kinds = raw.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or len(kinds) > len(TYPES):
        raise BadRequest(f"{where}.type must be a type id or a list of at most {len(TYPES)}")
    if raw.get("type_strict", "any") not in ("any", "should", "all"):
        raise BadRequest(f"{where}.type_strict must be any, should or all")
    given = raw.get("properties", [])
    if not isinstance(given, list) or len(given) > MAX_PROPERTIES:
        raise BadRequest(f"{where}.properties must be a list of at most {MAX_PROPERTIES} {{pid, v}} objects")
    properties = tuple(_property(item, f"{where}.properties") for item in given)
    if not text.strip() and not properties:
        raise BadRequest(f"{where} needs a non-empty 'query' text or 'properties'")
    return Query(
        text=text.strip(),
        # type_strict is accepted and not used: any type given will do (the spec leaves it open).
        types=tuple(dict.fromkeys(type_id(k, schema, f"{where}.type") for k in kinds)),
        limit=whole(raw.get("limit", DEFAULT_LIMIT), 1, MAX_LIMIT, f"{where}.limit"),
        properties=properties,
    )


def _property(item: object, where: str) -> tuple[str, tuple[str, ...]]:
    if not isinstance(item, dict) or "pid" not in item or "v" not in item:
        raise BadRequest(f'{where}: each must be an object {{"pid": "country", "v": "Russia"}}')
    pid = property_id(item["pid"], where)
    values = item["v"] if isinstance(item["v"], list) else [item["v"]]
    if len(values) > MAX_VALUES:
        raise BadRequest(f"{where}: {pid!r} has {len(values)} values; the limit is {MAX_VALUES}")
    out = []
    for v in values:
        # An entity (a cell reconciled before) by its id; numbers and booleans as text.
        v = v.get("id") if isinstance(v, dict) else v
        if not isinstance(v, str | int | float) or len(str(v)) > MAX_TEXT:
            raise BadRequest(f"{where}: a value of {pid!r} must be a text, a number or an {{id}} object")
        out.append(str(v))
    return pid, tuple(out)
