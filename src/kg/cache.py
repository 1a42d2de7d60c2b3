"""An LRU cache that counts what it holds: keys as well as values.

Both caches of answers (the result cache in kg.engine, the response cache at
the WSGI edge) use it, so that padding a request (a long URL, a large header
the answer varies on) cannot make a small answer take up much of the memory
the cache is allowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache

MAX_KEY = 4 * 1024  # bytes: a longer key (URL + the headers the answer varies on) is not cached


def weight(obj: Any) -> int:
    """Roughly the bytes a cache key takes: its strings' lengths, plus a little per other part."""
    if isinstance(obj, str | bytes):
        return len(obj)
    if obj is None or isinstance(obj, int | float):
        return 8
    if isinstance(obj, tuple | list | frozenset | set):
        return 8 * len(obj) + sum(weight(part) for part in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(weight(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    return len(repr(obj))


class KeyedLRUCache(LRUCache):
    """An LRU cache whose size counts each entry's key as well as its value.

    ``getsizeof`` measures a value; the key's ``weight`` is added to it. A key
    over ``max_key`` is refused with ValueError, as cachetools refuses a value
    larger than the whole cache, so callers that ignore the one ignore both.
    """

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int], max_key: int = MAX_KEY) -> None:
        super().__init__(maxsize)
        self.max_key = max_key
        self._value_size = getsizeof
        self._key_size = 0  # of the entry being stored (callers hold their lock around a store)

    def __setitem__(self, key: Any, value: Any) -> None:
        size = weight(key)
        if size > self.max_key:
            raise ValueError("key too large")
        self._key_size = size
        super().__setitem__(key, value)

    def getsizeof(self, value: Any) -> int:
        return self._value_size(value) + self._key_size
