"""/reconcile: a W3C Entity Reconciliation API 0.2 service, the one OpenRefine speaks.

A journalist's spreadsheet of leaders, countries or places gets back this graph's ids
(the IRI less the id space, ``person/vladimir-putin``) and, by data extension, the
Wikidata IDs. The endpoints (limits in the constants below and in reconcile_query):

- ``GET /reconcile``: the service manifest (JSONP with ``callback=``, for old clients);
- ``GET|POST /reconcile`` with ``queries=`` (a JSON batch; OpenRefine POSTs it form-encoded)
  or ``extend=`` (data extension: ``{ids, properties}``);
- ``GET /reconcile/suggest/{entity,type,property}?prefix=…``, ``GET /reconcile/properties?type=…``
  (properties to extend by), ``GET /reconcile/preview?id=…`` (an HTML card for an iframe).

Matching lives in kg.web.reconcile_match, over an index built once per app from two
internal queries run through the Engine (its time limit applies). Matching is plain Python
in the HTTP worker, outside the Engine's limits: a batch may spend ``BATCH_CPU`` seconds of
CPU (or the query time limit, if lower), then it is a 503 with Retry-After. GET answers carry
an ETag of the build and are stored by the response cache, as every other answer is.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from importlib.metadata import version

from flask import Blueprint, Flask, Response, current_app, render_template, request
from werkzeug.datastructures import MultiDict

from kg.errors import BadRequest, NotFound, ServiceBusy, UnsupportedMediaType
from kg.web import reconcile_index as catalog
from kg.web import reconcile_match as match
from kg.web import reconcile_query as sent
from kg.web import safety
from kg.web.answers import engine, page_rows
from kg.web.page_helpers import id_space, internal, request_params, settings, vocabulary
from kg.web.response_cache import STORABLE

bp = Blueprint("reconcile", __name__, url_prefix="/reconcile")

MAX_QUERIES = 50  # queries per batch, announced as the manifest's batchSize
MAX_IDS = 100  # entities per data extension request
MAX_PREFIX = 100  # characters of a suggest prefix
MAX_ID = 300  # characters of an id in a preview request
SUGGEST_SIZE = 10  # suggestions per page unless limit= says otherwise
MAX_CURSOR = 1000
INDEX_ROWS = 200_000  # rows read to build the index: the records' build has 3,110 names, 7,975 facts
PREVIEW_SIZE = (400, 160)  # the iframe OpenRefine shows the preview in, in pixels
# CPU seconds one batch may spend matching (the worst batch the limits allow, 50 texts of 200
# letters with 10 properties × 10 values, costs about 1.5 s on the records' build; 50 names, 0.5 s).
BATCH_CPU = 3.0
RETRY_AFTER = 2  # seconds, in the 503 of a batch over BATCH_CPU
FORM = "application/x-www-form-urlencoded"
MAX_JSON_DEPTH = 32  # a batch nests 5 levels (queries, a query, properties, a property, values)
# A JavaScript name, no dot: a dotted callback (opener.document.body.firstElementChild.click)
# would call any method the page can reach (same-origin method execution).
_CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,99}")
_BUILDING = threading.Lock()  # one index build at a time in this process


def index() -> catalog.Index:
    """The app's name index, built at its first use (about 1 s of CPU: bench/reconcile.py)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("kg_reconcile")
    if found is None:
        with _BUILDING:
            found = app.extensions.get("kg_reconcile") or _build(app)
            app.extensions["kg_reconcile"] = found
    return found


def _build(app: Flask) -> catalog.Index:
    space = id_space()
    names = page_rows(internal("reconcile-names"), {"space": space}, max_rows=INDEX_ROWS)
    facts = page_rows(internal("reconcile-facts"), {"space": space}, max_rows=INDEX_ROWS)
    if names.truncated or facts.truncated:
        app.logger.warning("the reconciliation index was cut at %d rows: raise INDEX_ROWS", INDEX_ROWS)
    return catalog.build(space, names, facts)


# ---------------------------------------------------------------- the service


@bp.route("", methods=["GET", "POST"])
def service() -> Response:
    params = _params()
    queries, extend = _one(params, "queries"), _one(params, "extend")
    if queries is not None and extend is not None:
        raise BadRequest("give either parameter 'queries' or parameter 'extend', not both")
    if queries is not None:
        return _answer(params, _reconcile(_json(queries, "queries")))
    if extend is not None:
        return _answer(params, _extend(_json(extend, "extend")))
    if request.method == "POST":
        raise BadRequest("parameter 'queries' is missing: a POST to /reconcile sends queries (or extend)")
    return _answer(params, _manifest())


