"""data/wikidata-links.ttl, the curators' verified table of Wikidata IDs: read back and written.

`kg link accept` (kg.curate.accept) adds to it; the seed source reads data/*.ttl, so the next
`kg build` puts it in the graph. Each link is the ``owl:sameAs`` and its source, the acceptance
(``hos:LinkAcceptance``), which names the link (``hos:linkedEntity``, ``hos:linkedItem``: not an
``rdf:Statement`` with ``rdf:predicate owl:sameAs``, which the rules reasoner refuses), who accepted it
and when, the evidence and score, the item's label, when Wikidata was asked and the review file.
The file is rewritten whole, sorted, from what it held plus the new links, and a file whose triples
this module would not write again (edited by hand) is refused rather than overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rdflib import FOAF, PROV, RDF, RDFS, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.term import Literal

from kg.curate.candidates import WD
from kg.errors import DataError
from kg.iris import HOS, ID

LINKS = "wikidata-links.ttl"  # in the data folder
TABLE = URIRef(ID + "source/wikidata-links")
HEADER = """\
# Links to Wikidata accepted by the project's curators (`kg link accept`, kg.curate.accept) from
# the candidates `kg link suggest` proposed. This file is the curators' verified table of Wikidata
# IDs: an ID enters the graph only from a verified table, and each link here carries who accepted
# it, when, on what evidence and score, the item's label and when Wikidata was asked, and the review
# file. Written by `kg link accept`, one block per link sorted by entity; to withdraw a link, delete
# its whole block.

@prefix hos:     <https://w3id.org/hos-kg/ontology#> .
@prefix source:  <https://w3id.org/hos-kg/id/source/> .
@prefix wd:      <http://www.wikidata.org/entity/> .
@prefix owl:     <http://www.w3.org/2002/07/owl#> .
@prefix rdf:     <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix foaf:    <http://xmlns.com/foaf/0.1/> .
@prefix dcterms: <http://purl.org/dc/terms/> .

source:wikidata-links a hos:ReferenceSource ;
    rdfs:label "Links to Wikidata accepted by the project's curators"@en ;
    rdfs:comment "Links `kg link suggest` proposed and a curator accepted, each with its acceptance."@en .
"""


@dataclass(frozen=True)
class Link:
    """One accepted link as the file keeps it."""

    entity: str
    qid: str
    label: str  # the acceptance's rdfs:label and rdfs:comment, in words
    comment: str
    who: str
    when: str
    candidate_label: str
    score: str
    evidence: str
    retrieved: str
    review_file: str

    @property
    def acceptance(self) -> str:
        local = self.entity.removeprefix(ID) if self.entity.startswith(ID) else self.entity
        return f"{ID}source/link-{re.sub(r'[^A-Za-z0-9]+', '-', local).strip('-')}-{self.qid}"


def date_time(text: str) -> str:
    """``text``, a date and time with a time zone in ISO 8601, as an xsd:dateTime's lexical form
    (``2026-12-01T10:00:00+00:00``); a ValueError for a day alone, no zone, or no date and time at
    all (what a spreadsheet may make of a cell: ``2026-12-01``, ``2026-12-01 10:00:00``)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    offset = when.utcoffset() if when else None
    if offset is None or offset % timedelta(minutes=1) or abs(offset) > timedelta(hours=14):
        raise ValueError(f"{text!r}: not a date and time with a time zone, as 2026-12-01T10:00:00+00:00")
    return when.isoformat()  # type: ignore[union-attr]


def load(path: Path) -> list[Link]:
    """The links the file holds; a file this module would not write again as it is is refused."""
    if not path.is_file():
        return []
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception as exc:  # rdflib raises many kinds; all mean the same here
        raise DataError(f"{path}: not Turtle: {exc}") from None
    links = []
    for acc in sorted(graph.subjects(RDF.type, URIRef(HOS + "LinkAcceptance")), key=str):
        agent = graph.value(acc, PROV.wasAttributedTo)
        value = {k: str(graph.value(acc, URIRef(HOS + p)) or "") for k, p in _PROPERTIES.items()}
        for name, when in (("generatedAtTime", graph.value(acc, PROV.generatedAtTime)),
                           ("retrievedAt", value["retrieved"])):  # fmt: skip
            try:
                if when:
                    date_time(str(when))
            except ValueError as exc:  # an ill-typed xsd:dateTime, written by hand
                raise DataError(f"{path}: {acc}: {name} {exc}") from None
        entity, item = (str(graph.value(acc, URIRef(HOS + p))) for p in ("linkedEntity", "linkedItem"))
        label, comment = str(graph.value(acc, RDFS.label)), str(graph.value(acc, RDFS.comment))
        links.append(Link(
            entity, item.removeprefix(WD), label, comment,
            str(graph.value(agent, FOAF.name)), str(graph.value(acc, PROV.generatedAtTime)), **value,
        ))  # fmt: skip
    # written again from what was read, it must be the same graph: else a hand edit would be lost
    if not isomorphic(graph, Graph().parse(data=turtle(links), format="turtle")):
        raise DataError(
            f"{path} holds triples `kg link accept` did not write (edited by hand?): "
            "make each link a whole block as the command writes it, or delete the file's stray lines"
        )
    return links


_PROPERTIES = {
    "candidate_label": "candidateLabel", "score": "score", "evidence": "evidence",
    "retrieved": "retrievedAt", "review_file": "reviewFile",
}  # fmt: skip


def turtle(links: list[Link]) -> str:
    """The links file's text: the header, then one block per link, sorted by entity and item."""
    blocks = [HEADER]
    for k in sorted(links, key=lambda k: (k.entity, k.qid)):
        item, acc = f"wd:{k.qid}", f"<{k.acceptance}>"
        lines = [
            f"# {' '.join(k.label.split())}",
            f"<{k.entity}> owl:sameAs {item} .",
            f"{acc} a hos:LinkAcceptance , hos:ReferenceSource ;",  # both: the QC checks read types as given
            f"    hos:linkedEntity <{k.entity}> ; hos:linkedItem {item} ;",
            f"    rdfs:label {Literal(k.label, lang='en').n3()} ;",
            f"    rdfs:comment {Literal(k.comment, lang='en').n3()} ;",
            "    dcterms:isPartOf source:wikidata-links ;",
            f"    prov:wasAttributedTo [ a prov:Agent ; foaf:name {Literal(k.who).n3()} ] ;",
            f'    prov:generatedAtTime "{k.when}"^^xsd:dateTime ;',
            f"    hos:candidateLabel {Literal(k.candidate_label).n3()} ;",
            f'    hos:score "{k.score}"^^xsd:decimal ;',
            f"    hos:evidence {Literal(k.evidence).n3()} ;",
            *([f'    hos:retrievedAt "{k.retrieved}"^^xsd:dateTime ;'] if k.retrieved else []),
            f"    hos:reviewFile {Literal(k.review_file).n3()} .",
        ]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write(path: Path, links: list[Link]) -> None:
    """The file, rewritten whole from ``links``."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(turtle(links), encoding="utf-8")
    temporary.replace(path)  # whole or not at all
