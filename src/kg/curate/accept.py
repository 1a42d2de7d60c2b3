"""`kg link accept FILE`: the links a curator accepted in a review file, into data/wikidata-links.ttl.

A row is accepted when its decision says ``accept``; with ``--auto SCORE`` also an undecided row
scoring at least SCORE that is not ambiguous and is its entity's only such row (an ambiguous row only
ever by an explicit ``accept``). Everything is checked before anything is written, and an error
names the file and line: a malformed row, a decision other than accept/reject/empty, a bad item id,
a ``retrieved`` that is not a date and time with a time zone (written as an xsd:dateTime, in its
ISO 8601 form), an entity the built graph does not have, two items accepted for one entity or one
item for two, an entity or item the graph or the file already links otherwise. A cell
kg.curate.suggest wrote with a leading ``'`` (so that a spreadsheet does not evaluate it) is read
without it.

The links go into data/wikidata-links.ttl (kg.curate.wikidata_links: its format, read back and
written whole): a link already there is kept as it was, so accepting twice adds nothing.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rdflib import URIRef

from kg.config import Settings
from kg.curate import wikidata_links
from kg.curate.candidates import FOLDER, WD
from kg.curate.client import values_clause
from kg.curate.suggest import COLUMNS, read_cell
from kg.curate.wikidata_links import Link
from kg.errors import BadRequest, DataError
from kg.store import KnowledgeGraph

QID = re.compile(r"Q[1-9][0-9]*")
IRI = re.compile(r"https?://[^\s<>\"{}|^`\\]+")


@dataclass(frozen=True)
class Row:
    line: int
    decision: str
    iri: str
    label: str
    kind: str
    qid: str
    candidate_label: str
    score: float
    ambiguous: str
    evidence: str
    retrieved: str


def command(settings: Settings, file: Path, by: str | None, auto: float | None) -> str:
    """Check the review file whole, write its accepted links, and say what was done."""
    if auto is not None and not 0 <= auto <= 1:
        raise BadRequest(f"--auto {auto}: a score is from 0 to 1")
    rows = read(file)
    chosen, skipped = choose(rows, auto, file)
    path = settings.data_dir / wikidata_links.LINKS
    kept = wikidata_links.load(path)
    _check(settings, file, chosen, kept)
    who, when = curator(by), datetime.now(UTC).replace(microsecond=0).isoformat()
    known = {(k.entity, k.qid) for k in kept}
    new = [_link(r, how, who, when, file) for r, how in chosen if (r.iri, r.qid) not in known]
    if new:
        wikidata_links.write(path, kept + new)
    counts = {d: sum(r.decision == d for r in rows) for d in ("accept", "reject", "")}
    again = f" ({len(chosen) - len(new)} already there)" if len(chosen) > len(new) else ""
    lines = [
        f"Accepted {len(new)} new links into {path}{again}.",
        f"Rows: {counts['accept']} accept, {counts['reject']} reject, {counts['']} undecided"
        + (f"; by --auto {auto}: {sum(h != 'accept' for _, h in chosen)}" if auto is not None else "")
        + (f"; left for review: {skipped}" if skipped else "")
        + ".",
    ]
    if new:
        lines.append("Run `kg build` to put them in the graph.")
    return "\n".join(lines) + "\n"


def read(file: Path) -> list[Row]:
    """The review file's rows; a malformed one is a DataError naming the file and line."""
    try:
        text = file.read_text(encoding="utf-8-sig")  # a spreadsheet may add a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{file}: cannot be read: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    header = next(reader, None) or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"{file}, line 1: not a review file of `kg link suggest`: no column {', '.join(missing)}"
        )
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise DataError(f"{file}, line {line}: {len(cells)} columns, the header has {len(header)}")
        # a cell written with a ``'`` so that a spreadsheet does not evaluate it: without it again
        values = {name: read_cell(cells[header.index(name)].strip()) for name in COLUMNS}
        values["decision"] = values["decision"].lower()
        rows.append(Row(line, **_valid(values, f"{file}, line {line}")))  # type: ignore[arg-type]
    return rows


def _valid(v: dict[str, str], where: str) -> dict[str, object]:
    if v["decision"] not in ("accept", "reject", ""):
        raise DataError(f"{where}: decision {v['decision']!r}: write accept or reject, or leave it empty")
    if not QID.fullmatch(v["qid"]):
        raise DataError(f"{where}: {v['qid']!r} is not a Wikidata item id (Q followed by digits)")
    if not IRI.fullmatch(v["iri"]):
        raise DataError(f"{where}: {v['iri']!r} is not an IRI")
    if not re.fullmatch(r"(no|yes\b.*)", v["ambiguous"], re.DOTALL):
        raise DataError(f"{where}: ambiguous {v['ambiguous']!r}: yes (and why) or no")
    try:
        score = float(v["score"])
    except ValueError as exc:
        raise DataError(f"{where}: {exc}") from None
    if not 0 <= score <= 1:
        raise DataError(f"{where}: score {v['score']}: from 0 to 1")
    try:  # written as an xsd:dateTime: a day alone, or no time zone, would be ill-typed
        retrieved = wikidata_links.date_time(v["retrieved"]) if v["retrieved"] else ""
    except ValueError as exc:
        raise DataError(f"{where}: retrieved {exc}") from None
    return {**v, "score": score, "retrieved": retrieved}


