"""Content negotiation as data: media types ⇄ pyoxigraph formats, per result kind.

``negotiate(kind, accept, format_values)`` picks what to send. A ``format=``
(or ``output=`` / ``results=``, as SPARQLWrapper sends them) overrides the
Accept header; q-values and wildcards are handled by werkzeug's MIMEAccept.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pyoxigraph as ox

if TYPE_CHECKING:
    from werkzeug.datastructures import MIMEAccept

from kg.errors import NotAcceptable

Kind = Literal["results", "graph"]


@dataclass(frozen=True)
class Choice:
    media_type: str
    format: ox.QueryResultsFormat | ox.RdfFormat | None  # None: rendered as HTML
    extension: str


# First entry of each table is the default for */* or no Accept header.
RESULTS: dict[str, Choice] = {
    c.media_type: c
    for c in (
        Choice("application/sparql-results+json", ox.QueryResultsFormat.JSON, "srj"),
        Choice("application/sparql-results+xml", ox.QueryResultsFormat.XML, "srx"),
        Choice("text/csv", ox.QueryResultsFormat.CSV, "csv"),
        Choice("text/tab-separated-values", ox.QueryResultsFormat.TSV, "tsv"),
        Choice("text/html", None, "html"),
    )
}
GRAPH: dict[str, Choice] = {
    c.media_type: c
    for c in (
        Choice("text/turtle", ox.RdfFormat.TURTLE, "ttl"),
        Choice("application/n-triples", ox.RdfFormat.N_TRIPLES, "nt"),
        Choice("application/rdf+xml", ox.RdfFormat.RDF_XML, "rdf"),
        Choice("application/ld+json", ox.RdfFormat.JSON_LD, "jsonld"),
        Choice("application/trig", ox.RdfFormat.TRIG, "trig"),
        Choice("application/n-quads", ox.RdfFormat.N_QUADS, "nq"),
    )
}
TABLES: dict[Kind, dict[str, Choice]] = {"results": RESULTS, "graph": GRAPH}

# Other names clients use for the same formats (Accept values and format= values).
ALIASES: dict[Kind, dict[str, str]] = {
    "results": {
        "application/json": "application/sparql-results+json",
        "application/xml": "application/sparql-results+xml",
        "text/xml": "application/sparql-results+xml",
        "json": "application/sparql-results+json",
        "xml": "application/sparql-results+xml",
        "csv": "text/csv",
        "tsv": "text/tab-separated-values",
        "html": "text/html",
    },
    "graph": {
        "application/x-turtle": "text/turtle",
        "application/turtle": "text/turtle",
        "text/n3": "text/turtle",
        "text/rdf+n3": "text/turtle",
        "application/n3": "text/turtle",
        "text/plain": "application/n-triples",
        "application/xml": "application/rdf+xml",
        "text/xml": "application/rdf+xml",
        "application/json": "application/ld+json",
        "application/x-json+ld": "application/ld+json",
        "turtle": "text/turtle",
        "ttl": "text/turtle",
        "n3": "text/turtle",
        "nt": "application/n-triples",
        "ntriples": "application/n-triples",
        "n-triples": "application/n-triples",
        "xml": "application/rdf+xml",
        "rdf": "application/rdf+xml",
        "rdf+xml": "application/rdf+xml",
        "rdfxml": "application/rdf+xml",
        "json": "application/ld+json",
        "json-ld": "application/ld+json",
        "jsonld": "application/ld+json",
        "trig": "application/trig",
        "nq": "application/n-quads",
        "nquads": "application/n-quads",
        "n-quads": "application/n-quads",
    },
}


def _lookup(kind: Kind, name: str) -> Choice | None:
    name = name.split(";", 1)[0].strip().lower()
    return TABLES[kind].get(ALIASES[kind].get(name, name))


def negotiate(kind: Kind, accept: MIMEAccept, format_values: list[str], html: bool = True) -> Choice:
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
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    try:
        return negotiate(kind, parse_accept_header(accept_header, MIMEAccept), list(format_values)).media_type
    except NotAcceptable:
        return None
