"""hos-kg: a knowledge graph of meetings between heads of state.

The pipeline is load → validate → reason → store → serve / dump; see
``kg.pipeline`` for the map. Importing this package does no I/O.
"""

from kg.pipeline import build
from kg.web import create_app

__version__ = "0.1.0"
__all__ = ["__version__", "build", "create_app"]
