"""`kg query`: answer a query on the built graph in the terminal, as a table or a format."""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path

import click

from kg import formats, label_service
from kg.config import Settings
from kg.engine import Engine
from kg.errors import BadRequest
from kg.execute import Job
from kg.iris import PREFIXES
from kg.queries import CannedQuery, Term, load_queries, load_query
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
    query: CannedQuery | None = None
    values: dict[str, list[str]] = {}
    terms: dict[str, Term] = {}
    if name:
        queries = load_queries(settings.queries_dir)
        if name not in queries:
            raise BadRequest(f"no canned query named {name!r}; `kg queries` lists them")
        query = queries[name]
        for item in params:
            key, eq, value = item.partition("=")
            if not eq:
                raise BadRequest(f"-p {item!r}: write NAME=VALUE")
            values.setdefault(key, []).append(value)
        terms = query.bindings(values)
        bindings = tuple((k, str(v)) for k, v in terms.items())
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
        if query is not None:
            for note in _unmatched(engine, settings, query, values, terms, infer):
                click.echo(note, err=True)
    if fmt != TABLE or answer.kind == "graph":
        return answer.body.decode("utf-8")
    return _table(json.loads(answer.body), answer.truncated, settings.max_rows)


def _unmatched(
    engine: Engine,
    settings: Settings,
    query: CannedQuery,
    values: dict[str, list[str]],
    terms: dict[str, Term],
    infer: bool,
) -> list[str]:
    """A note for each IRI parameter whose value occurs nowhere in the graph the query saw.

    One ASK each (queries/internal/mentions.rq), the IRI bound as a term. A value
    of the right type that matches nothing is an empty answer, not an error; the
    note says why it is empty, and names the prefix a typo may have meant.
    """
    mentions = load_query(settings.queries_dir / "internal" / "mentions.rq")
    results = next(iter(formats.RESULTS))
    notes = []
    for param in query.params:
        if param.type != "iri":
            continue
        term = terms[f"_{param.name}"]
        job = Job(mentions.text, results, None, infer=infer, bindings=(("_iri", str(term)),))
        answer, _ = engine.run(job)
        if json.loads(answer.body)["boolean"]:
            continue
        raw = values.get(param.name, [param.default or ""])[0]
        graph = "the graph" if infer else "the graph without inferred triples"
        notes.append(
            f"note: {param.name}={raw} ({term}) does not occur in {graph}, so nothing matches it"
            + _prefix_hint(raw)
        )
    return notes


# IRI schemes, so that urn:x or http:x is no typo of a prefix.
_SCHEMES = {"http", "https", "file", "ftp", "urn", "mailto", "tag", "data", "info", "doi", "isbn"}


def _prefix_hint(raw: str) -> str:
    """A value written as a prefixed name with a prefix that is not one: the prefix it may mean."""
    text = raw.strip()
    prefix, colon, local = text.partition(":")
    if not colon or text.startswith("<") or local.startswith("//"):
        return ""
    if prefix in PREFIXES or prefix.lower() in _SCHEMES:
        return ""
    close = difflib.get_close_matches(prefix, PREFIXES, n=1)
    return f"; {prefix + ':'!r} is not a predeclared prefix" + (
        f" (did you mean {close[0]}:?)" if close else ""
    )


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
