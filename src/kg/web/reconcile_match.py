"""Matching for the reconciliation service (kg.web.reconcile): the name index, scores and suggestions.

The index is built once per app (``reconcile.index()``) from two internal queries:
reconcile-names.rq (every label and alternative label of the people, countries,
places, meetings and summits) and reconcile-facts.rq (Wikidata items, countries,
offices). Everything here is plain Python over that index: no SPARQL, so a user's
text never comes near a query.

Names are compared by key: ``kg.link.identity.name_key``, the identity rules' own
(case, accents, punctuation, spacing and middle initials ignored). It keeps Latin
letters only, so a name in another script (Владимир Путин) is keyed by its words
folded as kgfn:fold folds them (case, diacritics).

Scores run from 0 to 100. The name counts once: 1 for the same key, else difflib's
ratio of the two keys, at least ``VARIANT_SIMILARITY`` for spellings of one name
by the identity rules (``identity.variants``: "Recep Erdogan", "Recep Tayyip
Erdogan"). Each property given counts a quarter: 1 when the candidate agrees, 0 when it
contradicts, ½ when the graph does not say. The score is the weighted mean.
``match`` is true only for a candidate with the very name key, no property against
it, and no namesake among the candidates: two people with one name are never matched.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kg.functions import fold_text
from kg.link import identity

# Type id → name. The ids are the local names of the ontology's classes (schema space + id is
# the class IRI); "Place" is what has a hos:inCountry (cities, regions), not the countries.
TYPES: dict[str, str] = {
    "Person": "person",
    "HeadOfState": "head of state",
    "Country": "country",
    "Place": "place (city, region)",
    "Meeting": "meeting",
    "Summit": "summit",
}
DEFAULT_TYPES = ("Person", "Country", "Place")


@dataclass(frozen=True)
class Property:
    id: str
    name: str
    description: str
    types: tuple[str, ...]
    entity: str | None = None  # the type of its values, when they are entities of this service


PROPERTIES: dict[str, Property] = {
    p.id: p
    for p in (
        Property(
            "country",
            "country",
            "The country of an office or title the person held, of the place, or where the meeting or "
            "summit took place. In a query: a name, a Wikidata ID (Q159) or an id of this service.",
            ("Person", "HeadOfState", "Place", "Meeting", "Summit"),
            entity="Country",
        ),
        Property(
            "wikidata",
            "Wikidata ID",
            "The Wikidata item the entity is the same as (owl:sameAs), e.g. Q7747.",
            tuple(TYPES),
        ),
        Property(
            "office",
            "office or title",
            "An office the person held, or a title a record gives them (President, Prime Minister).",
            ("Person", "HeadOfState"),
        ),
        Property("iri", "IRI", "The entity's IRI in this knowledge graph.", tuple(TYPES)),
    )
}

VARIANT_SIMILARITY = 0.9  # a spelling variant by the identity rules scores at least this for its name
FUZZY_CUTOFF = 0.6  # difflib ratio below which a name is not a candidate at all
TRIGRAM_CUTOFF = 0.3  # Dice coefficient of trigrams below which difflib is not even asked
COMMON_WORD = 60  # a word in more names than this ("meeting", "trip") does not bring candidates
PROPERTY_WEIGHT = 0.25
_QID = re.compile(r"(?:^|[/:])(Q[1-9][0-9]*)$")


def key(name: str) -> str:
    """A name's words, as the identity rules compare them, joined by "-" (see the module doc)."""
    return identity.name_key(name) or "-".join(re.findall(r"\w+", fold_text(name)))


def qid(value: str) -> str | None:
    """The Wikidata ID in Q7747, wd:Q7747 or http://www.wikidata.org/entity/Q7747; else None."""
    found = _QID.search(value.strip())
    return found.group(1) if found else None


