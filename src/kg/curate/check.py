"""`kg link check`: every link to Wikidata, and every item data/'s tables name, against Wikidata now.

For each item (kg.curate.links), a few questions, each a query file asked in batches through
kg.curate.client (standard SPARQL 1.1 over Wikidata's RDF, so a mirror or QLever answers too):

- **missing**: the item is the subject of no triple (deleted), or a redirect leads to such an item;
- **redirect**: the item was merged (``wd:Qold owl:sameAs wd:Qnew``): the target is reported, and the
  label and type questions are asked of it; a target that is no item's IRI (``wd:Q…``) is not
  followed but reported ("redirect to a non-item");
- **relabelled**: none of our English names for it (one origin's: the graph's labels and alternative
  labels, or a table's label) is close to Wikidata's English label or aliases (``close``);
- **wrong type**: our kind expects classes (types.tsv) and the item is an instance of none of them
  through ``wdt:P31/wdt:P279*``; the report gives what it is an instance of;
- **shared link**: two of our entities link one item (directly or through a redirect).

A person's item with a namesake (another human whose English label is our name) gets a note, not a
problem. Exit status: 0 all ok, 1 a problem, 2 the endpoint could not be asked (kg.cli).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Literal, URIRef

from kg.config import Settings
from kg.curate import links as found
from kg.curate.client import EndpointError, Row, WikidataClient
from kg.curate.links import WD, Expectation, Link, compact
from kg.link.identity import name_key

FOLDER = Path(__file__).parent
SEVERITY = ("missing", "redirect", "wrong type", "relabelled", "shared link")  # a row's status: its worst
LABEL_RATIO = 0.85  # difflib ratio of two name keys that still match ("Kyiv" ≠ "Kiev": 0.75)
HOPS = 3  # redirects followed from one item (Wikidata's bots resolve double redirects)
ITEM = re.compile(re.escape(WD) + r"Q[1-9][0-9]*")  # an item's IRI: a redirect's target must be one


@dataclass
class State:
    exists: bool = False
    target: str | None = None
    odd_target: str | None = None  # a redirect's target that is no item (its N3), not followed
    label: str | None = None  # English, else "mul"
    aliases: list[str] = field(default_factory=list)


@dataclass
class Result:
    link: Link
    final: str  # the item whose label and type were checked: the link's, or its redirect's target
    label: str | None = None
    problems: dict[str, str] = field(default_factory=dict)  # message → status, in order
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return min(self.problems.values(), key=SEVERITY.index, default="ok")

    def as_dict(self) -> dict:
        return {
            "item": self.link.qid,
            "status": self.status,
            "target": self.final if self.final != self.link.qid else None,
            "wikidata_label": self.label,
            "ours": self.link.iris,
            "kinds": self.link.kinds,
            "labels": self.link.labels,
            "origins": [o.where for o in self.link.origins],
            "problems": [{"status": s, "message": m} for m, s in self.problems.items()],
            "notes": self.notes,
        }


@dataclass
class Report:
    endpoint: str
    retrieved: str | None  # the date of the oldest answer used
    requests: int  # sent this run (0: every answer was kept on disk)
    results: list[Result]

    @property
    def problems(self) -> int:
        return sum(r.status != "ok" for r in self.results)

    def as_dict(self) -> dict:
        """The JSON report: the same for a run that asked and one that read the kept answers."""
        return {
            "endpoint": self.endpoint,
            "retrieved": self.retrieved,
            "checked": len(self.results),
            "problems": self.problems,
            "items": [r.as_dict() for r in self.results],
        }


def command(settings: Settings, client: WikidataClient, fmt: str) -> tuple[str, int]:
    """`kg link check`'s text and exit status: 0 all ok, 1 a problem, 2 the endpoint not asked."""
    return run(found.collect(settings), client, fmt)  # NotBuilt before anything is asked


def run(links: list[Link], client: WikidataClient, fmt: str = "table") -> tuple[str, int]:
    """The report on ``links`` as a table or JSON, and the exit status; a one-line error and 2 when
    the endpoint cannot be asked (after the client's retries): no traceback, no half report."""
    try:
        report = check(links, client)
    except EndpointError as exc:
        return f"kg link check: {exc.message}\n", 2
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=1, ensure_ascii=False) + "\n", int(report.problems > 0)
    return table(report), int(report.problems > 0)


