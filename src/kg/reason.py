"""Step 3, reason: the OWL 2 RL closure, computed once, kept in its own graph.

owlrl runs in place on a scratch copy of ontology + data, and the inferred
graph is the difference. We do not use owlrl's ``destination=`` argument: here
it inferred about a third fewer triples (RDFLib/OWL-RL#76; the test suite
compares both ways). Two kinds of owlrl output are dropped:

* triples with a literal subject (``"2017-07-07"^^xsd:date a xsd:date``), which
  are not RDF 1.1, and which pyoxigraph refuses to load;
* reflexive ``x owl:sameAs x``, one per node: true, and noise in every dump;
* owl:sameAs copies onto Wikidata IRIs in any vocabulary but Wikidata's.
  ``person:vladimir-putin owl:sameAs wd:Q7747`` makes owlrl copy every triple
  of one onto the other. Kept: the Wikidata view (wdt: properties, labels,
  owl:sameAs) on wd: IRIs, so Wikidata-style queries run unchanged. Dropped:
  e.g. ``meeting hos:participant wd:Q7747`` and ``wd:Q7747 a hos:Person``, so a
  query in the project's own vocabulary (hos:, schema:, prov:) answers with
  the project's IRIs once, without DISTINCT or namespace filters.
"""

from __future__ import annotations

import owlrl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDFS, SKOS

from kg.namespaces import WD, WDT, new_graph

# What a Wikidata IRI may carry in the inferred graph: the Wikidata view.
_WIKIDATA_VIEW = {OWL.sameAs, RDFS.label, SKOS.altLabel}


def _is_wd(node: object) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(str(WD))


def keep(s: object, p: URIRef, o: object) -> bool:
    """Whether an owlrl output triple belongs in the inferred graph (see module doc)."""
    if isinstance(s, Literal) or (p == OWL.sameAs and s == o):
        return False
    if (_is_wd(s) or _is_wd(o)) and p not in _WIKIDATA_VIEW:
        return str(p).startswith(str(WDT))
    return True


def full_closure(ontology: Graph, data: Graph) -> Graph:
    """owlrl's OWL 2 RL closure of ontology + data, computed in place on a copy."""
    scratch = Graph()
    for triple in ontology:
        scratch.add(triple)
    for triple in data:
        scratch.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(scratch)
    return scratch


def closure(ontology: Graph, data: Graph) -> Graph:
    """Return the inferred graph: what OWL 2 RL entails beyond ontology + data, filtered by keep()."""
    inferred = new_graph()
    for s, p, o in full_closure(ontology, data):
        if keep(s, p, o) and (s, p, o) not in ontology and (s, p, o) not in data:
            inferred.add((s, p, o))
    return inferred
