"""The command line: verbs follow the data's life (build, validate, serve).

Each command is a few lines calling the library; KGError becomes a clean
ClickException at this edge, never a traceback. Each command imports the
library it calls when it runs: `kg serve` is gunicorn's master process, which
stays without rdflib and Flask, and `kg --help` or `kg dump` load neither.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kg import formats
from kg.config import REASONERS, SETTINGS, Settings
from kg.errors import KGError, NotBuilt


def _clean_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KGError as exc:
            raise click.ClickException(exc.message) from None

    return wrapper


@click.group(epilog="Settings (environment KG_<NAME>): " + "; ".join(f"{n}={d}" for n, d, _ in SETTINGS))
@click.version_option(package_name="hos-kg")
def main() -> None:
    """hos-kg: a knowledge graph of meetings between heads of state."""


def _project(**overrides: object) -> Settings:
    """The settings of the project's own build: with the Office of the Historian's records unless
    KG_RECORDS=0 or --no-records says otherwise (Settings, for embedders and tests, reads the seed alone)."""
    if overrides.get("records") is None and "KG_RECORDS" not in os.environ:
        overrides["records"] = True
    return Settings.from_env(**overrides)


@main.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if the inputs are unchanged.")
@click.option(
    "--reasoner",
    type=click.Choice(REASONERS),
    default=None,
    help="The OWL 2 RL engine [default: KG_REASONER or rules]: rules (kg/rules/*.rq on DuckDB) or owlrl.",
)
@click.option(
    "--records/--no-records",
    default=None,
    help="Map the Office of the Historian's records (data/sources/hsg/) too [default: KG_RECORDS or on].",
)
@_clean_errors
def build_cmd(force: bool, reasoner: str | None, records: bool | None) -> None:
    """Load, validate and reason; write build/ (graph.nq, Turtle dumps, manifest)."""
    from kg.pipeline import build  # here: see the module's docstring

    click.echo(build(_project(reasoner=reasoner, records=records), force=force).summary())
    if _COMMAND_LINE:
        _exit_now()


_COMMAND_LINE = False  # set by entry(): this process is the `kg` command itself, not a caller of main


def entry() -> None:
    """The `kg` command (and ``python -m kg``)."""
    global _COMMAND_LINE
    _COMMAND_LINE = True
    main()


def _exit_now() -> None:
    """End a `kg build` process without freeing what the build made: every file is written and
    closed, and the millions of objects of a build (rdflib terms, pyoxigraph quads), held in
    cycles the collector was kept from walking during the build (kg.pipeline), took 1.3 s to
    collect and free at exit; the operating system takes the memory back at once."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@main.command("validate")
@_clean_errors
def validate_cmd() -> None:
    """Check the data against the SHACL shapes and QC checks; exit 1 on any problem."""
    from kg.load import load  # here: see the module's docstring
    from kg.validate import validate

    settings = _project()
    report = validate(load(settings), settings)
    click.echo(report.text())
    if not report.conforms:
        sys.exit(1)


