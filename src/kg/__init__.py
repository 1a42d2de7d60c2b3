"""hos-kg: a knowledge graph of meetings between heads of state.

The pipeline is load → validate → reason → store → serve / dump; see
``kg.pipeline`` for the map. Importing this package does no I/O, and imports
nothing heavy: query worker processes import only what evaluation needs.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "build", "create_app"]


def __getattr__(name: str) -> Any:  # PEP 562: re-exports loaded on first use
    if name == "build":
        from kg.pipeline import build

        return build
    if name == "create_app":
        from kg.web import create_app

        return create_app
    raise AttributeError(name)