def choose(rows: list[Row], auto: float | None, file: Path) -> tuple[list[tuple[Row, str]], int]:
    """The rows to accept, each with how (``accept`` or ``auto``), and how many --auto left alone."""
    chosen = {(r.iri, r.qid): (r, "accept") for r in rows if r.decision == "accept"}
    decided = {r.iri for r in rows if r.decision == "accept"}
    skipped = 0
    if auto is not None:
        eligible: dict[str, list[Row]] = {}
        for r in rows:
            if not r.decision and r.ambiguous == "no" and r.score >= auto and r.iri not in decided:
                eligible.setdefault(r.iri, []).append(r)
        for group in eligible.values():
            if len({r.qid for r in group}) == 1:
                chosen.setdefault((group[0].iri, group[0].qid), (group[0], "auto"))
            else:  # two candidates of one entity above the bar: the curator decides
                skipped += len(group)
    for key, other in (("iri", "qid"), ("qid", "iri")):
        seen: dict[str, Row] = {}
        for r, _ in chosen.values():
            first = seen.setdefault(getattr(r, key), r)
            if getattr(first, other) != getattr(r, other):
                twice, one, two = getattr(r, key), getattr(first, other), getattr(r, other)
                raise DataError(
                    f"{file}, line {r.line}: {twice} is accepted twice, with {one} (line {first.line}) "
                    f"and {two}: accept one"
                )
    return sorted(chosen.values(), key=lambda c: c[0].line), skipped


def _check(settings: Settings, file: Path, chosen: list[tuple[Row, str]], kept: list[Link]) -> None:
    """Every chosen entity is in the built graph, and neither it nor its item is linked otherwise."""
    if not chosen:
        return
    query = (FOLDER / "unlinked-check.rq").read_text(encoding="utf-8")
    query = query.replace(
        "VALUES (?entity) {}", values_clause(["entity"], [(URIRef(r.iri),) for r, _ in chosen])
    )
    known, links = set(), {(k.entity, k.qid) for k in kept}  # the file's, and the graph's below
    for row in KnowledgeGraph.open(settings.build).query(query):  # type: ignore[union-attr]
        if row["class"] is not None:
            known.add(row["entity"].value)
        if row["item"] is not None:
            links.add((row["entity"].value, row["item"].value.removeprefix(WD)))
    items, entities = defaultdict(set), defaultdict(set)
    for entity, qid in links:
        items[entity].add(qid)
        entities[qid].add(entity)
    for r, _ in chosen:
        where = f"{file}, line {r.line}"
        if r.iri not in known:
            raise DataError(f"{where}: {r.iri} is not in the graph of {settings.build.folder}")
        if items[r.iri] - {r.qid}:
            raise DataError(
                f"{where}: {r.iri} is already linked to {min(items[r.iri] - {r.qid})}, not {r.qid}"
            )
        if entities[r.qid] - {r.iri}:
            raise DataError(f"{where}: {r.qid} is already the link of {min(entities[r.qid] - {r.iri})}")


def curator(by: str | None) -> str:
    """Who accepts: --by, else git's user.name, else $USER (or $LOGNAME)."""
    if by and by.strip():
        return by.strip()
    try:
        found = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    found = found or os.environ.get("USER", "") or os.environ.get("LOGNAME", "")
    if not found:
        raise BadRequest("say who accepts the links: --by NAME")
    return found


def _link(r: Row, how: str, who: str, when: str, file: Path) -> Link:
    where = f"line {r.line} of {file.name}"
    why = f"the curator's decision “accept” on {where}"
    if how != "accept":
        why = f"`kg link accept --auto`: undecided on {where}, not ambiguous, score {r.score:.2f}"
    if r.ambiguous != "no":
        why += f"; the row was marked ambiguous: {r.ambiguous.removeprefix('yes').lstrip(':').strip()}"
    return Link(
        r.iri, r.qid, f"{r.label} ({r.kind}) is Wikidata's {r.qid}, accepted by {who}",
        f"Accepted by {who} on {when[:10]} by {why}.", who, when, r.candidate_label,
        f"{r.score:.2f}", r.evidence, r.retrieved, file.name,
    )  # fmt: skip