@dataclass(frozen=True)
class Entity:
    id: str  # the IRI less the id space: person/vladimir-putin
    iri: str
    name: str  # the English label, else another
    types: tuple[str, ...]
    keys: tuple[str, ...]  # the keys of all its names
    countries: tuple[str, ...] = ()  # IRIs
    wikidata: tuple[str, ...] = ()  # Q-ids
    offices: tuple[str, ...] = ()

    def kinds(self) -> list[dict[str, str]]:
        return [{"id": t, "name": TYPES[t]} for t in self.types]


@dataclass
class Index:
    space: str
    entities: dict[str, Entity] = field(default_factory=dict)
    by_key: dict[str, set[str]] = field(default_factory=dict)  # compact key (no "-") → ids
    by_word: dict[str, set[str]] = field(default_factory=dict)
    by_qid: dict[str, set[str]] = field(default_factory=dict)
    keys: dict[str, set[str]] = field(default_factory=dict)  # key → ids
    grams: dict[str, list[str]] = field(default_factory=dict)  # trigram → the keys that have it

    def local(self, value: str) -> str | None:
        """The id of an entity given by its id or IRI; None if it is not one of ours."""
        text = value.strip().removeprefix("<").removesuffix(">")
        text = text.removeprefix(self.space)
        return text if text in self.entities else None

    def identified(self, value: str) -> set[str]:
        """The entities a text identifies: an id, an IRI or a Wikidata ID."""
        found = self.local(value)
        if found:
            return {found}
        wikidata = qid(value)
        return set(self.by_qid.get(wikidata, ())) if wikidata else set()

    def label(self, iri: str) -> str:
        entity = self.entities.get(iri.removeprefix(self.space))
        return entity.name if entity else iri.removeprefix(self.space)


def build(space: str, names: Iterable[Mapping], facts: Iterable[Mapping]) -> Index:
    """The index from the rows of reconcile-names.rq and reconcile-facts.rq (pyoxigraph terms)."""
    types: dict[str, set[str]] = {}
    labels: dict[str, list[tuple[int, str]]] = {}
    for row in names:
        iri, name, preferred = row["entity"].value, row["name"], row["preferred"].value == "true"
        types.setdefault(iri, set()).add(row["type"].value)
        # The name shown: an English label, else any label, else an alternative label.
        rank = 0 if preferred and getattr(name, "language", None) == "en" else 1 if preferred else 2
        labels.setdefault(iri, []).append((rank, name.value))
    known: dict[str, dict[str, set[str]]] = {}
    for row in facts:
        fact, value = row["fact"].value, row["value"].value
        value = (qid(value) or value) if fact == "wikidata" else value
        known.setdefault(row["entity"].value, {}).setdefault(fact, set()).add(value)
    index = Index(space)
    for iri, kinds in types.items():
        said = known.get(iri, {})
        entity = Entity(
            id=iri.removeprefix(space),
            iri=iri,
            name=min(labels[iri])[1],
            types=tuple(t for t in TYPES if t in kinds),
            keys=tuple(dict.fromkeys(k for _, n in sorted(labels[iri]) if (k := key(n)))),
            countries=tuple(sorted(said.get("country", ()))),
            wikidata=tuple(sorted(said.get("wikidata", ()))),
            offices=tuple(sorted(said.get("office", ()))),
        )
        index.entities[entity.id] = entity
        for k in entity.keys:
            index.by_key.setdefault(k.replace("-", ""), set()).add(entity.id)
            if k not in index.keys:
                for gram in trigrams(k):
                    index.grams.setdefault(gram, []).append(k)
            index.keys.setdefault(k, set()).add(entity.id)
            for word in k.split("-"):
                index.by_word.setdefault(word, set()).add(entity.id)
        for q in entity.wikidata:
            index.by_qid.setdefault(q, set()).add(entity.id)
    return index


# ---------------------------------------------------------------- reconciliation

DEFAULT_LIMIT = 3  # candidates per query: OpenRefine keeps three


@dataclass(frozen=True)
class Query:
    text: str  # may be empty when properties are given
    types: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    properties: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (pid, values); entity values by id


