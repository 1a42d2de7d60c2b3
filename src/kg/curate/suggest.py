"""`kg link suggest`: Wikidata items for unlinked people, places and summit editions, to review.

Our store says which entities are unlinked and what it knows of them (unlinked-*.rq: names,
countries, days, series); kg.curate.candidates asks Wikidata for candidates of each kind, with the
evidence for each and its score (its docstring says which evidence, and ``WEIGHTS`` its weight).

Ambiguous (never auto-accepted, kg.curate.accept): every candidate within ``MARGIN`` of its
entity's best when there are two or more; every candidate of a person when two or more humans have
the name (two people with one name), unless the best alone held the position over our days (what
the graph knows tells it from its namesakes: a name and a citizenship do not); and every row of an
item proposed for two of our entities. Nothing here writes to the graph: a curator reviews the file
and `kg link accept` adds what they accept.

The review file is opened in a spreadsheet, and Wikidata's labels are anyone's to edit: a cell that
a spreadsheet would evaluate (starting with = + - @; a tab or a line break is written as a space) is
written with a leading ``'`` (OWASP's advice against CSV injection), which kg.curate.accept takes
off again.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

from rdflib.term import Node

from kg.config import Settings
from kg.curate.candidates import FOLDER, Candidate, Entity, Span, persons, places, qid, summits
from kg.curate.client import WikidataClient
from kg.derivations import node
from kg.errors import BadRequest
from kg.store import KnowledgeGraph

MARGIN = 0.1  # candidates of one entity this close to its best are ambiguous
PER_ENTITY = 5  # the best candidates kept per entity
KINDS = ("person", "place", "summit")  # in the review file's order
COLUMNS = (
    "decision", "iri", "label", "kind", "qid", "candidate_label", "score", "ambiguous", "evidence",
    "retrieved",
)  # fmt: skip


def command(
    settings: Settings, client: WikidataClient, kinds: Sequence[str], limit: int | None, output: Path | None
) -> str:
    """Look the unlinked entities up, write the review file, and say what was found."""
    if limit is not None and limit < 0:
        raise BadRequest(f"--limit {limit}: look up at least 0 entities")
    kinds = [k for k in KINDS if k in kinds]
    entities = [e for e in unlinked(KnowledgeGraph.open(settings.build)) if e.kind in kinds][:limit]
    found: list[Candidate] = []
    for kind, look_up in zip(KINDS, (persons, places, summits), strict=True):
        group = [e for e in entities if e.kind == kind]
        found += look_up(client, group, settings) if group else []
    kept = best(found)
    path = output or settings.build.folder / "link-suggestions.tsv"
    write(path, kept)
    linked = {c.entity.iri for c in kept}
    without = [e.label for e in entities if e.iri not in linked]
    some = f" ({', '.join(without[:5])}{', …' if len(without) > 5 else ''})" if without else ""
    by_kind = ", ".join(f"{k}s {sum(e.kind == k for e in entities)}" for k in kinds)
    return (
        f"Looked up {len(entities)} unlinked entities ({by_kind}) in {client.endpoint}: "
        f"{len(linked)} with candidates, {len(without)} without{some}.\n"
        f"Candidates: {len(kept)}, ambiguous: {sum(bool(c.ambiguous) for c in kept)} (never auto-accepted).\n"
        f"Wrote {path}: write accept or reject in its decision column, then `kg link accept {path}`.\n"
    )


def unlinked(kg: KnowledgeGraph) -> list[Entity]:
    """The unlinked persons, places and summit editions, with what the graph says of them."""
    entities: dict[str, Entity] = {}
    for r in _rows(kg, "unlinked-names"):
        e = entities.setdefault(str(r["entity"]), Entity(str(r["entity"]), str(r["kind"])))
        e.names[r["name"]] = e.names.get(r["name"], True) and bool(r["alias"].toPython())  # type: ignore[union-attr]
    for r in _rows(kg, "unlinked-persons") + _rows(kg, "unlinked-places") + _rows(kg, "unlinked-summits"):
        e = entities.get(str(r.get("person") or r.get("place") or r.get("summit")))  # type: ignore[assignment]
        if e is None:
            continue
        if "countryItem" in r:
            e.countries[str(r["countryItem"])] = str(r.get("countryLabel", r["countryItem"]))
        e.days += _span(r)
        e.series = str(r.get("series", e.series))
        e.series_item = str(r.get("seriesItem", e.series_item))
        e.series_names.update(str(r[k]) for k in ("seriesName",) if k in r)
        e.locations.update(str(r[k]) for k in ("locationItem",) if k in r)
    return sorted(entities.values(), key=lambda e: (KINDS.index(e.kind), e.iri))


def best(found: Iterable[Candidate]) -> list[Candidate]:
    """The best ``PER_ENTITY`` candidates of each entity, ambiguous ones marked, in review order."""
    by_entity: dict[str, list[Candidate]] = defaultdict(list)
    for c in found:
        by_entity[c.entity.iri].append(c)
    kept: list[Candidate] = []
    for group in by_entity.values():
        group.sort(key=lambda c: (-c.score, c.item))
        close = [c for c in group if c.score >= group[0].score - MARGIN - 1e-9]
        for c in close if len(close) > 1 else []:
            others = ", ".join(qid(o.item) for o in close if o is not c)
            c.ambiguous = f"{len(close)} candidates within {MARGIN} of the best score (also {others})"
        if group[0].entity.kind == "person":
            _namesakes(group)
        kept += group[:PER_ENTITY]
    by_item: dict[str, list[Candidate]] = defaultdict(list)
    for c in kept:
        by_item[c.item].append(c)
    for item, group in by_item.items():
        for c in group if len(group) > 1 else []:
            also = ", ".join(o.entity.iri for o in group if o is not c)
            c.ambiguous = "; ".join(filter(None, [c.ambiguous, f"{qid(item)} is also proposed for {also}"]))
    return sorted(kept, key=lambda c: (KINDS.index(c.entity.kind), c.entity.label, c.entity.iri, -c.score))


def _namesakes(group: list[Candidate]) -> None:
    """Two humans or more with the name (label or alias) are all ambiguous, unless the best (first)
    alone held the position over our days."""
    named = [c for c in group if "name" in c.evidence]
    if len(named) < 2 or (group[0].holds("position") and not any(c.holds("position") for c in group[1:])):
        return
    for c in named:
        others = ", ".join(qid(o.item) for o in named if o is not c)
        c.ambiguous = f"{len(named)} humans share this name (also {others})"


def write(path: Path, candidates: Iterable[Candidate]) -> None:
    """The review file: TSV (a spreadsheet opens it), a header, one candidate a row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, delimiter="\t", lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows([text_cell(cell) for cell in _row(c)] for c in candidates)


