"""/dumps: the build's files, streamed as written; never built per request.

Flask's send_file gives Content-Length, Last-Modified, conditional GET (304),
HEAD and Range. A client that sends ``Accept-Encoding: gzip`` gets the
pre-compressed ``.gz`` twin of a file with ``Content-Encoding: gzip``.

The ETag is the SHA-256 of the bytes sent, as the build's index lists it (each
``.gz`` twin has its own entry), not werkzeug's (the file's mtime, size and
path): any copy of the build, on any machine, gives the same ETags.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

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
    media = formats.by_suffix("ttl").media_type if entry is None else entry.media_type  # void.ttl
    gz = build.dump(f"{name}.gz")
    if (
        not name.endswith(".gz")
        and gz.is_file()
        and "gzip" in request.accept_encodings
        and "Range" not in request.headers
    ):
        response = _send(gz, known.get(gz.name), media)  # the twin's own entry: its bytes are sent
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
    elif name.endswith(".gz"):
        response = _send(build.dump(name), entry, "application/gzip")
    else:
        response = _send(build.dump(name), entry, media)
        response.vary.add("Accept-Encoding")
    if not name.endswith(".gz"):  # every dump format is UTF-8 text
        response.headers["Content-Type"] = f"{media}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="hos-kg-{name}"'
    return response


def _send(path: Path, entry: DumpFile | None, media: str) -> Response:
    """``path`` with a strong ETag of its content: conditional GET, Range and HEAD as send_file
    does them."""
    return send_file(path, mimetype=media, conditional=True, etag=_etag(path, entry), max_age=0)


def _etag(path: Path, entry: DumpFile | None) -> str:
    """The listed SHA-256, while the file is the size the index says (a file replaced since then
    is hashed anew); the file's own hash when it is not listed (void.ttl)."""
    size = path.stat().st_size
    if entry is not None and entry.bytes == size:
        return entry.sha256
    return content_etag(path)


def content_etag(path: Path) -> str:
    """The SHA-256 of a file's bytes, computed once while its mtime and size stay."""
    stat = path.stat()
    return _hashed(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _hashed(path: str, mtime_ns: int, size: int) -> str:
    # mtime and size are only the key: a new file's new mtime makes it hashed again.
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
