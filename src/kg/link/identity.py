"""Who and where is one: the identity rules that make a person or a place named by several sources
one resource (kg.link applies them; the build report lists what they did).

Rules (this docstring is their documentation):

- **Name normalisation.** A name is compared by its key: kg.mapping_functions.slug (case, accents,
  punctuation and spacing ignored; "Mata'afa" = "Mataafa"), with one-letter tokens (middle
  initials) dropped: "Donald J. Trump" = "Donald Trump", "Boris N. Yeltsin" = "Boris Yeltsin";
  and the words joined, so that spacing and hyphens inside a name do not count: "Danang" =
  "Da Nang", "Kim Dae-jung" = "Kim Daejung".
- **Country.** Two entities are one only in the same country (a person's: the country of an office
  or title they held; a place's: hos:inCountry). Different countries never merge, so "Moscow" of a
  1988 trip (Soviet Union) stays apart from "Moscow" of a 2009 trip (Russia), as the mapping has it.
- **Overlapping terms.** Two persons with one name and one country are one only if their dated
  records lie within ``SPAN_YEARS`` of each other (a son named after his father, decades later,
  is refused and reported as a near miss).
- **Ids of their own.** A dataset that gives each person an id (the presidents' list) says its
  persons are distinct: two of them are never merged ("George H. W. Bush" and "George W. Bush"
  have one name key); a group holding two is refused whole and reported.
- **Which name survives.** A resource of the source text (no record among its sources) is kept,
  with its Wikidata link; among records' resources, the one with the most dated records, then the
  first in IRI order.
- **Spelling variants** (persons). Two persons of one country whose records lie within
  ``GAP_YEARS`` of each other are one when their names are variants of one name: particles and
  honorifics set aside (``PARTICLES``: "al", "bin", "de", "Sheikh", "Dr." …), the shorter name
  has two distinct words or more, its first and last words are spellings of the longer's first
  and last, and its words appear in the longer one in order; two words are spellings of one
  another when they begin with the same letter and difflib's ratio reaches ``VARIANT``:
  "Recep Erdogan" = "Recep Tayyip Erdogan", "Benjamin" = "Benyamin" = "Binyamin" Netanyahu,
  "Olesegun Obsanjo" = "Olusegun Obasanjo". A group joins another only when it is a variant of
  every member (so a chain of likenesses does not merge two rulers of one family). Refused by
  these rules, and so near misses: "Amata" and "Imata Kabua" (two presidents), "Ferdinand Marcos"
  and "Ferdinand Marcos Jr", Seretse Khama and Seretse Khama Ian Khama (decades apart).
- **Near misses**, reported and never merged: same country, and either the same last name with
  different given names, or names whose keys are ``NEAR`` alike (difflib's ratio): transliterations
  such as "Kim Dae-jung" and "Kin Dae-Jung" are left to an editor.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from kg.mapping_functions import slug

SPAN_YEARS = 40  # a career: one person's records of one office lie within it
NEAR = 0.85  # difflib ratio of two name keys reported as a near miss
VARIANT = 0.75  # difflib ratio of two words spelt differently for one name ("Benjamin"/"Binyamin")
GAP_YEARS = 8  # spelling variants are one person only when their records are this close
# Words of a name that do not tell its bearer apart: Arabic, Romance and Germanic particles and the
# honorifics the records put before some names.
PARTICLES = frozenset(
    {"al", "el", "bin", "ibn", "ben", "bint", "de", "da", "di", "do", "dos", "von", "van", "der", "le", "la"}
    | {"sheikh", "sheik", "shaikh", "dr", "haji", "sir"}
)


@dataclass(frozen=True)
class Entity:
    """A person or place as the graph names it, with what the rules compare."""

    iri: str
    name: str
    country: str | None
    seed: bool = False  # from the source text: its IRI is kept
    years: tuple[int, ...] = ()  # the years of its dated records (persons)
    own_id: bool = False  # its dataset gives it an id of its own (a president)


@dataclass
class Merges:
    """What the rules decided: each merged IRI → the IRI kept, and the pairs refused."""

    renamed: dict[str, str] = field(default_factory=dict)
    merged: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)  # (kept, others, why)
    near: list[tuple[str, str, str]] = field(default_factory=list)  # (iri, iri, why refused)


def name_key(name: str) -> str:
    """The name as the rules compare it (see the module doc)."""
    return "-".join(t for t in slug(name).split("-") if len(t) > 1)


def merge(entities: Iterable[Entity]) -> Merges:
    """Group ``entities`` by (country, name key) and keep one IRI per group (the module's rules)."""
    groups: dict[tuple[str, str], list[Entity]] = {}
    for e in entities:
        key = name_key(e.name).replace("-", "")
        if e.country and key:
            groups.setdefault((e.country, key), []).append(e)
    out = Merges()
    for (_country, key), members in sorted(groups.items()):
        by_iri = {e.iri: e for e in members}
        if len(by_iri) < 2:
            continue
        if sum(e.own_id for e in by_iri.values()) > 1:
            iris = sorted(by_iri)
            why = "one name key, but persons with ids of their own in one dataset: not merged"
            out.near += [(iris[0], other, why) for other in iris[1:]]
            continue
        kept = min(by_iri.values(), key=lambda e: (not e.seed, -len(e.years), e.iri))
        others = []
        for e in sorted(by_iri.values(), key=lambda e: e.iri):
            if e.iri == kept.iri:
                continue
            if _apart(kept, e):
                out.near.append(
                    (kept.iri, e.iri, f"same name and country, records over {SPAN_YEARS} years apart")
                )
                continue
            out.renamed[e.iri] = kept.iri
            others.append(e.iri)
        if others:
            why = f"same name ({key}) and country"
            out.merged.append((kept.iri, tuple(others), why))
    _variants(groups, out)
    out.near += [n for n in _near_misses(groups) if _final(out, n[0]) != _final(out, n[1])]
    return out


def _final(merges: Merges, iri: str) -> str:
    while iri in merges.renamed:
        iri = merges.renamed[iri]
    return iri


def words(name: str) -> list[str]:
    """The words of a name that tell its bearer apart (the name key without PARTICLES)."""
    return [w for w in name_key(name).split("-") if w not in PARTICLES]


def _spelt_alike(a: str, b: str) -> bool:
    return a == b or (a[:1] == b[:1] and difflib.SequenceMatcher(None, a, b).ratio() >= VARIANT)


def variants(a: str, b: str) -> bool:
    """Whether names ``a`` and ``b`` are spellings of one name (the module's rule)."""
    short, long = sorted((words(a), words(b)), key=len)
    if len(set(short)) < 2 or not _spelt_alike(short[0], long[0]) or not _spelt_alike(short[-1], long[-1]):
        return False
    rest = iter(long[1:-1])  # the middle words in order: each of the shorter's found after the last
    return all(any(_spelt_alike(w, x) for x in rest) for w in short[1:-1])


def _close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return bool(a and b) and max(min(b) - max(a), min(a) - max(b)) <= GAP_YEARS


def _variants(groups: dict[tuple[str, str], list[Entity]], out: Merges) -> None:
    """Join the groups of one country whose names are spelling variants (complete linkage)."""
    by_country: dict[str, list[tuple[Entity, tuple[int, ...]]]] = {}
    for (country, _key), members in sorted(groups.items()):
        kept = [e for e in members if e.iri not in out.renamed]
        if len(kept) != 1 or any(e.own_id for e in members):
            continue  # a group the rules refused to make one, or a president's: not joined further
        years = tuple(sorted({y for e in members for y in e.years}))
        by_country.setdefault(country, []).append((kept[0], years))
    for country, reps in by_country.items():
        clusters: list[list[tuple[Entity, tuple[int, ...]]]] = []
        for rep in sorted(reps, key=lambda r: (-len(r[1]), r[0].iri)):
            name, years = rep[0].name, rep[1]
            fits = (c for c in clusters if all(variants(name, m[0].name) and _close(years, m[1]) for m in c))
            home = next(fits, None)
            if home is None:
                clusters.append([rep])
            else:
                home.append(rep)
        for cluster in clusters:
            if len(cluster) < 2:
                continue
            kept = min(cluster, key=lambda r: (not r[0].seed, -len(r[1]), r[0].iri))[0]
            others = {e.iri for e, _ in cluster if e.iri != kept.iri}
            for iri in others:
                out.renamed[iri] = kept.iri
            for merged, target in list(out.renamed.items()):
                out.renamed[merged] = _final(out, target)
            # One report line per resource kept: the lines of the groups joined here go into it.
            joined = [m for m in out.merged if m[0] in others or m[0] == kept.iri]
            out.merged = [m for m in out.merged if m not in joined]
            others |= {iri for m in joined for iri in m[1]}
            names = " / ".join(sorted({name_key(e.name) for e, _ in cluster}))
            why = f"{country}: spelling variants ({names}), records within {GAP_YEARS} years"
            out.merged.append((kept.iri, tuple(sorted(others)), why))


def _apart(a: Entity, b: Entity) -> bool:
    if not a.years or not b.years:
        return False
    gap = max(min(b.years) - max(a.years), min(a.years) - max(b.years))
    return gap > SPAN_YEARS


def _near_misses(groups: dict[tuple[str, str], list[Entity]]) -> list[tuple[str, str, str]]:
    by_country: dict[str, list[tuple[str, Entity]]] = {}
    for (country, _key), members in groups.items():
        first = min(members, key=lambda e: (not e.seed, e.iri))
        by_country.setdefault(country, []).append((name_key(first.name), first))
    out = []
    for country, named in sorted(by_country.items()):
        named.sort(key=lambda kv: kv[0])
        for i, (a, ea) in enumerate(named):
            for b, eb in named[i + 1 :]:
                same_last = a.split("-")[-1] == b.split("-")[-1] and len(a.split("-")) > 1
                if same_last and a[:1] == b[:1]:
                    ratio = difflib.SequenceMatcher(None, a, b).ratio()
                elif 2 * min(len(a), len(b)) >= NEAR * (len(a) + len(b)):  # else the ratio cannot reach NEAR
                    alike = difflib.SequenceMatcher(None, a, b)
                    ratio = alike.ratio() if alike.quick_ratio() >= NEAR else 0.0
                    if ratio < NEAR:
                        continue
                else:
                    continue
                why = f"{country}: names alike ({a} / {b}, ratio {ratio:.2f}), not merged"
                out.append((ea.iri, eb.iri, why))
    return out
