"""Step 3, reason: the OWL 2 RL closure, computed once, kept in its own graph.

owlrl runs in place on a scratch copy of ontology + data, and the inferred
graph is the difference. We do not use owlrl's ``destination=`` argument: here
it inferred about a third fewer triples (RDFLib/OWL-RL#76; the test suite
compares both ways). Two kinds of owlrl output are dropped:

* triples with a literal subject (``"2017-07-07"^^xsd:date a xsd:date``), which
  are not RDF 1.1, and which pyoxigraph refuses to load;
* reflexive ``x owl:sameAs x``, one per node: true, and noise in every dump.
"""

from __future__ import annotations

from rdflib import Graph, Literal
from rdflib.namespace import OWL

import owlrl
from kg.load import new_graph


def closure(ontology: Graph, data: Graph) -> Graph:
    """Return only the triples OWL 2 RL entails beyond ontology + data."""
    scratch = Graph()
    for triple in ontology:
        scratch.add(triple)
    for triple in data:
        scratch.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(scratch)
    inferred = new_graph()
    for s, p, o in scratch:
        if isinstance(s, Literal) or (p == OWL.sameAs and s == o):
            continue
        if (s, p, o) in ontology or (s, p, o) in data:
            continue
        inferred.add((s, p, o))
    return inferred
