"""Summit series in the Office of the Historian's records, and the editions their records attended.

Rules (this docstring and the header of ``data/mappings/summit-series.tsv`` are their documentation):

- **Series named.** A record's text (a visit's <description>, a trip's <remarks>), its whitespace runs
  made one space (kg.mapping_functions.text), names a series when a pattern of the table matches it,
  case-insensitively. Each series is reported once, with the words of its earliest match (the longest
  of those starting there), in the order the words appear. The table says which phrasings count, and
  which were left out on purpose ("Summit meeting with President Yeltsin" is bilateral; "en route to
  a G-7 conference" is not attendance); tests/data/summit-series-expected.tsv pins the answer for
  every distinct string of the records.
- **Attendance.** Every series a record names gives one Attendance of the record (hsg-visit-<id>,
  hsg-trip-<id>) with the record's dates; an impossible or missing date is None.
- **Editions.** The dated attendances of one series, sorted by start, form one edition while each
  next start lies within ``window_days`` days of the latest start before it (single linkage: a chain
  of close records stays one edition); a longer gap begins the next edition. An edition's ``first``
  is its earliest start, ``last`` the latest end (or start, where the end is missing or earlier).
  Editions come sorted by series, then first date; their attendances by start, then record.
- **Undated records form no edition** and are returned by no edition: the caller lists them
  (they are the attendances with ``start is None``).
- **Slugs.** ``<series>-<yyyy>-<mm>`` of the first start: "nuclear-security-summit-2010-04". A later
  edition of the same series that begins in the same month gets "-2", "-3" in date order (its
  ``ordinal``); with the default window that cannot happen, as two starts of one month are at most 30
  days apart, but a smaller window can split a month.

Why ``WINDOW_DAYS`` = 30. Within one edition the records of a series are spread by the visits of
leaders who came on different days. Summits proper spread over a week at most (APEC Seattle 1993:
11 to 19 November), but a session of the United Nations General Assembly lasts months and its
visitors come weeks apart: 1962, 19 September to 14 October (a gap of 17 days); 1971, 28 and 30
September and 19 October (19 days); 1995, the Pope on 4 October and the 50th-anniversary meeting of
22–24 October (18 days); 1996, 1 and 25 April in the resumed 50th session (24 days). A window of
10–14 days splits each of those sessions in two; 30 days keeps them whole. The nearest two distinct
editions of one series are 70 days apart or more (the General Assembly's special sessions of June and
its regular sessions of September; NATO's extraordinary summit of March 2022 and Madrid, June 2022;
the G7 at The Hague in March 2014 and at Brussels in June; the G-7 nuclear-safety summit of April 1996
and Lyon in June; G20 London April 2009 and Pittsburgh September 2009), so nothing is merged by
30 days. tests/test_link_summits.py checks both bounds on the records.

The Nuclear Security Summit of April 2010: 36 visit records (hsg-visit-2083 to hsg-visit-2118, 11–14
April) say "Attended the Nuclear Security Summit."; the figure of 47 is the number of nations that
took part, not of records (the historian lists the heads of state and government who came, not the
delegations led by others). The other 34 visit records with those words are of the 2016 summit.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kg import mapping_functions as mf

TABLE = Path(__file__).resolve().parents[3] / "data" / "mappings" / "summit-series.tsv"
COLUMNS = ("series", "label", "pattern", "note")  # the first columns of the table's header, in order
WINDOW_DAYS = 30  # see the docstring: the widest spread within an edition, well below the nearest editions

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Series:
    """A series of the table: its id (the event slug), English label and its rows' patterns."""

    id: str
    label: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class Attendance:
    """A record naming a series: the record's id, the series, the record's dates and its words."""

    record: str  # "hsg-visit-2083", "hsg-trip-3738"
    series: str
    start: date | None
    end: date | None
    words: str


@dataclass(frozen=True)
class Edition:
    """One meeting of a series: the attendances grouped by the window rule."""

    series: str
    attendances: tuple[Attendance, ...]
    first: date
    last: date
    ordinal: int = 1  # 1 for the first edition of its series to begin in its month, then 2, 3 ...

    @property
    def slug(self) -> str:
        base = f"{self.series}-{self.first:%Y-%m}"
        return base if self.ordinal == 1 else f"{base}-{self.ordinal}"


def load_series(path: str | Path | None = None) -> tuple[Series, ...]:
    """The series of the table (default: data/mappings/summit-series.tsv), in the table's order."""
    return _load(Path(path).resolve() if path is not None else TABLE)


