"""Step 3b, conclusions: what the graph concludes beyond its sources and beyond OWL 2 RL.

One SPARQL file per conclusion in ``kg/conclusions/`` (``host.rq``: the president who received a
visit). Each row of a file is one triple ``?s ?p ?o`` and the asserted triples it rests on
(``?s1 ?p1 ?o1``, ``?s2 ?p2 ?o2`` …). The triples go to the inferred graph, never the asserted
one, each with its derivation (the file, and those premises), so ``kg explain`` and /explain show
why it is there, as for the reasoner's triples. They run on the asserted graph, after reasoning,
beside the Wikidata view (kg.wikibase), on the same pyoxigraph store.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.wikibase import View, ViewQuery, _rows, load_queries

FOLDER = Path(__file__).parent / "conclusions"


def queries() -> dict[str, ViewQuery]:
    """The conclusion files, by id ("conclusion-host")."""
    out = {}
    for name, query in load_queries(FOLDER).items():
        title = query.title.removeprefix("the Wikidata view, ")  # load_queries' prefix, not ours
        out[f"conclusion-{name}"] = ViewQuery(f"conclusion-{name}", title, query.text)
    return out


def conclude(store: ox.Store) -> View:
    """Every conclusion of every file, with its derivation."""
    out = View()
    for rule, query in queries().items():
        out.queries[rule] = query
        for row in _rows(store, query):
            premises = [(row[f"s{n}"], row[f"p{n}"], row[f"o{n}"]) for n in range(1, 10) if f"p{n}" in row]
            out.add((row["s"], row["p"], row["o"]), rule, premises)
    return out
