"""`kg query`: answer a query on the built graph in the terminal, as a table or a format."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from kg import formats, label_service
from kg.config import Settings
from kg.engine import Engine
from kg.errors import BadRequest
from kg.execute import Job
from kg.queries import load_queries
from kg.store import KnowledgeGraph

TABLE = "table"  # a SELECT or ASK as text; the other names are those of kg.formats


def _media_types(fmt: str) -> tuple[str, str]:
    """The media types for a results and for a graph answer: the format's own for its kind,
    the first of the other kind's table (SPARQL JSON, Turtle) for the other."""
    results, graph = next(iter(formats.RESULTS)), next(iter(formats.GRAPH))
    if fmt == TABLE:
        return results, graph
    chosen = formats.by_name(fmt)
    return (chosen.media_type, graph) if chosen.kind == "results" else (results, chosen.media_type)


def run_query(
    settings: Settings,
    name: str | None,
    params: tuple[str, ...],
    sparql: str | None,
    file: Path | None,
    fmt: str,
    infer: bool,
) -> str:
    given = [x for x in (name, sparql, file) if x]
    if len(given) != 1:
        raise BadRequest("give exactly one of: a canned query NAME, --sparql TEXT or --file PATH")
    bindings: tuple = ()
    if name:
        queries = load_queries(settings.queries_dir)
        if name not in queries:
            raise BadRequest(f"no canned query named {name!r}; `kg queries` lists them")
        query = queries[name]
        values: dict[str, list[str]] = {}
        for item in params:
            key, eq, value = item.partition("=")
            if not eq:
                raise BadRequest(f"-p {item!r}: write NAME=VALUE")
            values.setdefault(key, []).append(value)
        bindings = tuple((k, str(v)) for k, v in query.bindings(values).items())
        text = query.text
    elif params:
        raise BadRequest("-p/--param goes with a canned query NAME")
    else:
        text = sparql if sparql else file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    text = label_service.expand(text)  # WDQS's label service, answered from the graph (no SERVICE call)
    results, graph = _media_types(fmt)
    # A query in the terminal has the server's limits too: one query process, killed at the time limit.
    job = Job(text, results, graph, infer=infer, bindings=bindings, network=_network(text))
    with Engine(KnowledgeGraph.open(settings.build), _one_process(settings)) as engine:
        answer, _ = engine.run(job)
    if fmt != TABLE or answer.kind == "graph":
        return answer.body.decode("utf-8")
    return _table(json.loads(answer.body), answer.truncated, settings.max_rows)


def _one_process(settings: Settings) -> Settings:
    """One query at a time needs one query process (none with ``KG_QUERY_WORKERS=0``: in-process)."""
    return dataclasses.replace(settings, query_workers=min(settings.query_workers, 1))


def _network(text: str) -> bool:
    """Whether the query may call SERVICE: then it runs in the query process that has the network.

    Oxigraph reads the keyword only as written, so a text without the letters
    ``service`` cannot call one (kg.guard). The terminal is its user's own: as
    before, any SERVICE target may be called from it.
    """
    return "service" in text.lower()


def _cell(term: dict | None) -> str:
    if term is None:
        return ""
    value = term["value"]
    return f"{value}@{term['xml:lang']}" if "xml:lang" in term else value


def _table(data: dict, truncated: bool, limit: int) -> str:
    if "boolean" in data:
        return f"{str(data['boolean']).lower()}\n"
    names = data["head"]["vars"]
    rows = [[_cell(b.get(n)) for n in names] for b in data["results"]["bindings"]]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(names), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    note = f"{len(rows)} row(s)" + (f", cut at the {limit}-row limit" if truncated else "")
    return "\n".join([*out, note]) + "\n"