def check(links: list[Link], client: WikidataClient, types: list[Expectation] | None = None) -> Report:
    expected: dict[str, list[Expectation]] = defaultdict(list)
    for e in found.types() if types is None else types:
        if e.wikidata:
            expected[e.kind].append(e)
    states = _states(client, [link.qid for link in links])
    results = [_resolve(link, states) for link in links]
    alive = [r for r in results if states[r.final].exists]
    for r in alive:
        _labels(r, states[r.final])
    _types(client, alive, expected)
    _shared(results)
    _namesakes(client, [r for r in alive if "person" in r.link.kinds])
    results.sort(key=lambda r: ((*SEVERITY, "ok").index(r.status), int(r.link.qid[1:])))
    return Report(client.endpoint, client.oldest, client.requests, results)


def _ask(client: WikidataClient, name: str, rows: list[tuple]) -> list[Row]:
    """The answers of check-NAME.rq for ``rows`` (none asked for no rows)."""
    text = (FOLDER / f"check-{name}.rq").read_text(encoding="utf-8")
    return client.select(text, rows) if rows else []


def _qid(term: object) -> str:
    return str(term).removeprefix(WD)


def _states(client: WikidataClient, qids: list[str]) -> dict[str, State]:
    """Each item's state, and those of the redirects' targets, a round of requests per hop."""
    states: dict[str, State] = {}
    asking = sorted(set(qids), key=lambda q: int(q[1:]))
    for _ in range(HOPS + 1):
        for q in asking:
            states[q] = State()
        for row in _ask(client, "state", [(URIRef(WD + q),) for q in asking]):
            state = states[_qid(row["item"])]
            state.exists = state.exists or str(row.get("exists")) == "true"
            if "target" in row:
                target = row["target"]
                if isinstance(target, URIRef) and ITEM.fullmatch(str(target)):
                    state.target = _qid(target)
                else:  # an odd answer: asking of it would fail (int(), VALUES), and it is no item
                    state.odd_target = target.n3()
            label, alias = row.get("label"), row.get("alias")
            if isinstance(label, Literal) and (state.label is None or label.language == "en"):
                state.label = str(label)  # "mul" only while no "en" is found
            if alias is not None and str(alias) not in state.aliases:
                state.aliases.append(str(alias))
        asking = sorted({s.target for s in states.values() if s.target and s.target not in states})
        if not asking:
            break
    return states


def _resolve(link: Link, states: dict[str, State]) -> Result:
    result, qid = Result(link, link.qid), link.qid
    for _ in range(HOPS):
        target = states[qid].target
        if not target or target not in states:
            break
        qid = target
    result.final = qid
    if qid != link.qid:
        result.problems[f"redirect: merged into {qid}"] = "redirect"
    if states[qid].odd_target:
        result.problems[f"redirect to a non-item: {states[qid].odd_target}"] = "redirect"
    if not states[qid].exists:
        where = f"redirect to {qid}, which" if qid != link.qid else "the item"
        result.problems[f"missing: {where} does not exist (deleted?)"] = "missing"
    result.label = states[qid].label
    return result


def _labels(result: Result, state: State) -> None:
    theirs = [n for n in (state.label, *state.aliases) if n]
    for origin in result.link.origins:
        if origin.labels and not any(close(ours, t) for ours in origin.labels for t in theirs):
            now = f"Wikidata now {state.label!r}" if state.label else "Wikidata has no English label"
            message = f"relabelled: ours {origin.labels[0]!r} ({origin.where}), {now}"
            result.problems.setdefault(message, "relabelled")


def close(ours: str, theirs: str) -> bool:
    """Whether two names are one: equal keys (kg.link.identity: case, accents, punctuation), alike
    keys (difflib ratio ≥ LABEL_RATIO), or one containing the other as whole words when the shorter
    has two words or more ("United States" in "United States of America"; "Sudan" not in "South
    Sudan")."""
    a, b = name_key(ours), name_key(theirs)
    if not a or not b:
        return False
    if a == b or difflib.SequenceMatcher(None, a, b).ratio() >= LABEL_RATIO:
        return True
    short, long_ = sorted((a.split("-"), b.split("-")), key=len)
    n = len(short)
    return n >= 2 and any(long_[i : i + n] == short for i in range(len(long_) - n + 1))


