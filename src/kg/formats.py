"""Every output format, once: one row each in ``FORMATS``; every other format table is derived.

A row says what a format is (media type, file suffix, W3C format IRI, label),
what it carries (SELECT/ASK ``results`` or RDF ``graph``s), the other names
clients use for it (``format=`` values, media types), and how it is written
(pyoxigraph's serializer; None for HTML, which the views render). Content
negotiation, the dumps ``kg build`` writes, the OpenAPI enums, the CLI's
choices, the Service Description, the page links, the URL suffixes and the
files ``kg serve --data`` reads all come from these rows: a new format is one
row (and its tests).

``negotiate(kind, accept, format_values)`` picks what to send. A ``format=``
(or ``output=`` / ``results=``, as SPARQLWrapper sends them) overrides the
Accept header; q-values and wildcards are handled by werkzeug's MIMEAccept.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pyoxigraph as ox

from kg.errors import NotAcceptable

if TYPE_CHECKING:
    from werkzeug.datastructures import MIMEAccept

Kind = Literal["results", "graph"]
KINDS: tuple[Kind, ...] = ("results", "graph")
W3C = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    kind: Kind  # what it carries: SELECT/ASK results, or an RDF graph (CONSTRUCT/DESCRIBE, pages, dumps)
    media_type: str
    format: ox.QueryResultsFormat | ox.RdfFormat | None  # the serializer; None: HTML, rendered by a view
    suffix: str  # file and URL suffix, without the dot: dumps, /id/X.ttl
    w3c: str | None  # the W3C format IRI (http://www.w3.org/ns/formats/…), for the Service Description
    label: str  # for people: page links, downloads, error messages
    names: tuple[str, ...]  # format= values; the first is the canonical name (CLI, OpenAPI, /api/…/q.json)
    media_aliases: tuple[str, ...] = ()  # other media types clients ask for it by
    read_suffixes: tuple[str, ...] = ()  # other file suffixes read as this format (kg serve --data)
    dump: bool = False  # kg build writes every graph set in it
    note: str = ""  # said of it in the list of downloads
    named_graphs: bool = False  # keeps the named graphs (quads)
    prefixes: bool = False  # written with the project's prefixes

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def description(self) -> str:
        return f"{self.label} ({self.note})" if self.note else self.label


# One row per format. Within a kind, the first row answers */* or no Accept header.
FORMATS: tuple[Format, ...] = (
    Format(
        "results",
        "application/sparql-results+json",
        ox.QueryResultsFormat.JSON,
        "srj",
        W3C + "SPARQL_Results_JSON",
        "JSON",
        ("json",),
        media_aliases=("application/json",),
    ),
    Format(
        "results",
        "application/sparql-results+xml",
        ox.QueryResultsFormat.XML,
        "srx",
        W3C + "SPARQL_Results_XML",
        "XML",
        ("xml",),
        media_aliases=("application/xml", "text/xml"),
    ),
    Format(
        "results", "text/csv", ox.QueryResultsFormat.CSV, "csv", W3C + "SPARQL_Results_CSV", "CSV", ("csv",)
    ),
    Format(
        "results",
        "text/tab-separated-values",
        ox.QueryResultsFormat.TSV,
        "tsv",
        W3C + "SPARQL_Results_TSV",
        "TSV",
        ("tsv",),
    ),
    Format("results", "text/html", None, "html", None, "HTML", ("html",)),
    Format(
        "graph",
        "text/turtle",
        ox.RdfFormat.TURTLE,
        "ttl",
        W3C + "Turtle",
        "Turtle",
        ("turtle", "ttl", "n3"),
        media_aliases=(
            "application/x-turtle",
            "application/turtle",
            "text/n3",
            "text/rdf+n3",
            "application/n3",
        ),
        dump=True,
        prefixes=True,
    ),
    Format(
        "graph",
        "application/n-triples",
        ox.RdfFormat.N_TRIPLES,
        "nt",
        W3C + "N-Triples",
        "N-Triples",
        ("nt", "ntriples", "n-triples"),
        media_aliases=("text/plain",),
        dump=True,
    ),
    Format(
        "graph",
        "application/rdf+xml",
        ox.RdfFormat.RDF_XML,
        "rdf",
        W3C + "RDF_XML",
        "RDF/XML",
        ("rdf+xml", "xml", "rdf", "rdfxml"),
        media_aliases=("application/xml", "text/xml"),
        read_suffixes=("owl", "xml"),
    ),
    Format(
        "graph",
        "application/ld+json",
        ox.RdfFormat.JSON_LD,
        "jsonld",
        W3C + "JSON-LD",
        "JSON-LD",
        ("json-ld", "json", "jsonld"),
        media_aliases=("application/json", "application/x-json+ld"),
        read_suffixes=("json",),
        dump=True,
        note="expanded form",
    ),
    Format(
        "graph",
        "application/trig",
        ox.RdfFormat.TRIG,
        "trig",
        W3C + "TriG",
        "TriG",
        ("trig",),
        dump=True,
        note="named graphs kept",
        named_graphs=True,
        prefixes=True,
    ),
    Format(
        "graph",
        "application/n-quads",
        ox.RdfFormat.N_QUADS,
        "nq",
        W3C + "N-Quads",
        "N-Quads",
        ("nquads", "nq", "n-quads"),
        dump=True,
        note="named graphs kept",
        named_graphs=True,
    ),
)

# ------------------------------------------------------------ tables derived from the rows

TABLES: dict[Kind, dict[str, Format]] = {
    kind: {f.media_type: f for f in FORMATS if f.kind == kind} for kind in KINDS
}
RESULTS = TABLES["results"]  # media type → row (kg.execute looks answers' formats up here)
GRAPH = TABLES["graph"]
HTML = RESULTS["text/html"]
# Other names clients use for the formats of a kind (format= values and media types) → media type.
ALIASES: dict[Kind, dict[str, str]] = {
    kind: {alias: f.media_type for f in TABLES[kind].values() for alias in (*f.names, *f.media_aliases)}
    for kind in KINDS
}
DUMPED: tuple[Format, ...] = tuple(f for f in FORMATS if f.dump)  # what kg build writes
WRITTEN: tuple[Format, ...] = tuple(f for f in FORMATS if f.format is not None)  # no view needed
Choice = Format  # the name kg.execute knows the rows by


def by_name(name: str) -> Format:
    """The row whose canonical name is ``name`` (the names the CLI and the API suffixes use)."""
    return next(f for f in FORMATS if f.name == name)


def by_suffix(suffix: str) -> Format:
    """The row written with the file suffix ``suffix`` (ttl, nq, …)."""
    return next(f for f in FORMATS if f.suffix == suffix)


def names(kind: Kind, html: bool = True) -> list[str]:
    """The canonical names of a kind's formats, in the table's order."""
    return [f.name for f in TABLES[kind].values() if html or f.format is not None]


def labels(kind: Kind) -> list[str]:
    return [f.label for f in TABLES[kind].values()]


# ------------------------------------------------------------ negotiation


def _lookup(kind: Kind, name: str) -> Format | None:
    name = name.split(";", 1)[0].strip().lower()
    return TABLES[kind].get(ALIASES[kind].get(name, name))


def negotiate(kind: Kind, accept: MIMEAccept, format_values: list[str], html: bool = True) -> Format:
    """The format to answer with, or NotAcceptable naming what we can produce."""
    table = TABLES[kind]
    if format_values:
        for value in format_values:
            choice = _lookup(kind, value)
            if choice and (html or choice.format is not None):
                return choice
        raise NotAcceptable(
            f"format {format_values[0]!r} is not available for {kind}; use one of "
            + ", ".join(sorted(k for k in ALIASES[kind] if "/" not in k))
        )
    offers = [m for m, c in table.items() if html or c.format is not None]
    offers += [a for a, m in ALIASES[kind].items() if "/" in a and m in offers]
    if not accept:
        return table[offers[0]]
    # werkzeug breaks ties by the order of the offers, so */* gets the table's first entry.
    best = accept.best_match(offers)
    if best is None:
        raise NotAcceptable(
            f"cannot produce any of {accept.to_header()!r} for {kind}; available: {', '.join(table)}"
        )
    choice = _lookup(kind, best)
    assert choice is not None  # every offer comes from the tables
    return choice


@functools.lru_cache(maxsize=512)
def negotiate_header(kind: Kind, accept_header: str, format_values: tuple[str, ...]) -> str | None:
    """The media type negotiate() picks for a raw Accept header, or None when nothing fits.

    Cached, the refusals too: clients send the same few headers again and again,
    and a SELECT client's Accept is refused for graphs on every request.
    """
    # Imported here: the query processes and gunicorn's master import this module for its
    # tables and never negotiate, so they do without werkzeug.
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    try:
        return negotiate(kind, parse_accept_header(accept_header, MIMEAccept), list(format_values)).media_type
    except NotAcceptable:
        return None
