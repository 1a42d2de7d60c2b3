"""HTML pages for the canned queries: the list, and one page per query with a form."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from kg import formats, protocol
from kg.errors import KGError
from kg.web.answers import evaluate
from kg.web.page_helpers import lookup, registry, settings

bp = Blueprint("pages", __name__)


@bp.get("/queries")
def queries_page() -> str:
    return render_template("queries.html", queries=list(registry().values()))


@bp.get("/queries/<name>")
def query_page(name: str) -> str:
    query = lookup(name)
    values = request.args.to_dict(flat=True)
    answer, error = None, None
    if all(p.default is not None or values.get(p.name) for p in query.params):
        params = request.args.copy()
        params.setlist("format", [formats.HTML.name])
        try:
            answer = evaluate(
                protocol.canned_job(query, params, request.headers, settings(), request.base_url)
            )
        except KGError as exc:  # shown on the page, next to the form that caused it
            error = exc.message
    query_string = request.query_string.decode("utf-8", "replace")
    return render_template(
        "query.html",
        query=query,
        values=values,
        answer=answer,
        error=error,
        query_string=query_string,
        limit=settings().max_rows,
        # Downloads: every results format but the page's own, at /api/queries/{name}.{format}.
        downloads=[f.name for f in formats.RESULTS.values() if f is not formats.HTML],
    )
