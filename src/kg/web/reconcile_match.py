"""Matching for the reconciliation service (kg.web.reconcile): scores, data extension and suggestions.

Everything here is plain Python over the name index (kg.web.reconcile_index, built once per
app from two internal queries): no SPARQL, so a user's text never comes near a query.

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

What one query costs is bounded whatever its text (a query's text once cost up to 0.5 s of
CPU, 1 s with ten properties of ten values): only its first ``MAX_WORDS`` words bring
candidates; at most ``MAX_POOL`` of them are scored, besides those with the very name key
or identified by the text; property values are read once per query; and difflib's ratio,
the dear part, is computed only for the candidates that come near the top (``_best``: each
waits at the rank its cheaper upper bounds allow). The answer is the one scoring every
candidate would give. A ``Budget`` (CPU seconds of the request's thread) is checked as the
work goes: over it, ``OverBudget``, which kg.web.reconcile answers with a 503.
"""

from __future__ import annotations

import difflib
import heapq
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kg.functions import fold_text
from kg.link import identity
from kg.web.reconcile_index import Entity, Index, key, qid, trigrams

VARIANT_SIMILARITY = 0.9  # a spelling variant by the identity rules scores at least this for its name
FUZZY_CUTOFF = 0.6  # difflib ratio below which a name is not a candidate at all
TRIGRAM_CUTOFF = 0.3  # Dice coefficient of trigrams below which difflib is not even asked
COMMON_WORD = 60  # a word in more names than this ("meeting", "trip") does not bring candidates
MAX_WORDS = 8  # words of a text that bring candidates (a name has fewer; the rest still scores)
MAX_POOL = 100  # candidates scored per query, besides those with the very name key or identified
LONG_TEXT = 64  # letters of a text's key beyond which it is difflib's second sequence (Names)
PROPERTY_WEIGHT = 0.25

# ---------------------------------------------------------------- reconciliation

DEFAULT_LIMIT = 3  # candidates per query: OpenRefine keeps three


@dataclass(frozen=True)
class Query:
    text: str  # may be empty when properties are given
    types: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    properties: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (pid, values); entity values by id


class OverBudget(Exception):
    """A request spent its CPU budget (``Budget``)."""


class Budget:
    """CPU seconds a request may spend matching: this thread's time (``time.thread_time``), so
    the other threads' work does not count and this one's does, while it holds the GIL."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.thread_time() + seconds

    def check(self) -> None:
        if time.thread_time() >= self.end:
            raise OverBudget(self.seconds)


UNBOUNDED = Budget(float("inf"))


class Names:
    """One query text's comparisons with names: its key, one SequenceMatcher to find candidates
    and one to score them, and each name key's score computed once (namesakes share keys)."""

    def __init__(self, text: str, text_key: str | None = None) -> None:
        self.text = text
        self.key = key(text) if text_key is None else text_key
        self.compact = self.key.replace("-", "")
        # The text's key is the second sequence, whose analysis difflib keeps for the next name:
        # finding candidates, the cheap bounds (both symmetric), and the scores of a long text.
        # A name's score puts the text first, as scores always have: difflib's ratio is not
        # symmetric ("Palestinian Authority" and "Afghanistan": 0.64 one way round, 0.52 the
        # other), and that way costs 4 times as much for a text of 200 letters, little for a name.
        self._finder = difflib.SequenceMatcher(None, "", self.key)
        self._scorer = None if len(self.key) > LONG_TEXT else difflib.SequenceMatcher(None, self.key, "")
        self._quick: dict[str, float] = {}
        self._scores: dict[str, float] = {}
        self._variants: dict[str, bool] = {}

    def close(self, name_key: str, cutoff: float) -> bool:
        """Whether difflib's ratio of a name key and the text's is at least ``cutoff``
        (``real_quick_ratio`` and ``quick_ratio`` are upper bounds of it, cheaper to reach)."""
        if self.lengths(name_key) < cutoff or self.quick(name_key) < cutoff:
            return False
        found = self._scores.get(name_key)
        if found is None:
            self._finder.set_seq1(name_key)
            found = self._finder.ratio()
            if self._scorer is None:  # the score of a long text, computed the same way
                self._scores[name_key] = found
        return found >= cutoff

    def lengths(self, name_key: str) -> float:
        """An upper bound of a name key's score from the lengths alone (``real_quick_ratio``)."""
        total = len(self.key) + len(name_key)
        return 2.0 * min(len(self.key), len(name_key)) / total if total else 1.0

    def quick(self, name_key: str) -> float:
        """An upper bound of a name key's score from the letters it shares with the text's."""
        found = self._quick.get(name_key)
        if found is None:
            self._finder.set_seq1(name_key)
            found = self._quick[name_key] = self._finder.quick_ratio()
        return found

    def score(self, name_key: str, floor: float = 0.0) -> float:
        """difflib's ratio of the text's key and a name key, or ``floor`` when it cannot exceed it."""
        found = self._scores.get(name_key)
        if found is None:
            if self.lengths(name_key) <= floor or self.quick(name_key) <= floor:
                return floor
            if self._scorer is None:
                self._finder.set_seq1(name_key)
                found = self._finder.ratio()
            else:
                self._scorer.set_seq2(name_key)
                found = self._scorer.ratio()
            self._scores[name_key] = found
        return max(found, floor)

    def variant(self, name_key: str) -> bool:
        found = self._variants.get(name_key)
        if found is None:
            found = self._variants[name_key] = identity.variants(self.text, name_key.replace("-", " "))
        return found

    def exact(self, entity: Entity) -> bool:
        return any(k.replace("-", "") == self.compact for k in entity.keys)

    def bounds(self, entity: Entity) -> Iterator[float]:
        """How alike the text is to an entity's names, 1 for the same key (see the module doc), as
        upper bounds of it, each tighter and dearer to reach than the one before, the last the
        similarity itself: from the names' lengths (``real_quick_ratio``), then with the spelling
        variants known, then from the letters they share (``quick_ratio``), then difflib's ratio."""
        if self.exact(entity):
            yield 1.0
            return
        keys = entity.keys
        lengths = max((self.lengths(k) for k in keys), default=0.0)
        yield max(lengths, VARIANT_SIMILARITY)
        floor = VARIANT_SIMILARITY if any(self.variant(k) for k in keys) else 0.0
        yield max(lengths, floor)
        yield max(max((self.quick(k) for k in keys), default=0.0), floor)
        best = 0.0
        for k in keys:
            best = self.score(k, best)
        yield max(best, floor)  # a spelling variant scores at least VARIANT_SIMILARITY