@main.command("dump")
@click.option(
    "--graph",
    "graph_set",
    type=click.Choice(["asserted", "inferred", "all"]),
    default="all",
    show_default=True,
    help="Which graphs.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.suffix for f in formats.DUMPED]),
    default=formats.DUMPED[0].suffix,
    show_default=True,
    help="Serialization.",
)
@click.option("--gzip", "gz", is_flag=True, help="gzip-compressed.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
@_clean_errors
def dump_cmd(graph_set: str, fmt: str, gz: bool, output: Path | None) -> None:
    """Write a dump of the last build (the same bytes /dumps serves)."""
    settings = Settings.from_env()
    source = settings.build.dump(f"{graph_set}.{fmt}{'.gz' if gz else ''}")
    if not source.is_file():
        raise NotBuilt(f"{source} does not exist: run `kg build` first")
    if output is None:
        click.echo(source.read_bytes(), nl=False)
    else:
        output.write_bytes(source.read_bytes())
        click.echo(f"wrote {output} ({output.stat().st_size} bytes)", err=True)


@main.command("queries")
@_clean_errors
def queries_cmd() -> None:
    """List the canned queries and their parameters."""
    from kg.queries import load_queries  # here: see the module's docstring

    for query in load_queries(Settings.from_env().queries_dir).values():
        click.echo(f"{query.name}\n    {query.title}")
        for p in query.params:
            default = (
                f", default {p.default}" if p.default is not None else ", required" if p.required else ""
            )
            click.echo(f"    -p {p.name}=<{p.type}{default}>  {p.description}")


@main.command("query")
@click.argument("name", required=False)
@click.option(
    "-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter (repeatable)."
)
@click.option("--sparql", help="Run this SPARQL text instead of a canned query.")
@click.option(
    "--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Run a .rq file."
)
@click.option(
    "--format",
    "fmt",
    default="table",
    show_default=True,
    type=click.Choice(["table", *(f.name for f in formats.WRITTEN)]),
    help="Output format.",
)
@click.option("--infer/--no-infer", default=True, show_default=True, help="Include the inferred graph.")
@_clean_errors
def query_cmd(
    name: str | None, params: tuple[str, ...], sparql: str | None, file: Path | None, fmt: str, infer: bool
) -> None:
    """Answer a canned query (NAME -p k=v), --sparql TEXT or --file Q.RQ on the built graph, no server.

    The server's limits hold: KG_QUERY_TIMEOUT (the query runs in a process that is stopped then)
    and KG_MAX_ROWS."""
    from kg.console import run_query  # here: see the module's docstring

    click.echo(run_query(Settings.from_env(), name, params, sparql, file, fmt, infer), nl=False)


@main.command("explain")
@click.argument("s")
@click.argument("p")
@click.argument("o")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output."
)
@_clean_errors
def explain_cmd(s: str, p: str, o: str, fmt: str) -> None:
    """Why the built graph holds the inferred triple S P O: its proof, down to the source text.

    S and P are IRIs (or prefixed names: hos:participant); O is an IRI or a literal in N-Triples
    syntax ('"Hamburg"@en'). The same as GET /explain?s=S&p=P&o=O."""
    from kg.proofs import explain_command  # here: see the module's docstring

    click.echo(explain_command(Settings.from_env(), s, p, o, fmt), nl=False)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes (HTTP).")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per gunicorn worker.")
@click.option(
    "--query-workers",
    type=int,
    default=None,
    help="Processes evaluating queries, shared by the gunicorn workers [default: KG_QUERY_WORKERS or 2].",
)
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Serve these RDF files or folders instead of the build (repeatable).",
)
@click.option("--reason", is_flag=True, help="With --data: add the OWL 2 RL closure as an inferred graph.")
@click.option(
    "--reasoner",
    type=click.Choice(REASONERS),
    default=None,
    help="With --data --reason: the OWL 2 RL engine [default: KG_REASONER or rules].",
)
@click.option(
    "--validate/--no-validate",
    default=True,
    show_default=True,
    help="With --data: check the files against the SHACL shapes and QC checks first.",
)
@click.option(
    "--union-default-graph",
    is_flag=True,
    help="With --data: a query's default graph is the union of all graphs, not the files' default graph.",
)
@click.option(
    "--engine",
    "engine",
    default=None,
    metavar="URL",
    help="Serve from this SPARQL store (its query endpoint; load it with `kg publish`) "
    "[default: KG_ENGINE_URL, else the embedded store].",
)
@click.option("--access-log", is_flag=True, help="Log every request to standard output.")
@_clean_errors
def serve_cmd(
    host: str,
    port: int,
    workers: int,
    threads: int,
    query_workers: int | None,
    data: tuple[Path, ...],
    reason: bool,
    reasoner: str | None,
    validate: bool,
    union_default_graph: bool,
    engine: str | None,
    access_log: bool,
) -> None:
    """Serve the built graph (or --data files, built the same way) with gunicorn, a production WSGI server."""
    from kg.serve import foreign, serve  # here: see the module's docstring

    settings = Settings.from_env(query_workers=query_workers, reasoner=reasoner, engine_url=engine)
    if data and settings.engine_url:
        raise click.UsageError("--data and --engine exclude each other: publish the files' build instead")
    if data:
        temporary = Path(tempfile.mkdtemp(prefix="kg-serve-"))  # serve() removes it when it stops
        settings = foreign(
            settings, list(data), temporary, validate=validate, reason=reason, union=union_default_graph
        )
    serve(settings, host=host, port=port, workers=workers, threads=threads, access_log=access_log)


