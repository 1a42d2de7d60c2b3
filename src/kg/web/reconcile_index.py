"""The reconciliation service's name index (kg.web.reconcile): its types, its properties, and
every entity's names, countries, Wikidata IDs and offices, keyed as the identity rules compare
names (``kg.link.identity.name_key``; a name in another script by its words folded as kgfn:fold
folds them). Built once per app from the rows of two internal queries, reconcile-names.rq and
reconcile-facts.rq; kg.web.reconcile_match scores candidates over it.
"""

from __future__ import annotations

import re
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
    gram_count: dict[str, int] = field(default_factory=dict)  # key → how many trigrams it has
    office_words: dict[str, tuple[frozenset[str], ...]] = field(
        default_factory=dict
    )  # id → each office's words

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
        index.office_words[entity.id] = tuple(frozenset(key(o).split("-")) for o in entity.offices)
        for k in entity.keys:
            index.by_key.setdefault(k.replace("-", ""), set()).add(entity.id)
            if k not in index.keys:
                grams = trigrams(k)
                index.gram_count[k] = len(grams)
                for gram in grams:
                    index.grams.setdefault(gram, []).append(k)
            index.keys.setdefault(k, set()).add(entity.id)
            for word in k.split("-"):
                index.by_word.setdefault(word, set()).add(entity.id)
        for q in entity.wikidata:
            index.by_qid.setdefault(q, set()).add(entity.id)
    return index


def trigrams(name_key: str) -> set[str]:
    padded = f" {name_key.replace('-', ' ')} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}
