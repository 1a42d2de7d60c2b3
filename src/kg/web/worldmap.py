"""Our countries on Natural Earth's map (npm package world-atlas, countries-110m.json).

The map's features carry an ISO 3166-1 numeric id and Natural Earth's short name; our countries
carry an English label (Wikidata's, from data/sources/hsg/countries-wikidata.tsv) and owl:sameAs a
Wikidata item. Neither side has the other's code, so a country is matched by its English label:
the same name, or the pair in NAME_DIFFERENCES (our label -> the map's name; each checked against the
installed map by tests/test_web_hsg.py). A country without a match (a small state the 1:110m map
leaves out, such as Singapore or Malta, or a former one, such as the Soviet Union) is listed beside
the map, never dropped; no Wikidata ID is guessed.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from kg.config import REPO_ROOT

ATLAS = REPO_ROOT / "node_modules" / "world-atlas" / "countries-110m.json"

# Our country's English label -> the name of its feature in countries-110m.json.
NAME_DIFFERENCES: dict[str, str] = {
    "Bosnia and Herzegovina": "Bosnia and Herz.",
    "Central African Republic": "Central African Rep.",
    "Czech Republic": "Czechia",
    "Democratic Republic of the Congo": "Dem. Rep. Congo",
    "Dominican Republic": "Dominican Rep.",
    "East Timor": "Timor-Leste",
    "Equatorial Guinea": "Eq. Guinea",
    "Eswatini": "eSwatini",
    "Ivory Coast": "Côte d'Ivoire",
    # The kingdom's European part is the feature the map has; the Caribbean islands are too small.
    "Kingdom of the Netherlands": "Netherlands",
    "North Macedonia": "Macedonia",
    "Palestinian National Authority": "Palestine",
    "People's Republic of China": "China",
    "Republic of the Congo": "Congo",
    "Solomon Islands": "Solomon Is.",
    "South Sudan": "S. Sudan",
    "The Bahamas": "Bahamas",
    "The Gambia": "Gambia",
    "United States": "United States of America",
}


@dataclass(frozen=True)
class Feature:
    id: str  # ISO 3166-1 numeric ("840"); a few features have none (Kosovo, N. Cyprus, Somaliland)
    name: str


@functools.lru_cache(maxsize=4)
def features(path: Path = ATLAS) -> dict[str, Feature] | None:
    """The map's features by name, or None when world-atlas is not installed."""
    try:
        topology = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    out = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        out[name] = Feature(str(geometry.get("id", "")), name)
    return out


def feature_name(label: str) -> str:
    return NAME_DIFFERENCES.get(label, label)


def match(labels: dict[str, str], path: Path = ATLAS) -> tuple[dict[str, str], list[str]]:
    """Our countries (IRI -> English label) on the map: IRI -> feature name, and the IRIs without one."""
    found = features(path)
    if found is None:
        return {}, list(labels)
    matched, missing = {}, []
    for iri, label in labels.items():
        name = feature_name(label)
        if name in found:
            matched[iri] = name
        else:
            missing.append(iri)
    return matched, missing
