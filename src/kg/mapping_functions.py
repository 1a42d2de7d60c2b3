"""Functions the HSG RML mappings call (morph-kgc) for what a mapping cannot express.

Every function takes the XML text as given (a string, possibly None or empty) and returns a str,
a list[str], or None; None means "the record does not say it", so no triple is written.

Rules (this docstring is their documentation):

- Text: whitespace runs (the files' line wrapping) become one space. Dates must be real calendar
  dates written YYYY-MM-DD; anything else ("", "1975-00-00", "2010-02-30") gives no date.
- Visitor = title + name. The title is the longest entry of TITLES that starts the string
  (case- and hyphen-spacing-insensitive: "President-Elect", "President- elect"), written as the
  record writes it. Honorifics stay in the name: "Sheikh" (a name in "Sheikh Hasina", "Hassan
  Sheikh Mohamud"), "Dr.", "Lord", "Haji", "Dom", "Earl of". Only one title is removed, so
  "Regent Prince Charles" -> "Regent", "Prince Charles". A string naming two office holders
  ("President X and Prime Minister Y", "King X and Crown Prince Y") gets no title and is kept as one
  name, as the record has it. With no title the name is the whole string ("Valdas Adamkus").
- Person merge key: "{country id}-{slug(name)}", so the same name (case, accents, punctuation,
  spacing ignored) from the same country is one person; ALIASES maps the ids the countries table
  marks as typos or duplicates onto one id.
- Visit kind: the first phrase in the description naming a kind of visit (VISIT_KINDS), so
  "Official visit. Private visit to New York afterwards." is an official visit. "Official State
  visit" is a state visit; "Offical" and "Good will" are spellings of official and goodwill.
- Locales: a trip's places are separated by ", "; the LOCALE_NAMES contain a comma but name one
  place with its region ("Mexico, D.F.", "Birch Grove, Sussex").
- Countries: a record's country is the countries-wikidata.tsv row with its id and name (falling
  back to all rows of the id when the name has none); a "PERIOD ROW" applies only to records
  dated within its note's period ("before X" excludes X, "up to X" and "X-Y" include the whole of
  X and Y at the precision written). If no row applies, or rows naming different countries apply
  (October 1955 for vietnam lies in two periods), there is no country. Verified rows with a qid
  get slug(wikidata_label); others "hsg-{hsg_id}-{first_year}". A note that cannot be read raises.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

Table = str | Path | None  # the countries table; None = COUNTRIES
COUNTRIES = Path(__file__).resolve().parents[2] / "data" / "sources" / "hsg" / "countries-wikidata.tsv"


def text(value: str | None) -> str | None:
    return " ".join((value or "").split()) or None


def slug(value: str | None) -> str:
    # Apostrophes join (Mata'afa = Mataafa); NFKD does not decompose ø, hence the table.
    folded = unicodedata.normalize("NFKD", (value or "").translate(_LETTERS))
    ascii_ = folded.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")


_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "'": "", "’": "", "ʻ": ""}
)


# --- dates -----------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def iso_date(value: str | None) -> str | None:
    return None if date_problem(value) else (value or "").strip()


def date_problem(value: str | None) -> str | None:
    written = (value or "").strip()
    if not written:
        return "missing"
    match = _ISO.fullmatch(written)
    # fromisoformat alone would also take "20100208": the records' form is YYYY-MM-DD only.
    if not match or not (1 <= int(match[2]) <= 12 and 1 <= int(match[3]) <= 31):
        return f"not a date: {written!r}"
    try:
        date.fromisoformat(written)
    except ValueError:
        return f"impossible date: {written!r}"
    return None


# --- visitors --------------------------------------------------------------------------------------

# Every title that starts a visitor string in visits/*.xml; typos kept so the name is split right.
TITLES = (
    "President", "President-elect", "President-designate", "Acting President", "Interim President",
    "Provisional President", "President of the Council of Ministers", "Prime Minister",
    "Prime Minster", "Prime Ministere", "Acting Prime Minister", "Interim Prime Minister",
    "Prime Minister-Prince", "Premier", "Vice Premier", "Premier and Prince", "Premier & Prince",
    "Chancellor", "Chancellor-elect", "Federal Chancellor", "Taoiseach", "King", "Queen", "Emperor",
    "Grand Duke", "Grand Duchess", "Prince", "Crown Prince", "Regent", "Shah", "Sultan", "Amir",
    "Emir", "Pope", "Governor General", "Chairman", "Chairman of the Presidency", "General Secretary",
    "First Secretary", "Chief of State", "Head of State", "Junta Member", "General",
    "Brigadier General", "Lieutenant General",
)  # fmt: skip


def _title_pattern(title: str) -> str:
    return r"\s*-\s*".join(re.escape(part).replace(r"\ ", r"\s+") for part in title.split("-"))


_TITLES = "|".join(_title_pattern(t) for t in sorted(TITLES, key=len, reverse=True))
# A title ends at a space or, once in the data ("Prime MinisterHaidar"), at a glued capital.
_TITLE = re.compile(rf"(?:{_TITLES})(?=\s|(?-i:[A-Z]))", re.IGNORECASE)
_SECOND_PERSON = re.compile(rf"\s(?:and|&)\s+(?:{_TITLES})\s", re.IGNORECASE)


def _split_visitor(visitor: str | None) -> tuple[str | None, str | None]:
    whole = text(visitor)
    if whole is None:
        return None, None
    match = _TITLE.match(whole)
    name = whole[match.end() :].strip() if match else ""
    if not match or not name or _SECOND_PERSON.search(name):
        return None, whole
    return whole[: match.end()], name


def visitor_title(visitor: str | None) -> str | None:
    return _split_visitor(visitor)[0]


def visitor_name(visitor: str | None) -> str | None:
    return _split_visitor(visitor)[1]


# The countries table marks these ids as typos or duplicates of another id (see its notes).
ALIASES = {
    "korea": "korea-south",
    "somoa": "samoa",
    "czechia": "czech-republic",
    "turkiye": "turkey",
    "north-macedonia": "macedonia",
    "eswatini": "swaziland",
    "congo-kinshasa": "congo-democratic-republic",
}


def person_slug(country_id: str | None, visitor: str | None) -> str | None:
    country, name = text(country_id), slug(visitor_name(visitor))
    return f"{ALIASES.get(country, country)}-{name}" if country and name else None


# --- visit kinds -----------------------------------------------------------------------------------

# Concept slug -> the phrase(s) naming it; longer phrases first so "official working visit" wins.
VISIT_KINDS = {
    "state-visit": r"(?:official\s+)?state\s+visit",
    "official-working-visit": r"official\s+working\s+visit",
    "official-select-visit": r"official\s+select\s+visit",
    "official-visit": r"offici?al\s+visit",
    "informal-working-visit": r"informal\s+working\s+visit",
    "private-working-visit": r"private\s+working\s+visit",
    "working-visit": r"working\s+visit",
    "private-visit": r"private\s+visit",
    "unofficial-visit": r"unofficial\s+visit",
    "informal-visit": r"informal\s+visit",
    "pastoral-visit": r"pastoral\s+visit",
    "courtesy-visit": r"courtesy\s+visit",
    "goodwill-visit": r"good\s*will\s+visit",
    "social-visit": r"social\s+visit",
}
_KIND = re.compile(
    "|".join(rf"\b(?P<{k.replace('-', '_')}>{p})\b" for k, p in VISIT_KINDS.items()), re.IGNORECASE
)


def visit_kind(description: str | None) -> str | None:
    match = _KIND.search(description or "")
    return match.lastgroup.replace("_", "-") if match and match.lastgroup else None


def visit_kind_phrase(description: str | None) -> str | None:
    match = _KIND.search(description or "")
    return text(match[0]) if match else None


def visit_kind_label(kind: str) -> str:
    """The English label data/hsg.ttl gives a kind's concept ("Official working visit"; tests
    check hsg.ttl against this)."""
    return kind.replace("-", " ").capitalize()


def visit_kind_other_phrase(description: str | None) -> str | None:
    """visit_kind_phrase where it is not the kind's label: an alternative label of the concept
    (SKOS keeps a concept's preferred and alternative labels apart)."""
    match = _KIND.search(description or "")
    if not match or not match.lastgroup:
        return None
    phrase = text(match[0])
    return phrase if phrase != visit_kind_label(match.lastgroup.replace("_", "-")) else None


# --- trip locales ----------------------------------------------------------------------------------

LOCALE_NAMES = (
    "Mexico, D.F.",
    "Martinique, West Indies",
    "Birch Grove, Sussex",
    "Montebello, Quebec",
    "Savelletri, Fasano, Apulia",
)


def locales(locale: str | None) -> list[str]:
    rest, places = text(locale) or "", []
    while rest:
        name = next((n for n in LOCALE_NAMES if rest == n or rest.startswith(n + ", ")), None)
        name = name or rest.split(", ", 1)[0]
        places.append(name.strip(" ,"))
        rest = rest[len(name) :].lstrip(", ")
    return [p for p in places if p]


def locale_at(locale: str | None, i: str | int | None) -> str | None:
    places = locales(locale)
    index = int(i) if str(i).strip().isdigit() else len(places)
    return places[index] if index < len(places) else None


def place_slug_at(country_id: str | None, locale: str | None, i: str | int | None) -> str | None:
    place, country = locale_at(locale, i), text(country_id)
    return f"hsg-{ALIASES.get(country, country)}-{slug(place)}" if place and country else None


# --- countries -------------------------------------------------------------------------------------

_MONTHS = {
    m: n
    for n, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_WHEN = r"(?:(\d{1,2}) )?(?:([A-Za-z]+) )?(\d{4})"
_PERIOD = re.compile(r"PERIOD ROW, applies to records dated (.+?)\.(?:\s|$)")
_PHRASES = {  # phrase -> (first day, last day) from the start/end of the dates it names
    rf"before {_WHEN}": lambda a: (None, _start(*a[:3]) - timedelta(days=1)),
    rf"up to {_WHEN}": lambda a: (None, _end(*a[:3])),
    rf"{_WHEN} or later": lambda a: (_start(*a[:3]), None),
    rf"{_WHEN}\s*[-–]\s*{_WHEN}": lambda a: (_start(*a[:3]), _end(*a[3:])),
}


def _month(name: str | None) -> int | None:
    if name is None:
        return None
    if name[:3].lower() not in _MONTHS:
        raise ValueError(f"not a month: {name!r}")
    return _MONTHS[name[:3].lower()]


def _start(day: str | None, month: str | None, year: str) -> date:
    return date(int(year), _month(month) or 1, int(day or 1))


def _end(day: str | None, month: str | None, year: str) -> date:
    if day:
        return _start(day, month, year)
    if month:
        return date(int(year) + (_month(month) == 12), _month(month) % 12 + 1, 1) - timedelta(days=1)
    return date(int(year), 12, 31)


def _period(row: dict[str, str]) -> tuple[date | None, date | None] | None:
    note = row["note"]
    if not note.startswith("PERIOD ROW"):
        return None
    found = _PERIOD.match(note)
    for pattern, period in _PHRASES.items():
        match = re.fullmatch(pattern, found[1]) if found else None
        if match:
            return period(match.groups())
    raise ValueError(
        f"countries table: cannot read the period of {row['hsg_id']}/{row['hsg_name']}: {note!r}"
    )


@functools.cache
def load_countries(path: str | Path | None = None) -> tuple[dict, ...]:
    with open(path or COUNTRIES, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return tuple({**r, "period": _period(r), "slug": row_slug(r)} for r in rows)


def country_rows(path: str | Path | None = None) -> list[dict]:
    return list(load_countries(path))


def row_slug(row: dict[str, str]) -> str:
    return country_row_slug(
        row["hsg_id"], row["qid"], row["wikidata_label"], row["status"], row["first_year"]
    )


def country_row_slug(
    hsg_id: str, qid: str | None, label: str | None, status: str | None, first_year: str
) -> str:
    """The same slug for the table's own mapping, from its columns."""
    if status == "verified" and text(qid) and text(label):
        return slug(label)
    return f"hsg-{hsg_id.strip()}-{first_year.strip()}"


@functools.cache
def _rows_by_id(path: str | Path) -> dict[str, list[dict]]:
    # Nearly every record has its own date, so _country_row's cache misses: no scan of the table.
    by_id: dict[str, list[dict]] = {}
    for row in load_countries(path):
        by_id.setdefault(row["hsg_id"], []).append(row)
    return by_id


@functools.cache  # a build asks the same (id, name, date) tens of thousands of times
def _country_row(hsg_id: str | None, hsg_name: str | None, when: str | None, path: Table) -> dict | None:
    key = text(hsg_id)
    rows = _rows_by_id(path or COUNTRIES).get(key, []) if key else []
    rows = [r for r in rows if r["hsg_name"] == text(hsg_name)] or rows
    day = iso_date(when)
    day = date.fromisoformat(day) if day else None

    def applies(row: dict) -> bool:
        if row["period"] is None:
            return True
        first, last = row["period"]
        return day is not None and (first is None or first <= day) and (last is None or day <= last)

    rows = [r for r in rows if applies(r)]
    return rows[0] if rows and len({r["slug"] for r in rows}) == 1 else None


def country_slug(
    hsg_id: str | None, hsg_name: str | None, date: str | None, path: Table = None
) -> str | None:
    row = _country_row(hsg_id, hsg_name, date, path)
    return row["slug"] if row else None


def country_qid(hsg_id: str | None, hsg_name: str | None, date: str | None, path: Table = None) -> str | None:
    row = _country_row(hsg_id, hsg_name, date, path)
    return row["qid"] if row and row["status"] == "verified" and row["qid"] else None


def country_note(
    hsg_id: str | None, hsg_name: str | None, date: str | None, path: Table = None
) -> str | None:
    # A period row's note may carry a correction after its period sentence (russia, 1992).
    row = _country_row(hsg_id, hsg_name, date, path)
    note = _PERIOD.sub("", row["note"], count=1).strip() if row else ""
    return note if note.startswith("DATA ERROR") else None


if COUNTRIES.exists():  # an unreadable PERIOD ROW note fails the import, not a later build
    load_countries(COUNTRIES)


VISITS = Path(__file__).resolve().parents[2] / "data" / "sources" / "hsg" / "visits"


@functools.cache
def _spellings(folder: str | Path | None = None) -> dict[str, str]:
    records: list[ET.Element] = []
    for path in sorted(Path(folder or VISITS).glob("*.xml")):
        try:
            records += ET.parse(path).getroot()
        except ET.ParseError:
            continue  # kg.rml reports the file; its records are not mapped
    return spellings(records)


def spellings(records: Iterable[ET.Element]) -> dict[str, str]:
    """Each visitor's (person_slug's) preferred spelling: the one most records use, the latest
    record's on a tie. The other spellings stay alternative labels."""
    seen: dict[str, dict[str, tuple[int, str]]] = {}
    for record in records:
        key = person_slug(
            record.findtext("from[@id]") and record.find("from").get("id"), record.findtext("visitor")
        )
        name, day = visitor_name(record.findtext("visitor")), text(record.findtext("start-date")) or ""
        if key and name:
            count, latest = seen.setdefault(key, {}).get(name, (0, ""))
            seen[key][name] = (count + 1, max(latest, day))
    return {key: max(names, key=lambda n: names[n]) for key, names in seen.items()}


_RUN_SPELLINGS: dict[str, str] | None = None  # those of the VISITS records kg.rml read (use_visits)


def use_visits(records: Iterable[ET.Element]) -> None:
    """The records of VISITS as kg.rml has read them for a run: their spellings serve
    preferred_name, and the folder is not parsed a second time (call after use_data_dir)."""
    global _RUN_SPELLINGS
    _RUN_SPELLINGS = spellings(records)


def preferred_name(
    country_id: str | None, visitor: str | None, folder: str | Path | None = None
) -> str | None:
    """The one English label of the person a visitor string names (see spellings)."""
    key = person_slug(country_id, visitor)
    if not key:
        return None
    known = _RUN_SPELLINGS if folder is None and _RUN_SPELLINGS is not None else _spellings(folder)
    return known.get(key)


def other_spelling(country_id: str | None, visitor: str | None) -> str | None:
    """The name as this record spells it, where that is not the person's preferred_name (an
    alternative label); None where it is, so that no label is repeated as an alternative."""
    name = visitor_name(visitor)
    return name if name and name != preferred_name(country_id, visitor) else None


def use_data_dir(data_dir: Path) -> None:
    """Read the country table and the visits of this data folder (kg.rml calls it before a run:
    morph-kgc gives the functions no other way to know which build they serve)."""
    global COUNTRIES, VISITS, _RUN_SPELLINGS
    COUNTRIES = data_dir / "sources" / "hsg" / "countries-wikidata.tsv"
    VISITS = data_dir / "sources" / "hsg" / "visits"
    _RUN_SPELLINGS = None
    for cached in (load_countries, _rows_by_id, _country_row, _spellings):
        cached.cache_clear()