def similarity(text_key: str, entity: Entity, text: str) -> float:
    """How alike a name key is to an entity's names: 1 for the same key (see the module doc)."""
    compact = text_key.replace("-", "")
    best = 0.0
    for k in entity.keys:
        if k.replace("-", "") == compact:
            return 1.0
        best = max(best, difflib.SequenceMatcher(None, text_key, k).ratio())
    if best < VARIANT_SIMILARITY and any(identity.variants(text, k.replace("-", " ")) for k in entity.keys):
        best = VARIANT_SIMILARITY
    return best


def trigrams(name_key: str) -> set[str]:
    padded = f" {name_key.replace('-', ' ')} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _fuzzy(index: Index, text_key: str) -> set[str]:
    """Entities with a name difflib finds close. Only names that share enough trigrams with the
    text are compared (difflib's own cheap bounds cost 20 ms a query over 3,000 names; this, 7)."""
    grams = trigrams(text_key)
    shared = Counter(k for gram in grams for k in index.grams.get(gram, ()))
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(text_key)  # difflib caches what it learns about the second sequence
    found: set[str] = set()
    for k, count in shared.items():
        if 2 * count / (len(grams) + len(trigrams(k))) < TRIGRAM_CUTOFF:
            continue
        matcher.set_seq1(k)
        if matcher.ratio() >= FUZZY_CUTOFF:
            found |= index.keys[k]
    return found


def candidates(index: Index, text: str) -> tuple[set[str], set[str]]:
    """The entities worth scoring for a text, and those the text identifies (an id, a Q-id)."""
    identified = index.identified(text)
    text_key = key(text)
    pool = set(identified) | index.by_key.get(text_key.replace("-", ""), set())
    for word in text_key.split("-"):
        ids = index.by_word.get(word, ())
        if len(word) > 2 and len(ids) <= COMMON_WORD:
            pool.update(ids)
    return pool | _fuzzy(index, text_key), identified


def agreement(index: Index, entity: Entity, pid: str, values: tuple[str, ...]) -> bool | None:
    """Whether an entity agrees with a property's values (True), contradicts them (False), or the
    graph does not say (None)."""
    if pid == "iri":
        return any(index.local(v) == entity.id for v in values)
    if pid == "wikidata":
        given = {q for v in values if (q := qid(v))}
        return bool(given & set(entity.wikidata)) if given and entity.wikidata else None
    if pid == "country":
        meant = set()
        for v in values:  # a country by id, IRI, Wikidata ID or name
            meant |= index.identified(v) | index.by_key.get(key(v).replace("-", ""), set())
        countries = {index.space + i for i in meant if "Country" in index.entities[i].types}
        return bool(countries & set(entity.countries)) if countries and entity.countries else None
    if pid == "office":
        words = [set(key(v).split("-")) for v in values if key(v)]
        held = [set(key(o).split("-")) for o in entity.offices]
        if not words or not held:
            return None
        return any(w <= h or h <= w for w in words for h in held)
    raise ValueError(pid)  # the caller checked the property ids


@dataclass
class _Scored:
    entity: Entity
    score: float
    exact: bool  # the very name key, or identified by the text (an id, a Q-id)
    against: bool  # a property contradicts it
    features: list[dict]


def _score(index: Index, entity: Entity, query: Query, text_key: str, identified: set[str]) -> _Scored:
    parts: list[tuple[float, float]] = []  # (weight, similarity)
    features: list[dict] = []
    exact = entity.id in identified
    if query.text:
        name = 1.0 if exact else similarity(text_key, entity, query.text)
        exact = exact or name == 1.0
        parts.append((1.0, name))
        features.append({"id": "name", "value": round(name, 3)})
    against = False
    for pid, values in query.properties:
        verdict = agreement(index, entity, pid, values)
        against = against or verdict is False
        parts.append((PROPERTY_WEIGHT, 0.5 if verdict is None else float(verdict)))
        if verdict is not None:
            features.append({"id": pid, "value": verdict})
    score = 100 * sum(w * s for w, s in parts) / sum(w for w, _ in parts)
    return _Scored(entity, round(score, 1), exact, against, features)