def _manifest() -> dict:
    host = request.host_url  # absolute: OpenRefine keeps the manifest apart from this server
    root = host.rstrip("/")
    return {
        "versions": ["0.2"],
        "name": "hos-kg: heads of state, countries, places and their meetings",
        "identifierSpace": id_space(),
        "schemaSpace": vocabulary(),
        "serviceVersion": version("hos-kg"),
        "batchSize": MAX_QUERIES,
        "view": {"url": host + "id/{{id}}"},
        "preview": {
            "url": host + "reconcile/preview?id={{id}}",
            "width": PREVIEW_SIZE[0],
            "height": PREVIEW_SIZE[1],
        },
        "defaultTypes": [{"id": t, "name": catalog.TYPES[t]} for t in catalog.DEFAULT_TYPES],
        "suggest": {
            kind: {"service_url": root, "service_path": f"/reconcile/suggest/{kind}"}
            for kind in ("entity", "type", "property")
        },
        "extend": {"propose_properties": {"service_url": root, "service_path": "/reconcile/properties"}},
    }


def _reconcile(batch: object) -> dict:
    if not isinstance(batch, dict):
        raise BadRequest('parameter \'queries\' must be a JSON object such as {"q0": {"query": "Putin"}}')
    if len(batch) > MAX_QUERIES:
        raise BadRequest(f"parameter 'queries' holds {len(batch)} queries; the limit is {MAX_QUERIES}")
    queries = {qid: sent.parse_query(qid, raw, vocabulary()) for qid, raw in batch.items()}
    found = index()  # its build (once per HTTP worker) is not counted: the Engine's limit applies
    seconds = min(BATCH_CPU, settings().query_timeout)
    budget = match.Budget(seconds)
    try:
        return {qid: {"result": match.reconcile(found, query, budget)} for qid, query in queries.items()}
    except match.OverBudget:
        raise ServiceBusy(
            f"the batch of {len(queries)} queries needs more than {seconds:g} s of CPU; send fewer or "
            "shorter queries (in OpenRefine, a smaller batch size) or try again later",
            RETRY_AFTER,
        ) from None


def _extend(asked: object) -> dict:
    if not isinstance(asked, dict) or not isinstance(asked.get("ids"), list):
        raise BadRequest('parameter \'extend\' must be a JSON object {"ids": […], "properties": […]}')
    ids, wanted = asked["ids"], asked.get("properties")
    if len(ids) > MAX_IDS:
        raise BadRequest(f"parameter 'extend' asks for {len(ids)} ids; the limit is {MAX_IDS}")
    if not all(isinstance(i, str) for i in ids):
        raise BadRequest("parameter 'extend': each of its ids must be a string")
    if not isinstance(wanted, list) or len(wanted) > sent.MAX_PROPERTIES:
        raise BadRequest(f"parameter 'extend': properties must be a list of at most {sent.MAX_PROPERTIES}")
    pids = [
        sent.property_id(p.get("id") if isinstance(p, dict) else None, "parameter 'extend'") for p in wanted
    ]
    found = index()
    return {"meta": [_meta(pid) for pid in pids], "rows": {i: match.extend(found, i, pids) for i in ids}}


def _meta(pid: str) -> dict:
    prop = catalog.PROPERTIES[pid]
    meta: dict = {"id": prop.id, "name": prop.name}
    if prop.entity:
        meta["type"] = {"id": prop.entity, "name": catalog.TYPES[prop.entity]}
    return meta


# ---------------------------------------------------------------- suggest, properties, preview


@bp.get("/suggest/entity")
def suggest_entity() -> Response:
    params = _params()
    prefix = _prefix(params)
    given = params.getlist("type")
    if len(given) > len(catalog.TYPES):
        raise BadRequest(f"parameter 'type' is given {len(given)} times; the limit is {len(catalog.TYPES)}")
    types = tuple(dict.fromkeys(sent.type_id(t, vocabulary(), "parameter 'type'") for t in given))
    cursor = _number(params, "cursor", 0, 0, MAX_CURSOR)
    size = _number(params, "limit", SUGGEST_SIZE, 1, sent.MAX_LIMIT)
    found = index()
    result = []
    for entity in match.suggest(found, prefix, types, cursor, size):
        item = {"id": entity.id, "name": entity.name, "notable": entity.kinds()}
        if described := match.describe(found, entity):
            item["description"] = described
        result.append(item)
    return _answer(params, {"result": result})


@bp.get("/suggest/type")
def suggest_type() -> Response:
    params = _params()
    hits = match.matching(catalog.TYPES.items(), _prefix(params))
    return _answer(params, {"result": [{"id": i, "name": n} for i, n in hits]})


@bp.get("/suggest/property")
def suggest_property() -> Response:
    params = _params()
    props = catalog.PROPERTIES
    hits = match.matching(((p.id, p.name) for p in props.values()), _prefix(params))
    return _answer(
        params, {"result": [{"id": i, "name": n, "description": props[i].description} for i, n in hits]}
    )


@bp.get("/properties")
def propose_properties() -> Response:
    params = _params()
    kind = sent.type_id(_required(params, "type"), vocabulary(), "parameter 'type'")
    limit = _number(params, "limit", len(catalog.PROPERTIES), 1, sent.MAX_LIMIT)
    props = [p for p in catalog.PROPERTIES.values() if kind in p.types][:limit]
    body: dict = {"type": kind, "properties": [{"id": p.id, "name": p.name} for p in props]}
    if "limit" in params:
        body["limit"] = limit
    return _answer(params, body)