def _shared(index: Index, text_key: str, budget: Budget) -> tuple[Counter[str], int]:
    """How many trigrams each name key shares with a text's key, and how many the text has."""
    grams = trigrams(text_key)
    shared: Counter[str] = Counter()
    for gram in grams:
        shared.update(index.grams.get(gram, ()))
    budget.check()
    return shared, len(grams)


def _dice(index: Index, shared: Counter[str], grams: int, name_key: str) -> float:
    """The Dice coefficient of a name key's trigrams and the text's."""
    return 2 * shared.get(name_key, 0) / (grams + index.gram_count[name_key])


def _fuzzy(index: Index, names: Names, shared: Counter[str], grams: int, budget: Budget) -> set[str]:
    """Entities with a name difflib finds close. Only names that share enough trigrams with the
    text are compared (difflib's own cheap bounds cost 20 ms a query over 3,000 names; this, 7)."""
    found: set[str] = set()
    for n, k in enumerate(k for k in shared if _dice(index, shared, grams, k) >= TRIGRAM_CUTOFF):
        if n % 64 == 63:
            budget.check()
        if names.close(k, FUZZY_CUTOFF):
            found |= index.keys[k]
    return found


def candidates(
    index: Index, names: Names, types: tuple[str, ...] = (), budget: Budget = UNBOUNDED
) -> tuple[list[str], set[str]]:
    """The entities worth scoring for a text (of the types, if any), at most ``MAX_POOL`` besides
    those with its very key or that it identifies (an id, a Q-id); and those it identifies.

    The text's first ``MAX_WORDS`` words bring candidates: each word in at most ``COMMON_WORD``
    names brings those, and difflib brings names close to those words. When they are more than
    ``MAX_POOL``, those difflib brought come first, then those that share most trigrams with the
    words, then most words."""
    identified = index.identified(names.text)
    head = "-".join(names.key.split("-")[:MAX_WORDS])
    sure = set(identified) | index.by_key.get(names.compact, set())
    words: Counter[str] = Counter()
    for word in set(head.split("-")):
        ids = index.by_word.get(word, ())
        if len(word) > 2 and len(ids) <= COMMON_WORD:
            words.update(ids)
    shared, grams = _shared(index, head, budget)
    fuzzy = _fuzzy(index, names if head == names.key else Names(names.text, head), shared, grams, budget)
    wanted = set(types)

    def fits(i: str) -> bool:
        return not wanted or not wanted.isdisjoint(index.entities[i].types)

    others = [i for i in (words.keys() | fuzzy) - sure if fits(i)]
    if len(others) > MAX_POOL:

        def rank(i: str) -> tuple:
            dice = max((_dice(index, shared, grams, k) for k in index.entities[i].keys), default=0.0)
            return (i not in fuzzy, -dice, -words[i], i)

        others = sorted(others, key=rank)[:MAX_POOL]
    return [i for i in sure if fits(i)] + others, identified


@dataclass(frozen=True)
class Given:
    """A property's values as a query gives them, read once for all its candidates."""

    pid: str
    ids: frozenset[str] = frozenset()  # iri: the entities; country: the countries' IRIs
    qids: frozenset[str] = frozenset()  # wikidata
    words: tuple[frozenset[str], ...] = ()  # office: each value's words