def reconcile(index: Index, query: Query) -> list[dict]:
    """The candidates for one query, best first, at most ``query.limit`` (see the module doc)."""
    if query.text:
        pool, identified = candidates(index, query.text)
    else:  # properties alone: only those that identify an entity bring candidates
        identified = set()
        for pid, values in query.properties:
            if pid in ("iri", "wikidata"):
                identified |= {i for v in values for i in index.identified(v)}
        pool = identified
    wanted = set(query.types)
    text_key = key(query.text) if query.text else ""
    scored = [
        _score(index, index.entities[i], query, text_key, identified)
        for i in pool
        if not wanted or wanted & set(index.entities[i].types)
    ]
    scored.sort(key=lambda s: (-s.score, s.entity.name.casefold(), s.entity.id))
    # Namesakes are counted whatever the properties say: a country that agrees puts one first,
    # but two people with one name are left to the journalist.
    namesakes = sum(s.exact for s in scored)
    out = []
    for rank, s in enumerate(scored[: query.limit]):
        candidate = {
            "id": s.entity.id,
            "name": s.entity.name,
            "type": s.entity.kinds(),
            "score": s.score,
            "match": rank == 0 and s.exact and not s.against and namesakes == 1,
            "features": s.features,
        }
        if described := describe(index, s.entity):
            candidate["description"] = described
        out.append(candidate)
    return out


def describe(index: Index, entity: Entity) -> str:
    """A line that tells namesakes apart: countries, then offices or titles."""
    places = ", ".join(sorted(index.label(c) for c in entity.countries)[:3])
    offices = ", ".join(entity.offices[:2])
    return " · ".join(part for part in (places, offices) if part)


def extend(index: Index, asked: str, pids: list[str]) -> dict[str, list[dict]]:
    """The values of properties ``pids`` for an entity given by id or IRI (none if unknown)."""
    local = index.local(asked)
    entity = index.entities[local] if local else None
    out: dict[str, list[dict]] = {}
    for pid in pids:
        if entity is None:
            out[pid] = []
        elif pid == "country":
            out[pid] = [{"id": c.removeprefix(index.space), "name": index.label(c)} for c in entity.countries]
        else:
            found = {"iri": (entity.iri,), "wikidata": entity.wikidata, "office": entity.offices}[pid]
            out[pid] = [{"str": v} for v in found]
    return out


# ---------------------------------------------------------------- suggest


def suggest(index: Index, prefix: str, types: tuple[str, ...], cursor: int, size: int) -> list[Entity]:
    """Entities whose name starts with ``prefix`` (the whole name first, then any word), or that
    it identifies; ordered by that, then by name."""
    prefix_key = key(prefix)
    compact = prefix_key.replace("-", "")
    identified = index.identified(prefix)
    ranked = []
    for entity in index.entities.values():
        if types and not set(types) & set(entity.types):
            continue
        if entity.id in identified:
            rank = 0
        elif not compact:
            continue
        elif any(k.replace("-", "") == compact for k in entity.keys):
            rank = 1
        elif any(k.replace("-", "").startswith(compact) for k in entity.keys):
            rank = 2
        elif any(f"-{prefix_key}" in k for k in entity.keys):
            rank = 3
        else:
            continue
        ranked.append((rank, entity.name.casefold(), entity.id, entity))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked[cursor : cursor + size]]


def matching(items: Iterable[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    """(id, name) pairs whose id or name contains ``prefix``, those that start with it first."""
    text = fold_text(prefix.strip())
    hits = [(i, n) for i, n in items if text in fold_text(i) or text in fold_text(n)]
    return sorted(
        hits, key=lambda h: not (fold_text(h[0]).startswith(text) or fold_text(h[1]).startswith(text))
    )
