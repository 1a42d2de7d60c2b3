"""Extension functions available in every query (namespace kgfn:).

``kgfn:fold(?text)`` folds case and Latin/Greek/Cyrillic diacritics, for
searches that ignore them: "черное" matches "Чёрное", "CAFE" matches "café".
Only the combining marks U+0300–U+036F are dropped, so Bengali vowel signs
and nuktas, which are combining marks too, survive.
"""

from __future__ import annotations

import unicodedata

import pyoxigraph as ox

FN = "https://w3id.org/hos-kg/fn#"
FOLD = FN + "fold"


def fold_text(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f")
    return unicodedata.normalize("NFC", kept).casefold()


def _fold(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.Literal | None:
    return ox.Literal(fold_text(term.value)) if isinstance(term, ox.Literal) else None


OXIGRAPH = {ox.NamedNode(FOLD): _fold}


def register_rdflib() -> None:
    """The same function for rdflib's evaluator (used to check answers across engines)."""
    from rdflib import Literal, URIRef
    from rdflib.plugins.sparql.operators import register_custom_function

    def fold(value: object) -> Literal:
        return Literal(fold_text(str(value)))

    register_custom_function(URIRef(FOLD), fold, override=True)