def _types(client: WikidataClient, results: list[Result], expected: dict[str, list[Expectation]]) -> None:
    pairs = {(r.final, str(e.wikidata)) for r in results for k in r.link.kinds for e in expected.get(k, [])}
    asked = [(URIRef(WD + q), URIRef(WD + c)) for q, c in sorted(pairs, key=_numbers)]
    fits = {(_qid(a["item"]), _qid(a["expected"])) for a in _ask(client, "types", asked)}
    wrong: dict[str, list[tuple[Result, str]]] = {}
    for r in results:
        for kind in r.link.kinds:
            if expected.get(kind) and not any((r.final, e.wikidata) in fits for e in expected[kind]):
                wrong.setdefault(r.final, []).append((r, kind))
    classes: dict[str, dict[str, str]] = defaultdict(dict)
    for a in _ask(client, "classes", [(URIRef(WD + q),) for q in sorted(wrong)]):
        known = classes[_qid(a["item"])]
        known[_qid(a["class"])] = str(a.get("classLabel") or known.get(_qid(a["class"]), ""))
    for qid, cases in wrong.items():
        known = classes.get(qid, {})
        what = ", ".join(f"{label or '?'} ({c})" for c, label in sorted(known.items()))
        for r, kind in cases:
            wanted = " or ".join(e.label for e in expected[kind])
            message = f"wrong type: our {kind} ({wanted}), but Wikidata: {what or 'no instance of (P31)'}"
            r.problems[message] = "wrong type"


def _numbers(pair: tuple[str, str]) -> tuple[int, int]:
    return int(pair[0][1:]), int(pair[1][1:])


def _shared(results: list[Result]) -> None:
    ours: dict[str, set[str]] = defaultdict(set)
    for r in results:
        ours[r.final].update(r.link.iris)
    for r in results:
        if len(ours[r.final]) > 1:
            names = ", ".join(compact(i) for i in sorted(ours[r.final]))
            r.problems[f"shared link: {names} link one item"] = "shared link"


def _namesakes(client: WikidataClient, results: list[Result]) -> None:
    rows = sorted({(r.final, name) for r in results for name in r.link.labels})
    asked = [(URIRef(WD + q), Literal(name, lang="en")) for q, name in rows]
    others: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for a in _ask(client, "namesakes", asked):
        others[_qid(a["item"])].add((_qid(a["other"]), str(a["label"])))
    for r in results:
        for other, name in sorted(others.get(r.final, ())):
            r.notes.append(f"namesake: {other} is another human named {name!r}")


def table(report: Report) -> str:
    """The terminal report: a row per item, problems first, then a summary."""
    head = ("STATUS", "ITEM", "KIND", "OURS", "LABEL", "WIKIDATA", "DETAIL")
    rows = [head]
    for r in report.results:
        ours = ", ".join(compact(i) for i in r.link.iris) or r.link.origins[0].where
        more = len(r.link.origins) - (len(r.link.iris) or 1)  # the other origins: in the JSON
        ours += f" (+{more})" if more > 0 else ""
        theirs = f"→ {r.final} {r.label or ''}".strip() if r.final != r.link.qid else r.label or ""
        label = (r.link.labels or [""])[0]
        detail = "; ".join([*r.problems, *r.notes])
        rows.append((r.status, r.link.qid, ", ".join(r.link.kinds), ours, label, theirs, detail))
    widths = [min(40, max(len(row[i]) for row in rows)) for i in range(len(head) - 1)]
    lines = [
        "  ".join(_cell(c, w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows
    ]
    counts = Counter(r.status for r in report.results)
    tally = ", ".join(f"{counts[s]} {s}" for s in ("ok", *SEVERITY) if counts[s])
    asked = (
        f"{report.requests} requests sent" if report.requests else "no request sent (answers kept on disk)"
    )
    lines.append(
        f"{len(report.results)} items checked: {tally or 'none'}. Answers from {report.endpoint}, "
        f"retrieved {report.retrieved or '-'}; {asked}."
    )
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _cell(text: str, width: int) -> str:
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)