@bp.get("/preview")
def preview() -> Response:
    params = _params()
    asked = _required(params, "id")
    if len(asked) > MAX_ID:
        raise BadRequest(f"parameter 'id' is {len(asked)} characters long; the limit is {MAX_ID}")
    found = index()
    local = found.local(asked)
    if local is None:
        raise NotFound(f"no entity {asked!r} in this service; an id looks like person/vladimir-putin")
    entity = found.entities[local]
    body = render_template(
        "reconcile-preview.html",
        entity=entity,
        href=f"{request.host_url}id/{entity.id}",
        kinds=[k["name"] for k in entity.kinds()],
        countries=[found.label(c) for c in entity.countries],
        offices=entity.offices[:3],
    )
    return _cached(Response(body, mimetype="text/html"))


@bp.after_app_request
def _framed_preview(response: Response) -> Response:
    """The preview is meant for another site's iframe (OpenRefine's): the one page any site may
    frame. It has no form and runs no script, so framing it lends a clickjacker nothing. Only
    the card itself (200, text/html) and its revalidation (304, which updates the stored card's
    headers) are relaxed: the preview's error pages, as every other page, may not be framed.
    Runs after kg.web.safety's headers (after-request functions run last-registered first)."""
    card = response.status_code == 200 and response.mimetype == "text/html"
    if request.endpoint == "reconcile.preview" and (card or response.status_code == 304):
        policy = safety.CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
        response.headers["Content-Security-Policy"] = policy
        response.headers.pop("X-Frame-Options", None)
    return response


# ---------------------------------------------------------------- parameters and answers


def _params() -> MultiDict:
    """The request's parameters (URL, and a form body); OpenRefine POSTs a form."""
    if request.method == "POST" and request.mimetype != FORM:
        raise UnsupportedMediaType(
            f"a POST to /reconcile must be {FORM}, not {request.mimetype or 'untyped'}"
        )
    return request_params()


def _one(params: MultiDict, name: str) -> str | None:
    given = params.getlist(name)
    if len(given) > 1:
        raise BadRequest(f"parameter {name!r} is given {len(given)} times; give it once")
    return given[0] if given else None


def _required(params: MultiDict, name: str) -> str:
    value = _one(params, name)
    if value is None:
        raise BadRequest(f"parameter {name!r} is missing")
    return value


def _prefix(params: MultiDict) -> str:
    prefix = _required(params, "prefix")
    if len(prefix) > MAX_PREFIX:
        raise BadRequest(f"parameter 'prefix' is {len(prefix)} characters long; the limit is {MAX_PREFIX}")
    return prefix


def _number(params: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = _one(params, name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise BadRequest(f"parameter {name!r} must be a whole number from {low} to {high}, not {raw[:40]!r}")
    return sent.whole(int(raw), low, high, f"parameter {name!r}")


def _json(text: str, name: str) -> object:
    if _depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"parameter {name!r} is nested too deeply: more than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"parameter {name!r} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno} (character {exc.pos})"
        ) from None
    except RecursionError:  # [[[[…]]]]: nested deeper than Python's parser goes
        raise BadRequest(f"parameter {name!r} is nested too deeply to be read") from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise BadRequest(f"parameter {name!r} cannot be read: {str(exc)[:120]}") from None


def _depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest in a JSON text, outside its strings. Checked before parsing:
    json.loads recurses, and how deep it may go depends on the process's recursion limit."""
    deepest = depth = 0
    quoted = escaped = False
    for char in text:
        if quoted:
            escaped, quoted = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _answer(params: MultiDict, data: dict) -> Response:
    """JSON (JSONP with a valid ``callback``), with validators when it answers a GET."""
    callback = _one(params, "callback")
    if callback is None or request.method == "POST":
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        response = Response(body, mimetype="application/json")
    elif _CALLBACK.fullmatch(callback):
        # /**/ keeps the body from starting with bytes a plugin could read as its own format.
        body = f"/**/{callback}({json.dumps(data, separators=(',', ':'))});"
        response = Response(body, mimetype="application/javascript")
    else:
        raise BadRequest(
            "parameter 'callback' must be a JavaScript name: letters, digits, _ and $, no dot (100 at most)"
        )
    return _cached(response) if request.method in ("GET", "HEAD") else response


def _cached(response: Response) -> Response:
    """An ETag of the build and the URL (which holds every parameter), a 304 for a client that
    has the answer, and the mark that lets the response cache store it (kg.web.response_cache)."""
    etag = hashlib.sha256(f"{engine().kg.identity}\n{request.url}".encode()).hexdigest()[:32]
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        request.environ[STORABLE] = True
        response.headers["X-Cache"] = "miss"
    response.set_etag(etag)
    # As kg.web.answers: the data never changes while served, but a rebuild changes the ETag.
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response
