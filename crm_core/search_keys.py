"""Keys that make searches index lookups: a lead's name key."""

from __future__ import annotations

# The highest code point: every string that starts with a prefix p sorts between p and
# p + _TOP in byte order (UTF-8 keeps code point order).
_TOP = "\U0010ffff"


def name_key(name: str | None) -> str:
    """The name as searched: case-folded, inner whitespace collapsed to one space."""
    return " ".join((name or "").split()).casefold()


def prefix_range(prefix: str) -> tuple[str, str]:
    """(low, high) such that `low <= key < high` holds exactly for keys starting with `prefix`."""
    return prefix, prefix + _TOP
