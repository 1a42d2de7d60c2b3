"""Settings: one object, built once and passed in; nothing is read at import.

Every setting is declared once in ``SETTINGS`` (name, default, help), so the
CLI's ``--help``, the environment (``KG_<NAME>``) and the docs agree.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from kg.build import Build
from kg.errors import BadSetting
from kg.sources import Source, project

REASONERS = ("rules", "owlrl")  # the OWL 2 RL engines kg.reason offers
# The repository root when running from a checkout (src/kg/config.py → ../..).
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    ontology_dir: Path = field(
        default=REPO_ROOT / "ontology", metadata={"help": "OWL ontology and SHACL shapes (Turtle)."}
    )
    data_dir: Path = field(default=REPO_ROOT / "data", metadata={"help": "Asserted instance data (*.ttl)."})
    queries_dir: Path = field(
        default=REPO_ROOT / "queries", metadata={"help": "Canned queries (*.rq) and checks/."}
    )
    build_dir: Path = field(
        default=REPO_ROOT / "build", metadata={"help": "Where `kg build` writes its artifacts."}
    )
    # What a build reads besides the ontology; empty means the project's own: the seed's Turtle
    # in data_dir. Not an environment setting: `kg serve --data` and embedders pass a list.
    sources: tuple[Source, ...] = field(default=(), metadata={"env": False})
    ontology: bool = field(
        default=True, metadata={"help": "Build the ontology's graph in (off for `kg serve --data`)."}
    )
    # `kg build` turns it on (kg.cli); off here, so that an embedder's or a test's Settings()
    # reads the seed text alone, in seconds (with the records a build takes minutes).
    records: bool = field(
        default=False,
        metadata={
            "help": "Also map the Office of the Historian's records (data/sources/hsg/, data/mappings/) "
            "into the graph: 3,264 visits and 832 trips."
        },
    )
    validate: bool = field(
        default=True,
        metadata={"help": "Check the data against the SHACL shapes and QC checks when building."},
    )
    reason: bool = field(default=True, metadata={"help": "Add the OWL 2 RL closure as the inferred graph."})
    reasoner: str = field(
        default="rules",
        metadata={
            "choices": REASONERS,
            "help": "Which engine computes the closure: rules (kg/rules/*.rq on DuckDB, with a derivation "
            "per inferred triple) or owlrl (the reference: same triples, slower, no derivations).",
        },
    )
    union_default_graph: bool = field(
        default=True,
        metadata={
            "help": "A query's default graph is the union of all graphs (off: the files' default graph "
            "alone, named graphs apart, as SPARQL defines a dataset)."
        },
    )
    dumps: bool = field(
        default=True, metadata={"help": "Write the dumps, VoID and statistics when building."}
    )
    base_iri: str = field(
        default="https://w3id.org/hos-kg/",
        metadata={"help": "Public base IRI of the project's resources."},
    )
    max_rows: int = field(default=10_000, metadata={"help": "Result rows returned at most per query."})
    query_timeout: float = field(
        default=10.0, metadata={"help": "Seconds a query may run before it is cancelled."}
    )
    query_workers: int = field(
        default=2,
        metadata={
            "help": "Processes evaluating queries, shared by the HTTP workers (0: in-process, no timeout)."
        },
    )
    max_query_length: int = field(default=16 * 1024, metadata={"help": "Query text limit in bytes (413)."})
    max_body: int = field(default=64 * 1024, metadata={"help": "Request body and URL limit in bytes (413)."})
    max_depth: int = field(default=64, metadata={"help": "Deepest nesting of { } and ( ) in a query (400)."})
    service_allowlist: tuple[str, ...] = field(
        default=("https://query.wikidata.org/sparql",),
        metadata={"help": "SERVICE endpoints a query may call (comma-separated)."},
    )
    cache_bytes: int = field(default=64 * 1024 * 1024, metadata={"help": "Result cache size in bytes."})
    query_memory: int = field(
        default=1024,
        metadata={"help": "MiB a query may add to its process beyond its start-up size (503); 0: none."},
    )
    queue_wait: float = field(
        default=2.0, metadata={"help": "Seconds a query may wait for a free query process (then 503)."}
    )
    client_queries: int = field(
        default=1,
        metadata={"help": "Queries one client address may have waiting or running at once (0: no limit)."},
    )
    isolate_network: bool = field(
        default=True, metadata={"help": "Run queries without SERVICE in a network namespace with no network."}
    )
    max_header_bytes: int = field(
        default=16 * 1024,
        metadata={"help": "Request header section limit in bytes, after the request line (431)."},
    )
    header_timeout: float = field(
        default=5.0,
        metadata={
            "help": "Seconds a client has to send a whole request head once it connects or begins (408)."
        },
    )
    body_timeout: float = field(
        default=10.0, metadata={"help": "Seconds a client has to send a request body after its head (408)."}
    )
    send_timeout: float = field(
        default=30.0,
        metadata={"help": "Seconds a client may take none of its answer before it is closed."},
    )
    keepalive: int = field(
        default=2, metadata={"help": "Seconds an idle kept-alive connection waits for its next request."}
    )
    max_connections: int = field(
        default=1000, metadata={"help": "Open connections per HTTP worker; more wait in the listen backlog."}
    )
    client_connections: int = field(
        default=64,
        metadata={
            "help": "Open connections one client address may hold per HTTP worker; more are closed at once "
            "(0: no limit)."
        },
    )
    engine_url: str = field(
        default="",
        metadata={
            "help": "Serve from this SPARQL 1.1 Protocol endpoint (a store `kg publish` loaded) instead "
            "of the embedded store; empty: the embedded store."
        },
    )
    engine_timeout_param: str = field(
        default="",
        metadata={
            "help": "The store's own time-out parameter, sent in milliseconds with each query "
            "(Virtuoso, Fuseki: timeout); empty: the HTTP time-out alone stops waiting."
        },
    )
    engine_connections: int = field(
        default=16, metadata={"help": "Connections kept open to the store, per HTTP worker process."}
    )
    engine_max_bytes: int = field(
        default=64 * 1024 * 1024, metadata={"help": "Bytes of one answer from the store at most (502)."}
    )
    engine_refresh: float = field(
        default=5.0,
        metadata={"help": "Seconds between readings of which build the store serves (kg publish switches)."},
    )
    wikidata_endpoint: str = field(
        default="https://query.wikidata.org/sparql",
        metadata={"help": "The Wikidata SPARQL endpoint `kg link check`/`suggest` ask (a mirror, QLever)."},
    )
    wikidata_contact: str = field(
        default="https://w3id.org/hos-kg/",
        metadata={
            "help": "Who to contact about `kg link`'s requests: sent in the User-Agent (an email or URL)."
        },
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``KG_<NAME>`` environment variables, then explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            if not f.metadata.get("env", True):
                continue
            raw = env.get(f"KG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _coerce(f, raw)
                choices = f.metadata.get("choices")
                if choices and values[f.name] not in choices:
                    raise BadSetting(f"KG_{f.name.upper()}={raw!r}: use one of {', '.join(choices)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def data_sources(self) -> tuple[Source, ...]:
        """The sources a build reads: ``sources``, or the project's own (computed here, not stored,
        so that ``dataclasses.replace(settings, data_dir=…)`` reads the new folder)."""
        return self.sources or project(self.data_dir, records=self.records)

    @property
    def build(self) -> Build:
        """The build folder's files (kg.build knows their names)."""
        return Build(self.build_dir)

    @property
    def shapes_file(self) -> Path:
        return self.ontology_dir / "shapes.ttl"


def _coerce(f: dataclasses.Field, raw: str) -> object:
    kind = f.default.__class__ if f.default is not dataclasses.MISSING else str
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise BadSetting(f"KG_{f.name.upper()}={raw!r}: not a number ({kind.__name__})") from None
    if kind is bool:
        return raw.lower() in {"1", "true", "yes", "on"}
    if issubclass(kind, Path):
        return Path(raw)
    if kind is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return kind(raw)


SETTINGS: list[tuple[str, object, str]] = [
    (f.name, f.default, f.metadata.get("help", ""))
    for f in dataclasses.fields(Settings)
    if f.metadata.get("env", True)
]
