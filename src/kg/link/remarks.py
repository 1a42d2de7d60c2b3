"""The leaders a president's trip record says he met, and which known person each one is.

A trip's ``<remarks>`` say in prose whom the president met ("Met with President Prasad and Prime
Minister Nehru. Addressed Parliament."). ``leaders_named`` finds those leaders; ``link`` decides
which person of the visits records (``candidates_from_visits``) each one is, or that none is.
The rules (this docstring is their documentation):

**What is extracted.** A person named with a leader's title: the titles of the visits records
(kg.mapping_functions.TITLES: President, Prime Minister, Premier, Chancellor, King, Queen, Emperor,
Crown Prince, Shah, Sultan, Amir, Emir, Pope, Governor General, Chairman, General Secretary, …)
and "Generalissimo", "Secretary-General"; a qualifier before the title stays in it as written
("former President", "interim President", "Acting President"); a plural title gives each person of
its list the singular ("Presidents Perez of Venezuela, Lopez Michelson of Colombia" → two
Presidents). The lowercase word "leader" counts only after a country's demonym ("North Korean
leader Kim Jong-un"), so "Labour Party leader Miliband" is not extracted. The name is the run of
capitalised words after the title (with the particles de, da, la, van, bin, al, … inside it, and
"al-Maliki", "d'Estaing", initials, roman numerals, "3rd"); it ends at a lowercase word, a comma,
a bracket, a date ("Finnbogadottir October 10") or the end of the sentence.

**What is not extracted.**

- Military ranks (General, Gen., Admiral): in these remarks they name U.S. commanders
  ("Gen. Petraeus", "General Eisenhower") as often as foreign rulers ("General Torrijos",
  "General Musharraf"), so none is taken; nor other offices (Vice President, Foreign Minister,
  Secretary of State, First Minister, Mayor, Governor, Ambassador, Cardinal, Duke).
- Offices without a name ("the Amir of Kuwait", "the Presidents of the Baltic States"): a name is
  what links a person.
- A title after capitalised words that are not a country's demonym: the office is not a state's
  ("Quebec Premier Bouchard", "Bosnian Serb President Plavsic", "National People's Congress
  Chairman Wu", "Vice President Laurel"). The first word of a sentence is exempt ("Briefed
  President Mubarak").
- People the remark does not say were met. A person is extracted only when the last cue before
  the name in its sentence is a meeting cue: "met"/"meet" (``met-with``), "with" (named by the
  word before it: ``meeting-with``, ``summit-with`` for summit/conference, ``discussed-with`` for
  discussed/conferred/conversed/consulted/talks, ``audience-with``, ``met-with``, else ``with``),
  "received/invited/hosted/welcomed by" (``received-by``), "joined", "briefed", "spoke to". A
  funeral, memorial, commemoration, enthronement, tomb, burial or wreath cue after it cancels it:
  "Met with President Walesa and attended a memorial service for former Prime Minister
  Paderewski" gives Walesa only; "Attended funeral of Chancellor Adenauer" gives no one. Being
  "present" at the same ceremony is not a meeting ("Also present were Prime Minister Trudeau").

**Nationality and country.** ``nationality`` is the demonym before the title ("Syrian President
Assad" → "Syrian") or the place after the name ("President Assad of Syria" → "Syria"); a list
entry has its own "of X"; a person right after another with a nationality, joined only by "and",
takes it ("Palestinian Authority President Abbas and Prime Minister Fayyad"). ``country`` is the
HSG country id of it (after kg.mapping_functions.ALIASES): demonyms and the country names that
countries-wikidata.tsv lacks are in ``data/mappings/demonyms.tsv`` (Soviet → russia, West German →
germany, PLO → palestinian-authority; UN, NATO, EU name no country), other names come from
countries-wikidata.tsv. A Pope's country is the Holy See wherever he was met ("at Castel
Gandolfo" on a trip to Italy). With no nationality, the leader is of the trip's country
(``country_of``); a Secretary-General, or a nationality that is no country, has none. So a
foreign leader named without nationality gets the host's country ("met with President Yeltsin"
on a trip to Italy): the price of not guessing.

**Linking** (``link``), precision before recall: the country is ``country_of``; with none, or no
date, there is no link. A candidate (a visitor of the visits records, keyed like the mapping's
persons by kg.mapping_functions.person_slug) agrees when all hold:

1. its country is that country;
2. its name agrees, compared by name key (kg.mapping_functions.slug, one-letter tokens such as
   middle initials dropped): the full name equals one of the candidate's spellings, or the
   remark's tokens are the last tokens of one ("Walesa" ~ "Lech Walesa", "Lopez Portillo" ~ "Jose
   Lopez Portillo"), or, for the countries of ``SURNAME_FIRST`` (family name first: China, Korea,
   Vietnam, Taiwan, Singapore, Cambodia), the first tokens ("President Hu" ~ "Hu Jintao"). A
   remark without a title needs the full name. Where some candidates agree by full name, only they
   count;
3. its title agrees: one the candidate held in a visit is the remark's office, compared in
   lowercase after dropping the qualifiers former/acting/interim/provisional/federal and
   -elect/-designate, with Premier = Prime Minister (and its typos "Prime Minster"/"Prime
   Ministere", Taoiseach, President of the Council of Ministers) and Amir = Emir. "Chairman" is
   not "President" (Gorbachev was both; the remark's office must be one the visits record);
4. the trip began within ``YEARS`` (10) years of a visit it made with that title (same day and
   month ± 10 years), so that "President Somoza" of 1968 is not his father of the 1939 and 1952
   visits, nor "President Park" of 1979 Park Geun-hye of 2013. The price: a monarch met more than
   10 years after their last visit is not linked (Elizabeth II in 2018 and 2021, Akihito 2009-2017).

Exactly one candidate → linked. Several → not linked ("ambiguous: …"), unless they are one person
the visits spell more or less fully: every other one's name is the fullest one's with given names
left out, the last name kept ("Jose Aznar" and "Jose Maria Aznar", "Hussein" and "Hussein I"); then
the fullest is linked. Spellings that differ otherwise ("Nicolas"/"Nicloas Sarkozy", "Nouri"/"Nuri
al-Maliki", "Lars"/"Anders Rasmussen") stay ambiguous: telling a typo from another person is an
editor's call (kg.link.identity reports them). None → not linked, and the candidates of that
country whose names agree but were refused (title, window), or whose name keys are alike (difflib
ratio ≥ ``NEAR``: "Kin Dae-Jung" ~ "Kim Dae-jung", "Cardosa" ~ "Cardoso"), are ``near``: reported
for an editor, never linked (no fuzzy matching for links).

Measured on a hand-checked sample of 200 remarks (tests/test_link_remarks.py): extraction precision
and recall 197/201, link precision 137/137 and recall 137/163.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kg import mapping_functions as mf

DEMONYMS = Path(__file__).resolve().parents[3] / "data" / "mappings" / "demonyms.tsv"
YEARS = 10  # the window between a trip and a visit with the same title (see the module doc)
NEAR = 0.85  # difflib ratio of two name keys reported as a near miss (as kg.link.identity)
SURNAME_FIRST = frozenset(
    {"china", "taiwan", "korea-south", "korea-north", "vietnam", "singapore", "cambodia"}
)


@dataclass(frozen=True)
class Named:
    """A leader a remark says the president met, as the remark writes them."""

    title: str | None  # as written, e.g. "President", "Prime Minister", "former President"
    name: str  # as written, e.g. "Vladimir Putin", "Walesa"
    nationality: str | None  # "Russian"; from "of Venezuela": "Venezuela"
    country: str | None  # HSG country id of the nationality (after ALIASES), else None
    words: str  # the remark's words naming this person
    rule: str  # the pattern that found it: "met-with", "meeting-with", "list", …


@dataclass(frozen=True)
class Candidate:
    """A person of the visits records (a visitor), as ``link`` compares them."""

    key: str  # kg.mapping_functions.person_slug, e.g. "russia-vladimir-putin"
    name: str  # the preferred spelling (kg.mapping_functions.spellings)
    names: tuple[str, ...]  # every spelling seen
    country: str  # HSG country id after ALIASES
    titles: tuple[tuple[str, str], ...]  # (title as written, ISO date of the visit)


@dataclass(frozen=True)
class Link:
    """Which candidate a Named is, and why (or why none)."""

    key: str | None  # the candidate's key, or None when not linked
    reason: str
    near: tuple[str, ...] = ()  # keys of candidates that nearly matched but were refused


# --- titles and words --------------------------------------------------------------------------------

_MILITARY = {"General", "Brigadier General", "Lieutenant General"}
_QUALIFIED = ("Acting ", "Interim ", "Provisional ")  # a qualifier before any title is read apart
LEADER_TITLES = (
    *(t for t in mf.TITLES if t not in _MILITARY and not t.startswith(_QUALIFIED)),
    "Generalissimo",
    "Secretary-General",
    "Secretary General",
)


def _title_pattern(title: str) -> str:
    head, *tails = title.split("-")
    pattern = re.escape(head).replace(r"\ ", r"\s+")
    return pattern + "".join(rf"\s*-\s*(?i:{re.escape(t)})" for t in tails)


_TITLE = re.compile(
    r"(?<![\w-])(?P<title>"
    + "|".join(_title_pattern(t) for t in sorted(LEADER_TITLES, key=len, reverse=True))
    + r"|leader)(?P<plural>s)?(?![\w-])"
)
_TITLE_WORDS = {t.split()[0].split("-")[0] for t in LEADER_TITLES} | {"Vice", "Deputy"}
# Capitalised words before a title that make it another office, even at a sentence's start.
_NOT_LEADER = {"Vice", "Deputy", "Lieutenant", "Assistant", "Former"}
_QUALIFIER = re.compile(r"(?:former|acting|interim|provisional)", re.IGNORECASE)
_RUN = re.compile(r"((?:[A-Z][\w’'.-]*\s+)+)$")  # the capitalised words right before a title
_LOWER_QUALIFIER = re.compile(r"\b(former|interim|acting|provisional)\s+$")

_PARTICLES = {
    "de", "da", "das", "do", "dos", "del", "della", "di", "du", "la", "le", "van", "von", "der",
    "den", "ter", "bin", "ibn", "bint", "al", "el", "y", "e",
}  # fmt: skip
_MONTHS = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
}  # fmt: skip
_NOT_NAME = {"Also", "The"}
_DAY = re.compile(r"\s+\d")  # a month before a day is a date ("Finnbogadottir October 10"), not a name
_ABBREVIATIONS = {
    "Gen", "Dr", "St", "Mr", "Mrs", "Jr", "Sr", "Lt", "Col", "Adm", "Sgt", "Gov", "U.S", "D.C", "U.N",
}  # fmt: skip
_PREFIXED = re.compile(r"(?:al|el|ad|as|ash|at|d)[-'’][A-Z]")  # al-Maliki, d'Estaing
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")

# Cues, in a sentence, before a name: the last one before it decides whether he met the person.
_CUES = re.compile(
    r"\b(?P<met>met|meet)\b|\b(?P<with>with)\b"
    r"|\b(?P<by>(?:received|invited|hosted|welcomed)\s+by)\b"
    r"|\b(?P<joined>joined)\b|\b(?P<briefed>briefed)\b|\b(?P<spoke>spoke\s+to)\b"
    r"|\b(?P<not>funerals?|memorials?|commemorat\w*|enthronement|tomb|burial|wreath\w*)\b",
    re.IGNORECASE,
)
_CUE_RULES = {
    "met": "met-with",
    "by": "received-by",
    "joined": "joined",
    "briefed": "briefed",
    "spoke": "spoke-to",
}
# The word before "with" names the pattern; the last one in the clause wins.
_WITH_KINDS = re.compile(
    r"\b(?:(?P<meeting>meetings?)|(?P<summit>summit|conference)|(?P<audience>audience)"
    r"|(?P<discussed>discussed|conferred|conversed|consulted|talks|conversations)|(?P<met>met))\b",
    re.IGNORECASE,
)


@functools.cache
def _places(path: Path = DEMONYMS) -> dict[str, str]:
    """Words naming a country (a demonym or a name) → HSG id ("" = an organisation, no country)."""
    places: dict[str, str] = {}
    for row in mf.load_countries():
        name = row["hsg_name"]
        if "," not in name and "(" not in name:  # "Korea, South" is no way to write it in prose
            places.setdefault(name, row["hsg_id"])
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            places[row["words"]] = row["hsg_id"]
    return {words: mf.ALIASES.get(hsg, hsg) for words, hsg in places.items()}


_WORD_GOES_ON = re.compile(r"[\w-]")


@functools.cache
def _longest_first() -> tuple[str, ...]:
    return tuple(sorted(_places(), key=len, reverse=True))


def _place_at(text: str, pos: int) -> tuple[str, int] | None:
    """The longest known place name starting at ``pos`` (ending at a word's end)."""
    for words in _longest_first():
        end = pos + len(words)
        if text.startswith(words, pos) and not _WORD_GOES_ON.match(text, end):
            return words, end
    return None


def _sentences(text: str) -> list[tuple[int, int]]:
    starts = [0]
    for m in re.finditer(r"[.!?][\"”’)\]]*\s+(?=[\"“\[(]?[A-Z])", text):
        word = re.search(r"(\S+)$", text[: m.start()])
        before = word[1] if word else ""
        if (len(before) == 1 and before.isupper()) or before.lstrip("([") in _ABBREVIATIONS:
            continue  # an initial ("Michael D. Higgins") or an abbreviation ("Gen. Petraeus")
        starts.append(m.end())
    return [(s, e) for s, e in zip(starts, [*starts[1:], len(text)], strict=True)]


def _name_at(text: str, pos: int, end: int) -> tuple[str, int] | None:
    """The name after the whitespace at ``pos`` (read up to ``end``) and where it ends."""
    tokens: list[str] = []
    pending: list[str] = []  # particles, kept only if a capitalised word follows
    stop = i = pos
    while m := _WORD.match(text, i, end):
        i, raw = m.end(), m[1]
        if raw[0] in '(["“':
            break
        core = raw.rstrip(',;:)]"”')
        last = core != raw or (raw.endswith(".") and not _is_initial(raw))  # the name ends here
        core = core[:-1] if last and core.endswith(".") else core
        if not core or core in _NOT_NAME or (core in _MONTHS and _DAY.match(text, i, end)):
            break
        if core in _PARTICLES and not last:
            pending.append(core)
            continue
        capital = core[0].isupper() or (core[0] in "-–" and core[1:2].isupper()) or _PREFIXED.match(core)
        if not capital and not (tokens and _ORDINAL.fullmatch(core)):
            break
        tokens += [*pending, core]
        pending = []
        stop = m.start(1) + len(core)
        if last:
            break
    if tokens and tokens[-1].endswith("."):  # a last "initial" is a numeral: "King Mohammed V."
        tokens[-1], stop = tokens[-1][:-1], stop - 1
    return (" ".join(tokens), stop) if tokens else None


_WORD = re.compile(r"\s+(\S+)")


def _is_initial(raw: str) -> bool:
    word = raw.rstrip(".")
    return (len(word) == 1 and word.isupper()) or word in _ABBREVIATIONS


# --- extraction --------------------------------------------------------------------------------------


def leaders_named(remarks: str | None) -> list[Named]:
    """The leaders ``remarks`` says the president met, in the order written (see the module doc)."""
    text = mf.text(remarks)
    if not text:
        return []
    out: list[Named] = []
    for start, end in _sentences(text):
        out += _in_sentence(text, start, end)
    return out


def _in_sentence(text: str, start: int, end: int) -> list[Named]:
    cues = list(_CUES.finditer(text, start, end))
    out: list[Named] = []
    previous: tuple[Named, int] | None = None  # the last person found, where their words end
    done = start
    for m in _TITLE.finditer(text, start, end):
        if m.start() < done:
            continue  # a title word inside a name already read ("Prime Minister Mackenzie King")
        found = _mention(text, start, end, m, cues)
        if not found:
            continue
        people, head, done = found
        first = people[0]
        if previous and first.nationality is None and text[previous[1] : head] == " and ":
            # "Palestinian Authority President Abbas and Prime Minister Fayyad": one nationality
            prev = previous[0]
            people[0] = Named(
                first.title, first.name, prev.nationality, prev.country, first.words, first.rule
            )
        out += people
        previous = (people[-1], done)
    return out


def _mention(
    text: str, start: int, end: int, m: re.Match[str], cues: list[re.Match[str]]
) -> tuple[list[Named], int, int] | None:
    """The person(s) a title names, where their words begin and end; None if none is met."""
    name = _name_at(text, m.end(), end)
    before = _before_title(text, start, m)
    if not name or not before:
        return None
    head, qualifier, nationality = before
    if m["title"] == "leader" and nationality is None:
        return None
    cue = _cue(text, start, head, cues)
    if cue is None:
        return None
    rule, clause = cue
    title = " ".join(m["title"].split())
    if qualifier:
        title = f"{qualifier} {title}"
    people: list[Named] = []
    entry: tuple[str, int] | None = name
    while entry:
        place, stop = _of_place(text, entry[1], end)
        own = place or nationality
        # The Pope's country is the Holy See wherever he was met; "" in the table is no country.
        country = "holy-see" if m["title"] == "Pope" else (_places().get(own) or None if own else None)
        kind = "list" if m["plural"] else rule
        people.append(Named(title, entry[0], own, country, text[clause:stop], kind))
        entry = _list_entry(text, stop, end) if m["plural"] else None
    return people, head, stop


def _before_title(text: str, start: int, m: re.Match[str]) -> tuple[int, str | None, str | None] | None:
    """Where a title's words begin, its qualifier and nationality; None if the words before it make
    it another office ("Quebec Premier", "Vice President")."""
    run = _RUN.search(text, start, m.start())
    words = run[1].split() if run else []
    head = run.start(1) if run else m.start()
    qualifier = None
    lower = _LOWER_QUALIFIER.search(text, start, head)
    if lower:
        qualifier, head = lower[1], lower.start(1)
    elif words and _QUALIFIER.fullmatch(words[0]):
        qualifier = words.pop(0)
    nationality = next(
        (" ".join(words[i:]) for i in range(len(words)) if " ".join(words[i:]) in _places()), None
    )
    rest = words[: len(words) - len(nationality.split())] if nationality else words
    if rest:
        # Only a sentence's first word may be capitalised for its own sake ("Briefed President X").
        first_word = run is not None and not text[start : run.start(1)].strip() and not qualifier
        if len(rest) > 1 or not first_word or rest[0] in _NOT_LEADER:
            return None
        head = m.start() if not nationality else head + len(rest[0]) + 1  # the verb is no part of it
    return head, qualifier, nationality


def _cue(text: str, start: int, head: int, cues: list[re.Match[str]]) -> tuple[str, int] | None:
    """The pattern of the last cue before ``head`` and where its clause begins; None when that cue
    is no meeting (a funeral, a memorial) or there is none."""
    before = [c for c in cues if c.end() <= head]
    if not before or before[-1]["not"]:
        return None
    cue = before[-1]
    semicolon = text.rfind(";", start, cue.start())
    clause = semicolon + 1 if semicolon >= 0 else start
    clause += len(text[clause : cue.start()]) - len(text[clause : cue.start()].lstrip())
    if not cue["with"]:
        return _CUE_RULES[cue.lastgroup or "met"], clause
    kinds = list(_WITH_KINDS.finditer(text, clause, cue.start()))
    kind = kinds[-1].lastgroup if kinds else None
    return (f"{kind}-with" if kind else "with"), clause


def _of_place(text: str, pos: int, end: int) -> tuple[str | None, int]:
    """``of Venezuela`` / ``of the United Kingdom`` after a name: the place and where it ends."""
    of = _OF.match(text, pos, end)
    if not of:
        return None, pos
    known = _place_at(text[:end], of.end())
    if known:
        return known
    other = _CAPITALISED.match(text, of.end(), end)
    if other:  # a place the tables do not know: a nationality without a country
        words = other[0].rstrip(".")
        return words, of.end() + len(words)
    return None, pos


_OF = re.compile(r"\s+of\s+(?:the\s+)?")
_CAPITALISED = re.compile(r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*")


def _list_entry(text: str, pos: int, end: int) -> tuple[str, int] | None:
    """The next name of a plural title's list (", Lopez Portillo", " and Attlee"), if any."""
    sep = _LIST_SEPARATOR.match(text, pos, end)
    name = _name_at(text, sep.end() - 1, end) if sep else None
    if not name:
        return None
    tokens = name[0].split()
    # A title or a demonym begins a mention of its own (", and Prime Minister Manley").
    if any(t in _TITLE_WORDS for t in tokens) or any(" ".join(tokens[:i]) in _places() for i in (1, 2)):
        return None
    return name


_LIST_SEPARATOR = re.compile(r"(?:,\s+(?:and\s+)?|\s+and\s+)")


def country_of(named: Named, trip_country: str | None) -> str | None:
    """The country a leader is compared in: theirs as written, else the trip's; None when the
    remark gives a nationality that is no country, or the office is international."""
    if named.country:
        return named.country
    if named.nationality is not None or _offices(named.title) & _INTERNATIONAL:
        return None
    country = mf.text(trip_country)
    return mf.ALIASES.get(country, country) if country else None


# --- candidates --------------------------------------------------------------------------------------


def candidates_from_visits(visits_dir: Path) -> list[Candidate]:
    """The visitors of the visits records in ``visits_dir``, one per person key (the mapping's)."""
    records: list[ET.Element] = []
    for path in sorted(Path(visits_dir).glob("*.xml")):
        try:
            records += list(ET.parse(path).getroot())
        except ET.ParseError:
            continue  # kg.rml reports the file; its records are not mapped
    preferred = mf.spellings(records)
    seen: dict[str, tuple[str, list[str], list[tuple[str, str]]]] = {}
    for record in records:
        place = record.find("from")
        country = mf.text(place.get("id")) if place is not None else None
        visitor = record.findtext("visitor")
        key, name = mf.person_slug(country, visitor), mf.visitor_name(visitor)
        if not key or not name or not country:
            continue
        _, names, titles = seen.setdefault(key, (mf.ALIASES.get(country, country), [], []))
        if name not in names:
            names.append(name)
        title = mf.visitor_title(visitor)
        if title:
            titles.append((title, mf.iso_date(record.findtext("start-date")) or ""))
    return [
        Candidate(key, preferred.get(key, names[0]), tuple(names), country, tuple(titles))
        for key, (country, names, titles) in sorted(seen.items())
    ]


# --- linking -----------------------------------------------------------------------------------------

_DROP = re.compile(r"^(?:former|acting|interim|provisional|federal)\s+|\s*-\s*(?:elect|designate)$")
_SAME_OFFICE = {
    "premier": "prime minister",
    "prime minster": "prime minister",
    "prime ministere": "prime minister",
    "taoiseach": "prime minister",
    "president of the council of ministers": "prime minister",
    "amir": "emir",
    "secretary general": "secretary-general",
}
# "Premier and Prince", "Premier & Prince", "Prime Minister-Prince": two offices
_TWO_OFFICES = re.compile(r"\s*(?:\band\b|&|-)\s*(?=prince$)")
_INTERNATIONAL = frozenset({"secretary-general"})


def _offices(title: str | None) -> frozenset[str]:
    """The offices a title names, as ``link`` compares them (see the module doc)."""
    if not title:
        return frozenset()
    office = " ".join(title.lower().split())
    office = re.sub(r"\s*-\s*", "-", office)
    while (shorter := _DROP.sub("", office)) != office:
        office = shorter
    parts = _TWO_OFFICES.split(office)
    return frozenset(_SAME_OFFICE.get(p, p) for p in parts if p)


def _tokens(name: str) -> tuple[str, ...]:
    # As kg.link.identity's name key: one-letter tokens (middle initials) do not count.
    return tuple(t for t in mf.slug(name).split("-") if len(t) > 1)


def _name_agrees(named: Named, candidate: Candidate) -> str | None:
    """How the remark's name agrees with one of the candidate's spellings: "full", "surname" or
    None."""
    mine = _tokens(named.name)
    if not mine:
        return None
    how = None
    for spelling in candidate.names:
        theirs = _tokens(spelling)
        if mine == theirs:
            return "full"
        if named.title and len(mine) < len(theirs):
            tail = theirs[-len(mine) :] == mine
            head = candidate.country in SURNAME_FIRST and theirs[: len(mine)] == mine
            how = "surname" if tail or head else how
    return how


def _alike(named: Named, candidate: Candidate) -> bool:
    mine = "-".join(_tokens(named.name))
    for spelling in candidate.names:
        theirs = _tokens(spelling)
        for other in {"-".join(theirs), "-".join(theirs[-len(mine.split("-")) :])}:
            if mine and difflib.SequenceMatcher(None, mine, other).ratio() >= NEAR:
                return True
    return False


def _one_person(agreeing: list[Candidate]) -> Candidate | None:
    """The one candidate, or the fullest spelling of one person that the visits spell several ways:
    every other candidate's name is its name with given names left out ("Jose Aznar" of "Jose
    Maria Aznar", "Hussein I" of "Hussein"), never another given name ("Lars" is not "Anders")."""
    if not agreeing:
        return None
    fullest = max(agreeing, key=lambda c: (max(len(_tokens(n)) for n in c.names), len(c.titles), c.key))
    if all(any(_spelt_within(n, f) for n in c.names for f in fullest.names) for c in agreeing):
        return fullest
    return None


def _spelt_within(short: str, full: str) -> bool:
    """``short``'s name key is ``full``'s with tokens left out, the last (family) name kept."""
    a, b = iter(_tokens(full)), _tokens(short)
    return bool(b) and _tokens(full)[-1:] == b[-1:] and all(t in a for t in b)


def _within(when: str, day: str, years: int = YEARS) -> bool:
    """``when`` lies within ``years`` years of ``day`` (ISO dates: same month and day, ± years)."""
    if len(day) != 10 or not day[:4].isdigit():
        return False
    year = int(day[:4])
    return f"{year - years:04d}{day[4:]}" <= when <= f"{year + years:04d}{day[4:]}"


def _refusal(named: Named, candidate: Candidate, when: str, years: int) -> str | None:
    """Why the candidate's title or dates disagree; None when they agree."""
    if not named.title:
        return None if any(_within(when, d, years) for _, d in candidate.titles) else "no visit in the window"
    offices = _offices(named.title)
    held = [(t, d) for t, d in candidate.titles if _offices(t) & offices]
    if not held:
        others = sorted({t for t, _ in candidate.titles})
        return f"title disagrees: {candidate.key} was {', '.join(others) or 'untitled'}, not {named.title}"
    if not any(_within(when, d, years) for _, d in held):
        return f"no visit as {named.title} within {years} years of {when}: {candidate.key}"
    return None


def link(
    named: Named, trip_country: str | None, when: str | None, people: Iterable[Candidate], years: int = YEARS
) -> Link:
    """The candidate ``named`` is, by the module's linking rule; ``when`` is the trip's ISO date."""
    country = country_of(named, trip_country)
    if country is None:
        return Link(None, f"no country: {named.nationality or named.title}")
    day = mf.iso_date(when)
    if day is None:
        return Link(None, "no date")
    pool = [c for c in people if c.country == country]
    agreeing = [(c, how) for c in pool if (how := _name_agrees(named, c))]
    if any(how == "full" for _, how in agreeing):
        agreeing = [(c, how) for c, how in agreeing if how == "full"]
    refused: list[tuple[Candidate, str]] = []
    linked: list[tuple[Candidate, str]] = []
    for c, how in agreeing:
        why = _refusal(named, c, day, years)
        (refused if why else linked).append((c, why or how))
    fullest = _one_person([c for c, _ in linked])
    if fullest:
        how = dict((c.key, h) for c, h in linked)[fullest.key]
        words = "name" if how == "full" else "surname"
        also = sorted(c.key for c, _ in linked if c.key != fullest.key)
        spelt = f" (one person, also spelt as {', '.join(also)})" if also else ""
        return Link(fullest.key, f"{words}, title and country agree{spelt}")
    if linked:
        keys = tuple(sorted(c.key for c, _ in linked))
        return Link(None, f"ambiguous: {', '.join(keys)}", keys)
    near = [c.key for c, _ in refused]
    near += [c.key for c in pool if c.key not in near and _alike(named, c)]
    if refused:
        return Link(None, "; ".join(why for _, why in refused), tuple(near))
    return Link(None, f"no candidate in {country}" + (" (names alike)" if near else ""), tuple(near))