@main.command("publish")
@click.option("--to", "to", required=True, metavar="URL", help="The store's SPARQL query endpoint.")
@click.option(
    "--update", default=None, metavar="URL", help="Its update endpoint [default: derived from --to]."
)
@click.option(
    "--graph-store", default=None, metavar="URL", help="Its Graph Store Protocol endpoint [default: derived]."
)
@click.option(
    "--build",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The build folder to publish [default: KG_BUILD_DIR].",
)
@_clean_errors
def publish_cmd(to: str, update: str | None, graph_store: str | None, folder: Path | None) -> None:
    """Load the build into a SPARQL store and switch the store to it in one step.

    Each graph is loaded into a versioned staging graph (SPARQL 1.1 Graph Store Protocol), its
    count checked, then one update switches them all into place. Safe to re-run after a failure.
    HTTP Basic credentials come from KG_PUBLISH_AUTH=user:password."""
    from kg.build import Build  # here: see the module's docstring
    from kg.publish import Endpoints, publish

    build = Build(folder) if folder is not None else Settings.from_env().build
    endpoints = Endpoints.derive(to, update, graph_store)

    def bar(total: int) -> Any:
        return click.progressbar(length=total, label="loading triples", file=sys.stderr)

    summary = publish(build, endpoints, auth=os.environ.get("KG_PUBLISH_AUTH"), progress=bar)
    if summary.shared_blank_nodes:
        n = summary.shared_blank_nodes
        click.echo(
            f"note: {n} blank node{' is' if n == 1 else 's are'} in more than one graph; loaded graph "
            "by graph, each graph has its own copy in the store",
            err=True,
        )
    click.echo(summary.line(to))


@main.group("link")
def link_group() -> None:
    """Curate the links to Wikidata: check them, propose missing ones, accept reviewed ones."""


def _wikidata_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """What every command that asks Wikidata takes: the endpoint, and how its kept answers are used."""
    fn = click.option(
        "--endpoint",
        default=None,
        help="A SPARQL endpoint with Wikidata's RDF [default: KG_WIKIDATA_ENDPOINT].",
    )(fn)
    fn = click.option("--refresh", is_flag=True, help="Ask again, even where an answer is kept on disk.")(fn)
    return click.option("--offline", is_flag=True, help="Ask nothing: use only answers kept on disk.")(fn)


@link_group.command("check")
@_wikidata_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output.",
)
@_clean_errors
def link_check_cmd(endpoint: str | None, refresh: bool, offline: bool, fmt: str) -> None:
    """Check every link to Wikidata (and every item data/'s tables name): exists, not a redirect,
    label still close, type fits. Answers are kept in the build folder: a second run asks nothing.
    Exit status 0 all ok, 1 when something is wrong, 2 when the endpoint cannot be asked."""
    from kg.curate import check  # here: see the module's docstring
    from kg.curate.client import for_settings

    settings = _project()
    text, status = check.command(
        settings, for_settings(settings, endpoint=endpoint, refresh=refresh, offline=offline), fmt
    )
    click.echo(text, nl=False, err=status == 2)  # an error, not a report: stdout stays for reports
    sys.exit(status)


@link_group.command("suggest")
@_wikidata_options
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["person", "place", "summit"]),
    help="Which unlinked entities (repeatable) [default: all three].",
)
@click.option("--limit", type=int, default=None, help="Look up at most this many entities (a trial run).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The review file to write [default: build/link-suggestions.tsv].",
)
@_clean_errors
def link_suggest_cmd(
    endpoint: str | None,
    refresh: bool,
    offline: bool,
    kinds: tuple[str, ...],
    limit: int | None,
    output: Path | None,
) -> None:
    """Propose Wikidata items for unlinked people, places and summit editions, with a score and the
    evidence for each, in a review file for a curator (nothing reaches the graph: see `kg link accept`)."""
    from kg.curate import suggest  # here: see the module's docstring
    from kg.curate.client import for_settings

    settings = _project()
    client = for_settings(settings, endpoint=endpoint, refresh=refresh, offline=offline)
    click.echo(
        suggest.command(settings, client, kinds or ("person", "place", "summit"), limit, output), nl=False
    )


@link_group.command("accept")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--by",
    "by",
    default=None,
    help="Who accepts (recorded with each link) [default: git user.name, else $USER].",
)
@click.option(
    "--auto",
    type=float,
    default=None,
    help="Also accept unmarked candidates scoring at least this much, never an ambiguous one.",
)
@_clean_errors
def link_accept_cmd(file: Path, by: str | None, auto: float | None) -> None:
    """Add the links a curator accepted in FILE (a review file of `kg link suggest`) to data/, each with
    who accepted it, when, and on what evidence; the next `kg build` puts them in the graph."""
    from kg.curate import accept  # here: see the module's docstring

    click.echo(accept.command(_project(), file, by, auto), nl=False)
