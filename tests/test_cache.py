"""The cache both answer caches use (kg.cache): keys are weighed and counted, a long key is refused."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kg.cache import MAX_KEY, KeyedLRUCache, weight


@dataclass(frozen=True)
class Key:
    text: str
    n: int
    parts: tuple = ()


class Opaque:
    def __repr__(self) -> str:
        return "x" * 11


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ("abc", 3),
        ("", 0),
        (b"abcd", 4),
        (None, 8),
        (7, 8),
        (2.5, 8),
        (True, 8),
        (("ab", "c"), 8 * 2 + 3),
        (["ab", None], 8 * 2 + 2 + 8),
        (frozenset({"abc"}), 8 + 3),
        ({"abcd", "ef"}, 8 * 2 + 6),
        ((("a",), "bc"), 8 * 2 + (8 + 1) + 2),
        ((), 0),
        (Key("abc", 1, ("de",)), 3 + 8 + (8 + 2)),
        (Opaque(), 11),
    ],
)
def test_weight(obj, expected):
    assert weight(obj) == expected


def test_a_dataclass_type_itself_is_weighed_by_its_repr():
    assert weight(Key) == len(repr(Key))


def test_a_key_of_exactly_the_limit_is_stored_and_one_byte_more_is_refused():
    cache = KeyedLRUCache(10 * MAX_KEY, len)
    assert MAX_KEY == 4096
    cache["k" * 4096] = b"v"
    assert cache["k" * 4096] == b"v"
    with pytest.raises(ValueError, match=r"^key too large$"):
        cache["k" * 4097] = b"v"
    assert len(cache) == 1 and cache.currsize == 4096 + 1


def test_the_key_limit_can_be_set():
    cache = KeyedLRUCache(1000, len, max_key=10)
    cache["k" * 10] = b""
    with pytest.raises(ValueError):
        cache["k" * 11] = b""


def test_each_entry_counts_its_key_and_its_value():
    cache = KeyedLRUCache(1000, lambda v: len(v) + 5)
    cache["ab"] = b"xyz"
    assert cache.currsize == 2 + 3 + 5
    cache[("cd", 1)] = b"x"
    assert cache.currsize == (2 + 3 + 5) + (8 * 2 + 2 + 8) + (1 + 5)
    del cache["ab"]
    assert cache.currsize == (8 * 2 + 2 + 8) + (1 + 5)


def test_the_least_recently_used_entries_go_first_when_keys_fill_the_cache():
    cache = KeyedLRUCache(100, lambda v: 0)  # only the keys take room
    for name in ("a", "b", "c"):
        cache[name * 30] = name
    cache.get("a" * 30)  # used again: "b" is now the oldest
    cache["d" * 30] = "d"
    assert "b" * 30 not in cache and {"a" * 30, "c" * 30, "d" * 30} <= set(cache)
    assert cache.currsize == 90


def test_an_entry_larger_than_the_whole_cache_is_refused():
    cache = KeyedLRUCache(10, len)
    with pytest.raises(ValueError):
        cache["key"] = b"12345678"  # 3 + 8 > 10
    cache["k"] = b"123456789"  # 1 + 9 == 10: fits
    assert cache.currsize == 10


def test_a_value_alone_is_measured_before_any_key_was_stored():
    assert KeyedLRUCache(100, len).getsizeof(b"abc") == 3