@functools.cache  # the table is read once per process; a bad table raises and is not cached
def _load(path: Path) -> tuple[Series, ...]:
    labels: dict[str, str] = {}
    patterns: dict[str, list[re.Pattern[str]]] = defaultdict(list)
    header: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            if tuple(cells[: len(COLUMNS)]) != COLUMNS:
                raise ValueError(f"{path}, line {number}: the header must begin with {', '.join(COLUMNS)}")
            header = cells
            continue
        if len(cells) != len(header):
            raise ValueError(f"{path}, line {number}: {len(cells)} columns, the header has {len(header)}")
        row = dict(zip(header, cells, strict=True))
        problem = _row_problem(row, labels)
        if problem:
            raise ValueError(f"{path}, line {number}: {problem}")
        labels.setdefault(row["series"], row["label"])
        patterns[row["series"]].append(re.compile(row["pattern"], re.IGNORECASE))
    if not labels:
        raise ValueError(f"{path}: no series")
    return tuple(Series(id_, label, tuple(patterns[id_])) for id_, label in labels.items())


def _row_problem(row: dict[str, str], labels: dict[str, str]) -> str | None:
    series, label, pattern = row["series"], row["label"], row["pattern"]
    if not _SLUG.fullmatch(series):
        return f"series {series!r} is not a slug (a-z, 0-9, hyphens)"
    if not label.strip() or not row["note"].strip():
        return f"series {series!r}: label and note must not be empty"
    if labels.get(series, label) != label:
        return f"series {series!r} has two labels: {labels[series]!r} and {label!r}"
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        return f"pattern {pattern!r} is not a regular expression: {error}"
    # A pattern that matches nothing at all would name its series in every record.
    if compiled.match(""):
        return f"pattern {pattern!r} matches the empty string"
    return None


def series_named(text: str | None, table: tuple[Series, ...] | None = None) -> list[tuple[str, str]]:
    """(series id, words) for each series the text names, in the order its words appear."""
    written = mf.text(text)
    if not written:
        return []
    found: list[tuple[int, int, int, str, str]] = []  # (start, -length, table order, id, words)
    for order, series in enumerate(load_series() if table is None else table):
        matches = [m for p in series.patterns for m in p.finditer(written) if m.end() > m.start()]
        if matches:
            best = min(matches, key=lambda m: (m.start(), m.start() - m.end()))
            found.append((best.start(), best.start() - best.end(), order, series.id, best.group()))
    return [(id_, words) for *_, id_, words in sorted(found)]


def editions(attendances: Iterable[Attendance], window_days: int = WINDOW_DAYS) -> list[Edition]:
    """The editions of the dated attendances by the window rule; undated ones are left out."""
    if window_days < 0:
        raise ValueError(f"window_days must not be negative: {window_days}")
    by_series: dict[str, list[Attendance]] = defaultdict(list)
    for attendance in attendances:
        if attendance.start is not None:
            by_series[attendance.series].append(attendance)
    found: list[Edition] = []
    for series in sorted(by_series):
        groups: list[list[Attendance]] = []
        for attendance in sorted(by_series[series], key=lambda a: (a.start, a.record)):
            if groups and (attendance.start - groups[-1][-1].start).days <= window_days:
                groups[-1].append(attendance)
            else:
                groups.append([attendance])
        months: Counter[tuple[int, int]] = Counter()
        for group in groups:
            first = group[0].start
            months[first.year, first.month] += 1
            last = max(max(a.start, a.end or a.start) for a in group)
            found.append(Edition(series, tuple(group), first, last, months[first.year, first.month]))
    return found


def attendances_from_xml(
    visits_dir: Path, travels_dir: Path, table: tuple[Series, ...] | None = None
) -> list[Attendance]:
    """The attendances of every <visit> (its description) and <trip> (its remarks) in the folders."""
    found: list[Attendance] = []
    for folder, tag, field, kind in (
        (visits_dir, "visit", "description", "visit"),
        (travels_dir, "trip", "remarks", "trip"),
    ):
        for file in sorted(Path(folder).glob("*.xml")):
            for record in ET.parse(file).getroot().iter(tag):
                record_id = mf.text(record.findtext("id"))
                if not record_id:
                    raise ValueError(f"{file}: a <{tag}> without an <id>")
                start, end = _date(record.findtext("start-date")), _date(record.findtext("end-date"))
                for series, words in series_named(record.findtext(field), table):
                    found.append(Attendance(f"hsg-{kind}-{record_id}", series, start, end, words))
    return found


def _date(value: str | None) -> date | None:
    written = mf.iso_date(value)
    return date.fromisoformat(written) if written else None