def given(index: Index, pid: str, values: tuple[str, ...]) -> Given:
    if pid == "iri":
        return Given(pid, ids=frozenset(i for v in values if (i := index.local(v))))
    if pid == "wikidata":
        return Given(pid, qids=frozenset(q for v in values if (q := qid(v))))
    if pid == "country":
        meant: set[str] = set()
        for v in values:  # a country by id, IRI, Wikidata ID or name
            meant |= index.identified(v) | index.by_key.get(key(v).replace("-", ""), set())
        return Given(
            pid, ids=frozenset(index.space + i for i in meant if "Country" in index.entities[i].types)
        )
    if pid == "office":
        return Given(pid, words=tuple(frozenset(k.split("-")) for v in values if (k := key(v))))
    raise ValueError(pid)  # the caller checked the property ids


def verdict(index: Index, entity: Entity, said: Given) -> bool | None:
    """Whether an entity agrees with a property's values (True), contradicts them (False), or the
    graph does not say (None)."""
    if said.pid == "iri":
        return entity.id in said.ids
    if said.pid == "wikidata":
        return not said.qids.isdisjoint(entity.wikidata) if said.qids and entity.wikidata else None
    if said.pid == "country":
        return not said.ids.isdisjoint(entity.countries) if said.ids and entity.countries else None
    held = index.office_words.get(entity.id, ())
    if not said.words or not held:
        return None
    return any(w <= h or h <= w for w in said.words for h in held)


@dataclass
class _Scored:
    entity: Entity
    exact: bool  # the very name key, or identified by the text (an id, a Q-id)
    against: bool  # a property contradicts it
    properties: list[tuple[float, float]]  # (weight, agreement) of each property
    features: list[dict]  # the properties' features
    bounds: Iterator[float] | None  # the name's similarity, bound by bound (Names.bounds)
    name: float | None = None  # the last of those bounds; None: the query has no text

    def score(self) -> float:
        parts = self.properties if self.name is None else [(1.0, self.name), *self.properties]
        return round(100 * sum(w * s for w, s in parts) / sum(w for w, _ in parts), 1)

    def rank(self) -> tuple[float, str, str]:
        """Where it sorts, best first; with a bound of its name, as high as it can sort."""
        return (-self.score(), self.entity.name.casefold(), self.entity.id)


def _scored(
    entity: Entity, names: Names | None, said: list[Given], identified: set[str], index: Index
) -> _Scored:
    properties: list[tuple[float, float]] = []
    features: list[dict] = []
    against = False
    for prop in said:
        found = verdict(index, entity, prop)
        against = against or found is False
        properties.append((PROPERTY_WEIGHT, 0.5 if found is None else float(found)))
        if found is not None:
            features.append({"id": prop.pid, "value": found})
    exact = entity.id in identified
    bounds = None
    if names is not None:
        exact = exact or names.exact(entity)
        bounds = iter((1.0,)) if exact else names.bounds(entity)
    scored = _Scored(entity, exact, against, properties, features, bounds)
    scored.name = next(bounds) if bounds is not None else None
    return scored


def _best(candidates: list[_Scored], limit: int, budget: Budget) -> list[_Scored]:
    """The ``limit`` best candidates, in order. Each waits in a heap at the rank its name's bound
    allows; the first one out has its bound tightened and goes back, until its similarity is
    known: then none can rank above it. So difflib's ratio is computed for the few that come
    near the top, and the answer is the one sorting every candidate's exact score gives."""
    heap = [(c.rank(), c) for c in candidates]
    heapq.heapify(heap)
    best: list[_Scored] = []
    steps = 0
    while heap and len(best) < limit:
        steps += 1
        if steps % 16 == 0:
            budget.check()
        _, c = heapq.heappop(heap)
        tighter = next(c.bounds, None) if c.bounds is not None else None
        if tighter is None:  # its score is known
            best.append(c)
        else:
            c.name = tighter
            heapq.heappush(heap, (c.rank(), c))
    return best


def reconcile(index: Index, query: Query, budget: Budget = UNBOUNDED) -> list[dict]:
    """The candidates for one query, best first, at most ``query.limit`` (see the module doc)."""
    names = Names(query.text) if query.text else None
    if names is not None:
        pool, identified = candidates(index, names, query.types, budget)
    else:  # properties alone: only those that identify an entity bring candidates
        identified = set()
        for pid, values in query.properties:
            if pid in ("iri", "wikidata"):
                identified |= {i for v in values for i in index.identified(v)}
        wanted = set(query.types)
        pool = [i for i in identified if not wanted or not wanted.isdisjoint(index.entities[i].types)]
    said = [given(index, pid, values) for pid, values in query.properties]
    scored = [_scored(index.entities[i], names, said, identified, index) for i in pool]
    budget.check()
    # Namesakes are counted whatever the properties say: a country that agrees puts one first,
    # but two people with one name are left to the journalist.
    namesakes = sum(s.exact for s in scored)
    out = []
    for rank, s in enumerate(_best(scored, query.limit, budget)):
        features = [] if s.name is None else [{"id": "name", "value": round(s.name, 3)}]
        candidate = {
            "id": s.entity.id,
            "name": s.entity.name,
            "type": s.entity.kinds(),
            "score": s.score(),
            "match": rank == 0 and s.exact and not s.against and namesakes == 1,
            "features": features + s.features,
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
    wanted = set(types)
    ranked = []
    for entity in index.entities.values():
        if wanted and wanted.isdisjoint(entity.types):
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