# What a spreadsheet would evaluate: a cell starting with = + - @ (OWASP, CSV injection), after
# spaces (a spreadsheet may trim them; a tab or line break is written as a space), or after a ``'``
# (so that a name that starts with ``'=`` reads back as it was).
FORMULA = re.compile(r"'*\s*[=+\-@]")


def text_cell(cell: str) -> str:
    """A cell as text: on one line, and starting with ``'`` if a spreadsheet would evaluate it."""
    cell = re.sub(r"[\t\r\n]+", " ", cell)
    return "'" + cell if FORMULA.match(cell) else cell


def read_cell(cell: str) -> str:
    """A cell of the review file as it was before ``text_cell`` wrote it (its ``'`` taken off)."""
    return cell[1:] if cell.startswith("'") and FORMULA.match(cell, 1) else cell


def _row(c: Candidate) -> list[str]:
    """A candidate's cells, in the order of ``COLUMNS``; the decision is the curator's to write."""
    words = "; ".join(f"{text} (+{w:.1f})" for w, text in c.evidence.values())
    ambiguous = f"yes: {c.ambiguous}" if c.ambiguous else "no"
    e = c.entity
    return ["", e.iri, e.label, e.kind, qid(c.item), c.label, f"{c.score:.2f}", ambiguous, words,
            c.retrieved]  # fmt: skip


# ---------------------------------------------------------------------------------- helpers


def _rows(kg: KnowledgeGraph, name: str) -> list[dict[str, Node]]:
    solutions = kg.query((FOLDER / f"{name}.rq").read_text(encoding="utf-8"))
    names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
    return [{n: node(row[n]) for n in names if row[n] is not None} for row in solutions]  # type: ignore[union-attr]


def _span(r: dict[str, Node]) -> list[Span]:
    """The days a row gives (none, or one span): a month is its first to its last day."""
    try:
        if "from" in r:
            first = date.fromisoformat(str(r["from"]))
            last = date.fromisoformat(str(r["to"])) if "to" in r else first
        elif "month" in r:
            first = date.fromisoformat(f"{r['month']}-01")
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            return []
    except ValueError:  # not a day of the calendar: the row tells nothing of the days
        return []
    return [(first, max(first, last), str(r.get("what", "days")))]
