"""/dumps: the build's files, streamed as written; never built per request.

Flask's send_file gives Content-Length, ETag, Last-Modified, conditional GET
(304), HEAD and Range. A client that sends ``Accept-Encoding: gzip`` gets the
pre-compressed ``.gz`` twin of a file with ``Content-Encoding: gzip``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, send_file

from kg import formats
from kg.build import DumpFile
from kg.dump import GRAPH_SETS
from kg.errors import NotFound
from kg.web.page_helpers import settings

bp = Blueprint("dumps", __name__)


def _listing() -> list[DumpFile]:
    files = settings().build.dump_files()
    if not files:
        raise NotFound("this server has no dumps (it serves --data files, or the build has none)")
    return files


def _as_json(files: list[DumpFile]) -> list[dict]:
    created = _created()
    return [
        {
            **f.__dict__,
            "url": f"{request.url_root}dumps/{f.name}",
            "created": created,
            "description": f"{GRAPH_SETS[f.graph]}, {formats.by_suffix(f.format).description}"
            + (", gzip" if f.gzip else ""),
        }
        for f in files
    ]


def _created() -> str | None:
    manifest = settings().build.manifest()
    return manifest.created if manifest is not None else None


@bp.get("/dumps")
def dumps() -> Response | str:
    files = _listing()
    if request.accept_mimetypes["application/json"] > request.accept_mimetypes["text/html"]:
        return jsonify({"dumps": _as_json(files)})
    return render_template("dumps.html", files=_as_json(files))


@bp.get("/dumps.json")
def dumps_json() -> Response:
    return jsonify({"dumps": _as_json(_listing())})


@bp.get("/dumps/<name>")
def dump_file(name: str) -> Response:
    build = settings().build
    known: dict[str, DumpFile | None] = {f.name: f for f in _listing()} | {build.VOID: None}
    if name not in known:
        raise NotFound(f"no dump named {name!r}; see /dumps")
    entry = known[name]
    path = build.dump(name)
    media = formats.by_suffix("ttl").media_type if entry is None else entry.media_type  # void.ttl
    gz = build.dump(f"{name}.gz")
    if (
        not name.endswith(".gz")
        and gz.is_file()
        and "gzip" in request.accept_encodings
        and "Range" not in request.headers
    ):
        response = send_file(gz, mimetype=media, conditional=True, etag=True, max_age=0)
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
    elif name.endswith(".gz"):
        response = send_file(path, mimetype="application/gzip", conditional=True, etag=True, max_age=0)
    else:
        response = send_file(path, mimetype=media, conditional=True, etag=True, max_age=0)
        response.vary.add("Accept-Encoding")
    if not name.endswith(".gz"):  # every dump format is UTF-8 text
        response.headers["Content-Type"] = f"{media}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="hos-kg-{name}"'
    return response
